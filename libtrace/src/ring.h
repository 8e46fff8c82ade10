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

_Static_assert(CLEW__BATCH_MAX >= CLEW_LINE_MAX, "a batch must hold the longest record");
_Static_assert(CLEW__RING_MIN / CLEW__SLOT >= CLEW_LINE_MAX / CLEW__SLOT + 1,
	       "the smallest ring must hold the longest record");

struct clew__ring;

/*
 * clew__ring_new() - a ring of at least @bytes (rounded up to a power of
 * two of slots) for @c. Return: 0 or -CLEW_ENOMEM.
 * clew__ring_free() - free it (the worker is stopped). NULL is a no-op.
 */
int clew__ring_new(clew_client *c, uint32_t bytes);
void clew__ring_free(clew_client *c);

/*
 * clew__ring_push() - copy one whole line into the ring. Never blocks:
 * when the ring has no room the record is dropped and counted.
 * Return: 0 or -CLEW_EAGAIN. Any thread; lock-free.
 */
int clew__ring_push(clew_client *c, const char *line, size_t len);

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

/* Whether the ring holds no committed record (a claimed, uncommitted one counts as empty). */
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

/* clew__reopen_check() - reopen a file: output if SIGHUP came since the last check (any thread). */
void clew__reopen_check(clew_client *c);

/* clew__reopen_file() - reopen @c's file: output now. Return: 0, -CLEW_EIO. */
int clew__reopen_file(clew_client *c);

#endif
