/*
 * test_regex_daemon.c - clewd with regex parsers, end to end: real
 * processes, real files, the output read back with jansson.
 *
 * The Java test runs a real JVM whose java.util.logging writes records
 * with stack traces (an exception and its cause), and reads them through
 * clewd -i stdin with -p regex: and --multiline-start: every record must
 * come out whole and parsed, lines before the first record and lines the
 * regex does not match come out as raw records. The YAML test tails two
 * files with two parsers (a named regex parser for one input, the global
 * pipe/JSON parser for the other) and checks each record against its file.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
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

#include "fmt/record.h"
#include "fmt/ts.h"

static char tmp[512];

static void setup(void)
{
	th_tmpdir(tmp, sizeof(tmp), NULL, "clewd-regex");
}

static void teardown(void)
{
	ck_assert_int_eq(th_remove_tree(tmp), 0);
}

/* Start @argv (looked up in PATH) with stdin from @in, stdout to @out, stderr to @err (NULL: /dev/null). */
static pid_t spawn(const char **argv, const char *in, const char *out, const char *err)
{
	return th_spawn(argv, &(struct th_io){.in = in, .out = out, .err = err, .search_path = true});
}

/* The JSON lines of @path, parsed; *n set to their count. */
static json_t **read_records(const char *path, size_t *n)
{
	size_t len, cap = 64;
	char *buf = th_slurp_must(path, &len);
	json_t **recs = malloc(cap * sizeof(*recs));

	*n = 0;
	for (char *p = buf, *e; p < buf + len; p = e + 1) {
		json_error_t je;

		e = strchr(p, '\n');
		ck_assert_ptr_nonnull(e);
		if (*n == cap)
			recs = realloc(recs, (cap *= 2) * sizeof(*recs));
		recs[*n] = json_loadb(p, (size_t)(e - p), 0, &je);
		ck_assert_msg(recs[*n] != NULL, "not JSON: %.*s (%s)", (int)(e - p), p, je.text);
		(*n)++;
	}
	free(buf);
	return recs;
}

static void free_records(json_t **recs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(recs[i]);
	free(recs);
}

static const char *str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_string(v), "no string %s in %s", key, json_dumps(o, JSON_COMPACT));
	return json_string_value(v);
}

/* --- a JVM's log through -p regex: and --multiline-start ------------------------- */

static const char java_src[] =
	"import java.util.logging.*;\n"
	"public class Gen {\n"
	"  static void fail(int i) {\n"
	"    try { Integer.parseInt(\"x\" + i); }\n"
	"    catch (NumberFormatException e) { throw new IllegalStateException(\"bad input \" + i, e); }\n"
	"  }\n"
	"  public static void main(String[] a) {\n"
	"    Logger log = Logger.getLogger(\"orders\");\n"
	"    int n = Integer.parseInt(a[0]);\n"
	"    for (int i = 0; i < n; i++) {\n"
	"      if (i % 10 == 7) {\n"
	"        try { fail(i); } catch (RuntimeException e) { log.log(Level.SEVERE, \"request \" + i + \" failed\", "
	"e); }\n"
	"      } else if (i % 10 == 3) {\n"
	"        log.warning(\"request \" + i + \" slow\");\n"
	"      } else {\n"
	"        log.info(\"request \" + i + \" ok\");\n"
	"      }\n"
	"    }\n"
	"  }\n"
	"}\n";

/* The text's time "YYYY-MM-DD HH:MM:SS.mmm" (UTC) in ns, by the C library. */
static int64_t java_ts(const char *text)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(text, "%Y-%m-%d %H:%M:%S", &tm);
	ck_assert_msg(end && *end == '.', "bad time %s", text);
	return (int64_t)timegm(&tm) * 1000000000 + strtol(end + 1, NULL, 10) * 1000000;
}

