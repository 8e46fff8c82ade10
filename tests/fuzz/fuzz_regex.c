/*
 * fuzz_regex.c - the regex parser and its time formats on arbitrary bytes.
 *
 * A fixed set of realistic parsers (Apache access and error logs, syslog
 * RFC 3164 without a year, redis, HDFS, Android logcat, a Java layout, an
 * NDC path, epoch times) and the built-in named parsers (parsers/builtin.h:
 * nginx, apache, openstack, spring, envoy) run over the input, each twice: JIT and
 * interpreter, which must give the same record. A record must hold only
 * views inside the input, types the parser can give, a timestamp exactly
 * when its time group read; a failure must say what and leave the record
 * empty. Then the input is cut at its first '\n' into a time format and a
 * text: the format is checked and, when accepted, read against the text
 * and against the other parsers' time texts. Any violation abort()s.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <parsers/builtin.h>
#include <parsers/regex.h>
#include <parsers/timefmt.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
	const char *regex;
	const char *time_format;
} parsers[] = {
	/* Apache combined */
	{"^(?<host>\\S+) \\S+ (?<user>\\S+) \\[(?<time>[^\\]]+)\\] \"(?<method>[A-Z]+)(?: +(?<path>[^ \"]*)"
	 "(?: +[^\"]*)?)?\" (?<status>\\d{3}) (?<bytes>\\d+|-)(?: \"(?<referer>[^\"]*)\" \"(?<agent>[^\"]*)\")?$",
	 "%d/%b/%Y:%H:%M:%S %z"},
	/* Apache error log */
	{"^\\[(?<time>[^\\]]+)\\] \\[(?<level>\\w+)\\] (?:\\[client (?<client>[^\\]]+)\\] )?(?<message>.*)$",
	 "%a %b %d %H:%M:%S %Y"},
	/* syslog RFC 3164 (OpenSSH, Linux) */
	{"^(?<time>[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d) (?<host>\\S+) (?<service>[^\\[: ]+)"
	 "(?:\\[(?<pid>\\d+)\\])?: (?<message>.*)$",
	 "%b %e %H:%M:%S"},
	/* redis */
	{"^(?<pid>\\d+):(?<role>[XCSM]) (?<time>\\d\\d? [A-Z][a-z]{2} \\d{4} \\d\\d:\\d\\d:\\d\\d\\.\\d{3}) "
	 "(?<level>[.*#-]) (?<message>.*)$",
	 "%d %b %Y %H:%M:%S.%f"},
	/* HDFS */
	{"^(?<time>\\d{6} \\d{6}) (?<pid>\\d+) (?<level>[A-Z]+) (?<service>[\\w.$]+): (?<message>.*)$",
	 "%y%m%d %H%M%S"},
	/* Android logcat (threadtime) */
	{"^(?<time>\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3}) +(?<pid>\\d+) +(?<tid>\\d+) (?<level>[VDIWEF]) "
	 "(?<service>[^:]*?) *: (?<message>.*)$",
	 "%m-%d %H:%M:%S.%f"},
	/* a Java layout with an NDC path and a request */
	{"^(?<timestamp>\\S+ \\S+) +(?<level>[A-Z]+) \\[(?<ids>[\\w.:-]*)\\] (?<service>\\S+) (?:(?<method>[A-Z]+) "
	 "(?<path>/\\S*) )?- (?<message>.*)$",
	 "%Y-%m-%d %H:%M:%S,%f"},
	/* trace/span/parent and epoch milliseconds */
	{"^(?<time>-?\\d+(?:\\.\\d+)?) t=(?<trace>\\w*) s=(?<span>\\w*) p=(?<parent>\\w*) (?<message>.*)",
	 "epoch_ms"},
	/* zoned RFC 3339 and every other group an attribute */
	{"(?<time>\\d{4}-\\d\\d-\\d\\dT[\\d:.]+(?:Z|[+-]\\d\\d:\\d\\d))?(?:\\s+(?<k>\\w+)=(?<v>\\S*))*",
	 "rfc3339"},
};
#define NPARSERS (sizeof(parsers) / sizeof(parsers[0]))

/* the fixed set, then the built-in ones */
#define NMAX (NPARSERS + 16)
static struct parse_regex *jit[NMAX], *interp[NMAX];
static size_t nrx;
static struct fmt_record rec, rec2; /* about 3 KB each: static, not on the stack */

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void init(void)
{
	static bool done;

	if (done)
		return;
	for (size_t i = 0; i < NMAX; i++) {
		const struct parse_builtin *b =
			i < NPARSERS ? NULL : parse_builtin_at((unsigned)(i - NPARSERS));
		const char *re = b ? b->regex : i < NPARSERS ? parsers[i].regex : NULL;
		const char *tf = b ? b->time_format : i < NPARSERS ? parsers[i].time_format : NULL;

		if (!re)
			break;
		check(parse_regex_new(&jit[i], re, tf, 0, NULL) == 0);
		check(parse_regex_new(&interp[i], re, tf, PARSE_REGEX_NO_JIT, NULL) == 0);
		nrx = i + 1;
		/* year-less formats read against a fixed "now": runs are reproducible */
		parse_regex_set_now(jit[i], 1700000000000000000LL);
		parse_regex_set_now(interp[i], 1700000000000000000LL);
	}
	done = true;
}

