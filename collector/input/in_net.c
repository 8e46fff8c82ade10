/*
 * input/in_net.c - the network inputs' shared options: listen address,
 * max_connections, URL path (see in_net.h).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "cd_limits.h"
#include "input/in_net.h"
#include "util/util.h"
#include "util/banned.h"

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Whether @d takes @key (a refused key is not taken). */
static bool takes(const struct cd_plugin_desc *d, const char *key)
{
	const struct cd_opt_spec *s = cd_opt_spec_find(d->opts, key);

	return s && !(s->flags & CD_OPT_REFUSED);
}

/* The address @a, as util/net.h takes it, into buf[0..cap); "" with @what on error. */
static const char *net_addr(const struct cd_plugin_desc *d, const char *a, char *buf, size_t cap, char *what,
			    size_t wcap)
{
	const bool is_unix = d->flags & CD_PLUGIN_UNIX;
	const size_t n = strlen(a);
	char host[64];
	const char *port;
	uint64_t pn;
	unsigned char bin[16];

	what[0] = '\0';
	if (n == 0)
		snprintf(what, wcap, "empty listen address");
	else if (n >= cap - 16)
		snprintf(what, wcap, "listen address too long");
	else if (n >= 5 && memcmp(a, "unix:", 5) == 0 && !is_unix && !takes(d, "path"))
		snprintf(what, wcap, "'%s' is a unix socket (use type unix or unixgram)", a);
	else if (n == 5 && memcmp(a, "unix:", 5) == 0)
		snprintf(what, wcap, "unix: without a path");
	if (what[0])
		return NULL;
	if (n >= 5 && memcmp(a, "unix:", 5) == 0)
		snprintf(buf, cap, "%s", a);
	else if (is_unix)
		snprintf(buf, cap, "unix:%s", a);
	else if (all_digits(a, n) || (a[0] == ':' && all_digits(a + 1, n - 1)))
		snprintf(buf, cap, "127.0.0.1:%s", a + (a[0] == ':'));
	else
		snprintf(buf, cap, "%s", a);
	if (strncmp(buf, "unix:", 5) == 0)
		return buf;
	port = strrchr(buf, ':');
	if (buf[0] == '[') {
		const char *rb = strchr(buf, ']');
		if (!rb || rb[1] != ':' || (size_t)(rb - buf - 1) >= sizeof(host)) {
			snprintf(what, wcap, "'%s': expected [IPV6]:PORT", buf);
			return NULL;
		}
		snprintf(host, sizeof(host), "%.*s", (int)(rb - buf - 1), buf + 1);
		port = rb + 1;
	} else if (port && (size_t)(port - buf) < sizeof(host)) {
		snprintf(host, sizeof(host), "%.*s", (int)(port - buf), buf);
	} else {
		snprintf(what, wcap, "'%s': expected HOST:PORT", buf);
		return NULL;
	}
	if (inet_pton(buf[0] == '[' ? AF_INET6 : AF_INET, host, bin) != 1)
		snprintf(what, wcap, "'%s': the host must be a numeric IPv4 or [IPv6] address", buf);
	else if (cd_parse_u64(port + 1, 65535, &pn) < 0)
		snprintf(what, wcap, "'%s': expected a port 0..65535", buf);
	return what[0] ? NULL : buf;
}

int in_net_check(struct cd_opts *o, const struct cd_plugin_desc *d, struct cd_err *err)
{
	const bool is_unix = d->flags & CD_PLUGIN_UNIX;
	const bool http = !is_unix && takes(d, "path");
	char buf[CD_INPUT_NAME_MAX], what[CD_INPUT_NAME_MAX + 64];
	const char *listen = cd_opt_get(o, "listen"), *path = cd_opt_get(o, "path");
	uint64_t maxc;
	int rc;

	if (is_unix && path) {
		/* path: PATH is the socket's path here, the same as listen: unix:PATH */
		if (listen)
			return cd_opt_fail(o, "path", "give listen or path, not both", err);
		if ((rc = cd_opt_set(o, "listen", path, err)) < 0)
			return rc;
		cd_opt_del(o, "path");
		listen = cd_opt_get(o, "listen");
	}
	if (!listen)
		return cd_opt_fail(o, NULL, "network input needs listen", err);
	if (!net_addr(d, listen, buf, sizeof(buf), what, sizeof(what)))
		return cd_opt_fail(o, "listen", what, err);
	if ((rc = cd_opt_set(o, "listen", buf, err)) < 0)
		return rc;
	if (!(d->flags & CD_PLUGIN_DGRAM)) {
		if ((rc = cd_opt_u64(o, "max_connections", CD_NET_CONNECTIONS_DEFAULT, CD_NET_CONNECTIONS_MAX,
				     &maxc, err)) < 0)
			return rc;
		if (maxc == 0) {
			snprintf(what, sizeof(what), "expected a number 1..%u", CD_NET_CONNECTIONS_MAX);
			return cd_opt_fail(o, "max_connections", what, err);
		}
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)maxc);
		if ((rc = cd_opt_set(o, "max_connections", buf, err)) < 0)
			return rc;
	}
	if (!http)
		return 0;
	if (!(path = cd_opt_get(o, "path")))
		return cd_opt_set(o, "path", "/", err);
	if (path[0] != '/' || strpbrk(path, "?# \t\r\n") || strlen(path) >= 1024) {
		snprintf(what, sizeof(what), "'%.1100s': expected /SOME/PATH", path);
		return cd_opt_fail(o, "path", what, err);
	}
	return 0;
}
