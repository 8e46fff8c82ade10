/*
 * summary.c - a transaction's summary from its records, and the merge of
 * two summaries of the same transaction.
 *
 * DESIGN: every field is kept in a form that merges exactly: counts add
 * up, times are minima and maxima, sets are unions (capped sets keep their
 * smallest members, which is the same whatever the order of the pieces),
 * and a value "of the first record" is kept with the rank that chose it
 * (depth, time, then the value itself), so the better rank wins a merge.
 * Spans are counted by a set of 64-bit hashes of their IDs, as one span's
 * records may lie in different pieces.
 *
 * A record's span depth: 0 when it belongs to the transaction itself (no
 * span, or the span is the trace ID), 1 for a span whose parent is the
 * transaction or unknown, else its NDC path's depth (a JSON record
 * without ids: 2, "somewhere below").
 */
#include <stdlib.h>
#include <string.h>

#include "fmt/str.h"
#include "query/summary.h"
#include "summary_int.h"

/* Up to 8 bytes at @s as a little-endian integer (the same hash on every host). */
static uint64_t load_le(const char *s, size_t n)
{
	uint64_t w = 0;

	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)(unsigned char)s[i] << (8 * i);
	return w;
}

/*
 * Eight bytes a step, not one (FNV-1a's byte loop was a tenth of the
 * archive writer's time with summaries on): an ID of 16 hex digits is two
 * multiplications, then a final mix (MurmurHash3's) spreads every input
 * bit over the whole word, as the hash sets use its low and high bits.
 */
uint64_t qy_span_hash(const char *s, size_t n)
{
	uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ ((uint64_t)n * UINT64_C(0xff51afd7ed558ccd));

	for (; n >= 8; s += 8, n -= 8) {
		h = (h ^ load_le(s, 8)) * UINT64_C(0xff51afd7ed558ccd);
		h ^= h >> 31;
	}
	if (n) {
		h = (h ^ load_le(s, n)) * UINT64_C(0xc4ceb9fe1a85ec53);
		h ^= h >> 31;
	}
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return h;
}

int qy_summary_init(struct qy_summary *s, const char *trace, size_t len)
{
	memset(s, 0, sizeof(*s));
	s->trace = strndup(trace, len);
	s->err_class = 2;
	s->err_ts = QY_TS_MAX;
	s->min_depth = UINT16_MAX;
	return s->trace ? 0 : -QY_ENOMEM;
}

void qy_summary_release(struct qy_summary *s)
{
	free(s->trace);
	free(s->root_service);
	free(s->root_method);
	free(s->root_path);
	free(s->spans);
	for (size_t i = 0; i < s->nservices; i++)
		free(s->services[i]);
	free(s->services);
	for (size_t i = 0; i < s->nroutes; i++) {
		free(s->routes[i].method);
		free(s->routes[i].path);
	}
	free(s->routes);
	free(s->first_error);
	for (size_t k = 0; k < s->nattrs; k++) {
		free(s->attrs[k].first);
		for (size_t i = 0; i < s->attrs[k].n; i++)
			free(s->attrs[k].v[i]);
		free(s->attrs[k].v);
	}
	free(s->attrs);
	memset(s, 0, sizeof(*s));
}

const struct qy_values *qy_summary_values(const struct qy_summary *s, size_t k)
{
	return k < s->nattrs && s->attrs[k].first ? &s->attrs[k] : NULL;
}

/* ---- small helpers ---- */

/* Compare strings, NULL before any string. */
static int cmp_str(const char *a, const char *b)
{
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

/*
 * The decoded value of @v, cut to @max bytes at a character boundary, in
 * @buf (of @max + 1 bytes: decoding never grows a string, but the view may
 * be longer than max, so decode into a heap copy when it is). NULL when
 * the view is absent or empty.
 */
static char *view_text(const struct fmt_str *v, size_t max, bool *oom)
{
	char *out;
	size_t n;

	if (!v->ptr || v->len == 0)
		return NULL;
	out = malloc((size_t)v->len + 1);
	if (!out) {
		*oom = true;
		return NULL;
	}
	n = fmt_str_decode(v, out);
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)out[n] & 0xc0) == 0x80)
			n--;
	}
	out[n] = '\0';
	return out;
}

