/*
 * json_scan.c - the strict RFC 8259 scanner: fmt_json_validate(), and the
 * value skipper that fmt_json_parse() uses for nested objects and arrays.
 *
 * DESIGN: one pass, no allocation, no recursion. Nesting is tracked by a
 * depth counter and a bit stack of FMT_JSON_DEPTH_MAX bits (1 = object,
 * 0 = array), so a hostile "[[[[..." costs a bounded, small stack and is
 * refused past the cap with "nesting too deep". The token scanners live
 * in json_scan.h (static inline, shared with json_parse.c). Strictness:
 * no comments, trailing commas, single quotes, leading zeros, NaN or
 * Infinity; whitespace is only SP, HT, LF, CR; strings must be valid
 * UTF-8 with every control character escaped; a lone \uD800 escape is
 * accepted (it is valid syntax; decoding makes it U+FFFD). Errors carry
 * the offset of the first offending byte and a static phrase (the list
 * is in formats/json.md). The scanner never reads past @len and needs no
 * NUL terminator.
 */
#include "fmt/json.h"

#include "json_scan.h"

#define S 1 /* stops the fast scan of a string body */

/* '"', '\\', 0x00..0x1F and 0x80..0xFF: see json_scan.h. */
/* clang-format off */
const uint8_t fmt__json_stop[256] = {
	/* 0x00 */ S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S,
	/* 0x10 */ S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S,
	/* 0x20 */ 0, 0, S, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0x30 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0x40 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0x50 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, S, 0, 0, 0,
	/* 0x60 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0x70 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0x80 */ S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S,
	/* 0x90 */ S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S,
	/* 0xA0 */ S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S,
	/* 0xB0 */ S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S,
	/* 0xC0 */ S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S,
	/* 0xD0 */ S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S,
	/* 0xE0 */ S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S,
	/* 0xF0 */ S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S,
};
/* clang-format on */

#undef S

/* One bit per nesting level: set when that level is an object. */
#define STACK_WORDS ((FMT_JSON_DEPTH_MAX + 63) / 64)

int fmt__json_skip(const char *s, size_t len, size_t *pos, unsigned depth, struct fmt_err *err)
{
	uint64_t stack[STACK_WORDS];
	const unsigned base = depth;
	unsigned d = depth;
	size_t p = *pos, comma;
	uint8_t type;
	bool esc;
	int rc;

value:
	if (p >= len)
		return fmt__json_fail(err, p, FMT__JE_EOF, FMT_EPARSE);
	switch (s[p]) {
	case '{':
		if (d >= FMT_JSON_DEPTH_MAX)
			return fmt__json_fail(err, p, FMT__JE_DEPTH, FMT_EDEPTH);
		stack[d / 64] |= (uint64_t)1 << (d % 64);
		d++;
		p = fmt__json_ws(s, len, p + 1);
		if (p < len && s[p] == '}') {
			p++;
			d--;
			goto after;
		}
		goto key;
	case '[':
		if (d >= FMT_JSON_DEPTH_MAX)
			return fmt__json_fail(err, p, FMT__JE_DEPTH, FMT_EDEPTH);
		stack[d / 64] &= ~((uint64_t)1 << (d % 64));
		d++;
		p = fmt__json_ws(s, len, p + 1);
		if (p < len && s[p] == ']') {
			p++;
			d--;
			goto after;
		}
		goto value;
	default:
		rc = fmt__json_scalar(s, len, &p, &type, &esc, err);
		break;
	}
	if (rc < 0)
		return rc;
	goto after;

key:
	if (p >= len || s[p] != '"')
		return fmt__json_expect(err, p, len, FMT__JE_KEY);
	rc = fmt__json_string(s, len, &p, &esc, err);
	if (rc < 0)
		return rc;
	p = fmt__json_ws(s, len, p);
	if (p >= len || s[p] != ':')
		return fmt__json_expect(err, p, len, FMT__JE_COLON);
	p = fmt__json_ws(s, len, p + 1);
	goto value;

after:
	if (d == base) {
		*pos = p;
		return 0;
	}
	p = fmt__json_ws(s, len, p);
	if (p >= len)
		return fmt__json_fail(err, p, FMT__JE_EOF, FMT_EPARSE);
	if (stack[(d - 1) / 64] & ((uint64_t)1 << ((d - 1) % 64))) {
		if (s[p] == '}') {
			p++;
			d--;
			goto after;
		}
		if (s[p] != ',')
			return fmt__json_fail(err, p, FMT__JE_OBJ_NEXT, FMT_EPARSE);
		comma = p;
		p = fmt__json_ws(s, len, p + 1);
		if (p < len && s[p] == '}')
			return fmt__json_fail(err, comma, FMT__JE_TRAILING_COMMA, FMT_EPARSE);
		goto key;
	}
	if (s[p] == ']') {
		p++;
		d--;
		goto after;
	}
	if (s[p] != ',')
		return fmt__json_fail(err, p, FMT__JE_ARR_NEXT, FMT_EPARSE);
	comma = p;
	p = fmt__json_ws(s, len, p + 1);
	if (p < len && s[p] == ']')
		return fmt__json_fail(err, comma, FMT__JE_TRAILING_COMMA, FMT_EPARSE);
	goto value;
}

int fmt_json_validate(const char *s, size_t len, struct fmt_err *err)
{
	size_t p;
	int rc;

	if (err) {
		err->offset = 0;
		err->what = NULL;
	}
	if (!s && len)
		return fmt__json_fail(err, 0, FMT__JE_ARG, FMT_EINVAL);
	p = fmt__json_ws(s, len, 0);
	if (p >= len)
		return fmt__json_fail(err, p, FMT__JE_EMPTY, FMT_EPARSE);
	rc = fmt__json_skip(s, len, &p, 0, err);
	if (rc < 0)
		return rc;
	p = fmt__json_ws(s, len, p);
	if (p < len)
		return fmt__json_fail(err, p, FMT__JE_TRAILING, FMT_EPARSE);
	return 0;
}
