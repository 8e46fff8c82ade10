/*
 * output/influxdb/out_influxdb.c - the InfluxDB output: spans, metrics, derived
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
 * Requests run on the shared HTTP client (http_client.h: libcurl multi,
 * auth, TLS with client certificates, gzip), at most `inflight` at once,
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
 *
 * Files: this one holds the options and the plugin; influx_send.c the
 * batches and their requests, influx_points.c records -> points,
 * influx_derived.c the derived points (influx.h: their shared state).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "cd_limits.h"
#include "output/influxdb/influx.h"
#include "util/metrics.h"
#include "util/util.h"
#include "util/banned.h"

static const struct cd_opt_spec influx_opts[] = {
	{"address", CD_OPT_HOSTPORT, NULL, "HOST[:PORT] of InfluxDB (port 8086)", NULL, 0, 0},
	{"path", CD_OPT_STRING, NULL, "the database (v1) or bucket (v2): the URI's path", NULL, 0, 0},
	{"db", CD_OPT_STRING, NULL, "v1: the database", NULL, 0, 0},
	{"database", CD_OPT_STRING, NULL, "v1: the database", NULL, 0, 0},
	{"bucket", CD_OPT_STRING, NULL, "v2: the bucket", NULL, 0, 0},
	{"org", CD_OPT_STRING, NULL, "v2: the organization (required)", NULL, 0, 0},
	{"token", CD_OPT_STRING, NULL, "v2: the API token", NULL, 0, CD_OPT_SECRET},
	{"user", CD_OPT_STRING, NULL, "v1: credentials (v2 without token: USER:PASSWORD token)", NULL, 0, 0},
	{"password", CD_OPT_STRING, NULL, "v1: credentials", NULL, 0, CD_OPT_SECRET},
	{"auth", CD_OPT_ENUM, "basic", "v1: credentials as HTTP basic auth or u and p in the URL",
	 "basic|query", 0, 0},
	{"rp", CD_OPT_STRING, "the database's", "v1: the retention policy", NULL, 0, 0},
	{"tls", CD_OPT_BOOL, "false", "https", NULL, 0, 0},
	{"ca_file", CD_OPT_STRING, "the system's", "PEM file of the CAs that verify the server", NULL, 0, 0},
	{"cert_file", CD_OPT_STRING, NULL,
	 "PEM client certificate (with key_file) for servers that ask for one", NULL, 0, 0},
	{"key_file", CD_OPT_STRING, NULL, "PEM private key of cert_file", NULL, 0, 0},
	{"insecure", CD_OPT_BOOL, "false", "do not verify the server's certificate (tests only)", NULL, 0, 0},
	{"gzip", CD_OPT_BOOL, "true", "Content-Encoding gzip", NULL, 0, 0},
	{"gzip_level", CD_OPT_UINT, "1", "zlib level 1..9", NULL, 9, 0},
	{"batch_bytes", CD_OPT_SIZE, "1M", "line protocol per request, 64k..16M", NULL, 0, 0},
	{"inflight", CD_OPT_UINT, "4", "requests at once, 1..32", NULL, CD_INFLUX_INFLIGHT_MAX, 0},
	{"timeout", CD_OPT_DURATION, "10s", "one request", NULL, 0, 0},
	{"connect_timeout", CD_OPT_DURATION, "5s", "one connect", NULL, 0, 0},
	{"interval", CD_OPT_DURATION, "10s", "period of the RED, logs and clewd points, 100ms..1h", NULL, 0,
	 0},
	{"spans", CD_OPT_BOOL, "true", "write span points", NULL, 0, 0},
	{"metrics", CD_OPT_BOOL, "true", "write metric points", NULL, 0, 0},
	{"red", CD_OPT_BOOL, "true", "write RED points", NULL, 0, 0},
	{"logs", CD_OPT_BOOL, "true", "write logs points (counts per service and level)", NULL, 0, 0},
	{"health", CD_OPT_BOOL, "true", "write clewd points (the collector's health)", NULL, 0, 0},
	{"host", CD_OPT_STRING, "the host name", "the host tag of the clewd points", NULL, 0, 0},
	{"normalize_routes", CD_OPT_BOOL, "true", "ID-like path segments become :id", NULL, 0, 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

/* --- options ----------------------------------------------------------------- */

