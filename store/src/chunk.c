/*
 * store/src/chunk.c - a batch of packed records and its index.
 *
 * DESIGN: records are packed straight into the chunk's buffer (no staging
 * copy); the buffer grows by doubling up to CD_CHUNK_BYTES_MAX and is kept
 * across chunk_clear(), so a pipeline that reuses chunks stops allocating
 * after warm-up. The distinct trace IDs and services are two small
 * open-addressing hash sets (linear probing, load <= 1/2, qy_span_hash()) over a
 * byte arena holding each distinct value once: a record whose trace is
 * already known costs one hash and one memcmp, no allocation. A slot holds
 * the value's hash beside its index (probing reads slots only). Sources are
 * a short array scanned linearly (CD_CHUNK_SOURCES_MAX). Order: records
 * stay in append order; trace and service lists in order of first sight.
 * A failed append leaves the chunk exactly as it was.
 *
 * A chunk may also carry the encoded summaries of its transactions
 * (chunk_take_summaries()), made by whoever appended the records from the
 * records it had parsed, so that the archive does not decode the payload
 * again to summarise it; a chunk without them (rebuilt by the spool, or
 * from a pipeline that summarises nothing) is summarised from its payload.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <store/buf.h>
#include <store/chunk.h>
#include <store/hooks.h>
#include <store/limits.h>
#include <store/err.h>
#include "query/summary.h"
#include "query/sumwrite.h"

/* One distinct value of a set. */
struct strset_ent {
	uint32_t off;  /* in the set's arena */
	uint32_t len;  /* bytes */
	uint32_t hash; /* qy_span_hash(), folded to 32 bits */
};

/* A set of byte strings, insertion-ordered. */
struct strset {
	uint32_t last;		 /* 1 + index of the value added or found last, 0 = none */
	uint64_t *slots;	 /* slot_of(hash, index), 0 = empty; nslots is a power of two */
	uint32_t nslots;	 /* slot count */
	struct strset_ent *ents; /* the values, in order of insertion */
	uint32_t n;		 /* values used */
	uint32_t ents_cap;	 /* values allocated */
	char *arena;		 /* the bytes of the values */
	size_t arena_len;	 /* bytes used */
	size_t arena_cap;	 /* bytes allocated */
};

struct chunk {
	uint64_t seq;		/* sequence number */
	int64_t opened_ns;	/* when chunk_new()/chunk_clear() was told it opened */
	struct buf data;	/* packed records; cap <= CD_CHUNK_BYTES_MAX */
	uint32_t nrecords;	/* records in buf */
	bool has_ts;		/* some record has a timestamp */
	int64_t ts_min;		/* smallest timestamp, when has_ts */
	int64_t ts_max;		/* largest timestamp, when has_ts */
	struct strset traces;	/* distinct trace IDs */
	struct strset services; /* distinct services */
	struct chunk_source sources[CD_CHUNK_SOURCES_MAX]; /* input positions */
	uint32_t nsources;				   /* entries used in sources */
	struct qy_bytes sums;		/* the records' summaries, encoded (qy_sumw_encode()) */
	uint32_t nsums;			/* summaries in sums */
	uint32_t last_trace;		/* index of the last appended record's trace, UINT32_MAX: none */
	const struct qy_keys *sum_keys; /* the keys they were made with; NULL: the chunk carries none */
};

/* query's byte-string hash (8 bytes a step), folded: one hash function for every set of IDs. */
static uint32_t hash_bytes(const char *s, size_t n)
{
	const uint64_t h = qy_span_hash(s, n);

	return (uint32_t)(h ^ (h >> 32));
}

static void strset_release(struct strset *s)
{
	chunk__free(s->slots);
	chunk__free(s->ents);
	chunk__free(s->arena);
	memset(s, 0, sizeof(*s));
}

/* Whether a[0..n) == b[0..n) (query's inline compare: most values are 8 to 32 bytes). */
static inline bool bytes_eq(const char *a, const char *b, size_t n)
{
	return qy_bytes_eq(a, b, n);
}

