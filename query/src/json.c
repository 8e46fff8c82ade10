/*
 * json.c - one summary as tracegrep --find --json's object
 * (formats/tracegrep-find.md). Strings go through fmt_json_escape(), so
 * whatever a log held, the object is valid UTF-8 JSON without raw
 * control characters.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fmt/str.h"
#include "fmt/ts.h"
#include "query/json.h"

/* Worst growth of a string under JSON escaping: a byte becomes \u00XX. */
#define ESC 6

static size_t str_bound(const char *s)
{
	return s ? strlen(s) * ESC + 2 : 4;
}

size_t qy_summary_json_bound(const struct qy_summary *s, const struct qy_keys *keys)
{
	size_t n = 512 + str_bound(s->trace) + str_bound(s->root_service) + str_bound(s->root_method) +
		   str_bound(s->root_path) + str_bound(s->first_error);

	for (size_t i = 0; i < s->nservices; i++)
		n += str_bound(s->services[i]) + 1;
	for (size_t k = 0; keys && k < keys->n; k++)
		if (qy_summary_values(s, k))
			n += str_bound(keys->v[k]) + str_bound(qy_summary_values(s, k)->first) + 2;
	return n;
}

struct out {
	char *p;
	size_t cap, pos;
	int rc;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->rc || n > o->cap - o->pos) {
		o->rc = -QY_ETRUNC;
		return;
	}
	memcpy(o->p + o->pos, s, n);
	o->pos += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* A quoted, escaped string, or null. */
static void str(struct out *o, const char *s)
{
	struct fmt_str v;

	if (!s) {
		puts_(o, "null");
		return;
	}
	v = fmt_str_c(s);
	put(o, "\"", 1);
	if (!o->rc && fmt_json_escape(&v, o->p, o->cap, &o->pos) < 0)
		o->rc = -QY_ETRUNC;
	put(o, "\"", 1);
}

static void num(struct out *o, const char *key, long long v)
{
	char b[64];

	snprintf(b, sizeof(b), ",\"%s\":%lld", key, v);
	puts_(o, b);
}

int qy_summary_json(const struct qy_summary *s, const struct qy_keys *keys, char *out, size_t cap,
		    size_t *len)
{
	struct out o = {out, cap, 0, 0};
	char ts[FMT_TS_MAX];

	puts_(&o, "{\"trace\":");
	str(&o, s->trace);
	puts_(&o, ",\"start\":");
	if (s->has_ts) {
		fmt_ts_format(qy_summary_start(s), 6, ts);
		str(&o, ts);
	} else {
		puts_(&o, "null");
	}
	num(&o, "dur_us", (long long)(qy_summary_dur(s) / 1000));
	puts_(&o, ",\"service\":");
	str(&o, s->root_service);
	puts_(&o, ",\"method\":");
	str(&o, s->root_method);
	puts_(&o, ",\"path\":");
	str(&o, s->root_path);
	num(&o, "status", s->status);
	puts_(&o, s->error ? ",\"error\":true" : ",\"error\":false");
	num(&o, "spans", (long long)s->nspans);
	num(&o, "records", (long long)s->records);
	puts_(&o, ",\"services\":[");
	for (size_t i = 0; i < s->nservices; i++) {
		if (i)
			put(&o, ",", 1);
		str(&o, s->services[i]);
	}
	puts_(&o, "],\"first_error\":");
	str(&o, s->first_error);
	puts_(&o, ",\"attrs\":{");
	for (size_t k = 0, n = 0; keys && k < keys->n; k++) {
		const struct qy_values *vs = qy_summary_values(s, k);

		if (!vs)
			continue;
		if (n++)
			put(&o, ",", 1);
		str(&o, keys->v[k]);
		put(&o, ":", 1);
		str(&o, vs->first);
	}
	puts_(&o, "}}");
	if (o.rc)
		return o.rc;
	*len = o.pos;
	return 0;
}
