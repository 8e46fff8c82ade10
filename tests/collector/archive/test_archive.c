/*
 * test_archive.c - the archive (store/src/archive*.c): appends and lookups,
 * index-driven opening, index rebuilds, corruption at every offset, torn
 * frames, kill -9 of a writer mid-append, retention.
 *
 * Every chunk's payload is derived from its seq (first 8 bytes = seq), so
 * a callback can check that what comes back is byte-for-byte what went in.
 * Chunk seq S holds traces "trace-S" and "shared-(S % 5)".
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "th_file.h"
#include "th_proc.h"

#include <store/archive.h>
#include "archive_int.h"
#include <store/limits.h>

static char dir[256];

static void setup(void)
{
	th_tmpdir(dir, sizeof(dir), "/tmp", "clew-arch");
}

static void teardown(void)
{
	th_remove_tree(dir);
}

static void reset_dir(void)
{
	teardown();
	ck_assert_int_eq(mkdir(dir, 0700), 0);
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static size_t payload_len(uint64_t seq)
{
	return 200 + (size_t)(mix(seq) % 1500);
}

/* Semi-compressible text derived from @seq. */
static void payload_fill(uint64_t seq, uint8_t *p, size_t len)
{
	uint64_t s = seq;

	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(seq >> (8 * i));
	for (size_t i = 8; i < len; i++) {
		if (i % 16 == 8)
			s = mix(s);
		p[i] = (uint8_t)("abcdefgh|=:0123 "[(s >> (4 * (i % 16))) & 15]);
	}
}

static int append_seq(arch *a, uint64_t seq, struct cd_err *err)
{
	uint8_t buf[2048];
	char t1[32], t2[32];
	struct arch_key tr[2], svc[2] = {{"orders", 6}, {"billing", 7}};
	struct arch_chunk_meta m = {0};
	size_t len = payload_len(seq);

	payload_fill(seq, buf, len);
	snprintf(t1, sizeof(t1), "trace-%" PRIu64, seq);
	snprintf(t2, sizeof(t2), "shared-%" PRIu64, seq % 5);
	tr[0] = (struct arch_key){t1, (uint32_t)strlen(t1)};
	tr[1] = (struct arch_key){t2, (uint32_t)strlen(t2)};
	m.seq = seq;
	m.min_ts_ns = (int64_t)seq * 1000;
	m.max_ts_ns = (int64_t)seq * 1000 + 999;
	m.nrecords = 10;
	m.traces = tr;
	m.ntraces = 2;
	m.services = svc;
	m.nservices = seq % 2 ? 2 : 1;
	return arch_append(a, buf, len, &m, err);
}

/* What a walk returned: seqs in order, payloads checked. */
struct got {
	uint64_t seq[4096];
	size_t n;
	size_t bad; /* payloads that differ from what was appended */
};

static int collect(void *cookie, const void *payload, size_t len, const struct arch_chunk_meta *m)
{
	struct got *g = cookie;
	uint8_t want[2048];

	if (len != payload_len(m->seq) || m->min_ts_ns != (int64_t)m->seq * 1000 || m->nrecords != 10) {
		g->bad++;
	} else {
		payload_fill(m->seq, want, len);
		if (memcmp(want, payload, len) != 0)
			g->bad++;
	}
	if (g->n < 4096)
		g->seq[g->n++] = m->seq;
	return 0;
}

static size_t find_trace(arch *a, const char *trace, struct got *g, struct arch_find_stats *st)
{
	struct cd_err err = {0};

	memset(g, 0, sizeof(*g));
	ck_assert_int_eq(arch_find(a, trace, strlen(trace), INT64_MIN, INT64_MAX, collect, g, st, &err), 0);
	ck_assert_uint_eq(g->bad, 0);
	return g->n;
}

static size_t scan_all(arch *a, struct got *g, struct arch_find_stats *st)
{
	struct cd_err err = {0};

	memset(g, 0, sizeof(*g));
	ck_assert_int_eq(arch_scan(a, INT64_MIN, INT64_MAX, collect, g, st, &err), 0);
	ck_assert_uint_eq(g->bad, 0);
	return g->n;
}

static arch *open_arch(uint64_t seg_bytes, bool ro)
{
	struct arch_options o;
	struct cd_err err = {0};
	arch *a = NULL;

	arch_options_default(&o);
	o.segment_bytes = seg_bytes;
	o.read_only = ro;
	o.no_sync = true; /* durability is tested by the kill -9 test, which syncs */
	ck_assert_msg(arch_open(&a, dir, &o, &err) == 0, "arch_open: %s", err.msg);
	return a;
}

