/*
 * fmt/pipe.h - the pipe line format (grammar in formats/pipe.md).
 *
 *   [TIMESTAMP SP] [LEVEL SP] IDS "|" SERVICE "|" METHOD "|" PATH *("|" KEY "=" VALUE)
 */
#ifndef FMT_PIPE_H
#define FMT_PIPE_H

#include <stdbool.h>
#include <stddef.h>

#include "fmt/record.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * fmt_pipe_is_record_start() - whether @line starts a pipe record (an
 * optional prefix, then an IDS field ended by '|'). A line that does not
 * is a continuation of the record above it (a stack trace line).
 */
bool fmt_pipe_is_record_start(const char *line, size_t len);

/*
 * fmt_pipe_parse() - parse one pipe record. @line may hold continuation
 * lines after its first '\n'; they go to rec->cont verbatim. A trailing
 * "\r" before a newline or the end is not part of the record.
 * No allocation; @rec holds views into @line.
 * Return: 0, or -FMT_EPARSE / -FMT_ETS / -FMT_ELIMIT with @err set
 * (@err may be NULL) and @rec cleared.
 */
int fmt_pipe_parse(const char *line, size_t len, struct fmt_record *rec, struct fmt_err *err);

/*
 * fmt_pipe_parse_start() - fmt_pipe_parse(), and in *@start what
 * fmt_pipe_is_record_start() says of @line, from the one scan of its head
 * (a reader that joins continuation lines asks both of every line).
 */
int fmt_pipe_parse_start(const char *line, size_t len, struct fmt_record *rec, struct fmt_err *err,
			 bool *start);

/*
 * fmt_pipe_emit() - write @rec as one pipe line (no newline) to @out.
 * The prefix is written when the record has a timestamp or a level; IDS
 * is ids[] joined by ':' ("-" when empty); absent service/method/path
 * become "-"; then message as msg=, event=, then the attributes; then,
 * if the record has continuation lines, "\n" and those lines verbatim.
 * Return: 0 with *len set, or -FMT_ETRUNC when @cap is too small.
 */
int fmt_pipe_emit(const struct fmt_record *rec, char *out, size_t cap, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
