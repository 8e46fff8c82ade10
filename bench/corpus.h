/*
 * corpus.h - deterministic synthetic log corpora for the benchmarks.
 *
 * The same seed always gives the same bytes, on every machine: the
 * generator uses its own PRNG (splitmix64) and formats every number
 * itself, so no libc randomness or locale can change a corpus. Shared by
 * gen_corpus (which writes a corpus to stdout) and bench_parse (which
 * generates one in memory).
 */
#ifndef CLEW_BENCH_CORPUS_H
#define CLEW_BENCH_CORPUS_H

#include <stddef.h>
#include <stdint.h>

enum corpus_format {
	CORPUS_PIPE,  /* pipe lines only, one record a line */
	CORPUS_JSON,  /* JSON lines only (pyms-style), one record a line */
	CORPUS_MIXED, /* both interleaved, plus pipe records followed by Java stack traces */
};

/* A growing output buffer. */
struct corpus_buf {
	char *data; /* malloc'd; NULL until the first append */
	size_t len; /* bytes used */
	size_t cap; /* bytes allocated */
	int failed; /* an allocation failed: len stops growing */
};

/* One transaction in flight: its NDC path, outermost ID first. */
struct corpus_txn {
	char ids[4][17]; /* ids[0] is the 16-hex trace ID, then 8-hex span IDs */
	int depth;	 /* IDs in use, 1..4 */
	int svc[4];	 /* the service at each level of ids[] (svc[0] unused) */
	int route;	 /* index of its route */
	uint32_t id_num; /* the numeric resource ID in its path */
	int left;	 /* records still to write before it is replaced */
};

#define CORPUS_TXNS 48

/* Generator state; fill with corpus_gen_init(). */
struct corpus_gen {
	uint64_t rng;			     /* splitmix64 state */
	enum corpus_format format;	     /* what corpus_gen_record() writes */
	int64_t ts_us;			     /* timestamp of the next record, microseconds since the epoch */
	struct corpus_txn txns[CORPUS_TXNS]; /* transactions in flight */
	uint64_t records;		     /* records written so far */
};

/* corpus_format_from_name() - "pipe", "json" or "mixed". Return: 0, or -1 for another name. */
int corpus_format_from_name(const char *name, enum corpus_format *out);

/* corpus_gen_init() - start a corpus of @format from @seed. */
void corpus_gen_init(struct corpus_gen *g, enum corpus_format format, uint64_t seed);

/*
 * corpus_gen_record() - append one record to @b: one line ending in '\n',
 * or for a mixed corpus sometimes a pipe line followed by the lines of a
 * stack trace. Return: 0, or -1 when memory ran out (b->failed is set).
 */
int corpus_gen_record(struct corpus_gen *g, struct corpus_buf *b);

/* corpus_buf_free() - free @b's memory and reset it to empty. */
void corpus_buf_free(struct corpus_buf *b);

#endif
