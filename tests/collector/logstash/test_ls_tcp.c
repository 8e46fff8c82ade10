/*
 * test_ls_tcp.c - clewd -o logstash+tcp://... against ls_receiver (a
 * json_lines TCP listener) as real processes: every event arrives as
 * Logstash JSON; a receiver stopped mid-stream and restarted costs
 * nothing (duplicates allowed and reported); a peer absent at the start
 * is retried until it listens; a peer down long enough to fill memory
 * and spill into the disk spool, across a clewd restart, costs nothing;
 * bad options are refused by --check-config.
 */
#include <dirent.h>

#include "ls_test.h"

START_TEST(tcp_every_event_arrives_once_as_logstash_json)
{
	const int total = 5000;
	struct receiver rv;
	struct ls_report r;
	char input[600], uri[128];

	receiver_start(&rv, "tcp", 0, "1", NULL);
	write_input(tpath(input, "input"), total);
	snprintf(uri, sizeof(uri), "logstash+tcp://127.0.0.1:%u", rv.port);
	ck_assert_int_eq(th_wait_for(spawn_clewd_file(uri, input, NULL), 120000), 0);
	/* clewd acknowledged everything: the receiver has it all (and reads it before it stops) */
	receiver_stop(&rv, &r);
	assert_complete(&r, total);
	ck_assert_int_eq(r.events, total);
	ck_assert_int_eq(r.n_dups, 0);
	ck_assert_int_eq(r.partial_lines, 0);
	ck_assert_int_ge(r.connections, 1);
	ck_assert_int_eq(log_attr("logstash output closed", "events"), total);
	ck_assert_int_eq(log_attr("logstash output closed", "errors"), 0);
}
END_TEST

START_TEST(tcp_receiver_stopped_mid_stream_and_restarted_loses_nothing)
{
	const int total = 8000;
	struct receiver rv1, rv2;
	struct ls_report r1, r2;
	char uri[128];
	int pfd[2], *seen = calloc(total, sizeof(int)), dups = 0;
	long lines;
	pid_t w, d;

	ck_assert_ptr_nonnull(seen);
	receiver_start(&rv1, "tcp", 0, "1", NULL);
	snprintf(uri, sizeof(uri), "logstash+tcp://127.0.0.1:%u", rv1.port);
	ck_assert_int_eq(pipe(pfd), 0);
	w = spawn_writer(pfd[1], total, 200, 50); /* ~2 s of input */
	close(pfd[1]);
	d = spawn_clewd(uri, pfd[0], NULL);
	close(pfd[0]);
	ck_assert(receiver_wait(&rv1, 1500, 60, &r1));
	receiver_stop(&rv1, &r1);	    /* like a Logstash shutting down: FIN, reads to our EOF */
	ck_assert_int_lt(r1.events, total); /* really mid-stream */
	th_msleep(700);			    /* clewd finds nobody listening and backs off */
	receiver_start(&rv2, "tcp", rv1.port, "2", NULL);
	ck_assert_int_eq(th_wait(w), 0);
	ck_assert_int_eq(th_wait_for(d, 120000), 0); /* stdin ended, everything acknowledged */
	receiver_stop(&rv2, &r2);
	ck_assert_int_eq(r1.bad_json + r2.bad_json, 0);
	ck_assert_int_eq(r1.missing + r2.missing, 0);

	lines = tally_events(rv1.events, total, seen) + tally_events(rv2.events, total, seen);
	for (int n = 0; n < total; n++) {
		ck_assert_msg(seen[n] >= 1, "record %d lost", n);
		dups += seen[n] - 1;
	}
	ck_assert_int_eq(lines, total + dups);
	/* duplicates are allowed here (the chunk cut by the close is sent again whole): report them */
	fprintf(stderr, "tcp restart: %d of %d events delivered twice, %ld torn lines\n", dups, total,
		r1.partial_lines + r2.partial_lines);
	ck_assert_int_ge(log_count("logstash output: connected"), 2);
	ck_assert_int_ge(log_attr("logstash output closed", "retries"), 1);
	free(seen);
}
END_TEST

START_TEST(tcp_peer_absent_at_start_is_retried_until_it_listens)
{
	const int total = 3000;
	struct receiver rv;
	struct ls_report r;
	char input[600], uri[128];
	unsigned port;
	pid_t d;

	/* a port that was free a moment ago: nobody listens there now */
	receiver_start(&rv, "tcp", 0, "0", NULL);
	port = rv.port;
	receiver_stop(&rv, &r);
	write_input(tpath(input, "input"), total);
	snprintf(uri, sizeof(uri), "logstash+tcp://127.0.0.1:%u", port);
	d = spawn_clewd_file(uri, input, NULL);
	for (int i = 0; i < 600 && !log_count("output not ready: retrying"); i++)
		th_msleep(50);
	ck_assert_int_ge(log_count("output not ready: retrying"), 1);
	ck_assert_int_eq(th_wait_for(d, 0), -1); /* still waiting, not given up */
	receiver_start(&rv, "tcp", port, "1", NULL);
	ck_assert_int_eq(th_wait_for(d, 120000), 0);
	receiver_stop(&rv, &r);
	assert_complete(&r, total);
	ck_assert_int_eq(r.n_dups, 0); /* nothing was written before the peer was there */
	ck_assert_int_ge(log_attr("logstash output closed", "errors"), 1);
	ck_assert_int_eq(log_attr("logstash output closed", "events"), total);
}
END_TEST

