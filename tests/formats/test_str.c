/*
 * test_str.c - decoding views and escaping values (formats/src/str.c).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/str.h"

static struct fmt_str view(const char *s, enum fmt_enc enc)
{
	struct fmt_str v = fmt_str_c(s);
	v.enc = (uint8_t)enc;
	return v;
}

static const char *decode(const char *s, enum fmt_enc enc)
{
	static char out[256];
	struct fmt_str v = view(s, enc);
	size_t n = fmt_str_decode(&v, out);

	ck_assert_uint_le(n, v.len);
	out[n] = 0;
	return out;
}

START_TEST(pipe_escapes_decode_and_unknown_ones_stand_for_themselves)
{
	ck_assert_str_eq(decode("a\\|b\\\\c\\nd\\re\\tf", FMT_ENC_PIPE), "a|b\\c\nd\re\tf");
	ck_assert_str_eq(decode("C:\\x\\", FMT_ENC_PIPE), "C:\\x\\");
}
END_TEST

START_TEST(json_escapes_decode_including_surrogate_pairs)
{
	ck_assert_str_eq(decode("\\\"\\\\\\/\\b\\f\\n\\r\\t", FMT_ENC_JSON), "\"\\/\b\f\n\r\t");
	ck_assert_str_eq(decode("\\u00e9\\u20ac", FMT_ENC_JSON), "\xC3\xA9\xE2\x82\xAC");
	ck_assert_str_eq(decode("\\ud83d\\ude00", FMT_ENC_JSON), "\xF0\x9F\x98\x80");
	ck_assert_str_eq(decode("\\u0041", FMT_ENC_JSON), "A");
}
END_TEST

START_TEST(json_lone_surrogates_decode_to_replacement_character)
{
	ck_assert_str_eq(decode("x\\ud800y", FMT_ENC_JSON), "x\xEF\xBF\xBDy");
	ck_assert_str_eq(decode("\\udc00", FMT_ENC_JSON), "\xEF\xBF\xBD");
	ck_assert_str_eq(decode("\\ud800\\u0041", FMT_ENC_JSON), "\xEF\xBF\xBD"
								 "A");
}
END_TEST

START_TEST(raw_views_are_taken_as_they_are)
{
	ck_assert_str_eq(decode("a\\|b", FMT_ENC_RAW), "a\\|b");
}
END_TEST

START_TEST(equality_compares_decoded_values)
{
	struct fmt_str v = view("a\\|b", FMT_ENC_PIPE);
	struct fmt_str absent = {0};

	ck_assert(fmt_str_eq(&v, "a|b", 3));
	ck_assert(!fmt_str_eq(&v, "a\\|b", 4));
	ck_assert(!fmt_str_eq(&v, "a|", 2));
	ck_assert(!fmt_str_eq(&absent, "", 0));
	v = view("\\u00e9", FMT_ENC_JSON);
	ck_assert(fmt_str_eq(&v, "\xC3\xA9", 2));
}
END_TEST

static const char *escape(int (*fn)(const struct fmt_str *, char *, size_t, size_t *), const char *s,
			  enum fmt_enc enc)
{
	static char out[256];
	struct fmt_str v = view(s, enc);
	size_t pos = 0;

	ck_assert_int_eq(fn(&v, out, sizeof(out) - 1, &pos), 0);
	out[pos] = 0;
	return out;
}

START_TEST(pipe_escaping_covers_every_special_byte)
{
	ck_assert_str_eq(escape(fmt_pipe_escape, "a|b\\c\nd\re\tf", FMT_ENC_RAW), "a\\|b\\\\c\\nd\\re\\tf");
	/* a JSON value containing a pipe becomes a pipe field */
	ck_assert_str_eq(escape(fmt_pipe_escape, "x|\\n", FMT_ENC_JSON), "x\\|\\n");
	/* a lone trailing backslash must not escape the next separator */
	ck_assert_str_eq(escape(fmt_pipe_escape, "end\\", FMT_ENC_PIPE), "end\\\\");
}
END_TEST

START_TEST(json_escaping_gives_valid_json_for_any_bytes)
{
	ck_assert_str_eq(escape(fmt_json_escape, "q\"b\\n\n\x01\x1f", FMT_ENC_RAW),
			 "q\\\"b\\\\n\\n\\u0001\\u001f");
	ck_assert_str_eq(escape(fmt_json_escape, "caf\xC3\xA9 \xF0\x9F\x98\x80", FMT_ENC_RAW),
			 "caf\xC3\xA9 \xF0\x9F\x98\x80");
	/* invalid UTF-8: a stray continuation byte, an overlong, a surrogate, a truncated sequence */
	ck_assert_str_eq(escape(fmt_json_escape,
				"a\x80"
				"b\xC0\xAF"
				"c\xED\xA0\x80"
				"d\xE2\x82",
				FMT_ENC_RAW),
			 "a\xEF\xBF\xBD"
			 "b\xEF\xBF\xBD\xEF\xBF\xBD"
			 "c\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
			 "d\xEF\xBF\xBD\xEF\xBF\xBD");
	ck_assert_str_eq(escape(fmt_json_escape, "a\\|b\\tc\\x", FMT_ENC_PIPE), "a|b\\tc\\\\x");
}
END_TEST

