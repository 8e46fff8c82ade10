/*
 * test_search.c - the prefilter's literal search, record extraction and the escapers.
 *
 * cli/search.c is checked against memmem() on random buffers (every needle
 * length, every position up to the last byte, both SIMD widths' tails);
 * cli/prefilter.c on hand-made buffers: continuation lines, mentions,
 * prefixes, region ownership and the streaming hand-over; cli/util.c's
 * terminal escaper on every control byte.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "tg.h"

static uint64_t rng = 12345;

static uint32_t rnd(uint32_t n)
{
	rng = rng * 6364136223846793005u + 1442695040888963407u;
	return (uint32_t)(rng >> 33) % n;
}

START_TEST(find_agrees_with_memmem_on_random_buffers)
{
	static const char alpha[] = "0123456789abcdef:|ab";
	char buf[600], needle[40];

	for (int round = 0; round < 20000; round++) {
		size_t n = rnd(sizeof(buf)), nl = 1 + rnd(sizeof(needle) - 1);
		struct tg_finder f;
		const char *want, *got;

		for (size_t i = 0; i < n; i++)
			buf[i] = alpha[rnd(sizeof(alpha) - 1 - (round & 1) * 14)];
		if (n >= nl && rnd(2)) {
			/* Plant it, often at the very end. */
			size_t at = rnd(3) ? n - nl : rnd((uint32_t)(n - nl + 1));

			for (size_t i = 0; i < nl; i++)
				needle[i] = alpha[rnd(sizeof(alpha) - 1)];
			memcpy(buf + at, needle, nl);
		} else {
			for (size_t i = 0; i < nl; i++)
				needle[i] = alpha[rnd(sizeof(alpha) - 1)];
		}
		tg_finder_init(&f, needle, nl);
		want = memmem(buf, n, needle, nl);
		got = tg_find(&f, buf, n);
		ck_assert_msg(got == want, "round %d: n=%zu needle=%.*s: got %td want %td", round, n, (int)nl,
			      needle, got ? got - buf : -1, want ? want - buf : -1);
	}
}
END_TEST

START_TEST(find_picks_two_distinct_positions)
{
	struct tg_finder f;

	tg_finder_init(&f, "aaaa", 4);
	ck_assert_uint_lt(f.i1, f.i2);
	tg_finder_init(&f, "7f3a9c1e55d04b2a", 16);
	ck_assert_uint_lt(f.i1, f.i2);
	ck_assert_uint_lt(f.i2, 16);
	tg_finder_init(&f, "x", 1);
	ck_assert_ptr_null(tg_find(&f, "abc", 3));
	ck_assert_ptr_nonnull(tg_find(&f, "abx", 3));
}
END_TEST

static struct tg_recs scan(const char *buf, const char *id, enum tg_want want)
{
	struct tg_scan s = {.want = want};
	struct tg_recs out = {0};

	tg_finder_init(&s.finder, id, strlen(id));
	tg_scan_region(&s, buf, strlen(buf), 0, strlen(buf), true, 0, 0, &out);
	return out;
}

static const char log_text[] = "T1:A|svc|GET|/x|msg=first\n"
			       "  at frame one\n"
			       "\tat frame two mentions T1\n"
			       "T2:B|svc|GET|/x|msg=about T1 and T1:A\n"
			       "T1x:A|svc|GET|/x|msg=prefix trace\n"
			       "{\"trace\":\"T1\",\"span\":\"C\",\"parent\":\"A\",\"message\":\"json\"}\n"
			       "Traceback (most recent call last):\n"
			       "T3:T1|svc|GET|/x|msg=T1 as a span of T3\n";

START_TEST(scan_keeps_whole_records_that_hold_the_id_as_an_element)
{
	struct tg_recs r = scan(log_text, "T1", TG_WANT_ELEMENT);

	ck_assert_uint_eq(r.n, 3);
	ck_assert_str_eq(r.v[0].text,
			 "T1:A|svc|GET|/x|msg=first\n  at frame one\n\tat frame two mentions T1");
	ck_assert_str_eq(r.v[1].text,
			 "{\"trace\":\"T1\",\"span\":\"C\",\"parent\":\"A\",\"message\":\"json\"}\n"
			 "Traceback (most recent call last):");
	ck_assert_str_eq(r.v[2].text, "T3:T1|svc|GET|/x|msg=T1 as a span of T3");
	ck_assert_uint_eq(r.v[1].off, strstr(log_text, "{\"trace\"") - log_text);
	tg_recs_free(&r);
	r = scan(log_text, "T1", TG_WANT_TRACE);
	ck_assert_uint_eq(r.n, 2);
	tg_recs_free(&r);
	r = scan(log_text, "A", TG_WANT_ELEMENT);
	ck_assert_uint_eq(r.n, 3); /* T1:A, T1x:A, and the JSON parent */
	tg_recs_free(&r);
	r = scan(log_text, "T", TG_WANT_ELEMENT);
	ck_assert_uint_eq(r.n, 0);
	tg_recs_free(&r);
}
END_TEST

