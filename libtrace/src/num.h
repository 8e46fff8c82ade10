/*
 * num.h - numbers as text, one implementation for libclew: integers
 * (inline and async-signal-safe: the sync key/values, the metrics and the
 * async writer use them), doubles without snprintf() (num.c: the writer in
 * a fatal-signal handler), and a number key/value's value as the emitters
 * take it (sync records and async ones alike).
 */
#ifndef CLEW_NUM_H
#define CLEW_NUM_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fmt/str.h"
#include "internal.h"

/* @v in @base (8, 10 or 16), written backwards ending at @end; return the first digit. */
static inline char *clew__utoa_back(char *end, uint64_t v, unsigned base, bool upper)
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

/* The text of the uint64 @v into @out (CLEW__NUM_MAX), as %llu writes it; its length. */
static inline size_t clew__u64_text(char *out, uint64_t v)
{
	char tmp[24], *end = tmp + sizeof(tmp), *p;
	size_t n;

	p = clew__utoa_back(end, v, 10, false);
	n = (size_t)(end - p);
	memcpy(out, p, n);
	return n;
}

/* The text of the int64 @v into @out (CLEW__NUM_MAX), as %lld writes it; its length. */
static inline size_t clew__i64_text(char *out, int64_t v)
{
	if (v >= 0)
		return clew__u64_text(out, (uint64_t)v);
	*out = '-';
	return 1 + clew__u64_text(out + 1, 0 - (uint64_t)v);
}

/*
 * clew__dbl_text_safe() - async-signal-safe text of a double, no
 * snprintf(): like %g with up to 15 significant digits (num.c). @out
 * holds CLEW__NUM_MAX. Return: the length.
 */
size_t clew__dbl_text_safe(char *out, double d);

/* @a's value: the int64 @v, its text in @num (which must live as long as @a). */
static inline void clew__attr_int(struct fmt_attr *a, int64_t v, char num[CLEW__NUM_MAX])
{
	a->type = FMT_T_NUMBER;
	a->val = fmt_str_n(num, clew__i64_text(num, v));
}

/*
 * @a's value: the double @d, its text (%.17g; with @safe, the
 * async-signal-safe conversion) in @num, which must live as long as @a.
 * JSON has no NaN or infinity: they travel as strings.
 */
static inline void clew__attr_double(struct fmt_attr *a, double d, char num[CLEW__NUM_MAX], bool safe)
{
	size_t n;

	if (!isfinite(d)) {
		a->type = FMT_T_STRING;
		a->val = fmt_str_c(isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
		return;
	}
	a->type = FMT_T_NUMBER;
	n = safe ? clew__dbl_text_safe(num, d) : (size_t)snprintf(num, CLEW__NUM_MAX, "%.17g", d);
	a->val = fmt_str_n(num, n);
}

#endif
