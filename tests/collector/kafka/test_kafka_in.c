/*
 * test_kafka_in.c - clewd's kafka input, members of one consumer group,
 * against a real (mock) cluster: at least once across kill -9, restarts
 * and rebalances.
 *
 * Every test starts tests/helpers/kafka_mock (KAFKA_MOCK_BIN) as a
 * process; records are produced by kcat (JSON lines) and by clewd's own
 * kafka output (format msgpack); clewd (CLEWD_BIN) consumes them into
 * archives, read back with archive_dump (ARCHIVE_DUMP_BIN) and parsed
 * with jansson. A test waits until the group's committed offsets reach
 * every partition's high watermark (asked of the cluster by a librdkafka
 * client here): clewd commits an offset only once its outputs have the
 * records before it. Then every produced record must be in the union of
 * the archives; duplicates are allowed (a member killed, a partition
 * moved) and reported.
 *
 * The members use a short session timeout (6 s), so the group takes a
 * killed member's partitions away soon after it died; nothing here
 * asserts on time: waits poll with a generous bound.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "kmock.h"
#include "th_clewd.h"
#include "th_file.h"
#include "th_proc.h"

static char tmp[512];
static struct kmock km;

static const char *const topics[] = {"grp:6", "one:4", "bp:8", NULL};

/* Members leave a killed member's partitions to the group soon (the mock honours it). */
#define GROUP_PROPS "&properties.session.timeout.ms=6000&properties.heartbeat.interval.ms=500"

static void setup(void)
{
	th_tmpdir(tmp, sizeof(tmp), NULL, "clewd-kafka-in");
	ck_assert_int_eq(kmock_start(&km, th_env_bin("KAFKA_MOCK_BIN"), 1, topics), 0);
}

static void teardown(void)
{
	th_kill_spawned();
	ck_assert_int_eq(kmock_stop(&km), 0);
	th_remove_tree(tmp);
}

static const char *tpath(const char *name)
{
	static char p[8][700];
	static int i;

	i = (i + 1) % 8;
	snprintf(p[i], sizeof(p[i]), "%s/%s", tmp, name);
	return p[i];
}

/* --- producing ------------------------------------------------------------ */

/*
 * kcat producing JSON records n = @from .. @to-1 to @topic (keyed by n:
 * spread over the partitions by the key's hash), started: th_wait() it.
 */
static pid_t spawn_kcat(const char *topic, int from, int to)
{
	const char *in = tpath(from ? "kcat2.in" : "kcat.in");
	FILE *f = fopen(in, "w");
	const char *argv[] = {"kcat", "-P", "-b", km.bootstrap, "-t", topic, "-K", "|", NULL};

	ck_assert_ptr_nonnull(f);
	/* keyed by n: every partition gets its share of any range (keyless, librdkafka sticks to one) */
	for (int n = from; n < to; n++)
		fprintf(f,
			"%d|{\"level\":\"info\",\"service\":\"agent\",\"message\":\"record %d\",\"n\":%d}\n",
			n, n, n);
	ck_assert_int_eq(fclose(f), 0);
	return th_spawn(argv, &(struct th_io){.in = in, .search_path = true});
}

static void produce_kcat(const char *topic, int from, int to)
{
	ck_assert_int_eq(th_wait(spawn_kcat(topic, from, to)), 0);
}

/* clewd's kafka output (format msgpack) produces pipe records n = @from .. @to-1 to @topic. */
static void produce_clewd_msgpack(const char *topic, int from, int to)
{
	const char *in = tpath("pipe.in");
	char out[600], state[600];
	FILE *f = fopen(in, "w");

	ck_assert_ptr_nonnull(f);
	for (int n = from; n < to; n++)
		fprintf(f,
			"2026-11-23T07:00:%02d.%06dZ INFO tx%05d:s1|orders|GET|/api/v1/orders|n=%d|msg=order %d\n",
			n % 60, n, n, n, n);
	ck_assert_int_eq(fclose(f), 0);
	snprintf(out, sizeof(out), "kafka://%s/%s?format=msgpack", km.bootstrap, topic);
	snprintf(state, sizeof(state), "%s/producer-state", tmp);
	const char *args[] = {"-s", state, "-i", "stdin", "-o", out, NULL};
	struct th_result r = th_run(th_env_bin("CLEWD_BIN"), in, args);
	ck_assert_msg(r.status == 0, "clewd as a producer: %d: %s", r.status, r.err);
	th_result_free(&r);
}

/*
 * A loopback port bound and not listening, into *@port: a connection to it
 * is refused (a peer that is down), and no other process can take it
 * until the returned socket is closed.
 */
