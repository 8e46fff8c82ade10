/*
 * options.c - the typed access to a plugin's options and their check
 * against its table (see options.h).
 *
 * DESIGN: options stay text until a plugin reads them: the same key may
 * come from a URI or from YAML, and only the plugin knows what it means.
 * cd_opts_check() reads each value once as its declared type with the
 * same readers and messages the plugins use, so --check-config says the
 * same thing whichever finds the fault first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "options.h"
#include "util/util.h"
#include "util/banned.h"

int cd_parse_bool(const char *s, bool *out)
{
	if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on") || !strcmp(s, "1"))
		*out = true;
	else if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off") || !strcmp(s, "0"))
		*out = false;
	else
		return -CD_EINVAL;
	return 0;
}

const char *cd_opt_type_name(const struct cd_opt_spec *s)
{
	switch (s->type) {
	case CD_OPT_STRING:
		return "string";
	case CD_OPT_BOOL:
		return "bool";
	case CD_OPT_UINT:
		return "uint";
	case CD_OPT_SIZE:
		return "size";
	case CD_OPT_DURATION:
		return "duration";
	case CD_OPT_HOSTPORT:
		return "host:port";
	case CD_OPT_ENUM:
		return s->choices;
	case CD_OPT_PREFIX:
		return "prefix";
	}
	return "?";
}

const struct cd_opt_spec *cd_opt_spec_find(const struct cd_opt_spec *table, const char *key)
{
	for (const struct cd_opt_spec *s = table; s && s->key; s++) {
		size_t n = strlen(s->key);
		if (s->type == CD_OPT_PREFIX ? strncmp(key, s->key, n) == 0 && key[n]
					     : strcmp(key, s->key) == 0)
			return s;
	}
	return NULL;
}

int cd_opt_add(struct cd_output_conf *o, const char *key, size_t klen, const char *val, size_t vlen,
	       unsigned line, struct cd_err *err)
{
	struct cd_opt *op;

	for (unsigned i = 0; i < o->nopts; i++)
		if (strlen(o->opts[i].key) == klen && memcmp(o->opts[i].key, key, klen) == 0)
			return cd_err_set(err, -CD_EINVAL, 0, "option '%.*s' given twice", (int)klen, key);
	if (o->nopts >= CD_OUTPUT_OPTS_MAX)
		return cd_err_set(err, -CD_ELIMIT, 0, "more than %u options", CD_OUTPUT_OPTS_MAX);
	op = &o->opts[o->nopts];
	op->key = strndup(key, klen);
	op->val = strndup(val, vlen);
	op->line = line;
	if (!op->key || !op->val) {
		free(op->key);
		free(op->val);
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	}
	o->nopts++;
	return 0;
}

static const struct cd_opt *opt_find(const struct cd_output_conf *oc, const char *key)
{
	for (unsigned i = 0; i < oc->nopts; i++)
		if (strcmp(oc->opts[i].key, key) == 0)
			return &oc->opts[i];
	return NULL;
}

const char *cd_opt_get(const struct cd_output_conf *oc, const char *key)
{
	const struct cd_opt *op = opt_find(oc, key);

	return op ? op->val : NULL;
}

/* "output kafka#1, line 12: KEY: WHAT" or "output kafka#1: KEY: WHAT" */
static int opt_fail(const struct cd_output_conf *oc, const struct cd_opt *op, const char *key,
		    const char *what, struct cd_err *err)
{
	unsigned line = op && op->line ? op->line : oc->line;

	if (line)
		return cd_err_set(err, -CD_EINVAL, 0, "output %s, line %u: %s%s%s", oc->name ? oc->name : "?",
				  line, key ? key : "", key ? ": " : "", what);
	return cd_err_set(err, -CD_EINVAL, 0, "output %s: %s%s%s", oc->name ? oc->name : "?", key ? key : "",
			  key ? ": " : "", what);
}

int cd_opt_fail(const struct cd_output_conf *oc, const char *key, const char *what, struct cd_err *err)
{
	return opt_fail(oc, key ? opt_find(oc, key) : NULL, key, what, err);
}

int cd_opt_one_of(const struct cd_output_conf *oc, const char *a, const char *b, const char **out,
		  struct cd_err *err)
{
	const char *va = cd_opt_get(oc, a), *vb = cd_opt_get(oc, b);
	char what[96];

	if (va && vb) {
		snprintf(what, sizeof(what), "give %s or %s, not both", a, b);
		return cd_opt_fail(oc, b, what, err);
	}
	*out = va ? va : vb;
	return 0;
}

int cd_opt_u64(const struct cd_output_conf *oc, const char *key, uint64_t def, uint64_t max, uint64_t *out,
	       struct cd_err *err)
{
	const struct cd_opt *op = opt_find(oc, key);
	char what[64];

	if (!op) {
		*out = def;
		return 0;
	}
	if (cd_parse_u64(op->val, max, out) == 0)
		return 0;
	snprintf(what, sizeof(what), "expected a number up to %llu", (unsigned long long)max);
	return opt_fail(oc, op, op->key, what, err);
}

int cd_opt_ms(const struct cd_output_conf *oc, const char *key, uint64_t def, uint64_t *out,
	      struct cd_err *err)
{
	const struct cd_opt *op = opt_find(oc, key);

	if (!op) {
		*out = def;
		return 0;
	}
	if (cd_parse_duration_ms(op->val, out) == 0)
		return 0;
	return opt_fail(oc, op, op->key, "expected a duration (500ms, 5s, 2m)", err);
}

int cd_opt_size(const struct cd_output_conf *oc, const char *key, uint64_t def, uint64_t *out,
		struct cd_err *err)
{
	const struct cd_opt *op = opt_find(oc, key);

