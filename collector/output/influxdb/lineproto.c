/*
 * output/influxdb/lineproto.c - InfluxDB line protocol writer (see lineproto.h for
 * the escaping rules and what is made safe).
 *
 * DESIGN: each element is sanitized and escaped in one pass straight into
 * the output buffer, which is reserved up front for the worst case (every
 * byte escaped, or replaced by the three bytes of U+FFFD), so the inner
 * loop never checks for room. Tags go through the scratch buffer first:
 * they are escaped there, then sorted and deduplicated on their escaped
 * keys (two keys that sanitize alike are then equal, and InfluxDB would
 * refuse the line), then copied out. A point that turns out unwritable
 * (no field left) is rolled back, so the buffer only ever holds whole
 * lines.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/str.h"
#include "cd_limits.h"
#include "output/influxdb/lineproto.h"
#include <store/err.h>
#include "util/banned.h"

void lp_buf_release(struct lp_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int lp_buf_reserve(struct lp_buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *n;

	if (more > SIZE_MAX / 4 - b->len)
		return -CD_ENOMEM;
	while (cap < b->len + more)
		cap *= 2;
	if (cap == b->cap)
		return 0;
	n = realloc(b->data, cap);
	if (!n)
		return -CD_ENOMEM;
	b->data = n;
	b->cap = cap;
	return 0;
}

enum elem { E_MEASUREMENT, E_KEY, E_FIELDKEY, E_TAGVAL };

/*
 * Append @s as element @e: sanitized, escaped, cut at CD_INFLUX_NAME_MAX
 * bytes of sanitized text. Worst case out: 3 bytes per input byte
 * (U+FFFD) plus the '_' prefix.
 */
/*
 * The bytes at the start of u[0..n) that a name of kind @e writes as they
 * are (ASCII, nothing to escape or replace): copied as one run, so that the
 * usual name costs one memcpy, not a UTF-8 check and two copies a byte.
 */
static size_t name_run(const unsigned char *u, size_t n, enum elem e)
{
	size_t i = 0;

	while (i < n && u[i] < 0x80 && u[i] != '\n' && u[i] != ',' && u[i] != ' ' &&
	       (u[i] != '=' || e == E_MEASUREMENT))
		i++;
	return i;
}

/* The same for a string field's text: everything ASCII but '"' and '\\'. */
static size_t string_run(const unsigned char *u, size_t n)
{
	size_t i = 0;

	while (i < n && u[i] < 0x80 && u[i] != '"' && u[i] != '\\')
		i++;
	return i;
}

static int put_name(struct lp_buf *out, const char *s, size_t n, enum elem e)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t start, text = 0, end_text, i = 0;
	char *o;
	int rc;

	if (n > CD_INFLUX_NAME_MAX * 4)
		n = CD_INFLUX_NAME_MAX * 4; /* enough input for the cap even if every byte is escaped */
	if ((rc = lp_buf_reserve(out, n * 3 + 2)) < 0)
		return rc;
	start = out->len;
	o = out->data + out->len;
	if ((e == E_KEY || e == E_FIELDKEY) && n == 4 && memcmp(s, "time", 4) == 0) {
		memcpy(o, "_time", 5);
		out->len += 5;
		return 0;
	}
	/* InfluxDB skips a tab where a line or its fields begin, and reads a line starting with '#' as a comment */
	if (n &&
	    ((e == E_MEASUREMENT && (s[0] == '#' || s[0] == '\t')) || (e == E_FIELDKEY && s[0] == '\t'))) {
		*o++ = '_';
		text++;
	}
	while (i < n) {
		unsigned char c = u[i];
		size_t l, run = name_run(u + i, n - i, e);
		char tmp[4];
		size_t tl;

		if (run) {
			if (run > CD_INFLUX_NAME_MAX - text)
				run = CD_INFLUX_NAME_MAX - text;
			if (run == 0)
				break;
			memcpy(o, s + i, run);
			o += run;
			i += run;
			text += run;
			continue;
		}
		l = fmt_utf8_len(u + i, n - i);
		if (l == 0) {
			memcpy(tmp, "\xef\xbf\xbd", 3);
			tl = 3;
			l = 1;
		} else if (c == '\n') {
			tmp[0] = ' ';
			tl = 1;
		} else {
			memcpy(tmp, s + i, l);
			tl = l;
		}
		if (text + tl > CD_INFLUX_NAME_MAX)
			break;
		text += tl;
		i += l;
		if (tl == 1 && (tmp[0] == ',' || tmp[0] == ' ' || (tmp[0] == '=' && e != E_MEASUREMENT)))
			*o++ = '\\';
		memcpy(o, tmp, tl);
		o += tl;
	}
	/*
	 * Trailing backslashes cannot be written: the separator after them would
	 * read as escaped. They are all literal ones (an escaping backslash is
	 * always followed by the byte it escapes).
	 */
	end_text = (size_t)(o - (out->data + start));
	while (end_text && out->data[start + end_text - 1] == '\\')
		end_text--;
	out->len = start + end_text;
	return 0;
}

