/*
 * fmt/detect.h - which format a line is in, and parsing by that.
 */
#ifndef FMT_DETECT_H
#define FMT_DETECT_H

#include <stddef.h>

#include "fmt/record.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * fmt_detect() - FMT_JSON when the first non-blank byte is '{',
 * FMT_PIPE when fmt_pipe_is_record_start(), else FMT_UNKNOWN (not a
 * record start: a continuation line, or text no parser knows).
 */
enum fmt_format fmt_detect(const char *line, size_t len);

/*
 * fmt_parse() - parse by the format fmt_detect() would give.
 * Return: as that parser; -FMT_EPARSE ("not a record start", with the
 * offset of the first byte that rules it out) when the line starts no
 * record.
 */
int fmt_parse(const char *line, size_t len, struct fmt_record *rec, struct fmt_err *err);

#ifdef __cplusplus
}
#endif

#endif
