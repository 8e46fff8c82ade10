/*
 * output/logstash/out_ls_http.c - logstash+http://[USER:PASS@]HOST:PORT/PATH: one
 * chunk is one POST of newline-delimited Logstash events (Logstash's
 * http input; Content-Type application/x-ndjson, optionally gzip).
 *
 * DESIGN: the shared HTTP client (http_client.h: libcurl multi, auth,
 * TLS, gzip), driven from poll() (every loop turn while a request is
 * out, at least every CD_OUT_POLL_MS): http_drive() never blocks, so the
 * loop is not held by a slow or dead peer; the request's own timeouts
 * bound it. One request is out
 * at a time, oldest chunk first; the connection is kept alive between
 * requests. The answer decides:
 *   2xx            the chunk is acknowledged;
 *   429, 408, 5xx, no answer (connect, timeout, reset), a redirect
 *                  (not followed: it is a configuration error, and
 *                  retrying keeps the events rather than lose them)
 *                  the chunk goes back to the pipeline and is retried
 *                  after its backoff (ls_common.h), younger ones wait;
 *   any other 4xx  (400, 401, 413, ...) the batch would fail the same
 *                  way forever: its records go to the dead-letter files
 *                  (replayed once the cause is fixed), it is logged as an
 *                  error and counted (rejected_total), and *acknowledged*,
 *                  so one poison batch cannot stall everything behind it.
 * In flight: one rendered chunk (and its gzip copy), plus the chunks
 * held by reference.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/http_client.h"
#include "output/lines.h"
#include "output/logstash/ls_common.h"
#include "util/util.h"
#include "util/banned.h"

struct ls_http_conf {
	char url[1024];		     /* http(s)://ADDRESS/PATH */
	const char *user;	     /* basic auth, with password */
	const char *password;	     /* basic auth */
	const char *token;	     /* bearer token */
	const char *ca_file;	     /* CA bundle to verify the server with */
	const char *cert_file;	     /* client certificate (PEM) */
	const char *key_file;	     /* its key */
	bool tls;		     /* https */
	bool insecure;		     /* do not verify the server's certificate */
	bool gzip;		     /* Content-Encoding: gzip */
	uint64_t gzip_level;	     /* 1..9 */
	uint64_t timeout_ms;	     /* one request, whole */
	uint64_t connect_timeout_ms; /* its connect */
};

struct ls_http {
	char *name;		    /* output label (owned) */
	struct ls_http_conf cf;	    /* options (strings borrowed from the configuration) */
	struct http_client *client; /* the shared HTTP client (http_client.h) */
	bool busy;		    /* a request is out for q.it[0] */
	struct ls_queue q;	    /* held chunks */
	struct ls_lines lines;	    /* the rendered oldest chunk */
	char *gz;		    /* its gzip copy */
	size_t gz_len, gz_cap;	    /* bytes used, allocated */
	struct ls_stats st;	    /* counters */
};