int lp_put_measurement(struct lp_buf *out, const char *s, size_t n)
{
	return put_name(out, s, n, E_MEASUREMENT);
}

int lp_put_key(struct lp_buf *out, const char *s, size_t n)
{
	return put_name(out, s, n, E_KEY);
}

int lp_put_tag_value(struct lp_buf *out, const char *s, size_t n)
{
	return put_name(out, s, n, E_TAGVAL);
}

int lp_put_string(struct lp_buf *out, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t text = 0, i = 0;
	char *o;
	int rc;

	if (n > CD_INFLUX_STRING_MAX)
		n = CD_INFLUX_STRING_MAX; /* the cap is on the text: more input cannot fit anyway */
	if ((rc = lp_buf_reserve(out, n * 3)) < 0)
		return rc;
	o = out->data + out->len;
	while (i < n) {
		size_t l, tl, run = string_run(u + i, n - i);
		const char *src = s + i;

		if (run) {
			if (run > CD_INFLUX_STRING_MAX - text)
				run = CD_INFLUX_STRING_MAX - text;
			if (run == 0)
				break;
			memcpy(o, src, run);
			o += run;
			i += run;
			text += run;
			continue;
		}
		l = fmt_utf8_len(u + i, n - i);
		tl = l;
		if (l == 0) {
			src = "\xef\xbf\xbd";
			tl = 3;
			l = 1;
		}
		if (text + tl > CD_INFLUX_STRING_MAX)
			break;
		text += tl;
		i += l;
		if (tl == 1 && (*src == '"' || *src == '\\'))
			*o++ = '\\';
		memcpy(o, src, tl);
		o += tl;
	}
	out->len = (size_t)(o - out->data);
	return 0;
}

int lp_put_float(struct lp_buf *out, double v)
{
	char num[40];
	int n = 0, rc;

	if (!isfinite(v))
		return -CD_EINVAL;
	/* the shortest of 15, 16, 17 significant digits that reads back as @v (17 always does) */
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(num, sizeof(num), "%.*g", prec, v);
		if (prec == 17 || strtod(num, NULL) == v)
			break;
	}
	if ((rc = lp_buf_reserve(out, (size_t)n)) < 0)
		return rc;
	memcpy(out->data + out->len, num, (size_t)n);
	out->len += (size_t)n;
	return 0;
}

static int put_raw(struct lp_buf *out, const char *s, size_t n)
{
	int rc = lp_buf_reserve(out, n);

	if (rc < 0)
		return rc;
	memcpy(out->data + out->len, s, n);
	out->len += n;
	return 0;
}

/* Append one field "key=value"; Return: 1 written, 0 left out (nothing appended), -CD_ENOMEM. */
static int put_field(struct lp_buf *out, const struct lp_field *f, bool comma)
{
	size_t start = out->len, klen;
	char num[32];
	int n, rc;

	if (f->type == LP_FLOAT && !isfinite(f->v.f))
		return 0;
	if (comma && (rc = put_raw(out, ",", 1)) < 0)
		return rc;
	klen = out->len;
	if ((rc = put_name(out, f->key, f->klen, E_FIELDKEY)) < 0)
		goto err;
	if (out->len == klen) {
		out->len = start; /* an empty key */
		return 0;
	}
	if ((rc = put_raw(out, "=", 1)) < 0)
		goto err;
	switch (f->type) {
	case LP_FLOAT:
		rc = lp_put_float(out, f->v.f);
		break;
	case LP_INT:
		n = snprintf(num, sizeof(num), "%" PRId64 "i", f->v.i);
		rc = put_raw(out, num, (size_t)n);
		break;
	case LP_UINT:
		n = snprintf(num, sizeof(num), "%" PRIu64 "u", f->v.u);
		rc = put_raw(out, num, (size_t)n);
		break;
	case LP_BOOL:
		rc = f->v.b ? put_raw(out, "true", 4) : put_raw(out, "false", 5);
		break;
	case LP_STRING:
		if ((rc = put_raw(out, "\"", 1)) < 0 || (rc = lp_put_string(out, f->v.s.p, f->v.s.n)) < 0)
			break;
		rc = put_raw(out, "\"", 1);
		break;
	default:
		out->len = start;
		return 0;
	}
	if (rc < 0)
		goto err;
	return 1;
err:
	out->len = start;
	return rc;
}

