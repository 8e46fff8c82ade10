/*
 * api/api.c - the Jaeger-compatible API's routes, parameters and searches
 * (api.h). Every answer is Jaeger's envelope:
 * {"data":...,"total":N,"limit":N,"offset":0,"errors":null|[{"code","msg"}]}.
 *
 * DESIGN: each request opens the archive read-only (a reader never
 * disturbs clewd's writer, and sees what it has made durable, the open
 * segment included) and reads transaction summaries through
 * arch_summaries(); the search parameters become a query filter
 * (query/filter.h) through the same names tracegrep --find's options use,
 * so both answer the same. Found traces are then built from their records
 * (trace.c). A query is bounded: limit= is capped, and one that runs past
 * CD_API_BUDGET_MS stops with a 503 saying so (it runs on the queries'
 * thread, worker.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_int.h"
#include "httpd.h"
#include <store/archive_sum.h>
#include "query/filter.h"
#include "query/select.h"
#include "util/util.h"
#include "util/banned.h"

bool api_over_budget(const struct req *r)
{
	return cd_mono_ns() - r->t0 > (int64_t)CD_API_BUDGET_MS * 1000000 || atomic_load(&r->api->stopping);
}

int cd_api_new(struct cd_api **out, const char *archive_dir, const char *summary_keys, struct cd_err *err)
{
	struct cd_api *a = calloc(1, sizeof(*a));
	char msg[160] = "out of memory";
	int rc;

	if (!a || (archive_dir && !(a->dir = strdup(archive_dir)))) {
		free(a);
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	}
	rc = summary_keys ? qy_keys_parse(&a->keys, summary_keys, msg, sizeof(msg))
			  : qy_keys_defaults(&a->keys);
	if (rc < 0) {
		cd_api_free(a);
		return cd_err_set(err, rc == -QY_ENOMEM ? -CD_ENOMEM : -CD_EINVAL, 0, "%s", msg);
	}
	*out = a;
	return 0;
}

void cd_api_free(struct cd_api *api)
{
	if (!api)
		return;
	cd_api_worker_free(api);
	qy_keys_release(&api->keys);
	free(api->dir);
	free(api);
}

static void set_reply(struct req *r, unsigned status, bool html, const char *p, size_t len,
		      const char *policy)
{
	api_reply_release(r->out);
	r->out->status = status;
	r->out->html = html;
	jb_put(&r->out->body, p, len);
	if (policy && !(r->out->policy = strdup(policy)))
		r->out->body.oom = true;
	r->out->drop = r->out->body.oom;
}

enum MHD_Result api_reply_json(struct req *r, unsigned status, const struct jb *b)
{
	static const char oom[] = "{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,\"errors\":"
				  "[{\"code\":500,\"msg\":\"out of memory\"}]}";

	if (b->oom)
		set_reply(r, 500, false, oom, sizeof(oom) - 1, NULL);
	else
		set_reply(r, status, false, b->p ? b->p : "", b->len, NULL);
	return r->out->drop ? MHD_NO : MHD_YES;
}

enum MHD_Result api_reply_html(struct req *r, unsigned status, const char *html, size_t len,
			       const char *policy)
{
	set_reply(r, status, true, html, len, policy);
	return r->out->drop ? MHD_NO : MHD_YES;
}

void api_reply_release(struct api_reply *o)
{
	jb_free(&o->body);
	free(o->policy);
	*o = (struct api_reply){0};
}

enum MHD_Result api_reply_send(struct MHD_Connection *c, const struct api_reply *o)
{
	struct MHD_Response *r;
	union {
		const char *c;
		void *v;
	} b = {.c = o->body.p ? o->body.p : ""}; /* MHD's old API takes void *; MUST_COPY never writes */
	enum MHD_Result ret;

	if (o->drop)
		return MHD_NO;
	if (!o->html)
		return cd_httpd_reply(c, o->status, "application/json", b.c, o->body.len);
	r = MHD_create_response_from_buffer(o->body.len, b.v, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
	MHD_add_response_header(r, "Content-Security-Policy", o->policy ? o->policy : "default-src 'none'");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, o->status, r);
	MHD_destroy_response(r);
	return ret;
}

const char *api_param(const struct req *r, const char *name)
{
	for (size_t i = 0; i < r->nargs; i++)
		if (strcmp(r->args[i].key, name) == 0)
			return r->args[i].value && *r->args[i].value ? r->args[i].value : NULL;
	return NULL;
}

