/*
 * test_propagate.c - extracting the trace context from request headers and
 * injecting it into outgoing ones (libtrace/src/propagate.c), against the
 * W3C Trace Context vectors in $CLEW_CORPORA/w3c-tracecontext (read with
 * jansson, an independent JSON reader) and hand-written B3, X-B3-* and
 * X-Request-ID cases.
 *
 * tracestate keys: we implement the *current* key grammar (w3c/trace-context
 * #584: '@' allowed anywhere after the first character), so the 5 vectors
 * that carry expect_level1_grammar are checked against "expect", not
 * against their level-1 expectation.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "th_file.h"

#include "clew/clew.h"

/* The valid traceparent the harness sends with its tracestate cases. */
#define TP_VALID "00-12345678901234567890123456789012-1234567890123456-00"

static json_t *vectors;
static clew_client *cl;

static void setup(void)
{
	struct clew_options o;

	clew_options_default(&o);
	o.flags = CLEW_OPT_IGNORE_ENV;
	ck_assert_int_eq(clew_client_new(&cl, &o), 0);
}

static void teardown(void)
{
	clew_client_free(cl);
}

static struct clew_header hdr(const char *name, const char *value)
{
	struct clew_header h = {name, strlen(name), value, strlen(value)};

	return h;
}

/* The value of the first header named @name (case-insensitive) in @h, NUL-terminated into @out. */
static bool find_value(const struct clew_header *h, size_t n, const char *name, char *out, size_t cap)
{
	for (size_t i = 0; i < n; i++) {
		if (h[i].name_len == strlen(name) && strncasecmp(h[i].name, name, h[i].name_len) == 0) {
			ck_assert_uint_lt(h[i].value_len, cap);
			memcpy(out, h[i].value, h[i].value_len);
			out[h[i].value_len] = '\0';
			return true;
		}
	}
	return false;
}

/* Whether the canonical list @ts has the member "k=v" @m. */
static bool has_member(const char *ts, const char *m)
{
	size_t n = strlen(m);

	for (const char *p = ts; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && memcmp(p, m, n) == 0)
			return true;
		if (!end)
			break;
		p = end + 1;
	}
	return false;
}

/* @ts must be exactly the members of the JSON array @members, in order. */
static void check_members(const char *id, const char *ts, json_t *members)
{
	char want[4096] = "";
	size_t i;
	json_t *m;

	json_array_foreach(members, i, m)
	{
		if (i)
			strcat(want, ",");
		strcat(want, json_string_value(json_array_get(m, 0)));
		strcat(want, "=");
		strcat(want, json_string_value(json_array_get(m, 1)));
	}
	ck_assert_msg(strcmp(ts, want) == 0, "%s: tracestate '%s', want '%s'", id, ts, want);
}

