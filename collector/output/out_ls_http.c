/*
 * output/out_ls_http.c - logstash+http://[USER:PASS@]HOST:PORT/PATH: one
 * chunk is one POST of newline-delimited Logstash events (Logstash's
 * http input; Content-Type application/x-ndjson, optionally gzip).
 *
 * DESIGN: libcurl's multi interface, driven from poll() (every loop turn
 * while a request is out, at least every CD_OUT_POLL_MS):
 * curl_multi_perform() never blocks, so the loop is not held by a slow
 * or dead peer; the request's own timeouts bound it. One request is out
 * at a time, oldest chunk first; the connection is kept alive between
 * requests. The answer decides:
 *   2xx            the chunk is acknowledged;
 *   429, 408, 5xx, no answer (connect, timeout, reset), a redirect
 *                  (not followed: it is a configuration error, and
 *                  retrying keeps the events rather than lose them)
 *                  the chunk goes back to the pipeline and is retried
 *                  after its backoff (ls_common.h), younger ones wait;
 *   any other 4xx  (400, 401, 413, ...) the batch would fail the same
 *                  way forever: it is given up, logged as an error and
 *                  counted (rejected_total), and *acknowledged*, so one
 *                  poison batch cannot stall everything behind it.
 * In flight: one rendered chunk (and its gzip copy), plus the chunks
 * held by reference.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "output/lines.h"
#include "output/ls_common.h"
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
	char *name;		      /* output label (owned) */
	struct ls_http_conf cf;	      /* options (strings borrowed from the configuration) */
	CURLM *multi;		      /* the multi handle */
	CURL *easy;		      /* the one request handle, reused (keeps the connection) */
	struct curl_slist *headers;   /* request headers */
	char *auth_header;	      /* "Authorization: Bearer ..." (owned), in headers */
	bool busy;		      /* easy is in multi: a request is out for q.it[0] */
	struct ls_queue q;	      /* held chunks */
	struct out_lines lines;	      /* the rendered oldest chunk */
	uint64_t lines_seq;	      /* which chunk lines holds */
	bool lines_valid;	      /* lines holds lines_seq */
	unsigned char *gz;	      /* its gzip copy */
	size_t gz_len, gz_cap;	      /* bytes used, allocated */
	char resp[256];		      /* head of the answer's body, for the log */
	size_t resp_len;	      /* bytes of it */
	char errbuf[CURL_ERROR_SIZE]; /* libcurl's message for a failed transfer */
	struct ls_stats st;	      /* counters */
};

static const struct cd_opt_spec http_opts[] = {
	{"address", CD_OPT_HOSTPORT, NULL, "HOST[:PORT] of Logstash's http input (port 8080)", NULL, 0},
	{"path", CD_OPT_STRING, NULL, "the URL path, without its leading slash", NULL, 0},
	{"user", CD_OPT_STRING, NULL, "HTTP basic authentication", NULL, 0},
	{"password", CD_OPT_STRING, NULL, "HTTP basic authentication", NULL, 0},
	{"token", CD_OPT_STRING, NULL, "bearer token (not with user)", NULL, 0},
	{"tls", CD_OPT_BOOL, "false", "https", NULL, 0},
	{"ca_file", CD_OPT_STRING, "the system's", "PEM bundle of the CAs that verify the server", NULL, 0},
	{"cert_file", CD_OPT_STRING, NULL, "client certificate (PEM)", NULL, 0},
	{"key_file", CD_OPT_STRING, NULL, "client certificate's key (PEM)", NULL, 0},
	{"insecure", CD_OPT_BOOL, "false", "do not verify the server's certificate (testing only)", NULL, 0},
	{"gzip", CD_OPT_BOOL, "false", "Content-Encoding gzip", NULL, 0},
	{"gzip_level", CD_OPT_UINT, "1", "gzip level 1..9", NULL, 9},
	{"timeout", CD_OPT_DURATION, "30s", "one request, whole", NULL, 0},
	{"connect_timeout", CD_OPT_DURATION, "5s", "one connect", NULL, 0},
	{NULL, 0, NULL, NULL, NULL, 0},
};

