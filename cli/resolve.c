/*
 * resolve.c - from the ID the user gave to the records of one transaction.
 *
 * DESIGN: a transaction ID needs one scan: every record of transaction T
 * holds T in its first line. A span ID needs two: the first finds the
 * records that name the span (and so its transaction), the second reads
 * the whole transaction, because descendants of a span need not name it
 * (a JSON record carries only its own span and parent; a pipe path starts
 * afresh in the next service). A path T:S..:X scans for T once; the tree
 * stage then selects X's sub-tree. Each scan is an index lookup in the
 * archive and a one-partition read in Kafka (the sources decide; this
 * file only says what to look for).
 */
#include <stdlib.h>
#include <string.h>

#include "tg.h"
#include "banned.h"

static int scan(struct tg_inputs *ins, const char *needle, enum tg_want want, unsigned threads,
		struct tg_recs *out)
{
	struct tg_scan s = {.want = want};

	tg_finder_init(&s.finder, needle, strlen(needle));
	return tg_run_scan(ins, &s, threads, out);
}

/* Keep only the records of transaction @trace. */
static void keep_trace(struct tg_recs *r, const char *trace)
{
	struct tg_recs keep = {0}, drop = {0};

	for (size_t i = 0; i < r->n; i++)
		tg_recs_push(r->v[i].trace && strcmp(r->v[i].trace, trace) == 0 ? &keep : &drop, &r->v[i]);
	free(r->v);
	*r = keep;
	tg_recs_free(&drop);
}

/* Read transaction @trace whole: a scan for it, and only its records kept. */
static int read_trace(struct tg_inputs *ins, const char *trace, unsigned threads, struct tg_recs *recs)
{
	int rc = scan(ins, trace, TG_WANT_TRACE, threads, recs) < 0 ? -TG_EIO : 0;

	keep_trace(recs, trace);
	return rc;
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The transaction most of @r belong to (on a tie, the smallest ID), or NULL; *ntraces: how many. */
static const char *main_trace(const struct tg_recs *r, size_t *ntraces)
{
	const char **v = tg_xcalloc(r->n, sizeof(*v)), *best = NULL;
	size_t n = 0, best_n = 0;

	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].trace)
			v[n++] = r->v[i].trace;
	qsort(v, n, sizeof(*v), by_str);
	*ntraces = 0;
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && strcmp(v[j], v[i]) == 0; j++)
			;
		(*ntraces)++;
		if (j - i > best_n)
			best = v[i], best_n = j - i;
	}
	free(v);
	return best;
}

/* A single ID: a transaction's, else a span's, whose transaction is then read whole. */
static int resolve_one(struct tg_inputs *ins, const char *id, unsigned threads, FILE *note,
		       struct tg_recs *recs, struct tg_resolution *res)
{
	const char *t;
	int rc = 0;

	if (scan(ins, id, TG_WANT_ELEMENT, threads, recs) < 0)
		rc = -TG_EIO;
	for (size_t i = 0; i < recs->n; i++) {
		if (recs->v[i].trace && strcmp(recs->v[i].trace, id) == 0) {
			res->trace = id;
			keep_trace(recs, id);
			return rc;
		}
	}
	if (!recs->n)
		return rc;
	t = main_trace(recs, &res->ntraces);
	if (!t) {
		res->trace = id; /* records that name the span but no transaction */
		return rc;
	}
	res->trace_own = tg_xstrndup(t, strlen(t));
	res->trace = res->trace_own;
	res->select = id;
	if (res->ntraces > 1 && note) {
		/* the IDs come from the logs (and the command line): neutralised for the terminal */
		struct tg_buf b = {0};

		tg_buf_puts(&b, "tracegrep: span ");
		tg_buf_put_safe(&b, id, strlen(id), false);
		tg_buf_printf(&b, " occurs in %zu transactions; showing ", res->ntraces);
		tg_buf_put_safe(&b, res->trace, strlen(res->trace), false);
		tg_buf_puts(&b, " (give T:");
		tg_buf_put_safe(&b, id, strlen(id), false);
		tg_buf_puts(&b, " to choose)\n");
		fwrite(b.data, 1, b.len, note);
		tg_buf_free(&b);
	}
	tg_recs_free(recs);
	if (read_trace(ins, res->trace, threads, recs) < 0)
		rc = -TG_EIO;
	return rc;
}

int tg_resolve(struct tg_inputs *ins, const struct tg_query *q, unsigned threads, FILE *note,
	       struct tg_recs *recs, struct tg_resolution *res)
{
	memset(res, 0, sizeof(*res));
	if (q->nelems == 1)
		return resolve_one(ins, q->elems[0], threads, note, recs, res);
	res->trace = q->elems[0];
	res->select = q->elems[q->nelems - 1];
	return read_trace(ins, res->trace, threads, recs);
}

void tg_resolution_release(struct tg_resolution *res)
{
	free(res->trace_own);
	memset(res, 0, sizeof(*res));
}
