/*
 * input/kafka_consume.c - the kafka input's partitions: each assigned
 * partition a source of the pipeline, its messages handed on in offset
 * order, and its offsets committed once every output has acknowledged
 * the records before them (see in_kafka.c for the design).
 *
 * DESIGN: a partition's source has no checkpoint entry: Kafka keeps its
 * position (the group's committed offset). Each message handed on leaves
 * a mark (the source's offset after its records, its Kafka offset) in a
 * ring; when the pipeline says the source is acknowledged up to a byte
 * offset (pl_source_on_acked()), the marks up to it leave the ring and
 * the offset after the last of them becomes the partition's offset to
 * commit. A revoked partition is abandoned: what it had in flight is
 * still delivered but never committed here, so whoever gets the
 * partition reads it again (at least once, duplicates possible).
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <store/err.h>
#include <store/kafka_wire.h>

#include "fmt/str.h"
#include "input/in_kafka.h"
#include "util/util.h"
#include "util/banned.h"

static struct kin_part *find_part(struct kin_state *st, const char *topic, int32_t partition)
{
	for (struct kin_part *p = st->parts; p; p = p->next)
		if (!p->revoked && p->partition == partition && strcmp(p->topic, topic) == 0)
			return p;
	return NULL;
}

static void free_part(struct kin_state *st, struct kin_part *p)
{
	struct kin_part **pp;

	for (pp = &st->parts; *pp && *pp != p; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = p->next;
	free(p->marks);
	free(p->topic);
	free(p);
}

/* The pipeline has every record of @arg's source up to @off: what may be committed. */
static void on_acked(void *arg, uint64_t off)
{
	struct kin_part *p = arg;

	if (p->revoked)
		return;
	while (p->n && p->marks[p->head].end <= off) {
		p->acked = p->marks[p->head].offset + 1;
		p->head = (p->head + 1) % p->cap;
		p->n--;
	}
}

static int push_mark(struct kin_part *p, uint64_t end, int64_t offset)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		struct kin_mark *m = malloc(cap * sizeof(*m));

		if (!m)
			return -CD_ENOMEM;
		for (size_t i = 0; i < p->n; i++)
			m[i] = p->marks[(p->head + i) % p->cap];
		free(p->marks);
		p->marks = m;
		p->cap = cap;
		p->head = 0;
	}
	p->marks[(p->head + p->n) % p->cap] = (struct kin_mark){.end = end, .offset = offset};
	p->n++;
	return 0;
}

static struct kin_part *add_part(struct kin_state *st, const char *topic, int32_t partition)
{
	struct kin_part *p = calloc(1, sizeof(*p));
	char display[CD_INPUT_NAME_MAX];

	if (!p || !(p->topic = cd_strdup(topic)))
		goto err_free;
	snprintf(display, sizeof(display), "kafka:%s:%d", topic, (int)partition);
	p->src = pl_source_new(st->pl, st->idx, display, NULL, 0, 0, 0);
	if (!p->src)
		goto err_free;
	p->st = st;
	p->partition = partition;
	p->acked = p->committed = -1;
	pl_source_on_acked(p->src, on_acked, p);
	p->next = st->parts;
	st->parts = p;
	return p;

err_free:
	if (p)
		free(p->topic);
	free(p);
	return NULL;
}

/* @p is no longer ours: stop feeding it; what is acknowledged was committed by the caller. */
static void revoke_part(struct kin_state *st, struct kin_part *p)
{
	if (!p->src) {
		/* ended by stop(): its source may still call on_acked(); freed at close */
		p->revoked = true;
		return;
	}
	pl_source_on_acked(p->src, NULL, NULL);
	if (!st->closing)
		pl_source_abandon(st->pl, p->src);
	p->src = NULL;
	free_part(st, p);
}

/* Add @p's offset to commit to @l when it moved since the last commit. */
static void add_commit(rd_kafka_topic_partition_list_t *l, struct kin_part *p)
{
	if (p->revoked || p->acked < 0 || p->acked <= p->committed)
		return;
	rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = p->acked;
	p->committed = p->acked;
}

