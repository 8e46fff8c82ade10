/*
 * test_api.c - clewd's Jaeger-compatible API (collector/api/) end to end.
 *
 * The find corpus (find_corpus.c: many transactions with known summaries)
 * is ingested into a many-segment archive by bench/archive_ingest; clewd
 * (argv[2]) is started with that archive as its output and --http on a
 * free loopback port, and the API is read with libcurl and jansson:
 * every field's name and type against Jaeger's response shape; every
 * trace's span tree equal to tracegrep --jaeger's on the same archive;
 * each search's traces equal to tracegrep --find's with the same filters;
 * the bounds (limit cap) and the JSON errors (unknown trace, bad tags, no
 * archive output). The search page (GET /): its headers (a restrictive
 * CSP, no script or external reference), and searches submitted by
 * headless Chromium whose rows must be tracegrep --find's, and a row's
 * link opened: its waterfall page shows every span; screenshots are kept
 * as meson-logs/clewd-search.png and clewd-waterfall.png. The shape checks
 * and the tree and edge texts are jaeger_shape.c's.
 */
#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "find_corpus.h"
#include "fmt/ts.h"
#include "jaeger_shape.h"
#include "th_clewd.h"
#include "th_file.h"
#include "th_proc.h"

#define NTXNS 120

static const char *tracegrep, *ingest;
static char dir[64], archdir[80], clewddir[80], url[64];
static struct fcorpus corpus;
static struct th_clewd daemon_;

struct body {
	char *p;
	size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	char *q = realloc(b->p, b->len + size * n + 1);

	ck_assert_ptr_nonnull(q);
	memcpy(q + b->len, p, size * n);
	b->p = q;
	b->len += size * n;
	b->p[b->len] = 0;
	return size * n;
}

/* GET @path from @base: the parsed JSON document, its status in *@status. */
static json_t *get_from(const char *base, const char *path, long *status)
{
	CURL *c = curl_easy_init();
	struct body b = {0};
	size_t cap = strlen(base) + strlen(path) + 1;
	char *full = malloc(cap);
	json_error_t e;
	json_t *doc;

	snprintf(full, cap, "%s%s", base, path);
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	free(full);
	doc = json_loadb(b.p ? b.p : "", b.len, 0, &e);
	ck_assert_msg(doc != NULL, "%.200s: not JSON (%s): %.300s", path, e.text, b.p ? b.p : "");
	free(b.p);
	return doc;
}

/* clewd on the archive, started by the first test that needs it (Check's asserts need a test). */
static void ensure_daemon(void)
{
	char port[32], out[128];

	if (daemon_.pid)
		return;
	snprintf(port, sizeof(port), "127.0.0.1:%u", th_free_port());
	snprintf(url, sizeof(url), "http://%s", port);
	snprintf(out, sizeof(out), "archive:%s", archdir);
	th_clewd_start(&daemon_, clewddir,
		       (const char *const[]){"-i", "tcp://:0", "-o", out, "--http", port, NULL}, 0, NULL);
	th_clewd_port(&daemon_, "tcp", NULL); /* listening: the HTTP endpoint is up too */
}

static json_t *get(const char *path, long *status)
{
	ensure_daemon();
	return get_from(url, path, status);
}

