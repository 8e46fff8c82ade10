/*
 * httpd.h - an HTTP server on clewd's event loop (libmicrohttpd), for
 * the operations endpoint (/health, /metrics) and the HTTP input.
 *
 * libmicrohttpd runs without threads of its own here: its epoll fd is
 * watched by the pipeline and MHD_run() is called when it is readable,
 * so handlers run on the loop thread and may touch the pipeline freely.
 */
#ifndef CD_HTTPD_H
#define CD_HTTPD_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include <store/err.h>

struct pipeline;
struct cd_httpd;

/*
 * cd_httpd_start() - serve @addr (util/net.h syntax; port 0 = a free
 * one) with @handler(@cls, ...) on @pl's loop.
 * Return: 0 with *out set, or -CD_EINVAL / -CD_EIO with @err.
 */
int cd_httpd_start(struct cd_httpd **out, struct pipeline *pl, const char *addr,
		   MHD_AccessHandlerCallback handler, void *cls, struct cd_err *err);

/* Settings of cd_httpd_start_opts(); zero fields keep libmicrohttpd's defaults. */
struct cd_httpd_opts {
	unsigned max_connections;		/* open connections at most (MHD_OPTION_CONNECTION_LIMIT) */
	MHD_RequestCompletedCallback completed; /* called when a request ends, however (frees its context) */
	void *completed_cls;			/* passed to completed */
	int kept_fd; /* > 0: serve this listening socket (a reload's, input/handoff.h; taken) instead of binding */
	size_t memory_limit; /* a connection's memory for its request line and headers (0: MHD's 32 KiB) */
};

/* cd_httpd_start_opts() - cd_httpd_start() with @o (may be NULL). */
int cd_httpd_start_opts(struct cd_httpd **out, struct pipeline *pl, const char *addr,
			MHD_AccessHandlerCallback handler, void *cls, const struct cd_httpd_opts *o,
			struct cd_err *err);

/*
 * cd_httpd_quiesce() - stop accepting (MHD_quiesce_daemon()): the requests
 * under way go on until cd_httpd_stop(); the listening socket is the
 * caller's from now on (a reload hands it to the new server).
 * Return: the listening fd, or -1 (none).
 */
int cd_httpd_quiesce(struct cd_httpd *h);

/*
 * cd_httpd_run() - let MHD go on with work it has buffered (a request body
 * larger than its buffer is read a piece per run, and nothing wakes the
 * loop for what MHD already read). A server that takes large bodies calls
 * it from its input's tick(). Return: true when more is pending now.
 */
bool cd_httpd_run(struct cd_httpd *h);

/*
 * cd_httpd_resume() - resume @c (suspended by its handler with
 * MHD_suspend_connection() while its answer was not known): MHD calls
 * the handler again on the loop's next turn, whatever the backpressure.
 */
void cd_httpd_resume(struct cd_httpd *h, struct MHD_Connection *c);

/* cd_httpd_port() - the TCP port served (0 for a unix socket). */
uint16_t cd_httpd_port(const struct cd_httpd *h);

/* cd_httpd_stop() - close every connection and the socket; NULL is a no-op. */
void cd_httpd_stop(struct cd_httpd *h);

/* cd_httpd_reply() - queue a response of @status with a copy of @body as @type. */
enum MHD_Result cd_httpd_reply(struct MHD_Connection *c, unsigned status, const char *type, const char *body,
			       size_t len);

#endif
