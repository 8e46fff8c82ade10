/*
 * test_find.c - tracegrep --find end to end, against a corpus with known
 * summaries (find_corpus.c).
 *
 * The tracegrep binary (argv[1]) is run as a process: --json's objects are
 * read back with jansson (an independent JSON reader) and compared, field
 * by field, with the truth; every filter, and combinations, must return
 * exactly the set of transactions the truth says; the order (newest first,
 * or longest first), --limit, the thread count (the answer must not depend
 * on it), the exit statuses, --open, and the table on a terminal, whose
 * log values must be neutralised.
 *
 * Given bench/archive_ingest (argv[2]), the same tests run on an archive
 * made from the corpus instead of the files: small chunks and segments,
 * so most transactions are split over segments, whose summaries (read
 * from the segments' summary files) must merge into the files' answer.
 * Given clewd and "clewd" (argv[2], argv[3]), the archive is clewd's
 * own, its summaries on: each file of the corpus fed to one run of clewd
 * on its standard input, so each file is a segment of its own, whose
 * summaries clewd made from the records it parsed as it built each chunk
 * (every transaction but one spans several segments).
 */
#include <check.h>
#include <fnmatch.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fmt/ts.h"
#include "find_corpus.h"
#include "th_file.h"
#include "th_proc.h"

#define NTXNS 180

static const char *tracegrep;
static const char *ingest; /* NULL: search the files; else the archive made by it */
static bool by_clewd;	   /* ingest is clewd (summaries on), fed each file in turn */
static char dir[64];
static char archdir[80];
static struct fcorpus corpus;

/* tracegrep --find ARGS... DIR, with @args NULL-terminated. */
static struct th_result find(const char *const *args)
{
	const char *argv[48];
	size_t n = 0;

	argv[n++] = "--find";
	for (; *args; args++)
		argv[n++] = *args;
	if (ingest) {
		argv[n++] = "--archive";
		argv[n++] = archdir;
	} else {
		argv[n++] = dir;
	}
	argv[n] = NULL;
	return th_run(tracegrep, NULL, argv);
}

#define FIND(...) find((const char *const[]){__VA_ARGS__, NULL})

/* The objects of --json output, one per line, checked to be exactly the documented keys. */
static json_t *objects(const struct th_result *r)
{
	static const char *const keys[] = {"trace",    "start",	      "dur_us", "service", "method",
					   "path",     "status",      "error",	"spans",   "records",
					   "services", "first_error", "attrs"};
	json_t *all = json_array();
	const char *p = r->out;

	while (*p) {
		const char *nl = strchr(p, '\n');
		json_error_t e;
		json_t *o;
		const char *k;
		json_t *v;
		size_t i = 0;

		ck_assert_msg(nl != NULL, "--json output does not end in a newline");
		o = json_loadb(p, (size_t)(nl - p), 0, &e);
		ck_assert_msg(o && json_is_object(o), "not a JSON object: %.*s (%s)", (int)(nl - p), p,
			      e.text);
		json_object_foreach(o, k, v)
		{
			ck_assert_uint_lt(i, 13);
			ck_assert_str_eq(k, keys[i]);
			i++;
		}
		ck_assert_uint_eq(i, 13);
		json_array_append_new(all, o);
		p = nl + 1;
	}
	return all;
}

static const struct fc_txn *truth(const char *trace)
{
	for (size_t i = 0; i < corpus.ntxns; i++)
		if (strcmp(corpus.txns[i].trace, trace) == 0)
			return &corpus.txns[i];
	return NULL;
}

static void check_str_or_null(json_t *v, const char *want, const char *what, const char *trace)
{
	if (!want || !*want) {
		ck_assert_msg(json_is_null(v), "%s of %s: not null", what, trace);
		return;
	}
	ck_assert_msg(json_is_string(v), "%s of %s: not a string", what, trace);
	ck_assert_msg(strcmp(json_string_value(v), want) == 0, "%s of %s: '%s', want '%s'", what, trace,
		      json_string_value(v), want);
}