static void check_view(const struct fmt_str *v, const char *data, size_t size)
{
	if (!v->ptr) {
		check(v->len == 0);
		return;
	}
	check(v->ptr >= data && v->ptr <= data + size && v->len <= (size_t)(data + size - v->ptr));
	check(v->enc == FMT_ENC_RAW);
}

static bool same(const struct fmt_str *a, const struct fmt_str *b)
{
	return a->ptr == b->ptr && a->len == b->len;
}

static void check_record(const char *line, size_t size)
{
	const struct fmt_str *fixed[] = {&rec.ts_text, &rec.level_text, &rec.trace, &rec.span,	  &rec.parent,
					 &rec.service, &rec.method,	&rec.path,  &rec.message, &rec.cont};
	const char *nl = memchr(line, '\n', size);

	check(rec.nids <= FMT_IDS_MAX && rec.nattrs <= FMT_ATTRS_MAX);
	check((rec.flags & ~(uint32_t)(FMT_F_TS_INVALID | FMT_F_ATTRS_TRUNCATED | FMT_F_CONT)) == 0);
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		check_view(fixed[i], line, size);
		/* fields come from the first line, the continuation is what follows it */
		if (fixed[i]->ptr && fixed[i] != &rec.cont)
			check(!nl || fixed[i]->ptr + fixed[i]->len <= nl);
		if (fixed[i]->ptr && fixed[i] != &rec.cont)
			check(fixed[i]->len > 0); /* an empty group sets nothing */
	}
	for (uint16_t i = 0; i < rec.nids; i++) {
		check_view(&rec.ids[i], line, size);
		check(rec.ids[i].len > 0 && !memchr(rec.ids[i].ptr, ':', rec.ids[i].len));
	}
	if (rec.nids) {
		check(rec.trace.ptr != NULL);
	}
	for (uint16_t i = 0; i < rec.nattrs; i++) {
		const struct fmt_attr *a = &rec.attrs[i];
		check(a->key.ptr && a->key.len > 0 && a->val.ptr && a->val.len > 0);
		check_view(&a->val, line, size);
		check(a->type == FMT_T_STRING || a->type == FMT_T_NUMBER);
	}
	check((rec.level == FMT_LEVEL_NONE) == !rec.level_text.ptr);
	check(!(rec.has_ts && (rec.flags & FMT_F_TS_INVALID)));
	check((rec.has_ts || (rec.flags & FMT_F_TS_INVALID)) == (rec.ts_text.ptr != NULL));
	check(((rec.flags & FMT_F_CONT) != 0) == (rec.cont.ptr != NULL));
	if (rec.cont.ptr)
		check(nl && rec.cont.ptr == nl + 1 && rec.cont.ptr + rec.cont.len == line + size);
}

static void check_same(void)
{
	check(rec.has_ts == rec2.has_ts && (!rec.has_ts || rec.ts_ns == rec2.ts_ns));
	check(rec.level == rec2.level && rec.flags == rec2.flags && rec.nids == rec2.nids &&
	      rec.nattrs == rec2.nattrs);
	check(same(&rec.ts_text, &rec2.ts_text) && same(&rec.message, &rec2.message) &&
	      same(&rec.trace, &rec2.trace) && same(&rec.span, &rec2.span) && same(&rec.cont, &rec2.cont) &&
	      same(&rec.service, &rec2.service) && same(&rec.path, &rec2.path));
	for (uint16_t i = 0; i < rec.nattrs; i++)
		check(same(&rec.attrs[i].val, &rec2.attrs[i].val) && rec.attrs[i].type == rec2.attrs[i].type);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	const char *nl = memchr(line, '\n', size);
	struct parse_timefmt tf;
	int64_t ns;

	init();
	for (size_t i = 0; i < nrx; i++) {
		struct fmt_err e1 = {0, NULL}, e2 = {0, NULL};
		int rc = parse_regex_line(jit[i], line, size, &rec, &e1);
		int rc2 = parse_regex_line(interp[i], line, size, &rec2, &e2);

		/* the JIT and the interpreter count the match limit each their own way */
		if ((rc < 0 && strcmp(e1.what, "regex match limit reached") == 0) ||
		    (rc2 < 0 && strcmp(e2.what, "regex match limit reached") == 0))
			continue;
		check(rc == rc2);
		if (rc < 0) {
			check(rc == -FMT_EPARSE || rc == -FMT_EUTF8);
			check(e1.what != NULL && e1.offset <= size && strcmp(e1.what, e2.what) == 0);
			check(rec.nattrs == 0 && rec.nids == 0 && !rec.message.ptr && !rec.ts_text.ptr);
			continue;
		}
		check_record(line, size);
		check_same();
		(void)parse_regex_matches(jit[i], line, size);
	}

	/* FORMAT '\n' TEXT: a user's time format, checked, then used */
	if (nl && (size_t)(nl - line) <= CD_TIME_FORMAT_MAX) {
		char fmt[CD_TIME_FORMAT_MAX + 1];
		size_t flen = (size_t)(nl - line);

		memcpy(fmt, line, flen);
		fmt[flen] = '\0';
		if (strlen(fmt) == flen && parse_timefmt_init(&tf, fmt, NULL) == 0) {
			const char *text = nl + 1;
			size_t tlen = size - flen - 1;
			(void)parse_timefmt_parse(&tf, text, tlen, 1700000000000000000LL, &ns);
			(void)parse_timefmt_parse(&tf, text, tlen, -1700000000000000000LL, &ns);
		}
	}
	return 0;
}
