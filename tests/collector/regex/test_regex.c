/*
 * test_regex.c - the regex parser (parsers/src/regex.c) and its time
 * formats (parsers/src/timefmt.c), unit by unit.
 *
 * Every expected timestamp was computed outside this code (Python's
 * calendar.timegm) and is written here as a constant. Each parse runs
 * twice, JIT and interpreter, where the JIT is available, and the two
 * records must be the same views.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <check.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/str.h"
#include <parsers/regex.h>
#include <parsers/timefmt.h>

#define NS 1000000000LL

static struct fmt_record rec, rec2; /* large: not on the stack */

static struct parse_regex *compile(const char *pattern, const char *tf, unsigned flags)
{
	struct parse_regex *rx = NULL;
	struct cd_err err = {0, 0, ""};

	ck_assert_msg(parse_regex_new(&rx, pattern, tf, flags, &err) == 0, "%s: %s", pattern, err.msg);
	return rx;
}

static bool view_is(const struct fmt_str *v, const char *want)
{
	if (!want)
		return v->ptr == NULL;
	return v->ptr && v->len == strlen(want) && memcmp(v->ptr, want, v->len) == 0;
}

static void ck_view_is(const struct fmt_str *v, const char *want, const char *what)
{
	ck_assert_msg(view_is(v, want), "%s: got '%.*s', want '%s'", what, (int)v->len,
		      v->ptr ? v->ptr : "(absent)", want ? want : "(absent)");
}

#define ck_view(v, want) ck_view_is(&(v), (want), #v)

static bool same_view(const struct fmt_str *a, const struct fmt_str *b)
{
	return a->ptr == b->ptr && a->len == b->len && a->enc == b->enc;
}

/* The two records are the same views of the same line. */
static void ck_same_record(const struct fmt_record *a, const struct fmt_record *b)
{
	ck_assert_int_eq(a->has_ts, b->has_ts);
	ck_assert(a->ts_ns == b->ts_ns || !a->has_ts);
	ck_assert_uint_eq(a->level, b->level);
	ck_assert_uint_eq(a->flags, b->flags);
	ck_assert_uint_eq(a->nids, b->nids);
	ck_assert_uint_eq(a->nattrs, b->nattrs);
	ck_assert(same_view(&a->ts_text, &b->ts_text) && same_view(&a->level_text, &b->level_text));
	ck_assert(same_view(&a->trace, &b->trace) && same_view(&a->span, &b->span) &&
		  same_view(&a->parent, &b->parent));
	ck_assert(same_view(&a->service, &b->service) && same_view(&a->method, &b->method) &&
		  same_view(&a->path, &b->path) && same_view(&a->message, &b->message) &&
		  same_view(&a->cont, &b->cont));
	for (uint16_t i = 0; i < a->nids; i++)
		ck_assert(same_view(&a->ids[i], &b->ids[i]));
	for (uint16_t i = 0; i < a->nattrs; i++) {
		/* keys point into each compiled pattern's own name table */
		ck_assert(fmt_str_eq(&a->attrs[i].key, b->attrs[i].key.ptr, b->attrs[i].key.len));
		ck_assert(same_view(&a->attrs[i].val, &b->attrs[i].val));
		ck_assert_uint_eq(a->attrs[i].type, b->attrs[i].type);
	}
}

/* The parsers of the last parse2(): attribute keys point into their name tables. */
static struct parse_regex *jit, *interp;

/* Parse @line with @pattern/@tf, with JIT and without; both must agree. Return: the rc. */
static int parse2(const char *pattern, const char *tf, int64_t now, const char *line, struct fmt_err *err)
{
	struct fmt_err e2 = {0, NULL};
	int rc, rc2;

	parse_regex_free(jit);
	parse_regex_free(interp);
	jit = compile(pattern, tf, 0);
	interp = compile(pattern, tf, PARSE_REGEX_NO_JIT);

	ck_assert(!parse_regex_jit(interp));
	parse_regex_set_now(jit, now);
	parse_regex_set_now(interp, now);
	rc2 = parse_regex_line(interp, line, strlen(line), &rec2, &e2);
	rc = parse_regex_line(jit, line, strlen(line), &rec, err);
	ck_assert_int_eq(rc, rc2);
	if (rc == 0)
		ck_same_record(&rec, &rec2);
	else
		ck_assert_str_eq(err->what, e2.what);
	return rc;
}

