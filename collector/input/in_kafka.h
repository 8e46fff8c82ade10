/*
 * input/in_kafka.h - what the kafka input's two files share: in_kafka.c
 * (the plugin: options, the consumer's life, polling, backpressure,
 * metrics) and kafka_consume.c (partitions as sources, the rebalance
 * callback, messages -> lines or records, acknowledged offsets ->
 * commits). See in_kafka.c for the design.
 */
#ifndef CD_IN_KAFKA_H
#define CD_IN_KAFKA_H

#include <stdbool.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "fmt/record.h"
#include "pipeline.h"

/* Why a message gave no record (the decode_failures{reason} of /metrics). */
enum kin_why {
	KIN_EMPTY = 0, /* an empty payload (or newlines only): nothing to keep */
	KIN_MSGPACK,   /* a msgpack payload that does not decode: kept as a raw record */
	KIN_NWHY,
};

/* A message handed on and not yet acknowledged: its end in the source, its offset. */
struct kin_mark {
	uint64_t end;	/* the source's offset after its records */
	int64_t offset; /* its Kafka offset */
};

struct kin_state;

/* One assigned partition: a source of the pipeline. */
struct kin_part {
	struct kin_part *next;	/* the input's list */
	struct kin_state *st;	/* the input */
	char *topic;		/* owned */
	int32_t partition;	/* its number */
	struct pl_source *src;	/* NULL once ended (stop) */
	bool revoked;		/* taken away while ended: ignore its acks */
	int64_t acked;		/* the offset to commit: after the last acknowledged message; -1 none */
	int64_t committed;	/* the last offset committed (or being committed); -1 none */
	struct kin_mark *marks; /* messages in flight, a ring in offset order */
	size_t head, n, cap;	/* ring: first, count, capacity */
};

struct kin_state {
	struct pipeline *pl;		/* the pipeline */
	unsigned idx;			/* input index */
	const struct cd_input_conf *ic; /* the configuration (outlives us) */
	char name[96];			/* in logs: kafka:TOPIC */
	rd_kafka_t *rk;			/* the consumer */
	rd_kafka_queue_t *q;		/* its queue (the main queue forwarded to it) */
	int wake[2];			/* a pipe librdkafka writes when the queue gets an event */
	int timer;			/* a timerfd: polls while paused (tick() is not called) */
	struct kin_part *parts;		/* assigned partitions, and ended ones until close */
	bool paused;			/* the assignment is paused (backpressure) */
	bool stopped;			/* stop(): nothing more is read */
	bool closing;			/* close(): the rebalance callback touches no source */
	struct fmt_record rec;		/* a decoded msgpack record (large: not on the stack) */
	uint64_t messages, bytes;	/* messages handed on, their payload bytes */
	uint64_t commits, commit_fails; /* offset commits answered ok, and failed */
	uint64_t commits_inflight;	/* commits sent, not yet answered */
	int64_t commit_retry_ns;	/* after a failed commit, none before this (monotonic) */
	uint64_t assigns, revokes;	/* rebalances: partitions given, taken away */
	uint64_t errors;		/* consumer errors (brokers down...) */
	uint64_t stale;			/* messages of a partition no longer ours: not handed on */
	uint64_t decode_fail[KIN_NWHY]; /* by reason */
	uint64_t pauses;		/* times the assignment was paused for backpressure */
};

/* --- kafka_consume.c ----------------------------------------------------- */

/* kin_on_rebalance() - librdkafka's rebalance callback (eager or cooperative). */
void kin_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t *parts,
		      void *opaque);

/* kin_message() - hand message @m on to its partition's source (or count why not). */
void kin_message(struct kin_state *st, const rd_kafka_message_t *m);

/*
 * kin_commit() - commit every partition's acknowledged offset not yet
 * committed, asynchronously: the outcome is counted (and a failure
 * logged and tried again with the next commit, not before
 * CD_KAFKA_IN_COMMIT_RETRY_MS) when the queue is polled. @now_ns: the
 * loop's clock; 0 commits whatever the time (close()).
 */
void kin_commit(struct kin_state *st, int64_t now_ns);

/* kin_end_all() - end every partition's source (stop()): their acks still commit. */
void kin_end_all(struct kin_state *st);

/* kin_free_parts() - forget every partition, detaching their sources (close()). */
void kin_free_parts(struct kin_state *st);

/* kin_nparts() - partitions assigned and read now. */
unsigned kin_nparts(const struct kin_state *st);

#endif
