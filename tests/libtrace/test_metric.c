/*
 * test_metric.c - counters, gauges and histograms (libtrace/src/metric.c)
 * and their flush by clew_flush(), clew_client_free() and the background
 * thread (worker.c). Updates from many threads add up exactly; every
 * metric record parses back through the formats library. Nothing here
 * asserts on time: the periodic flush is waited for, with a generous cap.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "th_file.h"

#include "clew/clew.h"
#include "clew/metrics.h"
#include "fmt/json.h"
#include "fmt/pipe.h"
#include "fmt/str.h"

#define LINES_MAX 256

static char path[64];
static clew_client *cl;
static char *out;
static struct fmt_record recs[LINES_MAX];
static size_t nrecs;

static clew_client *client_with(int format, uint32_t interval_ms, uint32_t flags)
{
	struct clew_options o;
	char spec[80];
	clew_client *c;

	clew_options_default(&o);
	snprintf(spec, sizeof(spec), "file:%s", path);
	o.flags = flags;
	o.service = "billing";
	o.output = spec;
	o.format = format;
	o.level = CLEW_LEVEL_INFO;
	o.metrics_interval_ms = interval_ms;
	ck_assert_int_eq(clew_client_new(&c, &o), 0);
	return c;
}

static clew_client *client(int format)
{
	return client_with(format, CLEW_INTERVAL_NEVER, CLEW_OPT_IGNORE_ENV);
}

static void setup(void)
{
	th_tmpfile(path, sizeof(path), "/tmp", "clew-metric");
	out = NULL;
	nrecs = 0;
	unsetenv("CLEW_METRICS_INTERVAL");
}

static void teardown(void)
{
	clew_client_free(cl);
	cl = NULL;
	free(out);
	unlink(path);
}

static void read_records(int format)
{
	char *line, *nl;

	free(out);
	out = th_slurp_must(path, NULL);
	nrecs = 0;
	for (line = out; *line; line = nl + 1) {
		int rc;

		nl = strchr(line, '\n');
		ck_assert_ptr_nonnull(nl);
		ck_assert_uint_lt(nrecs, LINES_MAX);
		if (format == CLEW_FORMAT_JSON)
			rc = fmt_json_parse(line, (size_t)(nl - line), &recs[nrecs], NULL);
		else
			rc = fmt_pipe_parse(line, (size_t)(nl - line), &recs[nrecs], NULL);
		ck_assert_msg(rc == 0, "does not parse: %.*s", (int)(nl - line), line);
		nrecs++;
	}
}

static const char *dec(const struct fmt_str *s)
{
	static char buf[8][1024];
	static int k;
	char *o = buf[k++ % 8];

	if (!s->ptr)
		return "(absent)";
	o[fmt_str_decode(s, o)] = '\0';
	return o;
}

static const char *attr(const struct fmt_record *r, const char *key)
{
	const struct fmt_attr *a = fmt_record_attr(r, key);

	return a ? dec(&a->val) : "(absent)";
}

/* The last metric record named @name, or NULL. */
static const struct fmt_record *metric(const char *name)
{
	for (size_t i = nrecs; i-- > 0;)
		if (recs[i].event == FMT_EVENT_METRIC && strcmp(attr(&recs[i], "metric"), name) == 0)
			return &recs[i];
	return NULL;
}

#define THREADS 4
#define ADDS 100000

static clew_metric *m_counter, *m_gauge, *m_hist;

static void *hammer(void *arg)
{
	(void)arg;
	for (int i = 0; i < ADDS; i++) {
		clew_counter_add(m_counter, 3);
		clew_gauge_add(m_gauge, (i & 1) ? 1.0 : -1.0);
		clew_histogram_observe(m_hist, (double)(i % 4)); /* 0, 1, 2, 3: exact in a double sum */
	}
	return NULL;
}

