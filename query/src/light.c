/*
 * light.c - light summaries (query/light.h): a summary's searched fields
 * read from its encoding without allocating, merged per transaction in a
 * table of fixed-size entries, and a filter's test on them.
 *
 * DESIGN: the merge repeats summary.c's rules for these fields (time
 * span, smallest depth, the top span's choice, error, worst status) and
 * must stay in step with them: the light test is only useful as long as
 * it never refuses a transaction the full test takes. The encoding read
 * is codec.c's (formats/archive.md, "A summary"), bounds-checked the
 * same way.
 */
#include <stdlib.h>
#include <string.h>

#include "query/light.h"
#include "summary_int.h"

bool qy_filter_light(const struct qy_filter *f)
{
	return !f->ntexts && f->nservices <= 32 && f->nroutes <= 32 && f->nattrs <= 32;
}

/* A view's length as the decoded C string's: up to a NUL (none in what a writer wrote). */
static size_t cstr_len(const uint8_t *s, size_t n)
{
	return s ? qy_nul_len((const char *)s, n) : n;
}

/* qy__route_bits() of a span's method and path given as views (not NUL-terminated). */
static uint32_t route_view_bits(const struct qy_filter *f, const uint8_t *m, size_t ml, const uint8_t *p,
				size_t pl)
{
	char small[QY_VALUE_BYTES + 1], *path = small;
	uint32_t bits;

	pl = cstr_len(p, pl);
	if (p && pl >= sizeof(small) && !(path = malloc(pl + 1)))
		return UINT32_MAX; /* out of memory: may match (the full test decides) */
	if (p) {
		memcpy(path, p, pl);
		path[pl] = '\0';
	}
	bits = qy__route_bits(f, (const char *)m, cstr_len(m, ml), p ? path : NULL);
	if (path != small)
		free(path);
	return bits;
}

static uint32_t service_bits(const struct qy_filter *f, const char *s, size_t n)
{
	uint32_t bits = 0;

	for (size_t i = 0; f && i < f->nservices && i < 32; i++)
		if (strlen(f->services[i]) == n && memcmp(f->services[i], s, n) == 0)
			bits |= UINT32_C(1) << i;
	return bits;
}

int qy_light_peek(const uint8_t *p, size_t len, const struct qy_filter *f, const int *keymap,
		  const struct qy_keys *keys, struct qy_light *l, const char **trace, size_t *trace_len,
		  size_t *used)
{
	struct qy__rd r = {.p = p, .len = len};
	uint8_t flags;
	size_t n, sl;
	const uint8_t *s;

	memset(l, 0, sizeof(*l));
	*trace = (const char *)qy__get_view(&r, false, trace_len);
	qy__skip(&r, 8); /* records */
	flags = (uint8_t)qy__get(&r, 1);
	l->has_ts = flags & 1;
	l->has_top = flags >> 1 & 1;
	l->error = flags >> 5 & 1;
	l->first_ns = (int64_t)qy__get(&r, 8);
	l->last_ns = (int64_t)qy__get(&r, 8);
	l->min_depth = (uint16_t)qy__get(&r, 2);
	l->top_depth = (uint16_t)qy__get(&r, 2);
	l->top_ns = (int64_t)qy__get(&r, 8);
	l->top_dur_ns = (int64_t)qy__get(&r, 8);
	qy__skip(&r, 1 + 2 + 8); /* the root's rank */
	for (int i = 0; i < 3; i++)
		qy__get_view(&r, true, &sl); /* root service, method, path */
	n = qy__get_count(&r, 8, SIZE_MAX / 16);
	if (!r.bad)
		r.off += n * 8; /* span hashes: counted by qy__get_count() against the bytes left */
	n = qy__get_count(&r, 4, QY_SERVICES_MAX);
	for (size_t i = 0; i < n && !r.bad; i++)
		if ((s = qy__get_view(&r, false, &sl)))
			l->services |= service_bits(f, (const char *)s, cstr_len(s, sl));
	n = qy__get_count(&r, 8, QY_ROUTES_MAX);
	for (size_t i = 0; i < n && !r.bad; i++) {
		size_t ml, pl;
		const uint8_t *m = qy__get_view(&r, true, &ml), *path = qy__get_view(&r, true, &pl);

		if (f && (f->nroutes || f->nmethods) && !r.bad)
			l->routes |= route_view_bits(f, m, ml, path, pl);
	}
	l->status = (int)qy__get(&r, 2);
	qy__get_view(&r, true, &sl); /* first error */
	qy__skip(&r, 1 + 8);	     /* its class and time */
	n = qy__get_count(&r, 17, QY_KEYS_MAX);
	for (size_t k = 0; k < n && !r.bad; k++) {
		int key = f && f->nattrs && keymap && keys ? keymap[k] : -1;
		size_t nv;

		qy__get_view(&r, true, &sl); /* the earliest record's value */
		qy__skip(&r, 8 + 1);
		nv = qy__get_count(&r, 4, QY_VALUES_MAX);
		for (size_t i = 0; i < nv && !r.bad; i++)
			if ((s = qy__get_view(&r, false, &sl)) && key >= 0 && (size_t)key < keys->n)
				l->attrs |= qy__attr_bits(f, keys->v[key], keys->len[key], (const char *)s,
							  cstr_len(s, sl));
	}
	if (r.bad || !*trace || !*trace_len)
		return -QY_EINVAL;
	*used = r.off;
	return 0;
}

