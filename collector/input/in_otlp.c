/*
 * input/in_otlp.c - the otlp input: OpenTelemetry's OTLP/HTTP. POST
 * /v1/traces, /v1/logs and /v1/metrics, protobuf (application/x-protobuf)
 * or JSON (application/json), gzip or not; spans, span events, log
 * records and data points become clew records (the otlp library,
 * formats/otlp.md).
 *
 * DESIGN: libmicrohttpd on the loop (httpd.h), the body and the answers'
 * headers through input/http_body.c like the http input. A complete body
 * is decoded by otlp_decode() into clew JSON lines, which go to the
 * intake (input/intake.h): the answer is given only in the intake's
 * done(), so a 200 means what the `ack` option says (durable: in the
 * write-ahead log, fsync'd). Until then the connection is suspended
 * (MHD_suspend_connection) and resumed by done().
 *
 * Answers, per the OTLP/HTTP specification: 200 with an
 * Export*ServiceResponse in the request's encoding (a partial_success
 * with the count of rejected items and why, when some were); 400 with a
 * google.rpc.Status saying why, for a body that does not decode; 404 for
 * other paths; 405 for other methods; 413 for a body past
 * CD_HTTP_BODY_MAX (before or after gzip); 415 for another Content-Type
 * or Content-Encoding; 429 + Retry-After when `max_pending` requests
 * already wait for their acknowledgement; 503 + Retry-After while the
 * pipeline holds its inputs back, the intake refuses, or clewd stops.
 * A sender retries 429 and 503 (the spec's retryable codes), never 400.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <otlp/otlp.h>

#include "httpd.h"
#include "input/handoff.h"
#include "input/http_body.h"
#include "input/in_net.h"
#include "input/intake.h"
#include "pipeline.h"
#include "util/metrics.h"
#include "util/net.h"
#include "util/util.h"
#include "util/banned.h"

#define OTLP_LISTEN_DEFAULT "127.0.0.1:4318"

/* Answers counted, by status (index into otlp_state.answers). */
enum { A200, A400, A404, A405, A413, A415, A429, A503, A_N };
static const unsigned statuses[A_N] = {200, 400, 404, 405, 413, 415, 429, 503};

static const char *const signals[] = {"traces", "logs", "metrics"};

/* Where a request is. */
enum { RQ_BODY, RQ_WAIT, RQ_ACKED };

struct otlp_state;

struct otlp_req {
	struct http_body body;
	struct otlp_state *st;
	struct MHD_Connection *c;
	struct otlp_req *prev, *next; /* the requests waiting for done() */
	enum otlp_kind kind;
	enum otlp_encoding enc;
	int phase;	   /* RQ_* */
	int status;	   /* done()'s */
	bool suspended;	   /* the connection is suspended until done() */
	uint64_t rejected; /* items rejected by the decode */
	const char *why;   /* why (static) */
};

struct otlp_state {
	struct pipeline *pl;
	unsigned idx;
	const char *listen;
	struct cd_httpd *h;
	struct intake *in;
	struct otlp_out out;	  /* the lines of the request being decoded */
	struct otlp_req *waiting; /* requests waiting for done() */
	unsigned nwaiting;
	uint64_t max_pending;
	bool stopped;
	uint64_t answers[A_N];
	uint64_t items[3], records[3], rejected[3];
};

static int index_of(unsigned status)
{
	for (int i = 0; i < A_N; i++)
		if (statuses[i] == status)
			return i;
	return A400;
}

static const char *ctype(enum otlp_encoding enc)
{
	return enc == OTLP_JSON ? "application/json" : "application/x-protobuf";
}

