/*
 * pipe_parse.c - the pipe line format, parsed into a struct fmt_record.
 *
 * DESIGN: one left-to-right pass, no allocation, no copy; the record holds
 * views into the caller's buffer (grammar and mapping in formats/pipe.md).
 * Everything is looked at 16 bytes at a time (SSE2; a scalar fallback
 * computes the same bit masks) and the masks are walked with ctz.
 *
 *  1. The head: an optional timestamp token (4 digits, '-', more, then a
 *     space), an optional level word (then a space) and the IDS field,
 *     whose bytes are classified per block ([A-Za-z0-9._-] or ':'); the
 *     first byte that is neither must be its '|'. This step alone is
 *     fmt_pipe_is_record_start(); it does not parse the timestamp.
 *  2. The body: a mask of '|', '\\' and '\n'. A backslash followed by '|'
 *     or '\\' consumes that byte, so an escaped '|' never splits a field;
 *     '\n' ends the record. Each field is handled the moment its '|' is
 *     found: only then is its '=' looked for, within the field, and its
 *     value typed. The first two fields after IDS are held back until a
 *     third '|' proves the full form; otherwise the whole body is the
 *     message (the short form). Bytes read twice: a key (to find its '='),
 *     a value that starts like a number, and the timestamp token.
 *  3. Whatever follows the first '\n' is rec->cont, verbatim, not scanned.
 *
 * A view is FMT_ENC_PIPE exactly when its bytes hold a backslash: the
 * walk records the first and last backslash of each field, which is
 * enough to tell whether the key, the value, or both hold one.
 *
 * Errors are reported left to right: the first thing that fails wins. The
 * one exception is made for consistency with fmt_pipe_is_record_start():
 * IDS deeper than FMT_IDS_MAX is reported only once the IDS field has
 * proved to be one (ended by '|'), else the line is "not a record start".
 * Pure and thread-safe; never reads outside line[0..len).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "fmt/pipe.h"
#include "fmt/ts.h"

/* Longest word tried as a level ("critical" is 8; pino numbers are 2). */
#define LEVEL_WORD_MAX 15

#define NO_POS SIZE_MAX

#if defined(__SSE2__) && !defined(FMT_NO_SIMD)
#define PIPE_SSE2 1
#else
#define PIPE_SSE2 0
#endif

/* Where the head (prefix and IDS) of a line is. */
struct pipe_head {
	size_t ts_len; /* timestamp token at 0, or 0 when none */
	size_t lv_off; /* level word, when lv_len > 0 */
	size_t lv_len; /* its length; 0 when there is no level */
	uint8_t level; /* enum fmt_level of the level word */
	size_t bar;    /* the '|' that ends IDS */
	size_t nids;   /* IDs in the field (0 for "-"); may exceed FMT_IDS_MAX */
	size_t deep;   /* start of ID number FMT_IDS_MAX + 1, or NO_POS */
	size_t stop;   /* on failure: where the line stopped being a record start */
};

static inline struct fmt_str view(const char *s, size_t off, size_t len, bool bs)
{
	struct fmt_str v = {s + off, (uint32_t)len, bs ? FMT_ENC_PIPE : FMT_ENC_RAW};

	return v;
}

static inline bool is_digit(char c)
{
	return (unsigned)((unsigned char)c - '0') <= 9;
}

/*
 * The block primitives: each looks at the 16 bytes s[pos..pos+16) of the
 * input s[0..len) and returns one bit per byte, bit 0 for s[pos]; bits
 * for bytes at or past len are 0. They never read outside s[0..len): near
 * the end they load the last 16 bytes of the input and shift the masks,
 * and only an input shorter than 16 bytes is copied.
 */
#if PIPE_SSE2
static inline __m128i block_at(const char *s, size_t len, size_t pos, unsigned *shift)
{
	*shift = 0;
	if (len - pos >= 16)
		return _mm_loadu_si128((const __m128i *)(const void *)(s + pos));
	if (len >= 16) {
		*shift = 16 - (unsigned)(len - pos);
		return _mm_loadu_si128((const __m128i *)(const void *)(s + len - 16));
	}
	{
		char tmp[16] = {0}; /* NUL is none of the bytes looked for, nor an ID byte */

		memcpy(tmp, s + pos, len - pos);
		return _mm_loadu_si128((const __m128i *)(const void *)tmp);
	}
}

