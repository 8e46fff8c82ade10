/*
 * tests/helpers/lp_reader.c - InfluxDB 1.x line protocol reader for tests
 * (see lp_reader.h). Written from the rules the corpus vectors show, not
 * from the server's code: one function per element, each scanning up to
 * its unescaped terminator, then unescaping what it took.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lp_reader.h"

struct cur {
	const char *p;	 /* next byte */
	const char *end; /* end of the input */
	const char *err; /* first error */
};

/* Whether s[i] is escaped: the byte before it is a backslash (the 1.x scanner's rule). */
static bool escaped(const char *start, const char *s)
{
	return s > start && s[-1] == '\\';
}

/* Unescape [s, e): a backslash before a byte of @set stands for that byte; others stay. */
static char *unescape(const char *s, const char *e, const char *set, size_t *len)
{
	char *out = malloc((size_t)(e - s) + 1), *o = out;

	for (; s < e; s++) {
		if (*s == '\\' && s + 1 < e && strchr(set, s[1]) && s[1]) {
			*o++ = s[1];
			s++;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	*len = (size_t)(o - out);
	return out;
}

static void fail(struct cur *c, const char *what)
{
	if (!c->err)
		c->err = what;
}

/* Scan from c->p up to the first unescaped byte of @stops (or the end, or '\n'). */
static const char *scan(struct cur *c, const char *line, const char *stops)
{
	const char *s = c->p;

	while (s < c->end && *s != '\n' && !(strchr(stops, *s) && *s && !escaped(line, s)))
		s++;
	return s;
}

static bool parse_i64(const char *s, size_t n, int64_t *out)
{
	char buf[64], *e;
	long long v;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!((buf[i] >= '0' && buf[i] <= '9') || (i == 0 && buf[i] == '-')))
			return false;
	if (n == 1 && buf[0] == '-')
		return false;
	errno = 0;
	v = strtoll(buf, &e, 10);
	if (errno || *e)
		return false;
	*out = v;
	return true;
}

static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
	char buf[64], *e;
	unsigned long long v;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (buf[i] < '0' || buf[i] > '9')
			return false;
	errno = 0;
	v = strtoull(buf, &e, 10);
	if (errno || *e)
		return false;
	*out = v;
	return true;
}

/* [-](digits[.[digits]] | .digits)[(e|E)[+|-]digits] */
static bool parse_float(const char *s, size_t n, double *out)
{
	size_t i = 0, d1 = 0, d2 = 0, de = 0;
	char *buf, *e;
	double v;

	if (i < n && s[i] == '-')
		i++;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++, d1++;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++, d2++;
	}
	if (d1 + d2 == 0)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++, de++;
		if (de == 0)
			return false;
	}
	if (i != n)
		return false;
	buf = malloc(n + 1);
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	v = strtod(buf, &e);
	free(buf);
	if (errno == ERANGE && isinf(v))
		return false; /* out of range */
	*out = v;
	return true;
}

static bool parse_value(const char *s, size_t n, struct lpr_kv *kv)
{
	static const char *const t[] = {"t", "T", "true", "True", "TRUE"};
	static const char *const f[] = {"f", "F", "false", "False", "FALSE"};

	for (size_t i = 0; i < 5; i++) {
		if (strlen(t[i]) == n && memcmp(s, t[i], n) == 0) {
			kv->type = LPR_BOOL, kv->b = true;
			return true;
		}
		if (strlen(f[i]) == n && memcmp(s, f[i], n) == 0) {
			kv->type = LPR_BOOL, kv->b = false;
			return true;
		}
	}
	if (n >= 2 && s[n - 1] == 'i') {
		kv->type = LPR_INT;
		return parse_i64(s, n - 1, &kv->i);
	}
	if (n >= 2 && s[n - 1] == 'u') {
		kv->type = LPR_UINT;
		return parse_u64(s, n - 1, &kv->u);
	}
	kv->type = LPR_FLOAT;
	return parse_float(s, n, &kv->f);
}

static void kv_push(struct lpr_kv **arr, size_t *n, const struct lpr_kv *kv)
{
	*arr = realloc(*arr, (*n + 1) * sizeof(**arr));
	(*arr)[(*n)++] = *kv;
}

static void point_free(struct lpr_point *p)
{
	free(p->measurement);
	for (size_t i = 0; i < p->ntags; i++)
		free(p->tags[i].key), free(p->tags[i].val);
	for (size_t i = 0; i < p->nfields; i++)
		free(p->fields[i].key), free(p->fields[i].val);
	free(p->tags);
	free(p->fields);
}

