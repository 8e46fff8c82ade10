/*
 * store/src/archive_format.c - frames and indexes to and from bytes (formats/archive.md).
 *
 * DESIGN: everything read from disk is untrusted. Decoders take (bytes,
 * length), check every count and length against what is there and against
 * the caps of limits.h with 64-bit arithmetic, and never read outside the
 * buffer: a bad file yields -CD_ECORRUPT, never a crash. Hashes are XXH64
 * (seed 0) throughout: the frame header, the frame body, the index header
 * and tables, each block of index entries, and the trace IDs themselves.
 * The index is a sorted array of (trace hash, frame number): exact up to
 * 64-bit collisions, binary-searched, 12 bytes per distinct trace per
 * frame; it is cut into blocks of ARCH_IDX_BLOCK entries with their own
 * hash so that a lookup verifies only the ~3 KiB it reads.
 * No I/O, no global state; allocation only in the builder.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "archive_int.h"
#include <store/limits.h>

/* --- XXH64 (the public xxHash specification, seed-aware) --------------- */

#define P1 11400714785074694791ULL
#define P2 14029467366897019727ULL
#define P3 1609587929392839161ULL
#define P4 9650029242287828579ULL
#define P5 2870177450012600261ULL

static inline uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t xround(uint64_t acc, uint64_t in)
{
	acc += in * P2;
	acc = rotl64(acc, 31);
	return acc * P1;
}

static inline uint64_t xmerge(uint64_t acc, uint64_t v)
{
	acc ^= xround(0, v);
	return acc * P1 + P4;
}

/* The end of XXH64: the total length, the tail of fewer than 32 bytes, the avalanche. */
static uint64_t xfinish(uint64_t h, uint64_t total, const uint8_t *p, const uint8_t *end)
{
	h += total;
	while (end - p >= 8) {
		h ^= xround(0, le_get64(p));
		h = rotl64(h, 27) * P1 + P4;
		p += 8;
	}
	if (end - p >= 4) {
		h ^= (uint64_t)le_get32(p) * P1;
		h = rotl64(h, 23) * P2 + P3;
		p += 4;
	}
	while (p < end) {
		h ^= (uint64_t)*p++ * P5;
		h = rotl64(h, 11) * P1;
	}
	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	h *= P3;
	h ^= h >> 32;
	return h;
}

/* The four lanes merged (inputs of 32 bytes or more). */
static uint64_t xlanes(const uint64_t v[4])
{
	uint64_t h = rotl64(v[0], 1) + rotl64(v[1], 7) + rotl64(v[2], 12) + rotl64(v[3], 18);

	for (int i = 0; i < 4; i++)
		h = xmerge(h, v[i]);
	return h;
}

/* Take the 32-byte stripes of [*p, end) into the lanes. */
static void xstripes(uint64_t v[4], const uint8_t **p, const uint8_t *end)
{
	const uint8_t *q = *p;

	while (end - q >= 32) {
		v[0] = xround(v[0], le_get64(q));
		v[1] = xround(v[1], le_get64(q + 8));
		v[2] = xround(v[2], le_get64(q + 16));
		v[3] = xround(v[3], le_get64(q + 24));
		q += 32;
	}
	*p = q;
}

uint64_t arch__xxh64(const void *data, size_t n, uint64_t seed)
{
	const uint8_t *p = data, *end = p + n;
	uint64_t h;

	if (n >= 32) {
		uint64_t v[4] = {seed + P1 + P2, seed + P2, seed, seed - P1};

		xstripes(v, &p, end);
		h = xlanes(v);
	} else {
		h = seed + P5;
	}
	return xfinish(h, (uint64_t)n, p, end);
}

void arch__xxh64_init(struct arch__xxh64_state *st)
{
	memset(st, 0, sizeof(*st));
	st->v[0] = P1 + P2;
	st->v[1] = P2;
	st->v[3] = 0 - P1;
}

