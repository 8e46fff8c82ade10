/*
 * input/in_tcp.c - the tcp and unix (stream) inputs: newline-delimited
 * lines over connections.
 *
 * DESIGN: one listening socket and one epoll set of the input's own (the
 * listener and every connection), that set watched by the pipeline: the
 * loop wakes on one fd however many clients there are, and connections
 * are accepted, read and closed only in tick(), never inside the loop's
 * fd callbacks. Each connection is its own source without a checkpoint
 * (a socket cannot be read again), so the lines of two connections never
 * mix and a connection's lines keep their order; the pipeline cuts and
 * splits lines as for files (pl_source_read()). At EOF or a reset, what
 * was read of a last line without its newline becomes a record of its
 * own (pl_source_end()).
 *
 * Backpressure: tick() is not called while the pipeline holds inputs
 * back, and it stops between connections when backpressure begins, so
 * nothing more is read and the kernel's socket buffers push back on the
 * senders (their writes block). The epoll set is level-triggered: while
 * held back, the callback takes it out of the loop's set (else the loop
 * would wake at once, forever) and tick() puts it back.
 *
 * Past max_connections a new connection is accepted and closed at once
 * (counted, logged at 1, 2, 4, ... rejections): the client sees the
 * close and can retry, rather than hang in the backlog. stop() (SIGTERM)
 * closes the listener, reads what the kernel holds of every connection
 * (unless held back) and ends every source: what was received is
 * delivered before clewd exits.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "input/handoff.h"
#include "input/in_net.h"
#include "pipeline.h"
#include "util/metrics.h"
#include "util/net.h"
#include "util/util.h"
#include "util/banned.h"

struct tcp_conn {
	struct tcp_conn *prev, *next; /* list of open connections */
	int fd;			      /* the connection */
	struct pl_source *src;	      /* its source */
	int64_t last_ns;	      /* monotonic ns of its last byte (or its accept) */
};

struct tcp_state {
	struct pipeline *pl;	     /* the pipeline */
	unsigned idx;		     /* input index */
	const char *listen;	     /* its address (the configuration's) */
	uint64_t max_connections;    /* open connections at most */
	const char *kind;	     /* "tcp" or "unix" */
	int lfd;		     /* listening socket; -1 after stop() */
	int epfd;		     /* the input's epoll set: listener and connections */
	bool watched;		     /* epfd is in the pipeline's set */
	bool ready;		     /* epfd said readable: look at it in tick() */
	bool stopped;		     /* stop() ran: nothing more is read */
	int64_t accept_resume_ns;    /* out of fds: listener out of epfd until then; 0: in */
	struct cd_net_sockfile sock; /* unix: the socket file we bound (unlinked at close) */
	struct tcp_conn *conns;	     /* open connections */
	unsigned nconns;	     /* entries in conns */
	uint64_t accepted;	     /* connections accepted, in total */
	uint64_t rejected;	     /* connections closed at once (max_connections) */
	uint64_t resets;	     /* connections that ended in an error (ECONNRESET) */
	struct in_net_idle idle;     /* idle_timeout */
	bool opened;		     /* open() succeeded: close() reports the counters */
	struct in_handoff *kept;     /* open(): the old pipeline's sockets (reload); NULL: none */
};

/* Anything to look at: note it; held back, leave the loop's set until tick() (level-triggered). */
static void on_ready(void *arg)
{
	struct tcp_state *st = arg;

	st->ready = true;
	if (pl_backpressure(st->pl) && st->watched) {
		pl_unwatch_fd(st->pl, st->epfd);
		st->watched = false;
	}
}

