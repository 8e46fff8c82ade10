/*
 * async.c - binary log records: the async mode's caller copies, the
 * writer formats.
 *
 * DESIGN: in async mode a log call formats nothing. It encodes what the
 * line will be made of into a compact binary record on its stack and
 * pushes that into the ring (ring.c); the consumer (the worker, a flush,
 * the fatal-signal handler) decodes it, formats the message and the
 * values, fills a struct fmt_record and calls the formats library's
 * emitter, the one implementation of each line format, as sync mode does.
 * What the caller copies: the time (TSC ticks where the kernel's clock
 * runs on the TSC, else CLOCK_REALTIME ns: see "The clock"), the level,
 * the thread's NDC bytes (the IDs, each NUL-terminated, copied whole),
 * method and path, the message's format string (its bytes: a format built at
 * run time may be gone when the writer runs) and its arguments, read once
 * with va_arg by walking the format (integers as 64 bits, doubles as
 * their bits, %s as its bytes, cut at the precision and at CLEW_MSG_MAX,
 * %p as the pointer's value), and the key/values raw (key bytes, int64,
 * double, bool, string bytes). A format the walk does not support (%n,
 * %m, %ls, %Lf, positional arguments, an unknown conversion) is formatted
 * on the caller with vsnprintf() for that call and travels as text.
 * The record (all integers in host order, unaligned, read with memcpy):
 *
 *   head    HEAD bytes: level, flags, nattrs, the lengths below, the time
 *   ids     ids_len bytes: the NDC, each ID NUL-terminated
 *   method  method_len bytes; path  path_len bytes
 *   msg     msg_len bytes: the format (MSG_FMT) or the message (MSG_TEXT)
 *   args    args_len bytes: per argument consumed, in order: 8 bytes, or
 *           for %s a u16 length and the bytes (a '*' width or precision
 *           is an argument too)
 *   attrs   nattrs times: type (u8), key length (u16), key, then the
 *           value: 8 bytes (int, double), 1 (bool), u16 + bytes (string),
 *           nothing (null)
 *
 * On the writer the message is rebuilt conversion by conversion: the
 * common plain ones (%d %u %x %s %c %p ...) by hand, the others with
 * snprintf() of the conversion's own text, so the message is what
 * vsnprintf() would have made. In a fatal-signal handler snprintf() is
 * not allowed: there, flags, width and precision are ignored (but the
 * precision of %s) and doubles are written by a simple conversion with
 * at most 15 significant digits (format_double_safe()).
 * Strings are copied 16 or 32 bytes at a time (copy_str()), reading past
 * their NUL within the page as libc's string functions do; that is what
 * makes a short key cost a few instructions instead of two calls.
 * Limits: a record longer than CLEW_LINE_MAX is dropped on the caller
 * (-CLEW_ETRUNC); a line that the writer finds longer than CLEW_LINE_MAX
 * (escaping grows it) is dropped and counted there, after the call
 * returned 0.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if CLEW_HAVE_VALGRIND_H
#include <valgrind/valgrind.h>
#define UNDER_VALGRIND() RUNNING_ON_VALGRIND
#else
#define UNDER_VALGRIND() 0
#endif
#if defined(__x86_64__)
#include <x86intrin.h>
#define HAVE_TSC 1
#else
#define HAVE_TSC 0
#endif

#include "fmt/json.h"
#include "fmt/pipe.h"
#include "fmt/str.h"
#include "ring.h"
#include "sink.h"

/* Record flags. */
enum {
	F_MSG_FMT = 1u << 0,	     /* msg is a format, args its arguments */
	F_MSG_TEXT = 1u << 1,	     /* msg is the formatted message */
	F_ATTRS_TRUNCATED = 1u << 2, /* more than FMT_ATTRS_MAX key/values were given */
	F_TS_TSC = 1u << 3,	     /* ts is TSC ticks, not ns */
	F_SPAN = 1u << 4,	     /* a span record (event=span; no message) */
};

/* The head: offsets of its fields. */
enum {
	H_LEVEL = 0,	  /* u8 */
	H_FLAGS = 1,	  /* u8 */
	H_NATTRS = 2,	  /* u8 */
	H_METHOD_LEN = 3, /* u8 */
	H_IDS_LEN = 4,	  /* u16 */
	H_PATH_LEN = 6,	  /* u16 */
	H_MSG_LEN = 8,	  /* u16 */
	H_ARGS_LEN = 10,  /* u16 */
	H_TS = 12,	  /* i64 */
	HEAD = 20,
};

_Static_assert(FMT_ATTRS_MAX <= UINT8_MAX, "nattrs is a u8");
_Static_assert(CLEW_METHOD_MAX <= UINT8_MAX, "method_len is a u8");
_Static_assert(CLEW_MSG_MAX < CLEW_LINE_MAX, "a format that fits a record fits the message");

/* ---------------------------------------------------------------------------
 * Conversion specifications: one parser for both sides.
 */

enum lmod { LM_NONE, LM_HH, LM_H, LM_L, LM_LL, LM_J, LM_Z, LM_T, LM_BIGL };
enum cls { C_BAD, C_PCT, C_INT, C_UINT, C_DBL, C_CHR, C_STR, C_PTR };

