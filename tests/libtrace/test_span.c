/*
 * test_span.c - spans (libtrace/src/span.c): start pushes a child span ID,
 * end writes one event=span record and pops it. Every record written is
 * parsed back through the formats library (fmt_pipe_parse()/
 * fmt_json_parse()) and checked for its trace, span and parent. Time is
 * only checked as "dur_us is at least the sleep inside the span".
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "th_file.h"

#include "clew/clew.h"
#include "fmt/json.h"
#include "fmt/pipe.h"
#include "fmt/str.h"

#define LINES_MAX 64

static char path[64];
static clew_client *cl;
static char *out;			  /* the output file's contents */
static struct fmt_record recs[LINES_MAX]; /* its records, parsed */
static size_t nrecs;

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
	ck_assert_int_eq(clew_client_new(&c, &o), 0);
	return c;
}

static void setup(void)
{
	th_tmpfile(path, sizeof(path), "/tmp", "clew-span");
	clew_request_end(NULL);
	out = NULL;
	nrecs = 0;
}

static void teardown(void)
{
	clew_client_free(cl);
	cl = NULL;
	free(out);
	unlink(path);
}

/* Read the output file and parse every line of it into recs[] with @format's parser. */
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

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

START_TEST(a_span_record_parses_back_with_its_trace_span_and_parent)
{
	struct clew_span sp;
	char trace[CLEW_ID_MAX + 1], ours[CLEW_ID_MAX + 1];
	const struct fmt_record *log, *span;

	cl = client(CLEW_FORMAT_PIPE, CLEW_LEVEL_INFO);
	ck_assert_int_eq(clew_request_begin(cl, NULL, "GET", "/orders/42"), 0);
	strcpy(trace, clew_ndc_get(0));
	strcpy(ours, clew_ndc_peek());
	ck_assert_int_eq(clew_span_start(cl, &sp, "db query"), 0);
	ck_assert_uint_eq(clew_ndc_depth(), 3);
	ck_assert_str_eq(clew_ndc_peek(), sp.id);
	ck_assert_int_eq(clew_span_set(&sp, CLEW_KV(CLEW_STR("table", "orders"), CLEW_INT("rows", 3))), 0);
	ck_assert_int_eq(clew_span_set_status(&sp, CLEW_STATUS_OK), 0);
	CLEW_INFO(cl, "inside");
	sleep_ms(5);
	ck_assert_int_eq(clew_span_end(cl, &sp), 0);
	ck_assert_uint_eq(clew_ndc_depth(), 2);
	ck_assert_str_eq(clew_ndc_peek(), ours);

	read_records(CLEW_FORMAT_PIPE);
	ck_assert_uint_eq(nrecs, 2);
	log = &recs[0];
	span = &recs[1];
	ck_assert_uint_eq(log->event, FMT_EVENT_LOG);
	ck_assert_uint_eq(span->event, FMT_EVENT_SPAN);
	/* The log record inside and the span record share the path trace:ours:span. */
	for (int i = 0; i < 2; i++) {
		ck_assert_uint_eq(recs[i].nids, 3);
		ck_assert_str_eq(dec(&recs[i].trace), trace);
		ck_assert_str_eq(dec(&recs[i].parent), ours);
		ck_assert_str_eq(dec(&recs[i].span), sp.id);
		ck_assert_str_eq(dec(&recs[i].ids[2]), sp.id); /* the span is the path's last element */
	}
	ck_assert_str_eq(dec(&span->method), "GET");
	ck_assert_str_eq(dec(&span->path), "/orders/42");
	ck_assert_uint_eq(span->level, FMT_LEVEL_INFO);
	ck_assert_str_eq(attr(span, "name"), "db query");
	ck_assert_str_eq(attr(span, "status"), "ok");
	ck_assert_str_eq(attr(span, "table"), "orders");
	ck_assert_str_eq(attr(span, "rows"), "3");
	ck_assert_int_ge(strtoll(attr(span, "dur_us"), NULL, 10), 5000);
	/* Timestamped at its start: not after the record logged inside it. */
	ck_assert(span->has_ts && log->has_ts);
	ck_assert_int_le(span->ts_ns, log->ts_ns);
}
END_TEST

