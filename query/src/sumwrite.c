/*
 * sumwrite.c - the archive's block writer of summaries (query/sumwrite.h).
 *
 * DESIGN: the rules are summary.c's, field by field (qy_summary_add()),
 * kept over other storage: a string a summary keeps is copied once into
 * the block's arena (cut to its cap at a character boundary and at a NUL,
 * as a C string of summary.c would be) and named by its index; a record's
 * string is first compared with those its transaction holds (most are
 * there: nothing is copied, nothing hashed); sets are
 * lists of those indexes in one pool, capped sets being kept exactly by
 * pruning to their smallest members once a list reaches twice its cap
 * (what summary.c keeps after each insertion is the smallest members of
 * all seen, whatever the order, so pruning late gives the same set); the
 * span set is an open-addressing table in the pool. Growing a list or a
 * set moves it to the pool's end (the old room is reclaimed when the
 * block is emptied), so the pool is a bump allocator of 64-bit words and
 * nothing is freed per transaction.
 *
 * Compared with summary.c: no allocation, no copy of a string the
 * transaction has, and strcmp() only when two candidates tie.
 */
#include <stdlib.h>
#include <string.h>

#include "fmt/str.h"
#include "query/sumwrite.h"
#include "summary_int.h"

#define NONE UINT32_MAX /* an absent string */

/* A list of 64-bit words in the pool (ids, id pairs, or a span table of cap slots). */
struct qy_sumw_list {
	uint32_t off, n, cap;
};

struct qy_sumw_str {
	uint32_t off, len; /* bytes at arena + off (NUL after) */
};

struct qy_sumw_vals {
	uint32_t first; /* the earliest record's value, or NONE */
	int64_t first_ts;
	struct qy_sumw_list v; /* distinct values (ids) */
	bool truncated;
};

struct qy_sumw_txn {
	uint32_t trace, tlen; /* in the arena */
	uint64_t records;
	int64_t first_ns, last_ns, top_ns, top_dur_ns, err_ts;
	struct qy_rank root;
	uint32_t root_svc, root_method, root_path, first_error;
	uint32_t vals; /* index of the first of nkeys entries in w->vals, or NONE */
	uint16_t min_depth, top_depth;
	int status;
	uint8_t err_class;
	bool has_ts, has_top, has_root, error, svc_trunc, route_trunc;
	bool trace_span; /* the hash of its ID is in spans (every record adds it: once is enough) */
	struct qy_sumw_list spans, services, routes;
};

void qy_sumw_init(struct qy_sumw *w, const struct qy_keys *keys)
{
	memset(w, 0, sizeof(*w));
	w->keys = keys;
}

void qy_sumw_release(struct qy_sumw *w)
{
	free(w->v);
	free(w->slots);
	free(w->arena);
	free(w->strs);
	free(w->pool);
	free(w->vals);
	free(w->scratch);
	free(w->by_key);
	memset(w, 0, sizeof(*w));
}

void qy_sumw_clear(struct qy_sumw *w)
{
	if (w->n && w->nslots)
		memset(w->slots, 0, w->nslots * sizeof(*w->slots));
	if (w->nkeys_used)
		memset(w->by_key, 0, w->nkeys_used * sizeof(*w->by_key));
	w->n = w->alen = w->nstrs = w->plen = w->nvals = w->nkeys_used = 0;
}

size_t qy_sumw_count(const struct qy_sumw *w)
{
	return w->n;
}

/* ---- memory ---- */

static int grow(void **p, size_t *cap, size_t need, size_t size, size_t first)
{
	size_t c = *cap ? *cap : first;
	void *q;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	if (c > SIZE_MAX / size || !(q = realloc(*p, c * size)))
		return -QY_ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}

/* @n bytes (then a NUL) into the arena; its offset, or NONE when out of memory. */
static uint32_t arena_put(struct qy_sumw *w, const char *s, size_t n)
{
	uint32_t off = (uint32_t)w->alen;

	if (w->alen + n + 1 >= NONE || grow((void **)&w->arena, &w->acap, w->alen + n + 1, 1, 65536) < 0)
		return NONE;
	if (n)
		memcpy(w->arena + w->alen, s, n);
	w->arena[w->alen + n] = '\0';
	w->alen += n + 1;
	return off;
}