/* An error answer: a google.rpc.Status in @rq's encoding (text when the request has none yet). */
static enum MHD_Result refuse(struct otlp_state *st, struct MHD_Connection *c, const struct otlp_req *rq,
			      unsigned status, const char *why)
{
	char body[1024];
	size_t n;
	int code = status == 400 ? 3 : status == 503 ? 14 : status == 429 || status == 413 ? 8 : 5;
	unsigned hdrs = (status == 405 ? HTTP_ALLOW_POST : 0) |
			(status == 429 || status == 503 ? HTTP_RETRY_AFTER : 0);

	st->answers[index_of(status)]++;
	if (!rq)
		return http_reply(c, status, "text/plain; charset=utf-8", why, strlen(why), hdrs);
	n = otlp_status(rq->enc, code, why, body, sizeof(body));
	return http_reply(c, status, ctype(rq->enc), body, n, hdrs);
}

static void unlink_waiting(struct otlp_req *rq)
{
	struct otlp_state *st = rq->st;

	if (rq->prev)
		rq->prev->next = rq->next;
	else if (st->waiting == rq)
		st->waiting = rq->next;
	if (rq->next)
		rq->next->prev = rq->prev;
	rq->prev = rq->next = NULL;
	st->nwaiting--;
}

/* The intake's answer: the records are safe (status 0) or not. */
static void on_done(void *arg, int status)
{
	struct otlp_req *rq = arg;

	rq->status = status;
	rq->phase = RQ_ACKED;
	if (rq->suspended) {
		unlink_waiting(rq);
		rq->suspended = false;
		cd_httpd_resume(rq->st->h, rq->c); /* MHD calls on_request() again: the answer goes then */
	}
}

/* The answer once done() has spoken. */
static enum MHD_Result answer_acked(struct otlp_state *st, struct MHD_Connection *c, struct otlp_req *rq)
{
	char body[1024];
	size_t n;

	/* -CD_EAGAIN (busy) and a log that cannot be written alike: 503 is what OTLP senders retry */
	if (rq->status < 0)
		return refuse(st, c, rq, 503, "the records could not be kept; retry");
	n = otlp_response(rq->kind, rq->enc, rq->rejected, rq->why, body, sizeof(body));
	st->answers[A200]++;
	return http_reply(c, 200, ctype(rq->enc), body, n, 0);
}

static enum MHD_Result on_headers(struct otlp_state *st, struct MHD_Connection *c, const char *url,
				  const char *method, void **con_cls)
{
	const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	struct otlp_req *rq;
	size_t tl = type ? strcspn(type, "; \t") : 0;
	int kind = -1;
	unsigned bad;

	for (int i = 0; i < 3; i++)
		if (strncmp(url, "/v1/", 4) == 0 && strcmp(url + 4, signals[i]) == 0)
			kind = i;
	if (kind < 0)
		return refuse(st, c, NULL, 404, "not found: POST to /v1/traces, /v1/logs or /v1/metrics\n");
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
		return refuse(st, c, NULL, 405, "method not allowed: POST an OTLP export request\n");
	rq = calloc(1, sizeof(*rq));
	if (!rq)
		return MHD_NO;
	rq->st = st;
	rq->c = c;
	rq->kind = (enum otlp_kind)kind;
	if (type && tl == 16 && strncasecmp(type, "application/json", 16) == 0) {
		rq->enc = OTLP_JSON;
	} else if (!type || tl != 22 || strncasecmp(type, "application/x-protobuf", 22) != 0) {
		free(rq);
		return refuse(st, c, NULL, 415,
			      "unsupported Content-Type: application/x-protobuf or application/json\n");
	}
	if (st->stopped || pl_backpressure(st->pl)) {
		enum MHD_Result r = refuse(
			st, c, rq, 503, "busy: the collector's outputs are behind, or it is stopping; retry");
		free(rq);
		return r;
	}
	if ((bad = http_body_headers(c, &rq->body)) != 0) {
		enum MHD_Result r = refuse(st, c, rq, bad,
					   bad == 413 ? "body too large"
						      : "unsupported Content-Encoding: gzip or identity");
		free(rq);
		return r;
	}
	*con_cls = rq;
	return MHD_YES;
}

/* The body is in: decode, hand over, and answer now or in done(). */
static enum MHD_Result on_body(struct otlp_state *st, struct MHD_Connection *c, struct otlp_req *rq)
{
	struct otlp_result res;
	unsigned bad;
	char peer[128];
	int rc;