/* Jaeger's error envelope: {"data":null,...,"errors":[{"code":@status,"msg":@msg}]}. */
enum MHD_Result api_fail(struct req *r, unsigned status, const char *msg)
{
	struct jb b = {0};
	enum MHD_Result ret;

	jb_printf(&b, "{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,\"errors\":[{\"code\":%u,\"msg\":",
		  status);
	jb_str(&b, msg);
	jb_puts(&b, "}]}");
	ret = api_reply_json(r, status, &b);
	jb_free(&b);
	return ret;
}

/* The readers' stop hook: past the budget, or the server stopping. */
static bool stop_hook(void *arg)
{
	return api_over_budget(arg);
}

/* Open the archive read-only into r->a (closed by the request's end). Return: 0, or <0 with @msg. */
static int api_open(struct req *r, char *msg, size_t cap)
{
	struct arch_options opt;
	struct cd_err err = {0};
	int rc;

	arch_options_default(&opt);
	opt.read_only = true;
	if ((rc = arch_open(&r->a, r->api->dir, &opt, &err)) < 0)
		snprintf(msg, cap, "archive %s: %s", r->api->dir, err.msg[0] ? err.msg : cd_strerror(rc));
	return rc;
}

/* @t moved by @d (either sign), kept within int64 (a time from a request may be near either end). */
static int64_t shifted(int64_t t, int64_t d)
{
	if (d > 0 ? t > INT64_MAX - d : t < INT64_MIN - d)
		return d > 0 ? INT64_MAX : INT64_MIN;
	return t + d;
}

int api_load_newest(struct req *r, size_t newest, char *msg, size_t cap)
{
	/* segments a little beyond the filter's window too: a transaction across its edge stays whole */
	int64_t since = shifted(r->f.since_ns, -API_SLACK_NS), until = shifted(r->f.until_ns, API_SLACK_NS);
	struct cd_err err = {0};
	int rc;

	if ((rc = api_open(r, msg, cap)) < 0)
		return rc;
	qy_txns_init(&r->t, &(struct qy_context){
				    .keys = &r->keys, .filter = &r->f, .stop = stop_hook, .stop_arg = r});
	if ((rc = arch_summaries_newest(r->a, since, until, newest, API_SLACK_NS, &r->t, NULL, &err)) < 0) {
		if (rc == -CD_ELIMIT)
			snprintf(
				msg, cap,
				"query exceeded its time budget (%d ms): narrow the time range or the filters",
				CD_API_BUDGET_MS);
		else
			snprintf(msg, cap, "archive %s: %s", r->api->dir,
				 err.msg[0] ? err.msg : cd_strerror(rc));
		return rc;
	}
	return 0;
}

/* ---- /api/services, /api/services/{service}/operations ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Write @v[0, n) sorted and distinct as the data array, with the envelope:
 * strings, or with @kind objects {"name","spanKind"} (/api/operations).
 */
static void string_list(struct jb *b, const char **v, size_t n, const char *kind)
{
	size_t k = 0;

	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_str);
	jb_puts(b, "{\"data\":[");
	for (size_t i = 0; i < n; i++) {
		if (i && strcmp(v[i], v[i - 1]) == 0)
			continue;
		if (k++)
			jb_puts(b, ",");
		jb_puts(b, kind ? "{\"name\":" : "");
		jb_str(b, v[i]);
		if (kind) {
			jb_puts(b, ",\"spanKind\":");
			jb_str(b, kind);
			jb_puts(b, "}");
		}
	}
	jb_printf(b, "],\"total\":%zu,\"limit\":0,\"offset\":0,\"errors\":null}", k);
}

/* The service names arch_services() hands over, copied. */
struct names {
	char **v;
	size_t n, cap;
};

static int add_name(void *cookie, const char *name, size_t len)
{
	struct names *ns = cookie;
	char *s;

	if (ns->n == ns->cap) {
		char **nv = realloc(ns->v, (ns->cap = ns->cap ? ns->cap * 2 : 64) * sizeof(*nv));

		if (!nv)
			return -CD_ENOMEM;
		ns->v = nv;
	}
	if (!(s = strndup(name, len)))
		return -CD_ENOMEM;
	ns->v[ns->n++] = s;
	return 0;
}

/* Every service: from the segments' indexes, not the summaries (a list, not a search). */
static enum MHD_Result services(struct req *r)
{
	struct names ns = {0};
	struct cd_err err = {0};
	enum MHD_Result ret;
	char msg[512];
	int rc;

