/*
 * parsers/timefmt.c - timestamps by a user's time format (see timefmt.h).
 *
 * DESIGN: the format is checked once (parse_timefmt_init) and kept as a
 * string; each parse walks it beside the text, filling the fields of a
 * broken-down time, then turns that into nanoseconds with integer
 * arithmetic on the proleptic Gregorian calendar (the days_from_civil of
 * formats/src/ts.c, repeated here because the formats library keeps it
 * private). No strptime(): it depends on the locale (month names) and on
 * TZ, and it cannot say where a string stopped matching in a length-
 * bounded buffer. Every read is bounded by the text's length: the text is
 * a view into a line, never NUL-terminated.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fmt/ts.h"
#include <parsers/timefmt.h>

#define NS_PER_SEC 1000000000LL
#define SECS_PER_DAY 86400LL

/*
 * A time more than this far ahead of now takes the year before (year-less
 * formats): a line is not written in the future, but a zone-less local
 * time read as UTC can be up to 14 hours ahead, and clocks drift.
 */
#define YEARLESS_AHEAD_NS (2LL * SECS_PER_DAY * NS_PER_SEC)

static const char *const month_names[12] = {"january",	 "february", "march",	 "april",
					    "may",	 "june",     "july",	 "august",
					    "september", "october",  "november", "december"};
static const char *const day_names[7] = {"sunday",   "monday", "tuesday", "wednesday",
					 "thursday", "friday", "saturday"};

/* Directives a pattern may use, and those that put a date or time in it. */
static const char directives[] = "YymdeHIMSfbhBaAzZpTFRs%";
static const char timeful[] = "YymdeHIMSbhBFTRs";

static bool is_leap(int y)
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

/* Days since 1970-01-01 of a proleptic Gregorian date, year 0000-9999. */
static int64_t days_from_civil(int y, unsigned m, unsigned d)
{
	unsigned yy = (unsigned)(y + 400) - (m <= 2);
	unsigned era = yy / 400, yoe = yy - era * 400;
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return ((int64_t)era - 1) * 146097 + (int64_t)doe - 719468;
}

/* The year of @ns (UTC). */
static int year_of(int64_t ns)
{
	int64_t z = ns / NS_PER_SEC / SECS_PER_DAY, era;
	unsigned doe, yoe, doy, mp, m;

	if (ns < 0 && ns % (NS_PER_SEC * SECS_PER_DAY))
		z--;
	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	m = mp < 10 ? mp + 3 : mp - 9;
	return (int)((int64_t)yoe + era * 400 + (m <= 2));
}

int parse_timefmt_init(struct parse_timefmt *tf, const char *spec, struct cd_err *err)
{
	static const struct {
		const char *name;
		enum parse_tf_kind kind;
	} keywords[] = {
		{"rfc3339", PARSE_TF_RFC3339},	 {"epoch", PARSE_TF_EPOCH},
		{"epoch_ms", PARSE_TF_EPOCH_MS}, {"epoch_us", PARSE_TF_EPOCH_US},
		{"epoch_ns", PARSE_TF_EPOCH_NS},
	};
	bool any_time = false;
	size_t n;

	memset(tf, 0, sizeof(*tf));
	tf->kind = PARSE_TF_RFC3339;
	if (!spec || !*spec)
		return 0;
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		if (strcmp(spec, keywords[i].name) == 0) {
			tf->kind = (uint8_t)keywords[i].kind;
			return 0;
		}
	}
	n = strlen(spec);
	if (n > CD_TIME_FORMAT_MAX)
		return cd_err_set(err, -CD_EINVAL, 0, "time format longer than %u bytes", CD_TIME_FORMAT_MAX);
	for (size_t i = 0; i < n; i++) {
		if (spec[i] != '%')
			continue;
		if (i + 1 == n)
			return cd_err_set(err, -CD_EINVAL, 0, "time format: '%%' at the end (offset %zu)", i);
		if (!strchr(directives, spec[i + 1]) || spec[i + 1] == '\0') {
			unsigned char c = (unsigned char)spec[i + 1];
			if (c >= 0x20 && c < 0x7f)
				return cd_err_set(err, -CD_EINVAL, 0,
						  "time format: unknown directive %%%c at offset %zu", c, i);
			return cd_err_set(err, -CD_EINVAL, 0,
					  "time format: unknown directive %%\\x%02x at offset %zu", c, i);
		}
		if (strchr(timeful, spec[i + 1]))
			any_time = true;
		if (strchr("YyFs", spec[i + 1]))
			tf->has_year = true;
		i++;
	}
	if (!any_time)
		return cd_err_set(
			err, -CD_EINVAL, 0,
			"time format '%s': no date or time directive (expected rfc3339, epoch, "
			"epoch_ms, epoch_us, epoch_ns or a pattern such as %%Y-%%m-%%d %%H:%%M:%%S)",
			spec);
	tf->kind = PARSE_TF_PATTERN;
	memcpy(tf->fmt, spec, n + 1);
	return 0;
}

