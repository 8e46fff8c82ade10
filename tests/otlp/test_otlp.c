/*
 * test_otlp.c - the otlp library: the protobuf and JSON readers of OTLP
 * export requests (otlp_proto.c, otlp_json.c), the records they make
 * (otlp_build.c, formats/otlp.md) and the response bodies.
 *
 * DESIGN: protobuf requests are built here byte by byte by a small writer
 * (the wire format is simple enough that the writer is its own check),
 * the JSON ones are the examples of the opentelemetry-proto repository
 * (examples/ *.json) plus hand-written cases. Every line the decoder
 * writes is read back with jansson, an independent JSON reader, and its
 * members compared. Malformed input: each must be refused with its
 * reason, and leave the output as it was.
 */
#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otlp/otlp.h"

/* The examples of open-telemetry/opentelemetry-proto (examples/), as published. */
static const char EX_TRACE[] = "{\n"
			       " \"resourceSpans\": [\n"
			       "  {\n"
			       "   \"resource\": {\n"
			       "    \"attributes\": [\n"
			       "     {\n"
			       "      \"key\": \"service.name\",\n"
			       "      \"value\": {\n"
			       "       \"stringValue\": \"my.service\"\n"
			       "      }\n"
			       "     }\n"
			       "    ]\n"
			       "   },\n"
			       "   \"scopeSpans\": [\n"
			       "    {\n"
			       "     \"scope\": {\n"
			       "      \"name\": \"my.library\",\n"
			       "      \"version\": \"1.0.0\",\n"
			       "      \"attributes\": [\n"
			       "       {\n"
			       "        \"key\": \"my.scope.attribute\",\n"
			       "        \"value\": {\n"
			       "         \"stringValue\": \"some scope attribute\"\n"
			       "        }\n"
			       "       }\n"
			       "      ]\n"
			       "     },\n"
			       "     \"spans\": [\n"
			       "      {\n"
			       "       \"traceId\": \"5B8EFFF798038103D269B633813FC60C\",\n"
			       "       \"spanId\": \"EEE19B7EC3C1B174\",\n"
			       "       \"parentSpanId\": \"EEE19B7EC3C1B173\",\n"
			       "       \"name\": \"I'm a server span\",\n"
			       "       \"startTimeUnixNano\": 1544712660000000000,\n"
			       "       \"endTimeUnixNano\": 1544712661000000000,\n"
			       "       \"kind\": 2,\n"
			       "       \"attributes\": [\n"
			       "        {\n"
			       "         \"key\": \"my.span.attr\",\n"
			       "         \"value\": {\n"
			       "          \"stringValue\": \"some value\"\n"
			       "         }\n"
			       "        }\n"
			       "       ]\n"
			       "      }\n"
			       "     ]\n"
			       "    }\n"
			       "   ]\n"
			       "  }\n"
			       " ]\n"
			       "}\n";

static const char EX_LOGS[] = "{\n"
			      " \"resourceLogs\": [\n"
			      "  {\n"
			      "   \"resource\": {\n"
			      "    \"attributes\": [\n"
			      "     {\n"
			      "      \"key\": \"service.name\",\n"
			      "      \"value\": {\n"
			      "       \"stringValue\": \"my.service\"\n"
			      "      }\n"
			      "     }\n"
			      "    ]\n"
			      "   },\n"
			      "   \"scopeLogs\": [\n"
			      "    {\n"
			      "     \"scope\": {\n"
			      "      \"name\": \"my.library\",\n"
			      "      \"version\": \"1.0.0\",\n"
			      "      \"attributes\": [\n"
			      "       {\n"
			      "        \"key\": \"my.scope.attribute\",\n"
			      "        \"value\": {\n"
			      "         \"stringValue\": \"some scope attribute\"\n"
			      "        }\n"
			      "       }\n"
			      "      ]\n"
			      "     },\n"
			      "     \"logRecords\": [\n"
			      "      {\n"
			      "       \"timeUnixNano\": 1544712660300000000,\n"
			      "       \"observedTimeUnixNano\": 1544712660300000000,\n"
			      "       \"severityText\": \"Information\",\n"
			      "       \"traceId\": \"5B8EFFF798038103D269B633813FC60C\",\n"
			      "       \"spanId\": \"EEE19B7EC3C1B174\",\n"
			      "       \"body\": {\n"
			      "        \"stringValue\": \"Example log record\"\n"
			      "       },\n"
			      "       \"attributes\": [\n"
			      "        {\n"
			      "         \"key\": \"string.attribute\",\n"
			      "         \"value\": {\n"
			      "          \"stringValue\": \"some string\"\n"
			      "         }\n"
			      "        },\n"
			      "        {\n"
			      "         \"key\": \"boolean.attribute\",\n"
			      "         \"value\": {\n"
			      "          \"boolValue\": true\n"
			      "         }\n"
			      "        },\n"
			      "        {\n"
			      "         \"key\": \"int.attribute\",\n"
			      "         \"value\": {\n"
			      "          \"intValue\": 10\n"
			      "         }\n"
			      "        },\n"
			      "        {\n"
			      "         \"key\": \"double.attribute\",\n"
			      "         \"value\": {\n"
			      "          \"doubleValue\": 637.704\n"
			      "         }\n"
			      "        },\n"
			      "        {\n"
			      "         \"key\": \"array.attribute\",\n"
			      "         \"value\": {\n"
			      "          \"arrayValue\": {\n"
			      "           \"values\": [\n"
			      "            {\n"
			      "             \"stringValue\": \"many\"\n"
			      "            },\n"
			      "            {\n"
			      "             \"stringValue\": \"values\"\n"
			      "            }\n"
			      "           ]\n"
			      "          }\n"
			      "         }\n"
			      "        },\n"
			      "        {\n"
			      "         \"key\": \"map.attribute\",\n"
			      "         \"value\": {\n"
			      "          \"kvlistValue\": {\n"
			      "           \"values\": [\n"
			      "            {\n"
			      "             \"key\": \"some.map.key\",\n"
			      "             \"value\": {\n"
			      "              \"stringValue\": \"some value\"\n"
			      "             }\n"
			      "            }\n"
			      "           ]\n"
			      "          }\n"
			      "         }\n"
			      "        }\n"
			      "       ]\n"
			      "      }\n"
			      "     ]\n"
			      "    }\n"
			      "   ]\n"
			      "  }\n"
			      " ]\n"
			      "}\n";

