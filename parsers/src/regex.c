/*
 * parsers/regex.c - user regex parsers on PCRE2 (see regex.h).
 *
 * DESIGN: everything that depends only on the pattern is done once, at
 * compile time: the JIT compile, the match data block sized for the
 * pattern's groups, a match context with bounded match limit, heap and JIT
 * stack (parsers/limits.h: a user's pattern meets lines nobody wrote it for, and
 * backtracking must not stall the daemon), and a table from group number to
 * what the group fills. A match is then one pcre2_jit_match() and a walk
 * over the ovector: no allocation, no copy, views into the line.
 *
 * pcre2_jit_match() skips the UTF validity check of pcre2_match(), which a
 * (*UTF) pattern needs on untrusted bytes; such patterns go through
 * pcre2_match() (still JIT-compiled code, after the check).
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <parsers/limits.h>
#include "fmt/str.h"
#include <parsers/regex.h>
#include <parsers/timefmt.h>

/* What a named group fills. */
enum rx_role {
	RX_NONE = 0, /* unnamed: captures nothing we keep */
	RX_ATTR,     /* an attribute named after the group */
	RX_TIME,
	RX_LEVEL,
	RX_SERVICE,
	RX_TRACE,
	RX_SPAN,
	RX_PARENT,
	RX_IDS,
	RX_METHOD,
	RX_PATH,
	RX_MESSAGE,
};

static const struct {
	const char *name;
	enum rx_role role;
} field_names[] = {
	{"time", RX_TIME},     {"timestamp", RX_TIME}, {"level", RX_LEVEL},	{"service", RX_SERVICE},
	{"trace", RX_TRACE},   {"span", RX_SPAN},      {"parent", RX_PARENT},	{"ids", RX_IDS},
	{"method", RX_METHOD}, {"path", RX_PATH},      {"message", RX_MESSAGE},
};

struct rx_group {
	uint8_t role;	    /* enum rx_role */
	struct fmt_str key; /* RX_ATTR: the group's name (in the pattern's name table) */
};

struct parse_regex {
	pcre2_code *code;	   /* the compiled pattern */
	pcre2_match_data *md;	   /* ovector for every group, reused by each match */
	pcre2_match_context *mctx; /* limits and the JIT stack */
	pcre2_jit_stack *jstack;   /* NULL without JIT */
	bool jit;		   /* JIT-compiled */
	bool jit_direct;	   /* pcre2_jit_match() is safe (no UTF check needed) */
	bool has_time;		   /* some group fills the timestamp */
	uint32_t ngroups;	   /* capture groups */
	struct rx_group *groups;   /* [0..ngroups], index = group number */
	struct parse_timefmt tf;   /* how the time group is read */
	int64_t now_ns;		   /* fixed "now" for year-less formats; 0: the clock */
};

static enum rx_role role_of(const char *name)
{
	for (size_t i = 0; i < sizeof(field_names) / sizeof(field_names[0]); i++)
		if (strcmp(name, field_names[i].name) == 0)
			return field_names[i].role;
	return RX_ATTR;
}

/* Fill rx->groups from the pattern's name table. */
static int map_groups(struct parse_regex *rx)
{
	uint32_t count = 0, entry = 0;
	PCRE2_SPTR table = NULL;

	pcre2_pattern_info(rx->code, PCRE2_INFO_CAPTURECOUNT, &rx->ngroups);
	pcre2_pattern_info(rx->code, PCRE2_INFO_NAMECOUNT, &count);
	pcre2_pattern_info(rx->code, PCRE2_INFO_NAMEENTRYSIZE, &entry);
	pcre2_pattern_info(rx->code, PCRE2_INFO_NAMETABLE, &table);
	rx->groups = calloc((size_t)rx->ngroups + 1, sizeof(*rx->groups));
	if (!rx->groups)
		return -CD_ENOMEM;
	for (uint32_t i = 0; i < count; i++) {
		PCRE2_SPTR e = table + (size_t)i * entry;
		uint32_t g = ((uint32_t)e[0] << 8) | e[1];
		const char *name = (const char *)(e + 2);

		if (g == 0 || g > rx->ngroups)
			continue;
		rx->groups[g].role = (uint8_t)role_of(name);
		rx->groups[g].key = fmt_str_c(name);
		if (rx->groups[g].role == RX_TIME)
			rx->has_time = true;
	}
	return 0;
}

