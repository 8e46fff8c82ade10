/*
 * find_corpus.c - tracegrep --find's test corpus with known summaries (see find_corpus.h).
 *
 * DESIGN: transaction k starts at BASE + k * 100 ms and lasts D(k) (10 to
 * 130 ms); its shape is chosen by k so that every filter has some
 * transactions to take and some to leave:
 *   gateway (pipe, odd k in app.log, even k in the gzip app.log.1.gz)
 *                    root route by k % 4: POST /checkout, GET
 *                    /api/v1/orders/K, GET /search, DELETE /api/v1/orders/K;
 *                    k % 3 == 0: a record of the transaction itself first
 *                    (duration: first to last record); else an event=span
 *                    record for span G (duration: its dur_us) and a late
 *                    record after its end, which must not count;
 *                    final status 503 (k % 7 == 0), 404 (k % 11 == 0), else
 *                    201 (POST) or 200
 *   downstream by k % 5: orders; billing; orders + inventory; search;
 *                    billing + inventory
 *   orders (JSON)    order=K, tenant; a db.insert span record whose status
 *                    is "error" when k % 13 == 5 (a failure with no 5xx)
 *   billing (pipe, gzip) k % 6 == 1: an ERROR record "charge failed #K"
 *                    (k % 12 == 1: with a stack trace saying "timeout")
 *                    and status 502
 *   inventory (JSON) GET /stock/N under orders' or billing's span
 *   search (JSON)    k % 45 == 13: a WARN "rate limited (timeout budget)"
 *                    with status 429
 * The truth of each field is computed here as the records are made, the
 * way formats/tracegrep-find.md defines it. One more transaction holds
 * terminal control sequences and invalid UTF-8 in its values.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "fmt/ts.h"
#include "find_corpus.h"

enum { F_GW_OLD, F_GW, F_ORDERS, F_BILLING, F_INV, F_SEARCH, F_COUNT };

static const char *const file_names[F_COUNT] = {"gateway/app.log.1.gz",	   "gateway/app.log",
						"orders/orders.log",	   "billing/billing.log.gz",
						"inventory/inventory.log", "search/search.log"};

/* 2026-11-23T07:00:00Z in microseconds. */
#define BASE_US (INT64_C(1795417200) * 1000000)

struct line {
	int file;
	int64_t ts;
	char *text;
};

static struct line *lines;
static size_t nlines, cap_lines;

static const char *ts(int64_t us)
{
	static char buf[4][FMT_TS_MAX];
	static int k;

	k = (k + 1) % 4;
	fmt_ts_format(us * 1000, 6, buf[k]);
	return buf[k];
}

static void emit(struct fc_txn *t, int file, int64_t at, const char *f, ...)
	__attribute__((format(printf, 4, 5)));
static void emit(struct fc_txn *t, int file, int64_t at, const char *f, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, f);
	n = vsnprintf(NULL, 0, f, ap);
	va_end(ap);
	s = malloc((size_t)n + 1);
	va_start(ap, f);
	vsnprintf(s, (size_t)n + 1, f, ap);
	va_end(ap);
	if (nlines == cap_lines) {
		cap_lines = cap_lines ? cap_lines * 2 : 1024;
		lines = realloc(lines, cap_lines * sizeof(*lines));
	}
	lines[nlines++] = (struct line){file, at, s};
	t->records++;
}

static void add_service(struct fc_txn *t, const char *s)
{
	size_t i = 0;

	while (i < t->nservices && strcmp(t->services[i], s) < 0)
		i++;
	if (i < t->nservices && strcmp(t->services[i], s) == 0)
		return;
	memmove(t->services + i + 1, t->services + i, (t->nservices - i) * sizeof(*t->services));
	t->services[i] = s;
	t->nservices++;
}

static void add_route(struct fc_txn *t, const char *method, const char *path)
{
	t->routes[t->nroutes].method = method;
	snprintf(t->routes[t->nroutes].path, sizeof(t->routes[0].path), "%s", path);
	t->nroutes++;
}

static void status_seen(struct fc_txn *t, int st)
{
	if (st > t->status)
		t->status = st;
}

/* A failure candidate for first_error: class 0 (ERROR record) before 1 (failing status), then earliest. */
static int err_class = 3;
static int64_t err_ts;

static void error_seen(struct fc_txn *t, int cls, int64_t at, const char *msg)
{
	t->error = true;
	if (cls < err_class || (cls == err_class && at < err_ts)) {
		err_class = cls;
		err_ts = at;
		snprintf(t->first_error, sizeof(t->first_error), "%s", msg);
	}
}

