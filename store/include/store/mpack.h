/*
 * store/mpack.h - the small msgpack writer and reader of the chunk codec.
 *
 * Shared by the record codec and clewd's spool (prefix mp_). Only the types the chunk
 * formats use: nil, bool, ints, str, bin, array. The writer never writes
 * past its end: it sets w->overflow and stops. The reader never reads past
 * its end and never trusts a length: any malformed, truncated or
 * unexpected item sets r->bad and every later read fails, so a decoder
 * checks once at the end (or where it must branch). No allocation, no
 * recursion (mp_skip() counts pending items instead). All multi-byte
 * numbers are big-endian, as msgpack says.
 */
#ifndef CD_CHUNK_MPACK_H
#define CD_CHUNK_MPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct mp_w {
	uint8_t *p;    /* next byte to write */
	uint8_t *end;  /* one past the last writable byte */
	bool overflow; /* a write did not fit; nothing more is written */
};

struct mp_r {
	const uint8_t *p;   /* next byte to read */
	const uint8_t *end; /* one past the last readable byte */
	bool bad;	    /* malformed or truncated input seen; all reads fail */
};

static inline bool mp_room(struct mp_w *w, size_t n)
{
	if (w->overflow || (size_t)(w->end - w->p) < n) {
		w->overflow = true;
		return false;
	}
	return true;
}

static inline void mp_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline void mp_put_nil(struct mp_w *w)
{
	if (mp_room(w, 1))
		*w->p++ = 0xc0;
}

static inline void mp_put_uint(struct mp_w *w, uint64_t v)
{
	if (v < 128) {
		if (mp_room(w, 1))
			*w->p++ = (uint8_t)v;
	} else if (v <= UINT8_MAX) {
		if (mp_room(w, 2)) {
			w->p[0] = 0xcc;
			w->p[1] = (uint8_t)v;
			w->p += 2;
		}
	} else if (v <= UINT16_MAX) {
		if (mp_room(w, 3)) {
			w->p[0] = 0xcd;
			mp_be(w->p + 1, v, 2);
			w->p += 3;
		}
	} else if (v <= UINT32_MAX) {
		if (mp_room(w, 5)) {
			w->p[0] = 0xce;
			mp_be(w->p + 1, v, 4);
			w->p += 5;
		}
	} else if (mp_room(w, 9)) {
		w->p[0] = 0xcf;
		mp_be(w->p + 1, v, 8);
		w->p += 9;
	}
}

static inline void mp_put_int(struct mp_w *w, int64_t v)
{
	if (v >= 0) {
		mp_put_uint(w, (uint64_t)v);
	} else if (v >= -32) {
		if (mp_room(w, 1))
			*w->p++ = (uint8_t)(int8_t)v;
	} else if (mp_room(w, 9)) {
		w->p[0] = 0xd3;
		mp_be(w->p + 1, (uint64_t)v, 8);
		w->p += 9;
	}
}

/* Size of the header of a str of @n bytes. */
static inline size_t mp_str_hdr_len(size_t n)
{
	return n < 32 ? 1 : n <= UINT8_MAX ? 2 : n <= UINT16_MAX ? 3 : 5;
}

/* Write a str header for @n bytes in exactly mp_str_hdr_len(n) bytes at @p. */
static inline void mp_str_hdr_at(uint8_t *p, size_t n)
{
	if (n < 32) {
		p[0] = (uint8_t)(0xa0 | n);
	} else if (n <= UINT8_MAX) {
		p[0] = 0xd9;
		p[1] = (uint8_t)n;
	} else if (n <= UINT16_MAX) {
		p[0] = 0xda;
		mp_be(p + 1, n, 2);
	} else {
		p[0] = 0xdb;
		mp_be(p + 1, n, 4);
	}
}

/*
 * mp_copy() - memcpy() of @n bytes, inline for the short values a record
 * is made of (IDs, services, keys, most messages: under 64 bytes), where a
 * call into libc costs more than the copy: overlapping loads and stores of
 * a fixed size, never outside [src, src + n) or [dst, dst + n).
 */
static inline void mp_copy(uint8_t *dst, const void *src, size_t n)
{
	const uint8_t *s = src;

	if (n > 64) {
		memcpy(dst, s, n);
	} else if (n > 32) {
		uint8_t a[32], b[32];
		memcpy(a, s, 32);
		memcpy(b, s + n - 32, 32);
		memcpy(dst, a, 32);
		memcpy(dst + n - 32, b, 32);
	} else if (n >= 16) {
		uint8_t a[16], b[16];
		memcpy(a, s, 16);
		memcpy(b, s + n - 16, 16);
		memcpy(dst, a, 16);
		memcpy(dst + n - 16, b, 16);
	} else if (n >= 8) {
		uint64_t a, b;
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(dst, &a, 8);
		memcpy(dst + n - 8, &b, 8);
	} else if (n >= 4) {
		uint32_t a, b;
		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		memcpy(dst, &a, 4);
		memcpy(dst + n - 4, &b, 4);
	} else if (n) {
		dst[0] = s[0];
		dst[n / 2] = s[n / 2];
		dst[n - 1] = s[n - 1];
	}
}

