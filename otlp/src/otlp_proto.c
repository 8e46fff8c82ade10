/*
 * otlp_proto.c - the protobuf reader: the wire format (varint, fixed32,
 * fixed64, length-delimited) and the fields of the OTLP export requests
 * clew maps (opentelemetry-proto: collector/{trace,logs,metrics}/v1,
 * trace/v1, logs/v1, metrics/v1, common/v1, resource/v1), walked into the
 * record builder (otlp_build.c).
 *
 * DESIGN: no schema compiler, no allocation: a message is a byte range,
 * read field by field. A field may come in any order, so a message whose
 * record needs fields before its attributes is read twice (the scalars,
 * then the repeated parts). Every length is checked against what is left
 * of its enclosing message; unknown fields are skipped by wire type;
 * groups (wire types 3, 4) are refused; AnyValue nesting is bounded by
 * OTLP_DEPTH_MAX. A known field with the wrong wire type makes the
 * request undecodable, as protobuf's own parsers do.
 */
#include <stdio.h>
#include <string.h>

#include "fmt/str.h"
#include "otlp_impl.h"

/* A message being read: the bytes left. */
struct pb {
	const uint8_t *p, *end;
};

/* One field: its number, wire type and value (varint/fixed: u; length-delimited: sub). */
struct pbf {
	uint32_t num;
	uint8_t wt;
	uint64_t u;
	struct pb sub;
};

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

static int varint(struct ob *b, struct pb *r, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t c;

		if (r->p >= r->end)
			return ob_fail(b, r->p, "truncated varint", FMT_EPARSE);
		c = *r->p++;
		if (shift == 63 && c > 1)
			return ob_fail(b, r->p - 1, "varint too long", FMT_EPARSE);
		x |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return ob_fail(b, r->p, "varint too long", FMT_EPARSE);
}

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* The next field of @r into @f. Return: 1, 0 at the end, or a negative code. */
static int next(struct ob *b, struct pb *r, struct pbf *f)
{
	const uint8_t *at = r->p;
	uint64_t tag, n;
	int rc;

	if (r->p >= r->end)
		return 0;
	if ((rc = varint(b, r, &tag)) < 0)
		return rc;
	f->num = (uint32_t)(tag >> 3);
	f->wt = (uint8_t)(tag & 7);
	f->sub.p = f->sub.end = r->p; /* empty unless length-delimited: never read as a message */
	if ((tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
		return ob_fail(b, at, "invalid field number", FMT_EPARSE);
	switch (f->wt) {
	case WT_VARINT:
		return varint(b, r, &f->u) < 0 ? -FMT_EPARSE : 1;
	case WT_I64:
	case WT_I32:
		n = f->wt == WT_I64 ? 8 : 4;
		if ((size_t)(r->end - r->p) < n)
			return ob_fail(b, r->p, "truncated fixed-width field", FMT_EPARSE);
		f->u = le(r->p, (unsigned)n);
		r->p += n;
		return 1;
	case WT_LEN:
		if ((rc = varint(b, r, &n)) < 0)
			return rc;
		if (n > (uint64_t)(r->end - r->p))
			return ob_fail(b, at, "length past the end of its message", FMT_EPARSE);
		f->sub.p = r->p;
		f->sub.end = r->p + n;
		r->p += n;
		return 1;
	default:
		return ob_fail(b, at, "unsupported wire type (group)", FMT_EPARSE);
	}
}

/* Check @f has wire type @wt. */
static int want(struct ob *b, const struct pbf *f, uint8_t wt)
{
	return f->wt == wt ? 0 : ob_fail(b, f->sub.p, "a known field has the wrong wire type", FMT_EPARSE);
}

#define FIELDS(b, r, f, rc) while (((rc) = next((b), (r), (f))) > 0)

static struct fmt_str view(const struct pb *m)
{
	return fmt_str_n((const char *)m->p, (size_t)(m->end - m->p));
}

static int id(struct ob *b, const struct pbf *f, struct otlp_id *out)
{
	size_t n = (size_t)(f->sub.end - f->sub.p);

	if (want(b, f, WT_LEN) < 0)
		return -FMT_EPARSE;
	if (n > sizeof(out->b))
		return 1; /* not an ID: the item is rejected */
	memcpy(out->b, f->sub.p, n);
	out->n = (uint8_t)n;
	return 0;
}

static bool put(char **o, char *end, const char *s, size_t n)
{
	if ((size_t)(end - *o) < n)
		return false;
	memcpy(*o, s, n);
	*o += n;
	return true;
}

static bool put_str(char **o, char *end, struct fmt_str s)
{
	size_t pos = 0;

	if (end - *o < 2)
		return false;
	*(*o)++ = '"';
	if (fmt_json_escape(&s, *o, (size_t)(end - *o), &pos) < 0)
		return false;
	*o += pos;
	return put(o, end, "\"", 1);
}

static bool put_b64(char **o, char *end, const uint8_t *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	if ((size_t)(end - *o) < (n + 2) / 3 * 4 + 2)
		return false;
	*(*o)++ = '"';
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);
		*(*o)++ = tab[v >> 18];
		*(*o)++ = tab[(v >> 12) & 63];
		*(*o)++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		*(*o)++ = i + 2 < n ? tab[v & 63] : '=';
	}
	*(*o)++ = '"';
	return true;
}

