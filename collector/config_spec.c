/*
 * config_spec.c - the command line's -i and -o specs, and the URIs that
 * give a network output its options (see config.h).
 *
 * DESIGN: a spec names its plugin by its scheme (tcp://, kafka://) or its
 * prefix (tail:, archive:), looked up in the registry; what follows is
 * the plugin's: an address, a path, or a URI's parts as options, the same
 * keys its YAML form gives, checked against the plugin's option table
 * later (inputs: cd_config_finish(), outputs: pipeline_check_outputs()).
 */
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
		rc = cd_opt_add(&o->opts, k, strlen(k), v, strlen(v), 0, 0, err);
	free(k);
	free(v);
	return rc;
}

/* SCHEME://[USER[:PASS]@]HOST[:PORT][/PATH][?K=V&...] into @o's options. */
static int parse_uri(struct cd_output_conf *o, const char *uri, struct cd_err *err)
{
	char shown[512]; /* @uri as errors show it: its secrets masked */
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
		return cd_err_set(err, -CD_EINVAL, 0, "output '%s': no HOST[:PORT] after ://",
				  cd_uri_masked(uri, shown, sizeof(shown)));
	if ((rc = cd_opt_add(&o->opts, "address", 7, p, (size_t)((slash ? slash : end) - p), 0, 0, err)) < 0)
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
						  "output '%s': expected KEY=VALUE in the query",
						  cd_uri_masked(uri, shown, sizeof(shown)));
			if ((rc = opt_add_decoded(o, kv, (size_t)(eq - kv), eq + 1, (size_t)(kend - eq - 1),
						  err)) < 0)
				return rc;
		}
		q = amp;
	}
	return 0;
}

/* A new input of plugin @d for spec @spec: owner "input 'SPEC'" (errors quote the spec). */
static struct cd_input_conf *spec_input(struct cd_config *c, const struct cd_plugin_desc *d, const char *spec,
					struct cd_err *err)
{
	struct cd_input_conf *in = cd_cfg_new_input(c, err);

	if (!in)
		return NULL;
	in->plugin = d;
	snprintf(in->opts.owner, sizeof(in->opts.owner), "input '%.100s'", spec);
	return in;
}

/*
 * -i SCHEME://REST: REST is ADDR[/PATH][?K=V&...], options listen, path
 * and each K (a unix socket's REST is its path: listen). What they mean
 * is the plugin's check() to say.
 */
static int net_spec(struct cd_input_conf *in, const char *rest, bool is_unix, struct cd_err *err)
{
	const char *q = strchr(rest, '?'), *end = q ? q : rest + strlen(rest), *slash = NULL;
	int rc;

	if (!is_unix) {
		const char *rb = rest[0] == '[' ? memchr(rest, ']', (size_t)(end - rest)) : NULL;
		slash = memchr(rb ? rb : rest, '/', (size_t)(end - (rb ? rb : rest)));
	}
	if ((rc = cd_opt_add(&in->opts, "listen", 6, rest, (size_t)((slash ? slash : end) - rest), 0, 0,
			     err)) < 0)
		return rc;
	if (slash && end - slash > 1 &&
	    (rc = cd_opt_add(&in->opts, "path", 4, slash, (size_t)(end - slash), 0, 0, err)) < 0)
		return rc;
	while (q && *q) {
		const char *kv = q + 1, *amp = strchr(kv, '&'), *kend = amp ? amp : kv + strlen(kv);
		const char *eq = memchr(kv, '=', (size_t)(kend - kv));

		if (!eq || eq == kv)
			return cd_opt_fail(&in->opts, NULL, "expected KEY=VALUE after '?'", err);
		if ((rc = cd_opt_add(&in->opts, kv, (size_t)(eq - kv), eq + 1, (size_t)(kend - eq - 1), 0, 0,
				     err)) < 0)
			return rc;
		q = amp;
	}
	return 0;
}

/*
 * -i SPEC, by its plugin: NAME alone (stdin), NAME:PATH for a plugin
 * without a scheme that takes a path (tail), SCHEME://REST, and
 * NAME:PATH for a unix socket's plugin (unix:PATH, unixgram:PATH, as
 * util/net.h writes addresses).
 */
