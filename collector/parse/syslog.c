/*
 * parse/syslog.c - RFC 5424 / RFC 3164 messages and RFC 6587 framing
 * (see syslog.h).
 *
 * DESIGN: syslog_parse() only cuts the message into views and checks the
 * grammar (a malformed frame is the caller's to keep as a raw record);
 * syslog_record() maps the views onto a record, the body first (it may be
 * a whole pipe or JSON record: its own fields win), the header filling in
 * what the body did not say. The framing keeps no buffer of its own: the
 * connection's buffer holds at most one frame (max + the MSG-LEN), and a
 * longer frame leaves in pieces, never a reason to drop the connection.
 */
#include <string.h>

#include "fmt/str.h"
#include "fmt/ts.h"
#include "parse/parse.h"
#include "parse/syslog.h"
#include "util/banned.h"

static const char *const reasons[SYSLOG_E_NREASONS] = {
	[SYSLOG_OK] = "ok",
	[SYSLOG_E_EMPTY] = "empty",
	[SYSLOG_E_PRI] = "bad_pri",
	[SYSLOG_E_HEADER] = "bad_header",
	[SYSLOG_E_SD] = "bad_structured_data",
	[SYSLOG_E_COUNT] = "bad_octet_count",
	[SYSLOG_E_SHORT] = "incomplete_frame",
};

const char *syslog_strerror(int e)
{
	if (e < 0)
		e = -e;
	return e < SYSLOG_E_NREASONS ? reasons[e] : "unknown";
}

enum fmt_level syslog_level(unsigned sev)
{
	static const uint8_t map[8] = {FMT_LEVEL_FATAL, FMT_LEVEL_FATAL, FMT_LEVEL_FATAL, FMT_LEVEL_ERROR,
				       FMT_LEVEL_WARN,	FMT_LEVEL_INFO,	 FMT_LEVEL_INFO,  FMT_LEVEL_DEBUG};

	return (enum fmt_level)map[sev & 7];
}

const char *syslog_facility_name(unsigned fac)
{
	static const char *const names[24] = {
		"kern",	  "user",   "mail",	"daemon", "auth",   "syslog",	"lpr",	   "news",
		"uucp",	  "cron",   "authpriv", "ftp",	  "ntp",    "security", "console", "solaris-cron",
		"local0", "local1", "local2",	"local3", "local4", "local5",	"local6",  "local7"};

	return fac < 24 ? names[fac] : "unknown";
}

const char *syslog_severity_name(unsigned sev)
{
	static const char *const names[8] = {"emerg",	"alert",  "crit", "err",
					     "warning", "notice", "info", "debug"};

	return names[sev & 7];
}

/* --- the header ---------------------------------------------------------- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* PRINTUSASCII (RFC 5424): a header field's bytes. */
static bool is_print(char c)
{
	return (unsigned char)c >= 33 && (unsigned char)c <= 126;
}

/* <PRI> at @s: 1..3 digits, no leading zero but "0", value <= 191. Return: bytes, or 0. */
static size_t parse_pri(const char *s, size_t n, unsigned *pri)
{
	size_t i = 1;
	unsigned v = 0;

	if (n < 3 || s[0] != '<')
		return 0;
	while (i < n && i <= 4 && is_digit(s[i]))
		v = v * 10 + (unsigned)(s[i++] - '0');
	if (i == 1 || i > 4 || i >= n || s[i] != '>' || (s[1] == '0' && i > 2) || v > 191)
		return 0;
	*pri = v;
	return i + 1;
}

/* A header field at s[*p..n): 1+ printable bytes up to SP; "-" is NILVALUE. Return: false if none. */
static bool field(const char *s, size_t n, size_t *p, struct fmt_str *out)
{
	size_t b = *p, i = b;

	while (i < n && is_print(s[i]))
		i++;
	if (i == b || (i < n && s[i] != ' '))
		return false;
	if (!(i - b == 1 && s[b] == '-'))
		*out = fmt_str_n(s + b, i - b);
	*p = i;
	return true;
}

/* Skip the SP after a field; false when the message ends or something else follows. */
static bool sp(const char *s, size_t n, size_t *p)
{
	if (*p >= n || s[*p] != ' ')
		return false;
	(*p)++;
	return true;
}