START_TEST(services_and_operations)
{
	long st;
	json_t *doc = get("/api/services", &st), *v;
	size_t i, n = 0;

	ck_assert_int_eq(st, 200);
	check_envelope(doc, true);
	json_array_foreach(json_object_get(doc, "data"), i, v)
	{
		bool known = false;

		ck_assert(json_is_string(v));
		for (size_t k = 0; k < corpus.ntxns && !known; k++)
			for (size_t j = 0; j < corpus.txns[k].nservices && !known; j++)
				known = strcmp(corpus.txns[k].services[j], json_string_value(v)) == 0;
		ck_assert_msg(known, "unknown service %s", json_string_value(v));
		n++;
	}
	ck_assert_uint_ge(n, 5);
	json_decref(doc);
	doc = get("/api/services/gateway/operations", &st);
	ck_assert_int_eq(st, 200);
	check_envelope(doc, true);
	ck_assert_uint_gt(json_array_size(json_object_get(doc, "data")), 0);
	json_array_foreach(json_object_get(doc, "data"), i, v) ck_assert(json_is_string(v));
	{
		/* Jaeger's newer form: the same operations, as {name, spanKind} server spans */
		json_t *kinds = get("/api/operations?service=gateway", &st), *o;

		ck_assert_int_eq(st, 200);
		check_envelope(kinds, true);
		ck_assert_uint_eq(json_array_size(json_object_get(kinds, "data")),
				  json_array_size(json_object_get(doc, "data")));
		json_array_foreach(json_object_get(kinds, "data"), i, o)
		{
			ck_assert_str_eq(json_string_value(json_object_get(o, "name")),
					 json_string_value(json_array_get(json_object_get(doc, "data"), i)));
			ck_assert_str_eq(json_string_value(json_object_get(o, "spanKind")), "server");
		}
		json_decref(kinds);
		kinds = get("/api/operations?service=gateway&spanKind=client", &st);
		ck_assert_int_eq(st, 200);
		ck_assert_uint_eq(json_array_size(json_object_get(kinds, "data")), 0);
		json_decref(kinds);
		kinds = get("/api/operations", &st);
		ck_assert_int_eq(st, 400);
		check_envelope(kinds, false);
		json_decref(kinds);
	}
	json_decref(doc);
}
END_TEST

/* Every trace: the shape, and the tree equal to tracegrep --jaeger's. */
START_TEST(every_trace_has_the_shape_and_tracegreps_tree)
{
	for (size_t k = 0; k < corpus.ntxns; k += 7) {
		const char *id = corpus.txns[k].trace;
		char path[256];
		long st;
		json_t *doc, *mine, *theirs;
		struct th_result r = th_run(
			tracegrep, NULL, (const char *const[]){"--jaeger", "--archive", archdir, id, NULL});
		json_error_t e;
		char *a, *b;

		snprintf(path, sizeof(path), "/api/traces/%s", id);
		doc = get(path, &st);
		ck_assert_int_eq(st, 200);
		check_envelope(doc, true);
		ck_assert_uint_eq(json_array_size(json_object_get(doc, "data")), 1);
		mine = json_array_get(json_object_get(doc, "data"), 0);
		check_trace_shape(mine);
		ck_assert_int_eq(r.status, 0);
		theirs = json_loads(r.out, 0, &e);
		ck_assert_ptr_nonnull(theirs);
		a = tree_of(mine);
		b = tree_of(json_array_get(json_object_get(theirs, "data"), 0));
		ck_assert_msg(strcmp(a, b) == 0, "trace %s:\napi:\n%.1500s\ntracegrep:\n%.1500s", id, a, b);
		free(a);
		free(b);
		json_decref(theirs);
		json_decref(doc);
		th_result_free(&r);
	}
}
END_TEST

/* Several traces by ID, as Jaeger UI's trace compare asks: found ones in order, a missing one as an error. */
START_TEST(traces_listed_by_id)
{
	const char *a = corpus.txns[0].trace, *b = corpus.txns[1].trace;
	char path[512];
	long st;
	json_t *doc, *data, *errs;

	snprintf(path, sizeof(path), "/api/traces?traceID=%s&traceID=no-such-trace&traceID=%s&service=nobody",
		 a, b);
	doc = get(path, &st);
	ck_assert_int_eq(st, 200);
	data = json_object_get(doc, "data");
	ck_assert_uint_eq(json_array_size(data), 2);
	check_trace_shape(json_array_get(data, 0));
	check_trace_shape(json_array_get(data, 1));
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(data, 0), "traceID")), a);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(data, 1), "traceID")), b);
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "total")), 2);
	check_envelope(doc, false);
	errs = json_object_get(doc, "errors");
	ck_assert_uint_eq(json_array_size(errs), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(errs, 0), "code")), 404);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(errs, 0), "traceID")),
			 "no-such-trace");
	json_decref(doc);
	{
		/* as many IDs as a search's limit (a 61 KB request line, past MHD's default 32 KiB): answered;
		 * one more: a 400 */
		char *many = malloc(1501 * 48 + 32);
		size_t len = (size_t)sprintf(many, "/api/traces?traceID=%s", a);

		for (int i = 1; i < 1501; i++)
			len += (size_t)sprintf(many + len, "&traceID=%032x", i);
		doc = get(many, &st);
		ck_assert_int_eq(st, 400);
		json_decref(doc);
		*strrchr(many, '&') = '\0';
		doc = get(many, &st);
		ck_assert_int_eq(st, 200);
		ck_assert_uint_eq(json_array_size(json_object_get(doc, "data")), 1);
		ck_assert_uint_eq(json_array_size(json_object_get(doc, "errors")), 1499);
		json_decref(doc);
		free(many);
	}
}
END_TEST