/* One point from c->p (at its first byte); leaves c->p at the '\n' or the end. */
static bool parse_point(struct cur *c, struct lpr_point *pt, int64_t scale)
{
	const char *line = c->p, *s;

	memset(pt, 0, sizeof(*pt));
	s = scan(c, line, ", ");
	if (s == c->p)
		return fail(c, "missing measurement"), false;
	pt->measurement = unescape(c->p, s, ", ", &pt->mlen);
	c->p = s;
	while (c->p < c->end && *c->p == ',') {
		struct lpr_kv kv = {0};
		const char *k0 = ++c->p, *ke, *ve;

		ke = scan(c, line, ",= ");
		if (ke == k0)
			return fail(c, "missing tag key"), false;
		if (ke >= c->end || *ke != '=')
			return fail(c, "missing tag value"), false;
		c->p = ke + 1;
		ve = scan(c, line, ",= ");
		if (ve < c->end && *ve == '=')
			return fail(c, "invalid tag format"), false;
		if (ve == c->p)
			return fail(c, "missing tag value"), false;
		kv.key = unescape(k0, ke, ",= ", &kv.klen);
		kv.val = unescape(c->p, ve, ",= ", &kv.vlen);
		for (size_t i = 0; i < pt->ntags; i++)
			if (pt->tags[i].klen == kv.klen && memcmp(pt->tags[i].key, kv.key, kv.klen) == 0) {
				free(kv.key), free(kv.val);
				return fail(c, "duplicate tags"), false;
			}
		kv_push(&pt->tags, &pt->ntags, &kv);
		c->p = ve;
	}
	if (c->p >= c->end || *c->p != ' ')
		return fail(c, "missing fields"), false;
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++; /* 1.x skips tabs there too: "m \tv=1" has the field v */
	for (;;) {
		struct lpr_kv kv = {0};
		const char *k0 = c->p, *ke, *v0;

		ke = scan(c, line, ",= ");
		if (ke >= c->end || *ke != '=' || ke == k0)
			return fail(c, ke == k0 ? "missing field name" : "missing field value"), false;
		kv.key = unescape(k0, ke, ",= ", &kv.klen);
		v0 = ke + 1;
		if (v0 < c->end && *v0 == '"') {
			/* a string: backslash pairs are escapes here, and a '\n' is part of it */
			const char *q = v0 + 1;
			char *o;

			while (q < c->end && *q != '"')
				q += (*q == '\\' && q + 1 < c->end) ? 2 : 1;
			if (q >= c->end) {
				free(kv.key);
				return fail(c, "unbalanced quotes"), false;
			}
			kv.type = LPR_STRING;
			kv.val = o = malloc((size_t)(q - v0));
			for (const char *x = v0 + 1; x < q; x++) {
				if (*x == '\\' && x + 1 < q && (x[1] == '"' || x[1] == '\\'))
					x++;
				*o++ = *x;
			}
			kv.vlen = (size_t)(o - kv.val);
			c->p = q + 1;
			if (c->p < c->end && *c->p != ',' && *c->p != ' ' && *c->p != '\n') {
				free(kv.key), free(kv.val);
				return fail(c, "unbalanced quotes"), false;
			}
		} else {
			const char *ve;

			c->p = v0;
			ve = scan(c, line, ", ");
			if (ve == v0 || !parse_value(v0, (size_t)(ve - v0), &kv)) {
				free(kv.key);
				return fail(c, ve == v0 ? "missing field value" : "invalid field value"),
				       false;
			}
			kv.val = malloc((size_t)(ve - v0) + 1);
			memcpy(kv.val, v0, (size_t)(ve - v0));
			kv.val[ve - v0] = '\0';
			kv.vlen = (size_t)(ve - v0);
			c->p = ve;
		}
		kv_push(&pt->fields, &pt->nfields, &kv);
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		break;
	}
	while (c->p < c->end && *c->p == ' ')
		c->p++;
	if (c->p < c->end && *c->p != '\n') {
		const char *t0 = c->p;
		int64_t t;

		while (c->p < c->end && *c->p != ' ' && *c->p != '\n')
			c->p++;
		if (!parse_i64(t0, (size_t)(c->p - t0), &t))
			return fail(c, "bad timestamp"), false;
		if (scale > 1 && (t > INT64_MAX / scale || t < INT64_MIN / scale))
			return fail(c, "bad timestamp"), false;
		t *= scale;
		if (t < INT64_MIN + 2 || t > INT64_MAX - 1)
			return fail(c, "bad timestamp"), false;
		pt->has_time = true;
		pt->time_ns = t;
		while (c->p < c->end && *c->p == ' ')
			c->p++;
		if (c->p < c->end && *c->p != '\n')
			return fail(c, "bad timestamp"), false;
	}
	return true;
}

int lpr_parse(const char *buf, size_t len, const char *precision, struct lpr_result *out)
{
	struct cur c = {buf, buf + len, NULL};
	int64_t scale = 1;

	memset(out, 0, sizeof(*out));
	if (precision && strcmp(precision, "u") == 0)
		scale = 1000;
	else if (precision && strcmp(precision, "ms") == 0)
		scale = 1000000;
	else if (precision && strcmp(precision, "s") == 0)
		scale = 1000000000;
	else if (precision && strcmp(precision, "m") == 0)
		scale = 60ll * 1000000000;
	else if (precision && strcmp(precision, "h") == 0)
		scale = 3600ll * 1000000000;
	while (c.p < c.end) {
		struct lpr_point pt;

		while (c.p < c.end && (*c.p == ' ' || *c.p == '\t'))
			c.p++;
		if (c.p < c.end && *c.p == '#') {
			while (c.p < c.end && *c.p != '\n')
				c.p++;
		}
		if (c.p >= c.end)
			break;
		if (*c.p == '\n') {
			c.p++;
			continue;
		}
		if (!parse_point(&c, &pt, scale)) {
			point_free(&pt);
			out->error = c.err;
			return -1;
		}
		out->points = realloc(out->points, (out->n + 1) * sizeof(*out->points));
		out->points[out->n++] = pt;
		if (c.p < c.end)
			c.p++; /* the '\n' */
	}
	return 0;
}

void lpr_free(struct lpr_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		point_free(&r->points[i]);
	free(r->points);
	memset(r, 0, sizeof(*r));
}