/* The outcome of a commit: counted; a failed partition is committed again with the next one. */
static void on_commit(rd_kafka_t *rk, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t *l, void *opaque)
{
	struct kin_state *st = opaque;
	bool failed = e != RD_KAFKA_RESP_ERR_NO_ERROR;

	(void)rk;
	if (st->commits_inflight)
		st->commits_inflight--;
	if (e == RD_KAFKA_RESP_ERR__NO_OFFSET)
		return; /* nothing to commit */
	for (int i = 0; l && i < l->cnt; i++) {
		struct kin_part *p;

		if (!l->elems[i].err && !failed)
			continue;
		failed = true;
		p = find_part(st, l->elems[i].topic, l->elems[i].partition);
		if (p && p->committed == l->elems[i].offset)
			p->committed = -1;
		if (!e)
			e = l->elems[i].err;
	}
	if (!failed) {
		st->commits++;
		return;
	}
	/* tried again with the next commit, not before a pause: a coordinator away must not flood */
	st->commit_retry_ns = cd_mono_ns() + (int64_t)CD_KAFKA_IN_COMMIT_RETRY_MS * 1000000;
	st->commit_fails++;
	if (st->commit_fails & (st->commit_fails - 1))
		return; /* logged at 1, 2, 4, 8... failures */
	cd_log(FMT_LEVEL_WARN, "kafka: offset commit failed (read again after a restart or rebalance)",
	       "input", st->name, "error", rd_kafka_err2str(e), NULL);
}

/* Commit @l asynchronously: on_commit() is served when our queue is polled. */
static void commit_list(struct kin_state *st, rd_kafka_topic_partition_list_t *l)
{
	rd_kafka_resp_err_t e;

	if (l->cnt == 0)
		return;
	st->commits_inflight++; /* on_commit() takes it back, also for a commit refused at once */
	e = rd_kafka_commit_queue(st->rk, l, st->q, on_commit, st);
	if (e)
		on_commit(st->rk, e, l, st); /* refused at once: counted, logged, tried again */
}

void kin_commit(struct kin_state *st, int64_t now_ns)
{
	rd_kafka_topic_partition_list_t *l;

	if (now_ns && now_ns < st->commit_retry_ns)
		return;
	l = rd_kafka_topic_partition_list_new(4);
	if (!l)
		return;
	for (struct kin_part *p = st->parts; p; p = p->next)
		add_commit(l, p);
	commit_list(st, l);
	rd_kafka_topic_partition_list_destroy(l);
}

/* Partitions taken away: commit what is acknowledged, abandon the rest. */
static void revoke(struct kin_state *st, const rd_kafka_topic_partition_list_t *parts)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts->cnt ? parts->cnt : 1);

	for (int i = 0; i < parts->cnt; i++) {
		struct kin_part *p = find_part(st, parts->elems[i].topic, parts->elems[i].partition);

		if (!p)
			continue;
		if (l)
			add_commit(l, p);
		revoke_part(st, p);
		st->revokes++;
	}
	if (l) {
		commit_list(st, l);
		rd_kafka_topic_partition_list_destroy(l);
	}
}

static void assign(struct kin_state *st, const rd_kafka_topic_partition_list_t *parts)
{
	for (int i = 0; i < parts->cnt; i++) {
		const char *t = parts->elems[i].topic;
		int32_t n = parts->elems[i].partition;

		if (st->stopped || st->closing || find_part(st, t, n))
			continue;
		/* out of memory: logged by pl_source_new(); its messages are counted as stale, not lost */
		if (add_part(st, t, n))
			st->assigns++;
	}
}

void kin_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t *parts,
		      void *opaque)
{
	struct kin_state *st = opaque;
	const bool coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
	rd_kafka_error_t *ke = NULL;
	rd_kafka_resp_err_t ae = RD_KAFKA_RESP_ERR_NO_ERROR;

	if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		assign(st, parts);
		if (coop)
			ke = rd_kafka_incremental_assign(rk, parts);
		else
			ae = rd_kafka_assign(rk, parts);
		if (st->paused)
			rd_kafka_pause_partitions(rk, parts); /* held back: the new ones wait too */
	} else {
		if (e != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
			cd_log(FMT_LEVEL_WARN, "kafka: rebalance failed: partitions given up", "input",
			       st->name, "error", rd_kafka_err2str(e), NULL);
		revoke(st, parts);
		if (coop)
			ke = rd_kafka_incremental_unassign(rk, parts);
		else
			ae = rd_kafka_assign(rk, NULL);
	}
	if (ke) {
		cd_log(FMT_LEVEL_ERROR, "kafka: cannot take the assignment", "input", st->name, "error",
		       rd_kafka_error_string(ke), NULL);
		rd_kafka_error_destroy(ke);
	} else if (ae) {
		cd_log(FMT_LEVEL_ERROR, "kafka: cannot take the assignment", "input", st->name, "error",
		       rd_kafka_err2str(ae), NULL);
	}
	cd_logf(FMT_LEVEL_INFO, "kafka: %s: %s %d partitions, %u read now", st->name,
		e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? "assigned" : "revoked", parts->cnt,
		kin_nparts(st));
}

