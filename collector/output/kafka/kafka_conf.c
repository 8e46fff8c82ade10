/*
 * output/kafka/kafka_conf.c - the Kafka output's options: checked and read
 * into its settings, and librdkafka's producer configuration built from
 * them and the properties.* passed through (see out_kafka.c); the part
 * every clewd Kafka client shares (kafka_client.h: the kafka input's
 * consumer too).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/kafka/kafka_client.h"
#include "output/kafka/out_kafka_impl.h"
#include "util/util.h"
#include "util/banned.h"

bool kf_topic_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '_' || c == '-';
}

static bool field_char(char c)
{
	return kf_topic_char(c) || c == '@';
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
		if (!kf_topic_char(*p))
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

int kf_parse_settings(const struct cd_output_conf *oc, struct kf_settings *s, bool *templated,
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

static int conf_set(rd_kafka_conf_t *conf, const struct cd_opts *opts, const struct cd_opt_spec *table,
		    const char *opt, const char *name, const char *val, struct cd_err *err)
{
	char errstr[256];

	if (rd_kafka_conf_set(conf, name, val, errstr, sizeof(errstr)) == RD_KAFKA_CONF_OK)
		return 0;
	/* librdkafka's message quotes the value: not a secret's */
	if (cd_opt_secret(table, opt))
		return cd_opt_fail(opts, opt, "librdkafka refuses this value", err);
	return cd_opt_fail(opts, opt, errstr, err);
}

/* properties.NAME=@val: refused when clewd sets NAME itself (@fixed) to something else. */
static int check_fixed(const struct cd_opts *opts, const char *key, const char *name, const char *val,
		       const struct kf_fixed *fixed, struct cd_err *err)
{
	if (strcmp(name, "bootstrap.servers") == 0 || strcmp(name, "log.queue") == 0)
		return cd_opt_fail(opts, key, "set by clewd (give the brokers in the URI or brokers:)", err);
	for (const struct kf_fixed *f = fixed; f && f->name; f++)
		if (strcmp(name, f->name) == 0 && (!f->val || strcmp(val, f->val) != 0))
			return cd_opt_fail(opts, key, f->why, err);
	return 0;
}

int kf_conf_client(const struct cd_opts *opts, const struct cd_opt_spec *table, const char *brokers,
		   const struct kf_prop *own, const struct kf_fixed *fixed, rd_kafka_conf_t **out,
		   struct cd_err *err)
{
	const char *const addr = cd_opt_get(opts, "address") ? "address" : "brokers";
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const char *v;
	int rc;

	if (!conf)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	if ((rc = conf_set(conf, opts, table, addr, "bootstrap.servers", brokers, err)) < 0 ||
	    (rc = conf_set(conf, opts, table, addr, "client.id", "clewd", err)) < 0 ||
	    /* every callback, logs included, on the loop thread through the polled queue */
	    (rc = conf_set(conf, opts, table, addr, "log.queue", "true", err)) < 0)
		goto err_conf;
	if ((v = cd_opt_get(opts, "user")) &&
	    (rc = conf_set(conf, opts, table, "user", "sasl.username", v, err)) < 0)
		goto err_conf;
	if ((v = cd_opt_get(opts, "password")) &&
	    (rc = conf_set(conf, opts, table, "password", "sasl.password", v, err)) < 0)
		goto err_conf;
	for (const struct kf_prop *p = own; p && p->name; p++)
		if ((rc = conf_set(conf, opts, table, p->opt, p->name, p->val, err)) < 0)
			goto err_conf;
	for (unsigned i = 0; i < opts->n; i++) {
		const char *k = opts->v[i].key, *name = k + strlen("properties.");

		if (strncmp(k, "properties.", strlen("properties.")) != 0)
			continue;
		if ((rc = check_fixed(opts, k, name, opts->v[i].val, fixed, err)) < 0 ||
		    (rc = conf_set(conf, opts, table, k, name, opts->v[i].val, err)) < 0)
			goto err_conf;
	}
	*out = conf;
	return 0;

err_conf:
	rd_kafka_conf_destroy(conf);
	return rc;
}

/*
 * The producer's configuration: the client's (kf_conf_client()), the
 * idempotent producer and the partitioner tracegrep relies on, fixed.
 * zstd at level 1, not librdkafka's 3: on the Logstash events of both
 * bench corpora, in 1 MB batches, 10-12 % less CPU for output no larger
 * (BENCHMARKS.md, Kafka output); properties.compression.level overrides it.
 */
int kf_build_conf(const struct cd_output_conf *oc, const struct kf_settings *s, rd_kafka_conf_t **out,
		  struct cd_err *err)
{
	static const char fixed_why[] = "fixed by clewd (idempotent producer, partitioner " KW_PARTITIONER
					" as tracegrep computes it)";
	const struct kf_prop own[] = {
		{"address", "enable.idempotence", "true"},
		{"address", "partitioner", KW_PARTITIONER},
		{"compression", "compression.codec", s->codec},
		/* last: for another codec its NULL name ends the list */
		{"compression", strcmp(s->codec, "zstd") == 0 ? "compression.level" : NULL, "1"},
		{NULL, NULL, NULL},
	};
	static const struct kf_fixed fixed[] = {
		{"enable.idempotence", "true", fixed_why},
		{"partitioner", KW_PARTITIONER, fixed_why},
		{NULL, NULL, NULL},
	};

	return kf_conf_client(&oc->opts, oc->plugin->opts, s->brokers, own, fixed, out, err);
}