START_TEST(nested_spans_form_a_tree_in_json)
{
	struct clew_span a, b;
	char trace[CLEW_ID_MAX + 1], ours[CLEW_ID_MAX + 1];
	const struct fmt_record *ra, *rb;

	cl = client(CLEW_FORMAT_JSON, CLEW_LEVEL_INFO);
	ck_assert_int_eq(clew_request_begin(cl, NULL, "POST", "/checkout"), 0);
	strcpy(trace, clew_ndc_get(0));
	strcpy(ours, clew_ndc_peek());
	ck_assert_int_eq(clew_span_start(cl, &a, "outer"), 0);
	ck_assert_int_eq(clew_span_start(cl, &b, "inner"), 0);
	ck_assert_str_ne(a.id, b.id);
	sleep_ms(2);
	ck_assert_int_eq(clew_span_end(cl, &b), 0);
	ck_assert_int_eq(clew_span_end(cl, &a), 0);
	ck_assert_uint_eq(clew_ndc_depth(), 2);

	read_records(CLEW_FORMAT_JSON);
	ck_assert_uint_eq(nrecs, 2);
	rb = &recs[0]; /* the inner one ends first */
	ra = &recs[1];
	ck_assert_str_eq(attr(rb, "name"), "inner");
	ck_assert_str_eq(attr(ra, "name"), "outer");
	ck_assert_uint_eq(ra->event, FMT_EVENT_SPAN);
	ck_assert_uint_eq(rb->event, FMT_EVENT_SPAN);
	ck_assert_str_eq(dec(&ra->trace), trace);
	ck_assert_str_eq(dec(&rb->trace), trace);
	ck_assert_str_eq(dec(&ra->span), a.id);
	ck_assert_str_eq(dec(&ra->parent), ours);
	ck_assert_str_eq(dec(&rb->span), b.id);
	ck_assert_str_eq(dec(&rb->parent), a.id);
	ck_assert_str_eq(attr(ra, "status"), "unset");
	ck_assert_int_ge(strtoll(attr(rb, "dur_us"), NULL, 10), 2000);
	ck_assert_int_ge(strtoll(attr(ra, "dur_us"), NULL, 10), strtoll(attr(rb, "dur_us"), NULL, 10));
	ck_assert_int_le(ra->ts_ns, rb->ts_ns);
}
END_TEST

static void scoped_work(clew_client *c, bool early_return)
{
	CLEW_SPAN_SCOPE(c, sp, "scoped");

	ck_assert_int_eq(clew_span_set(&sp, CLEW_KV(CLEW_BOOL("early", early_return))), 0);
	ck_assert_uint_eq(clew_ndc_depth(), 3);
	if (early_return)
		return;
	CLEW_INFO(c, "late");
}

START_TEST(a_scoped_span_ends_when_its_block_is_left_by_any_path)
{
	cl = client(CLEW_FORMAT_PIPE, CLEW_LEVEL_INFO);
	ck_assert_int_eq(clew_request_begin(cl, NULL, NULL, NULL), 0);
	scoped_work(cl, true);
	ck_assert_uint_eq(clew_ndc_depth(), 2);
	scoped_work(cl, false);
	ck_assert_uint_eq(clew_ndc_depth(), 2);
	{
		CLEW_SPAN_SCOPE(cl, sp, "ended early");

		ck_assert_int_eq(clew_span_end(cl, &sp), 0); /* the scope end then does nothing */
		ck_assert_uint_eq(clew_ndc_depth(), 2);
	}
	ck_assert_uint_eq(clew_ndc_depth(), 2);

	read_records(CLEW_FORMAT_PIPE);
	ck_assert_uint_eq(nrecs, 4);
	ck_assert_str_eq(attr(&recs[0], "early"), "true");
	ck_assert_str_eq(dec(&recs[1].message), "late");
	ck_assert_str_eq(dec(&recs[1].span), dec(&recs[2].span));
	ck_assert_str_eq(attr(&recs[2], "early"), "false");
	ck_assert_str_eq(attr(&recs[3], "name"), "ended early");
}
END_TEST

START_TEST(a_span_on_an_empty_ndc_starts_a_trace_and_takes_it_away)
{
	struct clew_span sp;

	cl = client(CLEW_FORMAT_PIPE, CLEW_LEVEL_INFO);
	ck_assert_uint_eq(clew_ndc_depth(), 0);
	ck_assert_int_eq(clew_span_start(cl, &sp, "job"), 0);
	ck_assert_uint_eq(clew_ndc_depth(), 2);
	ck_assert_uint_eq(strlen(clew_ndc_get(0)), CLEW_TRACE_HEX_LEN);
	ck_assert_int_eq(clew_span_end(cl, &sp), 0);
	ck_assert_uint_eq(clew_ndc_depth(), 0);

	read_records(CLEW_FORMAT_PIPE);
	ck_assert_uint_eq(nrecs, 1);
	ck_assert_uint_eq(recs[0].nids, 2);
	ck_assert_str_eq(dec(&recs[0].span), sp.id);
	ck_assert_ptr_null(recs[0].parent.ptr);
}
END_TEST

