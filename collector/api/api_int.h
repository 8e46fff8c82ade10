/*
 * api/api_int.h - what the API's files share: a growing JSON buffer, and
 * the Jaeger trace built from a transaction's records (trace.c).
 */
#ifndef CD_API_INT_H
#define CD_API_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include <store/archive.h>
#include "query/filter.h"
#include "query/txns.h"

/* A growing output buffer; out of memory is remembered, not returned per call. */
struct jb {
	char *p;
	size_t len, cap;
	bool oom;
};

void jb_put(struct jb *b, const char *s, size_t n);
void jb_puts(struct jb *b, const char *s);
void jb_printf(struct jb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string of @s (NUL-terminated; NULL writes null), escaped by the formats library. */
void jb_str(struct jb *b, const char *s);
/* A JSON string of @n bytes at @s. */
void jb_strn(struct jb *b, const char *s, size_t n);
/* @s (NULL: nothing) as HTML text or attribute value: & < > " ' escaped, control bytes as U+FFFD. */
void jb_html(struct jb *b, const char *s);
void jb_free(struct jb *b);

struct api_worker;

struct cd_api {
	char *dir;		 /* the archive; NULL: none */
	struct cd_httpd *h;	 /* the server whose requests it answers (cd_api_attach()) */
	struct api_worker *work; /* the queries' thread (worker.c) */
	atomic_bool stopping;	 /* cd_api_quiesce(): queries stop short */
	struct qy_keys keys;	 /* the archive's summary keys: what a query reads its summaries with */
};

/* A query parameter: the request's GET arguments, copied (the query runs off the loop thread). */
struct api_arg {
	char *key, *value;
};

/*
 * An answer, made on the queries' thread and sent by the loop's (MHD
 * queues responses only from its handler): JSON, or an HTML page with the
 * pages' headers and @policy as its Content-Security-Policy.
 */
struct api_reply {
	unsigned status;
	bool html;
	bool drop;	/* out of memory: the connection is closed */
	char *policy;	/* html: its CSP */
	struct jb body; /* the bytes */
};

/* One request's state. */
struct req {
	struct cd_api *api;
	const struct api_arg *args; /* its GET arguments */
	size_t nargs;
	struct api_reply *out; /* its answer */
	int64_t t0;	       /* monotonic start, ns */
	arch *a;	       /* the archive, read-only (opened by api_load_newest()) */
	struct qy_keys keys;
	struct qy_filter f;
	struct qy_txns t; /* summaries read by api_load_newest() */
	struct jb b;	  /* the answer */
};

/* api_param() - GET argument @name of @r, or NULL when absent or empty. */
const char *api_param(const struct req *r, const char *name);
/* api_answer() - answer GET @url into r->out (api.c); api_req_release() then frees what it read. */
void api_answer(struct req *r, const char *url);
void api_req_release(struct req *r);
/* api_reply_json() - @b as r's answer, JSON with @status. Return: MHD_YES, or MHD_NO out of memory. */
enum MHD_Result api_reply_json(struct req *r, unsigned status, const struct jb *b);
/* api_reply_html() - @len bytes of HTML at @html as r's answer, with CSP @policy. */
enum MHD_Result api_reply_html(struct req *r, unsigned status, const char *html, size_t len,
			       const char *policy);
/* api_reply_send() - queue @o on @c (on the loop's thread, from MHD's handler). */
enum MHD_Result api_reply_send(struct MHD_Connection *c, const struct api_reply *o);
void api_reply_release(struct api_reply *o);
/* api_fail() - r's answer: Jaeger's error envelope with @status and @msg. Return: as api_reply_json(). */
enum MHD_Result api_fail(struct req *r, unsigned status, const char *msg);
/* api_parse_time() - a count of @unit_ns units (a time or a span of one) into *@ns. Return: 0 or -1. */
int api_parse_time(const char *s, int64_t unit_ns, int64_t *ns);
/* cd_api_worker_free() - stop and join the queries' thread (worker.c). */
void cd_api_worker_free(struct cd_api *api);
/* Whether @r has run past CD_API_BUDGET_MS. */
bool api_over_budget(const struct req *r);
/*
 * api_load_newest() - open the archive and read, with @r's keys and
 * filter, the summaries of its segments in the filter's since/until
 * widened by API_SLACK_NS (a transaction across the window's edge stays
 * whole) into r->t, for a search that shows only the @newest
 * latest-starting matches (0: all): older segments are read only while
 * they may hold one (arch_summaries_newest()).
 * Return: 0, or a negative CD code with @msg (@cap bytes) saying why.
 */
int api_load_newest(struct req *r, size_t newest, char *msg, size_t cap);

/* How far a transaction's records may lie from its start (tracegrep's FIND_SLACK_NS). */
#define API_SLACK_NS (INT64_C(300) * 1000000000)

/* api_dependencies() - GET /api/dependencies (deps.c). */
enum MHD_Result api_dependencies(struct req *r);

/* api_page() - GET /: the search page (page.c). */
enum MHD_Result api_page(struct req *r);
/* api_page_reply() - an HTML page of @status around @body (already HTML), as r's answer. */
enum MHD_Result api_page_reply(struct req *r, unsigned status, const char *body);

/*
 * api_trace_json() - append transaction @trace of archive @a as one Jaeger
 * trace object ({"traceID","spans","processes","warnings"}) to @b.
 * Return: 1 written, 0 no record has that trace, or -CD_ENOMEM / -CD_EIO.
 */
int api_trace_json(arch *a, const char *trace, struct jb *b);

/*
 * api_trace_html() - transaction @trace as the waterfall page
 * (render/waterfall.h, tracegrep --html's page) around @m, appended to @b.
 * Return: as api_trace_json().
 */
struct wf_meta;
int api_trace_html(arch *a, const char *trace, const struct wf_meta *m, struct jb *b);

/*
 * api_trace_edges() - @cb(@arg, parent service, child service) for each
 * span of transaction @trace whose parent span ran in another service
 * (the tree /api/traces/{id} shows). A negative @cb return stops and is
 * returned. Return: 1, 0 (no record has that trace), or a negative CD code.
 */
int api_trace_edges(arch *a, const char *trace, int (*cb)(void *arg, const char *parent, const char *child),
		    void *arg);

/* api_trace_page() - GET /trace/{id}: the waterfall page of @id (page.c). */
enum MHD_Result api_trace_page(struct req *r, const char *id);

#endif
