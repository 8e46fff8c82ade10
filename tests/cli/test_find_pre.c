/*
 * test_find_pre.c - tracegrep --find's pre-pass on raw files (cli/find_pre.c)
 * never misses a failed transaction.
 *
 * Each transaction has records in two plain files, and one of them shows
 * (or, for the controls, seems to show) a failure in a way the pre-pass's
 * byte tests could get wrong: a status 503 as a JSON number or string, a
 * span's status error, OpenTelemetry's HTTP status keys, a level in another case or spelling (err, 50,
 * log.level, a nested log.level, Serilog's @l, escaped keys and values), the trace under
 * another name or escaped, an object over several lines, CRLF, no
 * timestamp at all; the failing record sometimes in the first file,
 * sometimes in the second. The truth is checked twice: each transaction's
 * error flag against the table, and the whole answer of --error (every
 * limit, threads) against the full scan's (--find with no filter, which
 * takes no pre-pass), line for line.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "th_file.h"
#include "th_proc.h"

static const char *tracegrep;
static char dir[64];

/* The record that shows the failure (or seems to): @T its time, @I its trace. */
static const struct {
	bool fails;
	const char *line;
} cases[] = {
	{true,
	 "{\"timestamp\":\"@T\",\"severity\":\"INFO\",\"service\":\"orders\",\"trace\":\"@I\",\"span\":\"s9\","
	 "\"status\":503}"},
	{true,
	 "{\"timestamp\":\"@T\",\"severity\":\"INFO\",\"service\":\"orders\",\"trace\":\"@I\",\"status\":\"503\"}"},
	{true,
	 "{\"timestamp\":\"@T\",\"severity\":\"INFO\",\"trace\":\"@I\",\"span\":\"s8\",\"event\":\"span\","
	 "\"name\":\"db\",\"dur_us\":5,\"status\":\"error\"}"},
	{true,
	 "{\"timestamp\":\"@T\",\"level\":\"Error\",\"service\":\"orders\",\"trace\":\"@I\",\"message\":\"x\"}"},
	{true, "{\"timestamp\":\"@T\",\"level\":50,\"trace\":\"@I\",\"msg\":\"pino\"}"},
	{true, "{\"timestamp\":\"@T\",\"log.level\":\"FATAL\",\"trace\":\"@I\"}"},
	{true, "{\"timestamp\":\"@T\",\"log\":{\"level\":\"err\"},\"trace\":\"@I\"}"},
	{true, "{\"timestamp\":\"@T\",\"sev\\u0065rity\":\"ERROR\",\"trace\":\"@I\"}"},
	{true, "{\"timestamp\":\"@T\",\"severity\":\"\\u0045RROR\",\"trace\":\"@I\"}"},
	{true, "{\"timestamp\":\"@T\",\"severity\":\"ERROR\",\"trace_id\":\"@I\"}"},
	{true, "{\"timestamp\":\"@T\", \"levelname\" : \"critical\" , \"trace\" : \"@I\"}"},
	{true, "{\"timestamp\":\"@T\",\n  \"severity\":\"ERROR\",\n  \"trace\":\"@I\"}"},
	{true, "{\"timestamp\":\"@T\",\"st\\u0061tus\":500,\"trace\":\"@I\"}"},
	{true, "@T warn @I:s2|billing|POST|/pay|status=502|msg=bad gateway"},
	{true, "@T INFO @I:s2|billing|POST|/pay|status=timeout|msg=t"},
	{true, "@T error @I:s2|billing|POST|/pay|msg=lower case"},
	{true, "@T crit @I|billing|-|-|msg=crit"},
	{true, "@T 60 @I|billing|-|-|msg=pino's fatal"},
	{true, "@T INFO @I:s2|billing|POST|/pay|msg=a\\|b|status=500"},
	{true, "@T INFO @I:s2|billing|POST|/pay|status=503\r"},
	{true, "@T INFO @I:s4|billing|GET|/x|event=span|name=q|dur_us=10|status=ERROR"},
	{true, "@T INFO @I:s2|billing|GET|/x|status=200\rabc|msg=a CR inside the value: text"},
	/* OpenTelemetry's HTTP status keys (query/summary.h), beside a span status that is fine */
	{true,
	 "@T INFO @I:s5|billing|GET|/x|event=span|name=q|dur_us=10|status=unset|http.response.status_code=503"},
	{true, "@T INFO @I:s5|billing|GET|/x|http.status_code=500|msg=older semantic conventions"},
	{true,
	 "{\"timestamp\":\"@T\",\"severity\":\"INFO\",\"trace\":\"@I\",\"http.response.status_code\":504}"},
	{true, "{\"timestamp\":\"@T\",\"severity\":\"INFO\",\"trace\":\"@I\",\"status\":\"ok\","
	       "\"http.status_code\":\"502\"}"},
	/* Serilog's compact JSON (CLEF) and .NET's names: @t, @l, @tr, TraceId */
	{true, "{\"@t\":\"@T\",\"@mt\":\"Payment {Id} failed\",\"@l\":\"Error\",\"Id\":7,\"@tr\":\"@I\"}"},
	{true, "{\"@t\":\"@T\",\"@m\":\"boom\",\"@l\":\"Fatal\",\"TraceId\":\"@I\",\"SpanId\":\"s6\"}"},
	{false, "{\"@t\":\"@T\",\"@m\":\"fine\",\"@l\":\"Information\",\"@tr\":\"@I\"}"},
	{false, "@T INFO @I:s5|billing|GET|/x|http.response.status_code=404|status=ok"},
	{false,
	 "{\"timestamp\":\"@T\",\"severity\":\"INFO\",\"trace\":\"@I\",\"http.status_code\":\"failed\"}"},
	{false, "{\"timestamp\":\"@T\",\"severity\":\"INFO\",\"trace\":\"@I\",\"status\":\"OK\"}"},
	{false, "@T INFO @I:s2|billing|GET|/x|msg=an escaped bar: a\\|status=503"},
	{false, "@T INFO @I:s2|billing|GET|/x|status=499|msg=client"},
	{false, "@T INFO @I:s2|billing|GET|/x|status=unset"},
	{false, "@T INFO @I:s4|billing|GET|/x|event=span|name=q|dur_us=10|status=ok"},
	{false,
	 "{\"timestamp\":\"@T\",\"severity\":\"INFO\",\"trace\":\"@I\",\"msg\":\"ERROR status=503 fatal\"}"},
	{false, "{\"timestamp\":\"@T\",\"severity\":\"INFO\",\"trace\":\"@I\",\"ctx\":{\"status\":503}}"},
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))
/* Two more failed transactions: one whose other records spell its ID with an escape, one with no timestamps. */
#define NTXNS (NCASES + 2)
/*
 * Records of 64 successful transactions, between the first half of the
 * cases and the second: 18 MB, so the first file has two units of
 * work (16 MiB, cli/tg.h), and the latest failed transaction, which has a
 * record in each, must be read from both.
 */
