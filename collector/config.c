/*
 * config.c - the YAML file, the environment and command-line specs
 * (see config.h).
 *
 * DESIGN: the file is loaded whole as a libyaml document (it is small:
 * CD_CONFIG_BYTES_MAX) and walked node by node; every node keeps its
 * start mark, so every error names the line and column of the value at
 * fault. Unknown keys are errors, not warnings: a misspelt key silently
 * ignored is how a collector ends up tailing nothing. Values are checked
 * here, once; the stages trust the struct.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "config.h"
#include "fmt/record.h"
#include "parse/regex.h"
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
}

void cd_config_clear_inputs(struct cd_config *c)
{
	for (unsigned i = 0; i < c->nin; i++) {
		free(c->in[i].path);
		free(c->in[i].parser_name);
		free(c->in[i].ml_start);
		free(c->in[i].listen);
	}
	c->nin = 0;
}

static void output_release(struct cd_output_conf *o)
{
	free(o->path);
	free(o->name);
	for (unsigned i = 0; i < o->nopts; i++) {
		free(o->opts[i].key);
		free(o->opts[i].val);
	}
	memset(o, 0, sizeof(*o));
}

void cd_config_clear_outputs(struct cd_config *c)
{
	for (unsigned i = 0; i < c->nout; i++)
		output_release(&c->out[i]);
	c->nout = 0;
}

static const char *const out_type_names[CD_OUT_TYPES] = {
	[CD_OUT_ARCHIVE] = "archive",
	[CD_OUT_STDOUT] = "stdout",
	[CD_OUT_FILE] = "file",
	[CD_OUT_KAFKA] = "kafka",
	[CD_OUT_LOGSTASH_TCP] = "logstash+tcp",
	[CD_OUT_LOGSTASH_UDP] = "logstash+udp",
	[CD_OUT_LOGSTASH_HTTP] = "logstash+http",
	[CD_OUT_LOGSTASH_REDIS] = "logstash+redis",
	[CD_OUT_INFLUXDB] = "influxdb",
	[CD_OUT_INFLUXDB2] = "influxdb2",
	[CD_OUT_NULL] = "null",
};

const char *cd_out_type_name(enum cd_out_type t)
{
	return (unsigned)t < CD_OUT_TYPES ? out_type_names[t] : "?";
}

int cd_out_type_from_name(const char *name)
{
	for (int t = 0; t < CD_OUT_TYPES; t++)
		if (strcmp(name, out_type_names[t]) == 0)
			return t;
	return -1;
}

static const char *const in_type_names[CD_IN_TYPES] = {
	[CD_IN_STDIN] = "stdin",       /* -i stdin */
	[CD_IN_TAIL] = "tail",	       /* -i tail:GLOB */
	[CD_IN_TCP] = "tcp",	       /* -i tcp://HOST:PORT */
	[CD_IN_UDP] = "udp",	       /* -i udp://HOST:PORT */
	[CD_IN_UNIX] = "unix",	       /* -i unix:///PATH */
	[CD_IN_UNIXGRAM] = "unixgram", /* -i unixgram:///PATH */
	[CD_IN_HTTP] = "http",	       /* -i http://HOST:PORT/PATH */
};

const char *cd_in_type_name(enum cd_in_type t)
{
	return (unsigned)t < CD_IN_TYPES ? in_type_names[t] : "?";
}

bool cd_in_is_network(enum cd_in_type t)
{
	return t >= CD_IN_TCP && t < CD_IN_TYPES;
}

/* Whether @t takes its settings as options (the network outputs). */
static bool takes_opts(enum cd_out_type t)
{
	return t != CD_OUT_ARCHIVE && t != CD_OUT_STDOUT && t != CD_OUT_FILE && t != CD_OUT_NULL;
}

/* --- options of network outputs ---------------------------------------- */

