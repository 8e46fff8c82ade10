/*
 * query/filter.h - which transactions a search wants, built from strings
 * (tracegrep's options, and later an HTTP query's parameters) by one parser.
 *
 * Every condition must hold (AND). Repeated --service, --route, --attr and
 * --text must all hold; repeated --method and --status are alternatives
 * (a span has one method; a transaction one worst status).
 */
#ifndef QUERY_FILTER_H
#define QUERY_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fmt/record.h"
#include "query/summary.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A status spec: 500, 5xx, >=400, >400, <=399, <400 as an inclusive range. */
struct qy_status {
	int lo, hi;
};

struct qy_filter {
	char **services; /* the transaction ran in each (a span's service) */
	size_t nservices;
	char **routes; /* fnmatch(3) globs: a span's path matches each ('*' crosses '/') */
	size_t nroutes;
	char **methods; /* a span has one of these methods (with each route, when given) */
	size_t nmethods;
	struct qy_status *statuses; /* the worst status is in one of these */
	size_t nstatuses;
	bool error;	    /* only failed transactions */
	int64_t min_dur_ns; /* duration >= this (0: no bound) */
	int64_t max_dur_ns; /* duration <= this (INT64_MAX: no bound) */
	char **attr_keys;   /* attr_keys[i] had the value attr_vals[i] in some record */
	char **attr_vals;
	size_t nattrs;
	void *texts[QY_TEXTS_MAX]; /* compiled regexes (pcre2_code *) on a record's message */
	char *text_src[QY_TEXTS_MAX];
	size_t ntexts;
	int64_t since_ns; /* start >= this (INT64_MIN: no bound) */
	int64_t until_ns; /* start <= this (INT64_MAX: no bound) */
};

/* qy_filter_init() - the filter that takes everything. */
void qy_filter_init(struct qy_filter *f);
void qy_filter_release(struct qy_filter *f);

/*
 * qy_filter_add() - add the condition @name (service, route, method,
 * status, error, min-duration, max-duration, attr, text, since, until)
 * with its value @value (NULL or "" for error, which also takes "true"/
 * "false"). @now_ns is the time ages (since 2h) count back from. On a
 * bad name or value, @msg (of @msglen bytes) says why.
 * Return: 0, -QY_EINVAL or -QY_ENOMEM.
 */
int qy_filter_add(struct qy_filter *f, const char *name, const char *value, int64_t now_ns, char *msg,
		  size_t msglen);

/* qy_filter_keys() - add the keys of the filter's attr conditions to @k. Return: as qy_keys_add(). */
int qy_filter_keys(const struct qy_filter *f, struct qy_keys *k);

/*
 * qy_filter_texts() - which of the filter's --text regexes match record
 * @r's message or continuation lines (bit i for regex i); @match is PCRE2
 * match data for the thread (see struct qy_txns). 0 without regexes.
 */
uint32_t qy_filter_texts(const struct qy_filter *f, const struct fmt_record *r, void *match);

/* qy_filter_match() - whether summary @s (made with @keys) passes every condition. */
bool qy_filter_match(const struct qy_filter *f, const struct qy_summary *s, const struct qy_keys *keys);

/*
 * qy_parse_duration() - 500us, 250ms, 1.5s, 2m, 1h (also ns, and the micro
 * sign for us; a unit is required). Return: 0 or -QY_EINVAL.
 */
int qy_parse_duration(const char *s, int64_t *ns);
/* qy_parse_time() - RFC 3339, or an age before @now_ns (90s, 15m, 2h, 7d). Return: 0 or -QY_EINVAL. */
int qy_parse_time(const char *s, int64_t now_ns, int64_t *ns);
/* qy_parse_status() - a status spec (see struct qy_status). Return: 0 or -QY_EINVAL. */
int qy_parse_status(const char *s, struct qy_status *st);

#ifdef __cplusplus
}
#endif

#endif
