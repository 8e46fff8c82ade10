/*
 * output/kafka/out_kafka.c - the Kafka output: every record one message, keyed
 * by a field of the record (its transaction ID by default), through
 * librdkafka's idempotent producer.
 *
 * DESIGN: flush() takes a chunk (OUT_PENDING) into a small table of
 * chunks in flight and produces its records in order, each message
 * carrying the chunk's sequence number as its opaque. Delivery reports
 * (served by rd_kafka_poll() in poll(), on the loop thread, like every
 * other librdkafka callback: logs go through the main queue too) count
 * per chunk; when every message of a chunk is acknowledged the chunk is
 * (pl_out_done(OK)); when any failed, the rest of it is not produced and
 * the chunk is given back once its last report is in (pl_out_done(RETRY)),
 * to be produced again whole: duplicates are possible, loss is not.
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
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include <store/kafka_wire.h>

#include "fmt/json.h"
#include "fmt/pipe.h"
#include "fmt/str.h"
#include "output/lines.h"
#include "pipeline.h"
#include "util/metrics.h"
#include "util/util.h"
#include "util/banned.h"

/* What a templated topic gets for a field the record does not have. */
#define KF_TOPIC_NONE "none"

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
	const struct chunk *c; /* valid until reported (pipeline.h) */
	uint64_t seq;	       /* its sequence number: the messages' opaque */
	uint64_t arrival;      /* order flush() took it in: production order */
	uint32_t total;	       /* records, so messages to produce */
	uint32_t produced;     /* handed to librdkafka */
	uint32_t delivered;    /* acknowledged by the brokers */
	uint32_t failed;       /* reported failed */
	bool used;	       /* slot taken */
	bool stop;	       /* a failure: produce no more of it, give it back */
	bool fatal;	       /* the chunk itself is broken (does not decode): OUT_FAIL */
	char why[200];	       /* the first failure */
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
	struct chunk_iter it;			     /* its next record */
	struct out_lines lines;			     /* json: its rendered lines */
	size_t line_off;			     /* json: offset of its next line */
	struct fmt_record rec;			     /* decoded record (large: not on the stack) */
	struct fmt_record again;		     /* raw: the record without its continuation */
	char *buf;				     /* scratch: a raw payload */
	size_t cap;				     /* bytes at buf */
	char *kbuf;				     /* scratch: a decoded key */
	size_t kcap;				     /* bytes at kbuf */
	char topic_buf[CD_KAFKA_TOPIC_LEN_MAX + 1];  /* a rendered topic name */
	uint64_t inflight_msgs, inflight_bytes;	     /* produced, not yet reported */
	uint64_t messages, bytes, errors; /* acknowledged messages, their payload bytes, failures */
	bool fatal;			  /* the producer reported a fatal error */
	bool closing;			  /* close(): report nothing to the pipeline */
};

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

static bool topic_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '_' || c == '-';
}

static bool field_char(char c)
{
	return topic_char(c) || c == '@';
}

/* Check a topic template: legal characters outside ${...}, legal field names inside. */
static int check_topic(const struct cd_output_conf *oc, const char *key, const char *t, bool *templated,
		       struct cd_err *err)
{
	size_t lit = 0;

	*templated = false;
	for (const char *p = t; *p;) {
		if (p[0] == '$' && p[1] == '{') {
			const char *end = strchr(p + 2, '}');
			if (!end || end == p + 2)
				return cd_opt_fail(&oc->opts, key, "expected ${FIELD} in the topic template",
						   err);
			for (const char *f = p + 2; f < end; f++)
				if (!field_char(*f))
					return cd_opt_fail(&oc->opts, key,
							   "a field name is made of A-Z a-z 0-9 . _ - @",
							   err);
			*templated = true;
			p = end + 1;
			continue;
		}
		if (!topic_char(*p))
			return cd_opt_fail(&oc->opts, key,
					   "a topic is made of A-Z a-z 0-9 . _ - (and ${FIELD})", err);
		lit++;
		p++;
	}
	if (!*t)
		return cd_opt_fail(&oc->opts, key, "empty topic", err);
	if (lit > CD_KAFKA_TOPIC_LEN_MAX)
		return cd_opt_fail(&oc->opts, key, "longer than Kafka's 249 characters", err);
	return 0;
}

