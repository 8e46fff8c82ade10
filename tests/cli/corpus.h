/*
 * corpus.h - a multi-service log corpus with known truth, for tracegrep's tests.
 *
 * tcorpus_write() writes the logs of four services and a noise service
 * under a directory (pipe and JSON services, rotated and compressed files,
 * skewed clocks, nested spans, multi-line records, IDs that are prefixes of
 * other IDs, records that mention other transactions' IDs, control bytes)
 * and returns what tracegrep must find: every record (its exact text, its
 * transaction and span) and every span (its parent).
 */
#ifndef TG_TEST_CORPUS_H
#define TG_TEST_CORPUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One record as written (its exact bytes, without the final newline). */
struct tc_rec {
	char *text; /* malloc'd */
	int txn;    /* index of its transaction in the corpus */
	char *span; /* its span ID; NULL for a record of the transaction itself */
	int64_t ts; /* timestamp as written, microseconds (sorting only) */
	int file;   /* which log it goes to (enum in corpus.c) */
};

/* One span of a transaction. */
struct tc_span {
	char id[40];	 /* span ID (the root's is the trace ID) */
	char parent[40]; /* parent span ID; "" for the root */
	int txn;	 /* its transaction */
};

/* One transaction. */
struct tc_txn {
	char trace[40];	    /* its ID */
	bool noise;	    /* a noise transaction (one service, mentions others' IDs) */
	char spans[10][40]; /* G, O, S, D, B, I, X, Y, V (unused for noise) */
};

struct tcorpus {
	struct tc_txn *txns;   /* malloc'd */
	size_t ntxns;	       /* used */
	struct tc_span *spans; /* malloc'd */
	size_t nspans;	       /* used */
	struct tc_rec *recs;   /* malloc'd */
	size_t nrecs;	       /* used */
	size_t cap_recs;       /* allocated */
	int ctl_txn;	       /* the transaction whose message holds control bytes */
	int skew_txn;	       /* a transaction with billing (+300 ms) and inventory (-200 ms) spans */
};

/* Span slots in struct tc_txn.spans. */
enum { TC_G, TC_O, TC_S, TC_D, TC_B, TC_I, TC_X, TC_Y, TC_V, TC_ROOTREC };

/* tcorpus_write() - generate @ntxns transactions (>= 4) into @dir (exists). Return: 0 or -1. */
int tcorpus_write(struct tcorpus *c, const char *dir, int ntxns, uint64_t seed);
void tcorpus_free(struct tcorpus *c);

/* Whether span @id of transaction @txn is @top or below it. */
bool tcorpus_under(const struct tcorpus *c, int txn, const char *id, const char *top);
/* The parent of span @id in @txn ("" for the root, NULL when unknown). */
const char *tcorpus_parent(const struct tcorpus *c, int txn, const char *id);

#endif
