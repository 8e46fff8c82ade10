/*
 * query/summary.h - transaction summaries: what a search knows of one
 * transaction without reading its records again.
 *
 * A summary is computed from a transaction's records (struct fmt_record,
 * in any order) and two summaries of the same transaction MERGE into the
 * summary of all their records: every field is a minimum, a maximum, a
 * sum or a set union, never "the last one seen". So a transaction seen
 * in pieces (several files, chunks, segments, threads) is summarised
 * piece by piece and the pieces merged, with the same result as one pass
 * over everything. What each field means is in formats/tracegrep-find.md.
 */
#ifndef QUERY_SUMMARY_H
#define QUERY_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fmt/record.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes: functions return 0 or one of these negated. */
enum qy_code {
	QY_OK = 0,
	QY_EINVAL,   /* a bad filter or argument */
	QY_ENOMEM,   /* out of memory */
	QY_ETRUNC,   /* an output buffer is too small */
	QY_ESTOPPED, /* the context's stop hook said stop (a query's time budget) */
};

/*
 * Latest timestamp computed with (2065-01-24, ns); earlier than 1970
 * counts as 1970, so sums and differences of times and durations taken
 * from untrusted logs fit int64.
 */
#define QY_TS_MAX INT64_C(3000000000000000000)
/*
 * Besides a record's "status" (an HTTP status, or a span's status text),
 * the keys OpenTelemetry writes an HTTP status under (semantic
 * conventions 1.21 and later, and before): an integer from 100 to 999
 * counts towards the worst status, and fails from 500.
 */
#define QY_HTTP_STATUS_KEY "http.response.status_code"
#define QY_HTTP_STATUS_KEY_OLD "http.status_code"

/*
 * qy_status_key() - whether an attribute named k[0, n) (as decoded) holds
 * a status: "status", or one of OpenTelemetry's HTTP status keys above.
 * The one list for the summaries, tracegrep's raw pre-pass and the API's
 * tags.
 */
bool qy_status_key(const char *k, size_t n);

/* Longest duration taken from a dur_us attribute: 115 days, in microseconds. */
#define QY_DUR_US_MAX INT64_C(10000000000000)

/* Caps of a summary's sets: past them the set keeps its smallest members and says so. */
#define QY_SERVICES_MAX 32   /* distinct services */
#define QY_ROUTES_MAX 64     /* distinct (method, path) pairs of spans */
#define QY_VALUES_MAX 8	     /* distinct values kept per summary key */
#define QY_KEYS_MAX 16	     /* summary keys */
#define QY_TEXTS_MAX 16	     /* --text regexes of one filter */
#define QY_CONDS_MAX 32	     /* --service, --route and --attr conditions of one filter, each */
#define QY_VALUE_BYTES 256   /* longest attribute value kept (longer ones are cut) */
#define QY_MESSAGE_BYTES 512 /* longest first_error kept (longer ones are cut) */

/* The attribute keys whose values summaries keep (summary_keys). */
struct qy_keys {
	char *v[QY_KEYS_MAX];	 /* malloc'd, distinct */
	size_t len[QY_KEYS_MAX]; /* strlen(v[i]) */
	size_t n;		 /* entries used */
	uint16_t by_len[64];	 /* bit i of by_len[l]: key i is l bytes long (l < 64), so that an
				    attribute's key is compared only with the keys of its length */
	uint16_t long_keys;	 /* bit i: key i is 64 bytes or longer */
};

/* The default summary keys: user, tenant, customer, order. */
extern const char *const qy_default_keys[];
extern const size_t qy_default_nkeys;

/* qy_keys_add() - add @key (copied) unless present. Return: 0, -QY_EINVAL (full, empty), -QY_ENOMEM. */
int qy_keys_add(struct qy_keys *k, const char *key);
/* qy_keys_defaults() - add the default keys. Return: as qy_keys_add(). */
int qy_keys_defaults(struct qy_keys *k);
/*
 * qy_keys_parse() - add the keys of comma-separated @list ("user, sku":
 * blanks around a key ignored; summary_keys of clewd's archive output).
 * Return: 0, or -QY_EINVAL (an empty key, too many) / -QY_ENOMEM with @msg (@cap bytes).
 */
