/*
 * api/trace.c - one transaction of the archive as a Jaeger trace.
 *
 * DESIGN: the records are read with one arch_find() (only the frames the
 * segment indexes list) and the span tree is built from them by the rules
 * tracegrep's tree follows (cli/tree.c, documented in tracegrep.1): a span
 * is any ID of a record's NDC path below the trace, or a JSON record's
 * span; in R:A:B, B's parent is A; a JSON record's parent member links
 * its span; the first link in time order wins and one that would close a
 * cycle is ignored; spans with no known parent hang under the transaction
 * (the root, whose ID is the trace ID). An event=span record gives a
 * span's start, duration, name and status; other spans run from their
 * first to their last record, widened to their children of the same
 * service. Clock skew is not corrected here (tracegrep --jaeger does):
 * times are as the logs say. Every log record becomes a log of its span.
 * The HTML waterfall is render/waterfall.h's page, the one tracegrep
 * --html writes, fed from this tree.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "query/summary.h"
#include "api.h"
#include <store/chunk.h>
#include "fmt/record.h"
#include "fmt/str.h"
#include "render/waterfall.h"
#include "util/banned.h"

struct span {
	char *id;
	char *parent_id; /* as the records say, or NULL */
	int parent;	 /* index, -1 for the root */
	int *kids;
	size_t nkids;
	char *service, *name, *method, *path, *status;
	bool explicit_, has_time, error;
	int64_t start_ns, end_ns;
	size_t *recs; /* record indexes, time order */
	size_t nrecs;
	int pid; /* process number, 1.. */
};

struct tree {
	const char *trace;
	struct span *v;
	size_t n, cap;
	struct fmt_record *recs; /* the transaction's records, time order */
	size_t nrecs;
	bool oom;
};

/* What the lookup keeps: copies of the payloads that hold the trace. */
struct frames {
	void **p;
	size_t n, cap;
	bool oom;
};

static int on_frame(void *cookie, const void *payload, size_t len, const struct arch_chunk_meta *meta)
{
	struct frames *f = cookie;
	void *copy;

	(void)meta;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		void **p = realloc(f->p, cap * sizeof(*p));

		if (!p)
			return -CD_ENOMEM;
		f->p = p;
		f->cap = cap;
	}
	if (!(copy = malloc(len + sizeof(size_t))))
		return -CD_ENOMEM;
	memcpy(copy, &len, sizeof(size_t));
	memcpy((char *)copy + sizeof(size_t), payload, len);
	f->p[f->n++] = copy;
	return 0;
}

/* The decoded value of @v, malloc'd, or NULL when absent (or out of memory: see t->oom). */
static char *dupv(struct tree *t, const struct fmt_str *v)
{
	char *s;
	size_t n;

	if (!v->ptr)
		return NULL;
	if (!(s = malloc(v->len + 1))) {
		t->oom = true;
		return NULL;
	}
	n = fmt_str_decode(v, s);
	s[n] = 0;
	return s;
}

static bool is(const struct fmt_str *v, const char *s)
{
	return v->ptr && fmt_str_eq(v, s, strlen(s));
}

static int find(const struct tree *t, const char *id)
{
	for (size_t k = 0; k < t->n; k++) /* a trace has tens of spans: no hash table needed */
		if (strcmp(t->v[k].id, id) == 0)
			return (int)k;
	return -1;
}

static int get(struct tree *t, const char *id)
{
	int k = find(t, id);

	if (k >= 0 || t->oom)
		return k;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct span *v = realloc(t->v, cap * sizeof(*v));

		if (!v) {
			t->oom = true;
			return -1;
		}
		t->v = v;
		t->cap = cap;
	}
	memset(&t->v[t->n], 0, sizeof(t->v[t->n]));
	t->v[t->n].parent = -1;
	if (!(t->v[t->n].id = strdup(id))) {
		t->oom = true;
		return -1;
	}
	return (int)t->n++;
}

static bool reaches(const struct tree *t, int k, int anc)
{
	for (size_t steps = 0; k >= 0 && steps <= t->n; steps++) {
		if (k == anc)
			return true;
		k = t->v[k].parent_id ? find(t, t->v[k].parent_id) : -1;
	}
	return k >= 0;
}

