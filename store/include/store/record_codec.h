/*
 * store/record_codec.h - a record <-> msgpack, losslessly (layout in
 * formats/chunk.md and in record_codec.c).
 *
 * Packing writes every value decoded (plain bytes), so a reader never needs
 * the line formats' escapes. Everything the record holds is kept, except
 * the text of a *valid* timestamp (ts_ns is the value; ts_text is kept
 * when the timestamp was invalid, as formats/vectors/README.md defines it). Unpacking fills a struct fmt_record whose
 * views point into the msgpack bytes (FMT_ENC_RAW, zero-copy): it is valid
 * only while those bytes are. Neither direction allocates.
 */
#ifndef CD_CHUNK_RECORD_CODEC_H
#define CD_CHUNK_RECORD_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fmt/record.h"

/*
 * Where a record came from, and the raw line where the collector keeps it.
 * For a line that no parser accepted ("raw record") only this is stored:
 * the line, why it failed, and where it was read.
 */
struct record_src {
	bool raw;	      /* a raw record: the line did not parse; no struct fmt_record data */
	struct fmt_str input; /* name of the input that read it (absent when not kept) */
	uint64_t offset;      /* byte offset of the line in that input */
	struct fmt_str line;  /* the line as read (absent when not kept) */
	struct fmt_str error; /* why it did not parse (absent for a parsed line) */
	uint64_t err_offset;  /* byte offset in @line where parsing failed */
};

/* What record_pack() reports about what it wrote, for a chunk's index. */
struct record_keys {
	const uint8_t *trace;	/* decoded trace ID inside the output; NULL when absent */
	uint32_t trace_len;	/* its length */
	const uint8_t *service; /* decoded service inside the output; NULL when absent */
	uint32_t service_len;	/* its length */
};

/*
 * record_pack_bound() - bytes record_pack() may need at most for @r and
 * @src (either may be NULL, not both). Cheap: sums lengths.
 */
size_t record_pack_bound(const struct fmt_record *r, const struct record_src *src);

/*
 * record_pack() - append @r (and @src, when not NULL) as one msgpack item
 * to out[0..cap). A raw record is @src with src->raw set; @r is then
 * ignored and may be NULL. @keys (may be NULL) gets the trace and service
 * as written. Views are decoded (fmt_str_decode) while copied.
 * Escaped views are decoded in the output, so @cap must hold each one's
 * escaped length even where its decoded value is shorter.
 * Return: 0 with *len set; -CD_EFULL when it does not fit in @cap (nothing
 * usable is written); -CD_EINVAL for a NULL record of a non-raw @src, or a
 * record whose nids/nattrs pass the formats library's caps.
 */
int record_pack(const struct fmt_record *r, const struct record_src *src, uint8_t *out, size_t cap,
		size_t *len, struct record_keys *keys);

/*
 * record_unpack() - read one record from buf[0..len) into @r and @src
 * (@src may be NULL: a record's src is then not returned; a raw record
 * still sets r->format FMT_UNKNOWN and no fields). Views point into @buf
 * (FMT_ENC_RAW), except a canonical level_text ("INFO"), which points to
 * fmt_level_name()'s static string. Items after the known ones (a newer writer) are skipped.
 * The bytes are untrusted: every length and enum is checked.
 * Return: 0 with *used set to the item's size; -CD_ECORRUPT for anything
 * malformed or truncated (@r is then cleared).
 */
int record_unpack(const uint8_t *buf, size_t len, size_t *used, struct fmt_record *r, struct record_src *src);

#endif
