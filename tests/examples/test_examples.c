/*
 * test_examples.c - the example services end to end, as real processes.
 *
 * chain: billing, orders and gateway run on free 127.0.0.1 ports with
 * their logs in files (gateway and billing in the pipe format, orders in
 * JSON); checkouts go through the gateway with libcurl; the services are
 * stopped with SIGTERM and must exit 0 (under ASan: without leaks). Then
 * every log line must parse with the formats library, every transaction
 * must show up in all three services under one trace ID, the NDC paths
 * must nest (orders' parent is the gateway's call span, billing's parent
 * is orders' call span), and the deliberate failures (every 7th order)
 * must be there: 502 at the gateway, an ERROR with a multi-line message at
 * billing.
 *
 * w3c: w3c_test_service forwards POST /test's arguments to a receiver
 * served by this test (libmicrohttpd), with the same trace-id, a new
 * parent-id and the tracestate passed through.
 *
 * Usage (meson passes them): test_examples GATEWAY ORDERS BILLING W3C_TEST_SERVICE
 * Nothing here asserts on time; waits poll with generous caps.
 */
#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "th_file.h"
#include "th_proc.h"

#include "fmt/detect.h"
#include "fmt/record.h"
#include "fmt/str.h"

/* Checkouts sent through the chain; orders 7, 14, 21 and 28 fail. */
#define CHECKOUTS 30
#define FAILURES (CHECKOUTS / 7)
/* A transaction the first checkout brings along in its traceparent. */
#define IN_TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define IN_SPAN "00f067aa0ba902b7"
/* Most records kept per service log (about 6 per checkout, plus start and stop). */
#define RECS_MAX 1024
/* Longest decoded field kept. */
#define TEXT_MAX 512

static const char *prog_gateway, *prog_orders, *prog_billing, *prog_w3c;

/* ------------------------------------------------------------------------ processes */

/*
 * Start @argv with CLEW_FORMAT=@format and CLEW_OUTPUT=file:@log. The child
 * gets SIGTERM if this test process dies first (a failed assertion), so no
 * service outlives its test.
 */
static pid_t spawn(const char *const argv[], const char *format, const char *log)
{
	char format_env[64], output_env[620];
	const char *env[] = {format_env, output_env, "CLEW_LEVEL=info", "CLEW_SERVICE", NULL};

	snprintf(format_env, sizeof(format_env), "CLEW_FORMAT=%s", format);
	snprintf(output_env, sizeof(output_env), "CLEW_OUTPUT=file:%s", log);
	return th_spawn(argv, &(struct th_io){.keep_output = true, .die_with_parent = true, .env = env});
}

/* Wait until something accepts connections on 127.0.0.1:@port (at most ~30 s). */
static void wait_listening(unsigned port, pid_t pid)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	const struct timespec pause = {0, 10 * 1000 * 1000};

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	for (int i = 0; i < 3000; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0), rc;

		ck_assert_int_ge(fd, 0);
		rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
		if (rc == 0)
			return;
		ck_assert_msg(th_wait_for(pid, 0) == -1, "service on port %u exited at start", port);
		nanosleep(&pause, NULL);
	}
	ck_abort_msg("nothing listens on port %u", port);
}

/* SIGTERM @pid and wait: it must exit with status 0 (a clean shutdown). */
static void stop(pid_t pid, const char *name)
{
	int st;

	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	st = th_wait(pid);
	ck_assert_msg(st == 0, "%s: %s %d", name, st > 128 ? "signal" : "exit status",
		      st > 128 ? st - 128 : st);
}

/* ------------------------------------------------------------------------ HTTP client */

struct reply {
	char body[4096];
	size_t len;
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *cls)
{
	struct reply *r = cls;
	size_t n = size * nmemb, room = sizeof(r->body) - 1 - r->len;

	memcpy(r->body + r->len, p, n < room ? n : room);
	r->len += n < room ? n : room;
	r->body[r->len] = '\0';
	return n;
}

/* POST @body to @url with the extra @headers (NULL-terminated "Name: value"). Return: the HTTP status. */
static long post(const char *url, const char *body, const char *const *headers, struct reply *r)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	CURL *e = curl_easy_init();
	long status = 0;
	CURLcode cc;

	ck_assert_ptr_nonnull(e);
	for (size_t i = 0; headers && headers[i]; i++)
		h = curl_slist_append(h, headers[i]);
	r->len = 0;
	r->body[0] = '\0';
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	cc = curl_easy_perform(e);
	ck_assert_msg(cc == CURLE_OK, "POST %s: %s", url, curl_easy_strerror(cc));
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	curl_slist_free_all(h);
	return status;
}