int cd_config_add_input_spec(struct cd_config *c, const char *spec, struct cd_err *err)
{
	const struct cd_plugin_desc *d;
	struct cd_input_conf *in;
	const char *rest = NULL, *transport = NULL;
	char list[200];
	int rc;

	for (const struct cd_plugin_desc *const *p = cd_inputs; *p && !rest; p++) {
		size_t n = strlen((*p)->name), sn = (*p)->scheme ? strlen((*p)->scheme) : 0;

		d = *p;
		if (strcmp(spec, d->name) == 0 &&
		    !(d->opts && d->opts[0].key && !(d->opts[0].flags & CD_OPT_REFUSED)))
			rest = "";
		else if (sn && strncmp(spec, d->scheme, sn) == 0 && strncmp(spec + sn, "://", 3) == 0)
			rest = spec + sn + 3;
		else if (sn && strncmp(spec, d->scheme, sn) == 0 && spec[sn] == '+' &&
			 cd_opt_spec_find(d->opts, "transport") && (transport = strstr(spec + sn, "://")))
			rest = transport + 3; /* SCHEME+TRANSPORT://: syslog+tcp:// */
		else if (strncmp(spec, d->name, n) == 0 && spec[n] == ':' && spec[n + 1] &&
			 ((!d->scheme && cd_opt_spec_find(d->opts, "path")) || (d->flags & CD_PLUGIN_UNIX)))
			rest = spec + n + 1;
	}
	if (!rest)
		return cd_err_set(err, -CD_EINVAL, 0, "input '%s': expected %s", spec,
				  cd_plugin_list(cd_inputs, 0, true, list, sizeof(list)));
	if (d->flags & CD_PLUGIN_ONESHOT)
		for (unsigned i = 0; i < c->nin; i++)
			if (c->in[i].plugin == d)
				return cd_err_set(err, -CD_EINVAL, 0, "input '%s' given twice", spec);
	if (!*rest && !(d->flags & CD_PLUGIN_NET))
		return spec_input(c, d, spec, err) ? 0 : -CD_ELIMIT;
	if (!(d->flags & CD_PLUGIN_NET) && strlen(rest) >= CD_INPUT_NAME_MAX - 64)
		return cd_err_set(err, -CD_EINVAL, 0, "input '%s': path too long", spec);
	if (!(in = spec_input(c, d, spec, err)))
		return -CD_ELIMIT;
	rc = 0;
	if (transport) /* SCHEME+TRANSPORT:// */
		rc = cd_opt_add(&in->opts, "transport", 9, spec + strlen(d->scheme) + 1,
				(size_t)(transport - spec - strlen(d->scheme) - 1), 0, 0, err);
	if (rc == 0 && (d->flags & CD_PLUGIN_NET))
		rc = net_spec(in, rest,
			      (d->flags & CD_PLUGIN_UNIX) ||
				      (transport && strncmp(transport - 4, "unix", 4) == 0),
			      err);
	else if (rc == 0)
		rc = cd_opt_add(&in->opts, "path", 4, rest, strlen(rest), 0, 0, err);
	if (rc < 0) {
		cd_cfg_input_release(in);
		c->nin--;
	}
	return rc;
}

/* Whether @v (@n bytes) is one of @choices ("json|pipe|logstash"). */
static bool one_of(const char *choices, const char *v, size_t n)
{
	for (const char *c = choices; c && *c;) {
		const char *bar = strchr(c, '|');
		size_t len = bar ? (size_t)(bar - c) : strlen(c);

		if (len == n && strncmp(c, v, n) == 0)
			return true;
		c = bar ? bar + 1 : NULL;
	}
	return false;
}

/*
 * -o NAME[:ARG] of a local output @d (@arg: after the ':', or NULL): ARG
 * is its path when it takes one (a trailing :FORMAT its format, when it
 * takes one: file:PATH:pipe), else its format (stdout:pipe).
 */
static int local_spec(struct cd_config *c, const struct cd_plugin_desc *d, const char *spec, const char *arg,
		      struct cd_err *err)
{
	const struct cd_opt_spec *path = cd_opt_spec_find(d->opts, "path"),
				 *fmt = cd_opt_spec_find(d->opts, "format");
	struct cd_output_conf *o;
	const char *colon;
	size_t n = arg ? strlen(arg) : 0;
	int rc = 0;

	if (path ? !n : arg && !(fmt && one_of(fmt->choices, arg, n)))
		return cd_err_set(err, -CD_EINVAL, 0, "output '%s': expected %s", spec, d->usage);
	if (!(o = cd_cfg_new_output(c, err)))
		return -CD_ELIMIT;
	o->plugin = d;
	if (path && fmt && (colon = strrchr(arg, ':')) &&
	    one_of(fmt->choices, colon + 1, strlen(colon + 1)) && colon > arg) {
		rc = cd_opt_add(&o->opts, "format", 6, colon + 1, strlen(colon + 1), 0, 0, err);
		n = (size_t)(colon - arg);
	}
	if (rc == 0 && arg)
		rc = path ? cd_opt_add(&o->opts, "path", 4, arg, n, 0, 0, err)
			  : cd_opt_add(&o->opts, "format", 6, arg, n, 0, 0, err);
	if (rc < 0) {
		cd_cfg_output_release(o);
		c->nout--;
	}
	return rc;
}

int cd_config_add_output_spec(struct cd_config *c, const char *spec, struct cd_err *err)
{
	char shown[512]; /* @spec as errors show it: its secrets masked */
	struct cd_output_conf *o;
	const char *arg;
	char list[160];
	size_t used = 0;

	for (const struct cd_plugin_desc *const *d = cd_outputs; *d; d++) {
		size_t n = strlen((*d)->name);

		if (!((*d)->flags & CD_PLUGIN_URI_OPTS) && strncmp(spec, (*d)->name, n) == 0 &&
		    (!spec[n] || spec[n] == ':'))
			return local_spec(c, *d, spec, spec[n] ? spec + n + 1 : NULL, err);
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
				err, -CD_EINVAL, 0, "output '%s': unknown scheme '%.*s' (expected %s)",
				cd_uri_masked(spec, shown, sizeof(shown)),
				(int)(arg - spec > 32 ? 32 : arg - spec), spec,
				cd_plugin_list(cd_outputs, CD_PLUGIN_URI_OPTS, false, list, sizeof(list)));
		if (!(o = cd_cfg_new_output(c, err)))
			return -CD_ELIMIT;
		o->plugin = d;
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
			  "output '%s': expected %sor a URI such as kafka://HOST:PORT/TOPIC",
			  cd_uri_masked(spec, shown, sizeof(shown)), list);
}