int lp_write_fields(struct lp_buf *out, const struct lp_field *f, size_t n)
{
	int written = 0, rc;

	for (size_t i = 0; i < n; i++) {
		if ((rc = put_field(out, &f[i], written > 0)) < 0)
			return rc;
		written += rc;
	}
	return written;
}

/* An escaped tag in the scratch buffer: ",key=value" at [off, off+len), the key at off+1..off+1+klen. */
struct tag_ref {
	size_t off;  /* of the ',' */
	size_t len;  /* whole ",key=value" */
	size_t klen; /* escaped key */
};

static int tag_cmp(const char *base, const struct tag_ref *a, const struct tag_ref *b)
{
	size_t n = a->klen < b->klen ? a->klen : b->klen;
	int c = memcmp(base + a->off + 1, base + b->off + 1, n);

	if (c)
		return c;
	return a->klen < b->klen ? -1 : a->klen > b->klen;
}

/* Escape @p's tags into @tmp, sorted by key, without duplicates or empty ones. Return: count or -CD_ENOMEM. */
static int build_tags(struct lp_buf *tmp, const struct lp_point *p, struct tag_ref *refs)
{
	size_t nt = p->ntags < LP_TAGS_MAX ? p->ntags : LP_TAGS_MAX, nr = 0;
	int rc;

	tmp->len = 0;
	for (size_t i = 0; i < nt; i++) {
		const struct lp_tag *t = &p->tags[i];
		struct tag_ref r = {.off = tmp->len};
		size_t k0, v0;

		if ((rc = put_raw(tmp, ",", 1)) < 0)
			return rc;
		k0 = tmp->len;
		if ((rc = lp_put_key(tmp, t->key, t->klen)) < 0)
			return rc;
		r.klen = tmp->len - k0;
		if ((rc = put_raw(tmp, "=", 1)) < 0)
			return rc;
		v0 = tmp->len;
		if ((rc = lp_put_tag_value(tmp, t->val, t->vlen)) < 0)
			return rc;
		if (r.klen == 0 || tmp->len == v0) {
			tmp->len =
				r.off; /* InfluxDB has no empty tag: leaving it out is what it would store */
			continue;
		}
		r.len = tmp->len - r.off;
		/* insertion sort, stable: the first of equal keys stays first */
		size_t j = nr;
		while (j > 0 && tag_cmp(tmp->data, &refs[j - 1], &r) > 0) {
			refs[j] = refs[j - 1];
			j--;
		}
		if (j > 0 && tag_cmp(tmp->data, &refs[j - 1], &r) == 0) {
			/* a duplicate key: keep the earlier one; undo the shift */
			memmove(&refs[j], &refs[j + 1], (nr - j) * sizeof(refs[0]));
			continue;
		}
		refs[j] = r;
		nr++;
	}
	return (int)nr;
}

int lp_write(struct lp_buf *out, struct lp_buf *tmp, const struct lp_point *p)
{
	struct tag_ref refs[LP_TAGS_MAX];
	size_t start = out->len, m0;
	char num[32];
	int nt, rc, n;

	/* models/time.go: MinNanoTime = MinInt64 + 2, MaxNanoTime = MaxInt64 - 1 */
	if (p->has_time && (p->time_ns < INT64_MIN + 2 || p->time_ns > INT64_MAX - 1))
		return -CD_EINVAL;
	if ((nt = build_tags(tmp, p, refs)) < 0)
		return nt;
	if ((rc = lp_put_measurement(out, p->measurement, p->mlen)) < 0)
		goto err;
	m0 = out->len;
	if (m0 == start) {
		rc = -CD_EINVAL;
		goto err;
	}
	for (int i = 0; i < nt; i++)
		if ((rc = put_raw(out, tmp->data + refs[i].off, refs[i].len)) < 0)
			goto err;
	if ((rc = put_raw(out, " ", 1)) < 0)
		goto err;
	if ((rc = lp_write_fields(out, p->fields, p->nfields)) <= 0) {
		if (rc == 0)
			rc = -CD_EINVAL;
		goto err;
	}
	if (p->has_time) {
		n = snprintf(num, sizeof(num), " %" PRId64 "\n", p->time_ns);
		rc = put_raw(out, num, (size_t)n);
	} else {
		rc = put_raw(out, "\n", 1);
	}
	if (rc < 0)
		goto err;
	return 0;
err:
	out->len = start;
	return rc;
}
