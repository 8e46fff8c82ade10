/*
 * output/forward/out_forward.c - forward://HOST:PORT: chunks to a Fluentd
 * or Fluent Bit aggregator (or another clewd) with the Forward Protocol v1.
 *
 * DESIGN: each chunk is one PackedForward message [tag, entries,
 * {"chunk": ID, "size": N}] over one TCP connection: its records are
 * rendered as clew's JSON lines (output/lines.c, the same schema as
 * stdout:json) and each line turned into a msgpack map of the same
 * fields, with the record's time as the EventTime (ext 0). With
 * require_ack (the default) a chunk is acknowledged (pl_out_done OK)
 * only when the server answers {"ack": ID}; without it, once its bytes
 * are written. The queue of held chunks, the non-blocking connect and
 * the retry of the oldest chunk (the pipeline's backoff paces reconnects)
 * are the Logstash outputs' (output/logstash/ls_common.h). A connection
 * lost, or an ack not back within ack_timeout, gives the oldest chunk
 * back with OUT_RETRY and rewrites the others on the next connection:
 * the server may get a chunk twice (Fluentd's at-least-once), never lose
 * one we acknowledged.
 *
 * Not done: the shared-key handshake, TLS, gzip (CompressedPackedForward).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fmt/str.h"
#include "fmt/ts.h"
#include "input/fwd_decode.h"
#include "output/lines.h"
#include "output/logstash/ls_common.h"
#include "util/metrics.h"
#include "util/util.h"
#include "util/banned.h"

enum fwd_conn_state { FC_DOWN, FC_CONNECTING, FC_UP };

struct fwd_out_conf {
	char host[256];		     /* peer address */
	uint16_t port;		     /* peer port */
	char tag[256];		     /* the events' tag */
	bool require_ack;	     /* wait for {"ack": ID} */
	uint64_t connect_timeout_ms; /* give up a connect after this */
	uint64_t
		ack_timeout_ms; /* an ack not back after this: the connection is dropped, the chunk retried */
};

struct fwd_out {
	char *name;		  /* output label (owned) */
	struct fwd_out_conf cf;	  /* options */
	struct pipeline *pl;	  /* for pl_watch_fd() */
	int fd;			  /* the connection, -1 when down */
	enum fwd_conn_state conn; /* its state */
	bool watched;		  /* fd is in the pipeline's epoll set */
	bool peer_closed;	  /* the peer sent FIN or reset */
	int64_t deadline_ns;	  /* connect timeout */
	struct ls_queue q;	  /* held chunks; it[].mark: 1 when written (waiting for its ack) */
	uint8_t nonce[8];	  /* random per open(): chunk IDs are base64(nonce, seq) */
	struct out_lines lines;	  /* the chunk being packed, as JSON lines */
	char *msg;		  /* the message being written */
	size_t msg_len, msg_cap;  /* its length, allocated */
	size_t wpos;		  /* bytes of msg written */
	uint64_t msg_seq;	  /* the chunk msg holds; valid when msg_len */
	uint8_t in[4096];	  /* answers received, not yet parsed */
	size_t in_len;		  /* bytes in in[] */
	struct ls_stats st;	  /* counters (events: acknowledged) */
	uint64_t acks;		  /* acks received */
	uint64_t ack_timeouts;	  /* acks not back in time */
	char why[128];		  /* how the peer went away */
};

/* --- JSON line -> msgpack ------------------------------------------------ */

static bool grow(struct fwd_out *f, size_t more)
{
	size_t cap = f->msg_cap ? f->msg_cap : 64 * 1024;
	char *p;

	if (f->msg_len + more <= f->msg_cap)
		return true;
	while (cap < f->msg_len + more)
		cap *= 2;
	if (!(p = realloc(f->msg, cap)))
		return false;
	f->msg = p;
	f->msg_cap = cap;
	return true;
}

static void be_at(char *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (char)(uint8_t)v;
}

