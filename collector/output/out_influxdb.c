/*
 * output/out_influxdb.c - the InfluxDB output: spans, metrics, derived
 * RED aggregates and the collector's own health as line protocol, over
 * HTTP (v1 /write, v2 /api/v2/write).
 *
 * DESIGN: a chunk is encoded once into one or a few write requests
 * (parts of at most batch_bytes of line protocol, gzip'ed), answered
 * OUT_PENDING, and acknowledged (pl_out_done) when every part got a 2xx
 * or was rejected for good (400, 413, 422: bad data, counted and logged,
 * never retried: the same bytes would be refused again). A part that
 * gets a 5xx, a 401/403/404/429 (the server or its configuration may
 * come right) or no answer (refused, timeout) makes the chunk OUT_RETRY
 * once its other parts are done; its encoded form is kept by sequence
 * number, so the retry sends only the parts that failed, and the RED
 * sums taken from it are not counted twice. Points are idempotent:
 * InfluxDB keeps one point per measurement, tag set and timestamp, so a
 * resent part overwrites itself. A span's timestamp gets a sub-microsecond
 * offset from a hash of its IDs (when it has none of its own), so spans
 * that start in the same microsecond with the same tags stay distinct.
 *
 * Requests run on a libcurl multi handle, at most `inflight` at once,
 * driven from flush(), poll() and a timerfd on the loop (every 10 ms
 * while a request runs), so the loop never blocks on the network. The
 * same timer ticks every `interval`: final RED series (red.c), log counts
 * and the collector's health (pl_stats()) become derived points, sent on
 * their own, retried with backoff, and dropped oldest first past
 * CD_INFLUX_DERIVED_BYTES_MAX (they are summaries, not acknowledged
 * records). close() sends what remains of them (everything RED holds)
 * with a bounded wait, then gives up pending chunks (not acknowledged:
 * read again on restart).
 *
 * What becomes a point: event=span records (measurement "spans"),
 * event=metric records (measurement = the metric's name), and nothing
 * else; plain log records only feed the counts ("logs") and, when they
 * close a request (numeric status and dur_us), RED.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <curl/curl.h>
#include <zlib.h>

#include "cd_limits.h"
#include "chunk/chunk.h"
#include "fmt/str.h"
#include "output/lineproto.h"
#include "output/red.h"
#include "pipeline.h"
#include "util/metrics.h"
#include "util/util.h"
#include "util/banned.h"

#define NS_PER_MS 1000000ll
#define DRIVE_MS 10 /* timer period while a request runs: curl's progress and timeouts */

struct part {
	struct lp_buf body; /* what is POSTed (gzip'ed or not) */
	uint32_t npoints;   /* points in it */
};

struct batch {
	uint64_t seq;	     /* the chunk's sequence number (chunk batches) */
	bool is_chunk;	     /* false: derived points */
	bool handed;	     /* a chunk answered OUT_PENDING, outcome not yet reported */
	bool failed;	     /* a part asked for a retry this round */
	struct part *parts;  /* the requests */
	unsigned nparts;     /* entries at parts */
	uint64_t done;	     /* bit per part: delivered or rejected */
	uint64_t running;    /* bit per part: request in flight */
	int64_t retry_at;    /* derived: monotonic ns before which it is not sent */
	uint64_t backoff_ms; /* derived: current backoff */
	size_t bytes;	     /* sum of the parts' body sizes */
	char why[200];	     /* the last failure, for pl_out_done() */
	struct batch *next;  /* list, oldest first */
};

struct req {
	CURL *e;		      /* the easy handle (reused) */
	struct batch *b;	      /* whose part */
	unsigned part;		      /* which */
	char errbuf[CURL_ERROR_SIZE]; /* curl's message */
	char ierr[256];		      /* X-Influxdb-Error, or the start of the body */
	size_t ierr_len;	      /* bytes in ierr */
	bool from_header;	      /* ierr came from the header (the body does not replace it) */
	struct req *next;	      /* free list */
	struct req *all_next;	      /* every request struct made (freed at close) */
};

struct influx {
	struct pipeline *pl;		 /* for pl_out_done(), pl_stats() */
	unsigned idx;			 /* our output index */
	const struct cd_output_conf *oc; /* configuration */
	bool v2;			 /* influxdb2:// */
	char *url;			 /* the write URL */
	char *user, *password;		 /* v1 basic auth (NULL: none) */
	struct curl_slist *hdrs;	 /* headers of every write */
	char *ca_file;			 /* TLS CA bundle, or NULL */
	bool insecure;			 /* TLS without verification */
	bool gzip;			 /* Content-Encoding: gzip */
	int gzip_level;			 /* zlib level */
	bool want_spans, want_metrics;	 /* which records become points */
	bool want_red, want_logs;	 /* which derived points */
	bool want_health;		 /* the clewd measurement */
	bool normalize;			 /* routes from paths with IDs replaced */
	uint64_t batch_bytes;		 /* line protocol per request */
	unsigned inflight_max;		 /* requests at once */
	uint64_t timeout_ms;		 /* per request */
	uint64_t connect_timeout_ms;	 /* per connection */
	int64_t interval_ns;		 /* derived points period */
	char host[256];			 /* tag of the clewd measurement */
	CURLM *multi;			 /* the requests */
	struct req *free_reqs;		 /* idle easy handles */
	struct req *all_reqs;		 /* every one, idle or running */
	unsigned running;		 /* requests in flight */
	struct batch *head, *tail;	 /* batches, oldest first */
	size_t derived_bytes;		 /* bytes of derived batches held */
	struct red *red;		 /* RED and log-count aggregates */
	int tfd;			 /* the timer */
	int64_t next_tick;		 /* monotonic ns of the next interval tick */
	int64_t last_drive_ns;		 /* monotonic ns of the last drive() */
	struct lp_buf raw, tmp;		 /* encoding buffers */
	z_stream z;			 /* gzip state */
	bool z_ok;			 /* z initialised */
	/* counters */
	uint64_t points;	  /* points acknowledged by the server */
	uint64_t rejected;	  /* points refused (400/413/422) */
	uint64_t requests;	  /* requests completed with 2xx */
	uint64_t failures;	  /* requests that failed and were retried */
	uint64_t bytes_sent;	  /* body bytes of successful requests */
	uint64_t derived_dropped; /* derived points dropped (memory cap) */
	uint64_t skipped;	  /* span/metric records without what a point needs */
	struct red_stats rs_last; /* for the health point */
};

