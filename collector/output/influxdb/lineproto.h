/*
 * output/influxdb/lineproto.h - InfluxDB line protocol, written (the influxdb
 * output's encoder).
 *
 *   measurement[,tag=value...] field=value[,field=value...] [timestamp]\n
 *
 * What is escaped, with a backslash (InfluxDB 1.x models/points.go, and
 * ../shared/corpora/influx-lineprotocol/lp_vectors.json):
 * - measurement: ',' and ' ' ('=' is not escaped there);
 * - tag keys, tag values, field keys: ',', '=' and ' ';
 * - string field values (inside "..."): '"' and '\'.
 * Every other byte is written as it is, backslashes included: InfluxDB
 * keeps a backslash that does not precede one of those characters.
 *
 * What line protocol cannot say is made safe, so a point is never
 * rejected for its text (and never breaks the lines after it):
 * - a line feed in a measurement, key or tag value becomes a space (a
 *   line feed ends the line wherever it is, outside a string field);
 * - trailing backslashes of a measurement, key or tag value are dropped
 *   (InfluxDB reads "\," or "\ " as an escape wherever the backslash came
 *   from, so a value cannot end in one);
 * - a measurement starting with '#' or a tab, and a field key starting
 *   with a tab, get a leading '_' (a '#' line is a comment; InfluxDB skips
 *   a tab where a line or its fields start); the key "time" becomes
 *   "_time" (InfluxDB refuses it);
 * - invalid UTF-8 becomes U+FFFD everywhere; names and tag values are cut
 *   at CD_INFLUX_NAME_MAX bytes, string fields at CD_INFLUX_STRING_MAX
 *   (on a UTF-8 boundary);
 * - a tag whose key or value ends up empty is left out; of two tags with
 *   the same key the first is kept (InfluxDB refuses duplicates); tags are
 *   written sorted by key (what InfluxDB asks for, for its index);
 * - a float field that is NaN or infinite is left out; a point with no
 *   field or no measurement left is not written (-CD_EINVAL).
 * Floats are written as the shortest decimal that reads back to the same
 * double ("11", "12.123", "1e+20"); integers with the 'i' suffix,
 * unsigned ones with 'u'; booleans as true/false; timestamps in ns.
 */
#ifndef CD_OUTPUT_LINEPROTO_H
#define CD_OUTPUT_LINEPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growing output buffer (caller-owned struct; lp_buf_release() frees). */
struct lp_buf {
	char *data; /* bytes written; not NUL-terminated */
	size_t len; /* bytes used */
	size_t cap; /* bytes allocated */
};

void lp_buf_release(struct lp_buf *b);

/* lp_buf_reserve() - room for @more bytes past len. Return: 0 or -CD_ENOMEM. */
int lp_buf_reserve(struct lp_buf *b, size_t more);

enum lp_type { LP_FLOAT = 0, LP_INT, LP_UINT, LP_BOOL, LP_STRING };

struct lp_tag {
	const char *key; /* bytes, not NUL-terminated */
	size_t klen;	 /* key length */
	const char *val; /* value bytes */
	size_t vlen;	 /* value length */
};

struct lp_field {
	const char *key; /* bytes */
	size_t klen;	 /* key length */
	uint8_t type;	 /* enum lp_type */
	union {
		double f;   /* LP_FLOAT */
		int64_t i;  /* LP_INT */
		uint64_t u; /* LP_UINT */
		bool b;	    /* LP_BOOL */
		struct {
			const char *p; /* LP_STRING bytes */
			size_t n;      /* their length */
		} s;
	} v;
};

struct lp_point {
	const char *measurement;       /* bytes */
	size_t mlen;		       /* its length */
	const struct lp_tag *tags;     /* any order; may repeat keys */
	size_t ntags;		       /* entries at tags (at most LP_TAGS_MAX are written) */
	const struct lp_field *fields; /* written in this order */
	size_t nfields;		       /* entries at fields */
	bool has_time;		       /* false: the server stamps it */
	int64_t time_ns;	       /* ns since the epoch */
};

/* Most tags of one point; more are left out (after sorting, the last keys). */
#define LP_TAGS_MAX 64

/*
 * lp_write() - append @p as one line, '\n' included, to @out. @tmp is
 * scratch space (its content is replaced; keep it between calls to
 * avoid allocating).
 * Return: 0; -CD_EINVAL when the point has no measurement or no field
 * left, or a timestamp InfluxDB refuses (outside MinInt64+2..MaxInt64-1):
 * nothing is appended; -CD_ENOMEM (nothing appended).
 */
int lp_write(struct lp_buf *out, struct lp_buf *tmp, const struct lp_point *p);

/*
 * lp_write_fields() - append only the fields part ("a=1i,b=\"x\"") of @n
 * fields, as lp_write() does. Return: the number of fields written (0:
 * nothing appended), or -CD_ENOMEM.
 */
int lp_write_fields(struct lp_buf *out, const struct lp_field *f, size_t n);

/*
 * The escapers, each appending one element of a line to @out as
 * described above (the string value without its quotes). Return: 0 or
 * -CD_ENOMEM; the length appended may be 0 (nothing was left).
 */
int lp_put_measurement(struct lp_buf *out, const char *s, size_t n);
int lp_put_key(struct lp_buf *out, const char *s,
	       size_t n); /* tag key (a field key also gets the tab rule) */
int lp_put_tag_value(struct lp_buf *out, const char *s, size_t n); /* as a key, but "time" stays */
int lp_put_string(struct lp_buf *out, const char *s, size_t n);

/* lp_put_float() - the shortest round-trip decimal of finite @v. Return: 0, -CD_EINVAL (not finite), -CD_ENOMEM. */
int lp_put_float(struct lp_buf *out, double v);

#endif
