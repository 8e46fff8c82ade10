/*
 * input/in_kafka.c - the kafka input: a member of a Kafka consumer group
 * (-i kafka://BROKERS/TOPIC?group=G, or type: kafka), so a fleet scales
 * out on Kafka: host agents -> Kafka -> a group of aggregator clewds.
 *
 * DESIGN: group membership and rebalancing are librdkafka's
 * (rd_kafka_subscribe(); eager by default, cooperative when
 * properties.partition.assignment.strategy says cooperative-sticky: the
 * rebalance callback in kafka_consume.c handles both; the tests run
 * eager: librdkafka 2.0.2's mock cluster left cooperative members
 * without partitions in a trial). Each assigned
 * partition is a source of the pipeline without a checkpoint entry: the
 * group's committed offset is its position. Offsets are never committed
 * by librdkafka (enable.auto.commit and enable.auto.offset.store are
 * false, and fixed): a partition's offset is committed (asynchronously,
 * an explicit list) only once every output has acknowledged the records
 * of the messages before it (pl_source_on_acked()). So after a kill -9,
 * a restart or a rebalance, what was not acknowledged is read again: at
 * least once, duplicates possible, nothing lost. A revoked partition's
 * acknowledged offset is committed, the rest abandoned.
 *
 * Payloads are decoded as tracegrep --kafka does (kw_payload_decode(),
 * store/kafka_wire.h): a text payload (clewd's json or raw formats, or
 * any log line a producer wrote) is one line of its partition's source,
 * parsed by the input's parser like a line of a file; a msgpack payload
 * (format msgpack) is the record itself, handed on as it was read.
 *
 * Polling: everything librdkafka reports (messages, rebalances, commit
 * answers, logs: the main queue is forwarded to the consumer's) comes
 * through one queue, which writes to a pipe when it gets an event; the
 * pipe wakes the loop, and tick() polls the queue (at most
 * CD_KAFKA_IN_BURST messages a turn). Backpressure: when the pipeline
 * is about to hold inputs back (tick() is then not called), tick()
 * pauses the assignment (nothing more is fetched) and arms a timer that
 * polls the queue meanwhile (rebalances, commit answers, and the
 * member's liveness for max.poll.interval.ms); the next tick() resumes
 * it. stop() pauses the same way: the drain still serves the queue.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "input/in_kafka.h"
#include "output/kafka/kafka_client.h"
#include "util/metrics.h"
#include "util/util.h"
#include "util/banned.h"

extern const struct cd_plugin_desc in_kafka_desc;

/* What clewd fixes in the consumer: the offsets are committed by the input, never by librdkafka. */
static const char fixed_why[] = "fixed by clewd (offsets are committed once every output has the records)";
static const struct kf_fixed kin_fixed[] = {
	{"enable.auto.commit", "false", fixed_why},
	{"enable.auto.offset.store", "false", fixed_why},
	{"group.id", NULL, "set by clewd (give the group as group:)"},
	{NULL, NULL, NULL},
};

/* @t (@n bytes) is a topic name, or a regex of topic names starting with '^'. */
static bool topic_ok(const char *t, size_t n)
{
	if (n == 0 || n > CD_KAFKA_TOPIC_LEN_MAX)
		return false;
	if (t[0] == '^')
		return true;
	for (size_t i = 0; i < n; i++)
		if (!kf_topic_char(t[i]))
			return false;
	return true;
}