static int opt_add(struct cd_output_conf *o, const char *key, size_t klen, const char *val, size_t vlen,
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

const char *cd_opt_get(const struct cd_output_conf *oc, const char *key)
{
	for (unsigned i = 0; i < oc->nopts; i++)
		if (strcmp(oc->opts[i].key, key) == 0)
			return oc->opts[i].val;
	return NULL;
}

static const struct cd_opt *opt_find(const struct cd_output_conf *oc, const char *key)
{
	for (unsigned i = 0; i < oc->nopts; i++)
		if (strcmp(oc->opts[i].key, key) == 0)
			return &oc->opts[i];
	return NULL;
}

/* "output kafka#1 (line 12)" or "output kafka#1" */
static int opt_fail(const struct cd_output_conf *oc, const struct cd_opt *op, const char *what,
		    struct cd_err *err)
{
	unsigned line = op && op->line ? op->line : oc->line;

	if (line)
		return cd_err_set(err, -CD_EINVAL, 0, "output %s, line %u: %s%s%s", oc->name ? oc->name : "?",
				  line, op ? op->key : "", op ? ": " : "", what);
	return cd_err_set(err, -CD_EINVAL, 0, "output %s: %s%s%s", oc->name ? oc->name : "?",
			  op ? op->key : "", op ? ": " : "", what);
}

int cd_opts_check(const struct cd_output_conf *oc, const char *const *known, struct cd_err *err)
{
	for (unsigned i = 0; i < oc->nopts; i++) {
		const char *k = oc->opts[i].key;
		char what[160] = "unknown key (known:";

		for (const char *const *kn = known; *kn; kn++) {
			size_t n = strlen(*kn);
			if ((*kn)[n - 1] == '.' ? strncmp(k, *kn, n) == 0 && k[n] : strcmp(k, *kn) == 0)
				goto next;
		}
		for (const char *const *kn = known; *kn; kn++) {
			size_t used = strlen(what);
			snprintf(what + used, sizeof(what) - used, " %s%s", *kn, kn[1] ? "," : ")");
		}
		return opt_fail(oc, &oc->opts[i], what, err);
next:;
	}
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
	return opt_fail(oc, op, what, err);
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
	return opt_fail(oc, op, "expected a duration (500ms, 5s, 2m)", err);
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
	return opt_fail(oc, op, "expected a size (4096, 64k, 10M)", err);
}

static int parse_bool(const char *s, bool *out);

int cd_opt_bool(const struct cd_output_conf *oc, const char *key, bool def, bool *out, struct cd_err *err)
{
	const struct cd_opt *op = opt_find(oc, key);

	if (!op) {
		*out = def;
		return 0;
	}
	if (parse_bool(op->val, out) == 0)
		return 0;
	return opt_fail(oc, op, "expected true or false", err);
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
			return opt_fail(oc, op, "expected [IPV6]:PORT", err);
		hs = v + 1;
		hlen = (size_t)(close - hs);
		colon = close[1] == ':' ? close + 1 : NULL;
		if (close[1] && !colon)
			return opt_fail(oc, op, "expected [IPV6]:PORT", err);
	} else {
		hs = v;
		colon = strrchr(v, ':');
		hlen = colon ? (size_t)(colon - v) : strlen(v);
	}
	if (colon && (cd_parse_u64(colon + 1, 65535, &p) < 0 || p == 0))
		return opt_fail(oc, op, "expected HOST:PORT with a port 1..65535", err);
	if (hlen == 0 || hlen >= cap)
		return opt_fail(oc, op, "expected HOST:PORT", err);
	memcpy(host, hs, hlen);
	host[hlen] = '\0';
	*port = (uint16_t)p;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode %XX escapes of s[0..n) into a new string (a '%' not followed by two hex digits stays). */
static char *pct_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			*o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

/* Add an option whose value is percent-decoded. */
static int opt_add_decoded(struct cd_output_conf *o, const char *key, size_t klen, const char *val,
			   size_t vlen, struct cd_err *err)
{
	char *k = pct_decode(key, klen), *v = pct_decode(val, vlen);
	int rc;

	if (!k || !v)
		rc = cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	else
		rc = opt_add(o, k, strlen(k), v, strlen(v), 0, err);
	free(k);
	free(v);
	return rc;
}

/* SCHEME://[USER[:PASS]@]HOST[:PORT][/PATH][?K=V&...] into @o's options. */
static int parse_uri(struct cd_output_conf *o, const char *uri, struct cd_err *err)
{
	const char *p = strstr(uri, "://") + 3, *end, *at, *slash, *q;
	int rc;

	q = strchr(p, '?');
	end = q ? q : p + strlen(p);
	slash = memchr(p, '/', (size_t)(end - p));
	at = memchr(p, '@', (size_t)((slash ? slash : end) - p));
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		if ((rc = opt_add_decoded(o, "user", 4, p, (size_t)((colon ? colon : at) - p), err)) < 0)
			return rc;
		if (colon &&
		    (rc = opt_add_decoded(o, "password", 8, colon + 1, (size_t)(at - colon - 1), err)) < 0)
			return rc;
		p = at + 1;
	}
	if ((slash ? slash : end) == p)
		return cd_err_set(err, -CD_EINVAL, 0, "output '%s': no HOST[:PORT] after ://", uri);
	if ((rc = opt_add(o, "address", 7, p, (size_t)((slash ? slash : end) - p), 0, err)) < 0)
		return rc;
	if (slash && end - slash > 1 &&
	    (rc = opt_add_decoded(o, "path", 4, slash + 1, (size_t)(end - slash - 1), err)) < 0)
		return rc;
	while (q && *q) {
		const char *kv = q + 1, *amp = strchr(kv, '&'), *kend = amp ? amp : kv + strlen(kv);
		const char *eq = memchr(kv, '=', (size_t)(kend - kv));
		if (kend > kv) {
			if (!eq || eq == kv)
				return cd_err_set(err, -CD_EINVAL, 0,
						  "output '%s': expected KEY=VALUE in the query", uri);
			if ((rc = opt_add_decoded(o, kv, (size_t)(eq - kv), eq + 1, (size_t)(kend - eq - 1),
						  err)) < 0)
				return rc;
		}
		q = amp;
	}
	return 0;
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
	free(c->http_listen);
	memset(c, 0, sizeof(*c));
}

/* Replace the owned string *@dst with a copy of @s. */
static int set_str(char **dst, const char *s, struct cd_err *err)
{
	char *n = cd_strdup(s);

	if (s && !n)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	free(*dst);
	*dst = n;
	return 0;
}

/* The built-in parser called @name; false for any other name. */
static bool builtin_parser(const char *name, enum cd_parser *p)
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
static bool valid_parser_name(const char *name)
{
	enum cd_parser p;

	if (!*name || builtin_parser(name, &p))
		return false;
	for (const char *q = name; *q; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
		      *q == '_' || *q == '.' || *q == '-'))
			return false;
	return true;
}

static int find_parser(const struct cd_config *c, const char *name)
{
	for (unsigned i = 0; i < c->nrx; i++)
		if (strcmp(c->rx[i].name, name) == 0)
			return (int)i;
	return -1;
}

