/*
 * test_kafka.c - clewd's Kafka output against a real (mock) cluster,
 * read back with a librdkafka consumer.
 *
 * Every test starts tests/helpers/kafka_mock (KAFKA_MOCK_BIN) as a
 * process: three brokers on 127.0.0.1, topics created up front. clewd
 * (CLEWD_BIN) runs as a process with -i stdin and -o kafka://BOOTSTRAP/T;
 * its stdin is a pipe fed by a writer process, so a broker can be taken
 * down (through the helper's stdin) while records are still coming. The
 * topic is then read back from the beginning to each partition's high
 * watermark by a consumer in this process, and checked: every record
 * present (by its sequence attribute n), keyed by its transaction ID, in
 * the partition murmur2 gives for that key, one transaction's records in
 * order; payloads parsed with jansson (json), the formats library (raw)
 * and the chunk codec (msgpack). Duplicates are allowed only where a
 * broker went down, and reported there.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "th_proc.h"
#include "../chunk/helpers.h"
#include <store/record_codec.h>
#include "fmt/detect.h"
#include "fmt/str.h"
#include "kmock.h"

static char tmp[512];
static struct kmock km;

/* Topics of every test: NAME:PARTITIONS. */
static const char *const topics[] = {
	"logs:6",	 "down:6",	  "timeout:6",	    "fmt-json:4",  "fmt-raw:4",
	"fmt-msgpack:4", "logs-orders:3", "logs-billing:3", "logs-none:1", NULL};

static void setup(void)
{
	th_tmpdir(tmp, sizeof(tmp), NULL, "clewd-kafka");
	ck_assert_int_eq(kmock_start(&km, th_env_bin("KAFKA_MOCK_BIN"), 3, topics), 0);
}

static void teardown(void)
{
	ck_assert_int_eq(kmock_stop(&km), 0);
	th_remove_tree(tmp);
}

/* --- clewd and its input ------------------------------------------------- */

/*
 * Start clewd with @args (NULL-terminated, after argv[0]); its stdin is a
 * pipe whose write end goes to *in_fd (or /dev/null when @in_fd is NULL);
 * stderr appended to @errlog, and stdout too when @out_too.
 */
static pid_t spawn_clewd(const char *const *args, int *in_fd, const char *errlog, bool out_too)
{
	/* a broker may be down for seconds: let the drain at EOF wait for it */
	static const char *const env[] = {"CLEWD_DRAIN_TIMEOUT=120s", NULL};
	int p[2] = {-1, -1};
	pid_t pid;

	/* close-on-exec: the child keeps only its stdin copy of the read end */
	if (in_fd)
		ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = th_spawn_args(th_env_bin("CLEWD_BIN"), args,
			    &(struct th_io){.in_fd = p[0],
					    .out = out_too ? errlog : NULL,
					    .out_append = true,
					    .err = errlog,
					    .err_to_out = out_too,
					    .env = env});
	if (in_fd) {
		close(p[0]);
		*in_fd = p[1];
	}
	return pid;
}

/*
 * Record n of a generated stream: a pipe line of transaction tx<T>
 * (T = n mod @ntx), its k-th record, with n as an attribute. Every fifth
 * is a JSON line instead, so both parsers feed the output.
 */
static int gen_line(char *buf, size_t cap, int n, int ntx)
{
	int t = n % ntx, k = n / ntx;

	if (n % 5 == 4)
		return snprintf(
			buf, cap,
			"{\"timestamp\":\"2026-11-23T07:%02d:%02d.%06dZ\",\"level\":\"info\","
			"\"service\":\"billing\",\"trace\":\"tx%05d\",\"span\":\"b%d\",\"message\":\"json "
			"record %d\",\"n\":%d,\"k\":%d}\n",
			(n / 60000) % 60, (n / 1000) % 60, n % 1000000, t, k, n, n, k);
	return snprintf(
		buf, cap,
		"2026-11-23T07:%02d:%02d.%06dZ INFO tx%05d:s%d|orders|GET|/api/v1/orders/%d|n=%d|k=%d|msg=order "
		"%d fetched\n",
		(n / 60000) % 60, (n / 1000) % 60, n % 1000000, t, k, n, n, k, n);
}

