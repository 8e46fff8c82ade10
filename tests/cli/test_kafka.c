/*
 * test_kafka.c - tracegrep --kafka on topics filled by clewd gives what
 * tracegrep gives on the log files, and the corpus's truth.
 *
 * The corpus of test_tracegrep.c (corpus.c: known truth, pipe and JSON
 * services, rotated and compressed files, multi-line records, IDs that
 * are prefixes of others, mentions, clock skew), plus lines no parser
 * takes, is written to a temporary directory, decompressed, and fed to
 * one clewd (argv[2]) reading stdin with three Kafka outputs into a mock
 * cluster (argv[3], tests/helpers/kafka_mock, a process on 127.0.0.1):
 *
 * - corpus-raw (format raw, timestamp record): every query of the file
 *   and archive tests, compared with the files and with the truth:
 *   --lines (records by meaning: a record may be written again) and
 *   --json (the same span tree, the same records);
 * - corpus-msgpack (format msgpack): the same, every transaction;
 * - corpus-json (the default Logstash JSON events): the same span tree
 *   and record count for every transaction (the events carry @version
 *   and host, and a stack trace inside the message, so the records
 *   themselves are not the files' lines).
 *
 * --stats shows a transaction read one partition and a span every one;
 * --since/--until narrow by the records' times (timestamp record).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "compare.h"
#include "corpus.h"
#include "kmock.h"
#include "th_file.h"
#include "th_proc.h"

#define NTXNS 12
#define PARTS 5

static const char *tracegrep, *clewd;
static char dir[64];	  /* the corpus */
static char extradir[80]; /* garbage and a multi-line record, loaded too */
static struct tcorpus corpus;
static struct kmock km;

#define RUN(...) th_run(tracegrep, NULL, (const char *const[]){__VA_ARGS__, NULL})
#define KAFKA(topic) "--kafka", km.bootstrap, "--topic", (topic)

/* ---- the queries ---- */

static const int span_slots[] = {TC_G, TC_O, TC_S, TC_D, TC_B, TC_I, TC_X, TC_Y, TC_V};

/* --lines via @topic == via the files == the truth (@txn < 0: an absent ID). */
static void check_lines(const char *topic, const char *id, int txn, const char *top)
{
	struct th_result f = RUN("--lines", id, dir), k = RUN("--lines", KAFKA(topic), id);
	struct strs fs = split_records(f.out, f.len), ks = split_records(k.out, k.len);
	char what[256];

	snprintf(what, sizeof(what), "%s via %s", id, topic);
	ck_assert_msg(k.status == f.status, "%s: status %d via Kafka, %d via files (%s)", what, k.status,
		      f.status, k.err);
	assert_same(&ks, &fs, what);
	if (txn >= 0) {
		struct strs want = truth_records(&corpus, txn, top);

		ck_assert_msg(k.status == 0, "%s: status %d (%s)", what, k.status, k.err);
		assert_same(&ks, &want, what);
		strs_free(&want);
	} else {
		ck_assert_msg(k.status == 1 && k.len == 0, "%s: status %d, %zu bytes", what, k.status, k.len);
	}
	strs_free(&fs);
	strs_free(&ks);
	th_result_free(&f);
	th_result_free(&k);
}

/*
 * --json via @topic == via the files: the same spans (every member but
 * the record indexes, and as many records each); with @records, the same
 * records too (all members but source, offset and text).
 */