int cd_config_set_parser(struct cd_config *c, const char *name, struct cd_err *err)
{
	enum cd_parser p;

	if (strncmp(name, "regex:", 6) == 0)
		return cd_config_set_regex(c, name + 6, NULL, err);
	if (builtin_parser(name, &p)) {
		c->parser = p;
		free(c->parser_name);
		c->parser_name = NULL;
		return 0;
	}
	if (!valid_parser_name(name))
		return cd_err_set(err, -CD_EINVAL, 0,
				  "parser '%s': expected auto, pipe, json, regex:PATTERN or a parser's name",
				  name);
	c->parser = CD_PARSER_REGEX;
	return set_str(&c->parser_name, name, err);
}

int cd_config_set_regex(struct cd_config *c, const char *pattern, const char *time_format, struct cd_err *err)
{
	struct cd_parser_conf *pc;
	int i = find_parser(c, "regex"), rc;

	if (i < 0) {
		if (c->nrx >= CD_PARSERS_MAX)
			return cd_err_set(err, -CD_ELIMIT, 0, "more than %u parsers", CD_PARSERS_MAX);
		i = (int)c->nrx;
		memset(&c->rx[i], 0, sizeof(c->rx[i]));
		if ((rc = set_str(&c->rx[i].name, "regex", err)) < 0)
			return rc;
		c->nrx++;
	}
	pc = &c->rx[i];
	pc->line = pc->col = 0;
	if ((rc = set_str(&pc->regex, pattern, err)) < 0 ||
	    (rc = set_str(&pc->time_format, time_format, err)) < 0)
		return rc;
	c->parser = CD_PARSER_REGEX;
	c->parser_line = 0;
	return set_str(&c->parser_name, "regex", err);
}