/* Width or precision: none, '*' (an int argument), or a number. */
#define SPEC_NONE (-1)
#define SPEC_STAR (-2)
/* Larger widths and precisions go to vsnprintf() on the caller: they would not fit a message anyway. */
#define SPEC_NUM_MAX CLEW_MSG_MAX

struct spec {
	const char *flags; /* the flag characters, nflags of them */
	unsigned nflags;
	int width;  /* SPEC_NONE, SPEC_STAR or >= 0 */
	int prec;   /* SPEC_NONE, SPEC_STAR or >= 0 */
	int lm;	    /* enum lmod */
	char conv;  /* the conversion character */
	int cls;    /* enum cls; C_BAD: not supported */
	size_t len; /* bytes of the specification, '%' included */
};

/* Parse the specification at @p (p[0] == '%'); spec->cls is C_BAD for what we do not support. */
static inline void parse_spec(const char *p, struct spec *sp)
{
	const char *q = p + 1;
	int n;

	sp->flags = q;
	while (*q == '-' || *q == '+' || *q == ' ' || *q == '#' || *q == '0')
		q++;
	sp->nflags = (unsigned)(q - sp->flags);
	sp->width = SPEC_NONE;
	sp->prec = SPEC_NONE;
	sp->lm = LM_NONE;
	sp->cls = C_BAD;
	if (*q == '*') {
		sp->width = SPEC_STAR;
		q++;
	} else if (*q >= '0' && *q <= '9') {
		for (n = 0; *q >= '0' && *q <= '9'; q++) {
			n = n * 10 + (*q - '0');
			if (n > SPEC_NUM_MAX)
				goto bad;
		}
		sp->width = n;
	}
	if (*q == '.') {
		q++;
		if (*q == '*') {
			sp->prec = SPEC_STAR;
			q++;
		} else {
			for (n = 0; *q >= '0' && *q <= '9'; q++) {
				n = n * 10 + (*q - '0');
				if (n > SPEC_NUM_MAX)
					goto bad;
			}
			sp->prec = n;
		}
	}
	switch (*q) {
	case 'h':
		sp->lm = q[1] == 'h' ? LM_HH : LM_H;
		q += sp->lm == LM_HH ? 2 : 1;
		break;
	case 'l':
		sp->lm = q[1] == 'l' ? LM_LL : LM_L;
		q += sp->lm == LM_LL ? 2 : 1;
		break;
	case 'q':
		sp->lm = LM_LL;
		q++;
		break;
	case 'j':
		sp->lm = LM_J;
		q++;
		break;
	case 'z':
		sp->lm = LM_Z;
		q++;
		break;
	case 't':
		sp->lm = LM_T;
		q++;
		break;
	case 'L':
		sp->lm = LM_BIGL;
		q++;
		break;
	default:
		break;
	}
	sp->conv = *q;
	switch (*q) {
	case 'd':
	case 'i':
		sp->cls = sp->lm == LM_BIGL ? C_BAD : C_INT;
		break;
	case 'u':
	case 'o':
	case 'x':
	case 'X':
		sp->cls = sp->lm == LM_BIGL ? C_BAD : C_UINT;
		break;
	case 'f':
	case 'F':
	case 'e':
	case 'E':
	case 'g':
	case 'G':
	case 'a':
	case 'A':
		/* long double (%Lf) is not carried. */
		sp->cls = sp->lm == LM_NONE || sp->lm == LM_L ? C_DBL : C_BAD;
		break;
	case 'c':
		sp->cls = sp->lm == LM_NONE ? C_CHR : C_BAD; /* %lc: a wint_t, not carried */
		break;
	case 's':
		sp->cls = sp->lm == LM_NONE ? C_STR : C_BAD; /* %ls: wide, not carried */
		break;
	case 'p':
		sp->cls = sp->lm == LM_NONE ? C_PTR : C_BAD;
		break;
	case '%':
		/* Only the plain "%%". */
		sp->cls = q == p + 1 ? C_PCT : C_BAD;
		break;
	default:
		/* %n, %m, positional arguments (%1$d), the end of the string, anything else. */
		goto bad;
	}
	sp->len = (size_t)(q + 1 - p);
	return;
bad:
	sp->cls = C_BAD;
	sp->len = 0;
}

/* ---------------------------------------------------------------------------
 * The clock.
 *
 * Where the kernel keeps time with the TSC (its clocksource is "tsc": the
 * counter is constant-rate and synchronised across CPUs), the caller
 * stores the raw counter: rdtsc does not wait for earlier instructions,
 * so its latency hides behind the encoding, where clock_gettime() would
 * have to compute with it first. The consumer turns ticks into wall-clock
 * time with an anchor (ticks and CLOCK_REALTIME read together, taken at
 * each drain and every ANCHOR_EVERY records) and a rate measured against
 * CLOCK_MONOTONIC since the ring was made. The rate's error is the
 * jitter of two clock readings over the ring's lifetime, and a record is
 * never further from the anchor than that lifetime, so the error stays
 * within that jitter (tens of ns), well under the microseconds written.
 * A step of the wall clock moves the records of the drain it falls in.
 */

/* Records converted with one anchor. */
#define ANCHOR_EVERY 1024

static bool tsc_ok;
static pthread_once_t tsc_once = PTHREAD_ONCE_INIT;