static inline void mp_put_str(struct mp_w *w, const void *s, size_t n)
{
	size_t h = mp_str_hdr_len(n);

	if (mp_room(w, h + n)) {
		mp_str_hdr_at(w->p, n);
		mp_copy(w->p + h, s, n);
		w->p += h + n;
	}
}

static inline void mp_put_bin(struct mp_w *w, const void *s, size_t n)
{
	size_t h = n <= UINT8_MAX ? 2 : n <= UINT16_MAX ? 3 : 5;

	if (mp_room(w, h + n)) {
		w->p[0] = n <= UINT8_MAX ? 0xc4 : n <= UINT16_MAX ? 0xc5 : 0xc6;
		mp_be(w->p + 1, n, (int)h - 1);
		if (n)
			memcpy(w->p + h, s, n);
		w->p += h + n;
	}
}

static inline void mp_put_array(struct mp_w *w, uint32_t n)
{
	if (n < 16) {
		if (mp_room(w, 1))
			*w->p++ = (uint8_t)(0x90 | n);
	} else if (n <= UINT16_MAX) {
		if (mp_room(w, 3)) {
			w->p[0] = 0xdc;
			mp_be(w->p + 1, n, 2);
			w->p += 3;
		}
	} else if (mp_room(w, 5)) {
		w->p[0] = 0xdd;
		mp_be(w->p + 1, n, 4);
		w->p += 5;
	}
}

/* --- reader ------------------------------------------------------------ */

static inline bool mp_fail(struct mp_r *r)
{
	r->bad = true;
	r->p = r->end;
	return false;
}

static inline uint64_t mp_get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Read @n bytes of big-endian length/number after the type byte. */
static inline bool mp_take(struct mp_r *r, int n, uint64_t *v)
{
	if (r->bad || r->end - r->p < n)
		return mp_fail(r);
	*v = mp_get_be(r->p, n);
	r->p += n;
	return true;
}

static inline bool mp_at_end(const struct mp_r *r)
{
	return r->p >= r->end;
}

/* Whether the next item is nil; consumes it if so. */
static inline bool mp_get_nil(struct mp_r *r)
{
	if (!r->bad && r->p < r->end && *r->p == 0xc0) {
		r->p++;
		return true;
	}
	return false;
}

/* The next byte, not consumed; -1 at the end or after an error. */
static inline int mp_peek(const struct mp_r *r)
{
	return (!r->bad && r->p < r->end) ? *r->p : -1;
}

static inline bool mp_get_array(struct mp_r *r, uint32_t *n)
{
	uint64_t v;
	int t = mp_peek(r);

	if (t < 0)
		return mp_fail(r);
	r->p++;
	if ((t & 0xf0) == 0x90) {
		*n = (uint32_t)(t & 0x0f);
		return true;
	}
	if (t == 0xdc || t == 0xdd) {
		if (!mp_take(r, t == 0xdc ? 2 : 4, &v))
			return false;
		/* every item is at least one byte: a count past the input is a lie */
		if (v > (uint64_t)(r->end - r->p))
			return mp_fail(r);
		*n = (uint32_t)v;
		return true;
	}
	return mp_fail(r);
}

/* Any non-negative integer encoding. */
static inline bool mp_get_uint(struct mp_r *r, uint64_t *out)
{
	uint64_t v;
	int t = mp_peek(r);

	if (t < 0)
		return mp_fail(r);
	r->p++;
	if (t < 0x80) {
		*out = (uint64_t)t;
		return true;
	}
	switch (t) {
	case 0xcc:
	case 0xcd:
	case 0xce:
	case 0xcf:
		if (!mp_take(r, 1 << (t - 0xcc), &v))
			return false;
		*out = v;
		return true;
	case 0xd0:
	case 0xd1:
	case 0xd2:
	case 0xd3: {
		int n = 1 << (t - 0xd0);
		int64_t s;
		if (!mp_take(r, n, &v))
			return false;
		s = n == 8 ? (int64_t)v : (int64_t)(v << (64 - 8 * n)) >> (64 - 8 * n);
		if (s < 0)
			return mp_fail(r);
		*out = (uint64_t)s;
		return true;
	}
	}
	return mp_fail(r);
}

