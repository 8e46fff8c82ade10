/*
 * input/in_syslog.c - the syslog input: RFC 5424 and RFC 3164 messages
 * over UDP, TCP (RFC 6587: octet counting or newlines, chosen by each
 * connection's first byte) and a unix datagram socket (a /dev/log
 * replacement): -i syslog+udp://HOST:PORT, syslog+tcp://HOST:PORT,
 * syslog+unix:///PATH, or type: syslog with transport: udp|tcp|unix.
 *
 * DESIGN: the sockets are util/net.h's and the options in_net.c's, as for
 * the tcp and udp inputs; the connection handling follows in_tcp.c (one
 * epoll set of the input's own, read only in tick(), one source per
 * connection, backpressure by not reading) and the datagrams in_udp.c
 * (one source, kernel drops counted by SO_RXQ_OVFL). What differs is
 * that frames are not lines: each connection keeps a buffer of one frame
 * (max_frame + its MSG-LEN), parse/syslog.c cuts the frames and decodes
 * them, and the records go to the pipeline as they are
 * (pl_source_record()), never re-encoded.
 *
 * Content is never dropped: a frame that is not syslog is kept as a raw
 * record with its reason, counted by reason and logged (at 1, 2, 4, ...)
 * with its peer; a frame longer than max_frame leaves in pieces (_split
 * = 1, 2, ...; the first holds the header); a broken MSG-LEN switches the
 * connection to newline framing rather than closing it. Syslog has no
 * acknowledgement: what a sender wrote and the kernel holds when clewd is
 * killed is lost, and UDP datagrams dropped by the kernel are counted.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fmt/str.h"
#include "input/handoff.h"
#include "input/in_net.h"
#include "parse/syslog.h"
#include "pipeline.h"
#include "util/drops.h"
#include "util/metrics.h"
#include "util/net.h"
#include "util/util.h"
#include "util/banned.h"

enum { T_UDP, T_TCP, T_UNIX };
#define TRANSPORTS "udp|tcp|unix"

/* max_frame: RFC 5425 asks receivers for 8 KiB at least; rsyslog's default is 8 KiB. */
#define SYSLOG_FRAME_DEFAULT "64k"
#define SYSLOG_FRAME_MIN 480u /* RFC 3164's and RFC 5426's smallest message a receiver must take */
#define SYSLOG_FRAME_MAX (1024u * 1024)
_Static_assert(SYSLOG_FRAME_MAX <= CD_DGRAM_MAX * 16, "a frame fits the buffers");

struct sl_conn {
	struct sl_conn *prev, *next; /* open connections */
	int fd;			     /* the connection */
	struct pl_source *src;	     /* its source */
	struct syslog_framer fr;     /* its framing */
	char *buf;		     /* bytes not yet framed: st->frame_max + 32 */
	size_t have;		     /* bytes in buf */
	uint64_t off;		     /* bytes of the connection consumed (the source's position) */
	int64_t last_ns;	     /* monotonic ns of its last byte (or its accept) */
	char peer[80];		     /* tcp:IP:PORT, for the log */
};

