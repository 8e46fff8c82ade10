/*
 * output/influxdb/influx_points.c - the InfluxDB output's records -> points:
 * event=span records become "spans" points (and RED samples),
 * event=metric records a point of the metric's name, plain log records
 * only feed the log counts and, when they close a request, RED.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cd_limits.h"
#include "fmt/str.h"
#include "output/influxdb/influx.h"
#include "util/util.h"
#include "util/banned.h"

/* The NUL-terminated copy of a short attribute value, or NULL (absent, too long). */
static const char *attr_text(const struct fmt_record *r, const char *key, char *buf, size_t cap)
{
	const struct fmt_attr *a = fmt_record_attr(r, key);

	if (!a || !a->val.ptr || a->val.len >= cap ||
	    (a->type != FMT_T_STRING && a->type != FMT_T_NUMBER && a->type != FMT_T_BOOL))
		return NULL;
	memcpy(buf, a->val.ptr, a->val.len);
	buf[a->val.len] = '\0';
	return buf;
}

static bool attr_i64(const struct fmt_record *r, const char *key, int64_t *out)
{
	char buf[32], *end;
	const char *s = attr_text(r, key, buf, sizeof(buf));
	long long v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static bool attr_f64(const struct fmt_attr *a, double *out)
{
	char buf[64], *end;
	double v;

	if (!a || !a->val.ptr || a->val.len == 0 || a->val.len >= sizeof(buf) ||
	    (a->type != FMT_T_NUMBER && a->type != FMT_T_STRING))
		return false;
	memcpy(buf, a->val.ptr, a->val.len);
	buf[a->val.len] = '\0';
	errno = 0;
	v = strtod(buf, &end);
	if (*end || !isfinite(v))
		return false; /* "Infinity", "NaN", garbage: InfluxDB has no such float */
	*out = v;
	return true;
}

static bool is_id_segment(const char *s, size_t n)
{
	size_t digits = 0, hex = 0, dashes = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= '0' && c <= '9')
			digits++;
		else if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
			hex++;
		else if (c == '-')
			dashes++;
		else
			return false;
	}
	if (n && digits == n)
		return true; /* /orders/42 */
	/* a hex ID or a UUID: long, with at least one digit (not a word like "deadbeef"... nor "facade") */
	return n >= 8 && digits > 0 && dashes <= 4 && (dashes == 0 || n == 36);
}

/*
 * The route of a record: its "route" attribute, else its path without
 * query and with ID-like segments as ":id" (a bounded tag set).
 */
static size_t route_of(const struct influx *st, const struct fmt_record *r, char *out, size_t cap)
{
	const struct fmt_attr *a = fmt_record_attr(r, "route");
	const char *p, *end;
	size_t o = 0;

	if (a && a->type == FMT_T_STRING && a->val.ptr && a->val.len) {
		size_t n = a->val.len < cap ? a->val.len : cap;
		memcpy(out, a->val.ptr, n);
		return n;
	}
	if (!r->path.ptr)
		return 0;
	p = r->path.ptr;
	end = p + r->path.len;
	for (const char *q = p; q < end; q++)
		if (*q == '?' || *q == '#') {
			end = q;
			break;
		}
	if (!st->normalize) {
		size_t n = (size_t)(end - p) < cap ? (size_t)(end - p) : cap;
		memcpy(out, p, n);
		return n;
	}
	while (p < end) {
		const char *seg = p, *slash = memchr(p, '/', (size_t)(end - p));
		const char *send = slash ? slash : end;
		size_t n = (size_t)(send - seg);

		if (is_id_segment(seg, n))
			seg = ":id", n = 3;
		if (o + n + 1 > cap)
			break;
		memcpy(out + o, seg, n);
		o += n;
		if (slash)
			out[o++] = '/';
		p = slash ? slash + 1 : end;
	}
	return o;
}

static struct red_str rs(const struct fmt_str *s)
{
	struct red_str r = {s->ptr, s->ptr ? s->len : 0};
	return r;
}

/* A point's time: the record's, or now; @jitter_key spreads spans within their microsecond. */
static int64_t point_time(const struct fmt_record *r, const struct fmt_str *jitter_key, int64_t now)
{
	int64_t t = r->has_ts ? r->ts_ns : now;

	if (jitter_key && jitter_key->ptr && t % 1000 == 0 && t < INT64_MAX - 1000) {
		uint64_t h = 14695981039346656037ull;
		for (uint32_t i = 0; i < jitter_key->len; i++) {
			h ^= (unsigned char)jitter_key->ptr[i];
			h *= 1099511628211ull;
		}
		t += (int64_t)(h % 1000);
	}
	return t;
}

