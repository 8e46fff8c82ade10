/*
 * output/kafka/kafka_produce.c - the Kafka output's producing side: the
 * chunks in flight produced without blocking, a batch of records at a
 * time, each record decoded once, its payload rendered into its chunk's
 * arena and not copied by librdkafka (a full queue or max_inflight pauses
 * the cursor), librdkafka's callbacks
 * (delivery reports counted per chunk, errors, logs: on the loop thread
 * from rd_kafka_poll()), the producer's start and stop (see out_kafka.c).
 * Each message's opaque is its record's msgpack item in the chunk (the
 * chunk is unchanged until reported): a report finds its chunk by it and
 * a record rejected for good is decoded from it for the dead-letter files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/kafka/out_kafka_impl.h"
#include "util/util.h"
#include "util/banned.h"

/* Whether the chunk of slot @s (in flight) holds @item. */
static bool holds(const struct kf_chunk *s, uintptr_t item)
{
	size_t len;
	const uint8_t *p = s->used ? chunk_data_ref(s->c, &len) : NULL;

	return p && item >= (uintptr_t)p && item < (uintptr_t)p + len;
}

/* The chunk in flight whose records hold @item (a message's opaque), or NULL; reports come in runs of one chunk. */
static struct kf_chunk *slot_of(struct out_kafka_state *k, uintptr_t item)
{
	if (holds(&k->slots[k->dr_slot], item))
		return &k->slots[k->dr_slot];
	for (unsigned i = 0; i < CD_KAFKA_CHUNKS_MAX; i++)
		if (holds(&k->slots[i], item)) {
			k->dr_slot = i;
			return &k->slots[i];
		}
	return NULL;
}

const char *kf_permanent(rd_kafka_resp_err_t e)
{
	/* what the broker (or librdkafka before it) refuses for this record whatever the retry:
	 * documented in clewd(8), Kafka output; everything else is retried with its chunk */
	switch (e) {
	case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
		return "msg_size_too_large"; /* past message.max.bytes (producer's or broker's) */
	case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
		return "invalid_msg_size";
	case RD_KAFKA_RESP_ERR_INVALID_RECORD:
		return "invalid_record";
	case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
		return "policy_violation";
	case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
		return "topic_authorization_failed";
	case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
		return "invalid_topic";
	case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
		return "unknown_topic"; /* not in the cluster's metadata, not auto-created */
	default:
		return NULL;
	}
}

static void slot_stop(struct kf_chunk *s, const char *why, bool fatal)
{
	if (!s->why[0])
		cd_strlcpy(s->why, why, sizeof(s->why));
	s->stop = true;
	s->fatal |= fatal;
}

/*
 * Give up the record at @item of @s's chunk for good (@e, @reason): it goes
 * to the output's dead-letter files. Return: 0, or -1 when it cannot be
 * kept (the chunk is stopped and given back: sent again, not lost).
 */
static int give_up(struct out_kafka_state *k, struct kf_chunk *s, const uint8_t *item, rd_kafka_resp_err_t e,
		   const char *reason)
{
	struct chunk_iter it;
	struct record_src src;
	size_t len;
	const uint8_t *data = chunk_data_ref(s->c, &len);
	char why[200];

	chunk_iter_init_bytes(&it, item, (size_t)(data + len - item));
	if (chunk_iter_next(&it, &k->dl_rec, &src) != 1 ||
	    pl_deadletter(k->pl, k->idx, src.raw ? NULL : &k->dl_rec, &src, reason, rd_kafka_err2str(e)) <
		    0) {
		snprintf(why, sizeof(why), "kafka: a record rejected for good (%s) cannot be kept",
			 rd_kafka_err2str(e));
		slot_stop(s, why, false);
		return -1;
	}
	k->rejected++;
	return 0;
}

/* The current slot's batch is dropped (not handed over: its chunk is given back or already reported). */
static void batch_drop(struct out_kafka_state *k)
{
	k->nbatch = k->batch_off = 0;
	k->batch_bytes = 0;
	k->batch_rkt = NULL;
}

