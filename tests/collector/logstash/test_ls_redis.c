/*
 * test_ls_redis.c - clewd -o logstash+redis://... against a real
 * redis-server (Debian's, started here on a free port with a temp dir):
 * every event lands on the list as Logstash JSON; a list at
 * max_list_length makes clewd refuse (and count) until it is drained, the
 * way Logstash's redis input pops it; AUTH and SELECT are used; a Redis
 * stopped mid-stream and restarted (append-only file) loses nothing.
 * The list is read back with hiredis, each event parsed with jansson.
 */
#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "ls_test.h"

struct redis {
	pid_t pid;     /* redis-server */
	unsigned port; /* where it listens */
};

/* A connection to @rs (authenticated with @password when not NULL), or NULL while it is not up. */
static redisContext *redis_conn(const struct redis *rs, const char *password)
{
	struct timeval tv = {2, 0};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", (int)rs->port, tv);
	redisReply *r;

	if (!c || c->err) {
		redisFree(c);
		return NULL;
	}
	if (password) {
		r = redisCommand(c, "AUTH %s", password);
		ck_assert_ptr_nonnull(r);
		ck_assert_int_eq(r->type, REDIS_REPLY_STATUS);
		freeReplyObject(r);
	}
	r = redisCommand(c, "PING");
	if (!r || r->type != REDIS_REPLY_STATUS) {
		if (r)
			freeReplyObject(r);
		redisFree(c);
		return NULL;
	}
	freeReplyObject(r);
	return c;
}

/* Start redis-server on @port (0: a free one) in tmp/redis with @extra arguments; wait until it answers. */
static void redis_start(struct redis *rs, unsigned port, const char *password, const char *const *extra)
{
	char dir[600], portarg[16], log[600];
	const char *argv[32];
	redisContext *c = NULL;
	size_t n = 0;

	mkdir(tpath(dir, "redis"), 0700);
	rs->port = port ? port : th_free_port();
	snprintf(portarg, sizeof(portarg), "%u", rs->port);
	argv[n++] = th_env_bin("REDIS_SERVER_BIN");
	argv[n++] = "--port";
	argv[n++] = portarg;
	argv[n++] = "--bind";
	argv[n++] = "127.0.0.1";
	argv[n++] = "--dir";
	argv[n++] = dir;
	argv[n++] = "--save";
	argv[n++] = "";
	argv[n++] = "--daemonize";
	argv[n++] = "no";
	if (password) {
		argv[n++] = "--requirepass";
		argv[n++] = password;
	}
	for (; extra && *extra && n < 30; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	rs->pid = spawn(argv, -1, tpath(log, "redis.log"), NULL);
	for (int i = 0; i < 600 && !(c = redis_conn(rs, password)); i++) {
		ck_assert_int_eq(th_wait_for(rs->pid, 0), -1); /* still alive */
		th_msleep(50);
	}
	ck_assert_msg(c, "redis-server did not start");
	redisFree(c);
}

static long long redis_int(redisContext *c, const char *cmd, const char *key)
{
	redisReply *r = redisCommand(c, "%s %s", cmd, key);
	long long v;

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->type, REDIS_REPLY_INTEGER);
	v = r->integer;
	freeReplyObject(r);
	return v;
}

/*
 * Pop everything on @key, as Logstash's redis input does: each event is
 * parsed and counted by its n in @seen; other items (placeholders) in
 * *others. Return: how many items were popped.
 */
static long pop_all(redisContext *c, const char *key, int total, int *seen, long *others)
{
	static const char *const need[] = {"@timestamp", "@version", "message", "host", "service", "trace"};
	long popped = 0;

	for (;;) {
		redisReply *r = redisCommand(c, "LPOP %s 500", key);
		ck_assert_ptr_nonnull(r);
		if (r->type == REDIS_REPLY_NIL) {
			freeReplyObject(r);
			return popped;
		}
		ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
		for (size_t i = 0; i < r->elements; i++) {
			const redisReply *e = r->element[i];
			json_t *o, *v;
			popped++;
			if (e->len > 0 && e->str[0] != '{') {
				(*others)++;
				continue;
			}
			o = json_loadb(e->str, e->len, 0, NULL);
			ck_assert_msg(o && json_is_object(o), "not a JSON object: %.*s", (int)e->len, e->str);
			for (size_t k = 0; k < sizeof(need) / sizeof(need[0]); k++)
				ck_assert_msg(json_object_get(o, need[k]), "no %s in %.*s", need[k],
					      (int)e->len, e->str);
			v = json_object_get(o, "n");
			ck_assert(json_is_integer(v));
			ck_assert_int_ge(json_integer_value(v), 0);
			ck_assert_int_lt(json_integer_value(v), total);
			seen[json_integer_value(v)]++;
			json_decref(o);
		}
		freeReplyObject(r);
	}
}

