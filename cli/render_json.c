/*
 * render_json.c - --json: the transaction as one stable JSON document.
 *
 * DESIGN: the schema is formats/tracegrep-json.md. Spans are listed in the
 * waterfall's order (depth first, children by start), records in time
 * order; a span refers to its records by their index in "records", so
 * each record is written once. Keys are always present (null when
 * unknown) and always in the same order, so the output diffs well. All
 * text goes through fmt_json_escape(): the document is valid JSON (and
 * valid UTF-8) whatever the logs hold.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/str.h"
#include "fmt/ts.h"
#include "tg.h"
#include "banned.h"

static void key(struct tg_buf *b, const char *k, bool first)
{
	if (!first)
		tg_buf_putc(b, ',');
	tg_buf_putc(b, '"');
	tg_buf_puts(b, k);
	tg_buf_puts(b, "\":");
}

static void str_or_null(struct tg_buf *b, const char *s)
{
	if (s)
		tg_buf_json_cstr(b, s);
	else
		tg_buf_puts(b, "null");
}

static void ts(struct tg_buf *b, int64_t ns)
{
	char t[FMT_TS_MAX];

	fmt_ts_format(ns, -1, t);
	tg_buf_putc(b, '"');
	tg_buf_puts(b, t);
	tg_buf_putc(b, '"');
}

static const char *event_name(int e)
{
	return e == FMT_EVENT_SPAN ? "span" : e == FMT_EVENT_METRIC ? "metric" : "log";
}

/*
 * Whether a JSON number literal is one every common reader takes as a
 * number: an integer that fits int64, or a finite double. Others (a
 * 30-digit integer, 1e999) are valid JSON but refused or rounded by many
 * readers (jansson, JavaScript), so they are written as strings.
 */
static bool portable_number(const struct fmt_str *v)
{
	char tmp[128], *end;
	bool real = false;

	if (v->len >= sizeof(tmp))
		return false;
	memcpy(tmp, v->ptr, v->len);
	tmp[v->len] = '\0';
	for (size_t i = 0; i < v->len; i++)
		real |= tmp[i] == '.' || tmp[i] == 'e' || tmp[i] == 'E';
	errno = 0;
	if (real) {
		double d = strtod(tmp, &end);

		return errno == 0 && *end == '\0' && isfinite(d);
	}
	(void)strtoll(tmp, &end, 10);
	return errno == 0 && *end == '\0';
}

static void attr_value(struct tg_buf *b, const struct fmt_attr *a)
{
	switch (a->type) {
	case FMT_T_NUMBER:
		if (portable_number(&a->val))
			tg_buf_put(b, a->val.ptr, a->val.len);
		else
			tg_buf_json_view(b, &a->val);
		break;
	case FMT_T_BOOL:
	case FMT_T_NULL:
	case FMT_T_OBJECT:
	case FMT_T_ARRAY:
		/* Raw JSON text the parser checked (a pipe number follows the JSON grammar). */
		tg_buf_put(b, a->val.ptr, a->val.len);
		break;
	default:
		tg_buf_json_view(b, &a->val);
	}
}

static void record(struct tg_buf *b, const struct tg_view *v, const struct tg_rec *rec, struct fmt_record *r)
{
	bool parsed = tg_rec_parse(rec, r) == 0;

	tg_buf_putc(b, '{');
	key(b, "ts", true);
	if (rec->has_ts)
		ts(b, rec->ts_ns);
	else
		tg_buf_puts(b, "null");
	key(b, "level", false);
	str_or_null(b, rec->level && rec->level != FMT_LEVEL_OTHER ? fmt_level_name(rec->level) : NULL);
	key(b, "event", false);
	str_or_null(b, event_name(rec->event));
	key(b, "service", false);
	if (parsed)
		tg_buf_json_view(b, &r->service);
	else
		tg_buf_puts(b, "null");
	key(b, "trace", false);
	str_or_null(b, rec->trace);
	key(b, "span", false);
	str_or_null(b, rec->span);
	key(b, "parent", false);
	str_or_null(b, rec->parent);
	key(b, "ids", false);
	tg_buf_putc(b, '[');
	for (uint16_t i = 0; i < rec->nids; i++) {
		if (i)
			tg_buf_putc(b, ',');
		str_or_null(b, rec->ids[i]);
	}
	tg_buf_putc(b, ']');
	key(b, "message", false);
	if (parsed)
		tg_buf_json_view(b, &r->message);
	else
		tg_buf_puts(b, "null");
	key(b, "attrs", false);
	tg_buf_putc(b, '{');
	for (uint16_t i = 0; parsed && i < r->nattrs; i++) {
		bool dup = false;

		for (uint16_t j = 0; j < i && !dup; j++) {
			char *k = tg_view_dup(&r->attrs[j].key);

			dup = fmt_str_eq(&r->attrs[i].key, k, strlen(k));
			free(k);
		}
		if (dup)
			continue;
		if (b->data[b->len - 1] != '{')
			tg_buf_putc(b, ',');
		tg_buf_json_view(b, &r->attrs[i].key);
		tg_buf_putc(b, ':');
		attr_value(b, &r->attrs[i]);
	}
	tg_buf_putc(b, '}');
	key(b, "source", false);
	str_or_null(b, v->inputs->v[rec->src].name);
	key(b, "offset", false);
	tg_buf_printf(b, "%llu", (unsigned long long)rec->off);
	key(b, "text", false);
	tg_buf_putc(b, '"');
	tg_buf_json_str(b, rec->text, rec->len);
	tg_buf_putc(b, '"');
	tg_buf_putc(b, '}');
}

