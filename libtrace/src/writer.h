/*
 * writer.h - the async mode's writer (writer.c): the ring's consumer,
 * which turns the entries into lines and writes them out in batches.
 */
#ifndef CLEW_WRITER_H
#define CLEW_WRITER_H

#include <stdbool.h>

#include "internal.h"

/*
 * clew__writer_new() - the writer's buffers for @c's ring, and the clock
 * of its records (whether they carry TSC ticks: c->tsc). Return: 0 or
 * -CLEW_ENOMEM.
 * clew__writer_free() - free them (the worker is stopped). None is a no-op.
 */
int clew__writer_new(clew_client *c);
void clew__writer_free(clew_client *c);

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

#endif
