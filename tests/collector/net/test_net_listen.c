/*
 * test_net_listen.c - what every network input shares: where it binds
 * (loopback unless an address says otherwise, checked in the kernel's
 * own socket tables), how it is configured (YAML and -i specs, errors
 * with their line), and that random bytes thrown at each socket leave
 * clewd up, delivering, and counting what it received.
 */
#include "harness.h"

#include "cd_limits.h"

/* Whether /proc/net/@proto lists a socket bound to @hexaddr:@port in state @state (hex). */
static bool proc_net_has(const char *proto, const char *hexaddr, int port, const char *state)
{
	char path[64], want[64], line[512];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/net/%s", proto);
	snprintf(want, sizeof(want), "%s:%04X", hexaddr, port);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (!found && fgets(line, sizeof(line), f)) {
		char local[64], remote[64], st[8];
		if (sscanf(line, " %*d: %63s %63s %7s", local, remote, st) == 3 && strcmp(local, want) == 0 &&
		    strcmp(st, state) == 0)
			found = true;
	}
	fclose(f);
	return found;
}

/* The port of the input of @kind listening on @listen (warned or not). */
static int port_of(struct th_clewd *d, const char *kind, const char *listen)
{
	return th_clewd_port(d, kind, listen);
}

static int count_log(const struct th_clewd *d, const char *needle)
{
	char *log = th_slurp_or_empty(d->err, NULL), *p = log;
	int n = 0;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p++;
	}
	free(log);
	return n;
}

START_TEST(listeners_bind_loopback_unless_an_address_says_otherwise)
{
	static const char *const args[] = {
		"-i", "tcp://:0",    "-i", "tcp://0.0.0.0:0",	 "-i", "udp://0",     "-i", "udp://0.0.0.0:0",
		"-i", "http://:0/a", "-i", "http://0.0.0.0:0/b", "-o", "stdout:json", NULL};
	struct th_clewd d;
	int tl, ta, ul, ua, hl, ha;

	clewd_start(&d, args);
	tl = port_of(&d, "tcp", "127.0.0.1:0");
	ta = port_of(&d, "tcp", "0.0.0.0:0");
	ul = port_of(&d, "udp", "127.0.0.1:0");
	ua = port_of(&d, "udp", "0.0.0.0:0");
	hl = port_of(&d, "http", "127.0.0.1:0");
	ha = port_of(&d, "http", "0.0.0.0:0");
	/* the kernel's view: 0100007F is 127.0.0.1; state 0A is LISTEN, 07 an unconnected UDP socket */
	ck_assert(proc_net_has("tcp", "0100007F", tl, "0A"));
	ck_assert(proc_net_has("tcp", "00000000", ta, "0A"));
	ck_assert(proc_net_has("udp", "0100007F", ul, "07"));
	ck_assert(proc_net_has("udp", "00000000", ua, "07"));
	ck_assert(proc_net_has("tcp", "0100007F", hl, "0A"));
	ck_assert(proc_net_has("tcp", "00000000", ha, "0A"));
	ck_assert(!proc_net_has("tcp", "00000000", tl, "0A"));
	ck_assert(!proc_net_has("tcp", "00000000", hl, "0A"));
	/* a warning for each listener beyond loopback, and only for those */
	ck_assert_int_eq(count_log(&d, "listening beyond loopback"), 3);
	ck_assert_int_eq(count_log(&d, "\"message\":\"listening\""), 3);
	/* both kinds work from loopback */
	ck_assert_int_eq(http_post(hl, "/a", "", "{\"message\":\"via a\"}", 19, NULL, 0), 204);
	ck_assert_int_eq(http_post(ha, "/b", "", "{\"message\":\"via b\"}", 19, NULL, 0), 204);
	wait_messages(&d, d.out, "via ", 2);
	ck_assert_int_eq(th_clewd_stop(&d), 0);
}
END_TEST