static int64_t clamp_ts(const struct fmt_record *r)
{
	return r->ts_ns < 0 ? 0 : r->ts_ns > QY_TS_MAX ? QY_TS_MAX : r->ts_ns;
}

bool qy__attr_int(const struct fmt_attr *a, long long *out)
{
	char buf[24], *end;
	size_t n;

	if (!a || !a->val.ptr || a->val.len == 0 || a->val.len >= sizeof(buf))
		return false;
	if (a->val.enc == FMT_ENC_RAW && a->val.len < 19) {
		/* The common case (status=200, dur_us=1234) without a copy and strtoll(): the
		 * same answer, as 18 digits cannot overflow. */
		const char *p = a->val.ptr;
		size_t i = p[0] == '-';
		long long v = 0;

		if (i == a->val.len)
			return false;
		for (; i < a->val.len; i++) {
			if (p[i] < '0' || p[i] > '9')
				return false;
			v = v * 10 + (p[i] - '0');
		}
		*out = p[0] == '-' ? -v : v;
		return true;
	}
	n = fmt_str_decode(&a->val, buf);
	buf[n] = '\0';
	*out = strtoll(buf, &end, 10);
	/* every decoded byte a digit, as the raw path asks: "100" then a NUL is no number */
	return end == buf + n && end != buf && (buf[0] == '-' || (buf[0] >= '0' && buf[0] <= '9'));
}

