/*
 * compare.c - comparing tracegrep's output by meaning (see compare.h).
 *
 * A record's meaning is what fmt_parse() makes of it, every view decoded:
 * the time as a number and the level as its enum, not how they were
 * written; a text that does not parse is compared verbatim.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "fmt/detect.h"
#include "fmt/str.h"

void strs_push(struct strs *s, char *x)
{
	s->v = realloc(s->v, (s->n + 1) * sizeof(*s->v));
	s->v[s->n++] = x;
}

void strs_free(struct strs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append NAME=decoded value of @v (or NAME=<absent>) and a unit separator. */
static void put_view(char **buf, size_t *len, const char *name, const struct fmt_str *v)
{
	char *dec;
	size_t n, need;

	if (!v->ptr) {
		need = strlen(name) + 16;
		*buf = realloc(*buf, *len + need);
		*len += (size_t)snprintf(*buf + *len, need, "%s=<absent>\x1f", name);
		return;
	}
	dec = malloc((size_t)v->len + 1);
	n = fmt_str_decode(v, dec);
	need = strlen(name) + n + 4;
	*buf = realloc(*buf, *len + need);
	*len += (size_t)snprintf(*buf + *len, need, "%s=", name);
	memcpy(*buf + *len, dec, n);
	*len += n;
	(*buf)[(*len)++] = '\x1f';
	(*buf)[*len] = '\0';
	free(dec);
}

char *canonical(const char *text, size_t len)
{
	struct fmt_record *r = malloc(sizeof(*r));
	char *buf = malloc(128), name[32];
	size_t n = 0;

	if (fmt_parse(text, len, r, NULL) != 0) {
		free(r);
		free(buf);
		return strndup(text, len);
	}
	n = (size_t)snprintf(buf, 128, "ts=%d:%lld level=%u event=%u fmt=%u\x1f", r->has_ts,
			     (long long)(r->has_ts ? r->ts_ns : 0), r->level, r->event, r->format);
	for (uint16_t i = 0; i < r->nids; i++) {
		snprintf(name, sizeof(name), "id%u", i);
		put_view(&buf, &n, name, &r->ids[i]);
	}
	put_view(&buf, &n, "trace", &r->trace);
	put_view(&buf, &n, "span", &r->span);
	put_view(&buf, &n, "parent", &r->parent);
	put_view(&buf, &n, "service", &r->service);
	put_view(&buf, &n, "method", &r->method);
	put_view(&buf, &n, "path", &r->path);
	put_view(&buf, &n, "message", &r->message);
	put_view(&buf, &n, "cont", &r->cont);
	for (uint16_t i = 0; i < r->nattrs; i++) {
		snprintf(name, sizeof(name), "attr%u:%u", i, r->attrs[i].type);
		put_view(&buf, &n, name, &r->attrs[i].key);
		put_view(&buf, &n, "=", &r->attrs[i].val);
	}
	free(r);
	return buf;
}

struct strs split_records(const char *out, size_t len)
{
	struct strs s = {0};
	size_t at = 0, start = 0;
	bool open_rec = false;

	while (at < len) {
		const char *nl = memchr(out + at, '\n', len - at);
		size_t le = nl ? (size_t)(nl - out) : len;

		if (fmt_detect(out + at, le - at) != FMT_UNKNOWN) {
			if (open_rec)
				strs_push(&s, canonical(out + start, at - 1 - start));
			start = at;
			open_rec = true;
		}
		at = le + 1;
	}
	if (open_rec)
		strs_push(&s, canonical(out + start, (len && out[len - 1] == '\n' ? len - 1 : len) - start));
	return s;
}

struct strs truth_records(const struct tcorpus *c, int txn, const char *top)
{
	struct strs s = {0};

	for (size_t i = 0; i < c->nrecs; i++) {
		const struct tc_rec *r = &c->recs[i];

		if (r->txn != txn)
			continue;
		if (top && (!r->span || !tcorpus_under(c, txn, r->span, top)))
			continue;
		strs_push(&s, canonical(r->text, strlen(r->text)));
	}
	return s;
}

void assert_same(struct strs *got, struct strs *want, const char *what)
{
	if (got->n) /* qsort(NULL, 0, ...) is undefined */
		qsort(got->v, got->n, sizeof(char *), cmp_str);
	if (want->n)
		qsort(want->v, want->n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < got->n && i < want->n; i++)
		ck_assert_msg(strcmp(got->v[i], want->v[i]) == 0, "%s: record %zu differs:\n got %s\nwant %s",
			      what, i, got->v[i], want->v[i]);
	ck_assert_msg(got->n == want->n, "%s: %zu records, want %zu", what, got->n, want->n);
}

json_t *span_by_id(json_t *spans, const char *id)
{
	size_t i;
	json_t *s;

	json_array_foreach(spans, i, s)
	{
		if (strcmp(json_string_value(json_object_get(s, "id")), id) == 0)
			return s;
	}
	return NULL;
}

char *record_meaning(json_t *rec)
{
	json_t *c = json_deep_copy(rec);
	char *s;

	json_object_del(c, "source");
	json_object_del(c, "offset");
	json_object_del(c, "text");
	s = json_dumps(c, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(c);
	return s;
}
