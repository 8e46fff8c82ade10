/*
 * input/in_http.c - the http input: POSTed bodies of lines (ndjson, or
 * any line format the parsers take).
 *
 * DESIGN: libmicrohttpd on the loop (httpd.h): handlers run on the loop
 * thread; the body, its gzip decoding and the answers' headers are
 * input/http_body.c's, shared with the otlp input. A POST to the configured path is read whole into memory (at
 * most CD_HTTP_BODY_MAX, after gzip decoding when Content-Encoding says
 * gzip), then handed to a source of its own (pl_source_feed()) that is
 * ended at once (pl_source_end()): the body's lines go through the same
 * line cutting, splitting, multiline join and parsing as a file's, its
 * last line needs no newline, and no line joins another request's.
 *
 * Answers: 204 once every record of the body is safe as the input's
 * `ack` says (input/intake.h: durable, in the write-ahead log and
 * fsync'd — the request waits, suspended, for its group commit —
 * or memory, in the chunk being filled); 413 past CD_HTTP_BODY_MAX; 405 (Allow:
 * POST) for other methods; 404 for other paths; 415 for a
 * Content-Encoding other than gzip or identity; 400 for a gzip body that
 * does not decode; 503 with Retry-After while the pipeline holds its
 * inputs back or clewd is stopping: the client keeps the body and sends
 * it again, rather than clewd buffering without bound. Content is never
 * refused: a line no parser takes (binary, invalid UTF-8, a NUL) is kept
 * as a raw record like any other input's.
 *
 * The guarantee of a 204 with ack: durable is that the records are on
 * disk: delivered to every output at least once, whatever happens to
 * clewd after. With ack: memory they are delivered unless clewd is
 * killed (or its drain times out) before their chunk is delivered.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Counted answers, by status (index into http_state.answers). */
enum http_answer { ANS_204, ANS_400, ANS_404, ANS_405, ANS_413, ANS_415, ANS_503, ANS_507, ANS_N };

static const struct {
	unsigned status;  /* the HTTP status */
	const char *body; /* a short text/plain reason */
} answers[ANS_N] = {
	[ANS_204] = {204, ""},
	[ANS_400] = {400, "the gzip body does not decode\n"},
	[ANS_404] = {404, "not found: POST lines to the configured path\n"},
	[ANS_405] = {405, "method not allowed: POST lines (ndjson) here\n"},
	[ANS_413] = {413, "body too large\n"},
	[ANS_415] = {415, "unsupported Content-Encoding: gzip or identity\n"},
	[ANS_503] = {503, "busy: the collector's outputs are behind, or it is stopping; retry\n"},
	[ANS_507] = {507, "the collector cannot write its write-ahead log; retry\n"},
};

/* Where a request is with the intake. */
enum req_state { RQ_BODY, RQ_WAITING, RQ_ANSWER };

struct http_req {
	struct http_state *st;	  /* its input */
	struct MHD_Connection *c; /* its connection (suspended while RQ_WAITING) */
	enum req_state state;	  /* reading the body, waiting for the commit, to be answered */
	enum http_answer answer;  /* RQ_ANSWER: what */
	bool suspended;		  /* MHD_suspend_connection() was called */
	struct http_body body;	  /* what was received (input/http_body.h) */
};

struct http_state {
	struct pipeline *pl;	   /* the pipeline */
	unsigned idx;		   /* input index */
	const char *listen, *path; /* its address and URL path (the configuration's) */
	struct cd_httpd *h;	   /* the server */
	struct intake *intake;	   /* where bodies go */
	bool stopped;		   /* stop() ran: 503 from now on */
	uint64_t answers[ANS_N];   /* requests answered, by status */
};

static enum MHD_Result answer(struct http_state *st, struct MHD_Connection *c, enum http_answer a)
{
	st->answers[a]++;
	return http_reply(c, answers[a].status, a == ANS_204 ? NULL : "text/plain; charset=utf-8",
			  answers[a].body, strlen(answers[a].body),
			  (a == ANS_405 ? HTTP_ALLOW_POST : 0) |
				  (a == ANS_503 || a == ANS_507 ? HTTP_RETRY_AFTER : 0));
}

/* The answer of an HTTP status of http_body.h. */
static enum http_answer by_status(unsigned status)
{
	return status == 400 ? ANS_400 : status == 413 ? ANS_413 : ANS_415;
}