static int hold_port(unsigned *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* --- the group's offsets ---------------------------------------------------- */

/*
 * Whether group @group has committed, for every partition of @topic
 * (@nparts), its high watermark: every message acknowledged. Asked of
 * the cluster by a client that does not join the group.
 */
static bool all_committed(const char *group, const char *topic, int nparts, int64_t *committed_sum)
{
	char errstr[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(nparts);
	rd_kafka_t *rk;
	bool all = true;

	ck_assert_int_eq(rd_kafka_conf_set(conf, "bootstrap.servers", km.bootstrap, errstr, sizeof(errstr)),
			 RD_KAFKA_CONF_OK);
	ck_assert_int_eq(rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr)),
			 RD_KAFKA_CONF_OK);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	ck_assert_msg(rk != NULL, "%s", errstr);
	for (int p = 0; p < nparts; p++)
		rd_kafka_topic_partition_list_add(l, topic, p);
	if (rd_kafka_committed(rk, l, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
		all = false;
	*committed_sum = 0;
	for (int p = 0; p < nparts; p++) {
		int64_t lo = 0, hi = 0;
		int64_t c = l->elems[p].offset;

		ck_assert_int_eq(rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000), 0);
		*committed_sum += c > 0 ? c : 0;
		if (l->elems[p].err || c != hi)
			all = false;
	}
	rd_kafka_topic_partition_list_destroy(l);
	rd_kafka_destroy(rk);
	return all;
}

/* Wait until @group has committed every message of @topic, while the members @m (NULL-ended) run. */
static void wait_all_committed(const char *group, const char *topic, int nparts, struct th_clewd *const *m)
{
	int64_t sum;

	for (double t0 = th_now(); !all_committed(group, topic, nparts, &sum); th_msleep(300)) {
		for (size_t i = 0; m[i]; i++)
			ck_assert_msg(th_clewd_alive(m[i]), "%s exited (status %d)", m[i]->err, m[i]->status);
		ck_assert_msg(th_now() - t0 < 3 * TH_WAIT_BOUND_S,
			      "group %s never committed every message of %s (%lld committed)", group, topic,
			      (long long)sum);
	}
}

/* --- clewd members ---------------------------------------------------------- */

/* Start a member of @group reading @topic into DIR/arch (DIR = tmp/@name), /metrics on a free port. */
static int start_member(struct th_clewd *d, const char *name, const char *topic, const char *group,
			const char *output, const char *const *env)
{
	char in[1200], out[700], dir[600];

	snprintf(dir, sizeof(dir), "%s/%s", tmp, name);
	ck_assert(mkdir(dir, 0700) == 0 || errno == EEXIST);
	/* a restart: the port is read from the new log, never from the last run's */
	snprintf(out, sizeof(out), "%s/clewd.log", dir);
	ck_assert(unlink(out) == 0 || errno == ENOENT);
	snprintf(in, sizeof(in), "kafka://%s/%s?group=%s" GROUP_PROPS, km.bootstrap, topic, group);
	if (!output) {
		snprintf(out, sizeof(out), "archive:%s/arch", dir);
		output = out;
	}
	const char *args[] = {"-i", in, "-o", output, "--http", "127.0.0.1:0", NULL};
	th_clewd_start(d, dir, args, 0, env);
	return th_clewd_ops_port(d);
}

/* The sum of metric @family (samples whose labels hold @label) of the clewd serving on @port. */
static double metric(int port, const char *family, const char *label)
{
	char *body = th_http_get(port, "/metrics");
	double v;

	ck_assert_msg(body != NULL, "no /metrics on port %d", port);
	v = th_metric(body, family, label);
	free(body);
	return v;
}

/* Wait until @family of the clewd on @port is at least @min. */
static void wait_metric(struct th_clewd *d, int port, const char *family, const char *label, double min)
{
	for (double t0 = th_now(); metric(port, family, label) < min; th_msleep(200))
		ck_assert_msg(th_clewd_alive(d) && th_now() - t0 < 3 * TH_WAIT_BOUND_S,
			      "%s of %s stayed below %g", family, d->err, min);
}

/* --- the archives ------------------------------------------------------------ */

/*
 * Count in @counts[n] (n < @total) every record of the archive of member
 * @name, checked as JSON; msgpack records (n >= @mp_from) keep their
 * pipe fields. Return: records read.
 */
static long read_archive(const char *name, int *counts, int total, int mp_from)
{
	char dir[600];
	const char *args[] = {dir, NULL};
	struct th_result r;
	long nrec = 0;

	snprintf(dir, sizeof(dir), "%s/%s/arch", tmp, name);
	r = th_run(th_env_bin("ARCHIVE_DUMP_BIN"), NULL, args);
	ck_assert_msg(r.status == 0, "archive_dump %s: %s", dir, r.err);
	for (char *line = r.out, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		json_error_t je;
		json_t *j, *n;
		int v;

		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		j = json_loads(line, 0, &je);
		ck_assert_msg(j != NULL, "%s: not JSON: %s (%s)", name, line, je.text);
		n = json_object_get(j, "n");
		ck_assert_msg(json_is_integer(n), "%s: a record without its n: %s", name, line);
		v = (int)json_integer_value(n);
		ck_assert_msg(v >= 0 && v < total, "%s: n out of range: %s", name, line);
		if (v >= mp_from) {
			char want[64];

			snprintf(want, sizeof(want), "tx%05d", v);
			ck_assert_str_eq(json_string_value(json_object_get(j, "trace")), want);
			ck_assert_str_eq(json_string_value(json_object_get(j, "service")), "orders");
		} else {
			char want[64];

			snprintf(want, sizeof(want), "record %d", v);
			ck_assert_str_eq(json_string_value(json_object_get(j, "message")), want);
		}
		counts[v]++;
		nrec++;
		json_decref(j);
	}
	th_result_free(&r);
	return nrec;
}

/* Every record in [0, @total) at least once; the duplicates are reported. Return: how many. */
static long check_union(const int *counts, int total)
{
	long dups = 0;

	for (int n = 0; n < total; n++) {
		ck_assert_msg(counts[n] >= 1, "record %d was lost", n);
		dups += counts[n] - 1;
	}
	return dups;
}

/* --- tests ------------------------------------------------------------------- */

/*
 * Two members of one group, one killed with SIGKILL while it reads, then
 * restarted: the group rebalances (the survivor takes every partition,
 * the restarted member gets some back) and every record produced is in
 * the union of their archives.
 */
START_TEST(two_members_one_killed_mid_stream_lose_nothing)
{
	enum { BATCH = 20000, TOTAL = 3 * BATCH };
	struct th_clewd a, b;
	double seen;
	pid_t kcat;
	int pa, pb, *counts = calloc(TOTAL, sizeof(int));
	long ra, rb, dups;

	ck_assert_ptr_nonnull(counts);
	pa = start_member(&a, "a", "grp", "gg", NULL, NULL);
	pb = start_member(&b, "b", "grp", "gg", NULL, NULL);
	/* both members hold partitions: the group has balanced */
	wait_metric(&a, pa, "clewd_input_kafka_partitions", NULL, 1);
	wait_metric(&b, pb, "clewd_input_kafka_partitions", NULL, 1);
	produce_kcat("grp", 0, BATCH);
	wait_metric(&a, pa, "clewd_input_kafka_messages_total", NULL, 1);
	wait_metric(&b, pb, "clewd_input_kafka_messages_total", NULL, 1);
	/* while kcat produces the second batch and a reads it, kill a: no chance to commit or flush */
	seen = metric(pa, "clewd_input_kafka_messages_total", NULL);
	kcat = spawn_kcat("grp", BATCH, 2 * BATCH);
	wait_metric(&a, pa, "clewd_input_kafka_messages_total", NULL, seen + 1);
	th_kill(a.pid);
	ck_assert_int_eq(th_wait(kcat), 0);
	/* the group gives a's partitions to b */
	wait_metric(&b, pb, "clewd_input_kafka_partitions", NULL, 6);
	pa = start_member(&a, "a", "grp", "gg", NULL, NULL);
	wait_metric(&a, pa, "clewd_input_kafka_partitions", NULL, 1);
	produce_kcat("grp", 2 * BATCH, TOTAL);
	wait_all_committed("gg", "grp", 6, (struct th_clewd *const[]){&a, &b, NULL});
	ck_assert_double_gt(metric(pa, "clewd_input_kafka_messages_total", NULL), 0);
	ck_assert_double_gt(metric(pb, "clewd_input_kafka_rebalances_total", "kind=\"revoke\""), 0);
	ck_assert_int_eq(th_clewd_stop(&a), 0);
	ck_assert_int_eq(th_clewd_stop(&b), 0);
	ra = read_archive("a", counts, TOTAL, TOTAL);
	rb = read_archive("b", counts, TOTAL, TOTAL);
	ck_assert_int_gt(ra, 0);
	ck_assert_int_gt(rb, 0);
	dups = check_union(counts, TOTAL);
	fprintf(stderr, "two members: %d records produced, a archived %ld, b %ld, %ld duplicates\n", TOTAL,
		ra, rb, dups);
	free(counts);
}
END_TEST

/*
 * One member whose only output cannot deliver (a peer that is down)
 * reads everything, commits nothing, and is killed; restarted with an
 * output that works, it reads everything again: the offsets were
 * committed only after delivery. Half the records are msgpack payloads
 * of clewd's own kafka output, decoded back into the same records.
 */
START_TEST(offsets_are_committed_only_after_delivery)
{
	enum { KCAT = 300, TOTAL = 500 };
	struct th_clewd c;
	char dead[64];
	unsigned deadport;
	int hold;
	int port, *counts = calloc(TOTAL, sizeof(int));
	int64_t sum;
	long rc, dups;

	ck_assert_ptr_nonnull(counts);
	produce_kcat("one", 0, KCAT);
	produce_clewd_msgpack("one", KCAT, TOTAL);
	/* nothing listens there (a port held, not listening): the output retries, never acknowledges */
	hold = hold_port(&deadport);
	snprintf(dead, sizeof(dead), "logstash+tcp://127.0.0.1:%u", deadport);
	port = start_member(&c, "c", "one", "gc", dead, NULL);
	wait_metric(&c, port, "clewd_input_kafka_messages_total", NULL, TOTAL);
	ck_assert_double_eq(metric(port, "clewd_input_kafka_commits_total", NULL), 0);
	ck_assert(!all_committed("gc", "one", 4, &sum));
	ck_assert_int_eq(sum, 0);
	th_kill(c.pid);
	close(hold);
	port = start_member(&c, "c", "one", "gc", NULL, NULL);
	wait_all_committed("gc", "one", 4, (struct th_clewd *const[]){&c, NULL});
	ck_assert_double_gt(metric(port, "clewd_input_kafka_commits_total", NULL), 0);
	ck_assert_double_eq(metric(port, "clewd_input_kafka_decode_failures_total", NULL), 0);
	ck_assert_int_eq(th_clewd_stop(&c), 0);
	rc = read_archive("c", counts, TOTAL, KCAT);
	dups = check_union(counts, TOTAL);
	ck_assert_int_eq(rc, TOTAL + dups);
	fprintf(stderr, "restart: %d records, %ld archived, %ld duplicates\n", TOTAL, rc, dups);
	free(counts);
}
END_TEST

/* The value of KEY in ls_receiver's report @path ("key value" lines); -1 when absent. */
static long long report_value(const char *path, const char *key)
{
	char *text = th_slurp_or_empty(path, NULL), *p;
	size_t n = strlen(key);
	long long v = -1;

	for (p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, key, n) == 0 && p[n] == ' ')
			v = atoll(p + n + 1);
	free(text);
	return v;
}

