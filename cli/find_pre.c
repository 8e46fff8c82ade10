/*
 * find_pre.c - tracegrep --find's pre-pass on raw files: which
 * transactions may have failed, found before anything is summarised.
 *
 * DESIGN: a search that passes only failed transactions (--error, or a
 * --status whose every range is >= 500) needs the summaries of those
 * alone. A first scan looks at each record's raw bytes with a cheap,
 * conservative test (tg_find_maybe_failed(): an ERROR/FATAL level word, a
 * status that is not plainly < 500 or ok) and parses only the records it
 * lets through; those that qy_record_failed() says failed (the very rule
 * summaries use) give their trace ID's 64-bit hash to a set. A second
 * scan takes each record's trace ID from its raw bytes
 * (tg_find_raw_trace()) and parses and summarises only the records whose
 * ID is in the set.
 *
 * Both raw tests answer "maybe" whenever the bytes are not plain enough
 * to judge (a backslash, a nested object, an unusual head): the record is
 * then parsed, as it would be without the pre-pass. So the set holds the
 * trace of every failed record, and the answer is the one a full scan
 * gives: a transaction outside the set has no failed record, so it could
 * not pass the filter; one inside whose hash merely collides is
 * summarised in full and filtered out as before.
 *
 * With --error alone and a limit (find.c), a scan between the two notes
 * each failed trace's earliest and latest record time and the units of
 * work its records are in (struct tg_bounds; the time read from the bytes
 * by tg_find_raw_ts() where they are plain), and tg_bounds_top() keeps the
 * traces that may be among the latest: only those are summarised, from
 * only those units.
 *
 * OTLP/JSON lines (the OTel Collector's file output) are expanded and
 * each of their records judged parsed (prefilter.c), never by bytes.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "fmt/json.h"
#include "fmt/str.h"
#include "fmt/ts.h"
#include "query/filter.h"
#include "query/txns.h" /* qy_trace_key() */
#include "tg.h"
#include "banned.h"

/* ---- the set of trace hashes ---- */

static size_t set_slot(uint64_t h, size_t mask)
{
	return (size_t)(h ^ (h >> 31)) & mask;
}

void tg_traceset_add(struct tg_traceset *t, uint64_t h)
{
	size_t mask, i;

	h = h ? h : 1; /* 0 marks an empty slot */
	if ((t->n + 1) * 2 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		uint64_t *v = tg_xcalloc(cap, sizeof(*v));

		for (size_t k = 0; k < t->cap; k++) {
			if (!t->v[k])
				continue;
			for (i = set_slot(t->v[k], cap - 1); v[i]; i = (i + 1) & (cap - 1))
				;
			v[i] = t->v[k];
		}
		free(t->v);
		t->v = v;
		t->cap = cap;
	}
	mask = t->cap - 1;
	for (i = set_slot(h, mask); t->v[i]; i = (i + 1) & mask)
		if (t->v[i] == h)
			return;
	t->v[i] = h;
	t->n++;
}

bool tg_traceset_has(const struct tg_traceset *t, uint64_t h)
{
	size_t mask = t->cap - 1;

	if (!t->n)
		return false;
	h = h ? h : 1;
	for (size_t i = set_slot(h, mask); t->v[i]; i = (i + 1) & mask)
		if (t->v[i] == h)
			return true;
	return false;
}

void tg_traceset_merge(struct tg_traceset *dst, struct tg_traceset *src)
{
	if (!dst->n) { /* the first worker's set changes hands */
		struct tg_traceset t = *dst;

		*dst = *src;
		*src = t;
		return;
	}
	for (size_t k = 0; k < src->cap; k++)
		if (src->v[k])
			tg_traceset_add(dst, src->v[k]);
}