static const struct fmt_attr *attr(const char *key)
{
	const struct fmt_attr *a = fmt_record_attr(&rec, key);

	ck_assert_msg(a != NULL, "no attribute %s", key);
	return a;
}

/* --- fields ------------------------------------------------------------------ */

START_TEST(every_field_group_fills_its_field)
{
	static const char pat[] = "^(?<time>\\S+) (?<level>\\w+) \\[(?<service>[^\\]]+)\\] "
				  "t=(?<trace>\\w+) s=(?<span>\\w+) p=(?<parent>\\w+) "
				  "(?<method>[A-Z]+) (?<path>\\S+) (?<message>.*)$";
	static const char line[] = "2026-11-23T07:09:24.123456Z WARN [orders] t=7f3a s=9a8b p=1b2c "
				   "GET /api/v1/orders/42 order fetched slowly";
	struct fmt_err err = {0, NULL};

	ck_assert_int_eq(parse2(pat, NULL, 0, line, &err), 0);
	ck_assert(rec.has_ts);
	ck_assert_int_eq(rec.ts_ns, 1795417764 * NS + 123456000);
	ck_view(rec.ts_text, "2026-11-23T07:09:24.123456Z");
	ck_assert_uint_eq(rec.level, FMT_LEVEL_WARN);
	ck_view(rec.level_text, "WARN");
	ck_view(rec.service, "orders");
	ck_view(rec.trace, "7f3a");
	ck_view(rec.span, "9a8b");
	ck_view(rec.parent, "1b2c");
	ck_view(rec.method, "GET");
	ck_view(rec.path, "/api/v1/orders/42");
	ck_view(rec.message, "order fetched slowly");
	/* the DESIGN.md path of a JSON line with trace, span and parent */
	ck_assert_uint_eq(rec.nids, 3);
	ck_view(rec.ids[0], "7f3a");
	ck_view(rec.ids[1], "1b2c");
	ck_view(rec.ids[2], "9a8b");
	ck_assert_uint_eq(rec.nattrs, 0);
	ck_assert_uint_eq(rec.flags, 0);
	ck_assert_uint_eq(rec.message.enc, FMT_ENC_RAW);
	/* views point into the line: no copies */
	ck_assert(rec.message.ptr >= line && rec.message.ptr < line + sizeof(line));
}
END_TEST

START_TEST(timestamp_is_an_alias_of_time)
{
	struct fmt_err err = {0, NULL};

	ck_assert_int_eq(parse2("^(?<timestamp>\\S+) (?<message>.*)", "epoch", 0, "1700000000 hi", &err), 0);
	ck_assert(rec.has_ts);
	ck_assert_int_eq(rec.ts_ns, 1700000000 * NS);
	ck_view(rec.message, "hi");
}
END_TEST

START_TEST(ids_path_gives_trace_span_and_parent)
{
	struct fmt_err err = {0, NULL};

	ck_assert_int_eq(parse2("^(?<ids>\\S+)\\|(?<message>.*)", NULL, 0, "R:S1:S2:S3|deep", &err), 0);
	ck_assert_uint_eq(rec.nids, 4);
	ck_view(rec.ids[0], "R");
	ck_view(rec.ids[3], "S3");
	ck_view(rec.trace, "R");
	ck_view(rec.span, "S3");
	ck_view(rec.parent, "S2");
	ck_view(rec.message, "deep");

	ck_assert_int_eq(parse2("^(?<ids>\\S+)\\|", NULL, 0, "R|x", &err), 0);
	ck_assert_uint_eq(rec.nids, 1);
	ck_view(rec.trace, "R");
	ck_view(rec.span, NULL);
	ck_view(rec.parent, NULL);

	/* an explicit group wins over the path */
	ck_assert_int_eq(parse2("^(?<ids>\\S+) (?<span>\\S+)", NULL, 0, "R:A:B mine", &err), 0);
	ck_view(rec.span, "mine");
	ck_view(rec.parent, "A");
	ck_view(rec.trace, "R");
}
END_TEST

