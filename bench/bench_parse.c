/*
 * bench_parse.c - throughput of the formats library's parsers and emitters.
 *
 * DESIGN: a corpus is held in memory whole, so the figures are the cost of
 * the code alone, without I/O. Each stage walks the same buffer line by
 * line with memchr() and does one more thing per line:
 *
 *   floor       nothing (count the lines, sum their lengths): the cost of
 *               finding the lines, which no parser can go below;
 *   parse       fmt_pipe_parse() / fmt_json_parse() into one reused record;
 *   auto        fmt_parse(): fmt_detect() and then that parser;
 *   parse+emit  parse, then fmt_pipe_emit() / fmt_json_emit() the record
 *               back into a reused buffer; the emit row below it is the
 *               difference (records are not stored, so emitting alone
 *               cannot be timed without parsing).
 *
 * Every stage runs --repeat times, round-robin with the other stages and
 * corpora so that a burst of load elsewhere spoils one run of many stages
 * rather than all runs of one, and the fastest wall-clock run counts
 * (CLOCK_MONOTONIC; CPU time from CLOCK_PROCESS_CPUTIME_ID is shown beside
 * it, to tell a busy machine from slow code). One thread: the figures are
 * per core. MB is 10^6 bytes and counts every byte of the buffer, newlines
 * included. Parse errors are counted per stage; on a generated corpus any
 * error is a bug, and the program exits 1.
 *
 * The regex rows (clewd's user parsers, parsers/src/regex.c) run an
 * Apache combined-log regex with its time format over a generated access
 * log, JIT-compiled and in PCRE2's interpreter; "rec/cpu-s" is records per
 * CPU-second, the unit Fluent Bit's regex parser is quoted in.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "corpus.h"
#include "fmt/detect.h"
#include "fmt/json.h"
#include "fmt/pipe.h"
#include <parsers/regex.h>

/* Per-core targets of the parse stage, in MB/s. */
#define TARGET_PIPE_MBPS 1000.0
#define TARGET_JSON_MBPS 400.0

/* Room for one emitted record; a longer one counts as an error. */
#define EMIT_CAP (256 * 1024)

struct corpus {
	char name[64];		/* "pipe", "json", or a file's name */
	enum fmt_format format; /* which parser the parse stage uses; FMT_UNKNOWN: mixed, no parse stage */
	bool generated;		/* errors on a generated corpus are bugs */
	char *data;		/* the whole corpus */
	size_t len;		/* bytes at data */
};

enum stage { ST_FLOOR, ST_PARSE, ST_AUTO, ST_EMIT, NSTAGES };

static const char *const stage_names[NSTAGES] = {"floor (memchr)", "parse", "auto (fmt_parse)", "parse+emit"};

struct result {
	double wall_s;	      /* fastest run */
	double cpu_s;	      /* fastest run, by CPU time */
	uint64_t records;     /* records (lines that are not continuation lines) per run */
	uint64_t conts;	      /* continuation lines (fmt_detect() gives FMT_UNKNOWN), per run */
	uint64_t errors;      /* records that failed, per run */
	struct fmt_err first; /* the first failure */
	uint64_t first_line;  /* its line number, from 1 */
};

static volatile uint64_t sink; /* keeps every stage's work observable */

