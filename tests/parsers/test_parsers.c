/*
 * test_parsers.c - the parsers library's container envelopes (CRI,
 * Docker json-file), the Kubernetes metadata of a container log's path,
 * and the built-in named parsers, unit by unit.
 *
 * The CRI lines are the examples of the CRI logging design
 * (kubernetes/cri-api, "CRI: Log management for container stdout/stderr
 * streams"); the json-file lines are the ones Docker's json-file driver
 * writes ({"log":...,"stream":...,"time":...}). Every expected timestamp
 * was computed outside this code (Python's calendar.timegm) and is a
 * constant here. A partial line is split at every byte position and must
 * join back to the whole.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/record.h"
#include "fmt/str.h"
#include <parsers/builtin.h>
#include <parsers/envelope.h>
#include <parsers/regex.h>

#define NS 1000000000LL

static struct fmt_record rec; /* large: not on the stack */

static void ck_text(const struct parse_env_line *l, const char *want)
{
	ck_assert_msg(l->len == strlen(want) && memcmp(l->text, want, l->len) == 0, "text '%.*s', want '%s'",
		      (int)l->len, l->text, want);
}

START_TEST(cri_spec_examples)
{
	static const char *const lines[] = {
		"2016-10-06T00:17:09.669794202Z stdout F The content of the log entry 1",
		"2016-10-06T00:17:09.669794202Z stdout P First line of log entry 2",
		"2016-10-06T00:17:09.669794202Z stdout P Second line of the log entry 2",
		"2016-10-06T00:17:10.113242941Z stderr F Last line of the log entry 2",
	};
	struct parse_env_line l;

	ck_assert_int_eq(parse_cri(lines[0], strlen(lines[0]), &l), 0);
	ck_text(&l, "The content of the log entry 1");
	ck_assert(l.has_ts && l.ts_ns == 1475713029 * NS + 669794202);
	ck_assert(!l.partial);
	ck_assert_int_eq(l.stream, PARSE_ENV_STREAM_STDOUT);
	ck_assert_int_eq(parse_cri(lines[1], strlen(lines[1]), &l), 0);
	ck_assert(l.partial);
	ck_text(&l, "First line of log entry 2");
	ck_assert_int_eq(parse_cri(lines[3], strlen(lines[3]), &l), 0);
	ck_assert(!l.partial && l.stream == PARSE_ENV_STREAM_STDERR);
	ck_assert(l.ts_ns == 1475713030 * NS + 113242941);
	for (unsigned i = 0; i < 4; i++)
		ck_assert_int_eq(parse_env_detect(lines[i], strlen(lines[i])), PARSE_ENV_CRI);
}
END_TEST

START_TEST(cri_edges)
{
	struct parse_env_line l;
	const char *s;

	/* an empty line: "F" and a space, or "F" alone */
	s = "2016-10-06T00:17:09Z stdout F ";
	ck_assert_int_eq(parse_cri(s, strlen(s), &l), 0);
	ck_assert_uint_eq(l.len, 0);
	s = "2016-10-06T00:17:09Z stdout F";
	ck_assert_int_eq(parse_cri(s, strlen(s), &l), 0);
	ck_assert_uint_eq(l.len, 0);
	/* further tags after ':' */
	s = "2016-10-06T00:17:09+02:00 stderr P:x text";
	ck_assert_int_eq(parse_cri(s, strlen(s), &l), 0);
	ck_assert(l.partial);
	ck_text(&l, "text");
	ck_assert(l.ts_ns == (1475713029 - 7200) * NS);
	/* the text keeps its spaces and a '\r' */
	s = "2016-10-06T00:17:09Z stdout F  two  spaces\r";
	ck_assert_int_eq(parse_cri(s, strlen(s), &l), 0);
	ck_text(&l, " two  spaces\r");
	/* not CRI */
	static const char *const bad[] = {
		"",
		"2016-10-06T00:17:09Z",
		"2016-10-06T00:17:09Z stdout",
		"2016-10-06T00:17:09Z stdin F x",
		"2016-10-06T00:17:09Z stdout X x",
		"2016-10-06T00:17:09Z stdout FF x",
		"yesterday stdout F x",
		"2016-10-06T00:17:09Z|INFO|t1|svc|x",
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse_cri(bad[i], strlen(bad[i]), &l) == -1, "'%s' taken", bad[i]);
		ck_assert_int_eq(parse_env_detect(bad[i], strlen(bad[i])), PARSE_ENV_NONE);
	}
}
END_TEST

