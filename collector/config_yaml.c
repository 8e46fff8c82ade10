/*
 * config_yaml.c - the YAML configuration file (see config.h).
 *
 * DESIGN: the file is loaded whole as a libyaml document (it is small:
 * CD_CONFIG_BYTES_MAX) and walked node by node; every node keeps its
 * start mark, so every error names the line and column of the value at
 * fault. Unknown keys are errors, not warnings: a misspelt key silently
 * ignored is how a collector ends up tailing nothing. An input's and an
 * output's keys are those of its plugin's table (registry.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config_impl.h"
#include "util/util.h"
#include "util/banned.h"

struct yctx {
	yaml_document_t *doc; /* the loaded document */
	const char *path;     /* file name for messages */
	struct cd_err *err;   /* where errors go */
};

static int yfail(struct yctx *y, const yaml_node_t *n, const char *what, const char *key)
{
	char w[sizeof(y->err->msg)];

	cd_strlcpy(w, what, sizeof(w)); /* @what may be y->err->msg itself */
	return cd_err_set(y->err, -CD_EINVAL, 0, "%s:%lu:%lu: %s%s%s", y->path,
			  (unsigned long)n->start_mark.line + 1, (unsigned long)n->start_mark.column + 1, w,
			  key ? " " : "", key ? key : "");
}

