/*
 * render/waterfall.h - one transaction as a self-contained HTML waterfall
 * page: the one renderer of tracegrep --html and clewd's /trace/{id}.
 *
 * The caller describes the spans (in preorder: a span after its parent,
 * a subtree contiguous), each span's tags and log records; the page puts
 * every bar on one time axis with a ruler, colours services, indents
 * names by depth, and (with its inline script) folds subtrees and shows
 * a span's tags and logs in a panel on click. Without scripts the rows,
 * bars and ruler still show.
 *
 * Every string is copied and made safe when added: control characters
 * (ESC included) and invalid UTF-8 become visible escapes (\e, \x07,
 * \u009b); then HTML-escaped in the rows and JSON-escaped (with <, >, &
 * and U+2028/9 as \u escapes) in the page's data blob, so log text can
 * neither add markup nor end the script. Nothing is fetched: the page's
 * Content-Security-Policy (wf_csp()) allows only its own inline style
 * and its one script, by hash.
 *
 * Not thread-safe per page; distinct pages are independent.
 */
#ifndef RENDER_WATERFALL_H
#define RENDER_WATERFALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Spans a page takes at most; the ones after are counted and named in a note (a runaway trace). */
#ifndef WF_SPANS_MAX
#define WF_SPANS_MAX 100000
#endif

struct wf_page;

/* One span as the caller sees it; strings are copied (NULL: absent). */
struct wf_span_spec {
	const char *id;	     /* span ID (the root's is the transaction ID) */
	int parent;	     /* index of an earlier span (its wf_span() answer), -1 for a top */
	const char *service; /* its service, or NULL */
	const char *name;    /* its operation as shown, or NULL (then "span") */
	const char *status;  /* its status, or NULL */
	bool has_time;	     /* start_ns/end_ns are known */
	int64_t start_ns;    /* start, ns since the epoch */
	int64_t end_ns;	     /* end, >= start */
	bool error;	     /* failed: its bar is red */
	bool critical;	     /* on the critical path: marked */
	int64_t shift_ns;    /* moved this far for clock skew (0: not moved) */
};

/* wf_page_new() - an empty page, or NULL when out of memory. */
struct wf_page *wf_page_new(void);
/* wf_page_free() - free @p (NULL is fine). */
void wf_page_free(struct wf_page *p);

/*
 * wf_span() - add span @s (its parent, if any, added before it and the
 * spans between them in its subtree). Tags and logs added next belong to it.
 * Return: its index, or -1 (out of memory, or past WF_SPANS_MAX: counted).
 */
int wf_span(struct wf_page *p, const struct wf_span_spec *s);
/* wf_tag() - a tag (attribute) @key=@val (@vlen bytes) of the last span. Return: 0 or -1. */
int wf_tag(struct wf_page *p, const char *key, const char *val, size_t vlen);
/*
 * wf_log() - a log record of the last span at @ts_ns (0: unknown), its
 * @level name (NULL: none) and message (@mlen bytes, line breaks kept:
 * a stack trace shows as lines). Return: 0 or -1.
 */
int wf_log(struct wf_page *p, int64_t ts_ns, const char *level, const char *msg, size_t mlen, bool error);
/* wf_log_field() - a key=value of the last log record. Return: 0 or -1. */
int wf_log_field(struct wf_page *p, const char *key, size_t klen, const char *val, size_t vlen);

/* What surrounds the waterfall; strings are escaped when written (NULL: none). */
struct wf_meta {
	const char *title;    /* the <title> */
	const char *heading;  /* the <h1> */
	const char *trace;    /* the transaction ID, in the summary line */
	const char *note;     /* one more line of the summary (clock-skew corrections...) */
	const char *back_url; /* a link "search" to this (same-origin path), or NULL */
	const char *json_url; /* a link "JSON" to this, or NULL */
};

/*
 * wf_render() - the whole page (HTML, UTF-8) in a new malloc'd buffer at
 * *@out (NUL-terminated, *@len bytes without it; the caller frees it).
 * Return: 0, or -1 when out of memory (nothing at *@out).
 */
int wf_render(const struct wf_page *p, const struct wf_meta *m, char **out, size_t *len);

/*
 * wf_csp() - the page's Content-Security-Policy (as in its <meta>), for a
 * server to send as a header too: default-src 'none', inline style, the
 * page's script by its SHA-256. Static storage; thread-safe after the
 * first call.
 */
const char *wf_csp(void);

#ifdef __cplusplus
}
#endif

#endif
