/*
 * metric.c - counters, gauges and histograms, and their records.
 *
 * DESIGN: a metric is one allocation made at registration (the struct,
 * its name, its tags' strings, a histogram's bounds and bucket cells),
 * linked on its client and freed only with the client, so a handle never
 * dangles while the client lives. Updates touch only the metric's atomic
 * cells with relaxed operations: a counter is one fetch_add, a gauge one
 * store (or a CAS loop for add), a histogram one fetch_add on the bucket
 * found by binary search plus a CAS loop adding to the sum (a double kept
 * as its bits). No update locks, allocates or blocks; relaxed order is
 * enough because nothing else is published through these cells.
 * A flush reads the cells and writes one record per metric through the
 * same emit path as a log record (record.c). Reading a histogram while it
 * is updated gives buckets that each are exact at their own moment; count
 * is computed from those buckets, so a record is always self-consistent
 * (sum alone may include an observation the buckets do not yet show).
 * The metric list is guarded by the client's lock; a flush holds it while
 * it writes, so registration waits for a flush, never an update.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clew/metrics.h"
#include "fmt/str.h"
#include "internal.h"
#include "num.h"
#include "sink.h"

#define METRIC_MAGIC 0x6d657472u /* "metr" */

/* A flushed record: metric, type, value, count, sum, the buckets, the tags. */
_Static_assert(5 + CLEW_HIST_BUCKETS_MAX + 1 + CLEW_METRIC_TAGS_MAX <= FMT_ATTRS_MAX,
	       "a histogram's record must fit one fmt_record");

struct clew_metric {
	uint32_t magic;				   /* METRIC_MAGIC while registered */
	int type;				   /* enum clew_metric_type */
	struct clew_metric *next;		   /* the client's list */
	char *name;				   /* in this allocation */
	size_t ntags;				   /* used in tags */
	struct clew_kv tags[CLEW_METRIC_TAGS_MAX]; /* copied; strings in this allocation */
	atomic_uint_fast64_t count;		   /* counter: the total */
	_Atomic uint64_t bits;			   /* gauge: the value; histogram: the sum (double bits) */
	size_t nb;				   /* histogram: bounds (buckets are nb + 1) */
	double *bounds;				   /* histogram: in this allocation */
	atomic_uint_fast64_t *buckets;		   /* histogram: per-bucket (not cumulative) counts */
};

static uint64_t dbits(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

static double bitsd(uint64_t u)
{
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

static bool name_valid(const char *s)
{
	size_t n = s ? strnlen(s, CLEW_METRIC_NAME_MAX + 1) : 0;

	if (n == 0 || n > CLEW_METRIC_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		const char ch = s[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      ch == '.' || ch == '_' || ch == ':' || ch == '-'))
			return false;
	}
	return true;
}

/* The keys a metric record writes itself; a tag may not take them (nor le_*). */
static bool tag_key_valid(const char *k)
{
	static const char *const keys[] = {"metric", "type",  "value", "count",
					   "sum",    "event", "msg",   "message"};

	if (!k || !*k || strncmp(k, "le_", 3) == 0)
		return false;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(k, keys[i]) == 0)
			return false;
	return true;
}

/* Fill @bounds (room for CLEW_HIST_BUCKETS_MAX) from @b. Return: the count, or a negative code. */
static int bounds_from(const struct clew_buckets *b, double *bounds)
{
	if (!b || b->n == 0)
		return -CLEW_EINVAL;
	if (b->n > CLEW_HIST_BUCKETS_MAX)
		return -CLEW_ELIMIT;
	if (b->kind == CLEW_BUCKETS_FIXED) {
		if (!b->bounds)
			return -CLEW_EINVAL;
		for (size_t i = 0; i < b->n; i++) {
			if (!isfinite(b->bounds[i]) || (i && !(b->bounds[i] > b->bounds[i - 1])))
				return -CLEW_EINVAL;
			bounds[i] = b->bounds[i];
		}
		return (int)b->n;
	}
	if (b->kind == CLEW_BUCKETS_EXPONENTIAL) {
		double v = b->start;

		if (!isfinite(b->start) || !isfinite(b->factor) || !(b->start > 0) || !(b->factor > 1))
			return -CLEW_EINVAL;
		for (size_t i = 0; i < b->n; i++, v *= b->factor) {
			if (!isfinite(v))
				return -CLEW_EINVAL;
			bounds[i] = v;
		}
		return (int)b->n;
	}
	return -CLEW_EINVAL;
}

