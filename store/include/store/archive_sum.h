/*
 * store/archive_sum.h - transaction summaries of the archive (issue 12):
 * what a search (tracegrep --find, clewd's API) reads instead of records.
 *
 * The writer summarises the records of every frame it appends (the
 * payload decoded as a chunk, summarised by query/sumwrite.h's block
 * writer), appends each block of summaries to NNNN.sum.tmp as it is made
 * and, when it seals the segment, finishes that file beside the
 * segment's index (NNNN.sum, formats/archive.md). A
 * reader takes each sealed segment's summaries from that file, and
 * computes those of the open segment (or of a segment without a valid
 * file) from its frames; the pieces of a transaction split over segments
 * are merged by qy_txns_take().
 */
#ifndef CD_ARCHIVE_SUM_H
#define CD_ARCHIVE_SUM_H

#include <stdint.h>

#include <store/archive.h>
#include "query/txns.h"

/* Counters of one arch_summaries() call. */
struct arch_sum_stats {
	uint32_t segments;   /* segments in the archive */
	uint32_t examined;   /* segments whose time range met the window */
	uint32_t from_file;  /* segments answered by their summary file */
	uint32_t scanned;    /* segments whose frames were read and summarised */
	uint64_t bytes_read; /* summary file bytes read */
	bool partial;	     /* arch_summaries_newest() stopped before older segments of the window */
};

/*
 * arch_summaries() - the summaries of every transaction with records in
 * a segment whose time range meets [@since_ns, @until_ns] (INT64_MIN /
 * INT64_MAX: no bound), taken into @out (initialised by the caller: its
 * context's keys and filter are used). A segment is read from its
 * summary file unless the file is missing, damaged, stale, made with
 * fewer keys than @out's, or @out's filter has --text regexes (which need
 * the records): then its frames are read. Corrupt frames are skipped.
 * @st: may be NULL. @out's context's stop hook is asked before each segment.
 * Return: 0, -CD_ENOMEM, -CD_EIO, -CD_EINVAL, -CD_ELIMIT (stopped by the hook).
 */
int arch_summaries(arch *a, int64_t since_ns, int64_t until_ns, struct qy_txns *out,
		   struct arch_sum_stats *st, struct cd_err *err);

/*
 * arch_summaries_newest() - as arch_summaries(), for a search that wants
 * only the @newest latest-starting transactions that pass @out's filter
 * (sorted by start, newest first; 0: all, as arch_summaries()). Segments
 * are read newest first, and reading stops once @newest of them start
 * more than @slack_ns after the latest record of every segment left: a
 * transaction's records are taken to lie within @slack_ns of its start
 * (as the window is widened by its callers), so none of those segments
 * could change the answer. @out then lacks the older matches: st->partial
 * says so (a count of matches is a lower bound).
 * Return: as arch_summaries().
 */
int arch_summaries_newest(arch *a, int64_t since_ns, int64_t until_ns, size_t newest, int64_t slack_ns,
			  struct qy_txns *out, struct arch_sum_stats *st, struct cd_err *err);

#endif