/* A writer process: records 0 .. @total-1 into @fd, @pace_us apart in groups of 50. */
static pid_t spawn_writer(int fd, int total, int ntx, long pace_us, int gate_fd, int gate_at)
{
	pid_t pid = th_fork();

	if (pid == 0) {
		char line[512], go;

		for (int n = 0; n < total; n++) {
			int len = gen_line(line, sizeof(line), n, ntx);
			/* the rest only once the test says so (a byte on @gate_fd) */
			if (n == gate_at && gate_fd >= 0 && read(gate_fd, &go, 1) < 0)
				_exit(1);
			if (write(fd, line, (size_t)len) != len)
				_exit(1);
			if (pace_us && n % 50 == 49)
				usleep((useconds_t)(pace_us * 50));
		}
		close(fd);
		_exit(0);
	}
	close(fd);
	return pid;
}

/* Run clewd -i stdin -o @out on @input (@len bytes); Return: its exit status. */
static int run_clewd(const char *out, const char *input, size_t len, const char *const *extra)
{
	const char *args[24] = {"-i", "stdin", "-o", out};
	char errlog[600];
	size_t n = 4;
	int fd, st;
	pid_t pid, w;

	while (extra && *extra && n < 23)
		args[n++] = *extra++;
	args[n] = NULL;
	snprintf(errlog, sizeof(errlog), "%s/clewd.log", tmp);
	pid = spawn_clewd(args, &fd, errlog, false);
	w = th_fork();
	if (w == 0) {
		_exit(write(fd, input, len) == (ssize_t)len ? 0 : 1);
	}
	close(fd);
	ck_assert_int_eq(th_wait(w), 0);
	st = th_wait(pid);
	if (st != 0) {
		char *log = th_slurp_or_empty(errlog, NULL);

		fprintf(stderr, "clewd exited %d:\n%s\n", st, log);
		free(log);
	}
	return st;
}

static char *bootstrap_uri(const char *topic, const char *query)
{
	static char uri[1024];

	snprintf(uri, sizeof(uri), "kafka://%s/%s%s%s", km.bootstrap, topic, query ? "?" : "",
		 query ? query : "");
	return uri;
}

/* --- reading a topic back -------------------------------------------------- */

struct kmsg {
	int32_t partition; /* where it was */
	int64_t offset;	   /* its offset there */
	char *key;	   /* NUL-terminated copy; NULL for a null key */
	size_t klen;	   /* key bytes */
	char *val;	   /* NUL-terminated copy of the payload */
	size_t vlen;	   /* payload bytes */
	int64_t ts_ms;	   /* message timestamp */
};

struct kmsgs {
	struct kmsg *v; /* messages, by partition then offset */
	size_t n, cap;	/* used, allocated */
	int32_t nparts; /* partitions of the topic */
};

static void kmsgs_free(struct kmsgs *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].key);
		free(m->v[i].val);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static char *dupmem(const void *p, size_t n)
{
	char *d = malloc(n + 1);

	ck_assert_ptr_nonnull(d);
	if (n)
		memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

static int by_part_off(const void *a, const void *b)
{
	const struct kmsg *x = a, *y = b;

	if (x->partition != y->partition)
		return x->partition < y->partition ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Every message of @topic, from each partition's start to its high watermark now. */
static void consume_all(const char *topic, struct kmsgs *out)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_topic_partition_list_t *tp;
	const struct rd_kafka_metadata *md;
	rd_kafka_topic_t *rkt;
	int64_t *hi;
	char errstr[256];
	rd_kafka_t *rk;
	int remaining = 0;

	memset(out, 0, sizeof(*out));
	ck_assert_int_eq(rd_kafka_conf_set(conf, "bootstrap.servers", km.bootstrap, errstr, sizeof(errstr)),
			 RD_KAFKA_CONF_OK);
	ck_assert_int_eq(rd_kafka_conf_set(conf, "group.id", "test-kafka", errstr, sizeof(errstr)),
			 RD_KAFKA_CONF_OK);
	ck_assert_int_eq(rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr)),
			 RD_KAFKA_CONF_OK);
	ck_assert_int_eq(rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)), RD_KAFKA_CONF_OK);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	ck_assert_msg(rk, "consumer: %s", errstr);
	rkt = rd_kafka_topic_new(rk, topic, NULL);
	ck_assert_int_eq(rd_kafka_metadata(rk, 0, rkt, &md, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
	ck_assert_int_eq(md->topic_cnt, 1);
	ck_assert_int_eq(md->topics[0].err, RD_KAFKA_RESP_ERR_NO_ERROR);
	out->nparts = md->topics[0].partition_cnt;
	rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);
	hi = calloc((size_t)out->nparts, sizeof(*hi));
	tp = rd_kafka_topic_partition_list_new(out->nparts);
	for (int32_t p = 0; p < out->nparts; p++) {
		int64_t lo;

		ck_assert_int_eq(rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi[p], 30000),
				 RD_KAFKA_RESP_ERR_NO_ERROR);
		if (hi[p] > lo) {
			rd_kafka_topic_partition_list_add(tp, topic, p)->offset = lo;
			remaining++;
		}
	}
	ck_assert_int_eq(rd_kafka_assign(rk, tp), RD_KAFKA_RESP_ERR_NO_ERROR);
	rd_kafka_topic_partition_list_destroy(tp);
	/* a minute without a message is a failure, not a slow machine */
	for (int idle = 0; remaining > 0 && idle < 60;) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
		struct kmsg *k;

		if (!m) {
			idle++;
			continue;
		}
		idle = 0;
		if (m->err) {
			ck_assert_msg(m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF, "consume: %s",
				      rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			continue;
		}
		if (m->offset < hi[m->partition]) {
			if (out->n == out->cap) {
				out->cap = out->cap ? out->cap * 2 : 1024;
				out->v = realloc(out->v, out->cap * sizeof(*out->v));
			}
			k = &out->v[out->n++];
			k->partition = m->partition;
			k->offset = m->offset;
			k->key = m->key ? dupmem(m->key, m->key_len) : NULL;
			k->klen = m->key_len;
			k->val = dupmem(m->payload, m->len);
			k->vlen = m->len;
			k->ts_ms = rd_kafka_message_timestamp(m, NULL);
			if (m->offset == hi[m->partition] - 1)
				remaining--;
		}
		rd_kafka_message_destroy(m);
	}
	ck_assert_msg(remaining == 0, "%s: %d partitions not read to their end", topic, remaining);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	free(hi);
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), by_part_off);
}

