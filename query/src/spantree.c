/*
 * spantree.c - one transaction's records -> a tree of spans with a
 * timeline (the rules are in query/spantree.h).
 *
 * DESIGN: one pass over the records in time order links spans, gives
 * each record its span and describes the span from it (its first
 * event=span record sets start, duration, name, status; other records
 * fill service, method, path and widen a derived span); then parents and
 * children, derived windows bottom-up, clock skew top-down, children
 * sorted by start. Span IDs are found through an open-addressing hash
 * table (a batch job's transaction has thousands of spans). An
 * allocation failure sets t->oom and the build stops early; the caller
 * releases the partial tree.
 */
#include <stdlib.h>
#include <string.h>

#include "fmt/str.h"
#include "query/spantree.h"
#include "query/summary.h"

static uint64_t hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3u;
	return h;
}

static int find(const struct qy_tree *t, const char *id)
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

static bool rehash(struct qy_tree *t)
{
	size_t n = t->nslots ? t->nslots * 2 : 64;
	int *slots = malloc(n * sizeof(*slots));

	if (!slots)
		return false;
	free(t->slots);
	t->slots = slots;
	t->nslots = n;
	memset(t->slots, 0xff, t->nslots * sizeof(*t->slots));
	for (size_t k = 0; k < t->n; k++) {
		size_t i = hash(t->spans[k].id) & (t->nslots - 1);

		while (t->slots[i] >= 0)
			i = (i + 1) & (t->nslots - 1);
		t->slots[i] = (int)k;
	}
	return true;
}

static char *dup(struct qy_tree *t, const char *s, size_t n)
{
	char *c = malloc(n + 1);

	if (!c) {
		t->oom = true;
		return NULL;
	}
	memcpy(c, s, n);
	c[n] = 0;
	return c;
}

/* The decoded value of @v, malloc'd, or NULL when absent (or out of memory: t->oom). */
static char *dupv(struct qy_tree *t, const struct fmt_str *v)
{
	char *s = fmt_str_dup(v);

	t->oom |= v->ptr && !s;
	return s;
}

/* The span @id, added when new. Return: its index, or -1 out of memory. */
static int get(struct qy_tree *t, const char *id)
{
	int k = find(t, id);

	if (k >= 0 || t->oom)
		return k;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct qy_span *v = realloc(t->spans, cap * sizeof(*v));

		if (!v) {
			t->oom = true;
			return -1;
		}
		t->spans = v;
		t->cap = cap;
	}
	if ((t->n + 1) * 2 >= t->nslots && !rehash(t)) {
		t->oom = true;
		return -1;
	}
	k = (int)t->n;
	memset(&t->spans[k], 0, sizeof(t->spans[k]));
	t->spans[k].parent = -1;
	if (!(t->spans[k].id = dup(t, id, strlen(id))))
		return -1;
	t->n++;
	for (size_t i = hash(id) & (t->nslots - 1);; i = (i + 1) & (t->nslots - 1))
		if (t->slots[i] < 0) {
			t->slots[i] = k;
			break;
		}
	return k;
}

/* Whether @anc is @k or an ancestor of it, following parent_id links. */
static bool reaches(const struct qy_tree *t, int k, int anc)
{
	for (size_t steps = 0; k >= 0 && steps <= t->n; steps++) {
		if (k == anc)
			return true;
		k = t->spans[k].parent_id ? find(t, t->spans[k].parent_id) : -1;
	}
	return k >= 0; /* still going after n steps: a loop already, refuse more links */
}

static void link(struct qy_tree *t, const char *child, const char *parent)
{
	int c, p;

	if (!child || !parent || strcmp(child, parent) == 0 || strcmp(child, t->trace) == 0)
		return;
	if ((c = get(t, child)) < 0 || t->spans[c].parent_id)
		return;
	if ((p = get(t, parent)) < 0 || reaches(t, p, c))
		return;
	t->spans[c].parent_id = dup(t, parent, strlen(parent));
}

static bool push(void **v, size_t *n, size_t *cap, size_t size, const void *x)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 4;
		void *nv = realloc(*v, c * size);

		if (!nv)
			return false;
		*v = nv;
		*cap = c;
	}
	memcpy((char *)*v + *n * size, x, size);
	(*n)++;
	return true;
}

/* Widen a derived span's window to take in [@start, @end]. */
static void widen(struct qy_span *s, int64_t start, int64_t end)
{
	if (!s->has_time || start < s->start_ns)
		s->start_ns = start;
	if (!s->has_time || end > s->end_ns)
		s->end_ns = end;
	s->has_time = true;
}

static char *attr(struct qy_tree *t, const struct fmt_record *r, const char *key)
{
	const struct fmt_attr *a = fmt_record_attr(r, key);

	return a ? dupv(t, &a->val) : NULL;
}

static void replace(char **dst, char *s)
{
	free(*dst);
	*dst = s;
}

static void set_if_null(struct qy_tree *t, char **dst, const struct fmt_str *v)
{
	if (!*dst && v->ptr)
		*dst = dupv(t, v);
}