/* --- epoch ------------------------------------------------------------- */

/* [-]DIGITS[.DIGITS] in units of @unit_ns; the fraction is cut below 1 ns. */
static int parse_epoch(const char *s, size_t n, int64_t unit_ns, int64_t *ns)
{
	const char *p = s, *end = s + n;
	bool neg = false;
	uint64_t v = 0, frac = 0, scale = 1;
	int digits = 0;
	int64_t r;

	if (p < end && *p == '-') {
		neg = true;
		p++;
	}
	for (; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > ((uint64_t)INT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (!digits)
		return -1;
	if (p < end && *p == '.') {
		const char *f = ++p;
		for (; p < end && *p >= '0' && *p <= '9'; p++) {
			if (p - f < 9) {
				frac = frac * 10 + (unsigned)(*p - '0');
				scale *= 10;
			}
		}
		if (p == f)
			return -1;
	}
	if (p != end || v > (uint64_t)(INT64_MAX / unit_ns))
		return -1;
	r = (int64_t)v * unit_ns;
	/* frac / scale of a unit: frac < 10^9 and unit_ns <= 10^9, so the product fits */
	if ((int64_t)(frac * (uint64_t)unit_ns / scale) > INT64_MAX - r)
		return -1;
	r += (int64_t)(frac * (uint64_t)unit_ns / scale);
	*ns = neg ? -r : r;
	return 0;
}

/* --- patterns ------------------------------------------------------------ */

/* The fields a pattern fills. */
struct tf_acc {
	int year;	 /* -1: not in the text */
	int mon, day;	 /* 1-based */
	int hour, min;	 /* 0-based */
	int sec;	 /* 0..60 */
	int32_t nsec;	 /* fraction */
	int32_t off;	 /* zone offset, seconds east of UTC */
	int pm;		 /* -1: no %p, 0: AM, 1: PM */
	bool h12;	 /* the hour came from %I */
	bool epoch;	 /* %s: epoch_s is the time */
	int64_t epoch_s; /* %s */
};

struct tf_cur {
	const char *p;	 /* next byte of the text */
	const char *end; /* end of the text */
};

static void skip_blanks(struct tf_cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

/* 1..@max digits as a number in [lo, hi]. */
static bool read_num(struct tf_cur *c, int max, int lo, int hi, int *out)
{
	int v = 0, k = 0;

	while (k < max && c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		v = v * 10 + (*c->p - '0');
		c->p++;
		k++;
	}
	if (!k || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* An English name from @names (full, or its first three letters), any case. */
static bool read_name(struct tf_cur *c, const char *const *names, int count, int *idx)
{
	size_t left = (size_t)(c->end - c->p);

	for (int i = 0; i < count; i++) {
		size_t full = strlen(names[i]);
		if (left >= full && strncasecmp(c->p, names[i], full) == 0) {
			c->p += full;
			*idx = i;
			return true;
		}
	}
	for (int i = 0; i < count; i++) {
		if (left >= 3 && strncasecmp(c->p, names[i], 3) == 0) {
			c->p += 3;
			*idx = i;
			return true;
		}
	}
	return false;
}

/* Z | +hh | +hhmm | +hh:mm (or -). */
static bool read_zone(struct tf_cur *c, int32_t *off)
{
	int sign, hh, mm = 0;

	if (c->p < c->end && (*c->p == 'Z' || *c->p == 'z')) {
		c->p++;
		*off = 0;
		return true;
	}
	if (c->p >= c->end || (*c->p != '+' && *c->p != '-'))
		return false;
	sign = *c->p++ == '-' ? -1 : 1;
	if (c->end - c->p < 2 || !read_num(c, 2, 0, 23, &hh))
		return false;
	if (c->p < c->end && *c->p == ':') {
		c->p++;
		if (c->end - c->p < 2 || !read_num(c, 2, 0, 59, &mm))
			return false;
	} else if (c->end - c->p >= 2 && c->p[0] >= '0' && c->p[0] <= '9') {
		if (!read_num(c, 2, 0, 59, &mm))
			return false;
	}
	*off = sign * (hh * 3600 + mm * 60);
	return true;
}

static bool read_zone_name(struct tf_cur *c, int32_t *off)
{
	static const char *const names[] = {"UTC", "GMT", "Z"};
	size_t left = (size_t)(c->end - c->p);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t k = strlen(names[i]);
		if (left >= k && strncasecmp(c->p, names[i], k) == 0) {
			c->p += k;
			*off = 0;
			return true;
		}
	}
	return false;
}

static bool read_fraction(struct tf_cur *c, int32_t *nsec)
{
	const char *start = c->p;
	int32_t v = 0;

	for (; c->p < c->end && *c->p >= '0' && *c->p <= '9'; c->p++)
		if (c->p - start < 9)
			v = v * 10 + (*c->p - '0');
	if (c->p == start)
		return false;
	for (ptrdiff_t k = c->p - start; k < 9; k++)
		v *= 10;
	*nsec = v;
	return true;
}

static bool read_epoch_s(struct tf_cur *c, int64_t *out)
{
	bool neg = false;
	int64_t v = 0;
	int k = 0;

	if (c->p < c->end && *c->p == '-') {
		neg = true;
		c->p++;
	}
	for (; c->p < c->end && *c->p >= '0' && *c->p <= '9'; c->p++, k++) {
		if (v > (INT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (*c->p - '0');
	}
	*out = neg ? -v : v;
	return k > 0;
}

static bool walk(const char *fmt, struct tf_cur *c, struct tf_acc *a);

static bool directive(char d, struct tf_cur *c, struct tf_acc *a)
{
	int idx;

	switch (d) {
	case 'Y':
		return read_num(c, 4, 0, 9999, &a->year);
	case 'y':
		if (!read_num(c, 2, 0, 99, &a->year))
			return false;
		a->year += a->year >= 69 ? 1900 : 2000;
		return true;
	case 'm':
		return read_num(c, 2, 1, 12, &a->mon);
	case 'd':
	case 'e':
		skip_blanks(c);
		return read_num(c, 2, 1, 31, &a->day);
	case 'H':
		skip_blanks(c);
		return read_num(c, 2, 0, 23, &a->hour);
	case 'I':
		skip_blanks(c);
		a->h12 = true;
		return read_num(c, 2, 1, 12, &a->hour);
	case 'M':
		return read_num(c, 2, 0, 59, &a->min);
	case 'S':
		return read_num(c, 2, 0, 60, &a->sec);
	case 'f':
		return read_fraction(c, &a->nsec);
	case 'b':
	case 'h':
	case 'B':
		if (!read_name(c, month_names, 12, &idx))
			return false;
		a->mon = idx + 1;
		return true;
	case 'a':
	case 'A':
		return read_name(c, day_names, 7, &idx);
	case 'z':
		return read_zone(c, &a->off);
	case 'Z':
		return read_zone_name(c, &a->off);
	case 'p':
		if (c->end - c->p < 2)
			return false;
		if (strncasecmp(c->p, "AM", 2) == 0)
			a->pm = 0;
		else if (strncasecmp(c->p, "PM", 2) == 0)
			a->pm = 1;
		else
			return false;
		c->p += 2;
		return true;
	case 'T':
		return walk("%H:%M:%S", c, a);
	case 'F':
		return walk("%Y-%m-%d", c, a);
	case 'R':
		return walk("%H:%M", c, a);
	case 's':
		a->epoch = true;
		return read_epoch_s(c, &a->epoch_s);
	case '%':
		if (c->p >= c->end || *c->p != '%')
			return false;
		c->p++;
		return true;
	}
	return false; /* parse_timefmt_init() let no other through */
}

static bool walk(const char *fmt, struct tf_cur *c, struct tf_acc *a)
{
	for (const char *f = fmt; *f; f++) {
		if (*f == '%') {
			if (!directive(*++f, c, a))
				return false;
		} else if (*f == ' ' || *f == '\t') {
			skip_blanks(c);
		} else {
			if (c->p >= c->end || *c->p != *f)
				return false;
			c->p++;
		}
	}
	return true;
}

/* Seconds since the epoch of @a in year @year, or false when the day does not exist. */
static bool to_secs(const struct tf_acc *a, int year, int64_t *secs)
{
	if (a->day > days_in_month(year, a->mon))
		return false;
	*secs = days_from_civil(year, (unsigned)a->mon, (unsigned)a->day) * SECS_PER_DAY +
		(int64_t)a->hour * 3600 + (int64_t)a->min * 60 + a->sec - a->off;
	return true;
}

static bool to_ns(int64_t secs, int32_t nsec, int64_t *ns)
{
	/* inside int64 nanoseconds (1677-09-21 .. 2262-04-11), with room for the fraction */
	if (secs < -9223372036LL || secs > 9223372035LL)
		return false;
	*ns = secs * NS_PER_SEC + nsec;
	return true;
}

static int parse_pattern(const struct parse_timefmt *tf, const char *s, size_t n, int64_t now_ns, int64_t *ns)
{
	struct tf_acc a = {.year = -1, .mon = 1, .day = 1, .pm = -1};
	struct tf_cur c = {s, s + n};
	int64_t secs;

	if (!walk(tf->fmt, &c, &a) || c.p != c.end)
		return -1;
	if (a.epoch)
		return to_ns(a.epoch_s, a.nsec, ns) ? 0 : -1;
	if (a.h12)
		a.hour = a.hour % 12 + (a.pm == 1 ? 12 : 0);
	else if (a.pm == 1 && a.hour < 12)
		a.hour += 12;
	if (a.year >= 0)
		return to_secs(&a, a.year, &secs) && to_ns(secs, a.nsec, ns) ? 0 : -1;
	/* no year: now's, unless that is well ahead of now (or has no such day) */
	{
		int y = year_of(now_ns);
		int64_t limit =
			now_ns > INT64_MAX - YEARLESS_AHEAD_NS ? INT64_MAX : now_ns + YEARLESS_AHEAD_NS;

		if (to_secs(&a, y, &secs) && to_ns(secs, a.nsec, ns) && *ns <= limit)
			return 0;
		return to_secs(&a, y - 1, &secs) && to_ns(secs, a.nsec, ns) ? 0 : -1;
	}
}

int parse_timefmt_parse(const struct parse_timefmt *tf, const char *s, size_t n, int64_t now_ns, int64_t *ns)
{
	switch (tf->kind) {
	case PARSE_TF_RFC3339:
		return fmt_ts_parse(s, n, ns, NULL) == 0 ? 0 : -1;
	case PARSE_TF_EPOCH:
		return parse_epoch(s, n, NS_PER_SEC, ns);
	case PARSE_TF_EPOCH_MS:
		return parse_epoch(s, n, 1000000, ns);
	case PARSE_TF_EPOCH_US:
		return parse_epoch(s, n, 1000, ns);
	case PARSE_TF_EPOCH_NS:
		return parse_epoch(s, n, 1, ns);
	case PARSE_TF_PATTERN:
		return parse_pattern(tf, s, n, now_ns, ns);
	}
	return -1;
}
