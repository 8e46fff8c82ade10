/*
 * test_ndc.c - the nested diagnostic context (libtrace/src/ndc.c) and
 * handing a thread's context to another thread (libtrace/src/context.c).
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clew/clew.h"

static clew_client *cl;
static char last_diag[512];
static int ndiag;

static void on_diag(void *cookie, int level, const char *msg)
{
	(void)cookie;
	ck_assert_int_eq(level, CLEW_LEVEL_WARN);
	ndiag++;
	snprintf(last_diag, sizeof(last_diag), "%s", msg);
}

static void setup(void)
{
	struct clew_options o;

	clew_options_default(&o);
	o.flags = CLEW_OPT_IGNORE_ENV;
	o.on_diag = on_diag;
	o.level = CLEW_LEVEL_ERROR; /* the warning records are tested in test_record.c */
	ck_assert_int_eq(clew_client_new(&cl, &o), 0);
	ndiag = 0;
	last_diag[0] = '\0';
	clew_ndc_clear();
}

static void teardown(void)
{
	clew_client_free(cl);
	cl = NULL;
}

static const char *path(void)
{
	static char buf[CLEW_NDC_BYTES];

	ck_assert_int_eq(clew_ndc_path(buf, sizeof(buf)), 0);
	return buf;
}

START_TEST(push_peek_get_and_pop_follow_stack_order)
{
	ck_assert_uint_eq(clew_ndc_depth(), 0);
	ck_assert_ptr_null(clew_ndc_peek());
	ck_assert_str_eq(path(), "");
	ck_assert_int_eq(clew_ndc_push(cl, "7f3a9c1e"), 0);
	ck_assert_int_eq(clew_ndc_push(cl, "1b2c3d4e"), 0);
	ck_assert_int_eq(clew_ndc_push_n(cl, "9a8b7c6dXXX", 8), 0);
	ck_assert_uint_eq(clew_ndc_depth(), 3);
	ck_assert_str_eq(clew_ndc_peek(), "9a8b7c6d");
	ck_assert_str_eq(clew_ndc_get(0), "7f3a9c1e");
	ck_assert_str_eq(clew_ndc_get(1), "1b2c3d4e");
	ck_assert_ptr_null(clew_ndc_get(3));
	ck_assert_str_eq(path(), "7f3a9c1e:1b2c3d4e:9a8b7c6d");
	ck_assert_int_eq(clew_ndc_pop(cl, "9a8b7c6d"), 0);
	ck_assert_int_eq(clew_ndc_pop(cl, NULL), 0);
	ck_assert_str_eq(clew_ndc_peek(), "7f3a9c1e");
	ck_assert_str_eq(path(), "7f3a9c1e");
	ck_assert_int_eq(clew_ndc_pop(cl, "7f3a9c1e"), 0);
	ck_assert_uint_eq(clew_ndc_depth(), 0);
	ck_assert_int_eq(ndiag, 0);
}
END_TEST

START_TEST(popping_an_empty_ndc_warns_and_fails)
{
	ck_assert_int_eq(clew_ndc_pop(cl, NULL), -CLEW_ENOENT);
	ck_assert_int_eq(clew_ndc_pop(cl, "abc"), -CLEW_ENOENT);
	ck_assert_int_eq(ndiag, 2);
	ck_assert_ptr_nonnull(strstr(last_diag, "empty"));
}
END_TEST

START_TEST(ids_outside_the_pipe_grammar_are_refused)
{
	ck_assert_int_eq(clew_ndc_push(cl, ""), -CLEW_EINVAL);
	ck_assert_int_eq(clew_ndc_push(cl, "a:b"), -CLEW_EINVAL);
	ck_assert_int_eq(clew_ndc_push(cl, "a|b"), -CLEW_EINVAL);
	ck_assert_int_eq(clew_ndc_push(cl, "a b"), -CLEW_EINVAL);
	ck_assert_int_eq(clew_ndc_push(cl, NULL), -CLEW_EINVAL);
	ck_assert_int_eq(
		clew_ndc_push(cl,
			      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), /* 65 */
		-CLEW_EINVAL);
	ck_assert_uint_eq(clew_ndc_depth(), 0);
}
END_TEST

