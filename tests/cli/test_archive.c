/*
 * test_archive.c - tracegrep on the collector's archive gives what it
 * gives on the files the archive was filled from.
 *
 * The corpus of test_tracegrep.c (corpus.c: known truth, pipe and JSON,
 * rotated and compressed files, multi-line records, prefix IDs, mentions,
 * skew) is written to a temporary directory and ingested into an archive
 * with bench/archive_ingest (argv[2]): small chunks and small segments, so
 * the archive has many segments and an index lookup can be seen to skip
 * most of them. Then every query the file tests make is run both ways:
 * - --lines: the same records (compared parsed and decoded, not as bytes:
 *   the archive keeps no original line, and tracegrep writes each record
 *   again in its format), and the same as the truth;
 * - --json: the same span tree (every span member but the record indexes,
 *   plus the number of records of each span) and the same records (all
 *   members but source, offset and text);
 * - the same exit status; and --stats shows that a present ID opened fewer
 *   segments than the archive has.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fmt/detect.h"
#include "fmt/str.h"
#include "compare.h"
#include "corpus.h"
#include "th_file.h"
#include "th_proc.h"

#define NTXNS 12

static const char *tracegrep, *ingest;
static char dir[64];	  /* the corpus */
static char archdir[80];  /* the archive made from it (and from extradir) */
static char extradir[80]; /* garbage and a multi-line record, ingested too */
static struct tcorpus corpus;

#define RUN(...) th_run(tracegrep, NULL, (const char *const[]){__VA_ARGS__, NULL})

/* ---- records, compared by meaning ---- */

static const int span_slots[] = {TC_G, TC_O, TC_S, TC_D, TC_B, TC_I, TC_X, TC_Y, TC_V};

/* --lines via the archive == via the files == the truth (@txn < 0: an absent ID). */
static void check_lines(const char *id, int txn, const char *top)
{
	struct th_result f = RUN("--lines", id, dir), a = RUN("--lines", "--archive", archdir, id);
	struct strs fs = split_records(f.out, f.len), as = split_records(a.out, a.len);

	ck_assert_msg(a.status == f.status, "%s: status %d via the archive, %d via files (%s)", id, a.status,
		      f.status, a.err);
	assert_same(&as, &fs, id);
	if (txn >= 0) {
		struct strs want = truth_records(&corpus, txn, top);

		ck_assert_msg(a.status == 0, "%s: status %d (%s)", id, a.status, a.err);
		assert_same(&as, &want, id);
		strs_free(&want);
	} else {
		ck_assert_msg(a.status == 1 && a.len == 0, "%s: status %d, %zu bytes", id, a.status, a.len);
	}
	strs_free(&fs);
	strs_free(&as);
	th_result_free(&f);
	th_result_free(&a);
}

