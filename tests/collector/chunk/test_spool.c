/*
 * test_spool.c - chunk files on disk (collector/chunk/spool.c, crc32c.c).
 *
 * Full disk is tested two ways: with the write budget of chunk/hooks.h
 * (every byte count at which a write can fail, in every build), and, when
 * the test runs as root and may mount, on a real 64 KiB tmpfs.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>

#include <store/crc32c.h>
#include <store/hooks.h>
#include "chunk/spool.h"
#include "helpers.h"
#include "cd_limits.h"
#include <store/err.h>

uint32_t crc32c__soft(uint32_t crc, const void *buf, size_t n);

static char dir[4096];

static void setup(void)
{
	th_tmpdir(dir, sizeof(dir), NULL, "clew-chunk");
}

static void teardown(void)
{
	chunk__write_budget = -1;
	chunk__alloc_fail_at = 0;
	umount2(dir, MNT_DETACH); /* the tmpfs test's, if it failed midway; EINVAL otherwise */
	th_remove_tree(dir);
}

/* Chunk @seq holding @n records "t<seq>-<i>" of input 1, ending at offset 1000*seq. */
static struct chunk *make_chunk(uint64_t seq, int n)
{
	struct chunk *c;
	char line[128];

	ck_assert_int_eq(chunk_new(&c, seq, (int64_t)seq * 7), 0);
	for (int i = 0; i < n; i++) {
		struct fmt_record r;
		snprintf(line, sizeof(line),
			 "2026-11-23T07:09:%02dZ INFO t%llu-%d:s|svc%d|GET|/p|i=%d|msg=record %d", i % 60,
			 (unsigned long long)seq, i, i % 3, i, i);
		parse_pipe(line, &r);
		ck_assert_int_eq(chunk_append(c, &r, NULL, 1, 1000 * seq), 0);
	}
	return c;
}

static void assert_same_chunk(const struct chunk *a, const struct chunk *b)
{
	struct chunk_iter ia, ib;
	struct fmt_record ra, rb;
	int64_t lo_a, hi_a, lo_b, hi_b;
	size_t la, lb;
	const uint8_t *da = chunk_data_ref(a, &la), *db = chunk_data_ref(b, &lb);

	ck_assert_uint_eq(chunk_seq(a), chunk_seq(b));
	ck_assert_int_eq(chunk_opened_ns(a), chunk_opened_ns(b));
	ck_assert_uint_eq(chunk_nrecords(a), chunk_nrecords(b));
	ck_assert_uint_eq(la, lb);
	ck_assert(la == 0 || memcmp(da, db, la) == 0);
	ck_assert_int_eq(chunk_ts_range(a, &lo_a, &hi_a), chunk_ts_range(b, &lo_b, &hi_b));
	ck_assert_int_eq(lo_a, lo_b);
	ck_assert_int_eq(hi_a, hi_b);
	ck_assert_uint_eq(chunk_ntraces(a), chunk_ntraces(b));
	for (uint32_t i = 0; i < chunk_ntraces(a); i++) {
		uint32_t x, y;
		const char *s = chunk_trace_ref(a, i, &x), *t = chunk_trace_ref(b, i, &y);
		ck_assert(x == y && memcmp(s, t, x) == 0);
	}
	ck_assert_uint_eq(chunk_nservices(a), chunk_nservices(b));
	ck_assert_uint_eq(chunk_nsources(a), chunk_nsources(b));
	for (uint32_t i = 0; i < chunk_nsources(a); i++) {
		ck_assert_uint_eq(chunk_source(a, i).input, chunk_source(b, i).input);
		ck_assert_uint_eq(chunk_source(a, i).end_offset, chunk_source(b, i).end_offset);
	}
	chunk_iter_init(&ia, a);
	chunk_iter_init(&ib, b);
	while (chunk_iter_next(&ia, &ra, NULL) == 1) {
		ck_assert_int_eq(chunk_iter_next(&ib, &rb, NULL), 1);
		assert_same_record("spooled", &ra, &rb);
	}
	ck_assert_int_eq(chunk_iter_next(&ib, &rb, NULL), 0);
}