void kf_slot_free(struct out_kafka_state *k, struct kf_chunk *s)
{
	if (k->cur == (int)(s - k->slots)) {
		k->cur = -1;
		batch_drop(k); /* its payloads are in the arena freed now */
	}
	kf_arena_free(k, s);
	s->used = false;
}

/*
 * The result of handing message @m (of slot @s) over, @e its error. A
 * record rejected for good at once goes to the dead-letter files.
 * Return: 0 (produced or given up); 1 when the queue is full (hand it
 * over again later); -1 when it cannot be produced (the chunk is stopped).
 */
static int handed(struct out_kafka_state *k, struct kf_chunk *s, const rd_kafka_message_t *m,
		  rd_kafka_resp_err_t e)
{
	const char *reason;
	char why[200];

	if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
		s->produced++;
		k->inflight_msgs++;
		k->inflight_bytes += m->len + m->key_len;
		return 0;
	}
	if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
		return 1;
	snprintf(why, sizeof(why), "kafka: cannot produce to %s: %s", rd_kafka_topic_name(k->batch_rkt),
		 rd_kafka_err2str(e));
	if ((reason = kf_permanent(e)) && give_up(k, s, m->_private, e, reason) == 0) {
		s->skipped++; /* the rest of the chunk goes on */
		return 0;
	}
	k->errors++;
	slot_stop(s, why, false);
	return -1;
}

