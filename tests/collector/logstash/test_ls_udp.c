/*
 * test_ls_udp.c - clewd -o logstash+udp://... against ls_receiver (a UDP
 * listener, one JSON event per datagram) as real processes: every event
 * arrives in its own datagram; an event over max_datagram arrives cut to
 * valid JSON, flagged and counted; a closed port (ICMP refused) makes
 * clewd retry the chunk until a receiver listens.
 *
 * UDP can lose datagrams at a full receive buffer, so the input is paced
 * and chunks are short (20 ms) and the receiver asks for a large buffer:
 * on loopback nothing is then lost, and the tests can ask for every event.
 */
#include "ls_test.h"

static void short_chunks(void)
{
	ls_setup();
	clewd_env[0] = "CLEWD_CHUNK_AGE=20ms";
}

START_TEST(udp_every_event_arrives_in_a_datagram_of_its_own)
{
	const int total = 3000;
	struct receiver rv;
	struct ls_report r;
	char uri[128];
	int pfd[2];
	pid_t w, d;

	receiver_start(&rv, "udp", 0, "1", NULL);
	snprintf(uri, sizeof(uri), "logstash+udp://127.0.0.1:%u", rv.port);
	ck_assert_int_eq(pipe(pfd), 0);
	w = spawn_writer(pfd[1], total, 50, 20);
	close(pfd[1]);
	d = spawn_clewd(uri, pfd[0], NULL);
	close(pfd[0]);
	ck_assert_int_eq(th_wait(w), 0);
	ck_assert_int_eq(th_wait_for(d, 120000), 0);
	ck_assert(receiver_wait(&rv, total, 30, &r));
	receiver_stop(&rv, &r);
	assert_complete(&r, total);
	ck_assert_int_eq(r.events, total); /* one event per datagram: as many datagrams as records */
	ck_assert_int_eq(r.n_dups, 0);
	ck_assert_int_eq(r.truncated, 0);
	ck_assert_int_eq(log_attr("logstash output closed", "events"), total);
	ck_assert_int_eq(log_attr("logstash output closed", "truncated"), 0);
}
END_TEST

/* The truncated event of the events file with (@with_n) or without an attribute n (a new reference). */
static json_t *truncated_event(const char *path, bool with_n)
{
	char *s = th_slurp(path, NULL), *line, *save = NULL;
	json_t *found = NULL;

	ck_assert_ptr_nonnull(s);
	for (line = strtok_r(s, "\n", &save); line && !found; line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);
		ck_assert_msg(o, "not JSON: %s", line);
		if (json_object_get(o, "_truncated") && !!json_object_get(o, "n") == with_n)
			found = json_incref(o);
		json_decref(o);
	}
	free(s);
	return found;
}

