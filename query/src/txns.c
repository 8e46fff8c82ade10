/*
 * txns.c - summaries keyed by trace ID: an open-addressing hash table
 * over an array of summaries, filled record by record by one thread and
 * merged with the other threads' tables at the end of a scan.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/str.h"
#include "query/filter.h"
#include "query/txns.h"
#include "summary_int.h"

void qy_txns_init(struct qy_txns *t, const struct qy_context *ctx)
{
	memset(t, 0, sizeof(*t));
	t->ctx = *ctx;
}

void qy_txns_release(struct qy_txns *t)
{
	for (size_t i = 0; i < t->n; i++)
		qy_summary_release(&t->v[i]);
	free(t->v);
	free(t->slots);
	pcre2_match_data_free(t->match);
	memset(t, 0, sizeof(*t));
}

void qy_txns_clear(struct qy_txns *t)
{
	for (size_t i = 0; i < t->n; i++)
		qy_summary_release(&t->v[i]);
	t->n = 0;
	if (t->nslots)
		memset(t->slots, 0, t->nslots * sizeof(*t->slots));
}

static int rehash(struct qy_txns *t)
{
	size_t n = t->nslots ? t->nslots * 2 : 1024;
	uint64_t *slots = calloc(n, sizeof(*slots));

	if (!slots)
		return -QY_ENOMEM;
	for (size_t k = 0; k < t->n; k++) {
		const char *id = t->v[k].trace;
		uint64_t h = qy_span_hash(id, strlen(id));
		size_t i = h & (n - 1);

		while (slots[i])
			i = (i + 1) & (n - 1);
		slots[i] = qy__slot_val(k, h);
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = n;
	return 0;
}

/* The slot of @trace: its entry, or the empty slot where it would go. */
static size_t slot_of(const struct qy_txns *t, const char *trace, size_t len, uint64_t h)
{
	for (size_t i = h & (t->nslots - 1);; i = (i + 1) & (t->nslots - 1)) {
		uint64_t v = t->slots[i];
		const char *id;

		if (!v)
			return i;
		if ((v ^ h) >> 32)
			continue; /* another hash: no need to look at its trace */
		id = t->v[(uint32_t)v - 1].trace;
		if (strncmp(id, trace, len) == 0 && id[len] == '\0')
			return i;
	}
}

struct qy_summary *qy_txns_find(const struct qy_txns *t, const char *trace, size_t len)
{
	size_t i;

	if (!t->nslots)
		return NULL;
	i = slot_of(t, trace, len, qy_span_hash(trace, len));
	return t->slots[i] ? &t->v[(uint32_t)t->slots[i] - 1] : NULL;
}

/* The summary of @trace, made when new (*@made set, if given); NULL when out of memory. */
static struct qy_summary *get(struct qy_txns *t, const char *trace, size_t len, bool *made)
{
	uint64_t h = qy_span_hash(trace, len);
	size_t i;

	if ((t->n + 1) * 2 >= t->nslots && rehash(t) < 0)
		return NULL;
	i = slot_of(t, trace, len, h);
	if (made)
		*made = !t->slots[i];
	if (t->slots[i])
		return &t->v[(uint32_t)t->slots[i] - 1];
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct qy_summary *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		t->v = v;
		t->cap = cap;
	}
	if (qy_summary_init(&t->v[t->n], trace, len) < 0)
		return NULL;
	t->slots[i] = qy__slot_val(t->n, h);
	return &t->v[t->n++];
}

const char *qy_trace_key(const struct fmt_record *r, char *buf, size_t *len)
{
	const char *id = buf;

	*len = 0;
	if (!r->trace.ptr || r->trace.len == 0)
		return buf;
	if (r->trace.enc == FMT_ENC_RAW) {
		id = r->trace.ptr;
		*len = r->trace.len;
	} else {
		*len = fmt_str_decode(&r->trace, buf);
	}
	*len = strnlen(id, *len);
	return id;
}

int qy_txns_add(struct qy_txns *t, const struct fmt_record *r)
{
	char small[256], *big = NULL;
	const char *id;
	struct qy_summary *s;
	uint32_t hits = 0;
	size_t len;

	if (r->trace.enc != FMT_ENC_RAW && r->trace.len > sizeof(small) && !(big = malloc(r->trace.len)))
		return -QY_ENOMEM;
	id = qy_trace_key(r, big ? big : small, &len);
	s = len ? get(t, id, len, NULL) : NULL;
	free(big);
	if (!len)
		return 0;
	if (!s)
		return -QY_ENOMEM;
	if (t->ctx.filter && t->ctx.filter->ntexts) {
		if (!t->match && !(t->match = pcre2_match_data_create(16, NULL)))
			return -QY_ENOMEM;
		hits = qy_filter_texts(t->ctx.filter, r, t->match);
	}
	return qy_summary_add(s, &t->ctx, r, hits);
}

int qy_txns_merge(struct qy_txns *dst, struct qy_txns *src)
{
	int rc = 0;

	if (dst->n == 0) {
		/* Nothing to merge with: the tables change hands (one thread, or the first one). */
		struct qy_txns t = *dst;

		dst->v = src->v, dst->n = src->n, dst->cap = src->cap;
		dst->slots = src->slots, dst->nslots = src->nslots;
		src->v = t.v, src->n = 0, src->cap = t.cap;
		src->slots = t.slots, src->nslots = t.nslots;
		return 0;
	}

	for (size_t k = 0; k < src->n && rc == 0; k++) {
		struct qy_summary *from = &src->v[k], *d;
		bool made = false;

		if (k % QY_MERGE_STOP_EVERY == QY_MERGE_STOP_EVERY - 1 && dst->ctx.stop &&
		    dst->ctx.stop(dst->ctx.stop_arg)) {
			rc = -QY_ESTOPPED;
			break;
		}
		d = get(dst, from->trace, strlen(from->trace), &made);
		if (!d) {
			rc = -QY_ENOMEM;
			break;
		}
		if (!made) {
			rc = qy_summary_merge(d, from, dst->ctx.keys);
			continue;
		}
		/* New to @dst: moved, not copied (most transactions are seen by one thread only). */
		qy_summary_release(d);
		*d = *from;
		memset(from, 0, sizeof(*from));
	}
	for (size_t k = 0; k < src->n; k++)
		qy_summary_release(&src->v[k]);
	src->n = 0;
	if (src->nslots)
		memset(src->slots, 0, src->nslots * sizeof(*src->slots));
	return rc;
}

int qy_txns_take(struct qy_txns *t, struct qy_summary *s)
{
	bool made = false;
	struct qy_summary *d = get(t, s->trace, strlen(s->trace), &made);
	int rc = 0;

	if (!d) {
		rc = -QY_ENOMEM;
	} else if (!made) {
		rc = qy_summary_merge(d, s, t->ctx.keys);
	} else {
		qy_summary_release(d);
		*d = *s;
		memset(s, 0, sizeof(*s));
	}
	qy_summary_release(s);
	return rc;
}