static void path_of(char *buf, size_t cap, uint64_t id, const char *ext)
{
	snprintf(buf, cap, "%s/%016" PRIx64 ".%s", dir, id, ext);
}

static off_t file_size(const char *p)
{
	struct stat sb;

	return stat(p, &sb) == 0 ? sb.st_size : -1;
}

/* ------------------------------------------------------------------------- */

START_TEST(trace_hash_is_xxh64_with_seed_zero)
{
	char x[1000];

	ck_assert_uint_eq(arch_hash("", 0), 0xEF46DB3751D8E999ULL);
	ck_assert_uint_eq(arch_hash("a", 1), 0xD24EC4F1A98C6E5BULL);
	ck_assert_uint_eq(arch_hash("abc", 3), 0x44BC2CF5AD770999ULL);
	memset(x, 'x', sizeof(x));
	/* low 32 bits = the content checksum `zstd --check` writes for 1000 'x' */
	ck_assert_uint_eq(arch_hash(x, sizeof(x)) & 0xffffffffu, 0x9cb700e1u);
}
END_TEST

START_TEST(appended_chunks_come_back_by_trace_and_by_scan_before_and_after_sealing)
{
	struct arch_find_stats st;
	struct got g;
	arch *a = open_arch(0, false);
	struct cd_err err = {0};

	for (uint64_t s = 1; s <= 20; s++)
		ck_assert_int_eq(append_seq(a, s, &err), 0);
	for (int round = 0; round < 2; round++) {
		ck_assert_uint_eq(find_trace(a, "trace-7", &g, &st), 1);
		ck_assert_uint_eq(g.seq[0], 7);
		ck_assert_uint_eq(st.segments, 1);
		ck_assert_uint_eq(st.opened, 1);
		ck_assert_uint_eq(st.frames_read, 1);
		ck_assert_uint_eq(find_trace(a, "shared-3", &g, &st), 4);
		ck_assert_uint_eq(g.seq[0], 3);
		ck_assert_uint_eq(g.seq[3], 18);
		ck_assert_uint_eq(scan_all(a, &g, &st), 20);
		for (size_t i = 0; i < 20; i++)
			ck_assert_uint_eq(g.seq[i], i + 1);
		ck_assert_int_eq(arch_close(a, &err), 0);
		a = open_arch(0, round == 0); /* sealed now: the index file is used */
	}
	ck_assert_int_eq(arch_close(a, &err), 0);
}
END_TEST

START_TEST(an_absent_trace_opens_no_data_file)
{
	struct arch_find_stats st;
	struct got g;
	arch *a = open_arch(4096, false);
	struct cd_err err = {0};

	for (uint64_t s = 1; s <= 50; s++)
		ck_assert_int_eq(append_seq(a, s, &err), 0);
	ck_assert_uint_eq(find_trace(a, "trace-999", &g, &st), 0);
	ck_assert_uint_gt(st.segments, 5);
	ck_assert_uint_eq(st.examined, st.segments);
	ck_assert_uint_eq(st.opened, 0);
	ck_assert_uint_eq(st.frames_read, 0);
	ck_assert_int_eq(arch_close(a, &err), 0);
}
END_TEST

START_TEST(lookups_across_many_segments_open_only_the_segments_holding_the_trace)
{
	struct arch_find_stats st;
	struct arch_stats as;
	struct got g;
	struct cd_err err = {0};
	arch *a = open_arch(4096, false);

	for (uint64_t s = 1; s <= 200; s++)
		ck_assert_int_eq(append_seq(a, s, &err), 0);
	ck_assert_int_eq(arch_close(a, &err), 0);

	a = open_arch(4096, true);
	arch_stats(a, &as);
	ck_assert_uint_gt(as.segments, 20);
	for (uint64_t s = 1; s <= 200; s += 13) {
		char t[32];

		snprintf(t, sizeof(t), "trace-%" PRIu64, s);
		ck_assert_uint_eq(find_trace(a, t, &g, &st), 1);
		ck_assert_uint_eq(g.seq[0], s);
		ck_assert_uint_eq(st.segments, as.segments);
		ck_assert_uint_eq(st.opened, 1);
		ck_assert_uint_eq(st.frames_read, 1);
	}
	/* shared-2 is in every 5th chunk: 40 frames read, nothing else, and
	 * each segment (about 6 chunks) opened once however many it holds. */
	ck_assert_uint_eq(find_trace(a, "shared-2", &g, &st), 40);
	ck_assert_uint_eq(st.frames_read, 40);
	ck_assert_uint_eq(st.opened, st.segments);
	/* A time window rules segments out before their index is searched. */
	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(arch_find(a, "shared-2", 8, 100 * 1000, 119 * 1000 + 999, collect, &g, &st, &err),
			 0);
	ck_assert_uint_eq(g.n, 4); /* 102, 107, 112, 117 */
	ck_assert_uint_eq(g.seq[0], 102);
	ck_assert_uint_lt(st.examined, 10);
	ck_assert_int_eq(arch_close(a, &err), 0);
}
END_TEST

