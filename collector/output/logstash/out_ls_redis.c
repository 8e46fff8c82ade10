/*
 * output/logstash/out_ls_redis.c - logstash+redis://HOST:PORT/KEY: Logstash events
 * RPUSHed onto a Redis list, which Logstash's redis input (data_type =>
 * "list") pops.
 *
 * DESIGN: hiredis's plain context in non-blocking mode, driven from
 * poll(): we append commands, write what the socket takes
 * (redisBufferWrite) and read what has come (redisBufferRead), so the
 * loop never waits on Redis. One chunk at a time, oldest first:
 *   1. LLEN KEY (when max_list_length is set). At or above the cap the
 *      chunk is refused for now: counted (refused_total) and given back
 *      with OUT_RETRY; the pipeline retries it after its backoff, and
 *      meanwhile backpressure builds (nothing is dropped). The list may
 *      pass the cap by at most one chunk's events: the check and the
 *      push are not one atomic step, and need not be.
 *   2. RPUSH KEY EVENT... in batches of batch_events, pipelined: the next
 *      batch is appended when the previous one has left clewd's buffer,
 *      so at most one batch is copied in hiredis at a time.
 *   3. Every RPUSH answered with an integer: the chunk is acknowledged.
 *      An error answer (OOM, WRONGTYPE) or a lost connection gives the
 *      chunk back whole (events already pushed are pushed again: possible
 *      duplicates, never loss).
 * AUTH and SELECT go first on each new connection. A Redis that answers
 * nothing within the timeout is dropped like a lost connection.
 */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/lines.h"
#include "output/logstash/ls_common.h"
#include "util/util.h"
#include "util/banned.h"

enum redis_conn { R_DOWN, R_CONNECTING, R_UP };
enum redis_phase { P_IDLE, P_LLEN, P_PUSH };

struct ls_redis_conf {
	char host[256];		     /* server address */
	uint16_t port;		     /* server port */
	const char *key;	     /* the list (borrowed from the configuration) */
	const char *user;	     /* AUTH USER PASSWORD (Redis 6 ACLs), or NULL */
	const char *password;	     /* AUTH, or NULL */
	uint64_t db;		     /* SELECT, 0 = the default database */
	uint64_t max_list;	     /* refuse while LLEN >= this; 0 = no cap */
	uint64_t batch;		     /* events per RPUSH */
	uint64_t timeout_ms;	     /* longest wait for an answer */
	uint64_t connect_timeout_ms; /* longest connect */
};

struct ls_redis {
	char *name;		 /* output label (owned) */
	struct ls_redis_conf cf; /* options */
	redisContext *rc;	 /* the connection, NULL when down */
	enum redis_conn conn;	 /* its state */
	unsigned setup_replies;	 /* AUTH/SELECT answers still to come */
	enum redis_phase phase;	 /* where the oldest chunk is */
	unsigned replies;	 /* RPUSH answers still to come */
	bool push_failed;	 /* an RPUSH was answered with an error */
	char push_err[160];	 /* which */
	bool appended_all;	 /* every batch of the chunk is appended */
	size_t next;		 /* offset in lines of the next event to append */
	int64_t deadline_ns;	 /* connect or answer timeout */
	const char **argv;	 /* RPUSH KEY E1 .. En */
	size_t *argvlen;	 /* their lengths */
	struct ls_queue q;	 /* held chunks */
	struct ls_lines lines;	 /* the rendered oldest chunk */
	struct ls_stats st;	 /* counters */
};

