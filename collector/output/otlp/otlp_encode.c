/*
 * output/otlp/otlp_encode.c - a chunk's records -> OTLP export requests
 * (otlp_encode.h says the mapping), protobuf or OTLP/JSON through one
 * writer (struct wr) that knows each field's number and JSON name.
 *
 * DESIGN: one pass over the chunk notes each record's place (a chunk
 * iterator is two pointers), its signal and its service; the places are
 * sorted by signal and service, and a second pass decodes each record
 * again at its place and writes it into its service's ResourceSpans or
 * ResourceLogs. Decoding twice costs less than holding every decoded
 * record (a struct fmt_record is large). Strings are written from the
 * record's views, escapes undone on the way (otlp_wire.c).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <query/summary.h>
#include <store/err.h>
#include <store/limits.h>
#include <store/record_codec.h>
#include "fmt/str.h"
#include "output/otlp/otlp_encode.h"
#include "util/banned.h"

#define WR_DEPTH 12 /* request > resource spans > scope spans > span > attribute > value: 6 */

/* OTLP's field numbers. */
enum {
	F_REQ_RESOURCE = 1, /* Export*ServiceRequest.resource_spans / resource_logs */
	F_RES_RESOURCE = 1, /* ResourceSpans.resource */
	F_RES_SCOPE = 2,    /* ResourceSpans.scope_spans / ResourceLogs.scope_logs */
	F_RESOURCE_ATTRS = 1,
	F_SCOPE_SCOPE = 1, /* ScopeSpans.scope */
	F_SCOPE_ITEMS = 2, /* ScopeSpans.spans / ScopeLogs.log_records */
	F_IS_NAME = 1,
	F_IS_VERSION = 2,
	F_KV_KEY = 1,
	F_KV_VALUE = 2,
	F_AV_STRING = 1,
	F_AV_BOOL = 2,
	F_AV_INT = 3,
	F_AV_DOUBLE = 4,
	F_SPAN_TRACE = 1,
	F_SPAN_ID = 2,
	F_SPAN_PARENT = 4,
	F_SPAN_NAME = 5,
	F_SPAN_START = 7,
	F_SPAN_END = 8,
	F_SPAN_ATTRS = 9,
	F_SPAN_STATUS = 15,
	F_STATUS_MESSAGE = 2,
	F_STATUS_CODE = 3,
	F_LOG_TIME = 1,
	F_LOG_SEVERITY = 2,
	F_LOG_SEVERITY_TEXT = 3,
	F_LOG_BODY = 5,
	F_LOG_ATTRS = 6,
	F_LOG_TRACE = 9,
	F_LOG_SPAN = 10,
	F_LOG_OBSERVED = 11,
};

enum sig { SIG_SPAN = OTLP_SIG_TRACES, SIG_LOG = OTLP_SIG_LOGS, SIG_NONE = OTLP_SIG_NONE };

/* Where one record is, for the second pass. */
struct ent {
	struct chunk_iter at; /* the iterator just before it */
	const char *svc;      /* its service's view (NULL: none) */
	uint32_t svclen;      /* its bytes */
	uint32_t idx;	      /* its order in the chunk (a stable sort) */
	uint8_t sig;	      /* enum sig */
};

struct otlp_enc {
	struct otlp_enc_opts o;
	struct ent *ents;	   /* CD_CHUNK_RECORDS_MAX of them */
	struct fmt_record rec;	   /* the record being written */
	struct record_src src;	   /* its source */
	char *scratch;		   /* decoded text (a body with continuation lines, IDs) */
	size_t scratch_cap;	   /* its size */
	struct otlp_enc_stats *st; /* the current call's */
};

/* --- the writer: one call per field, protobuf or JSON ------------------------ */

struct wr {
	struct ow_buf *b;
	bool json;
	unsigned depth;	       /* open levels */
	bool first[WR_DEPTH];  /* JSON: no member written yet at this level */
	size_t mark[WR_DEPTH]; /* protobuf: ow_pb_open()'s mark of a message level */
	bool is_arr[WR_DEPTH]; /* the level is a repeated field (JSON array) */
};