/* /api/dependencies: the edges of the window's transactions' trees, counted; none out of the window. */
START_TEST(dependencies_are_the_traces_edges)
{
	long st;
	json_t *traces = get("/api/traces?limit=1500", &st), *deps, *d;
	char *want, *got, line[300];
	size_t i, len = 0;

	ck_assert_int_eq(st, 200);
	ck_assert_uint_le(json_array_size(json_object_get(traces, "data")), 200); /* all: within the sample */
	want = edges_of_traces(json_object_get(traces, "data"));
	deps = get("/api/dependencies?endTs=4102444800000&lookback=4102444800000", &st);
	ck_assert_int_eq(st, 200);
	check_envelope(deps, true);
	got = calloc(json_array_size(json_object_get(deps, "data")) * 300 + 1, 1);
	json_array_foreach(json_object_get(deps, "data"), i, d)
	{
		ck_assert(json_is_integer(json_object_get(d, "callCount")));
		snprintf(line, sizeof(line), "%s -> %s %lld", json_string_value(json_object_get(d, "parent")),
			 json_string_value(json_object_get(d, "child")),
			 (long long)json_integer_value(json_object_get(d, "callCount")));
		len += (size_t)sprintf(got + len, "%s\n", line); /* sorted by the server, as want is */
	}
	ck_assert_msg(strcmp(want, got) == 0, "want:\n%s\ngot:\n%s", want, got);
	ck_assert_msg(strstr(got, "gateway -> "), "%s: no edge from the gateway (a weak test)", got);
	json_decref(deps);
	deps = get("/api/dependencies?endTs=1000&lookback=1000", &st); /* 1970: nothing */
	ck_assert_int_eq(st, 200);
	ck_assert_uint_eq(json_array_size(json_object_get(deps, "data")), 0);
	json_decref(deps);
	deps = get("/api/dependencies?lookback=an-hour", &st);
	ck_assert_int_eq(st, 400);
	check_envelope(deps, false);
	json_decref(deps);
	json_decref(traces);
	free(want);
	free(got);
}
END_TEST

/* The trace IDs of tracegrep --find --json with @args, sorted, one per line. */
static char *find_ids(const char *const *args)
{
	const char *argv[32];
	size_t n = 0, len = 0;
	struct th_result r;
	char *ids[512], *out, *p;
	size_t nids = 0;

	argv[n++] = "--find";
	argv[n++] = "--json";
	argv[n++] = "--limit";
	argv[n++] = "0";
	for (; *args; args++)
		argv[n++] = *args;
	argv[n++] = "--archive";
	argv[n++] = archdir;
	argv[n] = NULL;
	r = th_run(tracegrep, NULL, argv);
	ck_assert_int_le(r.status, 1);
	for (p = r.out; *p;) {
		char *nl = strchr(p, '\n');
		json_t *o = json_loadb(p, (size_t)(nl - p), 0, NULL);

		ck_assert_uint_lt(nids, 512);
		ids[nids++] = strdup(json_string_value(json_object_get(o, "trace")));
		json_decref(o);
		p = nl + 1;
	}
	qsort(ids, nids, sizeof(*ids), cmp_str);
	out = calloc(nids * 48 + 1, 1);
	for (size_t i = 0; i < nids; i++) {
		len += (size_t)sprintf(out + len, "%s\n", ids[i]);
		free(ids[i]);
	}
	th_result_free(&r);
	return out;
}