/*
 * Whether the string scans may read whole 16-byte blocks (see short_str_n()).
 * Not under valgrind: its memcheck cannot tell that the bytes past a NUL
 * are never used (it knows libc's own string functions, not ours), so
 * there the plain strnlen()/memcpy()/memchr() paths run.
 */
static bool wide_scans;

/* What the process allows, decided once: the TSC as the clock, wide string scans. */
static void tsc_probe(void)
{
	wide_scans = !UNDER_VALGRIND();
#if HAVE_TSC
	char buf[32];
	FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "re");

	if (!f)
		return;
	if (fgets(buf, sizeof(buf), f))
		tsc_ok = strcmp(buf, "tsc\n") == 0;
	fclose(f);
#endif
}

bool clew__tsc_usable(void)
{
	pthread_once(&tsc_once, tsc_probe);
	return tsc_ok;
}

static inline uint64_t read_tsc(void)
{
#if HAVE_TSC
	return __rdtsc();
#else
	return 0;
#endif
}

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Ticks between the two TSC reads around a clock pairing that we accept:
 * ~10 us at 2 GHz, far above the ~100 ns the readings take, far below a
 * preemption. A thread preempted between the readings would pair ticks
 * with a time milliseconds off, and every record converted with that
 * anchor would be off as much.
 */
#define PAIR_TICKS_MAX 20000
#define PAIR_TRIES 8

/* The TSC, CLOCK_MONOTONIC and CLOCK_REALTIME read together (the ticks: the middle of two reads). */
static void read_pair(uint64_t *t, int64_t *mono, int64_t *real)
{
	for (int i = 0; i < PAIR_TRIES; i++) {
		const uint64_t a = read_tsc();
		uint64_t b;

		*mono = clock_ns(CLOCK_MONOTONIC);
		*real = clock_ns(CLOCK_REALTIME);
		b = read_tsc();
		*t = a + (b - a) / 2;
		if (b - a < PAIR_TICKS_MAX)
			return;
	}
}

void clew__tsc_init(struct clew__scratch *sc)
{
	int64_t real;

	read_pair(&sc->tsc0, &sc->mono0, &real);
	sc->ns_per_tick = 0;
	clew__tsc_anchor(sc);
}

void clew__tsc_anchor(struct clew__scratch *sc)
{
	uint64_t t;
	int64_t mono;

	read_pair(&t, &mono, &sc->real_a);
	sc->tsc_a = t;
	if (t > sc->tsc0 && mono > sc->mono0)
		sc->ns_per_tick = (double)(mono - sc->mono0) / (double)(t - sc->tsc0);
	sc->since_anchor = 0;
}

/* Wall-clock ns of the tick count @t, cut to whole microseconds as clew__now_ns() does. */
static int64_t tsc_to_ns(struct clew__scratch *sc, uint64_t t)
{
	int64_t ns;

	if (++sc->since_anchor >= ANCHOR_EVERY || sc->ns_per_tick == 0)
		clew__tsc_anchor(sc);
	ns = sc->real_a + (int64_t)((double)(int64_t)(t - sc->tsc_a) * sc->ns_per_tick);
	return ns / 1000 * 1000;
}

/* ---------------------------------------------------------------------------
 * The caller: encoding.
 */

struct enc {
	char *p;   /* next byte to write */
	char *end; /* end of the buffer */
};

static inline bool room(const struct enc *e, size_t n)
{
	return (size_t)(e->end - e->p) >= n;
}

static inline void put_u16(char *p, size_t v)
{
	uint16_t x = (uint16_t)v;

	memcpy(p, &x, 2);
}

