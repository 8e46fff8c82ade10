/*
 * codec.c - a summary as bytes and back (query/codec.h). Every integer is
 * little-endian; a string is (u32 length, bytes), a string that may be
 * absent has length 0xffffffff when it is. The layout is in
 * formats/archive.md ("Summary file"); a decoder checks every length
 * against the bytes left, so a damaged file cannot make it read past them.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "query/codec.h"
#include "summary_int.h"

#define NONE QY__NONE

int qy__bytes_room(struct qy_bytes *b, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (b->cap - b->len >= n)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap - b->len < n)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p)
		return -QY_ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static int put_int(struct qy_bytes *b, uint64_t v, unsigned n)
{
	if (qy__bytes_room(b, n) < 0)
		return -QY_ENOMEM;
	qy__put(b, v, n);
	return 0;
}

static int put_str(struct qy_bytes *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (s && n >= NONE)
		n = NONE - 1;
	if (qy__bytes_room(b, 4 + n) < 0)
		return -QY_ENOMEM;
	qy__put_str(b, s, n);
	return 0;
}

void qy__put_str(struct qy_bytes *b, const char *s, size_t n)
{
	qy__put(b, s ? n : NONE, 4);
	if (s && n)
		memcpy(b->p + b->len, s, n);
	if (s)
		b->len += n;
}

int qy_summary_encode(const struct qy_summary *s, size_t nkeys, struct qy_bytes *b)
{
	uint8_t flags = (uint8_t)(s->has_ts | s->has_top << 1 | s->has_root << 2 |
				  s->services_truncated << 3 | s->routes_truncated << 4 | s->error << 5);
	int rc = 0;

	rc |= put_str(b, s->trace);
	rc |= put_int(b, s->records, 8);
	rc |= put_int(b, flags, 1);
	rc |= put_int(b, (uint64_t)s->first_ns, 8);
	rc |= put_int(b, (uint64_t)s->last_ns, 8);
	rc |= put_int(b, s->min_depth, 2);
	rc |= put_int(b, s->top_depth, 2);
	rc |= put_int(b, (uint64_t)s->top_ns, 8);
	rc |= put_int(b, (uint64_t)s->top_dur_ns, 8);
	rc |= put_int(b, s->root.no_service, 1);
	rc |= put_int(b, s->root.depth, 2);
	rc |= put_int(b, (uint64_t)s->root.ts, 8);
	rc |= put_str(b, s->root_service);
	rc |= put_str(b, s->root_method);
	rc |= put_str(b, s->root_path);
	rc |= put_int(b, s->nspans, 4);
	for (size_t i = 0; i < s->cspans; i++)
		if (s->spans[i])
			rc |= put_int(b, s->spans[i], 8);
	rc |= put_int(b, s->nservices, 4);
	for (size_t i = 0; i < s->nservices; i++)
		rc |= put_str(b, s->services[i]);
	rc |= put_int(b, s->nroutes, 4);
	for (size_t i = 0; i < s->nroutes; i++) {
		rc |= put_str(b, s->routes[i].method);
		rc |= put_str(b, s->routes[i].path);
	}
	rc |= put_int(b, (uint64_t)s->status, 2);
	rc |= put_str(b, s->first_error);
	rc |= put_int(b, s->err_class, 1);
	rc |= put_int(b, (uint64_t)s->err_ts, 8);
	rc |= put_int(b, s->attrs ? nkeys : 0, 4);
	for (size_t k = 0; s->attrs && k < nkeys; k++) {
		const struct qy_values *v = &s->attrs[k];

		rc |= put_str(b, v->first);
		rc |= put_int(b, (uint64_t)v->first_ts, 8);
		rc |= put_int(b, v->truncated, 1);
		rc |= put_int(b, v->n, 4);
		for (size_t i = 0; i < v->n; i++)
			rc |= put_str(b, v->v[i]);
	}
	return rc ? -QY_ENOMEM : 0;
}

/* A string, malloc'd (NULL when absent, or on failure: see r->bad / r->oom). */
static char *get_str(struct qy__rd *r, bool may_be_absent)
{
	size_t n;
	const uint8_t *v = qy__get_view(r, may_be_absent, &n);
	char *s;

	if (!v)
		return NULL;
	s = malloc(n + 1);
	if (!s) {
		r->oom = true;
		r->bad = true;
		return NULL;
	}
	memcpy(s, v, n);
	s[n] = 0;
	return s;
}