void qy_light_of(const struct qy_summary *s, const struct qy_keys *keys, const struct qy_filter *f,
		 struct qy_light *l)
{
	memset(l, 0, sizeof(*l));
	l->has_ts = s->has_ts;
	l->has_top = s->has_top;
	l->error = s->error;
	l->first_ns = s->first_ns;
	l->last_ns = s->last_ns;
	l->min_depth = s->min_depth;
	l->top_depth = s->top_depth;
	l->top_ns = s->top_ns;
	l->top_dur_ns = s->top_dur_ns;
	l->status = s->status;
	for (size_t i = 0; i < s->nservices; i++)
		l->services |= service_bits(f, s->services[i], strlen(s->services[i]));
	for (size_t i = 0; f && (f->nroutes || f->nmethods) && i < s->nroutes; i++)
		l->routes |= qy__route_bits(f, s->routes[i].method,
					    s->routes[i].method ? strlen(s->routes[i].method) : 0,
					    s->routes[i].path);
	for (size_t k = 0; f && f->nattrs && keys && k < keys->n; k++) {
		const struct qy_values *vs = qy_summary_values(s, k);

		for (size_t i = 0; vs && i < vs->n; i++)
			l->attrs |= qy__attr_bits(f, keys->v[k], keys->len[k], vs->v[i], strlen(vs->v[i]));
	}
}

/* As summary.c's merge of these fields: time span, smallest depth, top span (shallowest, earliest, longest). */
void qy_light_merge(struct qy_light *dst, const struct qy_light *src)
{
	if (src->has_ts) {
		if (!dst->has_ts || src->first_ns < dst->first_ns)
			dst->first_ns = src->first_ns;
		if (!dst->has_ts || src->last_ns > dst->last_ns)
			dst->last_ns = src->last_ns;
		dst->has_ts = true;
	}
	if (src->min_depth < dst->min_depth)
		dst->min_depth = src->min_depth;
	if (src->has_top &&
	    !(dst->has_top && (src->top_depth > dst->top_depth ||
			       (src->top_depth == dst->top_depth && src->top_ns > dst->top_ns) ||
			       (src->top_depth == dst->top_depth && src->top_ns == dst->top_ns &&
				src->top_dur_ns <= dst->top_dur_ns)))) {
		dst->has_top = true;
		dst->top_depth = src->top_depth;
		dst->top_ns = src->top_ns;
		dst->top_dur_ns = src->top_dur_ns;
	}
	dst->error |= src->error;
	if (src->status > dst->status)
		dst->status = src->status;
	dst->services |= src->services;
	dst->routes |= src->routes;
	dst->attrs |= src->attrs;
}

static bool top_is_root(const struct qy_light *l)
{
	return l->has_top && l->top_depth <= l->min_depth;
}

int64_t qy_light_start(const struct qy_light *l)
{
	if (top_is_root(l))
		return l->top_ns;
	return l->has_ts ? l->first_ns : 0;
}

