/*
 * input/fwd_auth.c - the forward input's shared-key handshake: HELO,
 * PING checked, PONG (see fwd_auth.h). The messages' msgpack is
 * fwd_decode.c's; the digests are OpenSSL's SHA-512.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "input/fwd_auth.h"
#include "input/fwd_decode.h"
#include "util/banned.h"

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

size_t fwd_auth_helo(char nonce[33], uint8_t *out, size_t cap)
{
	unsigned char rnd[16];

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return 0;
	for (unsigned i = 0; i < sizeof(rnd); i++)
		snprintf(nonce + 2 * i, 3, "%02x", rnd[i]);
	return fwd_helo(nonce, 32, out, cap);
}

size_t fwd_auth_pong(const uint8_t *f, size_t n, const char *nonce, const char *key, const char *hostname,
		     uint8_t *out, size_t cap, int *ok)
{
	struct fwd_ping ping;
	char want[129], ours[129];

	if (fwd_ping_parse(f, n, &ping) < 0) {
		*ok = -1;
		return 0;
	}
	sha512_hex((struct fwd_str[]){ping.salt, ping.hostname, fstr(nonce), fstr(key)}, 4, want);
	*ok = want[0] && ping.digest.n == 128 && memcmp(ping.digest.p, want, 128) == 0;
	sha512_hex((struct fwd_str[]){ping.salt, fstr(hostname), fstr(nonce), fstr(key)}, 4, ours);
	return fwd_pong(*ok, *ok ? "" : "shared_key mismatch", hostname, *ok ? ours : "", out, cap);
}