static int parse_settings(const struct cd_output_conf *oc, struct kf_settings *s, bool *templated,
			  struct cd_err *err)
{
	static const char *const codecs[] = {"none", "gzip", "snappy", "lz4", "zstd", NULL};
	const char *v;
	int rc;

	memset(s, 0, sizeof(*s));
	if ((rc = cd_opt_one_of(&oc->opts, "address", "brokers", &s->brokers, err)) < 0)
		return rc;
	if (!s->brokers || !*s->brokers)
		return cd_err_set(err, -CD_EINVAL, 0,
				  "output %s: no brokers (kafka://HOST:PORT/TOPIC, or brokers: in the file)",
				  oc->name);
	if ((rc = cd_opt_one_of(&oc->opts, "path", "topic", &s->topic, err)) < 0)
		return rc;
	if (!s->topic)
		return cd_err_set(err, -CD_EINVAL, 0,
				  "output %s: no topic (kafka://HOST:PORT/TOPIC, or topic: in the file)",
				  oc->name);
	if ((rc = check_topic(oc, cd_opt_get(&oc->opts, "topic") ? "topic" : "path", s->topic, templated,
			      err)) < 0)
		return rc;
	s->key = cd_opt_get(&oc->opts, "key");
	if (!s->key)
		s->key = KW_KEY_FIELD;
	for (const char *p = s->key; *p; p++)
		if (!field_char(*p))
			return cd_opt_fail(&oc->opts, "key", "a field name is made of A-Z a-z 0-9 . _ - @",
					   err);
	if (kw_format_parse(cd_opt_get(&oc->opts, "format"), &s->format) < 0)
		return cd_opt_fail(&oc->opts, "format", "expected json, msgpack or raw", err);
	s->codec = cd_opt_get(&oc->opts, "compression");
	if (!s->codec)
		s->codec = "zstd";
	for (const char *const *c = codecs;; c++) {
		if (!*c)
			return cd_opt_fail(&oc->opts, "compression",
					   "expected none, gzip, snappy, lz4 or zstd", err);
		if (strcmp(*c, s->codec) == 0)
			break;
	}
	v = cd_opt_get(&oc->opts, "timestamp");
	if (v && strcmp(v, "record") != 0 && strcmp(v, "produce") != 0)
		return cd_opt_fail(&oc->opts, "timestamp", "expected produce or record", err);
	s->record_ts = v && strcmp(v, "record") == 0;
	if ((rc = cd_opt_size(&oc->opts, "max_inflight", CD_KAFKA_INFLIGHT_BYTES, &s->max_inflight, err)) < 0)
		return rc;
	if (s->max_inflight < 4096)
		return cd_opt_fail(&oc->opts, "max_inflight", "at least 4k", err);
	return 0;
}

static int conf_set(rd_kafka_conf_t *conf, const struct cd_output_conf *oc, const char *opt, const char *name,
		    const char *val, struct cd_err *err)
{
	char errstr[256];

	if (rd_kafka_conf_set(conf, name, val, errstr, sizeof(errstr)) == RD_KAFKA_CONF_OK)
		return 0;
	return cd_opt_fail(&oc->opts, opt, errstr, err);
}

/*
 * The producer's configuration: ours, then every properties.NAME (which
 * may override all but what delivery and tracegrep rely on). Checks every
 * name and value with librdkafka without connecting anywhere.
 */
