/*
 * ring.c - the async mode's ring: many producers, one consumer at a time.
 *
 * DESIGN: a bounded MPSC queue of fixed-size slots with one atomic
 * sequence number per slot (Vyukov's bounded queue, extended to entries
 * of several consecutive slots). Slot i is free for ticket t when
 * seq[i] == t (t = i at the start, t + N after each lap). A producer
 * builds its entry on its own stack (a binary record, async.c, or a
 * formatted line), then claims k consecutive tickets [h, h + k) with one
 * CAS on head, after checking that the last of them is free: the
 * consumer frees slots strictly in ticket order, so the others are free
 * too. It copies the entry into the slots with one memcpy: the data array
 * has CLEW__ENTRY_MAX bytes of slack past its end, so an entry that
 * starts in the last slots runs on into the slack instead of wrapping
 * (the slots it claimed at the start of the array stay unused for that
 * lap); the entry's head holds its kind and length. It publishes the
 * entry by storing seq[first] = h + 1 (release); the sequence numbers of
 * neighbouring slots sit in different cache lines (seq_of()), so that
 * producers and the consumer do not fight over one line. When the last slot is
 * not free the ring is full: the record is dropped and counted, never
 * waited for. No producer ever blocks, locks or allocates.
 * The consumer (the worker, or clew_flush()/exit/a fatal signal handler,
 * one at a time through the `busy` flag) reads entries in ticket order
 * while seq[first] == t + 1 (acquire), turns each into its line (a
 * binary record is formatted here, async.c), joins whole lines into a
 * batch buffer, frees their slots (seq = ticket + N, release) and writes
 * the batch with one write(): records never tear, and a batch never ends
 * inside a record. A batch is at most PIPE_BUF bytes unless the output is
 * a regular file (sink.c), so that it stays whole on a shared pipe too.
 * It stops at the first claimed but uncommitted entry; that producer is
 * at most a memcpy away from committing it. Datagram outputs get one
 * send() per record instead of batches. The consumer side uses only
 * atomics, memcpy, the formats library's emitters, async.c's
 * signal-safe formatting and write()/send(), so the fatal-signal handler
 * can run it (async-signal-safe).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ring.h"
#include "sink.h"

struct clew__ring {
	size_t nslots;			    /* a power of two */
	size_t mask;			    /* nslots - 1 */
	char *data;			    /* nslots * CLEW__SLOT bytes, then CLEW__ENTRY_MAX of slack */
	_Atomic uint64_t *seq;		    /* per slot, spread (seq_of()): the Vyukov sequence number */
	unsigned spread;		    /* log2(nslots / SEQ_PER_LINE) */
	char *batch;			    /* the consumer's staging buffer, CLEW__BATCH_MAX bytes */
	struct clew__scratch *scratch;	    /* the consumer's formatting space */
	atomic_int busy;		    /* 1 while a consumer drains */
	_Alignas(64) _Atomic uint64_t head; /* next ticket to claim */
	_Alignas(64) _Atomic uint64_t tail; /* next ticket to read; written by the consumer only */
};

/* Sequence numbers per cache line. */
#define SEQ_PER_LINE 8

/*
 * The sequence number of ticket @t. Consecutive slots' numbers are spread
 * over different cache lines (slot i and i + 8 share one), so producers
 * committing neighbouring entries at once, and the consumer freeing the
 * entries just behind them, do not write the same line.
 */
static inline _Atomic uint64_t *seq_of(struct clew__ring *r, uint64_t t)
{
	const size_t i = (size_t)(t & r->mask);

	return &r->seq[((i % SEQ_PER_LINE) << r->spread) | (i / SEQ_PER_LINE)];
}

static inline size_t entry_len(const char *e)
{
	uint16_t n;

	memcpy(&n, e + 1, 2);
	return n;
}

static size_t slots_for(size_t len)
{
	return (len + CLEW__SLOT - 1) / CLEW__SLOT;
}