static void get_values(struct qy__rd *r, struct qy_values *v)
{
	v->first = get_str(r, true);
	v->first_ts = (int64_t)qy__get(r, 8);
	v->truncated = qy__get(r, 1) != 0;
	v->n = 0;
	{
		size_t n = qy__get_count(r, 4, QY_VALUES_MAX);

		if (n && !(v->v = calloc(n, sizeof(*v->v)))) {
			r->oom = r->bad = true;
			return;
		}
		for (size_t i = 0; i < n && !r->bad; i++) {
			v->v[i] = get_str(r, false);
			if (v->v[i])
				v->n++;
		}
	}
}

static void free_values(struct qy_values *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	free(v->first);
	memset(v, 0, sizeof(*v));
}

int qy_summary_decode(const uint8_t *p, size_t len, size_t *used, const int *keymap, size_t nfilekeys,
		      size_t nkeys, struct qy_summary *s)
{
	struct qy__rd r = {.p = p, .len = len};
	uint8_t flags;
	size_t n;

	memset(s, 0, sizeof(*s));
	s->trace = get_str(&r, false);
	if (s->trace && !*s->trace)
		r.bad = true; /* a transaction has an ID: the writer never stores an empty one */
	s->records = qy__get(&r, 8);
	flags = (uint8_t)qy__get(&r, 1);
	s->has_ts = flags & 1, s->has_top = flags >> 1 & 1, s->has_root = flags >> 2 & 1;
	s->services_truncated = flags >> 3 & 1, s->routes_truncated = flags >> 4 & 1;
	s->error = flags >> 5 & 1;
	s->first_ns = (int64_t)qy__get(&r, 8);
	s->last_ns = (int64_t)qy__get(&r, 8);
	s->min_depth = (uint16_t)qy__get(&r, 2);
	s->top_depth = (uint16_t)qy__get(&r, 2);
	s->top_ns = (int64_t)qy__get(&r, 8);
	s->top_dur_ns = (int64_t)qy__get(&r, 8);
	s->root.no_service = (uint8_t)qy__get(&r, 1);
	s->root.depth = (uint16_t)qy__get(&r, 2);
	s->root.ts = (int64_t)qy__get(&r, 8);
	s->root_service = get_str(&r, true);
	s->root_method = get_str(&r, true);
	s->root_path = get_str(&r, true);
	n = qy__get_count(&r, 8, SIZE_MAX / 16);
	for (size_t i = 0; i < n && !r.bad; i++)
		if (qy__span_add(s, qy__get(&r, 8)) < 0)
			r.oom = r.bad = true;
	n = qy__get_count(&r, 4, QY_SERVICES_MAX);
	if (n && !r.bad && !(s->services = calloc(n, sizeof(*s->services))))
		r.oom = r.bad = true;
	for (size_t i = 0; i < n && !r.bad; i++)
		if ((s->services[i] = get_str(&r, false)))
			s->nservices++;
	n = qy__get_count(&r, 8, QY_ROUTES_MAX);
	if (n && !r.bad && !(s->routes = calloc(n, sizeof(*s->routes))))
		r.oom = r.bad = true;
	for (size_t i = 0; i < n && !r.bad; i++) {
		s->routes[i].method = get_str(&r, true);
		s->routes[i].path = get_str(&r, true);
		s->nroutes++;
	}
	s->status = (int)qy__get(&r, 2);
	s->first_error = get_str(&r, true);
	s->err_class = (uint8_t)qy__get(&r, 1);
	s->err_ts = (int64_t)qy__get(&r, 8);
	n = qy__get_count(&r, 17, QY_KEYS_MAX);
	if (n && n != nfilekeys)
		r.bad = true;
	if (n && !r.bad && nkeys) {
		if (!(s->attrs = calloc(nkeys, sizeof(*s->attrs))))
			r.oom = r.bad = true;
		else
			s->nattrs = nkeys;
	}
	for (size_t k = 0; k < n && !r.bad; k++) {
		struct qy_values v = {0};

		get_values(&r, &v);
		if (!r.bad && s->attrs && keymap[k] >= 0 && (size_t)keymap[k] < nkeys &&
		    !s->attrs[keymap[k]].first && !s->attrs[keymap[k]].n) {
			s->attrs[keymap[k]] = v;
			continue;
		}
		free_values(&v);
	}
	if (r.bad)
		return r.oom ? -QY_ENOMEM : -QY_EINVAL;
	*used = r.off;
	return 0;
}
