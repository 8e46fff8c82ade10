/*
 * ring.h - the async mode's queue (ring.c): one single-producer lane per
 * logging thread, one consumer at a time. The consumer's reads are
 * inline: the writer (writer.c) runs them for every record it takes out.
 */
#ifndef CLEW_RING_H
#define CLEW_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* Default and bounds of a lane's size (options.ring_bytes, CLEW_RING_BYTES): per logging thread. */
#define CLEW__RING_DEFAULT (1u << 20)
#define CLEW__RING_MIN (16u * 1024)
#define CLEW__RING_MAX (1u << 30)

/* Most lanes of one client: threads logging at once (a lane is reused once its thread exits). */
#define CLEW__LANES_MAX 1024

/*
 * A lane entry: a head of CLEW__ENTRY_HEAD bytes (the kind, then the
 * entry's whole length as a u16) and at most CLEW_LINE_MAX bytes of
 * record, binary (async.h) or an already formatted line. A binary record
 * that would be longer is dropped and counted on the caller
 * (-CLEW_ETRUNC): it holds about what its line would, and that line
 * would pass CLEW_LINE_MAX. Entries start on CLEW__ENTRY_ALIGN bytes.
 */
#define CLEW__ENTRY_HEAD 3
#define CLEW__ENTRY_MAX (CLEW_LINE_MAX + CLEW__ENTRY_HEAD)
#define CLEW__ENTRY_ALIGN 8

/*
 * Bytes a lane has past its end: an entry that starts near the end runs
 * on into them instead of wrapping (ring.c), and the encoder stores whole
 * 16-byte blocks up to 32 bytes past a record (async_encode.c).
 */
#define CLEW__LANE_SLACK (CLEW__ENTRY_MAX + 64)

/* The first byte of an entry: what follows it. */
enum clew__entry_kind {
	CLEW__ENTRY_LINE = 1, /* a formatted line, newline included (spans, metrics, warnings) */
	CLEW__ENTRY_BIN,      /* a binary log record (async.h): the writer formats it */
};

_Static_assert(CLEW__RING_MIN > CLEW__LANE_SLACK,
	       "an empty lane of the smallest size takes a record built in place");
_Static_assert(CLEW__ENTRY_MAX <= UINT16_MAX, "entries use 16-bit lengths");

/*
 * The context (NDC, method, path) of a lane's records, as the consumer
 * keeps it: a record that carries its thread's context with
 * CLEW__BIN_F_CTX_SET (async.h) sets it, the next ones of the lane
 * (CLEW__BIN_F_CTX_PREV) carry none and are read with it. Consumer only.
 */
struct clew__lane_ctx {
	uint16_t ids_len;
	uint16_t path_len;
	uint8_t method_len;
	char bytes[CLEW_NDC_BYTES + CLEW_METHOD_MAX + CLEW_PATH_MAX]; /* ids, method, path */
};

/* One thread's queue. */
struct clew__lane {
	_Alignas(64) _Atomic uint64_t head; /* bytes committed; stored by the owner only */
	uint64_t tail_seen;		    /* the owner's last look at tail */
	uint64_t ctx_sent; /* the owner's ctx_gen its last CTX_SET record had; CLEW__CTX_NONE: none */
	_Alignas(64) _Atomic uint64_t tail; /* bytes taken out; stored by the consumer only */
	_Alignas(64) atomic_bool owned;	    /* a live thread has it (its key's value) */
	size_t size;			    /* a power of two */
	size_t mask;			    /* size - 1 */
	char *data;			    /* size + CLEW__LANE_SLACK bytes */
	struct clew__lane_ctx ctx;	    /* the consumer's */
};

/* ctx_sent of a lane whose consumer has no context of its owner (new, taken over, reset): no ctx_gen. */
#define CLEW__CTX_NONE UINT64_MAX

