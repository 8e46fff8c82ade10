/*
 * test_tracegrep.c - tracegrep end to end, against a corpus with known truth.
 *
 * The corpus (corpus.c) is written once into a temporary directory; every
 * test runs the tracegrep binary (argv[1]) as a process and compares what
 * it prints with the truth: the exact set of records for --lines, the span
 * tree (ids, parents, record counts) for --json, parsed with jansson as an
 * independent JSON reader; and exit statuses, escaping, the Chrome and
 * Jaeger documents, standard input, and the HTML page in headless Chromium.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#include "fmt/detect.h"
#include "corpus.h"
#include "th_file.h"
#include "th_proc.h"

#define NTXNS 12

static const char *tracegrep;
static char dir[64];	/* the corpus */
static char outdir[80]; /* what tests write (kept apart so no scan reads it) */
static struct tcorpus corpus;

/* Run tracegrep with @args (NULL-terminated), stdin from @in (or /dev/null). */
static struct th_result run(const char *in, const char *const *args)
{
	return th_run(tracegrep, in, args);
}

#define RUN(...) run(NULL, (const char *const[]){__VA_ARGS__, NULL})

/* ---- record sets ---- */

struct strs {
	char **v;
	size_t n;
};

static void strs_push(struct strs *s, char *x)
{
	s->v = realloc(s->v, (s->n + 1) * sizeof(*s->v));
	s->v[s->n++] = x;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void strs_free(struct strs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

/* Split --lines output into records (a record start, then the lines that are not). */
static struct strs split_records(const char *out, size_t len)
{
	struct strs s = {0};
	size_t at = 0, start = 0;
	bool open_rec = false;

	while (at < len) {
		const char *nl = memchr(out + at, '\n', len - at);
		size_t le = nl ? (size_t)(nl - out) : len;

		if (fmt_detect(out + at, le - at) != FMT_UNKNOWN) {
			if (open_rec)
				strs_push(&s, strndup(out + start, at - 1 - start));
			start = at;
			open_rec = true;
		}
		at = le + 1;
	}
	if (open_rec)
		strs_push(&s, strndup(out + start, (len && out[len - 1] == '\n' ? len - 1 : len) - start));
	return s;
}

/* The records of transaction @txn under span @top (NULL: all of them). */
static struct strs truth_records(int txn, const char *top)
{
	struct strs s = {0};

	for (size_t i = 0; i < corpus.nrecs; i++) {
		const struct tc_rec *r = &corpus.recs[i];

		if (r->txn != txn)
			continue;
		if (top && (!r->span || !tcorpus_under(&corpus, txn, r->span, top)))
			continue;
		strs_push(&s, strdup(r->text));
	}
	return s;
}

static void assert_same_records(struct strs *got, struct strs *want, const char *what)
{
	qsort(got->v, got->n, sizeof(char *), cmp_str);
	qsort(want->v, want->n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < got->n && i < want->n; i++)
		ck_assert_msg(strcmp(got->v[i], want->v[i]) == 0, "%s: record %zu differs:\n got %s\nwant %s",
			      what, i, got->v[i], want->v[i]);
	ck_assert_msg(got->n == want->n, "%s: %zu records, want %zu", what, got->n, want->n);
}

static const char *txn_query(int txn, const char *top, char *buf, size_t cap, bool path)
{
	if (!top)
		return corpus.txns[txn].trace;
	if (!path)
		return top;
	snprintf(buf, cap, "%s:%s", corpus.txns[txn].trace, top);
	return buf;
}

static void check_lines(int txn, const char *top, bool path)
{
	char q[128];
	const char *id = txn_query(txn, top, q, sizeof(q), path);
	struct th_result r = RUN("--lines", id, dir);
	struct strs got = split_records(r.out, r.len), want = truth_records(txn, top);

	ck_assert_msg(r.status == 0, "%s: status %d (%s)", id, r.status, r.err);
	assert_same_records(&got, &want, id);
	strs_free(&got);
	strs_free(&want);
	th_result_free(&r);
}

/* The --json tree: every span of the truth under @top, with its parent and record count, and no other. */
static void check_json(int txn, const char *top, bool path)
{
	char q[128];
	const char *id = txn_query(txn, top, q, sizeof(q), path);
	struct th_result r = RUN("--json", id, dir);
	json_error_t je;
	json_t *doc, *spans, *recs;
	size_t nspans = 0, total = 0;

	ck_assert_msg(r.status == 0, "%s: status %d (%s)", id, r.status, r.err);
	doc = json_loadb(r.out, r.len, 0, &je);
	ck_assert_msg(doc, "%s: --json is not JSON: %s", id, je.text);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "id")), id);
	spans = json_object_get(doc, "spans");
	recs = json_object_get(doc, "records");
	ck_assert(json_is_array(spans) && json_is_array(recs));
	for (size_t i = 0; i < corpus.nspans; i++) {
		const struct tc_span *t = &corpus.spans[i];
		size_t want_recs = 0;
		json_t *found = NULL;
		size_t j;
		json_t *s;

		if (t->txn != txn || (top && !tcorpus_under(&corpus, txn, t->id, top)))
			continue;
		nspans++;
		json_array_foreach(spans, j, s)
		{
			if (strcmp(json_string_value(json_object_get(s, "id")), t->id) == 0)
				found = s;
		}
		ck_assert_msg(found, "%s: span %s missing", id, t->id);
		if (*t->parent)
			ck_assert_msg(json_is_string(json_object_get(found, "parent")) &&
					      strcmp(json_string_value(json_object_get(found, "parent")),
						     t->parent) == 0,
				      "%s: span %s: parent %s, want %s", id, t->id,
				      json_string_value(json_object_get(found, "parent")), t->parent);
		else
			ck_assert_msg(json_is_null(json_object_get(found, "parent")), "%s: root has a parent",
				      id);
		for (size_t k = 0; k < corpus.nrecs; k++) {
			const struct tc_rec *rec = &corpus.recs[k];

			if (rec->txn == txn &&
			    ((rec->span && strcmp(rec->span, t->id) == 0) || (!rec->span && !*t->parent)))
				want_recs++;
		}
		ck_assert_msg(json_array_size(json_object_get(found, "records")) == want_recs,
			      "%s: span %s has %zu records, want %zu", id, t->id,
			      json_array_size(json_object_get(found, "records")), want_recs);
		total += want_recs;
	}
	ck_assert_msg(json_array_size(spans) == nspans, "%s: %zu spans, want %zu", id, json_array_size(spans),
		      nspans);
	ck_assert_msg(json_array_size(recs) == total, "%s: %zu records, want %zu", id, json_array_size(recs),
		      total);
	json_decref(doc);
	th_result_free(&r);
}

