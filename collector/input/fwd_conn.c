/*
 * input/fwd_conn.c - one connection of the forward input (see in_forward.c
 * for the design): accepted (the handshake's HELO), read into its buffer,
 * whole frames decoded and offered to the intake, acked from the intake's
 * done(), closed (requests in flight cancelled: the sender resends). Its
 * callbacks for stream_srv.c, which accepts, lists and sweeps connections,
 * are fwd_conn_ops.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "input/fwd_auth.h"
#include "input/fwd_conn.h"
#include "util/tls_server.h"
#include "util/util.h"
#include "util/banned.h"

/* The connection ends: its requests in flight cancelled (their acks lost: the sender resends). */
static void conn_closing(struct ss_conn *sc)
{
	struct fwd_conn *c = (struct fwd_conn *)sc;
	struct fwd_state *st = c->st;

	while (c->reqs) {
		struct fwd_req *r = c->reqs;
		c->reqs = r->next;
		intake_cancel(st->intake, r);
		if (r->has_chunk)
			st->ack_lost++;
		free(r);
	}
}

static void conn_release(struct ss_conn *sc)
{
	struct fwd_conn *c = (struct fwd_conn *)sc;

	tls_conn_free(c->tls);
	if (c->stalled)
		c->st->nstalled--;
	free(c->buf);
}

void fwd_conn_close(struct fwd_conn *c)
{
	ss_conn_close(&c->base);
}

/* Write what c->out holds. Return: false when the connection failed (closed by the caller). */
bool fwd_conn_flush(struct fwd_conn *c)
{
	while (c->outlen > 0) {
		ssize_t n = c->tls ? tls_conn_write(c->tls, c->out, c->outlen)
				   : send(c->base.fd, c->out, c->outlen, MSG_NOSIGNAL | MSG_DONTWAIT);
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
			if (!fwd_conn_flush(c))
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
	       "forward", "peer", c->base.name, "reason", fwd_reason_names[why], "detail", what, NULL);
}

/*
 * Offer the frame buf[0..n) to the intake. Return: 1 taken (consumed),
 * 0 refused for now (stalled), -1 invalid or failed (close the connection).
 */
int fwd_conn_offer(struct fwd_conn *c, size_t n)
{
	struct fwd_state *st = c->st;
	struct fwd_msg msg;
	enum fwd_reason why;
	struct fwd_req *r;
	int rc = fwd_decode(&st->dec, c->buf, n, &msg, &why);

	if (rc == -2) {
		cd_log(FMT_LEVEL_ERROR, "out of memory decoding a frame: connection closed", "input",
		       "forward", "peer", c->base.name, NULL);
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
	rc = msg.events ? intake_submit(st->intake, c->base.name, st->dec.lines.p, st->dec.lines.len,
					req_done, r)
			: (req_done(r, 0), 0);
	if (rc < 0) {
		c->reqs = r->next;
		if (c->reqs)
			c->reqs->prev = NULL;
		free(r);
		if (rc != -CD_EAGAIN) {
			cd_log(FMT_LEVEL_ERROR, "intake failed: connection closed", "input", "forward",
			       "peer", c->base.name, "error", cd_strerror(rc), NULL);
			return -1;
		}
		st->refused++;
		if (!c->stalled) {
			c->stalled = true;
			st->nstalled++;
			ss_conn_watch(&c->base, false);
		}
		return 0;
	}
	if (c->stalled) {
		c->stalled = false;
		st->nstalled--;
		ss_conn_watch(&c->base, true);
	}
	st->frames++;
	st->events += msg.events;
	st->modes[msg.mode]++;
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
	fwd_scan_init(&c->sc);
	return 1;
}

/* The client's PING (the frame buf[0..n)). Return: true when it proved the key (PONG true queued). */
static bool handshake(struct fwd_conn *c, size_t n)
{
	struct fwd_state *st = c->st;
	int ok;
	size_t k = fwd_auth_pong(c->buf, n, c->nonce, st->shared_key, st->hostname, c->out + c->outlen,
				 sizeof(c->out) - c->outlen, &ok);

	if (ok < 0) {
		invalid(c, FWD_R_AUTH, "expected PING");
		return false;
	}
	c->outlen += k;
	fwd_conn_flush(c);
	if (!ok)
		invalid(c, FWD_R_AUTH, "shared_key mismatch");
	return ok && k > 0;
}

/* With a shared key: our HELO, the connection's first message. Return: false when it cannot be sent. */
static bool helo(struct fwd_conn *c)
{
	size_t k = fwd_auth_helo(c->nonce, c->out + c->outlen, sizeof(c->out) - c->outlen);

	c->outlen += k;
	return k > 0 && fwd_conn_flush(c);
}

/* Take every whole frame at the start of c->buf. Return: false when @c was closed. */
bool fwd_conn_take_frames(struct fwd_conn *c)
{
	while (c->len > 0) {
		enum fwd_reason why;
		long n = fwd_scan(&c->sc, c->buf, c->len, &why);
		int rc;

		if (n == 0)
			return true;
		if (n < 0) {
			invalid(c, why, "framing");
			fwd_conn_close(c);
			return false;
		}
		if (!c->authed) {
			if (!handshake(c, (size_t)n)) {
				fwd_conn_close(c);
				return false;
			}
			c->authed = true;
			memmove(c->buf, c->buf + n, c->len - (size_t)n);
			c->len -= (size_t)n;
			fwd_scan_init(&c->sc);
			continue;
		}
		if ((rc = fwd_conn_offer(c, (size_t)n)) < 0) {
			fwd_conn_close(c);
			return false;
		}
		if (rc == 0)
			return true;
	}
	return true;
}

/* Read what @c has and take its frames. Return: true when more may be waiting. */
bool fwd_conn_read(struct fwd_conn *c)
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
				fwd_conn_close(c);
				return false;
			}
			c->buf = p;
			c->cap = cap;
		}