/* --- checking what arrived ----------------------------------------------- */

static long json_num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		return (long)json_integer_value(v);
	if (json_is_string(v))
		return strtol(json_string_value(v), NULL, 10);
	return -1;
}

struct tally {
	int total;  /* records n = 0 .. total-1 */
	int *seen;  /* times each n was found */
	int dup;    /* n found more than once */
	int missed; /* n not found */
};

/*
 * Check every message of @m as a json payload of the generated stream:
 * parses, key = its trace, partition = murmur2(key); count each n; with
 * @ordered, each transaction's k grows along its partition.
 */
static void check_stream(const struct kmsgs *m, struct tally *t, int ntx, bool ordered)
{
	int *last_k = malloc((size_t)ntx * sizeof(int));

	for (int i = 0; i < ntx; i++)
		last_k[i] = -1;
	memset(t->seen, 0, (size_t)t->total * sizeof(int));
	t->dup = t->missed = 0;
	for (size_t i = 0; i < m->n; i++) {
		const struct kmsg *k = &m->v[i];
		json_error_t je;
		json_t *o = json_loadb(k->val, k->vlen, 0, &je);
		const char *trace;
		long n, kk;
		int tx;

		ck_assert_msg(o, "payload is not JSON (%s): %s", je.text, k->val);
		trace = json_string_value(json_object_get(o, "trace"));
		ck_assert_ptr_nonnull(trace);
		ck_assert_msg(k->key && strcmp(k->key, trace) == 0, "key %s, trace %s",
			      k->key ? k->key : "(null)", trace);
		ck_assert_int_eq(
			rd_kafka_msg_partitioner_murmur2(NULL, k->key, k->klen, m->nparts, NULL, NULL),
			k->partition);
		n = json_num(o, "n");
		kk = json_num(o, "k");
		ck_assert_msg(n >= 0 && n < t->total, "no n in %s", k->val);
		tx = (int)(n % ntx);
		ck_assert_int_eq(atoi(trace + 2), tx);
		if (ordered) {
			ck_assert_msg(kk > last_k[tx], "transaction %s: record %ld after %d in partition %d",
				      trace, kk, last_k[tx], k->partition);
			last_k[tx] = (int)kk;
		}
		t->seen[n]++;
		json_decref(o);
	}
	for (int i = 0; i < t->total; i++) {
		t->dup += t->seen[i] > 1;
		t->missed += t->seen[i] == 0;
	}
	free(last_k);
}