static void check_json(const char *id)
{
	struct th_result f = RUN("--json", id, dir), a = RUN("--json", "--archive", archdir, id);
	json_t *fd, *ad, *fsp, *asp, *s;
	struct strs fr = {0}, ar = {0};
	size_t i;

	ck_assert_msg(a.status == 0 && f.status == 0, "%s: status %d / %d (%s)", id, a.status, f.status,
		      a.err);
	fd = json_loadb(f.out, f.len, 0, NULL);
	ad = json_loadb(a.out, a.len, 0, NULL);
	ck_assert_msg(fd && ad, "%s: not JSON", id);
	ck_assert(json_equal(json_object_get(fd, "id"), json_object_get(ad, "id")));
	ck_assert(json_equal(json_object_get(fd, "start"), json_object_get(ad, "start")));
	fsp = json_object_get(fd, "spans");
	asp = json_object_get(ad, "spans");
	ck_assert_msg(json_array_size(fsp) == json_array_size(asp),
		      "%s: %zu spans via the archive, %zu via files", id, json_array_size(asp),
		      json_array_size(fsp));
	ck_assert_uint_gt(json_array_size(fsp), 0);
	json_array_foreach(fsp, i, s)
	{
		const char *sid = json_string_value(json_object_get(s, "id"));
		json_t *o = span_by_id(asp, sid), *x, *y;

		ck_assert_msg(o, "%s: span %s missing via the archive", id, sid);
		ck_assert_msg(json_array_size(json_object_get(s, "records")) ==
				      json_array_size(json_object_get(o, "records")),
			      "%s: span %s: %zu records via the archive, %zu via files", id, sid,
			      json_array_size(json_object_get(o, "records")),
			      json_array_size(json_object_get(s, "records")));
		x = json_deep_copy(s);
		y = json_deep_copy(o);
		json_object_del(x, "records");
		json_object_del(y, "records");
		if (!json_equal(x, y)) {
			char *xs = json_dumps(x, JSON_SORT_KEYS), *ys = json_dumps(y, JSON_SORT_KEYS);

			ck_abort_msg("%s: span %s differs:\nfiles   %s\narchive %s", id, sid, xs, ys);
		}
		json_decref(x);
		json_decref(y);
	}
	json_array_foreach(json_object_get(fd, "records"), i, s) strs_push(&fr, record_meaning(s));
	json_array_foreach(json_object_get(ad, "records"), i, s) strs_push(&ar, record_meaning(s));
	assert_same(&ar, &fr, id);
	strs_free(&fr);
	strs_free(&ar);
	json_decref(fd);
	json_decref(ad);
	th_result_free(&f);
	th_result_free(&a);
}

START_TEST(every_transaction_is_the_same_via_the_archive)
{
	for (size_t t = 0; t < corpus.ntxns; t++) {
		check_lines(corpus.txns[t].trace, (int)t, NULL);
		check_json(corpus.txns[t].trace);
	}
}
END_TEST

START_TEST(every_span_query_is_the_same_via_the_archive)
{
	for (int t = 1; t < 5; t++)
		for (size_t k = 0; k < sizeof(span_slots) / sizeof(span_slots[0]); k++) {
			const char *s = corpus.txns[t].spans[span_slots[k]];

			check_lines(s, t, s);
			check_json(s);
		}
	/* "abc-x" is transaction 1's G; "abc" and "abcd" are transactions. */
	check_lines("abc-x", 1, "abc-x");
}
END_TEST

START_TEST(every_path_query_is_the_same_via_the_archive)
{
	char q[128];

	for (int t = 5; t < 8; t++)
		for (size_t k = 0; k < sizeof(span_slots) / sizeof(span_slots[0]); k++) {
			const char *s = corpus.txns[t].spans[span_slots[k]];

			snprintf(q, sizeof(q), "%s:%s", corpus.txns[t].trace, s);
			check_lines(q, t, s);
			check_json(q);
		}
}
END_TEST

START_TEST(absent_ids_and_broken_paths_find_nothing_via_the_archive)
{
	static const char *const absent[] = {"ab",   "abcde", "bc",
					     "zzzz", "abc-",  "0123456789abcdef0123456789abcdef"};
	const struct tc_txn *t = &corpus.txns[4], *o = &corpus.txns[5];
	char q[256];

	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		check_lines(absent[i], -1, NULL);
	snprintf(q, sizeof(q), "%s:%s:%s", t->trace, t->spans[TC_X], t->spans[TC_S]);
	check_lines(q, -1, NULL);
	snprintf(q, sizeof(q), "%s:%s", o->trace, t->spans[TC_S]);
	check_lines(q, -1, NULL);
}
END_TEST

/* The counters --stats reports for the lookup named @what ("find" or "scan for"). */
static bool lookup_stats(const char *err, const char *what, unsigned *segs, unsigned *opened,
			 unsigned *frames)
{
	const char *p = strstr(err, what);

	if (!p || !(p = strstr(p, ": ")))
		return false;
	return sscanf(p, ": %u segments, %*u examined, %u opened, %u frames read", segs, opened, frames) == 3;
}

