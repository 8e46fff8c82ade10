/*
 * corpus.c - tracegrep's test corpus with known truth (see corpus.h).
 *
 * DESIGN: each transaction is the examples' chain, made richer:
 *   gateway (pipe, rotated: app.log.2.gz, app.log.1, app.log)
 *     G  server span (log records; every third transaction also a record
 *        with only the trace ID: a record of the transaction itself)
 *     O  client span "orders" (event=span)
 *   orders (JSON, orders.log.zst)
 *     S  server span, parent O; sometimes a WARN with a Python traceback
 *     D  span "db.insert" (event=span) with a log record in it
 *     B  client span "billing", I client span "inventory" (event=span)
 *   billing (pipe, billing.log, clock 300 ms ahead)
 *     X  server span under B (path T:B:X); every third one fails with an
 *        ERROR and a stack trace whose lines carry no ID
 *     Y  span "processor.call" (T:B:X:Y, event=span) with a log record
 *   inventory (JSON, inventory.log.gz, clock 200 ms behind)
 *     V  server span, parent I
 * Transaction 0 is "abc" and 1 is "abcd", whose G is "abc-x": an ID that
 * is a prefix of others. For each transaction a noise transaction (search
 * service, misc/other.log, pipe and JSON) mentions its IDs in messages,
 * attributes, a path and stack-trace lines. Transaction 2's gateway
 * message holds terminal control sequences and invalid UTF-8.
 * Each service's file is in its own clock's time order, as a real log is.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "fmt/ts.h"
#include "corpus.h"

enum { F_GW, F_ORDERS, F_BILLING, F_INV, F_NOISE, F_COUNT };

/* 2026-11-23T07:00:00Z in microseconds. */
#define BASE_US (INT64_C(1795417200) * 1000000)
#define BILLING_SKEW_US 300000
#define INV_SKEW_US (-200000)

static uint64_t rng;