static void jkey(struct wr *w, const char *name)
{
	if (!w->first[w->depth])
		OW_LIT(w->b, ",");
	w->first[w->depth] = false;
	OW_LIT(w->b, "\"");
	ow_lit(w->b, name, strlen(name));
	OW_LIT(w->b, "\":");
}

static void push(struct wr *w, bool arr, size_t mark)
{
	w->depth++;
	w->first[w->depth] = true;
	w->is_arr[w->depth] = arr;
	w->mark[w->depth] = mark;
}

/* A nested message (field @f, JSON @name). */
static void w_open(struct wr *w, uint32_t f, const char *name)
{
	size_t mark = 0;

	if (w->json) {
		jkey(w, name);
		OW_LIT(w->b, "{");
	} else {
		mark = ow_pb_open(w->b, f);
	}
	push(w, false, mark);
}

/* A repeated message field: w_item() for each element, w_arr_end() after. */
static void w_arr(struct wr *w, const char *name)
{
	if (w->json) {
		jkey(w, name);
		OW_LIT(w->b, "[");
	}
	push(w, true, 0);
}

static void w_item(struct wr *w, uint32_t f)
{
	size_t mark = 0;

	if (w->json) {
		if (!w->first[w->depth])
			OW_LIT(w->b, ",");
		w->first[w->depth] = false;
		OW_LIT(w->b, "{");
	} else {
		mark = ow_pb_open(w->b, f);
	}
	push(w, false, mark);
}

/* End a message opened by w_open() or w_item(). */
static void w_close(struct wr *w)
{
	if (w->json)
		OW_LIT(w->b, "}");
	else
		ow_pb_close(w->b, w->mark[w->depth]);
	w->depth--;
}

static void w_arr_end(struct wr *w)
{
	if (w->json)
		OW_LIT(w->b, "]");
	w->depth--;
}

static void w_str(struct wr *w, uint32_t f, const char *name, const struct fmt_str *s)
{
	if (w->json) {
		jkey(w, name);
		ow_json_str(w->b, s);
	} else {
		ow_pb_str(w->b, f, s);
	}
}

static void w_cstr(struct wr *w, uint32_t f, const char *name, const char *s)
{
	struct fmt_str v = fmt_str_c(s);

	w_str(w, f, name, &v);
}

/* An ID: bytes in protobuf, lowercase hex in JSON (OTLP/JSON's exception to base64). */
static void w_id(struct wr *w, uint32_t f, const char *name, const uint8_t *id, size_t n)
{
	if (w->json) {
		jkey(w, name);
		ow_json_hex(w->b, id, n);
	} else {
		ow_pb_bytes(w->b, f, id, n);
	}
}

/* A fixed64 time: a decimal string in JSON (64-bit integers are). */
static void w_time(struct wr *w, uint32_t f, const char *name, uint64_t ns)
{
	if (w->json) {
		jkey(w, name);
		ow_json_u64(w->b, ns, true);
	} else {
		ow_pb_fixed64(w->b, f, ns);
	}
}

/* An enum or a 32-bit integer: a number in JSON. */
static void w_enum(struct wr *w, uint32_t f, const char *name, uint32_t v)
{
	if (w->json) {
		jkey(w, name);
		ow_json_u64(w->b, v, false);
	} else {
		ow_pb_uint(w->b, f, v);
	}
}

static void w_int(struct wr *w, int64_t v)
{
	if (w->json) {
		char tmp[32];
		jkey(w, "intValue");
		ow_lit(w->b, tmp, (size_t)snprintf(tmp, sizeof(tmp), "\"%lld\"", (long long)v));
	} else {
		ow_pb_uint(w->b, F_AV_INT, (uint64_t)v); /* int64: two's complement, 10 bytes when negative */
	}
}

static void w_double(struct wr *w, double v)
{
	if (w->json) {
		char tmp[40];
		jkey(w, "doubleValue");
		ow_lit(w->b, tmp, (size_t)snprintf(tmp, sizeof(tmp), "%.17g", v));
	} else {
		uint64_t bits;
		memcpy(&bits, &v, sizeof(bits));
		ow_pb_fixed64(w->b, F_AV_DOUBLE, bits);
	}
}