START_TEST(a_full_ndc_refuses_more_ids_with_a_warning)
{
	char id[8];

	for (int i = 0; i < CLEW_NDC_MAX; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		ck_assert_int_eq(clew_ndc_push(cl, id), 0);
	}
	ck_assert_int_eq(clew_ndc_push(cl, "one-more"), -CLEW_ELIMIT);
	ck_assert_uint_eq(clew_ndc_depth(), CLEW_NDC_MAX);
	ck_assert_str_eq(clew_ndc_peek(), "s31");
	ck_assert_int_eq(ndiag, 1);
	ck_assert_ptr_nonnull(strstr(last_diag, "one-more"));
}
END_TEST

START_TEST(the_byte_capacity_is_enforced_too)
{
	char id[CLEW_ID_MAX + 1];
	unsigned fit = CLEW_NDC_BYTES / (CLEW_ID_MAX + 1);

	memset(id, 'x', CLEW_ID_MAX);
	id[CLEW_ID_MAX] = '\0';
	for (unsigned i = 0; i < fit; i++)
		ck_assert_int_eq(clew_ndc_push(cl, id), 0);
	ck_assert_int_eq(clew_ndc_push(cl, id), -CLEW_ELIMIT);
	ck_assert_uint_eq(clew_ndc_depth(), fit);
	ck_assert_int_eq(clew_ndc_push(cl, "short"), 0); /* what still fits is accepted */
}
END_TEST

START_TEST(a_pop_below_the_top_pops_what_was_left_above_and_warns)
{
	clew_ndc_push(cl, "a");
	clew_ndc_push(cl, "b");
	clew_ndc_push(cl, "c");
	clew_ndc_push(cl, "d");
	ck_assert_int_eq(clew_ndc_pop(cl, "b"), -CLEW_EMISMATCH);
	ck_assert_str_eq(path(), "a");
	ck_assert_int_eq(ndiag, 1);
	ck_assert_ptr_nonnull(strstr(last_diag, "'b'"));
	ck_assert_ptr_nonnull(strstr(last_diag, "a:b:c:d"));
}
END_TEST

START_TEST(a_pop_of_an_id_not_in_the_ndc_pops_nothing_and_warns)
{
	clew_ndc_push(cl, "a");
	clew_ndc_push(cl, "b");
	ck_assert_int_eq(clew_ndc_pop(cl, "zz"), -CLEW_ENOENT);
	ck_assert_str_eq(path(), "a:b");
	ck_assert_int_eq(ndiag, 1);
	ck_assert_ptr_nonnull(strstr(last_diag, "'zz'"));
}
END_TEST

START_TEST(path_into_a_small_buffer_is_refused_untouched)
{
	char buf[4] = "xyz";

	clew_ndc_push(cl, "abcd");
	ck_assert_int_eq(clew_ndc_path(buf, sizeof(buf)), -CLEW_ETRUNC);
	ck_assert_str_eq(buf, "xyz");
	ck_assert_int_eq(clew_ndc_path(NULL, 10), -CLEW_EINVAL);
}
END_TEST

START_TEST(clear_empties_the_ndc)
{
	clew_ndc_push(cl, "a");
	clew_ndc_push(cl, "b");
	clew_ndc_clear();
	ck_assert_uint_eq(clew_ndc_depth(), 0);
	ck_assert_ptr_null(clew_ndc_peek());
	ck_assert_int_eq(clew_ndc_push(cl, "c"), 0);
	ck_assert_str_eq(path(), "c");
}
END_TEST

static int scoped(int early)
{
	CLEW_NDC_SCOPE(cl, "outer");
	{
		CLEW_NDC_SCOPE(cl, "inner");
		ck_assert_str_eq(path(), "t:outer:inner");
		if (early)
			return 1; /* both scopes end here */
	}
	ck_assert_str_eq(path(), "t:outer");
	return 0;
}

