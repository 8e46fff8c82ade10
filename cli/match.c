/*
 * match.c - the query, and matching by structure rather than substring.
 *
 * DESIGN: a record holds an ID when the ID is a whole element of its NDC
 * path (ids[]), or equals its trace, span or parent: those are the only
 * places an ID means "this record belongs to that unit of work". The
 * message, the attributes and the continuation lines are never looked at,
 * so a record that merely mentions an ID is not a match, and "abc" never
 * matches "abcd". Comparison is on decoded values (a JSON-escaped ID
 * compares equal to its plain form).
 */
#include <stdlib.h>
#include <string.h>

#include "fmt/str.h"
#include "tg.h"
#include "banned.h"

static bool id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '_' || c == '-';
}

int tg_query_parse(struct tg_query *q, const char *s, struct tg_err *err)
{
	size_t n = strlen(s), start = 0;

	memset(q, 0, sizeof(*q));
	if (n == 0) {
		tg_err_set(err, -TG_EINVAL, 0, "the ID is empty");
		return -TG_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] != ':' && !id_char(s[i])) {
			tg_err_set(
				err, -TG_EINVAL, 0,
				"'%s' is not an ID: byte %zu is not one of A-Z a-z 0-9 . _ - (or ':' between IDs)",
				s, i + 1);
			return -TG_EINVAL;
		}
	}
	q->text = tg_xstrndup(s, n);
	q->elems = tg_xcalloc(n / 2 + 2, sizeof(*q->elems));
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != ':')
			continue;
		if (i == start) {
			tg_err_set(err, -TG_EINVAL, 0, "'%s' has an empty ID in its path", s);
			tg_query_release(q);
			return -TG_EINVAL;
		}
		q->elems[q->nelems++] = tg_xstrndup(s + start, i - start);
		start = i + 1;
	}
	return 0;
}

void tg_query_release(struct tg_query *q)
{
	for (size_t i = 0; i < q->nelems; i++)
		free(q->elems[i]);
	free(q->elems);
	free(q->text);
	memset(q, 0, sizeof(*q));
}

bool tg_record_matches(const struct fmt_record *r, const char *id, size_t len, enum tg_want want)
{
	if (r->trace.ptr && fmt_str_eq(&r->trace, id, len))
		return true;
	if (want == TG_WANT_TRACE)
		return false;
	if (r->span.ptr && fmt_str_eq(&r->span, id, len))
		return true;
	if (r->parent.ptr && fmt_str_eq(&r->parent, id, len))
		return true;
	for (uint16_t i = 0; i < r->nids; i++)
		if (fmt_str_eq(&r->ids[i], id, len))
			return true;
	return false;
}

void tg_rec_from_parsed(struct tg_rec *out, const struct fmt_record *r)
{
	out->has_ts = r->has_ts;
	out->ts_ns = !r->has_ts || r->ts_ns < 0 ? 0 : r->ts_ns > TG_TS_MAX ? TG_TS_MAX : r->ts_ns;
	out->level = r->level;
	out->event = r->event;
	out->trace = r->trace.ptr && r->trace.len ? tg_view_dup(&r->trace) : NULL;
	out->span = r->span.ptr && r->span.len ? tg_view_dup(&r->span) : NULL;
	out->parent = r->parent.ptr && r->parent.len ? tg_view_dup(&r->parent) : NULL;
	out->nids = r->nids;
	out->ids = r->nids ? tg_xcalloc(r->nids, sizeof(*out->ids)) : NULL;
	for (uint16_t i = 0; i < r->nids; i++)
		out->ids[i] = tg_view_dup(&r->ids[i]);
	out->node = -1;
}