static int http_conf(const struct cd_output_conf *oc, struct ls_http_conf *cf, struct cd_err *err)
{
	const char *path;
	char host[256];
	uint16_t port;
	int rc;

	memset(cf, 0, sizeof(*cf));
	rc = cd_opt_hostport(oc, "address", 8080, host, sizeof(host), &port, err);
	if (rc == -CD_ENOENT)
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: address HOST[:PORT] is required", oc->name);
	if (rc < 0)
		return rc;
	if ((rc = cd_opt_bool(oc, "tls", false, &cf->tls, err)) < 0 ||
	    (rc = cd_opt_bool(oc, "insecure", false, &cf->insecure, err)) < 0 ||
	    (rc = cd_opt_bool(oc, "gzip", false, &cf->gzip, err)) < 0 ||
	    (rc = cd_opt_u64(oc, "gzip_level", 1, 9, &cf->gzip_level, err)) < 0 ||
	    (rc = cd_opt_ms(oc, "timeout", 30000, &cf->timeout_ms, err)) < 0 ||
	    (rc = cd_opt_ms(oc, "connect_timeout", 5000, &cf->connect_timeout_ms, err)) < 0)
		return rc;
	if (cf->gzip_level == 0 || cf->timeout_ms == 0 || cf->connect_timeout_ms == 0)
		return cd_err_set(err, -CD_EINVAL, 0,
				  "output %s: gzip_level is 1..9, timeouts must be longer than 0", oc->name);
	cf->user = cd_opt_get(oc, "user");
	cf->password = cd_opt_get(oc, "password");
	cf->token = cd_opt_get(oc, "token");
	cf->ca_file = cd_opt_get(oc, "ca_file");
	cf->cert_file = cd_opt_get(oc, "cert_file");
	cf->key_file = cd_opt_get(oc, "key_file");
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
	path = cd_opt_get(oc, "path");
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

/* The head of the answer's body, kept for the log of a rejected batch. */
static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct ls_http *h = arg;
	size_t n = size * nmemb, room = sizeof(h->resp) - 1 - h->resp_len;

	if (room) {
		memcpy(h->resp + h->resp_len, p, n < room ? n : room);
		h->resp_len += n < room ? n : room;
		h->resp[h->resp_len] = '\0';
	}
	return n;
}

static int gzip_body(struct ls_http *h, struct cd_err *err)
{
	z_stream z;
	uLong bound;
	int zrc;

	memset(&z, 0, sizeof(z));
	/* windowBits 15 + 16: a gzip wrapper, as Content-Encoding: gzip means */
	if (deflateInit2(&z, (int)h->cf.gzip_level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return cd_err_set(err, -CD_ENOMEM, 0, "gzip: cannot start");
	bound = deflateBound(&z, (uLong)h->lines.len);
	if (bound > h->gz_cap) {
		unsigned char *p = realloc(h->gz, bound);
		if (!p) {
			deflateEnd(&z);
			return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
		}
		h->gz = p;
		h->gz_cap = bound;
	}
	z.next_in = (Bytef *)h->lines.buf;
	z.avail_in = (uInt)h->lines.len;
	z.next_out = h->gz;
	z.avail_out = (uInt)h->gz_cap;
	zrc = deflate(&z, Z_FINISH);
	h->gz_len = z.total_out;
	deflateEnd(&z);
	if (zrc != Z_STREAM_END)
		return cd_err_set(err, -CD_EIO, 0, "gzip failed (%d)", zrc);
	return 0;
}

/* Post the oldest chunk. Return: false if it could not even start (its outcome is reported). */
static bool http_start(struct ls_http *h)
{
	struct ls_item *it = &h->q.it[0];
	struct cd_err err = {0, 0, ""};
	CURLMcode mc;

	if (!h->lines_valid || h->lines_seq != it->seq) {
		h->lines_valid = false;
		if (out_lines_render(&h->lines, it->c, CD_OUTFMT_LOGSTASH, &err) < 0 ||
		    (h->cf.gzip && gzip_body(h, &err) < 0)) {
			h->st.errors++;
			ls_queue_done(&h->q, 0, err.code == -CD_ENOMEM ? OUT_RETRY : OUT_FAIL, err.msg);
			return false;
		}
		h->lines_valid = true;
		h->lines_seq = it->seq;
	}
	/* POSTFIELDS is not copied: the buffer stays untouched until the request ends */
	curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, h->cf.gzip ? (const char *)h->gz : h->lines.buf);
	curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)(h->cf.gzip ? h->gz_len : h->lines.len));
	h->resp_len = 0;
	h->resp[0] = '\0';
	h->errbuf[0] = '\0';
	mc = curl_multi_add_handle(h->multi, h->easy);
	if (mc != CURLM_OK) {
		h->st.errors++;
		h->st.retries++;
		ls_queue_done(&h->q, 0, OUT_RETRY, curl_multi_strerror(mc));
		return false;
	}
	h->busy = true;
	return true;
}

