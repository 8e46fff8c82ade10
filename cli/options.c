/*
 * options.c - tracegrep's command line: the option table, parsing, --help.
 *
 * DESIGN: every option is one row of tg_option_table. getopt_long's
 * table, the short-option string and the help text are all made from it,
 * so an option cannot be parsed without being documented, or documented
 * without being parsed; tests/cli/test_options.c checks tracegrep.1
 * against it. Parsing stops at the first bad option, as getopt does, and
 * returns instead of exiting, so it can be tested.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fmt/ts.h"
#include "options.h"
#include "banned.h"

/* getopt_long's values of the options that have no short form. */
enum {
	TG_OPT_JSON = 256,
	TG_OPT_CHROME,
	TG_OPT_JAEGER,
	TG_OPT_HTML,
	TG_OPT_COLOR,
	TG_OPT_NO_SKEW,
	TG_OPT_ARCHIVE,
	TG_OPT_SINCE,
	TG_OPT_UNTIL,
	TG_OPT_STATS,
	TG_OPT_KAFKA,
	TG_OPT_TOPIC,
	TG_OPT_KPROP,
	TG_OPT_FIND,
	TG_OPT_FILTER, /* every filter of --find: the row's name is the filter's (query/filter.h) */
	TG_OPT_SORT,
	TG_OPT_LIMIT,
	TG_OPT_OPEN,
	TG_OPT_SUMMARY_KEY,
	TG_OPT_TIME_FORMAT,
	TG_OPT_ML_START,
};

static const char sec_archive[] = "Archive:";
static const char sec_kafka[] = "Kafka (a topic clewd's Kafka output writes to):";
static const char sec_find[] = "Finding transactions (tracegrep --find [FILTER...] PATH...):";
static const char sec_output[] = "Output (one of):";
static const char sec_parse[] = "Log layouts (clewd's parser options):";
static const char sec_options[] = "Options:";

