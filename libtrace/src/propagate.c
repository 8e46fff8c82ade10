/*
 * propagate.c - reading the trace context from request headers, and
 * writing it into the headers of outgoing requests.
 *
 * DESIGN: pure functions over an array of header views; no allocation,
 * no global state. Extraction takes the first *valid* context in the
 * order traceparent > b3 > X-B3-* > X-Request-ID, so a broken traceparent
 * next to a good b3 still continues the trace, and an invalid header never
 * half-fills the result.
 *
 * W3C Trace Context (level 2, the spec at w3c/trace-context acab820):
 * - traceparent must appear exactly once; surrounding SP/HTAB is ignored;
 *   hex is lowercase only; all-zero trace-id/parent-id and version ff are
 *   invalid; version 00 is exactly 55 characters; a later version is read
 *   by its version-00 prefix, which must end the value or be followed by
 *   '-'.
 * - tracestate headers are joined in order (empty ones allowed) and kept
 *   only next to a valid traceparent. Members are separated by ',' with
 *   optional SP/HTAB around; empty members are skipped. Keys follow the
 *   *current* grammar, (lcalpha / DIGIT) then up to 255 of
 *   lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@", with '@' allowed anywhere
 *   after the first character. The level-1 grammar (only tenant@system,
 *   tenant <= 241 and system <= 14 characters) was dropped in #584; we
 *   follow the current one, so keys like "foo@", "foo@@bar", "a@b@c" and
 *   long tenants are kept (the 5 vectors marked expect_level1_grammar).
 *   Values are 1..256 printable ASCII characters without ',' and '=', not
 *   ending in a space. An invalid member, more than 32 members, or a
 *   joined list over CLEW_TRACESTATE_MAX (512) bytes drops the whole
 *   tracestate (the reference implementation's policy). A repeated key
 *   keeps its first member and drops the later ones.
 * B3 (openzipkin/b3-propagation): trace IDs are 16 or 32 lowercase hex
 * (16 are padded to 32 with zeros on the left, as OpenTelemetry does, so a
 * trace keeps one spelling across hops), span IDs 16; none all zero.
 * X-Request-ID is taken as the trace ID when it is a valid clew ID.
 */
#include <string.h>

#include "internal.h"

/* Most tracestate members (W3C). */
#define TS_MEMBERS_MAX 32
/* Longest tracestate key and value (W3C). */
#define TS_KEY_MAX 256
#define TS_VALUE_MAX 256
/* "00-" + 32 + "-" + 16 + "-" + 2 */
#define TRACEPARENT_LEN 55

static bool is_ows(char ch)
{
	return ch == ' ' || ch == '\t';
}

static void trim(const char **s, size_t *len)
{
	while (*len && is_ows((*s)[0])) {
		(*s)++;
		(*len)--;
	}
	while (*len && is_ows((*s)[*len - 1]))
		(*len)--;
}

static bool name_is(const struct clew_header *h, const char *lit)
{
	size_t n = strlen(lit);

	if (!h->name || h->name_len != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char a = h->name[i];

		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (a != lit[i]) /* @lit is lowercase */
			return false;
	}
	return true;
}

static bool all_zero(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != '0')
			return false;
	return true;
}

static void set_str(char *dst, const char *s, size_t len)
{
	memcpy(dst, s, len);
	dst[len] = '\0';
}

/* A trace ID of 16 or 32 lowercase hex, not all zero, written as 32. */
static bool b3_trace(const char *s, size_t len, char *out)
{
	if ((len != 16 && len != 32) || !clew__is_lhex(s, len) || all_zero(s, len))
		return false;
	memset(out, '0', 32 - len);
	set_str(out + 32 - len, s, len);
	return true;
}

static bool span_ok(const char *s, size_t len)
{
	return len == CLEW_SPAN_HEX_LEN && clew__is_lhex(s, len) && !all_zero(s, len);
}