/* Run clewd with @args, stdout to a file; its exit status, stdout+stderr in *out. */
static int run_clewd(const char *const *args, char **out)
{
	struct th_clewd d;
	char *o, *e;
	size_t lo, le;
	int st;

	clewd_start(&d, args);
	st = th_wait(d.pid);
	o = th_slurp_or_empty(d.out, &lo);
	e = th_slurp_or_empty(d.err, &le);
	*out = malloc(lo + le + 1);
	ck_assert_ptr_nonnull(*out);
	memcpy(*out, o, lo);
	memcpy(*out + lo, e, le + 1);
	free(o);
	free(e);
	return st;
}

START_TEST(yaml_and_specs_configure_every_network_input_and_name_what_is_wrong)
{
	char yaml[2048], *out, cfg[600];
	const char *args[] = {"-c", cfg, "--check-config", NULL};
	static const struct {
		const char *input; /* one YAML input (indented list item) */
		const char *error; /* expected in the message */
		bool line;	   /* the message names the file and line */
	} bad[] = {
		{"  - type: udp\n    listen: 5171\n    max_connections: 3\n", "a datagram socket has none",
		 true},
		{"  - type: tail\n    path: /x\n    listen: 5170\n", "for network inputs", true},
		{"  - type: unix\n    path: /tmp/a.sock\n    listen: unix:/tmp/b.sock\n", "not both", true},
		{"  - type: http\n    listen: 8080\n    path: ingest\n", "expected /SOME/PATH", true},
		{"  - type: tcp\n    listen: localhost:5170\n", "numeric", true},
		{"  - type: tcp\n", "needs listen", true},
		{"  - type: tcp\n    listen: 5170\n    max_connections: 0\n", "max_connections", true},
		{"  - type: tcp\n    listen: 70000\n", "port 0..65535", true},
		{"  - type: tcp\n    listen: 5170\n  - type: http\n    listen: 127.0.0.1:5170\n",
		 "two inputs listen on 127.0.0.1:5170", false},
	};
	static const char *const bad_specs[] = {
		"tcp://127.0.0.1:5170/x",
		"udp://127.0.0.1:1?max_connections=2",
		"http://127.0.0.1:1?max_connections=0",
		"tcp://[::1",
		"unix://",
		"ftp://127.0.0.1:21",
	};

	snprintf(cfg, sizeof(cfg), "%s/clewd.yaml", tmp);
	snprintf(yaml, sizeof(yaml),
		 "inputs:\n"
		 "  - type: tcp\n    listen: 5170\n    max_connections: 10\n"
		 "  - type: udp\n    listen: \"0.0.0.0:5171\"\n"
		 "  - type: unix\n    path: %s/in.sock\n"
		 "  - type: unixgram\n    listen: unix:%s/g.sock\n"
		 "  - type: http\n    listen: \":8080\"\n    path: /ingest\n"
		 "  - type: http\n    listen: \"[::1]:8081\"\n"
		 "outputs:\n  - type: stdout\n",
		 tmp, tmp);
	th_write_text(cfg, yaml);
	ck_assert_int_eq(run_clewd(args, &out), 0);
	ck_assert_msg(strstr(out, "tcp 127.0.0.1:5170 max_connections 10"), "%s", out);
	ck_assert_msg(strstr(out, "udp 0.0.0.0:5171\n"), "%s", out);
	ck_assert_msg(strstr(out, "unix unix:") && strstr(out, "/in.sock max_connections 256"), "%s", out);
	ck_assert_msg(strstr(out, "unixgram unix:") && strstr(out, "/g.sock\n"), "%s", out);
	ck_assert_msg(strstr(out, "http 127.0.0.1:8080 path /ingest max_connections 256"), "%s", out);
	ck_assert_msg(strstr(out, "http [::1]:8081 path / max_connections"), "%s", out);
	free(out);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(yaml, sizeof(yaml), "inputs:\n%soutputs:\n  - type: stdout\n", bad[i].input);
		th_write_text(cfg, yaml);
		ck_assert_int_eq(run_clewd(args, &out), 2);
		ck_assert_msg(strstr(out, bad[i].error) && (!bad[i].line || strstr(out, "clewd.yaml:")),
			      "case %zu: %s", i, out);
		free(out);
	}
	for (size_t i = 0; i < sizeof(bad_specs) / sizeof(bad_specs[0]); i++) {
		const char *sargs[] = {"-i", bad_specs[i], "--check-config", NULL};
		ck_assert_int_eq(run_clewd(sargs, &out), 2);
		ck_assert_msg(strstr(out, "input '"), "spec %s: %s", bad_specs[i], out);
		free(out);
	}
}
END_TEST