static void w_bool(struct wr *w, bool v)
{
	if (w->json) {
		jkey(w, "boolValue");
		if (v)
			OW_LIT(w->b, "true");
		else
			OW_LIT(w->b, "false");
	} else {
		ow_pb_uint(w->b, F_AV_BOOL, v);
	}
}

/* --- IDs ------------------------------------------------------------------------ */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static uint64_t fnv1a(const char *p, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ull;
	}
	return h;
}

bool otlp_id(const struct fmt_str *id, uint8_t *out, size_t n)
{
	char small[256];
	const char *p = id->ptr;
	size_t len = id->len;
	uint8_t any = 0;
	uint64_t h1, h2;

	if (len == 2 * n) {
		size_t i;
		for (i = 0; i < n; i++) {
			int hi = hexval(p[2 * i]), lo = hexval(p[2 * i + 1]);
			if (hi < 0 || lo < 0)
				break;
			out[i] = (uint8_t)(hi << 4 | lo);
			any |= out[i];
		}
		if (i == n && any)
			return true;
	}
	if (id->enc != FMT_ENC_RAW && len <= sizeof(small)) {
		len = fmt_str_decode(id, small);
		p = small;
	}
	h1 = fnv1a(p, len, 14695981039346656037ull);
	h2 = fnv1a(p, len, h1);
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)((i < 8 ? h1 : h2) >> (56 - 8 * (i % 8)));
	if (!(h1 | (n > 8 ? h2 : 0)))
		out[n - 1] = 1;
	return false;
}

/* --- attributes ------------------------------------------------------------------ */

/* One KeyValue of the current repeated attributes field @f. */
static void kv_begin(struct wr *w, uint32_t f, const struct fmt_str *key)
{
	w_item(w, f);
	w_str(w, F_KV_KEY, "key", key);
	w_open(w, F_KV_VALUE, "value");
}

static void kv_end(struct wr *w)
{
	w_close(w); /* value */
	w_close(w); /* the KeyValue */
}

static void kv_cstr(struct wr *w, uint32_t f, const char *key, const struct fmt_str *val)
{
	struct fmt_str k = fmt_str_c(key);

	kv_begin(w, f, &k);
	w_str(w, F_AV_STRING, "stringValue", val);
	kv_end(w);
}

/* A number's literal as an int64 or a double. Return: 1 int, 2 double, 0 neither (too long, out of range). */
static int read_number(const struct fmt_str *v, int64_t *i, double *d)
{
	char buf[64], *end;
	bool integral = true;

	if (!v->ptr || v->len == 0 || v->len >= sizeof(buf))
		return 0;
	memcpy(buf, v->ptr, v->len);
	buf[v->len] = '\0';
	for (size_t k = 0; k < v->len; k++)
		if (buf[k] == '.' || buf[k] == 'e' || buf[k] == 'E')
			integral = false;
	if (integral) {
		long long x;
		errno = 0;
		x = strtoll(buf, &end, 10);
		if (!errno && !*end) {
			*i = x;
			return 1;
		}
	}
	errno = 0;
	*d = strtod(buf, &end);
	return !*end && isfinite(*d) ? 2 : 0;
}

/* Attribute @a as a KeyValue, its type kept. */
static void kv_attr(struct wr *w, uint32_t f, const struct fmt_attr *a)
{
	int64_t i;
	double d;

	kv_begin(w, f, &a->key);
	switch (a->type) {
	case FMT_T_NUMBER:
		switch (read_number(&a->val, &i, &d)) {
		case 1:
			w_int(w, i);
			break;
		case 2:
			w_double(w, d);
			break;
		default:
			w_str(w, F_AV_STRING, "stringValue", &a->val); /* 1e999: kept as written */
		}
		break;
	case FMT_T_BOOL:
		w_bool(w, a->val.len && a->val.ptr[0] == 't');
		break;
	case FMT_T_NULL:
		break; /* an empty AnyValue: OTLP's null */
	default:
		/* strings; objects and arrays as their JSON text */
		w_str(w, F_AV_STRING, "stringValue", &a->val);
	}
	kv_end(w);
}

