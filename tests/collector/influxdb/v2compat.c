/*
 * v2compat.c - InfluxDB 1.8's /api/v2/write in front of the installed
 * influxd, for testing the output's v2 path.
 *
 * Debian 12 ships InfluxDB 1.6.7, which answers /api/v2/write with 404;
 * 1.8 added the endpoint as a thin mapping onto its v1 /write handler
 * (services/httpd/handler.go, serveWriteV2 and bucket2dbrp, and its token
 * authentication). This does the same mapping in front of the real
 * server, and nothing else: bucket "DB[/RP]" -> db, rp (an empty DB is
 * 404, as there); precision ns|us|ms|s -> n|u|ms|s (others are 400);
 * "Authorization: Token USER:PASSWORD" -> u and p (1.8 reads the token so
 * when auth is on; a token without ':' carries no credentials). The body
 * and Content-Encoding go to the server untouched; its status, body and
 * X-Influxdb-Error come back untouched. Everything the test asserts is
 * what the real server stored and answered.
 *
 * One libmicrohttpd server with its own thread, forwarding with a blocking
 * libcurl request per write. v2compat_start_tls() serves it over https and
 * asks for a client certificate, answering 403 to a request without a
 * valid one (InfluxDB itself has no client certificates: this stands in
 * for the TLS proxy that does it in front of one).
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <strings.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "v2compat.h"

struct body {
	char *p;
	size_t len, cap;
};

static char upstream[256];
static struct MHD_Daemon *daemon_;
static int want_client_cert; /* v2compat_start_tls(): requests need a verified client certificate */

static void body_add(struct body *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	body_add(arg, p, size * n);
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	static const char name[] = "X-Influxdb-Error:";
	size_t len = size * n;

	if (len > sizeof(name) && strncasecmp(p, name, sizeof(name) - 1) == 0) {
		struct body *b = arg;
		size_t k = len - (sizeof(name) - 1);
		const char *v = p + sizeof(name) - 1;
		while (k && (*v == ' '))
			v++, k--;
		while (k && (v[k - 1] == '\r' || v[k - 1] == '\n'))
			k--;
		body_add(b, v, k);
	}
	return len;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *body, const char *ierr)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(body), (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ok;

	MHD_add_response_header(r, "Content-Type", "application/json");
	if (ierr && *ierr)
		MHD_add_response_header(r, "X-Influxdb-Error", ierr);
	ok = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *data, size_t *data_size, void **con_cls)
{
	struct body *in = *con_cls;
	const char *bucket, *prec, *auth, *enc, *slash;
	char target[2048], db[256], rp[256] = "", user[256] = "", pass[256] = "";
	struct body resp = {0}, ierr = {0};
	struct curl_slist *h = NULL;
	CURL *e;
	long code = 0;
	enum MHD_Result ok;

	(void)cls, (void)version;
	if (!in) {
		*con_cls = calloc(1, sizeof(struct body));
		return MHD_YES;
	}
	if (*data_size) {
		body_add(in, data, *data_size);
		*data_size = 0;
		return MHD_YES;
	}
	if (want_client_cert) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		gnutls_session_t ts = ci ? (gnutls_session_t)ci->tls_session : NULL;
		unsigned int n = 0, status = 1;

		if (!ts || !gnutls_certificate_get_peers(ts, &n) || n == 0 ||
		    gnutls_certificate_verify_peers2(ts, &status) != 0 || status != 0)
			return reply(c, 403, "{\"error\":\"a valid client certificate is required\"}", NULL);
	}
	if (strcmp(method, "POST") != 0 || strcmp(url, "/api/v2/write") != 0)
		return reply(c, 404, "404 page not found", NULL);
	bucket = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "bucket");
	prec = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "precision");
	auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	enc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding");
	if (!prec || !*prec || strcmp(prec, "ns") == 0)
		prec = "n";
	else if (strcmp(prec, "us") == 0)
		prec = "u";
	else if (strcmp(prec, "ms") != 0 && strcmp(prec, "s") != 0)
		return reply(c, 400, "{\"error\":\"invalid precision (use ns, us, ms or s)\"}", NULL);
	if (!bucket || !*bucket || bucket[0] == '/')
		return reply(c, 404, "{\"error\":\"bucket name is missing or has an empty database\"}", NULL);
	slash = strchr(bucket, '/');
	snprintf(db, sizeof(db), "%.*s", slash ? (int)(slash - bucket) : (int)strlen(bucket), bucket);
	if (slash)
		snprintf(rp, sizeof(rp), "%s", slash + 1);
	if (auth && strncmp(auth, "Token ", 6) == 0 && strchr(auth + 6, ':')) {
		const char *colon = strchr(auth + 6, ':');
		snprintf(user, sizeof(user), "%.*s", (int)(colon - (auth + 6)), auth + 6);
		snprintf(pass, sizeof(pass), "%s", colon + 1);
	}
	e = curl_easy_init();
	{
		char *edb = curl_easy_escape(e, db, 0), *erp = curl_easy_escape(e, rp, 0);
		char *eu = curl_easy_escape(e, user, 0), *ep = curl_easy_escape(e, pass, 0);
		snprintf(target, sizeof(target), "%s/write?db=%s&precision=%s%s%s%s%s%s%s", upstream, edb,
			 prec, *rp ? "&rp=" : "", *rp ? erp : "", *user ? "&u=" : "", *user ? eu : "",
			 *user ? "&p=" : "", *user ? ep : "");
		curl_free(edb), curl_free(erp), curl_free(eu), curl_free(ep);
	}
	if (enc) {
		char line[128];
		snprintf(line, sizeof(line), "Content-Encoding: %s", enc);
		h = curl_slist_append(h, line);
	}
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(e, CURLOPT_URL, target);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, in->p ? in->p : "");
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)in->len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, &ierr);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
	if (curl_easy_perform(e) == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(e);
	curl_slist_free_all(h);
	ok = code ? reply(c, (unsigned)code, resp.p ? resp.p : "", ierr.p)
		  : reply(c, 502, "{\"error\":\"upstream influxd did not answer\"}", NULL);
	free(resp.p);
	free(ierr.p);
	return ok;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
	struct body *b = *con_cls;

	(void)cls, (void)c, (void)t;
	if (b) {
		free(b->p);
		free(b);
		*con_cls = NULL;
	}
}

