/*
 * test_archive_sum.c - the archive's transaction summaries
 * (store/archive_sum.h): what arch_summaries() returns equals the
 * summaries computed from every record at once, whether a segment is
 * read from its summary file, scanned because it is still open, or
 * scanned because its file is damaged; transactions split over many
 * segments merge into one summary each; a search for the newest few
 * (arch_summaries_newest()) gives the full read's answer from the newest
 * segments alone; summaries a chunk brings along (made from its parsed
 * records, as the collector makes them: chunk_take_summaries()) give the
 * same answers as those the archive makes from the payload, alone or
 * mixed with them in one block, and ones made with other keys are not
 * taken (the payload is summarised instead).
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <store/archive.h>
#include <store/archive_sum.h>
#include <store/chunk.h>
#include "fmt/detect.h"
#include "fmt/str.h"
#include "query/json.h"
#include "query/select.h"
#include "query/sumwrite.h"

#define NLINES 400

static char dir[64];
static struct qy_keys keys;
static struct qy_txns want;
/*
 * Chunks bring their summaries: 0 none, 1 every chunk, 2 every other one,
 * 3 every one, made with other keys, 4 every one, made of no record.
 */
static int carry;
static struct qy_keys other_keys;

/* Empty the archive directory (a test starts afresh). */
static void system_rm(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'/*", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void flush(arch *a, struct chunk *c)
{
	uint32_t nt = chunk_ntraces(c), ns = chunk_nservices(c);
	struct arch_key k[64];
	struct arch_chunk_meta m = {0};
	struct cd_err err = {0};
	size_t len;
	const uint8_t *data = chunk_data_ref(c, &len);

	ck_assert_uint_le(nt + ns, 64);
	for (uint32_t i = 0; i < nt; i++)
		k[i].ptr = chunk_trace_ref(c, i, &k[i].len);
	for (uint32_t i = 0; i < ns; i++)
		k[nt + i].ptr = chunk_service_ref(c, i, &k[nt + i].len);
	m.seq = chunk_seq(c);
	m.nrecords = chunk_nrecords(c);
	ck_assert(chunk_ts_range(c, &m.min_ts_ns, &m.max_ts_ns));
	m.traces = k;
	m.ntraces = nt;
	m.services = k + nt;
	m.nservices = ns;
	m.sums = chunk_summaries_ref(c, &m.sums_len, &m.nsums, &m.sum_keys);
	ck_assert_int_eq(arch_append(a, data, len, &m, &err), 0);
}

/*
 * Write @nlines records, one a second, of @ntraces transactions taking
 * turns (or, with @per_txn, of transactions of @per_txn consecutive
 * records each), 8 a chunk, into segments of @seg_bytes; the writer stays
 * open (its last segment unsealed).
 */
static arch *write_archive_ex(int nlines, int ntraces, int per_txn, uint64_t seg_bytes)
{
	struct arch_options opt;
	struct cd_err err = {0};
	struct chunk *c;
	arch *a;
	uint64_t seq = 1;

	struct qy_sumw w;

	arch_options_default(&opt);
	opt.segment_bytes = seg_bytes;
	opt.no_sync = true;
	opt.summaries = true;
	ck_assert_int_eq(arch_open(&a, dir, &opt, &err), 0);
	ck_assert_int_eq(chunk_new(&c, seq, 0), 0);
	qy_sumw_init(&w, carry == 3 ? &other_keys : &keys);
	for (int i = 0; i < nlines; i++) {
		char line[320];
		struct fmt_record r;
		struct record_src src = {0};
		int n;

		/* every 7th line JSON, the same values escaped: summarised from escaped views when carried */
		if (i % 7 == 3)
			n = snprintf(line, sizeof(line),
				     "{\"ts\":\"2026-11-23T%02d:%02d:%02d.%06dZ\",\"level\":\"%s\",\"trace\":"
				     "\"\\u0074r%05d\",\"span\":\"\\u0073%d\",\"service\":\"svc\\u003%d\","
				     "\"method\":\"%s\",\"path\":\"\\/api\\/%d\",\"status\":%d,\"user\":"
				     "\"\\u0075%d\",\"msg\":\"st\\u0065p %d\"}",
				     7 + i / 3600, i / 60 % 60, i % 60, i % 1000000,
				     i % 17 == 0 ? "ERROR" : "INFO", per_txn ? i / per_txn : i % ntraces,
				     i % 5, i % 4, i % 3 ? "GET" : "POST", i % 7, i % 13 == 0 ? 503 : 200,
				     i % 23, i);
		else
			n = snprintf(
				line, sizeof(line),
				"2026-11-23T%02d:%02d:%02d.%06dZ %s tr%05d:s%d|svc%d|%s|/api/%d|status=%d|"
				"user=u%d|msg=step %d",
				7 + i / 3600, i / 60 % 60, i % 60, i % 1000000,
				i % 17 == 0 ? "ERROR" : "INFO", per_txn ? i / per_txn : i % ntraces, i % 5,
				i % 4, i % 3 ? "GET" : "POST", i % 7, i % 13 == 0 ? 503 : 200, i % 23, i);
		ck_assert_int_lt(n, (int)sizeof(line));
		ck_assert_int_eq(fmt_parse(line, (size_t)n, &r, NULL), 0);
		ck_assert_int_eq(qy_txns_add(&want, &r), 0);
		src.line = fmt_str_n(line, (size_t)n);
		ck_assert_int_eq(chunk_append(c, &r, &src, CHUNK_NO_INPUT, 0), 0);
		if (carry && carry != 4)
			ck_assert_int_eq(qy_sumw_add_key(&w, &r, chunk_last_trace(c)), 0);
		if (chunk_nrecords(c) == 8 || i == nlines - 1) {
			if (carry && (carry != 2 || seq % 2))
				ck_assert_int_eq(chunk_take_summaries(c, &w), 0);
			qy_sumw_clear(&w);
			flush(a, c);
			chunk_clear(c, ++seq, 0);
		}
	}
	qy_sumw_release(&w);
	chunk_free(c);
	return a;
}

static arch *write_archive(int nlines, int ntraces, uint64_t seg_bytes)
{
	return write_archive_ex(nlines, ntraces, 0, seg_bytes);
}

/* Read the archive's summaries and compare them, as JSON, with the truth. */
static void check_equal(struct arch_sum_stats *st)
{
	struct arch_options opt;
	struct cd_err err = {0};
	struct qy_txns got;
	arch *r;

	arch_options_default(&opt);
	opt.read_only = true;
	ck_assert_int_eq(arch_open(&r, dir, &opt, &err), 0);
	qy_txns_init(&got, &(struct qy_context){.keys = &keys});
	ck_assert_int_eq(arch_summaries(r, INT64_MIN, INT64_MAX, &got, st, &err), 0);
	ck_assert_uint_eq(got.n, want.n);
	for (size_t i = 0; i < want.n; i++) {
		const struct qy_summary *w = &want.v[i];
		const struct qy_summary *g = qy_txns_find(&got, w->trace, strlen(w->trace));
		char a[8192], b[8192];
		size_t la, lb;

		ck_assert_ptr_nonnull(g);
		ck_assert_int_eq(qy_summary_json(w, &keys, a, sizeof(a), &la), 0);
		ck_assert_int_eq(qy_summary_json(g, &keys, b, sizeof(b), &lb), 0);
		ck_assert_msg(la == lb && memcmp(a, b, la) == 0, "%.*s\n!=\n%.*s", (int)la, a, (int)lb, b);
	}
	qy_txns_release(&got);
	arch_close(r, NULL);
}

START_TEST(summaries_equal_the_records_whatever_their_source)
{
	struct arch_sum_stats st;
	arch *a = write_archive(NLINES, 23, 2048);
	char path[128];
	int fd;
	uint8_t byte;

	/* Sealed segments from their files, the open one scanned. */
	check_equal(&st);
	ck_assert_uint_gt(st.segments, 5);
	ck_assert_uint_eq(st.from_file, st.segments - 1);
	ck_assert_uint_eq(st.scanned, 1);
	ck_assert_uint_gt(st.bytes_read, 0);
	/* A damaged summary file: that segment is scanned, the answer is the same. */
	snprintf(path, sizeof(path), "%s/0000000000000002.sum", dir);
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &byte, 1, 100), 1);
	byte ^= 0x55;
	ck_assert_int_eq(pwrite(fd, &byte, 1, 100), 1);
	close(fd);
	check_equal(&st);
	ck_assert_uint_eq(st.scanned, 2);
	/* Closed: every segment sealed, and the damaged file stays ignored. */
	ck_assert_int_eq(arch_close(a, NULL), 0);
	check_equal(&st);
	ck_assert_uint_eq(st.from_file, st.segments - 1);
}
END_TEST

