/*
 * json_parse.c - fmt_json_parse(): one JSON log line (an object) -> struct
 * fmt_record, with the alias table of formats/json.md.
 *
 * DESIGN: one left-to-right pass over the top-level members, using the
 * scanners of json_scan.h; nested objects and arrays are skipped whole by
 * fmt__json_skip() and kept as raw views. Nothing is copied or allocated:
 * every field and attribute is a view into @line. Each member's key is
 * classified by length and bytes (a rare escaped key is decoded first);
 * a member whose key is an alias of a fixed field becomes that field's
 * candidate with the alias's rank. The best-ranked candidate (lowest
 * rank; on a tie the first in the line) wins; a candidate that loses,
 * even after having led, goes back to the attributes at its place in
 * line order, so nothing is lost and attrs[] always holds the first
 * FMT_ATTRS_MAX non-field members in line order. A nested object a field
 * is read from ("log":{"level":..}) stays an attribute as well. Values
 * are interpreted (timestamp, level, event, the ids path) only for the
 * winners, after the pass. The few nested objects that carry fields are
 * walked a second time, which is cheap: they are small and already
 * validated. Not thread-safe per record; no global state.
 */
#include "fmt/json.h"
#include "fmt/str.h"
#include "fmt/ts.h"

#include "json_scan.h"

/* The fixed fields an alias can feed. */
enum field {
	F_TS,
	F_LEVEL,
	F_MESSAGE,
	F_EVENT,
	F_SERVICE,
	F_TRACE,
	F_SPAN,
	F_PARENT,
	F_METHOD,
	F_PATH,
	F_IDS,
	F_COUNT,
};

/* The keys the parser knows (formats/json.md, "Alias table"). */
enum key {
	K_NONE = 0,
	K_TIMESTAMP,
	K_AT_TIMESTAMP,
	K_TIME,
	K_TS,
	K_AT_T,
	K_SEVERITY,
	K_LEVEL,
	K_LOG_LEVEL,
	K_LOG,
	K_LEVELNAME,
	K_LOGLEVEL,
	K_AT_L,
	K_MESSAGE,
	K_MSG,
	K_AT_MESSAGE,
	K_AT_M,
	K_AT_MT,
	K_EVENT,
	K_SERVICE,
	K_SERVICE_DOT_NAME,
	K_SERVICE_NAME,
	K_TRACE,
	K_TRACE_DOT_ID,
	K_TRACE_ID,
	K_TRACEID,
	K_TRACEID_PASCAL,
	K_AT_TR,
	K_REQUEST_ID,
	K_REQ_ID,
	K_SPAN,
	K_SPAN_DOT_ID,
	K_SPAN_ID,
	K_SPANID,
	K_SPANID_PASCAL,
	K_AT_SP,
	K_PARENT,
	K_PARENT_DOT_ID,
	K_PARENT_ID,
	K_PARENT_SPAN_ID,
	K_PARENTSPANID,
	K_PARENTID_PASCAL,
	K_METHOD,
	K_HTTP_REQUEST_METHOD,
	K_HTTP,
	K_HTTP_METHOD,
	K_PATH,
	K_URL_PATH,
	K_URL,
	K_HTTP_TARGET,
	K_IDS,
	K_COUNT,
};

#define RANK_NONE 0xff /* the field has no candidate yet */
#define NO_RANK 0xff   /* the alias has no such form */

/*
 * What a key means: the field it feeds, the rank of its plain form (a
 * string, or a number for ts/level) and of its nested form (an object
 * holding @sub, and inside that @sub2 when set).
 */
struct alias {
	uint8_t field;	     /* enum field */
	uint8_t rank;	     /* rank of the plain form; NO_RANK when only nested */
	uint8_t nested_rank; /* rank of the nested form; NO_RANK when only plain */
	const char *sub;     /* member read from the nested object */
	const char *sub2;    /* then from this member of @sub (http.request.method) */
};