static int64_t light_dur(const struct qy_light *l)
{
	if (top_is_root(l))
		return l->top_dur_ns;
	return l->has_ts ? l->last_ns - l->first_ns : 0;
}

bool qy_light_match(const struct qy_filter *f, const struct qy_light *l)
{
	int64_t dur = light_dur(l), start = qy_light_start(l);
	uint32_t all = qy__all_bits(f->nservices);
	bool ok = !f->nstatuses;

	if (f->error && !l->error)
		return false;
	if (dur < f->min_dur_ns || dur > f->max_dur_ns)
		return false;
	if ((f->since_ns != INT64_MIN || f->until_ns != INT64_MAX) &&
	    (!l->has_ts || start < f->since_ns || start > f->until_ns))
		return false;
	for (size_t i = 0; i < f->nstatuses && !ok; i++)
		ok = l->status >= f->statuses[i].lo && l->status <= f->statuses[i].hi;
	if (!ok || (l->services & all) != all)
		return false;
	if ((f->nroutes || f->nmethods) && l->routes != qy__all_bits(f->nroutes ? f->nroutes : 1))
		return false;
	return l->attrs == qy__all_bits(f->nattrs);
}

/* ---- the table ---- */

void qy_lights_init(struct qy_lights *t)
{
	memset(t, 0, sizeof(*t));
}

void qy_lights_release(struct qy_lights *t)
{
	free(t->v);
	free(t->off);
	free(t->len);
	free(t->ids);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static int rehash(struct qy_lights *t)
{
	size_t n = t->nslots ? t->nslots * 2 : 4096;
	uint64_t *slots = calloc(n, sizeof(*slots));

	if (!slots)
		return -QY_ENOMEM;
	for (size_t k = 0; k < t->n; k++) {
		uint64_t h = qy_span_hash(t->ids + t->off[k], t->len[k]);
		size_t i = h & (n - 1);

		while (slots[i])
			i = (i + 1) & (n - 1);
		slots[i] = qy__slot_val(k, h);
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = n;
	return 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 1024;
	void *q;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	if (!(q = realloc(*p, c * size)))
		return -QY_ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}

int qy_lights_reserve(struct qy_lights *t, size_t n)
{
	while ((n + 1) * 2 >= t->nslots)
		if (rehash(t) < 0)
			return -QY_ENOMEM;
	return 0;
}

long qy_lights_add(struct qy_lights *t, const char *trace, size_t len, const struct qy_light *l)
{
	uint64_t h = qy_span_hash(trace, len);
	size_t i, cap;

	if (len > UINT32_MAX || t->n >= UINT32_MAX - 1)
		return -QY_EINVAL;
	if ((t->n + 1) * 2 >= t->nslots && rehash(t) < 0)
		return -QY_ENOMEM;
	for (i = h & (t->nslots - 1); t->slots[i]; i = (i + 1) & (t->nslots - 1)) {
		size_t k = (uint32_t)t->slots[i] - 1;

		if (!((t->slots[i] ^ h) >> 32) && t->len[k] == len &&
		    memcmp(t->ids + t->off[k], trace, len) == 0) {
			qy_light_merge(&t->v[k], l);
			return (long)k;
		}
	}
	cap = t->cap;
	if (grow((void **)&t->v, &cap, t->n + 1, sizeof(*t->v)) < 0)
		return -QY_ENOMEM;
	cap = t->cap;
	if (grow((void **)&t->off, &cap, t->n + 1, sizeof(*t->off)) < 0)
		return -QY_ENOMEM;
	cap = t->cap;
	if (grow((void **)&t->len, &cap, t->n + 1, sizeof(*t->len)) < 0)
		return -QY_ENOMEM;
	t->cap = cap;
	if (t->ids_len + len > UINT32_MAX || grow((void **)&t->ids, &t->ids_cap, t->ids_len + len, 1) < 0)
		return -QY_ENOMEM;
	memcpy(t->ids + t->ids_len, trace, len);
	t->off[t->n] = (uint32_t)t->ids_len;
	t->len[t->n] = (uint32_t)len;
	t->ids_len += len;
	t->v[t->n] = *l;
	t->slots[i] = qy__slot_val(t->n, h);
	return (long)t->n++;
}