/* The spans a span query is tested with. */
static const int span_slots[] = {TC_G, TC_O, TC_S, TC_D, TC_B, TC_I, TC_X, TC_Y, TC_V};

START_TEST(lines_equal_the_truth_for_every_transaction)
{
	for (size_t t = 0; t < corpus.ntxns; t++)
		check_lines((int)t, NULL, false);
}
END_TEST

START_TEST(json_tree_equals_the_truth_for_every_transaction)
{
	for (size_t t = 0; t < corpus.ntxns; t++)
		check_json((int)t, NULL, false);
}
END_TEST

START_TEST(a_span_id_selects_its_subtree_across_services)
{
	for (int t = 1; t < 5; t++)
		for (size_t k = 0; k < sizeof(span_slots) / sizeof(span_slots[0]); k++) {
			check_lines(t, corpus.txns[t].spans[span_slots[k]], false);
			check_json(t, corpus.txns[t].spans[span_slots[k]], false);
		}
}
END_TEST

START_TEST(a_path_selects_the_subtree_of_its_last_span)
{
	for (int t = 5; t < 8; t++)
		for (size_t k = 0; k < sizeof(span_slots) / sizeof(span_slots[0]); k++) {
			check_lines(t, corpus.txns[t].spans[span_slots[k]], true);
			check_json(t, corpus.txns[t].spans[span_slots[k]], true);
		}
}
END_TEST

START_TEST(a_path_whose_spans_are_not_ancestors_finds_nothing)
{
	const struct tc_txn *t = &corpus.txns[4], *o = &corpus.txns[5];
	char q[256];
	struct th_result r;

	snprintf(q, sizeof(q), "%s:%s:%s", t->trace, t->spans[TC_G], t->spans[TC_S]);
	r = RUN("--lines", q, dir);
	ck_assert_int_eq(r.status, 0);
	th_result_free(&r);
	snprintf(q, sizeof(q), "%s:%s:%s", t->trace, t->spans[TC_X], t->spans[TC_S]);
	r = RUN("--lines", q, dir);
	ck_assert_int_eq(r.status, 1);
	ck_assert_uint_eq(r.len, 0);
	th_result_free(&r);
	snprintf(q, sizeof(q), "%s:%s", o->trace, t->spans[TC_S]);
	r = RUN("--lines", q, dir);
	ck_assert_int_eq(r.status, 1);
	th_result_free(&r);
}
END_TEST

START_TEST(an_id_that_is_a_prefix_of_another_does_not_match_it)
{
	/* "abc" is transaction 0, "abcd" transaction 1 (whose gateway span is "abc-x"). */
	struct th_result r = RUN("--lines", "abc", dir);
	struct strs got = split_records(r.out, r.len), want = truth_records(0, NULL);

	ck_assert_str_eq(corpus.txns[0].trace, "abc");
	ck_assert_int_eq(r.status, 0);
	assert_same_records(&got, &want, "abc");
	for (size_t i = 0; i < got.n; i++)
		ck_assert_msg(!strstr(got.v[i], "abcd") && !strstr(got.v[i], "abc-x"), "abc matched %s",
			      got.v[i]);
	strs_free(&got);
	strs_free(&want);
	th_result_free(&r);
	r = RUN("--lines", "abc-x", dir);
	got = split_records(r.out, r.len);
	want = truth_records(1, "abc-x");
	assert_same_records(&got, &want, "abc-x");
	strs_free(&got);
	strs_free(&want);
	th_result_free(&r);
}
END_TEST

START_TEST(absent_ids_exit_with_status_one_and_print_nothing)
{
	static const char *const absent[] = {"ab",   "abcde", "bc",
					     "zzzz", "abc-",  "0123456789abcdef0123456789abcdef"};

	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		struct th_result r = RUN(absent[i], dir);

		ck_assert_msg(r.status == 1, "%s: status %d", absent[i], r.status);
		ck_assert_uint_eq(r.len, 0);
		th_result_free(&r);
	}
}
END_TEST