/* A text cut at every byte position into a P and an F line decodes back to the whole. */
START_TEST(cri_split_everywhere)
{
	const char *text = "{\"msg\":\"caf\xc3\xa9 \\\"quoted\\\" | pipe\",\"trace\":\"t-1\"}";
	size_t n = strlen(text);
	char a[256], b[256], joined[256];

	for (size_t k = 0; k <= n; k++) {
		struct parse_env_line l1, l2;
		int la = snprintf(a, sizeof(a), "2016-10-06T00:17:09.1Z stdout P %.*s", (int)k, text);
		int lb = snprintf(b, sizeof(b), "2016-10-06T00:17:09.2Z stdout F %s", text + k);

		ck_assert_int_eq(parse_cri(a, (size_t)la, &l1), 0);
		ck_assert_int_eq(parse_cri(b, (size_t)lb, &l2), 0);
		ck_assert(l1.partial && !l2.partial);
		memcpy(joined, l1.text, l1.len);
		memcpy(joined + l1.len, l2.text, l2.len);
		ck_assert_msg(l1.len + l2.len == n && memcmp(joined, text, n) == 0, "split at %zu", k);
	}
}
END_TEST

START_TEST(docker_lines)
{
	const char *s =
		"{\"log\":\"Log line is here\\n\",\"stream\":\"stdout\",\"time\":\"2019-01-01T11:11:11.111111111Z\"}";
	char buf[512];
	struct parse_env_line l;

	ck_assert_int_eq(parse_docker(s, strlen(s), buf, &l), 0);
	ck_text(&l, "Log line is here");
	ck_assert(!l.partial && l.stream == PARSE_ENV_STREAM_STDOUT);
	ck_assert(l.has_ts && l.ts_ns == 1546341071 * NS + 111111111);
	ck_assert_int_eq(parse_env_detect(s, strlen(s)), PARSE_ENV_DOCKER);
	/* escapes undone, a partial line (no "\n"), members in another order, attrs skipped */
	s = "{\"attrs\":{\"tag\":\"a}\\\"b\"},\"time\":\"2019-01-01T11:11:11Z\",\"stream\":\"stderr\","
	    "\"log\":\"tab\\there \\u00e9 \\\"q\\\"\"}";
	ck_assert_int_eq(parse_docker(s, strlen(s), buf, &l), 0);
	ck_text(&l, "tab\there \xc3\xa9 \"q\"");
	ck_assert(l.partial && l.stream == PARSE_ENV_STREAM_STDERR);
	ck_assert(l.ts_ns == 1546341071 * NS);
	/* an empty line */
	s = "{\"log\":\"\\n\",\"stream\":\"stdout\",\"time\":\"2019-01-01T11:11:11Z\"}";
	ck_assert_int_eq(parse_docker(s, strlen(s), buf, &l), 0);
	ck_assert(l.len == 0 && !l.partial);
	/* not json-file */
	static const char *const bad[] = {
		"",
		"{}",
		"{\"log\":1}",
		"{\"log\":\"x\"",
		"[\"log\"]",
		"{\"msg\":\"x\\n\"}",
		"not json",
		"{\"log\":\"x\\n\",}",
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse_docker(bad[i], strlen(bad[i]), buf, &l) == -1, "'%s' taken", bad[i]);
	/* a clew JSON record is not an envelope */
	s = "{\"ts\":\"2019-01-01T11:11:11Z\",\"trace\":\"t\",\"log\":\"x\"}";
	ck_assert_int_eq(parse_env_detect(s, strlen(s)), PARSE_ENV_NONE);
}
END_TEST

/* Docker splits the raw text at 16 KiB: a "log" value cut at every position (never inside an escape) joins back. */
START_TEST(docker_split_everywhere)
{
	const char *text = "2019-01-01T11:11:11Z INFO t1:s1|svc|GET|/x|msg=caf\xc3\xa9 \"q\" \\ end";
	size_t n = strlen(text);
	char a[512], b[512], ea[256], eb[256], joined[256], buf[512];

	for (size_t k = 0; k <= n; k++) {
		struct parse_env_line l1, l2;
		struct fmt_str va = {text, (uint32_t)k, FMT_ENC_RAW},
			       vb = {text + k, (uint32_t)(n - k), FMT_ENC_RAW};
		size_t pa = 0, pb = 0, jl;
		int la, lb;

		ck_assert_int_eq(fmt_json_escape(&va, ea, sizeof(ea), &pa), 0);
		ck_assert_int_eq(fmt_json_escape(&vb, eb, sizeof(eb), &pb), 0);
		la = snprintf(a, sizeof(a),
			      "{\"log\":\"%.*s\",\"stream\":\"stdout\",\"time\":\"2019-01-01T11:11:11Z\"}",
			      (int)pa, ea);
		lb = snprintf(b, sizeof(b),
			      "{\"log\":\"%.*s\\n\",\"stream\":\"stdout\",\"time\":\"2019-01-01T11:11:11Z\"}",
			      (int)pb, eb);
		if (k > 0 && k < n && ((unsigned char)text[k] & 0xC0) == 0x80)
			continue; /* Docker cuts bytes, but a JSON string holds whole characters */
		ck_assert_int_eq(parse_docker(a, (size_t)la, buf, &l1), 0);
		ck_assert(l1.partial || k == 0);
		memcpy(joined, l1.text, l1.len);
		jl = l1.len;
		ck_assert_int_eq(parse_docker(b, (size_t)lb, buf, &l2), 0);
		ck_assert(!l2.partial);
		memcpy(joined + jl, l2.text, l2.len);
		jl += l2.len;
		ck_assert_msg(jl == n && memcmp(joined, text, n) == 0, "split at %zu", k);
	}
}
END_TEST

