/*
 * input/http_body.h - what the inputs that take POSTed bodies on
 * libmicrohttpd (http, otlp) share: the request's body read whole into
 * memory up to a cap, its gzip decoding, the checks that can be made on
 * the headers, the client's name, and the answer with the headers a
 * refusal carries (Allow, Retry-After).
 */
#ifndef CD_HTTP_BODY_H
#define CD_HTTP_BODY_H

#include <stdbool.h>
#include <stddef.h>

#include "httpd.h"

/* A request's body as it comes. */
struct http_body {
	char *buf;    /* what was received (malloc'd) */
	size_t len;   /* bytes in buf */
	size_t cap;   /* allocated */
	bool too_big; /* past CD_HTTP_BODY_MAX: the rest is read and dropped, then 413 */
	bool gzip;    /* Content-Encoding: gzip */
};

/*
 * http_body_headers() - check Content-Encoding (gzip or identity) and
 * Content-Length (at most CD_HTTP_BODY_MAX) of @c's request; b->gzip set.
 * Return: 0, 413 or 415.
 */
unsigned http_body_headers(struct MHD_Connection *c, struct http_body *b);

/*
 * http_body_take() - a piece of the upload: appended, or, past the cap,
 * the body is dropped and too_big set (MHD cannot answer mid-body).
 */
void http_body_take(struct http_body *b, const char *p, size_t n);

/* http_body_gunzip() - decode b's gzip body (concatenated members too) in place. Return: 0, 400 or 413. */
unsigned http_body_gunzip(struct http_body *b);

/* http_body_free() - free the body's buffer. */
void http_body_free(struct http_body *b);

/* http_peer_name() - "@scheme:ADDR:PORT" of the client of @c (just @scheme when unknown). */
void http_peer_name(struct MHD_Connection *c, const char *scheme, char *out, size_t cap);

/* Headers of http_reply(). */
enum {
	HTTP_ALLOW_POST = 1u << 0,  /* Allow: POST (with a 405) */
	HTTP_RETRY_AFTER = 1u << 1, /* Retry-After: 1 (with a 429 or 503) */
};

/*
 * http_reply() - queue a response of @status with @len bytes of @body
 * (copied; none when @len is 0) of @type (may be NULL), and @hdrs.
 */
enum MHD_Result http_reply(struct MHD_Connection *c, unsigned status, const char *type, const void *body,
			   size_t len, unsigned hdrs);

#endif