void tg_traceset_release(struct tg_traceset *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* ---- time bounds per trace ---- */

bool tg_bound_unit(uint32_t src, uint64_t off, uint32_t *unit)
{
	uint64_t u = off / TG_UNIT_BYTES;

	*unit = (uint32_t)(src << 16 | u);
	return src <= UINT16_MAX && u <= UINT16_MAX;
}

/* Widen @d (the same trace's) by @e. */
static void bound_widen(struct tg_bound *d, const struct tg_bound *e)
{
	if (e->lo < d->lo)
		d->lo = e->lo;
	if (e->hi > d->hi)
		d->hi = e->hi;
	d->anywhere |= e->anywhere;
	for (size_t j = 0; j < e->nunits && !d->anywhere; j++) {
		size_t k = 0;

		while (k < d->nunits && d->units[k] != e->units[j])
			k++;
		if (k < d->nunits)
			continue;
		if (d->nunits == TG_BOUND_UNITS)
			d->anywhere = true;
		else
			d->units[d->nunits++] = e->units[j];
	}
}

void tg_bounds_add(struct tg_bounds *b, const struct tg_bound *e)
{
	uint64_t h = e->h ? e->h : 1;
	size_t mask, i;

	/* At most 3/4 full (linear probing stays short), as a worker's table holds most failed traces. */
	if ((b->n + 1) * 4 > b->cap * 3) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		struct tg_bound *v = tg_xcalloc(cap, sizeof(*v));

		for (size_t k = 0; k < b->cap; k++) {
			if (!b->v[k].h)
				continue;
			for (i = set_slot(b->v[k].h, cap - 1); v[i].h; i = (i + 1) & (cap - 1))
				;
			v[i] = b->v[k];
		}
		free(b->v);
		b->v = v;
		b->cap = cap;
	}
	mask = b->cap - 1;
	for (i = set_slot(h, mask); b->v[i].h; i = (i + 1) & mask) {
		if (b->v[i].h == h) {
			bound_widen(&b->v[i], e);
			return;
		}
	}
	b->v[i] = (struct tg_bound){.h = h, .lo = INT64_MAX, .hi = INT64_MIN};
	bound_widen(&b->v[i], e);
	b->n++;
}

void tg_bounds_merge(struct tg_bounds *dst, struct tg_bounds *src)
{
	if (!dst->n) { /* the first worker's table changes hands: no copy, no second table */
		struct tg_bounds t = *dst;

		*dst = *src;
		*src = t;
		return;
	}
	for (size_t k = 0; k < src->cap; k++)
		if (src->v[k].h)
			tg_bounds_add(dst, &src->v[k]);
}

void tg_bounds_release(struct tg_bounds *b)
{
	free(b->v);
	memset(b, 0, sizeof(*b));
}

static int by_lo_desc(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x > y ? -1 : x < y;
}

/* A trace with no timestamped record starts at 0 (qy_summary_start()). */
static void bound_of(const struct tg_bound *e, int64_t *lo, int64_t *hi)
{
	*lo = e->lo <= e->hi ? e->lo : 0;
	*hi = e->lo <= e->hi ? e->hi : 0;
}

void tg_bounds_top(const struct tg_bounds *b, size_t k, struct tg_traceset *out, struct tg_traceset *units,
		   bool *anywhere)
{
	int64_t *lo = tg_xmalloc((b->n ? b->n : 1) * sizeof(*lo)), theta = INT64_MIN, l, h;
	size_t n = 0;

	for (size_t i = 0; i < b->cap; i++)
		if (b->v[i].h)
			bound_of(&b->v[i], &lo[n++], &h);
	/*
	 * The k latest lower bounds: k transactions start at theta or later, so one whose
	 * records all lie before theta starts before theta and is not among the k latest.
	 */
	if (k && n > k) {
		qsort(lo, n, sizeof(*lo), by_lo_desc);
		theta = lo[k - 1];
	}
	free(lo);
	for (size_t i = 0; i < b->cap; i++) {
		if (!b->v[i].h)
			continue;
		bound_of(&b->v[i], &l, &h);
		if (h < theta)
			continue;
		tg_traceset_add(out, b->v[i].h);
		*anywhere |= b->v[i].anywhere;
		for (size_t j = 0; j < b->v[i].nunits; j++)
			tg_traceset_add(units, (uint64_t)b->v[i].units[j] + 1);
	}
}

bool tg_rec_trace_hash(const struct fmt_record *r, uint64_t *h)
{
	char small[256], *big = NULL;
	const char *id;
	size_t len;

	if (r->trace.enc != FMT_ENC_RAW && r->trace.len > sizeof(small))
		big = tg_xmalloc(r->trace.len);
	id = qy_trace_key(r, big ? big : small, &len);
	*h = qy_span_hash(id, len);
	free(big);
	return len > 0;
}

