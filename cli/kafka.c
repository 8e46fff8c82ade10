/*
 * kafka.c - a Kafka topic as a tracegrep input (--kafka BROKERS --topic T).
 *
 * DESIGN: clewd's Kafka output keys every record by its transaction ID
 * and partitions with librdkafka's murmur2_random (Java's murmur2 of the
 * key), so every record of transaction T is in partition
 * kw_partition(T), in order (the wire contract: store/kafka_wire.h).
 * The topic is one input with one unit of work (one consumer;
 * librdkafka's own threads do the fetching).
 *
 * - A trace query (TG_WANT_TRACE) reads that one partition, from its
 *   start (or the offset of --since) to the high watermark taken when the
 *   read begins (or to --until).
 * - An element query (a span ID, or an ID of unknown kind) reads the
 *   ID's partition first, as if it were a transaction ID; if no record
 *   there has it as its trace, the key cannot say where a span is, so the
 *   other partitions are read too (every byte of the topic in the window),
 *   skipped unless a message holds the ID literally. main.c then looks
 *   the span's transaction up: one partition again.
 *
 * A message's payload is whatever clewd wrote: a JSON object (format
 * json: the Logstash event; format raw: a JSON record), a pipe line, or
 * either with continuation lines after it; each is parsed with
 * fmt_parse() and matched by structure as a record read from a file, and
 * its text is the payload as it is. A msgpack payload (format msgpack:
 * the chunk codec's item) is decoded and written again in its own format,
 * as cli/archive.c does. A payload that is none of these never matches.
 *
 * --since/--until compare Kafka's message timestamps (the time clewd
 * produced the record, or its own time with clewd's timestamp: record).
 * The start is rd_kafka_offsets_for_times(); a broker that cannot answer
 * it (one that says "no such offset" while the partition's last message
 * is in the window, as librdkafka's mock cluster does) is read from the
 * start instead, and every message outside the window is skipped. A
 * partition is read no further than its first message timestamped more
 * than TG_KAFKA_UNTIL_SLACK_MS after --until (collectors' clocks differ).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include <store/kafka_wire.h>
#include "fmt/detect.h"
#include "fmt/json.h"
#include "fmt/pipe.h"
#include "tg.h"
#include "banned.h"

/*
 * How long a metadata or offset request, or a silent fetch, may take
 * before the lookup fails (exit 2): a broker that is down should be
 * reported, not waited for, yet a busy cluster answers within this.
 */
#define TG_KAFKA_TIMEOUT_MS 15000
/* How long tracegrep waits for librdkafka to close the consumer when it is done (destroy_consumer()). */
#define TG_KAFKA_DESTROY_MS 5000
/* How far past --until a partition is still read (messages of other collectors, skewed clocks). */
#define TG_KAFKA_UNTIL_SLACK_MS 60000

/* What the Kafka input holds (struct tg_input.priv). */
struct tg_kafka {
	rd_kafka_t *rk;		  /* the consumer (no group: partitions are assigned) */
	char *topic;		  /* as given */
	char *brokers;		  /* as given, for messages */
	int32_t nparts;		  /* partitions of the topic */
	int64_t since_ms;	  /* window on message timestamps, INT64_MIN: none */
	int64_t until_ms;	  /* INT64_MAX: none */
	bool stats;		  /* report each lookup on stderr */
	struct tg_buf emit;	  /* a msgpack record written again, reused */
	struct fmt_record *rec;	  /* parse target, reused */
	struct fmt_record *again; /* the record without its continuation lines, reused */
};

/* One read: what the message loop needs. */
struct lookup {
	struct tg_kafka *tk;	 /* the topic */
	const struct tg_scan *s; /* needle and structural test */
	uint32_t src;		 /* the input's index */
	struct tg_recs *out;	 /* kept records */
	bool trace_seen;	 /* a kept record has the needle as its trace */
	uint64_t messages;	 /* messages read */
	uint64_t undecodable;	 /* msgpack-looking payloads that did not decode */
};

/* One partition to read: [start, end). */
struct part {
	int32_t id;    /* partition */
	int64_t start; /* first offset */
	int64_t end;   /* high watermark when the read began */
	bool done;     /* reached end (or past --until) */
};

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	if (level <= 3)
		fprintf(stderr, "tracegrep: kafka: %s: %s\n", fac, buf);
}

