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
 * The archive is not scanned: its segments' summaries, written by clewd
 * as it seals each segment, are read and merged with the files' (with
 * --text, whose regexes need the records, its frames are read instead).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "query/txns.h"
#include "tg.h"
#include "banned.h"

struct find_run {
	struct qy_context ctx; /* the keys and the filter's --text regexes */
	struct qy_txns all;    /* every worker's summaries, merged */
};

static void oom(void)
{
	fputs("tracegrep: out of memory\n", stderr);
	exit(2);
}

static void *find_start(void *arg)
{
	struct find_run *run = arg;
	struct qy_txns *t = tg_xmalloc(sizeof(*t));

	qy_txns_init(t, &run->ctx);
	return t;
}

static void find_visit(void *state, const struct fmt_record *r)
{
	if (qy_txns_add(state, r) < 0)
		oom();
}

static void find_finish(void *arg, void *state)
{
	struct find_run *run = arg;
	struct qy_txns *t = state;

	if (qy_txns_merge(&run->all, t) < 0)
		oom();
	qy_txns_release(t);
	free(t);
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

int tg_find_run(struct tg_inputs *ins, const struct tg_options *o, bool *found)
{
	struct find_run run = {.ctx = {.keys = &o->keys, .filter = &o->filter}};
	struct tg_visitor vis = {
		.start = find_start, .visit = find_visit, .finish = find_finish, .arg = &run};
	struct tg_scan s = {.visitor = &vis};
	struct tg_recs none = {0};
	const struct qy_summary **v = NULL;
	size_t n = 0;
	long long total;
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
	if (tg_run_scan(ins, &s, o->threads, &none) < 0)
		rc = -TG_EIO;
	tg_recs_free(&none);
	total = qy_select(&run.all, &o->filter, o->sort, o->open ? 1 : o->limit, &v, &n);
	if (total < 0)
		oom();
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
	return rc;
}