static const struct cd_opt_spec http_opts[] = {
	{"address", CD_OPT_HOSTPORT, NULL, "HOST[:PORT] of Logstash's http input (port 8080)", NULL, 0, 0},
	{"path", CD_OPT_STRING, NULL, "the URL path, without its leading slash", NULL, 0, 0},
	{"user", CD_OPT_STRING, NULL, "HTTP basic authentication", NULL, 0, 0},
	{"password", CD_OPT_STRING, NULL, "HTTP basic authentication", NULL, 0, CD_OPT_SECRET},
	{"token", CD_OPT_STRING, NULL, "bearer token (not with user)", NULL, 0, CD_OPT_SECRET},
	{"tls", CD_OPT_BOOL, "false", "https", NULL, 0, 0},
	{"ca_file", CD_OPT_STRING, "the system's", "PEM bundle of the CAs that verify the server", NULL, 0,
	 0},
	{"cert_file", CD_OPT_STRING, NULL, "client certificate (PEM)", NULL, 0, 0},
	{"key_file", CD_OPT_STRING, NULL, "client certificate's key (PEM)", NULL, 0, 0},
	{"insecure", CD_OPT_BOOL, "false", "do not verify the server's certificate (testing only)", NULL, 0,
	 0},
	{"gzip", CD_OPT_BOOL, "false", "Content-Encoding gzip", NULL, 0, 0},
	{"gzip_level", CD_OPT_UINT, "1", "gzip level 1..9", NULL, 9, 0},
	{"timeout", CD_OPT_DURATION, "30s", "one request, whole", NULL, 0, 0},
	{"connect_timeout", CD_OPT_DURATION, "5s", "one connect", NULL, 0, 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

static int http_conf(const struct cd_output_conf *oc, struct ls_http_conf *cf, struct cd_err *err)
{
	const char *path;
	char host[256];
	uint16_t port;
	int rc;

	memset(cf, 0, sizeof(*cf));
	rc = cd_opt_hostport(&oc->opts, "address", 8080, host, sizeof(host), &port, err);
	if (rc == -CD_ENOENT)
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: address HOST[:PORT] is required", oc->name);
	if (rc < 0)
		return rc;
	if ((rc = cd_opt_bool(&oc->opts, "tls", false, &cf->tls, err)) < 0 ||
	    (rc = cd_opt_bool(&oc->opts, "insecure", false, &cf->insecure, err)) < 0 ||
	    (rc = cd_opt_bool(&oc->opts, "gzip", false, &cf->gzip, err)) < 0 ||
	    (rc = cd_opt_u64(&oc->opts, "gzip_level", 1, 9, &cf->gzip_level, err)) < 0 ||
	    (rc = cd_opt_ms(&oc->opts, "timeout", 30000, &cf->timeout_ms, err)) < 0 ||
	    (rc = cd_opt_ms(&oc->opts, "connect_timeout", 5000, &cf->connect_timeout_ms, err)) < 0)
		return rc;
	if (cf->gzip_level == 0 || cf->timeout_ms == 0 || cf->connect_timeout_ms == 0)
		return cd_err_set(err, -CD_EINVAL, 0,
				  "output %s: gzip_level is 1..9, timeouts must be longer than 0", oc->name);
	cf->user = cd_opt_get(&oc->opts, "user");
	cf->password = cd_opt_get(&oc->opts, "password");
	cf->token = cd_opt_get(&oc->opts, "token");
	cf->ca_file = cd_opt_get(&oc->opts, "ca_file");
	cf->cert_file = cd_opt_get(&oc->opts, "cert_file");
	cf->key_file = cd_opt_get(&oc->opts, "key_file");
	if (cf->token && cf->user)
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: user/password or token, not both",
				  oc->name);
	if (cf->password && !cf->user)
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: password without user", oc->name);
	if (cf->token && strpbrk(cf->token, "\r\n"))
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: token: no line breaks allowed", oc->name);
	if (!cf->tls && (cf->ca_file || cf->cert_file || cf->key_file || cf->insecure))
		return cd_err_set(err, -CD_EINVAL, 0,
				  "output %s: ca_file, cert_file, key_file and insecure need tls: true",
				  oc->name);
	if (!!cf->cert_file != !!cf->key_file)
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: cert_file and key_file go together",
				  oc->name);
	path = cd_opt_get(&oc->opts, "path");
	/* HOST and PORT, not the address as given: its default port is Logstash's 8080, not 80 */
	if ((size_t)snprintf(cf->url, sizeof(cf->url), "%s://%s%s%s:%u/%s", cf->tls ? "https" : "http",
			     strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", port,
			     path ? path : "") >= sizeof(cf->url))
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: URL too long", oc->name);
	if (strpbrk(cf->url, " \t\r\n"))
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: no spaces allowed in the URL %s", oc->name,
				  cf->url);
	return 0;
}

static int http_check(const struct cd_output_conf *oc, struct cd_err *err)
{
	struct ls_http_conf cf;

	return http_conf(oc, &cf, err);
}

