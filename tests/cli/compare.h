/*
 * compare.h - comparing what tracegrep prints by meaning, not by bytes:
 * for sources that write records again (the archive, Kafka), whose text
 * may differ from the log line while every field is the same.
 */
#ifndef TG_TEST_COMPARE_H
#define TG_TEST_COMPARE_H

#include <jansson.h>
#include <stddef.h>

#include "corpus.h"

/* A list of malloc'd strings. */
struct strs {
	char **v; /* malloc'd */
	size_t n; /* used */
};

void strs_push(struct strs *s, char *x);
void strs_free(struct strs *s);

/* canonical() - every field of the record in @text decoded, in a fixed order (malloc'd). */
char *canonical(const char *text, size_t len);

/* split_records() - --lines output cut into records (a start line and its continuation lines), as canonical(). */
struct strs split_records(const char *out, size_t len);

/* truth_records() - the records of transaction @txn of @c under span @top (NULL: all), as canonical(). */
struct strs truth_records(const struct tcorpus *c, int txn, const char *top);

/* assert_same() - @got and @want hold the same strings (sorted in place); Check-asserts, naming @what. */
void assert_same(struct strs *got, struct strs *want, const char *what);

/* span_by_id() - the span of a --json "spans" array with id @id, or NULL. */
json_t *span_by_id(json_t *spans, const char *id);

/* record_meaning() - a --json record without what depends on where it was read (source, offset, text). */
char *record_meaning(json_t *rec);

#endif
