/*
 * fuzz_tcp_framing.c - the tcp and unix (stream) inputs' path from the
 * bytes of a connection to records (collector/input/in_tcp.c ->
 * pl_source_read(): cut at '\n', overlong lines split, multiline join,
 * parse, chunk), in clewd's real pipeline (fuzz_pipeline.h).
 *
 * DESIGN: byte 0 chooses the sizes of the reads (1 to 256 bytes, cycling);
 * the rest is the stream. It is read twice from a pipe with
 * pl_source_read(), as in_tcp.c reads a socket: once in one piece per
 * pipe's fill, once in the small reads, each on a connection (source) of
 * its own ended at EOF (pl_source_end()). Both must give the same number
 * of records (the framing resumes at any byte), every chunk must decode,
 * the input's bytes counter must grow by the stream's length, and
 * fz_drain()'s checks hold. RFC 6587 octet counting (syslog over tcp) is
 * syslog_frame_next(), fed in pieces by fuzz_syslog. Any violation abort()s.
 * No main() here: libFuzzer or regress_main.c provides it.
 */
#include <fcntl.h>

#include "fuzz_pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The stream through one source, written to a pipe in pieces of at most @step bytes; Return: its records. */
static uint64_t one_connection(const uint8_t *p, size_t n, size_t step)
{
	struct pipeline *pl = fz_pipeline();
	uint64_t rec0 = fz_records(), bytes0 = pl_in_stats(pl, 0)->bytes, got;
	struct pl_source *s = pl_source_new(pl, 0, "tcp:127.0.0.1:9", NULL, 0, 0, 0);
	size_t off = 0;
	bool eof = false;
	int fd[2];

	CHECK(s);
	CHECK(pipe2(fd, O_NONBLOCK | O_CLOEXEC) == 0);
	while (off < n) {
		size_t k = n - off < step ? n - off : step;
		ssize_t w = write(fd[1], p + off, k);

		CHECK(w > 0);
		off += (size_t)w;
		CHECK(pl_source_read(pl, s, fd[0], &eof) >= 0);
		CHECK(!eof);
	}
	close(fd[1]);
	while (!eof)
		CHECK(pl_source_read(pl, s, fd[0], &eof) >= 0);
	close(fd[0]);
	pl_source_end(pl, s, true);
	CHECK(pl_in_stats(pl, 0)->bytes - bytes0 == n);
	got = fz_drain();
	CHECK(got == fz_records() - rec0);
	return got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t step;

	if (size < 1)
		return 0;
	step = (size_t)data[0] + 1;
	CHECK(one_connection(data + 1, size - 1, 65536) == one_connection(data + 1, size - 1, step));
	return 0;
}