/* Point @p appended to st->raw and counted in *@np, or skipped (nothing a point can hold). Return: 0 or -CD_ENOMEM. */
static int put_point(struct influx *st, const struct lp_point *p, uint32_t *np)
{
	int rc = lp_write(&st->raw, &st->tmp, p);

	if (rc == -CD_ENOMEM)
		return rc;
	if (rc == 0)
		(*np)++;
	else
		st->skipped++;
	return 0;
}

static bool status_is_error(const struct fmt_record *r)
{
	char buf[16];
	const char *s = attr_text(r, "status", buf, sizeof(buf));
	int64_t code;

	if (s && (strcmp(s, "error") == 0 || strcmp(s, "ERROR") == 0))
		return true;
	if (attr_i64(r, "status", &code) && code >= 500)
		return true;
	return attr_i64(r, "http_status", &code) && code >= 500;
}

static int encode_span(struct influx *st, const struct fmt_record *r, int64_t now, uint32_t *np)
{
	char route[CD_INFLUX_NAME_MAX], name[CD_INFLUX_NAME_MAX], status[64];
	const char *nm = attr_text(r, "name", name, sizeof(name));
	const char *stt = attr_text(r, "status", status, sizeof(status));
	size_t rlen = route_of(st, r, route, sizeof(route));
	int64_t dur;
	bool err = status_is_error(r);

	if (!attr_i64(r, "dur_us", &dur) || dur < 0) {
		st->skipped++;
		return 0;
	}
	if (st->want_red) {
		struct red_str l[RED_LABELS] = {
			rs(&r->service), rs(&r->method), {route, rlen}, {nm, nm ? strlen(nm) : 0}};
		if (r->has_ts && red_add(st->red, RED_SPAN, r->ts_ns, l, (uint64_t)dur, err) < 0)
			return -CD_ENOMEM;
	}
	if (st->want_spans) {
		struct lp_tag tags[5];
		struct lp_field f[3];
		struct lp_point p = {
			.measurement = "spans", .mlen = 5, .tags = tags, .fields = f, .has_time = true};
		size_t nt = 0, nf = 0;
		struct fmt_str jk = r->span.ptr ? r->span : r->trace;

		if (r->service.ptr)
			tags[nt++] = (struct lp_tag){"service", 7, r->service.ptr, r->service.len};
		if (nm)
			tags[nt++] = (struct lp_tag){"name", 4, nm, strlen(nm)};
		if (r->method.ptr)
			tags[nt++] = (struct lp_tag){"method", 6, r->method.ptr, r->method.len};
		if (rlen)
			tags[nt++] = (struct lp_tag){"route", 5, route, rlen};
		if (stt)
			tags[nt++] = (struct lp_tag){"status", 6, stt, strlen(stt)};
		f[nf++] = (struct lp_field){.key = "dur_us", .klen = 6, .type = LP_INT, .v.i = dur};
		if (r->trace.ptr)
			f[nf++] = (struct lp_field){.key = "trace",
						    .klen = 5,
						    .type = LP_STRING,
						    .v.s = {r->trace.ptr, r->trace.len}};
		if (r->span.ptr)
			f[nf++] = (struct lp_field){.key = "span",
						    .klen = 4,
						    .type = LP_STRING,
						    .v.s = {r->span.ptr, r->span.len}};
		p.ntags = nt;
		p.nfields = nf;
		p.time_ns = point_time(r, &jk, now);
		return put_point(st, &p, np);
	}
	return 0;
}

/* Keys of a metric record that are not its tags. */
static bool metric_reserved(const struct fmt_str *k)
{
	static const char *const keys[] = {"metric", "type", "value",	"count",
					   "sum",    "msg",  "message", "event"};

	if (k->len >= 3 && memcmp(k->ptr, "le_", 3) == 0)
		return true;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (k->len == strlen(keys[i]) && memcmp(k->ptr, keys[i], k->len) == 0)
			return true;
	return false;
}

