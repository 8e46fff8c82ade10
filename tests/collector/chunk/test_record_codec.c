/*
 * test_record_codec.c - records <-> msgpack (store/src/record_codec.c).
 *
 * Every valid record of formats/vectors/ (read with jansson, parsed with
 * the formats library) is packed, read back by msgpack-c (the independent
 * reader: it must see one well-formed item of the documented shape) and
 * unpacked by our reader, and every field must come back equal. Then the
 * edge cases: raw records, sources, escapes decoded, every truncation
 * rejected, the output bound honoured.
 */
#include <check.h>
#include <jansson.h>
#include <msgpack.h>

#include <store/record_codec.h>
#include "fmt/detect.h"
#include "fmt/json.h"
#include "helpers.h"
#include <store/err.h>

static json_t *vectors; /* the valid pipe/json/auto vectors of all files */

static void load_vectors(void)
{
	const char *root = getenv("CLEW_SOURCE_ROOT");
	static const char *const files[] = {"pipe.json", "json.json", "auto.json"};

	vectors = json_array();
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[4096];
		json_error_t jerr;
		json_t *arr, *v;
		size_t k;

		snprintf(path, sizeof(path), "%s/formats/vectors/%s", root ? root : ".", files[i]);
		arr = json_load_file(path, 0, &jerr);
		if (!arr) {
			fprintf(stderr, "%s: %s\n", path, jerr.text);
			exit(2);
		}
		json_array_foreach(arr, k, v)
		{
			if (json_object_get(v, "expect"))
				json_array_append(vectors, v);
		}
		json_decref(arr);
	}
}

static char *vector_input(json_t *v, size_t *len)
{
	json_t *in = json_object_get(v, "input");
	json_t *rep = json_object_get(v, "input_repeat");
	char *buf;

	if (in) {
		*len = json_string_length(in);
		buf = malloc(*len ? *len : 1);
		memcpy(buf, json_string_value(in), *len);
		return buf;
	}
	ck_assert_ptr_nonnull(rep);
	{
		const char *pre = json_string_value(json_object_get(rep, "prefix"));
		const char *unit = json_string_value(json_object_get(rep, "repeat"));
		const char *suf = json_string_value(json_object_get(rep, "suffix"));
		size_t count = (size_t)json_integer_value(json_object_get(rep, "count"));
		size_t lp = pre ? strlen(pre) : 0, lu = unit ? strlen(unit) : 0, ls = suf ? strlen(suf) : 0;
		size_t at = lp;

		*len = lp + lu * count + ls;
		buf = malloc(*len ? *len : 1);
		memcpy(buf, pre ? pre : "", lp);
		for (size_t i = 0; i < count; i++, at += lu)
			memcpy(buf + at, unit, lu);
		memcpy(buf + at, suf ? suf : "", ls);
		return buf;
	}
}

/* msgpack-c's view of the item: one array of 18 whose fields match @r. */
static void check_with_msgpack_c(const char *name, const uint8_t *buf, size_t len, const struct fmt_record *r)
{
	msgpack_zone zone;
	msgpack_object obj;
	size_t off = 0;
	msgpack_unpack_return ret;

	msgpack_zone_init(&zone, 4096);
	ret = msgpack_unpack((const char *)buf, len, &off, &zone, &obj);
	ck_assert_msg(ret == MSGPACK_UNPACK_SUCCESS, "%s: msgpack-c does not read it (%d)", name, ret);
	ck_assert_msg(off == len, "%s: msgpack-c reads %zu of %zu bytes", name, off, len);
	ck_assert_int_eq(obj.type, MSGPACK_OBJECT_ARRAY);
	ck_assert_uint_eq(obj.via.array.size, 18);
	ck_assert_uint_eq(obj.via.array.ptr[0].via.u64, 0);
	if (r->has_ts)
		ck_assert_msg(obj.via.array.ptr[1].via.i64 == r->ts_ns, "%s: msgpack-c ts", name);
	else
		ck_assert_int_eq(obj.via.array.ptr[1].type, MSGPACK_OBJECT_NIL);
	ck_assert_uint_eq(obj.via.array.ptr[8].via.array.size, r->nids);
	ck_assert_uint_eq(obj.via.array.ptr[17].via.array.size, 3u * r->nattrs);
	if (r->message.ptr) {
		char *plain = malloc(r->message.len + 1);
		size_t n = fmt_str_decode(&r->message, plain);
		ck_assert_int_eq(obj.via.array.ptr[15].type, MSGPACK_OBJECT_STR);
		ck_assert_uint_eq(obj.via.array.ptr[15].via.str.size, n);
		ck_assert_msg(memcmp(obj.via.array.ptr[15].via.str.ptr, plain, n) == 0,
			      "%s: msgpack-c message", name);
		free(plain);
	}
	msgpack_zone_destroy(&zone);
}