START_TEST(concurrent_updates_from_threads_add_up_exactly)
{
	static const double bounds[] = {0.5, 1.5, 2.5};
	const struct clew_buckets b = {.kind = CLEW_BUCKETS_FIXED, .bounds = bounds, .n = 3};
	pthread_t th[THREADS];
	const struct fmt_record *r;
	double v, sum;

	cl = client(CLEW_FORMAT_PIPE);
	ck_assert_int_eq(clew_counter_new(cl, &m_counter, "jobs.done", CLEW_NOKV), 0);
	ck_assert_int_eq(clew_gauge_new(cl, &m_gauge, "jobs.running", CLEW_NOKV), 0);
	ck_assert_int_eq(clew_histogram_new(cl, &m_hist, "job.size", &b, CLEW_NOKV), 0);
	for (int t = 0; t < THREADS; t++)
		ck_assert_int_eq(pthread_create(&th[t], NULL, hammer, NULL), 0);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);

	ck_assert_int_eq(clew_metric_read(m_counter, &v, NULL), 0);
	ck_assert(v == 3.0 * THREADS * ADDS);
	ck_assert_int_eq(clew_metric_read(m_gauge, &v, NULL), 0);
	ck_assert(v == 0.0);
	ck_assert_int_eq(clew_metric_read(m_hist, &v, &sum), 0);
	ck_assert(v == (double)THREADS * ADDS);
	ck_assert(sum == 1.5 * THREADS * ADDS);

	ck_assert_int_eq(clew_flush(cl, -1), 0);
	read_records(CLEW_FORMAT_PIPE);
	r = metric("jobs.done");
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(attr(r, "value"), "1200000");
	r = metric("job.size");
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(attr(r, "count"), "400000");
	ck_assert_str_eq(attr(r, "sum"), "600000");
	ck_assert_str_eq(attr(r, "le_0.5"), "100000");
	ck_assert_str_eq(attr(r, "le_1.5"), "200000");
	ck_assert_str_eq(attr(r, "le_2.5"), "300000");
	ck_assert_str_eq(attr(r, "le_+Inf"), "400000");
}
END_TEST

static void check_records(int format)
{
	static const double bounds[] = {0.005, 0.01, 0.1};
	const struct clew_buckets fixed = {.kind = CLEW_BUCKETS_FIXED, .bounds = bounds, .n = 3};
	const struct clew_buckets expo = {
		.kind = CLEW_BUCKETS_EXPONENTIAL, .start = 0.001, .factor = 2, .n = 4};
	clew_metric *c1, *g1, *h1, *h2;
	const struct fmt_record *r;

	cl = client(format);
	ck_assert_int_eq(clew_counter_new(cl, &c1, "http.requests",
					  CLEW_KV(CLEW_STR("route", "/orders"), CLEW_INT("code", 200))),
			 0);
	ck_assert_int_eq(clew_gauge_new(cl, &g1, "queue.depth", CLEW_NOKV), 0);
	ck_assert_int_eq(clew_histogram_new(cl, &h1, "http.latency", &fixed, CLEW_KV(CLEW_BOOL("tls", true))),
			 0);
	ck_assert_int_eq(clew_histogram_new(cl, &h2, "db.latency", &expo, CLEW_NOKV), 0);
	clew_counter_add(c1, 7);
	clew_gauge_set(g1, 2.25);
	clew_histogram_observe(h1, 0.001);
	clew_histogram_observe(h1, 0.005); /* on the bound: counted in le_0.005 */
	clew_histogram_observe(h1, 0.05);
	clew_histogram_observe(h1, 7);
	clew_histogram_observe(h2, 0.003);
	ck_assert_int_eq(clew_flush(cl, 1000), 0);

	read_records(format);
	ck_assert_uint_eq(nrecs, 4); /* sync and nothing dropped: no clew.dropped */
	for (size_t i = 0; i < nrecs; i++) {
		ck_assert_uint_eq(recs[i].event, FMT_EVENT_METRIC);
		ck_assert_uint_eq(recs[i].nids, 0);
		ck_assert_str_eq(dec(&recs[i].service), "billing");
		ck_assert(recs[i].has_ts);
	}
	r = metric("http.requests");
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(attr(r, "type"), "counter");
	ck_assert_str_eq(attr(r, "value"), "7");
	ck_assert_str_eq(attr(r, "route"), "/orders");
	ck_assert_str_eq(attr(r, "code"), "200");
	r = metric("queue.depth");
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(attr(r, "type"), "gauge");
	ck_assert_str_eq(attr(r, "value"), "2.25");
	r = metric("http.latency");
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(attr(r, "type"), "histogram");
	ck_assert_str_eq(attr(r, "value"), "4");
	ck_assert_str_eq(attr(r, "count"), "4");
	ck_assert_str_eq(attr(r, "le_0.005"), "2");
	ck_assert_str_eq(attr(r, "le_0.01"), "2");
	ck_assert_str_eq(attr(r, "le_0.1"), "3");
	ck_assert_str_eq(attr(r, "le_+Inf"), "4");
	ck_assert_str_eq(attr(r, "tls"), "true");
	ck_assert_double_eq_tol(strtod(attr(r, "sum"), NULL), 7.056, 1e-12);
	r = metric("db.latency");
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(attr(r, "le_0.001"), "0");
	ck_assert_str_eq(attr(r, "le_0.002"), "0");
	ck_assert_str_eq(attr(r, "le_0.004"), "1");
	ck_assert_str_eq(attr(r, "le_0.008"), "1");
	ck_assert_str_eq(attr(r, "le_+Inf"), "1");
}