struct clew__ring {
	size_t lane_bytes;	 /* each lane's size */
	uint64_t serial;	 /* tells this ring from a freed one at the same address (ring.c) */
	pthread_key_t key;	 /* the calling thread's lane; its destructor frees the lane for reuse */
	pthread_mutex_t grow;	 /* taken to add a lane */
	_Atomic unsigned nlanes; /* lanes[0, nlanes) exist */
	atomic_int busy;	 /* 1 while a consumer reads */
	struct clew__lane *_Atomic lanes[CLEW__LANES_MAX];
};

/* Lane bytes an entry of @n bytes (its head included) takes. */
static inline size_t clew__entry_span(size_t n)
{
	return (n + CLEW__ENTRY_ALIGN - 1) & ~(size_t)(CLEW__ENTRY_ALIGN - 1);
}

/*
 * clew__ring_new() - a ring of lanes of at least @bytes (rounded up to a
 * power of two) for @c; lanes are made as threads first log. Return: 0
 * or -CLEW_ENOMEM.
 * clew__ring_free() - free it and its lanes (the worker is stopped).
 * NULL is a no-op.
 */
int clew__ring_new(clew_client *c, uint32_t bytes);
void clew__ring_free(clew_client *c);

/*
 * The producer side, on the calling thread's lane; never blocks: when the
 * lane has no room the record is dropped and counted. Lock-free. Inline
 * but for the first use of a lane and clew__ring_push(): a log call runs
 * them.
 * clew__lane_of() - the lane of @c's ring of the calling thread (its
 * state @th: clew__thread()), from its cache when it is this ring's, else
 * attached (clew__lane_attach()). NULL when none can be had.
 * clew__ring_reserve() - room for an entry of up to CLEW__ENTRY_MAX
 * bytes in the lane of the calling thread, built in place: where its
 * record (after the entry head) goes, with CLEW__LANE_SLACK -
 * CLEW__ENTRY_MAX bytes writable past CLEW_LINE_MAX; *@lane its lane.
 * NULL when the lane has less room than that (the caller builds the
 * record elsewhere and pushes it). Nothing is committed.
 * clew__ring_commit() - publish the record of @len bytes built at the
 * last reserve of this thread in @l, and wake the worker.
 * clew__ring_push() - copy one entry, @kind then @len bytes at @data
 * (@len <= CLEW_LINE_MAX), into the lane, and wake the worker.
 * Return: 0 or -CLEW_EAGAIN.
 */
struct clew__lane *clew__lane_attach(clew_client *c, struct clew__thread *th);
int clew__ring_push(clew_client *c, int kind, const void *data, size_t len);

static inline struct clew__lane *clew__lane_of(clew_client *c, struct clew__thread *th)
{
	if (__builtin_expect(th->lane_serial == c->ring->serial, 1))
		return th->lane;
	return clew__lane_attach(c, th);
}

/* Where an entry of @n bytes goes in @l, or NULL when the lane has no room for it. */
static inline char *clew__lane_room(struct clew__lane *l, size_t n)
{
	const uint64_t h = atomic_load_explicit(&l->head, memory_order_relaxed);

	if (l->size - (size_t)(h - l->tail_seen) < n) {
		l->tail_seen = atomic_load_explicit(&l->tail, memory_order_acquire);
		if (l->size - (size_t)(h - l->tail_seen) < n)
			return NULL;
	}
	return l->data + (size_t)(h & l->mask);
}

/* Publish the entry of @n bytes (its head included) written at the lane's head, and wake the worker. */
static inline void clew__lane_commit(clew_client *c, struct clew__lane *l, char *p, int kind, size_t n)
{
	const uint16_t n16 = (uint16_t)n;

	p[0] = (char)kind;
	memcpy(p + 1, &n16, 2);
	atomic_store_explicit(&l->head,
			      atomic_load_explicit(&l->head, memory_order_relaxed) + clew__entry_span(n),
			      memory_order_release);
	/*
	 * The head's store is not ordered before the load of `sleeping` by
	 * the CPU; the worker makes every thread pass a full barrier before it
	 * looks at the lanes and sleeps (worker.c). Only the compiler must
	 * keep the two in order here.
	 */
	atomic_signal_fence(memory_order_seq_cst);
	clew__worker_wake(c);
}