/* In the order the help lists them, by section. */
const struct tg_option tg_option_table[] = {
	{sec_archive, "archive", TG_OPT_ARCHIVE, " DIR", NULL,
	 "read the archive in DIR (also with PATHs: then both are read)", TG_MODE_TERM},
	{sec_archive, "since", TG_OPT_SINCE, " TIME", NULL,
	 "only archive chunks with records at or after TIME", TG_MODE_TERM},
	{sec_archive, "until", TG_OPT_UNTIL, " TIME", NULL,
	 "only archive chunks with records at or before TIME; TIME is\n"
	 "RFC 3339 (2026-11-23T07:00:00Z) or an age: 90s, 15m, 2h, 7d",
	 TG_MODE_TERM},
	{sec_archive, "stats", TG_OPT_STATS, NULL, NULL,
	 "report each archive lookup on stderr: segments in the archive,\n"
	 "examined (time window), opened (index lists the ID), frames read",
	 TG_MODE_TERM},
	{sec_kafka, "kafka", TG_OPT_KAFKA, " BROKERS", NULL,
	 "read from the Kafka cluster at BROKERS (HOST:PORT[,HOST:PORT...]);\n"
	 "needs --topic; no archive is read unless --archive is given",
	 TG_MODE_TERM},
	{sec_kafka, "topic", TG_OPT_TOPIC, " TOPIC", NULL,
	 "the topic. clewd keys each record by its transaction ID and\n"
	 "partitions by murmur2 of the key, so a transaction (or T:S)\n"
	 "lookup reads only that ID's partition; a span ID is in no key,\n"
	 "so a span query reads every partition of the topic",
	 TG_MODE_TERM},
	{sec_kafka, "kafka-property", TG_OPT_KPROP, " NAME=VALUE", NULL,
	 "a librdkafka property (security.protocol, sasl.*, ssl.*, ...);\n"
	 "may be repeated",
	 TG_MODE_TERM},
	{sec_kafka, NULL, 0, NULL, "--since/--until",
	 "also narrow a Kafka read, by the messages' timestamps (when clewd\n"
	 "produced them, or the records' own times with its timestamp: record)",
	 TG_MODE_TERM},
	{sec_kafka, NULL, 0, NULL, "--stats", "also reports each Kafka read: partitions and messages read",
	 TG_MODE_TERM},
	{sec_find, "find", TG_OPT_FIND, NULL, NULL,
	 "search transactions by what happened, not by ID: every record of\n"
	 "every PATH is read and each transaction summarised; those that\n"
	 "pass every filter below are listed (a table; --json: one object\n"
	 "per line, formats/tracegrep-find.md). No ID is given",
	 TG_MODE_TERM},
	{sec_find, "service", TG_OPT_FILTER, " NAME", NULL, "a span of the transaction ran in service NAME",
	 TG_MODE_TERM},
	{sec_find, "route", TG_OPT_FILTER, " GLOB", NULL,
	 "a span's path matches GLOB (fnmatch: '/api/v1/orders/*'; * also\nmatches '/')", TG_MODE_TERM},
	{sec_find, "method", TG_OPT_FILTER, " M", NULL,
	 "a span's method is M (with --route: the same span's); repeated:\nany of them", TG_MODE_TERM},
	{sec_find, "status", TG_OPT_FILTER, " SPEC", NULL,
	 "the worst HTTP status is SPEC: 500, 5xx, >=400, >399, <=399,\n<400; repeated: any of them",
	 TG_MODE_TERM},
	{sec_find, "error", TG_OPT_FILTER, NULL, NULL,
	 "failed: a record at ERROR or FATAL, a status >= 500, or a span\nstatus other than ok/unset",
	 TG_MODE_TERM},
	{sec_find, "min-duration", TG_OPT_FILTER, " D", NULL,
	 "lasted at least D (500us, 250ms, 1.5s, 2m, 1h)", TG_MODE_TERM},
	{sec_find, "max-duration", TG_OPT_FILTER, " D", NULL, "lasted at most D", TG_MODE_TERM},
	{sec_find, "attr", TG_OPT_FILTER, " KEY=VALUE", NULL,
	 "a record of the transaction has attribute KEY = VALUE", TG_MODE_TERM},
	{sec_find, "text", TG_OPT_FILTER, " REGEX", NULL,
	 "a record's message (or its continuation lines) matches REGEX\n(PCRE2)", TG_MODE_TERM},
	{sec_find, NULL, 0, NULL, "--since/--until",
	 "with --find: the transaction starts in the window (log files\n"
	 "are read whole); --service, --route, --attr, --text may be\n"
	 "repeated and must all hold",
	 TG_MODE_TERM},
	{sec_find, "sort", TG_OPT_SORT, " KEY", NULL,
	 "start (default: newest first) or duration (longest first)", TG_MODE_TERM},
	{sec_find, "limit", TG_OPT_LIMIT, " N", NULL, "list at most N transactions (default 20; 0: all)",
	 TG_MODE_TERM},
	{sec_find, "open", TG_OPT_OPEN, NULL, NULL,
	 "show the first match instead, as tracegrep ID would (the\n"
	 "waterfall, or --lines, --json, --chrome, --jaeger, --html)",
	 TG_MODE_TERM},
	{sec_find, "summary-key", TG_OPT_SUMMARY_KEY, " KEY", NULL,
	 "keep the values of attribute KEY in each summary (attrs);\n"
	 "repeatable; default: $CLEW_SUMMARY_KEYS (KEY,KEY,... as\n"
	 "clewd's summary_keys), else user, tenant, customer, order",
	 TG_MODE_TERM},
	{sec_output, NULL, 0, NULL, "(default)",
	 "the waterfall: one row per span (start offset, duration,\n"
	 "status, service, name or method and path, a bar), the span's\n"
	 "log records under it; * marks the critical path, errors are\n"
	 "highlighted, clock-skew corrections are shown",
	 TG_MODE_TERM},
	{sec_output, "lines", 'l', NULL, NULL,
	 "the matching records verbatim (multi-line records whole),\n"
	 "in time order",
	 TG_MODE_LINES},
	{sec_output, "json", TG_OPT_JSON, NULL, NULL,
	 "one JSON document: id, spans (tree), records; the schema is\n"
	 "formats/tracegrep-json.md",
	 TG_MODE_JSON},
	{sec_output, "chrome", TG_OPT_CHROME, NULL, NULL,
	 "Chrome trace event JSON (Perfetto, chrome://tracing)", TG_MODE_CHROME},
	{sec_output, "jaeger", TG_OPT_JAEGER, NULL, NULL, "Jaeger's JSON trace format (Jaeger UI, Grafana)",
	 TG_MODE_JAEGER},
	{sec_output, "html", TG_OPT_HTML, " FILE", NULL,
	 "also write one self-contained HTML page with the waterfall\n"
	 "(no network access); alone, it replaces the default output",
	 TG_MODE_TERM},
	{sec_parse, "parser", 'p', " NAME", NULL,
	 "read lines with parser NAME (lines it does not take are still\n"
	 "read as pipe or JSON): auto (default), pipe, json,\n"
	 "regex:PATTERN (named groups: time, level, trace, span, ...),\n"
	 "a built-in layout: nginx, apache, openstack, spring, envoy,\n"
	 "a name under parsers: in -c FILE; cri or docker (container\n"
	 "logs; detected anyway), or cri+NAME / docker+NAME",
	 TG_MODE_TERM},
	{sec_parse, "time-format", TG_OPT_TIME_FORMAT, " FMT", NULL,
	 "how -p regex: reads its time group: rfc3339 (default), epoch,\n"
	 "epoch_ms, epoch_us, epoch_ns, or a strptime-like pattern",
	 TG_MODE_TERM},
	{sec_parse, "multiline-start", TG_OPT_ML_START, " REGEX", NULL,
	 "a line matching REGEX starts a record; other lines continue it", TG_MODE_TERM},
	{sec_parse, "config", 'c', " FILE", NULL,
	 "read the named parsers (parsers:) and parser: of clewd's\n"
	 "YAML configuration FILE",
	 TG_MODE_TERM},
	{sec_options, "color", TG_OPT_COLOR, "=WHEN", NULL,
	 "colour the waterfall: auto (default: on a terminal, unless\n"
	 "NO_COLOR is set or TERM=dumb), always, never",
	 TG_MODE_TERM},
	{sec_options, "colour", TG_OPT_COLOR, "=WHEN", NULL, NULL, TG_MODE_TERM},
	{sec_options, "no-skew-adjust", TG_OPT_NO_SKEW, NULL, NULL,
	 "do not move children of another service into their parent's\n"
	 "time window",
	 TG_MODE_TERM},
	{sec_options, "threads", 'j', " N", NULL, "search with N threads (default: the number of CPUs)",
	 TG_MODE_TERM},
	{sec_options, "width", 'w', " N", NULL,
	 "waterfall width in columns (default: the terminal's, or 120)", TG_MODE_TERM},
	{sec_options, "quiet", 'q', NULL, NULL,
	 "print nothing; the exit status says whether the ID was found", TG_MODE_TERM},
	{sec_options, "help", 'h', NULL, NULL, "show this help and exit", TG_MODE_TERM},
	{sec_options, "version", 'V', NULL, NULL, "show the version and exit", TG_MODE_TERM},
};
const size_t tg_option_count = sizeof(tg_option_table) / sizeof(tg_option_table[0]);

