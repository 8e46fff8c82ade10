/*
 * test_in_udp.c - the udp and unixgram inputs (collector/input/in_udp.c)
 * through a real clewd: each test runs on 127.0.0.1 (udp) and on a unix
 * datagram socket (unixgram) where it applies.
 *
 * UDP has no flow control: the tests that count every line send in
 * rounds small enough for the socket's receive buffer and wait for each
 * round at the sink; the test of drops makes them happen on purpose
 * (clewd stopped with SIGSTOP) and checks the count.
 */
#include "harness.h"

#include "cd_limits.h"

static const char *const kinds[] = {"udp", "unixgram"};

struct dgram {
	struct th_clewd d; /* the daemon */
	int kind;	   /* 0 udp, 1 unixgram */
	int port;	   /* udp: the port clewd bound */
	char sock[600];	   /* unixgram: the socket path */
	char spec[700];	   /* the -i spec */
};

static void dgram_start(struct dgram *g, int kind, const char *const *extra)
{
	const char *args[32] = {"-i", g->spec, "-o", "stdout:json"};
	size_t n = 4;

	g->kind = kind;
	snprintf(g->sock, sizeof(g->sock), "%s/in.sock", tmp);
	if (kind == 0)
		snprintf(g->spec, sizeof(g->spec), "udp://127.0.0.1:0");
	else
		snprintf(g->spec, sizeof(g->spec), "unixgram://%s", g->sock);
	while (extra && *extra && n < 31)
		args[n++] = *extra++;
	args[n] = NULL;
	clewd_start(&g->d, args);
	g->port = th_clewd_port(&g->d, kinds[kind], NULL);
}

/* A connected sender socket. */
static int dgram_sender(const struct dgram *g)
{
	return g->kind == 0 ? udp_connect(g->port) : unix_connect(g->sock, SOCK_DGRAM);
}

static void send_dgram(int fd, const void *p, size_t n)
{
	ssize_t w;

	while ((w = send(fd, p, n, 0)) < 0 && errno == EINTR)
		;
	ck_assert_msg(w == (ssize_t)n, "send of %zu bytes: %zd (%s)", n, w, strerror(errno));
}

enum { NSEND = 4, NDGRAM = 400, ROUND = 20 };

/* Datagram @j of sender @s: 1..3 lines, the last with a newline only every other datagram. */
static size_t make_dgram(char *buf, size_t cap, int s, int j, int *line)
{
	size_t len = 0;
	int nl = 1 + j % 3;

	for (int k = 0; k < nl; k++) {
		len += (size_t)snprintf(buf + len, cap - len, "T%d|svc|-|-|msg=s%d n%06d;", s, s, (*line)++);
		if (k < nl - 1 || j % 2 == 0)
			buf[len++] = '\n';
	}
	return len;
}

