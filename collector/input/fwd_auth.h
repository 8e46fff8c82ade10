/*
 * input/fwd_auth.h - the forward input's shared-key handshake (Forward
 * Protocol v1, "Handshake Messages"): our HELO with a fresh nonce, the
 * client's PING checked, our PONG. Pure over buffers: the connection and
 * its socket are in_forward.c's.
 */
#ifndef CD_FWD_AUTH_H
#define CD_FWD_AUTH_H

#include <stddef.h>
#include <stdint.h>

/*
 * fwd_auth_helo() - a fresh nonce (32 hex digits) into nonce[33] and our
 * HELO asking for it into out[0..cap). Return: the HELO's bytes, 0 when
 * no random bytes or no room.
 */
size_t fwd_auth_helo(char nonce[33], uint8_t *out, size_t cap);

/*
 * fwd_auth_pong() - the client's PING, frame f[0..n) (fwd_scan()'s
 * length), checked: its digest must be SHA-512(salt, its hostname,
 * @nonce, @key). Our PONG (true with our digest over @hostname, or false
 * with the reason) goes into out[0..cap).
 * Return: the PONG's bytes (0: no room); *@ok is 1 (the key proved), 0
 * (a wrong key) or -1 (not a PING: nothing written).
 */
size_t fwd_auth_pong(const uint8_t *f, size_t n, const char *nonce, const char *key, const char *hostname,
		     uint8_t *out, size_t cap, int *ok);

#endif