static char *gen_stream(int total, int ntx, size_t *len)
{
	size_t cap = (size_t)total * 256, n = 0;
	char *buf = malloc(cap);

	ck_assert_ptr_nonnull(buf);
	for (int i = 0; i < total; i++)
		n += (size_t)gen_line(buf + n, cap - n, i, ntx);
	*len = n;
	return buf;
}

/* --- the tests --------------------------------------------------------------- */

START_TEST(every_record_arrives_once_keyed_by_its_transaction_in_order)
{
	enum { TOTAL = 20000, NTX = 400 };
	struct tally t = {.total = TOTAL};
	struct kmsgs m;
	size_t len;
	char *in = gen_stream(TOTAL, NTX, &len);
	int used[6] = {0}, parts = 0;

	t.seen = calloc(TOTAL, sizeof(int));
	ck_assert_int_eq(run_clewd(bootstrap_uri("logs", NULL), in, len, NULL), 0);
	consume_all("logs", &m);
	ck_assert_int_eq(m.nparts, 6);
	ck_assert_uint_eq(m.n, TOTAL);
	check_stream(&m, &t, NTX, true);
	ck_assert_int_eq(t.missed, 0);
	ck_assert_int_eq(t.dup, 0);
	/* 400 keys spread over every partition */
	for (size_t i = 0; i < m.n; i++)
		used[m.v[i].partition] = 1;
	for (int p = 0; p < 6; p++)
		parts += used[p];
	ck_assert_int_eq(parts, 6);
	kmsgs_free(&m);
	free(t.seen);
	free(in);
}
END_TEST

/*
 * A queue of 37 messages and max_inflight of 16k (~60 records): batches
 * cut short by a full queue and by the byte bound, resumed on later
 * polls, handed over with rd_kafka_produce_batch() and, with timestamp:
 * record, one by one. Every record arrives once, in order, and with
 * timestamp: record stamped with its own time.
 */
START_TEST(a_tiny_queue_and_max_inflight_pause_mid_batch_and_lose_nothing)
{
	enum { TOTAL = 6000, NTX = 100 };
	static const char *const names[] = {"tiny", "tiny_ts"};
	struct tm base = {.tm_year = 126, .tm_mon = 10, .tm_mday = 23, .tm_hour = 7};
	const int64_t base_ms = (int64_t)timegm(&base) * 1000;
	struct tally t = {.total = TOTAL};
	struct kmsgs m;
	size_t len;
	char *in = gen_stream(TOTAL, NTX, &len), query[200];

	t.seen = calloc(TOTAL, sizeof(int));
	for (int run = 0; run < 2; run++) {
		snprintf(query, sizeof(query),
			 "max_inflight=16k&properties.queue.buffering.max.messages=37%s",
			 run ? "&timestamp=record" : "");
		ck_assert_int_eq(run_clewd(bootstrap_uri(names[run], query), in, len, NULL), 0);
		consume_all(names[run], &m);
		ck_assert_uint_eq(m.n, TOTAL);
		check_stream(&m, &t, NTX, true);
		ck_assert_int_eq(t.missed, 0);
		ck_assert_int_eq(t.dup, 0);
		for (size_t i = 0; run && i < m.n; i++) {
			json_t *o = json_loadb(m.v[i].val, m.v[i].vlen, 0, NULL);
			long n = json_num(o, "n");

			/* gen_line()'s time for record n */
			ck_assert_int_eq(m.v[i].ts_ms, base_ms + (n / 60000) % 60 * 60000 +
							       (n / 1000) % 60 * 1000 + n % 1000000 / 1000);
			json_decref(o);
		}
		kmsgs_free(&m);
	}
	free(t.seen);
	free(in);
}
END_TEST

/*
 * clewd fed at a steady pace; once records arrive, broker 2 (leader of
 * some partitions) goes down for a while and comes back. Return: the
 * duplicates, after checking nothing is missing.
 */