START_TEST(lines_of_several_senders_arrive_once_each_and_in_order)
{
	static int seen[NSEND][NDGRAM * 3];
	struct dgram g;
	struct recs rs;
	int fds[NSEND], lines[NSEND] = {0}, last[NSEND];
	long long sent = 0;

	dgram_start(&g, _i, NULL);
	for (int s = 0; s < NSEND; s++)
		fds[s] = dgram_sender(&g);
	for (int j0 = 0; j0 < NDGRAM; j0 += ROUND) {
		/* a round: ROUND datagrams of each sender, interleaved; then wait for all of it */
		for (int j = j0; j < j0 + ROUND; j++)
			for (int s = 0; s < NSEND; s++) {
				char buf[256];
				size_t n = make_dgram(buf, sizeof(buf), s, j, &lines[s]);
				send_dgram(fds[s], buf, n);
				sent += (long long)n;
			}
		for (int s = 0; s < NSEND; s++) {
			char want[64];
			snprintf(want, sizeof(want), "s%d n%06d;", s, lines[s] - 1);
			wait_messages(&g.d, g.d.out, want, 1);
		}
	}
	ck_assert_int_eq(th_clewd_stop(&g.d), 0);
	rs = recs_load(g.d.out);
	ck_assert_uint_eq(rs.bad, 0);
	for (int s = 0; s < NSEND; s++)
		last[s] = -1;
	for (size_t k = 0; k < rs.n; k++) {
		const char *m = rec_str(rs.r[k], "message");
		int s, i;
		ck_assert_msg(m && sscanf(m, "s%d n%d;", &s, &i) == 2 && s >= 0 && s < NSEND && i >= 0 &&
				      i < lines[s],
			      "stray record %s", m);
		ck_assert_msg(i > last[s], "sender %d: line %d after %d", s, i, last[s]);
		last[s] = i;
		seen[s][i]++;
	}
	for (int s = 0; s < NSEND; s++)
		for (int i = 0; i < lines[s]; i++)
			ck_assert_msg(seen[s][i] == 1, "sender %d line %d seen %d times", s, i, seen[s][i]);
	ck_assert_int_eq(closed_counter(&g.d, kinds[_i], "datagrams"), NSEND * NDGRAM);
	ck_assert_int_eq(closed_counter(&g.d, kinds[_i], "kernel_drops"), 0);
	ck_assert_int_eq(closed_counter(&g.d, kinds[_i], "bytes"), sent);
	ck_assert_int_eq(closed_counter(&g.d, kinds[_i], "truncated"), 0);
	for (int s = 0; s < NSEND; s++)
		close(fds[s]);
	recs_free(&rs);
}
END_TEST

START_TEST(the_largest_datagram_arrives_whole_and_a_larger_one_is_cut_and_counted)
{
	/* udp: the largest IPv4 datagram; unixgram: past CD_DGRAM_MAX (unix datagrams can be) */
	const size_t size = _i == 0 ? 65507 : CD_DGRAM_MAX + 50000;
	char *big = malloc(size);
	struct dgram g;
	struct recs rs;
	size_t total = 0;
	int fd, sndbuf = 4 * 1024 * 1024;

	ck_assert_ptr_nonnull(big);
	for (size_t i = 0; i < size - 1; i++)
		big[i] = (char)('a' + i % 26);
	big[size - 1] = '\n';
	dgram_start(&g, _i, NULL);
	fd = dgram_sender(&g);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	send_dgram(fd, big, size);
	send_dgram(fd, "T1|svc|-|-|msg=after the big one", 32);
	wait_messages(&g.d, g.d.out, "after the big one", 1);
	ck_assert_int_eq(th_clewd_stop(&g.d), 0);
	rs = recs_load(g.d.out);
	for (size_t k = 0; k + 1 < rs.n; k++) {
		const char *m = rec_str(rs.r[k], "message");
		ck_assert_ptr_nonnull(m);
		ck_assert_int_eq(memcmp(m, big + total, strlen(m)), 0);
		total += strlen(m);
	}
	if (_i == 0) {
		ck_assert_uint_eq(rs.n, 2);
		ck_assert_uint_eq(total, size - 1); /* whole, one record */
		ck_assert_int_eq(closed_counter(&g.d, kinds[_i], "truncated"), 0);
	} else {
		/* the first CD_DGRAM_MAX bytes, an overlong line: split in two flagged pieces */
		ck_assert_uint_eq(rs.n, 3);
		ck_assert_uint_eq(total, CD_DGRAM_MAX);
		ck_assert_int_eq(json_integer_value(json_object_get(rs.r[0], "_split")), 1);
		ck_assert_int_eq(json_integer_value(json_object_get(rs.r[1], "_split")), 2);
		ck_assert_int_eq(closed_counter(&g.d, kinds[_i], "truncated"), 1);
		ck_assert(log_has(&g.d, "datagram larger than the buffer: cut", kinds[_i]));
	}
	ck_assert_str_eq(rec_str(rs.r[rs.n - 1], "message"), "after the big one");
	recs_free(&rs);
	free(big);
}
END_TEST

/*
 * clewd stopped (SIGSTOP) reads nothing: over UDP the kernel drops what
 * the receive buffer cannot hold, and clewd counts exactly those drops;
 * a unix datagram socket pushes back on its sender instead (EAGAIN).
 */
