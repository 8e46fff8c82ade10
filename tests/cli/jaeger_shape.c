/*
 * jaeger_shape.c - checks of Jaeger's JSON response shape, and the span
 * trees and service edges of its traces as sorted text, for test_api.c
 * (clewd's Jaeger-compatible API, collector/api/). Pure functions of the
 * parsed documents: no daemon, no I/O.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jaeger_shape.h"

int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Jaeger's envelope: data, total, limit, offset, errors (null on success). */
void check_envelope(json_t *doc, bool ok)
{
	ck_assert(json_is_object(doc));
	ck_assert(json_is_integer(json_object_get(doc, "total")));
	ck_assert(json_is_integer(json_object_get(doc, "limit")));
	ck_assert(json_is_integer(json_object_get(doc, "offset")));
	if (ok) {
		ck_assert(json_is_array(json_object_get(doc, "data")));
		ck_assert(json_is_null(json_object_get(doc, "errors")));
	} else {
		json_t *errs = json_object_get(doc, "errors"), *e0 = json_array_get(errs, 0);

		ck_assert(json_is_array(errs));
		ck_assert(json_is_integer(json_object_get(e0, "code")));
		ck_assert(json_is_string(json_object_get(e0, "msg")));
	}
}

static void check_kv(json_t *kv)
{
	const char *type = json_string_value(json_object_get(kv, "type"));
	json_t *v = json_object_get(kv, "value");

	ck_assert(json_is_string(json_object_get(kv, "key")));
	ck_assert_ptr_nonnull(type);
	if (strcmp(type, "bool") == 0)
		ck_assert(json_is_boolean(v));
	else if (strcmp(type, "int64") == 0)
		ck_assert(json_is_integer(v));
	else
		ck_assert(strcmp(type, "string") == 0 && json_is_string(v));
}

/* One trace object: every field's name and type. */
void check_trace_shape(json_t *t)
{
	json_t *spans = json_object_get(t, "spans"), *procs = json_object_get(t, "processes"), *s;
	const char *id = json_string_value(json_object_get(t, "traceID"));
	size_t i;

	ck_assert_ptr_nonnull(id);
	ck_assert(json_is_array(spans) && json_array_size(spans) > 0);
	ck_assert(json_is_object(procs));
	json_array_foreach(spans, i, s)
	{
		json_t *refs = json_object_get(s, "references"), *x;
		size_t j;

		ck_assert_str_eq(json_string_value(json_object_get(s, "traceID")), id);
		ck_assert(json_is_string(json_object_get(s, "spanID")));
		ck_assert(json_is_string(json_object_get(s, "operationName")));
		ck_assert(json_is_integer(json_object_get(s, "startTime")));
		ck_assert(json_is_integer(json_object_get(s, "duration")));
		ck_assert_int_ge(json_integer_value(json_object_get(s, "duration")), 0);
		ck_assert(json_is_array(refs));
		json_array_foreach(refs, j, x)
		{
			ck_assert_str_eq(json_string_value(json_object_get(x, "refType")), "CHILD_OF");
			ck_assert_str_eq(json_string_value(json_object_get(x, "traceID")), id);
			ck_assert(json_is_string(json_object_get(x, "spanID")));
		}
		json_array_foreach(json_object_get(s, "tags"), j, x) check_kv(x);
		ck_assert(json_is_array(json_object_get(s, "logs")));
		json_array_foreach(json_object_get(s, "logs"), j, x)
		{
			json_t *f;
			size_t k;

			ck_assert(json_is_integer(json_object_get(x, "timestamp")));
			ck_assert(json_is_array(json_object_get(x, "fields")));
			json_array_foreach(json_object_get(x, "fields"), k, f) check_kv(f);
		}
		x = json_object_get(procs, json_string_value(json_object_get(s, "processID")));
		ck_assert_msg(json_is_object(x), "processID of a span is not in processes");
		ck_assert(json_is_string(json_object_get(x, "serviceName")));
		ck_assert(json_is_array(json_object_get(x, "tags")));
	}
}

/* The tree of a trace: each span as "id <- parent | operation | service | logs", sorted. */
char *tree_of(json_t *t)
{
	json_t *spans = json_object_get(t, "spans"), *procs = json_object_get(t, "processes"), *s;
	size_t i, cap = 1, len = 0;
	char **lines = calloc(json_array_size(spans) + 1, sizeof(*lines)), *out;

	json_array_foreach(spans, i, s)
	{
		json_t *ref = json_array_get(json_object_get(s, "references"), 0);
		json_t *p = json_object_get(procs, json_string_value(json_object_get(s, "processID")));
		char line[4096];

		snprintf(line, sizeof(line), "%s <- %s | %s | %s | %zu",
			 json_string_value(json_object_get(s, "spanID")),
			 ref ? json_string_value(json_object_get(ref, "spanID")) : "-",
			 json_string_value(json_object_get(s, "operationName")),
			 json_string_value(json_object_get(p, "serviceName")),
			 json_array_size(json_object_get(s, "logs")));
		lines[i] = strdup(line);
		cap += strlen(line) + 1;
	}
	qsort(lines, json_array_size(spans), sizeof(*lines), cmp_str);
	out = calloc(cap, 1);
	for (i = 0; i < json_array_size(spans); i++) {
		len += (size_t)sprintf(out + len, "%s\n", lines[i]);
		free(lines[i]);
	}
	free(lines);
	return out;
}

/*
 * The service edges the traces show (a span whose parent span ran in another named service), counted,
 * as "parent -> child N" lines, sorted: from /api/traces' whole transactions.
 */
char *edges_of_traces(json_t *traces)
{
	char *lines[256], *out;
	size_t n = 0, len = 0, i, j;
	json_t *t, *s;

	json_array_foreach(traces, i, t)
	{
		json_t *spans = json_object_get(t, "spans"), *procs = json_object_get(t, "processes");

		json_array_foreach(spans, j, s)
		{
			json_t *ref = json_array_get(json_object_get(s, "references"), 0), *p;
			const char *child = json_string_value(json_object_get(
				json_object_get(procs, json_string_value(json_object_get(s, "processID"))),
				"serviceName"));
			const char *parent = NULL;
			size_t k;
			char line[256];

			json_array_foreach(spans, k, p)
			{
				if (ref && strcmp(json_string_value(json_object_get(p, "spanID")),
						  json_string_value(json_object_get(ref, "spanID"))) == 0)
					parent = json_string_value(json_object_get(
						json_object_get(procs, json_string_value(json_object_get(
									       p, "processID"))),
						"serviceName"));
			}
			/* "unknown": a span with no service (a transaction's own root), no service's call */
			if (!parent || strcmp(parent, child) == 0 || strcmp(parent, "unknown") == 0 ||
			    strcmp(child, "unknown") == 0)
				continue;
			snprintf(line, sizeof(line), "%s -> %s", parent, child);
			for (k = 0; k < n && strncmp(lines[k], line, strlen(line)) != 0; k++)
				;
			if (k == n) {
				ck_assert_uint_lt(n, 256);
				lines[n] = calloc(1, 300);
				snprintf(lines[n++], 300, "%s 0", line);
			}
			sprintf(lines[k] + strlen(line), " %d", atoi(lines[k] + strlen(line) + 1) + 1);
		}
	}
	qsort(lines, n, sizeof(*lines), cmp_str);
	out = calloc(n * 300 + 1, 1);
	for (i = 0; i < n; i++) {
		len += (size_t)sprintf(out + len, "%s\n", lines[i]);
		free(lines[i]);
	}
	return out;
}
