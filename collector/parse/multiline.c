/*
 * parse/multiline.c - joining continuation lines to the record above.
 *
 * DESIGN: a line that starts no record (fmt_detect() == FMT_UNKNOWN: a
 * stack trace's "\tat ..." line) belongs to the record above it, so every
 * record is held until the next line shows whether it continues: a line
 * that starts a record closes it, and so does the timeout (the pipeline
 * flushes it, so a quiet input's last record is not held forever). A line
 * that starts no record with no record above it is never held open for
 * joining: continuation lines join only a record start. The join is
 * bounded by CD_MULTILINE_MAX; the buffer is allocated on first use and
 * grows with the join (thousands of tailed files each hold their last
 * record until the timeout: a one-line record costs its size, not
 * CD_MULTILINE_MAX).
 * An input with a multiline_start regex replaces the fmt_detect() rule:
 * a line matching it starts a record, any other line continues one.
 */
#include <stdlib.h>
#include <string.h>

#include "cd_limits.h"
#include "fmt/detect.h"
#include "parse/parse.h"
#include <store/err.h>
#include "util/banned.h"

void parse_ml_init(struct parse_ml *m)
{
	memset(m, 0, sizeof(*m));
}

void parse_ml_release(struct parse_ml *m)
{
	free(m->buf);
	memset(m, 0, sizeof(*m));
}

bool parse_ml_starts(struct parse_regex *start, const char *line, size_t len)
{
	if (start)
		return parse_regex_matches(start, line, len);
	return fmt_detect(line, len) != FMT_UNKNOWN;
}

bool parse_ml_joins(const struct parse_ml *m, bool starts, size_t len)
{
	return m->held && m->is_start && !starts && m->len + 1 + len <= CD_MULTILINE_MAX;
}

/* Room for @need bytes (at most CD_MULTILINE_MAX): grown geometrically. Return: 0 or -CD_ENOMEM. */
static int ml_reserve(struct parse_ml *m, size_t need)
{
	size_t cap = m->cap ? m->cap : 256;
	char *n;

	if (m->buf && need <= m->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if (cap > CD_MULTILINE_MAX)
		cap = CD_MULTILINE_MAX;
	n = realloc(m->buf, cap);
	if (!n)
		return -CD_ENOMEM;
	m->buf = n;
	m->cap = cap;
	return 0;
}

int parse_ml_append(struct parse_ml *m, const char *line, size_t len, uint64_t end_off, int64_t deadline_ns)
{
	if (parse_ml_own(m) < 0 || ml_reserve(m, m->len + 1 + len) < 0)
		return -CD_ENOMEM;
	m->buf[m->len++] = '\n';
	memcpy(m->buf + m->len, line, len);
	m->len += len;
	m->end_off = end_off;
	m->deadline_ns = deadline_ns;
	return 0;
}

int parse_ml_hold(struct parse_ml *m, const char *line, size_t len, bool is_start, uint64_t start_off,
		  uint64_t end_off, int64_t deadline_ns)
{
	if (ml_reserve(m, len) < 0)
		return -CD_ENOMEM;
	memcpy(m->buf, line, len);
	parse_ml_borrow(m, line, len, is_start, start_off, end_off, deadline_ns);
	m->ref = NULL; /* its own copy */
	return 0;
}

void parse_ml_borrow(struct parse_ml *m, const char *line, size_t len, bool is_start, uint64_t start_off,
		     uint64_t end_off, int64_t deadline_ns)
{
	m->ref = line;
	m->len = len;
	m->held = true;
	m->is_start = is_start;
	m->start_off = start_off;
	m->end_off = end_off;
	m->deadline_ns = deadline_ns;
}

int parse_ml_own(struct parse_ml *m)
{
	if (!m->ref)
		return 0;
	if (ml_reserve(m, m->len) < 0)
		return -CD_ENOMEM;
	memcpy(m->buf, m->ref, m->len);
	m->ref = NULL;
	return 0;
}

void parse_ml_clear(struct parse_ml *m)
{
	m->ref = NULL;
	m->held = false;
	m->len = 0;
}