static inline uint32_t movemask(__m128i m, unsigned shift)
{
	return (uint32_t)_mm_movemask_epi8(m) >> shift;
}

static inline __m128i eq(__m128i v, char c)
{
	return _mm_cmpeq_epi8(v, _mm_set1_epi8(c));
}

/* Bytes equal to @a, @b or @c. */
static inline uint32_t mask3(const char *s, size_t len, size_t pos, char a, char b, char c)
{
	unsigned sh;
	__m128i v = block_at(s, len, pos, &sh);

	return movemask(_mm_or_si128(_mm_or_si128(eq(v, a), eq(v, b)), eq(v, c)), sh);
}

/* Bytes equal to @a (*ma) and to @b (*mb). */
static inline void mask2(const char *s, size_t len, size_t pos, char a, char b, uint32_t *ma, uint32_t *mb)
{
	unsigned sh;
	__m128i v = block_at(s, len, pos, &sh);

	*ma = movemask(eq(v, a), sh);
	*mb = movemask(eq(v, b), sh);
}

/* The body's bytes: '|' (*bar), '\\' (*bs), '\n' (*nl). */
static inline void body_masks(const char *s, size_t len, size_t pos, uint32_t *bar, uint32_t *bs,
			      uint32_t *nl)
{
	unsigned sh;
	__m128i v = block_at(s, len, pos, &sh);

	*bar = movemask(eq(v, '|'), sh);
	*bs = movemask(eq(v, '\\'), sh);
	*nl = movemask(eq(v, '\n'), sh);
}

