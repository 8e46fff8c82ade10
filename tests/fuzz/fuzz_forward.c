/*
 * fuzz_forward.c - libFuzzer target for the Forward Protocol v1 decoder
 * (collector/input/fwd_decode.c): framing, the four modes, the records
 * rendered as clew JSON lines, the handshake's PING reader, and the forward
 * output's ack reader.
 *
 * DESIGN: the input is a byte stream as a connection delivers it. Every
 * frame fwd_scan() finds must be found at the same length when the bytes
 * come one at a time (resumable at any byte), every frame fwd_decode()
 * takes must give exactly msg.events lines, each valid JSON
 * (fmt_json_validate()) and a JSON log line (fmt_json_parse()), and a
 * refused frame must leave no line behind. Any violation calls abort().
 * No main() here: libFuzzer or regress_main.c provides it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/json.h"
#include "input/fwd_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

static struct fmt_record rec;

static void check_lines(const struct fwd_dec *d, uint64_t events)
{
	size_t pos = 0;
	uint64_t n = 0;

	while (pos < d->lines.len) {
		const char *nl = memchr(d->lines.p + pos, '\n', d->lines.len - pos);
		size_t len;
		CHECK(nl);
		len = (size_t)(nl - d->lines.p) - pos;
		CHECK(fmt_json_validate(d->lines.p + pos, len, NULL) == 0);
		CHECK(fmt_json_parse(d->lines.p + pos, len, &rec, NULL) == 0);
		CHECK(fmt_record_attr(&rec, "tag") || (rec.flags & FMT_F_ATTRS_TRUNCATED));
		pos += len + 1;
		n++;
	}
	CHECK(n == events);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fwd_dec d = {{0}, {0}, {0}};
	size_t off = 0;

	while (off < size) {
		struct fwd_scan sc, sc1;
		struct fwd_msg msg;
		enum fwd_reason why, why1;
		long n, n1 = 0;
		int rc;

		fwd_scan_init(&sc);
		n = fwd_scan(&sc, data + off, size - off, &why);
		/* the same bytes one at a time (a bounded prefix: the whole input would be quadratic) */
		fwd_scan_init(&sc1);
		for (size_t len = 0; len <= size - off && len <= 4096; len++) {
			n1 = fwd_scan(&sc1, data + off, len, &why1);
			if (n1 != 0)
				break;
		}
		if (n1 != 0 || size - off <= 4096) {
			CHECK(n1 == n);
			CHECK(n >= 0 || why1 == why);
		}
		if (n <= 0)
			break;
		CHECK((size_t)n <= size - off);
		rc = fwd_decode(&d, data + off, (size_t)n, &msg, &why);
		CHECK(rc == 0 || rc == -1 || rc == -2);
		if (rc == 0) {
			check_lines(&d, msg.events);
			CHECK(!msg.chunk || (msg.chunk >= (const char *)data + off &&
					     msg.chunk + msg.chunk_len <= (const char *)data + off + n));
		} else {
			CHECK(d.lines.len == 0);
			CHECK(why < FWD_R_N);
		}
		off += (size_t)n;
	}
	{
		const char *id;
		uint32_t idn;
		long m = fwd_ack_parse(data, size, &id, &idn);
		CHECK(m <= (long)size);
		if (m > 0)
			CHECK(id >= (const char *)data && id + idn <= (const char *)data + m);
	}
	{
		struct fwd_ping ping;
		if (fwd_ping_parse(data, size, &ping) == 0)
			CHECK(ping.digest.p >= (const char *)data &&
			      ping.digest.p + ping.digest.n <= (const char *)data + size);
	}
	fwd_dec_release(&d);
	return 0;
}
