/*
 * test_async_signal.c - white-box: how a fatal-signal handler writes what
 * an async ring holds (libtrace/src/async_format.c, writer.c). The binary records
 * are formatted there with async-signal-safe code only: no snprintf(), so
 * flags and widths are ignored and doubles are written by a simple
 * conversion of up to 15 digits. The test stops the client's writer
 * thread, logs, and drains the ring as the handler does, then checks that
 * every line parses and reads close to what sync mode writes. Links the
 * static library for the internal calls.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "th_file.h"

#include "fmt/pipe.h"
#include "fmt/str.h"
#include "ring.h"
#include "writer.h"

static char path[64];

static clew_client *async_client(void)
{
	struct clew_options o;
	char spec[80];
	clew_client *c;

	th_tmpfile(path, sizeof(path), "/tmp", "clew-asig");
	clew_options_default(&o);
	snprintf(spec, sizeof(spec), "file:%s", path);
	o.flags = CLEW_OPT_IGNORE_ENV | CLEW_OPT_ASYNC;
	o.service = "orders";
	o.output = spec;
	o.format = CLEW_FORMAT_PIPE;
	o.level = CLEW_LEVEL_INFO;
	o.metrics_interval_ms = CLEW_INTERVAL_NEVER;
	ck_assert_int_eq(clew_client_new(&c, &o), 0);
	/* No writer: the records stay in the ring until the "handler" drains it. */
	clew__worker_stop(c);
	return c;
}

/* The text of attribute @key of @rec (decoded) into @out. */
static const char *attr(const struct fmt_record *rec, const char *key, char *out)
{
	const struct fmt_attr *a = fmt_record_attr(rec, key);

	ck_assert_msg(a != NULL, "no %s", key);
	out[fmt_str_decode(&a->val, out)] = '\0';
	return out;
}

static void check_double(const char *text, double want)
{
	double got = strtod(text, NULL);

	ck_assert_msg(fabs(got - want) <= fabs(want) * 1e-14, "%s is not %.17g", text, want);
}

START_TEST(a_fatal_signal_handler_formats_binary_records_with_signal_safe_code)
{
	static const double doubles[] = {12.5,		0.1,   1e20, -2.5e-7, 1.0 / 3, 123456789012.25,
					 6.02214076e23, 1e-300};
	enum { N = sizeof(doubles) / sizeof(doubles[0]) };
	static struct fmt_record rec;
	clew_client *c = async_client();
	char *buf, *line, *nl, val[256];
	size_t n = 0;

	for (int i = 0; i < N; i++)
		ck_assert_int_eq(
			clew_log(c, CLEW_LEVEL_INFO,
				 CLEW_KV(CLEW_INT("i", i), CLEW_DBL("d", doubles[i]), CLEW_STR("s", "x|y"),
					 CLEW_DBL("nan", NAN), CLEW_BOOL("b", i & 1)),
				 "n=%d u=%u x=%x s=%s cut=%.2s p=%p c=%c w=[%5d] pct=%% f=%f", -i, 7u, 255u,
				 "str", "abcdef", (void *)NULL, 'Z', 42, doubles[i]),
			0);
	ck_assert(!clew__ring_empty(c));
	/* What on_fatal() does for each client. */
	ck_assert_int_eq(clew__ring_drain_ex(c, 100, true), N);
	ck_assert(clew__ring_empty(c));

	buf = th_slurp_must(path, NULL);
	for (line = buf; *line; line = nl + 1) {
		char want[256], msg[512];
		long i;

		nl = strchr(line, '\n');
		ck_assert_ptr_nonnull(nl);
		ck_assert_int_eq(fmt_pipe_parse(line, (size_t)(nl - line), &rec, NULL), 0);
		i = strtol(attr(&rec, "i", val), NULL, 10);
		ck_assert(i >= 0 && i < N);
		check_double(attr(&rec, "d", val), doubles[i]);
		ck_assert_uint_eq(fmt_record_attr(&rec, "d")->type, FMT_T_NUMBER);
		ck_assert_str_eq(attr(&rec, "s", val), "x|y");
		ck_assert_str_eq(attr(&rec, "nan", val), "NaN");
		ck_assert_str_eq(attr(&rec, "b", val), i & 1 ? "true" : "false");
		/* Width ignored, %f as the simple conversion; the rest exact. */
		msg[fmt_str_decode(&rec.message, msg)] = '\0';
		snprintf(want, sizeof(want), "n=%ld u=7 x=ff s=str cut=ab p=(nil) c=Z w=[42] pct=%% f=", -i);
		ck_assert_msg(strncmp(msg, want, strlen(want)) == 0, "%s", msg);
		check_double(msg + strlen(want), doubles[i]);
		n++;
	}
	ck_assert_uint_eq(n, N);
	free(buf);
	clew_client_free(c);
	unlink(path);
}
END_TEST

START_TEST(the_signal_safe_double_text_reads_back_close_and_is_a_json_number)
{
	static const double d[] = {0.0,
				   -0.0,
				   1.0,
				   0.5,
				   0.1,
				   0.3,
				   2.675,
				   1e15,
				   1e16,
				   9.999999999999999e14,
				   1e-5,
				   1e-6,
				   1.7976931348623157e308,
				   2.2250738585072014e-308,
				   4.9e-324,
				   -123.456};
	static struct fmt_record rec;
	clew_client *c = async_client();
	char *buf, *line, *nl, val[256];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		ck_assert_int_eq(clew_log(c, CLEW_LEVEL_INFO,
					  CLEW_KV(CLEW_INT("i", (int64_t)i), CLEW_DBL("d", d[i])), NULL),
				 0);
	ck_assert_int_gt(clew__ring_drain_ex(c, 100, true), 0);
	buf = th_slurp_must(path, NULL);
	for (line = buf; *line; line = nl + 1) {
		long i;
		double got;

		nl = strchr(line, '\n');
		ck_assert_int_eq(fmt_pipe_parse(line, (size_t)(nl - line), &rec, NULL), 0);
		i = strtol(attr(&rec, "i", val), NULL, 10);
		ck_assert_uint_eq(fmt_record_attr(&rec, "d")->type, FMT_T_NUMBER);
		got = strtod(attr(&rec, "d", val), NULL);
		if (fabs(d[i]) > 1.7976931348623e308)
			ck_assert_msg(fabs(got) >= 1.7976931348623e308, "%s is not %.17g", val,
				      d[i]); /* rounded up: may read as inf */
		else if (d[i] > 1e-300 || d[i] < -1e-300)
			ck_assert_msg(fabs(got - d[i]) <= fabs(d[i]) * 1e-14, "%s is not %.17g", val, d[i]);
		else
			ck_assert_msg(fabs(got) <= 1e-300, "%s is not %.17g", val, d[i]);
		n++;
	}
	ck_assert_uint_eq(n, sizeof(d) / sizeof(d[0]));
	free(buf);
	clew_client_free(c);
	unlink(path);
}
END_TEST

static Suite *async_signal_suite(void)
{
	Suite *s = suite_create("async_signal");
	TCase *tc = tcase_create("signal");

	tcase_add_test(tc, a_fatal_signal_handler_formats_binary_records_with_signal_safe_code);
	tcase_add_test(tc, the_signal_safe_double_text_reads_back_close_and_is_a_json_number);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(async_signal_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
