/*
 * fuzz_sumwrite.c - the archive's block writer of summaries
 * (query/sumwrite.h) against the summaries it stands for: the input's
 * lines (pipe or JSON, any bytes) parsed as records, each taken by both
 * qy_sumw_add() and qy_txns_add(); the block's encoding must be exactly
 * the bytes qy_summary_encode() makes of the table's summaries, so a
 * reader of summary files cannot tell the writers apart. The block is
 * encoded and emptied half way too (qy_sumw_clear() keeps its memory).
 * A third writer takes each record after record_pack() and
 * record_unpack() (what the archive decodes from a chunk's payload): the
 * collector summarises the records it parsed, as it packs them into a
 * chunk, and the archive summarises the payload of a chunk that brings
 * none (replayed from a spool), so both must give the same bytes. The
 * third writer finds transactions by the chunk's trace index too
 * (qy_sumw_add_key() with chunk_last_trace(), as the collector does).
 *
 * Property, abort()ing (and ASan on any bad access): equal bytes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/detect.h"
#include <store/err.h>
#include <store/chunk.h>
#include <store/record_codec.h>
#include "query/codec.h"
#include "query/sumwrite.h"
#include "query/txns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Encode the three, compare, empty them. */
static void compare(struct qy_sumw *w, struct qy_sumw *u, struct qy_txns *t, const struct qy_keys *keys)
{
	struct qy_bytes a = {0}, b = {0}, c = {0};
	bool ok = true;

	if (qy_sumw_count(w) != t->n)
		abort();
	for (size_t k = 0; k < t->n && ok; k++)
		ok = qy_summary_encode(&t->v[k], keys->n, &a) == 0;
	if (!ok || qy_sumw_encode(w, &b) < 0 || a.len != b.len || (a.len && memcmp(a.p, b.p, a.len) != 0))
		abort();
	if (qy_sumw_encode(u, &c) < 0 || c.len != b.len || (c.len && memcmp(c.p, b.p, c.len) != 0))
		abort();
	free(a.p);
	free(b.p);
	free(c.p);
	qy_sumw_clear(w);
	qy_sumw_clear(u);
	qy_txns_clear(t);
}

/*
 * @r packed as a chunk holds it and decoded again into @out (views into
 * @buf). Return: false when record_pack() refuses it (no chunk holds it).
 */
static bool round_trip(const struct fmt_record *r, uint8_t *buf, size_t cap, struct fmt_record *out)
{
	size_t len = 0, used = 0;
	int rc = record_pack(r, NULL, buf, cap, &len, NULL);

	if (rc == -CD_EINVAL)
		return false;
	if (rc < 0 || record_unpack(buf, len, &used, out, NULL) < 0 || used != len)
		abort(); /* a parsed record packs into its bound and decodes */
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qy_keys keys = {0};
	struct qy_context ctx = {.keys = &keys};
	const char *p = (const char *)data, *end = p + size, *mid = p + size / 2;
	bool split = false;
	static struct fmt_record r, d; /* large: not on the stack */
	struct qy_sumw w, u;
	struct qy_txns t;
	uint8_t *packed = NULL;
	size_t cap = 0;
	struct chunk *c;

	if (qy_keys_defaults(&keys) < 0)
		abort();
	qy_txns_init(&t, &ctx);
	qy_sumw_init(&w, &keys);
	qy_sumw_init(&u, &keys);
	if (chunk_new(&c, 1, 0) < 0)
		abort();
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (fmt_parse(p, len, &r, NULL) == 0) {
			size_t bound = record_pack_bound(&r, NULL);

			if (bound > cap && !(packed = realloc(packed, cap = bound)))
				abort();
			/* the key: the record's trace index in a chunk (none when the chunk does not take it) */
			uint32_t key = chunk_append(c, &r, NULL, CHUNK_NO_INPUT, 0) == 0 ? chunk_last_trace(c)
											 : QY_SUMW_NO_KEY;

			if (round_trip(&r, packed, cap, &d) &&
			    (qy_txns_add(&t, &r) < 0 || qy_sumw_add(&w, &r) < 0 ||
			     qy_sumw_add_key(&u, &d, key) < 0))
				abort(); /* no allocation fails here */
		}
		p += len + (nl != NULL);
		if (!split && p >= mid) { /* a block ends at the line that crosses the middle */
			compare(&w, &u, &t, &keys);
			chunk_clear(c, 2, 0); /* the keys start afresh with the block */
			split = true;
		}
	}
	compare(&w, &u, &t, &keys);
	free(packed);
	chunk_free(c);
	qy_sumw_release(&w);
	qy_sumw_release(&u);
	qy_txns_release(&t);
	qy_keys_release(&keys);
	return 0;
}