static int encode_metric(struct influx *st, const struct fmt_record *r, int64_t now, uint32_t *np)
{
	const struct fmt_attr *name = fmt_record_attr(r, "metric");
	struct lp_tag tags[FMT_ATTRS_MAX + 1];
	struct lp_field f[FMT_ATTRS_MAX];
	struct lp_point p = {.tags = tags, .fields = f, .has_time = true};
	size_t nt = 0, nf = 0;
	double v;

	if (!name || name->type != FMT_T_STRING || !name->val.len) {
		st->skipped++;
		return 0;
	}
	p.measurement = name->val.ptr;
	p.mlen = name->val.len;
	if (r->service.ptr)
		tags[nt++] = (struct lp_tag){"service", 7, r->service.ptr, r->service.len};
	for (unsigned i = 0; i < r->nattrs; i++) {
		const struct fmt_attr *a = &r->attrs[i];
		int64_t iv;

		if (a->key.len >= 3 && memcmp(a->key.ptr, "le_", 3) == 0) {
			char buf[32];
			if (a->val.len < sizeof(buf) && a->val.ptr) {
				char *end;
				memcpy(buf, a->val.ptr, a->val.len);
				buf[a->val.len] = '\0';
				errno = 0;
				iv = strtoll(buf, &end, 10);
				if (!errno && !*end && end != buf)
					f[nf++] = (struct lp_field){.key = a->key.ptr,
								    .klen = a->key.len,
								    .type = LP_INT,
								    .v.i = iv};
			}
			continue;
		}
		if (metric_reserved(&a->key))
			continue;
		if (a->type == FMT_T_STRING || a->type == FMT_T_NUMBER || a->type == FMT_T_BOOL)
			tags[nt++] = (struct lp_tag){a->key.ptr, a->key.len, a->val.ptr, a->val.len};
	}
	/* value is always a float: a counter and a gauge of one name must not conflict in type */
	if (attr_f64(fmt_record_attr(r, "value"), &v))
		f[nf++] = (struct lp_field){.key = "value", .klen = 5, .type = LP_FLOAT, .v.f = v};
	if (attr_f64(fmt_record_attr(r, "sum"), &v))
		f[nf++] = (struct lp_field){.key = "sum", .klen = 3, .type = LP_FLOAT, .v.f = v};
	{
		int64_t c;
		if (attr_i64(r, "count", &c))
			f[nf++] = (struct lp_field){.key = "count", .klen = 5, .type = LP_INT, .v.i = c};
	}
	p.ntags = nt;
	p.nfields = nf;
	p.time_ns = point_time(r, NULL, now);
	return put_point(st, &p, np);
}

/* A plain log record: counted per service and level; a request's closing record also feeds RED. */
static int encode_log(struct influx *st, const struct fmt_record *r)
{
	int64_t status, dur;

	if (!r->has_ts)
		return 0;
	if (st->want_logs) {
		const char *lv = fmt_level_name((enum fmt_level)r->level);
		struct red_str l[RED_LABELS] = {rs(&r->service), {lv, strlen(lv)}, {NULL, 0}, {NULL, 0}};
		if (!*lv && r->level_text.ptr)
			l[1] = rs(&r->level_text);
		if (red_add(st->red, RED_LOG, r->ts_ns, l, 0, false) < 0)
			return -CD_ENOMEM;
	}
	if (st->want_red && (r->method.ptr || r->path.ptr) && attr_i64(r, "status", &status) &&
	    attr_i64(r, "dur_us", &dur) && dur >= 0) {
		char route[CD_INFLUX_NAME_MAX];
		size_t rlen = route_of(st, r, route, sizeof(route));
		struct red_str l[RED_LABELS] = {rs(&r->service), rs(&r->method), {route, rlen}, {NULL, 0}};
		if (red_add(st->red, RED_REQUEST, r->ts_ns, l, (uint64_t)dur, status >= 500) < 0)
			return -CD_ENOMEM;
	}
	return 0;
}

/* Encode chunk @c into batch @b. Return: 0, -CD_ENOMEM, -CD_ECORRUPT. */
/* Encode chunk @c into batch @b. Return: 0, -CD_ENOMEM, -CD_ECORRUPT. */
int influx_encode_chunk(struct influx *st, const struct chunk *c, struct batch *b)
{
	static struct fmt_record rec; /* large; the loop is single-threaded */
	struct record_src src;
	struct chunk_iter it;
	int64_t now = cd_real_ns();
	uint32_t np = 0, from = 0;
	size_t dlen = 0;
	const uint8_t *data = chunk_data_ref(c, &dlen);
	unsigned n;
	int rc;

	st->raw.len = 0;
	red_clock(st->red, now, cd_mono_ns());
	chunk_iter_init(&it, c);
	while ((rc = chunk_iter_next(&it, &rec, &src)) == 1) {
		if (src.raw)
			continue;
		if (rec.event == FMT_EVENT_SPAN)
			rc = encode_span(st, &rec, now, &np);
		else if (rec.event == FMT_EVENT_METRIC)
			rc = st->want_metrics ? encode_metric(st, &rec, now, &np) : 0;
		else
			rc = encode_log(st, &rec);
		if (rc < 0)
			return rc;
		if (st->raw.len >= st->batch_bytes && b->nparts + 1 < CD_INFLUX_PARTS_MAX) {
			n = b->nparts;
			if ((rc = influx_seal_part(st, b, np)) < 0)
				return rc;
			if (b->nparts > n) { /* its records: what was read since the last part */
				b->parts[n].rec_off = from;
				b->parts[n].rec_end = from = (uint32_t)(it.p - data);
			}
			np = 0;
		}
	}
	if (rc < 0)
		return rc;
	n = b->nparts;
	if ((rc = influx_seal_part(st, b, np)) == 0 && b->nparts > n) {
		b->parts[n].rec_off = from;
		b->parts[n].rec_end = (uint32_t)dlen;
	}
	return rc;
}