START_TEST(tcp_check_config_refuses_bad_options_without_connecting)
{
	char *out;

	ck_assert_int_eq(check_config("logstash+tcp://127.0.0.1", &out), 2);
	ck_assert_msg(strstr(out, "address HOST:PORT is required"), "%s", out);
	free(out);
	ck_assert_int_eq(check_config("logstash+tcp://127.0.0.1:5000?colour=blue", &out), 2);
	ck_assert_msg(strstr(out, "colour"), "%s", out);
	free(out);
	ck_assert_int_eq(check_config("logstash+tcp://127.0.0.1:5000?connect_timeout=soon", &out), 2);
	ck_assert_msg(strstr(out, "connect_timeout"), "%s", out);
	free(out);
	/* nobody listens on port 1: a check that connected would fail */
	ck_assert_int_eq(check_config("logstash+tcp://127.0.0.1:1?connect_timeout=2s&send_buffer=1M", &out),
			 0);
	free(out);
}
END_TEST

/* Chunk files in every output's spool under tmp/state/spool. */
static int spool_files(void)
{
	char path[600], sub[900];
	DIR *d = opendir(tpath(path, "state/spool")), *e;
	struct dirent *de, *fe;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (!(e = opendir(sub)))
			continue;
		while ((fe = readdir(e)))
			n += strstr(fe->d_name, ".spool") != NULL && fe->d_name[0] != '.';
		closedir(e);
	}
	closedir(d);
	return n;
}

static pid_t spawn_clewd_tail(const char *uri)
{
	static char state[600], glob[700], log[600];
	char logs[600];
	const char *argv[] = {
		th_env_bin("CLEWD_BIN"), "-s", tpath(state, "state"), "-i", glob, "-o", uri, NULL};

	snprintf(glob, sizeof(glob), "tail:%s/*.log", tpath(logs, "logs"));
	return spawn(argv, -1, tpath(log, "clewd.log"), clewd_env);
}

START_TEST(tcp_peer_down_spills_to_the_spool_and_a_restart_then_its_return_deliver_everything_once)
{
	/* more than CD_QUEUE_CHUNKS_MAX chunks of 16384 records: memory fills, the rest is spooled */
	const int total = 200000;
	struct receiver rv;
	struct ls_report r;
	char uri[128], path[600];
	unsigned port;
	pid_t d;
	int spooled = 0;

	receiver_start(&rv, "tcp", 0, "probe", NULL); /* a free port, then nobody listening on it */
	port = rv.port;
	receiver_stop(&rv, &r);
	snprintf(uri, sizeof(uri), "logstash+tcp://127.0.0.1:%u", port);
	ck_assert_int_eq(mkdir(tpath(path, "logs"), 0755), 0);
	write_input(tpath(path, "logs/app.log"), total);

	d = spawn_clewd_tail(uri);
	for (int i = 0; i < 1200 && (spooled = spool_files()) < 4; i++)
		th_msleep(50);
	ck_assert_msg(spooled >= 4, "nothing spooled while the peer was down (%d files)", spooled);
	/* SIGTERM with the peer still down: what is in memory goes to the spool too, exit 0 */
	ck_assert_int_eq(th_stop(d), 0);
	ck_assert_int_ge(log_count("wait in its spool"), 1);
	spooled = spool_files();
	fprintf(stderr, "spool: %d chunk files after the stop\n", spooled);

	d = spawn_clewd_tail(uri);
	th_msleep(500); /* the restarted clewd finds the peer still down: backoff */
	receiver_start(&rv, "tcp", port, "1", NULL);
	ck_assert_msg(receiver_wait(&rv, total, 180, &r), "only %ld of %d events arrived", r.events, total);
	ck_assert_int_eq(th_stop(d), 0);
	receiver_stop(&rv, &r);
	assert_complete(&r, total);
	/* a clean stop with the peer down spools, it does not re-read: no duplicates */
	ck_assert_int_eq(r.events, total);
	ck_assert_int_eq(spool_files(), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("logstash+tcp");
	TCase *tc = tcase_create("tcp");
	SRunner *sr;
	int failed;

	tcase_add_unchecked_fixture(tc, ls_suite_setup, ls_suite_teardown);
	tcase_add_checked_fixture(tc, ls_setup, ls_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, tcp_every_event_arrives_once_as_logstash_json);
	tcase_add_test(tc, tcp_receiver_stopped_mid_stream_and_restarted_loses_nothing);
	tcase_add_test(tc, tcp_peer_absent_at_start_is_retried_until_it_listens);
	tcase_add_test(
		tc, tcp_peer_down_spills_to_the_spool_and_a_restart_then_its_return_deliver_everything_once);
	tcase_add_test(tc, tcp_check_config_refuses_bad_options_without_connecting);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