static bool parse_traceparent(const char *v, size_t len, struct clew_propagation *out)
{
	trim(&v, &len);
	if (len < TRACEPARENT_LEN || !clew__is_lhex(v, 2) || memcmp(v, "ff", 2) == 0)
		return false;
	if (memcmp(v, "00", 2) == 0 ? len != TRACEPARENT_LEN : (len > TRACEPARENT_LEN && v[55] != '-'))
		return false;
	if (v[2] != '-' || v[35] != '-' || v[52] != '-' || !clew__is_lhex(v + 3, 32) ||
	    !clew__is_lhex(v + 36, 16) || !clew__is_lhex(v + 53, 2) || all_zero(v + 3, 32) ||
	    all_zero(v + 36, 16))
		return false;
	set_str(out->trace, v + 3, 32);
	set_str(out->span, v + 36, 16);
	out->flags = (uint8_t)(((v[53] <= '9' ? v[53] - '0' : v[53] - 'a' + 10) << 4) |
			       (v[54] <= '9' ? v[54] - '0' : v[54] - 'a' + 10));
	out->sampling = (out->flags & CLEW_TRACE_SAMPLED) ? CLEW_SAMPLING_YES : CLEW_SAMPLING_NO;
	out->source = CLEW_PROP_W3C;
	return true;
}

static bool key_char(char ch, bool first)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
		return true;
	return !first && (ch == '_' || ch == '-' || ch == '*' || ch == '/' || ch == '@');
}

/* nblk-chr: printable ASCII except ',' and '=' (the space is only allowed inside). */
static bool value_char(char ch)
{
	return ch >= 0x20 && ch <= 0x7e && ch != ',' && ch != '=';
}

/* The tracestate being built: members joined into out->tracestate, key spans remembered. */
struct ts_build {
	struct clew_propagation *out;	  /* result; tracestate/tracestate_len grow */
	uint16_t key_off[TS_MEMBERS_MAX]; /* start of each kept member's key in out->tracestate */
	uint16_t key_len[TS_MEMBERS_MAX]; /* its length */
	unsigned n;			  /* members kept */
};

/* Add one member (already trimmed, not empty). Return: false when the whole tracestate must go. */
static bool ts_member(struct ts_build *b, const char *m, size_t len)
{
	struct clew_propagation *out = b->out;
	size_t k = 0, need;

	while (k < len && m[k] != '=') {
		if (!key_char(m[k], k == 0))
			return false;
		k++;
	}
	if (k == 0 || k > TS_KEY_MAX || k == len || len - k - 1 > TS_VALUE_MAX || len - k - 1 == 0 ||
	    m[len - 1] == ' ')
		return false;
	for (size_t i = k + 1; i < len; i++)
		if (!value_char(m[i]))
			return false;
	for (unsigned i = 0; i < b->n; i++)
		if (b->key_len[i] == k && memcmp(out->tracestate + b->key_off[i], m, k) == 0)
			return true; /* a repeated key: the first member wins */
	if (b->n == TS_MEMBERS_MAX)
		return false;
	need = len + (b->n ? 1 : 0);
	if (out->tracestate_len + need > CLEW_TRACESTATE_MAX)
		return false;
	if (b->n)
		out->tracestate[out->tracestate_len++] = ',';
	b->key_off[b->n] = out->tracestate_len;
	b->key_len[b->n] = (uint16_t)k;
	memcpy(out->tracestate + out->tracestate_len, m, len);
	out->tracestate_len = (uint16_t)(out->tracestate_len + len);
	b->n++;
	return true;
}

/* Parse one tracestate header value into @b. Return: false when the whole tracestate must go. */
static bool ts_header(struct ts_build *b, const char *v, size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && v[i] != ',')
			continue;
		{
			const char *m = v + start;
			size_t mlen = i - start;

			trim(&m, &mlen);
			if (mlen && !ts_member(b, m, mlen))
				return false;
		}
		start = i + 1;
	}
	return true;
}

