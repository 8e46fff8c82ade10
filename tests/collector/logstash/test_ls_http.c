/*
 * test_ls_http.c - clewd -o logstash+http://... against ls_receiver (an
 * HTTP/1.1 ndjson endpoint) as real processes: every event arrives in
 * batches with the right Content-Type; gzip and basic auth, and a bearer
 * token, are what the receiver checks; 503 and 429 answers are retried
 * until accepted; a 400 is given up, counted and logged while clewd goes
 * on; a receiver killed (-9) mid-stream and restarted costs nothing.
 */
#include "ls_test.h"

START_TEST(http_every_event_arrives_in_ndjson_batches)
{
	const int total = 5000;
	struct receiver rv;
	struct ls_report r;
	char input[600], uri[128];

	receiver_start(&rv, "http", 0, "1", NULL);
	write_input(tpath(input, "input"), total);
	snprintf(uri, sizeof(uri), "logstash+http://127.0.0.1:%u/ingest", rv.port);
	ck_assert_int_eq(th_wait_for(spawn_clewd_file(uri, input, NULL), 120000), 0);
	receiver_stop(&rv, &r);
	assert_complete(&r, total);
	ck_assert_int_eq(r.events, total);
	ck_assert_int_eq(r.n_dups, 0);
	ck_assert_int_ge(r.requests, 1);
	ck_assert_int_eq(r.failed_requests, 0);
	ck_assert_int_eq(r.bad_content_type, 0);
	ck_assert_int_eq(r.gzip_requests, 0);
	ck_assert_int_eq(log_attr("logstash output closed", "events"), total);
	ck_assert_int_eq(log_attr("logstash output closed", "errors"), 0);
}
END_TEST

START_TEST(http_gzip_bodies_with_basic_auth_are_accepted)
{
	static const char *const want_auth[] = {"--auth", "clew:s3cr et", NULL};
	const int total = 4000;
	struct receiver rv;
	struct ls_report r;
	char input[600], uri[160];

	receiver_start(&rv, "http", 0, "1", want_auth);
	write_input(tpath(input, "input"), total);
	/* the password percent-encoded in the URI, as URIs require */
	snprintf(uri, sizeof(uri), "logstash+http://clew:s3cr%%20et@127.0.0.1:%u/?gzip=true&gzip_level=6",
		 rv.port);
	ck_assert_int_eq(th_wait_for(spawn_clewd_file(uri, input, NULL), 120000), 0);
	receiver_stop(&rv, &r);
	assert_complete(&r, total);
	ck_assert_int_eq(r.auth_failures, 0);
	ck_assert_int_ge(r.requests, 1);
	ck_assert_int_eq(r.gzip_requests, r.requests);
	ck_assert_int_eq(r.failed_requests, 0);
}
END_TEST

START_TEST(http_a_wrong_bearer_token_is_rejected_and_the_right_one_accepted)
{
	static const char *const want_token[] = {"--bearer", "tok-123", NULL};
	const int total = 600;
	struct receiver rv;
	struct ls_report r;
	char input[600], uri[160];

	receiver_start(&rv, "http", 0, "1", want_token);
	write_input(tpath(input, "input"), total);
	/* a wrong token is a 401: not retried forever, given up and counted, clewd still exits 0 */
	snprintf(uri, sizeof(uri), "logstash+http://127.0.0.1:%u/?token=wrong", rv.port);
	ck_assert_int_eq(th_wait_for(spawn_clewd_file(uri, input, NULL), 120000), 0);
	for (int i = 0; i < 600 && (!read_report(rv.report, &r) || r.rejected_events < total); i++)
		th_msleep(50); /* the report trails the answers by up to 50 ms */
	ck_assert_int_ge(r.auth_failures, 1);
	ck_assert_int_eq(r.events, 0);
	ck_assert_int_eq(r.rejected_events, total);
	ck_assert_int_eq(log_attr("logstash output closed", "rejected"), total);
	ck_assert_int_ge(log_count("batch rejected, given up"), 1);
	ck_assert_int_ge(log_count("HTTP 401"), 1);
	/* a stdin job keeps no dead-letter files: the records are dropped, counted and logged as such */
	ck_assert_int_ge(log_count("\"reason\":\"permanent:http_401\""), 1);

	snprintf(uri, sizeof(uri), "logstash+http://127.0.0.1:%u/?token=tok-123", rv.port);
	ck_assert_int_eq(th_wait_for(spawn_clewd_file(uri, input, NULL), 120000), 0);
	receiver_stop(&rv, &r);
	assert_complete(&r, total);
	ck_assert_int_eq(r.events, total);
}
END_TEST

