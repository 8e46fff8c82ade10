/*
 * test_fwd_decode.c - the Forward Protocol v1 decoder
 * (collector/input/fwd_decode.c), unit by unit: the four modes, the
 * option map, event times, the record mapping (read back with jansson),
 * a frame cut at every byte, and malformed frames refused with their
 * reason. Frames are written here with a small msgpack writer, byte by
 * byte as the msgpack spec says (fixed widths where it matters).
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "input/fwd_decode.h"

/* --- a msgpack writer ----------------------------------------------------- */

struct w {
	uint8_t b[1 << 16];
	size_t n;
};

static void w_raw(struct w *w, const void *p, size_t n)
{
	ck_assert_uint_le(w->n + n, sizeof(w->b));
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void w_byte(struct w *w, uint8_t c)
{
	w_raw(w, &c, 1);
}

static void w_be(struct w *w, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--)
		w_byte(w, (uint8_t)(v >> (8 * i)));
}

static void w_array(struct w *w, unsigned n)
{
	if (n < 16)
		w_byte(w, (uint8_t)(0x90 | n));
	else {
		w_byte(w, 0xdc);
		w_be(w, n, 2);
	}
}

static void w_map(struct w *w, unsigned n)
{
	w_byte(w, (uint8_t)(0x80 | n));
}

static void w_str(struct w *w, const char *s)
{
	size_t n = strlen(s);

	if (n < 32)
		w_byte(w, (uint8_t)(0xa0 | n));
	else {
		w_byte(w, 0xd9);
		w_byte(w, (uint8_t)n);
	}
	w_raw(w, s, n);
}

static void w_bin(struct w *w, const void *p, size_t n)
{
	w_byte(w, 0xc6);
	w_be(w, n, 4);
	w_raw(w, p, n);
}

static void w_uint(struct w *w, uint64_t v)
{
	w_byte(w, 0xcf);
	w_be(w, v, 8);
}

/* EventTime: fixext 8, type 0, seconds and nanoseconds */
static void w_time(struct w *w, uint32_t s, uint32_t ns)
{
	w_byte(w, 0xd7);
	w_byte(w, 0);
	w_be(w, s, 4);
	w_be(w, ns, 4);
}

/* The record {"message": MSG, "n": N} */
static void w_rec(struct w *w, const char *msg, unsigned n)
{
	w_map(w, 2);
	w_str(w, "message");
	w_str(w, msg);
	w_str(w, "n");
	w_byte(w, (uint8_t)n);
}

/* --- helpers ------------------------------------------------------------- */

static struct fwd_dec dec;

/* Decode @w whole; the lines read back as JSON objects into *out (an array). */
static int decode(const struct w *w, struct fwd_msg *msg, enum fwd_reason *why, json_t **out)
{
	struct fwd_scan sc;
	long n;
	int rc;

	fwd_scan_init(&sc);
	n = fwd_scan(&sc, w->b, w->n, why);
	if (n < 0)
		return -1;
	ck_assert_int_eq(n, (long)w->n);
	rc = fwd_decode(&dec, w->b, w->n, msg, why);
	if (rc == 0 && out) {
		size_t pos = 0;
		*out = json_array();
		while (pos < dec.lines.len) {
			const char *nl = memchr(dec.lines.p + pos, '\n', dec.lines.len - pos);
			json_error_t e;
			json_t *o;
			ck_assert_ptr_nonnull(nl);
			o = json_loadb(dec.lines.p + pos, (size_t)(nl - dec.lines.p - pos), 0, &e);
			ck_assert_msg(o && json_is_object(o), "not JSON: %.*s", (int)(nl - dec.lines.p - pos),
				      dec.lines.p + pos);
			json_array_append_new(*out, o);
			pos = (size_t)(nl - dec.lines.p) + 1;
		}
		ck_assert_uint_eq(json_array_size(*out), msg->events);
	}
	return rc;
}

static const char *sget(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	ck_assert_msg(json_is_string(v), "no string %s", k);
	return json_string_value(v);
}

/* --- tests --------------------------------------------------------------- */