/* Keep text[0, len) as the record at @off of partition @part if it matches. */
static void keep(struct lookup *lk, const char *text, size_t len, int32_t part, int64_t off)
{
	struct tg_kafka *tk = lk->tk;
	struct tg_recs *out = lk->out;
	struct tg_rec k = {0};

	len = kw_payload_text_len(text, len);
	if (fmt_parse(text, len, tk->rec, NULL) != 0 ||
	    !tg_record_matches(tk->rec, lk->s->finder.needle, lk->s->finder.len, lk->s->want))
		return;
	k.text = tg_xstrndup(text, len);
	k.len = len;
	k.src = lk->src;
	/* a record without a timestamp sorts after the one before it in its partition */
	k.off = ((uint64_t)(uint32_t)part << 40) | (uint64_t)off;
	fmt_parse(k.text, k.len, tk->rec, NULL);
	tg_rec_from_parsed(&k, tk->rec);
	if (k.trace && strlen(k.trace) == lk->s->finder.len &&
	    memcmp(k.trace, lk->s->finder.needle, lk->s->finder.len) == 0)
		lk->trace_seen = true;
	if (out->n == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 64;
		out->v = tg_xrealloc(out->v, out->cap * sizeof(*out->v));
	}
	out->v[out->n++] = k;
}

static void on_message(struct lookup *lk, const rd_kafka_message_t *m)
{
	struct tg_kafka *tk = lk->tk;
	const char *p = m->payload;
	struct record_src src;
	const char *text;
	size_t tlen;
	int kind;

	lk->messages++;
	if (!p || !tg_find(&lk->s->finder, p, m->len))
		return;
	kind = kw_payload_decode(p, m->len, &text, &tlen, tk->rec, &src);
	if (kind == KW_PAYLOAD_TEXT) {
		keep(lk, text, tlen, m->partition, m->offset);
		return;
	}
	if (kind != KW_PAYLOAD_RECORD) {
		lk->undecodable++;
		return;
	}
	if (src.raw) {
		/* a line no parser took: it can match only if it parses now (a newer parser) */
		if (src.line.ptr)
			keep(lk, src.line.ptr, src.line.len, m->partition, m->offset);
		return;
	}
	if (!tg_record_matches(tk->rec, lk->s->finder.needle, lk->s->finder.len, lk->s->want))
		return;
	if (tg_record_text(&tk->emit, tk->rec, tk->again) == 0)
		keep(lk, tk->emit.data, tk->emit.len, m->partition, m->offset);
	else
		lk->undecodable++;
}

static int kafka_fail(struct tg_kafka *tk, struct tg_err *err, const char *what, rd_kafka_resp_err_t e)
{
	tg_err_set(err, -TG_EIO, 0, "kafka %s topic %s: %s: %s", tk->brokers, tk->topic, what,
		   rd_kafka_err2str(e));
	return -TG_EIO;
}

/* The timestamp of the message at @off of partition @p, or -1. */
static int64_t timestamp_at(struct tg_kafka *tk, int32_t p, int64_t off, struct tg_err *err)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	int64_t ts = -1;
	rd_kafka_resp_err_t e;

	rd_kafka_topic_partition_list_add(l, tk->topic, p)->offset = off;
	e = rd_kafka_assign(tk->rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (e)
		return kafka_fail(tk, err, "assign", e);
	for (int waited = 0; waited < TG_KAFKA_TIMEOUT_MS; waited += 500) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(tk->rk, 500);

		if (!m)
			continue;
		if (!m->err && m->partition == p && m->offset >= off)
			ts = rd_kafka_message_timestamp(m, NULL);
		rd_kafka_message_destroy(m);
		if (ts >= 0)
			break;
	}
	rd_kafka_assign(tk->rk, NULL);
	return ts;
}

/*
 * Fill parts[i] (i < n, ids set) with the offsets to read: the
 * watermarks, narrowed by --since. Return: 0 or -TG_EIO.
 */
