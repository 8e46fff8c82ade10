/*
 * detect.c - per-line format auto-detection, and parsing by it.
 *
 * A JSON line is recognised by its first non-blank byte alone, so the
 * check costs one or two byte reads; everything else must look like the
 * start of a pipe record (fmt_pipe_parse() says "not a record start" when
 * it is not, so fmt_parse() leaves that check to it). Lines that are neither are not records: in a
 * stream they are continuation lines of the record above (a collector
 * concern), and parsed alone they are an error.
 */
#include "fmt/detect.h"
#include "fmt/json.h"
#include "fmt/pipe.h"

enum fmt_format fmt_detect(const char *line, size_t len)
{
	size_t i = 0;

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i < len && line[i] == '{')
		return FMT_JSON;
	if (fmt_pipe_is_record_start(line, len))
		return FMT_PIPE;
	return FMT_UNKNOWN;
}

int fmt_parse(const char *line, size_t len, struct fmt_record *rec, struct fmt_err *err)
{
	size_t i = 0;

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i < len && line[i] == '{')
		return fmt_json_parse(line, len, rec, err);
	/* the pipe parser makes the record-start check itself: no second scan */
	return fmt_pipe_parse(line, len, rec, err);
}