static const char EX_METRICS[] = "{\n"
				 " \"resourceMetrics\": [\n"
				 "  {\n"
				 "   \"resource\": {\n"
				 "    \"attributes\": [\n"
				 "     {\n"
				 "      \"key\": \"service.name\",\n"
				 "      \"value\": {\n"
				 "       \"stringValue\": \"my.service\"\n"
				 "      }\n"
				 "     }\n"
				 "    ]\n"
				 "   },\n"
				 "   \"scopeMetrics\": [\n"
				 "    {\n"
				 "     \"scope\": {\n"
				 "      \"name\": \"my.library\",\n"
				 "      \"version\": \"1.0.0\",\n"
				 "      \"attributes\": [\n"
				 "       {\n"
				 "        \"key\": \"my.scope.attribute\",\n"
				 "        \"value\": {\n"
				 "         \"stringValue\": \"some scope attribute\"\n"
				 "        }\n"
				 "       }\n"
				 "      ]\n"
				 "     },\n"
				 "     \"metrics\": [\n"
				 "      {\n"
				 "       \"name\": \"my.counter\",\n"
				 "       \"unit\": \"1\",\n"
				 "       \"description\": \"I`m a Counter\",\n"
				 "       \"sum\": {\n"
				 "        \"aggregationTemporality\": 1,\n"
				 "        \"isMonotonic\": true,\n"
				 "        \"dataPoints\": [\n"
				 "         {\n"
				 "          \"asDouble\": 5,\n"
				 "          \"startTimeUnixNano\": 1544712660300000000,\n"
				 "          \"timeUnixNano\": 1544712660300000000,\n"
				 "          \"attributes\": [\n"
				 "           {\n"
				 "            \"key\": \"my.counter.attr\",\n"
				 "            \"value\": {\n"
				 "             \"stringValue\": \"some value\"\n"
				 "            }\n"
				 "           }\n"
				 "          ]\n"
				 "         }\n"
				 "        ]\n"
				 "       }\n"
				 "      },\n"
				 "      {\n"
				 "       \"name\": \"my.gauge\",\n"
				 "       \"unit\": \"1\",\n"
				 "       \"description\": \"I`m a Gauge\",\n"
				 "       \"gauge\": {\n"
				 "        \"dataPoints\": [\n"
				 "         {\n"
				 "          \"asDouble\": 10,\n"
				 "          \"timeUnixNano\": 1544712660300000000,\n"
				 "          \"attributes\": [\n"
				 "           {\n"
				 "            \"key\": \"my.gauge.attr\",\n"
				 "            \"value\": {\n"
				 "             \"stringValue\": \"some value\"\n"
				 "            }\n"
				 "           }\n"
				 "          ]\n"
				 "         }\n"
				 "        ]\n"
				 "       }\n"
				 "      },\n"
				 "      {\n"
				 "       \"name\": \"my.histogram\",\n"
				 "       \"unit\": \"1\",\n"
				 "       \"description\": \"I`m a Histogram\",\n"
				 "       \"histogram\": {\n"
				 "        \"aggregationTemporality\": 1,\n"
				 "        \"dataPoints\": [\n"
				 "         {\n"
				 "          \"startTimeUnixNano\": 1544712660300000000,\n"
				 "          \"timeUnixNano\": 1544712660300000000,\n"
				 "          \"count\": 3,\n"
				 "          \"sum\": 3,\n"
				 "          \"bucketCounts\": [\n"
				 "           1,\n"
				 "           1,\n"
				 "           1\n"
				 "          ],\n"
				 "          \"explicitBounds\": [\n"
				 "           1\n"
				 "          ],\n"
				 "          \"min\": 1,\n"
				 "          \"max\": 1,\n"
				 "          \"attributes\": [\n"
				 "           {\n"
				 "            \"key\": \"my.histogram.attr\",\n"
				 "            \"value\": {\n"
				 "             \"stringValue\": \"some value\"\n"
				 "            }\n"
				 "           }\n"
				 "          ]\n"
				 "         }\n"
				 "        ]\n"
				 "       }\n"
				 "      }\n"
				 "     ]\n"
				 "    }\n"
				 "   ]\n"
				 "  }\n"
				 " ]\n"
				 "}\n";