/* An SD-NAME at s[*p..n): printable but '=', ']', '"' (RFC 5424, 6.3.2). Return: its length. */
static size_t sd_name(const char *s, size_t n, size_t *p)
{
	size_t b = *p;

	while (*p < n && is_print(s[*p]) && s[*p] != '=' && s[*p] != ']' && s[*p] != '"')
		(*p)++;
	return *p - b;
}

/* STRUCTURED-DATA at s[*p..n): NILVALUE or 1+ SD-ELEMENTs. Return: 0 or -SYSLOG_E_SD. */
static int parse_sd(const char *s, size_t n, size_t *p, struct syslog_msg *m)
{
	size_t b = *p, i = *p;

	if (i < n && s[i] == '-') {
		*p = i + 1;
		return 0;
	}
	if (i >= n || s[i] != '[')
		return -SYSLOG_E_SD;
	while (i < n && s[i] == '[') {
		i++;
		if (sd_name(s, n, &i) == 0)
			return -SYSLOG_E_SD;
		for (;;) {
			if (i >= n)
				return -SYSLOG_E_SD;
			if (s[i] == ']') {
				i++;
				break;
			}
			if (s[i] != ' ')
				return -SYSLOG_E_SD;
			i++;
			if (sd_name(s, n, &i) == 0 || i + 1 >= n || s[i] != '=' || s[i + 1] != '"')
				return -SYSLOG_E_SD;
			for (i += 2; i < n && s[i] != '"'; i++)
				if (s[i] == '\\' && i + 1 < n)
					i++; /* \" \\ \] (and a backslash before anything else stays) */
			if (i >= n)
				return -SYSLOG_E_SD;
			i++;
		}
	}
	m->sd = fmt_str_n(s + b, i - b);
	*p = i;
	return 0;
}

