/*
 * config.c - the configuration's struct: its defaults, the environment,
 * the parsers' settings, and cd_config_finish()'s checks and completion
 * (see config.h). The YAML file is read by config_yaml.c, the -i/-o
 * specs by config_spec.c, the plugins' options by options.c.
 *
 * DESIGN: values are checked once, where they enter (the loaders) or
 * here when they depend on each other; the stages trust the struct.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_impl.h"
#include "fmt/record.h"
#include <parsers/builtin.h>
#include <parsers/envelope.h>
#include <parsers/regex.h>
#include "util/util.h"
#include "util/banned.h"

void cd_config_init(struct cd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->parser = CD_PARSER_AUTO;
	c->multiline = true;
	c->multiline_ms = 1000;
	c->chunk_age_ms = CD_CHUNK_AGE_MS;
	c->drain_ms = 5000;
	c->rotate_wait_ms = 2000;
	c->poll_ms = 1000;
	c->log_level = FMT_LEVEL_INFO;
	c->spool_bytes = CD_SPOOL_BYTES_DEFAULT;
	c->deadletter_bytes = CD_DEADLETTER_BYTES_DEFAULT;
}

void cd_cfg_input_release(struct cd_input_conf *in)
{
	free(in->parser_name);
	free(in->ml_start);
	cd_opts_release(&in->opts);
	memset(in, 0, sizeof(*in));
}

void cd_config_clear_inputs(struct cd_config *c)
{
	for (unsigned i = 0; i < c->nin; i++)
		cd_cfg_input_release(&c->in[i]);
	c->nin = 0;
}

void cd_cfg_output_release(struct cd_output_conf *o)
{
	free(o->name);
	cd_opts_release(&o->opts);
	memset(o, 0, sizeof(*o));
}

void cd_config_clear_outputs(struct cd_config *c)
{
	for (unsigned i = 0; i < c->nout; i++)
		cd_cfg_output_release(&c->out[i]);
	c->nout = 0;
}

void cd_config_release(struct cd_config *c)
{
	cd_config_clear_inputs(c);
	cd_config_clear_outputs(c);
	for (unsigned i = 0; i < c->nrx; i++) {
		free(c->rx[i].name);
		free(c->rx[i].regex);
		free(c->rx[i].time_format);
	}
	free(c->parser_name);
	free(c->file);
	free(c->state_dir);
	free(c->checkpoint);
	free(c->spool_dir);
	free(c->deadletter_dir);
	free(c->http_listen);
	memset(c, 0, sizeof(*c));
}

/* Replace the owned string *@dst with a copy of @s. */
int cd_cfg_set_str(char **dst, const char *s, struct cd_err *err)
{
	char *n = cd_strdup(s);

	if (s && !n)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	free(*dst);
	*dst = n;
	return 0;
}

/* The built-in parser called @name; false for any other name. */
bool cd_cfg_builtin_parser(const char *name, enum cd_parser *p)
{
	if (strcmp(name, "auto") == 0)
		*p = CD_PARSER_AUTO;
	else if (strcmp(name, "pipe") == 0)
		*p = CD_PARSER_PIPE;
	else if (strcmp(name, "json") == 0)
		*p = CD_PARSER_JSON;
	else
		return false;
	return true;
}

/* A parser name: [A-Za-z0-9_.-]+, and not one of the built-in names. */
bool cd_cfg_valid_parser_name(const char *name)
{
	enum cd_parser p;

	if (!*name || cd_cfg_builtin_parser(name, &p) || parse_env_by_name(name, NULL) != PARSE_ENV_NONE)
		return false;
	for (const char *q = name; *q; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
		      *q == '_' || *q == '.' || *q == '-'))
			return false;
	return true;
}

int cd_cfg_find_parser(const struct cd_config *c, const char *name)
{
	for (unsigned i = 0; i < c->nrx; i++)
		if (strcmp(c->rx[i].name, name) == 0)
			return (int)i;
	return -1;
}