/* Any integer encoding that fits int64_t. */
static inline bool mp_get_int(struct mp_r *r, int64_t *out)
{
	uint64_t v;
	int t = mp_peek(r);

	if (t < 0)
		return mp_fail(r);
	if (t >= 0xe0) {
		r->p++;
		*out = (int8_t)t;
		return true;
	}
	if (t >= 0xd0 && t <= 0xd3) {
		int n = 1 << (t - 0xd0);
		r->p++;
		if (!mp_take(r, n, &v))
			return false;
		*out = n == 8 ? (int64_t)v : (int64_t)(v << (64 - 8 * n)) >> (64 - 8 * n);
		return true;
	}
	if (!mp_get_uint(r, &v))
		return false;
	if (v > INT64_MAX)
		return mp_fail(r);
	*out = (int64_t)v;
	return true;
}

/* A str (or, where @allow_bin, a bin): a view of its body, in place. */
static inline bool mp_get_bytes(struct mp_r *r, const char **s, uint32_t *len, bool allow_bin)
{
	uint64_t n;
	int t = mp_peek(r);

	if (t < 0)
		return mp_fail(r);
	r->p++;
	if ((t & 0xe0) == 0xa0) {
		n = (uint64_t)(t & 0x1f);
	} else if (t >= 0xd9 && t <= 0xdb) {
		if (!mp_take(r, 1 << (t - 0xd9), &n))
			return false;
	} else if (allow_bin && t >= 0xc4 && t <= 0xc6) {
		if (!mp_take(r, 1 << (t - 0xc4), &n))
			return false;
	} else {
		return mp_fail(r);
	}
	if (n > (uint64_t)(r->end - r->p))
		return mp_fail(r);
	*s = (const char *)r->p;
	*len = (uint32_t)n;
	r->p += n;
	return true;
}

static inline bool mp_get_str(struct mp_r *r, const char **s, uint32_t *len)
{
	return mp_get_bytes(r, s, len, false);
}

/*
 * mp_skip() - skip @count whole items (nested arrays and maps included),
 * without recursion. Ext, float and every other type are understood.
 */
static inline bool mp_skip(struct mp_r *r, uint64_t count)
{
	while (count > 0) {
		uint64_t n = 0, v;
		int t = mp_peek(r);

		if (t < 0)
			return mp_fail(r);
		r->p++;
		count--;
		if (t < 0x80 || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3)
			continue;
		if ((t & 0xf0) == 0x80) {
			count += 2u * (uint64_t)(t & 0x0f);
			continue;
		}
		if ((t & 0xf0) == 0x90) {
			count += (uint64_t)(t & 0x0f);
			continue;
		}
		if ((t & 0xe0) == 0xa0) {
			n = (uint64_t)(t & 0x1f);
		} else {
			switch (t) {
			case 0xc4:
			case 0xc5:
			case 0xc6:
				if (!mp_take(r, 1 << (t - 0xc4), &n))
					return false;
				break;
			case 0xd9:
			case 0xda:
			case 0xdb:
				if (!mp_take(r, 1 << (t - 0xd9), &n))
					return false;
				break;
			case 0xc7:
			case 0xc8:
			case 0xc9:
				if (!mp_take(r, 1 << (t - 0xc7), &n))
					return false;
				n += 1; /* the ext type byte */
				break;
			case 0xca:
				n = 4;
				break;
			case 0xcb:
				n = 8;
				break;
			case 0xcc:
			case 0xcd:
			case 0xce:
			case 0xcf:
				n = 1u << (t - 0xcc);
				break;
			case 0xd0:
			case 0xd1:
			case 0xd2:
			case 0xd3:
				n = 1u << (t - 0xd0);
				break;
			case 0xd4:
			case 0xd5:
			case 0xd6:
			case 0xd7:
			case 0xd8:
				n = 1 + (1u << (t - 0xd4));
				break;
			case 0xdc:
			case 0xdd:
				if (!mp_take(r, t == 0xdc ? 2 : 4, &v))
					return false;
				count += v;
				break;
			case 0xde:
			case 0xdf:
				if (!mp_take(r, t == 0xde ? 2 : 4, &v))
					return false;
				count += 2 * v;
				break;
			default: /* 0xc1: never used */
				return mp_fail(r);
			}
		}
		if (n > (uint64_t)(r->end - r->p))
			return mp_fail(r);
		r->p += n;
		/* a count larger than the bytes left can never be satisfied */
		if (count > (uint64_t)(r->end - r->p))
			return mp_fail(r);
	}
	return !r->bad;
}

#endif
