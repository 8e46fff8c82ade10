/*
 * tree.c - one transaction's records -> a tree of spans with a timeline.
 *
 * DESIGN: a span is any ID that is the last element of a record's NDC path
 * (or a JSON record's span), and any ID on a path above one. Parent links
 * come from the paths (in R:A:B, B's parent is A) and from JSON parent
 * members; the first link seen for a span wins (records are in time
 * order) and a link that would close a cycle is ignored, so the result is
 * always a tree. The root is the transaction itself (its ID is the trace
 * ID); spans with no known parent hang under it, and records with only
 * the trace ID belong to it.
 *
 * Time: an event=span record gives start (its timestamp) and duration.
 * A span without one is *derived*: it runs from its first to its last
 * record, widened to cover its children of the same service (same
 * clock, so a child outside means the records did not cover the span).
 *
 * Clock skew: a child of *another* service that starts before its parent
 * or ends after it is moved, with its whole sub-tree and their records,
 * into the parent's window (start aligned when it is longer than the
 * parent). Each move is kept in shift_ns so renderers can show it.
 *
 * Critical path: from the top, the child that ends last is on it; before
 * that child started, the child that ended last before then; and so on,
 * recursively (the usual "last finisher" walk).
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/str.h"
#include "query/summary.h"
#include "tg.h"
#include "banned.h"

static uint64_t hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3u;
	return h;
}

static int find(const struct tg_tree *t, const char *id)
{
	if (!t->nslots)
		return -1;
	for (size_t i = hash(id) & (t->nslots - 1);; i = (i + 1) & (t->nslots - 1)) {
		int k = t->slots[i];

		if (k < 0)
			return -1;
		if (strcmp(t->spans[k].id, id) == 0)
			return k;
	}
}

static void rehash(struct tg_tree *t)
{
	t->nslots = t->nslots ? t->nslots * 2 : 64;
	free(t->slots);
	t->slots = tg_xmalloc(t->nslots * sizeof(*t->slots));
	memset(t->slots, 0xff, t->nslots * sizeof(*t->slots));
	for (size_t k = 0; k < t->n; k++) {
		size_t i = hash(t->spans[k].id) & (t->nslots - 1);

		while (t->slots[i] >= 0)
			i = (i + 1) & (t->nslots - 1);
		t->slots[i] = (int)k;
	}
}

static int get(struct tg_tree *t, const char *id)
{
	int k = find(t, id);

	if (k >= 0)
		return k;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->spans = tg_xrealloc(t->spans, t->cap * sizeof(*t->spans));
	}
	k = (int)t->n++;
	memset(&t->spans[k], 0, sizeof(t->spans[k]));
	t->spans[k].id = tg_xstrndup(id, strlen(id));
	t->spans[k].parent = -1;
	if (t->n * 2 >= t->nslots) {
		rehash(t);
	} else {
		size_t i = hash(id) & (t->nslots - 1);

		while (t->slots[i] >= 0)
			i = (i + 1) & (t->nslots - 1);
		t->slots[i] = k;
	}
	return k;
}

/* Whether @anc is @k or an ancestor of it, following parent_id links. */
static bool reaches(const struct tg_tree *t, int k, int anc)
{
	for (size_t steps = 0; k >= 0 && steps <= t->n; steps++) {
		if (k == anc)
			return true;
		k = t->spans[k].parent_id ? find(t, t->spans[k].parent_id) : -1;
	}
	return k >= 0; /* still going after n steps: a loop already, refuse more links */
}

static void link(struct tg_tree *t, const char *child, const char *parent)
{
	int c, p;

	if (!child || !parent || strcmp(child, parent) == 0 || strcmp(child, t->trace) == 0)
		return;
	c = get(t, child);
	if (t->spans[c].parent_id)
		return;
	p = get(t, parent);
	if (reaches(t, p, c))
		return;
	t->spans[c].parent_id = tg_xstrndup(parent, strlen(parent));
}

static void push_int(int **v, size_t *n, size_t *cap, int x)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 4;
		*v = tg_xrealloc(*v, *cap * sizeof(**v));
	}
	(*v)[(*n)++] = x;
}

static void push_rec(struct tg_span *s, size_t i)
{
	if (s->nrecs == s->rcap) {
		s->rcap = s->rcap ? s->rcap * 2 : 4;
		s->recs = tg_xrealloc(s->recs, s->rcap * sizeof(*s->recs));
	}
	s->recs[s->nrecs++] = i;
}

/* Widen a derived span's window to take in [@start, @end]. */
static void widen(struct tg_span *s, int64_t start, int64_t end)
{
	if (!s->has_time || start < s->start_ns)
		s->start_ns = start;
	if (!s->has_time || end > s->end_ns)
		s->end_ns = end;
	s->has_time = true;
}

static char *attr_dup(const struct fmt_record *r, const char *key)
{
	const struct fmt_attr *a = fmt_record_attr(r, key);

	return a ? tg_view_dup(&a->val) : NULL;
}

static void set_if_null(char **dst, const struct fmt_str *v)
{
	if (!*dst && v->ptr)
		*dst = tg_view_dup(v);
}

