/*
 * util/tls_server.c - TLS for an input's accepted connections (OpenSSL):
 * one context per input (its certificate and key), one session per
 * connection, read and written like the non-blocking socket under it
 * (see tls_server.h).
 *
 * DESIGN: the handshake is not a step of its own: the session is in
 * accept state and the first reads run it, so an input keeps its one
 * read path. A read or write that needs the socket in the other direction
 * (a handshake message, a renegotiation) reports EAGAIN like a socket
 * would: the connection's next readiness goes on with it.
 */
#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/tls_server.h"
#include "util/banned.h"

struct tls_server {
	SSL_CTX *ctx;
};

struct tls_conn {
	SSL *ssl;
};

/* The first OpenSSL error queued, as text (the queue emptied). */
static const char *ssl_error(char *buf, size_t cap)
{
	unsigned long e = ERR_get_error();

	if (!e)
		return "no detail";
	ERR_error_string_n(e, buf, cap);
	ERR_clear_error();
	return buf;
}

int tls_server_new(struct tls_server **out, const char *cert_file, const char *key_file, struct cd_err *err)
{
	struct tls_server *s = calloc(1, sizeof(*s));
	char why[256];

	if (!s)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	s->ctx = SSL_CTX_new(TLS_server_method());
	if (!s->ctx) {
		free(s);
		return cd_err_set(err, -CD_ENOMEM, 0, "TLS: %s", ssl_error(why, sizeof(why)));
	}
	SSL_CTX_set_min_proto_version(s->ctx, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate_chain_file(s->ctx, cert_file) != 1) {
		cd_err_set(err, -CD_EINVAL, 0, "cert_file %s: %s", cert_file, ssl_error(why, sizeof(why)));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(s->ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		cd_err_set(err, -CD_EINVAL, 0, "key_file %s: %s", key_file, ssl_error(why, sizeof(why)));
		goto fail;
	}
	if (SSL_CTX_check_private_key(s->ctx) != 1) {
		cd_err_set(err, -CD_EINVAL, 0, "key_file %s does not match cert_file %s", key_file,
			   cert_file);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	SSL_CTX_free(s->ctx);
	free(s);
	return err->code;
}

void tls_server_free(struct tls_server *s)
{
	if (!s)
		return;
	SSL_CTX_free(s->ctx);
	free(s);
}

struct tls_conn *tls_conn_new(struct tls_server *s, int fd)
{
	struct tls_conn *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ssl = SSL_new(s->ctx);
	if (!t->ssl || SSL_set_fd(t->ssl, fd) != 1) {
		SSL_free(t->ssl);
		free(t);
		ERR_clear_error();
		return NULL;
	}
	SSL_set_accept_state(t->ssl);
	return t;
}

/* What an SSL_read/SSL_write result @n means, as read(2)/send(2) would say it. */
static ssize_t result(struct tls_conn *t, int n)
{
	switch (SSL_get_error(t->ssl, n)) {
	case SSL_ERROR_NONE:
		return n;
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0; /* close_notify: the peer's EOF */
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		if (errno == 0)
			return 0; /* EOF without close_notify */
		return -1;
	default:
		/* a failed handshake (a plain TCP client, a bad certificate) or a protocol error */
		ERR_clear_error();
		errno = EPROTO;
		return -1;
	}
}

ssize_t tls_conn_read(struct tls_conn *t, void *buf, size_t n)
{
	int r;

	errno = 0;
	r = SSL_read(t->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
	return result(t, r);
}

ssize_t tls_conn_write(struct tls_conn *t, const void *buf, size_t n)
{
	int r;

	errno = 0;
	r = SSL_write(t->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
	return result(t, r);
}

void tls_conn_free(struct tls_conn *t)
{
	if (!t)
		return;
	SSL_free(t->ssl);
	free(t);
}