	if (rq->body.too_big)
		return refuse(st, c, rq, 413, "body too large");
	if (rq->body.gzip && (bad = http_body_gunzip(&rq->body)) != 0)
		return refuse(st, c, rq, bad,
			      bad == 413 ? "body too large once decompressed"
					 : "the gzip body does not decode");
	if (st->stopped || pl_backpressure(st->pl))
		return refuse(st, c, rq, 503,
			      "busy: the collector's outputs are behind, or it is stopping; retry");
	if (st->nwaiting >= st->max_pending)
		return refuse(st, c, rq, 429, "too many requests wait for their acknowledgement; retry");
	st->out.len = 0;
	rc = otlp_decode(rq->kind, rq->enc, rq->body.buf, rq->body.len, &st->out, &res);
	if (rc < 0) {
		char why[160], off[24];

		snprintf(why, sizeof(why), "undecodable %s request: %s at byte %zu",
			 rq->enc == OTLP_JSON ? "JSON" : "protobuf", res.why ? res.why : "error", res.offset);
		snprintf(off, sizeof(off), "%zu", res.offset);
		cd_log(FMT_LEVEL_WARN, "otlp request refused", "input", "otlp", "listen", st->listen,
		       "signal", signals[rq->kind], "reason", res.why ? res.why : "error", "offset", off,
		       NULL);
		return refuse(st, c, rq, 400, why);
	}
	st->items[rq->kind] += res.items;
	st->records[rq->kind] += res.records;
	st->rejected[rq->kind] += res.rejected;
	rq->rejected = res.rejected;
	rq->why = res.rejected ? res.why : NULL;
	if (res.rejected) {
		char n[24];

		snprintf(n, sizeof(n), "%llu", (unsigned long long)res.rejected);
		cd_log(FMT_LEVEL_WARN, "otlp items rejected", "input", "otlp", "signal", signals[rq->kind],
		       "rejected", n, "reason", res.why, NULL);
	}
	http_body_free(&rq->body); /* the lines are in st->out */
	http_peer_name(c, "otlp", peer, sizeof(peer));
	rq->phase = RQ_WAIT;
	rc = st->out.len ? intake_submit(st->in, peer, st->out.buf, st->out.len, on_done, rq) : 0;
	if (rc == -CD_EAGAIN) {
		rq->phase = RQ_BODY;
		return refuse(st, c, rq, 503, "busy: the collector cannot take more now; retry");
	}
	if (rc < 0) {
		rq->phase = RQ_BODY;
		return refuse(st, c, rq, 503, "the records could not be taken; retry");
	}
	if (!st->out.len)
		rq->phase = RQ_ACKED; /* nothing to keep: answered at once */
	if (rq->phase == RQ_ACKED)
		return answer_acked(st, c, rq);
	/* done() comes later (the write-ahead log's fsync): wait for it */
	rq->suspended = true;
	rq->next = st->waiting;
	if (st->waiting)
		st->waiting->prev = rq;
	st->waiting = rq;
	st->nwaiting++;
	MHD_suspend_connection(c);
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct otlp_state *st = cls;
	struct otlp_req *rq = *con_cls;

