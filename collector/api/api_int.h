/*
 * api/api_int.h - what the API's files share: a growing JSON buffer, and
 * the Jaeger trace built from a transaction's records (trace.c).
 */
#ifndef CD_API_INT_H
#define CD_API_INT_H

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

struct cd_api {
	char *dir; /* the archive; NULL: none */
};

/* One request's state. */
struct req {
	struct cd_api *api;
	struct MHD_Connection *c;
	int64_t t0; /* monotonic start, ns */
	arch *a;    /* the archive, read-only (opened by api_load()) */
	struct qy_keys keys;
	struct qy_filter f;
	struct qy_txns t; /* summaries read by api_load() */
	struct jb b;	  /* the answer */
};

int64_t api_mono_ns(void);
/* Whether @r has run past CD_API_BUDGET_MS. */
bool api_over_budget(const struct req *r);
/*
 * api_load() - open the archive and read the summaries of its segments in
 * [@since, @until] with @r's keys and filter into r->t.
 * Return: 0, or a negative CD code with @msg (@cap bytes) saying why.
 */
int api_load(struct req *r, int64_t since, int64_t until, char *msg, size_t cap);
/*
 * api_load_newest() - as api_load(), for a search that shows only the
 * @newest latest-starting matches (0: all): older segments are read only
 * while they may hold one (arch_summaries_newest()).
 */
int api_load_newest(struct req *r, int64_t since, int64_t until, size_t newest, char *msg, size_t cap);

/* api_page() - GET /: the search page (page.c). */
enum MHD_Result api_page(struct req *r);
/* api_page_reply() - an HTML page of @status around @body (already HTML), with the page's headers. */
enum MHD_Result api_page_reply(struct MHD_Connection *c, unsigned status, const char *body);

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

/* api_trace_page() - GET /trace/{id}: the waterfall page of @id (page.c). */
enum MHD_Result api_trace_page(struct req *r, const char *id);

#endif