static double now(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int parse_as(enum fmt_format f, const char *line, size_t len, struct fmt_record *rec,
		    struct fmt_err *err)
{
	return f == FMT_JSON ? fmt_json_parse(line, len, rec, err) : fmt_pipe_parse(line, len, rec, err);
}

static int emit_as(enum fmt_format f, const struct fmt_record *rec, char *out, size_t cap, size_t *len)
{
	return f == FMT_JSON ? fmt_json_emit(rec, 0, out, cap, len) : fmt_pipe_emit(rec, out, cap, len);
}

/* One pass of @st over @c. Return: a checksum of the work done. */
static uint64_t run_once(const struct corpus *c, enum stage st, struct fmt_record *rec, char *out,
			 struct result *res)
{
	const char *p = c->data, *end = c->data + c->len;
	uint64_t sum = 0, n = 0, conts = 0, errors = 0;
	struct fmt_err err = {0, NULL};

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t olen = 0;
		int rc = 0;

		n++;
		switch (st) {
		case ST_FLOOR:
			sum += len;
			break;
		case ST_PARSE:
			rc = parse_as(c->format, p, len, rec, &err);
			sum += rec->nattrs;
			break;
		case ST_AUTO:
			rc = fmt_parse(p, len, rec, &err);
			if (rc == 0 && c->format != FMT_UNKNOWN && rec->format != c->format) {
				rc = -FMT_EPARSE;
				err.offset = 0;
				err.what = "detected as the other format";
			}
			sum += rec->nattrs;
			break;
		case ST_EMIT:
			if (c->format == FMT_UNKNOWN)
				rc = fmt_parse(p, len, rec, &err);
			else
				rc = parse_as(c->format, p, len, rec, &err);
			if (rc == 0) {
				rc = emit_as((enum fmt_format)rec->format, rec, out, EMIT_CAP, &olen);
				if (rc < 0) {
					err.offset = 0;
					err.what = fmt_strerror(rc);
				}
			}
			sum += olen;
			break;
		default:
			break;
		}
		if (rc < 0) {
			/* a stack trace line belongs to the record above: not an error */
			if (fmt_detect(p, len) == FMT_UNKNOWN) {
				conts++;
			} else if (errors++ == 0) {
				res->first = err;
				res->first_line = n;
			}
		}
		p = nl ? nl + 1 : end;
	}
	res->records = n - conts;
	res->conts = conts;
	res->errors = errors;
	return sum;
}

/* One timed run of @st over @c; @res keeps the fastest. */
static void time_stage(const struct corpus *c, enum stage st, struct fmt_record *rec, char *out,
		       struct result *res)
{
	double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID), w, cpu;

	sink += run_once(c, st, rec, out, res);
	w = now(CLOCK_MONOTONIC) - w0;
	cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
	if (w < res->wall_s)
		res->wall_s = w;
	if (cpu < res->cpu_s)
		res->cpu_s = cpu;
}

static bool stage_applies(const struct corpus *c, enum stage st)
{
	return !(c->format == FMT_UNKNOWN && st == ST_PARSE); /* no one parser fits a mixed corpus */
}

static void print_header(void)
{
	printf("%-12s %-18s %9s %12s %10s %8s %9s %7s  %s\n", "format", "stage", "MB/s", "records/s",
	       "ns/record", "x floor", "cpu MB/s", "errors", "target (parse, per core)");
}

static void print_row(const struct corpus *c, const char *stage, const struct result *r, double floor_s,
		      double target)
{
	double mb = (double)c->len / 1e6;

	printf("%-12s %-18s %9.0f %12.0f %10.1f %8.2f %9.0f %7llu", c->name, stage, mb / r->wall_s,
	       (double)r->records / r->wall_s, r->wall_s * 1e9 / (double)r->records, r->wall_s / floor_s,
	       mb / r->cpu_s, (unsigned long long)r->errors);
	if (target > 0)
		printf("  >= %.0f MB/s: %s", target, mb / r->wall_s >= target ? "ok" : "below");
	putchar('\n');
}

static const char *format_name(enum fmt_format f)
{
	return f == FMT_JSON ? "json" : f == FMT_PIPE ? "pipe" : "mixed";
}

