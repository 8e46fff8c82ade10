/*
 * test_json.c - unit tests of the strict JSON scanner (fmt_json_validate)
 * and the JSON log line parser (fmt_json_parse).
 *
 * DESIGN: what the vectors (formats/vectors/json.json) cannot say lives
 * here: invalid UTF-8 (the vector files are JSON, so they cannot hold it),
 * limits built from the FMT_* caps, every 16-byte alignment of the SIMD
 * string scan, the view encodings, and the attribute cap. Inputs are
 * copied into heap buffers of exactly their length, so ASan catches a read
 * past @len. Error paths come first, as the style guide asks.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/json.h"
#include "fmt/str.h"

static struct fmt_record *rec;
static struct fmt_err err;
static char *buf; /* the last input, in an exact-size heap buffer */

static void setup(void)
{
	rec = malloc(sizeof(*rec));
	ck_assert_ptr_nonnull(rec);
	memset(&err, 0, sizeof(err));
	buf = NULL;
}

static void teardown(void)
{
	free(rec);
	free(buf);
}

/* Copy @n bytes of @s into a fresh exact-size buffer (the previous one is freed). */
static const char *exact(const char *s, size_t n)
{
	free(buf);
	buf = malloc(n ? n : 1);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, s, n);
	return buf;
}

static int validate_n(const char *s, size_t n)
{
	memset(&err, 0, sizeof(err));
	return fmt_json_validate(exact(s, n), n, &err);
}

static int validate(const char *s)
{
	return validate_n(s, strlen(s));
}

static int parse_n(const char *s, size_t n)
{
	memset(&err, 0, sizeof(err));
	return fmt_json_parse(exact(s, n), n, rec, &err);
}

static int parse(const char *s)
{
	return parse_n(s, strlen(s));
}

/* Whether the decoded value of view @v is the C string @want. */
static bool is(const struct fmt_str *v, const char *want)
{
	return v->ptr && fmt_str_eq(v, want, strlen(want));
}

#define ck_view(v, want)                                                               \
	ck_assert_msg(is(&(v), want), "%s is \"%.*s\", want \"%s\"", #v, (int)(v).len, \
		      (v).ptr ? (v).ptr : "(absent)", want)
#define ck_absent(v) ck_assert_msg((v).ptr == NULL, "%s present: \"%.*s\"", #v, (int)(v).len, (v).ptr)

/* ------------------------------------------------------------------ */
/* fmt_json_validate(): errors                                          */

struct bad_case {
	const char *in;
	size_t len; /* 0: strlen(in) */
	int rc;
	const char *what;
	size_t offset;
};

static const struct bad_case bad_cases[] = {
	{"", 0, -FMT_EPARSE, "empty input", 0},
	{" \r\n\t", 0, -FMT_EPARSE, "empty input", 4},
	{"\"abc", 0, -FMT_EPARSE, "unterminated string", 0},
	{"[\"a\\", 0, -FMT_EPARSE, "unterminated string", 1},
	{"[\"\\u12", 0, -FMT_EPARSE, "unterminated string", 1},
	{"[\"\\x\"]", 0, -FMT_EPARSE, "invalid escape", 2},
	{"[\"\\U0041\"]", 0, -FMT_EPARSE, "invalid escape", 2},
	{"[\"\\u00G1\"]", 0, -FMT_EPARSE, "invalid escape", 2},
	{"[\"\\'\"]", 0, -FMT_EPARSE, "invalid escape", 2},
	{"[\"a\x01\"]", 0, -FMT_EPARSE, "control character in string", 3},
	{"[\"a\x1f\"]", 0, -FMT_EPARSE, "control character in string", 3},
	{"\"\t\"", 0, -FMT_EPARSE, "control character in string", 1},
	{"[\"a\0b\"]", 6, -FMT_EPARSE, "control character in string", 3},
	{"[\"\xc0\x80\"]", 0, -FMT_EUTF8, "invalid UTF-8 in string", 2},	 /* overlong NUL */
	{"[\"\xc1\xbf\"]", 0, -FMT_EUTF8, "invalid UTF-8 in string", 2},	 /* overlong */
	{"[\"\xe0\x9f\xbf\"]", 0, -FMT_EUTF8, "invalid UTF-8 in string", 2},	 /* overlong 3-byte */
	{"[\"\xf0\x8f\xbf\xbf\"]", 0, -FMT_EUTF8, "invalid UTF-8 in string", 2}, /* overlong 4-byte */
	{"[\"\xed\xa0\x80\"]", 0, -FMT_EUTF8, "invalid UTF-8 in string", 2},	 /* U+D800 encoded */
	{"[\"\xed\xbf\xbf\"]", 0, -FMT_EUTF8, "invalid UTF-8 in string", 2},	 /* U+DFFF encoded */
	{"[\"\xf4\x90\x80\x80\"]", 0, -FMT_EUTF8, "invalid UTF-8 in string", 2}, /* U+110000 */
	{"[\"\xf5\x80\x80\x80\"]", 0, -FMT_EUTF8, "invalid UTF-8 in string", 2},
	{"[\"\xff\"]", 0, -FMT_EUTF8, "invalid UTF-8 in string", 2},
	{"[\"ab\x80\"]", 0, -FMT_EUTF8, "invalid UTF-8 in string", 4},	 /* lone continuation */
	{"[\"\xe2\x82\"]", 0, -FMT_EUTF8, "invalid UTF-8 in string", 2}, /* cut short by the quote */
	{"[\"\xe2\x82", 0, -FMT_EUTF8, "invalid UTF-8 in string", 2},	 /* cut short by the end */
	{"[\"\xf0\x9f\x98\"]", 0, -FMT_EUTF8, "invalid UTF-8 in string", 2},
	{"[\xc3\xa9]", 0, -FMT_EPARSE, "expected a value", 1},	   /* not in a string: a parse error */
	{"\xef\xbb\xbf{}", 0, -FMT_EPARSE, "expected a value", 0}, /* a BOM is not whitespace */
	{"[1,]", 0, -FMT_EPARSE, "trailing comma", 2},
	{"{\"a\":1 , }", 0, -FMT_EPARSE, "trailing comma", 7},
	{"[1 2]", 0, -FMT_EPARSE, "expected ',' or ']'", 3},
	{"{\"a\":1 \"b\"}", 0, -FMT_EPARSE, "expected ',' or '}'", 7},
	{"{\"a\" 1}", 0, -FMT_EPARSE, "expected ':'", 5},
	{"{1:2}", 0, -FMT_EPARSE, "expected string key", 1},
	{"{'a':1}", 0, -FMT_EPARSE, "expected string key", 1},
	{"[", 0, -FMT_EPARSE, "unexpected end of input", 1},
	{"{\"a\":", 0, -FMT_EPARSE, "unexpected end of input", 5},
	{"{\"a\"", 0, -FMT_EPARSE, "unexpected end of input", 4},
	{"[1,", 0, -FMT_EPARSE, "unexpected end of input", 3},
	{"[]]", 0, -FMT_EPARSE, "trailing characters after JSON value", 2},
	{"1 2", 0, -FMT_EPARSE, "trailing characters after JSON value", 2},
	{"{} //", 0, -FMT_EPARSE, "trailing characters after JSON value", 3},
	{"[1]\f", 0, -FMT_EPARSE, "trailing characters after JSON value", 3}, /* form feed is no whitespace */
	{"[\v1]", 0, -FMT_EPARSE, "expected a value", 1},
	{"01", 0, -FMT_EPARSE, "invalid number", 1},
	{"-01", 0, -FMT_EPARSE, "invalid number", 2},
	{"1.", 0, -FMT_EPARSE, "invalid number", 2},
	{"1.e3", 0, -FMT_EPARSE, "invalid number", 2},
	{".5", 0, -FMT_EPARSE, "expected a value", 0},
	{"1e", 0, -FMT_EPARSE, "invalid number", 2},
	{"1e+", 0, -FMT_EPARSE, "invalid number", 3},
	{"-", 0, -FMT_EPARSE, "invalid number", 1},
	{"+1", 0, -FMT_EPARSE, "expected a value", 0},
	{"[1.2.3]", 0, -FMT_EPARSE, "invalid number", 4},
	{"[0x1F]", 0, -FMT_EPARSE, "invalid number", 2},
	{"-Infinity", 0, -FMT_EPARSE, "invalid number", 1},
	{"NaN", 0, -FMT_EPARSE, "expected a value", 0},
	{"[tru]", 0, -FMT_EPARSE, "invalid literal", 1},
	{"[truex]", 0, -FMT_EPARSE, "invalid literal", 1},
	{"nul", 0, -FMT_EPARSE, "invalid literal", 0},
	{"True", 0, -FMT_EPARSE, "expected a value", 0},
	{"'a'", 0, -FMT_EPARSE, "expected a value", 0},
};

