/*
 * input/in_forward.c - the forward input: Fluentd Forward Protocol v1
 * over TCP or a unix stream socket (`forward://HOST:PORT`,
 * `forward+unix:///PATH`), with the UDP heartbeat on the TCP port.
 *
 * DESIGN: as in_tcp.c, the listener, the epoll set, accept,
 * max_connections and idle_timeout are stream_srv.c's; connections are
 * accepted, read and closed only in tick(). This file is the plugin
 * (tick, stop, reload, the heartbeat, options); a connection's life is
 * fwd_conn.c's, the handshake fwd_auth.c's. Each connection buffers bytes until
 * fwd_scan() finds a whole frame (fwd_decode.c), which is decoded into
 * clew JSON lines and handed to the intake (intake.h) as one request. A
 * frame with the `chunk` option is answered {"ack": chunk} only from the
 * request's done(), i.e. when the intake says the records are safe as
 * the `ack` option says (durable: fsync'd in the write-ahead log).
 *
 * Backpressure: when the intake refuses a frame (-CD_EAGAIN) the frame
 * stays in the connection's buffer, the connection leaves the epoll set
 * (nothing more is read: the kernel's buffers push back on the sender)
 * and the same frame is offered again on later ticks. Nothing is taken
 * and then dropped: a frame is either in the intake or still ours.
 *
 * An invalid frame (fwd_decode.h's reasons) is counted per reason, logged
 * with the peer, and its connection closed: the frame was not acked, so
 * the sender sends it again (to us or another server). A connection that
 * closes with requests in flight cancels them (intake_cancel()); their
 * records stay in the intake, only the acks are lost (the sender resends:
 * a duplicate, never a loss).
 *
 * With shared_key, a connection starts with the handshake of the spec:
 * our HELO (a fresh nonce, no user authentication), the client's PING,
 * whose digest must be SHA-512(salt, its hostname, the nonce, the key),
 * our PONG with our own digest; a wrong key gets PONG false, is counted
 * (reason auth) and closed. Not done: user authentication.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "input/fwd_conn.h"
#include "util/tls_server.h"
#include "pipeline.h"
#include "util/metrics.h"
#include "util/util.h"
#include "util/banned.h"

static const char *const mode_names[4] = {"message", "forward", "packed", "compressed"};

/* Heartbeats: Fluentd's out_forward sends a UDP datagram to the server's port; the answer is one 0 byte. */
void fwd_heartbeats(struct ss_srv *s)
{
	struct fwd_state *st = (struct fwd_state *)(void *)s; /* its first member */

	for (unsigned k = 0; k < 64; k++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		char b[64];
		ssize_t n = recvfrom(s->xfd, b, sizeof(b), MSG_DONTWAIT, (struct sockaddr *)&ss, &len);

		if (n < 0)
			return;
		if (sendto(s->xfd, "\0", 1, MSG_DONTWAIT, (struct sockaddr *)&ss, len) == 1)
			st->heartbeats++;
	}
}

static bool fwd_tick(void *state, int64_t now)
{
	struct fwd_state *st = state;
	bool more = false;

	if (st->srv.stopped)
		return false;
	more |= intake_tick(st->intake, now);
	if (st->adopted) {
		/* frames the old pipeline received whole but had not taken */
		st->adopted = false;
		for (struct ss_conn *c = st->srv.conns, *next; c; c = next) {
			next = c->next;
			fwd_conn_take_frames((struct fwd_conn *)c);
		}
	}
	ss_prepare(&st->srv, now);
	/* frames the intake refused: offered again first, in order */
	if (st->nstalled)
		for (struct ss_conn *sc = st->srv.conns, *next; sc; sc = next) {
			struct fwd_conn *c = (struct fwd_conn *)sc;
			enum fwd_reason why;
			int rc;

			next = sc->next;
			if (!c->stalled)
				continue;
			rc = fwd_conn_offer(c, (size_t)fwd_scan(&c->sc, c->buf, c->len, &why));
			if (rc < 0)
				fwd_conn_close(c);
			else if (rc == 1 && fwd_conn_take_frames(c))
				more = true; /* its socket may hold more */
		}
	if (!st->srv.ready)
		return more;
	more |= ss_poll(&st->srv, now);
	more |= intake_tick(st->intake, now);
	st->srv.ready = more;
	return more;
}