/* Print the rows of @c. Return: the errors seen. */
static uint64_t report(const struct corpus *c, const struct result *res)
{
	bool mixed = c->format == FMT_UNKNOWN;
	double target = mixed ? 0 : c->format == FMT_JSON ? TARGET_JSON_MBPS : TARGET_PIPE_MBPS;
	enum stage base = mixed ? ST_AUTO : ST_PARSE; /* what parse+emit parses with */
	uint64_t errors = 0;

	for (int st = 0; st < NSTAGES; st++) {
		if (!stage_applies(c, (enum stage)st))
			continue;
		print_row(c, stage_names[st], &res[st], res[ST_FLOOR].wall_s,
			  st == ST_PARSE || st == ST_AUTO ? target : 0);
		errors += res[st].errors;
	}
	printf("%-12s %-18s %9s %12s %10.1f %8s %9s %7s\n", c->name, "emit (derived)", "", "",
	       (res[ST_EMIT].wall_s - res[base].wall_s) * 1e9 / (double)res[ST_EMIT].records, "", "", "");
	if (res[ST_AUTO].conts)
		printf("%-12s (%llu continuation lines, part of the record above, not counted as records)\n",
		       c->name, (unsigned long long)res[ST_AUTO].conts);
	for (int st = 0; st < NSTAGES; st++) {
		if (!stage_applies(c, (enum stage)st) || !res[st].errors)
			continue;
		fprintf(stderr, "%s %s: %llu errors; first at line %llu, byte %zu: %s\n", c->name,
			stage_names[st], (unsigned long long)res[st].errors,
			(unsigned long long)res[st].first_line, res[st].first.offset,
			res[st].first.what ? res[st].first.what : "?");
	}
	return errors;
}

static int generate(struct corpus *c, enum corpus_format f, const char *name, uint64_t seed, size_t bytes)
{
	struct corpus_buf b = {0};
	struct corpus_gen *g = malloc(sizeof(*g));

	if (!g)
		return -1;
	corpus_gen_init(g, f, seed);
	while (b.len < bytes) {
		if (corpus_gen_record(g, &b) < 0) {
			corpus_buf_free(&b);
			free(g);
			return -1;
		}
	}
	free(g);
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->format = f == CORPUS_JSON ? FMT_JSON : FMT_PIPE;
	c->generated = true;
	c->data = b.data;
	c->len = b.len;
	return 0;
}

/* Read @path whole; its format is that of its records, or mixed (FMT_UNKNOWN) when it holds both. */
static int load(struct corpus *c, const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 1 << 20, n, json = 0, pipe = 0;
	const char *base = strrchr(path, '/');
	char *p;

	if (!f) {
		fprintf(stderr, "bench_parse: %s: %s\n", path, strerror(errno));
		return -1;
	}
	memset(c, 0, sizeof(*c));
	c->data = malloc(cap);
	while (c->data && (n = fread(c->data + c->len, 1, cap - c->len, f)) > 0) {
		c->len += n;
		if (c->len == cap) {
			p = realloc(c->data, cap * 2);
			if (!p) {
				free(c->data);
				c->data = NULL;
				break;
			}
			c->data = p;
			cap *= 2;
		}
	}
	if (!c->data || ferror(f)) {
		fprintf(stderr, "bench_parse: %s: %s\n", path, c->data ? "read error" : "out of memory");
		fclose(f);
		free(c->data);
		return -1;
	}
	fclose(f);
	for (const char *q = c->data, *end = c->data + c->len; q < end;) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));
		enum fmt_format d = fmt_detect(q, nl ? (size_t)(nl - q) : (size_t)(end - q));

		json += d == FMT_JSON;
		pipe += d == FMT_PIPE;
		q = nl ? nl + 1 : end;
	}
	c->format = json && pipe ? FMT_UNKNOWN : json ? FMT_JSON : FMT_PIPE;
	snprintf(c->name, sizeof(c->name), "%s", base ? base + 1 : path);
	return 0;
}

/* --- regex parsers ------------------------------------------------------------ */

/* An Apache combined log line, and how it is read (Fluent Bit's apache2 parser has this shape). */
static const char apache_re[] = "^(?<host>[^ ]*) [^ ]* (?<user>[^ ]*) \\[(?<time>[^\\]]*)\\] "
				"\"(?<method>\\S+)(?: +(?<path>[^ ]*) +\\S*)?\" (?<code>[^ ]*) (?<size>[^ ]*)"
				"(?: \"(?<referer>[^\"]*)\" \"(?<agent>[^\"]*)\")?$";