/* A protobuf writer: enough of the wire format to build requests. */
struct pbw {
	uint8_t b[8192];
	size_t n;
};

static void w_varint(struct pbw *w, uint64_t v)
{
	do {
		w->b[w->n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
}

static void w_tag(struct pbw *w, unsigned num, unsigned wt)
{
	w_varint(w, (uint64_t)num << 3 | wt);
}

static void w_bytes(struct pbw *w, unsigned num, const void *p, size_t n)
{
	w_tag(w, num, 2);
	w_varint(w, n);
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void w_str(struct pbw *w, unsigned num, const char *s)
{
	w_bytes(w, num, s, strlen(s));
}

static void w_msg(struct pbw *w, unsigned num, const struct pbw *sub)
{
	w_bytes(w, num, sub->b, sub->n);
}

static void w_fixed64(struct pbw *w, unsigned num, uint64_t v)
{
	w_tag(w, num, 1);
	for (int i = 0; i < 8; i++)
		w->b[w->n++] = (uint8_t)(v >> (8 * i));
}

static void w_double(struct pbw *w, unsigned num, double d)
{
	uint64_t v;

	memcpy(&v, &d, sizeof(v));
	w_fixed64(w, num, v);
}

static void w_uint(struct pbw *w, unsigned num, uint64_t v)
{
	w_tag(w, num, 0);
	w_varint(w, v);
}

/* A KeyValue with a string value. */
static void w_kv_str(struct pbw *w, unsigned num, const char *k, const char *v)
{
	struct pbw kv = {{0}, 0}, av = {{0}, 0};

	w_str(&av, 1, v);
	w_str(&kv, 1, k);
	w_msg(&kv, 2, &av);
	w_msg(w, num, &kv);
}

/* A KeyValue whose AnyValue is @av. */
static void w_kv(struct pbw *w, unsigned num, const char *k, const struct pbw *av)
{
	struct pbw kv = {{0}, 0};

	w_str(&kv, 1, k);
	w_msg(&kv, 2, av);
	w_msg(w, num, &kv);
}

static const uint8_t TRACE[16] = {0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03,
				  0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c};
static const uint8_t SPAN[8] = {0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74};
static const uint8_t PARENT[8] = {0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x73};

/* A request: resource (service.name = @svc) + one scope holding @items (field 2 of the scope). */
static void w_request(struct pbw *req, const char *svc, const struct pbw *items)
{
	struct pbw res = {{0}, 0}, scope = {{0}, 0}, rs = {{0}, 0}, sc = {{0}, 0};

	w_kv_str(&res, 1, "host.name", "h1");
	w_kv_str(&res, 1, "service.name", svc);
	w_str(&sc, 1, "lib"); /* InstrumentationScope.name */
	/* scope_spans first, resource after: the reader must not depend on the order */
	memcpy(scope.b, items->b, items->n);
	scope.n = items->n;
	w_msg(&scope, 1, &sc);
	w_msg(&rs, 2, &scope);
	w_msg(&rs, 1, &res);
	w_str(&rs, 3, "https://opentelemetry.io/schemas/1.21.0");
	req->n = 0;
	w_msg(req, 1, &rs);
}

/* Decoded lines, parsed. */
static json_t *lines[64];
static size_t nlines;
static struct otlp_out out;
static struct otlp_result res;

static void free_lines(void)
{
	for (size_t i = 0; i < nlines; i++)
		json_decref(lines[i]);
	nlines = 0;
}

static int decode(enum otlp_kind kind, enum otlp_encoding enc, const void *body, size_t len)
{
	size_t start;
	int rc;

	free_lines();
	out.len = 0;
	rc = otlp_decode(kind, enc, body, len, &out, &res);
	start = 0;
	for (size_t i = 0; i < out.len; i++) {
		json_error_t e;

		if (out.buf[i] != '\n')
			continue;
		ck_assert_uint_lt(nlines, 64);
		lines[nlines] = json_loadb(out.buf + start, i - start, 0, &e);
		ck_assert_msg(lines[nlines], "line %zu: %s: %.*s", nlines, e.text, (int)(i - start),
			      out.buf + start);
		nlines++;
		start = i + 1;
	}
	ck_assert_uint_eq(start, out.len); /* every line ends with \n */
	return rc;
}

static const char *s_of(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	ck_assert_msg(json_is_string(v), "%s is not a string", k);
	return json_string_value(v);
}

static json_int_t i_of(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	ck_assert_msg(json_is_integer(v), "%s is not an integer", k);
	return json_integer_value(v);
}

static void teardown(void)
{
	free_lines();
	otlp_out_free(&out);
}

START_TEST(proto_span)
{
	struct pbw sp = {{0}, 0}, items = {{0}, 0}, req, st = {{0}, 0}, ev = {{0}, 0}, av = {{0}, 0},
		   arr = {{0}, 0}, e1 = {{0}, 0}, e2 = {{0}, 0}, kvl = {{0}, 0};
	json_t *r, *e;

	/* attributes before the IDs, an unknown field (99) of every wire type */
	w_kv_str(&sp, 9, "http.request.method", "GET");
	w_kv_str(&sp, 9, "http.route", "/cart/{id}");
	w_kv_str(&sp, 9, "url.path", "/cart/42");
	av.n = 0;
	w_uint(&av, 3, (uint64_t)-7); /* int_value -7 */
	w_kv(&sp, 9, "retries", &av);
	av.n = 0;
	w_double(&av, 4, 0.25);
	w_kv(&sp, 9, "ratio", &av);
	av.n = 0;
	w_uint(&av, 2, 1);
	w_kv(&sp, 9, "cached", &av);
	w_str(&e1, 1, "a\"b");
	w_uint(&e2, 3, 5);
	w_msg(&arr, 1, &e1);
	w_msg(&arr, 1, &e2);
	av.n = 0;
	w_msg(&av, 5, &arr);
	w_kv(&sp, 9, "list", &av);
	w_kv_str(&kvl, 1, "k", "v");
	av.n = 0;
	w_msg(&av, 6, &kvl);
	w_kv(&sp, 9, "map", &av);
	av.n = 0;
	w_bytes(&av, 7, "\x01\x02\x03\x04", 4);
	w_kv(&sp, 9, "raw", &av);
	w_uint(&sp, 99, 12345);
	w_fixed64(&sp, 98, 1);
	w_str(&sp, 97, "skip me");
	w_tag(&sp, 96, 5);
	memcpy(sp.b + sp.n, "\0\0\0\0", 4);
	sp.n += 4;
	w_bytes(&sp, 1, TRACE, 16);
	w_bytes(&sp, 2, SPAN, 8);
	w_bytes(&sp, 4, PARENT, 8);
	w_str(&sp, 5, "GET /cart");
	w_uint(&sp, 6, 2);
	w_fixed64(&sp, 7, UINT64_C(1544712660000000000));
	w_fixed64(&sp, 8, UINT64_C(1544712660123456789));
	w_str(&st, 2, "boom");
	w_uint(&st, 3, 2);
	w_msg(&sp, 15, &st);
	w_fixed64(&ev, 1, UINT64_C(1544712660100000000));
	w_str(&ev, 2, "exception");
	w_kv_str(&ev, 3, "exception.message", "out of stock");
	w_msg(&sp, 11, &ev);
	w_msg(&items, 2, &sp);
	w_request(&req, "cart", &items);

	ck_assert_int_eq(decode(OTLP_TRACES, OTLP_PROTO, req.b, req.n), 0);
	ck_assert_uint_eq(res.items, 1);
	ck_assert_uint_eq(res.records, 2);
	ck_assert_uint_eq(res.rejected, 0);
	ck_assert_uint_eq(nlines, 2);
	r = lines[0];
	ck_assert_str_eq(s_of(r, "event"), "span");
	ck_assert_str_eq(s_of(r, "service"), "cart");
	ck_assert_str_eq(s_of(r, "trace"), "5b8efff798038103d269b633813fc60c");
	ck_assert_str_eq(s_of(r, "span"), "eee19b7ec3c1b174");
	ck_assert_str_eq(s_of(r, "parent"), "eee19b7ec3c1b173");
	ck_assert_str_eq(s_of(r, "name"), "GET /cart");
	ck_assert_int_eq(i_of(r, "dur_us"), 123456);
	ck_assert_str_eq(s_of(r, "status"), "error");
	ck_assert_str_eq(s_of(r, "status_message"), "boom");
	ck_assert_str_eq(s_of(r, "kind"), "server");
	ck_assert_str_eq(s_of(r, "level"), "ERROR");
	ck_assert_str_eq(s_of(r, "timestamp"), "2018-12-13T14:51:00Z");
	ck_assert_str_eq(s_of(r, "method"), "GET");
	ck_assert_str_eq(s_of(r, "path"), "/cart/42"); /* url.path before http.route */
	ck_assert_str_eq(s_of(r, "http.route"), "/cart/{id}");
	ck_assert_int_eq(i_of(r, "retries"), -7);
	ck_assert(json_real_value(json_object_get(r, "ratio")) == 0.25);
	ck_assert(json_is_true(json_object_get(r, "cached")));
	e = json_object_get(r, "list");
	ck_assert(json_is_array(e) && json_array_size(e) == 2);
	ck_assert_str_eq(json_string_value(json_array_get(e, 0)), "a\"b");
	ck_assert_int_eq(json_integer_value(json_array_get(e, 1)), 5);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "map"), "k")), "v");
	ck_assert_str_eq(s_of(r, "raw"), "AQIDBA==");
	e = lines[1];
	ck_assert(json_object_get(e, "event") == NULL);
	ck_assert_str_eq(s_of(e, "message"), "exception");
	ck_assert_str_eq(s_of(e, "level"), "ERROR");
	ck_assert_str_eq(s_of(e, "span"), "eee19b7ec3c1b174");
	ck_assert_str_eq(s_of(e, "trace"), "5b8efff798038103d269b633813fc60c");
	ck_assert_str_eq(s_of(e, "exception.message"), "out of stock");
	ck_assert_str_eq(s_of(e, "timestamp"), "2018-12-13T14:51:00.100Z");
}
END_TEST