/* One message with its own timestamp (rd_kafka_produce_batch() takes none): rd_kafka_produceva(). */
static rd_kafka_resp_err_t produce_ts(struct out_kafka_state *k, const rd_kafka_message_t *m, int64_t ts_ms)
{
	rd_kafka_vu_t vu[7];
	rd_kafka_error_t *e;
	rd_kafka_resp_err_t code;
	size_t n = 0;

	vu[n].vtype = RD_KAFKA_VTYPE_RKT;
	vu[n++].u.rkt = k->batch_rkt;
	vu[n].vtype = RD_KAFKA_VTYPE_PARTITION;
	vu[n++].u.i32 = RD_KAFKA_PARTITION_UA;
	vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
	vu[n++].u.i = 0; /* no copy, no free: the payload is in the chunk or its arena until reported */
	vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
	vu[n].u.mem.ptr = m->payload;
	vu[n++].u.mem.size = m->len;
	if (m->key) {
		vu[n].vtype = RD_KAFKA_VTYPE_KEY;
		vu[n].u.mem.ptr = m->key;
		vu[n++].u.mem.size = m->key_len;
	}
	vu[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
	vu[n++].u.ptr = m->_private;
	if (ts_ms > 0) {
		vu[n].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
		vu[n++].u.i64 = ts_ms;
	}
	if (!(e = rd_kafka_produceva(k->rk, vu, n)))
		return RD_KAFKA_RESP_ERR_NO_ERROR;
	code = rd_kafka_error_code(e);
	rd_kafka_error_destroy(e);
	return code;
}

/*
 * Hand the batch to librdkafka: one rd_kafka_produce_batch() call, the
 * payloads not copied (they stay in the chunk or its arena until the
 * chunk is reported, which waits for every report). Return: 0 all
 * handed over; 1 the queue is full (the rest is kept, in order, for the
 * next poll); -1 the chunk is stopped.
 */
static int hand_over(struct out_kafka_state *k, struct kf_chunk *s)
{
	rd_kafka_message_t *m = k->batch + k->batch_off;
	unsigned n = k->nbatch - k->batch_off, i;
	int rc = 0;

	if (k->set.record_ts) {
		for (i = 0; i < n && rc == 0; i++)
			rc = handed(k, s, &m[i], produce_ts(k, &m[i], k->batch_ts[k->batch_off + i]));
		if (rc == 1)
			i--;
	} else {
		(void)rd_kafka_produce_batch(k->batch_rkt, RD_KAFKA_PARTITION_UA, 0, m, (int)n);
		/* every message has its error; after a full queue, every later one is refused too */
		for (i = 0; i < n; i++) {
			int r = handed(k, s, &m[i], m[i].err);

			if (r == 1) {
				rc = 1;
				break;
			}
			if (r < 0)
				rc = -1; /* the ones after it may be in flight: counted, reported */
		}
	}
	if (rc == 1) {
		for (unsigned j = 0; j < i; j++)
			k->batch_bytes -= m[j].len + m[j].key_len;
		k->batch_off += i;
		return 1;
	}
	batch_drop(k);
	return rc;
}

/* Start producing slot @i: position the cursor at its first record. */
static void start_slot(struct out_kafka_state *k, int i)
{
	k->cur = i;
	chunk_iter_init(&k->it, k->slots[i].c);
	batch_drop(k);
}

/* The next slot to produce: the oldest taken one with records left. */
static int next_slot(const struct out_kafka_state *k)
{
	int best = -1;

	for (int i = 0; i < (int)CD_KAFKA_CHUNKS_MAX; i++) {
		const struct kf_chunk *s = &k->slots[i];
		if (s->used && !s->stop && s->taken < s->total &&
		    (best < 0 || s->arrival < k->slots[best].arrival))
			best = i;
	}
	return best;
}

/* The payload of the record just read (@item, @src): rendered into the arena, the item, or the raw line. */
static int payload(struct out_kafka_state *k, struct kf_chunk *s, const uint8_t *item,
		   const struct record_src *src, const char **val, size_t *vlen)
{
	char *p;
	size_t room;
	int rc;

	switch (k->set.format) {
	case KW_JSON:
		return kf_render(k, s, &k->rec, src, val, vlen);
	case KW_MSGPACK:
		/* the record's own msgpack item in the chunk: what record_pack() wrote */
		*val = (const char *)item;
		*vlen = (size_t)(k->it.p - item);
		return 0;
	case KW_RAW:
		if ((rc = kf_raw_payload(k, &k->rec, src, val, vlen)) < 0 || *val == src->line.ptr)
			return rc; /* the line as read: in the chunk */
		/* written again in k->buf: into the arena, to live until reported */
		if (!(p = kf_arena_room(k, s, *vlen, &room)))
			return -CD_ENOMEM;
		memcpy(p, *val, *vlen);
		kf_arena_add(s, *vlen);
		*val = p;
		return 0;
	}
	return -CD_EINVAL;
}

/* The key of the record just read: a view into the chunk, or decoded into the arena. Return: 0, -1 (no memory). */
static int record_key(struct out_kafka_state *k, struct kf_chunk *s, const char **key, size_t *klen)
{
	struct fmt_str v = kf_field(&k->rec, k->set.key, strlen(k->set.key));
	char *p;
	size_t room;

	*key = "";
	*klen = 0; /* a record without the field: the empty key */
	if (!v.ptr)
		return 0;
	if (v.enc == FMT_ENC_RAW) {
		*key = v.ptr;
		*klen = v.len;
		return 0;
	}
	if (!(p = kf_arena_room(k, s, v.len, &room)))
		return -1;
	*klen = fmt_str_decode(&v, p);
	kf_arena_add(s, *klen);
	*key = p;
	return 0;
}

/*
 * Read records of the current slot into the batch, each decoded once
 * (key, topic, timestamp, payload), while they go to the batch's topic
 * and max_inflight allows (one record past it at most). Return: 0 go on
 * (hand the batch over); 1 pause (nothing to hand over: wait for
 * reports); -1 the slot is stopped.
 */
static int fill(struct out_kafka_state *k, struct kf_chunk *s)
{
	while (k->nbatch < KF_BATCH && s->taken < s->total) {
		struct record_src src;
		struct chunk_iter save = k->it;
		const uint8_t *item = k->it.p;
		rd_kafka_message_t *m = &k->batch[k->nbatch];
		rd_kafka_topic_t *rkt = k->fixed_rkt;
		const char *val = NULL, *key = NULL;
		size_t vlen = 0, klen = 0;
		int rc;

		if ((k->inflight_msgs || k->nbatch) &&
		    k->inflight_bytes + k->batch_bytes >= k->set.max_inflight)
			return k->nbatch ? 0 : 1;
		if (chunk_iter_next(&k->it, &k->rec, &src) != 1) {
			slot_stop(s, "kafka: the chunk does not decode", true);
			return -1;
		}
		if (k->templated) {
			const char *name = kf_render_topic(k, &k->rec);

			/* one topic per batch; a handle is opened (maybe others closed) only with none waiting */
			if (k->nbatch && strcmp(name, rd_kafka_topic_name(k->batch_rkt)) != 0) {
				k->it = save;
				return 0;
			}
			rkt = kf_topic_get(k, name);
		} else if (!rkt) {
			rkt = k->fixed_rkt = kf_topic_get(k, k->set.topic);
		}
		if (!rkt) {
			slot_stop(s, "kafka: cannot open a topic handle", false);
			return -1;
		}
		if (k->set.key[0] && record_key(k, s, &key, &klen) < 0) {
			slot_stop(s, "kafka: out of memory", false);
			return -1;
		}
		if (k->set.record_ts)
			k->batch_ts[k->nbatch] =
				k->rec.has_ts && k->rec.ts_ns >= 1000000 ? k->rec.ts_ns / 1000000 : 0;
		/* last: the json payload adds Logstash's "host" to the record */
		if ((rc = payload(k, s, item, &src, &val, &vlen)) < 0) {
			slot_stop(s,
				  rc == -CD_ENOMEM ? "kafka: out of memory"
						   : "kafka: a record cannot be written",
				  rc == -CD_ECORRUPT);
			return -1;
		}
		memset(m, 0, sizeof(*m));
		m->payload = (void *)(uintptr_t)val; /* no flags: librdkafka neither copies nor frees it */
		m->len = vlen;
		m->key = key ? (void *)(uintptr_t)key : NULL; /* copied by librdkafka */
		m->key_len = klen;
		m->_private = (void *)(uintptr_t)item; /* librdkafka only hands it back */
		k->batch_rkt = rkt;
		k->batch_bytes += vlen + klen;
		k->nbatch++;
		s->taken++;
	}
	return 0;
}

/* Produce what can be produced now, chunk after chunk, in the order taken. */
void kf_pump(struct out_kafka_state *k)
{
	while (!k->fatal) {
		struct kf_chunk *s;
		int rc;

		if (k->cur < 0) {
			int i = next_slot(k);
			if (i < 0)
				return;
			start_slot(k, i);
		}
		s = &k->slots[k->cur];
		if (s->stop) {
			batch_drop(k);
			k->cur = -1;
			continue;
		}
		if (k->batch_off < k->nbatch) {
			if ((rc = hand_over(k, s)) == 1)
				return; /* queue full: poll() goes on */
			continue;
		}
		if (s->taken == s->total) {
			k->cur = -1;
			continue;
		}
		batch_drop(k);
		if (fill(k, s) == 1)
			return; /* max_inflight: poll() goes on */
	}
}

/* Report every chunk whose messages are all accounted for. */
void kf_report(struct out_kafka_state *k)
{
	for (int i = 0; i < (int)CD_KAFKA_CHUNKS_MAX; i++) {
		struct kf_chunk *s = &k->slots[i];
		enum out_result r;

		/* every record accounted for: delivered, given up for good (dead-lettered), or failed */
		if (!s->used || (!s->stop && s->produced + s->skipped < s->total) ||
		    s->delivered + s->dead + s->failed < s->produced)
			continue;
		r = s->fatal ? OUT_FAIL : s->stop ? OUT_RETRY : OUT_OK;
		kf_slot_free(k, s);
		if (!k->closing)
			pl_out_done(k->pl, k->idx, s->seq, r, s->why[0] ? s->why : NULL);
	}
}

/* --- librdkafka's callbacks (on the loop thread, from rd_kafka_poll()) ---- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct out_kafka_state *k = opaque;
	struct kf_chunk *s = slot_of(k, (uintptr_t)m->_private);
	const char *reason = m->err ? kf_permanent(m->err) : NULL;
	char why[200];

	(void)rk;
	k->inflight_msgs--;
	k->inflight_bytes -= m->len + m->key_len;
	/* rejected for good: only this record leaves, to the dead-letter files; the chunk goes on.
	 * In a chunk already given back it is sent again with it (and rejected then). */
	if (reason && s && !s->stop && give_up(k, s, m->_private, m->err, reason) == 0) {
		s->dead++;
		return;
	}
	if (m->err) {
		k->errors++;
		if (s) {
			s->failed++;
			snprintf(why, sizeof(why), "kafka: delivery to %s [%d] failed: %s",
				 m->rkt ? rd_kafka_topic_name(m->rkt) : "?", (int)m->partition,
				 rd_kafka_err2str(m->err));
			slot_stop(s, why, false);
		}
		return;
	}
	k->messages++;
	k->bytes += m->len;
	/* reports are served in order: one delivered after the error says a broker is back */
	if (k->down && !k->closing) {
		k->down = false;
		pl_out_failing(k->pl, k->idx, false);
	}
	if (s)
		s->delivered++;
}

