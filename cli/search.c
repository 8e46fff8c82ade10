/*
 * search.c - the literal search under the prefilter.
 *
 * DESIGN: IDs are short (8..36 bytes) and made of hex digits and letters
 * that log text is full of, so the first byte alone is a poor filter.
 * Like ripgrep's memchr, we pick the two *rarest* bytes of the needle by a
 * static table of byte frequencies in log text, compare 32 (AVX2) or 16
 * (SSE2) positions at once against both, and check the full needle only
 * where both agree. The AVX2 path is chosen at run time. Pure functions:
 * any number of threads may search at once.
 */
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TG_X86 1
#else
#define TG_X86 0
#endif

#include "tg.h"
#include "banned.h"

/*
 * A rank for each byte: higher is more frequent in log text. Digits,
 * lower-case letters (hex ones most) and the separators of both formats
 * are common; upper case, most punctuation and control bytes are rare.
 * Among the hex digits, which IDs are made of, the order is the one
 * measured on pipe, JSON and mixed logs (bench/gen_corpus, gen_rare.py,
 * 1 MiB of each): 'e' and 'a' (English words) and 0, 1, 2 (timestamps)
 * are 3-7x as frequent as 9, 5, 8 or f, and 'b' is the rarest. An ID of
 * digits, 'a' and 'e' only got 'a' and '9' as its pair when digits ranked
 * as frequent as 'a': 19x the candidates of the two '9's it gets now
 * (BENCHMARKS.md, tracegrep on raw files).
 */
static unsigned byte_rank(unsigned char c)
{
	static const char hot[] = " ea02toinsrl1dc637485\"|:-=./_hupmgTZ9f";
	const char *p;

	if (c == 0)
		return 0;
	p = memchr(hot, c, sizeof(hot) - 1);
	if (p)
		return 255 - (unsigned)(p - hot);
	if (c >= 'a' && c <= 'z')
		return 200;
	if (c >= 'A' && c <= 'Z')
		return 120;
	return 60;
}

void tg_finder_init(struct tg_finder *f, const char *needle, size_t len)
{
	f->needle = needle;
	f->len = len;
	f->i1 = 0;
	f->i2 = len > 1 ? len - 1 : 0;
#if TG_X86
	f->avx2 = __builtin_cpu_supports("avx2");
#else
	f->avx2 = false;
#endif
	if (len < 2)
		return;
	/* The rarest byte, then the rarest other position (ties: the later one, to spread them). */
	for (size_t i = 0; i < len; i++)
		if (byte_rank((unsigned char)needle[i]) < byte_rank((unsigned char)needle[f->i1]))
			f->i1 = i;
	f->i2 = f->i1 == 0 ? 1 : 0;
	for (size_t i = 0; i < len; i++)
		if (i != f->i1 &&
		    byte_rank((unsigned char)needle[i]) <= byte_rank((unsigned char)needle[f->i2]))
			f->i2 = i;
	if (f->i1 > f->i2) {
		size_t t = f->i1;

		f->i1 = f->i2;
		f->i2 = t;
	}
}

static const char *find_scalar(const struct tg_finder *f, const char *s, size_t n, size_t at)
{
	const char *nd = f->needle;

	for (size_t i = at; i + f->len <= n; i++)
		if (s[i + f->i1] == nd[f->i1] && s[i + f->i2] == nd[f->i2] && memcmp(s + i, nd, f->len) == 0)
			return s + i;
	return NULL;
}

#if TG_X86
/* The first of the candidates at @s + k, for each bit k of @m, that is the whole needle, or NULL. */
static inline const char *first_match(const struct tg_finder *f, const char *s, unsigned m)
{
	for (; m; m &= m - 1) {
		unsigned k = (unsigned)__builtin_ctz(m);

		if (memcmp(s + k, f->needle, f->len) == 0)
			return s + k;
	}
	return NULL;
}

__attribute__((target("avx2"))) static const char *find_avx2(const struct tg_finder *f, const char *s,
							     size_t n)
{
	const __m256i b1 = _mm256_set1_epi8(f->needle[f->i1]);
	const __m256i b2 = _mm256_set1_epi8(f->needle[f->i2]);
	size_t i = 0;

	for (; i + f->len + 32 <= n; i += 32) {
		__m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(s + i + f->i1));
		__m256i y = _mm256_loadu_si256((const __m256i *)(const void *)(s + i + f->i2));
		unsigned m = (unsigned)_mm256_movemask_epi8(
			_mm256_and_si256(_mm256_cmpeq_epi8(x, b1), _mm256_cmpeq_epi8(y, b2)));
		const char *hit = m ? first_match(f, s + i, m) : NULL;

		if (hit)
			return hit;
	}
	return find_scalar(f, s, n, i);
}

static const char *find_sse2(const struct tg_finder *f, const char *s, size_t n)
{
	const __m128i b1 = _mm_set1_epi8(f->needle[f->i1]);
	const __m128i b2 = _mm_set1_epi8(f->needle[f->i2]);
	size_t i = 0;

	for (; i + f->len + 16 <= n; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i + f->i1));
		__m128i y = _mm_loadu_si128((const __m128i *)(const void *)(s + i + f->i2));
		unsigned m = (unsigned)_mm_movemask_epi8(
			_mm_and_si128(_mm_cmpeq_epi8(x, b1), _mm_cmpeq_epi8(y, b2)));
		const char *hit = m ? first_match(f, s + i, m) : NULL;

		if (hit)
			return hit;
	}
	return find_scalar(f, s, n, i);
}
#endif

const char *tg_find(const struct tg_finder *f, const char *s, size_t n)
{
	if (f->len == 0 || n < f->len)
		return NULL;
	if (f->len == 1)
		return memchr(s, f->needle[0], n);
#if TG_X86
	return f->avx2 ? find_avx2(f, s, n) : find_sse2(f, s, n);
#else
	return find_scalar(f, s, n, 0);
#endif
}
