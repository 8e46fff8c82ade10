/*
 * input/fwd_decode.h - the Fluentd Forward Protocol v1 decoder: frames cut
 * out of a byte stream (resumable at any byte), then each frame's events
 * (Message, Forward, PackedForward and CompressedPackedForward modes)
 * rendered as clew JSON lines, ready for intake_submit(); the server's
 * messages (ack, HELO, PONG) written by fwd_encode.c.
 *
 * Pure: no I/O, no global state. The caller owns a struct fwd_dec whose
 * buffers grow to the largest frame seen and are reused (no allocation
 * per record). Sizes and nesting are bounded (FWD_FRAME_MAX,
 * FWD_INFLATE_MAX, FWD_DEPTH_MAX): a frame past them is invalid, never a
 * reason to allocate without bound.
 */
#ifndef CD_FWD_DECODE_H
#define CD_FWD_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The largest frame (one msgpack array) taken from a connection: Fluentd
 * and Fluent Bit send chunks of 8 MiB by default; twice that leaves room.
 */
#ifndef FWD_FRAME_MAX
#define FWD_FRAME_MAX (16u * 1024 * 1024)
#endif
/* The largest CompressedPackedForward payload once inflated (gzip bombs stop here). */
#ifndef FWD_INFLATE_MAX
#define FWD_INFLATE_MAX (64u * 1024 * 1024)
#endif
/* Nesting of arrays and maps at most, the frame's own levels included (records are rarely 10 deep). */
#ifndef FWD_DEPTH_MAX
#define FWD_DEPTH_MAX 64u
#endif
_Static_assert(FWD_DEPTH_MAX >= 8 && FWD_DEPTH_MAX <= 120,
	       "FWD_DEPTH_MAX: frames nest 4 deep; JSON takes 128");

/* Why a frame was refused: the index into fwd_reason_names[] (the /metrics label). */
enum fwd_reason {
	FWD_R_MSGPACK, /* not msgpack (0xc1, a bad length) */
	FWD_R_DEPTH,   /* nested deeper than FWD_DEPTH_MAX */
	FWD_R_SIZE,    /* frame or inflated payload past its cap */
	FWD_R_SHAPE,   /* not [tag, time|entries, ...] as the spec says */
	FWD_R_TIME,    /* an event time that is neither an integer nor EventTime */
	FWD_R_RECORD,  /* a record that is not a map, or cannot be rendered */
	FWD_R_OPTION,  /* a bad option map (size that does not match, unknown compression) */
	FWD_R_GZIP,    /* a compressed payload that does not inflate */
	FWD_R_AUTH,    /* the shared-key handshake failed (in_forward.c: a bad PING, a wrong key) */
	FWD_R_TLS, /* the TLS handshake or a TLS record failed (in_forward.c: a plain client, a bad certificate) */
	FWD_R_N,
};

extern const char *const fwd_reason_names[FWD_R_N];

/* The state of fwd_scan() over the frame growing at the start of a buffer. */
struct fwd_scan {
	size_t pos;			  /* bytes of the frame checked so far */
	uint32_t depth;			  /* open containers */
	uint64_t left[FWD_DEPTH_MAX + 1]; /* items still to come at each depth (left[0]: the frame itself) */
};

/* fwd_scan_init() - start looking for a new frame. */
void fwd_scan_init(struct fwd_scan *sc);

/*
 * fwd_scan() - how long the msgpack item at buf[0] is, looking only at
 * bytes past those already checked: call it again with the same start and
 * more bytes after a 0, and fwd_scan_init() after a frame was taken.
 * Return: the frame's length (> 0), 0 when more bytes are needed, or
 * -1 with *why set (malformed, too deep, past FWD_FRAME_MAX).
 */
long fwd_scan(struct fwd_scan *sc, const uint8_t *buf, size_t len, enum fwd_reason *why);