START_TEST(a_lookup_opens_only_the_segments_that_hold_the_id)
{
	unsigned segs, opened, frames;
	struct th_result r;

	for (size_t t = 0; t < corpus.ntxns; t++) {
		r = RUN("--stats", "--lines", "--archive", archdir, corpus.txns[t].trace);
		ck_assert_int_eq(r.status, 0);
		ck_assert_msg(lookup_stats(r.err, "find", &segs, &opened, &frames), "no stats in: %s", r.err);
		ck_assert_msg(segs >= 8, "the test archive has %u segments: make them smaller", segs);
		ck_assert_msg(opened >= 1 && opened < segs, "%s: opened %u of %u segments",
			      corpus.txns[t].trace, opened, segs);
		ck_assert_uint_ge(frames, opened);
		th_result_free(&r);
	}
	/* An absent ID: the indexes say no, and no data file is read. */
	r = RUN("--stats", "--archive", archdir, "0123456789abcdef0123456789abcdef");
	ck_assert_int_eq(r.status, 1);
	ck_assert(lookup_stats(r.err, "find", &segs, &opened, &frames));
	ck_assert_uint_eq(opened, 0);
	th_result_free(&r);
	/* A span: not in the index, so every frame is read once to find its transaction, then one lookup. */
	r = RUN("--stats", "--archive", archdir, corpus.txns[2].spans[TC_S]);
	ck_assert_int_eq(r.status, 0);
	ck_assert(lookup_stats(r.err, "scan for", &segs, &opened, &frames));
	ck_assert_uint_eq(opened, segs);
	ck_assert_ptr_nonnull(strstr(strstr(r.err, "scan for"), corpus.txns[2].trace));
	th_result_free(&r);
}
END_TEST

START_TEST(every_output_works_on_the_archive)
{
	static const char *const modes[] = {"--chrome", "--jaeger", "--json"};
	const char *id = corpus.txns[corpus.skew_txn].trace;
	struct th_result r;

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		json_t *doc;

		r = RUN(modes[m], "--archive", archdir, id);
		ck_assert_int_eq(r.status, 0);
		doc = json_loadb(r.out, r.len, 0, NULL);
		ck_assert_msg(doc, "%s is not JSON", modes[m]);
		json_decref(doc);
		th_result_free(&r);
	}
	r = RUN("--color=never", "--archive", archdir, id);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "clock skew: moved -"));
	th_result_free(&r);
	/* Control bytes in a message are neutralised as from a file. */
	r = RUN("--color=never", "--archive", archdir, corpus.txns[corpus.ctl_txn].trace);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "\\e[31mmallory\\e]0;pwned\\x07"));
	ck_assert_ptr_null(strchr(r.out, 0x1b));
	th_result_free(&r);
}
END_TEST

START_TEST(the_archive_is_found_by_option_environment_and_default)
{
	const char *id = corpus.txns[3].trace;
	char missing[128];
	struct th_result r;

	snprintf(missing, sizeof(missing), "%s/no-such-archive", archdir);
	/* $CLEW_ARCHIVE with no PATH */
	setenv("CLEW_ARCHIVE", archdir, 1);
	r = RUN("-q", id);
	ck_assert_int_eq(r.status, 0);
	th_result_free(&r);
	/* --archive wins over $CLEW_ARCHIVE */
	setenv("CLEW_ARCHIVE", missing, 1);
	r = RUN("-q", "--archive", archdir, id);
	ck_assert_int_eq(r.status, 0);
	th_result_free(&r);
	/* a missing archive: 2 and a message naming it */
	r = RUN(id);
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "no-such-archive"));
	ck_assert_ptr_nonnull(strstr(r.err, "no such directory"));
	th_result_free(&r);
	r = RUN("--archive", missing, id);
	ck_assert_int_eq(r.status, 2);
	th_result_free(&r);
	/* files and an archive together: found, but the missing archive still makes it 2 */
	r = RUN("-q", "--archive", missing, id, dir);
	ck_assert_int_eq(r.status, 2);
	th_result_free(&r);
	unsetenv("CLEW_ARCHIVE");
	/* the default is documented */
	r = RUN("--help");
	ck_assert_ptr_nonnull(strstr(r.out, "/var/lib/clew/archive"));
	ck_assert_ptr_nonnull(strstr(r.out, "CLEW_ARCHIVE"));
	th_result_free(&r);
}
END_TEST

