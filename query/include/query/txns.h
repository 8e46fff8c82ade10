/*
 * query/txns.h - a set of transaction summaries keyed by trace ID: what a
 * scan fills record by record, one per thread, then merged.
 */
#ifndef QUERY_TXNS_H
#define QUERY_TXNS_H

#include <stddef.h>
#include <stdint.h>

#include "fmt/record.h"
#include "query/summary.h"

#ifdef __cplusplus
extern "C" {
#endif

struct qy_txns {
	struct qy_summary *v; /* malloc'd; pointers into it change as it grows */
	size_t n;	      /* used */
	size_t cap;	      /* allocated */
	/* open addressing: index + 1 into v (low 32 bits) under the trace hash's high half; 0 empty */
	uint64_t *slots;
	size_t nslots;	       /* power of two, > 2 * n */
	struct qy_context ctx; /* keys and filter (not owned) */
	void *match;	       /* PCRE2 match data for the --text regexes, or NULL */
};

/* qy_txns_init() - an empty set summarising with @ctx (copied; what it points to is not owned). */
void qy_txns_init(struct qy_txns *t, const struct qy_context *ctx);
void qy_txns_release(struct qy_txns *t);
/*
 * qy_txns_clear() - release every summary but keep the table's arrays, so
 * a writer that empties it every few thousand transactions does not grow
 * (and rehash) it again each time.
 */
void qy_txns_clear(struct qy_txns *t);

/*
 * qy_txns_add() - take record @r into its transaction's summary (made on
 * first sight). Records without a trace ID belong to no transaction and
 * are ignored. Not thread-safe: one set per thread.
 * Return: 0 or -QY_ENOMEM.
 */
int qy_txns_add(struct qy_txns *t, const struct fmt_record *r);

/*
 * qy_trace_key() - the key qy_txns_add() files record @r's transaction
 * under: its trace ID decoded and cut at a NUL (a trace is a C string for
 * every reader). It points into @r's view when the ID is raw, else into
 * @buf, which must hold r->trace.len bytes. *@len: its length, 0 when @r
 * belongs to no transaction.
 */
const char *qy_trace_key(const struct fmt_record *r, char *buf, size_t *len);

/* How many summaries qy_txns_merge() merges between two questions to its stop hook. */
#define QY_MERGE_STOP_EVERY 4096

/*
 * qy_txns_merge() - merge every summary of @src into @dst, then empty @src.
 * Return: 0, -QY_ENOMEM, or -QY_ESTOPPED when @dst's stop hook said stop
 * (asked every QY_MERGE_STOP_EVERY summaries: a large merge takes seconds);
 * @dst then holds part of @src, which only a query being abandoned may keep.
 */
int qy_txns_merge(struct qy_txns *dst, struct qy_txns *src);

/*
 * qy_txns_take() - take summary @s (made with the set's keys) into the set:
 * merged into its transaction's summary, or moved in when new. @s is
 * released either way. Return: 0 or -QY_ENOMEM.
 */
int qy_txns_take(struct qy_txns *t, struct qy_summary *s);

/* qy_txns_find() - the summary of transaction @trace, or NULL. */
struct qy_summary *qy_txns_find(const struct qy_txns *t, const char *trace, size_t len);

#ifdef __cplusplus
}
#endif

#endif