int cd_config_set_multiline_start(struct cd_config *c, const char *regex, struct cd_err *err)
{
	int rc;

	for (unsigned i = 0; i < c->nin; i++) {
		if ((rc = set_str(&c->in[i].ml_start, regex, err)) < 0)
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
	const char *name = c->in[idx].parser_name;
	int k;

	*rx = NULL;
	if (name && builtin_parser(name, p))
		return 0;
	if (!name && c->parser != CD_PARSER_REGEX) {
		*p = c->parser;
		return 0;
	}
	if (!name)
		name = c->parser_name;
	if (!name || (k = find_parser(c, name)) < 0)
		return -CD_ENOENT;
	*p = CD_PARSER_REGEX;
	*rx = &c->rx[k];
	return 0;
}

static int parse_level(const char *s, int *out)
{
	enum fmt_level l = fmt_level_from_text(s, strlen(s));

	if (l == FMT_LEVEL_OTHER || l == FMT_LEVEL_NONE)
		return -CD_EINVAL;
	*out = (int)l;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on") || !strcmp(s, "1"))
		*out = true;
	else if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off") || !strcmp(s, "0"))
		*out = false;
	else
		return -CD_EINVAL;
	return 0;
}

static struct cd_input_conf *new_input(struct cd_config *c, struct cd_err *err)
{
	if (c->nin >= CD_INPUTS_MAX) {
		cd_err_set(err, -CD_ELIMIT, 0, "more than %u inputs", CD_INPUTS_MAX);
		return NULL;
	}
	memset(&c->in[c->nin], 0, sizeof(c->in[0]));
	return &c->in[c->nin++];
}

static struct cd_output_conf *new_output(struct cd_config *c, struct cd_err *err)
{
	if (c->nout >= CD_OUTPUTS_MAX) {
		cd_err_set(err, -CD_ELIMIT, 0, "more than %u outputs", CD_OUTPUTS_MAX);
		return NULL;
	}
	memset(&c->out[c->nout], 0, sizeof(c->out[0]));
	return &c->out[c->nout++];
}

/* --- network inputs ------------------------------------------------------ */

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/*
 * The address input @t listens on, from @a (@n bytes), as util/net.h
 * takes it, into *@out (allocated). "PORT" and ":PORT" bind 127.0.0.1:
 * beyond loopback only when an address says so. For unix and unixgram a
 * bare PATH is "unix:PATH". Numeric hosts only, checked here so that
 * --check-config catches them.
 */
static int net_addr(enum cd_in_type t, const char *a, size_t n, char **out, struct cd_err *err)
{
	const bool is_unix = t == CD_IN_UNIX || t == CD_IN_UNIXGRAM;
	char host[64], buf[CD_INPUT_NAME_MAX];
	const char *port;
	uint64_t pn;
	unsigned char bin[16];

	if (n == 0)
		return cd_err_set(err, -CD_EINVAL, 0, "%s input: empty listen address", cd_in_type_name(t));
	if (n >= sizeof(buf) - 16)
		return cd_err_set(err, -CD_EINVAL, 0, "%s input: listen address too long",
				  cd_in_type_name(t));
	if (n >= 5 && memcmp(a, "unix:", 5) == 0) {
		if (t != CD_IN_UNIX && t != CD_IN_UNIXGRAM && t != CD_IN_HTTP)
			return cd_err_set(err, -CD_EINVAL, 0,
					  "%s input: '%.*s' is a unix socket (use type unix or unixgram)",
					  cd_in_type_name(t), (int)n, a);
		if (n == 5)
			return cd_err_set(err, -CD_EINVAL, 0, "%s input: unix: without a path",
					  cd_in_type_name(t));
		snprintf(buf, sizeof(buf), "%.*s", (int)n, a);
	} else if (is_unix) {
		snprintf(buf, sizeof(buf), "unix:%.*s", (int)n, a);
	} else if (all_digits(a, n) || (a[0] == ':' && all_digits(a + 1, n - 1))) {
		snprintf(buf, sizeof(buf), "127.0.0.1:%.*s", (int)(n - (a[0] == ':')), a + (a[0] == ':'));
	} else {
		snprintf(buf, sizeof(buf), "%.*s", (int)n, a);
	}
	if (strncmp(buf, "unix:", 5) != 0) {
		port = strrchr(buf, ':');
		if (buf[0] == '[') {
			const char *rb = strchr(buf, ']');
			if (!rb || rb[1] != ':' || (size_t)(rb - buf - 1) >= sizeof(host))
				return cd_err_set(err, -CD_EINVAL, 0, "%s input: '%s': expected [IPV6]:PORT",
						  cd_in_type_name(t), buf);
			snprintf(host, sizeof(host), "%.*s", (int)(rb - buf - 1), buf + 1);
			port = rb + 1;
		} else if (port && (size_t)(port - buf) < sizeof(host)) {
			snprintf(host, sizeof(host), "%.*s", (int)(port - buf), buf);
		} else {
			return cd_err_set(err, -CD_EINVAL, 0, "%s input: '%s': expected HOST:PORT",
					  cd_in_type_name(t), buf);
		}
		if (inet_pton(buf[0] == '[' ? AF_INET6 : AF_INET, host, bin) != 1)
			return cd_err_set(err, -CD_EINVAL, 0,
					  "%s input: '%s': the host must be a numeric IPv4 or [IPv6] address",
					  cd_in_type_name(t), buf);
		if (cd_parse_u64(port + 1, 65535, &pn) < 0)
			return cd_err_set(err, -CD_EINVAL, 0, "%s input: '%s': expected a port 0..65535",
					  cd_in_type_name(t), buf);
	}
	return set_str(out, buf, err);
}

/* A network input of type @t: listen address @la (@ln bytes), @path (http), @maxc (0: default). */
static int net_input(struct cd_config *c, enum cd_in_type t, const char *la, size_t ln, const char *path,
		     uint64_t maxc, unsigned line, struct cd_err *err)
{
	struct cd_input_conf *in;
	int rc;

	if (maxc && (t == CD_IN_UDP || t == CD_IN_UNIXGRAM))
		return cd_err_set(err, -CD_EINVAL, 0, "%s input: max_connections: a datagram socket has none",
				  cd_in_type_name(t));
	if (maxc > CD_NET_CONNECTIONS_MAX)
		return cd_err_set(err, -CD_EINVAL, 0, "%s input: max_connections must be 1..%u",
				  cd_in_type_name(t), CD_NET_CONNECTIONS_MAX);
	if (path && t != CD_IN_HTTP)
		return cd_err_set(err, -CD_EINVAL, 0, "%s input: a URL path is for http inputs",
				  cd_in_type_name(t));
	if (path && (path[0] != '/' || strpbrk(path, "?# \t\r\n") || strlen(path) >= 1024))
		return cd_err_set(err, -CD_EINVAL, 0, "http input: path '%s': expected /SOME/PATH", path);
	if (!(in = new_input(c, err)))
		return -CD_ELIMIT;
	in->type = t;
	in->line = line;
	in->max_connections = maxc ? (unsigned)maxc : CD_NET_CONNECTIONS_DEFAULT;
	if ((rc = net_addr(t, la, ln, &in->listen, err)) < 0 ||
	    (t == CD_IN_HTTP && (rc = set_str(&in->path, path ? path : "/", err)) < 0)) {
		free(in->listen);
		memset(in, 0, sizeof(*in));
		c->nin--;
		return rc;
	}
	return 0;
}

/* -i SCHEME://REST: REST is ADDR[/PATH][?max_connections=N] (unix, unixgram: the socket path). */
static int net_spec(struct cd_config *c, enum cd_in_type t, const char *spec, const char *rest,
		    struct cd_err *err)
{
	const char *q = strchr(rest, '?'), *end = q ? q : rest + strlen(rest), *slash = NULL;
	char path[1024];
	uint64_t maxc = 0;
	int rc;

	if (q) {
		if (strncmp(q + 1, "max_connections=", 16) != 0 ||
		    cd_parse_u64(q + 17, CD_NET_CONNECTIONS_MAX, &maxc) < 0 || maxc == 0)
			return cd_err_set(err, -CD_EINVAL, 0,
					  "input '%s': the only parameter is max_connections=1..%u", spec,
					  CD_NET_CONNECTIONS_MAX);
	}
	if (t != CD_IN_UNIX && t != CD_IN_UNIXGRAM) {
		const char *rb = rest[0] == '[' ? memchr(rest, ']', (size_t)(end - rest)) : NULL;
		slash = memchr(rb ? rb : rest, '/', (size_t)(end - (rb ? rb : rest)));
	}
	if (slash && t != CD_IN_HTTP && end - slash > 1)
		return cd_err_set(err, -CD_EINVAL, 0, "input '%s': a %s input has no URL path", spec,
				  cd_in_type_name(t));
	if (t == CD_IN_HTTP && slash) {
		if ((size_t)(end - slash) >= sizeof(path))
			return cd_err_set(err, -CD_EINVAL, 0, "input '%s': path too long", spec);
		snprintf(path, sizeof(path), "%.*s", (int)(end - slash), slash);
	}
	rc = net_input(c, t, rest, (size_t)((slash ? slash : end) - rest),
		       t == CD_IN_HTTP && slash ? path : NULL, maxc, 0, err);
	if (rc < 0 && err && !strstr(err->msg, spec)) {
		char m[sizeof(err->msg)];
		snprintf(m, sizeof(m), "%s", err->msg);
		cd_err_set(err, rc, err->sys_errno, "input '%s': %s", spec, m);
	}
	return rc;
}

int cd_config_add_input_spec(struct cd_config *c, const char *spec, struct cd_err *err)
{
	struct cd_input_conf *in;

	if (strcmp(spec, "stdin") == 0) {
		for (unsigned i = 0; i < c->nin; i++)
			if (c->in[i].type == CD_IN_STDIN)
				return cd_err_set(err, -CD_EINVAL, 0, "input 'stdin' given twice");
		if (!(in = new_input(c, err)))
			return -CD_ELIMIT;
		in->type = CD_IN_STDIN;
		return 0;
	}
	if (strncmp(spec, "tail:", 5) == 0 && spec[5]) {
		if (strlen(spec + 5) >= CD_INPUT_NAME_MAX - 64)
			return cd_err_set(err, -CD_EINVAL, 0, "input '%s': path too long", spec);
		if (!(in = new_input(c, err)))
			return -CD_ELIMIT;
		in->type = CD_IN_TAIL;
		if (set_str(&in->path, spec + 5, err) < 0) {
			c->nin--;
			return -CD_ENOMEM;
		}
		return 0;
	}
	for (int t = CD_IN_TCP; t < CD_IN_TYPES; t++) {
		size_t n = strlen(in_type_names[t]);
		if (strncmp(spec, in_type_names[t], n) == 0 && strncmp(spec + n, "://", 3) == 0)
			return net_spec(c, (enum cd_in_type)t, spec, spec + n + 3, err);
	}
	/* unix:PATH and unixgram:PATH, as util/net.h writes addresses */
	if (strncmp(spec, "unix:", 5) == 0)
		return net_spec(c, CD_IN_UNIX, spec, spec + 5, err);
	if (strncmp(spec, "unixgram:", 9) == 0)
		return net_spec(c, CD_IN_UNIXGRAM, spec, spec + 9, err);
	return cd_err_set(err, -CD_EINVAL, 0,
			  "input '%s': expected stdin, tail:PATH_OR_GLOB, tcp://HOST:PORT, udp://HOST:PORT, "
			  "unix:///PATH, unixgram:///PATH or http://HOST:PORT/PATH",
			  spec);
}

static int parse_outfmt(const char *s, enum cd_out_format *f)
{
	if (strcmp(s, "json") == 0)
		*f = CD_OUTFMT_JSON;
	else if (strcmp(s, "pipe") == 0)
		*f = CD_OUTFMT_PIPE;
	else if (strcmp(s, "logstash") == 0)
		*f = CD_OUTFMT_LOGSTASH;
	else
		return -CD_EINVAL;
	return 0;
}

int cd_config_add_output_spec(struct cd_config *c, const char *spec, struct cd_err *err)
{
	struct cd_output_conf *o;
	const char *arg;

	if (strcmp(spec, "stdout") == 0 || strncmp(spec, "stdout:", 7) == 0) {
		enum cd_out_format f = CD_OUTFMT_JSON;

		if (spec[6] && parse_outfmt(spec + 7, &f) < 0)
			return cd_err_set(err, -CD_EINVAL, 0,
					  "output '%s': expected stdout:json or stdout:pipe", spec);
		if (!(o = new_output(c, err)))
			return -CD_ELIMIT;
		o->type = CD_OUT_STDOUT;
		o->format = f;
		return 0;
	}
	if (strcmp(spec, "null") == 0) {
		if (!(o = new_output(c, err)))
			return -CD_ELIMIT;
		o->type = CD_OUT_NULL;
		return 0;
	}
	if (strncmp(spec, "archive:", 8) == 0 && spec[8]) {
		if (!(o = new_output(c, err)))
			return -CD_ELIMIT;
		o->type = CD_OUT_ARCHIVE;
		if (set_str(&o->path, spec + 8, err) < 0) {
			c->nout--;
			return -CD_ENOMEM;
		}
		return 0;
	}
	if (strncmp(spec, "file:", 5) == 0 && spec[5]) {
		enum cd_out_format f = CD_OUTFMT_JSON;
		size_t n;

		arg = spec + 5;
		n = strlen(arg);
		/* a trailing ":json" / ":pipe" is the format, the rest the path */
		if (n > 5 && (strcmp(arg + n - 5, ":json") == 0 || strcmp(arg + n - 5, ":pipe") == 0)) {
			parse_outfmt(arg + n - 4, &f);
			n -= 5;
		} else if (n > 9 && strcmp(arg + n - 9, ":logstash") == 0) {
			f = CD_OUTFMT_LOGSTASH;
			n -= 9;
		}
		if (!(o = new_output(c, err)))
			return -CD_ELIMIT;
		o->type = CD_OUT_FILE;
		o->format = f;
		o->path = strndup(arg, n);
		if (!o->path) {
			c->nout--;
			return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
		}
		return 0;
	}
	if ((arg = strstr(spec, "://")) != NULL) {
		char scheme[32];
		int t;

		if ((size_t)(arg - spec) >= sizeof(scheme))
			return cd_err_set(err, -CD_EINVAL, 0, "output '%s': unknown scheme", spec);
		memcpy(scheme, spec, (size_t)(arg - spec));
		scheme[arg - spec] = '\0';
		t = cd_out_type_from_name(scheme);
		if (t < 0 || !takes_opts((enum cd_out_type)t))
			return cd_err_set(err, -CD_EINVAL, 0,
					  "output '%s': unknown scheme '%s' (expected kafka, logstash+tcp, "
					  "logstash+udp, logstash+http, logstash+redis, influxdb, influxdb2)",
					  spec, scheme);
		if (!(o = new_output(c, err)))
			return -CD_ELIMIT;
		o->type = (enum cd_out_type)t;
		if (parse_uri(o, spec, err) < 0) {
			output_release(o);
			c->nout--;
			return err ? err->code : -CD_EINVAL;
		}
		return 0;
	}
	return cd_err_set(err, -CD_EINVAL, 0,
			  "output '%s': expected archive:DIR, stdout[:json|pipe], file:PATH[:json|pipe] or "
			  "a URI such as kafka://HOST:PORT/TOPIC",
			  spec);
}

/* --- YAML ------------------------------------------------------------- */

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
	if (parse_bool(s, b) < 0)
		return yfail(y, n, "expected true or false for", key);
	return 0;
}