START_TEST(proto_span_rejected)
{
	struct pbw sp = {{0}, 0}, ok = {{0}, 0}, items = {{0}, 0}, req;
	char body[512];
	size_t n;

	w_str(&sp, 5, "no ids"); /* no trace_id / span_id */
	w_msg(&items, 2, &sp);
	w_bytes(&ok, 1, TRACE, 16);
	w_bytes(&ok, 2, SPAN, 8);
	w_msg(&items, 2, &ok);
	w_request(&req, "svc", &items);
	ck_assert_int_eq(decode(OTLP_TRACES, OTLP_PROTO, req.b, req.n), 0);
	ck_assert_uint_eq(res.items, 2);
	ck_assert_uint_eq(res.rejected, 1);
	ck_assert_uint_eq(nlines, 1);
	ck_assert_ptr_nonnull(res.why);
	/* the partial_success: field 1 { 1: 1, 2: why } */
	n = otlp_response(OTLP_TRACES, OTLP_PROTO, res.rejected, res.why, body, sizeof(body));
	ck_assert_uint_eq((uint8_t)body[0], 0x0a);
	ck_assert_uint_eq((uint8_t)body[1], n - 2);
	ck_assert_uint_eq((uint8_t)body[2], 0x08);
	ck_assert_uint_eq((uint8_t)body[3], 1);
	ck_assert_uint_eq((uint8_t)body[4], 0x12);
	ck_assert_uint_eq((uint8_t)body[5], strlen(res.why));
	ck_assert(memcmp(body + 6, res.why, strlen(res.why)) == 0);
	n = otlp_response(OTLP_LOGS, OTLP_JSON, 3, "a \"b\"", body, sizeof(body));
	ck_assert_str_eq(
		body, "{\"partialSuccess\":{\"rejectedLogRecords\":\"3\",\"errorMessage\":\"a \\\"b\\\"\"}}");
	ck_assert_uint_eq(n, strlen(body));
	ck_assert_uint_eq(otlp_response(OTLP_TRACES, OTLP_PROTO, 0, NULL, body, sizeof(body)), 0);
	ck_assert_uint_eq(otlp_response(OTLP_METRICS, OTLP_JSON, 0, NULL, body, sizeof(body)), 2);
}
END_TEST

