/*
 * harness.h - shared by the network inputs' test programs: clewd as a real
 * process (CLEWD_BIN) in a fresh temp directory, its listening ports read
 * from its own log, its records read back from its stdout (JSON lines,
 * parsed independently with jansson), and plain socket clients.
 *
 * Waits poll with a bound against hangs, not a check of speed
 * (th_clewd.h); the process and file helpers are the shared th_* ones.
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

#include "th_clewd.h"
#include "th_file.h"
#include "th_proc.h"

static char tmp[512];

static inline void net_setup(void)
{
	th_tmpdir(tmp, sizeof(tmp), NULL, "clewd-net");
	signal(SIGPIPE, SIG_IGN);
}

static inline void net_teardown(void)
{
	th_remove_tree(tmp);
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

/*
 * Environment of clewd in these tests: chunks are sealed, and held records
 * flushed, after 100 ms so that records show up quickly; no disk spool, so
 * outputs behind hold the inputs back as soon as memory is full.
 */
static const char *const net_clewd_env[] = {"CLEWD_CHUNK_AGE=100ms", "CLEWD_MULTILINE_TIMEOUT=100ms",
					    "CLEWD_SPOOL_MAX_BYTES=0", NULL};

/* Start clewd in the test's directory with @args; stdout to @out_fd when >= 0, else to d->out. */
static inline void clewd_start_fd(struct th_clewd *d, const char *const *args, int out_fd)
{
	th_clewd_start(d, tmp, args, out_fd, net_clewd_env);
}

static inline void clewd_start(struct th_clewd *d, const char *const *args)
{
	clewd_start_fd(d, args, -1);
}

/* Whether clewd's log has @msg for input kind @kind. */
static inline bool log_has(const struct th_clewd *d, const char *msg, const char *kind)
{
	json_t *j = th_clewd_log_find(d, msg, kind, NULL);

	json_decref(j);
	return j != NULL;
}

/* An unsigned counter of clewd's "input closed" log line for @kind (-1: absent). */
static inline long long closed_counter(const struct th_clewd *d, const char *kind, const char *key)
{
	json_t *j = th_clewd_log_find(d, "input closed", kind, NULL);
	const char *v = j ? json_string_value(json_object_get(j, key)) : NULL;
	long long n = v ? atoll(v) : -1;

	json_decref(j);
	return n;
}

/* A child that copies @fd to @path until EOF (@other: the pipe's write end, closed in the child). */
static inline pid_t spawn_reader(int fd, int other, const char *path)
{
	pid_t pid = th_fork();

	if (pid == 0) {
		char buf[65536];
		ssize_t n;
		int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (out < 0)
			_exit(1);
		close(other);
		while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
			if (n > 0 && write(out, buf, (size_t)n) != n)
				_exit(2);
		_exit(0);
	}
	return pid;
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
	char *buf = th_slurp_or_empty(path, &len), *p = buf, *nl;

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
static inline void wait_messages(struct th_clewd *d, const char *path, const char *needle, size_t want)
{
	double until = th_now() + TH_WAIT_BOUND_S;
	size_t n;

	while ((n = count_messages(path, needle)) < want) {
		ck_assert_msg(th_clewd_alive(d), "clewd exited (%d) with %zu of %zu records '%s'", d->status,
			      n, want, needle);
		ck_assert_msg(th_now() < until, "only %zu of %zu records '%s' after %ds", n, want, needle,
			      TH_WAIT_BOUND_S);
		th_msleep(50);
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
		th_msleep(100);
	return st;
}

#endif