/* Room for @n words at the pool's end: its offset, or NONE. */
static uint32_t pool_take(struct qy_sumw *w, size_t n)
{
	uint32_t off = (uint32_t)w->plen;

	if (w->plen + n >= NONE || grow((void **)&w->pool, &w->pcap, w->plen + n, sizeof(*w->pool), 8192) < 0)
		return NONE;
	w->plen += n;
	return off;
}

/* ---- the block's strings ---- */

static const char *str_of(const struct qy_sumw *w, uint32_t id)
{
	return w->arena + w->strs[id].off;
}

/* Compare two strings (or NONE, which comes first), as summary.c's cmp_str(). */
static int cmp_id(const struct qy_sumw *w, uint32_t a, uint32_t b)
{
	if (a == b)
		return 0;
	if (a == NONE || b == NONE)
		return a == NONE ? -1 : 1;
	return strcmp(str_of(w, a), str_of(w, b));
}

/* Whether two strings are equal (NONE equals only NONE). */
static bool same_id(const struct qy_sumw *w, uint32_t a, uint32_t b)
{
	if (a == b)
		return true;
	if (a == NONE || b == NONE || w->strs[a].len != w->strs[b].len)
		return false;
	return qy_bytes_eq(str_of(w, a), str_of(w, b), w->strs[a].len);
}

/* A new string of @n bytes (no NUL among them) in the arena: its id, or NONE when out of memory. */
static uint32_t str_new(struct qy_sumw *w, const char *s, size_t n, bool *oom)
{
	uint32_t off;

	if (w->nstrs + 1 >= NONE ||
	    grow((void **)&w->strs, &w->cstrs, w->nstrs + 1, sizeof(*w->strs), 1024) < 0 ||
	    (off = arena_put(w, s, n)) == NONE) {
		*oom = true;
		return NONE;
	}
	w->strs[w->nstrs] = (struct qy_sumw_str){.off = off, .len = (uint32_t)n};
	return (uint32_t)w->nstrs++;
}

/* The plain bytes of @v: the view's own when raw, else decoded into the scratch buffer. */
static const char *plain(struct qy_sumw *w, const struct fmt_str *v, size_t *n, bool *oom)
{
	if (v->enc == FMT_ENC_RAW) {
		*n = v->len;
		return v->ptr;
	}
	if (grow((void **)&w->scratch, &w->scratch_cap, v->len + 1, 1, 4096) < 0) {
		*oom = true;
		*n = 0;
		return NULL;
	}
	*n = fmt_str_decode(v, w->scratch);
	return w->scratch;
}

/*
 * The text summary.c keeps of @v (its view_text(): NONE when absent or
 * empty; cut to @max bytes at a character boundary, then at a NUL), as a new string.
 */
static uint32_t text(struct qy_sumw *w, const struct fmt_str *v, size_t max, bool *oom)
{
	const char *p;
	size_t n;

	if (!v->ptr || v->len == 0)
		return NONE;
	if (!(p = plain(w, v, &n, oom)))
		return NONE;
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)p[n] & 0xc0) == 0x80)
			n--;
	}
	n = qy_nul_len(p, n);
	return str_new(w, p, n, oom);
}

/* ---- sets ---- */

/* Append @v to list @l (moved to the pool's end when full). */
static void list_push(struct qy_sumw *w, struct qy_sumw_list *l, uint64_t v, bool *oom)
{
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 4, off = pool_take(w, cap);

		if (off == NONE) {
			*oom = true;
			return;
		}
		if (l->n)
			memcpy(w->pool + off, w->pool + l->off, l->n * sizeof(*w->pool));
		l->off = off;
		l->cap = cap;
	}
	w->pool[l->off + l->n++] = v;
}