static const struct cd_opt_spec influx_opts[] = {
	{"address", CD_OPT_HOSTPORT, NULL, "HOST[:PORT] of InfluxDB (port 8086)", NULL, 0},
	{"path", CD_OPT_STRING, NULL, "the database (v1) or bucket (v2): the URI's path", NULL, 0},
	{"db", CD_OPT_STRING, NULL, "v1: the database", NULL, 0},
	{"database", CD_OPT_STRING, NULL, "v1: the database", NULL, 0},
	{"bucket", CD_OPT_STRING, NULL, "v2: the bucket", NULL, 0},
	{"org", CD_OPT_STRING, NULL, "v2: the organization (required)", NULL, 0},
	{"token", CD_OPT_STRING, NULL, "v2: the API token", NULL, 0},
	{"user", CD_OPT_STRING, NULL, "v1: credentials (v2 without token: USER:PASSWORD token)", NULL, 0},
	{"password", CD_OPT_STRING, NULL, "v1: credentials", NULL, 0},
	{"auth", CD_OPT_ENUM, "basic", "v1: credentials as HTTP basic auth or u and p in the URL",
	 "basic|query", 0},
	{"rp", CD_OPT_STRING, "the database's", "v1: the retention policy", NULL, 0},
	{"tls", CD_OPT_BOOL, "false", "https", NULL, 0},
	{"ca_file", CD_OPT_STRING, "the system's", "PEM file of the CAs that verify the server", NULL, 0},
	{"insecure", CD_OPT_BOOL, "false", "do not verify the server's certificate (tests only)", NULL, 0},
	{"gzip", CD_OPT_BOOL, "true", "Content-Encoding gzip", NULL, 0},
	{"gzip_level", CD_OPT_UINT, "1", "zlib level 1..9", NULL, 9},
	{"batch_bytes", CD_OPT_SIZE, "1M", "line protocol per request, 64k..16M", NULL, 0},
	{"inflight", CD_OPT_UINT, "4", "requests at once, 1..32", NULL, CD_INFLUX_INFLIGHT_MAX},
	{"timeout", CD_OPT_DURATION, "10s", "one request", NULL, 0},
	{"connect_timeout", CD_OPT_DURATION, "5s", "one connect", NULL, 0},
	{"interval", CD_OPT_DURATION, "10s", "period of the RED, logs and clewd points, 100ms..1h", NULL, 0},
	{"spans", CD_OPT_BOOL, "true", "write span points", NULL, 0},
	{"metrics", CD_OPT_BOOL, "true", "write metric points", NULL, 0},
	{"red", CD_OPT_BOOL, "true", "write RED points", NULL, 0},
	{"logs", CD_OPT_BOOL, "true", "write logs points (counts per service and level)", NULL, 0},
	{"health", CD_OPT_BOOL, "true", "write clewd points (the collector's health)", NULL, 0},
	{"host", CD_OPT_STRING, "the host name", "the host tag of the clewd points", NULL, 0},
	{"normalize_routes", CD_OPT_BOOL, "true", "ID-like path segments become :id", NULL, 0},
	{NULL, 0, NULL, NULL, NULL, 0},
};

/* --- options ----------------------------------------------------------------- */

static const char *db_name(const struct cd_output_conf *oc)
{
	const char *d = cd_opt_get(oc, "db");

	if (!d)
		d = cd_opt_get(oc, "database");
	if (!d)
		d = cd_opt_get(oc, "bucket");
	if (!d)
		d = cd_opt_get(oc, "path");
	return d && *d ? d : NULL;
}

static int influx_check(const struct cd_output_conf *oc, struct cd_err *err)
{
	const bool v2 = oc->type == CD_OUT_INFLUXDB2;
	const char *auth = cd_opt_get(oc, "auth"), *ca = cd_opt_get(oc, "ca_file");
	char host[256];
	uint16_t port;
	uint64_t u;
	bool b;
	int rc;

	rc = cd_opt_hostport(oc, "address", 8086, host, sizeof(host), &port, err);
	if (rc == -CD_ENOENT)
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: no address (HOST:PORT)", oc->name);
	if (rc < 0)
		return rc;
	if (!db_name(oc))
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: no %s (%s://HOST:PORT/%s)", oc->name,
				  v2 ? "bucket" : "database", v2 ? "influxdb2" : "influxdb",
				  v2 ? "BUCKET" : "DB");
	if (v2 && !cd_opt_get(oc, "org"))
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: no org (?org=ORG)", oc->name);
	if (v2 && !cd_opt_get(oc, "token") && !cd_opt_get(oc, "user"))
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: no token (?token=TOKEN)", oc->name);
	if (auth && strcmp(auth, "basic") != 0 && strcmp(auth, "query") != 0)
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: auth: expected basic or query", oc->name);
	if (ca && access(ca, R_OK) != 0)
		return cd_err_set(err, -CD_EINVAL, errno, "output %s: ca_file %s: %s", oc->name, ca,
				  strerror(errno));
	if ((rc = cd_opt_u64(oc, "gzip_level", 1, 9, &u, err)) < 0)
		return rc;
	if ((rc = cd_opt_size(oc, "batch_bytes", CD_INFLUX_BATCH_BYTES, &u, err)) < 0)
		return rc;
	if (u < 64 * 1024 || u > CD_INFLUX_BATCH_BYTES_MAX)
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: batch_bytes: expected 64k to %uM", oc->name,
				  CD_INFLUX_BATCH_BYTES_MAX >> 20);
	if ((rc = cd_opt_u64(oc, "inflight", CD_INFLUX_INFLIGHT, CD_INFLUX_INFLIGHT_MAX, &u, err)) < 0)
		return rc;
	if (u == 0)
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: inflight: at least 1", oc->name);
	if ((rc = cd_opt_ms(oc, "timeout", 10000, &u, err)) < 0 ||
	    (rc = cd_opt_ms(oc, "connect_timeout", 5000, &u, err)) < 0)
		return rc;
	if ((rc = cd_opt_ms(oc, "interval", 10000, &u, err)) < 0)
		return rc;
	if (u < 100 || u > 3600 * 1000)
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: interval: expected 100ms to 1h", oc->name);
	if ((rc = cd_opt_bool(oc, "tls", false, &b, err)) < 0 ||
	    (rc = cd_opt_bool(oc, "insecure", false, &b, err)) < 0 ||
	    (rc = cd_opt_bool(oc, "gzip", true, &b, err)) < 0 ||
	    (rc = cd_opt_bool(oc, "spans", true, &b, err)) < 0 ||
	    (rc = cd_opt_bool(oc, "metrics", true, &b, err)) < 0 ||
	    (rc = cd_opt_bool(oc, "red", true, &b, err)) < 0 ||
	    (rc = cd_opt_bool(oc, "logs", true, &b, err)) < 0 ||
	    (rc = cd_opt_bool(oc, "health", true, &b, err)) < 0 ||
	    (rc = cd_opt_bool(oc, "normalize_routes", true, &b, err)) < 0)
		return rc;
	return 0;
}

/* "KEY=VALUE" appended to @url (URL-escaped), with '&' when not first. */
static int url_param(CURL *e, char *url, size_t cap, const char *key, const char *val)
{
	char *esc = curl_easy_escape(e, val, 0);
	size_t used = strlen(url);
	int n;

	if (!esc)
		return -CD_ENOMEM;
	n = snprintf(url + used, cap - used, "%s%s=%s", url[used - 1] == '?' ? "" : "&", key, esc);
	curl_free(esc);
	return n < 0 || (size_t)n >= cap - used ? -CD_ELIMIT : 0;
}