/* Whether two views hold the same bytes (IDs: their escapes, if any, are written alike). */
static bool same_view(const struct fmt_str *a, const struct fmt_str *b)
{
	return a->len == b->len && a->enc == b->enc && (a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
}

uint16_t qy__depth_of(const struct fmt_record *r)
{
	if (!r->span.ptr || r->span.len == 0 || same_view(&r->span, &r->trace))
		return 0;
	if (!r->parent.ptr || r->parent.len == 0 || same_view(&r->parent, &r->trace))
		return 1;
	return r->nids > 2 ? (uint16_t)(r->nids - 1) : 2;
}

/* ---- sets ---- */

/*
 * The span set is open addressing over 64-bit hashes (0 stands for 1, as
 * 0 marks an empty slot, slots by qy__span_slot()), at most half full: a
 * transaction of a million spans (a batch job) stays linear, where a
 * sorted array would not.
 */
static int span_add(struct qy_summary *s, uint64_t h)
{
	size_t mask, i;

	h = h ? h : 1;
	if ((s->nspans + 1) * 2 > s->cspans) {
		size_t cap = s->cspans ? s->cspans * 2 : 16;
		uint64_t *v = calloc(cap, sizeof(*v));

		if (!v)
			return -QY_ENOMEM;
		for (size_t k = 0; k < s->cspans; k++) {
			if (!s->spans[k])
				continue;
			for (i = qy__span_slot(s->spans[k], cap - 1); v[i]; i = (i + 1) & (cap - 1))
				;
			v[i] = s->spans[k];
		}
		free(s->spans);
		s->spans = v;
		s->cspans = cap;
	}
	mask = s->cspans - 1;
	for (i = qy__span_slot(h, mask); s->spans[i]; i = (i + 1) & mask)
		if (s->spans[i] == h)
			return 0;
	s->spans[i] = h;
	s->nspans++;
	return 0;
}

int qy__span_add(struct qy_summary *s, uint64_t h)
{
	return span_add(s, h);
}

static int span_view(struct qy_summary *s, const struct fmt_str *v)
{
	char small[128], *big;
	int rc;

	if (!v->ptr || v->len == 0)
		return 0;
	if (v->enc == FMT_ENC_RAW)
		return span_add(s, qy_span_hash(v->ptr, v->len));
	if (v->len <= sizeof(small))
		return span_add(s, qy_span_hash(small, fmt_str_decode(v, small)));
	big = malloc(v->len);
	if (!big)
		return -QY_ENOMEM;
	rc = span_add(s, qy_span_hash(big, fmt_str_decode(v, big)));
	free(big);
	return rc;
}

/*
 * Insert @str (taken over, or freed) into the sorted, capped set (*v)[0, *n)
 * of at most @cap: when full, the largest member is dropped and *truncated
 * set. Return: 0, or -QY_ENOMEM (@str freed).
 */
static int set_insert(char ***v, size_t *n, size_t cap, bool *truncated, char *str)
{
	size_t i = 0;

	while (i < *n && strcmp((*v)[i], str) < 0)
		i++;
	if (i < *n && strcmp((*v)[i], str) == 0) {
		free(str);
		return 0;
	}
	if (*n == cap) {
		*truncated = true;
		if (i == cap) {
			free(str);
			return 0;
		}
		free((*v)[--*n]);
	} else {
		char **nv = realloc(*v, (*n + 1) * sizeof(**v));

		if (!nv) {
			free(str);
			return -QY_ENOMEM;
		}
		*v = nv;
	}
	memmove(*v + i + 1, *v + i, (*n - i) * sizeof(**v));
	(*v)[i] = str;
	(*n)++;
	return 0;
}

static int cmp_route(const struct qy_route *a, const struct qy_route *b)
{
	int c = cmp_str(a->method, b->method);

	return c ? c : cmp_str(a->path, b->path);
}

/* As set_insert(), for routes: @r's strings are taken over. */
static int route_insert(struct qy_summary *s, struct qy_route r)
{
	size_t i = 0;

	while (i < s->nroutes && cmp_route(&s->routes[i], &r) < 0)
		i++;
	if (i < s->nroutes && cmp_route(&s->routes[i], &r) == 0)
		goto drop;
	if (s->nroutes == QY_ROUTES_MAX) {
		s->routes_truncated = true;
		if (i == QY_ROUTES_MAX)
			goto drop;
		s->nroutes--;
		free(s->routes[s->nroutes].method);
		free(s->routes[s->nroutes].path);
	} else {
		struct qy_route *nv = realloc(s->routes, (s->nroutes + 1) * sizeof(*nv));

		if (!nv) {
			free(r.method);
			free(r.path);
			return -QY_ENOMEM;
		}
		s->routes = nv;
	}
	memmove(s->routes + i + 1, s->routes + i, (s->nroutes - i) * sizeof(*s->routes));
	s->routes[i] = r;
	s->nroutes++;
	return 0;
drop:
	free(r.method);
	free(r.path);
	return 0;
}

/* The values of key @k of @nkeys, made on first use (as many as there are keys); NULL when out of memory. */
static struct qy_values *values(struct qy_summary *s, size_t k, size_t nkeys)
{
	if (!s->attrs) {
		if (!(s->attrs = calloc(nkeys, sizeof(*s->attrs))))
			return NULL;
		s->nattrs = nkeys;
	}
	return k < s->nattrs ? &s->attrs[k] : NULL;
}

/* A value seen at @ts: into the set, and first when it ranks before. */
static void value_add(struct qy_values *vs, const char *val, int64_t ts, bool *oom)
{
	char *copy = dup_or_null(val, oom);

	if (!vs->first || ts < vs->first_ts || (ts == vs->first_ts && strcmp(val, vs->first) < 0)) {
		char *f = dup_or_null(val, oom);

		if (f) {
			free(vs->first);
			vs->first = f;
			vs->first_ts = ts;
		}
	}
	if (copy && set_insert(&vs->v, &vs->n, QY_VALUES_MAX, &vs->truncated, copy) < 0)
		*oom = true;
}

/* Whether the decoded @v equals @s (both absent counts as equal). */
static bool view_is(const struct fmt_str *v, const char *s)
{
	size_t i = 0;

	if (!v->ptr || v->len == 0 || !s)
		return (!v->ptr || v->len == 0) && !s;
	if (v->enc != FMT_ENC_RAW)
		return fmt_str_eq(v, s, strlen(s));
	/* Per record and per kept service or route: one pass, no strlen() of @s first, never
	 * past @s's NUL (a view may hold a NUL byte). */
	while (i < v->len && s[i] && s[i] == v->ptr[i])
		i++;
	return i == v->len && s[i] == '\0';
}

/* ---- choosing among candidates ---- */

/* Whether a root candidate of @rank with these values beats the summary's root. */
static bool root_wins(const struct qy_summary *s, const struct qy_rank *rank, const char *service,
		      const char *method, const char *path)
{
	int c = s->has_root ? qy__cmp_rank(rank, &s->root) : -1;

	if (c == 0) {
		c = cmp_str(service, s->root_service);
		if (!c)
			c = cmp_str(method, s->root_method);
		if (!c)
			c = cmp_str(path, s->root_path);
	}
	return c < 0;
}

/* Make the candidate the root: its strings are taken over (allocated once, not copied again). */
static void root_take(struct qy_summary *s, const struct qy_rank *rank, char *service, char *method,
		      char *path)
{
	free(s->root_service);
	free(s->root_method);
	free(s->root_path);
	s->root_service = service;
	s->root_method = method;
	s->root_path = path;
	s->root = *rank;
	s->has_root = true;
}

/* Take root service/method/path (copied) when @rank beats the summary's. */
static void root_offer(struct qy_summary *s, const struct qy_rank *rank, const char *service,
		       const char *method, const char *path, bool *oom)
{
	if (root_wins(s, rank, service, method, path))
		root_take(s, rank, dup_or_null(service, oom), dup_or_null(method, oom),
			  dup_or_null(path, oom));
}

/* The shallowest, then earliest, then longest span record gives the top span. */
static void top_offer(struct qy_summary *s, uint16_t depth, int64_t ts, int64_t dur)
{
	if (s->has_top && (depth > s->top_depth || (depth == s->top_depth && ts > s->top_ns) ||
			   (depth == s->top_depth && ts == s->top_ns && dur <= s->top_dur_ns)))
		return;
	s->has_top = true;
	s->top_depth = depth;
	s->top_ns = ts;
	s->top_dur_ns = dur;
}

/* The earliest error (ERROR/FATAL records before failing statuses) gives first_error. */
static void error_offer(struct qy_summary *s, uint8_t cls, int64_t ts, const char *msg, bool *oom)
{
	if (!msg)
		return;
	if (s->first_error && (cls > s->err_class || (cls == s->err_class && ts > s->err_ts) ||
			       (cls == s->err_class && ts == s->err_ts && strcmp(msg, s->first_error) >= 0)))
		return;
	free(s->first_error);
	s->first_error = dup_or_null(msg, oom);
	s->err_class = cls;
	s->err_ts = ts;
}

bool qy_status_failed(const char *st)
{
	char *end;
	long v;

	if (!st || !*st)
		return false;
	v = strtol(st, &end, 10);
	if (*end == '\0' && end != st)
		return v >= 500;
	return strcmp(st, "ok") != 0 && strcmp(st, "OK") != 0 && strcmp(st, "Ok") != 0 &&
	       strcmp(st, "unset") != 0;
}

static void time_span(struct qy_summary *s, int64_t first, int64_t last)
{
	if (!s->has_ts || first < s->first_ns)
		s->first_ns = first;
	if (!s->has_ts || last > s->last_ns)
		s->last_ns = last;
	s->has_ts = true;
}

/* ---- adding a record ---- */

static bool key_is(const struct fmt_str *k, const char *lit, size_t len)
{
	if (k->enc == FMT_ENC_RAW)
		return k->len == len && memcmp(k->ptr, lit, len) == 0;
	return fmt_str_eq(k, lit, len);
}

static bool http_status_key(const char *k, size_t n)
{
	return (n == sizeof(QY_HTTP_STATUS_KEY) - 1 && memcmp(k, QY_HTTP_STATUS_KEY, n) == 0) ||
	       (n == sizeof(QY_HTTP_STATUS_KEY_OLD) - 1 && memcmp(k, QY_HTTP_STATUS_KEY_OLD, n) == 0);
}

bool qy_status_key(const char *k, size_t n)
{
	return (n == 6 && memcmp(k, "status", 6) == 0) || http_status_key(k, n);
}

void qy__pick(const struct fmt_record *r, const struct qy_keys *keys, struct qy__picked *p)
{
	size_t nk = keys ? keys->n : 0;

	p->status = p->dur_us = p->error = p->http_status = NULL;
	for (size_t j = 0; j < nk; j++)
		p->keys[j] = NULL;
	for (uint16_t i = 0; i < r->nattrs; i++) {
		const struct fmt_attr *a = &r->attrs[i];
		const struct fmt_str *k = &a->key;

		/* Per record and attribute: most keys are none of these, told apart by their length. */
		if (k->enc == FMT_ENC_RAW) {
			uint16_t m = !keys ? 0 : k->len < 64 ? keys->by_len[k->len] : keys->long_keys;

			if (k->len == 6 && !p->status && memcmp(k->ptr, "status", 6) == 0)
				p->status = a;
			else if (k->len == 6 && !p->dur_us && memcmp(k->ptr, "dur_us", 6) == 0)
				p->dur_us = a;
			else if (k->len == 5 && !p->error && memcmp(k->ptr, "error", 5) == 0)
				p->error = a;
			else if (!p->http_status && http_status_key(k->ptr, k->len))
				p->http_status = a;
			/* only the summary keys of this length */
			for (; m; m &= (uint16_t)(m - 1)) {
				unsigned j = (unsigned)__builtin_ctz(m);

				if (!p->keys[j] && keys->len[j] == k->len &&
				    qy_bytes_eq(k->ptr, keys->v[j], k->len))
					p->keys[j] = a;
			}
			continue;
		}
		if (!p->status && key_is(k, "status", 6))
			p->status = a;
		else if (!p->dur_us && key_is(k, "dur_us", 6))
			p->dur_us = a;
		else if (!p->error && key_is(k, "error", 5))
			p->error = a;
		else if (!p->http_status &&
			 (key_is(k, QY_HTTP_STATUS_KEY, sizeof(QY_HTTP_STATUS_KEY) - 1) ||
			  key_is(k, QY_HTTP_STATUS_KEY_OLD, sizeof(QY_HTTP_STATUS_KEY_OLD) - 1)))
			p->http_status = a;
		for (size_t j = 0; j < nk; j++)
			if (!p->keys[j] && key_is(k, keys->v[j], keys->len[j]))
				p->keys[j] = a;
	}
}

int qy__http_take(int *worst, const struct fmt_attr *a)
{
	long long v;

	if (!a || !qy__attr_int(a, &v) || v < 100 || v > 999)
		return 0;
	if (v > *worst)
		*worst = (int)v;
	return v >= 500;
}

/*
 * The status attribute @a: its HTTP status (*@code, 0 when none) and
 * whether it marks a failure. The one rule of a record's status, for
 * summaries and for qy_record_failed(). Return: 1 when it is an error.
 */
static int status_of(const struct fmt_attr *a, int *code, bool *oom)
{
	long long v;
	char *st;
	int failing;

	*code = 0;
	if (!a)
		return 0;
	if (qy__attr_int(a, &v)) {
		if (v >= 100 && v <= 999)
			*code = (int)v;
		return v >= 500;
	}
	if (a->type != FMT_T_STRING)
		return 0;
	st = view_text(&a->val, 64, oom);
	failing = qy_status_failed(st);
	free(st);
	return failing;
}

/* The status attribute @a: worst HTTP status, error flag; Return: 1 when it is an error. */
static int take_status(struct qy_summary *s, const struct fmt_attr *a, bool *oom)
{
	int code, failing = status_of(a, &code, oom);

	if (code > s->status)
		s->status = code;
	return failing;
}

static bool level_failed(const struct fmt_record *r)
{
	return r->level == FMT_LEVEL_ERROR || r->level == FMT_LEVEL_FATAL;
}

bool qy_record_failed(const struct fmt_record *r, int *status)
{
	bool oom = false;
	int code = 0, failing = 0;

	struct qy__picked p;

	qy__pick(r, NULL, &p);
	failing = status_of(p.status, &code, &oom);
	failing |= qy__http_take(&code, p.http_status);
	if (status)
		*status = code;
	/* Out of memory decoding a status text: say failed, so a pre-pass keeps the record. */
	return level_failed(r) || failing || oom;
}

/* The text an error is shown by: the message, else the "error" attribute @a. */
static char *error_text(const struct fmt_record *r, const struct fmt_attr *a, bool *oom)
{
	if (r->message.ptr && r->message.len)
		return view_text(&r->message, QY_MESSAGE_BYTES, oom);
	return a ? view_text(&a->val, QY_MESSAGE_BYTES, oom) : NULL;
}

/* The record's service into the set, unless there (no allocation then: the common case). */
static void take_service(struct qy_summary *s, const struct fmt_record *r, bool *oom)
{
	char *svc;

	if (!r->service.ptr || r->service.len == 0)
		return;
	for (size_t i = 0; i < s->nservices; i++)
		if (view_is(&r->service, s->services[i]))
			return;
	svc = view_text(&r->service, QY_VALUE_BYTES, oom);
	if (svc && set_insert(&s->services, &s->nservices, QY_SERVICES_MAX, &s->services_truncated, svc) < 0)
		*oom = true;
}

/* The record's (method, path) into the routes, unless there. */
static void take_route(struct qy_summary *s, const struct fmt_record *r, bool *oom)
{
	struct qy_route rt;

	if ((!r->method.ptr || !r->method.len) && (!r->path.ptr || !r->path.len))
		return;
	for (size_t i = 0; i < s->nroutes; i++)
		if (view_is(&r->method, s->routes[i].method) && view_is(&r->path, s->routes[i].path))
			return;
	rt.method = view_text(&r->method, QY_VALUE_BYTES, oom);
	rt.path = view_text(&r->path, QY_VALUE_BYTES, oom);
	if (route_insert(s, rt) < 0)
		*oom = true;
}

/* The summary keys' values of the record. */
static void take_values(struct qy_summary *s, const struct qy_keys *keys, const struct qy__picked *p,
			int64_t ts, bool *oom)
{
	for (size_t k = 0; keys && k < keys->n; k++) {
		const struct fmt_attr *a = p->keys[k];
		struct qy_values *vs;
		char *val;
		bool known = false;

		if (!a || a->type == FMT_T_NULL)
			continue;
		vs = values(s, k, keys->n);
		if (!vs) {
			*oom = true;
			return;
		}
		/* A value already kept, from a record no earlier: nothing changes. */
		for (size_t i = 0; i < vs->n && !known; i++)
			known = view_is(&a->val, vs->v[i]);
		if (known && vs->first && ts > vs->first_ts)
			continue;
		val = view_text(&a->val, QY_VALUE_BYTES, oom);
		if (val)
			value_add(vs, val, ts, oom);
		free(val);
	}
}

int qy_summary_add(struct qy_summary *s, const struct qy_context *ctx, const struct fmt_record *r,
		   uint32_t text_hits)
{
	bool oom = false, level_err = level_failed(r);
	int64_t ts = r->has_ts ? clamp_ts(r) : QY_TS_MAX, end = ts;
	uint16_t depth = qy__depth_of(r);
	struct qy_rank rank = {
		.no_service = !r->service.ptr || r->service.len == 0, .depth = depth, .ts = ts};
	const struct qy_keys *keys = ctx ? ctx->keys : NULL;
	struct qy__picked p;
	long long dur_us;
	int status_err;

	qy__pick(r, keys, &p);
	s->records++;
	if (depth < s->min_depth)
		s->min_depth = depth;
	if (r->event == FMT_EVENT_SPAN && r->has_ts) {
		int64_t d = p.dur_us && qy__attr_int(p.dur_us, &dur_us) && dur_us > 0
				    ? (dur_us < QY_DUR_US_MAX ? dur_us : QY_DUR_US_MAX) * 1000
				    : 0;

		end = ts + d;
		top_offer(s, depth, ts, d);
	}
	if (r->has_ts)
		time_span(s, ts, end);

	/* The spans of the tree tracegrep would build: the trace, the path, the span, its parent. */
	if (span_view(s, &r->trace) < 0 || span_view(s, &r->span) < 0 || span_view(s, &r->parent) < 0)
		oom = true;
	for (uint16_t i = 1; i < r->nids; i++) {
		const struct fmt_str *id = &r->ids[i];

		/* The path's last elements are usually the span and its parent: hashed above. */
		if (same_view(id, &r->span) || same_view(id, &r->parent) || same_view(id, &r->trace))
			continue;
		if (span_view(s, id) < 0)
			oom = true;
	}

	/* Root candidates are decoded only when they may win. */
	if (!s->has_root || qy__cmp_rank(&rank, &s->root) <= 0) {
		char *service = view_text(&r->service, QY_VALUE_BYTES, &oom);
		char *method = view_text(&r->method, QY_VALUE_BYTES, &oom);
		char *path = view_text(&r->path, QY_VALUE_BYTES, &oom);

		if (root_wins(s, &rank, service, method, path)) {
			root_take(s, &rank, service, method, path);
		} else {
			free(service);
			free(method);
			free(path);
		}
	}
	take_service(s, r, &oom);
	take_route(s, r, &oom);

	status_err = take_status(s, p.status, &oom);
	status_err |= qy__http_take(&s->status, p.http_status);
	if (level_err || status_err) {
		char *msg = error_text(r, p.error, &oom);

		s->error = true;
		error_offer(s, level_err ? 0 : 1, ts, msg, &oom);
		free(msg);
	}
	take_values(s, keys, &p, ts, &oom);
	s->text_hits |= text_hits;
	return oom ? -QY_ENOMEM : 0;
}

/* ---- merging ---- */

int qy_summary_merge(struct qy_summary *dst, const struct qy_summary *src, const struct qy_keys *keys)
{
	bool oom = false;

	dst->records += src->records;
	if (src->has_ts)
		time_span(dst, src->first_ns, src->last_ns);
	if (src->min_depth < dst->min_depth)
		dst->min_depth = src->min_depth;
	if (src->has_top)
		top_offer(dst, src->top_depth, src->top_ns, src->top_dur_ns);
	if (src->has_root)
		root_offer(dst, &src->root, src->root_service, src->root_method, src->root_path, &oom);
	for (size_t i = 0; i < src->cspans; i++)
		if (src->spans[i] && span_add(dst, src->spans[i]) < 0)
			oom = true;
	dst->services_truncated |= src->services_truncated;
	for (size_t i = 0; i < src->nservices; i++) {
		char *c = dup_or_null(src->services[i], &oom);

		if (c && set_insert(&dst->services, &dst->nservices, QY_SERVICES_MAX,
				    &dst->services_truncated, c) < 0)
			oom = true;
	}
	dst->routes_truncated |= src->routes_truncated;
	for (size_t i = 0; i < src->nroutes; i++) {
		struct qy_route r = {dup_or_null(src->routes[i].method, &oom),
				     dup_or_null(src->routes[i].path, &oom)};

		if (route_insert(dst, r) < 0)
			oom = true;
	}
	if (src->status > dst->status)
		dst->status = src->status;
	dst->error |= src->error;
	if (src->first_error)
		error_offer(dst, src->err_class, src->err_ts, src->first_error, &oom);
	for (size_t k = 0; keys && k < keys->n; k++) {
		const struct qy_values *sv = qy_summary_values(src, k);
		struct qy_values *dv;

		if (!sv)
			continue;
		dv = values(dst, k, keys->n);
		if (!dv) {
			oom = true;
			break;
		}
		dv->truncated |= sv->truncated;
		for (size_t i = 0; i < sv->n; i++) {
			char *c = dup_or_null(sv->v[i], &oom);

			if (c && set_insert(&dv->v, &dv->n, QY_VALUES_MAX, &dv->truncated, c) < 0)
				oom = true;
		}
		if (!dv->first || sv->first_ts < dv->first_ts ||
		    (sv->first_ts == dv->first_ts && strcmp(sv->first, dv->first) < 0)) {
			char *f = dup_or_null(sv->first, &oom);

			if (f) {
				free(dv->first);
				dv->first = f;
				dv->first_ts = sv->first_ts;
			}
		}
	}
	dst->text_hits |= src->text_hits;
	return oom ? -QY_ENOMEM : 0;
}

/* The top span record stands for the root when no record lies above it. */
static bool top_is_root(const struct qy_summary *s)
{
	return s->has_top && s->top_depth <= s->min_depth;
}

int64_t qy_summary_start(const struct qy_summary *s)
{
	if (top_is_root(s))
		return s->top_ns;
	return s->has_ts ? s->first_ns : 0;
}

int64_t qy_summary_dur(const struct qy_summary *s)
{
	if (top_is_root(s))
		return s->top_dur_ns;
	return s->has_ts ? s->last_ns - s->first_ns : 0;
}