START_TEST(proto_logs)
{
	struct pbw lr = {{0}, 0}, lr2 = {{0}, 0}, items = {{0}, 0}, req, body = {{0}, 0}, kvl = {{0}, 0};
	json_t *r;

	w_fixed64(&lr, 1, UINT64_C(1544712660300000000));
	w_uint(&lr, 2, 17);
	w_str(&lr, 3, "Error");
	w_str(&body, 1, "payment failed\nline 2");
	w_msg(&lr, 5, &body);
	w_kv_str(&lr, 6, "user", "u1");
	w_bytes(&lr, 9, TRACE, 16);
	w_bytes(&lr, 10, SPAN, 8);
	w_msg(&items, 2, &lr);
	/* a map body, no ids, only the observed time, severity by text */
	w_fixed64(&lr2, 11, UINT64_C(1544712661000000000));
	w_str(&lr2, 3, "warning");
	w_kv_str(&kvl, 1, "order", "o-9");
	body.n = 0;
	w_msg(&body, 6, &kvl);
	w_msg(&lr2, 5, &body);
	w_msg(&items, 2, &lr2);
	w_request(&req, "billing", &items);

	ck_assert_int_eq(decode(OTLP_LOGS, OTLP_PROTO, req.b, req.n), 0);
	ck_assert_uint_eq(res.items, 2);
	ck_assert_uint_eq(nlines, 2);
	r = lines[0];
	ck_assert_str_eq(s_of(r, "level"), "ERROR"); /* a level clew knows is written by its name */
	ck_assert_str_eq(s_of(r, "message"), "payment failed\nline 2");
	ck_assert_str_eq(s_of(r, "service"), "billing");
	ck_assert_str_eq(s_of(r, "trace"), "5b8efff798038103d269b633813fc60c");
	ck_assert_str_eq(s_of(r, "span"), "eee19b7ec3c1b174");
	ck_assert(json_object_get(r, "parent") == NULL);
	ck_assert_str_eq(s_of(r, "user"), "u1");
	r = lines[1];
	ck_assert_str_eq(s_of(r, "order"), "o-9");
	ck_assert_str_eq(s_of(r, "timestamp"), "2018-12-13T14:51:01Z");
	ck_assert(json_object_get(r, "trace") == NULL);
	ck_assert(json_object_get(r, "message") == NULL);
}
END_TEST

