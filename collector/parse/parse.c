/*
 * parse/parse.c - parser dispatch (see parse.h).
 *
 * DESIGN: one switch, no state. "auto" is fmt_parse(): JSON when the line
 * starts with '{', pipe when it starts a pipe record, otherwise "not a
 * record start" — which the pipeline keeps as a raw record. A user's
 * regex parser (parsers/src/regex.c) carries its own compiled state, passed in.
 */
#include "fmt/detect.h"
#include "fmt/json.h"
#include "fmt/pipe.h"
#include "parse/parse.h"
#include "util/banned.h"

int parse_line(enum cd_parser parser, struct parse_regex *rx, const char *s, size_t n, struct fmt_record *rec,
	       struct fmt_err *err)
{
	switch (parser) {
	case CD_PARSER_PIPE:
		return fmt_pipe_parse(s, n, rec, err);
	case CD_PARSER_JSON:
		return fmt_json_parse(s, n, rec, err);
	case CD_PARSER_REGEX:
		return parse_regex_line(rx, s, n, rec, err);
	case CD_PARSER_AUTO:
		break;
	}
	return fmt_parse(s, n, rec, err);
}
