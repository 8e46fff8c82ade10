/*
 * async_encode.c - the caller's side of async records: a log call or a
 * span end encoded into a binary record (async.h) and pushed into the
 * ring, with nothing formatted.
 *
 * DESIGN: what the caller copies: the time (TSC ticks where the kernel's
 * clock runs on the TSC, else CLOCK_REALTIME ns: clock.c), the level,
 * the thread's context: its NDC bytes (the IDs, each NUL-terminated,
 * copied whole), method and path, only when it changed since the last
 * record of the thread's lane (the thread counts its context's changes,
 * ctx_gen; the writer keeps each lane's last context:
 * CLEW__BIN_F_CTX_SET/PREV),
 * the message's format string (its bytes: a format built
 * at run time may be gone when the writer runs) and its arguments, read
 * once with va_arg by walking the format (the walk of a short format is
 * remembered by the thread, struct clew__fmt_plan, and reused when the
 * same bytes come again; integers as 64 bits, doubles as
 * their bits, %s as its bytes, cut at the precision and at CLEW_MSG_MAX,
 * %p as the pointer's value), and the key/values raw (key bytes, int64,
 * double, bool, string bytes). A format the walk does not support (%n,
 * %m, %ls, %Lf, positional arguments, an unknown conversion) is
 * formatted on the caller with vsnprintf() for that call and travels as
 * text. Strings are copied 16 or 32 bytes at a time (async_scan.h),
 * reading past their NUL within the page as libc's string functions do;
 * that is what makes a short key cost a few instructions instead of two
 * calls. The usual record (short context and strings, a remembered
 * format) is built by log_fast() with no room checks, ~485 instructions
 * for the benchmark's record; any other by log_general().
 * Everything a log call runs here is in this file or inline in a header.
 */
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

#include "async.h"
#include "async_scan.h"
#include "clock.h"
#include "printf_spec.h"
#include "ring.h"
#include "sink.h"

/*
 * Whether the string scans may read whole 16-byte blocks (async_scan.h).
 * Not under valgrind: its memcheck cannot tell that the bytes past a NUL
 * are never used (it knows libc's own string functions, not ours), so
 * there the plain strnlen()/memcpy()/memchr() paths run.
 */
bool clew__wide_scans;
static pthread_once_t scans_once = PTHREAD_ONCE_INIT;

static void scans_probe(void)
{
	clew__wide_scans = !UNDER_VALGRIND();
}

void clew__async_init(void)
{
	pthread_once(&scans_once, scans_probe);
}

/*
 * The argument of one conversion (class @cls, length modifier @lm, the
 * precision @prec: a %s is cut at it) from *@ap into @e, after its '*'
 * width (@wstar) and precision (@prec CLEW__SPEC_STAR). Return: 1, or -1
 * out of room.
 */
static inline int take_arg(struct enc *e, int cls, int lm, bool wstar, int prec, va_list *ap)
{
	uint64_t v;

	if (wstar && !put_8(e, (uint64_t)(int64_t)va_arg(*ap, int)))
		return -1;
	if (prec == CLEW__SPEC_STAR) {
		prec = va_arg(*ap, int);
		if (!put_8(e, (uint64_t)(int64_t)prec))
			return -1;
		if (prec < 0)
			prec = CLEW__SPEC_NONE;
	}
	switch (cls) {
	case CLEW__C_INT:
		switch (lm) {
		case CLEW__LM_HH:
			v = (uint64_t)(int64_t)(signed char)va_arg(*ap, int);
			break;
		case CLEW__LM_H:
			v = (uint64_t)(int64_t)(short)va_arg(*ap, int);
			break;
		case CLEW__LM_L:
			v = (uint64_t)(int64_t)va_arg(*ap, long);
			break;
		case CLEW__LM_LL:
			v = (uint64_t)(int64_t)va_arg(*ap, long long);
			break;
		case CLEW__LM_J:
			v = (uint64_t)(int64_t)va_arg(*ap, intmax_t);
			break;
		case CLEW__LM_Z:
			v = (uint64_t)(int64_t)va_arg(*ap, ssize_t);
			break;
		case CLEW__LM_T:
			v = (uint64_t)(int64_t)va_arg(*ap, ptrdiff_t);
			break;
		default:
			v = (uint64_t)(int64_t)va_arg(*ap, int);
			break;
		}
		break;
	case CLEW__C_UINT:
		switch (lm) {
		case CLEW__LM_HH:
			v = (unsigned char)va_arg(*ap, unsigned);
			break;
		case CLEW__LM_H:
			v = (unsigned short)va_arg(*ap, unsigned);
			break;
		case CLEW__LM_L:
			v = va_arg(*ap, unsigned long);
			break;
		case CLEW__LM_LL:
			v = va_arg(*ap, unsigned long long);
			break;
		case CLEW__LM_J:
			v = va_arg(*ap, uintmax_t);
			break;
		case CLEW__LM_Z:
			v = va_arg(*ap, size_t);
			break;
		case CLEW__LM_T:
			v = (uint64_t)va_arg(*ap, ptrdiff_t);
			break;
		default:
			v = va_arg(*ap, unsigned);
			break;
		}
		break;
	case CLEW__C_DBL: {
		double d = va_arg(*ap, double);

		memcpy(&v, &d, 8);
		break;
	}
	case CLEW__C_CHR:
		v = (uint64_t)(int64_t)va_arg(*ap, int);
		break;
	case CLEW__C_PTR:
		v = (uint64_t)(uintptr_t)va_arg(*ap, void *);
		break;
	default: { /* CLEW__C_STR */
		const char *s = va_arg(*ap, const char *);
		size_t cap = CLEW_MSG_MAX - 1;

		if (!s)
			s = "(null)";
		if (prec >= 0 && (size_t)prec < cap)
			cap = (size_t)prec;
		return put_str16(e, s, cap) ? 1 : -1;
	}
	}
	return put_8(e, v) ? 1 : -1;
}

