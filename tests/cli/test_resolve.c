/*
 * test_resolve.c - cli/resolve.c: from an ID to the records of one transaction.
 *
 * Each test writes a few log lines into a directory of its own and asks
 * tg_resolve() for a transaction ID, a span ID (in one transaction, in
 * several, in none), a path T:S and an ID nobody has; and checks that an
 * unreadable input is an error that still returns what the others hold.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tg.h"

/*
 * Transaction T1: A calls B (service one), B calls C in service two,
 * whose records name only C (a pipe path starts afresh there), and C's
 * child D is a JSON record naming only C. T2 has a span called T1 and a
 * span S; T1 has S too, twice. Z is a span with no transaction.
 */
static const char one_log[] = "T1|one|GET|/|msg=transaction T1 starts\n"
			      "T1:A|one|GET|/a|msg=span A\n"
			      "T1:A:B|one|GET|/b|msg=span B calls two\n"
			      "  at a continuation line naming B\n"
			      "T1:A:S|one|GET|/s|msg=S in T1\n"
			      "T1:A:S|one|GET|/s|msg=S in T1 again\n"
			      "T2:T1|one|GET|/|msg=T1 as a span of T2\n"
			      "T2:S|one|GET|/|msg=S in T2\n";
static const char two_log[] =
	"{\"trace\":\"T1\",\"span\":\"C\",\"parent\":\"B\",\"message\":\"span C\"}\n"
	"{\"trace\":\"T1\",\"span\":\"D\",\"parent\":\"C\",\"message\":\"D names only C\"}\n"
	"{\"trace\":\"T3\",\"span\":\"X\",\"message\":\"X in T3\"}\n"
	"{\"trace\":\"T4\",\"span\":\"X\",\"message\":\"X in T4\"}\n"
	"{\"span\":\"Z\",\"message\":\"a span with no transaction\"}\n";

static char dir[64];

static void write_file(const char *name, const void *data, size_t n)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tg_resolve.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_file("one.log", one_log, sizeof(one_log) - 1);
	write_file("two.log", two_log, sizeof(two_log) - 1);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* A resolution of @id over the test directory, with the note (if any) in *note. */
struct run {
	struct tg_query q;
	struct tg_inputs ins;
	struct tg_recs recs;
	struct tg_resolution res;
	int rc;
	char *note;
	size_t note_len;
};

static void resolve(struct run *r, const char *id)
{
	struct tg_err err = {0};
	FILE *note;

	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(tg_query_parse(&r->q, id, &err), 0);
	ck_assert_int_eq(tg_inputs_add(&r->ins, dir, &err), 0);
	note = open_memstream(&r->note, &r->note_len);
	ck_assert_ptr_nonnull(note);
	r->rc = tg_resolve(&r->ins, &r->q, 2, note, &r->recs, &r->res);
	ck_assert_int_eq(fclose(note), 0);
}

static void release(struct run *r)
{
	tg_resolution_release(&r->res);
	tg_recs_free(&r->recs);
	tg_inputs_release(&r->ins);
	tg_query_release(&r->q);
	free(r->note);
}

/* How many of the records hold @what in their text. */
static size_t count_with(const struct tg_recs *recs, const char *what)
{
	size_t n = 0;

	for (size_t i = 0; i < recs->n; i++)
		n += strstr(recs->v[i].text, what) != NULL;
	return n;
}

static void assert_all_of_trace(const struct tg_recs *recs, const char *trace)
{
	for (size_t i = 0; i < recs->n; i++) {
		ck_assert_ptr_nonnull(recs->v[i].trace);
		ck_assert_str_eq(recs->v[i].trace, trace);
	}
}

START_TEST(a_transaction_id_keeps_its_records_only)
{
	struct run r;

	resolve(&r, "T1");
	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.res.trace, "T1");
	ck_assert_ptr_null(r.res.select);
	ck_assert_ptr_null(r.res.trace_own);
	/* 5 pipe records and 2 JSON ones; T2's span named T1 is left out. */
	ck_assert_uint_eq(r.recs.n, 7);
	assert_all_of_trace(&r.recs, "T1");
	ck_assert_uint_eq(count_with(&r.recs, "T1 as a span of T2"), 0);
	ck_assert_uint_eq(count_with(&r.recs, "continuation line naming B"), 1);
	ck_assert_uint_eq(r.note_len, 0);
	release(&r);
}
END_TEST

START_TEST(a_span_id_reads_its_whole_transaction)
{
	struct run r;

	resolve(&r, "C");
	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.res.trace, "T1");
	ck_assert_ptr_eq(r.res.trace, r.res.trace_own);
	ck_assert_str_eq(r.res.select, "C");
	ck_assert_uint_eq(r.res.ntraces, 1);
	/* The second scan: every record of T1, also those that do not name C. */
	ck_assert_uint_eq(r.recs.n, 7);
	assert_all_of_trace(&r.recs, "T1");
	ck_assert_uint_eq(count_with(&r.recs, "transaction T1 starts"), 1);
	ck_assert_uint_eq(r.note_len, 0);
	release(&r);
}
END_TEST

