/*
 * query/light.h - the few fields of a summary most searches test (time,
 * duration, error, worst status, services), read from an encoded summary
 * without decoding it, and merged per transaction in a table of fixed-size
 * entries: what a reader of many summaries uses to find the transactions
 * that may match before it decodes any (store/src/archive_summary.c).
 *
 * A light summary merges exactly as the full one's fields do (minima,
 * maxima, the top span's choice, or), so the merged light fields of a
 * transaction are those of its merged summary; the test of a filter on
 * them (qy_light_match()) is then a necessary condition of
 * qy_filter_match(): every transaction the full test takes, the light
 * one takes. Routes, methods and attribute values are tested as the
 * services are, one bit per condition ored over the pieces (a set cut
 * at its cap in the merged summary may lose a member a piece had: the
 * full test, applied after, then refuses it). Filters on texts need the
 * records (qy_filter_light() says whether a filter has none).
 */
#ifndef QUERY_LIGHT_H
#define QUERY_LIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "query/filter.h"
#include "query/summary.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The light fields of one summary, or of a transaction's merged summaries. */
struct qy_light {
	bool has_ts, has_top, error;
	uint16_t min_depth, top_depth;
	int status;
	int64_t first_ns, last_ns, top_ns, top_dur_ns;
	uint32_t services; /* bit i: the filter's i-th service is among the summary's */
	uint32_t routes;   /* its route conditions a span of the summary passes (qy__route_bits()) */
	uint32_t attrs;	   /* its attribute conditions a value of the summary passes */
};

/* qy_filter_light() - whether qy_light_match() decides @f (no text; services, routes, attrs <= 32). */
bool qy_filter_light(const struct qy_filter *f);

/*
 * qy_light_peek() - the light fields of the encoded summary at @p (@len
 * bytes, as qy_summary_encode() writes it), its trace (a view into @p,
 * not NUL-terminated) and its encoded length in *@used. Its values are
 * named by @keys through @keymap (the file's key k is @keys' keymap[k],
 * or none when negative; both may be NULL: no attribute bits), as
 * qy_summary_decode() takes them. Nothing is allocated.
 * Return: 0, or -QY_EINVAL when the bytes are not a summary.
 */
int qy_light_peek(const uint8_t *p, size_t len, const struct qy_filter *f, const int *keymap,
		  const struct qy_keys *keys, struct qy_light *l, const char **trace, size_t *trace_len,
		  size_t *used);

/* qy_light_of() - the light fields of summary @s (its values of @keys, which may be NULL). */
void qy_light_of(const struct qy_summary *s, const struct qy_keys *keys, const struct qy_filter *f,
		 struct qy_light *l);

/* qy_light_merge() - merge @src into @dst (an all-zero @dst with min_depth UINT16_MAX is empty). */
void qy_light_merge(struct qy_light *dst, const struct qy_light *src);

/* qy_light_start() - as qy_summary_start() of the merged summary. */
int64_t qy_light_start(const struct qy_light *l);

/* qy_light_match() - whether a transaction of these light fields may pass @f (see above). */
bool qy_light_match(const struct qy_filter *f, const struct qy_light *l);

/* Transactions by trace ID, each with its merged light fields. */
struct qy_lights {
	struct qy_light *v; /* entries, in order of first sight */
	uint32_t *off;	    /* entry i's trace: bytes at ids + off[i], len[i] long */
	uint32_t *len;
	size_t n, cap;
	char *ids; /* trace bytes of every entry */
	size_t ids_len, ids_cap;
	uint64_t *slots; /* open addressing: entry + 1 (low 32 bits) under the trace hash's high half */
	size_t nslots;
};

void qy_lights_init(struct qy_lights *t);
void qy_lights_release(struct qy_lights *t);

/* qy_lights_reserve() - room for @n entries without growing. Return: 0 or -QY_ENOMEM. */
int qy_lights_reserve(struct qy_lights *t, size_t n);

/*
 * qy_lights_add() - merge @l into the entry of @trace (made when new).
 * Return: the entry's index, or -QY_ENOMEM.
 */
long qy_lights_add(struct qy_lights *t, const char *trace, size_t len, const struct qy_light *l);

#ifdef __cplusplus
}
#endif

#endif
