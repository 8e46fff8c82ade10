/*
 * output/kafka/out_kafka_impl.h - what the Kafka output's files share:
 * its state and the steps each file takes (see out_kafka.c for the
 * design). out_kafka.c is the plugin (vtable, descriptor, option table),
 * kafka_conf.c its options -> settings and librdkafka configuration,
 * kafka_payload.c a record -> its message (key, topic, payload),
 * kafka_produce.c producing and the delivery reports.
 */
#ifndef CD_OUT_KAFKA_IMPL_H
#define CD_OUT_KAFKA_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include <store/kafka_wire.h>

#include "fmt/str.h"
#include "output/kafka/kafka_client.h"
#include "output/lines.h"
#include "pipeline.h"

/* What a templated topic gets for a field the record does not have. */
#define KF_TOPIC_NONE "none"

/*
 * Records rendered ahead and handed to librdkafka in one
 * rd_kafka_produce_batch() call: enough to spread its per-call cost (the
 * clock, the topic lock, the checks) thin, small beside a chunk.
 */
#define KF_BATCH 256u

/*
 * Bytes of a block of a chunk's arena (payloads rendered for librdkafka,
 * which points at them until their reports): a few per chunk, larger
 * than any common record; a larger record gets a block of its own.
 */
#define KF_BLOCK (256u * 1024)

/* Free blocks kept for the next chunks: the arenas of about two chunks in flight (not given back to malloc). */
#define KF_BLOCKS_KEPT 24u

/* A block of a chunk's arena: filled front to back, never moved while the chunk is in flight. */
struct kf_block {
	struct kf_block *next; /* the chunk's older block, or the next free one */
	size_t len;	       /* bytes used */
	size_t cap;	       /* bytes at data */
	char data[];
};

/* The output's settings, from its options (strings borrowed from the configuration). */
struct kf_settings {
	const char *brokers;   /* bootstrap list: address (URI) or brokers (YAML) */
	const char *topic;     /* topic name, or template with ${FIELD} */
	const char *key;       /* field giving the message key; "" = no key */
	const char *codec;     /* compression.codec */
	enum kw_format format; /* payload */
	bool record_ts;	       /* message timestamp = the record's time (else: produce time) */
	uint64_t max_inflight; /* bound on unacknowledged bytes */
};

/* One chunk taken with OUT_PENDING. */
struct kf_chunk {
	const struct chunk *c;	/* valid until reported (pipeline.h) */
	uint64_t seq;		/* its sequence number: the messages' opaque */
	uint64_t arrival;	/* order flush() took it in: production order */
	uint32_t total;		/* records, so messages to produce */
	uint32_t taken;		/* read from the chunk: in the batch, handed over or given up */
	uint32_t produced;	/* handed to librdkafka */
	uint32_t delivered;	/* acknowledged by the brokers */
	uint32_t failed;	/* reported failed */
	uint32_t skipped;	/* rejected for good when produced (never handed over): dead-lettered */
	uint32_t dead;		/* reported rejected for good: dead-lettered */
	struct kf_block *arena; /* its rendered payloads, newest block first: freed when it is reported */
	bool used;		/* slot taken */
	bool stop;		/* a failure: produce no more of it, give it back */
	bool fatal;		/* the chunk itself is broken (does not decode): OUT_FAIL */
	char why[200];		/* the first failure */
};

/* A topic handle, for the fixed topic or one rendering of the template. */
struct kf_topic {
	char *name;	       /* owned */
	rd_kafka_topic_t *rkt; /* librdkafka's handle */
};