	if (api_open(r, msg, sizeof(msg)) < 0)
		return api_fail(r, 500, msg);
	rc = arch_services(r->a, add_name, &ns, NULL, &err);
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "archive %s: %s", r->api->dir,
			 err.msg[0] ? err.msg : cd_strerror(rc));
		ret = api_fail(r, 500, msg);
	} else {
		const char **view = calloc(ns.n + 1, sizeof(*view));

		for (size_t i = 0; view && i < ns.n; i++)
			view[i] = ns.v[i];
		if (view) {
			string_list(&r->b, view, ns.n, NULL);
			ret = api_reply_json(r, 200, &r->b);
		} else {
			ret = api_fail(r, 500, "out of memory");
		}
		free(view);
	}
	for (size_t i = 0; i < ns.n; i++)
		free(ns.v[i]);
	free(ns.v);
	return ret;
}

static int add(struct req *r, const char *name, const char *value, char *msg, size_t cap)
{
	return qy_filter_add(&r->f, name, value, 0, msg, cap);
}

/*
 * The operations of @service: the root "METHOD path" of the transactions
 * it is the root service of, among its newest CD_API_OPERATIONS_TXNS (a
 * list to pick from, not a census: read newest first, it stays fast on
 * any archive). As strings, or with @kind as Jaeger's /api/operations
 * objects (a root operation is where a request entered: a server span).
 */
static enum MHD_Result operations(struct req *r, const char *service, const char *kind)
{
	char **own = NULL, msg[512];
	const char **v = NULL;
	size_t n = 0;
	enum MHD_Result ret;
	int rc;

	if (add(r, "service", service, msg, sizeof(msg)) < 0)
		return api_fail(r, 400, msg);
	if ((rc = api_load_newest(r, CD_API_OPERATIONS_TXNS, msg, sizeof(msg))) < 0)
		return api_fail(r, rc == -CD_ELIMIT ? 503 : 500, msg);
	if (api_over_budget(r))
		return api_fail(r, 503, "query exceeded its time budget (5 s)");
	own = calloc(r->t.n + 1, sizeof(*own));
	v = calloc(r->t.n + 1, sizeof(*v));
	if (!own || !v) {
		free(own);
		free(v);
		return api_fail(r, 500, "out of memory");
	}
	for (size_t i = 0; i < r->t.n; i++) {
		const struct qy_summary *s = &r->t.v[i];
		struct jb op = {0};

		if (!s->root_service || strcmp(s->root_service, service) != 0 ||
		    (!s->root_method && !s->root_path))
			continue;
		jb_puts(&op, s->root_method ? s->root_method : "");
		jb_puts(&op, s->root_method && s->root_path ? " " : "");
		jb_puts(&op, s->root_path ? s->root_path : "");
		if (op.p) {
			own[n] = op.p;
			v[n++] = op.p;
		}
	}
	string_list(&r->b, v, n, kind);
	ret = api_reply_json(r, 200, &r->b);
	for (size_t i = 0; i < n; i++)
		free(own[i]);
	free(own);
	free(v);
	return ret;
}

/* /api/operations?service=&spanKind=: Jaeger's newer form; root operations are server spans. */
static enum MHD_Result kind_operations(struct req *r)
{
	const char *svc = api_param(r, "service"), *kind = api_param(r, "spanKind");

	if (!svc)
		return api_fail(r, 400, "service: required (/api/operations?service=NAME)");
	if (kind && strcmp(kind, "server") != 0) {
		string_list(&r->b, NULL, 0, kind); /* no root operation is of another kind */
		return api_reply_json(r, 200, &r->b);
	}
	return operations(r, svc, "server");
}

/* ---- /api/traces?... ---- */

/* One tag: Jaeger's well-known keys map to the filters of the same meaning, the rest to attributes. */
static int add_tag(struct req *r, const char *k, const char *v, char *msg, size_t cap)
{
	char kv[1024];

	if (strcmp(k, "error") == 0)
		return add(r, "error", v, msg, cap);
	if (qy_status_key(k, strlen(k)))
		return add(r, "status", v, msg, cap);
	/* the keys of OpenTelemetry's semantic conventions, before 1.21 and since */
	if (strcmp(k, "http.method") == 0 || strcmp(k, "http.request.method") == 0 ||
	    strcmp(k, "method") == 0)
		return add(r, "method", v, msg, cap);
	if (strcmp(k, "http.route") == 0 || strcmp(k, "http.target") == 0 || strcmp(k, "url.path") == 0 ||
	    strcmp(k, "path") == 0)
		return add(r, "route", v, msg, cap);
	if ((size_t)snprintf(kv, sizeof(kv), "%s=%s", k, v) >= sizeof(kv)) {
		snprintf(msg, cap, "tag %.64s: too long", k);
		return -QY_EINVAL;
	}
	return add(r, "attr", kv, msg, cap);
}

