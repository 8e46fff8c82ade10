/*
 * test_waterfall.c - the waterfall page (render/waterfall.h) as people use
 * it, in Debian's headless Chromium: tracegrep --html's file and clewd's
 * /trace/{id} (the same renderer) for generated transactions whose truth
 * this test knows: a nested one, one of 2,000 spans, a hostile one.
 *
 * Each page is opened by cdp_probe.py (the DevTools protocol over a pipe),
 * which runs waterfall_probe.js in it: the rows, the pixel positions of
 * the bars and the ruler, a click on a row (its details panel), a fold
 * of a subtree, Collapse all / Expand all, and what ran or was refused.
 * Here: every span has a row; every bar sits where its start and
 * duration put it on the one axis of the ruler (so a child starts at or
 * after its parent on the same axis, whatever their depths); a row's
 * panel shows its tags and logs; folding hides exactly the subtree; the
 * page of 2,000 spans renders every row; hostile names and messages
 * (</script>, <img onerror>, U+2028, ESC) run nothing and show as text;
 * no exception, no CSP violation. Without scripts the rows still show.
 * Screenshots are kept as meson-logs/waterfall-*.png.
 */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmt/ts.h"
#include "th_clewd.h"
#include "th_file.h"
#include "th_proc.h"

/* 2026-11-23T07:00:00Z in microseconds. */
#define BASE_US (INT64_C(1795417200) * 1000000)

struct tspan {
	char id[32]; /* "%.8s-s%zu": 8 + 2 + up to 20 digits */
	int parent;  /* index, -1: the top span (under the transaction's root row) */
	int64_t start_us, dur_us;
};

struct ttrace {
	char id[40];
	struct tspan *v;
	size_t n;
};

static const char *tracegrep, *ingest, *python, *probe_py, *probe_js, *chromium;
static char dir[64], archdir[80], clewddir[80], outdir[80], url[64];
static struct ttrace nested, big, hostile;
static struct th_clewd daemon_;

static const char hostile_name[] = "</script><script>window.__pwned=1</script>";
/* As the page shows it: the quotes kept, U+2028 kept, ESC as \e. */
static const char hostile_msg_shown[] =
	"<img src=x onerror=\"window.__pwned=2\"> \xe2\x80\xa8 then \\e[31mred\\e[0m";

static void ts(int64_t us, char *out)
{
	fmt_ts_format(us * 1000, 6, out);
}

/*
 * A transaction of @n spans, each with @k children at most (span i's parent is (i-1)/k): a
 * child's window is one of seven slices of its parent's, so no child leaves its parent and
 * no clock-skew move applies. Each span has an event=span record with attributes and one
 * log record (ERROR for every seventh).
 */
static void gen(struct ttrace *t, FILE *f, const char *id, size_t n, size_t k, bool bad)
{
	snprintf(t->id, sizeof(t->id), "%s", id);
	t->n = n;
	t->v = calloc(n, sizeof(*t->v));
	for (size_t i = 0; i < n; i++) {
		struct tspan *s = &t->v[i];
		char a[FMT_TS_MAX], b[FMT_TS_MAX], par[64] = "";
		bool err = i % 7 == 3;

		snprintf(s->id, sizeof(s->id), "%.8s-s%zu", id, i);
		if (i == 0) {
			s->parent = -1;
			s->start_us = BASE_US;
			s->dur_us = 10000000;
		} else {
			const struct tspan *p = &t->v[(i - 1) / k];

			s->parent = (int)((i - 1) / k);
			s->dur_us = p->dur_us / 7;
			s->start_us = p->start_us + (int64_t)((i - 1) % k + 1) * s->dur_us;
			snprintf(par, sizeof(par), "\"parent\":\"%s\",", p->id);
		}
		ts(s->start_us, a);
		ts(s->start_us + s->dur_us / 2, b);
		fprintf(f,
			"{\"timestamp\":\"%s\",\"level\":\"info\",\"service\":\"svc%zu\",\"trace\":\"%s\","
			"\"span\":\"%s\",%s\"event\":\"span\",\"name\":\"%s\",\"dur_us\":%lld,"
			"\"status\":\"%s\",\"user\":\"u%zu\",\"shard\":\"sh%zu\"%s}\n",
			a, i % 6, id, s->id, par,
			bad ? "<\\/script><script>window.__pwned=1<\\/script>" : "op", (long long)s->dur_us,
			err ? "error" : "ok", i, i % 3, bad ? ",\"<b>k</b>\":\"</script>\"" : "");
		fprintf(f,
			"{\"timestamp\":\"%s\",\"level\":\"%s\",\"service\":\"svc%zu\",\"trace\":\"%s\","
			"\"span\":\"%s\",%s\"message\":\"%s\",\"rows\":%zu}\n",
			b, err ? "error" : "info", i % 6, id, s->id, par,
			bad ? "<img src=x onerror=\\\"window.__pwned=2\\\"> \\u2028 then \\u001b[31mred\\u001b[0m"
			    : "step done",
			i);
	}
}

