/*
 * fuzz_summary.c - the readers of an encoded transaction summary (archive
 * summary files are untrusted input: formats/archive.md, "A summary"):
 * qy_summary_decode() and qy_light_peek() (query/light.h), which the
 * archive's newest-first search runs on every summary it reads.
 *
 * Properties, each abort()ing (and ASan on any read past the input):
 * - when the full decoder takes the bytes, the light reader takes them
 *   too, with the same length, and its fields equal those of the decoded
 *   summary (qy_light_of()), a filter's service, route (with a method)
 *   and attribute bits included;
 * - the decoded summary, encoded again, decodes again to the same light
 *   fields and the same encoding.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/codec.h"
#include "query/light.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static bool same_light(const struct qy_light *a, const struct qy_light *b)
{
	return a->has_ts == b->has_ts && a->has_top == b->has_top && a->error == b->error &&
	       a->min_depth == b->min_depth && a->top_depth == b->top_depth && a->status == b->status &&
	       a->first_ns == b->first_ns && a->last_ns == b->last_ns && a->top_ns == b->top_ns &&
	       a->top_dur_ns == b->top_dur_ns && a->services == b->services && a->routes == b->routes &&
	       a->attrs == b->attrs;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int keymap[QY_KEYS_MAX] = {0, 1, 2, 3, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
	static struct qy_keys keys; /* what the keymap names: made once */
	struct qy_filter f;
	struct qy_summary s, s2;
	struct qy_light lp, ls, l2;
	struct qy_bytes b1 = {0}, b2 = {0};
	const char *trace;
	size_t tlen, used = 0, used_peek = 0, used2 = 0;
	char msg[128];
	int rc;

	qy_filter_init(&f);
	if (qy_filter_add(&f, "service", "orders", 0, msg, sizeof(msg)) < 0 ||
	    qy_filter_add(&f, "route", "/a*", 0, msg, sizeof(msg)) < 0 ||
	    qy_filter_add(&f, "route", "*", 0, msg, sizeof(msg)) < 0 ||
	    qy_filter_add(&f, "method", "get", 0, msg, sizeof(msg)) < 0 ||
	    qy_filter_add(&f, "attr", "user=u1", 0, msg, sizeof(msg)) < 0 ||
	    qy_filter_add(&f, "attr", "k2=", 0, msg, sizeof(msg)) < 0)
		abort();
	if (!keys.n && (qy_keys_add(&keys, "user") < 0 || qy_keys_add(&keys, "k1") < 0 ||
			qy_keys_add(&keys, "k2") < 0 || qy_keys_add(&keys, "k3") < 0))
		abort();
	/* nkeys as a summary file of clewd's default keys has them: 4 */
	rc = qy_summary_decode(data, size, &used, keymap, 4, 4, &s);
	if (qy_light_peek(data, size, &f, keymap, &keys, &lp, &trace, &tlen, &used_peek) == 0)
		check(used_peek <= size && tlen > 0 && (const uint8_t *)trace >= data &&
		      (const uint8_t *)trace + tlen <= data + size);
	if (rc == 0) {
		check(qy_light_peek(data, size, &f, keymap, &keys, &lp, &trace, &tlen, &used_peek) == 0);
		check(used_peek == used);
		qy_light_of(&s, &keys, &f, &ls);
		check(same_light(&lp, &ls));
		check(tlen == strlen(s.trace) && memcmp(trace, s.trace, tlen) == 0);
		check(qy_summary_encode(&s, 4, &b1) == 0);
		check(qy_summary_decode(b1.p, b1.len, &used2, keymap, 4, 4, &s2) == 0 && used2 == b1.len);
		qy_light_of(&s2, &keys, &f, &l2);
		check(same_light(&l2, &ls));
		check(qy_summary_encode(&s2, 4, &b2) == 0);
		check(b2.len == b1.len);
		qy_summary_release(&s2);
	}
	qy_summary_release(&s);
	free(b1.p);
	free(b2.p);
	qy_filter_release(&f);
	return 0;
}