static struct spool *open_spool(uint64_t limit)
{
	struct spool_options opt;
	struct spool *sp = NULL;
	struct cd_err err = {0};

	spool_options_default(&opt, dir);
	if (limit)
		opt.limit_bytes = limit;
	ck_assert_msg(spool_open(&sp, &opt, &err) == 0, "spool_open: %s", err.msg);
	return sp;
}

static void file_path(char *out, size_t cap, uint64_t seq)
{
	snprintf(out, cap, "%s/%016llx.spool", dir, (unsigned long long)seq);
}

START_TEST(crc32c_matches_the_rfc_3720_check_value_on_both_paths)
{
	ck_assert_uint_eq(crc32c(0, "123456789", 9), 0xE3069283u);
	ck_assert_uint_eq(crc32c__soft(0, "123456789", 9), 0xE3069283u);
	ck_assert_uint_eq(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
	{
		char big[1000];
		for (int i = 0; i < 1000; i++)
			big[i] = (char)(i * 7);
		ck_assert_uint_eq(crc32c(0, big, 1000), crc32c__soft(0, big, 1000));
	}
}
END_TEST

START_TEST(a_pushed_chunk_loads_back_with_its_records_index_and_positions)
{
	struct spool *sp = open_spool(0);
	struct chunk *c = make_chunk(9, 200), *back = NULL;
	struct cd_err err = {0};

	ck_assert_int_eq(spool_push(sp, c, &err), 0);
	ck_assert_uint_eq(spool_count(sp), 1);
	ck_assert_uint_gt(spool_bytes(sp), 0);
	ck_assert_int_eq(spool_load(sp, 9, &back, &err), 0);
	assert_same_chunk(c, back);
	chunk_free(back);
	chunk_free(c);
	spool_free(sp);
}
END_TEST

START_TEST(an_empty_chunk_round_trips_too)
{
	struct spool *sp = open_spool(0);
	struct chunk *c = make_chunk(1, 0), *back = NULL;

	ck_assert_int_eq(spool_push(sp, c, NULL), 0);
	ck_assert_int_eq(spool_load(sp, 1, &back, NULL), 0);
	assert_same_chunk(c, back);
	chunk_free(back);
	chunk_free(c);
	spool_free(sp);
}
END_TEST

START_TEST(a_reopened_spool_replays_its_chunks_in_sequence_order)
{
	static const uint64_t order[] = {30, 4, 17, 1000, 5, 0x1234567890ull};
	static const uint64_t sorted[] = {4, 5, 17, 30, 1000, 0x1234567890ull};
	struct spool *sp = open_spool(0);

	for (size_t i = 0; i < 6; i++) {
		struct chunk *c = make_chunk(order[i], 20);
		ck_assert_int_eq(spool_push(sp, c, NULL), 0);
		chunk_free(c);
	}
	spool_free(sp);

	sp = open_spool(0); /* a restart */
	ck_assert_uint_eq(spool_count(sp), 6);
	ck_assert_uint_eq(spool_corrupt_count(sp), 0);
	for (size_t i = 0; i < 6; i++) {
		struct chunk *back = NULL, *want = make_chunk(sorted[i], 20);
		ck_assert_uint_eq(spool_seq_at(sp, i), sorted[i]);
		ck_assert_int_eq(spool_load(sp, sorted[i], &back, NULL), 0);
		assert_same_chunk(want, back);
		chunk_free(want);
		chunk_free(back);
	}
	spool_free(sp);
}
END_TEST

START_TEST(pushing_a_sequence_number_twice_is_refused)
{
	struct spool *sp = open_spool(0);
	struct chunk *c = make_chunk(3, 2);

	ck_assert_int_eq(spool_push(sp, c, NULL), 0);
	ck_assert_int_eq(spool_push(sp, c, NULL), -CD_EINVAL);
	ck_assert_uint_eq(spool_count(sp), 1);
	chunk_free(c);
	spool_free(sp);
}
END_TEST

START_TEST(remove_deletes_the_file_and_its_bytes)
{
	struct spool *sp = open_spool(0);
	struct chunk *c = make_chunk(3, 2), *back = NULL;
	char path[4200];

	ck_assert_int_eq(spool_push(sp, c, NULL), 0);
	ck_assert_int_eq(spool_remove(sp, 3, NULL), 0);
	ck_assert_uint_eq(spool_count(sp), 0);
	ck_assert_uint_eq(spool_bytes(sp), 0);
	file_path(path, sizeof(path), 3);
	ck_assert_int_ne(access(path, F_OK), 0);
	ck_assert_int_eq(spool_remove(sp, 3, NULL), -CD_ENOENT);
	ck_assert_int_eq(spool_load(sp, 3, &back, NULL), -CD_ENOENT);
	chunk_free(c);
	spool_free(sp);
}
END_TEST

START_TEST(the_byte_limit_makes_push_say_full_and_write_nothing)
{
	struct spool *sp;
	struct chunk *c = make_chunk(1, 50);
	struct cd_err err = {0};
	uint64_t one;
	int pushed = 0, rc;

	sp = open_spool(0);
	ck_assert_int_eq(spool_push(sp, c, NULL), 0);
	one = spool_bytes(sp);
	spool_free(sp);
	th_remove_tree(dir);
	mkdir(dir, 0700);
	chunk_free(c);

	sp = open_spool(3 * one + one / 2);
	for (uint64_t seq = 1; seq <= 10; seq++) {
		c = make_chunk(seq, 50);
		rc = spool_push(sp, c, &err);
		chunk_free(c);
		if (rc < 0)
			break;
		pushed++;
	}
	ck_assert_int_eq(rc, -CD_EFULL);
	ck_assert_int_eq(err.code, -CD_EFULL);
	ck_assert_int_eq(pushed, 3);
	ck_assert_int_eq(count_files(dir, ".spool"), 3);
	ck_assert_int_eq(count_files(dir, NULL), 4); /* and corrupt/ */
	/* acknowledging one makes room again */
	ck_assert_int_eq(spool_remove(sp, 1, NULL), 0);
	c = make_chunk(4, 50);
	ck_assert_int_eq(spool_push(sp, c, NULL), 0);
	chunk_free(c);
	spool_free(sp);
}
END_TEST

START_TEST(a_full_disk_at_any_byte_leaves_no_partial_file)
{
	struct spool *sp = open_spool(0);
	struct chunk *c = make_chunk(5, 30), *old = make_chunk(4, 3);
	struct cd_err err = {0};
	uint64_t size;

	ck_assert_int_eq(spool_push(sp, old, NULL), 0);
	ck_assert_int_eq(spool_push(sp, c, NULL), 0);
	size = spool_bytes(sp);
	ck_assert_int_eq(spool_remove(sp, 5, NULL), 0);
	size -= spool_bytes(sp);
	for (long long budget = 0; budget < (long long)size; budget++) {
		chunk__write_budget = budget;
		memset(&err, 0, sizeof(err));
		ck_assert_int_eq(spool_push(sp, c, &err), -CD_EFULL);
		ck_assert_int_eq(err.sys_errno, ENOSPC);
		ck_assert_int_eq(count_files(dir, NULL), 2); /* the old chunk and corrupt/ only */
		ck_assert_uint_eq(spool_count(sp), 1);
	}
	chunk__write_budget = -1;
	ck_assert_int_eq(spool_push(sp, c, NULL), 0);
	ck_assert_uint_eq(spool_count(sp), 2);
	chunk_free(c);
	chunk_free(old);
	spool_free(sp);
}
END_TEST

START_TEST(on_a_real_full_tmpfs_push_says_full_and_leaves_no_file)
{
	struct spool *sp;
	struct chunk *c;
	struct cd_err err = {0};
	int rc = 0, pushed = 0;

	ck_assert_int_eq(mount("tmpfs", dir, "tmpfs", 0, "size=64k"), 0);
	sp = open_spool(0);
	/* incompressible-ish records: distinct numbers, so zstd cannot squeeze 64 KiB away */
	for (uint64_t seq = 1; seq < 100 && rc == 0; seq++) {
		char line[256];
		struct fmt_record r;
		ck_assert_int_eq(chunk_new(&c, seq, 0), 0);
		for (int i = 0; i < 200; i++) {
			snprintf(line, sizeof(line), "t%llx|s|-|-|a=%llx|b=%llx",
				 (unsigned long long)(seq * 2654435761u * (unsigned)(i + 1)),
				 (unsigned long long)((seq + 99) * 40503u * (unsigned)(i + 7) * 2654435761u),
				 (unsigned long long)(seq * (unsigned)i * 0x9E3779B97F4A7C15ull));
			parse_pipe(line, &r);
			ck_assert_int_eq(chunk_append(c, &r, NULL, 1, seq), 0);
		}
		rc = spool_push(sp, c, &err);
		chunk_free(c);
		if (rc == 0)
			pushed++;
	}
	ck_assert_int_eq(rc, -CD_EFULL);
	ck_assert_int_eq(err.sys_errno, ENOSPC);
	ck_assert_int_gt(pushed, 0);
	ck_assert_int_eq(count_files(dir, ".spool"), pushed);
	ck_assert_int_eq(count_files(dir, NULL), pushed + 1); /* no temp file left */
	spool_free(sp);
	sp = open_spool(0); /* and every file that made it is whole */
	ck_assert_uint_eq(spool_count(sp), (size_t)pushed);
	ck_assert_uint_eq(spool_corrupt_count(sp), 0);
	spool_free(sp);
	umount(dir);
}
END_TEST

/*
 * Reopen after damaging the file of chunk 2 (of 1..3) with @damage: a file
 * whose header no longer names chunk 2 is moved to corrupt/ at open; one
 * whose header does is listed and, at load, salvaged (the records before
 * the damage, each one of the originals) or, when none decodes, moved.
 * Either way it is counted once and corrupt/ holds it.
 */
static void assert_damage_is_quarantined(void (*damage)(uint8_t *buf, size_t *len, size_t arg), size_t arg)
{
	char path[4200], moved[4300];
	uint8_t *orig;
	size_t len;
	struct spool *sp;

	file_path(path, sizeof(path), 2);
	orig = (uint8_t *)th_slurp_must(path, &len);
	damage(orig, &len, arg);
	th_write_file(path, orig, len);
	free(orig);
	sp = open_spool(0);
	if (spool_count(sp) == 3) {
		struct chunk *back = NULL;
		int rc = spool_load(sp, 2, &back, NULL);

		ck_assert(rc == 0 || rc == -CD_ECORRUPT);
		if (rc == 0) {
			ck_assert_uint_ge(chunk_nrecords(back), 1);
			ck_assert_uint_le(chunk_nrecords(back), 4);
			chunk_free(back);
		}
		ck_assert_uint_eq(spool_count(sp), rc == 0 ? 3 : 2);
	} else {
		ck_assert_uint_eq(spool_count(sp), 2);
		ck_assert_uint_eq(spool_seq_at(sp, 1), 3);
	}
	ck_assert_uint_eq(spool_seq_at(sp, 0), 1);
	ck_assert_uint_eq(spool_corrupt_count(sp), 1);
	snprintf(moved, sizeof(moved), "%s/corrupt/%016llx.spool", dir, 2ull);
	ck_assert_int_eq(access(moved, F_OK), 0);
	spool_free(sp);
}

static void flip(uint8_t *buf, size_t *len, size_t at)
{
	(void)len;
	buf[at] ^= 0x20;
}

static void truncate_at(uint8_t *buf, size_t *len, size_t at)
{
	(void)buf;
	*len = at;
}

static void push_three(void)
{
	struct spool *sp = open_spool(0);

	for (uint64_t s = 1; s <= 3; s++) {
		struct chunk *c = make_chunk(s, 4);
		ck_assert_int_eq(spool_push(sp, c, NULL), 0);
		chunk_free(c);
	}
	spool_free(sp);
}

static size_t file_size(uint64_t seq)
{
	char path[4200];
	struct stat st;

	file_path(path, sizeof(path), seq);
	ck_assert_int_eq(stat(path, &st), 0);
	return (size_t)st.st_size;
}

START_TEST(flipping_any_byte_of_a_chunk_file_moves_it_to_corrupt)
{
	size_t size;

	push_three();
	size = file_size(2);
	for (size_t at = 0; at < size; at++) {
		char from[4300], to[4200];
		assert_damage_is_quarantined(flip, at);
		/* put it back, undamaged, for the next byte */
		snprintf(from, sizeof(from), "%s/corrupt/%016llx.spool", dir, 2ull);
		file_path(to, sizeof(to), 2);
		ck_assert_int_eq(rename(from, to), 0);
		{
			uint8_t *b;
			size_t l;
			b = (uint8_t *)th_slurp_must(to, &l);
			b[at] ^= 0x20;
			th_write_file(to, b, l);
			free(b);
		}
	}
}
END_TEST

START_TEST(truncating_a_chunk_file_at_every_length_moves_it_to_corrupt)
{
	size_t size;
	uint8_t *whole;
	char path[4200];

	push_three();
	size = file_size(2);
	file_path(path, sizeof(path), 2);
	whole = (uint8_t *)th_slurp_must(path, &size);
	for (size_t at = 0; at < size; at++) {
		char moved[4300];
		assert_damage_is_quarantined(truncate_at, at);
		snprintf(moved, sizeof(moved), "%s/corrupt/%016llx.spool", dir, 2ull);
		unlink(moved);
		th_write_file(path, whole, size);
	}
	free(whole);
}
END_TEST

START_TEST(a_file_with_a_valid_checksum_but_a_wrong_record_count_is_corrupt)
{
	struct spool *sp = open_spool(0);
	struct chunk *c = make_chunk(7, 5), *back = NULL;
	char path[4200];
	uint8_t *buf;
	size_t len;
	uint32_t crc;

	ck_assert_int_eq(spool_push(sp, c, NULL), 0);
	file_path(path, sizeof(path), 7);
	buf = (uint8_t *)th_slurp_must(path, &len);
	buf[24] = 6; /* record count 5 -> 6, checksum made right again */
	crc = crc32c(0, buf, len - 4);
	memcpy(buf + len - 4, &crc, 4);
	th_write_file(path, buf, len);
	/* the five records are salvaged, the sixth the header claims is counted lost */
	ck_assert_int_eq(spool_load(sp, 7, &back, NULL), 0);
	ck_assert_uint_eq(chunk_nrecords(back), 5);
	ck_assert_uint_eq(spool_count(sp), 1);
	ck_assert_uint_eq(spool_corrupt_count(sp), 1);
	ck_assert_uint_eq(spool_lost_count(sp), 1);
	chunk_free(back);
	free(buf);
	chunk_free(c);
	spool_free(sp);
}
END_TEST

struct corrupt_seen {
	unsigned calls;
	uint64_t recovered, lost;
	char file[4300], why[256];
};

static void on_corrupt(void *cookie, const char *file, const char *why, uint64_t recovered, uint64_t lost)
{
	struct corrupt_seen *cs = cookie;

	cs->calls++;
	cs->recovered = recovered;
	cs->lost = lost;
	snprintf(cs->file, sizeof(cs->file), "%s", file);
	snprintf(cs->why, sizeof(cs->why), "%s", why);
}

/* A chunk file damaged near its end gives back the records before the damage, and says so. */
START_TEST(a_corrupt_chunk_file_gives_back_its_records_before_the_damage_and_reports_it)
{
	enum { N = 6000 };
	struct corrupt_seen cs = {0};
	struct spool_options o;
	struct chunk *c = make_chunk(9, N), *back = NULL;
	struct spool *sp = open_spool(0);
	struct chunk_iter ia, ib;
	struct fmt_record ra, rb;
	char path[4200];
	uint8_t *buf;
	size_t len;
	int n = 0;

	ck_assert_int_eq(spool_push(sp, c, NULL), 0);
	spool_free(sp);
	file_path(path, sizeof(path), 9);
	buf = (uint8_t *)th_slurp_must(path, &len);
	for (size_t i = len - 40; i < len - 20; i++) /* the payload's last block */
		buf[i] ^= 0x5a;
	th_write_file(path, buf, len);
	free(buf);
	spool_options_default(&o, dir);
	o.no_fsync = true;
	o.on_corrupt = on_corrupt;
	o.cookie = &cs;
	ck_assert_int_eq(spool_open(&sp, &o, NULL), 0);
	ck_assert_uint_eq(spool_count(sp), 1); /* the header is whole: listed */
	ck_assert_uint_eq(cs.calls, 0);
	ck_assert_int_eq(spool_load(sp, 9, &back, NULL), 0);
	ck_assert_uint_eq(cs.calls, 1);
	ck_assert_ptr_nonnull(strstr(cs.file, "0000000000000009.spool"));
	ck_assert_str_eq(cs.why, "spool file: checksum mismatch");
	ck_assert_uint_gt(chunk_nrecords(back), 0);
	ck_assert_uint_lt(chunk_nrecords(back), N);
	ck_assert_uint_eq(cs.recovered, chunk_nrecords(back));
	ck_assert_uint_eq(cs.lost, N - chunk_nrecords(back));
	ck_assert_uint_eq(spool_lost_count(sp), cs.lost);
	ck_assert_uint_eq(chunk_nsources(back), 1); /* the positions from the metadata */
	chunk_iter_init(&ia, c);
	chunk_iter_init(&ib, back);
	while (chunk_iter_next(&ib, &rb, NULL) > 0) { /* each one of the originals, in order */
		ck_assert_int_eq(chunk_iter_next(&ia, &ra, NULL), 1);
		ck_assert(ra.trace.len == rb.trace.len &&
			  memcmp(ra.trace.ptr, rb.trace.ptr, ra.trace.len) == 0);
		n++;
	}
	ck_assert_int_eq(n, (int)chunk_nrecords(back));
	snprintf(path, sizeof(path), "%s/corrupt/%016llx.spool", dir, 9ull);
	ck_assert_int_eq(access(path, F_OK), 0);	/* a copy for the operator */
	ck_assert_int_eq(spool_remove(sp, 9, NULL), 0); /* delivered: the listed file goes */
	ck_assert_int_eq(access(path, F_OK), 0);
	chunk_free(back);
	chunk_free(c);
	spool_free(sp);
}
END_TEST

START_TEST(temp_files_of_a_crash_mid_write_are_deleted_on_open)
{
	char path[4200];
	struct spool *sp;

	push_three();
	snprintf(path, sizeof(path), "%s/.tmp-%016llx.spool", dir, 4ull);
	th_write_file(path, (const uint8_t *)"CLWS half a file", 16);
	sp = open_spool(0);
	ck_assert_uint_eq(spool_count(sp), 3);
	ck_assert_uint_eq(spool_corrupt_count(sp), 0);
	ck_assert_int_ne(access(path, F_OK), 0);
	spool_free(sp);
}
END_TEST

START_TEST(open_and_push_survive_every_allocation_failure)
{
	push_three();
	for (unsigned long at = 1;; at++) {
		struct spool_options opt;
		struct spool *sp = NULL;
		struct chunk *c = NULL;
		int rc;

		chunk__alloc_calls = 0;
		chunk__alloc_fail_at = at;
		spool_options_default(&opt, dir);
		rc = spool_open(&sp, &opt, NULL);
		if (rc < 0) {
			ck_assert_int_eq(rc, -CD_ENOMEM);
			ck_assert_ptr_null(sp);
			continue;
		}
		chunk__alloc_fail_at = 0;
		c = make_chunk(10, 3);
		chunk__alloc_calls = 0;
		chunk__alloc_fail_at = at;
		rc = spool_push(sp, c, NULL);
		if (rc == 0) {
			struct chunk *back = NULL;
			rc = spool_load(sp, 10, &back, NULL);
			if (rc == 0) {
				chunk__alloc_fail_at = 0;
				assert_same_chunk(c, back);
				chunk_free(back);
				chunk_free(c);
				spool_free(sp);
				break;
			}
			ck_assert_int_eq(rc, -CD_ENOMEM);
			ck_assert_int_eq(spool_remove(sp, 10, NULL), 0);
		} else {
			ck_assert_int_eq(rc, -CD_ENOMEM);
			ck_assert_int_eq(count_files(dir, ".spool"), 3);
		}
		chunk__alloc_fail_at = 0;
		chunk_free(c);
		spool_free(sp);
	}
	chunk__alloc_fail_at = 0;
	ck_assert_int_eq(count_files(dir, NULL), 5);
}
END_TEST

/* Whether this process may mount a tmpfs (root in a permissive namespace). */
static bool can_mount_tmpfs(void)
{
	char probe[] = "/tmp/clew-chunk-probe-XXXXXX";
	bool ok;

	if (!mkdtemp(probe))
		return false;
	ok = mount("tmpfs", probe, "tmpfs", 0, "size=64k") == 0;
	if (ok)
		umount(probe);
	rmdir(probe);
	return ok;
}

int main(void)
{
	Suite *s = suite_create("spool");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, crc32c_matches_the_rfc_3720_check_value_on_both_paths);
	tcase_add_test(tc, a_pushed_chunk_loads_back_with_its_records_index_and_positions);
	tcase_add_test(tc, an_empty_chunk_round_trips_too);
	tcase_add_test(tc, a_reopened_spool_replays_its_chunks_in_sequence_order);
	tcase_add_test(tc, pushing_a_sequence_number_twice_is_refused);
	tcase_add_test(tc, remove_deletes_the_file_and_its_bytes);
	tcase_add_test(tc, the_byte_limit_makes_push_say_full_and_write_nothing);
	tcase_add_test(tc, a_full_disk_at_any_byte_leaves_no_partial_file);
	if (can_mount_tmpfs())
		tcase_add_test(tc, on_a_real_full_tmpfs_push_says_full_and_leaves_no_file);
	else
		fprintf(stderr,
			"test_spool: cannot mount a tmpfs here; the full-disk test uses the write hook only\n");
	tcase_add_test(tc, flipping_any_byte_of_a_chunk_file_moves_it_to_corrupt);
	tcase_add_test(tc, truncating_a_chunk_file_at_every_length_moves_it_to_corrupt);
	tcase_add_test(tc, a_file_with_a_valid_checksum_but_a_wrong_record_count_is_corrupt);
	tcase_add_test(tc, a_corrupt_chunk_file_gives_back_its_records_before_the_damage_and_reports_it);
	tcase_add_test(tc, temp_files_of_a_crash_mid_write_are_deleted_on_open);
	tcase_add_test(tc, open_and_push_survive_every_allocation_failure);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