START_TEST(an_error_status_writes_an_error_record_and_a_disabled_level_still_pops)
{
	struct clew_span sp;

	cl = client(CLEW_FORMAT_PIPE, CLEW_LEVEL_WARN);
	ck_assert_int_eq(clew_request_begin(cl, NULL, NULL, NULL), 0);
	ck_assert_int_eq(clew_span_start(cl, &sp, "quiet"), 0);
	ck_assert_int_eq(clew_span_end(cl, &sp), 0); /* INFO < WARN: not written */
	ck_assert_uint_eq(clew_ndc_depth(), 2);
	ck_assert_int_eq(clew_span_start(cl, &sp, "failing"), 0);
	ck_assert_int_eq(clew_span_set_status(&sp, CLEW_STATUS_ERROR), 0);
	ck_assert_int_eq(clew_span_end(NULL, &sp), 0); /* NULL: the client of start */
	ck_assert_uint_eq(clew_ndc_depth(), 2);

	read_records(CLEW_FORMAT_PIPE);
	ck_assert_uint_eq(nrecs, 1);
	ck_assert_uint_eq(recs[0].level, FMT_LEVEL_ERROR);
	ck_assert_str_eq(attr(&recs[0], "name"), "failing");
	ck_assert_str_eq(attr(&recs[0], "status"), "error");
}
END_TEST

START_TEST(a_missing_pop_inside_a_span_is_repaired_and_reported_at_its_end)
{
	struct clew_span sp;

	cl = client(CLEW_FORMAT_PIPE, CLEW_LEVEL_INFO);
	ck_assert_int_eq(clew_request_begin(cl, NULL, NULL, NULL), 0);
	ck_assert_int_eq(clew_span_start(cl, &sp, "leaky"), 0);
	ck_assert_int_eq(clew_ndc_push(cl, "forgotten"), 0);
	ck_assert_int_eq(clew_span_end(cl, &sp), -CLEW_EMISMATCH);
	ck_assert_uint_eq(clew_ndc_depth(), 2);

	read_records(CLEW_FORMAT_PIPE);
	ck_assert_uint_eq(nrecs, 2); /* the span (with its own path), then the warning */
	ck_assert_uint_eq(recs[0].event, FMT_EVENT_SPAN);
	ck_assert_uint_eq(recs[0].nids, 3);
	ck_assert_str_eq(dec(&recs[0].span), sp.id);
	ck_assert_str_eq(attr(&recs[1], "clew"), "warning");
}
END_TEST

START_TEST(span_attributes_are_bounded_and_may_not_take_reserved_keys)
{
	struct clew_span sp;

	cl = client(CLEW_FORMAT_PIPE, CLEW_LEVEL_INFO);
	ck_assert_int_eq(clew_span_start(cl, &sp, "attrs"), 0);
	ck_assert_int_eq(clew_span_set(&sp, CLEW_KV(CLEW_INT("dur_us", 1))), -CLEW_EINVAL);
	ck_assert_int_eq(clew_span_set(&sp, CLEW_KV(CLEW_STR("name", "x"))), -CLEW_EINVAL);
	ck_assert_int_eq(clew_span_set(&sp, CLEW_KV(CLEW_STR("", "x"))), -CLEW_EINVAL);
	for (int i = 0; i < CLEW_SPAN_ATTRS_MAX; i++)
		ck_assert_int_eq(clew_span_set(&sp, CLEW_KV(CLEW_DBL("d", i + 0.5))), 0);
	ck_assert_int_eq(clew_span_set(&sp, CLEW_KV(CLEW_INT("one_more", 1))), -CLEW_ELIMIT);
	ck_assert_int_eq(clew_span_set_status(&sp, 7), -CLEW_EINVAL);
	ck_assert_int_eq(clew_span_end(cl, &sp), 0);

	read_records(CLEW_FORMAT_PIPE);
	ck_assert_uint_eq(nrecs, 1);
	ck_assert_uint_eq(recs[0].nattrs, 3 + CLEW_SPAN_ATTRS_MAX);
	ck_assert_str_eq(dec(&recs[0].attrs[3 + CLEW_SPAN_ATTRS_MAX - 1].val), "15.5");
}
END_TEST

