/*
 * input/in_tcp.c - the tcp and unix (stream) inputs: newline-delimited
 * lines over connections.
 *
 * DESIGN: the listener, the epoll set, accept, max_connections,
 * idle_timeout and the reload hand-over are stream_srv.c's; this file is
 * what a connection of lines is. Each connection is its own source
 * without a checkpoint (a socket cannot be read again), so the lines of
 * two connections never mix and a connection's lines keep their order;
 * the pipeline cuts and splits lines as for files (pl_source_read()). At
 * EOF or a reset, what was read of a last line without its newline
 * becomes a record of its own (pl_source_end()).
 *
 * Backpressure: tick() is not called while the pipeline holds inputs
 * back, and it stops between connections when backpressure begins, so
 * nothing more is read and the kernel's socket buffers push back on the
 * senders (their writes block). stop() (SIGTERM) closes the listener,
 * reads what the kernel holds of every connection (unless held back) and
 * ends every source: what was received is delivered before clewd exits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input/in_net.h"
#include "input/stream_srv.h"
#include "pipeline.h"
#include "util/util.h"
#include "util/banned.h"

struct tcp_conn {
	struct ss_conn base;   /* the server's part (first) */
	struct pl_source *src; /* its source; NULL once ended */
};

struct tcp_state {
	struct ss_srv srv; /* listener, connections, idle_timeout */
	bool opened;	   /* open() succeeded: close() reports the counters */
};

/* Read what @c has. Return: true when more is waiting (a whole burst read). */
static bool tcp_read(struct ss_conn *sc)
{
	struct tcp_conn *c = (struct tcp_conn *)sc;
	struct pipeline *pl = sc->srv->pl;
	bool eof = false;
	long n = pl_source_read(pl, c->src, sc->fd, &eof);

	if (n > 0)
		sc->last_ns = cd_mono_ns();
	if (n < 0) {
		/* a reset: what was read stays, its partial last line included */
		ss_conn_fail(sc, (int)-n);
		return false;
	}
	if (eof) {
		ss_conn_close(sc);
		return false;
	}
	return n >= (long)CD_READ_BURST;
}

/* A connection, or with @hc one the old pipeline handed over: its unfinished line first. */
static int tcp_init(struct ss_conn *sc, const struct in_handoff_conn *hc)
{
	struct tcp_conn *c = (struct tcp_conn *)sc;
	struct ss_srv *s = sc->srv;

	c->src = pl_source_new(s->pl, s->idx, sc->name, NULL, 0, 0, 0);
	if (!c->src)
		return -CD_ENOMEM;
	if (hc && hc->n)
		pl_source_feed(s->pl, c->src, hc->bytes, hc->n);
	return 0;
}

/* At EOF, a reset or idle: what was read of a last line without its newline becomes a record. */
static void tcp_closing(struct ss_conn *sc)
{
	struct tcp_conn *c = (struct tcp_conn *)sc;

	if (c->src)
		pl_source_end(sc->srv->pl, c->src, false);
	c->src = NULL;
}

/* Reload: the connection goes with the bytes of its unfinished last line. */
static int tcp_hand(struct ss_conn *sc, struct in_handoff *h)
{
	static char rest[CD_LINE_MAX]; /* the loop's thread only; too large for its stack */
	struct tcp_conn *c = (struct tcp_conn *)sc;
	size_t n = 0;

	pl_source_end_rest(sc->srv->pl, c->src, rest, sizeof(rest), &n);
	c->src = NULL;
	/* out of memory: closed as at SIGTERM (its unfinished line is lost) */
	return in_handoff_add_conn(h, sc->fd, rest, n, NULL, 0);
}

static const struct ss_ops tcp_ops = {
	.conn_size = sizeof(struct tcp_conn),
	.init = tcp_init,
	.read = tcp_read,
	.closing = tcp_closing,
	.hand = tcp_hand,
};

static bool tcp_tick(void *state, int64_t now)
{
	struct tcp_state *st = state;

	return ss_tick(&st->srv, now);
}

static bool tcp_done(void *state)
{
	(void)state;
	return false; /* a listener may always get another connection */
}

static void tcp_stop(void *state)
{
	struct tcp_state *st = state;

	if (st->srv.stopped)
		return;
	ss_stop_listening(&st->srv);
	ss_drain_close(&st->srv);
}

/*
 * Reload, this input unchanged: stop reading (what clients write waits in
 * the kernel) and hand the listener and every connection, with the bytes
 * of its unfinished last line, to the new pipeline's twin.
 */