START_TEST(every_field_of_every_summary)
{
	struct th_result r = FIND("--json", "--limit", "0");
	json_t *all = objects(&r), *o;
	size_t i;

	ck_assert_int_eq(r.status, 0);
	ck_assert_uint_eq(json_array_size(all), corpus.ntxns);
	json_array_foreach(all, i, o)
	{
		const char *trace = json_string_value(json_object_get(o, "trace"));
		const struct fc_txn *t = trace ? truth(trace) : NULL;
		json_t *svc = json_object_get(o, "services"), *attrs = json_object_get(o, "attrs");
		char start[FMT_TS_MAX];

		ck_assert_msg(t != NULL, "unknown transaction %s", trace);
		fmt_ts_format(t->start_us * 1000, 6, start);
		check_str_or_null(json_object_get(o, "start"), start, "start", trace);
		ck_assert_msg(json_integer_value(json_object_get(o, "dur_us")) == t->dur_us,
			      "dur_us of %s: %lld", trace,
			      (long long)json_integer_value(json_object_get(o, "dur_us")));
		check_str_or_null(json_object_get(o, "service"), t->service, "service", trace);
		check_str_or_null(json_object_get(o, "method"), t->method, "method", trace);
		check_str_or_null(json_object_get(o, "path"), t->path, "path", trace);
		ck_assert_msg(json_is_integer(json_object_get(o, "status")) &&
				      json_integer_value(json_object_get(o, "status")) == t->status,
			      "status of %s", trace);
		ck_assert_msg(json_is_boolean(json_object_get(o, "error")) &&
				      json_is_true(json_object_get(o, "error")) == t->error,
			      "error of %s", trace);
		ck_assert_msg(json_integer_value(json_object_get(o, "spans")) == t->spans,
			      "spans of %s: %lld", trace,
			      (long long)json_integer_value(json_object_get(o, "spans")));
		ck_assert_msg(json_integer_value(json_object_get(o, "records")) == t->records,
			      "records of %s", trace);
		ck_assert(json_is_array(svc));
		ck_assert_msg(json_array_size(svc) == t->nservices, "services of %s", trace);
		for (size_t k = 0; k < t->nservices; k++)
			ck_assert_str_eq(json_string_value(json_array_get(svc, k)), t->services[k]);
		check_str_or_null(json_object_get(o, "first_error"), t->first_error, "first_error", trace);
		ck_assert(json_is_object(attrs));
		/* A key no record has is left out. */
		if (*t->user)
			check_str_or_null(json_object_get(attrs, "user"), t->user, "attrs.user", trace);
		if (*t->tenant)
			check_str_or_null(json_object_get(attrs, "tenant"), t->tenant, "attrs.tenant", trace);
		if (*t->order)
			check_str_or_null(json_object_get(attrs, "order"), t->order, "attrs.order", trace);
		ck_assert_uint_eq(json_object_size(attrs),
				  (*t->user != 0) + (*t->tenant != 0) + (*t->order != 0));
	}
	json_decref(all);
	th_result_free(&r);
}
END_TEST

/* ---- filters against the truth ---- */

static bool has_service(const struct fc_txn *t, const char *s)
{
	for (size_t i = 0; i < t->nservices; i++)
		if (strcmp(t->services[i], s) == 0)
			return true;
	return false;
}

/* A span with a method among @methods (NULL: any) whose path matches @glob (NULL: any). */
static bool has_route(const struct fc_txn *t, const char *const *methods, const char *glob)
{
	for (size_t i = 0; i < t->nroutes; i++) {
		bool m = !methods;

		for (const char *const *p = methods; p && *p && !m; p++)
			m = strcasecmp(*p, t->routes[i].method) == 0;
		if (m && (!glob || fnmatch(glob, t->routes[i].path, 0) == 0))
			return true;
	}
	return false;
}

#define MS 1000
#define AT(ms) (INT64_C(1795417200) * 1000000 + (int64_t)(ms)*1000)