static int plan(struct tg_kafka *tk, struct part *parts, size_t n, struct tg_err *err)
{
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_resp_err_t e;

	for (size_t i = 0; i < n; i++) {
		e = rd_kafka_query_watermark_offsets(tk->rk, tk->topic, parts[i].id, &parts[i].start,
						     &parts[i].end, TG_KAFKA_TIMEOUT_MS);
		if (e)
			return kafka_fail(tk, err, "watermarks", e);
		parts[i].done = parts[i].start >= parts[i].end;
	}
	if (tk->since_ms == INT64_MIN)
		return 0;
	l = rd_kafka_topic_partition_list_new((int)n);
	for (size_t i = 0; i < n; i++)
		rd_kafka_topic_partition_list_add(l, tk->topic, parts[i].id)->offset = tk->since_ms;
	e = rd_kafka_offsets_for_times(tk->rk, l, TG_KAFKA_TIMEOUT_MS);
	if (e) {
		rd_kafka_topic_partition_list_destroy(l);
		return kafka_fail(tk, err, "offsets for --since", e);
	}
	for (size_t i = 0; i < n; i++) {
		const rd_kafka_topic_partition_t *t = &l->elems[i];
		int64_t last;

		if (parts[i].done)
			continue;
		if (t->err == RD_KAFKA_RESP_ERR_NO_ERROR && t->offset >= 0) {
			if (t->offset > parts[i].start)
				parts[i].start = t->offset;
			parts[i].done = parts[i].start >= parts[i].end;
			continue;
		}
		/* "no message at or after --since": believe it only if the last message agrees */
		last = timestamp_at(tk, parts[i].id, parts[i].end - 1, err);
		if (last == -TG_EIO) {
			rd_kafka_topic_partition_list_destroy(l);
			return -TG_EIO;
		}
		if (last >= 0 && last < tk->since_ms)
			parts[i].done = true;
	}
	rd_kafka_topic_partition_list_destroy(l);
	return 0;
}