read:
		n = c->tls ? tls_conn_read(c->tls, c->buf + c->len, c->cap - c->len)
			   : read(c->base.fd, c->buf + c->len, c->cap - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* a TLS handshake just done may leave our HELO to send: the peer waits for it */
			if (c->outlen && !fwd_conn_flush(c)) {
				fwd_conn_close(c);
				return false;
			}
			return false;
		}
		if (n < 0 && errno == EPROTO) {
			invalid(c, FWD_R_TLS, "TLS handshake or record failed");
			fwd_conn_close(c);
			return false;
		}
		if (n <= 0) {
			int e = errno;

			if (c->len > 0)
				cd_log(FMT_LEVEL_DEBUG, "connection ended inside a frame (not acked)",
				       "input", "forward", "peer", c->base.name, NULL);
			if (n < 0)
				ss_conn_fail(&c->base, e); /* a reset: counted as for tcp */
			else
				fwd_conn_close(c);
			return false;
		}
		c->len += (size_t)n;
		got += (size_t)n;
		c->base.last_ns = cd_mono_ns();
		pl_in_stats(st->srv.pl, st->srv.idx)->bytes += (uint64_t)n;
		if (!fwd_conn_take_frames(c))
			return false;
		if (c->outlen && !fwd_conn_flush(c)) {
			fwd_conn_close(c);
			return false;
		}
	}
	return !c->stalled;
}

/* A new connection (our HELO first, with a shared key), or with @hc one the old pipeline handed over. */
static int conn_init(struct ss_conn *sc, const struct in_handoff_conn *hc)
{
	struct fwd_conn *c = (struct fwd_conn *)sc;
	struct fwd_state *st = (struct fwd_state *)(void *)sc->srv; /* its first member */

	c->st = st;
	if (st->tls && !(c->tls = tls_conn_new(st->tls, sc->fd)))
		return -CD_ENOMEM;
	c->authed = !st->shared_key;
	fwd_scan_init(&c->sc);
	if (hc) {
		struct fwd_kept k;
		memcpy(&k, hc->state, sizeof(k));
		c->authed = k.authed;
		memcpy(c->nonce, k.nonce, sizeof(c->nonce));
		if (hc->n && (c->buf = malloc(hc->n + 128 * 1024))) {
			memcpy(c->buf, hc->bytes, hc->n);
			c->len = hc->n;
			c->cap = hc->n + 128 * 1024;
		}
	}
	if (!hc && !c->authed && !helo(c)) {
		cd_log(FMT_LEVEL_WARN, "cannot send HELO: connection closed", "input", "forward", "peer",
		       sc->name, NULL);
		return -CD_EIO;
	}
	return 0;
}

static bool conn_read(struct ss_conn *sc)
{
	return fwd_conn_read((struct fwd_conn *)sc);
}

/* Idle: not while it waits for our ack, or its frame waits for the intake (clewd holds it, not the client). */
static bool conn_busy(const struct ss_conn *sc)
{
	const struct fwd_conn *c = (const struct fwd_conn *)sc;

	return c->reqs || c->stalled;
}

/*
 * Reload: the connection goes with its bytes not yet taken (a partial or
 * refused frame) and its handshake state. A TLS session cannot move, nor
 * one waiting for an ack: those end as at SIGTERM (the sender resends).
 */
static int conn_hand(struct ss_conn *sc, struct in_handoff *h)
{
	struct fwd_conn *c = (struct fwd_conn *)sc;
	struct fwd_kept k;

	if (c->tls || c->reqs || c->outlen)
		return -1;
	memset(&k, 0, sizeof(k));
	k.authed = c->authed;
	memcpy(k.nonce, c->nonce, sizeof(k.nonce));
	_Static_assert(sizeof(k) <= IN_HANDOFF_STATE_MAX, "fits a handoff's state");
	return in_handoff_add_conn(h, sc->fd, c->buf, c->len, &k, sizeof(k));
}

const struct ss_ops fwd_conn_ops = {
	.conn_size = sizeof(struct fwd_conn),
	.init = conn_init,
	.read = conn_read,
	.closing = conn_closing,
	.release = conn_release,
	.busy = conn_busy,
	.hand = conn_hand,
	.extra = fwd_heartbeats,
};
