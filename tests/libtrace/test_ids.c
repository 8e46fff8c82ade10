/*
 * test_ids.c - transaction and span IDs (libtrace/src/ids.c): their text
 * forms, uniqueness, never all zero, and a fresh sequence in a forked child.
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clew/clew.h"

#define MANY 1000000

static bool all_of(const char *s, const char *set)
{
	return s[strspn(s, set)] == '\0';
}

static const char lhex[] = "0123456789abcdef";

START_TEST(trace_ids_are_32_lowercase_hex_digits_by_default)
{
	char id[CLEW_ID_MAX + 1];

	ck_assert_int_eq(clew_id_trace(CLEW_ID_UNSET, id, sizeof(id)), 0);
	ck_assert_uint_eq(strlen(id), CLEW_TRACE_HEX_LEN);
	ck_assert(all_of(id, lhex));
	ck_assert_int_eq(clew_id_trace(CLEW_ID_HEX, id, CLEW_TRACE_HEX_LEN + 1), 0);
	ck_assert_uint_eq(strlen(id), 32);
	ck_assert(all_of(id, lhex));
}
END_TEST

START_TEST(uuid_ids_are_version_4_variant_1_text)
{
	char id[CLEW_UUID_LEN + 1];

	for (int i = 0; i < 1000; i++) {
		ck_assert_int_eq(clew_id_trace(CLEW_ID_UUID, id, sizeof(id)), 0);
		ck_assert_uint_eq(strlen(id), 36);
		for (int j = 0; j < 36; j++) {
			if (j == 8 || j == 13 || j == 18 || j == 23)
				ck_assert_int_eq(id[j], '-');
			else
				ck_assert_ptr_nonnull(strchr(lhex, id[j]));
		}
		ck_assert_int_eq(id[14], '4');
		ck_assert_ptr_nonnull(strchr("89ab", id[19]));
	}
}
END_TEST

START_TEST(base62_ids_are_22_alphanumerics)
{
	char id[CLEW_BASE62_LEN + 1];
	bool upper = false, lower = false;

	for (int i = 0; i < 1000; i++) {
		ck_assert_int_eq(clew_id_trace(CLEW_ID_BASE62, id, sizeof(id)), 0);
		ck_assert_uint_eq(strlen(id), 22);
		ck_assert(all_of(id, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"));
		ck_assert(clew_id_valid(id, strlen(id)));
		upper |= strpbrk(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != NULL;
		lower |= strpbrk(id, "abcdefghijklmnopqrstuvwxyz") != NULL;
	}
	ck_assert(upper && lower);
}
END_TEST

START_TEST(span_ids_are_16_lowercase_hex_digits)
{
	char id[CLEW_SPAN_HEX_LEN + 1];

	ck_assert_int_eq(clew_id_span(id, sizeof(id)), 0);
	ck_assert_uint_eq(strlen(id), 16);
	ck_assert(all_of(id, lhex));
}
END_TEST

START_TEST(too_small_buffers_and_bad_kinds_are_refused_untouched)
{
	char id[40];

	memset(id, 'x', sizeof(id));
	ck_assert_int_eq(clew_id_trace(CLEW_ID_HEX, id, 32), -CLEW_ETRUNC);
	ck_assert_int_eq(clew_id_trace(CLEW_ID_UUID, id, 36), -CLEW_ETRUNC);
	ck_assert_int_eq(clew_id_trace(CLEW_ID_BASE62, id, 22), -CLEW_ETRUNC);
	ck_assert_int_eq(clew_id_span(id, 16), -CLEW_ETRUNC);
	ck_assert_int_eq(id[0], 'x');
	ck_assert_int_eq(clew_id_trace(4, id, sizeof(id)), -CLEW_EINVAL);
	ck_assert_int_eq(clew_id_trace(-1, id, sizeof(id)), -CLEW_EINVAL);
	ck_assert_int_eq(clew_id_trace(CLEW_ID_HEX, NULL, 64), -CLEW_EINVAL);
	ck_assert_int_eq(clew_id_span(NULL, 64), -CLEW_EINVAL);
}
END_TEST

struct id33 {
	char s[CLEW_TRACE_HEX_LEN + 1];
};

static int cmp_id33(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct id33));
}

START_TEST(a_million_trace_ids_are_unique_and_none_is_all_zero)
{
	struct id33 *ids = malloc(sizeof(*ids) * MANY);

	ck_assert_ptr_nonnull(ids);
	for (size_t i = 0; i < MANY; i++) {
		/* Plain checks: ck_assert per ID would dominate the run time. */
		if (clew_id_trace(CLEW_ID_HEX, ids[i].s, sizeof(ids[i].s)) != 0 || all_of(ids[i].s, "0"))
			ck_abort_msg("ID %zu: failed or all zero", i);
	}
	qsort(ids, MANY, sizeof(*ids), cmp_id33);
	for (size_t i = 1; i < MANY; i++)
		if (memcmp(&ids[i - 1], &ids[i], sizeof(*ids)) == 0)
			ck_abort_msg("ID %s drawn twice", ids[i].s);
	free(ids);
}
END_TEST

