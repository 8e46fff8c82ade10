/*
 * output/http_client.h - the HTTP client every HTTP output shares
 * (logstash+http, influxdb): one libcurl multi handle per output, its
 * requests' fixed settings (URL, headers, basic or Authorization-header
 * auth, TLS with CA file, client certificate and insecure mode,
 * timeouts, TCP keepalive, connection reuse), gzip of request bodies,
 * and each answer (status, error text) handed back to the output.
 *
 * DESIGN: the client never blocks and owns no fd on the loop: the output
 * calls http_drive() from its poll() (and timers), which runs libcurl's
 * non-blocking progress and calls the output's done callback for each
 * request that ended. What a status means (retry, give up, acknowledge)
 * stays the output's decision. Easy handles are pooled and reused, so
 * connections stay open between requests (keepalive). A body is not
 * copied: it must stay untouched until its request ends.
 */
#ifndef CD_OUTPUT_HTTP_CLIENT_H
#define CD_OUTPUT_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <store/err.h>

/* What every request of one client has in common (strings are copied). */
struct http_conf {
	const char *url;	     /* http(s)://... (required) */
	const char *content_type;    /* the Content-Type header's value (required) */
	const char *user;	     /* basic auth, or NULL */
	const char *password;	     /* its password (NULL: empty) */
	const char *authorization;   /* the Authorization header's value ("Bearer T", "Token T"), or NULL */
	const char *ca_file;	     /* CA bundle to verify the server with, or NULL: the system's */
	const char *cert_file;	     /* client certificate (PEM), or NULL */
	const char *key_file;	     /* its key (PEM), with cert_file */
	bool insecure;		     /* do not verify the server's certificate nor name */
	bool gzip;		     /* bodies are gzip'ed (http_gzip()): Content-Encoding: gzip */
	int gzip_level;		     /* zlib level 1..9 */
	uint64_t timeout_ms;	     /* one request, whole */
	uint64_t connect_timeout_ms; /* its connect */
	unsigned max_conns;	     /* connections kept open (0: libcurl's default) */
	const char *error_header; /* a response header whose value is the error text (else the body's head) */
	const char *const *headers; /* more request headers, "Name: value", NULL-terminated (or NULL) */
};

/* How one request ended. */
struct http_result {
	bool answered;	   /* false: no answer (refused, timeout, reset, TLS): see error */
	const char *error; /* libcurl's message when !answered */
	long status;	   /* the HTTP status when answered */
	const char *text;  /* error_header's value, else the head of the body (NUL-terminated) */
	size_t text_len;   /* its bytes (at most HTTP_TEXT_MAX - 1) */
	long connects;	   /* connections this request opened */
	long retry_after;  /* the answer's Retry-After in seconds (delay or HTTP date), -1 when none */
};

#define HTTP_TEXT_MAX 256

struct http_client;

/* Called by http_drive() for each request that ended; @ctx and @id are http_post()'s. */
typedef void (*http_done_fn)(void *arg, void *ctx, unsigned long id, const struct http_result *r);

/*
 * http_client_new() - a client for @cf whose ended requests go to @done
 * with @arg. Return: 0, -CD_ENOMEM or -CD_EIO with @err.
 */
int http_client_new(struct http_client **out, const struct http_conf *cf, http_done_fn done, void *arg,
		    struct cd_err *err);

/* http_client_free() - requests still running are given up (no callback). NULL is fine. */
void http_client_free(struct http_client *c);

/*
 * http_post() - start POSTing @body (@len bytes, kept by the caller until
 * the request ends) to the client's URL; @ctx and @id come back to the
 * done callback. Return: 0, or -CD_ENOMEM / -CD_EIO with @err (nothing
 * started, no callback).
 */
int http_post(struct http_client *c, const void *body, size_t len, void *ctx, unsigned long id,
	      struct cd_err *err);

/*
 * http_drive() - libcurl's progress, without waiting: sends and reads
 * what the sockets allow, and calls the done callback for each request
 * that ended (it may start new ones).
 */
void http_drive(struct http_client *c);

/*
 * http_perform() - libcurl's progress like http_drive(), but no callback:
 * requests that ended are reported by the next http_drive().
 */
void http_perform(struct http_client *c);

/* http_running() - requests in flight. */
unsigned http_running(const struct http_client *c);

/* http_wait() - wait up to @ms for activity on the requests' sockets (close() only: it blocks). */
void http_wait(struct http_client *c, int ms);

/* http_url() - the client's URL. */
const char *http_url(const struct http_client *c);

/*
 * http_query_add() - "KEY=VALUE" appended to the URL in @url (@cap bytes),
 * VALUE percent-encoded (all but RFC 3986's unreserved characters), after
 * '&' unless the URL ends with '?'. Return: 0 or -CD_ELIMIT (too long).
 */
int http_query_add(char *url, size_t cap, const char *key, const char *val);

/*
 * http_gzip() - @in (@len bytes) as one gzip member (Content-Encoding:
 * gzip) at the client's gzip_level, into the growable buffer at @buf
 * (allocated @cap bytes); @out_len gets its size. Return: 0, or -CD_ENOMEM / -CD_EIO.
 */
int http_gzip(struct http_client *c, const void *in, size_t len, char **buf, size_t *cap, size_t *out_len);

#endif