START_TEST(scoped_pushes_pop_themselves_on_every_way_out)
{
	clew_ndc_push(cl, "t");
	ck_assert_int_eq(scoped(0), 0);
	ck_assert_str_eq(path(), "t");
	ck_assert_int_eq(scoped(1), 1);
	ck_assert_str_eq(path(), "t");
	ck_assert_int_eq(ndiag, 0);
}
END_TEST

START_TEST(a_scope_left_with_an_extra_push_warns_and_cuts_back)
{
	clew_ndc_push(cl, "t");
	{
		CLEW_NDC_SCOPE(cl, "work");
		clew_ndc_push(cl, "forgotten");
	}
	ck_assert_str_eq(path(), "t");
	ck_assert_int_eq(ndiag, 1);
	ck_assert_ptr_nonnull(strstr(last_diag, "missing pops"));
}
END_TEST

START_TEST(a_scope_whose_push_failed_pops_nothing)
{
	clew_ndc_push(cl, "t");
	{
		CLEW_NDC_SCOPE(cl, "not:valid");
		ck_assert_str_eq(path(), "t");
	}
	ck_assert_str_eq(path(), "t");
	ck_assert_int_eq(ndiag, 0);
}
END_TEST

static void *peek_other_thread(void *arg)
{
	unsigned *depth = arg;

	*depth = clew_ndc_depth();
	clew_ndc_push(NULL, "mine");
	return NULL;
}

START_TEST(each_thread_has_its_own_ndc)
{
	pthread_t t;
	unsigned depth = 99;

	clew_ndc_push(cl, "main");
	ck_assert_int_eq(pthread_create(&t, NULL, peek_other_thread, &depth), 0);
	pthread_join(t, NULL);
	ck_assert_uint_eq(depth, 0);
	ck_assert_str_eq(path(), "main");
}
END_TEST

struct job {
	struct clew_context ctx;     /* captured by the submitter */
	char seen[CLEW_NDC_BYTES];   /* the worker's NDC path while on the job */
	char after[CLEW_NDC_BYTES];  /* the worker's NDC path after restoring */
	struct clew_propagation out; /* what the worker would propagate */
	int rc_adopt, rc_restore;    /* results */
};

static void *worker(void *arg)
{
	struct job *j = arg;
	struct clew_context saved;

	clew_ndc_push(NULL, "worker-idle");
	j->rc_adopt = clew_context_adopt(&j->ctx, &saved);
	clew_ndc_push(NULL, "step");
	clew_ndc_path(j->seen, sizeof(j->seen));
	clew_ndc_pop(NULL, "step");
	clew_context_propagation(&j->out);
	j->rc_restore = clew_context_restore(&saved);
	clew_ndc_path(j->after, sizeof(j->after));
	return NULL;
}

START_TEST(a_captured_context_is_adopted_by_a_worker_and_restored_after)
{
	static struct job j;
	struct clew_propagation mine;
	char before[CLEW_NDC_BYTES];
	pthread_t t;

	ck_assert_int_eq(clew_request_begin(cl, NULL, "GET", "/orders/42"), 0);
	clew_ndc_push(cl, "handler");
	strcpy(before, path());
	ck_assert_int_eq(clew_context_capture(&j.ctx), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, worker, &j), 0);
	pthread_join(t, NULL);

	ck_assert_int_eq(j.rc_adopt, 0);
	ck_assert_int_eq(j.rc_restore, 0);
	ck_assert_str_eq(j.after, "worker-idle");
	ck_assert_uint_eq(strlen(j.seen), strlen(before) + strlen(":step"));
	ck_assert_int_eq(strncmp(j.seen, before, strlen(before)), 0);
	ck_assert_int_eq(clew_context_propagation(&mine), 0);
	ck_assert_str_eq(j.out.trace, mine.trace);
	ck_assert_str_eq(j.out.span, mine.span);
	ck_assert_str_eq(path(), before); /* the submitter's own context is untouched */
}
END_TEST

