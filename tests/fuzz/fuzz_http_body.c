/*
 * fuzz_http_body.c - the http input's path from a POSTed body to records
 * (collector/input/http_body.c: the body taken in pieces up to its cap,
 * gzip decoded, concatenated members too; then the intake's memory path,
 * pl_source_feed() of the body to a source of its own, ended at once), in
 * clewd's real pipeline (fuzz_pipeline.h).
 *
 * DESIGN: byte 0: bit 0 says Content-Encoding: gzip, the other bits the
 * size of the pieces MHD hands over (1 to 128 bytes); the rest is the
 * body. The body must be taken whole (it is under the cap), a gzip body
 * must decode (0) or be refused (400, 413) without touching anything past
 * its bytes, a decoded body never exceeds CD_HTTP_BODY_MAX, and what is
 * accepted goes through the pipeline: the input's bytes counter grows by
 * the body's length, and fz_drain()'s checks hold. Any violation
 * abort()s. No main() here: libFuzzer or regress_main.c provides it.
 */
#include "cd_limits.h"
#include "fuzz_pipeline.h"
#include "input/http_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_body b = {NULL, 0, 0, false, false};
	struct pipeline *pl;
	uint64_t rec0, bytes0;
	struct pl_source *s;
	size_t step, off = 1;

	if (size < 1)
		return 0;
	b.gzip = data[0] & 1;
	step = (size_t)(data[0] >> 1) + 1;
	while (off < size) {
		size_t k = size - off < step ? size - off : step;

		http_body_take(&b, (const char *)data + off, k);
		off += k;
	}
	CHECK(!b.too_big && b.len == size - 1);
	CHECK(b.len == 0 || memcmp(b.buf, data + 1, b.len) == 0);
	if (b.gzip) {
		unsigned st = http_body_gunzip(&b);

		CHECK(st == 0 || st == 400 || st == 413);
		CHECK(b.len <= CD_HTTP_BODY_MAX);
		if (st) {
			http_body_free(&b);
			return 0;
		}
	}
	pl = fz_pipeline();
	rec0 = fz_records();
	bytes0 = pl_in_stats(pl, 0)->bytes;
	s = pl_source_new(pl, 0, "http:127.0.0.1:9", NULL, 0, 0, 0);
	CHECK(s);
	pl_source_feed(pl, s, b.buf, b.len);
	pl_source_end(pl, s, false);
	CHECK(pl_in_stats(pl, 0)->bytes - bytes0 == b.len);
	CHECK(fz_drain() == fz_records() - rec0);
	http_body_free(&b);
	return 0;
}