START_TEST(validate_rejects_with_exact_message_and_offset)
{
	const struct bad_case *c = &bad_cases[_i];
	size_t n = c->len ? c->len : strlen(c->in);
	int rc = validate_n(c->in, n);

	ck_assert_msg(rc == c->rc, "case %d: rc %d, want %d (%s at %zu)", _i, rc, c->rc, err.what,
		      err.offset);
	ck_assert_msg(err.what && strcmp(err.what, c->what) == 0, "case %d: \"%s\", want \"%s\"", _i,
		      err.what, c->what);
	ck_assert_msg(err.offset == c->offset, "case %d (%s): offset %zu, want %zu", _i, c->what, err.offset,
		      c->offset);
}
END_TEST

START_TEST(validate_accepts_every_kind_of_value)
{
	static const char *const good[] = {
		"0",
		"-0",
		"1",
		"-1.5e-3",
		"12.25E+10",
		"0e0",
		"true",
		"false",
		"null",
		"\"\"",
		"\"a\"",
		"[]",
		"{}",
		" [ ] ",
		"\t{\r\n}\n",
		"[1,[2,[3,{}]],{\"a\":{\"b\":[]}}]",
		"\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\uD83D\\uDE00\"",
		"\"\\ud800\"",
		"\"\\uDC00x\"", /* lone surrogates: valid syntax */
		"\"\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xef\xbf\xbf\"",
		"\"\x7f\"", /* DEL needs no escape */
		"{\"a\":1,\"a\":2}",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int rc = validate(good[i]);
		ck_assert_msg(rc == 0, "%s: %s at %zu", good[i], err.what, err.offset);
		ck_assert_ptr_null(err.what);
	}
}
END_TEST

START_TEST(validate_accepts_null_err_and_checks_arguments)
{
	ck_assert_int_eq(fmt_json_validate("[1]", 3, NULL), 0);
	ck_assert_int_eq(fmt_json_validate("[1", 2, NULL), -FMT_EPARSE);
	ck_assert_int_eq(fmt_json_validate(NULL, 0, &err), -FMT_EPARSE);
	ck_assert_str_eq(err.what, "empty input");
	ck_assert_int_eq(fmt_json_validate(NULL, 5, &err), -FMT_EINVAL);
}
END_TEST

START_TEST(validate_never_reads_past_len)
{
	/* the bytes after @len would complete the document */
	ck_assert_int_eq(fmt_json_validate("[1]]", 3, &err), 0);
	ck_assert_int_eq(validate_n("\"abc\"", 4), -FMT_EPARSE);
	ck_assert_str_eq(err.what, "unterminated string");
	ck_assert_int_eq(validate_n("[true]", 4), -FMT_EPARSE);
	ck_assert_str_eq(err.what, "invalid literal");
	ck_assert_int_eq(validate_n("[\"\\u0041\"]", 6), -FMT_EPARSE);
	ck_assert_str_eq(err.what, "unterminated string");
}
END_TEST