	(void)version;
	if (!rq)
		return on_headers(st, c, url, method, con_cls);
	if (rq->phase == RQ_ACKED)
		return answer_acked(st, c, rq); /* resumed by done() */
	if (rq->phase == RQ_WAIT)
		return MHD_YES;
	if (*upload_data_size) {
		http_body_take(&rq->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	return on_body(st, c, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct otlp_req *rq = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (!rq)
		return;
	if (rq->phase == RQ_WAIT) {
		intake_cancel(rq->st->in, rq);
		if (rq->suspended)
			unlink_waiting(rq);
	}
	http_body_free(&rq->body);
	free(rq);
	*con_cls = NULL;
}

static bool otlp_tick(void *state, int64_t now)
{
	struct otlp_state *st = state;
	bool more;

	/* requests are served from the loop's fd callback; large bodies also need these runs */
	more = !st->stopped && cd_httpd_run(st->h);
	return intake_tick(st->in, now) || more;
}

static bool otlp_done(void *state)
{
	(void)state;
	return false;
}

static void otlp_stop(void *state)
{
	struct otlp_state *st = state;

	if (st->stopped)
		return;
	st->stopped = true;
	intake_stop(st->in); /* the waiting requests are answered on the drain's MHD runs */
	cd_httpd_run(st->h);
}

/* Reload, this input unchanged: as in_http.c, the listening socket goes to the new pipeline's twin. */
static void otlp_hand_over(void *state, struct in_handoff *h)
{
	struct otlp_state *st = state;
	int fd;

	otlp_stop(st);
	if ((fd = cd_httpd_quiesce(st->h)) >= 0)
		in_handoff_put_listener(h, 0, &fd, NULL);
}

static void otlp_metrics(void *state, struct metrics *m, const char *label)
{
	struct otlp_state *st = state;
	char lab[512], v[8];

	for (int a = 0; a < A_N; a++) {
		snprintf(lab, sizeof(lab), "%s", label ? label : "");
		snprintf(v, sizeof(v), "%u", statuses[a]);
		metrics_label(lab, sizeof(lab), "code", v);
		metrics_add(m, "clewd_input_otlp_requests_total", METRICS_COUNTER,
			    "Requests answered by an otlp input, by status", lab, (double)st->answers[a]);
	}
	for (int k = 0; k < 3; k++) {
		snprintf(lab, sizeof(lab), "%s", label ? label : "");
		metrics_label(lab, sizeof(lab), "signal", signals[k]);
		metrics_add(m, "clewd_input_otlp_items_total", METRICS_COUNTER,
			    "Spans, log records and data points an otlp input read", lab,
			    (double)st->items[k]);
		metrics_add(m, "clewd_input_otlp_records_total", METRICS_COUNTER,
			    "Records an otlp input made of them (span events included)", lab,
			    (double)st->records[k]);
		metrics_add(m, "clewd_input_otlp_rejected_total", METRICS_COUNTER,
			    "Items an otlp input rejected (answered as partial success)", lab,
			    (double)st->rejected[k]);
	}
	intake_metrics(st->in, m, label);
}

static int otlp_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_input_conf *ic,
		     struct cd_err *err)
{
	struct otlp_state *st = calloc(1, sizeof(*st));
	struct cd_httpd_opts o;
	struct in_handoff *kept;
	char port[8], name[300];
	uint64_t maxc;
	int rc;

	if (!st)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	st->pl = pl;
	st->idx = idx;
	st->listen = cd_opt_get(&ic->opts, "listen");
	cd_opt_u64(&ic->opts, "max_connections", CD_NET_CONNECTIONS_DEFAULT, CD_NET_CONNECTIONS_MAX, &maxc,
		   NULL);
	cd_opt_u64(&ic->opts, "max_pending", 1024, 1u << 20, &st->max_pending, NULL); /* checked by check() */
	snprintf(name, sizeof(name), "otlp:%s", st->listen);
	memset(&o, 0, sizeof(o));
	if ((kept = in_handoff_take(ic)) && kept->fd[0] >= 0) {
		o.kept_fd = kept->fd[0]; /* reload: the old server's listener */
		kept->fd[0] = -1;
	}
	in_handoff_free(kept);
	if ((rc = intake_open(&st->in, pl, idx, ic, name, err)) < 0) {
		if (o.kept_fd > 0)
			close(o.kept_fd);
		free(st);
		return rc;
	}
	o.max_connections = (unsigned)maxc;
	o.completed = on_completed;
	o.completed_cls = st;
	rc = cd_httpd_start_opts(&st->h, pl, st->listen, on_request, st, &o, err);
	if (rc < 0) {
		intake_close(st->in);
		free(st);
		return rc;
	}
	snprintf(port, sizeof(port), "%u", (unsigned)cd_httpd_port(st->h));
	cd_log(cd_net_is_loopback(st->listen) ? FMT_LEVEL_INFO : FMT_LEVEL_WARN,
	       o.kept_fd > 0 ? "listening (kept across the reload)"
	       : cd_net_is_loopback(st->listen)
		       ? "listening"
		       : "listening beyond loopback: any host that reaches it can send records",
	       "input", "otlp", "listen", st->listen, "port", port, "ack",
	       intake_durable(st->in) ? "durable" : "memory", NULL);
	*state = st;
	return 0;
}

static void otlp_close(void *state)
{
	struct otlp_state *st = state;
	char n[3][24];

	if (!st)
		return;
	st->stopped = true;
	/* MHD must not stop with suspended connections: whatever still waits is answered 503 */
	while (st->waiting) {
		struct otlp_req *rq = st->waiting;

		intake_cancel(st->in, rq);
		on_done(rq, -CD_EAGAIN);
	}
	cd_httpd_run(st->h);
	cd_httpd_stop(st->h);
	intake_close(st->in);
	snprintf(n[0], sizeof(n[0]), "%llu", (unsigned long long)st->answers[A200]);
	snprintf(n[1], sizeof(n[1]), "%llu",
		 (unsigned long long)(st->answers[A400] + st->answers[A404] + st->answers[A405] +
				      st->answers[A413] + st->answers[A415]));
	snprintf(n[2], sizeof(n[2]), "%llu", (unsigned long long)(st->answers[A429] + st->answers[A503]));
	cd_log(FMT_LEVEL_INFO, "input closed", "input", "otlp", "listen", st->listen, "accepted", n[0],
	       "refused", n[1], "busy", n[2], NULL);
	otlp_out_free(&st->out);
	free(st);
}

static const struct in_plugin in_otlp = {
	.open = otlp_open,
	.tick = otlp_tick,
	.done = otlp_done,
	.stop = otlp_stop,
	.hand_over = otlp_hand_over,
	.metrics = otlp_metrics,
	.close = otlp_close,
};

static const struct cd_opt_spec otlp_opts[] = {
	{"listen", CD_OPT_STRING, OTLP_LISTEN_DEFAULT, "IPV4:PORT, [IPV6]:PORT or PORT (127.0.0.1)", NULL, 0,
	 0},
	{"max_connections", CD_OPT_UINT, "256", "open connections at most (1..65536)", NULL,
	 CD_NET_CONNECTIONS_MAX, 0},
	{"max_pending", CD_OPT_UINT, "1024",
	 "requests waiting for their acknowledgement at most (then 429 + Retry-After)", NULL, 1u << 20, 0},
	INTAKE_OPTS,
	CD_OPT_REFUSE("read_from", "read_from is for tail inputs, not otlp"),
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

extern const struct cd_plugin_desc in_otlp_desc;

static int otlp_check(struct cd_opts *o, struct cd_err *err)
{
	const char *l = cd_opt_get(o, "listen");
	uint64_t v;
	int rc;

	if ((!l || !*l) && (rc = cd_opt_set(o, "listen", OTLP_LISTEN_DEFAULT, err)) < 0)
		return rc;
	if (cd_opt_get(o, "path"))
		return cd_opt_fail(o, "path",
				   "the otlp input's paths are /v1/traces, /v1/logs and /v1/metrics", err);
	if ((rc = cd_opt_u64(o, "max_pending", 1024, 1u << 20, &v, err)) < 0)
		return rc;
	if (v == 0)
		return cd_opt_fail(o, "max_pending", "must be at least 1", err);
	return in_net_check(o, &in_otlp_desc, err);
}

const struct cd_plugin_desc in_otlp_desc = {
	.name = "otlp",
	.scheme = "otlp",
	.usage = "otlp://HOST:PORT",
	.summary = "OpenTelemetry OTLP/HTTP: POST /v1/traces, /v1/logs, /v1/metrics (protobuf or JSON)",
	.opts = otlp_opts,
	.flags = CD_PLUGIN_NET,
	.check = otlp_check,
	.in = &in_otlp,
};
