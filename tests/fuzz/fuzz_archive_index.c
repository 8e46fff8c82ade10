/*
 * fuzz_archive_index.c - the archive's readers on arbitrary bytes (they
 * read untrusted files: formats/archive.md).
 *
 * The input is tried as an index file and as a segment data file. Hashes
 * are checked where the code under test checks them, and also skipped (as
 * no real file could make them pass by chance) so that the fuzzer reaches
 * the structural checks behind them. Properties, each abort()ing:
 * - a parsed index only ever names frames inside its table, and its frames
 *   lie inside the data file it describes;
 * - every frame found in a data file, re-indexed by the builder and
 *   encoded, parses back (hashes checked) with the same frames, and a
 *   lookup of each of its trace hashes returns that frame;
 * - decompression of a frame never writes past its stated length.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "archive_int.h"
#include <store/limits.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

struct seen {
	uint32_t nframes; /* frames of the index */
	uint32_t want;	  /* frame that must be reported; UINT32_MAX: none */
	bool found;	  /* @want was reported */
	uint32_t calls;	  /* callbacks */
};

static int on_frame(void *ctx, uint32_t frame)
{
	struct seen *s = ctx;

	check(frame < s->nframes);
	if (frame == s->want)
		s->found = true;
	return ++s->calls > 100000; /* stop a degenerate walk */
}

static void try_index(const uint8_t *data, size_t size, bool verify)
{
	struct arch__index ix;

	if (arch__index_parse(data, size, verify, &ix) < 0)
		return;
	for (uint32_t i = 0; i < ix.nframes; i++) {
		struct arch__frame_ent f;

		arch__index_frame(&ix, i, &f);
		check(f.len >= ARCH_HDR_BYTES && f.off + f.len <= ix.data_bytes);
	}
	for (uint32_t k = 0; k < ix.nentries && k < 64; k++) {
		struct seen s = {.nframes = ix.nframes, .want = UINT32_MAX};
		uint64_t h = le_get64(ix.entries + (size_t)k * ARCH_IDX_ENTRY_BYTES);

		arch__index_lookup(&ix, h, verify, on_frame, &s);
		arch__index_lookup(&ix, h + 1, true, on_frame, &s);
	}
}

static void try_segment(const uint8_t *data, size_t size, bool verify)
{
	static uint8_t out[1u << 20];
	struct arch__build b;
	size_t off = 0;

	arch__build_init(&b);
	while (off + ARCH_HDR_BYTES <= size) {
		struct arch__frame_hdr h;
		struct arch__frame_meta m;
		const uint8_t *next;

		if (arch__frame_check(data + off, size - off, verify, &h, &m) == 0) {
			size_t flen = ARCH_HDR_BYTES + (size_t)h.meta_len + h.zlen;

			check(flen <= size - off && m.ntraces <= CD_ARCH_FRAME_TRACES_MAX);
			if (h.raw_len <= sizeof(out)) {
				size_t got = ZSTD_decompress(
					out, h.raw_len, data + off + ARCH_HDR_BYTES + h.meta_len, h.zlen);

				check(ZSTD_isError(got) || got <= h.raw_len);
			}
			if (arch__build_add(&b, off, &h, &m) < 0)
				break;
			off += flen;
			continue;
		}
		next = memmem(data + off + 1, size - off - 1, "CLAF", 4);
		if (!next)
			break;
		off = (size_t)(next - data);
	}

	if (b.nframes > 0) {
		struct arch__build copy;
		struct arch__index ix;
		uint8_t *buf;
		size_t len;

		/* Keep the per-frame entries before encode() sorts them. */
		arch__build_init(&copy);
		copy.entries = malloc(b.nentries * sizeof(*b.entries) + 1);
		check(copy.entries != NULL);
		if (b.nentries)
			memcpy(copy.entries, b.entries, b.nentries * sizeof(*b.entries));
		copy.nentries = b.nentries;
		if (arch__build_encode(&b, &buf, &len) == 0) {
			check(arch__index_parse(buf, len, true, &ix) == 0);
			check(ix.nframes == b.nframes);
			for (size_t i = 0; i < copy.nentries && i < 256; i++) {
				struct seen s = {.nframes = ix.nframes, .want = copy.entries[i].frame};

				check(arch__index_lookup(&ix, copy.entries[i].hash, true, on_frame, &s) == 0);
				check(s.found);
			}
			free(buf);
		}
		arch__build_release(&copy);
	}
	arch__build_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	try_index(data, size, true);
	try_index(data, size, false);
	try_segment(data, size, true);
	try_segment(data, size, false);
	return 0;
}
