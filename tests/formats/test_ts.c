/*
 * test_ts.c - RFC 3339 timestamps (formats/src/ts.c).
 *
 * The vectors (formats/vectors/ts.json) hold the single cases; here are
 * the exact offsets of every error, and the sweeps no table can hold: every
 * day of the int64 range against a naive calendar, and format -> parse
 * round trips of many instants at every fraction width.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/ts.h"

#define NS 1000000000LL

/* Parse @s from an exactly sized copy (so ASan sees any over-read). */
static int parse(const char *s, int64_t *ns, struct fmt_err *err)
{
	size_t len = strlen(s);
	char *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, s, len);
	rc = fmt_ts_parse(copy, len, ns, err);
	free(copy);
	return rc;
}

static int64_t ok(const char *s)
{
	struct fmt_err err = {0};
	int64_t ns = 0;
	int rc = parse(s, &ns, &err);

	ck_assert_msg(rc == 0, "%s: %s at %zu", s, err.what ? err.what : "?", err.offset);
	return ns;
}

START_TEST(errors_name_the_field_and_point_at_it)
{
	static const struct {
		const char *in;
		const char *what;
		size_t offset;
	} cases[] = {
		{"", "invalid year", 0},
		{"202", "invalid year", 0},
		{"2O26-11-23T07:09:24Z", "invalid year", 0},
		{"-026-11-23T07:09:24Z", "invalid year", 0},
		{"2026", "expected '-'", 4},
		{"2026/11/23T07:09:24Z", "expected '-'", 4},
		{"2026-1", "invalid month", 5},
		{"2026-00-23T07:09:24Z", "invalid month", 5},
		{"2026-13-23T07:09:24Z", "invalid month", 5},
		{"2026-1a-23T07:09:24Z", "invalid month", 5},
		{"2026-11_23T07:09:24Z", "expected '-'", 7},
		{"2026-11-00T07:09:24Z", "invalid day", 8},
		{"2026-11-31T07:09:24Z", "invalid day", 8},
		{"2026-12-32T07:09:24Z", "invalid day", 8},
		{"2026-02-29T07:09:24Z", "invalid day", 8},
		{"2100-02-29T07:09:24Z", "invalid day", 8},
		{"2026-11-2", "invalid day", 8},
		{"2026-11-23", "expected 'T'", 10},
		{"2026-11-23 07:09:24Z", "expected 'T'", 10},
		{"2026-11-23_07:09:24Z", "expected 'T'", 10},
		{"2026-11-23T24:00:00Z", "invalid hour", 11},
		{"2026-11-23T7:09:24Z", "invalid hour", 11},
		{"2026-11-23T07", "expected ':'", 13},
		{"2026-11-23T07.09:24Z", "expected ':'", 13},
		{"2026-11-23T07:60:24Z", "invalid minute", 14},
		{"2026-11-23T07:09", "expected ':'", 16},
		{"2026-11-23T07:09:61Z", "invalid second", 17},
		{"2026-11-23T07:09:2", "invalid second", 17},
		{"2026-11-23T07:09:24", "missing time zone", 19},
		{"2026-11-23T07:09:24 ", "missing time zone", 19},
		{"2026-11-23T07:09:24UTC", "missing time zone", 19},
		{"2026-11-23T07:09:24.", "missing fraction digits", 20},
		{"2026-11-23T07:09:24.Z", "missing fraction digits", 20},
		{"2026-11-23T07:09:24.123", "missing time zone", 23},
		{"2026-11-23T07:09:24.1234567890Z", "fraction longer than 9 digits", 29},
		{"2026-11-23T07:09:24.00000000000000000001Z", "fraction longer than 9 digits", 29},
		{"2026-11-23T07:09:24ZZ", "trailing characters", 20},
		{"2026-11-23T07:09:24Z ", "trailing characters", 20},
		{"2026-11-23T07:09:24+01:00Z", "trailing characters", 25},
		{"2026-11-23T07:09:24+", "invalid offset", 19},
		{"2026-11-23T07:09:24+01", "invalid offset", 19},
		{"2026-11-23T07:09:24+01:0", "invalid offset", 19},
		{"2026-11-23T07:09:24+0100", "invalid offset", 19},
		{"2026-11-23T07:09:24+24:00", "invalid offset", 19},
		{"2026-11-23T07:09:24-00:60", "invalid offset", 19},
		{"2026-11-23T07:09:24.5+1:000", "invalid offset", 21},
		{"0000-01-01T00:00:00Z", "timestamp out of range", 0},
		{"1677-09-21T00:12:43.145224191Z", "timestamp out of range", 0},
		{"2262-04-11T23:47:16.854775808Z", "timestamp out of range", 0},
		{"9999-12-31T23:59:60+23:59", "timestamp out of range", 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fmt_err err = {0};
		int64_t ns = 12345;
		int rc = parse(cases[i].in, &ns, &err);

		ck_assert_msg(rc == -FMT_ETS, "%s: accepted", cases[i].in);
		ck_assert_msg(err.what && strcmp(err.what, cases[i].what) == 0, "%s: \"%s\", want \"%s\"",
			      cases[i].in, err.what, cases[i].what);
		ck_assert_msg(err.offset == cases[i].offset, "%s: offset %zu, want %zu", cases[i].in,
			      err.offset, cases[i].offset);
		ck_assert_int_eq(ns, 12345); /* untouched on failure */
	}
	/* err may be NULL, and so may ns */
	ck_assert_int_eq(fmt_ts_parse("2026", 4, NULL, NULL), -FMT_ETS);
	ck_assert_int_eq(fmt_ts_parse("2026-11-23T07:09:24Z", 20, NULL, NULL), 0);
}
END_TEST

START_TEST(fractions_of_zero_to_nine_digits_scale_to_nanoseconds)
{
	static const char digits[] = "123456789";
	const int64_t base = 1795417764 * NS;
	char in[40];

	ck_assert_int_eq(ok("2026-11-23T07:09:24Z"), base);
	for (int n = 1; n <= 9; n++) {
		int64_t frac = 0;

		snprintf(in, sizeof(in), "2026-11-23T07:09:24.%.*sZ", n, digits);
		for (int k = 0; k < 9; k++)
			frac = frac * 10 + (k < n ? digits[k] - '0' : 0);
		ck_assert_int_eq(ok(in), base + frac);
	}
	ck_assert_int_eq(ok("2026-11-23T07:09:24.000000001Z"), base + 1);
	ck_assert_int_eq(ok("2026-11-23T07:09:24.9z"), base + 900000000);
}
END_TEST

START_TEST(offsets_and_case)
{
	const int64_t base = 1795417764 * NS;

	ck_assert_int_eq(ok("2026-11-23t07:09:24z"), base);
	ck_assert_int_eq(ok("2026-11-23T08:09:24+01:00"), base);
	ck_assert_int_eq(ok("2026-11-23T02:39:24-04:30"), base);
	ck_assert_int_eq(ok("2026-11-23T07:09:24-00:00"), base);
	ck_assert_int_eq(ok("2026-11-24T07:08:24+23:59"), base);
	ck_assert_int_eq(ok("2026-11-22T07:10:24-23:59"), base);
	/* the leap second is the next second, even across a year */
	ck_assert_int_eq(ok("2016-12-31T23:59:60Z"), ok("2017-01-01T00:00:00Z"));
	ck_assert_int_eq(ok("2016-12-31T23:59:60.5Z"), ok("2017-01-01T00:00:00.5Z"));
	/* only len bytes are the timestamp */
	ck_assert_int_eq(fmt_ts_parse("2026-11-23T07:09:24Zjunk", 20, NULL, NULL), 0);
}
END_TEST

START_TEST(the_edges_of_int64)
{
	ck_assert_int_eq(ok("1677-09-21T00:12:43.145224192Z"), INT64_MIN);
	ck_assert_int_eq(ok("2262-04-11T23:47:16.854775807Z"), INT64_MAX);
	ck_assert_int_eq(ok("1677-09-21T01:12:43.145224192+01:00"), INT64_MIN);
	ck_assert_int_eq(ok("1970-01-01T00:00:00Z"), 0);
	ck_assert_int_eq(ok("1969-12-31T23:59:59.999999999Z"), -1);
}
END_TEST

/* Every day the int64 range holds, against a calendar counted by hand. */
START_TEST(every_day_from_1678_to_2261_matches_a_naive_calendar)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int64_t day = 0;
	int y = 1970, m = 1, d = 1;
	char in[64], out[FMT_TS_MAX];

	/* walk back to 1678-01-01 */
	while (y > 1678 || m > 1 || d > 1) {
		if (--d == 0) {
			if (--m == 0) {
				m = 12;
				y--;
			}
			d = mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
		}
		day--;
	}
	for (; y < 2262; day++) {
		int dim = mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));

		snprintf(in, sizeof(in), "%04d-%02d-%02dT12:34:56Z", y, m, d);
		ck_assert_int_eq(ok(in), (day * 86400 + 45296) * NS);
		ck_assert_uint_eq(fmt_ts_format((day * 86400 + 45296) * NS, -1, out), 20);
		ck_assert_str_eq(out, in);
		if (++d > dim) {
			d = 1;
			if (++m > 12) {
				m = 1;
				y++;
			}
		}
	}
	ck_assert_int_eq(day, 106651); /* 2262-01-01 */
}
END_TEST

