/*
 * fuzz_chunk.c - libFuzzer target for the chunk stage's decoders: packed
 * records and spool files, both read from disk and so untrusted.
 *
 * DESIGN: the first byte picks the decoder. Even: the rest is a stream of
 * packed records, walked with chunk_iter_next(); every record it accepts
 * must obey the contract of record_unpack() (views inside the input, RAW,
 * caps and enums in range) and must pack again and unpack to the same
 * fields. Odd: the rest is a spool file whose last four bytes are first
 * overwritten with the right CRC-32C, so the fuzzer gets past the checksum
 * to the header, metadata, zstd payload and records; an accepted file must
 * give a chunk whose records all decode. Any violation calls abort(), which
 * libFuzzer or regress_main.c (replaying tests/fuzz/corpus/chunk in every
 * build) reports. No main() here.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <store/chunk.h>
#include <store/crc32c.h>
#include <store/record_codec.h>
#include "chunk/spool.h"
#include "fmt/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

static struct fmt_record rec, again;

static void check_view(const struct fmt_str *s, const uint8_t *base, size_t len)
{
	if (!s->ptr)
		return;
	CHECK(s->enc == FMT_ENC_RAW);
	CHECK((const uint8_t *)s->ptr >= base && (const uint8_t *)s->ptr + s->len <= base + len);
}

static int same(const struct fmt_str *a, const struct fmt_str *b)
{
	if (!a->ptr || !b->ptr)
		return !a->ptr && !b->ptr;
	return a->len == b->len && memcmp(a->ptr, b->ptr, a->len) == 0;
}

static void check_record(const struct fmt_record *r, const struct record_src *src, const uint8_t *base,
			 size_t len)
{
	const struct fmt_str *views[] = {&r->ts_text, &r->level_text, &r->trace,  &r->span,    &r->parent,
					 &r->service, &r->method,     &r->path,	  &r->message, &r->cont,
					 &src->input, &src->line,     &src->error};
	uint8_t *out;
	size_t cap, n, used;
	struct record_src src2;

	CHECK(r->nids <= FMT_IDS_MAX && r->nattrs <= FMT_ATTRS_MAX);
	CHECK(r->level <= FMT_LEVEL_OTHER && r->event <= FMT_EVENT_METRIC && r->format <= FMT_JSON);
	for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
		check_view(views[i], base, len);
	for (uint16_t i = 0; i < r->nids; i++) {
		CHECK(r->ids[i].ptr);
		check_view(&r->ids[i], base, len);
	}
	for (uint16_t i = 0; i < r->nattrs; i++) {
		CHECK(r->attrs[i].key.ptr && r->attrs[i].val.ptr && r->attrs[i].type <= FMT_T_ARRAY);
		check_view(&r->attrs[i].key, base, len);
		check_view(&r->attrs[i].val, base, len);
	}

	/* what decodes must encode and decode to the same */
	cap = record_pack_bound(src->raw ? NULL : r, src);
	out = malloc(cap);
	CHECK(record_pack(src->raw ? NULL : r, src, out, cap, &n, NULL) == 0);
	CHECK(record_unpack(out, n, &used, &again, &src2) == 0 && used == n);
	CHECK(src2.raw == src->raw && src2.offset == src->offset && same(&src2.line, &src->line));
	if (!src->raw) {
		CHECK(again.has_ts == r->has_ts && (!r->has_ts || again.ts_ns == r->ts_ns));
		CHECK(again.nids == r->nids && again.nattrs == r->nattrs && again.flags == r->flags);
		CHECK(same(&again.trace, &r->trace) && same(&again.message, &r->message));
		for (uint16_t i = 0; i < r->nattrs; i++)
			CHECK(same(&again.attrs[i].val, &r->attrs[i].val) &&
			      again.attrs[i].type == r->attrs[i].type);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if ((data[0] & 1) == 0) {
		struct chunk_iter it;
		struct record_src src;
		int rc;

		chunk_iter_init_bytes(&it, data + 1, size - 1);
		while ((rc = chunk_iter_next(&it, &rec, &src)) == 1)
			check_record(&rec, &src, data + 1, size - 1);
		CHECK(rc == 0 || rc == -CD_ECORRUPT);
	} else {
		size_t len = size - 1;
		uint8_t *file = malloc(len ? len : 1);
		struct chunk *c = NULL;
		struct cd_err err = {0};
		int rc;

		memcpy(file, data + 1, len);
		{ /* the damaged bytes as they are: what a corrupt spool file gives back */
			uint64_t lost = 0;

			c = NULL;
			rc = spool_salvage(file, len, &c, &lost);
			CHECK(rc == 0 || rc == -CD_ECORRUPT || rc == -CD_ENOMEM);
			CHECK((rc == 0) == (c != NULL));
			if (rc == 0) {
				struct chunk_iter it;
				uint32_t n = 0;
				chunk_iter_init(&it, c);
				while ((rc = chunk_iter_next(&it, &rec, NULL)) == 1)
					n++;
				CHECK(rc == 0 && n == chunk_nrecords(c) && n > 0);
				chunk_free(c);
				c = NULL;
			}
		}
		if (len >= 4) {
			uint32_t crc = crc32c(0, file, len - 4);
			for (int i = 0; i < 4; i++)
				file[len - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
		}
		rc = spool_decode(file, len, &c, &err);
		CHECK(rc == 0 || rc == -CD_ECORRUPT || rc == -CD_ENOMEM);
		CHECK((rc == 0) == (c != NULL));
		if (rc == 0) {
			struct chunk_iter it;
			uint32_t n = 0, l;
			chunk_iter_init(&it, c);
			while ((rc = chunk_iter_next(&it, &rec, NULL)) == 1)
				n++;
			CHECK(rc == 0 && n == chunk_nrecords(c));
			for (uint32_t i = 0; i < chunk_ntraces(c); i++)
				CHECK(chunk_trace_ref(c, i, &l) != NULL);
			chunk_free(c);
		} else {
			CHECK(err.code == rc && err.msg[0]);
		}
		free(file);
	}
	return 0;
}