static int ystr(struct yctx *y, const yaml_node_t *n, const char *key, char **dst)
{
	const char *s;

	YS(s, n, key);
	if (!*s)
		return yfail(y, n, "empty value for", key);
	return set_str(dst, s, y->err);
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

/* A network input from the YAML keys: listen, path, max_connections. */
static int load_net_input(struct yctx *y, struct cd_config *c, yaml_node_t *m, enum cd_in_type t,
			  const char *listen, const char *path, const char *maxc, yaml_node_t *maxc_node)
{
	uint64_t n = 0;
	int rc;

	if ((t == CD_IN_UNIX || t == CD_IN_UNIXGRAM) && path) {
		/* path: PATH is the socket's path here, the same as listen: unix:PATH */
		if (listen)
			return yfail(y, m, "give listen or path, not both, for input", cd_in_type_name(t));
		listen = path;
		path = NULL;
	}
	if (!listen)
		return yfail(y, m, "network input needs", "listen");
	if (maxc && (cd_parse_u64(maxc, CD_NET_CONNECTIONS_MAX, &n) < 0 || n == 0))
		return yfail(y, maxc_node, "expected a number 1..65536 for", "max_connections");
	rc = net_input(c, t, listen, strlen(listen), path, n, (unsigned)m->start_mark.line + 1, y->err);
	if (rc < 0) {
		char msg[sizeof(y->err->msg)];
		snprintf(msg, sizeof(msg), "%s", y->err->msg); /* yfail() writes y->err */
		return yfail(y, m, msg, NULL);
	}
	return 0;
}

static int load_input(struct yctx *y, struct cd_config *c, yaml_node_t *m)
{
	struct cd_input_conf *in;
	const char *k, *type = NULL, *from = NULL, *listen = NULL, *maxc = NULL;
	yaml_node_t *kn, *v, *type_node = m, *from_node = m, *ml_node = m, *maxc_node = m;
	char *path = NULL, *parser = NULL, *ml = NULL;
	int rc;

	if ((rc = ymap_check(y, m, "an input")) < 0)
		return rc;
	YMAP_FOR(m, k, kn, v)
	{
		if (strcmp(k, "type") == 0) {
			YS(type, v, k);
			type_node = v;
		} else if (strcmp(k, "path") == 0) {
			if ((rc = ystr(y, v, k, &path)) < 0)
				goto out;
		} else if (strcmp(k, "read_from") == 0) {
			YS(from, v, k);
			from_node = v;
		} else if (strcmp(k, "parser") == 0) {
			if ((rc = ystr(y, v, k, &parser)) < 0)
				goto out;
		} else if (strcmp(k, "multiline_start") == 0) {
			if ((rc = ystr(y, v, k, &ml)) < 0)
				goto out;
			ml_node = v;
		} else if (strcmp(k, "listen") == 0) {
			YS(listen, v, k);
		} else if (strcmp(k, "max_connections") == 0) {
			YS(maxc, v, k);
			maxc_node = v;
		} else {
			rc = yfail(y, kn, "unknown input key", k);
			goto out;
		}
	}
	if (!type) {
		rc = yfail(y, m, "input without", "type");
		goto out;
	}
	if ((listen || maxc) && (strcmp(type, "stdin") == 0 || strcmp(type, "tail") == 0)) {
		rc = yfail(y, m, "listen and max_connections are for network inputs, not", type);
		goto out;
	}
	if (strcmp(type, "stdin") == 0) {
		if (path || from) {
			rc = yfail(y, m, "input stdin takes no path or read_from", NULL);
			goto out;
		}
		if ((rc = cd_config_add_input_spec(c, "stdin", y->err)) < 0) {
			rc = yfail(y, m, y->err->msg, NULL);
			goto out;
		}
	} else if (strcmp(type, "tail") == 0) {
		if (!path) {
			rc = yfail(y, m, "input tail needs", "path");
			goto out;
		}
		if (!(in = new_input(c, y->err))) {
			rc = yfail(y, m, y->err->msg, NULL);
			goto out;
		}
		in->type = CD_IN_TAIL;
		in->path = path;
		path = NULL;
		in->line = (unsigned)m->start_mark.line + 1;
		if (from && strcmp(from, "tail") == 0) {
			in->from_tail = true;
		} else if (from && strcmp(from, "head") != 0) {
			rc = yfail(y, from_node, "expected head or tail for", "read_from");
			goto out;
		}
	} else {
		int t = -1;
		for (int i = CD_IN_TCP; i < CD_IN_TYPES; i++)
			if (strcmp(type, in_type_names[i]) == 0)
				t = i;
		if (t < 0) {
			rc = yfail(
				y, type_node,
				"unknown input type (expected tail, stdin, tcp, udp, unix, unixgram or http):",
				type);
			goto out;
		}
		if (from) {
			rc = yfail(y, from_node, "read_from is for tail inputs, not", type);
			goto out;
		}
		if ((rc = load_net_input(y, c, m, (enum cd_in_type)t, listen, path, maxc, maxc_node)) < 0)
			goto out;
	}
	in = &c->in[c->nin - 1];
	in->line = (unsigned)m->start_mark.line + 1;
	in->parser_name = parser;
	parser = NULL;
	in->ml_start = ml;
	ml = NULL;
	in->ml_line = (unsigned)ml_node->start_mark.line + 1;
	in->ml_col = (unsigned)ml_node->start_mark.column + 1;
	rc = 0;
out:
	free(path);
	free(parser);
	free(ml);
	return rc;
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
	if (!valid_parser_name(tmp.name)) {
		rc = yfail(y, name_node,
			   "parser names are [A-Za-z0-9_.-]+ and not auto, pipe or json:", tmp.name);
		goto out;
	}
	if (find_parser(c, tmp.name) >= 0) {
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
static int yopts(struct yctx *y, struct cd_output_conf *o, yaml_node_t *kn, yaml_node_t *v,
		 const char *prefix)
{
	const char *k;
	yaml_node_t *kn2, *v2;
	char key[256];
	int rc;

	if (v->type == YAML_SCALAR_NODE) {
		if (opt_add(o, prefix, strlen(prefix), (const char *)v->data.scalar.value,
			    v->data.scalar.length, (unsigned)v->start_mark.line + 1, y->err) < 0)
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

static int load_output(struct yctx *y, struct cd_config *c, yaml_node_t *m)
{
	struct cd_output_conf *o;
	const char *k, *type = NULL, *fmt = NULL;
	yaml_node_t *kn, *v, *type_node = m, *fmt_node = m;
	struct cd_output_conf tmp;
	int rc, t;

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
	if ((t = cd_out_type_from_name(type)) < 0)
		return yfail(y, type_node,
			     "unknown output type (expected archive, stdout, file, kafka, logstash+tcp, "
			     "logstash+udp, logstash+http, logstash+redis, influxdb or influxdb2):",
			     type);
	tmp.type = (enum cd_out_type)t;
	YMAP_FOR(m, k, kn, v)
	{
		if (strcmp(k, "type") == 0)
			continue;
		if (strcmp(k, "name") == 0)
			rc = ystr(y, v, k, &tmp.name);
		else if (takes_opts(tmp.type))
			rc = yopts(y, &tmp, kn, v, k);
		else if (strcmp(k, "path") == 0)
			rc = ystr(y, v, k, &tmp.path);
		else if (strcmp(k, "format") == 0) {
			YS(fmt, v, k);
			fmt_node = v;
		} else if (strcmp(k, "max_bytes") == 0)
			rc = ysize(y, v, k, &tmp.max_bytes);
		else if (strcmp(k, "max_age") == 0)
			rc = ydur(y, v, k, &tmp.max_age_ms);
		else if (strcmp(k, "segment_bytes") == 0)
			rc = ysize(y, v, k, &tmp.segment_bytes);
		else
			rc = yfail(y, kn, "unknown output key", k);
		if (rc < 0)
			goto out;
	}
	if (takes_opts(tmp.type))
		goto add;
	if (fmt && (tmp.type == CD_OUT_ARCHIVE || parse_outfmt(fmt, &tmp.format) < 0)) {
		rc = yfail(y, fmt_node,
			   tmp.type == CD_OUT_ARCHIVE ? "an archive has no" : "expected json or pipe for",
			   "format");
		goto out;
	}
	if (tmp.type != CD_OUT_STDOUT && tmp.type != CD_OUT_NULL && !tmp.path) {
		rc = yfail(y, m, "this output needs", "path");
		goto out;
	}
	if (tmp.type == CD_OUT_STDOUT && tmp.path) {
		rc = yfail(y, m, "stdout takes no", "path");
		goto out;
	}
	if (tmp.type != CD_OUT_ARCHIVE && (tmp.max_bytes || tmp.max_age_ms || tmp.segment_bytes)) {
		rc = yfail(y, m, "max_bytes, max_age and segment_bytes are archive settings", NULL);
		goto out;
	}
add:
	if (!(o = new_output(c, y->err))) {
		rc = yfail(y, m, y->err->msg, NULL);
		goto out;
	}
	*o = tmp;
	o->line = (unsigned)m->start_mark.line + 1;
	return 0;
out:
	output_release(&tmp);
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
				rc = yfail(y, v,
					   "expected auto, pipe, json, regex:PATTERN or a parser's name for",
					   k);
			c->parser_line = (unsigned)v->start_mark.line + 1;
		} else if (strcmp(k, "parsers") == 0) {
			rc = load_list(y, c, v, k, load_parser);
		} else if (strcmp(k, "log_level") == 0) {
			YS(s, v, k);
			if (parse_level(s, &c->log_level) < 0)
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
		rc = set_str(&c->file, path, err);
out_doc:
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
out_close:
	fclose(f);
	return rc;
}

int cd_config_env(struct cd_config *c, struct cd_err *err)
{
	const char *s;
	uint64_t *const durs[] = {&c->multiline_ms, &c->chunk_age_ms, &c->drain_ms};
	static const char *const dur_names[] = {"CLEWD_MULTILINE_TIMEOUT", "CLEWD_CHUNK_AGE",
						"CLEWD_DRAIN_TIMEOUT"};
	int rc;

	if ((s = getenv("CLEWD_STATE_DIR")) && *s && (rc = set_str(&c->state_dir, s, err)) < 0)
		return rc;
	if ((s = getenv("CLEWD_CHECKPOINT")) && *s && (rc = set_str(&c->checkpoint, s, err)) < 0)
		return rc;
	if ((s = getenv("CLEWD_SPOOL_MAX_BYTES")) && *s && cd_parse_size(s, &c->spool_bytes) < 0)
		return cd_err_set(err, -CD_EINVAL, 0,
				  "CLEWD_SPOOL_MAX_BYTES=%s: expected a size (0: no spool, 64M, 1G)", s);
	if ((s = getenv("CLEWD_HTTP_LISTEN")) && *s && (rc = set_str(&c->http_listen, s, err)) < 0)
		return rc;
	if ((s = getenv("CLEWD_PARSER")) && *s && cd_config_set_parser(c, s, err) < 0)
		return cd_err_set(
			err, -CD_EINVAL, 0,
			"CLEWD_PARSER=%s: expected auto, pipe, json, regex:PATTERN or a parser's name", s);
	if ((s = getenv("CLEWD_LOG_LEVEL")) && *s && parse_level(s, &c->log_level) < 0)
		return cd_err_set(err, -CD_EINVAL, 0,
				  "CLEWD_LOG_LEVEL=%s: expected trace, debug, info, warn or error", s);
	if ((s = getenv("CLEWD_MULTILINE")) && *s && parse_bool(s, &c->multiline) < 0)
		return cd_err_set(err, -CD_EINVAL, 0, "CLEWD_MULTILINE=%s: expected true or false", s);
	for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++)
		if ((s = getenv(dur_names[i])) && *s && cd_parse_duration_ms(s, durs[i]) < 0)
			return cd_err_set(err, -CD_EINVAL, 0, "%s=%s: expected a duration (500ms, 5s, 2m)",
					  dur_names[i], s);
	return 0;
}

bool cd_config_needs_state(const struct cd_config *c)
{
	for (unsigned i = 0; i < c->nin; i++)
		if (c->in[i].type != CD_IN_STDIN)
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

	if (c->parser == CD_PARSER_REGEX && (!c->parser_name || find_parser(c, c->parser_name) < 0)) {
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

int cd_config_finish(struct cd_config *c, struct cd_err *err)
{
	char buf[CD_INPUT_NAME_MAX];
	int rc;

	if (c->nin == 0)
		return cd_err_set(err, -CD_EINVAL, 0, "no input: give -i SPEC or inputs: in the config file");
	if ((rc = check_parser_names(c, err)) < 0 || (rc = check_regexes(c, err)) < 0)
		return rc;
	if (!c->state_dir && (rc = set_str(&c->state_dir, "/var/lib/clew", err)) < 0)
		return rc;
	if (c->nout == 0) {
		snprintf(buf, sizeof(buf), "archive:%s/archive", c->state_dir);
		if ((rc = cd_config_add_output_spec(c, buf, err)) < 0)
			return rc;
	}
	if (!c->checkpoint) {
		snprintf(buf, sizeof(buf), "%s/checkpoint", c->state_dir);
		if ((rc = set_str(&c->checkpoint, buf, err)) < 0)
			return rc;
	}
	/* a one-off stdin job keeps no state: no spool (a dead output then fails the run) */
	if (c->spool_bytes == 0) {
		free(c->spool_dir); /* max_bytes 0: no spool, inputs pause when memory is full */
		c->spool_dir = NULL;
	} else if (!c->spool_dir && cd_config_needs_state(c)) {
		snprintf(buf, sizeof(buf), "%s/spool", c->state_dir);
		if ((rc = set_str(&c->spool_dir, buf, err)) < 0)
			return rc;
	}
	if (c->spool_bytes && c->spool_bytes < CD_SPOOL_FILE_MAX)
		return cd_err_set(err, -CD_EINVAL, 0,
				  "spool max_bytes must be 0 (no spool) or at least %u (one chunk file)",
				  CD_SPOOL_FILE_MAX);
	for (unsigned i = 0; i < c->nin; i++)
		for (unsigned j = 0; c->in[i].listen && j < i; j++)
			/* port 0: each gets a port of its own */
			if (c->in[j].listen && strcmp(c->in[i].listen, c->in[j].listen) == 0 &&
			    !(strlen(c->in[i].listen) > 2 &&
			      strcmp(c->in[i].listen + strlen(c->in[i].listen) - 2, ":0") == 0) &&
			    ((c->in[i].type == CD_IN_UDP) == (c->in[j].type == CD_IN_UDP) ||
			     strncmp(c->in[i].listen, "unix:", 5) == 0))
				return cd_err_set(err, -CD_EINVAL, 0, "two inputs listen on %s",
						  c->in[i].listen);
	if (c->chunk_age_ms == 0 || c->chunk_age_ms > 3600000)
		return cd_err_set(err, -CD_EINVAL, 0, "chunk max_age must be 1ms..1h");
	if (c->multiline_ms == 0 || c->multiline_ms > 3600000)
		return cd_err_set(err, -CD_EINVAL, 0, "multiline timeout must be 1ms..1h");
	if (c->poll_ms == 0 || c->poll_ms > 3600000)
		return cd_err_set(err, -CD_EINVAL, 0, "tail poll_interval must be 1ms..1h");
	for (unsigned i = 0; i < c->nout; i++) {
		struct cd_output_conf *o = &c->out[i];
		if (!o->name) {
			snprintf(buf, sizeof(buf), "%s#%u", cd_out_type_name(o->type), i + 1);
			if ((rc = set_str(&o->name, buf, err)) < 0)
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
	}
	for (unsigned i = 0; i < c->nout; i++)
		for (unsigned j = 0; j < i; j++)
			if (c->out[i].path && c->out[j].path && c->out[i].type == c->out[j].type &&
			    strcmp(c->out[i].path, c->out[j].path) == 0)
				return cd_err_set(err, -CD_EINVAL, 0, "output %s given twice",
						  c->out[i].path);
	return 0;
}