static void gen(struct fc_txn *t, int k)
{
	static const char *const methods[] = {"POST", "GET", "GET", "DELETE"};
	const int64_t t0 = BASE_US + (int64_t)k * 100000, d = 10000 + (k * 7919) % 120000;
	const char *m = methods[k % 4];
	int gw = k % 2 ? F_GW : F_GW_OLD, kind = k % 5, gs;
	char T[40], G[24], S[24], D[24], X[24], V[24], Q[24], msg[64];
	const char *V_parent = NULL;

	memset(t, 0, sizeof(*t));
	err_class = 3;
	snprintf(T, sizeof(T), "%016llx%016llx", (unsigned long long)(k + 1) * 0x9e3779b97f4a7c15ull,
		 (unsigned long long)k);
	snprintf(G, sizeof(G), "g%07x", k * 7 + 1);
	snprintf(S, sizeof(S), "s%07x", k * 7 + 2);
	snprintf(D, sizeof(D), "d%07x", k * 7 + 3);
	snprintf(X, sizeof(X), "x%07x", k * 7 + 4);
	snprintf(V, sizeof(V), "v%07x", k * 7 + 5);
	snprintf(Q, sizeof(Q), "q%07x", k * 7 + 6);
	snprintf(t->trace, sizeof(t->trace), "%s", T);
	t->start_us = t0;
	t->dur_us = d;
	t->service = "gateway";
	t->method = m;
	if (k % 4 == 0)
		snprintf(t->path, sizeof(t->path), "/checkout");
	else if (k % 4 == 2)
		snprintf(t->path, sizeof(t->path), "/search");
	else
		snprintf(t->path, sizeof(t->path), "/api/v1/orders/%d", k);
	snprintf(t->user, sizeof(t->user), "u%d", k % 17);
	t->spans = 2; /* T and G */
	add_service(t, "gateway");
	add_route(t, m, t->path);

	/* gateway */
	if (k % 3 == 0) {
		emit(t, gw, t0, "%s INFO %s|gateway|%s|%s|msg=accepted|user=u%d", ts(t0), T, m, t->path,
		     k % 17);
		emit(t, gw, t0 + 500, "%s INFO %s:%s|gateway|%s|%s|msg=routing", ts(t0 + 500), T, G, m,
		     t->path);
	} else {
		emit(t, gw, t0,
		     "%s INFO %s:%s|gateway|%s|%s|event=span|name=request|dur_us=%lld|status=ok|user=u%d",
		     ts(t0), T, G, m, t->path, (long long)d, k % 17);
		emit(t, gw, t0 + d + 7000, "%s DEBUG %s:%s|gateway|%s|%s|msg=late flush", ts(t0 + d + 7000),
		     T, G, m, t->path);
	}
	gs = k % 7 == 0 ? 503 : k % 11 == 0 ? 404 : k % 4 == 0 ? 201 : 200;
	snprintf(msg, sizeof(msg), "%s %s -> %d", m, t->path, gs);
	emit(t, gw, t0 + d, "%s INFO %s:%s|gateway|%s|%s|msg=%s|status=%d", ts(t0 + d), T, G, m, t->path, msg,
	     gs);
	status_seen(t, gs);
	if (gs >= 500)
		error_seen(t, 1, t0 + d, msg);

	/* orders */
	if (kind == 0 || kind == 2) {
		bool dberr = k % 13 == 5;

		add_service(t, "orders");
		add_route(t, "POST", "/orders");
		t->spans += 2;
		snprintf(t->order, sizeof(t->order), "%d", k);
		snprintf(t->tenant, sizeof(t->tenant), "t%d", k % 3);
		emit(t, F_ORDERS, t0 + 2000,
		     "{\"timestamp\":\"%s\",\"level\":\"info\",\"service\":\"orders\",\"trace\":\"%s\",\"span\":\"%s\","
		     "\"parent\":\"%s\",\"method\":\"POST\",\"path\":\"/orders\",\"message\":\"order created\","
		     "\"order\":%d,\"tenant\":\"t%d\"}",
		     ts(t0 + 2000), T, S, G, k, k % 3);
		emit(t, F_ORDERS, t0 + 2500,
		     "{\"timestamp\":\"%s\",\"level\":\"info\",\"service\":\"orders\",\"trace\":\"%s\",\"span\":\"%s\","
		     "\"parent\":\"%s\",\"method\":\"POST\",\"path\":\"/orders\",\"event\":\"span\",\"name\":\"db.insert\","
		     "\"dur_us\":300,\"status\":\"%s\"%s}",
		     ts(t0 + 2500), T, D, S, dberr ? "error" : "ok", dberr ? ",\"error\":\"deadlock\"" : "");
		if (dberr)
			error_seen(t, 1, t0 + 2500, "deadlock");
		emit(t, F_ORDERS, t0 + d - 3000,
		     "{\"timestamp\":\"%s\",\"level\":\"info\",\"service\":\"orders\",\"trace\":\"%s\",\"span\":\"%s\","
		     "\"parent\":\"%s\",\"method\":\"POST\",\"path\":\"/orders\",\"message\":\"POST /orders -> 201\","
		     "\"status\":201}",
		     ts(t0 + d - 3000), T, S, G);
		status_seen(t, 201);
		V_parent = S;
	}

	/* billing */
	if (kind == 1 || kind == 4) {
		bool fail = k % 6 == 1;

		add_service(t, "billing");
		add_route(t, "POST", "/charge");
		t->spans += 1;
		emit(t, F_BILLING, t0 + 3000, "%s INFO %s:%s:%s|billing|POST|/charge|msg=charging order %d",
		     ts(t0 + 3000), T, G, X, k);
		if (fail) {
			snprintf(msg, sizeof(msg), "charge failed #%d", k);
			if (k % 12 == 1) {
				emit(t, F_BILLING, t0 + 4000,
				     "%s ERROR %s:%s:%s|billing|POST|/charge|msg=%s\n"
				     "java.lang.IllegalStateException: processor timeout\n"
				     "\tat billing.Processor.call(Processor.java:212)",
				     ts(t0 + 4000), T, G, X, msg);
				t->timeout_text = true;
			} else {
				emit(t, F_BILLING, t0 + 4000, "%s ERROR %s:%s:%s|billing|POST|/charge|msg=%s",
				     ts(t0 + 4000), T, G, X, msg);
			}
			error_seen(t, 0, t0 + 4000, msg);
			emit(t, F_BILLING, t0 + 5000,
			     "%s INFO %s:%s:%s|billing|POST|/charge|msg=POST /charge -> 502|status=502",
			     ts(t0 + 5000), T, G, X);
			status_seen(t, 502);
			error_seen(t, 1, t0 + 5000, "POST /charge -> 502");
		} else {
			emit(t, F_BILLING, t0 + 5000,
			     "%s INFO %s:%s:%s|billing|POST|/charge|msg=POST /charge -> 200|status=200",
			     ts(t0 + 5000), T, G, X);
			status_seen(t, 200);
		}
		V_parent = X;
	}

	/* inventory */
	if (kind == 2 || kind == 4) {
		char p[24];

		snprintf(p, sizeof(p), "/stock/%d", k % 7);
		add_service(t, "inventory");
		add_route(t, "GET", p);
		t->spans += 1;
		snprintf(t->tenant, sizeof(t->tenant), "t%d", k % 3);
		emit(t, F_INV, t0 + 6000,
		     "{\"timestamp\":\"%s\",\"level\":\"info\",\"service\":\"inventory\",\"trace\":\"%s\",\"span\":\"%s\","
		     "\"parent\":\"%s\",\"method\":\"GET\",\"path\":\"%s\",\"message\":\"stock checked\",\"status\":200,"
		     "\"tenant\":\"t%d\"}",
		     ts(t0 + 6000), T, V, V_parent, p, k % 3);
		status_seen(t, 200);
	}

	/* search */
	if (kind == 3) {
		add_service(t, "search");
		add_route(t, "GET", "/search/internal");
		t->spans += 1;
		snprintf(t->tenant, sizeof(t->tenant), "t%d", k % 3);
		emit(t, F_SEARCH, t0 + 2000,
		     "{\"timestamp\":\"%s\",\"level\":\"info\",\"service\":\"search\",\"trace\":\"%s\",\"span\":\"%s\","
		     "\"parent\":\"%s\",\"method\":\"GET\",\"path\":\"/search/internal\",\"message\":\"query\","
		     "\"tenant\":\"t%d\"}",
		     ts(t0 + 2000), T, Q, G, k % 3);
		if (k % 45 == 13) {
			emit(t, F_SEARCH, t0 + 2200,
			     "{\"timestamp\":\"%s\",\"level\":\"warn\",\"service\":\"search\",\"trace\":\"%s\",\"span\":\"%s\","
			     "\"parent\":\"%s\",\"method\":\"GET\",\"path\":\"/search/internal\","
			     "\"message\":\"rate limited (timeout budget)\",\"status\":429}",
			     ts(t0 + 2200), T, Q, G);
			status_seen(t, 429);
			t->timeout_text = true;
		}
		emit(t, F_SEARCH, t0 + d - 2000,
		     "{\"timestamp\":\"%s\",\"level\":\"info\",\"service\":\"search\",\"trace\":\"%s\",\"span\":\"%s\","
		     "\"parent\":\"%s\",\"method\":\"GET\",\"path\":\"/search/internal\",\"message\":\"done\","
		     "\"status\":200}",
		     ts(t0 + d - 2000), T, Q, G);
		status_seen(t, 200);
	}
}

