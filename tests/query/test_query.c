/*
 * test_query.c - the query engine (query/): summaries from records, the
 * merge of a transaction's summaries made in pieces, the filter parser
 * and its tests, sorting and limits, and the JSON object (its keys and
 * types read back with jansson, an independent JSON reader).
 *
 * The merge is checked the strong way: a transaction's records are cut
 * into pieces at every split point and in shuffled orders, each piece
 * summarised on its own and the pieces merged; the merged summary's JSON
 * (and its sets) must equal that of one pass over all the records.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/detect.h"
#include "query/filter.h"
#include "query/json.h"
#include "query/select.h"
#include "query/summary.h"
#include "query/sumwrite.h"
#include "query/txns.h"

/* One transaction's records, pipe and JSON, nested spans, errors, attributes, a late record. */
static const char *const txn_lines[] = {
	"2026-11-23T07:00:00.000000Z INFO T1|gateway|POST|/checkout|msg=accepted|user=u42",
	"2026-11-23T07:00:00.001000Z INFO T1:G|gateway|POST|/checkout|event=span|name=req|dur_us=30000|status=ok",
	"{\"timestamp\":\"2026-11-23T07:00:00.002Z\",\"level\":\"info\",\"service\":\"orders\",\"trace\":\"T1\","
	"\"span\":\"S\",\"parent\":\"G\",\"method\":\"POST\",\"path\":\"/orders\",\"message\":\"created\",\"order\":7,"
	"\"tenant\":\"acme\"}",
	"2026-11-23T07:00:00.003000Z ERROR T1:G:X|billing|POST|/charge|msg=charge failed|error=timeout\n"
	"java.lang.IllegalStateException: processor timed out\n\tat billing.P.call(P.java:1)",
	"2026-11-23T07:00:00.004000Z INFO T1:G:X|billing|POST|/charge|msg=POST /charge -> 502|status=502",
	"{\"timestamp\":\"2026-11-23T07:00:00.005Z\",\"level\":\"warn\",\"service\":\"inventory\",\"trace\":\"T1\","
	"\"span\":\"V\",\"parent\":\"S\",\"method\":\"GET\",\"path\":\"/stock/9\",\"message\":\"slow\",\"status\":429,"
	"\"user\":\"u7\"}",
	"2026-11-23T07:00:00.020000Z INFO T1:G|gateway|POST|/checkout|msg=POST /checkout -> 200|status=200",
	"2026-11-23T07:00:00.045000Z DEBUG T1:G|gateway|POST|/checkout|msg=late flush",
};
#define NLINES (sizeof(txn_lines) / sizeof(txn_lines[0]))

static struct fmt_record recs[NLINES];
static struct qy_keys keys;

static void parse_all(void)
{
	for (size_t i = 0; i < NLINES; i++)
		ck_assert_msg(fmt_parse(txn_lines[i], strlen(txn_lines[i]), &recs[i], NULL) == 0, "line %zu",
			      i);
}

static void setup(void)
{
	memset(&keys, 0, sizeof(keys));
	ck_assert_int_eq(qy_keys_defaults(&keys), 0);
	parse_all();
}

static void teardown(void)
{
	qy_keys_release(&keys);
}

static char *json_of(const struct qy_summary *s)
{
	size_t cap = qy_summary_json_bound(s, &keys), len;
	char *out = malloc(cap + 1);

	ck_assert_int_eq(qy_summary_json(s, &keys, out, cap, &len), 0);
	out[len] = '\0';
	return out;
}

static void summarise(struct qy_summary *s, const size_t *order, size_t from, size_t to)
{
	struct qy_context ctx = {.keys = &keys};

	ck_assert_int_eq(qy_summary_init(s, "T1", 2), 0);
	for (size_t i = from; i < to; i++)
		ck_assert_int_eq(qy_summary_add(s, &ctx, &recs[order[i]], 0), 0);
}