/* -i kafka://BROKERS/TOPIC[?K=V&...]: the spec's path option into brokers, topic and the query's keys. */
static int split_path(struct cd_opts *o, struct cd_err *err)
{
	const char *path = cd_opt_get(o, "path"), *slash, *q, *end;
	char *copy;
	int rc;

	if (!path)
		return 0;
	copy = cd_strdup(path);
	if (!copy)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	q = strchr(copy, '?');
	end = q ? q : copy + strlen(copy);
	slash = memchr(copy, '/', (size_t)(end - copy));
	if (!slash || slash == copy || slash + 1 == end) {
		rc = cd_opt_fail(o, NULL, "expected kafka://HOST:PORT[,...]/TOPIC?group=GROUP", err);
		goto out;
	}
	if ((rc = cd_opt_add(o, "brokers", 7, copy, (size_t)(slash - copy), 0, 0, err)) < 0 ||
	    (rc = cd_opt_add(o, "topic", 5, slash + 1, (size_t)(end - slash - 1), 0, 0, err)) < 0)
		goto out;
	while (q && *q) {
		const char *kv = q + 1, *amp = strchr(kv, '&'), *kend = amp ? amp : kv + strlen(kv);
		const char *eq = memchr(kv, '=', (size_t)(kend - kv));
		char key[128];

		if (kend > kv) {
			if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof(key)) {
				rc = cd_opt_fail(o, NULL, "expected KEY=VALUE after '?'", err);
				goto out;
			}
			memcpy(key, kv, (size_t)(eq - kv));
			key[eq - kv] = '\0';
			if (!cd_opt_spec_find(in_kafka_desc.opts, key) || strcmp(key, "path") == 0) {
				rc = cd_opt_fail(o, key, "not a key of the kafka input", err);
				goto out;
			}
			if ((rc = cd_opt_add(o, kv, (size_t)(eq - kv), eq + 1, (size_t)(kend - eq - 1), 0, 0,
					     err)) < 0)
				goto out;
		}
		q = amp;
	}
	cd_opt_del(o, "path");
	rc = 0;
out:
	free(copy);
	return rc;
}

/* The consumer's librdkafka configuration for options @o (checked). */
static int build_conf(const struct cd_opts *o, rd_kafka_conf_t **out, struct cd_err *err)
{
	unsigned start;
	int rc;

	if ((rc = cd_opt_enum(o, "start", "earliest|latest", 0, &start, err)) < 0)
		return rc;
	const struct kf_prop own[] = {
		{"group", "group.id", cd_opt_get(o, "group")},
		{"group", "enable.auto.commit", "false"},
		{"group", "enable.auto.offset.store", "false"},
		{"start", "auto.offset.reset", start ? "latest" : "earliest"},
		{NULL, NULL, NULL},
	};
	return kf_conf_client(o, in_kafka_desc.opts, cd_opt_get(o, "brokers"), own, kin_fixed, out, err);
}

static int kafka_check(struct cd_opts *o, struct cd_err *err)
{
	const char *t, *g;
	rd_kafka_conf_t *conf;
	int rc;

	if ((rc = split_path(o, err)) < 0)
		return rc;
	if (!cd_opt_get(o, "brokers") || !*cd_opt_get(o, "brokers"))
		return cd_opt_fail(o, NULL, "no brokers (kafka://HOST:PORT/TOPIC, or brokers: in the file)",
				   err);
	t = cd_opt_get(o, "topic");
	if (!t)
		return cd_opt_fail(o, NULL, "no topic (kafka://HOST:PORT/TOPIC, or topic: in the file)", err);
	for (const char *p = t;;) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);

		if (!topic_ok(p, n))
			return cd_opt_fail(
				o, "topic",
				"topics are made of A-Z a-z 0-9 . _ - (or ^REGEX), separated by commas", err);
		if (!c)
			break;
		p = c + 1;
	}
	g = cd_opt_get(o, "group");
	if (!g || !*g)
		return cd_opt_fail(o, "group", "a consumer group is required (?group=NAME, or group:)", err);
	if ((rc = build_conf(o, &conf, err)) < 0)
		return rc;
	rd_kafka_conf_destroy(conf);
	return 0;
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	const struct kin_state *st = rd_kafka_opaque(rk);
	enum fmt_level l = level <= 3	? FMT_LEVEL_ERROR
			   : level == 4 ? FMT_LEVEL_WARN
			   : level <= 6 ? FMT_LEVEL_INFO
					: FMT_LEVEL_DEBUG;

	cd_log(l, buf, "input", st ? st->name : NULL, "facility", fac, NULL);
}

/* Arm (every CD_KAFKA_IN_HELD_POLL_MS) or disarm the timer that polls while tick() is not called. */
static void held_timer(struct kin_state *st, bool on)
{
	const long ns = (long)(CD_KAFKA_IN_HELD_POLL_MS % 1000) * 1000000;
	const time_t s = CD_KAFKA_IN_HELD_POLL_MS / 1000;
	struct itimerspec its = {.it_interval = {s, ns}, .it_value = {s, ns}};

	if (!on)
		memset(&its, 0, sizeof(its));
	timerfd_settime(st->timer, 0, &its, NULL);
}