/* ---- judging raw bytes ---- */

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Whether a level text makes a record failed (fmt_level_from_text()'s ERROR or FATAL). */
static bool level_fails(const char *s, size_t n)
{
	enum fmt_level l = fmt_level_from_text(s, n);

	return l == FMT_LEVEL_ERROR || l == FMT_LEVEL_FATAL;
}

/*
 * Whether a status value (as written, without quotes) may fail: false only
 * for what surely does not (empty, an integer below 500, ok/OK/Ok/unset),
 * as qy_record_failed() would judge it.
 */
static bool status_may_fail(const char *v, size_t n)
{
	size_t i;
	long long code = 0;

	if (n == 0)
		return false; /* and v may be the end of the bytes: not read */
	i = v[0] == '-' ? 1 : 0;
	if (n - i >= 1 && n - i <= 18) {
		size_t k = i;

		while (k < n && v[k] >= '0' && v[k] <= '9')
			code = code * 10 + (v[k++] - '0');
		if (k == n)
			return i == 0 && code >= 500;
	}
	return !(
		(n == 2 && (memcmp(v, "ok", 2) == 0 || memcmp(v, "OK", 2) == 0 || memcmp(v, "Ok", 2) == 0)) ||
		(n == 5 && memcmp(v, "unset", 5) == 0));
}

/*
 * Most marks a record is judged by: a JSON line of 30 members has about
 * 120 quotes; one with more (or a record longer than 64 KiB) is parsed.
 */
#define MARKS_MAX 256

/* Where a record's marks are, found in one pass (find_marks()). */
struct marks {
	uint16_t at[MARKS_MAX]; /* offsets of the mark byte ('"' or '|') in the first line */
	int n;			/* entries in at, or -1: too many */
	size_t line;		/* the first line's length */
	bool slash;		/* the first line holds a backslash */
	bool brace;		/* the first line holds a '{' past offset @open */
};

/* A backslash or a '{' (rare) at offset @i: noted. */
static void odd_at(const char *s, size_t i, size_t open, struct marks *m)
{
	if (s[i] == '\\')
		m->slash = true;
	else if (i != open)
		m->brace = true;
}

/*
 * The marks of s[0, n)'s first line, 16 bytes a step: a JSON line's
 * quotes are looked for once, not string by string (a memchr() call per
 * string was the pre-pass's largest cost), and stored without a branch
 * per mark.
 */
static void find_marks(const char *s, size_t n, char mark, size_t open, struct marks *m)
{
	size_t i = 0;
	int k = 0;

	m->n = -1;
	m->line = n;
	m->slash = m->brace = false;
	if (n > UINT16_MAX)
		return;
#ifdef __SSE2__
	{
		const __m128i vm = _mm_set1_epi8(mark), vs = _mm_set1_epi8('\\');
		const __m128i vb = _mm_set1_epi8('{'), vn = _mm_set1_epi8('\n');

		for (; i + 16 <= n; i += 16) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
			unsigned nl = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, vn));
			unsigned hit = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, vm));
			unsigned odd = (unsigned)_mm_movemask_epi8(
				_mm_or_si128(_mm_cmpeq_epi8(x, vs), _mm_cmpeq_epi8(x, vb)));

			if (nl) { /* only the bytes before the first newline */
				hit &= (nl & (0u - nl)) - 1;
				odd &= (nl & (0u - nl)) - 1;
			}
			if (k + 16 > MARKS_MAX)
				return;
			for (; hit; hit &= hit - 1)
				m->at[k++] = (uint16_t)(i + (unsigned)__builtin_ctz(hit));
			for (; odd; odd &= odd - 1)
				odd_at(s, i + (unsigned)__builtin_ctz(odd), open, m);
			if (nl) {
				m->line = i + (unsigned)__builtin_ctz(nl);
				m->n = k;
				return;
			}
		}
	}
#endif
	for (; i < n; i++) {
		if (s[i] == '\n') {
			m->line = i;
			break;
		}
		if (s[i] == mark) {
			if (k == MARKS_MAX)
				return;
			m->at[k++] = (uint16_t)i;
		} else if (s[i] == '\\' || s[i] == '{') {
			odd_at(s, i, open, m);
		}
	}
	m->n = k;
}