START_TEST(a_missing_index_is_rebuilt_from_the_data_file_and_rewritten)
{
	struct arch_find_stats st;
	struct arch_stats as;
	struct got g;
	struct cd_err err = {0};
	char idx[512];
	off_t good;
	arch *a = open_arch(4096, false);

	for (uint64_t s = 1; s <= 60; s++)
		ck_assert_int_eq(append_seq(a, s, &err), 0);
	ck_assert_int_eq(arch_close(a, &err), 0);
	path_of(idx, sizeof(idx), 2, "idx");
	good = file_size(idx);
	ck_assert_int_gt(good, 64);

	/* A reader rebuilds it in memory, on the first lookup, and writes nothing. */
	ck_assert_int_eq(unlink(idx), 0);
	a = open_arch(4096, true);
	ck_assert_uint_eq(scan_all(a, &g, &st), 60);
	ck_assert_uint_eq(st.rebuilt, 1);
	ck_assert_uint_eq(find_trace(a, "trace-8", &g, &st), 1);
	ck_assert_uint_eq(st.rebuilt, 0);
	ck_assert_int_eq(file_size(idx), -1);
	ck_assert_int_eq(arch_close(a, &err), 0);

	/* The writer rebuilds and rewrites it as it opens; so for a truncated one. */
	for (int round = 0; round < 2; round++) {
		if (round == 0)
			ck_assert_int_eq(file_size(idx), -1);
		else
			ck_assert_int_eq(truncate(idx, good - 1), 0);
		a = open_arch(4096, false);
		arch_stats(a, &as);
		ck_assert_uint_eq(as.indexes_rebuilt, 1);
		ck_assert_int_eq(file_size(idx), good);
		ck_assert_uint_eq(scan_all(a, &g, &st), 60);
		ck_assert_uint_eq(st.rebuilt, 0);
		ck_assert_int_eq(arch_close(a, &err), 0);
	}
}
END_TEST

/* Three frames in one sealed segment; returns its data file's bytes. */
static void small_segment(void)
{
	struct cd_err err = {0};
	arch *a = open_arch(0, false);

	for (uint64_t s = 1; s <= 3; s++)
		ck_assert_int_eq(append_seq(a, s, &err), 0);
	ck_assert_int_eq(arch_close(a, &err), 0);
}

START_TEST(a_corrupt_byte_anywhere_in_an_index_changes_no_answer)
{
	char idx[512];
	size_t len;
	uint8_t *orig;

	small_segment();
	path_of(idx, sizeof(idx), 1, "idx");
	orig = (uint8_t *)th_slurp_must(idx, &len);
	for (size_t off = 0; off < len; off++) {
		struct arch_find_stats st;
		struct got g;
		struct cd_err err = {0};
		arch *a;

		orig[off] ^= 0x5a;
		th_write_file(idx, orig, len);
		orig[off] ^= 0x5a;
		a = open_arch(0, true);
		ck_assert_uint_eq(find_trace(a, "trace-2", &g, &st), 1);
		ck_assert_uint_eq(g.seq[0], 2);
		ck_assert_uint_eq(st.rebuilt, 1);
		ck_assert_uint_eq(find_trace(a, "shared-1", &g, &st), 1);
		ck_assert_uint_eq(find_trace(a, "trace-4", &g, &st), 0);
		ck_assert_uint_eq(scan_all(a, &g, &st), 3);
		ck_assert_int_eq(arch_close(a, &err), 0);
	}
	free(orig);
}
END_TEST

static unsigned diags;