struct out_kafka_state {
	struct pipeline *pl;			     /* for pl_out_done() */
	unsigned idx;				     /* our output index */
	const struct cd_output_conf *oc;	     /* our configuration (outlives us) */
	struct kf_settings set;			     /* parsed options */
	bool templated;				     /* topic has ${FIELD} */
	rd_kafka_t *rk;				     /* the producer */
	struct kf_topic topics[CD_KAFKA_TOPICS_MAX]; /* open topic handles */
	unsigned ntopics;			     /* used */
	struct kf_chunk slots[CD_KAFKA_CHUNKS_MAX];  /* chunks in flight */
	uint64_t next_arrival;			     /* arrival number of the next chunk */
	int cur;				     /* slot being produced, -1 for none */
	unsigned dr_slot;			     /* slot of the last delivery report */
	struct chunk_iter it;			     /* its next record */
	rd_kafka_message_t batch[KF_BATCH];	     /* its records rendered, not yet handed over */
	int64_t batch_ts[KF_BATCH];		     /* their timestamps (ms) when timestamp: record */
	unsigned nbatch, batch_off;		     /* in the batch; the first not handed over */
	uint64_t batch_bytes;			     /* their payload and key bytes */
	rd_kafka_topic_t *batch_rkt;		     /* their topic (one per batch) */
	rd_kafka_topic_t *fixed_rkt;		     /* the handle of a fixed topic */
	struct kf_block *free_blocks;		     /* blocks kept for the next arenas */
	unsigned nfree;				     /* how many */
	struct fmt_record rec;			     /* decoded record (large: not on the stack) */
	struct fmt_record again;		     /* raw: the record without its continuation */
	struct fmt_record dl_rec;		     /* a rejected record, decoded for pl_deadletter() */
	char *buf;				     /* scratch: a raw payload */
	size_t cap;				     /* bytes at buf */
	char topic_buf[CD_KAFKA_TOPIC_LEN_MAX + 1];  /* a rendered topic name */
	uint64_t inflight_msgs, inflight_bytes;	     /* produced, not yet reported */
	uint64_t messages, bytes, errors; /* acknowledged messages, their payload bytes, failures */
	uint64_t rejected;		  /* messages rejected for good (dead-lettered) */
	bool fatal;			  /* the producer reported a fatal error */
	bool closing;			  /* close(): report nothing to the pipeline */
	bool down;			  /* every broker down (error_cb), until a message is delivered */
};

/* --- kafka_conf.c: options -> settings, librdkafka's configuration ------ */

/* kf_parse_settings() - @oc's options into @s (strings borrowed); *@templated: the topic has ${FIELD}. */
int kf_parse_settings(const struct cd_output_conf *oc, struct kf_settings *s, bool *templated,
		      struct cd_err *err);

/* kf_build_conf() - librdkafka's configuration for @s and @oc's properties.*, into *@out. */
int kf_build_conf(const struct cd_output_conf *oc, const struct kf_settings *s, rd_kafka_conf_t **out,
		  struct cd_err *err);

/* --- kafka_payload.c: a record -> its message ----------------------------- */

/* kf_field() - the view of field @name (@n bytes) of @r: a fixed field or an attribute. Absent: ptr NULL. */
struct fmt_str kf_field(const struct fmt_record *r, const char *name, size_t n);

/* kf_render_topic() - the topic template rendered for @r, into k->topic_buf. */
const char *kf_render_topic(struct out_kafka_state *k, const struct fmt_record *r);

/* kf_topic_get() - the handle of topic @name, opened on first use; kf_topics_release() closes them all. */
rd_kafka_topic_t *kf_topic_get(struct out_kafka_state *k, const char *name);
void kf_topics_release(struct out_kafka_state *k);

/* kf_raw_payload() - the raw payload of @r (the line as read, else the record written again). */
int kf_raw_payload(struct out_kafka_state *k, const struct fmt_record *r, const struct record_src *src,
		   const char **out, size_t *len);

/*
 * kf_arena_room() - a place for @need bytes at the end of @s's arena (a
 * new block when its newest one is short), NULL when out of memory;
 * kf_arena_add() keeps @n bytes written there. kf_arena_free() gives every
 * block of @s back (some kept for the next chunks), kf_blocks_release() frees the kept ones.
 */
char *kf_arena_room(struct out_kafka_state *k, struct kf_chunk *s, size_t need, size_t *room);
void kf_arena_add(struct kf_chunk *s, size_t n);
void kf_arena_free(struct out_kafka_state *k, struct kf_chunk *s);
void kf_blocks_release(struct out_kafka_state *k);

/* kf_render() - the json payload of @r (@src its source) into @s's arena. Return: 0 with *@out, *@len; -CD_ENOMEM; -CD_ECORRUPT. */
int kf_render(struct out_kafka_state *k, struct kf_chunk *s, struct fmt_record *r,
	      const struct record_src *src, const char **out, size_t *len);

/* --- kafka_produce.c: producing, delivery reports ------------------------- */

/* kf_permanent() - the reason token of a produce error sending again cannot cure, NULL for a transient one. */
const char *kf_permanent(rd_kafka_resp_err_t e);

/* kf_pump() - produce what can be produced now, chunk after chunk, in the order taken. */
void kf_pump(struct out_kafka_state *k);

/* kf_report() - report to the pipeline every chunk whose messages are all accounted for. */
void kf_report(struct out_kafka_state *k);

/* kf_slot_free() - slot @s reported or given up: its arena freed, the batch dropped if it is the current one. */
void kf_slot_free(struct out_kafka_state *k, struct kf_chunk *s);

/* kf_producer_start() - a new producer with our callbacks. kf_producer_stop() - give up what is in flight, destroy it. */
int kf_producer_start(struct out_kafka_state *k, struct cd_err *err);
void kf_producer_stop(struct out_kafka_state *k, int wait_ms);

#endif