struct sl_state {
	struct pipeline *pl;	       /* the pipeline */
	unsigned idx;		       /* input index */
	const char *listen;	       /* its address (the configuration's) */
	const char *kind;	       /* syslog+udp, syslog+tcp, syslog+unix */
	unsigned transport;	       /* T_* */
	enum cd_parser parser;	       /* the input's parser, for the message bodies */
	struct parse_regex *rx;	       /* its regex (CD_PARSER_REGEX) */
	size_t frame_max;	       /* max_frame */
	uint64_t max_connections;      /* tcp: open connections at most */
	int lfd;		       /* tcp: listener; datagrams: the socket; -1 after stop() */
	int epfd;		       /* tcp: the input's epoll set (listener and connections); else -1 */
	int wfd;		       /* what the pipeline watches: epfd or lfd */
	bool watched;		       /* wfd is in the pipeline's set */
	bool ready;		       /* wfd said readable */
	bool stopped;		       /* stop() ran */
	int64_t now_real;	       /* CLOCK_REALTIME at this tick: RFC 3164's missing year */
	struct pl_source *src;	       /* datagrams: the one source */
	uint64_t dgram_off;	       /* datagrams: bytes received (the source's position) */
	struct sockaddr_storage dpeer; /* datagrams: the last one's sender */
	socklen_t dpeer_len;	       /* its length (0: unnamed, a unix socket's) */
	pid_t dpid;		       /* unix: its sender's pid (SCM_CREDENTIALS); 0: unknown */
	char *dbuf;		       /* datagrams: one, CD_DGRAM_MAX bytes */
	struct fmt_record *rec;	       /* scratch record */
	char *scratch;		       /* keys and unescaped values of the record */
	size_t scratch_cap;	       /* its bytes */
	char num[24];		       /* the _split attribute's value */
	struct cd_net_sockfile sock;   /* unix: the socket file we bound (unlinked at close) */
	struct sl_conn *conns;	       /* tcp: open connections */
	unsigned nconns;	       /* entries in conns */
	uint64_t accepted, rejected, resets; /* tcp: connections */
	uint64_t datagrams, truncated;	     /* datagrams received; of which cut (MSG_TRUNC) */
	uint32_t drops_seen;		     /* last SO_RXQ_OVFL value (wraps) */
	uint64_t drops;			     /* datagrams the kernel dropped */
	uint64_t frames, cut;		     /* frames decoded; of which longer than max_frame */
	uint64_t invalid[SYSLOG_E_NREASONS]; /* frames kept raw, by reason */
	uint64_t invalid_total;		     /* their sum (the log's 1, 2, 4, ...) */
	bool opened;			     /* open() succeeded: close() reports */
	struct in_net_idle idle;	     /* tcp: idle_timeout */
	struct in_handoff *kept;	     /* open(): the old pipeline's sockets (reload); NULL: none */
};

static void on_ready(void *arg)
{
	struct sl_state *st = arg;

	st->ready = true;
	if (pl_backpressure(st->pl) && st->watched) {
		pl_unwatch_fd(st->pl, st->wfd);
		st->watched = false;
	}
}

/* @ss as IP:PORT or [IPV6]:PORT into out (@dflt: not an inet address). */
static void addr_text(const struct sockaddr_storage *ss, socklen_t len, const char *dflt, char *out,
		      size_t cap)
{
	char host[INET6_ADDRSTRLEN];

	if (len && ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)ss;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(out, cap, "%s:%u", host, (unsigned)ntohs(a->sin_port));
	} else if (len && ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(out, cap, "[%s]:%u", host, (unsigned)ntohs(a->sin6_port));
	} else {
		snprintf(out, cap, "%s", dflt);
	}
}

/* The last datagram's sender: IP:PORT, or the socket and the sender's pid (unix, SO_PASSCRED). */
static void dgram_peer(const struct sl_state *st, char *out, size_t cap)
{
	if (st->transport == T_UNIX && st->dpid > 0)
		snprintf(out, cap, "%s pid=%ld", st->listen, (long)st->dpid);
	else
		addr_text(&st->dpeer, st->dpeer_len, st->listen, out, cap);
}

/* A frame that is not syslog: counted, logged at 1, 2, 4, ..., kept as a raw record. */
/* The bytes from @src's position to @end_off (the stream offset just past a frame): its pl_source_record() length. */
static uint64_t advance(const struct pl_source *src, uint64_t end_off)
{
	uint64_t at = pl_source_offset(src);

	return end_off > at ? end_off - at : 0;
}

static void invalid(struct sl_state *st, struct pl_source *src, const char *p, size_t n, int e,
		    const char *peer, uint64_t end_off)
{
	struct record_src rs;
	char from[80];

	e = e < 0 ? -e : e;
	st->invalid[e < SYSLOG_E_NREASONS ? e : 0]++;
	st->invalid_total++;
	if ((st->invalid_total & (st->invalid_total - 1)) == 0) {
		char c[24];
		if (!peer) {
			/* a datagram's sender: formatted only when logged */
			dgram_peer(st, from, sizeof(from));
			peer = from;
		}
		snprintf(c, sizeof(c), "%llu", (unsigned long long)st->invalid_total);
		cd_log(FMT_LEVEL_WARN, "invalid syslog frame: kept as a raw record", "input", st->kind,
		       "listen", st->listen, "peer", peer, "reason", syslog_strerror(e), "invalid", c, NULL);
	}
	if (e == SYSLOG_E_EMPTY)
		return; /* no text to keep */
	memset(&rs, 0, sizeof(rs));
	rs.raw = true;
	rs.line = fmt_str_n(p, n);
	rs.error = fmt_str_c(syslog_strerror(e));
	pl_source_record(st->pl, src, NULL, &rs, advance(src, end_off));
}