static void count_diag(void *cookie, const char *msg)
{
	(void)cookie;
	(void)msg;
	diags++;
}

START_TEST(a_corrupt_byte_anywhere_in_a_segment_loses_only_its_frame_and_is_reported)
{
	char seg[512], idx[512];
	size_t len, ilen;
	uint8_t *orig, *iorig;

	small_segment();
	path_of(seg, sizeof(seg), 1, "seg");
	path_of(idx, sizeof(idx), 1, "idx");
	orig = (uint8_t *)th_slurp_must(seg, &len);
	iorig = (uint8_t *)th_slurp_must(idx, &ilen);
	/* 0: the index is used; 1: no index, read-only (scanned); 2: no index,
	 * read-write (recovered as the open segment: a bad last frame is cut). */
	for (int mode = 0; mode < 3; mode++) {
		for (size_t off = 0; off < len; off++) {
			struct arch_options o;
			struct arch_find_stats st;
			struct arch_stats as;
			struct got g;
			struct cd_err err = {0};
			arch *a = NULL;

			orig[off] ^= 0x01;
			th_write_file(seg, orig, len);
			orig[off] ^= 0x01;
			if (mode == 0)
				th_write_file(idx, iorig, ilen);
			else
				unlink(idx);
			arch_options_default(&o);
			o.read_only = mode < 2;
			o.no_sync = true;
			o.on_diag = count_diag;
			diags = 0;
			ck_assert_int_eq(arch_open(&a, dir, &o, &err), 0);
			ck_assert_uint_eq(scan_all(a, &g, &st), 2);
			arch_stats(a, &as);
			ck_assert_uint_eq(as.frames_corrupt + as.torn_cut, 1);
			ck_assert_uint_ge(diags, 1);
			find_trace(a, "trace-1", &g, &st);
			find_trace(a, "trace-3", &g, &st);
			ck_assert_int_eq(arch_close(a, &err), 0);
			if (mode == 2)
				unlink(idx); /* arch_close() sealed it: start over */
		}
	}
	free(orig);
	free(iorig);
}
END_TEST

/* Append @n chunks from a child that exits without arch_close() (a crash). */
static void crash_after_appends(uint64_t from, uint64_t n)
{
	pid_t pid = th_fork();

	if (pid == 0) {
		struct cd_err err = {0};
		struct arch_options o;
		arch *a;

		arch_options_default(&o);
		if (arch_open(&a, dir, &o, &err) < 0)
			_exit(2);
		for (uint64_t s = from; s < from + n; s++)
			if (append_seq(a, s, &err) < 0)
				_exit(3);
		_exit(0);
	}
	ck_assert_int_eq(th_wait(pid), 0);
}

START_TEST(a_torn_last_frame_is_cut_on_open_and_appends_continue_after_it)
{
	char seg[512];
	off_t full, two;

	path_of(seg, sizeof(seg), 1, "seg");
	crash_after_appends(1, 2);
	two = file_size(seg);
	crash_after_appends(3, 1);
	full = file_size(seg);
	ck_assert_int_gt(full, two);

	/* Cut inside the header, inside the mini-index, inside the payload. */
	for (off_t cut = two + 1; cut < full; cut += (full - two) / 7 + 1) {
		struct arch_find_stats st;
		struct arch_stats as;
		struct got g;
		struct cd_err err = {0};
		arch *a;

		reset_dir();
		crash_after_appends(1, 3);
		ck_assert_int_eq(truncate(seg, cut), 0);
		a = open_arch(0, false);
		arch_stats(a, &as);
		ck_assert_uint_eq(as.torn_cut, 1);
		ck_assert_uint_eq(as.torn_bytes, (uint64_t)(cut - two));
		ck_assert_uint_eq(as.max_seq, 2);
		ck_assert_int_eq(file_size(seg), two);
		ck_assert_uint_eq(scan_all(a, &g, &st), 2);
		ck_assert_int_eq(append_seq(a, 3, &err), 0);
		ck_assert_uint_eq(scan_all(a, &g, &st), 3);
		ck_assert_int_eq(file_size(seg), full);
		ck_assert_int_eq(arch_close(a, &err), 0);
	}
}
END_TEST