static const struct alias aliases[K_COUNT] = {
	[K_TIMESTAMP] = {F_TS, 0, NO_RANK, NULL, NULL},
	[K_AT_TIMESTAMP] = {F_TS, 1, NO_RANK, NULL, NULL},
	[K_TIME] = {F_TS, 2, NO_RANK, NULL, NULL},
	[K_TS] = {F_TS, 3, NO_RANK, NULL, NULL},
	[K_AT_T] = {F_TS, 4, NO_RANK, NULL, NULL},
	[K_SEVERITY] = {F_LEVEL, 0, NO_RANK, NULL, NULL},
	[K_LEVEL] = {F_LEVEL, 1, NO_RANK, NULL, NULL},
	[K_LOG_LEVEL] = {F_LEVEL, 2, NO_RANK, NULL, NULL},
	[K_LOG] = {F_LEVEL, NO_RANK, 3, "level", NULL},
	[K_LEVELNAME] = {F_LEVEL, 4, NO_RANK, NULL, NULL},
	[K_LOGLEVEL] = {F_LEVEL, 5, NO_RANK, NULL, NULL},
	[K_AT_L] = {F_LEVEL, 6, NO_RANK, NULL, NULL},
	[K_MESSAGE] = {F_MESSAGE, 0, NO_RANK, NULL, NULL},
	[K_MSG] = {F_MESSAGE, 1, NO_RANK, NULL, NULL},
	[K_AT_MESSAGE] = {F_MESSAGE, 2, NO_RANK, NULL, NULL},
	[K_AT_M] = {F_MESSAGE, 3, NO_RANK, NULL, NULL},
	[K_AT_MT] = {F_MESSAGE, 5, NO_RANK, NULL, NULL},
	[K_EVENT] = {F_EVENT, 0, NO_RANK, NULL, NULL}, /* else F_MESSAGE rank 3: see member() */
	[K_SERVICE] = {F_SERVICE, 0, 2, "name", NULL},
	[K_SERVICE_DOT_NAME] = {F_SERVICE, 1, NO_RANK, NULL, NULL},
	[K_SERVICE_NAME] = {F_SERVICE, 3, NO_RANK, NULL, NULL},
	[K_TRACE] = {F_TRACE, 0, 2, "id", NULL},
	[K_TRACE_DOT_ID] = {F_TRACE, 1, NO_RANK, NULL, NULL},
	[K_TRACE_ID] = {F_TRACE, 3, NO_RANK, NULL, NULL},
	[K_TRACEID] = {F_TRACE, 4, NO_RANK, NULL, NULL},
	[K_TRACEID_PASCAL] = {F_TRACE, 5, NO_RANK, NULL, NULL},
	[K_AT_TR] = {F_TRACE, 6, NO_RANK, NULL, NULL},
	[K_REQUEST_ID] = {F_TRACE, 7, NO_RANK, NULL, NULL},
	[K_REQ_ID] = {F_TRACE, 8, NO_RANK, NULL, NULL},
	[K_SPAN] = {F_SPAN, 0, 2, "id", NULL},
	[K_SPAN_DOT_ID] = {F_SPAN, 1, NO_RANK, NULL, NULL},
	[K_SPAN_ID] = {F_SPAN, 3, NO_RANK, NULL, NULL},
	[K_SPANID] = {F_SPAN, 4, NO_RANK, NULL, NULL},
	[K_SPANID_PASCAL] = {F_SPAN, 5, NO_RANK, NULL, NULL},
	[K_AT_SP] = {F_SPAN, 6, NO_RANK, NULL, NULL},
	[K_PARENT] = {F_PARENT, 0, 2, "id", NULL},
	[K_PARENT_DOT_ID] = {F_PARENT, 1, NO_RANK, NULL, NULL},
	[K_PARENT_ID] = {F_PARENT, 3, NO_RANK, NULL, NULL},
	[K_PARENT_SPAN_ID] = {F_PARENT, 4, NO_RANK, NULL, NULL},
	[K_PARENTSPANID] = {F_PARENT, 5, NO_RANK, NULL, NULL},
	[K_PARENTID_PASCAL] = {F_PARENT, 6, NO_RANK, NULL, NULL},
	[K_METHOD] = {F_METHOD, 0, NO_RANK, NULL, NULL},
	[K_HTTP_REQUEST_METHOD] = {F_METHOD, 1, NO_RANK, NULL, NULL},
	[K_HTTP] = {F_METHOD, NO_RANK, 2, "request", "method"},
	[K_HTTP_METHOD] = {F_METHOD, 3, NO_RANK, NULL, NULL},
	[K_PATH] = {F_PATH, 0, NO_RANK, NULL, NULL},
	[K_URL_PATH] = {F_PATH, 1, NO_RANK, NULL, NULL},
	[K_URL] = {F_PATH, NO_RANK, 2, "path", NULL},
	[K_HTTP_TARGET] = {F_PATH, 3, NO_RANK, NULL, NULL},
	[K_IDS] = {F_IDS, 0, NO_RANK, NULL, NULL},
};

