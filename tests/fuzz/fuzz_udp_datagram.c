/*
 * fuzz_udp_datagram.c - the udp and unixgram inputs' path from received
 * datagrams to records (collector/input/in_udp.c ->
 * pl_source_feed_datagram(): each datagram ends its last line, cut at
 * '\n', overlong lines split, multiline join, parse, chunk), in clewd's
 * real pipeline (fuzz_pipeline.h).
 *
 * DESIGN: the input is a sequence of datagrams, each a 2-byte big-endian
 * length then that many bytes (the last one cut at the input's end), fed
 * to one source (the input's, for its life) and ended. Every chunk must
 * decode, the input's bytes counter must grow by the datagrams' bytes
 * (the added newlines not counted), nothing of a datagram may wait in
 * the source's buffer after it (its last line is ended: lines of two
 * datagrams never run together), and fz_drain()'s checks hold. Any violation abort()s. No main() here:
 * libFuzzer or regress_main.c provides it.
 */
#include "fuzz_pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pipeline *pl = fz_pipeline();
	uint64_t rec0 = fz_records(), bytes0 = pl_in_stats(pl, 0)->bytes, fed = 0;
	struct pl_source *s = pl_source_new(pl, 0, "udp:127.0.0.1:514", NULL, 0, 0, 0);
	size_t off = 0;

	CHECK(s);
	while (off + 2 <= size) {
		size_t n = (size_t)data[off] << 8 | data[off + 1];

		off += 2;
		if (n > size - off)
			n = size - off;
		pl_source_feed_datagram(pl, s, data + off, n);
		/* a datagram's last line is ended by it: nothing of it waits in the buffer */
		CHECK(s->start == s->end);
		fed += n;
		off += n;
	}
	pl_source_end(pl, s, true);
	CHECK(pl_in_stats(pl, 0)->bytes - bytes0 == fed);
	CHECK(fz_drain() == fz_records() - rec0);
	return 0;
}