/* Whether @l holds an entry of the strings of @v (see cmp_entry()). */
static bool list_has(const struct qy_sumw *w, const struct qy_sumw_list *l, uint64_t v, bool route)
{
	const uint64_t *p = w->pool + l->off;

	for (uint32_t i = 0; i < l->n; i++)
		if (same_id(w, (uint32_t)p[i], (uint32_t)v) &&
		    (!route || same_id(w, (uint32_t)(p[i] >> 32), (uint32_t)(v >> 32))))
			return true;
	return false;
}

/* An entry of a list: one string id, or a route's (method id << 32 | path id). */
static int cmp_entry(const struct qy_sumw *w, uint64_t a, uint64_t b, bool route)
{
	int c;

	if (!route)
		return cmp_id(w, (uint32_t)a, (uint32_t)b);
	c = cmp_id(w, (uint32_t)(a >> 32), (uint32_t)(b >> 32));
	return c ? c : cmp_id(w, (uint32_t)a, (uint32_t)b);
}

/* Sort @l as summary.c keeps its sets (insertion sort: lists are at most twice a cap long). */
static void list_sort(const struct qy_sumw *w, struct qy_sumw_list *l, bool route)
{
	uint64_t *p = w->pool + l->off;

	for (uint32_t i = 1; i < l->n; i++) {
		uint64_t v = p[i];
		uint32_t j = i;

		while (j > 0 && cmp_entry(w, p[j - 1], v, route) > 0) {
			p[j] = p[j - 1];
			j--;
		}
		p[j] = v;
	}
}

/* Keep the @cap smallest entries of @l (sorted); *@truncated when some were dropped. */
static void list_cut(const struct qy_sumw *w, struct qy_sumw_list *l, uint32_t cap, bool route,
		     bool *truncated)
{
	list_sort(w, l, route);
	if (l->n > cap) {
		l->n = cap;
		*truncated = true;
	}
}

/* Add @v to the capped set @l unless there (pruned at twice the cap: see DESIGN). */
static void set_add(struct qy_sumw *w, struct qy_sumw_list *l, uint64_t v, uint32_t cap, bool route,
		    bool *truncated, bool *oom)
{
	if (list_has(w, l, v, route))
		return;
	list_push(w, l, v, oom);
	if (l->n >= 2 * cap)
		list_cut(w, l, cap, route, truncated);
}

/* Add span hash @h (0 stands for 1) to @t's span table. */
static void span_add(struct qy_sumw *w, struct qy_sumw_txn *t, uint64_t h, bool *oom)
{
	struct qy_sumw_list *s = &t->spans;
	size_t mask, i;
	uint64_t *p;

	h = h ? h : 1;
	if ((s->n + 1) * 2 > s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 16, off = pool_take(w, cap);

		if (off == NONE) {
			*oom = true;
			return;
		}
		p = w->pool + off;
		memset(p, 0, cap * sizeof(*p));
		for (uint32_t k = 0; k < s->cap; k++) {
			uint64_t v = w->pool[s->off + k];

			if (!v)
				continue;
			for (i = qy__span_slot(v, cap - 1); p[i]; i = (i + 1) & (cap - 1))
				;
			p[i] = v;
		}
		s->off = off;
		s->cap = cap;
	}
	p = w->pool + s->off;
	mask = s->cap - 1;
	for (i = qy__span_slot(h, mask); p[i]; i = (i + 1) & mask)
		if (p[i] == h)
			return;
	p[i] = h;
	s->n++;
}

/* A non-empty ID view into the span table (hashed as decoded, as summary.c's span_view()). */
static void span_view(struct qy_sumw *w, struct qy_sumw_txn *t, const struct fmt_str *v, bool *oom)
{
	const char *p;
	size_t n;

	if (!v->ptr || v->len == 0)
		return;
	if ((p = plain(w, v, &n, oom)))
		span_add(w, t, qy_span_hash(p, n), oom);
}

