/*
 * parse/parse.c - parser dispatch (see parse.h).
 *
 * DESIGN: one switch, no state. "auto" is fmt_parse(): JSON when the line
 * starts with '{', pipe when it starts a pipe record, otherwise "not a
 * record start" — which the pipeline keeps as a raw record. A user's
 * regex parser (parsers/src/regex.c) carries its own compiled state, passed in.
 * parse_line_start() answers the multiline join's question (does the line
 * start a record?) from the pipe parser's own scan of the line's head.
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

int parse_line_start(enum cd_parser parser, struct parse_regex *rx, const char *s, size_t n,
		     struct fmt_record *rec, struct fmt_err *err, bool *start)
{
	size_t i = 0;

	if (parser == CD_PARSER_PIPE || parser == CD_PARSER_AUTO) {
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == n || s[i] != '{') /* fmt_detect(): not JSON, so a record start if a pipe one */
			return fmt_pipe_parse_start(s, n, rec, err, start);
	}
	*start = fmt_detect(s, n) != FMT_UNKNOWN;
	return parse_line(parser, rx, s, n, rec, err);
}
