/*
 * ring.c - the async mode's ring: many producers, one consumer at a time.
 *
 * DESIGN: a bounded MPSC queue of fixed-size slots with one atomic
 * sequence number per slot (Vyukov's bounded queue, extended to entries
 * of several consecutive slots). Slot i is free for ticket t when
 * seq[i] == t (t = i at the start, t + N after each lap). A producer
 * formats its record on its own stack, then claims k consecutive tickets
 * [h, h + k) with one CAS on head, after checking that the last of them is
 * free: the consumer frees slots strictly in ticket order, so the others
 * are free too. It copies the line into the slots (wrapping at the end of
 * the data array), stores the length in the first slot's len, and
 * publishes the entry by storing seq[first] = h + 1 (release). When the
 * last slot is not free the ring is full: the record is dropped and
 * counted, never waited for. No producer ever blocks, locks or allocates.
 * The consumer (the worker, or clew_flush()/exit/a fatal signal handler,
 * one at a time through the `busy` flag) reads entries in ticket order
 * while seq[first] == t + 1 (acquire), copies whole records into a batch
 * buffer, frees their slots (seq = ticket + N, release) and writes the
 * batch with one write(): records never tear, and a batch never ends
 * inside a record. A batch is at most PIPE_BUF bytes unless the output is
 * a regular file (sink.c), so that it stays whole on a shared pipe too. It stops at the first claimed but uncommitted entry;
 * that producer is at most a memcpy away from committing it.
 * Datagram outputs get one send() per record instead of batches.
 * The consumer side uses only atomics, memcpy and write()/send(), so the
 * fatal-signal handler can run it (async-signal-safe).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ring.h"
#include "sink.h"

struct clew__ring {
	size_t nslots;			    /* a power of two */
	size_t mask;			    /* nslots - 1 */
	char *data;			    /* nslots * CLEW__SLOT bytes */
	uint32_t *len;			    /* per slot: the entry's length, when it starts there */
	_Atomic uint64_t *seq;		    /* per slot: the Vyukov sequence number */
	char *batch;			    /* the consumer's staging buffer, CLEW__BATCH_MAX bytes */
	atomic_int busy;		    /* 1 while a consumer drains */
	_Alignas(64) _Atomic uint64_t head; /* next ticket to claim */
	_Alignas(64) _Atomic uint64_t tail; /* next ticket to read; written by the consumer only */
};

static size_t slots_for(size_t len)
{
	return (len + CLEW__SLOT - 1) / CLEW__SLOT;
}

int clew__ring_new(clew_client *c, uint32_t bytes)
{
	struct clew__ring *r;
	size_t n = CLEW__RING_MIN / CLEW__SLOT;

	while (n * CLEW__SLOT < bytes)
		n <<= 1;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -CLEW_ENOMEM;
	r->nslots = n;
	r->mask = n - 1;
	r->data = malloc(n * CLEW__SLOT);
	r->len = malloc(n * sizeof(*r->len));
	r->seq = malloc(n * sizeof(*r->seq));
	r->batch = malloc(CLEW__BATCH_MAX);
	if (!r->data || !r->len || !r->seq || !r->batch) {
		free(r->data);
		free(r->len);
		free(r->seq);
		free(r->batch);
		free(r);
		return -CLEW_ENOMEM;
	}
	/* Touch every page now, so that no log call takes a page fault on a fresh slot. */
	memset(r->data, 0, n * CLEW__SLOT);
	memset(r->len, 0, n * sizeof(*r->len));
	memset(r->batch, 0, CLEW__BATCH_MAX);
	c->ring = r;
	clew__ring_reset(c);
	return 0;
}

void clew__ring_reset(clew_client *c)
{
	struct clew__ring *r = c->ring;

	for (size_t i = 0; i < r->nslots; i++)
		atomic_init(&r->seq[i], i);
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
	free(r->len);
	free(r->seq);
	free(r->batch);
	free(r);
	c->ring = NULL;
}