static bool same_view(const struct fmt_str *a, const struct fmt_str *b)
{
	return a->len == b->len && a->enc == b->enc && (a->len == 0 || qy_bytes_eq(a->ptr, b->ptr, a->len));
}

/*
 * Whether @v is the string @id: a raw view no longer than its cap
 * compares as is (a kept string has no NUL, so equal bytes mean the view
 * has none either and is kept whole).
 */
static bool view_is_id(const struct qy_sumw *w, const struct fmt_str *v, uint32_t id)
{
	if (id == NONE)
		return !v->ptr || v->len == 0;
	/* an empty view is an absent value, never a string (not even one cut to "" at a NUL byte) */
	return v->ptr && v->len && v->len == w->strs[id].len && qy_bytes_eq(v->ptr, str_of(w, id), v->len);
}

/* Views that view_is_id() decides (else text() must be asked). */
static bool simple_view(const struct fmt_str *v)
{
	return !v->ptr || v->len == 0 || (v->enc == FMT_ENC_RAW && v->len <= QY_VALUE_BYTES);
}

/*
 * text(@v, QY_VALUE_BYTES), found among the strings of set @l first
 * (*@found), as a record usually names a string its transaction already
 * has: no copy then.
 */
static uint32_t member_text(struct qy_sumw *w, const struct qy_sumw_list *l, const struct fmt_str *v,
			    bool *found, bool *oom)
{
	*found = false;
	if (!v->ptr || v->len == 0)
		return NONE;
	if (simple_view(v))
		for (uint32_t i = 0; i < l->n; i++)
			if (view_is_id(w, v, (uint32_t)w->pool[l->off + i])) {
				*found = true;
				return (uint32_t)w->pool[l->off + i];
			}
	return text(w, v, QY_VALUE_BYTES, oom);
}

/* The route (method id << 32 | path id) of @m and @p, found among the routes @l first (*@found). */
static uint64_t member_route(struct qy_sumw *w, const struct qy_sumw_list *l, const struct fmt_str *m,
			     const struct fmt_str *p, bool *found, bool *oom)
{
	uint32_t mid, pid;

	*found = false;
	if (simple_view(m) && simple_view(p))
		for (uint32_t i = 0; i < l->n; i++) {
			uint64_t r = w->pool[l->off + i];

			if (view_is_id(w, p, (uint32_t)r) && view_is_id(w, m, (uint32_t)(r >> 32))) {
				*found = true;
				return r;
			}
		}
	mid = text(w, m, QY_VALUE_BYTES, oom);
	pid = text(w, p, QY_VALUE_BYTES, oom);
	return (uint64_t)mid << 32 | pid;
}

/* ---- transactions ---- */

static int rehash_txns(struct qy_sumw *w)
{
	size_t n = w->nslots ? w->nslots * 2 : 8192;
	uint64_t *slots = calloc(n, sizeof(*slots));

	if (!slots)
		return -QY_ENOMEM;
	for (size_t k = 0; k < w->n; k++) {
		uint64_t h = qy_span_hash(w->arena + w->v[k].trace, w->v[k].tlen);
		size_t i = h & (n - 1);

		while (slots[i])
			i = (i + 1) & (n - 1);
		slots[i] = qy__slot_val(k, h);
	}
	free(w->slots);
	w->slots = slots;
	w->nslots = n;
	return 0;
}

/* The transaction of trace @id (@len bytes, hashed *@hp), made when new; NULL when out of memory. */
static struct qy_sumw_txn *txn_of(struct qy_sumw *w, const char *id, size_t len, uint64_t *hp)
{
	uint64_t h = *hp = qy_span_hash(id, len);
	struct qy_sumw_txn *t;
	uint32_t off;
	size_t i;

