/*
 * ls_receiver.c - a stand-in for Logstash's tcp (json_lines), udp (json)
 * and http (ndjson) inputs, for the tests of clewd's Logstash outputs.
 *
 * DESIGN: one process, one poll() loop, listening on 127.0.0.1. Every
 * event received is parsed with jansson (an implementation independent
 * of clewd's), checked for the Logstash fields (@timestamp, @version,
 * message, host, service, trace), and counted: events, bad JSON, missing
 * fields, truncated events (_truncated), the attribute n of each event
 * (to find gaps and duplicates), and the distinct trace IDs with a
 * checksum (the sum of their FNV-1a hashes). The counts are written as
 * "key value" lines to the report file (atomically: temp + rename) when
 * they change, and on exit; raw events may also be appended to a file.
 *
 * HTTP: keep-alive, Content-Length bodies, gzip (Content-Encoding),
 * Expect: 100-continue; --fail N:STATUS answers STATUS (503, 429, 400...)
 * to the first N requests; --auth USER:PASS / --bearer TOKEN answer 401
 * to requests without them. A request answered with an error status is
 * still parsed, its events counted apart (rejected_events).
 *
 * SIGTERM closes like a Logstash shutting down: the listener closes, each
 * TCP connection is half-closed (FIN) and read to the peer's EOF (at most
 * 10 s), then the report is written and the process exits 0.
 *
 * usage: ls_receiver tcp|udp|http --report FILE [--port N] [--port-file FILE]
 *        [--events FILE] [--fail N:STATUS] [--auth USER:PASS] [--bearer TOKEN]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define CONNS_MAX 64
#define HTTP_HEAD_MAX (64 * 1024)
#define BODY_MAX (256u * 1024 * 1024)

enum mode { M_TCP, M_UDP, M_HTTP };

struct conn {
	int fd;		/* -1: free slot */
	char *buf;	/* received, not yet consumed */
	size_t len;	/* bytes in buf */
	size_t cap;	/* allocated */
	bool half;	/* we sent FIN (shutting down) */
	bool continued; /* HTTP: "100 Continue" sent for the current request */
};

struct report {
	uint64_t events, bad_json, missing, truncated, partial_lines;
	uint64_t requests, failed_requests, rejected_events, auth_failures, gzip_requests, bad_content_type;
	uint64_t connections, n_events, n_dups, n_distinct, n_min, n_max;
	uint64_t traces, trace_sum;
};

static struct report rep = {.n_min = UINT64_MAX};
static bool dirty = true;
static enum mode mode;
static const char *report_path, *events_path, *auth, *bearer;
static FILE *events_f;
static unsigned fail_n, fail_status;
static volatile sig_atomic_t stop_flag;

/* counts of each n seen */
static uint32_t *n_seen;
static size_t n_cap;

/* distinct trace IDs: open addressing */
static char **traces;
static size_t traces_cap;

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

