/*
 * fuzz_roundtrip.c - whatever parses must survive the emitters.
 *
 * For any input the auto-detecting parser accepts, both emitters must
 * succeed given enough room, the pipe line must parse again with the same
 * NDC depth, and the JSON line must be valid JSON that parses as a record
 * again. A violation aborts, which libFuzzer and the regress driver report.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fmt/detect.h"
#include "fmt/json.h"
#include "fmt/pipe.h"

static struct fmt_record rec, back;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	size_t cap = 6 * size + 4096, len;
	char *out;

	if (fmt_parse(line, size, &rec, NULL) != 0)
		return 0;
	out = malloc(cap);

	if (fmt_pipe_emit(&rec, out, cap, &len) != 0)
		abort();
	if (fmt_pipe_parse(out, len, &back, NULL) != 0)
		abort();
	if (back.nids != rec.nids || back.event != rec.event || back.has_ts != rec.has_ts ||
	    (back.has_ts && back.ts_ns != rec.ts_ns))
		abort();

	if (fmt_json_emit(&rec, FMT_JSON_IDS, out, cap, &len) != 0)
		abort();
	if (fmt_json_validate(out, len, NULL) != 0)
		abort();
	if (fmt_json_parse(out, len, &back, NULL) != 0)
		abort();
	if (back.nids != rec.nids || back.event != rec.event)
		abort();
	free(out);
	return 0;
}