int cd_config_set_parser(struct cd_config *c, const char *name, struct cd_err *err)
{
	enum cd_parser p;
	const char *inner;
	enum parse_env env = parse_env_by_name(name, &inner);

	if (env != PARSE_ENV_NONE) {
		int rc = parse_env_by_name(inner, NULL) != PARSE_ENV_NONE
				 ? cd_err_set(err, -CD_EINVAL, 0, "parser '%s': one envelope only", name)
				 : cd_config_set_parser(c, *inner ? inner : "auto", err);

		c->envelope = (uint8_t)env;
		return rc;
	}
	c->envelope = PARSE_ENV_NONE;
	if (strncmp(name, "regex:", 6) == 0)
		return cd_config_set_regex(c, name + 6, NULL, err);
	if (cd_cfg_builtin_parser(name, &p)) {
		c->parser = p;
		free(c->parser_name);
		c->parser_name = NULL;
		return 0;
	}
	if (!cd_cfg_valid_parser_name(name))
		return cd_err_set(
			err, -CD_EINVAL, 0,
			"parser '%s': expected auto, pipe, json, regex:PATTERN, a parser's name, cri[+P] or docker[+P]",
			name);
	c->parser = CD_PARSER_REGEX;
	return cd_cfg_set_str(&c->parser_name, name, err);
}

int cd_config_set_regex(struct cd_config *c, const char *pattern, const char *time_format, struct cd_err *err)
{
	struct cd_parser_conf *pc;
	int i = cd_cfg_find_parser(c, "regex"), rc;

	if (i < 0) {
		if (c->nrx >= CD_PARSERS_MAX)
			return cd_err_set(err, -CD_ELIMIT, 0, "more than %u parsers", CD_PARSERS_MAX);
		i = (int)c->nrx;
		memset(&c->rx[i], 0, sizeof(c->rx[i]));
		if ((rc = cd_cfg_set_str(&c->rx[i].name, "regex", err)) < 0)
			return rc;
		c->nrx++;
	}
	pc = &c->rx[i];
	pc->line = pc->col = 0;
	if ((rc = cd_cfg_set_str(&pc->regex, pattern, err)) < 0 ||
	    (rc = cd_cfg_set_str(&pc->time_format, time_format, err)) < 0)
		return rc;
	c->parser = CD_PARSER_REGEX;
	c->parser_line = 0;
	return cd_cfg_set_str(&c->parser_name, "regex", err);
}

int cd_config_set_multiline_start(struct cd_config *c, const char *regex, struct cd_err *err)
{
	int rc;

	for (unsigned i = 0; i < c->nin; i++) {
		if ((rc = cd_cfg_set_str(&c->in[i].ml_start, regex, err)) < 0)
			return rc;
		c->in[i].ml_line = c->in[i].ml_col = 0;
	}
	return 0;
}

const char *cd_config_parser_name(enum cd_parser p, const struct cd_parser_conf *rx)
{
	static const char *const names[] = {"auto", "pipe", "json"};

	if (p == CD_PARSER_REGEX)
		return rx ? rx->name : "?";
	return (unsigned)p < 3 ? names[p] : "?";
}

int cd_config_input_parser(const struct cd_config *c, unsigned idx, enum cd_parser *p,
			   const struct cd_parser_conf **rx)
{
	const char *name = c->in[idx].parser_name, *inner;
	int k;

	*rx = NULL;
	if (name && parse_env_by_name(name, &inner) != PARSE_ENV_NONE)
		name = *inner ? inner : "auto"; /* cri+P: the inner text's parser P */
	if (name && cd_cfg_builtin_parser(name, p))
		return 0;
	if (!name && c->parser != CD_PARSER_REGEX) {
		*p = c->parser;
		return 0;
	}
	if (!name)
		name = c->parser_name;
	if (!name || (k = cd_cfg_find_parser(c, name)) < 0)
		return -CD_ENOENT;
	*p = CD_PARSER_REGEX;
	*rx = &c->rx[k];
	return 0;
}

