/*
 * store/chunk.h - a batch of packed records and its index.
 *
 * A chunk is the unit of delivery, acknowledgement and spooling. It holds
 * records packed by record_codec (concatenated msgpack items) and, built
 * as records are appended, what an archive index and the checkpoint need:
 * record count, min/max timestamp, the distinct trace IDs and services,
 * and per input the byte offset just past its last record in the chunk.
 * Bounded by CD_CHUNK_BYTES_MAX, CD_CHUNK_RECORDS_MAX and CD_CHUNK_AGE_MS.
 * Not thread-safe: a chunk belongs to one thread at a time.
 */
#ifndef CD_CHUNK_CHUNK_H
#define CD_CHUNK_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <store/record_codec.h>
#include "fmt/record.h"

struct chunk;
struct qy_sumw;
struct qy_keys;

/* An input's position carried by a chunk. */
struct chunk_source {
	uint32_t input;	     /* the pipeline's input id */
	uint64_t end_offset; /* byte offset just past the chunk's last record of that input */
};

/* No input: a record the collector made itself carries no position. */
#define CHUNK_NO_INPUT UINT32_MAX

/*
 * chunk_new() - an empty chunk with sequence number @seq, opened at
 * @now_ns (CLOCK_MONOTONIC or any clock chunk_is_due() is given).
 * @out: set on success; untouched on failure.
 * Return: 0 or -CD_ENOMEM.
 */
int chunk_new(struct chunk **out, uint64_t seq, int64_t now_ns);

/* chunk_free() - free @c; NULL is a no-op. */
void chunk_free(struct chunk *c);

/*
 * chunk_clear() - empty @c for reuse as chunk @seq opened at @now_ns.
 * Its buffers are kept, so a reused chunk does not allocate (warm-up).
 */
void chunk_clear(struct chunk *c, uint64_t seq, int64_t now_ns);

/*
 * chunk_append() - pack @r (and @src, may be NULL; a raw record is @src
 * with src->raw and @r NULL) at the end of @c, add it to the index, and
 * record @end_offset as @input's position (CHUNK_NO_INPUT: none).
 * Return: 0; -CD_EFULL when the record does not fit (bytes, records, or a
 * new input past CD_CHUNK_SOURCES_MAX): seal @c and append to a new chunk
 * (nothing was added); -CD_ELIMIT when it would not fit even an empty
 * chunk; -CD_ENOMEM (nothing was added); -CD_EINVAL as record_pack().
 */
int chunk_append(struct chunk *c, const struct fmt_record *r, const struct record_src *src, uint32_t input,
		 uint64_t end_offset);

/* chunk_is_full() - whether no more records may be appended (record cap). */
bool chunk_is_full(const struct chunk *c);

/*
 * chunk_is_due() - whether @c should be sealed and sent: it is full, or it
 * holds a record and is CD_CHUNK_AGE_MS old at @now_ns.
 */
bool chunk_is_due(const struct chunk *c, int64_t now_ns);

uint64_t chunk_seq(const struct chunk *c);
int64_t chunk_opened_ns(const struct chunk *c);
uint32_t chunk_nrecords(const struct chunk *c);

/* chunk_data_ref() - the packed records (borrowed; valid until @c changes; NULL while never filled). */
const uint8_t *chunk_data_ref(const struct chunk *c, size_t *len);

/* chunk_ts_range() - whether any record has a timestamp; then its min and max. */
bool chunk_ts_range(const struct chunk *c, int64_t *min_ns, int64_t *max_ns);

/*
 * chunk_ntraces()/chunk_trace_ref() - the distinct trace IDs, in order of
 * first appearance (decoded bytes, not NUL-terminated; borrowed).
 * The same for services.
 */
uint32_t chunk_ntraces(const struct chunk *c);
const char *chunk_trace_ref(const struct chunk *c, uint32_t i, uint32_t *len);
uint32_t chunk_nservices(const struct chunk *c);
const char *chunk_service_ref(const struct chunk *c, uint32_t i, uint32_t *len);

/*
 * chunk_last_trace() - the index (chunk_trace_ref()'s) of the trace ID of
 * the record appended last, or UINT32_MAX when it had none (or @c is
 * empty): records of one trace ID get one index until chunk_clear().
 */
uint32_t chunk_last_trace(const struct chunk *c);

/* chunk_nsources()/chunk_source() - the positions the chunk carries. */
uint32_t chunk_nsources(const struct chunk *c);
struct chunk_source chunk_source(const struct chunk *c, uint32_t i);

/*
 * chunk_take_summaries() - encode the summaries of block writer @w
 * (query/sumwrite.h), which must hold exactly the records appended to @c,
 * as @c's own (replacing any), and empty @w for the next chunk. The
 * archive then writes them instead of summarising the payload again.
 * Past CD_CHUNK_SUMS_BYTES_MAX encoded, @c carries none (the archive
 * summarises its payload). @w's keys must outlive @c's use of them.
 * Return: 0, or -CD_ENOMEM (@c then carries none, and @w is emptied all
 * the same).
 */
int chunk_take_summaries(struct chunk *c, struct qy_sumw *w);

/*
 * chunk_summaries_ref() - the summaries @c carries: qy_summary_encode()'s
 * layout back to back, *@n of them, made with *@keys (borrowed; valid
 * until @c changes). Return: NULL (and *@keys NULL) when it carries none.
 */
const uint8_t *chunk_summaries_ref(const struct chunk *c, size_t *len, uint32_t *n,
				   const struct qy_keys **keys);

/* Iterating a chunk's records (decoding). Caller-owned, no allocation. */
struct chunk_iter {
	const uint8_t *p;   /* next record */
	const uint8_t *end; /* end of the payload */
};

/* chunk_iter_init() - start at @c's first record; @c must not change while iterating. */
void chunk_iter_init(struct chunk_iter *it, const struct chunk *c);

/* chunk_iter_init_bytes() - the same over packed records in buf[0..len) (untrusted). */
void chunk_iter_init_bytes(struct chunk_iter *it, const uint8_t *buf, size_t len);

/*
 * chunk_iter_next() - decode the next record into @r and @src (may be
 * NULL), views into the chunk's bytes (see record_unpack()).
 * Return: 1 with a record, 0 at the end, -CD_ECORRUPT (iteration stops).
 */
int chunk_iter_next(struct chunk_iter *it, struct fmt_record *r, struct record_src *src);

/* --- for the spool: rebuilding a chunk that was written out -------------- */

/*
 * chunk__set_payload() - make @c hold @len packed bytes (copied) with
 * @nrecords records, and the index and positions given (which the spool
 * read from its file header). The records themselves are not indexed
 * again. Return: 0, -CD_ENOMEM, -CD_ELIMIT (past a cap).
 */
int chunk__set_payload(struct chunk *c, const uint8_t *buf, size_t len, uint32_t nrecords);
int chunk__add_trace(struct chunk *c, const char *s, uint32_t len);
int chunk__add_service(struct chunk *c, const char *s, uint32_t len);
int chunk__add_source(struct chunk *c, uint32_t input, uint64_t end_offset);
void chunk__set_ts_range(struct chunk *c, int64_t min_ns, int64_t max_ns);
void chunk__set_opened(struct chunk *c, int64_t opened_ns);

#endif