START_TEST(every_vector_record_survives_pack_and_unpack)
{
	json_t *v = json_array_get(vectors, (size_t)_i);
	const char *name = json_string_value(json_object_get(v, "name"));
	const char *parser = json_string_value(json_object_get(v, "parser"));
	static struct fmt_record rec, back;
	size_t len, cap, plen = 0, used = 0;
	char *line = vector_input(v, &len);
	uint8_t *out;
	struct fmt_err err = {0};
	int rc;

	if (!strcmp(parser, "pipe"))
		rc = fmt_pipe_parse(line, len, &rec, &err);
	else if (!strcmp(parser, "json"))
		rc = fmt_json_parse(line, len, &rec, &err);
	else
		rc = fmt_parse(line, len, &rec, &err);
	ck_assert_msg(rc == 0, "%s: does not parse: %s", name, err.what);

	cap = record_pack_bound(&rec, NULL);
	out = malloc(cap);
	ck_assert_int_eq(record_pack(&rec, NULL, out, cap, &plen, NULL), 0);
	ck_assert_uint_le(plen, cap);
	check_with_msgpack_c(name, out, plen, &rec);

	ck_assert_int_eq(record_unpack(out, plen, &used, &back, NULL), 0);
	ck_assert_uint_eq(used, plen);
	assert_same_record(name, &rec, &back);
	/* zero-copy: every view of the result lies in the packed bytes, unescaped */
	for (uint16_t i = 0; i < back.nattrs; i++) {
		ck_assert_int_eq(back.attrs[i].val.enc, FMT_ENC_RAW);
		ck_assert((const uint8_t *)back.attrs[i].val.ptr >= out &&
			  (const uint8_t *)back.attrs[i].val.ptr + back.attrs[i].val.len <= out + plen);
	}
	if (back.message.ptr)
		ck_assert((const uint8_t *)back.message.ptr >= out &&
			  (const uint8_t *)back.message.ptr <= out + plen);
	free(out);
	free(line);
}
END_TEST

START_TEST(escaped_values_are_stored_decoded)
{
	static const char line[] = "a:b|svc\\|x|GET|/p|k=v\\|w|msg=two\\nlines";
	struct fmt_record rec, back;
	uint8_t out[512];
	size_t len, used;

	parse_pipe(line, &rec);
	ck_assert_int_eq(record_pack(&rec, NULL, out, sizeof(out), &len, NULL), 0);
	ck_assert_int_eq(record_unpack(out, len, &used, &back, NULL), 0);
	ck_assert_int_eq(back.service.enc, FMT_ENC_RAW);
	ck_assert_uint_eq(back.service.len, 5);
	ck_assert_int_eq(memcmp(back.service.ptr, "svc|x", 5), 0);
	ck_assert_int_eq(memcmp(back.message.ptr, "two\nlines", 9), 0);
	ck_assert_int_eq(memcmp(back.attrs[0].val.ptr, "v|w", 3), 0);
	/* the packed bytes hold no backslash at all */
	ck_assert_ptr_null(memchr(out, '\\', len));
}
END_TEST

