/*
 * fuzz_otlp_encode.c - the otlp output's encoder (collector/output/otlp/
 * otlp_encode.c) on any records: the input's lines are parsed as JSON
 * log lines (a line that does not parse becomes a raw record, as in
 * clewd), packed into a chunk and encoded in protobuf and in OTLP/JSON.
 * Each request must be well-formed: the JSON one one valid JSON text
 * (fmt_json_validate), the protobuf one a sequence of resource fields
 * (field 1, length-delimited) whose nested messages' lengths add up to
 * the end exactly, down to each record; every record is counted once
 * (spans + logs + skipped). Any violation calls abort().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <store/chunk.h>
#include <store/err.h>
#include <store/record_codec.h>
#include "fmt/json.h"
#include "output/otlp/otlp_encode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

static bool varint(const uint8_t *p, size_t n, size_t *i, uint64_t *v)
{
	*v = 0;
	for (unsigned s = 0; s < 70 && *i < n; s += 7) {
		uint8_t b = p[(*i)++];
		*v |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/*
 * Walk the message p[0..n): every field well-formed and the last one
 * ending exactly at n; length-delimited fields 1 and 2 are messages down
 * to the records (request > resource > scope > record), walked too.
 */
static void walk(const uint8_t *p, size_t n, int depth)
{
	size_t i = 0;
	uint64_t key, v;

	while (i < n) {
		CHECK(varint(p, n, &i, &key));
		CHECK((key >> 3) != 0);
		switch (key & 7) {
		case 0:
			CHECK(varint(p, n, &i, &v));
			break;
		case 1:
			CHECK(n - i >= 8);
			i += 8;
			break;
		case 2:
			CHECK(varint(p, n, &i, &v) && v <= n - i);
			/* request > resource spans > scope spans > span: each field 1 or 2 there is a message */
			if (depth < 3 && ((key >> 3) == 1 || (key >> 3) == 2))
				walk(p + i, (size_t)v, depth + 1);
			i += (size_t)v;
			break;
		default:
			CHECK(0); /* the encoder writes no other wire type */
		}
	}
	CHECK(i == n);
}

static struct fmt_record rec;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct otlp_enc_opts o = {.scope_name = "clewd", .scope_version = "0", .traces = true, .logs = true};
	struct otlp_enc_stats st;
	struct ow_buf tr = {0}, lg = {0};
	struct otlp_enc *e;
	struct chunk *c;
	uint32_t nrec = 0, ns, nl;
	const char *p = (const char *)data, *end = p + size;

	if (chunk_new(&c, 1, 0) < 0)
		return 0;
	while (p < end) {
		const char *nl_ = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl_ ? (size_t)(nl_ - p) : (size_t)(end - p);
		struct fmt_err err;
		int rc;

		if (fmt_json_parse(p, len, &rec, &err) == 0) {
			rc = chunk_append(c, &rec, NULL, CHUNK_NO_INPUT, 0);
		} else {
			struct record_src src = {
				.raw = true,
				.line = {p, (uint32_t)len, FMT_ENC_RAW},
				.error = {err.what, err.what ? (uint32_t)strlen(err.what) : 0, FMT_ENC_RAW}};
			if (!err.what)
				src.error.ptr = NULL;
			rc = chunk_append(c, NULL, &src, CHUNK_NO_INPUT, 0);
		}
		if (rc == 0)
			nrec++;
		else if (rc == -CD_EFULL)
			break;
		p += len + 1;
	}
	for (int enc = 0; enc < 2; enc++) {
		o.encoding = enc ? OTLP_ENC_JSON : OTLP_ENC_PROTOBUF;
		memset(&st, 0, sizeof(st));
		CHECK(otlp_enc_new(&e, &o) == 0);
		CHECK(otlp_encode_chunk(e, c, 1, &tr, &lg, &ns, &nl, &st) == 0);
		CHECK(ns + nl + st.skipped == nrec);
		CHECK(st.spans == ns && st.logs == nl);
		CHECK(!ns == !tr.len && !nl == !lg.len);
		if (enc) {
			struct fmt_err err;
			CHECK(!tr.len || fmt_json_validate((const char *)tr.data, tr.len, &err) == 0);
			CHECK(!lg.len || fmt_json_validate((const char *)lg.data, lg.len, &err) == 0);
		} else {
			walk(tr.data, tr.len, 0);
			walk(lg.data, lg.len, 0);
		}
		otlp_enc_free(e);
	}
	ow_release(&tr);
	ow_release(&lg);
	chunk_free(c);
	return 0;
}
