/*
 * output/otlp/out_otlp.c - the OTLP/HTTP output: span records as spans
 * (POST /v1/traces), log records as log records (POST /v1/logs), in
 * protobuf or OTLP/JSON (otlp_encode.c), to any OpenTelemetry backend
 * (the OTel Collector, Jaeger, Tempo, a vendor's endpoint).
 *
 * DESIGN: a chunk is encoded once into at most two requests (its spans,
 * its logs), gzip'ed, answered OUT_PENDING and acknowledged
 * (pl_out_done) when each request got a 2xx or was refused for good: a
 * 400, 413 or 422 means the content is refused and the same bytes would
 * be refused again, so its records are counted as rejected, logged with
 * the server's reason and acknowledged (content never stops an output);
 * so are the records a 2xx's partial success says it rejected.
 * Any other answer (429, 5xx, 401/403/404 which configuration may put
 * right, no answer at all) makes the chunk OUT_RETRY once its other
 * request ended; its encoded requests are kept by sequence number, so
 * the retry sends only the one that failed. A Retry-After on a 429 or
 * 503 is honoured: the kept request is not sent again before it (at most
 * CD_OTLP_RETRY_AFTER_MAX_S), whenever the pipeline hands the chunk back.
 * Requests run on the shared HTTP client (http_client.h), one per
 * signal URL, at most `inflight` at once, driven from flush(), poll() and
 * a timerfd (every millisecond while a request runs), so the loop never blocks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "cd_limits.h"
#include "config.h"
#include "output/http_client.h"
#include "output/otlp/otlp_encode.h"
#include "pipeline.h"
#include "util/drops.h"
#include "util/metrics.h"
#include "util/util.h"
#include "util/banned.h"

#define NS_PER_MS 1000000ll
/*
 * Timer period while a request runs: curl's progress and timeouts. The
 * loop does not watch curl's sockets, so a large body moves a socket
 * buffer per tick: 1 ms uploads a chunk's uncompressed request into a
 * local collector 1.5 to 2 times faster than 10 ms (bench_otlp.sh), for
 * about 1 % of a core while requests run.
 */
#define DRIVE_MS 1

/* The longest Retry-After honoured: a server's mistake must not park a chunk for a day. */
#ifndef CD_OTLP_RETRY_AFTER_MAX_S
#define CD_OTLP_RETRY_AFTER_MAX_S 300
#endif
/* Requests at once (across both signals): each holds an encoded chunk's signal. */
#ifndef CD_OTLP_INFLIGHT_MAX
#define CD_OTLP_INFLIGHT_MAX 32u
#endif
/*
 * Encoded chunks kept for a retry while the pipeline does not hand them
 * (in backoff, or spooled during an outage): past this, the oldest are
 * dropped and encoded again if handed again (a request already accepted
 * is then sent again: at least once). Bounds memory during an outage.
 */
#ifndef CD_OTLP_KEPT_MAX
#define CD_OTLP_KEPT_MAX 64u
#endif
/* Request headers of headers.NAME: enough for auth and tenancy. */
#ifndef CD_OTLP_HEADERS_MAX
#define CD_OTLP_HEADERS_MAX 16u
#endif

enum { SIG_TRACES = OTLP_SIG_TRACES, SIG_LOGS = OTLP_SIG_LOGS, NSIG = 2 };
static const char *const sig_path[NSIG] = {"v1/traces", "v1/logs"};
static const char *const sig_name[NSIG] = {"traces", "logs"};

struct batch {
	uint64_t seq;		 /* the chunk's sequence number */
	const struct chunk *c;	 /* the chunk last handed (valid while handed: a spooled one is freed) */
	bool handed;		 /* answered OUT_PENDING, outcome not yet reported */
	bool failed;		 /* a request asked for a retry this round */
	struct ow_buf raw[NSIG]; /* the encoded requests (empty: no record of that signal) */
	char *gz[NSIG];		 /* their gzip'ed form when gzip is on */
	size_t gzlen[NSIG], gzcap[NSIG];
	uint32_t nrec[NSIG];	/* records in each */
	unsigned done, running; /* bit per signal */
	int64_t not_before;	/* monotonic ns: a Retry-After's end */
	char why[200];		/* the last failure, for pl_out_done() */
	struct batch *next;	/* oldest first */
};