static bool want(int c, const struct fc_txn *t)
{
	static const char *const get[] = {"GET", NULL}, *const del_get[] = {"delete", "GET", NULL};

	switch (c) {
	case 0:
		return true;
	case 1:
		return t->error;
	case 2:
		return t->status >= 500 && t->status <= 599;
	case 3:
		return t->status == 404;
	case 4:
		return t->status >= 400;
	case 5:
		return t->status >= 1 && t->status < 400;
	case 6:
		return has_service(t, "billing");
	case 7:
		return has_service(t, "billing") && has_service(t, "inventory");
	case 8:
		return has_route(t, NULL, "/api/v1/orders/*");
	case 9:
		return has_route(t, (const char *const[]){"DELETE", NULL}, NULL);
	case 10:
		return has_route(t, get, "/search*");
	case 11:
		return t->dur_us >= 50 * MS;
	case 12:
		return t->dur_us <= 20 * MS;
	case 13:
		return t->dur_us >= 10 * MS && t->dur_us <= 40 * MS;
	case 14:
		return strcmp(t->user, "u3") == 0;
	case 15:
		return strcmp(t->tenant, "t1") == 0 && t->error;
	case 16:
		return t->timeout_text;
	case 17:
		return t->start_us >= AT(5000) && t->start_us <= AT(9000);
	case 18:
		return false; /* no record's message is empty or says "nothing" */
	case 19:
		return has_route(t, del_get, "/stock/*") && t->status == 200;
	case 20:
		return strcmp(t->order, "42") == 0;
	case 21:
		return t->status == 404 || t->status == 429;
	case 22:
		return t->error && t->dur_us >= 100 * MS && has_route(t, NULL, "/checkout");
	case 23:
		return t->hostile;
	}
	ck_abort_msg("no case %d", c);
	return false;
}

static const char *const cases[][12] = {
	{NULL},
	{"--error", NULL},
	{"--status", "5xx", NULL},
	{"--status", "404", NULL},
	{"--status", ">=400", NULL},
	{"--status", "<400", NULL},
	{"--service", "billing", NULL},
	{"--service", "billing", "--service", "inventory", NULL},
	{"--route", "/api/v1/orders/*", NULL},
	{"--method", "DELETE", NULL},
	{"--method", "get", "--route", "/search*", NULL},
	{"--min-duration", "50ms", NULL},
	{"--max-duration", "20000us", NULL},
	{"--min-duration", "0.01s", "--max-duration", "40ms", NULL},
	{"--attr", "user=u3", NULL},
	{"--attr", "tenant=t1", "--error", NULL},
	{"--text", "time(d )?out", NULL},
	{"--since", "2026-11-23T07:00:05Z", "--until", "2026-11-23T07:00:09Z", NULL},
	{"--error", "--service", "orders", "--text", "^$|nothing", NULL},
	{"--route", "/stock/*", "--method", "delete", "--method", "GET", "--status", "200", NULL},
	{"--attr", "order=42", NULL},
	{"--status", "404", "--status", "429", NULL},
	{"--error", "--min-duration", "100ms", "--route", "/checkout", NULL},
	{"--text", "\\x1b\\]52", NULL},
};

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

START_TEST(each_filter_returns_the_truth)
{
	const char *args[16];
	size_t n = 0, nwant = 0, ngot;
	const char *wanted[NTXNS + 1], *got[NTXNS + 1];
	struct th_result r;
	json_t *all, *o;
	size_t i;

	for (const char *const *a = cases[_i]; *a; a++)
		args[n++] = *a;
	args[n++] = "--json";
	args[n++] = "--limit";
	args[n++] = "0";
	args[n] = NULL;
	for (size_t k = 0; k < corpus.ntxns; k++)
		if (want(_i, &corpus.txns[k]))
			wanted[nwant++] = corpus.txns[k].trace;
	r = find(args);
	ck_assert_msg(r.status == (nwant ? 0 : 1), "case %d: status %d, stderr %s", _i, r.status, r.err);
	all = objects(&r);
	ngot = json_array_size(all);
	ck_assert_msg(ngot == nwant, "case %d (%s ...): %zu transactions, want %zu", _i,
		      cases[_i][0] ? cases[_i][0] : "", ngot, nwant);
	json_array_foreach(all, i, o) got[i] = json_string_value(json_object_get(o, "trace"));
	qsort(wanted, nwant, sizeof(*wanted), cmp_strp);
	qsort(got, ngot, sizeof(*got), cmp_strp);
	for (i = 0; i < nwant; i++)
		ck_assert_msg(strcmp(got[i], wanted[i]) == 0, "case %d: %s, want %s", _i, got[i], wanted[i]);
	/* Every filter takes some and leaves some (but the first, which takes all, and 18). */
	if (_i != 0 && _i != 18)
		ck_assert_msg(nwant > 0 && nwant < corpus.ntxns, "case %d does not discriminate (%zu)", _i,
			      nwant);
	json_decref(all);
	th_result_free(&r);
}
END_TEST

/* ---- order, limit, threads ---- */

