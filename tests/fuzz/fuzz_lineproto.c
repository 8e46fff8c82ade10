/*
 * fuzz_lineproto.c - the influxdb output's line protocol writer on any
 * bytes: every line it writes must read back (tests/helpers/lp_reader.c,
 * held to InfluxDB 1.x's parse vectors) as exactly what the writer's
 * documented rules make of the input, computed here independently.
 *
 * Input: byte 0 = number of tags (low 3 bits) and fields (next 3 bits);
 * then length-prefixed pieces (1 byte length each): the measurement,
 * each tag's key and value, each field's key, a type byte and its value
 * (strings as they are; numbers from the bytes).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../helpers/lp_reader.h"
#include "cd_limits.h"
#include "output/influxdb/lineproto.h"

struct piece {
	const char *p;
	size_t n;
};

static bool take(const uint8_t **d, size_t *len, struct piece *out)
{
	size_t n;

	if (*len < 1)
		return false;
	n = **d;
	(*d)++, (*len)--;
	if (n > *len)
		n = *len;
	out->p = (const char *)*d;
	out->n = n;
	*d += n, *len -= n;
	return true;
}

static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* What the writer's rules make of a name (lineproto.h), into @out (room for 3 * CD_INFLUX_NAME_MAX + 8). */
static size_t expect_name(const struct piece *in,
			  int kind /* 0 measurement, 1 tag key, 2 field key, 3 tag value */, char *out)
{
	size_t o = 0, i = 0;

	if ((kind == 1 || kind == 2) && in->n == 4 && memcmp(in->p, "time", 4) == 0) {
		memcpy(out, "_time", 5);
		return 5;
	}
	if (in->n &&
	    ((kind == 0 && (in->p[0] == '#' || in->p[0] == '\t')) || (kind == 2 && in->p[0] == '\t')))
		out[o++] = '_';
	while (i < in->n) {
		size_t l = utf8_len((const unsigned char *)in->p + i, in->n - i);
		const char *src = in->p + i;
		size_t tl = l;

		if (l == 0)
			src = "\xef\xbf\xbd", tl = 3, l = 1;
		else if (*src == '\n')
			src = " ";
		if (o + tl > CD_INFLUX_NAME_MAX)
			break;
		memcpy(out + o, src, tl);
		o += tl;
		i += l;
	}
	while (o && out[o - 1] == '\\')
		o--;
	return o;
}

static size_t expect_string(const struct piece *in, char *out)
{
	size_t o = 0, i = 0;

	while (i < in->n) {
		size_t l = utf8_len((const unsigned char *)in->p + i, in->n - i);
		const char *src = in->p + i;
		size_t tl = l;

		if (l == 0)
			src = "\xef\xbf\xbd", tl = 3, l = 1;
		if (o + tl > CD_INFLUX_STRING_MAX)
			break;
		memcpy(out + o, src, tl);
		o += tl;
		i += l;
	}
	return o;
}

