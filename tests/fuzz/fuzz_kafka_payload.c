/*
 * fuzz_kafka_payload.c - libFuzzer target for kw_payload_decode(): a Kafka
 * message's payload as clewd's kafka input and tracegrep --kafka decode
 * it (store/kafka_wire.h), from a topic anyone may write to, so untrusted.
 *
 * DESIGN: every input is decoded once. Text must come back as a prefix of
 * the input without trailing newlines; a record's every view must lie
 * inside the input, and its counts and enums in range; anything else must
 * be refused with -CD_ENOENT (empty) or -CD_ECORRUPT (msgpack that does
 * not decode). Any violation calls abort(), which libFuzzer or
 * regress_main.c (replaying tests/fuzz/corpus/kafka_payload in every
 * build) reports. No main() here.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <store/err.h>
#include <store/kafka_wire.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

static struct fmt_record rec;

static void check_view(const struct fmt_str *s, const uint8_t *base, size_t len)
{
	if (!s->ptr)
		return;
	CHECK((const uint8_t *)s->ptr >= base && (const uint8_t *)s->ptr + s->len <= base + len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct record_src src;
	const char *text = NULL;
	size_t tlen = 0;
	/* a copy of exactly @size bytes: a read past the end is caught by the sanitizer */
	uint8_t *p = malloc(size ? size : 1);
	int kind;

	CHECK(p);
	memcpy(p, data, size);
	kind = kw_payload_decode(p, size, &text, &tlen, &rec, &src);
	if (kind == KW_PAYLOAD_TEXT) {
		CHECK(text == (const char *)p && tlen > 0 && tlen <= size);
		for (size_t i = tlen; i < size; i++)
			CHECK(p[i] == '\n');
	} else if (kind == KW_PAYLOAD_RECORD) {
		const struct fmt_str *views[] = {&rec.ts_text, &rec.trace,   &rec.span,
						 &rec.parent,  &rec.service, &rec.message,
						 &src.input,   &src.line,    &src.error};

		CHECK(rec.nids <= FMT_IDS_MAX && rec.nattrs <= FMT_ATTRS_MAX);
		for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
			check_view(views[i], p, size);
		for (uint16_t i = 0; i < rec.nattrs; i++) {
			check_view(&rec.attrs[i].key, p, size);
			check_view(&rec.attrs[i].val, p, size);
		}
	} else {
		CHECK(kind == -CD_ENOENT || kind == -CD_ECORRUPT);
	}
	free(p);
	return 0;
}
