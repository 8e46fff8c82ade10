/*
 * main.c - tracegrep: options, and the order of the stages.
 *
 * DESIGN: a transaction ID needs one scan: every record of transaction T
 * holds T in its first line. A span ID needs two: the first finds the
 * records that name the span (and so its transaction), the second reads
 * the whole transaction, because descendants of a span need not name it
 * (a JSON record carries only its own span and parent; a pipe path starts
 * afresh in the next service). A path T:S..:X scans for T once and
 * selects X's sub-tree, checking the path's spans are X's ancestors.
 * With no PATH the collector's archive is read (--archive, $CLEW_ARCHIVE,
 * or TG_ARCHIVE_DEFAULT): the same two scans, each an index lookup there
 * (archive.c). --kafka BROKERS --topic T reads a Kafka topic clewd writes
 * to: the same two scans, each reading the one partition the ID's key
 * maps to, or every partition for a span (kafka.c). Exit status as
 * grep's: 0 found, 1 not found, 2 an error (even when something was
 * found).
 */
#include <errno.h>
#include <getopt.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fmt/ts.h"
#include "tg.h"
#include "banned.h"

/* Where clewd keeps its archive by default (clewd.conf [output.archive] dir). */
#define TG_ARCHIVE_DEFAULT "/var/lib/clew/archive"

enum mode { MODE_TERM, MODE_LINES, MODE_JSON, MODE_CHROME, MODE_JAEGER, MODE_HTML_ONLY };

static const char usage_text[] =
	"Usage: tracegrep [OPTIONS] ID [PATH...]\n"
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
	"PATH is a log file (pipe or JSON lines, mixed), a directory (read recursively), a\n"
	"gzip (.gz) or zstd (.zst) file (recognised by content), or - for standard input.\n"
	"Rotated files (app.log, app.log.1, app.log.2.gz) are simply more files.\n"
	"With no PATH, the collector's archive is read: the directory given by --archive, else\n"
	"$CLEW_ARCHIVE, else " TG_ARCHIVE_DEFAULT ". Its per-segment index of transaction IDs\n"
	"is used, so a transaction (or T:S) lookup reads only the chunks that may hold it; a\n"
	"span ID is not in the index, so a span query reads every chunk in the time window to\n"
	"find the span's transaction, then looks that up.\n"
	"\n"
	"Archive:\n"
	"      --archive DIR     read the archive in DIR (also with PATHs: then both are read)\n"
	"      --since TIME      only archive chunks with records at or after TIME\n"
	"      --until TIME      only archive chunks with records at or before TIME; TIME is\n"
	"                        RFC 3339 (2026-11-23T07:00:00Z) or an age: 90s, 15m, 2h, 7d\n"
	"      --stats           report each archive lookup on stderr: segments in the archive,\n"
	"                        examined (time window), opened (index lists the ID), frames read\n"
	"\n";

static const char usage_kafka[] =
	"Kafka (a topic clewd's Kafka output writes to):\n"
	"      --kafka BROKERS   read from the Kafka cluster at BROKERS (HOST:PORT[,HOST:PORT...]);\n"
	"                        needs --topic; no archive is read unless --archive is given\n"
	"      --topic TOPIC     the topic. clewd keys each record by its transaction ID and\n"
	"                        partitions by murmur2 of the key, so a transaction (or T:S)\n"
	"                        lookup reads only that ID's partition; a span ID is in no key,\n"
	"                        so a span query reads every partition of the topic\n"
	"      --kafka-property NAME=VALUE\n"
	"                        a librdkafka property (security.protocol, sasl.*, ssl.*, ...);\n"
	"                        may be repeated\n"
	"      --since/--until   also narrow a Kafka read, by the messages' timestamps (when clewd\n"
	"                        produced them, or the records' own times with its timestamp: record)\n"
	"      --stats           also reports each Kafka read: partitions and messages read\n"
	"\n";