START_TEST(summary_of_a_transaction)
{
	size_t order[NLINES];
	struct qy_summary s;
	json_t *j, *a;
	json_error_t e;
	char *text;

	for (size_t i = 0; i < NLINES; i++)
		order[i] = i;
	summarise(&s, order, 0, NLINES);
	text = json_of(&s);
	j = json_loads(text, 0, &e);
	ck_assert_msg(j != NULL, "%s: %s", text, e.text);
	ck_assert_str_eq(json_string_value(json_object_get(j, "trace")), "T1");
	/* A record of the transaction itself lies above the G span record: first to last end. */
	ck_assert_str_eq(json_string_value(json_object_get(j, "start")), "2026-11-23T07:00:00.000000Z");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "dur_us")), 45000);
	ck_assert_str_eq(json_string_value(json_object_get(j, "service")), "gateway");
	ck_assert_str_eq(json_string_value(json_object_get(j, "method")), "POST");
	ck_assert_str_eq(json_string_value(json_object_get(j, "path")), "/checkout");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), 502);
	ck_assert(json_is_true(json_object_get(j, "error")));
	/* T1, G, S, X, V */
	ck_assert_int_eq(json_integer_value(json_object_get(j, "spans")), 5);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "records")), (json_int_t)NLINES);
	a = json_object_get(j, "services");
	ck_assert_int_eq(json_array_size(a), 4);
	ck_assert_str_eq(json_string_value(json_array_get(a, 0)), "billing");
	ck_assert_str_eq(json_string_value(json_array_get(a, 3)), "orders");
	ck_assert_str_eq(json_string_value(json_object_get(j, "first_error")), "charge failed");
	a = json_object_get(j, "attrs");
	ck_assert_str_eq(json_string_value(json_object_get(a, "user")), "u42"); /* the earlier of u42, u7 */
	ck_assert_str_eq(json_string_value(json_object_get(a, "order")), "7");
	ck_assert_str_eq(json_string_value(json_object_get(a, "tenant")), "acme");
	ck_assert_ptr_null(json_object_get(a, "customer"));
	ck_assert_uint_eq(qy_summary_values(&s, 0)->n, 2); /* user: u42 and u7 both kept for --attr */
	ck_assert_uint_eq(s.nroutes, 4);
	json_decref(j);
	free(text);
	qy_summary_release(&s);

	/* Without the record of the transaction itself, the G span record is the top: its duration. */
	for (size_t i = 0; i < NLINES - 1; i++)
		order[i] = i + 1;
	summarise(&s, order, 0, NLINES - 1);
	ck_assert(qy_summary_dur(&s) == INT64_C(30000000));
	ck_assert(qy_summary_start(&s) == INT64_C(1795417200001000000));
	qy_summary_release(&s);
}
END_TEST

static uint64_t rng = 42;

static size_t rnd(size_t n)
{
	rng = rng * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
	return (size_t)((rng >> 33) % n);
}

START_TEST(pieces_merge_into_the_whole)
{
	size_t order[NLINES];
	struct qy_summary whole, a, b, c;
	char *want, *got;

	for (size_t i = 0; i < NLINES; i++)
		order[i] = i;
	summarise(&whole, order, 0, NLINES);
	want = json_of(&whole);
	for (int round = 0; round < 200; round++) {
		size_t cut1 = rnd(NLINES + 1), cut2 = rnd(NLINES + 1);

		if (round > 0)
			for (size_t i = NLINES - 1; i > 0; i--) {
				size_t k = rnd(i + 1), t = order[i];

				order[i] = order[k];
				order[k] = t;
			}
		if (cut1 > cut2) {
			size_t t = cut1;

			cut1 = cut2;
			cut2 = t;
		}
		summarise(&a, order, 0, cut1);
		summarise(&b, order, cut1, cut2);
		summarise(&c, order, cut2, NLINES);
		/* (c + a) + b: any grouping and order of pieces. */
		ck_assert_int_eq(qy_summary_merge(&c, &a, &keys), 0);
		ck_assert_int_eq(qy_summary_merge(&c, &b, &keys), 0);
		got = json_of(&c);
		ck_assert_msg(strcmp(got, want) == 0, "round %d cuts %zu %zu:\n%s\n%s", round, cut1, cut2,
			      got, want);
		ck_assert_uint_eq(c.nspans, whole.nspans);
		ck_assert_uint_eq(c.nroutes, whole.nroutes);
		ck_assert_uint_eq(qy_summary_values(&c, 0)->n, qy_summary_values(&whole, 0)->n);
		ck_assert_int_eq(c.err_class, whole.err_class);
		free(got);
		qy_summary_release(&a);
		qy_summary_release(&b);
		qy_summary_release(&c);
	}
	free(want);
	qy_summary_release(&whole);
}
END_TEST