/* More transactions in a segment than the writer keeps in memory: several blocks per file, merged. */
START_TEST(a_segment_of_many_blocks)
{
	struct arch_sum_stats st;
	arch *a;

	qy_txns_release(&want);
	qy_txns_init(&want, &(struct qy_context){.keys = &keys});
	system_rm();
	a = write_archive(24000, 9000, 4u << 20);
	ck_assert_int_eq(arch_close(a, NULL), 0);
	check_equal(&st);
	ck_assert_uint_eq(st.from_file, st.segments);
	ck_assert_uint_eq(want.n, 9000);
}
END_TEST

/*
 * Summaries brought by the chunks (every one, every other one, or made
 * with other keys, which the archive does not take) read as those the
 * archive makes from the payloads: segments of one block and of many.
 */
START_TEST(summaries_brought_by_chunks_equal_those_made_from_the_payload)
{
	for (carry = 1; carry <= 3; carry++) {
		struct arch_sum_stats st;
		arch *a;

		qy_txns_release(&want);
		qy_txns_init(&want, &(struct qy_context){.keys = &keys});
		system_rm();
		a = write_archive(NLINES, 23, 2048);
		ck_assert_int_eq(arch_close(a, NULL), 0);
		check_equal(&st);
		ck_assert_uint_gt(st.segments, 5);
		ck_assert_uint_eq(st.from_file, st.segments);
		qy_txns_release(&want);
		qy_txns_init(&want, &(struct qy_context){.keys = &keys});
		system_rm();
		a = write_archive(12000, 5000, 4u << 20);
		ck_assert_int_eq(arch_close(a, NULL), 0);
		check_equal(&st);
		ck_assert_uint_eq(st.from_file, st.segments);
	}
	{
		/* they are taken as they are: ones made of no record leave every transaction out */
		struct arch_options opt;
		struct cd_err err = {0};
		struct qy_txns got;
		arch *a, *r;

		carry = 4;
		system_rm();
		a = write_archive(NLINES, 23, 2048);
		ck_assert_int_eq(arch_close(a, NULL), 0);
		arch_options_default(&opt);
		opt.read_only = true;
		ck_assert_int_eq(arch_open(&r, dir, &opt, &err), 0);
		qy_txns_init(&got, &(struct qy_context){.keys = &keys});
		ck_assert_int_eq(arch_summaries(r, INT64_MIN, INT64_MAX, &got, NULL, &err), 0);
		ck_assert_uint_eq(got.n, 0);
		qy_txns_release(&got);
		arch_close(r, NULL);
	}
	carry = 0;
}
END_TEST