/* Pause (@pause) or resume the whole assignment. */
static void pause_all(struct kin_state *st, bool pause)
{
	rd_kafka_topic_partition_list_t *l = NULL;

	/* paused, nothing is fetched and the queue may stay non-empty (no wake-up): poll on a timer */
	held_timer(st, pause);
	st->paused = pause;
	st->pauses += pause;
	if (rd_kafka_assignment(st->rk, &l) || !l)
		return;
	if (pause)
		rd_kafka_pause_partitions(st->rk, l);
	else
		rd_kafka_resume_partitions(st->rk, l);
	rd_kafka_topic_partition_list_destroy(l);
}

/* Serve the queue: up to @max messages handed on (dropped when stopped). Return: whether more may wait. */
static bool serve(struct kin_state *st, unsigned max)
{
	for (unsigned i = 0; i < max; i++) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(st->rk, 0);

		if (!m)
			return false;
		if (st->stopped)
			st->stale++; /* not handed on, so never committed: read again */
		else
			kin_message(st, m);
		rd_kafka_message_destroy(m);
	}
	return true;
}

static void on_wake(void *arg)
{
	struct kin_state *st = arg;
	uint64_t buf[8];

	while (read(st->wake[0], buf, sizeof(buf)) > 0)
		;
	while (read(st->timer, buf, sizeof(buf)) > 0)
		;
	if (!st->stopped && !pl_backpressure(st->pl))
		return; /* tick() comes next */
	/* held back (tick() is not called) or draining: fetch no more, but answer rebalances */
	if (!st->stopped && !st->paused)
		pause_all(st, true);
	while (serve(st, CD_KAFKA_IN_BURST))
		;
}

static int subscribe(struct kin_state *st, struct cd_err *err)
{
	const char *t = cd_opt_get(&st->ic->opts, "topic");
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_resp_err_t e;

	if (!l)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	for (const char *p = t;;) {
		const char *c = strchr(p, ',');
		char name[CD_KAFKA_TOPIC_LEN_MAX + 1];
		size_t n = c ? (size_t)(c - p) : strlen(p);

		memcpy(name, p, n); /* n <= CD_KAFKA_TOPIC_LEN_MAX: checked */
		name[n] = '\0';
		rd_kafka_topic_partition_list_add(l, name, RD_KAFKA_PARTITION_UA);
		if (!c)
			break;
		p = c + 1;
	}
	e = rd_kafka_subscribe(st->rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (e)
		return cd_err_set(err, -CD_EIO, 0, "input %s: subscribe: %s", st->name, rd_kafka_err2str(e));
	return 0;
}

static int kafka_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_input_conf *ic,
		      struct cd_err *err)
{
	struct kin_state *st = calloc(1, sizeof(*st));
	rd_kafka_conf_t *conf;
	char errstr[256];
	int rc;