/* Tables of two "threads" merged: a transaction in both gets one summary. */
START_TEST(tables_merge_by_trace)
{
	struct qy_context ctx = {.keys = &keys};
	struct qy_txns t1, t2;
	const char *other = "2026-11-23T07:00:01Z INFO T2:Z|search|GET|/q|msg=hit";
	struct fmt_record r;

	qy_txns_init(&t1, &ctx);
	qy_txns_init(&t2, &ctx);
	for (size_t i = 0; i < NLINES; i++)
		ck_assert_int_eq(qy_txns_add(i % 2 ? &t1 : &t2, &recs[i]), 0);
	ck_assert_int_eq(fmt_parse(other, strlen(other), &r, NULL), 0);
	ck_assert_int_eq(qy_txns_add(&t2, &r), 0);
	/* A trace decoded from \u0000 ends there: "T2\u0000x" is T2. */
	other = "{\"timestamp\":\"2026-11-23T07:00:02Z\",\"trace\":\"T2\\u0000x\",\"message\":\"m\"}";
	ck_assert_int_eq(fmt_parse(other, strlen(other), &r, NULL), 0);
	ck_assert_int_eq(qy_txns_add(&t1, &r), 0);
	ck_assert_int_eq(qy_txns_merge(&t1, &t2), 0);
	ck_assert_uint_eq(t1.n, 2);
	ck_assert_uint_eq(t2.n, 0);
	ck_assert_uint_eq(qy_txns_find(&t1, "T1", 2)->records, NLINES);
	ck_assert_uint_eq(qy_txns_find(&t1, "T2", 2)->records, 2);
	ck_assert_ptr_null(qy_txns_find(&t1, "T3", 2));
	qy_txns_release(&t1);
	qy_txns_release(&t2);
}
END_TEST

/* OpenTelemetry's HTTP status keys count as a status: worst status, error from 500; text there is no failure. */
START_TEST(http_status_keys)
{
	static const struct {
		const char *line;
		int status;
		bool error;
	} cases[] = {
		{"2026-11-23T07:00:01Z INFO H1:s1|api|GET|/x|event=span|status=unset|http.response.status_code=503",
		 503, true},
		{"2026-11-23T07:00:01Z INFO H2:s1|api|GET|/x|status=ok|http.status_code=404", 404, false},
		{"2026-11-23T07:00:01Z INFO H3:s1|api|GET|/x|status=201|http.status_code=failed", 201, false},
		{"{\"timestamp\":\"2026-11-23T07:00:01Z\",\"trace\":\"H4\",\"http.status_code\":\"502\"}",
		 502, true},
	};
	struct qy_context ctx = {.keys = &keys};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fmt_record r;
		struct qy_txns t;
		int code = -1;

		ck_assert_int_eq(fmt_parse(cases[i].line, strlen(cases[i].line), &r, NULL), 0);
		ck_assert_int_eq(qy_record_failed(&r, &code), cases[i].error);
		ck_assert_int_eq(code, cases[i].status);
		qy_txns_init(&t, &ctx);
		ck_assert_int_eq(qy_txns_add(&t, &r), 0);
		ck_assert_int_eq(t.v[0].status, cases[i].status);
		ck_assert_int_eq(t.v[0].error, cases[i].error);
		qy_txns_release(&t);
	}
}
END_TEST

/* The merge's stop hook: asked every QY_MERGE_STOP_EVERY summaries; says stop at its second question. */
static bool stop_at_second(void *arg)
{
	return ++*(int *)arg >= 2;
}

/* A merge told to stop ends early with -QY_ESTOPPED, everything of both tables still released once. */
START_TEST(merge_stops_when_told)
{
	int asked = 0;
	struct qy_context ctx = {.keys = &keys, .stop = stop_at_second, .stop_arg = &asked};
	struct qy_txns dst, src;
	char line[128];
	struct fmt_record r;

	qy_txns_init(&dst, &ctx);
	qy_txns_init(&src, &ctx);
	ck_assert_int_eq(qy_txns_add(&dst, &recs[0]), 0);
	for (int i = 0; i < 3 * QY_MERGE_STOP_EVERY; i++) {
		int n = snprintf(line, sizeof(line), "2026-11-23T07:00:01Z INFO X%d:Z|search|GET|/q|msg=hit",
				 i);

		ck_assert_int_eq(fmt_parse(line, (size_t)n, &r, NULL), 0);
		ck_assert_int_eq(qy_txns_add(&src, &r), 0);
	}
	ck_assert_int_eq(qy_txns_merge(&dst, &src), -QY_ESTOPPED);
	ck_assert_int_eq(asked, 2);
	ck_assert_uint_eq(dst.n, 1 + 2 * QY_MERGE_STOP_EVERY - 1); /* merged until the second question */
	ck_assert_uint_eq(src.n, 0);
	qy_txns_release(&dst);
	qy_txns_release(&src);
}
END_TEST