static const char help_head[] =
	"Usage: tracegrep [OPTIONS] ID [PATH...]\n"
	"       tracegrep --find [FILTER...] [OPTIONS] PATH...\n"
	"Rebuild one transaction from its ID across the logs of every service, and show it\n"
	"as a tree and a timeline (a waterfall).\n"
	"\n"
	"ID is a transaction (trace) ID, a span ID, or a path T:S (or T:A:...:S) that selects\n"
	"span S of transaction T. IDs are made of A-Z a-z 0-9 . _ -. A transaction ID selects\n"
	"every record of the transaction; a span ID the span and everything below it. The ID\n"
	"is matched by structure, never as a substring: it must be a whole element of a pipe\n"
	"record's NDC path or a JSON record's trace, span, parent (or ids element), so records\n"
	"that only mention it are left out and \"abc\" never matches \"abcd\". Continuation lines\n"
	"(stack traces) come with their record.\n"
	"\n"
	"PATH is a log file (pipe or JSON lines, OTLP/JSON export requests as the OTel\n"
	"Collector's file exporter writes them; mixed), a directory (read recursively), a\n"
	"gzip (.gz) or zstd (.zst) file (recognised by content), or - for standard input.\n"
	"Rotated files (app.log, app.log.1, app.log.2.gz) are simply more files.\n"
	"With no PATH, the collector's archive is read: the directory given by --archive, else\n"
	"$CLEW_ARCHIVE, else " TG_ARCHIVE_DEFAULT ". Its per-segment index of transaction IDs\n"
	"is used, so a transaction (or T:S) lookup reads only the chunks that may hold it; a\n"
	"span ID is not in the index, so a span query reads every chunk in the time window to\n"
	"find the span's transaction, then looks that up.\n"
	"\n";

