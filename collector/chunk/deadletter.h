/*
 * chunk/deadletter.h - one output's dead-letter store: the records the
 * output rejected for good (a permanent error: a Kafka message larger
 * than the broker allows), kept as chunk files in the spool's format
 * (formats/chunk.md) so that `clewd --replay-deadletter` hands them to
 * the output again once the cause is fixed.
 *
 * Records are staged in memory (deadletter_add()) and made durable
 * together (deadletter_commit(): a spool file, fsync'd with its
 * directory) before the chunk they came from is acknowledged: a crash
 * before the commit reads the chunk again, so nothing is lost. Past the
 * size cap (or on a full disk) staged records are dropped and counted
 * (reason deadletter_full); without a directory (no state kept, or a cap
 * of 0) every given-up record is dropped and counted under its reason.
 * Counters are kept per reason (a short name chosen by the output).
 * Not thread-safe: the pipeline's thread only.
 */
#ifndef CD_CHUNK_DEADLETTER_H
#define CD_CHUNK_DEADLETTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <store/chunk.h>
#include <store/err.h>

struct deadletter;

/* Distinct reasons counted apart per output; more fall under "other" (a bounded label set for /metrics). */
#define DEADLETTER_REASONS_MAX 8
/* Bytes of a reason's name kept (a short token such as msg_size_too_large). */
#define DEADLETTER_REASON_LEN 40

/* What happened to the records given up for one reason. */
struct deadletter_reason {
	char name[DEADLETTER_REASON_LEN]; /* the output's short reason */
	uint64_t stored;		  /* records made durable in the store */
	uint64_t dropped;		  /* records dropped: no store (no state directory, cap 0) */
};

/*
 * deadletter_open() - the store at @dir (created, one level; NULL: no
 * store, records are counted and dropped) holding at most @limit bytes of
 * chunk files (0: no store either). Files already there are kept (they
 * wait for a replay) and count towards the limit.
 * @out: set on success; untouched on failure.
 * Return: 0, -CD_ENOMEM, -CD_EIO (@err names the directory).
 */
int deadletter_open(struct deadletter **out, const char *dir, uint64_t limit, struct cd_err *err);

/* deadletter_free() - close @dl; records staged and not committed are forgotten (not acknowledged: read again). NULL is a no-op. */
void deadletter_free(struct deadletter *dl);

/*
 * deadletter_add() - stage record @r with @src (as chunk_append() takes
 * them: a raw record is @src->raw with @r NULL) given up for @reason.
 * Without a store it is counted as dropped at once.
 * Return: 0; -CD_ENOMEM, or -CD_EIO when a full staging chunk could not
 * be committed first (nothing staged).
 */
int deadletter_add(struct deadletter *dl, const struct fmt_record *r, const struct record_src *src,
		   const char *reason, struct cd_err *err);

/*
 * deadletter_commit() - make every staged record durable (one chunk file,
 * fsync'd with the directory); when the file would pass the cap or the
 * disk is full they are dropped and counted as deadletter_full instead.
 * Return: 0 (nothing staged any more); -CD_EIO or -CD_ENOMEM with @err
 * (they stay staged: the caller does not acknowledge their chunk).
 */
int deadletter_commit(struct deadletter *dl, struct cd_err *err);

/* deadletter_staged() - records staged, not yet committed. */
uint32_t deadletter_staged(const struct deadletter *dl);

/* deadletter_nreasons()/deadletter_reason_at() - the per-reason counters, in order of first use. */
size_t deadletter_nreasons(const struct deadletter *dl);
const struct deadletter_reason *deadletter_reason_at(const struct deadletter *dl, size_t i);

uint64_t deadletter_full(const struct deadletter *dl);	/* records dropped past the cap or on a full disk */
uint64_t deadletter_bytes(const struct deadletter *dl); /* bytes of the store's chunk files */
size_t deadletter_files(const struct deadletter *dl);	/* chunk files in the store */
bool deadletter_has_store(const struct deadletter *dl); /* records are kept, not dropped */

#endif