START_TEST(errors_exit_with_status_two)
{
	char missing[300];
	struct th_result r;

	snprintf(missing, sizeof(missing), "%s/no-such-file", dir);
	/* No PATH: the archive ($CLEW_ARCHIVE), which does not exist. */
	r = RUN("abc");
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "PATH"));
	ck_assert_ptr_nonnull(strstr(r.err, "/nonexistent/clew-test-archive"));
	th_result_free(&r);
	r = RUN("a|b", dir);
	ck_assert_int_eq(r.status, 2);
	th_result_free(&r);
	r = RUN("a::b", dir);
	ck_assert_int_eq(r.status, 2);
	th_result_free(&r);
	r = RUN("abc", missing);
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "no-such-file"));
	th_result_free(&r);
	/* Found, but a path was unreadable: still 2, and the records are printed. */
	r = RUN("--lines", "abc", missing, dir);
	ck_assert_int_eq(r.status, 2);
	ck_assert_uint_gt(r.len, 0);
	th_result_free(&r);
	r = RUN("--color=sometimes", "abc", dir);
	ck_assert_int_eq(r.status, 2);
	th_result_free(&r);
	r = RUN("--json", "--chrome", "abc", dir);
	ck_assert_int_eq(r.status, 2);
	th_result_free(&r);
}
END_TEST

/* Whether @s is valid UTF-8 with no control byte but '\n' and no C1 control. */
static bool terminal_safe(const unsigned char *s, size_t n, bool allow_sgr)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == 0x1b && allow_sgr) {
			size_t j = i + 1;

			if (j >= n || s[j] != '[')
				return false;
			for (j++; j < n && ((s[j] >= '0' && s[j] <= '9') || s[j] == ';'); j++)
				;
			if (j >= n || s[j] != 'm')
				return false;
			i = j;
			continue;
		}
		if ((s[i] < 0x20 && s[i] != '\n' && s[i] != '\t') || s[i] == 0x7f)
			return false;
		if (s[i] >= 0x80) {
			size_t l = s[i] >= 0xf0 ? 4 : s[i] >= 0xe0 ? 3 : s[i] >= 0xc2 ? 2 : 0;

			if (l == 0 || i + l > n)
				return false;
			for (size_t k = 1; k < l; k++)
				if ((s[i + k] & 0xc0) != 0x80)
					return false;
			if (s[i] == 0xc2 && s[i + 1] < 0xa0)
				return false;
			i += l - 1;
		}
	}
	return true;
}

START_TEST(control_sequences_are_neutralised_on_the_terminal_output)
{
	const char *id = corpus.txns[corpus.ctl_txn].trace;
	struct th_result r = RUN("--color=never", id, dir);

	ck_assert_int_eq(r.status, 0);
	ck_assert_msg(terminal_safe((const unsigned char *)r.out, r.len, false), "unsafe bytes in:\n%s",
		      r.out);
	ck_assert_ptr_nonnull(strstr(r.out, "\\e[31mmallory\\e]0;pwned\\x07 \\u009b2J \\xff\\xfe\\x7f end"));
	th_result_free(&r);
	r = RUN("--color=always", id, dir);
	ck_assert_int_eq(r.status, 0);
	ck_assert_msg(terminal_safe((const unsigned char *)r.out, r.len, true), "unsafe bytes in:\n%s",
		      r.out);
	ck_assert_ptr_nonnull(strstr(r.out, "\x1b[0m"));
	th_result_free(&r);
	/* --lines to a file is verbatim. */
	r = RUN("--lines", id, dir);
	ck_assert_ptr_nonnull(strstr(r.out, "\x1b]0;pwned\x07"));
	th_result_free(&r);
}
END_TEST