static const char *db_name(const struct cd_output_conf *oc)
{
	const char *d = cd_opt_get(&oc->opts, "db");

	if (!d)
		d = cd_opt_get(&oc->opts, "database");
	if (!d)
		d = cd_opt_get(&oc->opts, "bucket");
	if (!d)
		d = cd_opt_get(&oc->opts, "path");
	return d && *d ? d : NULL;
}

static int influx_check(const struct cd_output_conf *oc, struct cd_err *err)
{
	const bool v2 = strcmp(oc->plugin->name, "influxdb2") == 0;
	const char *auth = cd_opt_get(&oc->opts, "auth"), *ca = cd_opt_get(&oc->opts, "ca_file");
	const char *cert = cd_opt_get(&oc->opts, "cert_file"), *key = cd_opt_get(&oc->opts, "key_file");
	char host[256];
	uint16_t port;
	uint64_t u;
	bool b;
	int rc;

	rc = cd_opt_hostport(&oc->opts, "address", 8086, host, sizeof(host), &port, err);
	if (rc == -CD_ENOENT)
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: no address (HOST:PORT)", oc->name);
	if (rc < 0)
		return rc;
	if (!db_name(oc))
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: no %s (%s://HOST:PORT/%s)", oc->name,
				  v2 ? "bucket" : "database", v2 ? "influxdb2" : "influxdb",
				  v2 ? "BUCKET" : "DB");
	if (v2 && !cd_opt_get(&oc->opts, "org"))
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: no org (?org=ORG)", oc->name);
	if (v2 && !cd_opt_get(&oc->opts, "token") && !cd_opt_get(&oc->opts, "user"))
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: no token (?token=TOKEN)", oc->name);
	if (auth && strcmp(auth, "basic") != 0 && strcmp(auth, "query") != 0)
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: auth: expected basic or query", oc->name);
	if (ca && access(ca, R_OK) != 0)
		return cd_err_set(err, -CD_EINVAL, errno, "output %s: ca_file %s: %s", oc->name, ca,
				  strerror(errno));
	if (!!cert != !!key)
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: cert_file and key_file go together",
				  oc->name);
	if (cert && access(cert, R_OK) != 0)
		return cd_err_set(err, -CD_EINVAL, errno, "output %s: cert_file %s: %s", oc->name, cert,
				  strerror(errno));
	if (key && access(key, R_OK) != 0)
		return cd_err_set(err, -CD_EINVAL, errno, "output %s: key_file %s: %s", oc->name, key,
				  strerror(errno));
	if ((rc = cd_opt_u64(&oc->opts, "gzip_level", 1, 9, &u, err)) < 0)
		return rc;
	if ((rc = cd_opt_size(&oc->opts, "batch_bytes", CD_INFLUX_BATCH_BYTES, &u, err)) < 0)
		return rc;
	if (u < 64 * 1024 || u > CD_INFLUX_BATCH_BYTES_MAX)
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: batch_bytes: expected 64k to %uM", oc->name,
				  CD_INFLUX_BATCH_BYTES_MAX >> 20);
	if ((rc = cd_opt_u64(&oc->opts, "inflight", CD_INFLUX_INFLIGHT, CD_INFLUX_INFLIGHT_MAX, &u, err)) < 0)
		return rc;
	if (u == 0)
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: inflight: at least 1", oc->name);
	if ((rc = cd_opt_ms(&oc->opts, "timeout", 10000, &u, err)) < 0 ||
	    (rc = cd_opt_ms(&oc->opts, "connect_timeout", 5000, &u, err)) < 0)
		return rc;
	if ((rc = cd_opt_ms(&oc->opts, "interval", 10000, &u, err)) < 0)
		return rc;
	if (u < 100 || u > 3600 * 1000)
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: interval: expected 100ms to 1h", oc->name);
	if ((rc = cd_opt_bool(&oc->opts, "tls", false, &b, err)) < 0 ||
	    (rc = cd_opt_bool(&oc->opts, "insecure", false, &b, err)) < 0 ||
	    (rc = cd_opt_bool(&oc->opts, "gzip", true, &b, err)) < 0 ||
	    (rc = cd_opt_bool(&oc->opts, "spans", true, &b, err)) < 0 ||
	    (rc = cd_opt_bool(&oc->opts, "metrics", true, &b, err)) < 0 ||
	    (rc = cd_opt_bool(&oc->opts, "red", true, &b, err)) < 0 ||
	    (rc = cd_opt_bool(&oc->opts, "logs", true, &b, err)) < 0 ||
	    (rc = cd_opt_bool(&oc->opts, "health", true, &b, err)) < 0 ||
	    (rc = cd_opt_bool(&oc->opts, "normalize_routes", true, &b, err)) < 0)
		return rc;
	return 0;
}

