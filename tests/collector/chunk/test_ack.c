/*
 * test_ack.c - acknowledged prefixes per input (collector/chunk/ack.c).
 */
#include <check.h>

#include "chunk/ack.h"
#include <store/hooks.h>
#include "helpers.h"
#include "cd_limits.h"
#include <store/err.h>

/* A chunk @seq with one record per (input, end offset) pair; inputs[] ends with CHUNK_NO_INPUT. */
static struct chunk *chunk_with(uint64_t seq, const uint32_t *inputs, const uint64_t *ends)
{
	struct chunk *c;
	struct fmt_record r;

	parse_pipe("t|s|-|-|k=v", &r);
	ck_assert_int_eq(chunk_new(&c, seq, 0), 0);
	for (int i = 0; inputs[i] != CHUNK_NO_INPUT; i++)
		ck_assert_int_eq(chunk_append(c, &r, NULL, inputs[i], ends[i]), 0);
	return c;
}

static void track(struct ack_tracker *t, uint64_t seq, uint32_t input, uint64_t end)
{
	uint32_t in[2] = {input, CHUNK_NO_INPUT};
	uint64_t en[1] = {end};
	struct chunk *c = chunk_with(seq, in, en);

	ck_assert_int_eq(ack_track(t, c), 0);
	chunk_free(c); /* the tracker copied what it needs */
}

static uint64_t pos(struct ack_tracker *t, uint32_t input)
{
	uint64_t off = 0;

	ck_assert_msg(ack_position(t, input, &off), "input %u has no position", input);
	return off;
}

START_TEST(in_order_acks_advance_to_each_chunks_end)
{
	struct ack_tracker *t;
	uint64_t off;
	bool done;

	ck_assert_int_eq(ack_tracker_new(&t, 1), 0);
	track(t, 1, 7, 100);
	track(t, 2, 7, 250);
	ck_assert(!ack_position(t, 7, &off));
	ck_assert_uint_eq(ack_inflight(t), 2);
	ck_assert_int_eq(ack_done(t, 1, 0, &done), 0);
	ck_assert(done);
	ck_assert_uint_eq(pos(t, 7), 100);
	ck_assert_int_eq(ack_done(t, 2, 0, &done), 0);
	ck_assert_uint_eq(pos(t, 7), 250);
	ck_assert_uint_eq(ack_inflight(t), 0);
	ack_tracker_free(t);
}
END_TEST

START_TEST(an_out_of_order_ack_does_not_advance_past_an_unacked_chunk)
{
	struct ack_tracker *t;
	uint64_t off;

	ck_assert_int_eq(ack_tracker_new(&t, 1), 0);
	track(t, 1, 7, 100);
	track(t, 2, 7, 200);
	track(t, 3, 7, 300);
	ck_assert_int_eq(ack_done(t, 3, 0, NULL), 0);
	ck_assert(!ack_position(t, 7, &off)); /* 1 and 2 still out */
	ck_assert_int_eq(ack_done(t, 2, 0, NULL), 0);
	ck_assert(!ack_position(t, 7, &off));
	ck_assert_int_eq(ack_done(t, 1, 0, NULL), 0);
	ck_assert_uint_eq(pos(t, 7), 300); /* the whole prefix at once */
	ack_tracker_free(t);
}
END_TEST

START_TEST(a_gap_holds_an_input_back_while_other_inputs_move_on)
{
	struct ack_tracker *t;
	uint32_t in[] = {1, 2, CHUNK_NO_INPUT};
	uint64_t en[] = {10, 20};
	struct chunk *c;
	uint64_t off;

	ck_assert_int_eq(ack_tracker_new(&t, 1), 0);
	track(t, 1, 1, 5);	   /* input 1 only */
	c = chunk_with(2, in, en); /* inputs 1 and 2 */
	ck_assert_int_eq(ack_track(t, c), 0);
	chunk_free(c);
	track(t, 3, 2, 30); /* input 2 only */
	ck_assert_int_eq(ack_done(t, 2, 0, NULL), 0);
	ck_assert_int_eq(ack_done(t, 3, 0, NULL), 0);
	ck_assert_uint_eq(pos(t, 2), 30);     /* input 2: chunks 2 and 3, both done */
	ck_assert(!ack_position(t, 1, &off)); /* input 1: chunk 1 still out */
	ck_assert_int_eq(ack_done(t, 1, 0, NULL), 0);
	ck_assert_uint_eq(pos(t, 1), 10);
	ack_tracker_free(t);
}
END_TEST

