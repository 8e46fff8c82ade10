/*
 * fuzz_find_pre.c - tracegrep --find's byte tests (cli/find_pre.c) on
 * arbitrary record text, against the parser.
 *
 * The pre-pass is exact only if its tests never contradict a parse: a
 * record that parses and that qy_record_failed() says failed must be one
 * tg_find_maybe_failed() lets through; a trace ID read from the bytes
 * must be the parsed record's (and "no trace" must mean none); a time
 * read from the bytes must be the parsed one (and "none" must mean none).
 * Any contradiction abort()s, which libFuzzer and the regress driver
 * report; ASan watches the reads.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "fmt/detect.h"
#include "query/summary.h"
#include "tg.h"

static struct fmt_record rec; /* large: static, not on the stack */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *id = NULL;
	bool maybe = tg_find_maybe_failed(s, size), has;
	size_t idn = 0;
	int64_t ts = 0;
	int trc = tg_find_raw_trace(s, size, &id, &idn), tsc = tg_find_raw_ts(s, size, &ts);
	uint64_t h = 0;

	if (trc > 0)
		check(id >= s && idn > 0 && idn <= (size_t)(s + size - id));
	/* The scan asks only of record starts (fmt_detect()), and uses only what parses. */
	if (fmt_detect(s, size) == FMT_UNKNOWN || fmt_parse(s, size, &rec, NULL) != 0)
		return 0;
	if (qy_record_failed(&rec, NULL))
		check(maybe);
	has = tg_rec_trace_hash(&rec, &h);
	if (trc == 0)
		check(!has);
	if (trc > 0)
		check(has && h == qy_span_hash(id, idn));
	if (tsc == 0)
		check(!rec.has_ts);
	if (tsc > 0)
		check(rec.has_ts && rec.ts_ns == ts);
	return 0;
}
