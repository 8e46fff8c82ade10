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

int cd_opt_add(struct cd_opts *o, const char *key, size_t klen, const char *val, size_t vlen, unsigned line,
	       unsigned col, struct cd_err *err)
{
	struct cd_opt *op;

	for (unsigned i = 0; i < o->n; i++)
		if (strlen(o->v[i].key) == klen && memcmp(o->v[i].key, key, klen) == 0)
			return cd_err_set(err, -CD_EINVAL, 0, "option '%.*s' given twice", (int)klen, key);
	if (o->n >= CD_OUTPUT_OPTS_MAX)
		return cd_err_set(err, -CD_ELIMIT, 0, "more than %u options", CD_OUTPUT_OPTS_MAX);
	op = &o->v[o->n];
	op->key = strndup(key, klen);
	op->val = strndup(val, vlen);
	op->line = line;
	op->col = col;
	if (!op->key || !op->val) {
		free(op->key);
		free(op->val);
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	}
	o->n++;
	return 0;
}

int cd_opt_set(struct cd_opts *o, const char *key, const char *val, struct cd_err *err)
{
	char *v;

	for (unsigned i = 0; i < o->n; i++) {
		if (strcmp(o->v[i].key, key) != 0)
			continue;
		if (!(v = strdup(val)))
			return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
		free(o->v[i].val);
		o->v[i].val = v;
		return 0;
	}
	return cd_opt_add(o, key, strlen(key), val, strlen(val), 0, 0, err);
}

void cd_opt_del(struct cd_opts *o, const char *key)
{
	for (unsigned i = 0; i < o->n; i++) {
		if (strcmp(o->v[i].key, key) != 0)
			continue;
		free(o->v[i].key);
		free(o->v[i].val);
		memmove(&o->v[i], &o->v[i + 1], (o->n - i - 1) * sizeof(o->v[0]));
		o->n--;
		return;
	}
}

void cd_opts_release(struct cd_opts *o)
{
	for (unsigned i = 0; i < o->n; i++) {
		free(o->v[i].key);
		free(o->v[i].val);
	}
	o->n = 0;
}

static const struct cd_opt *opt_find(const struct cd_opts *oc, const char *key)
{
	for (unsigned i = 0; i < oc->n; i++)
		if (strcmp(oc->v[i].key, key) == 0)
			return &oc->v[i];
	return NULL;
}

const char *cd_opt_get(const struct cd_opts *oc, const char *key)
{
	const struct cd_opt *op = opt_find(oc, key);

	return op ? op->val : NULL;
}

/*
 * "output kafka#1, line 12: KEY: WHAT", "output kafka#1: KEY: WHAT", or
 * with a file "FILE:LINE:COL: input tcp#1: KEY: WHAT".
 */
static int opt_fail(const struct cd_opts *oc, const struct cd_opt *op, const char *key, const char *what,
		    struct cd_err *err)
{
	unsigned line = op && op->line ? op->line : oc->line, col = op && op->line ? op->col : oc->col;
	const char *sep = key ? ": " : "";

	if (!key)
		key = "";
	if (line && oc->file)
		return cd_err_set(err, -CD_EINVAL, 0, "%s:%u:%u: %s: %s%s%s", oc->file, line, col ? col : 1,
				  oc->owner, key, sep, what);
	if (line)
		return cd_err_set(err, -CD_EINVAL, 0, "%s, line %u: %s%s%s", oc->owner, line, key, sep, what);
	return cd_err_set(err, -CD_EINVAL, 0, "%s: %s%s%s", oc->owner, key, sep, what);
}

int cd_opt_fail(const struct cd_opts *oc, const char *key, const char *what, struct cd_err *err)
{
	return opt_fail(oc, key ? opt_find(oc, key) : NULL, key, what, err);
}