/* The rank of structlog's "event" as the message: after message, msg, @message, @m; before @mt. */
#define EVENT_MESSAGE_RANK 4

/* The best candidate seen so far for one field. */
struct holder {
	struct fmt_attr m;  /* the member as written, to give back to attrs if it loses */
	struct fmt_str use; /* the value the field takes (inside the object for a nested form) */
	uint32_t ord;	    /* the member's index in the line */
	uint8_t rank;	    /* RANK_NONE: no candidate */
	uint8_t use_type;   /* enum fmt_type of @use */
	bool kept;	    /* the member is an attribute anyway (a nested object) */
};

struct pstate {
	struct fmt_record *rec;
	uint16_t nids;		     /* elements of the winning "ids" array, already in rec->ids */
	struct holder h[F_COUNT];    /* indexed by enum field */
	uint32_t ord[FMT_ATTRS_MAX]; /* member index of each rec->attrs[i] */
};

/* A decoded key or value this short fits the stack buffers below; no alias is longer. */
#define KEY_DECODE_MAX 128
#define VALUE_DECODE_MAX 64

#define IS(lit) (memcmp(k, lit, sizeof(lit) - 1) == 0)

/* classify() - which known key the @n bytes at @k are (plain bytes, no escapes). */
static enum key classify(const char *k, size_t n)
{
	switch (n) {
	case 2:
		if (IS("ts"))
			return K_TS;
		if (k[0] != '@')
			return K_NONE;
		return k[1] == 't' ? K_AT_T : k[1] == 'l' ? K_AT_L : k[1] == 'm' ? K_AT_M : K_NONE;
	case 3:
		if (IS("msg"))
			return K_MSG;
		if (IS("@mt"))
			return K_AT_MT;
		if (IS("@tr"))
			return K_AT_TR;
		if (IS("@sp"))
			return K_AT_SP;
		if (IS("log"))
			return K_LOG;
		if (IS("url"))
			return K_URL;
		return IS("ids") ? K_IDS : K_NONE;
	case 4:
		if (IS("time"))
			return K_TIME;
		if (IS("span"))
			return K_SPAN;
		if (IS("path"))
			return K_PATH;
		return IS("http") ? K_HTTP : K_NONE;
	case 5:
		if (IS("level"))
			return K_LEVEL;
		if (IS("trace"))
			return K_TRACE;
		return IS("event") ? K_EVENT : K_NONE;
	case 6:
		if (IS("method"))
			return K_METHOD;
		if (IS("parent"))
			return K_PARENT;
		if (IS("req_id"))
			return K_REQ_ID;
		if (IS("SpanId"))
			return K_SPANID_PASCAL;
		return IS("spanId") ? K_SPANID : K_NONE;
	case 7:
		if (IS("message"))
			return K_MESSAGE;
		if (IS("service"))
			return K_SERVICE;
		if (IS("traceId"))
			return K_TRACEID;
		if (IS("TraceId"))
			return K_TRACEID_PASCAL;
		if (IS("span.id"))
			return K_SPAN_DOT_ID;
		return IS("span_id") ? K_SPAN_ID : K_NONE;
	case 8:
		if (IS("severity"))
			return K_SEVERITY;
		if (IS("loglevel"))
			return K_LOGLEVEL;
		if (IS("@message"))
			return K_AT_MESSAGE;
		if (IS("trace.id"))
			return K_TRACE_DOT_ID;
		if (IS("trace_id"))
			return K_TRACE_ID;
		if (IS("ParentId"))
			return K_PARENTID_PASCAL;
		return IS("url.path") ? K_URL_PATH : K_NONE;
	case 9:
		if (IS("timestamp"))
			return K_TIMESTAMP;
		if (IS("log.level"))
			return K_LOG_LEVEL;
		if (IS("levelname"))
			return K_LEVELNAME;
		if (IS("parent.id"))
			return K_PARENT_DOT_ID;
		return IS("parent_id") ? K_PARENT_ID : K_NONE;
	case 10:
		if (IS("@timestamp"))
			return K_AT_TIMESTAMP;
		return IS("request_id") ? K_REQUEST_ID : K_NONE;
	case 11:
		if (IS("http.method"))
			return K_HTTP_METHOD;
		return IS("http.target") ? K_HTTP_TARGET : K_NONE;
	case 12:
		if (IS("service.name"))
			return K_SERVICE_DOT_NAME;
		if (IS("service_name"))
			return K_SERVICE_NAME;
		return IS("parentSpanId") ? K_PARENTSPANID : K_NONE;
	case 14:
		return IS("parent_span_id") ? K_PARENT_SPAN_ID : K_NONE;
	case 19:
		return IS("http.request.method") ? K_HTTP_REQUEST_METHOD : K_NONE;
	default:
		return K_NONE;
	}
}