/*
 * Transactions of 10 records, 10 s long, in many segments: the newest 20
 * (all, failed ones, of a service and a duration, of a route: the light
 * path and the full one) read newest first with a 60 s slack equal the
 * newest 20 of everything, and most segments are not read; with the
 * newest segment's summary file damaged too (it is scanned instead).
 */
START_TEST(newest_first_stops_once_older_segments_cannot_change_the_answer)
{
	struct arch_options opt;
	struct cd_err err = {0};
	arch *a, *r;

	qy_txns_release(&want);
	qy_txns_init(&want, &(struct qy_context){.keys = &keys});
	system_rm();
	a = write_archive_ex(6000, 0, 10, 16384);
	ck_assert_int_eq(arch_close(a, NULL), 0);
	arch_options_default(&opt);
	opt.read_only = true;
	ck_assert_int_eq(arch_open(&r, dir, &opt, &err), 0);
	for (int round = 0; round < 8; round++) {
		int kind = round % 4;
		struct qy_filter f;
		struct qy_txns got;
		struct arch_sum_stats st;
		const struct qy_summary **wv, **gv;
		size_t wn, gn;
		char msg[256];

		qy_filter_init(&f);
		if (round == 4) {
			/* damage the newest sealed segment's summary file */
			char path[128];
			uint8_t byte = 0x55;
			struct arch_stats as;
			int fd;

			arch_stats(r, &as); /* ids from 1, none deleted: the newest is the count */
			snprintf(path, sizeof(path), "%s/%016x.sum", dir, (unsigned)as.segments);
			fd = open(path, O_RDWR);
			ck_assert_int_ge(fd, 0);
			ck_assert_int_eq(pwrite(fd, &byte, 1, 100), 1);
			close(fd);
		}
		if (kind == 1)
			ck_assert_int_eq(qy_filter_add(&f, "error", "true", 0, msg, sizeof(msg)), 0);
		if (kind == 2) {
			ck_assert_int_eq(qy_filter_add(&f, "service", "svc1", 0, msg, sizeof(msg)), 0);
			ck_assert_int_eq(qy_filter_add(&f, "min-duration", "9s", 0, msg, sizeof(msg)), 0);
		}
		if (kind == 3 && round < 4)
			ck_assert_int_eq(qy_filter_add(&f, "route", "/api/3", 0, msg, sizeof(msg)), 0);
		if (kind == 3 && round >= 4) {
			/* an attribute and a method: read light too, the file's values named by its keys */
			ck_assert_int_eq(qy_filter_add(&f, "attr", "user=u5", 0, msg, sizeof(msg)), 0);
			ck_assert_int_eq(qy_filter_add(&f, "method", "get", 0, msg, sizeof(msg)), 0);
		}
		ck_assert_int_ge(qy_select(&want, &f, QY_SORT_START, 20, &wv, &wn), 20);
		qy_txns_init(&got, &(struct qy_context){.keys = &keys, .filter = &f});
		ck_assert_int_eq(arch_summaries_newest(r, INT64_MIN, INT64_MAX, 20, INT64_C(60000000000),
						       &got, &st, &err),
				 0);
		ck_assert_int_ge(qy_select(&got, &f, QY_SORT_START, 20, &gv, &gn), 20);
		ck_assert_uint_eq(gn, wn);
		for (size_t i = 0; i < wn; i++) {
			char x[8192], y[8192];
			size_t lx, ly;

			ck_assert_int_eq(qy_summary_json(wv[i], &keys, x, sizeof(x), &lx), 0);
			ck_assert_int_eq(qy_summary_json(gv[i], &keys, y, sizeof(y), &ly), 0);
			ck_assert_msg(lx == ly && memcmp(x, y, lx) == 0, "%.*s\n!=\n%.*s", (int)lx, x,
				      (int)ly, y);
		}
		ck_assert(st.partial);
		ck_assert_uint_gt(st.segments, 20);
		ck_assert_uint_lt(st.examined, st.segments / 2);
		free(wv);
		free(gv);
		qy_txns_release(&got);
		qy_filter_release(&f);
	}
	arch_close(r, NULL);
}
END_TEST