START_TEST(metric_records_parse_back_in_the_pipe_format)
{
	check_records(CLEW_FORMAT_PIPE);
}
END_TEST

START_TEST(metric_records_parse_back_in_json)
{
	check_records(CLEW_FORMAT_JSON);
}
END_TEST

START_TEST(registering_a_name_again_gives_the_same_metric_or_is_refused)
{
	static const double b1[] = {1, 2};
	const struct clew_buckets b = {.kind = CLEW_BUCKETS_FIXED, .bounds = b1, .n = 2};
	clew_metric *a, *a2, *x = NULL;

	cl = client(CLEW_FORMAT_PIPE);
	ck_assert_int_eq(clew_counter_new(cl, &a, "n", CLEW_KV(CLEW_STR("k", "v"))), 0);
	ck_assert_int_eq(clew_counter_new(cl, &a2, "n", CLEW_KV(CLEW_STR("k", "v"))), 0);
	ck_assert_ptr_eq(a, a2);
	ck_assert_int_eq(clew_counter_new(cl, &x, "n", CLEW_KV(CLEW_STR("k", "w"))), -CLEW_EINVAL);
	ck_assert_int_eq(clew_gauge_new(cl, &x, "n", CLEW_KV(CLEW_STR("k", "v"))), -CLEW_EINVAL);
	ck_assert_int_eq(clew_histogram_new(cl, &a, "h", &b, CLEW_NOKV), 0);
	ck_assert_int_eq(clew_histogram_new(cl, &a2, "h", &b, CLEW_NOKV), 0);
	ck_assert_ptr_eq(a, a2);
	ck_assert_ptr_null(x);
}
END_TEST

START_TEST(bad_metric_arguments_are_refused)
{
	static const double down[] = {2, 1}, inf[] = {1, 1.0 / 0.0};
	struct clew_buckets b = {.kind = CLEW_BUCKETS_FIXED, .bounds = down, .n = 2};
	const struct clew_kv tags[CLEW_METRIC_TAGS_MAX + 1] = {
		CLEW_INT("t0", 0), CLEW_INT("t1", 1), CLEW_INT("t2", 2), CLEW_INT("t3", 3), CLEW_INT("t4", 4),
		CLEW_INT("t5", 5), CLEW_INT("t6", 6), CLEW_INT("t7", 7), CLEW_INT("t8", 8),
	};
	clew_metric *m = NULL, *g;

	cl = client(CLEW_FORMAT_PIPE);
	ck_assert_int_eq(clew_counter_new(NULL, &m, "x", CLEW_NOKV), -CLEW_EINVAL);
	ck_assert_int_eq(clew_counter_new(cl, NULL, "x", CLEW_NOKV), -CLEW_EINVAL);
	ck_assert_int_eq(clew_counter_new(cl, &m, "", CLEW_NOKV), -CLEW_EINVAL);
	ck_assert_int_eq(clew_counter_new(cl, &m, "a b", CLEW_NOKV), -CLEW_EINVAL);
	ck_assert_int_eq(clew_counter_new(cl, &m, "a|b", CLEW_NOKV), -CLEW_EINVAL);
	ck_assert_int_eq(clew_counter_new(cl, &m, "x", tags, CLEW_METRIC_TAGS_MAX + 1), -CLEW_ELIMIT);
	ck_assert_int_eq(clew_counter_new(cl, &m, "x", CLEW_KV(CLEW_INT("value", 1))), -CLEW_EINVAL);
	ck_assert_int_eq(clew_counter_new(cl, &m, "x", CLEW_KV(CLEW_INT("le_1", 1))), -CLEW_EINVAL);
	ck_assert_int_eq(clew_histogram_new(cl, &m, "h", &b, CLEW_NOKV), -CLEW_EINVAL);
	b.bounds = inf;
	ck_assert_int_eq(clew_histogram_new(cl, &m, "h", &b, CLEW_NOKV), -CLEW_EINVAL);
	b.n = 0;
	ck_assert_int_eq(clew_histogram_new(cl, &m, "h", &b, CLEW_NOKV), -CLEW_EINVAL);
	b = (struct clew_buckets){.kind = CLEW_BUCKETS_EXPONENTIAL, .start = 1, .factor = 1, .n = 3};
	ck_assert_int_eq(clew_histogram_new(cl, &m, "h", &b, CLEW_NOKV), -CLEW_EINVAL);
	b.factor = 2;
	b.n = CLEW_HIST_BUCKETS_MAX + 1;
	ck_assert_int_eq(clew_histogram_new(cl, &m, "h", &b, CLEW_NOKV), -CLEW_ELIMIT);
	ck_assert_int_eq(clew_histogram_new(cl, &m, "h", NULL, CLEW_NOKV), -CLEW_EINVAL);
	ck_assert_ptr_null(m);

	ck_assert_int_eq(clew_gauge_new(cl, &g, "g", CLEW_NOKV), 0);
	ck_assert_int_eq(clew_counter_add(g, 1), -CLEW_EINVAL);
	ck_assert_int_eq(clew_histogram_observe(g, 1), -CLEW_EINVAL);
	ck_assert_int_eq(clew_gauge_set(g, 0.0 / 0.0), -CLEW_EINVAL);
	ck_assert_int_eq(clew_gauge_set(NULL, 1), -CLEW_EINVAL);
	ck_assert_int_eq(clew_counter_add(NULL, 1), -CLEW_EINVAL);
	ck_assert_int_eq(clew_metric_read(NULL, NULL, NULL), -CLEW_EINVAL);
	ck_assert_int_eq(clew_flush(NULL, 0), -CLEW_EINVAL);
}
END_TEST

