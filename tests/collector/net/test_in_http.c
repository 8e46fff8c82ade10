/*
 * test_in_http.c - the http input (collector/input/in_http.c) through a
 * real clewd, spoken to in plain HTTP/1.1 over sockets (so that broken
 * requests can be sent as easily as good ones).
 */
#include <zlib.h>

#include "harness.h"

#include "cd_limits.h"

struct web {
	struct th_clewd d; /* the daemon */
	int port;	   /* the port clewd bound */
};

static void web_start_fd(struct web *w, const char *const *extra, int out_fd)
{
	const char *args[32] = {"-i", "http://127.0.0.1:0/ingest", "-o", "stdout:json"};
	size_t n = 4;

	while (extra && *extra && n < 31)
		args[n++] = *extra++;
	args[n] = NULL;
	clewd_start_fd(&w->d, args, out_fd);
	w->port = th_clewd_port(&w->d, "http", NULL);
}

/* @n bytes of @in as one gzip member appended to @out at *len. */
static void gzip_member(const char *in, size_t n, unsigned char *out, size_t cap, size_t *len)
{
	z_stream z;

	memset(&z, 0, sizeof(z));
	ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	z.next_out = out + *len;
	z.avail_out = (uInt)(cap - *len);
	ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	*len = cap - z.avail_out;
	deflateEnd(&z);
}

enum { NCLI = 4, NREQ = 25, NL = 40 };