/*
 * Outputs that cannot take more (a Logstash that is down, no spool) hold
 * the input back: it pauses its partitions and commits nothing; once the
 * Logstash is up, it resumes, and every record reaches it.
 */
START_TEST(held_back_the_input_pauses_then_resumes_and_delivers_everything)
{
	enum { TOTAL = 250000 };
	static const char *const env[] = {"CLEWD_SPOOL_MAX_BYTES=0", NULL};
	struct th_clewd d;
	char out[64], portstr[16];
	const char *rep = tpath("ls.report");
	unsigned lsport;
	int hold = hold_port(&lsport);
	double pauses;
	pid_t ls;
	int port;

	produce_kcat("bp", 0, TOTAL);
	snprintf(out, sizeof(out), "logstash+tcp://127.0.0.1:%u", lsport);
	port = start_member(&d, "d", "bp", "gd", out, env);
	wait_metric(&d, port, "clewd_input_kafka_pauses_total", NULL, 1);
	ck_assert_double_eq(metric(port, "clewd_backpressure", NULL), 1);
	ck_assert_double_lt(metric(port, "clewd_input_kafka_messages_total", NULL), TOTAL);
	ck_assert_double_eq(metric(port, "clewd_input_kafka_commits_total", NULL), 0);
	snprintf(portstr, sizeof(portstr), "%u", lsport);
	close(hold);
	const char *args[] = {"tcp", "--report", rep, "--port", portstr, NULL};
	ls = th_spawn_args(th_env_bin("LS_RECEIVER_BIN"), args, NULL);
	wait_all_committed("gd", "bp", 8, (struct th_clewd *const[]){&d, NULL});
	pauses = metric(port, "clewd_input_kafka_pauses_total", NULL);
	ck_assert_int_eq(th_clewd_stop(&d), 0);
	ck_assert_int_eq(th_stop(ls), 0);
	ck_assert_int_eq(report_value(rep, "n_distinct"), TOTAL);
	ck_assert_int_eq(report_value(rep, "n_min"), 0);
	ck_assert_int_eq(report_value(rep, "n_max"), TOTAL - 1);
	fprintf(stderr, "held back: %d records, paused %g times, %lld duplicates at the receiver\n", TOTAL,
		pauses, report_value(rep, "n_dups"));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("kafka_in");
	TCase *tc = tcase_create("group");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, two_members_one_killed_mid_stream_lose_nothing);
	tcase_add_test(tc, offsets_are_committed_only_after_delivery);
	tcase_add_test(tc, held_back_the_input_pauses_then_resumes_and_delivers_everything);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