/* Run tracegrep with its stdout on a pseudo-terminal; return what the terminal got (CRs dropped). */
static char *run_on_pty(const char *const *args, size_t *len)
{
	const char *argv[16];
	int master, slave, st;
	size_t n = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	pid_t pid;

	argv[0] = tracegrep;
	for (size_t i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i], argv[i + 2] = NULL;
	ck_assert_int_eq(openpty(&master, &slave, NULL, NULL, NULL), 0);
	pid = fork();
	ck_assert(pid >= 0);
	if (pid == 0) {
		close(master);
		dup2(slave, 1);
		execv(tracegrep, (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	close(slave);
	for (;;) {
		ssize_t r;

		if (cap - n < 4096)
			buf = realloc(buf, cap *= 2);
		r = read(master, buf + n, cap - n - 1);
		if (r <= 0)
			break; /* EIO once the child has closed the terminal */
		n += (size_t)r;
	}
	ck_assert(waitpid(pid, &st, 0) == pid);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	close(master);
	/* The terminal turned each "\n" into "\r\n". */
	{
		size_t k = 0;

		for (size_t i = 0; i < n; i++)
			if (buf[i] != '\r')
				buf[k++] = buf[i];
		n = k;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

START_TEST(a_terminal_gets_escaped_lines_and_only_our_colours)
{
	const char *id = corpus.txns[corpus.ctl_txn].trace;
	size_t len;
	char *out;

	unsetenv("NO_COLOR");
	setenv("TERM", "xterm", 1);
	out = run_on_pty((const char *const[]){"--lines", id, dir, NULL}, &len);
	ck_assert_msg(terminal_safe((const unsigned char *)out, len, false), "unsafe --lines on a tty:\n%s",
		      out);
	ck_assert_ptr_nonnull(strstr(out, "\\e]0;pwned\\x07"));
	free(out);
	out = run_on_pty((const char *const[]){id, dir, NULL}, &len);
	ck_assert_msg(terminal_safe((const unsigned char *)out, len, true), "unsafe waterfall on a tty:\n%s",
		      out);
	ck_assert_ptr_nonnull(strstr(out, "\x1b[0m")); /* colour by default on a terminal */
	free(out);
	setenv("NO_COLOR", "1", 1);
	out = run_on_pty((const char *const[]){id, dir, NULL}, &len);
	ck_assert_ptr_null(strchr(out, 0x1b));
	free(out);
	unsetenv("NO_COLOR");
}
END_TEST

static json_t *span_by_id(json_t *spans, const char *id)
{
	size_t i;
	json_t *s;

	json_array_foreach(spans, i, s)
	{
		if (strcmp(json_string_value(json_object_get(s, "id")), id) == 0)
			return s;
	}
	return NULL;
}

START_TEST(skew_is_adjusted_and_shown_unless_turned_off)
{
	const struct tc_txn *t = &corpus.txns[corpus.skew_txn];
	struct th_result r = RUN("--json", t->trace, dir);
	json_t *doc = json_loadb(r.out, r.len, 0, NULL), *spans, *x, *b, *v, *in;
	long long xo, xd, bo, bd;

	ck_assert_ptr_nonnull(doc);
	spans = json_object_get(doc, "spans");
	x = span_by_id(spans, t->spans[TC_X]);
	b = span_by_id(spans, t->spans[TC_B]);
	v = span_by_id(spans, t->spans[TC_V]);
	in = span_by_id(spans, t->spans[TC_I]);
	ck_assert(x && b && v && in);
	/* billing's clock is 300 ms ahead: X moves back into B's window. */
	ck_assert_int_lt(json_integer_value(json_object_get(x, "shift_us")), -250000);
	xo = json_integer_value(json_object_get(x, "offset_us"));
	xd = json_integer_value(json_object_get(x, "dur_us"));
	bo = json_integer_value(json_object_get(b, "offset_us"));
	bd = json_integer_value(json_object_get(b, "dur_us"));
	ck_assert_int_ge(xo, bo);
	ck_assert_int_le(xo + xd, bo + bd);
	/* inventory's is 200 ms behind: V moves forward. */
	ck_assert_int_gt(json_integer_value(json_object_get(v, "shift_us")), 150000);
	ck_assert_int_ge(json_integer_value(json_object_get(v, "offset_us")),
			 json_integer_value(json_object_get(in, "offset_us")));
	/* Y, in X's service, moved with X and was not moved on its own. */
	ck_assert_int_eq(json_integer_value(json_object_get(span_by_id(spans, t->spans[TC_Y]), "shift_us")),
			 0);
	json_decref(doc);
	th_result_free(&r);

	r = RUN("--color=never", t->trace, dir);
	ck_assert_ptr_nonnull(strstr(r.out, "clock skew: moved -"));
	ck_assert_ptr_nonnull(strstr(r.out, "clock skew: moved +"));
	th_result_free(&r);

	r = RUN("--json", "--no-skew-adjust", t->trace, dir);
	doc = json_loadb(r.out, r.len, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	{
		size_t i;
		json_t *s;

		json_array_foreach(json_object_get(doc, "spans"), i, s)
		{
			ck_assert_int_eq(json_integer_value(json_object_get(s, "shift_us")), 0);
		}
	}
	json_decref(doc);
	th_result_free(&r);
}
END_TEST

START_TEST(the_critical_path_runs_from_the_top_to_a_leaf)
{
	const struct tc_txn *t = &corpus.txns[4];
	struct th_result r = RUN("--json", t->trace, dir);
	json_t *doc = json_loadb(r.out, r.len, 0, NULL), *spans;

	ck_assert_ptr_nonnull(doc);
	spans = json_object_get(doc, "spans");
	ck_assert(json_is_true(json_object_get(span_by_id(spans, t->trace), "critical")));
	ck_assert(json_is_true(json_object_get(span_by_id(spans, t->spans[TC_G]), "critical")));
	ck_assert(json_is_true(json_object_get(span_by_id(spans, t->spans[TC_S]), "critical")));
	/* inventory (I) ends last among S's children; db.insert (D) ran early and short. */
	ck_assert(json_is_true(json_object_get(span_by_id(spans, t->spans[TC_I]), "critical")));
	json_decref(doc);
	th_result_free(&r);
}
END_TEST

START_TEST(chrome_and_jaeger_outputs_hold_every_span)
{
	const struct tc_txn *t = &corpus.txns[3];
	struct th_result r = RUN("--chrome", t->trace, dir);
	json_t *doc = json_loadb(r.out, r.len, 0, NULL), *ev, *data;
	size_t nx = 0, i;

	ck_assert_msg(doc, "--chrome is not JSON");
	json_array_foreach(json_object_get(doc, "traceEvents"), i, ev)
	{
		if (strcmp(json_string_value(json_object_get(ev, "ph")), "X") == 0)
			nx++;
	}
	ck_assert_uint_eq(nx, 10);
	for (int k = 0; k < TC_ROOTREC; k++)
		ck_assert_ptr_nonnull(strstr(r.out, t->spans[k]));
	json_decref(doc);
	th_result_free(&r);

	r = RUN("--jaeger", t->trace, dir);
	doc = json_loadb(r.out, r.len, 0, NULL);
	ck_assert_msg(doc, "--jaeger is not JSON");
	data = json_array_get(json_object_get(doc, "data"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(data, "traceID")), t->trace);
	ck_assert_uint_eq(json_array_size(json_object_get(data, "spans")), 10);
	for (int k = 0; k < TC_ROOTREC; k++) {
		bool found = false;
		json_t *s;

		json_array_foreach(json_object_get(data, "spans"), i, s)
		{
			if (strcmp(json_string_value(json_object_get(s, "spanID")), t->spans[k]) == 0) {
				json_t *ref = json_array_get(json_object_get(s, "references"), 0);

				found = true;
				ck_assert_str_eq(json_string_value(json_object_get(ref, "refType")),
						 "CHILD_OF");
				ck_assert_str_eq(json_string_value(json_object_get(ref, "spanID")),
						 tcorpus_parent(&corpus, 3, t->spans[k]));
				ck_assert(json_is_integer(json_object_get(s, "startTime")));
				ck_assert_ptr_nonnull(
					json_object_get(json_object_get(data, "processes"),
							json_string_value(json_object_get(s, "processID"))));
			}
		}
		ck_assert_msg(found, "jaeger: span %s missing", t->spans[k]);
	}
	json_decref(doc);
	th_result_free(&r);
}
END_TEST

START_TEST(standard_input_is_read_plain_and_compressed)
{
	const struct tc_txn *t = &corpus.txns[6];
	char p[300];
	struct th_result r;
	struct strs got, want = {0};

	/* orders.log.zst on stdin: only the orders records of the transaction. */
	snprintf(p, sizeof(p), "%s/orders/orders.log.zst", dir);
	r = run(p, (const char *const[]){"--lines", t->trace, "-", NULL});
	ck_assert_int_eq(r.status, 0);
	got = split_records(r.out, r.len);
	for (size_t i = 0; i < corpus.nrecs; i++)
		if (corpus.recs[i].txn == 6 && strstr(corpus.recs[i].text, "\"service\":\"orders\""))
			strs_push(&want, strdup(corpus.recs[i].text));
	assert_same_records(&got, &want, "stdin zst");
	strs_free(&got);
	strs_free(&want);
	th_result_free(&r);
	snprintf(p, sizeof(p), "%s/billing/billing.log", dir);
	r = run(p, (const char *const[]){"--lines", t->spans[TC_X], "-", NULL});
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "charging order 6"));
	th_result_free(&r);
}
END_TEST

START_TEST(help_and_version_describe_the_program)
{
	static const char *const opts[] = {"--lines",	   "--json",	  "--chrome",	      "--jaeger",
					   "--html",	   "--color",	  "--no-skew-adjust", "--threads",
					   "--width",	   "--quiet",	  "--help",	      "--version",
					   "--archive",	   "--since",	  "--until",	      "--stats",
					   "CLEW_ARCHIVE", "Exit status", "Examples"};
	struct th_result r = RUN("--help");

	ck_assert_int_eq(r.status, 0);
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		ck_assert_msg(strstr(r.out, opts[i]), "--help does not mention %s", opts[i]);
	th_result_free(&r);
	r = RUN("--version");
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "tracegrep"));
	th_result_free(&r);
	r = RUN("-q", "abc", dir);
	ck_assert_int_eq(r.status, 0);
	ck_assert_uint_eq(r.len, 0);
	th_result_free(&r);
}
END_TEST

START_TEST(one_thread_finds_what_many_find)
{
	const struct tc_txn *t = &corpus.txns[7];
	struct th_result a = RUN("--json", "-j", "1", t->spans[TC_S], dir);
	struct th_result b = RUN("--json", "-j", "8", t->spans[TC_S], dir);

	ck_assert_int_eq(a.status, 0);
	ck_assert_str_eq(a.out, b.out);
	th_result_free(&a);
	th_result_free(&b);
}
END_TEST

/* ---- big, compressed, corrupt and garbage inputs ---- */

/*
 * Write @n filler lines with a record of transaction @id every 7919 lines
 * (one-line pipe, pipe with a stack trace, JSON, in turn) to @raw (malloc'd);
 * the target records go to @truth.
 */
static char *big_log(const char *id, size_t n, struct strs *truth, size_t *len)
{
	size_t cap = n * 160 + 4096, at = 0;
	char *raw = malloc(cap);

	for (size_t i = 0; i < n; i++) {
		char rec[512];
		int k;

		if (i % 7919 == 3) {
			switch (i / 7919 % 3) {
			case 0:
				k = snprintf(
					rec, sizeof(rec),
					"2026-11-23T07:00:%02zu.%06zuZ INFO %s:s%zu|big|GET|/b|msg=target %zu",
					i / 100000 % 60, i % 1000000, id, i, i);
				break;
			case 1:
				k = snprintf(
					rec, sizeof(rec),
					"2026-11-23T07:00:%02zu.%06zuZ ERROR %s:s%zu|big|GET|/b|msg=failed %zu\n"
					"java.lang.Error: %s broke\n\tat big.A(A.java:1)\n\tat big.B(B.java:2)",
					i / 100000 % 60, i % 1000000, id, i, i, id);
				break;
			default:
				k = snprintf(
					rec, sizeof(rec),
					"{\"timestamp\":\"2026-11-23T07:00:%02zu.%06zuZ\",\"service\":\"big\",\"trace\":\"%s\","
					"\"span\":\"j%zu\",\"message\":\"json %zu\"}",
					i / 100000 % 60, i % 1000000, id, i, i);
			}
			strs_push(truth, strndup(rec, (size_t)k));
		} else {
			k = snprintf(
				rec, sizeof(rec),
				"2026-11-23T07:00:%02zu.%06zuZ INFO f%08zx:%016zx|filler|GET|/x|msg=line %zu mentions %s",
				i / 100000 % 60, i % 1000000, i, i * 2654435761u, i, id);
		}
		memcpy(raw + at, rec, (size_t)k);
		at += (size_t)k;
		raw[at++] = '\n';
	}
	*len = at;
	return raw;
}

static void check_big(const char *path, const char *id, struct strs *truth)
{
	struct th_result r = RUN("--lines", id, path);
	struct strs got = split_records(r.out, r.len), want = {0};

	ck_assert_msg(r.status == 0, "%s: status %d (%s)", path, r.status, r.err);
	for (size_t i = 0; i < truth->n; i++)
		strs_push(&want, strdup(truth->v[i]));
	assert_same_records(&got, &want, path);
	strs_free(&got);
	strs_free(&want);
	th_result_free(&r);
}

START_TEST(big_files_are_scanned_across_pieces_and_windows)
{
	struct strs truth = {0};
	size_t len, half, clen;
	char *raw = big_log("bigtgt0000", 200000, &truth, &len), *z, p[256];
	gzFile g;

	/* plain: more than one 16 MiB piece for the threads */
	ck_assert_uint_gt(len, (size_t)17 << 20);
	snprintf(p, sizeof(p), "%s/big.log", outdir);
	th_write_file(p, raw, len);
	check_big(p, "bigtgt0000", &truth);
	/* gzip, two members (as `cat a.gz b.gz` gives), cut in the middle of a line */
	half = len / 2 + 17;
	snprintf(p, sizeof(p), "%s/big.log.gz", outdir);
	g = gzopen(p, "wb");
	ck_assert_int_eq(gzwrite(g, raw, (unsigned)half), (int)half);
	ck_assert_int_eq(gzclose(g), Z_OK);
	g = gzopen(p, "ab");
	ck_assert_int_eq(gzwrite(g, raw + half, (unsigned)(len - half)), (int)(len - half));
	ck_assert_int_eq(gzclose(g), Z_OK);
	check_big(p, "bigtgt0000", &truth);
	/* zstd */
	z = malloc(ZSTD_compressBound(len));
	clen = ZSTD_compress(z, ZSTD_compressBound(len), raw, len, 1);
	ck_assert(!ZSTD_isError(clen));
	snprintf(p, sizeof(p), "%s/big.log.zst", outdir);
	th_write_file(p, z, clen);
	check_big(p, "bigtgt0000", &truth);
	/* a truncated zstd file is an error (2), and what was read is still shown */
	snprintf(p, sizeof(p), "%s/cut.log.zst", outdir);
	th_write_file(p, z, clen / 2);
	{
		struct th_result r = RUN("--lines", "bigtgt0000", p);

		ck_assert_int_eq(r.status, 2);
		ck_assert_ptr_nonnull(strstr(r.err, "cut.log.zst"));
		th_result_free(&r);
	}
	free(z);
	free(raw);
	strs_free(&truth);
}
END_TEST

/*
 * A JSON line's trace may hold any text (raw C1 controls and DEL are valid
 * JSON): a span ID found in two such
 * transactions makes tracegrep name the one it shows, in the waterfall's
 * header and in a note on stderr; neither may carry the escapes through.
 */
START_TEST(ids_from_the_logs_are_neutralised_in_the_header_and_the_note)
{
	static const char log[] =
		"{\"timestamp\":\"2026-01-01T00:00:00Z\",\"trace\":\"csi\xC2\x9B"
		"2J\x7F"
		"end\",\"span\":\"evilspan\","
		"\"service\":\"a\",\"message\":\"one\"}\n"
		"{\"timestamp\":\"2026-01-01T00:00:01Z\",\"trace\":\"csi\xC2\x9B"
		"2J\x7F"
		"end\",\"span\":\"evilspan\","
		"\"service\":\"a\",\"message\":\"two\"}\n"
		"{\"timestamp\":\"2026-01-01T00:00:02Z\",\"trace\":\"othertrace\",\"span\":\"evilspan\","
		"\"service\":\"b\",\"message\":\"three\"}\n";
	char p[256];
	struct th_result r;

	snprintf(p, sizeof(p), "%s/evil-trace.log", outdir);
	th_write_file(p, log, sizeof(log) - 1);
	for (int c = 0; c < 2; c++) {
		r = RUN(c ? "--color=always" : "--color=never", "evilspan", p);
		ck_assert_msg(r.status == 0, "status %d: %s", r.status, r.err);
		ck_assert_ptr_nonnull(strstr(r.out, "in transaction csi\\u009b2J\\x7fend"));
		ck_assert_msg(terminal_safe((const unsigned char *)r.out, r.len, c == 1),
			      "unsafe bytes in:\n%s", r.out);
		ck_assert_ptr_nonnull(strstr(r.err, "showing csi\\u009b2J\\x7fend"));
		ck_assert_msg(terminal_safe((const unsigned char *)r.err, strlen(r.err), false),
			      "unsafe bytes in:\n%s", r.err);
		th_result_free(&r);
	}
}
END_TEST

START_TEST(corrupt_and_garbage_inputs_are_handled)
{
	static const unsigned char bad_gz[] = {0x1f, 0x8b, 8,	 0,    0,    0, 0, 0, 0,
					       3,    0xde, 0xad, 0xbe, 0xef, 1, 2, 3};
	char p[256], g[256];
	unsigned char junk[1 << 16];
	uint64_t x = 99;
	struct th_result r;

	snprintf(p, sizeof(p), "%s/bad.log.gz", outdir);
	th_write_file(p, bad_gz, sizeof(bad_gz));
	r = RUN("abc", p);
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "bad.log.gz"));
	th_result_free(&r);
	/* Random bytes, NULs and newlines, with the ID scattered through them. */
	for (size_t i = 0; i < sizeof(junk); i++) {
		x = x * 6364136223846793005u + 1442695040888963407u;
		junk[i] = (unsigned char)(x >> 56);
		if (i % 997 == 0 && i + 12 < sizeof(junk)) {
			memcpy(junk + i, " garbageid ", 11);
			i += 10;
		}
	}
	snprintf(g, sizeof(g), "%s/junk.bin", outdir);
	th_write_file(g, junk, sizeof(junk));
	r = RUN("garbageid", g);
	ck_assert_int_eq(r.status, 1);
	th_result_free(&r);
	/* Timestamps at both ends of the range, absurd durations, skew between them: no overflow. */
	snprintf(g, sizeof(g), "%s/extreme.log", outdir);
	{
		static const char ext[] =
			"1677-09-22T00:00:00Z INFO T9:A|svc1|GET|/a|msg=early\n"
			"2262-04-11T00:00:00Z INFO T9:A:B|svc2|GET|/b|event=span|name=late|dur_us=99999999999999999999|status=ok\n"
			"2262-04-11T00:00:00Z INFO T9:A:B:C|svc3|GET|/c|event=span|name=c|dur_us=9223372036854775807\n"
			"1677-09-22T00:00:00Z INFO T9:A:B:C:D|svc4|GET|/d|msg=back in time\n"
			"{\"ts\":-9223372036854775808,\"trace\":\"T9\",\"span\":\"E\",\"parent\":\"D\",\"service\":\"svc5\"}\n";

		th_write_file(g, ext, sizeof(ext) - 1);
	}
	for (int m = 0; m < 3; m++) {
		static const char *const modes[] = {"--json", "--chrome", "--jaeger"};

		json_error_t je;
		json_t *doc;

		r = RUN(modes[m], "T9", g);
		ck_assert_msg(r.status == 0, "%s: status %d: %s", modes[m], r.status, r.err);
		doc = json_loadb(r.out, r.len, 0, &je);
		ck_assert_msg(doc, "%s: not JSON for jansson: %s", modes[m], je.text);
		json_decref(doc);
		th_result_free(&r);
	}
	r = RUN("--color=always", "B", g);
	ck_assert_int_eq(r.status, 0);
	th_result_free(&r);
	/* An empty file and a file of only newlines. */
	snprintf(g, sizeof(g), "%s/empty.log", outdir);
	th_write_file(g, "", 0);
	r = RUN("abc", g);
	ck_assert_int_eq(r.status, 1);
	th_result_free(&r);
	snprintf(g, sizeof(g), "%s/newlines.log", outdir);
	th_write_file(g, "\n\n\n", 3);
	r = RUN("abc", g);
	ck_assert_int_eq(r.status, 1);
	th_result_free(&r);
}
END_TEST