/* GET @url. Return: the HTTP status. */
static long get(const char *url, struct reply *r)
{
	CURL *e = curl_easy_init();
	long status = 0;
	CURLcode cc;

	ck_assert_ptr_nonnull(e);
	r->len = 0;
	r->body[0] = '\0';
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	cc = curl_easy_perform(e);
	ck_assert_msg(cc == CURLE_OK, "GET %s: %s", url, curl_easy_strerror(cc));
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	return status;
}

/* ------------------------------------------------------------------------ reading the logs */

/* What the checks need of one record, decoded. */
struct rec {
	int format; /* enum fmt_format */
	int level;  /* enum fmt_level */
	bool span_record;
	char trace[TEXT_MAX], span[TEXT_MAX], parent[TEXT_MAX];
	char message[TEXT_MAX], name[TEXT_MAX], status[TEXT_MAX];
};

struct log {
	struct rec r[RECS_MAX];
	size_t n;
};

static void decode(const struct fmt_str *s, char out[TEXT_MAX])
{
	char tmp[8192];
	size_t n;

	if (!s->ptr || s->len >= sizeof(tmp)) {
		out[0] = '\0';
		return;
	}
	n = fmt_str_decode(s, tmp);
	n = n < TEXT_MAX - 1 ? n : TEXT_MAX - 1;
	memcpy(out, tmp, n);
	out[n] = '\0';
}

static void decode_attr(const struct fmt_record *fr, const char *key, char out[TEXT_MAX])
{
	const struct fmt_attr *a = fmt_record_attr(fr, key);

	if (a)
		decode(&a->val, out);
	else
		out[0] = '\0';
}

/* Read @path: every line must parse as a record of @want format. */
static void read_log(const char *path, int want, struct log *lg)
{
	static char line[65536];
	struct fmt_record fr;
	struct fmt_err err;
	FILE *f = fopen(path, "r");
	unsigned lineno = 0;

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	lg->n = 0;
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);
		struct rec *r;

		lineno++;
		ck_assert_msg(len && line[len - 1] == '\n', "%s:%u: line cut or not ended", path, lineno);
		line[--len] = '\0';
		ck_assert_msg(fmt_parse(line, len, &fr, &err) == 0, "%s:%u: does not parse (%s at %zu): %s",
			      path, lineno, err.what, err.offset, line);
		ck_assert_msg(fr.format == want, "%s:%u: wrong format", path, lineno);
		ck_assert_uint_lt(lg->n, RECS_MAX);
		r = &lg->r[lg->n++];
		r->format = fr.format;
		r->level = fr.level;
		r->span_record = fr.event == FMT_EVENT_SPAN;
		decode(&fr.trace, r->trace);
		decode(&fr.span, r->span);
		decode(&fr.parent, r->parent);
		decode(&fr.message, r->message);
		decode_attr(&fr, "name", r->name);
		decode_attr(&fr, "status", r->status);
	}
	fclose(f);
}

/* The record of @lg in @trace whose message starts with @prefix (the request's closing record). */
static const struct rec *closing(const struct log *lg, const char *trace, const char *prefix)
{
	const struct rec *found = NULL;

	for (size_t i = 0; i < lg->n; i++) {
		if (strcmp(lg->r[i].trace, trace) == 0 &&
		    strncmp(lg->r[i].message, prefix, strlen(prefix)) == 0) {
			ck_assert_msg(!found, "two closing records '%s' in trace %s", prefix, trace);
			found = &lg->r[i];
		}
	}
	ck_assert_msg(found != NULL, "no '%s' record in trace %s", prefix, trace);
	return found;
}

/* The span record named @name of @lg in @trace. */
static const struct rec *span_named(const struct log *lg, const char *trace, const char *name)
{
	for (size_t i = 0; i < lg->n; i++)
		if (lg->r[i].span_record && strcmp(lg->r[i].trace, trace) == 0 &&
		    strcmp(lg->r[i].name, name) == 0)
			return &lg->r[i];
	ck_abort_msg("no span record '%s' in trace %s", name, trace);
	return NULL;
}

