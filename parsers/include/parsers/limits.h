/*
 * parsers/limits.h - the caps of the parsers library (regex parsers, time
 * formats, container envelopes), with the reason for each value
 * (docs/STYLE.md, Limits). Each can be overridden at build time
 * (-DCD_...=N); the names kept their CD_ prefix from when clewd alone
 * used them, so existing build overrides still apply.
 */
#ifndef PARSERS_LIMITS_H
#define PARSERS_LIMITS_H

/*
 * Longest regex (parser or multiline_start), in bytes. A log-line pattern
 * is a few hundred bytes; the cap keeps PCRE2's compile time and memory
 * small whatever a configuration holds.
 */
#ifndef CD_REGEX_PATTERN_MAX
#define CD_REGEX_PATTERN_MAX 8192u
#endif

/*
 * Most backtracking steps one match may take (pcre2_set_match_limit; the
 * JIT honours it too). A pattern that backtracks badly on some line
 * (catastrophic backtracking: a line nobody wrote the regex for) then
 * fails that line, kept as a raw record, instead of stalling the one
 * thread of the daemon: 10^6 steps is about 1..10 ms, while a real
 * log-line match takes well under 10^3.
 */
#ifndef CD_REGEX_MATCH_LIMIT
#define CD_REGEX_MATCH_LIMIT 1000000u
#endif

/*
 * Most heap the interpreter (no JIT) may use for one match, in KiB
 * (pcre2_set_heap_limit): PCRE2's default is 20 GB.
 */
#ifndef CD_REGEX_HEAP_LIMIT_KIB
#define CD_REGEX_HEAP_LIMIT_KIB (16u * 1024)
#endif

/*
 * Largest JIT stack of one parser, in bytes. PCRE2's default JIT stack is
 * 32 KiB on the machine stack, which deep patterns (nested optional groups
 * over a 64 KiB line) exhaust; past this the match fails like the match
 * limit, the line kept raw.
 */
#ifndef CD_REGEX_JIT_STACK_MAX
#define CD_REGEX_JIT_STACK_MAX (1024u * 1024)
#endif

/* Longest time format (time_format:, --time-format): strftime patterns are short. */
#ifndef CD_TIME_FORMAT_MAX
#define CD_TIME_FORMAT_MAX 128u
#endif

_Static_assert(CD_REGEX_JIT_STACK_MAX >= 32u * 1024, "the JIT stack must be at least PCRE2's default");
_Static_assert(CD_TIME_FORMAT_MAX >= 32 && CD_TIME_FORMAT_MAX <= 4096, "CD_TIME_FORMAT_MAX out of range");

#endif
