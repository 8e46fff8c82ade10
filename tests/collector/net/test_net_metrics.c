/*
 * test_net_metrics.c - /metrics with every kind of input active at once
 * (stdin, tail, tcp, udp, unix, unixgram, http), each having delivered a
 * record: the scrape passes `promtool check metrics` and no sample (a
 * series: its name and labels) appears twice, which Prometheus would
 * reject the whole scrape for.
 */
#include "harness.h"

/* GET @path from 127.0.0.1:@port (HTTP/1.0, read to EOF); the body (malloc'd), NULL on no 200. */
static char *http_get_body(int port, const char *path)
{
	size_t cap = 1 << 20, len = 0;
	char req[256], *buf = malloc(cap), *body = NULL;
	int fd = tcp_connect(port), status = 0;
	ssize_t r;

	ck_assert_ptr_nonnull(buf);
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	ck_assert(send_all(fd, req, strlen(req)));
	while (len < cap - 1 &&
	       ((r = recv(fd, buf + len, cap - 1 - len, 0)) > 0 || (r < 0 && errno == EINTR)))
		if (r > 0)
			len += (size_t)r;
	close(fd);
	buf[len] = '\0';
	if (sscanf(buf, "HTTP/1.%*d %d", &status) == 1 && status == 200 && strstr(buf, "\r\n\r\n"))
		body = strdup(strstr(buf, "\r\n\r\n") + 4);
	free(buf);
	return body;
}

/* `promtool check metrics` on @text. Return: its exit status (its output in the test's log). */
static int promtool_check(const char *text)
{
	static const char *const argv[] = {"promtool", "check", "metrics", NULL};
	const char *in = tpath("metrics.txt"), *out = tpath("promtool.out");
	int st;

	th_write_file(in, text, strlen(text));
	st = th_wait(th_spawn(
		argv, &(struct th_io){.in = in, .out = out, .err_to_out = true, .search_path = true}));
	if (st != 0) {
		char *o = th_slurp_or_empty(out, NULL);
		fprintf(stderr, "promtool: %s\n", o);
		free(o);
	}
	return st;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first sample of @text (a copy) whose series (the line up to its value) is there twice; NULL: none. */
static char *repeated_sample(const char *text)
{
	char *copy = strdup(text), **series = NULL, *save = NULL, *dup = NULL;
	size_t n = 0;

	ck_assert_ptr_nonnull(copy);
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strrchr(line, ' ');

		if (line[0] == '#' || !sp)
			continue;
		*sp = '\0';
		series = realloc(series, (n + 1) * sizeof(*series));
		ck_assert_ptr_nonnull(series);
		series[n++] = line;
	}
	qsort(series, n, sizeof(*series), cmp_str);
	for (size_t i = 1; i < n && !dup; i++)
		if (strcmp(series[i - 1], series[i]) == 0)
			dup = strdup(series[i]);
	free(series);
	free(copy);
	return dup;
}

START_TEST(metrics_with_every_input_kind_pass_promtool_and_repeat_no_sample)
{
	char ops[32], tail[600], sock[600], gram[600], *body, *dup;
	const char *args[] = {"-i",	  "stdin", "-i", tail,		"-i", "tcp://:0", "-i",
			      "udp://:0", "-i",	   sock, "-i",		gram, "-i",	  "http://:0/in",
			      "--http",	  ops,	   "-o", "stdout:json", NULL};
	struct th_clewd d;
	int tcp, udp, http, fd;

	snprintf(ops, sizeof(ops), "127.0.0.1:%u", th_free_port());
	snprintf(tail, sizeof(tail), "tail:%s", tpath("*.log"));
	snprintf(sock, sizeof(sock), "unix:%s", tpath("s.sock"));
	snprintf(gram, sizeof(gram), "unixgram:%s", tpath("g.sock"));
	th_write_text(tpath("a.log"), "{\"message\":\"via tail\"}\n");
	clewd_start(&d, args);
	tcp = th_clewd_port(&d, "tcp", NULL);
	udp = th_clewd_port(&d, "udp", NULL);
	http = th_clewd_port(&d, "http", NULL);
	th_clewd_port(&d, "unix", NULL);
	th_clewd_port(&d, "unixgram", NULL);

	fd = tcp_connect(tcp);
	ck_assert(send_all(fd, "{\"message\":\"via tcp\"}\n", 22));
	close(fd);
	fd = udp_connect(udp);
	ck_assert(send_all(fd, "{\"message\":\"via udp\"}\n", 22));
	close(fd);
	fd = unix_connect(tpath("s.sock"), SOCK_STREAM);
	ck_assert(send_all(fd, "{\"message\":\"via unix\"}\n", 23));
	close(fd);
	fd = unix_connect(tpath("g.sock"), SOCK_DGRAM);
	ck_assert(send_all(fd, "{\"message\":\"via unixgram\"}\n", 27));
	close(fd);
	ck_assert_int_eq(http_post_retry(http, "/in", "{\"message\":\"via http\"}\n", 23), 204);
	wait_messages(&d, d.out, "via ", 6);

	body = http_get_body(atoi(strchr(ops, ':') + 1), "/metrics");
	ck_assert_ptr_nonnull(body);
	/* every kind is there, with its own series */
	for (const char *const *k = (const char *const[]){"stdin#1", "tail#2", "tcp#3", "udp#4", "unix#5",
							  "unixgram#6", "http#7", NULL};
	     *k; k++) {
		char want[128];

		snprintf(want, sizeof(want), "clewd_input_records_total{input=\"%s\"", *k);
		ck_assert_msg(strstr(body, want), "%s not in: %s", want, body);
	}
	dup = repeated_sample(body);
	ck_assert_msg(!dup, "sample repeated: %s", dup ? dup : "");
	ck_assert_int_eq(promtool_check(body), 0);
	free(body);
	ck_assert_int_eq(th_clewd_stop(&d), 0);
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("net_metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_checked_fixture(tc, net_setup, net_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, metrics_with_every_input_kind_pass_promtool_and_repeat_no_sample);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(metrics_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