static void on_error(rd_kafka_t *rk, int code, const char *reason, void *opaque)
{
	struct out_kafka_state *k = opaque;
	char buf[256];

	if (code == RD_KAFKA_RESP_ERR__FATAL) {
		rd_kafka_fatal_error(rk, buf, sizeof(buf));
		cd_log(FMT_LEVEL_ERROR, "kafka: fatal producer error: restarting the producer", "output",
		       k->oc->name, "error", buf, NULL);
		k->fatal = true;
		return;
	}
	/* messages stay queued in librdkafka and are retried by it: the outage shows in /metrics */
	if (code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && !k->closing) {
		k->down = true;
		pl_out_failing(k->pl, k->idx, true);
	}
	cd_log(FMT_LEVEL_WARN, "kafka: error", "output", k->oc->name, "error", reason, NULL);
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	struct out_kafka_state *k = rd_kafka_opaque(rk);
	enum fmt_level l = level <= 3	? FMT_LEVEL_ERROR
			   : level == 4 ? FMT_LEVEL_WARN
			   : level <= 6 ? FMT_LEVEL_INFO
					: FMT_LEVEL_DEBUG;

	cd_log(l, buf, "output", k ? k->oc->name : NULL, "facility", fac, NULL);
}

int kf_producer_start(struct out_kafka_state *k, struct cd_err *err)
{
	rd_kafka_conf_t *conf;
	char errstr[512];
	int rc;

	if ((rc = kf_build_conf(k->oc, &k->set, &conf, err)) < 0)
		return rc;
	rd_kafka_conf_set_opaque(conf, k);
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_error_cb(conf, on_error);
	rd_kafka_conf_set_log_cb(conf, on_log);
	k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!k->rk) {
		/* rd_kafka_new() owns conf only on success */
		rd_kafka_conf_destroy(conf);
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: %s", k->oc->name, errstr);
	}
	rd_kafka_set_log_queue(k->rk, NULL);
	k->fatal = false;
	return 0;
}

/*
 * Give up everything in flight: purged messages report failure (their
 * chunks are given back), then the producer is destroyed.
 */
void kf_producer_stop(struct out_kafka_state *k, int wait_ms)
{
	if (!k->rk)
		return;
	if (wait_ms > 0)
		rd_kafka_flush(k->rk, wait_ms);
	rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	rd_kafka_flush(k->rk, 1000); /* serves the purged messages' reports */
	rd_kafka_poll(k->rk, 0);
	kf_topics_release(k);
	rd_kafka_destroy(k->rk);
	k->rk = NULL;
	/* a report that never came: the chunk is given back all the same */
	for (unsigned i = 0; i < CD_KAFKA_CHUNKS_MAX; i++)
		if (k->slots[i].used) {
			slot_stop(&k->slots[i], "kafka: producer restarted", false);
			k->slots[i].failed = k->slots[i].produced - k->slots[i].delivered - k->slots[i].dead;
		}
	k->inflight_msgs = k->inflight_bytes = 0;
	k->cur = -1;
	batch_drop(k);
}