int tg_render_json(const struct tg_view *v, FILE *f)
{
	const struct qy_tree *t = v->tree;
	struct fmt_record *r = tg_xmalloc(sizeof(*r));
	size_t *index = tg_xcalloc(v->recs->n, sizeof(*index)), n = 0;
	struct tg_buf b = {0};
	bool first = true;
	int rc;

	for (size_t i = 0; i < v->recs->n; i++)
		index[i] = tg_view_rec_selected(v, i) ? n++ : SIZE_MAX;
	tg_buf_putc(&b, '{');
	key(&b, "id", true);
	str_or_null(&b, v->query->text);
	key(&b, "trace", false);
	str_or_null(&b, t->trace);
	key(&b, "top", false);
	str_or_null(&b, t->spans[t->top].id);
	key(&b, "start", false);
	ts(&b, t->t0);
	key(&b, "dur_us", false);
	tg_buf_printf(&b, "%lld", (long long)((t->t1 - t->t0) / 1000));
	key(&b, "spans", false);
	tg_buf_puts(&b, "[\n");
	for (size_t i = 0; i < t->norder; i++) {
		const struct qy_span *s = &t->spans[t->order[i]];

		tg_buf_puts(&b, i ? ",\n{" : "{");
		key(&b, "id", true);
		str_or_null(&b, s->id);
		key(&b, "parent", false);
		str_or_null(&b, s->parent >= 0 ? t->spans[s->parent].id : NULL);
		key(&b, "service", false);
		str_or_null(&b, s->service);
		key(&b, "name", false);
		str_or_null(&b, s->name);
		key(&b, "method", false);
		str_or_null(&b, s->method);
		key(&b, "path", false);
		str_or_null(&b, s->path);
		key(&b, "start", false);
		if (s->has_time)
			ts(&b, s->start_ns);
		else
			tg_buf_puts(&b, "null");
		key(&b, "offset_us", false);
		tg_buf_printf(&b, "%lld", (long long)(s->has_time ? (s->start_ns - t->t0) / 1000 : 0));
		key(&b, "dur_us", false);
		tg_buf_printf(&b, "%lld", (long long)(s->has_time ? (s->end_ns - s->start_ns) / 1000 : 0));
		key(&b, "status", false);
		str_or_null(&b, s->status);
		key(&b, "error", false);
		tg_buf_puts(&b, s->error ? "true" : "false");
		key(&b, "critical", false);
		tg_buf_puts(&b, s->critical ? "true" : "false");
		key(&b, "explicit", false);
		tg_buf_puts(&b, s->explicit_ ? "true" : "false");
		key(&b, "shift_us", false);
		tg_buf_printf(&b, "%lld", (long long)(s->shift_ns / 1000));
		key(&b, "depth", false);
		tg_buf_printf(&b, "%d", s->depth);
		key(&b, "records", false);
		tg_buf_putc(&b, '[');
		for (size_t j = 0; j < s->nrecs; j++)
			tg_buf_printf(&b, "%s%zu", j ? "," : "", index[s->recs[j]]);
		tg_buf_puts(&b, "]}");
	}
	tg_buf_puts(&b, "],\n");
	key(&b, "records", true);
	tg_buf_puts(&b, "[\n");
	for (size_t i = 0; i < v->recs->n; i++) {
		if (index[i] == SIZE_MAX)
			continue;
		if (!first)
			tg_buf_puts(&b, ",\n");
		first = false;
		record(&b, v, &v->recs->v[i], r);
	}
	tg_buf_puts(&b, "]}\n");
	rc = tg_buf_write(&b, f);
	tg_buf_free(&b);
	free(index);
	free(r);
	return rc;
}
