/*
 * helpers.h - shared by the chunk stage's test programs: counting files,
 * a sample record, and field-by-field record comparison on decoded values.
 */
#ifndef TEST_CHUNK_HELPERS_H
#define TEST_CHUNK_HELPERS_H

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "th_file.h"

#include "fmt/pipe.h"
#include "fmt/str.h"

/* Files in @dir whose name ends in @suffix (NULL: any regular entry but dot-dirs). */
static inline int count_files(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name), ls = suffix ? strlen(suffix) : 0;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (!suffix || (len >= ls && !strcmp(e->d_name + len - ls, suffix)))
			n++;
	}
	closedir(d);
	return n;
}

/* Whether two views hold the same decoded value (or are both absent). */
static inline int same_decoded(const struct fmt_str *a, const struct fmt_str *b)
{
	char *x, *y;
	size_t nx, ny;
	int same;

	if (!a->ptr || !b->ptr)
		return !a->ptr && !b->ptr;
	x = malloc(a->len + 1);
	y = malloc(b->len + 1);
	nx = fmt_str_decode(a, x);
	ny = fmt_str_decode(b, y);
	same = nx == ny && memcmp(x, y, nx) == 0;
	free(x);
	free(y);
	return same;
}

#define ASSERT_SAME_VIEW(name, field, a, b) \
	ck_assert_msg(same_decoded(&(a)->field, &(b)->field), "%s: field %s differs", (name), #field)

/* Every field of @b equals @a's, compared on decoded values. */
static inline void assert_same_record(const char *name, const struct fmt_record *a,
				      const struct fmt_record *b)
{
	ck_assert_msg(a->has_ts == b->has_ts, "%s: has_ts", name);
	if (a->has_ts)
		ck_assert_msg(a->ts_ns == b->ts_ns, "%s: ts_ns", name);
	ck_assert_msg(a->level == b->level, "%s: level", name);
	ck_assert_msg(a->event == b->event, "%s: event", name);
	ck_assert_msg(a->format == b->format, "%s: format", name);
	ck_assert_msg(a->flags == b->flags, "%s: flags", name);
	if (!a->has_ts) /* the text of a valid timestamp is not kept (record_codec.h) */
		ASSERT_SAME_VIEW(name, ts_text, a, b);
	else
		ck_assert_msg(!b->ts_text.ptr, "%s: ts_text of a valid timestamp", name);
	ASSERT_SAME_VIEW(name, level_text, a, b);
	ck_assert_msg(a->nids == b->nids, "%s: nids %u vs %u", name, a->nids, b->nids);
	for (uint16_t i = 0; i < a->nids; i++)
		ck_assert_msg(same_decoded(&a->ids[i], &b->ids[i]), "%s: ids[%u]", name, i);
	ASSERT_SAME_VIEW(name, trace, a, b);
	ASSERT_SAME_VIEW(name, span, a, b);
	ASSERT_SAME_VIEW(name, parent, a, b);
	ASSERT_SAME_VIEW(name, service, a, b);
	ASSERT_SAME_VIEW(name, method, a, b);
	ASSERT_SAME_VIEW(name, path, a, b);
	ASSERT_SAME_VIEW(name, message, a, b);
	ASSERT_SAME_VIEW(name, cont, a, b);
	ck_assert_msg(a->nattrs == b->nattrs, "%s: nattrs", name);
	for (uint16_t i = 0; i < a->nattrs; i++) {
		ck_assert_msg(same_decoded(&a->attrs[i].key, &b->attrs[i].key), "%s: attr %u key", name, i);
		ck_assert_msg(same_decoded(&a->attrs[i].val, &b->attrs[i].val), "%s: attr %u value", name, i);
		ck_assert_msg(a->attrs[i].type == b->attrs[i].type, "%s: attr %u type", name, i);
	}
}

/* Parse a pipe line that must parse (the line must outlive @r). */
static inline void parse_pipe(const char *line, struct fmt_record *r)
{
	struct fmt_err err = {0};
	int rc = fmt_pipe_parse(line, strlen(line), r, &err);

	ck_assert_msg(rc == 0, "test line does not parse: %s", err.what);
}

#endif
