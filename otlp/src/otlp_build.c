/*
 * otlp_build.c - the mapping from OTLP items to clew records (the record
 * builder both readers call; formats/otlp.md), the output buffer, and
 * otlp_decode(), the library's entry point.
 *
 * DESIGN: a record holds views; what is not a view into the request body
 * is written to one scratch arena, reset at each record, so building a
 * record allocates nothing. A full arena drops the attribute that did not
 * fit (FMT_F_ATTRS_TRUNCATED), never the record.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/json.h"
#include "fmt/str.h"
#include "otlp_impl.h"

int ob_fail(struct ob *b, const void *at, const char *why, int code)
{
	if (!b->err) {
		b->err = code;
		b->res->why = why;
		b->res->offset = at ? (size_t)((const char *)at - b->body) : 0;
	}
	return -code;
}

void ob_reject(struct ob *b, const char *why)
{
	b->res->rejected++;
	if (!b->res->why)
		b->res->why = why;
}

char *ob_alloc(struct ob *b, size_t n)
{
	char *p;

	if (n > OTLP__ARENA - b->used)
		return NULL;
	p = b->arena + b->used;
	b->used += n;
	return p;
}

struct fmt_str ob_copy(struct ob *b, const char *s, size_t n)
{
	char *p = ob_alloc(b, n ? n : 1);

	if (!p)
		return (struct fmt_str){NULL, 0, FMT_ENC_RAW};
	if (n)
		memcpy(p, s, n);
	return fmt_str_n(p, n);
}

struct fmt_str ob_hex(struct ob *b, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char *o = ob_alloc(b, 2 * n);

	if (!o)
		return (struct fmt_str){NULL, 0, FMT_ENC_RAW};
	for (size_t i = 0; i < n; i++) {
		o[2 * i] = hex[p[i] >> 4];
		o[2 * i + 1] = hex[p[i] & 15];
	}
	return fmt_str_n(o, 2 * n);
}

size_t ob_dtoa(double d, char *out)
{
	int n = 0;

	for (int prec = 6; prec <= 17; prec++) {
		n = snprintf(out, 32, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			break;
	}
	return n > 0 ? (size_t)n : 0;
}

bool ob_is_service(struct fmt_str key)
{
	return fmt_str_eq(&key, "service.name", 12);
}

void ob_begin(struct ob *b, int event)
{
	fmt_record_clear(&b->rec);
	b->rec.format = FMT_JSON;
	b->rec.event = (uint8_t)event;
	b->rec.service = b->service;
	b->used = 0;
	b->method_rank = b->path_rank = 0;
}

void ob_time(struct ob *b, uint64_t ns)
{
	if (ns && ns <= (uint64_t)INT64_MAX) {
		b->rec.ts_ns = (int64_t)ns;
		b->rec.has_ts = true;
	}
}

bool ob_ids_ok(const struct otlp_id *trace, const struct otlp_id *span, const struct otlp_id *parent)
{
	return (trace->n == 0 || trace->n == 16) && (span->n == 0 || span->n == 8) &&
	       (!parent || parent->n == 0 || parent->n == 8);
}

void ob_ids(struct ob *b, const struct otlp_id *trace, const struct otlp_id *span,
	    const struct otlp_id *parent)
{
	struct fmt_record *r = &b->rec;

	r->nids = 0;
	if (trace && trace->n) {
		r->trace = ob_hex(b, trace->b, trace->n);
		r->ids[r->nids++] = r->trace;
	}
	if (parent && parent->n) {
		r->parent = ob_hex(b, parent->b, parent->n);
		if (r->nids)
			r->ids[r->nids++] = r->parent;
	}
	if (span && span->n) {
		r->span = ob_hex(b, span->b, span->n);
		if (r->nids)
			r->ids[r->nids++] = r->span;
	}
}

/*
 * The semantic conventions' HTTP attributes, current names first: rank 1
 * beats rank 2. The path is the request's own (url.path, http.target)
 * before the route template, as the other formats carry the real path.
 * Return: true when @key is a current name (rank 1) taken as the method
 * or path: the record carries it there, not also as an attribute, so a
 * record clewd's otlp output sent comes back as it was. Older names and
 * the route stay attributes too (they may say more than the path).
 */