/* A transaction of many spans (a batch job): counted exactly, in two pieces merged, in linear time. */
START_TEST(many_spans)
{
	struct qy_context ctx = {.keys = &keys};
	struct qy_summary a, b;
	struct fmt_record r;
	char line[128];

	ck_assert_int_eq(qy_summary_init(&a, "big", 3), 0);
	ck_assert_int_eq(qy_summary_init(&b, "big", 3), 0);
	for (int i = 0; i < 200000; i++) {
		/* The pieces share half of their spans. */
		snprintf(line, sizeof(line), "2026-11-23T07:00:00Z INFO big:s%d|batch|-|-|msg=item",
			 i < 100000 ? i : i - 50000);
		ck_assert_int_eq(fmt_parse(line, strlen(line), &r, NULL), 0);
		ck_assert_int_eq(qy_summary_add(i < 100000 ? &a : &b, &ctx, &r, 0), 0);
	}
	ck_assert_uint_eq(a.nspans, 100001);
	ck_assert_int_eq(qy_summary_merge(&a, &b, &keys), 0);
	ck_assert_uint_eq(a.nspans, 150001);
	ck_assert_uint_eq(a.records, 200000);
	qy_summary_release(&a);
	qy_summary_release(&b);
}
END_TEST

/* One generated line (@i-th): pipe or JSON, with every field a summary reads at its edges. */
static void gen_line(size_t i, char *line, size_t cap)
{
	static const char *const levels[] = {"INFO", "ERROR", "WARN", "FATAL", "DEBUG"};
	static const char *const statuses[] = {"200", "503", "ok", "error", "abc", "404", "-7", "1000", ""};
	char big[700], svc[600], path[64], user[400];
	size_t tr = rnd(40), t = rnd(50); /* equal times: ties broken by value */

	/* services over their cap (32), routes over theirs (64), values over theirs (8) */
	if (rnd(50) == 0) {
		/* longer than a kept value: cut at a character boundary (é straddles the cap) */
		memset(svc, 'a', 255);
		memcpy(svc + 255, "\xc3\xa9tail", 6);
		svc[261] = '\0';
	} else {
		snprintf(svc, sizeof(svc), "svc%zu", rnd(40));
	}
	snprintf(path, sizeof(path), "/p/%zu", rnd(70));
	snprintf(user, sizeof(user), "u%zu", rnd(12));
	memset(big, 'm', 600);
	memcpy(big + 509, "\xe2\x82\xac", 3); /* € across the message cap (512) */
	big[600] = '\0';
	if (i % 3 == 0) {
		snprintf(
			line, cap,
			"{\"timestamp\":\"2026-11-23T07:00:%02zu.000Z\",\"level\":\"%s\",\"service\":\"%s\","
			"\"trace\":\"%s%zu\",\"span\":\"s%zu\",\"parent\":\"%s\",\"method\":\"%s\",\"path\":\"%s\","
			"\"message\":\"%s\",\"status\":%s%s%s,\"user\":\"%s\",\"order\":%zu%s}",
			t, levels[rnd(5)],
			rnd(7) == 0   ? "nul\\u0000svc"
			: rnd(9) == 0 ? "esc\\\"aped"
				      : svc,
			rnd(30) == 0 ? "t\\u0000" : "t", tr, rnd(9), rnd(2) ? "s1" : "", rnd(3) ? "GET" : "",
			rnd(8) == 0 ? "" : path,
			rnd(10) == 0 ? big
			: rnd(3)     ? "boom \\u00e9"
				     : "",
			"\"", statuses[rnd(9)], "\"", rnd(6) == 0 ? "x\\u0000y" : user, rnd(20),
			rnd(4) == 0 ? ",\"event\":\"span\",\"dur_us\":1500" : "");
	} else {
		char http[64] = "";

		/* OpenTelemetry's HTTP status keys (query/summary.h) */
		if (rnd(3) == 0)
			snprintf(http, sizeof(http), "|%s=%s",
				 rnd(2) ? "http.response.status_code" : "http.status_code", statuses[rnd(9)]);
		snprintf(line, cap,
			 "2026-11-23T07:00:%02zu.000000Z %s t%zu:s%zu%s|%s|%s|%s|%s%s|status=%s%s|user=%s|"
			 "error=e%zu|msg=%s",
			 t, levels[rnd(5)], tr, rnd(9), rnd(2) ? ":c1:c2" : "", rnd(11) == 0 ? "" : svc,
			 rnd(2) ? "POST" : "-", rnd(8) == 0 ? "-" : path, rnd(4) == 0 ? "event=span|" : "",
			 rnd(3) == 0 ? "dur_us=99" : "dur_us=x", statuses[rnd(9)], http, user, rnd(3),
			 rnd(10) == 0  ? big
			 : rnd(5) == 0 ? ""
				       : "failed");
	}
}