#undef IS

bool fmt_json_level_key(const char *k, size_t n)
{
	enum key key = classify(k, n);

	return key != K_NONE && aliases[key].field == F_LEVEL && aliases[key].rank != NO_RANK;
}

/* classify_view() - classify a key view, decoding it first when it holds escapes. */
static enum key classify_view(const struct fmt_str *key)
{
	char buf[KEY_DECODE_MAX];
	size_t n;

	if (FMT__LIKELY(key->enc == FMT_ENC_RAW))
		return classify(key->ptr, key->len);
	if (key->len > sizeof(buf))
		return K_NONE;
	n = fmt_str_decode(key, buf);
	return classify(buf, n);
}

/* view_is() - whether the decoded value of @v is the @n bytes at @lit. */
static bool view_is(const struct fmt_str *v, const char *lit, size_t n)
{
	if (v->enc == FMT_ENC_RAW)
		return v->len == n && memcmp(v->ptr, lit, n) == 0;
	return fmt_str_eq(v, lit, n);
}

/* views_eq() - whether two views decode to the same bytes. */
static bool views_eq(const struct fmt_str *a, const struct fmt_str *b)
{
	char buf[256];
	size_t n;

	if ((a->enc == FMT_ENC_RAW && b->enc == FMT_ENC_RAW) || a->len > sizeof(buf))
		return a->len == b->len && memcmp(a->ptr, b->ptr, a->len) == 0;
	n = fmt_str_decode(a, buf);
	return fmt_str_eq(b, buf, n);
}

/*
 * obj_find() - in the text of an object already validated (@obj), the
 * value of the first member whose decoded key is @name.
 * Return: true with *val and *type set, or false when there is none.
 */
static bool obj_find(const struct fmt_str *obj, const char *name, struct fmt_str *val, uint8_t *type)
{
	const char *s = obj->ptr;
	size_t len = obj->len, p, k, nlen = strlen(name);
	struct fmt_str key;
	bool esc;

	p = fmt__json_ws(s, len, 1);
	if (p >= len || s[p] == '}')
		return false;
	for (;;) {
		k = p;
		if (p >= len || s[p] != '"' || fmt__json_string(s, len, &p, &esc, NULL) < 0)
			return false;
		key.ptr = s + k + 1;
		key.len = (uint32_t)(p - k - 2);
		key.enc = esc ? FMT_ENC_JSON : FMT_ENC_RAW;
		p = fmt__json_ws(s, len, p);
		if (p >= len || s[p] != ':')
			return false;
		p = fmt__json_ws(s, len, p + 1);
		if (fmt__json_value(s, len, &p, 0, val, type, NULL) < 0)
			return false;
		if (view_is(&key, name, nlen))
			return true;
		p = fmt__json_ws(s, len, p);
		if (p >= len || s[p] != ',')
			return false;
		p = fmt__json_ws(s, len, p + 1);
	}
}

/*
 * ids_walk() - read the validated array @arr into rec->ids when it holds
 * 1..FMT_IDS_MAX strings and nothing else.
 * Return: the number of elements, or 0 when it is not such an array.
 */
