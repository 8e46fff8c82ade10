/*
 * input/in_syslog.c - the syslog input: RFC 5424 and RFC 3164 messages
 * over UDP, TCP (RFC 6587: octet counting or newlines, chosen by each
 * connection's first byte) and a unix datagram socket (a /dev/log
 * replacement): -i syslog+udp://HOST:PORT, syslog+tcp://HOST:PORT,
 * syslog+unix:///PATH, or type: syslog with transport: udp|tcp|unix.
 *
 * DESIGN: the sockets are util/net.h's and the options in_net.c's, as for
 * the tcp and udp inputs; the socket, the connections and their epoll set
 * are stream_srv.c's, as for tcp (read only in tick(), one source per
 * connection, backpressure by not reading), and the datagrams follow in_udp.c
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
#include <stddef.h>
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
#include "input/in_net.h"
#include "input/stream_srv.h"
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
	struct ss_conn base;	 /* the server's part (first) */
	struct pl_source *src;	 /* its source; NULL once ended */
	struct syslog_framer fr; /* its framing */
	char *buf;		 /* bytes not yet framed: st->frame_max + 32 */
	size_t have;		 /* bytes in buf */
	uint64_t off;		 /* bytes of the connection consumed (the source's position) */
	const char *peer;	 /* IP:PORT, for the log (in base.name) */
};

struct sl_state {
	struct ss_srv srv;		     /* the socket(s), connections (tcp), idle_timeout (first) */
	unsigned transport;		     /* T_* */
	enum cd_parser parser;		     /* the input's parser, for the message bodies */
	struct parse_regex *rx;		     /* its regex (CD_PARSER_REGEX) */
	size_t frame_max;		     /* max_frame */
	int64_t now_real;		     /* CLOCK_REALTIME at this tick: RFC 3164's missing year */
	struct pl_source *src;		     /* datagrams: the one source */
	uint64_t dgram_off;		     /* datagrams: bytes received (the source's position) */
	struct sockaddr_storage dpeer;	     /* datagrams: the last one's sender */
	socklen_t dpeer_len;		     /* its length (0: unnamed, a unix socket's) */
	pid_t dpid;			     /* unix: its sender's pid (SCM_CREDENTIALS); 0: unknown */
	char *dbuf;			     /* datagrams: one, CD_DGRAM_MAX bytes */
	struct fmt_record *rec;		     /* scratch record */
	char *scratch;			     /* keys and unescaped values of the record */
	size_t scratch_cap;		     /* its bytes */
	char num[24];			     /* the _split attribute's value */
	uint64_t datagrams, truncated;	     /* datagrams received; of which cut (MSG_TRUNC) */
	uint32_t drops_seen;		     /* last SO_RXQ_OVFL value (wraps) */
	uint64_t drops;			     /* datagrams the kernel dropped */
	uint64_t frames, cut;		     /* frames decoded; of which longer than max_frame */
	uint64_t invalid[SYSLOG_E_NREASONS]; /* frames kept raw, by reason */
	uint64_t invalid_total;		     /* their sum (the log's 1, 2, 4, ...) */
	bool opened;			     /* open() succeeded: close() reports */
};

/* The input of server @s (its first member). */
static struct sl_state *state_of(struct ss_srv *s)
{
	_Static_assert(offsetof(struct sl_state, srv) == 0, "the server comes first");
	return (struct sl_state *)(void *)s;
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
		snprintf(out, cap, "%s pid=%ld", st->srv.listen, (long)st->dpid);
	else
		addr_text(&st->dpeer, st->dpeer_len, st->srv.listen, out, cap);
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
		cd_log(FMT_LEVEL_WARN, "invalid syslog frame: kept as a raw record", "input", st->srv.kind,
		       "listen", st->srv.listen, "peer", peer, "reason", syslog_strerror(e), "invalid", c,
		       NULL);
	}
	if (e == SYSLOG_E_EMPTY)
		return; /* no text to keep */
	memset(&rs, 0, sizeof(rs));
	rs.raw = true;
	rs.line = fmt_str_n(p, n);
	rs.error = fmt_str_c(syslog_strerror(e));
	pl_source_record(st->srv.pl, src, NULL, &rs, advance(src, end_off));
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
		pl_source_record(st->srv.pl, src, r, NULL, advance(src, end_off));
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
	pl_source_record(st->srv.pl, src, r, (r->flags & FMT_F_ATTRS_TRUNCATED) ? &rs : NULL,
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
	n = recvmsg(st->srv.lfd, &mh, MSG_DONTWAIT);
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
		cd_drop("input", pl_in_name(st->srv.pl, st->srv.idx), "kernel_receive_buffer", v,
			st->srv.listen);
	}
	st->datagrams++;
	pl_in_stats(st->srv.pl, st->srv.idx)->bytes += (uint64_t)n;
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
			cd_log(FMT_LEVEL_WARN, "datagram longer than max_frame: cut", "input", st->srv.kind,
			       "listen", st->srv.listen, "peer", from, "truncated", c, NULL);
		}
	}
	on_frame(st, st->src, st->dbuf, len, 0, 0, len < (size_t)n || (mh.msg_flags & MSG_TRUNC), NULL,
		 st->dgram_off);
	return 1;
}