/* The message from s[p..n): a UTF-8 BOM skipped, trailing CR, LF, NUL taken off. */
static void set_body(const char *s, size_t n, size_t p, struct syslog_msg *m)
{
	while (n > p && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == '\0'))
		n--;
	if (n - p >= 3 && memcmp(s + p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	m->body = fmt_str_n(s + p, n - p);
}

static int parse_5424(const char *s, size_t n, size_t p, struct syslog_msg *m)
{
	int rc;

	m->kind = SYSLOG_RFC5424;
	if (!field(s, n, &p, &m->ts) || !sp(s, n, &p) || !field(s, n, &p, &m->host) || !sp(s, n, &p) ||
	    !field(s, n, &p, &m->app) || !sp(s, n, &p) || !field(s, n, &p, &m->procid) || !sp(s, n, &p) ||
	    !field(s, n, &p, &m->msgid) || !sp(s, n, &p))
		return -SYSLOG_E_HEADER;
	if (m->ts.ptr && fmt_ts_parse(m->ts.ptr, m->ts.len, &m->ts_ns, NULL) == 0)
		m->has_ts = true;
	if ((rc = parse_sd(s, n, &p, m)) < 0)
		return rc;
	if (p < n && s[p] != ' ')
		return -SYSLOG_E_SD; /* something glued to the structured data */
	set_body(s, n, p < n ? p + 1 : p, m);
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned mo, unsigned d)
{
	const int64_t era = (y - (mo <= 2)) / 400 - ((y - (mo <= 2)) < 0 && (y - (mo <= 2)) % 400 != 0);
	const int64_t yoe = (y - (mo <= 2)) - era * 400;
	const int64_t doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1;
	const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

/* The year of @ns (UTC). */
static int64_t year_of(int64_t ns)
{
	int64_t days = ns / 1000000000 / 86400, y = 1970 + days / 366;

	while (days_from_civil(y + 1, 1, 1) <= days)
		y++;
	return y;
}

/* "Mmm dd hh:mm:ss" (the day may be space-padded) at s[p..n). Return: bytes, or 0. */
static size_t parse_bsd_time(const char *s, size_t n, size_t p, int64_t now_ns, int64_t *ns)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	const size_t b = p;
	unsigned mo = 0, d = 0, hh, mm, ss;
	int64_t y, t;

	if (n - p < 14)
		return 0;
	for (unsigned i = 0; i < 12 && !mo; i++)
		if (memcmp(s + p, months + 3 * i, 3) == 0)
			mo = i + 1;
	if (!mo || s[p + 3] != ' ')
		return 0;
	p += 4;
	if (s[p] == ' ')
		p++;
	for (unsigned k = 0; k < 2 && p < n && is_digit(s[p]); k++)
		d = d * 10 + (unsigned)(s[p++] - '0');
	if (d < 1 || d > 31 || n - p < 9 || s[p] != ' ' || !is_digit(s[p + 1]) || !is_digit(s[p + 2]) ||
	    s[p + 3] != ':' || !is_digit(s[p + 4]) || !is_digit(s[p + 5]) || s[p + 6] != ':' ||
	    !is_digit(s[p + 7]) || !is_digit(s[p + 8]))
		return 0;
	hh = (unsigned)(s[p + 1] - '0') * 10 + (unsigned)(s[p + 2] - '0');
	mm = (unsigned)(s[p + 4] - '0') * 10 + (unsigned)(s[p + 5] - '0');
	ss = (unsigned)(s[p + 7] - '0') * 10 + (unsigned)(s[p + 8] - '0');
	if (hh > 23 || mm > 59 || ss > 60)
		return 0;
	p += 9;
	/* no year: the one that puts it nearest now (a December message read in January is last year's) */
	y = year_of(now_ns);
	t = (days_from_civil(y, mo, d) * 86400 + hh * 3600 + mm * 60 + ss) * 1000000000;
	if (t > now_ns + (int64_t)183 * 86400 * 1000000000)
		t = (days_from_civil(y - 1, mo, d) * 86400 + hh * 3600 + mm * 60 + ss) * 1000000000;
	else if (t < now_ns - (int64_t)183 * 86400 * 1000000000)
		t = (days_from_civil(y + 1, mo, d) * 86400 + hh * 3600 + mm * 60 + ss) * 1000000000;
	*ns = t;
	return p - b;
}

/*
 * A TAG at s[p..n): up to 48 printable bytes, then "[PID]" and/or ':', or
 * a space (as rsyslog reads it: its own traditional forward format writes
 * a 5424 message's APP-NAME without the colon).
 */
static bool parse_tag(const char *s, size_t n, size_t *pp, struct syslog_msg *m)
{
	size_t p = *pp, b = p, e;

	while (p < n && p - b <= 48 && is_print(s[p]) && s[p] != ':' && s[p] != '[')
		p++;
	if (p == b || p - b > 48)
		return false;
	e = p;
	if (p < n && s[p] == '[') {
		size_t pb = ++p;
		while (p < n && p - pb <= 128 && is_print(s[p]) && s[p] != ']')
			p++;
		if (p >= n || s[p] != ']' || p == pb)
			return false;
		m->procid = fmt_str_n(s + pb, p - pb);
		p++;
	}
	if (p < n && s[p] == ':')
		p++;
	else if (p < n && s[p] != ' ') {
		m->procid = (struct fmt_str){NULL, 0, 0};
		return false;
	}
	m->app = fmt_str_n(s + b, e - b);
	if (p < n && s[p] == ' ')
		p++;
	*pp = p;
	return true;
}

/* Where the token at s[p..n) ends (the next SP or n). */
static size_t token_end(const char *s, size_t n, size_t p)
{
	const char *sp_ = memchr(s + p, ' ', n - p);

	return sp_ ? (size_t)(sp_ - s) : n;
}

static int parse_3164(const char *s, size_t n, size_t p, int64_t now_ns, struct syslog_msg *m)
{
	size_t t, e;

	m->kind = SYSLOG_RFC3164;
	if ((t = parse_bsd_time(s, n, p, now_ns, &m->ts_ns)) > 0) {
		m->ts = fmt_str_n(s + p, t);
		m->has_ts = true;
	} else if (n - p >= 20 && is_digit(s[p]) && s[p + 4] == '-' &&
		   fmt_ts_parse(s + p, (t = token_end(s, n, p) - p), &m->ts_ns, NULL) == 0) {
		m->ts = fmt_str_n(s + p, t); /* rsyslog's RFC 3339 time in a BSD header */
		m->has_ts = true;
	} else {
		set_body(s, n, p, m); /* no time: all of it is MSG (RFC 3164, 4.3.2) */
		return 0;
	}
	p += t;
	if (p < n && s[p] == ' ')
		p++;
	/* HOSTNAME, unless the token is already TAG: (a local sender's /dev/log line has none) */
	e = token_end(s, n, p);
	if (e > p && s[e - 1] != ':' && !memchr(s + p, '[', e - p)) {
		m->host = fmt_str_n(s + p, e - p);
		p = e < n ? e + 1 : e;
	}
	parse_tag(s, n, &p, m);
	set_body(s, n, p, m);
	return 0;
}

int syslog_parse(const char *s, size_t n, int64_t now_ns, struct syslog_msg *m)
{
	unsigned pri;
	size_t p, k;

	memset(m, 0, sizeof(*m));
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == '\0' || s[n - 1] == ' '))
		n--;
	p = 0;
	while (p < n && (s[p] == ' ' || s[p] == '\n' || s[p] == '\r' || s[p] == '\0'))
		p++;
	if (p == n)
		return -SYSLOG_E_EMPTY;
	if ((k = parse_pri(s + p, n - p, &pri)) == 0)
		return -SYSLOG_E_PRI;
	p += k;
	m->facility = (uint8_t)(pri >> 3);
	m->severity = (uint8_t)(pri & 7);
	if (n - p >= 2 && s[p] == '1' && s[p + 1] == ' ')
		return parse_5424(s, n, p + 2, m);
	return parse_3164(s, n, p, now_ns, m);
}