static int build_conf(const struct cd_output_conf *oc, const struct kf_settings *s, rd_kafka_conf_t **out,
		      struct cd_err *err)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const char *v;
	int rc;

	if (!conf)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	if ((rc = conf_set(conf, oc, "address", "bootstrap.servers", s->brokers, err)) < 0 ||
	    (rc = conf_set(conf, oc, "address", "client.id", "clewd", err)) < 0 ||
	    (rc = conf_set(conf, oc, "address", "enable.idempotence", "true", err)) < 0 ||
	    (rc = conf_set(conf, oc, "address", "partitioner", KW_PARTITIONER, err)) < 0 ||
	    (rc = conf_set(conf, oc, "compression", "compression.codec", s->codec, err)) < 0 ||
	    /* every callback, logs included, on the loop thread through rd_kafka_poll() */
	    (rc = conf_set(conf, oc, "address", "log.queue", "true", err)) < 0)
		goto err_conf;
	if ((v = cd_opt_get(&oc->opts, "user")) &&
	    (rc = conf_set(conf, oc, "user", "sasl.username", v, err)) < 0)
		goto err_conf;
	if ((v = cd_opt_get(&oc->opts, "password")) &&
	    (rc = conf_set(conf, oc, "password", "sasl.password", v, err)) < 0)
		goto err_conf;
	for (unsigned i = 0; i < oc->opts.n; i++) {
		const char *k = oc->opts.v[i].key, *name = k + strlen("properties.");

		if (strncmp(k, "properties.", strlen("properties.")) != 0)
			continue;
		if ((strcmp(name, "enable.idempotence") == 0 && strcmp(oc->opts.v[i].val, "true") != 0) ||
		    (strcmp(name, "partitioner") == 0 && strcmp(oc->opts.v[i].val, KW_PARTITIONER) != 0)) {
			rc = cd_opt_fail(&oc->opts, k,
					 "fixed by clewd (idempotent producer, partitioner " KW_PARTITIONER
					 " as tracegrep computes it)",
					 err);
			goto err_conf;
		}
		if (strcmp(name, "bootstrap.servers") == 0 || strcmp(name, "log.queue") == 0) {
			rc = cd_opt_fail(&oc->opts, k,
					 "set by clewd (give the brokers in the URI or brokers:)", err);
			goto err_conf;
		}
		if ((rc = conf_set(conf, oc, k, name, oc->opts.v[i].val, err)) < 0)
			goto err_conf;
	}
	*out = conf;
	return 0;

err_conf:
	rd_kafka_conf_destroy(conf);
	return rc;
}

static int kafka_check(const struct cd_output_conf *oc, struct cd_err *err)
{
	struct kf_settings s;
	rd_kafka_conf_t *conf;
	bool templated;
	int rc;

	if ((rc = parse_settings(oc, &s, &templated, err)) < 0)
		return rc;
	if ((rc = build_conf(oc, &s, &conf, err)) < 0)
		return rc;
	rd_kafka_conf_destroy(conf);
	return 0;
}

/* --- records: fields, key, topic ---------------------------------------- */

/* The view of field @name (@n bytes) of @r: a fixed field or an attribute. Absent: ptr NULL. */
static struct fmt_str field(const struct fmt_record *r, const char *name, size_t n)
{
	static const struct {
		const char *name;
		size_t off;
	} fixed[] = {
		{"trace", offsetof(struct fmt_record, trace)},
		{"span", offsetof(struct fmt_record, span)},
		{"parent", offsetof(struct fmt_record, parent)},
		{"service", offsetof(struct fmt_record, service)},
		{"method", offsetof(struct fmt_record, method)},
		{"path", offsetof(struct fmt_record, path)},
		{"message", offsetof(struct fmt_record, message)},
	};
	struct fmt_str none = {NULL, 0, FMT_ENC_RAW};

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strlen(fixed[i].name) == n && memcmp(fixed[i].name, name, n) == 0)
			return *(const struct fmt_str *)(const void *)((const char *)r + fixed[i].off);
	if (n == 5 && memcmp(name, "level", 5) == 0)
		return r->level_text.ptr ? r->level_text
					 : fmt_str_c(fmt_level_name((enum fmt_level)r->level));
	for (uint16_t i = 0; i < r->nattrs; i++)
		if (r->attrs[i].key.len == n && memcmp(r->attrs[i].key.ptr, name, n) == 0)
			return r->attrs[i].val;
	return none;
}

