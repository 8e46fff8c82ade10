/*
 * otlp_json.c - the OTLP/JSON reader (the protobuf JSON mapping the OTLP
 * specification fixes: lowerCamelCase keys, trace and span IDs as hex,
 * 64-bit integers as strings or numbers, enums as integers), walked into
 * the record builder (otlp_build.c).
 *
 * DESIGN: the body is checked once by formats/'s strict scanner
 * (fmt_json_validate(): RFC 8259, UTF-8, nesting at most 128), so the walk
 * that follows trusts the syntax and only looks for the members it maps;
 * strings stay views into the body (JSON-escaped when they hold a
 * backslash). Tolerated beyond the spec, as some senders do it: IDs in
 * base64, enums by name. A member of an unexpected JSON type is ignored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/json.h"
#include "fmt/str.h"
#include "otlp_impl.h"

/* A value of the (validated) body: [start, end). */
struct jv {
	size_t start, end;
};

/* An object's or array's members, one by one. */
struct jit {
	const char *s;
	size_t len, p;
	bool obj;
};

static size_t ws(const char *s, size_t len, size_t p)
{
	while (p < len && (s[p] == ' ' || s[p] == '\n' || s[p] == '\r' || s[p] == '\t'))
		p++;
	return p;
}

/* Bytes of a number or a literal (true, false, null) of a valid document. */
static const bool word[256] = {
	['-'] = 1, ['+'] = 1, ['.'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
	['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['a'] = 1, ['e'] = 1, ['E'] = 1,
	['f'] = 1, ['l'] = 1, ['n'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
};

/* The end of the string whose opening quote is at @p (valid: it is closed). */
static size_t skip_string(const char *s, size_t len, size_t p)
{
	for (p++;;) {
		const char *q = memchr(s + p, '"', len - p);
		size_t e = (size_t)(q - s), k = e;

		while (k > p && s[k - 1] == '\\')
			k--;
		if ((e - k) % 2 == 0) /* an even run of backslashes escapes none of the quote */
			return e + 1;
		p = e + 1;
	}
}

/*
 * The containers of the document being read: where each object and array
 * opens and closes, in the order they open, found by one pass before the
 * walk. Without it every level of the walk would scan what is below it
 * again (a span's attributes once per enclosing level); with it skipping a
 * container is a binary search. Per thread: tracegrep decodes in several.
 */
struct jpair {
	uint32_t open, end; /* end: just past the closing bracket */
};

static _Thread_local struct {
	struct jpair *v;
	size_t n;
} idx;

/* Index the containers of the valid document @s. Return: false when out of memory. */
static bool index_build(const char *s, size_t len)
{
	uint32_t stack[FMT_JSON_DEPTH_MAX + 1];
	size_t cap = 64, depth = 0;

	idx.n = 0;
	idx.v = malloc(cap * sizeof(*idx.v));
	if (!idx.v)
		return false;
	for (size_t p = 0; p < len;) {
		const char c = s[p];

		if (c == '"') {
			p = skip_string(s, len, p);
			continue;
		}
		if (c == '{' || c == '[') {
			if (idx.n == cap) {
				struct jpair *v = realloc(idx.v, 2 * cap * sizeof(*v));
				if (!v)
					return false;
				idx.v = v;
				cap *= 2;
			}
			stack[depth++] = (uint32_t)idx.n;
			idx.v[idx.n++] = (struct jpair){(uint32_t)p, 0};
		} else if (c == '}' || c == ']') {
			idx.v[stack[--depth]].end = (uint32_t)(p + 1);
		}
		p++;
	}
	return true;
}

/* The end of the container that opens at @p. */
static size_t container_end(size_t p)
{
	size_t lo = 0, hi = idx.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (idx.v[mid].open < p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return idx.v[lo].end;
}

/* The end of the valid value at @p (scanned once by fmt_json_validate(): no checks here). */
static size_t skip(const char *s, size_t len, size_t p)
{
	unsigned char c = (unsigned char)s[p];

	if (c == '"')
		return skip_string(s, len, p);
	if (c == '{' || c == '[')
		return container_end(p);
	while (p < len && word[(unsigned char)s[p]])
		p++;
	return p;
}

static bool it_open(struct jit *it, const char *s, size_t len, struct jv v)
{
	if (!v.end || (s[v.start] != '{' && s[v.start] != '['))
		return false;
	it->s = s;
	it->len = v.end;
	it->p = v.start + 1;
	it->obj = s[v.start] == '{';
	(void)len;
	return true;
}

/* The next member (@key set for an object) or element. */
static bool it_next(struct jit *it, struct fmt_str *key, struct jv *v)
{
	const char *s = it->s;
	size_t p = ws(s, it->len, it->p);

	if (s[p] == ',')
		p = ws(s, it->len, p + 1);
	if (s[p] == '}' || s[p] == ']')
		return false;
	if (it->obj) {
		size_t k = p + 1, e = skip(s, it->len, p);

		key->ptr = s + k;
		key->len = (uint32_t)(e - 1 - k);
		key->enc = memchr(s + k, '\\', e - 1 - k) ? FMT_ENC_JSON : FMT_ENC_RAW;
		p = ws(s, it->len, ws(s, it->len, e) + 1); /* past ':' */
	}
	v->start = p;
	v->end = skip(s, it->len, p);
	it->p = v->end;
	return true;
}

#define KEY(k, lit) fmt_str_eq(&(k), lit, sizeof(lit) - 1)
/* Each member (k, m) of the object or array @v; nothing when @v is neither. */
#define MEMBERS(it, s, len, v, k, m)                                                                        \
	for (struct jit it, *it##_once = it_open(&it, s, len, v) ? &it : NULL; it##_once; it##_once = NULL) \
		while (it_next(&it, &k, &m))

/* A string value's inside as a view (NULL ptr when not a string). */
static struct fmt_str jstr(const char *s, struct jv v)
{
	struct fmt_str r = {NULL, 0, FMT_ENC_RAW};

	if (!v.end || s[v.start] != '"')
		return r;
	r.ptr = s + v.start + 1;
	r.len = (uint32_t)(v.end - v.start - 2);
	r.enc = memchr(r.ptr, '\\', r.len) ? FMT_ENC_JSON : FMT_ENC_RAW;
	return r;
}

/* The digits of an integer given as a number or a string ("-"? digits). */
static bool jint(const char *s, struct jv v, struct fmt_str *out)
{
	size_t a = v.start, e = v.end;

	if (!e)
		return false;
	if (s[a] == '"') {
		a++;
		e--;
	}
	if (a >= e)
		return false;
	for (size_t i = a + (s[a] == '-'); i < e; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	if (s[a] == '-' && e - a < 2)
		return false;
	*out = fmt_str_n(s + a, e - a);
	return true;
}

static uint64_t ju64(const char *s, struct jv v)
{
	struct fmt_str d;
	uint64_t x = 0;

	if (!jint(s, v, &d) || d.ptr[0] == '-')
		return 0;
	for (size_t i = 0; i < d.len; i++) {
		if (x > (UINT64_MAX - 9) / 10)
			return UINT64_MAX;
		x = x * 10 + (uint64_t)(d.ptr[i] - '0');
	}
	return x;
}

/* An enum: its integer, or its name by @names (matched as suffixes of the name). */
static int64_t jenum(const char *s, struct jv v, const char *const *names, size_t n)
{
	struct fmt_str d = jstr(s, v);
	int64_t x = 0;

	if (!v.end)
		return 0;
	if (d.ptr && !jint(s, v, &(struct fmt_str){0})) {
		for (size_t i = n; i-- > 0;) { /* longest names last in the tables: INFO2 before INFO */
			size_t l = strlen(names[i]);

			if (l && d.len >= l && memcmp(d.ptr + d.len - l, names[i], l) == 0 &&
			    (d.len == l || d.ptr[d.len - l - 1] == '_'))
				return (int64_t)i;
		}
		return 0;
	}
	if (!jint(s, v, &d))
		return 0;
	for (size_t i = d.ptr[0] == '-'; i < d.len && x < 1000000; i++)
		x = x * 10 + (d.ptr[i] - '0');
	return d.ptr[0] == '-' ? -x : x;
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int unb64(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' || c == '-' ? 62 : c == '/' || c == '_' ? 63 : -1;
}

/* An ID: hex (the spec), else base64 (some senders). Return: 0, or 1 when it is no ID. */
static int jid(const char *s, struct jv v, struct otlp_id *out)
{
	struct fmt_str d = jstr(s, v);
	size_t i, n = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	bool hex = true;

	out->n = 0;
	if (!d.ptr || d.enc != FMT_ENC_RAW)
		return d.ptr ? 1 : 0;
	for (i = 0; i < d.len && hex; i++)
		hex = unhex(d.ptr[i]) >= 0;
	if (hex && d.len % 2 == 0 && d.len <= 32) {
		for (i = 0; i < d.len; i += 2)
			out->b[i / 2] = (uint8_t)(unhex(d.ptr[i]) << 4 | unhex(d.ptr[i + 1]));
		out->n = (uint8_t)(d.len / 2);
		return 0;
	}
	for (i = 0; i < d.len && d.ptr[i] != '='; i++) {
		int x = unb64(d.ptr[i]);

		if (x < 0)
			return 1;
		acc = acc << 6 | (uint32_t)x;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == sizeof(out->b))
				return 1;
			out->b[n++] = (uint8_t)(acc >> bits);
		}
	}
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

/* The one member of an AnyValue object that holds its value. */
static bool any_member(const char *s, struct jv any, struct fmt_str *k, struct jv *v)
{
	struct fmt_str key;
	struct jv m;
	bool found = false;

	MEMBERS(it, s, 0, any, key, m)
	{
		if (key.len >= 8 && key.len <= 11 && key.ptr[key.len - 5] == 'V') { /* ...Value */
			*k = key;
			*v = m;
			found = true;
		}
	}
	return found;
}

/* The AnyValue @any as JSON text at *o. Return: 1, 0 when full, <0 too deep. */
static int render(struct ob *b, const char *s, struct jv any, unsigned depth, char **o, char *end)
{
	struct fmt_str k, key, d;
	struct jv v, m, el;
	bool first = true;
	int rc;

	if (depth > OTLP_DEPTH_MAX)
		return ob_fail(b, s + any.start, "values nested too deep", FMT_EDEPTH);
	if (!any_member(s, any, &k, &v))
		return put(o, end, "null", 4);
	if (KEY(k, "intValue") && jint(s, v, &d))
		return put(o, end, d.ptr, d.len);
	if (KEY(k, "arrayValue") || KEY(k, "kvlistValue")) {
		bool arr = KEY(k, "arrayValue");

		if (!put(o, end, arr ? "[" : "{", 1))
			return 0;
		MEMBERS(it, s, 0, v, key, m)
		{
			if (!KEY(key, "values"))
				continue;
			MEMBERS(ai, s, 0, m, key, el)
			{
				if (!first && !put(o, end, ",", 1))
					return 0;
				first = false;
				if (arr) {
					rc = render(b, s, el, depth + 1, o, end);
				} else {
					struct fmt_str kk = {NULL, 0, 0}, kn;
					struct jv kv = {0, 0}, km;

					MEMBERS(ki, s, 0, el, kn, km)
					{
						if (KEY(kn, "key"))
							kk = jstr(s, km);
						else if (KEY(kn, "value"))
							kv = km;
					}
					if (!kk.ptr)
						kk = fmt_str_n("", 0);
					if (!put(o, end, "\"", 1) || !put(o, end, kk.ptr, kk.len) ||
					    !put(o, end, "\":", 2))
						return 0;
					rc = kv.end ? render(b, s, kv, depth + 1, o, end)
						    : put(o, end, "null", 4);
				}
				if (rc <= 0)
					return rc;
			}
		}
		return put(o, end, arr ? "]" : "}", 1);
	}
	/* strings (also bytes, and doubles as "NaN"), numbers and literals are JSON already */
	return put(o, end, s + v.start, v.end - v.start);
}

/* Add the AnyValue @any as the attribute @key. */
static int attr_value(struct ob *b, const char *s, struct fmt_str key, struct jv any)
{
	struct fmt_str k, d;
	struct jv v;
	char *start, *o;
	int rc;

	if (!any_member(s, any, &k, &v)) {
		ob_attr(b, key, FMT_T_NULL, fmt_str_c("null"));
		return 0;
	}
	if (s[v.start] == '"' && !KEY(k, "intValue")) {
		ob_attr(b, key, FMT_T_STRING, jstr(s, v));
		return 0;
	}
	if (KEY(k, "intValue") && jint(s, v, &d)) {
		ob_attr(b, key, FMT_T_NUMBER, d);
		return 0;
	}
	if (KEY(k, "boolValue") || KEY(k, "doubleValue") || KEY(k, "intValue")) {
		ob_attr(b, key, s[v.start] == 't' || s[v.start] == 'f' ? FMT_T_BOOL : FMT_T_NUMBER,
			fmt_str_n(s + v.start, v.end - v.start));
		return 0;
	}
	start = o = b->arena + b->used;
	if ((rc = render(b, s, any, 0, &o, b->arena + OTLP__ARENA)) < 0)
		return rc;
	if (rc == 0) {
		b->rec.flags |= FMT_F_ATTRS_TRUNCATED;
		return 0;
	}
	b->used += (size_t)(o - start);
	ob_attr(b, key, KEY(k, "arrayValue") ? FMT_T_ARRAY : FMT_T_OBJECT,
		fmt_str_n(start, (size_t)(o - start)));
	return 0;
}

/* The KeyValues of the array @arr as attributes. */
static int attrs(struct ob *b, const char *s, struct jv arr)
{
	struct fmt_str k;
	struct jv el, m;
	int rc;

	MEMBERS(it, s, 0, arr, k, el)
	{
		struct fmt_str key = fmt_str_n("", 0), kn;
		struct jv val = {0, 0};

		MEMBERS(ki, s, 0, el, kn, m)
		{
			if (KEY(kn, "key") && s[m.start] == '"')
				key = jstr(s, m);
			else if (KEY(kn, "value"))
				val = m;
		}
		if (!val.end)
			ob_attr(b, key, FMT_T_NULL, fmt_str_c("null"));
		else if ((rc = attr_value(b, s, key, val)) < 0)
			return rc;
	}
	return 0;
}

/* The member @name of the object @obj ({0, 0} when absent; the first, when repeated). */
static struct jv member(const char *s, struct jv obj, const char *name)
{
	struct fmt_str k;
	struct jv m, r = {0, 0};
	size_t n = strlen(name);

	MEMBERS(it, s, 0, obj, k, m)
	{
		if (fmt_str_eq(&k, name, n)) {
			r = m;
			break;
		}
	}
	return r;
}

static void resource(struct ob *b, const char *s, struct jv res)
{
	struct fmt_str k;
	struct jv el;

	MEMBERS(it, s, 0, member(s, res, "attributes"), k, el)
	{
		struct jv key = member(s, el, "key"), val;
		struct fmt_str ks = jstr(s, key), vk;

		if (!ks.ptr || !ob_is_service(ks))
			continue;
		if (any_member(s, member(s, el, "value"), &vk, &val) && KEY(vk, "stringValue"))
			b->service = jstr(s, val);
	}
}

static const char *const kinds[] = {"UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"};
static const char *const codes[] = {"UNSET", "OK", "ERROR"};

static int span(struct ob *b, const char *s, struct jv sp)
{
	struct otlp_span x;
	struct fmt_str k;
	struct jv m, attr = {0, 0}, events = {0, 0}, ev;
	int bad = 0, rc;

	memset(&x, 0, sizeof(x));
	MEMBERS(it, s, 0, sp, k, m)
	{
		if (KEY(k, "traceId"))
			bad |= jid(s, m, &x.trace);
		else if (KEY(k, "spanId"))
			bad |= jid(s, m, &x.span);
		else if (KEY(k, "parentSpanId"))
			bad |= jid(s, m, &x.parent);
		else if (KEY(k, "name"))
			x.name = jstr(s, m);
		else if (KEY(k, "kind"))
			x.kind = (int)jenum(s, m, kinds, 6);
		else if (KEY(k, "startTimeUnixNano"))
			x.start = ju64(s, m);
		else if (KEY(k, "endTimeUnixNano"))
			x.end = ju64(s, m);
		else if (KEY(k, "attributes"))
			attr = m;
		else if (KEY(k, "events"))
			events = m;
		else if (KEY(k, "status")) {
			x.status = (int)jenum(s, member(s, m, "code"), codes, 3);
			x.status_msg = jstr(s, member(s, m, "message"));
		}
	}
	b->res->items++;
	if (bad || !x.trace.n || !x.span.n || !ob_ids_ok(&x.trace, &x.span, &x.parent)) {
		ob_reject(b, "a span without a valid traceId and spanId");
		return 0;
	}
	ob_span(b, &x);
	if ((rc = attrs(b, s, attr)) < 0 || (rc = ob_end(b)) < 0)
		return rc;
	MEMBERS(it, s, 0, events, k, ev)
	{
		struct fmt_str name = jstr(s, member(s, ev, "name"));

		ob_span_event(b, &x, name.ptr ? name : fmt_str_n("", 0),
			      ju64(s, member(s, ev, "timeUnixNano")));
		if ((rc = attrs(b, s, member(s, ev, "attributes"))) < 0 || (rc = ob_end(b)) < 0)
			return rc;
	}
	return 0;
}

static const char *const sevs[] = {"",	     "TRACE",  "TRACE2", "TRACE3", "TRACE4", "DEBUG",  "DEBUG2",
				   "DEBUG3", "DEBUG4", "INFO",	 "INFO2",  "INFO3",  "INFO4",  "WARN",
				   "WARN2",  "WARN3",  "WARN4",	 "ERROR",  "ERROR2", "ERROR3", "ERROR4",
				   "FATAL",  "FATAL2", "FATAL3", "FATAL4"};

static int log_record(struct ob *b, const char *s, struct jv lr)
{
	struct otlp_id trace = {{0}, 0}, sp = {{0}, 0};
	struct fmt_str k, text = {0}, event = {0}, bk;
	struct jv m, attr = {0, 0}, body = {0, 0}, bv;
	uint64_t t = 0, observed = 0;
	int64_t sev = 0;
	int bad = 0, rc;

	MEMBERS(it, s, 0, lr, k, m)
	{
		if (KEY(k, "timeUnixNano"))
			t = ju64(s, m);
		else if (KEY(k, "observedTimeUnixNano"))
			observed = ju64(s, m);
		else if (KEY(k, "severityNumber"))
			sev = jenum(s, m, sevs, sizeof(sevs) / sizeof(sevs[0]));
		else if (KEY(k, "severityText"))
			text = jstr(s, m);
		else if (KEY(k, "eventName"))
			event = jstr(s, m);
		else if (KEY(k, "body"))
			body = m;
		else if (KEY(k, "attributes"))
			attr = m;
		else if (KEY(k, "traceId"))
			bad |= jid(s, m, &trace);
		else if (KEY(k, "spanId"))
			bad |= jid(s, m, &sp);
	}
	b->res->items++;
	if (bad || !ob_ids_ok(&trace, &sp, NULL)) {
		ob_reject(b, "a log record with an invalid traceId or spanId");
		return 0;
	}
	ob_begin(b, FMT_EVENT_LOG);
	ob_ids(b, &trace, &sp, NULL);
	ob_time(b, t ? t : observed);
	ob_severity(b, sev, text);
	if (event.ptr && event.len)
		ob_attr(b, fmt_str_c("event_name"), FMT_T_STRING, event);
	if (body.end && any_member(s, body, &bk, &bv)) {
		if (KEY(bk, "stringValue")) {
			b->rec.message = jstr(s, bv);
		} else if (KEY(bk, "kvlistValue")) { /* a map body: its fields are attributes */
			if ((rc = attrs(b, s, member(s, bv, "values"))) < 0)
				return rc;
		} else {
			char *start = b->arena + b->used, *o = start;

			if ((rc = render(b, s, body, 0, &o, b->arena + OTLP__ARENA)) < 0)
				return rc;
			if (rc > 0) {
				b->used += (size_t)(o - start);
				b->rec.message = fmt_str_n(start, (size_t)(o - start));
			}
		}
	}
	if ((rc = attrs(b, s, attr)) < 0)
		return rc;
	return ob_end(b);
}

/* A double given as a number or as "NaN" / "Infinity" / "-Infinity". */
static void attr_jdouble(struct ob *b, const char *key, const char *s, struct jv v)
{
	if (s[v.start] == '"')
		ob_attr(b, fmt_str_c(key), FMT_T_STRING, jstr(s, v));
	else
		ob_attr(b, fmt_str_c(key), FMT_T_NUMBER, fmt_str_n(s + v.start, v.end - v.start));
}

static int data_point(struct ob *b, const char *s, struct jv dp, struct fmt_str name, bool hist,
		      const char *type)
{
	struct fmt_str k, d;
	struct jv m, value = {0, 0}, count = {0, 0}, sum = {0, 0}, attr = {0, 0}, buckets = {0, 0},
		     bounds = {0, 0}, el;
	uint64_t t = 0;

	MEMBERS(it, s, 0, dp, k, m)
	{
		if (KEY(k, "timeUnixNano"))
			t = ju64(s, m);
		else if (KEY(k, "asDouble") || KEY(k, "asInt"))
			value = m;
		else if (KEY(k, "count"))
			count = m;
		else if (KEY(k, "sum"))
			sum = m;
		else if (KEY(k, "attributes"))
			attr = m;
		else if (KEY(k, "bucketCounts"))
			buckets = m;
		else if (KEY(k, "explicitBounds"))
			bounds = m;
	}
	b->res->items++;
	if (!hist && !value.end) {
		ob_reject(b, "a data point without a value");
		return 0;
	}
	ob_begin(b, FMT_EVENT_METRIC);
	b->rec.level = FMT_LEVEL_INFO;
	ob_time(b, t);
	ob_attr(b, fmt_str_c("metric"), FMT_T_STRING, name);
	ob_attr_cstr(b, "type", type);
	if (!hist) {
		if (jint(s, value, &d))
			ob_attr(b, fmt_str_c("value"), FMT_T_NUMBER, d);
		else
			attr_jdouble(b, "value", s, value);
	} else {
		uint64_t c = ju64(s, count), total = 0;
		struct jit bi;
		struct jv bv;
		bool more = it_open(&bi, s, 0, bounds);

		ob_attr_u64(b, "value", c);
		ob_attr_u64(b, "count", c);
		if (sum.end)
			attr_jdouble(b, "sum", s, sum);
		/* clew's buckets are cumulative, OTLP's per bucket */
		MEMBERS(it, s, 0, buckets, k, el)
		{
			char key[40] = "le_";

			total += ju64(s, el);
			more = more && it_next(&bi, &k, &bv);
			if (more && bv.end - bv.start < sizeof(key) - 4)
				memcpy(key + 3, s + bv.start, bv.end - bv.start);
			else
				strcpy(key + 3, "+Inf");
			{
				char tn[24];
				int n = snprintf(tn, sizeof(tn), "%llu", (unsigned long long)total);

				ob_attr(b, ob_copy(b, key, strlen(key)), FMT_T_NUMBER,
					ob_copy(b, tn, (size_t)n));
			}
		}
	}
	{
		int rc = attrs(b, s, attr);

		if (rc < 0)
			return rc;
	}
	return ob_end(b);
}

static int metric(struct ob *b, const char *s, struct jv mt)
{
	struct fmt_str k, name = fmt_str_n("", 0), dk;
	struct jv m, dm, dp;
	int rc;

	MEMBERS(it, s, 0, mt, k, m)
	{
		if (KEY(k, "name") && s[m.start] == '"')
			name = jstr(s, m);
	}
	MEMBERS(it, s, 0, mt, k, m)
	{
		bool hist = KEY(k, "histogram") || KEY(k, "exponentialHistogram") || KEY(k, "summary");
		const char *type;

		if (!hist && !KEY(k, "gauge") && !KEY(k, "sum"))
			continue;
		type = KEY(k, "gauge")	   ? "gauge"
		       : KEY(k, "summary") ? "summary"
		       : hist		   ? "histogram"
					   : "gauge";
		if (KEY(k, "sum")) {
			struct jv mono = member(s, m, "isMonotonic");

			if (mono.end && s[mono.start] == 't')
				type = "counter";
		}
		MEMBERS(di, s, 0, m, dk, dm)
		{
			if (!KEY(dk, "dataPoints"))
				continue;
			MEMBERS(pi, s, 0, dm, dk, dp)
			{
				if ((rc = data_point(b, s, dp, name, hist, type)) < 0)
					return rc;
			}
		}
	}
	return 0;
}

typedef int (*item_fn)(struct ob *b, const char *s, struct jv item);

/* The walk of the valid, indexed document @s. */
static int walk(struct ob *b, enum otlp_kind kind, const char *s, size_t len)
{
	static const char *const top[] = {"resourceSpans", "resourceLogs", "resourceMetrics"};
	static const char *const scopes[] = {"scopeSpans", "scopeLogs", "scopeMetrics"};
	static const char *const items[] = {"spans", "logRecords", "metrics"};
	static const item_fn fns[] = {span, log_record, metric};
	struct fmt_str k;
	struct jv doc, rs, sc, it_v;
	size_t p;
	int rc;

	p = ws(s, len, 0);
	if (s[p] != '{')
		return ob_fail(b, s + p, "not a JSON object", FMT_EPARSE);
	doc.start = p;
	doc.end = skip(s, len, p);
	MEMBERS(ti, s, len, member(s, doc, top[kind]), k, rs)
	{
		struct jv res = {0, 0}, list = {0, 0}, m;

		MEMBERS(ri, s, len, rs, k, m) /* one pass for both: the scopes are most of the body */
		{
			if (KEY(k, "resource"))
				res = m;
			else if (fmt_str_eq(&k, scopes[kind], strlen(scopes[kind])))
				list = m;
		}
		b->service = (struct fmt_str){0};
		resource(b, s, res);
		MEMBERS(si, s, len, list, k, sc)
		{
			MEMBERS(ii, s, len, member(s, sc, items[kind]), k, it_v)
			{
				if ((rc = fns[kind](b, s, it_v)) < 0)
					return rc;
			}
		}
	}
	return 0;
}

int otlp__json(struct ob *b, enum otlp_kind kind, const char *s, size_t len)
{
	struct fmt_err err = {0, NULL};
	int rc;

	if ((rc = fmt_json_validate(s, len, &err)) < 0)
		return ob_fail(b, s + err.offset, err.what, -rc);
	if (len > UINT32_MAX)
		return ob_fail(b, NULL, "request too large", FMT_ELIMIT);
	if (!index_build(s, len)) {
		free(idx.v);
		idx.v = NULL;
		return ob_fail(b, NULL, "out of memory", FMT_ELIMIT);
	}
	rc = walk(b, kind, s, len);
	free(idx.v);
	idx.v = NULL;
	return rc;
}

bool otlp_json_line_kind(const char *s, size_t len, enum otlp_kind *kind)
{
	static const char *const top[] = {"resourceSpans", "resourceLogs", "resourceMetrics"};
	size_t p = ws(s, len, 0);

	if (p >= len || s[p] != '{')
		return false;
	p = ws(s, len, p + 1);
	if (p >= len || s[p] != '"')
		return false;
	for (int i = 0; i < 3; i++) {
		size_t n = strlen(top[i]);

		if (len - p > n + 1 && memcmp(s + p + 1, top[i], n) == 0 && s[p + 1 + n] == '"') {
			*kind = (enum otlp_kind)i;
			return true;
		}
	}
	return false;
}
