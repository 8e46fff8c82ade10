/*
 * test_chunk.c - the chunk builder and its index (store/src/chunk.c).
 */
#include <check.h>

#include <store/chunk.h>
#include <store/hooks.h>
#include "helpers.h"
#include "cd_limits.h"
#include <store/err.h>

#define MS 1000000ll

/* Append the pipe line @line (parsed) to @c. */
static int append_line(struct chunk *c, const char *line, uint32_t input, uint64_t end)
{
	struct fmt_record rec;

	parse_pipe(line, &rec);
	return chunk_append(c, &rec, NULL, input, end);
}

static bool has_trace(const struct chunk *c, const char *id)
{
	for (uint32_t i = 0; i < chunk_ntraces(c); i++) {
		uint32_t len;
		const char *s = chunk_trace_ref(c, i, &len);
		if (len == strlen(id) && memcmp(s, id, len) == 0)
			return true;
	}
	return false;
}

START_TEST(records_come_back_in_append_order_with_every_field)
{
	static const char *const lines[] = {
		"2026-11-23T07:09:24Z INFO t1:s1|orders|GET|/a|k=1|msg=one",
		"t2|billing|-|-|msg=two",
		"2026-11-23T07:09:20Z ERROR t1:s1:s2|orders|POST|/b|ok=false|msg=three\\|x",
	};
	struct fmt_record want, got;
	struct chunk *c;
	struct chunk_iter it;
	int n = 0;

	ck_assert_int_eq(chunk_new(&c, 42, 0), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(append_line(c, lines[i], 0, 100u * (unsigned)(i + 1)), 0);
	ck_assert_uint_eq(chunk_nrecords(c), 3);
	ck_assert_uint_eq(chunk_seq(c), 42);
	chunk_iter_init(&it, c);
	while (chunk_iter_next(&it, &got, NULL) == 1) {
		parse_pipe(lines[n], &want);
		assert_same_record(lines[n], &want, &got);
		n++;
	}
	ck_assert_int_eq(n, 3);
	chunk_free(c);
}
END_TEST

START_TEST(the_index_holds_distinct_traces_services_and_the_time_range)
{
	struct chunk *c;
	int64_t lo, hi;
	uint32_t len;

	ck_assert_int_eq(chunk_new(&c, 1, 0), 0);
	ck_assert(!chunk_ts_range(c, &lo, &hi));
	ck_assert_int_eq(append_line(c, "2026-11-23T07:09:24Z INFO t1:a|orders|-|-|msg=x", 0, 1), 0);
	ck_assert_int_eq(append_line(c, "2026-11-23T07:09:20Z INFO t2|billing|-|-|msg=x", 0, 2), 0);
	ck_assert_int_eq(append_line(c, "t1:a:b|orders|-|-|msg=no time", 0, 3), 0);
	ck_assert_int_eq(append_line(c, "2026-11-23T07:09:30Z INFO t1|orders|-|-|msg=x", 0, 4), 0);
	ck_assert_uint_eq(chunk_ntraces(c), 2);
	ck_assert(has_trace(c, "t1") && has_trace(c, "t2"));
	ck_assert_uint_eq(chunk_nservices(c), 2);
	ck_assert_int_eq(memcmp(chunk_service_ref(c, 0, &len), "orders", 6), 0);
	ck_assert_uint_eq(len, 6);
	ck_assert(chunk_ts_range(c, &lo, &hi));
	ck_assert_int_eq(hi - lo, 10ll * 1000 * MS);
	chunk_free(c);
}
END_TEST

START_TEST(many_distinct_traces_are_each_indexed_once)
{
	struct chunk *c;
	char line[64];

	ck_assert_int_eq(chunk_new(&c, 1, 0), 0);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 3000; i++) {
			snprintf(line, sizeof(line), "trace%d:s|svc%d|-|-|msg=m", i, i % 7);
			ck_assert_int_eq(append_line(c, line, 0, 1), 0);
		}
	ck_assert_uint_eq(chunk_ntraces(c), 3000);
	ck_assert_uint_eq(chunk_nservices(c), 7);
	ck_assert(has_trace(c, "trace0") && has_trace(c, "trace2999"));
	ck_assert(!has_trace(c, "trace3000"));
	chunk_free(c);
}
END_TEST