/* Fill name, service, times, status of every span from its records. */
static void describe(struct tg_tree *t, const struct tg_recs *recs)
{
	struct fmt_record *r = tg_xmalloc(sizeof(*r));

	for (size_t k = 0; k < t->n; k++) {
		struct tg_span *s = &t->spans[k];
		char *last_status = NULL;

		for (size_t j = 0; j < s->nrecs; j++) {
			const struct tg_rec *rec = &recs->v[s->recs[j]];

			if (rec->level >= FMT_LEVEL_ERROR && rec->level <= FMT_LEVEL_FATAL)
				s->error = true;
			if (tg_rec_parse(rec, r) != 0)
				continue;
			if (rec->event == FMT_EVENT_SPAN && !s->explicit_) {
				const struct fmt_attr *d = fmt_record_attr(r, "dur_us");
				char *dur = d ? tg_view_dup(&d->val) : NULL;
				char *end = NULL;
				long long us = dur ? strtoll(dur, &end, 10) : -1;

				s->explicit_ = true;
				s->has_time = true;
				s->start_ns = rec->ts_ns;
				s->end_ns = rec->ts_ns +
					    (us > 0 ? (us < TG_DUR_US_MAX ? us : TG_DUR_US_MAX) * 1000 : 0);
				free(s->name);
				s->name = attr_dup(r, "name");
				free(s->status);
				s->status = attr_dup(r, "status");
				free(s->service);
				s->service = tg_view_dup(&r->service);
				free(s->method);
				s->method = tg_view_dup(&r->method);
				free(s->path);
				s->path = tg_view_dup(&r->path);
				free(dur);
				continue;
			}
			set_if_null(&s->service, &r->service);
			set_if_null(&s->method, &r->method);
			set_if_null(&s->path, &r->path);
			if (fmt_record_attr(r, "status")) {
				free(last_status);
				last_status = attr_dup(r, "status");
			}
			if (!s->explicit_)
				widen(s, rec->ts_ns, rec->ts_ns);
		}
		if (!s->status)
			s->status = last_status;
		else
			free(last_status);
		if (qy_status_failed(s->status))
			s->error = true;
	}
	free(r);
}

static bool same_service(const struct tg_span *a, const struct tg_span *b)
{
	return a->service && b->service && strcmp(a->service, b->service) == 0;
}

/* Preorder of the sub-tree under @top (children in kids order), into t->order. */
static void preorder(struct tg_tree *t, int top)
{
	int *stack = tg_xmalloc(t->n * sizeof(*stack));
	size_t sp = 0;

	t->norder = 0;
	free(t->order);
	t->order = tg_xmalloc(t->n * sizeof(*t->order));
	stack[sp++] = top;
	while (sp) {
		int k = stack[--sp];
		struct tg_span *s = &t->spans[k];

		t->order[t->norder++] = k;
		for (size_t i = s->nkids; i-- > 0;)
			stack[sp++] = s->kids[i];
	}
	free(stack);
}

static const struct tg_tree *sort_tree; /* qsort has no context argument; tree building is single-threaded */

static int by_start(const void *a, const void *b)
{
	const struct tg_span *x = &sort_tree->spans[*(const int *)a], *y = &sort_tree->spans[*(const int *)b];

	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return strcmp(x->id, y->id);
}

void tg_tree_build(struct tg_tree *t, struct tg_recs *recs, const char *trace, bool skew)
{
	memset(t, 0, sizeof(*t));
	t->trace = tg_xstrndup(trace, strlen(trace));
	t->root = get(t, trace);
	for (size_t i = 0; i < recs->n; i++) {
		struct tg_rec *r = &recs->v[i];
		const char *sid = r->span;

		for (uint16_t k = 1; k < r->nids; k++) {
			get(t, r->ids[k]);
			if (k >= 2)
				link(t, r->ids[k], r->ids[k - 1]);
		}
		if (sid && r->parent)
			link(t, sid, r->parent);
		r->node = sid ? get(t, sid) : t->root;
	}
	for (size_t i = 0; i < recs->n; i++)
		push_rec(&t->spans[recs->v[i].node], i);
	describe(t, recs);
	for (size_t k = 0; k < t->n; k++) {
		struct tg_span *s = &t->spans[k];

		if ((int)k == t->root)
			continue;
		s->parent = s->parent_id ? find(t, s->parent_id) : -1;
		if (s->parent < 0)
			s->parent = t->root;
		assert(s->parent != (int)k); /* link() refuses self and cycles */
		push_int(&t->spans[s->parent].kids, &t->spans[s->parent].nkids, &t->spans[s->parent].kcap,
			 (int)k);
	}

	/* Derived windows, bottom-up (reverse preorder). */
	preorder(t, t->root);
	for (size_t i = t->norder; i-- > 0;) {
		struct tg_span *s = &t->spans[t->order[i]];

		if (s->explicit_)
			continue;
		for (size_t j = 0; j < s->nkids; j++) {
			struct tg_span *c = &t->spans[s->kids[j]];

			if (!c->has_time ||
			    (s->has_time && s->nrecs && !same_service(s, c) && t->order[i] != t->root))
				continue;
			widen(s, c->start_ns, c->end_ns);
		}
	}
	sort_tree = t;
	for (size_t k = 0; k < t->n; k++)
		if (t->spans[k].nkids > 1)
			qsort(t->spans[k].kids, t->spans[k].nkids, sizeof(int), by_start);
	preorder(t, t->root);

	/* Skew, top-down: a move applies to the whole sub-tree. */
	for (size_t i = 0; i < t->norder; i++) {
		struct tg_span *s = &t->spans[t->order[i]];
		struct tg_span *p;
		int64_t d = 0;

		if (s->parent < 0)
			continue;
		p = &t->spans[s->parent];
		s->adj_ns = p->adj_ns;
		s->start_ns += s->adj_ns;
		s->end_ns += s->adj_ns;
		if (!skew || !s->has_time || !p->has_time || s->parent == t->root || same_service(s, p))
			continue;
		if (s->start_ns < p->start_ns)
			d = p->start_ns - s->start_ns;
		else if (s->end_ns > p->end_ns)
			d = (s->end_ns - s->start_ns) > (p->end_ns - p->start_ns) ? p->start_ns - s->start_ns
										  : p->end_ns - s->end_ns;
		if (d) {
			s->shift_ns = d;
			s->adj_ns += d;
			s->start_ns += d;
			s->end_ns += d;
			t->nshifts++;
		}
	}
	sort_tree = t;
	for (size_t k = 0; k < t->n; k++)
		if (t->spans[k].nkids > 1)
			qsort(t->spans[k].kids, t->spans[k].nkids, sizeof(int), by_start);
	sort_tree = NULL;
}