	if (!st)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	st->pl = pl;
	st->idx = idx;
	st->ic = ic;
	st->wake[0] = st->wake[1] = st->timer = -1;
	snprintf(st->name, sizeof(st->name), "kafka:%s", cd_opt_get(&ic->opts, "topic"));
	if ((rc = build_conf(&ic->opts, &conf, err)) < 0)
		goto err_free;
	rd_kafka_conf_set_opaque(conf, st);
	rd_kafka_conf_set_rebalance_cb(conf, kin_on_rebalance);
	rd_kafka_conf_set_log_cb(conf, on_log);
	st->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (!st->rk) {
		/* rd_kafka_new() owns conf only on success */
		rd_kafka_conf_destroy(conf);
		rc = cd_err_set(err, -CD_EINVAL, 0, "input %s: %s", st->name, errstr);
		goto err_free;
	}
	/* logs, errors and rebalances all come through the consumer's queue, polled on the loop */
	rd_kafka_set_log_queue(st->rk, NULL);
	rd_kafka_poll_set_consumer(st->rk);
	st->q = rd_kafka_queue_get_consumer(st->rk);
	if (!st->q || pipe2(st->wake, O_NONBLOCK | O_CLOEXEC) < 0) {
		rc = cd_err_set(err, -CD_EIO, errno, "input %s: cannot make its wake-up pipe", st->name);
		goto err_rk;
	}
	rd_kafka_queue_io_event_enable(st->q, st->wake[1], "1", 1);
	st->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (st->timer < 0) {
		rc = cd_err_set(err, -CD_EIO, errno, "input %s: cannot make its timer", st->name);
		goto err_rk;
	}
	if ((rc = pl_watch_fd(pl, st->wake[0], on_wake, st)) < 0) {
		cd_err_set(err, rc, 0, "input %s: cannot watch its wake-up pipe", st->name);
		goto err_rk;
	}
	if ((rc = pl_watch_fd(pl, st->timer, on_wake, st)) < 0) {
		cd_err_set(err, rc, 0, "input %s: cannot watch its timer", st->name);
		pl_unwatch_fd(pl, st->wake[0]);
		goto err_rk;
	}
	if ((rc = subscribe(st, err)) < 0)
		goto err_unwatch;
	cd_log(FMT_LEVEL_INFO, "kafka: joining the consumer group", "input", st->name, "group",
	       cd_opt_get(&ic->opts, "group"), "brokers", cd_opt_get(&ic->opts, "brokers"), NULL);
	*state = st;
	return 0;

err_unwatch:
	pl_unwatch_fd(pl, st->wake[0]);
	pl_unwatch_fd(pl, st->timer);
err_rk:
	if (st->timer >= 0)
		close(st->timer);
	if (st->q) {
		rd_kafka_queue_io_event_enable(st->q, -1, NULL, 0);
		rd_kafka_queue_destroy(st->q);
	}
	rd_kafka_destroy(st->rk);
	if (st->wake[0] >= 0) {
		close(st->wake[0]);
		close(st->wake[1]);
	}
err_free:
	free(st);
	return rc;
}

static bool kafka_tick(void *state, int64_t now_ns)
{
	struct kin_state *st = state;
	bool more;

	if (st->stopped)
		return false;
	if (st->paused)
		pause_all(st, false);
	kin_commit(st, now_ns);
	more = serve(st, CD_KAFKA_IN_BURST);
	if (pl_backpressure(st->pl)) {
		/* the pipeline holds us back from the next turn on: fetch no more meanwhile */
		pause_all(st, true);
		return false;
	}
	return more;
}

static bool kafka_done(void *state)
{
	(void)state;
	return false; /* a consumer group has no end */
}

static void kafka_stop(void *state)
{
	struct kin_state *st = state;

	st->stopped = true;
	kin_end_all(st);
	pause_all(st, true);
}

static void kafka_metrics(void *state, struct metrics *m, const char *label)
{
	static const char *const whys[KIN_NWHY] = {[KIN_EMPTY] = "empty", [KIN_MSGPACK] = "msgpack"};
	const struct kin_state *st = state;
	char lab[512];

	metrics_add(m, "clewd_input_kafka_messages_total", METRICS_COUNTER,
		    "Kafka messages handed on to the pipeline", label, (double)st->messages);
	metrics_add(m, "clewd_input_kafka_bytes_total", METRICS_COUNTER, "Payload bytes of those messages",
		    label, (double)st->bytes);
	metrics_add(m, "clewd_input_kafka_commits_total", METRICS_COUNTER,
		    "Offset commits the group coordinator accepted", label, (double)st->commits);
	metrics_add(m, "clewd_input_kafka_commit_failures_total", METRICS_COUNTER,
		    "Offset commits that failed (read again after a restart or rebalance)", label,
		    (double)st->commit_fails);
	metrics_add(m, "clewd_input_kafka_partitions", METRICS_GAUGE, "Partitions assigned and read now",
		    label, (double)kin_nparts(st));
	for (int k = 0; k < 2; k++) {
		snprintf(lab, sizeof(lab), "%s", label ? label : "");
		metrics_label(lab, sizeof(lab), "kind", k ? "revoke" : "assign");
		metrics_add(m, "clewd_input_kafka_rebalances_total", METRICS_COUNTER,
			    "Partitions given to (assign) or taken from (revoke) this member", lab,
			    (double)(k ? st->revokes : st->assigns));
	}
	for (int w = 0; w < KIN_NWHY; w++) {
		snprintf(lab, sizeof(lab), "%s", label ? label : "");
		metrics_label(lab, sizeof(lab), "reason", whys[w]);
		metrics_add(m, "clewd_input_kafka_decode_failures_total", METRICS_COUNTER,
			    "Messages that gave no parsed record, by reason", lab,
			    (double)st->decode_fail[w]);
	}
	metrics_add(m, "clewd_input_kafka_errors_total", METRICS_COUNTER,
		    "Errors the consumer reported (brokers down, topic missing)", label, (double)st->errors);
	metrics_add(m, "clewd_input_kafka_stale_total", METRICS_COUNTER,
		    "Messages not handed on: their partition was no longer ours (read again by its owner)",
		    label, (double)st->stale);
	metrics_add(m, "clewd_input_kafka_pauses_total", METRICS_COUNTER,
		    "Times fetching was paused because the pipeline held its inputs back", label,
		    (double)st->pauses);
}

