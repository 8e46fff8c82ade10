/*
 * render/src/tree_page.c - a span tree (query/spantree.h) as the rows of a
 * waterfall page: the one walk that tracegrep --html and clewd's
 * /trace/{id} share (render/tree_page.h).
 */
#include <stdio.h>
#include <stdlib.h>

#include "render/tree_page.h"

int wf_page_add_tree(struct wf_page *p, const struct qy_tree *t, wf_details_fn details, void *ctx)
{
	int *at = malloc((t->n + 1) * sizeof(*at)); /* tree index -> page row */
	char name[2048]; /* "METHOD /path": longer ones are cut on the page, not in the data */

	if (!at)
		return -1;
	for (size_t k = 0; k < t->n; k++)
		at[k] = -1;
	for (size_t i = 0; i < t->norder; i++) {
		const int k = t->order[i];
		const struct qy_span *s = &t->spans[k];
		struct wf_span_spec sp = {
			.id = s->id,
			.parent = k != t->top && s->parent >= 0 ? at[s->parent] : -1,
			.service = s->service,
			.name = s->name,
			.status = s->status,
			.has_time = s->has_time,
			.start_ns = s->start_ns,
			.end_ns = s->end_ns,
			.error = s->error,
			.critical = s->critical,
			.shift_ns = s->shift_ns,
		};

		/* a span without a name is its request ("GET /orders"), else the transaction or a span */
		if (!s->name && (s->method || s->path)) {
			snprintf(name, sizeof(name), "%s%s%s", s->method ? s->method : "",
				 s->method && s->path ? " " : "", s->path ? s->path : "");
			sp.name = name;
		} else if (!s->name) {
			sp.name = k == t->root ? "transaction" : "span";
		}
		at[k] = wf_span(p, &sp);
		if (at[k] >= 0 && details)
			details(ctx, p, s);
	}
	free(at);
	return 0;
}