static const char apache_tf[] = "%d/%b/%Y:%H:%M:%S %z";

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A deterministic access log of about @bytes bytes. */
static int generate_apache(struct corpus *c, uint64_t seed, size_t bytes)
{
	static const char *const methods[] = {"GET", "GET", "GET", "POST", "PUT", "DELETE"};
	static const char *const paths[] = {"/api/v1/orders/", "/api/v1/users/", "/static/app.", "/health",
					    "/api/v1/cart/"};
	static const int codes[] = {200, 200, 200, 201, 204, 301, 304, 400, 404, 500};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	static const char *const agents[] = {
		"Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
		("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
		 "Chrome/119.0.0.0 Safari/537.36"),
		"curl/7.88.1", "Go-http-client/1.1", "kube-probe/1.28"};
	uint64_t st = seed * 2654435761u + 88172645463325252ull, t = 0;
	size_t cap = bytes + 4096;

	memset(c, 0, sizeof(*c));
	c->data = malloc(cap);
	if (!c->data)
		return -1;
	while (c->len < bytes) {
		uint64_t r = xorshift(&st);
		int code = codes[r % 10], n;
		char size[24];

		t += r % 3;
		if (code == 204 || code == 304)
			snprintf(size, sizeof(size), "-");
		else
			snprintf(size, sizeof(size), "%llu",
				 (unsigned long long)(xorshift(&st) % 90000 + 120));
		n = snprintf(
			c->data + c->len, cap - c->len,
			"%u.%u.%u.%u - %s [%02llu/%s/2026:%02llu:%02llu:%02llu +0000] \"%s %s%llu HTTP/1.1\" %d %s "
			"\"%s\" \"%s\"\n",
			(unsigned)(r >> 8 & 0xff), (unsigned)(r >> 16 & 0xff), (unsigned)(r >> 24 & 0xff),
			(unsigned)(r >> 32 & 0xff), r % 7 ? "-" : "alice",
			(unsigned long long)(1 + t / 86400 % 28), months[t / 86400 / 28 % 12],
			(unsigned long long)(t / 3600 % 24), (unsigned long long)(t / 60 % 60),
			(unsigned long long)(t % 60), methods[r % 6], paths[(r >> 40) % 5],
			(unsigned long long)((r >> 44) % 100000), code, size,
			r % 3 ? "-" : "https://shop.example.com/cart", agents[(r >> 50) % 5]);
		if (n < 0 || (size_t)n >= cap - c->len)
			break;
		c->len += (size_t)n;
	}
	snprintf(c->name, sizeof(c->name), "apache");
	c->generated = true;
	return 0;
}

/* One pass of @rx over @c (NULL: the floor). Return: the errors. */
static uint64_t regex_once(const struct corpus *c, struct parse_regex *rx, struct fmt_record *rec,
			   uint64_t *records)
{
	const char *p = c->data, *end = c->data + c->len;
	uint64_t errors = 0, n = 0, sum = 0;
	struct fmt_err err = {0, NULL};

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		n++;
		if (!rx)
			sum += len;
		else if (parse_regex_line(rx, p, len, rec, &err) < 0 || !rec->has_ts)
			errors++;
		else
			sum += rec->nattrs;
		p = nl ? nl + 1 : end;
	}
	sink += sum;
	*records = n;
	return errors;
}