/* Append attribute @key = @val of @type to the record (the last one replaced when full). */
static void put_attr(struct fmt_record *r, const char *key, const char *val, uint8_t type)
{
	struct fmt_attr *a;

	if (r->nattrs < FMT_ATTRS_MAX) {
		a = &r->attrs[r->nattrs++];
	} else {
		a = &r->attrs[FMT_ATTRS_MAX - 1];
		r->flags |= FMT_F_ATTRS_TRUNCATED;
	}
	a->key = fmt_str_c(key);
	a->val = fmt_str_c(val);
	a->type = type;
}

/* One frame (or piece) p[0..n) of @src: decoded and handed on. */
static void on_frame(struct sl_state *st, struct pl_source *src, const char *p, size_t n, uint32_t piece,
		     int ferr, bool truncated, const char *peer, uint64_t end_off)
{
	struct fmt_record *r = st->rec;
	struct record_src rs;
	struct syslog_msg m;
	int rc;

	st->frames++;
	if (piece > 1) {
		/* the rest of an overlong frame: its text, numbered, as source.c splits lines */
		fmt_record_clear(r);
		r->message = fmt_str_n(p, n);
		snprintf(st->num, sizeof(st->num), "%u", piece);
		put_attr(r, "_split", st->num, FMT_T_NUMBER);
		pl_source_record(st->pl, src, r, NULL, advance(src, end_off));
		return;
	}
	if (piece == 1)
		st->cut++;
	rc = ferr ? -ferr : syslog_parse(p, n, st->now_real, &m);
	if (rc < 0) {
		invalid(st, src, p, n, rc, peer, end_off);
		return;
	}
	syslog_record(&m, st->parser, st->rx, r, st->scratch, st->scratch_cap);
	if (!r->has_ts && !r->ts_text.ptr) {
		/* no time in the header (NILVALUE) nor the body: the time we received it (RFC 5424, 6.2.3) */
		r->has_ts = true;
		r->ts_ns = st->now_real;
	}
	if (piece == 1)
		put_attr(r, "_split", "1", FMT_T_NUMBER);
	if (truncated)
		put_attr(r, "_truncated", "true", FMT_T_BOOL);
	memset(&rs, 0, sizeof(rs));
	rs.line = fmt_str_n(p, n); /* the attributes past the cap live on in the line */
	pl_source_record(st->pl, src, r, (r->flags & FMT_F_ATTRS_TRUNCATED) ? &rs : NULL,
			 advance(src, end_off));
}

/* --- datagrams (udp, unix) ------------------------------------------------------ */

/* Receive one datagram: one message. Return: 1, 0 (none waiting), or -errno. */
static int recv_one(struct sl_state *st)
{
	union {
		char buf[CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = st->dbuf, .iov_len = CD_DGRAM_MAX};
	struct msghdr mh;
	ssize_t n;
	size_t len;

	memset(&mh, 0, sizeof(mh));
	mh.msg_name = &st->dpeer;
	mh.msg_namelen = sizeof(st->dpeer);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	n = recvmsg(st->lfd, &mh, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
	st->dpid = 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		uint32_t v;
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS) {
			struct ucred cr;
			memcpy(&cr, CMSG_DATA(cm), sizeof(cr));
			st->dpid = cr.pid;
			continue;
		}
		v = cd_net_rxq_ovfl(cm, &st->drops_seen);
		st->drops += v;
		cd_drop("input", pl_in_name(st->pl, st->idx), "kernel_receive_buffer", v, st->listen);
	}
	st->datagrams++;
	pl_in_stats(st->pl, st->idx)->bytes += (uint64_t)n;
	st->dgram_off += (uint64_t)n;
	st->dpeer_len = mh.msg_namelen;
	len = (size_t)n < st->frame_max ? (size_t)n : st->frame_max;
	if ((mh.msg_flags & MSG_TRUNC) || (size_t)n > len) {
		/* longer than the buffer or max_frame: the rest is not kept (one message, one datagram) */
		st->truncated++;
		if ((st->truncated & (st->truncated - 1)) == 0) {
			char c[24], from[80];
			snprintf(c, sizeof(c), "%llu", (unsigned long long)st->truncated);
			dgram_peer(st, from, sizeof(from));
			cd_log(FMT_LEVEL_WARN, "datagram longer than max_frame: cut", "input", st->kind,
			       "listen", st->listen, "peer", from, "truncated", c, NULL);
		}
	}
	on_frame(st, st->src, st->dbuf, len, 0, 0, len < (size_t)n || (mh.msg_flags & MSG_TRUNC), NULL,
		 st->dgram_off);
	return 1;
}

