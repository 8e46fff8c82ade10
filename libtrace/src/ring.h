/*
 * ring.h - the async mode's ring and the process-wide machinery around it
 * (ring.c, process.c).
 */
#ifndef CLEW_RING_H
#define CLEW_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
 * Bytes the writer gathers before one write(): whole records only, so a
 * write never ends inside a record. 64 KiB amortises the syscall over
 * hundreds of records without holding them long.
 */
#define CLEW__BATCH_MAX (64 * 1024)

/*
 * A ring entry: a head of CLEW__ENTRY_HEAD bytes (the kind, then the
 * entry's whole length as a u16) and at most CLEW_LINE_MAX bytes of
 * record, binary (async.c) or an already formatted line. A binary record
 * that would be longer is dropped and counted on the caller
 * (-CLEW_ETRUNC): it holds about what its line would, and that line
 * would pass CLEW_LINE_MAX.
 */
#define CLEW__ENTRY_HEAD 3
#define CLEW__ENTRY_MAX (CLEW_LINE_MAX + CLEW__ENTRY_HEAD)

/* The first byte of a ring entry: what follows it. */
enum clew__entry_kind {
	CLEW__ENTRY_LINE = 1, /* a formatted line, newline included (spans, metrics, warnings) */
	CLEW__ENTRY_BIN,      /* a binary log record (async.c): the writer formats it */
};

_Static_assert(CLEW__BATCH_MAX >= CLEW_LINE_MAX, "a batch must hold the longest record");
_Static_assert(CLEW__RING_MIN / CLEW__SLOT >= CLEW__ENTRY_MAX / CLEW__SLOT + 1,
	       "the smallest ring must hold the longest entry");
_Static_assert(CLEW__ENTRY_MAX <= UINT16_MAX, "binary records use 16-bit lengths");

struct clew__ring;

/*
 * The consumer's scratch space for formatting a binary record (one
 * consumer at a time, so one per ring; not on the stack, so that the
 * fatal-signal handler needs little of it).
 */
struct clew__scratch {
	/*
	 * Turning TSC ticks into wall-clock ns (async.c): the ticks and
	 * CLOCK_MONOTONIC when the ring was made, the ns per tick measured
	 * since then, and an anchor: ticks and CLOCK_REALTIME read together
	 * at the last clew__tsc_anchor().
	 */
	uint64_t tsc0;
	int64_t mono0;
	double ns_per_tick;
	uint64_t tsc_a;
	int64_t real_a;
	unsigned since_anchor; /* records converted since the anchor */
	struct fmt_record rec;
	char line[CLEW_LINE_MAX];
	char msg[CLEW_MSG_MAX];
	char num[FMT_ATTRS_MAX][CLEW__NUM_MAX];
};

/*
 * clew__ring_new() - a ring of at least @bytes (rounded up to a power of
 * two of slots) for @c. Return: 0 or -CLEW_ENOMEM.
 * clew__ring_free() - free it (the worker is stopped). NULL is a no-op.
 */
int clew__ring_new(clew_client *c, uint32_t bytes);
void clew__ring_free(clew_client *c);

/*
 * clew__ring_push() - copy one entry, @kind then @len bytes at @data
 * (@len <= CLEW_LINE_MAX), into the ring. Never blocks: when the
 * ring has no room the record is dropped and counted.
 * Return: 0 or -CLEW_EAGAIN. Any thread; lock-free.
 */
int clew__ring_push(clew_client *c, int kind, const void *data, size_t len);

/*
 * clew__ring_drain() - write out the records committed in the ring, in
 * order, batching whole records into few write() calls. The consumer side
 * is one at a time: when another drain runs, return 0 at once, unless
 * @wait_ms > 0, then wait up to that long for it. @in_signal: called from
 * a signal handler: only async-signal-safe calls (no diagnostics, no
 * reopen, no drop accounting). Return: the number of records taken out
 * of the ring, or -CLEW_ETIMEDOUT when another drain held it past @wait_ms.
 */
long clew__ring_drain_ex(clew_client *c, int wait_ms, bool in_signal);
#define clew__ring_drain(c, in_signal) clew__ring_drain_ex((c), 0, (in_signal))

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
 * Process-wide (process.c): the live clients, for atexit, fork and the
 * signal handlers. clew__register() returns false when the table is full
 * (the client then works but is not flushed at exit or on a signal).
 */
bool clew__register(clew_client *c);
void clew__unregister(clew_client *c);

/*
 * Binary records (async.c). clew__async_log() is clew_logv() of an
 * async client: it encodes the record into the ring without formatting
 * it. Return: as clew_logv().
 * clew__async_format() - on the consumer: the line (newline included) of
 * the binary record @e of @len bytes into sc->line; *@out_len its length.
 * @in_signal: only async-signal-safe code (no snprintf: doubles are
 * written with a simpler conversion, conversion flags are ignored).
 * Return: 0, -CLEW_ETRUNC (the line would pass CLEW_LINE_MAX) or
 * -CLEW_EINVAL (the emitter refused it).
 */
int clew__async_log(clew_client *c, int level, const struct clew_kv *kv, size_t nkv, const char *fmt,
		    va_list ap);
int clew__async_format(clew_client *c, struct clew__scratch *sc, const char *e, size_t len, size_t *out_len,
		       bool in_signal);

/*
 * clew__async_span() - a span record (span.c) of an async client, binary
 * like a log record: @ids_len bytes of NUL-terminated IDs at @ids, the
 * thread's method and path, the key/values @pre then @kv (together at
 * most FMT_ATTRS_MAX), timestamped @ts_ns. Return: as clew__async_log().
 */
int clew__async_span(clew_client *c, int level, int64_t ts_ns, const char *ids, size_t ids_len,
		     const struct clew_kv *pre, size_t npre, const struct clew_kv *kv, size_t nkv);

/*
 * The caller's clock of async records (async.c): the TSC where it is the
 * kernel's clocksource (x86-64; constant, synchronised across CPUs), read
 * in a few cycles that overlap the encoding, and turned into wall-clock
 * time on the consumer; elsewhere clock_gettime(CLOCK_REALTIME).
 * clew__tsc_usable() says which (decided once per process);
 * clew__tsc_init() starts @sc's conversion, clew__tsc_anchor() takes a
 * new anchor (async-signal-safe).
 */
bool clew__tsc_usable(void);
void clew__tsc_init(struct clew__scratch *sc);
void clew__tsc_anchor(struct clew__scratch *sc);

/* clew__reopen_check() - reopen a file: output if SIGHUP came since the last check (any thread). */
void clew__reopen_check(clew_client *c);

/* clew__reopen_file() - reopen @c's file: output now. Return: 0, -CLEW_EIO. */
int clew__reopen_file(clew_client *c);

#endif
