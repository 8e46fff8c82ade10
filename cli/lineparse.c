/*
 * lineparse.c - tracegrep's line parser: clewd's parsers, named parsers
 * from a clewd.yaml, built-in ones, envelopes (see lineparse.h).
 *
 * DESIGN: one process-wide parser, set before any thread starts and only
 * read afterwards, because the records' text is parsed again where it is
 * rendered, far from the options. The regex parsers are the parsers
 * library's (the same code as clewd's); each compiled regex has one match
 * block, so its matches take a mutex: this path is for layouts the fast
 * literal search cannot parse anyway. The config file is read with libyaml
 * for its top-level parsers: and parser: only; the rest is clewd's.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "fmt/detect.h"
#include "fmt/json.h"
#include "fmt/pipe.h"
#include "lineparse.h"
#include "tg.h"
#include <parsers/builtin.h>
#include <parsers/envelope.h>
#include <parsers/regex.h>
#include "banned.h"

enum lp_kind { LP_AUTO = 0, LP_PIPE, LP_JSON, LP_REGEX };

static struct {
	enum lp_kind kind;
	enum parse_env env;	/* -p's envelope; NONE: detected per file */
	struct parse_regex *rx; /* LP_REGEX */
	struct parse_regex *ml; /* --multiline-start */
	pthread_mutex_t lock;	/* one match at a time on rx and ml */
	char *cfg_parser;	/* the config file's parser:, when -p is not given */
} lp = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* A named parser of the config file. */
struct cfg_parser {
	char *name, *regex, *time_format;
};

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* The config file's parsers: (and parser:) into @out (up to @cap). Return: the count, or -TG_EIO / -TG_EINVAL. */
static int read_config(const char *path, struct cfg_parser *out, int cap, struct tg_err *err)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	FILE *f = fopen(path, "rb");
	int n = 0;

	if (!f) {
		tg_err_set(err, TG_EIO, errno, "-c %s: %s", path, strerror(errno));
		return -TG_EIO;
	}
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		tg_err_set(err, TG_ENOMEM, 0, "out of memory");
		return -TG_ENOMEM;
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		tg_err_set(err, TG_EINVAL, 0, "%s:%lu:%lu: %s", path,
			   (unsigned long)parser.problem_mark.line + 1,
			   (unsigned long)parser.problem_mark.column + 1,
			   parser.problem ? parser.problem : "syntax error");
		yaml_parser_delete(&parser);
		fclose(f);
		return -TG_EINVAL;
	}
	root = yaml_document_get_root_node(&doc);
	for (yaml_node_pair_t *p = root && root->type == YAML_MAPPING_NODE ? root->data.mapping.pairs.start
									   : NULL;
	     p && p < root->data.mapping.pairs.top; p++) {
		const char *k = scalar(yaml_document_get_node(&doc, p->key));
		yaml_node_t *v = yaml_document_get_node(&doc, p->value);

		if (k && strcmp(k, "parser") == 0 && scalar(v)) {
			free(lp.cfg_parser);
			lp.cfg_parser = tg_xstrndup(scalar(v), strlen(scalar(v)));
		}
		if (!k || strcmp(k, "parsers") != 0 || v->type != YAML_SEQUENCE_NODE)
			continue;
		for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
		     it++) {
			yaml_node_t *m = yaml_document_get_node(&doc, *it);
			struct cfg_parser cp = {0};

			if (!m || m->type != YAML_MAPPING_NODE)
				continue;
			for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < m->data.mapping.pairs.top;
			     q++) {
				const char *mk = scalar(yaml_document_get_node(&doc, q->key));
				const char *mv = scalar(yaml_document_get_node(&doc, q->value));
				char **dst = !mk || !mv			      ? NULL
					     : strcmp(mk, "name") == 0	      ? &cp.name
					     : strcmp(mk, "regex") == 0	      ? &cp.regex
					     : strcmp(mk, "time_format") == 0 ? &cp.time_format
									      : NULL;
				if (dst && !*dst)
					*dst = tg_xstrndup(mv, strlen(mv));
			}
			if (cp.name && cp.regex && n < cap) {
				out[n++] = cp;
			} else {
				free(cp.name);
				free(cp.regex);
				free(cp.time_format);
			}
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	return n;
}

static int compile(struct parse_regex **rx, const char *what, const char *pattern, const char *tf,
		   struct tg_err *err)
{
	struct cd_err e = {0};

