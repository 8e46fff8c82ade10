/*
 * otlp_response.c - the body of an Export{Trace,Logs,Metrics}ServiceResponse
 * (protobuf or JSON), what an OTLP/HTTP receiver answers with 200: empty
 * when every item was taken, else partial_success with the count of
 * rejected items and why.
 */
#include <stdio.h>
#include <string.h>

#include "fmt/str.h"
#include "otlp/otlp.h"

static size_t varint(uint64_t v, char *out)
{
	size_t n = 0;

	do {
		out[n++] = (char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return n;
}

size_t otlp_response(enum otlp_kind kind, enum otlp_encoding enc, uint64_t rejected, const char *msg,
		     char *out, size_t cap)
{
	static const char *const names[] = {"rejectedSpans", "rejectedLogRecords", "rejectedDataPoints"};
	size_t mlen = msg ? strlen(msg) : 0, n = 0, pos = 0;
	char inner[32];
	int w;

	if (kind > OTLP_METRICS || cap < 64)
		return 0;
	if (enc == OTLP_JSON) {
		struct fmt_str m = fmt_str_n(msg ? msg : "", mlen);

		if (!rejected && !mlen)
			return (size_t)snprintf(out, cap, "{}");
		w = snprintf(out, cap, "{\"partialSuccess\":{\"%s\":\"%llu\",\"errorMessage\":\"",
			     names[kind], (unsigned long long)rejected);
		if (w < 0 || (size_t)w >= cap)
			return 0;
		pos = (size_t)w;
		if (fmt_json_escape(&m, out, cap - 4, &pos) < 0)
			return 0;
		memcpy(out + pos, "\"}}", 4);
		return pos + 3;
	}
	if (!rejected && !mlen)
		return 0; /* an empty message */
	/* partial_success (1) { rejected_* (1): int64; error_message (2): string } */
	if (rejected) {
		inner[n++] = 0x08;
		n += varint(rejected, inner + n);
	}
	if (mlen + n + 32 > cap)
		return 0;
	out[pos++] = 0x0a;
	{
		char lenb[12], mlenb[12];
		size_t ml = varint(mlen, mlenb), body = n + (mlen ? 1 + ml + mlen : 0);
		size_t ll = varint(body, lenb);

		memcpy(out + pos, lenb, ll);
		pos += ll;
		memcpy(out + pos, inner, n);
		pos += n;
		if (mlen) {
			out[pos++] = 0x12;
			memcpy(out + pos, mlenb, ml);
			pos += ml;
			memcpy(out + pos, msg, mlen);
			pos += mlen;
		}
	}
	return pos;
}

size_t otlp_status(enum otlp_encoding enc, int code, const char *msg, char *out, size_t cap)
{
	size_t mlen = msg ? strlen(msg) : 0, pos = 0;

	if (cap < 64)
		return 0;
	if (enc == OTLP_JSON) {
		struct fmt_str m = fmt_str_n(msg ? msg : "", mlen);
		int w = snprintf(out, cap, "{\"code\":%d,\"message\":\"", code);

		pos = (size_t)w;
		if (fmt_json_escape(&m, out, cap - 3, &pos) < 0)
			return 0;
		memcpy(out + pos, "\"}", 3);
		return pos + 2;
	}
	/* google.rpc.Status { int32 code = 1; string message = 2; } */
	if (mlen + 24 > cap)
		return 0;
	out[pos++] = 0x08;
	pos += varint((uint64_t)(int64_t)code, out + pos);
	out[pos++] = 0x12;
	pos += varint(mlen, out + pos);
	memcpy(out + pos, msg, mlen);
	return pos + mlen;
}