static uint16_t ids_walk(const struct fmt_str *arr, struct fmt_str *ids)
{
	const char *s = arr->ptr;
	size_t len = arr->len, p;
	uint16_t n = 0;
	uint8_t type;

	p = fmt__json_ws(s, len, 1);
	if (p >= len || s[p] == ']')
		return 0;
	for (;;) {
		if (n >= FMT_IDS_MAX || s[p] != '"')
			return 0;
		if (fmt__json_value(s, len, &p, 0, &ids[n], &type, NULL) < 0)
			return 0;
		n++;
		p = fmt__json_ws(s, len, p);
		if (p >= len)
			return 0;
		if (s[p] == ']')
			return n;
		if (s[p] != ',')
			return 0;
		p = fmt__json_ws(s, len, p + 1);
		if (p >= len)
			return 0;
	}
}

/* attr_add() - append the member numbered @ord to the attributes (it is the newest so far). */
static inline void attr_add(struct pstate *st, const struct fmt_attr *m, uint32_t ord)
{
	struct fmt_record *r = st->rec;

	if (FMT__UNLIKELY(r->nattrs >= FMT_ATTRS_MAX)) {
		r->flags |= FMT_F_ATTRS_TRUNCATED;
		return;
	}
	st->ord[r->nattrs] = ord;
	r->attrs[r->nattrs++] = *m;
}

/*
 * attr_insert() - put back, at its place in line order, a member that led
 * for a field and then lost; the last attribute falls off when full.
 */
static void attr_insert(struct pstate *st, const struct fmt_attr *m, uint32_t ord)
{
	struct fmt_record *r = st->rec;
	size_t n = r->nattrs, i = n;

	while (i > 0 && st->ord[i - 1] > ord)
		i--;
	if (n >= FMT_ATTRS_MAX) {
		r->flags |= FMT_F_ATTRS_TRUNCATED;
		if (i >= FMT_ATTRS_MAX)
			return;
		n = FMT_ATTRS_MAX - 1;
	}
	memmove(&r->attrs[i + 1], &r->attrs[i], (n - i) * sizeof(r->attrs[0]));
	memmove(&st->ord[i + 1], &st->ord[i], (n - i) * sizeof(st->ord[0]));
	r->attrs[i] = *m;
	st->ord[i] = ord;
	r->nattrs = (uint16_t)(n + 1);
}

/*
 * offer() - make member @m (numbered @ord) a candidate of @field at @rank,
 * giving @use. When @kept, @m is already an attribute.
 */
static void offer(struct pstate *st, enum field field, unsigned rank, const struct fmt_attr *m, uint32_t ord,
		  const struct fmt_str *use, uint8_t use_type, bool kept)
{
	struct holder *h = &st->h[field];

	if (h->rank <= rank) {
		if (!kept)
			attr_add(st, m, ord);
		return;
	}
	if (h->rank != RANK_NONE && !h->kept)
		attr_insert(st, &h->m, h->ord);
	h->m = *m;
	h->use = *use;
	h->ord = ord;
	h->rank = (uint8_t)rank;
	h->use_type = use_type;
	h->kept = kept;
}

/*
 * nested_use() - the value a nested form ("log":{"level":..}) gives its
 * field: the member @a names inside the validated object @obj, when a
 * string (or, for the level, a number).
 */
static bool nested_use(const struct alias *a, const struct fmt_str *obj, struct fmt_str *v, uint8_t *t)
{
	struct fmt_str inner;

	if (!obj_find(obj, a->sub, v, t))
		return false;
	if (a->sub2) {
		if (*t != FMT_T_OBJECT)
			return false;
		inner = *v;
		if (!obj_find(&inner, a->sub2, v, t))
			return false;
	}
	return *t == FMT_T_STRING || (*t == FMT_T_NUMBER && a->field == F_LEVEL);
}

/* What a member offers a field, as claim() finds it. */
struct claim {
	enum field field;
	unsigned rank;
	struct fmt_str use; /* the value the field would take */
	uint8_t use_type;
	bool kept;     /* a nested form: the object is an attribute as well */
	uint16_t nids; /* an "ids" array: its elements, read into the caller's buffer */
};

/*
 * claim() - whether member @m, whose key is alias @k, is a candidate for
 * a field, and which (the one rule for the parser and, through
 * fmt__json_claim(), for the emitter). An "ids" array is read into @ids.
 */