int parse_regex_new(struct parse_regex **out, const char *pattern, const char *time_format, unsigned flags,
		    struct cd_err *err)
{
	struct parse_regex *rx;
	PCRE2_SIZE erroff = 0;
	uint32_t opts = 0;
	int errcode = 0, rc;

	if (!pattern)
		return cd_err_set(err, -CD_EINVAL, 0, "no regex");
	if (strlen(pattern) > CD_REGEX_PATTERN_MAX)
		return cd_err_set(err, -CD_EINVAL, 0, "regex longer than %u bytes", CD_REGEX_PATTERN_MAX);
	rx = calloc(1, sizeof(*rx));
	if (!rx)
		return cd_err_set(err, -CD_ENOMEM, 0, "out of memory");
	rx->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &errcode, &erroff, NULL);
	if (!rx->code) {
		PCRE2_UCHAR msg[160];

		if (pcre2_get_error_message(errcode, msg, sizeof(msg)) < 0)
			snprintf((char *)msg, sizeof(msg), "error %d", errcode);
		rc = cd_err_set(err, -CD_EINVAL, 0, "regex: %s at offset %zu", (const char *)msg,
				(size_t)erroff);
		goto err_free;
	}
	if ((rc = map_groups(rx)) < 0) {
		cd_err_set(err, rc, 0, "out of memory");
		goto err_free;
	}
	if (rx->has_time && (rc = parse_timefmt_init(&rx->tf, time_format, err)) < 0)
		goto err_free;
	rx->md = pcre2_match_data_create_from_pattern(rx->code, NULL);
	rx->mctx = pcre2_match_context_create(NULL);
	if (!rx->md || !rx->mctx) {
		rc = cd_err_set(err, -CD_ENOMEM, 0, "out of memory");
		goto err_free;
	}
	pcre2_set_match_limit(rx->mctx, CD_REGEX_MATCH_LIMIT);
	pcre2_set_heap_limit(rx->mctx, CD_REGEX_HEAP_LIMIT_KIB);
	/* JIT is optional: a platform or pattern without it runs in the interpreter */
	if (!(flags & PARSE_REGEX_NO_JIT) && pcre2_jit_compile(rx->code, PCRE2_JIT_COMPLETE) == 0) {
		rx->jstack = pcre2_jit_stack_create(32 * 1024, CD_REGEX_JIT_STACK_MAX, NULL);
		if (!rx->jstack) {
			rc = cd_err_set(err, -CD_ENOMEM, 0, "out of memory");
			goto err_free;
		}
		pcre2_jit_stack_assign(rx->mctx, NULL, rx->jstack);
		rx->jit = true;
		pcre2_pattern_info(rx->code, PCRE2_INFO_ALLOPTIONS, &opts);
		rx->jit_direct = !(opts & PCRE2_UTF);
	}
	*out = rx;
	return 0;

err_free:
	parse_regex_free(rx);
	return rc;
}

void parse_regex_free(struct parse_regex *rx)
{
	if (!rx)
		return;
	pcre2_jit_stack_free(rx->jstack);
	pcre2_match_context_free(rx->mctx);
	pcre2_match_data_free(rx->md);
	pcre2_code_free(rx->code);
	free(rx->groups);
	free(rx);
}

bool parse_regex_jit(const struct parse_regex *rx)
{
	return rx->jit;
}