/* Make *buf (*cap bytes) hold at least @need bytes. Return: 0 or -CD_ENOMEM. */
static int grow_buf(char **buf, size_t *cap, size_t need)
{
	size_t c = *cap ? *cap : 4096;
	char *n;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	n = realloc(*buf, c);
	if (!n)
		return -CD_ENOMEM;
	*buf = n;
	*cap = c;
	return 0;
}

static int grow(struct out_kafka_state *k, size_t need)
{
	return grow_buf(&k->buf, &k->cap, need);
}

/*
 * The plain bytes of @v: the view itself when it holds no escape (the
 * chunk codec stores values decoded), else decoded into k->kbuf.
 */
static const char *plain(struct out_kafka_state *k, const struct fmt_str *v, size_t *len)
{
	if (v->enc == FMT_ENC_RAW) {
		*len = v->len;
		return v->ptr;
	}
	if (grow_buf(&k->kbuf, &k->kcap, v->len + 1) < 0) {
		*len = 0;
		return NULL;
	}
	*len = fmt_str_decode(v, k->kbuf);
	return k->kbuf;
}

/* Render the topic template for @r into k->topic_buf. */
static const char *render_topic(struct out_kafka_state *k, const struct fmt_record *r)
{
	char *o = k->topic_buf;
	size_t n = 0;

	for (const char *p = k->set.topic; *p && n < CD_KAFKA_TOPIC_LEN_MAX;) {
		const char *end;
		struct fmt_str v;
		char dec[CD_KAFKA_TOPIC_LEN_MAX];
		size_t vlen;

		if (!(p[0] == '$' && p[1] == '{')) {
			o[n++] = *p++;
			continue;
		}
		end = strchr(p + 2, '}'); /* check() made sure it is there */
		v = field(r, p + 2, (size_t)(end - p - 2));
		p = end + 1;
		if (!v.ptr || v.len == 0) {
			v = fmt_str_c(KF_TOPIC_NONE);
		} else if (v.enc != FMT_ENC_RAW && v.len <= sizeof(dec)) {
			vlen = fmt_str_decode(&v, dec);
			v = fmt_str_n(dec, vlen);
		}
		/* a value may hold anything: what a topic name cannot is written '_' */
		for (uint32_t i = 0; i < v.len && n < CD_KAFKA_TOPIC_LEN_MAX; i++)
			o[n++] = topic_char(v.ptr[i]) ? v.ptr[i] : '_';
	}
	o[n] = '\0';
	return o;
}

static void topics_release(struct out_kafka_state *k)
{
	for (unsigned i = 0; i < k->ntopics; i++) {
		rd_kafka_topic_destroy(k->topics[i].rkt);
		free(k->topics[i].name);
	}
	k->ntopics = 0;
}

/* The handle of topic @name, opened on first use. */
static rd_kafka_topic_t *topic_get(struct out_kafka_state *k, const char *name)
{
	struct kf_topic *t;

	for (unsigned i = 0; i < k->ntopics; i++)
		if (strcmp(k->topics[i].name, name) == 0)
			return k->topics[i].rkt;
	if (k->ntopics == CD_KAFKA_TOPICS_MAX)
		topics_release(k); /* messages in flight keep their own references */
	t = &k->topics[k->ntopics];
	t->name = cd_strdup(name);
	if (!t->name)
		return NULL;
	t->rkt = rd_kafka_topic_new(k->rk, name, NULL);
	if (!t->rkt) {
		free(t->name);
		return NULL;
	}
	k->ntopics++;
	return t->rkt;
}

/*
 * The raw payload of a record: the line as read when the chunk kept it,
 * else the record in its own format (as cli/archive.c writes it: a pipe
 * line, or a JSON object and then its continuation lines).
 */