struct id17 {
	char s[CLEW_SPAN_HEX_LEN + 1];
};

static int cmp_id17(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct id17));
}

START_TEST(a_million_span_ids_are_unique_and_none_is_all_zero)
{
	struct id17 *ids = malloc(sizeof(*ids) * MANY);

	ck_assert_ptr_nonnull(ids);
	for (size_t i = 0; i < MANY; i++) {
		/* Plain checks: ck_assert per ID would dominate the run time. */
		if (clew_id_span(ids[i].s, sizeof(ids[i].s)) != 0 || all_of(ids[i].s, "0"))
			ck_abort_msg("ID %zu: failed or all zero", i);
	}
	qsort(ids, MANY, sizeof(*ids), cmp_id17);
	for (size_t i = 1; i < MANY; i++)
		if (memcmp(&ids[i - 1], &ids[i], sizeof(*ids)) == 0)
			ck_abort_msg("ID %s drawn twice", ids[i].s);
	free(ids);
}
END_TEST

START_TEST(a_forked_child_does_not_repeat_the_parents_ids)
{
	char before[33], mine[33], childs[33];
	int fds[2], status;
	pid_t pid;

	/* Seed this thread's generator first, so the child inherits a live state. */
	ck_assert_int_eq(clew_id_trace(CLEW_ID_HEX, before, sizeof(before)), 0);
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char id[33];
		int ok = clew_id_trace(CLEW_ID_HEX, id, sizeof(id)) == 0 && write(fds[1], id, 32) == 32;

		_exit(ok ? 0 : 1);
	}
	close(fds[1]);
	ck_assert_int_eq(clew_id_trace(CLEW_ID_HEX, mine, sizeof(mine)), 0);
	ck_assert_int_eq(read(fds[0], childs, 32), 32);
	childs[32] = '\0';
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_str_ne(mine, childs);
	ck_assert_str_ne(before, childs);
}
END_TEST

#define PER_THREAD 1000

static void *draw(void *arg)
{
	struct id17 *out = arg;

	for (int i = 0; i < PER_THREAD; i++)
		clew_id_span(out[i].s, sizeof(out[i].s));
	return NULL;
}

START_TEST(threads_draw_from_independent_sequences)
{
	static struct id17 ids[4 * PER_THREAD];
	pthread_t t[4];

	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, draw, ids + i * PER_THREAD), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	qsort(ids, 4 * PER_THREAD, sizeof(ids[0]), cmp_id17);
	for (size_t i = 1; i < 4 * PER_THREAD; i++)
		ck_assert_int_ne(memcmp(&ids[i - 1], &ids[i], sizeof(ids[0])), 0);
}
END_TEST

START_TEST(id_validity_follows_the_pipe_grammar)
{
	ck_assert(clew_id_valid("7f3a9c1e", 8));
	ck_assert(clew_id_valid("req-1.A_b", 9));
	ck_assert(!clew_id_valid("", 0));
	ck_assert(!clew_id_valid("a:b", 3));
	ck_assert(!clew_id_valid("a b", 3));
	ck_assert(!clew_id_valid("a|b", 3));
	ck_assert(!clew_id_valid(NULL, 3));
	ck_assert(clew_id_valid("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
				CLEW_ID_MAX));
	ck_assert(!clew_id_valid("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
				 CLEW_ID_MAX + 1));
}
END_TEST

static Suite *ids_suite(void)
{
	Suite *s = suite_create("ids");
	TCase *tc = tcase_create("ids");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, trace_ids_are_32_lowercase_hex_digits_by_default);
	tcase_add_test(tc, uuid_ids_are_version_4_variant_1_text);
	tcase_add_test(tc, base62_ids_are_22_alphanumerics);
	tcase_add_test(tc, span_ids_are_16_lowercase_hex_digits);
	tcase_add_test(tc, too_small_buffers_and_bad_kinds_are_refused_untouched);
	tcase_add_test(tc, a_million_trace_ids_are_unique_and_none_is_all_zero);
	tcase_add_test(tc, a_million_span_ids_are_unique_and_none_is_all_zero);
	tcase_add_test(tc, a_forked_child_does_not_repeat_the_parents_ids);
	tcase_add_test(tc, threads_draw_from_independent_sequences);
	tcase_add_test(tc, id_validity_follows_the_pipe_grammar);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ids_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