/* Nested arrays: exactly FMT_JSON_DEPTH_MAX pass, one more is refused at the extra '['. */
START_TEST(validate_refuses_nesting_past_the_depth_limit)
{
	size_t n = FMT_JSON_DEPTH_MAX + 1;
	char *s = malloc(2 * n);

	for (size_t i = 0; i < n; i++) {
		s[i] = '[';
		s[2 * n - 1 - i] = ']';
	}
	ck_assert_int_eq(validate_n(s + 1, 2 * n - 2), 0);
	ck_assert_int_eq(validate_n(s, 2 * n), -FMT_EDEPTH);
	ck_assert_str_eq(err.what, "nesting too deep");
	ck_assert_uint_eq(err.offset, FMT_JSON_DEPTH_MAX);
	free(s);
}
END_TEST

/* Mixed objects and arrays: the bit stack must tell them apart at every level. */
START_TEST(validate_tracks_object_and_array_levels_apart)
{
	char s[FMT_JSON_DEPTH_MAX * 8];
	size_t p = 0;
	int depth = FMT_JSON_DEPTH_MAX;

	for (int i = 0; i < depth; i++) {
		if (i % 3 == 0) {
			memcpy(s + p, "{\"k\":", 5);
			p += 5;
		} else {
			s[p++] = '[';
		}
	}
	s[p++] = '0';
	for (int i = depth - 1; i >= 0; i--)
		s[p++] = i % 3 == 0 ? '}' : ']';
	ck_assert_msg(validate_n(s, p) == 0, "%s at %zu", err.what, err.offset);
	/* swap one closer: now it must fail exactly there */
	s[p - 1 - 5] = s[p - 1 - 5] == '}' ? ']' : '}';
	ck_assert_int_eq(validate_n(s, p), -FMT_EPARSE);
	ck_assert_uint_eq(err.offset, p - 1 - 5);
}
END_TEST

START_TEST(validate_survives_100000_open_brackets)
{
	size_t n = 100000;
	char *s = malloc(n);

	memset(s, '[', n);
	ck_assert_int_eq(validate_n(s, n), -FMT_EDEPTH);
	ck_assert_uint_eq(err.offset, FMT_JSON_DEPTH_MAX);
	memset(s, '{', n);
	ck_assert_int_eq(validate_n(s, n), -FMT_EPARSE);
	ck_assert_str_eq(err.what, "expected string key");
	free(s);
}
END_TEST

START_TEST(validate_refuses_numbers_longer_than_the_limit)
{
	char s[FMT_JSON_NUMBER_MAX + 8];

	/* "[-1.000...]": exactly FMT_JSON_NUMBER_MAX bytes of number pass */
	s[0] = '[';
	memcpy(s + 1, "-1.", 3);
	memset(s + 4, '0', FMT_JSON_NUMBER_MAX - 3);
	s[1 + FMT_JSON_NUMBER_MAX] = ']';
	ck_assert_int_eq(validate_n(s, FMT_JSON_NUMBER_MAX + 2), 0);
	/* one more digit: refused, at the number's first byte */
	memset(s + 4, '0', FMT_JSON_NUMBER_MAX - 2);
	s[2 + FMT_JSON_NUMBER_MAX] = ']';
	ck_assert_int_eq(validate_n(s, FMT_JSON_NUMBER_MAX + 3), -FMT_ENUMBER);
	ck_assert_str_eq(err.what, "number too long");
	ck_assert_uint_eq(err.offset, 1);
	/* a long number at the very end of the input */
	ck_assert_int_eq(validate_n(s + 1, FMT_JSON_NUMBER_MAX + 1), -FMT_ENUMBER);
	ck_assert_uint_eq(err.offset, 0);
}
END_TEST

/*
 * The string scan works 16 bytes at a time: put the byte that stops it at
 * every position of the first blocks, at every alignment of the buffer.
 */
START_TEST(validate_finds_stop_bytes_at_every_position)
{
	char s[80];

	for (size_t pos = 0; pos < 48; pos++) {
		size_t len = pos + 12;

		s[0] = '"';
		memset(s + 1, 'a', len - 2);
		s[len - 1] = '"';
		ck_assert_int_eq(validate_n(s, len), 0);

		s[1 + pos] = '\x1f';
		ck_assert_int_eq(validate_n(s, len), -FMT_EPARSE);
		ck_assert_str_eq(err.what, "control character in string");
		ck_assert_uint_eq(err.offset, 1 + pos);

		s[1 + pos] = '"';
		ck_assert_int_eq(validate_n(s, len), -FMT_EPARSE);
		ck_assert_str_eq(err.what, "trailing characters after JSON value");
		ck_assert_uint_eq(err.offset, 2 + pos);

		s[1 + pos] = '\x80';
		ck_assert_int_eq(validate_n(s, len), -FMT_EUTF8);
		ck_assert_uint_eq(err.offset, 1 + pos);

		/* a valid 3-byte sequence across every 16-byte boundary */
		if (pos + 3 <= len - 2) {
			memcpy(s + 1 + pos, "\xe2\x82\xac", 3);
			ck_assert_msg(validate_n(s, len) == 0, "euro at %zu: %s", pos, err.what);
		}
		/* the unterminated form: the quote is past @len */
		memset(s + 1, 'a', len - 2);
		ck_assert_int_eq(validate_n(s, len - 1), -FMT_EPARSE);
		ck_assert_str_eq(err.what, "unterminated string");
		ck_assert_uint_eq(err.offset, 0);
	}
}
END_TEST

/* ------------------------------------------------------------------ */
/* fmt_json_parse(): errors                                             */

START_TEST(parse_refuses_what_is_not_an_object)
{
	static const char *const inputs[] = {"[1]", "\"s\"", "1", "null", "  true", "x"};
	static const size_t offsets[] = {0, 0, 0, 0, 2, 0};

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		ck_assert_int_eq(parse(inputs[i]), -FMT_EPARSE);
		ck_assert_str_eq(err.what, "not a JSON object");
		ck_assert_uint_eq(err.offset, offsets[i]);
	}
	ck_assert_int_eq(parse(""), -FMT_EPARSE);
	ck_assert_str_eq(err.what, "empty input");
	ck_assert_int_eq(parse("\n\n"), -FMT_EPARSE);
	ck_assert_str_eq(err.what, "empty input");
}
END_TEST

