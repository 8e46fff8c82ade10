/*
 * fmtconv.c - convert log lines between the pipe and JSON formats.
 *
 * Reads lines (pipe, JSON, or a mix: detected per line), joins
 * continuation lines to the record above them, and writes each record in
 * the format asked for. A line that starts no record and follows none is
 * not dropped: it is written as a record whose message is the line, with
 * the attribute parse_error saying why. Counts go to stderr at the end.
 *
 * It is the formats library end to end, and what the demo runs until the
 * collector exists.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/detect.h"
#include "fmt/json.h"
#include "fmt/pipe.h"
#include "fmt/str.h"

struct counts {
	unsigned long records, pipe, json, joined, unparsed;
};

struct conv {
	enum fmt_format to;    /* output format */
	char *pending;	       /* the record being assembled (first line + continuations) */
	size_t pending_len;    /* bytes used in pending */
	size_t pending_cap;    /* bytes allocated for pending */
	char *out;	       /* output line buffer */
	size_t out_cap;	       /* bytes allocated for out */
	struct fmt_record rec; /* reused for every record */
	struct counts n;       /* what was seen */
};

static void usage(FILE *f)
{
	fputs("Usage: fmtconv [--to pipe|json] [FILE...]\n"
	      "Convert log lines between clew's pipe and JSON line formats.\n\n"
	      "  -t, --to FORMAT   output format: json (default) or pipe\n"
	      "  -h, --help        show this help\n\n"
	      "Reads FILEs (or stdin when none, or '-'), detects the format of every line,\n"
	      "joins continuation lines (stack traces) to their record, and writes one record\n"
	      "per line. Lines that are no record are kept, with parse_error set.\n"
	      "Exit status: 0 all lines parsed, 1 some were kept unparsed, 2 error.\n",
	      f);
}

static void grow(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	*cap = need * 2;
	*buf = realloc(*buf, *cap);
	if (!*buf) {
		perror("fmtconv");
		exit(2);
	}
}

static void write_record(struct conv *c, const struct fmt_record *r)
{
	size_t len;
	int rc;

	for (;;) {
		rc = c->to == FMT_PIPE ? fmt_pipe_emit(r, c->out, c->out_cap, &len)
				       : fmt_json_emit(r, FMT_JSON_IDS, c->out, c->out_cap, &len);
		if (rc != -FMT_ETRUNC)
			break;
		grow(&c->out, &c->out_cap, c->out_cap * 2 + 4096);
	}
	if (rc < 0) {
		fprintf(stderr, "fmtconv: cannot write a record: %s\n", fmt_strerror(rc));
		exit(2);
	}
	fwrite(c->out, 1, len, stdout);
	putchar('\n');
}

/* Writes the assembled record, if any. */
static void flush_pending(struct conv *c)
{
	struct fmt_err err = {0};
	struct fmt_record *r = &c->rec;

	if (c->pending_len == 0)
		return;
	if (fmt_parse(c->pending, c->pending_len, r, &err) == 0) {
		c->n.records++;
		if (r->format == FMT_PIPE)
			c->n.pipe++;
		else
			c->n.json++;
	} else {
		/* kept, not dropped: the whole text as the message, and why */
		fmt_record_clear(r);
		r->message = fmt_str_n(c->pending, c->pending_len);
		r->attrs[0] = (struct fmt_attr){.key = fmt_str_c("parse_error"), .val = fmt_str_c(err.what)};
		r->nattrs = 1;
		c->n.unparsed++;
	}
	write_record(c, r);
	c->pending_len = 0;
}

static void add_line(struct conv *c, const char *line, size_t len)
{
	bool starts = fmt_detect(line, len) != FMT_UNKNOWN;

	if (starts)
		flush_pending(c);
	grow(&c->pending, &c->pending_cap, c->pending_len + len + 1);
	if (c->pending_len) {
		c->pending[c->pending_len++] = '\n';
		c->n.joined++;
	}
	memcpy(c->pending + c->pending_len, line, len);
	c->pending_len += len;
}

static int convert(struct conv *c, FILE *in)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, in)) > 0) {
		if (line[n - 1] == '\n')
			n--;
		add_line(c, line, (size_t)n);
	}
	free(line);
	return ferror(in) ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"to", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct conv c = {.to = FMT_JSON};
	int opt;

	while ((opt = getopt_long(argc, argv, "t:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 't':
			if (strcmp(optarg, "pipe") == 0) {
				c.to = FMT_PIPE;
			} else if (strcmp(optarg, "json") == 0) {
				c.to = FMT_JSON;
			} else {
				fprintf(stderr, "fmtconv: unknown format '%s' (use pipe or json)\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	grow(&c.out, &c.out_cap, 64 * 1024);
	for (int i = optind; i < argc || i == optind; i++) {
		const char *name = i < argc ? argv[i] : "-";
		FILE *in = strcmp(name, "-") == 0 ? stdin : fopen(name, "r");
		if (!in) {
			fprintf(stderr, "fmtconv: %s: %s\n", name, strerror(errno));
			return 2;
		}
		if (convert(&c, in) < 0) {
			fprintf(stderr, "fmtconv: %s: read error\n", name);
			return 2;
		}
		flush_pending(&c); /* a record never spans two files */
		if (in != stdin)
			fclose(in);
	}
	fprintf(stderr,
		"fmtconv: %lu records (%lu pipe, %lu json), %lu continuation lines joined, %lu unparsed\n",
		c.n.records, c.n.pipe, c.n.json, c.n.joined, c.n.unparsed);
	free(c.pending);
	free(c.out);
	return c.n.unparsed ? 1 : 0;
}