static void link_span(struct tree *t, const char *child, const char *parent)
{
	int c, p;

	if (!child || !parent || strcmp(child, parent) == 0 || strcmp(child, t->trace) == 0)
		return;
	if ((c = get(t, child)) < 0 || t->v[c].parent_id)
		return;
	if ((p = get(t, parent)) < 0 || reaches(t, p, c))
		return;
	if (!(t->v[c].parent_id = strdup(parent)))
		t->oom = true;
}

static void push(void *vp, size_t *n, size_t size, const void *x, bool *oom)
{
	void **v = vp;
	char *nv = realloc(*v, (*n + 1) * size);

	if (!nv) {
		*oom = true;
		return;
	}
	memcpy(nv + *n * size, x, size);
	*v = nv;
	(*n)++;
}

static int cmp_ts(const void *a, const void *b)
{
	const struct fmt_record *x = a, *y = b;
	int64_t tx = x->has_ts ? x->ts_ns : INT64_MAX, ty = y->has_ts ? y->ts_ns : INT64_MAX;

	return tx < ty ? -1 : tx > ty;
}

/* Decode the frames' records of the trace, in time order (stable: file order within a time). */
static void collect(struct tree *t, const struct frames *f)
{
	size_t cap = 0;

	for (size_t i = 0; i < f->n && !t->oom; i++) {
		size_t len;
		struct chunk_iter it;
		struct fmt_record r;

		memcpy(&len, f->p[i], sizeof(len));
		chunk_iter_init_bytes(&it, (const uint8_t *)f->p[i] + sizeof(size_t), len);
		while (chunk_iter_next(&it, &r, NULL) > 0 && t->nrecs < CD_API_TRACE_RECORDS) {
			if (!is(&r.trace, t->trace) || r.trace.len == 0)
				continue;
			if (t->nrecs == cap) {
				struct fmt_record *v;

				cap = cap ? cap * 2 : 64;
				if (!(v = realloc(t->recs, cap * sizeof(*v)))) {
					t->oom = true;
					return;
				}
				t->recs = v;
			}
			t->recs[t->nrecs++] = r;
		}
	}
	/* qsort is not stable: sort indexes, ties by position */
	if (t->nrecs > 1) {
		struct fmt_record *tmp = malloc(t->nrecs * sizeof(*tmp));
		size_t *ix = malloc(t->nrecs * sizeof(*ix));

		if (!tmp || !ix) {
			t->oom = true;
		} else {
			for (size_t i = 0; i < t->nrecs; i++)
				ix[i] = i;
			for (size_t i = 1; i < t->nrecs; i++) /* insertion sort on indexes: stable */
				for (size_t j = i; j > 0 && cmp_ts(&t->recs[ix[j - 1]], &t->recs[ix[j]]) > 0;
				     j--) {
					size_t x = ix[j];

					ix[j] = ix[j - 1];
					ix[j - 1] = x;
				}
			for (size_t i = 0; i < t->nrecs; i++)
				tmp[i] = t->recs[ix[i]];
			memcpy(t->recs, tmp, t->nrecs * sizeof(*tmp));
		}
		free(tmp);
		free(ix);
	}
}

static char *attr(struct tree *t, const struct fmt_record *r, const char *key)
{
	const struct fmt_attr *a = fmt_record_attr(r, key);

	return a ? dupv(t, &a->val) : NULL;
}

static void widen(struct span *s, int64_t a, int64_t b)
{
	if (!s->has_time || a < s->start_ns)
		s->start_ns = a;
	if (!s->has_time || b > s->end_ns)
		s->end_ns = b;
	s->has_time = true;
}

static void set_if_null(struct tree *t, char **dst, const struct fmt_str *v)
{
	if (!*dst && v->ptr)
		*dst = dupv(t, v);
}

