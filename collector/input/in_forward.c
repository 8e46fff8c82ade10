/*
 * input/in_forward.c - the forward input: Fluentd Forward Protocol v1
 * over TCP or a unix stream socket (`forward://HOST:PORT`,
 * `forward+unix:///PATH`), with the UDP heartbeat on the TCP port.
 *
 * DESIGN: as in_tcp.c, one listening socket and one epoll set of the
 * input's own, watched by the pipeline; connections are accepted, read
 * and closed only in tick(). Each connection buffers bytes until
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
 * (reason auth) and closed. Not done: user authentication and TLS.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <sys/random.h>
#include <unistd.h>

#include "input/fwd_decode.h"
#include "input/in_net.h"
#include "input/intake.h"
#include "util/tls_server.h"
#include "pipeline.h"
#include "util/metrics.h"
#include "util/net.h"
#include "util/util.h"
#include "util/banned.h"

struct fwd_state;

struct fwd_req {
	struct fwd_req *prev, *next; /* the connection's requests in flight */
	struct fwd_conn *c;	     /* its connection */
	uint32_t chunk_len;	     /* the chunk option's length; chunk[] follows */
	bool has_chunk;		     /* answer {"ack": chunk} when done */
	char chunk[];		     /* the chunk option (not NUL-terminated) */
};

struct fwd_conn {
	struct fwd_conn *prev, *next; /* open connections */
	struct fwd_state *st;	      /* the input */
	int fd;			      /* the connection */
	struct tls_conn *tls;	      /* its TLS session; NULL: plain */
	bool in_epoll;		      /* fd is in st->epfd (not while stalled) */
	bool stalled;		      /* the intake refused the frame at buf[0]: offer it again */
	bool authed;		      /* the handshake is done (or there is none) */
	char nonce[33];		      /* the nonce of our HELO (hex) */
	struct fwd_scan sc;	      /* the frame being received at buf[0] */
	uint8_t *buf;		      /* received, not yet taken */
	size_t len, cap;	      /* bytes in buf, allocated */
	struct fwd_req *reqs;	      /* requests whose done() has not come */
	uint8_t out[512];	      /* acks not yet written (the socket was full) */
	size_t outlen;		      /* bytes in out */
	char name[256];		      /* the peer (records' src.input, logs) */
};

struct fwd_state {
	struct pipeline *pl;	     /* the pipeline */
	unsigned idx;		     /* input index */
	const char *listen;	     /* its address (the configuration's) */
	const char *shared_key;	     /* the handshake's key; NULL: no handshake */
	struct tls_server *tls;	     /* cert_file + key_file: TLS on every connection; NULL: plain */
	char hostname[256];	     /* self_hostname, in our PONG */
	uint64_t max_connections;    /* open connections at most */
	int lfd;		     /* listening socket; -1 after stop() */
	int ufd;		     /* the heartbeat's UDP socket; -1 when none */
	int epfd;		     /* the input's epoll set */
	bool watched;		     /* epfd is in the pipeline's set */
	bool ready;		     /* epfd said readable */
	bool stopped;		     /* stop() ran */
	struct cd_net_sockfile sock; /* unix: the socket file we bound (unlinked at close) */
	struct intake *intake;	     /* where requests go */
	struct fwd_dec dec;	     /* the decoder's buffers, shared by the connections */
	struct fwd_conn *conns;	     /* open connections */
	unsigned nconns;	     /* entries in conns */
	unsigned nstalled;	     /* connections whose frame the intake refused */
	uint64_t accepted, rejected; /* connections accepted; closed at once (max_connections) */
	uint64_t frames, events;     /* frames and events taken */
	uint64_t acks;		     /* acks sent */
	uint64_t refused;	     /* frames the intake refused (offered again later) */
	uint64_t heartbeats;	     /* UDP heartbeats answered */
	uint64_t invalid[FWD_R_N];   /* frames refused, by reason */
	uint64_t ack_lost;	     /* acks lost: the connection closed or could not take them */
	uint64_t modes[4];	     /* frames by enum fwd_mode */
	bool opened;		     /* open() succeeded */
};

static const char *const mode_names[4] = {"message", "forward", "packed", "compressed"};

static void on_ready(void *arg)
{
	struct fwd_state *st = arg;

	st->ready = true;
	if (pl_backpressure(st->pl) && st->watched) {
		pl_unwatch_fd(st->pl, st->epfd);
		st->watched = false;
	}
}