START_TEST(posted_ndjson_of_concurrent_clients_is_delivered_once_each_and_in_order)
{
	static int seen[NCLI][NREQ * NL];
	struct web w;
	struct recs rs;
	pid_t kids[NCLI];
	int last[NCLI];

	web_start_fd(&w, NULL, -1);
	for (int c = 0; c < NCLI; c++) {
		kids[c] = th_fork();
		if (kids[c] == 0) {
			char body[NL * 96];
			for (int r = 0; r < NREQ; r++) {
				size_t len = 0;
				for (int k = 0; k < NL; k++) {
					int i = r * NL + k;
					len += (size_t)snprintf(
						body + len, sizeof(body) - len,
						"{\"trace\":\"T%d\",\"message\":\"c%d n%06d;\"}%s", c, c, i,
						k < NL - 1 ? "\n" : ""); /* last: no newline */
				}
				if (http_post_retry(w.port, "/ingest", body, len) != 204)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (int c = 0; c < NCLI; c++)
		ck_assert_msg(th_wait(kids[c]) == 0, "client %d failed", c);
	/* every body was answered 204: its records are in clewd, and SIGTERM delivers them */
	ck_assert_int_eq(th_clewd_stop(&w.d), 0);
	rs = recs_load(w.d.out);
	ck_assert_uint_eq(rs.bad, 0);
	for (int c = 0; c < NCLI; c++)
		last[c] = -1;
	for (size_t k = 0; k < rs.n; k++) {
		const char *m = rec_str(rs.r[k], "message");
		int c, i;
		ck_assert_msg(m && sscanf(m, "c%d n%d;", &c, &i) == 2 && c >= 0 && c < NCLI && i >= 0 &&
				      i < NREQ * NL,
			      "stray record %s", m);
		ck_assert_msg(i > last[c], "client %d: line %d after %d", c, i, last[c]);
		last[c] = i;
		seen[c][i]++;
	}
	for (int c = 0; c < NCLI; c++)
		for (int i = 0; i < NREQ * NL; i++)
			ck_assert_msg(seen[c][i] == 1, "client %d line %d seen %d times", c, i, seen[c][i]);
	ck_assert_int_eq(closed_counter(&w.d, "http", "accepted"), NCLI * NREQ);
	recs_free(&rs);
}
END_TEST

START_TEST(every_answer_says_what_happened_to_the_body)
{
	static unsigned char gz[4096];
	static const char plain[] = "{\"message\":\"gz one\"}\n{\"message\":\"gz two\"}\n";
	static const char plain2[] = "{\"message\":\"gz three, second member\"}";
	const size_t big = CD_HTTP_BODY_MAX + 1024 * 1024;
	char resp[4096], head[512], *chunked;
	size_t gzlen = 0, clen = 0;
	struct web w;

	web_start_fd(&w, NULL, -1);
	ck_assert_int_eq(
		http_exchange(w.port, "GET /ingest HTTP/1.1\r\nHost: x", NULL, 0, resp, sizeof(resp)), 405);
	ck_assert_msg(strstr(resp, "Allow: POST"), "no Allow header: %s", resp);
	ck_assert_int_eq(http_post(w.port, "/other", "", "x\n", 2, NULL, 0), 404);
	ck_assert_int_eq(http_post(w.port, "/ingest/", "", "x\n", 2, NULL, 0), 404);
	/* too large by its Content-Length: answered before the body (none is sent) */
	snprintf(head, sizeof(head), "POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: %u",
		 CD_HTTP_BODY_MAX + 1);
	ck_assert_int_eq(http_exchange(w.port, head, NULL, 0, NULL, 0), 413);
	/* too large in chunks, its length unknown until it is read */
	chunked = malloc(big + 64 * 1024);
	ck_assert_ptr_nonnull(chunked);
	for (size_t sent = 0; sent < big; sent += 60000) {
		clen += (size_t)snprintf(chunked + clen, 16, "%x\r\n", 60000);
		memset(chunked + clen, 'y', 60000);
		clen += 60000;
		memcpy(chunked + clen, "\r\n", 2);
		clen += 2;
	}
	memcpy(chunked + clen, "0\r\n\r\n", 5);
	clen += 5;
	ck_assert_int_eq(http_exchange(w.port,
				       "POST /ingest HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked",
				       chunked, clen, NULL, 0),
			 413);
	free(chunked);
	ck_assert_int_eq(http_post(w.port, "/ingest", "Content-Encoding: br\r\n", "x\n", 2, NULL, 0), 415);
	ck_assert_int_eq(http_post(w.port, "/ingest", "Content-Encoding: gzip\r\n", "not gzip\n", 9, NULL, 0),
			 400);
	/* gzip, two members: decoded whole */
	gzip_member(plain, sizeof(plain) - 1, gz, sizeof(gz), &gzlen);
	gzip_member(plain2, sizeof(plain2) - 1, gz, sizeof(gz), &gzlen);
	ck_assert_int_eq(http_post(w.port, "/ingest", "Content-Encoding: gzip\r\n", gz, gzlen, NULL, 0), 204);
	/* a gzip member cut short */
	ck_assert_int_eq(http_post(w.port, "/ingest", "Content-Encoding: gzip\r\n", gz, gzlen / 2, NULL, 0),
			 400);
	wait_messages(&w.d, w.d.out, "gz ", 3);
	ck_assert_int_eq(th_clewd_stop(&w.d), 0);
	ck_assert_uint_eq(count_messages(w.d.out, "gz one"), 1);
	ck_assert_uint_eq(count_messages(w.d.out, "gz two"), 1);
	ck_assert_uint_eq(count_messages(w.d.out, "gz three, second member"), 1);
	ck_assert_uint_eq(count_messages(w.d.out, "x"), 0); /* nothing of the refused bodies */
	ck_assert_int_eq(closed_counter(&w.d, "http", "accepted"), 1);
	ck_assert_int_eq(closed_counter(&w.d, "http", "refused"), 8);
}
END_TEST

START_TEST(a_body_of_garbage_and_an_overlong_line_is_kept_split_and_raw)
{
	const size_t big = 2 * CD_LINE_MAX + 5;
	static const char *const extra[] = {"--no-multiline", NULL};
	char *body = malloc(big + 256);
	struct web w;
	struct recs rs;
	size_t len = 0, total = 0, raw = 0;

	ck_assert_ptr_nonnull(body);
	len += (size_t)snprintf(body, 64, "garbage\n\xff\xfe\n");
	body[len++] = 'a';
	body[len++] = '\0';
	body[len++] = 'b';
	body[len++] = '\n';
	for (size_t i = 0; i < big; i++)
		body[len++] = (char)('a' + i % 26);
	body[len++] = '\n';
	len += (size_t)snprintf(body + len, 64, "{\"message\":\"the end\"}");
	web_start_fd(&w, extra, -1);
	ck_assert_int_eq(http_post(w.port, "/ingest", "", body, len, NULL, 0), 204);
	ck_assert_int_eq(th_clewd_stop(&w.d), 0);
	rs = recs_load(w.d.out);
	ck_assert_uint_eq(rs.bad, 0);
	ck_assert_uint_eq(rs.n, 7); /* garbage, \xff\xfe, a\0b, 3 pieces, the end */
	for (size_t k = 0; k < rs.n; k++)
		raw += json_object_get(rs.r[k], "_unparsed") != NULL;
	ck_assert_uint_eq(raw, 3);
	ck_assert_uint_eq(json_string_length(json_object_get(rs.r[2], "message")), 3);
	for (size_t k = 3; k < 6; k++) {
		const char *m = rec_str(rs.r[k], "message");
		ck_assert_int_eq(json_integer_value(json_object_get(rs.r[k], "_split")), (json_int_t)k - 2);
		ck_assert_int_eq(memcmp(m, body + 15 + total, strlen(m)), 0);
		total += strlen(m);
	}
	ck_assert_uint_eq(total, big);
	ck_assert_str_eq(rec_str(rs.r[6], "message"), "the end");
	ck_assert_str_eq(rec_str(rs.r[0], "_input"), rec_str(rs.r[1], "_input"));
	ck_assert_int_eq(strncmp(rec_str(rs.r[0], "_input"), "http:127.0.0.1:", 15), 0);
	recs_free(&rs);
	free(body);
}
END_TEST

START_TEST(a_collector_whose_outputs_are_behind_answers_503_then_204_once_they_caught_up)
{
	enum { MAXREQ = 300, LINES = 3000 };
	char out[600];
	char *body = malloc(LINES * 100), resp[4096], want[64];
	struct web w;
	int p[2], r, st, busy_at = -1;
	pid_t reader;

	ck_assert_ptr_nonnull(body);
	snprintf(out, sizeof(out), "%s/bp.json", tmp);
	/* stdout: a pipe nobody reads, non-blocking (shared with clewd: cleared from here later) */
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) | O_NONBLOCK), 0);
	web_start_fd(&w, NULL, p[1]);
	for (r = 0; r < MAXREQ; r++) {
		size_t len = 0;
		for (int k = 0; k < LINES; k++)
			len += (size_t)snprintf(body + len, 100, "{\"message\":\"req %d n%d; padding\"}\n", r,
						k);
		st = http_post(w.port, "/ingest", "", body, len, resp, sizeof(resp));
		if (st == 503) {
			busy_at = r;
			break;
		}
		ck_assert_int_eq(st, 204);
	}
	ck_assert_msg(busy_at >= 0, "%d bodies taken without a 503", MAXREQ);
	ck_assert_msg(strstr(resp, "Retry-After: 1"), "no Retry-After: %s", resp);
	/* the output recovers */
	ck_assert_int_eq(fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) & ~O_NONBLOCK), 0);
	reader = spawn_reader(p[0], p[1], out);
	close(p[0]);
	close(p[1]);
	ck_assert_int_eq(http_post_retry(w.port, "/ingest", "{\"message\":\"after the jam\"}", 27), 204);
	wait_messages(&w.d, out, "after the jam", 1);
	ck_assert_int_eq(th_clewd_stop(&w.d), 0);
	ck_assert_int_eq(th_wait(reader), 0);
	for (r = 0; r < busy_at; r++) {
		/* every body answered 204 was delivered: its last line at least */
		snprintf(want, sizeof(want), "req %d n%d;", r, LINES - 1);
		ck_assert_msg(count_messages(out, want) >= 1, "body %d (204) not delivered", r);
	}
	snprintf(want, sizeof(want), "req %d n", busy_at);
	ck_assert_uint_eq(count_messages(out, want), 0); /* the 503 body was not taken */
	ck_assert_int_ge(closed_counter(&w.d, "http", "busy"), 1);
	free(body);
}
END_TEST

static Suite *http_suite(void)
{
	Suite *s = suite_create("in_http");
	TCase *tc = tcase_create("http");

	tcase_add_checked_fixture(tc, net_setup, net_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, posted_ndjson_of_concurrent_clients_is_delivered_once_each_and_in_order);
	tcase_add_test(tc, every_answer_says_what_happened_to_the_body);
	tcase_add_test(tc, a_body_of_garbage_and_an_overlong_line_is_kept_split_and_raw);
	tcase_add_test(tc, a_collector_whose_outputs_are_behind_answers_503_then_204_once_they_caught_up);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(http_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
