/*
 * test_otlp_encode.c - the otlp output's encoder without a server: the
 * protobuf wire writer (varints, nested lengths that need more than one
 * byte, strings decoded on the way), a known message's exact bytes and
 * OTLP/JSON text, and the ID rule (hex kept, anything else hashed, as
 * clewd(8) says). test_otlp_out.py decodes the output's requests with an
 * independent decoder (protobufjs) instead.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <store/chunk.h>
#include <store/err.h>
#include "fmt/json.h"
#include "fmt/str.h"
#include "output/otlp/otlp_encode.h"
#include "output/otlp/otlp_wire.h"

static struct ow_buf b;

static void teardown(void)
{
	ow_release(&b);
}

static void bytes_are(const struct ow_buf *x, const uint8_t *want, size_t n)
{
	ck_assert_uint_eq(x->len, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(x->data[i] == want[i], "byte %zu: %02x, expected %02x", i, x->data[i], want[i]);
}

START_TEST(varints_take_seven_bits_a_byte_least_significant_first)
{
	static const uint8_t want[] = {0x00, 0x01, 0x7f, 0x80, 0x01, 0xac, 0x02, 0xff, 0xff,
				       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};

	ow_varint(&b, 0);
	ow_varint(&b, 1);
	ow_varint(&b, 127);
	ow_varint(&b, 128);
	ow_varint(&b, 300);
	ow_varint(&b, UINT64_MAX);
	bytes_are(&b, want, sizeof(want));
	ck_assert_uint_eq(ow_varint_len(UINT64_MAX), 10);
	ck_assert_uint_eq(ow_varint_len(16383), 2);
	ck_assert_uint_eq(ow_varint_len(16384), 3);
}
END_TEST

START_TEST(a_nested_message_gets_its_length_in_front_even_when_it_needs_three_bytes)
{
	size_t outer, inner;

	outer = ow_pb_open(&b, 1);
	inner = ow_pb_open(&b, 2);
	for (int i = 0; i < 20000; i++)
		ow_bytes(&b, "x", 1);
	ow_pb_close(&b, inner);
	ow_pb_fixed64(&b, 3, 0x0102030405060708ull);
	ow_pb_close(&b, outer);
	ck_assert(!ow_failed(&b));
	/* outer: tag 0x0a, length 1 + 3 + 20000 + 9 = 20013 = 0xad 0x9c 0x01 */
	ck_assert_uint_eq(b.len, 1 + 3 + 1 + 3 + 20000 + 9);
	ck_assert_uint_eq(b.data[0], 0x0a);
	ck_assert_uint_eq(b.data[1], 0xad);
	ck_assert_uint_eq(b.data[2], 0x9c);
	ck_assert_uint_eq(b.data[3], 0x01);
	/* inner: tag 0x12, length 20000 = 0xa0 0x9c 0x01, then its bytes untouched */
	ck_assert_uint_eq(b.data[4], 0x12);
	ck_assert_uint_eq(b.data[5], 0xa0);
	ck_assert_uint_eq(b.data[6], 0x9c);
	ck_assert_uint_eq(b.data[7], 0x01);
	ck_assert_uint_eq(b.data[8], 'x');
	ck_assert_uint_eq(b.data[8 + 19999], 'x');
	/* then the fixed64, little-endian */
	ck_assert_uint_eq(b.data[8 + 20000], (3 << 3) | 1);
	ck_assert_uint_eq(b.data[8 + 20001], 0x08);
	ck_assert_uint_eq(b.data[8 + 20008], 0x01);
}
END_TEST

START_TEST(an_escaped_string_is_written_decoded_with_its_decoded_length)
{
	struct fmt_str s = {"a\\nb\\u00e9", 10, FMT_ENC_JSON};
	static const uint8_t want[] = {0x0a, 0x05, 'a', '\n', 'b', 0xc3, 0xa9};

	ow_pb_str(&b, 1, &s);
	bytes_are(&b, want, sizeof(want));
}
END_TEST