START_TEST(kill_9_mid_append_loses_no_acknowledged_frame)
{
	uint64_t next = 1;
	static uint8_t acked[1u << 16];
	struct got g;
	struct arch_find_stats st;

	srand((unsigned)time(NULL));
	for (int round = 0; round < 6; round++) {
		int fds[2];
		pid_t pid;
		uint64_t s, top = 0;
		size_t nacked = 0;
		FILE *rd;

		ck_assert_int_eq(pipe(fds), 0);
		pid = th_fork();
		if (pid == 0) {
			/* The writer: acknowledges each seq on the pipe once durable. */
			struct arch_options o;
			struct cd_err err = {0};
			arch *a;

			close(fds[0]);
			arch_options_default(&o);
			o.segment_bytes = 64 * 1024;
			if (arch_open(&a, dir, &o, &err) < 0)
				_exit(2);
			for (s = next;; s++) {
				if (append_seq(a, s, &err) < 0)
					_exit(3);
				if (write(fds[1], &s, sizeof(s)) != sizeof(s))
					_exit(4);
			}
		}
		close(fds[1]);
		rd = fdopen(fds[0], "rb");
		while (nacked < 20 && fread(&s, sizeof(s), 1, rd) == 1) {
			acked[s] = 1;
			nacked++;
		}
		usleep((useconds_t)(rand() % 3000));
		th_kill(pid);
		while (fread(&s, sizeof(s), 1, rd) == 1) {
			acked[s] = 1;
			nacked++;
		}
		fclose(rd);
		ck_assert_uint_ge(nacked, 20);

		{
			arch *a = open_arch(64 * 1024, false);
			struct cd_err err = {0};
			struct arch_stats as;
			static uint8_t found[1u << 16];

			memset(found, 0, sizeof(found));
			scan_all(a, &g, &st);
			for (size_t i = 0; i < g.n; i++) {
				ck_assert_uint_lt(g.seq[i], sizeof(found));
				found[g.seq[i]] = 1;
				if (g.seq[i] > top)
					top = g.seq[i];
			}
			for (s = 1; s < sizeof(acked); s++)
				if (acked[s])
					ck_assert_msg(found[s], "acknowledged seq %" PRIu64 " lost", s);
			arch_stats(a, &as);
			ck_assert_uint_eq(as.max_seq >= top || as.max_seq == 0, 1);
			/* At most the one frame written but not yet acknowledged. */
			for (s = next; s <= top; s++)
				if (found[s] && !acked[s])
					ck_assert_uint_eq(s, top);
			ck_assert_uint_eq(as.frames_corrupt, 0);
			ck_assert_int_eq(arch_close(a, &err), 0);
			next = top + 1;
			if (g.n > 3000)
				break;
		}
	}
}
END_TEST

START_TEST(retention_by_size_deletes_the_oldest_sealed_segments_never_the_open_one)
{
	struct arch_options o;
	struct arch_stats as;
	struct arch_find_stats st;
	struct got g;
	struct cd_err err = {0};
	arch *a;

	arch_options_default(&o);
	o.segment_bytes = 4096;
	o.max_bytes = 20000;
	o.no_sync = true;
	ck_assert_int_eq(arch_open(&a, dir, &o, &err), 0);
	for (uint64_t s = 1; s <= 200; s++) {
		ck_assert_int_eq(append_seq(a, s, &err), 0);
		arch_stats(a, &as);
		ck_assert_uint_le(as.bytes, 20000 + 4096 + 2048);
	}
	arch_stats(a, &as);
	ck_assert_uint_gt(as.segments_deleted, 10);
	ck_assert_uint_eq(find_trace(a, "trace-1", &g, &st), 0);
	ck_assert_uint_eq(find_trace(a, "trace-200", &g, &st), 1);
	scan_all(a, &g, &st);
	ck_assert_uint_gt(g.n, 5);
	for (size_t i = 0; i < g.n; i++) /* what is left is the newest, in order */
		ck_assert_uint_eq(g.seq[i], 200 - g.n + 1 + i);
	ck_assert_int_eq(arch_close(a, &err), 0);

	/* A cap below one segment keeps the open one only. */
	o.max_bytes = 1;
	ck_assert_int_eq(arch_open(&a, dir, &o, &err), 0);
	ck_assert_int_eq(append_seq(a, 201, &err), 0);
	arch_stats(a, &as);
	ck_assert_uint_eq(as.segments, 1);
	ck_assert_uint_eq(find_trace(a, "trace-201", &g, &st), 1);
	ck_assert_int_eq(arch_close(a, &err), 0);
}
END_TEST