unsigned cd_config_input_envelope(const struct cd_config *c, unsigned idx)
{
	const char *name = c->in[idx].parser_name;

	return name ? (unsigned)parse_env_by_name(name, NULL) : c->envelope;
}

/* A parser: names a built-in named parser (parsers/builtin.h) not defined under parsers: yet: define it. */
static int add_builtin(struct cd_config *c, const char *name, struct cd_err *err)
{
	const struct parse_builtin *b;
	struct cd_parser_conf *pc;
	int rc;

	if (name)
		parse_env_by_name(name, &name);
	if (!name || !*name || cd_cfg_find_parser(c, name) >= 0 || !(b = parse_builtin_find(name)))
		return 0;
	if (c->nrx >= CD_PARSERS_MAX)
		return cd_err_set(err, -CD_ELIMIT, 0, "more than %u parsers", CD_PARSERS_MAX);
	pc = &c->rx[c->nrx];
	memset(pc, 0, sizeof(*pc));
	if ((rc = cd_cfg_set_str(&pc->name, b->name, err)) < 0 ||
	    (rc = cd_cfg_set_str(&pc->regex, b->regex, err)) < 0 ||
	    (rc = cd_cfg_set_str(&pc->time_format, b->time_format, err)) < 0) {
		free(pc->name);
		free(pc->regex);
		free(pc->time_format);
		return rc;
	}
	c->nrx++;
	return 0;
}

static int add_builtins(struct cd_config *c, struct cd_err *err)
{
	int rc = c->parser == CD_PARSER_REGEX ? add_builtin(c, c->parser_name, err) : 0;

	for (unsigned i = 0; i < c->nin && rc == 0; i++)
		rc = add_builtin(c, c->in[i].parser_name, err);
	return rc;
}

int cd_cfg_parse_level(const char *s, int *out)
{
	enum fmt_level l = fmt_level_from_text(s, strlen(s));

	if (l == FMT_LEVEL_OTHER || l == FMT_LEVEL_NONE)
		return -CD_EINVAL;
	*out = (int)l;
	return 0;
}

struct cd_input_conf *cd_cfg_new_input(struct cd_config *c, struct cd_err *err)
{
	if (c->nin >= CD_INPUTS_MAX) {
		cd_err_set(err, -CD_ELIMIT, 0, "more than %u inputs", CD_INPUTS_MAX);
		return NULL;
	}
	memset(&c->in[c->nin], 0, sizeof(c->in[0]));
	return &c->in[c->nin++];
}

struct cd_output_conf *cd_cfg_new_output(struct cd_config *c, struct cd_err *err)
{
	if (c->nout >= CD_OUTPUTS_MAX) {
		cd_err_set(err, -CD_ELIMIT, 0, "more than %u outputs", CD_OUTPUTS_MAX);
		return NULL;
	}
	memset(&c->out[c->nout], 0, sizeof(c->out[0]));
	return &c->out[c->nout++];
}