/*
 * The argument types of the fast path (log_fast()), one per va_arg type:
 * a conversion's class and length modifier in one switch. A '*' width or
 * precision and a precision of %s are left to the general path (0).
 */
enum kind {
	K_GENERAL,
	K_INT,
	K_SCHAR,
	K_SHORT,
	K_LONG,
	K_LLONG,
	K_INTMAX,
	K_SSIZE,
	K_PTRDIFF,
	K_UINT,
	K_UCHAR,
	K_USHORT,
	K_ULONG,
	K_ULLONG,
	K_UINTMAX,
	K_SIZE,
	K_UPTRDIFF,
	K_DBL,
	K_PTR,
	K_STR,
};

static uint8_t kind_of(const struct clew__spec *sp)
{
	static const uint8_t ints[] = {
		[CLEW__LM_NONE] = K_INT, [CLEW__LM_HH] = K_SCHAR,  [CLEW__LM_H] = K_SHORT,
		[CLEW__LM_L] = K_LONG,	 [CLEW__LM_LL] = K_LLONG,  [CLEW__LM_J] = K_INTMAX,
		[CLEW__LM_Z] = K_SSIZE,	 [CLEW__LM_T] = K_PTRDIFF,
	};
	static const uint8_t uints[] = {
		[CLEW__LM_NONE] = K_UINT, [CLEW__LM_HH] = K_UCHAR,   [CLEW__LM_H] = K_USHORT,
		[CLEW__LM_L] = K_ULONG,	  [CLEW__LM_LL] = K_ULLONG,  [CLEW__LM_J] = K_UINTMAX,
		[CLEW__LM_Z] = K_SIZE,	  [CLEW__LM_T] = K_UPTRDIFF,
	};

	if (sp->width == CLEW__SPEC_STAR || sp->prec == CLEW__SPEC_STAR ||
	    (sp->cls == CLEW__C_STR && sp->prec != CLEW__SPEC_NONE) || sp->lm > CLEW__LM_T)
		return K_GENERAL;
	switch (sp->cls) {
	case CLEW__C_INT:
		return ints[sp->lm];
	case CLEW__C_UINT:
		return uints[sp->lm];
	case CLEW__C_DBL:
		return K_DBL;
	case CLEW__C_CHR:
		return K_INT;
	case CLEW__C_PTR:
		return K_PTR;
	case CLEW__C_STR:
		return K_STR;
	default:
		return K_GENERAL;
	}
}

/*
 * Walk @fmt (@flen bytes), taking its arguments from *@ap into @e; when
 * @pl is not NULL, remember the walk there (a format shorter than
 * CLEW__PLAN_FMT_MAX). Return: 1 done, 0 a conversion we do not carry
 * (fall back to text), -1 out of room.
 */
