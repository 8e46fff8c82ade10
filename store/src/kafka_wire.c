/*
 * store/src/kafka_wire.c - the Kafka wire contract of clewd and tracegrep
 * (see store/kafka_wire.h): partitioner, key, payload formats.
 *
 * DESIGN: murmur2 is written here rather than borrowed from librdkafka so
 * the contract is checked on its own (tests/store compares it with
 * librdkafka's partitioner) and the store library needs no librdkafka.
 */
#include <string.h>

#include <store/err.h>
#include <store/kafka_wire.h>

static const char *const format_names[] = {[KW_JSON] = "json", [KW_MSGPACK] = "msgpack", [KW_RAW] = "raw"};

int kw_format_parse(const char *name, enum kw_format *out)
{
	if (!name) {
		*out = KW_JSON;
		return 0;
	}
	for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++)
		if (strcmp(name, format_names[i]) == 0) {
			*out = (enum kw_format)i;
			return 0;
		}
	return -CD_EINVAL;
}

const char *kw_format_name(enum kw_format f)
{
	return (size_t)f < sizeof(format_names) / sizeof(format_names[0]) ? format_names[f] : "?";
}

uint32_t kw_murmur2(const void *key, size_t len)
{
	const uint32_t seed = 0x9747b28c, m = 0x5bd1e995;
	const uint8_t *p = key;
	uint32_t h = seed ^ (uint32_t)len;
	size_t n = len;

	for (; n >= 4; n -= 4, p += 4) {
		uint32_t k =
			(uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;

		k *= m;
		k ^= k >> 24;
		k *= m;
		h *= m;
		h ^= k;
	}
	switch (n) {
	case 3:
		h ^= (uint32_t)p[2] << 16;
		/* fall through */
	case 2:
		h ^= (uint32_t)p[1] << 8;
		/* fall through */
	case 1:
		h ^= p[0];
		h *= m;
	}
	h ^= h >> 13;
	h *= m;
	h ^= h >> 15;
	return h;
}

int32_t kw_partition(const void *key, size_t len, int32_t npartitions)
{
	return (int32_t)((kw_murmur2(key, len) & 0x7fffffff) % (uint32_t)npartitions);
}

bool kw_payload_is_msgpack(const void *p, size_t len)
{
	const uint8_t *b = p;

	/* fixarray, array 16, array 32: the codec's item; text never starts with these bytes */
	return len > 0 && ((b[0] >= 0x90 && b[0] <= 0x9f) || b[0] == 0xdc || b[0] == 0xdd);
}

int kw_payload_unpack(const void *p, size_t len, struct fmt_record *r, struct record_src *src)
{
	size_t used;

	if (record_unpack(p, len, &used, r, src) != 0 || used != len)
		return -CD_ECORRUPT;
	return 0;
}

size_t kw_payload_text_len(const char *p, size_t len)
{
	while (len > 0 && p[len - 1] == '\n')
		len--;
	return len;
}

int kw_payload_decode(const void *p, size_t len, const char **text, size_t *text_len, struct fmt_record *r,
		      struct record_src *src)
{
	if (!p || len == 0)
		return -CD_ENOENT;
	if (kw_payload_is_msgpack(p, len))
		return kw_payload_unpack(p, len, r, src) < 0 ? -CD_ECORRUPT : KW_PAYLOAD_RECORD;
	*text = p;
	*text_len = kw_payload_text_len(p, len);
	return *text_len ? KW_PAYLOAD_TEXT : -CD_ENOENT;
}
