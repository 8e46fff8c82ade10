/*
 * parse/parse.h - the parse stage: which parser a line goes to, and the
 * multiline join that runs before it.
 *
 * The parsers themselves are the formats library's (fmt_pipe_parse,
 * fmt_json_parse, fmt_parse for auto) and the user's regex parsers
 * (<parsers/regex.h>): functions over (buf, len) with views into the line
 * (docs/STYLE.md, Parsers). Nothing here does I/O.
 */
#ifndef CD_PARSE_PARSE_H
#define CD_PARSE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "fmt/record.h"
#include <parsers/regex.h>

/*
 * parse_line() - parse @s (@n bytes: one record's line and its
 * continuation lines) with @parser (@rx: the compiled regex when @parser
 * is CD_PARSER_REGEX, else unused) into @rec (views into @s).
 * Return: 0, or a negative FMT code with @err set and @rec cleared.
 */
int parse_line(enum cd_parser parser, struct parse_regex *rx, const char *s, size_t n, struct fmt_record *rec,
	       struct fmt_err *err);

/*
 * parse_line_start() - parse_line(), and in *@start whether @s starts a
 * record as parse_ml_starts() without a regex says (fmt_detect()): for the
 * pipe and auto parsers from the parser's own scan of the line's head, so
 * a line is not scanned twice when continuation lines are joined.
 */
int parse_line_start(enum cd_parser parser, struct parse_regex *rx, const char *s, size_t n,
		     struct fmt_record *rec, struct fmt_err *err, bool *start);

/*
 * A record held back by the multiline join: its first line and the
 * continuation lines that followed, until a line that starts a record
 * (or the timeout) closes it. Caller-owned (parse_ml_init/_release).
 */
struct parse_ml {
	const char *ref; /* when set, the held text is here (len bytes), not in buf: parse_ml_borrow() */
	char *buf;	 /* the joined text, lines separated by '\n' (cap bytes, at most CD_MULTILINE_MAX) */
	size_t cap;	 /* allocated at buf */
	size_t len;	 /* bytes used */
	bool held;	 /* a record is held */
	bool is_start;	 /* its first line starts a record (continuations may join it) */
	uint64_t start_off;  /* input offset of its first byte */
	uint64_t end_off;    /* input offset just past its last line's newline */
	int64_t deadline_ns; /* flush when the monotonic clock passes this */
};

void parse_ml_init(struct parse_ml *m);
void parse_ml_release(struct parse_ml *m);

/*
 * parse_ml_starts() - whether @line starts a record: it matches @start
 * (an input's multiline_start), or, when @start is NULL, fmt_detect()
 * sees a pipe or JSON record in it.
 */
bool parse_ml_starts(struct parse_regex *start, const char *line, size_t len);

/*
 * parse_ml_joins() - whether a line of @len bytes continues the held
 * record: one is held, it started a record, the line starts none
 * (@starts: parse_ml_starts() said so) and the join stays within
 * CD_MULTILINE_MAX.
 */
bool parse_ml_joins(const struct parse_ml *m, bool starts, size_t len);

/*
 * parse_ml_append() - add "\n" + @line to the held record (parse_ml_joins()
 * said so). Return: 0, or -CD_ENOMEM (nothing added: @line goes on alone).
 */
int parse_ml_append(struct parse_ml *m, const char *line, size_t len, uint64_t end_off, int64_t deadline_ns);

/*
 * parse_ml_hold() - hold @line (copied) as a new record; nothing may be
 * held. Return: 0 or -CD_ENOMEM.
 */
int parse_ml_hold(struct parse_ml *m, const char *line, size_t len, bool is_start, uint64_t start_off,
		  uint64_t end_off, int64_t deadline_ns);

/*
 * parse_ml_borrow() - parse_ml_hold() without the copy: @line is held where
 * it is, and the caller keeps those bytes unchanged until it calls
 * parse_ml_own() or clears the record. Parsing a line from where it was
 * read, rather than from a copy just written, is most of the cost saved.
 */
void parse_ml_borrow(struct parse_ml *m, const char *line, size_t len, bool is_start, uint64_t start_off,
		     uint64_t end_off, int64_t deadline_ns);

/*
 * parse_ml_own() - copy a borrowed record into the join buffer, before
 * its bytes go. Return: 0 (also when nothing is borrowed) or -CD_ENOMEM
 * (the record stays borrowed: the caller emits it now).
 */
int parse_ml_own(struct parse_ml *m);

/* The held record's text (m->len bytes), borrowed or copied. */
static inline const char *parse_ml_text(const struct parse_ml *m)
{
	return m->ref ? m->ref : m->buf;
}

/* parse_ml_clear() - forget the held record (the caller has emitted it). */
void parse_ml_clear(struct parse_ml *m);

#endif
