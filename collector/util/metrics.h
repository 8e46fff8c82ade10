/*
 * util/metrics.h - building a Prometheus text exposition (format 0.0.4)
 * for clewd's /metrics.
 *
 * Samples are added in any order by whoever owns a counter (the
 * pipeline, each input and output); metrics_text() groups them by
 * family, each family with its one HELP and TYPE line, as promtool
 * requires. Not thread-safe: built on the loop thread per scrape.
 */
#ifndef CD_UTIL_METRICS_H
#define CD_UTIL_METRICS_H

#include <stddef.h>

enum metrics_type { METRICS_COUNTER, METRICS_GAUGE };

struct metrics;

/* metrics_new() - an empty exposition. Return: 0 or -CD_ENOMEM. */
int metrics_new(struct metrics **out);
void metrics_free(struct metrics *m);

/* metrics_reset() - forget every sample, keep the buffers (next scrape). */
void metrics_reset(struct metrics *m);

/*
 * metrics_add() - one sample of @family (a valid metric name; counters
 * end in _total) with @labels, the text inside {...} or NULL (build it
 * with metrics_label()). @help and @type are taken from the family's
 * first sample. Out of memory: the sample is left out (the scrape shows
 * fewer series, the daemon goes on).
 */
void metrics_add(struct metrics *m, const char *family, enum metrics_type type, const char *help,
		 const char *labels, double value);

/*
 * metrics_label() - append KEY="VALUE" (VALUE escaped as the format
 * requires: backslash, double quote, newline) to the label text in
 * buf[0..cap), with a comma when it is not the first. Truncates safely.
 * Return: @buf.
 */
char *metrics_label(char *buf, size_t cap, const char *key, const char *value);

/* metrics_text() - the exposition, grouped (borrowed until the next call on @m). */
const char *metrics_text(struct metrics *m, size_t *len);

#endif