/* The scalar value of @n, or an error naming @key. */
static const char *yscalar(struct yctx *y, const yaml_node_t *n, const char *key)
{
	if (n->type != YAML_SCALAR_NODE) {
		yfail(y, n, "expected a single value for", key);
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

#define YS(var, node, key)                         \
	do {                                       \
		(var) = yscalar(y, (node), (key)); \
		if (!(var))                        \
			return -CD_EINVAL;         \
	} while (0)

static int ydur(struct yctx *y, const yaml_node_t *n, const char *key, uint64_t *ms)
{
	const char *s;

	YS(s, n, key);
	if (cd_parse_duration_ms(s, ms) < 0)
		return yfail(y, n, "expected a duration (500ms, 5s, 2m, 1h, 7d) for", key);
	return 0;
}

static int ysize(struct yctx *y, const yaml_node_t *n, const char *key, uint64_t *b)
{
	const char *s;

	YS(s, n, key);
	if (cd_parse_size(s, b) < 0)
		return yfail(y, n, "expected a size (4096, 64k, 10M, 2G) for", key);
	return 0;
}

static int ybool(struct yctx *y, const yaml_node_t *n, const char *key, bool *b)
{
	const char *s;

	YS(s, n, key);
	if (cd_parse_bool(s, b) < 0)
		return yfail(y, n, "expected true or false for", key);
	return 0;
}

static int ystr(struct yctx *y, const yaml_node_t *n, const char *key, char **dst)
{
	const char *s;

	YS(s, n, key);
	if (!*s)
		return yfail(y, n, "empty value for", key);
	return cd_cfg_set_str(dst, s, y->err);
}

/* Iterate the pairs of mapping @m: k (const char *), v (yaml_node_t *). */
#define YMAP_FOR(m, k, kn, v)                                                                              \
	for (yaml_node_pair_t *p_ = (m)->data.mapping.pairs.start; p_ < (m)->data.mapping.pairs.top; p_++) \
		if (((kn) = yaml_document_get_node(y->doc, p_->key)) != NULL &&                            \
		    ((v) = yaml_document_get_node(y->doc, p_->value)) != NULL &&                           \
		    ((k) = (kn)->type == YAML_SCALAR_NODE ? (const char *)(kn)->data.scalar.value : "") != \
			    NULL)

static int ymap_check(struct yctx *y, const yaml_node_t *n, const char *what)
{
	if (n->type != YAML_MAPPING_NODE)
		return yfail(y, n, "expected a mapping (key: value lines) for", what);
	return 0;
}

/*
 * An unknown key @k of an input or output (@what) at @kn: the message
 * lists the keys its plugin @d takes (NULL: type unknown yet).
 */
static int yunknown(struct yctx *y, const yaml_node_t *kn, const char *what, const char *k,
		    const struct cd_plugin_desc *d, const struct cd_opt_spec *common)
{
	const struct cd_opt_spec *tables[2] = {common, d ? d->opts : NULL};
	char msg[sizeof(y->err->msg)];
	size_t n = (size_t)snprintf(msg, sizeof(msg), "unknown %s key %s", what, k);
	const char *sep = " (";

	for (size_t t = 0; d && t < 2; t++)
		for (const struct cd_opt_spec *s = tables[t]; s && s->key && n < sizeof(msg); s++) {
			if (s->flags & CD_OPT_REFUSED)
				continue;
			n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s%s%s", sep, s->key,
					      s->type == CD_OPT_PREFIX ? "*" : "");
			sep = ", ";
		}
	if (d && n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, ": the keys of %s %s)", what, d->name);
	return yfail(y, kn, msg, NULL);
}

/*
 * An input: its type's plugin, the keys every input takes, and its
 * plugin's keys (those of its table) as options, each with its place;
 * their values are the plugin's to read and check (cd_config_finish()).
 */
static int load_input(struct yctx *y, struct cd_config *c, yaml_node_t *m)
{
	struct cd_input_conf *in;
	const char *k, *type = NULL, *val;
	yaml_node_t *kn, *v, *type_node = m, *ml_node = m;
	const struct cd_plugin_desc *desc;
	int rc = 0;

	if ((rc = ymap_check(y, m, "an input")) < 0)
		return rc;
	YMAP_FOR(m, k, kn, v)
	{
		if (strcmp(k, "type") == 0) {
			YS(type, v, k);
			type_node = v;
		}
	}
	if (!type)
		return yfail(y, m, "input without", "type");
	if (!(desc = cd_input_named(type, strlen(type)))) {
		char names[120], list[160];

		snprintf(list, sizeof(list), "unknown input type (expected %s):",
			 cd_plugin_list(cd_inputs, 0, false, names, sizeof(names)));
		return yfail(y, type_node, list, type);
	}
	for (unsigned i = 0; (desc->flags & CD_PLUGIN_ONESHOT) && i < c->nin; i++)
		if (c->in[i].plugin == desc) {
			char twice[96];

			snprintf(twice, sizeof(twice), "input '%s' given twice", desc->name);
			return yfail(y, m, twice, NULL);
		}
	if (!(in = cd_cfg_new_input(c, y->err)))
		return yfail(y, m, y->err->msg, NULL);
	in->plugin = desc;
	in->line = (unsigned)m->start_mark.line + 1;
	in->opts.col = (unsigned)m->start_mark.column + 1;
	YMAP_FOR(m, k, kn, v)
	{
		const struct cd_opt_spec *s;

		if (strcmp(k, "type") == 0)
			continue;
		if (strcmp(k, "parser") == 0) {
			rc = ystr(y, v, k, &in->parser_name);
		} else if (strcmp(k, "multiline_start") == 0) {
			rc = ystr(y, v, k, &in->ml_start);
			ml_node = v;
		} else if (!(s = cd_opt_spec_find(desc->opts, k))) {
			rc = yunknown(y, kn, "input", k, desc, cd_input_common_opts);
		} else if (s->flags & CD_OPT_REFUSED) {
			char why[256];

			snprintf(why, sizeof(why), "%s: %s", k, s->help);
			rc = yfail(y, kn, why, NULL);
		} else if (!(val = yscalar(y, v, k))) {
			rc = -CD_EINVAL;
		} else if (cd_opt_add(&in->opts, k, strlen(k), val, v->data.scalar.length,
				      (unsigned)v->start_mark.line + 1, (unsigned)v->start_mark.column + 1,
				      y->err) < 0) {
			rc = yfail(y, kn, y->err->msg, NULL);
		}
		if (rc < 0) {
			cd_cfg_input_release(in);
			c->nin--;
			return rc;
		}
	}
	in->ml_line = (unsigned)ml_node->start_mark.line + 1;
	in->ml_col = (unsigned)ml_node->start_mark.column + 1;
	return 0;
}

/* One entry of parsers: {name, regex, time_format}. */
static int load_parser(struct yctx *y, struct cd_config *c, yaml_node_t *m)
{
	struct cd_parser_conf tmp;
	const char *k;
	yaml_node_t *kn, *v, *regex_node = m, *name_node = m;
	int rc = 0;

	if ((rc = ymap_check(y, m, "a parser")) < 0)
		return rc;
	memset(&tmp, 0, sizeof(tmp));
	YMAP_FOR(m, k, kn, v)
	{
		if (strcmp(k, "name") == 0) {
			rc = ystr(y, v, k, &tmp.name);
			name_node = v;
		} else if (strcmp(k, "regex") == 0) {
			rc = ystr(y, v, k, &tmp.regex);
			regex_node = v;
		} else if (strcmp(k, "time_format") == 0) {
			rc = ystr(y, v, k, &tmp.time_format);
		} else {
			rc = yfail(y, kn, "unknown parser key (expected name, regex, time_format):", k);
		}
		if (rc < 0)
			goto out;
	}
	if (!tmp.name || !tmp.regex) {
		rc = yfail(y, m, "a parser needs", tmp.name ? "regex" : "name");
		goto out;
	}
	if (!cd_cfg_valid_parser_name(tmp.name)) {
		rc = yfail(y, name_node,
			   "parser names are [A-Za-z0-9_.-]+ and not auto, pipe or json:", tmp.name);
		goto out;
	}
	if (cd_cfg_find_parser(c, tmp.name) >= 0) {
		rc = yfail(y, name_node, "two parsers named", tmp.name);
		goto out;
	}
	if (c->nrx >= CD_PARSERS_MAX) {
		rc = yfail(y, m, "too many parsers", NULL);
		goto out;
	}
	tmp.line = (unsigned)regex_node->start_mark.line + 1;
	tmp.col = (unsigned)regex_node->start_mark.column + 1;
	c->rx[c->nrx++] = tmp;
	return 0;
out:
	free(tmp.name);
	free(tmp.regex);
	free(tmp.time_format);
	return rc;
}

/* Add the scalars under @v as options named PREFIX (nested mappings: PREFIX.KEY). */
static int yopts(struct yctx *y, struct cd_opts *o, yaml_node_t *kn, yaml_node_t *v, const char *prefix)
{
	const char *k;
	yaml_node_t *kn2, *v2;
	char key[256];
	int rc;

	if (v->type == YAML_SCALAR_NODE) {
		if (cd_opt_add(o, prefix, strlen(prefix), (const char *)v->data.scalar.value,
			       v->data.scalar.length, (unsigned)v->start_mark.line + 1,
			       (unsigned)v->start_mark.column + 1, y->err) < 0)
			return yfail(y, kn, y->err->msg, NULL);
		return 0;
	}
	if (v->type != YAML_MAPPING_NODE)
		return yfail(y, v, "expected a value or a mapping for", prefix);
	YMAP_FOR(v, k, kn2, v2)
	{
		if ((size_t)snprintf(key, sizeof(key), "%s.%s", prefix, k) >= sizeof(key))
			return yfail(y, kn2, "key too long:", k);
		if ((rc = yopts(y, o, kn2, v2, key)) < 0)
			return rc;
	}
	return 0;
}

/*
 * An output: its type's plugin, its name, and its plugin's keys as
 * options. A network output's keys are checked against its table later
 * (cd_opts_check(): URI and YAML alike); a local output's here, so that
 * an unknown one is told with its line and column.
 */
static int load_output(struct yctx *y, struct cd_config *c, yaml_node_t *m)
{
	struct cd_output_conf *o;
	const char *k, *type = NULL;
	yaml_node_t *kn, *v, *type_node = m;
	struct cd_output_conf tmp;
	const struct cd_plugin_desc *desc;
	int rc;

	if ((rc = ymap_check(y, m, "an output")) < 0)
		return rc;
	memset(&tmp, 0, sizeof(tmp));
	YMAP_FOR(m, k, kn, v)
	{
		if (strcmp(k, "type") == 0) {
			YS(type, v, k);
			type_node = v;
		}
	}
	if (!type)
		return yfail(y, m, "output without", "type");
	if (!(desc = cd_output_named(type, strlen(type)))) {
		char names[160], list[200];

		snprintf(list, sizeof(list), "unknown output type (expected %s):",
			 cd_plugin_list(cd_outputs, 0, false, names, sizeof(names)));
		return yfail(y, type_node, list, type);
	}
	tmp.plugin = desc;
	YMAP_FOR(m, k, kn, v)
	{
		const struct cd_opt_spec *s;

		if (strcmp(k, "type") == 0)
			continue;
		if (strcmp(k, "name") == 0)
			rc = ystr(y, v, k, &tmp.name);
		else if (cd_cfg_takes_opts(desc))
			rc = yopts(y, &tmp.opts, kn, v, k);
		else if (!(s = cd_opt_spec_find(desc->opts, k)) || (s->flags & CD_OPT_REFUSED))
			rc = yunknown(y, kn, "output", k, desc, cd_output_common_opts);
		else if (v->type != YAML_SCALAR_NODE)
			rc = yfail(y, v, "expected a single value for", k);
		else
			rc = yopts(y, &tmp.opts, kn, v, k);
		if (rc < 0)
			goto out;
	}
	if (!(o = cd_cfg_new_output(c, y->err))) {
		rc = yfail(y, m, y->err->msg, NULL);
		goto out;
	}
	*o = tmp;
	o->line = (unsigned)m->start_mark.line + 1;
	return 0;
out:
	cd_cfg_output_release(&tmp);
	return rc;
}

static int load_list(struct yctx *y, struct cd_config *c, yaml_node_t *seq, const char *what,
		     int (*one)(struct yctx *, struct cd_config *, yaml_node_t *))
{
	int rc;

	if (seq->type != YAML_SEQUENCE_NODE)
		return yfail(y, seq, "expected a list (lines starting with '- ') for", what);
	for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		yaml_node_t *n = yaml_document_get_node(y->doc, *it);
		if (n && (rc = one(y, c, n)) < 0)
			return rc;
	}
	return 0;
}