	if (!op) {
		*out = def;
		return 0;
	}
	if (cd_parse_size(op->val, out) == 0)
		return 0;
	return opt_fail(oc, op, op->key, "expected a size (4096, 64k, 10M)", err);
}

int cd_opt_bool(const struct cd_output_conf *oc, const char *key, bool def, bool *out, struct cd_err *err)
{
	const struct cd_opt *op = opt_find(oc, key);

	if (!op) {
		*out = def;
		return 0;
	}
	if (cd_parse_bool(op->val, out) == 0)
		return 0;
	return opt_fail(oc, op, op->key, "expected true or false", err);
}

int cd_opt_enum(const struct cd_output_conf *oc, const char *key, const char *choices, unsigned def,
		unsigned *out, struct cd_err *err)
{
	const struct cd_opt *op = opt_find(oc, key);
	char what[160] = "expected ";
	unsigned i = 0, n = 1;

	*out = def;
	if (!op)
		return 0;
	for (const char *c = choices;; i++) {
		const char *bar = strchr(c, '|');
		size_t len = bar ? (size_t)(bar - c) : strlen(c);

		if (strlen(op->val) == len && strncmp(op->val, c, len) == 0) {
			*out = i;
			return 0;
		}
		if (!bar)
			break;
		c = bar + 1;
	}
	/* "expected a, b or c" */
	for (const char *c = choices; *c; c++)
		n += *c == '|';
	i = 0;
	for (const char *c = choices;; i++) {
		const char *bar = strchr(c, '|');
		size_t used = strlen(what), len = bar ? (size_t)(bar - c) : strlen(c);

		snprintf(what + used, sizeof(what) - used, "%s%.*s",
			 i == 0	      ? ""
			 : i + 1 == n ? " or "
				      : ", ",
			 (int)len, c);
		if (!bar)
			break;
		c = bar + 1;
	}
	return opt_fail(oc, op, op->key, what, err);
}

int cd_opt_hostport(const struct cd_output_conf *oc, const char *key, uint16_t def_port, char *host,
		    size_t cap, uint16_t *port, struct cd_err *err)
{
	const struct cd_opt *op = opt_find(oc, key);
	const char *v, *colon, *hs;
	size_t hlen;
	uint64_t p = def_port;

	if (!op)
		return -CD_ENOENT;
	v = op->val;
	if (v[0] == '[') {
		const char *close = strchr(v, ']');
		if (!close)
			return opt_fail(oc, op, op->key, "expected [IPV6]:PORT", err);
		hs = v + 1;
		hlen = (size_t)(close - hs);
		colon = close[1] == ':' ? close + 1 : NULL;
		if (close[1] && !colon)
			return opt_fail(oc, op, op->key, "expected [IPV6]:PORT", err);
	} else {
		hs = v;
		colon = strrchr(v, ':');
		hlen = colon ? (size_t)(colon - v) : strlen(v);
	}
	if (colon && (cd_parse_u64(colon + 1, 65535, &p) < 0 || p == 0))
		return opt_fail(oc, op, op->key, "expected HOST:PORT with a port 1..65535", err);
	if (hlen == 0 || hlen >= cap)
		return opt_fail(oc, op, op->key, "expected HOST:PORT", err);
	memcpy(host, hs, hlen);
	host[hlen] = '\0';
	*port = (uint16_t)p;
	return 0;
}

/* Read option @op as its declared type @s, with the readers above (their messages). */
static int check_type(const struct cd_output_conf *oc, const struct cd_opt_spec *s, const struct cd_opt *op,
		      struct cd_err *err)
{
	char host[256];
	uint16_t port;
	uint64_t u;
	unsigned e;
	bool b;

	switch (s->type) {
	case CD_OPT_BOOL:
		return cd_opt_bool(oc, op->key, false, &b, err);
	case CD_OPT_UINT:
		return cd_opt_u64(oc, op->key, 0, s->max ? s->max : UINT64_MAX, &u, err);
	case CD_OPT_SIZE:
		return cd_opt_size(oc, op->key, 0, &u, err);
	case CD_OPT_DURATION:
		return cd_opt_ms(oc, op->key, 0, &u, err);
	case CD_OPT_HOSTPORT:
		/* a list of brokers is the plugin's to read; one HOST:PORT is checked here */
		if (strchr(op->val, ','))
			return 0;
		return cd_opt_hostport(oc, op->key, 0, host, sizeof(host), &port, err);
	case CD_OPT_ENUM:
		return cd_opt_enum(oc, op->key, s->choices, 0, &e, err);
	case CD_OPT_STRING:
	case CD_OPT_PREFIX:
		break;
	}
	return 0;
}

int cd_opts_check(const struct cd_output_conf *oc, const struct cd_opt_spec *table, struct cd_err *err)
{
	int rc;

	for (unsigned i = 0; i < oc->nopts; i++) {
		const struct cd_opt *op = &oc->opts[i];
		const struct cd_opt_spec *s = cd_opt_spec_find(table, op->key);
		char what[sizeof(err->msg)] = "unknown key (known:";

		if (s) {
			if ((rc = check_type(oc, s, op, err)) < 0)
				return rc;
			continue;
		}
		for (const struct cd_opt_spec *k = table; k && k->key; k++) {
			size_t used = strlen(what);
			snprintf(what + used, sizeof(what) - used, " %s%s%s", k->key,
				 k->type == CD_OPT_PREFIX ? "*" : "", k[1].key ? "," : ")");
		}
		return opt_fail(oc, op, op->key, what, err);
	}
	return 0;
}
