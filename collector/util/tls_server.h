/*
 * util/tls_server.h - TLS on an input's accepted connections (util/tls_server.c):
 * a server context from a certificate and key, and sessions read and
 * written with the semantics of read(2) and send(2) on a non-blocking
 * socket (-1 with errno EAGAIN: try at the next readiness; 0: EOF).
 */
#ifndef CD_TLS_SERVER_H
#define CD_TLS_SERVER_H

#include <stddef.h>
#include <sys/types.h>

#include <store/err.h>

struct tls_server;
struct tls_conn;

/* tls_server_new() - a context serving @cert_file (PEM chain) with @key_file. Return: 0 or -CD_EINVAL with @err. */
int tls_server_new(struct tls_server **out, const char *cert_file, const char *key_file, struct cd_err *err);
void tls_server_free(struct tls_server *s);

/* tls_conn_new() - a session on the accepted, non-blocking @fd (not owned). Return: NULL when out of memory. */
struct tls_conn *tls_conn_new(struct tls_server *s, int fd);
/* tls_conn_read() - as read(2); a failed handshake is -1 with errno EPROTO. */
ssize_t tls_conn_read(struct tls_conn *t, void *buf, size_t n);
/* tls_conn_write() - as send(2). */
ssize_t tls_conn_write(struct tls_conn *t, const void *buf, size_t n);
void tls_conn_free(struct tls_conn *t);

#endif
