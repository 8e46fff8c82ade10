/*
 * find.c - tracegrep --find: every record of every input summarised by
 * transaction, then filtered, sorted and listed, or the first match
 * opened as tracegrep ID would show it.
 *
 * DESIGN: a visiting scan (struct tg_visitor) runs over the same units
 * and threads as an ID search; each worker summarises the records of its
 * units into its own table (query/txns.h), and the tables are merged in
 * worker order at the end, so a transaction whose records lie in several
 * files or units gets one summary, and the answer does not depend on
 * scheduling. The query engine (query/) does the summarising, the
 * filtering and the sorting: clewd's search will use the same.
 *
 * A filter that passes failed transactions only (--error, --status 5xx)
 * first finds which traces failed, from the records' bytes where they
 * are plain (find_pre.c), and summarises only those; with --error alone
 * and a limit, a second pass bounds each failed trace's start by its
 * records' times and units, so that only the transactions that may be
 * among the latest are summarised, from the units that hold them.
 *
 * The archive is not scanned: its segments' summaries, written by clewd
 * as it seals each segment, are read and merged with the files' (with
 * --text, whose regexes need the records, its frames are read instead).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lineparse.h"
#include "options.h"
#include "query/txns.h"
#include "tg.h"
#include "banned.h"

struct find_run {
	struct qy_context ctx;		/* the keys and the filter's --text regexes */
	struct qy_txns all;		/* every worker's summaries, merged */
	struct tg_traceset failed;	/* the pre-pass's: traces with a failed record */
	struct tg_bounds bounds;	/* the failed traces' time bounds (only the latest wanted) */
	struct tg_traceset latest;	/* the failed traces that may be among the latest wanted */
	struct tg_traceset units;	/* the units their records are in (unit + 1, see tg_bound_unit()) */
	bool anywhere;			/* some of them may have records in any unit */
	const struct tg_traceset *only; /* NULL, or: summarise only these traces */
};

/* One worker's state in the summarising scan. */
struct find_worker {
	struct qy_txns t;		/* its summaries */
	const struct tg_traceset *only; /* NULL, or: summarise only these traces */
};

/* Whether the record text may be of a trace in @only (see tg_find_raw_trace()). */
static bool trace_may_be_in(const struct tg_traceset *only, const char *text, size_t len)
{
	const char *id;
	size_t n;
	int rc = tg_find_raw_trace(text, len, &id, &n);

	return rc < 0 || (rc > 0 && tg_traceset_has(only, qy_span_hash(id, n)));
}

static void oom(void)
{
	fputs("tracegrep: out of memory\n", stderr);
	exit(2);
}

static void *find_start(void *arg)
{
	struct find_run *run = arg;
	struct find_worker *w = tg_xmalloc(sizeof(*w));

	qy_txns_init(&w->t, &run->ctx);
	w->only = run->only;
	return w;
}

/* With the pre-pass: parse a record only when its trace may be one of those wanted. */
static bool find_want(void *state, const char *text, size_t len, uint32_t src, uint64_t off)
{
	(void)src;
	(void)off;
	return trace_may_be_in(((struct find_worker *)state)->only, text, len);
}

static void find_visit(void *state, const struct fmt_record *r, uint32_t src, uint64_t off)
{
	struct find_worker *w = state;
	uint64_t h;

	(void)src;
	(void)off;
	if (w->only && (!tg_rec_trace_hash(r, &h) || !tg_traceset_has(w->only, h)))
		return;
	if (qy_txns_add(&w->t, r) < 0)
		oom();
}

static void find_finish(void *arg, void *state)
{
	struct find_run *run = arg;
	struct find_worker *w = state;

	if (qy_txns_merge(&run->all, &w->t) < 0)
		oom();
	qy_txns_release(&w->t);
	free(w);
}

/* ---- the pre-pass (find_pre.c): which traces have a failed record ---- */

static void *pre_start(void *arg)
{
	(void)arg;
	return tg_xcalloc(1, sizeof(struct tg_traceset));
}

static bool pre_want(void *state, const char *text, size_t len, uint32_t src, uint64_t off)
{
	(void)state;
	(void)src;
	(void)off;
	return tg_find_maybe_failed(text, len);
}

static void pre_visit(void *state, const struct fmt_record *r, uint32_t src, uint64_t off)
{
	uint64_t h;

	(void)src;
	(void)off;
	if (qy_record_failed(r, NULL) && tg_rec_trace_hash(r, &h))
		tg_traceset_add(state, h);
}

static void pre_finish(void *arg, void *state)
{
	struct find_run *run = arg;

	tg_traceset_merge(&run->failed, state);
	tg_traceset_release(state);
	free(state);
}

/* ---- only the latest wanted: the failed traces' time bounds ---- */

/* One worker's state in the bounding scan. */
struct bound_worker {
	struct tg_bounds b;		/* its traces' bounds */
	const struct tg_traceset *only; /* the failed traces */
};

static void *bound_start(void *arg)
{
	struct find_run *run = arg;
	struct bound_worker *w = tg_xcalloc(1, sizeof(*w));

	w->only = &run->failed;
	return w;
}