int cd_config_env(struct cd_config *c, struct cd_err *err)
{
	const char *s;
	uint64_t *const durs[] = {&c->multiline_ms, &c->chunk_age_ms, &c->drain_ms};
	static const char *const dur_names[] = {"CLEWD_MULTILINE_TIMEOUT", "CLEWD_CHUNK_AGE",
						"CLEWD_DRAIN_TIMEOUT"};
	int rc;

	if ((s = getenv("CLEWD_STATE_DIR")) && *s && (rc = cd_cfg_set_str(&c->state_dir, s, err)) < 0)
		return rc;
	if ((s = getenv("CLEWD_CHECKPOINT")) && *s && (rc = cd_cfg_set_str(&c->checkpoint, s, err)) < 0)
		return rc;
	if ((s = getenv("CLEWD_SPOOL_MAX_BYTES")) && *s && cd_parse_size(s, &c->spool_bytes) < 0)
		return cd_err_set(err, -CD_EINVAL, 0,
				  "CLEWD_SPOOL_MAX_BYTES=%s: expected a size (0: no spool, 64M, 1G)", s);
	if ((s = getenv("CLEWD_DEADLETTER_MAX")) && *s && cd_parse_size(s, &c->deadletter_bytes) < 0)
		return cd_err_set(
			err, -CD_EINVAL, 0,
			"CLEWD_DEADLETTER_MAX=%s: expected a size (0: no dead-letter files, 64M, 1G)", s);
	if ((s = getenv("CLEWD_HTTP_LISTEN")) && *s && (rc = cd_cfg_set_str(&c->http_listen, s, err)) < 0)
		return rc;
	if ((s = getenv("CLEWD_PARSER")) && *s && cd_config_set_parser(c, s, err) < 0)
		return cd_err_set(
			err, -CD_EINVAL, 0,
			"CLEWD_PARSER=%s: expected auto, pipe, json, regex:PATTERN or a parser's name", s);
	if ((s = getenv("CLEWD_LOG_LEVEL")) && *s && cd_cfg_parse_level(s, &c->log_level) < 0)
		return cd_err_set(err, -CD_EINVAL, 0,
				  "CLEWD_LOG_LEVEL=%s: expected trace, debug, info, warn or error", s);
	if ((s = getenv("CLEWD_MULTILINE")) && *s && cd_parse_bool(s, &c->multiline) < 0)
		return cd_err_set(err, -CD_EINVAL, 0, "CLEWD_MULTILINE=%s: expected true or false", s);
	for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++)
		if ((s = getenv(dur_names[i])) && *s && cd_parse_duration_ms(s, durs[i]) < 0)
			return cd_err_set(err, -CD_EINVAL, 0, "%s=%s: expected a duration (500ms, 5s, 2m)",
					  dur_names[i], s);
	return 0;
}

bool cd_cfg_takes_opts(const struct cd_plugin_desc *d)
{
	return d && (d->flags & CD_PLUGIN_URI_OPTS);
}

bool cd_config_needs_state(const struct cd_config *c)
{
	for (unsigned i = 0; i < c->nin; i++)
		if (!(c->in[i].plugin->flags & CD_PLUGIN_ONESHOT))
			return true;
	return false;
}

/* "FILE:LINE:COL: " of a place in the file, or "" for the command line. */
static void where(const struct cd_config *c, unsigned line, unsigned col, char *buf, size_t cap)
{
	if (line && c->file)
		snprintf(buf, cap, "%s:%u:%u: ", c->file, line, col);
	else
		buf[0] = '\0';
}

/* Compile every regex once: --check-config reports what the daemon would meet. */
static int check_regexes(const struct cd_config *c, struct cd_err *err)
{
	struct parse_regex *rx;
	struct cd_err e = {0, 0, ""};
	char at[CD_INPUT_NAME_MAX + 32];

	for (unsigned i = 0; i < c->nrx; i++) {
		const struct cd_parser_conf *pc = &c->rx[i];
		if (parse_regex_new(&rx, pc->regex, pc->time_format, 0, &e) < 0) {
			where(c, pc->line, pc->col, at, sizeof(at));
			if (!pc->line && strcmp(pc->name, "regex") == 0)
				return cd_err_set(err, e.code, 0, "-p: %s", e.msg);
			return cd_err_set(err, e.code, 0, "%sparser %s: %s", at, pc->name, e.msg);
		}
		parse_regex_free(rx);
	}
	for (unsigned i = 0; i < c->nin; i++) {
		const struct cd_input_conf *in = &c->in[i];
		if (!in->ml_start)
			continue;
		if (parse_regex_new(&rx, in->ml_start, NULL, 0, &e) < 0) {
			where(c, in->ml_line, in->ml_col, at, sizeof(at));
			if (!in->ml_line)
				return cd_err_set(err, e.code, 0, "--multiline-start: %s", e.msg);
			return cd_err_set(err, e.code, 0, "%sinput %u: multiline_start: %s", at, i + 1,
					  e.msg);
		}
		parse_regex_free(rx);
	}
	return 0;
}