static bool key_is(const struct fmt_attr *a, const char *k)
{
	return fmt_str_eq(&a->key, k, strlen(k));
}

/* The NUL-terminated decoded value of attribute @key if short, else NULL. */
static const char *attr_cstr(const struct fmt_record *r, const char *key, char *buf, size_t cap)
{
	const struct fmt_attr *a = fmt_record_attr(r, key);
	size_t n;

	if (!a || !a->val.ptr || a->val.len >= cap ||
	    (a->type != FMT_T_STRING && a->type != FMT_T_NUMBER && a->type != FMT_T_BOOL))
		return NULL;
	n = fmt_str_decode(&a->val, buf);
	buf[n] = '\0';
	return buf;
}

/* The record's own attributes, then method, path and the originals of hashed IDs. */
static void attrs_common(struct otlp_enc *e, struct wr *w, uint32_t f, bool span, const char *const *hashed,
			 const struct fmt_str *const *orig, size_t nh)
{
	const struct fmt_record *r = &e->rec;

	for (unsigned k = 0; k < r->nattrs; k++) {
		const struct fmt_attr *a = &r->attrs[k];
		if (span &&
		    (key_is(a, "name") || key_is(a, "dur_us") || key_is(a, "status") || key_is(a, "event")))
			continue;
		kv_attr(w, f, a);
	}
	if (r->method.ptr)
		kv_cstr(w, f, "http.request.method", &r->method);
	if (r->path.ptr)
		kv_cstr(w, f, "url.path", &r->path);
	/* a span's message, when its name is not it: a span has no body */
	if (span && r->message.ptr && fmt_record_attr(r, "name"))
		kv_cstr(w, f, "message", &r->message);
	for (size_t k = 0; k < nh; k++)
		kv_cstr(w, f, hashed[k], orig[k]);
}

/* --- records ---------------------------------------------------------------------- */

static void write_span(struct otlp_enc *e, struct wr *w, int64_t observed)
{
	const struct fmt_record *r = &e->rec;
	uint8_t trace[16], span[8], parent[8];
	const char *hashed[3];
	const struct fmt_str *orig[3];
	size_t nh = 0;
	char sbuf[128];
	const char *status = attr_cstr(r, "status", sbuf, sizeof(sbuf));
	const struct fmt_attr *name = fmt_record_attr(r, "name");
	int64_t start = r->has_ts ? r->ts_ns : observed, dur = 0, code;
	double dd;

	if (r->trace.ptr && !otlp_id(&r->trace, trace, 16))
		hashed[nh] = "clew.trace_id", orig[nh++] = &r->trace;
	if (r->span.ptr && !otlp_id(&r->span, span, 8))
		hashed[nh] = "clew.span_id", orig[nh++] = &r->span;
	if (r->parent.ptr && !otlp_id(&r->parent, parent, 8))
		hashed[nh] = "clew.parent_span_id", orig[nh++] = &r->parent;
	e->st->hashed_ids += nh;
	{
		const struct fmt_attr *d = fmt_record_attr(r, "dur_us");
		if (d && read_number(&d->val, &dur, &dd) != 1)
			dur = 0;
		if (dur < 0 || dur > INT64_MAX / 1000 - start / 1000)
			dur = 0;
	}
	w_item(w, F_SCOPE_ITEMS);
	if (r->trace.ptr)
		w_id(w, F_SPAN_TRACE, "traceId", trace, 16);
	if (r->span.ptr)
		w_id(w, F_SPAN_ID, "spanId", span, 8);
	if (r->parent.ptr)
		w_id(w, F_SPAN_PARENT, "parentSpanId", parent, 8);
	if (name && name->val.ptr && name->type == FMT_T_STRING)
		w_str(w, F_SPAN_NAME, "name", &name->val);
	else if (r->message.ptr)
		w_str(w, F_SPAN_NAME, "name", &r->message);
	else
		w_cstr(w, F_SPAN_NAME, "name", "span");
	w_time(w, F_SPAN_START, "startTimeUnixNano", (uint64_t)start);
	w_time(w, F_SPAN_END, "endTimeUnixNano", (uint64_t)(start + dur * 1000));
	w_arr(w, "attributes");
	attrs_common(e, w, F_SPAN_ATTRS, true, hashed, orig, nh);
	if (status &&
	    read_number(&(struct fmt_str){status, (uint32_t)strlen(status), FMT_ENC_RAW}, &code, &dd) == 1) {
		struct fmt_str k = fmt_str_c("http.response.status_code");
		kv_begin(w, F_SPAN_ATTRS, &k);
		w_int(w, code);
		kv_end(w);
	}
	w_arr_end(w);
	if (status && *status && strcmp(status, "unset") != 0) {
		bool failed = qy_status_failed(status);
		bool ok = !strcmp(status, "ok") || !strcmp(status, "OK") || !strcmp(status, "Ok");
		if (failed || ok) {
			w_open(w, F_SPAN_STATUS, "status");
			/* the text itself, unless it only says what the code says ("error") */
			if (failed && strcasecmp(status, "error") != 0)
				w_cstr(w, F_STATUS_MESSAGE, "message", status);
			w_enum(w, F_STATUS_CODE, "code", failed ? 2 : 1);
			w_close(w);
		}
	}
	w_close(w);
	e->st->spans++;
}

