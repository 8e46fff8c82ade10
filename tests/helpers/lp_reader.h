/*
 * tests/helpers/lp_reader.h - a small InfluxDB line protocol reader that
 * follows InfluxDB 1.x (models/points.go), for the tests and the fuzz
 * target of the collector's line protocol writer.
 *
 * It is checked against every InfluxDB 1.x parse vector of
 * ../shared/corpora/influx-lineprotocol/lp_vectors.json, so that reading
 * back what the writer wrote means what the server would read. The 1.x
 * rules it follows: a byte is escaped when the byte before it is a
 * backslash (in measurements, keys, tag values and unquoted values);
 * measurements unescape "\," and "\ ", keys and tag values "\,", "\=" and
 * "\ ", string fields "\"" and "\\"; every other backslash stays.
 * Not for production: it allocates freely and stops at the first error.
 */
#ifndef TEST_LP_READER_H
#define TEST_LP_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum lpr_type { LPR_FLOAT, LPR_INT, LPR_UINT, LPR_BOOL, LPR_STRING };

struct lpr_kv {
	char *key;   /* unescaped, NUL-terminated (may hold NULs: see len) */
	size_t klen; /* key length */
	char *val;   /* tags and string fields: unescaped text; others: the literal */
	size_t vlen; /* value length */
	int type;    /* fields: enum lpr_type */
	double f;    /* LPR_FLOAT */
	int64_t i;   /* LPR_INT */
	uint64_t u;  /* LPR_UINT */
	bool b;	     /* LPR_BOOL */
};

struct lpr_point {
	char *measurement;     /* unescaped */
	size_t mlen;	       /* its length */
	struct lpr_kv *tags;   /* in line order */
	size_t ntags;	       /* entries */
	struct lpr_kv *fields; /* in line order */
	size_t nfields;	       /* entries */
	bool has_time;	       /* a timestamp was given */
	int64_t time_ns;       /* in ns (scaled by the precision) */
};

struct lpr_result {
	struct lpr_point *points; /* in order */
	size_t n;		  /* entries */
	const char *error;	  /* NULL, or what was wrong (static) */
};

/*
 * lpr_parse() - read every line of buf[0..len) with timestamps in
 * @precision ("n", "u", "ms", "s", "m", "h"; NULL = "n").
 * Return: 0 with @out filled, or -1 with out->error set (points read
 * before the bad line are kept). Free with lpr_free().
 */
int lpr_parse(const char *buf, size_t len, const char *precision, struct lpr_result *out);
void lpr_free(struct lpr_result *r);

#endif