/* The transaction whose values hold terminal controls and invalid UTF-8 (pipe raw, JSON escaped). */
static void gen_hostile(struct fc_txn *t, int n)
{
	const int64_t t0 = BASE_US + (int64_t)n * 100000 + 50000;

	memset(t, 0, sizeof(*t));
	t->hostile = true;
	snprintf(t->trace, sizeof(t->trace), "hostile0");
	t->start_us = t0;
	t->dur_us = 1000;
	t->service = "gate\x1b]0;pwn\x07way";
	t->method = "GET";
	snprintf(t->path, sizeof(t->path), "/x\x1b[2J");
	t->error = true;
	snprintf(t->first_error, sizeof(t->first_error), "boom \x1b[31mred\xc2\x9b \xef\xbf\xbd end");
	t->services[0] = "\x1b[31mjs";
	t->services[1] = t->service;
	t->nservices = 2;
	t->spans = 3;
	snprintf(t->user, sizeof(t->user), "\x1b[1mu");
	add_route(t, "GET", t->path);
	emit(t, F_GW, t0,
	     "%s ERROR hostile0:h1|%s|GET|%s|msg=boom \x1b[31mred\xc2\x9b \xff end|user=\x1b[1mu", ts(t0),
	     t->service, t->path);
	emit(t, F_ORDERS, t0 + 1000,
	     "{\"timestamp\":\"%s\",\"level\":\"error\",\"service\":\"\\u001b[31mjs\",\"trace\":\"hostile0\","
	     "\"span\":\"h2\",\"parent\":\"h1\",\"message\":\"json \\u001b]52;c;AAAA\\u0007 \\u009b x\"}",
	     ts(t0 + 1000));
}