void parse_regex_set_now(struct parse_regex *rx, int64_t now_ns)
{
	rx->now_ns = now_ns;
}

static int run(struct parse_regex *rx, const char *s, size_t n)
{
	if (rx->jit_direct)
		return pcre2_jit_match(rx->code, (PCRE2_SPTR)s, n, 0, 0, rx->md, rx->mctx);
	return pcre2_match(rx->code, (PCRE2_SPTR)s, n, 0, 0, rx->md, rx->mctx);
}

bool parse_regex_matches(struct parse_regex *rx, const char *s, size_t n)
{
	return run(rx, s, n) >= 0;
}

/* Whether @v is a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? of at most 100 bytes. */
static bool is_number(const struct fmt_str *v)
{
	const char *p = v->ptr, *end = v->ptr + v->len;

	if (v->len == 0 || v->len > 100)
		return false;
	if (*p == '-')
		p++;
	if (p == end || *p < '0' || *p > '9')
		return false;
	if (*p++ == '0') {
		if (p < end && *p >= '0' && *p <= '9')
			return false;
	} else {
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && *p == '.') {
		if (++p == end || *p < '0' || *p > '9')
			return false;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p == end || *p < '0' || *p > '9')
			return false;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	return p == end;
}

/* Split the NDC path @v into rec->ids; false (nothing set) when it is not one. */
static bool split_ids(const struct fmt_str *v, struct fmt_record *rec)
{
	const char *p = v->ptr, *end = v->ptr + v->len;
	uint16_t n = 0;

	for (;;) {
		const char *c = memchr(p, ':', (size_t)(end - p));
		const char *e = c ? c : end;

		if (e == p || n == FMT_IDS_MAX) {
			rec->nids = 0;
			return false;
		}
		rec->ids[n++] = fmt_str_n(p, (size_t)(e - p));
		if (!c)
			break;
		p = c + 1;
	}
	rec->nids = n;
	return true;
}

static void add_attr(struct fmt_record *rec, const struct fmt_str *key, const struct fmt_str *val)
{
	struct fmt_attr *a;

	if (rec->nattrs == FMT_ATTRS_MAX) {
		rec->flags |= FMT_F_ATTRS_TRUNCATED;
		return;
	}
	a = &rec->attrs[rec->nattrs++];
	a->key = *key;
	a->val = *val;
	a->type = is_number(val) ? FMT_T_NUMBER : FMT_T_STRING;
}

static bool same(const struct fmt_str *a, const struct fmt_str *b)
{
	return a->len == b->len && memcmp(a->ptr, b->ptr, a->len) == 0;
}

/* ids and trace/span/parent from each other, as fmt_json_parse() does. */
static void link_ids(struct fmt_record *r, bool have_ids)
{
	uint16_t n = r->nids;

	if (have_ids) {
		if (!r->trace.ptr)
			r->trace = r->ids[0];
		if (!r->span.ptr && n >= 2)
			r->span = r->ids[n - 1];
		if (!r->parent.ptr && n >= 3)
			r->parent = r->ids[n - 2];
		return;
	}
	if (!r->trace.ptr)
		return;
	n = 0;
	r->ids[n++] = r->trace;
	if (r->parent.ptr)
		r->ids[n++] = r->parent;
	if (r->span.ptr && !same(&r->span, &r->trace))
		r->ids[n++] = r->span;
	r->nids = n;
}