START_TEST(parse_reports_exact_errors)
{
	static const struct bad_case cases[] = {
		{"{\"message\":\"abc", 0, -FMT_EPARSE, "unterminated string", 11},
		{"{\"a\":1,}", 0, -FMT_EPARSE, "trailing comma", 6},
		{"{\"a\":[1,{}],}", 0, -FMT_EPARSE, "trailing comma", 11},
		{"{\"a\":1}x", 0, -FMT_EPARSE, "trailing characters after JSON value", 7},
		{"{\"a\":1} \r\t{}", 0, -FMT_EPARSE, "trailing characters after JSON value", 10},
		{"{\"a\" :", 0, -FMT_EPARSE, "unexpected end of input", 6},
		{"{\"a\"=1}", 0, -FMT_EPARSE, "expected ':'", 4},
		{"{\"a\":1;\"b\":2}", 0, -FMT_EPARSE, "expected ',' or '}'", 6},
		{"{a:1}", 0, -FMT_EPARSE, "expected string key", 1},
		{"{\"m\":\"a\x0a\"}", 0, -FMT_EPARSE, "control character in string", 7},
		{"{\"m\":\"\\q\"}", 0, -FMT_EPARSE, "invalid escape", 6},
		{"{\"m\":\"ok\xc3\x28\"}", 0, -FMT_EUTF8, "invalid UTF-8 in string", 8},
		{"{\"k\xed\xa0\x80\":1}", 0, -FMT_EUTF8, "invalid UTF-8 in string", 3},
		{"{\"n\":-}", 0, -FMT_EPARSE, "invalid number", 6},
		{"{\"n\":1.5.2}", 0, -FMT_EPARSE, "invalid number", 8},
		{"{\"n\":.5}", 0, -FMT_EPARSE, "expected a value", 5},
		{"{\"b\":falsy}", 0, -FMT_EPARSE, "invalid literal", 5},
		{"{\"o\":{\"x\":1]}", 0, -FMT_EPARSE, "expected ',' or '}'", 11},
		{"{\"o\":[1}", 0, -FMT_EPARSE, "expected ',' or ']'", 7},
		{"\xef\xbb\xbf{}", 0, -FMT_EPARSE, "not a JSON object", 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_case *c = &cases[i];
		int rc = parse(c->in);

		ck_assert_msg(rc == c->rc, "case %zu: rc %d, want %d (%s)", i, rc, c->rc, err.what);
		ck_assert_msg(strcmp(err.what, c->what) == 0, "case %zu: \"%s\", want \"%s\"", i, err.what,
			      c->what);
		ck_assert_msg(err.offset == c->offset, "case %zu: offset %zu, want %zu", i, err.offset,
			      c->offset);
	}
}
END_TEST

START_TEST(parse_clears_the_record_on_error)
{
	ck_assert_int_eq(parse("{\"message\":\"m\",\"a\":1,\"trace\":\"t\"}"), 0);
	ck_assert_uint_eq(rec->nattrs, 1);
	ck_assert_int_eq(parse("{\"message\":\"m\",\"a\":1,\"trace\":\"t\",}"), -FMT_EPARSE);
	ck_assert_uint_eq(rec->nattrs, 0);
	ck_assert_uint_eq(rec->nids, 0);
	ck_assert_uint_eq(rec->flags, 0);
	ck_assert_uint_eq(rec->level, FMT_LEVEL_NONE);
	ck_assert(!rec->has_ts);
	ck_absent(rec->message);
	ck_absent(rec->trace);
	ck_absent(rec->cont);
}
END_TEST

START_TEST(parse_refuses_nesting_past_the_depth_limit)
{
	/* the object itself is level 1: FMT_JSON_DEPTH_MAX - 1 arrays fit inside */
	size_t pre = 5, n = FMT_JSON_DEPTH_MAX - 1, len = pre + 2 * n + 1;
	char *s = malloc(len + 2);

	memcpy(s, "{\"a\":", pre);
	memset(s + pre, '[', n);
	memset(s + pre + n, ']', n);
	s[pre + 2 * n] = '}';
	ck_assert_msg(parse_n(s, len) == 0, "%s at %zu", err.what, err.offset);
	ck_assert_uint_eq(rec->attrs[0].type, FMT_T_ARRAY);
	ck_assert_uint_eq(rec->attrs[0].val.len, 2 * n);

	memset(s + pre, '[', n + 1);
	memset(s + pre + n + 1, ']', n + 1);
	s[pre + 2 * n + 2] = '}';
	ck_assert_int_eq(parse_n(s, len + 2), -FMT_EDEPTH);
	ck_assert_str_eq(err.what, "nesting too deep");
	ck_assert_uint_eq(err.offset, pre + n);
	ck_assert_uint_eq(rec->nattrs, 0);
	free(s);
}
END_TEST

START_TEST(parse_refuses_a_number_too_long)
{
	char s[FMT_JSON_NUMBER_MAX + 16];
	size_t len;

	memcpy(s, "{\"n\":", 5);
	memset(s + 5, '7', FMT_JSON_NUMBER_MAX);
	s[5 + FMT_JSON_NUMBER_MAX] = '}';
	ck_assert_int_eq(parse_n(s, FMT_JSON_NUMBER_MAX + 6), 0);
	ck_assert_uint_eq(rec->attrs[0].val.len, FMT_JSON_NUMBER_MAX);

	memset(s + 5, '7', FMT_JSON_NUMBER_MAX + 1);
	s[6 + FMT_JSON_NUMBER_MAX] = '}';
	len = FMT_JSON_NUMBER_MAX + 7;
	ck_assert_int_eq(parse_n(s, len), -FMT_ENUMBER);
	ck_assert_str_eq(err.what, "number too long");
	ck_assert_uint_eq(err.offset, 5);
}
END_TEST

START_TEST(parse_checks_arguments)
{
	ck_assert_int_eq(fmt_json_parse("{}", 2, NULL, &err), -FMT_EINVAL);
	ck_assert_int_eq(fmt_json_parse(NULL, 3, rec, &err), -FMT_EINVAL);
	ck_assert_int_eq(fmt_json_parse("{}", 2, rec, NULL), 0);
	ck_assert_int_eq(fmt_json_parse("{", 1, rec, NULL), -FMT_EPARSE);
}
END_TEST

/* ------------------------------------------------------------------ */
/* fmt_json_parse(): the record                                         */

START_TEST(parse_fills_views_raw_or_json_escaped)
{
	static const char line[] = "{\"plain\":\"abc\",\"esc\":\"a\\nb\",\"n\":-1.5e3,\"t\":true,\"f\":false,"
				   "\"z\":null,\"o\":{\"x\":[1]},\"a\":[],\"k\\u0065y\":\"v\"}";
	const struct fmt_attr *a;

	ck_assert_int_eq(parse(line), 0);
	ck_assert_uint_eq(rec->format, FMT_JSON);
	ck_assert_uint_eq(rec->nattrs, 9);
	a = rec->attrs;
	ck_assert_uint_eq(a[0].type, FMT_T_STRING);
	ck_assert_uint_eq(a[0].val.enc, FMT_ENC_RAW);
	ck_assert_uint_eq(a[0].key.enc, FMT_ENC_RAW);
	ck_assert_ptr_eq(a[0].val.ptr, buf + 10); /* the inside of the quotes */
	ck_assert_uint_eq(a[0].val.len, 3);
	ck_assert_uint_eq(a[1].val.enc, FMT_ENC_JSON);
	ck_assert_uint_eq(a[1].val.len, 4);
	ck_assert_mem_eq(a[1].val.ptr, "a\\nb", 4);
	ck_view(a[1].val, "a\nb");
	ck_assert_uint_eq(a[2].type, FMT_T_NUMBER);
	ck_assert_mem_eq(a[2].val.ptr, "-1.5e3", a[2].val.len);
	ck_assert_uint_eq(a[3].type, FMT_T_BOOL);
	ck_assert_uint_eq(a[3].val.len, 4);
	ck_assert_uint_eq(a[4].type, FMT_T_BOOL);
	ck_assert_uint_eq(a[4].val.len, 5);
	ck_assert_uint_eq(a[5].type, FMT_T_NULL);
	ck_assert_uint_eq(a[6].type, FMT_T_OBJECT);
	ck_assert_uint_eq(a[6].val.len, strlen("{\"x\":[1]}"));
	ck_assert_mem_eq(a[6].val.ptr, "{\"x\":[1]}", a[6].val.len);
	ck_assert_uint_eq(a[7].type, FMT_T_ARRAY);
	ck_assert_uint_eq(a[7].val.len, 2);
	ck_assert_uint_eq(a[8].key.enc, FMT_ENC_JSON);
	ck_view(a[8].key, "key");
	for (int i = 2; i < 8; i++)
		ck_assert_uint_eq(a[i].val.enc, FMT_ENC_RAW);
	ck_assert_ptr_nonnull(fmt_record_attr(rec, "key"));
}
END_TEST

START_TEST(parse_prefers_the_first_listed_alias_wherever_it_is)
{
	ck_assert_int_eq(parse("{\"@message\":\"c\",\"msg\":\"b\",\"event\":\"d\",\"message\":\"a\"}"), 0);
	ck_view(rec->message, "a");
	ck_assert_uint_eq(rec->nattrs, 3);
	ck_view(rec->attrs[0].key, "@message");
	ck_view(rec->attrs[1].key, "msg");
	ck_view(rec->attrs[2].key, "event");

	ck_assert_int_eq(parse("{\"loglevel\":\"debug\",\"levelname\":\"INFO\",\"log\":{\"level\":\"warn\"},"
			       "\"log.level\":\"error\"}"),
			 0);
	ck_assert_uint_eq(rec->level, FMT_LEVEL_ERROR);
	ck_view(rec->level_text, "error");
	ck_assert_uint_eq(rec->nattrs, 3); /* loglevel, levelname, and the log object */

	ck_assert_int_eq(parse("{\"ts\":1700000000,\"time\":1700000001}"), 0);
	ck_assert_int_eq(rec->ts_ns, 1700000001000000000);
	ck_view(rec->attrs[0].key, "ts");

	ck_assert_int_eq(parse("{\"service_name\":\"c\",\"service\":{\"name\":\"b\"},\"service\":\"a\"}"), 0);
	ck_view(rec->service, "a");
	ck_assert_uint_eq(rec->nattrs, 2);

	ck_assert_int_eq(
		parse("{\"http.method\":\"C\",\"http\":{\"request\":{\"method\":\"B\"}},"
		      "\"http.request.method\":\"A\",\"url\":{\"path\":\"/u\"},\"http.target\":\"/t\"}"),
		0);
	ck_view(rec->method, "A");
	ck_view(rec->path, "/u");
}
END_TEST

/* A candidate that led and then lost goes back to attrs at its own place. */
START_TEST(parse_puts_a_losing_alias_back_in_line_order)
{
	ck_assert_int_eq(
		parse("{\"a\":1,\"msg\":\"x\",\"b\":2,\"@message\":\"z\",\"c\":3,\"message\":\"y\",\"d\":4}"),
		0);
	ck_view(rec->message, "y");
	ck_assert_uint_eq(rec->nattrs, 6);
	ck_view(rec->attrs[0].key, "a");
	ck_view(rec->attrs[1].key, "msg");
	ck_view(rec->attrs[1].val, "x");
	ck_view(rec->attrs[2].key, "b");
	ck_view(rec->attrs[3].key, "@message");
	ck_view(rec->attrs[4].key, "c");
	ck_view(rec->attrs[5].key, "d");
}
END_TEST

START_TEST(parse_compares_escaped_keys_decoded)
{
	ck_assert_int_eq(parse("{\"m\\u0073g\":\"x\",\"tr\\u0061ce\":\"t\",\"\\u006cevel\":\"warn\","
			       "\"\\u0069ds\":[\"t\",\"s\"]}"),
			 0);
	ck_view(rec->message, "x");
	ck_view(rec->trace, "t");
	ck_view(rec->span, "s");
	ck_assert_uint_eq(rec->level, FMT_LEVEL_WARN);
	ck_assert_uint_eq(rec->nattrs, 0);
	/* an escape that makes a different key is not an alias */
	ck_assert_int_eq(parse("{\"msg\\u0000\":\"x\"}"), 0);
	ck_absent(rec->message);
	ck_assert_uint_eq(rec->nattrs, 1);
}
END_TEST

START_TEST(parse_keeps_level_text_and_maps_levels)
{
	ck_assert_int_eq(parse("{\"level\":\"Warning\"}"), 0);
	ck_assert_uint_eq(rec->level, FMT_LEVEL_WARN);
	ck_view(rec->level_text, "Warning");
	ck_assert_int_eq(parse("{\"level\":60}"), 0);
	ck_assert_uint_eq(rec->level, FMT_LEVEL_FATAL);
	ck_view(rec->level_text, "60");
	ck_assert_int_eq(parse("{\"severity\":\"\\u0045RROR\"}"), 0);
	ck_assert_uint_eq(rec->level, FMT_LEVEL_ERROR);
	ck_assert_int_eq(parse("{\"level\":\"Level 1\"}"), 0);
	ck_assert_uint_eq(rec->level, FMT_LEVEL_OTHER);
	ck_view(rec->level_text, "Level 1");
	ck_assert_int_eq(parse("{\"level\":\"\"}"), 0);
	ck_assert_uint_eq(rec->level, FMT_LEVEL_OTHER);
	ck_view(rec->level_text, "");
	/* not a string or number: an attribute */
	ck_assert_int_eq(parse("{\"level\":true}"), 0);
	ck_assert_uint_eq(rec->level, FMT_LEVEL_NONE);
	ck_absent(rec->level_text);
	ck_assert_uint_eq(rec->nattrs, 1);
}
END_TEST

START_TEST(parse_reads_nested_ecs_objects_and_keeps_them)
{
	ck_assert_int_eq(parse("{\"log\":{\"logger\":\"a\",\"level\":\"info\"},\"trace\":{\"id\":\"t\"},"
			       "\"span\":{\"x\":{\"id\":\"no\"},\"id\":\"s\"},\"parent\":{\"id\":7}}"),
			 0);
	ck_assert_uint_eq(rec->level, FMT_LEVEL_INFO);
	ck_view(rec->trace, "t");
	ck_view(rec->span, "s");
	ck_absent(rec->parent); /* a number is no ID */
	ck_assert_uint_eq(rec->nattrs, 4);
	ck_assert_uint_eq(rec->attrs[0].type, FMT_T_OBJECT);
	ck_view(rec->attrs[3].key, "parent");
	ck_assert_uint_eq(rec->nids, 2);
}
END_TEST

START_TEST(parse_maps_event_span_and_metric)
{
	ck_assert_int_eq(parse("{\"event\":\"span\",\"name\":\"GET /x\",\"dur_us\":5}"), 0);
	ck_assert_uint_eq(rec->event, FMT_EVENT_SPAN);
	ck_assert_uint_eq(rec->nattrs, 2);
	ck_absent(rec->message);
	ck_assert_int_eq(parse("{\"event\":\"metr\\u0069c\"}"), 0);
	ck_assert_uint_eq(rec->event, FMT_EVENT_METRIC);
	ck_assert_int_eq(parse("{\"event\":\"span\",\"event\":\"metric\"}"), 0);
	ck_assert_uint_eq(rec->event, FMT_EVENT_SPAN);
	ck_assert_uint_eq(rec->nattrs, 1);
	ck_assert_int_eq(parse("{\"event\":\"Span\"}"), 0);
	ck_assert_uint_eq(rec->event, FMT_EVENT_LOG);
	ck_view(rec->message, "Span");
	ck_assert_int_eq(parse("{\"event\":{\"kind\":\"x\"}}"), 0);
	ck_assert_uint_eq(rec->event, FMT_EVENT_LOG);
	ck_absent(rec->message);
	ck_assert_uint_eq(rec->nattrs, 1);
}
END_TEST

START_TEST(parse_derives_ids_trace_span_and_parent)
{
	/* without "ids": [trace] + [parent] + [span unless == trace] */
	ck_assert_int_eq(parse("{\"span\":\"s\",\"trace\":\"t\"}"), 0);
	ck_assert_uint_eq(rec->nids, 2);
	ck_view(rec->ids[0], "t");
	ck_view(rec->ids[1], "s");
	ck_absent(rec->parent);
	ck_assert_int_eq(parse("{\"trace\":\"t\",\"parent\":\"p\"}"), 0);
	ck_assert_uint_eq(rec->nids, 2);
	ck_view(rec->ids[1], "p");
	ck_absent(rec->span);
	ck_assert_int_eq(parse("{\"trace\":\"t\",\"span\":\"\\u0074\"}"), 0);
	ck_assert_uint_eq(rec->nids, 1);
	ck_assert_int_eq(parse("{\"span\":\"s\",\"parent\":\"p\"}"), 0);
	ck_assert_uint_eq(rec->nids, 0); /* no trace, no path */
	ck_view(rec->span, "s");

	/* with "ids": its elements, and explicit fields win */
	ck_assert_int_eq(parse("{\"ids\":[\"a\",\"b\",\"c\"],\"parent\":\"P\"}"), 0);
	ck_assert_uint_eq(rec->nids, 3);
	ck_view(rec->trace, "a");
	ck_view(rec->span, "c");
	ck_view(rec->parent, "P");
	ck_assert_uint_eq(rec->nattrs, 0);
	ck_assert_int_eq(parse("{\"ids\":[\"only\"]}"), 0);
	ck_assert_uint_eq(rec->nids, 1);
	ck_view(rec->trace, "only");
	ck_absent(rec->span);

	/* unusable arrays stay attributes; a later usable one still counts */
	ck_assert_int_eq(parse("{\"ids\":[],\"ids\":[\"x\",1],\"ids\":[\"r\",\"s\"],\"ids\":[\"q\"]}"), 0);
	ck_assert_uint_eq(rec->nids, 2);
	ck_view(rec->ids[0], "r");
	ck_assert_uint_eq(rec->nattrs, 3);
	ck_view(rec->attrs[2].val, "[\"q\"]");
}
END_TEST

START_TEST(parse_keeps_too_deep_an_ids_array_as_attribute)
{
	char s[16 * (FMT_IDS_MAX + 2)];
	size_t p = 0;

	p += (size_t)snprintf(s + p, sizeof(s) - p, "{\"ids\":[");
	for (int i = 0; i <= FMT_IDS_MAX; i++)
		p += (size_t)snprintf(s + p, sizeof(s) - p, "%s\"i%d\"", i ? "," : "", i);
	p += (size_t)snprintf(s + p, sizeof(s) - p, "]}");
	ck_assert_int_eq(parse_n(s, p), 0);
	ck_assert_uint_eq(rec->nids, 0);
	ck_assert_uint_eq(rec->nattrs, 1);
	ck_assert_uint_eq(rec->attrs[0].type, FMT_T_ARRAY);
}
END_TEST

START_TEST(parse_converts_epoch_numbers_by_magnitude)
{
	static const struct {
		const char *num;
		bool ok;
		int64_t ns;
	} cases[] = {
		{"0", true, 0},
		{"1700000000", true, 1700000000000000000},	      /* seconds */
		{"1700000000.123456789", true, 1700000000123456789},  /* seconds with a fraction (zap) */
		{"1700000000.1234567891", true, 1700000000123456789}, /* below 1 ns: cut off */
		{"-1.5", true, -1500000000},
		{"1.5e3", true, 1500000000000},
		{"1e-9", true, 1},
		{"1e-10", true, 0},
		{"99999999999", false, 0},		      /* seconds, but past int64 ns */
		{"100000000000", true, 100000000000000000},   /* 1e11: milliseconds */
		{"1700000000123", true, 1700000000123000000}, /* milliseconds (pino) */
		{"1700000000123.5", true, 1700000000123500000},
		{"99999999999999", false, 0},		       /* milliseconds, past int64 ns */
		{"100000000000000", true, 100000000000000000}, /* 1e14: microseconds */
		{"1700000000123456", true, 1700000000123456000},
		{"100000000000000000", true, 100000000000000000}, /* 1e17: nanoseconds */
		{"9223372036854775807", true, INT64_MAX},
		{"9223372036854775808", false, 0},
		{"-9223372036854775808", true, INT64_MIN},
		{"1e300", false, 0},
		{"1E-300", true, 0},
	};
	char line[160];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = snprintf(line, sizeof(line), "{\"time\":%s}", cases[i].num);

		ck_assert_int_eq(parse_n(line, (size_t)n), 0);
		ck_assert_msg(rec->has_ts == cases[i].ok, "%s: has_ts %d", cases[i].num, rec->has_ts);
		ck_assert_msg(!(rec->flags & FMT_F_TS_INVALID) == cases[i].ok, "%s: flags %u", cases[i].num,
			      rec->flags);
		if (cases[i].ok)
			ck_assert_msg(rec->ts_ns == cases[i].ns, "%s: %lld, want %lld", cases[i].num,
				      (long long)rec->ts_ns, (long long)cases[i].ns);
		ck_view(rec->ts_text, cases[i].num);
		ck_assert_uint_eq(rec->nattrs, 0);
	}
}
END_TEST