/* *idm: bytes of [A-Za-z0-9._-]; *colm: ':'. */
static inline void ids_masks(const char *s, size_t len, size_t pos, uint32_t *idm, uint32_t *colm)
{
	unsigned sh;
	__m128i v = block_at(s, len, pos, &sh);
	__m128i lo = _mm_or_si128(v, _mm_set1_epi8(0x20));
	/* signed compares: bytes >= 0x80 are negative and fall outside both ranges */
	__m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(lo, _mm_set1_epi8('a' - 1)),
				      _mm_cmplt_epi8(lo, _mm_set1_epi8('z' + 1)));
	__m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
				      _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
	__m128i punct = _mm_or_si128(_mm_or_si128(eq(v, '.'), eq(v, '_')), eq(v, '-'));

	*idm = movemask(_mm_or_si128(_mm_or_si128(alpha, digit), punct), sh);
	*colm = movemask(eq(v, ':'), sh);
}
#else
/* 1 for the bytes of an ID: [A-Za-z0-9._-]. */
static const uint8_t id_char[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
	0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
	0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static inline size_t block_len(size_t len, size_t pos)
{
	return len - pos > 16 ? 16 : len - pos;
}

static inline uint32_t mask3(const char *s, size_t len, size_t pos, char a, char b, char c)
{
	uint32_t m = 0;

	for (size_t i = 0, n = block_len(len, pos); i < n; i++)
		m |= (uint32_t)(s[pos + i] == a || s[pos + i] == b || s[pos + i] == c) << i;
	return m;
}

static inline void mask2(const char *s, size_t len, size_t pos, char a, char b, uint32_t *ma, uint32_t *mb)
{
	*ma = 0;
	*mb = 0;
	for (size_t i = 0, n = block_len(len, pos); i < n; i++) {
		*ma |= (uint32_t)(s[pos + i] == a) << i;
		*mb |= (uint32_t)(s[pos + i] == b) << i;
	}
}

static inline void body_masks(const char *s, size_t len, size_t pos, uint32_t *bar, uint32_t *bs,
			      uint32_t *nl)
{
	*bar = 0;
	*bs = 0;
	*nl = 0;
	for (size_t i = 0, n = block_len(len, pos); i < n; i++) {
		*bar |= (uint32_t)(s[pos + i] == '|') << i;
		*bs |= (uint32_t)(s[pos + i] == '\\') << i;
		*nl |= (uint32_t)(s[pos + i] == '\n') << i;
	}
}

static inline void ids_masks(const char *s, size_t len, size_t pos, uint32_t *idm, uint32_t *colm)
{
	*idm = 0;
	*colm = 0;
	for (size_t i = 0, n = block_len(len, pos); i < n; i++) {
		*idm |= (uint32_t)id_char[(unsigned char)s[pos + i]] << i;
		*colm |= (uint32_t)(s[pos + i] == ':') << i;
	}
}
#endif

static inline unsigned ctz32(uint32_t m)
{
	return (unsigned)__builtin_ctz(m);
}

/* The first of ' ', '|' or '\n' at or after @pos, or @len. */
static inline size_t token_end(const char *s, size_t len, size_t pos)
{
	for (; pos < len; pos += 16) {
		uint32_t m = mask3(s, len, pos, ' ', '|', '\n');

		if (m)
			return pos + ctz32(m);
	}
	return len;
}

/* The level of a prefix word, or FMT_LEVEL_OTHER; the usual spellings first. */
static inline enum fmt_level level_word(const char *s, size_t n)
{
	if (n == 4) {
		if (memcmp(s, "INFO", 4) == 0)
			return FMT_LEVEL_INFO;
		if (memcmp(s, "WARN", 4) == 0)
			return FMT_LEVEL_WARN;
	} else if (n == 5) {
		if (memcmp(s, "ERROR", 5) == 0)
			return FMT_LEVEL_ERROR;
		if (memcmp(s, "DEBUG", 5) == 0)
			return FMT_LEVEL_DEBUG;
	}
	return fmt_level_from_text(s, n);
}

/*
 * scan_head() - find the prefix and the IDS field. With @rec, the IDs
 * (at most FMT_IDS_MAX) are stored in rec->ids as they are found.
 * Return: true when the line starts a record (h->stop set otherwise).
 */
static inline bool scan_head(const char *s, size_t len, struct pipe_head *h, struct fmt_record *rec)
{
	size_t pos = 0, q, blk, prev, stop, n = 0;

	h->ts_len = 0;
	h->lv_off = 0;
	h->lv_len = 0;
	h->level = FMT_LEVEL_NONE;
	h->deep = NO_POS;

	/* a timestamp: 4 digits, '-', at least one more byte, then a space */
	if (len >= 6 && is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) && is_digit(s[3]) && s[4] == '-') {
		q = token_end(s, len, 5);
		if (q > 5 && q < len && s[q] == ' ') {
			h->ts_len = q;
			pos = q + 1;
		}
	}

	/* a level: a known word, then a space (within one block) */
	if (pos < len) {
		uint32_t m = mask3(s, len, pos, ' ', '|', '\n');

		q = m ? pos + ctz32(m) : len;
		if (q > pos && q - pos <= LEVEL_WORD_MAX && q < len && s[q] == ' ') {
			enum fmt_level lv = level_word(s + pos, q - pos);

			if (lv != FMT_LEVEL_OTHER && lv != FMT_LEVEL_NONE) {
				h->level = (uint8_t)lv;
				h->lv_off = pos;
				h->lv_len = q - pos;
				pos = q + 1;
			}
		}
	}

	/*
	 * IDS: id *(":" id) "|". Per block: the first byte that is neither an
	 * ID byte nor ':' ends the field; the ':' before it split the IDs.
	 */
	prev = pos;
	stop = len;
	for (blk = pos; blk < len; blk += 16) {
		uint32_t idm, colm, bad;

		ids_masks(s, len, blk, &idm, &colm);
		bad = ~(idm | colm) & 0xffffu;
		if (bad)
			colm &= (1u << ctz32(bad)) - 1;
		while (colm) {
			size_t c = blk + ctz32(colm);

			colm &= colm - 1;
			if (c == prev) {
				stop = c; /* an empty ID */
				goto not_start;
			}
			if (n < FMT_IDS_MAX) {
				if (rec)
					rec->ids[n] = view(s, prev, c - prev, false);
			} else if (h->deep == NO_POS) {
				h->deep = prev;
			}
			n++;
			prev = c + 1;
		}
		if (bad) {
			stop = blk + ctz32(bad);
			break;
		}
	}
	if (stop >= len || stop == prev || s[stop] != '|')
		goto not_start;
	if (n < FMT_IDS_MAX) {
		if (rec)
			rec->ids[n] = view(s, prev, stop - prev, false);
	} else if (h->deep == NO_POS) {
		h->deep = prev;
	}
	n++;
	if (n == 1 && stop - pos == 1 && s[pos] == '-')
		n = 0;
	h->nids = n;
	h->bar = stop;
	return true;

not_start:
	h->stop = stop;
	return false;
}

