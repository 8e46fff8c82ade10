/*
 * test_http_durable.c - the http input's `ack: durable` (input/intake.c,
 * the write-ahead log) under kill -9: every record of every request
 * answered 2xx reaches the output, across the crash and the restart.
 */
#include <dirent.h>

#include "harness.h"

enum { NCLI = 4, NREQ = 400, NL = 20, ACKED_BEFORE_KILL = 150 };

/*
 * POST @body to /ingest on a fresh connection; unlike the harness's
 * http_post(), a refused connection is an answer here (clewd was killed),
 * not a test failure. Return: the status, or -1.
 */
static int post(int port, const char *body, size_t len)
{
	struct sockaddr_in a;
	char head[256], buf[1024];
	size_t got = 0;
	ssize_t r;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), status = -1, n;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	n = snprintf(head, sizeof(head),
		     "POST /ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-ndjson\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		     len);
	if (send_all(fd, head, (size_t)n) && send_all(fd, body, len))
		while ((r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0 || (r < 0 && errno == EINTR))
			if (r > 0 && (got += (size_t)r) == sizeof(buf) - 1)
				break;
	buf[got] = '\0';
	close(fd);
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		status = -1;
	return status;
}

/* Client @c: post NREQ bodies, appending each request number answered 204 to @acked; stop at an error. */
static void client(int port, int c, const char *acked)
{
	char body[NL * 96];
	FILE *f = fopen(acked, "w");

	if (!f)
		_exit(2);
	setvbuf(f, NULL, _IONBF, 0);
	for (int r = 0; r < NREQ; r++) {
		size_t len = 0;
		int st;
		for (int k = 0; k < NL; k++)
			len += (size_t)snprintf(body + len, sizeof(body) - len,
						"{\"trace\":\"T%d\",\"message\":\"c%d r%04d k%02d;\"}\n", c,
						c, r, k);
		st = post(port, body, len);
		if (st == 503) {
			r--;
			th_msleep(20);
			continue;
		}
		if (st != 204)
			break; /* clewd was killed: this request was never acknowledged */
		fprintf(f, "%d\n", r);
	}
	fclose(f);
	_exit(0);
}

static int count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int n = 0, ch;

	if (!f)
		return 0;
	while ((ch = getc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

/* The write-ahead log segments in @dir. */
static int count_segments(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_msg(d != NULL, "no write-ahead log folder %s", dir);
	while ((e = readdir(d)))
		n += strstr(e->d_name, ".wal") != NULL;
	closedir(d);
	return n;
}

/* Add the messages of the output file @path into @seen[c][r*NL+k]. */
static void tally(const char *path, int (*seen)[NREQ * NL])
{
	struct recs rs = recs_load(path);

	ck_assert_uint_eq(rs.bad, 0);
	for (size_t i = 0; i < rs.n; i++) {
		const char *m = rec_str(rs.r[i], "message");
		int c, r, k;
		ck_assert_msg(m && sscanf(m, "c%d r%d k%d;", &c, &r, &k) == 3 && c >= 0 && c < NCLI &&
				      r >= 0 && r < NREQ && k >= 0 && k < NL,
			      "stray record %s", m ? m : "(none)");
		seen[c][r * NL + k]++;
	}
	recs_free(&rs);
}

START_TEST(every_record_answered_204_is_delivered_after_a_kill_9)
{
	static int seen[NCLI][NREQ * NL];
	static const char *const args[] = {"-i", "http://127.0.0.1:0/ingest", "-o", "stdout:json", NULL};
	struct th_clewd d;
	pid_t kids[NCLI];
	char acked[NCLI][600];
	int out1, out2, port, total, dups = 0, delivered = 0;

	out1 = open(tpath("out1.json"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(out1, 0);
	clewd_start_fd(&d, args, out1);
	port = th_clewd_port(&d, "http", NULL);
	for (int c = 0; c < NCLI; c++) {
		char name[16];
		snprintf(name, sizeof(name), "acked%d", c);
		snprintf(acked[c], sizeof(acked[c]), "%s", tpath(name));
		kids[c] = th_fork();
		if (kids[c] == 0)
			client(port, c, acked[c]);
	}
	/* kill -9 while the clients are mid-stream */
	for (int tries = 0; tries < 6000; tries++) {
		total = 0;
		for (int c = 0; c < NCLI; c++)
			total += count_lines(acked[c]);
		if (total >= ACKED_BEFORE_KILL)
			break;
		th_msleep(5);
	}
	ck_assert_int_ge(total, ACKED_BEFORE_KILL);
	kill(d.pid, SIGKILL);
	ck_assert_int_eq(waitpid(d.pid, NULL, 0), d.pid);
	for (int c = 0; c < NCLI; c++)
		ck_assert_int_eq(th_wait(kids[c]), 0);
	close(out1);

	/* the restart reads the log again; SIGTERM then delivers all of it */
	out2 = open(tpath("out2.json"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(out2, 0);
	clewd_start_fd(&d, args, out2);
	json_decref(th_clewd_wait_log(&d, "reading the write-ahead log again", NULL));
	th_msleep(500);
	ck_assert_int_eq(th_clewd_stop(&d), 0);
	close(out2);

	tally(tpath("out1.json"), seen);
	tally(tpath("out2.json"), seen);
	total = 0;
	for (int c = 0; c < NCLI; c++) {
		FILE *f = fopen(acked[c], "r");
		int r;
		ck_assert_ptr_nonnull(f);
		while (fscanf(f, "%d", &r) == 1) {
			total++;
			for (int k = 0; k < NL; k++)
				ck_assert_msg(
					seen[c][r * NL + k] >= 1,
					"client %d request %d record %d was answered 204 but not delivered",
					c, r, k);
		}
		fclose(f);
	}
	for (int c = 0; c < NCLI; c++)
		for (int i = 0; i < NREQ * NL; i++) {
			delivered += seen[c][i] > 0;
			dups += seen[c][i] > 1 ? seen[c][i] - 1 : 0;
		}
	fprintf(stderr, "kill -9: %d requests answered 204 (%d records), %d records delivered, %d twice\n",
		total, total * NL, delivered, dups);
	ck_assert_int_ge(total, ACKED_BEFORE_KILL);
}
END_TEST

START_TEST(a_clean_stop_and_restart_delivers_nothing_twice_and_deletes_the_log)
{
	static int seen[NCLI][NREQ * NL];
	static const char *const args[] = {"-i", "http://127.0.0.1:0/ingest", "-o", "stdout:json", NULL};
	struct th_clewd d;
	char body[NL * 96];
	int out, port;
	size_t len = 0;

	out = open(tpath("out1.json"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	clewd_start_fd(&d, args, out);
	port = th_clewd_port(&d, "http", NULL);
	for (int k = 0; k < NL; k++)
		len += (size_t)snprintf(body + len, sizeof(body) - len, "{\"message\":\"c0 r0000 k%02d;\"}\n",
					k);
	ck_assert_int_eq(http_post(port, "/ingest", "", body, len, NULL, 0), 204);
	ck_assert_int_eq(th_clewd_stop(&d), 0);
	close(out);
	out = open(tpath("out2.json"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	clewd_start_fd(&d, args, out);
	json_decref(th_clewd_wait_log(&d, "reading the write-ahead log again", NULL));
	th_msleep(300);
	ck_assert_int_eq(th_clewd_stop(&d), 0);
	close(out);
	tally(tpath("out1.json"), seen);
	tally(tpath("out2.json"), seen);
	for (int k = 0; k < NL; k++)
		ck_assert_int_eq(seen[0][k], 1);
	/* the second run read the first run's segment to its acknowledged end and deleted it */
	ck_assert_int_eq(count_segments(tpath("state/wal/http_127.0.0.1_0")), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http_durable");
	TCase *tc = tcase_create("kill");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, net_setup, net_teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, every_record_answered_204_is_delivered_after_a_kill_9);
	tcase_add_test(tc, a_clean_stop_and_restart_delivers_nothing_twice_and_deletes_the_log);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