/* The first non-blank offset at or after @p in s[0, n). */
static size_t skip_ws(const char *s, size_t n, size_t p)
{
	while (p < n && is_ws(s[p]))
		p++;
	return p;
}

/*
 * A plain JSON record: one line, no backslash, no nested object, so every
 * '"' delimits a string and strings are the pairs (at[2j], at[2j + 1]).
 */
static bool json_plain(const char *s, size_t n, size_t open, struct marks *m)
{
	find_marks(s, n, '"', open, m);
	return m->n >= 0 && !(m->n & 1) && m->line == n && !m->slash && !m->brace;
}

/*
 * The value of the member whose key is string j (a pair of @m): v[0, *vn),
 * *str when it is a string. Return: false when string j is not a key.
 */
static bool json_value(const char *s, size_t n, const struct marks *m, int j, const char **v, size_t *vn,
		       bool *str)
{
	size_t p = skip_ws(s, n, (size_t)m->at[j + 1] + 1), e;

	if (p >= n || s[p] != ':')
		return false; /* a value or an array's element */
	p = skip_ws(s, n, p + 1);
	*str = p < n && s[p] == '"';
	if (*str) {
		if (j + 3 >= m->n || m->at[j + 2] != p)
			return false;
		*v = s + p + 1;
		*vn = (size_t)m->at[j + 3] - p - 1;
		return true;
	}
	for (e = p; e < n && s[e] != ',' && s[e] != '}' && s[e] != ']' && !is_ws(s[e]); e++)
		;
	*v = s + p;
	*vn = e - p;
	return true;
}

/*
 * Whether the member whose key's closing quote is at @q (followed by ':')
 * may fail the record: a status or a level (the parser's names for it,
 * fmt_json_level_key()) whose value may fail. json_keys() hands only keys
 * of lines with no backslash, so the key starts after the quote before.
 */
static bool key_may_fail(const char *s, size_t n, size_t q)
{
	const char *open = memrchr(s, '"', q);
	size_t k, kl, p, e;
	bool status;

	if (!open)
		return true;
	k = (size_t)(open - s) + 1;
	kl = q - k;
	status = qy_status_key(s + k, kl);
	if (!status && !fmt_json_level_key(s + k, kl))
		return false;
	p = skip_ws(s, n, q + 2);
	if (p < n && s[p] == '"') {
		const char *ve = memchr(s + p + 1, '"', n - p - 1);

		if (!ve)
			return true;
		p++;
		e = (size_t)(ve - s);
	} else {
		for (e = p; e < n && s[e] != ',' && s[e] != '}' && s[e] != ']' && !is_ws(s[e]); e++)
			;
	}
	return status ? status_may_fail(s + p, e - p) : level_fails(s + p, e - p);
}

/* A key's test in json_keys(): 1 stops the walk (found), 0 goes on. */
typedef int (*key_fn)(const char *s, size_t n, size_t q, void *arg);

/*
 * The keys of a one-line object with no backslash and no nested object:
 * the strings closed by a quote right before a ':' (a string holds no
 * quote), found 16 bytes a step and handed to @fn (the offset of the
 * key's closing quote) in line order. Return: 1 (@fn found), 0 (none), or
 * -1 when the bytes up to there are not that plain (or a quote is
 * followed by a blank, as a key before " :" would be).
 */
static inline __attribute__((always_inline)) int json_keys(const char *s, size_t n, size_t open, key_fn fn,
							   void *arg)
{
	size_t i = open + 1;

#ifdef __SSE2__
	const __m128i vq = _mm_set1_epi8('"'), vc = _mm_set1_epi8(':'), vsp = _mm_set1_epi8(' ');
	const __m128i vt = _mm_set1_epi8('\t'), vr = _mm_set1_epi8('\r'), vs = _mm_set1_epi8('\\');
	const __m128i vb = _mm_set1_epi8('{'), vn = _mm_set1_epi8('\n');

	for (; i + 17 <= n; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		__m128i y = _mm_loadu_si128((const __m128i *)(const void *)(s + i + 1));
		__m128i q = _mm_cmpeq_epi8(x, vq);
		unsigned ends = (unsigned)_mm_movemask_epi8(_mm_and_si128(q, _mm_cmpeq_epi8(y, vc)));
		__m128i blank = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(y, vsp), _mm_cmpeq_epi8(y, vt)),
					     _mm_cmpeq_epi8(y, vr));
		__m128i odd = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, vs), _mm_cmpeq_epi8(x, vb)),
					   _mm_cmpeq_epi8(x, vn));

		if (_mm_movemask_epi8(_mm_or_si128(odd, _mm_and_si128(q, blank))))
			return -1;
		for (; ends; ends &= ends - 1)
			if (fn(s, n, i + (unsigned)__builtin_ctz(ends), arg))
				return 1;
	}