bool fmt_pipe_is_record_start(const char *line, size_t len)
{
	struct pipe_head h;

	if (!line)
		return false;
	return scan_head(line, len, &h, NULL);
}

static int fail(struct fmt_record *rec, struct fmt_err *err, int code, size_t offset, const char *what)
{
	fmt_record_clear(rec);
	if (err) {
		err->offset = offset;
		err->what = what;
	}
	return code;
}

/*
 * Whether s[0..n) is exactly a JSON number (RFC 8259) that the JSON parser
 * would take: one longer than FMT_JSON_NUMBER_MAX stays a string, so a
 * record reads the same whichever format it went through.
 */
static inline bool is_json_number(const char *s, size_t n)
{
	size_t i = 0, d;

	if (n > FMT_JSON_NUMBER_MAX)
		return false;
	if (i < n && s[i] == '-')
		i++;
	if (i >= n)
		return false;
	if (s[i] == '0') {
		i++;
	} else if (is_digit(s[i])) {
		while (i < n && is_digit(s[i]))
			i++;
	} else {
		return false;
	}
	if (i < n && s[i] == '.') {
		for (d = ++i; i < n && is_digit(s[i]); i++)
			;
		if (i == d)
			return false;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < n && is_digit(s[i]); i++)
			;
		if (i == d)
			return false;
	}
	return i == n;
}

/* State of the body walk. */
struct pipe_body {
	const char *s;		/* the input */
	size_t len;		/* of the whole input: the bytes that may be read */
	struct fmt_record *rec; /* being filled */
	struct fmt_err *err;	/* the caller's, may be NULL */
	unsigned nfield;	/* fields after IDS ended so far */
	size_t f1, f1_end;	/* first field after IDS (service, if the form is full) */
	bool f1_bs;		/* ... holds a backslash */
	size_t f2, f2_end;	/* second field (method) */
	bool f2_bs;		/* ... holds a backslash */
	bool bare_seen;		/* a field without '=' was the message */
};

static inline struct fmt_str fixed_field(const char *s, size_t f, size_t e, bool bs)
{
	struct fmt_str v = {NULL, 0, FMT_ENC_RAW};

	if (e - f == 1 && s[f] == '-')
		return v; /* "-": absent */
	return view(s, f, e - f, bs);
}

/*
 * body_pair() - one field after path: key=value, or the bare message.
 * @bs_first/@bs_last: its first and last backslash, or NO_POS.
 */
