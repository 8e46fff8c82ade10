/*
 * test_dashboards.c - every query of the Grafana dashboards returns data
 * from an end-to-end run.
 *
 * The run: a real influxd (tests/helpers/influxd), the example services
 * (billing <- orders <- gateway, as scripts/demo runs them) logging to
 * files, clewd tailing those files into InfluxDB (interval 1s), checkouts
 * driven through the gateway. Then each panel's query of
 * dashboards/grafana/ (every JSON file), and each template variable's, is run against
 * the server with Grafana's macros replaced as Grafana would ($timeFilter,
 * $__interval, $__interval_ms, "All" for the variables): every one must
 * answer without an error and with at least one non-null value.
 */
#include <check.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "th_file.h"
#include "th_proc.h"

static const char *bin_gateway, *bin_orders, *bin_billing;
static char tmp[512];

/* Run @argv with stdout+stderr appended to @log and the "NAME=VALUE" strings of @env; return the pid. */
static pid_t spawn(const char *const *argv, const char *log, const char *const *env)
{
	return th_spawn(argv,
			&(struct th_io){.out = log, .out_append = true, .err_to_out = true, .env = env});
}

struct buf {
	char *p;
	size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	b->p = realloc(b->p, b->len + size * n + 1);
	memcpy(b->p + b->len, p, size * n);
	b->len += size * n;
	b->p[b->len] = '\0';
	return size * n;
}