static const struct cd_opt_spec redis_opts[] = {
	{"address", CD_OPT_HOSTPORT, NULL, "HOST[:PORT] of Redis (port 6379)", NULL, 0, 0},
	{"user", CD_OPT_STRING, NULL, "AUTH user password (Redis 6 ACLs)", NULL, 0, 0},
	{"path", CD_OPT_STRING, NULL, "the list (the URI's path)", NULL, 0, 0},
	{"key", CD_OPT_STRING, NULL, "the list (or the URI's path)", NULL, 0, 0},
	{"password", CD_OPT_STRING, NULL, "AUTH password", NULL, 0, CD_OPT_SECRET},
	{"db", CD_OPT_UINT, "0", "SELECT this database", NULL, 1u << 20, 0},
	{"max_list_length", CD_OPT_UINT, "1000000", "refuse chunks while the list is this long (0: no cap)",
	 NULL, INT64_MAX, 0},
	{"batch_events", CD_OPT_UINT, "1000", "events per RPUSH", NULL, 100000, 0},
	{"timeout", CD_OPT_DURATION, "30s", "longest wait for an answer", NULL, 0, 0},
	{"connect_timeout", CD_OPT_DURATION, "5s", "one connect", NULL, 0, 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

static int redis_conf(const struct cd_output_conf *oc, struct ls_redis_conf *cf, struct cd_err *err)
{
	int rc;

	memset(cf, 0, sizeof(*cf));
	rc = cd_opt_hostport(&oc->opts, "address", 6379, cf->host, sizeof(cf->host), &cf->port, err);
	if (rc == -CD_ENOENT)
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: address HOST[:PORT] is required", oc->name);
	if (rc < 0)
		return rc;
	cf->key = cd_opt_get(&oc->opts, "key");
	if (!cf->key)
		cf->key = cd_opt_get(&oc->opts, "path");
	if (!cf->key || !*cf->key)
		return cd_err_set(
			err, -CD_EINVAL, 0,
			"output %s: the list's key is required (logstash+redis://HOST:PORT/KEY, or key:)",
			oc->name);
	if (cd_opt_get(&oc->opts, "key") && cd_opt_get(&oc->opts, "path"))
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: key given twice (path and key)", oc->name);
	cf->password = cd_opt_get(&oc->opts, "password");
	cf->user = cd_opt_get(&oc->opts, "user");
	if (cf->user && !*cf->user)
		cf->user = NULL; /* redis://:PASSWORD@HOST: no user name */
	if (cf->user && !cf->password)
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: user without password", oc->name);
	if ((rc = cd_opt_u64(&oc->opts, "db", 0, 1u << 20, &cf->db, err)) < 0 ||
	    (rc = cd_opt_u64(&oc->opts, "max_list_length", CD_LS_REDIS_LIST_DEFAULT, INT64_MAX, &cf->max_list,
			     err)) < 0 ||
	    (rc = cd_opt_u64(&oc->opts, "batch_events", CD_LS_REDIS_BATCH_DEFAULT, 100000, &cf->batch, err)) <
		    0 ||
	    (rc = cd_opt_ms(&oc->opts, "timeout", 30000, &cf->timeout_ms, err)) < 0 ||
	    (rc = cd_opt_ms(&oc->opts, "connect_timeout", 5000, &cf->connect_timeout_ms, err)) < 0)
		return rc;
	if (cf->batch == 0 || cf->timeout_ms == 0 || cf->connect_timeout_ms == 0)
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: batch_events and timeouts must be > 0",
				  oc->name);
	return 0;
}

static int redis_check(const struct cd_output_conf *oc, struct cd_err *err)
{
	struct ls_redis_conf cf;

	return redis_conf(oc, &cf, err);
}

static void redis_drop(struct ls_redis *r)
{
	if (r->rc)
		redisFree(r->rc);
	r->rc = NULL;
	r->conn = R_DOWN;
	r->setup_replies = 0;
	r->phase = P_IDLE;
	r->replies = 0;
}

/* The connection failed or Redis said no: the oldest chunk goes back to the pipeline. */
static void redis_fail(struct ls_redis *r, const char *why_in)
{
	bool was_up = r->conn == R_UP;
	char why[256];

	/* @why_in may be the context's errstr, freed with it */
	cd_strlcpy(why, why_in, sizeof(why));
	redis_drop(r);
	ls_retry_oldest(r->name, &r->q, &r->st, was_up, why);
}

static bool redis_append(struct ls_redis *r, int argc, const char **argv, const size_t *lens)
{
	if (redisAppendCommandArgv(r->rc, argc, argv, lens) != REDIS_OK) {
		redis_fail(r, r->rc->errstr[0] ? r->rc->errstr : "out of memory");
		return false;
	}
	return true;
}

static bool redis_connect(struct ls_redis *r, int64_t now)
{
	struct cd_err err = {0, 0, ""};
	int rc;

	if (r->conn == R_DOWN) {
		r->rc = redisConnectNonBlock(r->cf.host, r->cf.port);
		if (!r->rc || r->rc->err) {
			char why[256];
			snprintf(why, sizeof(why), "%.64s:%u: %.160s", r->cf.host, r->cf.port,
				 r->rc ? r->rc->errstr : "out of memory");
			redis_fail(r, why);
			return false;
		}
		r->conn = R_CONNECTING;
		r->deadline_ns = now + (int64_t)r->cf.connect_timeout_ms * 1000000;
	}
	if (r->conn == R_CONNECTING) {
		rc = ls_connect_wait(r->rc->fd, now, r->deadline_ns, r->name, &r->st, &err);
		if (rc < 0) {
			redis_fail(r, err.msg);
			return false;
		}
		if (rc == 0)
			return false;
		r->conn = R_UP;
		if (r->cf.password) {
			const char *argv[] = {"AUTH", r->cf.user ? r->cf.user : r->cf.password,
					      r->cf.password};
			const size_t lens[] = {4, strlen(argv[1]), strlen(r->cf.password)};
			if (!redis_append(r, r->cf.user ? 3 : 2, argv, lens))
				return false;
			r->setup_replies++;
		}
		if (r->cf.db) {
			char db[24];
			const char *argv[] = {"SELECT", ls_u64_str(db, r->cf.db)};
			const size_t lens[] = {6, strlen(db)};
			if (!redis_append(r, 2, argv, lens))
				return false;
			r->setup_replies++;
		}
	}
	return true;
}

/* Start the oldest chunk: LLEN first when there is a cap. */
static bool redis_start(struct ls_redis *r, int64_t now)
{
	r->deadline_ns = now + (int64_t)r->cf.timeout_ms * 1000000;
	r->push_failed = false;
	r->appended_all = false;
	r->next = 0;
	r->replies = 0;
	if (r->cf.max_list) {
		const char *argv[] = {"LLEN", r->cf.key};
		const size_t lens[] = {4, strlen(r->cf.key)};
		if (!redis_append(r, 2, argv, lens))
			return false;
		r->phase = P_LLEN;
		return true;
	}
	r->phase = P_PUSH;
	return true;
}

/* P_PUSH: render the chunk if needed, append the next batch when hiredis's buffer is empty. */
static bool redis_append_batch(struct ls_redis *r)
{
	struct ls_item *it = &r->q.it[0];
	struct cd_err err = {0, 0, ""};
	const char *line;
	size_t n;
	int argc = 2, rc;

	rc = ls_render(&r->lines, it, &err);
	if (rc < 0) {
		r->st.errors++;
		r->phase = P_IDLE;
		ls_queue_done(&r->q, 0, OUT_FAIL, err.msg);
		return false;
	}
	if (rc == 1)
		r->next = 0;
	r->argv[0] = "RPUSH";
	r->argvlen[0] = 5;
	r->argv[1] = r->cf.key;
	r->argvlen[1] = strlen(r->cf.key);
	while ((uint64_t)(argc - 2) < r->cf.batch &&
	       ls_next_line(r->lines.out.buf, r->lines.out.len, &r->next, &line, &n)) {
		if (!n)
			continue;
		r->argv[argc] = line;
		r->argvlen[argc++] = n;
		r->st.bytes += n;
	}
	if (r->next >= r->lines.out.len)
		r->appended_all = true;
	if (argc == 2)
		return true;
	if (!redis_append(r, argc, r->argv, r->argvlen))
		return false;
	r->replies++;
	return true;
}

/* One answer from Redis. Return: false when the connection was dropped. */
static bool redis_reply(struct ls_redis *r, const redisReply *rep, int64_t now)
{
	char why[200];

	r->deadline_ns = now + (int64_t)r->cf.timeout_ms * 1000000;
	if (r->setup_replies) {
		r->setup_replies--;
		if (rep->type == REDIS_REPLY_ERROR) {
			snprintf(why, sizeof(why), "AUTH/SELECT: %.*s", (int)rep->len, rep->str);
			redis_fail(r, why);
			return false;
		}
		return true;
	}
	if (r->phase == P_LLEN) {
		if (rep->type != REDIS_REPLY_INTEGER) {
			snprintf(why, sizeof(why), "LLEN %s: %.*s", r->cf.key,
				 rep->type == REDIS_REPLY_ERROR ? (int)rep->len : 0,
				 rep->str ? rep->str : "");
			redis_fail(r, why);
			return false;
		}
		if ((uint64_t)rep->integer >= r->cf.max_list) {
			snprintf(why, sizeof(why), "list %s holds %lld events, max_list_length is %llu",
				 r->cf.key, rep->integer, (unsigned long long)r->cf.max_list);
			r->st.refused++;
			r->st.retries++;
			r->phase = P_IDLE;
			ls_queue_done(&r->q, 0, OUT_RETRY, why);
			return true;
		}
		r->phase = P_PUSH;
		return true;
	}
	if (r->phase == P_PUSH && r->replies) {
		r->replies--;
		if (rep->type != REDIS_REPLY_INTEGER && !r->push_failed) {
			r->push_failed = true;
			snprintf(r->push_err, sizeof(r->push_err), "RPUSH %s: %.*s", r->cf.key,
				 rep->type == REDIS_REPLY_ERROR ? (int)rep->len : 0,
				 rep->str ? rep->str : "");
		}
		return true;
	}
	redis_fail(r, "an answer nobody asked for");
	return false;
}

static void redis_progress(struct ls_redis *r, int64_t now)
{
	for (;;) {
		void *rep = NULL;
		int done = 0;

		if (!r->q.n || r->q.held)
			return;
		if (!redis_connect(r, now))
			return;
		if (r->phase == P_IDLE && !redis_start(r, now))
			return;
		if (r->phase == P_PUSH && !r->appended_all && !r->setup_replies) {
			/* one batch in hiredis's buffer at a time: append when it has left */
			if (redisBufferWrite(r->rc, &done) != REDIS_OK) {
				redis_fail(r, r->rc->errstr);
				return;
			}
			if (done && !redis_append_batch(r))
				return;
		}
		if (redisBufferWrite(r->rc, &done) != REDIS_OK) {
			redis_fail(r, r->rc->errstr);
			return;
		}
		if (redisBufferRead(r->rc) != REDIS_OK) {
			redis_fail(r, r->rc->errstr);
			return;
		}
		while (r->rc && redisGetReplyFromReader(r->rc, &rep) == REDIS_OK && rep) {
			bool ok = redis_reply(r, rep, now);
			freeReplyObject(rep);
			rep = NULL;
			if (!ok)
				return;
		}
		if (!r->rc) {
			return;
		} else if (r->rc->err) {
			redis_fail(r, r->rc->errstr);
			return;
		}
		if (r->phase == P_PUSH && r->appended_all && !r->replies) {
			r->phase = P_IDLE;
			r->lines.valid = false;
			if (r->push_failed) {
				ls_retry_oldest(r->name, &r->q, &r->st, false, r->push_err);
				return;
			}
			r->st.events += r->q.it[0].nrecords;
			ls_queue_done(&r->q, 0, OUT_OK, NULL);
			continue; /* the next chunk, at once */
		}
		if (r->phase == P_PUSH && !r->appended_all && done)
			continue; /* the batch left at once: append the next */
		if (r->phase != P_IDLE && now >= r->deadline_ns)
			redis_fail(r, "no answer from Redis within the timeout");
		return;
	}
}

static void redis_free(struct ls_redis *r)
{
	redis_drop(r);
	out_lines_release(&r->lines.out);
	free(r->argv);
	free(r->argvlen);
	free(r->name);
	free(r);
}

static int redis_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_output_conf *oc,
		      struct cd_err *err)
{
	struct ls_redis *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	if ((rc = redis_conf(oc, &r->cf, err)) < 0) {
		redis_free(r);
		return rc;
	}
	r->name = strdup(oc->name ? oc->name : "logstash+redis");
	r->argv = calloc(r->cf.batch + 2, sizeof(*r->argv));
	r->argvlen = calloc(r->cf.batch + 2, sizeof(*r->argvlen));
	if (!r->name || !r->argv || !r->argvlen) {
		redis_free(r);
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	}
	ls_queue_init(&r->q, pl, idx);
	*state = r;
	return 0;
}