static inline int body_pair(struct pipe_body *b, size_t f, size_t e, size_t bs_first, size_t bs_last)
{
	const char *s = b->s;
	struct fmt_record *rec = b->rec;
	size_t q = f, cr = NO_POS, klen, vlen;
	const char *k, *v;
	bool vbs;

	/* the first '=' of the field, and any '\r' before it */
	for (; q < e; q += 16) {
		uint32_t meq, mcr, lim = e - q >= 16 ? 0xffffu : (1u << (e - q)) - 1;

		mask2(s, b->len, q, '=', '\r', &meq, &mcr);
		meq &= lim;
		mcr &= lim;
		if (meq)
			mcr &= (1u << ctz32(meq)) - 1; /* only a '\r' before the '=' */
		if (mcr && cr == NO_POS)
			cr = q + ctz32(mcr);
		if (meq) {
			q += ctz32(meq);
			break;
		}
	}
	if (q >= e) {
		if (b->bare_seen)
			return fail(rec, b->err, -FMT_EPARSE, f, "second field without '='");
		if (rec->message.ptr)
			return fail(rec, b->err, -FMT_EPARSE, f, "field without '=' after the message");
		b->bare_seen = true;
		rec->message = view(s, f, e - f, bs_first != NO_POS);
		return 0;
	}
	if (q == f)
		return fail(rec, b->err, -FMT_EPARSE, f, "empty key");
	if (cr != NO_POS)
		return fail(rec, b->err, -FMT_EPARSE, cr, "invalid character in key");

	k = s + f;
	klen = q - f;
	v = s + q + 1;
	vlen = e - q - 1;
	vbs = bs_last != NO_POS && bs_last > q;

	/* reserved keys; a backslash never decodes to a letter, so raw compares are exact */
	if (bs_first > q) {
		if (((klen == 3 && memcmp(k, "msg", 3) == 0) ||
		     (klen == 7 && memcmp(k, "message", 7) == 0)) &&
		    !rec->message.ptr) {
			rec->message = view(s, q + 1, vlen, vbs);
			return 0;
		}
		if (klen == 5 && memcmp(k, "event", 5) == 0 && rec->event == FMT_EVENT_LOG && !vbs) {
			if (vlen == 4 && memcmp(v, "span", 4) == 0) {
				rec->event = FMT_EVENT_SPAN;
				return 0;
			}
			if (vlen == 6 && memcmp(v, "metric", 6) == 0) {
				rec->event = FMT_EVENT_METRIC;
				return 0;
			}
		}
	}

	if (rec->nattrs >= FMT_ATTRS_MAX) {
		rec->flags |= FMT_F_ATTRS_TRUNCATED;
		return 0;
	}
	{
		struct fmt_attr *a = &rec->attrs[rec->nattrs++];

		a->key = view(s, f, klen, bs_first < q);
		a->val = view(s, q + 1, vlen, vbs);
		a->type = FMT_T_STRING;
		if (!vbs && vlen > 0) {
			if ((vlen == 4 && memcmp(v, "true", 4) == 0) ||
			    (vlen == 5 && memcmp(v, "false", 5) == 0))
				a->type = FMT_T_BOOL;
			else if ((*v == '-' || is_digit(*v)) && is_json_number(v, vlen))
				a->type = FMT_T_NUMBER;
		}
	}
	return 0;
}

/* A field [f, e) of the body ended (by '|' or by the end of the record). */
static inline int body_field(struct pipe_body *b, size_t f, size_t e, size_t bs_first, size_t bs_last)
{
	struct fmt_record *rec = b->rec;

	switch (b->nfield++) {
	case 0:
		b->f1 = f;
		b->f1_end = e;
		b->f1_bs = bs_first != NO_POS;
		return 0;
	case 1:
		b->f2 = f;
		b->f2_end = e;
		b->f2_bs = bs_first != NO_POS;
		return 0;
	case 2:
		/* a third field: the full form */
		rec->service = fixed_field(b->s, b->f1, b->f1_end, b->f1_bs);
		rec->method = fixed_field(b->s, b->f2, b->f2_end, b->f2_bs);
		rec->path = fixed_field(b->s, f, e, bs_first != NO_POS);
		return 0;
	default:
		return body_pair(b, f, e, bs_first, bs_last);
	}
}