static bool is_hex(const char *s, size_t len)
{
	if (strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return false;
	return true;
}

/* ------------------------------------------------------------------------ the chain */

static struct log gateway_log, orders_log, billing_log;

START_TEST(chain)
{
	char dir[512], glog[600], olog[600], blog[600];
	char gport[8], oport[8], bport[8], ourl[64], burl[64], url[64], body[128];
	unsigned gp, op, bp;
	pid_t g, o, b;
	struct reply rep;
	unsigned ok = 0, failed = 0, with_trace = 0, errors_multiline = 0;

	th_tmpdir(dir, sizeof(dir), NULL, "clew-examples");
	snprintf(glog, sizeof(glog), "%s/gateway.log", dir);
	snprintf(olog, sizeof(olog), "%s/orders.log", dir);
	snprintf(blog, sizeof(blog), "%s/billing.log", dir);
	bp = th_free_port();
	op = th_free_port();
	gp = th_free_port();
	snprintf(bport, sizeof(bport), "%u", bp);
	snprintf(oport, sizeof(oport), "%u", op);
	snprintf(gport, sizeof(gport), "%u", gp);
	snprintf(burl, sizeof(burl), "http://127.0.0.1:%u", bp);
	snprintf(ourl, sizeof(ourl), "http://127.0.0.1:%u", op);

	b = spawn((const char *const[]){prog_billing, "--port", bport, NULL}, "pipe", blog);
	wait_listening(bp, b);
	o = spawn((const char *const[]){prog_orders, "--port", oport, "--billing", burl, NULL}, "json", olog);
	wait_listening(op, o);
	g = spawn((const char *const[]){prog_gateway, "--port", gport, "--orders", ourl, NULL}, "pipe", glog);
	wait_listening(gp, g);

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/checkout", gp);
	for (int i = 1; i <= CHECKOUTS; i++) {
		const char *tp[] = {"traceparent: 00-" IN_TRACE "-" IN_SPAN "-01", NULL};
		long st;

		snprintf(body, sizeof(body), "{\"user\":\"u%d\",\"amount\":%d}", i % 5, 1000 + i);
		st = post(url, body, i == 1 ? tp : NULL, &rep);
		ck_assert_msg(st == (i % 7 == 0 ? 502 : 200), "checkout %d: %ld %s", i, st, rep.body);
	}
	/* A bad request is answered, logged, and goes no further. */
	ck_assert_int_eq(post(url, "{\"amount\":", NULL, &rep), 400);

	/* orders remembers what became of each order. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/orders/1", op);
	ck_assert_int_eq(get(url, &rep), 200);
	ck_assert_str_eq(rep.body, "{\"order\":1,\"status\":\"paid\"}");
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/orders/7", op);
	ck_assert_int_eq(get(url, &rep), 200);
	ck_assert_str_eq(rep.body, "{\"order\":7,\"status\":\"payment_failed\"}");
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/orders/%d", op, CHECKOUTS + 1);
	ck_assert_int_eq(get(url, &rep), 404);

	stop(g, "gateway");
	stop(o, "orders");
	stop(b, "billing");

	read_log(glog, FMT_PIPE, &gateway_log);
	read_log(olog, FMT_JSON, &orders_log);
	read_log(blog, FMT_PIPE, &billing_log);

	for (size_t i = 0; i < gateway_log.n; i++) {
		const struct rec *gw = &gateway_log.r[i], *gspan, *ord, *ospan, *bill;

		if (strncmp(gw->message, "POST /checkout -> ", 18) != 0 || strcmp(gw->status, "400") == 0)
			continue;
		ck_assert(is_hex(gw->trace, 32));
		/* The gateway's own work is a child of its caller's span, when there was a caller. */
		if (strcmp(gw->trace, IN_TRACE) == 0) {
			with_trace++;
			ck_assert_str_eq(gw->parent, IN_SPAN);
		} else {
			ck_assert_str_eq(gw->parent, "");
		}
		gspan = span_named(&gateway_log, gw->trace, "orders");
		ck_assert_str_eq(gspan->parent, gw->span);

		/* orders: its request is a child of the gateway's call span. */
		ord = closing(&orders_log, gw->trace, "POST /orders -> ");
		ck_assert_str_eq(ord->parent, gspan->span);
		ospan = span_named(&orders_log, gw->trace, "billing");
		ck_assert_str_eq(ospan->parent, ord->span);

		/* billing: a child of orders' call span. */
		bill = closing(&billing_log, gw->trace, "POST /charge -> ");
		ck_assert_str_eq(bill->parent, ospan->span);
		ck_assert_str_ne(bill->span, ospan->span);

		if (strcmp(gw->status, "200") == 0) {
			ok++;
			ck_assert_str_eq(gspan->status, "ok");
			ck_assert_str_eq(bill->status, "200");
		} else {
			failed++;
			ck_assert_str_eq(gw->status, "502");
			ck_assert_int_eq(gw->level, FMT_LEVEL_ERROR);
			ck_assert_str_eq(gspan->status, "error");
			ck_assert_str_eq(ospan->status, "error");
			ck_assert_str_eq(bill->status, "502");
		}
	}
	ck_assert_uint_eq(ok, CHECKOUTS - FAILURES);
	ck_assert_uint_eq(failed, FAILURES);
	ck_assert_uint_eq(with_trace, 1);

	/* billing's failures: an ERROR whose message is a stack trace over several lines. */
	for (size_t i = 0; i < billing_log.n; i++) {
		const struct rec *r = &billing_log.r[i];

		if (r->level == FMT_LEVEL_ERROR && strstr(r->message, "charge failed") &&
		    strstr(r->message, "\n    at "))
			errors_multiline++;
	}
	ck_assert_uint_eq(errors_multiline, FAILURES);
	th_remove_tree(dir);
}
END_TEST