/* The regex rows: floor, JIT, interpreter. Return: the errors (the corpus is generated: bugs). */
static uint64_t bench_regex(size_t bytes, unsigned long long repeat, uint64_t seed, struct fmt_record *rec)
{
	struct parse_regex *rx[3] = {NULL, NULL, NULL};
	const char *names[3] = {"floor (memchr)", "regex (JIT)", "regex (no JIT)"};
	struct result res[3];
	struct corpus c;
	struct cd_err e = {0, 0, ""};
	uint64_t errors = 0;

	if (generate_apache(&c, seed, bytes) < 0 ||
	    parse_regex_new(&rx[1], apache_re, apache_tf, 0, &e) < 0 ||
	    parse_regex_new(&rx[2], apache_re, apache_tf, PARSE_REGEX_NO_JIT, &e) < 0) {
		fprintf(stderr, "bench_parse: regex: %s\n", e.msg[0] ? e.msg : "out of memory");
		return 1;
	}
	if (!parse_regex_jit(rx[1]))
		names[1] = "regex (JIT n/a)";
	for (int k = 0; k < 3; k++)
		res[k].wall_s = res[k].cpu_s = 1e300;
	for (unsigned long long r = 0; r < repeat; r++) {
		for (int k = 0; k < 3; k++) {
			double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID), w, cpu;

			res[k].errors = regex_once(&c, rx[k], rec, &res[k].records);
			w = now(CLOCK_MONOTONIC) - w0;
			cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
			res[k].wall_s = w < res[k].wall_s ? w : res[k].wall_s;
			res[k].cpu_s = cpu < res[k].cpu_s ? cpu : res[k].cpu_s;
		}
	}
	printf("\ncorpus %-12s %8.1f MB %10llu lines, %6.1f bytes/line, parsed by clewd's regex parser "
	       "(Apache combined, time %s)\n",
	       c.name, (double)c.len / 1e6, (unsigned long long)res[0].records,
	       (double)c.len / (double)res[0].records, apache_tf);
	printf("%-12s %-18s %9s %12s %10s %8s %9s %7s  %s\n", "format", "stage", "MB/s", "records/s",
	       "ns/record", "x floor", "cpu MB/s", "errors", "rec/cpu-s (Fluent Bit regex: ~290k)");
	for (int k = 0; k < 3; k++) {
		double mb = (double)c.len / 1e6;

		printf("%-12s %-18s %9.0f %12.0f %10.1f %8.2f %9.0f %7llu  %.0f\n", c.name, names[k],
		       mb / res[k].wall_s, (double)res[k].records / res[k].wall_s,
		       res[k].wall_s * 1e9 / (double)res[k].records, res[k].wall_s / res[0].wall_s,
		       mb / res[k].cpu_s, (unsigned long long)res[k].errors,
		       (double)res[k].records / res[k].cpu_s);
		errors += res[k].errors;
	}
	parse_regex_free(rx[1]);
	parse_regex_free(rx[2]);
	free(c.data);
	return errors;
}

static void usage(FILE *f)
{
	fputs("usage: bench_parse [--size MB] [--repeat N] [--seed S] [FILE...]\n"
	      "\n"
	      "Measure the formats library on corpora held in memory, single-threaded:\n"
	      "the floor (splitting lines with memchr), the format's own parser, fmt_parse\n"
	      "(detection + parser), and parsing + emitting back in the same format. Each\n"
	      "stage runs N times; the fastest run counts. MB is 10^6 bytes.\n"
	      "\n"
	      "Without FILE, a pipe corpus and a JSON corpus of MB megabytes each are\n"
	      "generated (the generator of gen_corpus). With FILEs, each file is a corpus:\n"
	      "a file that holds both formats is 'mixed' and has no single-parser stage.\n"
	      "Lines that start no record (stack traces) belong to the record above and\n"
	      "are counted apart, not as errors. Without FILE, an Apache access log of\n"
	      "MB/4 megabytes is generated too, for the rows of clewd's regex parser.\n"
	      "\n"
	      "  --size MB     size of each generated corpus (default 64)\n"
	      "  --repeat N    runs per stage (default 5)\n"
	      "  --seed S      generator seed (default 1)\n"
	      "  -h, --help    show this text\n"
	      "\n"
	      "Exit status: 0, 1 when a generated corpus had parse errors, 2 on bad usage.\n",
	      f);
}

static int parse_num(const char *s, unsigned long long min, unsigned long long max, unsigned long long *out)
{
	char *end;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end || *out < min || *out > max ? -1 : 0;
}