static int broker_down_run(const char *topic, const char *query, char **log_out)
{
	enum { TOTAL = 8000, NTX = 300 };
	struct tally t = {.total = TOTAL};
	const char *args[] = {"-i", "stdin", "-o", bootstrap_uri(topic, query), NULL};
	char errlog[600];
	struct kmsgs m;
	pid_t d, w;
	int fd, dup, gate[2];

	t.seen = calloc(TOTAL, sizeof(int));
	snprintf(errlog, sizeof(errlog), "%s/clewd.log", tmp);
	d = spawn_clewd(args, &fd, errlog, false);
	ck_assert_int_eq(pipe(gate), 0);
	/*
	 * ~6 s of records; the writer stops after the first 1000 until the broker is down,
	 * so the outage is mid-stream however slow the machine (ASan) is
	 */
	w = spawn_writer(fd, TOTAL, NTX, 800, gate[0], 1000);
	close(gate[0]);
	/* wait for the first records to be in Kafka */
	for (int i = 0; i < 600; i++) {
		consume_all(topic, &m);
		size_t got = m.n;
		kmsgs_free(&m);
		if (got > 0)
			break;
		th_msleep(100);
	}
	ck_assert_int_eq(kmock_cmd(&km, "down 2"), 0);
	/* the writer goes on (it holds the pipe's write end too: a byte, not EOF, wakes it) */
	ck_assert_int_eq(write(gate[1], "g", 1), 1);
	close(gate[1]);
	th_msleep(3000);
	ck_assert_int_eq(kmock_cmd(&km, "up 2"), 0);
	ck_assert_int_eq(th_wait(w), 0);
	ck_assert_int_eq(th_wait(d), 0); /* stdin at EOF: exits once everything is acknowledged */
	consume_all(topic, &m);
	check_stream(&m, &t, NTX, false);
	ck_assert_msg(t.missed == 0, "%d of %d records lost", t.missed, TOTAL);
	dup = t.dup;
	kmsgs_free(&m);
	free(t.seen);
	if (log_out)
		*log_out = th_slurp_must(errlog, NULL);
	return dup;
}

START_TEST(a_broker_down_mid_stream_then_back_loses_nothing)
{
	int dup = broker_down_run("down", NULL, NULL);

	fprintf(stderr, "broker down 3 s: %d records delivered twice\n", dup);
}
END_TEST

START_TEST(delivery_timeouts_while_a_broker_is_down_are_retried_never_lost)
{
	char *log;
	/* messages for the dead broker's partitions time out after 1 s: their chunks are produced again */
	int dup = broker_down_run("timeout", "properties.message.timeout.ms=1000", &log);

	fprintf(stderr, "broker down 3 s, 1 s delivery timeout: %d records delivered twice\n", dup);
	/*
	 * Whether librdkafka timed messages out depends on when the mock noticed the outage (under
	 * ASan it often reconnects first): nothing lost is the assertion, the retry path is reported.
	 */
	fprintf(stderr, "delivery timeouts: %s\n",
		strstr(log, "output not ready: retrying") ? "chunks retried, the output recovered"
							  : "none happened in this run");
	free(log);
}
END_TEST

/*
 * Mixed input for the payload tests: a line no parser takes (first: below
 * a record it would be a continuation line), pipe, JSON, a multi-line record.
 */
static const char mixed[] =
	"\x01garbage that is no record\n"
	"2026-11-23T07:00:00.000001Z INFO t1:s1|orders|GET|/api/v1/orders/42|status=200|msg=order fetched\n"
	"{\"timestamp\":\"2026-11-23T07:00:00.5Z\",\"level\":\"warn\",\"service\":\"billing\",\"trace\":\"t1\","
	"\"span\":\"b1\",\"parent\":\"s1\",\"message\":\"card \\\"declined\\\"\",\"amount\":12.5}\n"
	"2026-11-23T07:00:01Z ERROR t2:s9|orders|POST|/pay|msg=boom\n"
	"java.lang.IllegalStateException: boom\n"
	"\tat a.B(B.java:2)\n";