static int64_t now_of(const struct parse_regex *rx)
{
	struct timespec ts;

	if (rx->now_ns)
		return rx->now_ns;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int fail(struct fmt_record *rec, struct fmt_err *err, int code, size_t off, const char *what)
{
	fmt_record_clear(rec);
	if (err) {
		err->offset = off;
		err->what = what;
	}
	return -code;
}

int parse_regex_line(struct parse_regex *rx, const char *s, size_t n, struct fmt_record *rec,
		     struct fmt_err *err)
{
	const char *nl = n ? memchr(s, '\n', n) : NULL;
	size_t first = nl ? (size_t)(nl - s) : n;
	struct fmt_str *slot, ids = {0};
	PCRE2_SIZE *ov;
	int rc;

	fmt_record_clear(rec);
	if (first && s[first - 1] == '\r')
		first--;
	rc = run(rx, s, first);
	if (rc < 0) {
		if (rc == PCRE2_ERROR_NOMATCH)
			return fail(rec, err, FMT_EPARSE, 0, "line does not match the regex");
		if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT ||
		    rc == PCRE2_ERROR_JIT_STACKLIMIT)
			return fail(rec, err, FMT_EPARSE, 0, "regex match limit reached");
		if (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21)
			return fail(rec, err, FMT_EUTF8, pcre2_get_startchar(rx->md),
				    "invalid UTF-8 for the regex");
		return fail(rec, err, FMT_EPARSE, 0, "regex match failed");
	}
	ov = pcre2_get_ovector_pointer(rx->md);
	for (uint32_t g = 1; g <= rx->ngroups; g++) {
		const struct rx_group *grp = &rx->groups[g];
		struct fmt_str v;

		/* unset (PCRE2_UNSET) or empty: sets nothing; \K can also leave start > end */
		if (grp->role == RX_NONE || ov[2 * g] == PCRE2_UNSET || ov[2 * g + 1] <= ov[2 * g])
			continue;
		v = fmt_str_n(s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
		slot = NULL;
		switch ((enum rx_role)grp->role) {
		case RX_NONE:
			break;
		case RX_ATTR:
			add_attr(rec, &grp->key, &v);
			break;
		case RX_TIME:
			slot = &rec->ts_text;
			break;
		case RX_LEVEL:
			slot = &rec->level_text;
			break;
		case RX_SERVICE:
			slot = &rec->service;
			break;
		case RX_TRACE:
			slot = &rec->trace;
			break;
		case RX_SPAN:
			slot = &rec->span;
			break;
		case RX_PARENT:
			slot = &rec->parent;
			break;
		case RX_IDS:
			slot = &ids;
			break;
		case RX_METHOD:
			slot = &rec->method;
			break;
		case RX_PATH:
			slot = &rec->path;
			break;
		case RX_MESSAGE:
			slot = &rec->message;
			break;
		}
		/* two groups for one field (time and timestamp, (?J) duplicates): the first wins */
		if (slot && !slot->ptr)
			*slot = v;
	}
	if (rec->level_text.ptr)
		rec->level = (uint8_t)fmt_level_from_text(rec->level_text.ptr, rec->level_text.len);
	if (rec->ts_text.ptr) {
		if (parse_timefmt_parse(&rx->tf, rec->ts_text.ptr, rec->ts_text.len,
					rx->tf.kind == PARSE_TF_PATTERN && !rx->tf.has_year ? now_of(rx) : 0,
					&rec->ts_ns) == 0)
			rec->has_ts = true;
		else
			rec->flags |= FMT_F_TS_INVALID;
	}
	if (ids.ptr && !split_ids(&ids, rec)) {
		static const struct fmt_str ids_key = {"ids", 3, FMT_ENC_RAW};
		add_attr(rec, &ids_key, &ids); /* not a path (an empty ID, too deep): kept as it is */
		ids.ptr = NULL;
	}
	link_ids(rec, ids.ptr != NULL);
	if (nl) {
		const char *c = nl + 1, *end = s + n;
		for (const char *q = c; q < end; q++) {
			if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r') {
				rec->cont = fmt_str_n(c, (size_t)(end - c));
				rec->flags |= FMT_F_CONT;
				break;
			}
		}
	}
	/*
	 * Neither of the two grammars: FMT_UNKNOWN. The chunk codec stores only
	 * those, and consumers render such records as pipe lines.
	 */
	rec->format = FMT_UNKNOWN;
	return 0;
}