/* Every parser: names a parser that exists (they may be declared after their use). */
static int check_parser_names(const struct cd_config *c, struct cd_err *err)
{
	char at[CD_INPUT_NAME_MAX + 32];
	const struct cd_parser_conf *rx;
	enum cd_parser p;

	if (c->parser == CD_PARSER_REGEX && (!c->parser_name || cd_cfg_find_parser(c, c->parser_name) < 0)) {
		where(c, c->parser_line, 1, at, sizeof(at));
		return cd_err_set(err, -CD_EINVAL, 0, "%sparser %s: no such parser (give it under parsers:)",
				  at, c->parser_name ? c->parser_name : "?");
	}
	for (unsigned i = 0; i < c->nin; i++) {
		if (cd_config_input_parser(c, i, &p, &rx) == 0)
			continue;
		where(c, c->in[i].line, 1, at, sizeof(at));
		return cd_err_set(
			err, -CD_EINVAL, 0,
			"%sinput %u: parser %s: no such parser (expected auto, pipe, json or a name "
			"under parsers:)",
			at, i + 1, c->in[i].parser_name);
	}
	return 0;
}

/* Whether @in listens for datagrams: its plugin's kind, or its transport (syslog: udp, unix). */
static bool dgram_input(const struct cd_input_conf *in)
{
	const char *t = cd_opt_get(&in->opts, "transport");

	return (in->plugin->flags & CD_PLUGIN_DGRAM) || (t && (!strcmp(t, "udp") || !strcmp(t, "unix")));
}

/*
 * Each input's options checked against its plugin's table, then by its
 * plugin's check() (which completes them: normalized addresses); then no
 * two inputs on one socket.
 */
static int check_inputs(struct cd_config *c, struct cd_err *err)
{
	int rc;

	for (unsigned i = 0; i < c->nin; i++) {
		struct cd_input_conf *in = &c->in[i];
		const struct cd_plugin_desc *d = in->plugin;
		const char *li;

		if (!in->opts.owner[0])
			snprintf(in->opts.owner, sizeof(in->opts.owner), "input %s#%u", d->name, i + 1);
		in->opts.file = in->line ? c->file : NULL;
		in->opts.line = in->line;
		if (!in->opts.col)
			in->opts.col = 1;
		if ((rc = cd_opts_check(&in->opts, d->opts, err)) < 0 ||
		    (d->check && (rc = d->check(&in->opts, err)) < 0))
			return rc;
		if (!(li = cd_opt_get(&in->opts, "listen")))
			continue;
		for (unsigned j = 0; j < i; j++) {
			const char *lj = cd_opt_get(&c->in[j].opts, "listen");
			const bool dgram = dgram_input(in);

			/* port 0: each gets a port of its own */
			if (lj && strcmp(li, lj) == 0 &&
			    !(strlen(li) > 2 && strcmp(li + strlen(li) - 2, ":0") == 0) &&
			    (dgram == dgram_input(&c->in[j]) || strncmp(li, "unix:", 5) == 0))
				return cd_err_set(err, -CD_EINVAL, 0, "two inputs listen on %s", li);
		}
	}
	return 0;
}