START_TEST(w3c_vector_is_honoured)
{
	json_t *v = json_array_get(vectors, (size_t)_i);
	const char *id = json_string_value(json_object_get(v, "id"));
	const char *header = json_string_value(json_object_get(v, "header"));
	const char *expect = json_string_value(json_object_get(v, "expect"));
	const char *suite = json_string_value(json_object_get(v, "suite"));
	json_t *headers = json_object_get(v, "headers"), *pair;
	struct clew_header h[16], out[8];
	struct clew_propagation p, q, back;
	char buf[1024], value[1024];
	size_t n = 0, nout, i;
	bool ref_ts = suite && strcmp(header, "tracestate") == 0;
	int rc;

	ck_assert_ptr_nonnull(id);
	/* The reference unit tests parse a tracestate alone: give it the harness's traceparent. */
	if (ref_ts)
		h[n++] = hdr("traceparent", TP_VALID);
	json_array_foreach(headers, i, pair)
	{
		ck_assert_uint_lt(n, 16);
		h[n++] = hdr(json_string_value(json_array_get(pair, 0)),
			     json_string_value(json_array_get(pair, 1)));
	}
	rc = clew_extract(h, n, &p);

	if (strcmp(header, "traceparent") == 0) {
		if (strcmp(expect, "reject") == 0) {
			ck_assert_msg(rc == -CLEW_ENOENT, "%s: accepted", id);
			ck_assert_uint_eq(p.source, CLEW_PROP_NONE);
			/* A new trace starts: its ID is none of those sent. */
			ck_assert_int_eq(clew_request_begin(cl, rc == 0 ? &p : NULL, "GET", "/"), 0);
			for (i = 0; i < n; i++)
				ck_assert_ptr_null(strstr(h[i].value, clew_ndc_get(0)));
			return;
		}
		ck_assert_str_eq(expect, "accept");
		ck_assert_msg(rc == 0, "%s: rejected", id);
		ck_assert_uint_eq(p.source, CLEW_PROP_W3C);
		if (json_object_get(v, "trace_id"))
			ck_assert_str_eq(p.trace, json_string_value(json_object_get(v, "trace_id")));
		else
			ck_assert_ptr_nonnull(strstr(h[0].value, p.trace));
		/* Round trip: continue the trace, then inject for an outgoing call. */
		ck_assert_int_eq(clew_request_begin(cl, &p, "GET", "/"), 0);
		ck_assert_int_eq(clew_context_propagation(&q), 0);
		ck_assert_int_eq(clew_inject(&q, CLEW_PROP_W3C, out, 8, &nout, buf, sizeof(buf)), 0);
		ck_assert(find_value(out, nout, "traceparent", value, sizeof(value)));
		ck_assert_uint_eq(strlen(value), 55);
		ck_assert_int_eq(strncmp(value, "00-", 3), 0);
		ck_assert_int_eq(clew_extract(out, nout, &back), 0);
		ck_assert_str_eq(back.trace, p.trace);
		ck_assert_str_ne(back.span, p.span); /* a new parent-id */
		ck_assert_uint_eq(back.flags, p.flags & (CLEW_TRACE_SAMPLED | CLEW_TRACE_RANDOM));
		return;
	}

	ck_assert_str_eq(header, "tracestate");
	if (strcmp(expect, "discard") == 0 || strcmp(expect, "reject") == 0) {
		ck_assert_msg(p.tracestate_len == 0, "%s: kept '%s'", id, p.tracestate);
		ck_assert_str_eq(p.tracestate, "");
		if (rc == 0) {
			ck_assert_int_eq(clew_inject(&p, CLEW_PROP_W3C, out, 8, &nout, buf, sizeof(buf)), 0);
			ck_assert(!find_value(out, nout, "tracestate", value, sizeof(value)));
		}
		return;
	}
	ck_assert_str_eq(expect, "accept");
	ck_assert_msg(rc == 0, "%s: traceparent rejected", id);
	ck_assert_uint_eq(strlen(p.tracestate), p.tracestate_len);
	if (json_object_get(v, "members"))
		check_members(id, p.tracestate, json_object_get(v, "members"));
	if (json_object_get(v, "canonical"))
		ck_assert_str_eq(p.tracestate, json_string_value(json_object_get(v, "canonical")));
	if (json_object_get(v, "must_contain")) {
		json_array_foreach(json_object_get(v, "must_contain"), i, pair)
			ck_assert_msg(has_member(p.tracestate, json_string_value(pair)), "%s: lacks %s", id,
				      json_string_value(pair));
	}
	if (json_object_get(v, "must_contain_any")) {
		bool any = false;

		json_array_foreach(json_object_get(v, "must_contain_any"), i, pair) any |=
			has_member(p.tracestate, json_string_value(pair));
		ck_assert_msg(any, "%s: has none of must_contain_any", id);
	}
	/* tracestate passes through unchanged to the outgoing call. */
	ck_assert_int_eq(clew_request_begin(cl, &p, "GET", "/"), 0);
	ck_assert_int_eq(clew_context_propagation(&q), 0);
	ck_assert_int_eq(clew_inject(&q, CLEW_PROP_W3C, out, 8, &nout, buf, sizeof(buf)), 0);
	if (p.tracestate_len) {
		ck_assert(find_value(out, nout, "tracestate", value, sizeof(value)));
		ck_assert_str_eq(value, p.tracestate);
	} else {
		ck_assert(!find_value(out, nout, "tracestate", value, sizeof(value)));
	}
}
END_TEST

