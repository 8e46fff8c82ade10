/*
 * query/sumwrite.h - the archive's block writer of transaction summaries:
 * records in, encoded summaries out (query/codec.h's layout), for a
 * writer that summarises every record it stores and cannot afford
 * qy_txns' allocations (store/src/archive_summary.c).
 *
 * A block's summaries are kept in fixed-size entries whose strings
 * (services, methods, paths, attribute values, error messages) are
 * small integers naming a copy in the block's arena, made once per
 * transaction, and whose sets (spans, services, routes, values) live in
 * one pool: adding a record allocates nothing once the block's arrays
 * have grown, and emptying the block frees nothing. The summaries it encodes are those qy_txns_add() and
 * qy_summary_encode() make of the same records (same fields, same
 * choices, same caps), so a reader cannot tell the two writers apart.
 */
#ifndef QUERY_SUMWRITE_H
#define QUERY_SUMWRITE_H

#include <stddef.h>
#include <stdint.h>

#include "fmt/record.h"
#include "query/codec.h"
#include "query/summary.h"

#ifdef __cplusplus
extern "C" {
#endif

struct qy_sumw_txn;
struct qy_sumw_str;
struct qy_sumw_vals;

struct qy_sumw {
	const struct qy_keys *keys; /* summary keys (not owned; must outlive the writer) */
	struct qy_sumw_txn *v;	    /* the block's transactions, in order of first sight */
	size_t n, cap;
	uint64_t *slots; /* open addressing over v: index + 1 under the trace hash's high half */
	size_t nslots;
	char *arena; /* NUL-terminated bytes: traces and interned strings */
	size_t alen, acap;
	struct qy_sumw_str *strs; /* the kept strings (in the arena) */
	size_t nstrs, cstrs;
	uint64_t *pool; /* span sets and id lists of the block's transactions */
	size_t plen, pcap;
	struct qy_sumw_vals *vals; /* per transaction with attribute values: one per key */
	size_t nvals, cvals;
	char *scratch; /* an escaped view decoded (records from a parser, not from a chunk) */
	size_t scratch_cap;
	uint32_t *by_key; /* qy_sumw_add_key(): 1 + the transaction of a caller's key, 0 unknown */
	size_t nkeys_used, by_key_cap; /* entries of by_key to clear, and allocated */
};

/* No key: qy_sumw_add_key() finds the transaction by hashing its ID. */
#define QY_SUMW_NO_KEY UINT32_MAX

/* qy_sumw_init() - an empty writer summarising with @keys (not copied). */
void qy_sumw_init(struct qy_sumw *w, const struct qy_keys *keys);
void qy_sumw_release(struct qy_sumw *w);
/* qy_sumw_clear() - empty the block, keeping the memory for the next one. */
void qy_sumw_clear(struct qy_sumw *w);

/*
 * qy_sumw_add() - take record @r into its transaction's summary (made on
 * first sight), as qy_txns_add() does. Return: 0 or -QY_ENOMEM (the block
 * is then incomplete: its owner drops it).
 */
int qy_sumw_add(struct qy_sumw *w, const struct fmt_record *r);

/*
 * qy_sumw_add_key() - qy_sumw_add() with @key, a small integer (below
 * 2^24) the caller gives every record whose trace ID has the same decoded
 * bytes until the block is emptied (a chunk's trace index,
 * chunk_last_trace()), or QY_SUMW_NO_KEY: a record of a key seen before
 * finds its transaction by it, with no hash of its ID nor lookup.
 */
int qy_sumw_add_key(struct qy_sumw *w, const struct fmt_record *r, uint32_t key);

/* qy_sumw_count() - the transactions of the block. */
size_t qy_sumw_count(const struct qy_sumw *w);

/*
 * qy_sumw_encode() - append every summary of the block to @b, as
 * qy_summary_encode() would with the writer's keys.
 * Return: 0 or -QY_ENOMEM.
 */
int qy_sumw_encode(struct qy_sumw *w, struct qy_bytes *b);

#ifdef __cplusplus
}
#endif

#endif