START_TEST(since_and_until_narrow_the_lookup)
{
	const char *id = corpus.txns[3].trace;
	struct th_result r;

	/* The corpus is at 2026-11-23T07:00Z and a few seconds after. */
	r = RUN("-q", "--archive", archdir, "--since", "2026-11-23T06:00:00Z", "--until",
		"2026-11-23T08:00:00Z", id);
	ck_assert_int_eq(r.status, 0);
	th_result_free(&r);
	r = RUN("-q", "--archive", archdir, "--since", "2026-11-23T09:00:00Z", id);
	ck_assert_int_eq(r.status, 1);
	th_result_free(&r);
	r = RUN("-q", "--archive", archdir, "--until", "2026-11-23T06:59:00+00:00", id);
	ck_assert_int_eq(r.status, 1);
	th_result_free(&r);
	/* An age: the corpus is dated 2026-11-23, so "the last 1000 days" holds it and "1s" does not. */
	r = RUN("-q", "--archive", archdir, "--since", "1000d", id);
	ck_assert_int_eq(r.status, 0);
	th_result_free(&r);
	r = RUN("--stats", "-q", "--archive", archdir, "--until", "2000-01-01T00:00:00Z", id);
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(strstr(r.err, " 0 examined"));
	th_result_free(&r);
	/* Bad times, a window with no archive, an empty window: usage errors. */
	r = RUN("--archive", archdir, "--since", "yesterday", id);
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "--since"));
	th_result_free(&r);
	r = RUN("--archive", archdir, "--until", "5x", id);
	ck_assert_int_eq(r.status, 2);
	th_result_free(&r);
	r = RUN("--since", "1h", id, dir);
	ck_assert_int_eq(r.status, 2);
	th_result_free(&r);
	r = RUN("--archive", archdir, "--since", "2026-11-23T09:00:00Z", "--until", "2026-11-23T08:00:00Z",
		id);
	ck_assert_int_eq(r.status, 2);
	th_result_free(&r);
}
END_TEST

/*
 * extradir's log: lines no parser takes (they become raw records in the
 * archive, and mention "abc" and "zzextra"), then transaction zzextra with
 * a multi-line record. The archive holds these besides the corpus.
 */
static const char extra_log[] = "orphan line before any record mentions abc and zzextra\n"
				"{\"trace\":\"abc\",\"message\":\"not JSON: the object never ends\n"
				"\tat continuation.of(Broken.java:1)\n"
				"2026-11-23T07:00:01.5Z ERROR zzextra:s1|extra|GET|/x|msg=failed|n=1\n"
				"java.lang.IllegalStateException: zzextra\n"
				"\tat a.B(B.java:2)\n"
				"\n"
				"{\"ts\":\"2026-11-23T07:00:01.6Z\",\"trace\":\"zzextra\",\"span\":\"s2\","
				"\"parent\":\"s1\",\"service\":\"extra\",\"msg\":\"json \\\"quoted\\\"\"}\n"
				"Traceback (most recent call last):\n"
				"  File \"x.py\", line 1\n";