START_TEST(ids_that_are_no_path_stay_an_attribute)
{
	static char deep[200];
	char *p = deep;
	struct fmt_err err = {0, NULL};

	ck_assert_int_eq(parse2("^(?<ids>\\S+)", NULL, 0, "A::B", &err), 0);
	ck_assert_uint_eq(rec.nids, 0);
	ck_view(rec.trace, NULL);
	ck_view(attr("ids")->val, "A::B");

	for (int i = 0; i <= FMT_IDS_MAX; i++)
		p += snprintf(p, sizeof(deep) - (size_t)(p - deep), "%s%d", i ? ":" : "", i);
	ck_assert_int_eq(parse2("^(?<ids>\\S+)", NULL, 0, deep, &err), 0);
	ck_assert_uint_eq(rec.nids, 0);
	ck_view(attr("ids")->val, deep);
}
END_TEST

START_TEST(trace_alone_is_a_path_of_one)
{
	struct fmt_err err = {0, NULL};

	ck_assert_int_eq(parse2("^(?<trace>\\w+) (?<span>\\w+)", NULL, 0, "abc abc", &err), 0);
	ck_assert_uint_eq(rec.nids, 1); /* span equal to the trace is not a level of its own */
	ck_view(rec.ids[0], "abc");
	ck_assert_int_eq(parse2("^(?<span>\\w+)", NULL, 0, "abc", &err), 0);
	ck_assert_uint_eq(rec.nids, 0);
	ck_view(rec.span, "abc");
}
END_TEST

START_TEST(other_groups_are_attributes_in_group_order_with_numbers_detected)
{
	static const char pat[] = "^(?<zeta>\\S+) (?<status>\\S+) (?<bytes>\\S+) (?<zip>\\S+) (?<ratio>\\S+) "
				  "(?<dot>\\S+) (?<neg>\\S+) (?<word>\\S+)(?<unset>X)?(?<empty>\\d*)$";
	struct fmt_err err = {0, NULL};

	ck_assert_int_eq(parse2(pat, NULL, 0, "z 200 -0 007 -1.5e3 1. 0.25 abc", &err), 0);
	ck_assert_uint_eq(rec.nattrs, 8);
	ck_view(rec.attrs[0].key, "zeta"); /* the pattern's order, not the name table's */
	ck_view(rec.attrs[1].key, "status");
	ck_assert_uint_eq(attr("zeta")->type, FMT_T_STRING);
	ck_assert_uint_eq(attr("status")->type, FMT_T_NUMBER);
	ck_view(attr("status")->val, "200");
	ck_assert_uint_eq(attr("bytes")->type, FMT_T_NUMBER); /* -0 is a JSON number */
	ck_assert_uint_eq(attr("zip")->type, FMT_T_STRING);   /* leading zero: not JSON */
	ck_assert_uint_eq(attr("ratio")->type, FMT_T_NUMBER);
	ck_assert_uint_eq(attr("dot")->type, FMT_T_STRING);
	ck_assert_uint_eq(attr("neg")->type, FMT_T_NUMBER);
	ck_assert_uint_eq(attr("word")->type, FMT_T_STRING);
	ck_assert_ptr_null(fmt_record_attr(&rec, "unset"));
	ck_assert_ptr_null(fmt_record_attr(&rec, "empty"));
	ck_view(rec.message, NULL);
}
END_TEST

