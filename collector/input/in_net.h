/*
 * input/in_net.h - what the network inputs (tcp, unix, udp, unixgram,
 * http) share of their options: the listen address, max_connections and
 * the URL path, read and checked once for all of them.
 */
#ifndef CD_IN_NET_H
#define CD_IN_NET_H

#include "registry.h"

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

#endif