/* The summaries' key: each record's trace index (the same for one trace), none without a trace. */
START_TEST(the_last_records_trace_index_is_known)
{
	struct chunk *c;
	uint32_t len;

	ck_assert_int_eq(chunk_new(&c, 1, 0), 0);
	ck_assert_uint_eq(chunk_last_trace(c), UINT32_MAX);
	ck_assert_int_eq(append_line(c, "t1:a|orders|-|-|msg=x", 0, 1), 0);
	ck_assert_uint_eq(chunk_last_trace(c), 0);
	ck_assert_int_eq(append_line(c, "t2|billing|-|-|msg=x", 0, 2), 0);
	ck_assert_uint_eq(chunk_last_trace(c), 1);
	ck_assert_int_eq(memcmp(chunk_trace_ref(c, 1, &len), "t2", 2), 0);
	ck_assert_int_eq(append_line(c, "t1:b|orders|-|-|msg=x", 0, 3), 0);
	ck_assert_uint_eq(chunk_last_trace(c), 0);
	ck_assert_int_eq(append_line(c, "-|orders|-|-|msg=no trace", 0, 4), 0);
	ck_assert_uint_eq(chunk_last_trace(c), UINT32_MAX);
	ck_assert_int_eq(append_line(c, "t2|billing|-|-|msg=x", 0, 5), 0);
	ck_assert_uint_eq(chunk_last_trace(c), 1);
	chunk_clear(c, 2, 0);
	ck_assert_uint_eq(chunk_last_trace(c), UINT32_MAX);
	ck_assert_int_eq(append_line(c, "t2|billing|-|-|msg=x", 0, 6), 0);
	ck_assert_uint_eq(chunk_last_trace(c), 0);
	chunk_free(c);
}
END_TEST

START_TEST(sources_keep_each_inputs_last_end_offset)
{
	struct chunk *c;
	struct chunk_source s;

	ck_assert_int_eq(chunk_new(&c, 1, 0), 0);
	ck_assert_int_eq(append_line(c, "a|s|-|-|x=1", 3, 100), 0);
	ck_assert_int_eq(append_line(c, "a|s|-|-|x=1", 5, 10), 0);
	ck_assert_int_eq(append_line(c, "a|s|-|-|x=1", 3, 250), 0);
	ck_assert_int_eq(append_line(c, "a|s|-|-|x=1", CHUNK_NO_INPUT, 999), 0);
	ck_assert_uint_eq(chunk_nsources(c), 2);
	s = chunk_source(c, 0);
	ck_assert_uint_eq(s.input, 3);
	ck_assert_uint_eq(s.end_offset, 250);
	s = chunk_source(c, 1);
	ck_assert_uint_eq(s.input, 5);
	ck_assert_uint_eq(s.end_offset, 10);
	chunk_free(c);
}
END_TEST

START_TEST(a_chunk_is_full_at_the_record_cap)
{
	struct chunk *c;
	struct fmt_record rec;

	parse_pipe("t|s|-|-|k=v", &rec);
	ck_assert_int_eq(chunk_new(&c, 1, 0), 0);
	for (uint32_t i = 0; i < CD_CHUNK_RECORDS_MAX; i++)
		ck_assert_int_eq(chunk_append(c, &rec, NULL, 0, i), 0);
	ck_assert(chunk_is_full(c));
	ck_assert(chunk_is_due(c, 0));
	ck_assert_int_eq(chunk_append(c, &rec, NULL, 0, 0), -CD_EFULL);
	ck_assert_uint_eq(chunk_nrecords(c), CD_CHUNK_RECORDS_MAX);
	chunk_free(c);
}
END_TEST

START_TEST(a_chunk_is_full_at_the_byte_cap_and_a_huge_record_is_past_the_limit)
{
	size_t big = CD_CHUNK_BYTES_MAX / 5, used = 0;
	char *line = malloc(big + 16);
	struct fmt_record rec;
	struct chunk *c;
	int n = 0, rc;

	memcpy(line, "t|s|-|-|msg=", 12);
	memset(line + 12, 'x', big);
	line[12 + big] = 0;
	parse_pipe(line, &rec);
	ck_assert_int_eq(chunk_new(&c, 1, 0), 0);
	while ((rc = chunk_append(c, &rec, NULL, 0, 0)) == 0)
		n++;
	ck_assert_int_eq(rc, -CD_EFULL);
	ck_assert_int_eq(n, 4);
	chunk_data_ref(c, &used);
	ck_assert_uint_le(used, CD_CHUNK_BYTES_MAX);
	chunk_free(c);
	free(line);

	line = malloc(CD_CHUNK_BYTES_MAX + 16);
	memcpy(line, "t|s|-|-|msg=", 12);
	memset(line + 12, 'y', CD_CHUNK_BYTES_MAX);
	line[12 + CD_CHUNK_BYTES_MAX] = 0;
	parse_pipe(line, &rec);
	ck_assert_int_eq(chunk_new(&c, 2, 0), 0);
	ck_assert_int_eq(chunk_append(c, &rec, NULL, 0, 0), -CD_ELIMIT);
	ck_assert_uint_eq(chunk_nrecords(c), 0);
	chunk_free(c);
	free(line);
}
END_TEST

