/*
 * harness.h - shared by the network inputs' test programs: clewd as a real
 * process (CLEWD_BIN) in a fresh temp directory, its listening ports read
 * from its own log, its records read back from its stdout (JSON lines,
 * parsed independently with jansson), and plain socket clients.
 *
 * Nothing here asserts on time: waits poll until the condition holds,
 * failing only when clewd has exited or after a generous bound (a hung
 * test should say why rather than be killed by the Check timeout).
 */
#ifndef TEST_NET_HARNESS_H
#define TEST_NET_HARNESS_H

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../chunk/helpers.h"

/* Longest any wait polls before it gives up (seconds): a bound against hangs, not a check of speed. */
#define WAIT_BOUND_S 120

static char tmp[512];

static inline void net_setup(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmp, sizeof(tmp), "%s/clewd-net-XXXXXX", base && *base ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	signal(SIGPIPE, SIG_IGN);
}

static inline void net_teardown(void)
{
	char sub[600];

	snprintf(sub, sizeof(sub), "%s/state", tmp);
	remove_tree(sub);
	remove_tree(tmp);
}

static inline void msleep(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A path in the test's temp directory (static buffers, 8 in rotation). */
static inline const char *tpath(const char *name)
{
	static char bufs[8][600];
	static unsigned k;
	char *b = bufs[k++ % 8];

	snprintf(b, 600, "%s/%s", tmp, name);
	return b;
}

struct clewd {
	pid_t pid;     /* the daemon */
	char out[600]; /* its stdout (JSON lines), unless out_fd was given */
	char err[600]; /* its stderr: its own log */
	int status;    /* exit status once reaped (-1 before) */
};

/*
 * Start clewd with @args (NULL-terminated, after argv[0]) plus "-s STATE";
 * stdout to @out_fd when >= 0 (a pipe of the test), else to d->out.
 * Chunks are sealed, and held records flushed, after 100 ms so that
 * records show up quickly.
 */
static inline void clewd_start_fd(struct clewd *d, const char *const *args, int out_fd)
{
	const char *argv[48];
	const char *bin = getenv("CLEWD_BIN");
	size_t n = 0;

	ck_assert_msg(bin && *bin, "CLEWD_BIN is not set");
	snprintf(d->out, sizeof(d->out), "%s/out.json", tmp);
	snprintf(d->err, sizeof(d->err), "%s/clewd.log", tmp);
	d->status = -1;
	argv[n++] = bin;
	argv[n++] = "-s";
	argv[n++] = tpath("state");
	while (*args && n < 47)
		argv[n++] = *args++;
	argv[n] = NULL;
	d->pid = fork();
	ck_assert_int_ge(d->pid, 0);
	if (d->pid == 0) {
		int fi = open("/dev/null", O_RDONLY);
		int fo = out_fd >= 0 ? out_fd : open(d->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(d->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fi < 0 || fo < 0 || fe < 0)
			_exit(127);
		dup2(fi, 0);
		dup2(fo, 1);
		dup2(fe, 2);
		setenv("CLEWD_CHUNK_AGE", "100ms", 1);
		setenv("CLEWD_MULTILINE_TIMEOUT", "100ms", 1);
		/* no disk spool: outputs behind hold the inputs back as soon as memory is full */
		setenv("CLEWD_SPOOL_MAX_BYTES", "0", 1);
		execv(argv[0], (char *const *)(void *)argv);
		_exit(127);
	}
}

static inline void clewd_start(struct clewd *d, const char *const *args)
{
	clewd_start_fd(d, args, -1);
}

/* Whether clewd still runs (reaps it when not). */
static inline bool clewd_alive(struct clewd *d)
{
	int st;

	if (d->status >= 0)
		return false;
	if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
		d->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		return false;
	}
	return true;
}

/* SIGTERM, then its exit status. */
static inline int clewd_stop(struct clewd *d)
{
	int st;

	if (d->status >= 0)
		return d->status;
	kill(d->pid, SIGTERM);
	ck_assert_int_eq(waitpid(d->pid, &st, 0), d->pid);
	d->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return d->status;
}

/* Whole file into a malloc'd NUL-terminated buffer ("" when absent). */
static inline char *slurp_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f) {
		buf = calloc(1, 1);
		ck_assert_ptr_nonnull(buf);
		if (len)
			*len = 0;
		return buf;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	n = (long)fread(buf, 1, (size_t)n, f);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

/* The lines of clewd's log whose JSON has message @msg (and input @input when not NULL). */
static inline json_t *log_find(const struct clewd *d, const char *msg, const char *input, const char *listen)
{
	char *log = slurp_file(d->err, NULL), *p = log, *nl;
	json_t *found = NULL;

	while (!found && (nl = strchr(p, '\n')) != NULL) {
		json_t *j = json_loadb(p, (size_t)(nl - p), 0, NULL);
		const char *m = j ? json_string_value(json_object_get(j, "message")) : NULL;
		const char *in = j ? json_string_value(json_object_get(j, "input")) : NULL;
		const char *li = j ? json_string_value(json_object_get(j, "listen")) : NULL;
		if (m && strcmp(m, msg) == 0 && (!input || (in && strcmp(in, input) == 0)) &&
		    (!listen || (li && strcmp(li, listen) == 0)))
			found = j;
		else
			json_decref(j);
		p = nl + 1;
	}
	free(log);
	return found;
}

/* Whether clewd's log has @msg for input kind @kind. */
static inline bool log_has(const struct clewd *d, const char *msg, const char *kind)
{
	json_t *j = log_find(d, msg, kind, NULL);

	json_decref(j);
	return j != NULL;
}

/* Wait until clewd logs @msg for input kind @kind; the line (json_decref() it). */
static inline json_t *wait_log(struct clewd *d, const char *msg, const char *kind)
{
	double until = now_s() + WAIT_BOUND_S;
	json_t *j;

	while (!(j = log_find(d, msg, kind, NULL))) {
		ck_assert_msg(clewd_alive(d) && now_s() < until, "clewd did not log '%s' (%s)", msg, kind);
		msleep(20);
	}
	return j;
}

/* Wait until clewd logs "listening" for input kind @kind (and address @listen); its port. */
static inline int clewd_port(struct clewd *d, const char *kind, const char *listen)
{
	double until = now_s() + WAIT_BOUND_S;
	json_t *j;
	int port;

	while (!(j = log_find(d, "listening", kind, listen)) &&
	       !(j = log_find(d, "listening beyond loopback: any host that reaches it can send records", kind,
			      listen))) {
		char *log;
		if (!clewd_alive(d) || now_s() > until) {
			log = slurp_file(d->err, NULL);
			ck_abort_msg("clewd did not start listening (%s), status %d: %s", kind, d->status,
				     log);
		}
		msleep(20);
	}
	port = atoi(json_string_value(json_object_get(j, "port")));
	json_decref(j);
	return port;
}

/* An unsigned counter of clewd's "input closed" log line for @kind (-1: absent). */
static inline long long closed_counter(const struct clewd *d, const char *kind, const char *key)
{
	json_t *j = log_find(d, "input closed", kind, NULL);
	const char *v = j ? json_string_value(json_object_get(j, key)) : NULL;
	long long n = v ? atoll(v) : -1;

	json_decref(j);
	return n;
}

/* --- records ---------------------------------------------------------------- */

struct recs {
	json_t **r; /* one JSON object per complete output line */
	size_t n;   /* entries */
	size_t bad; /* complete lines that are not JSON objects */
};

static inline void recs_free(struct recs *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		json_decref(rs->r[i]);
	free(rs->r);
	memset(rs, 0, sizeof(*rs));
}

/*
 * jansson takes no NUL in an object key, which JSON allows (binary input
 * makes such keys): parse again with each \u0000 escape read as \u0001.
 */
static inline json_t *load_nul_keys(const char *p, size_t n)
{
	char *c = malloc(n);
	json_t *j;

	ck_assert_ptr_nonnull(c);
	memcpy(c, p, n);
	for (size_t i = 0; i + 6 <= n; i++)
		if (memcmp(c + i, "\\u0000", 6) == 0)
			c[i + 5] = '1';
	j = json_loadb(c, n, JSON_ALLOW_NUL, NULL);
	free(c);
	return j;
}

/* Every complete line of @path, parsed (NUL escapes allowed: binary input is kept). */
static inline struct recs recs_load(const char *path)
{
	struct recs rs = {NULL, 0, 0};
	size_t len, cap = 0;
	char *buf = slurp_file(path, &len), *p = buf, *nl;

	while ((nl = memchr(p, '\n', (size_t)(buf + len - p))) != NULL) {
		json_t *j = json_loadb(p, (size_t)(nl - p), JSON_ALLOW_NUL, NULL);
		if (!j)
			j = load_nul_keys(p, (size_t)(nl - p));
		if (!j || !json_is_object(j)) {
			rs.bad++;
			json_decref(j);
		} else {
			if (rs.n == cap) {
				cap = cap ? cap * 2 : 1024;
				rs.r = realloc(rs.r, cap * sizeof(*rs.r));
				ck_assert_ptr_nonnull(rs.r);
			}
			rs.r[rs.n++] = j;
		}
		p = nl + 1;
	}
	free(buf);
	return rs;
}

static inline const char *rec_str(const json_t *r, const char *key)
{
	return json_string_value(json_object_get(r, key));
}

/* Records of @path whose message contains @needle. */
static inline size_t count_messages(const char *path, const char *needle)
{
	struct recs rs = recs_load(path);
	size_t n = 0;

	for (size_t i = 0; i < rs.n; i++) {
		const char *m = rec_str(rs.r[i], "message");
		n += m && strstr(m, needle);
	}
	recs_free(&rs);
	return n;
}

/* Wait until @path holds at least @want records with @needle in their message (clewd must stay up). */
static inline void wait_messages(struct clewd *d, const char *path, const char *needle, size_t want)
{
	double until = now_s() + WAIT_BOUND_S;
	size_t n;

	while ((n = count_messages(path, needle)) < want) {
		ck_assert_msg(clewd_alive(d), "clewd exited (%d) with %zu of %zu records '%s'", d->status, n,
			      want, needle);
		ck_assert_msg(now_s() < until, "only %zu of %zu records '%s' after %ds", n, want, needle,
			      WAIT_BOUND_S);
		msleep(50);
	}
}

/* --- clients ---------------------------------------------------------------- */

static inline int tcp_connect(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_msg(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect 127.0.0.1:%d: %s", port,
		      strerror(errno));
	return fd;
}

static inline int unix_connect(const char *path, int type)
{
	struct sockaddr_un a;
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof(a.sun_path));
	memcpy(a.sun_path, path, strlen(path));
	ck_assert_msg(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect %s: %s", path,
		      strerror(errno));
	return fd;
}