/*
 * A gzip file whose first line is 256 MiB long (no newline), then a record
 * with the ID: the window is capped, the long line cut with a warning, the
 * record after it found, and tracegrep's peak RSS stays far below the line.
 */
START_TEST(a_compressed_line_without_end_is_read_in_bounded_memory)
{
	enum { LINE_MIB = 256 };
	static char block[1 << 20];
	static const char tail[] = "\nNL7|svc|GET|/after|msg=found after the long line\n";
	char p[256];
	gzFile gz;
	struct rusage ru;
	struct th_result r;

	snprintf(p, sizeof(p), "%s/nonewline.log.gz", outdir);
	memset(block, 'x', sizeof(block));
	ck_assert_ptr_nonnull(gz = gzopen(p, "wb1"));
	for (int i = 0; i < LINE_MIB; i++)
		ck_assert_int_eq(gzwrite(gz, block, sizeof(block)), (int)sizeof(block));
	ck_assert_int_eq(gzwrite(gz, tail, sizeof(tail) - 1), (int)sizeof(tail) - 1);
	ck_assert_int_eq(gzclose(gz), Z_OK);
	r = RUN("--lines", "NL7", p);
	ck_assert_msg(r.status == 0, "status %d: %s", r.status, r.err);
	ck_assert_ptr_nonnull(strstr(r.out, "NL7|svc|GET|/after|msg=found after the long line"));
	ck_assert_ptr_nonnull(strstr(r.err, "is cut there"));
	th_result_free(&r);
	ck_assert_int_eq(getrusage(RUSAGE_CHILDREN, &ru), 0);
	ck_assert_msg(ru.ru_maxrss < 200 * 1024, "tracegrep peaked at %ld KiB for a %d MiB line",
		      ru.ru_maxrss, LINE_MIB);
	unlink(p);
}
END_TEST