START_TEST(retention_by_age_deletes_segments_last_written_before_the_limit)
{
	struct arch_options o;
	struct arch_stats as;
	struct cd_err err = {0};
	uint32_t deleted = 0;
	int64_t now = (int64_t)time(NULL) * 1000000000;
	arch *a = open_arch(4096, false);

	for (uint64_t s = 1; s <= 60; s++)
		ck_assert_int_eq(append_seq(a, s, &err), 0);
	arch_stats(a, &as);
	ck_assert_int_eq(arch_close(a, &err), 0);
	/* Age the first three segments by ten days. */
	for (uint64_t id = 1; id <= 3; id++) {
		char seg[512];
		struct timespec ts[2] = {{time(NULL) - 10 * 86400, 0}, {time(NULL) - 10 * 86400, 0}};

		path_of(seg, sizeof(seg), id, "seg");
		ck_assert_int_eq(utimensat(AT_FDCWD, seg, ts, 0), 0);
	}
	arch_options_default(&o);
	o.segment_bytes = 4096;
	o.max_age_ns = 86400LL * 1000000000;
	o.no_sync = true;
	ck_assert_int_eq(arch_open(&a, dir, &o, &err), 0);
	ck_assert_int_eq(arch_retain(a, now, &deleted, &err), 0);
	ck_assert_uint_eq(deleted, 3);
	ck_assert_int_eq(arch_retain(a, now, &deleted, &err), 0);
	ck_assert_uint_eq(deleted, 0);
	/* Far in the future every sealed segment is too old. */
	ck_assert_int_eq(arch_retain(a, now + 30 * 86400LL * 1000000000, &deleted, &err), 0);
	ck_assert_uint_eq(deleted, as.segments - 3);
	arch_stats(a, &as);
	ck_assert_uint_eq(as.segments, 0);
	ck_assert_int_eq(arch_close(a, &err), 0);
}
END_TEST

START_TEST(a_second_writer_is_refused_and_a_reader_sees_the_open_segment)
{
	struct arch_find_stats st;
	struct got g;
	struct cd_err err = {0};
	arch *w = open_arch(0, false), *w2 = NULL, *r;
	struct arch_options o;

	ck_assert_int_eq(append_seq(w, 1, &err), 0);
	arch_options_default(&o);
	ck_assert_int_eq(arch_open(&w2, dir, &o, &err), -CD_EAGAIN);
	ck_assert_ptr_null(w2);
	ck_assert_int_eq(err.code, -CD_EAGAIN);
	r = open_arch(0, true);
	ck_assert_uint_eq(find_trace(r, "trace-1", &g, &st), 1);
	ck_assert_int_eq(append_seq(r, 2, &err), -CD_EINVAL);
	ck_assert_int_eq(arch_close(r, &err), 0);
	ck_assert_int_eq(arch_close(w, &err), 0);
}
END_TEST

START_TEST(bad_chunks_are_refused_and_leave_the_archive_unchanged)
{
	struct cd_err err = {0};
	struct arch_find_stats st;
	struct got g;
	struct arch_chunk_meta m = {.seq = 1, .min_ts_ns = 5, .max_ts_ns = 4};
	struct arch_key k = {"x", 1};
	arch *a = open_arch(0, false), *none = NULL;

	ck_assert_int_eq(arch_append(a, "p", 1, &m, &err), -CD_EINVAL);
	m.max_ts_ns = 5;
	ck_assert_int_eq(arch_append(a, "p", 0, &m, &err), -CD_EINVAL);
	ck_assert_int_eq(arch_append(a, "p", 1, NULL, &err), -CD_EINVAL);
	m.traces = &k;
	m.ntraces = CD_ARCH_FRAME_TRACES_MAX + 1;
	ck_assert_int_eq(arch_append(a, "p", 1, &m, &err), -CD_ELIMIT);
	ck_assert_str_eq(cd_strerror(err.code), "limit exceeded");
	ck_assert_uint_eq(scan_all(a, &g, &st), 0);
	ck_assert_int_eq(arch_close(a, &err), 0);
	ck_assert_int_eq(arch_close(NULL, &err), 0);
	ck_assert_int_eq(
		arch_open(&none, "/nonexistent/clew", &(struct arch_options){.read_only = true}, &err),
		-CD_ENOENT);
	ck_assert_ptr_null(none);
}
END_TEST