static long post(const char *url, const char *body, char **resp)
{
	CURL *e = curl_easy_init();
	struct buf b = {0};
	long code = 0;
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");

	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
	if (strstr(url, "/checkout"))
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	if (curl_easy_perform(e) == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(e);
	curl_slist_free_all(h);
	if (resp)
		*resp = b.p ? b.p : strdup("");
	else
		free(b.p);
	return code;
}

static json_t *query(int port, const char *q)
{
	CURL *e = curl_easy_init();
	char *eq = curl_easy_escape(e, q, 0), url[128], *form, *resp;
	json_t *j;

	curl_easy_cleanup(e);
	form = malloc(strlen(eq) + 32);
	snprintf(form, strlen(eq) + 32, "db=clew&q=%s", eq);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/query", port);
	ck_assert_int_eq(post(url, form, &resp), 200);
	j = json_loads(resp, 0, NULL);
	ck_assert_msg(j, "not JSON: %s", resp);
	free(resp);
	free(form);
	curl_free(eq);
	return j;
}

/* Non-null values in every series of the first result; -1 when the result is an error. */
static long values_in(json_t *j, const char **error)
{
	json_t *r = json_array_get(json_object_get(j, "results"), 0), *s, *row, *v;
	size_t i, k, c;
	long n = 0;

	*error = json_string_value(json_object_get(r, "error"));
	if (*error)
		return -1;
	json_array_foreach(json_object_get(r, "series"), i, s)
	{
		json_array_foreach(json_object_get(s, "values"), k, row)
		{
			json_array_foreach(row, c, v) if (c > 0 && !json_is_null(v)) n++;
		}
	}
	return n;
}

static long count_of(int port, const char *q)
{
	json_t *j = query(port, q);
	const char *err;
	long n = values_in(j, &err);
	json_t *v = json_array_get(
		json_array_get(
			json_object_get(
				json_array_get(
					json_object_get(json_array_get(json_object_get(j, "results"), 0),
							"series"),
					0),
				"values"),
			0),
		1);

	if (n > 0)
		n = (long)json_number_value(v);
	json_decref(j);
	return n < 0 ? 0 : n;
}

/* Replace every @from in @s by @to (a new string). */
static char *replace(const char *s, const char *from, const char *to)
{
	size_t nf = strlen(from), nt = strlen(to), n = 0;
	const char *p;
	char *out, *o;

	for (p = s; (p = strstr(p, from)); p += nf)
		n++;
	out = o = malloc(strlen(s) + n * (nt > nf ? nt - nf : 0) + 1);
	while ((p = strstr(s, from))) {
		memcpy(o, s, (size_t)(p - s));
		o += p - s;
		memcpy(o, to, nt);
		o += nt;
		s = p + nf;
	}
	memcpy(o, s, strlen(s) + 1);
	return out;
}

/* Grafana's macros for an InfluxQL query over the last hour, grouped by 1 s, every variable "All". */
static char *grafana(const char *q)
{
	char *a = replace(q, "$timeFilter", "time > now() - 1h");
	char *b = replace(a, "$__interval_ms", "1000");
	char *c = replace(b, "$__interval", "1s");
	char *d = replace(c, "$service", ".*");
	char *e = replace(d, "$host", ".*");

	free(a), free(b), free(c), free(d);
	return e;
}

static pid_t start_service(const char *bin, const char *name, const char *format, const char *flag, int down,
			   int *port)
{
	char log[600], portfile[600], fmt_env[64], out_env[640], downurl[64];
	const char *argv[] = {bin, "--port", "0", "--port-file", portfile, flag, downurl, NULL};
	const char *env[] = {fmt_env, out_env, "CLEW_METRICS_INTERVAL=1", NULL};
	pid_t pid;
	char *p;

	snprintf(log, sizeof(log), "%s/%s.stderr", tmp, name);
	snprintf(portfile, sizeof(portfile), "%s/%s.port", tmp, name);
	snprintf(fmt_env, sizeof(fmt_env), "CLEW_FORMAT=%s", format);
	snprintf(out_env, sizeof(out_env), "CLEW_OUTPUT=file:%s/logs/%s.log", tmp, name);
	snprintf(downurl, sizeof(downurl), "http://127.0.0.1:%d", down);
	if (!flag)
		argv[5] = NULL;
	pid = spawn(argv, log, env);
	for (int i = 0; i < 300; i++) {
		p = th_slurp_or_empty(portfile, NULL);
		*port = (int)strtol(p, NULL, 10);
		free(p);
		if (*port > 0)
			return pid;
		ck_assert_int_eq(th_wait_for(pid, 0), -1); /* still running */
		th_msleep(100);
	}
	ck_abort_msg("%s did not start", name);
	return pid;
}

/* Every target and template variable query of dashboards/grafana/@file returns data. */
static void check_dashboard(int port, const char *file, size_t *nqueries)
{
	char path[4096];
	json_error_t je;
	json_t *d, *p, *t, *v;
	size_t i, k;

	snprintf(path, sizeof(path), "%s/dashboards/grafana/%s", getenv("CLEW_SOURCE_ROOT"), file);
	d = json_load_file(path, 0, &je);
	ck_assert_msg(d, "%s: %s", path, je.text);
	json_array_foreach(json_object_get(json_object_get(d, "templating"), "list"), i, v)
	{
		json_t *j = query(port, json_string_value(json_object_get(v, "query")));
		const char *err;
		ck_assert_msg(values_in(j, &err) > 0, "%s: variable %s: %s", file,
			      json_string_value(json_object_get(v, "name")), err ? err : "no data");
		json_decref(j);
		(*nqueries)++;
	}
	json_array_foreach(json_object_get(d, "panels"), i, p)
	{
		json_array_foreach(json_object_get(p, "targets"), k, t)
		{
			char *q = grafana(json_string_value(json_object_get(t, "query")));
			json_t *j = query(port, q);
			const char *err;
			long n = values_in(j, &err);

			ck_assert_msg(n > 0, "%s: panel \"%s\" %s: %s\n  %s", file,
				      json_string_value(json_object_get(p, "title")),
				      json_string_value(json_object_get(t, "refId")), err ? err : "no data",
				      q);
			json_decref(j);
			free(q);
			(*nqueries)++;
		}
	}
	json_decref(d);
}

START_TEST(every_dashboard_query_returns_data_from_an_end_to_end_run)
{
	const char *helper = getenv("INFLUXD_HELPER"), *clewd_bin = getenv("CLEWD_BIN");
	char dir[600], log[700], glob[600], state_env[640], uri[128], gw[64], *p;
	const char *hargs[] = {helper, "start", dir, NULL};
	const char *stop[] = {helper, "stop", dir, NULL};
	const char *cargs[] = {clewd_bin, "-i", glob, "-o", uri, NULL};
	const char *cenv[] = {state_env, "CLEWD_DRAIN_TIMEOUT=60s", NULL};
	pid_t billing, orders, gateway, clewd;
	int port, pb, po, pg, ok = 0;
	size_t nq = 0;
	json_t *j;

	ck_assert_msg(helper && clewd_bin, "INFLUXD_HELPER and CLEWD_BIN must be set");
	snprintf(dir, sizeof(dir), "%s/influxd", tmp);
	snprintf(log, sizeof(log), "%s/helper.log", tmp);
	ck_assert_msg(th_wait(spawn(hargs, log, NULL)) == 0, "influxd: %s", th_slurp_or_empty(log, NULL));
	snprintf(log, sizeof(log), "%s/port", dir);
	p = th_slurp_or_empty(log, NULL);
	port = (int)strtol(p, NULL, 10);
	free(p);
	json_decref(query(port, "CREATE DATABASE clew"));

	snprintf(log, sizeof(log), "%s/logs", tmp);
	ck_assert_int_eq(mkdir(log, 0755), 0);
	billing = start_service(bin_billing, "billing", "pipe", NULL, 0, &pb);
	orders = start_service(bin_orders, "orders", "json", "--billing", pb, &po);
	gateway = start_service(bin_gateway, "gateway", "pipe", "--orders", po, &pg);

	snprintf(glob, sizeof(glob), "tail:%s/logs/*.log", tmp);
	snprintf(state_env, sizeof(state_env), "CLEWD_STATE_DIR=%s/state", tmp);
	snprintf(uri, sizeof(uri), "influxdb://127.0.0.1:%d/clew?interval=1s", port);
	snprintf(log, sizeof(log), "%s/clewd.log", tmp);
	clewd = spawn(cargs, log, cenv);

	snprintf(gw, sizeof(gw), "http://127.0.0.1:%d/checkout", pg);
	for (int i = 1; i <= 150; i++) {
		char body[96];
		snprintf(body, sizeof(body), "{\"user\":\"u%d\",\"amount\":%d}", i % 17, 500 + i * 37 % 9000);
		if (post(gw, body, NULL) > 0)
			ok++;
	}
	ck_assert_int_eq(ok, 150);
	/* until every service's requests are in (bounded: 60 s), over at least a few intervals */
	for (int i = 0; i < 600; i++) {
		long services = count_of(
			port, "SELECT count(\"count\") FROM (SELECT sum(\"count\") AS \"count\" FROM red "
			      "WHERE \"kind\" = 'request' GROUP BY \"service\")");
		if (services >= 3 && i >= 40)
			break;
		th_msleep(100);
	}
	kill(gateway, SIGTERM), kill(orders, SIGTERM), kill(billing, SIGTERM);
	th_wait(gateway), th_wait(orders), th_wait(billing);
	th_msleep(2500); /* a few more health points: the derivatives need two */
	kill(clewd, SIGTERM);
	ck_assert_msg(th_wait(clewd) == 0, "clewd: %s", th_slurp_or_empty(log, NULL));

	/* the run is what the dashboards need: 150 checkouts through the gateway */
	j = query(port,
		  "SELECT sum(\"count\") FROM red WHERE \"kind\" = 'request' AND \"service\" = 'gateway'");
	{
		json_t *v = json_array_get(
			json_array_get(
				json_object_get(
					json_array_get(
						json_object_get(
							json_array_get(json_object_get(j, "results"), 0),
							"series"),
						0),
					"values"),
				0),
			1);
		ck_assert_int_eq((long)json_number_value(v), 150);
	}
	json_decref(j);

	check_dashboard(port, "clew-services.json", &nq);
	check_dashboard(port, "clew-collector.json", &nq);
	ck_assert_uint_eq(nq, 2 + 7 + 9); /* two variables, 7 + 9 targets */
	th_wait(spawn(stop, "/dev/null", NULL));
}
END_TEST

static void setup(void)
{
	th_tmpdir(tmp, sizeof(tmp), NULL, "clew-dash");
}

static void teardown(void)
{
	char dir[600];
	const char *stop[] = {getenv("INFLUXD_HELPER"), "stop", dir, NULL};

	/* the server, also when the test failed half-way (no pid file: nothing to do) */
	snprintf(dir, sizeof(dir), "%s/influxd", tmp);
	if (stop[0])
		th_wait(spawn(stop, "/dev/null", NULL));

	if (!getenv("KEEP_TMP"))
		th_remove_tree(tmp);
}

int main(int argc, char **argv)
{
	Suite *s = suite_create("dashboards");
	TCase *tc = tcase_create("e2e");
	SRunner *sr;
	int failed;

	if (argc != 4) {
		fprintf(stderr, "usage: %s GATEWAY ORDERS BILLING\n", argv[0]);
		return 2;
	}
	bin_gateway = argv[1], bin_orders = argv[2], bin_billing = argv[3];
	curl_global_init(CURL_GLOBAL_DEFAULT);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, every_dashboard_query_returns_data_from_an_end_to_end_run);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
