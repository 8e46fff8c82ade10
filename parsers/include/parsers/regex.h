/*
 * parsers/regex.h - user parsers: a PCRE2 regex whose named groups fill a
 * record, and the same compiled regex as a plain line test (the
 * multiline_start of an input).
 *
 * Groups named after a record field fill it:
 *
 *   time, timestamp   the timestamp, read with the parser's time format
 *                     (parsers/timefmt.h); a time that does not read sets
 *                     FMT_F_TS_INVALID and keeps ts_text
 *   level             level_text, and level by fmt_level_from_text()
 *   service, method, path, message
 *   trace, span, parent
 *   ids               an NDC path A:B:C (trace = A, span = C, parent = B,
 *                     unless trace/span/parent groups say otherwise)
 *
 * Every other named group is an attribute named after the group, in group
 * order: FMT_T_NUMBER when its text is a JSON number (so every emitter can
 * write it unquoted), else FMT_T_STRING. A group that took part in the
 * match but matched nothing, or did not take part, sets nothing. All values
 * are FMT_ENC_RAW views into the line; attribute keys are views into the
 * compiled pattern's name table, so a record lives as long as both.
 *
 * The regex is matched against the first line of the text (without a
 * trailing '\r'); the lines after the first '\n' (a record joined by the
 * multiline stage) are the record's cont, verbatim.
 *
 * Not thread-safe: each parser owns one match data block, reused by every
 * match (clewd has one thread).
 */
#ifndef CD_PARSE_REGEX_H
#define CD_PARSE_REGEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fmt/record.h"
#include <store/err.h>

struct parse_regex;

enum {
	PARSE_REGEX_NO_JIT = 1u << 0, /* match with the interpreter only (tests compare both) */
};

/*
 * parse_regex_new() - compile @pattern (JIT when available) and check
 * @time_format (NULL: rfc3339; ignored when no group is named time or
 * timestamp).
 * @out: set on success; untouched on failure.
 * Return: 0, -CD_ENOMEM, or -CD_EINVAL with @err holding PCRE2's message
 * and the byte offset in @pattern ("missing closing parenthesis at offset
 * 12"), or what is wrong with the time format.
 */
int parse_regex_new(struct parse_regex **out, const char *pattern, const char *time_format, unsigned flags,
		    struct cd_err *err);

/* parse_regex_free() - NULL is a no-op. */
void parse_regex_free(struct parse_regex *rx);

/*
 * parse_regex_line() - match s[0..n) and fill @rec with views into @s.
 * Return: 0; or -FMT_EPARSE with @err ("line does not match the regex",
 * offset 0; "regex match limit reached"), or -FMT_EUTF8 (a (*UTF) pattern
 * on invalid UTF-8), @rec then cleared.
 */
int parse_regex_line(struct parse_regex *rx, const char *s, size_t n, struct fmt_record *rec,
		     struct fmt_err *err);

/* parse_regex_matches() - whether the regex matches somewhere in s[0..n) (errors: false). */
bool parse_regex_matches(struct parse_regex *rx, const char *s, size_t n);

/* parse_regex_jit() - whether matches run JIT-compiled code. */
bool parse_regex_jit(const struct parse_regex *rx);

/*
 * parse_regex_set_now() - "now" for time formats without a year, in UTC ns
 * since the epoch; 0 (the default) reads CLOCK_REALTIME at each such time.
 */
void parse_regex_set_now(struct parse_regex *rx, int64_t now_ns);

#endif
