/*
 * test_deadletter.c - one output's dead-letter store (collector/chunk/deadletter.c):
 * what is committed is a chunk file the spool reads back whole, nothing is
 * written before the commit, the cap, a full disk and the absence of a store
 * are counted drops, a failed write keeps the records staged, reasons are
 * bounded.
 */
#include <check.h>

#include <store/hooks.h>
#include "chunk/deadletter.h"
#include "chunk/spool.h"
#include "helpers.h"
#include <store/err.h>

static char dir[4096];

static void setup(void)
{
	th_tmpdir(dir, sizeof(dir), NULL, "clew-deadletter");
}

static void teardown(void)
{
	chunk__write_budget = -1;
	th_remove_tree(dir);
}

/* Stage record "dl-@i" (a pipe line) for @reason. */
static void add(struct deadletter *dl, int i, const char *reason)
{
	struct cd_err err = {0, 0, ""};
	struct fmt_record r;
	char line[128];

	snprintf(line, sizeof(line), "2026-12-06T07:00:%02dZ WARN dl-%d:s|svc|GET|/p|a rejected record %d",
		 i % 60, i, i);
	parse_pipe(line, &r);
	ck_assert_int_eq(deadletter_add(dl, &r, NULL, reason, &err), 0);
}

/* The spool at @dir: its files, each loaded; returns the records, their trace IDs "dl-N" in @seen. */
static int read_back(int *seen, int max)
{
	struct spool_options opt;
	struct spool *sp;
	struct cd_err err = {0, 0, ""};
	int n = 0;

	spool_options_default(&opt, dir);
	ck_assert_int_eq(spool_open(&sp, &opt, &err), 0);
	for (size_t f = 0; f < spool_count(sp); f++) {
		struct chunk *c;
		struct chunk_iter it;
		struct fmt_record r;

		ck_assert_int_eq(spool_load(sp, spool_seq_at(sp, f), &c, &err), 0);
		chunk_iter_init(&it, c);
		while (chunk_iter_next(&it, &r, NULL) == 1) {
			int id = -1;

			ck_assert_int_eq(sscanf(r.trace.ptr, "dl-%d", &id), 1);
			ck_assert(id >= 0 && id < max);
			seen[id]++;
			n++;
		}
		chunk_free(c);
	}
	spool_free(sp);
	return n;
}

START_TEST(nothing_is_written_before_the_commit_and_everything_after_it)
{
	struct deadletter *dl;
	struct cd_err err = {0, 0, ""};
	int seen[8] = {0};

	ck_assert_int_eq(deadletter_open(&dl, dir, 1 << 20, &err), 0);
	ck_assert(deadletter_has_store(dl));
	for (int i = 0; i < 5; i++)
		add(dl, i, i == 4 ? "invalid_record" : "msg_size_too_large");
	ck_assert_uint_eq(deadletter_staged(dl), 5);
	ck_assert_int_eq(count_files(dir, ".spool"), 0);
	ck_assert_int_eq(deadletter_commit(dl, &err), 0);
	ck_assert_uint_eq(deadletter_staged(dl), 0);
	ck_assert_int_eq(count_files(dir, ".spool"), 1);
	ck_assert_uint_eq(deadletter_files(dl), 1);
	ck_assert_uint_gt(deadletter_bytes(dl), 0);
	ck_assert_uint_eq(deadletter_nreasons(dl), 2);
	ck_assert_str_eq(deadletter_reason_at(dl, 0)->name, "msg_size_too_large");
	ck_assert_uint_eq(deadletter_reason_at(dl, 0)->stored, 4);
	ck_assert_uint_eq(deadletter_reason_at(dl, 1)->stored, 1);
	/* a second commit with nothing staged writes nothing */
	ck_assert_int_eq(deadletter_commit(dl, &err), 0);
	ck_assert_int_eq(count_files(dir, ".spool"), 1);
	deadletter_free(dl);
	ck_assert_int_eq(read_back(seen, 8), 5);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(seen[i], 1);
}
END_TEST

START_TEST(a_reopened_store_numbers_new_files_past_the_old_ones)
{
	struct deadletter *dl;
	struct cd_err err = {0, 0, ""};
	int seen[8] = {0};

	for (int round = 0; round < 3; round++) {
		ck_assert_int_eq(deadletter_open(&dl, dir, 1 << 20, &err), 0);
		ck_assert_uint_eq(deadletter_files(dl), (size_t)round);
		add(dl, round, "msg_size_too_large");
		ck_assert_int_eq(deadletter_commit(dl, &err), 0);
		deadletter_free(dl);
	}
	ck_assert_int_eq(count_files(dir, ".spool"), 3);
	ck_assert_int_eq(read_back(seen, 8), 3);
}
END_TEST