static const char help_tail[] =
	"Log text is untrusted: control characters and invalid UTF-8 are shown as escapes\n"
	"(\\e, \\x07, \\u009b, \\xff) on a terminal; --lines writes bytes verbatim unless the\n"
	"output is a terminal.\n"
	"\n"
	"Exit status: 0 the ID was found (--find: a transaction passed), 1 it was not, 2 an error\n"
	"(bad usage, unreadable file, missing or unreadable archive).\n"
	"\n"
	"Examples:\n"
	"  tracegrep 7f3a9c1e55d04b2a /var/log/services/      the whole transaction\n"
	"  tracegrep 9a8b7c6d app.log app.log.1 app.log.2.gz  a span and what it called\n"
	"  tracegrep 7f3a9c1e55d04b2a:9a8b7c6d logs/          span 9a8b7c6d of that transaction\n"
	"  tracegrep --lines 7f3a9c1e55d04b2a logs/ | less    the records themselves\n"
	"  zcat old.log.gz | tracegrep 7f3a9c1e55d04b2a -     from standard input\n"
	"  tracegrep --jaeger 7f3a9c1e55d04b2a logs/ > t.json import into Jaeger UI\n"
	"  tracegrep --html t.html 7f3a9c1e55d04b2a logs/     a page to share\n"
	"  tracegrep --since 2h 7f3a9c1e55d04b2a             from the archive, last two hours\n"
	"  tracegrep --archive /srv/clew/archive 9a8b7c6d    a span, from that archive\n"
	"  tracegrep --kafka k1:9092 --topic logs 7f3a9c1e55d04b2a   from Kafka: one partition\n"
	"  tracegrep --find --error --route '/checkout*' logs/   failed checkouts, newest first\n"
	"  tracegrep --find --service orders --min-duration 1s --sort duration logs/\n"
	"  tracegrep --find --attr user=u42 --json logs/         one JSON object per transaction\n"
	"  tracegrep --find --error --open logs/                the waterfall of the latest failure\n";

/* The help's option column: its text starts here, after a wider entry on a line of its own. */
#define HELP_COL 24

static bool has_short(const struct tg_option *opt)
{
	return opt->key > 0 && opt->key < 256;
}