static bool dgram_tick(struct sl_state *st)
{
	uint64_t before = pl_in_stats(st->srv.pl, st->srv.idx)->bytes;
	int rc = 0;

	while (!pl_backpressure(st->srv.pl) &&
	       pl_in_stats(st->srv.pl, st->srv.idx)->bytes - before < CD_READ_BURST &&
	       (rc = recv_one(st)) > 0)
		;
	if (rc < 0)
		cd_log(FMT_LEVEL_WARN, "receive failed", "input", st->srv.kind, "listen", st->srv.listen,
		       "error", strerror(-rc), NULL);
	return rc > 0;
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

/* At EOF, a reset or idle: its partial last frame becomes a record, its source ends. */
static void conn_closing(struct ss_conn *sc)
{
	struct sl_conn *c = (struct sl_conn *)sc;

	if (!c->src)
		return; /* handed over */
	frames(state_of(sc->srv), c, true);
	pl_source_end(sc->srv->pl, c->src, false);
	c->src = NULL;
}

static void conn_release(struct ss_conn *sc)
{
	free(((struct sl_conn *)sc)->buf);
}

/* Read what @c has (a burst at most). Return: true when more is waiting (false: drained or closed). */
static bool conn_read(struct ss_conn *sc)
{
	struct sl_conn *c = (struct sl_conn *)sc;
	struct sl_state *st = state_of(sc->srv);
	const size_t cap = st->frame_max + 32;
	size_t total = 0;

	while (total < CD_READ_BURST) {
		ssize_t n = read(sc->fd, c->buf + c->have, cap - c->have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return false;
		if (n < 0) {
			ss_conn_fail(sc, errno); /* what was read stays, its partial last frame included */
			return false;
		}
		if (n == 0) {
			ss_conn_close(sc);
			return false;
		}
		c->have += (size_t)n;
		total += (size_t)n;
		sc->last_ns = cd_mono_ns();
		pl_in_stats(st->srv.pl, st->srv.idx)->bytes += (uint64_t)n;
		frames(st, c, false);
	}
	return true;
}

/* A connection, or with @hc one the old pipeline handed over: where its framing was. */
static int conn_init(struct ss_conn *sc, const struct in_handoff_conn *hc)
{
	struct sl_conn *c = (struct sl_conn *)sc;
	struct sl_state *st = state_of(sc->srv);
	const size_t cap = st->frame_max + 32;
	size_t k = strlen(st->srv.prefix);

	/* the log names the peer without the input's prefix */
	c->peer =
		strncmp(sc->name, st->srv.prefix, k) == 0 && sc->name[k] == ':' ? sc->name + k + 1 : sc->name;
	if (!(c->buf = malloc(cap)))
		return -CD_ENOMEM;
	if (!(c->src = pl_source_new(st->srv.pl, st->srv.idx, sc->name, NULL, 0, 0, 0)))
		return -CD_ENOMEM;
	if (hc) {
		memcpy(&c->fr, hc->state, sizeof(c->fr));
		c->have = hc->n <= cap ? hc->n : cap;
		if (c->have)
			memcpy(c->buf, hc->bytes, c->have);
	}
	return 0;
}

/* Reload: the connection goes with its unframed bytes and its framer (octet counting or newlines, a long frame's piece count). */
static int conn_hand(struct ss_conn *sc, struct in_handoff *h)
{
	struct sl_conn *c = (struct sl_conn *)sc;

	_Static_assert(sizeof(c->fr) <= IN_HANDOFF_STATE_MAX, "a framer fits a handoff's state");
	pl_source_end(sc->srv->pl, c->src, false); /* its records are whole frames: nothing partial */
	c->src = NULL;
	/* out of memory: closed as at SIGTERM (its unfinished frame is lost) */
	return in_handoff_add_conn(h, sc->fd, c->buf, c->have, &c->fr, sizeof(c->fr));
}

/* Datagrams: receive a burst. */
static bool dgram_recv(struct ss_srv *s)
{
	return dgram_tick(state_of(s));
}

static const struct ss_ops sl_ops = {
	.conn_size = sizeof(struct sl_conn),
	.init = conn_init,
	.read = conn_read,
	.closing = conn_closing,
	.release = conn_release,
	.hand = conn_hand,
	.recv = dgram_recv,
};

/* --- the plugin ------------------------------------------------------------------ */

static bool sl_tick(void *state, int64_t now)
{
	struct sl_state *st = state;
	struct timespec ts;

	if (st->srv.stopped)
		return false;
	ss_prepare(&st->srv, now);
	if (!st->srv.ready)
		return false;
	clock_gettime(CLOCK_REALTIME, &ts);
	st->now_real = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	return ss_poll(&st->srv, now);
}

static bool sl_done(void *state)
{
	(void)state;
	return false;
}

static void sl_stop(void *state)
{
	struct sl_state *st = state;

	if (st->srv.stopped)
		return;
	/* what the kernel holds was sent to us: take it, unless the outputs are behind */
	if (st->transport != T_TCP) {
		while (!pl_backpressure(st->srv.pl) && recv_one(st) > 0)
			;
		pl_source_end(st->srv.pl, st->src, false);
		st->src = NULL;
	}
	ss_stop_listening(&st->srv);
	ss_drain_close(&st->srv);
}

/*
 * Reload, this input unchanged: read nothing more; the socket(s) go to the
 * new pipeline's twin, each connection with its unframed bytes and its
 * framer.
 */
static void sl_hand_over(void *state, struct in_handoff *h)
{
	struct sl_state *st = state;

	if (st->srv.stopped)
		return;
	if (st->transport != T_TCP) {
		pl_source_end(st->srv.pl, st->src, false);
		st->src = NULL;
	}
	ss_hand_over(&st->srv, h);
}

static void sl_metrics(void *state, struct metrics *m, const char *label)
{
	const struct sl_state *st = state;
	char lab[512];

	if (st->transport == T_TCP) {
		ss_metrics(&st->srv, m, label);
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

/* The socket: a reload's (it never stopped listening) or a new one; options for datagrams. */
static int sl_listen(struct sl_state *st, struct in_handoff *kept, struct cd_err *err)
{
	int one = 1;
	int rc;

	if (st->transport != T_TCP)
		st->srv.socktype = SOCK_DGRAM;
	if ((rc = ss_listen(&st->srv, kept, err)) < 0)
		return rc;
	if (st->transport != T_TCP) {
		if (setsockopt(st->srv.lfd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) < 0 &&
		    st->transport == T_UDP)
			cd_log(FMT_LEVEL_WARN, "SO_RXQ_OVFL not available: kernel drops are not counted",
			       "input", st->srv.kind, "listen", st->srv.listen, NULL);
		/* a local sender's pid in the log of its invalid frames */
		if (st->transport == T_UNIX)
			setsockopt(st->srv.lfd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
	}
	return 0;
}

static int sl_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_input_conf *ic,
		   struct cd_err *err)
{
	static const char *const kinds[] = {"syslog+udp", "syslog+tcp", "syslog+unix"};
	struct sl_state *st = calloc(1, sizeof(*st));
	struct in_handoff *kept = NULL;
	uint64_t fm = 0;
	char name[CD_INPUT_NAME_MAX];
	int rc;

	if (!st)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	st->transport = transport_of(&ic->opts);
	if ((rc = ss_init(&st->srv, &sl_ops, pl, idx, &ic->opts, kinds[st->transport], err)) < 0) {
		free(st);
		return rc;
	}
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
	kept = in_handoff_take(ic);
	if ((rc = sl_listen(st, kept, err)) < 0)
		goto err_close;
	if (st->transport != T_TCP) {
		snprintf(name, sizeof(name), "%s:%s", st->srv.kind,
			 st->transport == T_UNIX ? st->srv.listen + 5 : st->srv.listen);
		if (!(st->src = pl_source_new(pl, idx, name, NULL, 0, 0, 0))) {
			rc = cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
			goto err_close;
		}
	}
	if ((rc = ss_start(&st->srv, kept, err)) < 0) {
		if (st->src)
			pl_source_abandon(pl, st->src);
		goto err_close;
	}
	in_handoff_free(kept);
	st->opened = true;
	*state = st;
	return 0;

err_close:
	in_handoff_free(kept);
	sl_close(st);
	return rc;
}

static void sl_close(void *state)
{
	struct sl_state *st = state;
	char n[4][24];

	if (!st)
		return;
	ss_release(&st->srv);
	if (st->opened) {
		snprintf(n[0], sizeof(n[0]), "%llu", (unsigned long long)st->frames);
		snprintf(n[1], sizeof(n[1]), "%llu", (unsigned long long)st->invalid_total);
		snprintf(n[2], sizeof(n[2]), "%llu", (unsigned long long)st->cut);
		snprintf(n[3], sizeof(n[3]), "%llu", (unsigned long long)(st->drops + st->truncated));
		cd_log(FMT_LEVEL_INFO, "input closed", "input", st->srv.kind, "listen", st->srv.listen,
		       "frames", n[0], "invalid", n[1], "cut", n[2], "dropped_or_truncated", n[3], NULL);
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