START_TEST(proto_metrics)
{
	struct pbw m = {{0}, 0}, sum = {{0}, 0}, dp = {{0}, 0}, items = {{0}, 0}, req, h = {{0}, 0},
		   hdp = {{0}, 0}, packed = {{0}, 0};
	json_t *r;

	w_fixed64(&dp, 3, UINT64_C(1544712660300000000));
	w_fixed64(&dp, 6, 42); /* as_int */
	w_kv_str(&dp, 7, "route", "/a");
	w_msg(&sum, 1, &dp);
	w_uint(&sum, 3, 1);
	w_str(&m, 1, "requests");
	w_msg(&m, 7, &sum);
	w_msg(&items, 2, &m);
	m.n = 0;
	w_str(&m, 1, "latency");
	w_fixed64(&hdp, 4, 3);
	w_double(&hdp, 5, 1.5);
	for (int i = 0; i < 3; i++) /* bucket_counts 1, 0, 2 packed */
		for (int k = 0; k < 8; k++)
			packed.b[packed.n++] = (uint8_t)(k == 0 ? (i == 0 ? 1 : i == 1 ? 0 : 2) : 0);
	w_bytes(&hdp, 6, packed.b, packed.n);
	w_double(&hdp, 7, 0.1); /* explicit_bounds, not packed */
	w_double(&hdp, 7, 1);
	w_msg(&h, 1, &hdp);
	w_msg(&m, 9, &h);
	w_msg(&items, 2, &m);
	w_request(&req, "api", &items);

	ck_assert_int_eq(decode(OTLP_METRICS, OTLP_PROTO, req.b, req.n), 0);
	ck_assert_uint_eq(nlines, 2);
	r = lines[0];
	ck_assert_str_eq(s_of(r, "event"), "metric");
	ck_assert_str_eq(s_of(r, "metric"), "requests");
	ck_assert_str_eq(s_of(r, "type"), "counter");
	ck_assert_int_eq(i_of(r, "value"), 42);
	ck_assert_str_eq(s_of(r, "route"), "/a");
	r = lines[1];
	ck_assert_str_eq(s_of(r, "type"), "histogram");
	ck_assert_int_eq(i_of(r, "count"), 3);
	ck_assert(json_real_value(json_object_get(r, "sum")) == 1.5);
	ck_assert_int_eq(i_of(r, "le_0.1"), 1);
	ck_assert_int_eq(i_of(r, "le_1"), 1);
	ck_assert_int_eq(i_of(r, "le_+Inf"), 3);
}
END_TEST