/* Wait (up to 10 s; never asserted on) until the file holds a metric record named @name. */
static bool wait_for_metric(int format, const char *name)
{
	for (int i = 0; i < 1000; i++) {
		const struct timespec ts = {.tv_sec = 0, .tv_nsec = 10000000};

		read_records(format);
		if (metric(name))
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

START_TEST(the_background_thread_writes_metrics_every_interval)
{
	clew_metric *m;

	cl = client_with(CLEW_FORMAT_PIPE, 20, CLEW_OPT_IGNORE_ENV);
	ck_assert_int_eq(clew_counter_new(cl, &m, "ticks", CLEW_NOKV), 0);
	clew_counter_add(m, 5);
	ck_assert(wait_for_metric(CLEW_FORMAT_PIPE, "ticks"));
}
END_TEST

START_TEST(the_interval_is_taken_from_the_environment)
{
	clew_metric *m;
	struct clew_options o;
	clew_client *bad;

	setenv("CLEW_METRICS_INTERVAL", "0.02", 1);
	cl = client_with(CLEW_FORMAT_JSON, 0, 0);
	ck_assert_int_eq(clew_gauge_new(cl, &m, "temp", CLEW_NOKV), 0);
	clew_gauge_set(m, -4.5);
	ck_assert(wait_for_metric(CLEW_FORMAT_JSON, "temp"));
	ck_assert_str_eq(attr(metric("temp"), "value"), "-4.5");

	setenv("CLEW_METRICS_INTERVAL", "soon", 1);
	clew_options_default(&o);
	o.output = "stderr";
	ck_assert_int_eq(clew_client_new(&bad, &o), -CLEW_ECONFIG);
}
END_TEST

START_TEST(freeing_the_client_writes_its_metrics_a_last_time)
{
	clew_metric *m;

	cl = client(CLEW_FORMAT_PIPE);
	ck_assert_int_eq(clew_counter_new(cl, &m, "last", CLEW_NOKV), 0);
	clew_counter_add(m, 1);
	clew_client_free(cl);
	cl = NULL;
	read_records(CLEW_FORMAT_PIPE);
	ck_assert_ptr_nonnull(metric("last"));
	ck_assert_str_eq(attr(metric("last"), "value"), "1");
}
END_TEST

static Suite *metric_suite(void)
{
	Suite *s = suite_create("metric");
	TCase *tc = tcase_create("metric");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, concurrent_updates_from_threads_add_up_exactly);
	tcase_add_test(tc, metric_records_parse_back_in_the_pipe_format);
	tcase_add_test(tc, metric_records_parse_back_in_json);
	tcase_add_test(tc, registering_a_name_again_gives_the_same_metric_or_is_refused);
	tcase_add_test(tc, bad_metric_arguments_are_refused);
	tcase_add_test(tc, the_background_thread_writes_metrics_every_interval);
	tcase_add_test(tc, the_interval_is_taken_from_the_environment);
	tcase_add_test(tc, freeing_the_client_writes_its_metrics_a_last_time);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(metric_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