/* The headers are in: route, and refuse what can be refused before the body. */
static enum MHD_Result on_headers(struct http_state *st, struct MHD_Connection *c, const char *url,
				  const char *method, void **con_cls)
{
	struct http_req *rq;
	unsigned bad;

	if (strcmp(url, st->path) != 0)
		return answer(st, c, ANS_404);
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
		return answer(st, c, ANS_405);
	if (st->stopped || pl_backpressure(st->pl))
		return answer(st, c, ANS_503);
	rq = calloc(1, sizeof(*rq));
	if (!rq)
		return MHD_NO;
	if ((bad = http_body_headers(c, &rq->body)) != 0) {
		free(rq);
		return answer(st, c, by_status(bad));
	}
	rq->st = st;
	rq->c = c;
	*con_cls = rq;
	return MHD_YES;
}

/* intake_done_fn: the request's records are safe (0) or could not be made so. */
static void on_safe(void *arg, int status)
{
	struct http_req *rq = arg;

	rq->state = RQ_ANSWER;
	rq->answer = status == 0 ? ANS_204 : status == -CD_EAGAIN ? ANS_503 : ANS_507;
	if (rq->suspended) {
		rq->suspended = false;
		cd_httpd_resume(rq->st->h, rq->c); /* MHD calls on_request() again: the answer goes then */
	}
}

/* The body is in: its lines to the intake, then wait (suspended) for them to be safe, or say why not. */
static enum MHD_Result on_body(struct http_state *st, struct MHD_Connection *c, struct http_req *rq)
{
	unsigned bad;
	char name[128];
	int rc;

	if (rq->body.too_big)
		return answer(st, c, ANS_413);
	if (rq->body.gzip && (bad = http_body_gunzip(&rq->body)) != 0)
		return answer(st, c, by_status(bad));
	/* the outputs may have fallen behind while the body came */
	if (st->stopped)
		return answer(st, c, ANS_503);
	http_peer_name(c, "http", name, sizeof(name));
	rq->state = RQ_WAITING;
	rc = intake_submit(st->intake, name, rq->body.buf, rq->body.len, on_safe, rq);
	if (rc < 0) {
		rq->state = RQ_BODY;
		return answer(st, c, ANS_503);
	}
	if (rq->state == RQ_ANSWER) /* memory: safe already */
		return answer(st, c, rq->answer);
	rq->suspended = true;
	MHD_suspend_connection(c);
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct http_state *st = cls;
	struct http_req *rq = *con_cls;

