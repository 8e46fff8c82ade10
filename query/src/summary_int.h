/*
 * query/src/summary_int.h - what summary.c shares with the codec: the
 * span set's insertion (so a decoded summary is a full summary); and the
 * bounded reader of an encoded summary that the full decoder (codec.c)
 * and the light one (light.c) share.
 */
#ifndef QUERY_SUMMARY_INT_H
#define QUERY_SUMMARY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "query/codec.h"
#include "query/summary.h"

/* qy__span_add() - add span hash @h (0 stands for 1) to @s's set. Return: 0 or -QY_ENOMEM. */
int qy__span_add(struct qy_summary *s, uint64_t h);

/*
 * What summary.c shares with the archive's block writer (sumwrite.c), so
 * both read a record the same way: the attributes a summary reads (the
 * first of each key, found in one pass), a decimal integer attribute
 * (the whole text), and a record's span depth (summary.c's DESIGN).
 */
struct qy__picked {
	const struct fmt_attr *status, *dur_us, *error;
	const struct fmt_attr
		*http_status; /* OpenTelemetry's http.response.status_code or http.status_code */
	const struct fmt_attr *keys[QY_KEYS_MAX];
};

void qy__pick(const struct fmt_record *r, const struct qy_keys *keys, struct qy__picked *p);

/*
 * A filter's route, method and attribute conditions, one rule for the full
 * test (filter.c) and the light one (light.c). qy__route_bits(): bit i
 * when a span's @method (@mlen bytes; NULL: none) and @path (NUL-ended;
 * NULL: none) pass route condition i with the filter's methods, or bit 0
 * when the filter has methods and no routes and @method is one of them.
 * qy__attr_bits(): bit i when attribute condition i is @key = @val. The
 * conditions hold when every bit of qy__all_bits(their count) is set
 * (with no route, one: the method's).
 */
struct qy_filter;
uint32_t qy__route_bits(const struct qy_filter *f, const char *method, size_t mlen, const char *path);
uint32_t qy__attr_bits(const struct qy_filter *f, const char *key, size_t klen, const char *val, size_t vlen);
uint32_t qy__all_bits(size_t n);
bool qy__attr_int(const struct fmt_attr *a, long long *out);
/*
 * qy__http_take() - raise *@worst to the HTTP status in @a (an integer
 * from 100 to 999; may be NULL). Return: 1 when it is >= 500, else 0.
 */
int qy__http_take(int *worst, const struct fmt_attr *a);
uint16_t qy__depth_of(const struct fmt_record *r);

/* The encoder's output (codec.c): room for @n more bytes, then appends that do not check (qy__put()). */
int qy__bytes_room(struct qy_bytes *b, size_t n);
/* A str (@s of @n bytes), or an absent one when @s is NULL; room must have been made (4 + n). */
void qy__put_str(struct qy_bytes *b, const char *s, size_t n);

/*
 * A slot of the per-trace hash tables (txns.c, light.c): the entry's
 * index + 1 in the low half, the high half of its trace's hash above it.
 */
static inline uint64_t qy__slot_val(size_t k, uint64_t h)
{
	return (h & UINT64_C(0xffffffff00000000)) | ((uint64_t)k + 1);
}

/* The span sets' slot of hash @h (summary.c's open addressing, shared by sumwrite.c). */
static inline size_t qy__span_slot(uint64_t h, size_t mask)
{
	return (size_t)(h ^ (h >> 29)) & mask;
}

/* Which root candidate ranks first (summary.c's rules): a service, then the shallowest, then the earliest. */
static inline int qy__cmp_rank(const struct qy_rank *a, const struct qy_rank *b)
{
	if (a->no_service != b->no_service)
		return a->no_service < b->no_service ? -1 : 1;
	if (a->depth != b->depth)
		return a->depth < b->depth ? -1 : 1;
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	return 0;
}

/* An absent string's length in an encoded summary. */
#define QY__NONE 0xffffffffu

/* Append the @n low bytes of @v, little-endian (room made before: see qy__bytes_room()). */
static inline void qy__put(struct qy_bytes *b, uint64_t v, unsigned n)
{
	uint8_t *p = b->p + b->len;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(p, &v, n); /* n is a constant at every call: one store */
#else
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
#endif
	b->len += n;
}

/* A bounded little-endian reader: every read fails (bad) once the bytes run out. */
struct qy__rd {
	const uint8_t *p;
	size_t len, off;
	bool bad, oom;
};

/* Pass over @n bytes (fields a reader does not need). */
static inline void qy__skip(struct qy__rd *r, size_t n)
{
	if (r->bad || r->len - r->off < n)
		r->bad = true;
	else
		r->off += n;
}

/* The next @n (at most 8) bytes as an integer. */
static inline uint64_t qy__get(struct qy__rd *r, unsigned n)
{
	uint64_t v = 0;

	if (r->bad || r->len - r->off < n) {
		r->bad = true;
		return 0;
	}
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)r->p[r->off + i] << (8 * i);
	r->off += n;
	return v;
}

/* A string's bytes (*@n of them, no NUL among them), or NULL when absent or bad. */
static inline const uint8_t *qy__get_view(struct qy__rd *r, bool may_be_absent, size_t *n)
{
	uint64_t l = qy__get(r, 4);
	const uint8_t *s;

	*n = 0;
	if (r->bad)
		return NULL;
	if (l == QY__NONE) {
		r->bad |= !may_be_absent;
		return NULL;
	}
	if (r->len - r->off < l || memchr(r->p + r->off, 0, (size_t)l)) {
		r->bad = true;
		return NULL;
	}
	s = r->p + r->off;
	r->off += (size_t)l;
	*n = (size_t)l;
	return s;
}

/* A count of items of at least @min bytes each that must fit in what is left. */
static inline size_t qy__get_count(struct qy__rd *r, size_t min, size_t cap)
{
	uint64_t n = qy__get(r, 4);

	if (r->bad || n > cap || n * min > r->len - r->off) {
		r->bad = true;
		return 0;
	}
	return (size_t)n;
}

#endif