/* Whether span @i is in the subtree under span @top (itself excluded). */
static bool under(const struct ttrace *t, size_t i, size_t top)
{
	for (int p = t->v[i].parent; p >= 0; p = t->v[p].parent)
		if ((size_t)p == top)
			return true;
	return false;
}

/* clewd serving the archive of the corpus, started once. */
static void ensure_daemon(void)
{
	char port[32], out[128];

	if (daemon_.pid)
		return;
	snprintf(port, sizeof(port), "127.0.0.1:%u", th_free_port());
	snprintf(url, sizeof(url), "http://%s", port);
	snprintf(out, sizeof(out), "archive:%s", archdir);
	th_clewd_start(&daemon_, clewddir,
		       (const char *const[]){"-i", "tcp://127.0.0.1:0", "-o", out, "--http", port, NULL}, 0,
		       NULL);
	th_clewd_port(&daemon_, "tcp", NULL); /* listening: the HTTP endpoint is up too */
}

/* The page of @t: tracegrep --html's file (@from_clewd false) or clewd's /trace/{id}; its address. */
static void page_of(const struct ttrace *t, bool from_clewd, char *addr, size_t cap)
{
	if (from_clewd) {
		ensure_daemon();
		snprintf(addr, cap, "%s/trace/%s", url, t->id);
	} else {
		char html[160]; /* outdir (80) + / + an ID (40) + .html */
		struct th_result r;

		snprintf(html, sizeof(html), "%s/%s.html", outdir, t->id);
		r = th_run(tracegrep, NULL, (const char *const[]){"--html", html, t->id, dir, NULL});
		ck_assert_msg(r.status == 0, "tracegrep --html: %d %s", r.status, r.err);
		th_result_free(&r);
		snprintf(addr, cap, "file://%s", html);
	}
}

/* Open @addr with the probe (@args: its JSON argument); the report, checked for errors; a screenshot kept as @shot. */
static json_t *probe(const char *addr, const char *args, const char *shot)
{
	char prof[128], png[256], cmd[512];
	struct th_result r;
	json_error_t e;
	json_t *doc, *x;
	size_t i;

	ck_assert_msg(chromium,
		      "chromium is not installed (Debian package chromium; scripts/lib.sh installs it)");
	snprintf(prof, sizeof(prof), "%s/chromium-profile", outdir);
	snprintf(png, sizeof(png), "%s/%s.png", outdir, shot);
	r = th_run(python, NULL,
		   (const char *const[]){probe_py, chromium, prof, addr, probe_js, args, png, NULL});
	ck_assert_msg(r.status == 0, "%s: the probe failed (%d): %s", addr, r.status, r.err);
	doc = json_loads(r.out, 0, &e);
	ck_assert_msg(doc, "%s: not JSON (%s): %.300s", addr, e.text, r.out);
	th_result_free(&r);
	json_array_foreach(json_object_get(doc, "exceptions"), i, x)
		ck_abort_msg("%s: an exception in the page: %s", addr, json_string_value(x));
	json_array_foreach(json_object_get(doc, "violations"), i, x)
		ck_abort_msg("%s: an error or CSP violation: %s", addr, json_string_value(x));
	x = json_object_get(doc, "result");
	if (!strstr(args, "\"noscript\""))
		ck_assert_str_eq(json_string_value(json_object_get(x, "ready")),
				 "1"); /* its script ran (CSP hash) */
	ck_assert_int_eq(json_integer_value(json_object_get(x, "pwned")), 0);
	if (access("meson-logs", F_OK) == 0) {
		snprintf(cmd, sizeof(cmd), "cp '%s' meson-logs/waterfall-%s.png", png, shot);
		ck_assert_int_eq(system(cmd), 0);
	}
	json_incref(x);
	json_decref(doc);
	return x;
}