int main(int argc, char **argv)
{
	unsigned long long size_mb = 64, repeat = 5, seed = 1;
	struct corpus *corpora;
	struct result *results;
	struct fmt_record *rec;
	size_t ncorpora = 0;
	uint64_t gen_errors = 0;
	char *out;
	int nfiles = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--size") == 0) {
			if (parse_num(v, 1, 1 << 16, &size_mb) < 0) {
				fprintf(stderr, "bench_parse: bad --size (1..65536)\n");
				return 2;
			}
			i++;
		} else if (strcmp(a, "--repeat") == 0) {
			if (parse_num(v, 1, 1000, &repeat) < 0) {
				fprintf(stderr, "bench_parse: bad --repeat (1..1000)\n");
				return 2;
			}
			i++;
		} else if (strcmp(a, "--seed") == 0) {
			if (parse_num(v, 0, UINT64_MAX, &seed) < 0) {
				fprintf(stderr, "bench_parse: bad --seed\n");
				return 2;
			}
			i++;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "bench_parse: unknown option '%s'\n", a);
			usage(stderr);
			return 2;
		} else {
			nfiles++;
		}
	}

	corpora = calloc((size_t)(nfiles ? nfiles : 2), sizeof(*corpora));
	results = calloc((size_t)(nfiles ? nfiles : 2) * NSTAGES, sizeof(*results));
	rec = malloc(sizeof(*rec));
	out = malloc(EMIT_CAP);
	if (!corpora || !results || !rec || !out) {
		fputs("bench_parse: out of memory\n", stderr);
		return 1;
	}
	fmt_record_clear(rec);

	if (nfiles) {
		for (int i = 1; i < argc; i++) {
			if (strcmp(argv[i], "--size") == 0 || strcmp(argv[i], "--repeat") == 0 ||
			    strcmp(argv[i], "--seed") == 0) {
				i++;
				continue;
			}
			if (load(&corpora[ncorpora], argv[i]) < 0)
				return 1;
			ncorpora++;
		}
	} else {
		size_t bytes = (size_t)size_mb * 1000000;

		if (generate(&corpora[0], CORPUS_PIPE, "pipe", seed, bytes) < 0 ||
		    generate(&corpora[1], CORPUS_JSON, "json", seed, bytes) < 0) {
			fputs("bench_parse: out of memory\n", stderr);
			return 1;
		}
		ncorpora = 2;
	}

	for (size_t i = 0; i < ncorpora; i++) {
		const struct corpus *c = &corpora[i];
		size_t lines = 0;

		for (const char *q = c->data; (q = memchr(q, '\n', (size_t)(c->data + c->len - q))) != NULL;
		     q++)
			lines++;
		printf("corpus %-12s %8.1f MB %10zu lines, %6.1f bytes/line, parsed as %s", c->name,
		       (double)c->len / 1e6, lines, lines ? (double)c->len / (double)lines : 0.0,
		       format_name(c->format));
		if (c->generated)
			printf(" (generated, seed %llu)", seed);
		putchar('\n');
	}
	printf("best of %llu runs per stage (round-robin), one thread; MB = 10^6 bytes; x floor = time / floor "
	       "time\n\n",
	       repeat);
	/*
	 * Runs go round-robin over corpora and stages, so that a burst of load
	 * from other processes spoils one run of several stages rather than
	 * every run of one stage.
	 */
	for (size_t i = 0; i < ncorpora * NSTAGES; i++)
		results[i].wall_s = results[i].cpu_s = 1e300;
	for (unsigned long long r = 0; r < repeat; r++)
		for (size_t i = 0; i < ncorpora; i++)
			for (int st = 0; st < NSTAGES; st++)
				if (stage_applies(&corpora[i], (enum stage)st))
					time_stage(&corpora[i], (enum stage)st, rec, out,
						   &results[i * NSTAGES + (size_t)st]);
	print_header();
	for (size_t i = 0; i < ncorpora; i++) {
		uint64_t e = report(&corpora[i], &results[i * NSTAGES]);

		if (corpora[i].generated)
			gen_errors += e;
	}

	if (!nfiles)
		gen_errors += bench_regex((size_t)size_mb * 1000000 / 4, repeat, seed, rec);

	for (size_t i = 0; i < ncorpora; i++)
		free(corpora[i].data);
	free(corpora);
	free(results);
	free(rec);
	free(out);
	if (gen_errors) {
		fprintf(stderr, "bench_parse: %llu parse/emit errors on a generated corpus\n",
			(unsigned long long)gen_errors);
		return 1;
	}
	return 0;
}