	if ((w->n + 1) * 2 >= w->nslots && rehash_txns(w) < 0)
		return NULL;
	for (i = h & (w->nslots - 1); w->slots[i]; i = (i + 1) & (w->nslots - 1)) {
		uint64_t v = w->slots[i];

		if ((v ^ h) >> 32)
			continue;
		t = &w->v[(uint32_t)v - 1];
		if (t->tlen == len && qy_bytes_eq(w->arena + t->trace, id, len))
			return t;
	}
	if (w->n + 1 >= NONE || grow((void **)&w->v, &w->cap, w->n + 1, sizeof(*w->v), 1024) < 0 ||
	    (off = arena_put(w, id, len)) == NONE)
		return NULL;
	t = &w->v[w->n];
	memset(t, 0, sizeof(*t));
	t->trace = off;
	t->tlen = (uint32_t)len;
	t->root_svc = t->root_method = t->root_path = t->first_error = t->vals = NONE;
	t->min_depth = UINT16_MAX;
	t->err_class = 2;
	t->err_ts = QY_TS_MAX;
	w->slots[i] = qy__slot_val(w->n, h);
	w->n++;
	return t;
}

/* As summary.c's top_offer(). */
static void top_offer(struct qy_sumw_txn *t, uint16_t depth, int64_t ts, int64_t dur)
{
	if (t->has_top && (depth > t->top_depth || (depth == t->top_depth && ts > t->top_ns) ||
			   (depth == t->top_depth && ts == t->top_ns && dur <= t->top_dur_ns)))
		return;
	t->has_top = true;
	t->top_depth = depth;
	t->top_ns = ts;
	t->top_dur_ns = dur;
}