static json_t *row_of(json_t *rows, const char *id)
{
	json_t *r;
	size_t i;

	json_array_foreach(rows, i,
			   r) if (strcmp(json_string_value(json_object_get(r, "id")), id) == 0) return r;
	return NULL;
}

static double num(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

/*
 * Every span has one row (and the transaction's root row); every bar is where its times put
 * it on the ruler's axis; a child starts at or after its parent and is indented more.
 */
static void check_rows(const struct ttrace *t, json_t *res)
{
	json_t *rows = json_object_get(res, "rows"), *axis = json_object_get(res, "axis");
	json_t *ticks = json_object_get(res, "ticks");
	double left = num(axis, "left"), width = num(axis, "width"), total = (double)t->v[0].dur_us;

	ck_assert_uint_eq(json_array_size(rows), t->n + 1);
	ck_assert_ptr_nonnull(row_of(rows, t->id));
	ck_assert_uint_eq(json_array_size(ticks), 5);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ticks, 0), "text")), "0");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ticks, 4), "text")), "10.0s");
	for (size_t q = 1; q < 5; q++)
		ck_assert_double_gt(num(json_array_get(ticks, q), "left"),
				    num(json_array_get(ticks, q - 1), "left"));
	for (size_t i = 0; i < t->n; i++) {
		const struct tspan *s = &t->v[i];
		json_t *r = row_of(rows, s->id), *p;
		double want = left + width * (double)(s->start_us - t->v[0].start_us) / total;
		double wantw = width * (double)s->dur_us / total;

		ck_assert_msg(r, "span %s has no row", s->id);
		ck_assert_msg(fabs(num(r, "left") - want) <= 1.5,
			      "span %s: bar at %.1fpx, its start is at %.1fpx", s->id, num(r, "left"), want);
		/* a bar is at least 2px wide (a dot for a short span) */
		ck_assert_msg(fabs(num(r, "right") - num(r, "left") - (wantw < 2 ? 2 : wantw)) <= 1.5,
			      "span %s: bar %.1fpx wide, its duration is %.1fpx", s->id,
			      num(r, "right") - num(r, "left"), wantw);
		p = row_of(rows, s->parent >= 0 ? t->v[s->parent].id : t->id);
		ck_assert_double_ge(num(r, "left"), num(p, "left") - 0.5);
		ck_assert_double_gt(num(r, "indent"), num(p, "indent"));
	}
}

/* A click shows span @i's tags and logs; folding span @f hides exactly its subtree; collapse/expand all. */
static void check_actions(const struct ttrace *t, json_t *res, size_t i, size_t f)
{
	json_t *click = json_object_get(res, "click"), *fold = json_object_get(res, "fold"), *v;
	const char *text = json_string_value(json_object_get(click, "text"));
	char want[64];
	size_t n = 0, k;

	ck_assert(json_is_true(json_object_get(res, "panel0"))); /* closed until a click */
	ck_assert(json_is_false(json_object_get(click, "hidden")));
	ck_assert_str_eq(json_string_value(json_object_get(click, "span")), t->v[i].id);
	ck_assert_str_eq(json_string_value(json_object_get(click, "afterRow")), t->v[i].id);
	snprintf(want, sizeof(want), "useru%zu", i); /* tag key, then its value */
	ck_assert_msg(strstr(text, want), "no tag %s in the panel: %s", want, text);
	snprintf(want, sizeof(want), "shardsh%zu", i % 3);
	ck_assert_msg(strstr(text, want), "no tag %s in the panel: %s", want, text);
	ck_assert_msg(strstr(text, "Logs (1)"), "no log in the panel: %s", text);
	snprintf(want, sizeof(want), "rows=%zu", i);
	ck_assert_msg(strstr(text, want), "no log field %s in the panel: %s", want, text);
	json_array_foreach(json_object_get(fold, "visible"), k, v)
	{
		for (size_t j = 0; j < t->n; j++)
			if (strcmp(t->v[j].id, json_string_value(v)) == 0)
				ck_assert_msg(!under(t, j, f), "%s is under folded %s but visible",
					      t->v[j].id, t->v[f].id);
	}
	for (size_t j = 0; j < t->n; j++)
		n += !under(t, j, f);
	ck_assert_uint_eq(json_array_size(json_object_get(fold, "visible")), n + 1);
	ck_assert_int_eq(json_integer_value(json_object_get(fold, "unfolded")), (json_int_t)t->n + 1);
	/* Collapse all: the root row alone; Expand all: every row. */
	ck_assert_uint_eq(json_array_size(json_object_get(res, "collapsed")), 1);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(res, "collapsed"), 0)), t->id);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "expanded")), (json_int_t)t->n + 1);
}

