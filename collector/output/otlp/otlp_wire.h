/*
 * output/otlp/otlp_wire.h - the byte writers the otlp output encodes with:
 * a growable buffer, the protobuf wire format (varints, tags, fixed64,
 * length-delimited fields whose length is written when they end) and the
 * few JSON pieces OTLP/JSON needs (escaped strings, lowercase hex).
 *
 * DESIGN: a nested message is opened with ow_pb_open(), which reserves
 * one byte for its length, and closed with ow_pb_close(), which writes
 * the length as a minimal varint, moving the content when it needs more
 * than one byte. The bytes are canonical (what protoc's writers give for
 * the same fields in the same order), so a test can compare them.
 * Allocation failures are sticky: the buffer remembers one (ow_failed())
 * and every later write is a no-op, so encoders check once at the end.
 */
#ifndef CD_OUTPUT_OTLP_WIRE_H
#define CD_OUTPUT_OTLP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fmt/record.h"

struct ow_buf {
	uint8_t *data; /* the bytes (owned) */
	size_t len;    /* used */
	size_t cap;    /* allocated */
	bool failed;   /* an allocation failed: the content is incomplete */
};

/* Protobuf wire types. */
enum { OW_VARINT = 0, OW_I64 = 1, OW_LEN = 2, OW_I32 = 5 };

/* ow_release() - free @b's bytes (it is then empty). */
void ow_release(struct ow_buf *b);

/* ow_reserve() - room for @n more bytes; false (and b->failed) when memory is out. */
bool ow_reserve(struct ow_buf *b, size_t n);

/* ow_failed() - whether a write was lost to an allocation failure. */
static inline bool ow_failed(const struct ow_buf *b)
{
	return b->failed;
}

/* ow_bytes() - @n raw bytes. */
void ow_bytes(struct ow_buf *b, const void *p, size_t n);

/* ow_varint_len() - bytes of @v as a varint (1..10). */
size_t ow_varint_len(uint64_t v);

/* ow_varint() - @v as a base-128 varint. */
void ow_varint(struct ow_buf *b, uint64_t v);

/* ow_pb_tag() - the key of field @field with wire type @wt. */
void ow_pb_tag(struct ow_buf *b, uint32_t field, unsigned wt);

/* ow_pb_uint() - a varint field (int32/int64/uint32/uint64/enum/bool); zero is written too. */
void ow_pb_uint(struct ow_buf *b, uint32_t field, uint64_t v);

/* ow_pb_fixed64() - a fixed64 / double field (@v's 8 bytes, little-endian). */
void ow_pb_fixed64(struct ow_buf *b, uint32_t field, uint64_t v);

/* ow_pb_bytes() - a bytes / string field of @n bytes at @p. */
void ow_pb_bytes(struct ow_buf *b, uint32_t field, const void *p, size_t n);

/*
 * ow_pb_str() - a string field holding the decoded value of view @s
 * (escapes undone straight into the buffer).
 */
void ow_pb_str(struct ow_buf *b, uint32_t field, const struct fmt_str *s);

/*
 * ow_pb_open() - start the length-delimited field @field (a nested
 * message). Return: the mark ow_pb_close() takes.
 */
size_t ow_pb_open(struct ow_buf *b, uint32_t field);

/* ow_pb_close() - end the field opened at @mark: its length goes in front of its content. */
void ow_pb_close(struct ow_buf *b, size_t mark);

/* ow_str() - @n bytes of text as they are (JSON punctuation, keys). */
static inline void ow_lit(struct ow_buf *b, const char *s, size_t n)
{
	ow_bytes(b, s, n);
}
#define OW_LIT(b, s) ow_lit((b), (s), sizeof(s) - 1)

/* ow_json_str() - the decoded value of @s as a JSON string, quotes included. */
void ow_json_str(struct ow_buf *b, const struct fmt_str *s);

/* ow_json_hex() - @n bytes at @p as a quoted lowercase hex string. */
void ow_json_hex(struct ow_buf *b, const uint8_t *p, size_t n);

/* ow_json_u64() - @v in decimal; quoted when @quoted (proto3 JSON's 64-bit integers). */
void ow_json_u64(struct ow_buf *b, uint64_t v, bool quoted);

#endif