START_TEST(hex_ids_are_their_bytes_and_others_are_hashed)
{
	uint8_t id[16];
	struct fmt_str hex = fmt_str_c("0AF7651916CD43DD8448EB211C80319C"),
		       zero = fmt_str_c("0000000000000000");
	struct fmt_str req = fmt_str_c("req-42"), s1 = fmt_str_c("s1");
	static const uint8_t want_hex[] = {0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd,
					   0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c};
	/* FNV-1a 64 of "req-42", then FNV-1a 64 seeded with it (computed independently, in Python) */
	static const uint8_t want_req[] = {0x2b, 0x09, 0xb7, 0x6c, 0xa0, 0x8d, 0xd9, 0x48,
					   0x93, 0x9b, 0x7a, 0x2c, 0x4f, 0xad, 0x39, 0x31};
	static const uint8_t want_s1[] = {0x08, 0xd8, 0xff, 0x07, 0xb5, 0x78, 0xd1, 0x49};

	ck_assert(otlp_id(&hex, id, 16));
	ck_assert_mem_eq(id, want_hex, 16);
	ck_assert(!otlp_id(&req, id, 16));
	ck_assert_mem_eq(id, want_req, 16);
	ck_assert(!otlp_id(&s1, id, 8));
	ck_assert_mem_eq(id, want_s1, 8);
	ck_assert(!otlp_id(&zero, id, 8)); /* all zero is no ID in OTLP: hashed */
	ck_assert(!otlp_id(&hex, id, 8));  /* 32 digits are no span ID */
}
END_TEST

/* A chunk of the JSON lines @lines (NULL-terminated). */
static struct chunk *chunk_of(const char *const *lines)
{
	static struct fmt_record r;
	struct chunk *c;

	ck_assert_int_eq(chunk_new(&c, 1, 0), 0);
	for (; *lines; lines++) {
		struct fmt_err e;
		ck_assert_int_eq(fmt_json_parse(*lines, strlen(*lines), &r, &e), 0);
		ck_assert_int_eq(chunk_append(c, &r, NULL, CHUNK_NO_INPUT, 0), 0);
	}
	return c;
}

#define OBSERVED 0x0102030405060708ll

START_TEST(a_known_log_request_has_exactly_the_bytes_protoc_would_write)
{
	static const char *const lines[] = {"{\"service\":\"s\",\"msg\":\"hi\"}", NULL};
	static const uint8_t want[] = {
		0x0a, 0x33, /* resource_logs, 51 bytes */
		0x0a, 0x15, /*  resource, 21 */
		0x0a, 0x13, /*   attributes: KeyValue, 19 */
		0x0a, 0x0c, 's',  'e',	'r',  'v',  'i',  'c',	'e',  '.', 'n', 'a', 'm', 'e', /* key */
		0x12, 0x03, 0x0a, 0x01, 's',			      /*    value { string_value "s" } */
		0x12, 0x1a,					      /*  scope_logs, 26 */
		0x0a, 0x07, 0x0a, 0x05, 'c',  'l',  'e',  'w',	'd',  /* scope { name "clewd" } */
		0x12, 0x0f,					      /*   log_records, 15 */
		0x2a, 0x04, 0x0a, 0x02, 'h',  'i',		      /*    body { string_value "hi" } */
		0x59, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* observed_time_unix_nano */
	};
	struct otlp_enc_opts o = {
		.encoding = OTLP_ENC_PROTOBUF, .scope_name = "clewd", .traces = true, .logs = true};
	struct otlp_enc_stats st = {0};
	struct ow_buf tr = {0};
	struct otlp_enc *e;
	struct chunk *c = chunk_of(lines);
	uint32_t ns, nl;

	ck_assert_int_eq(otlp_enc_new(&e, &o), 0);
	ck_assert_int_eq(otlp_encode_chunk(e, c, OBSERVED, &tr, &b, &ns, &nl, &st), 0);
	ck_assert_uint_eq(tr.len, 0); /* no span: no trace request */
	ck_assert_uint_eq(ns, 0);
	ck_assert_uint_eq(nl, 1);
	bytes_are(&b, want, sizeof(want));
	ow_release(&tr);
	otlp_enc_free(e);
	chunk_free(c);
}
END_TEST