START_TEST(trace_span_and_parent_refer_to_ids_instead_of_repeating_them)
{
	static const char line[] = "7f3a9c1e55d04b2a:1b2c3d4e:9a8b7c6d|orders|GET|/x|msg=m";
	struct fmt_record rec, back;
	uint8_t out[512];
	size_t len, used;
	struct record_keys keys;

	parse_pipe(line, &rec);
	ck_assert_int_eq(record_pack(&rec, NULL, out, sizeof(out), &len, &keys), 0);
	/* each ID's bytes appear once */
	{
		const uint8_t *first = memmem(out, len, "7f3a9c1e55d04b2a", 16);
		ck_assert_ptr_nonnull(first);
		ck_assert_ptr_null(
			memmem(first + 16, len - (size_t)(first + 16 - out), "7f3a9c1e55d04b2a", 16));
	}
	ck_assert_uint_eq(keys.trace_len, 16);
	ck_assert_int_eq(memcmp(keys.trace, "7f3a9c1e55d04b2a", 16), 0);
	ck_assert_uint_eq(keys.service_len, 6);
	ck_assert_int_eq(record_unpack(out, len, &used, &back, NULL), 0);
	assert_same_record("refs", &rec, &back);
}
END_TEST

START_TEST(a_raw_record_keeps_line_error_input_and_offset)
{
	static const char line[] = "no record \xff here";
	struct record_src src = {.raw = true,
				 .input = fmt_str_c("/var/log/app.log"),
				 .offset = 1234567890123ull,
				 .line = fmt_str_n(line, sizeof(line) - 1),
				 .error = fmt_str_c("not a record start"),
				 .err_offset = 3};
	struct record_src got;
	struct fmt_record back;
	uint8_t out[256];
	size_t len, used;

	ck_assert_int_eq(record_pack(NULL, &src, out, sizeof(out), &len, NULL), 0);
	ck_assert_uint_le(len, record_pack_bound(NULL, &src));
	ck_assert_int_eq(record_unpack(out, len, &used, &back, &got), 0);
	ck_assert_uint_eq(used, len);
	ck_assert(got.raw);
	ck_assert_int_eq(back.format, FMT_UNKNOWN);
	ck_assert_uint_eq(back.nattrs, 0);
	ck_assert(same_decoded(&got.input, &src.input));
	ck_assert(same_decoded(&got.line, &src.line));
	ck_assert(same_decoded(&got.error, &src.error));
	ck_assert_uint_eq(got.offset, 1234567890123ull);
	ck_assert_uint_eq(got.err_offset, 3);
}
END_TEST

START_TEST(a_parsed_record_may_carry_its_source_and_raw_line)
{
	static const char line[] = "t1|svc|-|-|a=1";
	struct record_src src = {.input = fmt_str_c("stdin"), .offset = 77, .line = fmt_str_c(line)};
	struct record_src got;
	struct fmt_record rec, back;
	uint8_t out[256];
	size_t len, used;

	parse_pipe(line, &rec);
	ck_assert_int_eq(record_pack(&rec, &src, out, sizeof(out), &len, NULL), 0);
	ck_assert_int_eq(record_unpack(out, len, &used, &back, &got), 0);
	assert_same_record("with src", &rec, &back);
	ck_assert(!got.raw);
	ck_assert_uint_eq(got.offset, 77);
	ck_assert(same_decoded(&got.line, &src.line));
	ck_assert_ptr_null(got.error.ptr);
}
END_TEST

START_TEST(every_truncation_of_a_record_is_rejected_as_corrupt)
{
	static const char line[] = "2026-11-23T07:09:24.123456Z INFO a:b:c|svc|GET|/p|n=12|b=true|msg=hello";
	struct record_src src = {.input = fmt_str_c("in"), .offset = 5, .line = fmt_str_c(line)};
	struct fmt_record rec, back;
	uint8_t out[512];
	size_t len, used;

	parse_pipe(line, &rec);
	ck_assert_int_eq(record_pack(&rec, &src, out, sizeof(out), &len, NULL), 0);
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees any over-read */
		memcpy(copy, out, cut);
		ck_assert_msg(record_unpack(copy, cut, &used, &back, NULL) == -CD_ECORRUPT, "cut at %zu",
			      cut);
		ck_assert_uint_eq(back.nattrs, 0); /* cleared on failure */
		free(copy);
	}
}
END_TEST