int clew__ring_push(clew_client *c, const char *line, size_t len)
{
	struct clew__ring *r = c->ring;
	const size_t k = slots_for(len);
	const size_t bytes = r->nslots * CLEW__SLOT;
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	size_t pos, first;

	if (k > r->nslots)
		goto full;
	for (;;) {
		const uint64_t last = h + k - 1;
		const int64_t diff =
			(int64_t)(atomic_load_explicit(&r->seq[last & r->mask], memory_order_acquire) - last);

		if (diff == 0) {
			if (atomic_compare_exchange_weak_explicit(&r->head, &h, h + k, memory_order_relaxed,
								  memory_order_relaxed))
				break;
		} else if (diff < 0) {
			goto full;
		} else {
			h = atomic_load_explicit(&r->head, memory_order_relaxed);
		}
	}
	pos = (size_t)(h & r->mask) * CLEW__SLOT;
	first = bytes - pos < len ? bytes - pos : len;
	memcpy(r->data + pos, line, first);
	if (first < len)
		memcpy(r->data, line + first, len - first);
	r->len[h & r->mask] = (uint32_t)len;
	atomic_store_explicit(&r->seq[h & r->mask], h + 1, memory_order_release);
	/* Pairs with the worker's seq_cst store of `sleeping` (worker.c). */
	atomic_thread_fence(memory_order_seq_cst);
	clew__worker_wake(c);
	return 0;
full:
	atomic_fetch_add_explicit(&c->dropped, 1, memory_order_relaxed);
	return -CLEW_EAGAIN;
}

bool clew__ring_empty(clew_client *c)
{
	struct clew__ring *r = c->ring;
	const uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);

	return atomic_load(&r->seq[t & r->mask]) != t + 1;
}

uint64_t clew__ring_head(clew_client *c)
{
	return atomic_load_explicit(&c->ring->head, memory_order_acquire);
}

uint64_t clew__ring_tail(clew_client *c)
{
	return atomic_load_explicit(&c->ring->tail, memory_order_acquire);
}

/* Write @len bytes holding @n whole records; count them as dropped when that fails. */
static void put(clew_client *c, const char *buf, size_t len, long n, bool in_signal)
{
	if (len == 0)
		return;
	if (clew__sink_write(c, buf, len) < 0) {
		if (in_signal)
			return;
		atomic_fetch_add_explicit(&c->dropped, (uint_fast64_t)n - 1, memory_order_relaxed);
		clew__drop(c, 0, "write failed");
	}
}

static bool lock_consumer(struct clew__ring *r, int wait_ms)
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

long clew__ring_drain_ex(clew_client *c, int wait_ms, bool in_signal)
{
	struct clew__ring *r = c->ring;
	const size_t bytes = r->nslots * CLEW__SLOT;
	size_t bpos = 0;
	long n = 0, nbatch = 0;
	uint64_t t;

	if (!lock_consumer(r, wait_ms))
		return wait_ms > 0 ? -CLEW_ETIMEDOUT : 0;
	if (!in_signal)
		clew__reopen_check(c);
	t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	for (;;) {
		const size_t i = (size_t)(t & r->mask);
		size_t len, k, pos, first;

		if (atomic_load_explicit(&r->seq[i], memory_order_acquire) != t + 1)
			break;
		len = r->len[i];
		k = slots_for(len);
		if (bpos && (bpos + len > c->batch_max || c->dgram)) {
			put(c, r->batch, bpos, nbatch, in_signal);
			bpos = 0;
			nbatch = 0;
		}
		pos = i * CLEW__SLOT;
		first = bytes - pos < len ? bytes - pos : len;
		memcpy(r->batch + bpos, r->data + pos, first);
		if (first < len)
			memcpy(r->batch + bpos + first, r->data, len - first);
		bpos += len;
		nbatch++;
		for (size_t j = 0; j < k; j++)
			atomic_store_explicit(&r->seq[(t + j) & r->mask], t + j + r->nslots,
					      memory_order_release);
		t += k;
		n++;
	}
	put(c, r->batch, bpos, nbatch, in_signal);
	atomic_store_explicit(&r->tail, t, memory_order_release);
	atomic_store_explicit(&r->busy, 0, memory_order_release);
	return n;
}