/* DEL and C1 controls (U+0080..U+009F, e.g. CSI 0x9B) are escaped from every encoding. */
START_TEST(json_escaping_never_writes_del_or_c1_controls)
{
	ck_assert_str_eq(escape(fmt_json_escape,
				"a\x7f"
				"b\xC2\x9B"
				"2J\xC2\x85\xC2\xA0",
				FMT_ENC_RAW),
			 "a\\u007fb\\u009b2J\\u0085\xC2\xA0");
	ck_assert_str_eq(escape(fmt_json_escape, "x\\|\x7f\xC2\x80", FMT_ENC_PIPE), "x|\\u007f\\u0080");
	/* a JSON view keeps its escapes as they are and loses only the raw controls */
	ck_assert_str_eq(escape(fmt_json_escape, "\\\"q\\u001b\x7f\xC2\x9Bz", FMT_ENC_JSON),
			 "\\\"q\\u001b\\u007f\\u009bz");
}
END_TEST

START_TEST(escaping_that_does_not_fit_writes_nothing)
{
	char out[8];
	struct fmt_str v = fmt_str_c("abc|def\n");

	for (size_t cap = 0; cap < sizeof(out); cap++) {
		size_t pos = 0;
		memset(out, '#', sizeof(out));
		ck_assert_int_eq(fmt_pipe_escape(&v, out, cap, &pos), -FMT_ETRUNC);
		ck_assert_uint_eq(pos, 0);
		pos = 0;
		ck_assert_int_eq(fmt_json_escape(&v, out, cap, &pos), -FMT_ETRUNC);
		ck_assert_uint_eq(pos, 0);
		for (size_t i = cap; i < sizeof(out); i++)
			ck_assert_int_eq(out[i], '#');
	}
}
END_TEST

START_TEST(levels_are_recognised_by_every_common_name)
{
	ck_assert_int_eq(fmt_level_from_text("WARNING", 7), FMT_LEVEL_WARN);
	ck_assert_int_eq(fmt_level_from_text("info", 4), FMT_LEVEL_INFO);
	ck_assert_int_eq(fmt_level_from_text("Critical", 8), FMT_LEVEL_FATAL);
	ck_assert_int_eq(fmt_level_from_text("30", 2), FMT_LEVEL_INFO);
	ck_assert_int_eq(fmt_level_from_text("60", 2), FMT_LEVEL_FATAL);
	ck_assert_int_eq(fmt_level_from_text("Level 1", 7), FMT_LEVEL_OTHER);
	ck_assert_int_eq(fmt_level_from_text("", 0), FMT_LEVEL_OTHER);
	ck_assert_int_eq(fmt_level_from_text("informational", 13), FMT_LEVEL_INFO);
	ck_assert_int_eq(fmt_level_from_text("Information", 11), FMT_LEVEL_INFO); /* .NET, Serilog */
	ck_assert_int_eq(fmt_level_from_text("Verbose", 7), FMT_LEVEL_TRACE);
	ck_assert_int_eq(fmt_level_from_text("EMERGENCY", 9), FMT_LEVEL_FATAL);
	ck_assert_int_eq(fmt_level_from_text("informationalx", 14), FMT_LEVEL_OTHER);
	ck_assert_int_eq(fmt_level_from_text("informationalxyz", 16), FMT_LEVEL_OTHER); /* longer than any */
	ck_assert_str_eq(fmt_level_name(FMT_LEVEL_ERROR), "ERROR");
	ck_assert_str_eq(fmt_level_name((enum fmt_level)99), "");
}
END_TEST

START_TEST(attributes_are_found_by_decoded_key)
{
	struct fmt_record r;

	fmt_record_clear(&r);
	r.attrs[0] = (struct fmt_attr){.key = view("a\\|b", FMT_ENC_PIPE), .val = fmt_str_c("1")};
	r.attrs[1] = (struct fmt_attr){.key = fmt_str_c("status"), .val = fmt_str_c("200")};
	r.nattrs = 2;
	ck_assert_ptr_eq(fmt_record_attr(&r, "a|b"), &r.attrs[0]);
	ck_assert_ptr_eq(fmt_record_attr(&r, "status"), &r.attrs[1]);
	ck_assert_ptr_null(fmt_record_attr(&r, "stat"));
	ck_assert_str_eq(fmt_strerror(-FMT_ETRUNC), "output buffer too small");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("str");
	TCase *tc = tcase_create("str");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, pipe_escapes_decode_and_unknown_ones_stand_for_themselves);
	tcase_add_test(tc, json_escapes_decode_including_surrogate_pairs);
	tcase_add_test(tc, json_lone_surrogates_decode_to_replacement_character);
	tcase_add_test(tc, raw_views_are_taken_as_they_are);
	tcase_add_test(tc, json_escaping_never_writes_del_or_c1_controls);
	tcase_add_test(tc, equality_compares_decoded_values);
	tcase_add_test(tc, pipe_escaping_covers_every_special_byte);
	tcase_add_test(tc, json_escaping_gives_valid_json_for_any_bytes);
	tcase_add_test(tc, escaping_that_does_not_fit_writes_nothing);
	tcase_add_test(tc, levels_are_recognised_by_every_common_name);
	tcase_add_test(tc, attributes_are_found_by_decoded_key);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