START_TEST(a_chunk_counts_only_when_every_output_acked_it)
{
	struct ack_tracker *t;
	uint64_t off;
	bool done;

	ck_assert_int_eq(ack_tracker_new(&t, 3), 0);
	track(t, 1, 0, 100);
	ck_assert_int_eq(ack_done(t, 1, 0, &done), 0);
	ck_assert(!done);
	ck_assert_int_eq(ack_done(t, 1, 0, &done), 0); /* a retried ack: harmless */
	ck_assert_int_eq(ack_done(t, 1, 2, &done), 0);
	ck_assert(!done && !ack_position(t, 0, &off));
	ck_assert_int_eq(ack_done(t, 1, 1, &done), 0);
	ck_assert(done);
	ck_assert_uint_eq(pos(t, 0), 100);
	ck_assert_int_eq(ack_done(t, 1, 1, &done), -CD_ENOENT); /* already complete */
	ack_tracker_free(t);
}
END_TEST

/* A source freed is forgotten (its entry and ring freed) only once nothing of it is in flight. */
START_TEST(a_forgotten_input_is_dropped_only_when_nothing_of_it_is_in_flight)
{
	struct ack_tracker *t;
	uint64_t off;

	ck_assert_int_eq(ack_tracker_new(&t, 1), 0);
	track(t, 1, 7, 100);
	track(t, 2, 8, 50);
	ack_forget(t, 7); /* in flight: kept */
	ck_assert_int_eq(ack_done(t, 1, 0, NULL), 0);
	ck_assert_uint_eq(pos(t, 7), 100);
	ack_forget(t, 7);
	ck_assert(!ack_position(t, 7, &off));
	ack_forget(t, 99); /* unknown: a no-op */
	ck_assert_int_eq(ack_done(t, 2, 0, NULL), 0);
	ck_assert_uint_eq(pos(t, 8), 50);
	for (uint32_t i = 100; i < 10100; i++) { /* one input per request: the tracker does not grow */
		track(t, i, i, 1);
		ck_assert_int_eq(ack_done(t, i, 0, NULL), 0);
		ack_forget(t, i);
	}
	ck_assert_uint_eq(pos(t, 8), 50);
	ck_assert(!ack_position(t, 10099, &off));
	ack_tracker_free(t);
}
END_TEST

START_TEST(bad_arguments_are_refused)
{
	struct ack_tracker *t = NULL;

	ck_assert_int_eq(ack_tracker_new(&t, 0), -CD_EINVAL);
	ck_assert_int_eq(ack_tracker_new(&t, CD_OUTPUTS_MAX + 1), -CD_EINVAL);
	ck_assert_ptr_null(t);
	ck_assert_int_eq(ack_tracker_new(&t, 2), 0);
	track(t, 5, 0, 1);
	{
		uint32_t in[] = {0, CHUNK_NO_INPUT};
		uint64_t en[] = {2};
		struct chunk *c = chunk_with(5, in, en);
		ck_assert_int_eq(ack_track(t, c), -CD_EINVAL); /* seq not increasing */
		chunk_free(c);
	}
	ck_assert_int_eq(ack_done(t, 5, 2, NULL), -CD_EINVAL); /* output out of range */
	ck_assert_int_eq(ack_done(t, 4, 0, NULL), -CD_ENOENT);
	ck_assert_int_eq(ack_done(t, 6, 0, NULL), -CD_ENOENT);
	ack_tracker_free(t);
}
END_TEST

