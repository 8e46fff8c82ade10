/*
 * async_scan.h - the async encoder's bytes (async_encode.c): a record
 * being built (struct enc) and the stores into it, strings copied 16 or
 * 32 bytes at a time, the search for a format's '%'. Inline: every log
 * call runs them.
 */
#ifndef CLEW_ASYNC_SCAN_H
#define CLEW_ASYNC_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "async.h"

/* Whether the scans may read whole blocks (async_encode.c: not under valgrind). */
extern bool clew__wide_scans;

struct enc {
	char *p;   /* next byte to write */
	char *end; /* end of the buffer */
};

static inline bool room(const struct enc *e, size_t n)
{
	return (size_t)(e->end - e->p) >= n;
}

/* Bytes a record buffer has past its end: short_str_n() stores whole 16-byte blocks. */
#define SLACK 32

#if defined(__SSE2__)
/*
 * String scans 16 bytes at a time. short_str_n() loads whole blocks from
 * the string's start, so it may read bytes past its NUL, never past the
 * page the string ends in (it checks), and never uses them: reading that
 * cannot fault, as libc's own string functions read. ASan is told not to
 * check these loads; memcheck (valgrind) cannot tell that the bytes are
 * unused, so under valgrind the plain strnlen()/memcpy()/memchr() paths
 * run instead (clew__wide_scans). find_pct() uses aligned loads, which cannot
 * cross a page either.
 */

/* @s (shorter than @lim: 16 or 32) copied to @dst as whole 16-byte blocks: its length; else -1. */
#if defined(__clang__) || defined(__GNUC__)
__attribute__((no_sanitize_address))
#endif
static inline int
short_str_n(char *dst, const char *s, int lim)
{
	const __m128i zero = _mm_setzero_si128();
	__m128i v0, v1;
	unsigned m;

	if (((uintptr_t)s & 4095) > (uintptr_t)(4096 - lim))
		return -1;
	v0 = _mm_loadu_si128((const __m128i *)(const void *)s);
	m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v0, zero));
	if (lim == 16) {
		if (!m)
			return -1;
		_mm_storeu_si128((__m128i *)(void *)dst, v0);
		return __builtin_ctz(m);
	}
	v1 = _mm_loadu_si128((const __m128i *)(const void *)(s + 16));
	m |= (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v1, zero)) << 16;
	if (!m)
		return -1;
	_mm_storeu_si128((__m128i *)(void *)dst, v0);
	_mm_storeu_si128((__m128i *)(void *)(dst + 16), v1);
	return __builtin_ctz(m);
}
#define short_str(dst, s) short_str_n((dst), (s), 16)
#define short_str32(dst, s) short_str_n((dst), (s), 32)

/* The first '%' in [@p, @end), or @end; @p is in a NUL-terminated string at least @end long. */
#if defined(__clang__) || defined(__GNUC__)
__attribute__((no_sanitize_address))
#endif
static inline const char *
find_pct(const char *p, const char *end)
{
	const __m128i pct = _mm_set1_epi8('%');
	const unsigned off = (unsigned)((uintptr_t)p & 15);
	const char *b = p - off;
	unsigned m;

	if (!clew__wide_scans) {
		const char *q = memchr(p, '%', (size_t)(end - p));

		return q ? q : end;
	}
	m = (unsigned)_mm_movemask_epi8(
		    _mm_cmpeq_epi8(_mm_load_si128((const __m128i *)(const void *)b), pct)) &
	    (0xffffu << off);

	for (;;) {
		if (m) {
			const char *q = b + __builtin_ctz(m);

			return q < end ? q : end;
		}
		b += 16;
		if (b >= end)
			return end;
		m = (unsigned)_mm_movemask_epi8(
			_mm_cmpeq_epi8(_mm_load_si128((const __m128i *)(const void *)b), pct));
	}
}
#else
static inline const char *find_pct(const char *p, const char *end)
{
	const char *q = memchr(p, '%', (size_t)(end - p));

	return q ? q : end;
}
#endif

/*
 * Copy the NUL-terminated @s to @dst, at most @max bytes and no more than
 * fit the record; return how many. *@all: whether that was all of @s.
 */
static inline size_t copy_str(const struct enc *e, char *dst, const char *s, size_t max, bool *all)
{
	size_t cap, n;

#if defined(__SSE2__)
	/* The usual case in a few instructions: shorter than 32 bytes. */
	if (!clew__wide_scans) {
		/* The plain path below. */
	} else if (max >= 32 && e->end - dst >= 32) {
		const int k = short_str32(dst, s);

		if (k >= 0) {
			*all = true;
			return (size_t)k;
		}
	} else if (max >= 16 && e->end - dst >= 16) {
		const int k = short_str(dst, s);

		if (k >= 0) {
			*all = true;
			return (size_t)k;
		}
	}
#endif
	cap = (size_t)(e->end - dst) < max ? (size_t)(e->end - dst) : max;
	n = strnlen(s, cap);
	memcpy(dst, s, n);
	*all = !s[n];
	return n;
}

/*
 * Copy @n bytes of @src, which has 15 readable bytes after them, to @dst
 * (with SLACK after): 16 bytes at a time.
 */
static inline void copy_blocks(char *dst, const char *src, size_t n)
{
#if defined(__SSE2__)
	for (size_t i = 0; i < n; i += 16)
		_mm_storeu_si128((__m128i *)(void *)(dst + i),
				 _mm_loadu_si128((const __m128i *)(const void *)(src + i)));
#else
	memcpy(dst, src, n);
#endif
}

/* A u16 length and the string @s, cut at @max bytes. Return: false when it does not fit the record. */
static inline bool put_str16(struct enc *e, const char *s, size_t max)
{
	size_t n;
	bool all;

	if (!room(e, 2))
		return false;
	n = copy_str(e, e->p + 2, s, max < UINT16_MAX ? max : UINT16_MAX, &all);
	if (!all && n < max)
		return false;
	clew__put_u16(e->p, n);
	e->p += 2 + n;
	return true;
}

static inline bool put_8(struct enc *e, uint64_t v)
{
	if (!room(e, 8))
		return false;
	memcpy(e->p, &v, 8);
	e->p += 8;
	return true;
}

#endif