/*
 * A slot holds a value's hash beside its index, so probing past other
 * values compares slots only: the entries and the arena are read once, for
 * the value that matches (a chunk's trace set outgrows the first-level cache).
 */
static inline uint64_t slot_of(uint32_t hash, uint32_t idx)
{
	return (uint64_t)hash << 32 | (idx + 1);
}

static inline uint32_t slot_idx(uint64_t slot)
{
	return (uint32_t)slot - 1;
}

/* An entry's bytes: "" for an empty one (the arena may not exist yet: NULL + 0 is undefined). */
static inline const char *ent_bytes(const struct strset *s, const struct strset_ent *e)
{
	return e->len ? s->arena + e->off : "";
}

static void strset_clear(struct strset *s)
{
	s->last = 0;
	if (s->slots && s->n)
		memset(s->slots, 0, s->nslots * sizeof(s->slots[0]));
	s->n = 0;
	s->arena_len = 0;
}

static int strset_grow_slots(struct strset *s)
{
	uint32_t nslots = s->nslots ? s->nslots * 2 : 64;
	uint64_t *slots = chunk__malloc(nslots * sizeof(*slots));

	if (!slots)
		return -CD_ENOMEM;
	memset(slots, 0, nslots * sizeof(*slots));
	for (uint32_t i = 0; i < s->n; i++) {
		uint32_t at = s->ents[i].hash & (nslots - 1);
		while (slots[at])
			at = (at + 1) & (nslots - 1);
		slots[at] = slot_of(s->ents[i].hash, i);
	}
	chunk__free(s->slots);
	s->slots = slots;
	s->nslots = nslots;
	return 0;
}

/* Add @s unless present. Return: 0 (added or present), -CD_ENOMEM (unchanged). */
static int strset_add(struct strset *s, const char *str, uint32_t len)
{
	uint32_t h, at;
	uint64_t want;

	/* a run of records of one service (or trace) costs a compare, not a hash */
	if (s->last) {
		const struct strset_ent *e = &s->ents[s->last - 1];
		if (e->len == len && bytes_eq(ent_bytes(s, e), str, len))
			return 0;
	}
	h = hash_bytes(str, len);
	want = (uint64_t)h << 32;
	if (s->nslots) {
		for (at = h & (s->nslots - 1); s->slots[at]; at = (at + 1) & (s->nslots - 1)) {
			const struct strset_ent *e;
			if ((s->slots[at] & ~(uint64_t)UINT32_MAX) != want)
				continue;
			e = &s->ents[slot_idx(s->slots[at])];
			if (e->len == len && bytes_eq(ent_bytes(s, e), str, len)) {
				s->last = slot_idx(s->slots[at]) + 1;
				return 0;
			}
		}
	}
	/* make every room first, so that a failure changes nothing */
	if ((s->n + 1) * 2 > s->nslots && strset_grow_slots(s) < 0)
		return -CD_ENOMEM;
	if (s->n == s->ents_cap) {
		uint32_t cap = s->ents_cap ? s->ents_cap * 2 : 32;
		struct strset_ent *ents = chunk__realloc(s->ents, cap * sizeof(*ents));
		if (!ents)
			return -CD_ENOMEM;
		s->ents = ents;
		s->ents_cap = cap;
	}
	if (s->arena_len + len > s->arena_cap) {
		size_t cap = s->arena_cap ? s->arena_cap * 2 : 1024;
		char *arena;
		while (cap < s->arena_len + len)
			cap *= 2;
		arena = chunk__realloc(s->arena, cap);
		if (!arena)
			return -CD_ENOMEM;
		s->arena = arena;
		s->arena_cap = cap;
	}
	if (len)
		memcpy(s->arena + s->arena_len, str, len);
	s->ents[s->n] = (struct strset_ent){.off = (uint32_t)s->arena_len, .len = len, .hash = h};
	for (at = h & (s->nslots - 1); s->slots[at]; at = (at + 1) & (s->nslots - 1))
		;
	s->slots[at] = slot_of(h, s->n);
	s->last = ++s->n;
	s->arena_len += len;
	return 0;
}