/* Growable bytes, owned by a struct fwd_dec. */
struct fwd_bytes {
	char *p;    /* the bytes (NULL before the first use) */
	size_t len; /* used */
	size_t cap; /* allocated */
};

/* What a frame said besides its events. */
struct fwd_msg {
	const char *chunk; /* the `chunk` option (into the frame), NULL when absent: answer {"ack": chunk} */
	uint32_t chunk_len;
	uint64_t events; /* events in the frame */
	uint8_t mode;	 /* enum fwd_mode */
};

enum fwd_mode { FWD_MESSAGE, FWD_FORWARD, FWD_PACKED, FWD_COMPRESSED };

/* The decoder's buffers (zero-initialise; fwd_dec_release() frees them). */
struct fwd_dec {
	struct fwd_bytes lines;	   /* the last frame's events as clew JSON lines, one '\n' each */
	struct fwd_bytes json;	   /* one record as JSON text, before it is parsed */
	struct fwd_bytes inflated; /* a CompressedPackedForward payload, inflated */
};

/*
 * fwd_decode() - decode the whole frame @f[0..len) (one fwd_scan() length)
 * into @d->lines: every event as one clew JSON line (fmt_json_emit()):
 * the record's fields mapped as JSON lines map them (formats/json.md), the
 * tag as attribute `tag` (a record's own `tag` becomes `_tag`), the event
 * time as the record's time unless the record has a valid timestamp field
 * of its own, Docker's `log` as the message when there is none,
 * `container_name` (without its '/') as the service when there is none.
 * All or nothing: on error @d->lines holds nothing of the frame.
 * Return: 0 with @msg set (views into @f), -1 with *why set, or
 * -2 when out of memory.
 */
int fwd_decode(struct fwd_dec *d, const uint8_t *f, size_t len, struct fwd_msg *msg, enum fwd_reason *why);

/* fwd_dec_release() - free @d's buffers (it may be used again). */
void fwd_dec_release(struct fwd_dec *d);

/*
 * fwd_ack() - the answer to a frame's chunk option, {"ack": chunk}, as
 * msgpack into out[0..cap). Return: its length, or 0 when it does not fit.
 */
size_t fwd_ack(const char *chunk, uint32_t chunk_len, uint8_t *out, size_t cap);

/*
 * fwd_ack_parse() - the server's answer {"ack": chunk} at buf[0..len)
 * (the forward output's side). Return: its length with @chunk set (a
 * view), 0 when more bytes are needed, -1 when it is not one.
 */
long fwd_ack_parse(const uint8_t *buf, size_t len, const char **chunk, uint32_t *chunk_len);

/* A view of bytes in a frame. */
struct fwd_str {
	const char *p; /* NULL when absent */
	uint32_t n;
};

/* The client's PING of the shared-key handshake (views into the frame). */
struct fwd_ping {
	struct fwd_str hostname; /* the client's self_hostname */
	struct fwd_str salt;	 /* shared_key_salt */
	struct fwd_str digest;	 /* hex SHA-512 of salt, hostname, our nonce and the shared key */
	struct fwd_str username; /* user authentication (not used: HELO asks for none) */
	struct fwd_str password;
};

/* fwd_ping_parse() - the frame @f (fwd_scan()'s length) as ["PING", ...]. Return: 0 or -1. */
int fwd_ping_parse(const uint8_t *f, size_t len, struct fwd_ping *ping);

/*
 * fwd_helo() / fwd_pong() - the server's messages of the handshake into
 * out[0..cap): ["HELO", {"nonce", "auth": "", "keepalive": true}] and
 * ["PONG", ok, reason, hostname, digest] (strings up to 255 bytes).
 * Return: the length, 0 when it does not fit.
 */
size_t fwd_helo(const char *nonce, size_t nonce_len, uint8_t *out, size_t cap);
size_t fwd_pong(bool ok, const char *reason, const char *hostname, const char *digest, uint8_t *out,
		size_t cap);

#endif