static int encode_args(struct enc *e, const char *fmt, size_t flen, va_list *ap, struct clew__fmt_plan *pl)
{
	const char *p = fmt, *end = fmt + flen;
	struct clew__spec sp;
	unsigned n = 0;
	bool fast = true;

	if (pl)
		pl->len = 0;
	for (;;) {
		p = find_pct(p, end);
		if (p == end)
			break;
		clew__parse_spec(p, &sp);
		if (sp.cls == CLEW__C_BAD)
			return 0;
		p += sp.len;
		if (sp.cls == CLEW__C_PCT)
			continue;
		if (take_arg(e, sp.cls, sp.lm, sp.width == CLEW__SPEC_STAR, sp.prec, ap) < 0)
			return -1;
		if (pl && n < CLEW__PLAN_CONVS_MAX) {
			struct clew__plan_conv *k = &pl->conv[n];

			k->cls = (uint8_t)sp.cls;
			k->lm = (uint8_t)sp.lm;
			k->kind = kind_of(&sp);
			fast = fast && k->kind != K_GENERAL;
			k->wstar = sp.width == CLEW__SPEC_STAR;
			k->prec = (int16_t)sp.prec;
		}
		n++;
	}
	if (pl && n <= CLEW__PLAN_CONVS_MAX) {
		memset(pl->bytes, 0, sizeof(pl->bytes));
		memcpy(pl->bytes, fmt, flen);
		pl->nconv = (uint8_t)n;
		pl->fast = fast;
		pl->len = (uint8_t)flen;
	}
	return 1;
}

/* The slot of @th's remembered walks where the format at @fmt goes. */
static inline struct clew__fmt_plan *plan_slot(struct clew__thread *th, const char *fmt)
{
	return &th->plans[(uint32_t)((uintptr_t)fmt * 0x9e3779b1u) >> (32 - CLEW__PLANS_LOG2)];
}

/*
 * Whether @pl is the walk of the format whose @flen bytes (shorter than
 * CLEW__PLAN_FMT_MAX) were copied to @copy, with CLEW__PLAN_FMT_MAX
 * bytes readable there.
 */
static inline bool plan_match(const struct clew__fmt_plan *pl, const char *copy, size_t flen)
{
	_Static_assert(CLEW__PLAN_FMT_MAX == 32, "plan_match() compares two 16-byte blocks");
	if (pl->len != flen || !flen)
		return false;
#if defined(__SSE2__)
	if (clew__wide_scans) {
		const __m128i *b = (const __m128i *)(const void *)pl->bytes;
		const __m128i c0 = _mm_loadu_si128((const __m128i *)(const void *)copy);
		const __m128i c1 = _mm_loadu_si128((const __m128i *)(const void *)(copy + 16));
		const unsigned eq = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(c0, _mm_load_si128(b))) |
				    (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(c1, _mm_load_si128(b + 1)))
					    << 16;
		const unsigned need = (1u << flen) - 1;

		return (eq & need) == need;
	}
#endif
	return memcmp(copy, pl->bytes, flen) == 0;
}

/* The arguments of a remembered walk @pl from *@ap into @e. Return: 1, or -1 out of room. */
static inline int encode_planned(struct enc *e, const struct clew__fmt_plan *pl, va_list *ap)
{
	for (unsigned i = 0; i < pl->nconv; i++) {
		const struct clew__plan_conv *k = &pl->conv[i];

		if (take_arg(e, k->cls, k->lm, k->wstar, k->prec, ap) < 0)
			return -1;
	}
	return 1;
}

#if defined(__SSE2__)
/* Most bytes one key/value takes in attrs_short(): type, key length, key block, string length, string block. */
#define KV_SHORT_MAX (3 + 16 + 2 + 32)

/*
 * The usual key/values, from the first: a key shorter than 16 bytes and
 * a number, a bool or a string shorter than 32, each in a few
 * instructions (no room check: the caller made sure of room for @nkv of
 * them). Return: how many were encoded; the first one that is not usual
 * (or is wrong) is left to the general path.
 */
