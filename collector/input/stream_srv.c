/*
 * input/stream_srv.c - the listener, epoll set and connections of the
 * stream inputs (see stream_srv.h); one copy for tcp, unix, syslog over
 * tcp and forward.
 *
 * DESIGN: one listening socket and one epoll set of the input's own (the
 * listener and every connection), that set watched by the pipeline: the
 * loop wakes on one fd however many clients there are, and connections
 * are accepted, read and closed only in tick(), never inside the loop's
 * fd callbacks. The set is level-triggered: while the pipeline holds
 * inputs back, the callback takes it out of the loop's set (else the loop
 * would wake at once, forever) and tick() puts it back; what is not read
 * waits in the kernel and pushes back on the senders.
 *
 * Past max_connections a new connection is accepted and closed at once
 * (in_net_reject()): the client sees the close and can retry, rather than
 * hang in the backlog. Out of fds, the listener (which stays readable)
 * leaves the set for a second.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "input/stream_srv.h"
#include "pipeline.h"
#include "util/metrics.h"
#include "util/util.h"
#include "util/banned.h"

#define SS_ACCEPT_PAUSE_NS 1000000000 /* out of fds: a second for some to close */

/* Anything to look at: note it; held back, leave the loop's set until tick() (level-triggered). */
static void on_ready(void *arg)
{
	struct ss_srv *s = arg;

	s->ready = true;
	if (pl_backpressure(s->pl) && s->watched) {
		pl_unwatch_fd(s->pl, s->epfd);
		s->watched = false;
	}
}

int ss_init(struct ss_srv *s, const struct ss_ops *ops, struct pipeline *pl, unsigned idx,
	    const struct cd_opts *o, const char *kind, struct cd_err *err)
{
	int rc;

	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->pl = pl;
	s->idx = idx;
	s->kind = kind;
	s->prefix = kind;
	s->uprefix = "";
	s->listen = cd_opt_get(o, "listen");
	s->lfd = s->xfd = s->epfd = -1;
	s->socktype = SOCK_STREAM;
	cd_opt_u64(o, "max_connections", CD_NET_CONNECTIONS_DEFAULT, CD_NET_CONNECTIONS_MAX,
		   &s->max_connections, NULL); /* checked by in_net_check() */
	if ((rc = in_net_idle_init(&s->idle, o, err)) < 0)
		return rc;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0)
		return cd_err_set(err, -CD_EIO, errno, "epoll_create1: %s", strerror(errno));
	return 0;
}

int ss_listen(struct ss_srv *s, struct in_handoff *kept, struct cd_err *err)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};

	s->kept = kept && kept->fd[0] >= 0; /* reload: it never stopped listening */
	s->lfd = in_handoff_listen(kept, 0, s->listen, s->socktype, &s->sock, err);
	if (s->lfd < 0)
		return s->lfd;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &ev) < 0)
		return cd_err_set(err, -CD_EIO, errno, "%s: epoll: %s", s->listen, strerror(errno));
	return 0;
}

void ss_add_extra(struct ss_srv *s, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->xfd};

	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		return;
	}
	s->xfd = fd;
}

void ss_conn_watch(struct ss_conn *c, bool on)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};

	if (on == c->in_epoll)
		return;
	if (on ? epoll_ctl(c->srv->epfd, EPOLL_CTL_ADD, c->fd, &ev) == 0
	       : epoll_ctl(c->srv->epfd, EPOLL_CTL_DEL, c->fd, NULL) == 0)
		c->in_epoll = on;
}

/* Out of the list and freed (its fd is closed or handed over by the caller). */
static void unlink_free(struct ss_conn *c)
{
	struct ss_srv *s = c->srv;

	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	if (s->ops->release)
		s->ops->release(c);
	free(c);
}

void ss_conn_close(struct ss_conn *c)
{
	struct ss_srv *s = c->srv;

	cd_log(FMT_LEVEL_DEBUG, "connection closed", "input", s->kind, "listen", s->listen, "peer", c->name,
	       NULL);
	if (s->ops->closing)
		s->ops->closing(c);
	ss_conn_watch(c, false);
	close(c->fd);
	unlink_free(c);
}

void ss_conn_fail(struct ss_conn *c, int e)
{
	c->srv->resets++;
	cd_log(FMT_LEVEL_DEBUG, "connection error", "input", c->srv->kind, "listen", c->srv->listen, "peer",
	       c->name, "error", strerror(e), NULL);
	ss_conn_close(c);
}