#define NPLAIN 180000
/* That transaction: index NTXNS, its first record before the filler, its failure after it. */
#define SPLIT NTXNS

static void trace_of(size_t i, char *out, size_t cap)
{
	snprintf(out, cap, "pre%02zu5f0e9a7c1d", i);
}

static void ts_of(size_t i, int ms, char *out, size_t cap)
{
	snprintf(out, cap, "2026-11-23T08:%02zu:%02zu.%03dZ", i / 60, i % 60, ms);
}

/* @tmpl with @T and @I replaced, and a newline, appended to @path. */
static void put(const char *path, const char *tmpl, const char *ts, const char *id)
{
	char out[1024];
	size_t n = 0;
	FILE *f;

	for (const char *p = tmpl; *p && n < sizeof(out) - 64; p++) {
		const char *v = p[0] == '@' && p[1] == 'T' ? ts : p[0] == '@' && p[1] == 'I' ? id : NULL;

		if (v) {
			n += (size_t)snprintf(out + n, sizeof(out) - n, "%s", v);
			p++;
		} else {
			out[n++] = *p;
		}
	}
	out[n++] = '\n';
	f = fopen(path, "a");
	if (!f || fwrite(out, 1, n, f) != n || fclose(f) != 0) {
		perror(path); /* written before the tests run: no ck_assert here */
		exit(2);
	}
}

/*
 * Transaction @i: a pipe record first and a JSON one last in one file, the
 * case's record in the other (the second file for even @i, the first for
 * odd ones, so the failure comes before or after the rest).
 */