/* ---- the HTML page in headless Chromium ---- */

static const char *chromium_path(void)
{
	static const char *const c[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser",
					"/usr/bin/google-chrome"};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (access(c[i], X_OK) == 0)
			return c[i];
	return NULL;
}

START_TEST(html_renders_every_span_in_headless_chromium)
{
	const struct tc_txn *t = &corpus.txns[corpus.ctl_txn];
	const char *chromium = chromium_path();
	char html[256], png[256], prof[256], cmd[2048], attr[128];
	struct th_result r;
	FILE *p;
	char *dom;
	size_t len = 0;
	struct stat st;

	ck_assert_msg(chromium,
		      "chromium is not installed (Debian package chromium; scripts/lib.sh installs it)");
	snprintf(html, sizeof(html), "%s/page.html", outdir);
	snprintf(png, sizeof(png), "%s/page.png", outdir);
	snprintf(prof, sizeof(prof), "%s/chromium-profile", outdir);
	r = RUN("--html", html, t->trace, dir);
	ck_assert_int_eq(r.status, 0);
	ck_assert_uint_eq(r.len, 0);
	th_result_free(&r);
	/* No network: nothing in the page names a URL scheme to fetch. */
	dom = th_slurp_must(html, &len);
	ck_assert_ptr_null(strstr(dom, "http://"));
	ck_assert_ptr_null(strstr(dom, "https://"));
	ck_assert_ptr_null(strstr(dom, "src="));
	free(dom);

	snprintf(cmd, sizeof(cmd),
		 "'%s' --headless --no-sandbox --disable-gpu --disable-background-networking "
		 "--disable-component-update --disable-sync --no-first-run --user-data-dir='%s' "
		 "--dump-dom 'file://%s' 2>/dev/null",
		 chromium, prof, html);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	dom = th_slurp_fd(fileno(p), &len);
	ck_assert_int_eq(pclose(p), 0);
	ck_assert_msg(strstr(dom, "data-ready=\"1\""), "the page's script did not run:\n%.2000s", dom);
	for (size_t i = 0; i < corpus.nspans; i++) {
		if (corpus.spans[i].txn != corpus.ctl_txn)
			continue;
		snprintf(attr, sizeof(attr), "data-span=\"%s\"", corpus.spans[i].id);
		ck_assert_msg(strstr(dom, attr), "span %s is not in the rendered page", corpus.spans[i].id);
	}
	ck_assert_ptr_null(strstr(dom, "\x1b"));
	free(dom);

	/* A screenshot, kept next to the test log when the build dir is known. */
	snprintf(cmd, sizeof(cmd),
		 "'%s' --headless --no-sandbox --disable-gpu --disable-background-networking "
		 "--disable-component-update --disable-sync --no-first-run --user-data-dir='%s' "
		 "--window-size=1400,900 --screenshot='%s' 'file://%s' >/dev/null 2>&1",
		 chromium, prof, png, html);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(stat(png, &st), 0);
	ck_assert_int_gt(st.st_size, 1000);
	if (getenv("MESON_BUILD_ROOT") || access("meson-logs", F_OK) == 0) {
		snprintf(cmd, sizeof(cmd), "cp '%s' meson-logs/tracegrep-waterfall.png 2>/dev/null", png);
		(void)!system(cmd);
	}
}
END_TEST