	(void)version;
	if (!rq)
		return on_headers(st, c, url, method, con_cls);
	if (rq->state == RQ_ANSWER)
		return answer(st, c, rq->answer);
	if (rq->state == RQ_WAITING)
		return MHD_YES; /* not yet (a spurious call while suspended) */
	if (*upload_data_size) {
		/* past the cap: keep reading (MHD cannot answer mid-body), answer 413 at the end */
		http_body_take(&rq->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	return on_body(st, c, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_req *rq = *con_cls;

	(void)c;
	(void)toe;
	if (!rq)
		return;
	intake_cancel(((struct http_state *)cls)->intake, rq); /* a closed connection waits for nothing */
	http_body_free(&rq->body);
	free(rq);
	*con_cls = NULL;
}

static bool http_tick(void *state, int64_t now)
{
	struct http_state *st = state;

	bool more;

	/* requests are served from the loop's fd callback; large bodies also need these runs */
	more = !st->stopped && cd_httpd_run(st->h);
	return intake_tick(st->intake, now) || more;
}

static bool http_done(void *state)
{
	(void)state;
	return false;
}

static void http_stop(void *state)
{
	struct http_state *st = state;

	if (st->stopped)
		return;
	st->stopped = true;
	intake_stop(st->intake); /* the waiting requests are answered on the drain's MHD runs */
	cd_httpd_run(st->h);
}

/*
 * Reload, this input unchanged: stop as stop() does (requests under way
 * are answered during the drain, new ones get 503) and hand the listening
 * socket to the new pipeline's twin: a client connecting meanwhile waits
 * in the backlog, never refused. Idle keep-alive connections close with
 * the old server (the client connects again).
 */
static void http_hand_over(void *state, struct in_handoff *h)
{
	struct http_state *st = state;
	int fd;

	http_stop(st);
	if ((fd = cd_httpd_quiesce(st->h)) >= 0)
		in_handoff_put_listener(h, 0, &fd, NULL);
}

static void http_metrics(void *state, struct metrics *m, const char *label)
{
	const struct http_state *st = state;
	char lab[512], code[8];

	for (int a = 0; a < ANS_N; a++) {
		snprintf(lab, sizeof(lab), "%s", label ? label : "");
		snprintf(code, sizeof(code), "%u", answers[a].status);
		metrics_label(lab, sizeof(lab), "code", code);
		metrics_add(m, "clewd_input_http_requests_total", METRICS_COUNTER,
			    "Requests answered by an http input, by status", lab, (double)st->answers[a]);
	}
	intake_metrics(st->intake, m, label);
}

static int http_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_input_conf *ic,
		     struct cd_err *err)
{
	struct http_state *st = calloc(1, sizeof(*st));
	struct cd_httpd_opts o;
	struct in_handoff *kept;
	char port[8], name[160];
	uint64_t maxc;
	int rc;

	if (!st)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	st->pl = pl;
	st->idx = idx;
	st->listen = cd_opt_get(&ic->opts, "listen");
	st->path = cd_opt_get(&ic->opts, "path");
	memset(&o, 0, sizeof(o));
	cd_opt_u64(&ic->opts, "max_connections", CD_NET_CONNECTIONS_DEFAULT, CD_NET_CONNECTIONS_MAX, &maxc,
		   NULL); /* checked by in_net_check() */
	o.max_connections = (unsigned)maxc;
	o.completed = on_completed;
	o.completed_cls = st;
	if ((kept = in_handoff_take(ic)) && kept->fd[0] >= 0) {
		o.kept_fd = kept->fd[0];
		kept->fd[0] = -1;
	}
	in_handoff_free(kept);
	snprintf(name, sizeof(name), "http:%s", st->listen);
	rc = intake_open(&st->intake, pl, idx, ic, name, err);
	if (rc < 0) {
		if (o.kept_fd > 0)
			close(o.kept_fd);
		free(st);
		return rc;
	}
	rc = cd_httpd_start_opts(&st->h, pl, st->listen, on_request, st, &o, err);
	if (rc < 0) {
		intake_close(st->intake);
		free(st);
		return rc;
	}
	snprintf(port, sizeof(port), "%u", (unsigned)cd_httpd_port(st->h));
	if (o.kept_fd > 0)
		cd_log(FMT_LEVEL_INFO, "listening (kept across the reload)", "input", "http", "listen",
		       st->listen, "port", port, "url", st->path, NULL);
	else if (!cd_net_is_loopback(st->listen))
		cd_log(FMT_LEVEL_WARN, "listening beyond loopback: any host that reaches it can send records",
		       "input", "http", "listen", st->listen, "port", port, "url", st->path, NULL);
	else
		cd_log(FMT_LEVEL_INFO, "listening", "input", "http", "listen", st->listen, "port", port,
		       "url", st->path, NULL);
	*state = st;
	return 0;
}

static void http_close(void *state)
{
	struct http_state *st = state;
	char n[3][24];

	if (!st)
		return;
	cd_httpd_stop(st->h);
	intake_close(st->intake);
	snprintf(n[0], sizeof(n[0]), "%llu", (unsigned long long)st->answers[ANS_204]);
	snprintf(n[1], sizeof(n[1]), "%llu",
		 (unsigned long long)(st->answers[ANS_400] + st->answers[ANS_404] + st->answers[ANS_405] +
				      st->answers[ANS_413] + st->answers[ANS_415]));
	snprintf(n[2], sizeof(n[2]), "%llu",
		 (unsigned long long)(st->answers[ANS_503] + st->answers[ANS_507]));
	cd_log(FMT_LEVEL_INFO, "input closed", "input", "http", "listen", st->listen, "accepted", n[0],
	       "refused", n[1], "busy", n[2], NULL);
	free(st);
}

static const struct in_plugin in_http = {
	.open = http_open,
	.tick = http_tick,
	.done = http_done,
	.stop = http_stop,
	.hand_over = http_hand_over,
	.metrics = http_metrics,
	.close = http_close,
};

static const struct cd_opt_spec http_opts[] = {
	{"listen", CD_OPT_STRING, NULL, "IPV4:PORT, [IPV6]:PORT, PORT (127.0.0.1) or unix:PATH (required)",
	 NULL, 0, 0},
	{"path", CD_OPT_STRING, "/", "the URL path POSTs go to", NULL, 0, 0},
	{"max_connections", CD_OPT_UINT, "256", "open connections at most (1..65536)", NULL,
	 CD_NET_CONNECTIONS_MAX, 0},
	INTAKE_OPTS,
	CD_OPT_REFUSE("read_from", "read_from is for tail inputs, not http"),
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

extern const struct cd_plugin_desc in_http_desc;

static int http_check(struct cd_opts *o, struct cd_err *err)
{
	return in_net_check(o, &in_http_desc, err);
}

const struct cd_plugin_desc in_http_desc = {
	.name = "http",
	.scheme = "http",
	.usage = "http://HOST:PORT/PATH",
	.summary = "POST bodies of lines (ndjson)",
	.opts = http_opts,
	.flags = CD_PLUGIN_NET,
	.check = http_check,
	.in = &in_http,
};
