/*
 * jaeger_shape.h - Jaeger's response shape checked field by field, and a
 * trace's tree and a trace list's service edges as comparable text
 * (jaeger_shape.c), for the API tests.
 */
#ifndef JAEGER_SHAPE_H
#define JAEGER_SHAPE_H

#include <jansson.h>
#include <stdbool.h>

/* strcmp() of two char * array elements, for qsort(). */
int cmp_str(const void *a, const void *b);

/* Jaeger's envelope: data, total, limit, offset, errors (null when @ok, else an array of {code, msg}). */
void check_envelope(json_t *doc, bool ok);

/* One trace object: every field's name and type (spans, references, tags, logs, processes). */
void check_trace_shape(json_t *t);

/* The tree of a trace: each span as "id <- parent | operation | service | logs", sorted; malloc'd. */
char *tree_of(json_t *t);

/* The service edges of the traces, counted: "parent -> child N" lines, sorted; malloc'd. */
char *edges_of_traces(json_t *traces);

#endif