START_TEST(b3_single_header_is_extracted_with_64_bit_ids_padded)
{
	struct clew_header h[] = {hdr("B3", "80f198ee56343ba8-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90")};
	struct clew_propagation p;

	ck_assert_int_eq(clew_extract(h, 1, &p), 0);
	ck_assert_uint_eq(p.source, CLEW_PROP_B3);
	ck_assert_str_eq(p.trace, "000000000000000080f198ee56343ba8");
	ck_assert_str_eq(p.span, "e457b5a2e4d86bd1");
	ck_assert_str_eq(p.parent, "05e3ac9a4f6e3b90");
	ck_assert_uint_eq(p.sampling, CLEW_SAMPLING_YES);
	ck_assert_uint_eq(p.flags, CLEW_TRACE_SAMPLED);
}
END_TEST

static const char *const bad_b3[] = {
	"0",
	"d",
	"80f198ee56343ba8",
	"80f198ee56343ba8-e457b5a2e4d86bd1-x",
	"80F198EE56343BA8-e457b5a2e4d86bd1-1",
	"0000000000000000-e457b5a2e4d86bd1-1",
	"80f198ee56343ba8-0000000000000000-1",
	"80f198ee56343ba8-e457b5a2e4d86bd-1",
	"80f198ee56343ba8-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b9",
	"80f198ee56343ba8-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90-",
	"80f198ee56343ba80-e457b5a2e4d86bd1",
};

START_TEST(malformed_b3_headers_are_rejected)
{
	struct clew_header h[] = {hdr("b3", bad_b3[_i])};
	struct clew_propagation p;

	ck_assert_int_eq(clew_extract(h, 1, &p), -CLEW_ENOENT);
	ck_assert_uint_eq(p.source, CLEW_PROP_NONE);
	ck_assert_str_eq(p.trace, "");
}
END_TEST

START_TEST(b3_multi_headers_are_extracted_with_sampling_and_debug)
{
	struct clew_header h[] = {
		hdr("X-B3-TraceId", "463ac35c9f6413ad48485a3953bb6124"),
		hdr("x-b3-spanid", "a2fb4a1d1a96d312"),
		hdr("X-B3-ParentSpanId", "0020000000000001"),
		hdr("X-B3-Sampled", "true"),
	};
	struct clew_propagation p;

	ck_assert_int_eq(clew_extract(h, 4, &p), 0);
	ck_assert_uint_eq(p.source, CLEW_PROP_B3_MULTI);
	ck_assert_str_eq(p.trace, "463ac35c9f6413ad48485a3953bb6124");
	ck_assert_str_eq(p.span, "a2fb4a1d1a96d312");
	ck_assert_str_eq(p.parent, "0020000000000001");
	ck_assert_uint_eq(p.sampling, CLEW_SAMPLING_YES);
	h[3] = hdr("X-B3-Flags", "1");
	ck_assert_int_eq(clew_extract(h, 4, &p), 0);
	ck_assert_uint_eq(p.sampling, CLEW_SAMPLING_DEBUG);
	h[3] = hdr("X-B3-Sampled", "0");
	ck_assert_int_eq(clew_extract(h, 4, &p), 0);
	ck_assert_uint_eq(p.sampling, CLEW_SAMPLING_NO);
	ck_assert_uint_eq(p.flags, 0);
	h[3] = hdr("X-B3-Sampled", "maybe");
	ck_assert_int_eq(clew_extract(h, 4, &p), -CLEW_ENOENT);
	ck_assert_int_eq(clew_extract(h, 1, &p), -CLEW_ENOENT); /* a trace ID alone is not a context */
}
END_TEST