START_TEST(unnamed_groups_and_unset_fields_set_nothing)
{
	struct fmt_err err = {0, NULL};

	ck_assert_int_eq(parse2("^(\\w+) (?:(?<level>[A-Z]+) )?(?<message>.*)", NULL, 0, "x hello", &err), 0);
	ck_assert_uint_eq(rec.nattrs, 0);
	ck_assert_uint_eq(rec.level, FMT_LEVEL_NONE);
	ck_view(rec.level_text, NULL);
	ck_view(rec.message, "hello");
	ck_assert(!rec.has_ts && !(rec.flags & FMT_F_TS_INVALID));
}
END_TEST

START_TEST(attributes_past_the_cap_are_flagged)
{
	static char pat[64 * 20], line[64 * 8];
	size_t pp = 0, lp = 0;
	struct fmt_err err = {0, NULL};

	for (int i = 0; i < FMT_ATTRS_MAX + 3; i++) {
		pp += (size_t)snprintf(pat + pp, sizeof(pat) - pp, "(?<a%d>\\d+) ", i);
		lp += (size_t)snprintf(line + lp, sizeof(line) - lp, "%d ", i);
	}
	ck_assert_int_eq(parse2(pat, NULL, 0, line, &err), 0);
	ck_assert_uint_eq(rec.nattrs, FMT_ATTRS_MAX);
	ck_assert(rec.flags & FMT_F_ATTRS_TRUNCATED);
	ck_view(rec.attrs[FMT_ATTRS_MAX - 1].key, "a63");
}
END_TEST

START_TEST(level_names_map_and_others_keep_their_text)
{
	struct fmt_err err = {0, NULL};

	ck_assert_int_eq(parse2("^(?<level>\\S+)", NULL, 0, "error", &err), 0);
	ck_assert_uint_eq(rec.level, FMT_LEVEL_ERROR);
	ck_assert_int_eq(parse2("^\\[(?<level>[^\\]]+)\\]", NULL, 0, "[Level 1]", &err), 0);
	ck_assert_uint_eq(rec.level, FMT_LEVEL_OTHER);
	ck_view(rec.level_text, "Level 1");
}
END_TEST

START_TEST(a_line_the_regex_does_not_match_fails_with_the_record_cleared)
{
	struct fmt_err err = {0, NULL};

	ck_assert_int_eq(parse2("^(?<level>[A-Z]+) (?<message>.*)", NULL, 0, "lower case line", &err),
			 -FMT_EPARSE);
	ck_assert_str_eq(err.what, "line does not match the regex");
	ck_assert_uint_eq(err.offset, 0);
	ck_assert_uint_eq(rec.nattrs, 0);
	ck_view(rec.message, NULL);
	ck_view(rec.level_text, NULL);
}
END_TEST

START_TEST(lines_after_the_first_are_the_continuation)
{
	static const char text[] = "2026-11-23 ERROR boom\r\n\tat a.b(C.java:1)\n\tat d.e(F.java:2)";
	struct fmt_err err = {0, NULL};

	/* $ must see the end of the first line, without its '\r' */
	ck_assert_int_eq(parse2("^(?<day>\\S+) (?<level>\\w+) (?<message>.*)$", NULL, 0, text, &err), 0);
	ck_view(rec.message, "boom");
	ck_view(rec.cont, "\tat a.b(C.java:1)\n\tat d.e(F.java:2)");
	ck_assert(rec.flags & FMT_F_CONT);

	/* only blank lines after: no continuation */
	ck_assert_int_eq(parse2("^(?<message>.*)$", NULL, 0, "one\n  \n", &err), 0);
	ck_view(rec.message, "one");
	ck_view(rec.cont, NULL);
	ck_assert(!(rec.flags & FMT_F_CONT));
}
END_TEST