static void die(const char *what)
{
	fprintf(stderr, "ls_receiver: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void trace_add(const char *s, size_t n)
{
	uint64_t h = fnv1a(s, n);
	size_t i;

	if ((rep.traces + 1) * 2 > traces_cap) {
		size_t ncap = traces_cap ? traces_cap * 2 : 1024;
		char **nt = calloc(ncap, sizeof(*nt));
		if (!nt)
			die("calloc");
		for (size_t k = 0; k < traces_cap; k++) {
			if (!traces[k])
				continue;
			i = fnv1a(traces[k], strlen(traces[k])) & (ncap - 1);
			while (nt[i])
				i = (i + 1) & (ncap - 1);
			nt[i] = traces[k];
		}
		free(traces);
		traces = nt;
		traces_cap = ncap;
	}
	for (i = h & (traces_cap - 1); traces[i]; i = (i + 1) & (traces_cap - 1))
		if (strlen(traces[i]) == n && memcmp(traces[i], s, n) == 0)
			return;
	traces[i] = strndup(s, n);
	if (!traces[i])
		die("strndup");
	rep.traces++;
	rep.trace_sum += h;
}

static void n_add(uint64_t n)
{
	if (n >= 100000000)
		return;
	if (n >= n_cap) {
		size_t ncap = n_cap ? n_cap : 4096;
		uint32_t *p;
		while (ncap <= n)
			ncap *= 2;
		p = realloc(n_seen, ncap * sizeof(*p));
		if (!p)
			die("realloc");
		memset(p + n_cap, 0, (ncap - n_cap) * sizeof(*p));
		n_seen = p;
		n_cap = ncap;
	}
	rep.n_events++;
	if (n_seen[n]++)
		rep.n_dups++;
	else
		rep.n_distinct++;
	if (n < rep.n_min)
		rep.n_min = n;
	if (n > rep.n_max)
		rep.n_max = n;
}

/* One event (a JSON text). @counted: false for the events of a rejected HTTP request. */
static void event(const char *s, size_t len, bool counted)
{
	static const char *const need[] = {"@timestamp", "@version", "message", "host", "service", "trace"};
	json_error_t jerr;
	json_t *o, *v;

	while (len && (s[len - 1] == '\r' || s[len - 1] == '\n'))
		len--;
	if (!len)
		return;
	dirty = true;
	if (!counted) {
		rep.rejected_events++;
		return;
	}
	if (events_f) {
		fwrite(s, 1, len, events_f);
		fputc('\n', events_f);
	}
	o = json_loadb(s, len, 0, &jerr);
	if (!o || !json_is_object(o)) {
		rep.bad_json++;
		json_decref(o);
		return;
	}
	rep.events++;
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (!json_object_get(o, need[i])) {
			rep.missing++;
			break;
		}
	}
	if (json_object_get(o, "_truncated"))
		rep.truncated++;
	v = json_object_get(o, "trace");
	if (json_is_string(v))
		trace_add(json_string_value(v), json_string_length(v));
	v = json_object_get(o, "n");
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		n_add((uint64_t)json_integer_value(v));
	else if (json_is_string(v))
		n_add(strtoull(json_string_value(v), NULL, 10));
	json_decref(o);
}

static void write_report(void)
{
	char tmp[4096];
	FILE *f;

	if (!dirty)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", report_path);
	f = fopen(tmp, "w");
	if (!f)
		die("report");
	fprintf(f,
		"events %llu\nbad_json %llu\nmissing %llu\ntruncated %llu\npartial_lines %llu\n"
		"requests %llu\nfailed_requests %llu\nrejected_events %llu\nauth_failures %llu\n"
		"gzip_requests %llu\nbad_content_type %llu\nconnections %llu\n"
		"n_events %llu\nn_dups %llu\nn_distinct %llu\nn_min %llu\nn_max %llu\n"
		"traces %llu\ntrace_sum %llu\n",
		(unsigned long long)rep.events, (unsigned long long)rep.bad_json,
		(unsigned long long)rep.missing, (unsigned long long)rep.truncated,
		(unsigned long long)rep.partial_lines, (unsigned long long)rep.requests,
		(unsigned long long)rep.failed_requests, (unsigned long long)rep.rejected_events,
		(unsigned long long)rep.auth_failures, (unsigned long long)rep.gzip_requests,
		(unsigned long long)rep.bad_content_type, (unsigned long long)rep.connections,
		(unsigned long long)rep.n_events, (unsigned long long)rep.n_dups,
		(unsigned long long)rep.n_distinct, (unsigned long long)(rep.n_events ? rep.n_min : 0),
		(unsigned long long)rep.n_max, (unsigned long long)rep.traces,
		(unsigned long long)rep.trace_sum);
	if (fclose(f) != 0 || rename(tmp, report_path) != 0)
		die("report");
	if (events_f)
		fflush(events_f);
	dirty = false;
}

/* --- connections ------------------------------------------------------------- */

static struct conn conns[CONNS_MAX];

static void conn_close(struct conn *c)
{
	close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static bool conn_read(struct conn *c, bool *eof)
{
	*eof = false;
	for (;;) {
		ssize_t n;
		if (c->cap - c->len < 65536) {
			size_t ncap = c->cap ? c->cap * 2 : 256 * 1024;
			char *p = realloc(c->buf, ncap);
			if (!p)
				die("realloc");
			c->buf = p;
			c->cap = ncap;
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
		if (n > 0) {
			c->len += (size_t)n;
			if (c->len > BODY_MAX + HTTP_HEAD_MAX)
				return false;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		*eof = true;
		return true;
	}
}

static void consume(struct conn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

static void tcp_lines(struct conn *c, bool eof)
{
	size_t start = 0;
	char *nl;

	while ((nl = memchr(c->buf + start, '\n', c->len - start))) {
		event(c->buf + start, (size_t)(nl - (c->buf + start)), true);
		start = (size_t)(nl - c->buf) + 1;
	}
	consume(c, start);
	if (eof && c->len) {
		rep.partial_lines++; /* the torn tail of a chunk cut by a lost connection */
		dirty = true;
		c->len = 0;
	}
}

/* --- HTTP ----------------------------------------------------------------------- */

static const char *header(const char *head, size_t hlen, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	const char *p = head, *end = head + hlen;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end;
		if ((size_t)(le - p) > nl + 1 && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (v < le && *v == ' ')
				v++;
			*vlen = (size_t)(le - v);
			if (*vlen && v[*vlen - 1] == '\r')
				(*vlen)--;
			return v;
		}
		p = le + 1;
	}
	return NULL;
}

static bool hval_is(const char *v, size_t n, const char *want)
{
	return v && n == strlen(want) && strncasecmp(v, want, n) == 0;
}

static void respond(struct conn *c, unsigned status, const char *body)
{
	char out[512];
	const char *reason = status == 200   ? "OK"
			     : status == 401 ? "Unauthorized"
			     : status == 429 ? "Too Many Requests"
			     : status == 400 ? "Bad Request"
			     : status == 503 ? "Service Unavailable"
					     : "Error";
	int n = snprintf(out, sizeof(out),
			 "HTTP/1.1 %u %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
			 status, reason, strlen(body), body);
	/* small answers on a socket with room: a blocking send is fine here */
	if (send(c->fd, out, (size_t)n, MSG_NOSIGNAL) != n)
		c->half = true;
}

static char *gunzip(const char *in, size_t len, size_t *out_len)
{
	z_stream z;
	size_t cap = len * 8 + 4096;
	char *out = malloc(cap);
	int zrc;

	memset(&z, 0, sizeof(z));
	if (!out || inflateInit2(&z, 15 + 32) != Z_OK)
		die("inflate");
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	for (;;) {
		z.next_out = (Bytef *)out + z.total_out;
		z.avail_out = (uInt)(cap - z.total_out);
		zrc = inflate(&z, Z_NO_FLUSH);
		if (zrc == Z_STREAM_END)
			break;
		if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
			inflateEnd(&z);
			free(out);
			return NULL;
		}
		if (z.avail_out == 0) {
			char *p = realloc(out, cap * 2);
			if (!p)
				die("realloc");
			out = p;
			cap *= 2;
		} else if (z.avail_in == 0) {
			inflateEnd(&z);
			free(out);
			return NULL;
		}
	}
	*out_len = z.total_out;
	inflateEnd(&z);
	return out;
}

/* Handle every complete request in c's buffer. */
static void http_requests(struct conn *c)
{
	for (;;) {
		char *end = c->len ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
		size_t hlen, vlen, blen = 0, total;
		const char *v, *body;
		char *plain = NULL;
		unsigned status = 200;
		bool ok_auth = true;

		if (!end)
			return;
		hlen = (size_t)(end - c->buf) + 4;
		v = header(c->buf, hlen, "Content-Length", &vlen);
		if (v)
			blen = strtoul(v, NULL, 10);
		v = header(c->buf, hlen, "Expect", &vlen);
		if (hval_is(v, vlen, "100-continue") && !c->continued && c->len < hlen + blen) {
			static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
			if (send(c->fd, cont, sizeof(cont) - 1, MSG_NOSIGNAL) < 0)
				c->half = true;
			c->continued = true;
		}
		total = hlen + blen;
		if (c->len < total)
			return;
		c->continued = false;
		rep.requests++;
		dirty = true;
		v = header(c->buf, hlen, "Content-Type", &vlen);
		if (!hval_is(v, vlen, "application/x-ndjson"))
			rep.bad_content_type++;
		if (auth || bearer) {
			char want[512];
			v = header(c->buf, hlen, "Authorization", &vlen);
			if (auth) {
				char b64[400];
				/* base64 of USER:PASS, by hand (no extra library for the tests) */
				static const char tbl[] =
					"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
				size_t al = strlen(auth), o = 0;
				for (size_t i = 0; i < al; i += 3) {
					uint32_t x = (uint32_t)(unsigned char)auth[i] << 16;
					if (i + 1 < al)
						x |= (uint32_t)(unsigned char)auth[i + 1] << 8;
					if (i + 2 < al)
						x |= (unsigned char)auth[i + 2];
					b64[o++] = tbl[(x >> 18) & 63];
					b64[o++] = tbl[(x >> 12) & 63];
					b64[o++] = i + 1 < al ? tbl[(x >> 6) & 63] : '=';
					b64[o++] = i + 2 < al ? tbl[x & 63] : '=';
				}
				b64[o] = '\0';
				snprintf(want, sizeof(want), "Basic %s", b64);
			} else {
				snprintf(want, sizeof(want), "Bearer %s", bearer);
			}
			ok_auth = v && vlen == strlen(want) && memcmp(v, want, vlen) == 0;
		}
		body = c->buf + hlen;
		v = header(c->buf, hlen, "Content-Encoding", &vlen);
		if (hval_is(v, vlen, "gzip")) {
			size_t pl = 0;
			rep.gzip_requests++;
			plain = gunzip(body, blen, &pl);
			if (!plain)
				rep.bad_json++;
			body = plain;
			blen = plain ? pl : 0;
		}
		if (!ok_auth) {
			status = 401;
			rep.auth_failures++;
		} else if (fail_n) {
			fail_n--;
			status = fail_status;
		}
		if (status != 200)
			rep.failed_requests++;
		for (size_t s = 0; body && s < blen;) {
			const char *nl = memchr(body + s, '\n', blen - s);
			size_t n = nl ? (size_t)(nl - (body + s)) : blen - s;
			event(body + s, n, status == 200);
			s += n + 1;
		}
		free(plain);
		if (events_f)
			fflush(events_f); /* what we answer 200 to is on disk: a kill -9 next loses nothing */
		respond(c, status, status == 200 ? "ok" : "refused by the test");
		consume(c, total);
	}
}

/* --- main ------------------------------------------------------------------------- */

static void on_term(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int listen_on(unsigned port)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int one = 1, fd;

	fd = socket(AF_INET, (mode == M_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (mode == M_UDP) {
		/* room for bursts: clewd sends a chunk's events back to back (FORCE needs root; else the sysctl cap) */
		int rb = 16 * 1024 * 1024;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rb, sizeof(rb)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb));
	}
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind");
	if (mode != M_UDP && listen(fd, 64) < 0)
		die("listen");
	if (getsockname(fd, (struct sockaddr *)&a, &alen) < 0)
		die("getsockname");
	return fd;
}

static void write_port(const char *path, int fd)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	char tmp[4096];
	FILE *f;

	if (!path)
		return;
	getsockname(fd, (struct sockaddr *)&a, &alen);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		die("port file");
	fprintf(f, "%u\n", ntohs(a.sin_port));
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		die("port file");
}

static void accept_all(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		unsigned i;
		if (fd < 0)
			return;
		for (i = 0; i < CONNS_MAX && conns[i].fd >= 0; i++)
			;
		if (i == CONNS_MAX) {
			close(fd);
			continue;
		}
		conns[i].fd = fd;
		rep.connections++;
		dirty = true;
	}
}

static void udp_drain(int fd)
{
	static char dgram[70000];

	for (;;) {
		ssize_t n = recv(fd, dgram, sizeof(dgram), MSG_DONTWAIT);
		if (n < 0)
			return;
		event(dgram, (size_t)n, true);
	}
}

static void serve_conn(struct conn *c)
{
	bool eof;

	if (!conn_read(c, &eof)) {
		conn_close(c);
		return;
	}
	if (mode == M_TCP)
		tcp_lines(c, eof);
	else
		http_requests(c);
	if (eof || (c->half && mode == M_HTTP))
		conn_close(c);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	const char *port_file = NULL;
	unsigned port = 0;
	struct sigaction sa;
	int lfd;
	int64_t last_report = 0, stop_deadline = 0;

	if (argc < 2)
		goto usage;
	if (strcmp(argv[1], "tcp") == 0)
		mode = M_TCP;
	else if (strcmp(argv[1], "udp") == 0)
		mode = M_UDP;
	else if (strcmp(argv[1], "http") == 0)
		mode = M_HTTP;
	else
		goto usage;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			goto usage;
		i++;
		if (strcmp(a, "--port") == 0)
			port = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "--port-file") == 0)
			port_file = v;
		else if (strcmp(a, "--report") == 0)
			report_path = v;
		else if (strcmp(a, "--events") == 0)
			events_path = v;
		else if (strcmp(a, "--fail") == 0 && sscanf(v, "%u:%u", &fail_n, &fail_status) == 2)
			;
		else if (strcmp(a, "--auth") == 0)
			auth = v;
		else if (strcmp(a, "--bearer") == 0)
			bearer = v;
		else
			goto usage;
	}
	if (!report_path)
		goto usage;
	if (events_path && !(events_f = fopen(events_path, "a")))
		die("events file");
	for (unsigned i = 0; i < CONNS_MAX; i++)
		conns[i].fd = -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	lfd = listen_on(port);
	write_report();
	write_port(port_file, lfd);

	for (;;) {
		struct pollfd pf[CONNS_MAX + 1];
		unsigned map[CONNS_MAX + 1], np = 0, live = 0;

		if (stop_flag && !stop_deadline) {
			/* like a Logstash shutting down: no new connections, FIN, read to the peer's EOF */
			stop_deadline = mono_ms() + 10000;
			if (mode == M_UDP)
				udp_drain(lfd);
			close(lfd);
			lfd = -1;
			for (unsigned i = 0; i < CONNS_MAX; i++)
				if (conns[i].fd >= 0 && mode == M_TCP) {
					shutdown(conns[i].fd, SHUT_WR);
					conns[i].half = true;
				} else if (conns[i].fd >= 0) {
					conn_close(&conns[i]);
				}
		}
		if (lfd >= 0) {
			pf[np].fd = lfd;
			pf[np].events = POLLIN;
			map[np++] = CONNS_MAX;
		}
		for (unsigned i = 0; i < CONNS_MAX; i++) {
			if (conns[i].fd < 0)
				continue;
			pf[np].fd = conns[i].fd;
			pf[np].events = POLLIN;
			map[np++] = i;
			live++;
		}
		if (stop_deadline && (!live || mono_ms() >= stop_deadline))
			break;
		if (poll(pf, np, 50) < 0 && errno != EINTR)
			die("poll");
		for (unsigned k = 0; k < np; k++) {
			if (!pf[k].revents)
				continue;
			if (map[k] == CONNS_MAX) {
				if (mode == M_UDP)
					udp_drain(lfd);
				else
					accept_all(lfd);
			} else {
				serve_conn(&conns[map[k]]);
			}
		}
		if (mono_ms() - last_report >= 50) {
			write_report();
			last_report = mono_ms();
		}
	}
	dirty = true;
	write_report();
	if (events_f)
		fclose(events_f);
	return 0;

usage:
	fprintf(stderr, "usage: ls_receiver tcp|udp|http --report FILE [--port N] [--port-file FILE]\n"
			"       [--events FILE] [--fail N:STATUS] [--auth USER:PASS] [--bearer TOKEN]\n");
	return 2;
}
