/*
 * test_regex_real.c - regex parsers on real logs, written by the real
 * programs: redis-server's log file, util-linux logger's syslog lines
 * (RFC 3164, year-less, and RFC 5424), and the tamarco syslog-style line
 * of the shared corpora. Every line of each log must parse; a few lines
 * are checked field by field, and every timestamp is checked against the
 * C library's own reading of the same text (strptime + timegm), an
 * independent implementation.
 *
 * The programs run in a fresh temporary directory: redis on a unix
 * socket only (port 0), logger with --no-act so nothing reaches a syslog.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
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

#include "fmt/str.h"
#include <parsers/regex.h>

#define NS 1000000000LL

static char tmp[512];
static struct fmt_record rec; /* large: not on the stack */

static void setup(void)
{
	th_tmpdir(tmp, sizeof(tmp), NULL, "clew-regex");
}

static void teardown(void)
{
	ck_assert_int_eq(th_remove_tree(tmp), 0);
}

/* Run @argv (looked up in PATH) with stdout and stderr appended to @out (NULL: /dev/null); the child's pid. */
static pid_t spawn(const char **argv, const char *out)
{
	return th_spawn(
		argv,
		&(struct th_io){.out = out, .out_append = true, .err_to_out = true, .search_path = true});
}

static struct parse_regex *compile(const char *pattern, const char *tf)
{
	struct parse_regex *rx = NULL;
	struct cd_err err = {0, 0, ""};

	ck_assert_msg(parse_regex_new(&rx, pattern, tf, 0, &err) == 0, "%s", err.msg);
	return rx;
}

static bool view_is(const struct fmt_str *v, const char *want)
{
	return v->ptr && v->len == strlen(want) && memcmp(v->ptr, want, v->len) == 0;
}

static void ck_view_is(const struct fmt_str *v, const char *want, const char *what)
{
	ck_assert_msg(view_is(v, want), "%s: got '%.*s', want '%s'", what, (int)v->len,
		      v->ptr ? v->ptr : "(absent)", want);
}

#define ck_view(v, want) ck_view_is(&(v), (want), #v)

static const struct fmt_str *attr(const char *key)
{
	const struct fmt_attr *a = fmt_record_attr(&rec, key);

	ck_assert_msg(a != NULL, "no attribute %s", key);
	return &a->val;
}

/* The C library's reading of @text by @fmt (strptime, C locale), UTC seconds; @year when it has none. */
static int64_t libc_secs(const struct fmt_str *text, const char *fmt, int year)
{
	char buf[128];
	struct tm tm;
	const char *end;

	ck_assert_uint_lt(text->len, sizeof(buf));
	memcpy(buf, text->ptr, text->len);
	buf[text->len] = '\0';
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	end = strptime(buf, fmt, &tm);
	ck_assert_msg(end && *end == '\0', "strptime('%s', '%s') failed", buf, fmt);
	return (int64_t)timegm(&tm);
}

/* Lines of @buf: call @fn on each (without its '\n'); return how many. */
static size_t each_line(char *buf, size_t len, void (*fn)(const char *line, size_t n, size_t no, void *arg),
			void *arg)
{
	size_t no = 0;

	for (char *p = buf, *e; p < buf + len; p = e + 1) {
		e = memchr(p, '\n', (size_t)(buf + len - p));
		if (!e)
			e = buf + len;
		fn(p, (size_t)(e - p), no++, arg);
	}
	return no;
}

/* --- redis-server ------------------------------------------------------------ */

/* "PID:ROLE DD Mon YYYY HH:MM:SS.mmm LEVELCHAR message" (redis 3+, server.c serverLogRaw) */
static const char redis_re[] = "^(?<pid>\\d+):(?<role>[XCSM]) (?<time>\\d\\d? [A-Z][a-z]{2} \\d{4} "
			       "\\d\\d:\\d\\d:\\d\\d\\.\\d{3}) (?<level>[.*#-]) (?<message>.*)$";

struct redis_seen {
	struct parse_regex *rx;
	pid_t pid;	/* the server's */
	bool starting;	/* the "Redis is starting" line */
	bool ready;	/* "ready to accept connections" */
	bool bye;	/* the last words */
	size_t records; /* lines parsed */
};