static bool kv_equal(const struct clew_kv *a, const struct clew_kv *b)
{
	if (a->type != b->type || strcmp(a->key, b->key) != 0)
		return false;
	switch (a->type) {
	case CLEW_KV_STR:
		return (a->v.s == NULL) == (b->v.s == NULL) && (!a->v.s || strcmp(a->v.s, b->v.s) == 0);
	case CLEW_KV_INT:
		return a->v.i == b->v.i;
	case CLEW_KV_DOUBLE:
		return dbits(a->v.d) == dbits(b->v.d);
	default:
		return a->v.b == b->v.b;
	}
}

/* Whether @m is what a registration of (@type, @bounds, @tags) asks for. */
static bool same_metric(const struct clew_metric *m, int type, const double *bounds, size_t nb,
			const struct clew_kv *tags, size_t ntags)
{
	if (m->type != type || m->nb != nb || m->ntags != ntags)
		return false;
	for (size_t i = 0; i < nb; i++)
		if (dbits(m->bounds[i]) != dbits(bounds[i]))
			return false;
	for (size_t i = 0; i < ntags; i++)
		if (!kv_equal(&m->tags[i], &tags[i]))
			return false;
	return true;
}

static int metric_new(clew_client *c, clew_metric **out, int type, const char *name, const double *bounds,
		      size_t nb, const struct clew_kv *tags, size_t ntags)
{
	struct clew_metric *m;
	size_t size, off, names;
	char *p;
	int rc = 0;

	if (!c || !out || !name_valid(name) || (ntags && !tags))
		return -CLEW_EINVAL;
	if (ntags > CLEW_METRIC_TAGS_MAX)
		return -CLEW_ELIMIT;
	names = strlen(name) + 1;
	for (size_t i = 0; i < ntags; i++) {
		if (!tag_key_valid(tags[i].key) || tags[i].type < CLEW_KV_STR || tags[i].type > CLEW_KV_BOOL)
			return -CLEW_EINVAL;
		names += strlen(tags[i].key) + 1;
		if (tags[i].type == CLEW_KV_STR && tags[i].v.s)
			names += strlen(tags[i].v.s) + 1;
	}

	pthread_mutex_lock(&c->lock);
	for (m = c->metrics; m; m = m->next) {
		if (strcmp(m->name, name) != 0)
			continue;
		if (same_metric(m, type, bounds, nb, tags, ntags))
			*out = m;
		else
			rc = -CLEW_EINVAL;
		goto out_unlock;
	}

	/* One allocation: the struct, the bucket cells, the bounds, then the strings. */
	off = sizeof(*m);
	size = off + (nb ? (nb + 1) * sizeof(atomic_uint_fast64_t) + nb * sizeof(double) : 0) + names;
	m = calloc(1, size);
	if (!m) {
		rc = -CLEW_ENOMEM;
		goto out_unlock;
	}
	m->type = type;
	if (nb) {
		m->buckets = (atomic_uint_fast64_t *)((char *)m + off);
		for (size_t i = 0; i <= nb; i++)
			atomic_init(&m->buckets[i], 0);
		off += (nb + 1) * sizeof(atomic_uint_fast64_t);
		m->bounds = (double *)((char *)m + off);
		memcpy(m->bounds, bounds, nb * sizeof(double));
		off += nb * sizeof(double);
	}
	m->nb = nb;
	p = (char *)m + off;
	m->name = p;
	p = stpcpy(p, name) + 1;
	for (size_t i = 0; i < ntags; i++) {
		m->tags[i] = tags[i];
		m->tags[i].key = p;
		p = stpcpy(p, tags[i].key) + 1;
		if (tags[i].type == CLEW_KV_STR && tags[i].v.s) {
			m->tags[i].v.s = p;
			p = stpcpy(p, tags[i].v.s) + 1;
		}
	}
	m->ntags = ntags;
	atomic_init(&m->count, 0);
	atomic_init(&m->bits, dbits(0.0));
	m->magic = METRIC_MAGIC;

	/* The first metric starts the periodic flush; failing that only costs the period. */
	if (c->interval_ms && clew__worker_start(c) < 0)
		clew__diag(c, CLEW_LEVEL_ERROR,
			   "metrics: cannot start the flush thread; flushed by clew_flush() only");
	m->next = c->metrics;
	c->metrics = m;
	*out = m;
out_unlock:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int clew_counter_new(clew_client *c, clew_metric **out, const char *name, const struct clew_kv *tags,
		     size_t ntags)
{
	return metric_new(c, out, CLEW_METRIC_COUNTER, name, NULL, 0, tags, ntags);
}

int clew_gauge_new(clew_client *c, clew_metric **out, const char *name, const struct clew_kv *tags,
		   size_t ntags)
{
	return metric_new(c, out, CLEW_METRIC_GAUGE, name, NULL, 0, tags, ntags);
}

int clew_histogram_new(clew_client *c, clew_metric **out, const char *name, const struct clew_buckets *b,
		       const struct clew_kv *tags, size_t ntags)
{
	double bounds[CLEW_HIST_BUCKETS_MAX];
	int nb = bounds_from(b, bounds);

	if (nb < 0)
		return nb;
	return metric_new(c, out, CLEW_METRIC_HISTOGRAM, name, bounds, (size_t)nb, tags, ntags);
}

static bool is(const clew_metric *m, int type)
{
	return m && m->magic == METRIC_MAGIC && m->type == type;
}

int clew_counter_add(clew_metric *m, uint64_t n)
{
	if (!is(m, CLEW_METRIC_COUNTER))
		return -CLEW_EINVAL;
	atomic_fetch_add_explicit(&m->count, n, memory_order_relaxed);
	return 0;
}

int clew_gauge_set(clew_metric *m, double v)
{
	if (!is(m, CLEW_METRIC_GAUGE) || isnan(v))
		return -CLEW_EINVAL;
	atomic_store_explicit(&m->bits, dbits(v), memory_order_relaxed);
	return 0;
}

/* Add @d to the double kept in @bits: a CAS loop, lock-free. */
static void add_double(_Atomic uint64_t *bits, double d)
{
	uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);

	while (!atomic_compare_exchange_weak_explicit(bits, &old, dbits(bitsd(old) + d), memory_order_relaxed,
						      memory_order_relaxed))
		;
}

