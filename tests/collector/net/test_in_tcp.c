/*
 * test_in_tcp.c - the tcp and unix stream inputs (collector/input/in_tcp.c)
 * through a real clewd: each test runs once on 127.0.0.1 (tcp) and once
 * on a unix socket (unix), with clients in this process or in forked
 * children, and reads the records back from clewd's stdout.
 */
#include "harness.h"

#include "cd_limits.h"

static const char *const kinds[] = {"tcp", "unix"};

struct stream {
	struct th_clewd d; /* the daemon */
	int kind;	   /* 0 tcp, 1 unix */
	int port;	   /* tcp: the port clewd bound */
	char sock[600];	   /* unix: the socket path */
	char spec[700];	   /* the -i spec */
};

/* clewd with one stream input of @kind (@query appended to the spec), stdout to @out_fd (-1: file). */
static void stream_start_fd(struct stream *s, int kind, const char *query, const char *const *extra,
			    int out_fd)
{
	const char *args[32] = {"-i", s->spec, "-o", "stdout:json"};
	size_t n = 4;

	s->kind = kind;
	snprintf(s->sock, sizeof(s->sock), "%s/in.sock", tmp);
	if (kind == 0)
		snprintf(s->spec, sizeof(s->spec), "tcp://127.0.0.1:0%s", query);
	else
		snprintf(s->spec, sizeof(s->spec), "unix://%s%s", s->sock, query);
	while (extra && *extra && n < 31)
		args[n++] = *extra++;
	args[n] = NULL;
	clewd_start_fd(&s->d, args, out_fd);
	s->port = th_clewd_port(&s->d, kinds[kind], NULL);
}

static void stream_start(struct stream *s, int kind, const char *query, const char *const *extra)
{
	stream_start_fd(s, kind, query, extra, -1);
}

static int stream_connect(const struct stream *s)
{
	return s->kind == 0 ? tcp_connect(s->port) : unix_connect(s->sock, SOCK_STREAM);
}

/* The record whose message is exactly @msg (NULL: none). */
static const json_t *find_message(const struct recs *rs, const char *msg)
{
	for (size_t i = 0; i < rs->n; i++) {
		const char *m = rec_str(rs->r[i], "message");
		if (m && strcmp(m, msg) == 0)
			return rs->r[i];
	}
	return NULL;
}

enum { NCLI = 6, NLINES = 3000 };

START_TEST(lines_of_concurrent_connections_arrive_once_each_and_in_order)
{
	static int seen[NCLI][NLINES];
	struct stream s;
	struct recs rs;
	pid_t kids[NCLI];
	long long sent = 0;
	long other = 0;
	int last[NCLI];

	stream_start(&s, _i, "", NULL);
	for (int c = 0; c < NCLI; c++) {
		char line[128];
		for (int i = 0; i < NLINES; i++)
			sent += snprintf(line, sizeof(line), "T%dx%d|svc|-|-|msg=c%d n%d\n", c, i, c, i);
	}
	for (int c = 0; c < NCLI; c++) {
		kids[c] = th_fork();
		if (kids[c] == 0) {
			/* a client: its lines in random-sized writes, so lines are cut across reads */
			size_t cap = (size_t)NLINES * 64, len = 0;
			char *buf = malloc(cap);
			unsigned seed = (unsigned)c + 1;
			int fd;
			if (!buf)
				_exit(2);
			for (int i = 0; i < NLINES; i++)
				len += (size_t)snprintf(buf + len, cap - len, "T%dx%d|svc|-|-|msg=c%d n%d\n",
							c, i, c, i);
			fd = stream_connect(&s);
			_exit(send_pieces(fd, buf, len, 3000, &seed) && close(fd) == 0 ? 0 : 1);
		}
	}
	for (int c = 0; c < NCLI; c++)
		ck_assert_msg(th_wait(kids[c]) == 0, "client %d failed", c);
	wait_messages(&s.d, s.d.out, " n", (size_t)NCLI * NLINES);
	ck_assert_int_eq(th_clewd_stop(&s.d), 0);

	rs = recs_load(s.d.out);
	ck_assert_uint_eq(rs.bad, 0);
	for (int c = 0; c < NCLI; c++)
		last[c] = -1;
	for (size_t k = 0; k < rs.n; k++) {
		const char *m = rec_str(rs.r[k], "message");
		int c, i;
		if (!m || sscanf(m, "c%d n%d", &c, &i) != 2 || c < 0 || c >= NCLI || i < 0 || i >= NLINES) {
			other++;
			continue;
		}
		seen[c][i]++;
		ck_assert_msg(i > last[c], "client %d: line %d after line %d", c, i, last[c]);
		last[c] = i;
	}
	ck_assert_int_eq(other, 0);
	for (int c = 0; c < NCLI; c++)
		for (int i = 0; i < NLINES; i++)
			ck_assert_msg(seen[c][i] == 1, "client %d line %d seen %d times", c, i, seen[c][i]);
	ck_assert_uint_eq(rs.n, (size_t)NCLI * NLINES);
	ck_assert_int_eq(closed_counter(&s.d, kinds[_i], "connections"), NCLI);
	ck_assert_int_eq(closed_counter(&s.d, kinds[_i], "bytes"), sent);
	recs_free(&rs);
}
END_TEST