/* Remove the value added last (undoing a strset_add() whose record failed). */
static void strset_pop(struct strset *s)
{
	uint32_t at;

	assert(s->n > 0);
	for (at = s->ents[s->n - 1].hash & (s->nslots - 1); slot_idx(s->slots[at]) != s->n - 1;
	     at = (at + 1) & (s->nslots - 1))
		;
	/* linear probing: re-insert the cluster after the hole */
	s->slots[at] = 0;
	s->arena_len = s->ents[s->n - 1].off;
	s->n--;
	s->last = 0;
	for (at = (at + 1) & (s->nslots - 1); s->slots[at]; at = (at + 1) & (s->nslots - 1)) {
		uint64_t slot = s->slots[at];
		uint32_t to;
		s->slots[at] = 0;
		for (to = (uint32_t)(slot >> 32) & (s->nslots - 1); s->slots[to];
		     to = (to + 1) & (s->nslots - 1))
			;
		s->slots[to] = slot;
	}
}

int chunk_new(struct chunk **out, uint64_t seq, int64_t now_ns)
{
	struct chunk *c = chunk__malloc(sizeof(*c));

	if (!c)
		return -CD_ENOMEM;
	memset(c, 0, sizeof(*c));
	c->seq = seq;
	c->opened_ns = now_ns;
	*out = c;
	return 0;
}

void chunk_free(struct chunk *c)
{
	if (!c)
		return;
	strset_release(&c->traces);
	strset_release(&c->services);
	buf_release(&c->data);
	free(c->sums.p);
	chunk__free(c);
}

void chunk_clear(struct chunk *c, uint64_t seq, int64_t now_ns)
{
	c->seq = seq;
	c->opened_ns = now_ns;
	c->data.len = 0;
	c->nrecords = 0;
	c->has_ts = false;
	c->ts_min = c->ts_max = 0;
	strset_clear(&c->traces);
	strset_clear(&c->services);
	c->nsources = 0;
	c->sums.len = 0;
	c->nsums = 0;
	c->sum_keys = NULL;
}

static int reserve(struct chunk *c, size_t want)
{
	size_t cap = c->data.cap ? c->data.cap : 4096;

	if (want > CD_CHUNK_BYTES_MAX)
		want = CD_CHUNK_BYTES_MAX;
	if (want <= c->data.cap)
		return 0;
	while (cap < want)
		cap *= 2;
	/*
	 * Past 64 KiB go straight to the cap: a buffer that large is mmap'd, so
	 * its untouched pages cost nothing, while doubling would copy (and
	 * fault in) 1 MiB more for every chunk filled.
	 */
	if (cap > 64 * 1024)
		cap = CD_CHUNK_BYTES_MAX;
	if (cap > CD_CHUNK_BYTES_MAX)
		cap = CD_CHUNK_BYTES_MAX;
	return buf_reserve(&c->data, cap);
}

static struct chunk_source *find_source(struct chunk *c, uint32_t input)
{
	for (uint32_t i = 0; i < c->nsources; i++)
		if (c->sources[i].input == input)
			return &c->sources[i];
	return NULL;
}