uint16_t v2compat_start(const char *upstream_url)
{
	const union MHD_DaemonInfo *info;
	struct sockaddr_in sa;

	snprintf(upstream, sizeof(upstream), "%s", upstream_url);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
				   NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &sa,
				   MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_END);
	if (!daemon_)
		return 0;
	info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
	return info ? info->port : 0;
}

static char *slurp_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct body b = {0};
	char buf[4096];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		body_add(&b, buf, n);
	fclose(f);
	return b.p;
}

uint16_t v2compat_start_tls(const char *upstream_url, const char *cert_file, const char *key_file,
			    const char *client_ca_file)
{
	static char *cert, *key, *trust; /* MHD keeps pointers to them while it runs */
	const union MHD_DaemonInfo *info;
	struct sockaddr_in sa;

	free(cert), free(key), free(trust);
	cert = slurp_file(cert_file);
	key = slurp_file(key_file);
	trust = slurp_file(client_ca_file);
	if (!cert || !key || !trust)
		return 0;
	snprintf(upstream, sizeof(upstream), "%s", upstream_url);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	want_client_cert = 1;
	/* with a trust list, libmicrohttpd asks the client for its certificate */
	daemon_ = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_TLS, 0, NULL, NULL,
		on_request, NULL, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_HTTPS_MEM_CERT, cert,
		MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_HTTPS_MEM_TRUST, trust, MHD_OPTION_NOTIFY_COMPLETED,
		on_done, NULL, MHD_OPTION_END);
	if (!daemon_)
		return 0;
	info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
	return info ? info->port : 0;
}

void v2compat_stop(void)
{
	if (daemon_)
		MHD_stop_daemon(daemon_);
	daemon_ = NULL;
	want_client_cert = 0;
}
