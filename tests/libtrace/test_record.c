/*
 * test_record.c - log records (libtrace/src/record.c) and the synchronous
 * output (sink.c): what is written parses back through the formats library
 * (pipe) or jansson (JSON) with the context and typed values; a disabled
 * level evaluates nothing; threads and processes never tear a line.
 */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "th_file.h"

#include "clew/clew.h"
#include "fmt/pipe.h"
#include "fmt/str.h"

static char path[64];
static clew_client *cl;
static int ndiag;

static void on_diag(void *cookie, int level, const char *msg)
{
	(void)cookie;
	(void)level;
	(void)msg;
	ndiag++;
}

static clew_client *client(int format, int level)
{
	struct clew_options o;
	char spec[80];
	clew_client *c;

	clew_options_default(&o);
	snprintf(spec, sizeof(spec), "file:%s", path);
	o.flags = CLEW_OPT_IGNORE_ENV;
	o.service = "orders";
	o.output = spec;
	o.format = format;
	o.level = level;
	o.on_diag = on_diag;
	ck_assert_int_eq(clew_client_new(&c, &o), 0);
	return c;
}

static void setup(void)
{
	th_tmpfile(path, sizeof(path), "/tmp", "clew-record");
	ndiag = 0;
	clew_request_end(NULL);
}

static void teardown(void)
{
	clew_client_free(cl);
	cl = NULL;
	unlink(path);
}

static const char *dec(const struct fmt_str *s)
{
	static char out[8][CLEW_LINE_MAX];
	static int k;
	char *o = out[k++ % 8];

	ck_assert_ptr_nonnull(s->ptr);
	o[fmt_str_decode(s, o)] = '\0';
	return o;
}

static const char *attr(const struct fmt_record *r, const char *key)
{
	const struct fmt_attr *a = fmt_record_attr(r, key);

	ck_assert_msg(a != NULL, "no attribute %s", key);
	return dec(&a->val);
}

START_TEST(a_pipe_record_parses_back_with_the_context_and_typed_values)
{
	struct fmt_record rec;
	struct fmt_err err;
	struct timespec now;
	size_t len;
	char *out;

	cl = client(CLEW_FORMAT_PIPE, CLEW_LEVEL_INFO);
	ck_assert_int_eq(clew_request_begin(cl, NULL, "GET", "/api/v1/orders/42"), 0);
	ck_assert_int_eq(clew_ndc_push(cl, "db"), 0);
	CLEW_LOG(cl, CLEW_LEVEL_INFO,
		 CLEW_KV(CLEW_INT("status", 200), CLEW_DBL("ratio", 0.5), CLEW_BOOL("cached", true),
			 CLEW_STR("user", "u|1\n"), CLEW_INT("min", INT64_MIN)),
		 "order %d fetched | line\nnext", 42);
	out = th_slurp_must(path, &len);
	ck_assert_uint_gt(len, 0);
	ck_assert_int_eq(out[len - 1], '\n');
	ck_assert_ptr_eq(strchr(out, '\n'), out + len - 1); /* one line: the newline is escaped */
	ck_assert_int_eq(fmt_pipe_parse(out, len - 1, &rec, &err), 0);
	ck_assert_uint_eq(rec.level, FMT_LEVEL_INFO);
	ck_assert(rec.has_ts);
	clock_gettime(CLOCK_REALTIME, &now);
	ck_assert_int_lt(llabs((long long)(rec.ts_ns / 1000000000 - now.tv_sec)), 5);
	ck_assert_uint_eq(rec.nids, 3);
	ck_assert_str_eq(dec(&rec.ids[0]), clew_ndc_get(0));
	ck_assert_str_eq(dec(&rec.ids[1]), clew_ndc_get(1));
	ck_assert_str_eq(dec(&rec.ids[2]), "db");
	ck_assert_str_eq(dec(&rec.service), "orders");
	ck_assert_str_eq(dec(&rec.method), "GET");
	ck_assert_str_eq(dec(&rec.path), "/api/v1/orders/42");
	ck_assert_str_eq(dec(&rec.message), "order 42 fetched | line\nnext");
	ck_assert_str_eq(attr(&rec, "status"), "200");
	ck_assert_str_eq(attr(&rec, "ratio"), "0.5");
	ck_assert_str_eq(attr(&rec, "cached"), "true");
	ck_assert_str_eq(attr(&rec, "user"), "u|1\n");
	ck_assert_str_eq(attr(&rec, "min"), "-9223372036854775808");
	free(out);
}
END_TEST