START_TEST(a_new_input_past_the_source_cap_seals_the_chunk)
{
	struct chunk *c;

	ck_assert_int_eq(chunk_new(&c, 1, 0), 0);
	for (uint32_t i = 0; i < CD_CHUNK_SOURCES_MAX; i++)
		ck_assert_int_eq(append_line(c, "t|s|-|-|k=v", i, 1), 0);
	ck_assert_int_eq(append_line(c, "t|s|-|-|k=v", CD_CHUNK_SOURCES_MAX, 1), -CD_EFULL);
	ck_assert_int_eq(append_line(c, "t|s|-|-|k=v", 0, 2), 0); /* a known input still fits */
	chunk_free(c);
}
END_TEST

START_TEST(a_chunk_is_due_when_it_holds_records_and_is_old_enough)
{
	struct chunk *c;
	int64_t t0 = 5000 * MS;

	ck_assert_int_eq(chunk_new(&c, 1, t0), 0);
	ck_assert(!chunk_is_due(c, t0 + 10000 * MS)); /* empty: never due */
	ck_assert_int_eq(append_line(c, "t|s|-|-|k=v", 0, 1), 0);
	ck_assert(!chunk_is_due(c, t0 + (int64_t)CD_CHUNK_AGE_MS * MS - 1));
	ck_assert(chunk_is_due(c, t0 + (int64_t)CD_CHUNK_AGE_MS * MS));
	chunk_free(c);
}
END_TEST

START_TEST(a_cleared_chunk_is_empty_and_allocates_nothing_when_refilled)
{
	struct chunk *c;
	char line[64];

	ck_assert_int_eq(chunk_new(&c, 1, 0), 0);
	for (int i = 0; i < 500; i++) {
		snprintf(line, sizeof(line), "tr%03d|svc%d|-|-|msg=m", i, i % 3);
		ck_assert_int_eq(append_line(c, line, 1, 1), 0);
	}
	chunk_clear(c, 2, 7);
	ck_assert_uint_eq(chunk_nrecords(c), 0);
	ck_assert_uint_eq(chunk_ntraces(c), 0);
	ck_assert_uint_eq(chunk_nsources(c), 0);
	ck_assert_uint_eq(chunk_seq(c), 2);
	chunk__alloc_calls = 0;
	for (int i = 0; i < 500; i++) {
		snprintf(line, sizeof(line), "tr%03d|svc%d|-|-|msg=m", 500 + i, i % 3);
		ck_assert_int_eq(append_line(c, line, 1, 1), 0);
	}
	ck_assert_uint_eq(chunk__alloc_calls, 0);
	ck_assert_uint_eq(chunk_ntraces(c), 500);
	ck_assert(has_trace(c, "tr500") && !has_trace(c, "tr000"));
	chunk_free(c);
}
END_TEST

START_TEST(append_survives_every_allocation_failure_and_changes_nothing_on_one)
{
	for (unsigned long at = 1;; at++) {
		struct chunk *c = NULL;
		char line[64];
		int rc = 0, i;

		chunk__alloc_calls = 0;
		chunk__alloc_fail_at = at;
		rc = chunk_new(&c, 1, 0);
		if (rc < 0) {
			ck_assert_int_eq(rc, -CD_ENOMEM);
			ck_assert_ptr_null(c);
			continue;
		}
		for (i = 0; i < 300; i++) {
			uint32_t before = chunk_nrecords(c), traces = chunk_ntraces(c);
			snprintf(line, sizeof(line), "tr%d|svc%d|-|-|msg=m", i, i);
			rc = append_line(c, line, 0, (uint64_t)i);
			if (rc < 0) {
				ck_assert_int_eq(rc, -CD_ENOMEM);
				ck_assert_uint_eq(chunk_nrecords(c), before);
				ck_assert_uint_eq(chunk_ntraces(c), traces);
				break;
			}
		}
		/* after a failure the chunk still works and its index is consistent */
		chunk__alloc_fail_at = 0;
		for (int k = 0; k < 5; k++)
			ck_assert_int_eq(append_line(c, "x|y|-|-|k=v", 0, 1), 0);
		ck_assert(has_trace(c, "x") && chunk_ntraces(c) == (uint32_t)i + 1);
		chunk_free(c);
		if (rc == 0)
			break;
	}
	chunk__alloc_fail_at = 0;
}
END_TEST