static bool fwd_done(void *state)
{
	(void)state;
	return false;
}

/* Commit what was taken (its done() calls queue the acks) and send the acks. */
static void commit_ack(struct fwd_state *st)
{
	intake_stop(st->intake);
	for (struct ss_conn *c = st->srv.conns; c; c = c->next)
		if (((struct fwd_conn *)c)->outlen)
			fwd_conn_flush((struct fwd_conn *)c);
}

static void fwd_stop(void *state)
{
	struct fwd_state *st = state;

	if (st->srv.stopped)
		return;
	ss_stop_listening(&st->srv);
	/* what the kernel holds was sent to us: take it, unless the outputs are behind */
	for (struct ss_conn *c = st->srv.conns, *next; c; c = next) {
		next = c->next;
		if (!pl_backpressure(st->srv.pl) && !((struct fwd_conn *)c)->stalled)
			fwd_conn_read((struct fwd_conn *)c);
	}
	commit_ack(st);
	while (st->srv.conns)
		ss_conn_close(st->srv.conns);
}

/*
 * Reload, this input unchanged: read nothing more, commit what was taken
 * and send its acks, then hand the listener, the heartbeat socket and
 * every connection (its bytes not yet taken: a partial or refused frame,
 * its handshake state) to the new pipeline's twin. A TLS session cannot
 * move: those connections end as at SIGTERM (the sender resends what was
 * not acked), as does one still waiting for an ack.
 */
static void fwd_hand_over(void *state, struct in_handoff *h)
{
	struct fwd_state *st = state;

	if (st->srv.stopped)
		return;
	for (struct ss_conn *sc = st->srv.conns, *next; sc; sc = next) {
		struct fwd_conn *c = (struct fwd_conn *)sc;

		next = sc->next;
		if (c->tls && !pl_backpressure(st->srv.pl) && !c->stalled)
			fwd_conn_read(c);
	}
	commit_ack(st);
	ss_hand_over(&st->srv, h);
}

static void fwd_metrics(void *state, struct metrics *m, const char *label)
{
	const struct fwd_state *st = state;
	char l[512];

	ss_metrics(&st->srv, m, label);
	metrics_add(m, "clewd_forward_events_total", METRICS_COUNTER, "Forward events taken", label,
		    (double)st->events);
	metrics_add(m, "clewd_forward_acks_total", METRICS_COUNTER, "Forward acks sent", label,
		    (double)st->acks);
	metrics_add(m, "clewd_forward_acks_lost_total", METRICS_COUNTER,
		    "Forward acks not sent: the connection closed first (the sender resends)", label,
		    (double)st->ack_lost);
	metrics_add(m, "clewd_forward_refused_total", METRICS_COUNTER,
		    "Forward frames the intake refused for now (offered again; the sender waits)", label,
		    (double)st->refused);
	metrics_add(m, "clewd_forward_heartbeats_total", METRICS_COUNTER, "UDP heartbeats answered", label,
		    (double)st->heartbeats);
	for (unsigned i = 0; i < 4; i++) {
		snprintf(l, sizeof(l), "%s", label ? label : "");
		metrics_label(l, sizeof(l), "mode", mode_names[i]);
		metrics_add(m, "clewd_forward_frames_total", METRICS_COUNTER, "Forward frames taken, by mode",
			    l, (double)st->modes[i]);
	}
	for (unsigned i = 0; i < FWD_R_N; i++) {
		snprintf(l, sizeof(l), "%s", label ? label : "");
		metrics_label(l, sizeof(l), "reason", fwd_reason_names[i]);
		metrics_add(m, "clewd_forward_invalid_total", METRICS_COUNTER,
			    "Forward frames refused as invalid (connection closed), by reason", l,
			    (double)st->invalid[i]);
	}
	intake_metrics(st->intake, m, label);
}

