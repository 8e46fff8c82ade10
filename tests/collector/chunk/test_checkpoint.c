/*
 * test_checkpoint.c - per-input positions on disk (collector/chunk/checkpoint.c),
 * and the checkpoint fed by the ack tracker as the pipeline will feed it.
 */
#include <check.h>
#include <errno.h>

#include "chunk/ack.h"
#include "chunk/checkpoint.h"
#include <store/crc32c.h>
#include <store/hooks.h>
#include "helpers.h"
#include "cd_limits.h"
#include <store/err.h>

static char dir[4096];
static char path[4200];

static void setup(void)
{
	th_tmpdir(dir, sizeof(dir), NULL, "clew-chunk");
	snprintf(path, sizeof(path), "%s/checkpoint", dir);
}

static void teardown(void)
{
	chunk__write_budget = -1;
	chunk__alloc_fail_at = 0;
	th_remove_tree(dir);
}

static struct checkpoint *open_cp(void)
{
	struct checkpoint *cp = NULL;
	struct cd_err err = {0};

	ck_assert_msg(checkpoint_open(&cp, path, &err) == 0, "checkpoint_open: %s", err.msg);
	return cp;
}

static void set(struct checkpoint *cp, const char *name, uint64_t dev, uint64_t ino, uint64_t off)
{
	struct checkpoint_pos p = {.dev = dev, .ino = ino, .offset = off};

	ck_assert_int_eq(checkpoint_set(cp, name, &p), 0);
}

static uint64_t offset_of(struct checkpoint *cp, const char *name)
{
	struct checkpoint_pos p;

	ck_assert_int_eq(checkpoint_get(cp, name, &p), 0);
	return p.offset;
}

START_TEST(a_missing_file_is_an_empty_checkpoint)
{
	struct checkpoint *cp = open_cp();
	struct checkpoint_pos p;

	ck_assert_uint_eq(checkpoint_count(cp), 0);
	ck_assert_int_eq(checkpoint_get(cp, "/var/log/a.log", &p), -CD_ENOENT);
	checkpoint_free(cp);
}
END_TEST

START_TEST(saved_positions_load_back_after_a_restart)
{
	struct checkpoint *cp = open_cp();
	struct checkpoint_pos p;

	set(cp, "/var/log/app/b.log", 2049, 1234567, 1ull << 40);
	set(cp, "/var/log/app/a.log", 2049, 99, 4096);
	set(cp, "stdin", 0, 0, 17);
	ck_assert_int_eq(checkpoint_save(cp, NULL), 0);
	checkpoint_free(cp);

	cp = open_cp();
	ck_assert_uint_eq(checkpoint_count(cp), 3);
	ck_assert_int_eq(checkpoint_get(cp, "/var/log/app/b.log", &p), 0);
	ck_assert_uint_eq(p.dev, 2049);
	ck_assert_uint_eq(p.ino, 1234567);
	ck_assert_uint_eq(p.offset, 1ull << 40);
	ck_assert_uint_eq(offset_of(cp, "/var/log/app/a.log"), 4096);
	ck_assert_uint_eq(offset_of(cp, "stdin"), 17);
	ck_assert_int_eq(count_files(dir, NULL), 1); /* no temp file left */
	checkpoint_free(cp);
}
END_TEST

/* The fingerprint round-trips; a version-1 file (no fingerprint) still loads, with none. */
START_TEST(fingerprints_round_trip_and_version_1_files_still_load)
{
	static const uint8_t v1[] = {'C', 'L', 'W', 'K', 1, 0, 0, 0, 1, 0, 0, 0, 5, 0, 's',
				     't', 'd', 'i', 'n', 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0,
				     0,	  0,   0,   0,	 0, 3, 0, 0, 0, 0, 0, 0, 0};
	struct checkpoint *cp = open_cp();
	struct checkpoint_pos p = {
		.dev = 1, .ino = 2, .offset = 3, .fp = 0x1122334455667788ull, .fp_len = 256};
	uint8_t file[sizeof(v1) + 4];
	uint32_t crc;

	ck_assert_int_eq(checkpoint_set(cp, "/var/log/a.log", &p), 0);
	ck_assert_int_eq(checkpoint_save(cp, NULL), 0);
	checkpoint_free(cp);
	cp = open_cp();
	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(checkpoint_get(cp, "/var/log/a.log", &p), 0);
	ck_assert_uint_eq(p.fp, 0x1122334455667788ull);
	ck_assert_uint_eq(p.fp_len, 256);
	checkpoint_free(cp);

	memcpy(file, v1, sizeof(v1));
	crc = crc32c(0, v1, sizeof(v1));
	for (int i = 0; i < 4; i++)
		file[sizeof(v1) + i] = (uint8_t)(crc >> (8 * i));
	th_write_file(path, file, sizeof(file));
	cp = open_cp();
	ck_assert_int_eq(checkpoint_get(cp, "stdin", &p), 0);
	ck_assert_uint_eq(p.dev, 1);
	ck_assert_uint_eq(p.ino, 2);
	ck_assert_uint_eq(p.offset, 3);
	ck_assert_uint_eq(p.fp_len, 0);
	checkpoint_free(cp);
}
END_TEST