static int raw_payload(struct out_kafka_state *k, const struct fmt_record *r, const struct record_src *src,
		       const char **out, size_t *len)
{
	size_t need = 4096, n = 0;
	int rc;

	if (src->line.ptr) {
		*out = src->line.ptr;
		*len = src->line.len;
		return 0;
	}
	if (r->format == FMT_JSON) {
		k->again = *r;
		k->again.cont = (struct fmt_str){NULL, 0, FMT_ENC_RAW};
		k->again.flags &= ~(uint32_t)FMT_F_CONT;
	}
	for (;;) {
		if (grow(k, need) < 0)
			return -CD_ENOMEM;
		if (r->format == FMT_JSON)
			rc = fmt_json_emit(&k->again, FMT_JSON_IDS, k->buf, k->cap, &n);
		else
			rc = fmt_pipe_emit(r, k->buf, k->cap, &n);
		if (rc == 0)
			break;
		if (rc != -FMT_ETRUNC || k->cap > CD_EMIT_MAX)
			return -CD_ECORRUPT;
		need = k->cap * 2;
	}
	if (r->format == FMT_JSON && r->cont.ptr) {
		if (grow(k, n + 1 + r->cont.len) < 0)
			return -CD_ENOMEM;
		k->buf[n++] = '\n';
		memcpy(k->buf + n, r->cont.ptr, r->cont.len);
		n += r->cont.len;
	}
	*out = k->buf;
	*len = n;
	return 0;
}

/* --- producing ------------------------------------------------------------ */

static struct kf_chunk *slot_of(struct out_kafka_state *k, uintptr_t seq)
{
	for (unsigned i = 0; i < CD_KAFKA_CHUNKS_MAX; i++)
		if (k->slots[i].used && (uintptr_t)k->slots[i].seq == seq)
			return &k->slots[i];
	return NULL;
}

static void slot_stop(struct kf_chunk *s, const char *why, bool fatal)
{
	if (!s->why[0])
		cd_strlcpy(s->why, why, sizeof(s->why));
	s->stop = true;
	s->fatal |= fatal;
}

/*
 * Hand one message to librdkafka (copied). Return: 0; 1 when its queue
 * is full (try the same record again later); -1 when the record cannot
 * be produced (the chunk is stopped).
 */