/* A connection on @fd (taken: closed on failure or past max_connections), @hc: handed over. */
static void add_conn(struct ss_srv *s, int fd, const struct sockaddr_storage *ss,
		     const struct in_handoff_conn *hc)
{
	struct ss_conn *c;

	if (s->nconns >= s->max_connections) {
		in_net_reject(fd, &s->rejected, s->kind, s->listen);
		return;
	}
	if (!(c = calloc(1, s->ops->conn_size))) {
		close(fd);
		return;
	}
	c->srv = s;
	c->fd = fd;
	c->last_ns = cd_mono_ns();
	in_net_peer_name(fd, ss, s->prefix, s->uprefix, s->listen, c->name, sizeof(c->name));
	ss_conn_watch(c, true); /* first: init() may take it out again (forward, stalled) */
	if (!c->in_epoll) {
		cd_log(FMT_LEVEL_ERROR, "cannot watch a connection", "input", s->kind, "listen", s->listen,
		       "error", strerror(errno), NULL);
		goto err_free;
	}
	if (s->ops->init && s->ops->init(c, hc) < 0) {
		ss_conn_watch(c, false);
		goto err_free;
	}
	if (ss->ss_family != AF_UNIX) {
		int one = 1;
		/* a peer host that vanished frees its slot, eventually */
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		/* an answer is a few bytes the sender waits for: Nagle would hold it for the peer's delayed ACK */
		if (s->nodelay)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	s->accepted++;
	cd_log(FMT_LEVEL_DEBUG, "connection", "input", s->kind, "listen", s->listen, "peer", c->name, NULL);
	return;

err_free:
	if (s->ops->release)
		s->ops->release(c);
	free(c);
	close(fd);
}

/* Accept up to CD_NET_ACCEPT_BURST connections. Return: true when more may wait. */
static bool accept_some(struct ss_srv *s, int64_t now)
{
	for (unsigned k = 0; k < CD_NET_ACCEPT_BURST; k++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(s->lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return false;
			/* out of fds or memory: the listener stays readable, so leave it out for a second */
			cd_log(FMT_LEVEL_WARN, "cannot accept: pausing for 1s", "input", s->kind, "listen",
			       s->listen, "error", strerror(errno), NULL);
			epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->lfd, NULL);
			s->accept_resume_ns = now + SS_ACCEPT_PAUSE_NS;
			return false;
		}
		if (len == 0 || ss.ss_family == AF_UNSPEC)
			ss.ss_family = AF_UNIX; /* an unnamed unix peer */
		add_conn(s, fd, &ss, NULL);
	}
	return true;
}

/* open() on a reload: go on with the old pipeline's connections where they were. */
static void adopt_conns(struct ss_srv *s, struct in_handoff *kept)
{
	for (unsigned i = 0; kept && i < kept->nconns; i++) {
		struct in_handoff_conn *hc = &kept->conns[i];
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		memset(&ss, 0, sizeof(ss));
		if (getpeername(hc->fd, (struct sockaddr *)&ss, &len) < 0 || len == 0)
			ss.ss_family = AF_UNIX;
		add_conn(s, hc->fd, &ss, hc);
		hc->fd = -1; /* add_conn() took it (or closed it) */
	}
	s->ready = true; /* what the clients wrote meanwhile */
}

int ss_start(struct ss_srv *s, struct in_handoff *kept, struct cd_err *err)
{
	int rc;

	in_net_announce(s->kind, s->listen, s->lfd, s->kept);
	if ((rc = pl_watch_fd(s->pl, s->epfd, on_ready, s)) < 0)
		return cd_err_set(err, rc, errno, "%s: cannot watch", s->listen);
	s->watched = true;
	adopt_conns(s, kept);
	return 0;
}

/*
 * Close the connections silent for idle_timeout, so that idle clients
 * cannot hold every max_connections slot. One that has bytes waiting in
 * the kernel is not idle, nor one busy(): clewd holds it, not the client.
 */
static void sweep_idle(struct ss_srv *s, int64_t now)
{
	if (!in_net_idle_due(&s->idle, now))
		return;
	for (struct ss_conn *c = s->conns, *next; c; c = next) {
		next = c->next;
		if (s->ops->busy && s->ops->busy(c))
			c->last_ns = now;
		else if (in_net_idle_is(&s->idle, c->fd, &c->last_ns, now))
			ss_conn_close(c);
	}
	in_net_idle_done(&s->idle, s->kind, s->listen);
}