static enum out_result redis_flush(void *state, const struct chunk *c, struct cd_err *err)
{
	struct ls_redis *r = state;

	if (!ls_queue_begin(&r->q, c)) {
		cd_err_set(err, -CD_EFULL, 0, "%s: too many chunks in flight", r->name);
		return OUT_RETRY;
	}
	redis_progress(r, cd_mono_ns());
	return ls_queue_end(&r->q, err);
}

static void redis_poll(void *state, int64_t now)
{
	redis_progress(state, now);
}

static void redis_metrics(void *state, struct metrics *m, const char *label)
{
	struct ls_redis *r = state;

	ls_metrics(m, label, &r->st, LS_HAS_REFUSED, &r->q, r->lines.valid ? r->lines.out.len : 0);
}

static void redis_close(void *state)
{
	struct ls_redis *r = state;

	if (!r)
		return;
	ls_log_summary(r->name, &r->st, LS_HAS_REFUSED);
	ls_queue_drop(&r->q);
	redis_free(r);
}

static const struct out_plugin out_ls_redis = {
	.check = redis_check,
	.open = redis_open,
	.flush = redis_flush,
	.poll = redis_poll,
	.metrics = redis_metrics,
	.close = redis_close,
};

const struct cd_plugin_desc out_ls_redis_desc = {
	.name = "logstash+redis",
	.scheme = "logstash+redis",
	.usage = "logstash+redis://[:PASSWORD@]HOST[:PORT]/KEY",
	.summary = "Logstash events RPUSHed onto a Redis list",
	.opts = redis_opts,
	.flags = CD_PLUGIN_URI_OPTS,
	.out = &out_ls_redis,
};