START_TEST(message_mode_with_event_time_and_chunk)
{
	struct w w = {.n = 0};
	struct fwd_msg msg;
	enum fwd_reason why;
	json_t *a;

	w_array(&w, 4);
	w_str(&w, "app.web");
	w_time(&w, 1700000000, 123456789);
	w_map(&w, 3);
	w_str(&w, "trace_id");
	w_str(&w, "t1");
	w_str(&w, "msg");
	w_str(&w, "hello");
	w_str(&w, "tag");
	w_str(&w, "mine");
	w_map(&w, 1);
	w_str(&w, "chunk");
	w_str(&w, "Q2h1bmsx");
	ck_assert_int_eq(decode(&w, &msg, &why, &a), 0);
	ck_assert_int_eq(msg.mode, FWD_MESSAGE);
	ck_assert_uint_eq(msg.chunk_len, 8);
	ck_assert(memcmp(msg.chunk, "Q2h1bmsx", 8) == 0);
	ck_assert_str_eq(sget(json_array_get(a, 0), "timestamp"), "2023-11-14T22:13:20.123456789Z");
	ck_assert_str_eq(sget(json_array_get(a, 0), "trace"), "t1");
	ck_assert_str_eq(sget(json_array_get(a, 0), "message"), "hello");
	ck_assert_str_eq(sget(json_array_get(a, 0), "tag"), "app.web");
	ck_assert_str_eq(sget(json_array_get(a, 0), "_tag"), "mine");
	json_decref(a);
}
END_TEST

START_TEST(forward_mode_with_integer_times_and_size)
{
	struct w w = {.n = 0};
	struct fwd_msg msg;
	enum fwd_reason why;
	json_t *a;

	w_array(&w, 3);
	w_str(&w, "t");
	w_array(&w, 2);
	w_array(&w, 2);
	w_uint(&w, 1700000000);
	w_rec(&w, "one", 1);
	w_array(&w, 2);
	w_byte(&w, 0x05); /* 1970, a positive fixint */
	w_rec(&w, "two", 2);
	w_map(&w, 1);
	w_str(&w, "size");
	w_byte(&w, 2);
	ck_assert_int_eq(decode(&w, &msg, &why, &a), 0);
	ck_assert_int_eq(msg.mode, FWD_FORWARD);
	ck_assert_ptr_null(msg.chunk);
	ck_assert_str_eq(sget(json_array_get(a, 0), "timestamp"), "2023-11-14T22:13:20Z");
	ck_assert_str_eq(sget(json_array_get(a, 1), "message"), "two");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(a, 1), "n")), 2);
	json_decref(a);
	/* a size that does not match the entries is refused */
	w.b[w.n - 1] = 3;
	ck_assert_int_eq(decode(&w, &msg, &why, NULL), -1);
	ck_assert_int_eq(why, FWD_R_OPTION);
}
END_TEST

/* The entries of the packed tests: three events. */
static void entries(struct w *e)
{
	for (unsigned i = 0; i < 3; i++) {
		char m[16];
		snprintf(m, sizeof(m), "ev%u", i);
		w_array(e, 2);
		w_time(e, 1700000000 + i, 0);
		w_rec(e, m, i);
	}
}

START_TEST(packed_forward_as_bin_and_as_str)
{
	struct w e = {.n = 0}, w = {.n = 0};
	struct fwd_msg msg;
	enum fwd_reason why;
	json_t *a;

	entries(&e);
	w_array(&w, 3);
	w_str(&w, "p");
	w_bin(&w, e.b, e.n);
	w_map(&w, 2);
	w_str(&w, "chunk");
	w_str(&w, "c2");
	w_str(&w, "size");
	w_byte(&w, 3);
	ck_assert_int_eq(decode(&w, &msg, &why, &a), 0);
	ck_assert_int_eq(msg.mode, FWD_PACKED);
	ck_assert_str_eq(sget(json_array_get(a, 2), "message"), "ev2");
	ck_assert_str_eq(sget(json_array_get(a, 2), "timestamp"), "2023-11-14T22:13:22Z");
	json_decref(a);
	/* the same entries as a str (older senders) */
	w.n = 0;
	w_array(&w, 2);
	w_str(&w, "p");
	w_byte(&w, 0xdb);
	w_be(&w, e.n, 4);
	w_raw(&w, e.b, e.n);
	ck_assert_int_eq(decode(&w, &msg, &why, &a), 0);
	ck_assert_uint_eq(msg.events, 3);
	json_decref(a);
}
END_TEST

