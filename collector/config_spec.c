/*
 * config_spec.c - the command line's -i and -o specs, and the URIs that
 * give a network output its options (see config.h).
 *
 * DESIGN: a spec names its plugin by its scheme (tcp://, kafka://) or its
 * prefix (tail:, archive:), looked up in the registry; what follows is
 * the plugin's: an address, a path, or a URI's parts as options, checked
 * against the plugin's option table later (pipeline_check_outputs()).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_impl.h"
#include "util/util.h"
#include "util/banned.h"

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
		rc = cd_opt_add(o, k, strlen(k), v, strlen(v), 0, err);
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
	if ((rc = cd_opt_add(o, "address", 7, p, (size_t)((slash ? slash : end) - p), 0, err)) < 0)
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
	return cd_cfg_set_str(out, buf, err);
}

/* A network input of type @t: listen address @la (@ln bytes), @path (http), @maxc (0: default). */
int cd_cfg_net_input(struct cd_config *c, enum cd_in_type t, const char *la, size_t ln, const char *path,
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
	if (!(in = cd_cfg_new_input(c, err)))
		return -CD_ELIMIT;
	in->type = t;
	in->line = line;
	in->max_connections = maxc ? (unsigned)maxc : CD_NET_CONNECTIONS_DEFAULT;
	if ((rc = net_addr(t, la, ln, &in->listen, err)) < 0 ||
	    (t == CD_IN_HTTP && (rc = cd_cfg_set_str(&in->path, path ? path : "/", err)) < 0)) {
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
	rc = cd_cfg_net_input(c, t, rest, (size_t)((slash ? slash : end) - rest),
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
	char list[200];

	if (strcmp(spec, "stdin") == 0) {
		for (unsigned i = 0; i < c->nin; i++)
			if (c->in[i].type == CD_IN_STDIN)
				return cd_err_set(err, -CD_EINVAL, 0, "input 'stdin' given twice");
		if (!(in = cd_cfg_new_input(c, err)))
			return -CD_ELIMIT;
		in->type = CD_IN_STDIN;
		return 0;
	}
	if (strncmp(spec, "tail:", 5) == 0 && spec[5]) {
		if (strlen(spec + 5) >= CD_INPUT_NAME_MAX - 64)
			return cd_err_set(err, -CD_EINVAL, 0, "input '%s': path too long", spec);
		if (!(in = cd_cfg_new_input(c, err)))
			return -CD_ELIMIT;
		in->type = CD_IN_TAIL;
		if (cd_cfg_set_str(&in->path, spec + 5, err) < 0) {
			c->nin--;
			return -CD_ENOMEM;
		}
		return 0;
	}
	for (const struct cd_plugin_desc *const *d = cd_inputs; *d; d++) {
		size_t n = (*d)->scheme ? strlen((*d)->scheme) : 0;
		if (n && ((*d)->flags & CD_PLUGIN_NET) && strncmp(spec, (*d)->scheme, n) == 0 &&
		    strncmp(spec + n, "://", 3) == 0)
			return net_spec(c, (enum cd_in_type)(*d)->type, spec, spec + n + 3, err);
	}
	/* unix:PATH and unixgram:PATH, as util/net.h writes addresses */
	if (strncmp(spec, "unix:", 5) == 0)
		return net_spec(c, CD_IN_UNIX, spec, spec + 5, err);
	if (strncmp(spec, "unixgram:", 9) == 0)
		return net_spec(c, CD_IN_UNIXGRAM, spec, spec + 9, err);
	return cd_err_set(err, -CD_EINVAL, 0, "input '%s': expected %s", spec,
			  cd_plugin_list(cd_inputs, 0, true, list, sizeof(list)));
}

int cd_cfg_parse_outfmt(const char *s, enum cd_out_format *f)
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
	char list[160];
	size_t used = 0;

	if (strcmp(spec, "stdout") == 0 || strncmp(spec, "stdout:", 7) == 0) {
		enum cd_out_format f = CD_OUTFMT_JSON;

		if (spec[6] && cd_cfg_parse_outfmt(spec + 7, &f) < 0)
			return cd_err_set(err, -CD_EINVAL, 0,
					  "output '%s': expected stdout:json or stdout:pipe", spec);
		if (!(o = cd_cfg_new_output(c, err)))
			return -CD_ELIMIT;
		o->type = CD_OUT_STDOUT;
		o->format = f;
		return 0;
	}
	if (strcmp(spec, "null") == 0) {
		if (!(o = cd_cfg_new_output(c, err)))
			return -CD_ELIMIT;
		o->type = CD_OUT_NULL;
		return 0;
	}
	if (strncmp(spec, "archive:", 8) == 0 && spec[8]) {
		if (!(o = cd_cfg_new_output(c, err)))
			return -CD_ELIMIT;
		o->type = CD_OUT_ARCHIVE;
		if (cd_cfg_set_str(&o->path, spec + 8, err) < 0) {
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
			cd_cfg_parse_outfmt(arg + n - 4, &f);
			n -= 5;
		} else if (n > 9 && strcmp(arg + n - 9, ":logstash") == 0) {
			f = CD_OUTFMT_LOGSTASH;
			n -= 9;
		}
		if (!(o = cd_cfg_new_output(c, err)))
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
		const struct cd_plugin_desc *d = NULL;

		for (const struct cd_plugin_desc *const *p = cd_outputs; *p && !d; p++)
			if (((*p)->flags & CD_PLUGIN_URI_OPTS) && (*p)->scheme &&
			    strlen((*p)->scheme) == (size_t)(arg - spec) &&
			    strncmp(spec, (*p)->scheme, (size_t)(arg - spec)) == 0)
				d = *p;
		if (!d)
			return cd_err_set(
				err, -CD_EINVAL, 0, "output '%s': unknown scheme '%.*s' (expected %s)", spec,
				(int)(arg - spec > 32 ? 32 : arg - spec), spec,
				cd_plugin_list(cd_outputs, CD_PLUGIN_URI_OPTS, false, list, sizeof(list)));
		if (!(o = cd_cfg_new_output(c, err)))
			return -CD_ELIMIT;
		o->type = (enum cd_out_type)d->type;
		if (parse_uri(o, spec, err) < 0) {
			cd_cfg_output_release(o);
			c->nout--;
			return err ? err->code : -CD_EINVAL;
		}
		return 0;
	}
	/* the specs of the outputs without a URI, then a URI */
	list[0] = '\0';
	for (const struct cd_plugin_desc *const *d = cd_outputs; *d && used < sizeof(list); d++)
		if (!((*d)->flags & CD_PLUGIN_URI_OPTS))
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s, ", (*d)->usage);
	return cd_err_set(err, -CD_EINVAL, 0,
			  "output '%s': expected %sor a URI such as kafka://HOST:PORT/TOPIC", spec, list);
}
