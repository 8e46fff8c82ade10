/*
 * output/otlp/otlp_wire.c - the otlp output's byte writers: a growable
 * buffer, the protobuf wire format and OTLP/JSON's strings and numbers
 * (otlp_wire.h). Nothing here knows OTLP's messages (otlp_encode.c does).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/str.h"
#include "output/otlp/otlp_wire.h"
#include "util/banned.h"

void ow_release(struct ow_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

bool ow_reserve(struct ow_buf *b, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (b->failed)
		return false;
	if (b->cap - b->len >= n)
		return true;
	cap = b->cap ? b->cap : 4096;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2) {
			b->failed = true;
			return false;
		}
		cap *= 2;
	}
	p = realloc(b->data, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void ow_bytes(struct ow_buf *b, const void *p, size_t n)
{
	if (!n || !ow_reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

size_t ow_varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* @v as a varint at @p (room for ow_varint_len(v) bytes). */
static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

void ow_varint(struct ow_buf *b, uint64_t v)
{
	if (!ow_reserve(b, 10))
		return;
	b->len += put_varint(b->data + b->len, v);
}

void ow_pb_tag(struct ow_buf *b, uint32_t field, unsigned wt)
{
	ow_varint(b, ((uint64_t)field << 3) | wt);
}

void ow_pb_uint(struct ow_buf *b, uint32_t field, uint64_t v)
{
	ow_pb_tag(b, field, OW_VARINT);
	ow_varint(b, v);
}

void ow_pb_fixed64(struct ow_buf *b, uint32_t field, uint64_t v)
{
	uint8_t le[8];

	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	ow_pb_tag(b, field, OW_I64);
	ow_bytes(b, le, sizeof(le));
}

void ow_pb_bytes(struct ow_buf *b, uint32_t field, const void *p, size_t n)
{
	ow_pb_tag(b, field, OW_LEN);
	ow_varint(b, n);
	ow_bytes(b, p, n);
}

void ow_pb_str(struct ow_buf *b, uint32_t field, const struct fmt_str *s)
{
	size_t room, n, k;

	if (!s->ptr) {
		ow_pb_bytes(b, field, "", 0);
		return;
	}
	if (s->enc == FMT_ENC_RAW) {
		ow_pb_bytes(b, field, s->ptr, s->len);
		return;
	}
	/* decoded straight into the buffer: never longer than the view, so its length fits the room */
	ow_pb_tag(b, field, OW_LEN);
	room = ow_varint_len(s->len);
	if (!ow_reserve(b, room + s->len))
		return;
	n = fmt_str_decode(s, (char *)b->data + b->len + room);
	k = ow_varint_len(n);
	if (k < room)
		memmove(b->data + b->len + k, b->data + b->len + room, n);
	put_varint(b->data + b->len, n);
	b->len += k + n;
}

size_t ow_pb_open(struct ow_buf *b, uint32_t field)
{
	ow_pb_tag(b, field, OW_LEN);
	if (!ow_reserve(b, 1))
		return b->len;
	b->data[b->len++] = 0; /* the length's first byte; more are made room for at close */
	return b->len;
}

void ow_pb_close(struct ow_buf *b, size_t mark)
{
	size_t n, k;

	if (b->failed)
		return;
	n = b->len - mark;
	k = ow_varint_len(n);
	if (k > 1) {
		if (!ow_reserve(b, k - 1))
			return;
		memmove(b->data + mark + k - 1, b->data + mark, n);
		b->len += k - 1;
	}
	put_varint(b->data + mark - 1, n);
}

void ow_json_str(struct ow_buf *b, const struct fmt_str *s)
{
	size_t pos;

	/* worst case: every byte a \u00XX escape */
	if (!ow_reserve(b, (size_t)(s->ptr ? s->len : 0) * 6 + 2))
		return;
	b->data[b->len++] = '"';
	if (s->ptr) {
		pos = b->len;
		if (fmt_json_escape(s, (char *)b->data, b->cap - 1, &pos) == 0)
			b->len = pos;
	}
	b->data[b->len++] = '"';
}

void ow_json_hex(struct ow_buf *b, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	if (!ow_reserve(b, n * 2 + 2))
		return;
	b->data[b->len++] = '"';
	for (size_t i = 0; i < n; i++) {
		b->data[b->len++] = (uint8_t)hex[p[i] >> 4];
		b->data[b->len++] = (uint8_t)hex[p[i] & 15];
	}
	b->data[b->len++] = '"';
}

void ow_json_u64(struct ow_buf *b, uint64_t v, bool quoted)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), quoted ? "\"%llu\"" : "%llu", (unsigned long long)v);

	ow_bytes(b, tmp, (size_t)n);
}