static void check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char names[32][3 * CD_INFLUX_NAME_MAX + 8];
	static size_t nlen[32];
	struct piece m, tk[8], tv[8], fk[8], fv[8];
	struct lp_tag tags[8];
	struct lp_field fields[8];
	struct lp_buf out = {0}, tmp = {0};
	struct lpr_result r;
	unsigned nt, nf, wrote_f = 0;
	size_t mlen;
	int rc;

	if (size < 1)
		return 0;
	nt = data[0] & 7;
	nf = (data[0] >> 3) & 7;
	data++, size--;
	if (!take(&data, &size, &m))
		return 0;
	for (unsigned i = 0; i < nt; i++)
		if (!take(&data, &size, &tk[i]) || !take(&data, &size, &tv[i]))
			return 0;
	for (unsigned i = 0; i < nf; i++) {
		uint8_t type;
		if (!take(&data, &size, &fk[i]) || size < 1)
			return 0;
		type = data[0] % 5;
		data++, size--;
		if (!take(&data, &size, &fv[i]))
			return 0;
		fields[i].key = fk[i].p;
		fields[i].klen = fk[i].n;
		fields[i].type = type;
		if (type == LP_STRING) {
			fields[i].v.s.p = fv[i].p;
			fields[i].v.s.n = fv[i].n;
		} else {
			uint64_t u = 0;
			memcpy(&u, fv[i].p, fv[i].n < 8 ? fv[i].n : 8);
			if (type == LP_FLOAT)
				memcpy(&fields[i].v.f, &u, 8);
			else if (type == LP_INT)
				fields[i].v.i = (int64_t)u;
			else if (type == LP_UINT)
				fields[i].v.u = u;
			else
				fields[i].v.b = u & 1;
		}
	}
	for (unsigned i = 0; i < nt; i++)
		tags[i] = (struct lp_tag){tk[i].p, tk[i].n, tv[i].p, tv[i].n};
	{
		struct lp_point p = {m.p, m.n, tags, nt, fields, nf, true, 1};
		rc = lp_write(&out, &tmp, &p);
	}
	mlen = expect_name(&m, 0, names[0]);
	for (unsigned i = 0; i < nf; i++) {
		nlen[16 + i] = expect_name(&fk[i], 2, names[16 + i]);
		if (nlen[16 + i] && !(fields[i].type == LP_FLOAT && !isfinite(fields[i].v.f)))
			wrote_f++;
	}
	if (rc < 0) {
		check(out.len == 0 && (mlen == 0 || wrote_f == 0));
		goto done;
	}
	check(mlen > 0 && wrote_f > 0);
	check(out.len > 0 && out.data[out.len - 1] == '\n');
	check(lpr_parse(out.data, out.len, NULL, &r) == 0);
	check(r.n == 1);
	check(r.points[0].mlen == mlen && memcmp(r.points[0].measurement, names[0], mlen) == 0);
	check(r.points[0].has_time && r.points[0].time_ns == 1);
	/* tags: each one read back is the first input tag whose sanitized key it has, with that tag's value */
	for (size_t k = 0; k < r.points[0].ntags; k++) {
		const struct lpr_kv *t = &r.points[0].tags[k];
		bool found = false;
		for (unsigned i = 0; i < nt && !found; i++) {
			size_t kl = expect_name(&tk[i], 1, names[1]);
			size_t vl;
			if (kl != t->klen || memcmp(names[1], t->key, kl) != 0)
				continue;
			vl = expect_name(&tv[i], 3, names[2]);
			if (vl == 0)
				continue; /* an empty value: left out, a later one with the key may be there */
			check(vl == t->vlen && memcmp(names[2], t->val, vl) == 0);
			found = true;
		}
		check(found);
	}
	/* and every input tag with a key and a value left is there (the order is test_lineproto's) */
	for (unsigned i = 0; i < nt; i++) {
		size_t kl = expect_name(&tk[i], 1, names[1]), vl = expect_name(&tv[i], 3, names[2]);
		bool found = false;
		if (!kl || !vl)
			continue;
		for (size_t k = 0; k < r.points[0].ntags && !found; k++)
			found = r.points[0].tags[k].klen == kl &&
				memcmp(r.points[0].tags[k].key, names[1], kl) == 0;
		check(found);
	}
	/* fields: in order, those with a key and a finite value */
	{
		size_t k = 0;
		for (unsigned i = 0; i < nf; i++) {
			const struct lpr_kv *f;
			if (!nlen[16 + i] || (fields[i].type == LP_FLOAT && !isfinite(fields[i].v.f)))
				continue;
			check(k < r.points[0].nfields);
			f = &r.points[0].fields[k++];
			check(f->klen == nlen[16 + i] && memcmp(f->key, names[16 + i], f->klen) == 0);
			switch (fields[i].type) {
			case LP_FLOAT:
				check(f->type == LPR_FLOAT && f->f == fields[i].v.f);
				break;
			case LP_INT:
				check(f->type == LPR_INT && f->i == fields[i].v.i);
				break;
			case LP_UINT:
				check(f->type == LPR_UINT && f->u == fields[i].v.u);
				break;
			case LP_BOOL:
				check(f->type == LPR_BOOL && f->b == fields[i].v.b);
				break;
			default: {
				size_t sl = expect_string(&fv[i], names[3]);
				check(f->type == LPR_STRING && f->vlen == sl &&
				      memcmp(f->val, names[3], sl) == 0);
			}
			}
		}
		check(k == r.points[0].nfields);
	}
	lpr_free(&r);
done:
	lp_buf_release(&out);
	lp_buf_release(&tmp);
	return 0;
}