/* What record @r (time @ts, @timed) says of its span @s. */
static void describe(struct qy_tree *t, struct qy_span *s, const struct fmt_record *r, int64_t ts, bool timed)
{
	if (r->level >= FMT_LEVEL_ERROR && r->level <= FMT_LEVEL_FATAL)
		s->error = true;
	if (r->event == FMT_EVENT_SPAN && !s->explicit_) {
		char *dur = attr(t, r, "dur_us"), *end = NULL;
		long long us = dur ? strtoll(dur, &end, 10) : -1;

		s->explicit_ = s->has_time = true;
		s->start_ns = ts;
		s->end_ns = ts + (us > 0 ? (us < QY_DUR_US_MAX ? us : QY_DUR_US_MAX) * 1000 : 0);
		replace(&s->name, attr(t, r, "name"));
		replace(&s->status, attr(t, r, "status"));
		replace(&s->service, dupv(t, &r->service));
		replace(&s->method, dupv(t, &r->method));
		replace(&s->path, dupv(t, &r->path));
		free(dur);
		return;
	}
	set_if_null(t, &s->service, &r->service);
	set_if_null(t, &s->method, &r->method);
	set_if_null(t, &s->path, &r->path);
	if (fmt_record_attr(r, "status"))
		replace(&s->last_status, attr(t, r, "status"));
	if (!s->explicit_ && timed)
		widen(s, ts, ts);
}

/* Link the spans record @r names and give it its span. */
static void take(struct qy_tree *t, size_t i, const struct fmt_record *r, int64_t ts, bool timed)
{
	char *ids[FMT_IDS_MAX] = {NULL}, *sid, *par;
	int node;

	if (!r) {
		t->nodes[i] = t->root;
		return;
	}
	for (uint16_t k = 1; k < r->nids && k < FMT_IDS_MAX; k++) {
		if ((ids[k] = dupv(t, &r->ids[k])))
			get(t, ids[k]);
		if (k >= 2)
			link(t, ids[k], ids[k - 1]);
	}
	sid = r->span.ptr && r->span.len ? dupv(t, &r->span) : NULL;
	par = r->parent.ptr && r->parent.len ? dupv(t, &r->parent) : NULL;
	if (sid && par)
		link(t, sid, par);
	node = sid ? get(t, sid) : t->root;
	t->nodes[i] = node < 0 ? t->root : node;
	if (node >= 0 && !push((void **)&t->spans[node].recs, &t->spans[node].nrecs, &t->spans[node].rcap,
			       sizeof(size_t), &i))
		t->oom = true;
	if (node >= 0 && !t->oom)
		describe(t, &t->spans[node], r, ts, timed);
	for (uint16_t k = 1; k < r->nids && k < FMT_IDS_MAX; k++)
		free(ids[k]);
	free(sid);
	free(par);
}

static bool same_service(const struct qy_span *a, const struct qy_span *b)
{
	return a->service && b->service && strcmp(a->service, b->service) == 0;
}

/* Preorder of the sub-tree under @top (children in kids order), into t->order. */
static bool preorder(struct qy_tree *t, int top)
{
	int *stack = malloc((t->n + 1) * sizeof(*stack));
	int *order = malloc((t->n + 1) * sizeof(*order));
	size_t sp = 0;

	if (!stack || !order) {
		free(stack);
		free(order);
		t->oom = true;
		return false;
	}
	free(t->order);
	t->order = order;
	t->norder = 0;
	stack[sp++] = top;
	while (sp && t->norder < t->n) {
		int k = stack[--sp];
		struct qy_span *s = &t->spans[k];

		t->order[t->norder++] = k;
		for (size_t i = s->nkids; i-- > 0;)
			stack[sp++] = s->kids[i];
	}
	free(stack);
	return true;
}

