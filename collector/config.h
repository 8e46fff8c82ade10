/*
 * config.h - clewd's configuration: what the YAML file, the environment
 * and the command line say, merged in that order (later wins).
 *
 * A struct cd_config is filled by cd_config_init() (the defaults), then
 * cd_config_load_file(), cd_config_env() and the cd_config_add_*_spec()
 * of the command line, then checked and completed by cd_config_finish().
 * Every string in it is owned by it (freed by cd_config_release()).
 * config.c owns the struct, config_yaml.c the file, config_spec.c the
 * command line's specs, options.c the plugins' options.
 * Errors name the file and the line (libyaml's marks are 0-based; we
 * print 1-based lines and columns).
 */
#ifndef CD_CONFIG_H
#define CD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "cd_limits.h"
#include "options.h"
#include <store/err.h>

/* Parsers: the built-in ones, or a named regex parser (struct cd_parser_conf). */
enum cd_parser { CD_PARSER_AUTO = 0, CD_PARSER_PIPE, CD_PARSER_JSON, CD_PARSER_REGEX };

/*
 * A regex parser (parse/regex.h): parsers: in the file, or the one named
 * "regex" that -p regex:PATTERN [--time-format FMT] defines.
 */
struct cd_parser_conf {
	char *name;	    /* owned; what parser: names */
	char *regex;	    /* PCRE2 pattern with named groups (owned) */
	char *time_format;  /* owned; NULL: rfc3339 */
	unsigned line, col; /* of the regex in the file (0: command line) */
};

/*
 * Input types: the id of each input plugin (its descriptor, registry.h,
 * says the rest). The network inputs listen on a util/net.h address
 * (HOST:PORT, [V6]:PORT, unix:PATH); a host left out is 127.0.0.1.
 */
enum cd_in_type {
	CD_IN_STDIN = 0,
	CD_IN_TAIL,
	CD_IN_TCP,	/* tcp://HOST:PORT: newline-delimited lines, a source per connection */
	CD_IN_UDP,	/* udp://HOST:PORT: each datagram one or more lines */
	CD_IN_UNIX,	/* unix:///PATH: as tcp, on a unix stream socket */
	CD_IN_UNIXGRAM, /* unixgram:///PATH: as udp, on a unix datagram socket */
	CD_IN_HTTP,	/* http://HOST:PORT/PATH: POSTed bodies of lines (ndjson) */
	CD_IN_TYPES	/* count */
};

/* cd_in_type_name() - "stdin", "tail", "tcp", ...: its plugin's name (registry.c). */
const char *cd_in_type_name(enum cd_in_type t);
/*
 * Output types: the id of each output plugin (registry.h). The network
 * outputs take their settings as key/value options (struct cd_opt,
 * options.h): the YAML keys of the output, or the parts and query
 * parameters of its URI (-o kafka://HOST:PORT/TOPIC?K=V).
 */
enum cd_out_type {
	CD_OUT_ARCHIVE = 0,
	CD_OUT_STDOUT,
	CD_OUT_FILE,
	CD_OUT_KAFKA,	       /* kafka://HOST:PORT/TOPIC */
	CD_OUT_LOGSTASH_TCP,   /* logstash+tcp://HOST:PORT */
	CD_OUT_LOGSTASH_UDP,   /* logstash+udp://HOST:PORT */
	CD_OUT_LOGSTASH_HTTP,  /* logstash+http://HOST:PORT/PATH */
	CD_OUT_LOGSTASH_REDIS, /* logstash+redis://HOST:PORT/KEY */
	CD_OUT_INFLUXDB,       /* influxdb://HOST:PORT/DB (v1) */
	CD_OUT_INFLUXDB2,      /* influxdb2://HOST:PORT/BUCKET?org=O&token=T */
	CD_OUT_NULL,	       /* null: acknowledges and drops (benchmarks) */
	CD_OUT_TYPES	       /* count */
};