START_TEST(a_known_span_request_in_json_is_otlp_json)
{
	static const char *const lines[] = {
		"{\"time\":\"2026-12-06T01:02:03Z\",\"service\":\"a\\\"b\",\"trace\":\"req-42\",\"span\":"
		"\"08d8ff07b578d149\",\"event\":\"span\",\"name\":\"n\",\"dur_us\":2,\"status\":\"error\",\"n\":-3,"
		"\"f\":1.5,\"t\":true,\"z\":null}",
		"{\"event\":\"metric\",\"metric\":\"m\",\"value\":1}", NULL};
	static const char want[] =
		"{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{"
		"\"stringValue\":\"a\\\"b\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"clewd\",\"version\":\"9\"},"
		"\"spans\":[{\"traceId\":\"2b09b76ca08dd948939b7a2c4fad3931\",\"spanId\":\"08d8ff07b578d149\","
		"\"name\":\"n\",\"startTimeUnixNano\":\"1796518923000000000\",\"endTimeUnixNano\":"
		"\"1796518923000002000\",\"attributes\":[{\"key\":\"n\",\"value\":{\"intValue\":\"-3\"}},{\"key\":"
		"\"f\",\"value\":{\"doubleValue\":1.5}},{\"key\":\"t\",\"value\":{\"boolValue\":true}},{\"key\":"
		"\"z\",\"value\":{}},{\"key\":\"clew.trace_id\",\"value\":{\"stringValue\":\"req-42\"}}],"
		"\"status\":{\"code\":2}}]}]}]}";
	struct otlp_enc_opts o = {.encoding = OTLP_ENC_JSON,
				  .scope_name = "clewd",
				  .scope_version = "9",
				  .traces = true,
				  .logs = true};
	struct otlp_enc_stats st = {0};
	struct ow_buf lg = {0};
	struct otlp_enc *e;
	struct chunk *c = chunk_of(lines);
	uint32_t ns, nl;

	ck_assert_int_eq(otlp_enc_new(&e, &o), 0);
	ck_assert_int_eq(otlp_encode_chunk(e, c, OBSERVED, &b, &lg, &ns, &nl, &st), 0);
	ck_assert_uint_eq(lg.len, 0);
	ck_assert_uint_eq(ns, 1);
	ck_assert_uint_eq(nl, 0);
	ck_assert_uint_eq(st.skipped, 1);    /* the metric record */
	ck_assert_uint_eq(st.hashed_ids, 1); /* req-42 */
	ck_assert_uint_eq(b.len, strlen(want));
	ck_assert_mem_eq(b.data, want, b.len);
	ow_release(&lg);
	otlp_enc_free(e);
	chunk_free(c);
}
END_TEST

