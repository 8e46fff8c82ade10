/*
 * chunk/deadletter.c - one output's dead-letter store (see deadletter.h):
 * a spool (chunk/spool.c, the same chunk files) written only with the
 * records the output rejected for good, and the counters per reason.
 *
 * The files are named by a sequence number of their own, larger than any
 * file already there and than the time in microseconds, so that a store
 * replayed by --replay-deadletter (which reads the same directory as a
 * spool) never takes a file written during the replay for an old one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chunk/deadletter.h"
#include "chunk/spool.h"
#include "util/banned.h"

struct deadletter {
	struct spool *sp;    /* the files; NULL: no store */
	struct chunk *stage; /* records given up, not yet durable; NULL: none */
	uint64_t next_seq;   /* the next file's sequence number */
	struct deadletter_reason reasons[DEADLETTER_REASONS_MAX]; /* counters */
	size_t nreasons;					  /* used */
	uint32_t staged_by[DEADLETTER_REASONS_MAX];		  /* staged records per reason */
	uint64_t full;						  /* dropped past the cap / disk full */
};

int deadletter_open(struct deadletter **out, const char *dir, uint64_t limit, struct cd_err *err)
{
	struct deadletter *dl = calloc(1, sizeof(*dl));
	struct spool_options opt;
	struct timespec ts;
	int rc;

	if (!dl)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	/* microseconds of the epoch, as the pipeline's chunk numbers (this library links no util/) */
	clock_gettime(CLOCK_REALTIME, &ts);
	dl->next_seq = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	if (dir && limit) {
		spool_options_default(&opt, dir);
		opt.limit_bytes = limit;
		if ((rc = spool_open(&dl->sp, &opt, err)) < 0) {
			free(dl);
			return rc;
		}
		if (spool_count(dl->sp) && spool_seq_at(dl->sp, spool_count(dl->sp) - 1) >= dl->next_seq)
			dl->next_seq = spool_seq_at(dl->sp, spool_count(dl->sp) - 1) + 1;
	}
	*out = dl;
	return 0;
}

void deadletter_free(struct deadletter *dl)
{
	if (!dl)
		return;
	chunk_free(dl->stage);
	spool_free(dl->sp);
	free(dl);
}

/* The counter slot of @reason: found, a new one, or the last ("other") when all are taken. */
static size_t reason_slot(struct deadletter *dl, const char *reason)
{
	size_t i;

	for (i = 0; i < dl->nreasons; i++)
		if (strcmp(dl->reasons[i].name, reason) == 0)
			return i;
	if (dl->nreasons == DEADLETTER_REASONS_MAX - 1)
		reason = "other";
	else if (dl->nreasons == DEADLETTER_REASONS_MAX)
		return DEADLETTER_REASONS_MAX - 1;
	snprintf(dl->reasons[i].name, sizeof(dl->reasons[i].name), "%s", reason); /* cut: a label */
	return dl->nreasons++;
}

/* Forget the staged records (committed, or dropped and counted). */
static void stage_reset(struct deadletter *dl)
{
	chunk_free(dl->stage);
	dl->stage = NULL;
	memset(dl->staged_by, 0, sizeof(dl->staged_by));
}

int deadletter_commit(struct deadletter *dl, struct cd_err *err)
{
	uint32_t n;
	int rc;

	if (!dl->stage)
		return 0;
	n = chunk_nrecords(dl->stage);
	rc = spool_push(dl->sp, dl->stage, err);
	if (rc == -CD_EFULL) {
		dl->full += n; /* the cap, or a full disk: given up, counted (the caller logs) */
		stage_reset(dl);
		return 0;
	}
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < dl->nreasons; i++)
		dl->reasons[i].stored += dl->staged_by[i];
	stage_reset(dl);
	dl->next_seq++;
	return 0;
}

int deadletter_add(struct deadletter *dl, const struct fmt_record *r, const struct record_src *src,
		   const char *reason, struct cd_err *err)
{
	size_t slot = reason_slot(dl, reason);
	int rc;

	if (!dl->sp) {
		dl->reasons[slot].dropped++;
		return 0;
	}
	for (int again = 0; again < 2; again++) {
		if (!dl->stage && chunk_new(&dl->stage, dl->next_seq, 0) < 0)
			return cd_err_set(err, -CD_ENOMEM, ENOMEM, "dead-letter: out of memory");
		rc = chunk_append(dl->stage, r, src, CHUNK_NO_INPUT, 0);
		if (rc == 0) {
			dl->staged_by[slot]++;
			return 0;
		}
		if (rc != -CD_EFULL)
			break;
		/* the staging chunk is full: make it durable now, then stage in a new one */
		if ((rc = deadletter_commit(dl, err)) < 0)
			return rc;
	}
	if (rc == -CD_ENOMEM)
		return cd_err_set(err, rc, ENOMEM, "dead-letter: out of memory");
	/* a record no chunk can hold cannot have come from a chunk: counted as a drop, never a stall */
	dl->reasons[slot].dropped++;
	return 0;
}

uint32_t deadletter_staged(const struct deadletter *dl)
{
	return dl->stage ? chunk_nrecords(dl->stage) : 0;
}

size_t deadletter_nreasons(const struct deadletter *dl)
{
	return dl->nreasons;
}

const struct deadletter_reason *deadletter_reason_at(const struct deadletter *dl, size_t i)
{
	return &dl->reasons[i];
}

uint64_t deadletter_full(const struct deadletter *dl)
{
	return dl->full;
}

uint64_t deadletter_bytes(const struct deadletter *dl)
{
	return dl->sp ? spool_bytes(dl->sp) : 0;
}

size_t deadletter_files(const struct deadletter *dl)
{
	return dl->sp ? spool_count(dl->sp) : 0;
}

bool deadletter_has_store(const struct deadletter *dl)
{
	return dl->sp != NULL;
}
