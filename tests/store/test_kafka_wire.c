/*
 * test_kafka_wire.c - the Kafka wire contract (store/src/kafka_wire.c):
 * the partition of a key is librdkafka's, payload formats parse and name
 * back, payloads decode back to the records packed into them.
 */
#include <check.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <store/err.h>
#include <store/kafka_wire.h>

#include "fmt/detect.h"
#include "fmt/str.h"

/* Java's Utils.murmur2 of these keys (the vectors librdkafka checks its rd_murmur2 against). */
START_TEST(murmur2_java_vectors)
{
	static const struct {
		const char *key;
		uint32_t hash;
	} v[] = {
		{"kafka", 0xd067cf64},
		{"giberish123456789", 0x8f552b0c},
		{"1234", 0x9fc97b14},
		{"234", 0xe7c009ca},
		{"34", 0x873930da},
		{"4", 0x5a4b5ca1},
		{"PreAmbleWillBeRemoved,ThePrePartThatIs", 0x78424f1c},
		{"", 0x106e08d9},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		ck_assert_msg(kw_murmur2(v[i].key, strlen(v[i].key)) == v[i].hash,
			      "murmur2(\"%s\") = %08x, want %08x", v[i].key,
			      kw_murmur2(v[i].key, strlen(v[i].key)), v[i].hash);
}
END_TEST

/* The partition clewd's producer picks (librdkafka, partitioner murmur2_random) for keyed messages. */
START_TEST(partition_is_librdkafkas)
{
	char key[64];
	unsigned seed = 12345;

	for (int i = 0; i < 20000; i++) {
		size_t len = (size_t)(rand_r(&seed) % (int)sizeof(key));
		int32_t n = 1 + rand_r(&seed) % 97;

		for (size_t j = 0; j < len; j++)
			key[j] = (char)rand_r(&seed);
		ck_assert_int_eq(kw_partition(key, len, n),
				 rd_kafka_msg_partitioner_murmur2_random(NULL, key, len, n, NULL, NULL));
		ck_assert_int_eq(kw_partition(key, len, n),
				 rd_kafka_msg_partitioner_murmur2(NULL, key, len, n, NULL, NULL));
	}
	/* a transaction ID as tracegrep is given it */
	ck_assert_int_eq(kw_partition("4bf92f3577b34da6a3ce929d0e0e4736", 32, 12),
			 rd_kafka_msg_partitioner_murmur2(NULL, "4bf92f3577b34da6a3ce929d0e0e4736", 32, 12,
							  NULL, NULL));
}
END_TEST

/* The partitioner clewd configures is one librdkafka knows by that name. */
START_TEST(partitioner_name_is_librdkafkas)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[256];

	ck_assert_int_eq(rd_kafka_conf_set(conf, "partitioner", KW_PARTITIONER, errstr, sizeof(errstr)),
			 RD_KAFKA_CONF_OK);
	rd_kafka_conf_destroy(conf);
	ck_assert_str_eq(KW_KEY_FIELD, "trace");
}
END_TEST

START_TEST(formats)
{
	enum kw_format f = KW_RAW;

	ck_assert_int_eq(kw_format_parse(NULL, &f), 0);
	ck_assert_int_eq(f, KW_JSON);
	for (int i = KW_JSON; i <= KW_RAW; i++) {
		ck_assert_int_eq(kw_format_parse(kw_format_name((enum kw_format)i), &f), 0);
		ck_assert_int_eq(f, i);
	}
	ck_assert_str_eq(kw_format_name(KW_MSGPACK), "msgpack");
	ck_assert_int_eq(kw_format_parse("JSON", &f), -CD_EINVAL);
	ck_assert_int_eq(kw_format_parse("", &f), -CD_EINVAL);
	ck_assert_int_eq(kw_format_parse("avro", &f), -CD_EINVAL);
}
END_TEST

static struct fmt_record rec, back;

/* A msgpack payload is one record item: it decodes back to the record packed. */
START_TEST(msgpack_payload_roundtrip)
{
	static const char line[] =
		"2026-11-23T07:09:24.123456Z INFO 4bf92f3577b34da6a3ce929d0e0e4736:b:c|checkout|GET|"
		"/cart|n=12|b=true|msg=paid";
	struct record_src src = {0}, src_back;
	uint8_t buf[4096];
	size_t len;

	ck_assert_int_eq(fmt_parse(line, sizeof(line) - 1, &rec, NULL), 0);
	src.line = fmt_str_n(line, sizeof(line) - 1);
	ck_assert_int_eq(record_pack(&rec, &src, buf, sizeof(buf), &len, NULL), 0);
	ck_assert(kw_payload_is_msgpack(buf, len));
	ck_assert_int_eq(kw_payload_unpack(buf, len, &back, &src_back), 0);
	ck_assert_int_eq(back.trace.len, 32);
	ck_assert_int_eq(back.trace.len, rec.trace.len);
	ck_assert(memcmp(back.trace.ptr, rec.trace.ptr, rec.trace.len) == 0);
	ck_assert_int_eq(back.nattrs, rec.nattrs);
	ck_assert_int_eq(src_back.line.len, sizeof(line) - 1);
	/* one item exactly: a trailing byte or a cut item is not a payload */
	buf[len] = 0xc0;
	ck_assert_int_eq(kw_payload_unpack(buf, len + 1, &back, &src_back), -CD_ECORRUPT);
	ck_assert_int_eq(kw_payload_unpack(buf, len - 1, &back, &src_back), -CD_ECORRUPT);
}
END_TEST

/* Text payloads (json, raw) are never taken for msgpack; their trailing newlines are not part of the line. */
START_TEST(text_payloads)
{
	static const char json[] = "{\"trace\":\"abc\",\"message\":\"hi\"}\n\n";
	static const char pipe[] = "2026-11-23T07:09:24.123456Z INFO abc|svc|GET|/p|msg=hi";

	ck_assert(!kw_payload_is_msgpack(json, sizeof(json) - 1));
	ck_assert(!kw_payload_is_msgpack(pipe, sizeof(pipe) - 1));
	ck_assert(!kw_payload_is_msgpack("", 0));
	ck_assert_uint_eq(kw_payload_text_len(json, sizeof(json) - 1), sizeof(json) - 3);
	ck_assert_uint_eq(kw_payload_text_len(pipe, sizeof(pipe) - 1), sizeof(pipe) - 1);
	ck_assert_uint_eq(kw_payload_text_len("\n", 1), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kafka_wire");
	TCase *tc = tcase_create("contract");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, murmur2_java_vectors);
	tcase_add_test(tc, partition_is_librdkafkas);
	tcase_add_test(tc, partitioner_name_is_librdkafkas);
	tcase_add_test(tc, formats);
	tcase_add_test(tc, msgpack_payload_roundtrip);
	tcase_add_test(tc, text_payloads);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