START_TEST(a_half_line_at_disconnect_becomes_a_record_of_its_own)
{
	static const char a[] = "T1|svc|-|-|msg=whole\nT2|svc|-|-|msg=cut before its newline";
	static const char b[] = "no newline and no record start";
	struct stream s;
	struct recs rs;
	const json_t *r;
	char want[700];
	int fa, fb;

	stream_start(&s, _i, "", NULL);
	fa = stream_connect(&s);
	fb = stream_connect(&s);
	/* interleaved: the two half lines must not meet */
	ck_assert(send_all(fa, a, 25));
	ck_assert(send_all(fb, b, 10));
	ck_assert(send_all(fa, a + 25, sizeof(a) - 1 - 25));
	ck_assert(send_all(fb, b + 10, sizeof(b) - 1 - 10));
	close(fa);
	close(fb);
	wait_messages(&s.d, s.d.out, "", 3);
	ck_assert_int_eq(th_clewd_stop(&s.d), 0);
	rs = recs_load(s.d.out);
	ck_assert_uint_eq(rs.n, 3);
	ck_assert_ptr_nonnull(find_message(&rs, "whole"));
	r = find_message(&rs, "cut before its newline");
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(rec_str(r, "trace"), "T2"); /* parsed as the record it is */
	ck_assert_ptr_null(json_object_get(r, "_unparsed"));
	r = find_message(&rs, b);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(json_object_get(r, "_unparsed"));
	/* where it came from: the peer (tcp), or the socket and the sender's pid (unix) */
	if (_i == 0)
		snprintf(want, sizeof(want), "tcp:127.0.0.1:");
	else
		snprintf(want, sizeof(want), "unix:%s pid=%ld", s.sock, (long)getpid());
	ck_assert_msg(strncmp(rec_str(r, "_input"), want, strlen(want)) == 0, "_input %s, want %s",
		      rec_str(r, "_input"), want);
	recs_free(&rs);
}
END_TEST

START_TEST(an_overlong_line_is_split_and_flagged_never_dropped)
{
	const size_t big = 3 * CD_LINE_MAX + 10;
	char *in = malloc(big + 200);
	struct stream s;
	struct recs rs;
	size_t len = 0, total = 0;
	unsigned seed = 7;
	int fd;

	ck_assert_ptr_nonnull(in);
	len += (size_t)snprintf(in, 200, "T1|svc|-|-|msg=before\n");
	for (size_t i = 0; i < big; i++)
		in[len++] = (char)('a' + i % 26);
	in[len++] = '\n';
	len += (size_t)snprintf(in + len, 200, "T2|svc|-|-|msg=after\n");
	stream_start(&s, _i, "", NULL);
	fd = stream_connect(&s);
	ck_assert(send_pieces(fd, in, len, 50000, &seed));
	close(fd);
	wait_messages(&s.d, s.d.out, "", 6);
	ck_assert_int_eq(th_clewd_stop(&s.d), 0);
	rs = recs_load(s.d.out);
	ck_assert_uint_eq(rs.n, 6); /* before, 4 pieces, after */
	ck_assert_str_eq(rec_str(rs.r[0], "message"), "before");
	ck_assert_str_eq(rec_str(rs.r[5], "message"), "after");
	for (size_t k = 1; k <= 4; k++) {
		const json_t *sp = json_object_get(rs.r[k], "_split");
		const char *m = rec_str(rs.r[k], "message");
		ck_assert_msg(sp && json_integer_value(sp) == (json_int_t)k, "piece %zu not flagged", k);
		ck_assert_ptr_nonnull(m);
		ck_assert_uint_le(strlen(m), CD_LINE_MAX);
		ck_assert_int_eq(memcmp(m, in + 22 + total, strlen(m)), 0);
		total += strlen(m);
	}
	ck_assert_uint_eq(total, big); /* every byte kept, in order */
	recs_free(&rs);
	free(in);
}
END_TEST