START_TEST(an_invalid_time_is_flagged_and_kept_as_text)
{
	struct fmt_err err = {0, NULL};

	ck_assert_int_eq(parse2("^(?<time>\\S+) (?<message>.*)", "%Y-%m-%d", 0, "2026-02-30 hi", &err), 0);
	ck_assert(!rec.has_ts);
	ck_assert(rec.flags & FMT_F_TS_INVALID);
	ck_view(rec.ts_text, "2026-02-30");
	ck_view(rec.message, "hi");
}
END_TEST

START_TEST(compile_errors_give_pcre2s_message_and_offset)
{
	struct parse_regex *rx = NULL;
	struct cd_err err = {0, 0, ""};

	ck_assert_int_eq(parse_regex_new(&rx, "^(?<time>\\S+", NULL, 0, &err), -CD_EINVAL);
	ck_assert_ptr_null(rx);
	ck_assert_str_eq(err.msg, "regex: missing closing parenthesis at offset 12");
	ck_assert_int_eq(parse_regex_new(&rx, "a[b", NULL, 0, &err), -CD_EINVAL);
	ck_assert_str_eq(err.msg, "regex: missing terminating ] for character class at offset 3");
	/* a time format is checked only where a time group uses it */
	ck_assert_int_eq(parse_regex_new(&rx, "(?<time>x)", "%Y-%q", 0, &err), -CD_EINVAL);
	ck_assert_str_eq(err.msg, "time format: unknown directive %q at offset 3");
	ck_assert_int_eq(parse_regex_new(&rx, "(?<message>x)", "%Y-%q", 0, &err), 0);
	parse_regex_free(rx);
	parse_regex_free(NULL);
}
END_TEST

START_TEST(time_format_errors_name_the_directive)
{
	struct parse_timefmt tf;
	struct cd_err err = {0, 0, ""};

	ck_assert_int_eq(parse_timefmt_init(&tf, "%Y-%m-%", &err), -CD_EINVAL);
	ck_assert_str_eq(err.msg, "time format: '%' at the end (offset 6)");
	ck_assert_int_eq(parse_timefmt_init(&tf, "%Y %Q", &err), -CD_EINVAL);
	ck_assert_str_eq(err.msg, "time format: unknown directive %Q at offset 3");
	ck_assert_int_eq(parse_timefmt_init(&tf, "%a %p", &err), -CD_EINVAL);
	ck_assert(strstr(err.msg, "no date or time directive"));
	ck_assert_int_eq(parse_timefmt_init(&tf, "epoch_ms", &err), 0);
	ck_assert_uint_eq(tf.kind, PARSE_TF_EPOCH_MS);
	ck_assert_int_eq(parse_timefmt_init(&tf, NULL, &err), 0);
	ck_assert_uint_eq(tf.kind, PARSE_TF_RFC3339);
}
END_TEST

START_TEST(a_catastrophic_pattern_stops_at_the_match_limit)
{
	static char line[64];
	struct fmt_err err = {0, NULL};

	memset(line, 'a', 40);
	line[40] = '!';
	/* nested quantifiers: 2^40 ways to split the a's before failing on '!' */
	ck_assert_int_eq(parse2("^(?<w>(a|aa)+)+$", NULL, 0, line, &err), -FMT_EPARSE);
	ck_assert_str_eq(err.what, "regex match limit reached");
}
END_TEST

START_TEST(a_utf_pattern_on_invalid_utf8_fails_cleanly)
{
	struct fmt_err err = {0, NULL};

	ck_assert_int_eq(parse2("(*UTF)^(?<message>\\w+)", NULL, 0, "ab\xC3\x28 cd", &err), -FMT_EUTF8);
	ck_assert_str_eq(err.what, "invalid UTF-8 for the regex");
	ck_assert_uint_eq(err.offset, 2);
	ck_assert_int_eq(parse2("(*UTF)^(?<message>\\S+)", NULL, 0, "\xC3\xA9t\xC3\xA9 x", &err), 0);
	ck_view(rec.message, "\xC3\xA9t\xC3\xA9");
	/* without (*UTF) the bytes are bytes */
	ck_assert_int_eq(parse2("^(?<message>\\S+)", NULL, 0, "ab\xC3\x28 cd", &err), 0);
	ck_view(rec.message, "ab\xC3\x28");
}
END_TEST

