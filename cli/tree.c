/*
 * tree.c - one transaction's records -> its span tree: query/spantree.h's
 * tree (the one clewd's API builds too), over tracegrep's record list,
 * and the questions renderers ask of it.
 *
 * DESIGN: records are handed to the tree one at a time, parsed again
 * from their text (a record list keeps text, not views); a record with
 * no timestamp of its own goes with the time tg_recs_sort() gave it (the
 * one before it in its input), so it too widens its span.
 */
#include <stdlib.h>
#include <string.h>

#include "tg.h"
#include "banned.h"

static const struct fmt_record *get_rec(void *ctx, size_t i, struct fmt_record *scratch, int64_t *ts_ns,
					bool *timed)
{
	const struct tg_rec *r = &((const struct tg_recs *)ctx)->v[i];

	*ts_ns = r->ts_ns;
	*timed = true;
	return tg_rec_parse(r, scratch) == 0 ? scratch : NULL;
}

static void oom(void)
{
	fputs("tracegrep: out of memory\n", stderr);
	exit(2);
}

void tg_tree_build(struct qy_tree *t, struct tg_recs *recs, const char *trace, bool skew)
{
	struct qy_tree_input in = {.n = recs->n, .get = get_rec, .ctx = recs};

	if (qy_tree_build(t, &in, trace, skew) < 0)
		oom();
	for (size_t i = 0; i < recs->n; i++)
		recs->v[i].node = t->nodes[i];
}

bool tg_tree_select(struct qy_tree *t, const struct tg_recs *recs, const char *id, char *const *path,
		    size_t npath)
{
	int rc = qy_tree_select(t, id, path, npath);

	(void)recs;
	if (rc < 0)
		oom();
	return rc == 1;
}

void tg_tree_release(struct qy_tree *t)
{
	qy_tree_release(t);
}

bool tg_view_rec_selected(const struct tg_view *v, size_t i)
{
	int k = v->recs->v[i].node;

	return k >= 0 && v->tree->spans[k].selected;
}

/* Services as renderers group spans: spans with no service are one group of their own. */
static bool one_group(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

bool tg_tree_first_of_service(const struct qy_tree *t, size_t i)
{
	const char *sv = t->spans[t->order[i]].service;

	for (size_t j = 0; j < i; j++)
		if (one_group(t->spans[t->order[j]].service, sv))
			return false;
	return true;
}

int tg_tree_service_index(const struct qy_tree *t, const char *service)
{
	int n = 0;

	for (size_t i = 0; i < t->norder; i++) {
		if (!tg_tree_first_of_service(t, i))
			continue;
		n++;
		if (one_group(service, t->spans[t->order[i]].service))
			return n;
	}
	return 0;
}