START_TEST(invalid_utf8_nul_and_binary_garbage_are_kept_as_raw_records)
{
	static const char in[] = "garbage at the top\n"
				 "{\"message\":\"bad \xff utf8\"}\n"
				 "\xfe\xfe\n"
				 "a\0b\n"
				 "T1|svc|-|-|msg=fine\n"
				 "\x01\x02\x7f\x80\n";
	static const char *const extra[] = {"--no-multiline", NULL};
	struct stream s;
	struct recs rs;
	size_t raw = 0;
	const json_t *nul = NULL;
	int fd;

	stream_start(&s, _i, "", extra);
	fd = stream_connect(&s);
	ck_assert(send_all(fd, in, sizeof(in) - 1));
	close(fd);
	wait_messages(&s.d, s.d.out, "", 6);
	ck_assert_int_eq(th_clewd_stop(&s.d), 0);
	rs = recs_load(s.d.out);
	ck_assert_uint_eq(rs.bad, 0);
	ck_assert_uint_eq(rs.n, 6);
	for (size_t k = 0; k < rs.n; k++) {
		const json_t *m = json_object_get(rs.r[k], "message");
		raw += json_object_get(rs.r[k], "_unparsed") != NULL;
		if (m && json_string_length(m) == 3 && memcmp(json_string_value(m), "a\0b", 3) == 0)
			nul = rs.r[k];
	}
	ck_assert_uint_eq(raw, 5);
	ck_assert_ptr_nonnull(nul); /* the NUL is kept, escaped */
	ck_assert_str_eq(rec_str(rs.r[4], "message"), "fine");
	ck_assert_ptr_nonnull(strstr(rec_str(rs.r[1], "_unparsed"), "UTF-8"));
	recs_free(&rs);
}
END_TEST

START_TEST(a_silent_or_stalled_client_does_not_block_the_others)
{
	struct stream s;
	char line[128];
	int silent, stalled, other;

	stream_start(&s, _i, "", NULL);
	silent = stream_connect(&s);
	stalled = stream_connect(&s);
	ck_assert(send_all(stalled, "T9|svc|-|-|msg=stalled begins", 29));
	other = stream_connect(&s);
	for (int i = 0; i < 500; i++) {
		int n = snprintf(line, sizeof(line), "T1|svc|-|-|msg=other n%d\n", i);
		ck_assert(send_all(other, line, (size_t)n));
	}
	close(other);
	/* all of the other client's lines, while the silent and the stalled ones hold their connections */
	wait_messages(&s.d, s.d.out, "other n", 500);
	ck_assert(send_all(stalled, " and ends\n", 10));
	close(stalled);
	wait_messages(&s.d, s.d.out, "stalled begins and ends", 1);
	ck_assert_int_eq(th_clewd_stop(&s.d), 0);
	close(silent);
	ck_assert_uint_eq(count_messages(s.d.out, "stalled"), 1); /* whole, not in pieces */
	ck_assert_uint_eq(count_messages(s.d.out, "other n"), 500);
	ck_assert_int_eq(closed_counter(&s.d, kinds[_i], "connections"), 3);
}
END_TEST

/* Wait until clewd's debug log has @n "connection closed" lines. */
static void wait_closed(struct th_clewd *d, int n)
{
	double until = th_now() + TH_WAIT_BOUND_S;

	for (;;) {
		char *log = th_slurp_or_empty(d->err, NULL), *p = log;
		int k = 0;
		while ((p = strstr(p, "\"connection closed\"")) != NULL) {
			k++;
			p++;
		}
		free(log);
		if (k >= n)
			return;
		ck_assert_msg(th_clewd_alive(d) && th_now() < until, "clewd did not close %d connections", n);
		th_msleep(20);
	}
}