START_TEST(a_span_in_several_transactions_takes_the_commonest_and_says_so)
{
	struct run r;

	resolve(&r, "S"); /* two records in T1, one in T2 */
	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.res.trace, "T1");
	ck_assert_str_eq(r.res.select, "S");
	ck_assert_uint_eq(r.res.ntraces, 2);
	ck_assert_uint_eq(r.recs.n, 7);
	assert_all_of_trace(&r.recs, "T1");
	ck_assert_str_eq(r.note,
			 "tracegrep: span S occurs in 2 transactions; showing T1 (give T:S to choose)\n");
	release(&r);

	resolve(&r, "X"); /* one record each in T3 and T4: the smaller ID */
	ck_assert_str_eq(r.res.trace, "T3");
	ck_assert_uint_eq(r.res.ntraces, 2);
	ck_assert_uint_eq(r.recs.n, 1);
	ck_assert_uint_eq(count_with(&r.recs, "X in T3"), 1);
	ck_assert_ptr_nonnull(strstr(r.note, "showing T3"));
	release(&r);
}
END_TEST

START_TEST(a_span_with_no_transaction_is_its_own)
{
	struct run r;

	resolve(&r, "Z");
	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.res.trace, "Z");
	ck_assert_ptr_null(r.res.select);
	ck_assert_ptr_null(r.res.trace_own);
	ck_assert_uint_eq(r.recs.n, 1);
	ck_assert_ptr_null(r.recs.v[0].trace);
	release(&r);
}
END_TEST

START_TEST(a_path_reads_its_transaction_once_and_selects_the_last_span)
{
	struct run r;

	resolve(&r, "T1:A:S");
	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.res.trace, "T1");
	ck_assert_str_eq(r.res.select, "S");
	ck_assert_ptr_null(r.res.trace_own);
	ck_assert_uint_eq(r.recs.n, 7);
	assert_all_of_trace(&r.recs, "T1");
	ck_assert_uint_eq(r.note_len, 0);
	release(&r);

	resolve(&r, "T2:S"); /* the same span name, the other transaction */
	ck_assert_str_eq(r.res.trace, "T2");
	ck_assert_uint_eq(r.recs.n, 2);
	assert_all_of_trace(&r.recs, "T2");
	release(&r);
}
END_TEST

START_TEST(an_unknown_id_finds_nothing)
{
	struct run r;

	resolve(&r, "T9");
	ck_assert_int_eq(r.rc, 0);
	ck_assert_ptr_null(r.res.trace);
	ck_assert_ptr_null(r.res.select);
	ck_assert_uint_eq(r.recs.n, 0);
	release(&r);

	resolve(&r, "T"); /* a prefix of every ID is not an ID */
	ck_assert_uint_eq(r.recs.n, 0);
	release(&r);
}
END_TEST

START_TEST(an_unreadable_input_is_an_error_that_keeps_the_rest)
{
	static const unsigned char bad_gzip[] = {0x1f, 0x8b, 0x08, 0x00, 'n', 'o',
						 't',  ' ',  'g',  'z',	 'i', 'p'};
	struct run r;

	write_file("bad.log.gz", bad_gzip, sizeof(bad_gzip));
	resolve(&r, "T1");
	ck_assert_int_eq(r.rc, -TG_EIO);
	ck_assert_str_eq(r.res.trace, "T1");
	ck_assert_uint_eq(r.recs.n, 7);
	release(&r);

	resolve(&r, "C"); /* both scans meet the bad file */
	ck_assert_int_eq(r.rc, -TG_EIO);
	ck_assert_str_eq(r.res.trace, "T1");
	ck_assert_uint_eq(r.recs.n, 7);
	release(&r);
}
END_TEST

static Suite *resolve_suite(void)
{
	Suite *s = suite_create("tracegrep resolve");
	TCase *tc = tcase_create("resolve");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, a_transaction_id_keeps_its_records_only);
	tcase_add_test(tc, a_span_id_reads_its_whole_transaction);
	tcase_add_test(tc, a_span_in_several_transactions_takes_the_commonest_and_says_so);
	tcase_add_test(tc, a_span_with_no_transaction_is_its_own);
	tcase_add_test(tc, a_path_reads_its_transaction_once_and_selects_the_last_span);
	tcase_add_test(tc, an_unknown_id_finds_nothing);
	tcase_add_test(tc, an_unreadable_input_is_an_error_that_keeps_the_rest);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(resolve_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