/* Trace @h's record at @off of input @src, of time @ts (@has_ts), into the worker's bounds. */
static void bound_note(struct bound_worker *w, uint64_t h, bool has_ts, int64_t ts, uint32_t src,
		       uint64_t off)
{
	struct tg_bound e = {.h = h};

	ts = ts < 0 ? 0 : ts > QY_TS_MAX ? QY_TS_MAX : ts; /* as summaries clamp */
	e.lo = has_ts ? ts : INT64_MAX;
	e.hi = has_ts ? ts : INT64_MIN;
	e.anywhere = !tg_bound_unit(src, off, &e.units[0]);
	e.nunits = !e.anywhere;
	tg_bounds_add(&w->b, &e);
}

/* A record of a failed trace whose ID and time its bytes show plainly is noted unparsed. */
static bool bound_want(void *state, const char *text, size_t len, uint32_t src, uint64_t off)
{
	struct bound_worker *w = state;
	const char *id;
	size_t n;
	int64_t ts = 0;
	int rc = tg_find_raw_trace(text, len, &id, &n), trc;
	uint64_t h;

	if (rc <= 0)
		return rc < 0;
	h = qy_span_hash(id, n);
	if (!tg_traceset_has(w->only, h))
		return false;
	if ((trc = tg_find_raw_ts(text, len, &ts)) < 0)
		return true;
	bound_note(w, h, trc > 0, ts, src, off);
	return false;
}

static void bound_visit(void *state, const struct fmt_record *r, uint32_t src, uint64_t off)
{
	struct bound_worker *w = state;
	uint64_t h;

	if (tg_rec_trace_hash(r, &h) && tg_traceset_has(w->only, h))
		bound_note(w, h, r->has_ts, r->ts_ns, src, off);
}

static void bound_finish(void *arg, void *state)
{
	struct find_run *run = arg;
	struct bound_worker *w = state;

	tg_bounds_merge(&run->bounds, &w->b);
	tg_bounds_release(&w->b);
	free(w);
}

/*
 * Whether the filter is --error alone: then the failed traces are exactly
 * the matches, and when only the latest few are listed, only those that
 * may be among them need summaries (their time bounds say which).
 */
static bool error_only(const struct qy_filter *f)
{
	return f->error && !f->nservices && !f->nroutes && !f->nmethods && !f->nstatuses &&
	       f->min_dur_ns == 0 && f->max_dur_ns == INT64_MAX && !f->nattrs && !f->ntexts &&
	       f->since_ns == INT64_MIN && f->until_ns == INT64_MAX;
}

/*
 * Whether the pre-pass pays: the filter passes failed transactions only
 * (--error, or --status ranges all >= 500), the files are read as pipe
 * and JSON, and each input is a plain file or in memory (a compressed one
 * would be decompressed twice; the archive has its own summaries).
 */
static bool pre_wanted(const struct tg_inputs *ins, const struct qy_filter *f)
{
	bool failed_only = f->error;

	if (!failed_only && f->nstatuses) {
		failed_only = true;
		for (size_t i = 0; i < f->nstatuses; i++)
			failed_only &= f->statuses[i].lo >= 500;
	}
	if (!failed_only || !tg_lp_plain())
		return false;
	for (size_t i = 0; i < ins->n; i++) {
		const char *k = ins->v[i].ops->kind;

		if (strcmp(k, "file") != 0 && strcmp(k, "memory") != 0 && strcmp(k, "archive") != 0)
			return false;
	}
	return true;
}

/* Show transaction @trace as tracegrep TRACE would. Return: 0, or -TG_EIO. */
static int open_one(struct tg_inputs *ins, const struct tg_options *o, const char *trace)
{
	char *elem = tg_xstrndup(trace, strlen(trace));
	/* Not tg_query_parse(): a trace ID from a log may hold any byte but '\n': searched as it is. */
	struct tg_query q = {.text = elem, .elems = &elem, .nelems = 1};
	struct tg_recs recs = {0};
	struct tg_resolution res = {0};
	struct qy_tree tree = {0};
	int rc = tg_resolve(ins, &q, o->threads, stderr, &recs, &res);

	if (recs.n) {
		tg_tree_build(&tree, &recs, res.trace, o->skew);
		if (tg_tree_select(&tree, &recs, res.select, q.elems, q.nelems)) {
			struct tg_view v = {
				.query = &q,
				.tree = &tree,
				.recs = &recs,
				.inputs = ins,
				.tty = isatty(1),
				.width = o->width ? o->width : tg_term_width(),
			};

			v.color = tg_color_wanted(o->color, v.tty);
			if (tg_output(&v, o->mode, o->html) < 0)
				rc = -TG_EIO;
		}
	}
	tg_tree_release(&tree);
	tg_recs_free(&recs);
	tg_resolution_release(&res);
	free(elem);
	return rc;
}

/* Whether the summarising scan reads unit @unit of @in: the latest wanted have records there. */
static bool unit_wanted(const struct tg_input *in, size_t unit, void *arg)
{
	struct find_run *run = arg;
	uint32_t u;

	if (run->anywhere || strcmp(in->ops->kind, "file") != 0 ||
	    !tg_bound_unit(in->src, (uint64_t)unit * TG_UNIT_BYTES, &u))
		return true;
	return tg_traceset_has(&run->units, (uint64_t)u + 1);
}