/* Services are content: past either cap they are cut, the frame and index flagged, the chunk kept. */
START_TEST(services_past_their_caps_are_cut_and_flagged_never_refused)
{
	static char names[CD_ARCH_FRAME_SERVICES_MAX + 2][16], longname[CD_ARCH_SERVICE_LEN_MAX * 3];
	static struct arch_key svc[CD_ARCH_FRAME_SERVICES_MAX + 3];
	struct arch_key tr = {"cap-trace", 9};
	struct arch_chunk_meta m = {.nrecords = 10, .traces = &tr, .ntraces = 1, .services = svc};
	uint8_t pl[2048], hdr[8];
	char p[300];
	struct cd_err err = {0};
	struct got g;
	arch *a = open_arch(0, false);
	FILE *f;

	for (uint64_t seq = 1; seq <= 2; seq++) {
		m.seq = seq;
		m.min_ts_ns = m.max_ts_ns = (int64_t)seq * 1000;
		if (seq == 1) { /* one name at the cap, one past it */
			memset(longname, 'n', sizeof(longname));
			svc[0] = (struct arch_key){longname, CD_ARCH_SERVICE_LEN_MAX};
			svc[1] = (struct arch_key){longname, sizeof(longname)};
			m.nservices = 2;
		} else { /* one more distinct service than a frame lists */
			for (size_t i = 0; i < CD_ARCH_FRAME_SERVICES_MAX + 2; i++) {
				snprintf(names[i], sizeof(names[i]), "svc-%zu", i);
				svc[i] = (struct arch_key){names[i], (uint32_t)strlen(names[i])};
			}
			m.nservices = CD_ARCH_FRAME_SERVICES_MAX + 2;
		}
		payload_fill(seq, pl, payload_len(seq));
		ck_assert_msg(arch_append(a, pl, payload_len(seq), &m, &err) == 0, "%s", err.msg);
	}
	ck_assert_uint_eq(find_trace(a, "cap-trace", &g, NULL), 2);
	ck_assert_int_eq(arch_close(a, &err), 0);
	a = open_arch(0, true);
	ck_assert_uint_eq(find_trace(a, "cap-trace", &g, NULL), 2);
	ck_assert_int_eq(arch_close(a, &err), 0);
	path_of(p, sizeof(p), 1, "seg"); /* the first frame's flags */
	ck_assert_ptr_nonnull(f = fopen(p, "rb"));
	ck_assert_uint_eq(fread(hdr, 1, 8, f), 8);
	fclose(f);
	ck_assert_uint_eq(le_get16(hdr + 6), ARCH_FRAME_F_SVC_PARTIAL);
	path_of(p, sizeof(p), 1, "idx");
	ck_assert_ptr_nonnull(f = fopen(p, "rb"));
	ck_assert_uint_eq(fread(hdr, 1, 8, f), 8);
	fclose(f);
	ck_assert_uint_eq(le_get16(hdr + 6), ARCH_IDX_F_SVC_PARTIAL);
}
END_TEST

START_TEST(a_batch_spanning_rotations_is_stored_in_order_and_indexed)
{
	static uint8_t bufs[50][2048];
	static char ids[50][32];
	struct arch_key tr[50];
	struct arch_chunk_meta m[50];
	struct arch_chunk ch[50];
	struct arch_find_stats st;
	struct arch_stats as;
	struct got g;
	struct cd_err err = {0};
	arch *a = open_arch(4096, false);

	for (uint64_t i = 0; i < 50; i++) {
		uint64_t seq = i + 1;

		payload_fill(seq, bufs[i], payload_len(seq));
		snprintf(ids[i], sizeof(ids[i]), "trace-%" PRIu64, seq);
		tr[i] = (struct arch_key){ids[i], (uint32_t)strlen(ids[i])};
		m[i] = (struct arch_chunk_meta){.seq = seq,
						.min_ts_ns = (int64_t)seq * 1000,
						.max_ts_ns = (int64_t)seq * 1000 + 999,
						.nrecords = 10,
						.traces = &tr[i],
						.ntraces = 1};
		ch[i] = (struct arch_chunk){bufs[i], payload_len(seq), &m[i]};
	}
	ck_assert_int_eq(arch_appendv(a, ch, 50, &err), 0);
	arch_stats(a, &as);
	ck_assert_uint_gt(as.segments, 5);
	ck_assert_uint_eq(as.frames_appended, 50);
	ck_assert_uint_eq(as.max_seq, 50);
	ck_assert_uint_eq(scan_all(a, &g, &st), 50);
	for (size_t i = 0; i < 50; i++)
		ck_assert_uint_eq(g.seq[i], i + 1);
	ck_assert_uint_eq(find_trace(a, "trace-33", &g, &st), 1);
	ck_assert_uint_eq(st.opened, 1);
	ck_assert_int_eq(arch_close(a, &err), 0);
}
END_TEST