static int by_start(const void *a, const void *b, void *ctx)
{
	const struct qy_tree *t = ctx;
	const struct qy_span *x = &t->spans[*(const int *)a], *y = &t->spans[*(const int *)b];

	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* Children by start (ties by ID); qsort_r, so trees may be built on several threads at once. */
static void sort_kids(struct qy_tree *t)
{
	for (size_t k = 0; k < t->n; k++)
		if (t->spans[k].nkids > 1)
			qsort_r(t->spans[k].kids, t->spans[k].nkids, sizeof(int), by_start, t);
}

/* Move children of another service into their parent's window, top-down (a move takes the sub-tree). */
static void deskew(struct qy_tree *t, bool skew)
{
	for (size_t i = 0; i < t->norder; i++) {
		struct qy_span *s = &t->spans[t->order[i]];
		struct qy_span *p;
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
}

int qy_tree_build(struct qy_tree *t, const struct qy_tree_input *in, const char *trace, bool skew)
{
	struct fmt_record *scratch = malloc(sizeof(*scratch));

	memset(t, 0, sizeof(*t));
	t->nnodes = in->n;
	t->nodes = malloc((in->n + 1) * sizeof(*t->nodes));
	t->trace = dup(t, trace, strlen(trace));
	if (!scratch || !t->nodes || !t->trace)
		goto oom;
	t->root = get(t, trace);
	for (size_t i = 0; i < in->n && !t->oom; i++) {
		int64_t ts = 0;
		bool timed = false;
		const struct fmt_record *r = in->get(in->ctx, i, scratch, &ts, &timed);

		take(t, i, r, ts < 0 ? 0 : ts > QY_TS_MAX ? QY_TS_MAX : ts, timed);
	}
	if (t->oom)
		goto oom;
	for (size_t k = 0; k < t->n; k++) {
		struct qy_span *s = &t->spans[k], *p;

		if (!s->status) {
			s->status = s->last_status;
			s->last_status = NULL;
		}
		if (qy_status_failed(s->status))
			s->error = true;
		if ((int)k == t->root)
			continue;
		s->parent = s->parent_id ? find(t, s->parent_id) : -1;
		if (s->parent < 0 || s->parent == (int)k) /* link() refuses self and cycles */
			s->parent = t->root;
		p = &t->spans[s->parent];
		if (!push((void **)&p->kids, &p->nkids, &p->kcap, sizeof(int), &(int){(int)k}))
			goto oom;
	}
	/* Derived windows, bottom-up (reverse preorder). */
	if (!preorder(t, t->root))
		goto oom;
	for (size_t i = t->norder; i-- > 0;) {
		struct qy_span *s = &t->spans[t->order[i]];

		if (s->explicit_)
			continue;
		for (size_t j = 0; j < s->nkids; j++) {
			struct qy_span *c = &t->spans[s->kids[j]];

			if (!c->has_time ||
			    (s->has_time && s->nrecs && !same_service(s, c) && t->order[i] != t->root))
				continue;
			widen(s, c->start_ns, c->end_ns);
		}
	}
	sort_kids(t);
	if (!preorder(t, t->root))
		goto oom;
	deskew(t, skew);
	sort_kids(t);
	free(scratch);
	return 0;
oom:
	t->oom = true;
	free(scratch);
	return -QY_ENOMEM;
}

/* Mark the critical path under @top. */
static int critical(struct qy_tree *t, int top)
{
	int *stack = malloc((t->n + 1) * sizeof(*stack));
	int64_t *limits = malloc((t->n + 1) * sizeof(*limits));
	size_t sp = 0;

	if (!stack || !limits)
		goto oom;
	stack[sp] = top;
	limits[sp++] = t->spans[top].end_ns;
	while (sp) {
		int k = stack[--sp];
		int64_t until = limits[sp];
		struct qy_span *s = &t->spans[k];
		bool *used = calloc(s->nkids + 1, sizeof(*used));

		if (!used)
			goto oom;
		s->critical = true;
		for (;;) {
			int best = -1;

			for (size_t j = 0; j < s->nkids; j++) {
				struct qy_span *c = &t->spans[s->kids[j]];

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
	return 0;
oom:
	free(stack);
	free(limits);
	t->oom = true;
	return -QY_ENOMEM;
}

int qy_tree_select(struct qy_tree *t, const char *id, char *const *path, size_t npath)
{
	int top = id ? find(t, id) : t->root;
	size_t j = npath >= 2 ? npath - 2 : 0;

	if (top < 0)
		return 0;
	/* path[0] is the transaction; path[1..npath-2] must be ancestors of top, outermost first. */
	for (int k = t->spans[top].parent; k >= 0 && j >= 1; k = t->spans[k].parent)
		if (strcmp(t->spans[k].id, path[j]) == 0)
			j--;
	if (j >= 1)
		return 0;
	t->top = top;
	if (!preorder(t, top))
		return -QY_ENOMEM;
	t->t0 = t->spans[top].start_ns;
	t->t1 = t->spans[top].end_ns;
	for (size_t i = 0; i < t->norder; i++) {
		struct qy_span *s = &t->spans[t->order[i]];

		s->selected = true;
		s->depth = s->parent >= 0 && t->order[i] != top ? t->spans[s->parent].depth + 1 : 0;
		if (s->has_time && s->start_ns < t->t0)
			t->t0 = s->start_ns;
		if (s->has_time && s->end_ns > t->t1)
			t->t1 = s->end_ns;
	}
	return critical(t, top) < 0 ? -QY_ENOMEM : 1;
}

void qy_tree_release(struct qy_tree *t)
{
	for (size_t k = 0; k < t->n; k++) {
		struct qy_span *s = &t->spans[k];

		free(s->id);
		free(s->parent_id);
		free(s->kids);
		free(s->service);
		free(s->name);
		free(s->method);
		free(s->path);
		free(s->status);
		free(s->last_status);
		free(s->recs);
	}
	free(t->spans);
	free(t->order);
	free(t->trace);
	free(t->slots);
	free(t->nodes);
	memset(t, 0, sizeof(*t));
}
