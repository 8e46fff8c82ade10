/*
 * svc.c - the HTTP frame of the example services: libmicrohttpd in, libcurl
 * out, libclew around both (see svc.h).
 *
 * Shutdown: SIGTERM and SIGINT are blocked in every thread before the
 * server starts (its threads inherit the mask), and the main thread waits
 * for them with sigwait(). So no handler runs in signal context and the
 * stop is an ordinary MHD_stop_daemon(), which lets in-flight requests end.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "svc.h"

/* How long a downstream call may take before it counts as failed. */
#define SVC_CALL_TIMEOUT_MS 10000L

/* The server: what every connection's callback needs. */
struct server {
	clew_client *c;
	svc_handler h;
	void *cookie;
};

/* One connection's request body, collected across the upload calls. */
struct upload {
	char *buf;
	size_t len, cap;
	int too_large; /* more than SVC_BODY_MAX came: the reply is 413 */
};

/* The request's headers, as views for clew_extract(). */
struct headers {
	struct clew_header h[SVC_HEADERS_MAX];
	size_t n;
};

int64_t svc_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int svc_parse_port(const char *s)
{
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 65535)
		return -1;
	return (int)v;
}

int svc_parse_args(int argc, char **argv, const char *usage, const char *downstream, struct svc_args *a)
{
	const struct option longopts[] = {
		{"port", required_argument, NULL, 'p'},
		{"port-file", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{downstream ? downstream : "help", downstream ? required_argument : no_argument, NULL,
		 downstream ? 'd' : 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt;

	a->port = -1;
	while ((opt = getopt_long(argc, argv, "f:p:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			a->port = svc_parse_port(optarg);
			break;
		case 'f':
			a->port_file = optarg;
			break;
		case 'd':
			a->downstream = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		default:
			fputs(usage, stderr);
			return -1;
		}
	}
	if (a->port < 0 || optind != argc) {
		fputs(usage, stderr);
		return -1;
	}
	return 0;
}

/* Write @port to @path through a temporary file and rename(), so a reader never sees half of it. */
static int write_port_file(const char *path, unsigned port)
{
	char tmp[4096];
	FILE *f;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -1;
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%u\n", port);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void diag(void *cookie, int level, const char *msg)
{
	(void)cookie;
	fprintf(stderr, "clew %s: %s\n", clew_level_name(level), msg);
}

clew_client *svc_client(const char *service)
{
	struct clew_options o;
	clew_client *c = NULL;
	int rc;

	clew_options_default(&o);
	/* The code names the service, unless the environment does (CLEW_SERVICE). */
	o.service = getenv("CLEW_SERVICE") ? NULL : service;
	o.on_diag = diag;
	rc = clew_client_new(&c, &o);
	if (rc < 0) {
		fprintf(stderr, "%s: libclew: %s\n", service, clew_strerror(rc));
		return NULL;
	}
	return c;
}

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct headers *hs = cls;

	(void)kind;
	if (hs->n < SVC_HEADERS_MAX && key && value) {
		hs->h[hs->n] = (struct clew_header){key, strlen(key), value, strlen(value)};
		hs->n++;
	}
	return MHD_YES;
}

static int reply(struct MHD_Connection *conn, const struct svc_reply *rp)
{
	struct MHD_Response *r;
	int ok;

	r = MHD_create_response_from_buffer(strlen(rp->body), (void *)(uintptr_t)rp->body,
					    MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	ok = MHD_queue_response(conn, rp->status, r);
	MHD_destroy_response(r);
	return ok;
}

/*
 * The instrumentation middleware: everything libclew does for an incoming
 * request, around the service's handler.
 */
static void serve(struct server *s, struct MHD_Connection *conn, const struct svc_request *rq,
		  struct svc_reply *rp)
{
	struct headers hs = {.n = 0};
	struct clew_propagation in;
	int64_t t0 = svc_now_us(), dur;
	int level;

	MHD_get_connection_values(conn, MHD_HEADER_KIND, add_header, &hs);
	/* No valid context in the headers (-CLEW_ENOENT): in.source is NONE, a new trace starts. */
	(void)clew_extract(hs.h, hs.n, &in);
	clew_request_begin(s->c, &in, rq->method, rq->url);

	rp->status = 404;
	snprintf(rp->body, sizeof(rp->body), "{\"error\":\"not found\"}");
	s->h(s->cookie, rq, rp);

	dur = svc_now_us() - t0;
	level = rp->status >= 500 ? CLEW_LEVEL_ERROR : rp->status >= 400 ? CLEW_LEVEL_WARN : CLEW_LEVEL_INFO;
	CLEW_LOG(s->c, level,
		 CLEW_KV(CLEW_INT("status", rp->status), CLEW_INT("dur_us", dur),
			 CLEW_STR("propagation", in.source == CLEW_PROP_W3C	     ? "w3c"
						 : in.source == CLEW_PROP_B3	     ? "b3"
						 : in.source == CLEW_PROP_B3_MULTI   ? "b3-multi"
						 : in.source == CLEW_PROP_REQUEST_ID ? "x-request-id"
										     : "none")),
		 "%s %s -> %u", rq->method, rq->url, rp->status);
	clew_request_end(s->c);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct server *s = cls;
	struct upload *up = *con_cls;
	struct svc_request rq;
	struct svc_reply rp;

	(void)version;
	if (!up) {
		/* First call: only the headers are there. */
		up = calloc(1, sizeof(*up));
		if (!up)
			return MHD_NO;
		*con_cls = up;
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (up->too_large || up->len + n > SVC_BODY_MAX) {
			up->too_large = 1;
			return MHD_YES;
		}
		if (up->len + n + 1 > up->cap) {
			size_t cap = (up->len + n + 1) * 2;
			char *p = realloc(up->buf, cap);

			if (!p)
				return MHD_NO;
			up->buf = p;
			up->cap = cap;
		}
		memcpy(up->buf + up->len, upload_data, n);
		up->len += n;
		up->buf[up->len] = '\0';
		return MHD_YES;
	}
	if (up->too_large) {
		rp.status = 413;
		snprintf(rp.body, sizeof(rp.body), "{\"error\":\"body larger than %d bytes\"}", SVC_BODY_MAX);
		return reply(conn, &rp);
	}
	rq = (struct svc_request){method, url, up->buf ? up->buf : "", up->len};
	serve(s, conn, &rq, &rp);
	return reply(conn, &rp);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct upload *up = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (up) {
		free(up->buf);
		free(up);
		*con_cls = NULL;
	}
}

int svc_run(clew_client *c, unsigned port, const char *port_file, svc_handler h, void *cookie)
{
	const union MHD_DaemonInfo *info;
	struct server s = {c, h, cookie};
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct MHD_Daemon *d;
	sigset_t set;
	int sig = 0;

	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* loopback only: these are examples */

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port,
			     NULL, NULL, on_request, &s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
			     MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
			     (unsigned)30, MHD_OPTION_END);
	if (!d) {
		CLEW_LOG(c, CLEW_LEVEL_FATAL, CLEW_KV(CLEW_INT("port", port)),
			 "cannot listen on 127.0.0.1:%u", port);
		return -1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (info && info->port)
		port = info->port;
	if (port_file && write_port_file(port_file, port) < 0)
		CLEW_LOG(c, CLEW_LEVEL_ERROR, CLEW_KV(CLEW_STR("port_file", port_file)),
			 "cannot write the port file");
	CLEW_LOG(c, CLEW_LEVEL_INFO, CLEW_KV(CLEW_INT("port", port)), "listening on 127.0.0.1:%u", port);

	while (sigwait(&set, &sig) != 0)
		;
	CLEW_LOG(c, CLEW_LEVEL_INFO, CLEW_KV(CLEW_STR("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT")),
		 "stopping");
	MHD_stop_daemon(d);
	CLEW_LOG(c, CLEW_LEVEL_INFO, CLEW_NOKV, "stopped");
	return 0;
}

/* libcurl write callback: keep what fits in the svc_call. */
static size_t on_body(char *p, size_t size, size_t nmemb, void *cls)
{
	struct svc_call *out = cls;
	size_t n = size * nmemb, room = sizeof(out->body) - 1 - out->body_len;

	memcpy(out->body + out->body_len, p, n < room ? n : room);
	out->body_len += n < room ? n : room;
	out->body[out->body_len] = '\0';
	return n;
}

/* Make the curl header list of the thread's context, as @styles headers. */
static struct curl_slist *context_headers(clew_client *c, unsigned styles)
{
	struct clew_propagation p;
	struct clew_header h[8];
	char buf[2048], line[1024];
	struct curl_slist *list = NULL, *l;
	size_t n = 0;
	int rc;

	list = curl_slist_append(NULL, "Content-Type: application/json");
	if (!list)
		return NULL;
	if (clew_context_propagation(&p) < 0)
		return list;
	rc = clew_inject(&p, styles, h, sizeof(h) / sizeof(h[0]), &n, buf, sizeof(buf));
	if (rc < 0) {
		CLEW_LOG(c, CLEW_LEVEL_WARN, CLEW_NOKV, "cannot inject the context: %s", clew_strerror(rc));
		return list;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "%.*s: %.*s", (int)h[i].name_len, h[i].name, (int)h[i].value_len,
			 h[i].value);
		l = curl_slist_append(list, line);
		if (!l)
			break;
		list = l;
	}
	return list;
}

int svc_post(clew_client *c, const char *name, const char *url, const char *body, size_t len, unsigned styles,
	     struct svc_call *out)
{
	char err[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs;
	struct clew_span sp;
	CURLcode cc;
	CURL *e;
	int64_t t0;
	int rc = 0;

	out->status = 0;
	out->body[0] = '\0';
	out->body_len = 0;
	out->dur_us = 0;

	/*
	 * The call is a span, a child of the request's: its ID is pushed on
	 * the NDC, so the headers carry it as the parent of the downstream's
	 * work, and its record (event=span) gives the call's duration. The
	 * records in between name it as their span.
	 */
	if (clew_span_start(c, &sp, name) < 0)
		return -1;
	clew_span_set(&sp, CLEW_KV(CLEW_STR("url", url)));

	hdrs = context_headers(c, styles);
	e = curl_easy_init();
	if (!e || !hdrs) {
		CLEW_LOG(c, CLEW_LEVEL_ERROR, CLEW_KV(CLEW_STR("call", name), CLEW_STR("url", url)),
			 "cannot set up the call");
		curl_slist_free_all(hdrs);
		curl_easy_cleanup(e);
		clew_span_set_status(&sp, CLEW_STATUS_ERROR);
		clew_span_end(c, &sp);
		return -1;
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, SVC_CALL_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for timeouts */
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");

	CLEW_LOG(c, CLEW_LEVEL_DEBUG, CLEW_KV(CLEW_STR("url", url)), "calling %s", name);
	t0 = svc_now_us();
	cc = curl_easy_perform(e);
	out->dur_us = svc_now_us() - t0;
	if (cc == CURLE_OK) {
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &out->status);
		clew_span_set(&sp, CLEW_KV(CLEW_INT("http_status", out->status)));
		clew_span_set_status(&sp, out->status >= 500 ? CLEW_STATUS_ERROR : CLEW_STATUS_OK);
	} else {
		CLEW_LOG(c, CLEW_LEVEL_ERROR,
			 CLEW_KV(CLEW_STR("call", name), CLEW_STR("url", url),
				 CLEW_INT("dur_us", out->dur_us)),
			 "%s failed: %s", name, err[0] ? err : curl_easy_strerror(cc));
		clew_span_set_status(&sp, CLEW_STATUS_ERROR);
		rc = -1;
	}
	curl_easy_cleanup(e);
	curl_slist_free_all(hdrs);
	clew_span_end(c, &sp);
	return rc;
}
