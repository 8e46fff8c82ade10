/*
 * fmt/ts.h - RFC 3339 timestamps <-> nanoseconds since the epoch (UTC).
 */
#ifndef FMT_TS_H
#define FMT_TS_H

#include <stddef.h>
#include <stdint.h>

#include "fmt/record.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * fmt_ts_parse() - parse an RFC 3339 date-time: YYYY-MM-DD "T" hh:mm:ss,
 * an optional fraction of 1 to 9 digits, then "Z" or +hh:mm / -hh:mm.
 * "t" and "z" are accepted in lower case; the date is checked (leap
 * years, days per month); a leap second (ss = 60) is taken as the next
 * second. The whole of @len must be the timestamp.
 * Return: 0 with *ns set, or -FMT_ETS with @err set (@err may be NULL).
 */
int fmt_ts_parse(const char *s, size_t len, int64_t *ns, struct fmt_err *err);

/*
 * fmt_ts_format() - write @ns as UTC "YYYY-MM-DDThh:mm:ss[.f]Z" with
 * @digits (0..9) fraction digits, or, when @digits is -1, the fewest of
 * 0, 3, 6 or 9 that keep the value exact. @out must hold FMT_TS_MAX bytes;
 * it is NUL-terminated.
 * Return: the length written (without the NUL).
 */
size_t fmt_ts_format(int64_t ns, int digits, char *out);

#ifdef __cplusplus
}
#endif

#endif