static void write_txn(size_t i, const char *a, const char *b)
{
	char id[32], t0[40], t1[40], t2[40];
	const char *mine = i % 2 ? b : a, *other = i % 2 ? a : b;

	trace_of(i, id, sizeof(id));
	ts_of(i, 100, t0, sizeof(t0));
	ts_of(i, 200, t1, sizeof(t1));
	ts_of(i, 300, t2, sizeof(t2));
	if (i == NCASES + 1) { /* no timestamp anywhere: its start is 0 */
		put(mine, "@I:s1|gateway|GET|/n|status=200|msg=start", t0, id);
		put(other, "@I:s2|billing|GET|/n|status=500|msg=failed", t1, id);
		return;
	}
	put(mine, "@T INFO @I:s1|gateway|GET|/p|status=200|msg=start", t0, id);
	if (i == NCASES) {
		/* Failed here in plain bytes, the other records name the trace with an escape. */
		put(other, "@T ERROR @I:s2|gateway|-|-|msg=boom", t1, id);
		put(mine,
		    "{\"timestamp\":\"@T\",\"severity\":\"INFO\",\"trace\":\"\\u0070@I\",\"status\":200}", t2,
		    id + 1);
		return;
	}
	if (i < NCASES)
		put(other, cases[i].line, t1, id);
	put(mine,
	    "{\"timestamp\":\"@T\",\"severity\":\"INFO\",\"service\":\"orders\",\"trace\":\"@I\",\"span\":\"s5\","
	    "\"status\":201,\"msg\":\"done\"}",
	    t2, id);
}

static bool fails(size_t i)
{
	return i >= NCASES || cases[i].fails; /* SPLIT too */
}

/* tracegrep --find ARGS... DIR (@args NULL-ended): the result, exit status checked. */
static struct th_result run(const char *const *args, int status)
{
	const char *argv[16];
	size_t n = 0;
	struct th_result r;

	argv[n++] = "--find";
	argv[n++] = "--json";
	for (; *args; args++)
		argv[n++] = *args;
	argv[n++] = dir;
	argv[n] = NULL;
	r = th_run(tracegrep, NULL, argv);
	ck_assert_msg(r.status == status, "exit %d, stderr: %s", r.status, r.err);
	return r;
}

#define RUN(status, ...) run((const char *const[]){__VA_ARGS__, NULL}, status)

/* The lines of @out whose object has @key true (or status in [lo, hi]), the first @limit (0: all). */
static char *pick(const char *out, bool by_status, size_t limit, size_t *n)
{
	char *res = calloc(1, strlen(out) + 1);
	const char *p = out;

	*n = 0;
	while (*p && (!limit || *n < limit)) {
		const char *nl = strchr(p, '\n');
		json_t *o = json_loadb(p, (size_t)(nl - p), 0, NULL);
		bool keep;

		ck_assert_ptr_nonnull(o);
		if (by_status) {
			json_int_t st = json_integer_value(json_object_get(o, "status"));

			keep = st >= 500 && st <= 599;
		} else {
			keep = json_is_true(json_object_get(o, "error"));
		}
		if (keep) {
			strncat(res, p, (size_t)(nl - p) + 1);
			(*n)++;
		}
		json_decref(o);
		p = nl + 1;
	}
	return res;
}

START_TEST(each_case_has_its_error_flag)
{
	struct th_result r = RUN(0, "--limit", "0");

	for (size_t i = 0; i <= SPLIT; i++) {
		char id[32], want[64];
		const char *at, *ls, *le;
		json_t *o;

		trace_of(i, id, sizeof(id));
		snprintf(want, sizeof(want), "\"trace\":\"%s\"", id);
		at = strstr(r.out, want);
		ck_assert_msg(at != NULL, "transaction %s missing", id);
		for (ls = at; ls > r.out && ls[-1] != '\n'; ls--)
			;
		le = strchr(at, '\n');
		o = json_loadb(ls, (size_t)(le - ls), 0, NULL);
		ck_assert_ptr_nonnull(o);
		ck_assert_msg(json_is_true(json_object_get(o, "error")) == fails(i),
			      "transaction %s (case %zu): error should be %d", id, i, fails(i));
		json_decref(o);
	}
	th_result_free(&r);
}
END_TEST