START_TEST(format_writes_the_digits_asked_for)
{
	char out[FMT_TS_MAX];
	const int64_t t = 1795417764 * NS;

	ck_assert_uint_eq(fmt_ts_format(t, -1, out), 20);
	ck_assert_str_eq(out, "2026-11-23T07:09:24Z");
	ck_assert_uint_eq(fmt_ts_format(t + 120000000, -1, out), 24);
	ck_assert_str_eq(out, "2026-11-23T07:09:24.120Z");
	ck_assert_uint_eq(fmt_ts_format(t + 123400, -1, out), 30);
	ck_assert_str_eq(out, "2026-11-23T07:09:24.000123400Z");
	fmt_ts_format(t + 123000, -1, out);
	ck_assert_str_eq(out, "2026-11-23T07:09:24.000123Z");
	fmt_ts_format(t + 999999999, 0, out);
	ck_assert_str_eq(out, "2026-11-23T07:09:24Z");
	fmt_ts_format(t + 999999999, 1, out);
	ck_assert_str_eq(out, "2026-11-23T07:09:24.9Z");
	fmt_ts_format(t + 5, 9, out);
	ck_assert_str_eq(out, "2026-11-23T07:09:24.000000005Z");
	/* out of range digits: above 9 is 9, below 0 is "fewest exact" */
	fmt_ts_format(t + 5, 12, out);
	ck_assert_str_eq(out, "2026-11-23T07:09:24.000000005Z");
	fmt_ts_format(t + 500000000, -7, out);
	ck_assert_str_eq(out, "2026-11-23T07:09:24.500Z");
	/* negative instants round towards the past */
	fmt_ts_format(-1, -1, out);
	ck_assert_str_eq(out, "1969-12-31T23:59:59.999999999Z");
	fmt_ts_format(-1, 3, out);
	ck_assert_str_eq(out, "1969-12-31T23:59:59.999Z");
	ck_assert_uint_eq(fmt_ts_format(INT64_MIN, -1, out), FMT_TS_MAX - 2);
	ck_assert_str_eq(out, "1677-09-21T00:12:43.145224192Z");
	fmt_ts_format(INT64_MAX, -1, out);
	ck_assert_str_eq(out, "2262-04-11T23:47:16.854775807Z");
}
END_TEST

