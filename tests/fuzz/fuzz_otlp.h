/*
 * fuzz_otlp.h - the body of the libFuzzer targets for the OTLP readers
 * (fuzz_otlp_proto.c, fuzz_otlp_json.c: each defines FUZZ_OTLP_ENCODING
 * and includes this), otlp/src/otlp_proto.c or otlp_json.c and the
 * record builder they feed.
 *
 * DESIGN: every input is decoded as each of the three export requests
 * (traces, logs, metrics). The contract checked (abort() on a breach, so
 * libFuzzer or regress_main.c reports it): a decode either fails with a
 * reason and leaves the output as it was, or succeeds with every line it
 * wrote a JSON object that formats/'s strict parser takes, as many lines
 * as it counted records, and no more rejected items than items.
 */
#ifndef FUZZ_OTLP_H
#define FUZZ_OTLP_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/json.h"
#include "otlp/otlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char seed[] = "{\"seed\":1}\n"; /* output already there must stay */
	struct otlp_out out = {NULL, 0, 0};
	struct otlp_result res;

	for (int kind = OTLP_TRACES; kind <= OTLP_METRICS; kind++) {
		size_t start = 0, lines = 0;
		int rc;

		out.len = 0;
		out.buf = out.cap ? out.buf : malloc(sizeof(seed));
		CHECK(out.buf);
		if (!out.cap)
			out.cap = sizeof(seed);
		memcpy(out.buf, seed, sizeof(seed) - 1);
		out.len = sizeof(seed) - 1;
		rc = otlp_decode((enum otlp_kind)kind, FUZZ_OTLP_ENCODING, data, size, &out, &res);
		CHECK(memcmp(out.buf, seed, sizeof(seed) - 1) == 0);
		if (rc < 0) {
			CHECK(res.why != NULL);
			CHECK(out.len == sizeof(seed) - 1);
			continue;
		}
		CHECK(res.rejected <= res.items);
		start = sizeof(seed) - 1;
		for (size_t i = start; i < out.len; i++) {
			struct fmt_record rec;

			if (out.buf[i] != '\n')
				continue;
			CHECK(fmt_json_parse(out.buf + start, i - start, &rec, NULL) == 0);
			lines++;
			start = i + 1;
		}
		CHECK(start == out.len);
		CHECK(lines == res.records);
	}
	otlp_out_free(&out);
	return 0;
}

#endif
