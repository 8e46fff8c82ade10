/*
 * ring.h - the async mode's queue (ring.c): many producers, one consumer
 * at a time. The consumer's reads are inline: the writer (writer.c) runs
 * them for every record it takes out.
 */
#ifndef CLEW_RING_H
#define CLEW_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

/*
 * Bytes per ring slot. A record takes ceil(len / CLEW__SLOT) consecutive
 * slots; 128 holds a short record in one and wastes at most 127 bytes of
 * a long one.
 */
#define CLEW__SLOT 128

/* Default and bounds of the ring size (options.ring_bytes, CLEW_RING_BYTES). */
#define CLEW__RING_DEFAULT (1u << 20)
#define CLEW__RING_MIN (16u * 1024)
#define CLEW__RING_MAX (1u << 30)

/*
 * A ring entry: a head of CLEW__ENTRY_HEAD bytes (the kind, then the
 * entry's whole length as a u16) and at most CLEW_LINE_MAX bytes of
 * record, binary (async.h) or an already formatted line. A binary record
 * that would be longer is dropped and counted on the caller
 * (-CLEW_ETRUNC): it holds about what its line would, and that line
 * would pass CLEW_LINE_MAX.
 */
#define CLEW__ENTRY_HEAD 3
#define CLEW__ENTRY_MAX (CLEW_LINE_MAX + CLEW__ENTRY_HEAD)

/* The first byte of a ring entry: what follows it. */
enum clew__entry_kind {
	CLEW__ENTRY_LINE = 1, /* a formatted line, newline included (spans, metrics, warnings) */
	CLEW__ENTRY_BIN,      /* a binary log record (async.h): the writer formats it */
};

_Static_assert(CLEW__RING_MIN / CLEW__SLOT >= CLEW__ENTRY_MAX / CLEW__SLOT + 1,
	       "the smallest ring must hold the longest entry");
_Static_assert(CLEW__ENTRY_MAX <= UINT16_MAX, "binary records use 16-bit lengths");

/* Sequence numbers per cache line. */
#define CLEW__SEQ_PER_LINE 8

struct clew__ring {
	size_t nslots;	       /* a power of two */
	size_t mask;	       /* nslots - 1 */
	char *data;	       /* nslots * CLEW__SLOT bytes, then CLEW__ENTRY_MAX of slack */
	_Atomic uint64_t *seq; /* per slot, spread (clew__seq_of()): the Vyukov sequence number */
	unsigned spread;       /* log2(nslots / CLEW__SEQ_PER_LINE) */
	atomic_int busy;       /* 1 while a consumer reads */
	_Alignas(64) _Atomic uint64_t head; /* next ticket to claim */
	_Alignas(64) _Atomic uint64_t tail; /* next ticket to read; written by the consumer only */
};

/*
 * The sequence number of ticket @t. Consecutive slots' numbers are spread
 * over different cache lines (slot i and i + 8 share one), so producers
 * committing neighbouring entries at once, and the consumer freeing the
 * entries just behind them, do not write the same line.
 */
static inline _Atomic uint64_t *clew__seq_of(struct clew__ring *r, uint64_t t)
{
	const size_t i = (size_t)(t & r->mask);

	return &r->seq[((i % CLEW__SEQ_PER_LINE) << r->spread) | (i / CLEW__SEQ_PER_LINE)];
}

/* Slots an entry of @len bytes (its head included) takes. */
static inline size_t clew__slots_for(size_t len)
{
	return (len + CLEW__SLOT - 1) / CLEW__SLOT;
}

/*
 * clew__ring_new() - a ring of at least @bytes (rounded up to a power of
 * two of slots) for @c. Return: 0 or -CLEW_ENOMEM.
 * clew__ring_free() - free it (the worker is stopped). NULL is a no-op.
 */
int clew__ring_new(clew_client *c, uint32_t bytes);
void clew__ring_free(clew_client *c);

/*
 * clew__ring_push() - copy one entry, @kind then @len bytes at @data
 * (@len <= CLEW_LINE_MAX), into the ring, and wake the worker. Never
 * blocks: when the ring has no room the record is dropped and counted.
 * Return: 0 or -CLEW_EAGAIN. Any thread; lock-free.
 */
int clew__ring_push(clew_client *c, int kind, const void *data, size_t len);

/*
 * Whether the ring holds no entry, committed or only claimed. A seq_cst
 * load of head: the worker calls it after its seq_cst store of
 * `sleeping`, a producer reads `sleeping` after its seq_cst claim of
 * head, so one of them always sees the other (worker.c).
 */
bool clew__ring_empty(clew_client *c);

/* The tickets claimed so far, and those taken out: clew_flush() waits for the second to pass the first. */
uint64_t clew__ring_head(clew_client *c);
uint64_t clew__ring_tail(clew_client *c);

/* clew__ring_reset() - in a forked child: forget the parent's queued records; the ring is empty. */
void clew__ring_reset(clew_client *c);

/*
 * The consumer side, one consumer at a time; async-signal-safe (atomics
 * and memcpy only), so that the fatal-signal handler can consume.
 * clew__ring_lock() - become the consumer; when another one is, wait up
 * to @wait_ms for it. Return: false when it did not get the ring.
 * clew__ring_unlock() - stop being the consumer, every ticket before @t
 * taken out (clew__ring_pop()).
 */
bool clew__ring_lock(struct clew__ring *r, int wait_ms);
void clew__ring_unlock(struct clew__ring *r, uint64_t t);

/* One entry, as the consumer reads it in place. */
struct clew__entry {
	int kind;	  /* enum clew__entry_kind */
	const char *data; /* the record */
	size_t len;	  /* its bytes */
	size_t slots;	  /* the slots the entry takes */
};

/* The first ticket not taken out yet (the consumer's). */
static inline uint64_t clew__ring_first(struct clew__ring *r)
{
	return atomic_load_explicit(&r->tail, memory_order_relaxed);
}

/* The tickets of one lap: a consumer takes at most that many at a time. */
static inline uint64_t clew__ring_lap(const struct clew__ring *r)
{
	return r->nslots;
}

/*
 * clew__ring_peek() - the entry at ticket @t into *@e, when its producer
 * committed it (acquire). Return: false when it is not committed (yet):
 * the ring is empty there, or that producer is at most a memcpy away.
 */
static inline bool clew__ring_peek(struct clew__ring *r, uint64_t t, struct clew__entry *e)
{
	const char *p = r->data + (size_t)(t & r->mask) * CLEW__SLOT;
	uint16_t n;

	if (atomic_load_explicit(clew__seq_of(r, t), memory_order_acquire) != t + 1)
		return false;
	memcpy(&n, p + 1, 2);
	e->kind = p[0];
	e->data = p + CLEW__ENTRY_HEAD;
	e->len = (size_t)n - CLEW__ENTRY_HEAD;
	e->slots = clew__slots_for(n);
	return true;
}

/* clew__ring_pop() - free the slots of @e, the entry at ticket @t (release). Return: the ticket after it. */
static inline uint64_t clew__ring_pop(struct clew__ring *r, uint64_t t, const struct clew__entry *e)
{
	for (size_t j = 0; j < e->slots; j++)
		atomic_store_explicit(clew__seq_of(r, t + j), t + j + r->nslots, memory_order_release);
	return t + e->slots;
}

#endif
