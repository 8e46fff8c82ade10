/*
 * render_html.c - --html FILE: the selected tree as the waterfall page of
 * render/waterfall.h (the same page clewd serves at /trace/{id}).
 *
 * DESIGN: the spans go to the page in the tree's render order (preorder,
 * children by start, times already corrected for clock skew); a span's
 * tags are its method and path and the attributes of its event=span
 * record; each of its other records is a log (time shifted with the
 * span, level, message with its continuation lines, key=values). The
 * page makes every string safe and escapes it; nothing here writes HTML.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/str.h"
#include "render/tree_page.h"
#include "tg.h"
#include "banned.h"

static void tag_view(struct wf_page *p, const struct fmt_str *k, const struct fmt_str *v)
{
	char *ks = tg_view_dup(k), *vs = tg_view_dup(v);

	wf_tag(p, ks ? ks : "", vs ? vs : "", vs ? strlen(vs) : 0);
	free(ks);
	free(vs);
}

static void field_view(struct wf_page *p, const struct fmt_str *k, const struct fmt_str *v)
{
	char *ks = tg_view_dup(k), *vs = tg_view_dup(v);

	wf_log_field(p, ks ? ks : "", ks ? strlen(ks) : 0, vs ? vs : "", vs ? strlen(vs) : 0);
	free(ks);
	free(vs);
}

/* Span @s's tags (before its logs: the page keeps them apart) and records. */
static void span_details(struct wf_page *p, const struct tg_view *v, const struct qy_span *s,
			 struct fmt_record *r)
{
	struct tg_buf msg = {0};

	if (s->method)
		wf_tag(p, "http.method", s->method, strlen(s->method));
	if (s->path)
		wf_tag(p, "http.target", s->path, strlen(s->path));
	for (size_t j = 0; j < s->nrecs; j++) {
		const struct tg_rec *rec = &v->recs->v[s->recs[j]];

		if (rec->event != FMT_EVENT_SPAN || tg_rec_parse(rec, r) != 0)
			continue;
		for (uint16_t k = 0; k < r->nattrs; k++)
			tag_view(p, &r->attrs[k].key, &r->attrs[k].val);
		break; /* the first span record is the one the tree took */
	}
	for (size_t j = 0; j < s->nrecs; j++) {
		const struct tg_rec *rec = &v->recs->v[s->recs[j]];
		bool e = rec->level >= FMT_LEVEL_ERROR && rec->level <= FMT_LEVEL_FATAL;
		char *m;

		if (rec->event == FMT_EVENT_SPAN || tg_rec_parse(rec, r) != 0)
			continue;
		m = tg_view_dup(&r->message);
		msg.len = 0;
		if (m)
			tg_buf_puts(&msg, m);
		if (r->cont.ptr) {
			tg_buf_putc(&msg, '\n');
			tg_buf_put(&msg, r->cont.ptr, r->cont.len);
		}
		free(m);
		wf_log(p, rec->has_ts ? rec->ts_ns + s->adj_ns : 0,
		       rec->level ? fmt_level_name(rec->level) : NULL, msg.data ? msg.data : "", msg.len, e);
		for (uint16_t k = 0; k < r->nattrs; k++)
			field_view(p, &r->attrs[k].key, &r->attrs[k].val);
	}
	tg_buf_free(&msg);
}

/* What span_details() needs beside the span: the view, and a record to parse into. */
struct html_ctx {
	const struct tg_view *v;
	struct fmt_record *r;
};

static void html_details(void *ctx, struct wf_page *p, const struct qy_span *s)
{
	struct html_ctx *d = ctx;

	span_details(p, d->v, s, d->r);
}

int tg_render_html(const struct tg_view *v, FILE *f)
{
	const struct qy_tree *t = v->tree;
	struct wf_page *p = wf_page_new();
	struct html_ctx d = {v, tg_xmalloc(sizeof(*d.r))};
	struct tg_buf heading = {0}, note = {0};
	struct wf_meta m = {0};
	char *page = NULL;
	size_t len = 0;
	int rc = 0;

	if (!p) {
		fputs("tracegrep: out of memory\n", stderr);
		exit(2);
	}
	if (wf_page_add_tree(p, t, html_details, &d) < 0) {
		fputs("tracegrep: out of memory\n", stderr);
		exit(2);
	}
	tg_buf_printf(&heading, "%s %s", t->top == t->root ? "transaction" : "span", t->spans[t->top].id);
	tg_buf_printf(&note, "%zu clock-skew corrections", t->nshifts);
	tg_buf_putc(&heading, 0);
	tg_buf_putc(&note, 0);
	m.title = heading.data;
	m.heading = heading.data;
	m.trace = t->trace;
	m.note = t->nshifts ? note.data : NULL;
	if (wf_render(p, &m, &page, &len) < 0) {
		fputs("tracegrep: out of memory\n", stderr);
		exit(2);
	}
	if (len && fwrite(page, 1, len, f) != len)
		rc = -TG_EIO;
	free(page);
	tg_buf_free(&heading);
	tg_buf_free(&note);
	wf_page_free(p);
	free(d.r);
	return rc;
}