struct otlp_out {
	struct pipeline *pl;
	unsigned idx;
	const struct cd_output_conf *oc;
	struct otlp_enc *enc;		   /* records -> requests */
	struct http_client *http[NSIG];	   /* one per signal URL */
	char *url[NSIG];		   /* .../v1/traces, .../v1/logs */
	bool gzip;			   /* Content-Encoding: gzip */
	bool json;			   /* encoding: json (answers too) */
	unsigned inflight_max;		   /* requests at once */
	struct batch *head, *tail;	   /* batches, oldest first */
	int tfd;			   /* the drive timer */
	int64_t last_drive_ns;		   /* monotonic ns of the last drive */
	struct otlp_enc_stats es;	   /* encoder's counters */
	uint64_t sent[NSIG];		   /* records the server accepted */
	uint64_t rejected[NSIG];	   /* records refused for good (400/413/422) */
	uint64_t requests, retries, bytes; /* 2xx requests, failed ones, body bytes of 2xx */
};

static const struct cd_opt_spec otlp_opts[] = {
	{"address", CD_OPT_HOSTPORT, NULL, "HOST[:PORT] of the OTLP/HTTP receiver (port 4318)", NULL, 0, 0},
	{"path", CD_OPT_STRING, NULL, "a path before v1/traces and v1/logs (the URI's path)", NULL, 0, 0},
	{"encoding", CD_OPT_ENUM, "protobuf", "the requests' body", "protobuf|json", 0, 0},
	{"headers.", CD_OPT_PREFIX, NULL,
	 "a request header NAME (secret when NAME says auth, pass, secret, token or key)", NULL, 0, 0},
	{"traces", CD_OPT_BOOL, "true", "send span records to v1/traces", NULL, 0, 0},
	{"logs", CD_OPT_BOOL, "true", "send log records to v1/logs", NULL, 0, 0},
	{"user", CD_OPT_STRING, NULL, "HTTP basic auth", NULL, 0, 0},
	{"password", CD_OPT_STRING, NULL, "its password", NULL, 0, CD_OPT_SECRET},
	{"tls", CD_OPT_BOOL, "false (otlps: true)", "https", NULL, 0, 0},
	{"ca_file", CD_OPT_STRING, "the system's", "PEM file of the CAs that verify the server", NULL, 0, 0},
	{"cert_file", CD_OPT_STRING, NULL, "PEM client certificate (with key_file)", NULL, 0, 0},
	{"key_file", CD_OPT_STRING, NULL, "PEM private key of cert_file", NULL, 0, 0},
	{"insecure", CD_OPT_BOOL, "false", "do not verify the server's certificate (tests only)", NULL, 0, 0},
	{"gzip", CD_OPT_BOOL, "true", "Content-Encoding gzip", NULL, 0, 0},
	{"gzip_level", CD_OPT_UINT, "1", "zlib level 1..9", NULL, 9, 0},
	{"inflight", CD_OPT_UINT, "4", "requests at once, 1..32", NULL, CD_OTLP_INFLIGHT_MAX, 0},
	{"timeout", CD_OPT_DURATION, "10s", "one request", NULL, 0, 0},
	{"connect_timeout", CD_OPT_DURATION, "5s", "one connect", NULL, 0, 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

/* --- options ----------------------------------------------------------------- */

static int otlp_check(const struct cd_output_conf *oc, struct cd_err *err)
{
	const char *enc = cd_opt_get(&oc->opts, "encoding"), *ca = cd_opt_get(&oc->opts, "ca_file");
	const char *cert = cd_opt_get(&oc->opts, "cert_file"), *key = cd_opt_get(&oc->opts, "key_file");
	unsigned nh = 0;
	char host[256];
	uint16_t port;
	uint64_t u;
	bool b, tr, lg;
	int rc;

	rc = cd_opt_hostport(&oc->opts, "address", 4318, host, sizeof(host), &port, err);
	if (rc == -CD_ENOENT)
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: no address (otlp://HOST:PORT)", oc->name);
	if (rc < 0)
		return rc;
	if (enc && strcmp(enc, "protobuf") != 0 && strcmp(enc, "json") != 0)
		return cd_opt_fail(&oc->opts, "encoding", "expected protobuf or json", err);
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
	for (unsigned i = 0; i < oc->opts.n; i++) {
		const struct cd_opt *o = &oc->opts.v[i];
		const char *name = o->key + 8;
		if (strncmp(o->key, "headers.", 8) != 0)
			continue;
		if (++nh > CD_OTLP_HEADERS_MAX)
			return cd_opt_fail(&oc->opts, o->key, "too many headers", err);
		/* a header name is a token; a value has no line break (it would start another header) */
		if (!*name || strpbrk(name, " \t:\r\n()<>@,;\\\"/[]?={}"))
			return cd_opt_fail(&oc->opts, o->key, "not a header name", err);
		if (!strcasecmp(name, "content-type") || !strcasecmp(name, "content-encoding") ||
		    !strcasecmp(name, "content-length"))
			return cd_opt_fail(&oc->opts, o->key, "set by the output (encoding, gzip)", err);
		if (strpbrk(o->val, "\r\n"))
			return cd_opt_fail(&oc->opts, o->key, "a header value has no line break", err);
	}
	if ((rc = cd_opt_u64(&oc->opts, "gzip_level", 1, 9, &u, err)) < 0)
		return rc;
	if (u == 0)
		return cd_opt_fail(&oc->opts, "gzip_level", "expected 1..9", err);
	if ((rc = cd_opt_u64(&oc->opts, "inflight", 4, CD_OTLP_INFLIGHT_MAX, &u, err)) < 0)
		return rc;
	if (u == 0)
		return cd_opt_fail(&oc->opts, "inflight", "at least 1", err);
	if ((rc = cd_opt_ms(&oc->opts, "timeout", 10000, &u, err)) < 0 ||
	    (rc = cd_opt_ms(&oc->opts, "connect_timeout", 5000, &u, err)) < 0)
		return rc;
	if ((rc = cd_opt_bool(&oc->opts, "tls", false, &b, err)) < 0 ||
	    (rc = cd_opt_bool(&oc->opts, "insecure", false, &b, err)) < 0 ||
	    (rc = cd_opt_bool(&oc->opts, "gzip", true, &b, err)) < 0 ||
	    (rc = cd_opt_bool(&oc->opts, "traces", true, &tr, err)) < 0 ||
	    (rc = cd_opt_bool(&oc->opts, "logs", true, &lg, err)) < 0)
		return rc;
	if (!tr && !lg)
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: traces and logs are both off", oc->name);
	return 0;
}

/* The two signal URLs: SCHEME://HOST:PORT/[PATH/]v1/traces and .../v1/logs. */
static int build_urls(struct otlp_out *st, const struct cd_output_conf *oc, struct cd_err *err)
{
	const char *path = cd_opt_get(&oc->opts, "path");
	char host[256], url[4096];
	uint16_t port;
	bool tls;
	int rc;

	if ((rc = cd_opt_hostport(&oc->opts, "address", 4318, host, sizeof(host), &port, err)) < 0)
		return rc;
	cd_opt_bool(&oc->opts, "tls", strcmp(oc->plugin->name, "otlps") == 0, &tls, err);
	while (path && *path == '/')
		path++;
	for (int s = 0; s < NSIG; s++) {
		size_t pl = path ? strlen(path) : 0;
		while (pl && path[pl - 1] == '/')
			pl--;
		if ((size_t)snprintf(url, sizeof(url), "%s://%s%s%s:%u/%.*s%s%s", tls ? "https" : "http",
				     strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", port,
				     (int)pl, pl ? path : "", pl ? "/" : "", sig_path[s]) >= sizeof(url))
			return cd_err_set(err, -CD_EINVAL, 0, "output %s: URL too long", oc->name);
		if (!(st->url[s] = strdup(url)))
			return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	}
	return 0;
}

/* --- batches and requests ------------------------------------------------------ */

static void batch_free(struct batch *b)
{
	if (!b)
		return;
	for (int s = 0; s < NSIG; s++) {
		ow_release(&b->raw[s]);
		free(b->gz[s]);
	}
	free(b);
}

static void batch_unlink(struct otlp_out *st, struct batch *b)
{
	struct batch **pp = &st->head, *prev = NULL;

	for (; *pp; prev = *pp, pp = &(*pp)->next)
		if (*pp == b) {
			*pp = b->next;
			if (st->tail == b)
				st->tail = prev;
			return;
		}
}

static struct batch *batch_find(struct otlp_out *st, uint64_t seq)
{
	for (struct batch *b = st->head; b; b = b->next)
		if (b->seq == seq)
			return b;
	return NULL;
}

/* Which signals @b has a request for (a request holds at least one record). */
static unsigned batch_all(const struct batch *b)
{
	return (b->nrec[SIG_TRACES] ? 1u : 0u) | (b->nrec[SIG_LOGS] ? 2u : 0u);
}

static unsigned running(const struct otlp_out *st)
{
	return http_running(st->http[SIG_TRACES]) + http_running(st->http[SIG_LOGS]);
}

/* Past CD_OTLP_KEPT_MAX batches waiting for a retry, free the oldest of them. */
static void forget_idle(struct otlp_out *st)
{
	unsigned n = 0;

	for (const struct batch *b = st->head; b; b = b->next)
		n += !b->handed && !b->running;
	for (struct batch *b = st->head, *next; b && n > CD_OTLP_KEPT_MAX; b = next) {
		next = b->next;
		if (b->handed || b->running)
			continue;
		batch_unlink(st, b);
		batch_free(b);
		n--;
	}
}

/* A batch whose requests all ended: its chunk's outcome. */
static void batch_settle(struct otlp_out *st, struct batch *b)
{
	if (b->running)
		return;
	if (b->done == batch_all(b)) {
		batch_unlink(st, b);
		if (b->handed)
			pl_out_done(st->pl, st->idx, b->seq, OUT_OK, NULL);
		batch_free(b);
		return;
	}
	if (!b->failed)
		return; /* requests still to send */
	b->failed = false;
	if (b->handed) {
		b->handed = false;
		pl_out_done(st->pl, st->idx, b->seq, OUT_RETRY, b->why);
	}
}

/*
 * The records of @b's chunk that went into its @sig request, which the
 * receiver refused for good (@code, saying @text): to the dead-letter
 * files (pl_deadletter()). Return: 0, or -1 when one cannot be kept (the
 * chunk is retried).
 */
static int deadletter_signal(struct otlp_out *st, const struct batch *b, unsigned long sig, long code,
			     const char *text)
{
	static struct fmt_record rec; /* large; the loop is single-threaded */
	struct record_src src;
	struct chunk_iter it;
	char reason[24];

	if (!b->handed) {
		/* its chunk may be in the spool now, not in memory: counted, not kept */
		char why[HTTP_TEXT_MAX + 48];

		snprintf(why, sizeof(why), "%s: status %ld: %s", sig_name[sig], code, text);
		cd_drop("output", st->oc->name, "refused", b->nrec[sig], why);
		return 0;
	}
	snprintf(reason, sizeof(reason), "http_%ld", code);
	chunk_iter_init(&it, b->c);
	while (chunk_iter_next(&it, &rec, &src) == 1)
		if ((unsigned long)otlp_record_signal(st->enc, &rec, &src) == sig &&
		    pl_deadletter(st->pl, st->idx, src.raw ? NULL : &rec, &src, reason, text) < 0)
			return -1;
	return 0;
}

static void req_done(void *arg, void *ctx, unsigned long sig, const struct http_result *r)
{
	struct otlp_out *st = arg;
	struct batch *b = ctx;
	long code = r->status;

	b->running &= ~(1u << sig);
	if (r->answered && code >= 200 && code < 300) {
		/* a partial success: the server dropped some records for good, and says so */
		uint64_t rej = otlp_partial_rejected((const uint8_t *)r->text, r->text_len, st->json,
						     r->text_len >= HTTP_TEXT_MAX - 1);

		if (rej > b->nrec[sig])
			rej = b->nrec[sig];
		cd_drop("output", st->oc->name, "partial_success", rej, st->json ? r->text : sig_name[sig]);
		b->done |= 1u << sig;
		st->rejected[sig] += rej;
		st->sent[sig] += b->nrec[sig] - rej;
		st->requests++;
		st->bytes += b->gz[sig] ? b->gzlen[sig] : b->raw[sig].len;
	} else if (r->answered && (code == 400 || code == 413 || code == 422) &&
		   deadletter_signal(st, b, sig, code, r->text) == 0) {
		/* the content is refused: the same bytes would be refused again; its records are in
		 * the dead-letter files (replayed by clewd --replay-deadletter) */
		b->done |= 1u << sig;
		st->rejected[sig] += b->nrec[sig];
	} else {
		b->failed = true;
		st->retries++;
		if (r->answered && (code == 429 || code == 503) && r->retry_after >= 0) {
			long s = r->retry_after < CD_OTLP_RETRY_AFTER_MAX_S ? r->retry_after
									    : CD_OTLP_RETRY_AFTER_MAX_S;
			b->not_before = cd_mono_ns() + (int64_t)s * 1000 * NS_PER_MS;
		}
		if (!r->answered)
			snprintf(b->why, sizeof(b->why), "otlp %s: %.180s", sig_name[sig], r->error);
		else
			snprintf(b->why, sizeof(b->why), "otlp %s: HTTP %ld: %.150s", sig_name[sig], code,
				 r->text);
	}
	batch_settle(st, b);
}

/* Start what may start: requests of handed batches past their Retry-After, up to inflight_max. */
static void start_more(struct otlp_out *st, int64_t now)
{
	for (struct batch *b = st->head; b && running(st) < st->inflight_max; b = b->next) {
		if (b->failed || !b->handed || b->not_before > now)
			continue;
		for (int s = 0; s < NSIG && running(st) < st->inflight_max; s++) {
			unsigned bit = 1u << s;
			const void *body = b->gz[s] ? (const void *)b->gz[s] : b->raw[s].data;
			size_t len = b->gz[s] ? b->gzlen[s] : b->raw[s].len;

			if (!(batch_all(b) & bit) || ((b->done | b->running) & bit))
				continue;
			if (http_post(st->http[s], body, len, b, (unsigned long)s, NULL) < 0) {
				snprintf(b->why, sizeof(b->why), "otlp: cannot start a request");
				b->failed = true;
				batch_settle(st, b);
				return; /* the list may have changed */
			}
			b->running |= bit;
		}
	}
}

static void arm_timer(struct otlp_out *st)
{
	int64_t now = cd_mono_ns(), at = INT64_MAX;
	struct itimerspec its;

	if (running(st))
		at = now + DRIVE_MS * NS_PER_MS;
	for (const struct batch *b = st->head; b; b = b->next)
		if (b->handed && !b->running && b->not_before > now && b->not_before < at)
			at = b->not_before;
	memset(&its, 0, sizeof(its));
	if (at != INT64_MAX) {
		if (at <= now)
			at = now + NS_PER_MS;
		its.it_value.tv_sec = (time_t)((at - now) / 1000000000);
		its.it_value.tv_nsec = (long)((at - now) % 1000000000);
	}
	timerfd_settime(st->tfd, 0, &its, NULL);
}

static void drive(struct otlp_out *st)
{
	st->last_drive_ns = cd_mono_ns();
	start_more(st, st->last_drive_ns);
	for (int s = 0; s < NSIG; s++)
		http_drive(st->http[s]);
	start_more(st, cd_mono_ns());
	/*
	 * Progress only: an outcome is read on the next drive, never in the
	 * one flush() runs, where pl_out_done() for its own chunk would be lost.
	 */
	for (int s = 0; s < NSIG; s++)
		if (http_running(st->http[s]))
			http_perform(st->http[s]);
}

static void on_timer(void *arg)
{
	struct otlp_out *st = arg;
	uint64_t n;

	while (read(st->tfd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		;
	drive(st);
	arm_timer(st);
}

/* --- the plugin --------------------------------------------------------------------- */

static void otlp_close(void *state);

/* The headers.NAME options as "NAME: VALUE" lines, NULL-terminated, into @lines (freed by the caller). */
static int header_lines(const struct cd_output_conf *oc, char **lines, struct cd_err *err)
{
	unsigned n = 0;

	for (unsigned i = 0; i < oc->opts.n && n < CD_OTLP_HEADERS_MAX; i++) {
		const struct cd_opt *o = &oc->opts.v[i];
		size_t len;
		if (strncmp(o->key, "headers.", 8) != 0)
			continue;
		len = strlen(o->key) + strlen(o->val) + 3;
		if (!(lines[n] = malloc(len)))
			return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
		snprintf(lines[n++], len, "%s: %s", o->key + 8, o->val);
	}
	lines[n] = NULL;
	return 0;
}

static int otlp_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_output_conf *oc,
		     struct cd_err *err)
{
	char *headers[CD_OTLP_HEADERS_MAX + 1] = {0};
	struct otlp_enc_opts eo = {.scope_name = "clewd", .scope_version = CLEWD_VERSION};
	struct http_conf hc = {0};
	struct otlp_out *st;
	const char *enc;
	char shown[4096];
	uint64_t u;
	int rc;

	if ((rc = otlp_check(oc, err)) < 0)
		return rc;
	if (!(st = calloc(1, sizeof(*st))))
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	st->tfd = -1;
	st->pl = pl;
	st->idx = idx;
	st->oc = oc;
	enc = cd_opt_get(&oc->opts, "encoding");
	eo.encoding = enc && strcmp(enc, "json") == 0 ? OTLP_ENC_JSON : OTLP_ENC_PROTOBUF;
	st->json = eo.encoding == OTLP_ENC_JSON;
	cd_opt_bool(&oc->opts, "traces", true, &eo.traces, err);
	cd_opt_bool(&oc->opts, "logs", true, &eo.logs, err);
	cd_opt_bool(&oc->opts, "gzip", true, &st->gzip, err);
	cd_opt_bool(&oc->opts, "insecure", false, &hc.insecure, err);
	cd_opt_u64(&oc->opts, "gzip_level", 1, 9, &u, err);
	hc.gzip_level = (int)u;
	cd_opt_u64(&oc->opts, "inflight", 4, CD_OTLP_INFLIGHT_MAX, &u, err);
	st->inflight_max = (unsigned)u;
	cd_opt_ms(&oc->opts, "timeout", 10000, &hc.timeout_ms, err);
	cd_opt_ms(&oc->opts, "connect_timeout", 5000, &hc.connect_timeout_ms, err);
	hc.content_type = eo.encoding == OTLP_ENC_JSON ? "application/json" : "application/x-protobuf";
	hc.gzip = st->gzip;
	hc.max_conns = st->inflight_max;
	hc.user = cd_opt_get(&oc->opts, "user");
	hc.password = cd_opt_get(&oc->opts, "password");
	hc.ca_file = cd_opt_get(&oc->opts, "ca_file");
	hc.cert_file = cd_opt_get(&oc->opts, "cert_file");
	hc.key_file = cd_opt_get(&oc->opts, "key_file");
	hc.headers = (const char *const *)headers;
	if ((rc = otlp_enc_new(&st->enc, &eo)) < 0) {
		cd_err_set(err, rc, ENOMEM, "out of memory");
		goto err;
	}
	if ((rc = build_urls(st, oc, err)) < 0 || (rc = header_lines(oc, headers, err)) < 0)
		goto err;
	for (int s = 0; s < NSIG; s++) {
		hc.url = st->url[s];
		if ((rc = http_client_new(&st->http[s], &hc, req_done, st, err)) < 0)
			goto err;
	}
	st->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (st->tfd < 0 || pl_watch_fd(pl, st->tfd, on_timer, st) < 0) {
		rc = cd_err_set(err, -CD_EIO, errno, "output %s: timerfd: %s", oc->name, strerror(errno));
		if (st->tfd >= 0)
			close(st->tfd);
		st->tfd = -1;
		goto err;
	}
	for (unsigned i = 0; headers[i]; i++)
		free(headers[i]);
	cd_log(FMT_LEVEL_INFO, "otlp: sending", "output", oc->name, "traces",
	       cd_uri_masked(st->url[SIG_TRACES], shown, sizeof(shown)), "encoding",
	       eo.encoding == OTLP_ENC_JSON ? "json" : "protobuf", NULL);
	*state = st;
	return 0;
err:
	for (unsigned i = 0; headers[i]; i++)
		free(headers[i]);
	otlp_close(st);
	return rc;
}

static enum out_result otlp_flush(void *state, const struct chunk *c, struct cd_err *err)
{
	struct otlp_out *st = state;
	struct batch *b = batch_find(st, chunk_seq(c));
	int rc;

	if (!b) {
		if (!(b = calloc(1, sizeof(*b)))) {
			cd_err_set(err, -CD_ENOMEM, ENOMEM, "otlp: out of memory");
			return OUT_RETRY;
		}
		b->seq = chunk_seq(c);
		/* the chunk's opening (monotonic) as wall time: when clewd observed its records */
		rc = otlp_encode_chunk(st->enc, c, cd_real_ns() - (cd_mono_ns() - chunk_opened_ns(c)),
				       &b->raw[SIG_TRACES], &b->raw[SIG_LOGS], &b->nrec[SIG_TRACES],
				       &b->nrec[SIG_LOGS], &st->es);
		for (int s = 0; !rc && st->gzip && s < NSIG; s++) {
			if (b->raw[s].len && http_gzip(st->http[s], b->raw[s].data, b->raw[s].len, &b->gz[s],
						       &b->gzcap[s], &b->gzlen[s]) < 0)
				rc = -CD_ENOMEM;
			ow_release(&b->raw[s]); /* the gzip'ed form is what is sent, and sent again */
		}
		if (rc < 0) {
			batch_free(b);
			cd_err_set(err, rc, 0, "otlp: %s",
				   rc == -CD_ECORRUPT ? "corrupt chunk" : "out of memory");
			return rc == -CD_ECORRUPT ? OUT_FAIL : OUT_RETRY;
		}
		if (!batch_all(b)) {
			batch_free(b); /* nothing to send (metric records only): delivered */
			return OUT_OK;
		}
		b->next = NULL;
		if (st->tail)
			st->tail->next = b;
		else
			st->head = b;
		st->tail = b;
	}
	b->c = c;
	b->handed = true;
	b->failed = false;
	forget_idle(st);
	drive(st);
	arm_timer(st);
	return OUT_PENDING;
}

static void otlp_poll(void *state, int64_t now_ns)
{
	struct otlp_out *st = state;

	/* polled on every turn of the loop while chunks are pending: curl's progress once a ms is plenty */
	if (now_ns - st->last_drive_ns < NS_PER_MS)
		return;
	drive(st);
	arm_timer(st);
}

static void otlp_metrics(void *state, struct metrics *m, const char *label)
{
	struct otlp_out *st = state;

	metrics_add(m, "clewd_output_otlp_spans_total", METRICS_COUNTER, "Spans the OTLP receiver accepted.",
		    label, (double)st->sent[SIG_TRACES]);
	metrics_add(m, "clewd_output_otlp_log_records_total", METRICS_COUNTER,
		    "Log records the OTLP receiver accepted.", label, (double)st->sent[SIG_LOGS]);
	metrics_add(m, "clewd_output_otlp_rejected_spans_total", METRICS_COUNTER,
		    "Spans dropped: refused (400/413/422, partial success), logged, not retried.", label,
		    (double)st->rejected[SIG_TRACES]);
	metrics_add(m, "clewd_output_otlp_rejected_log_records_total", METRICS_COUNTER,
		    "Log records dropped: their request was refused (400/413/422), logged, not retried.",
		    label, (double)st->rejected[SIG_LOGS]);
	metrics_add(m, "clewd_output_otlp_skipped_records_total", METRICS_COUNTER,
		    "Records not sent: metric records, or a signal turned off.", label,
		    (double)st->es.skipped);
	metrics_add(m, "clewd_output_otlp_hashed_ids_total", METRICS_COUNTER,
		    "Trace/span IDs that were not OTLP hex, sent hashed (the original as an attribute).",
		    label, (double)st->es.hashed_ids);
	metrics_add(m, "clewd_output_otlp_requests_total", METRICS_COUNTER, "Export requests answered 2xx.",
		    label, (double)st->requests);
	metrics_add(m, "clewd_output_otlp_retries_total", METRICS_COUNTER,
		    "Export requests that failed (429, 5xx, 401/403/404, network) and were retried.", label,
		    (double)st->retries);
	metrics_add(m, "clewd_output_otlp_sent_bytes_total", METRICS_COUNTER,
		    "Body bytes of successful export requests (compressed when gzip is on).", label,
		    (double)st->bytes);
	metrics_add(m, "clewd_output_otlp_inflight_requests", METRICS_GAUGE, "Export requests in flight.",
		    label, (double)running(st));
}

static void otlp_close(void *state)
{
	struct otlp_out *st = state;

	if (!st)
		return;
	if (st->tfd >= 0) {
		pl_unwatch_fd(st->pl, st->tfd);
		close(st->tfd);
	}
	for (int s = 0; s < NSIG; s++) {
		http_client_free(st->http[s]); /* running requests are given up: not acknowledged */
		free(st->url[s]);
	}
	while (st->head) {
		struct batch *b = st->head;
		st->head = b->next;
		batch_free(b);
	}
	otlp_enc_free(st->enc);
	free(st);
}

static const struct out_plugin out_otlp = {
	.check = otlp_check,
	.open = otlp_open,
	.flush = otlp_flush,
	.poll = otlp_poll,
	.metrics = otlp_metrics,
	.close = otlp_close,
};

const struct cd_plugin_desc out_otlp_desc = {
	.name = "otlp",
	.scheme = "otlp",
	.usage = "otlp://HOST:PORT[/PATH][?encoding=json&headers.NAME=VALUE...]",
	.summary = "OTLP/HTTP: span records as spans, log records as logs (OpenTelemetry backends)",
	.opts = otlp_opts,
	.flags = CD_PLUGIN_URI_OPTS,
	.out = &out_otlp,
};

const struct cd_plugin_desc out_otlps_desc = {
	.name = "otlps",
	.scheme = "otlps",
	.usage = "otlps://HOST:PORT[/PATH][?ca_file=PEM&...]",
	.summary = "OTLP/HTTP over TLS",
	.opts = otlp_opts,
	.flags = CD_PLUGIN_URI_OPTS,
	.out = &out_otlp,
};