static uint64_t next(void)
{
	uint64_t z = (rng += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void hex_id(char *out, int digits)
{
	static const char hx[] = "0123456789abcdef";
	uint64_t a = next(), b = next();

	for (int i = 0; i < digits; i++)
		out[i] = hx[(i < 16 ? a >> (4 * i) : b >> (4 * (i - 16))) & 15];
	out[digits] = '\0';
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	int n;
	char *s;

	va_start(ap, f);
	n = vsnprintf(NULL, 0, f, ap);
	va_end(ap);
	s = malloc((size_t)n + 1);
	if (!s)
		abort();
	va_start(ap, f);
	vsnprintf(s, (size_t)n + 1, f, ap);
	va_end(ap);
	return s;
}

static const char *ts(int64_t us)
{
	static char buf[4][FMT_TS_MAX];
	static int k;

	k = (k + 1) % 4;
	fmt_ts_format(us * 1000, 6, buf[k]);
	return buf[k];
}

static void add_rec(struct tcorpus *c, int file, int txn, const char *span, int64_t ts_us, char *text)
{
	if (c->nrecs == c->cap_recs) {
		c->cap_recs = c->cap_recs ? c->cap_recs * 2 : 256;
		c->recs = realloc(c->recs, c->cap_recs * sizeof(*c->recs));
		if (!c->recs)
			abort();
	}
	c->recs[c->nrecs++] = (struct tc_rec){
		.text = text, .txn = txn, .span = span ? strdup(span) : NULL, .ts = ts_us, .file = file};
}

static void add_span(struct tcorpus *c, int txn, const char *id, const char *parent)
{
	struct tc_span *s;

	c->spans = realloc(c->spans, (c->nspans + 1) * sizeof(*c->spans));
	if (!c->spans)
		abort();
	s = &c->spans[c->nspans++];
	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "%s", id);
	snprintf(s->parent, sizeof(s->parent), "%s", parent);
	s->txn = txn;
}

static struct tc_txn *new_txn(struct tcorpus *c)
{
	c->txns = realloc(c->txns, (c->ntxns + 1) * sizeof(*c->txns));
	if (!c->txns)
		abort();
	memset(&c->txns[c->ntxns], 0, sizeof(c->txns[0]));
	return &c->txns[c->ntxns++];
}

/* JSON line in libclew's shape; @extra is more members (",\"k\":v"), may be "". */
static char *jline(int64_t us, const char *level, const char *svc, const char *trace, const char *span,
		   const char *parent, const char *method, const char *path, const char *msg,
		   const char *extra)
{
	return fmt(
		"{\"timestamp\":\"%s\",\"severity\":\"%s\",\"service\":\"%s\",\"trace\":\"%s\",\"span\":\"%s\","
		"\"parent\":\"%s\",\"method\":\"%s\",\"path\":\"%s\"%s%s%s%s}",
		ts(us), level, svc, trace, span, parent, method, path, msg ? ",\"message\":\"" : "",
		msg ? msg : "", msg ? "\"" : "", extra);
}

static void gen_txn(struct tcorpus *c, int k, int64_t t0)
{
	struct tc_txn *t = new_txn(c);
	int ti = (int)c->ntxns - 1;
	char(*sp)[40] = t->spans;
	const char *T;
	int64_t sk;

	if (k == 0)
		snprintf(t->trace, sizeof(t->trace), "abc");
	else if (k == 1)
		snprintf(t->trace, sizeof(t->trace), "abcd");
	else
		hex_id(t->trace, 32);
	for (int i = 0; i < TC_ROOTREC; i++)
		hex_id(sp[i], 16);
	if (k == 1)
		snprintf(sp[TC_G], sizeof(sp[TC_G]), "abc-x");
	T = t->trace;

	add_span(c, ti, T, "");
	add_span(c, ti, sp[TC_G], T);
	add_span(c, ti, sp[TC_O], sp[TC_G]);
	add_span(c, ti, sp[TC_S], sp[TC_O]);
	add_span(c, ti, sp[TC_D], sp[TC_S]);
	add_span(c, ti, sp[TC_B], sp[TC_S]);
	add_span(c, ti, sp[TC_I], sp[TC_S]);
	add_span(c, ti, sp[TC_X], sp[TC_B]);
	add_span(c, ti, sp[TC_Y], sp[TC_X]);
	add_span(c, ti, sp[TC_V], sp[TC_I]);

	/* gateway */
	if (k % 3 == 0)
		add_rec(c, F_GW, ti, NULL, t0,
			fmt("%s INFO %s|gateway|POST|/checkout|msg=accepted", ts(t0), T));
	if (k == 2) {
		c->ctl_txn = ti;
		add_rec(c, F_GW, ti, sp[TC_G], t0 + 10,
			fmt("%s INFO %s:%s|gateway|POST|/checkout|msg=checkout by \x1b[31mmallory\x1b]0;pwned\x07 "
			    "\xc2\x9b"
			    "2J \xff\xfe\x7f end|user=u%d",
			    ts(t0 + 10), T, sp[TC_G], k));
	} else {
		add_rec(c, F_GW, ti, sp[TC_G], t0 + 10,
			fmt("%s INFO %s:%s|gateway|POST|/checkout|msg=checkout by u%d|user=u%d", ts(t0 + 10),
			    T, sp[TC_G], k, k));
	}
	add_rec(c, F_GW, ti, sp[TC_O], t0 + 20,
		fmt("%s INFO %s:%s:%s|gateway|POST|/checkout|event=span|name=orders|dur_us=24960|status=ok",
		    ts(t0 + 20), T, sp[TC_G], sp[TC_O]));
	add_rec(c, F_GW, ti, sp[TC_G], t0 + 25000,
		fmt("%s INFO %s:%s|gateway|POST|/checkout|msg=POST /checkout -> 200|status=200|dur_us=24990",
		    ts(t0 + 25000), T, sp[TC_G]));

	/* orders (JSON) */
	add_rec(c, F_ORDERS, ti, sp[TC_S], t0 + 500,
		jline(t0 + 500, "INFO", "orders", T, sp[TC_S], sp[TC_O], "POST", "/orders", "order created",
		      ",\"order\":7"));
	add_rec(c, F_ORDERS, ti, sp[TC_D], t0 + 600,
		jline(t0 + 600, "INFO", "orders", T, sp[TC_D], sp[TC_S], "POST", "/orders", NULL,
		      ",\"event\":\"span\",\"name\":\"db.insert\",\"dur_us\":900,\"status\":\"ok\""));
	add_rec(c, F_ORDERS, ti, sp[TC_D], t0 + 700,
		jline(t0 + 700, "DEBUG", "orders", T, sp[TC_D], sp[TC_S], "POST", "/orders", "inserted row",
		      ""));
	if (k % 4 == 1) {
		char *l = jline(t0 + 1000, "WARN", "orders", T, sp[TC_S], sp[TC_O], "POST", "/orders",
				"db slow", "");
		add_rec(c, F_ORDERS, ti, sp[TC_S], t0 + 1000,
			fmt("%s\nTraceback (most recent call last):\n  File \"orders/db.py\", line 42, in insert\n"
			    "TimeoutError: took 900 ms",
			    l));
		free(l);
	}
	add_rec(c, F_ORDERS, ti, sp[TC_B], t0 + 1600,
		jline(t0 + 1600, "INFO", "orders", T, sp[TC_B], sp[TC_S], "POST", "/orders", NULL,
		      ",\"event\":\"span\",\"name\":\"billing\",\"dur_us\":12000,\"status\":\"ok\""));
	add_rec(c, F_ORDERS, ti, sp[TC_I], t0 + 14000,
		jline(t0 + 14000, "INFO", "orders", T, sp[TC_I], sp[TC_S], "POST", "/orders", NULL,
		      ",\"event\":\"span\",\"name\":\"inventory\",\"dur_us\":8000,\"status\":\"ok\""));
	add_rec(c, F_ORDERS, ti, sp[TC_S], t0 + 23000,
		jline(t0 + 23000, "INFO", "orders", T, sp[TC_S], sp[TC_O], "POST", "/orders",
		      "POST /orders -> 201", ",\"status\":201"));

	/* billing (pipe, clock ahead) */
	sk = BILLING_SKEW_US;
	add_rec(c, F_BILLING, ti, sp[TC_X], t0 + 2000 + sk,
		fmt("%s INFO %s:%s:%s|billing|POST|/charge|msg=charging order %d", ts(t0 + 2000 + sk), T,
		    sp[TC_B], sp[TC_X], k));
	add_rec(c, F_BILLING, ti, sp[TC_Y], t0 + 3000 + sk,
		fmt("%s INFO %s:%s:%s:%s|billing|POST|/charge|event=span|name=processor.call|dur_us=5000|status=ok",
		    ts(t0 + 3000 + sk), T, sp[TC_B], sp[TC_X], sp[TC_Y]));
	add_rec(c, F_BILLING, ti, sp[TC_Y], t0 + 4000 + sk,
		fmt("%s DEBUG %s:%s:%s:%s|billing|POST|/charge|msg=calling processor", ts(t0 + 4000 + sk), T,
		    sp[TC_B], sp[TC_X], sp[TC_Y]));
	if (k % 3 == 1)
		add_rec(c, F_BILLING, ti, sp[TC_X], t0 + 11000 + sk,
			fmt("%s ERROR %s:%s:%s|billing|POST|/charge|msg=charge failed|error=processor_timeout\n"
			    "java.lang.IllegalStateException: processor timed out\n"
			    "\tat billing.Processor.call(Processor.java:212)\n"
			    "\tat billing.Charge.run(Charge.java:87)\n"
			    "Caused by: java.net.SocketTimeoutException: Read timed out",
			    ts(t0 + 11000 + sk), T, sp[TC_B], sp[TC_X]));
	add_rec(c, F_BILLING, ti, sp[TC_X], t0 + 12000 + sk,
		fmt("%s %s %s:%s:%s|billing|POST|/charge|msg=POST /charge -> %d|status=%d",
		    ts(t0 + 12000 + sk), k % 3 == 1 ? "ERROR" : "INFO", T, sp[TC_B], sp[TC_X],
		    k % 3 == 1 ? 502 : 200, k % 3 == 1 ? 502 : 200));

	/* inventory (JSON, clock behind) */
	sk = INV_SKEW_US;
	add_rec(c, F_INV, ti, sp[TC_V], t0 + 15000 + sk,
		jline(t0 + 15000 + sk, "INFO", "inventory", T, sp[TC_V], sp[TC_I], "GET", "/stock",
		      "stock checked", ",\"sku\":\"sku-1\""));
	add_rec(c, F_INV, ti, sp[TC_V], t0 + 21000 + sk,
		jline(t0 + 21000 + sk, "INFO", "inventory", T, sp[TC_V], sp[TC_I], "GET", "/stock",
		      "GET /stock -> 200", ",\"status\":200"));
}

/* A noise transaction that mentions transaction @m's IDs everywhere but in its own IDs. */
static void gen_noise(struct tcorpus *c, int m, int64_t t0)
{
	struct tc_txn *t = new_txn(c);
	int ti = (int)c->ntxns - 1;
	const struct tc_txn *o = &c->txns[m];
	char span[20];

	t->noise = true;
	hex_id(t->trace, 32);
	hex_id(span, 16);
	snprintf(t->spans[TC_G], sizeof(t->spans[TC_G]), "%s", span);
	add_span(c, ti, t->trace, "");
	add_span(c, ti, span, t->trace);
	add_rec(c, F_NOISE, ti, span, t0,
		fmt("%s INFO %s:%s|search|GET|/api/%s/x|msg=retrying request %s after timeout|ref=%s|see=%s:%s",
		    ts(t0), t->trace, span, o->trace, o->trace, o->trace, o->trace, o->spans[TC_S]));
	add_rec(c, F_NOISE, ti, span, t0 + 5,
		fmt("{\"timestamp\":\"%s\",\"level\":\"info\",\"service\":\"search\",\"trace\":\"%s\",\"span\":\"%s\","
		    "\"message\":\"upstream %s slow (span %s)\",\"trace_ref\":\"%s\",\"ids_seen\":[\"%s\",\"%s\"]}",
		    ts(t0 + 5), t->trace, span, o->trace, o->spans[TC_B], o->trace, o->trace,
		    o->spans[TC_X]));
	add_rec(c, F_NOISE, ti, span, t0 + 9,
		fmt("%s ERROR %s:%s|search|GET|/q|msg=lookup failed\n"
		    "java.lang.RuntimeException: request %s failed\n"
		    "\tat search.Handler.get(%s:%s)\n"
		    "%s:%s|not|a|record (a continuation line shaped like a record start? no: it is one)",
		    ts(t0 + 9), t->trace, span, o->trace, o->trace, o->spans[TC_X], "x y", "z"));
	/* The last line above starts with "x y:" (a space in IDS): not a record start, so it stays. */
}

static int by_ts(const void *a, const void *b)
{
	const struct tc_rec *x = *(const struct tc_rec *const *)a, *y = *(const struct tc_rec *const *)b;

	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

static int write_plain(const char *path, struct tc_rec **v, size_t n)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\n", v[i]->text);
	return fclose(f);
}

static int write_gz(const char *path, struct tc_rec **v, size_t n)
{
	gzFile g = gzopen(path, "wb");

	if (!g)
		return -1;
	for (size_t i = 0; i < n; i++)
		gzprintf(g, "%s\n", v[i]->text);
	return gzclose(g) == Z_OK ? 0 : -1;
}

static int write_zst(const char *path, struct tc_rec **v, size_t n)
{
	size_t len = 0, cap, clen;
	char *raw, *z;
	FILE *f;
	int rc;

	for (size_t i = 0; i < n; i++)
		len += strlen(v[i]->text) + 1;
	raw = malloc(len + 1);
	len = 0;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(v[i]->text);

		memcpy(raw + len, v[i]->text, l);
		raw[len + l] = '\n';
		len += l + 1;
	}
	cap = ZSTD_compressBound(len);
	z = malloc(cap);
	clen = ZSTD_compress(z, cap, raw, len, 3);
	f = fopen(path, "wb");
	rc = f && !ZSTD_isError(clen) && fwrite(z, 1, clen, f) == clen ? 0 : -1;
	if (f && fclose(f) != 0)
		rc = -1;
	free(raw);
	free(z);
	return rc;
}