START_TEST(packed_entries_with_integer_times_and_an_extra_item)
{
	struct w e = {.n = 0}, w = {.n = 0};
	struct fwd_msg msg;
	enum fwd_reason why;
	json_t *a;

	w_array(&e, 2);
	w_byte(&e, 0x05); /* a fixint time */
	w_rec(&e, "int", 1);
	w_array(&e, 3); /* a later version's third item is skipped */
	w_uint(&e, 1700000000);
	w_rec(&e, "extra", 2);
	w_map(&e, 0);
	w_array(&w, 2);
	w_str(&w, "p");
	w_bin(&w, e.b, e.n);
	ck_assert_int_eq(decode(&w, &msg, &why, &a), 0);
	ck_assert_uint_eq(msg.events, 2);
	ck_assert_str_eq(sget(json_array_get(a, 0), "timestamp"), "1970-01-01T00:00:05Z");
	ck_assert_str_eq(sget(json_array_get(a, 1), "message"), "extra");
	json_decref(a);
}
END_TEST

/* @in as gzip members of @parts pieces each into @out. */
static size_t gzip_parts(const uint8_t *in, size_t n, unsigned parts, uint8_t *out, size_t cap)
{
	size_t o = 0, step = (n + parts - 1) / parts;

	for (size_t off = 0; off < n; off += step) {
		z_stream z;
		memset(&z, 0, sizeof(z));
		ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
				 Z_OK);
		z.next_in = (Bytef *)(uintptr_t)(in + off);
		z.avail_in = (uInt)(off + step > n ? n - off : step);
		z.next_out = out + o;
		z.avail_out = (uInt)(cap - o);
		ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
		o = cap - z.avail_out;
		deflateEnd(&z);
	}
	return o;
}

START_TEST(compressed_packed_forward_in_several_gzip_members)
{
	static uint8_t gz[1 << 15];
	struct w e = {.n = 0}, w = {.n = 0};
	struct fwd_msg msg;
	enum fwd_reason why;
	json_t *a;
	size_t gn;

	entries(&e);
	gn = gzip_parts(e.b, e.n, 2, gz, sizeof(gz));
	w_array(&w, 3);
	w_str(&w, "z");
	w_bin(&w, gz, gn);
	w_map(&w, 1);
	w_str(&w, "compressed");
	w_str(&w, "gzip");
	ck_assert_int_eq(decode(&w, &msg, &why, &a), 0);
	ck_assert_int_eq(msg.mode, FWD_COMPRESSED);
	ck_assert_uint_eq(msg.events, 3);
	ck_assert_str_eq(sget(json_array_get(a, 1), "message"), "ev1");
	json_decref(a);
	/* a payload that is not gzip */
	w.n = 0;
	w_array(&w, 3);
	w_str(&w, "z");
	w_bin(&w, "not gzip at all", 15);
	w_map(&w, 1);
	w_str(&w, "compressed");
	w_str(&w, "gzip");
	ck_assert_int_eq(decode(&w, &msg, &why, NULL), -1);
	ck_assert_int_eq(why, FWD_R_GZIP);
}
END_TEST

START_TEST(docker_log_and_container_name)
{
	struct w w = {.n = 0};
	struct fwd_msg msg;
	enum fwd_reason why;
	json_t *a, *o;

	w_array(&w, 3);
	w_str(&w, "docker.abc");
	w_uint(&w, 1700000000);
	w_map(&w, 4);
	w_str(&w, "container_id");
	w_str(&w, "abc");
	w_str(&w, "container_name");
	w_str(&w, "/web");
	w_str(&w, "source");
	w_str(&w, "stdout");
	w_str(&w, "log");
	w_str(&w, "GET / 200");
	ck_assert_int_eq(decode(&w, &msg, &why, &a), 0);
	o = json_array_get(a, 0);
	ck_assert_str_eq(sget(o, "message"), "GET / 200");
	ck_assert_str_eq(sget(o, "service"), "web");
	ck_assert_str_eq(sget(o, "container_name"), "/web");
	ck_assert_str_eq(sget(o, "source"), "stdout");
	ck_assert_ptr_null(json_object_get(o, "log"));
	json_decref(a);
}
END_TEST

