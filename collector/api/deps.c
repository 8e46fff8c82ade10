/*
 * api/deps.c - GET /api/dependencies?endTs=&lookback=: which service
 * calls which, as Jaeger answers it (Jaeger UI's system architecture,
 * Grafana's Jaeger dependency graph).
 *
 * DESIGN: an edge is a span whose parent span ran in another service,
 * counted per (parent service, child service), as Jaeger counts them. The
 * archive keeps no edges, so they come from the span trees of the newest
 * CD_API_DEPENDENCY_TXNS transactions starting in the window (the ones a
 * search would list, each built from its records as /api/traces/{id}
 * builds it): a sample of the window's calls, whose counts are those of
 * the sample, not of all traffic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_int.h"
#include "query/select.h"
#include "util/util.h"
#include "util/banned.h"

struct edge {
	char *parent, *child;
	unsigned long long calls;
};

struct edges {
	struct edge *v;
	size_t n, cap;
};

/* api_trace_edges()'s callback: one more call from @parent to @child. */
static int edge_add(void *arg, const char *parent, const char *child)
{
	struct edges *e = arg;

	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->v[i].parent, parent) == 0 && strcmp(e->v[i].child, child) == 0) {
			e->v[i].calls++;
			return 0;
		}
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 32;
		struct edge *v = realloc(e->v, cap * sizeof(*v));

		if (!v)
			return -CD_ENOMEM;
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n] = (struct edge){.parent = strdup(parent), .child = strdup(child), .calls = 1};
	if (!e->v[e->n].parent || !e->v[e->n].child) {
		free(e->v[e->n].parent);
		free(e->v[e->n].child);
		return -CD_ENOMEM;
	}
	e->n++;
	return 0;
}

static int by_names(const void *x, const void *y)
{
	const struct edge *a = x, *b = y;
	int c = strcmp(a->parent, b->parent);

	return c ? c : strcmp(a->child, b->child);
}

static void edges_release(struct edges *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->v[i].parent);
		free(e->v[i].child);
	}
	free(e->v);
}

/* The answer from @e: sorted by parent, then child. */
static enum MHD_Result edges_reply(struct req *r, struct edges *e)
{
	if (e->n > 1)
		qsort(e->v, e->n, sizeof(*e->v), by_names);
	jb_puts(&r->b, "{\"data\":[");
	for (size_t i = 0; i < e->n; i++) {
		jb_puts(&r->b, i ? ",{\"parent\":" : "{\"parent\":");
		jb_str(&r->b, e->v[i].parent);
		jb_puts(&r->b, ",\"child\":");
		jb_str(&r->b, e->v[i].child);
		jb_printf(&r->b, ",\"callCount\":%llu}", e->v[i].calls);
	}
	jb_printf(&r->b, "],\"total\":%zu,\"limit\":0,\"offset\":0,\"errors\":null}", e->n);
	return api_reply_json(r, 200, &r->b);
}

enum MHD_Result api_dependencies(struct req *r)
{
	const char *end = api_param(r, "endTs"), *lookback = api_param(r, "lookback");
	int64_t until = cd_real_ns(), back = INT64_C(3600) * 1000000000, since;
	const struct qy_summary **v = NULL;
	struct edges e = {0};
	enum MHD_Result ret;
	char msg[512];
	size_t n = 0;
	int rc = 0;

	if (end && api_parse_time(end, 1000000, &until) < 0)
		return api_fail(r, 400, "endTs: milliseconds since the epoch");
	if (lookback && api_parse_time(lookback, 1000000, &back) < 0)
		return api_fail(r, 400, "lookback: milliseconds");
	since = back < until ? until - back : 0;
	r->f.since_ns = since;
	r->f.until_ns = until;
	if ((rc = api_load_newest(r, CD_API_DEPENDENCY_TXNS, msg, sizeof(msg))) < 0)
		return api_fail(r, rc == -CD_ELIMIT ? 503 : 500, msg);
	if (qy_select(&r->t, &r->f, QY_SORT_START, CD_API_DEPENDENCY_TXNS, &v, &n) < 0)
		return api_fail(r, 500, "out of memory");
	for (size_t i = 0; i < n && rc >= 0; i++) {
		if (api_over_budget(r)) {
			free(v);
			edges_release(&e);
			snprintf(msg, sizeof(msg),
				 "query exceeded its time budget (%d ms) after %zu of %zu transactions: "
				 "shorten the lookback",
				 CD_API_BUDGET_MS, i, n);
			return api_fail(r, 503, msg);
		}
		rc = api_trace_edges(r->a, v[i]->trace, edge_add, &e);
	}
	free(v);
	ret = rc < 0 ? api_fail(r, 500,
				rc == -CD_ENOMEM ? "out of memory" : "cannot read a trace from the archive")
		     : edges_reply(r, &e);
	edges_release(&e);
	return ret;
}