START_TEST(packing_into_too_small_a_buffer_says_full_at_every_size)
{
	static const char line[] = "a:b|svc|GET|/p|k=v|msg=hello world";
	struct fmt_record rec;
	uint8_t out[512];
	size_t len, len2;

	parse_pipe(line, &rec);
	ck_assert_int_eq(record_pack(&rec, NULL, out, sizeof(out), &len, NULL), 0);
	for (size_t cap = 0; cap < len; cap++)
		ck_assert_int_eq(record_pack(&rec, NULL, out, cap, &len2, NULL), -CD_EFULL);
	ck_assert_int_eq(record_pack(&rec, NULL, out, len, &len2, NULL), 0);
}
END_TEST

START_TEST(unknown_kinds_bad_enums_and_bad_id_refs_are_corrupt)
{
	struct fmt_record back;
	size_t used;
	/* kind 7 */
	static const uint8_t kind7[] = {0x92, 0x07, 0xc0};
	/* a record whose level is 99 */
	uint8_t bad_level[64] = {0xdc, 0x00, 0x12, 0x00, 0xc0, 0x63};
	/* trace refers to ids[3] of an empty ids array */
	static const uint8_t bad_ref[] = {0xdc, 0x00, 0x12, 0x00, 0xc0, 0x00, 0xc0, 0x00, 0x01, 0x00, 0xc0,
					  0x90, 0x03, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0x90};

	ck_assert_int_eq(record_unpack(kind7, sizeof(kind7), &used, &back, NULL), -CD_ECORRUPT);
	ck_assert_int_eq(record_unpack(bad_level, sizeof(bad_level), &used, &back, NULL), -CD_ECORRUPT);
	ck_assert_int_eq(record_unpack(bad_ref, sizeof(bad_ref), &used, &back, NULL), -CD_ECORRUPT);
}
END_TEST

START_TEST(fields_appended_by_a_newer_writer_are_skipped)
{
	static const char line[] = "a|svc|-|-|msg=m";
	struct fmt_record rec, back;
	uint8_t out[256], newer[300];
	size_t len, used;

	parse_pipe(line, &rec);
	ck_assert_int_eq(record_pack(&rec, NULL, out, sizeof(out), &len, NULL), 0);
	/* array(18) -> array(21): no src (nil), then a map {1: [nil, "x"]} and a float */
	ck_assert_int_eq(out[0], 0xdc);
	memcpy(newer, out, len);
	newer[2] = 21;
	memcpy(newer + len, "\xc0\x81\x01\x92\xc0\xa1x\xcb\0\0\0\0\0\0\0\0", 16);
	ck_assert_int_eq(record_unpack(newer, len + 16, &used, &back, NULL), 0);
	ck_assert_uint_eq(used, len + 16);
	assert_same_record("newer", &rec, &back);
}
END_TEST

START_TEST(msgpack_c_reads_a_stream_of_every_vector_record_item_by_item)
{
	static struct fmt_record rec;
	size_t cap = 1 << 20, at = 0, off = 0, n = 0, items = 0;
	uint8_t *out = malloc(cap);
	msgpack_unpacked u;

	for (size_t i = 0; i < json_array_size(vectors); i++) {
		json_t *v = json_array_get(vectors, i);
		size_t len, plen;
		char *line = vector_input(v, &len);
		if (fmt_parse(line, len, &rec, NULL) == 0 && at + record_pack_bound(&rec, NULL) <= cap) {
			ck_assert_int_eq(record_pack(&rec, NULL, out + at, cap - at, &plen, NULL), 0);
			at += plen;
			n++;
		}
		free(line);
	}
	ck_assert_uint_gt(n, 50);
	msgpack_unpacked_init(&u);
	while (msgpack_unpack_next(&u, (const char *)out, at, &off) == MSGPACK_UNPACK_SUCCESS) {
		ck_assert_int_eq(u.data.type, MSGPACK_OBJECT_ARRAY);
		items++;
	}
	ck_assert_uint_eq(off, at);
	ck_assert_uint_eq(items, n);
	msgpack_unpacked_destroy(&u);
	free(out);
}
END_TEST