/* Name, service, times and status of every span from its records. */
static void describe(struct tree *t)
{
	for (size_t k = 0; k < t->n; k++) {
		struct span *s = &t->v[k];
		char *last_status = NULL;

		for (size_t j = 0; j < s->nrecs; j++) {
			const struct fmt_record *r = &t->recs[s->recs[j]];

			if (r->level >= FMT_LEVEL_ERROR && r->level <= FMT_LEVEL_FATAL)
				s->error = true;
			if (r->event == FMT_EVENT_SPAN && !s->explicit_) {
				char *dur = attr(t, r, "dur_us"), *end = NULL;
				long long us = dur ? strtoll(dur, &end, 10) : -1;

				s->explicit_ = s->has_time = true;
				s->start_ns = r->ts_ns;
				s->end_ns = r->ts_ns + (us > 0 ? (us < INT64_C(10000000000000)
									  ? us
									  : INT64_C(10000000000000)) *
									 1000
							       : 0);
				free(s->name);
				s->name = attr(t, r, "name");
				free(s->status);
				s->status = attr(t, r, "status");
				free(s->service);
				s->service = dupv(t, &r->service);
				free(s->method);
				s->method = dupv(t, &r->method);
				free(s->path);
				s->path = dupv(t, &r->path);
				free(dur);
				continue;
			}
			set_if_null(t, &s->service, &r->service);
			set_if_null(t, &s->method, &r->method);
			set_if_null(t, &s->path, &r->path);
			if (fmt_record_attr(r, "status")) {
				free(last_status);
				last_status = attr(t, r, "status");
			}
			if (!s->explicit_ && r->has_ts)
				widen(s, r->ts_ns, r->ts_ns);
		}
		if (!s->status)
			s->status = last_status;
		else
			free(last_status);
		if (qy_status_failed(s->status))
			s->error = true;
	}
}

static bool same_service(const struct span *a, const struct span *b)
{
	return a->service && b->service && strcmp(a->service, b->service) == 0;
}

static const struct tree *sort_tree; /* qsort has no context argument; one request at a time (loop thread) */