static void kafka_close(void *state)
{
	struct kin_state *st = state;
	rd_kafka_resp_err_t e;

	if (!st)
		return;
	/* the last acknowledged offsets, with a bound on the wait for their answers */
	st->stopped = true;
	kin_commit(st, 0);
	for (unsigned waited = 0; st->commits_inflight && waited < CD_KAFKA_IN_CLOSE_MS; waited += 100) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(st->rk, 100);

		if (m) {
			st->stale++;
			rd_kafka_message_destroy(m);
		}
	}
	st->closing = true;
	kin_free_parts(st);
	e = rd_kafka_consumer_close(st->rk);
	if (e)
		cd_log(FMT_LEVEL_WARN, "kafka: leaving the group", "input", st->name, "error",
		       rd_kafka_err2str(e), NULL);
	cd_logf(FMT_LEVEL_INFO,
		"kafka: %s: %llu messages, %llu commits (%llu failed), %llu partitions assigned, %llu revoked",
		st->name, (unsigned long long)st->messages, (unsigned long long)st->commits,
		(unsigned long long)st->commit_fails, (unsigned long long)st->assigns,
		(unsigned long long)st->revokes);
	pl_unwatch_fd(st->pl, st->wake[0]);
	pl_unwatch_fd(st->pl, st->timer);
	close(st->timer);
	rd_kafka_queue_io_event_enable(st->q, -1, NULL, 0);
	rd_kafka_queue_destroy(st->q);
	rd_kafka_destroy(st->rk);
	close(st->wake[0]);
	close(st->wake[1]);
	free(st);
}

static const struct in_plugin in_kafka = {
	.open = kafka_open,
	.tick = kafka_tick,
	.done = kafka_done,
	.stop = kafka_stop,
	.metrics = kafka_metrics,
	.close = kafka_close,
};

static const struct cd_opt_spec kafka_opts[] = {
	{"path", CD_OPT_STRING, NULL, "BROKERS/TOPIC?K=V&...: what follows kafka:// in -i (split by clewd)",
	 NULL, 0, 0},
	{"brokers", CD_OPT_STRING, NULL, "HOST:PORT[,...]: the bootstrap brokers (required)", NULL, 0, 0},
	{"topic", CD_OPT_STRING, NULL, "the topic, or several separated by commas; ^REGEX for a pattern",
	 NULL, 0, 0},
	{"group", CD_OPT_STRING, NULL, "the consumer group (group.id) this clewd is a member of (required)",
	 NULL, 0, 0},
	{"start", CD_OPT_ENUM, "earliest", "where a partition without a committed offset is read from",
	 "earliest|latest", 0, 0},
	{"user", CD_OPT_STRING, NULL, "sasl.username", NULL, 0, 0},
	{"password", CD_OPT_STRING, NULL, "sasl.password", NULL, 0, CD_OPT_SECRET},
	{"properties.", CD_OPT_PREFIX, NULL, "any librdkafka consumer property", NULL, 0, 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

const struct cd_plugin_desc in_kafka_desc = {
	.name = "kafka",
	.scheme = "kafka",
	.usage = "kafka://HOST:PORT[,...]/TOPIC?group=GROUP",
	.summary = "a member of a Kafka consumer group (clewd's kafka output's payloads, or any lines)",
	.opts = kafka_opts,
	.flags = 0,
	.check = kafka_check,
	.in = &in_kafka,
};