static Suite *tracegrep_suite(void)
{
	Suite *s = suite_create("tracegrep");
	TCase *tc = tcase_create("corpus");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, errors_exit_with_status_two);
	tcase_add_test(tc, absent_ids_exit_with_status_one_and_print_nothing);
	tcase_add_test(tc, help_and_version_describe_the_program);
	tcase_add_test(tc, lines_equal_the_truth_for_every_transaction);
	tcase_add_test(tc, json_tree_equals_the_truth_for_every_transaction);
	tcase_add_test(tc, a_span_id_selects_its_subtree_across_services);
	tcase_add_test(tc, a_path_selects_the_subtree_of_its_last_span);
	tcase_add_test(tc, a_path_whose_spans_are_not_ancestors_finds_nothing);
	tcase_add_test(tc, an_id_that_is_a_prefix_of_another_does_not_match_it);
	tcase_add_test(tc, control_sequences_are_neutralised_on_the_terminal_output);
	tcase_add_test(tc, ids_from_the_logs_are_neutralised_in_the_header_and_the_note);
	tcase_add_test(tc, a_terminal_gets_escaped_lines_and_only_our_colours);
	tcase_add_test(tc, skew_is_adjusted_and_shown_unless_turned_off);
	tcase_add_test(tc, the_critical_path_runs_from_the_top_to_a_leaf);
	tcase_add_test(tc, chrome_and_jaeger_outputs_hold_every_span);
	tcase_add_test(tc, standard_input_is_read_plain_and_compressed);
	tcase_add_test(tc, one_thread_finds_what_many_find);
	tcase_add_test(tc, big_files_are_scanned_across_pieces_and_windows);
	tcase_add_test(tc, corrupt_and_garbage_inputs_are_handled);
	tcase_add_test(tc, a_compressed_line_without_end_is_read_in_bounded_memory);
	tcase_add_test(tc, html_renders_every_span_in_headless_chromium);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	SRunner *sr;
	int failed;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-TRACEGREP\n", argv[0]);
		return 2;
	}
	tracegrep = argv[1];
	/* With no PATH tracegrep reads the archive: make sure it is one that does not exist. */
	setenv("CLEW_ARCHIVE", "/nonexistent/clew-test-archive", 1);
	snprintf(dir, sizeof(dir), "/tmp/tg-corpus-XXXXXX");
	if (!mkdtemp(dir) || snprintf(outdir, sizeof(outdir), "%s-out", dir) < 0 || mkdir(outdir, 0700) < 0 ||
	    tcorpus_write(&corpus, dir, NTXNS, 42) < 0) {
		fprintf(stderr, "cannot write the corpus in %s: %s\n", dir, strerror(errno));
		return 2;
	}
	sr = srunner_create(tracegrep_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	tcorpus_free(&corpus);
	if (!getenv("TG_KEEP_CORPUS")) {
		th_remove_tree(dir);
		th_remove_tree(outdir);
	} else {
		fprintf(stderr, "corpus kept in %s, outputs in %s\n", dir, outdir);
	}
	return failed ? 1 : 0;
}