void arch__xxh64_update(struct arch__xxh64_state *st, const void *data, size_t n)
{
	const uint8_t *p = data, *end = p + n;

	st->total += n;
	if (st->nbuf) {
		size_t take = 32 - st->nbuf < n ? 32 - st->nbuf : n;
		const uint8_t *b = st->buf;

		memcpy(st->buf + st->nbuf, p, take);
		st->nbuf += take;
		p += take;
		if (st->nbuf < 32)
			return;
		xstripes(st->v, &b, st->buf + 32);
		st->nbuf = 0;
	}
	xstripes(st->v, &p, end);
	memcpy(st->buf, p, (size_t)(end - p));
	st->nbuf = (size_t)(end - p);
}

uint64_t arch__xxh64_final(const struct arch__xxh64_state *st)
{
	uint64_t h = st->total >= 32 ? xlanes(st->v) : P5;

	return xfinish(h, st->total, st->buf, st->buf + st->nbuf);
}

uint64_t arch_hash(const void *p, size_t n)
{
	return arch__xxh64(p, n, 0);
}

/* Whether [s, end) is exactly @n service names (u16 length + bytes), none too long. */
static int services_check(const uint8_t *s, const uint8_t *end, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint16_t l;

		if (end - s < 2)
			return -CD_ECORRUPT;
		l = le_get16(s);
		if (l > CD_ARCH_SERVICE_LEN_MAX || (size_t)(end - s - 2) < l)
			return -CD_ECORRUPT;
		s += 2 + l;
	}
	return s == end ? 0 : -CD_ECORRUPT;
}

/* --- frames ------------------------------------------------------------ */

void arch__frame_hdr_encode(uint8_t *out, const struct arch__frame_hdr *h)
{
	le_put32(out, ARCH_FRAME_MAGIC);
	le_put16(out + 4, ARCH_VERSION);
	le_put16(out + 6, h->flags);
	le_put64(out + 8, h->seq);
	le_put64(out + 16, (uint64_t)h->min_ts);
	le_put64(out + 24, (uint64_t)h->max_ts);
	le_put32(out + 32, h->nrecords);
	le_put32(out + 36, h->raw_len);
	le_put32(out + 40, h->zlen);
	le_put32(out + 44, h->meta_len);
	le_put64(out + 48, h->body_hash);
	le_put64(out + 56, arch__xxh64(out, 56, 0));
}

int arch__frame_hdr_decode(const uint8_t *p, bool verify, struct arch__frame_hdr *h)
{
	if (le_get32(p) != ARCH_FRAME_MAGIC || le_get16(p + 4) != ARCH_VERSION ||
	    (le_get16(p + 6) & ~ARCH_FRAME_F_SVC_PARTIAL))
		return -CD_ECORRUPT;
	if (verify && le_get64(p + 56) != arch__xxh64(p, 56, 0))
		return -CD_ECORRUPT;
	h->flags = le_get16(p + 6);
	h->seq = le_get64(p + 8);
	h->min_ts = (int64_t)le_get64(p + 16);
	h->max_ts = (int64_t)le_get64(p + 24);
	h->nrecords = le_get32(p + 32);
	h->raw_len = le_get32(p + 36);
	h->zlen = le_get32(p + 40);
	h->meta_len = le_get32(p + 44);
	h->body_hash = le_get64(p + 48);
	if (h->min_ts > h->max_ts || h->raw_len == 0 || h->raw_len > CD_ARCH_PAYLOAD_MAX || h->zlen == 0 ||
	    h->zlen > CD_ARCH_PAYLOAD_MAX + CD_ARCH_PAYLOAD_MAX / 8 || h->meta_len < 8 ||
	    h->meta_len > 8 + 8 * (uint64_t)CD_ARCH_FRAME_TRACES_MAX +
				  (2 + (uint64_t)CD_ARCH_SERVICE_LEN_MAX) * CD_ARCH_FRAME_SERVICES_MAX)
		return -CD_ECORRUPT;
	return 0;
}