static int gzip_body(struct ls_http *h, struct cd_err *err)
{
	int rc = http_gzip(h->client, h->lines.out.buf, h->lines.out.len, &h->gz, &h->gz_cap, &h->gz_len);

	if (rc < 0)
		return cd_err_set(err, rc, rc == -CD_ENOMEM ? ENOMEM : 0, "%s",
				  rc == -CD_ENOMEM ? "out of memory" : "gzip failed");
	return 0;
}

/* Post the oldest chunk. Return: false if it could not even start (its outcome is reported). */
static bool http_start(struct ls_http *h)
{
	struct ls_item *it = &h->q.it[0];
	struct cd_err err = {0, 0, ""};
	int rc = ls_render(&h->lines, it, &err);

	if (rc == 1 && h->cf.gzip && gzip_body(h, &err) < 0) {
		h->lines.valid = false;
		rc = err.code;
	}
	if (rc < 0) {
		h->st.errors++;
		ls_queue_done(&h->q, 0, err.code == -CD_ENOMEM ? OUT_RETRY : OUT_FAIL, err.msg);
		return false;
	}
	/* the body stays untouched until the request ends */
	if (http_post(h->client, h->cf.gzip ? h->gz : h->lines.out.buf,
		      h->cf.gzip ? h->gz_len : h->lines.out.len, h, 0, &err) < 0) {
		ls_retry_oldest(h->name, &h->q, &h->st, false, err.msg);
		return false;
	}
	h->busy = true;
	return true;
}

/*
 * The records of @c, which the server refused for good (@status, saying
 * @text): to the dead-letter files (pl_deadletter()). Return: 0, or -1
 * when one cannot be kept (the chunk is retried).
 */
static int deadletter_chunk(struct ls_http *h, const struct chunk *c, long status, const char *text)
{
	static struct fmt_record rec; /* large; the loop is single-threaded */
	struct record_src src;
	struct chunk_iter it;
	char reason[24];

	snprintf(reason, sizeof(reason), "http_%ld", status);
	chunk_iter_init(&it, c);
	while (chunk_iter_next(&it, &rec, &src) == 1)
		if (pl_deadletter(h->q.pl, h->q.idx, src.raw ? NULL : &rec, &src, reason, text) < 0)
			return -1;
	return 0;
}

/* The request for the oldest chunk ended with @r (http_client.h's done callback). */
static void http_finished(void *arg, void *ctx, unsigned long id, const struct http_result *r)
{
	struct ls_http *h = arg;
	struct ls_item *it = &h->q.it[0];
	long status = r->status;
	char why[512];

	(void)ctx;
	(void)id;
	h->busy = false;
	if (r->connects > 0)
		h->st.connects += (uint64_t)r->connects;
	if (!r->answered) {
		ls_retry_oldest(h->name, &h->q, &h->st, false, r->error);
		return;
	}
	if (status >= 200 && status < 300) {
		h->st.events += it->nrecords;
		h->st.bytes += h->lines.out.len;
		h->lines.valid = false;
		ls_queue_done(&h->q, 0, OUT_OK, NULL);
		return;
	}
	snprintf(why, sizeof(why), "HTTP %ld from %.200s%s%.*s", status, h->cf.url, r->text_len ? ": " : "",
		 (int)r->text_len, r->text);
	if (status < 400 || status >= 500 || status == 429 || status == 408) {
		/* 5xx, busy, or a 3xx this output does not follow: retry; the log says why */
		ls_retry_oldest(h->name, &h->q, &h->st, false, why);
		return;
	}
	/* the same batch would get the same answer forever: give it up to the dead-letter files, loudly */
	if (deadletter_chunk(h, it->c, status, why) < 0) {
		ls_retry_oldest(h->name, &h->q, &h->st, false, "a rejected batch cannot be kept");
		return;
	}
	h->st.errors++;
	h->st.rejected += it->nrecords;
	cd_log(FMT_LEVEL_ERROR,
	       "logstash output: batch rejected, given up (its records are in the dead-letter files)",
	       "output", h->name, "error", why, NULL);
	h->lines.valid = false;
	ls_queue_done(&h->q, 0, OUT_OK, NULL);
}