int qy_keys_parse(struct qy_keys *k, const char *list, char *msg, size_t cap);
/* qy_keys_copy() - add every key of @src to @dst. Return: as qy_keys_add(). */
int qy_keys_copy(struct qy_keys *dst, const struct qy_keys *src);
void qy_keys_release(struct qy_keys *k);

/* One (method, path) pair a span of the transaction had; either may be NULL. */
struct qy_route {
	char *method;
	char *path;
};

/* The values one summary key had in the transaction's records. */
struct qy_values {
	char *first;	  /* the value of the earliest record (by time, then value), or NULL */
	int64_t first_ts; /* that record's time */
	char **v;	  /* distinct values, sorted (bytewise), at most QY_VALUES_MAX (malloc'd) */
	size_t n;	  /* entries used */
	bool truncated;	  /* more values were seen than kept */
};

/* Which record gives the root service, method and path: the smallest rank wins. */
struct qy_rank {
	uint8_t no_service; /* 1: the record names no service */
	uint16_t depth;	    /* its span's depth: 0 the transaction itself, 1 a top span, ... */
	int64_t ts;	    /* its time (QY_TS_MAX when it has none) */
};

struct qy_summary {
	char *trace;	     /* the transaction ID (decoded) */
	uint64_t records;    /* records summarised */
	bool has_ts;	     /* some record had a timestamp */
	int64_t first_ns;    /* earliest record time */
	int64_t last_ns;     /* latest record end (a span record ends at ts + dur_us) */
	uint16_t min_depth;  /* the smallest span depth of any record */
	bool has_top;	     /* a span record (event=span) was seen: top_* below */
	uint16_t top_depth;  /* the shallowest span record's depth (ties: earliest) */
	int64_t top_ns;	     /* its start */
	int64_t top_dur_ns;  /* its duration */
	bool has_root;	     /* root_* below are set */
	struct qy_rank root; /* rank of the record that gave them */
	char *root_service;  /* NULL when absent */
	char *root_method;
	char *root_path;
	uint64_t *spans; /* a hash set of the span IDs' 64-bit hashes (the trace ID's included), 0: empty */
	size_t nspans;	 /* distinct spans */
	size_t cspans;	 /* slots (a power of two) */
	char **services; /* sorted, distinct, at most QY_SERVICES_MAX (malloc'd) */
	size_t nservices;
	bool services_truncated;
	struct qy_route
		*routes; /* sorted by method then path (NULL first), distinct, at most QY_ROUTES_MAX */
	size_t nroutes;
	bool routes_truncated;
	int status;		 /* the worst (highest) HTTP status (100..999), 0 if none */
	bool error;		 /* an ERROR/FATAL record, a status >= 500 or a failing span status */
	char *first_error;	 /* the earliest error's message (see err_*), or NULL */
	uint8_t err_class;	 /* 0: from an ERROR/FATAL record, 1: from a failing status; 2: none */
	int64_t err_ts;		 /* that record's time */
	struct qy_values *attrs; /* per summary key, in the keys' order, or NULL while no record had a
				    value (see qy_summary_values()) */
	size_t nattrs;		 /* entries in attrs: the number of keys */
	uint32_t text_hits;	 /* bit i: a record's message matched the filter's i-th --text regex */
};

struct qy_filter;

/* What summarising needs besides the records: the keys, and the filter's record-level tests. */
struct qy_context {
	const struct qy_keys *keys;	/* summary keys (must outlive the summaries) */
	const struct qy_filter *filter; /* its --text regexes are run on each record; may be NULL */
	/* asked between segments, blocks and frames by the archive's readers
	 * (store/archive_sum.h) and every few thousand summaries by qy_txns_merge(): true
	 * stops them, -CD_ELIMIT / -QY_ESTOPPED (a query's time budget, a server
	 * stopping); may be NULL */
	bool (*stop)(void *arg);
	void *stop_arg;
};

/* qy_summary_init() - an empty summary of transaction @trace (@len bytes, copied). Return: 0 or -QY_ENOMEM */
int qy_summary_init(struct qy_summary *s, const char *trace, size_t len);
void qy_summary_release(struct qy_summary *s);