int chunk_append(struct chunk *c, const struct fmt_record *r, const struct record_src *src, uint32_t input,
		 uint64_t end_offset)
{
	struct chunk_source *source = NULL;
	struct record_keys keys;
	size_t bound, len;
	bool added_trace = false;
	int rc;

	if (c->nrecords >= CD_CHUNK_RECORDS_MAX)
		return -CD_EFULL;
	if (input != CHUNK_NO_INPUT) {
		source = find_source(c, input);
		if (!source && c->nsources == CD_CHUNK_SOURCES_MAX)
			return -CD_EFULL;
	}
	/*
	 * Pack into the room there is, and size the buffer only when that fails:
	 * past its first 64 KiB the buffer is at its cap, so the bound (a walk of
	 * every view) would be summed for nothing on almost every record.
	 */
	rc = c->data.cap
		     ? record_pack(r, src, c->data.p + c->data.len, c->data.cap - c->data.len, &len, &keys)
		     : -CD_EFULL;
	if (rc == -CD_EFULL && c->data.cap < CD_CHUNK_BYTES_MAX) {
		bound = record_pack_bound(r, src);
		rc = reserve(c, c->data.len + bound);
		if (rc < 0)
			return rc;
		rc = record_pack(r, src, c->data.p + c->data.len, c->data.cap - c->data.len, &len, &keys);
	}
	if (rc == -CD_EFULL && c->data.cap < CD_CHUNK_BYTES_MAX) {
		/* the bound is loose; the record may still fit the largest buffer */
		rc = reserve(c, CD_CHUNK_BYTES_MAX);
		if (rc < 0)
			return rc;
		rc = record_pack(r, src, c->data.p + c->data.len, c->data.cap - c->data.len, &len, &keys);
	}
	if (rc == -CD_EFULL)
		return c->nrecords == 0 ? -CD_ELIMIT : -CD_EFULL;
	if (rc < 0)
		return rc;

	/* index the record; the packed bytes only count once this succeeds */
	if (keys.trace) {
		uint32_t before = c->traces.n;
		rc = strset_add(&c->traces, (const char *)keys.trace, keys.trace_len);
		if (rc < 0)
			return rc;
		added_trace = c->traces.n != before;
	}
	if (keys.service) {
		rc = strset_add(&c->services, (const char *)keys.service, keys.service_len);
		if (rc < 0) {
			if (added_trace)
				strset_pop(&c->traces);
			return rc;
		}
	}
	c->data.len += len;
	c->nrecords++;
	c->last_trace = keys.trace ? c->traces.last - 1 : UINT32_MAX;
	if (r && !(src && src->raw) && r->has_ts) {
		if (!c->has_ts || r->ts_ns < c->ts_min)
			c->ts_min = r->ts_ns;
		if (!c->has_ts || r->ts_ns > c->ts_max)
			c->ts_max = r->ts_ns;
		c->has_ts = true;
	}
	if (input != CHUNK_NO_INPUT) {
		if (!source) {
			source = &c->sources[c->nsources++];
			source->input = input;
		}
		source->end_offset = end_offset;
	}
	return 0;
}

bool chunk_is_full(const struct chunk *c)
{
	return c->nrecords >= CD_CHUNK_RECORDS_MAX;
}

bool chunk_is_due(const struct chunk *c, int64_t now_ns)
{
	if (chunk_is_full(c))
		return true;
	return c->nrecords > 0 && now_ns - c->opened_ns >= (int64_t)CD_CHUNK_AGE_MS * 1000000;
}

uint64_t chunk_seq(const struct chunk *c)
{
	return c->seq;
}

int64_t chunk_opened_ns(const struct chunk *c)
{
	return c->opened_ns;
}

uint32_t chunk_nrecords(const struct chunk *c)
{
	return c->nrecords;
}

const uint8_t *chunk_data_ref(const struct chunk *c, size_t *len)
{
	*len = c->data.len;
	return c->data.p;
}

bool chunk_ts_range(const struct chunk *c, int64_t *min_ns, int64_t *max_ns)
{
	*min_ns = c->ts_min;
	*max_ns = c->ts_max;
	return c->has_ts;
}

uint32_t chunk_ntraces(const struct chunk *c)
{
	return c->traces.n;
}

const char *chunk_trace_ref(const struct chunk *c, uint32_t i, uint32_t *len)
{
	assert(i < c->traces.n);
	*len = c->traces.ents[i].len;
	return ent_bytes(&c->traces, &c->traces.ents[i]);
}

uint32_t chunk_nservices(const struct chunk *c)
{
	return c->services.n;
}

const char *chunk_service_ref(const struct chunk *c, uint32_t i, uint32_t *len)
{
	assert(i < c->services.n);
	*len = c->services.ents[i].len;
	return ent_bytes(&c->services, &c->services.ents[i]);
}

uint32_t chunk_nsources(const struct chunk *c)
{
	return c->nsources;
}

struct chunk_source chunk_source(const struct chunk *c, uint32_t i)
{
	assert(i < c->nsources);
	return c->sources[i];
}

