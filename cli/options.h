/*
 * options.h - tracegrep's command line: the option table and what parsing it yields.
 *
 * One table (tg_option_table) drives getopt_long, the short-option string
 * and --help, so the parser and the help cannot drift apart; a test checks
 * tracegrep.1 against the same table.
 */
#ifndef TG_OPTIONS_H
#define TG_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "query/filter.h"
#include "query/select.h"
#include "query/summary.h"
#include "lineparse.h"
#include "tg.h"

/* Where clewd keeps its archive by default (clewd.conf [output.archive] dir). */
#define TG_ARCHIVE_DEFAULT "/var/lib/clew/archive"

/* One row of the option table: an option, or a note that only the help shows. */
struct tg_option {
	const char *section; /* the help's heading it is listed under */
	const char *name;    /* long name without "--"; NULL for a note */
	int key;	     /* getopt_long's value: the short option's letter, or a TG_OPT_* > 255 */
	const char *arg;     /* its argument as the help shows it after the name ("=WHEN", " DIR"), or NULL */
	const char *label;   /* a note's text in the option column ("(default)") */
	const char *help;    /* lines separated by '\n'; NULL: an alias the help leaves out */
	enum tg_mode mode;   /* the output mode it chooses (TG_MODE_TERM: none) */
};

extern const struct tg_option tg_option_table[];
extern const size_t tg_option_count;

/* Everything the command line says, checked. */
struct tg_options {
	enum tg_mode mode;	 /* output mode */
	const char *html;	 /* --html FILE ("-": standard output), or NULL */
	int color;		 /* --color: -1 auto, 0 never, 1 always */
	bool skew;		 /* adjust clock skew (not --no-skew-adjust) */
	bool quiet;		 /* -q */
	unsigned threads;	 /* -j, default: online CPUs */
	int width;		 /* -w, 0: the terminal's */
	const char *archive;	 /* --archive, $CLEW_ARCHIVE or the default when no PATH; or NULL */
	int64_t since, until;	 /* --since/--until in ns (INT64_MIN / INT64_MAX: no bound) */
	bool stats;		 /* --stats */
	const char *kafka;	 /* --kafka BROKERS, or NULL */
	const char *topic;	 /* --topic, or NULL */
	char **kprops;		 /* --kafka-property values (malloc'd array of pointers into argv) */
	size_t nkprops;		 /* entries in kprops */
	struct tg_query query;	 /* the ID, parsed (not with --find) */
	bool find;		 /* --find: search transactions by filters, no ID */
	struct qy_filter filter; /* --find's conditions (--since/--until included) */
	struct qy_keys keys;	 /* --summary-key values, else the defaults; the filter's attr keys added */
	bool keys_given;	 /* --summary-key was given (the defaults are not used) */
	enum qy_sort sort;	 /* --sort */
	size_t limit;		 /* --limit (0: all), default 20 */
	bool open;		 /* --open: show the first match as the output mode says */
	struct tg_lp_options lp; /* -p, --time-format, --multiline-start, -c */
	char *const *paths;	 /* the PATHs (into argv) */
	size_t npaths;		 /* entries in paths */
};

/* What tg_options_parse() returns besides an error. */
enum { TG_OPTIONS_RUN = 0, TG_OPTIONS_DONE = 1 };

/*
 * tg_options_parse() - parse @argv into @o (zeroed here first). --help and
 * --version print to @out and return TG_OPTIONS_DONE. Reads $CLEW_ARCHIVE.
 * Return: TG_OPTIONS_RUN, TG_OPTIONS_DONE, or -TG_EINVAL on bad usage,
 * with @err's message set, or empty when getopt_long has already said
 * what is wrong on stderr. @o is to be released in every case.
 */
int tg_options_parse(struct tg_options *o, int argc, char **argv, FILE *out, struct tg_err *err);
void tg_options_release(struct tg_options *o);

/* tg_options_help() - write --help's text (made from tg_option_table) to @f. */
void tg_options_help(FILE *f);

#endif