START_TEST(a_json_record_reads_back_with_typed_members)
{
	json_error_t jerr;
	json_t *o;
	size_t len;
	char *out;

	cl = client(CLEW_FORMAT_JSON, CLEW_LEVEL_INFO);
	ck_assert_int_eq(clew_request_begin(cl, NULL, "POST", "/checkout"), 0);
	ck_assert_int_eq(clew_ndc_push(cl, "0123456789abcdef"), 0);
	CLEW_LOG(cl, CLEW_LEVEL_WARN,
		 CLEW_KV(CLEW_INT("status", 200), CLEW_DBL("ratio", 0.25), CLEW_BOOL("cached", false),
			 CLEW_STR("user", "\"u\"\t1"), CLEW_DBL("bad", NAN), CLEW_STR("none", NULL)),
		 "paid %s", "ok");
	out = th_slurp_must(path, &len);
	ck_assert_ptr_eq(strchr(out, '\n'), out + len - 1);
	o = json_loadb(out, len, 0, &jerr);
	ck_assert_msg(o != NULL, "%s: %s", jerr.text, out);
	ck_assert_str_eq(json_string_value(json_object_get(o, "severity")), "WARN");
	ck_assert_str_eq(json_string_value(json_object_get(o, "service")), "orders");
	ck_assert_str_eq(json_string_value(json_object_get(o, "trace")), clew_ndc_get(0));
	ck_assert_str_eq(json_string_value(json_object_get(o, "parent")), clew_ndc_get(1));
	ck_assert_str_eq(json_string_value(json_object_get(o, "span")), "0123456789abcdef");
	ck_assert_str_eq(json_string_value(json_object_get(o, "method")), "POST");
	ck_assert_str_eq(json_string_value(json_object_get(o, "path")), "/checkout");
	ck_assert_str_eq(json_string_value(json_object_get(o, "message")), "paid ok");
	ck_assert(json_is_string(json_object_get(o, "timestamp")));
	ck_assert(json_is_integer(json_object_get(o, "status")));
	ck_assert_int_eq(json_integer_value(json_object_get(o, "status")), 200);
	ck_assert(json_is_real(json_object_get(o, "ratio")));
	ck_assert(json_real_value(json_object_get(o, "ratio")) == 0.25);
	ck_assert(json_is_false(json_object_get(o, "cached")));
	ck_assert_str_eq(json_string_value(json_object_get(o, "user")), "\"u\"\t1");
	ck_assert_str_eq(json_string_value(json_object_get(o, "bad")), "NaN");
	ck_assert(json_is_null(json_object_get(o, "none")));
	json_decref(o);
	free(out);
}
END_TEST

static int evaluated;

static int touch(void)
{
	return ++evaluated;
}

START_TEST(a_disabled_level_writes_nothing_and_evaluates_no_argument)
{
	size_t len;
	char *out;

	cl = client(CLEW_FORMAT_PIPE, CLEW_LEVEL_WARN);
	evaluated = 0;
	CLEW_LOG(cl, CLEW_LEVEL_INFO, CLEW_KV(CLEW_INT("n", touch())), "x %d", touch());
	CLEW_DEBUG(cl, "y %d", touch());
	ck_assert_int_eq(evaluated, 0);
	out = th_slurp_must(path, &len);
	ck_assert_uint_eq(len, 0);
	free(out);
	CLEW_LOG(cl, CLEW_LEVEL_ERROR, CLEW_KV(CLEW_INT("n", touch())), "x %d", touch());
	ck_assert_int_eq(evaluated, 2);
	ck_assert_int_eq(clew_log(cl, CLEW_LEVEL_INFO, CLEW_NOKV, "disabled"), 0);
	out = th_slurp_must(path, &len);
	ck_assert_ptr_eq(strchr(out, '\n'), out + len - 1);
	free(out);
}
END_TEST

START_TEST(a_mismatched_pop_also_writes_a_warning_record)
{
	struct fmt_record rec;
	size_t len;
	char *out;

	cl = client(CLEW_FORMAT_PIPE, CLEW_LEVEL_INFO);
	clew_ndc_push(cl, "a");
	clew_ndc_push(cl, "b");
	ck_assert_int_eq(clew_ndc_pop(cl, "a"), -CLEW_EMISMATCH);
	ck_assert_int_eq(ndiag, 1);
	out = th_slurp_must(path, &len);
	ck_assert_uint_gt(len, 0);
	ck_assert_int_eq(fmt_pipe_parse(out, len - 1, &rec, NULL), 0);
	ck_assert_uint_eq(rec.level, FMT_LEVEL_WARN);
	ck_assert_str_eq(attr(&rec, "clew"), "warning");
	ck_assert_ptr_nonnull(strstr(dec(&rec.message), "'a'"));
	free(out);
}
END_TEST

