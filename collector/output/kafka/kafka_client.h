/*
 * output/kafka/kafka_client.h - what every librdkafka client of clewd
 * (the kafka output's producer, the kafka input's consumer) configures
 * the same way: the brokers, the client id, logs on the polled queue,
 * SASL credentials (secrets never quoted in errors), and the
 * properties.NAME passed through, minus what clewd fixes. Built in
 * kafka_conf.c.
 */
#ifndef CD_KAFKA_CLIENT_H
#define CD_KAFKA_CLIENT_H

#include <stdbool.h>

#include <librdkafka/rdkafka.h>

#include "options.h"

/* kf_topic_char() - whether @c may be in a topic name (A-Z a-z 0-9 . _ -). */
bool kf_topic_char(char c);

/* One librdkafka property clewd sets for a client; @opt is the option errors name. */
struct kf_prop {
	const char *opt;  /* the option it comes from (errors point there) */
	const char *name; /* librdkafka's property */
	const char *val;  /* its value */
};

/*
 * A property properties.NAME may not change: @val, when not NULL, is the
 * only value accepted (repeating clewd's); @why says so in the error.
 */
struct kf_fixed {
	const char *name; /* librdkafka's property */
	const char *val;  /* the one value accepted, or NULL: never given */
	const char *why;  /* the error's text */
};

/*
 * kf_conf_client() - a librdkafka configuration for the client whose
 * options are @opts (table @table, for secrets): bootstrap.servers
 * @brokers, client.id, log.queue, sasl.username/password from user and
 * password; then @own (NULL name last), then every properties.NAME, which
 * may override all but bootstrap.servers, log.queue and @fixed (NULL name
 * last). Checks every name and value with librdkafka without connecting.
 * Return: 0 with *@out (the caller's), or -CD_EINVAL/-CD_ENOMEM with @err.
 */
int kf_conf_client(const struct cd_opts *opts, const struct cd_opt_spec *table, const char *brokers,
		   const struct kf_prop *own, const struct kf_fixed *fixed, rd_kafka_conf_t **out,
		   struct cd_err *err);

#endif