int tcorpus_write(struct tcorpus *c, const char *dir, int ntxns, uint64_t seed)
{
	struct tc_rec **by_file[F_COUNT];
	size_t nf[F_COUNT] = {0};
	char path[4096];
	int rc = 0;

	memset(c, 0, sizeof(*c));
	rng = seed;
	for (int k = 0; k < ntxns; k++)
		gen_txn(c, k, BASE_US + (int64_t)k * 7000 + (int64_t)(next() % 1000));
	c->skew_txn = 3;
	for (int k = 0; k < ntxns; k++)
		gen_noise(c, k, BASE_US + (int64_t)k * 7000 + 3000);

	for (int f = 0; f < F_COUNT; f++) {
		by_file[f] = calloc(c->nrecs, sizeof(*by_file[f]));
		for (size_t i = 0; i < c->nrecs; i++)
			if (c->recs[i].file == f)
				by_file[f][nf[f]++] = &c->recs[i];
		qsort(by_file[f], nf[f], sizeof(*by_file[f]), by_ts);
	}
	snprintf(path, sizeof(path),
		 "mkdir -p '%s/gateway' '%s/orders' '%s/billing' '%s/inventory' '%s/misc'", dir, dir, dir,
		 dir, dir);
	if (system(path) != 0)
		rc = -1;
	/* gateway: rotated by thirds, oldest compressed */
	{
		size_t a = nf[F_GW] / 3, b = 2 * nf[F_GW] / 3;

		snprintf(path, sizeof(path), "%s/gateway/app.log.2.gz", dir);
		rc |= write_gz(path, by_file[F_GW], a);
		snprintf(path, sizeof(path), "%s/gateway/app.log.1", dir);
		rc |= write_plain(path, by_file[F_GW] + a, b - a);
		snprintf(path, sizeof(path), "%s/gateway/app.log", dir);
		rc |= write_plain(path, by_file[F_GW] + b, nf[F_GW] - b);
	}
	snprintf(path, sizeof(path), "%s/orders/orders.log.zst", dir);
	rc |= write_zst(path, by_file[F_ORDERS], nf[F_ORDERS]);
	snprintf(path, sizeof(path), "%s/billing/billing.log", dir);
	rc |= write_plain(path, by_file[F_BILLING], nf[F_BILLING]);
	snprintf(path, sizeof(path), "%s/inventory/inventory.log.gz", dir);
	rc |= write_gz(path, by_file[F_INV], nf[F_INV]);
	snprintf(path, sizeof(path), "%s/misc/other.log", dir);
	rc |= write_plain(path, by_file[F_NOISE], nf[F_NOISE]);
	for (int f = 0; f < F_COUNT; f++)
		free(by_file[f]);
	return rc ? -1 : 0;
}

void tcorpus_free(struct tcorpus *c)
{
	for (size_t i = 0; i < c->nrecs; i++) {
		free(c->recs[i].text);
		free(c->recs[i].span);
	}
	free(c->recs);
	free(c->spans);
	free(c->txns);
	memset(c, 0, sizeof(*c));
}

const char *tcorpus_parent(const struct tcorpus *c, int txn, const char *id)
{
	for (size_t i = 0; i < c->nspans; i++)
		if (c->spans[i].txn == txn && strcmp(c->spans[i].id, id) == 0)
			return c->spans[i].parent;
	return NULL;
}

bool tcorpus_under(const struct tcorpus *c, int txn, const char *id, const char *top)
{
	for (int steps = 0; id && *id && steps < 64; steps++) {
		if (strcmp(id, top) == 0)
			return true;
		id = tcorpus_parent(c, txn, id);
	}
	return false;
}
