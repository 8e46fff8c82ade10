/*
 * svc.h - the small HTTP service frame the example services share.
 *
 * A service is a handler function. The frame serves it with libmicrohttpd
 * on 127.0.0.1 (one thread per connection, so a handler may block on its
 * downstream call), and wraps every request in libclew's instrumentation:
 * the incoming headers are extracted (W3C traceparent/tracestate, B3,
 * X-Request-ID), clew_request_begin() makes the request this thread's
 * context, the handler runs, a closing record carries status and dur_us,
 * and clew_request_end() forgets the request. svc_post() is the client
 * side: a span around the call and the thread's context injected into the
 * outgoing libcurl request's headers.
 *
 * Examples, not a library: limits are small and fixed, errors go to the
 * service's own log.
 */
#ifndef CLEW_EXAMPLES_SVC_H
#define CLEW_EXAMPLES_SVC_H

#include <stddef.h>
#include <stdint.h>

#include "clew/clew.h"

/* Largest request body accepted (a checkout, a W3C test list); larger ones get 413. */
#define SVC_BODY_MAX (64 * 1024)
/* Largest reply body a handler writes, and largest downstream reply kept. */
#define SVC_REPLY_MAX 4096
/* Most request headers looked at for the trace context; real requests carry a dozen. */
#define SVC_HEADERS_MAX 64

/* One request, as the handler sees it. Everything is valid during the handler only. */
struct svc_request {
	const char *method; /* "GET", "POST", ... */
	const char *url;    /* the path, without the query string */
	const char *body;   /* NUL-terminated; "" when none */
	size_t body_len;    /* bytes at body */
};

/* The handler's answer: an HTTP status and a JSON body (NUL-terminated). */
struct svc_reply {
	unsigned status;
	char body[SVC_REPLY_MAX];
};

/*
 * A handler. It runs with the request as the thread's libclew context
 * (the NDC is "trace:caller:ours" or "trace:ours"), so its records and
 * downstream calls belong to the request. @rp is preset to 404 and "{}".
 */
typedef void (*svc_handler)(void *cookie, const struct svc_request *rq, struct svc_reply *rp);

/*
 * svc_run() - serve @h on 127.0.0.1:@port (0: a free port the kernel
 * picks) until SIGTERM or SIGINT, then stop (in-flight requests finish)
 * and return. Records go to @c. When @port_file is not NULL, the port
 * listened on is written there (atomically, by rename) once the server
 * accepts connections: a script starts a service on port 0 and waits for
 * the file.
 * Return: 0, or -1 when the server cannot start (logged to @c).
 */
int svc_run(clew_client *c, unsigned port, const char *port_file, svc_handler h, void *cookie);

/* A downstream reply. */
struct svc_call {
	long status;		  /* HTTP status; 0 when the call failed */
	char body[SVC_REPLY_MAX]; /* NUL-terminated, cut at SVC_REPLY_MAX - 1 */
	size_t body_len;	  /* bytes in body */
	int64_t dur_us;		  /* how long the call took */
};

/*
 * svc_post() - POST @body (JSON, @len bytes) to @url, inside a span named
 * @name (a child of the current one), with the thread's context injected
 * as @styles headers (CLEW_PROP_*). The span's records say where the call
 * went and how it ended.
 * Return: 0 when an HTTP reply came (any status), -1 when none did
 * (refused, timeout; logged to @c).
 */
int svc_post(clew_client *c, const char *name, const char *url, const char *body, size_t len, unsigned styles,
	     struct svc_call *out);

/* svc_now_us() - CLOCK_MONOTONIC in microseconds, for durations. */
int64_t svc_now_us(void);

/*
 * svc_parse_port() - @s as a TCP port 0..65535 (0: any free one).
 * Return: the port, or -1 when @s is not one.
 */
int svc_parse_port(const char *s);

/* What every example service takes on its command line. */
struct svc_args {
	int port;		/* --port N: 0..65535 (0: any free one); required */
	const char *port_file;	/* --port-file PATH, or NULL */
	const char *downstream; /* --DOWNSTREAM URL; set the default before the call */
};

/*
 * svc_parse_args() - parse --port, --port-file, --help and, when
 * @downstream is not NULL, --@downstream URL into @a. @usage is the
 * service's help text, printed for --help (stdout) or a usage error (stderr).
 * Return: 0 to run, 1 after --help (exit 0), -1 after a usage error (exit 2).
 */
int svc_parse_args(int argc, char **argv, const char *usage, const char *downstream, struct svc_args *a);

/*
 * svc_client() - a libclew client configured by the environment (CLEW_FORMAT,
 * CLEW_OUTPUT, CLEW_LEVEL; CLEW_SERVICE, else @service).
 * Return: the client, or NULL (the reason went to stderr).
 */
clew_client *svc_client(const char *service);

#endif
