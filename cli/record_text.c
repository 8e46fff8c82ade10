/*
 * record_text.c - a decoded record written back as the line(s) a log
 * file holds, for the sources that store records rather than lines (the
 * archive's chunks, msgpack Kafka messages): pipe, or a JSON object with
 * the continuation lines after it.
 */
#include <string.h>

#include "fmt/json.h"
#include "fmt/pipe.h"
#include "tg.h"
#include "banned.h"

static bool view_eq(const struct fmt_str *a, const struct fmt_str *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
}

/* Whether the JSON parser would derive r->ids from trace, parent and span alone. */
static bool ids_implied(const struct fmt_record *r)
{
	const struct fmt_str *d[3];
	uint16_t n = 0;

	if (!r->trace.ptr)
		return r->nids == 0;
	d[n++] = &r->trace;
	if (r->parent.ptr)
		d[n++] = &r->parent;
	if (r->span.ptr && !view_eq(&r->span, &r->trace))
		d[n++] = &r->span;
	if (n != r->nids)
		return false;
	for (uint16_t i = 0; i < n; i++)
		if (!view_eq(d[i], &r->ids[i]))
			return false;
	return true;
}

int tg_record_text(struct tg_buf *out, const struct fmt_record *r, struct fmt_record *scratch)
{
	size_t need = 4096 + 2 * (size_t)r->message.len + 2 * (size_t)r->cont.len, len = 0;
	int rc;

	for (uint16_t i = 0; i < r->nattrs; i++)
		need += 2 * ((size_t)r->attrs[i].key.len + r->attrs[i].val.len) + 8;
	for (uint16_t i = 0; i < r->nids; i++)
		need += 2 * (size_t)r->ids[i].len + 2;
	if (r->format == FMT_JSON) {
		*scratch = *r;
		scratch->cont = (struct fmt_str){0};
		scratch->flags &= ~(uint32_t)FMT_F_CONT;
	}
	for (;;) {
		if (out->cap < need) {
			out->data = tg_xrealloc(out->data, need);
			out->cap = need;
		}
		if (r->format == FMT_JSON)
			rc = fmt_json_emit(scratch, ids_implied(r) ? 0 : FMT_JSON_IDS, out->data, out->cap,
					   &len);
		else
			rc = fmt_pipe_emit(r, out->data, out->cap, &len);
		if (rc != -FMT_ETRUNC)
			break;
		need *= 2;
	}
	if (rc < 0)
		return rc;
	out->len = len;
	if (r->format == FMT_JSON && r->cont.ptr) {
		tg_buf_putc(out, '\n');
		tg_buf_put(out, r->cont.ptr, r->cont.len);
	}
	return 0;
}