START_TEST(java_stack_traces_join_under_a_start_pattern_and_parse_with_the_regex)
{
	enum { N = 60 };
	char src[600], log[600], out[600], err[600], fmtprop[200], want[128];
	const char *java[] = {"java", "-Duser.timezone=UTC", fmtprop, src, "60", NULL};
	const char *clewd[] = {
		th_env_bin("CLEWD_BIN"),
		"-i",
		"stdin",
		"-o",
		"stdout:json",
		"-p",
		"regex:^(?<time>\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3}) (?<level>[A-Z]+) "
		"\\[(?<service>[^\\]]+)\\] (?<message>.*)$",
		"--time-format",
		"%Y-%m-%d %H:%M:%S.%f",
		"--multiline-start",
		"^\\d{4}-\\d\\d-\\d\\d ",
		NULL};
	size_t n, len, conts = 0;
	json_t **recs;
	char *raw, *line;

	snprintf(src, sizeof(src), "%s/Gen.java", tmp);
	snprintf(log, sizeof(log), "%s/app.log", tmp);
	snprintf(out, sizeof(out), "%s/out.json", tmp);
	snprintf(err, sizeof(err), "%s/err", tmp);
	snprintf(fmtprop, sizeof(fmtprop), "-Djava.util.logging.SimpleFormatter.format=%s",
		 "%1$tY-%1$tm-%1$td %1$tH:%1$tM:%1$tS.%1$tL %4$s [%3$s] %5$s%6$s%n");
	th_write_text(src, java_src);
	th_write_text(log, "preamble: a line before any record\n");
	/* java.util.logging's ConsoleHandler writes to stderr, appended to the log */
	ck_assert_int_eq(th_wait(spawn(java, NULL, NULL, log)), 0);
	th_append_text(log, "2026-11-23 12:00:00.000 this line starts a record the regex does not match\n");

	/* the log itself: every 10th record carries a stack trace of several lines */
	raw = th_slurp_must(log, &len);
	for (line = raw; (line = strchr(line, '\n')) && line[1]; line++)
		if (line[1] == '\t' || strncmp(line + 1, "Caused by: ", 11) == 0 ||
		    strncmp(line + 1, "java.", 5) == 0)
			conts++;
	ck_assert_uint_ge(conts, 6 * 5);

	ck_assert_int_eq(th_wait(spawn(clewd, log, out, err)), 0);
	recs = read_records(out, &n);
	ck_assert_uint_eq(n, N + 2);

	/* lines the regex does not take: raw records, flagged, in their place */
	ck_assert_str_eq(str(recs[0], "message"), "preamble: a line before any record");
	ck_assert_str_eq(str(recs[0], "_unparsed"), "line does not match the regex");
	ck_assert_str_eq(str(recs[N + 1], "message"),
			 "2026-11-23 12:00:00.000 this line starts a record the regex does not match");
	ck_assert_str_eq(str(recs[N + 1], "_unparsed"), "line does not match the regex");

	for (int i = 0; i < N; i++) {
		json_t *r = recs[i + 1];
		const char *msg = str(r, "message"), *ts = str(r, "timestamp"), *rawline;
		int64_t got;

		ck_assert_ptr_null(json_object_get(r, "_unparsed"));
		ck_assert_str_eq(str(r, "service"), "orders");
		ck_assert(fmt_ts_parse(ts, strlen(ts), &got, NULL) == 0);
		/* the same record's first line in the log, found by its message */
		snprintf(want, sizeof(want), "] request %d ", i);
		rawline = strstr(raw, want);
		ck_assert_ptr_nonnull(rawline);
		while (rawline > raw && rawline[-1] != '\n')
			rawline--;
		ck_assert_int_eq(got, java_ts(rawline));
		if (i % 10 == 7) {
			snprintf(
				want, sizeof(want),
				"request %d failed\njava.lang.IllegalStateException: bad input %d\n\tat Gen.fail(",
				i, i);
			ck_assert_str_eq(str(r, "level"),
					 "SEVERE"); /* a level clew does not know: kept as written */
			ck_assert_msg(strncmp(msg, want, strlen(want)) == 0, "record %d: %s", i, msg);
			snprintf(want, sizeof(want),
				 "\nCaused by: java.lang.NumberFormatException: For input string: \"x%d\"\n",
				 i);
			ck_assert_msg(strstr(msg, want), "record %d: %s", i, msg);
			ck_assert(strstr(msg, "\tat Gen.main("));
			/* the join stops at the next record's first line */
			snprintf(want, sizeof(want), "request %d ", i + 1);
			ck_assert(!strstr(msg, want));
		} else {
			snprintf(want, sizeof(want), "request %d %s", i, i % 10 == 3 ? "slow" : "ok");
			ck_assert_str_eq(msg, want);
			ck_assert_str_eq(str(r, "level"), i % 10 == 3 ? "WARN" : "INFO");
		}
	}
	free_records(recs, n);
	free(raw);
}
END_TEST

/* --- YAML: a named parser for one input, the global parser for another ------------ */

static const char redis_lines[] =
	"22914:C 23 Nov 2026 12:00:33.433 # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo\n"
	"22914:C 23 Nov 2026 12:00:33.433 # Configuration loaded\n"
	"22914:M 23 Nov 2026 12:00:33.434 * Running mode=standalone, port=0.\n"
	"not a redis line\n"
	"22914:M 23 Nov 2026 12:00:33.926 # Redis is now ready to exit, bye bye...\n";

static const char pipe_lines[] =
	"2026-11-23T12:00:00.5Z INFO T1:S1|orders|GET|/api/x|status=200|msg=fetched\n"
	"{\"level\":\"warn\",\"msg\":\"json too\",\"trace\":\"T2\"}\n";