/* --error and --status 5xx (the pre-pass) give the full scan's lines, at every limit and thread count. */
START_TEST(the_pre_pass_answers_as_the_full_scan)
{
	static const char *const limits[] = {"0", "1", "3", "20"};
	struct th_result all = RUN(0, "--limit", "0");

	for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
		for (int by_status = 0; by_status < 2; by_status++) {
			for (int j = 0; j < 2; j++) {
				size_t nwant = 0;
				char *want = pick(all.out, by_status, (size_t)atoi(limits[l]), &nwant);
				struct th_result r = by_status ? RUN(0, "--status", "5xx", "--limit",
								     limits[l], "-j", j ? "3" : "1")
							       : RUN(0, "--error", "--limit", limits[l], "-j",
								     j ? "3" : "1");

				ck_assert_uint_gt(nwant, 0);
				ck_assert_msg(strcmp(r.out, want) == 0,
					      "--limit %s %s: got\n%.400s\nwant\n%.400s", limits[l],
					      by_status ? "--status 5xx" : "--error", r.out, want);
				free(want);
				th_result_free(&r);
			}
		}
	}
	th_result_free(&all);
	/* Longest first: the pre-pass without the time bounds. */
	all = RUN(0, "--limit", "0", "--sort", "duration");
	for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
		size_t nwant = 0;
		char *want = pick(all.out, false, (size_t)atoi(limits[l]), &nwant);
		struct th_result r = RUN(0, "--error", "--sort", "duration", "--limit", limits[l]);

		ck_assert_msg(strcmp(r.out, want) == 0,
			      "--sort duration --limit %s --error: got\n%.400s\nwant\n%.400s", limits[l],
			      r.out, want);
		free(want);
		th_result_free(&r);
	}
	th_result_free(&all);
}
END_TEST

START_TEST(the_count_of_matches_is_every_failed_one)
{
	struct th_result r = RUN(0, "--error", "--limit", "2");
	char want[96];
	size_t nfailed = 0;

	for (size_t i = 0; i <= SPLIT; i++)
		nfailed += fails(i);
	snprintf(want, sizeof(want), "2 of %zu matching transactions shown", nfailed);
	ck_assert_msg(strstr(r.err, want) != NULL, "stderr: %s (want %s)", r.err, want);
	th_result_free(&r);
	/* --open shows the latest failed one's records. */
	r = RUN(0, "--error", "--open");
	ck_assert_ptr_nonnull(strstr(r.out, "pre"));
	th_result_free(&r);
}
END_TEST

static Suite *pre_suite(void)
{
	Suite *s = suite_create("tracegrep --find pre-pass");
	TCase *tc = tcase_create("pre-pass");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, each_case_has_its_error_flag);
	tcase_add_test(tc, the_pre_pass_answers_as_the_full_scan);
	tcase_add_test(tc, the_count_of_matches_is_every_failed_one);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	char a[96], b[96], id[32], t[40];
	SRunner *sr;
	int failed;

	if (argc < 2) {
		fprintf(stderr, "usage: %s TRACEGREP\n", argv[0]);
		return 2;
	}
	tracegrep = argv[1];
	unsetenv("CLEW_ARCHIVE");
	snprintf(dir, sizeof(dir), "/tmp/tg-find-pre-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(a, sizeof(a), "%s/a.log", dir);
	snprintf(b, sizeof(b), "%s/b.log", dir);
	trace_of(SPLIT, id, sizeof(id));
	ts_of(3599, 100, t, sizeof(t));
	put(a, "@T INFO @I:s1|gateway|GET|/late|status=200|msg=start", t, id);
	for (size_t i = 0; i < NTXNS; i++) {
		if (i == NTXNS / 2) {
			FILE *f = fopen(a, "a");

			for (size_t k = 0; f && k < NPLAIN; k++)
				fprintf(f,
					"2026-11-23T07:%02zu:%02zu.%06zuZ INFO ok%02zu77ab:s1|gateway|GET|/ok|status=200|msg=fine\n",
					k / 3000 % 60, k / 50 % 60, k % 50, k % 64);
			if (!f || fclose(f) != 0) {
				perror(a);
				return 2;
			}
		}
		write_txn(i, a, b);
	}
	ts_of(3599, 900, t, sizeof(t));
	put(a, "@T ERROR @I:s1|gateway|GET|/late|status=500|msg=late failure", t, id);
	sr = srunner_create(pre_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (th_remove_tree(dir) != 0)
		failed++;
	return failed ? 1 : 0;
}