static int by_ts(const void *a, const void *b)
{
	const struct line *x = a, *y = b;

	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

/* The corpus's folders, one per service (file_names[] are under them). */
static const char *const service_dirs[] = {"gateway", "orders", "billing", "inventory", "search"};

int fcorpus_write(struct fcorpus *c, const char *dir, int n)
{
	char path[4096];
	int rc = 0;

	memset(c, 0, sizeof(*c));
	c->txns = calloc((size_t)n + 1, sizeof(*c->txns));
	for (int k = 0; k < n; k++)
		gen(&c->txns[k], k);
	gen_hostile(&c->txns[n], n);
	c->ntxns = (size_t)n + 1;
	qsort(lines, nlines, sizeof(*lines), by_ts);
	for (size_t d = 0; d < sizeof(service_dirs) / sizeof(service_dirs[0]); d++) {
		snprintf(path, sizeof(path), "%s/%s", dir, service_dirs[d]);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -1;
	}
	for (int f = 0; f < F_COUNT; f++) {
		bool gz = strstr(file_names[f], ".gz") != NULL;
		FILE *p = NULL;
		gzFile g = NULL;

		snprintf(path, sizeof(path), "%s/%s", dir, file_names[f]);
		if (gz)
			g = gzopen(path, "wb");
		else
			p = fopen(path, "w");
		if (!g && !p)
			return -1;
		for (size_t i = 0; i < nlines; i++) {
			if (lines[i].file != f)
				continue;
			if (gz)
				gzprintf(g, "%s\n", lines[i].text);
			else
				fprintf(p, "%s\n", lines[i].text);
		}
		if (gz ? gzclose(g) != Z_OK : fclose(p) != 0)
			rc = -1;
	}
	for (size_t i = 0; i < nlines; i++)
		free(lines[i].text);
	free(lines);
	lines = NULL;
	nlines = cap_lines = 0;
	return rc;
}

void fcorpus_free(struct fcorpus *c)
{
	free(c->txns);
	memset(c, 0, sizeof(*c));
}