START_TEST(max_connections_closes_the_one_too_many_and_a_freed_slot_is_reused)
{
	static const char *const extra[] = {"--log-level", "debug", NULL};
	struct stream s;
	char buf[16];
	json_t *warn;
	int a, b, c, e;
	ssize_t r;

	stream_start(&s, _i, "?max_connections=2", extra);
	a = stream_connect(&s);
	ck_assert(send_all(a, "T1|svc|-|-|msg=first\n", 21));
	b = stream_connect(&s);
	ck_assert(send_all(b, "T2|svc|-|-|msg=second\n", 22));
	wait_messages(&s.d, s.d.out, "first", 1);
	wait_messages(&s.d, s.d.out, "second", 1);
	/* both are in: the third is accepted and closed at once */
	c = stream_connect(&s);
	while ((r = recv(c, buf, sizeof(buf), 0)) < 0 && errno == EINTR)
		;
	ck_assert_int_le(r, 0);
	close(c);
	warn = th_clewd_wait_log(&s.d, "max_connections reached: connection closed", kinds[_i]);
	ck_assert_str_eq(json_string_value(json_object_get(warn, "rejected")), "1");
	json_decref(warn);
	/* close a: once clewd has seen it go, its slot is free */
	close(a);
	wait_closed(&s.d, 1);
	e = stream_connect(&s);
	ck_assert(send_all(e, "T4|svc|-|-|msg=in a freed slot\n", 31));
	wait_messages(&s.d, s.d.out, "in a freed slot", 1);
	ck_assert_int_eq(th_clewd_stop(&s.d), 0);
	close(b);
	close(e);
	ck_assert_int_eq(closed_counter(&s.d, kinds[_i], "connections"), 3);
	ck_assert_int_eq(closed_counter(&s.d, kinds[_i], "rejected"), 1);
}
END_TEST

START_TEST(sigterm_delivers_every_line_received_and_the_partial_last_one)
{
	struct stream s;
	char *buf = malloc(1000 * 64 + 64);
	size_t len = 0;
	int fd;

	ck_assert_ptr_nonnull(buf);
	for (int i = 0; i < 1000; i++)
		len += (size_t)snprintf(buf + len, 64, "T1|svc|-|-|msg=term n%d\n", i);
	len += (size_t)snprintf(buf + len, 64, "T1|svc|-|-|msg=unfinished at sigterm");
	stream_start(&s, _i, "", NULL);
	fd = stream_connect(&s);
	ck_assert(send_all(fd, buf, len)); /* one write: the partial line went with the others */
	wait_messages(&s.d, s.d.out, "term n999", 1);
	/* the connection is still open, the last line has no newline: SIGTERM must deliver it */
	ck_assert_int_eq(th_clewd_stop(&s.d), 0);
	close(fd);
	ck_assert_uint_eq(count_messages(s.d.out, "term n"), 1000);
	ck_assert_uint_eq(count_messages(s.d.out, "unfinished at sigterm"), 1);
	free(buf);
}
END_TEST

START_TEST(a_stream_input_stops_reading_while_the_outputs_are_behind_and_loses_nothing)
{
	/* 256 MiB: far past what the queue (CD_QUEUE_CHUNKS_MAX chunks) and the socket buffers hold */
	const long long bound = 256ll * 1024 * 1024;
	char buf[65536 + 256];
	char out[600];
	struct stream s;
	struct recs rs;
	long long total = 0;
	size_t len = 0, off = 0, dup = 0;
	int p[2], fd, n = 0, *seen;
	bool stalled = false;
	pid_t reader;

	/*
	 * stdout: a pipe nobody reads, non-blocking, so the output answers "retry" and chunks pile
	 * up. O_NONBLOCK belongs to the open pipe, which this process shares with clewd's stdout: it
	 * is cleared from here to let the output recover.
	 */
	snprintf(out, sizeof(out), "%s/bp.json", tmp);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) | O_NONBLOCK), 0);
	stream_start_fd(&s, _i, "", NULL, p[1]);
	fd = stream_connect(&s);
	ck_assert_int_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
	while (total < bound) {
		ssize_t w;
		if (off == len) {
			len = off = 0;
			while (len < 65536)
				len += (size_t)snprintf(
					buf + len, 256,
					"T1|svc|-|-|msg=bp n%08d padding the line to a hundred bytes "
					"or so for volume\n",
					n++);
		}
		w = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		if (w > 0) {
			off += (size_t)w;
			total += w;
			continue;
		}
		ck_assert_msg(w < 0 && (errno == EAGAIN || errno == EINTR), "send: %s", strerror(errno));
		{
			struct pollfd pf = {.fd = fd, .events = POLLOUT};
			/* clewd has stopped reading: its queue is full and the kernel pushes back */
			if (poll(&pf, 1, 3000) == 0) {
				stalled = true;
				break;
			}
		}
	}
	ck_assert_msg(stalled, "clewd read %lld bytes without pushing back", total);
	ck_assert(th_clewd_alive(&s.d));
	/* the output recovers: everything sent arrives */
	ck_assert_int_eq(fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) & ~O_NONBLOCK), 0);
	reader = spawn_reader(p[0], p[1], out);
	close(p[0]);
	close(p[1]);
	ck_assert_int_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK), 0);
	ck_assert(send_all(fd, buf + off, len - off));
	close(fd);
	{
		char last[32];
		snprintf(last, sizeof(last), "bp n%08d", n - 1);
		wait_messages(&s.d, out, last, 1);
	}
	ck_assert_int_eq(th_clewd_stop(&s.d), 0);
	ck_assert_int_eq(th_wait(reader), 0);
	seen = calloc((size_t)n, sizeof(int));
	ck_assert_ptr_nonnull(seen);
	rs = recs_load(out);
	for (size_t k = 0; k < rs.n; k++) {
		int i;
		const char *m = rec_str(rs.r[k], "message");
		ck_assert_msg(m && sscanf(m, "bp n%d", &i) == 1 && i >= 0 && i < n, "stray record %s", m);
		seen[i]++;
	}
	for (int i = 0; i < n; i++) {
		ck_assert_msg(seen[i] >= 1, "line %d of %d lost", i, n);
		dup += seen[i] > 1;
	}
	/* a chunk the stuck pipe took in part is written again whole (at least once) */
	fprintf(stderr, "%s backpressure: %d lines, %zu delivered twice\n", kinds[_i], n, dup);
	recs_free(&rs);
	free(seen);
}
END_TEST

