/*
 * output/kafka/out_kafka.c - the Kafka output: every record one message, keyed
 * by a field of the record (its transaction ID by default), through
 * librdkafka's idempotent producer.
 *
 * DESIGN: flush() takes a chunk (OUT_PENDING) into a small table of
 * chunks in flight and produces its records in order, each message
 * carrying its record's place in the chunk as its opaque. Each record is
 * decoded once; its payload is the chunk's own bytes or rendered into the
 * chunk's arena, which lives until the chunk is reported, so librdkafka
 * takes the pointers without copying (no RD_KAFKA_MSG_F_COPY), up to
 * KF_BATCH records per rd_kafka_produce_batch() call. Delivery reports
 * (served by rd_kafka_poll() in poll(), on the loop thread, like every
 * other librdkafka callback: logs go through the main queue too) count
 * per chunk; when every message of a chunk is acknowledged the chunk is
 * (pl_out_done(OK)); when any failed, the rest of it is not produced and
 * the chunk is given back once its last report is in (pl_out_done(RETRY)),
 * to be produced again whole: duplicates are possible, loss is not.
 * A record rejected for good (kf_permanent(): larger than
 * message.max.bytes, invalid, not authorized, no such topic) is no
 * failure of its chunk: that record alone goes to the output's
 * dead-letter files (pl_deadletter()) and counts as accounted for, so
 * the chunk is acknowledged once every other record is delivered and
 * nothing of it is sent again.
 *
 * Producing never blocks the loop: when librdkafka's queue is full
 * (RD_KAFKA_RESP_ERR__QUEUE_FULL), or the bytes produced and not yet
 * acknowledged reach max_inflight, the chunk's cursor stays where it is
 * and poll() goes on from there once reports have come back. Chunks are
 * produced in the order flush() received them, one at a time, so the
 * records of one key keep their order in their partition.
 *
 * The partitioner, the key and the payload formats are the wire contract
 * with tracegrep --kafka (store/kafka_wire.h). The partitioner is fixed
 * (murmur2_random: Java's murmur2 of the key), because tracegrep computes
 * the partition of a transaction ID with it to read only that partition.
 * Payloads: json (the Logstash
 * event of output/lines.c, one line per record), msgpack (the record's
 * item of the chunk, formats/chunk.md), raw (the line as read when the
 * chunk kept it, else the record written again in its own format: a pipe
 * line, or a JSON object followed by its continuation lines).
 *
 * A fatal producer error (the idempotent producer's sequence broken)
 * makes poll() purge everything in flight, give those chunks back, and
 * start a new producer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "output/kafka/out_kafka_impl.h"
#include "util/metrics.h"
#include "util/util.h"
#include "util/banned.h"

/* --- options ----------------------------------------------------------- */