static int build_url(struct influx *st, const struct cd_output_conf *oc, struct cd_err *err)
{
	char host[256], url[4096];
	const char *auth = cd_opt_get(&oc->opts, "auth"), *rp = cd_opt_get(&oc->opts, "rp");
	bool tls;
	uint16_t port;
	int rc;

	if ((rc = cd_opt_hostport(&oc->opts, "address", 8086, host, sizeof(host), &port, err)) < 0)
		return rc;
	cd_opt_bool(&oc->opts, "tls", false, &tls, err);
	snprintf(url, sizeof(url), "%s://%s%s%s:%u/%s?", tls ? "https" : "http", strchr(host, ':') ? "[" : "",
		 host, strchr(host, ':') ? "]" : "", port, st->v2 ? "api/v2/write" : "write");
	if (st->v2) {
		rc = http_query_add(url, sizeof(url), "org", cd_opt_get(&oc->opts, "org"));
		if (!rc)
			rc = http_query_add(url, sizeof(url), "bucket", db_name(oc));
	} else {
		rc = http_query_add(url, sizeof(url), "db", db_name(oc));
		if (!rc && rp)
			rc = http_query_add(url, sizeof(url), "rp", rp);
		if (!rc && auth && strcmp(auth, "query") == 0 && cd_opt_get(&oc->opts, "user")) {
			rc = http_query_add(url, sizeof(url), "u", cd_opt_get(&oc->opts, "user"));
			if (!rc)
				rc = http_query_add(url, sizeof(url), "p",
						    cd_opt_get(&oc->opts, "password")
							    ? cd_opt_get(&oc->opts, "password")
							    : "");
		}
	}
	if (!rc)
		rc = http_query_add(url, sizeof(url), "precision", "ns");
	if (rc < 0)
		return cd_err_set(err, rc, 0, "output %s: URL too long", oc->name);
	st->url = strdup(url);
	return st->url ? 0 : cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
}

/* The write requests' HTTP client: auth, TLS, gzip, timeouts (auth: query is in the URL already). */
static int open_http(struct influx *st, const struct cd_output_conf *oc, struct http_conf *hc,
		     struct cd_err *err)
{
	const char *token = cd_opt_get(&oc->opts, "token"), *user = cd_opt_get(&oc->opts, "user");
	const char *pw = cd_opt_get(&oc->opts, "password"), *auth = cd_opt_get(&oc->opts, "auth");
	char *line = NULL;
	int rc;