/* Mark the critical path under @k, which must finish by @limit. */
static void critical(struct tg_tree *t, int top)
{
	int *stack = tg_xmalloc(t->n * sizeof(*stack));
	int64_t *limits = tg_xmalloc(t->n * sizeof(*limits));
	size_t sp = 0;

	stack[sp] = top;
	limits[sp++] = t->spans[top].end_ns;
	while (sp) {
		int k = stack[--sp];
		int64_t until = limits[sp];
		struct tg_span *s = &t->spans[k];
		bool *used;

		s->critical = true;
		used = tg_xcalloc(s->nkids + 1, sizeof(*used));
		for (;;) {
			int best = -1;

			for (size_t j = 0; j < s->nkids; j++) {
				struct tg_span *c = &t->spans[s->kids[j]];

				if (used[j] || !c->has_time || c->start_ns >= until)
					continue;
				if (best < 0 || c->end_ns > t->spans[s->kids[best]].end_ns)
					best = (int)j;
			}
			if (best < 0)
				break;
			used[best] = true;
			stack[sp] = s->kids[best];
			limits[sp++] = t->spans[s->kids[best]].end_ns;
			until = t->spans[s->kids[best]].start_ns;
		}
		free(used);
	}
	free(stack);
	free(limits);
}

bool tg_tree_select(struct tg_tree *t, const struct tg_recs *recs, const char *id, char *const *path,
		    size_t npath)
{
	int top = id ? find(t, id) : t->root;
	size_t j = npath >= 2 ? npath - 2 : 0;

	(void)recs;
	if (top < 0)
		return false;
	/* path[0] is the transaction; path[1..npath-2] must be ancestors of top, outermost first. */
	for (int k = t->spans[top].parent; k >= 0 && j >= 1; k = t->spans[k].parent)
		if (strcmp(t->spans[k].id, path[j]) == 0)
			j--;
	if (j >= 1)
		return false;
	t->top = top;
	preorder(t, top);
	t->t0 = t->spans[top].start_ns;
	t->t1 = t->spans[top].end_ns;
	for (size_t i = 0; i < t->norder; i++) {
		struct tg_span *s = &t->spans[t->order[i]];

		s->selected = true;
		s->depth = s->parent >= 0 && t->order[i] != top ? t->spans[s->parent].depth + 1 : 0;
		if (s->has_time && s->start_ns < t->t0)
			t->t0 = s->start_ns;
		if (s->has_time && s->end_ns > t->t1)
			t->t1 = s->end_ns;
	}
	critical(t, top);
	return true;
}

void tg_tree_release(struct tg_tree *t)
{
	for (size_t k = 0; k < t->n; k++) {
		struct tg_span *s = &t->spans[k];

		free(s->id);
		free(s->parent_id);
		free(s->kids);
		free(s->service);
		free(s->name);
		free(s->method);
		free(s->path);
		free(s->status);
		free(s->recs);
	}
	free(t->spans);
	free(t->order);
	free(t->trace);
	free(t->slots);
	memset(t, 0, sizeof(*t));
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

bool tg_tree_first_of_service(const struct tg_tree *t, size_t i)
{
	const char *sv = t->spans[t->order[i]].service;

	for (size_t j = 0; j < i; j++)
		if (one_group(t->spans[t->order[j]].service, sv))
			return false;
	return true;
}

int tg_tree_service_index(const struct tg_tree *t, const char *service)
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