START_TEST(parse_flags_a_timestamp_it_cannot_read)
{
	ck_assert_int_eq(parse("{\"timestamp\":\"2026-13-01T00:00:00Z\",\"message\":\"m\"}"), 0);
	ck_assert(!rec->has_ts);
	ck_assert_uint_eq(rec->flags, FMT_F_TS_INVALID);
	ck_view(rec->ts_text, "2026-13-01T00:00:00Z");
	ck_view(rec->message, "m");
	ck_assert_int_eq(parse("{\"timestamp\":\"2026-11-23T07:09:24\\u002e5Z\"}"), 0);
	ck_assert(rec->has_ts);
	ck_assert_int_eq(rec->ts_ns % 1000000000, 500000000);
	ck_assert_int_eq(parse("{\"@timestamp\":null}"), 0);
	ck_assert(!rec->has_ts);
	ck_assert_uint_eq(rec->flags, 0);
	ck_absent(rec->ts_text);
	ck_assert_uint_eq(rec->nattrs, 1);
}
END_TEST

START_TEST(parse_puts_text_after_the_object_line_in_cont)
{
	ck_assert_int_eq(parse("{\"message\":\"m\"}\n  at a.b(C.java:1)\n  at d.e(F.java:2)\n"), 0);
	ck_assert_uint_eq(rec->flags, FMT_F_CONT);
	ck_assert_uint_eq(rec->cont.enc, FMT_ENC_RAW);
	ck_assert_ptr_eq(rec->cont.ptr, buf + 16);
	ck_assert_uint_eq(rec->cont.len, strlen("  at a.b(C.java:1)\n  at d.e(F.java:2)\n"));

	ck_assert_int_eq(parse("{} \t\r\nx"), 0);
	ck_view(rec->cont, "x");
	ck_assert_int_eq(parse("{}\n\nsecond"), 0);
	ck_view(rec->cont, "\nsecond");

	static const char *const no_cont[] = {"{}", "{}\n", "{}\r\n", "{} \n \t\r\n\n", "{}\n\n"};
	for (size_t i = 0; i < sizeof(no_cont) / sizeof(no_cont[0]); i++) {
		ck_assert_int_eq(parse(no_cont[i]), 0);
		ck_absent(rec->cont);
		ck_assert_uint_eq(rec->flags, 0);
	}
	/* text on the object's own line is an error, not a continuation */
	ck_assert_int_eq(parse("{} x\ny"), -FMT_EPARSE);
	ck_assert_str_eq(err.what, "trailing characters after JSON value");
	ck_assert_uint_eq(err.offset, 3);
	/* the object may itself span lines */
	ck_assert_int_eq(parse("{\n\"message\":\n\"m\"\n}\ncont"), 0);
	ck_view(rec->message, "m");
	ck_view(rec->cont, "cont");
}
END_TEST

