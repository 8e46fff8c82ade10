/*
 * render_term.c - the waterfall on a terminal, and --lines.
 *
 * DESIGN: one row per selected span, depth-first with children by start:
 * a critical-path mark, the start offset from the top span, the duration,
 * the status, the tree-indented service and name (or method and path),
 * then a bar placed on a common time scale. The span's log records follow
 * it, indented, with their offset, level, message, attributes and
 * continuation lines. A span moved for clock skew gets a note line.
 * Every byte from a log goes through tg_buf_put_safe(), so nothing in a
 * log can move the cursor, retitle the window or inject colour; colour
 * (our own SGR sequences only) is used when the view says so.
 */
#include <stdlib.h>
#include <string.h>

#include "fmt/record.h"
#include "fmt/str.h"
#include "tg.h"
#include "banned.h"

#define SGR_RESET "\x1b[0m"
#define SGR_DIM "\x1b[2m"
#define SGR_BOLD "\x1b[1m"
#define SGR_RED "\x1b[31m"
#define SGR_YELLOW "\x1b[33m"
#define SGR_CYAN "\x1b[36m"
#define SGR_GREEN "\x1b[32m"

static void color(struct tg_buf *b, const struct tg_view *v, const char *sgr)
{
	if (v->color)
		tg_buf_puts(b, sgr);
}

/* Shared with render_find.c's table (tg.h): one form of durations on the terminal. */
void tg_buf_put_dur(struct tg_buf *b, int64_t ns)
{
	int64_t a = ns < 0 ? -ns : ns;
	const char *sign = ns < 0 ? "-" : "";

	if (a < 1000000)
		tg_buf_printf(b, "%s%lldus", sign, (long long)(a / 1000));
	else if (a < 1000000000)
		tg_buf_printf(b, "%s%lld.%03lldms", sign, (long long)(a / 1000000),
			      (long long)(a / 1000 % 1000));
	else
		tg_buf_printf(b, "%s%lld.%03llds", sign, (long long)(a / 1000000000),
			      (long long)(a / 1000000 % 1000));
}

/* Shared with render_find.c's table (tg.h). */
void tg_buf_pad_to(struct tg_buf *b, size_t start, size_t w)
{
	size_t cols = 0, i = start;

	for (; i < b->len; i++) {
		if (((unsigned char)b->data[i] & 0xc0) == 0x80)
			continue;
		if (cols == w)
			break;
		cols++;
	}
	if (i < b->len) {
		/* Too wide: cut, ending in an ellipsis. */
		size_t j = i;

		do
			j--;
		while (j > start && ((unsigned char)b->data[j] & 0xc0) == 0x80);
		b->len = j;
		tg_buf_puts(b, "~");
		return;
	}
	while (cols++ < w)
		tg_buf_putc(b, ' ');
}

static void span_label(struct tg_buf *b, const struct qy_span *s)
{
	if (s->service) {
		tg_buf_put_safe(b, s->service, strlen(s->service), false);
		tg_buf_putc(b, ' ');
	}
	if (s->name) {
		tg_buf_put_safe(b, s->name, strlen(s->name), false);
	} else if (s->method || s->path) {
		if (s->method)
			tg_buf_put_safe(b, s->method, strlen(s->method), false);
		if (s->method && s->path)
			tg_buf_putc(b, ' ');
		if (s->path)
			tg_buf_put_safe(b, s->path, strlen(s->path), false);
	} else {
		tg_buf_put_safe(b, s->id, strlen(s->id), false);
	}
}

static void put_bar(struct tg_buf *b, const struct tg_view *v, const struct qy_span *s, int cells)
{
	const struct qy_tree *t = v->tree;
	int64_t total = t->t1 - t->t0;
	int a = 0, z = cells;

	if (s->has_time && total > 0) {
		a = (int)((double)(s->start_ns - t->t0) * cells / (double)total);
		z = (int)(((double)(s->end_ns - t->t0) * cells + (double)total - 1) / (double)total);
	}
	a = a < 0 ? 0 : a >= cells ? cells - 1 : a;
	z = z <= a ? a + 1 : z > cells ? cells : z;
	tg_buf_putc(b, '|');
	for (int i = 0; i < a; i++)
		tg_buf_putc(b, ' ');
	color(b, v, s->error ? SGR_RED : s->critical ? SGR_YELLOW : SGR_CYAN);
	for (int i = a; i < z; i++)
		tg_buf_putc(b, s->critical ? '#' : '=');
	color(b, v, SGR_RESET);
	for (int i = z; i < cells; i++)
		tg_buf_putc(b, ' ');
	tg_buf_putc(b, '|');
}