static bool claim(enum key k, const struct fmt_attr *m, struct fmt_str *ids, struct claim *c)
{
	const struct alias *a = &aliases[k];

	c->field = (enum field)a->field;
	c->rank = a->rank;
	c->use = m->val;
	c->use_type = m->type;
	c->kept = false;
	switch (m->type) {
	case FMT_T_STRING:
		if (a->field == F_EVENT) {
			if (!view_is(&m->val, "span", 4) && !view_is(&m->val, "metric", 6)) {
				c->field = F_MESSAGE;
				c->rank = EVENT_MESSAGE_RANK;
			}
			return true;
		}
		return a->rank != NO_RANK && a->field != F_IDS;
	case FMT_T_NUMBER:
		return (a->field == F_TS || a->field == F_LEVEL) && a->rank != NO_RANK;
	case FMT_T_OBJECT:
		c->rank = a->nested_rank;
		c->kept = true;
		return a->nested_rank != NO_RANK && nested_use(a, &m->val, &c->use, &c->use_type);
	case FMT_T_ARRAY:
		c->nids = a->field == F_IDS ? ids_walk(&m->val, ids) : 0;
		return c->nids > 0;
	default:
		return false;
	}
}

/* alias_claim() - fmt__json_claim() for an alias: apart, so the common case has no frame. */
static __attribute__((noinline)) int alias_claim(enum key k, const struct fmt_attr *m, unsigned *rank)
{
	struct fmt_str ids[FMT_IDS_MAX];
	struct claim c;

	if (!claim(k, m, ids, &c))
		return -1;
	*rank = c.rank;
	return (int)c.field;
}

int fmt__json_claim(const struct fmt_attr *m, unsigned *rank)
{
	enum key k = classify_view(&m->key);

	if (FMT__LIKELY(k == K_NONE))
		return FMT__JSON_NOT_ALIAS;
	return alias_claim(k, m, rank);
}

/*
 * member() - route one top-level member: a field candidate or an
 * attribute (a nested form is both). Only the first "ids" array is read,
 * so a later one cannot overwrite rec->ids.
 */
static void member(struct pstate *st, const struct fmt_attr *m, uint32_t ord)
{
	enum key k = classify_view(&m->key);
	struct claim c;

	if (FMT__LIKELY(k == K_NONE) || (aliases[k].field == F_IDS && st->h[F_IDS].rank != RANK_NONE) ||
	    !claim(k, m, st->rec->ids, &c)) {
		attr_add(st, m, ord);
		return;
	}
	if (c.kept)
		attr_add(st, m, ord);
	if (c.field == F_IDS)
		st->nids = c.nids;
	offer(st, c.field, c.rank, m, ord, &c.use, c.use_type, c.kept);
}

/*
 * epoch_ns() - a JSON number (already validated) as an epoch time, its
 * unit chosen by magnitude: |x| < 1e11 seconds, < 1e14 milliseconds,
 * < 1e17 microseconds, else nanoseconds. Exact decimal arithmetic; a
 * fraction below 1 ns is cut off (toward zero).
 * Return: false when the result does not fit int64_t nanoseconds.
 */
static bool epoch_ns(const char *s, size_t n, int64_t *out)
{
	char dig[FMT_JSON_NUMBER_MAX];
	size_t i = 0, nd = 0;
	long point, exp = 0, k, j, intdigits;
	bool neg = false, eneg = false;
	uint64_t acc = 0;
	int unit;

	if (i < n && s[i] == '-') {
		neg = true;
		i++;
	}
	for (; i < n && fmt__json_is_digit((unsigned char)s[i]); i++)
		if (nd || s[i] != '0')
			dig[nd++] = s[i];
	point = (long)nd; /* value = 0.dig * 10^point */
	if (i < n && s[i] == '.') {
		for (i++; i < n && fmt__json_is_digit((unsigned char)s[i]); i++) {
			if (nd || s[i] != '0')
				dig[nd++] = s[i];
			else
				point--;
		}
	}
	if (i < n && (s[i] | 0x20) == 'e') {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			eneg = s[i++] == '-';
		for (; i < n && fmt__json_is_digit((unsigned char)s[i]); i++)
			if (exp < 100000)
				exp = exp * 10 + (s[i] - '0');
	}
	if (nd == 0) {
		*out = 0;
		return true;
	}
	point += eneg ? -exp : exp;
	intdigits = point > 0 ? point : 0;
	unit = intdigits <= 11 ? 9 : intdigits <= 14 ? 6 : intdigits <= 17 ? 3 : 0;
	k = point + unit; /* digits of dig[] that make whole nanoseconds */
	if (k > 19)
		return false;
	for (j = 0; j < k; j++)
		acc = acc * 10 + (uint64_t)(j < (long)nd ? dig[j] - '0' : 0);
	if (neg) {
		if (acc > (uint64_t)INT64_MAX + 1)
			return false;
		*out = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
	} else {
		if (acc > (uint64_t)INT64_MAX)
			return false;
		*out = (int64_t)acc;
	}
	return true;
}

