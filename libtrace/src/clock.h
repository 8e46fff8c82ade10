/*
 * clock.h - the clock of async records (clock.c): the TSC where it is the
 * kernel's clocksource, turned into wall-clock time on the writer.
 *
 * The caller's read (clew__read_tsc()) and the writer's per-record
 * conversion (clew__tsc_to_ns()) are inline: one sits on every log call,
 * the other on every record the writer formats.
 */
#ifndef CLEW_CLOCK_H
#define CLEW_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#if defined(__x86_64__)
#include <x86intrin.h>
#define CLEW__HAVE_TSC 1
#else
#define CLEW__HAVE_TSC 0
#endif

/* Records converted with one anchor. */
#define CLEW__ANCHOR_EVERY 1024

/*
 * Turning TSC ticks into wall-clock ns on the writer: the ticks and
 * CLOCK_MONOTONIC when the conversion started, the ns per tick measured
 * since then, and an anchor: ticks and CLOCK_REALTIME read together at
 * the last clew__tsc_anchor().
 */
struct clew__clock {
	uint64_t tsc0;
	int64_t mono0;
	double ns_per_tick;
	uint64_t tsc_a;
	int64_t real_a;
	unsigned since_anchor; /* records converted since the anchor */
};

/*
 * clew__tsc_usable() says whether async records carry TSC ticks (x86-64
 * where the kernel's clocksource is "tsc": constant, synchronised across
 * CPUs; decided once per process), else CLOCK_REALTIME ns.
 * clew__tsc_init() starts @k's conversion, clew__tsc_anchor() takes a
 * new anchor (async-signal-safe).
 */
bool clew__tsc_usable(void);
void clew__tsc_init(struct clew__clock *k);
void clew__tsc_anchor(struct clew__clock *k);

/* The raw counter (0 without a TSC): rdtsc does not wait for earlier instructions. */
static inline uint64_t clew__read_tsc(void)
{
#if CLEW__HAVE_TSC
	return __rdtsc();
#else
	return 0;
#endif
}

/* Wall-clock ns of the tick count @t, cut to whole microseconds as clew__now_ns() does. */
static inline int64_t clew__tsc_to_ns(struct clew__clock *k, uint64_t t)
{
	int64_t ns;

	if (++k->since_anchor >= CLEW__ANCHOR_EVERY || k->ns_per_tick == 0)
		clew__tsc_anchor(k);
	ns = k->real_a + (int64_t)((double)(int64_t)(t - k->tsc_a) * k->ns_per_tick);
	return ns / 1000 * 1000;
}

#endif