/* cd_out_type_name() - "archive", "kafka", "logstash+tcp", ...: its plugin's name (registry.c). */
const char *cd_out_type_name(enum cd_out_type t);
/* Line formats: JSON (formats/json.md), pipe, or Logstash events (@timestamp, @version, host). */
enum cd_out_format { CD_OUTFMT_JSON = 0, CD_OUTFMT_PIPE, CD_OUTFMT_LOGSTASH };

struct cd_input_conf {
	enum cd_in_type type;	  /* which input plugin */
	char *path;		  /* tail: a file path or glob; http: the URL path served (owned) */
	bool from_tail;		  /* tail: files without a checkpoint start at their end */
	bool follow_symlinks;	  /* tail: open files the glob matches through a symlink */
	unsigned line;		  /* config line that declared it (0: command line) */
	char *listen;		  /* network inputs: the address bound, util/net.h syntax (owned) */
	unsigned max_connections; /* tcp, unix, http: open connections at most */
	char *parser_name;	  /* owned: its parser: (auto|pipe|json|NAME); NULL: the global one */
	char *ml_start;		  /* owned: multiline_start, a line matching it starts a record */
	unsigned ml_line;	  /* config line of ml_start (0: command line) */
	unsigned ml_col;	  /* and its column */
};

struct cd_output_conf {
	enum cd_out_type type;			/* which output plugin */
	char *name;				/* label in metrics and logs, default TYPE#N (owned) */
	char *path;				/* archive: directory; file: path (owned); NULL for stdout */
	enum cd_out_format format;		/* stdout/file: line format */
	uint64_t max_bytes;			/* archive retention by size; 0 = none */
	uint64_t max_age_ms;			/* archive retention by age; 0 = none */
	uint64_t segment_bytes;			/* archive segment size; 0 = CD_SEGMENT_BYTES */
	struct cd_opt opts[CD_OUTPUT_OPTS_MAX]; /* network outputs' settings */
	unsigned nopts;				/* used entries of opts[] */
	unsigned line;				/* config line that declared it (0: command line) */
};

struct cd_config {
	char *file;				   /* the config file read (owned), NULL for none */
	char *state_dir;			   /* checkpoint and default archive live here (owned) */
	char *checkpoint;			   /* checkpoint file; default STATE_DIR/checkpoint */
	char *spool_dir;			   /* outputs' spools; default STATE_DIR/spool; NULL: none */
	uint64_t spool_bytes;			   /* limit of one output's spool */
	enum cd_parser parser;			   /* auto | pipe | json | regex (then parser_name) */
	char *parser_name;			   /* owned: the regex parser that parser: names */
	unsigned parser_line;			   /* config line of parser: (0: elsewhere) */
	struct cd_parser_conf rx[CD_PARSERS_MAX];  /* regex parsers (parsers:, -p regex:) */
	unsigned nrx;				   /* used entries of rx[] */
	bool multiline;				   /* join continuation lines (default on) */
	uint64_t multiline_ms;			   /* flush a held record after this (default 1000) */
	uint64_t chunk_age_ms;			   /* seal a chunk this old (default CD_CHUNK_AGE_MS) */
	uint64_t drain_ms;			   /* SIGTERM: deliver what was read within this */
	uint64_t rotate_wait_ms;		   /* keep reading a rotated file this long after EOF */
	uint64_t poll_ms;			   /* tail: rescan globs and files this often */
	int log_level;				   /* enum fmt_level: lowest level of our own log */
	char *http_listen;			   /* /health and /metrics address; NULL: off */
	struct cd_input_conf in[CD_INPUTS_MAX];	   /* inputs, in order */
	unsigned nin;				   /* used entries of in[] */
	struct cd_output_conf out[CD_OUTPUTS_MAX]; /* outputs, in order */
	unsigned nout;				   /* used entries of out[] */
};

/* cd_config_init() - the defaults; cd_config_release() frees every string. */
void cd_config_init(struct cd_config *c);
void cd_config_release(struct cd_config *c);

/*
 * cd_config_load_file() - read the YAML file @path into @c (its inputs and
 * outputs replace any already there). Unknown keys are errors.
 * Return: 0, or -CD_EINVAL / -CD_EIO / -CD_ENOMEM with @err as
 * "PATH:LINE:COL: what".
 */
