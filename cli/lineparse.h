/*
 * lineparse.h - the layouts tracegrep reads beyond pipe and JSON: clewd's
 * parser options (-p NAME, regex:PATTERN, --time-format,
 * --multiline-start), a clewd.yaml's named parsers (-c FILE), the
 * built-in named parsers, and the container envelopes (cri, docker).
 *
 * Set up once from the options, before the search; then read by every
 * search thread and renderer (a regex match is serialized: a compiled
 * parser has one match block). Without any of these options the line
 * parser is "plain": pipe and JSON, the prefilter's fast path, with the
 * envelopes still detected per region (a file of CRI or json-file lines).
 */
#ifndef TG_LINEPARSE_H
#define TG_LINEPARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "fmt/record.h"

struct tg_err;

/* What the command line says about parsing; NULL: not given. */
struct tg_lp_options {
	const char *parser;	 /* -p: [cri+|docker+]auto|pipe|json|regex:PATTERN|NAME */
	const char *time_format; /* --time-format, with -p regex: */
	const char *ml_start;	 /* --multiline-start REGEX */
	const char *config;	 /* -c: a clewd.yaml whose parsers: (and parser:) are read */
};

/*
 * tg_lp_setup() - make @o the line parser of this run (compiles regexes,
 * reads the config file's parsers). Return: 0, or -TG_EINVAL / -TG_EIO
 * with @err saying what is wrong.
 */
int tg_lp_setup(const struct tg_lp_options *o, struct tg_err *err);

/* tg_lp_release() - free what tg_lp_setup() made (the plain parser again). */
void tg_lp_release(void);

/* tg_lp_plain() - whether lines are read as pipe and JSON only, with no envelope given. */
bool tg_lp_plain(void);

/*
 * tg_lp_envelope() - the envelope (enum parse_env) of a file whose line
 * s[0..n) is given: -p's, or the one parse_env_detect() sees in it.
 */
unsigned tg_lp_envelope(const char *s, size_t n);

/*
 * tg_lp_parse() - parse one record's text (envelope removed) with the
 * parser; a text the parser does not take is tried as pipe or JSON, so a
 * service's clew logs read beside an access log. Return: 0 or < 0.
 */
int tg_lp_parse(const char *s, size_t n, struct fmt_record *rec);

/* tg_lp_starts() - whether the line s[0..n) (envelope removed) starts a record. */
bool tg_lp_starts(const char *s, size_t n);

#endif