/* fmt_pipe_parse(), and in *@start what fmt_pipe_is_record_start() says, from the one head scan. */
static inline __attribute__((always_inline)) int
pipe_parse(const char *line, size_t len, struct fmt_record *rec, struct fmt_err *err, bool *start)
{
	struct pipe_head h;
	struct pipe_body b = {.s = line, .len = len, .rec = rec, .err = err};
	size_t body, blk, resume, fstart, bs_first = NO_POS, bs_last = NO_POS, end = len, nl = NO_POS;
	bool any_bs = false;
	int rc;

	*start = false;
	if (!rec || (!line && len) || len > FMT_LINE_MAX)
		*start = fmt_pipe_is_record_start(line, len); /* not parsed: asked apart */
	if (!rec)
		return -FMT_EINVAL;
	fmt_record_clear(rec);
	if (!line && len)
		return fail(rec, err, -FMT_EINVAL, 0, "no line");
	if (len > FMT_LINE_MAX)
		return fail(rec, err, -FMT_ELIMIT, FMT_LINE_MAX, "line too long");

	if (!(*start = scan_head(line, len, &h, rec))) {
		size_t stop = h.stop;

		/* a bad timestamp is an error of its own, not a different line */
		if (h.ts_len) {
			struct fmt_err te;
			int64_t ns;

			if (fmt_ts_parse(line, h.ts_len, &ns, &te) < 0)
				return fail(rec, err, -FMT_ETS, te.offset, te.what);
		}
		return fail(rec, err, -FMT_EPARSE, stop, "not a record start");
	}
	rec->format = FMT_PIPE;
	if (h.ts_len) {
		struct fmt_err te;

		if (fmt_ts_parse(line, h.ts_len, &rec->ts_ns, &te) < 0)
			return fail(rec, err, -FMT_ETS, te.offset, te.what);
		rec->has_ts = true;
		rec->ts_text = view(line, 0, h.ts_len, false);
	}
	if (h.deep != NO_POS)
		return fail(rec, err, -FMT_ELIMIT, h.deep, "too many ids");
	if (h.lv_len) {
		rec->level = h.level;
		rec->level_text = view(line, h.lv_off, h.lv_len, false);
	}
	rec->nids = (uint16_t)h.nids;
	if (h.nids >= 1)
		rec->trace = rec->ids[0];
	if (h.nids >= 2)
		rec->span = rec->ids[h.nids - 1];
	if (h.nids >= 3)
		rec->parent = rec->ids[h.nids - 2];

	/* the body: fields split at unescaped '|', up to the first '\n' */
	body = h.bar + 1;
	fstart = body;
	resume = body;
	for (blk = body; blk < len; blk += 16) {
		uint32_t bar, bs, nlm;

		body_masks(line, len, blk, &bar, &bs, &nlm);
		if (nlm) {
			/* the record ends at the first '\n' (never escaped: "\n" is '\\' 'n') */
			uint32_t before = (1u << ctz32(nlm)) - 1;

			nl = blk + ctz32(nlm);
			bar &= before;
			bs &= before;
		}
		if (resume > blk) {
			/* the byte after a backslash that ended the previous block */
			bar &= ~1u;
			bs &= ~1u;
		}
		if (!bs) {
			/* the usual block: every '|' ends a field */
			while (bar) {
				size_t at = blk + ctz32(bar);

				bar &= bar - 1;
				rc = body_field(&b, fstart, at, bs_first, bs_last);
				if (rc < 0)
					return rc;
				fstart = at + 1;
				bs_first = NO_POS;
				bs_last = NO_POS;
			}
		} else {
			uint32_t m = bar | bs;

			any_bs = true;
			while (m) {
				size_t at = blk + ctz32(m);

				m &= m - 1;
				if (at < resume)
					continue; /* the byte after an escaping backslash */
				if (line[at] == '\\') {
					if (bs_first == NO_POS)
						bs_first = at;
					bs_last = at;
					if (at + 1 < len && (line[at + 1] == '|' || line[at + 1] == '\\'))
						resume = at + 2;
				} else {
					rc = body_field(&b, fstart, at, bs_first, bs_last);
					if (rc < 0)
						return rc;
					fstart = at + 1;
					bs_first = NO_POS;
					bs_last = NO_POS;
				}
			}
		}
		if (nl != NO_POS)
			break;
	}
	if (nl != NO_POS) {
		end = nl;
		if (nl + 1 < len) {
			rec->cont = view(line, nl + 1, len - nl - 1, false);
			rec->flags |= FMT_F_CONT;
		}
	}
	if (end > fstart && line[end - 1] == '\r')
		end--;

	if (b.nfield < 2) {
		/* the short form: everything after IDS is the message */
		rec->message = view(line, body, end - body, any_bs);
		return 0;
	}
	rc = body_field(&b, fstart, end, bs_first, bs_last);
	if (rc < 0)
		return rc;
	return 0;
}

int fmt_pipe_parse(const char *line, size_t len, struct fmt_record *rec, struct fmt_err *err)
{
	bool start;

	return pipe_parse(line, len, rec, err, &start);
}

int fmt_pipe_parse_start(const char *line, size_t len, struct fmt_record *rec, struct fmt_err *err,
			 bool *start)
{
	return pipe_parse(line, len, rec, err, start);
}