static uint32_t severity_of(uint8_t level)
{
	static const uint32_t sev[] = {
		[FMT_LEVEL_TRACE] = 1, [FMT_LEVEL_DEBUG] = 5,  [FMT_LEVEL_INFO] = 9,
		[FMT_LEVEL_WARN] = 13, [FMT_LEVEL_ERROR] = 17, [FMT_LEVEL_FATAL] = 21,
	};

	return level < sizeof(sev) / sizeof(sev[0]) ? sev[level] : 0;
}

/* The body: the message, and its continuation lines after a '\n'. Return: false when out of memory. */
static bool body_of(struct otlp_enc *e, struct fmt_str *out)
{
	const struct fmt_record *r = &e->rec;
	size_t need, n;

	*out = r->message;
	if (!r->cont.ptr)
		return true;
	need = (size_t)r->message.len + 1 + r->cont.len;
	if (need > e->scratch_cap) {
		char *p = realloc(e->scratch, need);
		if (!p)
			return false;
		e->scratch = p;
		e->scratch_cap = need;
	}
	n = r->message.ptr ? fmt_str_decode(&r->message, e->scratch) : 0;
	e->scratch[n++] = '\n';
	n += fmt_str_decode(&r->cont, e->scratch + n);
	*out = fmt_str_n(e->scratch, n);
	return true;
}

static bool write_log(struct otlp_enc *e, struct wr *w, int64_t observed)
{
	const struct fmt_record *r = &e->rec;
	uint8_t trace[16], span[8];
	const char *hashed[2];
	const struct fmt_str *orig[2];
	struct fmt_str body;
	size_t nh = 0;
	uint32_t sev = severity_of(r->level);

	if (!body_of(e, &body))
		return false;
	if (r->trace.ptr && !otlp_id(&r->trace, trace, 16))
		hashed[nh] = "clew.trace_id", orig[nh++] = &r->trace;
	if (r->span.ptr && !otlp_id(&r->span, span, 8))
		hashed[nh] = "clew.span_id", orig[nh++] = &r->span;
	e->st->hashed_ids += nh;
	w_item(w, F_SCOPE_ITEMS);
	if (r->has_ts)
		w_time(w, F_LOG_TIME, "timeUnixNano", (uint64_t)r->ts_ns);
	if (sev)
		w_enum(w, F_LOG_SEVERITY, "severityNumber", sev);
	if (r->level_text.ptr)
		w_str(w, F_LOG_SEVERITY_TEXT, "severityText", &r->level_text);
	else if (*fmt_level_name((enum fmt_level)r->level))
		w_cstr(w, F_LOG_SEVERITY_TEXT, "severityText", fmt_level_name((enum fmt_level)r->level));
	if (body.ptr) {
		w_open(w, F_LOG_BODY, "body");
		w_str(w, F_AV_STRING, "stringValue", &body);
		w_close(w);
	}
	w_arr(w, "attributes");
	attrs_common(e, w, F_LOG_ATTRS, false, hashed, orig, nh);
	w_arr_end(w);
	if (r->trace.ptr)
		w_id(w, F_LOG_TRACE, "traceId", trace, 16);
	if (r->span.ptr)
		w_id(w, F_LOG_SPAN, "spanId", span, 8);
	w_time(w, F_LOG_OBSERVED, "observedTimeUnixNano", (uint64_t)observed);
	w_close(w);
	e->st->logs++;
	return true;
}