static void tcp_hand_over(void *state, struct in_handoff *h)
{
	struct tcp_state *st = state;

	if (!st->srv.stopped)
		ss_hand_over(&st->srv, h);
}

static void tcp_metrics(void *state, struct metrics *m, const char *label)
{
	const struct tcp_state *st = state;

	ss_metrics(&st->srv, m, label);
}

static void tcp_close(void *state);

static int tcp_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_input_conf *ic,
		    struct cd_err *err)
{
	struct tcp_state *st = calloc(1, sizeof(*st));
	struct in_handoff *kept;
	int rc;

	if (!st)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	if ((rc = ss_init(&st->srv, &tcp_ops, pl, idx, &ic->opts, ic->plugin->name, err)) < 0) {
		free(st);
		return rc;
	}
	st->srv.prefix = "tcp";
	kept = in_handoff_take(ic);
	if ((rc = ss_listen(&st->srv, kept, err)) < 0 || (rc = ss_start(&st->srv, kept, err)) < 0) {
		in_handoff_free(kept);
		tcp_close(st);
		return rc;
	}
	in_handoff_free(kept);
	st->opened = true;
	*state = st;
	return 0;
}

static void tcp_close(void *state)
{
	struct tcp_state *st = state;
	char n[4][24];

	if (!st)
		return;
	ss_release(&st->srv);
	if (st->opened) {
		snprintf(n[0], sizeof(n[0]), "%llu", (unsigned long long)st->srv.accepted);
		snprintf(n[1], sizeof(n[1]), "%llu", (unsigned long long)st->srv.rejected);
		snprintf(n[2], sizeof(n[2]), "%llu", (unsigned long long)st->srv.resets);
		snprintf(n[3], sizeof(n[3]), "%llu",
			 (unsigned long long)pl_in_stats(st->srv.pl, st->srv.idx)->bytes);
		cd_log(FMT_LEVEL_INFO, "input closed", "input", st->srv.kind, "listen", st->srv.listen,
		       "connections", n[0], "rejected", n[1], "errors", n[2], "bytes", n[3], NULL);
	}
	free(st);
}

static const struct in_plugin in_tcp = {
	.open = tcp_open,
	.tick = tcp_tick,
	.done = tcp_done,
	.stop = tcp_stop,
	.metrics = tcp_metrics,
	.close = tcp_close,
	.hand_over = tcp_hand_over,
};

static const struct cd_opt_spec tcp_opts[] = {
	{"listen", CD_OPT_STRING, NULL, "IPV4:PORT, [IPV6]:PORT or PORT (127.0.0.1) to listen on (required)",
	 NULL, 0, 0},
	{"max_connections", CD_OPT_UINT, "256", "open connections at most (1..65536)", NULL,
	 CD_NET_CONNECTIONS_MAX, 0},
	IN_NET_IDLE_OPT,
	CD_OPT_REFUSE("path", "a URL path is for http inputs"),
	CD_OPT_REFUSE("read_from", "read_from is for tail inputs, not tcp"),
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

static const struct cd_opt_spec unix_opts[] = {
	{"listen", CD_OPT_STRING, NULL, "unix:PATH, the socket to listen on (or path:)", NULL, 0, 0},
	{"path", CD_OPT_STRING, NULL, "the socket's path (as listen: unix:PATH)", NULL, 0, 0},
	{"max_connections", CD_OPT_UINT, "256", "open connections at most (1..65536)", NULL,
	 CD_NET_CONNECTIONS_MAX, 0},
	IN_NET_IDLE_OPT,
	CD_OPT_REFUSE("read_from", "read_from is for tail inputs, not unix"),
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

extern const struct cd_plugin_desc in_tcp_desc, in_unix_desc;

static int tcp_check(struct cd_opts *o, struct cd_err *err)
{
	return in_net_check(o, &in_tcp_desc, err);
}

static int unix_check(struct cd_opts *o, struct cd_err *err)
{
	return in_net_check(o, &in_unix_desc, err);
}

const struct cd_plugin_desc in_tcp_desc = {
	.name = "tcp",
	.scheme = "tcp",
	.usage = "tcp://HOST:PORT",
	.summary = "lines, one source per connection",
	.opts = tcp_opts,
	.flags = CD_PLUGIN_NET,
	.check = tcp_check,
	.in = &in_tcp,
};

const struct cd_plugin_desc in_unix_desc = {
	.name = "unix",
	.scheme = "unix",
	.usage = "unix:///PATH",
	.summary = "lines on a unix stream socket",
	.opts = unix_opts,
	.flags = CD_PLUGIN_NET | CD_PLUGIN_UNIX,
	.check = unix_check,
	.in = &in_tcp,
};