static inline char *clew__ring_reserve(clew_client *c, struct clew__thread *th, struct clew__lane **lane)
{
	struct clew__lane *l = clew__lane_of(c, th);
	char *p;

	*lane = l;
	if (!l || !(p = clew__lane_room(l, CLEW__LANE_SLACK)))
		return NULL;
	return p + CLEW__ENTRY_HEAD;
}

static inline int clew__ring_commit(clew_client *c, struct clew__lane *l, int kind, size_t len)
{
	char *p = l->data + (size_t)(atomic_load_explicit(&l->head, memory_order_relaxed) & l->mask);

	clew__lane_commit(c, l, p, kind, len + CLEW__ENTRY_HEAD);
	return 0;
}

/*
 * Whether every lane is empty. The worker calls it after it stored
 * `sleeping` and made every thread pass a memory barrier (worker.c), so
 * a producer either sees `sleeping` or has its entry seen here.
 */
bool clew__ring_empty(clew_client *c);

/*
 * What clew_flush() waits for: clew__ring_heads() stores each lane's head
 * now into @heads (CLEW__LANES_MAX of them) and returns how many lanes;
 * clew__ring_passed() tells whether the consumer took out everything
 * before those heads.
 */
unsigned clew__ring_heads(clew_client *c, uint64_t *heads);
bool clew__ring_passed(clew_client *c, const uint64_t *heads, unsigned n);

/*
 * clew__ring_reset() - in a forked child: forget the parent's queued
 * records; every lane is empty and free but the calling thread's.
 */
void clew__ring_reset(clew_client *c);

/*
 * The consumer side, one consumer at a time; async-signal-safe (atomics
 * and memcpy only), so that the fatal-signal handler can consume.
 * clew__ring_lock() - become the consumer; when another one is, wait up
 * to @wait_ms for it. Return: false when it did not get the ring.
 * clew__ring_unlock() - stop being the consumer.
 */
bool clew__ring_lock(struct clew__ring *r, int wait_ms);
void clew__ring_unlock(struct clew__ring *r);

/* The lanes there are now, and lane @i of them. */
static inline unsigned clew__ring_lanes(struct clew__ring *r)
{
	return atomic_load_explicit(&r->nlanes, memory_order_acquire);
}

static inline struct clew__lane *clew__ring_lane(struct clew__ring *r, unsigned i)
{
	return atomic_load_explicit(&r->lanes[i], memory_order_acquire);
}

/* One entry, as the consumer reads it in place. */
struct clew__entry {
	int kind;	  /* enum clew__entry_kind */
	const char *data; /* the record */
	size_t len;	  /* its bytes */
	size_t span;	  /* the lane bytes the entry takes */
};

/*
 * clew__lane_peek() - the entry at byte @t of @l into *@e, when @t is
 * before @end (the head the consumer loaded, acquire). Return: false at
 * the end.
 */
static inline bool clew__lane_peek(const struct clew__lane *l, uint64_t t, uint64_t end,
				   struct clew__entry *e)
{
	const char *p = l->data + (size_t)(t & l->mask);
	uint16_t n;

	if (t == end)
		return false;
	memcpy(&n, p + 1, 2);
	e->kind = p[0];
	e->data = p + CLEW__ENTRY_HEAD;
	e->len = (size_t)n - CLEW__ENTRY_HEAD;
	e->span = clew__entry_span(n);
	return true;
}

/* The entries committed in @l: from its tail (the consumer's) to its head (acquire). */
static inline uint64_t clew__lane_tail(struct clew__lane *l)
{
	return atomic_load_explicit(&l->tail, memory_order_relaxed);
}

static inline uint64_t clew__lane_head(struct clew__lane *l)
{
	return atomic_load_explicit(&l->head, memory_order_acquire);
}

/* clew__lane_release() - the entries before byte @t are taken out: their room is free (release). */
static inline void clew__lane_release(struct clew__lane *l, uint64_t t)
{
	atomic_store_explicit(&l->tail, t, memory_order_release);
}

#endif
