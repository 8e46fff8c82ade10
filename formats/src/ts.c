/*
 * ts.c - RFC 3339 timestamps <-> nanoseconds since the epoch (UTC).
 *
 * DESIGN: both directions are plain integer arithmetic on the proleptic
 * Gregorian calendar (Howard Hinnant's days_from_civil/civil_from_days),
 * so there is no libc time function, no locale, no TZ lookup and no
 * global state: the functions are pure and thread-safe.
 *
 * The parser walks fixed positions (YYYY-MM-DDThh:mm:ss), then an
 * optional fraction of 1..9 digits, then the zone. Every error names the
 * field that is wrong and points at its first byte, except the fraction,
 * which points at the first digit past the ninth. Years 0000-9999 are
 * accepted by the grammar; the result must still fit an int64_t of
 * nanoseconds (1677-09-21 .. 2262-04-11), else "timestamp out of range".
 * A leap second (ss = 60) is taken as the first second after it.
 *
 * The formatter always writes UTC with 'Z'; it does not round, it cuts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fmt/ts.h"

#define NS_PER_SEC 1000000000LL

/* 10^i, to scale a fraction of 9 - i digits to nanoseconds. */
static const int32_t pow10[10] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000};

static int ts_fail(struct fmt_err *err, size_t offset, const char *what)
{
	if (err) {
		err->offset = offset;
		err->what = what;
	}
	return -FMT_ETS;
}

/* Two ASCII digits at s[0..1] as a number, or -1. */
static inline int two_digits(const char *s)
{
	unsigned a = (unsigned char)s[0] - '0';
	unsigned b = (unsigned char)s[1] - '0';

	if (a > 9 || b > 9)
		return -1;
	return (int)(a * 10 + b);
}

static inline bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && is_leap(y))
		return 29;
	return dim[m - 1];
}

/*
 * Days since 1970-01-01 of a proleptic Gregorian date, year 0000-9999.
 * The year is shifted by one 400-year era so that all of it is unsigned.
 */