/* The lines of s[0, n), each on its own row under a record, indented and made safe. */
static void put_more_lines(struct tg_buf *b, const struct tg_view *v, const struct tg_rec *rec, const char *s,
			   size_t n, size_t indent)
{
	const char *nl;

	for (const char *p = s, *e = s + n; p < e; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(e - p));
		if (!nl)
			nl = e;
		for (size_t i = 0; i < indent + 11 + 7; i++)
			tg_buf_putc(b, ' ');
		color(b, v,
		      rec->level >= FMT_LEVEL_ERROR && rec->level <= FMT_LEVEL_FATAL ? SGR_RED : SGR_DIM);
		tg_buf_put_safe(b, p, (size_t)(nl - p) - (nl > p && nl[-1] == '\r'), true);
		color(b, v, SGR_RESET);
		tg_buf_putc(b, '\n');
	}
}

static void put_record(struct tg_buf *b, const struct tg_view *v, const struct qy_span *s,
		       const struct tg_rec *rec, struct fmt_record *r, size_t indent)
{
	const char *nl = NULL;
	char *tmp, *msg = NULL;
	size_t start, msg_len = 0;

	if (tg_rec_parse(rec, r) != 0)
		return;
	for (size_t i = 0; i < indent; i++)
		tg_buf_putc(b, ' ');
	color(b, v, SGR_DIM);
	start = b->len;
	tg_buf_putc(b, '+');
	tg_buf_put_dur(b, rec->ts_ns + s->adj_ns - v->tree->t0);
	tg_buf_pad_to(b, start, 11);
	color(b, v, SGR_RESET);
	if (rec->level >= FMT_LEVEL_ERROR && rec->level <= FMT_LEVEL_FATAL)
		color(b, v, SGR_RED SGR_BOLD);
	else if (rec->level == FMT_LEVEL_WARN)
		color(b, v, SGR_YELLOW);
	start = b->len;
	if (r->level_text.ptr) {
		tmp = tg_view_dup(&r->level_text);
		tg_buf_put_safe(b, tmp, strlen(tmp), false);
		free(tmp);
	} else if (rec->event == FMT_EVENT_METRIC) {
		tg_buf_puts(b, "METRIC");
	}
	tg_buf_pad_to(b, start, 6);
	tg_buf_putc(b, ' ');
	if (r->message.ptr) {
		/* A message with line breaks (an escaped stack trace): its first line here, the rest below. */
		msg = tg_xmalloc(r->message.len + 1);
		msg_len = fmt_str_decode(&r->message, msg);
		nl = memchr(msg, '\n', msg_len);
		tg_buf_put_safe(b, msg, nl ? (size_t)(nl - msg) : msg_len, false);
	}
	color(b, v, SGR_RESET);
	color(b, v, SGR_DIM);
	for (uint16_t i = 0; i < r->nattrs; i++) {
		const struct fmt_attr *a = &r->attrs[i];
		size_t kn, vn;

		tmp = tg_xmalloc(a->key.len + a->val.len + 1);
		kn = fmt_str_decode(&a->key, tmp);
		vn = fmt_str_decode(&a->val, tmp + kn);
		tg_buf_putc(b, ' ');
		tg_buf_put_safe(b, tmp, kn, false);
		tg_buf_putc(b, '=');
		tg_buf_put_safe(b, tmp + kn, vn, false);
		free(tmp);
	}
	color(b, v, SGR_RESET);
	tg_buf_putc(b, '\n');
	if (msg && nl)
		put_more_lines(b, v, rec, nl + 1, msg_len - (size_t)(nl + 1 - msg), indent);
	free(msg);
	/* Continuation lines: each on its own row, indented, made safe. */
	if (r->cont.ptr)
		put_more_lines(b, v, rec, r->cont.ptr, r->cont.len, indent);
}