static int build_url(struct influx *st, const struct cd_output_conf *oc, struct cd_err *err)
{
	char host[256], url[4096];
	const char *auth = cd_opt_get(oc, "auth"), *rp = cd_opt_get(oc, "rp");
	bool tls;
	uint16_t port;
	CURL *e;
	int rc;

	if ((rc = cd_opt_hostport(oc, "address", 8086, host, sizeof(host), &port, err)) < 0)
		return rc;
	cd_opt_bool(oc, "tls", false, &tls, err);
	snprintf(url, sizeof(url), "%s://%s%s%s:%u/%s?", tls ? "https" : "http", strchr(host, ':') ? "[" : "",
		 host, strchr(host, ':') ? "]" : "", port, st->v2 ? "api/v2/write" : "write");
	e = curl_easy_init();
	if (!e)
		return cd_err_set(err, -CD_ENOMEM, 0, "out of memory");
	if (st->v2) {
		rc = url_param(e, url, sizeof(url), "org", cd_opt_get(oc, "org"));
		if (!rc)
			rc = url_param(e, url, sizeof(url), "bucket", db_name(oc));
	} else {
		rc = url_param(e, url, sizeof(url), "db", db_name(oc));
		if (!rc && rp)
			rc = url_param(e, url, sizeof(url), "rp", rp);
		if (!rc && auth && strcmp(auth, "query") == 0 && cd_opt_get(oc, "user")) {
			rc = url_param(e, url, sizeof(url), "u", cd_opt_get(oc, "user"));
			if (!rc)
				rc = url_param(e, url, sizeof(url), "p",
					       cd_opt_get(oc, "password") ? cd_opt_get(oc, "password") : "");
		}
	}
	if (!rc)
		rc = url_param(e, url, sizeof(url), "precision", "ns");
	curl_easy_cleanup(e);
	if (rc < 0)
		return cd_err_set(err, rc, 0, "output %s: URL too long", oc->name);
	st->url = strdup(url);
	return st->url ? 0 : cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
}

static int build_headers(struct influx *st, const struct cd_output_conf *oc, struct cd_err *err)
{
	const char *token = cd_opt_get(oc, "token"), *user = cd_opt_get(oc, "user");
	const char *pw = cd_opt_get(oc, "password"), *auth = cd_opt_get(oc, "auth");
	struct curl_slist *h = NULL, *n;
	char line[1024];

	/* no "Expect: 100-continue": one round trip less per request */
	n = curl_slist_append(h, "Expect:");
	if (n)
		h = n, n = curl_slist_append(h, "Content-Type: text/plain; charset=utf-8");
	if (n && st->gzip)
		h = n, n = curl_slist_append(h, "Content-Encoding: gzip");
	if (n && st->v2) {
		/* InfluxDB 1.8's /api/v2/write takes USER:PASSWORD as the token when auth is on */
		if (token)
			snprintf(line, sizeof(line), "Authorization: Token %s", token);
		else
			snprintf(line, sizeof(line), "Authorization: Token %s:%s", user, pw ? pw : "");
		h = n, n = curl_slist_append(h, line);
	}
	if (!n) {
		curl_slist_free_all(h);
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	}
	st->hdrs = n;
	if (!st->v2 && user && !(auth && strcmp(auth, "query") == 0)) {
		st->user = strdup(user);
		st->password = strdup(pw ? pw : "");
		if (!st->user || !st->password)
			return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	}
	return 0;
}

/* --- batches --------------------------------------------------------------------- */

static void batch_free(struct batch *b)
{
	if (!b)
		return;
	for (unsigned i = 0; i < b->nparts; i++)
		lp_buf_release(&b->parts[i].body);
	free(b->parts);
	free(b);
}

static void batch_unlink(struct influx *st, struct batch *b)
{
	struct batch **pp = &st->head, *prev = NULL;

	for (; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp == b) {
			*pp = b->next;
			if (st->tail == b)
				st->tail = prev;
			if (!b->is_chunk)
				st->derived_bytes -= b->bytes;
			return;
		}
	}
}

static void batch_append(struct influx *st, struct batch *b)
{
	b->next = NULL;
	if (st->tail)
		st->tail->next = b;
	else
		st->head = b;
	st->tail = b;
	if (!b->is_chunk)
		st->derived_bytes += b->bytes;
}

static struct batch *batch_find(struct influx *st, uint64_t seq)
{
	for (struct batch *b = st->head; b; b = b->next)
		if (b->is_chunk && b->seq == seq)
			return b;
	return NULL;
}

/* Seal st->raw as the next part of @b (gzip'ed when configured). Return: 0 or -CD_ENOMEM. */
static int seal_part(struct influx *st, struct batch *b, uint32_t npoints)
{
	struct part *p, *np;

	if (st->raw.len == 0)
		return 0;
	np = realloc(b->parts, (b->nparts + 1) * sizeof(*np));
	if (!np)
		return -CD_ENOMEM;
	b->parts = np;
	p = &b->parts[b->nparts];
	memset(p, 0, sizeof(*p));
	p->npoints = npoints;
	if (st->gzip) {
		uLong bound = deflateBound(&st->z, (uLong)st->raw.len);
		int zr;

		if (lp_buf_reserve(&p->body, bound + 32) < 0)
			return -CD_ENOMEM;
		deflateReset(&st->z);
		st->z.next_in = (Bytef *)st->raw.data;
		st->z.avail_in = (uInt)st->raw.len;
		st->z.next_out = (Bytef *)p->body.data;
		st->z.avail_out = (uInt)p->body.cap;
		zr = deflate(&st->z, Z_FINISH);
		if (zr != Z_STREAM_END) {
			lp_buf_release(&p->body);
			return -CD_ENOMEM;
		}
		p->body.len = p->body.cap - st->z.avail_out;
	} else {
		p->body = st->raw; /* hand the buffer over; a new one grows next time */
		memset(&st->raw, 0, sizeof(st->raw));
	}
	st->raw.len = 0;
	b->bytes += p->body.len;
	b->nparts++;
	return 0;
}

/* --- records to points ------------------------------------------------------------ */

/* The NUL-terminated copy of a short attribute value, or NULL (absent, too long). */
static const char *attr_text(const struct fmt_record *r, const char *key, char *buf, size_t cap)
{
	const struct fmt_attr *a = fmt_record_attr(r, key);

	if (!a || !a->val.ptr || a->val.len >= cap ||
	    (a->type != FMT_T_STRING && a->type != FMT_T_NUMBER && a->type != FMT_T_BOOL))
		return NULL;
	memcpy(buf, a->val.ptr, a->val.len);
	buf[a->val.len] = '\0';
	return buf;
}

static bool attr_i64(const struct fmt_record *r, const char *key, int64_t *out)
{
	char buf[32], *end;
	const char *s = attr_text(r, key, buf, sizeof(buf));
	long long v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static bool attr_f64(const struct fmt_attr *a, double *out)
{
	char buf[64], *end;
	double v;

	if (!a || !a->val.ptr || a->val.len == 0 || a->val.len >= sizeof(buf) ||
	    (a->type != FMT_T_NUMBER && a->type != FMT_T_STRING))
		return false;
	memcpy(buf, a->val.ptr, a->val.len);
	buf[a->val.len] = '\0';
	errno = 0;
	v = strtod(buf, &end);
	if (*end || !isfinite(v))
		return false; /* "Infinity", "NaN", garbage: InfluxDB has no such float */
	*out = v;
	return true;
}

static bool is_id_segment(const char *s, size_t n)
{
	size_t digits = 0, hex = 0, dashes = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= '0' && c <= '9')
			digits++;
		else if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
			hex++;
		else if (c == '-')
			dashes++;
		else
			return false;
	}
	if (n && digits == n)
		return true; /* /orders/42 */
	/* a hex ID or a UUID: long, with at least one digit (not a word like "deadbeef"... nor "facade") */
	return n >= 8 && digits > 0 && dashes <= 4 && (dashes == 0 || n == 36);
}

/*
 * The route of a record: its "route" attribute, else its path without
 * query and with ID-like segments as ":id" (a bounded tag set).
 */