START_TEST(names)
{
	const char *rest;

	ck_assert_int_eq(parse_env_by_name("cri", &rest), PARSE_ENV_CRI);
	ck_assert_str_eq(rest, "");
	ck_assert_int_eq(parse_env_by_name("docker+json", &rest), PARSE_ENV_DOCKER);
	ck_assert_str_eq(rest, "json");
	ck_assert_int_eq(parse_env_by_name("cri+nginx", &rest), PARSE_ENV_CRI);
	ck_assert_str_eq(rest, "nginx");
	ck_assert_int_eq(parse_env_by_name("criminal", &rest), PARSE_ENV_NONE);
	ck_assert_int_eq(parse_env_by_name("json", NULL), PARSE_ENV_NONE);
}
END_TEST

static void ck_k8s(const char *path, const char *pod, const char *ns, const char *container)
{
	struct parse_k8s k;

	ck_assert_msg(parse_k8s_path(path, &k), "%s", path);
	ck_assert(k.pod_len == strlen(pod) && memcmp(k.pod, pod, k.pod_len) == 0);
	ck_assert(k.ns_len == strlen(ns) && memcmp(k.ns, ns, k.ns_len) == 0);
	ck_assert_msg(k.container_len == strlen(container) &&
			      memcmp(k.container, container, k.container_len) == 0,
		      "container '%.*s'", (int)k.container_len, k.container);
}

START_TEST(k8s_paths)
{
	const char *id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char p[512];
	struct parse_k8s k;

	snprintf(p, sizeof(p), "/var/log/containers/web-7d9f8-x2x_shop_nginx-proxy-%s.log", id);
	ck_k8s(p, "web-7d9f8-x2x", "shop", "nginx-proxy");
	ck_k8s("/var/log/pods/kube-system_coredns-5d78c9869d-abcde_7f1e0c2a-1b2c-4d5e-8f90-123456789abc/coredns/0.log",
	       "coredns-5d78c9869d-abcde", "kube-system", "coredns");
	ck_k8s("/tmp/x/pods/ns_pod_uid/c/12.log", "pod", "ns", "c");
	ck_assert(!parse_k8s_path("/var/log/syslog", &k));
	ck_assert(!parse_k8s_path("/var/log/containers/nounderscore.log", &k));
	snprintf(p, sizeof(p), "/var/log/containers/pod_ns_c-%.63s.log", id); /* a short ID */
	ck_assert(!parse_k8s_path(p, &k));
	snprintf(p, sizeof(p), "/var/log/other/pod_ns_c-%s.log", id);
	ck_assert(!parse_k8s_path(p, &k));
	ck_assert(!parse_k8s_path("/var/log/pods/ns_pod_uid/c/x.log", &k));
	ck_assert(!parse_k8s_path("/var/log/pods/nsonly/c/0.log", &k));
}
END_TEST

static struct parse_regex *builtin(const char *name)
{
	const struct parse_builtin *b = parse_builtin_find(name);
	struct parse_regex *rx = NULL;
	struct cd_err err = {0, 0, ""};

	ck_assert_msg(b != NULL, "%s", name);
	ck_assert_msg(parse_regex_new(&rx, b->regex, b->time_format, 0, &err) == 0, "%s: %s", name, err.msg);
	return rx;
}

static void ck_view(const struct fmt_str *v, const char *want)
{
	ck_assert_msg(v->ptr && v->len == strlen(want) && memcmp(v->ptr, want, v->len) == 0,
		      "got '%.*s', want '%s'", (int)v->len, v->ptr ? v->ptr : "", want);
}