/* A service no segment names matches nothing, and no summary is read to say so; a name cut from one is read. */
START_TEST(a_service_no_segment_names_reads_nothing)
{
	static const struct {
		const char *services[2];
		bool reads;
	} cases[] = {
		{{"nosuch", NULL}, false},
		{{"svc1", "nosuch"}, false},
		{{"svc1", NULL}, true},
		{{"svc", NULL}, true}, /* may be a name cut at a cap or a NUL: the summaries say */
	};
	struct cd_err err = {0};
	arch *a;

	system_rm();
	a = write_archive(400, 20, 16384);
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct arch_sum_stats st;
		struct qy_filter f;
		struct qy_txns got;
		const struct qy_summary **gv;
		size_t gn;
		char msg[256];

		qy_filter_init(&f);
		for (int i = 0; i < 2 && cases[k].services[i]; i++)
			ck_assert_int_eq(
				qy_filter_add(&f, "service", cases[k].services[i], 0, msg, sizeof(msg)), 0);
		for (size_t newest = 0; newest <= 20; newest += 20) {
			qy_txns_init(&got, &(struct qy_context){.keys = &keys, .filter = &f});
			ck_assert_int_eq(
				arch_summaries_newest(a, INT64_MIN, INT64_MAX, newest, 0, &got, &st, &err),
				0);
			/* svc1: transactions 1, 5, 9, ... of 20 (a service and a trace per record, i % 4, i % 20) */
			ck_assert_int_eq(qy_select(&got, &f, QY_SORT_START, 20, &gv, &gn), (k == 2 ? 5 : 0));
			ck_assert_msg((st.examined > 0) == cases[k].reads, "case %zu: %u segments examined",
				      k, st.examined);
			free(gv);
			qy_txns_release(&got);
		}
		qy_filter_release(&f);
	}
	arch_close(a, NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("archive summaries");
	TCase *tc = tcase_create("sum");
	SRunner *sr;
	int failed;
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/arch-sum-XXXXXX");
	if (!mkdtemp(dir))
		return 2;
	qy_keys_defaults(&keys);
	qy_keys_add(&other_keys, "user");
	qy_txns_init(&want, &(struct qy_context){.keys = &keys});
	tcase_add_test(tc, summaries_equal_the_records_whatever_their_source);
	tcase_add_test(tc, a_segment_of_many_blocks);
	tcase_add_test(tc, newest_first_stops_once_older_segments_cannot_change_the_answer);
	tcase_add_test(tc, a_service_no_segment_names_reads_nothing);
	tcase_add_test(tc, summaries_brought_by_chunks_equal_those_made_from_the_payload);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	qy_txns_release(&want);
	qy_keys_release(&keys);
	qy_keys_release(&other_keys);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		failed++;
	return failed ? 1 : 0;
}
