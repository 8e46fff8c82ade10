/*
 * util/drops.c - the drop registry (see drops.h): one counter per (kind,
 * name, reason), the rate-limited log line, and the metric.
 *
 * DESIGN: a small fixed table under a mutex: drops are rare events (a
 * broker refusing a message, a corrupt spool file), so the lock is never
 * on a hot path, and a fixed table cannot grow with hostile input (the
 * reasons are ours, the names the configuration's). Past CD_DROP_SERIES
 * the counts go to one overflow series, still counted.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/drops.h"
#include "util/metrics.h"
#include "util/util.h"

/* Most (kind, name, reason) series; more go to the overflow one. */
#define CD_DROP_SERIES 256

struct series {
	char kind[8];
	char name[64];
	char reason[48];
	uint64_t total;	   /* since start: the metric */
	uint64_t unlogged; /* since the last log line */
	int64_t logged_ns; /* when the last line was written; 0 never */
	char detail[160];  /* the latest detail, for the next line */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct series table[CD_DROP_SERIES + 1]; /* the last one: overflow */
static unsigned nseries;
static uint64_t all;
static atomic_bool held; /* some count waits for its line: cd_drops_tick() has work */

static struct series *find(const char *kind, const char *name, const char *reason)
{
	struct series *s;

	for (unsigned i = 0; i < nseries; i++) {
		s = &table[i];
		if (!strcmp(s->reason, reason) && !strcmp(s->name, name) && !strcmp(s->kind, kind))
			return s;
	}
	if (nseries == CD_DROP_SERIES) {
		s = &table[CD_DROP_SERIES];
		if (!s->kind[0]) {
			cd_strlcpy(s->kind, "input", sizeof(s->kind));
			cd_strlcpy(s->name, "other", sizeof(s->name));
			cd_strlcpy(s->reason, "other", sizeof(s->reason));
		}
		return s;
	}
	s = &table[nseries++];
	cd_strlcpy(s->kind, kind, sizeof(s->kind));
	cd_strlcpy(s->name, name, sizeof(s->name));
	cd_strlcpy(s->reason, reason, sizeof(s->reason));
	return s;
}

/* Write @s's line for its unlogged count; with the lock held. */
static void say(struct series *s, int64_t now)
{
	char n[24], total[24];

	snprintf(n, sizeof(n), "%llu", (unsigned long long)s->unlogged);
	snprintf(total, sizeof(total), "%llu", (unsigned long long)s->total);
	cd_log(FMT_LEVEL_WARN, "records dropped", s->kind, s->name, "reason", s->reason, "records", n,
	       "total", total, "detail", s->detail[0] ? s->detail : NULL, NULL);
	s->unlogged = 0;
	s->logged_ns = now;
}

void cd_drop(const char *kind, const char *name, const char *reason, uint64_t n, const char *detail)
{
	const int64_t now = cd_mono_ns();
	struct series *s;

	if (n == 0)
		return;
	pthread_mutex_lock(&lock);
	s = find(kind, name ? name : "", reason);
	s->total += n;
	s->unlogged += n;
	all += n;
	if (detail)
		cd_strlcpy(s->detail, detail, sizeof(s->detail));
	if (!s->logged_ns || now - s->logged_ns >= (int64_t)CD_DROP_LOG_MS * 1000000)
		say(s, now);
	else
		atomic_store(&held, true);
	pthread_mutex_unlock(&lock);
}

void cd_drops_tick(int64_t now_ns)
{
	bool still = false;

	/* Every loop turn calls this: nothing to do is one load. */
	if (!atomic_load_explicit(&held, memory_order_relaxed))
		return;
	pthread_mutex_lock(&lock);
	for (unsigned i = 0; i <= CD_DROP_SERIES; i++) {
		struct series *s = &table[i];

		if (s->unlogged && now_ns - s->logged_ns >= (int64_t)CD_DROP_LOG_MS * 1000000)
			say(s, now_ns);
		still |= s->unlogged != 0;
	}
	atomic_store(&held, still);
	pthread_mutex_unlock(&lock);
}

void cd_drops_metrics(struct metrics *m)
{
	pthread_mutex_lock(&lock);
	for (unsigned i = 0; i <= CD_DROP_SERIES; i++) {
		const struct series *s = &table[i];
		char lab[256] = "";

		if (!s->kind[0])
			continue;
		metrics_label(lab, sizeof(lab), s->kind, s->name);
		metrics_label(lab, sizeof(lab), "reason", s->reason);
		metrics_add(m, "clewd_dropped_total", METRICS_COUNTER, "Records given up, by reason.", lab,
			    (double)s->total);
	}
	pthread_mutex_unlock(&lock);
}

uint64_t cd_drops_total(void)
{
	uint64_t n;

	pthread_mutex_lock(&lock);
	n = all;
	pthread_mutex_unlock(&lock);
	return n;
}