#endif
	for (; i < n; i++) {
		if (s[i] == '\\' || s[i] == '{' || s[i] == '\n')
			return -1;
		if (s[i] != '"' || i + 1 >= n)
			continue;
		if (is_ws(s[i + 1]))
			return -1;
		if (s[i + 1] == ':' && fn(s, n, i, arg))
			return 1;
	}
	return 0;
}

static int key_fails(const char *s, size_t n, size_t q, void *arg)
{
	(void)arg;
	return key_may_fail(s, n, q);
}

static bool json_maybe_failed(const char *s, size_t n, size_t open)
{
	struct marks m;
	int fast = json_keys(s, n, open, key_fails, NULL);

	if (fast >= 0)
		return fast;
	if (!json_plain(s, n, open, &m))
		return true; /* parsed */
	for (int j = 0; j < m.n; j += 2) {
		const char *k = s + m.at[j] + 1, *v;
		size_t kn = (size_t)m.at[j + 1] - m.at[j] - 1, vn;
		bool str, status = qy_status_key(k, kn);

		if (!status && !fmt_json_level_key(k, kn))
			continue;
		if (!json_value(s, n, &m, j, &v, &vn, &str))
			continue;
		if (status ? status_may_fail(v, vn) : level_fails(v, vn))
			return true;
	}
	return false;
}

/* Where a pipe record's IDS field starts, before its first '|' at @bar. */
static size_t pipe_ids(const char *s, size_t bar)
{
	const char *sp =
		memrchr(s, ' ', bar); /* timestamp and level are followed by a space, IDs hold none */

	return sp ? (size_t)(sp - s) + 1 : 0;
}

static pthread_once_t status_once = PTHREAD_ONCE_INIT;
static struct tg_finder status_finder; /* "status", set once */

static void status_finder_init(void)
{
	tg_finder_init(&status_finder, "status", 6);
}

/* Whether the value from @v up to the next '|' or newline (before @end) may fail. */
static bool value_may_fail(const char *v, const char *end)
{
	const char *ve = v;

	while (ve < end && ve - v <= 20 && *ve != '|' && *ve != '\n')
		ve++;
	if (ve - v > 20)
		return true; /* longer than any value that is surely fine */
	/* a CR before the newline, or at the end, is not part of the record */
	if (ve > v && ve[-1] == '\r' && (ve == end || *ve == '\n'))
		ve--;
	return status_may_fail(v, (size_t)(ve - v));
}

/*
 * Whether a status field in [@p, @end) may fail: every "|status=", its '|'
 * escaped or not, continuation lines too (a superset of the record's status
 * fields: a field starts after an unescaped '|'), and every "status_code=",
 * a superset of OpenTelemetry's HTTP status keys (query/summary.h; no escape
 * can spell a key's letters). One search for "status" finds both. A value
 * is read to the next '|' or newline, so one holding an escape (a backslash
 * before its end) reads as text, which may fail, as its decoded text would.
 */
static bool status_fields_may_fail(const char *p, const char *end)
{
	pthread_once(&status_once, status_finder_init);
	for (; (p = tg_find(&status_finder, p, (size_t)(end - p))); p += 6) {
		if (p[-1] == '|' && end - p > 6 && p[6] == '=') {
			if (value_may_fail(p + 7, end))
				return true;
		} else if (end - p > 12 && memcmp(p + 6, "_code=", 6) == 0 && value_may_fail(p + 12, end)) {
			return true;
		}
	}
	return false;
}