bool syslog_sd_next(const struct syslog_msg *m, struct syslog_sd_iter *it, struct fmt_str *name,
		    struct fmt_str *value, bool *escaped)
{
	const char *s = m->sd.ptr;
	const size_t n = s ? m->sd.len : 0;
	size_t p = it->pos, b;

	while (p < n) {
		if (s[p] == '[') {
			b = ++p;
			while (p < n && s[p] != ' ' && s[p] != ']')
				p++;
			it->id = fmt_str_n(s + b, p - b);
		} else if (s[p] == ' ') {
			b = ++p;
			while (p < n && s[p] != '=')
				p++;
			*name = fmt_str_n(s + b, p - b);
			p += 2; /* =" */
			b = p < n ? p : n;
			*escaped = false;
			while (p < n && s[p] != '"') {
				if (s[p] == '\\') {
					*escaped = true;
					p++;
				}
				p++;
			}
			if (p > n)
				p = n;
			*value = fmt_str_n(s + b, p - b);
			it->pos = p + 1;
			return true;
		} else {
			p++; /* the ']' closing an element */
		}
	}
	it->pos = p;
	return false;
}

/* --- the record ------------------------------------------------------------ */

/* The scratch space syslog_record() writes keys and values into. */
struct scratch {
	char *p;
	size_t cap, used;
	bool full; /* something did not fit */
};

/* Whether @r has an attribute whose key is k[0..n). */
static bool has_attr(const struct fmt_record *r, const char *k, size_t n)
{
	for (uint16_t i = 0; i < r->nattrs; i++) {
		const struct fmt_str *a = &r->attrs[i].key;
		if (a->enc == FMT_ENC_RAW ? a->len == n && memcmp(a->ptr, k, n) == 0 : fmt_str_eq(a, k, n))
			return true;
	}
	return false;
}

/* Add the attribute @key = @val (a string) unless the body has one; @check: the body may have keys. */
static void add_attr(struct fmt_record *r, bool check, struct fmt_str key, struct fmt_str val,
		     struct scratch *sc)
{
	struct fmt_attr *a;

	if (!val.ptr || (check && has_attr(r, key.ptr, key.len)))
		return;
	if (r->nattrs >= FMT_ATTRS_MAX) {
		r->flags |= FMT_F_ATTRS_TRUNCATED;
		sc->full = true;
		return;
	}
	a = &r->attrs[r->nattrs++];
	a->key = key;
	a->val = val;
	a->type = FMT_T_STRING;
}

/* An SD parameter value, unescaped into the scratch space when it holds a backslash. */
static struct fmt_str sd_value(struct fmt_str v, bool escaped, struct scratch *sc)
{
	char *o;
	size_t k = 0;