START_TEST(adopt_refuses_a_context_that_capture_did_not_write)
{
	static struct clew_context ctx;

	clew_ndc_push(cl, "keep");
	memset(&ctx, 0, sizeof(ctx));
	ck_assert_int_eq(clew_context_adopt(&ctx, NULL), -CLEW_EINVAL);
	ck_assert_int_eq(clew_context_capture(&ctx), 0);
	ctx.depth = CLEW_NDC_MAX + 1;
	ck_assert_int_eq(clew_context_adopt(&ctx, NULL), -CLEW_EINVAL);
	ck_assert_int_eq(clew_context_capture(&ctx), 0);
	ctx.off[0] = 3;
	ck_assert_int_eq(clew_context_adopt(&ctx, NULL), -CLEW_EINVAL);
	ck_assert_int_eq(clew_context_adopt(NULL, NULL), -CLEW_EINVAL);
	ck_assert_int_eq(clew_context_capture(NULL), -CLEW_EINVAL);
	ck_assert_str_eq(path(), "keep");
}
END_TEST

START_TEST(a_request_starts_a_trace_and_a_span_and_ends_clean)
{
	struct clew_propagation p;

	clew_ndc_push(cl, "stale");
	ck_assert_int_eq(clew_request_begin(cl, NULL, "POST", "/checkout"), 0);
	ck_assert_uint_eq(clew_ndc_depth(), 2);
	ck_assert_uint_eq(strlen(clew_ndc_get(0)), CLEW_TRACE_HEX_LEN);
	ck_assert_uint_eq(strlen(clew_ndc_get(1)), CLEW_SPAN_HEX_LEN);
	ck_assert_int_eq(clew_context_propagation(&p), 0);
	ck_assert_uint_eq(p.source, CLEW_PROP_LOCAL);
	ck_assert_str_eq(p.trace, clew_ndc_get(0));
	ck_assert_str_eq(p.span, clew_ndc_get(1));
	ck_assert_uint_eq(p.flags, CLEW_TRACE_SAMPLED | CLEW_TRACE_RANDOM);
	clew_request_end(cl);
	ck_assert_uint_eq(clew_ndc_depth(), 0);
	ck_assert_int_eq(clew_context_propagation(&p), -CLEW_ENOENT);
	ck_assert_int_eq(clew_request_begin(NULL, NULL, NULL, NULL), -CLEW_EINVAL);
}
END_TEST

static Suite *ndc_suite(void)
{
	Suite *s = suite_create("ndc");
	TCase *tc = tcase_create("ndc");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, push_peek_get_and_pop_follow_stack_order);
	tcase_add_test(tc, popping_an_empty_ndc_warns_and_fails);
	tcase_add_test(tc, ids_outside_the_pipe_grammar_are_refused);
	tcase_add_test(tc, a_full_ndc_refuses_more_ids_with_a_warning);
	tcase_add_test(tc, the_byte_capacity_is_enforced_too);
	tcase_add_test(tc, a_pop_below_the_top_pops_what_was_left_above_and_warns);
	tcase_add_test(tc, a_pop_of_an_id_not_in_the_ndc_pops_nothing_and_warns);
	tcase_add_test(tc, path_into_a_small_buffer_is_refused_untouched);
	tcase_add_test(tc, clear_empties_the_ndc);
	tcase_add_test(tc, scoped_pushes_pop_themselves_on_every_way_out);
	tcase_add_test(tc, a_scope_left_with_an_extra_push_warns_and_cuts_back);
	tcase_add_test(tc, a_scope_whose_push_failed_pops_nothing);
	tcase_add_test(tc, each_thread_has_its_own_ndc);
	tcase_add_test(tc, a_captured_context_is_adopted_by_a_worker_and_restored_after);
	tcase_add_test(tc, adopt_refuses_a_context_that_capture_did_not_write);
	tcase_add_test(tc, a_request_starts_a_trace_and_a_span_and_ends_clean);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ndc_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