/* ------------------------------------------------------------------------ W3C test service */

/* What the receiver got: one entry per POST. */
#define GOT_MAX 8
static struct {
	pthread_mutex_t lock;
	unsigned n;
	char traceparent[GOT_MAX][128];
	char tracestate[GOT_MAX][600];
	int traceparents[GOT_MAX]; /* how many traceparent headers came */
	char body[GOT_MAX][1024];
} got = {.lock = PTHREAD_MUTEX_INITIALIZER};

struct upload {
	char buf[1024];
	size_t len;
};

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	unsigned i = *(unsigned *)cls;

	(void)kind;
	if (strcasecmp(key, "traceparent") == 0) {
		got.traceparents[i]++;
		snprintf(got.traceparent[i], sizeof(got.traceparent[i]), "%s", value);
	} else if (strcasecmp(key, "tracestate") == 0) {
		snprintf(got.tracestate[i], sizeof(got.tracestate[i]), "%s", value);
	}
	return MHD_YES;
}

static enum MHD_Result receive(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			       const char *version, const char *data, size_t *size, void **con_cls)
{
	struct upload *up = *con_cls;
	struct MHD_Response *r;
	enum MHD_Result ok;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	if (!up) {
		*con_cls = up = calloc(1, sizeof(*up));
		return up ? MHD_YES : MHD_NO;
	}
	if (*size) {
		size_t n = *size < sizeof(up->buf) - 1 - up->len ? *size : sizeof(up->buf) - 1 - up->len;

		memcpy(up->buf + up->len, data, n);
		up->len += n;
		*size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&got.lock);
	if (got.n < GOT_MAX) {
		unsigned i = got.n++;

		MHD_get_connection_values(conn, MHD_HEADER_KIND, count_header, &i);
		memcpy(got.body[i], up->buf, up->len + 1);
	}
	pthread_mutex_unlock(&got.lock);
	r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	ok = MHD_queue_response(conn, 200, r);
	MHD_destroy_response(r);
	return ok;
}

static void receive_done(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode t)
{
	(void)cls;
	(void)conn;
	(void)t;
	free(*con_cls);
	*con_cls = NULL;
}

/* Split "00-TRACE-PARENT-FLAGS" into its parts; false when it is not that shape. */
static bool split_traceparent(const char *tp, char trace[33], char parent[17], char flags[3])
{
	if (strlen(tp) != 55 || strncmp(tp, "00-", 3) != 0 || tp[35] != '-' || tp[52] != '-')
		return false;
	memcpy(trace, tp + 3, 32);
	trace[32] = '\0';
	memcpy(parent, tp + 36, 16);
	parent[16] = '\0';
	memcpy(flags, tp + 53, 2);
	flags[2] = '\0';
	return is_hex(trace, 32) && is_hex(parent, 16) && is_hex(flags, 2);
}