static void nested_page(bool from_clewd)
{
	char addr[256], args[256];
	json_t *res;

	page_of(&nested, from_clewd, addr, sizeof(addr));
	snprintf(args, sizeof(args), "{\"click\":\"%s\",\"fold\":\"%s\"}", nested.v[4].id, nested.v[1].id);
	res = probe(addr, args, from_clewd ? "clewd-nested" : "tracegrep-nested");
	check_rows(&nested, res);
	check_actions(&nested, res, 4, 1);
	json_decref(res);
}

START_TEST(tracegrep_page_of_a_nested_trace)
{
	nested_page(false);
}
END_TEST

START_TEST(clewd_page_of_a_nested_trace)
{
	nested_page(true);
}
END_TEST

static void big_page(bool from_clewd)
{
	char addr[256], args[256];
	json_t *res;

	page_of(&big, from_clewd, addr, sizeof(addr));
	snprintf(args, sizeof(args), "{\"click\":\"%s\",\"fold\":\"%s\"}", big.v[1500].id, big.v[2].id);
	res = probe(addr, args, from_clewd ? "clewd-2000" : "tracegrep-2000");
	check_rows(&big, res);
	check_actions(&big, res, 1500, 2);
	json_decref(res);
}

START_TEST(tracegrep_page_of_2000_spans)
{
	big_page(false);
}
END_TEST

START_TEST(clewd_page_of_2000_spans)
{
	big_page(true);
}
END_TEST

static void hostile_page(bool from_clewd)
{
	char addr[256], args[256];
	json_t *res, *click;
	const char *body, *text;

	page_of(&hostile, from_clewd, addr, sizeof(addr));
	snprintf(args, sizeof(args), "{\"click\":\"%s\",\"text\":true}", hostile.v[1].id);
	res = probe(addr, args, from_clewd ? "clewd-hostile" : "tracegrep-hostile");
	check_rows(&hostile, res);
	body = json_string_value(json_object_get(res, "bodyText"));
	click = json_object_get(res, "click");
	text = json_string_value(json_object_get(click, "text"));
	ck_assert_msg(strstr(body, hostile_name), "the hostile name is not shown as text: %s", body);
	ck_assert_msg(strstr(text, hostile_name), "the panel lacks the name: %s", text);
	ck_assert_msg(strstr(text, hostile_msg_shown), "the panel lacks the message as text: %s", text);
	ck_assert_msg(strstr(text, "<b>k</b></script>"), "the panel lacks the hostile tag: %s", text);
	ck_assert_ptr_null(strchr(body, 0x1b));
	ck_assert_ptr_null(strchr(text, 0x1b));
	json_decref(res);
}

START_TEST(tracegrep_page_of_a_hostile_trace)
{
	char html[256];
	char *page;
	size_t len, n = 0;

	hostile_page(false);
	/* In the file itself: the data blob and the page's script are the only <script> elements. */
	snprintf(html, sizeof(html), "%s/%s.html", outdir, hostile.id);
	page = th_slurp_must(html, &len);
	for (const char *p = page; (p = strstr(p, "<script")); p++)
		n++;
	ck_assert_uint_eq(n, 2);
	ck_assert_ptr_null(strstr(page, "<img"));
	ck_assert_ptr_null(strchr(page, 0x1b));
	/* U+2028 (only in a message, so only in the data blob) is written as \u2028: it cannot end the script. */
	ck_assert_ptr_null(strstr(page, "\xe2\x80\xa8"));
	ck_assert_ptr_nonnull(strstr(page, "\\u2028"));
	free(page);
}
END_TEST