static void check_json(const char *topic, const char *id, bool records)
{
	struct th_result f = RUN("--json", id, dir), k = RUN("--json", KAFKA(topic), id);
	json_t *fd, *kd, *fsp, *ksp, *s;
	struct strs fr = {0}, kr = {0};
	size_t i;

	ck_assert_msg(k.status == 0 && f.status == 0, "%s via %s: status %d / %d (%s)", id, topic, k.status,
		      f.status, k.err);
	fd = json_loadb(f.out, f.len, 0, NULL);
	kd = json_loadb(k.out, k.len, 0, NULL);
	ck_assert_msg(fd && kd, "%s via %s: not JSON", id, topic);
	ck_assert(json_equal(json_object_get(fd, "id"), json_object_get(kd, "id")));
	ck_assert(json_equal(json_object_get(fd, "start"), json_object_get(kd, "start")));
	fsp = json_object_get(fd, "spans");
	ksp = json_object_get(kd, "spans");
	ck_assert_msg(json_array_size(fsp) == json_array_size(ksp), "%s via %s: %zu spans, %zu via files", id,
		      topic, json_array_size(ksp), json_array_size(fsp));
	ck_assert_uint_gt(json_array_size(fsp), 0);
	json_array_foreach(fsp, i, s)
	{
		const char *sid = json_string_value(json_object_get(s, "id"));
		json_t *o = span_by_id(ksp, sid), *x, *y;

		ck_assert_msg(o, "%s via %s: span %s missing", id, topic, sid);
		ck_assert_msg(json_array_size(json_object_get(s, "records")) ==
				      json_array_size(json_object_get(o, "records")),
			      "%s via %s: span %s: %zu records, %zu via files", id, topic, sid,
			      json_array_size(json_object_get(o, "records")),
			      json_array_size(json_object_get(s, "records")));
		x = json_deep_copy(s);
		y = json_deep_copy(o);
		json_object_del(x, "records");
		json_object_del(y, "records");
		if (!json_equal(x, y)) {
			char *xs = json_dumps(x, JSON_SORT_KEYS), *ys = json_dumps(y, JSON_SORT_KEYS);

			ck_abort_msg("%s via %s: span %s differs:\nfiles %s\nkafka %s", id, topic, sid, xs,
				     ys);
		}
		json_decref(x);
		json_decref(y);
	}
	ck_assert_uint_eq(json_array_size(json_object_get(kd, "records")),
			  json_array_size(json_object_get(fd, "records")));
	if (records) {
		json_array_foreach(json_object_get(fd, "records"), i, s) strs_push(&fr, record_meaning(s));
		json_array_foreach(json_object_get(kd, "records"), i, s) strs_push(&kr, record_meaning(s));
		assert_same(&kr, &fr, id);
		strs_free(&fr);
		strs_free(&kr);
	}
	json_decref(fd);
	json_decref(kd);
	th_result_free(&f);
	th_result_free(&k);
}

START_TEST(every_transaction_is_the_same_via_kafka)
{
	for (size_t t = 0; t < corpus.ntxns; t++) {
		check_lines("corpus-raw", corpus.txns[t].trace, (int)t, NULL);
		check_json("corpus-raw", corpus.txns[t].trace, true);
	}
}
END_TEST

START_TEST(every_span_query_is_the_same_via_kafka)
{
	for (int t = 1; t < 5; t++)
		for (size_t k = 0; k < sizeof(span_slots) / sizeof(span_slots[0]); k++) {
			const char *s = corpus.txns[t].spans[span_slots[k]];

			check_lines("corpus-raw", s, t, s);
			check_json("corpus-raw", s, true);
		}
	/* "abc-x" is transaction 1's G; "abc" and "abcd" are transactions. */
	check_lines("corpus-raw", "abc-x", 1, "abc-x");
}
END_TEST

START_TEST(every_path_query_is_the_same_via_kafka)
{
	char q[128];

	for (int t = 5; t < 8; t++)
		for (size_t k = 0; k < sizeof(span_slots) / sizeof(span_slots[0]); k++) {
			const char *s = corpus.txns[t].spans[span_slots[k]];

			snprintf(q, sizeof(q), "%s:%s", corpus.txns[t].trace, s);
			check_lines("corpus-raw", q, t, s);
			check_json("corpus-raw", q, true);
		}
}
END_TEST

START_TEST(absent_ids_and_broken_paths_find_nothing_via_kafka)
{
	static const char *const absent[] = {"ab",   "abcde", "bc",
					     "zzzz", "abc-",  "0123456789abcdef0123456789abcdef"};
	const struct tc_txn *t = &corpus.txns[4], *o = &corpus.txns[5];
	char q[256];

	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		check_lines("corpus-raw", absent[i], -1, NULL);
	snprintf(q, sizeof(q), "%s:%s:%s", t->trace, t->spans[TC_X], t->spans[TC_S]);
	check_lines("corpus-raw", q, -1, NULL);
	snprintf(q, sizeof(q), "%s:%s", o->trace, t->spans[TC_S]);
	check_lines("corpus-raw", q, -1, NULL);
}
END_TEST