START_TEST(format_then_parse_gives_back_the_instant)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	char out[FMT_TS_MAX];

	for (int i = 0; i < 200000; i++) {
		int64_t ns, back = 0, cut;
		int digits = i % 11 - 1; /* -1 .. 9 */
		size_t n;

		/* xorshift: instants all over the range, and a few at the edges */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		ns = (int64_t)x;
		if (i % 97 == 0)
			ns = INT64_MIN + (int64_t)(x % 1000);
		if (i % 89 == 0)
			ns = INT64_MAX - (int64_t)(x % 1000);
		n = fmt_ts_format(ns, digits, out);
		ck_assert_uint_eq(n, strlen(out));
		ck_assert_uint_lt(n, FMT_TS_MAX);
		if (fmt_ts_parse(out, n, &back, NULL) < 0) {
			/* cutting digits can step below INT64_MIN */
			ck_assert(ns - INT64_MIN < NS);
			continue;
		}
		if (digits < 0) {
			ck_assert_int_eq(back, ns);
			continue;
		}
		cut = 1;
		for (int k = digits; k < 9; k++)
			cut *= 10;
		/* the fraction is cut, towards the past */
		ck_assert_int_le(back, ns);
		ck_assert_int_lt(ns - back, cut);
		ck_assert_int_eq(((back % cut) + cut) % cut, 0);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ts");
	TCase *tc = tcase_create("ts");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, errors_name_the_field_and_point_at_it);
	tcase_add_test(tc, fractions_of_zero_to_nine_digits_scale_to_nanoseconds);
	tcase_add_test(tc, offsets_and_case);
	tcase_add_test(tc, the_edges_of_int64);
	tcase_add_test(tc, every_day_from_1678_to_2261_matches_a_naive_calendar);
	tcase_add_test(tc, format_writes_the_digits_asked_for);
	tcase_add_test(tc, format_then_parse_gives_back_the_instant);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