	if (!escaped)
		return v;
	if (sc->cap - sc->used < v.len) {
		sc->full = true;
		return (struct fmt_str){NULL, 0, 0};
	}
	o = sc->p + sc->used;
	for (size_t i = 0; i < v.len; i++) {
		/* \" \\ \] stand for the character; a backslash before anything else is itself */
		if (v.ptr[i] == '\\' && i + 1 < v.len &&
		    (v.ptr[i + 1] == '"' || v.ptr[i + 1] == '\\' || v.ptr[i + 1] == ']'))
			i++;
		o[k++] = v.ptr[i];
	}
	sc->used += k;
	return fmt_str_n(o, k);
}

/* "ID.NAME" in the scratch space (absent when it does not fit). */
static struct fmt_str sd_key(struct fmt_str id, struct fmt_str name, struct scratch *sc)
{
	char *o;

	if (sc->cap - sc->used < (size_t)id.len + 1 + name.len) {
		sc->full = true;
		return (struct fmt_str){NULL, 0, 0};
	}
	o = sc->p + sc->used;
	memcpy(o, id.ptr, id.len);
	o[id.len] = '.';
	memcpy(o + id.len + 1, name.ptr, name.len);
	sc->used += (size_t)id.len + 1 + name.len;
	return fmt_str_n(o, (size_t)id.len + 1 + name.len);
}

/* Case-insensitive comparison of s[0..n) with the lower-case @lit. */
static bool ieq(const char *s, size_t n, const char *lit)
{
	size_t i = 0;

	for (; i < n && lit[i]; i++) {
		char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
		if (c != lit[i])
			return false;
	}
	return i == n && !lit[i];
}

/* Trace context found in the header or a plain body: rank 2 an explicit trace, 1 a request ID. */
struct trace_ctx {
	struct fmt_str trace, span;
	int rank;
};

