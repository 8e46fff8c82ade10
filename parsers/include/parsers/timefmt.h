/*
 * parsers/timefmt.h - reading a timestamp by a user's time format: the time
 * group of a regex parser (parsers/regex.h).
 *
 * A format is a keyword or a strptime-like pattern:
 *
 *   rfc3339                  fmt_ts_parse() (the default)
 *   epoch                    seconds since 1970, with an optional fraction
 *   epoch_ms, epoch_us,      milliseconds, microseconds, nanoseconds
 *   epoch_ns                 (each with an optional fraction too)
 *   anything else            a pattern of literal bytes and directives:
 *     %Y year (4 digits)   %y year (2 digits: 69..99 = 19xx)  %m month  %d / %e day
 *     %H hour  %I hour 1..12 (with %p AM/PM)  %M minute  %S second (60 = leap)
 *     %f fraction of a second, any number of digits (9 kept)
 *     %b / %h / %B month name, %a / %A weekday name (English; short or full; any case)
 *     %z zone: Z, +hh, +hhmm, +hh:mm (or -)   %Z zone name: UTC, GMT, Z only
 *     %T = %H:%M:%S   %F = %Y-%m-%d   %R = %H:%M   %s epoch seconds   %% a '%'
 *     a space matches any run of spaces and tabs, also none; numbers may have
 *     fewer digits than their width and %d/%e/%H/%I may be space-padded.
 *
 * A time without a zone is UTC. A format without a year (%Y, %y, %F, %s)
 * takes the year of "now", or the year before when that would put the time
 * more than 2 days ahead of now (a December line read in January).
 * Pure functions: no locale, no TZ lookup, no libc time calls.
 */
#ifndef CD_PARSE_TIMEFMT_H
#define CD_PARSE_TIMEFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <parsers/limits.h>
#include <store/err.h>

enum parse_tf_kind {
	PARSE_TF_RFC3339 = 0, /* fmt_ts_parse() */
	PARSE_TF_EPOCH,	      /* seconds[.fraction] */
	PARSE_TF_EPOCH_MS,    /* milliseconds[.fraction] */
	PARSE_TF_EPOCH_US,    /* microseconds[.fraction] */
	PARSE_TF_EPOCH_NS,    /* nanoseconds */
	PARSE_TF_PATTERN,     /* strptime-like pattern in fmt[] */
};

struct parse_timefmt {
	uint8_t kind;			  /* enum parse_tf_kind */
	bool has_year;			  /* PATTERN: the year is in the text (else: now's year) */
	char fmt[CD_TIME_FORMAT_MAX + 1]; /* PATTERN: the pattern, NUL-terminated */
};

/*
 * parse_timefmt_init() - check @spec (NULL or "" = rfc3339) and fill @tf.
 * Return: 0, or -CD_EINVAL with @err saying which directive at which
 * byte offset is wrong ("unknown directive %Q at offset 3").
 */
int parse_timefmt_init(struct parse_timefmt *tf, const char *spec, struct cd_err *err);

/*
 * parse_timefmt_parse() - the time written in s[0..n) by @tf, as UTC ns
 * since the epoch. The whole of @n must be the time. @now_ns (UTC) is
 * used only by formats without a year.
 * Return: 0 with *ns set, or -1 (not this format, not a date, out of the
 * 1677..2262 range of int64 nanoseconds).
 */
int parse_timefmt_parse(const struct parse_timefmt *tf, const char *s, size_t n, int64_t now_ns, int64_t *ns);

#endif