/* The oneof field of an AnyValue (the last one set wins). Return: 1 with *f, 0 empty, <0. */
static int any_field(struct ob *b, struct pb m, struct pbf *out)
{
	struct pbf f;
	int rc, found = 0;

	FIELDS(b, &m, &f, rc)
	{
		if (f.num >= 1 && f.num <= 7) {
			static const uint8_t wts[8] = {0,      WT_LEN, WT_VARINT, WT_VARINT,
						       WT_I64, WT_LEN, WT_LEN,	  WT_LEN};

			if (want(b, &f, wts[f.num]) < 0)
				return -FMT_EPARSE;
			*out = f;
			found = 1;
		}
	}
	return rc < 0 ? rc : found;
}

/* A scalar AnyValue field as a type and text (numbers rendered into @t, >= 32 bytes). */
static int scalar(const struct pbf *f, char *t, struct fmt_str *val)
{
	double d;

	switch (f->num) {
	case 1:
		*val = view(&f->sub);
		return FMT_T_STRING;
	case 2:
		*val = fmt_str_c(f->u ? "true" : "false");
		return FMT_T_BOOL;
	case 3:
		*val = fmt_str_n(t, (size_t)snprintf(t, 32, "%lld", (long long)(int64_t)f->u));
		return FMT_T_NUMBER;
	default: /* 4 */
		memcpy(&d, &f->u, sizeof(d));
		if (d != d || d - d != 0) {
			*val = fmt_str_c(d != d ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
			return FMT_T_STRING;
		}
		*val = fmt_str_n(t, ob_dtoa(d, t));
		return FMT_T_NUMBER;
	}
}

/*
 * render() - the AnyValue @m as JSON text at *o (up to @end). Return: 1,
 * 0 when it does not fit, or a negative code (nesting too deep, a bad
 * message).
 */
static int render(struct ob *b, struct pb m, unsigned depth, char **o, char *end)
{
	struct pbf v, f;
	char t[32];
	struct fmt_str s;
	int rc, type;
	bool first = true;

	if (depth > OTLP_DEPTH_MAX)
		return ob_fail(b, m.p, "values nested too deep", FMT_EDEPTH);
	if ((rc = any_field(b, m, &v)) <= 0)
		return rc < 0 ? rc : put(o, end, "null", 4);
	if (v.num <= 4) {
		type = scalar(&v, t, &s);
		return type == FMT_T_STRING ? put_str(o, end, s) : put(o, end, s.ptr, s.len);
	}
	if (v.num == 7)
		return put_b64(o, end, v.sub.p, (size_t)(v.sub.end - v.sub.p));
	if (!put(o, end, v.num == 5 ? "[" : "{", 1))
		return 0;
	FIELDS(b, &v.sub, &f, rc)
	{
		if (f.num != 1)
			continue;
		if (want(b, &f, WT_LEN) < 0)
			return -FMT_EPARSE;
		if (!first && !put(o, end, ",", 1))
			return 0;
		first = false;
		if (v.num == 5) {
			rc = render(b, f.sub, depth + 1, o, end);
		} else { /* a KeyValue */
			struct pbf kf;
			struct pb kv = f.sub, val = {NULL, NULL};
			struct fmt_str key = fmt_str_n("", 0);

			FIELDS(b, &kv, &kf, rc)
			{
				if ((kf.num == 1 || kf.num == 2) && want(b, &kf, WT_LEN) < 0)
					return -FMT_EPARSE;
				if (kf.num == 1)
					key = view(&kf.sub);
				else if (kf.num == 2)
					val = kf.sub;
			}
			if (rc < 0)
				return rc;
			if (!put_str(o, end, key) || !put(o, end, ":", 1))
				return 0;
			rc = val.p ? render(b, val, depth + 1, o, end) : put(o, end, "null", 4);
		}
		if (rc <= 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	return put(o, end, v.num == 5 ? "]" : "}", 1);
}

/* Add the AnyValue @m as the attribute @key. */
static int attr_value(struct ob *b, struct fmt_str key, struct pb m)
{
	struct pbf v;
	char t[32], *start, *o;
	struct fmt_str s;
	int rc, type;

	if ((rc = any_field(b, m, &v)) < 0)
		return rc;
	if (rc == 0) {
		ob_attr(b, key, FMT_T_NULL, fmt_str_c("null"));
		return 0;
	}
	if (v.num <= 4) {
		type = scalar(&v, t, &s);
		if (type == FMT_T_NUMBER)
			s = ob_copy(b, s.ptr, s.len);
		ob_attr(b, key, type, s);
		return 0;
	}
	start = o = b->arena + b->used;
	rc = render(b, m, 0, &o, b->arena + OTLP__ARENA);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		b->rec.flags |= FMT_F_ATTRS_TRUNCATED; /* did not fit the arena */
		return 0;
	}
	b->used += (size_t)(o - start);
	if (v.num == 7) /* bytes: base64, a string without its quotes */
		ob_attr(b, key, FMT_T_STRING, fmt_str_n(start + 1, (size_t)(o - start - 2)));
	else
		ob_attr(b, key, v.num == 5 ? FMT_T_ARRAY : FMT_T_OBJECT,
			fmt_str_n(start, (size_t)(o - start)));
	return 0;
}

/* A KeyValue as an attribute. */
static int key_value(struct ob *b, struct pb m)
{
	struct pbf f;
	struct fmt_str key = {0};
	struct pb val = {NULL, NULL};
	int rc;

	FIELDS(b, &m, &f, rc)
	{
		if ((f.num == 1 || f.num == 2) && want(b, &f, WT_LEN) < 0)
			return -FMT_EPARSE;
		if (f.num == 1)
			key = view(&f.sub);
		else if (f.num == 2)
			val = f.sub;
	}
	if (rc < 0)
		return rc;
	if (!key.ptr)
		key = fmt_str_n("", 0);
	if (!val.p) {
		ob_attr(b, key, FMT_T_NULL, fmt_str_c("null"));
		return 0;
	}
	return attr_value(b, key, val);
}

/* Every KeyValue of field @num of @m as attributes. */
static int attrs(struct ob *b, struct pb m, uint32_t num)
{
	struct pbf f;
	int rc;

	FIELDS(b, &m, &f, rc)
	{
		if (f.num != num)
			continue;
		if (want(b, &f, WT_LEN) < 0 || key_value(b, f.sub) < 0)
			return -FMT_EPARSE;
	}
	return rc;
}

/* The service.name of a Resource (field 1 of Resource*: its attributes). */
static int resource(struct ob *b, struct pb m)
{
	struct pbf f, kf, vf;
	int rc;

	FIELDS(b, &m, &f, rc)
	{
		struct pb kv = f.sub, key = {NULL, NULL}, val = {NULL, NULL};

		if (f.num != 1)
			continue;
		if (want(b, &f, WT_LEN) < 0)
			return -FMT_EPARSE;
		FIELDS(b, &kv, &kf, rc)
		{
			if ((kf.num == 1 || kf.num == 2) && want(b, &kf, WT_LEN) < 0)
				return -FMT_EPARSE;
			if (kf.num == 1)
				key = kf.sub;
			else if (kf.num == 2)
				val = kf.sub;
		}
		if (rc < 0)
			return rc;
		if (key.p && val.p && ob_is_service(view(&key))) {
			if ((rc = any_field(b, val, &vf)) < 0)
				return rc;
			if (rc && vf.num == 1)
				b->service = view(&vf.sub);
		}
	}
	return rc;
}

/* A Span, its record and its events' records. */
static int span(struct ob *b, struct pb m)
{
	struct otlp_span s;
	struct pbf f, ef;
	struct pb r = m;
	int rc, bad = 0;

	memset(&s, 0, sizeof(s));
	FIELDS(b, &r, &f, rc)
	{
		switch (f.num) {
		case 1:
			bad |= id(b, &f, &s.trace);
			break;
		case 2:
			bad |= id(b, &f, &s.span);
			break;
		case 4:
			bad |= id(b, &f, &s.parent);
			break;
		case 5:
			bad |= want(b, &f, WT_LEN);
			s.name = view(&f.sub);
			break;
		case 6:
			bad |= want(b, &f, WT_VARINT);
			s.kind = (int)f.u;
			break;
		case 7:
		case 8:
			bad |= want(b, &f, WT_I64);
			*(f.num == 7 ? &s.start : &s.end) = f.u;
			break;
		case 15: {
			struct pb st = f.sub;
			struct pbf sf;

			if ((bad |= want(b, &f, WT_LEN)) < 0)
				return -FMT_EPARSE;
			FIELDS(b, &st, &sf, rc)
			{
				if (sf.num == 2 && want(b, &sf, WT_LEN) == 0)
					s.status_msg = view(&sf.sub);
				else if (sf.num == 3 && want(b, &sf, WT_VARINT) == 0)
					s.status = (int)sf.u;
			}
			break;
		}
		}
		if (bad < 0 || rc < 0 || b->err)
			return -FMT_EPARSE;
	}
	if (rc < 0)
		return rc;
	b->res->items++;
	if (bad || !s.trace.n || !s.span.n || !ob_ids_ok(&s.trace, &s.span, &s.parent)) {
		ob_reject(b, "a span without a valid traceId and spanId");
		return 0;
	}
	ob_span(b, &s);
	if ((rc = attrs(b, m, 9)) < 0 || (rc = ob_end(b)) < 0)
		return rc;
	r = m;
	FIELDS(b, &r, &f, rc)
	{
		struct pb ev;
		uint64_t t = 0;
		struct fmt_str name = fmt_str_n("", 0);

		if (f.num != 11)
			continue;
		if (want(b, &f, WT_LEN) < 0)
			return -FMT_EPARSE;
		ev = f.sub;
		FIELDS(b, &ev, &ef, rc)
		{
			if (ef.num == 1 && want(b, &ef, WT_I64) == 0)
				t = ef.u;
			else if (ef.num == 2 && want(b, &ef, WT_LEN) == 0)
				name = view(&ef.sub);
		}
		if (rc < 0 || b->err)
			return -FMT_EPARSE;
		ob_span_event(b, &s, name, t);
		if ((rc = attrs(b, f.sub, 3)) < 0 || (rc = ob_end(b)) < 0)
			return rc;
	}
	return rc;
}

/* A LogRecord. */
static int log_record(struct ob *b, struct pb m)
{
	struct otlp_id trace = {{0}, 0}, sp = {{0}, 0};
	struct pb r = m, body = {NULL, NULL};
	struct fmt_str sev_text = {0}, event = {0};
	uint64_t t = 0, observed = 0;
	int64_t sev = 0;
	struct pbf f, v;
	int rc, bad = 0;

	FIELDS(b, &r, &f, rc)
	{
		switch (f.num) {
		case 1:
		case 11:
			bad |= want(b, &f, WT_I64);
			*(f.num == 1 ? &t : &observed) = f.u;
			break;
		case 2:
			bad |= want(b, &f, WT_VARINT);
			sev = (int64_t)f.u;
			break;
		case 3:
		case 12:
			bad |= want(b, &f, WT_LEN);
			*(f.num == 3 ? &sev_text : &event) = view(&f.sub);
			break;
		case 5:
			bad |= want(b, &f, WT_LEN);
			body = f.sub;
			break;
		case 9:
			bad |= id(b, &f, &trace);
			break;
		case 10:
			bad |= id(b, &f, &sp);
			break;
		}
		if (bad < 0 || b->err)
			return -FMT_EPARSE;
	}
	if (rc < 0)
		return rc;
	b->res->items++;
	if (bad || !ob_ids_ok(&trace, &sp, NULL)) {
		ob_reject(b, "a log record with an invalid traceId or spanId");
		return 0;
	}
	ob_begin(b, FMT_EVENT_LOG);
	ob_ids(b, &trace, &sp, NULL);
	ob_time(b, t ? t : observed);
	ob_severity(b, sev, sev_text);
	if (event.ptr && event.len)
		ob_attr(b, fmt_str_c("event_name"), FMT_T_STRING, event);
	if (body.p && (rc = any_field(b, body, &v)) < 0)
		return rc;
	if (body.p && rc > 0) {
		if (v.num == 1) {
			b->rec.message = view(&v.sub);
		} else if (v.num == 6) { /* a map body: its fields are attributes */
			if ((rc = attrs(b, v.sub, 1)) < 0)
				return rc;
		} else {
			char *start = b->arena + b->used, *o = start;

			if ((rc = render(b, body, 0, &o, b->arena + OTLP__ARENA)) < 0)
				return rc;
			if (rc > 0) {
				b->used += (size_t)(o - start);
				b->rec.message = fmt_str_n(start, (size_t)(o - start));
			}
		}
	}
	if ((rc = attrs(b, m, 6)) < 0)
		return rc;
	return ob_end(b);
}

/* The doubles or fixed64s of a repeated field, packed or not (the first FMT_ATTRS_MAX). */
struct rep {
	uint64_t v[FMT_ATTRS_MAX];
	unsigned n;
};

static int rep_add(struct ob *b, struct rep *r, const struct pbf *f)
{
	const uint8_t *p;

	if (f->wt == WT_I64) {
		if (r->n < FMT_ATTRS_MAX)
			r->v[r->n++] = f->u;
		return 0;
	}
	if (want(b, f, WT_LEN) < 0)
		return -FMT_EPARSE;
	if ((f->sub.end - f->sub.p) % 8)
		return ob_fail(b, f->sub.p, "a packed fixed64 field of a bad length", FMT_EPARSE);
	for (p = f->sub.p; p < f->sub.end && r->n < FMT_ATTRS_MAX; p += 8)
		r->v[r->n++] = le(p, 8);
	return 0;
}

/* One data point of metric @name of data kind @data (Metric's field number) and @type. */
static int data_point(struct ob *b, struct pb m, struct fmt_str name, uint32_t data, const char *type)
{
	struct pb r = m;
	struct pbf f;
	uint64_t t = 0, count = 0, value = 0;
	bool has_sum = false, is_int = false, has_value = false;
	double sum = 0, d;
	struct rep buckets, bounds;
	uint32_t attr_field = data == 10 ? 1 : data == 9 ? 9 : 7;
	int rc;

	buckets.n = bounds.n = 0;
	FIELDS(b, &r, &f, rc)
	{
		if (f.num == 3 && want(b, &f, WT_I64) == 0) {
			t = f.u;
		} else if (data <= 7 && (f.num == 4 || f.num == 6) && want(b, &f, WT_I64) == 0) {
			value = f.u;
			is_int = f.num == 6;
			has_value = true;
		} else if (data > 7 && f.num == 4 && want(b, &f, WT_I64) == 0) {
			count = f.u;
		} else if (data > 7 && f.num == 5 && want(b, &f, WT_I64) == 0) {
			memcpy(&sum, &f.u, sizeof(sum));
			has_sum = true;
		} else if (data == 9 && (f.num == 6 || f.num == 7)) {
			if (rep_add(b, f.num == 6 ? &buckets : &bounds, &f) < 0)
				return -FMT_EPARSE;
		}
		if (b->err)
			return -FMT_EPARSE;
	}
	if (rc < 0)
		return rc;
	b->res->items++;
	if (data <= 7 && !has_value) {
		ob_reject(b, "a data point without a value");
		return 0;
	}
	ob_begin(b, FMT_EVENT_METRIC);
	b->rec.level = FMT_LEVEL_INFO;
	ob_time(b, t);
	ob_attr(b, fmt_str_c("metric"), FMT_T_STRING, name);
	ob_attr_cstr(b, "type", type);
	if (data <= 7) {
		memcpy(&d, &value, sizeof(d));
		if (is_int)
			ob_attr_i64(b, "value", (int64_t)value);
		else
			ob_attr_double(b, "value", d);
	} else {
		ob_attr_u64(b, "value", count);
		ob_attr_u64(b, "count", count);
		if (has_sum)
			ob_attr_double(b, "sum", sum);
		/* clew's buckets are cumulative, OTLP's per bucket */
		uint64_t total = 0;

		for (unsigned i = 0; data == 9 && i < buckets.n; i++) {
			char key[40] = "le_";
			uint64_t c = buckets.v[i];

			total += c;
			if (i < bounds.n) {
				memcpy(&d, &bounds.v[i], sizeof(d));
				ob_dtoa(d, key + 3);
			} else {
				strcpy(key + 3, "+Inf");
			}
			{
				struct fmt_str k = ob_copy(b, key, strlen(key));
				char tn[24];
				int n = snprintf(tn, sizeof(tn), "%llu", (unsigned long long)total);

				ob_attr(b, k, FMT_T_NUMBER, ob_copy(b, tn, (size_t)n));
			}
		}
	}
	if ((rc = attrs(b, m, attr_field)) < 0)
		return rc;
	return ob_end(b);
}

/* A Metric: each data point a record. */
static int metric(struct ob *b, struct pb m)
{
	struct pb r = m;
	struct pbf f, df;
	struct fmt_str name = fmt_str_n("", 0);
	int rc;

	FIELDS(b, &r, &f, rc)
	{
		if (f.num == 1 && want(b, &f, WT_LEN) == 0)
			name = view(&f.sub);
	}
	if (rc < 0 || b->err)
		return -FMT_EPARSE;
	r = m;
	FIELDS(b, &r, &f, rc)
	{
		const char *type;
		struct pb d;
		bool monotonic = false;

		if (f.num != 5 && f.num != 7 && f.num != 9 && f.num != 10 && f.num != 11)
			continue;
		if (want(b, &f, WT_LEN) < 0)
			return -FMT_EPARSE;
		d = f.sub;
		FIELDS(b, &d, &df, rc)
		{
			if (f.num == 7 && df.num == 3 && want(b, &df, WT_VARINT) == 0)
				monotonic = df.u != 0;
		}
		if (rc < 0 || b->err)
			return -FMT_EPARSE;
		type = f.num == 5    ? "gauge"
		       : f.num == 7  ? (monotonic ? "counter" : "gauge")
		       : f.num == 11 ? "summary"
				     : "histogram";
		d = f.sub;
		FIELDS(b, &d, &df, rc)
		{
			if (df.num != 1)
				continue;
			if (want(b, &df, WT_LEN) < 0)
				return -FMT_EPARSE;
			/* summaries read like histograms (count, sum: fields 4, 5), exponential ones too */
			if ((rc = data_point(b, df.sub, name, f.num == 11 ? 11 : f.num, type)) < 0)
				return rc;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

/* Scope* (field 2: the items) -> @item. */
typedef int (*item_fn)(struct ob *b, struct pb m);

static int scope(struct ob *b, struct pb m, item_fn item)
{
	struct pbf f;
	int rc;

	FIELDS(b, &m, &f, rc)
	{
		if (f.num != 2)
			continue;
		if (want(b, &f, WT_LEN) < 0 || (rc = item(b, f.sub)) < 0)
			return -FMT_EPARSE;
	}
	return rc;
}

int otlp__proto(struct ob *b, enum otlp_kind kind, const uint8_t *p, size_t len)
{
	static const item_fn items[] = {span, log_record, metric};
	struct pb req = {p, p + len};
	struct pbf f, rf;
	int rc;

	FIELDS(b, &req, &f, rc)
	{
		struct pb rs;

		if (f.num != 1)
			continue;
		if (want(b, &f, WT_LEN) < 0)
			return -FMT_EPARSE;
		b->service = (struct fmt_str){0};
		rs = f.sub;
		FIELDS(b, &rs, &rf, rc)
		{
			if (rf.num == 1 && (want(b, &rf, WT_LEN) < 0 || resource(b, rf.sub) < 0))
				return -FMT_EPARSE;
		}
		if (rc < 0)
			return rc;
		rs = f.sub;
		FIELDS(b, &rs, &rf, rc)
		{
			/* 1000: the deprecated instrumentation_library_* of old senders, the same shape */
			if (rf.num != 2 && rf.num != 1000)
				continue;
			if (want(b, &rf, WT_LEN) < 0 || scope(b, rf.sub, items[kind]) < 0)
				return -FMT_EPARSE;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}