/* Undecodable bodies: refused with a reason, the output untouched. */
START_TEST(proto_malformed)
{
	static const struct {
		const char *b;
		size_t n;
		const char *why;
	} cases[] = {
		{"\x0a", 1, "truncated varint"},
		{"\x0a\x05\x01", 3, "length past the end of its message"},
		{"\x0b", 1, "unsupported wire type (group)"},
		{"\x0a\x02\x12\x05", 4, "length past the end of its message"},
		{"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 11, "varint too long"},
		{"\x0a\x02\x10\x01", 4,
		 "a known field has the wrong wire type"}, /* scope_spans as a varint */
		{"\x00", 1, "invalid field number"},
		{"\x09\x01\x02", 3, "truncated fixed-width field"},
	};
	struct pbw av = {{0}, 0}, tmp, sp = {{0}, 0}, items = {{0}, 0}, req;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		out.len = 0;
		ck_assert_int_lt(otlp_decode(OTLP_TRACES, OTLP_PROTO, cases[i].b, cases[i].n, &out, &res), 0);
		ck_assert_msg(res.why && strcmp(res.why, cases[i].why) == 0, "case %zu: %s", i, res.why);
		ck_assert_uint_eq(out.len, 0);
	}
	/* an AnyValue nested past OTLP_DEPTH_MAX */
	w_str(&av, 1, "x");
	for (int d = 0; d < OTLP_DEPTH_MAX + 2; d++) {
		struct pbw arr = {{0}, 0};

		w_msg(&arr, 1, &av);
		tmp.n = 0;
		w_msg(&tmp, 5, &arr);
		av = tmp;
	}
	w_bytes(&sp, 1, TRACE, 16);
	w_bytes(&sp, 2, SPAN, 8);
	w_kv(&sp, 9, "deep", &av);
	w_msg(&items, 2, &sp);
	w_request(&req, "svc", &items);
	out.len = 0;
	ck_assert_int_eq(otlp_decode(OTLP_TRACES, OTLP_PROTO, req.b, req.n, &out, &res), -FMT_EDEPTH);
	ck_assert_str_eq(res.why, "values nested too deep");
	ck_assert_uint_eq(out.len, 0);
	/* an empty request is a valid one, with nothing in it */
	ck_assert_int_eq(otlp_decode(OTLP_LOGS, OTLP_PROTO, "", 0, &out, &res), 0);
	ck_assert_uint_eq(res.items, 0);
}
END_TEST

START_TEST(json_examples)
{
	json_t *r, *a;

	ck_assert_int_eq(decode(OTLP_TRACES, OTLP_JSON, EX_TRACE, strlen(EX_TRACE)), 0);
	ck_assert_uint_eq(nlines, 1);
	r = lines[0];
	ck_assert_str_eq(s_of(r, "service"), "my.service");
	ck_assert_str_eq(s_of(r, "trace"), "5b8efff798038103d269b633813fc60c");
	ck_assert_str_eq(s_of(r, "span"), "eee19b7ec3c1b174");
	ck_assert_str_eq(s_of(r, "parent"), "eee19b7ec3c1b173");
	ck_assert_str_eq(s_of(r, "name"), "I'm a server span");
	ck_assert_int_eq(i_of(r, "dur_us"), 1000000);
	ck_assert_str_eq(s_of(r, "kind"), "server");
	ck_assert_str_eq(s_of(r, "status"), "unset");
	ck_assert_str_eq(s_of(r, "my.span.attr"), "some value");

	ck_assert_int_eq(decode(OTLP_LOGS, OTLP_JSON, EX_LOGS, strlen(EX_LOGS)), 0);
	ck_assert_uint_eq(nlines, 1);
	r = lines[0];
	ck_assert_str_eq(s_of(r, "message"), "Example log record");
	ck_assert_str_eq(s_of(r, "level"), "INFO"); /* severityText "Information" alone: a known word */
	ck_assert_str_eq(s_of(r, "timestamp"), "2018-12-13T14:51:00.300Z");
	ck_assert_str_eq(s_of(r, "trace"), "5b8efff798038103d269b633813fc60c");
	ck_assert(json_is_true(json_object_get(r, "boolean.attribute")));
	ck_assert_int_eq(i_of(r, "int.attribute"), 10);
	ck_assert(json_real_value(json_object_get(r, "double.attribute")) == 637.704);
	a = json_object_get(r, "array.attribute");
	ck_assert(json_is_array(a) && json_array_size(a) == 2);
	ck_assert_str_eq(json_string_value(json_array_get(a, 1)), "values");
	ck_assert_str_eq(
		json_string_value(json_object_get(json_object_get(r, "map.attribute"), "some.map.key")),
		"some value");

	ck_assert_int_eq(decode(OTLP_METRICS, OTLP_JSON, EX_METRICS, strlen(EX_METRICS)), 0);
	ck_assert_uint_eq(nlines, 3);
	ck_assert_str_eq(s_of(lines[0], "type"), "counter");
	ck_assert_int_eq(i_of(lines[0], "value"), 5);
	ck_assert_str_eq(s_of(lines[0], "my.counter.attr"), "some value");
	ck_assert_str_eq(s_of(lines[1], "type"), "gauge");
	ck_assert_str_eq(s_of(lines[2], "type"), "histogram");
	ck_assert_int_eq(i_of(lines[2], "le_1"), 1);
	ck_assert_int_eq(i_of(lines[2], "le_+Inf"), 3);
	ck_assert_int_eq(i_of(lines[2], "count"), 3);
}
END_TEST