START_TEST(an_idle_connection_is_closed_after_idle_timeout_and_frees_its_slot)
{
	struct stream s;
	char buf[16], line[64];
	json_t *info;
	int a, b, c;
	ssize_t r;

	stream_start(&s, _i, "?max_connections=2&idle_timeout=1s", NULL);
	a = stream_connect(&s);
	ck_assert(send_all(a, "T1|svc|-|-|msg=half a line, then silence", 40));
	b = stream_connect(&s);
	/* b talks more often than the timeout: it stays; a says nothing more and is closed */
	for (int k = 0; k < 12; k++) {
		int n = snprintf(line, sizeof(line), "T2|svc|-|-|msg=busy %d\n", k);
		ck_assert(send_all(b, line, (size_t)n));
		th_msleep(250);
	}
	while ((r = recv(a, buf, sizeof(buf), 0)) < 0 && errno == EINTR)
		;
	ck_assert_int_eq(r, 0); /* clewd closed it */
	close(a);
	info = th_clewd_wait_log(&s.d, "idle connections closed (idle_timeout)", kinds[_i]);
	json_decref(info);
	/* its partial line became a record, as at a close; its slot is free for a new client */
	wait_messages(&s.d, s.d.out, "half a line, then silence", 1);
	c = stream_connect(&s);
	ck_assert(send_all(c, "T3|svc|-|-|msg=in the idle one's slot\n", 38));
	wait_messages(&s.d, s.d.out, "in the idle one's slot", 1);
	ck_assert(send_all(b, "T2|svc|-|-|msg=still here\n", 26));
	wait_messages(&s.d, s.d.out, "still here", 1);
	wait_messages(&s.d, s.d.out, "busy 11", 1);
	ck_assert_int_eq(th_clewd_stop(&s.d), 0);
	close(b);
	close(c);
	ck_assert_int_eq(closed_counter(&s.d, kinds[_i], "rejected"), 0);
}
END_TEST

static Suite *tcp_suite(void)
{
	Suite *s = suite_create("in_tcp");
	TCase *tc = tcase_create("stream");

	tcase_add_checked_fixture(tc, net_setup, net_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, lines_of_concurrent_connections_arrive_once_each_and_in_order, 0, 2);
	tcase_add_loop_test(tc, a_half_line_at_disconnect_becomes_a_record_of_its_own, 0, 2);
	tcase_add_loop_test(tc, an_overlong_line_is_split_and_flagged_never_dropped, 0, 2);
	tcase_add_loop_test(tc, invalid_utf8_nul_and_binary_garbage_are_kept_as_raw_records, 0, 2);
	tcase_add_loop_test(tc, a_silent_or_stalled_client_does_not_block_the_others, 0, 2);
	tcase_add_loop_test(tc, max_connections_closes_the_one_too_many_and_a_freed_slot_is_reused, 0, 2);
	tcase_add_loop_test(tc, sigterm_delivers_every_line_received_and_the_partial_last_one, 0, 2);
	tcase_add_loop_test(tc, an_idle_connection_is_closed_after_idle_timeout_and_frees_its_slot, 0, 2);
	tcase_add_loop_test(tc, a_stream_input_stops_reading_while_the_outputs_are_behind_and_loses_nothing,
			    0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tcp_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