static bool http_alias(struct ob *b, struct fmt_str key, struct fmt_str val)
{
	static const struct {
		const char *k;
		uint8_t len, path, rank;
	} names[] = {
		{"http.request.method", 19, 0, 1}, {"http.method", 11, 0, 2}, {"url.path", 8, 1, 1},
		{"http.target", 11, 1, 2},	   {"http.route", 10, 1, 3},
	};

	if (key.len < 8 || key.len > 19)
		return false;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint8_t *rank = names[i].path ? &b->path_rank : &b->method_rank;

		if (!fmt_str_eq(&key, names[i].k, names[i].len))
			continue;
		if (*rank && *rank <= names[i].rank)
			return false;
		*rank = names[i].rank;
		if (names[i].path)
			b->rec.path = val;
		else
			b->rec.method = val;
		return names[i].rank == 1;
	}
	return false;
}

void ob_attr(struct ob *b, struct fmt_str key, int type, struct fmt_str val)
{
	struct fmt_record *r = &b->rec;
	struct fmt_attr *a;

	if (!key.ptr || !val.ptr || r->nattrs >= FMT_ATTRS_MAX) {
		r->flags |= FMT_F_ATTRS_TRUNCATED;
		return;
	}
	if (type == FMT_T_STRING && http_alias(b, key, val))
		return;
	a = &r->attrs[r->nattrs++];
	a->key = key;
	a->val = val;
	a->type = (uint8_t)type;
}

void ob_attr_u64(struct ob *b, const char *key, uint64_t v)
{
	char t[24];
	int n = snprintf(t, sizeof(t), "%" PRIu64, v);

	ob_attr(b, fmt_str_c(key), FMT_T_NUMBER, ob_copy(b, t, (size_t)n));
}

void ob_attr_i64(struct ob *b, const char *key, int64_t v)
{
	char t[24];
	int n = snprintf(t, sizeof(t), "%" PRId64, v);

	ob_attr(b, fmt_str_c(key), FMT_T_NUMBER, ob_copy(b, t, (size_t)n));
}

