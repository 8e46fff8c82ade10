/*
 * query/spantree.h - one transaction's records -> a tree of spans on one
 * timeline: the one tree of tracegrep (every output mode) and of clewd's
 * API (Jaeger traces, the waterfall page).
 *
 * A span is any ID that is the last element of a record's NDC path (or a
 * JSON record's span), and any ID on a path above one. Parent links come
 * from the paths (in R:A:B, B's parent is A) and from JSON parent
 * members; the first link seen for a span wins (records come in time
 * order) and a link that would close a cycle is ignored, so the result is
 * always a tree. The root is the transaction itself (its ID is the trace
 * ID); spans with no known parent hang under it, and records with only
 * the trace ID belong to it.
 *
 * Time: an event=span record gives start (its timestamp) and duration
 * (dur_us), name and status. A span without one is *derived*: it runs
 * from its first to its last record, widened to cover its children of
 * the same service (same clock, so a child outside means the records did
 * not cover the span).
 *
 * Clock skew (when asked): a child of *another* service that starts
 * before its parent or ends after it is moved, with its whole sub-tree
 * and their records, into the parent's window (start aligned when it is
 * longer than the parent). Each move is kept in shift_ns.
 *
 * Critical path: from the top, the child that ends last is on it; before
 * that child started, the child that ended last before then; and so on.
 *
 * Not thread-safe per tree; distinct trees may be built and read on
 * different threads at once.
 */
#ifndef QUERY_SPANTREE_H
#define QUERY_SPANTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fmt/record.h"

#ifdef __cplusplus
extern "C" {
#endif

struct qy_span {
	char *id;	   /* span ID (the root's is the transaction ID) */
	char *parent_id;   /* the parent's ID as the records say, or NULL */
	int parent;	   /* index of the parent span in the tree, -1 for the root */
	int *kids;	   /* child indexes, in start order */
	size_t nkids;	   /* entries in kids */
	size_t kcap;	   /* allocated kids */
	char *service;	   /* decoded, or NULL */
	char *name;	   /* the span record's name, or NULL */
	char *method;	   /* decoded, or NULL */
	char *path;	   /* decoded, or NULL */
	char *status;	   /* the span record's status, or the last record's status, or NULL */
	char *last_status; /* while building: the last status a record gave (then NULL) */
	bool explicit_;	   /* an event=span record gave start and duration */
	int64_t start_ns;  /* start, adjusted for skew */
	int64_t end_ns;	   /* end, adjusted for skew */
	int64_t shift_ns;  /* how far this span (and its subtree) was moved for its own skew */
	int64_t adj_ns;	   /* total move of this span and its records (its ancestors' and its own) */
	bool has_time;	   /* start/end are known (from records or children) */
	bool critical;	   /* on the critical path */
	bool error;	   /* status says failure, or a record at ERROR or worse */
	bool selected;	   /* in the subtree the query selected */
	int depth;	   /* 0 for the top of the selection */
	size_t *recs;	   /* indexes of its records in the caller's list, time order */
	size_t nrecs;	   /* entries in recs */
	size_t rcap;	   /* allocated recs */
};

struct qy_tree {
	struct qy_span *spans; /* malloc'd */
	size_t n;	       /* used */
	size_t cap;	       /* allocated */
	int root;	       /* the transaction's span */
	int top;	       /* the selected sub-tree's top (== root for a transaction) */
	int *order;	       /* selected spans, depth first, children by start */
	size_t norder;	       /* entries in order */
	char *trace;	       /* the transaction ID */
	int64_t t0;	       /* start of the top span: offsets are from here */
	int64_t t1;	       /* end of the top span */
	size_t nshifts;	       /* spans moved for clock skew */
	int *slots;	       /* hash table of span IDs -> index, -1 empty */
	size_t nslots;	       /* power of two, > 2 * n */
	int *nodes;	       /* per record of the input: the index of its span */
	size_t nnodes;	       /* records of the input */
	bool oom;	       /* an allocation failed: the tree is incomplete */
};

/* Where the records come from: the caller's list, read one at a time, in time order. */
struct qy_tree_input {
	size_t n; /* records */
	/*
	 * Record @i, parsed into @scratch (or the caller's own parsed copy),
	 * valid until the next call; its time in *@ts_ns, and in *@timed
	 * whether that time may widen a derived span. NULL: unreadable (its
	 * record then belongs to the root, and says nothing else).
	 */
	const struct fmt_record *(*get)(void *ctx, size_t i, struct fmt_record *scratch, int64_t *ts_ns,
					bool *timed);
	void *ctx;
};

/*
 * qy_tree_build() - build the span tree of transaction @trace from @in
 * (all of its records). With @skew, children of another service that lie
 * outside their parent's window are moved into it. t->nodes[i] is the
 * span of record i. Return: 0, or -QY_ENOMEM (release the tree).
 */
int qy_tree_build(struct qy_tree *t, const struct qy_tree_input *in, const char *trace, bool skew);
/*
 * qy_tree_select() - select the sub-tree under span @id (NULL: the whole
 * transaction), check that the spans of @path[0..npath) (outermost first)
 * are its ancestors, mark the critical path and compute the render order.
 * Return: 1 when the span exists (and the path holds), 0 when not,
 * -QY_ENOMEM.
 */
int qy_tree_select(struct qy_tree *t, const char *id, char *const *path, size_t npath);
/* qy_tree_release() - free what @t holds; it may be built again. */
void qy_tree_release(struct qy_tree *t);

#ifdef __cplusplus
}
#endif

#endif