int clew_gauge_add(clew_metric *m, double delta)
{
	if (!is(m, CLEW_METRIC_GAUGE) || isnan(delta))
		return -CLEW_EINVAL;
	add_double(&m->bits, delta);
	return 0;
}

int clew_histogram_observe(clew_metric *m, double v)
{
	size_t lo = 0, hi;

	if (!is(m, CLEW_METRIC_HISTOGRAM) || isnan(v))
		return -CLEW_EINVAL;
	/* The first bound >= v (le semantics); nb when there is none: the +Inf bucket. */
	hi = m->nb;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->bounds[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	atomic_fetch_add_explicit(&m->buckets[lo], 1, memory_order_relaxed);
	add_double(&m->bits, v);
	return 0;
}

int clew_metric_read(const clew_metric *m, double *value, double *sum)
{
	uint64_t n = 0;

	if (!m || m->magic != METRIC_MAGIC || !value)
		return -CLEW_EINVAL;
	switch (m->type) {
	case CLEW_METRIC_COUNTER:
		*value = (double)atomic_load_explicit(&m->count, memory_order_relaxed);
		break;
	case CLEW_METRIC_GAUGE:
		*value = bitsd(atomic_load_explicit(&m->bits, memory_order_relaxed));
		break;
	default:
		for (size_t i = 0; i <= m->nb; i++)
			n += atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
		*value = (double)n;
		if (sum)
			*sum = bitsd(atomic_load_explicit(&m->bits, memory_order_relaxed));
		break;
	}
	return 0;
}

/* The shortest %g text of @d that reads back exactly. */
static int fmt_double(char *out, size_t cap, double d)
{
	int n = 0;

	for (int prec = 6; prec <= 17; prec++) {
		n = snprintf(out, cap, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			break;
	}
	return n;
}

static void set_attr(struct fmt_attr *a, const char *key, size_t klen, const char *val, size_t vlen, int type)
{
	a->key = fmt_str_n(key, klen);
	a->val = fmt_str_n(val, vlen);
	a->type = (uint8_t)type;
}

/*
 * Write one metric record. @m NULL: the client's clew.dropped counter,
 * @dropped. Return: what clew__emit() returns.
 */
static int emit_metric(clew_client *c, const struct clew_metric *m, uint64_t dropped, int64_t ts)
{
	static const char *const types[] = {[CLEW_METRIC_COUNTER] = "counter",
					    [CLEW_METRIC_GAUGE] = "gauge",
					    [CLEW_METRIC_HISTOGRAM] = "histogram"};
	struct fmt_record rec;
	char num[3][CLEW__NUM_MAX];
	char bnum[CLEW_HIST_BUCKETS_MAX + 1][CLEW__NUM_MAX];
	char bkey[CLEW_HIST_BUCKETS_MAX + 1][CLEW__NUM_MAX + 3];
	char tnum[CLEW_METRIC_TAGS_MAX][CLEW__NUM_MAX];
	const int type = m ? m->type : CLEW_METRIC_COUNTER;
	const char *name = m ? m->name : "clew.dropped";
	struct fmt_attr *a;
	uint64_t total = 0;
	int n;

	clew__record_init(&rec, c, CLEW_LEVEL_INFO, ts);
	rec.event = FMT_EVENT_METRIC;
	a = rec.attrs;
	set_attr(a++, "metric", 6, name, strlen(name), FMT_T_STRING);
	set_attr(a++, "type", 4, types[type], strlen(types[type]), FMT_T_STRING);
	if (type == CLEW_METRIC_COUNTER) {
		uint64_t v = m ? atomic_load_explicit(&m->count, memory_order_relaxed) : dropped;

		n = (int)clew__u64_text(num[0], v);
		set_attr(a++, "value", 5, num[0], (size_t)n, FMT_T_NUMBER);
	} else if (type == CLEW_METRIC_GAUGE) {
		double v = bitsd(atomic_load_explicit(&m->bits, memory_order_relaxed));

		if (isfinite(v)) {
			n = fmt_double(num[0], CLEW__NUM_MAX, v);
			set_attr(a++, "value", 5, num[0], (size_t)n, FMT_T_NUMBER);
		} else {
			set_attr(a++, "value", 5, v > 0 ? "Infinity" : "-Infinity", v > 0 ? 8 : 9,
				 FMT_T_STRING);
		}
	} else {
		struct fmt_attr *value = a++, *count = a++;
		double sum = bitsd(atomic_load_explicit(&m->bits, memory_order_relaxed));

		for (size_t i = 0; i <= m->nb; i++) {
			int kn;

			total += atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
			if (i < m->nb) {
				kn = snprintf(bkey[i], sizeof(bkey[i]), "le_");
				kn += fmt_double(bkey[i] + kn, sizeof(bkey[i]) - (size_t)kn, m->bounds[i]);
			} else {
				kn = snprintf(bkey[i], sizeof(bkey[i]), "le_+Inf");
			}
			n = (int)clew__u64_text(bnum[i], total);
			set_attr(a + 1 + i, bkey[i], (size_t)kn, bnum[i], (size_t)n, FMT_T_NUMBER);
		}
		n = (int)clew__u64_text(num[0], total);
		set_attr(value, "value", 5, num[0], (size_t)n, FMT_T_NUMBER);
		set_attr(count, "count", 5, num[0], (size_t)n, FMT_T_NUMBER);
		if (isfinite(sum)) {
			n = fmt_double(num[1], CLEW__NUM_MAX, sum);
			set_attr(a, "sum", 3, num[1], (size_t)n, FMT_T_NUMBER);
		} else {
			set_attr(a, "sum", 3, sum > 0 ? "Infinity" : "-Infinity", sum > 0 ? 8 : 9,
				 FMT_T_STRING);
		}
		a += 1 + m->nb + 1;
	}
	for (size_t i = 0; m && i < m->ntags; i++)
		clew__fill_attr(a++, &m->tags[i], tnum[i]);
	rec.nattrs = (uint16_t)(a - rec.attrs);
	return clew__emit(c, &rec);
}

void clew__metrics_flush(clew_client *c)
{
	const int64_t ts = clew__now_ns();
	uint64_t dropped;

	if (atomic_load_explicit(&c->level, memory_order_relaxed) >= CLEW_LEVEL_OFF)
		return;
	/*
	 * A forked child that has not logged yet restarts its worker here, not
	 * in the first emit_metric() below: that would take c->lock, held here.
	 */
	clew__restart_check(c);
	pthread_mutex_lock(&c->lock);
	for (const struct clew_metric *m = c->metrics; m; m = m->next)
		emit_metric(c, m, 0, ts);
	pthread_mutex_unlock(&c->lock);
	dropped = atomic_load_explicit(&c->dropped, memory_order_relaxed);
	if (dropped || c->async)
		emit_metric(c, NULL, dropped, ts);
}

void clew__metrics_free(clew_client *c)
{
	struct clew_metric *m = c->metrics, *next;

	for (; m; m = next) {
		next = m->next;
		m->magic = 0;
		free(m);
	}
	c->metrics = NULL;
}