/*
 * qy_summary_add() - take record @r (of this transaction: its trace is
 * not checked) into @s. @text_hits: the filter's --text regexes that
 * match the record (see qy_filter_texts()). Return: 0 or -QY_ENOMEM.
 */
int qy_summary_add(struct qy_summary *s, const struct qy_context *ctx, const struct fmt_record *r,
		   uint32_t text_hits);

/*
 * qy_summary_merge() - take @src (the same transaction, other records)
 * into @dst; @src is left as it was. Both were made with the same keys.
 * Return: 0 or -QY_ENOMEM.
 */
int qy_summary_merge(struct qy_summary *dst, const struct qy_summary *src, const struct qy_keys *keys);

/* The transaction's start: the top span record's, else the earliest record's (0 when none). */
int64_t qy_summary_start(const struct qy_summary *s);
/* The transaction's duration: the top span record's, else first record to last record end. */
int64_t qy_summary_dur(const struct qy_summary *s);

/* qy_summary_values() - the values of summary key @k (an index into the keys), or NULL when none. */
const struct qy_values *qy_summary_values(const struct qy_summary *s, size_t k);

/*
 * qy_status_failed() - whether a status value marks a failure: a number
 * >= 500, or any text but ok/OK/Ok/unset; NULL or "" is not one. The one
 * rule of --find's error flag, the waterfall's and the Jaeger API's.
 */
bool qy_status_failed(const char *st);

/*
 * qy_record_failed() - whether record @r makes its transaction failed, as
 * qy_summary_add() decides it (an ERROR/FATAL level, or its first status
 * attribute failing, see qy_status_failed()); *@status (unless NULL) gets
 * the record's HTTP status (100..999, else 0). A pre-pass that looks for
 * failed transactions before summarising (tracegrep --find --error)
 * tests records with this, so it never misses one.
 */
bool qy_record_failed(const struct fmt_record *r, int *status);

/*
 * qy_span_hash() - the 64-bit hash spans are counted by: the decoded ID
 * taken 8 bytes (little-endian) a step, then MurmurHash3's final mix.
 * Archive summary files store these hashes: changing the function changes
 * their version (store/src/archive_summary.c).
 */
uint64_t qy_span_hash(const char *s, size_t n);

/*
 * qy_bytes_eq() - whether a[0..n) == b[0..n): inline for the IDs and names
 * summaries and chunks compare per record (mostly 4 to 32 bytes), two
 * overlapping loads a side, where a call to memcmp() costs more than the
 * compare.
 */
static inline bool qy_bytes_eq(const char *a, const char *b, size_t n)
{
	uint64_t x0, x1, y0, y1;
	uint32_t u0, u1, v0, v1;

	if (n > 16)
		return memcmp(a, b, n) == 0;
	if (n >= 8) {
		memcpy(&x0, a, 8);
		memcpy(&y0, b, 8);
		memcpy(&x1, a + n - 8, 8);
		memcpy(&y1, b + n - 8, 8);
		return ((x0 ^ y0) | (x1 ^ y1)) == 0;
	}
	if (n >= 4) {
		memcpy(&u0, a, 4);
		memcpy(&v0, b, 4);
		memcpy(&u1, a + n - 4, 4);
		memcpy(&v1, b + n - 4, 4);
		return ((u0 ^ v0) | (u1 ^ v1)) == 0;
	}
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/*
 * qy_nul_len() - the bytes of s[0..n) before its first NUL (n when none):
 * where a C string of summary.c ends. Inline, 8 bytes a step, for the
 * short IDs checked per record (memchr()'s call costs more there).
 */
static inline size_t qy_nul_len(const char *s, size_t n)
{
	const char *nul;
	size_t i = 0;

	if (n > 64)
		return (nul = memchr(s, 0, n)) ? (size_t)(nul - s) : n;
	for (; i + 8 <= n; i += 8) {
		uint64_t v;

		memcpy(&v, s + i, 8);
		if ((v - UINT64_C(0x0101010101010101)) & ~v & UINT64_C(0x8080808080808080))
			break; /* a NUL among these 8: found below */
	}
	for (; i < n; i++)
		if (!s[i])
			return i;
	return n;
}

#ifdef __cplusplus
}
#endif

#endif
