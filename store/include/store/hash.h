/*
 * store/hash.h - the 64-bit hash of a byte string that clew's in-memory
 * hash sets use (the chunk's trace and service sets, the summaries' span
 * sets).
 *
 * Eight bytes a step, not one: FNV-1a's byte loop was a tenth of the
 * archive writer's time and most of a chunk's trace set; an ID of 16 hex
 * digits is two multiplications, then a final mix (MurmurHash3's)
 * spreads every input bit over the whole word, as the sets use both its
 * low and its high bits. The bytes are read little-endian, so the value
 * is the same on every host (a summary file may keep it).
 */
#ifndef CD_STORE_HASH_H
#define CD_STORE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Up to 8 bytes at @s as a little-endian integer. */
static inline uint64_t store_load_le(const char *s, size_t n)
{
	uint64_t w = 0;

	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)(unsigned char)s[i] << (8 * i);
	return w;
}

/* store_hash64() - the hash of @n bytes at @s. */
static inline uint64_t store_hash64(const char *s, size_t n)
{
	uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ ((uint64_t)n * UINT64_C(0xff51afd7ed558ccd));

	for (; n >= 8; s += 8, n -= 8) {
		h = (h ^ store_load_le(s, 8)) * UINT64_C(0xff51afd7ed558ccd);
		h ^= h >> 31;
	}
	if (n) {
		h = (h ^ store_load_le(s, n)) * UINT64_C(0xc4ceb9fe1a85ec53);
		h ^= h >> 31;
	}
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return h;
}

#endif