static bool dgram_tick(struct sl_state *st)
{
	uint64_t before = pl_in_stats(st->pl, st->idx)->bytes;
	int rc = 0;

	while (!pl_backpressure(st->pl) && pl_in_stats(st->pl, st->idx)->bytes - before < CD_READ_BURST &&
	       (rc = recv_one(st)) > 0)
		;
	if (rc < 0)
		cd_log(FMT_LEVEL_WARN, "receive failed", "input", st->kind, "listen", st->listen, "error",
		       strerror(-rc), NULL);
	st->ready = rc > 0;
	return st->ready;
}

/* --- connections (tcp) ---------------------------------------------------------- */

/* Hand on every whole frame in c->buf (@eof: the rest too). */
static void frames(struct sl_state *st, struct sl_conn *c, bool eof)
{
	struct syslog_frame f;
	size_t at = 0;

	for (;;) {
		int rc = syslog_frame_next(&c->fr, c->buf + at, c->have - at, st->frame_max, eof, &f);

		at += f.consumed;
		c->off += f.consumed;
		if (!rc)
			break;
		on_frame(st, c->src, f.ptr, f.len, f.piece, f.error, false, c->peer, c->off);
	}
	if (at) {
		memmove(c->buf, c->buf + at, c->have - at);
		c->have -= at;
	}
}

static void close_conn(struct sl_state *st, struct sl_conn *c)
{
	frames(st, c, true);
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
	free(c->buf);
	free(c);
}

/* Read what @c has (a burst at most). Return: 1 more is waiting, 0 drained, -1 closed (@c freed). */
static int read_conn(struct sl_state *st, struct sl_conn *c)
{
	const size_t cap = st->frame_max + 32;
	size_t total = 0;

	while (total < CD_READ_BURST) {
		ssize_t n = read(c->fd, c->buf + c->have, cap - c->have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			if (n < 0) {
				st->resets++; /* what was read stays, its partial last frame included */
				cd_log(FMT_LEVEL_DEBUG, "connection error", "input", st->kind, "peer",
				       c->peer, "error", strerror(errno), NULL);
			}
			close_conn(st, c);
			return -1;
		}
		c->have += (size_t)n;
		total += (size_t)n;
		c->last_ns = cd_mono_ns();
		pl_in_stats(st->pl, st->idx)->bytes += (uint64_t)n;
		frames(st, c, false);
	}
	return 1;
}

/* Return: the new connection, or NULL (closed: max_connections, out of memory). */
static struct sl_conn *add_conn(struct sl_state *st, int fd, const struct sockaddr_storage *ss, socklen_t len)
{
	struct epoll_event ev;
	struct sl_conn *c;
	char name[128];
	int one = 1;

	if (st->nconns >= st->max_connections) {
		in_net_reject(fd, &st->rejected, st->kind, st->listen);
		return NULL;
	}
	if (!(c = calloc(1, sizeof(*c))) || !(c->buf = malloc(st->frame_max + 32)))
		goto err_free;
	c->fd = fd;
	c->last_ns = cd_mono_ns();
	addr_text(ss, len, "?", c->peer, sizeof(c->peer));
	snprintf(name, sizeof(name), "%s:%s", st->kind, c->peer);
	if (!(c->src = pl_source_new(st->pl, st->idx, name, NULL, 0, 0, 0)))
		goto err_free;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.ptr = c;
	if (epoll_ctl(st->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		cd_log(FMT_LEVEL_ERROR, "cannot watch a connection", "input", st->kind, "error",
		       strerror(errno), NULL);
		pl_source_abandon(st->pl, c->src);
		goto err_free;
	}
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)); /* a vanished host frees its slot */
	c->next = st->conns;
	if (st->conns)
		st->conns->prev = c;
	st->conns = c;
	st->nconns++;
	st->accepted++;
	return c;