/* A msgpack str of the JSON string whose inside is s[0..n) (escaped), at f->msg_len. */
static void put_str(struct fwd_out *f, const char *s, size_t n)
{
	struct fmt_str v = {.ptr = s, .len = (uint32_t)n, .enc = FMT_ENC_JSON};
	char *at = f->msg + f->msg_len;
	size_t len = fmt_str_decode(&v, at + 5), h = len < 32 ? 1 : len <= 0xff ? 2 : len <= 0xffff ? 3 : 5;

	if (h == 1) {
		at[0] = (char)(0xa0 | len);
	} else {
		at[0] = (char)(h == 2 ? 0xd9 : h == 3 ? 0xda : 0xdb);
		be_at(at + 1, len, (int)h - 1);
	}
	memmove(at + h, at + 5, len);
	f->msg_len += h + len;
}

static void put_number(struct fwd_out *f, const char *s, size_t n)
{
	char num[128], *end, *at = f->msg + f->msg_len;
	bool is_float = n >= sizeof(num) || memchr(s, '.', n) || memchr(s, 'e', n) || memchr(s, 'E', n);
	long long i;
	double d;

	snprintf(num, sizeof(num), "%.*s", (int)n, s);
	if (!is_float) {
		errno = 0;
		i = strtoll(num, &end, 10);
		if (errno == 0) {
			at[0] = (char)0xd3;
			be_at(at + 1, (uint64_t)i, 8);
			f->msg_len += 9;
			return;
		}
	}
	d = strtod(num, &end);
	at[0] = (char)0xcb;
	memcpy(&i, &d, 8);
	be_at(at + 1, (uint64_t)i, 8);
	f->msg_len += 9;
}

/*
 * pack_line() - the JSON object s[0..n) (fmt_json_emit()'s: valid, on one
 * line) as a forward entry [EventTime, map] onto f->msg. Containers get
 * 32-bit counts, patched when they close (no second pass). The time is
 * the record's `timestamp`, or @now_ns when it has none.
 * Return: false when out of memory.
 */
static bool pack_line(struct fwd_out *f, const char *s, size_t n, int64_t now_ns)
{
	size_t at[FMT_JSON_DEPTH_MAX + 1], entry;
	uint32_t count[FMT_JSON_DEPTH_MAX + 1];
	int64_t ts = now_ns;
	unsigned depth = 0;
	bool want_ts = false;

	/* every JSON byte becomes at most 9 msgpack bytes (a 1-digit number as float64) */
	if (!grow(f, 9 * n + 32))
		return false;
	entry = f->msg_len;
	memcpy(f->msg + f->msg_len, "\x92\xd7\x00", 3); /* [EventTime, ...]: patched below */
	f->msg_len += 3 + 8;
	for (size_t i = 0; i < n;) {
		char c = s[i];
		size_t j;

		switch (c) {
		case '{':
		case '[':
			if (depth > 0)
				count[depth - 1]++;
			if (depth > FMT_JSON_DEPTH_MAX)
				return false;
			at[depth] = f->msg_len;
			count[depth] = 0;
			f->msg[f->msg_len] = (char)(c == '{' ? 0xdf : 0xdd);
			f->msg_len += 5;
			depth++;
			i++;
			continue;
		case '}':
		case ']':
			depth--;
			/* a map counted keys and values */
			be_at(f->msg + at[depth] + 1, c == '}' ? count[depth] / 2 : count[depth], 4);
			i++;
			continue;
		case ',':
		case ':':
		case ' ':
			i++;
			continue;
		case '"':
			for (j = i + 1; j < n && s[j] != '"'; j++)
				if (s[j] == '\\')
					j++;
			if (want_ts && fmt_ts_parse(s + i + 1, j - i - 1, &ts, NULL) < 0)
				ts = now_ns;
			/* a key at the top level: is it the record's time? */
			want_ts = depth == 1 && count[0] % 2 == 0 && j - i - 1 == 9 &&
				  memcmp(s + i + 1, "timestamp", 9) == 0;
			count[depth - 1]++;
			put_str(f, s + i + 1, j - i - 1);
			i = j + 1;
			continue;
		default:
			for (j = i; j < n && s[j] != ',' && s[j] != '}' && s[j] != ']'; j++)
				;
			count[depth - 1]++;
			if (c == 't' || c == 'f')
				f->msg[f->msg_len++] = (char)(c == 't' ? 0xc3 : 0xc2);
			else if (c == 'n')
				f->msg[f->msg_len++] = (char)0xc0;
			else
				put_number(f, s + i, j - i);
			want_ts = false;
			i = j;
		}
	}
	{
		int64_t sec = ts >= 0 ? ts / 1000000000 : (ts - 999999999) / 1000000000;
		int64_t nsec = ts - sec * 1000000000;
		be_at(f->msg + entry + 3, (uint64_t)sec, 4);
		be_at(f->msg + entry + 7, (uint64_t)nsec, 4);
	}
	return true;
}