static size_t route_of(const struct influx *st, const struct fmt_record *r, char *out, size_t cap)
{
	const struct fmt_attr *a = fmt_record_attr(r, "route");
	const char *p, *end;
	size_t o = 0;

	if (a && a->type == FMT_T_STRING && a->val.ptr && a->val.len) {
		size_t n = a->val.len < cap ? a->val.len : cap;
		memcpy(out, a->val.ptr, n);
		return n;
	}
	if (!r->path.ptr)
		return 0;
	p = r->path.ptr;
	end = p + r->path.len;
	for (const char *q = p; q < end; q++)
		if (*q == '?' || *q == '#') {
			end = q;
			break;
		}
	if (!st->normalize) {
		size_t n = (size_t)(end - p) < cap ? (size_t)(end - p) : cap;
		memcpy(out, p, n);
		return n;
	}
	while (p < end) {
		const char *seg = p, *slash = memchr(p, '/', (size_t)(end - p));
		const char *send = slash ? slash : end;
		size_t n = (size_t)(send - seg);

		if (is_id_segment(seg, n))
			seg = ":id", n = 3;
		if (o + n + 1 > cap)
			break;
		memcpy(out + o, seg, n);
		o += n;
		if (slash)
			out[o++] = '/';
		p = slash ? slash + 1 : end;
	}
	return o;
}

static struct red_str rs(const struct fmt_str *s)
{
	struct red_str r = {s->ptr, s->ptr ? s->len : 0};
	return r;
}

/* A point's time: the record's, or now; @jitter_key spreads spans within their microsecond. */
static int64_t point_time(const struct fmt_record *r, const struct fmt_str *jitter_key, int64_t now)
{
	int64_t t = r->has_ts ? r->ts_ns : now;

	if (jitter_key && jitter_key->ptr && t % 1000 == 0 && t < INT64_MAX - 1000) {
		uint64_t h = 14695981039346656037ull;
		for (uint32_t i = 0; i < jitter_key->len; i++) {
			h ^= (unsigned char)jitter_key->ptr[i];
			h *= 1099511628211ull;
		}
		t += (int64_t)(h % 1000);
	}
	return t;
}

static bool status_is_error(const struct fmt_record *r)
{
	char buf[16];
	const char *s = attr_text(r, "status", buf, sizeof(buf));
	int64_t code;

	if (s && (strcmp(s, "error") == 0 || strcmp(s, "ERROR") == 0))
		return true;
	if (attr_i64(r, "status", &code) && code >= 500)
		return true;
	return attr_i64(r, "http_status", &code) && code >= 500;
}

static int encode_span(struct influx *st, const struct fmt_record *r, int64_t now, uint32_t *np)
{
	char route[CD_INFLUX_NAME_MAX], name[CD_INFLUX_NAME_MAX], status[64];
	const char *nm = attr_text(r, "name", name, sizeof(name));
	const char *stt = attr_text(r, "status", status, sizeof(status));
	size_t rlen = route_of(st, r, route, sizeof(route));
	int64_t dur;
	bool err = status_is_error(r);
	int rc;

	if (!attr_i64(r, "dur_us", &dur) || dur < 0) {
		st->skipped++;
		return 0;
	}
	if (st->want_red) {
		struct red_str l[RED_LABELS] = {
			rs(&r->service), rs(&r->method), {route, rlen}, {nm, nm ? strlen(nm) : 0}};
		if (r->has_ts && red_add(st->red, RED_SPAN, r->ts_ns, l, (uint64_t)dur, err) < 0)
			return -CD_ENOMEM;
	}
	if (st->want_spans) {
		struct lp_tag tags[5];
		struct lp_field f[3];
		struct lp_point p = {
			.measurement = "spans", .mlen = 5, .tags = tags, .fields = f, .has_time = true};
		size_t nt = 0, nf = 0;
		struct fmt_str jk = r->span.ptr ? r->span : r->trace;

		if (r->service.ptr)
			tags[nt++] = (struct lp_tag){"service", 7, r->service.ptr, r->service.len};
		if (nm)
			tags[nt++] = (struct lp_tag){"name", 4, nm, strlen(nm)};
		if (r->method.ptr)
			tags[nt++] = (struct lp_tag){"method", 6, r->method.ptr, r->method.len};
		if (rlen)
			tags[nt++] = (struct lp_tag){"route", 5, route, rlen};
		if (stt)
			tags[nt++] = (struct lp_tag){"status", 6, stt, strlen(stt)};
		f[nf++] = (struct lp_field){.key = "dur_us", .klen = 6, .type = LP_INT, .v.i = dur};
		if (r->trace.ptr)
			f[nf++] = (struct lp_field){.key = "trace",
						    .klen = 5,
						    .type = LP_STRING,
						    .v.s = {r->trace.ptr, r->trace.len}};
		if (r->span.ptr)
			f[nf++] = (struct lp_field){.key = "span",
						    .klen = 4,
						    .type = LP_STRING,
						    .v.s = {r->span.ptr, r->span.len}};
		p.ntags = nt;
		p.nfields = nf;
		p.time_ns = point_time(r, &jk, now);
		rc = lp_write(&st->raw, &st->tmp, &p);
		if (rc == -CD_ENOMEM)
			return rc;
		if (rc == 0)
			(*np)++;
		else
			st->skipped++;
	}
	return 0;
}

/* Keys of a metric record that are not its tags. */
static bool metric_reserved(const struct fmt_str *k)
{
	static const char *const keys[] = {"metric", "type", "value",	"count",
					   "sum",    "msg",  "message", "event"};

	if (k->len >= 3 && memcmp(k->ptr, "le_", 3) == 0)
		return true;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (k->len == strlen(keys[i]) && memcmp(k->ptr, keys[i], k->len) == 0)
			return true;
	return false;
}

static int encode_metric(struct influx *st, const struct fmt_record *r, int64_t now, uint32_t *np)
{
	const struct fmt_attr *name = fmt_record_attr(r, "metric");
	struct lp_tag tags[FMT_ATTRS_MAX + 1];
	struct lp_field f[FMT_ATTRS_MAX];
	struct lp_point p = {.tags = tags, .fields = f, .has_time = true};
	size_t nt = 0, nf = 0;
	double v;
	int rc;

	if (!name || name->type != FMT_T_STRING || !name->val.len) {
		st->skipped++;
		return 0;
	}
	p.measurement = name->val.ptr;
	p.mlen = name->val.len;
	if (r->service.ptr)
		tags[nt++] = (struct lp_tag){"service", 7, r->service.ptr, r->service.len};
	for (unsigned i = 0; i < r->nattrs; i++) {
		const struct fmt_attr *a = &r->attrs[i];
		int64_t iv;

		if (a->key.len >= 3 && memcmp(a->key.ptr, "le_", 3) == 0) {
			char buf[32];
			if (a->val.len < sizeof(buf) && a->val.ptr) {
				char *end;
				memcpy(buf, a->val.ptr, a->val.len);
				buf[a->val.len] = '\0';
				errno = 0;
				iv = strtoll(buf, &end, 10);
				if (!errno && !*end && end != buf)
					f[nf++] = (struct lp_field){.key = a->key.ptr,
								    .klen = a->key.len,
								    .type = LP_INT,
								    .v.i = iv};
			}
			continue;
		}
		if (metric_reserved(&a->key))
			continue;
		if (a->type == FMT_T_STRING || a->type == FMT_T_NUMBER || a->type == FMT_T_BOOL)
			tags[nt++] = (struct lp_tag){a->key.ptr, a->key.len, a->val.ptr, a->val.len};
	}
	/* value is always a float: a counter and a gauge of one name must not conflict in type */
	if (attr_f64(fmt_record_attr(r, "value"), &v))
		f[nf++] = (struct lp_field){.key = "value", .klen = 5, .type = LP_FLOAT, .v.f = v};
	if (attr_f64(fmt_record_attr(r, "sum"), &v))
		f[nf++] = (struct lp_field){.key = "sum", .klen = 3, .type = LP_FLOAT, .v.f = v};
	{
		int64_t c;
		if (attr_i64(r, "count", &c))
			f[nf++] = (struct lp_field){.key = "count", .klen = 5, .type = LP_INT, .v.i = c};
	}
	p.ntags = nt;
	p.nfields = nf;
	p.time_ns = point_time(r, NULL, now);
	rc = lp_write(&st->raw, &st->tmp, &p);
	if (rc == -CD_ENOMEM)
		return rc;
	if (rc == 0)
		(*np)++;
	else
		st->skipped++;
	return 0;
}