/* What key k[0..n) says: 2 trace, 1 request id, 3 span, 4 W3C traceparent, 0 nothing. */
static int trace_key(const char *k, size_t n)
{
	if (ieq(k, n, "trace_id") || ieq(k, n, "traceid") || ieq(k, n, "trace-id") || ieq(k, n, "trace.id"))
		return 2;
	if (ieq(k, n, "request_id") || ieq(k, n, "x-request-id") || ieq(k, n, "requestid") ||
	    ieq(k, n, "x_request_id") || ieq(k, n, "request-id"))
		return 1;
	if (ieq(k, n, "span_id") || ieq(k, n, "spanid") || ieq(k, n, "span-id") || ieq(k, n, "span.id"))
		return 3;
	return ieq(k, n, "traceparent") ? 4 : 0;
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]) && !((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f'))
			return false;
	return true;
}

/* Note key @kind's value @v in @tc (the first of the highest rank wins). */
static void trace_note(struct trace_ctx *tc, int kind, struct fmt_str v)
{
	if (!v.ptr || v.len == 0)
		return;
	if (kind == 4) {
		/* 00-<32 hex trace>-<16 hex span>-<2 hex flags> */
		if (v.len == 55 && v.ptr[2] == '-' && v.ptr[35] == '-' && v.ptr[52] == '-' &&
		    all_hex(v.ptr + 3, 32) && all_hex(v.ptr + 36, 16) && tc->rank < 2) {
			tc->trace = fmt_str_n(v.ptr + 3, 32);
			tc->span = fmt_str_n(v.ptr + 36, 16);
			tc->rank = 2;
		}
	} else if (kind == 3) {
		if (!tc->span.ptr)
			tc->span = v;
	} else if (kind > tc->rank) {
		tc->trace = v;
		tc->rank = kind;
	}
}

/* KEY=VALUE words of a plain message that carry trace context (trace_id=abc span_id=def). */
static void scan_body(const struct fmt_str *msg, struct trace_ctx *tc)
{
	const char *s = msg->ptr, *end = s + msg->len, *eq;

	for (const char *p = s; p < end && (eq = memchr(p, '=', (size_t)(end - p))) != NULL; p = eq + 1) {
		const char *k = eq, *v = eq + 1, *ve = v;
		int kind;

		while (k > s && (is_digit(k[-1]) || ((k[-1] | 0x20) >= 'a' && (k[-1] | 0x20) <= 'z') ||
				 k[-1] == '_' || k[-1] == '-' || k[-1] == '.'))
			k--;
		if (!(kind = trace_key(k, (size_t)(eq - k))))
			continue;
		if (ve < end && *ve == '"')
			v = ++ve;
		while (ve < end && *ve != ' ' && *ve != ',' && *ve != ';' && *ve != '"' && *ve != ']')
			ve++;
		trace_note(tc, kind, fmt_str_n(v, (size_t)(ve - v)));
	}
}

/* Make the record's IDs say @tc where the body gave none. */
static void set_trace(struct fmt_record *r, const struct trace_ctx *tc)
{
	bool changed = false;
	uint16_t n = 0;

	if (!r->trace.ptr && tc->trace.ptr) {
		r->trace = tc->trace;
		changed = true;
	}
	if (!r->span.ptr && tc->span.ptr && r->trace.ptr) {
		r->span = tc->span;
		changed = true;
	}
	if (!changed)
		return;
	r->ids[n++] = r->trace;
	if (r->parent.ptr)
		r->ids[n++] = r->parent;
	if (r->span.ptr &&
	    !(r->span.len == r->trace.len && memcmp(r->span.ptr, r->trace.ptr, r->span.len) == 0))
		r->ids[n++] = r->span;
	r->nids = n;
}

int syslog_record(const struct syslog_msg *m, enum cd_parser parser, struct parse_regex *rx,
		  struct fmt_record *r, char *scratch, size_t cap)
{
	struct scratch sc = {scratch, cap, 0, false};
	struct trace_ctx tc = {{NULL, 0, 0}, {NULL, 0, 0}, 0};
	struct syslog_sd_iter it = {0, {NULL, 0, 0}};
	struct fmt_str name, value;
	struct fmt_err fe = {0, NULL};
	bool parsed = false, escaped;

	if (m->body.len && parse_line(parser, rx, m->body.ptr, m->body.len, r, &fe) == 0) {
		parsed = true;
	} else {
		fmt_record_clear(r);
		r->message = m->body.ptr ? m->body : fmt_str_n("", 0);
	}
	if (r->level == FMT_LEVEL_NONE && m->kind != SYSLOG_NONE)
		r->level = (uint8_t)syslog_level(m->severity);
	if (!r->has_ts && !r->ts_text.ptr && m->ts.ptr) {
		r->ts_text = m->ts;
		r->has_ts = m->has_ts;
		r->ts_ns = m->ts_ns;
		if (!m->has_ts)
			r->flags |= FMT_F_TS_INVALID;
	}
	if (!r->service.ptr && m->app.ptr)
		r->service = m->app;
	add_attr(r, parsed, fmt_str_n("host", 4), m->host, &sc);
	add_attr(r, parsed, fmt_str_n("app", 3), m->app, &sc);
	add_attr(r, parsed, fmt_str_n("procid", 6), m->procid, &sc);
	add_attr(r, parsed, fmt_str_n("msgid", 5), m->msgid, &sc);
	add_attr(r, parsed, fmt_str_n("facility", 8), fmt_str_c(syslog_facility_name(m->facility)), &sc);
	add_attr(r, parsed, fmt_str_n("syslog_severity", 15), fmt_str_c(syslog_severity_name(m->severity)),
		 &sc);
	while (syslog_sd_next(m, &it, &name, &value, &escaped)) {
		struct fmt_str key = sd_key(it.id, name, &sc), v = sd_value(value, escaped, &sc);
		int kind = trace_key(name.ptr, name.len);

		if (kind)
			trace_note(&tc, kind, v);
		if (key.ptr)
			add_attr(r, true, key, v, &sc);
	}
	if (!r->trace.ptr && !parsed && tc.rank < 2)
		scan_body(&r->message, &tc);
	set_trace(r, &tc);
	if (sc.full)
		r->flags |= FMT_F_ATTRS_TRUNCATED;
	return 0;
}

/* --- framing ---------------------------------------------------------------- */

/* A LF-ended frame (or piece) at buf[0..len). */
static int next_line(struct syslog_framer *f, const char *buf, size_t len, size_t max, bool eof,
		     struct syslog_frame *out)
{
	size_t look = len < max + 1 ? len : max + 1, n;
	const char *nl = memchr(buf, '\n', look);
	bool cut = false;

	if (nl) {
		n = (size_t)(nl - buf);
		out->consumed = n + 1;
	} else if (len > max) {
		n = max; /* overlong: a piece now, the rest later */
		out->consumed = n;
		cut = true;
	} else if (eof && len) {
		n = len;
		out->consumed = n;
	} else {
		return 0;
	}
	out->ptr = buf;
	if (f->piece || cut) {
		out->piece = ++f->piece;
		if (!cut)
			f->piece = 0; /* the last piece */
	}
	while (n && (buf[n - 1] == '\r'))
		n--;
	out->len = n;
	if (f->bad_count) {
		out->error = SYSLOG_E_COUNT;
		f->bad_count = false;
	}
	return 1;
}

int syslog_frame_next(struct syslog_framer *f, const char *buf, size_t len, size_t max, bool eof,
		      struct syslog_frame *out)
{
	size_t skip = 0, i, hdr;
	uint64_t count = 0;

	memset(out, 0, sizeof(*out));
	if (f->remaining) {
		/* the rest of an overlong octet-counted frame, in pieces of max */
		size_t n = f->remaining < max ? (size_t)f->remaining : max;
		if (len < n && !eof)
			return 0;
		if (len < n) {
			n = len;
			out->error = SYSLOG_E_SHORT;
		}
		if (n == 0)
			return 0;
		out->ptr = buf;
		out->len = out->consumed = n;
		out->piece = ++f->piece;
		f->remaining -= n;
		if (!f->remaining || out->error) {
			f->remaining = 0;
			f->piece = 0;
		}
		return 1;
	}
	if (f->piece == 0) {
		/* blanks between frames (a LF after an octet-counted frame, keepalive newlines) */
		while (skip < len && (buf[skip] == '\n' || buf[skip] == '\r' || buf[skip] == '\0' ||
				      (buf[skip] == ' ' && f->mode == SYSLOG_FRAMING_OCTET)))
			skip++;
		out->consumed = skip;
		buf += skip;
		len -= skip;
		if (len == 0)
			return 0;
	}
	if (f->mode == SYSLOG_FRAMING_AUTO)
		f->mode = is_digit(buf[0]) ? SYSLOG_FRAMING_OCTET : SYSLOG_FRAMING_LINE;
	if (f->mode == SYSLOG_FRAMING_LINE) {
		int rc;
		out->consumed = 0;
		rc = next_line(f, buf, len, max, eof, out);
		out->consumed += skip;
		return rc;
	}
	for (i = 0; i < len && i < 10 && is_digit(buf[i]); i++)
		count = count * 10 + (uint64_t)(buf[i] - '0');
	if (i == len && i < 10 && !eof)
		return 0; /* MSG-LEN not complete yet */
	if (i == 0 || i == 10 || i == len || buf[i] != ' ' || buf[0] == '0') {
		/* framing lost: newline framing from here on, so the connection goes on */
		f->mode = SYSLOG_FRAMING_LINE;
		f->bad_count = true;
		out->consumed = 0;
		i = (size_t)next_line(f, buf, len, max, eof, out);
		out->consumed += skip;
		return (int)i;
	}
	hdr = i + 1;
	if (count > max) {
		if (len < hdr + max && !eof)
			return 0;
		out->ptr = buf + hdr;
		out->len = len - hdr < max ? len - hdr : max;
		out->consumed = skip + hdr + out->len;
		out->piece = f->piece = 1;
		f->remaining = count - out->len;
		if (out->len < max) {
			out->error = SYSLOG_E_SHORT; /* eof */
			f->remaining = 0;
			f->piece = 0;
		}
		return 1;
	}
	if (len < hdr + count && !eof)
		return 0;
	out->ptr = buf + hdr;
	out->len = len - hdr < count ? len - hdr : (size_t)count;
	out->consumed = skip + hdr + out->len;
	if (out->len < count)
		out->error = SYSLOG_E_SHORT;
	return 1;
}
