/*
 * input/fwd_encode.c - the Forward Protocol v1 messages the server writes
 * (see fwd_decode.h): the ack {"ack": chunk} and the handshake's HELO and
 * PONG. Plain msgpack writers into a caller's buffer, apart from the
 * decoder because they need none of its tokenizer.
 */
#include <string.h>

#include "input/fwd_decode.h"
#include "util/banned.h"

size_t fwd_ack(const char *chunk, uint32_t chunk_len, uint8_t *out, size_t cap)
{
	size_t h = chunk_len < 32	 ? 1
		   : chunk_len <= 0xff	 ? 2
		   : chunk_len <= 0xffff ? 3
					 : 5,
	       n = 5 + h + chunk_len;

	if (n > cap)
		return 0;
	memcpy(out,
	       "\x81\xa3"
	       "ack",
	       5);
	if (h == 1) {
		out[5] = (uint8_t)(0xa0 | chunk_len);
	} else {
		out[5] = h == 2 ? 0xd9 : h == 3 ? 0xda : 0xdb;
		for (size_t i = 0; i < h - 1; i++)
			out[6 + i] = (uint8_t)(chunk_len >> (8 * (h - 2 - i)));
	}
	memcpy(out + 5 + h, chunk, chunk_len);
	return n;
}

/* A msgpack str header for @n bytes at @out. Return: its length. */
static size_t str_hdr(uint8_t *out, size_t n)
{
	if (n < 32) {
		out[0] = (uint8_t)(0xa0 | n);
		return 1;
	}
	out[0] = 0xd9;
	out[1] = (uint8_t)n;
	return 2;
}

size_t fwd_helo(const char *nonce, size_t nonce_len, uint8_t *out, size_t cap)
{
	/* ["HELO", {"nonce": NONCE, "auth": "", "keepalive": true}]: no user authentication */
	static const uint8_t head[] = "\x92\xa4HELO\x83\xa5nonce";
	static const uint8_t tail[] = "\xa4"
				      "auth\xa0\xa9keepalive\xc3";
	size_t n = sizeof(head) - 1 + 2 + nonce_len + sizeof(tail) - 1, k = 0;

	if (nonce_len > 255 || n > cap)
		return 0;
	memcpy(out, head, sizeof(head) - 1);
	k = sizeof(head) - 1;
	k += str_hdr(out + k, nonce_len);
	memcpy(out + k, nonce, nonce_len);
	k += nonce_len;
	memcpy(out + k, tail, sizeof(tail) - 1);
	return k + sizeof(tail) - 1;
}

size_t fwd_pong(bool ok, const char *reason, const char *hostname, const char *digest, uint8_t *out,
		size_t cap)
{
	/* ["PONG", ok, reason, hostname, digest] */
	size_t rn = strlen(reason), hn = strlen(hostname), dn = strlen(digest), k = 0;

	if (rn > 255 || hn > 255 || dn > 255 || 8 + 6 + rn + hn + dn > cap)
		return 0;
	memcpy(out, "\x95\xa4PONG", 6);
	k = 6;
	out[k++] = ok ? 0xc3 : 0xc2;
	k += str_hdr(out + k, rn);
	memcpy(out + k, reason, rn);
	k += rn;
	k += str_hdr(out + k, hn);
	memcpy(out + k, hostname, hn);
	k += hn;
	k += str_hdr(out + k, dn);
	memcpy(out + k, digest, dn);
	return k + dn;
}
