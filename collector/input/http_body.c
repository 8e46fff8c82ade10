/*
 * input/http_body.c - request bodies and answers of the inputs that take
 * POSTs (in_http.c, in_otlp.c): see http_body.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <zlib.h>

#include "cd_limits.h"
#include "input/http_body.h"
#include "util/util.h"
#include "util/banned.h"

unsigned http_body_headers(struct MHD_Connection *c, struct http_body *b)
{
	const char *enc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
	const char *clen = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	uint64_t n;

	if (enc && strcasecmp(enc, "gzip") != 0 && strcasecmp(enc, "identity") != 0)
		return 415;
	if (clen && (cd_parse_u64(clen, UINT64_MAX, &n) < 0 || n > CD_HTTP_BODY_MAX))
		return 413;
	b->gzip = enc && strcasecmp(enc, "gzip") == 0;
	return 0;
}

/* Append @n bytes to @b, growing it up to CD_HTTP_BODY_MAX. Return: false past the cap or OOM. */
static bool body_add(struct http_body *b, const char *p, size_t n)
{
	if (n == 0)
		return true; /* an empty gzip member, an empty piece: no memcpy() to a NULL buffer */
	if (n > CD_HTTP_BODY_MAX - b->len)
		return false;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 16 * 1024;
		char *nb;
		while (cap < b->len + n)
			cap *= 2;
		if (cap > CD_HTTP_BODY_MAX)
			cap = CD_HTTP_BODY_MAX;
		nb = realloc(b->buf, cap);
		if (!nb)
			return false;
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
	return true;
}

void http_body_take(struct http_body *b, const char *p, size_t n)
{
	if (!b->too_big && !body_add(b, p, n)) {
		b->too_big = true;
		free(b->buf);
		b->buf = NULL;
		b->len = b->cap = 0;
	}
}

unsigned http_body_gunzip(struct http_body *b)
{
	struct http_body out = {NULL, 0, 0, false, false};
	unsigned a = 0;
	char buf[16384];
	z_stream z;
	int zr = Z_OK;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return 400;
	z.next_in = (Bytef *)b->buf;
	z.avail_in = (uInt)b->len;
	while (a == 0) {
		z.next_out = (Bytef *)buf;
		z.avail_out = sizeof(buf);
		zr = inflate(&z, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
			a = 400;
			break;
		}
		if (!body_add(&out, buf, sizeof(buf) - z.avail_out)) {
			a = 413;
			break;
		}
		if (zr == Z_STREAM_END) {
			if (z.avail_in == 0)
				break;
			inflateReset(&z); /* another gzip member follows */
		} else if (zr == Z_BUF_ERROR || (z.avail_in == 0 && z.avail_out != 0)) {
			a = 400; /* input ended inside a member */
		}
	}
	inflateEnd(&z);
	if (a) {
		free(out.buf);
		return a;
	}
	free(b->buf);
	b->buf = out.buf;
	b->len = out.len;
	b->cap = out.cap;
	return 0;
}

void http_body_free(struct http_body *b)
{
	free(b->buf);
	b->buf = NULL;
	b->len = b->cap = 0;
}

void http_peer_name(struct MHD_Connection *c, const char *scheme, char *out, size_t cap)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char host[INET6_ADDRSTRLEN];

	snprintf(out, cap, "%s", scheme);
	if (!ci || !ci->client_addr)
		return;
	if (ci->client_addr->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)ci->client_addr;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(out, cap, "%s:%s:%u", scheme, host, (unsigned)ntohs(a->sin_port));
	} else if (ci->client_addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)ci->client_addr;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(out, cap, "%s:[%s]:%u", scheme, host, (unsigned)ntohs(a->sin6_port));
	}
}

enum MHD_Result http_reply(struct MHD_Connection *c, unsigned status, const char *type, const void *body,
			   size_t len, unsigned hdrs)
{
	union {
		const void *c;
		void *v;
	} b = {.c = len ? body : ""}; /* MHD's old API takes void *; MUST_COPY never writes through it */
	struct MHD_Response *r = MHD_create_response_from_buffer(len, b.v, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	if (type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (hdrs & HTTP_ALLOW_POST)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "POST");
	if (hdrs & HTTP_RETRY_AFTER)
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}
