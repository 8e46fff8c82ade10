/*
 * util/util.h - small helpers shared by every stage of clewd: bounded
 * string copies, number parsing that reports overflow, clocks, and the
 * daemon's own log (JSON lines on stderr, written by the formats
 * library's emitter so they parse like any record).
 * Not thread-safe where noted: clewd runs one thread.
 */
#ifndef CD_UTIL_UTIL_H
#define CD_UTIL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fmt/record.h"

/*
 * cd_strlcpy() - copy @src into @dst (@cap bytes), always NUL-terminated.
 * Return: true when all of @src fitted.
 */
bool cd_strlcpy(char *dst, const char *src, size_t cap);

/*
 * cd_parse_u64() - the decimal number that is all of @s (no sign, no
 * space), at most @max. Return: 0 with *out set, or -CD_EINVAL.
 */
int cd_parse_u64(const char *s, uint64_t max, uint64_t *out);

/*
 * cd_parse_duration_ms() - "250ms", "5s", "2m", "1h", "7d" or a bare number
 * of milliseconds. Return: 0 with *ms set, or -CD_EINVAL.
 */
int cd_parse_duration_ms(const char *s, uint64_t *ms);

/* cd_parse_size() - "512", "64k", "10M", "2G" (powers of 1024). Return: 0 or -CD_EINVAL. */
int cd_parse_size(const char *s, uint64_t *bytes);

/* cd_mono_ns()/cd_real_ns() - CLOCK_MONOTONIC / CLOCK_REALTIME in ns. */
int64_t cd_mono_ns(void);
int64_t cd_real_ns(void);

/*
 * cd_mkdir_p() - create directory @path and its missing parents (mode
 * 0750). Return: 0, or -CD_EIO with @err (errno kept).
 */
struct cd_err;
int cd_mkdir_p(const char *path, struct cd_err *err);

/* cd_strdup() - strdup() that returns NULL for NULL. */
char *cd_strdup(const char *s);

/*
 * The daemon's log: one JSON object a line on stderr, service "clewd",
 * levels as the records'. cd_log_level() sets the lowest level written
 * (default INFO). Not thread-safe.
 */
void cd_log_level(enum fmt_level min);

/*
 * cd_log() - log @msg at @level with string attributes given as
 * key, value pairs ending with NULL: cd_log(FMT_LEVEL_INFO, "started",
 * "config", path, NULL). Values may be NULL (left out).
 */
void cd_log(enum fmt_level level, const char *msg, ...) __attribute__((sentinel));

/* cd_logf() - cd_log() of a printf-formatted message, no attributes. */
void cd_logf(enum fmt_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
