/*
 * output/otlp/otlp_response.c - what an OTLP receiver's 2xx answer says
 * was rejected (its partial success), in protobuf or OTLP/JSON
 * (otlp_encode.h). The body is untrusted and may be cut short (the HTTP
 * client keeps its head): every read is bounded by @n; a protobuf body
 * must be well-formed to its end (unless cut), unknown fields are
 * skipped by wire type.
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

/*
 * The partial_success message p[0..n) (its end may be cut): field 1 is
 * rejected_*. Return: false when it is not a well-formed message.
 */
static bool partial_of(const uint8_t *p, size_t n, bool cut, uint64_t *rejected)
{
	size_t i = 0;
	uint64_t key, v;

	while (i < n) {
		if (!get_varint(p, n, &i, &key) || (key >> 3) == 0)
			return cut;
		if (key == ((1u << 3) | OW_VARINT)) {
			if (!get_varint(p, n, &i, &v))
				return cut;
			*rejected = (int64_t)v > 0 ? v : 0;
		} else if (!skip(p, n, &i, (unsigned)(key & 7))) {
			return cut;
		}
	}
	return true;
}

/*
 * An Export*ServiceResponse: every field well-formed to the end (a body
 * that is not one, such as a proxy's text, says nothing), except that a
 * @cut body may end anywhere.
 */
static uint64_t from_protobuf(const uint8_t *p, size_t n, bool cut)
{
	size_t i = 0;
	uint64_t key, v, rejected = 0;

	while (i < n) {
		if (!get_varint(p, n, &i, &key) || (key >> 3) == 0)
			return cut ? rejected : 0;
		if (key == ((1u << 3) | OW_LEN)) {
			size_t len;
			if (!get_varint(p, n, &i, &v))
				return cut ? rejected : 0;
			if (v > n - i && !cut)
				return 0;
			len = v > n - i ? n - i : (size_t)v;
			if (!partial_of(p + i, len, cut && len < v, &rejected))
				return 0;
			i += len;
		} else if (!skip(p, n, &i, (unsigned)(key & 7))) {
			return cut ? rejected : 0;
		}
	}
	return rejected;
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

uint64_t otlp_partial_rejected(const uint8_t *p, size_t n, bool json, bool cut)
{
	if (!p || !n)
		return 0;
	return json ? from_json(p, n) : from_protobuf(p, n, cut);
}