static inline size_t attrs_short(struct enc *e, const struct clew_kv *kv, size_t nkv)
{
	char *p = e->p;
	size_t i;

	for (i = 0; i < nkv; i++) {
		const struct clew_kv *a = &kv[i];
		const int type = a->type;
		int k, n;

		if (!a->key)
			break;
		if (type == CLEW_KV_STR) {
			if (!a->v.s || (k = short_str(p + 3, a->key)) <= 0 ||
			    (n = short_str32(p + 3 + k + 2, a->v.s)) < 0)
				break;
			clew__put_u16(p + 3 + k, (size_t)n);
			n += 2;
		} else {
			if (type < CLEW_KV_INT || type > CLEW_KV_BOOL || (k = short_str(p + 3, a->key)) <= 0)
				break;
			/* The union's first 8 bytes; a bool takes the first one. */
			memcpy(p + 3 + k, &a->v, 8);
			n = type == CLEW_KV_BOOL ? 1 : 8;
		}
		p[0] = (char)type;
		clew__put_u16(p + 1, (size_t)k);
		p += 3 + k + n;
	}
	e->p = p;
	return i;
}
#endif

/* The key/values, after checking them as sync mode does. Return: 0, -CLEW_EINVAL, -CLEW_ETRUNC. */
static int encode_attrs(struct enc *e, const struct clew_kv *kv, size_t nkv)
{
	size_t i = 0;

#if defined(__SSE2__)
	if (clew__wide_scans && room(e, nkv * KV_SHORT_MAX))
		i = attrs_short(e, kv, nkv);
#endif
	for (; i < nkv; i++) {
		const struct clew_kv *a = &kv[i];
		size_t klen;
		int type = a->type;
		bool all;

		if (!a->key || type < CLEW_KV_STR || type > CLEW_KV_BOOL)
			return -CLEW_EINVAL;
		if (type == CLEW_KV_STR && !a->v.s)
			type = 0; /* null */
		if (!*a->key)
			return -CLEW_EINVAL;
		if (!room(e, 3))
			return -CLEW_ETRUNC;
		klen = copy_str(e, e->p + 3, a->key, UINT16_MAX, &all);
		if (!all)
			return -CLEW_ETRUNC;
		e->p[0] = (char)type;
		clew__put_u16(e->p + 1, klen);
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

/* A record's head (async.h), written last: the lengths are known only then. */
struct head {
	int level;
	unsigned flags;
	size_t nattrs, mlen, ids_len, plen, msg_len, args_len;
	int64_t ts;
	uint64_t ctx_gen; /* with CLEW__BIN_F_CTX_SET: the thread's ctx_gen it carries */
};

/* The head @h at the start of the record @buf. */
static inline void put_head(char *buf, const struct head *h)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* The same bytes in three stores. */
	_Static_assert(CLEW__BIN_H_FLAGS == 1 && CLEW__BIN_H_NATTRS == 2 && CLEW__BIN_H_METHOD_LEN == 3 &&
			       CLEW__BIN_H_IDS_LEN == 4 && CLEW__BIN_H_PATH_LEN == 6 &&
			       CLEW__BIN_H_MSG_LEN == 8 && CLEW__BIN_H_ARGS_LEN == 10 && CLEW__BIN_H_TS == 12,
		       "put_head() packs the head's fields in this order");
	const uint32_t a = (uint32_t)(uint8_t)h->level | (uint32_t)(uint8_t)h->flags << 8 |
			   (uint32_t)(uint8_t)h->nattrs << 16 | (uint32_t)(uint8_t)h->mlen << 24;
	const uint64_t b = (uint64_t)(uint16_t)h->ids_len | (uint64_t)(uint16_t)h->plen << 16 |
			   (uint64_t)(uint16_t)h->msg_len << 32 | (uint64_t)(uint16_t)h->args_len << 48;

	memcpy(buf, &a, 4);
	memcpy(buf + 4, &b, 8);
	memcpy(buf + CLEW__BIN_H_TS, &h->ts, 8);
#else
	buf[CLEW__BIN_H_LEVEL] = (char)h->level;
	buf[CLEW__BIN_H_FLAGS] = (char)h->flags;
	buf[CLEW__BIN_H_NATTRS] = (char)h->nattrs;
	buf[CLEW__BIN_H_METHOD_LEN] = (char)h->mlen;
	clew__put_u16(buf + CLEW__BIN_H_IDS_LEN, h->ids_len);
	clew__put_u16(buf + CLEW__BIN_H_PATH_LEN, h->plen);
	clew__put_u16(buf + CLEW__BIN_H_MSG_LEN, h->msg_len);
	clew__put_u16(buf + CLEW__BIN_H_ARGS_LEN, h->args_len);
	memcpy(buf + CLEW__BIN_H_TS, &h->ts, 8);
#endif
}

/*
 * The thread's method and path at e->p, after the IDs; their lengths into
 * @h. They always fit: CLEW_NDC_BYTES + 16 + 256 is far below a record.
 */
static inline void put_place(struct enc *e, const struct clew_context *x, struct head *h)
{
	bool all;

	h->mlen = copy_str(e, e->p, x->method, CLEW_METHOD_MAX, &all);
	e->p += h->mlen;
	h->plen = copy_str(e, e->p, x->path, CLEW_PATH_MAX, &all);
	e->p += h->plen;
}

/*
 * Where a record is built: in place in the calling thread's lane when it
 * has room for the longest one (nothing to copy afterwards), else in
 * @stack, copied in by push_record() if it fits.
 */
struct dest {
	struct clew__lane *lane; /* when built in place */
	char *stack;
};

static inline char *record_buf(clew_client *c, struct clew__thread *th, struct dest *d, char *stack)
{
	char *p = clew__ring_reserve(c, th, &d->lane);

	d->stack = stack;
	return p ? p : stack;
}

/*
 * The end of a record in @buf, up to e->p: @rc is what encode_attrs()
 * returned; when 0, the head @h goes first and the record into the ring.
 * Return: as clew__async_log().
 */
static inline int push_record(clew_client *c, const struct dest *d, char *buf, const struct enc *e, int rc,
			      const struct head *h)
{
	if (rc == -CLEW_ETRUNC)
		return clew__drop(c, rc, "longer than CLEW_LINE_MAX");
	if (rc < 0)
		return rc;
	put_head(buf, h);
	if (buf != d->stack) {
		if (h->flags & CLEW__BIN_F_CTX_SET)
			d->lane->ctx_sent = h->ctx_gen;
		return clew__ring_commit(c, d->lane, CLEW__ENTRY_BIN, (size_t)(e->p - buf));
	}
	return clew__ring_push(c, CLEW__ENTRY_BIN, buf, (size_t)(e->p - buf));
}

#if defined(__SSE2__)
/*
 * The argument of kind @k (enum kind) from *@ap at @p. Return: past it,
 * or NULL for what the fast path leaves to the general one (a %s of 32
 * bytes or more, or NULL).
 */
static inline char *take_fast(char *p, int k, va_list *ap)
{
	uint64_t v;

	switch (k) {
	case K_INT:
		v = (uint64_t)(int64_t)va_arg(*ap, int);
		break;
	case K_SCHAR:
		v = (uint64_t)(int64_t)(signed char)va_arg(*ap, int);
		break;
	case K_SHORT:
		v = (uint64_t)(int64_t)(short)va_arg(*ap, int);
		break;
	case K_LONG:
		v = (uint64_t)(int64_t)va_arg(*ap, long);
		break;
	case K_LLONG:
		v = (uint64_t)(int64_t)va_arg(*ap, long long);
		break;
	case K_INTMAX:
		v = (uint64_t)(int64_t)va_arg(*ap, intmax_t);
		break;
	case K_SSIZE:
		v = (uint64_t)(int64_t)va_arg(*ap, ssize_t);
		break;
	case K_PTRDIFF:
		v = (uint64_t)(int64_t)va_arg(*ap, ptrdiff_t);
		break;
	case K_UINT:
		v = va_arg(*ap, unsigned);
		break;
	case K_UCHAR:
		v = (unsigned char)va_arg(*ap, unsigned);
		break;
	case K_USHORT:
		v = (unsigned short)va_arg(*ap, unsigned);
		break;
	case K_ULONG:
		v = va_arg(*ap, unsigned long);
		break;
	case K_ULLONG:
		v = va_arg(*ap, unsigned long long);
		break;
	case K_UINTMAX:
		v = va_arg(*ap, uintmax_t);
		break;
	case K_SIZE:
		v = va_arg(*ap, size_t);
		break;
	case K_UPTRDIFF:
		v = (uint64_t)va_arg(*ap, ptrdiff_t);
		break;
	case K_DBL: {
		double d = va_arg(*ap, double);

		memcpy(&v, &d, 8);
		break;
	}
	case K_PTR:
		v = (uint64_t)(uintptr_t)va_arg(*ap, void *);
		break;
	case K_STR: {
		const char *s = va_arg(*ap, const char *);
		int n;

		if (!s || (n = short_str32(p + 2, s)) < 0)
			return NULL;
		clew__put_u16(p, (size_t)n);
		return p + 2 + n;
	}
	default:
		return NULL;
	}
	memcpy(p, &v, 8);
	return p + 8;
}

/*
 * The usual log call, built in place at @buf in the lane @l of the thread
 * @th with no room checks: a context of short method and path, a format
 * shorter than CLEW__PLAN_FMT_MAX whose walk the thread remembers (the
 * general path remembers it the first time), conversions of a kind, short
 * %s strings and short key/values (attrs_short()), at most FMT_ATTRS_MAX.
 * Such a record is far shorter than the room a reserve gives. The
 * arguments are taken from *@ap. Return:
 * true when the record was committed (*@rc the call's result); false
 * when it is not a usual one: nothing was committed, the general path
 * builds it.
 */
static inline bool log_fast(clew_client *c, struct clew__thread *th, struct clew__lane *l, char *buf,
			    int level, const struct clew_kv *kv, size_t nkv, const char *fmt, va_list *ap,
			    int *rc)
{
	struct head h = {.level = level, .nattrs = nkv, .ids_len = 0, .mlen = 0, .plen = 0};
	const struct clew__fmt_plan *pl;
	struct enc e = {.p = buf + CLEW__BIN_HEAD, .end = buf + CLEW_LINE_MAX};
	char *msg;
	int flen;

	h.ts = c->tsc ? (int64_t)clew__read_tsc() : clew__now_ns();
	h.flags = (c->tsc ? CLEW__BIN_F_TS_TSC : 0) | CLEW__BIN_F_MSG_FMT;
	if (th->ctx_gen == l->ctx_sent) {
		h.flags |= CLEW__BIN_F_CTX_PREV;
	} else {
		const struct clew_context *x = &th->ctx;
		int m, q;

		copy_blocks(e.p, x->ids, x->len);
		e.p += x->len;
		if ((m = short_str(e.p, x->method)) < 0 || (q = short_str32(e.p + m, x->path)) < 0)
			return false;
		e.p += m + q;
		h.ids_len = x->len;
		h.mlen = (size_t)m;
		h.plen = (size_t)q;
		h.flags |= CLEW__BIN_F_CTX_SET;
	}
	msg = e.p;
	flen = short_str32(msg, fmt);
	if (flen <= 0)
		return false;
	pl = plan_slot(th, fmt);
	if (!pl->fast || !plan_match(pl, msg, (size_t)flen))
		return false;
	e.p += flen;
	for (unsigned i = 0; i < pl->nconv && e.p; i++)
		e.p = take_fast(e.p, pl->conv[i].kind, ap);
	if (!e.p)
		return false;
	h.msg_len = (size_t)flen;
	h.args_len = (size_t)(e.p - msg) - (size_t)flen;
	if (attrs_short(&e, kv, nkv) < nkv)
		return false;
	put_head(buf, &h);
	if (h.flags & CLEW__BIN_F_CTX_SET)
		l->ctx_sent = th->ctx_gen;
	*rc = clew__ring_commit(c, l, CLEW__ENTRY_BIN, (size_t)(e.p - buf));
	return true;
}
#endif

/* clew__async_log() of any record: log_fast() declined it. */
__attribute__((format(printf, 6, 0), noinline)) static int log_general(clew_client *c,
								       struct clew__thread *th, int level,
								       const struct clew_kv *kv, size_t nkv,
								       const char *fmt, va_list ap)
{
	char stack[CLEW_LINE_MAX + SLACK];
	struct dest d;
	char *const buf = record_buf(c, th, &d, stack);
	struct enc e = {.p = buf + CLEW__BIN_HEAD, .end = buf + CLEW_LINE_MAX};
	const struct clew_context *x = &th->ctx;
	const bool tsc = c->tsc;
	const int64_t ts = tsc ? (int64_t)clew__read_tsc() : clew__now_ns();
	unsigned flags = tsc ? CLEW__BIN_F_TS_TSC : 0;
	struct head h;
	size_t flen;
	bool all;
	char *msg;
	size_t args_len;
	int rc;

	if (nkv > FMT_ATTRS_MAX) {
		nkv = FMT_ATTRS_MAX;
		flags |= CLEW__BIN_F_ATTRS_TRUNCATED;
	}
	if (buf != stack && th->ctx_gen == d.lane->ctx_sent) {
		/* The context the lane's reader has: none carried. */
		flags |= CLEW__BIN_F_CTX_PREV;
		h.ids_len = h.mlen = h.plen = 0;
	} else {
		/* The NDC always fits, as the method and path do (put_place()). */
		/* ids[] is followed by method[] and more in the struct: 15 bytes past the NDC are readable. */
		_Static_assert(sizeof(x->method) >= 15, "copy_blocks() reads 15 bytes past ids[]");
		copy_blocks(e.p, x->ids, x->len);
		e.p += x->len;
		h.ids_len = x->len;
		put_place(&e, x, &h);
		/* Built in place, it becomes the lane's context once committed (push_record()). */
		if (buf != stack)
			flags |= CLEW__BIN_F_CTX_SET;
	}

	msg = e.p;
	if (fmt) {
		va_list aq;

		rc = 0;
		flen = copy_str(&e, e.p, fmt, CLEW_MSG_MAX - 1, &all);
		if (!all && flen < CLEW_MSG_MAX - 1)
			return clew__drop(c, -CLEW_ETRUNC, "longer than CLEW_LINE_MAX");
		if (all) {
			struct clew__fmt_plan *pl = flen < CLEW__PLAN_FMT_MAX ? plan_slot(th, fmt) : NULL;

			e.p += flen;
			va_copy(aq, ap);
			if (pl && plan_match(pl, msg, flen))
				rc = encode_planned(&e, pl, &aq);
			else
				rc = encode_args(&e, fmt, flen, &aq, pl);
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
			flags |= CLEW__BIN_F_MSG_TEXT;
		} else {
			flags |= CLEW__BIN_F_MSG_FMT;
		}
	} else {
		flen = 0;
	}
	args_len = (size_t)(e.p - msg) - flen;
	rc = encode_attrs(&e, kv, nkv);
	h.level = level;
	h.flags = flags;
	h.nattrs = nkv;
	h.msg_len = flen;
	h.args_len = args_len;
	h.ts = ts;
	h.ctx_gen = th->ctx_gen;
	return push_record(c, &d, buf, &e, rc, &h);
}

__attribute__((format(printf, 5, 0))) int clew__async_log(clew_client *c, int level, const struct clew_kv *kv,
							  size_t nkv, const char *fmt, va_list ap)
{
	struct clew__thread *const th = clew__thread();

	if (atomic_load_explicit(&c->restart, memory_order_relaxed))
		clew__restart_check(c);
#if defined(__SSE2__)
	if (clew__wide_scans && fmt && nkv <= FMT_ATTRS_MAX) {
		struct clew__lane *l;
		char *buf = clew__ring_reserve(c, th, &l);
		int rc = 0;
		bool done = false;

		if (buf) {
			/* A copy: when log_fast() declines after taking arguments, log_general() takes them again. */
			va_list aq;

			va_copy(aq, ap);
			done = log_fast(c, th, l, buf, level, kv, nkv, fmt, &aq, &rc);
			va_end(aq);
		}
		if (done)
			return rc;
	}
#endif
	return log_general(c, th, level, kv, nkv, fmt, ap);
}

int clew__async_span(clew_client *c, int level, int64_t ts_ns, const char *ids, size_t ids_len,
		     const struct clew_kv *pre, size_t npre, const struct clew_kv *kv, size_t nkv)
{
	char stack[CLEW_LINE_MAX + SLACK];
	struct clew__thread *const th = clew__thread();
	struct dest d;
	char *const buf = record_buf(c, th, &d, stack);
	struct enc e = {.p = buf + CLEW__BIN_HEAD, .end = buf + CLEW_LINE_MAX};
	struct head h = {.level = level,
			 .flags = CLEW__BIN_F_SPAN,
			 .nattrs = npre + nkv,
			 .ids_len = ids_len,
			 .msg_len = 0,
			 .args_len = 0,
			 .ts = ts_ns};
	int rc;

	if (atomic_load_explicit(&c->restart, memory_order_relaxed))
		clew__restart_check(c);
	/* The IDs always fit, as the NDC does in clew__async_log(). */
	memcpy(e.p, ids, ids_len);
	e.p += ids_len;
	put_place(&e, &th->ctx, &h);
	rc = encode_attrs(&e, pre, npre);
	if (rc == 0)
		rc = encode_attrs(&e, kv, nkv);
	return push_record(c, &d, buf, &e, rc, &h);
}