static size_t many_members(char *s, size_t cap, const char *head, int n, const char *tail)
{
	size_t p = (size_t)snprintf(s, cap, "{%s", head);

	for (int i = 0; i < n; i++)
		p += (size_t)snprintf(s + p, cap - p, "%s\"k%d\":%d", (i || *head) ? "," : "", i, i);
	p += (size_t)snprintf(s + p, cap - p, "%s}", tail);
	return p;
}

START_TEST(parse_truncates_attrs_at_the_cap)
{
	static char s[64 * (FMT_ATTRS_MAX + 32)];
	size_t len;

	len = many_members(s, sizeof(s), "", FMT_ATTRS_MAX, "");
	ck_assert_int_eq(parse_n(s, len), 0);
	ck_assert_uint_eq(rec->nattrs, FMT_ATTRS_MAX);
	ck_assert_uint_eq(rec->flags, 0);

	len = many_members(s, sizeof(s), "", FMT_ATTRS_MAX + 10, ",\"message\":\"late\"");
	ck_assert_int_eq(parse_n(s, len), 0);
	ck_assert_uint_eq(rec->nattrs, FMT_ATTRS_MAX);
	ck_assert_uint_eq(rec->flags, FMT_F_ATTRS_TRUNCATED);
	ck_view(rec->attrs[FMT_ATTRS_MAX - 1].key, "k63");
	ck_view(rec->message, "late"); /* fields are read past the cap */

	/* a loser put back in front pushes the last attribute out */
	len = many_members(s, sizeof(s), "\"msg\":\"first\"", FMT_ATTRS_MAX, ",\"message\":\"wins\"");
	ck_assert_int_eq(parse_n(s, len), 0);
	ck_view(rec->message, "wins");
	ck_assert_uint_eq(rec->nattrs, FMT_ATTRS_MAX);
	ck_assert_uint_eq(rec->flags, FMT_F_ATTRS_TRUNCATED);
	ck_view(rec->attrs[0].key, "msg");
	ck_view(rec->attrs[1].key, "k0");
	ck_view(rec->attrs[FMT_ATTRS_MAX - 1].key, "k62");

	/* a loser past the cap is dropped like any later member */
	len = many_members(s, sizeof(s), "", FMT_ATTRS_MAX, ",\"msg\":\"x\",\"message\":\"y\"");
	ck_assert_int_eq(parse_n(s, len), 0);
	ck_assert_uint_eq(rec->nattrs, FMT_ATTRS_MAX);
	ck_assert_uint_eq(rec->flags, FMT_F_ATTRS_TRUNCATED);
	ck_view(rec->attrs[FMT_ATTRS_MAX - 1].key, "k63");
}
END_TEST