/* Write one byte of every page of @p (@len bytes), so that the kernel maps them all now. */
static void touch(void *p, size_t len)
{
	volatile char *v = p;
	const long page = sysconf(_SC_PAGESIZE);
	const size_t step = page > 0 ? (size_t)page : 4096;

	for (size_t i = 0; i < len; i += step)
		v[i] = 0;
	if (len)
		v[len - 1] = 0;
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
	for (r->spread = 0; ((size_t)SEQ_PER_LINE << r->spread) < n; r->spread++)
		;
	r->data = malloc(n * CLEW__SLOT + CLEW__ENTRY_MAX);
	r->seq = malloc(n * sizeof(*r->seq));
	r->batch = malloc(CLEW__BATCH_MAX);
	r->scratch = malloc(sizeof(*r->scratch));
	if (!r->data || !r->seq || !r->batch || !r->scratch) {
		free(r->data);
		free(r->seq);
		free(r->batch);
		free(r->scratch);
		free(r);
		return -CLEW_ENOMEM;
	}
	/*
	 * Touch every page now, so that no log call takes a page fault on a
	 * fresh slot. Not memset(0): the compiler may turn malloc() + memset(0)
	 * into calloc(), which leaves fresh pages unmapped.
	 */
	touch(r->data, n * CLEW__SLOT + CLEW__ENTRY_MAX);
	touch(r->batch, CLEW__BATCH_MAX);
	touch(r->scratch, sizeof(*r->scratch));
	c->tsc = clew__tsc_usable();
	if (c->tsc)
		clew__tsc_init(r->scratch);
	c->ring = r;
	clew__ring_reset(c);
	return 0;
}

void clew__ring_reset(clew_client *c)
{
	struct clew__ring *r = c->ring;

	for (size_t i = 0; i < r->nslots; i++)
		atomic_init(seq_of(r, i), i);
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
	free(r->batch);
	free(r->scratch);
	free(r);
	c->ring = NULL;
}

int clew__ring_push(clew_client *c, int kind, const void *data, size_t len)
{
	struct clew__ring *r = c->ring;
	const size_t k = slots_for(len + CLEW__ENTRY_HEAD);
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	char *dst;

	if (k > r->nslots || len > CLEW_LINE_MAX)
		goto full;
	for (;;) {
		const uint64_t last = h + k - 1;
		const int64_t diff =
			(int64_t)(atomic_load_explicit(seq_of(r, last), memory_order_acquire) - last);

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
	atomic_store_explicit(seq_of(r, h), h + 1, memory_order_release);
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
	size_t bpos = 0;
	long n = 0, nbatch = 0;
	uint64_t t, end;

	if (!lock_consumer(r, wait_ms))
		return wait_ms > 0 ? -CLEW_ETIMEDOUT : 0;
	if (!in_signal)
		clew__reopen_check(c);
	t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	if (c->tsc && atomic_load_explicit(seq_of(r, t), memory_order_relaxed) == t + 1)
		clew__tsc_anchor(r->scratch);
	/* At most one lap per call, so that a flood of records cannot keep the worker from its metrics. */
	end = t + r->nslots;
	while (t < end) {
		const size_t i = (size_t)(t & r->mask);
		const char *e = r->data + i * CLEW__SLOT;
		const char *line = e + CLEW__ENTRY_HEAD;
		size_t len, ll;

		if (atomic_load_explicit(seq_of(r, t), memory_order_acquire) != t + 1)
			break;
		len = entry_len(e);
		ll = len - CLEW__ENTRY_HEAD;
		if (e[0] == CLEW__ENTRY_BIN) {
			int rc = clew__async_format(c, r->scratch, line, ll, &ll, in_signal);

			line = r->scratch->line;
			if (rc < 0) {
				ll = 0;
				if (!in_signal)
					clew__drop(c, rc,
						   rc == -CLEW_ETRUNC ? "longer than CLEW_LINE_MAX"
								      : "the emitter refused it");
			}
		}
		if (ll && bpos && (bpos + ll > c->batch_max || c->dgram)) {
			put(c, r->batch, bpos, nbatch, in_signal);
			bpos = 0;
			nbatch = 0;
		}
		if (ll) {
			memcpy(r->batch + bpos, line, ll);
			bpos += ll;
			nbatch++;
		}
		for (size_t j = 0, k = slots_for(len); j < k; j++)
			atomic_store_explicit(seq_of(r, t + j), t + j + r->nslots, memory_order_release);
		t += slots_for(len);
		n++;
	}
	put(c, r->batch, bpos, nbatch, in_signal);
	atomic_store_explicit(&r->tail, t, memory_order_release);
	atomic_store_explicit(&r->busy, 0, memory_order_release);
	return n;
}
