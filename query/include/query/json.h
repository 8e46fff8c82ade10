/*
 * query/json.h - one summary as the JSON object of tracegrep --find --json
 * (formats/tracegrep-find.md): exactly the keys trace, start, dur_us,
 * service, method, path, status, error, spans, records, services,
 * first_error, attrs, in that order; every string escaped by the formats
 * library, so the object is valid UTF-8 JSON whatever the logs held.
 */
#ifndef QUERY_JSON_H
#define QUERY_JSON_H

#include <stddef.h>

#include "query/summary.h"

#ifdef __cplusplus
extern "C" {
#endif

/* qy_summary_json_bound() - bytes that always hold qy_summary_json()'s output for @s. */
size_t qy_summary_json_bound(const struct qy_summary *s, const struct qy_keys *keys);

/*
 * qy_summary_json() - write @s (made with @keys) as one JSON object, no
 * newline, to out[0, cap). Return: 0 with *@len set, or -QY_ETRUNC.
 */
int qy_summary_json(const struct qy_summary *s, const struct qy_keys *keys, char *out, size_t cap,
		    size_t *len);

#ifdef __cplusplus
}
#endif

#endif