START_TEST(record_timestamp_wins_and_values_keep_their_types)
{
	struct w w = {.n = 0};
	struct fwd_msg msg;
	enum fwd_reason why;
	json_t *a, *o;

	w_array(&w, 3);
	w_str(&w, "x");
	w_uint(&w, 1700000000);
	w_map(&w, 6);
	w_str(&w, "timestamp");
	w_str(&w, "2026-01-02T03:04:05.5Z");
	w_str(&w, "b");
	w_byte(&w, 0xc3);
	w_str(&w, "neg");
	w_byte(&w, 0xff); /* -1 */
	w_str(&w, "f");
	w_byte(&w, 0xcb);
	w_be(&w, 0x3ff8000000000000ull, 8); /* 1.5 */
	w_str(&w, "nested");
	w_map(&w, 1);
	w_str(&w, "arr");
	w_array(&w, 2);
	w_byte(&w, 0xc0);
	w_str(&w, "q\"\n");
	w_str(&w, "bad");
	w_byte(&w, 0xa2);
	w_byte(&w, 0xff);
	w_byte(&w, 0xfe);
	ck_assert_int_eq(decode(&w, &msg, &why, &a), 0);
	o = json_array_get(a, 0);
	ck_assert_str_eq(sget(o, "timestamp"),
			 "2026-01-02T03:04:05.500Z"); /* the emitter writes ms, us or ns */
	ck_assert(json_is_true(json_object_get(o, "b")));
	ck_assert_int_eq(json_integer_value(json_object_get(o, "neg")), -1);
	ck_assert(json_real_value(json_object_get(o, "f")) == 1.5);
	ck_assert_str_eq(
		json_string_value(json_array_get(json_object_get(json_object_get(o, "nested"), "arr"), 1)),
		"q\"\n");
	ck_assert_str_eq(sget(o, "bad"), "\xEF\xBF\xBD\xEF\xBF\xBD"); /* invalid UTF-8: U+FFFD each */
	json_decref(a);
}
END_TEST

/* Every frame of the tests above, fed one byte more at a time: no frame before its last byte. */
START_TEST(a_stream_cut_at_every_byte_resumes)
{
	struct w e = {.n = 0}, w = {.n = 0};
	enum fwd_reason why;
	size_t first;

	entries(&e);
	w_array(&w, 3);
	w_str(&w, "p");
	w_bin(&w, e.b, e.n);
	w_map(&w, 1);
	w_str(&w, "chunk");
	w_str(&w, "c");
	first = w.n;
	w_array(&w, 3);
	w_str(&w, "app");
	w_time(&w, 1, 2);
	w_rec(&w, "deep", 7);
	for (size_t cut = 0; cut <= w.n; cut++) {
		struct fwd_scan sc;
		long n = 0;
		fwd_scan_init(&sc);
		for (size_t len = 0; len <= cut; len++) {
			n = fwd_scan(&sc, w.b, len, &why);
			ck_assert_int_ge(n, 0);
			if (n > 0)
				break;
		}
		ck_assert_int_eq(n, cut >= first ? (long)first : 0);
	}
	/* the second frame alone, resumed from a scan that stopped in its middle */
	{
		struct fwd_scan sc;
		fwd_scan_init(&sc);
		ck_assert_int_eq(fwd_scan(&sc, w.b + first, 5, &why), 0);
		ck_assert_int_eq(fwd_scan(&sc, w.b + first, w.n - first, &why), (long)(w.n - first));
	}
}
END_TEST