START_TEST(matches_tests_a_line_anywhere)
{
	struct parse_regex *rx = compile("^\\d{4}-\\d\\d-\\d\\d ", NULL, 0);

	ck_assert(parse_regex_matches(rx, "2026-11-23 12:00 x", 18));
	ck_assert(!parse_regex_matches(rx, "\tat x.y(Z.java:1)", 17));
	ck_assert(!parse_regex_matches(rx, "2026-11-23", 10));
	ck_assert(!parse_regex_matches(rx, "", 0));
	parse_regex_free(rx);
}
END_TEST

START_TEST(jit_is_used_where_pcre2_has_it)
{
	struct parse_regex *rx = compile("^(?<message>.*)$", NULL, 0);
	uint32_t have = 0;

	/* the answer must be the library's: JIT when this PCRE2 was built with it */
	ck_assert_int_eq(pcre2_config(PCRE2_CONFIG_JIT, &have), 0);
	ck_assert_int_eq(parse_regex_jit(rx), have != 0);
	parse_regex_free(rx);
}
END_TEST

/* --- time formats ------------------------------------------------------------- */

struct ts_case {
	const char *fmt;  /* time format */
	const char *text; /* the time as written */
	int64_t now_s;	  /* "now" for year-less formats (0: not used) */
	bool ok;	  /* it reads */
	int64_t secs;	  /* expected seconds since the epoch */
	int32_t nsec;	  /* and nanoseconds */
};