void tg_options_help(FILE *f)
{
	const char *section = NULL;

	fputs(help_head, f);
	for (size_t i = 0; i < tg_option_count; i++) {
		const struct tg_option *opt = &tg_option_table[i];
		int col;

		if (!opt->help)
			continue;
		if (section != opt->section) {
			if (section)
				fputc('\n', f);
			fprintf(f, "%s\n", opt->section);
			section = opt->section;
		}
		if (!opt->name)
			col = fprintf(f, "      %s", opt->label);
		else if (has_short(opt))
			col = fprintf(f, "  -%c, --%s%s", opt->key, opt->name, opt->arg ? opt->arg : "");
		else
			col = fprintf(f, "      --%s%s", opt->name, opt->arg ? opt->arg : "");
		if (col > HELP_COL - 2) {
			fputc('\n', f);
			col = 0;
		}
		for (const char *p = opt->help, *nl;; p = nl + 1) {
			nl = strchr(p, '\n');
			fprintf(f, "%*s%.*s\n", HELP_COL - col, "", nl ? (int)(nl - p) : (int)strlen(p), p);
			col = 0;
			if (!nl)
				break;
		}
	}
	fputs("\n", f);
	fputs(help_tail, f);
}

/* Bad usage: say why in @err; the value is -TG_EINVAL. */
#define USAGE(err, ...) (tg_err_set((err), TG_EINVAL, 0, __VA_ARGS__), -TG_EINVAL)

static int parse_count(const char *s, const char *what, unsigned *out, struct tg_err *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 1 || v > 4096)
		return USAGE(err, "%s must be a number from 1 to 4096, not '%s'", what, s);
	*out = (unsigned)v;
	return 0;
}

static int64_t now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)now.tv_sec * INT64_C(1000000000) + now.tv_nsec;
}

/* A --since/--until argument: RFC 3339, or an age (a count and s, m, h or d) before now. */
static int parse_time(const char *s, const char *what, int64_t *out, struct tg_err *err)
{
	if (qy_parse_time(s, now_ns(), out) == 0)
		return 0;
	return USAGE(
		err,
		"%s takes an RFC 3339 time (2026-11-23T07:00:00Z) or an age (90s, 15m, 2h, 7d), not '%s'",
		what, s);
}

static const struct tg_option *option_by_key(int key)
{
	for (size_t i = 0; i < tg_option_count; i++)
		if (tg_option_table[i].name && tg_option_table[i].key == key)
			return &tg_option_table[i];
	return NULL;
}

