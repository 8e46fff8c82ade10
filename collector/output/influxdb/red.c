/*
 * output/influxdb/red.c - RED aggregates per interval (see red.h).
 *
 * DESIGN: series live in a dense array and are found through an
 * open-addressing index of array positions (FNV-1a over kind, interval
 * and labels), twice the cap in size so probes stay short. A flush
 * hands over the final series, compacts the array and rebuilds the
 * index: O(series) once per interval, nothing per sample but a hash and
 * a compare. A series' histogram is allocated at its first duration, so
 * log-count series cost no histogram. Memory is bounded by the cap plus
 * one overflow series per interval held (and those only up to
 * RED_OVERFLOW_MAX: past it samples are dropped and counted).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cd_limits.h"
#include "output/influxdb/red.h"
#include <store/err.h>
#include "util/banned.h"

/*
 * A series written by the wall-clock rule is kept this many lateness
 * periods more: a straggler then updates it and it is written again with
 * the whole sums (the same point, overwritten), never a partial one.
 */
#define RED_KEEP 6

/* Overflow series beyond the cap: one per (interval, kind) held at once. */
#define RED_OVERFLOW_MAX 64u

#define HIST_SUB_BITS 4u
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_EXP_MAX 42u /* 2^42 us is 51 days: longer is reported as that */
#define HIST_BUCKETS (HIST_SUB + (HIST_EXP_MAX - HIST_SUB_BITS + 1) * HIST_SUB)

struct series {
	uint8_t kind;		  /* enum red_kind */
	bool overflow;		  /* the interval's overflow series */
	bool dirty;		  /* samples not yet given to red_flush()'s callback */
	uint64_t hash;		  /* of kind, start and labels */
	int64_t start_ns;	  /* interval start */
	char *labels;		  /* the label bytes, one allocation */
	uint32_t len[RED_LABELS]; /* label lengths, in order in labels */
	uint64_t count, errors;	  /* samples, errors */
	uint64_t sum_us, max_us;  /* durations */
	uint64_t min_us;	  /* smallest duration */
	bool has_dur;		  /* a duration was added */
	int64_t last_mono_ns;	  /* when the last sample came */
	uint32_t *hist;		  /* HIST_BUCKETS counts; NULL until a duration */
};

struct red {
	int64_t interval_ns;	/* interval length */
	int64_t lateness_ns;	/* how long after its end an interval stays open */
	unsigned max_series;	/* cap (overflow series not counted) */
	struct series **s;	/* the series */
	unsigned n;		/* used in s */
	unsigned noverflow;	/* of which overflow series */
	unsigned cap;		/* allocated in s */
	int32_t *idx;		/* index: position in s, or -1 */
	unsigned idx_mask;	/* index size - 1 */
	int64_t max_event_ns;	/* latest sample timestamp seen (the event-time mark) */
	bool have_event;	/* max_event_ns is meaningful */
	int64_t final_ns;	/* intervals ending at or before this are final */
	int64_t now_real_ns;	/* red_clock() */
	int64_t now_mono_ns;	/* red_clock() */
	struct red_stats stats; /* counters (series filled in by red_stats()) */
};

