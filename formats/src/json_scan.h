/*
 * json_scan.h - the pieces of the RFC 8259 scanner that json_scan.c
 * (fmt_json_validate) and json_parse.c (fmt_json_parse) share, and the
 * parser's fmt__json_claim() for json_emit.c. Private to
 * the formats library.
 *
 * DESIGN: the token scanners are static inline so the parser's member loop
 * gets them without a call per token. Every scanner takes (s, len, *pos):
 * it reads only s[*pos..len), never past @len, and on success leaves *pos
 * just past the token. On failure it fills @err (which may be NULL) with
 * the offset of the first offending byte and a static phrase, and returns
 * a negative code; *pos is then unspecified. Whole values, nested to any
 * depth, are skipped by fmt__json_skip(), which is iterative: a depth
 * counter and a bit stack (object or array per level) replace recursion.
 */
#ifndef FMT_JSON_SCAN_H
#define FMT_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "fmt/limits.h"
#include "fmt/record.h"

#define FMT__LIKELY(x) __builtin_expect(!!(x), 1)
#define FMT__UNLIKELY(x) __builtin_expect(!!(x), 0)

/*
 * The error phrases (fmt_err.what) of the scanner and the parser, one
 * definition each so tests and docs can rely on the exact text.
 */
#define FMT__JE_EMPTY "empty input"
#define FMT__JE_EOF "unexpected end of input"
#define FMT__JE_VALUE "expected a value"
#define FMT__JE_KEY "expected string key"
#define FMT__JE_COLON "expected ':'"
#define FMT__JE_OBJ_NEXT "expected ',' or '}'"
#define FMT__JE_ARR_NEXT "expected ',' or ']'"
#define FMT__JE_TRAILING_COMMA "trailing comma"
#define FMT__JE_UNTERMINATED "unterminated string"
#define FMT__JE_ESCAPE "invalid escape"
#define FMT__JE_CONTROL "control character in string"
#define FMT__JE_UTF8 "invalid UTF-8 in string"
#define FMT__JE_NUMBER "invalid number"
#define FMT__JE_NUMBER_LONG "number too long"
#define FMT__JE_LITERAL "invalid literal"
#define FMT__JE_DEPTH "nesting too deep"
#define FMT__JE_TRAILING "trailing characters after JSON value"
#define FMT__JE_NOT_OBJECT "not a JSON object"
#define FMT__JE_TOO_LONG "line too long"
#define FMT__JE_ARG "invalid argument"

/*
 * Bytes that stop the scan of a string body: '"', '\\', control
 * characters (< 0x20) and every byte >= 0x80 (the start of a multi-byte
 * sequence, validated on the slow path). Defined in json_scan.c.
 */
extern const uint8_t fmt__json_stop[256];

/* fmt__json_fail() - fill @err (if any); return @code negated. */
static inline int fmt__json_fail(struct fmt_err *err, size_t offset, const char *what, int code)
{
	if (err) {
		err->offset = offset;
		err->what = what;
	}
	return -code;
}

/*
 * fmt__json_expect() - a structural error at @pos: "unexpected end of
 * input" when the input ended there, else @what.
 */
static inline int fmt__json_expect(struct fmt_err *err, size_t pos, size_t len, const char *what)
{
	return fmt__json_fail(err, pos, pos >= len ? FMT__JE_EOF : what, FMT_EPARSE);
}

