/*
 * clock.c - the clock of async records: whether the TSC is usable, and
 * the anchors that turn its ticks into wall-clock time (clock.h).
 *
 * DESIGN: where the kernel keeps time with the TSC (its clocksource is
 * "tsc": the counter is constant-rate and synchronised across CPUs), the
 * caller stores the raw counter: rdtsc does not wait for earlier
 * instructions, so its latency hides behind the encoding, where
 * clock_gettime() would have to compute with it first. The writer turns
 * ticks into wall-clock time with an anchor (ticks and CLOCK_REALTIME
 * read together, taken at each drain and every CLEW__ANCHOR_EVERY
 * records) and a rate measured against CLOCK_MONOTONIC since the
 * conversion started. The rate's error is the jitter of two clock
 * readings over the ring's lifetime, and a record is never further from
 * the anchor than that lifetime, so the error stays within that jitter
 * (tens of ns), well under the microseconds written. A step of the wall
 * clock moves the records of the drain it falls in.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"

static bool tsc_ok;
static pthread_once_t tsc_once = PTHREAD_ONCE_INIT;

static void tsc_probe(void)
{
#if CLEW__HAVE_TSC
	char buf[32];
	FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "re");

	if (!f)
		return;
	if (fgets(buf, sizeof(buf), f))
		tsc_ok = strcmp(buf, "tsc\n") == 0;
	fclose(f);
#endif
}

bool clew__tsc_usable(void)
{
	pthread_once(&tsc_once, tsc_probe);
	return tsc_ok;
}

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Ticks between the two TSC reads around a clock pairing that we accept:
 * ~10 us at 2 GHz, far above the ~100 ns the readings take, far below a
 * preemption. A thread preempted between the readings would pair ticks
 * with a time milliseconds off, and every record converted with that
 * anchor would be off as much.
 */
#define PAIR_TICKS_MAX 20000
#define PAIR_TRIES 8

/* The TSC, CLOCK_MONOTONIC and CLOCK_REALTIME read together (the ticks: the middle of two reads). */
static void read_pair(uint64_t *t, int64_t *mono, int64_t *real)
{
	for (int i = 0; i < PAIR_TRIES; i++) {
		const uint64_t a = clew__read_tsc();
		uint64_t b;

		*mono = clock_ns(CLOCK_MONOTONIC);
		*real = clock_ns(CLOCK_REALTIME);
		b = clew__read_tsc();
		*t = a + (b - a) / 2;
		if (b - a < PAIR_TICKS_MAX)
			return;
	}
}

void clew__tsc_init(struct clew__clock *k)
{
	int64_t real;

	read_pair(&k->tsc0, &k->mono0, &real);
	k->ns_per_tick = 0;
	clew__tsc_anchor(k);
}

void clew__tsc_anchor(struct clew__clock *k)
{
	uint64_t t;
	int64_t mono;

	read_pair(&t, &mono, &k->real_a);
	k->tsc_a = t;
	if (t > k->tsc0 && mono > k->mono0)
		k->ns_per_tick = (double)(mono - k->mono0) / (double)(t - k->tsc0);
	k->since_anchor = 0;
}