START_TEST(block_writer_encodes_as_the_summaries)
{
	struct qy_context ctx = {.keys = &keys};
	struct qy_bytes a = {0}, b = {0};
	static char line[4096];
	struct fmt_record r;
	struct qy_sumw w;
	struct qy_txns t;

	qy_txns_init(&t, &ctx);
	qy_sumw_init(&w, &keys);
	for (int round = 0; round < 2; round++) { /* the second round: a block reused after qy_sumw_clear() */
		for (size_t i = 0; i < 6000; i++) {
			gen_line(i, line, sizeof(line));
			ck_assert_msg(fmt_parse(line, strlen(line), &r, NULL) == 0, "%s", line);
			ck_assert_int_eq(qy_txns_add(&t, &r), 0);
			ck_assert_int_eq(qy_sumw_add(&w, &r), 0);
		}
		ck_assert_uint_eq(qy_sumw_count(&w), t.n);
		a.len = b.len = 0;
		for (size_t k = 0; k < t.n; k++)
			ck_assert_int_eq(qy_summary_encode(&t.v[k], keys.n, &a), 0);
		ck_assert_int_eq(qy_sumw_encode(&w, &b), 0);
		ck_assert_uint_eq(a.len, b.len);
		ck_assert(memcmp(a.p, b.p, a.len) == 0);
		qy_txns_clear(&t);
		qy_sumw_clear(&w);
	}
	free(a.p);
	free(b.p);
	qy_sumw_release(&w);
	qy_txns_release(&t);
}
END_TEST