static const struct ts_case ts_cases[] = {
	{"rfc3339", "2026-11-23T07:09:24.123456Z", 0, true, 1795417764, 123456000},
	{NULL, "2026-11-23T09:09:24+02:00", 0, true, 1795417764, 0},
	{"rfc3339", "2026-11-23 07:09:24", 0, false, 0, 0},
	{"%Y-%m-%d %H:%M:%S", "2026-11-23 07:09:24", 0, true, 1795417764, 0},
	{"%Y-%m-%d %H:%M:%S,%f", "2026-11-23 07:09:24,123", 0, true, 1795417764, 123000000},
	{"%Y-%m-%d %H:%M:%S.%f", "2026-11-23 07:09:24.1234567891", 0, true, 1795417764, 123456789},
	{"%Y-%m-%dT%H:%M:%S.%f%z", "2026-11-23T09:09:24.5+02:00", 0, true, 1795417764, 500000000},
	{"%Y-%m-%dT%H:%M:%S%z", "2026-11-23T01:39:24-0530", 0, true, 1795417764, 0},
	{"%Y-%m-%dT%H:%M:%S%z", "2026-11-23T05:09:24-02", 0, true, 1795417764, 0},
	{"%Y-%m-%dT%H:%M:%S%z", "2026-11-23T07:09:24Z", 0, true, 1795417764, 0},
	{"%Y-%m-%dT%H:%M:%S%z", "2026-11-23T07:09:24+2", 0, false, 0, 0},
	{"%F %T %Z", "2026-11-23 07:09:24 UTC", 0, true, 1795417764, 0},
	{"%F %T %Z", "2026-11-23 07:09:24 CET", 0, false, 0, 0},
	{"%d/%b/%Y:%H:%M:%S %z", "10/Oct/2000:13:55:36 -0700", 0, true, 971211336, 0},
	{"%d/%b/%Y:%H:%M:%S %z", "10/Foo/2000:13:55:36 -0700", 0, false, 0, 0},
	{"%a %b %d %H:%M:%S %Y", "Sun Dec 04 04:47:44 2005", 0, true, 1133671664, 0},
	{"%A, %B %e %Y %H:%M", "Sunday, december  4 2005 04:47", 0, true, 1133671620, 0},
	{"%y%m%d %H%M%S", "081109 203615", 0, true, 1226262975, 0},
	{"%Y-%m-%d %I:%M:%S %p", "2026-11-23 07:09:24 PM", 0, true, 1795460964, 0},
	{"%Y-%m-%d %I:%M:%S %p", "2026-11-23 12:09:24 AM", 0, true, 1795392564, 0},
	{"%Y-%m-%d %I:%M:%S %p", "2026-11-23 13:09:24 PM", 0, false, 0, 0},
	{"%s", "1700000000", 0, true, 1700000000, 0},
	{"%s.%f", "1700000000.25", 0, true, 1700000000, 250000000},
	{"%Y-%m-%d %H:%M:%S", "2016-12-31 23:59:60", 0, true, 1483228800, 0}, /* leap second: the next one */
	{"%Y-%m-%d %H:%M:%S", "2026-02-29 00:00:00", 0, false, 0, 0},
	{"%Y-%m-%d %H:%M:%S", "2026-13-01 00:00:00", 0, false, 0, 0},
	{"%Y-%m-%d %H:%M:%S", "2026-11-23 07:09:24x", 0, false, 0, 0},
	{"%Y-%m-%d %H:%M:%S", "2026-11-23", 0, false, 0, 0},
	{"%Y-%m-%d %H:%M:%S", "", 0, false, 0, 0},
	{"%Y-%m-%d %H:%M:%S", "9999-12-31 23:59:59", 0, false, 0, 0}, /* past 2262 */
	{"%Y %%%m", "2026 %11", 0, true, 1793491200, 0},
	/* year-less (syslog, Android): now's year, or the one before */
	{"%b %e %H:%M:%S", "Dec  4 04:47:44", 1134172800 /* 2005-12-10 */, true, 1133671664, 0},
	{"%b %d %H:%M:%S", "Dec 04 04:47:44", 1136160000 /* 2006-01-02 */, true, 1133671664, 0},
	{"%m-%d %H:%M:%S.%f", "03-17 16:13:38.811", 1496275200 /* 2017-06-01 */, true, 1489767218, 811000000},
	{"%b %d %H:%M:%S", "Feb 29 12:00:00", 1740787200 /* 2025-03-01 */, true, 1709208000, 0},
	{"%b %d %H:%M:%S", "Feb 29 12:00:00", 1803945600 /* 2027-03-01 */, false, 0, 0},
	{"%b %d %H:%M:%S", "Dec 04 04:47:44", 1132704000 /* 2005-11-23 */, true, 1102135664, 0}, /* 2004 */
	{"%b %d %H:%M:%S", "Nov 24 04:47:44", 1132704000 /* 2005-11-23 */, true, 1132807664,
	 0}, /* a day ahead */
	/* epoch variants */
	{"epoch", "1700000000", 0, true, 1700000000, 0},
	{"epoch", "1700000000.5", 0, true, 1700000000, 500000000},
	{"epoch", "-1.5", 0, true, -2, 500000000},
	{"epoch", "1700000000.", 0, false, 0, 0},
	{"epoch", "12a", 0, false, 0, 0},
	{"epoch", "", 0, false, 0, 0},
	{"epoch", "99999999999", 0, false, 0, 0}, /* past 2262 in ns */
	{"epoch_ms", "1700000000123", 0, true, 1700000000, 123000000},
	{"epoch_ms", "1700000000123.456", 0, true, 1700000000, 123456000},
	{"epoch_us", "1700000000123456", 0, true, 1700000000, 123456000},
	{"epoch_ns", "1700000000123456789", 0, true, 1700000000, 123456789},
	{"epoch_ns", "99999999999999999999", 0, false, 0, 0},
};

