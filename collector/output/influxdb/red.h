/*
 * output/influxdb/red.h - RED aggregates (rate, errors, duration) per interval,
 * derived by the influxdb output from the records it sends.
 *
 * A sample is one unit of work with a duration and an outcome (a span
 * record, or a request's closing record), or one log record to count.
 * Samples are summed per series: the interval their timestamp falls in
 * (aligned to the epoch), their kind and up to RED_LABELS labels
 * (service, method, route, span name; or service, level for logs). A
 * series keeps a count, an error count, the sum and largest duration and
 * a log-linear histogram of durations (16 buckets per power of two), from
 * which the percentiles come within 1/32 (3.2 %) of the exact value
 * (durations below 16 us are exact).
 *
 * A series is given to red_flush()'s callback when the records seen have
 * reached past its interval's end by @lateness (event time: a backfill of
 * old logs is summed by the logs' own clock); it is then final and
 * forgotten, and a later sample for that interval is late: not summed,
 * counted (red_stats()). A series is also given when the wall clock has
 * passed its end by @lateness and it took no sample for @lateness (a
 * quiet service); it is then kept for 6 lateness periods more, so that a
 * straggler updates it and it is given again with the whole sums (written
 * as the same point, which InfluxDB overwrites): a point is never
 * replaced by a partial one. At most @max_series series are held; past
 * that, samples of a new series go to the interval's overflow series
 * (service "_other", other labels empty), and when even that cannot be
 * made they are dropped and counted.
 * Not thread-safe.
 */
#ifndef CD_OUTPUT_RED_H
#define CD_OUTPUT_RED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RED_LABELS 4

enum red_kind {
	RED_REQUEST = 0, /* a request's closing record: status, dur_us */
	RED_SPAN,	 /* an event=span record */
	RED_LOG,	 /* a plain log record (count only) */
};

struct red_str {
	const char *p; /* bytes (NULL or n == 0: empty) */
	size_t n;      /* length */
};

/* One final series, as given to the callback (labels borrowed for the call). */
struct red_row {
	uint8_t kind;			  /* enum red_kind */
	int64_t start_ns;		  /* the interval's start (epoch-aligned) */
	struct red_str label[RED_LABELS]; /* as added (cut at CD_INFLUX_NAME_MAX) */
	uint64_t count;			  /* samples */
	uint64_t errors;		  /* of which errors */
	uint64_t p50_us, p90_us, p99_us;  /* duration percentiles (nearest rank) */
	uint64_t max_us;		  /* largest duration */
	uint64_t sum_us;		  /* sum of durations */
	bool has_dur;			  /* durations were given (not for RED_LOG) */
};

struct red_stats {
	uint64_t series;   /* series held now */
	uint64_t late;	   /* samples for an interval already final */
	uint64_t overflow; /* samples folded into an overflow series */
	uint64_t dropped;  /* samples that fitted nowhere */
};

struct red;

/*
 * red_new() - an aggregator of @interval_ns intervals, final @lateness_ns
 * after their end, holding at most @max_series series.
 * Return: 0 or -CD_ENOMEM (*out untouched) / -CD_EINVAL (interval <= 0).
 */
int red_new(struct red **out, int64_t interval_ns, int64_t lateness_ns, unsigned max_series);
void red_free(struct red *r); /* NULL is a no-op */

/* red_clock() - the time of the samples added next (wall clock and monotonic): call once per batch. */
void red_clock(struct red *r, int64_t now_real_ns, int64_t now_mono_ns);

/*
 * red_add() - one sample at @ts_ns. @dur_us is ignored for RED_LOG.
 * Return: 0; 1 late or dropped (counted); -CD_ENOMEM (not summed).
 */
int red_add(struct red *r, enum red_kind kind, int64_t ts_ns, const struct red_str label[RED_LABELS],
	    uint64_t dur_us, bool error);

/*
 * red_flush() - give every series that is due (above) and has new samples
 * to @fn, as of wall clock @now_real_ns and monotonic @now_mono_ns; @all:
 * every series with new samples, due or not, and forget them all (at
 * close). Stops at the first negative return of @fn (that series stays
 * due) and returns it.
 * Return: series given, or @fn's negative code.
 */
typedef int (*red_emit_fn)(void *arg, const struct red_row *row);
int red_flush(struct red *r, int64_t now_real_ns, int64_t now_mono_ns, bool all, red_emit_fn fn, void *arg);

void red_stats(const struct red *r, struct red_stats *out);

/* red_hist_bucket()/red_hist_value() - the histogram's bucket of @v, and the value a bucket reports (for tests). */
unsigned red_hist_bucket(uint64_t v);
uint64_t red_hist_value(unsigned bucket);

#endif