START_TEST(a_json_payload_is_a_logstash_event)
{
	struct kmsgs m;
	json_t *o;

	ck_assert_int_eq(run_clewd(bootstrap_uri("fmt-json", NULL), mixed, sizeof(mixed) - 1, NULL), 0);
	consume_all("fmt-json", &m);
	ck_assert_uint_eq(m.n, 4);
	for (size_t i = 0; i < m.n; i++) {
		o = json_loadb(m.v[i].val, m.v[i].vlen, 0, NULL);
		ck_assert_msg(o, "not JSON: %s", m.v[i].val);
		ck_assert_str_eq(json_string_value(json_object_get(o, "@version")), "1");
		ck_assert_ptr_nonnull(json_string_value(json_object_get(o, "message")));
		ck_assert_ptr_nonnull(json_string_value(json_object_get(o, "host")));
		if (m.v[i].klen == 0) {
			/* the line no parser took: flagged, empty key */
			ck_assert_ptr_nonnull(json_object_get(o, "_unparsed"));
			ck_assert_str_eq(json_string_value(json_object_get(o, "message")),
					 "\x01garbage that is no record");
		} else {
			ck_assert_str_eq(json_string_value(json_object_get(o, "trace")), m.v[i].key);
			ck_assert_ptr_nonnull(json_string_value(json_object_get(o, "@timestamp")));
			ck_assert_ptr_nonnull(json_string_value(json_object_get(o, "service")));
		}
		if (strcmp(json_string_value(json_object_get(o, "message")), "card \"declined\"") == 0) {
			/* the formats library's RFC 3339, however many digits it writes */
			ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(o, "@timestamp")),
						     "2026-11-23T07:00:00.5"));
			ck_assert_str_eq(json_string_value(json_object_get(o, "service")), "billing");
			ck_assert_str_eq(json_string_value(json_object_get(o, "span")), "b1");
			ck_assert(json_real_value(json_object_get(o, "amount")) == 12.5);
		}
		if (strncmp(json_string_value(json_object_get(o, "message")), "boom", 4) == 0)
			/* the stack trace stays in the message */
			ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(o, "message")),
						     "\n\tat a.B(B.java:2)"));
		json_decref(o);
	}
	kmsgs_free(&m);
}
END_TEST

/* The records of @text (one a line start, continuation lines joined), as fmt_parse() sees them. */
static size_t split_input(const char *text, char **recs, size_t max)
{
	size_t n = 0;
	const char *p = text;

	while (*p && n < max) {
		const char *e = p;
		for (;;) {
			const char *nl = strchr(e, '\n');
			e = nl ? nl + 1 : e + strlen(e);
			if (!*e || fmt_detect(e, strcspn(e, "\n")) != FMT_UNKNOWN)
				break;
		}
		recs[n++] = strndup(p, (size_t)(e - p) - (e[-1] == '\n'));
		p = e;
	}
	return n;
}

/* The decoded fields of @r in one comparable string. */
static char *meaning(const struct fmt_record *r)
{
	const struct fmt_str *v[] = {&r->trace,	 &r->span, &r->parent,	&r->service,
				     &r->method, &r->path, &r->message, &r->cont};
	char *out = malloc(65536), dec[4096];
	size_t n = (size_t)snprintf(out, 65536, "ts=%lld lvl=%u", (long long)(r->has_ts ? r->ts_ns : 0),
				    r->level);

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t d = v[i]->ptr ? fmt_str_decode(v[i], dec) : 0;
		n += (size_t)snprintf(out + n, 65536 - n, "|%.*s", (int)d, v[i]->ptr ? dec : "<absent>");
	}
	for (uint16_t i = 0; i < r->nattrs; i++) {
		size_t k = fmt_str_decode(&r->attrs[i].key, dec), d;
		n += (size_t)snprintf(out + n, 65536 - n, "|%.*s=", (int)k, dec);
		d = fmt_str_decode(&r->attrs[i].val, dec);
		n += (size_t)snprintf(out + n, 65536 - n, "%.*s", (int)d, dec);
	}
	return out;
}

START_TEST(raw_and_msgpack_payloads_carry_the_record)
{
	static struct fmt_record want, got;
	static const char *const fmts[] = {"raw", "msgpack"};
	char *recs[8];
	size_t nrec = split_input(mixed, recs, 8);

	ck_assert_uint_eq(nrec, 4);
	for (size_t f = 0; f < 2; f++) {
		char topic[32], query[32];
		struct kmsgs m;

		snprintf(topic, sizeof(topic), "fmt-%s", fmts[f]);
		snprintf(query, sizeof(query), "format=%s", fmts[f]);
		ck_assert_int_eq(run_clewd(bootstrap_uri(topic, query), mixed, sizeof(mixed) - 1, NULL), 0);
		consume_all(topic, &m);
		ck_assert_uint_eq(m.n, nrec);
		for (size_t i = 0; i < nrec; i++) {
			int wrc = fmt_parse(recs[i], strlen(recs[i]), &want, NULL);
			bool found = false;

			for (size_t j = 0; j < m.n && !found; j++) {
				struct record_src src;
				size_t used;
				char *a, *b;

				if (f == 0) {
					if (wrc != 0) {
						/* a raw record: its line, byte for byte */
						found = strcmp(m.v[j].val, recs[i]) == 0;
						continue;
					}
					if (fmt_parse(m.v[j].val, m.v[j].vlen, &got, NULL) != 0)
						continue;
				} else {
					ck_assert_int_eq(record_unpack((const uint8_t *)m.v[j].val,
								       m.v[j].vlen, &used, &got, &src),
							 0);
					ck_assert_uint_eq(used, m.v[j].vlen);
					if (wrc != 0) {
						found = src.raw && src.line.len == strlen(recs[i]) &&
							memcmp(src.line.ptr, recs[i], src.line.len) == 0;
						continue;
					}
				}
				a = meaning(&want);
				b = meaning(&got);
				found = strcmp(a, b) == 0;
				free(a);
				free(b);
			}
			ck_assert_msg(found, "%s: record not found as sent: %s", fmts[f], recs[i]);
		}
		kmsgs_free(&m);
	}
	for (size_t i = 0; i < nrec; i++)
		free(recs[i]);
}
END_TEST