static inline bool fmt__json_is_ws(unsigned char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* fmt__json_ws() - the first position at or after @p that is not JSON whitespace. */
static inline size_t fmt__json_ws(const char *s, size_t len, size_t p)
{
	while (p < len && (unsigned char)s[p] <= ' ' && fmt__json_is_ws((unsigned char)s[p]))
		p++;
	return p;
}

static inline bool fmt__json_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/*
 * fmt__utf8_seq() - length (2..4) of the well-formed UTF-8 sequence that
 * starts with the byte >= 0x80 at @u, of which @avail bytes are
 * readable; 0 when it is ill-formed (stray continuation byte, overlong
 * form, UTF-16 surrogate, above U+10FFFF, or cut short).
 */
static inline size_t fmt__utf8_seq(const unsigned char *u, size_t avail)
{
	unsigned char c = u[0], lo = 0x80, hi = 0xBF;

	if (c < 0xC2)
		return 0;
	if (c < 0xE0)
		return avail >= 2 && (u[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c < 0xF0) {
		if (c == 0xE0)
			lo = 0xA0; /* shorter forms are overlong */
		else if (c == 0xED)
			hi = 0x9F; /* D800..DFFF are surrogates */
		if (avail < 3 || u[1] < lo || u[1] > hi || (u[2] & 0xC0) != 0x80)
			return 0;
		return 3;
	}
	if (c < 0xF5) {
		if (c == 0xF0)
			lo = 0x90; /* overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
		if (avail < 4 || u[1] < lo || u[1] > hi || (u[2] & 0xC0) != 0x80 || (u[3] & 0xC0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

static inline bool fmt__json_is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/*
 * fmt__json_escape() - check the escape whose backslash is at s[p]
 * (inside the string opened at @open).
 * Return: its length (2 or 6), or a negative code with @err set.
 */
static inline long fmt__json_escape(const char *s, size_t len, size_t p, size_t open, struct fmt_err *err)
{
	size_t i;

	if (p + 1 >= len)
		return fmt__json_fail(err, open, FMT__JE_UNTERMINATED, FMT_EPARSE);
	switch (s[p + 1]) {
	case '"':
	case '\\':
	case '/':
	case 'b':
	case 'f':
	case 'n':
	case 'r':
	case 't':
		return 2;
	case 'u':
		for (i = p + 2; i < p + 6; i++) {
			if (i >= len)
				return fmt__json_fail(err, open, FMT__JE_UNTERMINATED, FMT_EPARSE);
			if (!fmt__json_is_hex((unsigned char)s[i]))
				return fmt__json_fail(err, p, FMT__JE_ESCAPE, FMT_EPARSE);
		}
		/* A lone surrogate (\uD800) is valid JSON syntax: accepted here. */
		return 6;
	default:
		return fmt__json_fail(err, p, FMT__JE_ESCAPE, FMT_EPARSE);
	}
}

/*
 * fmt__json_string() - scan the string whose opening quote is at s[*pos].
 * On success *pos is just past the closing quote and *esc says whether
 * the body holds a backslash escape. Plain bytes are skipped 16 at a time
 * with SSE2; UTF-8 is validated only where a byte >= 0x80 occurs.
 * Return: 0, or -FMT_EPARSE / -FMT_EUTF8 with @err set.
 */
static inline int fmt__json_string(const char *s, size_t len, size_t *pos, bool *esc, struct fmt_err *err)
{
	size_t open = *pos, p = open + 1, n;
	unsigned char c;
	bool e = false;
	long r;

	for (;;) {
#ifdef __SSE2__
		{
			const __m128i quote = _mm_set1_epi8('"');
			const __m128i bslash = _mm_set1_epi8('\\');
			const __m128i space = _mm_set1_epi8(0x20);

			while (len - p >= 16) {
				__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + p));
				/* signed compare: < 0x20 catches 0x00..0x1F and 0x80..0xFF */
				__m128i m = _mm_or_si128(
					_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
					_mm_cmplt_epi8(v, space));
				unsigned mask = (unsigned)_mm_movemask_epi8(m);

				if (mask) {
					p += (size_t)__builtin_ctz(mask);
					break;
				}
				p += 16;
			}
		}
#endif
		while (p < len && !fmt__json_stop[(unsigned char)s[p]])
			p++;
		if (FMT__UNLIKELY(p >= len))
			return fmt__json_fail(err, open, FMT__JE_UNTERMINATED, FMT_EPARSE);
		c = (unsigned char)s[p];
		if (FMT__LIKELY(c == '"')) {
			*pos = p + 1;
			*esc = e;
			return 0;
		}
		if (c == '\\') {
			r = fmt__json_escape(s, len, p, open, err);
			if (r < 0)
				return (int)r;
			e = true;
			p += (size_t)r;
		} else if (c < 0x20) {
			return fmt__json_fail(err, p, FMT__JE_CONTROL, FMT_EPARSE);
		} else {
			n = fmt__utf8_seq((const unsigned char *)s + p, len - p);
			if (!n)
				return fmt__json_fail(err, p, FMT__JE_UTF8, FMT_EUTF8);
			p += n;
		}
	}
}

static inline bool fmt__json_is_word(unsigned char c)
{
	return fmt__json_is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c == '_';
}

/*
 * fmt__json_number() - scan the number that starts at s[*pos] ('-' or a
 * digit): -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
 * A letter, digit, '.', '+' or '-' right after it is part of a malformed
 * number ("01", "1.2.3", "1x"). Tokens longer than FMT_JSON_NUMBER_MAX
 * are refused with the offset of their first byte.
 * Return: 0, or -FMT_EPARSE / -FMT_ENUMBER with @err set.
 */
static inline int fmt__json_number(const char *s, size_t len, size_t *pos, struct fmt_err *err)
{
	size_t start = *pos, p = start;
	unsigned char c;

	if (s[p] == '-')
		p++;
	if (p >= len)
		goto bad;
	if (s[p] == '0') {
		p++;
	} else if (s[p] >= '1' && s[p] <= '9') {
		while (++p < len && fmt__json_is_digit((unsigned char)s[p]))
			;
	} else {
		goto bad;
	}
	if (p < len && s[p] == '.') {
		if (++p >= len || !fmt__json_is_digit((unsigned char)s[p]))
			goto bad;
		while (++p < len && fmt__json_is_digit((unsigned char)s[p]))
			;
	}
	if (p < len && (s[p] | 0x20) == 'e') {
		if (++p < len && (s[p] == '+' || s[p] == '-'))
			p++;
		if (p >= len || !fmt__json_is_digit((unsigned char)s[p]))
			goto bad;
		while (++p < len && fmt__json_is_digit((unsigned char)s[p]))
			;
	}
	if (p < len) {
		c = (unsigned char)s[p];
		if (fmt__json_is_word(c) || c == '.' || c == '+' || c == '-')
			goto bad;
	}
	if (FMT__UNLIKELY(p - start > FMT_JSON_NUMBER_MAX))
		return fmt__json_fail(err, start, FMT__JE_NUMBER_LONG, FMT_ENUMBER);
	*pos = p;
	return 0;
bad:
	return fmt__json_fail(err, p, FMT__JE_NUMBER, FMT_EPARSE);
}

/*
 * fmt__json_literal() - scan true, false or null at s[*pos]; *type gets
 * FMT_T_BOOL or FMT_T_NULL.
 * Return: 0, or -FMT_EPARSE ("invalid literal" at its first byte).
 */
static inline int fmt__json_literal(const char *s, size_t len, size_t *pos, uint8_t *type,
				    struct fmt_err *err)
{
	size_t p = *pos, n;
	const char *lit;

	switch (s[p]) {
	case 't':
		lit = "true";
		n = 4;
		*type = FMT_T_BOOL;
		break;
	case 'f':
		lit = "false";
		n = 5;
		*type = FMT_T_BOOL;
		break;
	default:
		lit = "null";
		n = 4;
		*type = FMT_T_NULL;
		break;
	}
	if (len - p < n || memcmp(s + p, lit, n) != 0 ||
	    (len - p > n && fmt__json_is_word((unsigned char)s[p + n])))
		return fmt__json_fail(err, p, FMT__JE_LITERAL, FMT_EPARSE);
	*pos = p + n;
	return 0;
}

/*
 * fmt__json_claim() - what fmt_json_parse() would make of member @m: the
 * field it would be a candidate for (an index private to json_parse.c;
 * equal indexes are the same field) with its rank in *rank (the lower
 * rank wins; on a tie, the member first in the line), -1 when it would
 * only be an attribute, FMT__JSON_NOT_ALIAS when its key is no field's
 * name at all (the common case). json_emit.c asks it so that an
 * attribute it writes is never read back as a field.
 */
#define FMT__JSON_NOT_ALIAS (-2)
int fmt__json_claim(const struct fmt_attr *m, unsigned *rank);

/*
 * fmt__json_skip() - scan one whole JSON value (of any kind, nested to any
 * depth) that starts at s[*pos] (not whitespace), leaving *pos just past
 * it. @depth is how many arrays/objects already enclose it; together
 * they may not exceed FMT_JSON_DEPTH_MAX. Iterative, no recursion.
 * Return: 0, or a negative code with @err set.
 */
int fmt__json_skip(const char *s, size_t len, size_t *pos, unsigned depth, struct fmt_err *err);

/*
 * fmt__json_scalar() - scan the string, number or literal at s[*pos]
 * (not whitespace, not past the end), leaving *pos just past it; *esc
 * tells whether a string holds escapes.
 * Return: 0 with *type set, or a negative code with @err set.
 */
static inline int fmt__json_scalar(const char *s, size_t len, size_t *pos, uint8_t *type, bool *esc,
				   struct fmt_err *err)
{
	switch (s[*pos]) {
	case '"':
		*type = FMT_T_STRING;
		return fmt__json_string(s, len, pos, esc, err);
	case '-':
	case '0':
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
	case '6':
	case '7':
	case '8':
	case '9':
		*type = FMT_T_NUMBER;
		return fmt__json_number(s, len, pos, err);
	case 't':
	case 'f':
	case 'n':
		return fmt__json_literal(s, len, pos, type, err);
	}
	return fmt__json_fail(err, *pos, FMT__JE_VALUE, FMT_EPARSE);
}

/*
 * fmt__json_value() - scan the value at s[*pos] (not whitespace) into a
 * view and a type: a string gives its inside (enc FMT_ENC_JSON when it
 * holds escapes), anything else its raw text (enc FMT_ENC_RAW).
 * Return: 0, or a negative code with @err set.
 */
static inline int fmt__json_value(const char *s, size_t len, size_t *pos, unsigned depth, struct fmt_str *val,
				  uint8_t *type, struct fmt_err *err)
{
	size_t start = *pos;
	bool esc = false;
	int rc;

	if (FMT__UNLIKELY(start >= len))
		return fmt__json_fail(err, start, FMT__JE_EOF, FMT_EPARSE);
	switch (s[start]) {
	case '{':
		rc = fmt__json_skip(s, len, pos, depth, err);
		*type = FMT_T_OBJECT;
		break;
	case '[':
		rc = fmt__json_skip(s, len, pos, depth, err);
		*type = FMT_T_ARRAY;
		break;
	default:
		rc = fmt__json_scalar(s, len, pos, type, &esc, err);
		if (rc == 0 && *type == FMT_T_STRING) {
			val->ptr = s + start + 1;
			val->len = (uint32_t)(*pos - start - 2);
			val->enc = esc ? FMT_ENC_JSON : FMT_ENC_RAW;
			return 0;
		}
		break;
	}
	if (rc < 0)
		return rc;
	val->ptr = s + start;
	val->len = (uint32_t)(*pos - start);
	val->enc = FMT_ENC_RAW;
	return 0;
}

#endif
