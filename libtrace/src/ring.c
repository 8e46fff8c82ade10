/*
 * ring.c - the async mode's queue: one lane per logging thread, one
 * consumer at a time. Only the queue: what the consumer does with the
 * entries (formatting, batching, writing) is the writer's (writer.c).
 *
 * DESIGN: each thread that logs to a client gets a lane of its own, a
 * single-producer single-consumer byte ring: the thread is its only
 * writer, so a log call needs no atomic read-modify-write, no lock and no
 * shared cache line with other producers. An entry is built in place
 * (clew__ring_reserve(): the encoder writes the binary record straight
 * into the lane, async_encode.c) or copied in (clew__ring_push()), then
 * published by one release store of the lane's head; the consumer frees
 * room by a release store of the tail. Head and tail are byte counts
 * that only grow; an entry at byte t starts at data[t & mask] and, when
 * it starts near the end, runs on into the CLEW__LANE_SLACK bytes past
 * it instead of wrapping (the bytes it claimed at the start of the array
 * stay unused for that lap). When a lane has no room the record is
 * dropped and counted, never waited for.
 * A thread finds its lane through a pthread key per ring (whose
 * destructor marks the lane free when the thread exits: the next new
 * thread takes it over, with whatever it still holds, in order), cached
 * with the ring's serial number in the thread's state (internal.h), so a
 * log call looks it up with one thread-local access. Lanes are added
 * under a mutex, never removed before the ring is freed; the consumer
 * reads lanes[0, nlanes) with acquire loads, so it never blocks either.
 * Records of one thread keep their order; records of different threads
 * are written lane by lane, each batch in its lane's order.
 * A lane of 2 MiB or more is asked for transparent huge pages
 * (MADV_HUGEPAGE): a producer walks its whole lane, and with 4 KiB pages
 * every few dozen records took a TLB miss (the p99.9 of a log call).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "ring.h"

#define HUGE_PAGE (2u << 20)

/* Serial numbers of rings, so that a thread's cached lane of a freed ring is never taken for a new one's. */
static _Atomic uint64_t ring_serials;

static void lane_orphaned(void *lane)
{
	struct clew__lane *l = lane;

	atomic_store_explicit(&l->owned, false, memory_order_release);
}

int clew__ring_new(clew_client *c, uint32_t bytes)
{
	struct clew__ring *r = calloc(1, sizeof(*r));
	size_t n = CLEW__RING_MIN;

	if (!r)
		return -CLEW_ENOMEM;
	while (n < bytes)
		n <<= 1;
	r->lane_bytes = n;
	r->serial = atomic_fetch_add(&ring_serials, 1) + 1;
	if (pthread_key_create(&r->key, lane_orphaned) != 0) {
		free(r);
		return -CLEW_ENOMEM;
	}
	pthread_mutex_init(&r->grow, NULL);
	c->ring = r;
	return 0;
}

void clew__ring_free(clew_client *c)
{
	struct clew__ring *r = c->ring;

	if (!r)
		return;
	/* Deleted first: no destructor runs for it after this, so none touches a freed lane. */
	pthread_key_delete(r->key);
	for (unsigned i = 0; i < atomic_load(&r->nlanes); i++) {
		struct clew__lane *l = atomic_load(&r->lanes[i]);

		free(l->data);
		free(l);
	}
	pthread_mutex_destroy(&r->grow);
	free(r);
	c->ring = NULL;
}

/* A new lane, its memory mapped now so that no log call takes a page fault on it. */
static struct clew__lane *lane_new(struct clew__ring *r)
{
	struct clew__lane *l = aligned_alloc(64, sizeof(*l));

	if (!l)
		return NULL;
	memset(l, 0, sizeof(*l));
	l->size = r->lane_bytes;
	l->mask = l->size - 1;
	if (l->size >= HUGE_PAGE) {
		if (posix_memalign((void **)&l->data, HUGE_PAGE, l->size + CLEW__LANE_SLACK) != 0)
			l->data = NULL;
		else
			madvise(l->data, l->size, MADV_HUGEPAGE);
	} else {
		l->data = malloc(l->size + CLEW__LANE_SLACK);
	}
	if (!l->data) {
		free(l);
		return NULL;
	}
	clew__touch(l->data, l->size + CLEW__LANE_SLACK);
	atomic_init(&l->head, 0);
	atomic_init(&l->tail, 0);
	atomic_init(&l->owned, true);
	return l;
}

/* The calling thread's lane of @r: a free one taken over, or a new one. NULL when none can be had. */
static struct clew__lane *lane_attach(clew_client *c, struct clew__ring *r)
{
	struct clew__lane *l = pthread_getspecific(r->key);
	unsigned n;

