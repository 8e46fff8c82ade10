/*
 * gen_corpus.c - write a deterministic synthetic log corpus to stdout.
 *
 * DESIGN: a thin command line around corpus.c, which holds the generator
 * shared with bench_parse; the same --format, --lines and --seed always
 * give the same bytes. Output goes out in 1 MiB writes, so a corpus of any
 * size takes little memory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

#define FLUSH_AT (1u << 20)

static void usage(FILE *f)
{
	fputs("usage: gen_corpus --format pipe|json|mixed --lines N [--seed S] [--start-us T] > FILE\n"
	      "\n"
	      "Write N synthetic log records, one a line, to standard output. The output\n"
	      "depends only on the arguments: the same format, count and seed always give\n"
	      "the same bytes (a fixed splitmix64 generator, no libc randomness).\n"
	      "\n"
	      "  --format pipe   pipe lines, ~175 bytes on average:\n"
	      "                  TIMESTAMP LEVEL TRACE:SPAN[:SPAN..]|service|METHOD|/path|status=..|dur_us=..|..|msg=..\n"
	      "  --format json   JSON lines with pyms field names, ~360 bytes on average:\n"
	      "                  timestamp, severity, service, name, module, funcName, lineno,\n"
	      "                  message, trace, span, parent, method, path, status, + extras\n"
	      "  --format mixed  both, interleaved at random; ~1% of the records are pipe ERROR\n"
	      "                  lines followed by a multi-line Java stack trace (continuation\n"
	      "                  lines, which hold no '|')\n"
	      "\n"
	      "In every format about 5% of the records are spans (event=span, name, dur_us,\n"
	      "status), 3% metrics (event=metric, metric, type, value, tags), 3% of the\n"
	      "messages need escaping (| \\ newline tab quote) and 3% hold non-ASCII UTF-8.\n"
	      "A record is one line, except the stack traces of --format mixed.\n"
	      "\n"
	      "  --lines N       number of records to write (required)\n"
	      "  --seed S        generator seed, a non-negative integer (default 1)\n"
	      "  --start-us T    time of the first record, microseconds since the epoch\n"
	      "                  (default 2026-11-23T07:00:00Z); records are ~1 ms apart\n"
	      "  -h, --help      show this text\n",
	      f);
}

static int parse_u64(const char *s, unsigned long long *out)
{
	char *end;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || *end ? -1 : 0;
}

int main(int argc, char **argv)
{
	enum corpus_format format = CORPUS_PIPE;
	unsigned long long lines = 0, seed = 1, start_us = 0;
	struct corpus_buf b = {0};
	struct corpus_gen *g;
	int have_format = 0, have_lines = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--format") == 0 && v) {
			if (corpus_format_from_name(v, &format) < 0) {
				fprintf(stderr, "gen_corpus: unknown format '%s' (pipe, json or mixed)\n", v);
				return 2;
			}
			have_format = 1;
			i++;
		} else if (strcmp(a, "--lines") == 0 && v) {
			if (parse_u64(v, &lines) < 0) {
				fprintf(stderr, "gen_corpus: bad --lines '%s'\n", v);
				return 2;
			}
			have_lines = 1;
			i++;
		} else if (strcmp(a, "--seed") == 0 && v) {
			if (parse_u64(v, &seed) < 0) {
				fprintf(stderr, "gen_corpus: bad --seed '%s'\n", v);
				return 2;
			}
			i++;
		} else if (strcmp(a, "--start-us") == 0 && v) {
			if (parse_u64(v, &start_us) < 0 || start_us > (unsigned long long)INT64_MAX / 2) {
				fprintf(stderr, "gen_corpus: bad --start-us '%s'\n", v);
				return 2;
			}
			i++;
		} else {
			fprintf(stderr, "gen_corpus: unexpected argument '%s'\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (!have_format || !have_lines) {
		fputs("gen_corpus: --format and --lines are required\n", stderr);
		usage(stderr);
		return 2;
	}

	g = malloc(sizeof(*g));
	if (!g) {
		fputs("gen_corpus: out of memory\n", stderr);
		return 1;
	}
	corpus_gen_init(g, format, seed);
	if (start_us)
		g->ts_us =
			(int64_t)start_us; /* a corpus that ends now, for --since (bench_find_archive.sh) */
	for (unsigned long long n = 0; n < lines; n++) {
		if (corpus_gen_record(g, &b) < 0) {
			fputs("gen_corpus: out of memory\n", stderr);
			return 1;
		}
		if (b.len >= FLUSH_AT || n + 1 == lines) {
			if (fwrite(b.data, 1, b.len, stdout) != b.len) {
				fprintf(stderr, "gen_corpus: write failed: %s\n", strerror(errno));
				return 1;
			}
			b.len = 0;
		}
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "gen_corpus: write failed: %s\n", strerror(errno));
		return 1;
	}
	corpus_buf_free(&b);
	free(g);
	return 0;
}