START_TEST(clewd_page_of_a_hostile_trace)
{
	hostile_page(true);
}
END_TEST

/* With scripts off the page is a static list: every span's row shown, no panel. */
START_TEST(without_scripts_the_rows_still_show)
{
	char addr[256];
	json_t *res, *rows;

	page_of(&nested, false, addr, sizeof(addr));
	res = probe(addr, "{\"noscript\":true}", "tracegrep-noscript");
	ck_assert_str_eq(json_string_value(json_object_get(res, "ready")), ""); /* the script did not run */
	ck_assert_str_eq(json_string_value(json_object_get(res, "body")), "nojs");
	rows = json_object_get(res, "rows");
	ck_assert_uint_eq(json_array_size(rows), nested.n + 1);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "visible")), (json_int_t)nested.n + 1);
	for (size_t i = 0; i < nested.n; i++) {
		json_t *v;
		size_t j;
		bool found = false;

		json_array_foreach(rows, j, v) found =
			found || strcmp(json_string_value(v), nested.v[i].id) == 0;
		ck_assert_msg(found, "no row for %s", nested.v[i].id);
	}
	ck_assert(json_is_true(json_object_get(res, "panel")));
	json_decref(res);
}
END_TEST

START_TEST(clewd_stops_cleanly)
{
	ensure_daemon();
	ck_assert_int_eq(th_clewd_stop(&daemon_), 0);
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

int main(int argc, char **argv)
{
	Suite *s = suite_create("waterfall");
	TCase *tc = tcase_create("pages");
	char path[128], cmd[512];
	SRunner *sr;
	FILE *f;
	int failed;

	if (argc < 7) {
		fprintf(stderr, "usage: %s TRACEGREP CLEWD ARCHIVE_INGEST PYTHON CDP_PROBE_PY PROBE_JS\n",
			argv[0]);
		return 2;
	}
	tracegrep = argv[1];
	setenv("CLEWD_BIN", argv[2], 1);
	ingest = argv[3];
	python = argv[4];
	probe_py = argv[5];
	probe_js = argv[6];
	chromium = chromium_path();
	unsetenv("CLEW_ARCHIVE");
	snprintf(dir, sizeof(dir), "/tmp/clew-wf-XXXXXX");
	if (!mkdtemp(dir))
		return 2;
	snprintf(archdir, sizeof(archdir), "%s-archive", dir);
	snprintf(clewddir, sizeof(clewddir), "%s-clewd", dir);
	snprintf(outdir, sizeof(outdir), "%s-out", dir);
	snprintf(path, sizeof(path), "%s/app.log", dir);
	if (!(f = fopen(path, "w")))
		return 2;
	gen(&nested, f, "nested0123456789", 15, 2, false);
	gen(&big, f, "big00123456789ab", 2000, 5, false);
	gen(&hostile, f, "hostile123456789", 3, 2, true);
	if (fclose(f) != 0)
		return 2;
	snprintf(cmd, sizeof(cmd), "'%s' '%s' '%s' >/dev/null", ingest, archdir, dir);
	if (system(cmd) != 0 || mkdir(clewddir, 0700) != 0 || mkdir(outdir, 0700) != 0)
		return 2;
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, tracegrep_page_of_a_nested_trace);
	tcase_add_test(tc, clewd_page_of_a_nested_trace);
	tcase_add_test(tc, tracegrep_page_of_2000_spans);
	tcase_add_test(tc, clewd_page_of_2000_spans);
	tcase_add_test(tc, tracegrep_page_of_a_hostile_trace);
	tcase_add_test(tc, clewd_page_of_a_hostile_trace);
	tcase_add_test(tc, without_scripts_the_rows_still_show);
	tcase_add_test(tc, clewd_stops_cleanly);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (daemon_.pid)
		th_clewd_stop(&daemon_);
	th_remove_tree(dir);
	th_remove_tree(archdir);
	th_remove_tree(clewddir);
	th_remove_tree(outdir);
	return failed ? 1 : 0;
}
