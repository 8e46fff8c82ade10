/*
 * sink.h - the client's output (sink.c).
 */
#ifndef CLEW_SINK_H
#define CLEW_SINK_H

#include <stddef.h>

#include "internal.h"

/*
 * Bytes the async writer (writer.c) gathers before one write() to a regular file
 * (to anything else, PIPE_BUF: sink.c's batch_max): whole records only, so a
 * write never ends inside a record. 64 KiB amortises the syscall over
 * hundreds of records without holding them long.
 */
#define CLEW__BATCH_MAX (64 * 1024)

_Static_assert(CLEW__BATCH_MAX >= CLEW_LINE_MAX, "a batch must hold the longest record");

/*
 * clew__sink_open() - open the output that c->out_kind/out_arg name.
 * Return: 0 or -CLEW_EIO (with a diagnostic).
 */
int clew__sink_open(clew_client *c);

/* clew__sink_close() - close the output if we opened it. */
void clew__sink_close(clew_client *c);

/*
 * clew__sink_write() - write one whole record line (with its newline)
 * with one write() call (a datagram for udp/unix datagram sockets).
 * Return: 0 or -CLEW_EIO.
 */
int clew__sink_write(clew_client *c, const char *line, size_t len);

/*
 * clew__out_line() - hand one whole line (with its newline) to @c's output:
 * written now in sync mode (after reopening the file on a pending SIGHUP),
 * pushed into the ring in async mode. A failure is counted as a drop.
 * Return: 0, -CLEW_EIO (sync), -CLEW_EAGAIN (async: the ring is full).
 */
int clew__out_line(clew_client *c, const char *line, size_t len);

/* clew__restart_check() - in a forked child, start the worker its parent had (once). */
void clew__restart_check(clew_client *c);

#endif