static inline int udp_connect(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Write all of @p; false on an error (the peer closed). */
static inline bool send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		c += w;
		n -= (size_t)w;
	}
	return true;
}

/* Write @p in pieces of random size (1..@maxpiece), so lines are cut across writes. */
static inline bool send_pieces(int fd, const char *p, size_t n, size_t maxpiece, unsigned *seed)
{
	while (n) {
		size_t k = 1 + (size_t)rand_r(seed) % maxpiece;
		if (k > n)
			k = n;
		if (!send_all(fd, p, k))
			return false;
		p += k;
		n -= k;
	}
	return true;
}

/*
 * One HTTP/1.1 exchange on a fresh connection to 127.0.0.1:@port: @head
 * (request line and headers, without the blank line; Connection: close
 * is added) then @body. The status, and the response (headers and body,
 * NUL-terminated) in @resp when not NULL. Return: the status, or -1 when
 * the connection ended without a response.
 */
static inline int http_exchange(int port, const char *head, const void *body, size_t blen, char *resp,
				size_t cap)
{
	char hdr[2048], buf[8192];
	size_t got = 0;
	int fd = tcp_connect(port), status = -1;
	ssize_t r;

	snprintf(hdr, sizeof(hdr), "%s\r\nConnection: close\r\n\r\n", head);
	/* a server may answer before the body and close: read its answer even when sending failed */
	if (send_all(fd, hdr, strlen(hdr)) && blen)
		send_all(fd, body, blen);
	while ((r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0 || (r < 0 && errno == EINTR))
		if (r > 0 && (got += (size_t)r) == sizeof(buf) - 1)
			break;
	buf[got] = '\0';
	close(fd);
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		status = -1;
	if (resp && cap) {
		size_t n = got < cap - 1 ? got : cap - 1;
		memcpy(resp, buf, n);
		resp[n] = '\0';
	}
	return status;
}

/* POST @body to @path; Content-Length set; @extra: more header lines ("" or "X: y\r\n" ...). */
static inline int http_post(int port, const char *path, const char *extra, const void *body, size_t len,
			    char *resp, size_t cap)
{
	char head[1024];

	snprintf(head, sizeof(head),
		 "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-ndjson\r\n%s"
		 "Content-Length: %zu",
		 path, extra, len);
	return http_exchange(port, head, body, len, resp, cap);
}

/* POST until the answer is not 503 (the documented contract: retry later). */
static inline int http_post_retry(int port, const char *path, const void *body, size_t len)
{
	int st;

	while ((st = http_post(port, path, "", body, len, NULL, 0)) == 503)
		msleep(100);
	return st;
}

#endif