START_TEST(raw_records_never_match_and_multiline_records_survive)
{
	struct th_result f = RUN("--lines", "zzextra", extradir),
			 a = RUN("--lines", "--archive", archdir, "zzextra");
	struct strs fs = split_records(f.out, f.len), as = split_records(a.out, a.len);

	ck_assert_int_eq(f.status, 0);
	ck_assert_int_eq(a.status, 0);
	ck_assert_uint_eq(fs.n, 2);
	assert_same(&as, &fs, "zzextra");
	ck_assert_ptr_nonnull(strstr(a.out, "\tat a.B(B.java:2)"));
	ck_assert_ptr_nonnull(strstr(a.out, "\n  File \"x.py\", line 1"));
	strs_free(&fs);
	strs_free(&as);
	th_result_free(&f);
	th_result_free(&a);
	/* The broken JSON line names trace abc, but as a raw record it is no record of abc. */
	check_lines("abc", 0, NULL);
}
END_TEST

static Suite *archive_suite(void)
{
	Suite *s = suite_create("tracegrep-archive");
	TCase *tc = tcase_create("corpus");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, every_transaction_is_the_same_via_the_archive);
	tcase_add_test(tc, every_span_query_is_the_same_via_the_archive);
	tcase_add_test(tc, every_path_query_is_the_same_via_the_archive);
	tcase_add_test(tc, absent_ids_and_broken_paths_find_nothing_via_the_archive);
	tcase_add_test(tc, a_lookup_opens_only_the_segments_that_hold_the_id);
	tcase_add_test(tc, every_output_works_on_the_archive);
	tcase_add_test(tc, raw_records_never_match_and_multiline_records_survive);
	tcase_add_test(tc, the_archive_is_found_by_option_environment_and_default);
	tcase_add_test(tc, since_and_until_narrow_the_lookup);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	SRunner *sr;
	int failed;
	char cmd[512];

	if (argc < 3) {
		fprintf(stderr, "usage: %s PATH-TO-TRACEGREP PATH-TO-ARCHIVE_INGEST\n", argv[0]);
		return 2;
	}
	tracegrep = argv[1];
	ingest = argv[2];
	unsetenv("CLEW_ARCHIVE");
	snprintf(dir, sizeof(dir), "/tmp/tga-corpus-XXXXXX");
	if (!mkdtemp(dir) || snprintf(archdir, sizeof(archdir), "%s-archive", dir) < 0 ||
	    snprintf(extradir, sizeof(extradir), "%s-extra", dir) < 0 || mkdir(extradir, 0700) < 0 ||
	    tcorpus_write(&corpus, dir, NTXNS, 42) < 0) {
		fprintf(stderr, "cannot write the corpus in %s: %s\n", dir, strerror(errno));
		return 2;
	}
	/* 8 records a chunk, 1 KiB segments: the corpus (~230 records) makes a dozen segments. */
	snprintf(cmd, sizeof(cmd), "'%s' --segment-bytes 1024 --chunk-records 8 '%s' '%s'", ingest, archdir,
		 dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "archive_ingest failed: %s\n", cmd);
		return 2;
	}
	snprintf(cmd, sizeof(cmd), "%s/extra.log", extradir);
	{
		FILE *f = fopen(cmd, "w");

		if (!f || fwrite(extra_log, 1, sizeof(extra_log) - 1, f) != sizeof(extra_log) - 1 ||
		    fclose(f) != 0) {
			fprintf(stderr, "cannot write %s\n", cmd);
			return 2;
		}
	}
	/* A second run appends to the archive, as clewd does after a restart. */
	snprintf(cmd, sizeof(cmd), "'%s' --segment-bytes 1024 --chunk-records 8 '%s' '%s'", ingest, archdir,
		 extradir);
	if (system(cmd) != 0) {
		fprintf(stderr, "archive_ingest failed: %s\n", cmd);
		return 2;
	}
	sr = srunner_create(archive_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	tcorpus_free(&corpus);
	if (!getenv("TG_KEEP_CORPUS")) {
		th_remove_tree(dir);
		th_remove_tree(archdir);
		th_remove_tree(extradir);
	} else {
		fprintf(stderr, "corpus kept in %s, archive in %s\n", dir, archdir);
	}
	return failed ? 1 : 0;
}