START_TEST(regions_cut_at_line_starts_report_each_record_once)
{
	struct tg_scan s = {.want = TG_WANT_ELEMENT};
	size_t len = strlen(log_text), cut = (size_t)(strstr(log_text, "\tat frame") - log_text);
	struct tg_recs a = {0};

	tg_finder_init(&s.finder, "T1", 2);
	tg_scan_region(&s, log_text, len, 0, cut, true, 0, 0, &a);
	ck_assert_uint_eq(a.n, 1);
	/* The first record's continuation runs past the cut, and stays whole. */
	ck_assert_ptr_nonnull(strstr(a.v[0].text, "frame two"));
	tg_scan_region(&s, log_text, len, cut, len, true, 0, 0, &a);
	ck_assert_uint_eq(a.n, 3);
	tg_recs_free(&a);
}
END_TEST

START_TEST(a_stream_keeps_a_record_that_may_still_grow)
{
	struct tg_scan s = {.want = TG_WANT_ELEMENT};
	static const char part[] = "X|s|m|p|msg=no\nT1:A|s|m|p|msg=yes\n  at one\n";
	struct tg_recs a = {0};
	size_t keep;

	tg_finder_init(&s.finder, "T1", 2);
	keep = tg_scan_region(&s, part, strlen(part), 0, strlen(part), false, 0, 100, &a);
	ck_assert_uint_eq(a.n, 0);
	ck_assert_uint_eq(keep, strlen("X|s|m|p|msg=no\n"));
	keep = tg_scan_region(&s, part, strlen(part), 0, strlen(part), true, 0, 100, &a);
	ck_assert_uint_eq(a.n, 1);
	ck_assert_uint_eq(a.v[0].off, 100 + strlen("X|s|m|p|msg=no\n"));
	ck_assert_str_eq(a.v[0].text, "T1:A|s|m|p|msg=yes\n  at one");
	tg_recs_free(&a);
}
END_TEST

START_TEST(the_terminal_escaper_leaves_no_control_byte)
{
	struct tg_buf b = {0};
	char in[256];

	for (int i = 0; i < 256; i++)
		in[i] = (char)i;
	tg_buf_put_safe(&b, in, sizeof(in), false);
	for (size_t i = 0; i < b.len; i++)
		ck_assert_msg((unsigned char)b.data[i] >= 0x20 && (unsigned char)b.data[i] < 0x7f,
			      "byte %02x at %zu", (unsigned char)b.data[i], i);
	tg_buf_free(&b);
	tg_buf_put_safe(&b, "a\x1b[2Jb\xc2\x9b\xc3\xa9\t\xe2\x82", 13, true);
	ck_assert_uint_eq(b.len, strlen("a\\e[2Jb\\u009b\xc3\xa9\t\\xe2\\x82"));
	ck_assert(memcmp(b.data, "a\\e[2Jb\\u009b\xc3\xa9\t\\xe2\\x82", b.len) == 0);
	tg_buf_free(&b);
}
END_TEST

START_TEST(queries_split_paths_and_refuse_other_bytes)
{
	struct tg_query q;
	struct tg_err err = {0};

	ck_assert_int_eq(tg_query_parse(&q, "T:A:B", &err), 0);
	ck_assert_uint_eq(q.nelems, 3);
	ck_assert_str_eq(q.elems[2], "B");
	tg_query_release(&q);
	ck_assert_int_eq(tg_query_parse(&q, "T::B", &err), -TG_EINVAL);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(tg_query_parse(&q, "a b", &err), -TG_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "not an ID"));
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(tg_query_parse(&q, "", &err), -TG_EINVAL);
}
END_TEST

static Suite *search_suite(void)
{
	Suite *s = suite_create("tracegrep modules");
	TCase *tc = tcase_create("search");

	tcase_add_test(tc, find_agrees_with_memmem_on_random_buffers);
	tcase_add_test(tc, find_picks_two_distinct_positions);
	tcase_add_test(tc, scan_keeps_whole_records_that_hold_the_id_as_an_element);
	tcase_add_test(tc, regions_cut_at_line_starts_report_each_record_once);
	tcase_add_test(tc, a_stream_keeps_a_record_that_may_still_grow);
	tcase_add_test(tc, the_terminal_escaper_leaves_no_control_byte);
	tcase_add_test(tc, queries_split_paths_and_refuse_other_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(search_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