static void watch_conn(struct fwd_conn *c, bool on)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};

	if (on == c->in_epoll)
		return;
	if (on ? epoll_ctl(c->st->epfd, EPOLL_CTL_ADD, c->fd, &ev) == 0
	       : epoll_ctl(c->st->epfd, EPOLL_CTL_DEL, c->fd, NULL) == 0)
		c->in_epoll = on;
}

static void close_conn(struct fwd_conn *c)
{
	struct fwd_state *st = c->st;

	cd_log(FMT_LEVEL_DEBUG, "connection closed", "input", "forward", "peer", c->name, NULL);
	while (c->reqs) {
		struct fwd_req *r = c->reqs;
		c->reqs = r->next;
		intake_cancel(st->intake, r);
		if (r->has_chunk)
			st->ack_lost++;
		free(r);
	}
	watch_conn(c, false);
	tls_conn_free(c->tls);
	close(c->fd);
	if (c->stalled)
		st->nstalled--;
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

/* Write what c->out holds. Return: false when the connection failed (closed by the caller). */
static bool flush_out(struct fwd_conn *c)
{
	while (c->outlen > 0) {
		ssize_t n = c->tls ? tls_conn_write(c->tls, c->out, c->outlen)
				   : send(c->fd, c->out, c->outlen, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK;
		memmove(c->out, c->out + n, c->outlen - (size_t)n);
		c->outlen -= (size_t)n;
	}
	return true;
}

/* The intake's done(): the records are safe; ack the chunk. */
static void req_done(void *arg, int status)
{
	struct fwd_req *r = arg;
	struct fwd_conn *c = r->c;
	struct fwd_state *st = c->st;

	if (r->prev)
		r->prev->next = r->next;
	else
		c->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	if (r->has_chunk) {
		size_t n = status == 0 ? fwd_ack(r->chunk, r->chunk_len, c->out + c->outlen,
						 sizeof(c->out) - c->outlen)
				       : 0;
		if (n == 0) {
			/* not safe, or too many acks queued to a peer that does not read: it resends */
			st->ack_lost++;
		} else {
			c->outlen += n;
			st->acks++;
			if (!flush_out(c))
				st->ack_lost++; /* the close comes when its read fails */
		}
	}
	free(r);
}

static void invalid(struct fwd_conn *c, enum fwd_reason why, const char *what)
{
	struct fwd_state *st = c->st;

	st->invalid[why]++;
	cd_log(FMT_LEVEL_WARN, "invalid forward frame: connection closed (the sender resends)", "input",
	       "forward", "peer", c->name, "reason", fwd_reason_names[why], "detail", what, NULL);
}

/*
 * Offer the frame buf[0..n) to the intake. Return: 1 taken (consumed),
 * 0 refused for now (stalled), -1 invalid or failed (close the connection).
 */
static int offer(struct fwd_conn *c, size_t n)
{
	struct fwd_state *st = c->st;
	struct fwd_msg msg;
	enum fwd_reason why;
	struct fwd_req *r;
	int rc = fwd_decode(&st->dec, c->buf, n, &msg, &why);

	if (rc == -2) {
		cd_log(FMT_LEVEL_ERROR, "out of memory decoding a frame: connection closed", "input",
		       "forward", "peer", c->name, NULL);
		return -1;
	}
	if (rc < 0) {
		invalid(c, why, "frame");
		return -1;
	}
	if (!(r = calloc(1, sizeof(*r) + msg.chunk_len)))
		return -1;
	r->c = c;
	r->has_chunk = msg.chunk != NULL;
	r->chunk_len = msg.chunk_len;
	if (msg.chunk_len)
		memcpy(r->chunk, msg.chunk, msg.chunk_len);
	/* linked first: in memory mode done() runs inside intake_submit() */
	r->next = c->reqs;
	if (c->reqs)
		c->reqs->prev = r;
	c->reqs = r;
	rc = msg.events ? intake_submit(st->intake, c->name, st->dec.lines.p, st->dec.lines.len, req_done, r)
			: (req_done(r, 0), 0);
	if (rc < 0) {
		c->reqs = r->next;
		if (c->reqs)
			c->reqs->prev = NULL;
		free(r);
		if (rc != -CD_EAGAIN) {
			cd_log(FMT_LEVEL_ERROR, "intake failed: connection closed", "input", "forward",
			       "peer", c->name, "error", cd_strerror(rc), NULL);
			return -1;
		}
		st->refused++;
		if (!c->stalled) {
			c->stalled = true;
			st->nstalled++;
			watch_conn(c, false);
		}
		return 0;
	}
	if (c->stalled) {
		c->stalled = false;
		st->nstalled--;
		watch_conn(c, true);
	}
	st->frames++;
	st->events += msg.events;
	st->modes[msg.mode]++;
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
	fwd_scan_init(&c->sc);
	return 1;
}

/* The hex SHA-512 of the @n pieces of @parts, one after the other, into out[129]. */
static void sha512_hex(const struct fwd_str *parts, int n, char out[129])
{
	unsigned char md[64];
	unsigned int len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	out[0] = '\0';
	if (!ctx)
		return;
	if (EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) == 1) {
		for (int i = 0; i < n; i++)
			EVP_DigestUpdate(ctx, parts[i].p, parts[i].n);
		if (EVP_DigestFinal_ex(ctx, md, &len) == 1 && len == 64)
			for (unsigned i = 0; i < 64; i++)
				snprintf(out + 2 * i, 3, "%02x", md[i]);
	}
	EVP_MD_CTX_free(ctx);
}

static struct fwd_str fstr(const char *s)
{
	return (struct fwd_str){s, (uint32_t)strlen(s)};
}

/* The client's PING (the frame buf[0..n)). Return: true when it proved the key (PONG true queued). */
static bool handshake(struct fwd_conn *c, size_t n)
{
	struct fwd_state *st = c->st;
	struct fwd_ping ping;
	char want[129], ours[129];
	size_t k;
	bool ok;

	if (fwd_ping_parse(c->buf, n, &ping) < 0) {
		invalid(c, FWD_R_AUTH, "expected PING");
		return false;
	}
	sha512_hex((struct fwd_str[]){ping.salt, ping.hostname, fstr(c->nonce), fstr(st->shared_key)}, 4,
		   want);
	ok = want[0] && ping.digest.n == 128 && memcmp(ping.digest.p, want, 128) == 0;
	sha512_hex((struct fwd_str[]){ping.salt, fstr(st->hostname), fstr(c->nonce), fstr(st->shared_key)}, 4,
		   ours);
	k = fwd_pong(ok, ok ? "" : "shared_key mismatch", st->hostname, ok ? ours : "", c->out + c->outlen,
		     sizeof(c->out) - c->outlen);
	c->outlen += k;
	flush_out(c);
	if (!ok)
		invalid(c, FWD_R_AUTH, "shared_key mismatch");
	return ok && k > 0;
}

/* With a shared key: our HELO, the connection's first message. Return: false when it cannot be sent. */
static bool helo(struct fwd_conn *c)
{
	unsigned char rnd[16];
	size_t k;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return false;
	for (unsigned i = 0; i < sizeof(rnd); i++)
		snprintf(c->nonce + 2 * i, 3, "%02x", rnd[i]);
	k = fwd_helo(c->nonce, 32, c->out + c->outlen, sizeof(c->out) - c->outlen);
	c->outlen += k;
	return k > 0 && flush_out(c);
}

/* Take every whole frame at the start of c->buf. Return: false when @c was closed. */
static bool take_frames(struct fwd_conn *c)
{
	while (c->len > 0) {
		enum fwd_reason why;
		long n = fwd_scan(&c->sc, c->buf, c->len, &why);
		int rc;

		if (n == 0)
			return true;
		if (n < 0) {
			invalid(c, why, "framing");
			close_conn(c);
			return false;
		}
		if (!c->authed) {
			if (!handshake(c, (size_t)n)) {
				close_conn(c);
				return false;
			}
			c->authed = true;
			memmove(c->buf, c->buf + n, c->len - (size_t)n);
			c->len -= (size_t)n;
			fwd_scan_init(&c->sc);
			continue;
		}
		if ((rc = offer(c, (size_t)n)) < 0) {
			close_conn(c);
			return false;
		}
		if (rc == 0)
			return true;
	}
	return true;
}

/* Read what @c has and take its frames. Return: true when more may be waiting. */
static bool read_conn(struct fwd_conn *c)
{
	struct fwd_state *st = c->st;
	size_t got = 0;

	while (got < CD_READ_BURST && !c->stalled) {
		ssize_t n;

		if (c->cap - c->len < 64 * 1024) {
			size_t cap = c->cap ? 2 * c->cap : 128 * 1024;
			uint8_t *p;
			if (cap > FWD_FRAME_MAX + 128 * 1024 || !(p = realloc(c->buf, cap))) {
				if (c->cap - c->len > 0)
					goto read; /* the room left; the scan says when a frame is too big */
				invalid(c, FWD_R_SIZE, "buffer");
				close_conn(c);
				return false;
			}
			c->buf = p;
			c->cap = cap;
		}
read:
		n = c->tls ? tls_conn_read(c->tls, c->buf + c->len, c->cap - c->len)
			   : read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* a TLS handshake just done may leave our HELO to send: the peer waits for it */
			if (c->outlen && !flush_out(c)) {
				close_conn(c);
				return false;
			}
			return false;
		}
		if (n < 0 && errno == EPROTO) {
			invalid(c, FWD_R_TLS, "TLS handshake or record failed");
			close_conn(c);
			return false;
		}
		if (n <= 0) {
			if (c->len > 0)
				cd_log(FMT_LEVEL_DEBUG, "connection ended inside a frame (not acked)",
				       "input", "forward", "peer", c->name, NULL);
			close_conn(c);
			return false;
		}
		c->len += (size_t)n;
		got += (size_t)n;
		pl_in_stats(st->pl, st->idx)->bytes += (uint64_t)n;
		if (!take_frames(c))
			return false;
		if (c->outlen && !flush_out(c)) {
			close_conn(c);
			return false;
		}
	}
	return !c->stalled;
}