START_TEST(udp_an_oversize_event_is_cut_to_valid_json_flagged_and_counted)
{
	const int total = 90, max = 4096;
	char input[600], uri[160], line[32768], *events, *l, *save = NULL;
	struct receiver rv;
	struct ls_report r;
	FILE *f;
	json_t *big, *fat;
	const char *msg;
	size_t big_line_len = 0;
	int len;

	receiver_start(&rv, "udp", 0, "1", NULL);
	f = fopen(tpath(input, "input"), "w");
	ck_assert_ptr_nonnull(f);
	for (int n = 0; n < total; n++) {
		if (n == 30) /* a long message: the event keeps every field, the message is cut */
			len = input_line(line, sizeof(line), n, 20000);
		else if (n == 60) { /* long attributes: only a small event fits */
			len = snprintf(line, sizeof(line), "t%06d:s9|orders|POST|/bulk|n=%d|blob=", n / 3, n);
			for (int i = 0; i < 6000; i++)
				line[len++] = (char)('A' + i % 26);
			len += snprintf(line + len, sizeof(line) - (size_t)len, "|msg=bulk upload\n");
		} else
			len = input_line(line, sizeof(line), n, 0);
		ck_assert_int_eq((int)fwrite(line, 1, (size_t)len, f), len);
	}
	fclose(f);
	snprintf(uri, sizeof(uri), "logstash+udp://127.0.0.1:%u?max_datagram=%d", rv.port, max);
	ck_assert_int_eq(th_wait_for(spawn_clewd_file(uri, input, NULL), 120000), 0);
	ck_assert(receiver_wait(&rv, total, 30, &r));
	receiver_stop(&rv, &r);
	ck_assert_int_eq(r.events, total);
	ck_assert_int_eq(r.bad_json, 0); /* the cut events are valid JSON */
	ck_assert_int_eq(r.truncated, 2);
	ck_assert_int_eq(r.n_distinct, total - 1); /* the small event keeps IDs, not attributes */
	ck_assert_int_eq(log_attr("logstash output closed", "truncated"), 2);

	/* no datagram over the limit */
	events = th_slurp(rv.events, NULL);
	for (l = strtok_r(events, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		ck_assert_uint_le(strlen(l), (size_t)max);
	free(events);

	/* the long message: every field there, the message a prefix of the original */
	big = truncated_event(rv.events, true);
	ck_assert_ptr_nonnull(big);
	ck_assert(json_is_integer(json_object_get(big, "_truncated")));
	ck_assert_int_eq(json_integer_value(json_object_get(big, "n")), 30);
	ck_assert_ptr_nonnull(json_object_get(big, "@timestamp"));
	ck_assert_ptr_nonnull(json_object_get(big, "host"));
	msg = json_string_value(json_object_get(big, "message"));
	ck_assert_ptr_nonnull(msg);
	ck_assert_uint_gt(strlen(msg), 3000);
	ck_assert_uint_lt(strlen(msg), 20000);
	for (size_t i = 0; msg[i]; i++)
		ck_assert_int_eq(msg[i], 'a' + (int)(i % 26));
	big_line_len = (size_t)json_integer_value(json_object_get(big, "_truncated"));
	ck_assert_uint_gt(big_line_len, 20000); /* the size of the whole event before the cut */
	json_decref(big);

	/* the fat event: a small one with its IDs, the message's head and the flag */
	fat = truncated_event(rv.events, false);
	ck_assert_ptr_nonnull(fat);
	ck_assert(json_is_integer(json_object_get(fat, "_truncated")));
	ck_assert_str_eq(json_string_value(json_object_get(fat, "service")), "orders");
	ck_assert_str_eq(json_string_value(json_object_get(fat, "span")), "s9");
	ck_assert_str_eq(json_string_value(json_object_get(fat, "@version")), "1");
	ck_assert_ptr_nonnull(json_object_get(fat, "host"));
	ck_assert_ptr_null(json_object_get(fat, "blob"));
	json_decref(fat);
}
END_TEST

START_TEST(udp_a_closed_port_is_retried_until_a_receiver_listens)
{
	const int total = 2000;
	struct receiver rv;
	struct ls_report r;
	char input[600], uri[128];
	unsigned port;
	pid_t d;

	receiver_start(&rv, "udp", 0, "0", NULL);
	port = rv.port;
	receiver_stop(&rv, &r); /* the port is closed now: the kernel answers ICMP port unreachable */
	write_input(tpath(input, "input"), total);
	snprintf(uri, sizeof(uri), "logstash+udp://127.0.0.1:%u", port);
	d = spawn_clewd_file(uri, input, NULL);
	for (int i = 0; i < 600 && !log_count("Connection refused"); i++)
		th_msleep(50);
	ck_assert_int_ge(log_count("Connection refused"), 1);
	ck_assert_int_eq(th_wait_for(d, 0), -1);
	receiver_start(&rv, "udp", port, "1", NULL);
	ck_assert_int_eq(th_wait_for(d, 120000), 0);
	ck_assert(receiver_wait(&rv, total, 30, &r));
	receiver_stop(&rv, &r);
	assert_complete(&r, total);
	ck_assert_int_ge(log_attr("logstash output closed", "retries"), 1);
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

START_TEST(udp_check_config_refuses_bad_options_without_sending)
{
	char *out;

	refused("logstash+udp://127.0.0.1", "address HOST:PORT is required");
	refused("logstash+udp://127.0.0.1:5001?max_datagram=100", "max_datagram must be 512..65507");
	refused("logstash+udp://127.0.0.1:5001?max_datagram=70000", "max_datagram must be 512..65507");
	refused("logstash+udp://127.0.0.1:5001?max_datagram=big", "max_datagram");
	ck_assert_int_eq(check_config("logstash+udp://127.0.0.1:9?max_datagram=1400&send_buffer=4M", &out),
			 0);
	free(out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("logstash+udp");
	TCase *tc = tcase_create("udp");
	SRunner *sr;
	int failed;

	tcase_add_unchecked_fixture(tc, ls_suite_setup, ls_suite_teardown);
	tcase_add_checked_fixture(tc, short_chunks, ls_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, udp_every_event_arrives_in_a_datagram_of_its_own);
	tcase_add_test(tc, udp_an_oversize_event_is_cut_to_valid_json_flagged_and_counted);
	tcase_add_test(tc, udp_a_closed_port_is_retried_until_a_receiver_listens);
	tcase_add_test(tc, udp_check_config_refuses_bad_options_without_sending);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