static void set_ts(struct fmt_record *r, const struct holder *h)
{
	char buf[VALUE_DECODE_MAX];
	const struct fmt_str *v = &h->use;
	int64_t ns = 0;
	bool ok;
	size_t n;

	r->ts_text = *v;
	if (h->use_type == FMT_T_NUMBER) {
		ok = epoch_ns(v->ptr, v->len, &ns);
	} else if (v->enc == FMT_ENC_RAW) {
		ok = fmt_ts_parse(v->ptr, v->len, &ns, NULL) == 0;
	} else if (v->len <= sizeof(buf)) {
		n = fmt_str_decode(v, buf);
		ok = fmt_ts_parse(buf, n, &ns, NULL) == 0;
	} else {
		ok = false;
	}
	if (ok) {
		r->has_ts = true;
		r->ts_ns = ns;
	} else {
		r->flags |= FMT_F_TS_INVALID;
	}
}

static void set_level(struct fmt_record *r, const struct holder *h)
{
	char buf[VALUE_DECODE_MAX];
	const struct fmt_str *v = &h->use;
	size_t n;

	r->level_text = *v;
	if (v->enc == FMT_ENC_RAW) {
		r->level = (uint8_t)fmt_level_from_text(v->ptr, v->len);
	} else if (v->len <= sizeof(buf)) {
		n = fmt_str_decode(v, buf);
		r->level = (uint8_t)fmt_level_from_text(buf, n);
	} else {
		r->level = FMT_LEVEL_OTHER;
	}
}

/* finish() - turn the winning candidates into the record's fields. */
static void finish(struct pstate *st)
{
	struct fmt_record *r = st->rec;
	const struct holder *h = st->h;
	uint16_t n;

	if (h[F_TS].rank != RANK_NONE)
		set_ts(r, &h[F_TS]);
	if (h[F_LEVEL].rank != RANK_NONE)
		set_level(r, &h[F_LEVEL]);
	if (h[F_MESSAGE].rank != RANK_NONE)
		r->message = h[F_MESSAGE].use;
	if (h[F_EVENT].rank != RANK_NONE)
		r->event = view_is(&h[F_EVENT].use, "span", 4) ? FMT_EVENT_SPAN : FMT_EVENT_METRIC;
	if (h[F_SERVICE].rank != RANK_NONE)
		r->service = h[F_SERVICE].use;
	if (h[F_METHOD].rank != RANK_NONE)
		r->method = h[F_METHOD].use;
	if (h[F_PATH].rank != RANK_NONE)
		r->path = h[F_PATH].use;
	if (h[F_TRACE].rank != RANK_NONE)
		r->trace = h[F_TRACE].use;
	/* An empty span or parent is none: pyms (and libclew) write "" at a trace's root. */
	if (h[F_SPAN].rank != RANK_NONE && h[F_SPAN].use.len)
		r->span = h[F_SPAN].use;
	if (h[F_PARENT].rank != RANK_NONE && h[F_PARENT].use.len)
		r->parent = h[F_PARENT].use;

	if (h[F_IDS].rank != RANK_NONE) {
		/* rec->ids already holds the array; fill in what is not explicit. */
		n = st->nids;
		r->nids = n;
		if (!r->trace.ptr)
			r->trace = r->ids[0];
		if (!r->span.ptr && n >= 2)
			r->span = r->ids[n - 1];
		if (!r->parent.ptr && n >= 3)
			r->parent = r->ids[n - 2];
		return;
	}
	if (!r->trace.ptr)
		return;
	n = 0;
	r->ids[n++] = r->trace;
	if (r->parent.ptr)
		r->ids[n++] = r->parent;
	if (r->span.ptr && !views_eq(&r->span, &r->trace))
		r->ids[n++] = r->span;
	r->nids = n;
}