START_TEST(filter_values_parse)
{
	struct qy_status st;
	int64_t ns;
	char msg[256];
	struct qy_filter f;

	ck_assert_int_eq(qy_parse_duration("500us", &ns), 0);
	ck_assert(ns == 500000);
	ck_assert_int_eq(qy_parse_duration("250ms", &ns), 0);
	ck_assert(ns == 250000000);
	ck_assert_int_eq(qy_parse_duration("1.5s", &ns), 0);
	ck_assert(ns == 1500000000);
	ck_assert_int_eq(qy_parse_duration("2m", &ns), 0);
	ck_assert(ns == INT64_C(120000000000));
	ck_assert_int_eq(qy_parse_duration("7ns", &ns), 0);
	ck_assert(ns == 7);
	ck_assert_int_eq(qy_parse_duration("\xc2\xb5s", &ns), -QY_EINVAL);
	ck_assert_int_eq(qy_parse_duration("3\xc2\xb5s", &ns), 0);
	ck_assert(ns == 3000);
	ck_assert_int_eq(qy_parse_duration("250", &ns), -QY_EINVAL);
	ck_assert_int_eq(qy_parse_duration("-1s", &ns), -QY_EINVAL);
	ck_assert_int_eq(qy_parse_duration("1y", &ns), -QY_EINVAL);
	ck_assert_int_eq(qy_parse_duration("1e300s", &ns), -QY_EINVAL);

	ck_assert_int_eq(qy_parse_status("5xx", &st), 0);
	ck_assert(st.lo == 500 && st.hi == 599);
	ck_assert_int_eq(qy_parse_status(">=400", &st), 0);
	ck_assert(st.lo == 400 && st.hi == 999);
	ck_assert_int_eq(qy_parse_status(">399", &st), 0);
	ck_assert(st.lo == 400);
	ck_assert_int_eq(qy_parse_status("<400", &st), 0);
	ck_assert(st.lo == 1 && st.hi == 399);
	ck_assert_int_eq(qy_parse_status("<=399", &st), 0);
	ck_assert(st.hi == 399);
	ck_assert_int_eq(qy_parse_status("404", &st), 0);
	ck_assert(st.lo == 404 && st.hi == 404);
	ck_assert_int_eq(qy_parse_status("4x", &st), -QY_EINVAL);
	ck_assert_int_eq(qy_parse_status("1000", &st), -QY_EINVAL);
	ck_assert_int_eq(qy_parse_status(">=", &st), -QY_EINVAL);

	ck_assert_int_eq(qy_parse_time("2026-11-23T07:00:00Z", 0, &ns), 0);
	ck_assert(ns == INT64_C(1795417200000000000));
	ck_assert_int_eq(qy_parse_time("2h", INT64_C(10000000000000), &ns), 0);
	ck_assert(ns == INT64_C(10000000000000) - INT64_C(7200000000000));
	ck_assert_int_eq(qy_parse_time("yesterday", 0, &ns), -QY_EINVAL);

	qy_filter_init(&f);
	ck_assert_int_eq(qy_filter_add(&f, "status", "6xy", 0, msg, sizeof(msg)), -QY_EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, "--status takes"));
	ck_assert_int_eq(qy_filter_add(&f, "attr", "=x", 0, msg, sizeof(msg)), -QY_EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, "KEY=VALUE"));
	ck_assert_int_eq(qy_filter_add(&f, "text", "(unclosed", 0, msg, sizeof(msg)), -QY_EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, "--text '(unclosed'"));
	ck_assert_int_eq(qy_filter_add(&f, "colour", "red", 0, msg, sizeof(msg)), -QY_EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, "no such filter"));
	ck_assert_int_eq(qy_filter_add(&f, "error", "maybe", 0, msg, sizeof(msg)), -QY_EINVAL);
	ck_assert_int_eq(qy_filter_add(&f, "min-duration", "fast", 0, msg, sizeof(msg)), -QY_EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, "--min-duration takes a duration"));
	ck_assert_int_eq(qy_filter_add(&f, "error", "true", 0, msg, sizeof(msg)), 0);
	ck_assert(f.error);
	ck_assert_int_eq(qy_filter_add(&f, "error", "false", 0, msg, sizeof(msg)), 0);
	ck_assert(!f.error);
	qy_filter_release(&f);
}
END_TEST

/* Whether filter conditions @conds ("name=value" or "name") take the summary of txn_lines. */
static bool takes(const char *const *conds)
{
	struct qy_filter f;
	struct qy_keys k = {0};
	struct qy_context ctx = {.keys = &k, .filter = &f};
	struct qy_txns t;
	char msg[256];
	bool ok;

	qy_filter_init(&f);
	for (; *conds; conds++) {
		char name[64];
		const char *eq = strchr(*conds, '=');

		snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - *conds) : (int)strlen(*conds), *conds);
		ck_assert_msg(qy_filter_add(&f, name, eq ? eq + 1 : NULL, 0, msg, sizeof(msg)) == 0, "%s: %s",
			      *conds, msg);
	}
	ck_assert_int_eq(qy_keys_defaults(&k), 0);
	ck_assert_int_eq(qy_filter_keys(&f, &k), 0);
	/* Through a table, as a scan does: the --text regexes run on each record. */
	qy_txns_init(&t, &ctx);
	for (size_t i = 0; i < NLINES; i++)
		ck_assert_int_eq(qy_txns_add(&t, &recs[i]), 0);
	ck_assert_uint_eq(t.n, 1);
	ok = qy_filter_match(&f, &t.v[0], &k);
	qy_txns_release(&t);
	qy_keys_release(&k);
	qy_filter_release(&f);
	return ok;
}

#define TAKES(...) takes((const char *const[]){__VA_ARGS__, NULL})