START_TEST(a_stopped_reader_makes_udp_drop_counted_and_unixgram_push_back)
{
	enum { SIZE = 1000 };
	struct dgram g;
	char buf[SIZE + 64];
	long long sent = 0, markers = 0, received, drops;
	int fd, n = 0;

	dgram_start(&g, _i, NULL);
	fd = dgram_sender(&g);
	ck_assert_int_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
	ck_assert_int_eq(kill(g.d.pid, SIGSTOP), 0);
	for (;;) {
		int len = snprintf(buf, sizeof(buf), "T1|svc|-|-|msg=drop n%06d ", n);
		ssize_t w;
		memset(buf + len, 'x', SIZE - (size_t)len);
		w = send(fd, buf, SIZE, 0);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			ck_assert_msg(errno == EAGAIN || errno == EWOULDBLOCK, "send: %s", strerror(errno));
			ck_assert_int_eq(_i, 1); /* only a unix socket pushes back */
			break;
		}
		ck_assert_int_eq(w, SIZE);
		sent++;
		n++;
		/* udp: 16 MiB, many times what a receive buffer holds (rmem_max is 4 MiB here) */
		if (_i == 0 && sent * SIZE >= 16ll * 1024 * 1024)
			break;
	}
	ck_assert_int_eq(kill(g.d.pid, SIGCONT), 0);
	ck_assert_int_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK), 0);
	/* a marker after the flood carries the kernel's drop count up to it; resend until one arrives */
	while (count_messages(g.d.out, "marker") == 0) {
		send_dgram(fd, "T1|svc|-|-|msg=marker", 21);
		markers++;
		if (count_messages(g.d.out, "marker") == 0)
			th_msleep(200);
		ck_assert(th_clewd_alive(&g.d));
	}
	ck_assert_int_eq(th_clewd_stop(&g.d), 0);
	close(fd);
	received = closed_counter(&g.d, kinds[_i], "datagrams");
	drops = closed_counter(&g.d, kinds[_i], "kernel_drops");
	fprintf(stderr, "%s: sent %lld (+%lld markers), received %lld, kernel drops %lld\n", kinds[_i], sent,
		markers, received, drops);
	ck_assert_int_eq(received + drops, sent + markers); /* every datagram: received or counted */
	ck_assert_int_eq((long long)count_messages(g.d.out, "drop n"),
			 received - (long long)count_messages(g.d.out, "marker"));
	if (_i == 0)
		ck_assert_int_gt(drops, 0);
	else
		ck_assert_int_eq(drops, 0);
}
END_TEST

START_TEST(sigterm_delivers_the_datagrams_already_queued)
{
	struct dgram g;
	int fd;

	/* unixgram: a send() that returned is in clewd's queue (udp over loopback is not promised to be) */
	dgram_start(&g, 1, NULL);
	fd = dgram_sender(&g);
	for (int i = 0; i < 300; i++) {
		char buf[64];
		int n = snprintf(buf, sizeof(buf), "T1|svc|-|-|msg=queued n%d", i);
		send_dgram(fd, buf, (size_t)n);
	}
	ck_assert_int_eq(th_clewd_stop(&g.d), 0);
	close(fd);
	ck_assert_uint_eq(count_messages(g.d.out, "queued n"), 300);
	ck_assert_int_eq(closed_counter(&g.d, "unixgram", "datagrams"), 300);
}
END_TEST

static Suite *udp_suite(void)
{
	Suite *s = suite_create("in_udp");
	TCase *tc = tcase_create("dgram");

	tcase_add_checked_fixture(tc, net_setup, net_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, lines_of_several_senders_arrive_once_each_and_in_order, 0, 2);
	tcase_add_loop_test(tc, the_largest_datagram_arrives_whole_and_a_larger_one_is_cut_and_counted, 0, 2);
	tcase_add_loop_test(tc, a_stopped_reader_makes_udp_drop_counted_and_unixgram_push_back, 0, 2);
	tcase_add_test(tc, sigterm_delivers_the_datagrams_already_queued);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(udp_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