START_TEST(redis_every_event_is_pushed_onto_the_list_once)
{
	const int total = 5000;
	struct redis rs;
	redisContext *c;
	char input[600], uri[128];
	int *seen = calloc(total, sizeof(int));
	long others = 0;

	ck_assert_ptr_nonnull(seen);
	redis_start(&rs, 0, NULL, NULL);
	write_input(tpath(input, "input"), total);
	snprintf(uri, sizeof(uri), "logstash+redis://127.0.0.1:%u/clew?batch_events=700", rs.port);
	ck_assert_int_eq(th_wait_for(spawn_clewd_file(uri, input, NULL), 120000), 0);
	c = redis_conn(&rs, NULL);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(redis_int(c, "LLEN", "clew"), total);
	ck_assert_int_eq(pop_all(c, "clew", total, seen, &others), total);
	for (int n = 0; n < total; n++)
		ck_assert_msg(seen[n] == 1, "record %d seen %d times", n, seen[n]);
	ck_assert_int_eq(others, 0);
	ck_assert_int_eq(log_attr("logstash output closed", "events"), total);
	ck_assert_int_eq(log_attr("logstash output closed", "refused"), 0);
	redisFree(c);
	ck_assert_int_eq(th_stop(rs.pid), 0);
	free(seen);
}
END_TEST

START_TEST(redis_a_list_at_max_list_length_is_refused_until_drained)
{
	const int total = 3000, cap = 50;
	struct redis rs;
	redisContext *c;
	char input[600], uri[160];
	int *seen = calloc(total, sizeof(int)), rc = -1;
	long others = 0;
	pid_t d;

	ck_assert_ptr_nonnull(seen);
	redis_start(&rs, 0, NULL, NULL);
	c = redis_conn(&rs, NULL);
	ck_assert_ptr_nonnull(c);
	for (int i = 0; i < cap; i++)
		freeReplyObject(redisCommand(c, "RPUSH clew placeholder-%d", i));
	ck_assert_int_eq(redis_int(c, "LLEN", "clew"), cap);
	write_input(tpath(input, "input"), total);
	snprintf(uri, sizeof(uri), "logstash+redis://127.0.0.1:%u/clew?max_list_length=%d&batch_events=100",
		 rs.port, cap);
	d = spawn_clewd_file(uri, input, NULL);
	for (int i = 0; i < 600 && !log_count("max_list_length is 50"); i++)
		th_msleep(50);
	ck_assert_int_ge(log_count("max_list_length is 50"), 1);
	/* refused, not pushed: the list is as we left it, clewd waits */
	ck_assert_int_eq(redis_int(c, "LLEN", "clew"), cap);
	ck_assert_int_eq(th_wait_for(d, 0), -1);
	/* drain it as Logstash would, until clewd has delivered everything and exited */
	for (int i = 0; i < 2400 && rc < 0; i++) {
		pop_all(c, "clew", total, seen, &others);
		rc = th_wait_for(d, 0);
		th_msleep(50);
	}
	ck_assert_int_eq(rc, 0);
	pop_all(c, "clew", total, seen, &others);
	ck_assert_int_eq(others, cap);
	for (int n = 0; n < total; n++)
		ck_assert_msg(seen[n] == 1, "record %d seen %d times", n, seen[n]);
	ck_assert_int_ge(log_attr("logstash output closed", "refused"), 1);
	ck_assert_int_eq(log_attr("logstash output closed", "events"), total);
	redisFree(c);
	ck_assert_int_eq(th_stop(rs.pid), 0);
	free(seen);
}
END_TEST