static void extract_tracestate(const struct clew_header *h, size_t n, struct clew_propagation *out)
{
	struct ts_build b = {.out = out, .n = 0};

	out->tracestate_len = 0;
	for (size_t i = 0; i < n; i++) {
		if (!name_is(&h[i], "tracestate"))
			continue;
		if (h[i].value_len == 0)
			continue; /* an empty tracestate header is allowed */
		if (!h[i].value || !ts_header(&b, h[i].value, h[i].value_len))
			goto drop;
	}
	out->tracestate[out->tracestate_len] = '\0';
	return;
drop:
	out->tracestate_len = 0;
	out->tracestate[0] = '\0';
}

static bool extract_w3c(const struct clew_header *h, size_t n, struct clew_propagation *out)
{
	const struct clew_header *tp = NULL;

	for (size_t i = 0; i < n; i++) {
		if (!name_is(&h[i], "traceparent"))
			continue;
		if (tp)
			return false; /* two traceparent headers: invalid */
		tp = &h[i];
	}
	if (!tp || !tp->value || !parse_traceparent(tp->value, tp->value_len, out))
		return false;
	extract_tracestate(h, n, out);
	return true;
}

static int b3_sampling(const char *s, size_t len)
{
	if (len == 1 && s[0] == '1')
		return CLEW_SAMPLING_YES;
	if (len == 1 && s[0] == '0')
		return CLEW_SAMPLING_NO;
	if (len == 1 && s[0] == 'd')
		return CLEW_SAMPLING_DEBUG;
	return -1;
}

static void b3_flags(struct clew_propagation *out)
{
	out->flags = out->sampling == CLEW_SAMPLING_NO ? 0 : CLEW_TRACE_SAMPLED;
}

/* b3: {TraceId}-{SpanId}[-{SamplingState}[-{ParentSpanId}]] */
static bool extract_b3(const struct clew_header *h, size_t n, struct clew_propagation *out)
{
	const char *field[4];
	size_t flen[4], nf = 0, start = 0;
	const char *v;
	size_t len;
	int s;

	for (size_t i = 0;; i++) {
		if (i == n)
			return false;
		if (name_is(&h[i], "b3") && h[i].value) {
			v = h[i].value;
			len = h[i].value_len;
			break;
		}
	}
	trim(&v, &len);
	for (size_t i = 0; i <= len; i++) {
		if (i < len && v[i] != '-')
			continue;
		if (nf == 4)
			return false;
		field[nf] = v + start;
		flen[nf++] = i - start;
		start = i + 1;
	}
	/* A lone sampling state ("0", "1", "d") carries no context to continue. */
	if (nf < 2 || !b3_trace(field[0], flen[0], out->trace) || !span_ok(field[1], flen[1]))
		return false;
	set_str(out->span, field[1], flen[1]);
	out->sampling = CLEW_SAMPLING_DEFER;
	if (nf >= 3) {
		s = b3_sampling(field[2], flen[2]);
		if (s < 0)
			return false;
		out->sampling = (uint8_t)s;
	}
	if (nf == 4) {
		if (!span_ok(field[3], flen[3]))
			return false;
		set_str(out->parent, field[3], flen[3]);
	}
	b3_flags(out);
	out->source = CLEW_PROP_B3;
	return true;
}

static const struct clew_header *find(const struct clew_header *h, size_t n, const char *lname)
{
	for (size_t i = 0; i < n; i++)
		if (name_is(&h[i], lname) && h[i].value)
			return &h[i];
	return NULL;
}

