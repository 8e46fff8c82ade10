/*
 * output/http_client.c - the HTTP client the HTTP outputs share: libcurl
 * multi handle, pooled easy handles set up once with the client's fixed
 * settings (auth, TLS, timeouts, headers), gzip of bodies, and the
 * answer of each request handed to the output's callback.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <zlib.h>

#include "output/http_client.h"
#include "util/banned.h"

/* One request: an easy handle set up once, reused for the next request (keeps its connection). */
struct http_req {
	struct http_client *c;	      /* owner */
	CURL *e;		      /* the easy handle */
	void *ctx;		      /* http_post()'s */
	unsigned long id;	      /* http_post()'s */
	char errbuf[CURL_ERROR_SIZE]; /* libcurl's message */
	char text[HTTP_TEXT_MAX];     /* error header's value, or the head of the body */
	size_t text_len;	      /* bytes in text */
	bool from_header;	      /* text came from the error header (the body does not replace it) */
	long retry_after;	      /* Retry-After in seconds, -1: none */
	struct http_req *next;	      /* free list */
	struct http_req *all_next;    /* every request made (freed with the client) */
};

struct http_client {
	CURLM *multi;								     /* the requests */
	struct curl_slist *headers;						     /* request headers */
	char *url, *user, *password, *ca_file, *cert_file, *key_file, *error_header; /* copies */
	bool insecure;								     /* no verification */
	long timeout_ms;							     /* per request */
	long connect_timeout_ms;						     /* per connect */
	http_done_fn done;	    /* the output's callback */
	void *arg;		    /* its argument */
	struct http_req *free_reqs; /* idle */
	struct http_req *all_reqs;  /* every one, idle or running */
	unsigned running;	    /* requests in flight */
	z_stream z;		    /* gzip state */
	bool z_ok;		    /* z initialised */
	bool global;		    /* curl_global_init() done (paired with a cleanup) */
};

static int dup_opt(char **dst, const char *src)
{
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -CD_ENOMEM;
}

/* "NAME: VALUE" (NULL @val: @name as it is) appended to the headers. */
static int add_header(struct http_client *c, const char *name, const char *val)
{
	size_t n = strlen(name) + (val ? 2 + strlen(val) : 0) + 1;
	char *line = malloc(n);
	struct curl_slist *l;

	if (!line)
		return -CD_ENOMEM;
	snprintf(line, n, "%s%s%s", name, val ? ": " : "", val ? val : "");
	l = curl_slist_append(c->headers, line); /* copies it */
	free(line);
	if (!l)
		return -CD_ENOMEM;
	c->headers = l;
	return 0;
}

int http_client_new(struct http_client **out, const struct http_conf *cf, http_done_fn done, void *arg,
		    struct cd_err *err)
{
	struct http_client *c;
	int rc;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	/* reference-counted by libcurl, so each client pairs one init with one cleanup */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		free(c);
		return cd_err_set(err, -CD_EIO, 0, "libcurl: global init failed");
	}
	c->global = true;
	c->done = done;
	c->arg = arg;
	c->insecure = cf->insecure;
	c->timeout_ms = (long)cf->timeout_ms;
	c->connect_timeout_ms = (long)cf->connect_timeout_ms;
	rc = dup_opt(&c->url, cf->url);
	if (!rc && cf->user) {
		rc = dup_opt(&c->user, cf->user);
		if (!rc)
			rc = dup_opt(&c->password, cf->password ? cf->password : "");
	}
	if (!rc)
		rc = dup_opt(&c->ca_file, cf->ca_file);
	if (!rc)
		rc = dup_opt(&c->cert_file, cf->cert_file);
	if (!rc)
		rc = dup_opt(&c->key_file, cf->key_file);
	if (!rc)
		rc = dup_opt(&c->error_header, cf->error_header);
	/* no "Expect: 100-continue": one round trip less before each large body */
	if (!rc)
		rc = add_header(c, "Expect:", NULL);
	if (!rc)
		rc = add_header(c, "Content-Type", cf->content_type);
	if (!rc && cf->gzip)
		rc = add_header(c, "Content-Encoding", "gzip");
	if (!rc && cf->authorization)
		rc = add_header(c, "Authorization", cf->authorization);
	for (const char *const *h = cf->headers; !rc && h && *h; h++)
		rc = add_header(c, *h, NULL);
	if (rc < 0) {
		http_client_free(c);
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	}
	if (cf->gzip) {
		/* windowBits 15 + 16: a gzip wrapper, as Content-Encoding: gzip means */
		if (deflateInit2(&c->z, cf->gzip_level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
			http_client_free(c);
			return cd_err_set(err, -CD_ENOMEM, ENOMEM, "gzip: cannot start");
		}
		c->z_ok = true;
	}
	c->multi = curl_multi_init();
	if (!c->multi) {
		http_client_free(c);
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	}
	if (cf->max_conns)
		curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)cf->max_conns);
	*out = c;
	return 0;
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	while (c->all_reqs) {
		/* running ones are given up: out of the multi handle first */
		struct http_req *q = c->all_reqs;
		c->all_reqs = q->all_next;
		if (c->multi)
			curl_multi_remove_handle(c->multi, q->e);
		curl_easy_cleanup(q->e);
		free(q);
	}
	if (c->multi)
		curl_multi_cleanup(c->multi);
	if (c->z_ok)
		deflateEnd(&c->z);
	curl_slist_free_all(c->headers);
	free(c->url);
	free(c->user);
	free(c->password);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	free(c->error_header);
	if (c->global)
		curl_global_cleanup();
	free(c);
}