/* Read parts[0, n) to their planned ends, handing each message in the window to on_message(). */
static int read_parts(struct lookup *lk, struct part *parts, size_t n, struct tg_err *err)
{
	struct tg_kafka *tk = lk->tk;
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
	size_t left = 0;
	rd_kafka_resp_err_t e;
	int idle = 0;

	for (size_t i = 0; i < n; i++)
		if (!parts[i].done) {
			rd_kafka_topic_partition_list_add(l, tk->topic, parts[i].id)->offset = parts[i].start;
			left++;
		}
	if (!left) {
		rd_kafka_topic_partition_list_destroy(l);
		return 0;
	}
	e = rd_kafka_assign(tk->rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (e)
		return kafka_fail(tk, err, "assign", e);
	while (left) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(tk->rk, 500);
		struct part *pt = NULL;
		int64_t ts;

		if (!m) {
			if ((idle += 500) >= TG_KAFKA_TIMEOUT_MS) {
				rd_kafka_assign(tk->rk, NULL);
				tg_err_set(
					err, -TG_EIO, 0,
					"kafka %s topic %s: no message for %d s with %zu partitions unread",
					tk->brokers, tk->topic, TG_KAFKA_TIMEOUT_MS / 1000, left);
				return -TG_EIO;
			}
			continue;
		}
		idle = 0;
		for (size_t i = 0; i < n && !pt; i++)
			if (parts[i].id == m->partition)
				pt = &parts[i];
		if (m->err) {
			e = m->err;
			rd_kafka_message_destroy(m);
			if (e == RD_KAFKA_RESP_ERR__PARTITION_EOF)
				continue;
			rd_kafka_assign(tk->rk, NULL);
			return kafka_fail(tk, err, "fetch", e);
		}
		if (!pt || pt->done || m->offset < pt->start) {
			rd_kafka_message_destroy(m);
			continue;
		}
		ts = rd_kafka_message_timestamp(m, NULL);
		if (tk->until_ms != INT64_MAX && ts > tk->until_ms &&
		    ts - tk->until_ms > TG_KAFKA_UNTIL_SLACK_MS) {
			pt->done = true;
			left--;
			rd_kafka_message_destroy(m);
			continue;
		}
		if (ts < 0 || (ts >= tk->since_ms && ts <= tk->until_ms))
			on_message(lk, m);
		if (m->offset >= pt->end - 1) {
			pt->done = true;
			left--;
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_assign(tk->rk, NULL);
	return 0;
}

static void report(const struct tg_kafka *tk, const char *what, const char *id, size_t nparts,
		   const struct lookup *lk)
{
	if (!tk->stats)
		return;
	fprintf(stderr, "tracegrep: kafka topic %s: %s %s: %zu of %d partitions read, %llu messages\n",
		tk->topic, what, id, nparts, tk->nparts, (unsigned long long)lk->messages);
}

static int scan_kafka(struct tg_input *in, size_t unit, const struct tg_scan *s, struct tg_recs *out,
		      struct tg_err *err)
{
	struct tg_kafka *tk = in->priv;
	struct lookup lk = {.tk = tk, .s = s, .src = in->src, .out = out};
	struct part *parts = tg_xcalloc((size_t)tk->nparts, sizeof(*parts));
	int32_t mine = kw_partition(s->finder.needle, s->finder.len, tk->nparts);
	size_t n = 0;
	int rc;

	(void)unit;
	parts[0].id = mine;
	rc = plan(tk, parts, 1, err);
	if (rc == 0)
		rc = read_parts(&lk, parts, 1, err);
	report(tk, "find", s->finder.needle, 1, &lk);
	if (rc == 0 && s->want == TG_WANT_ELEMENT && !lk.trace_seen && tk->nparts > 1) {
		/* Not a transaction ID: a span may be in any partition; read the others. */
		lk.messages = 0;
		for (int32_t p = 0; p < tk->nparts; p++)
			if (p != mine)
				parts[n++].id = p;
		rc = plan(tk, parts, n, err);
		if (rc == 0)
			rc = read_parts(&lk, parts, n, err);
		report(tk, "scan for", s->finder.needle, n, &lk);
	}
	free(parts);
	if (rc == 0 && lk.undecodable) {
		tg_err_set(err, -TG_EDATA, 0, "kafka topic %s: %llu msgpack messages could not be decoded",
			   tk->topic, (unsigned long long)lk.undecodable);
		return -TG_EDATA;
	}
	return rc;
}

/* A consumer being closed on a thread of its own (close_consumer()). */
struct closing {
	rd_kafka_t *rk;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
};

static void *close_consumer(void *arg)
{
	struct closing *c = arg;

	rd_kafka_consumer_close(c->rk);
	rd_kafka_destroy(c->rk);
	pthread_mutex_lock(&c->mu);
	c->done = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/*
 * Close and destroy @rk, waiting TG_KAFKA_DESTROY_MS at most: librdkafka
 * 2.0 (Debian 12's) may never return from a consumer's rd_kafka_destroy(),
 * its broker thread waiting for a partition reference the library leaked
 * (confluentinc/librdkafka#4674; seen here against the mock cluster).
 * tracegrep has given its answer when its inputs are released, so past
 * the wait the handle is left to the process's exit (and @c with it, as
 * the thread may still finish and signal).
 */
static void destroy_consumer(rd_kafka_t *rk)
{
	struct closing *c = tg_xcalloc(1, sizeof(*c));
	struct timespec until;
	pthread_t t;

	c->rk = rk;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if (pthread_create(&t, NULL, close_consumer, c) != 0) {
		close_consumer(c);
	} else {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += TG_KAFKA_DESTROY_MS / 1000;
		pthread_mutex_lock(&c->mu);
		while (!c->done && pthread_cond_timedwait(&c->cv, &c->mu, &until) == 0)
			;
		pthread_mutex_unlock(&c->mu);
		if (!c->done) {
			pthread_detach(t);
			return;
		}
		pthread_join(t, NULL);
	}
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static void release_kafka(struct tg_input *in)
{
	struct tg_kafka *tk = in->priv;

	if (!tk)
		return;
	destroy_consumer(tk->rk);
	tg_buf_free(&tk->emit);
	free(tk->rec);
	free(tk->again);
	free(tk->topic);
	free(tk->brokers);
	free(tk);
	in->priv = NULL;
}

static const struct tg_input_ops ops_kafka = {
	.kind = "kafka",
	.scan = scan_kafka,
	.release = release_kafka,
};

static int set(rd_kafka_conf_t *conf, const char *name, const char *val, struct tg_err *err)
{
	char errstr[256];

	if (rd_kafka_conf_set(conf, name, val, errstr, sizeof(errstr)) == RD_KAFKA_CONF_OK)
		return 0;
	tg_err_set(err, -TG_EINVAL, 0, "kafka property %s: %s", name, errstr);
	return -TG_EINVAL;
}

int tg_inputs_add_kafka(struct tg_inputs *ins, const char *brokers, const char *topic, char *const *props,
			size_t nprops, int64_t since_ns, int64_t until_ns, bool stats, struct tg_err *err)
{
	struct tg_kafka *tk = tg_xcalloc(1, sizeof(*tk));
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *rkt;
	rd_kafka_resp_err_t e;
	struct tg_input *in;
	char errstr[512];
	int rc;

	tk->brokers = tg_xstrndup(brokers, strlen(brokers));
	tk->topic = tg_xstrndup(topic, strlen(topic));
	if ((rc = set(conf, "bootstrap.servers", brokers, err)) < 0 ||
	    (rc = set(conf, "group.id", "tracegrep", err)) < 0 ||
	    (rc = set(conf, "enable.auto.commit", "false", err)) < 0 ||
	    (rc = set(conf, "enable.auto.offset.store", "false", err)) < 0 ||
	    (rc = set(conf, "enable.partition.eof", "true", err)) < 0 ||
	    (rc = set(conf, "client.id", "tracegrep", err)) < 0 ||
	    /*
	     * A fetch that finds nothing new (a partition read to its end) is
	     * held by the broker this long, and the next read waits behind it:
	     * a reader that stops at the high watermark wants it short.
	     */
	    (rc = set(conf, "fetch.wait.max.ms", "10", err)) < 0)
		goto err_conf;
	for (size_t i = 0; i < nprops; i++) {
		const char *eq = strchr(props[i], '=');
		char *name;

		if (!eq || eq == props[i]) {
			tg_err_set(err, -TG_EINVAL, 0, "--kafka-property %s: expected NAME=VALUE", props[i]);
			rc = -TG_EINVAL;
			goto err_conf;
		}
		name = tg_xstrndup(props[i], (size_t)(eq - props[i]));
		rc = set(conf, name, eq + 1, err);
		free(name);
		if (rc < 0)
			goto err_conf;
	}
	rd_kafka_conf_set_log_cb(conf, on_log);
	tk->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (!tk->rk) {
		/* rd_kafka_new() owns conf only on success */
		tg_err_set(err, -TG_EINVAL, 0, "kafka: %s", errstr);
		rc = -TG_EINVAL;
		goto err_conf;
	}
	rkt = rd_kafka_topic_new(tk->rk, topic, NULL);
	e = rd_kafka_metadata(tk->rk, 0, rkt, &md, TG_KAFKA_TIMEOUT_MS);
	rd_kafka_topic_destroy(rkt);
	if (!e)
		e = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
	if (e || md->topics[0].partition_cnt < 1) {
		tg_err_set(err, -TG_EIO, 0, "kafka %s topic %s: %s", brokers, topic,
			   e ? rd_kafka_err2str(e) : "no partitions");
		if (md)
			rd_kafka_metadata_destroy(md);
		rd_kafka_destroy(tk->rk);
		rc = -TG_EIO;
		goto err_free;
	}
	tk->nparts = md->topics[0].partition_cnt;
	rd_kafka_metadata_destroy(md);
	tk->since_ms = since_ns == INT64_MIN ? INT64_MIN : since_ns / 1000000;
	tk->until_ms = until_ns == INT64_MAX ? INT64_MAX : until_ns / 1000000;
	tk->stats = stats;
	tk->rec = tg_xmalloc(sizeof(*tk->rec));
	tk->again = tg_xmalloc(sizeof(*tk->again));
	in = tg__inputs_push(ins, topic);
	in->ops = &ops_kafka;
	in->priv = tk;
	in->nunits = 1;
	return 0;

err_conf:
	rd_kafka_conf_destroy(conf);
err_free:
	free(tk->brokers);
	free(tk->topic);
	free(tk);
	return rc;
}