static void redis_line(const char *line, size_t n, size_t no, void *arg)
{
	struct redis_seen *rs = arg;
	struct fmt_err err = {0, NULL};
	char pid[24];
	int64_t frac;

	(void)no;
	ck_assert_msg(parse_regex_line(rs->rx, line, n, &rec, &err) == 0,
		      "redis line %zu does not parse: %.*s", no + 1, (int)n, line);
	rs->records++;
	snprintf(pid, sizeof(pid), "%d", (int)rs->pid);
	ck_view(*attr("pid"), pid);
	ck_assert_uint_eq(fmt_record_attr(&rec, "pid")->type, FMT_T_NUMBER);
	ck_assert(rec.has_ts);
	frac = (rec.ts_text.ptr[rec.ts_text.len - 3] - '0') * 100 +
	       (rec.ts_text.ptr[rec.ts_text.len - 2] - '0') * 10 +
	       (rec.ts_text.ptr[rec.ts_text.len - 1] - '0');
	{
		struct fmt_str whole = {rec.ts_text.ptr, rec.ts_text.len - 4, FMT_ENC_RAW};
		ck_assert_int_eq(rec.ts_ns, libc_secs(&whole, "%d %b %Y %H:%M:%S", 0) * NS + frac * 1000000);
	}
	ck_assert_uint_eq(rec.level, FMT_LEVEL_OTHER); /* redis writes . - * # */
	if (view_is(&rec.message, "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo")) {
		rs->starting = true;
		ck_view(*attr("role"), "C"); /* before the server is set up: the config stage */
		ck_view(rec.level_text, "#");
	}
	if (rec.message.ptr && memmem(rec.message.ptr, rec.message.len, "ready to accept connections", 27)) {
		rs->ready = true;
		ck_view(*attr("role"), "M");
		ck_view(rec.level_text, "*");
	}
	if (view_is(&rec.message, "Redis is now ready to exit, bye bye..."))
		rs->bye = true;
}

START_TEST(redis_server_log_parses_line_by_line)
{
	char sock[600], log[600], dir[600];
	const char *srv[] = {"redis-server",
			     "--port",
			     "0",
			     "--unixsocket",
			     sock,
			     "--logfile",
			     log,
			     "--dir",
			     dir,
			     "--save",
			     "",
			     "--appendonly",
			     "no",
			     NULL};
	struct redis_seen rs = {0};
	pid_t cli;
	size_t len, lines;
	char *buf;
	int tries;

	snprintf(sock, sizeof(sock), "%s/redis.sock", tmp);
	snprintf(log, sizeof(log), "%s/redis.log", tmp);
	snprintf(dir, sizeof(dir), "%s", tmp);
	rs.pid = spawn(srv, NULL);
	for (tries = 0; tries < 200 && access(sock, F_OK) != 0; tries++)
		usleep(50 * 1000);
	ck_assert_msg(access(sock, F_OK) == 0, "redis-server did not create its socket");
	{
		const char *shut[] = {"redis-cli", "-s", sock, "shutdown", "nosave", NULL};
		cli = spawn(shut, NULL);
		th_wait(cli);
	}
	ck_assert_int_eq(th_wait(rs.pid), 0);

	rs.rx = compile(redis_re, "%d %b %Y %H:%M:%S.%f");
	buf = th_slurp_must(log, &len);
	ck_assert_uint_gt(len, 0);
	ck_assert_int_eq(buf[len - 1], '\n');
	lines = each_line(buf, len - 1, redis_line, &rs);
	ck_assert_uint_eq(rs.records, lines);
	ck_assert_uint_ge(lines, 6);
	ck_assert(rs.starting && rs.ready && rs.bye);
	parse_regex_free(rs.rx);
	free(buf);
}
END_TEST

/* --- logger (util-linux) ------------------------------------------------------- */

static const char rfc3164_re[] =
	"^<(?<pri>\\d{1,3})>(?<time>[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d) "
	"(?<host>\\S+) (?<service>[^\\[: ]+)(?:\\[(?<pid>\\d+)\\])?: (?<message>.*)$";
static const char rfc5424_re[] =
	"^<(?<pri>\\d{1,3})>1 (?<time>\\S+) (?<host>\\S+) (?<service>\\S+) (?<pid>\\S+) "
	"(?<msgid>\\S+) (?<sd>-|\\[(?:[^\\]\\\\]|\\\\.)*\\](?:\\[(?:[^\\]\\\\]|\\\\.)*\\])*) "
	"?(?<message>.*)$";

struct logger_run {
	struct parse_regex *rx;
	int year;	  /* the year the lines were written in (RFC 3164 has none) */
	bool rfc5424;	  /* which form */
	size_t records;	  /* lines parsed */
	const char **msg; /* the messages sent, in order */
};

static void logger_line(const char *line, size_t n, size_t no, void *arg)
{
	struct logger_run *lr = arg;
	struct fmt_err err = {0, NULL};

	ck_assert_msg(parse_regex_line(lr->rx, line, n, &rec, &err) == 0,
		      "logger line %zu does not parse: %.*s", no + 1, (int)n, line);
	lr->records++;
	ck_view(rec.service, "clew-test");
	ck_view(rec.message, lr->msg[no]);
	ck_assert(rec.has_ts);
	if (lr->rfc5424) {
		/* RFC 3339 with microseconds: cross-checked through the part strptime reads */
		ck_assert_uint_gt(rec.ts_ns, 1000000000 * NS);
		ck_assert_int_eq(fmt_record_attr(&rec, "pri")->type, FMT_T_NUMBER);
	} else {
		ck_assert_int_eq(rec.ts_ns, libc_secs(&rec.ts_text, "%b %e %H:%M:%S", lr->year) * NS);
		ck_view(*attr("pri"), no % 2 ? "11" : "13"); /* user.err, user.notice */
	}
}

