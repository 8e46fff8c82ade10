/*
 * store/src/archive_sum_int.h - what the summary reader's two files share:
 * archive_summary.c (the writer, the files, the usual reading) and
 * archive_sumlight.c (the newest-first search that decodes only what may
 * match). Private to the store library.
 */
#ifndef STORE_ARCHIVE_SUM_INT_H
#define STORE_ARCHIVE_SUM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "archive_dir.h"
#include <store/archive_sum.h>
#include "query/filter.h"

/* Largest decompressed block a reader accepts (a writer's block is far below). */
#define ARCH_SUM_BLOCK_MAX (256u << 20)

/* A summary file read whole and checked. */
struct sumfile {
	uint8_t *buf;
	size_t len;
	int64_t min_ts, max_ts;
	uint32_t n, nkeys;
	const uint8_t *body; /* after the keys */
	size_t body_len;
	int keymap[QY_KEYS_MAX]; /* file key -> reader key, or -1 */
};

enum sum_state {
	SUM_BAD,   /* missing, damaged, stale or made without a needed key: scan the segment */
	SUM_OUT,   /* valid, and its time range misses the window: nothing to read */
	SUM_LOADED /* read whole and checked */
};

/*
 * arch__sum_load() - read and check segment @s's summary file for the
 * reader's @keys and the window [@since, @until] (the header first). On
 * SUM_LOADED, f->buf is the caller's to free.
 */
enum sum_state arch__sum_load(arch *a, const struct seg *s, const struct qy_keys *keys, int64_t since,
			      int64_t until, struct sumfile *f, struct arch_sum_stats *st);

/*
 * arch__sum_segment() - take segment @i's summaries into @out: from its
 * summary file, else from its frames. Return: 0, -CD_ENOMEM, -CD_EIO.
 */
int arch__sum_segment(arch *a, size_t i, int64_t since, int64_t until, struct qy_txns *out,
		      struct arch_sum_stats *st, struct cd_err *err);

/*
 * arch__sum_light_newest() - arch_summaries_newest() for a filter
 * qy_light_match() decides (archive_sumlight.c). @hi[i]: the latest
 * record of segment i (INT64_MIN: not read), @older[i]: that of segments
 * 0 .. i-1 read. Return: 0, 1 (a summary file was damaged: the caller
 * reads the usual way, @out untouched), -CD_ENOMEM, -CD_EIO.
 */
int arch__sum_light_newest(arch *a, int64_t since, int64_t until, size_t newest, int64_t slack_ns,
			   const int64_t *hi, const int64_t *older, const struct qy_filter *f,
			   struct qy_txns *out, struct arch_sum_stats *st, struct cd_err *err);

/* arch__sum_stopped() - -CD_ELIMIT (with @err) when @out's context asks the readers to stop, else 0. */
int arch__sum_stopped(const struct qy_txns *out, struct cd_err *err);

#endif