/* One option with its argument (optarg); 0, TG_OPTIONS_DONE or -TG_EINVAL. */
static int apply(struct tg_options *o, const struct tg_option *opt, char *arg, int *nmodes, bool *window,
		 bool *filtering, FILE *out, struct tg_err *err)
{
	if (opt->mode != TG_MODE_TERM) {
		o->mode = opt->mode;
		(*nmodes)++;
		return 0;
	}
	switch (opt->key) {
	case TG_OPT_HTML:
		o->html = arg;
		break;
	case 'p':
		o->lp.parser = arg;
		break;
	case TG_OPT_TIME_FORMAT:
		o->lp.time_format = arg;
		break;
	case TG_OPT_ML_START:
		o->lp.ml_start = arg;
		break;
	case 'c':
		o->lp.config = arg;
		break;
	case TG_OPT_COLOR:
		if (strcmp(arg, "auto") == 0)
			o->color = -1;
		else if (strcmp(arg, "always") == 0)
			o->color = 1;
		else if (strcmp(arg, "never") == 0)
			o->color = 0;
		else
			return USAGE(err, "--color takes auto, always or never");
		break;
	case TG_OPT_NO_SKEW:
		o->skew = false;
		break;
	case 'j':
		return parse_count(arg, "--threads", &o->threads, err);
	case 'w': {
		unsigned w;

		if (parse_count(arg, "--width", &w, err) < 0)
			return -TG_EINVAL;
		o->width = (int)w;
		break;
	}
	case 'q':
		o->quiet = true;
		break;
	case TG_OPT_ARCHIVE:
		o->archive = arg;
		break;
	case TG_OPT_SINCE:
		*window = true;
		return parse_time(arg, "--since", &o->since, err);
	case TG_OPT_UNTIL:
		*window = true;
		return parse_time(arg, "--until", &o->until, err);
	case TG_OPT_STATS:
		o->stats = true;
		break;
	case TG_OPT_KAFKA:
		o->kafka = arg;
		break;
	case TG_OPT_TOPIC:
		o->topic = arg;
		break;
	case TG_OPT_KPROP:
		o->kprops = tg_xrealloc(o->kprops, (o->nkprops + 1) * sizeof(*o->kprops));
		o->kprops[o->nkprops++] = arg;
		break;
	case TG_OPT_FIND:
		o->find = true;
		break;
	case TG_OPT_FILTER: {
		char msg[sizeof(err->msg)] = "";
		int rc = qy_filter_add(&o->filter, opt->name, arg, now_ns(), msg, sizeof(msg));

		if (rc == -QY_ENOMEM) {
			fputs("tracegrep: out of memory\n", stderr);
			exit(2);
		}
		if (rc < 0)
			return USAGE(err, "%s", msg);
		*filtering = true;
		break;
	}
	case TG_OPT_SORT:
		*filtering = true;
		if (qy_parse_sort(arg, &o->sort) < 0)
			return USAGE(err, "--sort takes start or duration, not '%s'", arg);
		break;
	case TG_OPT_LIMIT: {
		char *end;
		long long v;

		*filtering = true;
		errno = 0;
		v = strtoll(arg, &end, 10);
		if (errno || *end || end == arg || v < 0 || v > 1000000000)
			return USAGE(err, "--limit must be a number from 0 (all) to 1000000000, not '%s'",
				     arg);
		o->limit = (size_t)v;
		break;
	}
	case TG_OPT_OPEN:
		*filtering = true;
		o->open = true;
		break;
	case TG_OPT_SUMMARY_KEY:
		*filtering = true;
		if (!o->keys_given)
			qy_keys_release(&o->keys);
		o->keys_given = true;
		if (qy_keys_add(&o->keys, arg) < 0)
			return USAGE(err, "--summary-key takes a non-empty KEY, at most %d of them",
				     QY_KEYS_MAX);
		break;
	case 'h':
		tg_options_help(out);
		return TG_OPTIONS_DONE;
	case 'V':
		fprintf(out, "tracegrep (clew) %s\n", TG_VERSION);
		return TG_OPTIONS_DONE;
	}
	return 0;
}

/* The rest of a --find command line: PATHs only, the window into the filter, the summary keys. */
static int find_args(struct tg_options *o, int argc, char **argv, bool window, struct tg_err *err)
{
	int rc = 0;

	o->paths = argv + optind;
	o->npaths = (size_t)(argc - optind);
	if (o->kafka)
		return USAGE(err, "--find reads log files or the collector's archive: --find on Kafka is not "
				  "supported yet");
	if (o->npaths == 0 && !o->archive) {
		const char *env = getenv("CLEW_ARCHIVE");

		o->archive = env && *env ? env : TG_ARCHIVE_DEFAULT;
	}
	if (!o->open && o->mode != TG_MODE_TERM && o->mode != TG_MODE_JSON)
		return USAGE(err, "--lines, --chrome, --jaeger and --html show one transaction: with --find, "
				  "add --open");
	if (window) {
		o->filter.since_ns = o->since;
		o->filter.until_ns = o->until;
	}
	if (o->since > o->until)
		return USAGE(err, "--since is later than --until");
	if (!o->keys_given) {
		/* the keys the archive was written with (clewd's summary_keys), so it answers from them */
		const char *env = getenv("CLEW_SUMMARY_KEYS");
		char msg[160];

		if (env && *env && qy_keys_parse(&o->keys, env, msg, sizeof(msg)) < 0)
			return USAGE(err, "CLEW_SUMMARY_KEYS: %s", msg);
		if (!env || !*env)
			rc = qy_keys_defaults(&o->keys);
	}
	if (rc == 0)
		rc = qy_filter_keys(&o->filter, &o->keys);
	if (rc < 0)
		return USAGE(err, "at most %d summary keys (--summary-key and --attr keys)", QY_KEYS_MAX);
	return TG_OPTIONS_RUN;
}