/* A plain log record: counted per service and level; a request's closing record also feeds RED. */
static int encode_log(struct influx *st, const struct fmt_record *r)
{
	int64_t status, dur;

	if (!r->has_ts)
		return 0;
	if (st->want_logs) {
		const char *lv = fmt_level_name((enum fmt_level)r->level);
		struct red_str l[RED_LABELS] = {rs(&r->service), {lv, strlen(lv)}, {NULL, 0}, {NULL, 0}};
		if (!*lv && r->level_text.ptr)
			l[1] = rs(&r->level_text);
		if (red_add(st->red, RED_LOG, r->ts_ns, l, 0, false) < 0)
			return -CD_ENOMEM;
	}
	if (st->want_red && (r->method.ptr || r->path.ptr) && attr_i64(r, "status", &status) &&
	    attr_i64(r, "dur_us", &dur) && dur >= 0) {
		char route[CD_INFLUX_NAME_MAX];
		size_t rlen = route_of(st, r, route, sizeof(route));
		struct red_str l[RED_LABELS] = {rs(&r->service), rs(&r->method), {route, rlen}, {NULL, 0}};
		if (red_add(st->red, RED_REQUEST, r->ts_ns, l, (uint64_t)dur, status >= 500) < 0)
			return -CD_ENOMEM;
	}
	return 0;
}

/* Encode chunk @c into batch @b. Return: 0, -CD_ENOMEM, -CD_ECORRUPT. */
static int encode_chunk(struct influx *st, const struct chunk *c, struct batch *b)
{
	static struct fmt_record rec; /* large; the loop is single-threaded */
	struct record_src src;
	struct chunk_iter it;
	int64_t now = cd_real_ns();
	uint32_t np = 0;
	int rc;

	st->raw.len = 0;
	red_clock(st->red, now, cd_mono_ns());
	chunk_iter_init(&it, c);
	while ((rc = chunk_iter_next(&it, &rec, &src)) == 1) {
		if (src.raw)
			continue;
		if (rec.event == FMT_EVENT_SPAN)
			rc = encode_span(st, &rec, now, &np);
		else if (rec.event == FMT_EVENT_METRIC)
			rc = st->want_metrics ? encode_metric(st, &rec, now, &np) : 0;
		else
			rc = encode_log(st, &rec);
		if (rc < 0)
			return rc;
		if (st->raw.len >= st->batch_bytes && b->nparts + 1 < CD_INFLUX_PARTS_MAX) {
			if ((rc = seal_part(st, b, np)) < 0)
				return rc;
			np = 0;
		}
	}
	if (rc < 0)
		return rc;
	return seal_part(st, b, np);
}

/* --- requests --------------------------------------------------------------------- */

static size_t on_header(char *buf, size_t size, size_t n, void *arg)
{
	struct req *q = arg;
	size_t len = size * n;
	static const char name[] = "x-influxdb-error:";

	if (len > sizeof(name) - 1 && strncasecmp(buf, name, sizeof(name) - 1) == 0) {
		const char *v = buf + sizeof(name) - 1;
		size_t vl = len - (sizeof(name) - 1);
		while (vl && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
			vl--;
		if (vl >= sizeof(q->ierr))
			vl = sizeof(q->ierr) - 1;
		memcpy(q->ierr, v, vl);
		q->ierr[vl] = '\0';
		q->ierr_len = vl;
		q->from_header = true;
	}
	return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *arg)
{
	struct req *q = arg;
	size_t len = size * n, room = sizeof(q->ierr) - 1 - q->ierr_len;

	if (!q->from_header && room) {
		size_t k = len < room ? len : room;
		memcpy(q->ierr + q->ierr_len, buf, k);
		q->ierr_len += k;
		q->ierr[q->ierr_len] = '\0';
	}
	return len;
}

static struct req *req_get(struct influx *st)
{
	struct req *q = st->free_reqs;

	if (q) {
		st->free_reqs = q->next;
		curl_easy_reset(q->e);
	} else {
		q = calloc(1, sizeof(*q));
		if (!q)
			return NULL;
		q->e = curl_easy_init();
		if (!q->e) {
			free(q);
			return NULL;
		}
		q->all_next = st->all_reqs;
		st->all_reqs = q;
	}
	q->ierr[0] = q->errbuf[0] = '\0';
	q->ierr_len = 0;
	q->from_header = false;
	return q;
}

static int req_start(struct influx *st, struct batch *b, unsigned i)
{
	struct req *q = req_get(st);
	const struct part *p = &b->parts[i];
	CURL *e;

	if (!q)
		return -CD_ENOMEM;
	e = q->e;
	q->b = b;
	q->part = i;
	curl_easy_setopt(e, CURLOPT_URL, st->url);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, p->body.data);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)p->body.len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, st->hdrs);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)st->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)st->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, q->errbuf);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, q);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(e, CURLOPT_PRIVATE, q);
	if (st->user) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, st->user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, st->password);
	}
	if (st->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, st->ca_file);
	if (st->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (curl_multi_add_handle(st->multi, e) != CURLM_OK) {
		q->next = st->free_reqs;
		st->free_reqs = q;
		return -CD_ENOMEM;
	}
	b->running |= 1ull << i;
	st->running++;
	return 0;
}

/* The "dropped=N" of a partial write, or -1. */
static long long dropped_of(const char *msg)
{
	const char *d = strstr(msg, "dropped=");
	char *end;
	long long n;

	if (!d)
		return -1;
	n = strtoll(d + 8, &end, 10);
	return end == d + 8 || n < 0 ? -1 : n;
}

/* A batch whose requests all ended: report the chunk's outcome, or schedule the derived retry. */
static void batch_settle(struct influx *st, struct batch *b, int64_t now_mono)
{
	uint64_t all = b->nparts == 64 ? UINT64_MAX : (1ull << b->nparts) - 1;

	if (b->running)
		return;
	if (b->done == all) {
		batch_unlink(st, b);
		if (b->is_chunk && b->handed)
			pl_out_done(st->pl, st->idx, b->seq, OUT_OK, NULL);
		batch_free(b);
		return;
	}
	if (!b->failed)
		return; /* parts still to send */
	b->failed = false;
	if (b->is_chunk) {
		if (b->handed) {
			b->handed = false;
			pl_out_done(st->pl, st->idx, b->seq, OUT_RETRY, b->why);
		}
	} else {
		b->backoff_ms = b->backoff_ms ? b->backoff_ms * 2 : 500;
		if (b->backoff_ms > 30000)
			b->backoff_ms = 30000;
		b->retry_at = now_mono + (int64_t)b->backoff_ms * NS_PER_MS;
	}
}