/* A Retry-After value (RFC 9110: delay-seconds or an HTTP date) in seconds from now, -1 if unreadable. */
static long retry_after_of(const char *v, size_t n)
{
	char tmp[64];
	long s = 0;
	size_t i = 0;

	while (n && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	if (n == 0 || n >= sizeof(tmp))
		return -1;
	for (; i < n && v[i] >= '0' && v[i] <= '9' && s < 1000000000L; i++)
		s = s * 10 + (v[i] - '0');
	if (i == n)
		return s;
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	{
		time_t at = curl_getdate(tmp, NULL), now = time(NULL);
		if (at < 0)
			return -1;
		return at > now ? (long)(at - now) : 0;
	}
}

/* The error header's value, kept for the output's log (it says more than the body). */
static size_t on_header(char *buf, size_t size, size_t n, void *arg)
{
	struct http_req *q = arg;
	size_t len = size * n, hl = q->c->error_header ? strlen(q->c->error_header) : 0;

	if (len > 12 && strncasecmp(buf, "Retry-After:", 12) == 0)
		q->retry_after = retry_after_of(buf + 12, len - 12);
	if (hl && len > hl + 1 && buf[hl] == ':' && strncasecmp(buf, q->c->error_header, hl) == 0) {
		const char *v = buf + hl + 1;
		size_t vl = len - (hl + 1);
		while (vl && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
			vl--;
		if (vl >= sizeof(q->text))
			vl = sizeof(q->text) - 1;
		memcpy(q->text, v, vl);
		q->text[vl] = '\0';
		q->text_len = vl;
		q->from_header = true;
	}
	return len;
}

/* The head of the answer's body, kept for the output's log. */
static size_t on_body(char *buf, size_t size, size_t n, void *arg)
{
	struct http_req *q = arg;
	size_t len = size * n, room = sizeof(q->text) - 1 - q->text_len;

	if (!q->from_header && room) {
		size_t k = len < room ? len : room;
		memcpy(q->text + q->text_len, buf, k);
		q->text_len += k;
		q->text[q->text_len] = '\0';
	}
	return len;
}

/* A new request with the client's fixed settings. */
static struct http_req *req_new(struct http_client *c)
{
	struct http_req *q = calloc(1, sizeof(*q));
	CURL *e;

	if (!q)
		return NULL;
	q->e = e = curl_easy_init();
	if (!e) {
		free(q);
		return NULL;
	}
	q->c = c;
	q->all_next = c->all_reqs;
	c->all_reqs = q;
	curl_easy_setopt(e, CURLOPT_URL, c->url);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, q->errbuf);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, q);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(e, CURLOPT_PRIVATE, q);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "clewd/" CLEWD_VERSION);
	if (c->user) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, c->user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, c->password);
	}
	if (c->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	if (c->cert_file) {
		curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert_file);
		curl_easy_setopt(e, CURLOPT_SSLKEY, c->key_file);
	}
	if (c->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	return q;
}

int http_post(struct http_client *c, const void *body, size_t len, void *ctx, unsigned long id,
	      struct cd_err *err)
{
	struct http_req *q = c->free_reqs;
	CURLMcode mc;

