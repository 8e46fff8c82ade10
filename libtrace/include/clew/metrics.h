/*
 * clew/metrics.h - libclew's metrics: counters, gauges and histograms of
 * a client. It includes clew/clew.h, whose conventions hold here.
 */
#ifndef CLEW_METRICS_H
#define CLEW_METRICS_H

#include "clew/clew.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Metrics
 *
 * Counters, gauges and histograms, registered on a client once (that
 * allocates) and then updated from any thread without a lock or an
 * allocation: each update is one or a few relaxed C11 atomic operations
 * on the metric's own cells (a histogram's sum is a double updated by
 * compare-and-swap). The client writes every metric as one record per
 * flush, from a background thread every flush interval (options:
 * metrics_interval_ms, environment: CLEW_METRICS_INTERVAL, default 10 s)
 * and at clew_flush() and clew_client_free(), to the same output as its
 * log records:
 *
 *   event=metric  metric=NAME  type=counter|gauge|histogram  value=V  TAGS...
 *
 * - counter: value is the total since registration (a cumulative sum,
 *   never reset by a flush);
 * - gauge: value is the last value set;
 * - histogram: value and count are the number of observations, sum their
 *   sum, and one attribute per bucket, le_BOUND=N, counts the
 *   observations <= BOUND (cumulative, as Prometheus buckets are), the
 *   last being le_+Inf (= count). BOUND is the bound's shortest exact
 *   decimal ("le_0.005=3"). The buckets are read one by one while other
 *   threads may observe, so a record taken under load may lag by the
 *   observations in flight; count is the sum of the buckets read, so it
 *   always matches them.
 * Metric records have no IDs (they belong to no request) and level INFO;
 * they are written whatever the level threshold is, unless it is OFF.
 * The client also writes the counter clew.dropped (records it could not
 * write: ring full, too long, write errors) at each flush once it has
 * dropped one, and at every flush in async mode.
 * Tags are key/values copied at registration and written with every
 * record of the metric. Registering a name again with the same type,
 * buckets and tags gives back the same metric; with any difference it is
 * refused. A metric handle is valid until clew_client_free() of its
 * client; an update after that is a use after free.
 */

/* Most tags on one metric. */
#define CLEW_METRIC_TAGS_MAX 8

/* Most bucket bounds of a histogram (the +Inf bucket not counted): all fit one record. */
#define CLEW_HIST_BUCKETS_MAX 40

/* Longest metric name, in bytes. */
#define CLEW_METRIC_NAME_MAX 128

/* A registered metric. Opaque; owned by its client. */
typedef struct clew_metric clew_metric;

enum clew_metric_type {
	CLEW_METRIC_COUNTER = 1, /* type=counter */
	CLEW_METRIC_GAUGE,	 /* type=gauge */
	CLEW_METRIC_HISTOGRAM,	 /* type=histogram */
};

enum clew_bucket_kind {
	CLEW_BUCKETS_FIXED = 1,	  /* bounds[0..n): finite, strictly ascending */
	CLEW_BUCKETS_EXPONENTIAL, /* start * factor^i for i < n; start > 0, factor > 1 */
};

/* The bucket bounds of a histogram; copied at registration. */
struct clew_buckets {
	int kind;	      /* enum clew_bucket_kind */
	const double *bounds; /* FIXED: n upper bounds */
	size_t n;	      /* number of bounds, 1..CLEW_HIST_BUCKETS_MAX (without +Inf) */
	double start;	      /* EXPONENTIAL: the first bound */
	double factor;	      /* EXPONENTIAL: each next bound is the previous times this */
};

/*
 * clew_counter_new(), clew_gauge_new(), clew_histogram_new() - register
 * a metric named @name (1..CLEW_METRIC_NAME_MAX bytes of [A-Za-z0-9._:-])
 * with @ntags tags (strings, numbers or bools; copied) on @c.
 * @out: set on success; untouched on failure.
 * Return: 0, -CLEW_EINVAL (bad name, tags or buckets; NULL @c or @out; the
 * name registered with another type, buckets or tags), -CLEW_ELIMIT (more
 * than CLEW_METRIC_TAGS_MAX tags or CLEW_HIST_BUCKETS_MAX bounds),
 * -CLEW_ENOMEM.
 * Thread-safety: any thread (registration takes the client's lock; the
 * first one may start the client's background thread).
 */
CLEW_API int clew_counter_new(clew_client *c, clew_metric **out, const char *name, const struct clew_kv *tags,
			      size_t ntags);
CLEW_API int clew_gauge_new(clew_client *c, clew_metric **out, const char *name, const struct clew_kv *tags,
			    size_t ntags);
CLEW_API int clew_histogram_new(clew_client *c, clew_metric **out, const char *name,
				const struct clew_buckets *b, const struct clew_kv *tags, size_t ntags);

/*
 * Updates: any thread, lock-free, no allocation.
 * Return: 0, or -CLEW_EINVAL for a NULL metric, one of another type, or a
 * NaN (nothing changed).
 */
CLEW_API int clew_counter_add(clew_metric *m, uint64_t n); /* wraps at 2^64 */
CLEW_API int clew_gauge_set(clew_metric *m, double v);
CLEW_API int clew_gauge_add(clew_metric *m, double delta); /* negative to subtract */
CLEW_API int clew_histogram_observe(clew_metric *m, double v);

/*
 * clew_metric_read() - the current value of @m: a counter's total, a
 * gauge's value, a histogram's count (the sum goes to *@sum when not
 * NULL). For tests and for hosts that export metrics another way.
 * Return: 0 or -CLEW_EINVAL.
 */
CLEW_API int clew_metric_read(const clew_metric *m, double *value, double *sum);

#ifdef __cplusplus
}
#endif

#endif