	hc->url = st->url;
	hc->content_type = "text/plain; charset=utf-8";
	hc->gzip = st->gzip;
	hc->timeout_ms = st->timeout_ms;
	hc->max_conns = st->inflight_max;
	/* InfluxDB's own message for a refused write: more precise than the body */
	hc->error_header = "X-Influxdb-Error";
	if (st->v2) {
		/* InfluxDB 1.8's /api/v2/write takes USER:PASSWORD as the token when auth is on */
		size_t n = sizeof("Token :") + (token ? strlen(token) : strlen(user) + (pw ? strlen(pw) : 0));
		if (!(line = malloc(n)))
			return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
		if (token)
			snprintf(line, n, "Token %s", token);
		else
			snprintf(line, n, "Token %s:%s", user, pw ? pw : "");
		hc->authorization = line;
	} else if (user && !(auth && strcmp(auth, "query") == 0)) {
		hc->user = user;
		hc->password = pw ? pw : "";
	}
	rc = http_client_new(&st->http, hc, influx_req_done, st, err);
	free(line);
	return rc;
}

/* --- the plugin --------------------------------------------------------------------- */

static void influx_close(void *state);

static int influx_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_output_conf *oc,
		       struct cd_err *err)
{
	struct http_conf hc = {0};
	struct influx *st;
	char shown[4096];
	uint64_t u;
	const char *h;
	int rc;

	if ((rc = influx_check(oc, err)) < 0)
		return rc;
	st = calloc(1, sizeof(*st));
	if (!st)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	st->tfd = -1;
	st->pl = pl;
	st->idx = idx;
	st->oc = oc;
	st->v2 = strcmp(oc->plugin->name, "influxdb2") == 0;
	cd_opt_bool(&oc->opts, "gzip", true, &st->gzip, err);
	cd_opt_bool(&oc->opts, "insecure", false, &hc.insecure, err);
	cd_opt_bool(&oc->opts, "spans", true, &st->want_spans, err);
	cd_opt_bool(&oc->opts, "metrics", true, &st->want_metrics, err);
	cd_opt_bool(&oc->opts, "red", true, &st->want_red, err);
	cd_opt_bool(&oc->opts, "logs", true, &st->want_logs, err);
	cd_opt_bool(&oc->opts, "health", true, &st->want_health, err);
	cd_opt_bool(&oc->opts, "normalize_routes", true, &st->normalize, err);
	cd_opt_u64(&oc->opts, "gzip_level", 1, 9, &u, err);
	hc.gzip_level = (int)u;
	cd_opt_size(&oc->opts, "batch_bytes", CD_INFLUX_BATCH_BYTES, &st->batch_bytes, err);
	cd_opt_u64(&oc->opts, "inflight", CD_INFLUX_INFLIGHT, CD_INFLUX_INFLIGHT_MAX, &u, err);
	st->inflight_max = (unsigned)u;
	cd_opt_ms(&oc->opts, "timeout", 10000, &st->timeout_ms, err);
	cd_opt_ms(&oc->opts, "connect_timeout", 5000, &hc.connect_timeout_ms, err);
	cd_opt_ms(&oc->opts, "interval", 10000, &u, err);
	st->interval_ns = (int64_t)u * NS_PER_MS;
	h = cd_opt_get(&oc->opts, "host");
	if (h)
		cd_strlcpy(st->host, h, sizeof(st->host));
	else if (gethostname(st->host, sizeof(st->host) - 1) < 0)
		cd_strlcpy(st->host, "unknown", sizeof(st->host));
	hc.ca_file = cd_opt_get(&oc->opts, "ca_file");
	hc.cert_file = cd_opt_get(&oc->opts, "cert_file");
	hc.key_file = cd_opt_get(&oc->opts, "key_file");
	if ((rc = build_url(st, oc, err)) < 0 || (rc = open_http(st, oc, &hc, err)) < 0)
		goto err;
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
	st->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (st->tfd < 0 || pl_watch_fd(pl, st->tfd, influx_on_timer, st) < 0) {
		rc = cd_err_set(err, -CD_EIO, errno, "output %s: timerfd: %s", oc->name, strerror(errno));
		if (st->tfd >= 0)
			close(st->tfd);
		st->tfd = -1;
		goto err;
	}
	st->next_tick = cd_mono_ns() + st->interval_ns;
	influx_arm_timer(st);
	/* u= and p= (auth: query) are in the URL: logged masked */
	cd_log(FMT_LEVEL_INFO, "influxdb: writing", "output", oc->name, "url",
	       cd_uri_masked(st->url, shown, sizeof(shown)), NULL);
	*state = st;
	return 0;
err:
	influx_close(st);
	return rc;
}