START_TEST(newest_first_longest_first_and_limits)
{
	struct th_result r = FIND("--json", "--limit", "7");
	json_t *all = objects(&r), *o;
	int64_t prev = INT64_MAX;
	size_t i;

	ck_assert_int_eq(r.status, 0);
	ck_assert_uint_eq(json_array_size(all), 7);
	ck_assert_ptr_nonnull(strstr(r.err, "7 of 181 matching transactions shown"));
	json_array_foreach(all, i, o)
	{
		const struct fc_txn *t = truth(json_string_value(json_object_get(o, "trace")));

		ck_assert(t->start_us < prev);
		prev = t->start_us;
	}
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(all, 0), "trace")), "hostile0");
	json_decref(all);
	th_result_free(&r);

	r = FIND("--json", "--sort", "duration");
	all = objects(&r);
	ck_assert_uint_eq(json_array_size(all), 20); /* the default limit */
	prev = INT64_MAX;
	json_array_foreach(all, i, o)
	{
		int64_t d = json_integer_value(json_object_get(o, "dur_us"));

		ck_assert(d <= prev);
		prev = d;
	}
	/* No transaction left out lasted longer than the last one listed. */
	for (size_t k = 0, longer = 0; k < corpus.ntxns; k++) {
		longer += corpus.txns[k].dur_us > prev;
		ck_assert_uint_le(longer, 20);
	}
	json_decref(all);
	th_result_free(&r);
}
END_TEST

START_TEST(the_answer_does_not_depend_on_threads)
{
	struct th_result one = FIND("--json", "--limit", "0", "-j", "1");
	struct th_result many = FIND("--json", "--limit", "0", "-j", "4");

	ck_assert_int_eq(one.status, 0);
	ck_assert_uint_eq(one.len, many.len);
	ck_assert_str_eq(one.out, many.out);
	th_result_free(&one);
	th_result_free(&many);
}
END_TEST

/* ---- exit status and errors ---- */

START_TEST(exit_status_as_grep)
{
	struct th_result r = FIND("--attr", "user=nobody");

	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "");
	th_result_free(&r);
	r = FIND("--status", "6xy");
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "--status takes"));
	th_result_free(&r);
	r = FIND("--text", "(");
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "--text '('"));
	th_result_free(&r);
	r = FIND("--chrome");
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "add --open"));
	th_result_free(&r);
	/* Filters need --find. */
	r = th_run(tracegrep, NULL, (const char *const[]){"--error", "abc", dir, NULL});
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "go with --find"));
	th_result_free(&r);
	/* No PATH: the archive ($CLEW_ARCHIVE here), which must exist. */
	setenv("CLEW_ARCHIVE", "/nonexistent/archive", 1);
	r = th_run(tracegrep, NULL, (const char *const[]){"--find", "--error", NULL});
	unsetenv("CLEW_ARCHIVE");
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "no such directory"));
	th_result_free(&r);
	/* An unreadable PATH: the rest is still searched, and the status is 2. */
	r = th_run(tracegrep, NULL,
		   ingest ? (const char *const[]){"--find", "--json", "/nonexistent/x", "--archive", archdir,
						  NULL}
			  : (const char *const[]){"--find", "--json", "/nonexistent/x", dir, NULL});
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.out, "\"trace\":\"hostile0\""));
	th_result_free(&r);
}
END_TEST

/* ---- --open ---- */

START_TEST(open_shows_the_first_match)
{
	struct th_result r = FIND("--service", "billing", "--sort", "duration", "--open", "--json");
	const struct fc_txn *best = NULL;
	json_error_t e;
	json_t *doc;

	for (size_t k = 0; k < corpus.ntxns; k++) {
		const struct fc_txn *t = &corpus.txns[k];

		if (has_service(t, "billing") &&
		    (!best || t->dur_us > best->dur_us ||
		     (t->dur_us == best->dur_us && t->start_us > best->start_us)))
			best = t;
	}
	ck_assert_int_eq(r.status, 0);
	doc = json_loads(r.out, 0, &e);
	ck_assert_msg(doc != NULL, "%s", e.text);
	/* tracegrep-json's document of that transaction: its trace, and a span per span. */
	ck_assert_str_eq(json_string_value(json_object_get(doc, "trace")), best->trace);
	ck_assert_int_eq(json_array_size(json_object_get(doc, "spans")), best->spans);
	ck_assert_int_eq(json_array_size(json_object_get(doc, "records")), best->records);
	json_decref(doc);
	th_result_free(&r);

	/* The waterfall by default. */
	r = FIND("--error", "--attr", "user=u1", "--open", "--color=never", "-w", "100");
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "transaction "));
	ck_assert_ptr_nonnull(strstr(r.out, "(* critical path)"));
	th_result_free(&r);
}
END_TEST