/* The request for the oldest chunk ended with @res. */
static void http_finished(struct ls_http *h, CURLcode res)
{
	struct ls_item *it = &h->q.it[0];
	long status = 0, nconn = 0;
	char why[512];

	curl_multi_remove_handle(h->multi, h->easy);
	h->busy = false;
	if (curl_easy_getinfo(h->easy, CURLINFO_NUM_CONNECTS, &nconn) == CURLE_OK && nconn > 0)
		h->st.connects += (uint64_t)nconn;
	if (res != CURLE_OK) {
		h->st.errors++;
		h->st.retries++;
		snprintf(why, sizeof(why), "%s", h->errbuf[0] ? h->errbuf : curl_easy_strerror(res));
		ls_queue_done(&h->q, 0, OUT_RETRY, why);
		return;
	}
	curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300) {
		h->st.events += it->nrecords;
		h->st.bytes += h->lines.len;
		h->lines_valid = false;
		ls_queue_done(&h->q, 0, OUT_OK, NULL);
		return;
	}
	h->st.errors++;
	snprintf(why, sizeof(why), "HTTP %ld from %.200s%s%.*s", status, h->cf.url, h->resp_len ? ": " : "",
		 (int)h->resp_len, h->resp);
	if (status < 400 || status >= 500 || status == 429 || status == 408) {
		/* 5xx, busy, or a 3xx this output does not follow: retry; the log says why */
		h->st.retries++;
		ls_queue_done(&h->q, 0, OUT_RETRY, why);
		return;
	}
	/* the same batch would get the same answer forever: give it up, loudly */
	h->st.rejected += it->nrecords;
	cd_log(FMT_LEVEL_ERROR, "logstash output: batch rejected, given up", "output", h->name, "error", why,
	       NULL);
	h->lines_valid = false;
	ls_queue_done(&h->q, 0, OUT_OK, NULL);
}

static void http_progress(struct ls_http *h)
{
	for (;;) {
		int running = 0, left = 0;
		CURLMsg *msg;

		if (!h->busy) {
			if (!h->q.n || h->q.held)
				return;
			if (!http_start(h))
				continue;
		}
		curl_multi_perform(h->multi, &running);
		msg = curl_multi_info_read(h->multi, &left);
		if (!msg || msg->msg != CURLMSG_DONE)
			return; /* still out: the next poll() goes on */
		http_finished(h, msg->data.result);
	}
}

static int http_setup(struct ls_http *h, struct cd_err *err)
{
	static const char *const fixed[] = {"Content-Type: application/x-ndjson",
					    /* no 100-continue round trip before each large batch */
					    "Expect:"};
	CURL *e = h->easy;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		struct curl_slist *l = curl_slist_append(h->headers, fixed[i]);
		if (!l)
			return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
		h->headers = l;
	}
	if (h->cf.gzip) {
		struct curl_slist *l = curl_slist_append(h->headers, "Content-Encoding: gzip");
		if (!l)
			return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
		h->headers = l;
	}
	if (h->cf.token) {
		size_t n = strlen(h->cf.token) + 32;
		struct curl_slist *l;
		h->auth_header = malloc(n);
		if (!h->auth_header)
			return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
		snprintf(h->auth_header, n, "Authorization: Bearer %s", h->cf.token);
		l = curl_slist_append(h->headers, h->auth_header);
		if (!l)
			return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
		h->headers = l;
	}
	curl_easy_setopt(e, CURLOPT_URL, h->cf.url);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)h->cf.timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)h->cf.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "clewd/" CLEWD_VERSION);
	if (h->cf.user) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, h->cf.user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, h->cf.password ? h->cf.password : "");
	}
	if (h->cf.ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, h->cf.ca_file);
	if (h->cf.cert_file) {
		curl_easy_setopt(e, CURLOPT_SSLCERT, h->cf.cert_file);
		curl_easy_setopt(e, CURLOPT_SSLKEY, h->cf.key_file);
	}
	if (h->cf.insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	return 0;
}

static void http_free(struct ls_http *h)
{
	if (h->busy)
		curl_multi_remove_handle(h->multi, h->easy);
	if (h->easy)
		curl_easy_cleanup(h->easy);
	if (h->multi)
		curl_multi_cleanup(h->multi);
	curl_slist_free_all(h->headers);
	free(h->auth_header);
	out_lines_release(&h->lines);
	free(h->gz);
	free(h->name);
	free(h);
}

static int http_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_output_conf *oc,
		     struct cd_err *err)
{
	static bool global_done;
	struct ls_http *h;
	int rc;

	/* once per process; clewd is single-threaded, so there is no race to guard */
	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return cd_err_set(err, -CD_EIO, 0, "libcurl: global init failed");
		global_done = true;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	if ((rc = http_conf(oc, &h->cf, err)) < 0)
		goto err_free;
	rc = cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	h->name = strdup(oc->name ? oc->name : "logstash+http");
	h->multi = curl_multi_init();
	h->easy = curl_easy_init();
	if (!h->name || !h->multi || !h->easy)
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
		   h->lines_valid ? h->lines.len + (h->cf.gzip ? h->gz_len : 0) : 0);
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
	.type = CD_OUT_LOGSTASH_HTTP,
	.out = &out_ls_http,
};
