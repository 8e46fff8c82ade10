/*
 * filter.c - a search's conditions: parsed from strings (one parser for
 * tracegrep's options and an HTTP query's parameters) and tested on
 * summaries; the --text regexes are tested on records while summarising,
 * as a summary keeps no messages.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <fnmatch.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fmt/str.h"
#include "fmt/ts.h"
#include "query/filter.h"
#include "summary_int.h"

void qy_filter_init(struct qy_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->max_dur_ns = INT64_MAX;
	f->since_ns = INT64_MIN;
	f->until_ns = INT64_MAX;
}

static void free_strs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void qy_filter_release(struct qy_filter *f)
{
	free_strs(f->services, f->nservices);
	free_strs(f->routes, f->nroutes);
	free_strs(f->methods, f->nmethods);
	free(f->statuses);
	free_strs(f->attr_keys, f->nattrs);
	free_strs(f->attr_vals, f->nattrs);
	for (size_t i = 0; i < f->ntexts; i++) {
		pcre2_code_free(f->texts[i]);
		free(f->text_src[i]);
	}
	qy_filter_init(f);
}

/* ---- values ---- */

int qy_parse_duration(const char *s, int64_t *ns)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {{"ns", 1},	 {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6},
		     {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
	char *end;
	double v;

	if (!s || !(*s >= '0' && *s <= '9'))
		return -QY_EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s)
		return -QY_EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) != 0)
			continue;
		v *= units[i].ns;
		if (!(v >= 0 && v <= (double)QY_DUR_US_MAX * 1000))
			return -QY_EINVAL;
		*ns = (int64_t)(v + 0.5);
		return 0;
	}
	return -QY_EINVAL;
}

int qy_parse_time(const char *s, int64_t now_ns, int64_t *ns)
{
	static const struct {
		char unit;
		int64_t ns;
	} units[] = {{'s', INT64_C(1000000000)},
		     {'m', INT64_C(60000000000)},
		     {'h', INT64_C(3600000000000)},
		     {'d', INT64_C(86400000000000)}};
	char *end;
	long long v;

	if (!s)
		return -QY_EINVAL;
	if (fmt_ts_parse(s, strlen(s), ns, NULL) == 0)
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0 || v > 100000 || !end[0] || end[1] || s[0] < '0' || s[0] > '9')
		return -QY_EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (*end == units[i].unit) {
			*ns = now_ns - v * units[i].ns;
			return 0;
		}
	}
	return -QY_EINVAL;
}

/* A status number of 1 to 3 digits. */
static int status_num(const char *s, int *out)
{
	char *end;
	long v;

	if (!(*s >= '0' && *s <= '9'))
		return -QY_EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > 999)
		return -QY_EINVAL;
	*out = (int)v;
	return 0;
}

int qy_parse_status(const char *s, struct qy_status *st)
{
	int v;

	if (!s)
		return -QY_EINVAL;
	if (strlen(s) == 3 && s[0] >= '1' && s[0] <= '9' && (s[1] == 'x' || s[1] == 'X') &&
	    (s[2] == 'x' || s[2] == 'X')) {
		st->lo = (s[0] - '0') * 100;
		st->hi = st->lo + 99;
		return 0;
	}
	if ((s[0] == '>' || s[0] == '<') && s[1] == '=') {
		if (status_num(s + 2, &v) < 0)
			return -QY_EINVAL;
		*st = s[0] == '>' ? (struct qy_status){v, 999} : (struct qy_status){1, v};
		return 0;
	}
	if (s[0] == '>' || s[0] == '<') {
		if (status_num(s + 1, &v) < 0)
			return -QY_EINVAL;
		*st = s[0] == '>' ? (struct qy_status){v + 1, 999} : (struct qy_status){1, v - 1};
		return 0;
	}
	if (status_num(s, &v) < 0)
		return -QY_EINVAL;
	*st = (struct qy_status){v, v};
	return 0;
}

/* ---- building ---- */

static int say(char *msg, size_t msglen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int say(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	if (msg && msglen) {
		va_start(ap, fmt);
		vsnprintf(msg, msglen, fmt, ap);
		va_end(ap);
	}
	return -QY_EINVAL;
}

static int push(char ***v, size_t *n, const char *s, size_t len)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return -QY_ENOMEM;
	*v = nv;
	nv[*n] = strndup(s, len);
	if (!nv[*n])
		return -QY_ENOMEM;
	(*n)++;
	return 0;
}

