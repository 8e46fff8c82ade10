/*
 * store/buf.h - one growable byte buffer and the little-endian loads and
 * stores of every on-disk format of clew (spool, checkpoint, archive).
 *
 * A struct buf is {bytes, used, allocated}; zero-initialised it is empty
 * and owns nothing. It grows only when asked (buf_reserve()), to exactly
 * the size asked: callers with a growth policy of their own (the chunk's
 * doubling) compute the size and ask for it. Allocation goes through the
 * store's seam (store/hooks.h), so tests can fail it.
 */
#ifndef STORE_BUF_H
#define STORE_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *p; /* bytes, NULL while nothing is allocated */
	size_t len; /* bytes in use (left to the caller) */
	size_t cap; /* bytes allocated at p */
};

/*
 * buf_reserve() - make @b hold at least @need bytes, keeping its contents.
 * Return: 0, or -CD_ENOMEM (then @b is unchanged).
 */
int buf_reserve(struct buf *b, size_t need);

/* buf_release() - free @b's bytes and empty it. */
void buf_release(struct buf *b);

/* Little-endian stores and loads of 16, 32 and 64 bits; le_put/le_get: the low @n bytes. */
static inline void le_put(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline uint64_t le_get(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static inline void le_put16(uint8_t *p, uint16_t v)
{
	le_put(p, v, 2);
}

static inline void le_put32(uint8_t *p, uint32_t v)
{
	le_put(p, v, 4);
}

static inline void le_put64(uint8_t *p, uint64_t v)
{
	le_put(p, v, 8);
}

static inline uint16_t le_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t le_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t le_get64(const uint8_t *p)
{
	return (uint64_t)le_get32(p) | (uint64_t)le_get32(p + 4) << 32;
}

#endif