static void conn_name(const struct fwd_state *st, int fd, const struct sockaddr_storage *ss, char *out,
		      size_t cap)
{
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)ss;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(out, cap, "forward:%s:%u", host, (unsigned)ntohs(a->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(out, cap, "forward:[%s]:%u", host, (unsigned)ntohs(a->sin6_port));
	} else {
		struct ucred cr;
		socklen_t len = sizeof(cr);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0)
			snprintf(out, cap, "forward:%s pid=%ld", st->listen, (long)cr.pid);
		else
			snprintf(out, cap, "forward:%s", st->listen);
	}
}

static void add_conn(struct fwd_state *st, int fd, const struct sockaddr_storage *ss)
{
	struct fwd_conn *c;

	if (st->nconns >= st->max_connections) {
		st->rejected++;
		if ((st->rejected & (st->rejected - 1)) == 0)
			cd_log(FMT_LEVEL_WARN, "max_connections reached: connection closed", "input",
			       "forward", "listen", st->listen, NULL);
		close(fd);
		return;
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		close(fd);
		return;
	}
	c->st = st;
	c->fd = fd;
	if (st->tls && !(c->tls = tls_conn_new(st->tls, fd))) {
		close(fd);
		free(c);
		return;
	}
	c->authed = !st->shared_key;
	fwd_scan_init(&c->sc);
	conn_name(st, fd, ss, c->name, sizeof(c->name));
	watch_conn(c, true);
	if (!c->in_epoll) {
		cd_log(FMT_LEVEL_ERROR, "cannot watch a connection", "input", "forward", "listen", st->listen,
		       "error", strerror(errno), NULL);
		tls_conn_free(c->tls);
		close(fd);
		free(c);
		return;
	}
	if (ss->ss_family != AF_UNIX) {
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		/* an ack is a few bytes the sender waits for: Nagle would hold it for the peer's delayed ACK */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	c->next = st->conns;
	if (st->conns)
		st->conns->prev = c;
	st->conns = c;
	st->nconns++;
	st->accepted++;
	cd_log(FMT_LEVEL_DEBUG, "connection", "input", "forward", "peer", c->name, NULL);
	if (!c->authed && !helo(c)) {
		cd_log(FMT_LEVEL_WARN, "cannot send HELO: connection closed", "input", "forward", "peer",
		       c->name, NULL);
		close_conn(c);
	}
}

static bool accept_some(struct fwd_state *st)
{
	for (unsigned k = 0; k < CD_NET_ACCEPT_BURST; k++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(st->lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return false; /* EAGAIN; out of fds: the listener stays readable, tried next tick */
		}
		if (len == 0 || ss.ss_family == AF_UNSPEC)
			ss.ss_family = AF_UNIX;
		add_conn(st, fd, &ss);
	}
	return true;
}

/* Heartbeats: Fluentd's out_forward sends a UDP datagram to the server's port; the answer is one 0 byte. */
static void heartbeats(struct fwd_state *st)
{
	for (unsigned k = 0; k < 64; k++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		char b[64];
		ssize_t n = recvfrom(st->ufd, b, sizeof(b), MSG_DONTWAIT, (struct sockaddr *)&ss, &len);

		if (n < 0)
			return;
		if (sendto(st->ufd, "\0", 1, MSG_DONTWAIT, (struct sockaddr *)&ss, len) == 1)
			st->heartbeats++;
	}
}

static bool fwd_tick(void *state, int64_t now)
{
	struct fwd_state *st = state;
	struct epoll_event ev[64];
	bool more = false;
	int n;

	if (st->stopped)
		return false;
	more |= intake_tick(st->intake, now);
	if (!st->watched && pl_watch_fd(st->pl, st->epfd, on_ready, st) == 0) {
		st->watched = true;
		st->ready = true;
	}
	/* frames the intake refused: offered again first, in order */
	if (st->nstalled)
		for (struct fwd_conn *c = st->conns, *next; c; c = next) {
			enum fwd_reason why;
			int rc;

			next = c->next;
			if (!c->stalled)
				continue;
			rc = offer(c, (size_t)fwd_scan(&c->sc, c->buf, c->len, &why));
			if (rc < 0)
				close_conn(c);
			else if (rc == 1 && take_frames(c))
				more = true; /* its socket may hold more */
		}
	if (!st->ready)
		return more;
	st->ready = false;
	n = epoll_wait(st->epfd, ev, 64, 0);
	for (int i = 0; i < n; i++) {
		if (ev[i].data.ptr == NULL) {
			more |= accept_some(st);
		} else if (ev[i].data.ptr == &st->ufd) {
			heartbeats(st);
		} else if (pl_backpressure(st->pl)) {
			more = true;
			break;
		} else {
			more |= read_conn(ev[i].data.ptr);
		}
	}
	if (n == 64)
		more = true;
	more |= intake_tick(st->intake, now);
	st->ready = more;
	return more;
}

static bool fwd_done(void *state)
{
	(void)state;
	return false;
}

static void fwd_stop(void *state)
{
	struct fwd_state *st = state;

	if (st->stopped)
		return;
	if (st->lfd >= 0) {
		epoll_ctl(st->epfd, EPOLL_CTL_DEL, st->lfd, NULL);
		close(st->lfd);
		st->lfd = -1;
	}
	/* what the kernel holds was sent to us: take it, unless the outputs are behind */
	for (struct fwd_conn *c = st->conns, *next; c; c = next) {
		next = c->next;
		if (!pl_backpressure(st->pl) && !c->stalled)
			read_conn(c);
	}
	/* commit what was taken (its done() calls queue the acks), send the acks, then close */
	intake_stop(st->intake);
	for (struct fwd_conn *c = st->conns; c; c = c->next)
		if (c->outlen)
			flush_out(c);
	while (st->conns)
		close_conn(st->conns);
	st->stopped = true;
	if (st->watched) {
		pl_unwatch_fd(st->pl, st->epfd);
		st->watched = false;
	}
}

static void fwd_metrics(void *state, struct metrics *m, const char *label)
{
	const struct fwd_state *st = state;
	char l[512];

	metrics_add(m, "clewd_input_connections_total", METRICS_COUNTER,
		    "Connections accepted by a network input", label, (double)st->accepted);
	metrics_add(m, "clewd_input_connections_open", METRICS_GAUGE, "Connections open now", label,
		    (double)st->nconns);
	metrics_add(m, "clewd_input_connections_rejected_total", METRICS_COUNTER,
		    "Connections closed at once because max_connections were open", label,
		    (double)st->rejected);
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
static void heartbeat_listen(struct fwd_state *st)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &st->ufd};
	char addr[CD_INPUT_NAME_MAX];
	struct cd_err err = {0};
	const char *colon = strrchr(st->listen, ':');

	if (!colon || strncmp(st->listen, "unix:", 5) == 0)
		return;
	snprintf(addr, sizeof(addr), "%.*s:%u", (int)(colon - st->listen), st->listen,
		 (unsigned)cd_net_local_port(st->lfd));
	st->ufd = cd_net_listen(addr, SOCK_DGRAM, &err);
	if (st->ufd < 0) {
		cd_log(FMT_LEVEL_WARN, "no UDP heartbeat", "input", "forward", "listen", st->listen, "error",
		       err.msg, NULL);
		st->ufd = -1;
		return;
	}
	if (epoll_ctl(st->epfd, EPOLL_CTL_ADD, st->ufd, &ev) < 0) {
		close(st->ufd);
		st->ufd = -1;
	}
}