/* A receiver answering @fail to its first requests; every event must still arrive, once. */
static void retried_until_accepted(const char *fail, int nfail)
{
	const char *const opts[] = {"--fail", fail, NULL};
	const int total = 3000;
	struct receiver rv;
	struct ls_report r;
	char input[600], uri[128];

	receiver_start(&rv, "http", 0, "1", opts);
	write_input(tpath(input, "input"), total);
	snprintf(uri, sizeof(uri), "logstash+http://127.0.0.1:%u/", rv.port);
	ck_assert_int_eq(th_wait_for(spawn_clewd_file(uri, input, NULL), 120000), 0);
	receiver_stop(&rv, &r);
	assert_complete(&r, total);
	ck_assert_int_eq(r.n_dups, 0); /* the refused requests' events were not taken */
	ck_assert_int_eq(r.failed_requests, nfail);
	ck_assert_int_gt(r.requests, nfail);
	ck_assert_int_eq(log_attr("logstash output closed", "retries"), nfail);
	ck_assert_int_eq(log_attr("logstash output closed", "rejected"), 0);
	ck_assert_int_ge(log_count("output not ready: retrying"), 1);
	ck_assert_int_ge(log_count("output recovered"), 1);
}

START_TEST(http_503_answers_are_retried_until_accepted)
{
	retried_until_accepted("3:503", 3);
}
END_TEST

START_TEST(http_429_answers_are_retried_until_accepted)
{
	retried_until_accepted("2:429", 2);
}
END_TEST

START_TEST(http_a_400_batch_is_given_up_counted_and_clewd_goes_on)
{
	static const char *const opts[] = {"--fail", "1:400", NULL};
	const int total = 3000;
	struct receiver rv;
	struct ls_report r;
	char uri[128];
	int pfd[2];
	pid_t w, d;

	receiver_start(&rv, "http", 0, "1", opts);
	snprintf(uri, sizeof(uri), "logstash+http://127.0.0.1:%u/", rv.port);
	ck_assert_int_eq(pipe(pfd), 0);
	w = spawn_writer(pfd[1], total, 300, 150); /* several chunks: the first is refused */
	close(pfd[1]);
	d = spawn_clewd(uri, pfd[0], NULL);
	close(pfd[0]);
	ck_assert_int_eq(th_wait(w), 0);
	ck_assert_int_eq(th_wait_for(d, 120000), 0); /* not stalled by the poison batch */
	receiver_stop(&rv, &r);
	ck_assert_int_eq(r.failed_requests, 1);
	ck_assert_int_gt(r.rejected_events, 0);
	ck_assert_int_gt(r.events, 0);			       /* what came after arrived */
	ck_assert_int_eq(r.events + r.rejected_events, total); /* and nothing else is missing */
	ck_assert_int_eq(r.n_distinct, r.events);
	ck_assert_int_eq(r.n_max, total - 1);
	ck_assert_int_eq(r.bad_json + r.missing, 0);
	ck_assert_int_eq(log_count("batch rejected, given up"), 1);
	ck_assert_int_eq(log_attr("logstash output closed", "rejected"), r.rejected_events);
	ck_assert_int_eq(log_attr("logstash output closed", "events"), r.events);
	ck_assert_int_eq(log_attr("logstash output closed", "retries"), 0);
}
END_TEST

