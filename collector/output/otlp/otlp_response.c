/*
 * output/otlp/otlp_response.c - what an OTLP receiver's 2xx answer says
 * was rejected (its partial success), in protobuf or OTLP/JSON
 * (otlp_encode.h). The body is untrusted and may be cut short (the HTTP
 * client keeps its head): every read is bounded by @n, a field that runs
 * past the end ends the walk, unknown fields are skipped by wire type.
 */
#include <stdlib.h>
#include <string.h>

#include "output/otlp/otlp_encode.h"
#include "util/banned.h"

/* A varint at p[*i..n): false when cut short or longer than 10 bytes. */
static bool get_varint(const uint8_t *p, size_t n, size_t *i, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; shift < 70 && *i < n; shift += 7) {
		uint8_t b = p[(*i)++];
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/* Skip a field of wire type @wt at p[*i..n). Return: false when it cannot be skipped. */
static bool skip(const uint8_t *p, size_t n, size_t *i, unsigned wt)
{
	uint64_t v;

	switch (wt) {
	case OW_VARINT:
		return get_varint(p, n, i, &v);
	case OW_I64:
		if (n - *i < 8)
			return false;
		*i += 8;
		return true;
	case OW_LEN:
		if (!get_varint(p, n, i, &v) || v > n - *i)
			return false;
		*i += (size_t)v;
		return true;
	case OW_I32:
		if (n - *i < 4)
			return false;
		*i += 4;
		return true;
	default:
		return false; /* groups (3, 4) are not in OTLP */
	}
}

static uint64_t from_protobuf(const uint8_t *p, size_t n)
{
	size_t i = 0;
	uint64_t key, v;

	while (i < n) {
		if (!get_varint(p, n, &i, &key))
			return 0;
		if (key == ((1u << 3) | OW_LEN)) {
			/* partial_success: the message, possibly cut short; rejected_* is its field 1 */
			size_t end, j;
			if (!get_varint(p, n, &i, &v))
				return 0;
			end = v < n - i ? i + (size_t)v : n;
			for (j = i; j < end;) {
				uint64_t k;
				if (!get_varint(p, end, &j, &k))
					return 0;
				if (k == ((1u << 3) | OW_VARINT))
					return get_varint(p, end, &j, &v) && (int64_t)v > 0 ? v : 0;
				if (!skip(p, end, &j, (unsigned)(k & 7)))
					return 0;
			}
			return 0;
		}
		if (!skip(p, n, &i, (unsigned)(key & 7)))
			return 0;
	}
	return 0;
}

/*
 * OTLP/JSON: the number after "rejectedSpans" or "rejectedLogRecords" (a
 * JSON number or a decimal string). A search, not a parse: the answer's
 * only job here is a count for a log line and a metric.
 */
static uint64_t from_json(const uint8_t *p, size_t n)
{
	static const char *const keys[] = {"\"rejectedSpans\"", "\"rejectedLogRecords\"",
					   "\"rejected_spans\"", "\"rejected_log_records\""};

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		size_t kl = strlen(keys[k]);
		const uint8_t *q = n >= kl ? memmem(p, n, keys[k], kl) : NULL;
		uint64_t v = 0;
		size_t i;

		if (!q)
			continue;
		i = (size_t)(q - p) + kl;
		while (i < n && (p[i] == ' ' || p[i] == ':' || p[i] == '"' || p[i] == '\t' || p[i] == '\n'))
			i++;
		for (; i < n && p[i] >= '0' && p[i] <= '9' && v < UINT64_MAX / 10 - 9; i++)
			v = v * 10 + (uint64_t)(p[i] - '0');
		return v;
	}
	return 0;
}

uint64_t otlp_partial_rejected(const uint8_t *p, size_t n, bool json)
{
	if (!p || !n)
		return 0;
	return json ? from_json(p, n) : from_protobuf(p, n);
}