/* ---- the table ---- */

/* Whether @s holds a byte a terminal would act on, other than '\n' and (when @sgr) our own colours. */
static const char *unsafe_byte(const char *s, bool sgr)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == 0x1b && sgr && p[1] == '[') {
			const unsigned char *q = p + 2;

			while ((*q >= '0' && *q <= '9') || *q == ';')
				q++;
			if (*q == 'm') {
				p = q;
				continue;
			}
		}
		if ((*p < 0x20 && *p != '\n') || *p == 0x7f || *p == 0xff || *p == 0xfe ||
		    (p[0] == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0))
			return (const char *)p;
	}
	return NULL;
}

START_TEST(the_table_neutralises_log_values)
{
	struct th_result r = FIND("--color=never", "-w", "200", "--limit", "3");
	const char *bad = unsafe_byte(r.out, false);

	ck_assert_int_eq(r.status, 0);
	ck_assert_msg(!bad, "unsafe byte 0x%02x in the table: %s", bad ? (unsigned char)*bad : 0, r.out);
	ck_assert_ptr_nonnull(strstr(r.out, "START"));
	ck_assert_ptr_nonnull(strstr(r.out, "FIRST ERROR"));
	/* The hostile transaction's values, shown as escapes. */
	ck_assert_ptr_nonnull(strstr(r.out, "! "));
	ck_assert_ptr_nonnull(strstr(r.out, "gate\\e]0;pwn\\x07way GET /x\\e[2J"));
	ck_assert_ptr_nonnull(strstr(r.out, "boom \\e[31mred\\u009b \\xff end"));
	ck_assert_ptr_nonnull(strstr(r.out, "\\e[31mjs,gate\\e]0;pwn\\x07way"));
	ck_assert_int_eq((int)(strchr(r.out, '\n') - r.out) <= 200, 1);
	th_result_free(&r);

	r = FIND("--color=always", "--limit", "0");
	bad = unsafe_byte(r.out, true);
	ck_assert_msg(!bad, "unsafe byte 0x%02x in the coloured table", bad ? (unsigned char)*bad : 0);
	ck_assert_ptr_nonnull(strstr(r.out, "\x1b[31m! \x1b[0m"));
	ck_assert_ptr_nonnull(strstr(r.out, "\x1b[32m200"));
	ck_assert_ptr_nonnull(strstr(r.out, "\x1b[31m503"));
	ck_assert_ptr_nonnull(strstr(r.out, "\x1b[33m404"));
	th_result_free(&r);
}
END_TEST

START_TEST(summary_keys_are_configurable)
{
	/* as --summary-key tenant --summary-key sku, the second round from $CLEW_SUMMARY_KEYS */
	struct th_result r = _i == 0 ? FIND("--json", "--limit", "0", "--summary-key", "tenant",
					    "--summary-key", "sku", "--stats")
				     : (setenv("CLEW_SUMMARY_KEYS", " tenant ,sku", 1),
					FIND("--json", "--limit", "0", "--stats"));
	json_t *all = objects(&r), *o;
	size_t i;
	const char *p = strstr(r.err, "bytes), ");
	unsigned scanned = 0;

	unsetenv("CLEW_SUMMARY_KEYS");

	/* clewd's archive keeps sku too (its summary_keys): no segment is scanned for it */
	if (by_clewd) {
		ck_assert_msg(p && sscanf(p + 8, "%u scanned", &scanned) == 1, "no --stats line: %s", r.err);
		ck_assert_uint_eq(scanned, 0);
	}

	json_array_foreach(all, i, o)
	{
		json_t *attrs = json_object_get(o, "attrs");
		const struct fc_txn *t = truth(json_string_value(json_object_get(o, "trace")));

		ck_assert_ptr_null(json_object_get(attrs, "user"));
		ck_assert_uint_eq(json_object_size(attrs), *t->tenant != 0);
	}
	json_decref(all);
	th_result_free(&r);
}
END_TEST