err_free:
	if (c)
		free(c->buf);
	free(c);
	close(fd);
	return NULL;
}

/* Close the connections silent for idle_timeout (their partial last frames become records, as at EOF). */
static void sweep_idle(struct sl_state *st, int64_t now)
{
	if (!in_net_idle_due(&st->idle, now))
		return;
	for (struct sl_conn *c = st->conns, *next; c; c = next) {
		next = c->next;
		if (in_net_idle_is(&st->idle, c->fd, &c->last_ns, now))
			close_conn(st, c);
	}
	in_net_idle_done(&st->idle, st->kind, st->listen);
}

static void accept_some(struct sl_state *st)
{
	for (unsigned k = 0; k < CD_NET_ACCEPT_BURST; k++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(st->lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				cd_log(FMT_LEVEL_WARN, "cannot accept", "input", st->kind, "listen",
				       st->listen, "error", strerror(errno), NULL);
			return;
		}
		add_conn(st, fd, &ss, len);
	}
	st->ready = true; /* maybe more */
}

static bool stream_tick(struct sl_state *st)
{
	struct epoll_event ev[64];
	bool more = false;
	int n = epoll_wait(st->epfd, ev, 64, 0);

	for (int i = 0; i < n; i++) {
		if (!ev[i].data.ptr) {
			accept_some(st);
			more |= st->ready;
			continue;
		}
		if (pl_backpressure(st->pl)) {
			more = true; /* the rest waits in the kernel; read when the pipeline resumes */
			break;
		}
		more |= read_conn(st, ev[i].data.ptr) > 0;
	}
	return more || n == 64;
}

/* --- the plugin ------------------------------------------------------------------ */

static bool sl_tick(void *state, int64_t now)
{
	struct sl_state *st = state;
	struct timespec ts;

	if (st->stopped)
		return false;
	if (st->transport == T_TCP)
		sweep_idle(st, now);
	if (!st->watched && pl_watch_fd(st->pl, st->wfd, on_ready, st) == 0) {
		st->watched = true;
		st->ready = true; /* whatever came meanwhile */
	}
	if (!st->ready)
		return false;
	st->ready = false;
	clock_gettime(CLOCK_REALTIME, &ts);
	st->now_real = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	st->ready = st->transport == T_TCP ? stream_tick(st) : dgram_tick(st);
	return st->ready;
}

static bool sl_done(void *state)
{
	(void)state;
	return false;
}

static void sl_stop(void *state)
{
	struct sl_state *st = state;

	if (st->stopped)
		return;
	if (st->watched) {
		pl_unwatch_fd(st->pl, st->wfd);
		st->watched = false;
	}
	/* what the kernel holds was sent to us: take it, unless the outputs are behind */
	if (st->transport != T_TCP) {
		while (!pl_backpressure(st->pl) && recv_one(st) > 0)
			;
		pl_source_end(st->pl, st->src, false);
		st->src = NULL;
	} else {
		epoll_ctl(st->epfd, EPOLL_CTL_DEL, st->lfd, NULL);
		while (st->conns) {
			struct sl_conn *c = st->conns;
			int rc = 1;
			while (!pl_backpressure(st->pl) && (rc = read_conn(st, c)) > 0)
				;
			if (rc >= 0)
				close_conn(st, c);
		}
	}
	st->stopped = true;
	close(st->lfd);
	st->lfd = -1;
}

/*
 * Reload, this input unchanged: read nothing more; the socket(s) go to the
 * new pipeline's twin, each connection with its unframed bytes and its
 * framer (octet counting or newlines, a long frame's piece count).
 */