START_TEST(random_ack_orders_never_commit_an_unacked_chunk)
{
	enum { N = 2000, INPUTS = 5 };
	static uint64_t order[N];
	static bool acked[N + 1];
	struct ack_tracker *t;
	uint64_t rng = 0x9E3779B97F4A7C15ull;

	ck_assert_int_eq(ack_tracker_new(&t, 2), 0);
	for (uint64_t s = 1; s <= N; s++) {
		track(t, s, (uint32_t)(s % INPUTS), s * 10);
		order[s - 1] = s;
	}
	for (int i = N - 1; i > 0; i--) {
		int j;
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		j = (int)(rng % (uint64_t)(i + 1));
		uint64_t tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(ack_done(t, order[i], 1, NULL), 0);
		ck_assert_int_eq(ack_done(t, order[i], 0, NULL), 0);
		acked[order[i]] = true;
		for (uint32_t in = 0; in < INPUTS; in++) {
			uint64_t off, expect = 0;
			/* the committed end: the last chunk of the input's acked prefix */
			for (uint64_t s = in ? in : INPUTS; s <= N && acked[s]; s += INPUTS)
				expect = s * 10;
			if (expect == 0)
				ck_assert(!ack_position(t, in, &off));
			else
				ck_assert_uint_eq(pos(t, in), expect);
		}
	}
	ck_assert_uint_eq(ack_inflight(t), 0);
	ack_tracker_free(t);
}
END_TEST

START_TEST(track_survives_every_allocation_failure)
{
	enum { N = 40 };
	struct chunk *cs[N];

	for (int i = 0; i < N; i++) {
		uint32_t in[] = {(uint32_t)(i % 9), (uint32_t)(i % 9 + 100), CHUNK_NO_INPUT};
		uint64_t en[] = {(uint64_t)i, (uint64_t)i};
		cs[i] = chunk_with((uint64_t)i + 1, in, en);
	}
	for (unsigned long at = 1;; at++) {
		struct ack_tracker *t = NULL;
		int rc, i = 0;

		chunk__alloc_calls = 0;
		chunk__alloc_fail_at = at;
		rc = ack_tracker_new(&t, 1);
		if (rc < 0) {
			ck_assert_int_eq(rc, -CD_ENOMEM);
			ck_assert_ptr_null(t);
			continue;
		}
		for (i = 0; i < N; i++) {
			rc = ack_track(t, cs[i]);
			if (rc < 0)
				break;
		}
		chunk__alloc_fail_at = 0;
		if (rc < 0) {
			/* nothing was half-tracked: the same chunk tracks fine now */
			ck_assert_int_eq(rc, -CD_ENOMEM);
			ck_assert_uint_eq(ack_inflight(t), (size_t)i);
			ck_assert_int_eq(ack_track(t, cs[i]), 0);
			i++;
		}
		for (int k = i - 1; k >= 0; k--)
			ck_assert_int_eq(ack_done(t, (uint64_t)k + 1, 0, NULL), 0);
		ck_assert_uint_eq(ack_inflight(t), 0);
		ck_assert_uint_eq(pos(t, (uint32_t)((i - 1) % 9 + 100)), (uint64_t)(i - 1));
		ack_tracker_free(t);
		if (rc == 0)
			break;
	}
	for (int i = 0; i < N; i++)
		chunk_free(cs[i]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ack");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, in_order_acks_advance_to_each_chunks_end);
	tcase_add_test(tc, an_out_of_order_ack_does_not_advance_past_an_unacked_chunk);
	tcase_add_test(tc, a_gap_holds_an_input_back_while_other_inputs_move_on);
	tcase_add_test(tc, a_chunk_counts_only_when_every_output_acked_it);
	tcase_add_test(tc, bad_arguments_are_refused);
	tcase_add_test(tc, a_forgotten_input_is_dropped_only_when_nothing_of_it_is_in_flight);
	tcase_add_test(tc, random_ack_orders_never_commit_an_unacked_chunk);
	tcase_add_test(tc, track_survives_every_allocation_failure);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