static void req_done(struct influx *st, struct req *q, CURLcode cc)
{
	struct batch *b = q->b;
	const struct part *p = &b->parts[q->part];
	long code = 0;

	curl_easy_getinfo(q->e, CURLINFO_RESPONSE_CODE, &code);
	curl_multi_remove_handle(st->multi, q->e);
	st->running--;
	b->running &= ~(1ull << q->part);
	if (cc == CURLE_OK && code >= 200 && code < 300) {
		b->done |= 1ull << q->part;
		st->points += p->npoints;
		st->requests++;
		st->bytes_sent += p->body.len;
	} else if (cc == CURLE_OK && (code == 400 || code == 413 || code == 422)) {
		/* the data itself is refused: sending it again would be refused again */
		long long dropped = dropped_of(q->ierr);
		uint64_t lost =
			dropped >= 0 && (uint64_t)dropped <= p->npoints ? (uint64_t)dropped : p->npoints;
		char status[16], npts[24];

		b->done |= 1ull << q->part;
		st->rejected += lost;
		st->points += p->npoints - lost;
		snprintf(status, sizeof(status), "%ld", code);
		snprintf(npts, sizeof(npts), "%llu", (unsigned long long)lost);
		cd_log(FMT_LEVEL_WARN, "influxdb: points rejected by the server (not retried)", "output",
		       st->oc->name, "status", status, "points", npts, "error", q->ierr, NULL);
	} else {
		b->failed = true;
		st->failures++;
		if (cc != CURLE_OK)
			snprintf(b->why, sizeof(b->why), "influxdb: %.180s",
				 q->errbuf[0] ? q->errbuf : curl_easy_strerror(cc));
		else
			snprintf(b->why, sizeof(b->why), "influxdb: HTTP %ld: %.150s", code, q->ierr);
	}
	q->next = st->free_reqs;
	st->free_reqs = q;
	batch_settle(st, b, cd_mono_ns());
}

/* Start what may start: parts of handed chunks and due derived batches, up to inflight_max. */
static void start_more(struct influx *st, int64_t now_mono)
{
	for (struct batch *b = st->head; b && st->running < st->inflight_max; b = b->next) {
		if (b->failed || (b->is_chunk && !b->handed) || (!b->is_chunk && b->retry_at > now_mono))
			continue;
		for (unsigned i = 0; i < b->nparts && st->running < st->inflight_max; i++) {
			uint64_t bit = 1ull << i;
			if ((b->done | b->running) & bit)
				continue;
			if (req_start(st, b, i) < 0) {
				snprintf(b->why, sizeof(b->why), "influxdb: out of memory");
				b->failed = true;
				batch_settle(st, b, now_mono);
				return; /* the list may have changed */
			}
		}
	}
}

static void drive(struct influx *st)
{
	CURLMsg *m;
	int left, still;

	st->last_drive_ns = cd_mono_ns();
	start_more(st, st->last_drive_ns);
	curl_multi_perform(st->multi, &still);
	while ((m = curl_multi_info_read(st->multi, &left))) {
		char *priv = NULL;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		req_done(st, (struct req *)(void *)priv, m->data.result);
	}
	start_more(st, cd_mono_ns());
	if (st->running)
		curl_multi_perform(st->multi, &still);
}

/* --- derived points ------------------------------------------------------------------- */

struct emit_ctx {
	struct influx *st;
	uint32_t np; /* points in st->raw */
};

static int emit_row(void *arg, const struct red_row *row)
{
	struct emit_ctx *cx = arg;
	struct influx *st = cx->st;
	const double secs = (double)st->interval_ns / 1e9;
	struct lp_tag tags[5];
	struct lp_field f[9];
	struct lp_point p = {.tags = tags, .fields = f, .has_time = true, .time_ns = row->start_ns};
	size_t nt = 0, nf = 0;
	int rc;

	if (row->kind == RED_LOG) {
		p.measurement = "logs", p.mlen = 4;
		tags[nt++] = (struct lp_tag){"service", 7, row->label[0].p, row->label[0].n};
		tags[nt++] = (struct lp_tag){"level", 5, row->label[1].p, row->label[1].n};
	} else {
		static const char *const kinds[] = {[RED_REQUEST] = "request", [RED_SPAN] = "span"};
		p.measurement = "red", p.mlen = 3;
		tags[nt++] = (struct lp_tag){"kind", 4, kinds[row->kind], strlen(kinds[row->kind])};
		tags[nt++] = (struct lp_tag){"service", 7, row->label[0].p, row->label[0].n};
		tags[nt++] = (struct lp_tag){"method", 6, row->label[1].p, row->label[1].n};
		tags[nt++] = (struct lp_tag){"route", 5, row->label[2].p, row->label[2].n};
		tags[nt++] = (struct lp_tag){"name", 4, row->label[3].p, row->label[3].n};
	}
	f[nf++] = (struct lp_field){.key = "count", .klen = 5, .type = LP_INT, .v.i = (int64_t)row->count};
	f[nf++] = (struct lp_field){
		.key = "rate", .klen = 4, .type = LP_FLOAT, .v.f = (double)row->count / secs};
	if (row->kind != RED_LOG) {
		f[nf++] = (struct lp_field){
			.key = "errors", .klen = 6, .type = LP_INT, .v.i = (int64_t)row->errors};
		f[nf++] = (struct lp_field){.key = "error_ratio",
					    .klen = 11,
					    .type = LP_FLOAT,
					    .v.f = row->count ? (double)row->errors / (double)row->count : 0};
		if (row->has_dur) {
			f[nf++] = (struct lp_field){
				.key = "p50_us", .klen = 6, .type = LP_INT, .v.i = (int64_t)row->p50_us};
			f[nf++] = (struct lp_field){
				.key = "p90_us", .klen = 6, .type = LP_INT, .v.i = (int64_t)row->p90_us};
			f[nf++] = (struct lp_field){
				.key = "p99_us", .klen = 6, .type = LP_INT, .v.i = (int64_t)row->p99_us};
			f[nf++] = (struct lp_field){
				.key = "max_us", .klen = 6, .type = LP_INT, .v.i = (int64_t)row->max_us};
			f[nf++] = (struct lp_field){.key = "mean_us",
						    .klen = 7,
						    .type = LP_FLOAT,
						    .v.f = (double)row->sum_us / (double)row->count};
		}
	}
	p.ntags = nt;
	p.nfields = nf;
	rc = lp_write(&st->raw, &st->tmp, &p);
	if (rc == -CD_ENOMEM)
		return rc;
	if (rc == 0)
		cx->np++;
	return 0;
}