static void http_progress(struct ls_http *h)
{
	for (;;) {
		if (!h->busy) {
			if (!h->q.n || h->q.held)
				return;
			if (!http_start(h))
				continue;
		}
		http_drive(h->client); /* http_finished() clears busy when the request ended */
		if (h->busy)
			return; /* still out: the next poll() goes on */
	}
}

static int http_setup(struct ls_http *h, struct cd_err *err)
{
	struct http_conf hc = {
		.url = h->cf.url,
		.content_type = "application/x-ndjson",
		.user = h->cf.user,
		.password = h->cf.password,
		.ca_file = h->cf.ca_file,
		.cert_file = h->cf.cert_file,
		.key_file = h->cf.key_file,
		.insecure = h->cf.insecure,
		.gzip = h->cf.gzip,
		.gzip_level = (int)h->cf.gzip_level,
		.timeout_ms = h->cf.timeout_ms,
		.connect_timeout_ms = h->cf.connect_timeout_ms,
	};
	char *bearer = NULL;
	int rc;

	if (h->cf.token) {
		size_t n = strlen(h->cf.token) + sizeof("Bearer ");
		if (!(bearer = malloc(n)))
			return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
		snprintf(bearer, n, "Bearer %s", h->cf.token);
		hc.authorization = bearer;
	}
	rc = http_client_new(&h->client, &hc, http_finished, h, err);
	free(bearer);
	return rc;
}

static void http_free(struct ls_http *h)
{
	http_client_free(h->client);
	out_lines_release(&h->lines.out);
	free(h->gz);
	free(h->name);
	free(h);
}

static int http_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_output_conf *oc,
		     struct cd_err *err)
{
	struct ls_http *h;
	int rc;

	h = calloc(1, sizeof(*h));
	if (!h)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	if ((rc = http_conf(oc, &h->cf, err)) < 0)
		goto err_free;
	rc = cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	h->name = strdup(oc->name ? oc->name : "logstash+http");
	if (!h->name)
		goto err_free;
	if ((rc = http_setup(h, err)) < 0)
		goto err_free;
	ls_queue_init(&h->q, pl, idx);
	*state = h;
	return 0;

err_free:
	http_free(h);
	return rc;
}

static enum out_result http_flush(void *state, const struct chunk *c, struct cd_err *err)
{
	struct ls_http *h = state;

	if (!ls_queue_begin(&h->q, c)) {
		cd_err_set(err, -CD_EFULL, 0, "%s: too many chunks in flight", h->name);
		return OUT_RETRY;
	}
	http_progress(h);
	return ls_queue_end(&h->q, err);
}

static void http_poll(void *state, int64_t now)
{
	(void)now;
	http_progress(state);
}

static void http_metrics(void *state, struct metrics *m, const char *label)
{
	struct ls_http *h = state;

	ls_metrics(m, label, &h->st, LS_HAS_REJECTED, &h->q,
		   h->lines.valid ? h->lines.out.len + (h->cf.gzip ? h->gz_len : 0) : 0);
}

static void http_close(void *state)
{
	struct ls_http *h = state;

	if (!h)
		return;
	ls_log_summary(h->name, &h->st, LS_HAS_REJECTED);
	ls_queue_drop(&h->q);
	http_free(h);
}

static const struct out_plugin out_ls_http = {
	.check = http_check,
	.open = http_open,
	.flush = http_flush,
	.poll = http_poll,
	.metrics = http_metrics,
	.close = http_close,
};

const struct cd_plugin_desc out_ls_http_desc = {
	.name = "logstash+http",
	.scheme = "logstash+http",
	.usage = "logstash+http://[USER:PASSWORD@]HOST[:PORT]/PATH",
	.summary = "Logstash events POSTed as ndjson, a request per chunk",
	.opts = http_opts,
	.flags = CD_PLUGIN_URI_OPTS,
	.out = &out_ls_http,
};