/* As summary.c's take_status(): worst HTTP status; Return: 1 when the status is an error. */
static int take_status(struct qy_sumw *w, struct qy_sumw_txn *t, const struct fmt_attr *a, bool *oom)
{
	char st[65];
	const char *p;
	long long code;
	size_t n;

	if (!a)
		return 0;
	if (qy__attr_int(a, &code)) {
		if (code >= 100 && code <= 999 && code > t->status)
			t->status = (int)code;
		return code >= 500;
	}
	if (a->type != FMT_T_STRING || !a->val.ptr || a->val.len == 0 || !(p = plain(w, &a->val, &n, oom)))
		return 0;
	if (n > 64) {
		n = 64;
		while (n > 0 && ((unsigned char)p[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(st, p, n);
	st[n] = '\0';
	return qy_status_failed(st);
}

/* As summary.c's error_offer(): the earliest error gives first_error. */
static void error_offer(const struct qy_sumw *w, struct qy_sumw_txn *t, uint8_t cls, int64_t ts, uint32_t msg)
{
	if (msg == NONE)
		return;
	if (t->first_error != NONE &&
	    (cls > t->err_class || (cls == t->err_class && ts > t->err_ts) ||
	     (cls == t->err_class && ts == t->err_ts && cmp_id(w, msg, t->first_error) >= 0)))
		return;
	t->first_error = msg;
	t->err_class = cls;
	t->err_ts = ts;
}

/* As summary.c's take_values(). */
static void take_values(struct qy_sumw *w, struct qy_sumw_txn *t, const struct qy__picked *p, int64_t ts,
			bool *oom)
{
	size_t nk = w->keys ? w->keys->n : 0;

	for (size_t k = 0; k < nk; k++) {
		const struct fmt_attr *a = p->keys[k];
		struct qy_sumw_vals *vs;
		uint32_t id;
		bool found;

		if (!a || a->type == FMT_T_NULL)
			continue;
		if (t->vals == NONE) { /* made on first use, as summary.c's attrs */
			if (w->nvals + nk >= NONE ||
			    grow((void **)&w->vals, &w->cvals, w->nvals + nk, sizeof(*w->vals), 256) < 0) {
				*oom = true;
				return;
			}
			for (size_t j = 0; j < nk; j++)
				w->vals[w->nvals + j] = (struct qy_sumw_vals){.first = NONE};
			t->vals = (uint32_t)w->nvals;
			w->nvals += nk;
		}
		vs = &w->vals[t->vals + k];
		if ((id = member_text(w, &vs->v, &a->val, &found, oom)) == NONE)
			continue;
		if (found && vs->first != NONE && ts > vs->first_ts)
			continue; /* a value kept, from a record no earlier: nothing changes */
		if (vs->first == NONE || ts < vs->first_ts ||
		    (ts == vs->first_ts && cmp_id(w, id, vs->first) < 0)) {
			vs->first = id;
			vs->first_ts = ts;
		}
		set_add(w, &vs->v, id, QY_VALUES_MAX, false, &vs->truncated, oom);
	}
}

int qy_sumw_add(struct qy_sumw *w, const struct fmt_record *r)
{
	return qy_sumw_add_key(w, r, QY_SUMW_NO_KEY);
}

/*
 * The transaction of @key (NULL: not known yet). by_key grows to the
 * largest key seen, so it is at most a chunk's trace count long.
 */
static struct qy_sumw_txn *txn_by_key(struct qy_sumw *w, uint32_t key)
{
	return key < w->nkeys_used && w->by_key[key] ? &w->v[w->by_key[key] - 1] : NULL;
}

/* Remember @t as @key's transaction (a key past 2^24, or no memory: not remembered, found by hash). */
static void key_remember(struct qy_sumw *w, uint32_t key, const struct qy_sumw_txn *t)
{
	if (key >= (1u << 24))
		return;
	if (key >= w->nkeys_used) {
		if (grow((void **)&w->by_key, &w->by_key_cap, (size_t)key + 1, sizeof(*w->by_key), 1024) < 0)
			return;
		memset(w->by_key + w->nkeys_used, 0, ((size_t)key + 1 - w->nkeys_used) * sizeof(*w->by_key));
		w->nkeys_used = (size_t)key + 1;
	}
	w->by_key[key] = (uint32_t)(t - w->v) + 1;
}

int qy_sumw_add_key(struct qy_sumw *w, const struct fmt_record *r, uint32_t key)
{
	bool oom = false, level_err = r->level == FMT_LEVEL_ERROR || r->level == FMT_LEVEL_FATAL;
	int64_t ts, end;
	uint32_t svc, method, path;
	uint64_t route;
	bool svc_known, route_known;
	struct qy_sumw_txn *t;
	struct qy_rank rank;
	struct qy__picked p;
	const char *id;
	long long dur_us;
	int status_err;
	uint16_t depth;
	uint64_t th;
	size_t len;

	if (!r->trace.ptr || r->trace.len == 0)
		return 0;
	if (!(id = plain(w, &r->trace, &len, &oom)))
		return -QY_ENOMEM;
	/* A trace is a C string: one decoded from \u0000 ends there (as qy_txns_add()). */
	len = qy_nul_len(id, len);
	if (!len)
		return 0;
	if ((t = txn_by_key(w, key))) {
		th = 0; /* hashed below only when its span is not in yet */
	} else {
		if (!(t = txn_of(w, id, len, &th)))
			return -QY_ENOMEM;
		if (key != QY_SUMW_NO_KEY)
			key_remember(w, key, t);
	}

	ts = !r->has_ts ? QY_TS_MAX : r->ts_ns < 0 ? 0 : r->ts_ns > QY_TS_MAX ? QY_TS_MAX : r->ts_ns;
	end = ts;
	depth = qy__depth_of(r);
	rank = (struct qy_rank){
		.no_service = !r->service.ptr || r->service.len == 0, .depth = depth, .ts = ts};
	qy__pick(r, w->keys, &p);
	t->records++;
	if (depth < t->min_depth)
		t->min_depth = depth;
	if (r->event == FMT_EVENT_SPAN && r->has_ts) {
		int64_t d = p.dur_us && qy__attr_int(p.dur_us, &dur_us) && dur_us > 0
				    ? (dur_us < QY_DUR_US_MAX ? dur_us : QY_DUR_US_MAX) * 1000
				    : 0;

		end = ts + d;
		top_offer(t, depth, ts, d);
	}
	if (r->has_ts) {
		if (!t->has_ts || ts < t->first_ns)
			t->first_ns = ts;
		if (!t->has_ts || end > t->last_ns)
			t->last_ns = end;
		t->has_ts = true;
	}

	/* The spans of the tree tracegrep would build: the trace, the path, the span, its parent. */
	if (r->trace.enc == FMT_ENC_RAW && len == r->trace.len) {
		/* the trace's span: the transaction's ID itself, the same for all its records */
		if (!t->trace_span) {
			span_add(w, t, th ? th : qy_span_hash(id, len), &oom);
			t->trace_span = true;
		}
	} else {
		span_view(w, t, &r->trace, &oom);
	}
	span_view(w, t, &r->span, &oom);
	span_view(w, t, &r->parent, &oom);
	for (uint16_t i = 1; i < r->nids; i++) {
		const struct fmt_str *v = &r->ids[i];

		if (same_view(v, &r->span) || same_view(v, &r->parent) || same_view(v, &r->trace))
			continue;
		span_view(w, t, v, &oom);
	}

	svc = member_text(w, &t->services, &r->service, &svc_known, &oom);
	route = member_route(w, &t->routes, &r->method, &r->path, &route_known, &oom);
	method = (uint32_t)(route >> 32);
	path = (uint32_t)route;
	if (!t->has_root || qy__cmp_rank(&rank, &t->root) <= 0) {
		int c = t->has_root ? qy__cmp_rank(&rank, &t->root) : -1;

		if (c == 0 && !(c = cmp_id(w, svc, t->root_svc)) && !(c = cmp_id(w, method, t->root_method)))
			c = cmp_id(w, path, t->root_path);
		if (c < 0) {
			t->root = rank;
			t->root_svc = svc;
			t->root_method = method;
			t->root_path = path;
			t->has_root = true;
		}
	}
	if (svc != NONE && !svc_known)
		set_add(w, &t->services, svc, QY_SERVICES_MAX, false, &t->svc_trunc, &oom);
	if (route != ((uint64_t)NONE << 32 | NONE) && !route_known)
		set_add(w, &t->routes, route, QY_ROUTES_MAX, true, &t->route_trunc, &oom);

	status_err = take_status(w, t, p.status, &oom);
	status_err |= qy__http_take(&t->status, p.http_status);
	if (status_err || level_err) {
		const struct fmt_str *msg = r->message.ptr && r->message.len ? &r->message
					    : p.error			     ? &p.error->val
									     : NULL;
		uint8_t cls = level_err ? 0 : 1;

		t->error = true;
		/* the message is copied only when it may become the first error */
		if (msg && (t->first_error == NONE || cls < t->err_class ||
			    (cls == t->err_class && ts <= t->err_ts)))
			error_offer(w, t, cls, ts, text(w, msg, QY_MESSAGE_BYTES, &oom));
	}
	take_values(w, t, &p, ts, &oom);
	return oom ? -QY_ENOMEM : 0;
}

/* ---- encoding (codec.c's layout, formats/archive.md "A summary") ---- */

/* An opt str: the string @id, or absent (room made before). */
static void put_id(struct qy_bytes *b, const struct qy_sumw *w, uint32_t id)
{
	qy__put_str(b, id == NONE ? NULL : str_of(w, id), id == NONE ? 0 : w->strs[id].len);
}

/* Bytes of an opt str, or of the ids of list @l. */
static size_t id_bytes(const struct qy_sumw *w, uint32_t id)
{
	return 4 + (id == NONE ? 0 : w->strs[id].len);
}

static size_t list_bytes(const struct qy_sumw *w, const struct qy_sumw_list *l, bool route)
{
	size_t n = 4;

	for (uint32_t i = 0; i < l->n; i++) {
		uint64_t v = w->pool[l->off + i];

		n += id_bytes(w, (uint32_t)v) + (route ? id_bytes(w, (uint32_t)(v >> 32)) : 0);
	}
	return n;
}

static int encode_txn(struct qy_sumw *w, struct qy_sumw_txn *t, struct qy_bytes *b)
{
	size_t nk = w->keys ? w->keys->n : 0, need;
	const uint64_t *p;
	uint8_t flags;

	list_cut(w, &t->services, QY_SERVICES_MAX, false, &t->svc_trunc);
	list_cut(w, &t->routes, QY_ROUTES_MAX, true, &t->route_trunc);
	flags = (uint8_t)(t->has_ts | t->has_top << 1 | t->has_root << 2 | t->svc_trunc << 3 |
			  t->route_trunc << 4 | t->error << 5);
	/* the whole summary's size first: one check of the room, then plain stores */
	need = 4 + t->tlen + 8 + 1 + 8 * 4 + 2 * 2 + 1 + 2 + 8 + id_bytes(w, t->root_svc) +
	       id_bytes(w, t->root_method) + id_bytes(w, t->root_path) + 4 + 8 * (size_t)t->spans.n +
	       list_bytes(w, &t->services, false) + list_bytes(w, &t->routes, true) + 2 +
	       id_bytes(w, t->first_error) + 1 + 8 + 4;
	for (size_t k = 0; t->vals != NONE && k < nk; k++) {
		struct qy_sumw_vals *v = &w->vals[t->vals + k];

		list_cut(w, &v->v, QY_VALUES_MAX, false, &v->truncated);
		need += id_bytes(w, v->first) + 8 + 1 + list_bytes(w, &v->v, false);
	}
	if (qy__bytes_room(b, need) < 0)
		return -QY_ENOMEM;
	qy__put_str(b, w->arena + t->trace, t->tlen);
	qy__put(b, t->records, 8);
	qy__put(b, flags, 1);
	qy__put(b, (uint64_t)t->first_ns, 8);
	qy__put(b, (uint64_t)t->last_ns, 8);
	qy__put(b, t->min_depth, 2);
	qy__put(b, t->top_depth, 2);
	qy__put(b, (uint64_t)t->top_ns, 8);
	qy__put(b, (uint64_t)t->top_dur_ns, 8);
	qy__put(b, t->root.no_service, 1);
	qy__put(b, t->root.depth, 2);
	qy__put(b, (uint64_t)t->root.ts, 8);
	put_id(b, w, t->root_svc);
	put_id(b, w, t->root_method);
	put_id(b, w, t->root_path);
	qy__put(b, t->spans.n, 4);
	p = w->pool + t->spans.off;
	for (uint32_t i = 0; i < t->spans.cap; i++)
		if (p[i])
			qy__put(b, p[i], 8);
	qy__put(b, t->services.n, 4);
	p = w->pool + t->services.off;
	for (uint32_t i = 0; i < t->services.n; i++)
		put_id(b, w, (uint32_t)p[i]);
	qy__put(b, t->routes.n, 4);
	p = w->pool + t->routes.off;
	for (uint32_t i = 0; i < t->routes.n; i++) {
		put_id(b, w, (uint32_t)(p[i] >> 32));
		put_id(b, w, (uint32_t)p[i]);
	}
	qy__put(b, (uint64_t)t->status, 2);
	put_id(b, w, t->first_error);
	qy__put(b, t->err_class, 1);
	qy__put(b, (uint64_t)t->err_ts, 8);
	qy__put(b, t->vals != NONE ? nk : 0, 4);
	for (size_t k = 0; t->vals != NONE && k < nk; k++) {
		const struct qy_sumw_vals *v = &w->vals[t->vals + k];

		put_id(b, w, v->first);
		qy__put(b, (uint64_t)v->first_ts, 8);
		qy__put(b, v->truncated, 1);
		qy__put(b, v->v.n, 4);
		p = w->pool + v->v.off;
		for (uint32_t i = 0; i < v->v.n; i++)
			put_id(b, w, (uint32_t)p[i]);
	}
	return 0;
}

int qy_sumw_encode(struct qy_sumw *w, struct qy_bytes *b)
{
	for (size_t k = 0; k < w->n; k++)
		if (encode_txn(w, &w->v[k], b) < 0)
			return -QY_ENOMEM;
	return 0;
}