/*
 * The pre-pass: the failed traces (into run->failed, and run->only), then,
 * when only the latest few of them are wanted, their time bounds and the
 * traces and units the summarising scan needs (run->latest, run->only,
 * run->units). Return: the number of failed traces when that is the
 * number of matches, else -1. Errors of inputs: *@rc = -TG_EIO.
 */
static long long pre_pass(struct tg_inputs *ins, const struct tg_options *o, size_t narch,
			  struct find_run *run, int *rc)
{
	struct tg_visitor pre = {
		.start = pre_start, .want = pre_want, .visit = pre_visit, .finish = pre_finish, .arg = run};
	struct tg_visitor bv = {.start = bound_start,
				.want = bound_want,
				.visit = bound_visit,
				.finish = bound_finish,
				.arg = run};
	struct tg_scan ps = {.visitor = &pre}, bs = {.visitor = &bv};
	struct tg_recs none = {0};

	if (tg_run_scan(ins, &ps, o->threads, &none) < 0)
		*rc = -TG_EIO;
	/* A transaction that failed in the archive needs its records in the files too. */
	for (size_t i = 0; i < run->all.n; i++)
		if (run->all.v[i].error)
			tg_traceset_add(&run->failed,
					qy_span_hash(run->all.v[i].trace, strlen(run->all.v[i].trace)));
	run->only = &run->failed;
	if (narch || o->sort != QY_SORT_START || !(o->open || o->limit) || !error_only(&o->filter))
		return -1;
	if (tg_run_scan(ins, &bs, o->threads, &none) < 0)
		*rc = -TG_EIO;
	tg_recs_free(&none);
	tg_bounds_top(&run->bounds, o->open ? 1 : o->limit, &run->latest, &run->units, &run->anywhere);
	run->only = &run->latest;
	return (long long)run->failed.n;
}

int tg_find_run(struct tg_inputs *ins, const struct tg_options *o, bool *found)
{
	struct find_run run = {.ctx = {.keys = &o->keys, .filter = &o->filter}};
	struct tg_visitor vis = {
		.start = find_start, .visit = find_visit, .finish = find_finish, .arg = &run};
	struct tg_scan s = {.visitor = &vis};
	struct tg_recs none = {0};
	const struct qy_summary **v = NULL;
	size_t n = 0;
	long long total, nfailed = -1;
	size_t narch = 0, newest = 0;
	bool partial = false;
	int rc = 0;

	qy_txns_init(&run.all, &run.ctx);
	/* The archive alone, newest first: its older segments are read only while they may hold a match */
	for (size_t i = 0; i < ins->n; i++)
		narch += strcmp(ins->v[i].ops->kind, "archive") == 0;
	if (narch == 1 && ins->n == 1 && o->sort == QY_SORT_START)
		newest = o->open ? 1 : o->limit;
	for (size_t i = 0; i < ins->n; i++) {
		struct tg_err err = {0};
		int arc;

		if (strcmp(ins->v[i].ops->kind, "archive") != 0)
			continue;
		if ((arc = tg_archive_summaries(&ins->v[i], newest, &run.all, &err)) < 0) {
			fprintf(stderr, "tracegrep: %s\n", err.msg);
			rc = -TG_EIO;
		}
		partial |= arc == 1;
	}
	if (pre_wanted(ins, &o->filter)) {
		nfailed = pre_pass(ins, o, narch, &run, &rc);
		vis.want = find_want;
		if (run.only == &run.latest) {
			s.unit_wanted = unit_wanted;
			s.unit_arg = &run;
		}
	}
	if (tg_run_scan(ins, &s, o->threads, &none) < 0)
		rc = -TG_EIO;
	tg_recs_free(&none);
	total = qy_select(&run.all, &o->filter, o->sort, o->open ? 1 : o->limit, &v, &n);
	if (total < 0)
		oom();
	if (nfailed >= 0)
		total = nfailed; /* every failed trace matches; only the latest were summarised */
	*found = n > 0;
	if (n && !o->quiet) {
		if (o->open) {
			if (open_one(ins, o, v[0]->trace) < 0)
				rc = -TG_EIO;
		} else {
			bool tty = isatty(1);

			if (tg_render_find(v, n, &o->keys, o->mode == TG_MODE_JSON,
					   tg_color_wanted(o->color, tty),
					   o->width ? o->width : tg_term_width(), stdout) < 0) {
				fputs("tracegrep: write error\n", stderr);
				rc = -TG_EIO;
			}
			if ((size_t)total > n)
				fprintf(stderr,
					"tracegrep: %zu of %lld%s matching transactions shown (--limit)\n", n,
					total, partial ? " or more" : "");
		}
	}
	free(v);
	qy_txns_release(&run.all);
	tg_traceset_release(&run.failed);
	tg_traceset_release(&run.latest);
	tg_traceset_release(&run.units);
	tg_bounds_release(&run.bounds);
	return rc;
}