START_TEST(x_request_id_becomes_the_trace_id_when_it_is_a_valid_id)
{
	struct clew_header h[] = {hdr("x-request-id", " 7f3a9c1e-req.42 ")};
	struct clew_propagation p;

	ck_assert_int_eq(clew_extract(h, 1, &p), 0);
	ck_assert_uint_eq(p.source, CLEW_PROP_REQUEST_ID);
	ck_assert_str_eq(p.trace, "7f3a9c1e-req.42");
	ck_assert_str_eq(p.span, "");
	ck_assert_uint_eq(p.sampling, CLEW_SAMPLING_DEFER);
	h[0] = hdr("X-Request-ID", "has space");
	ck_assert_int_eq(clew_extract(h, 1, &p), -CLEW_ENOENT);
	h[0] = hdr("X-Request-ID", "a:b");
	ck_assert_int_eq(clew_extract(h, 1, &p), -CLEW_ENOENT);
}
END_TEST

START_TEST(precedence_is_traceparent_then_b3_then_x_b3_then_request_id)
{
	struct clew_header h[] = {
		hdr("X-Request-ID", "req-1"),
		hdr("X-B3-TraceId", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"),
		hdr("X-B3-SpanId", "bbbbbbbbbbbbbbbb"),
		hdr("b3", "cccccccccccccccccccccccccccccccc-cccccccccccccccc"),
		hdr("traceparent", "00-dddddddddddddddddddddddddddddddd-dddddddddddddddd-01"),
	};
	struct clew_propagation p;

	ck_assert_int_eq(clew_extract(h, 5, &p), 0);
	ck_assert_uint_eq(p.source, CLEW_PROP_W3C);
	ck_assert_int_eq(clew_extract(h, 4, &p), 0);
	ck_assert_uint_eq(p.source, CLEW_PROP_B3);
	ck_assert_str_eq(p.trace, "cccccccccccccccccccccccccccccccc");
	ck_assert_int_eq(clew_extract(h, 3, &p), 0);
	ck_assert_uint_eq(p.source, CLEW_PROP_B3_MULTI);
	ck_assert_int_eq(clew_extract(h, 1, &p), 0);
	ck_assert_uint_eq(p.source, CLEW_PROP_REQUEST_ID);
	/* An invalid traceparent gives way to the next valid style. */
	h[4] = hdr("traceparent", "00-dddd-dddd-01");
	ck_assert_int_eq(clew_extract(h, 5, &p), 0);
	ck_assert_uint_eq(p.source, CLEW_PROP_B3);
	ck_assert_int_eq(clew_extract(h, 0, &p), -CLEW_ENOENT);
	ck_assert_int_eq(clew_extract(NULL, 0, &p), -CLEW_ENOENT);
	ck_assert_int_eq(clew_extract(NULL, 1, &p), -CLEW_EINVAL);
	ck_assert_int_eq(clew_extract(h, 1, NULL), -CLEW_EINVAL);
}
END_TEST

START_TEST(a_continued_request_has_the_callers_span_as_parent_of_its_own)
{
	struct clew_header h[] = {
		hdr("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")};
	struct clew_propagation p, q;

	ck_assert_int_eq(clew_extract(h, 1, &p), 0);
	ck_assert_int_eq(clew_request_begin(cl, &p, "GET", "/"), 0);
	ck_assert_uint_eq(clew_ndc_depth(), 3);
	ck_assert_str_eq(clew_ndc_get(0), "4bf92f3577b34da6a3ce929d0e0e4736");
	ck_assert_str_eq(clew_ndc_get(1), "00f067aa0ba902b7");
	ck_assert_uint_eq(strlen(clew_ndc_get(2)), CLEW_SPAN_HEX_LEN);
	ck_assert_int_eq(clew_context_propagation(&q), 0);
	ck_assert_str_eq(q.span, clew_ndc_get(2));
	ck_assert_str_eq(q.parent, "00f067aa0ba902b7");
	ck_assert_uint_eq(q.flags, CLEW_TRACE_SAMPLED);
	clew_request_end(cl);
}
END_TEST

START_TEST(inject_writes_every_requested_style)
{
	struct clew_propagation p;
	struct clew_header out[8];
	char buf[512], v[128];
	size_t n;

	memset(&p, 0, sizeof(p));
	strcpy(p.trace, "4bf92f3577b34da6a3ce929d0e0e4736");
	strcpy(p.span, "00f067aa0ba902b7");
	strcpy(p.parent, "1111111111111111");
	p.flags = 0x01 | 0x80; /* unknown flag bits are not passed on */
	p.sampling = CLEW_SAMPLING_YES;
	strcpy(p.tracestate, "congo=t61rcWkgMzE");
	p.tracestate_len = (uint16_t)strlen(p.tracestate);

	ck_assert_int_eq(clew_inject(&p,
				     CLEW_PROP_W3C | CLEW_PROP_B3 | CLEW_PROP_B3_MULTI | CLEW_PROP_REQUEST_ID,
				     out, 8, &n, buf, sizeof(buf)),
			 0);
	ck_assert_uint_eq(n, 8);
	ck_assert(find_value(out, n, "traceparent", v, sizeof(v)));
	ck_assert_str_eq(v, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
	ck_assert(find_value(out, n, "tracestate", v, sizeof(v)));
	ck_assert_str_eq(v, "congo=t61rcWkgMzE");
	ck_assert(find_value(out, n, "b3", v, sizeof(v)));
	ck_assert_str_eq(v, "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1-1111111111111111");
	ck_assert(find_value(out, n, "x-b3-traceid", v, sizeof(v)));
	ck_assert_str_eq(v, "4bf92f3577b34da6a3ce929d0e0e4736");
	ck_assert(find_value(out, n, "x-b3-spanid", v, sizeof(v)));
	ck_assert_str_eq(v, "00f067aa0ba902b7");
	ck_assert(find_value(out, n, "x-b3-parentspanid", v, sizeof(v)));
	ck_assert_str_eq(v, "1111111111111111");
	ck_assert(find_value(out, n, "x-b3-sampled", v, sizeof(v)));
	ck_assert_str_eq(v, "1");
	ck_assert(find_value(out, n, "x-request-id", v, sizeof(v)));
	ck_assert_str_eq(v, "4bf92f3577b34da6a3ce929d0e0e4736");

	/* B3 with no sampling decision carries neither state nor parent. */
	p.sampling = CLEW_SAMPLING_DEFER;
	ck_assert_int_eq(clew_inject(&p, CLEW_PROP_B3, out, 8, &n, buf, sizeof(buf)), 0);
	ck_assert(find_value(out, n, "b3", v, sizeof(v)));
	ck_assert_str_eq(v, "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7");
}
END_TEST

START_TEST(inject_writes_w3c_only_for_ids_it_can_carry)
{
	struct clew_propagation p;
	struct clew_header out[4];
	char buf[256], v[128];
	size_t n;

	memset(&p, 0, sizeof(p));
	strcpy(p.trace, "0af76519-16cd-43dd-8448-eb211c80319c"); /* a UUID's digits are a trace-id */
	strcpy(p.span, "b7ad6b7169203331");
	ck_assert_int_eq(clew_inject(&p, CLEW_PROP_W3C, out, 4, &n, buf, sizeof(buf)), 0);
	ck_assert(find_value(out, n, "traceparent", v, sizeof(v)));
	ck_assert_str_eq(v, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00");

	strcpy(p.trace, "3xT9kP2mQ8rL5vN1wZ4yB7"); /* base62: X-Request-ID only */
	ck_assert_int_eq(clew_inject(&p, CLEW_PROP_W3C | CLEW_PROP_B3 | CLEW_PROP_REQUEST_ID, out, 4, &n, buf,
				     sizeof(buf)),
			 0);
	ck_assert_uint_eq(n, 1);
	ck_assert(find_value(out, n, "x-request-id", v, sizeof(v)));
	ck_assert_str_eq(v, "3xT9kP2mQ8rL5vN1wZ4yB7");
}
END_TEST

START_TEST(inject_into_too_little_room_fails_with_nothing_written)
{
	struct clew_propagation p;
	struct clew_header out[4];
	char buf[256];
	size_t n = 99;

	memset(&p, 0, sizeof(p));
	strcpy(p.trace, "4bf92f3577b34da6a3ce929d0e0e4736");
	strcpy(p.span, "00f067aa0ba902b7");
	ck_assert_int_eq(clew_inject(&p, CLEW_PROP_W3C, out, 4, &n, buf, 54), -CLEW_ETRUNC);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(clew_inject(&p, CLEW_PROP_W3C | CLEW_PROP_REQUEST_ID, out, 1, &n, buf, sizeof(buf)),
			 -CLEW_ETRUNC);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(clew_inject(&p, 1u << 7, out, 4, &n, buf, sizeof(buf)), -CLEW_EINVAL);
	ck_assert_int_eq(clew_inject(NULL, CLEW_PROP_W3C, out, 4, &n, buf, sizeof(buf)), -CLEW_EINVAL);
}
END_TEST

static Suite *propagate_suite(void)
{
	Suite *s = suite_create("propagate");
	TCase *tc = tcase_create("w3c-vectors");
	TCase *unit = tcase_create("styles");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, w3c_vector_is_honoured, 0, (int)json_array_size(vectors));
	suite_add_tcase(s, tc);
	tcase_add_test(unit, b3_single_header_is_extracted_with_64_bit_ids_padded);
	tcase_add_loop_test(unit, malformed_b3_headers_are_rejected, 0,
			    (int)(sizeof(bad_b3) / sizeof(bad_b3[0])));
	tcase_add_test(unit, b3_multi_headers_are_extracted_with_sampling_and_debug);
	tcase_add_test(unit, x_request_id_becomes_the_trace_id_when_it_is_a_valid_id);
	tcase_add_test(unit, precedence_is_traceparent_then_b3_then_x_b3_then_request_id);
	tcase_add_checked_fixture(unit, setup, teardown);
	tcase_add_test(unit, a_continued_request_has_the_callers_span_as_parent_of_its_own);
	tcase_add_test(unit, inject_writes_every_requested_style);
	tcase_add_test(unit, inject_writes_w3c_only_for_ids_it_can_carry);
	tcase_add_test(unit, inject_into_too_little_room_fails_with_nothing_written);
	suite_add_tcase(s, unit);
	return s;
}

/* How many vectors of each header expect what, for the summary line. */
static void count(unsigned *tp_acc, unsigned *tp_rej, unsigned *ts_acc, unsigned *ts_drop, unsigned *level1)
{
	size_t i;
	json_t *v;

	json_array_foreach(vectors, i, v)
	{
		bool tp = strcmp(json_string_value(json_object_get(v, "header")), "traceparent") == 0;
		bool acc = strcmp(json_string_value(json_object_get(v, "expect")), "accept") == 0;

		*(tp ? (acc ? tp_acc : tp_rej) : (acc ? ts_acc : ts_drop)) += 1;
		*level1 += json_object_get(v, "expect_level1_grammar") != NULL;
	}
}

int main(void)
{
	const char *root = th_corpora_or_skip();
	unsigned tp_acc = 0, tp_rej = 0, ts_acc = 0, ts_drop = 0, level1 = 0;
	char path[4096];
	json_error_t err;
	SRunner *sr;
	int failed;

	snprintf(path, sizeof(path), "%s/w3c-tracecontext/tc_vectors.json", root);
	vectors = json_load_file(path, 0, &err);
	if (!vectors || !json_is_array(vectors) || json_array_size(vectors) == 0) {
		fprintf(stderr, "%s: %s (line %d)\n", path, err.text, err.line);
		return EXIT_FAILURE;
	}
	sr = srunner_create(propagate_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	count(&tp_acc, &tp_rej, &ts_acc, &ts_drop, &level1);
	printf("w3c vectors: %zu (traceparent %u accept, %u reject; tracestate %u accept, %u discard/reject; "
	       "%u keys by the current grammar, not level 1): %s\n",
	       json_array_size(vectors), tp_acc, tp_rej, ts_acc, ts_drop, level1,
	       failed ? "FAILURES" : "all honoured");
	json_decref(vectors);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