/*
 * tags={"k":"v",...}: a flat JSON object of strings, numbers or booleans
 * (Jaeger UI sends strings). Return: 0, or -QY_EINVAL with @msg.
 */
static int parse_tags(struct req *r, const char *s, char *msg, size_t cap)
{
	char k[512], v[512];
	int rc;

#define WS()                                                        \
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') \
	s++
	WS();
	if (*s++ != '{')
		goto bad;
	WS();
	if (*s == '}')
		return 0;
	for (;;) {
		char *out[2] = {k, v};

		for (int i = 0; i < 2; i++) {
			size_t n = 0;

			WS();
			if (*s == '"') {
				for (s++; *s && *s != '"'; s++) {
					char ch = *s;

					if (ch == '\\') {
						s++;
						ch = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
						if (!ch || *s == 'u')
							goto bad; /* \u escapes: not in tag values we know */
					}
					if (n + 1 >= sizeof(k))
						goto bad;
					out[i][n++] = ch;
				}
				if (*s++ != '"')
					goto bad;
			} else if (i == 1) {
				while (*s && *s != ',' && *s != '}' && *s != ' ' && n + 1 < sizeof(v))
					out[i][n++] = *s++;
				if (!n)
					goto bad;
			} else {
				goto bad;
			}
			out[i][n] = 0;
			WS();
			if (i == 0 && *s++ != ':')
				goto bad;
		}
		if ((rc = add_tag(r, k, v, msg, cap)) < 0)
			return rc;
		if (*s == ',') {
			s++;
			continue;
		}
		if (*s++ != '}')
			goto bad;
		WS();
		return *s ? (snprintf(msg, cap, "tags: not one JSON object"), -QY_EINVAL) : 0;
	}
#undef WS
bad:
	snprintf(msg, cap, "tags: expected a JSON object of strings, e.g. {\"error\":\"true\"}");
	return -QY_EINVAL;
}

int api_parse_time(const char *s, int64_t unit_ns, int64_t *ns)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || end == s || v < 0 || v > INT64_MAX / unit_ns)
		return -1;
	*ns = (int64_t)v * unit_ns;
	return 0;
}

static enum MHD_Result listed_traces(struct req *r);

static enum MHD_Result search(struct req *r)
{
	const char *svc = api_param(r, "service"), *op = api_param(r, "operation"),
		   *tags = api_param(r, "tags");
	const char *mind = api_param(r, "minDuration"), *maxd = api_param(r, "maxDuration");
	const char *start = api_param(r, "start"), *end = api_param(r, "end"), *lim = api_param(r, "limit");
	int64_t since = INT64_MIN, until = INT64_MAX;
	const struct qy_summary **v = NULL;
	size_t n = 0, limit = CD_API_LIMIT_DEFAULT, shown = 0;
	long long total;
	char msg[512] = "";
	int rc;