/* On the archive: every segment answers from its summary file (none is scanned), and --text reads frames. */
START_TEST(the_archive_is_read_by_its_summaries)
{
	struct th_result r = FIND("--json", "--stats", "--error");
	unsigned segs = 0, examined = 0, files = 0, scanned = 9;
	const char *p = strstr(r.err, "summaries: ");

	ck_assert_int_eq(r.status, 0);
	ck_assert_msg(p && sscanf(p, "summaries: %u segments, %u examined, %u from summary files", &segs,
				  &examined, &files) == 3,
		      "no --stats line: %s", r.err);
	ck_assert_ptr_nonnull(strstr(p, "scanned"));
	sscanf(strstr(p, "bytes), ") + 8, "%u scanned", &scanned);
	ck_assert_uint_gt(segs, by_clewd ? 5 : 10); /* clewd's: one segment a file */
	ck_assert_uint_eq(files, segs);
	ck_assert_uint_eq(scanned, 0);
	th_result_free(&r);
	r = FIND("--json", "--stats", "--text", "timeout");
	p = strstr(r.err, "bytes), ");
	ck_assert_ptr_nonnull(p);
	sscanf(p + 8, "%u scanned", &scanned);
	ck_assert_uint_eq(scanned, segs);
	th_result_free(&r);
}
END_TEST

/* clewd's archive of the corpus, with summaries: one run of clewd per file, on its standard input. */
static int clewd_archive(void)
{
	static const char *const files[] = {"gateway/app.log.1.gz",    "gateway/app.log",
					    "orders/orders.log",       "billing/billing.log.gz",
					    "inventory/inventory.log", "search/search.log"};
	char conf[128], cmd[1024];
	FILE *f;

	snprintf(conf, sizeof(conf), "%s-clewd.yaml", dir);
	if (!(f = fopen(conf, "w")))
		return -1;
	fprintf(f,
		"inputs:\n  - { type: stdin, parser: auto }\noutputs:\n  - { type: archive, path: '%s', "
		"summaries: true, summary_keys: 'user, tenant, customer, order, sku' }\n",
		archdir);
	if (fclose(f) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(cmd, sizeof(cmd), "gzip -dcf '%s/%s' | '%s' -c '%s' >/dev/null 2>&1", dir, files[i],
			 ingest, conf);
		if (system(cmd) != 0) {
			fprintf(stderr, "test_find: clewd failed: %s\n", cmd);
			return -1;
		}
	}
	return remove(conf);
}

static int write_corpus(void)
{
	char cmd[512];

	snprintf(dir, sizeof(dir), "/tmp/tg-find-XXXXXX");
	if (!mkdtemp(dir) || fcorpus_write(&corpus, dir, NTXNS) < 0) {
		perror("test_find: cannot write the corpus");
		return -1;
	}
	if (!ingest)
		return 0;
	snprintf(archdir, sizeof(archdir), "%s-archive", dir);
	if (by_clewd)
		return clewd_archive();
	/* 8 records a chunk, 4 KiB segments: dozens of segments, most transactions split over several. */
	snprintf(cmd, sizeof(cmd), "'%s' --segment-bytes 4096 --chunk-records 8 '%s' '%s'", ingest, archdir,
		 dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "test_find: archive_ingest failed: %s\n", cmd);
		return -1;
	}
	return 0;
}

static Suite *find_suite(void)
{
	Suite *s = suite_create("tracegrep --find");
	TCase *tc = tcase_create("find");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, every_field_of_every_summary);
	tcase_add_loop_test(tc, each_filter_returns_the_truth, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, newest_first_longest_first_and_limits);
	tcase_add_test(tc, the_answer_does_not_depend_on_threads);
	tcase_add_test(tc, exit_status_as_grep);
	tcase_add_test(tc, open_shows_the_first_match);
	tcase_add_test(tc, the_table_neutralises_log_values);
	tcase_add_loop_test(tc, summary_keys_are_configurable, 0, 2);
	if (ingest)
		tcase_add_test(tc, the_archive_is_read_by_its_summaries);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	SRunner *sr;
	int failed;

	if (argc < 2) {
		fprintf(stderr, "usage: %s TRACEGREP\n", argv[0]);
		return 2;
	}
	tracegrep = argv[1];
	ingest = argc > 2 ? argv[2] : NULL;
	by_clewd = argc > 3 && strcmp(argv[3], "clewd") == 0;
	unsetenv("CLEW_ARCHIVE");
	if (write_corpus() < 0)
		return 1;
	sr = srunner_create(find_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (th_remove_tree(dir) != 0 || (ingest && th_remove_tree(archdir) != 0))
		failed++;
	fcorpus_free(&corpus);
	return failed ? 1 : 0;
}