static int by_start(const void *a, const void *b)
{
	const struct span *x = &sort_tree->v[*(const int *)a], *y = &sort_tree->v[*(const int *)b];

	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* Preorder from the root into @order (t->n entries). */
static size_t preorder(const struct tree *t, int *order)
{
	int *stack = malloc((t->n + 1) * sizeof(*stack));
	size_t n = 0, sp = 0;

	if (!stack)
		return 0;
	stack[sp++] = 0;
	while (sp && n < t->n) {
		int k = stack[--sp];

		order[n++] = k;
		for (size_t j = t->v[k].nkids; j-- > 0;)
			stack[sp++] = t->v[k].kids[j];
	}
	free(stack);
	return n;
}

static void build(struct tree *t)
{
	int *order;
	size_t n;

	get(t, t->trace); /* the root: index 0 */
	for (size_t i = 0; i < t->nrecs && !t->oom; i++) {
		const struct fmt_record *r = &t->recs[i];
		char *ids[FMT_IDS_MAX] = {NULL}, *sid, *par;
		int node;

		for (uint16_t k = 1; k < r->nids; k++) {
			ids[k] = dupv(t, &r->ids[k]);
			if (ids[k])
				get(t, ids[k]);
			if (k >= 2)
				link_span(t, ids[k], ids[k - 1]);
		}
		sid = r->span.ptr && r->span.len ? dupv(t, &r->span) : NULL;
		par = r->parent.ptr && r->parent.len ? dupv(t, &r->parent) : NULL;
		if (sid && par)
			link_span(t, sid, par);
		node = sid ? get(t, sid) : 0;
		if (node >= 0)
			push(&t->v[node].recs, &t->v[node].nrecs, sizeof(size_t), &i, &t->oom);
		for (uint16_t k = 1; k < r->nids; k++)
			free(ids[k]);
		free(sid);
		free(par);
	}
	if (t->oom)
		return;
	describe(t);
	for (size_t k = 1; k < t->n; k++) {
		struct span *s = &t->v[k];
		int p = s->parent_id ? find(t, s->parent_id) : -1;

		s->parent = p < 0 ? 0 : p;
		push(&t->v[s->parent].kids, &t->v[s->parent].nkids, sizeof(int), &(int){(int)k}, &t->oom);
	}
	if (t->oom || !(order = malloc(t->n * sizeof(*order)))) {
		t->oom = true;
		return;
	}
	/* Derived windows, bottom-up. */
	n = preorder(t, order);
	for (size_t i = n; i-- > 0;) {
		struct span *s = &t->v[order[i]];

		if (s->explicit_)
			continue;
		for (size_t j = 0; j < s->nkids; j++) {
			struct span *c = &t->v[s->kids[j]];

			if (!c->has_time || (s->has_time && s->nrecs && !same_service(s, c) && order[i] != 0))
				continue;
			widen(s, c->start_ns, c->end_ns);
		}
	}
	sort_tree = t;
	for (size_t k = 0; k < t->n; k++)
		if (t->v[k].nkids > 1)
			qsort(t->v[k].kids, t->v[k].nkids, sizeof(int), by_start);
	free(order);
}

static void tag(struct jb *b, bool *first, const char *k, const char *type, const char *raw, const char *str)
{
	jb_puts(b, *first ? "{\"key\":" : ",{\"key\":");
	*first = false;
	jb_str(b, k);
	jb_printf(b, ",\"type\":\"%s\",\"value\":", type);
	if (raw)
		jb_puts(b, raw);
	else
		jb_str(b, str);
	jb_puts(b, "}");
}

static void tag_view(struct jb *b, bool *first, const struct fmt_str *k, const struct fmt_str *v,
		     struct tree *t)
{
	char *ks = dupv(t, k), *vs = dupv(t, v);

	tag(b, first, ks ? ks : "", "string", NULL, vs ? vs : "");
	free(ks);
	free(vs);
}

/* The log of record @r: its time, level, message (with continuation lines) and attributes. */
static void log_json(struct tree *t, const struct fmt_record *r, struct jb *b)
{
	bool first = true;

	jb_printf(b, "{\"timestamp\":%lld,\"fields\":[", (long long)(r->has_ts ? r->ts_ns / 1000 : 0));
	if (r->level)
		tag(b, &first, "level", "string", NULL, fmt_level_name(r->level));
	if (r->message.ptr || r->cont.ptr) {
		char *m = dupv(t, &r->message);
		struct jb msg = {0};

		if (m)
			jb_puts(&msg, m);
		if (r->cont.ptr) {
			jb_puts(&msg, "\n");
			jb_put(&msg, r->cont.ptr, r->cont.len);
		}
		tag(b, &first, "message", "string", NULL, msg.p ? msg.p : "");
		jb_free(&msg);
		free(m);
	}
	for (uint16_t k = 0; k < r->nattrs; k++)
		tag_view(b, &first, &r->attrs[k].key, &r->attrs[k].val, t);
	jb_puts(b, "]}");
}

static void span_json(struct tree *t, int k, struct jb *b)
{
	const struct span *s = &t->v[k];
	bool first = true;

	jb_puts(b, "{\"traceID\":");
	jb_str(b, t->trace);
	jb_puts(b, ",\"spanID\":");
	jb_str(b, s->id);
	jb_puts(b, ",\"flags\":1,\"operationName\":");
	if (s->name) {
		jb_str(b, s->name);
	} else if (s->method || s->path) {
		struct jb op = {0};

		jb_puts(&op, s->method ? s->method : "");
		jb_puts(&op, s->method && s->path ? " " : "");
		jb_puts(&op, s->path ? s->path : "");
		jb_str(b, op.p ? op.p : "");
		jb_free(&op);
	} else {
		jb_str(b, k == 0 ? "transaction" : s->id);
	}
	jb_puts(b, ",\"references\":[");
	if (k != 0) {
		jb_puts(b, "{\"refType\":\"CHILD_OF\",\"traceID\":");
		jb_str(b, t->trace);
		jb_puts(b, ",\"spanID\":");
		jb_str(b, t->v[s->parent].id);
		jb_puts(b, "}");
	}
	jb_printf(b, "],\"startTime\":%lld,\"duration\":%lld,\"tags\":[", (long long)(s->start_ns / 1000),
		  (long long)((s->end_ns - s->start_ns) / 1000));
	if (s->method)
		tag(b, &first, "http.method", "string", NULL, s->method);
	if (s->path)
		tag(b, &first, "http.target", "string", NULL, s->path);
	if (s->status)
		tag(b, &first, "status", "string", NULL, s->status);
	if (s->error)
		tag(b, &first, "error", "bool", "true", NULL);
	jb_puts(b, "],\"logs\":[");
	first = true;
	for (size_t j = 0; j < s->nrecs; j++) {
		const struct fmt_record *r = &t->recs[s->recs[j]];

		if (r->event == FMT_EVENT_SPAN)
			continue;
		if (!first)
			jb_puts(b, ",");
		first = false;
		log_json(t, r, b);
	}
	jb_printf(b, "],\"processID\":\"p%d\",\"warnings\":null}", s->pid);
}

static void tree_free(struct tree *t)
{
	for (size_t k = 0; k < t->n; k++) {
		struct span *s = &t->v[k];

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
	free(t->v);
	free(t->recs);
}

static void tag_views(struct tree *t, struct wf_page *p, const struct fmt_record *r, bool log)
{
	for (uint16_t k = 0; k < r->nattrs; k++) {
		char *ks = dupv(t, &r->attrs[k].key), *vs = dupv(t, &r->attrs[k].val);

		if (log)
			wf_log_field(p, ks ? ks : "", ks ? strlen(ks) : 0, vs ? vs : "", vs ? strlen(vs) : 0);
		else
			wf_tag(p, ks ? ks : "", vs ? vs : "", vs ? strlen(vs) : 0);
		free(ks);
		free(vs);
	}
}

/* Span @s's tags (method, path, its span record's attributes) and, after them, its records as logs. */
static void span_details(struct tree *t, struct wf_page *p, const struct span *s)
{
	if (s->method)
		wf_tag(p, "http.method", s->method, strlen(s->method));
	if (s->path)
		wf_tag(p, "http.target", s->path, strlen(s->path));
	for (size_t j = 0; j < s->nrecs; j++)
		if (t->recs[s->recs[j]].event == FMT_EVENT_SPAN) {
			tag_views(t, p, &t->recs[s->recs[j]], false);
			break; /* the first span record is the one describe() took */
		}
	for (size_t j = 0; j < s->nrecs; j++) {
		const struct fmt_record *r = &t->recs[s->recs[j]];
		char *m;
		struct jb msg = {0};

		if (r->event == FMT_EVENT_SPAN)
			continue;
		if ((m = dupv(t, &r->message)))
			jb_puts(&msg, m);
		if (r->cont.ptr) {
			jb_puts(&msg, "\n");
			jb_put(&msg, r->cont.ptr, r->cont.len);
		}
		wf_log(p, r->has_ts ? r->ts_ns : 0, r->level ? fmt_level_name(r->level) : NULL,
		       msg.p ? msg.p : "", msg.len,
		       r->level >= FMT_LEVEL_ERROR && r->level <= FMT_LEVEL_FATAL);
		tag_views(t, p, r, true);
		jb_free(&msg);
		free(m);
	}
}

/*
 * The spans of @t in preorder as the waterfall page (render/waterfall.h,
 * the page tracegrep --html writes), into @b. Return: 0 or -CD_ENOMEM.
 */
static int waterfall_html(struct tree *t, const int *order, size_t n, const struct wf_meta *m, struct jb *b)
{
	struct wf_page *p = wf_page_new();
	int *at = malloc((t->n + 1) * sizeof(*at)); /* tree index -> page index */
	char *page = NULL;
	size_t len = 0;
	int rc = -CD_ENOMEM;

	if (!p || !at)
		goto out;
	for (size_t k = 0; k < t->n; k++)
		at[k] = -1;
	for (size_t i = 0; i < n; i++) {
		const struct span *s = &t->v[order[i]];
		struct jb op = {0};
		struct wf_span_spec sp = {
			.id = s->id,
			.parent = order[i] != 0 ? at[s->parent] : -1,
			.service = s->service,
			.name = s->name,
			.status = s->status,
			.has_time = s->has_time,
			.start_ns = s->start_ns,
			.end_ns = s->end_ns,
			.error = s->error,
		};

		if (!s->name && (s->method || s->path)) {
			jb_puts(&op, s->method ? s->method : "");
			jb_puts(&op, s->method && s->path ? " " : "");
			jb_puts(&op, s->path ? s->path : "");
			sp.name = op.p;
		} else if (!s->name) {
			sp.name = order[i] == 0 ? "transaction" : "span";
		}
		at[order[i]] = wf_span(p, &sp);
		jb_free(&op);
		if (at[order[i]] >= 0)
			span_details(t, p, s);
	}
	if (wf_render(p, m, &page, &len) == 0) {
		jb_put(b, page, len);
		rc = 0;
	}
out:
	free(page);
	free(at);
	wf_page_free(p);
	return rc;
}

/*
 * Load the tree of @trace: its records (@f holds the payloads they view),
 * built, in preorder at *@order (*@n spans). Return: as api_trace_json().
 */
static int load_tree(arch *a, const char *trace, struct frames *f, struct tree *t, int **order, size_t *n)
{
	struct cd_err err = {0};
	int rc = arch_find(a, trace, strlen(trace), INT64_MIN, INT64_MAX, on_frame, f, NULL, &err);

	*order = NULL;
	*n = 0;
	if (rc < 0)
		return rc == -CD_ENOMEM ? rc : -CD_EIO;
	collect(t, f);
	if (!t->oom && t->nrecs == 0)
		return 0;
	if (!t->oom)
		build(t);
	if (!t->oom && !(*order = malloc(t->n * sizeof(**order))))
		t->oom = true;
	if (!t->oom)
		*n = preorder(t, *order);
	return t->oom ? -CD_ENOMEM : 1;
}

static void unload_tree(struct frames *f, struct tree *t, int *order)
{
	free(order);
	tree_free(t);
	for (size_t i = 0; i < f->n; i++)
		free(f->p[i]);
	free(f->p);
}

int api_trace_html(arch *a, const char *trace, const struct wf_meta *m, struct jb *b)
{
	struct frames f = {0};
	struct tree t = {.trace = trace};
	int *order;
	size_t n;
	int rc = load_tree(a, trace, &f, &t, &order, &n);

	if (rc == 1 && waterfall_html(&t, order, n, m, b) < 0)
		rc = -CD_ENOMEM;
	unload_tree(&f, &t, order);
	return rc == 1 && b->oom ? -CD_ENOMEM : rc;
}

int api_trace_json(arch *a, const char *trace, struct jb *b)
{
	struct frames f = {0};
	struct tree t = {.trace = trace};
	int *order, npid = 0;
	size_t n;
	int rc = load_tree(a, trace, &f, &t, &order, &n);

	if (rc == 1) {
		/* processes: one per service, numbered in span order */
		const char **svc = calloc(n + 1, sizeof(*svc));

		for (size_t i = 0; svc && i < n; i++) {
			struct span *s = &t.v[order[i]];
			const char *name = s->service ? s->service : "unknown";
			int p = 0;

			for (int q = 0; q < npid && !p; q++)
				if (strcmp(svc[q], name) == 0)
					p = q + 1;
			if (!p) {
				svc[npid++] = name;
				p = npid;
			}
			s->pid = p;
		}
		jb_puts(b, "{\"traceID\":");
		jb_str(b, trace);
		jb_puts(b, ",\"spans\":[");
		for (size_t i = 0; i < n; i++) {
			if (i)
				jb_puts(b, ",");
			span_json(&t, order[i], b);
		}
		jb_puts(b, "],\"processes\":{");
		for (int q = 0; svc && q < npid; q++) {
			jb_printf(b, "%s\"p%d\":{\"serviceName\":", q ? "," : "", q + 1);
			jb_str(b, svc[q]);
			jb_puts(b, ",\"tags\":[]}");
		}
		jb_puts(b, "},\"warnings\":null}");
		if (!svc)
			t.oom = true;
		free(svc);
	}
	if (rc == 1 && (t.oom || b->oom))
		rc = -CD_ENOMEM;
	unload_tree(&f, &t, order);
	return rc;
}