/* msgpack-c's packing of a parsed record's head: the fields up to the ids' array header. */
static void msgpack_c_head(msgpack_sbuffer *sb, const struct fmt_record *r, bool with_src)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, with_src ? 19 : 18);
	msgpack_pack_uint8(&pk, 0);
	if (r->has_ts)
		msgpack_pack_int64(&pk, r->ts_ns);
	else
		msgpack_pack_nil(&pk);
	msgpack_pack_uint8(&pk, r->level);
	msgpack_pack_true(&pk); /* the canonical level name */
	msgpack_pack_uint8(&pk, r->event);
	msgpack_pack_uint8(&pk, r->format);
	msgpack_pack_uint32(&pk, r->flags);
	msgpack_pack_nil(&pk); /* a valid timestamp's text is not kept */
	msgpack_pack_array(&pk, r->nids);
}

START_TEST(a_record_head_is_what_msgpack_c_packs_for_it)
{
	/* the usual head is written in one go (a timestamp past 2^32 ns); 1970's takes the general path */
	static const char *const lines[] = {
		"2026-11-23T07:00:00.001495Z INFO 0d35110dd63c8b00:0435bd44|gateway|GET|/x|status=200|msg=ok",
		"2026-11-23T07:00:00Z ERROR a:b:c:d:e:f:g:h:i:j:k:l:m:n:o:p:q|svc|msg=sixteen IDs and more",
		"1970-01-01T00:00:01Z WARN abc:def|svc|msg=a small timestamp",
		"1970-01-01T00:00:00.000000100Z DEBUG abc|svc|msg=smaller still",
		"{\"ts\":\"2026-11-23T07:00:00Z\",\"level\":\"INFO\",\"trace\":\"t1\",\"span\":\"s1\",\"msg\":\"m\"}",
	};
	static struct fmt_record rec;
	struct record_src src = {.input = fmt_str_c("in"), .offset = 7};
	uint8_t out[4096];

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		for (int with_src = 0; with_src < 2; with_src++) {
			msgpack_sbuffer sb;
			size_t len;

			ck_assert_int_eq(fmt_parse(lines[i], strlen(lines[i]), &rec, NULL), 0);
			ck_assert(rec.has_ts && rec.level_text.ptr); /* each line's level is canonical */
			ck_assert_int_eq(
				record_pack(&rec, with_src ? &src : NULL, out, sizeof(out), &len, NULL), 0);
			msgpack_sbuffer_init(&sb);
			msgpack_c_head(&sb, &rec, with_src);
			ck_assert_uint_gt(len, sb.size);
			ck_assert_msg(memcmp(out, sb.data, sb.size) == 0, "line %zu, src %d: head differs", i,
				      with_src);
			msgpack_sbuffer_destroy(&sb);
		}
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("record_codec");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, every_vector_record_survives_pack_and_unpack, 0,
			    (int)json_array_size(vectors));
	tcase_add_test(tc, msgpack_c_reads_a_stream_of_every_vector_record_item_by_item);
	tcase_add_test(tc, a_record_head_is_what_msgpack_c_packs_for_it);
	tcase_add_test(tc, escaped_values_are_stored_decoded);
	tcase_add_test(tc, trace_span_and_parent_refer_to_ids_instead_of_repeating_them);
	tcase_add_test(tc, a_raw_record_keeps_line_error_input_and_offset);
	tcase_add_test(tc, a_parsed_record_may_carry_its_source_and_raw_line);
	tcase_add_test(tc, every_truncation_of_a_record_is_rejected_as_corrupt);
	tcase_add_test(tc, packing_into_too_small_a_buffer_says_full_at_every_size);
	tcase_add_test(tc, unknown_kinds_bad_enums_and_bad_id_refs_are_corrupt);
	tcase_add_test(tc, fields_appended_by_a_newer_writer_are_skipped);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	load_vectors();
	if (json_array_size(vectors) < 50) {
		fprintf(stderr, "too few vectors found (CLEW_SOURCE_ROOT?)\n");
		return 1;
	}
	sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	json_decref(vectors);
	return failed ? 1 : 0;
}