START_TEST(time_formats_read_what_they_say)
{
	const struct ts_case *c = &ts_cases[_i];
	struct parse_timefmt tf;
	struct cd_err err = {0, 0, ""};
	int64_t ns = 0;
	int rc;

	ck_assert_msg(parse_timefmt_init(&tf, c->fmt, &err) == 0, "%s: %s", c->fmt, err.msg);
	rc = parse_timefmt_parse(&tf, c->text, strlen(c->text), c->now_s * NS, &ns);
	ck_assert_msg((rc == 0) == c->ok, "'%s' as '%s': rc %d", c->text, c->fmt ? c->fmt : "(default)", rc);
	if (c->ok)
		ck_assert_msg(ns == c->secs * NS + c->nsec, "'%s' as '%s': %lld, want %lld", c->text,
			      c->fmt ? c->fmt : "(default)", (long long)ns,
			      (long long)(c->secs * NS + c->nsec));
}
END_TEST

START_TEST(a_regex_reads_its_time_group_with_its_format)
{
	const struct ts_case *c = &ts_cases[_i];
	char line[256];
	struct fmt_err err = {0, NULL};

	snprintf(line, sizeof(line), "<%s> tail", c->text);
	ck_assert_int_eq(parse2("^<(?<time>[^>]*)> (?<message>.*)$", c->fmt, c->now_s * NS, line, &err), 0);
	if (!*c->text) {
		ck_assert(!rec.has_ts && !(rec.flags & FMT_F_TS_INVALID)); /* an empty group sets nothing */
		return;
	}
	ck_assert_int_eq(rec.has_ts, c->ok);
	ck_assert_int_eq(!!(rec.flags & FMT_F_TS_INVALID), !c->ok);
	ck_view(rec.ts_text, c->text);
	if (c->ok)
		ck_assert_int_eq(rec.ts_ns, c->secs * NS + c->nsec);
}
END_TEST

static void teardown(void)
{
	parse_regex_free(jit);
	parse_regex_free(interp);
	jit = interp = NULL;
}

static Suite *regex_suite(void)
{
	Suite *s = suite_create("regex");
	TCase *tc = tcase_create("parser");
	TCase *tt = tcase_create("time");
	const int n = (int)(sizeof(ts_cases) / sizeof(ts_cases[0]));

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_checked_fixture(tt, NULL, teardown);

	tcase_add_test(tc, every_field_group_fills_its_field);
	tcase_add_test(tc, timestamp_is_an_alias_of_time);
	tcase_add_test(tc, ids_path_gives_trace_span_and_parent);
	tcase_add_test(tc, ids_that_are_no_path_stay_an_attribute);
	tcase_add_test(tc, trace_alone_is_a_path_of_one);
	tcase_add_test(tc, other_groups_are_attributes_in_group_order_with_numbers_detected);
	tcase_add_test(tc, unnamed_groups_and_unset_fields_set_nothing);
	tcase_add_test(tc, attributes_past_the_cap_are_flagged);
	tcase_add_test(tc, level_names_map_and_others_keep_their_text);
	tcase_add_test(tc, a_line_the_regex_does_not_match_fails_with_the_record_cleared);
	tcase_add_test(tc, lines_after_the_first_are_the_continuation);
	tcase_add_test(tc, an_invalid_time_is_flagged_and_kept_as_text);
	tcase_add_test(tc, compile_errors_give_pcre2s_message_and_offset);
	tcase_add_test(tc, time_format_errors_name_the_directive);
	tcase_add_test(tc, a_catastrophic_pattern_stops_at_the_match_limit);
	tcase_add_test(tc, a_utf_pattern_on_invalid_utf8_fails_cleanly);
	tcase_add_test(tc, matches_tests_a_line_anywhere);
	tcase_add_test(tc, jit_is_used_where_pcre2_has_it);
	suite_add_tcase(s, tc);
	tcase_add_loop_test(tt, time_formats_read_what_they_say, 0, n);
	tcase_add_loop_test(tt, a_regex_reads_its_time_group_with_its_format, 0, n);
	suite_add_tcase(s, tt);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(regex_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