START_TEST(a_templated_topic_and_another_key_field)
{
	static const char input[] = "t1:s1|orders|GET|/a|msg=one\n"
				    "t1:s2|billing|GET|/b|msg=two\n"
				    "{\"trace\":\"t2\",\"span\":\"s3\",\"message\":\"no service\"}\n"
				    "t3:s4|orders|GET|/c|msg=three\n";
	static const char *const want_topic[] = {"logs-orders", "logs-billing", "logs-none"};
	static const size_t want_n[] = {2, 1, 1};
	char yaml[1024], yamlpath[600];

	/* from a YAML file: the outputs of -o would replace it */
	snprintf(yamlpath, sizeof(yamlpath), "%s/clewd.yaml", tmp);
	snprintf(yaml, sizeof(yaml),
		 "outputs:\n"
		 "  - type: kafka\n"
		 "    brokers: %s\n"
		 "    topic: logs-${service}\n"
		 "    key: span\n"
		 "    compression: lz4\n"
		 "    properties:\n"
		 "      linger.ms: 1\n",
		 km.bootstrap);
	th_write_text(yamlpath, yaml);
	{
		const char *args[] = {"-c", yamlpath, "-i", "stdin", NULL};
		char errlog[600];
		int fd;
		pid_t d;

		snprintf(errlog, sizeof(errlog), "%s/clewd.log", tmp);
		d = spawn_clewd(args, &fd, errlog, false);
		ck_assert(write(fd, input, sizeof(input) - 1) == (ssize_t)(sizeof(input) - 1));
		close(fd);
		ck_assert_int_eq(th_wait(d), 0);
	}
	for (size_t t = 0; t < 3; t++) {
		struct kmsgs m;

		consume_all(want_topic[t], &m);
		ck_assert_msg(m.n == want_n[t], "%s: %zu messages", want_topic[t], m.n);
		for (size_t i = 0; i < m.n; i++) {
			json_t *o = json_loadb(m.v[i].val, m.v[i].vlen, 0, NULL);

			ck_assert_ptr_nonnull(o);
			ck_assert_str_eq(m.v[i].key, json_string_value(json_object_get(o, "span")));
			if (t < 2)
				ck_assert_str_eq(json_string_value(json_object_get(o, "service")),
						 want_topic[t] + 5);
			else
				ck_assert_ptr_null(json_object_get(o, "service"));
			json_decref(o);
		}
		kmsgs_free(&m);
	}
}
END_TEST

/* clewd --check-config on @yaml (or on -o @uri when @yaml is NULL): its status, stderr+stdout in *out. */
static int check_config(const char *yaml, const char *uri, char **out)
{
	char path[600], log[600];
	const char *args[8];
	size_t n = 0;
	pid_t d;
	int st;

	snprintf(path, sizeof(path), "%s/check.yaml", tmp);
	snprintf(log, sizeof(log), "%s/check.log", tmp);
	unlink(log);
	if (yaml) {
		th_write_text(path, yaml);
		args[n++] = "-c";
		args[n++] = path;
	} else {
		args[n++] = "-i";
		args[n++] = "stdin";
		args[n++] = "-o";
		args[n++] = uri;
	}
	args[n++] = "--check-config";
	args[n] = NULL;
	d = spawn_clewd(args, NULL, log, true);
	st = th_wait(d);
	*out = th_slurp_or_empty(log, NULL);
	return st;
}