/* The chunk option of chunk @seq: base64 of the output's nonce and @seq (16 bytes, as Fluentd's IDs). */
static void chunk_id(const struct fwd_out *f, uint64_t seq, char id[25])
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t raw[18] = {0};

	memcpy(raw, f->nonce, 8);
	for (int i = 0; i < 8; i++)
		raw[8 + i] = (uint8_t)(seq >> (56 - 8 * i));
	for (int i = 0; i < 6; i++) {
		uint32_t v = (uint32_t)raw[3 * i] << 16 | (uint32_t)raw[3 * i + 1] << 8 | raw[3 * i + 2];
		id[4 * i] = b64[v >> 18];
		id[4 * i + 1] = b64[(v >> 12) & 63];
		id[4 * i + 2] = b64[(v >> 6) & 63];
		id[4 * i + 3] = b64[v & 63];
	}
	/* 16 bytes are 22 base64 digits and "==" */
	id[22] = id[23] = '=';
	id[24] = '\0';
}

/* The chunk of @it as one PackedForward message in f->msg. Return: 0 or negative. */
static int pack_chunk(struct fwd_out *f, const struct ls_item *it, struct cd_err *err)
{
	char id[25];
	size_t tag_len = strlen(f->cf.tag), pos = 0, head, entries, line_len;
	const char *line;
	int64_t now = cd_real_ns();
	int rc;

	if ((rc = out_lines_render(&f->lines, it->c, CD_OUTFMT_JSON, err)) < 0)
		return rc;
	/* the header [tag, bin32 entries, ...] is written once the entries' length is known */
	head = 1 + 2 + tag_len + 5;
	f->msg_len = 0;
	if (!grow(f, head))
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	f->msg_len = head;
	entries = head;
	while (ls_next_line(f->lines.buf, f->lines.len, &pos, &line, &line_len))
		if (line_len && !pack_line(f, line, line_len, now))
			return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	/* str8 for the tag whatever its length (valid msgpack), so the header's length is known up front */
	f->msg[0] = (char)0x93;
	f->msg[1] = (char)0xd9;
	f->msg[2] = (char)tag_len;
	memcpy(f->msg + 3, f->cf.tag, tag_len);
	f->msg[head - 5] = (char)0xc6;
	be_at(f->msg + head - 4, f->msg_len - entries, 4);
	chunk_id(f, it->seq, id);
	if (!grow(f, 64))
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	/* the option map {"chunk": ID, "size": N} (chunk only when an ack is wanted) */
	{
		char *o = f->msg + f->msg_len;
		size_t k = 0;
		o[k++] = (char)(f->cf.require_ack ? 0x82 : 0x81);
		if (f->cf.require_ack) {
			memcpy(o + k,
			       "\xa5"
			       "chunk\xb8",
			       7);
			k += 7;
			memcpy(o + k, id, 24);
			k += 24;
		}
		memcpy(o + k, "\xa4size\xce", 6);
		k += 6;
		be_at(o + k, it->nrecords, 4);
		k += 4;
		f->msg_len += k;
	}
	f->msg_seq = it->seq;
	return 0;
}

/* --- the connection -------------------------------------------------------- */