/* @n random bytes into @buf (xorshift: reproducible from the seed). */
static void random_bytes(unsigned char *buf, size_t n, uint64_t *s)
{
	for (size_t i = 0; i < n; i++) {
		*s ^= *s << 13;
		*s ^= *s >> 7;
		*s ^= *s << 17;
		buf[i] = (unsigned char)*s;
	}
}

static size_t random_below(size_t n, uint64_t *s)
{
	unsigned char b[8];
	uint64_t v;

	random_bytes(b, sizeof(b), s);
	memcpy(&v, b, sizeof(v));
	return (size_t)(v % n);
}

START_TEST(random_bytes_at_every_socket_leave_clewd_up_and_counting)
{
	enum { NCONN = 12, NUDP = 300, NUGRAM = 120, NHTTP = 20 };
	static unsigned char buf[512 * 1024];
	static const char tcp_marker[] = "T1|svc|-|-|msg=tcp marker\n",
			  unix_marker[] = "T1|svc|-|-|msg=unix marker\n";
	char tcp_spec[64] = "tcp://127.0.0.1:0", unix_spec[700], gram_spec[700];
	const char *args[] = {"-i", tcp_spec,
			      "-i", unix_spec,
			      "-i", "udp://127.0.0.1:0",
			      "-i", gram_spec,
			      "-i", "http://127.0.0.1:0/in",
			      "-o", "stdout:json",
			      NULL};
	char sock[600], gsock[600];
	uint64_t seed = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	long long tcp_bytes = 0, tcp_rst_bytes = 0, unix_bytes = 0, udp_sent = 0, gram_sent = 0, gram_big = 0;
	long long http_ok = 0;
	int tport, uport, hport, fd, sndbuf = 4 * 1024 * 1024;
	struct th_clewd d;
	struct recs rs;

	fprintf(stderr, "random bytes: seed %llu\n", (unsigned long long)seed);
	snprintf(sock, sizeof(sock), "%s/s.sock", tmp);
	snprintf(gsock, sizeof(gsock), "%s/g.sock", tmp);
	snprintf(unix_spec, sizeof(unix_spec), "unix://%s", sock);
	snprintf(gram_spec, sizeof(gram_spec), "unixgram://%s", gsock);
	clewd_start(&d, args);
	tport = th_clewd_port(&d, "tcp", NULL);
	uport = th_clewd_port(&d, "udp", NULL);
	hport = th_clewd_port(&d, "http", NULL);
	th_clewd_port(&d, "unix", NULL);
	th_clewd_port(&d, "unixgram", NULL);

	/* stream sockets: random lengths in random pieces; every fourth tcp one ends in a reset */
	for (int c = 0; c < 2 * NCONN; c++) {
		bool is_unix = c >= NCONN, rst = !is_unix && c % 4 == 3;
		size_t n = random_below(sizeof(buf), &seed);
		unsigned pseed = (unsigned)c;
		fd = is_unix ? unix_connect(sock, SOCK_STREAM) : tcp_connect(tport);
		random_bytes(buf, n, &seed);
		ck_assert(send_pieces(fd, (const char *)buf, n, 70000, &pseed));
		if (rst) {
			struct linger l = {.l_onoff = 1, .l_linger = 0};
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
			tcp_rst_bytes += (long long)n;
		} else if (is_unix) {
			unix_bytes += (long long)n;
		} else {
			tcp_bytes += (long long)n;
		}
		close(fd);
	}
	/* udp: random datagrams up to the largest; the kernel may drop some (counted) */
	fd = udp_connect(uport);
	for (int i = 0; i < NUDP; i++) {
		size_t n = random_below(65508, &seed);
		random_bytes(buf, n, &seed);
		if (send(fd, buf, n, 0) == (ssize_t)n)
			udp_sent++;
	}
	close(fd);
	/* unixgram: random datagrams, some past CD_DGRAM_MAX (cut, counted); the sender blocks, no drops */
	fd = unix_connect(gsock, SOCK_DGRAM);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	for (int i = 0; i < NUGRAM; i++) {
		size_t n = random_below(CD_DGRAM_MAX + 60000, &seed);
		random_bytes(buf, n, &seed);
		ck_assert_int_eq(send(fd, buf, n, 0), (ssize_t)n);
		gram_sent++;
		gram_big += n > CD_DGRAM_MAX;
	}
	close(fd);
	/* http: garbage instead of a request, and POSTs of random bodies */
	for (int i = 0; i < NHTTP; i++) {
		size_t n = 1 + random_below(64 * 1024, &seed);
		random_bytes(buf, n, &seed);
		fd = tcp_connect(hport);
		send_all(fd, buf, n); /* the server may close on it: whatever it answers */
		close(fd);
		n = random_below(sizeof(buf), &seed);
		random_bytes(buf, n, &seed);
		ck_assert_int_eq(http_post_retry(hport, "/in", buf, n), 204);
		http_ok++;
	}

	/* still up, and each input still delivers */
	ck_assert(th_clewd_alive(&d));
	fd = tcp_connect(tport);
	ck_assert(send_all(fd, tcp_marker, strlen(tcp_marker)));
	close(fd);
	fd = unix_connect(sock, SOCK_STREAM);
	ck_assert(send_all(fd, unix_marker, strlen(unix_marker)));
	close(fd);
	fd = unix_connect(gsock, SOCK_DGRAM);
	ck_assert_int_eq(send(fd, "T1|svc|-|-|msg=unixgram marker", 30, 0), 30);
	close(fd);
	ck_assert_int_eq(http_post_retry(hport, "/in", "{\"message\":\"http marker\"}", 25), 204);
	fd = udp_connect(uport);
	while (count_messages(d.out, "udp marker") == 0) {
		ck_assert_int_eq(send(fd, "T1|svc|-|-|msg=udp marker", 25, 0), 25);
		udp_sent++;
		if (count_messages(d.out, "udp marker") == 0)
			th_msleep(200);
		ck_assert(th_clewd_alive(&d));
	}
	close(fd);
	wait_messages(&d, d.out, "tcp marker", 1);
	wait_messages(&d, d.out, "unix marker", 1);
	wait_messages(&d, d.out, "unixgram marker", 1);
	wait_messages(&d, d.out, "http marker", 1);
	ck_assert_int_eq(th_clewd_stop(&d), 0);

	/* every output line is a JSON record, whatever came in */
	rs = recs_load(d.out);
	ck_assert_uint_eq(rs.bad, 0);
	ck_assert_uint_gt(rs.n, 0);
	recs_free(&rs);
	/* and what was received is counted */
	ck_assert_int_eq(closed_counter(&d, "tcp", "connections"), NCONN + 1);
	tcp_bytes += (long long)strlen(tcp_marker);
	ck_assert_int_ge(closed_counter(&d, "tcp", "bytes"), tcp_bytes);
	ck_assert_int_le(closed_counter(&d, "tcp", "bytes"), tcp_bytes + tcp_rst_bytes);
	ck_assert_int_eq(closed_counter(&d, "unix", "connections"), NCONN + 1);
	ck_assert_int_eq(closed_counter(&d, "unix", "bytes"), unix_bytes + (long long)strlen(unix_marker));
	ck_assert_int_eq(closed_counter(&d, "unixgram", "datagrams"), gram_sent + 1);
	ck_assert_int_eq(closed_counter(&d, "unixgram", "truncated"), gram_big);
	ck_assert_int_eq(closed_counter(&d, "udp", "datagrams") + closed_counter(&d, "udp", "kernel_drops"),
			 udp_sent);
	ck_assert_int_eq(closed_counter(&d, "http", "accepted"), http_ok + 1);
}
END_TEST

static Suite *listen_suite(void)
{
	Suite *s = suite_create("net_listen");
	TCase *tc = tcase_create("listen");

	tcase_add_checked_fixture(tc, net_setup, net_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, listeners_bind_loopback_unless_an_address_says_otherwise);
	tcase_add_test(tc, yaml_and_specs_configure_every_network_input_and_name_what_is_wrong);
	tcase_add_test(tc, random_bytes_at_every_socket_leave_clewd_up_and_counting);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(listen_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