START_TEST(malformed_frames_are_refused_with_their_reason)
{
	struct w w = {.n = 0};
	struct fwd_msg msg;
	enum fwd_reason why;
	struct fwd_scan sc;

	/* 0xc1 is never msgpack */
	w_byte(&w, 0x93);
	w_byte(&w, 0xc1);
	fwd_scan_init(&sc);
	ck_assert_int_eq(fwd_scan(&sc, w.b, w.n, &why), -1);
	ck_assert_int_eq(why, FWD_R_MSGPACK);
	/* nested past FWD_DEPTH_MAX */
	w.n = 0;
	for (unsigned i = 0; i < FWD_DEPTH_MAX + 2; i++)
		w_byte(&w, 0x91);
	fwd_scan_init(&sc);
	ck_assert_int_eq(fwd_scan(&sc, w.b, w.n, &why), -1);
	ck_assert_int_eq(why, FWD_R_DEPTH);
	/* an array that says it holds more items than any frame may */
	w.n = 0;
	w_byte(&w, 0xdd);
	w_be(&w, 0xffffffffu, 4);
	fwd_scan_init(&sc);
	ck_assert_int_eq(fwd_scan(&sc, w.b, w.n, &why), -1);
	ck_assert_int_eq(why, FWD_R_SIZE);
	/* not an array at the top */
	w.n = 0;
	w_map(&w, 0);
	ck_assert_int_eq(decode(&w, &msg, &why, NULL), -1);
	ck_assert_int_eq(why, FWD_R_SHAPE);
	/* a record that is not a map */
	w.n = 0;
	w_array(&w, 3);
	w_str(&w, "t");
	w_uint(&w, 1);
	w_str(&w, "a string");
	ck_assert_int_eq(decode(&w, &msg, &why, NULL), -1);
	ck_assert_int_eq(why, FWD_R_RECORD);
	/* a time that is an ext of another type */
	w.n = 0;
	w_array(&w, 3);
	w_str(&w, "t");
	w_byte(&w, 0xd7);
	w_byte(&w, 5);
	w_be(&w, 0, 8);
	w_map(&w, 0);
	ck_assert_int_eq(decode(&w, &msg, &why, NULL), -1);
	ck_assert_int_eq(why, FWD_R_TIME);
	/* entries cut short inside a PackedForward payload */
	w.n = 0;
	w_array(&w, 2);
	w_str(&w, "t");
	w_bin(&w, "\x92\xcf\x00", 3);
	ck_assert_int_eq(decode(&w, &msg, &why, NULL), -1);
	/* an unknown compression */
	w.n = 0;
	w_array(&w, 3);
	w_str(&w, "t");
	w_bin(&w, "", 0);
	w_map(&w, 1);
	w_str(&w, "compressed");
	w_str(&w, "zstd");
	ck_assert_int_eq(decode(&w, &msg, &why, NULL), -1);
	ck_assert_int_eq(why, FWD_R_OPTION);
	ck_assert_uint_eq(dec.lines.len, 0);
}
END_TEST

START_TEST(ack_answers_read_back)
{
	uint8_t b[600];
	char id[300];
	const char *got;
	uint32_t n;

	memset(id, 'x', sizeof(id));
	for (uint32_t len = 0; len < sizeof(id); len += 37) {
		size_t m = fwd_ack(id, len, b, sizeof(b));
		ck_assert_uint_gt(m, 0);
		for (size_t cut = 0; cut < m; cut++)
			ck_assert_int_eq(fwd_ack_parse(b, cut, &got, &n), 0);
		ck_assert_int_eq(fwd_ack_parse(b, m, &got, &n), (long)m);
		ck_assert_uint_eq(n, len);
	}
	ck_assert_uint_eq(fwd_ack(id, 300, b, 10), 0);
	ck_assert_int_eq(fwd_ack_parse((const uint8_t *)"\x81\xa3"
							"ack\x01",
				       6, &got, &n),
			 -1);
}
END_TEST

static Suite *fwd_suite(void)
{
	Suite *s = suite_create("fwd_decode");
	TCase *tc = tcase_create("decode");

	tcase_add_test(tc, message_mode_with_event_time_and_chunk);
	tcase_add_test(tc, forward_mode_with_integer_times_and_size);
	tcase_add_test(tc, packed_forward_as_bin_and_as_str);
	tcase_add_test(tc, packed_entries_with_integer_times_and_an_extra_item);
	tcase_add_test(tc, compressed_packed_forward_in_several_gzip_members);
	tcase_add_test(tc, docker_log_and_container_name);
	tcase_add_test(tc, record_timestamp_wins_and_values_keep_their_types);
	tcase_add_test(tc, a_stream_cut_at_every_byte_resumes);
	tcase_add_test(tc, malformed_frames_are_refused_with_their_reason);
	tcase_add_test(tc, ack_answers_read_back);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fwd_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	fwd_dec_release(&dec);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
