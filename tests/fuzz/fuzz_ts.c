/*
 * fuzz_ts.c - RFC 3339 timestamps on arbitrary bytes.
 *
 * Whatever parses must format (with the fewest exact digits) to a string
 * that parses back to the very same nanosecond; formatted with 0..9 digits
 * it must parse to the instant cut to that many digits. A failure must
 * say what and where. Any violation abort()s.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/ts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fmt_err err = {0};
	char out[FMT_TS_MAX];
	int64_t ns = 0, back = 0;
	size_t n;

	if (fmt_ts_parse((const char *)data, size, &ns, &err) != 0) {
		check(err.what != NULL && err.offset <= size);
		return 0;
	}
	n = fmt_ts_format(ns, -1, out);
	check(n < FMT_TS_MAX && n == strlen(out));
	check(fmt_ts_parse(out, n, &back, NULL) == 0 && back == ns);

	for (int digits = 0; digits <= 9; digits++) {
		int64_t cut = 1;

		for (int k = digits; k < 9; k++)
			cut *= 10;
		n = fmt_ts_format(ns, digits, out);
		check(n == 20 + (size_t)digits + (digits > 0));
		if (fmt_ts_parse(out, n, &back, NULL) != 0) {
			check(ns - INT64_MIN < cut); /* cut below the earliest instant */
			continue;
		}
		check(back <= ns && ns - back < cut);
	}
	return 0;
}