START_TEST(records_are_grouped_by_service_one_resource_each)
{
	static const char *const lines[] = {"{\"service\":\"b\",\"msg\":\"1\"}",
					    "{\"service\":\"a\",\"msg\":\"2\"}",
					    "{\"service\":\"b\",\"msg\":\"3\"}", "{\"msg\":\"4\"}", NULL};
	struct otlp_enc_opts o = {.encoding = OTLP_ENC_JSON, .traces = true, .logs = true};
	struct otlp_enc_stats st = {0};
	struct ow_buf tr = {0};
	struct otlp_enc *e;
	struct chunk *c = chunk_of(lines);
	uint32_t ns, nl;
	char *s;
	const char *p1, *p3;

	ck_assert_int_eq(otlp_enc_new(&e, &o), 0);
	ck_assert_int_eq(otlp_encode_chunk(e, c, OBSERVED, &tr, &b, &ns, &nl, &st), 0);
	ck_assert_uint_eq(nl, 4);
	s = strndup((const char *)b.data, b.len);
	/* three resources: a, b (its two records together, in order), and unknown_service */
	ck_assert_ptr_nonnull(
		strstr(s, "\"stringValue\":\"a\"}}]},\"scopeLogs\":[{\"scope\":{\"name\":\"clewd\"},"
			  "\"logRecords\":[{\"body\":{\"stringValue\":\"2\"}"));
	p1 = strstr(s, "{\"stringValue\":\"1\"}");
	p3 = strstr(s, "{\"stringValue\":\"3\"}");
	ck_assert(p1 && p3 && p1 < p3);
	ck_assert_ptr_null(strstr(p1, "\"b\"")); /* no second resource b */
	ck_assert_ptr_nonnull(strstr(s, "\"unknown_service\""));
	free(s);
	ow_release(&tr);
	otlp_enc_free(e);
	chunk_free(c);
}
END_TEST

START_TEST(a_partial_success_is_read_and_anything_else_says_nothing)
{
	/* partial_success { rejected 2, error_message "x" }, then an unknown field 7 (varint) */
	static const uint8_t pb[] = {0x0a, 0x05, 0x08, 0x02, 0x12, 0x01, 'x', 0x38, 0x01};
	static const uint8_t cut[] = {0x0a, 0x7f, 0x08, 0x03, 0x12, 0x70, 'x'};
	static const char html[] = "\n<html><body>502 Bad Gateway</body></html>";
	static const char js[] = "{\"partialSuccess\":{\"rejectedLogRecords\":\"7\",\"errorMessage\":\"x\"}}";
	static const char jn[] = "{ \"partialSuccess\": { \"rejectedSpans\": 12 } }";

	ck_assert_uint_eq(otlp_partial_rejected(pb, sizeof(pb), false, false), 2);
	ck_assert_uint_eq(otlp_partial_rejected(pb, 0, false, false), 0);
	ck_assert_uint_eq(otlp_partial_rejected(cut, sizeof(cut), false, true),
			  3); /* the head of a long answer */
	ck_assert_uint_eq(otlp_partial_rejected(cut, sizeof(cut), false, false),
			  0); /* whole, yet it overruns */
	ck_assert_uint_eq(otlp_partial_rejected((const uint8_t *)html, strlen(html), false, false), 0);
	ck_assert_uint_eq(otlp_partial_rejected((const uint8_t *)"OK", 2, false, false), 0);
	ck_assert_uint_eq(otlp_partial_rejected((const uint8_t *)js, strlen(js), true, false), 7);
	ck_assert_uint_eq(otlp_partial_rejected((const uint8_t *)jn, strlen(jn), true, false), 12);
	ck_assert_uint_eq(otlp_partial_rejected((const uint8_t *)"{}", 2, true, false), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("otlp-encode");
	TCase *w = tcase_create("wire"), *m = tcase_create("messages");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(w, NULL, teardown);
	tcase_add_checked_fixture(m, NULL, teardown);
	tcase_add_test(w, varints_take_seven_bits_a_byte_least_significant_first);
	tcase_add_test(w, a_nested_message_gets_its_length_in_front_even_when_it_needs_three_bytes);
	tcase_add_test(w, an_escaped_string_is_written_decoded_with_its_decoded_length);
	tcase_add_test(m, hex_ids_are_their_bytes_and_others_are_hashed);
	tcase_add_test(m, a_known_log_request_has_exactly_the_bytes_protoc_would_write);
	tcase_add_test(m, a_known_span_request_in_json_is_otlp_json);
	tcase_add_test(m, records_are_grouped_by_service_one_resource_each);
	tcase_add_test(m, a_partial_success_is_read_and_anything_else_says_nothing);
	suite_add_tcase(s, w);
	suite_add_tcase(s, m);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