START_TEST(a_record_too_long_for_a_line_is_dropped_and_counted)
{
	static char big[3000];
	size_t len;
	char *out;

	memset(big, 'x', sizeof(big) - 1);
	cl = client(CLEW_FORMAT_PIPE, CLEW_LEVEL_INFO);
	ck_assert_int_eq(
		clew_log(cl, CLEW_LEVEL_INFO, CLEW_KV(CLEW_STR("a", big), CLEW_STR("b", big)), "%s", big),
		-CLEW_ETRUNC);
	ck_assert_uint_eq(clew_client_dropped(cl), 1);
	ck_assert_int_eq(ndiag, 1);
	out = th_slurp_must(path, &len);
	ck_assert_uint_eq(len, 0);
	free(out);
}
END_TEST

START_TEST(a_message_longer_than_the_cap_is_cut)
{
	static char big[CLEW_MSG_MAX + 100];
	struct fmt_record rec;
	size_t len;
	char *out;

	memset(big, 'y', sizeof(big) - 1);
	cl = client(CLEW_FORMAT_PIPE, CLEW_LEVEL_INFO);
	ck_assert_int_eq(clew_log(cl, CLEW_LEVEL_INFO, CLEW_NOKV, "%s", big), 0);
	out = th_slurp_must(path, &len);
	ck_assert_int_eq(fmt_pipe_parse(out, len - 1, &rec, NULL), 0);
	ck_assert_uint_eq(rec.message.len, CLEW_MSG_MAX - 1);
	free(out);
}
END_TEST

START_TEST(bad_arguments_are_refused)
{
	const struct clew_kv nokey[] = {CLEW_INT(NULL, 1)};
	struct clew_kv badtype[] = {CLEW_INT("k", 1)};

	badtype[0].type = 99;
	cl = client(CLEW_FORMAT_PIPE, CLEW_LEVEL_TRACE);
	ck_assert_int_eq(clew_log(NULL, CLEW_LEVEL_INFO, CLEW_NOKV, "x"), -CLEW_EINVAL);
	ck_assert_int_eq(clew_log(cl, CLEW_LEVEL_OFF, CLEW_NOKV, "x"), -CLEW_EINVAL);
	ck_assert_int_eq(clew_log(cl, 0, CLEW_NOKV, "x"), -CLEW_EINVAL);
	ck_assert_int_eq(clew_log(cl, CLEW_LEVEL_INFO, NULL, 1, "x"), -CLEW_EINVAL);
	ck_assert_int_eq(clew_log(cl, CLEW_LEVEL_INFO, nokey, 1, "x"), -CLEW_EINVAL);
	ck_assert_int_eq(clew_log(cl, CLEW_LEVEL_INFO, badtype, 1, "x"), -CLEW_EINVAL);
	ck_assert_uint_eq(clew_client_dropped(cl), 0);
}
END_TEST

#define THREADS 4
#define RECORDS 2500
#define PROCS 2

static void *writer(void *arg)
{
	const int t = (int)(intptr_t)arg;
	char id[16];

	snprintf(id, sizeof(id), "t%d", t);
	clew_ndc_push(cl, id);
	for (int i = 0; i < RECORDS; i++)
		clew_log(
			cl, CLEW_LEVEL_INFO, CLEW_KV(CLEW_INT("w", t), CLEW_INT("seq", i)),
			"record %d of writer %d, padded to make lines long enough to matter ........................",
			i, t);
	return NULL;
}

static void run_writers(int base)
{
	pthread_t th[THREADS];

	for (int t = 0; t < THREADS; t++)
		ck_assert_int_eq(pthread_create(&th[t], NULL, writer, (void *)(intptr_t)(base + t)), 0);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
}