static void drop_conn(struct fwd_out *f)
{
	if (f->fd >= 0) {
		if (f->watched)
			pl_unwatch_fd(f->pl, f->fd);
		shutdown(f->fd, SHUT_WR);
		close(f->fd);
	}
	f->fd = -1;
	f->watched = false;
	f->peer_closed = false;
	f->conn = FC_DOWN;
	f->wpos = 0;
	f->in_len = 0;
}

/* The connection is gone or unusable: the oldest chunk goes back; the others are written again. */
static void out_fail(struct fwd_out *f, const char *why)
{
	bool was_up = f->conn == FC_UP;

	drop_conn(f);
	for (unsigned i = 0; i < f->q.n; i++)
		f->q.it[i].mark = 0;
	f->msg_len = 0;
	f->st.errors++;
	if (was_up)
		cd_log(FMT_LEVEL_WARN, "forward output: connection lost", "output", f->name, "error", why,
		       NULL);
	if (f->q.n) {
		f->st.retries++;
		ls_queue_done(&f->q, 0, OUT_RETRY, why);
	}
}

/* Acks received: each acknowledges the chunk whose ID it names. */
static void take_acks(struct fwd_out *f)
{
	size_t pos = 0;

	for (;;) {
		const char *id;
		uint32_t n;
		long m = fwd_ack_parse(f->in + pos, f->in_len - pos, &id, &n);

		if (m == 0)
			break;
		if (m < 0) {
			cd_strlcpy(f->why, "the server's answer is not {\"ack\": ID}", sizeof(f->why));
			f->peer_closed = true;
			return;
		}
		pos += (size_t)m;
		f->acks++;
		for (unsigned i = 0; i < f->q.n; i++) {
			char want[25];
			chunk_id(f, f->q.it[i].seq, want);
			if (f->q.it[i].mark && n == 24 && memcmp(want, id, n) == 0) {
				f->st.events += f->q.it[i].nrecords;
				ls_queue_done(&f->q, i, OUT_OK, NULL);
				break;
			}
		}
	}
	memmove(f->in, f->in + pos, f->in_len - pos);
	f->in_len -= pos;
}