static bool extract_b3_multi(const struct clew_header *h, size_t n, struct clew_propagation *out)
{
	const struct clew_header *t = find(h, n, "x-b3-traceid");
	const struct clew_header *s = find(h, n, "x-b3-spanid");
	const struct clew_header *p = find(h, n, "x-b3-parentspanid");
	const struct clew_header *smp = find(h, n, "x-b3-sampled");
	const struct clew_header *fl = find(h, n, "x-b3-flags");
	const char *v;
	size_t len;

	if (!t || !s)
		return false;
	v = t->value;
	len = t->value_len;
	trim(&v, &len);
	if (!b3_trace(v, len, out->trace))
		return false;
	v = s->value;
	len = s->value_len;
	trim(&v, &len);
	if (!span_ok(v, len))
		return false;
	set_str(out->span, v, len);
	if (p) {
		v = p->value;
		len = p->value_len;
		trim(&v, &len);
		if (!span_ok(v, len))
			return false;
		set_str(out->parent, v, len);
	}
	out->sampling = CLEW_SAMPLING_DEFER;
	if (smp) {
		v = smp->value;
		len = smp->value_len;
		trim(&v, &len);
		if ((len == 1 && v[0] == '1') || (len == 4 && memcmp(v, "true", 4) == 0))
			out->sampling = CLEW_SAMPLING_YES;
		else if ((len == 1 && v[0] == '0') || (len == 5 && memcmp(v, "false", 5) == 0))
			out->sampling = CLEW_SAMPLING_NO;
		else
			return false;
	}
	if (fl) {
		v = fl->value;
		len = fl->value_len;
		trim(&v, &len);
		if (len == 1 && v[0] == '1')
			out->sampling = CLEW_SAMPLING_DEBUG;
	}
	b3_flags(out);
	out->source = CLEW_PROP_B3_MULTI;
	return true;
}

static bool extract_request_id(const struct clew_header *h, size_t n, struct clew_propagation *out)
{
	const struct clew_header *r = find(h, n, "x-request-id");
	const char *v;
	size_t len;

	if (!r)
		return false;
	v = r->value;
	len = r->value_len;
	trim(&v, &len);
	if (!clew_id_valid(v, len))
		return false;
	set_str(out->trace, v, len);
	out->sampling = CLEW_SAMPLING_DEFER;
	b3_flags(out);
	out->source = CLEW_PROP_REQUEST_ID;
	return true;
}

int clew_extract(const struct clew_header *h, size_t n, struct clew_propagation *out)
{
	static bool (*const styles[])(const struct clew_header *, size_t, struct clew_propagation *) = {
		extract_w3c,
		extract_b3,
		extract_b3_multi,
		extract_request_id,
	};

	if (!out)
		return -CLEW_EINVAL;
	memset(out, 0, sizeof(*out));
	if (!h && n > 0)
		return -CLEW_EINVAL;
	for (size_t i = 0; i < sizeof(styles) / sizeof(styles[0]); i++) {
		if (styles[i](h, n, out))
			return 0;
		memset(out, 0, sizeof(*out)); /* no half-filled result from a style that failed */
	}
	return -CLEW_ENOENT;
}

/*
 * The 32 hex digits of a trace ID W3C and B3 can carry: the ID itself when
 * it is 32 lowercase hex, or the digits of a lowercase UUID. Return: false
 * when the ID has no such form (base62, a foreign X-Request-ID).
 */
static bool trace_hex(const char *trace, char *out)
{
	size_t len = strlen(trace), j = 0;

	if (len == 32 && clew__is_lhex(trace, 32)) {
		memcpy(out, trace, 32);
		return !all_zero(out, 32);
	}
	if (len != CLEW_UUID_LEN || trace[8] != '-' || trace[13] != '-' || trace[18] != '-' ||
	    trace[23] != '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			continue;
		if (!clew__is_lhex(trace + i, 1))
			return false;
		out[j++] = trace[i];
	}
	return !all_zero(out, 32);
}

/* Appending header values to the caller's buffer. */
struct hbuf {
	struct clew_header *h; /* the caller's array */
	size_t cap, n;	       /* its room and headers written */
	char *buf;	       /* the caller's value buffer */
	size_t bufcap, pos;    /* its room and bytes used */
	bool trunc;	       /* something did not fit */
};

static char *hb_add(struct hbuf *b, const char *name, size_t len)
{
	char *v;

	if (b->n == b->cap || len > b->bufcap - b->pos) {
		b->trunc = true;
		return NULL;
	}
	v = b->buf + b->pos;
	b->h[b->n].name = name;
	b->h[b->n].name_len = strlen(name);
	b->h[b->n].value = v;
	b->h[b->n].value_len = len;
	b->n++;
	b->pos += len;
	return v;
}