	if (parse_regex_new(rx, pattern, tf, 0, &e) < 0) {
		tg_err_set(err, TG_EINVAL, 0, "%s: %s", what, e.msg);
		return -TG_EINVAL;
	}
	return 0;
}

int tg_lp_setup(const struct tg_lp_options *o, struct tg_err *err)
{
	struct cfg_parser cfg[64];
	const struct parse_builtin *b;
	const char *name = o->parser, *inner;
	int ncfg = 0, rc = 0;

	if (o->config && (ncfg = read_config(o->config, cfg, 64, err)) < 0)
		return ncfg;
	if (!name)
		name = lp.cfg_parser;
	if (o->time_format && (!name || strncmp(name, "regex:", 6) != 0)) {
		tg_err_set(err, TG_EINVAL, 0, "--time-format goes with -p regex:PATTERN");
		rc = -TG_EINVAL;
		goto out;
	}
	if (o->ml_start && (rc = compile(&lp.ml, "--multiline-start", o->ml_start, NULL, err)) < 0)
		goto out;
	if (!name)
		goto out;
	lp.env = parse_env_by_name(name, &inner);
	if (lp.env != PARSE_ENV_NONE)
		name = *inner ? inner : "auto";
	if (strcmp(name, "auto") == 0) {
		lp.kind = LP_AUTO;
	} else if (strcmp(name, "pipe") == 0) {
		lp.kind = LP_PIPE;
	} else if (strcmp(name, "json") == 0) {
		lp.kind = LP_JSON;
	} else if (strncmp(name, "regex:", 6) == 0) {
		lp.kind = LP_REGEX;
		rc = compile(&lp.rx, "-p", name + 6, o->time_format, err);
	} else {
		int k;

		for (k = 0; k < ncfg && strcmp(cfg[k].name, name) != 0; k++)
			;
		lp.kind = LP_REGEX;
		if (k < ncfg) {
			rc = compile(&lp.rx, name, cfg[k].regex, cfg[k].time_format, err);
		} else if ((b = parse_builtin_find(name))) {
			rc = compile(&lp.rx, name, b->regex, b->time_format, err);
		} else {
			tg_err_set(
				err, TG_EINVAL, 0,
				"-p %s: no such parser (auto, pipe, json, regex:PATTERN, cri[+P], docker[+P], "
				"a built-in: nginx, apache, openstack, spring, envoy, or a name under parsers: "
				"in -c FILE)",
				name);
			rc = -TG_EINVAL;
		}
	}
out:
	for (int k = 0; k < ncfg; k++) {
		free(cfg[k].name);
		free(cfg[k].regex);
		free(cfg[k].time_format);
	}
	return rc;
}

void tg_lp_release(void)
{
	parse_regex_free(lp.rx);
	parse_regex_free(lp.ml);
	free(lp.cfg_parser);
	lp.rx = lp.ml = NULL;
	lp.cfg_parser = NULL;
	lp.kind = LP_AUTO;
	lp.env = PARSE_ENV_NONE;
}

bool tg_lp_plain(void)
{
	return lp.kind == LP_AUTO && lp.env == PARSE_ENV_NONE && !lp.ml;
}

unsigned tg_lp_envelope(const char *s, size_t n)
{
	return lp.env != PARSE_ENV_NONE ? lp.env : parse_env_detect(s, n);
}

int tg_lp_parse(const char *s, size_t n, struct fmt_record *rec)
{
	int rc;

	switch (lp.kind) {
	case LP_PIPE:
		return fmt_pipe_parse(s, n, rec, NULL);
	case LP_JSON:
		return fmt_json_parse(s, n, rec, NULL);
	case LP_REGEX:
		pthread_mutex_lock(&lp.lock);
		rc = parse_regex_line(lp.rx, s, n, rec, NULL);
		pthread_mutex_unlock(&lp.lock);
		if (rc == 0)
			return 0;
		break;
	case LP_AUTO:
		break;
	}
	return fmt_parse(s, n, rec, NULL);
}

bool tg_lp_starts(const char *s, size_t n)
{
	bool yes;

	if (lp.ml) {
		pthread_mutex_lock(&lp.lock);
		yes = parse_regex_matches(lp.ml, s, n);
		pthread_mutex_unlock(&lp.lock);
		return yes;
	}
	if (fmt_detect(s, n) != FMT_UNKNOWN)
		return true;
	if (lp.kind != LP_REGEX)
		return false;
	pthread_mutex_lock(&lp.lock);
	yes = parse_regex_matches(lp.rx, s, n);
	pthread_mutex_unlock(&lp.lock);
	return yes;
}
