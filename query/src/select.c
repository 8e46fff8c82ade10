/*
 * select.c - filter, sort and limit: from every summary to a search's answer.
 */
#include <stdlib.h>
#include <string.h>

#include "query/select.h"

int qy_parse_sort(const char *s, enum qy_sort *out)
{
	if (s && strcmp(s, "start") == 0)
		*out = QY_SORT_START;
	else if (s && strcmp(s, "duration") == 0)
		*out = QY_SORT_DURATION;
	else
		return -QY_EINVAL;
	return 0;
}

static int by_start(const void *a, const void *b)
{
	const struct qy_summary *x = *(const struct qy_summary *const *)a;
	const struct qy_summary *y = *(const struct qy_summary *const *)b;
	int64_t sx = qy_summary_start(x), sy = qy_summary_start(y);

	if (sx != sy)
		return sx > sy ? -1 : 1;
	return strcmp(x->trace, y->trace);
}

static int by_duration(const void *a, const void *b)
{
	const struct qy_summary *x = *(const struct qy_summary *const *)a;
	const struct qy_summary *y = *(const struct qy_summary *const *)b;
	int64_t dx = qy_summary_dur(x), dy = qy_summary_dur(y);

	if (dx != dy)
		return dx > dy ? -1 : 1;
	return by_start(a, b);
}

void qy_sort(const struct qy_summary **v, size_t n, enum qy_sort by)
{
	qsort(v, n, sizeof(*v), by == QY_SORT_DURATION ? by_duration : by_start);
}

long long qy_select(const struct qy_txns *t, const struct qy_filter *f, enum qy_sort by, size_t limit,
		    const struct qy_summary ***out, size_t *nout)
{
	const struct qy_summary **v = malloc((t->n ? t->n : 1) * sizeof(*v));
	size_t n = 0;

	*out = NULL;
	*nout = 0;
	if (!v)
		return -QY_ENOMEM;
	for (size_t i = 0; i < t->n; i++)
		if (qy_filter_match(f, &t->v[i], t->ctx.keys))
			v[n++] = &t->v[i];
	qy_sort(v, n, by);
	*out = v;
	*nout = limit && limit < n ? limit : n;
	return (long long)n;
}