static int load_multiline(struct yctx *y, struct cd_config *c, yaml_node_t *v)
{
	const char *k;
	yaml_node_t *kn, *vv;
	int rc;

	if (v->type == YAML_SCALAR_NODE)
		return ybool(y, v, "multiline", &c->multiline);
	if ((rc = ymap_check(y, v, "multiline")) < 0)
		return rc;
	YMAP_FOR(v, k, kn, vv)
	{
		if (strcmp(k, "enabled") == 0)
			rc = ybool(y, vv, k, &c->multiline);
		else if (strcmp(k, "timeout") == 0)
			rc = ydur(y, vv, k, &c->multiline_ms);
		else
			rc = yfail(y, kn, "unknown multiline key", k);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int load_spool(struct yctx *y, struct cd_config *c, yaml_node_t *v)
{
	const char *k;
	yaml_node_t *kn, *vv;
	int rc;

	if ((rc = ymap_check(y, v, "spool")) < 0)
		return rc;
	YMAP_FOR(v, k, kn, vv)
	{
		if (strcmp(k, "dir") == 0)
			rc = ystr(y, vv, k, &c->spool_dir);
		else if (strcmp(k, "max_bytes") == 0)
			rc = ysize(y, vv, k, &c->spool_bytes);
		else
			rc = yfail(y, kn, "unknown spool key", k);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int load_section(struct yctx *y, yaml_node_t *v, const char *name, const char *const *keys,
			uint64_t *const *vals, size_t n)
{
	const char *k;
	yaml_node_t *kn, *vv;
	int rc;

	if ((rc = ymap_check(y, v, name)) < 0)
		return rc;
	YMAP_FOR(v, k, kn, vv)
	{
		size_t i;
		for (i = 0; i < n && strcmp(k, keys[i]) != 0; i++)
			;
		if (i == n)
			return yfail(y, kn, "unknown key", k);
		if ((rc = ydur(y, vv, k, vals[i])) < 0)
			return rc;
	}
	return 0;
}

static int load_root(struct yctx *y, struct cd_config *c, yaml_node_t *root)
{
	const char *k, *s;
	yaml_node_t *kn, *v;
	int rc = 0;

	if ((rc = ymap_check(y, root, "the configuration")) < 0)
		return rc;
	cd_config_clear_inputs(c);
	cd_config_clear_outputs(c);
	YMAP_FOR(root, k, kn, v)
	{
		if (strcmp(k, "state_dir") == 0) {
			rc = ystr(y, v, k, &c->state_dir);
		} else if (strcmp(k, "checkpoint") == 0) {
			rc = ystr(y, v, k, &c->checkpoint);
		} else if (strcmp(k, "parser") == 0) {
			YS(s, v, k);
			if (cd_config_set_parser(c, s, NULL) < 0)
				rc = yfail(
					y, v,
					"expected auto, pipe, json, regex:PATTERN, a parser's name, cri[+P] or docker[+P] for",
					k);
			c->parser_line = (unsigned)v->start_mark.line + 1;
		} else if (strcmp(k, "parsers") == 0) {
			rc = load_list(y, c, v, k, load_parser);
		} else if (strcmp(k, "log_level") == 0) {
			YS(s, v, k);
			if (cd_cfg_parse_level(s, &c->log_level) < 0)
				rc = yfail(y, v, "expected trace, debug, info, warn or error for", k);
		} else if (strcmp(k, "multiline") == 0) {
			rc = load_multiline(y, c, v);
		} else if (strcmp(k, "drain_timeout") == 0) {
			rc = ydur(y, v, k, &c->drain_ms);
		} else if (strcmp(k, "chunk") == 0) {
			static const char *const keys[] = {"max_age"};
			uint64_t *const vals[] = {&c->chunk_age_ms};
			rc = load_section(y, v, k, keys, vals, 1);
		} else if (strcmp(k, "tail") == 0) {
			static const char *const keys[] = {"rotate_wait", "poll_interval"};
			uint64_t *const vals[] = {&c->rotate_wait_ms, &c->poll_ms};
			rc = load_section(y, v, k, keys, vals, 2);
		} else if (strcmp(k, "http_listen") == 0) {
			rc = ystr(y, v, k, &c->http_listen);
		} else if (strcmp(k, "deadletter_max") == 0) {
			rc = ysize(y, v, k, &c->deadletter_bytes);
		} else if (strcmp(k, "spool") == 0) {
			rc = load_spool(y, c, v);
		} else if (strcmp(k, "inputs") == 0) {
			rc = load_list(y, c, v, k, load_input);
		} else if (strcmp(k, "outputs") == 0) {
			rc = load_list(y, c, v, k, load_output);
		} else {
			rc = yfail(y, kn, "unknown key", k);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

int cd_config_load_file(struct cd_config *c, const char *path, struct cd_err *err)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct yctx y = {.doc = &doc, .path = path, .err = err};
	yaml_node_t *root;
	FILE *f;
	int rc;

	f = fopen(path, "rb");
	if (!f)
		return cd_err_set(err, -CD_EIO, errno, "%s: %s", path, strerror(errno));
	if (!yaml_parser_initialize(&parser)) {
		rc = cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
		goto out_close;
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = cd_err_set(err, -CD_EINVAL, 0, "%s:%lu:%lu: %s%s%s", path,
				(unsigned long)parser.problem_mark.line + 1,
				(unsigned long)parser.problem_mark.column + 1,
				parser.problem ? parser.problem : "syntax error", parser.context ? " " : "",
				parser.context ? parser.context : "");
		goto out_parser;
	}
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		rc = cd_err_set(err, -CD_EINVAL, 0, "%s:1:1: empty configuration", path);
		goto out_doc;
	}
	rc = load_root(&y, c, root);
	if (rc == 0)
		rc = cd_cfg_set_str(&c->file, path, err);
out_doc:
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
out_close:
	fclose(f);
	return rc;
}