/* One line of each layout, as its program's documentation shows it. */
START_TEST(builtin_layouts)
{
	struct {
		const char *name, *line, *trace, *span;
		int64_t ts;
	} cases[] = {
		{"nginx",
		 "127.0.0.1 - - [06/Dec/2026:04:30:00 +0000] \"GET /api/orders?id=1 HTTP/1.1\" 200 612 \"-\" "
		 "\"curl/7.88.1\" 7f3a9c1e55d04b2a8e1f0c2d3b4a5968",
		 "7f3a9c1e55d04b2a8e1f0c2d3b4a5968", NULL, 1796531400 * NS},
		{"apache",
		 "192.168.1.20 - frank [06/Dec/2026:06:30:00 +0200] \"POST /cgi-bin/x HTTP/1.0\" 302 - "
		 "\"http://example.com/\" \"Mozilla/5.0\" ZZx9Kn8AAQEAAB2kL0YAAAAB",
		 "ZZx9Kn8AAQEAAB2kL0YAAAAB", NULL, 1796531400 * NS},
		{"openstack",
		 "2026-12-06 04:30:00.123 4242 INFO nova.api.openstack.requestlog "
		 "[req-0e8a7a77-3c0f-4c0b-9b6f-5b8e3b1e2a41 req-11111111-2222-3333-4444-555555555555 admin admin - default "
		 "default] 10.0.0.1 \"GET /v2.1/servers\" status: 200",
		 "req-0e8a7a77-3c0f-4c0b-9b6f-5b8e3b1e2a41", "req-11111111-2222-3333-4444-555555555555",
		 1796531400 * NS + 123000000},
		{"openstack",
		 "2026-12-06 04:30:00.123 4242 INFO nova.api [None req-11111111-2222-3333-4444-555555555555 u1 p1 - - - -] "
		 "GET /v2.1/servers status: 200",
		 "req-11111111-2222-3333-4444-555555555555", NULL, 1796531400 * NS + 123000000},
		{"spring",
		 "2026-12-06 04:30:00.250  INFO [orders,5f2b8c0e9a1d4c7b,a1b2c3d4e5f60718,true] 4711 --- "
		 "[nio-8080-exec-1] c.e.orders.OrderController  : order placed",
		 "5f2b8c0e9a1d4c7b", "a1b2c3d4e5f60718", 1796531400 * NS + 250000000},
		{"envoy",
		 "[2026-12-06T04:30:00.310Z] \"POST /api/v1/locations HTTP/2\" 204 - 154 0 226 100 \"10.0.35.28\" "
		 "\"nsq2http\" \"cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2\" \"locations\" \"tcp://10.0.2.1:80\"",
		 "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2", NULL, 1796531400 * NS + 310000000},
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct parse_regex *rx = builtin(cases[i].name);
		struct fmt_err fe = {0, NULL};

		ck_assert_msg(parse_regex_line(rx, cases[i].line, strlen(cases[i].line), &rec, &fe) == 0,
			      "%s: %s", cases[i].name, fe.what ? fe.what : "?");
		ck_view(&rec.trace, cases[i].trace);
		if (cases[i].span)
			ck_view(&rec.span, cases[i].span);
		ck_assert_msg(rec.has_ts && rec.ts_ns == cases[i].ts, "%s: ts %lld", cases[i].name,
			      (long long)rec.ts_ns);
		parse_regex_free(rx);
	}
	{
		/* no request ID ("-"): the line is read, with no trace */
		const char *l = "127.0.0.1 - - [06/Dec/2026:04:30:00 +0000] \"GET / HTTP/1.1\" 404 236 \"-\" "
				"\"curl/7.88.1\" -";
		struct parse_regex *rx = builtin("apache");

		ck_assert_int_eq(parse_regex_line(rx, l, strlen(l), &rec, NULL), 0);
		ck_assert(rec.trace.ptr == NULL);
		ck_assert(rec.has_ts && rec.ts_ns == 1796531400 * NS);
		parse_regex_free(rx);
	}
	{
		/* Envoy writes "-" for a request without x-request-id */
		const char *l =
			"[2026-12-06T04:30:00.310Z] \"GET / HTTP/1.1\" 200 - 0 5 1 1 \"-\" \"curl\" \"-\" \"a\" \"b\"";
		struct parse_regex *rx = builtin("envoy");

		ck_assert_int_eq(parse_regex_line(rx, l, strlen(l), &rec, NULL), 0);
		ck_assert(rec.trace.ptr == NULL);
		parse_regex_free(rx);
	}
	ck_assert(parse_builtin_find("nope") == NULL);
	ck_assert(parse_builtin_at(0) != NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("parsers");
	TCase *tc = tcase_create("envelope");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, cri_spec_examples);
	tcase_add_test(tc, cri_edges);
	tcase_add_test(tc, cri_split_everywhere);
	tcase_add_test(tc, docker_lines);
	tcase_add_test(tc, docker_split_everywhere);
	tcase_add_test(tc, names);
	tcase_add_test(tc, k8s_paths);
	tcase_add_test(tc, builtin_layouts);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
