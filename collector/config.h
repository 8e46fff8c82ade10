/*
 * config.h - clewd's configuration: what the YAML file, the environment
 * and the command line say, merged in that order (later wins).
 *
 * A struct cd_config is filled by cd_config_init() (the defaults), then
 * cd_config_load_file(), cd_config_env() and the cd_config_add_*_spec()
 * of the command line, then checked and completed by cd_config_finish().
 * Every string in it is owned by it (freed by cd_config_release()).
 * config.c owns the struct, config_yaml.c the file, config_spec.c the
 * command line's specs. An input's or an output's plugin is its
 * descriptor (registry.h), and its plugin's keys are a generic option
 * list (struct cd_opts, options.h) the plugin reads itself.
 * Errors name the file and the line (libyaml's marks are 0-based; we
 * print 1-based lines and columns).
 */
#ifndef CD_CONFIG_H
#define CD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "cd_limits.h"
#include "registry.h"
#include <store/err.h>

/* Parsers: the built-in ones, or a named regex parser (struct cd_parser_conf). */
enum cd_parser { CD_PARSER_AUTO = 0, CD_PARSER_PIPE, CD_PARSER_JSON, CD_PARSER_REGEX };

/*
 * A regex parser (<parsers/regex.h>): parsers: in the file, or the one named
 * "regex" that -p regex:PATTERN [--time-format FMT] defines.
 */
struct cd_parser_conf {
	char *name;	    /* owned; what parser: names */
	char *regex;	    /* PCRE2 pattern with named groups (owned) */
	char *time_format;  /* owned; NULL: rfc3339 */
	unsigned line, col; /* of the regex in the file (0: command line) */
};

/* Line formats: JSON (formats/json.md), pipe, or Logstash events (@timestamp, @version, host). */
enum cd_out_format { CD_OUTFMT_JSON = 0, CD_OUTFMT_PIPE, CD_OUTFMT_LOGSTASH };

/*
 * An input: its plugin, its plugin's keys as options (path, listen,
 * read_from, max_connections, ...: what its option table says, read by
 * the plugin with the options.h getters), and the keys every input takes.
 * The network inputs listen on a util/net.h address (HOST:PORT,
 * [V6]:PORT, unix:PATH); their descriptor's check() writes it there
 * normalized (a host left out is 127.0.0.1).
 */
struct cd_input_conf {
	const struct cd_plugin_desc *plugin; /* which input plugin */
	struct cd_opts opts;		     /* its plugin's keys */
	unsigned line;			     /* config line that declared it (0: command line) */
	char *parser_name; /* owned: its parser: (auto|pipe|json|NAME); NULL: the global one */
	char *ml_start;	   /* owned: multiline_start, a line matching it starts a record */
	unsigned ml_line;  /* config line of ml_start (0: command line) */
	unsigned ml_col;   /* and its column */
};

/*
 * An output: its plugin, its name, and its plugin's keys as options: the
 * YAML keys of the output, or the parts of its -o spec: a network
 * output's URI (-o kafka://HOST:PORT/TOPIC?K=V, CD_PLUGIN_URI_OPTS), a
 * local one's NAME[:PATH][:FORMAT] (archive:DIR, file:PATH:pipe,
 * stdout:json). The plugin reads them (options.h getters).
 */
struct cd_output_conf {
	const struct cd_plugin_desc *plugin; /* which output plugin */
	char *name;			     /* label in metrics and logs, default TYPE#N (owned) */
	struct cd_opts opts;		     /* its plugin's keys */
	unsigned line;			     /* config line that declared it (0: command line) */
};

struct cd_config {
	char *file;				   /* the config file read (owned), NULL for none */
	char *state_dir;			   /* checkpoint and default archive live here (owned) */
	char *checkpoint;			   /* checkpoint file; default STATE_DIR/checkpoint */
	char *spool_dir;			   /* outputs' spools; default STATE_DIR/spool; NULL: none */
	uint64_t spool_bytes;			   /* limit of one output's spool */
	enum cd_parser parser;			   /* auto | pipe | json | regex (then parser_name) */
	uint8_t envelope;			   /* enum parse_env of parser: cri[+P] / docker[+P] */
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
	char *deadletter_dir;			   /* dead-letter files: STATE_DIR/deadletter; NULL: none */
	uint64_t deadletter_bytes;		   /* deadletter_max: one output's dead-letter cap */
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
 * cd_config_set_parser() - [cri+|docker+]: a container envelope (then
 * "cri" alone is "cri+auto"), then "auto|pipe|json", "regex:PATTERN" (as
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

/*
 * cd_config_input_envelope() - the container envelope (enum parse_env) of
 * input @idx: the cri or docker of its parser: (cri, cri+json, docker+NAME),
 * or the global one when it has none.
 */
unsigned cd_config_input_envelope(const struct cd_config *c, unsigned idx);

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
