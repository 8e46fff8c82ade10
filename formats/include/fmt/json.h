/*
 * fmt/json.h - strict RFC 8259 JSON, and JSON log lines (schema and alias
 * table in formats/json.md).
 */
#ifndef FMT_JSON_H
#define FMT_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "fmt/record.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * fmt_json_validate() - whether @s is exactly one JSON text (RFC 8259:
 * any value, surrounded by optional whitespace). Strings must be valid
 * UTF-8 (-FMT_EUTF8). Nesting past FMT_JSON_DEPTH_MAX gives -FMT_EDEPTH,
 * numbers longer than FMT_JSON_NUMBER_MAX -FMT_ENUMBER; no recursion.
 * Return: 0, or a negative code with @err set (@err may be NULL).
 */
int fmt_json_validate(const char *s, size_t len, struct fmt_err *err);

/*
 * fmt_json_parse() - parse one JSON log line (an object) into @rec,
 * mapping known field names of common loggers onto the record (the alias
 * table in formats/json.md); every other member becomes an attribute.
 * Text after the object's line (after a '\n' that follows it) goes to
 * rec->cont. No allocation; @rec holds views into @line.
 * Return: 0, or a negative code with @err set (@err may be NULL) and
 * @rec cleared.
 */
int fmt_json_parse(const char *line, size_t len, struct fmt_record *rec, struct fmt_err *err);

/*
 * fmt_json_level_key() - whether a top-level member named k[0, n) (as
 * decoded) is one of the level's names in fmt_json_parse()'s alias table
 * when its value is a string or number ("level", "severity", "@l"...; not
 * the nested "log"), so that a reader judging raw bytes knows the same
 * names as the parser.
 */
bool fmt_json_level_key(const char *k, size_t n);

/* Options of fmt_json_emit(). */
enum {
	FMT_JSON_IDS = 1u << 0,	     /* also write "ids": the NDC path as an array */
	FMT_JSON_SEVERITY = 1u << 1, /* name the level "severity" (pyms) instead of "level" */
	FMT_JSON_LOGSTASH = 1u << 2, /* Logstash's names: "@timestamp", and "@version":"1" first */
};

/*
 * fmt_json_emit() - write @rec as one JSON object (no newline) to @out:
 * timestamp, level, service, trace, span, parent, [ids], method, path,
 * message (with "\n" and the continuation lines appended, so a stack
 * trace stays in the message), event, then each attribute under its own
 * key. Absent
 * fields are left out. An attribute whose key is one of those fixed names
 * is written as "_" + key, so no key appears twice.
 * Return: 0 with *len set, -FMT_ETRUNC when @cap is too small,
 * -FMT_EINVAL for unknown options.
 */
int fmt_json_emit(const struct fmt_record *rec, unsigned opts, char *out, size_t cap, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