static void close_conn(struct tcp_state *st, struct tcp_conn *c)
{
	cd_log(FMT_LEVEL_DEBUG, "connection closed", "input", st->kind, "listen", st->listen, NULL);
	epoll_ctl(st->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	pl_source_end(st->pl, c->src, false);
	if (c->prev)
		c->prev->next = c->next;
	else
		st->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	st->nconns--;
	free(c);
}

/* Read what @c has. Return: true when more is waiting (a whole burst read). */
static bool read_conn(struct tcp_state *st, struct tcp_conn *c, int64_t now)
{
	bool eof = false;
	long n = pl_source_read(st->pl, c->src, c->fd, &eof);

	if (n > 0)
		c->last_ns = now;
	if (n < 0) {
		/* a reset: what was read stays, its partial last line included */
		st->resets++;
		cd_log(FMT_LEVEL_DEBUG, "connection error", "input", st->kind, "listen", st->listen, "error",
		       strerror((int)-n), NULL);
		eof = true;
	}
	if (eof) {
		close_conn(st, c);
		return false;
	}
	return n >= (long)CD_READ_BURST;
}

/* Return: the new connection, or NULL (closed: max_connections, out of memory). */
static struct tcp_conn *add_conn(struct tcp_state *st, int fd, const struct sockaddr_storage *ss, int64_t now)
{
	struct epoll_event ev;
	struct tcp_conn *c;
	char name[256];

	if (st->nconns >= st->max_connections) {
		in_net_reject(fd, &st->rejected, st->kind, st->listen);
		return NULL;
	}
	in_net_peer_name(fd, ss, "tcp", "", st->listen, name, sizeof(name));
	c = calloc(1, sizeof(*c));
	if (!c)
		goto err_close;
	c->fd = fd;
	c->last_ns = now;
	c->src = pl_source_new(st->pl, st->idx, name, NULL, 0, 0, 0);
	if (!c->src)
		goto err_free;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.ptr = c;
	if (epoll_ctl(st->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		cd_log(FMT_LEVEL_ERROR, "cannot watch a connection", "input", st->kind, "listen", st->listen,
		       "error", strerror(errno), NULL);
		pl_source_abandon(st->pl, c->src);
		goto err_free;
	}
	if (ss->ss_family != AF_UNIX) {
		int one = 1;
		/* a peer host that vanished frees its slot, eventually */
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	}
	c->next = st->conns;
	if (st->conns)
		st->conns->prev = c;
	st->conns = c;
	st->nconns++;
	st->accepted++;
	cd_log(FMT_LEVEL_DEBUG, "connection", "input", st->kind, "listen", st->listen, "peer", name, NULL);
	return c;

err_free:
	free(c);
err_close:
	close(fd);
	return NULL;
}

/* Accept up to CD_NET_ACCEPT_BURST connections. Return: true when more may wait. */
static bool accept_some(struct tcp_state *st, int64_t now)
{
	for (unsigned k = 0; k < CD_NET_ACCEPT_BURST; k++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(st->lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return false;
			/* out of fds or memory: the listener stays readable, so leave it out for a second */
			cd_log(FMT_LEVEL_WARN, "cannot accept: pausing for 1s", "input", st->kind, "listen",
			       st->listen, "error", strerror(errno), NULL);
			epoll_ctl(st->epfd, EPOLL_CTL_DEL, st->lfd, NULL);
			st->accept_resume_ns = now + 1000000000;
			return false;
		}
		if (len == 0 || ss.ss_family == AF_UNSPEC)
			ss.ss_family = AF_UNIX; /* an unnamed unix peer */
		add_conn(st, fd, &ss, now);
	}
	return true;
}

/*
 * Close the connections silent for idle_timeout (their partial last
 * lines become records, as at EOF), so that idle clients cannot hold
 * every max_connections slot. One that has bytes waiting in the kernel is
 * not idle: clewd held it back (backpressure), not the client.
 */
static void sweep_idle(struct tcp_state *st, int64_t now)
{
	if (!in_net_idle_due(&st->idle, now))
		return;
	for (struct tcp_conn *c = st->conns, *next; c; c = next) {
		next = c->next;
		if (in_net_idle_is(&st->idle, c->fd, &c->last_ns, now))
			close_conn(st, c);
	}
	in_net_idle_done(&st->idle, st->kind, st->listen);
}

static bool tcp_tick(void *state, int64_t now)
{
	struct tcp_state *st = state;
	struct epoll_event ev[64];
	bool more = false;
	int n;

	if (st->stopped)
		return false;
	sweep_idle(st, now);
	if (!st->watched && pl_watch_fd(st->pl, st->epfd, on_ready, st) == 0) {
		st->watched = true;
		st->ready = true; /* whatever came meanwhile */
	}
	if (st->accept_resume_ns && now >= st->accept_resume_ns) {
		struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
		if (epoll_ctl(st->epfd, EPOLL_CTL_ADD, st->lfd, &lev) == 0)
			st->accept_resume_ns = 0;
		else
			st->accept_resume_ns = now + 1000000000;
	}
	if (!st->ready)
		return false;
	st->ready = false;
	n = epoll_wait(st->epfd, ev, 64, 0);
	for (int i = 0; i < n; i++) {
		if (!ev[i].data.ptr) {
			more |= accept_some(st, now);
			continue;
		}
		if (pl_backpressure(st->pl)) {
			more = true; /* the rest waits in the kernel; read when the pipeline resumes */
			break;
		}
		more |= read_conn(st, ev[i].data.ptr, now);
	}
	if (n == 64)
		more = true;
	st->ready = more;
	return more;
}

static bool tcp_done(void *state)
{
	(void)state;
	return false; /* a listener may always get another connection */
}

static void tcp_stop(void *state)
{
	struct tcp_state *st = state;

	if (st->stopped)
		return;
	st->stopped = true;
	if (st->lfd >= 0) {
		epoll_ctl(st->epfd, EPOLL_CTL_DEL, st->lfd, NULL);
		close(st->lfd);
		st->lfd = -1;
	}
	while (st->conns) {
		struct tcp_conn *c = st->conns;
		bool eof = false;

		/* what the kernel holds was sent to us: take it, unless the outputs are behind */
		while (!pl_backpressure(st->pl) &&
		       pl_source_read(st->pl, c->src, c->fd, &eof) >= (long)CD_READ_BURST && !eof)
			;
		close_conn(st, c);
	}
	if (st->watched) {
		pl_unwatch_fd(st->pl, st->epfd);
		st->watched = false;
	}
}

/*
 * Reload, this input unchanged: stop reading (what clients write waits in
 * the kernel) and hand the listener and every connection, with the bytes
 * of its unfinished last line, to the new pipeline's twin.
 */
static void tcp_hand_over(void *state, struct in_handoff *h)
{
	static char rest[CD_LINE_MAX]; /* the loop's thread only; too large for its stack */
	struct tcp_state *st = state;

	if (st->stopped)
		return;
	st->stopped = true;
	if (st->watched) {
		pl_unwatch_fd(st->pl, st->epfd);
		st->watched = false;
	}
	if (st->lfd >= 0) {
		epoll_ctl(st->epfd, EPOLL_CTL_DEL, st->lfd, NULL);
		in_handoff_put_listener(h, 0, &st->lfd, &st->sock);
	}
	while (st->conns) {
		struct tcp_conn *c = st->conns;
		size_t n = 0;

		pl_source_end_rest(st->pl, c->src, rest, sizeof(rest), &n);
		epoll_ctl(st->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		if (in_handoff_add_conn(h, c->fd, rest, n, NULL, 0) < 0)
			close(c->fd); /* out of memory: as at SIGTERM (its unfinished line is lost) */
		st->conns = c->next;
		st->nconns--;
		free(c);
	}
}

/* open() on a reload: go on with the old pipeline's connections, their unfinished lines first. */
static void adopt_conns(struct tcp_state *st)
{
	for (unsigned i = 0; st->kept && i < st->kept->nconns; i++) {
		struct in_handoff_conn *hc = &st->kept->conns[i];
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		struct tcp_conn *c;

		memset(&ss, 0, sizeof(ss));
		if (getpeername(hc->fd, (struct sockaddr *)&ss, &len) < 0 || len == 0)
			ss.ss_family = AF_UNIX;
		c = add_conn(st, hc->fd, &ss, cd_mono_ns());
		hc->fd = -1; /* add_conn() took it (or closed it) */
		if (c && hc->n)
			pl_source_feed(st->pl, c->src, hc->bytes, hc->n);
	}
	st->ready = true; /* what the clients wrote meanwhile */
}

static void tcp_metrics(void *state, struct metrics *m, const char *label)
{
	const struct tcp_state *st = state;

	metrics_add(m, "clewd_input_connections_total", METRICS_COUNTER,
		    "Connections accepted by a network input", label, (double)st->accepted);
	metrics_add(m, "clewd_input_connections_open", METRICS_GAUGE, "Connections open now", label,
		    (double)st->nconns);
	metrics_add(m, "clewd_input_connections_rejected_total", METRICS_COUNTER,
		    "Connections closed at once because max_connections were open", label,
		    (double)st->rejected);
	metrics_add(m, "clewd_input_connection_errors_total", METRICS_COUNTER,
		    "Connections that ended in an error (reset) rather than a close", label,
		    (double)st->resets);
	in_net_idle_metrics(&st->idle, m, label);
}

/* Bind st->listen, or take the listener a reload kept; warn when beyond loopback. */
static int tcp_listen(struct tcp_state *st, struct cd_err *err)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	const bool kept = st->kept && st->kept->fd[0] >= 0; /* reload: it never stopped listening */

	st->lfd = in_handoff_listen(st->kept, 0, st->listen, SOCK_STREAM, &st->sock, err);
	if (st->lfd < 0)
		return st->lfd;
	if (epoll_ctl(st->epfd, EPOLL_CTL_ADD, st->lfd, &ev) < 0)
		return cd_err_set(err, -CD_EIO, errno, "%s: epoll: %s", st->listen, strerror(errno));
	in_net_announce(st->kind, st->listen, st->lfd, kept);
	return 0;
}

static void tcp_close(void *state);

static int tcp_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_input_conf *ic,
		    struct cd_err *err)
{
	struct tcp_state *st = calloc(1, sizeof(*st));
	int rc;

	if (!st)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	st->pl = pl;
	st->idx = idx;
	st->kind = ic->plugin->name;
	st->listen = cd_opt_get(&ic->opts, "listen");
	cd_opt_u64(&ic->opts, "max_connections", CD_NET_CONNECTIONS_DEFAULT, CD_NET_CONNECTIONS_MAX,
		   &st->max_connections, NULL); /* checked by in_net_check() */
	if ((rc = in_net_idle_init(&st->idle, &ic->opts, err)) < 0) {
		free(st);
		return rc;
	}
	st->lfd = -1;
	st->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (st->epfd < 0) {
		rc = cd_err_set(err, -CD_EIO, errno, "epoll_create1: %s", strerror(errno));
		goto err_free;
	}
	st->kept = in_handoff_take(ic);
	if ((rc = tcp_listen(st, err)) < 0)
		goto err_close;
	if ((rc = pl_watch_fd(pl, st->epfd, on_ready, st)) < 0) {
		cd_err_set(err, rc, errno, "%s: cannot watch", st->listen);
		goto err_close;
	}
	st->watched = true;
	st->opened = true;
	adopt_conns(st);
	in_handoff_free(st->kept);
	st->kept = NULL;
	*state = st;
	return 0;

err_close:
	tcp_close(st);
	return rc;
err_free:
	free(st);
	return rc;
}

static void tcp_close(void *state)
{
	struct tcp_state *st = state;
	char n[4][24];

	if (!st)
		return;
	in_handoff_free(st->kept);
	/* the sources are the pipeline's: ended by stop(), or freed by pipeline_free() */
	while (st->conns) {
		struct tcp_conn *c = st->conns;
		st->conns = c->next;
		close(c->fd);
		free(c);
	}
	if (st->watched)
		pl_unwatch_fd(st->pl, st->epfd);
	if (st->lfd >= 0)
		close(st->lfd);
	close(st->epfd);
	cd_net_sockfile_remove(&st->sock, st->listen);
	if (!st->opened) {
		free(st);
		return;
	}
	snprintf(n[0], sizeof(n[0]), "%llu", (unsigned long long)st->accepted);
	snprintf(n[1], sizeof(n[1]), "%llu", (unsigned long long)st->rejected);
	snprintf(n[2], sizeof(n[2]), "%llu", (unsigned long long)st->resets);
	snprintf(n[3], sizeof(n[3]), "%llu", (unsigned long long)pl_in_stats(st->pl, st->idx)->bytes);
	cd_log(FMT_LEVEL_INFO, "input closed", "input", st->kind, "listen", st->listen, "connections", n[0],
	       "rejected", n[1], "errors", n[2], "bytes", n[3], NULL);
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