static inline int64_t days_from_civil(int y, unsigned m, unsigned d)
{
	unsigned yy = (unsigned)(y + 400) - (m <= 2);
	unsigned era = yy / 400, yoe = yy - era * 400;
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return ((int64_t)era - 1) * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* The fixed part "YYYY-MM-DDThh:mm:ss" of a timestamp. */
struct ts_fixed {
	int year, mon, day; /* checked calendar date */
	int hh, mi, ss;	    /* 00-23, 00-59, 00-60 */
};

/* Read the fixed part field by field, reporting the first field that is wrong. */
static inline int parse_fixed(const char *s, size_t len, struct ts_fixed *t, struct fmt_err *err)
{
	int y2;

	if (!s || len < 4 || (t->year = two_digits(s)) < 0 || (y2 = two_digits(s + 2)) < 0)
		return ts_fail(err, 0, "invalid year");
	t->year = t->year * 100 + y2;
	if (len < 5 || s[4] != '-')
		return ts_fail(err, 4, "expected '-'");
	if (len < 7 || (t->mon = two_digits(s + 5)) < 1 || t->mon > 12)
		return ts_fail(err, 5, "invalid month");
	if (len < 8 || s[7] != '-')
		return ts_fail(err, 7, "expected '-'");
	if (len < 10 || (t->day = two_digits(s + 8)) < 1 || t->day > days_in_month(t->year, t->mon))
		return ts_fail(err, 8, "invalid day");
	if (len < 11 || (s[10] != 'T' && s[10] != 't'))
		return ts_fail(err, 10, "expected 'T'");
	if (len < 13 || (t->hh = two_digits(s + 11)) < 0 || t->hh > 23)
		return ts_fail(err, 11, "invalid hour");
	if (len < 14 || s[13] != ':')
		return ts_fail(err, 13, "expected ':'");
	if (len < 16 || (t->mi = two_digits(s + 14)) < 0 || t->mi > 59)
		return ts_fail(err, 14, "invalid minute");
	if (len < 17 || s[16] != ':')
		return ts_fail(err, 16, "expected ':'");
	if (len < 19 || (t->ss = two_digits(s + 17)) < 0 || t->ss > 60)
		return ts_fail(err, 17, "invalid second");
	return 0;
}

int fmt_ts_parse(const char *s, size_t len, int64_t *ns, struct fmt_err *err)
{
	struct ts_fixed t;
	int64_t frac = 0, off = 0, secs, out;
	size_t p, nd;
	int rc;

	rc = parse_fixed(s, len, &t, err);
	if (rc < 0)
		return rc;

	p = 19;
	if (p < len && s[p] == '.') {
		size_t first = ++p, lim = len - p > 10 ? p + 10 : len;

		/* at most 10 digits are read (they fit an int64_t); a tenth is an error */
		while (p < lim && (unsigned)((unsigned char)s[p] - '0') <= 9)
			frac = frac * 10 + (s[p++] - '0');
		nd = p - first;
		if (nd == 0)
			return ts_fail(err, p, "missing fraction digits");
		if (nd > 9)
			return ts_fail(err, first + 9, "fraction longer than 9 digits");
		frac *= pow10[9 - nd];
	}

	if (p >= len)
		return ts_fail(err, p, "missing time zone");
	if (s[p] == 'Z' || s[p] == 'z') {
		p++;
	} else if (s[p] == '+' || s[p] == '-') {
		int oh, om;

		if (len - p < 6 || (oh = two_digits(s + p + 1)) < 0 || oh > 23 || s[p + 3] != ':' ||
		    (om = two_digits(s + p + 4)) < 0 || om > 59)
			return ts_fail(err, p, "invalid offset");
		off = (int64_t)oh * 3600 + om * 60;
		if (s[p] == '-')
			off = -off;
		p += 6;
	} else {
		return ts_fail(err, p, "missing time zone");
	}
	if (p != len)
		return ts_fail(err, p, "trailing characters");

	/* local time = UTC + offset, so UTC = local - offset */
	secs = days_from_civil(t.year, (unsigned)t.mon, (unsigned)t.day) * 86400 + t.hh * 3600 + t.mi * 60 +
	       t.ss - off;
	if (t.year > 1677 && t.year < 2262) {
		/* a day either way of these years still fits */
		out = secs * NS_PER_SEC + frac;
	} else {
		if (secs < 0 && frac > 0) {
			/* keep secs * 1e9 in range near INT64_MIN */
			secs += 1;
			frac -= NS_PER_SEC;
		}
		if (__builtin_mul_overflow(secs, NS_PER_SEC, &out) || __builtin_add_overflow(out, frac, &out))
			return ts_fail(err, 0, "timestamp out of range");
	}
	if (ns)
		*ns = out;
	return 0;
}

static inline char *put2(char *o, unsigned v)
{
	o[0] = (char)('0' + v / 10);
	o[1] = (char)('0' + v % 10);
	return o + 2;
}

size_t fmt_ts_format(int64_t ns, int digits, char *out)
{
	int64_t secs = ns / NS_PER_SEC, frac = ns % NS_PER_SEC, days, sod, y;
	unsigned mon, day, yy;
	char *o = out;

	if (frac < 0) {
		frac += NS_PER_SEC;
		secs--;
	}
	days = secs / 86400;
	sod = secs % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	civil_from_days(days, &y, &mon, &day);

	if (digits < 0 || digits > 9) {
		if (digits > 9)
			digits = 9;
		else if (frac == 0)
			digits = 0;
		else if (frac % 1000000 == 0)
			digits = 3;
		else if (frac % 1000 == 0)
			digits = 6;
		else
			digits = 9;
	}

	/* an int64_t of ns spans 1677..2262: always four digits */
	yy = (unsigned)y;
	o = put2(o, yy / 100);
	o = put2(o, yy % 100);
	*o++ = '-';
	o = put2(o, mon);
	*o++ = '-';
	o = put2(o, day);
	*o++ = 'T';
	o = put2(o, (unsigned)(sod / 3600));
	*o++ = ':';
	o = put2(o, (unsigned)(sod / 60 % 60));
	*o++ = ':';
	o = put2(o, (unsigned)(sod % 60));
	if (digits > 0) {
		char f[9];
		int i;
		int64_t v = frac;

		for (i = 8; i >= 0; i--) {
			f[i] = (char)('0' + v % 10);
			v /= 10;
		}
		*o++ = '.';
		memcpy(o, f, (size_t)digits);
		o += digits;
	}
	*o++ = 'Z';
	*o = '\0';
	return (size_t)(o - out);
}