/* A drop, counted and logged at 1, 2, 4, 8... of its kind (a bad topic must not flood the log). */
static void decode_failed(struct kin_state *st, enum kin_why why, const rd_kafka_message_t *m)
{
	static const char *const whys[KIN_NWHY] = {
		[KIN_EMPTY] = "empty payload: no record",
		[KIN_MSGPACK] = "msgpack payload does not decode: kept as a raw record",
	};
	uint64_t n = ++st->decode_fail[why];
	char where[64];

	if (n & (n - 1))
		return;
	snprintf(where, sizeof(where), "%d@%lld (%llu so far)", (int)m->partition, (long long)m->offset,
		 (unsigned long long)n);
	cd_log(FMT_LEVEL_WARN, whys[why], "input", st->name, "message", where, NULL);
}

/* Hand the payload of @m on to @s: a text line, or a decoded record. */
static void feed(struct kin_state *st, struct pl_source *s, const rd_kafka_message_t *m)
{
	struct record_src src;
	const char *text = NULL;
	size_t tlen = 0;
	int kind = kw_payload_decode(m->payload, m->len, &text, &tlen, &st->rec, &src);

	if (kind == KW_PAYLOAD_TEXT) {
		pl_source_feed(st->pl, s, text, tlen);
		pl_source_feed(st->pl, s, "\n", 1);
	} else if (kind == KW_PAYLOAD_RECORD) {
		pl_in_stats(st->pl, st->idx)->bytes += m->len;
		pl_source_record(st->pl, s, &st->rec, &src, m->len);
	} else if (kind == -CD_ECORRUPT) {
		/* content is never fatal: the bytes stay, as a raw record with the reason */
		memset(&src, 0, sizeof(src));
		src.raw = true;
		src.line = fmt_str_n(m->payload, m->len);
		src.error = fmt_str_c("msgpack payload does not decode");
		pl_in_stats(st->pl, st->idx)->bytes += m->len;
		pl_source_record(st->pl, s, NULL, &src, m->len);
		decode_failed(st, KIN_MSGPACK, m);
	} else {
		decode_failed(st, KIN_EMPTY, m);
	}
}

void kin_message(struct kin_state *st, const rd_kafka_message_t *m)
{
	struct kin_part *p;

	if (m->err) {
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
			return;
		st->errors++;
		cd_log(FMT_LEVEL_WARN, "kafka: consumer error", "input", st->name, "error",
		       rd_kafka_message_errstr(m), NULL);
		return;
	}
	p = m->rkt ? find_part(st, rd_kafka_topic_name(m->rkt), m->partition) : NULL;
	if (!p || !p->src) {
		/* not ours (any more): not committed by us, so read again by its owner */
		st->stale++;
		return;
	}
	feed(st, p->src, m);
	if (push_mark(p, pl_source_offset(p->src), m->offset) < 0) {
		/* without its mark the partition cannot be committed past it: give it up */
		cd_log(FMT_LEVEL_ERROR, "kafka: out of memory: partition left uncommitted", "input", st->name,
		       NULL);
		p->revoked = true;
	}
	st->messages++;
	st->bytes += m->len;
}

void kin_end_all(struct kin_state *st)
{
	for (struct kin_part *p = st->parts; p; p = p->next)
		if (p->src) {
			/* the source lives on until acknowledged, and its on_acked() with it */
			pl_source_end(st->pl, p->src, false);
			p->src = NULL;
		}
}

void kin_free_parts(struct kin_state *st)
{
	/* the pipeline calls no hook once its inputs are closed (pipeline_free()) */
	while (st->parts) {
		struct kin_part *p = st->parts;

		if (p->src)
			pl_source_on_acked(p->src, NULL, NULL);
		free_part(st, p);
	}
}

unsigned kin_nparts(const struct kin_state *st)
{
	unsigned n = 0;

	for (const struct kin_part *p = st->parts; p; p = p->next)
		n += p->src != NULL;
	return n;
}