void ob_attr_double(struct ob *b, const char *key, double v)
{
	char t[32];

	if (!isfinite(v)) {
		ob_attr_cstr(b, key, isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
		return;
	}
	ob_attr(b, fmt_str_c(key), FMT_T_NUMBER, ob_copy(b, t, ob_dtoa(v, t)));
}

void ob_attr_cstr(struct ob *b, const char *key, const char *v)
{
	ob_attr(b, fmt_str_c(key), FMT_T_STRING, fmt_str_c(v));
}

void ob_span(struct ob *b, const struct otlp_span *s)
{
	static const char *const kinds[] = {NULL, "internal", "server", "client", "producer", "consumer"};
	static const char *const status[] = {"unset", "ok", "error"};

	ob_begin(b, FMT_EVENT_SPAN);
	ob_ids(b, &s->trace, &s->span, &s->parent);
	ob_time(b, s->start);
	b->rec.level = s->status == 2 ? FMT_LEVEL_ERROR : FMT_LEVEL_INFO; /* as libclew's span records */
	ob_attr(b, fmt_str_c("name"), FMT_T_STRING, s->name.ptr ? s->name : fmt_str_n("", 0));
	ob_attr_u64(b, "dur_us", s->end > s->start ? (s->end - s->start) / 1000 : 0);
	ob_attr_cstr(b, "status", s->status >= 0 && s->status <= 2 ? status[s->status] : "unset");
	if (s->status_msg.ptr && s->status_msg.len)
		ob_attr(b, fmt_str_c("status_message"), FMT_T_STRING, s->status_msg);
	if (s->kind > 0 && s->kind <= 5)
		ob_attr_cstr(b, "kind", kinds[s->kind]);
}

void ob_span_event(struct ob *b, const struct otlp_span *s, struct fmt_str name, uint64_t ns)
{
	ob_begin(b, FMT_EVENT_LOG);
	ob_ids(b, &s->trace, &s->span, &s->parent);
	ob_time(b, ns);
	/* the semantic conventions' exception event is an error */
	b->rec.level = fmt_str_eq(&name, "exception", 9) ? FMT_LEVEL_ERROR : FMT_LEVEL_INFO;
	b->rec.message = name;
}

void ob_severity(struct ob *b, int64_t num, struct fmt_str text)
{
	/* SeverityNumber: 1-4 TRACE, 5-8 DEBUG, 9-12 INFO, 13-16 WARN, 17-20 ERROR, 21-24 FATAL */
	static const uint8_t by_num[] = {FMT_LEVEL_TRACE, FMT_LEVEL_DEBUG, FMT_LEVEL_INFO,
					 FMT_LEVEL_WARN,  FMT_LEVEL_ERROR, FMT_LEVEL_FATAL};
	char t[32];

	if (text.ptr && text.len)
		b->rec.level_text = text;
	if (num >= 1 && num <= 24) {
		b->rec.level = by_num[(num - 1) / 4];
	} else if (text.ptr && text.len && text.len < sizeof(t)) {
		size_t n = fmt_str_decode(&text, t);
		b->rec.level = (uint8_t)fmt_level_from_text(t, n);
	}
}

/* Room for one more line of at least @need bytes. */
static int out_grow(struct otlp_out *o, size_t need)
{
	size_t cap = o->cap ? o->cap : 64 * 1024;
	char *p;

	while (cap - o->len < need) {
		if (cap > SIZE_MAX / 2)
			return -FMT_ELIMIT;
		cap *= 2;
	}
	if (cap == o->cap)
		return 0;
	p = realloc(o->buf, cap);
	if (!p)
		return -FMT_ELIMIT;
	o->buf = p;
	o->cap = cap;
	return 0;
}

int ob_end(struct ob *b)
{
	struct otlp_out *o = b->out;
	size_t need = 4096, n = 0;
	int rc;

	for (;;) {
		if ((rc = out_grow(o, need)) < 0)
			return ob_fail(b, NULL, "out of memory", FMT_ELIMIT);
		rc = fmt_json_emit(&b->rec, 0, o->buf + o->len, o->cap - o->len - 1, &n);
		if (rc == 0)
			break;
		if (rc != -FMT_ETRUNC)
			return ob_fail(b, NULL, "a record does not render", -rc);
		need = (o->cap - o->len) * 2;
	}
	o->len += n;
	o->buf[o->len++] = '\n';
	b->res->records++;
	return 0;
}

void otlp_out_free(struct otlp_out *o)
{
	free(o->buf);
	o->buf = NULL;
	o->len = o->cap = 0;
}

int otlp_decode(enum otlp_kind kind, enum otlp_encoding enc, const void *body, size_t len,
		struct otlp_out *out, struct otlp_result *res)
{
	struct ob *b;
	size_t start = out->len;
	int rc;

	memset(res, 0, sizeof(*res));
	if ((!body && len) || kind > OTLP_METRICS || enc > OTLP_JSON) {
		res->why = "invalid argument";
		return -FMT_EINVAL;
	}
	b = malloc(sizeof(*b) + OTLP__ARENA); /* the arena needs no zeroing: only what is written is read */
	if (!b) {
		res->why = "out of memory";
		return -FMT_ELIMIT;
	}
	memset(b, 0, sizeof(*b));
	b->out = out;
	b->res = res;
	b->body = body;
	b->arena = (char *)(b + 1);
	if (enc == OTLP_PROTO)
		rc = otlp__proto(b, kind, body, len);
	else
		rc = otlp__json(b, kind, body, len);
	if (b->err)
		rc = -b->err; /* the first error's code, not what the callers above it passed on */
	free(b);
	if (rc < 0) {
		out->len = start; /* nothing of an undecodable request */
		res->records = 0;
	}
	return rc;
}
