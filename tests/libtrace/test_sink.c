/*
 * test_sink.c - the socket outputs (libtrace/src/sink.c): unix (stream
 * and datagram), udp and tcp receive whole lines; a peer that goes away
 * costs records, counted, never the process (no SIGPIPE).
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "clew/clew.h"
#include "fmt/pipe.h"
#include "fmt/str.h"

static char sock_path[108];

static clew_client *client(const char *output)
{
	struct clew_options o;
	clew_client *c = NULL;

	clew_options_default(&o);
	o.flags = CLEW_OPT_IGNORE_ENV;
	o.service = "sink";
	o.output = output;
	ck_assert_int_eq(clew_client_new(&c, &o), 0);
	return c;
}

/* A listening or bound socket: unix at sock_path, or inet on 127.0.0.1 with *port set. */
static int listener(int family, int type, unsigned *port)
{
	int fd = socket(family, type, 0);

	ck_assert_int_ge(fd, 0);
	if (family == AF_UNIX) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};

		snprintf(sock_path, sizeof(sock_path), "/tmp/clew-sink-%d.sock", (int)getpid());
		unlink(sock_path);
		strcpy(sa.sun_path, sock_path);
		ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	} else {
		struct sockaddr_in sa = {.sin_family = AF_INET};
		socklen_t len = sizeof(sa);

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
		*port = ntohs(sa.sin_port);
	}
	if (type == SOCK_STREAM)
		ck_assert_int_eq(listen(fd, 4), 0);
	return fd;
}

/* @buf (@len bytes) must be exactly one record line whose message is @msg. */
static void check_line(const char *buf, size_t len, const char *msg)
{
	struct fmt_record rec;
	char text[256];

	ck_assert_uint_gt(len, 1);
	ck_assert_int_eq(buf[len - 1], '\n');
	ck_assert_ptr_eq(memchr(buf, '\n', len), buf + len - 1);
	ck_assert_int_eq(fmt_pipe_parse(buf, len - 1, &rec, NULL), 0);
	text[fmt_str_decode(&rec.message, text)] = '\0';
	ck_assert_str_eq(text, msg);
}

/* Read one line from a stream socket. */
static size_t read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;

	while (n < cap) {
		ssize_t r = read(fd, buf + n, 1);

		ck_assert_int_eq(r, 1);
		if (buf[n++] == '\n')
			break;
	}
	return n;
}

START_TEST(a_unix_datagram_socket_gets_one_record_per_datagram)
{
	int fd = listener(AF_UNIX, SOCK_DGRAM, NULL);
	char spec[128], buf[CLEW_LINE_MAX];
	clew_client *c;

	snprintf(spec, sizeof(spec), "unix:%s", sock_path);
	c = client(spec);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(clew_log(c, CLEW_LEVEL_INFO, CLEW_NOKV, "datagram %d", i), 0);
	for (int i = 0; i < 3; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		char msg[32];

		snprintf(msg, sizeof(msg), "datagram %d", i);
		ck_assert_int_gt(n, 0);
		check_line(buf, (size_t)n, msg);
	}
	clew_client_free(c);
	close(fd);
	unlink(sock_path);
}
END_TEST

START_TEST(a_unix_stream_socket_gets_lines)
{
	int lfd = listener(AF_UNIX, SOCK_STREAM, NULL), fd;
	char spec[128], buf[CLEW_LINE_MAX];
	clew_client *c;

	snprintf(spec, sizeof(spec), "unix:%s", sock_path);
	c = client(spec);
	fd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(clew_log(c, CLEW_LEVEL_INFO, CLEW_NOKV, "first"), 0);
	ck_assert_int_eq(clew_log(c, CLEW_LEVEL_INFO, CLEW_NOKV, "second"), 0);
	check_line(buf, read_line(fd, buf, sizeof(buf)), "first");
	check_line(buf, read_line(fd, buf, sizeof(buf)), "second");
	clew_client_free(c);
	close(fd);
	close(lfd);
	unlink(sock_path);
}
END_TEST

START_TEST(udp_gets_one_record_per_datagram)
{
	unsigned port;
	int fd = listener(AF_INET, SOCK_DGRAM, &port);
	char spec[64], buf[CLEW_LINE_MAX];
	clew_client *c;
	ssize_t n;

	snprintf(spec, sizeof(spec), "udp:127.0.0.1:%u", port);
	c = client(spec);
	ck_assert_int_eq(clew_log(c, CLEW_LEVEL_ERROR, CLEW_NOKV, "over udp"), 0);
	n = recv(fd, buf, sizeof(buf), 0);
	ck_assert_int_gt(n, 0);
	check_line(buf, (size_t)n, "over udp");
	clew_client_free(c);
	close(fd);
}
END_TEST

START_TEST(tcp_gets_lines_and_a_peer_gone_costs_records_not_the_process)
{
	unsigned port;
	int lfd = listener(AF_INET, SOCK_STREAM, &port), fd, rc = 0;
	char spec[64], buf[CLEW_LINE_MAX];
	clew_client *c;

	snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%u", port);
	c = client(spec);
	fd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(clew_log(c, CLEW_LEVEL_INFO, CLEW_NOKV, "over tcp"), 0);
	check_line(buf, read_line(fd, buf, sizeof(buf)), "over tcp");
	close(fd);
	close(lfd);
	/* The first writes may still be accepted by the kernel; then EPIPE, never SIGPIPE. */
	for (int i = 0; i < 100 && rc == 0; i++)
		rc = clew_log(c, CLEW_LEVEL_INFO, CLEW_NOKV, "into the void %d", i);
	ck_assert_int_eq(rc, -CLEW_EIO);
	ck_assert_uint_ge(clew_client_dropped(c), 1);
	clew_client_free(c);
}
END_TEST

START_TEST(a_tcp_output_nobody_listens_on_fails_to_open)
{
	unsigned port;
	int lfd = listener(AF_INET, SOCK_STREAM, &port);
	struct clew_options o;
	char spec[64];
	clew_client *c = NULL;

	close(lfd); /* the port is now (almost certainly) closed */
	snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%u", port);
	clew_options_default(&o);
	o.flags = CLEW_OPT_IGNORE_ENV;
	o.output = spec;
	ck_assert_int_eq(clew_client_new(&c, &o), -CLEW_EIO);
	ck_assert_ptr_null(c);
	o.output = "unix:/nonexistent/clew.sock";
	ck_assert_int_eq(clew_client_new(&c, &o), -CLEW_EIO);
}
END_TEST

static Suite *sink_suite(void)
{
	Suite *s = suite_create("sink");
	TCase *tc = tcase_create("sink");

	tcase_add_test(tc, a_unix_datagram_socket_gets_one_record_per_datagram);
	tcase_add_test(tc, a_unix_stream_socket_gets_lines);
	tcase_add_test(tc, udp_gets_one_record_per_datagram);
	tcase_add_test(tc, tcp_gets_lines_and_a_peer_gone_costs_records_not_the_process);
	tcase_add_test(tc, a_tcp_output_nobody_listens_on_fails_to_open);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sink_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