static int emit_health(struct influx *st, struct emit_ctx *cx)
{
	struct pl_stats ps;
	struct red_stats rs2;
	struct lp_tag tags[2] = {{"host", 4, st->host, strlen(st->host)},
				 {"output", 6, st->oc->name, strlen(st->oc->name)}};
	struct lp_field f[12];
	struct lp_point p = {.measurement = "clewd",
			     .mlen = 5,
			     .tags = tags,
			     .ntags = 2,
			     .fields = f,
			     .has_time = true,
			     .time_ns = cd_real_ns()};
	size_t nf = 0;
	int rc;

	pl_stats(st->pl, &ps);
	red_stats(st->red, &rs2);
#define F(k, val) \
	(f[nf++] = (struct lp_field){.key = k, .klen = sizeof(k) - 1, .type = LP_INT, .v.i = (int64_t)(val)})
	F("records", ps.records);
	F("unparsed", ps.unparsed);
	F("bytes", ps.bytes);
	F("queued", ps.queued);
	F("spool_bytes", ps.spool_bytes);
	F("out_errors", ps.out_errors);
	F("points", st->points);
	F("rejected", st->rejected);
	F("retries", st->failures);
	F("red_series", rs2.series);
	F("red_late", rs2.late + rs2.dropped);
	F("derived_dropped", st->derived_dropped);
#undef F
	p.nfields = nf;
	rc = lp_write(&st->raw, &st->tmp, &p);
	if (rc == 0)
		cx->np++;
	return rc == -CD_ENOMEM ? rc : 0;
}

/* Build one derived batch of the final RED/log series (all of them at close) and the health point. */
static void tick(struct influx *st, bool all)
{
	struct emit_ctx cx = {st, 0};
	struct batch *b = calloc(1, sizeof(*b));
	int64_t now_mono = cd_mono_ns();
	int rc = 0;

	if (!b) {
		st->derived_dropped++;
		return;
	}
	st->raw.len = 0;
	if (st->want_red || st->want_logs)
		rc = red_flush(st->red, cd_real_ns(), now_mono, all, emit_row, &cx);
	if (rc >= 0 && st->want_health)
		rc = emit_health(st, &cx);
	if (rc >= 0)
		rc = seal_part(st, b, cx.np);
	if (rc < 0 || b->nparts == 0) {
		if (rc < 0)
			st->derived_dropped += cx.np;
		st->raw.len = 0;
		batch_free(b);
		return;
	}
	batch_append(st, b);
	/* memory cap: the oldest derived batches not in flight go first */
	for (struct batch *o = st->head, *next; o && st->derived_bytes > CD_INFLUX_DERIVED_BYTES_MAX;
	     o = next) {
		next = o->next;
		if (o->is_chunk || o->running || o == b)
			continue;
		for (unsigned i = 0; i < o->nparts; i++)
			if (!(o->done & (1ull << i)))
				st->derived_dropped += o->parts[i].npoints;
		batch_unlink(st, o);
		batch_free(o);
	}
}

static bool derived_waiting(const struct influx *st)
{
	for (const struct batch *b = st->head; b; b = b->next)
		if (!b->is_chunk)
			return true;
	return false;
}

static void arm_timer(struct influx *st)
{
	int64_t now = cd_mono_ns(), at = st->next_tick;
	struct itimerspec its;

	if (st->running)
		at = now + DRIVE_MS * NS_PER_MS;
	for (const struct batch *b = st->head; b; b = b->next)
		if (!b->is_chunk && b->retry_at < at)
			at = b->retry_at;
	if (at <= now)
		at = now + NS_PER_MS;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)((at - now) / 1000000000);
	its.it_value.tv_nsec = (long)((at - now) % 1000000000);
	timerfd_settime(st->tfd, 0, &its, NULL);
}

static void on_timer(void *arg)
{
	struct influx *st = arg;
	uint64_t n;
	int64_t now;

	while (read(st->tfd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		;
	now = cd_mono_ns();
	if (now >= st->next_tick) {
		tick(st, false);
		while (st->next_tick <= now)
			st->next_tick += st->interval_ns;
	}
	drive(st);
	arm_timer(st);
}

/* --- the plugin --------------------------------------------------------------------- */

static void influx_close(void *state);

static int influx_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_output_conf *oc,
		       struct cd_err *err)
{
	struct influx *st;
	uint64_t u;
	const char *h;
	int rc;

	if ((rc = influx_check(oc, err)) < 0)
		return rc;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return cd_err_set(err, -CD_EIO, 0, "output %s: curl_global_init failed", oc->name);
	st = calloc(1, sizeof(*st));
	if (!st) {
		curl_global_cleanup();
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	}
	st->tfd = -1;
	st->pl = pl;
	st->idx = idx;
	st->oc = oc;
	st->v2 = oc->type == CD_OUT_INFLUXDB2;
	cd_opt_bool(oc, "gzip", true, &st->gzip, err);
	cd_opt_bool(oc, "insecure", false, &st->insecure, err);
	cd_opt_bool(oc, "spans", true, &st->want_spans, err);
	cd_opt_bool(oc, "metrics", true, &st->want_metrics, err);
	cd_opt_bool(oc, "red", true, &st->want_red, err);
	cd_opt_bool(oc, "logs", true, &st->want_logs, err);
	cd_opt_bool(oc, "health", true, &st->want_health, err);
	cd_opt_bool(oc, "normalize_routes", true, &st->normalize, err);
	cd_opt_u64(oc, "gzip_level", 1, 9, &u, err);
	st->gzip_level = (int)u;
	cd_opt_size(oc, "batch_bytes", CD_INFLUX_BATCH_BYTES, &st->batch_bytes, err);
	cd_opt_u64(oc, "inflight", CD_INFLUX_INFLIGHT, CD_INFLUX_INFLIGHT_MAX, &u, err);
	st->inflight_max = (unsigned)u;
	cd_opt_ms(oc, "timeout", 10000, &st->timeout_ms, err);
	cd_opt_ms(oc, "connect_timeout", 5000, &st->connect_timeout_ms, err);
	cd_opt_ms(oc, "interval", 10000, &u, err);
	st->interval_ns = (int64_t)u * NS_PER_MS;
	h = cd_opt_get(oc, "host");
	if (h)
		cd_strlcpy(st->host, h, sizeof(st->host));
	else if (gethostname(st->host, sizeof(st->host) - 1) < 0)
		cd_strlcpy(st->host, "unknown", sizeof(st->host));
	if (cd_opt_get(oc, "ca_file") && !(st->ca_file = strdup(cd_opt_get(oc, "ca_file")))) {
		rc = cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
		goto err;
	}
	if ((rc = build_url(st, oc, err)) < 0 || (rc = build_headers(st, oc, err)) < 0)
		goto err;
	if (st->gzip) {
		if (deflateInit2(&st->z, st->gzip_level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
		    Z_OK) {
			rc = cd_err_set(err, -CD_ENOMEM, ENOMEM, "output %s: zlib init failed", oc->name);
			goto err;
		}
		st->z_ok = true;
	}
	/*
	 * An interval is written one interval plus CD_INFLUX_RED_LATENESS_MS after its
	 * end: records reach the output a chunk age, a tail poll and maybe a retry late.
	 */
	if ((rc = red_new(&st->red, st->interval_ns,
			  st->interval_ns + (int64_t)CD_INFLUX_RED_LATENESS_MS * NS_PER_MS,
			  CD_INFLUX_RED_SERIES_MAX)) < 0) {
		cd_err_set(err, rc, 0, "out of memory");
		goto err;
	}
	st->multi = curl_multi_init();
	if (!st->multi) {
		rc = cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
		goto err;
	}
	curl_multi_setopt(st->multi, CURLMOPT_MAXCONNECTS, (long)st->inflight_max);
	st->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (st->tfd < 0 || pl_watch_fd(pl, st->tfd, on_timer, st) < 0) {
		rc = cd_err_set(err, -CD_EIO, errno, "output %s: timerfd: %s", oc->name, strerror(errno));
		if (st->tfd >= 0)
			close(st->tfd);
		st->tfd = -1;
		goto err;
	}
	st->next_tick = cd_mono_ns() + st->interval_ns;
	arm_timer(st);
	cd_log(FMT_LEVEL_INFO, "influxdb: writing", "output", oc->name, "url", st->url, NULL);
	*state = st;
	return 0;
err:
	influx_close(st);
	return rc;
}

static enum out_result influx_flush(void *state, const struct chunk *c, struct cd_err *err)
{
	struct influx *st = state;
	struct batch *b = batch_find(st, chunk_seq(c));
	int rc;

	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b) {
			cd_err_set(err, -CD_ENOMEM, ENOMEM, "influxdb: out of memory");
			return OUT_RETRY;
		}
		b->seq = chunk_seq(c);
		b->is_chunk = true;
		rc = encode_chunk(st, c, b);
		if (rc < 0) {
			/* the RED sums of this chunk may be partly taken: a rare double count beats a loss */
			batch_free(b);
			st->raw.len = 0;
			cd_err_set(err, rc, 0, "influxdb: %s",
				   rc == -CD_ECORRUPT ? "corrupt chunk" : "out of memory");
			return rc == -CD_ECORRUPT ? OUT_FAIL : OUT_RETRY;
		}
		if (b->nparts == 0) {
			batch_free(b); /* no point in it (plain logs): delivered */
			return OUT_OK;
		}
		batch_append(st, b);
	}
	b->handed = true;
	b->failed = false;
	drive(st);
	arm_timer(st);
	return OUT_PENDING;
}

