/*
 * render_html.c - --html FILE: one self-contained page with the waterfall.
 *
 * DESIGN: the page works offline and without scripts: every span is a row
 * rendered here (a <div class="row" data-span="ID">, its bar placed with
 * percentages), its log records (offset, level, message, key=values,
 * continuation lines) in a <pre> under it. Inline CSS styles it;
 * a few lines of inline JS fold a span's records on click and mark the
 * body data-ready="1" (the headless-browser test checks that it ran).
 * No URL, font or script is loaded from anywhere. All log text is
 * HTML-escaped after being made safe (controls shown as escapes).
 */
#include <stdlib.h>
#include <string.h>

#include "fmt/str.h"
#include "tg.h"
#include "banned.h"

static const char style[] =
	"body{font:13px/1.4 ui-monospace,Menlo,Consolas,monospace;margin:16px;background:#fff;color:#222}"
	"h1{font-size:16px;margin:0 0 4px}.sum{color:#666;margin-bottom:12px}"
	".row{display:flex;align-items:center;border-bottom:1px solid #eee;cursor:pointer;min-height:20px}"
	".row:hover{background:#f5f8ff}.lab{width:38%;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}"
	".num{width:90px;text-align:right;padding-right:8px;color:#555}.st{width:60px;padding-left:6px}"
	".tl{position:relative;flex:1;height:14px;background:#fafafa}"
	".bar{position:absolute;top:2px;height:10px;background:#5b9bd5;min-width:2px;border-radius:2px}"
	".crit .bar{background:#e0a000}.err .bar{background:#d9534f}.err .lab,.err .st{color:#c9302c}"
	".svc{font-weight:bold}.skew{color:#a66a00;font-size:12px;padding-left:24px}"
	"pre.recs{margin:0 0 4px;padding:4px 8px;background:#f7f7f7;white-space:pre-wrap;overflow-wrap:anywhere;font-size:12px}"
	"pre.recs i{font-style:normal;color:#777}"
	"pre.recs .e{color:#c9302c;font-weight:bold}.folded{display:none}";

static const char script[] =
	"document.querySelectorAll('.row').forEach(function(r){"
	"r.addEventListener('click',function(){var p=document.getElementById('r-'+r.dataset.idx);"
	"if(p)p.classList.toggle('folded');});});"
	"document.body.dataset.ready='1';";

static void esc(struct tg_buf *b, const char *s)
{
	if (s)
		tg_buf_put_html(b, s, strlen(s));
}

/* A view's decoded value, HTML-escaped. */
static void put_view(struct tg_buf *b, const struct fmt_str *v)
{
	char *s = tg_view_dup(v);

	esc(b, s);
	free(s);
}

static void dur(struct tg_buf *b, int64_t ns)
{
	tg_buf_printf(b, "%.3f ms", (double)ns / 1e6);
}

int tg_render_html(const struct tg_view *v, FILE *f)
{
	const struct tg_tree *t = v->tree;
	struct fmt_record *r = tg_xmalloc(sizeof(*r));
	double total = (double)(t->t1 - t->t0);
	struct tg_buf b = {0};
	int rc;

	if (total <= 0)
		total = 1;
	tg_buf_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
			"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
			"style-src 'unsafe-inline'; script-src 'unsafe-inline'\"><title>tracegrep ");
	esc(&b, v->query->text);
	tg_buf_printf(&b, "</title><style>%s</style></head><body>\n<h1>", style);
	tg_buf_puts(&b, t->top == t->root ? "transaction " : "span ");
	esc(&b, t->spans[t->top].id);
	tg_buf_puts(&b, "</h1><div class=\"sum\">transaction ");
	esc(&b, t->trace);
	tg_buf_puts(&b, " &middot; ");
	dur(&b, t->t1 - t->t0);
	tg_buf_printf(&b, " &middot; %zu spans &middot; %zu clock-skew corrections</div>\n<div id=\"wf\">\n",
		      t->norder, t->nshifts);
	for (size_t i = 0; i < t->norder; i++) {
		const struct tg_span *s = &t->spans[t->order[i]];
		double left = 100.0 * (double)(s->start_ns - t->t0) / total;
		double width = 100.0 * (double)(s->end_ns - s->start_ns) / total;
		bool any = false;

		tg_buf_printf(&b, "<div class=\"row%s%s\" data-idx=\"%zu\" data-span=\"",
			      s->critical ? " crit" : "", s->error ? " err" : "", i);
		esc(&b, s->id);
		tg_buf_printf(&b, "\"><span class=\"lab\" style=\"padding-left:%dpx\">%s<span class=\"svc\">",
			      s->depth * 16, s->critical ? "&#9733; " : "");
		esc(&b, s->service);
		tg_buf_puts(&b, "</span> ");
		if (s->name)
			esc(&b, s->name);
		else if (s->method || s->path) {
			esc(&b, s->method);
			tg_buf_putc(&b, ' ');
			esc(&b, s->path);
		} else
			tg_buf_puts(&b, t->order[i] == t->root ? "transaction" : "span");
		tg_buf_puts(&b, " <small>");
		esc(&b, s->id);
		tg_buf_puts(&b, "</small></span><span class=\"num\">+");
		dur(&b, s->start_ns - t->t0);
		tg_buf_puts(&b, "</span><span class=\"num\">");
		dur(&b, s->end_ns - s->start_ns);
		tg_buf_puts(&b, "</span><span class=\"st\">");
		esc(&b, s->status ? s->status : "-");
		tg_buf_printf(
			&b,
			"</span><span class=\"tl\"><span class=\"bar\" style=\"left:%.3f%%;width:%.3f%%\">"
			"</span></span></div>\n",
			left < 0     ? 0
			: left > 100 ? 100
				     : left,
			width < 0     ? 0
			: width > 100 ? 100
				      : width);
		if (s->shift_ns) {
			tg_buf_puts(&b, "<div class=\"skew\">clock skew: moved ");
			dur(&b, s->shift_ns);
			tg_buf_puts(&b, " into its parent's window</div>\n");
		}
		for (size_t j = 0; j < s->nrecs; j++) {
			const struct tg_rec *rec = &v->recs->v[s->recs[j]];
			bool e = rec->level >= FMT_LEVEL_ERROR && rec->level <= FMT_LEVEL_FATAL;

			if (rec->event == FMT_EVENT_SPAN || tg_rec_parse(rec, r) != 0)
				continue;
			if (!any)
				tg_buf_printf(&b, "<pre class=\"recs\" id=\"r-%zu\">", i);
			any = true;
			tg_buf_printf(&b, "%s+", e ? "<span class=\"e\">" : "");
			dur(&b, rec->ts_ns + s->adj_ns - t->t0);
			tg_buf_printf(&b, " %-5s ", rec->level ? fmt_level_name(rec->level) : "");
			put_view(&b, &r->message);
			for (uint16_t k = 0; k < r->nattrs; k++) {
				tg_buf_puts(&b, " <i>");
				put_view(&b, &r->attrs[k].key);
				tg_buf_puts(&b, "</i>=");
				put_view(&b, &r->attrs[k].val);
			}
			if (r->cont.ptr) {
				tg_buf_putc(&b, '\n');
				tg_buf_put_html(&b, r->cont.ptr, r->cont.len);
			}
			tg_buf_puts(&b, e ? "</span>\n" : "\n");
		}
		if (any)
			tg_buf_puts(&b, "</pre>\n");
	}
	tg_buf_printf(&b, "</div>\n<script>%s</script>\n</body></html>\n", script);
	rc = tg_buf_write(&b, f);
	tg_buf_free(&b);
	free(r);
	return rc;
}