/* The heartbeat's UDP socket on the TCP port (a failure is logged: heartbeats are optional). */
static void heartbeat_listen(struct fwd_state *st, struct in_handoff *kept)
{
	const char *listen = st->srv.listen;
	const char *colon = strrchr(listen, ':');
	char addr[CD_INPUT_NAME_MAX];
	struct cd_err err = {0};
	int fd;

	if (!colon || strncmp(listen, "unix:", 5) == 0)
		return;
	snprintf(addr, sizeof(addr), "%.*s:%u", (int)(colon - listen), listen,
		 (unsigned)cd_net_local_port(st->srv.lfd));
	fd = in_handoff_listen(kept, 1, addr, SOCK_DGRAM, NULL, &err);
	if (fd < 0) {
		cd_log(FMT_LEVEL_WARN, "no UDP heartbeat", "input", "forward", "listen", listen, "error",
		       err.msg, NULL);
		return;
	}
	ss_add_extra(&st->srv, fd);
}

static void fwd_close(void *state);

static int fwd_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_input_conf *ic,
		    struct cd_err *err)
{
	struct fwd_state *st = calloc(1, sizeof(*st));
	struct in_handoff *kept = NULL;
	char name[CD_INPUT_NAME_MAX];
	int rc;

	if (!st)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	if ((rc = ss_init(&st->srv, &fwd_conn_ops, pl, idx, &ic->opts, "forward", err)) < 0) {
		free(st);
		return rc;
	}
	st->srv.uprefix = "forward:";
	st->srv.nodelay = true; /* an ack is a few bytes the sender waits for */
	st->shared_key = cd_opt_get(&ic->opts, "shared_key");
	if (st->shared_key && !*st->shared_key)
		st->shared_key = NULL;
	if (cd_opt_get(&ic->opts, "self_hostname"))
		cd_strlcpy(st->hostname, cd_opt_get(&ic->opts, "self_hostname"), sizeof(st->hostname));
	else if (gethostname(st->hostname, sizeof(st->hostname) - 1) < 0)
		cd_strlcpy(st->hostname, "clewd", sizeof(st->hostname));
	*state = NULL;
	if (cd_opt_get(&ic->opts, "cert_file") &&
	    (rc = tls_server_new(&st->tls, cd_opt_get(&ic->opts, "cert_file"),
				 cd_opt_get(&ic->opts, "key_file"), err)) < 0)
		goto err_close;
	kept = in_handoff_take(ic);
	if ((rc = ss_listen(&st->srv, kept, err)) < 0)
		goto err_close;
	heartbeat_listen(st, kept);
	snprintf(name, sizeof(name), "forward:%s", st->srv.listen);
	if ((rc = intake_open(&st->intake, pl, idx, ic, name, err)) < 0)
		goto err_close;
	if ((rc = ss_start(&st->srv, kept, err)) < 0)
		goto err_close;
	st->opened = true;
	st->adopted = kept != NULL;
	in_handoff_free(kept);
	*state = st;
	return 0;

err_close:
	in_handoff_free(kept);
	fwd_close(st);
	return rc;
}

static void fwd_close(void *state)
{
	struct fwd_state *st = state;
	char n[3][24];

	if (!st)
		return;
	while (st->srv.conns)
		ss_conn_close(st->srv.conns);
	intake_close(st->intake);
	ss_release(&st->srv);
	fwd_dec_release(&st->dec);
	tls_server_free(st->tls);
	if (st->opened) {
		snprintf(n[0], sizeof(n[0]), "%llu", (unsigned long long)st->srv.accepted);
		snprintf(n[1], sizeof(n[1]), "%llu", (unsigned long long)st->events);
		snprintf(n[2], sizeof(n[2]), "%llu", (unsigned long long)st->acks);
		cd_log(FMT_LEVEL_INFO, "input closed", "input", "forward", "listen", st->srv.listen,
		       "connections", n[0], "events", n[1], "acks", n[2], NULL);
	}
	free(st);
}

static const struct in_plugin in_forward = {
	.open = fwd_open,
	.tick = fwd_tick,
	.done = fwd_done,
	.stop = fwd_stop,
	.metrics = fwd_metrics,
	.close = fwd_close,
	.hand_over = fwd_hand_over,
};