static void influx_poll(void *state, int64_t now_ns)
{
	struct influx *st = state;

	/*
	 * The pipeline polls on every turn of its loop while chunks are pending,
	 * which is thousands of times a second while inputs are busy: curl's
	 * progress (a poll() of every socket) once a millisecond is plenty.
	 */
	if (now_ns - st->last_drive_ns < NS_PER_MS)
		return;
	drive(st);
}

static void influx_metrics(void *state, struct metrics *m, const char *label)
{
	struct influx *st = state;
	struct red_stats rs2;

	red_stats(st->red, &rs2);
	metrics_add(m, "clewd_output_influxdb_points_total", METRICS_COUNTER,
		    "Points the InfluxDB server accepted.", label, (double)st->points);
	metrics_add(m, "clewd_output_influxdb_rejected_points_total", METRICS_COUNTER,
		    "Points the InfluxDB server refused (400/413/422): logged, not retried.", label,
		    (double)st->rejected);
	metrics_add(m, "clewd_output_influxdb_requests_total", METRICS_COUNTER,
		    "Write requests answered 2xx.", label, (double)st->requests);
	metrics_add(m, "clewd_output_influxdb_retries_total", METRICS_COUNTER,
		    "Write requests that failed (5xx, 401/403/404/429, network) and were retried.", label,
		    (double)st->failures);
	metrics_add(m, "clewd_output_influxdb_sent_bytes_total", METRICS_COUNTER,
		    "Body bytes of successful write requests (compressed when gzip is on).", label,
		    (double)st->bytes_sent);
	metrics_add(m, "clewd_output_influxdb_skipped_records_total", METRICS_COUNTER,
		    "Span and metric records without what a point needs (dur_us, a metric name, a field).",
		    label, (double)st->skipped);
	metrics_add(m, "clewd_output_influxdb_derived_dropped_points_total", METRICS_COUNTER,
		    "Derived points (RED, logs, health) dropped while the server was away too long.", label,
		    (double)st->derived_dropped);
	metrics_add(m, "clewd_output_influxdb_red_late_samples_total", METRICS_COUNTER,
		    "Spans and requests that came after their interval was written, or past the series cap.",
		    label, (double)(rs2.late + rs2.dropped));
	metrics_add(m, "clewd_output_influxdb_red_series", METRICS_GAUGE, "RED and log-count series held.",
		    label, (double)rs2.series);
	metrics_add(m, "clewd_output_influxdb_inflight_requests", METRICS_GAUGE, "Write requests in flight.",
		    label, (double)st->running);
}

static void influx_close(void *state)
{
	struct influx *st = state;

	if (!st)
		return;
	if (st->multi && st->red) {
		/* last derived points: everything RED holds, and the final health; a bounded wait */
		int64_t deadline =
			cd_mono_ns() + (int64_t)(st->timeout_ms < 5000 ? st->timeout_ms : 5000) * NS_PER_MS;

		for (struct batch *b = st->head; b; b = b->next)
			b->handed = false; /* pending chunks are given up: not acknowledged */
		tick(st, true);
		for (struct batch *b = st->head; b; b = b->next)
			if (!b->is_chunk)
				b->retry_at = 0;
		while (derived_waiting(st) && cd_mono_ns() < deadline) {
			int n;
			drive(st);
			if (!st->running)
				break; /* a failed derived batch: no retry at close */
			curl_multi_poll(st->multi, NULL, 0, 50, &n);
		}
	}
	if (st->tfd >= 0) {
		pl_unwatch_fd(st->pl, st->tfd);
		close(st->tfd);
	}
	while (st->all_reqs) {
		/* running ones are given up: out of the multi handle first */
		struct req *q = st->all_reqs;
		st->all_reqs = q->all_next;
		if (st->multi)
			curl_multi_remove_handle(st->multi, q->e);
		curl_easy_cleanup(q->e);
		free(q);
	}
	while (st->head) {
		struct batch *b = st->head;
		st->head = b->next;
		batch_free(b);
	}
	if (st->multi)
		curl_multi_cleanup(st->multi);
	if (st->z_ok)
		deflateEnd(&st->z);
	red_free(st->red);
	lp_buf_release(&st->raw);
	lp_buf_release(&st->tmp);
	curl_slist_free_all(st->hdrs);
	free(st->url);
	free(st->user);
	free(st->password);
	free(st->ca_file);
	free(st);
	curl_global_cleanup();
}

static const struct out_plugin out_influxdb = {
	.check = influx_check,
	.open = influx_open,
	.flush = influx_flush,
	.poll = influx_poll,
	.metrics = influx_metrics,
	.close = influx_close,
};

const struct cd_plugin_desc out_influxdb_desc = {
	.name = "influxdb",
	.scheme = "influxdb",
	.usage = "influxdb://[USER:PASSWORD@]HOST:PORT/DB",
	.summary = "InfluxDB 1.x: spans, metrics, RED, logs and health points",
	.opts = influx_opts,
	.flags = CD_PLUGIN_URI_OPTS,
	.type = CD_OUT_INFLUXDB,
	.out = &out_influxdb,
};

const struct cd_plugin_desc out_influxdb2_desc = {
	.name = "influxdb2",
	.scheme = "influxdb2",
	.usage = "influxdb2://HOST:PORT/BUCKET?org=ORG&token=TOKEN",
	.summary = "InfluxDB 2.x: the same points, token auth",
	.opts = influx_opts,
	.flags = CD_PLUGIN_URI_OPTS,
	.type = CD_OUT_INFLUXDB2,
	.out = &out_influxdb,
};