/* Files shorter than a header (the length is checked before any pointer into them is formed). */
START_TEST(files_shorter_than_a_header_are_reported)
{
	static const uint8_t bytes[16] = {'C', 'L', 'W', 'K', 2};

	for (size_t n = 0; n < sizeof(bytes); n++) {
		struct checkpoint *bad = NULL;
		struct cd_err err = {0};

		th_write_file(path, bytes, n);
		ck_assert_int_eq(checkpoint_open(&bad, path, &err), -CD_ECORRUPT);
		ck_assert_ptr_null(bad);
	}
}
END_TEST

START_TEST(set_overwrites_and_remove_forgets)
{
	struct checkpoint *cp = open_cp();
	struct checkpoint_pos p;

	set(cp, "x", 1, 2, 10);
	set(cp, "x", 1, 3, 0); /* rotated: a new file, from its start */
	ck_assert_uint_eq(checkpoint_count(cp), 1);
	ck_assert_int_eq(checkpoint_get(cp, "x", &p), 0);
	ck_assert_uint_eq(p.ino, 3);
	ck_assert_int_eq(checkpoint_remove(cp, "x"), 0);
	ck_assert_int_eq(checkpoint_remove(cp, "x"), -CD_ENOENT);
	ck_assert_uint_eq(checkpoint_count(cp), 0);
	checkpoint_free(cp);
}
END_TEST

START_TEST(bad_names_are_refused)
{
	struct checkpoint *cp = open_cp();
	struct checkpoint_pos p = {0};
	char *longname = malloc(CD_INPUT_NAME_MAX + 1);

	memset(longname, 'a', CD_INPUT_NAME_MAX);
	longname[CD_INPUT_NAME_MAX] = 0;
	ck_assert_int_eq(checkpoint_set(cp, "", &p), -CD_EINVAL);
	ck_assert_int_eq(checkpoint_set(cp, longname, &p), -CD_EINVAL);
	ck_assert_int_eq(checkpoint_set(cp, NULL, &p), -CD_EINVAL);
	ck_assert_uint_eq(checkpoint_count(cp), 0);
	free(longname);
	checkpoint_free(cp);
}
END_TEST

START_TEST(any_flipped_byte_or_truncation_is_reported_and_the_file_kept)
{
	struct checkpoint *cp = open_cp();
	struct cd_err err = {0};
	uint8_t *whole;
	size_t len;

	set(cp, "/var/log/a.log", 1, 2, 3);
	set(cp, "/var/log/b.log", 4, 5, 6);
	ck_assert_int_eq(checkpoint_save(cp, NULL), 0);
	checkpoint_free(cp);
	whole = (uint8_t *)th_slurp_must(path, &len);
	for (size_t at = 0; at < 2 * len; at++) {
		struct checkpoint *bad = NULL;
		size_t n = at < len ? len : at - len;
		uint8_t *copy = malloc(len);
		memcpy(copy, whole, len);
		if (at < len)
			copy[at] ^= 0x01;
		th_write_file(path, copy, n);
		ck_assert_msg(checkpoint_open(&bad, path, &err) == -CD_ECORRUPT, "damage %zu accepted", at);
		ck_assert_ptr_null(bad);
		ck_assert_int_eq(err.code, -CD_ECORRUPT);
		{
			size_t l2;
			uint8_t *still = (uint8_t *)th_slurp_must(path, &l2);
			ck_assert(l2 == n && memcmp(still, copy, n) == 0); /* left for the operator */
			free(still);
		}
		free(copy);
	}
	free(whole);
}
END_TEST

START_TEST(a_full_disk_keeps_the_old_file_and_leaves_no_temp)
{
	struct checkpoint *cp = open_cp();
	struct cd_err err = {0};
	uint8_t *before, *after;
	size_t lb, la;

	set(cp, "a", 1, 1, 100);
	ck_assert_int_eq(checkpoint_save(cp, NULL), 0);
	before = (uint8_t *)th_slurp_must(path, &lb);
	set(cp, "a", 1, 1, 200);
	set(cp, "b", 1, 2, 300);
	/* the new file: header 12 + two entries of 26 + a 1-byte name + CRC 4 */
	for (long long budget = 0; budget < 12 + 2 * 27 + 4; budget++) {
		chunk__write_budget = budget;
		ck_assert_int_eq(checkpoint_save(cp, &err), -CD_EFULL);
		ck_assert_int_eq(err.sys_errno, ENOSPC);
		ck_assert_int_eq(count_files(dir, NULL), 1);
		after = (uint8_t *)th_slurp_must(path, &la);
		ck_assert(la == lb && memcmp(after, before, lb) == 0);
		free(after);
	}
	chunk__write_budget = -1;
	ck_assert_int_eq(checkpoint_save(cp, NULL), 0);
	checkpoint_free(cp);
	cp = open_cp();
	ck_assert_uint_eq(offset_of(cp, "a"), 200);
	ck_assert_uint_eq(offset_of(cp, "b"), 300);
	checkpoint_free(cp);
	free(before);
}
END_TEST

