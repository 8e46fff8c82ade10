/*
 * store/kafka_wire.h - what a Kafka topic written by clewd holds, as code:
 * the contract between clewd's Kafka output (the writer) and tracegrep
 * --kafka (the reader). Both link this, so they cannot drift apart.
 *
 * - Partitioner: clewd's producer is configured with KW_PARTITIONER
 *   (librdkafka's murmur2_random, Java's default partitioner): a keyed
 *   message goes to kw_partition(key) of the topic's partitions. A reader
 *   that knows the key reads that one partition.
 * - Key: the value of one record field, KW_KEY_FIELD (the transaction ID)
 *   unless configured otherwise; a record without it gets the empty key.
 *   So every record of transaction T is in partition kw_partition(T), in
 *   the order clewd read them.
 * - Payload, one record a message, by the output's format:
 *   json     the Logstash event (one JSON line);
 *   msgpack  the record's item of the chunk codec (store/record_codec.h);
 *   raw      the line as read, else the record written again in its own
 *            format (a pipe line, or a JSON object and its continuation
 *            lines).
 *   A reader tells them apart by the first byte (kw_payload_is_msgpack()):
 *   text is parsed as a log line (fmt_parse()), msgpack is unpacked
 *   (kw_payload_unpack()).
 */
#ifndef STORE_KAFKA_WIRE_H
#define STORE_KAFKA_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fmt/record.h"
#include <store/record_codec.h>

/* The librdkafka "partitioner" property clewd sets, and refuses to let a configuration change. */
#define KW_PARTITIONER "murmur2_random"

/* The record field that keys every message unless the output says otherwise. */
#define KW_KEY_FIELD "trace"

/* Payload formats (the Kafka output's format option). */
enum kw_format { KW_JSON = 0, KW_MSGPACK, KW_RAW };

/* kw_format_parse() - "json", "msgpack" or "raw" (NULL: the default, json). Return: 0 or -CD_EINVAL. */
int kw_format_parse(const char *name, enum kw_format *out);

/* kw_format_name() - the option value of @f. */
const char *kw_format_name(enum kw_format f);

/* kw_murmur2() - Kafka's murmur2 hash of @key (as Java's Utils.murmur2 and librdkafka's rd_murmur2). */
uint32_t kw_murmur2(const void *key, size_t len);

/*
 * kw_partition() - the partition, of @npartitions (> 0), of a message keyed
 * @key (@len bytes): murmur2 with the sign bit cleared, modulo the count,
 * as librdkafka's murmur2 partitioners place every keyed message.
 */
int32_t kw_partition(const void *key, size_t len, int32_t npartitions);

/* kw_payload_is_msgpack() - whether payload @p is a msgpack record item (no log line starts so). */
bool kw_payload_is_msgpack(const void *p, size_t len);

/*
 * kw_payload_unpack() - decode msgpack payload @p: exactly one record item.
 * @r and @src view into @p. Return: 0, or -CD_ECORRUPT.
 */
int kw_payload_unpack(const void *p, size_t len, struct fmt_record *r, struct record_src *src);

/* kw_payload_text_len() - the length of text payload @p without its trailing newlines. */
size_t kw_payload_text_len(const char *p, size_t len);

/* What kw_payload_decode() found. */
enum kw_payload_kind {
	KW_PAYLOAD_TEXT = 1,   /* a log line (json, raw): parse *text as a line read from a file */
	KW_PAYLOAD_RECORD = 2, /* a msgpack record item: in @r and @src (src->raw: a line no parser took) */
};

/*
 * kw_payload_decode() - what every reader of a topic clewd wrote does with
 * a message (tracegrep --kafka, clewd's kafka input): payload @p (@len
 * bytes) told apart by its first byte; text -> *text, *text_len: the
 * payload without its trailing newlines; msgpack -> exactly one record
 * item unpacked into @r and @src (views into @p).
 * Return: KW_PAYLOAD_TEXT or KW_PAYLOAD_RECORD; -CD_ENOENT for an empty
 * payload (or newlines only); -CD_ECORRUPT for msgpack that does not decode.
 */
int kw_payload_decode(const void *p, size_t len, const char **text, size_t *text_len, struct fmt_record *r,
		      struct record_src *src);

#endif