unsigned red_hist_bucket(uint64_t v)
{
	unsigned e;

	if (v < HIST_SUB)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v);
	if (e > HIST_EXP_MAX)
		return HIST_BUCKETS - 1;
	return HIST_SUB + (e - HIST_SUB_BITS) * HIST_SUB +
	       (unsigned)((v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

uint64_t red_hist_value(unsigned b)
{
	unsigned e, sub;
	uint64_t lo, w;

	if (b < HIST_SUB)
		return b;
	e = (b - HIST_SUB) / HIST_SUB + HIST_SUB_BITS;
	sub = (b - HIST_SUB) % HIST_SUB;
	w = 1ull << (e - HIST_SUB_BITS);
	lo = (1ull << e) + sub * w;
	return lo + w / 2; /* the middle: within w/2 <= lo/32 of any value in the bucket */
}

int red_new(struct red **out, int64_t interval_ns, int64_t lateness_ns, unsigned max_series)
{
	struct red *r;
	unsigned size = 64;

	if (interval_ns <= 0 || lateness_ns < 0 || max_series == 0)
		return -CD_EINVAL;
	while (size < 2 * (max_series + RED_OVERFLOW_MAX))
		size *= 2;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -CD_ENOMEM;
	r->idx = malloc(size * sizeof(*r->idx));
	if (!r->idx) {
		free(r);
		return -CD_ENOMEM;
	}
	memset(r->idx, 0xff, size * sizeof(*r->idx));
	r->idx_mask = size - 1;
	r->interval_ns = interval_ns;
	r->lateness_ns = lateness_ns;
	r->max_series = max_series;
	r->final_ns = INT64_MIN;
	*out = r;
	return 0;
}

static void series_free(struct series *s)
{
	if (!s)
		return;
	free(s->hist);
	free(s->labels);
	free(s);
}

void red_free(struct red *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < r->n; i++)
		series_free(r->s[i]);
	free(r->s);
	free(r->idx);
	free(r);
}

void red_clock(struct red *r, int64_t now_real_ns, int64_t now_mono_ns)
{
	r->now_real_ns = now_real_ns;
	r->now_mono_ns = now_mono_ns;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *u = p;

	for (size_t i = 0; i < n; i++) {
		h ^= u[i];
		h *= 1099511628211ull;
	}
	return h;
}

static uint64_t key_hash(uint8_t kind, int64_t start, const struct red_str *l)
{
	uint64_t h = 14695981039346656037ull;

	h = fnv(h, &kind, 1);
	h = fnv(h, &start, sizeof(start));
	for (unsigned i = 0; i < RED_LABELS; i++) {
		uint32_t n = (uint32_t)l[i].n;
		h = fnv(h, &n, sizeof(n)); /* lengths too: ("ab","") differs from ("a","b") */
		h = fnv(h, l[i].p, l[i].n);
	}
	return h;
}

static bool key_eq(const struct series *s, uint64_t h, uint8_t kind, int64_t start, const struct red_str *l)
{
	const char *p = s->labels;

	if (s->hash != h || s->kind != kind || s->start_ns != start)
		return false;
	for (unsigned i = 0; i < RED_LABELS; i++) {
		if (s->len[i] != l[i].n || (l[i].n && memcmp(p, l[i].p, l[i].n) != 0))
			return false;
		p += s->len[i];
	}
	return true;
}

/* The index slot of the key, or of the empty slot where it would go. */
static unsigned find_slot(const struct red *r, uint64_t h, uint8_t kind, int64_t start,
			  const struct red_str *l)
{
	unsigned i = (unsigned)h & r->idx_mask;

	while (r->idx[i] >= 0 && !key_eq(r->s[r->idx[i]], h, kind, start, l))
		i = (i + 1) & r->idx_mask;
	return i;
}

static struct series *series_new(struct red *r, unsigned slot, uint64_t h, uint8_t kind, int64_t start,
				 const struct red_str *l, bool overflow)
{
	struct series *s;
	size_t total = 0;
	char *p;

	if (r->n == r->cap) {
		unsigned cap = r->cap ? r->cap * 2 : 64;
		struct series **ns = realloc(r->s, cap * sizeof(*ns));
		if (!ns)
			return NULL;
		r->s = ns;
		r->cap = cap;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	for (unsigned i = 0; i < RED_LABELS; i++)
		total += l[i].n;
	s->labels = malloc(total ? total : 1);
	if (!s->labels) {
		free(s);
		return NULL;
	}
	p = s->labels;
	for (unsigned i = 0; i < RED_LABELS; i++) {
		if (l[i].n)
			memcpy(p, l[i].p, l[i].n);
		p += l[i].n;
		s->len[i] = (uint32_t)l[i].n;
	}
	s->kind = kind;
	s->overflow = overflow;
	s->hash = h;
	s->start_ns = start;
	r->idx[slot] = (int32_t)r->n;
	r->s[r->n++] = s;
	if (overflow)
		r->noverflow++;
	return s;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int red_add(struct red *r, enum red_kind kind, int64_t ts_ns, const struct red_str label[RED_LABELS],
	    uint64_t dur_us, bool error)
{
	struct red_str l[RED_LABELS];
	int64_t start = floor_div(ts_ns, r->interval_ns) * r->interval_ns;
	struct series *s;
	uint64_t h;
	unsigned slot;

	if (start > INT64_MAX - r->interval_ns || start + r->interval_ns <= r->final_ns) {
		r->stats.late++;
		return 1;
	}
	for (unsigned i = 0; i < RED_LABELS; i++) {
		l[i].p = label[i].p;
		l[i].n = label[i].p ? (label[i].n > CD_INFLUX_NAME_MAX ? CD_INFLUX_NAME_MAX : label[i].n) : 0;
	}
	h = key_hash((uint8_t)kind, start, l);
	slot = find_slot(r, h, (uint8_t)kind, start, l);
	if (r->idx[slot] >= 0) {
		s = r->s[r->idx[slot]];
	} else if (r->n - r->noverflow < r->max_series) {
		s = series_new(r, slot, h, (uint8_t)kind, start, l, false);
		if (!s)
			return -CD_ENOMEM;
	} else {
		/* the cap: fold into this interval's overflow series */
		static const struct red_str other[RED_LABELS] = {{"_other", 6}};

		h = key_hash((uint8_t)kind, start, other);
		slot = find_slot(r, h, (uint8_t)kind, start, other);
		if (r->idx[slot] >= 0) {
			s = r->s[r->idx[slot]];
		} else if (r->noverflow < RED_OVERFLOW_MAX) {
			s = series_new(r, slot, h, (uint8_t)kind, start, other, true);
			if (!s)
				return -CD_ENOMEM;
		} else {
			r->stats.dropped++;
			return 1;
		}
		r->stats.overflow++;
	}
	if (kind != RED_LOG) {
		if (!s->hist) {
			s->hist = calloc(HIST_BUCKETS, sizeof(*s->hist));
			if (!s->hist)
				return -CD_ENOMEM;
		}
		s->hist[red_hist_bucket(dur_us)]++;
		s->sum_us += dur_us;
		if (dur_us > s->max_us)
			s->max_us = dur_us;
		if (!s->has_dur || dur_us < s->min_us)
			s->min_us = dur_us;
		s->has_dur = true;
	}
	s->count++;
	s->errors += error;
	s->dirty = true;
	s->last_mono_ns = r->now_mono_ns;
	if (!r->have_event || ts_ns > r->max_event_ns) {
		r->max_event_ns = ts_ns;
		r->have_event = true;
	}
	return 0;
}

/* Nearest-rank percentile @q (per mille) of @s, clamped to its smallest and largest value. */
static uint64_t percentile(const struct series *s, unsigned q)
{
	uint64_t rank = (s->count * q + 999) / 1000, seen = 0;

	if (rank == 0)
		rank = 1;
	for (unsigned b = 0; b < HIST_BUCKETS; b++) {
		seen += s->hist[b];
		if (seen >= rank) {
			uint64_t v = red_hist_value(b);
			return v > s->max_us ? s->max_us : v < s->min_us ? s->min_us : v;
		}
	}
	return s->max_us;
}

static void fill_row(const struct series *s, struct red_row *row)
{
	const char *p = s->labels;

	memset(row, 0, sizeof(*row));
	row->kind = s->kind;
	row->start_ns = s->start_ns;
	for (unsigned i = 0; i < RED_LABELS; i++) {
		row->label[i].p = p;
		row->label[i].n = s->len[i];
		p += s->len[i];
	}
	row->count = s->count;
	row->errors = s->errors;
	row->has_dur = s->has_dur && s->hist;
	if (row->has_dur) {
		row->p50_us = percentile(s, 500);
		row->p90_us = percentile(s, 900);
		row->p99_us = percentile(s, 990);
		row->max_us = s->max_us;
		row->sum_us = s->sum_us;
	}
}

int red_flush(struct red *r, int64_t now_real_ns, int64_t now_mono_ns, bool all, red_emit_fn fn, void *arg)
{
	int64_t mark = INT64_MIN;
	unsigned keep = 0, given = 0;
	int rc = 0;

	if (r->have_event) {
		/* the event-time mark, never ahead of the wall clock by more than the lateness (bogus future stamps) */
		int64_t ev = r->max_event_ns;
		if (now_real_ns < INT64_MAX - r->lateness_ns && ev > now_real_ns + r->lateness_ns)
			ev = now_real_ns + r->lateness_ns;
		mark = ev > INT64_MIN + r->lateness_ns ? ev - r->lateness_ns : INT64_MIN;
	}
	if (mark > r->final_ns)
		r->final_ns = mark;
	for (unsigned i = 0; i < r->n; i++) {
		struct series *s = r->s[i];
		int64_t end = s->start_ns + r->interval_ns;
		bool by_event = end <= r->final_ns;
		bool past = end <= now_real_ns - r->lateness_ns;
		int64_t idle = now_mono_ns - s->last_mono_ns;
		bool emit = s->dirty && (all || by_event || (past && idle >= r->lateness_ns));
		bool drop = all || by_event || (past && idle >= RED_KEEP * r->lateness_ns);
		struct red_row row;

		if (emit && rc >= 0) {
			fill_row(s, &row);
			rc = fn(arg, &row);
			if (rc >= 0) {
				given++;
				s->dirty = false;
			}
		}
		if (drop && !s->dirty) {
			if (s->overflow)
				r->noverflow--;
			series_free(s);
			continue;
		}
		r->s[keep++] = s;
	}
	r->n = keep;
	memset(r->idx, 0xff, (r->idx_mask + 1) * sizeof(*r->idx));
	for (unsigned i = 0; i < r->n; i++) {
		const struct series *s = r->s[i];
		unsigned slot = (unsigned)s->hash & r->idx_mask;
		while (r->idx[slot] >= 0)
			slot = (slot + 1) & r->idx_mask;
		r->idx[slot] = (int32_t)i;
	}
	return rc < 0 ? rc : (int)given;
}

void red_stats(const struct red *r, struct red_stats *out)
{
	*out = r->stats;
	out->series = r->n;
}