static void sl_hand_over(void *state, struct in_handoff *h)
{
	struct sl_state *st = state;

	if (st->stopped)
		return;
	st->stopped = true;
	if (st->watched) {
		pl_unwatch_fd(st->pl, st->wfd);
		st->watched = false;
	}
	if (st->transport != T_TCP) {
		pl_source_end(st->pl, st->src, false);
		st->src = NULL;
	} else {
		epoll_ctl(st->epfd, EPOLL_CTL_DEL, st->lfd, NULL);
	}
	while (st->conns) {
		struct sl_conn *c = st->conns;

		_Static_assert(sizeof(c->fr) <= IN_HANDOFF_STATE_MAX, "a framer fits a handoff's state");
		epoll_ctl(st->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		pl_source_end(st->pl, c->src, false); /* its records are whole frames: nothing partial */
		if (in_handoff_add_conn(h, c->fd, c->buf, c->have, &c->fr, sizeof(c->fr)) < 0)
			close(c->fd); /* out of memory: as at SIGTERM (its unfinished frame is lost) */
		st->conns = c->next;
		st->nconns--;
		free(c->buf);
		free(c);
	}
	in_handoff_put_listener(h, 0, &st->lfd, &st->sock);
}

/* open() on a reload: go on with the old pipeline's connections where their framing was. */
static void adopt_conns(struct sl_state *st)
{
	for (unsigned i = 0; st->kept && i < st->kept->nconns; i++) {
		struct in_handoff_conn *hc = &st->kept->conns[i];
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		struct sl_conn *c;

		memset(&ss, 0, sizeof(ss));
		if (getpeername(hc->fd, (struct sockaddr *)&ss, &len) < 0)
			len = 0;
		c = add_conn(st, hc->fd, &ss, len);
		hc->fd = -1; /* add_conn() took it (or closed it) */
		if (!c)
			continue;
		memcpy(&c->fr, hc->state, sizeof(c->fr));
		c->have = hc->n <= st->frame_max + 32 ? hc->n : st->frame_max + 32;
		if (c->have)
			memcpy(c->buf, hc->bytes, c->have);
	}
	st->ready = true; /* what the senders wrote meanwhile */
}

static void sl_metrics(void *state, struct metrics *m, const char *label)
{
	const struct sl_state *st = state;
	char lab[512];

	if (st->transport == T_TCP) {
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
	} else {
		metrics_add(m, "clewd_input_datagrams_total", METRICS_COUNTER,
			    "Datagrams received by a network input", label, (double)st->datagrams);
		metrics_add(m, "clewd_input_datagrams_truncated_total", METRICS_COUNTER,
			    "Datagrams larger than the receive buffer, cut", label, (double)st->truncated);
		metrics_add(m, "clewd_input_kernel_drops_total", METRICS_COUNTER,
			    "Datagrams the kernel dropped, the socket's receive buffer full (SO_RXQ_OVFL)",
			    label, (double)st->drops);
	}
	metrics_add(m, "clewd_syslog_frames_total", METRICS_COUNTER, "Syslog frames received", label,
		    (double)st->frames);
	metrics_add(m, "clewd_syslog_frames_cut_total", METRICS_COUNTER,
		    "Syslog frames longer than max_frame, handed on in pieces", label, (double)st->cut);
	for (int e = 1; e < SYSLOG_E_NREASONS; e++) {
		snprintf(lab, sizeof(lab), "%s", label ? label : "");
		metrics_label(lab, sizeof(lab), "reason", syslog_strerror(e));
		metrics_add(m, "clewd_syslog_invalid_total", METRICS_COUNTER,
			    "Syslog frames that were not syslog, kept as raw records, by reason", lab,
			    (double)st->invalid[e]);
	}
}

static void sl_close(void *state);

static unsigned transport_of(const struct cd_opts *o)
{
	unsigned t = T_UDP;

	cd_opt_enum(o, "transport", TRANSPORTS, T_UDP, &t, NULL); /* checked by sl_check() */
	return t;
}

static int sl_listen(struct sl_state *st, struct cd_err *err)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	const bool kept = st->kept && st->kept->fd[0] >= 0; /* reload: it never stopped listening */
	int one = 1;

	st->lfd = in_handoff_listen(st->kept, 0, st->listen,
				    st->transport == T_TCP ? SOCK_STREAM : SOCK_DGRAM, &st->sock, err);
	if (st->lfd < 0)
		return st->lfd;
	if (st->transport == T_TCP) {
		if ((st->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
		    epoll_ctl(st->epfd, EPOLL_CTL_ADD, st->lfd, &ev) < 0)
			return cd_err_set(err, -CD_EIO, errno, "%s: epoll: %s", st->listen, strerror(errno));
		st->wfd = st->epfd;
	} else {
		if (setsockopt(st->lfd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) < 0 &&
		    st->transport == T_UDP)
			cd_log(FMT_LEVEL_WARN, "SO_RXQ_OVFL not available: kernel drops are not counted",
			       "input", st->kind, "listen", st->listen, NULL);
		/* a local sender's pid in the log of its invalid frames */
		if (st->transport == T_UNIX)
			setsockopt(st->lfd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
		st->wfd = st->lfd;
	}
	in_net_announce(st->kind, st->listen, st->lfd, kept);
	return 0;
}

static int sl_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_input_conf *ic,
		   struct cd_err *err)
{
	static const char *const kinds[] = {"syslog+udp", "syslog+tcp", "syslog+unix"};
	struct sl_state *st = calloc(1, sizeof(*st));
	uint64_t fm = 0;
	char name[CD_INPUT_NAME_MAX];
	int rc;

	if (!st)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	st->pl = pl;
	st->idx = idx;
	st->lfd = st->epfd = -1;
	st->transport = transport_of(&ic->opts);
	st->kind = kinds[st->transport];
	st->listen = cd_opt_get(&ic->opts, "listen");
	cd_opt_u64(&ic->opts, "max_connections", CD_NET_CONNECTIONS_DEFAULT, CD_NET_CONNECTIONS_MAX,
		   &st->max_connections, NULL);			   /* checked by in_net_check() */
	cd_opt_size(&ic->opts, "max_frame", 64 * 1024, &fm, NULL); /* checked by sl_check() */
	st->frame_max = (size_t)fm;
	pl_input_parser(pl, idx, &st->parser, &st->rx);
	st->scratch_cap = 2 * st->frame_max + 256;
	st->rec = calloc(1, sizeof(*st->rec));
	st->scratch = malloc(st->scratch_cap);
	if (st->transport != T_TCP)
		st->dbuf = malloc(CD_DGRAM_MAX);
	if (!st->rec || !st->scratch || (st->transport != T_TCP && !st->dbuf)) {
		rc = cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
		goto err_close;
	}
	if (st->transport == T_TCP && (rc = in_net_idle_init(&st->idle, &ic->opts, err)) < 0)
		goto err_close;
	st->kept = in_handoff_take(ic);
	if ((rc = sl_listen(st, err)) < 0)
		goto err_close;
	if (st->transport != T_TCP) {
		snprintf(name, sizeof(name), "%s:%s", st->kind,
			 st->transport == T_UNIX ? st->listen + 5 : st->listen);
		if (!(st->src = pl_source_new(pl, idx, name, NULL, 0, 0, 0))) {
			rc = cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
			goto err_close;
		}
	}
	if ((rc = pl_watch_fd(pl, st->wfd, on_ready, st)) < 0) {
		cd_err_set(err, rc, errno, "%s: cannot watch", st->listen);
		if (st->src)
			pl_source_abandon(pl, st->src);
		goto err_close;
	}
	st->watched = true;
	st->opened = true;
	if (st->kept) {
		adopt_conns(st);
		in_handoff_free(st->kept);
		st->kept = NULL;
	}
	*state = st;
	return 0;

err_close:
	sl_close(st);
	return rc;
}

static void sl_close(void *state)
{
	struct sl_state *st = state;
	char n[4][24];

	if (!st)
		return;
	in_handoff_free(st->kept);
	/* the sources are the pipeline's: ended by stop(), or freed by pipeline_free() */
	while (st->conns) {
		struct sl_conn *c = st->conns;
		st->conns = c->next;
		close(c->fd);
		free(c->buf);
		free(c);
	}
	if (st->watched)
		pl_unwatch_fd(st->pl, st->wfd);
	if (st->lfd >= 0)
		close(st->lfd);
	if (st->epfd >= 0)
		close(st->epfd);
	cd_net_sockfile_remove(&st->sock, st->listen);
	if (st->opened) {
		snprintf(n[0], sizeof(n[0]), "%llu", (unsigned long long)st->frames);
		snprintf(n[1], sizeof(n[1]), "%llu", (unsigned long long)st->invalid_total);
		snprintf(n[2], sizeof(n[2]), "%llu", (unsigned long long)st->cut);
		snprintf(n[3], sizeof(n[3]), "%llu", (unsigned long long)(st->drops + st->truncated));
		cd_log(FMT_LEVEL_INFO, "input closed", "input", st->kind, "listen", st->listen, "frames",
		       n[0], "invalid", n[1], "cut", n[2], "dropped_or_truncated", n[3], NULL);
	}
	free(st->dbuf);
	free(st->scratch);
	free(st->rec);
	free(st);
}

static const struct in_plugin in_syslog = {
	.open = sl_open,
	.tick = sl_tick,
	.done = sl_done,
	.stop = sl_stop,
	.metrics = sl_metrics,
	.close = sl_close,
	.hand_over = sl_hand_over,
};

static const struct cd_opt_spec syslog_opts[] = {
	{"transport", CD_OPT_ENUM, "udp",
	 "udp, tcp (RFC 6587 octet counting or newlines) or unix (datagrams)", TRANSPORTS, 0, 0},
	{"listen", CD_OPT_STRING, NULL,
	 "udp, tcp: IPV4:PORT, [IPV6]:PORT or PORT (127.0.0.1); unix: unix:PATH", NULL, 0, 0},
	{"path", CD_OPT_STRING, NULL, "unix: the socket's path (as listen: unix:PATH)", NULL, 0, 0},
	{"max_connections", CD_OPT_UINT, "256", "tcp: open connections at most (1..65536)", NULL,
	 CD_NET_CONNECTIONS_MAX, 0},
	IN_NET_IDLE_OPT,
	{"max_frame", CD_OPT_SIZE, SYSLOG_FRAME_DEFAULT,
	 "a message's bytes at most (480..1M): longer frames are handed on in pieces (_split)", NULL, 0, 0},
	CD_OPT_REFUSE("read_from", "read_from is for tail inputs, not syslog"),
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

/* What in_net_check() is told a syslog input is, by transport: its flags, and path only for unix. */
static const struct cd_opt_spec inet_keys[] = {
	{"listen", CD_OPT_STRING, NULL, "", NULL, 0, 0},
	{"max_connections", CD_OPT_UINT, "256", "", NULL, CD_NET_CONNECTIONS_MAX, 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};
static const struct cd_opt_spec unix_keys[] = {
	{"listen", CD_OPT_STRING, NULL, "", NULL, 0, 0},
	{"path", CD_OPT_STRING, NULL, "", NULL, 0, 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

static int sl_check(struct cd_opts *o, struct cd_err *err)
{
	static const struct cd_plugin_desc as[] = {
		{.name = "syslog", .opts = inet_keys, .flags = CD_PLUGIN_NET | CD_PLUGIN_DGRAM},
		{.name = "syslog", .opts = inet_keys, .flags = CD_PLUGIN_NET},
		{.name = "syslog",
		 .opts = unix_keys,
		 .flags = CD_PLUGIN_NET | CD_PLUGIN_DGRAM | CD_PLUGIN_UNIX},
	};
	unsigned t;
	uint64_t fm;
	int rc;

	if ((rc = cd_opt_enum(o, "transport", TRANSPORTS, T_UDP, &t, err)) < 0 ||
	    (rc = cd_opt_set(o, "transport",
			     t == T_UDP	  ? "udp"
			     : t == T_TCP ? "tcp"
					  : "unix",
			     err)) < 0)
		return rc;
	if (t != T_UNIX && cd_opt_get(o, "path"))
		return cd_opt_fail(o, "path", "path is the socket of transport unix", err);
	if (t != T_TCP && cd_opt_get(o, "max_connections"))
		return cd_opt_fail(o, "max_connections", "a datagram socket has none (transport tcp)", err);
	if (t != T_TCP && cd_opt_get(o, "idle_timeout"))
		return cd_opt_fail(o, "idle_timeout", "a datagram socket has no connections (transport tcp)",
				   err);
	if ((rc = cd_opt_size(o, "max_frame", 64 * 1024, &fm, err)) < 0)
		return rc;
	if (fm < SYSLOG_FRAME_MIN || fm > SYSLOG_FRAME_MAX)
		return cd_opt_fail(o, "max_frame", "expected 480 bytes to 1M", err);
	if (t != T_TCP && fm > CD_DGRAM_MAX)
		return cd_opt_fail(o, "max_frame", "a datagram is 64k at most", err);
	return in_net_check(o, &as[t], err);
}

const struct cd_plugin_desc in_syslog_desc = {
	.name = "syslog",
	.scheme = "syslog",
	.usage = "syslog+udp|tcp://HOST:PORT",
	.summary = "RFC 5424/3164 messages (tcp: octet counting or lines); syslog+unix:///PATH for /dev/log",
	.opts = syslog_opts,
	.flags = CD_PLUGIN_NET,
	.check = sl_check,
	.in = &in_syslog,
};
