/*
 * ring.c - the async mode's queue: many producers, one consumer at a time.
 * Only the queue: what the consumer does with the entries (formatting,
 * batching, writing) is the writer's (writer.c).
 *
 * DESIGN: a bounded MPSC queue of fixed-size slots with one atomic
 * sequence number per slot (Vyukov's bounded queue, extended to entries
 * of several consecutive slots). Slot i is free for ticket t when
 * seq[i] == t (t = i at the start, t + N after each lap). A producer
 * builds its entry on its own stack (a binary record, async_encode.c, or
 * a formatted line), then claims k consecutive tickets [h, h + k) with
 * one CAS on head, after checking that the last of them is free: the
 * consumer frees slots strictly in ticket order, so the others are free
 * too. It copies the entry into the slots with one memcpy: the data array
 * has CLEW__ENTRY_MAX bytes of slack past its end, so an entry that
 * starts in the last slots runs on into the slack instead of wrapping
 * (the slots it claimed at the start of the array stay unused for that
 * lap); the entry's head holds its kind and length. It publishes the
 * entry by storing seq[first] = h + 1 (release); the sequence numbers of
 * neighbouring slots sit in different cache lines (clew__seq_of()), so
 * that producers and the consumer do not fight over one line. When the
 * last slot is not free the ring is full: the record is dropped and
 * counted, never waited for. No producer ever blocks, locks or allocates.
 * The consumer (one at a time through the `busy` flag: clew__ring_lock())
 * reads entries in place in ticket order while seq[first] == t + 1
 * (acquire, clew__ring_peek()), frees their slots (seq = ticket + N,
 * release, clew__ring_pop()) and publishes the new tail when it stops. It
 * stops at the first claimed but uncommitted entry; that producer is at
 * most a memcpy away from committing it.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ring.h"

int clew__ring_new(clew_client *c, uint32_t bytes)
{
	struct clew__ring *r;
	size_t n = CLEW__RING_MIN / CLEW__SLOT;

	while (n * CLEW__SLOT < bytes)
		n <<= 1;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -CLEW_ENOMEM;
	c->ring = r;
	r->nslots = n;
	r->mask = n - 1;
	for (r->spread = 0; ((size_t)CLEW__SEQ_PER_LINE << r->spread) < n; r->spread++)
		;
	r->data = malloc(n * CLEW__SLOT + CLEW__ENTRY_MAX);
	r->seq = malloc(n * sizeof(*r->seq));
	if (!r->data || !r->seq) {
		clew__ring_free(c);
		return -CLEW_ENOMEM;
	}
	/* Every page now, so that no log call takes a page fault on a fresh slot. */
	clew__touch(r->data, n * CLEW__SLOT + CLEW__ENTRY_MAX);
	clew__ring_reset(c);
	return 0;
}

void clew__ring_reset(clew_client *c)
{
	struct clew__ring *r = c->ring;

	for (size_t i = 0; i < r->nslots; i++)
		atomic_init(clew__seq_of(r, i), i);
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	atomic_init(&r->busy, 0);
}

void clew__ring_free(clew_client *c)
{
	struct clew__ring *r = c->ring;

	if (!r)
		return;
	free(r->data);
	free(r->seq);
	free(r);
	c->ring = NULL;
}

int clew__ring_push(clew_client *c, int kind, const void *data, size_t len)
{
	struct clew__ring *r = c->ring;
	const size_t k = clew__slots_for(len + CLEW__ENTRY_HEAD);
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	char *dst;

	if (k > r->nslots || len > CLEW_LINE_MAX)
		goto full;
	for (;;) {
		const uint64_t last = h + k - 1;
		const int64_t diff =
			(int64_t)(atomic_load_explicit(clew__seq_of(r, last), memory_order_acquire) - last);

		if (diff == 0) {
			/* seq_cst: pairs with the worker's store of `sleeping` and load of head (worker.c). */
			if (atomic_compare_exchange_weak_explicit(&r->head, &h, h + k, memory_order_seq_cst,
								  memory_order_relaxed))
				break;
		} else if (diff < 0) {
			goto full;
		} else {
			h = atomic_load_explicit(&r->head, memory_order_relaxed);
		}
	}
	dst = r->data + (size_t)(h & r->mask) * CLEW__SLOT;
	{
		const uint16_t n = (uint16_t)(len + CLEW__ENTRY_HEAD);

		dst[0] = (char)kind;
		memcpy(dst + 1, &n, 2);
	}
	memcpy(dst + CLEW__ENTRY_HEAD, data, len);
	atomic_store_explicit(clew__seq_of(r, h), h + 1, memory_order_release);
	clew__worker_wake(c);
	return 0;
full:
	atomic_fetch_add_explicit(&c->dropped, 1, memory_order_relaxed);
	return -CLEW_EAGAIN;
}

bool clew__ring_empty(clew_client *c)
{
	struct clew__ring *r = c->ring;
	return atomic_load(&r->head) == atomic_load(&r->tail);
}

uint64_t clew__ring_head(clew_client *c)
{
	return atomic_load_explicit(&c->ring->head, memory_order_acquire);
}

uint64_t clew__ring_tail(clew_client *c)
{
	return atomic_load_explicit(&c->ring->tail, memory_order_acquire);
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

void clew__ring_unlock(struct clew__ring *r, uint64_t t)
{
	atomic_store_explicit(&r->tail, t, memory_order_release);
	atomic_store_explicit(&r->busy, 0, memory_order_release);
}