START_TEST(open_set_and_save_survive_every_allocation_failure)
{
	struct checkpoint *cp = open_cp();

	set(cp, "one", 1, 1, 1);
	set(cp, "two", 2, 2, 2);
	ck_assert_int_eq(checkpoint_save(cp, NULL), 0);
	checkpoint_free(cp);
	for (unsigned long at = 1;; at++) {
		struct checkpoint_pos p = {.offset = 3};
		int rc;

		cp = NULL;
		chunk__alloc_calls = 0;
		chunk__alloc_fail_at = at;
		rc = checkpoint_open(&cp, path, NULL);
		if (rc < 0) {
			ck_assert_int_eq(rc, -CD_ENOMEM);
			ck_assert_ptr_null(cp);
			continue;
		}
		rc = checkpoint_set(cp, "three", &p);
		if (rc == 0)
			rc = checkpoint_save(cp, NULL);
		chunk__alloc_fail_at = 0;
		if (rc < 0)
			ck_assert_int_eq(rc, -CD_ENOMEM);
		ck_assert_uint_eq(offset_of(cp, "two"), 2);
		checkpoint_free(cp);
		if (rc == 0)
			break;
	}
	cp = open_cp();
	ck_assert_uint_eq(checkpoint_count(cp), 3);
	checkpoint_free(cp);
}
END_TEST

/* The pipeline's loop in small: chunks in flight, acks out of order, checkpoint after each. */
START_TEST(the_checkpoint_moves_only_as_far_as_every_output_acknowledged)
{
	struct ack_tracker *t;
	struct checkpoint *cp = open_cp();
	struct checkpoint_pos p;
	struct fmt_record r;
	static const struct {
		uint64_t seq;
		unsigned out;
		uint64_t want; /* committed offset after this ack; 0 = none yet */
	} acks[] = {
		{3, 0, 0},   {3, 1, 0},	  /* chunk 3 complete, but 1 and 2 are not */
		{1, 1, 0},   {1, 0, 100}, /* chunk 1 complete: prefix ends at 100 */
		{2, 0, 100}, {2, 1, 300}, /* chunk 2 complete: 2 and 3 together */
	};

	parse_pipe("t|s|-|-|k=v", &r);
	ck_assert_int_eq(ack_tracker_new(&t, 2), 0);
	for (uint64_t s = 1; s <= 3; s++) {
		struct chunk *c;
		ck_assert_int_eq(chunk_new(&c, s, 0), 0);
		ck_assert_int_eq(chunk_append(c, &r, NULL, 0, 100 * s), 0);
		ck_assert_int_eq(ack_track(t, c), 0);
		chunk_free(c);
	}
	for (size_t i = 0; i < sizeof(acks) / sizeof(acks[0]); i++) {
		uint64_t off;
		bool complete;
		ck_assert_int_eq(ack_done(t, acks[i].seq, acks[i].out, &complete), 0);
		if (complete && ack_position(t, 0, &off)) {
			struct checkpoint_pos np = {.dev = 8, .ino = 9, .offset = off};
			ck_assert_int_eq(checkpoint_set(cp, "/var/log/app.log", &np), 0);
			ck_assert_int_eq(checkpoint_save(cp, NULL), 0);
		}
		checkpoint_free(cp);
		cp = open_cp(); /* as if the collector restarted here */
		if (acks[i].want == 0)
			ck_assert_int_eq(checkpoint_get(cp, "/var/log/app.log", &p), -CD_ENOENT);
		else
			ck_assert_uint_eq(offset_of(cp, "/var/log/app.log"), acks[i].want);
	}
	ack_tracker_free(t);
	checkpoint_free(cp);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("checkpoint");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, a_missing_file_is_an_empty_checkpoint);
	tcase_add_test(tc, saved_positions_load_back_after_a_restart);
	tcase_add_test(tc, set_overwrites_and_remove_forgets);
	tcase_add_test(tc, fingerprints_round_trip_and_version_1_files_still_load);
	tcase_add_test(tc, files_shorter_than_a_header_are_reported);
	tcase_add_test(tc, bad_names_are_refused);
	tcase_add_test(tc, any_flipped_byte_or_truncation_is_reported_and_the_file_kept);
	tcase_add_test(tc, a_full_disk_keeps_the_old_file_and_leaves_no_temp);
	tcase_add_test(tc, open_set_and_save_survive_every_allocation_failure);
	tcase_add_test(tc, the_checkpoint_moves_only_as_far_as_every_output_acknowledged);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