static void hb_add_str(struct hbuf *b, const char *name, const char *s, size_t len)
{
	char *v = hb_add(b, name, len);

	if (v)
		memcpy(v, s, len);
}

static const char *b3_sampling_text(unsigned sampling)
{
	switch (sampling) {
	case CLEW_SAMPLING_YES:
		return "1";
	case CLEW_SAMPLING_NO:
		return "0";
	case CLEW_SAMPLING_DEBUG:
		return "d";
	default:
		return NULL;
	}
}

int clew_inject(const struct clew_propagation *p, unsigned styles, struct clew_header *out, size_t cap,
		size_t *nout, char *buf, size_t bufcap)
{
	static const char hexd[] = "0123456789abcdef";
	struct hbuf b = {
		.h = out, .cap = cap, .n = 0, .buf = buf, .bufcap = bufcap, .pos = 0, .trunc = false};
	const unsigned all = CLEW_PROP_W3C | CLEW_PROP_B3 | CLEW_PROP_B3_MULTI | CLEW_PROP_REQUEST_ID;
	char trace[32];
	size_t tlen, slen;
	bool hexok, spanok, parentok;
	char *v;

	if (!p || (!out && cap) || !nout || (!buf && bufcap) || (styles & ~all))
		return -CLEW_EINVAL;
	*nout = 0;
	tlen = strnlen(p->trace, sizeof(p->trace));
	slen = strnlen(p->span, sizeof(p->span));
	if (tlen == sizeof(p->trace) || p->tracestate_len > CLEW_TRACESTATE_MAX)
		return -CLEW_EINVAL;
	hexok = tlen && trace_hex(p->trace, trace);
	spanok = span_ok(p->span, slen);
	parentok = span_ok(p->parent, strnlen(p->parent, sizeof(p->parent)));

	if ((styles & CLEW_PROP_W3C) && hexok && spanok) {
		v = hb_add(&b, "traceparent", TRACEPARENT_LEN);
		if (v) {
			const unsigned fl = p->flags & (CLEW_TRACE_SAMPLED | CLEW_TRACE_RANDOM);

			memcpy(v, "00-", 3);
			memcpy(v + 3, trace, 32);
			v[35] = '-';
			memcpy(v + 36, p->span, 16);
			v[52] = '-';
			v[53] = hexd[fl >> 4];
			v[54] = hexd[fl & 0xf];
		}
		if (p->tracestate_len)
			hb_add_str(&b, "tracestate", p->tracestate, p->tracestate_len);
	}
	if ((styles & CLEW_PROP_B3) && hexok && spanok) {
		const char *s = b3_sampling_text(p->sampling);
		size_t len = 32 + 1 + 16 + (s ? 2 : 0) + (s && parentok ? 17 : 0);

		v = hb_add(&b, "b3", len);
		if (v) {
			memcpy(v, trace, 32);
			v[32] = '-';
			memcpy(v + 33, p->span, 16);
			if (s) {
				v[49] = '-';
				v[50] = s[0];
				if (parentok) {
					v[51] = '-';
					memcpy(v + 52, p->parent, 16);
				}
			}
		}
	}
	if ((styles & CLEW_PROP_B3_MULTI) && hexok && spanok) {
		hb_add_str(&b, "X-B3-TraceId", trace, 32);
		hb_add_str(&b, "X-B3-SpanId", p->span, 16);
		if (parentok)
			hb_add_str(&b, "X-B3-ParentSpanId", p->parent, 16);
		if (p->sampling == CLEW_SAMPLING_DEBUG)
			hb_add_str(&b, "X-B3-Flags", "1", 1);
		else if (p->sampling != CLEW_SAMPLING_DEFER)
			hb_add_str(&b, "X-B3-Sampled", p->sampling == CLEW_SAMPLING_YES ? "1" : "0", 1);
	}
	if ((styles & CLEW_PROP_REQUEST_ID) && tlen)
		hb_add_str(&b, "X-Request-ID", p->trace, tlen);

	if (b.trunc)
		return -CLEW_ETRUNC;
	*nout = b.n;
	return 0;
}