void ss_prepare(struct ss_srv *s, int64_t now)
{
	sweep_idle(s, now);
	if (!s->watched && pl_watch_fd(s->pl, s->epfd, on_ready, s) == 0) {
		s->watched = true;
		s->ready = true; /* whatever came meanwhile */
	}
	if (s->accept_resume_ns && now >= s->accept_resume_ns) {
		struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &lev) == 0)
			s->accept_resume_ns = 0;
		else
			s->accept_resume_ns = now + SS_ACCEPT_PAUSE_NS;
	}
}

bool ss_poll(struct ss_srv *s, int64_t now)
{
	struct epoll_event ev[64];
	bool more = false;
	int n;

	if (!s->ready)
		return false;
	s->ready = false;
	n = epoll_wait(s->epfd, ev, 64, 0);
	for (int i = 0; i < n; i++) {
		if (!ev[i].data.ptr) {
			more |= s->socktype == SOCK_DGRAM ? s->ops->recv(s) : accept_some(s, now);
		} else if (ev[i].data.ptr == &s->xfd) {
			s->ops->extra(s);
		} else if (pl_backpressure(s->pl)) {
			more = true; /* the rest waits in the kernel; read when the pipeline resumes */
			break;
		} else {
			more |= s->ops->read(ev[i].data.ptr);
		}
	}
	if (n == 64)
		more = true;
	s->ready = more;
	return more;
}

bool ss_tick(struct ss_srv *s, int64_t now)
{
	if (s->stopped)
		return false;
	ss_prepare(s, now);
	return ss_poll(s, now);
}

/* Out of the pipeline's set; the listener out of ours. */
static void unwatch(struct ss_srv *s)
{
	s->stopped = true;
	if (s->watched) {
		pl_unwatch_fd(s->pl, s->epfd);
		s->watched = false;
	}
	if (s->lfd >= 0)
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->lfd, NULL);
}

void ss_stop_listening(struct ss_srv *s)
{
	unwatch(s);
	if (s->lfd >= 0) {
		close(s->lfd);
		s->lfd = -1;
	}
}

void ss_drain_close(struct ss_srv *s)
{
	while (s->conns) {
		struct ss_conn *c = s->conns;
		unsigned n = s->nconns;

		/* what the kernel holds was sent to us: take it, unless the outputs are behind */
		while (!pl_backpressure(s->pl) && s->ops->read(c))
			;
		if (s->nconns == n) /* read() did not close it */
			ss_conn_close(c);
	}
}

void ss_hand_over(struct ss_srv *s, struct in_handoff *h)
{
	unwatch(s);
	while (s->conns) {
		struct ss_conn *c = s->conns;

		if (s->ops->hand(c, h) < 0) {
			ss_conn_close(c); /* as at SIGTERM */
			continue;
		}
		ss_conn_watch(c, false); /* its fd is the handoff's now */
		unlink_free(c);
	}
	if (s->lfd >= 0)
		in_handoff_put_listener(h, 0, &s->lfd, &s->sock);
	if (s->xfd >= 0) {
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->xfd, NULL);
		in_handoff_put_listener(h, 1, &s->xfd, NULL);
	}
}

void ss_metrics(const struct ss_srv *s, struct metrics *m, const char *label)
{
	metrics_add(m, "clewd_input_connections_total", METRICS_COUNTER,
		    "Connections accepted by a network input", label, (double)s->accepted);
	metrics_add(m, "clewd_input_connections_open", METRICS_GAUGE, "Connections open now", label,
		    (double)s->nconns);
	metrics_add(m, "clewd_input_connections_rejected_total", METRICS_COUNTER,
		    "Connections closed at once because max_connections were open", label,
		    (double)s->rejected);
	metrics_add(m, "clewd_input_connection_errors_total", METRICS_COUNTER,
		    "Connections that ended in an error (reset) rather than a close", label,
		    (double)s->resets);
	in_net_idle_metrics(&s->idle, m, label);
}

void ss_release(struct ss_srv *s)
{
	/* the sources are the pipeline's: ended by stop(), or freed by pipeline_free() */
	while (s->conns) {
		struct ss_conn *c = s->conns;
		int fd = c->fd;

		unlink_free(c);
		close(fd);
	}
	if (s->watched)
		pl_unwatch_fd(s->pl, s->epfd);
	s->watched = false;
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->xfd >= 0)
		close(s->xfd);
	if (s->epfd >= 0)
		close(s->epfd);
	s->lfd = s->xfd = s->epfd = -1;
	if (s->listen)
		cd_net_sockfile_remove(&s->sock, s->listen);
}