int tg_options_parse(struct tg_options *o, int argc, char **argv, FILE *out, struct tg_err *err)
{
	struct option longopts[sizeof(tg_option_table) / sizeof(tg_option_table[0]) + 1] = {{0}};
	/* The table row of each long option: the filters share one key, so the key alone does not say. */
	const struct tg_option *rows[sizeof(tg_option_table) / sizeof(tg_option_table[0])];
	char shortopts[2 * sizeof(tg_option_table) / sizeof(tg_option_table[0]) + 1] = "";
	size_t nlong = 0, nshort = 0;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	bool window = false, filtering = false;
	int nmodes = 0, key, rc, li = -1;

	memset(o, 0, sizeof(*o));
	o->mode = TG_MODE_TERM;
	o->color = -1;
	o->skew = true;
	o->threads = ncpu > 0 ? (unsigned)ncpu : 1;
	o->since = INT64_MIN;
	o->until = INT64_MAX;
	qy_filter_init(&o->filter);
	o->limit = 20;
	for (size_t i = 0; i < tg_option_count; i++) {
		const struct tg_option *opt = &tg_option_table[i];

		if (!opt->name)
			continue;
		rows[nlong] = opt;
		longopts[nlong++] = (struct option){opt->name, opt->arg ? required_argument : no_argument,
						    NULL, opt->key};
		if (has_short(opt)) {
			shortopts[nshort++] = (char)opt->key;
			if (opt->arg)
				shortopts[nshort++] = ':';
		}
	}
	optind = 0; /* glibc: start afresh (a test parses many command lines) */
	while ((key = getopt_long(argc, argv, shortopts, longopts, &li)) != -1) {
		const struct tg_option *opt = key == '?' || key == ':' ? NULL
					      : li >= 0		       ? rows[li]
								       : option_by_key(key);

		if (!opt)
			return -TG_EINVAL; /* getopt_long said why */
		li = -1;
		rc = apply(o, opt, optarg, &nmodes, &window, &filtering, out, err);
		if (rc != 0)
			return rc;
	}
	if (nmodes > 1)
		return USAGE(err, "choose one of --lines, --json, --chrome, --jaeger");
	if (o->html && nmodes == 0)
		o->mode = TG_MODE_HTML_ONLY;
	if (filtering && !o->find)
		return USAGE(
			err,
			"the filters (--service, --error, ...), --sort, --limit, --open and --summary-key "
			"go with --find");
	if (o->find)
		return find_args(o, argc, argv, window, err);
	if (optind >= argc)
		return USAGE(err, "no ID given");
	if (tg_query_parse(&o->query, argv[optind], err) < 0)
		return -TG_EINVAL;
	o->paths = argv + optind + 1;
	o->npaths = (size_t)(argc - optind - 1);
	if (!o->kafka != !o->topic)
		return USAGE(err, "--kafka and --topic go together");
	if (o->npaths == 0 && !o->archive && !o->kafka) {
		const char *env = getenv("CLEW_ARCHIVE");

		o->archive = env && *env ? env : TG_ARCHIVE_DEFAULT;
	}
	if (window && !o->archive && !o->kafka)
		return USAGE(
			err,
			"--since and --until narrow an archive lookup (give --archive DIR, or no PATH) or a "
			"Kafka read (--kafka)");
	if (o->since > o->until)
		return USAGE(err, "--since is later than --until");
	return TG_OPTIONS_RUN;
}

void tg_options_release(struct tg_options *o)
{
	tg_query_release(&o->query);
	qy_filter_release(&o->filter);
	qy_keys_release(&o->keys);
	free(o->kprops);
	o->kprops = NULL;
	o->nkprops = 0;
}