/*
 * tail() - what follows the object's closing brace at @p: blanks, then
 * the end, or a '\n' and the continuation lines (rec->cont).
 */
static int tail(const char *line, size_t len, size_t p, struct fmt_record *r, struct fmt_err *err)
{
	while (p < len && (line[p] == ' ' || line[p] == '\t' || line[p] == '\r'))
		p++;
	if (FMT__LIKELY(p >= len))
		return 0;
	if (line[p] != '\n')
		return fmt__json_fail(err, p, FMT__JE_TRAILING, FMT_EPARSE);
	p++;
	if (fmt__json_ws(line, len, p) >= len)
		return 0;
	r->cont.ptr = line + p;
	r->cont.len = (uint32_t)(len - p);
	r->cont.enc = FMT_ENC_RAW;
	r->flags |= FMT_F_CONT;
	return 0;
}

int fmt_json_parse(const char *line, size_t len, struct fmt_record *rec, struct fmt_err *err)
{
	struct pstate st;
	struct fmt_attr m;
	size_t p, k, comma;
	uint32_t ord;
	bool esc;
	int rc, f;

	if (err) {
		err->offset = 0;
		err->what = NULL;
	}
	if (!rec)
		return fmt__json_fail(err, 0, FMT__JE_ARG, FMT_EINVAL);
	fmt_record_clear(rec);
	if (!line && len)
		return fmt__json_fail(err, 0, FMT__JE_ARG, FMT_EINVAL);
	if (len > FMT_LINE_MAX)
		return fmt__json_fail(err, FMT_LINE_MAX, FMT__JE_TOO_LONG, FMT_ELIMIT);
	rec->format = FMT_JSON;
	st.rec = rec;
	st.nids = 0;
	for (f = 0; f < F_COUNT; f++)
		st.h[f].rank = RANK_NONE;

	p = fmt__json_ws(line, len, 0);
	if (p >= len) {
		rc = fmt__json_fail(err, p, FMT__JE_EMPTY, FMT_EPARSE);
		goto fail;
	}
	if (line[p] != '{') {
		rc = fmt__json_fail(err, p, FMT__JE_NOT_OBJECT, FMT_EPARSE);
		goto fail;
	}
	p = fmt__json_ws(line, len, p + 1);
	if (p < len && line[p] == '}') {
		p++;
		goto end;
	}
	for (ord = 0;; ord++) {
		if (FMT__UNLIKELY(p >= len || line[p] != '"')) {
			rc = fmt__json_expect(err, p, len, FMT__JE_KEY);
			goto fail;
		}
		k = p;
		rc = fmt__json_string(line, len, &p, &esc, err);
		if (rc < 0)
			goto fail;
		m.key.ptr = line + k + 1;
		m.key.len = (uint32_t)(p - k - 2);
		m.key.enc = esc ? FMT_ENC_JSON : FMT_ENC_RAW;
		p = fmt__json_ws(line, len, p);
		if (FMT__UNLIKELY(p >= len || line[p] != ':')) {
			rc = fmt__json_expect(err, p, len, FMT__JE_COLON);
			goto fail;
		}
		p = fmt__json_ws(line, len, p + 1);
		rc = fmt__json_value(line, len, &p, 1, &m.val, &m.type, err);
		if (rc < 0)
			goto fail;
		member(&st, &m, ord);
		p = fmt__json_ws(line, len, p);
		if (FMT__LIKELY(p < len && line[p] == ',')) {
			comma = p;
			p = fmt__json_ws(line, len, p + 1);
			if (FMT__UNLIKELY(p < len && line[p] == '}')) {
				rc = fmt__json_fail(err, comma, FMT__JE_TRAILING_COMMA, FMT_EPARSE);
				goto fail;
			}
			continue;
		}
		if (FMT__LIKELY(p < len && line[p] == '}')) {
			p++;
			break;
		}
		rc = fmt__json_expect(err, p, len, FMT__JE_OBJ_NEXT);
		goto fail;
	}
end:
	rc = tail(line, len, p, rec, err);
	if (rc < 0)
		goto fail;
	finish(&st);
	return 0;
fail:
	fmt_record_clear(rec);
	return rc;
}