int tg_render_term(const struct tg_view *v, FILE *f)
{
	const struct qy_tree *t = v->tree;
	const struct qy_span *top = &t->spans[t->top];
	struct fmt_record *r = tg_xmalloc(sizeof(*r));
	struct tg_buf b = {0}, lab = {0};
	size_t nrecs = 0, services = 0;
	int bar = v->width / 3, label;
	int rc;

	for (size_t i = 0; i < v->recs->n; i++)
		nrecs += tg_view_rec_selected(v, i);
	for (size_t i = 0; i < t->norder; i++)
		services += t->spans[t->order[i]].service && tg_tree_first_of_service(t, i);
	if (bar < 20)
		bar = 20;
	label = v->width - bar - 2 - (2 + 11 + 11 + 8);
	if (label < 24)
		label = 24;

	color(&b, v, SGR_BOLD);
	if (t->top == t->root)
		tg_buf_puts(&b, "transaction ");
	else
		tg_buf_puts(&b, "span ");
	tg_buf_put_safe(&b, top->id, strlen(top->id), false);
	color(&b, v, SGR_RESET);
	if (t->top != t->root) {
		/* IDs come from the logs: a JSON line's trace may hold any text, escapes included */
		tg_buf_puts(&b, " in transaction ");
		tg_buf_put_safe(&b, t->trace, strlen(t->trace), false);
	}
	tg_buf_puts(&b, ": ");
	tg_buf_put_dur(&b, t->t1 - t->t0);
	tg_buf_printf(&b, ", %zu span%s, %zu service%s, %zu record%s", t->norder, t->norder == 1 ? "" : "s",
		      services, services == 1 ? "" : "s", nrecs, nrecs == 1 ? "" : "s");
	if (t->nshifts)
		tg_buf_printf(&b, ", %zu clock-skew correction%s", t->nshifts, t->nshifts == 1 ? "" : "s");
	tg_buf_putc(&b, '\n');
	color(&b, v, SGR_DIM);
	{
		size_t start = b.len;

		tg_buf_puts(&b, "  start      duration   status  span");
		tg_buf_pad_to(&b, start, (size_t)(2 + 11 + 11 + 8 + label));
		tg_buf_puts(&b, "  (* critical path)\n");
	}
	color(&b, v, SGR_RESET);

	for (size_t i = 0; i < t->norder; i++) {
		const struct qy_span *s = &t->spans[t->order[i]];
		size_t start;

		if (s->critical)
			color(&b, v, SGR_BOLD);
		tg_buf_puts(&b, s->critical ? "* " : "  ");
		start = b.len;
		tg_buf_putc(&b, '+');
		tg_buf_put_dur(&b, s->has_time ? s->start_ns - t->t0 : 0);
		tg_buf_pad_to(&b, start, 11);
		start = b.len;
		tg_buf_put_dur(&b, s->has_time ? s->end_ns - s->start_ns : 0);
		tg_buf_pad_to(&b, start, 11);
		if (s->critical)
			color(&b, v, SGR_RESET);
		if (s->error)
			color(&b, v, SGR_RED SGR_BOLD);
		else if (s->status)
			color(&b, v, SGR_GREEN);
		start = b.len;
		if (s->status)
			tg_buf_put_safe(&b, s->status, strlen(s->status), false);
		else
			tg_buf_putc(&b, '-');
		tg_buf_pad_to(&b, start, 7);
		tg_buf_putc(&b, ' ');
		color(&b, v, SGR_RESET);
		lab.len = 0;
		for (int d = 0; d < s->depth; d++)
			tg_buf_puts(&lab, d + 1 == s->depth ? "`-" : "  ");
		span_label(&lab, s);
		tg_buf_pad_to(&lab, 0, (size_t)label);
		if (s->error)
			color(&b, v, SGR_RED);
		tg_buf_put(&b, lab.data, lab.len);
		color(&b, v, SGR_RESET);
		tg_buf_putc(&b, ' ');
		put_bar(&b, v, s, bar);
		tg_buf_putc(&b, '\n');
		if (s->shift_ns) {
			for (int d = 0; d < 2 + 11 + 11 + 8 + 2 * s->depth; d++)
				tg_buf_putc(&b, ' ');
			color(&b, v, SGR_YELLOW);
			tg_buf_puts(&b, "~ clock skew: moved ");
			if (s->shift_ns > 0)
				tg_buf_putc(&b, '+');
			tg_buf_put_dur(&b, s->shift_ns);
			tg_buf_puts(&b, " into its parent's window (with everything under it)");
			color(&b, v, SGR_RESET);
			tg_buf_putc(&b, '\n');
		}
		for (size_t j = 0; j < s->nrecs; j++) {
			const struct tg_rec *rec = &v->recs->v[s->recs[j]];

			if (rec->event == FMT_EVENT_SPAN)
				continue; /* it is the row itself */
			put_record(&b, v, s, rec, r, (size_t)(2 + 11 + 2 * s->depth + 2));
		}
	}
	rc = tg_buf_write(&b, f);
	tg_buf_free(&b);
	tg_buf_free(&lab);
	free(r);
	return rc;
}

int tg_render_lines(const struct tg_view *v, FILE *f)
{
	struct tg_buf b = {0};
	int rc = 0;

	for (size_t i = 0; i < v->recs->n; i++) {
		const struct tg_rec *rec = &v->recs->v[i];

		if (!tg_view_rec_selected(v, i))
			continue;
		/* Verbatim, but never raw to a terminal. */
		if (v->tty)
			tg_buf_put_safe_lines(&b, rec->text, rec->len);
		else
			tg_buf_put(&b, rec->text, rec->len);
		tg_buf_putc(&b, '\n');
		if (b.len > (1u << 20)) {
			rc = tg_buf_write(&b, f);
			b.len = 0;
			if (rc < 0)
				break;
		}
	}
	if (rc == 0)
		rc = tg_buf_write(&b, f);
	tg_buf_free(&b);
	return rc;
}