size_t arch__frame_meta_size(uint32_t ntraces, const struct arch_key *svc, size_t nsvc)
{
	size_t n = 8 + 8 * (size_t)ntraces;

	for (size_t i = 0; i < nsvc; i++)
		n += 2 + svc[i].len;
	return n;
}

int arch__frame_meta_decode(const uint8_t *p, uint32_t len, struct arch__frame_meta *m)
{
	uint64_t need;
	const uint8_t *s, *end = p + len;

	if (len < 8)
		return -CD_ECORRUPT;
	m->ntraces = le_get32(p);
	m->nservices = le_get32(p + 4);
	if (m->ntraces > CD_ARCH_FRAME_TRACES_MAX || m->nservices > CD_ARCH_FRAME_SERVICES_MAX)
		return -CD_ECORRUPT;
	need = 8 + 8 * (uint64_t)m->ntraces;
	if (need > len)
		return -CD_ECORRUPT;
	m->traces = p + 8;
	m->services = p + need;
	s = m->services;
	if (services_check(s, end, m->nservices) < 0)
		return -CD_ECORRUPT;
	m->services_len = (uint32_t)(end - m->services);
	return 0;
}

int arch__frame_check(const uint8_t *p, size_t avail, bool verify, struct arch__frame_hdr *h,
		      struct arch__frame_meta *m)
{
	uint64_t flen;
	int rc;

	if (avail < ARCH_HDR_BYTES)
		return -CD_ENOENT;
	rc = arch__frame_hdr_decode(p, verify, h);
	if (rc < 0)
		return rc;
	flen = (uint64_t)ARCH_HDR_BYTES + h->meta_len + h->zlen;
	if (flen > avail)
		return -CD_ENOENT;
	if (verify && arch__xxh64(p + ARCH_HDR_BYTES, h->meta_len + (size_t)h->zlen, 0) != h->body_hash)
		return -CD_ECORRUPT;
	return arch__frame_meta_decode(p + ARCH_HDR_BYTES, h->meta_len, m);
}

/* --- the index builder -------------------------------------------------- */

/* Slots of the service set: a power of two, at most half full. */
#define SVC_SLOTS (2u * CD_ARCH_SEG_SERVICES_MAX)
_Static_assert((SVC_SLOTS & (SVC_SLOTS - 1)) == 0, "CD_ARCH_SEG_SERVICES_MAX must be a power of two");

void arch__build_init(struct arch__build *b)
{
	memset(b, 0, sizeof(*b));
	b->min_ts = INT64_MAX;
	b->max_ts = INT64_MIN;
}

void arch__build_release(struct arch__build *b)
{
	free(b->frames);
	free(b->entries);
	free(b->svc);
	free(b->svc_set);
}