	if (api_param(r, "traceID"))
		return listed_traces(r); /* Jaeger's search by trace IDs: the other filters do not apply */
	if (svc && add(r, "service", svc, msg, sizeof(msg)) < 0)
		return api_fail(r, 400, msg);
	if (op) {
		const char *sp = strchr(op, ' ');

		/* "METHOD /path", as operations lists them; a bare path is a route */
		if (sp) {
			char m[32];
			size_t ml = (size_t)(sp - op);

			if (ml >= sizeof(m))
				return api_fail(r, 400, "operation: expected METHOD /path");
			memcpy(m, op, ml);
			m[ml] = 0;
			if (add(r, "method", m, msg, sizeof(msg)) < 0 ||
			    add(r, "route", sp + 1, msg, sizeof(msg)) < 0)
				return api_fail(r, 400, msg);
		} else if (add(r, *op == '/' ? "route" : "method", op, msg, sizeof(msg)) < 0) {
			return api_fail(r, 400, msg);
		}
	}
	if (tags && parse_tags(r, tags, msg, sizeof(msg)) < 0)
		return api_fail(r, 400, msg);
	if (mind && add(r, "min-duration", mind, msg, sizeof(msg)) < 0)
		return api_fail(r, 400, msg);
	if (maxd && add(r, "max-duration", maxd, msg, sizeof(msg)) < 0)
		return api_fail(r, 400, msg);
	if (start && api_parse_time(start, 1000, &since) < 0)
		return api_fail(r, 400, "start: microseconds since the epoch");
	if (end && api_parse_time(end, 1000, &until) < 0)
		return api_fail(r, 400, "end: microseconds since the epoch");
	r->f.since_ns = since;
	r->f.until_ns = until;
	if (lim) {
		char *e;
		long long l = strtoll(lim, &e, 10);

		if (*e || l < 0)
			return api_fail(r, 400, "limit: a count");
		limit = l == 0 || l > CD_API_LIMIT_MAX ? CD_API_LIMIT_MAX : (size_t)l;
	}
	if (qy_filter_keys(&r->f, &r->keys) < 0)
		return api_fail(r, 400, "too many tags");
	/* newest first, older segments only while they may hold one of the @limit newest */
	if ((rc = api_load_newest(r, limit, msg, sizeof(msg))) < 0)
		return api_fail(r, rc == -CD_ELIMIT ? 503 : 500, msg);
	total = qy_select(&r->t, &r->f, QY_SORT_START, limit, &v, &n);
	if (total < 0)
		return api_fail(r, 500, "out of memory");
	jb_puts(&r->b, "{\"data\":[");
	for (size_t i = 0; i < n; i++) {
		size_t mark = r->b.len;

		if (api_over_budget(r)) {
			free(v);
			snprintf(msg, sizeof(msg),
				 "query exceeded its time budget (%d ms) after %zu of %zu traces: narrow "
				 "start/end or lower limit",
				 CD_API_BUDGET_MS, shown, n);
			return api_fail(r, 503, msg);
		}
		if (shown)
			jb_puts(&r->b, ",");
		rc = api_trace_json(r->a, v[i]->trace, &r->b);
		if (rc < 0) {
			free(v);
			return api_fail(r, 500, "cannot read a trace from the archive");
		}
		if (rc == 0) {
			r->b.len = mark; /* gone meanwhile (retention) */
			continue;
		}
		shown++;
	}
	free(v);
	jb_printf(&r->b, "],\"total\":%zu,\"limit\":%zu,\"offset\":0,\"errors\":null}", shown, limit);
	return api_reply_json(r, 200, &r->b);
}

/* ---- /api/traces/{id}, /api/traces?traceID=a&traceID=b ---- */

/*
 * Traces @ids[0, n) as Jaeger answers them: found ones in data, each
 * missing one an error {code 404, msg, traceID} (Jaeger UI's trace
 * compare and its search by ID ask for several). With @one, a missing
 * trace is a 404 answer, as /api/traces/{id} is.
 */
static enum MHD_Result traces_by_id(struct req *r, const char *const *ids, size_t n, bool one)
{
	struct jb missing = {0};
	char msg[512];
	size_t shown = 0, nmissing = 0;
	int rc;

	if (api_open(r, msg, sizeof(msg)) < 0)
		return api_fail(r, 500, msg);
	jb_puts(&r->b, "{\"data\":[");
	for (size_t i = 0; i < n; i++) {
		size_t mark = r->b.len;

		if (api_over_budget(r)) {
			jb_free(&missing);
			return api_fail(r, 503, "query exceeded its time budget: ask for fewer traces");
		}
		if (shown)
			jb_puts(&r->b, ",");
		if ((rc = api_trace_json(r->a, ids[i], &r->b)) < 0) {
			jb_free(&missing);
			return api_fail(r, 500, "cannot read a trace from the archive");
		}
		if (rc == 1) {
			shown++;
			continue;
		}
		r->b.len = mark;
		if (one)
			return api_fail(r, 404, "trace not found");
		jb_puts(&missing, nmissing++ ? "," : "");
		jb_puts(&missing, "{\"code\":404,\"msg\":\"trace not found\",\"traceID\":");
		jb_str(&missing, ids[i]);
		jb_puts(&missing, "}");
	}
	jb_printf(&r->b, "],\"total\":%zu,\"limit\":0,\"offset\":0,\"errors\":", shown);
	if (nmissing) {
		jb_puts(&r->b, "[");
		jb_put(&r->b, missing.p, missing.len);
		jb_puts(&r->b, "]}");
	} else {
		jb_puts(&r->b, "null}");
	}
	jb_free(&missing);
	return api_reply_json(r, 200, &r->b);
}