START_TEST(msgpack_payloads_give_the_same_transactions)
{
	for (size_t t = 0; t < corpus.ntxns; t++) {
		check_lines("corpus-msgpack", corpus.txns[t].trace, (int)t, NULL);
		check_json("corpus-msgpack", corpus.txns[t].trace, true);
	}
	check_lines("corpus-msgpack", corpus.txns[2].spans[TC_S], 2, corpus.txns[2].spans[TC_S]);
}
END_TEST

START_TEST(json_payloads_give_the_same_span_trees)
{
	for (size_t t = 0; t < corpus.ntxns; t++)
		check_json("corpus-json", corpus.txns[t].trace, false);
	for (size_t k = 0; k < sizeof(span_slots) / sizeof(span_slots[0]); k++)
		check_json("corpus-json", corpus.txns[3].spans[span_slots[k]], false);
}
END_TEST

/* The counters --stats reports for the read named @what ("find" or "scan for"). */
static bool read_stats(const char *err, const char *what, unsigned *parts, unsigned *of)
{
	const char *p = strstr(err, what);

	if (!p || !(p = strstr(p, ": ")))
		return false;
	return sscanf(p, ": %u of %u partitions read", parts, of) == 2;
}

START_TEST(a_transaction_reads_one_partition_a_span_every_partition)
{
	unsigned parts, of;
	struct th_result r;

	for (size_t t = 0; t < corpus.ntxns; t++) {
		r = RUN("--stats", "--lines", KAFKA("corpus-raw"), corpus.txns[t].trace);
		ck_assert_int_eq(r.status, 0);
		ck_assert_msg(read_stats(r.err, "find", &parts, &of), "no stats in: %s", r.err);
		ck_assert_uint_eq(parts, 1);
		ck_assert_uint_eq(of, PARTS);
		ck_assert_msg(!strstr(r.err, "scan for"), "a transaction read every partition: %s", r.err);
		th_result_free(&r);
	}
	r = RUN("--stats", "-q", KAFKA("corpus-raw"), corpus.txns[2].spans[TC_S]);
	ck_assert_int_eq(r.status, 0);
	ck_assert(read_stats(r.err, "scan for", &parts, &of));
	ck_assert_uint_eq(parts, PARTS - 1);
	/* then the span's transaction: one partition */
	ck_assert(read_stats(strstr(r.err, "scan for"), corpus.txns[2].trace, &parts, &of));
	ck_assert_uint_eq(parts, 1);
	th_result_free(&r);
}
END_TEST

START_TEST(raw_records_never_match_and_multiline_records_survive)
{
	struct th_result f = RUN("--lines", "zzextra", extradir),
			 k = RUN("--lines", KAFKA("corpus-raw"), "zzextra");
	struct strs fs = split_records(f.out, f.len), ks = split_records(k.out, k.len);

	ck_assert_int_eq(f.status, 0);
	ck_assert_int_eq(k.status, 0);
	ck_assert_uint_eq(fs.n, 2);
	assert_same(&ks, &fs, "zzextra");
	ck_assert_ptr_nonnull(strstr(k.out, "\tat a.B(B.java:2)"));
	ck_assert_ptr_nonnull(strstr(k.out, "\n  File \"x.py\", line 1"));
	strs_free(&fs);
	strs_free(&ks);
	th_result_free(&f);
	th_result_free(&k);
	/* The broken JSON line names trace abc, but as a raw record it is no record of abc. */
	check_lines("corpus-raw", "abc", 0, NULL);
}
END_TEST

