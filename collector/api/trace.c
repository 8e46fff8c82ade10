/*
 * api/trace.c - one transaction of the archive as a Jaeger trace.
 *
 * DESIGN: the records are read with one arch_find() (only the frames the
 * segment indexes list) and the span tree is built from them by
 * query/spantree.h, the tree tracegrep builds (its rules are there and
 * in tracegrep.1). Clock skew is not corrected here (tracegrep --jaeger
 * does): times are as the logs say, and only a record's own timestamp
 * widens a span. Every log record becomes a log of its span.
 * The HTML waterfall is render/waterfall.h's page, the one tracegrep
 * --html writes, fed from this tree.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "query/spantree.h"
#include "query/summary.h"
#include "api.h"
#include <store/chunk.h>
#include "fmt/record.h"
#include "fmt/str.h"
#include "render/tree_page.h"
#include "util/banned.h"

struct tree {
	const char *trace;
	struct fmt_record *recs; /* the transaction's records, time order */
	size_t nrecs;
	struct qy_tree q; /* their spans */
	int *pid;	  /* per span: its process number, 1.. */
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
	char *s = fmt_str_dup(v);

	t->oom |= v->ptr && !s;
	return s;
}

static bool is(const struct fmt_str *v, const char *s)
{
	return v->ptr && fmt_str_eq(v, s, strlen(s));
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

static const struct fmt_record *get_rec(void *ctx, size_t i, struct fmt_record *scratch, int64_t *ts_ns,
					bool *timed)
{
	const struct tree *t = ctx;

	(void)scratch; /* the records are decoded already */
	*ts_ns = t->recs[i].ts_ns;
	*timed = t->recs[i].has_ts;
	return &t->recs[i];
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
	const struct qy_span *s = &t->q.spans[k];
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
		jb_str(b, k == t->q.root ? "transaction" : s->id);
	}
	jb_puts(b, ",\"references\":[");
	if (k != t->q.root) {
		jb_puts(b, "{\"refType\":\"CHILD_OF\",\"traceID\":");
		jb_str(b, t->trace);
		jb_puts(b, ",\"spanID\":");
		jb_str(b, t->q.spans[s->parent].id);
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
	jb_printf(b, "],\"processID\":\"p%d\",\"warnings\":null}", t->pid[k]);
}

static void tree_free(struct tree *t)
{
	qy_tree_release(&t->q);
	free(t->pid);
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
static void span_details(struct tree *t, struct wf_page *p, const struct qy_span *s)
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

static void api_details(void *ctx, struct wf_page *p, const struct qy_span *s)
{
	span_details(ctx, p, s);
}

/*
 * The spans of @t in preorder as the waterfall page (render/waterfall.h,
 * the page tracegrep --html writes), into @b. Return: 0 or -CD_ENOMEM.
 */
static int waterfall_html(struct tree *t, const struct wf_meta *m, struct jb *b)
{
	struct wf_page *p = wf_page_new();
	char *page = NULL;
	size_t len = 0;
	int rc = -CD_ENOMEM;

	if (!p || wf_page_add_tree(p, &t->q, api_details, t) < 0)
		goto out;
	if (wf_render(p, m, &page, &len) == 0) {
		jb_put(b, page, len);
		rc = 0;
	}
out:
	free(page);
	wf_page_free(p);
	return rc;
}

/*
 * Load the tree of @trace: its records (@f holds the payloads they view),
 * built, in preorder at *@order (*@n spans, owned by the tree).
 * Return: as api_trace_json().
 */
static int load_tree(arch *a, const char *trace, struct frames *f, struct tree *t, const int **order,
		     size_t *n)
{
	struct cd_err err = {0};
	struct qy_tree_input in = {.get = get_rec, .ctx = t};
	int rc = arch_find(a, trace, strlen(trace), INT64_MIN, INT64_MAX, on_frame, f, NULL, &err);

	*order = NULL;
	*n = 0;
	if (rc < 0)
		return rc == -CD_ENOMEM ? rc : -CD_EIO;
	collect(t, f);
	if (!t->oom && t->nrecs == 0)
		return 0;
	in.n = t->nrecs;
	if (!t->oom &&
	    (qy_tree_build(&t->q, &in, trace, false) < 0 || qy_tree_select(&t->q, NULL, NULL, 0) != 1))
		t->oom = true;
	if (!t->oom && !(t->pid = calloc(t->q.n + 1, sizeof(*t->pid))))
		t->oom = true;
	if (t->oom)
		return -CD_ENOMEM;
	*order = t->q.order;
	*n = t->q.norder;
	return 1;
}

static void unload_tree(struct frames *f, struct tree *t)
{
	tree_free(t);
	for (size_t i = 0; i < f->n; i++)
		free(f->p[i]);
	free(f->p);
}

int api_trace_html(arch *a, const char *trace, const struct wf_meta *m, struct jb *b)
{
	struct frames f = {0};
	struct tree t = {.trace = trace};
	const int *order;
	size_t n;
	int rc = load_tree(a, trace, &f, &t, &order, &n);

	if (rc == 1 && waterfall_html(&t, m, b) < 0)
		rc = -CD_ENOMEM;
	unload_tree(&f, &t);
	return rc == 1 && b->oom ? -CD_ENOMEM : rc;
}

int api_trace_json(arch *a, const char *trace, struct jb *b)
{
	struct frames f = {0};
	struct tree t = {.trace = trace};
	const int *order;
	int npid = 0;
	size_t n;
	int rc = load_tree(a, trace, &f, &t, &order, &n);

	if (rc == 1) {
		/* processes: one per service, numbered in span order */
		const char **svc = calloc(n + 1, sizeof(*svc));

		for (size_t i = 0; svc && i < n; i++) {
			struct qy_span *s = &t.q.spans[order[i]];
			const char *name = s->service ? s->service : "unknown";
			int p = 0;

			for (int q = 0; q < npid && !p; q++)
				if (strcmp(svc[q], name) == 0)
					p = q + 1;
			if (!p) {
				svc[npid++] = name;
				p = npid;
			}
			t.pid[order[i]] = p;
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
	unload_tree(&f, &t);
	return rc;
}

int api_trace_edges(arch *a, const char *trace, int (*cb)(void *arg, const char *parent, const char *child),
		    void *arg)
{
	struct frames f = {0};
	struct tree t = {.trace = trace};
	const int *order;
	size_t n;
	int rc = load_tree(a, trace, &f, &t, &order, &n);

	for (size_t i = 0; rc == 1 && i < n; i++) {
		const struct qy_span *s = &t.q.spans[order[i]],
				     *p = s->parent >= 0 ? &t.q.spans[s->parent] : NULL;
		int cr;

		if (p && s->service && p->service && strcmp(s->service, p->service) != 0 &&
		    (cr = cb(arg, p->service, s->service)) < 0)
			rc = cr;
	}
	unload_tree(&f, &t);
	return rc;
}