static int fwd_listen(struct fwd_state *st, struct cd_err *err)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	char port[8];

	st->lfd = cd_net_listen(st->listen, SOCK_STREAM, err);
	if (st->lfd < 0)
		return st->lfd;
	cd_net_sockfile_note(&st->sock, st->listen);
	if (epoll_ctl(st->epfd, EPOLL_CTL_ADD, st->lfd, &ev) < 0)
		return cd_err_set(err, -CD_EIO, errno, "%s: epoll: %s", st->listen, strerror(errno));
	heartbeat_listen(st);
	snprintf(port, sizeof(port), "%u", (unsigned)cd_net_local_port(st->lfd));
	cd_log(cd_net_is_loopback(st->listen) ? FMT_LEVEL_INFO : FMT_LEVEL_WARN,
	       cd_net_is_loopback(st->listen)
		       ? "listening"
		       : "listening beyond loopback: any host that reaches it can send records",
	       "input", "forward", "listen", st->listen, "port", port, NULL);
	return 0;
}

static void fwd_close(void *state);

static int fwd_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_input_conf *ic,
		    struct cd_err *err)
{
	struct fwd_state *st = calloc(1, sizeof(*st));
	char name[CD_INPUT_NAME_MAX];
	int rc;

	if (!st)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	st->pl = pl;
	st->idx = idx;
	st->listen = cd_opt_get(&ic->opts, "listen");
	st->shared_key = cd_opt_get(&ic->opts, "shared_key");
	if (st->shared_key && !*st->shared_key)
		st->shared_key = NULL;
	if (cd_opt_get(&ic->opts, "self_hostname"))
		cd_strlcpy(st->hostname, cd_opt_get(&ic->opts, "self_hostname"), sizeof(st->hostname));
	else if (gethostname(st->hostname, sizeof(st->hostname) - 1) < 0)
		cd_strlcpy(st->hostname, "clewd", sizeof(st->hostname));
	cd_opt_u64(&ic->opts, "max_connections", CD_NET_CONNECTIONS_DEFAULT, CD_NET_CONNECTIONS_MAX,
		   &st->max_connections, NULL); /* checked by in_net_check() */
	st->lfd = st->ufd = -1;
	if (cd_opt_get(&ic->opts, "cert_file") &&
	    (rc = tls_server_new(&st->tls, cd_opt_get(&ic->opts, "cert_file"),
				 cd_opt_get(&ic->opts, "key_file"), err)) < 0) {
		free(st);
		return rc;
	}
	st->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (st->epfd < 0) {
		free(st);
		return cd_err_set(err, -CD_EIO, errno, "epoll_create1: %s", strerror(errno));
	}
	*state = NULL;
	if ((rc = fwd_listen(st, err)) < 0)
		goto err_close;
	snprintf(name, sizeof(name), "forward:%s", st->listen);
	if ((rc = intake_open(&st->intake, pl, idx, ic, name, err)) < 0)
		goto err_close;
	if ((rc = pl_watch_fd(pl, st->epfd, on_ready, st)) < 0) {
		cd_err_set(err, rc, errno, "%s: cannot watch", st->listen);
		goto err_close;
	}
	st->watched = true;
	st->opened = true;
	*state = st;
	return 0;

err_close:
	fwd_close(st);
	return rc;
}

static void fwd_close(void *state)
{
	struct fwd_state *st = state;
	char n[3][24];

	if (!st)
		return;
	while (st->conns)
		close_conn(st->conns);
	intake_close(st->intake);
	if (st->watched)
		pl_unwatch_fd(st->pl, st->epfd);
	if (st->lfd >= 0)
		close(st->lfd);
	if (st->ufd >= 0)
		close(st->ufd);
	close(st->epfd);
	cd_net_sockfile_remove(&st->sock, st->listen);
	fwd_dec_release(&st->dec);
	tls_server_free(st->tls);
	if (st->opened) {
		snprintf(n[0], sizeof(n[0]), "%llu", (unsigned long long)st->accepted);
		snprintf(n[1], sizeof(n[1]), "%llu", (unsigned long long)st->events);
		snprintf(n[2], sizeof(n[2]), "%llu", (unsigned long long)st->acks);
		cd_log(FMT_LEVEL_INFO, "input closed", "input", "forward", "listen", st->listen,
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