START_TEST(a_reader_skips_segments_that_retention_deletes_under_it)
{
	struct arch_options o;
	struct arch_find_stats st;
	struct got g;
	struct cd_err err = {0};
	arch *w, *r;

	arch_options_default(&o);
	o.segment_bytes = 4096;
	o.no_sync = true;
	ck_assert_int_eq(arch_open(&w, dir, &o, &err), 0);
	for (uint64_t s = 1; s <= 60; s++)
		ck_assert_int_eq(append_seq(w, s, &err), 0);
	r = open_arch(4096, true); /* lists every segment now, reads indexes later */
	ck_assert_int_eq(arch_close(w, &err), 0);
	o.max_bytes = 8192;
	ck_assert_int_eq(arch_open(&w, dir, &o, &err), 0);
	ck_assert_int_eq(append_seq(w, 61, &err), 0); /* retention runs */
	ck_assert_uint_eq(find_trace(r, "trace-2", &g, &st), 0);
	ck_assert_uint_eq(find_trace(r, "trace-60", &g, &st), 1);
	ck_assert_int_eq(arch_close(r, &err), 0);
	ck_assert_int_eq(arch_close(w, &err), 0);
}
END_TEST

static int stop_after_two(void *cookie, const void *payload, size_t len, const struct arch_chunk_meta *m)
{
	unsigned *calls = cookie;

	(void)payload;
	(void)len;
	(void)m;
	return ++*calls == 2 ? 42 : 0;
}

START_TEST(a_callback_stops_the_walk_with_its_value)
{
	struct cd_err err = {0};
	unsigned calls = 0;
	arch *a = open_arch(0, false);

	for (uint64_t s = 1; s <= 5; s++)
		ck_assert_int_eq(append_seq(a, s, &err), 0);
	ck_assert_int_eq(arch_scan(a, INT64_MIN, INT64_MAX, stop_after_two, &calls, NULL, &err), 42);
	ck_assert_uint_eq(calls, 2);
	ck_assert_int_eq(arch_scan(a, INT64_MIN, INT64_MAX, NULL, NULL, NULL, &err), -CD_EINVAL);
	ck_assert_int_eq(arch_close(a, &err), 0);
}
END_TEST

static Suite *archive_suite(void)
{
	Suite *s = suite_create("archive");
	TCase *tc = tcase_create("archive");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, trace_hash_is_xxh64_with_seed_zero);
	tcase_add_test(tc, appended_chunks_come_back_by_trace_and_by_scan_before_and_after_sealing);
	tcase_add_test(tc, an_absent_trace_opens_no_data_file);
	tcase_add_test(tc, lookups_across_many_segments_open_only_the_segments_holding_the_trace);
	tcase_add_test(tc, a_missing_index_is_rebuilt_from_the_data_file_and_rewritten);
	tcase_add_test(tc, a_corrupt_byte_anywhere_in_an_index_changes_no_answer);
	tcase_add_test(tc, a_corrupt_byte_anywhere_in_a_segment_loses_only_its_frame_and_is_reported);
	tcase_add_test(tc, a_torn_last_frame_is_cut_on_open_and_appends_continue_after_it);
	tcase_add_test(tc, kill_9_mid_append_loses_no_acknowledged_frame);
	tcase_add_test(tc, retention_by_size_deletes_the_oldest_sealed_segments_never_the_open_one);
	tcase_add_test(tc, retention_by_age_deletes_segments_last_written_before_the_limit);
	tcase_add_test(tc, a_second_writer_is_refused_and_a_reader_sees_the_open_segment);
	tcase_add_test(tc, bad_chunks_are_refused_and_leave_the_archive_unchanged);
	tcase_add_test(tc, services_past_their_caps_are_cut_and_flagged_never_refused);
	tcase_add_test(tc, a_callback_stops_the_walk_with_its_value);
	tcase_add_test(tc, a_batch_spanning_rotations_is_stored_in_order_and_indexed);
	tcase_add_test(tc, a_reader_skips_segments_that_retention_deletes_under_it);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(archive_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