/* The trace IDs of GET /api/traces?@query, sorted; each trace's shape checked. */
static char *api_ids(const char *query)
{
	char path[1024], *ids[512], *out;
	size_t nids = 0, len = 0, i;
	long st;
	json_t *doc, *t;

	snprintf(path, sizeof(path), "/api/traces?limit=1500&%s", query);
	doc = get(path, &st);
	ck_assert_msg(st == 200, "%s: %ld", path, st);
	check_envelope(doc, true);
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "limit")), 1500);
	json_array_foreach(json_object_get(doc, "data"), i, t)
	{
		check_trace_shape(t);
		ck_assert_uint_lt(nids, 512);
		ids[nids++] = strdup(json_string_value(json_object_get(t, "traceID")));
	}
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "total")), (json_int_t)nids);
	qsort(ids, nids, sizeof(*ids), cmp_str);
	out = calloc(nids * 48 + 1, 1);
	for (i = 0; i < nids; i++) {
		len += (size_t)sprintf(out + len, "%s\n", ids[i]);
		free(ids[i]);
	}
	json_decref(doc);
	return out;
}

static void same(const char *query, const char *const *args)
{
	char *a = api_ids(query), *b = find_ids(args);

	ck_assert_msg(strcmp(a, b) == 0, "%s:\napi:\n%.1500s\ntracegrep --find:\n%.1500s", query, a, b);
	ck_assert_msg(*a || strstr(query, "nobody"), "%s: nothing found (a weak test)", query);
	free(a);
	free(b);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

START_TEST(searches_equal_tracegrep_find)
{
	char q[256], since[FMT_TS_MAX], until[FMT_TS_MAX];
	int64_t lo = corpus.txns[0].start_us, hi = lo;

	same("", (const char *const[]){NULL});
	same("service=billing", ARGS("--service", "billing"));
	same("tags=%7B%22error%22%3A%22true%22%7D", ARGS("--error"));
	same("service=orders&tags=%7B%22error%22%3A%22true%22%7D", ARGS("--service", "orders", "--error"));
	same("minDuration=100ms", ARGS("--min-duration", "100ms"));
	same("minDuration=20ms&maxDuration=1.5s", ARGS("--min-duration", "20ms", "--max-duration", "1.5s"));
	same("tags=%7B%22user%22%3A%22u1%22%7D", ARGS("--attr", "user=u1"));
	same("tags=%7B%22http.status_code%22%3A%225xx%22%7D", ARGS("--status", "5xx"));
	same("tags=%7B%22http.response.status_code%22%3A%225xx%22%2C%22http.request.method%22%3A%22POST%22%7D",
	     ARGS("--status", "5xx", "--method", "POST"));
	same("tags=%7B%22user%22%3A%22nobody%22%7D", ARGS("--attr", "user=nobody"));
	for (size_t k = 0; k < corpus.ntxns; k++) {
		if (corpus.txns[k].start_us < lo)
			lo = corpus.txns[k].start_us;
		if (corpus.txns[k].start_us > hi)
			hi = corpus.txns[k].start_us;
	}
	lo += (hi - lo) / 4;
	hi -= (hi - lo) / 4;
	fmt_ts_format(lo * 1000, 6, since);
	fmt_ts_format(hi * 1000, 6, until);
	snprintf(q, sizeof(q), "start=%lld&end=%lld", (long long)lo, (long long)hi);
	same(q, ARGS("--since", since, "--until", until));
}
END_TEST

START_TEST(bounds_and_errors)
{
	long st;
	json_t *doc = get("/api/traces?limit=1000000", &st);

	ck_assert_int_eq(st, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "limit")), 1500);
	json_decref(doc);
	doc = get("/api/traces?limit=3", &st);
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "data")), 3);
	json_decref(doc);
	doc = get("/api/traces/no-such-trace", &st);
	ck_assert_int_eq(st, 404);
	check_envelope(doc, false);
	json_decref(doc);
	/* times at the ends of int64: the window's slack saturates (UBSan would stop clewd) */
	doc = get("/api/traces?start=9223372036854775&end=9223372036854775", &st);
	ck_assert_int_eq(st, 200);
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "data")), 0);
	json_decref(doc);
	doc = get("/api/dependencies?endTs=9223372036854&lookback=9223372036854", &st);
	ck_assert_int_eq(st, 200);
	json_decref(doc);
	doc = get("/api/traces?tags=%7Bnot-json", &st);
	ck_assert_int_eq(st, 400);
	check_envelope(doc, false);
	json_decref(doc);
	doc = get("/api/traces?minDuration=fast", &st);
	ck_assert_int_eq(st, 400);
	check_envelope(doc, false);
	json_decref(doc);
	doc = get("/api/nothing", &st);
	ck_assert_int_eq(st, 404);
	check_envelope(doc, false);
	json_decref(doc);
}
END_TEST