int cd_opt_one_of(const struct cd_opts *oc, const char *a, const char *b, const char **out,
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

int cd_opt_u64(const struct cd_opts *oc, const char *key, uint64_t def, uint64_t max, uint64_t *out,
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

int cd_opt_ms(const struct cd_opts *oc, const char *key, uint64_t def, uint64_t *out, struct cd_err *err)
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

int cd_opt_size(const struct cd_opts *oc, const char *key, uint64_t def, uint64_t *out, struct cd_err *err)
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

int cd_opt_bool(const struct cd_opts *oc, const char *key, bool def, bool *out, struct cd_err *err)
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

int cd_opt_enum(const struct cd_opts *oc, const char *key, const char *choices, unsigned def, unsigned *out,
		struct cd_err *err)
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

int cd_opt_hostport(const struct cd_opts *oc, const char *key, uint16_t def_port, char *host, size_t cap,
		    uint16_t *port, struct cd_err *err)
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
static int check_type(const struct cd_opts *oc, const struct cd_opt_spec *s, const struct cd_opt *op,
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

/* "unknown key (known: a, b, c*)" over @table's keys, refused ones left out. */
static void known_keys(const struct cd_opt_spec *table, char *what, size_t cap)
{
	size_t used = (size_t)snprintf(what, cap, "unknown key (known:");
	const char *sep = " ";

	for (const struct cd_opt_spec *k = table; k && k->key && used < cap; k++) {
		if (k->flags & CD_OPT_REFUSED)
			continue;
		used += (size_t)snprintf(what + used, cap - used, "%s%s%s", sep, k->key,
					 k->type == CD_OPT_PREFIX ? "*" : "");
		sep = ", ";
	}
	if (used < cap)
		snprintf(what + used, cap - used, ")");
}

int cd_opts_check(const struct cd_opts *oc, const struct cd_opt_spec *table, struct cd_err *err)
{
	int rc;

	for (unsigned i = 0; i < oc->n; i++) {
		const struct cd_opt *op = &oc->v[i];
		const struct cd_opt_spec *s = cd_opt_spec_find(table, op->key);
		char what[sizeof(err->msg)];

		if (s && (s->flags & CD_OPT_REFUSED))
			return opt_fail(oc, op, op->key, s->help, err);
		if (s) {
			if ((rc = check_type(oc, s, op, err)) < 0)
				return rc;
			continue;
		}
		known_keys(table, what, sizeof(what));
		return opt_fail(oc, op, op->key, what, err);
	}
	return 0;
}

static bool says_secret(const char *name)
{
	static const char *const words[] = {"pass", "secret", "token", "key", "auth"};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasestr(name, words[i]))
			return true;
	return false;
}

bool cd_opt_secret(const struct cd_opt_spec *table, const char *key)
{
	const struct cd_opt_spec *s = cd_opt_spec_find(table, key);

	if (!s)
		return false;
	if (s->type == CD_OPT_PREFIX)
		return says_secret(key + strlen(s->key));
	return s->flags & CD_OPT_SECRET;
}

/*
 * Whether query parameter @k (@n bytes) of a URI holds a secret: "p"
 * (InfluxDB 1.x's password), a name saying pass, secret or token, or a
 * properties.NAME saying key too. (Not "key" alone: Kafka's message-key
 * field, Redis's list.)
 */
static bool query_secret(const char *k, size_t n)
{
	char name[128];

	if (n == 0 || n >= sizeof(name))
		return false;
	memcpy(name, k, n);
	name[n] = '\0';
	if (strcmp(name, "p") == 0 || strcasestr(name, "pass") || strcasestr(name, "secret") ||
	    strcasestr(name, "token"))
		return true;
	if (strncmp(name, "headers.", 8) == 0 && says_secret(name + 8))
		return true; /* the otlp output's headers.authorization, headers.api-key */
	return strncmp(name, "properties.", 11) == 0 && strcasestr(name + 11, "key");
}

const char *cd_uri_masked(const char *s, char *buf, size_t cap)
{
	size_t n = 0;
	bool uri = false;

	/* copy @s; in each SCHEME://USER:PASS@, PASS becomes *** */
	for (const char *p = s; *p && n + 1 < cap;) {
		const char *sch = strstr(p, "://"), *auth, *end, *colon, *at;

		if (!sch) {
			n += (size_t)snprintf(buf + n, cap - n, "%s", p);
			break;
		}
		uri = true;
		auth = sch + 3;
		end = auth + strcspn(auth, "/?# ");
		at = memrchr(auth, '@', (size_t)(end - auth));
		colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
		if (!colon) {
			n += (size_t)snprintf(buf + n, cap - n, "%.*s", (int)(end - p), p);
		} else {
			n += (size_t)snprintf(buf + n, cap - n, "%.*s***", (int)(colon + 1 - p), p);
			if (n + 1 < cap)
				n += (size_t)snprintf(buf + n, cap - n, "%.*s", (int)(end - at), at);
		}
		p = end;
	}
	if (n >= cap)
		n = cap - 1;
	buf[n] = '\0';
	/* then in its query, the value of each secret parameter: ?u=admin&p=*** */
	for (char *q = uri ? strpbrk(buf, "?&") : NULL; q; q = strpbrk(q + 1, "?&")) {
		char *eq = q + 1 + strcspn(q + 1, "=&# "), *vend;
		size_t vlen, tail;

		if (*eq != '=' || !query_secret(q + 1, (size_t)(eq - q - 1)))
			continue;
		vend = eq + 1 + strcspn(eq + 1, "&# ");
		vlen = (size_t)(vend - eq - 1);
		tail = strlen(vend);
		if (vlen < 3 && (size_t)(vend - buf) + tail + 3 - vlen >= cap) {
			memmove(eq + 1, vend, tail + 1); /* no room for ***: the value goes */
		} else {
			memmove(eq + 4, vend, tail + 1);
			memcpy(eq + 1, "***", 3);
		}
		q = eq;
	}
	return buf;
}

const char *cd_opt_shown(const struct cd_opt_spec *table, const char *key, const char *val, char *buf,
			 size_t cap)
{
	if (cd_opt_secret(table, key)) {
		snprintf(buf, cap, "***");
		return buf;
	}
	return cd_uri_masked(val, buf, cap);
}