static void on_readable(void *arg)
{
	struct fwd_out *f = arg;

	for (;;) {
		ssize_t n;

		if (f->in_len == sizeof(f->in)) {
			cd_strlcpy(f->why, "the server's answer is too long", sizeof(f->why));
			break;
		}
		n = recv(f->fd, f->in + f->in_len, sizeof(f->in) - f->in_len, MSG_DONTWAIT);
		if (n > 0) {
			f->in_len += (size_t)n;
			take_acks(f);
			if (f->peer_closed)
				break;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		cd_strlcpy(f->why, n < 0 ? strerror(errno) : "the server closed the connection",
			   sizeof(f->why));
		break;
	}
	pl_unwatch_fd(f->pl, f->fd);
	f->watched = false;
	f->peer_closed = true;
	if (!f->q.n)
		drop_conn(f);
}

static int start_connect(struct fwd_out *f, int64_t now, struct cd_err *err)
{
	int one = 1, fd = ls_connect(f->cf.host, f->cf.port, SOCK_STREAM, err);

	if (fd < 0)
		return fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	f->fd = fd;
	f->conn = FC_CONNECTING;
	f->deadline_ns = now + (int64_t)f->cf.connect_timeout_ms * 1000000;
	f->wpos = 0;
	f->msg_len = 0;
	if (pl_watch_fd(f->pl, fd, on_readable, f) == 0)
		f->watched = true;
	return 0;
}

/* Write what the socket takes, oldest chunk first. Return: false when the connection failed. */
static bool out_write(struct fwd_out *f, int64_t now)
{
	for (unsigned i = 0; i < f->q.n; i++) {
		struct ls_item *it = &f->q.it[i];
		struct cd_err err = {0, 0, ""};

		if (it->mark)
			continue;
		if (!f->msg_len || f->msg_seq != it->seq) {
			if (pack_chunk(f, it, &err) < 0) {
				f->st.errors++;
				f->msg_len = 0;
				ls_queue_done(&f->q, i, OUT_FAIL, err.msg);
				return true;
			}
			f->wpos = 0;
		}
		while (f->wpos < f->msg_len) {
			ssize_t n = send(f->fd, f->msg + f->wpos, f->msg_len - f->wpos,
					 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return true;
			if (n <= 0) {
				out_fail(f, n < 0 ? strerror(errno) : "send returned 0");
				return false;
			}
			f->wpos += (size_t)n;
			f->st.bytes += (uint64_t)n;
		}
		f->msg_len = 0;
		f->wpos = 0;
		if (!f->cf.require_ack) {
			f->st.events += it->nrecords;
			ls_queue_done(&f->q, i--, OUT_OK, NULL);
			continue;
		}
		it->mark = (uint64_t)now; /* monotonic, never 0 */
	}
	return true;
}

static void progress(struct fwd_out *f, int64_t now)
{
	struct cd_err err = {0, 0, ""};
	int rc;

	if (f->peer_closed) {
		out_fail(f, f->why);
		return;
	}
	if (f->q.n && f->q.it[0].mark && f->cf.ack_timeout_ms &&
	    now - (int64_t)f->q.it[0].mark > (int64_t)f->cf.ack_timeout_ms * 1000000) {
		f->ack_timeouts++;
		out_fail(f, "no ack within ack_timeout");
		return;
	}
	if (!f->q.n || f->q.held)
		return;
	if (f->conn == FC_DOWN && start_connect(f, now, &err) < 0) {
		out_fail(f, err.msg);
		return;
	}
	if (f->conn == FC_CONNECTING) {
		rc = ls_connect_poll(f->fd, &err);
		if (rc == 0 && now >= f->deadline_ns)
			rc = cd_err_set(&err, -CD_EIO, 0, "connect timeout");
		if (rc < 0) {
			out_fail(f, err.msg);
			return;
		}
		if (rc == 0)
			return;
		f->conn = FC_UP;
		f->st.connects++;
		cd_log(FMT_LEVEL_INFO, "forward output: connected", "output", f->name, NULL);
	}
	out_write(f, now);
}

/* --- the plugin -------------------------------------------------------------- */

static const struct cd_opt_spec forward_opts[] = {
	{"address", CD_OPT_HOSTPORT, NULL, "HOST:PORT of the Fluentd/Fluent Bit forward input (required)",
	 NULL, 0, 0},
	{"tag", CD_OPT_STRING, "clew", "the events' tag (1..255 bytes)", NULL, 0, 0},
	{"require_ack", CD_OPT_BOOL, "true",
	 "a chunk is delivered when the server acks it (else once written)", NULL, 0, 0},
	{"ack_timeout", CD_OPT_DURATION, "60s", "an ack not back after this: reconnect and send again", NULL,
	 0, 0},
	{"connect_timeout", CD_OPT_DURATION, "5s", "give up a connect after this", NULL, 0, 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

static int out_conf(const struct cd_output_conf *oc, struct fwd_out_conf *cf, struct cd_err *err)
{
	const char *tag = cd_opt_get(&oc->opts, "tag");
	int rc;

	memset(cf, 0, sizeof(*cf));
	rc = cd_opt_hostport(&oc->opts, "address", 24224, cf->host, sizeof(cf->host), &cf->port, err);
	if (rc == -CD_ENOENT)
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: address HOST:PORT is required", oc->name);
	if (rc < 0)
		return rc;
	if (!tag)
		tag = "clew";
	if (!*tag || !cd_strlcpy(cf->tag, tag, sizeof(cf->tag)))
		return cd_opt_fail(&oc->opts, "tag", "expected 1..255 bytes", err);
	if ((rc = cd_opt_bool(&oc->opts, "require_ack", true, &cf->require_ack, err)) < 0 ||
	    (rc = cd_opt_ms(&oc->opts, "ack_timeout", 60000, &cf->ack_timeout_ms, err)) < 0 ||
	    (rc = cd_opt_ms(&oc->opts, "connect_timeout", 5000, &cf->connect_timeout_ms, err)) < 0)
		return rc;
	if (cf->connect_timeout_ms == 0)
		return cd_opt_fail(&oc->opts, "connect_timeout", "must be > 0", err);
	return 0;
}

static int fo_check(const struct cd_output_conf *oc, struct cd_err *err)
{
	struct fwd_out_conf cf;

	return out_conf(oc, &cf, err);
}

static int fo_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_output_conf *oc,
		   struct cd_err *err)
{
	struct fwd_out *f = calloc(1, sizeof(*f));
	int rc;

	if (!f)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	if ((rc = out_conf(oc, &f->cf, err)) < 0) {
		free(f);
		return rc;
	}
	if (!(f->name = strdup(oc->name ? oc->name : "forward"))) {
		free(f);
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	}
	f->pl = pl;
	f->fd = -1;
	if (getrandom(f->nonce, sizeof(f->nonce), GRND_NONBLOCK) != (ssize_t)sizeof(f->nonce)) {
		int64_t t = cd_real_ns() ^ (int64_t)getpid()
						   << 40; /* no entropy yet: unique enough per run */
		memcpy(f->nonce, &t, sizeof(f->nonce));
	}
	ls_queue_init(&f->q, pl, idx);
	*state = f;
	return 0;
}

static enum out_result fo_flush(void *state, const struct chunk *c, struct cd_err *err)
{
	struct fwd_out *f = state;

	if (!ls_queue_begin(&f->q, c)) {
		cd_err_set(err, -CD_EFULL, 0, "%s: too many chunks in flight", f->name);
		return OUT_RETRY;
	}
	progress(f, cd_mono_ns());
	return ls_queue_end(&f->q, err);
}

static void fo_poll(void *state, int64_t now)
{
	progress(state, now);
}

static void fo_metrics(void *state, struct metrics *m, const char *label)
{
	struct fwd_out *f = state;

	metrics_add(m, "clewd_output_forward_events_total", METRICS_COUNTER,
		    "Events the forward server acknowledged (or that were written, without require_ack)",
		    label, (double)f->st.events);
	metrics_add(m, "clewd_output_forward_bytes_total", METRICS_COUNTER,
		    "Bytes written to the forward server", label, (double)f->st.bytes);
	metrics_add(m, "clewd_output_forward_acks_total", METRICS_COUNTER, "Acks received", label,
		    (double)f->acks);
	metrics_add(m, "clewd_output_forward_ack_timeouts_total", METRICS_COUNTER,
		    "Acks not back within ack_timeout (the chunk was sent again)", label,
		    (double)f->ack_timeouts);
	metrics_add(m, "clewd_output_forward_errors_total", METRICS_COUNTER,
		    "Failed attempts: connects, lost connections", label, (double)f->st.errors);
	metrics_add(m, "clewd_output_forward_retries_total", METRICS_COUNTER, "Chunks given back for a retry",
		    label, (double)f->st.retries);
	metrics_add(m, "clewd_output_forward_in_flight_chunks", METRICS_GAUGE,
		    "Chunks held: being written or waiting for their ack", label, (double)f->q.n);
}

static void fo_close(void *state)
{
	struct fwd_out *f = state;

	if (!f)
		return;
	{
		char n[4][24];
		cd_log(FMT_LEVEL_INFO, "forward output closed", "output", f->name, "events",
		       ls_u64_str(n[0], f->st.events), "acks", ls_u64_str(n[1], f->acks), "retries",
		       ls_u64_str(n[2], f->st.retries), "connects", ls_u64_str(n[3], f->st.connects), NULL);
	}
	drop_conn(f);
	ls_queue_drop(&f->q);
	out_lines_release(&f->lines);
	free(f->msg);
	free(f->name);
	free(f);
}

static const struct out_plugin out_forward = {
	.check = fo_check,
	.open = fo_open,
	.flush = fo_flush,
	.poll = fo_poll,
	.metrics = fo_metrics,
	.close = fo_close,
};

const struct cd_plugin_desc out_forward_desc = {
	.name = "forward",
	.scheme = "forward",
	.usage = "forward://HOST:PORT",
	.summary = "Fluentd forward protocol (PackedForward, acks)",
	.opts = forward_opts,
	.flags = CD_PLUGIN_URI_OPTS,
	.out = &out_forward,
};