/* Without an archive output, every /api/ request says so, as JSON. */
START_TEST(no_archive_output_is_a_json_404)
{
	struct th_clewd d;
	char dir2[96], base[64], port[32];
	long st = 0;
	json_t *doc;
	unsigned p = th_free_port();

	snprintf(dir2, sizeof(dir2), "%s-noarch", dir);
	ck_assert_int_eq(mkdir(dir2, 0700), 0);
	snprintf(port, sizeof(port), "127.0.0.1:%u", p);
	snprintf(base, sizeof(base), "http://%s", port);
	th_clewd_start(&d, dir2, ARGS("-i", "tcp://:0", "-o", "null", "--http", port), 0, NULL);
	th_clewd_port(&d, "tcp", NULL);
	doc = get_from(base, "/api/services", &st);
	ck_assert_int_eq(st, 404);
	check_envelope(doc, false);
	ck_assert_ptr_nonnull(strstr(
		json_string_value(json_object_get(json_array_get(json_object_get(doc, "errors"), 0), "msg")),
		"no archive output"));
	json_decref(doc);
	th_clewd_stop(&d);
	th_remove_tree(dir2);
}
END_TEST

static const char *chromium_path(void)
{
	static const char *const c[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser",
					"/usr/bin/google-chrome"};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (access(c[i], X_OK) == 0)
			return c[i];
	return NULL;
}

/* The page's headers: a restrictive Content-Security-Policy, HTML. */
START_TEST(search_page_headers)
{
	CURL *c = curl_easy_init();
	struct body h = {0}, b = {0};
	char full[128];
	long st = 0;

	ensure_daemon();
	snprintf(full, sizeof(full), "%s/?error=true", url);
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	curl_easy_cleanup(c);
	ck_assert_int_eq(st, 200);
	ck_assert_ptr_nonnull(strstr(h.p, "Content-Security-Policy: default-src 'none'"));
	ck_assert_ptr_nonnull(strstr(h.p, "text/html; charset=utf-8"));
	/* Nothing to fetch or run: no script, no external reference. */
	ck_assert_ptr_null(strstr(b.p, "<script"));
	ck_assert_ptr_null(strstr(b.p, "http://"));
	ck_assert_ptr_null(strstr(b.p, "https://"));
	ck_assert_ptr_null(strstr(b.p, "src="));
	ck_assert_ptr_null(strstr(b.p, "\x1b"));
	free(h.p);
	free(b.p);
}
END_TEST

/* The trace IDs of the rows of a rendered page (data-trace attributes), sorted. */
static char *page_ids(const char *dom)
{
	char *ids[512], *out;
	size_t nids = 0, len = 0;

	for (const char *p = dom; (p = strstr(p, "data-trace=\""));) {
		const char *q;

		p += 12;
		q = strchr(p, '"');
		ck_assert_ptr_nonnull(q);
		ck_assert_uint_lt(nids, 512);
		ids[nids++] = strndup(p, (size_t)(q - p));
		p = q;
	}
	qsort(ids, nids, sizeof(*ids), cmp_str);
	out = calloc(nids * 48 + 1, 1);
	for (size_t i = 0; i < nids; i++) {
		len += (size_t)sprintf(out + len, "%s\n", ids[i]);
		free(ids[i]);
	}
	return out;
}