START_TEST(since_and_until_narrow_the_read)
{
	const char *id = corpus.txns[3].trace;
	struct th_result r;

	/* corpus-raw's messages carry the records' times: 2026-11-23T07:00Z and a few seconds after */
	r = RUN("-q", KAFKA("corpus-raw"), "--since", "2026-11-23T06:00:00Z", "--until",
		"2026-11-23T08:00:00Z", id);
	ck_assert_int_eq(r.status, 0);
	th_result_free(&r);
	r = RUN("-q", KAFKA("corpus-raw"), "--since", "2026-11-23T09:00:00Z", id);
	ck_assert_int_eq(r.status, 1);
	th_result_free(&r);
	r = RUN("--stats", "-q", KAFKA("corpus-raw"), "--until", "2026-11-23T06:00:00Z", id);
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(strstr(r.err, "partitions read, 0 messages"));
	th_result_free(&r);
	/* the window reaches into the transaction: only its records in it */
	r = RUN("--lines", KAFKA("corpus-raw"), "--since", "2026-11-23T06:00:00Z", id);
	ck_assert_int_eq(r.status, 0);
	th_result_free(&r);
}
END_TEST

START_TEST(kafka_errors_exit_with_status_two)
{
	const char *id = corpus.txns[3].trace;
	struct th_result r;

	r = RUN("--kafka", km.bootstrap, id);
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "--kafka and --topic go together"));
	th_result_free(&r);
	r = RUN(KAFKA("corpus-raw"), "--kafka-property", "no.such.property=1", id);
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "no.such.property"));
	th_result_free(&r);
	/* nothing listens on port 1: the metadata request times out */
	r = RUN(KAFKA("corpus-raw"), "--kafka", "127.0.0.1:1", id);
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "127.0.0.1:1"));
	th_result_free(&r);
	/* found in the files, but the Kafka source failed: still 2, as grep */
	r = RUN("-q", "--kafka", "127.0.0.1:1", "--topic", "corpus-raw", id, dir);
	ck_assert_int_eq(r.status, 2);
	th_result_free(&r);
	r = RUN("--help");
	ck_assert_ptr_nonnull(strstr(r.out, "--kafka BROKERS"));
	ck_assert_ptr_nonnull(strstr(r.out, "--topic TOPIC"));
	th_result_free(&r);
}
END_TEST

static Suite *kafka_suite(void)
{
	Suite *s = suite_create("tracegrep-kafka");
	TCase *tc = tcase_create("corpus");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, every_transaction_is_the_same_via_kafka);
	tcase_add_test(tc, every_span_query_is_the_same_via_kafka);
	tcase_add_test(tc, every_path_query_is_the_same_via_kafka);
	tcase_add_test(tc, absent_ids_and_broken_paths_find_nothing_via_kafka);
	tcase_add_test(tc, msgpack_payloads_give_the_same_transactions);
	tcase_add_test(tc, json_payloads_give_the_same_span_trees);
	tcase_add_test(tc, a_transaction_reads_one_partition_a_span_every_partition);
	tcase_add_test(tc, raw_records_never_match_and_multiline_records_survive);
	tcase_add_test(tc, since_and_until_narrow_the_read);
	tcase_add_test(tc, kafka_errors_exit_with_status_two);
	suite_add_tcase(s, tc);
	return s;
}

/* ---- loading the corpus through clewd ---- */

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

/* Append the decompressed content of @path (plain, gzip or zstd) to @out. */
static int append_file(FILE *out, const char *path)
{
	size_t len = strlen(path);

	if (len > 4 && strcmp(path + len - 4, ".zst") == 0) {
		FILE *f = fopen(path, "rb");
		char *z, *raw;
		long n;
		unsigned long long size;
		int rc;

		if (!f)
			return -1;
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		fseek(f, 0, SEEK_SET);
		z = malloc((size_t)n);
		rc = fread(z, 1, (size_t)n, f) == (size_t)n ? 0 : -1;
		fclose(f);
		size = ZSTD_getFrameContentSize(z, (size_t)n);
		if (rc < 0 || size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN) {
			free(z);
			return -1;
		}
		raw = malloc(size + 1);
		if (ZSTD_isError(ZSTD_decompress(raw, size, z, (size_t)n)) ||
		    fwrite(raw, 1, size, out) != size)
			rc = -1;
		free(z);
		free(raw);
		return rc;
	}
	{
		/* gzread() reads plain files as they are */
		gzFile g = gzopen(path, "rb");
		char buf[65536];
		int n;

		if (!g)
			return -1;
		while ((n = gzread(g, buf, sizeof(buf))) > 0)
			if (fwrite(buf, 1, (size_t)n, out) != (size_t)n) {
				gzclose(g);
				return -1;
			}
		gzclose(g);
		return n < 0 ? -1 : 0;
	}
}