START_TEST(parse_reads_a_typical_line_of_each_logger)
{
	ck_assert_int_eq(
		parse("{\"timestamp\":\"2026-11-23T07:09:24.123456Z\",\"severity\":\"INFO\",\"service\":"
		      "\"orders\",\"message\":\"order fetched\",\"trace\":\"7f3a\",\"span\":\"9a8b\","
		      "\"parent\":\"1b2c\",\"method\":\"GET\",\"path\":\"/api/v1/orders/42\",\"status\":200}"),
		0);
	ck_assert(rec->has_ts);
	ck_assert_int_eq(rec->ts_ns % 1000000000, 123456000);
	ck_assert_uint_eq(rec->nids, 3);
	ck_view(rec->ids[1], "1b2c");
	ck_view(rec->method, "GET");
	ck_view(rec->path, "/api/v1/orders/42");
	ck_assert_uint_eq(rec->nattrs, 1);

	ck_assert_int_eq(
		parse("{\"level\":30,\"time\":1700000000123,\"pid\":1,\"hostname\":\"h\",\"msg\":\"hi\"}"),
		0);
	ck_assert_uint_eq(rec->level, FMT_LEVEL_INFO);
	ck_assert_int_eq(rec->ts_ns, 1700000000123000000);
	ck_view(rec->message, "hi");
}
END_TEST