/* Headless Chromium submits searches: the rows are tracegrep --find's; a screenshot is kept. */
START_TEST(search_page_in_headless_chromium)
{
	const struct {
		const char *query;
		const char *const *args;
	} cases[] = {
		{"service=billing&error=true&limit=500", ARGS("--service", "billing", "--error")},
		{"min-duration=100ms&limit=500", ARGS("--min-duration", "100ms")},
		{"attr=user%3Du1&limit=500", ARGS("--attr", "user=u1")},
	};
	const char *chromium = chromium_path();
	char cmd[2048], prof[128], png[128];
	struct stat sb;

	ck_assert_msg(chromium,
		      "chromium is not installed (Debian package chromium; scripts/lib.sh installs it)");
	ensure_daemon();
	snprintf(prof, sizeof(prof), "%s/chromium-profile", clewddir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		FILE *p;
		char *dom = NULL, *a, *b;
		size_t len = 0, got;
		char chunk[65536];

		snprintf(cmd, sizeof(cmd),
			 "'%s' --headless --no-sandbox --disable-gpu --disable-background-networking "
			 "--disable-component-update --disable-sync --no-first-run --user-data-dir='%s' "
			 "--dump-dom '%s/?%s' 2>/dev/null",
			 chromium, prof, url, cases[i].query);
		p = popen(cmd, "r");
		ck_assert_ptr_nonnull(p);
		while ((got = fread(chunk, 1, sizeof(chunk), p)) > 0) {
			dom = realloc(dom, len + got + 1);
			memcpy(dom + len, chunk, got);
			len += got;
			dom[len] = 0;
		}
		ck_assert_int_eq(pclose(p), 0);
		ck_assert_msg(dom && strstr(dom, "id=\"results\""), "no results table: %.500s",
			      dom ? dom : "");
		a = page_ids(dom);
		b = find_ids(cases[i].args);
		ck_assert_msg(strcmp(a, b) == 0, "%s:\npage:\n%.1500s\ntracegrep --find:\n%.1500s",
			      cases[i].query, a, b);
		ck_assert_msg(*a, "%s: no rows (a weak test)", cases[i].query);
		/* each row links to its trace's waterfall */
		ck_assert_ptr_nonnull(strstr(dom, "href=\"/trace/"));
		free(a);
		free(b);
		free(dom);
	}
	/* A screenshot of a search, kept with the test logs. */
	snprintf(png, sizeof(png), "%s/search.png", clewddir);
	snprintf(cmd, sizeof(cmd),
		 "'%s' --headless --no-sandbox --disable-gpu --disable-background-networking "
		 "--disable-component-update --disable-sync --no-first-run --user-data-dir='%s' "
		 "--window-size=1400,900 --screenshot='%s' '%s/?error=true' >/dev/null 2>&1",
		 chromium, prof, png, url);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(stat(png, &sb), 0);
	ck_assert_int_gt(sb.st_size, 1000);
	if (access("meson-logs", F_OK) == 0) {
		snprintf(cmd, sizeof(cmd), "cp '%s' meson-logs/clewd-search.png", png);
		ck_assert_int_eq(system(cmd), 0);
	}
}
END_TEST

/* Chromium's DOM of @page (a path on clewd). */
static char *dump_dom(const char *chromium, const char *prof, const char *page)
{
	char cmd[2048], chunk[65536];
	char *dom = NULL;
	size_t len = 0, got;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "'%s' --headless --no-sandbox --disable-gpu --disable-background-networking "
		 "--disable-component-update --disable-sync --no-first-run --user-data-dir='%s' "
		 "--dump-dom '%s%s' 2>/dev/null",
		 chromium, prof, url, page);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	while ((got = fread(chunk, 1, sizeof(chunk), p)) > 0) {
		dom = realloc(dom, len + got + 1);
		memcpy(dom + len, chunk, got);
		len += got;
		dom[len] = 0;
	}
	ck_assert_int_eq(pclose(p), 0);
	ck_assert_ptr_nonnull(dom);
	return dom;
}

