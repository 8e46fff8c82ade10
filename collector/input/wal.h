/*
 * input/wal.h - an input's write-ahead log (input/wal.c): segment files
 * in STATE_DIR/wal/NAME/, committed by a thread of its own (one write and
 * one fdatasync per commit), read back into the pipeline as checkpointed
 * sources, deleted once acknowledged. The intake (intake.h) decides what
 * to commit and when to answer; this is the disk side. Loop thread only,
 * except the committer inside.
 */
#ifndef CD_INPUT_WAL_H
#define CD_INPUT_WAL_H

#include <stdbool.h>
#include <stdint.h>

#include <store/buf.h>
#include <store/err.h>

struct pipeline;
struct wal;

/* What the log has done (for /metrics). */
struct wal_stats {
	uint64_t fsyncs;     /* commits made durable */
	uint64_t committed;  /* bytes made durable */
	uint64_t live_bytes; /* bytes in segments not yet acknowledged by every output (and deleted) */
	uint64_t deleted;    /* segments deleted once acknowledged */
};

/*
 * wal_open() - the log of input @idx named @name (its records' src.input;
 * made safe as a file name, its folder under the state directory); the
 * segments a previous run left are read again from their checkpoint
 * positions. @committed(@arg, status) is called on the loop when a commit
 * finishes (status 0: durable, or -CD_EIO), from the loop's fd callback,
 * whatever the backpressure. Return: 0, or a negative CD code with @err.
 */
int wal_open(struct wal **out, struct pipeline *pl, unsigned idx, const char *name,
	     void (*committed)(void *arg, int status), void *arg, struct cd_err *err);

/* wal_busy() - whether a commit is in flight. */
bool wal_busy(const struct wal *w);

/*
 * wal_commit_start() - hand @data's bytes to the committer (swapped: @data
 * comes back empty, with an allocation to reuse). None may be in flight.
 * Return: 0, or a negative CD code (no segment could be created: logged).
 */
int wal_commit_start(struct wal *w, struct buf *data);

/* wal_commit_wait() - wait for the commit in flight (none: 0; committed() is not called). Return: its status. */
int wal_commit_wait(struct wal *w);

/* wal_read() - delete what is acknowledged, read what was committed into the pipeline. Return: more now. */
bool wal_read(struct wal *w);

/* wal_stop() - read everything committed and end the sources, positions kept (SIGTERM). */
void wal_stop(struct wal *w);

const struct wal_stats *wal_stats(const struct wal *w);

/* wal_close() - wait for the commit in flight, stop the thread, close; NULL is a no-op. */
void wal_close(struct wal *w);

#endif
