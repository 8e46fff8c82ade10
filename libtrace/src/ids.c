/*
 * ids.c - transaction and span IDs from a per-thread generator.
 *
 * DESIGN: each thread owns a xoshiro256** state in thread-local storage,
 * so drawing an ID takes no lock and shares no cache line. The state is
 * seeded from getrandom() the first time a thread draws, and again
 * whenever the process-wide fork generation changed: a pthread_atfork()
 * child handler bumps it, so a forked child never continues its parent's
 * sequence (which would hand out the parent's next IDs a second time).
 * If getrandom() fails (a seccomp filter, a very old kernel), the seed is
 * mixed from the clocks, pid, thread and stack addresses with splitmix64:
 * weaker, but IDs only need to be unique, not secret.
 * No ID is all zeros: W3C forbids an all-zero trace-id or parent-id, and
 * the formats read zero as "none" in places. Not async-signal-safe (the
 * first draw on a thread may call getrandom()).
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

struct rng {
	uint64_t s[4]; /* xoshiro256** state; never all zero */
	unsigned gen;  /* fork generation the state was seeded in; 0 = never seeded */
};

static _Thread_local struct rng tls_rng;
static atomic_uint fork_gen = 1; /* bumped in every forked child */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void)
{
	atomic_fetch_add_explicit(&fork_gen, 1, memory_order_relaxed);
}

static void register_atfork(void)
{
	pthread_atfork(NULL, NULL, on_fork_child);
}

unsigned clew__fork_gen(void)
{
	pthread_once(&atfork_once, register_atfork);
	return atomic_load_explicit(&fork_gen, memory_order_relaxed);
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static bool fill_random(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static void seed(struct rng *r, unsigned gen)
{
	if (!fill_random(r->s, sizeof(r->s))) {
		struct timespec rt, mono;
		uint64_t x;

		clock_gettime(CLOCK_REALTIME, &rt);
		clock_gettime(CLOCK_MONOTONIC, &mono);
		x = (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec;
		x ^= ((uint64_t)mono.tv_nsec << 32) ^ ((uint64_t)getpid() << 16) ^ (uint64_t)gettid();
		x ^= (uint64_t)(uintptr_t)&x ^ (uint64_t)(uintptr_t)r;
		for (int i = 0; i < 4; i++)
			r->s[i] = splitmix64(&x);
	}
	if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
		r->s[0] = 0x9e3779b97f4a7c15u; /* the one state xoshiro cannot leave */
	r->gen = gen;
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t clew__rand_u64(void)
{
	struct rng *r = &tls_rng;
	unsigned gen = atomic_load_explicit(&fork_gen, memory_order_relaxed);
	uint64_t result, t;

	if (r->gen != gen) {
		if (r->gen == 0)
			pthread_once(&atfork_once, register_atfork);
		seed(r, gen);
	}
	result = rotl(r->s[1] * 5, 7) * 9;
	t = r->s[1] << 17;
	r->s[2] ^= r->s[0];
	r->s[3] ^= r->s[1];
	r->s[1] ^= r->s[2];
	r->s[0] ^= r->s[3];
	r->s[2] ^= t;
	r->s[3] = rotl(r->s[3], 45);
	return result;
}

static uint64_t rand_nonzero(void)
{
	uint64_t v;

	do
		v = clew__rand_u64();
	while (v == 0);
	return v;
}

static const char hex[] = "0123456789abcdef";

static void put_hex(char *out, uint64_t v, int digits)
{
	for (int i = digits - 1; i >= 0; i--) {
		out[i] = hex[v & 0xf];
		v >>= 4;
	}
}

/* 128 bits as 22 base62 digits, most significant first: long division by 62 over 32-bit limbs. */
static void put_base62(char *out, uint64_t hi, uint64_t lo)
{
	static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	uint32_t limb[4] = {(uint32_t)(hi >> 32), (uint32_t)hi, (uint32_t)(lo >> 32), (uint32_t)lo};

	for (int i = CLEW_BASE62_LEN - 1; i >= 0; i--) {
		uint64_t rem = 0;

		for (int j = 0; j < 4; j++) {
			uint64_t cur = (rem << 32) | limb[j];

			limb[j] = (uint32_t)(cur / 62);
			rem = cur % 62;
		}
		out[i] = digits[rem];
	}
}

int clew_id_trace(int kind, char *out, size_t cap)
{
	uint64_t hi, lo;
	size_t need;

	if (!out)
		return -CLEW_EINVAL;
	switch (kind) {
	case CLEW_ID_UNSET:
	case CLEW_ID_HEX:
		need = CLEW_TRACE_HEX_LEN;
		break;
	case CLEW_ID_UUID:
		need = CLEW_UUID_LEN;
		break;
	case CLEW_ID_BASE62:
		need = CLEW_BASE62_LEN;
		break;
	default:
		return -CLEW_EINVAL;
	}
	if (cap < need + 1)
		return -CLEW_ETRUNC;

	do {
		hi = clew__rand_u64();
		lo = clew__rand_u64();
	} while ((hi | lo) == 0);

	if (kind == CLEW_ID_UUID) {
		/* RFC 9562: version 4 in the top nibble of byte 6, variant 10 in byte 8. */
		hi = (hi & ~(uint64_t)0xf000) | 0x4000;
		lo = (lo & ~((uint64_t)0xc << 60)) | ((uint64_t)0x8 << 60);
		put_hex(out, hi >> 32, 8);
		out[8] = '-';
		put_hex(out + 9, (hi >> 16) & 0xffff, 4);
		out[13] = '-';
		put_hex(out + 14, hi & 0xffff, 4);
		out[18] = '-';
		put_hex(out + 19, lo >> 48, 4);
		out[23] = '-';
		put_hex(out + 24, lo & 0xffffffffffffu, 12);
	} else if (kind == CLEW_ID_BASE62) {
		put_base62(out, hi, lo);
	} else {
		put_hex(out, hi, 16);
		put_hex(out + 16, lo, 16);
	}
	out[need] = '\0';
	return 0;
}

int clew_id_span(char *out, size_t cap)
{
	if (!out)
		return -CLEW_EINVAL;
	if (cap < CLEW_SPAN_HEX_LEN + 1)
		return -CLEW_ETRUNC;
	put_hex(out, rand_nonzero(), 16);
	out[CLEW_SPAN_HEX_LEN] = '\0';
	return 0;
}

bool clew_id_valid(const char *s, size_t len)
{
	if (!s || len == 0 || len > CLEW_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		const char ch = s[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}