/* A row's link opens the waterfall page: every span of the trace is a row of it; a screenshot is kept. */
START_TEST(a_row_opens_the_waterfall_in_headless_chromium)
{
	const char *chromium = chromium_path();
	char prof[128], page[256], png[128], cmd[2048];
	char *dom, *href, *end;
	json_t *doc, *s;
	long st;
	size_t i;
	struct stat sb;

	ck_assert_msg(chromium,
		      "chromium is not installed (Debian package chromium; scripts/lib.sh installs it)");
	ensure_daemon();
	snprintf(prof, sizeof(prof), "%s/chromium-profile", clewddir);
	dom = dump_dom(chromium, prof, "/?service=billing&error=true");
	href = strstr(dom, "href=\"/trace/");
	ck_assert_ptr_nonnull(href);
	href += 6;
	end = strchr(href, '"');
	snprintf(page, sizeof(page), "%.*s", (int)(end - href), href);
	free(dom);
	dom = dump_dom(chromium, prof, page);
	ck_assert_msg(strstr(dom, "id=\"waterfall\""), "no waterfall: %.500s", dom);
	snprintf(cmd, sizeof(cmd), "/api/traces/%s", page + 7);
	doc = get(cmd, &st);
	ck_assert_int_eq(st, 200);
	json_array_foreach(json_object_get(json_array_get(json_object_get(doc, "data"), 0), "spans"), i, s)
	{
		char attr[256];

		snprintf(attr, sizeof(attr), "data-span=\"%s\"",
			 json_string_value(json_object_get(s, "spanID")));
		ck_assert_msg(strstr(dom, attr), "span %s is not on the page", attr);
	}
	ck_assert_uint_gt(i, 1);
	json_decref(doc);
	free(dom);
	snprintf(png, sizeof(png), "%s/waterfall.png", clewddir);
	snprintf(cmd, sizeof(cmd),
		 "'%s' --headless --no-sandbox --disable-gpu --disable-background-networking "
		 "--disable-component-update --disable-sync --no-first-run --user-data-dir='%s' "
		 "--window-size=1400,600 --screenshot='%s' '%s%s' >/dev/null 2>&1",
		 chromium, prof, png, url, page);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(stat(png, &sb), 0);
	ck_assert_int_gt(sb.st_size, 1000);
	if (access("meson-logs", F_OK) == 0) {
		snprintf(cmd, sizeof(cmd), "cp '%s' meson-logs/clewd-waterfall.png", png);
		ck_assert_int_eq(system(cmd), 0);
	}
}
END_TEST

/* Last: clewd, having served every request, stops cleanly (the archive untouched by the readers). */
START_TEST(clewd_stops_cleanly)
{
	ensure_daemon();
	ck_assert_int_eq(th_clewd_stop(&daemon_), 0);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("clewd API");
	TCase *tc = tcase_create("api");
	char cmd[512];
	SRunner *sr;
	int failed;

	if (argc < 4) {
		fprintf(stderr, "usage: %s TRACEGREP CLEWD ARCHIVE_INGEST\n", argv[0]);
		return 2;
	}
	tracegrep = argv[1];
	setenv("CLEWD_BIN", argv[2], 1);
	ingest = argv[3];
	unsetenv("CLEW_ARCHIVE");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(dir, sizeof(dir), "/tmp/clew-api-XXXXXX");
	if (!mkdtemp(dir) || fcorpus_write(&corpus, dir, NTXNS) < 0)
		return 2;
	snprintf(archdir, sizeof(archdir), "%s-archive", dir);
	snprintf(clewddir, sizeof(clewddir), "%s-clewd", dir);
	snprintf(cmd, sizeof(cmd), "'%s' --segment-bytes 4096 --chunk-records 8 '%s' '%s'", ingest, archdir,
		 dir);
	if (system(cmd) != 0 || mkdir(clewddir, 0700) != 0)
		return 2;
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, services_and_operations);
	tcase_add_test(tc, every_trace_has_the_shape_and_tracegreps_tree);
	tcase_add_test(tc, traces_listed_by_id);
	tcase_add_test(tc, dependencies_are_the_traces_edges);
	tcase_add_test(tc, searches_equal_tracegrep_find);
	tcase_add_test(tc, bounds_and_errors);
	tcase_add_test(tc, no_archive_output_is_a_json_404);
	tcase_add_test(tc, search_page_headers);
	tcase_add_test(tc, search_page_in_headless_chromium);
	tcase_add_test(tc, a_row_opens_the_waterfall_in_headless_chromium);
	tcase_add_test(tc, clewd_stops_cleanly);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	fcorpus_free(&corpus);
	th_remove_tree(dir);
	th_remove_tree(archdir);
	th_remove_tree(clewddir);
	curl_global_cleanup();
	return failed ? 1 : 0;
}
