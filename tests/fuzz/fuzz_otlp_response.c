/*
 * fuzz_otlp_response.c - the otlp output's reader of a receiver's answer
 * (its partial success, collector/output/otlp/otlp_response.c) on any
 * bytes: byte 0 picks protobuf (bit 0 clear) or OTLP/JSON (set), and
 * whether the body may be cut short (bit 1); the rest is the body. It must never read past the end (ASan), and what it returns
 * must be a count it could have read: in protobuf a non-negative int64.
 */
#include <stdint.h>
#include <stdlib.h>

#include "output/otlp/otlp_encode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t n;

	if (size < 1)
		return 0;
	n = otlp_partial_rejected(data + 1, size - 1, data[0] & 1, data[0] & 2);
	if (!(data[0] & 1) && n > (uint64_t)INT64_MAX)
		abort();
	return 0;
}
