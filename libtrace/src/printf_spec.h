/*
 * printf_spec.h - printf conversion specifications: one parser for both
 * sides of an async record, the caller's encoder (async_encode.c), which
 * takes each conversion's argument with va_arg, and the writer's
 * formatter (async_format.c), which rebuilds the message from them.
 * Inline: the encoder runs it for every conversion of every log call.
 */
#ifndef CLEW_PRINTF_SPEC_H
#define CLEW_PRINTF_SPEC_H

#include <stddef.h>

#include "clew/clew.h"

/* The length modifier: hh h l ll (or q) j z t L. */
enum clew__lmod {
	CLEW__LM_NONE,
	CLEW__LM_HH,
	CLEW__LM_H,
	CLEW__LM_L,
	CLEW__LM_LL,
	CLEW__LM_J,
	CLEW__LM_Z,
	CLEW__LM_T,
	CLEW__LM_BIGL
};

/* What a conversion takes: its class (CLEW__C_BAD: a conversion not carried, see clew__parse_spec()). */
enum clew__cls {
	CLEW__C_BAD,
	CLEW__C_PCT,
	CLEW__C_INT,
	CLEW__C_UINT,
	CLEW__C_DBL,
	CLEW__C_CHR,
	CLEW__C_STR,
	CLEW__C_PTR
};

/* Width or precision: none, '*' (an int argument), or a number. */
#define CLEW__SPEC_NONE (-1)
#define CLEW__SPEC_STAR (-2)
/* Larger widths and precisions go to vsnprintf() on the caller: they would not fit a message anyway. */
#define CLEW__SPEC_NUM_MAX CLEW_MSG_MAX

struct clew__spec {
	const char *flags; /* the flag characters, nflags of them */
	unsigned nflags;
	int width;  /* CLEW__SPEC_NONE, CLEW__SPEC_STAR or >= 0 */
	int prec;   /* CLEW__SPEC_NONE, CLEW__SPEC_STAR or >= 0 */
	int lm;	    /* enum clew__lmod */
	char conv;  /* the conversion character */
	int cls;    /* enum clew__cls; CLEW__C_BAD: not supported */
	size_t len; /* bytes of the specification, '%' included */
};

/* Parse the specification at @p (p[0] == '%'); spec->cls is CLEW__C_BAD for what we do not support. */
static inline void clew__parse_spec(const char *p, struct clew__spec *sp)
{
	const char *q = p + 1;
	int n;

	sp->flags = q;
	while (*q == '-' || *q == '+' || *q == ' ' || *q == '#' || *q == '0')
		q++;
	sp->nflags = (unsigned)(q - sp->flags);
	sp->width = CLEW__SPEC_NONE;
	sp->prec = CLEW__SPEC_NONE;
	sp->lm = CLEW__LM_NONE;
	sp->cls = CLEW__C_BAD;
	if (*q == '*') {
		sp->width = CLEW__SPEC_STAR;
		q++;
	} else if (*q >= '0' && *q <= '9') {
		for (n = 0; *q >= '0' && *q <= '9'; q++) {
			n = n * 10 + (*q - '0');
			if (n > CLEW__SPEC_NUM_MAX)
				goto bad;
		}
		sp->width = n;
	}
	if (*q == '.') {
		q++;
		if (*q == '*') {
			sp->prec = CLEW__SPEC_STAR;
			q++;
		} else {
			for (n = 0; *q >= '0' && *q <= '9'; q++) {
				n = n * 10 + (*q - '0');
				if (n > CLEW__SPEC_NUM_MAX)
					goto bad;
			}
			sp->prec = n;
		}
	}
	switch (*q) {
	case 'h':
		sp->lm = q[1] == 'h' ? CLEW__LM_HH : CLEW__LM_H;
		q += sp->lm == CLEW__LM_HH ? 2 : 1;
		break;
	case 'l':
		sp->lm = q[1] == 'l' ? CLEW__LM_LL : CLEW__LM_L;
		q += sp->lm == CLEW__LM_LL ? 2 : 1;
		break;
	case 'q':
		sp->lm = CLEW__LM_LL;
		q++;
		break;
	case 'j':
		sp->lm = CLEW__LM_J;
		q++;
		break;
	case 'z':
		sp->lm = CLEW__LM_Z;
		q++;
		break;
	case 't':
		sp->lm = CLEW__LM_T;
		q++;
		break;
	case 'L':
		sp->lm = CLEW__LM_BIGL;
		q++;
		break;
	default:
		break;
	}
	sp->conv = *q;
	switch (*q) {
	case 'd':
	case 'i':
		sp->cls = sp->lm == CLEW__LM_BIGL ? CLEW__C_BAD : CLEW__C_INT;
		break;
	case 'u':
	case 'o':
	case 'x':
	case 'X':
		sp->cls = sp->lm == CLEW__LM_BIGL ? CLEW__C_BAD : CLEW__C_UINT;
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
		sp->cls = sp->lm == CLEW__LM_NONE || sp->lm == CLEW__LM_L ? CLEW__C_DBL : CLEW__C_BAD;
		break;
	case 'c':
		sp->cls =
			sp->lm == CLEW__LM_NONE ? CLEW__C_CHR : CLEW__C_BAD; /* %lc: a wint_t, not carried */
		break;
	case 's':
		sp->cls = sp->lm == CLEW__LM_NONE ? CLEW__C_STR : CLEW__C_BAD; /* %ls: wide, not carried */
		break;
	case 'p':
		sp->cls = sp->lm == CLEW__LM_NONE ? CLEW__C_PTR : CLEW__C_BAD;
		break;
	case '%':
		/* Only the plain "%%". */
		sp->cls = q == p + 1 ? CLEW__C_PCT : CLEW__C_BAD;
		break;
	default:
		/* %n, %m, positional arguments (%1$d), the end of the string, anything else. */
		goto bad;
	}
	sp->len = (size_t)(q + 1 - p);
	return;
bad:
	sp->cls = CLEW__C_BAD;
	sp->len = 0;
}

#endif