START_TEST(bad_span_calls_are_refused_without_touching_the_ndc)
{
	struct clew_span sp;

	cl = client(CLEW_FORMAT_PIPE, CLEW_LEVEL_INFO);
	ck_assert_int_eq(clew_span_start(NULL, &sp, "x"), -CLEW_EINVAL);
	ck_assert_int_eq(clew_span_start(cl, NULL, "x"), -CLEW_EINVAL);
	ck_assert_int_eq(clew_span_start(cl, &sp, ""), -CLEW_EINVAL);
	ck_assert_int_eq(clew_span_end(cl, &sp), -CLEW_EINVAL); /* never started */
	ck_assert_int_eq(clew_span_set(&sp, CLEW_NOKV), -CLEW_EINVAL);
	ck_assert_int_eq(clew_span_end(cl, NULL), -CLEW_EINVAL);
	ck_assert_uint_eq(clew_ndc_depth(), 0);
	ck_assert_int_eq(clew_span_start(cl, &sp, "once"), 0);
	ck_assert_int_eq(clew_span_end(cl, &sp), 0);
	ck_assert_int_eq(clew_span_end(cl, &sp), -CLEW_EINVAL); /* ended twice */
	ck_assert_uint_eq(clew_ndc_depth(), 0);
	clew_span_scope_end(NULL);
}
END_TEST

START_TEST(a_request_span_is_timed_on_the_id_the_request_pushed)
{
	struct clew_span sp;
	char trace[CLEW_ID_MAX + 1], ours[CLEW_ID_MAX + 1];

	cl = client(CLEW_FORMAT_JSON, CLEW_LEVEL_INFO);
	ck_assert_int_eq(clew_span_start_top(cl, &sp, "GET /x"), -CLEW_ENOENT); /* empty NDC */
	ck_assert_int_eq(clew_ndc_push(cl, "t1"), 0);
	ck_assert_int_eq(clew_span_start_top(cl, &sp, "GET /x"), -CLEW_ENOENT); /* a trace alone */
	clew_ndc_clear();
	ck_assert_int_eq(clew_request_begin(cl, NULL, "GET", "/x"), 0);
	strcpy(trace, clew_ndc_get(0));
	strcpy(ours, clew_ndc_peek());
	ck_assert_int_eq(clew_span_start_top(cl, &sp, "GET /x"), 0);
	ck_assert_uint_eq(clew_ndc_depth(), 2); /* nothing pushed */
	CLEW_INFO(cl, "inside");
	ck_assert_int_eq(clew_span_end(cl, &sp), 0);
	ck_assert_uint_eq(clew_ndc_depth(), 1);

	read_records(CLEW_FORMAT_JSON);
	ck_assert_uint_eq(nrecs, 2);
	for (int i = 0; i < 2; i++) {
		ck_assert_uint_eq(recs[i].nids, 2);
		ck_assert_str_eq(dec(&recs[i].trace), trace);
		ck_assert_str_eq(dec(&recs[i].span), ours);
		ck_assert_ptr_null(recs[i].parent.ptr); /* written as "" at the root: none */
	}
	ck_assert_uint_eq(recs[1].event, FMT_EVENT_SPAN);
	ck_assert_str_eq(attr(&recs[1], "name"), "GET /x");
	ck_assert(strstr(out, "\"parent\":\"\""));
	ck_assert(strstr(out, "\"message\":\"span GET /x "));
}
END_TEST

static Suite *span_suite(void)
{
	Suite *s = suite_create("span");
	TCase *tc = tcase_create("span");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, a_span_record_parses_back_with_its_trace_span_and_parent);
	tcase_add_test(tc, nested_spans_form_a_tree_in_json);
	tcase_add_test(tc, a_scoped_span_ends_when_its_block_is_left_by_any_path);
	tcase_add_test(tc, a_span_on_an_empty_ndc_starts_a_trace_and_takes_it_away);
	tcase_add_test(tc, an_error_status_writes_an_error_record_and_a_disabled_level_still_pops);
	tcase_add_test(tc, a_missing_pop_inside_a_span_is_repaired_and_reported_at_its_end);
	tcase_add_test(tc, span_attributes_are_bounded_and_may_not_take_reserved_keys);
	tcase_add_test(tc, bad_span_calls_are_refused_without_touching_the_ndc);
	tcase_add_test(tc, a_request_span_is_timed_on_the_id_the_request_pushed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(span_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