/* A line no parser took: its text as the body, why as clew.unparsed, where from as clew.input. */
static void write_unparsed(struct otlp_enc *e, struct wr *w, int64_t observed)
{
	const struct record_src *s = &e->src;
	struct fmt_str why = s->error.ptr ? s->error : fmt_str_c("unparsed");

	w_item(w, F_SCOPE_ITEMS);
	w_open(w, F_LOG_BODY, "body");
	w_str(w, F_AV_STRING, "stringValue", &s->line);
	w_close(w);
	w_arr(w, "attributes");
	kv_cstr(w, F_LOG_ATTRS, "clew.unparsed", &why);
	if (s->input.ptr)
		kv_cstr(w, F_LOG_ATTRS, "clew.input", &s->input);
	w_arr_end(w);
	w_time(w, F_LOG_OBSERVED, "observedTimeUnixNano", (uint64_t)observed);
	w_close(w);
	e->st->logs++;
}

/* --- requests ---------------------------------------------------------------------- */

static int ent_cmp(const void *pa, const void *pb)
{
	const struct ent *a = pa, *b = pb;
	uint32_t n;
	int c;

	if (a->sig != b->sig)
		return a->sig < b->sig ? -1 : 1;
	if (!a->svc != !b->svc)
		return a->svc ? 1 : -1;
	if (a->svc) {
		n = a->svclen < b->svclen ? a->svclen : b->svclen;
		if ((c = memcmp(a->svc, b->svc, n)) != 0)
			return c;
		if (a->svclen != b->svclen)
			return a->svclen < b->svclen ? -1 : 1;
	}
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static bool same_service(const struct ent *a, const struct ent *b)
{
	return a->svclen == b->svclen && !a->svc == !b->svc &&
	       (!a->svc || !memcmp(a->svc, b->svc, a->svclen));
}

/* The request of signal @sig from ents[0..n) (sorted, all of @sig) into @b. Return: 0, -CD_ENOMEM, -CD_ECORRUPT. */
static int write_request(struct otlp_enc *e, enum sig sig, const struct ent *ents, size_t n, int64_t observed,
			 struct ow_buf *b)
{
	struct wr w = {.b = b, .json = e->o.encoding == OTLP_ENC_JSON};
	const bool spans = sig == SIG_SPAN;

	w.first[0] = true;
	if (w.json)
		OW_LIT(b, "{");
	w_arr(&w, spans ? "resourceSpans" : "resourceLogs");
	for (size_t i = 0; i < n;) {
		size_t j = i;
		struct fmt_str svc;

		/* one ResourceSpans per service: resource { service.name }, one scope */
		w_item(&w, F_REQ_RESOURCE);
		w_open(&w, F_RES_RESOURCE, "resource");
		w_arr(&w, "attributes");
		{
			struct chunk_iter it = ents[i].at;
			/* the view of the first record's service, as the record codec gives it */
			if (chunk_iter_next(&it, &e->rec, &e->src) != 1)
				return -CD_ECORRUPT;
			svc = e->src.raw || !e->rec.service.ptr ? fmt_str_c("unknown_service")
								: e->rec.service;
			kv_cstr(&w, F_RESOURCE_ATTRS, "service.name", &svc);
		}
		w_arr_end(&w);
		w_close(&w);
		w_arr(&w, spans ? "scopeSpans" : "scopeLogs");
		w_item(&w, F_RES_SCOPE);
		w_open(&w, F_SCOPE_SCOPE, "scope");
		w_cstr(&w, F_IS_NAME, "name", e->o.scope_name ? e->o.scope_name : "clewd");
		if (e->o.scope_version)
			w_cstr(&w, F_IS_VERSION, "version", e->o.scope_version);
		w_close(&w);
		w_arr(&w, spans ? "spans" : "logRecords");
		for (; j < n && same_service(&ents[i], &ents[j]); j++) {
			struct chunk_iter it = ents[j].at;
			if (chunk_iter_next(&it, &e->rec, &e->src) != 1)
				return -CD_ECORRUPT;
			if (e->src.raw)
				write_unparsed(e, &w, observed);
			else if (spans)
				write_span(e, &w, observed);
			else if (!write_log(e, &w, observed))
				return -CD_ENOMEM;
		}
		w_arr_end(&w);
		w_close(&w); /* ScopeSpans */
		w_arr_end(&w);
		w_close(&w); /* ResourceSpans */
		i = j;
	}
	w_arr_end(&w);
	if (w.json)
		OW_LIT(b, "}");
	return ow_failed(b) ? -CD_ENOMEM : 0;
}

enum otlp_sig otlp_record_signal(const struct otlp_enc *e, const struct fmt_record *r,
				 const struct record_src *src)
{
	enum otlp_sig sig = src->raw			   ? OTLP_SIG_LOGS
			    : r->event == FMT_EVENT_SPAN   ? OTLP_SIG_TRACES
			    : r->event == FMT_EVENT_METRIC ? OTLP_SIG_NONE
							   : OTLP_SIG_LOGS;

	if ((sig == OTLP_SIG_TRACES && !e->o.traces) || (sig == OTLP_SIG_LOGS && !e->o.logs))
		return OTLP_SIG_NONE;
	return sig;
}

int otlp_encode_chunk(struct otlp_enc *e, const struct chunk *c, int64_t observed, struct ow_buf *traces,
		      struct ow_buf *logs, uint32_t *nspans, uint32_t *nlogs, struct otlp_enc_stats *st)
{
	struct chunk_iter it;
	size_t n = 0, ns = 0;
	int rc;

	e->st = st;
	traces->len = logs->len = 0;
	traces->failed = logs->failed = false;
	*nspans = *nlogs = 0;
	chunk_iter_init(&it, c);
	for (;;) {
		struct ent *x = &e->ents[n];

		if (n == CD_CHUNK_RECORDS_MAX)
			return -CD_ECORRUPT; /* more records than a chunk holds */
		x->at = it;
		if ((rc = chunk_iter_next(&it, &e->rec, &e->src)) != 1)
			break;
		x->idx = (uint32_t)n;
		x->svc = e->src.raw ? NULL : e->rec.service.ptr;
		x->svclen = e->src.raw ? 0 : e->rec.service.len;
		x->sig = (enum sig)otlp_record_signal(e, &e->rec, &e->src);
		if (x->sig == SIG_NONE) {
			st->skipped++;
			continue;
		}
		ns += x->sig == SIG_SPAN;
		n++;
	}
	if (rc < 0)
		return -CD_ECORRUPT;
	qsort(e->ents, n, sizeof(*e->ents), ent_cmp);
	if (ns && (rc = write_request(e, SIG_SPAN, e->ents, ns, observed, traces)) < 0)
		return rc;
	if (n > ns && (rc = write_request(e, SIG_LOG, e->ents + ns, n - ns, observed, logs)) < 0)
		return rc;
	*nspans = (uint32_t)ns;
	*nlogs = (uint32_t)(n - ns);
	return 0;
}

int otlp_enc_new(struct otlp_enc **out, const struct otlp_enc_opts *o)
{
	struct otlp_enc *e = calloc(1, sizeof(*e));

	if (!e)
		return -CD_ENOMEM;
	e->o = *o;
	e->ents = calloc(CD_CHUNK_RECORDS_MAX, sizeof(*e->ents));
	if (!e->ents) {
		free(e);
		return -CD_ENOMEM;
	}
	*out = e;
	return 0;
}

void otlp_enc_free(struct otlp_enc *e)
{
	if (!e)
		return;
	free(e->ents);
	free(e->scratch);
	free(e);
}