void arch__build_clear(struct arch__build *b)
{
	arch__build_release(b);
	arch__build_init(b);
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = realloc(*p, n * size);
	if (!q)
		return -CD_ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

/* Add one service unless known; a full set marks the index partial. */
static int build_add_service(struct arch__build *b, const uint8_t *s, uint16_t len)
{
	uint64_t h = arch__xxh64(s, len, 0) | 1; /* 0 marks an empty slot */
	uint32_t i = (uint32_t)h & (SVC_SLOTS - 1);

	if (!b->svc_set) {
		b->svc_set = calloc(SVC_SLOTS, sizeof(*b->svc_set));
		if (!b->svc_set)
			return -CD_ENOMEM;
	}
	while (b->svc_set[i]) {
		if (b->svc_set[i] == h)
			return 0;
		i = (i + 1) & (SVC_SLOTS - 1);
	}
	if (b->nsvc >= CD_ARCH_SEG_SERVICES_MAX) {
		b->svc_partial = true;
		return 0;
	}
	if (grow((void **)&b->svc, &b->svc_cap, b->svc_len + 2 + len, 1) < 0)
		return -CD_ENOMEM;
	b->svc_set[i] = h;
	le_put16(b->svc + b->svc_len, len);
	memcpy(b->svc + b->svc_len + 2, s, len);
	b->svc_len += 2 + (size_t)len;
	b->nsvc++;
	return 0;
}

int arch__build_add(struct arch__build *b, uint64_t off, const struct arch__frame_hdr *h,
		    const struct arch__frame_meta *m)
{
	size_t fcap = b->frames_cap;
	const uint8_t *s = m->services;
	struct arch__frame_ent *f;

	if (b->nframes == UINT32_MAX)
		return -CD_ELIMIT;
	if (grow((void **)&b->frames, &fcap, (size_t)b->nframes + 1, sizeof(*b->frames)) < 0 ||
	    grow((void **)&b->entries, &b->entries_cap, b->nentries + m->ntraces, sizeof(*b->entries)) < 0)
		return -CD_ENOMEM;
	b->frames_cap = (uint32_t)(fcap > UINT32_MAX ? UINT32_MAX : fcap);
	/* Services first: the only step that can still fail (the set may be left
	 * with extra names, which is harmless: the list is a superset). */
	for (uint32_t i = 0; i < m->nservices; i++) {
		uint16_t l = le_get16(s);

		if (build_add_service(b, s + 2, l) < 0)
			return -CD_ENOMEM;
		s += 2 + l;
	}
	if (h->flags & ARCH_FRAME_F_SVC_PARTIAL)
		b->svc_partial = true;
	f = &b->frames[b->nframes];
	f->off = off;
	f->seq = h->seq;
	f->min_ts = h->min_ts;
	f->max_ts = h->max_ts;
	f->nrecords = h->nrecords;
	f->len = ARCH_HDR_BYTES + h->meta_len + h->zlen;
	for (uint32_t i = 0; i < m->ntraces; i++) {
		b->entries[b->nentries].hash = le_get64(m->traces + 8 * (size_t)i);
		b->entries[b->nentries].frame = b->nframes;
		b->nentries++;
	}
	b->nframes++;
	if (h->min_ts < b->min_ts)
		b->min_ts = h->min_ts;
	if (h->max_ts > b->max_ts)
		b->max_ts = h->max_ts;
	if (off + f->len > b->data_bytes)
		b->data_bytes = off + f->len;
	return 0;
}

static int entry_cmp(const void *x, const void *y)
{
	const struct arch__entry *a = x, *b = y;

	if (a->hash != b->hash)
		return a->hash < b->hash ? -1 : 1;
	return a->frame < b->frame ? -1 : a->frame > b->frame;
}

int arch__build_encode(struct arch__build *b, uint8_t **out, size_t *len)
{
	size_t n = 0, nblocks, total;
	uint8_t *p, *q, *blk;

	if (b->nentries > 1)
		qsort(b->entries, b->nentries, sizeof(*b->entries), entry_cmp);
	for (size_t i = 0; i < b->nentries; i++) /* drop duplicates */
		if (n == 0 || b->entries[i].hash != b->entries[n - 1].hash ||
		    b->entries[i].frame != b->entries[n - 1].frame)
			b->entries[n++] = b->entries[i];
	b->nentries = n;
	if (n > UINT32_MAX || b->svc_len > UINT32_MAX)
		return -CD_ELIMIT;
	nblocks = (n + ARCH_IDX_BLOCK - 1) / ARCH_IDX_BLOCK;
	total = ARCH_HDR_BYTES + (size_t)b->nframes * ARCH_IDX_FRAME_BYTES + nblocks * ARCH_IDX_BLOCK_BYTES +
		b->svc_len + n * ARCH_IDX_ENTRY_BYTES;
	p = malloc(total);
	if (!p)
		return -CD_ENOMEM;

	q = p + ARCH_HDR_BYTES;
	for (uint32_t i = 0; i < b->nframes; i++, q += ARCH_IDX_FRAME_BYTES) {
		const struct arch__frame_ent *f = &b->frames[i];

		le_put64(q, f->off);
		le_put64(q + 8, f->seq);
		le_put64(q + 16, (uint64_t)f->min_ts);
		le_put64(q + 24, (uint64_t)f->max_ts);
		le_put32(q + 32, f->nrecords);
		le_put32(q + 36, f->len);
	}
	blk = q;
	q += nblocks * ARCH_IDX_BLOCK_BYTES;
	if (b->svc_len)
		memcpy(q, b->svc, b->svc_len);
	q += b->svc_len;
	for (size_t i = 0; i < n; i++) {
		le_put64(q + i * ARCH_IDX_ENTRY_BYTES, b->entries[i].hash);
		le_put32(q + i * ARCH_IDX_ENTRY_BYTES + 8, b->entries[i].frame);
	}
	for (size_t k = 0; k < nblocks; k++) {
		size_t first = k * ARCH_IDX_BLOCK,
		       cnt = n - first < ARCH_IDX_BLOCK ? n - first : ARCH_IDX_BLOCK;

		le_put64(blk + k * ARCH_IDX_BLOCK_BYTES, b->entries[first].hash);
		le_put64(blk + k * ARCH_IDX_BLOCK_BYTES + 8,
			 arch__xxh64(q + first * ARCH_IDX_ENTRY_BYTES, cnt * ARCH_IDX_ENTRY_BYTES, 0));
	}

	le_put32(p, ARCH_INDEX_MAGIC);
	le_put16(p + 4, ARCH_VERSION);
	le_put16(p + 6, b->svc_partial ? ARCH_IDX_F_SVC_PARTIAL : 0);
	le_put64(p + 8, b->data_bytes);
	le_put64(p + 16, (uint64_t)(b->nframes ? b->min_ts : 0));
	le_put64(p + 24, (uint64_t)(b->nframes ? b->max_ts : 0));
	le_put32(p + 32, b->nframes);
	le_put32(p + 36, (uint32_t)n);
	le_put32(p + 40, b->nsvc);
	le_put32(p + 44, (uint32_t)b->svc_len);
	le_put64(p + 48, arch__xxh64(p + ARCH_HDR_BYTES, (size_t)(q - p) - ARCH_HDR_BYTES, 0));
	le_put64(p + 56, arch__xxh64(p, 56, 0));
	*out = p;
	*len = total;
	return 0;
}

/* --- the index reader ---------------------------------------------------- */

int arch__index_parse(const uint8_t *p, size_t len, bool verify, struct arch__index *ix)
{
	uint64_t off, need, prev_end = 0;
	const uint8_t *s, *end;

	if (len < ARCH_HDR_BYTES || le_get32(p) != ARCH_INDEX_MAGIC || le_get16(p + 4) != ARCH_VERSION)
		return -CD_ECORRUPT;
	if (verify && le_get64(p + 56) != arch__xxh64(p, 56, 0))
		return -CD_ECORRUPT;
	ix->flags = le_get16(p + 6);
	ix->data_bytes = le_get64(p + 8);
	ix->min_ts = (int64_t)le_get64(p + 16);
	ix->max_ts = (int64_t)le_get64(p + 24);
	ix->nframes = le_get32(p + 32);
	ix->nentries = le_get32(p + 36);
	ix->nservices = le_get32(p + 40);
	ix->services_bytes = le_get32(p + 44);
	ix->nblocks = (uint32_t)(((uint64_t)ix->nentries + ARCH_IDX_BLOCK - 1) / ARCH_IDX_BLOCK);
	if ((ix->flags & ~ARCH_IDX_F_SVC_PARTIAL) || ix->min_ts > ix->max_ts ||
	    ix->nservices > CD_ARCH_SEG_SERVICES_MAX)
		return -CD_ECORRUPT;

	off = ARCH_HDR_BYTES;
	ix->frames = p + off;
	off += (uint64_t)ix->nframes * ARCH_IDX_FRAME_BYTES;
	ix->blocks = p + (off <= len ? off : 0);
	off += (uint64_t)ix->nblocks * ARCH_IDX_BLOCK_BYTES;
	ix->services = p + (off <= len ? off : 0);
	off += ix->services_bytes;
	need = off + (uint64_t)ix->nentries * ARCH_IDX_ENTRY_BYTES;
	if (need != len)
		return -CD_ECORRUPT;
	ix->entries = p + off;
	if (verify && le_get64(p + 48) != arch__xxh64(p + ARCH_HDR_BYTES, (size_t)off - ARCH_HDR_BYTES, 0))
		return -CD_ECORRUPT;

	/* Frames: in file order, not overlapping, inside the data file. */
	for (uint32_t i = 0; i < ix->nframes; i++) {
		struct arch__frame_ent f;

		arch__index_frame(ix, i, &f);
		if (f.len < ARCH_HDR_BYTES || f.off < prev_end || f.off > ix->data_bytes ||
		    f.len > ix->data_bytes - f.off || f.min_ts > f.max_ts)
			return -CD_ECORRUPT;
		prev_end = f.off + f.len;
	}
	/* Services: exactly nservices well-formed names. */
	s = ix->services;
	end = s + ix->services_bytes;
	if (services_check(s, end, ix->nservices) < 0)
		return -CD_ECORRUPT;
	return 0;
}

void arch__index_frame(const struct arch__index *ix, uint32_t i, struct arch__frame_ent *f)
{
	const uint8_t *q = ix->frames + (size_t)i * ARCH_IDX_FRAME_BYTES;

	assert(i < ix->nframes);
	f->off = le_get64(q);
	f->seq = le_get64(q + 8);
	f->min_ts = (int64_t)le_get64(q + 16);
	f->max_ts = (int64_t)le_get64(q + 24);
	f->nrecords = le_get32(q + 32);
	f->len = le_get32(q + 36);
}

static int block_check(const struct arch__index *ix, uint32_t k)
{
	size_t first = (size_t)k * ARCH_IDX_BLOCK;
	size_t cnt = ix->nentries - first < ARCH_IDX_BLOCK ? ix->nentries - first : ARCH_IDX_BLOCK;
	const uint8_t *b = ix->blocks + (size_t)k * ARCH_IDX_BLOCK_BYTES;

	if (le_get64(b + 8) !=
		    arch__xxh64(ix->entries + first * ARCH_IDX_ENTRY_BYTES, cnt * ARCH_IDX_ENTRY_BYTES, 0) ||
	    le_get64(b) != le_get64(ix->entries + first * ARCH_IDX_ENTRY_BYTES))
		return -CD_ECORRUPT;
	return 0;
}

int arch__index_lookup(const struct arch__index *ix, uint64_t hash, bool verify,
		       int (*fn)(void *ctx, uint32_t frame), void *ctx)
{
	uint32_t lo = 0, hi = ix->nblocks, k;

	if (ix->nblocks == 0)
		return 0;
	/* First block whose first hash is >= @hash; matches may start one before. */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (le_get64(ix->blocks + (size_t)mid * ARCH_IDX_BLOCK_BYTES) < hash)
			lo = mid + 1;
		else
			hi = mid;
	}
	k = lo > 0 ? lo - 1 : 0;
	for (; k < ix->nblocks; k++) {
		size_t first = (size_t)k * ARCH_IDX_BLOCK;
		size_t cnt = ix->nentries - first < ARCH_IDX_BLOCK ? ix->nentries - first : ARCH_IDX_BLOCK;
		const uint8_t *e = ix->entries + first * ARCH_IDX_ENTRY_BYTES;

		if (verify && block_check(ix, k) < 0)
			return -CD_ECORRUPT;
		if (le_get64(ix->blocks + (size_t)k * ARCH_IDX_BLOCK_BYTES) > hash)
			return 0;
		for (size_t i = 0; i < cnt; i++, e += ARCH_IDX_ENTRY_BYTES) {
			uint64_t h = le_get64(e);
			uint32_t fr;
			int rc;

			if (h < hash)
				continue;
			if (h > hash)
				return 0;
			fr = le_get32(e + 8);
			if (fr >= ix->nframes)
				return -CD_ECORRUPT;
			rc = fn(ctx, fr);
			if (rc)
				return rc;
		}
	}
	return 0;
}