/* The help in two strings: C11 compilers need support string literals of 4095 bytes only. */
static const char usage_text2[] =
	"Output (one of):\n"
	"      (default)         the waterfall: one row per span (start offset, duration,\n"
	"                        status, service, name or method and path, a bar), the span's\n"
	"                        log records under it; * marks the critical path, errors are\n"
	"                        highlighted, clock-skew corrections are shown\n"
	"  -l, --lines           the matching records verbatim (multi-line records whole),\n"
	"                        in time order\n"
	"      --json            one JSON document: id, spans (tree), records; the schema is\n"
	"                        formats/tracegrep-json.md\n"
	"      --chrome          Chrome trace event JSON (Perfetto, chrome://tracing)\n"
	"      --jaeger          Jaeger's JSON trace format (Jaeger UI, Grafana)\n"
	"      --html FILE       also write one self-contained HTML page with the waterfall\n"
	"                        (no network access); alone, it replaces the default output\n"
	"\n"
	"Options:\n"
	"      --color=WHEN      colour the waterfall: auto (default: on a terminal, unless\n"
	"                        NO_COLOR is set or TERM=dumb), always, never\n"
	"      --no-skew-adjust  do not move children of another service into their parent's\n"
	"                        time window\n"
	"  -j, --threads N       search with N threads (default: the number of CPUs)\n"
	"  -w, --width N         waterfall width in columns (default: the terminal's, or 120)\n"
	"  -q, --quiet           print nothing; the exit status says whether the ID was found\n"
	"  -h, --help            show this help and exit\n"
	"  -V, --version         show the version and exit\n"
	"\n"
	"Log text is untrusted: control characters and invalid UTF-8 are shown as escapes\n"
	"(\\e, \\x07, \\u009b, \\xff) on a terminal; --lines writes bytes verbatim unless the\n"
	"output is a terminal.\n"
	"\n"
	"Exit status: 0 the ID was found, 1 it was not, 2 an error (bad usage, unreadable file,\n"
	"missing or unreadable archive).\n"
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
	"  tracegrep --kafka k1:9092 --topic logs 7f3a9c1e55d04b2a   from Kafka: one partition\n";

static void usage_error(const char *msg)
{
	fprintf(stderr, "tracegrep: %s\nTry 'tracegrep --help' for more information.\n", msg);
	exit(2);
}

static unsigned parse_count(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 1 || v > 4096) {
		char msg[128];

		snprintf(msg, sizeof(msg), "%s must be a number from 1 to 4096, not '%s'", what, s);
		usage_error(msg);
	}
	return (unsigned)v;
}

static int term_width(void)
{
	struct winsize ws;
	const char *c = getenv("COLUMNS");

	if (isatty(1) && ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	if (c) {
		long v = strtol(c, NULL, 10);

		if (v >= 40 && v <= 4096)
			return (int)v;
	}
	return 120;
}

/*
 * A --since/--until argument: RFC 3339, or an age (a count and s, m, h or
 * d) before now. Exits with status 2 on anything else.
 */
static int64_t parse_time(const char *s, const char *what)
{
	static const struct {
		char unit;
		int64_t ns;
	} units[] = {{'s', INT64_C(1000000000)},
		     {'m', INT64_C(60000000000)},
		     {'h', INT64_C(3600000000000)},
		     {'d', INT64_C(86400000000000)}};
	size_t n = strlen(s);
	struct timespec now;
	int64_t ns;
	char *end;
	long long v;

	if (fmt_ts_parse(s, n, &ns, NULL) == 0)
		return ns;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (!errno && end != s && v >= 0 && v <= 100000 && end[0] && !end[1] && s[0] >= '0' && s[0] <= '9') {
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (*end != units[i].unit)
				continue;
			clock_gettime(CLOCK_REALTIME, &now);
			return (int64_t)now.tv_sec * INT64_C(1000000000) + now.tv_nsec - v * units[i].ns;
		}
	}
	{
		char msg[256];

		snprintf(
			msg, sizeof(msg),
			"%s takes an RFC 3339 time (2026-11-23T07:00:00Z) or an age (90s, 15m, 2h, 7d), not '%s'",
			what, s);
		usage_error(msg);
	}
	return 0;
}

/* Keep only the records of transaction @trace. */
static void keep_trace(struct tg_recs *r, const char *trace)
{
	struct tg_recs keep = {0}, drop = {0};

	for (size_t i = 0; i < r->n; i++) {
		struct tg_recs *to = r->v[i].trace && strcmp(r->v[i].trace, trace) == 0 ? &keep : &drop;

		if (to->n == to->cap) {
			to->cap = to->cap ? to->cap * 2 : 64;
			to->v = tg_xrealloc(to->v, to->cap * sizeof(*to->v));
		}
		to->v[to->n++] = r->v[i];
	}
	free(r->v);
	*r = keep;
	tg_recs_free(&drop);
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The transaction most of @r belong to (on a tie, the smallest ID), or NULL; *ntraces: how many. */
static const char *main_trace(const struct tg_recs *r, size_t *ntraces)
{
	const char **v = tg_xcalloc(r->n, sizeof(*v)), *best = NULL;
	size_t n = 0, best_n = 0;

	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].trace)
			v[n++] = r->v[i].trace;
	qsort(v, n, sizeof(*v), by_str);
	*ntraces = 0;
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && strcmp(v[j], v[i]) == 0; j++)
			;
		(*ntraces)++;
		if (j - i > best_n)
			best = v[i], best_n = j - i;
	}
	free(v);
	return best;
}