START_TEST(filters_test_summaries)
{
	ck_assert(TAKES("error"));
	ck_assert(TAKES("service=billing", "service=inventory"));
	ck_assert(!TAKES("service=billing", "service=search"));
	ck_assert(TAKES("route=/stock/*"));
	ck_assert(TAKES("route=/stock/*", "method=get"));
	ck_assert(!TAKES("route=/stock/*", "method=POST"));
	ck_assert(TAKES("method=DELETE", "method=GET"));
	ck_assert(!TAKES("method=DELETE"));
	ck_assert(TAKES("route=/check*", "route=/orders"));
	ck_assert(!TAKES("route=/nope*"));
	ck_assert(TAKES("status=5xx"));
	ck_assert(TAKES("status=502"));
	ck_assert(!TAKES("status=429")); /* the worst status is 502 */
	ck_assert(TAKES("status=404", "status=>=500"));
	ck_assert(!TAKES("status=<500"));
	ck_assert(TAKES("min-duration=45ms", "max-duration=45ms"));
	ck_assert(!TAKES("min-duration=45001us"));
	ck_assert(!TAKES("max-duration=44999us"));
	ck_assert(TAKES("attr=user=u7")); /* not the first value, but a value */
	ck_assert(TAKES("attr=order=7", "attr=tenant=acme"));
	ck_assert(!TAKES("attr=tenant=globex"));
	ck_assert(TAKES("attr=error=timeout")); /* a key only the filter names */
	ck_assert(TAKES("text=charge f.iled"));
	ck_assert(TAKES("text=IllegalState")); /* a continuation line */
	ck_assert(TAKES("text=^slow$", "text=late"));
	ck_assert(!TAKES("text=^slow$", "text=nowhere"));
	ck_assert(TAKES("since=2026-11-23T07:00:00Z", "until=2026-11-23T07:00:00Z"));
	ck_assert(!TAKES("since=2026-11-23T07:00:00.000001Z"));
	ck_assert(!TAKES("until=2026-11-23T06:59:59Z"));
}
END_TEST

START_TEST(select_sorts_and_limits)
{
	struct qy_context ctx = {.keys = &keys};
	struct qy_filter f;
	struct qy_txns t;
	const struct qy_summary **v;
	size_t n;
	char line[256];
	struct fmt_record r;
	static const int durs[] = {5, 50, 20, 1, 30};

	qy_filter_init(&f);
	qy_txns_init(&t, &ctx);
	for (int k = 0; k < 5; k++) {
		snprintf(line, sizeof(line),
			 "2026-11-23T07:00:0%dZ INFO T%d:A|svc|GET|/x|event=span|dur_us=%d000", k, k,
			 durs[k]);
		ck_assert_int_eq(fmt_parse(line, strlen(line), &r, NULL), 0);
		ck_assert_int_eq(qy_txns_add(&t, &r), 0);
	}
	ck_assert_int_eq(qy_select(&t, &f, QY_SORT_START, 0, &v, &n), 5);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(v[0]->trace, "T4"); /* newest first */
	ck_assert_str_eq(v[4]->trace, "T0");
	free(v);
	ck_assert_int_eq(qy_select(&t, &f, QY_SORT_DURATION, 2, &v, &n), 5);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(v[0]->trace, "T1");
	ck_assert_str_eq(v[1]->trace, "T4");
	free(v);
	ck_assert_int_eq(qy_filter_add(&f, "min-duration", "20ms", 0, NULL, 0), 0);
	ck_assert_int_eq(qy_select(&t, &f, QY_SORT_START, 0, &v, &n), 3);
	free(v);
	ck_assert_int_eq(qy_parse_sort("duration", &(enum qy_sort){0}), 0);
	ck_assert_int_eq(qy_parse_sort("size", &(enum qy_sort){0}), -QY_EINVAL);
	qy_filter_release(&f);
	qy_txns_release(&t);
}
END_TEST