	if (q)
		c->free_reqs = q->next;
	else if (!(q = req_new(c)))
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	q->ctx = ctx;
	q->id = id;
	q->errbuf[0] = q->text[0] = '\0';
	q->text_len = 0;
	q->from_header = false;
	q->retry_after = -1;
	/* POSTFIELDS is not copied: the caller keeps the body until the request ends */
	curl_easy_setopt(q->e, CURLOPT_POSTFIELDS, (const char *)body);
	curl_easy_setopt(q->e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	mc = curl_multi_add_handle(c->multi, q->e);
	if (mc != CURLM_OK) {
		q->next = c->free_reqs;
		c->free_reqs = q;
		return cd_err_set(err, mc == CURLM_OUT_OF_MEMORY ? -CD_ENOMEM : -CD_EIO, 0, "%s",
				  curl_multi_strerror(mc));
	}
	c->running++;
	return 0;
}

void http_drive(struct http_client *c)
{
	CURLMsg *m;
	int left, still;

	curl_multi_perform(c->multi, &still);
	while ((m = curl_multi_info_read(c->multi, &left))) {
		struct http_result r = {0};
		struct http_req *q = NULL;
		char text[HTTP_TEXT_MAX], why[CURL_ERROR_SIZE];
		CURLcode cc = m->data.result;
		char *priv = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		q = (struct http_req *)(void *)priv;
		curl_multi_remove_handle(c->multi, q->e); /* m is invalid from here */
		c->running--;
		r.answered = cc == CURLE_OK;
		/* copies: the callback may start the next request on q */
		snprintf(why, sizeof(why), "%s", q->errbuf[0] ? q->errbuf : curl_easy_strerror(cc));
		r.error = cc == CURLE_OK ? NULL : why;
		if (curl_easy_getinfo(q->e, CURLINFO_RESPONSE_CODE, &r.status) != CURLE_OK)
			r.status = 0;
		if (curl_easy_getinfo(q->e, CURLINFO_NUM_CONNECTS, &r.connects) != CURLE_OK)
			r.connects = 0;
		r.retry_after = q->retry_after;
		memcpy(text, q->text, q->text_len + 1);
		r.text = text;
		r.text_len = q->text_len;
		/* back on the free list first: the callback may start the next request on it */
		q->next = c->free_reqs;
		c->free_reqs = q;
		c->done(c->arg, q->ctx, q->id, &r);
	}
}

void http_perform(struct http_client *c)
{
	int still;

	curl_multi_perform(c->multi, &still);
}

unsigned http_running(const struct http_client *c)
{
	return c->running;
}

void http_wait(struct http_client *c, int ms)
{
	int n;

	curl_multi_poll(c->multi, NULL, 0, ms, &n);
}

const char *http_url(const struct http_client *c)
{
	return c->url;
}

int http_gzip(struct http_client *c, const void *in, size_t len, char **buf, size_t *cap, size_t *out_len)
{
	uLong bound;
	int zr;

	if (!c->z_ok)
		return -CD_EIO;
	deflateReset(&c->z);
	bound = deflateBound(&c->z, (uLong)len);
	if (bound > *cap) {
		char *p = realloc(*buf, bound);
		if (!p)
			return -CD_ENOMEM;
		*buf = p;
		*cap = bound;
	}
	c->z.next_in = (Bytef *)(uintptr_t)in;
	c->z.avail_in = (uInt)len;
	c->z.next_out = (Bytef *)*buf;
	c->z.avail_out = (uInt)*cap;
	zr = deflate(&c->z, Z_FINISH);
	if (zr != Z_STREAM_END)
		return -CD_EIO;
	*out_len = *cap - c->z.avail_out;
	return 0;
}

int http_query_add(char *url, size_t cap, const char *key, const char *val)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t used = strlen(url);
	int n;

	n = snprintf(url + used, cap - used, "%s%s=", used && url[used - 1] == '?' ? "" : "&", key);
	if (n < 0 || (size_t)n >= cap - used)
		return -CD_ELIMIT;
	used += (size_t)n;
	for (const unsigned char *v = (const unsigned char *)val; *v; v++) {
		bool plain = (*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z') ||
			     (*v >= '0' && *v <= '9') || *v == '-' || *v == '.' || *v == '_' || *v == '~';
		if (used + (plain ? 1 : 3) >= cap)
			return -CD_ELIMIT;
		if (plain) {
			url[used++] = (char)*v;
		} else {
			url[used++] = '%';
			url[used++] = hex[*v >> 4];
			url[used++] = hex[*v & 15];
		}
	}
	url[used] = '\0';
	return 0;
}