static int add_text(struct qy_filter *f, const char *re, char *msg, size_t msglen)
{
	PCRE2_UCHAR what[128];
	PCRE2_SIZE off;
	int code;
	pcre2_code *c;

	if (f->ntexts == QY_TEXTS_MAX)
		return say(msg, msglen, "at most %d --text regexes", QY_TEXTS_MAX);
	c = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code,
			  &off, NULL);
	if (!c) {
		pcre2_get_error_message(code, what, sizeof(what));
		return say(msg, msglen, "--text '%s': %s at offset %zu", re, (const char *)what, (size_t)off);
	}
	pcre2_jit_compile(c, PCRE2_JIT_COMPLETE); /* a speed-up when available; matching works without */
	f->text_src[f->ntexts] = strdup(re);
	f->texts[f->ntexts++] = c;
	return f->text_src[f->ntexts - 1] ? 0 : -QY_ENOMEM;
}

int qy_filter_add(struct qy_filter *f, const char *name, const char *value, int64_t now_ns, char *msg,
		  size_t msglen)
{
	const char *v = value ? value : "";

	if (strcmp(name, "error") == 0) {
		if (!*v || strcmp(v, "true") == 0)
			f->error = true;
		else if (strcmp(v, "false") == 0)
			f->error = false;
		else
			return say(msg, msglen, "error takes true or false, not '%s'", v);
		return 0;
	}
	if (strcmp(name, "service") == 0 || strcmp(name, "route") == 0 || strcmp(name, "method") == 0) {
		if (!*v)
			return say(msg, msglen, "--%s needs a value", name);
		if ((name[0] == 's' && f->nservices == QY_CONDS_MAX) ||
		    (name[0] == 'r' && f->nroutes == QY_CONDS_MAX))
			return say(msg, msglen, "at most %d --%s conditions", QY_CONDS_MAX, name);
		return name[0] == 's'	? push(&f->services, &f->nservices, v, strlen(v))
		       : name[0] == 'r' ? push(&f->routes, &f->nroutes, v, strlen(v))
					: push(&f->methods, &f->nmethods, v, strlen(v));
	}
	if (strcmp(name, "status") == 0) {
		struct qy_status st, *nv;

		if (qy_parse_status(v, &st) < 0)
			return say(msg, msglen,
				   "--status takes 500, 5xx, >=400, >399, <=399 or <400, not '%s'", v);
		nv = realloc(f->statuses, (f->nstatuses + 1) * sizeof(*nv));
		if (!nv)
			return -QY_ENOMEM;
		f->statuses = nv;
		nv[f->nstatuses++] = st;
		return 0;
	}
	if (strcmp(name, "min-duration") == 0 || strcmp(name, "max-duration") == 0) {
		int64_t ns;

		if (qy_parse_duration(v, &ns) < 0)
			return say(msg, msglen,
				   "--%s takes a duration such as 500us, 250ms, 1.5s, 2m, not '%s'", name, v);
		*(name[1] == 'i' ? &f->min_dur_ns : &f->max_dur_ns) = ns;
		return 0;
	}
	if (strcmp(name, "attr") == 0) {
		const char *eq = strchr(v, '=');
		int rc;

		if (!eq || eq == v)
			return say(msg, msglen, "--attr takes KEY=VALUE, not '%s'", v);
		if (f->nattrs == QY_CONDS_MAX)
			return say(msg, msglen, "at most %d --attr conditions", QY_CONDS_MAX);
		rc = push(&f->attr_keys, &f->nattrs, v, (size_t)(eq - v));
		if (rc == 0) {
			f->nattrs--; /* counted once both are in */
			rc = push(&f->attr_vals, &f->nattrs, eq + 1, strlen(eq + 1));
		}
		return rc;
	}
	if (strcmp(name, "text") == 0) {
		if (!*v)
			return say(msg, msglen, "--text needs a regular expression");
		return add_text(f, v, msg, msglen);
	}
	if (strcmp(name, "since") == 0 || strcmp(name, "until") == 0) {
		if (qy_parse_time(v, now_ns, name[0] == 's' ? &f->since_ns : &f->until_ns) < 0)
			return say(
				msg, msglen,
				"--%s takes an RFC 3339 time (2026-11-23T07:00:00Z) or an age (90s, 15m, 2h, 7d), "
				"not '%s'",
				name, v);
		return 0;
	}
	return say(msg, msglen, "no such filter: '%s'", name);
}