START_TEST(check_config_validates_kafka_options_with_their_line)
{
	static const char good[] = "inputs:\n"
				   "  - type: stdin\n"
				   "outputs:\n"
				   "  - type: kafka\n"
				   "    name: bus\n"
				   "    brokers: k1:9092,k2:9092\n"
				   "    topic: logs-${service}\n"
				   "    format: msgpack\n"
				   "    properties:\n"
				   "      security.protocol: sasl_ssl\n"
				   "      sasl.mechanisms: PLAIN\n"
				   "      sasl.username: clewd\n"
				   "      sasl.password: s3cret\n"
				   "      linger.ms: 20\n";
	static const char unknown[] = "inputs:\n"
				      "  - type: stdin\n"
				      "outputs:\n"
				      "  - type: kafka\n"
				      "    brokers: k1:9092\n"
				      "    topic: logs\n"
				      "    partitions: 6\n";
	static const char badprop[] = "inputs:\n"
				      "  - type: stdin\n"
				      "outputs:\n"
				      "  - type: kafka\n"
				      "    brokers: k1:9092\n"
				      "    topic: logs\n"
				      "    properties:\n"
				      "      linger.ms: 5\n"
				      "      no.such.property: 1\n";
	static const char partitioner[] = "inputs:\n"
					  "  - type: stdin\n"
					  "outputs:\n"
					  "  - type: kafka\n"
					  "    brokers: k1:9092\n"
					  "    topic: logs\n"
					  "    properties: {partitioner: random}\n";
	char *out;

	/* nothing is connected: these brokers do not exist */
	ck_assert_int_eq(check_config(good, NULL, &out), 0);
	ck_assert_msg(strstr(out, "kafka"), "no summary: %s", out);
	ck_assert_msg(!strstr(out, "s3cret"), "the password is printed: %s", out);
	free(out);
	ck_assert_int_eq(check_config(unknown, NULL, &out), 2);
	ck_assert_msg(strstr(out, "line 7: partitions: unknown key"), "got: %s", out);
	free(out);
	ck_assert_int_eq(check_config(badprop, NULL, &out), 2);
	ck_assert_msg(strstr(out, "line 9: properties.no.such.property"), "got: %s", out);
	free(out);
	ck_assert_int_eq(check_config(partitioner, NULL, &out), 2);
	ck_assert_msg(strstr(out, "properties.partitioner: fixed by clewd"), "got: %s", out);
	free(out);
	/* the URI form */
	ck_assert_int_eq(
		check_config(NULL, "kafka://k1:9092/logs?format=raw&compression=zstd&key=span", &out), 0);
	free(out);
	ck_assert_int_eq(check_config(NULL, "kafka://k1:9092/logs?bogus=1", &out), 2);
	ck_assert_msg(strstr(out, "bogus: unknown key"), "got: %s", out);
	free(out);
	ck_assert_int_eq(check_config(NULL, "kafka://k1:9092/logs?format=avro", &out), 2);
	ck_assert_msg(strstr(out, "format: expected json, msgpack or raw"), "got: %s", out);
	free(out);
	ck_assert_int_eq(check_config(NULL, "kafka://k1:9092/bad%20topic", &out), 2);
	ck_assert_msg(strstr(out, "a topic is made of"), "got: %s", out);
	free(out);
	ck_assert_int_eq(check_config(NULL, "kafka://k1:9092", &out), 2);
	ck_assert_msg(strstr(out, "no topic"), "got: %s", out);
	free(out);
	ck_assert_int_eq(check_config(NULL, "kafka://k1:9092/logs?properties.linger.ms=soon", &out), 2);
	ck_assert_msg(strstr(out, "properties.linger.ms"), "got: %s", out);
	free(out);
}
END_TEST

static Suite *kafka_suite(void)
{
	Suite *s = suite_create("kafka");
	TCase *tc = tcase_create("output");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, every_record_arrives_once_keyed_by_its_transaction_in_order);
	tcase_add_test(tc, a_tiny_queue_and_max_inflight_pause_mid_batch_and_lose_nothing);
	tcase_add_test(tc, a_broker_down_mid_stream_then_back_loses_nothing);
	tcase_add_test(tc, delivery_timeouts_while_a_broker_is_down_are_retried_never_lost);
	tcase_add_test(tc, a_json_payload_is_a_logstash_event);
	tcase_add_test(tc, raw_and_msgpack_payloads_carry_the_record);
	tcase_add_test(tc, a_templated_topic_and_another_key_field);
	tcase_add_test(tc, check_config_validates_kafka_options_with_their_line);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(kafka_suite());
	int failed;

	signal(SIGPIPE, SIG_IGN); /* a helper that died must fail a check, not kill the test */
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