int cd_config_load_file(struct cd_config *c, const char *path, struct cd_err *err);

/*
 * cd_config_env() - apply CLEWD_STATE_DIR, CLEWD_CHECKPOINT, CLEWD_PARSER,
 * CLEWD_LOG_LEVEL, CLEWD_MULTILINE, CLEWD_MULTILINE_TIMEOUT,
 * CLEWD_CHUNK_AGE, CLEWD_DRAIN_TIMEOUT. Return: 0 or -CD_EINVAL.
 */
int cd_config_env(struct cd_config *c, struct cd_err *err);

/*
 * cd_config_add_input_spec() - "stdin", "tail:GLOB", "tcp://HOST:PORT",
 * "udp://HOST:PORT", "unix:///PATH" (or "unix:PATH"), "unixgram:///PATH",
 * "http://HOST:PORT[/PATH]"; a network spec may end in
 * "?max_connections=N" (command line -i).
 * cd_config_add_output_spec() - "archive:DIR", "stdout[:json|pipe]",
 * "file:PATH[:json|pipe]", or a network output's URI (-o).
 * cd_config_set_parser() - "auto|pipe|json", "regex:PATTERN" (as
 * cd_config_set_regex() without a time format) or the NAME of a parser
 * (checked by cd_config_finish(): parsers may come later in the file).
 * Return: 0, -CD_EINVAL, -CD_ELIMIT, -CD_ENOMEM.
 */
int cd_config_add_input_spec(struct cd_config *c, const char *spec, struct cd_err *err);
int cd_config_add_output_spec(struct cd_config *c, const char *spec, struct cd_err *err);
int cd_config_set_parser(struct cd_config *c, const char *name, struct cd_err *err);

/*
 * cd_config_set_regex() - define (or replace) the parser named "regex"
 * with @pattern and @time_format (NULL: rfc3339) and make it the global
 * parser: -p regex:PATTERN --time-format FMT. Checked by cd_config_finish().
 * Return: 0, -CD_ELIMIT, -CD_ENOMEM.
 */
int cd_config_set_regex(struct cd_config *c, const char *pattern, const char *time_format,
			struct cd_err *err);

/*
 * cd_config_set_multiline_start() - every input's multiline_start becomes
 * @regex (--multiline-start). Return: 0 or -CD_ENOMEM.
 */
int cd_config_set_multiline_start(struct cd_config *c, const char *regex, struct cd_err *err);

/*
 * cd_config_input_parser() - the parser of input @idx: its own parser: or
 * the global one; *@rx is the regex parser's entry when *@p is
 * CD_PARSER_REGEX, else NULL. Return: 0, or -CD_ENOENT for a name that
 * no parser has (cd_config_finish() reports those).
 */
int cd_config_input_parser(const struct cd_config *c, unsigned idx, enum cd_parser *p,
			   const struct cd_parser_conf **rx);

/* cd_config_parser_name() - "auto", "pipe", "json", or @rx's name for CD_PARSER_REGEX. */
const char *cd_config_parser_name(enum cd_parser p, const struct cd_parser_conf *rx);

/* cd_config_clear_inputs()/_outputs() - drop the file's lists (the command line replaces them). */
void cd_config_clear_inputs(struct cd_config *c);
void cd_config_clear_outputs(struct cd_config *c);

/*
 * cd_config_finish() - check @c and fill what depends on other settings:
 * no outputs = one archive at STATE_DIR/archive; the checkpoint path;
 * each input's parser (its own parser: or the global one) resolved; every
 * regex compiled once to check it (errors give the config line and
 * PCRE2's message and offset).
 * Return: 0 or -CD_EINVAL (no input, ...), -CD_ENOMEM.
 */
int cd_config_finish(struct cd_config *c, struct cd_err *err);

/* cd_config_needs_state() - whether the state directory is used: any input but stdin (positions, spool). */
bool cd_config_needs_state(const struct cd_config *c);

#endif