static const struct cd_opt_spec kafka_opts[] = {
	{"address", CD_OPT_STRING, NULL, "HOST:PORT[,...]: the bootstrap brokers (the URI's hosts)", NULL, 0,
	 0},
	{"brokers", CD_OPT_STRING, NULL, "HOST:PORT[,...]: the bootstrap brokers", NULL, 0, 0},
	{"path", CD_OPT_STRING, NULL, "the topic (the URI's path)", NULL, 0, 0},
	{"topic", CD_OPT_STRING, NULL, "the topic, or a template: logs-${service}", NULL, 0, 0},
	{"key", CD_OPT_STRING, "trace", "the field whose value is the message key (empty: none)", NULL, 0, 0},
	{"format", CD_OPT_ENUM, "json", "the payload", "json|msgpack|raw", 0, 0},
	{"compression", CD_OPT_ENUM, "zstd", "the producer's codec", "none|gzip|snappy|lz4|zstd", 0, 0},
	{"timestamp", CD_OPT_ENUM, "produce", "the messages' timestamp", "produce|record", 0, 0},
	{"max_inflight", CD_OPT_SIZE, "64M", "bytes produced and not yet acknowledged, at most", NULL, 0, 0},
	{"user", CD_OPT_STRING, NULL, "sasl.username", NULL, 0, 0},
	{"password", CD_OPT_STRING, NULL, "sasl.password", NULL, 0, CD_OPT_SECRET},
	{"properties.", CD_OPT_PREFIX, NULL, "any librdkafka producer property", NULL, 0, 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

static int kafka_check(const struct cd_output_conf *oc, struct cd_err *err)
{
	struct kf_settings s;
	rd_kafka_conf_t *conf;
	bool templated;
	int rc;

	if ((rc = kf_parse_settings(oc, &s, &templated, err)) < 0)
		return rc;
	if ((rc = kf_build_conf(oc, &s, &conf, err)) < 0)
		return rc;
	rd_kafka_conf_destroy(conf);
	return 0;
}

/* --- the plugin ------------------------------------------------------------ */

static int kafka_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_output_conf *oc,
		      struct cd_err *err)
{
	struct out_kafka_state *k = calloc(1, sizeof(*k));
	int rc;

	if (!k)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	k->pl = pl;
	k->idx = idx;
	k->oc = oc;
	k->cur = -1;
	if ((rc = kf_parse_settings(oc, &k->set, &k->templated, err)) < 0)
		goto err_free;
	if ((rc = kf_producer_start(k, err)) < 0)
		goto err_free;
	*state = k;
	return 0;

err_free:
	free(k);
	return rc;
}

static enum out_result kafka_flush(void *state, const struct chunk *c, struct cd_err *err)
{
	struct out_kafka_state *k = state;
	struct kf_chunk *s = NULL;

	if (chunk_nrecords(c) == 0)
		return OUT_OK;
	if (!k->rk && kf_producer_start(k, err) < 0)
		return OUT_RETRY;
	for (unsigned i = 0; i < CD_KAFKA_CHUNKS_MAX && !s; i++)
		if (!k->slots[i].used)
			s = &k->slots[i];
	if (!s) {
		cd_err_set(err, -CD_EFULL, 0, "kafka: too many chunks in flight");
		return OUT_RETRY;
	}
	memset(s, 0, sizeof(*s));
	s->used = true;
	s->c = c;
	s->seq = chunk_seq(c);
	s->arrival = k->next_arrival++;
	s->total = chunk_nrecords(c);
	kf_pump(k);
	/* reported only from poll(): the pipeline knows the chunk is pending once we return */
	if (s->stop && s->produced == 0) {
		enum out_result r = s->fatal ? OUT_FAIL : OUT_RETRY;

		cd_err_set(err, -CD_EIO, 0, "%s", s->why);
		kf_slot_free(k, s);
		return r;
	}
	return OUT_PENDING;
}

static void kafka_poll(void *state, int64_t now_ns)
{
	struct out_kafka_state *k = state;
	struct cd_err err = {0, 0, ""};

	(void)now_ns;
	if (k->rk)
		rd_kafka_poll(k->rk, 0);
	if (k->fatal || !k->rk) {
		kf_producer_stop(k, 0);
		kf_report(k);
		if (kf_producer_start(k, &err) < 0)
			cd_log(FMT_LEVEL_ERROR, "kafka: cannot restart the producer", "output", k->oc->name,
			       "error", err.msg, NULL);
		return;
	}
	kf_pump(k);
	kf_report(k);
}

static void kafka_metrics(void *state, struct metrics *m, const char *label)
{
	const struct out_kafka_state *k = state;

	metrics_add(m, "clewd_output_kafka_messages_total", METRICS_COUNTER,
		    "Messages the Kafka brokers acknowledged.", label, (double)k->messages);
	metrics_add(m, "clewd_output_kafka_bytes_total", METRICS_COUNTER,
		    "Payload bytes of the acknowledged messages.", label, (double)k->bytes);
	metrics_add(m, "clewd_output_kafka_delivery_errors_total", METRICS_COUNTER,
		    "Messages that could not be produced or delivered (their chunk is produced again).",
		    label, (double)k->errors);
	metrics_add(m, "clewd_output_kafka_rejected_total", METRICS_COUNTER,
		    "Messages rejected for good (too large, invalid, not authorized): dead-lettered.", label,
		    (double)k->rejected);
	metrics_add(m, "clewd_output_kafka_inflight_messages", METRICS_GAUGE,
		    "Messages handed to librdkafka, not yet acknowledged.", label, (double)k->inflight_msgs);
	metrics_add(m, "clewd_output_kafka_inflight_bytes", METRICS_GAUGE,
		    "Bytes (payloads and keys) handed to librdkafka, not yet acknowledged.", label,
		    (double)k->inflight_bytes);
}

static void kafka_close(void *state)
{
	struct out_kafka_state *k = state;

	if (!k)
		return;
	k->closing = true;
	kf_producer_stop(k, CD_KAFKA_CLOSE_MS);
	for (unsigned i = 0; i < CD_KAFKA_CHUNKS_MAX; i++)
		kf_arena_free(k, &k->slots[i]);
	kf_blocks_release(k);
	free(k->buf);
	free(k);
}

static const struct out_plugin out_kafka = {
	.check = kafka_check,
	.open = kafka_open,
	.flush = kafka_flush,
	.poll = kafka_poll,
	.metrics = kafka_metrics,
	.close = kafka_close,
};

const struct cd_plugin_desc out_kafka_desc = {
	.name = "kafka",
	.scheme = "kafka",
	.usage = "kafka://HOST:PORT[,...]/TOPIC[?KEY=VALUE&...]",
	.summary = "a Kafka topic, a message per record keyed by its trace",
	.opts = kafka_opts,
	.flags = CD_PLUGIN_URI_OPTS,
	.out = &out_kafka,
};