void chunk_iter_init(struct chunk_iter *it, const struct chunk *c)
{
	chunk_iter_init_bytes(it, c->data.p, c->data.len);
}

void chunk_iter_init_bytes(struct chunk_iter *it, const uint8_t *buf, size_t len)
{
	it->p = buf;
	it->end = buf ? buf + len : buf;
}

int chunk_iter_next(struct chunk_iter *it, struct fmt_record *r, struct record_src *src)
{
	size_t used;
	int rc;

	if (it->p == it->end)
		return 0;
	rc = record_unpack(it->p, (size_t)(it->end - it->p), &used, r, src);
	if (rc < 0) {
		it->p = it->end;
		return rc;
	}
	it->p += used;
	return 1;
}

int chunk_take_summaries(struct chunk *c, struct qy_sumw *w)
{
	size_t n = qy_sumw_count(w);
	int rc = 0;

	c->sums.len = 0;
	c->nsums = 0;
	c->sum_keys = NULL;
	if (n > UINT32_MAX || qy_sumw_encode(w, &c->sums) < 0) {
		rc = -CD_ENOMEM;
	} else if (c->sums.len <= CD_CHUNK_SUMS_BYTES_MAX) {
		c->sum_keys = w->keys;
		c->nsums = (uint32_t)n;
	}
	qy_sumw_clear(w);
	/* the buffer is kept for the next chunk, but not past the cap's worth */
	if (c->sums.cap > CD_CHUNK_SUMS_BYTES_MAX) {
		free(c->sums.p);
		c->sums = (struct qy_bytes){0};
		c->sum_keys = NULL;
		c->nsums = 0;
	}
	return rc;
}

uint32_t chunk_last_trace(const struct chunk *c)
{
	return c->nrecords ? c->last_trace : UINT32_MAX;
}

const uint8_t *chunk_summaries_ref(const struct chunk *c, size_t *len, uint32_t *n,
				   const struct qy_keys **keys)
{
	*len = c->sums.len;
	*n = c->nsums;
	*keys = c->sum_keys;
	return c->sum_keys ? (c->sums.p ? c->sums.p : (const uint8_t *)"") : NULL;
}

int chunk__set_payload(struct chunk *c, const uint8_t *buf, size_t len, uint32_t nrecords)
{
	int rc;

	if (len > CD_CHUNK_BYTES_MAX || nrecords > CD_CHUNK_RECORDS_MAX)
		return -CD_ELIMIT;
	c->sums.len = 0; /* a rebuilt chunk carries no summaries: the archive makes them from the payload */
	c->nsums = 0;
	c->sum_keys = NULL;
	rc = reserve(c, len);
	if (rc < 0)
		return rc;
	if (len)
		memcpy(c->data.p, buf, len);
	c->data.len = len;
	c->nrecords = nrecords;
	return 0;
}

int chunk__add_trace(struct chunk *c, const char *s, uint32_t len)
{
	if (c->traces.n >= CD_CHUNK_RECORDS_MAX)
		return -CD_ELIMIT;
	return strset_add(&c->traces, s, len);
}

int chunk__add_service(struct chunk *c, const char *s, uint32_t len)
{
	if (c->services.n >= CD_CHUNK_RECORDS_MAX)
		return -CD_ELIMIT;
	return strset_add(&c->services, s, len);
}

int chunk__add_source(struct chunk *c, uint32_t input, uint64_t end_offset)
{
	struct chunk_source *s = find_source(c, input);

	if (input == CHUNK_NO_INPUT)
		return -CD_EINVAL;
	if (!s) {
		if (c->nsources == CD_CHUNK_SOURCES_MAX)
			return -CD_ELIMIT;
		s = &c->sources[c->nsources++];
		s->input = input;
	}
	s->end_offset = end_offset;
	return 0;
}

void chunk__set_ts_range(struct chunk *c, int64_t min_ns, int64_t max_ns)
{
	c->has_ts = true;
	c->ts_min = min_ns;
	c->ts_max = max_ns;
}

void chunk__set_opened(struct chunk *c, int64_t opened_ns)
{
	c->opened_ns = opened_ns;
}