static enum MHD_Result one_trace(struct req *r, const char *id)
{
	return traces_by_id(r, &id, 1, true);
}

/* The traceID= arguments of @r (at most CD_API_LIMIT_MAX). */
static enum MHD_Result listed_traces(struct req *r)
{
	const char *ids[CD_API_LIMIT_MAX];
	size_t n = 0;

	for (size_t i = 0; i < r->nargs; i++)
		if (strcmp(r->args[i].key, "traceID") == 0 && r->args[i].value && *r->args[i].value) {
			if (n == CD_API_LIMIT_MAX) {
				char msg[64];

				snprintf(msg, sizeof(msg), "traceID: at most %d traces", CD_API_LIMIT_MAX);
				return api_fail(r, 400, msg);
			}
			ids[n++] = r->args[i].value;
		}
	return traces_by_id(r, ids, n, false);
}

static int hex(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* Decode %XX in a path segment into @out (@cap bytes). Return: 0, or -1 (bad, too long, or a NUL). */
static int unescape(const char *s, size_t n, char *out, size_t cap)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (k + 1 >= cap)
			return -1;
		if (s[i] == '%' && i + 2 < n && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0 &&
		    (v = (unsigned)(hex(s[i + 1]) * 16 + hex(s[i + 2])))) {
			out[k++] = (char)v;
			i += 2;
		} else if (s[i] == '%') {
			return -1;
		} else {
			out[k++] = s[i];
		}
	}
	out[k] = 0;
	return k ? 0 : -1;
}

void api_answer(struct req *r, const char *url)
{
	char seg[1024];

	r->t0 = cd_mono_ns();
	if (!r->api->dir && strncmp(url, "/api/", 5) != 0) {
		api_page_reply(r, 404, "<p>clewd has no archive output: the search reads the archive.</p>");
		return;
	}
	if (!r->api->dir) {
		api_fail(r, 404, "clewd has no archive output: the API reads the archive");
		return;
	}
	qy_filter_init(&r->f);
	if (qy_keys_copy(&r->keys, &r->api->keys) < 0) {
		api_fail(r, 500, "out of memory");
		return;
	}
	if (strcmp(url, "/api/services") == 0) {
		services(r);
	} else if (strncmp(url, "/api/services/", 14) == 0 && strlen(url) > 25 &&
		   strcmp(url + strlen(url) - 11, "/operations") == 0) {
		if (unescape(url + 14, strlen(url) - 25, seg, sizeof(seg)) < 0)
			api_fail(r, 400, "bad service name");
		else
			operations(r, seg, NULL);
	} else if (strcmp(url, "/api/dependencies") == 0) {
		api_dependencies(r);
	} else if (strcmp(url, "/api/operations") == 0) {
		kind_operations(r);
	} else if (strcmp(url, "/") == 0) {
		api_page(r);
	} else if (strncmp(url, "/trace/", 7) == 0 && !strchr(url + 7, '/')) {
		if (unescape(url + 7, strlen(url + 7), seg, sizeof(seg)) < 0)
			api_page_reply(r, 400, "<p>bad trace ID</p>");
		else
			api_trace_page(r, seg);
	} else if (strcmp(url, "/api/traces") == 0) {
		search(r);
	} else if (strncmp(url, "/api/traces/", 12) == 0 && !strchr(url + 12, '/')) {
		if (unescape(url + 12, strlen(url + 12), seg, sizeof(seg)) < 0)
			api_fail(r, 400, "bad trace ID");
		else
			one_trace(r, seg);
	} else {
		api_fail(
			r, 404,
			"no such endpoint: /api/services, /api/services/{service}/operations, "
			"/api/operations?service=&spanKind=, /api/dependencies?endTs=&lookback=, "
			"/api/traces?service=&operation=&tags=&minDuration=&maxDuration=&start=&end=&limit=, "
			"/api/traces/{traceID}");
	}
}

void api_req_release(struct req *r)
{
	if (r->t.v || r->t.slots)
		qy_txns_release(&r->t);
	arch_close(r->a, NULL);
	qy_filter_release(&r->f);
	qy_keys_release(&r->keys);
	jb_free(&r->b);
}