/* What senders do beyond the examples: IDs in base64, 64-bit strings, enum names, escapes. */
START_TEST(json_variants)
{
	static const char body[] =
		"{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.n\\u0061me\",\"value\":"
		"{\"stringValue\":\"s\\u00e9rvice\"}}]},\"scopeSpans\":[{\"spans\":["
		"{\"traceId\":\"W47/95gDgQPSabYzgT/GDA==\",\"spanId\":\"7uGbfsPBsXQ=\",\"parentSpanId\":\"\","
		"\"name\":\"a\",\"kind\":\"SPAN_KIND_CLIENT\",\"startTimeUnixNano\":\"1544712660000000000\","
		"\"endTimeUnixNano\":\"1544712660000002000\",\"status\":{\"code\":\"STATUS_CODE_OK\"},"
		"\"attributes\":[{\"key\":\"n\",\"value\":{\"intValue\":\"-12\"}},{\"key\":\"d\",\"value\":"
		"{\"doubleValue\":\"NaN\"}},{\"key\":\"e\",\"value\":{}}],\"unknownMember\":[1,{\"x\":[]}],"
		"\"events\":[{\"timeUnixNano\":\"1544712660000001000\",\"name\":\"retry\",\"attributes\":[]}]},"
		"{\"traceId\":\"zz\",\"spanId\":\"EEE19B7EC3C1B174\"}]}]}]}";
	json_t *r;

	ck_assert_int_eq(decode(OTLP_TRACES, OTLP_JSON, body, strlen(body)), 0);
	ck_assert_uint_eq(res.items, 2);
	ck_assert_uint_eq(res.rejected, 1); /* "zz" is no ID */
	ck_assert_uint_eq(nlines, 2);
	r = lines[0];
	ck_assert_str_eq(s_of(r, "service"), "s\xc3\xa9rvice");
	ck_assert_str_eq(s_of(r, "trace"), "5b8efff798038103d269b633813fc60c");
	ck_assert_str_eq(s_of(r, "span"), "eee19b7ec3c1b174");
	ck_assert(json_object_get(r, "parent") == NULL);
	ck_assert_str_eq(s_of(r, "kind"), "client");
	ck_assert_str_eq(s_of(r, "status"), "ok");
	ck_assert_int_eq(i_of(r, "dur_us"), 2);
	ck_assert_int_eq(i_of(r, "n"), -12);
	ck_assert_str_eq(s_of(r, "d"), "NaN");
	ck_assert(json_is_null(json_object_get(r, "e")));
	ck_assert_str_eq(s_of(lines[1], "message"), "retry");
}
END_TEST

START_TEST(json_malformed)
{
	static const char *const bad[] = {
		"", "[]", "{\"resourceSpans\":[", "{\"a\":1,}", "{\"a\":\"\xff\"}", "{} x"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out.len = 0;
		ck_assert_int_lt(otlp_decode(OTLP_TRACES, OTLP_JSON, bad[i], strlen(bad[i]), &out, &res), 0);
		ck_assert_ptr_nonnull(res.why);
		ck_assert_uint_eq(out.len, 0);
	}
	/* members of another type than the mapping's are ignored */
	ck_assert_int_eq(otlp_decode(OTLP_TRACES, OTLP_JSON, "{\"resourceSpans\":5}", 19, &out, &res), 0);
	ck_assert_int_eq(otlp_decode(OTLP_TRACES, OTLP_JSON,
				     "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[7]}]}]}", 50, &out,
				     &res),
			 0);
	ck_assert_uint_eq(res.rejected, 1);
}
END_TEST

START_TEST(line_kind)
{
	enum otlp_kind k;

	ck_assert(otlp_json_line_kind("{\"resourceSpans\":[]}", 20, &k) && k == OTLP_TRACES);
	ck_assert(otlp_json_line_kind(" { \"resourceLogs\":[]}", 21, &k) && k == OTLP_LOGS);
	ck_assert(otlp_json_line_kind("{\"resourceMetrics\":[]}", 22, &k) && k == OTLP_METRICS);
	ck_assert(!otlp_json_line_kind("{\"resourceSpansX\":[]}", 21, &k));
	ck_assert(!otlp_json_line_kind("{\"message\":\"resourceSpans\"}", 27, &k));
	ck_assert(!otlp_json_line_kind("{\"resourceSpans", 15, &k));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("otlp");
	TCase *tc = tcase_create("decode");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, proto_span);
	tcase_add_test(tc, proto_span_rejected);
	tcase_add_test(tc, proto_logs);
	tcase_add_test(tc, proto_metrics);
	tcase_add_test(tc, proto_malformed);
	tcase_add_test(tc, json_examples);
	tcase_add_test(tc, json_variants);
	tcase_add_test(tc, json_malformed);
	tcase_add_test(tc, line_kind);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