static Suite *json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc;

	tc = tcase_create("validate");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, validate_rejects_with_exact_message_and_offset, 0,
			    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, validate_accepts_every_kind_of_value);
	tcase_add_test(tc, validate_accepts_null_err_and_checks_arguments);
	tcase_add_test(tc, validate_never_reads_past_len);
	tcase_add_test(tc, validate_refuses_nesting_past_the_depth_limit);
	tcase_add_test(tc, validate_tracks_object_and_array_levels_apart);
	tcase_add_test(tc, validate_survives_100000_open_brackets);
	tcase_add_test(tc, validate_refuses_numbers_longer_than_the_limit);
	tcase_add_test(tc, validate_finds_stop_bytes_at_every_position);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse_errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, parse_refuses_what_is_not_an_object);
	tcase_add_test(tc, parse_reports_exact_errors);
	tcase_add_test(tc, parse_clears_the_record_on_error);
	tcase_add_test(tc, parse_refuses_nesting_past_the_depth_limit);
	tcase_add_test(tc, parse_refuses_a_number_too_long);
	tcase_add_test(tc, parse_checks_arguments);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse_record");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, parse_fills_views_raw_or_json_escaped);
	tcase_add_test(tc, parse_prefers_the_first_listed_alias_wherever_it_is);
	tcase_add_test(tc, parse_puts_a_losing_alias_back_in_line_order);
	tcase_add_test(tc, parse_compares_escaped_keys_decoded);
	tcase_add_test(tc, parse_keeps_level_text_and_maps_levels);
	tcase_add_test(tc, parse_reads_nested_ecs_objects_and_keeps_them);
	tcase_add_test(tc, parse_maps_event_span_and_metric);
	tcase_add_test(tc, parse_derives_ids_trace_span_and_parent);
	tcase_add_test(tc, parse_keeps_too_deep_an_ids_array_as_attribute);
	tcase_add_test(tc, parse_converts_epoch_numbers_by_magnitude);
	tcase_add_test(tc, parse_flags_a_timestamp_it_cannot_read);
	tcase_add_test(tc, parse_puts_text_after_the_object_line_in_cont);
	tcase_add_test(tc, parse_truncates_attrs_at_the_cap);
	tcase_add_test(tc, parse_reads_a_typical_line_of_each_logger);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(json_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
