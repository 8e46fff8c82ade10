/*
 * input/fwd_conn.h - the forward input's state and one connection's life
 * (fwd_conn.c): accepted, read, its frames decoded and offered to the
 * intake, acked, closed (the listener and the list of connections are
 * stream_srv.c's). Private to in_forward.c and fwd_conn.c.
 */
#ifndef CD_FWD_CONN_H
#define CD_FWD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "input/fwd_decode.h"
#include "input/handoff.h"
#include "input/in_net.h"
#include "input/intake.h"
#include "input/stream_srv.h"
#include "pipeline.h"
#include "util/net.h"

struct fwd_state;

struct fwd_req {
	struct fwd_req *prev, *next; /* the connection's requests in flight */
	struct fwd_conn *c;	     /* its connection */
	uint32_t chunk_len;	     /* the chunk option's length; chunk[] follows */
	bool has_chunk;		     /* answer {"ack": chunk} when done */
	char chunk[];		     /* the chunk option (not NUL-terminated) */
};

struct fwd_conn {
	struct ss_conn base;  /* the server's part (first): fd, name, last byte's time */
	struct fwd_state *st; /* the input */
	struct tls_conn *tls; /* its TLS session; NULL: plain */
	bool stalled;	      /* the intake refused the frame at buf[0]: offer it again (out of the set) */
	bool authed;	      /* the handshake is done (or there is none) */
	char nonce[33];	      /* the nonce of our HELO (hex) */
	struct fwd_scan sc;   /* the frame being received at buf[0] */
	uint8_t *buf;	      /* received, not yet taken */
	size_t len, cap;      /* bytes in buf, allocated */
	struct fwd_req *reqs; /* requests whose done() has not come */
	uint8_t out[512];     /* acks not yet written (the socket was full) */
	size_t outlen;	      /* bytes in out */
};

/* What a connection handed over on reload keeps besides its bytes (handoff.h's state). */
struct fwd_kept {
	bool authed;	/* the handshake is done */
	char nonce[33]; /* our HELO's nonce, when not */
};

struct fwd_state {
	struct ss_srv srv;	   /* listener, heartbeat socket (xfd), connections, idle_timeout (first) */
	const char *shared_key;	   /* the handshake's key; NULL: no handshake */
	struct tls_server *tls;	   /* cert_file + key_file: TLS on every connection; NULL: plain */
	char hostname[256];	   /* self_hostname, in our PONG */
	struct intake *intake;	   /* where requests go */
	struct fwd_dec dec;	   /* the decoder's buffers, shared by the connections */
	unsigned nstalled;	   /* connections whose frame the intake refused */
	uint64_t frames, events;   /* frames and events taken */
	uint64_t acks;		   /* acks sent */
	uint64_t refused;	   /* frames the intake refused (offered again later) */
	uint64_t heartbeats;	   /* UDP heartbeats answered */
	uint64_t invalid[FWD_R_N]; /* frames refused, by reason */
	uint64_t ack_lost;	   /* acks lost: the connection closed or could not take them */
	uint64_t modes[4];	   /* frames by enum fwd_mode */
	bool opened;		   /* open() succeeded */
	bool adopted; /* connections came from the old pipeline: take their frames at the first tick */
};

/* fwd_conn_ops - a forward connection's part for stream_srv.c (init: HELO, read, close: cancel, hand over). */
extern const struct ss_ops fwd_conn_ops;

/* fwd_heartbeats() - answer the UDP heartbeats waiting on the input's second socket (in_forward.c). */
void fwd_heartbeats(struct ss_srv *s);

/* fwd_conn_close() - close @c: its requests in flight cancelled (their acks lost, counted); frees @c. */
void fwd_conn_close(struct fwd_conn *c);

/* fwd_conn_flush() - write what c->out holds. Return: false when the connection failed (closed by the caller). */
bool fwd_conn_flush(struct fwd_conn *c);

/*
 * fwd_conn_offer() - offer the frame buf[0..n) to the intake. Return: 1
 * taken (consumed), 0 refused for now (stalled), -1 invalid or failed
 * (close the connection).
 */
int fwd_conn_offer(struct fwd_conn *c, size_t n);

/* fwd_conn_take_frames() - take every whole frame at the start of c->buf. Return: false when @c was closed. */
bool fwd_conn_take_frames(struct fwd_conn *c);

/* fwd_conn_read() - read what @c has and take its frames. Return: true when more may be waiting. */
bool fwd_conn_read(struct fwd_conn *c);

#endif