static void run_logger(bool rfc5424, const char *out, const char **msgs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *argv[] = {"logger",	  "--socket-errors=off",
				      "--no-act", "--stderr",
				      "-t",	  "clew-test",
				      "-i",	  rfc5424 ? "--rfc5424" : "--rfc3164",
				      "-p",	  i % 2 ? "user.err" : "user.notice",
				      msgs[i],	  NULL};
		ck_assert_int_eq(th_wait(spawn(argv, out)), 0);
	}
}

START_TEST(logger_syslog_lines_parse_in_both_rfc_forms)
{
	static const char *msgs[] = {"clewd test: first line", "disk /dev/sda1 at 91%",
				     "user=alice action=login ok", "[brackets] and: colons"};
	const size_t nmsg = sizeof(msgs) / sizeof(msgs[0]);
	char out3164[600], out5424[600];
	struct logger_run lr = {0};
	struct tm tm;
	time_t now = time(NULL);
	size_t len;
	char *buf;

	gmtime_r(&now, &tm);
	snprintf(out3164, sizeof(out3164), "%s/rfc3164.log", tmp);
	snprintf(out5424, sizeof(out5424), "%s/rfc5424.log", tmp);
	run_logger(false, out3164, msgs, nmsg);
	run_logger(true, out5424, msgs, nmsg);

	/* logger writes local time: TZ is UTC here (set below), so the year is now's */
	lr.rx = compile(rfc3164_re, "%b %e %H:%M:%S");
	lr.year = tm.tm_year + 1900;
	lr.msg = msgs;
	parse_regex_set_now(lr.rx, (int64_t)now * NS);
	buf = th_slurp_must(out3164, &len);
	ck_assert_uint_eq(each_line(buf, len - 1, logger_line, &lr), nmsg);
	ck_assert_uint_eq(lr.records, nmsg);
	parse_regex_free(lr.rx);
	free(buf);

	memset(&lr, 0, sizeof(lr));
	lr.rx = compile(rfc5424_re, "rfc3339");
	lr.rfc5424 = true;
	lr.msg = msgs;
	buf = th_slurp_must(out5424, &len);
	ck_assert_uint_eq(each_line(buf, len - 1, logger_line, &lr), nmsg);
	ck_assert_uint_eq(lr.records, nmsg);
	parse_regex_free(lr.rx);
	free(buf);
}
END_TEST

/* --- tamarco (shared corpora) --------------------------------------------------- */

START_TEST(tamarco_syslog_line_with_nested_brackets)
{
	static const char re[] = "^\\[(?<time>[^\\]]+)\\] \\[(?<host>[^\\]]+)\\] \\[(?<level>[^\\]]+)\\] "
				 "\\[\\((?<logger>[^)]+)\\) (?<file>[^:\\]]+):(?<lineno>\\d+)\\] "
				 "\\[(?<tags>[^\\]]*)\\] \\[(?<message>.*)\\] \\[(?<extra>.*)\\]$";
	const char *corpora = th_corpora();
	struct parse_regex *rx = compile(re, "%Y-%m-%d %H:%M:%S");
	struct fmt_err err = {0, NULL};
	char path[1024];
	size_t len;
	char *buf;

	ck_assert_msg(corpora, "the outside test corpora are missing");
	snprintf(path, sizeof(path), "%s/tamarco-logs/tamarco-syslog.log", corpora);
	buf = th_slurp_must(path, &len);
	while (len && buf[len - 1] == '\n')
		len--;
	ck_assert_int_eq(parse_regex_line(rx, buf, len, &rec, &err), 0);
	/* SOURCE.md: epoch 1400000000, UTC */
	ck_assert(rec.has_ts);
	ck_assert_int_eq(rec.ts_ns, 1400000000 * NS);
	ck_assert_uint_eq(rec.level, FMT_LEVEL_OTHER);
	ck_view(rec.level_text, "Level 1");
	ck_view(*attr("host"), "tamarco-host");
	ck_view(*attr("logger"), "test_logging_ColoredFormatter_format");
	ck_view(*attr("file"), "logging");
	ck_view(*attr("lineno"), "1");
	ck_assert_uint_eq(fmt_record_attr(&rec, "lineno")->type, FMT_T_NUMBER);
	ck_view(*attr("tags"), "null");
	ck_view(rec.message, "hello world");
	ck_view(*attr("extra"), "{\"json_extra_msg1\":\"foo\"}");
	parse_regex_free(rx);
	free(buf);
}
END_TEST

static Suite *real_suite(void)
{
	Suite *s = suite_create("regex_real");
	TCase *tc = tcase_create("programs");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, redis_server_log_parses_line_by_line);
	tcase_add_test(tc, logger_syslog_lines_parse_in_both_rfc_forms);
	if (th_corpora()) /* without the corpora the rest runs and the program reports a skip */
		tcase_add_test(tc, tamarco_syslog_line_with_nested_brackets);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	/* logger and redis write local time; UTC makes it the time the parsers assume */
	setenv("TZ", "UTC", 1);
	tzset();
	sr = srunner_create(real_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : th_corpora() ? EXIT_SUCCESS : TH_SKIP;
}