START_TEST(past_the_cap_records_are_dropped_and_counted_as_full)
{
	struct deadletter *dl;
	struct cd_err err = {0, 0, ""};

	ck_assert_int_eq(deadletter_open(&dl, dir, 64, &err), 0); /* smaller than any chunk file */
	add(dl, 1, "msg_size_too_large");
	add(dl, 2, "msg_size_too_large");
	ck_assert_int_eq(deadletter_commit(dl, &err), 0);
	ck_assert_uint_eq(deadletter_staged(dl), 0);
	ck_assert_uint_eq(deadletter_full(dl), 2);
	ck_assert_uint_eq(deadletter_reason_at(dl, 0)->stored, 0);
	ck_assert_int_eq(count_files(dir, ".spool"), 0);
	deadletter_free(dl);
}
END_TEST

START_TEST(without_a_store_records_are_dropped_and_counted_by_reason)
{
	struct deadletter *dl;
	struct cd_err err = {0, 0, ""};

	ck_assert_int_eq(deadletter_open(&dl, NULL, 1 << 20, &err), 0);
	ck_assert(!deadletter_has_store(dl));
	add(dl, 1, "http_400");
	add(dl, 2, "http_400");
	ck_assert_uint_eq(deadletter_staged(dl), 0);
	ck_assert_int_eq(deadletter_commit(dl, &err), 0);
	ck_assert_uint_eq(deadletter_reason_at(dl, 0)->dropped, 2);
	ck_assert_uint_eq(deadletter_reason_at(dl, 0)->stored, 0);
	deadletter_free(dl);
	/* deadletter_max 0: the same */
	ck_assert_int_eq(deadletter_open(&dl, dir, 0, &err), 0);
	ck_assert(!deadletter_has_store(dl));
	deadletter_free(dl);
}
END_TEST

START_TEST(a_full_disk_drops_the_staged_records_and_counts_them_as_full)
{
	struct deadletter *dl;
	struct cd_err err = {0, 0, ""};

	ck_assert_int_eq(deadletter_open(&dl, dir, 1 << 20, &err), 0);
	add(dl, 1, "msg_size_too_large");
	chunk__write_budget = 10; /* ENOSPC after 10 bytes */
	ck_assert_int_eq(deadletter_commit(dl, &err), 0);
	ck_assert_uint_eq(deadletter_staged(dl), 0);
	ck_assert_uint_eq(deadletter_full(dl), 1);
	ck_assert_int_eq(count_files(dir, NULL), 1); /* corrupt/ alone: no temp file left */
	deadletter_free(dl);
}
END_TEST

START_TEST(a_failed_write_keeps_the_records_staged)
{
	struct deadletter *dl;
	struct cd_err err = {0, 0, ""};

	ck_assert_int_eq(deadletter_open(&dl, dir, 1 << 20, &err), 0);
	add(dl, 1, "msg_size_too_large");
	th_remove_tree(dir); /* the directory is gone: the write fails, not for room */
	ck_assert_int_lt(deadletter_commit(dl, &err), 0);
	ck_assert_uint_eq(deadletter_staged(dl), 1);
	ck_assert_uint_eq(deadletter_full(dl), 0);
	deadletter_free(dl);
	ck_assert_int_eq(mkdir(dir, 0700), 0); /* for the teardown */
}
END_TEST

START_TEST(reasons_past_the_bound_are_counted_as_other)
{
	struct deadletter *dl;
	struct cd_err err = {0, 0, ""};
	char reason[32];

	ck_assert_int_eq(deadletter_open(&dl, NULL, 0, &err), 0);
	for (int i = 0; i < DEADLETTER_REASONS_MAX + 4; i++) {
		snprintf(reason, sizeof(reason), "reason_%d", i);
		add(dl, i % 8, reason);
	}
	ck_assert_uint_eq(deadletter_nreasons(dl), DEADLETTER_REASONS_MAX);
	ck_assert_str_eq(deadletter_reason_at(dl, DEADLETTER_REASONS_MAX - 1)->name, "other");
	ck_assert_uint_eq(deadletter_reason_at(dl, DEADLETTER_REASONS_MAX - 1)->dropped, 5);
	deadletter_free(dl);
}
END_TEST

static Suite *deadletter_suite(void)
{
	Suite *s = suite_create("deadletter");
	TCase *tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, nothing_is_written_before_the_commit_and_everything_after_it);
	tcase_add_test(tc, a_reopened_store_numbers_new_files_past_the_old_ones);
	tcase_add_test(tc, past_the_cap_records_are_dropped_and_counted_as_full);
	tcase_add_test(tc, without_a_store_records_are_dropped_and_counted_by_reason);
	tcase_add_test(tc, a_full_disk_drops_the_staged_records_and_counts_them_as_full);
	tcase_add_test(tc, a_failed_write_keeps_the_records_staged);
	tcase_add_test(tc, reasons_past_the_bound_are_counted_as_other);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(deadletter_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