static int scan(struct tg_inputs *ins, const char *needle, enum tg_want want, unsigned threads,
		struct tg_recs *out)
{
	struct tg_scan s = {.want = want};

	tg_finder_init(&s.finder, needle, strlen(needle));
	return tg_run_scan(ins, &s, threads, out);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"lines", no_argument, NULL, 'l'},
		{"json", no_argument, NULL, 'J'},
		{"chrome", no_argument, NULL, 'C'},
		{"jaeger", no_argument, NULL, 'G'},
		{"html", required_argument, NULL, 'H'},
		{"color", required_argument, NULL, 'c'},
		{"colour", required_argument, NULL, 'c'},
		{"no-skew-adjust", no_argument, NULL, 'S'},
		{"threads", required_argument, NULL, 'j'},
		{"width", required_argument, NULL, 'w'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"archive", required_argument, NULL, 'A'},
		{"since", required_argument, NULL, 's'},
		{"until", required_argument, NULL, 'u'},
		{"stats", no_argument, NULL, 'T'},
		{"kafka", required_argument, NULL, 'K'},
		{"topic", required_argument, NULL, 'P'},
		{"kafka-property", required_argument, NULL, 'X'},
		{NULL, 0, NULL, 0},
	};
	enum mode mode = MODE_TERM;
	int nmodes = 0, color = -1, width = 0, opt, status = 1, rc;
	bool skew = true, quiet = false, had_error = false, found = false;
	const char *html = NULL, *trace = NULL, *select = NULL, *archive = NULL;
	int64_t since = INT64_MIN, until = INT64_MAX;
	bool window = false, stats = false;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = ncpu > 0 ? (unsigned)ncpu : 1;
	struct tg_inputs ins = {0};
	struct tg_recs recs = {0};
	struct tg_query q;
	struct tg_tree tree = {0};
	struct tg_err err = {0};
	char *trace_own = NULL;
	const char *kafka = NULL, *topic = NULL;
	char **kprops = NULL;
	size_t nkprops = 0;

	while ((opt = getopt_long(argc, argv, "lj:w:qhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			mode = MODE_LINES, nmodes++;
			break;
		case 'J':
			mode = MODE_JSON, nmodes++;
			break;
		case 'C':
			mode = MODE_CHROME, nmodes++;
			break;
		case 'G':
			mode = MODE_JAEGER, nmodes++;
			break;
		case 'H':
			html = optarg;
			break;
		case 'c':
			if (strcmp(optarg, "auto") == 0)
				color = -1;
			else if (strcmp(optarg, "always") == 0)
				color = 1;
			else if (strcmp(optarg, "never") == 0)
				color = 0;
			else
				usage_error("--color takes auto, always or never");
			break;
		case 'S':
			skew = false;
			break;
		case 'j':
			threads = parse_count(optarg, "--threads");
			break;
		case 'w':
			width = (int)parse_count(optarg, "--width");
			break;
		case 'q':
			quiet = true;
			break;
		case 'A':
			archive = optarg;
			break;
		case 's':
			since = parse_time(optarg, "--since"), window = true;
			break;
		case 'u':
			until = parse_time(optarg, "--until"), window = true;
			break;
		case 'T':
			stats = true;
			break;
		case 'K':
			kafka = optarg;
			break;
		case 'P':
			topic = optarg;
			break;
		case 'X':
			kprops = tg_xrealloc(kprops, (nkprops + 1) * sizeof(*kprops));
			kprops[nkprops++] = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			fputs(usage_kafka, stdout);
			fputs(usage_text2, stdout);
			return 0;
		case 'V':
			printf("tracegrep (clew) %s\n", TG_VERSION);
			return 0;
		default:
			fputs("Try 'tracegrep --help' for more information.\n", stderr);
			return 2;
		}
	}
	if (nmodes > 1)
		usage_error("choose one of --lines, --json, --chrome, --jaeger");
	if (html && nmodes == 0)
		mode = MODE_HTML_ONLY;
	if (optind >= argc)
		usage_error("no ID given");
	if (tg_query_parse(&q, argv[optind], &err) < 0)
		usage_error(err.msg);
	if (!kafka != !topic)
		usage_error("--kafka and --topic go together");
	if (optind + 1 >= argc && !archive && !kafka) {
		const char *env = getenv("CLEW_ARCHIVE");

		archive = env && *env ? env : TG_ARCHIVE_DEFAULT;
	}
	if (window && !archive && !kafka) {
		tg_query_release(&q);
		usage_error(
			"--since and --until narrow an archive lookup (give --archive DIR, or no PATH) or a "
			"Kafka read (--kafka)");
	}
	if (since > until) {
		tg_query_release(&q);
		usage_error("--since is later than --until");
	}
	for (int i = optind + 1; i < argc; i++) {
		memset(&err, 0, sizeof(err));
		if (tg_inputs_add(&ins, argv[i], &err) < 0) {
			fprintf(stderr, "tracegrep: %s\n", err.msg);
			had_error = true;
		}
	}
	if (archive) {
		memset(&err, 0, sizeof(err));
		if (tg_inputs_add_archive(&ins, archive, since, until, stats, &err) < 0) {
			fprintf(stderr, "tracegrep: %s\n", err.msg);
			if (optind + 1 >= argc) {
				fputs("tracegrep: no PATH was given, so the collector's archive is read: name log "
				      "files or directories (PATH), or the archive (--archive DIR or "
				      "CLEW_ARCHIVE)\n",
				      stderr);
				tg_query_release(&q);
				tg_inputs_release(&ins);
				return 2;
			}
			had_error = true;
		}
	}
	if (kafka) {
		memset(&err, 0, sizeof(err));
		if (tg_inputs_add_kafka(&ins, kafka, topic, kprops, nkprops, since, until, stats, &err) < 0) {
			fprintf(stderr, "tracegrep: %s\n", err.msg);
			if (ins.n == 0) {
				tg_query_release(&q);
				tg_inputs_release(&ins);
				free(kprops);
				return 2;
			}
			had_error = true;
		}
	}

	if (q.nelems == 1) {
		const char *id = q.elems[0];

		if (scan(&ins, id, TG_WANT_ELEMENT, threads, &recs) < 0)
			had_error = true;
		for (size_t i = 0; i < recs.n && !trace; i++)
			if (recs.v[i].trace && strcmp(recs.v[i].trace, id) == 0)
				trace = id;
		if (trace) {
			keep_trace(&recs, trace);
		} else if (recs.n) {
			size_t ntraces;
			const char *t = main_trace(&recs, &ntraces);

			select = id;
			if (t) {
				trace_own = tg_xstrndup(t, strlen(t));
				trace = trace_own;
				if (ntraces > 1)
					fprintf(stderr,
						"tracegrep: span %s occurs in %zu transactions; showing %s "
						"(give T:%s to choose)\n",
						id, ntraces, trace, id);
				tg_recs_free(&recs);
				if (scan(&ins, trace, TG_WANT_TRACE, threads, &recs) < 0)
					had_error = true;
				keep_trace(&recs, trace);
			} else {
				trace = id; /* records that name the span but no transaction */
				select = NULL;
			}
		}
	} else {
		trace = q.elems[0];
		select = q.elems[q.nelems - 1];
		if (scan(&ins, trace, TG_WANT_TRACE, threads, &recs) < 0)
			had_error = true;
		keep_trace(&recs, trace);
	}

	if (recs.n) {
		tg_tree_build(&tree, &recs, trace, skew);
		found = tg_tree_select(&tree, &recs, select, q.elems, q.nelems);
	}
	if (found && !quiet) {
		struct tg_view v = {
			.query = &q,
			.tree = &tree,
			.recs = &recs,
			.inputs = &ins,
			.tty = isatty(1),
			.width = width ? width : term_width(),
		};
		const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");

		v.color = color == 1 ||
			  (color == -1 && v.tty && !(nc && *nc) && !(term && strcmp(term, "dumb") == 0));
		rc = 0;
		switch (mode) {
		case MODE_TERM:
			rc = tg_render_term(&v, stdout);
			break;
		case MODE_LINES:
			rc = tg_render_lines(&v, stdout);
			break;
		case MODE_JSON:
			rc = tg_render_json(&v, stdout);
			break;
		case MODE_CHROME:
			rc = tg_render_chrome(&v, stdout);
			break;
		case MODE_JAEGER:
			rc = tg_render_jaeger(&v, stdout);
			break;
		case MODE_HTML_ONLY:
			break;
		}
		if (rc == 0 && html) {
			FILE *f = strcmp(html, "-") == 0 ? stdout : fopen(html, "w");

			v.color = false;
			if (!f) {
				fprintf(stderr, "tracegrep: %s: %s\n", html, strerror(errno));
				had_error = true;
			} else {
				rc = tg_render_html(&v, f);
				if (f != stdout && fclose(f) != 0)
					rc = -TG_EIO;
			}
		}
		if (rc < 0 || fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr, "tracegrep: write error\n");
			had_error = true;
		}
	}
	if (found)
		status = 0;
	if (had_error)
		status = 2;
	tg_tree_release(&tree);
	tg_recs_free(&recs);
	tg_inputs_release(&ins);
	tg_query_release(&q);
	free(trace_own);
	free(kprops);
	return status;
}
