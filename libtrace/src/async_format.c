/*
 * async_format.c - the writer's side of async records: decoding a binary
 * record (async.h) and formatting its line.
 *
 * DESIGN: the message is rebuilt conversion by conversion from the format
 * and the arguments the caller encoded: the common plain ones (%d %u %x
 * %s %c %p ...) by hand, the others with snprintf() of the conversion's
 * own text, so the message is what vsnprintf() would have made. In a
 * fatal-signal handler snprintf() is not allowed: there, flags, width and
 * precision are ignored (but the precision of %s) and doubles are written
 * by a simple conversion with at most 15 significant digits
 * (clew__dbl_text_safe(), num.c). The key/values become a struct
 * fmt_record's attributes as sync mode makes them (num.h), and the
 * formats library's emitter writes the line. Async-signal-safe but for
 * snprintf(), which only runs when not @in_signal.
 */
#include <stdio.h>
#include <string.h>

#include "async.h"
#include "fmt/str.h"
#include "num.h"
#include "printf_spec.h"

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

/* One conversion by hand, flags, width and precision ignored (the caller made sure they are none, or @safe). */
static void put_plain(struct out *o, const struct clew__spec *sp, uint64_t v, const char *s, size_t slen)
{
	char tmp[CLEW__NUM_MAX], *end = tmp + sizeof(tmp), *p;

	switch (sp->cls) {
	case CLEW__C_INT:
		p = clew__utoa_back(end, (int64_t)v < 0 ? 0 - v : v, 10, false);
		if ((int64_t)v < 0)
			*--p = '-';
		break;
	case CLEW__C_UINT:
		p = clew__utoa_back(end, v, sp->conv == 'o' ? 8 : sp->conv == 'u' ? 10 : 16, sp->conv == 'X');
		break;
	case CLEW__C_CHR:
		tmp[0] = (char)(unsigned char)v;
		out_put(o, tmp, 1);
		return;
	case CLEW__C_PTR:
		if (!v) {
			out_put(o, "(nil)", 5);
			return;
		}
		p = clew__utoa_back(end, v, 16, false);
		*--p = 'x';
		*--p = '0';
		break;
	case CLEW__C_DBL: {
		double d;

		memcpy(&d, &v, 8);
		out_put(o, tmp, clew__dbl_text_safe(tmp, d));
		return;
	}
	default: /* CLEW__C_STR */
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
static void put_snprintf(struct out *o, const struct clew__spec *sp, bool left, int width, int prec,
			 uint64_t v, const char *s, size_t slen)
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
		q += clew__i64_text(q, width);
	if (sp->cls == CLEW__C_STR)
		prec = (int)slen;
	if (prec >= 0) {
		*q++ = '.';
		q += clew__i64_text(q, prec);
	}
	if (sp->cls == CLEW__C_INT || sp->cls == CLEW__C_UINT) {
		*q++ = 'l';
		*q++ = 'l';
	}
	*q++ = sp->conv;
	*q = '\0';
	/* The output has room for the NUL after cap bytes (see format_msg()). */
	switch (sp->cls) {
	case CLEW__C_INT:
		n = snprintf(o->p + o->len, left_bytes + 1, f, (long long)(int64_t)v);
		break;
	case CLEW__C_UINT:
		n = snprintf(o->p + o->len, left_bytes + 1, f, (unsigned long long)v);
		break;
	case CLEW__C_CHR:
		n = snprintf(o->p + o->len, left_bytes + 1, f, (int)(int64_t)v);
		break;
	case CLEW__C_PTR:
		n = snprintf(o->p + o->len, left_bytes + 1, f, (void *)(uintptr_t)v);
		break;
	case CLEW__C_DBL:
		memcpy(&d, &v, 8);
		n = snprintf(o->p + o->len, left_bytes + 1, f, d);
		break;
	default: /* CLEW__C_STR */
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
	struct clew__spec sp;

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
		clew__parse_spec(pct, &sp);
		/* The caller parsed these very bytes; a failure here is a corrupt record: stop. */
		if (sp.cls == CLEW__C_BAD || sp.len > (size_t)(end - pct))
			return;
		p = pct + sp.len;
		if (sp.cls == CLEW__C_PCT) {
			out_put(o, "%", 1);
			continue;
		}
		width = sp.width;
		if (width == CLEW__SPEC_STAR) {
			if (!take_8(&a, aend, &v))
				return;
			width = (int)(int64_t)v;
			if (width < 0) {
				left = true;
				width = width == INT32_MIN ? INT32_MAX : -width;
			}
			if (width > CLEW__SPEC_NUM_MAX)
				width = CLEW__SPEC_NUM_MAX;
		}
		prec = sp.prec;
		if (prec == CLEW__SPEC_STAR) {
			if (!take_8(&a, aend, &v))
				return;
			prec = (int)(int64_t)v;
			if (prec < 0)
				prec = CLEW__SPEC_NONE;
			if (prec > CLEW__SPEC_NUM_MAX)
				prec = CLEW__SPEC_NUM_MAX;
		}
		if (sp.cls == CLEW__C_STR) {
			if (aend - a < 2)
				return;
			slen = clew__get_u16(a);
			if ((size_t)(aend - a) < 2 + slen)
				return;
			s = a + 2;
			a += 2 + slen;
		} else if (!take_8(&a, aend, &v)) {
			return;
		}
		if (safe || (sp.nflags == 0 && !left && width == CLEW__SPEC_NONE &&
			     (prec == CLEW__SPEC_NONE || sp.cls == CLEW__C_STR) && sp.cls != CLEW__C_DBL))
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
	klen = clew__get_u16(p + 1);
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
		n = clew__get_u16(p);
		if ((size_t)(end - p) < 2 + n)
			return false;
		a->type = FMT_T_STRING;
		a->val = fmt_str_n(p + 2, n);
		p += 2 + n;
		break;
	case CLEW_KV_INT:
		if (!take_8(&p, end, &v))
			return false;
		clew__attr_int(a, (int64_t)v, num);
		break;
	case CLEW_KV_DOUBLE:
		if (!take_8(&p, end, &v))
			return false;
		memcpy(&d, &v, 8);
		clew__attr_double(a, d, num, safe);
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

/*
 * The record's context (IDs, method, path: @ids_len + @mlen + @plen bytes
 * at @p) made the lane's @lc (CLEW__BIN_F_CTX_SET). Return: false when it
 * would not fit (never, for our own records).
 */
static bool ctx_set(struct clew__lane_ctx *lc, const char *p, size_t ids_len, size_t mlen, size_t plen)
{
	if (ids_len > CLEW_NDC_BYTES || mlen > CLEW_METHOD_MAX || plen > CLEW_PATH_MAX)
		return false;
	memcpy(lc->bytes, p, ids_len + mlen + plen);
	lc->ids_len = (uint16_t)ids_len;
	lc->method_len = (uint8_t)mlen;
	lc->path_len = (uint16_t)plen;
	return true;
}

int clew__async_format(clew_client *c, struct clew__scratch *sc, struct clew__lane_ctx *lc, const char *e,
		       size_t len, size_t *out_len, bool in_signal)
{
	struct fmt_record *rec = &sc->rec;
	const char *p = e + CLEW__BIN_HEAD, *end = e + len, *cp;
	size_t ids_len, mlen, plen, msglen, alen, n;
	size_t cids_len, cmlen, cplen;
	unsigned flags, nattrs, depth = 0;
	int64_t ts;
	int rc;

	if (len < CLEW__BIN_HEAD)
		return -CLEW_EINVAL;
	flags = (unsigned char)e[CLEW__BIN_H_FLAGS];
	nattrs = (unsigned char)e[CLEW__BIN_H_NATTRS];
	mlen = (unsigned char)e[CLEW__BIN_H_METHOD_LEN];
	ids_len = clew__get_u16(e + CLEW__BIN_H_IDS_LEN);
	plen = clew__get_u16(e + CLEW__BIN_H_PATH_LEN);
	msglen = clew__get_u16(e + CLEW__BIN_H_MSG_LEN);
	alen = clew__get_u16(e + CLEW__BIN_H_ARGS_LEN);
	memcpy(&ts, e + CLEW__BIN_H_TS, 8);
	if (flags & CLEW__BIN_F_TS_TSC)
		ts = clew__tsc_to_ns(&sc->clock, (uint64_t)ts);
	if (ids_len + mlen + plen + msglen + alen > len - CLEW__BIN_HEAD || nattrs > FMT_ATTRS_MAX)
		return -CLEW_EINVAL;
	/* The context: the record's own, or the lane's (kept before anything can fail). */
	cp = p;
	cids_len = ids_len;
	cmlen = mlen;
	cplen = plen;
	if ((flags & CLEW__BIN_F_CTX_SET) && !ctx_set(lc, p, ids_len, mlen, plen))
		return -CLEW_EINVAL;
	if (flags & CLEW__BIN_F_CTX_PREV) {
		cp = lc->bytes;
		cids_len = lc->ids_len;
		cmlen = lc->method_len;
		cplen = lc->path_len;
	}
	p += ids_len + mlen + plen;

	clew__record_init(rec, c, (unsigned char)e[CLEW__BIN_H_LEVEL], ts);
	for (const char *q = cp, *qe = cp + cids_len; q < qe && depth < FMT_IDS_MAX;) {
		const char *z = memchr(q, '\0', (size_t)(qe - q));

		if (!z)
			break;
		rec->ids[depth++] = fmt_str_n(q, (size_t)(z - q));
		q = z + 1;
	}
	rec->nids = (uint16_t)depth;
	clew__record_ids(rec);
	cp += cids_len;
	if (cmlen)
		rec->method = fmt_str_n(cp, cmlen);
	cp += cmlen;
	if (cplen)
		rec->path = fmt_str_n(cp, cplen);
	if (flags & CLEW__BIN_F_MSG_TEXT) {
		rec->message = fmt_str_n(p, msglen);
	} else if (flags & CLEW__BIN_F_MSG_FMT) {
		struct out o = {.p = sc->msg, .len = 0, .cap = sizeof(sc->msg) - 1};

		format_msg(&o, p, msglen, p + msglen, alen, in_signal);
		rec->message = fmt_str_n(sc->msg, o.len);
	}
	p += msglen + alen;
	if (flags & CLEW__BIN_F_ATTRS_TRUNCATED)
		rec->flags |= FMT_F_ATTRS_TRUNCATED;
	if (flags & CLEW__BIN_F_SPAN)
		rec->event = FMT_EVENT_SPAN;
	for (unsigned i = 0; i < nattrs; i++)
		if (!decode_attr(&p, end, &rec->attrs[i], sc->num[i], in_signal))
			return -CLEW_EINVAL;
	rec->nattrs = (uint16_t)nattrs;

	rc = clew__line(c, rec, sc->line, sizeof(sc->line), &n);
	if (rc == -FMT_ETRUNC)
		return -CLEW_ETRUNC;
	if (rc < 0)
		return -CLEW_EINVAL;
	*out_len = n;
	return 0;
}