int qy_filter_keys(const struct qy_filter *f, struct qy_keys *k)
{
	for (size_t i = 0; i < f->nattrs; i++) {
		int rc = qy_keys_add(k, f->attr_keys[i]);

		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- testing ---- */

static bool text_match(pcre2_code *c, const struct fmt_str *v, char *buf, pcre2_match_data *md)
{
	size_t n;

	if (!v->ptr || v->len == 0)
		return false;
	n = v->enc == FMT_ENC_RAW ? v->len : fmt_str_decode(v, buf);
	return pcre2_match(c, (PCRE2_SPTR)(v->enc == FMT_ENC_RAW ? v->ptr : buf), n, 0, 0, md, NULL) >= 0;
}

uint32_t qy_filter_texts(const struct qy_filter *f, const struct fmt_record *r, void *match)
{
	size_t need = (size_t)r->message.len > r->cont.len ? r->message.len : r->cont.len;
	char small[1024], *buf = need <= sizeof(small) ? small : malloc(need);
	uint32_t hits = 0;

	if (!buf)
		return 0;
	for (size_t i = 0; i < f->ntexts; i++)
		if (text_match(f->texts[i], &r->message, buf, match) ||
		    text_match(f->texts[i], &r->cont, buf, match))
			hits |= UINT32_C(1) << i;
	if (buf != small)
		free(buf);
	return hits;
}

static bool has_service(const struct qy_summary *s, const char *name)
{
	for (size_t i = 0; i < s->nservices; i++)
		if (strcmp(s->services[i], name) == 0)
			return true;
	return false;
}

static bool method_ok(const struct qy_filter *f, const char *method, size_t len)
{
	if (!f->nmethods)
		return true;
	for (size_t i = 0; method && i < f->nmethods; i++)
		if (strlen(f->methods[i]) == len && strncasecmp(f->methods[i], method, len) == 0)
			return true;
	return false;
}

uint32_t qy__route_bits(const struct qy_filter *f, const char *method, size_t mlen, const char *path)
{
	uint32_t bits = 0;

	if (!method_ok(f, method, mlen))
		return 0;
	if (!f->nroutes)
		return 1;
	for (size_t i = 0; path && i < f->nroutes; i++)
		if (fnmatch(f->routes[i], path, 0) == 0)
			bits |= UINT32_C(1) << i;
	return bits;
}

uint32_t qy__attr_bits(const struct qy_filter *f, const char *key, size_t klen, const char *val, size_t vlen)
{
	uint32_t bits = 0;

	for (size_t i = 0; i < f->nattrs; i++)
		if (strlen(f->attr_keys[i]) == klen && memcmp(f->attr_keys[i], key, klen) == 0 &&
		    strlen(f->attr_vals[i]) == vlen && memcmp(f->attr_vals[i], val, vlen) == 0)
			bits |= UINT32_C(1) << i;
	return bits;
}

uint32_t qy__all_bits(size_t n)
{
	return n >= 32 ? UINT32_MAX : (UINT32_C(1) << n) - 1;
}

bool qy_filter_match(const struct qy_filter *f, const struct qy_summary *s, const struct qy_keys *keys)
{
	int64_t dur = qy_summary_dur(s), start = qy_summary_start(s);
	bool ok = !f->nstatuses;

	if (f->error && !s->error)
		return false;
	if (dur < f->min_dur_ns || dur > f->max_dur_ns)
		return false;
	if ((f->since_ns != INT64_MIN || f->until_ns != INT64_MAX) &&
	    (!s->has_ts || start < f->since_ns || start > f->until_ns))
		return false;
	for (size_t i = 0; i < f->nstatuses && !ok; i++)
		ok = s->status >= f->statuses[i].lo && s->status <= f->statuses[i].hi;
	if (!ok)
		return false;
	for (size_t i = 0; i < f->nservices; i++)
		if (!has_service(s, f->services[i]))
			return false;
	if (f->nroutes || f->nmethods) {
		uint32_t want = qy__all_bits(f->nroutes ? f->nroutes : 1), bits = 0;

		for (size_t i = 0; i < s->nroutes && bits != want; i++) {
			const struct qy_route *r = &s->routes[i];

			bits |= qy__route_bits(f, r->method, r->method ? strlen(r->method) : 0, r->path);
		}
		if (bits != want)
			return false;
	}
	if (f->nattrs) {
		uint32_t bits = 0;

		for (size_t k = 0; keys && k < keys->n; k++) {
			const struct qy_values *vs = qy_summary_values(s, k);

			for (size_t i = 0; vs && i < vs->n; i++)
				bits |= qy__attr_bits(f, keys->v[k], keys->len[k], vs->v[i],
						      strlen(vs->v[i]));
		}
		if (bits != qy__all_bits(f->nattrs))
			return false;
	}
	if (f->ntexts && s->text_hits != qy__all_bits(f->ntexts))
		return false;
	return true;
}