START_TEST(w3c)
{
	static const char in_trace[] = "0af7651916cd43dd8448eb211c80319c", in_parent[] = "b7ad6b7169203331";
	static const char in_state[] = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
	char dir[512], log[600], sport[8], url[64], body[512];
	char trace[33], parent[17], flags[3], parents[2][17];
	unsigned rp = th_free_port(), sp = th_free_port();
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct MHD_Daemon *d;
	struct reply rep;
	pid_t s;

	th_tmpdir(dir, sizeof(dir), NULL, "clew-w3c");
	snprintf(log, sizeof(log), "%s/w3c.log", dir);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)rp);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)rp, NULL, NULL, receive, NULL,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED,
			     receive_done, NULL, MHD_OPTION_END);
	ck_assert_ptr_nonnull(d);

	snprintf(sport, sizeof(sport), "%u", sp);
	s = spawn((const char *const[]){prog_w3c, sport, NULL}, "pipe", log);
	wait_listening(sp, s);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/test", sp);

	/* A valid context: the same trace, a new parent-id per call, flags and tracestate passed on. */
	snprintf(body, sizeof(body),
		 "[{\"url\":\"http://127.0.0.1:%u/callback\",\"arguments\":{\"a\":1,\"b\":[true,null]}},"
		 "{\"url\":\"http://127.0.0.1:%u/callback\",\"arguments\":[]}]",
		 rp, rp);
	{
		const char *h[] = {"traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
				   "tracestate: congo=t61rcWkgMzE", "tracestate: rojo=00f067aa0ba902b7",
				   NULL};

		ck_assert_int_eq(post(url, body, h, &rep), 200);
	}
	pthread_mutex_lock(&got.lock);
	ck_assert_uint_eq(got.n, 2);
	for (unsigned i = 0; i < 2; i++) {
		ck_assert_int_eq(got.traceparents[i], 1);
		ck_assert_msg(split_traceparent(got.traceparent[i], trace, parent, flags),
			      "bad traceparent '%s'", got.traceparent[i]);
		ck_assert_str_eq(trace, in_trace);
		ck_assert_str_ne(parent, in_parent);
		ck_assert_str_ne(parent, "0000000000000000");
		ck_assert_str_eq(flags, "01");
		ck_assert_str_eq(got.tracestate[i], in_state);
		memcpy(parents[i], parent, sizeof(parent));
	}
	ck_assert_str_ne(parents[0], parents[1]); /* each call is its own span */
	{
		json_t *a = json_loads(got.body[0], JSON_DECODE_ANY, NULL),
		       *b = json_loads(got.body[1], JSON_DECODE_ANY, NULL);
		json_t *ea = json_pack("{s:i, s:[b,n]}", "a", 1, "b", 1), *eb = json_array();

		ck_assert_msg(a && json_equal(a, ea), "arguments 0 arrived as '%s'", got.body[0]);
		ck_assert_msg(b && json_equal(b, eb), "arguments 1 arrived as '%s'", got.body[1]);
		json_decref(a);
		json_decref(b);
		json_decref(ea);
		json_decref(eb);
	}
	got.n = 0;
	memset(got.traceparents, 0, sizeof(got.traceparents));
	memset(got.tracestate, 0, sizeof(got.tracestate));
	pthread_mutex_unlock(&got.lock);

	/* An invalid traceparent (all-zero trace-id): a new trace starts, the tracestate is dropped. */
	snprintf(body, sizeof(body), "[{\"url\":\"http://127.0.0.1:%u/callback\",\"arguments\":{}}]", rp);
	{
		const char *h[] = {"traceparent: 00-00000000000000000000000000000000-b7ad6b7169203331-01",
				   "tracestate: congo=t61rcWkgMzE", NULL};

		ck_assert_int_eq(post(url, body, h, &rep), 200);
	}
	pthread_mutex_lock(&got.lock);
	ck_assert_uint_eq(got.n, 1);
	ck_assert(split_traceparent(got.traceparent[0], trace, parent, flags));
	ck_assert_str_ne(trace, "00000000000000000000000000000000");
	ck_assert_str_ne(trace, in_trace);
	ck_assert_str_eq(got.tracestate[0], "");
	pthread_mutex_unlock(&got.lock);

	/* Two traceparent headers (the HTTP server keeps both): neither is trusted, a new trace starts. */
	{
		const char *h[] = {"traceparent: 00-12345678901234567890123456789011-1234567890123456-01",
				   "TraceParent: 00-12345678901234567890123456789012-1234567890123456-01",
				   NULL};

		ck_assert_int_eq(post(url, body, h, &rep), 200);
	}
	pthread_mutex_lock(&got.lock);
	ck_assert_uint_eq(got.n, 2);
	ck_assert(split_traceparent(got.traceparent[1], trace, parent, flags));
	ck_assert_str_ne(trace, "12345678901234567890123456789011");
	ck_assert_str_ne(trace, "12345678901234567890123456789012");
	pthread_mutex_unlock(&got.lock);

	/* Not a list: 400, and nothing is called. */
	ck_assert_int_eq(post(url, "{\"url\":1}", NULL, &rep), 400);

	stop(s, "w3c_test_service");
	MHD_stop_daemon(d);
	th_remove_tree(dir);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("examples");
	TCase *tc = tcase_create("services");
	SRunner *sr;
	int failed;

	if (argc != 5) {
		fprintf(stderr, "usage: %s GATEWAY ORDERS BILLING W3C_TEST_SERVICE\n", argv[0]);
		return 2;
	}
	prog_gateway = argv[1];
	prog_orders = argv[2];
	prog_billing = argv[3];
	prog_w3c = argv[4];
	curl_global_init(CURL_GLOBAL_DEFAULT);

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, chain);
	tcase_add_test(tc, w3c);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed ? 1 : 0;
}