/* Append every file under @path (recursively) to @out. */
static int append_tree(FILE *out, const char *path)
{
	struct dirent **names;
	int n = scandir(path, &names, NULL, alphasort), rc = 0;

	if (n < 0)
		return append_file(out, path);
	for (int i = 0; i < n; i++) {
		char sub[4096];

		if (names[i]->d_name[0] != '.') {
			snprintf(sub, sizeof(sub), "%s/%s", path, names[i]->d_name);
			rc |= append_tree(out, sub);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

/* Feed the files under @src, concatenated, to clewd with three Kafka outputs. */
static int load(const char *src, const char *stream)
{
	char raw[1024], mp[1024], js[1024];
	FILE *f = fopen(stream, "w");
	pid_t pid;
	int st = 0;

	if (!f || append_tree(f, src) < 0 || fclose(f) != 0)
		return -1;
	snprintf(raw, sizeof(raw), "kafka://%s/corpus-raw?format=raw&timestamp=record", km.bootstrap);
	snprintf(mp, sizeof(mp), "kafka://%s/corpus-msgpack?format=msgpack", km.bootstrap);
	snprintf(js, sizeof(js), "kafka://%s/corpus-json", km.bootstrap);
	/* a loaded machine may be slow to connect: the drain at EOF waits for every acknowledgement */
	setenv("CLEWD_DRAIN_TIMEOUT", "120s", 1);
	/* not th_run(): Check's asserts only work inside a test */
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int in = open(stream, O_RDONLY);

		if (in < 0)
			_exit(127);
		dup2(in, 0);
		execv(clewd,
		      (char *const *)(uintptr_t)(const char *const[]){clewd, "-i", "stdin", "-p", "auto",
								      "-o", raw, "-o", mp, "-o", js, NULL});
		_exit(127);
	}
	unsetenv("CLEWD_DRAIN_TIMEOUT");
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "clewd failed (status 0x%x)\n", st);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const topics[] = {"corpus-raw:5", "corpus-msgpack:5", "corpus-json:5", NULL};
	char stream[128], cmd[512];
	SRunner *sr;
	int failed;

	if (argc < 4) {
		fprintf(stderr, "usage: %s PATH-TO-TRACEGREP PATH-TO-CLEWD PATH-TO-KAFKA_MOCK\n", argv[0]);
		return 2;
	}
	tracegrep = argv[1];
	clewd = argv[2];
	unsetenv("CLEW_ARCHIVE");
	snprintf(dir, sizeof(dir), "/tmp/tgk-corpus-XXXXXX");
	if (!mkdtemp(dir) || snprintf(extradir, sizeof(extradir), "%s-extra", dir) < 0 ||
	    mkdir(extradir, 0700) < 0 || tcorpus_write(&corpus, dir, NTXNS, 42) < 0) {
		fprintf(stderr, "cannot write the corpus in %s: %s\n", dir, strerror(errno));
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
	if (kmock_start(&km, argv[3], 3, topics) < 0)
		return 2;
	snprintf(stream, sizeof(stream), "%s-stream", dir);
	/* the extra log in a second run, as clewd after a restart: its orphan line starts no record */
	if (load(dir, stream) < 0 || load(extradir, stream) < 0) {
		fprintf(stderr, "loading the corpus through clewd failed\n");
		kmock_stop(&km);
		return 2;
	}
	sr = srunner_create(kafka_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	kmock_stop(&km);
	tcorpus_free(&corpus);
	th_remove_tree(dir);
	th_remove_tree(extradir);
	th_remove_tree(stream);
	return failed ? 1 : 0;
}