static inline uint16_t get_u16(const char *p)
{
	uint16_t x;

	memcpy(&x, p, 2);
	return x;
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
 * run instead (wide_scans). find_pct() uses aligned loads, which cannot
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

	if (!wide_scans) {
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
	if (!wide_scans) {
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
	put_u16(e->p, n);
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

/*
 * Walk @fmt (@flen bytes), taking its arguments from @ap into @e.
 * Return: 1 done, 0 a conversion we do not carry (fall back to text),
 * -1 out of room.
 */
static int encode_args(struct enc *e, const char *fmt, size_t flen, va_list ap)
{
	const char *p = fmt, *end = fmt + flen;
	struct spec sp;

	for (;;) {
		int prec;
		uint64_t v;

		p = find_pct(p, end);
		if (p == end)
			break;
		parse_spec(p, &sp);
		if (sp.cls == C_BAD)
			return 0;
		p += sp.len;
		if (sp.cls == C_PCT)
			continue;
		if (sp.width == SPEC_STAR && !put_8(e, (uint64_t)(int64_t)va_arg(ap, int)))
			return -1;
		prec = sp.prec;
		if (prec == SPEC_STAR) {
			prec = va_arg(ap, int);
			if (!put_8(e, (uint64_t)(int64_t)prec))
				return -1;
			if (prec < 0)
				prec = SPEC_NONE;
		}
		switch (sp.cls) {
		case C_INT:
			switch (sp.lm) {
			case LM_HH:
				v = (uint64_t)(int64_t)(signed char)va_arg(ap, int);
				break;
			case LM_H:
				v = (uint64_t)(int64_t)(short)va_arg(ap, int);
				break;
			case LM_L:
				v = (uint64_t)(int64_t)va_arg(ap, long);
				break;
			case LM_LL:
				v = (uint64_t)(int64_t)va_arg(ap, long long);
				break;
			case LM_J:
				v = (uint64_t)(int64_t)va_arg(ap, intmax_t);
				break;
			case LM_Z:
				v = (uint64_t)(int64_t)va_arg(ap, ssize_t);
				break;
			case LM_T:
				v = (uint64_t)(int64_t)va_arg(ap, ptrdiff_t);
				break;
			default:
				v = (uint64_t)(int64_t)va_arg(ap, int);
				break;
			}
			break;
		case C_UINT:
			switch (sp.lm) {
			case LM_HH:
				v = (unsigned char)va_arg(ap, unsigned);
				break;
			case LM_H:
				v = (unsigned short)va_arg(ap, unsigned);
				break;
			case LM_L:
				v = va_arg(ap, unsigned long);
				break;
			case LM_LL:
				v = va_arg(ap, unsigned long long);
				break;
			case LM_J:
				v = va_arg(ap, uintmax_t);
				break;
			case LM_Z:
				v = va_arg(ap, size_t);
				break;
			case LM_T:
				v = (uint64_t)va_arg(ap, ptrdiff_t);
				break;
			default:
				v = va_arg(ap, unsigned);
				break;
			}
			break;
		case C_DBL: {
			double d = va_arg(ap, double);

			memcpy(&v, &d, 8);
			break;
		}
		case C_CHR:
			v = (uint64_t)(int64_t)va_arg(ap, int);
			break;
		case C_PTR:
			v = (uint64_t)(uintptr_t)va_arg(ap, void *);
			break;
		default: { /* C_STR */
			const char *s = va_arg(ap, const char *);
			size_t cap = CLEW_MSG_MAX - 1;

			if (!s)
				s = "(null)";
			if (prec >= 0 && (size_t)prec < cap)
				cap = (size_t)prec;
			if (!put_str16(e, s, cap))
				return -1;
			continue;
		}
		}
		if (!put_8(e, v))
			return -1;
	}
	return 1;
}

/* The key/values, after checking them as sync mode does. Return: 0, -CLEW_EINVAL, -CLEW_ETRUNC. */
static int encode_attrs(struct enc *e, const struct clew_kv *kv, size_t nkv)
{
	for (size_t i = 0; i < nkv; i++) {
		const struct clew_kv *a = &kv[i];
		size_t klen;
		int type = a->type;
		bool all;

		if (!a->key || type < CLEW_KV_STR || type > CLEW_KV_BOOL)
			return -CLEW_EINVAL;
		if (type == CLEW_KV_STR && !a->v.s)
			type = 0; /* null */
#if defined(__SSE2__)
		/* The usual key/value: a key shorter than 16 bytes, a string shorter than 32, a number or a bool. */
		if (!wide_scans) {
			/* The plain path below. */
		} else if (type == CLEW_KV_STR && room(e, 3 + 16 + 2 + 32)) {
			const int k = short_str(e->p + 3, a->key);
			int n;

			if (k == 0)
				return -CLEW_EINVAL;
			if (k > 0 && (n = short_str32(e->p + 3 + k + 2, a->v.s)) >= 0) {
				e->p[0] = (char)type;
				put_u16(e->p + 1, (size_t)k);
				put_u16(e->p + 3 + k, (size_t)n);
				e->p += 3 + k + 2 + n;
				continue;
			}
		} else if (room(e, 3 + 16 + 8)) {
			const int k = short_str(e->p + 3, a->key);

			if (k == 0)
				return -CLEW_EINVAL;
			if (k > 0) {
				uint64_t v;

				e->p[0] = (char)type;
				put_u16(e->p + 1, (size_t)k);
				e->p += 3 + k;
				switch (type) {
				case 0:
					continue;
				case CLEW_KV_INT:
				case CLEW_KV_DOUBLE:
					memcpy(&v, &a->v, 8);
					memcpy(e->p, &v, 8);
					e->p += 8;
					continue;
				case CLEW_KV_BOOL:
					*e->p++ = (char)a->v.b;
					continue;
				default:
					return -CLEW_EINVAL;
				}
			}
		}
#endif
		if (!*a->key)
			return -CLEW_EINVAL;
		if (!room(e, 3))
			return -CLEW_ETRUNC;
		klen = copy_str(e, e->p + 3, a->key, UINT16_MAX, &all);
		if (!all)
			return -CLEW_ETRUNC;
		e->p[0] = (char)type;
		put_u16(e->p + 1, klen);
		e->p += 3 + klen;
		switch (type) {
		case 0:
			break;
		case CLEW_KV_STR:
			if (!put_str16(e, a->v.s, SIZE_MAX))
				return -CLEW_ETRUNC;
			break;
		case CLEW_KV_INT:
			if (!put_8(e, (uint64_t)a->v.i))
				return -CLEW_ETRUNC;
			break;
		case CLEW_KV_DOUBLE: {
			uint64_t bits;

			memcpy(&bits, &a->v.d, 8);
			if (!put_8(e, bits))
				return -CLEW_ETRUNC;
			break;
		}
		case CLEW_KV_BOOL:
			if (!room(e, 1))
				return -CLEW_ETRUNC;
			*e->p++ = (char)a->v.b;
			break;
		default:
			return -CLEW_EINVAL;
		}
	}
	return 0;
}

__attribute__((format(printf, 5, 0))) int clew__async_log(clew_client *c, int level, const struct clew_kv *kv,
							  size_t nkv, const char *fmt, va_list ap)
{
	char buf[CLEW_LINE_MAX + SLACK];
	struct enc e = {.p = buf + HEAD, .end = buf + CLEW_LINE_MAX};
	const struct clew_context *x = clew__ctx();
	const bool tsc = c->tsc;
	const int64_t ts = tsc ? (int64_t)read_tsc() : clew__now_ns();
	unsigned flags = tsc ? F_TS_TSC : 0;
	size_t mlen, plen, flen;
	bool all;
	char *msg;
	size_t args_len;
	int rc;

	if (atomic_load_explicit(&c->restart, memory_order_relaxed))
		clew__restart_check(c);
	if (nkv > FMT_ATTRS_MAX) {
		nkv = FMT_ATTRS_MAX;
		flags |= F_ATTRS_TRUNCATED;
	}
	/* The NDC, method and path always fit: CLEW_NDC_BYTES + 16 + 256 is far below a record. */
	/* ids[] is followed by method[] and more in the struct: 15 bytes past the NDC are readable. */
	_Static_assert(sizeof(x->method) >= 15, "copy_blocks() reads 15 bytes past ids[]");
	copy_blocks(e.p, x->ids, x->len);
	e.p += x->len;
	mlen = copy_str(&e, e.p, x->method, CLEW_METHOD_MAX, &all);
	e.p += mlen;
	plen = copy_str(&e, e.p, x->path, CLEW_PATH_MAX, &all);
	e.p += plen;

	msg = e.p;
	if (fmt) {
		va_list aq;

		rc = 0;
		flen = copy_str(&e, e.p, fmt, CLEW_MSG_MAX - 1, &all);
		if (!all && flen < CLEW_MSG_MAX - 1)
			return clew__drop(c, -CLEW_ETRUNC, "longer than CLEW_LINE_MAX");
		if (all) {
			e.p += flen;
			va_copy(aq, ap);
			rc = encode_args(&e, fmt, flen, aq);
			va_end(aq);
			if (rc < 0)
				return clew__drop(c, -CLEW_ETRUNC, "longer than CLEW_LINE_MAX");
		}
		if (rc == 0) {
			/* Not carried: the message is formatted here, as sync mode does. */
			int n;

			e.p = msg;
			n = vsnprintf(msg, CLEW_MSG_MAX, fmt, ap);
			if (n < 0)
				return -CLEW_EINVAL;
			flen = (size_t)n < CLEW_MSG_MAX ? (size_t)n : CLEW_MSG_MAX - 1;
			e.p += flen;
			flags |= F_MSG_TEXT;
		} else {
			flags |= F_MSG_FMT;
		}
	} else {
		flen = 0;
	}
	args_len = (size_t)(e.p - msg) - flen;
	rc = encode_attrs(&e, kv, nkv);
	if (rc == -CLEW_ETRUNC)
		return clew__drop(c, rc, "longer than CLEW_LINE_MAX");
	if (rc < 0)
		return rc;
	buf[H_LEVEL] = (char)level;
	buf[H_FLAGS] = (char)flags;
	buf[H_NATTRS] = (char)nkv;
	buf[H_METHOD_LEN] = (char)mlen;
	put_u16(buf + H_IDS_LEN, x->len);
	put_u16(buf + H_PATH_LEN, plen);
	put_u16(buf + H_MSG_LEN, flen);
	put_u16(buf + H_ARGS_LEN, args_len);
	memcpy(buf + H_TS, &ts, 8);
	return clew__ring_push(c, CLEW__ENTRY_BIN, buf, (size_t)(e.p - buf));
}

int clew__async_span(clew_client *c, int level, int64_t ts_ns, const char *ids, size_t ids_len,
		     const struct clew_kv *pre, size_t npre, const struct clew_kv *kv, size_t nkv)
{
	char buf[CLEW_LINE_MAX + SLACK];
	struct enc e = {.p = buf + HEAD, .end = buf + CLEW_LINE_MAX};
	const struct clew_context *x = clew__ctx();
	size_t mlen, plen;
	bool all;
	int rc;

	if (atomic_load_explicit(&c->restart, memory_order_relaxed))
		clew__restart_check(c);
	/* The IDs, method and path always fit, as in clew__async_log(). */
	memcpy(e.p, ids, ids_len);
	e.p += ids_len;
	mlen = copy_str(&e, e.p, x->method, CLEW_METHOD_MAX, &all);
	e.p += mlen;
	plen = copy_str(&e, e.p, x->path, CLEW_PATH_MAX, &all);
	e.p += plen;
	rc = encode_attrs(&e, pre, npre);
	if (rc == 0)
		rc = encode_attrs(&e, kv, nkv);
	if (rc == -CLEW_ETRUNC)
		return clew__drop(c, rc, "longer than CLEW_LINE_MAX");
	if (rc < 0)
		return rc;
	buf[H_LEVEL] = (char)level;
	buf[H_FLAGS] = (char)F_SPAN;
	buf[H_NATTRS] = (char)(npre + nkv);
	buf[H_METHOD_LEN] = (char)mlen;
	put_u16(buf + H_IDS_LEN, ids_len);
	put_u16(buf + H_PATH_LEN, plen);
	put_u16(buf + H_MSG_LEN, 0);
	put_u16(buf + H_ARGS_LEN, 0);
	memcpy(buf + H_TS, &ts_ns, 8);
	return clew__ring_push(c, CLEW__ENTRY_BIN, buf, (size_t)(e.p - buf));
}

/* ---------------------------------------------------------------------------
 * The consumer: decoding and formatting.
 */

/* A bounded output: at most cap bytes; what does not fit is cut, as vsnprintf() cuts. */
struct out {
	char *p;
	size_t len;
	size_t cap;
};

static void out_put(struct out *o, const char *s, size_t n)
{
	const size_t left = o->cap - o->len;

	if (n > left)
		n = left;
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

/* @v in @base (8, 10 or 16), written backwards ending at @end; return the first digit. */
static char *utoa_back(char *end, uint64_t v, unsigned base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char *p = end;

	if (base == 10) {
		do {
			*--p = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		return p;
	}
	do {
		*--p = digits[v % base];
		v /= base;
	} while (v);
	return p;
}

/* The text of the int64 @v into @out (CLEW__NUM_MAX); its length. */
static size_t i64_text(char *out, int64_t v)
{
	char tmp[24], *end = tmp + sizeof(tmp), *p;
	size_t n;

	p = utoa_back(end, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, 10, false);
	if (v < 0)
		*--p = '-';
	n = (size_t)(end - p);
	memcpy(out, p, n);
	return n;
}

/*
 * Async-signal-safe text of a double, no snprintf(): like %g with up to
 * 15 significant digits, decimal between 1e-5 and 1e15, else with an
 * exponent. The digits come from scaling by 10 in double arithmetic, so
 * the last one may differ from the exact conversion; 15 digits keep
 * 0.1 or 12.5 exact. @out holds CLEW__NUM_MAX. Return: the length.
 */
static size_t format_double_safe(char *out, double d)
{
	char dig[16];
	char *o = out;
	int e = 0, nd = 15;

	if (isnan(d)) {
		memcpy(out, "nan", 3);
		return 3;
	}
	if (signbit(d)) {
		*o++ = '-';
		d = -d;
	}
	if (isinf(d)) {
		memcpy(o, "inf", 3);
		return (size_t)(o + 3 - out);
	}
	if (d == 0) {
		*o++ = '0';
		return (size_t)(o - out);
	}
	while (d >= 10) {
		d /= 10;
		e++;
	}
	while (d < 1) {
		d *= 10;
		e--;
	}
	for (int i = 0; i < nd; i++) {
		int k = (int)d;

		if (k > 9)
			k = 9;
		dig[i] = (char)('0' + k);
		d = (d - k) * 10;
	}
	if (d >= 5) {
		int i = nd - 1;

		while (i >= 0 && dig[i] == '9')
			dig[i--] = '0';
		if (i >= 0) {
			dig[i]++;
		} else {
			dig[0] = '1';
			e++;
		}
	}
	while (nd > 1 && dig[nd - 1] == '0')
		nd--;
	if (e >= -5 && e < 15) {
		if (e < 0) {
			*o++ = '0';
			*o++ = '.';
			for (int i = -1; i > e; i--)
				*o++ = '0';
			memcpy(o, dig, (size_t)nd);
			o += nd;
		} else {
			for (int i = 0; i <= e; i++)
				*o++ = i < nd ? dig[i] : '0';
			if (nd > e + 1) {
				*o++ = '.';
				memcpy(o, dig + e + 1, (size_t)(nd - e - 1));
				o += nd - e - 1;
			}
		}
	} else {
		char tmp[8], *end = tmp + sizeof(tmp), *p;

		*o++ = dig[0];
		if (nd > 1) {
			*o++ = '.';
			memcpy(o, dig + 1, (size_t)(nd - 1));
			o += nd - 1;
		}
		*o++ = 'e';
		*o++ = e < 0 ? '-' : '+';
		p = utoa_back(end, (uint64_t)(e < 0 ? -e : e), 10, false);
		if (end - p < 2)
			*--p = '0';
		memcpy(o, p, (size_t)(end - p));
		o += end - p;
	}
	return (size_t)(o - out);
}

/* One conversion by hand, flags, width and precision ignored (the caller made sure they are none, or @safe). */
static void put_plain(struct out *o, const struct spec *sp, uint64_t v, const char *s, size_t slen)
{
	char tmp[CLEW__NUM_MAX], *end = tmp + sizeof(tmp), *p;

	switch (sp->cls) {
	case C_INT:
		p = utoa_back(end, (int64_t)v < 0 ? 0 - v : v, 10, false);
		if ((int64_t)v < 0)
			*--p = '-';
		break;
	case C_UINT:
		p = utoa_back(end, v, sp->conv == 'o' ? 8 : sp->conv == 'u' ? 10 : 16, sp->conv == 'X');
		break;
	case C_CHR:
		tmp[0] = (char)(unsigned char)v;
		out_put(o, tmp, 1);
		return;
	case C_PTR:
		if (!v) {
			out_put(o, "(nil)", 5);
			return;
		}
		p = utoa_back(end, v, 16, false);
		*--p = 'x';
		*--p = '0';
		break;
	case C_DBL: {
		double d;

		memcpy(&d, &v, 8);
		out_put(o, tmp, format_double_safe(tmp, d));
		return;
	}
	default: /* C_STR */
		out_put(o, s, slen);
		return;
	}
	out_put(o, p, (size_t)(end - p));
}

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#endif
/* One conversion with snprintf() of its own specification (the length modifier made ll for integers). */
static void put_snprintf(struct out *o, const struct spec *sp, bool left, int width, int prec, uint64_t v,
			 const char *s, size_t slen)
{
	char f[32], *q = f;
	size_t left_bytes = o->cap - o->len;
	int n = 0;
	double d;

	*q++ = '%';
	if (left)
		*q++ = '-';
	memcpy(q, sp->flags, sp->nflags < 8 ? sp->nflags : 8);
	q += sp->nflags < 8 ? sp->nflags : 8;
	if (width >= 0)
		q += i64_text(q, width);
	if (sp->cls == C_STR)
		prec = (int)slen;
	if (prec >= 0) {
		*q++ = '.';
		q += i64_text(q, prec);
	}
	if (sp->cls == C_INT || sp->cls == C_UINT) {
		*q++ = 'l';
		*q++ = 'l';
	}
	*q++ = sp->conv;
	*q = '\0';
	/* The output has room for the NUL after cap bytes (see format_msg()). */
	switch (sp->cls) {
	case C_INT:
		n = snprintf(o->p + o->len, left_bytes + 1, f, (long long)(int64_t)v);
		break;
	case C_UINT:
		n = snprintf(o->p + o->len, left_bytes + 1, f, (unsigned long long)v);
		break;
	case C_CHR:
		n = snprintf(o->p + o->len, left_bytes + 1, f, (int)(int64_t)v);
		break;
	case C_PTR:
		n = snprintf(o->p + o->len, left_bytes + 1, f, (void *)(uintptr_t)v);
		break;
	case C_DBL:
		memcpy(&d, &v, 8);
		n = snprintf(o->p + o->len, left_bytes + 1, f, d);
		break;
	default: /* C_STR */
		n = snprintf(o->p + o->len, left_bytes + 1, f, s);
		break;
	}
	if (n > 0)
		o->len += (size_t)n < left_bytes ? (size_t)n : left_bytes;
}
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic pop
#endif

/* Take 8 bytes from the arguments; false when they are short (never, for our own records). */
static bool take_8(const char **a, const char *end, uint64_t *v)
{
	if (end - *a < 8)
		return false;
	memcpy(v, *a, 8);
	*a += 8;
	return true;
}

/*
 * The message of format @fmt (@flen bytes, no NUL) and the encoded
 * arguments @args (@alen bytes) into @o, whose buffer has room for a NUL
 * after o->cap bytes.
 */
static void format_msg(struct out *o, const char *fmt, size_t flen, const char *args, size_t alen, bool safe)
{
	const char *p = fmt, *end = fmt + flen, *a = args, *aend = args + alen;
	struct spec sp;

	while (p < end) {
		const char *pct = memchr(p, '%', (size_t)(end - p));
		const char *s = NULL;
		int width, prec;
		bool left = false;
		uint64_t v = 0;
		size_t slen = 0;

		if (!pct) {
			out_put(o, p, (size_t)(end - p));
			return;
		}
		out_put(o, p, (size_t)(pct - p));
		parse_spec(pct, &sp);
		/* The caller parsed these very bytes; a failure here is a corrupt record: stop. */
		if (sp.cls == C_BAD || sp.len > (size_t)(end - pct))
			return;
		p = pct + sp.len;
		if (sp.cls == C_PCT) {
			out_put(o, "%", 1);
			continue;
		}
		width = sp.width;
		if (width == SPEC_STAR) {
			if (!take_8(&a, aend, &v))
				return;
			width = (int)(int64_t)v;
			if (width < 0) {
				left = true;
				width = width == INT32_MIN ? INT32_MAX : -width;
			}
			if (width > SPEC_NUM_MAX)
				width = SPEC_NUM_MAX;
		}
		prec = sp.prec;
		if (prec == SPEC_STAR) {
			if (!take_8(&a, aend, &v))
				return;
			prec = (int)(int64_t)v;
			if (prec < 0)
				prec = SPEC_NONE;
			if (prec > SPEC_NUM_MAX)
				prec = SPEC_NUM_MAX;
		}
		if (sp.cls == C_STR) {
			if (aend - a < 2)
				return;
			slen = get_u16(a);
			if ((size_t)(aend - a) < 2 + slen)
				return;
			s = a + 2;
			a += 2 + slen;
		} else if (!take_8(&a, aend, &v)) {
			return;
		}
		if (safe || (sp.nflags == 0 && !left && width == SPEC_NONE &&
			     (prec == SPEC_NONE || sp.cls == C_STR) && sp.cls != C_DBL))
			put_plain(o, &sp, v, s, slen);
		else
			put_snprintf(o, &sp, left, width, prec, v, s, slen);
	}
}

/* Decode one key/value at *@pp into @a; @num is room for a number's text. Return: false when short. */
static bool decode_attr(const char **pp, const char *end, struct fmt_attr *a, char *num, bool safe)
{
	const char *p = *pp;
	size_t klen, n;
	int type;
	uint64_t v;
	double d;

	if (end - p < 3)
		return false;
	type = (unsigned char)p[0];
	klen = get_u16(p + 1);
	p += 3;
	if ((size_t)(end - p) < klen)
		return false;
	a->key = fmt_str_n(p, klen);
	p += klen;
	switch (type) {
	case 0:
		a->type = FMT_T_NULL;
		a->val = fmt_str_n("null", 4);
		break;
	case CLEW_KV_STR:
		if (end - p < 2)
			return false;
		n = get_u16(p);
		if ((size_t)(end - p) < 2 + n)
			return false;
		a->type = FMT_T_STRING;
		a->val = fmt_str_n(p + 2, n);
		p += 2 + n;
		break;
	case CLEW_KV_INT:
		if (!take_8(&p, end, &v))
			return false;
		a->type = FMT_T_NUMBER;
		a->val = fmt_str_n(num, i64_text(num, (int64_t)v));
		break;
	case CLEW_KV_DOUBLE:
		if (!take_8(&p, end, &v))
			return false;
		memcpy(&d, &v, 8);
		if (!isfinite(d)) {
			/* JSON has no NaN or infinity: they travel as strings (as in record.c). */
			a->type = FMT_T_STRING;
			a->val = fmt_str_c(isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
			break;
		}
		a->type = FMT_T_NUMBER;
		n = safe ? format_double_safe(num, d) : (size_t)snprintf(num, CLEW__NUM_MAX, "%.17g", d);
		a->val = fmt_str_n(num, n);
		break;
	case CLEW_KV_BOOL:
		if (end - p < 1)
			return false;
		a->type = FMT_T_BOOL;
		a->val = *p++ ? fmt_str_n("true", 4) : fmt_str_n("false", 5);
		break;
	default:
		return false;
	}
	*pp = p;
	return true;
}

int clew__async_format(clew_client *c, struct clew__scratch *sc, const char *e, size_t len, size_t *out_len,
		       bool in_signal)
{
	struct fmt_record *rec = &sc->rec;
	const char *p = e + HEAD, *end = e + len;
	size_t ids_len, mlen, plen, msglen, alen, n;
	unsigned flags, nattrs, depth = 0;
	int64_t ts;
	int rc;

	if (len < HEAD)
		return -CLEW_EINVAL;
	flags = (unsigned char)e[H_FLAGS];
	nattrs = (unsigned char)e[H_NATTRS];
	mlen = (unsigned char)e[H_METHOD_LEN];
	ids_len = get_u16(e + H_IDS_LEN);
	plen = get_u16(e + H_PATH_LEN);
	msglen = get_u16(e + H_MSG_LEN);
	alen = get_u16(e + H_ARGS_LEN);
	memcpy(&ts, e + H_TS, 8);
	if (flags & F_TS_TSC)
		ts = tsc_to_ns(sc, (uint64_t)ts);
	if (ids_len + mlen + plen + msglen + alen > len - HEAD || nattrs > FMT_ATTRS_MAX)
		return -CLEW_EINVAL;

	clew__record_init(rec, c, (unsigned char)e[H_LEVEL], ts);
	for (const char *q = p, *qe = p + ids_len; q < qe && depth < FMT_IDS_MAX;) {
		const char *z = memchr(q, '\0', (size_t)(qe - q));

		if (!z)
			break;
		rec->ids[depth++] = fmt_str_n(q, (size_t)(z - q));
		q = z + 1;
	}
	/* trace = the first ID, span = the last of two or more, parent = the one before it (record.c). */
	rec->nids = (uint16_t)depth;
	if (depth >= 1)
		rec->trace = rec->ids[0];
	if (depth >= 2)
		rec->span = rec->ids[depth - 1];
	if (depth >= 3)
		rec->parent = rec->ids[depth - 2];
	p += ids_len;
	if (mlen)
		rec->method = fmt_str_n(p, mlen);
	p += mlen;
	if (plen)
		rec->path = fmt_str_n(p, plen);
	p += plen;
	if (flags & F_MSG_TEXT) {
		rec->message = fmt_str_n(p, msglen);
	} else if (flags & F_MSG_FMT) {
		struct out o = {.p = sc->msg, .len = 0, .cap = sizeof(sc->msg) - 1};

		format_msg(&o, p, msglen, p + msglen, alen, in_signal);
		rec->message = fmt_str_n(sc->msg, o.len);
	}
	p += msglen + alen;
	if (flags & F_ATTRS_TRUNCATED)
		rec->flags |= FMT_F_ATTRS_TRUNCATED;
	if (flags & F_SPAN)
		rec->event = FMT_EVENT_SPAN;
	for (unsigned i = 0; i < nattrs; i++)
		if (!decode_attr(&p, end, &rec->attrs[i], sc->num[i], in_signal))
			return -CLEW_EINVAL;
	rec->nattrs = (uint16_t)nattrs;

	/* One byte is kept for the newline, as clew__emit() does. */
	if (c->format == CLEW_FORMAT_JSON)
		rc = fmt_json_emit(rec, FMT_JSON_SEVERITY, sc->line, sizeof(sc->line) - 1, &n);
	else
		rc = fmt_pipe_emit(rec, sc->line, sizeof(sc->line) - 1, &n);
	if (rc == -FMT_ETRUNC)
		return -CLEW_ETRUNC;
	if (rc < 0)
		return -CLEW_EINVAL;
	sc->line[n++] = '\n';
	*out_len = n;
	return 0;
}