static bool pipe_maybe_failed(const char *s, size_t n)
{
	const char *b = memchr(s, '|', n);
	size_t ids, t = 0;

	if (!b)
		return true;
	ids = pipe_ids(s, (size_t)(b - s));
	/* The level is a token before the IDs. */
	while (t < ids) {
		const char *sp = memchr(s + t, ' ', ids - t);
		size_t e = sp ? (size_t)(sp - s) : ids;

		if (level_fails(s + t, e - t))
			return true;
		t = e + 1;
	}
	return status_fields_may_fail(b + 1, s + n);
}

/* Where a JSON record's object opens, or false when it is a pipe record. */
static bool json_open(const char *s, size_t n, size_t *open)
{
	size_t i = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	*open = i;
	return i < n && s[i] == '{';
}

bool tg_find_maybe_failed(const char *s, size_t n)
{
	size_t open;

	if (json_open(s, n, &open))
		return json_maybe_failed(s, n, open);
	return pipe_maybe_failed(s, n);
}

static bool id_byte(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '_' || c == '-';
}

/* The first key "trace" found by json_keys(): its string value, or id NULL when not plain. */
struct trace_key {
	const char *id;
	size_t len;
};

static int trace_key(const char *s, size_t n, size_t q, void *arg)
{
	struct trace_key *t = arg;
	const char *ve;
	size_t p;

	if (q < 6 || s[q - 6] != '"' || memcmp(s + q - 5, "trace", 5) != 0)
		return 0;
	p = skip_ws(s, n, q + 2);
	if (p < n && s[p] == '"' && (ve = memchr(s + p + 1, '"', n - p - 1)) && ve > s + p + 1 &&
	    !memchr(s + p + 1, '\\', (size_t)(ve - s) - p - 1)) {
		t->id = s + p + 1;
		t->len = (size_t)(ve - s) - p - 1;
	}
	return 1; /* the first key "trace" decides, plain or not */
}

int tg_find_raw_trace(const char *s, size_t n, const char **id, size_t *len)
{
	size_t open, ids, bar, e;
	const char *b;

	if (json_open(s, n, &open)) {
		struct trace_key t = {NULL, 0};

		/*
		 * "trace" is the first of the trace's names (json.md) and the first member of a
		 * name wins: the first key "trace" (in a plain line up to it: no escaped key may
		 * be "trace" too, no nested object holds it) must have a plain string value.
		 */
		if (json_keys(s, n, open, trace_key, &t) <= 0 || !t.id)
			return -1;
		*id = t.id;
		*len = t.len;
		return 1;
	}
	/* A record start (fmt_detect()) has its first '|' on its first line. */
	if (!(b = memchr(s, '|', n)))
		return -1;
	bar = (size_t)(b - s);
	ids = pipe_ids(s, bar);
	if (bar - ids == 1 && s[ids] == '-')
		return 0; /* "-": no IDs at all */
	for (e = ids; e < bar && s[e] != ':'; e++)
		if (!id_byte(s[e]))
			return -1;
	if (e == ids || (e - ids == 1 && s[ids] == '-'))
		return -1;
	*id = s + ids;
	*len = e - ids;
	return 1;
}

int tg_find_raw_ts(const char *s, size_t n, int64_t *ts)
{
	size_t open, q;

	if (json_open(s, n, &open)) {
		const char *v = s + open + 14, *ve;

		/* "timestamp" is the first of the time's names: as the object's first member, it wins. */
		if (n - open < 15 || memcmp(s + open, "{\"timestamp\":\"", 14) != 0 ||
		    !(ve = memchr(v, '"', (size_t)(s + n - v))) || memchr(v, '\\', (size_t)(ve - v)))
			return -1;
		return fmt_ts_parse(v, (size_t)(ve - v), ts, NULL) == 0 ? 1 : -1;
	}
	/* A pipe head's timestamp: 4 digits, '-', at least one more byte, then a space (pipe.md). */
	if (n < 6 || !(s[0] >= '0' && s[0] <= '9') || !(s[1] >= '0' && s[1] <= '9') ||
	    !(s[2] >= '0' && s[2] <= '9') || !(s[3] >= '0' && s[3] <= '9') || s[4] != '-')
		return 0;
	for (q = 5; q < n && s[q] != ' ' && s[q] != '|' && s[q] != '\n'; q++)
		;
	if (q == 5 || q >= n || s[q] != ' ')
		return 0;
	return fmt_ts_parse(s, q, ts, NULL) == 0 ? 1 : -1;
}