/* Hostile bytes in every string: the JSON is valid, keeps the values, and holds no raw control. */
START_TEST(json_of_hostile_values)
{
	static const char *const lines[] = {
		"2026-11-23T07:00:00Z ERROR evil:S|svc\x1b]0;x\x07|GET|/p\"\\\\q|msg=bad \x1b[2J\xc2\x9b\xff\xfe end|"
		"user=\x1b[31mred",
		"{\"timestamp\":\"2026-11-23T07:00:01Z\",\"level\":\"error\",\"service\":\"\\u001b[31mjs\\u009b\","
		"\"trace\":\"ev\\u0069l\",\"span\":\"J\",\"message\":\"\\u0000nul \\\"q\\\" \\ud800 lone\"}",
	};
	struct qy_context ctx = {.keys = &keys};
	struct qy_txns t;
	struct fmt_record r;
	json_error_t e;
	json_t *j;
	char *text;
	static const char *const want_keys[] = {"trace",    "start",	   "dur_us", "service", "method",
						"path",	    "status",	   "error",  "spans",	"records",
						"services", "first_error", "attrs"};
	const char *k;
	json_t *val;
	size_t i = 0;

	qy_txns_init(&t, &ctx);
	for (size_t l = 0; l < 2; l++) {
		ck_assert_msg(fmt_parse(lines[l], strlen(lines[l]), &r, NULL) == 0, "line %zu", l);
		ck_assert_int_eq(qy_txns_add(&t, &r), 0);
	}
	ck_assert_uint_eq(t.n, 1); /* "ev\u0069l" is "evil" */
	text = json_of(&t.v[0]);
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		ck_assert_msg(*p >= 0x20 && *p != 0x7f, "raw control 0x%02x in %s", *p, text);
		ck_assert_msg(!(p[0] == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0), "raw C1 in %s", text);
	}
	j = json_loads(text, JSON_ALLOW_NUL, &e);
	ck_assert_msg(j != NULL, "%s: %s", text, e.text);
	/* Exactly the keys, in order, with their types. */
	json_object_foreach(j, k, val)
	{
		ck_assert_uint_lt(i, 13);
		ck_assert_str_eq(k, want_keys[i]);
		i++;
	}
	ck_assert_uint_eq(i, 13);
	ck_assert(json_is_string(json_object_get(j, "trace")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "trace")), "evil"); /* one, decoded */
	ck_assert(json_is_string(json_object_get(j, "start")));
	ck_assert(json_is_integer(json_object_get(j, "dur_us")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "service")), "svc\x1b]0;x\x07");
	ck_assert_str_eq(json_string_value(json_object_get(j, "path")),
			 "/p\"\\q"); /* the pipe escape undone */
	ck_assert(json_is_integer(json_object_get(j, "status")));
	ck_assert(json_is_true(json_object_get(j, "error")));
	ck_assert(json_is_integer(json_object_get(j, "spans")));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "records")), 2);
	ck_assert(json_is_array(json_object_get(j, "services")));
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "services"), 0)),
			 "\x1b[31mjs\xc2\x9b");
	ck_assert(json_is_string(json_object_get(j, "first_error")));
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "first_error")), "bad \x1b[2J"));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "attrs"), "user")),
			 "\x1b[31mred");
	json_decref(j);
	free(text);
	/* The bound holds: one byte less than the output is too little, the output fits exactly. */
	{
		size_t cap = qy_summary_json_bound(&t.v[0], &keys), len;
		char *buf = malloc(cap);

		ck_assert_int_eq(qy_summary_json(&t.v[0], &keys, buf, cap, &len), 0);
		ck_assert_int_eq(qy_summary_json(&t.v[0], &keys, buf, len - 1, &len), -QY_ETRUNC);
		free(buf);
	}
	qy_txns_release(&t);
}
END_TEST

/* A transaction with no timestamp and no service: null start, service, first_error; empty sets. */
START_TEST(json_of_a_bare_transaction)
{
	struct qy_summary s;
	char *text;
	json_t *j;

	ck_assert_int_eq(qy_summary_init(&s, "B", 1), 0);
	text = json_of(&s);
	ck_assert_str_eq(
		text, "{\"trace\":\"B\",\"start\":null,\"dur_us\":0,\"service\":null,\"method\":null,"
		      "\"path\":null,\"status\":0,\"error\":false,\"spans\":0,\"records\":0,\"services\":[],"
		      "\"first_error\":null,\"attrs\":{}}");
	j = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(j);
	json_decref(j);
	free(text);
	qy_summary_release(&s);
}
END_TEST

static Suite *query_suite(void)
{
	Suite *s = suite_create("query");
	TCase *tc = tcase_create("query");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, summary_of_a_transaction);
	tcase_add_test(tc, pieces_merge_into_the_whole);
	tcase_add_test(tc, tables_merge_by_trace);
	tcase_add_test(tc, merge_stops_when_told);
	tcase_add_test(tc, http_status_keys);
	tcase_add_test(tc, many_spans);
	tcase_add_test(tc, block_writer_encodes_as_the_summaries);
	tcase_add_test(tc, filter_values_parse);
	tcase_add_test(tc, filters_test_summaries);
	tcase_add_test(tc, select_sorts_and_limits);
	tcase_add_test(tc, json_of_hostile_values);
	tcase_add_test(tc, json_of_a_bare_transaction);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(query_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