START_TEST(threads_and_processes_writing_at_once_never_tear_or_lose_a_line)
{
	static unsigned char seen[PROCS * THREADS][RECORDS];
	struct fmt_record rec;
	pid_t pid[PROCS - 1];
	size_t len, lines = 0;
	char *out, *line, *nl;
	int status;

	cl = client(CLEW_FORMAT_PIPE, CLEW_LEVEL_INFO);
	for (int p = 1; p < PROCS; p++) {
		pid[p - 1] = fork();
		ck_assert_int_ge(pid[p - 1], 0);
		if (pid[p - 1] == 0) {
			run_writers(p * THREADS);
			_exit(0);
		}
	}
	run_writers(0);
	for (int p = 1; p < PROCS; p++) {
		ck_assert_int_eq(waitpid(pid[p - 1], &status, 0), pid[p - 1]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}

	out = th_slurp_must(path, &len);
	memset(seen, 0, sizeof(seen));
	for (line = out; line < out + len; line = nl + 1) {
		long w, seq;

		nl = memchr(line, '\n', (size_t)(out + len - line));
		ck_assert_ptr_nonnull(nl);
		if (fmt_pipe_parse(line, (size_t)(nl - line), &rec, NULL) != 0)
			ck_abort_msg("line %zu does not parse: %.*s", lines, (int)(nl - line), line);
		w = strtol(attr(&rec, "w"), NULL, 10);
		seq = strtol(attr(&rec, "seq"), NULL, 10);
		if (w < 0 || w >= PROCS * THREADS || seq < 0 || seq >= RECORDS || seen[w][seq])
			ck_abort_msg("line %zu: bad or repeated w=%ld seq=%ld", lines, w, seq);
		seen[w][seq] = 1;
		lines++;
	}
	ck_assert_uint_eq(lines, (size_t)PROCS * THREADS * RECORDS);
	ck_assert_uint_eq(clew_client_dropped(cl), 0);
	free(out);
}
END_TEST

START_TEST(continuation_lines_follow_the_record_in_sync_and_async_mode)
{
	static const char tb[] =
		"Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: boom";
	struct clew_options o;
	struct fmt_record rec;
	struct fmt_err err;
	char spec[80];
	size_t len;
	char *out;

	for (int async = 0; async < 2; async++) {
		clew_options_default(&o);
		snprintf(spec, sizeof(spec), "file:%s", path);
		o.flags = CLEW_OPT_IGNORE_ENV | (async ? CLEW_OPT_ASYNC : CLEW_OPT_SYNC);
		o.output = spec;
		ck_assert_int_eq(clew_client_new(&cl, &o), 0);
		ck_assert_int_eq(clew_log_cont(cl, CLEW_LEVEL_ERROR, CLEW_KV(CLEW_INT("n", 7)), tb,
					       strlen(tb), "failed %d", 1),
				 0);
		ck_assert_int_eq(clew_log_cont(cl, CLEW_LEVEL_ERROR, NULL, 0, NULL, 3, "x"), -CLEW_EINVAL);
		clew_client_free(cl);
		cl = NULL;
		out = th_slurp_must(path, &len);
		ck_assert_uint_gt(len, 1);
		/* The record: its line, then the traceback (an async client adds clew.dropped after it). */
		len = (size_t)(strchr(out, '\n') - out) + 1 + strlen(tb);
		ck_assert_int_eq(out[len], '\n');
		ck_assert_int_eq(fmt_pipe_parse(out, len, &rec, &err), 0);
		ck_assert_str_eq(dec(&rec.message), "failed 1");
		ck_assert_str_eq(attr(&rec, "n"), "7");
		ck_assert_str_eq(dec(&rec.cont), tb);
		ck_assert(!fmt_pipe_is_record_start(strchr(out, '\n') + 1, strlen(strchr(out, '\n') + 1)));
		free(out);
		ck_assert_int_eq(truncate(path, 0), 0);
	}
	/* Lines a reader would take for a record start are quoted, so they stay continuation lines. */
	cl = client(CLEW_FORMAT_PIPE, CLEW_LEVEL_INFO);
	ck_assert_int_eq(
		clew_log_cont(cl, CLEW_LEVEL_ERROR, NULL, 0, "  x = {}\n  {\"a\": 1}\nT1|svc|m", 28, "m"), 0);
	out = th_slurp_must(path, &len);
	ck_assert_ptr_nonnull(strstr(out, "|msg=m\n  x = {}\n>   {\"a\": 1}\n> T1|svc|m\n"));
	free(out);
}
END_TEST

static Suite *record_suite(void)
{
	Suite *s = suite_create("record");
	TCase *tc = tcase_create("record");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, a_pipe_record_parses_back_with_the_context_and_typed_values);
	tcase_add_test(tc, a_json_record_reads_back_with_typed_members);
	tcase_add_test(tc, a_disabled_level_writes_nothing_and_evaluates_no_argument);
	tcase_add_test(tc, a_mismatched_pop_also_writes_a_warning_record);
	tcase_add_test(tc, a_record_too_long_for_a_line_is_dropped_and_counted);
	tcase_add_test(tc, a_message_longer_than_the_cap_is_cut);
	tcase_add_test(tc, bad_arguments_are_refused);
	tcase_add_test(tc, continuation_lines_follow_the_record_in_sync_and_async_mode);
	tcase_add_test(tc, threads_and_processes_writing_at_once_never_tear_or_lose_a_line);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(record_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