	if (l)
		return l;
	n = atomic_load_explicit(&r->nlanes, memory_order_acquire);
	for (unsigned i = 0; i < n && !l; i++) {
		struct clew__lane *k = atomic_load_explicit(&r->lanes[i], memory_order_acquire);
		bool free_ = false;

		if (atomic_compare_exchange_strong(&k->owned, &free_, true))
			l = k;
	}
	if (!l) {
		pthread_mutex_lock(&r->grow);
		n = atomic_load(&r->nlanes);
		if (n < CLEW__LANES_MAX && (l = lane_new(r)) != NULL) {
			atomic_store_explicit(&r->lanes[n], l, memory_order_release);
			atomic_store_explicit(&r->nlanes, n + 1, memory_order_release);
		}
		pthread_mutex_unlock(&r->grow);
		if (!l) {
			clew__diag(c, CLEW_LEVEL_ERROR,
				   n < CLEW__LANES_MAX
					   ? "no memory for a thread's async queue"
					   : "more threads log at once than async queues allowed");
			return NULL;
		}
	}
	/* The tail the last owner saw may be old: look again. Its context is not ours. */
	l->tail_seen = atomic_load_explicit(&l->tail, memory_order_acquire);
	l->ctx_sent = CLEW__CTX_NONE;
	if (pthread_setspecific(r->key, l) != 0) {
		atomic_store(&l->owned, false);
		return NULL;
	}
	return l;
}

struct clew__lane *clew__lane_attach(clew_client *c, struct clew__thread *th)
{
	struct clew__ring *r = c->ring;

	th->lane = lane_attach(c, r);
	th->lane_serial = th->lane ? r->serial : 0;
	return th->lane;
}

static int dropped(clew_client *c)
{
	atomic_fetch_add_explicit(&c->dropped, 1, memory_order_relaxed);
	return -CLEW_EAGAIN;
}

int clew__ring_push(clew_client *c, int kind, const void *data, size_t len)
{
	struct clew__lane *l = clew__lane_of(c, clew__thread());
	char *p;

	if (!l || !(p = clew__lane_room(l, len + CLEW__ENTRY_HEAD)))
		return dropped(c);
	memcpy(p + CLEW__ENTRY_HEAD, data, len);
	clew__lane_commit(c, l, p, kind, len + CLEW__ENTRY_HEAD);
	return 0;
}

bool clew__ring_empty(clew_client *c)
{
	struct clew__ring *r = c->ring;
	const unsigned n = clew__ring_lanes(r);

	for (unsigned i = 0; i < n; i++) {
		struct clew__lane *l = clew__ring_lane(r, i);

		if (atomic_load(&l->head) != atomic_load(&l->tail))
			return false;
	}
	return true;
}

void clew__ring_reset(clew_client *c)
{
	struct clew__ring *r = c->ring;
	const struct clew__lane *mine = pthread_getspecific(r->key);
	const unsigned n = atomic_load(&r->nlanes);

	for (unsigned i = 0; i < n; i++) {
		struct clew__lane *l = atomic_load(&r->lanes[i]);

		atomic_store(&l->head, 0);
		atomic_store(&l->tail, 0);
		l->tail_seen = 0;
		l->ctx_sent = CLEW__CTX_NONE;
		/* The parent's other threads do not exist here: their lanes are free. */
		atomic_store(&l->owned, l == mine);
	}
	atomic_store(&r->busy, 0);
}

bool clew__ring_lock(struct clew__ring *r, int wait_ms)
{
	const struct timespec nap = {.tv_sec = 0, .tv_nsec = 1000000};

	for (int waited = 0;; waited++) {
		if (atomic_exchange_explicit(&r->busy, 1, memory_order_acquire) == 0)
			return true;
		if (waited >= wait_ms)
			return false;
		nanosleep(&nap, NULL);
	}
}

void clew__ring_unlock(struct clew__ring *r)
{
	atomic_store_explicit(&r->busy, 0, memory_order_release);
}

unsigned clew__ring_heads(clew_client *c, uint64_t *heads)
{
	struct clew__ring *r = c->ring;
	const unsigned n = clew__ring_lanes(r);

	for (unsigned i = 0; i < n; i++)
		heads[i] = clew__lane_head(clew__ring_lane(r, i));
	return n;
}

bool clew__ring_passed(clew_client *c, const uint64_t *heads, unsigned n)
{
	struct clew__ring *r = c->ring;

	for (unsigned i = 0; i < n; i++)
		if ((int64_t)(atomic_load_explicit(&clew__ring_lane(r, i)->tail, memory_order_acquire) -
			      heads[i]) < 0)
			return false;
	return true;
}