static enum out_result influx_flush(void *state, const struct chunk *c, struct cd_err *err)
{
	struct influx *st = state;
	struct batch *b = influx_batch_find(st, chunk_seq(c));
	int rc;

	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b) {
			cd_err_set(err, -CD_ENOMEM, ENOMEM, "influxdb: out of memory");
			return OUT_RETRY;
		}
		b->seq = chunk_seq(c);
		b->is_chunk = true;
		rc = influx_encode_chunk(st, c, b);
		if (rc < 0) {
			/* the RED sums of this chunk may be partly taken: a rare double count beats a loss */
			influx_batch_free(b);
			st->raw.len = 0;
			cd_err_set(err, rc, 0, "influxdb: %s",
				   rc == -CD_ECORRUPT ? "corrupt chunk" : "out of memory");
			return rc == -CD_ECORRUPT ? OUT_FAIL : OUT_RETRY;
		}
		if (b->nparts == 0) {
			influx_batch_free(b); /* no point in it (plain logs): delivered */
			return OUT_OK;
		}
		influx_batch_append(st, b);
	}
	b->handed = true;
	b->c = c; /* a spooled chunk comes back as another object, with the same bytes */
	b->failed = false;
	/* not influx_drive(): a request refused at once would report this chunk before it is pending */
	influx_kick(st);
	influx_arm_timer(st);
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
	influx_drive(st);
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
		    label, (double)http_running(st->http));
}

static void influx_close(void *state)
{
	struct influx *st = state;

	if (!st)
		return;
	if (st->http && st->red) {
		/* last derived points: everything RED holds, and the final health; a bounded wait */
		int64_t deadline =
			cd_mono_ns() + (int64_t)(st->timeout_ms < 5000 ? st->timeout_ms : 5000) * NS_PER_MS;

		for (struct batch *b = st->head; b; b = b->next)
			b->handed = false; /* pending chunks are given up: not acknowledged */
		influx_tick(st, true);
		for (struct batch *b = st->head; b; b = b->next)
			if (!b->is_chunk)
				b->retry_at = 0;
		while (influx_derived_waiting(st) && cd_mono_ns() < deadline) {
			influx_drive(st);
			if (!http_running(st->http))
				break; /* a failed derived batch: no retry at close */
			http_wait(st->http, 50);
		}
	}
	if (st->tfd >= 0) {
		pl_unwatch_fd(st->pl, st->tfd);
		close(st->tfd);
	}
	http_client_free(st->http); /* running requests are given up */
	while (st->head) {
		struct batch *b = st->head;
		st->head = b->next;
		influx_batch_free(b);
	}
	red_free(st->red);
	lp_buf_release(&st->raw);
	lp_buf_release(&st->tmp);
	free(st->url);
	free(st);
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
	.out = &out_influxdb,
};

const struct cd_plugin_desc out_influxdb2_desc = {
	.name = "influxdb2",
	.scheme = "influxdb2",
	.usage = "influxdb2://HOST:PORT/BUCKET?org=ORG&token=TOKEN",
	.summary = "InfluxDB 2.x: the same points, token auth",
	.opts = influx_opts,
	.flags = CD_PLUGIN_URI_OPTS,
	.out = &out_influxdb,
};
