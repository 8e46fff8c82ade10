/*
 * input/in_net.c - the network inputs' shared options: listen address,
 * max_connections, URL path, and the stream inputs' idle_timeout (see in_net.h).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <netinet/in.h>

#include "cd_limits.h"
#include "input/in_net.h"
#include "util/metrics.h"
#include "util/net.h"
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

void in_net_peer_name(int fd, const struct sockaddr_storage *ss, const char *prefix, const char *uprefix,
		      const char *listen, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)ss;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(out, cap, "%s:%s:%u", prefix, host, (unsigned)ntohs(a->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(out, cap, "%s:[%s]:%u", prefix, host, (unsigned)ntohs(a->sin6_port));
	} else {
		struct ucred cr;
		socklen_t len = sizeof(cr);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0)
			snprintf(out, cap, "%s%s pid=%ld", uprefix, listen, (long)cr.pid);
		else
			snprintf(out, cap, "%s%s", uprefix, listen);
	}
}

void in_net_reject(int fd, uint64_t *rejected, const char *kind, const char *listen)
{
	char n[24];

	close(fd);
	*rejected += 1;
	if ((*rejected & (*rejected - 1)) != 0)
		return;
	snprintf(n, sizeof(n), "%llu", (unsigned long long)*rejected);
	cd_log(FMT_LEVEL_WARN, "max_connections reached: connection closed", "input", kind, "listen", listen,
	       "rejected", n, NULL);
}

void in_net_announce(const char *kind, const char *listen, int fd, bool kept)
{
	char port[8];

	snprintf(port, sizeof(port), "%u", (unsigned)cd_net_local_port(fd));
	if (kept)
		cd_log(FMT_LEVEL_INFO, "listening (kept across the reload)", "input", kind, "listen", listen,
		       "port", port, NULL);
	else if (!cd_net_is_loopback(listen))
		cd_log(FMT_LEVEL_WARN, "listening beyond loopback: any host that reaches it can send records",
		       "input", kind, "listen", listen, "port", port, NULL);
	else
		cd_log(FMT_LEVEL_INFO, "listening", "input", kind, "listen", listen, "port", port, NULL);
}

/* --- idle_timeout ------------------------------------------------------------ */

int in_net_idle_init(struct in_net_idle *t, const struct cd_opts *o, struct cd_err *err)
{
	uint64_t ms;
	int rc = cd_opt_ms(o, "idle_timeout", IN_NET_IDLE_DEFAULT_MS, &ms, err);

	memset(t, 0, sizeof(*t));
	if (rc < 0)
		return rc;
	t->idle_ns = (int64_t)ms * 1000000;
	return 0;
}

bool in_net_idle_due(struct in_net_idle *t, int64_t now)
{
	if (!t->idle_ns || now < t->sweep_ns)
		return false;
	t->sweep_ns = now + (t->idle_ns < 1000000000 ? t->idle_ns / 4 + 1 : 1000000000);
	t->now = 0;
	return true;
}

bool in_net_idle_is(struct in_net_idle *t, int fd, int64_t *last_ns, int64_t now)
{
	int waiting = 0;

	if (now - *last_ns < t->idle_ns)
		return false;
	if (ioctl(fd, FIONREAD, &waiting) == 0 && waiting > 0) {
		*last_ns = now;
		return false;
	}
	t->now++;
	return true;
}

void in_net_idle_done(struct in_net_idle *t, const char *kind, const char *listen)
{
	char n[24], total[24];

	if (!t->now)
		return;
	t->closed += t->now;
	snprintf(n, sizeof(n), "%llu", (unsigned long long)t->now);
	snprintf(total, sizeof(total), "%llu", (unsigned long long)t->closed);
	cd_log(FMT_LEVEL_INFO, "idle connections closed (idle_timeout)", "input", kind, "listen", listen,
	       "closed", n, "total", total, NULL);
	t->now = 0;
}

void in_net_idle_metrics(const struct in_net_idle *t, struct metrics *m, const char *label)
{
	metrics_add(m, "clewd_input_connections_idle_closed_total", METRICS_COUNTER,
		    "Connections closed by clewd after idle_timeout without a byte", label,
		    (double)t->closed);
}
