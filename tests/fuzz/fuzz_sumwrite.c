/*
 * fuzz_sumwrite.c - the archive's block writer of summaries
 * (query/sumwrite.h) against the summaries it stands for: the input's
 * lines (pipe or JSON, any bytes) parsed as records, each taken by both
 * qy_sumw_add() and qy_txns_add(); the block's encoding must be exactly
 * the bytes qy_summary_encode() makes of the table's summaries, so a
 * reader of summary files cannot tell the writers apart. The block is
 * encoded and emptied half way too (qy_sumw_clear() keeps its memory).
 *
 * Property, abort()ing (and ASan on any bad access): equal bytes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/detect.h"
#include "query/codec.h"
#include "query/sumwrite.h"
#include "query/txns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Encode both, compare, empty both. */
static void compare(struct qy_sumw *w, struct qy_txns *t, const struct qy_keys *keys)
{
	struct qy_bytes a = {0}, b = {0};
	bool ok = true;

	if (qy_sumw_count(w) != t->n)
		abort();
	for (size_t k = 0; k < t->n && ok; k++)
		ok = qy_summary_encode(&t->v[k], keys->n, &a) == 0;
	if (!ok || qy_sumw_encode(w, &b) < 0 || a.len != b.len || (a.len && memcmp(a.p, b.p, a.len) != 0))
		abort();
	free(a.p);
	free(b.p);
	qy_sumw_clear(w);
	qy_txns_clear(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qy_keys keys = {0};
	struct qy_context ctx = {.keys = &keys};
	const char *p = (const char *)data, *end = p + size, *mid = p + size / 2;
	bool split = false;
	struct fmt_record r;
	struct qy_sumw w;
	struct qy_txns t;

	if (qy_keys_defaults(&keys) < 0)
		abort();
	qy_txns_init(&t, &ctx);
	qy_sumw_init(&w, &keys);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (fmt_parse(p, len, &r, NULL) == 0 && (qy_txns_add(&t, &r) < 0 || qy_sumw_add(&w, &r) < 0))
			abort(); /* no allocation fails here */
		p += len + (nl != NULL);
		if (!split && p >= mid) { /* a block ends at the line that crosses the middle */
			compare(&w, &t, &keys);
			split = true;
		}
	}
	compare(&w, &t, &keys);
	qy_sumw_release(&w);
	qy_txns_release(&t);
	qy_keys_release(&keys);
	return 0;
}
