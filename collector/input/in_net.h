/*
 * input/in_net.h - what the network inputs (tcp, unix, udp, unixgram,
 * http) share of their options: the listen address, max_connections and
 * the URL path, read and checked once for all of them.
 */
#ifndef CD_IN_NET_H
#define CD_IN_NET_H

#include <stdint.h>

#include "registry.h"

struct metrics;
struct sockaddr_storage;

/*
 * in_net_check() - the check() of network input plugin @d over its
 * options @o: listen required (a unix socket's path: may stand for it),
 * normalized as util/net.h takes it ("PORT" and ":PORT" bind 127.0.0.1:
 * beyond loopback only when an address says so; a unix socket's bare
 * PATH is unix:PATH; numeric hosts only, so that --check-config catches
 * them); max_connections 1..CD_NET_CONNECTIONS_MAX (default
 * CD_NET_CONNECTIONS_DEFAULT) unless datagrams; an http input's path
 * /SOME/PATH (default /). The values are written back into @o.
 * Return: 0 or -CD_EINVAL / -CD_ENOMEM with @err (cd_opt_fail()).
 */
int in_net_check(struct cd_opts *o, const struct cd_plugin_desc *d, struct cd_err *err);

/*
 * in_net_peer_name() - connection @fd's name (records' src.input, the
 * log): @prefix:IP:PORT, @prefix:[IPV6]:PORT, or for a unix socket
 * @uprefix@listen pid=PID (the peer's, SO_PEERCRED) into out[0..cap).
 */
void in_net_peer_name(int fd, const struct sockaddr_storage *ss, const char *prefix, const char *uprefix,
		      const char *listen, char *out, size_t cap);

/*
 * in_net_reject() - connection @fd came past max_connections: closed at
 * once (the client sees the close and can retry, rather than hang in the
 * backlog), counted in *@rejected, logged at 1, 2, 4, ... rejections.
 */
void in_net_reject(int fd, uint64_t *rejected, const char *kind, const char *listen);

/*
 * in_net_announce() - log that input @kind listens on @listen (@fd's
 * port, which tests read back): "listening", "listening (kept across the
 * reload)" when @kept, a warning when beyond loopback.
 */
void in_net_announce(const char *kind, const char *listen, int fd, bool kept);

/*
 * idle_timeout of the stream inputs (tcp, unix, syslog over tcp,
 * forward): a connection silent this long is closed, so that idle
 * clients cannot hold every max_connections slot. One option, one rule,
 * one metric for all of them.
 */
#define IN_NET_IDLE_OPT                                                                                  \
	{                                                                                                \
		"idle_timeout", CD_OPT_DURATION, "5m", "close a connection silent this long (0: never)", \
			NULL, 0, 0                                                                       \
	}
#define IN_NET_IDLE_DEFAULT_MS 300000

struct in_net_idle {
	int64_t idle_ns;  /* idle_timeout; 0: never */
	int64_t sweep_ns; /* when to look for idle connections next */
	uint64_t closed;  /* connections closed for idleness, in total */
	uint64_t now;	  /* closed in the sweep under way */
};

/* in_net_idle_init() - read idle_timeout of @o into @t. Return: 0 or -CD_EINVAL with @err. */
int in_net_idle_init(struct in_net_idle *t, const struct cd_opts *o, struct cd_err *err);

/* in_net_idle_due() - whether to sweep now (at most once a second, or 4 times an idle_timeout). */
bool in_net_idle_due(struct in_net_idle *t, int64_t now);

/*
 * in_net_idle_is() - during a sweep: whether the connection on @fd whose
 * last byte came at *@last_ns is idle (the caller closes it: counted).
 * One with bytes waiting in the kernel is not (clewd held it back, not
 * the client): *@last_ns moves to @now.
 */
bool in_net_idle_is(struct in_net_idle *t, int fd, int64_t *last_ns, int64_t now);

/* in_net_idle_done() - end of a sweep: log what was closed (input @kind on @listen). */
void in_net_idle_done(struct in_net_idle *t, const char *kind, const char *listen);

/* in_net_idle_metrics() - clewd_input_connections_idle_closed_total with @label. */
void in_net_idle_metrics(const struct in_net_idle *t, struct metrics *m, const char *label);

#endif