int cd_config_finish(struct cd_config *c, struct cd_err *err)
{
	char buf[CD_INPUT_NAME_MAX];
	int rc;

	if (c->nin == 0)
		return cd_err_set(err, -CD_EINVAL, 0, "no input: give -i SPEC or inputs: in the config file");
	if ((rc = add_builtins(c, err)) < 0 || (rc = check_parser_names(c, err)) < 0 ||
	    (rc = check_regexes(c, err)) < 0)
		return rc;
	if (!c->state_dir && (rc = cd_cfg_set_str(&c->state_dir, "/var/lib/clew", err)) < 0)
		return rc;
	if (c->nout == 0) {
		snprintf(buf, sizeof(buf), "archive:%s/archive", c->state_dir);
		if ((rc = cd_config_add_output_spec(c, buf, err)) < 0)
			return rc;
	}
	if (!c->checkpoint) {
		snprintf(buf, sizeof(buf), "%s/checkpoint", c->state_dir);
		if ((rc = cd_cfg_set_str(&c->checkpoint, buf, err)) < 0)
			return rc;
	}
	/* a one-off stdin job keeps no state: no spool (a dead output then fails the run) */
	if (c->spool_bytes == 0) {
		free(c->spool_dir); /* max_bytes 0: no spool, inputs pause when memory is full */
		c->spool_dir = NULL;
	} else if (!c->spool_dir && cd_config_needs_state(c)) {
		snprintf(buf, sizeof(buf), "%s/spool", c->state_dir);
		if ((rc = cd_cfg_set_str(&c->spool_dir, buf, err)) < 0)
			return rc;
	}
	/* records an output rejects for good: kept for a replay where state is kept, else counted drops */
	free(c->deadletter_dir);
	c->deadletter_dir = NULL;
	if (c->deadletter_bytes && cd_config_needs_state(c)) {
		snprintf(buf, sizeof(buf), "%s/deadletter", c->state_dir);
		if ((rc = cd_cfg_set_str(&c->deadletter_dir, buf, err)) < 0)
			return rc;
	}
	if (c->spool_bytes && c->spool_bytes < CD_SPOOL_FILE_MAX)
		return cd_err_set(err, -CD_EINVAL, 0,
				  "spool max_bytes must be 0 (no spool) or at least %u (one chunk file)",
				  CD_SPOOL_FILE_MAX);
	if ((rc = check_inputs(c, err)) < 0)
		return rc;
	if (c->chunk_age_ms == 0 || c->chunk_age_ms > 3600000)
		return cd_err_set(err, -CD_EINVAL, 0, "chunk max_age must be 1ms..1h");
	if (c->multiline_ms == 0 || c->multiline_ms > 3600000)
		return cd_err_set(err, -CD_EINVAL, 0, "multiline timeout must be 1ms..1h");
	if (c->poll_ms == 0 || c->poll_ms > 3600000)
		return cd_err_set(err, -CD_EINVAL, 0, "tail poll_interval must be 1ms..1h");
	for (unsigned i = 0; i < c->nout; i++) {
		struct cd_output_conf *o = &c->out[i];
		if (!o->name) {
			snprintf(buf, sizeof(buf), "%s#%u", o->plugin->name, i + 1);
			if ((rc = cd_cfg_set_str(&o->name, buf, err)) < 0)
				return rc;
		}
		for (const char *p = o->name; *p; p++)
			if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:#+-",
				    *p))
				return cd_err_set(err, -CD_EINVAL, 0,
						  "output name '%s': use letters, digits and _ . : # + -",
						  o->name);
		for (unsigned j = 0; j < i; j++)
			if (strcmp(c->out[j].name, o->name) == 0)
				return cd_err_set(err, -CD_EINVAL, 0, "two outputs named %s", o->name);
		snprintf(o->opts.owner, sizeof(o->opts.owner), "output %s", o->name);
		o->opts.line = o->line;
	}
	/* two local outputs of one plugin on one path (an archive, a file) would write over each other */
	for (unsigned i = 0; i < c->nout; i++)
		for (unsigned j = 0; j < i; j++) {
			const char *pi = cd_opt_get(&c->out[i].opts, "path"),
				   *pj = cd_opt_get(&c->out[j].opts, "path");

			if (pi && pj && c->out[i].plugin == c->out[j].plugin &&
			    !cd_cfg_takes_opts(c->out[i].plugin) && strcmp(pi, pj) == 0)
				return cd_err_set(err, -CD_EINVAL, 0, "output %s given twice", pi);
		}
	return 0;
}
