/*
 * query/select.h - the answer to a search: the summaries that pass a
 * filter, in the order asked for, at most a limit of them.
 */
#ifndef QUERY_SELECT_H
#define QUERY_SELECT_H

#include <stddef.h>

#include "query/filter.h"
#include "query/summary.h"
#include "query/txns.h"

#ifdef __cplusplus
extern "C" {
#endif

enum qy_sort {
	QY_SORT_START,	  /* newest first (the default) */
	QY_SORT_DURATION, /* longest first */
};

/* qy_parse_sort() - "start" or "duration". Return: 0 or -QY_EINVAL. */
int qy_parse_sort(const char *s, enum qy_sort *out);

/* qy_sort() - sort @v as @by says; ties by trace ID, so the order never depends on the input's. */
void qy_sort(const struct qy_summary **v, size_t n, enum qy_sort by);

/*
 * qy_select() - the summaries of @t that pass @f, sorted by @by, the
 * first @limit of them (0: no limit) into *@out (malloc'd array of
 * pointers into @t, caller frees), their number in *@nout.
 * Return: how many passed the filter (may exceed *@nout), or -QY_ENOMEM.
 */
long long qy_select(const struct qy_txns *t, const struct qy_filter *f, enum qy_sort by, size_t limit,
		    const struct qy_summary ***out, size_t *nout);

#ifdef __cplusplus
}
#endif

#endif