START_TEST(raw_records_sit_between_parsed_ones_and_keep_their_line)
{
	static const char bad[] = "\tat com.example.Foo(Foo.java:1)";
	struct record_src raw = {.raw = true,
				 .input = fmt_str_c("/var/log/app.log"),
				 .offset = 4000,
				 .line = fmt_str_c(bad),
				 .error = fmt_str_c("not a record start"),
				 .err_offset = 0};
	struct record_src src;
	struct fmt_record r;
	struct chunk_iter it;
	struct chunk *c;
	int64_t lo, hi;

	ck_assert_int_eq(chunk_new(&c, 1, 0), 0);
	ck_assert_int_eq(append_line(c, "t1|svc|-|-|k=v", 2, 10), 0);
	ck_assert_int_eq(chunk_append(c, NULL, &raw, 2, 4000 + sizeof(bad)), 0);
	ck_assert_int_eq(append_line(c, "t2|svc|-|-|k=v", 2, 5000), 0);
	ck_assert_uint_eq(chunk_nrecords(c), 3);
	ck_assert_uint_eq(chunk_ntraces(c), 2);
	ck_assert(!chunk_ts_range(c, &lo, &hi));
	chunk_iter_init(&it, c);
	ck_assert_int_eq(chunk_iter_next(&it, &r, &src), 1);
	ck_assert(!src.raw);
	ck_assert_int_eq(chunk_iter_next(&it, &r, &src), 1);
	ck_assert(src.raw);
	ck_assert(same_decoded(&src.line, &raw.line) && same_decoded(&src.error, &raw.error));
	ck_assert_uint_eq(src.offset, 4000);
	ck_assert_int_eq(chunk_iter_next(&it, &r, &src), 1);
	ck_assert(!src.raw && fmt_str_eq(&r.trace, "t2", 2));
	ck_assert_int_eq(chunk_iter_next(&it, &r, &src), 0);
	ck_assert_uint_eq(chunk_source(c, 0).end_offset, 5000);
	chunk_free(c);
}
END_TEST

START_TEST(iterating_garbage_stops_with_corrupt)
{
	static const uint8_t junk[] = {0x93, 0x00, 0x01};
	struct chunk_iter it;
	struct fmt_record r;

	chunk_iter_init_bytes(&it, junk, sizeof(junk));
	ck_assert_int_eq(chunk_iter_next(&it, &r, NULL), -CD_ECORRUPT);
	ck_assert_int_eq(chunk_iter_next(&it, &r, NULL), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("chunk");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, records_come_back_in_append_order_with_every_field);
	tcase_add_test(tc, the_index_holds_distinct_traces_services_and_the_time_range);
	tcase_add_test(tc, many_distinct_traces_are_each_indexed_once);
	tcase_add_test(tc, the_last_records_trace_index_is_known);
	tcase_add_test(tc, sources_keep_each_inputs_last_end_offset);
	tcase_add_test(tc, a_chunk_is_full_at_the_record_cap);
	tcase_add_test(tc, a_chunk_is_full_at_the_byte_cap_and_a_huge_record_is_past_the_limit);
	tcase_add_test(tc, a_new_input_past_the_source_cap_seals_the_chunk);
	tcase_add_test(tc, a_chunk_is_due_when_it_holds_records_and_is_old_enough);
	tcase_add_test(tc, a_cleared_chunk_is_empty_and_allocates_nothing_when_refilled);
	tcase_add_test(tc, append_survives_every_allocation_failure_and_changes_nothing_on_one);
	tcase_add_test(tc, raw_records_sit_between_parsed_ones_and_keep_their_line);
	tcase_add_test(tc, iterating_garbage_stops_with_corrupt);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