static int produce(struct out_kafka_state *k, struct kf_chunk *s, rd_kafka_topic_t *rkt, const char *key,
		   size_t klen, const char *val, size_t vlen, int64_t ts_ms)
{
	rd_kafka_vu_t vu[7];
	rd_kafka_error_t *e;
	size_t n = 0;
	char why[200];

	vu[n].vtype = RD_KAFKA_VTYPE_RKT;
	vu[n++].u.rkt = rkt;
	vu[n].vtype = RD_KAFKA_VTYPE_PARTITION;
	vu[n++].u.i32 = RD_KAFKA_PARTITION_UA;
	vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
	vu[n++].u.i = RD_KAFKA_MSG_F_COPY;
	vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
	vu[n].u.mem.ptr = (void *)(uintptr_t)val; /* F_COPY: librdkafka only reads it */
	vu[n++].u.mem.size = vlen;
	if (key) {
		vu[n].vtype = RD_KAFKA_VTYPE_KEY;
		vu[n].u.mem.ptr = (void *)(uintptr_t)key;
		vu[n++].u.mem.size = klen;
	}
	vu[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
	vu[n++].u.ptr =
		(void *)(uintptr_t)s->seq; /* on 32 bits the low half: chunks in flight differ there */
	if (ts_ms > 0) {
		vu[n].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
		vu[n++].u.i64 = ts_ms;
	}
	e = rd_kafka_produceva(k->rk, vu, n);
	if (!e) {
		s->produced++;
		k->inflight_msgs++;
		k->inflight_bytes += vlen + klen;
		return 0;
	}
	if (rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
		rd_kafka_error_destroy(e);
		return 1;
	}
	snprintf(why, sizeof(why), "kafka: cannot produce to %s: %s", rd_kafka_topic_name(rkt),
		 rd_kafka_error_string(e));
	rd_kafka_error_destroy(e);
	k->errors++;
	slot_stop(s, why, false);
	return -1;
}

/* Start producing slot @i: position the cursor at its first record. */
static int start_slot(struct out_kafka_state *k, int i)
{
	struct kf_chunk *s = &k->slots[i];
	struct cd_err err = {0, 0, ""};

	k->cur = i;
	chunk_iter_init(&k->it, s->c);
	k->line_off = 0;
	if (k->set.format == KW_JSON && out_lines_render(&k->lines, s->c, CD_OUTFMT_LOGSTASH, &err) < 0) {
		slot_stop(s, err.msg, err.code == -CD_ECORRUPT);
		return -1;
	}
	return 0;
}

/* The next slot to produce: the oldest taken one with records left. */
static int next_slot(const struct out_kafka_state *k)
{
	int best = -1;

	for (int i = 0; i < (int)CD_KAFKA_CHUNKS_MAX; i++) {
		const struct kf_chunk *s = &k->slots[i];
		if (s->used && !s->stop && s->produced < s->total &&
		    (best < 0 || s->arrival < k->slots[best].arrival))
			best = i;
	}
	return best;
}

/* Produce one record of the current slot. Return: 0 go on, 1 pause (retry it later), -1 slot stopped. */
static int produce_next(struct out_kafka_state *k, struct kf_chunk *s)
{
	struct record_src src;
	struct chunk_iter save = k->it;
	const uint8_t *item = k->it.p;
	const char *val = NULL, *key = NULL;
	size_t vlen = 0, klen = 0, save_off = k->line_off;
	rd_kafka_topic_t *rkt;
	int64_t ts_ms = 0;
	int rc;

	rc = chunk_iter_next(&k->it, &k->rec, &src);
	if (rc != 1) {
		slot_stop(s, "kafka: the chunk does not decode", true);
		return -1;
	}
	switch (k->set.format) {
	case KW_JSON: {
		const char *p = k->lines.buf + k->line_off;
		const char *nl =
			k->line_off < k->lines.len ? memchr(p, '\n', k->lines.len - k->line_off) : NULL;

		if (!nl) {
			slot_stop(s, "kafka: fewer rendered lines than records", true);
			return -1;
		}
		val = p;
		vlen = (size_t)(nl - p);
		k->line_off += vlen + 1;
		break;
	}
	case KW_MSGPACK:
		/* the record's own msgpack item in the chunk: what record_pack() wrote */
		val = (const char *)item;
		vlen = (size_t)(k->it.p - item);
		break;
	case KW_RAW:
		if ((rc = raw_payload(k, &k->rec, &src, &val, &vlen)) < 0) {
			slot_stop(s, "kafka: a record cannot be written", rc == -CD_ECORRUPT);
			return -1;
		}
		break;
	}
	if (k->inflight_msgs && k->inflight_bytes + vlen > k->set.max_inflight)
		goto pause;
	if (k->set.key[0]) {
		struct fmt_str v = field(&k->rec, k->set.key, strlen(k->set.key));

		if (v.ptr && !(key = plain(k, &v, &klen))) {
			slot_stop(s, "kafka: out of memory", false);
			return -1;
		}
		if (!key)
			key = ""; /* a record without the field: the empty key */
	}
	rkt = topic_get(k, k->templated ? render_topic(k, &k->rec) : k->set.topic);
	if (!rkt) {
		slot_stop(s, "kafka: cannot open a topic handle", false);
		return -1;
	}
	if (k->set.record_ts && k->rec.has_ts && k->rec.ts_ns >= 1000000)
		ts_ms = k->rec.ts_ns / 1000000;
	rc = produce(k, s, rkt, key, klen, val, vlen, ts_ms);
	if (rc == 1)
		goto pause;
	return rc;

pause:
	k->it = save;
	k->line_off = save_off;
	return 1;
}

/* Produce what can be produced now, chunk after chunk, in the order taken. */
static void pump(struct out_kafka_state *k)
{
	while (!k->fatal) {
		struct kf_chunk *s;

		if (k->cur < 0) {
			int i = next_slot(k);
			if (i < 0 || start_slot(k, i) < 0) {
				k->cur = -1;
				if (i < 0)
					return;
				continue;
			}
		}
		s = &k->slots[k->cur];
		while (!s->stop && s->produced < s->total)
			if (produce_next(k, s) == 1)
				return; /* queue full or max_inflight: poll() goes on */
		k->cur = -1;
	}
}

/* Report every chunk whose messages are all accounted for. */
static void report(struct out_kafka_state *k)
{
	for (int i = 0; i < (int)CD_KAFKA_CHUNKS_MAX; i++) {
		struct kf_chunk *s = &k->slots[i];
		enum out_result r;

		if (!s->used || (!s->stop && s->produced < s->total) ||
		    s->delivered + s->failed < s->produced)
			continue;
		if (k->cur == i)
			k->cur = -1;
		s->used = false;
		r = s->fatal ? OUT_FAIL : s->stop ? OUT_RETRY : OUT_OK;
		if (!k->closing)
			pl_out_done(k->pl, k->idx, s->seq, r, s->why[0] ? s->why : NULL);
	}
}

/* --- librdkafka's callbacks (on the loop thread, from rd_kafka_poll()) ---- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct out_kafka_state *k = opaque;
	struct kf_chunk *s = slot_of(k, (uintptr_t)m->_private);
	char why[200];

	(void)rk;
	k->inflight_msgs--;
	k->inflight_bytes -= m->len + m->key_len;
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

static int producer_start(struct out_kafka_state *k, struct cd_err *err)
{
	rd_kafka_conf_t *conf;
	char errstr[512];
	int rc;

	if ((rc = build_conf(k->oc, &k->set, &conf, err)) < 0)
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
static void producer_stop(struct out_kafka_state *k, int wait_ms)
{
	if (!k->rk)
		return;
	if (wait_ms > 0)
		rd_kafka_flush(k->rk, wait_ms);
	rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	rd_kafka_flush(k->rk, 1000); /* serves the purged messages' reports */
	rd_kafka_poll(k->rk, 0);
	topics_release(k);
	rd_kafka_destroy(k->rk);
	k->rk = NULL;
	/* a report that never came: the chunk is given back all the same */
	for (unsigned i = 0; i < CD_KAFKA_CHUNKS_MAX; i++)
		if (k->slots[i].used) {
			slot_stop(&k->slots[i], "kafka: producer restarted", false);
			k->slots[i].failed = k->slots[i].produced - k->slots[i].delivered;
		}
	k->inflight_msgs = k->inflight_bytes = 0;
	k->cur = -1;
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
	if ((rc = parse_settings(oc, &k->set, &k->templated, err)) < 0)
		goto err_free;
	if ((rc = producer_start(k, err)) < 0)
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
	if (!k->rk && producer_start(k, err) < 0)
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
	pump(k);
	/* reported only from poll(): the pipeline knows the chunk is pending once we return */
	if (s->stop && s->produced == 0) {
		enum out_result r = s->fatal ? OUT_FAIL : OUT_RETRY;

		cd_err_set(err, -CD_EIO, 0, "%s", s->why);
		if (k->cur == (int)(s - k->slots))
			k->cur = -1;
		s->used = false;
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
		producer_stop(k, 0);
		report(k);
		if (producer_start(k, &err) < 0)
			cd_log(FMT_LEVEL_ERROR, "kafka: cannot restart the producer", "output", k->oc->name,
			       "error", err.msg, NULL);
		return;
	}
	pump(k);
	report(k);
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
	producer_stop(k, CD_KAFKA_CLOSE_MS);
	out_lines_release(&k->lines);
	free(k->buf);
	free(k->kbuf);
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