START_TEST(http_receiver_killed_mid_stream_and_restarted_loses_nothing)
{
	const int total = 8000;
	struct receiver rv1, rv2;
	struct ls_report r1, r2;
	char uri[128];
	int pfd[2], *seen = calloc(total, sizeof(int)), dups = 0;
	long lines1, lines2;
	pid_t w, d;

	ck_assert_ptr_nonnull(seen);
	receiver_start(&rv1, "http", 0, "1", NULL);
	snprintf(uri, sizeof(uri), "logstash+http://127.0.0.1:%u/", rv1.port);
	ck_assert_int_eq(pipe(pfd), 0);
	w = spawn_writer(pfd[1], total, 200, 50);
	close(pfd[1]);
	d = spawn_clewd(uri, pfd[0], NULL);
	close(pfd[0]);
	ck_assert(receiver_wait(&rv1, 1500, 60, &r1));
	kill(rv1.pid, SIGKILL);
	ck_assert_int_eq(th_wait(rv1.pid), 128 + SIGKILL);
	th_msleep(700);
	receiver_start(&rv2, "http", rv1.port, "2", NULL);
	ck_assert_int_eq(th_wait(w), 0);
	ck_assert_int_eq(th_wait_for(d, 120000), 0);
	receiver_stop(&rv2, &r2);

	/* what the first receiver answered 200 to is in its events file (flushed before the answer) */
	lines1 = tally_events(rv1.events, total, seen);
	ck_assert_int_lt(lines1, total); /* really mid-stream */
	lines2 = tally_events(rv2.events, total, seen);
	for (int n = 0; n < total; n++) {
		ck_assert_msg(seen[n] >= 1, "record %d lost", n);
		dups += seen[n] - 1;
	}
	ck_assert_int_eq(lines1 + lines2, total + dups);
	fprintf(stderr, "http kill -9: %d of %d events delivered twice\n", dups, total);
	ck_assert_int_ge(log_attr("logstash output closed", "retries"), 1);
	ck_assert_int_eq(r2.bad_json + r2.missing, 0);
	free(seen);
}
END_TEST

/* @uri must fail --check-config with @what in the message. */
static void refused(const char *uri, const char *what)
{
	char *out;

	ck_assert_int_eq(check_config(uri, &out), 2);
	ck_assert_msg(strstr(out, what), "%s: %s", uri, out);
	free(out);
}

START_TEST(http_check_config_refuses_bad_options_without_connecting)
{
	char *out;

	refused("logstash+http://u:p@127.0.0.1:8080/?token=t", "user/password or token, not both");
	refused("logstash+http://127.0.0.1:8080/?ca_file=/etc/ca.pem", "need tls: true");
	refused("logstash+http://127.0.0.1:8080/?tls=true&cert_file=/c.pem",
		"cert_file and key_file go together");
	refused("logstash+http://127.0.0.1:8080/?gzip_level=12", "gzip_level");
	refused("logstash+http://127.0.0.1:8080/?gzip=maybe", "gzip");
	refused("logstash+http://127.0.0.1:8080/?retry=always", "retry");
	/* nothing listens on port 9: this passes because the check does not connect */
	ck_assert_int_eq(check_config("logstash+http://u:p@127.0.0.1:9/in?tls=true&insecure=true&gzip=true&"
				      "timeout=10s&connect_timeout=1s",
				      &out),
			 0);
	ck_assert_msg(strstr(out, "password=***"), "%s", out); /* the summary does not show secrets */
	free(out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("logstash+http");
	TCase *tc = tcase_create("http");
	SRunner *sr;
	int failed;

	tcase_add_unchecked_fixture(tc, ls_suite_setup, ls_suite_teardown);
	tcase_add_checked_fixture(tc, ls_setup, ls_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, http_every_event_arrives_in_ndjson_batches);
	tcase_add_test(tc, http_gzip_bodies_with_basic_auth_are_accepted);
	tcase_add_test(tc, http_a_wrong_bearer_token_is_rejected_and_the_right_one_accepted);
	tcase_add_test(tc, http_503_answers_are_retried_until_accepted);
	tcase_add_test(tc, http_429_answers_are_retried_until_accepted);
	tcase_add_test(tc, http_a_400_batch_is_given_up_counted_and_clewd_goes_on);
	tcase_add_test(tc, http_receiver_killed_mid_stream_and_restarted_loses_nothing);
	tcase_add_test(tc, http_check_config_refuses_bad_options_without_connecting);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
