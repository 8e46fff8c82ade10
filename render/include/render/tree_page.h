/*
 * render/tree_page.h - a span tree (query/spantree.h) as the rows of a
 * waterfall page (render/waterfall.h): tracegrep --html and clewd's
 * /trace/{id} add their spans through this one walk.
 */
#ifndef RENDER_TREE_PAGE_H
#define RENDER_TREE_PAGE_H

#include "query/spantree.h"
#include "render/waterfall.h"

/* Adds span @s's tags and log records to @p, right after its row. */
typedef void (*wf_details_fn)(void *ctx, struct wf_page *p, const struct qy_span *s);

/*
 * wf_page_add_tree() - the selected spans of @t, in its order (depth
 * first, children by start), as rows of @p under their parents (the
 * selection's top is a top row), each named as the page names spans: its
 * name, else its request ("METHOD /path"), else "transaction" for the
 * root and "span"; @details (may be NULL) is called after each row.
 * Return: 0, or -1 when out of memory.
 */
int wf_page_add_tree(struct wf_page *p, const struct qy_tree *t, wf_details_fn details, void *ctx);

#endif