static void write_yaml(const char *path, const char *regex)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fprintf(f,
		"state_dir: %s/state\n"
		"parsers:\n"
		"  - name: redis\n"
		"    regex: '%s'\n"
		"    time_format: '%%d %%b %%Y %%H:%%M:%%S.%%f'\n"
		"chunk: { max_age: 50ms }\n"
		"tail: { poll_interval: 100ms }\n"
		"inputs:\n"
		"  - { type: tail, path: %s/redis.log, parser: redis }\n"
		"  - { type: tail, path: %s/app.log }\n"
		"outputs:\n"
		"  - { type: file, path: %s/out.json, format: json }\n",
		tmp, regex, tmp, tmp, tmp);
	ck_assert_int_eq(fclose(f), 0);
}

static size_t count_lines(const char *path)
{
	size_t n = 0, len;
	char *buf;

	if (access(path, F_OK) != 0)
		return 0;
	buf = th_slurp_must(path, &len);
	for (size_t i = 0; i < len; i++)
		n += buf[i] == '\n';
	free(buf);
	return n;
}

static const char redis_re[] = "^(?<pid>\\d+):(?<role>[XCSM]) (?<time>\\d\\d? [A-Z][a-z]{2} \\d{4} "
			       "\\d\\d:\\d\\d:\\d\\d\\.\\d{3}) (?<level>[.*#-]) (?<message>.*)$";

START_TEST(each_input_uses_its_own_parser_from_the_yaml_file)
{
	char cfg[600], path[600], out[600], err[600];
	const char *clewd[] = {th_env_bin("CLEWD_BIN"), "-c", cfg, NULL};
	json_t **recs;
	size_t n, redis = 0, raw = 0, piped = 0;
	pid_t pid;

	snprintf(cfg, sizeof(cfg), "%s/clewd.yaml", tmp);
	snprintf(out, sizeof(out), "%s/out.json", tmp);
	snprintf(err, sizeof(err), "%s/err", tmp);
	write_yaml(cfg, redis_re);
	snprintf(path, sizeof(path), "%s/redis.log", tmp);
	th_write_text(path, redis_lines);
	snprintf(path, sizeof(path), "%s/app.log", tmp);
	th_write_text(path, pipe_lines);

	pid = spawn(clewd, NULL, NULL, err);
	/* wait for the 7 records (bounded: 30 s), then stop clewd as an operator would */
	for (int i = 0; i < 600 && count_lines(out) < 7; i++)
		usleep(50 * 1000);
	ck_assert_uint_eq(count_lines(out), 7);
	kill(pid, SIGTERM);
	ck_assert_int_eq(th_wait(pid), 0);

	recs = read_records(out, &n);
	ck_assert_uint_eq(n, 7);
	for (size_t i = 0; i < n; i++) {
		json_t *r = recs[i];

		if (json_object_get(r, "_unparsed")) {
			ck_assert_str_eq(str(r, "message"), "not a redis line");
			ck_assert_str_eq(str(r, "_unparsed"), "line does not match the regex");
			raw++;
		} else if (json_object_get(r, "role")) {
			ck_assert_int_eq(json_integer_value(json_object_get(r, "pid")), 22914);
			ck_assert(strncmp(str(r, "timestamp"), "2026-11-23T12:00:33.", 20) == 0);
			redis++;
		} else {
			ck_assert(json_object_get(r, "trace"));
			piped++;
		}
	}
	ck_assert_uint_eq(redis, 4);
	ck_assert_uint_eq(raw, 1);
	ck_assert_uint_eq(piped, 2);
	free_records(recs, n);
}
END_TEST

START_TEST(check_config_reports_a_bad_regex_with_its_line_and_offset)
{
	char cfg[600], err[600], want[700];
	const char *clewd[] = {th_env_bin("CLEWD_BIN"), "-c", cfg, "--check-config", NULL};
	char *msg;

	snprintf(cfg, sizeof(cfg), "%s/clewd.yaml", tmp);
	snprintf(err, sizeof(err), "%s/err", tmp);
	write_yaml(cfg, "^(?<pid>\\d+):(?<role>[XCSM] (?<message>.*)$");
	ck_assert_int_eq(th_wait(spawn(clewd, NULL, NULL, err)), 2);
	msg = th_slurp_must(err, NULL);
	snprintf(want, sizeof(want),
		 "clewd: %s:4:12: parser redis: regex: missing closing parenthesis at offset 43\n", cfg);
	ck_assert_str_eq(msg, want);
	free(msg);
}
END_TEST

static Suite *daemon_suite(void)
{
	Suite *s = suite_create("regex_daemon");
	TCase *tc = tcase_create("clewd");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, java_stack_traces_join_under_a_start_pattern_and_parse_with_the_regex);
	tcase_add_test(tc, each_input_uses_its_own_parser_from_the_yaml_file);
	tcase_add_test(tc, check_config_reports_a_bad_regex_with_its_line_and_offset);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(daemon_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