START_TEST(redis_password_and_database_are_used)
{
	const int total = 1000;
	struct redis rs;
	redisContext *c;
	redisReply *r;
	char input[600], uri[160];

	redis_start(&rs, 0, "pw-secret", NULL);
	write_input(tpath(input, "input"), total);
	snprintf(uri, sizeof(uri), "logstash+redis://:pw-secret@127.0.0.1:%u/clew?db=3", rs.port);
	ck_assert_int_eq(th_wait_for(spawn_clewd_file(uri, input, NULL), 120000), 0);
	c = redis_conn(&rs, "pw-secret");
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(redis_int(c, "LLEN", "clew"), 0); /* not in database 0 */
	r = redisCommand(c, "SELECT 3");
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
	ck_assert_int_eq(redis_int(c, "LLEN", "clew"), total);
	redisFree(c);

	/* a wrong password: clewd keeps retrying (it logs why) instead of losing the records */
	{
		pid_t d;
		snprintf(uri, sizeof(uri), "logstash+redis://:wrong@127.0.0.1:%u/other", rs.port);
		d = spawn_clewd_file(uri, input, NULL);
		for (int i = 0; i < 600 && !log_count("AUTH/SELECT"); i++)
			th_msleep(50);
		ck_assert_int_ge(log_count("AUTH/SELECT"), 1);
		ck_assert_int_eq(th_wait_for(d, 0), -1);
		kill(d, SIGKILL);
		ck_assert_int_eq(th_wait(d), 128 + SIGKILL);
	}
	ck_assert_int_eq(th_stop(rs.pid), 0);
}
END_TEST

START_TEST(redis_stopped_mid_stream_and_restarted_loses_nothing)
{
	static const char *const aof[] = {"--appendonly", "yes", "--appendfsync", "always", NULL};
	const int total = 8000;
	struct redis rs;
	redisContext *c;
	char uri[128];
	int pfd[2], *seen = calloc(total, sizeof(int)), dups = 0;
	long others = 0, len = 0;
	pid_t w, d;

	ck_assert_ptr_nonnull(seen);
	redis_start(&rs, 0, NULL, aof);
	snprintf(uri, sizeof(uri), "logstash+redis://127.0.0.1:%u/clew", rs.port);
	ck_assert_int_eq(pipe(pfd), 0);
	w = spawn_writer(pfd[1], total, 200, 50);
	close(pfd[1]);
	d = spawn_clewd(uri, pfd[0], NULL);
	close(pfd[0]);
	c = redis_conn(&rs, NULL);
	ck_assert_ptr_nonnull(c);
	for (int i = 0; i < 1200 && (len = redis_int(c, "LLEN", "clew")) < 1500; i++)
		th_msleep(50);
	ck_assert_int_ge(len, 1500);
	redisFree(c);
	ck_assert_int_eq(th_stop(rs.pid), 0); /* what Redis acknowledged is in its append-only file */
	th_msleep(700);
	redis_start(&rs, rs.port, NULL, aof);
	ck_assert_int_eq(th_wait(w), 0);
	ck_assert_int_eq(th_wait_for(d, 120000), 0);
	c = redis_conn(&rs, NULL);
	ck_assert_ptr_nonnull(c);
	pop_all(c, "clew", total, seen, &others);
	for (int n = 0; n < total; n++) {
		ck_assert_msg(seen[n] >= 1, "record %d lost", n);
		dups += seen[n] - 1;
	}
	fprintf(stderr, "redis restart: %d of %d events pushed twice\n", dups, total);
	ck_assert_int_ge(log_count("logstash output: connected"), 2);
	redisFree(c);
	ck_assert_int_eq(th_stop(rs.pid), 0);
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

START_TEST(redis_check_config_refuses_bad_options_without_connecting)
{
	char *out;

	refused("logstash+redis://127.0.0.1:6379", "the list's key is required");
	refused("logstash+redis://127.0.0.1:6379/clew?key=other", "key given twice");
	refused("logstash+redis://127.0.0.1:6379/clew?batch_events=0", "batch_events");
	refused("logstash+redis://127.0.0.1:6379/clew?max_list_length=-1", "max_list_length");
	refused("logstash+redis://someone@127.0.0.1:6379/clew", "user without password");
	ck_assert_int_eq(check_config("logstash+redis://127.0.0.1:1/clew?max_list_length=0&db=2", &out), 0);
	free(out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("logstash+redis");
	TCase *tc = tcase_create("redis");
	SRunner *sr;
	int failed;

	tcase_add_unchecked_fixture(tc, ls_suite_setup, ls_suite_teardown);
	tcase_add_checked_fixture(tc, ls_setup, ls_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, redis_every_event_is_pushed_onto_the_list_once);
	tcase_add_test(tc, redis_a_list_at_max_list_length_is_refused_until_drained);
	tcase_add_test(tc, redis_password_and_database_are_used);
	tcase_add_test(tc, redis_stopped_mid_stream_and_restarted_loses_nothing);
	tcase_add_test(tc, redis_check_config_refuses_bad_options_without_connecting);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