/* TLS on every connection: the server's certificate and key (both or neither; fwd_check()). */
#define FWD_TLS_OPTS                                                                                    \
	{"cert_file",                                                                                   \
	 CD_OPT_STRING,                                                                                 \
	 NULL,                                                                                          \
	 "TLS: the server's certificate chain (PEM), with key_file",                                    \
	 NULL,                                                                                          \
	 0,                                                                                             \
	 0},                                                                                            \
	{                                                                                               \
		"key_file", CD_OPT_STRING, NULL, "TLS: the server's private key (PEM), with cert_file", \
			NULL, 0, 0                                                                      \
	}

static const struct cd_opt_spec forward_opts[] = {
	{"listen", CD_OPT_STRING, NULL,
	 "IPV4:PORT, [IPV6]:PORT or PORT (127.0.0.1) to listen on (required); UDP heartbeats on the same port",
	 NULL, 0, 0},
	{"max_connections", CD_OPT_UINT, "256", "open connections at most (1..65536)", NULL,
	 CD_NET_CONNECTIONS_MAX, 0},
	IN_NET_IDLE_OPT,
	INTAKE_OPTS,
	{"shared_key", CD_OPT_STRING, NULL,
	 "require Fluentd's shared-key handshake (HELO/PING/PONG) with this key", NULL, 0, CD_OPT_SECRET},
	{"self_hostname", CD_OPT_STRING, "the host name", "our name in the handshake's PONG", NULL, 0, 0},
	FWD_TLS_OPTS,
	CD_OPT_REFUSE("path", "a URL path is for http inputs"),
	CD_OPT_REFUSE("read_from", "read_from is for tail inputs, not forward"),
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

static const struct cd_opt_spec forward_unix_opts[] = {
	{"listen", CD_OPT_STRING, NULL, "unix:PATH, the socket to listen on (or path:)", NULL, 0, 0},
	{"path", CD_OPT_STRING, NULL, "the socket's path (as listen: unix:PATH)", NULL, 0, 0},
	{"max_connections", CD_OPT_UINT, "256", "open connections at most (1..65536)", NULL,
	 CD_NET_CONNECTIONS_MAX, 0},
	IN_NET_IDLE_OPT,
	INTAKE_OPTS,
	{"shared_key", CD_OPT_STRING, NULL,
	 "require Fluentd's shared-key handshake (HELO/PING/PONG) with this key", NULL, 0, CD_OPT_SECRET},
	{"self_hostname", CD_OPT_STRING, "the host name", "our name in the handshake's PONG", NULL, 0, 0},
	FWD_TLS_OPTS,
	CD_OPT_REFUSE("read_from", "read_from is for tail inputs, not forward"),
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

extern const struct cd_plugin_desc in_forward_desc, in_forward_unix_desc;

/* The network options, and TLS's two files given together. */
static int fwd_check(struct cd_opts *o, const struct cd_plugin_desc *d, struct cd_err *err)
{
	int rc = in_net_check(o, d, err);

	if (rc == 0 && !cd_opt_get(o, "cert_file") != !cd_opt_get(o, "key_file"))
		rc = cd_opt_fail(o, cd_opt_get(o, "cert_file") ? "cert_file" : "key_file",
				 "TLS needs both cert_file and key_file", err);
	return rc;
}

static int forward_check(struct cd_opts *o, struct cd_err *err)
{
	return fwd_check(o, &in_forward_desc, err);
}

static int forward_unix_check(struct cd_opts *o, struct cd_err *err)
{
	return fwd_check(o, &in_forward_unix_desc, err);
}

const struct cd_plugin_desc in_forward_desc = {
	.name = "forward",
	.scheme = "forward",
	.usage = "forward://HOST:PORT",
	.summary = "Fluentd forward protocol (acks when durable), UDP heartbeat",
	.opts = forward_opts,
	.flags = CD_PLUGIN_NET,
	.check = forward_check,
	.in = &in_forward,
};

const struct cd_plugin_desc in_forward_unix_desc = {
	.name = "forward_unix",
	.scheme = "forward+unix",
	.usage = "forward+unix:///PATH",
	.summary = "Fluentd forward protocol on a unix stream socket",
	.opts = forward_unix_opts,
	.flags = CD_PLUGIN_NET | CD_PLUGIN_UNIX,
	.check = forward_unix_check,
	.in = &in_forward,
};
