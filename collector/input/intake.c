/*
 * input/intake.c - what "received" means for the inputs that answer
 * their clients (http, forward, otlp): memory, or the write-ahead log
 * (see intake.h for the contract, wal.h for the log).
 *
 * DESIGN: one commit is in flight at most. A request submitted while
 * none is starts one at once; one submitted while one is in flight
 * waits in `pending` (its bytes) and `next` (its done() callback); when
 * the commit in flight finishes, its requests are answered and
 * everything that arrived meanwhile goes as the next commit: the group
 * grows with the load by itself, and a request waits at most for the
 * commit in flight plus its own. Commits finish on the loop's fd
 * callback, so requests are answered even while backpressure keeps the
 * inputs' tick() from running.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <store/buf.h>

#include "input/intake.h"
#include "input/wal.h"
#include "pipeline.h"
#include "util/metrics.h"
#include "util/util.h"
#include "util/banned.h"

/* One request waiting for a commit. */
struct waiter {
	intake_done_fn done; /* NULL: cancelled */
	void *arg;
};

/* Requests: their callbacks, in order. */
struct waiters {
	struct waiter *w;
	size_t n, cap;
};

struct intake {
	struct pipeline *pl;
	unsigned idx;
	uint64_t wal_max;		    /* bytes of live log at most */
	struct wal *wal;		    /* NULL: ack: memory */
	struct buf pending;		    /* submitted, not yet committed */
	struct waiters next;		    /* whose done() follows the next commit */
	struct waiters inflight;	    /* whose done() follows the commit in flight */
	uint64_t requests, refused, errors; /* counters */
};

static void call_waiters(struct waiters *ws, int status)
{
	/* a done() may submit again (a pipelined client): take the list first */
	struct waiters t = *ws;

	memset(ws, 0, sizeof(*ws));
	for (size_t i = 0; i < t.n; i++)
		if (t.w[i].done)
			t.w[i].done(t.w[i].arg, status);
	free(t.w);
}

/* The commit in flight finished (or could not start): answer its requests. */
static void answer(struct intake *in, int status)
{
	if (status < 0)
		in->errors += in->inflight.n;
	call_waiters(&in->inflight, status);
}

static void start_commit(struct intake *in);

/* The log's committed(): answer the commit's requests, start the next with what came meanwhile. */
static void on_committed(void *arg, int status)
{
	struct intake *in = arg;

	answer(in, status);
	start_commit(in);
}

/* Start the next commit when none is in flight and something waits. */
static void start_commit(struct intake *in)
{
	int rc;

	if (wal_busy(in->wal) || (!in->pending.len && !in->next.n))
		return;
	in->inflight = in->next;
	memset(&in->next, 0, sizeof(in->next));
	rc = wal_commit_start(in->wal, &in->pending);
	in->pending.len = 0;
	if (rc < 0)
		answer(in, rc);
}

int intake_open(struct intake **out, struct pipeline *pl, unsigned idx, const struct cd_input_conf *ic,
		const char *name, struct cd_err *err)
{
	struct intake *in = calloc(1, sizeof(*in));
	unsigned mode = 0;
	int rc;

	if (!in)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	in->pl = pl;
	in->idx = idx;
	if ((rc = cd_opt_enum(&ic->opts, "ack", "durable|memory", 0, &mode, err)) < 0 ||
	    (rc = cd_opt_size(&ic->opts, "wal_max", 256u << 20, &in->wal_max, err)) < 0 ||
	    (mode == 0 && (rc = wal_open(&in->wal, pl, idx, name, on_committed, in, err)) < 0)) {
		free(in);
		return rc;
	}
	*out = in;
	return 0;
}

int intake_submit(struct intake *in, const char *peer, const void *lines, size_t len, intake_done_fn done,
		  void *arg)
{
	bool nl = len == 0 || ((const char *)lines)[len - 1] == '\n';

	if (pl_backpressure(in->pl) || (in->wal && wal_stats(in->wal)->live_bytes + len > in->wal_max)) {
		in->refused++;
		return -CD_EAGAIN;
	}
	in->requests++;
	if (!in->wal) {
		struct pl_source *src = pl_source_new(in->pl, in->idx, peer, NULL, 0, 0, 0);
		if (!src)
			return -CD_ENOMEM;
		pl_source_feed(in->pl, src, lines, len);
		pl_source_end(in->pl, src, false);
		done(arg, 0);
		return 0;
	}
	if (buf_reserve(&in->pending, in->pending.len + len + !nl) < 0)
		return -CD_ENOMEM;
	if (in->next.n == in->next.cap) {
		size_t cap = in->next.cap ? in->next.cap * 2 : 16;
		struct waiter *w = realloc(in->next.w, cap * sizeof(*w));
		if (!w)
			return -CD_ENOMEM;
		in->next.w = w;
		in->next.cap = cap;
	}
	if (len)
		memcpy(in->pending.p + in->pending.len, lines, len);
	in->pending.len += len;
	if (!nl)
		in->pending.p[in->pending.len++] = '\n'; /* a request's last line joins no other request's */
	in->next.w[in->next.n++] = (struct waiter){done, arg};
	start_commit(in); /* unless one is in flight: then this one waits and groups with the others */
	return 0;
}

void intake_cancel(struct intake *in, void *arg)
{
	struct waiters *lists[] = {&in->next, &in->inflight};

	for (size_t l = 0; l < 2; l++)
		for (size_t i = 0; i < lists[l]->n; i++)
			if (lists[l]->w[i].arg == arg)
				lists[l]->w[i].done = NULL;
}

bool intake_tick(struct intake *in, int64_t now_ns)
{
	(void)now_ns;
	return in->wal && wal_read(in->wal);
}

bool intake_durable(const struct intake *in)
{
	return in->wal != NULL;
}

void intake_metrics(struct intake *in, struct metrics *m, const char *label)
{
	const struct wal_stats *ws = in->wal ? wal_stats(in->wal) : NULL;

	metrics_add(m, "clewd_input_intake_requests_total", METRICS_COUNTER,
		    "Requests taken by an input (answered once safe)", label, (double)in->requests);
	metrics_add(m, "clewd_input_intake_refused_total", METRICS_COUNTER,
		    "Requests refused by an input (backpressure, the write-ahead log full)", label,
		    (double)in->refused);
	if (!ws)
		return;
	metrics_add(m, "clewd_input_wal_errors_total", METRICS_COUNTER,
		    "Requests answered with an error because the write-ahead log could not be written", label,
		    (double)in->errors);
	metrics_add(m, "clewd_input_wal_fsyncs_total", METRICS_COUNTER,
		    "Group commits of an input's write-ahead log", label, (double)ws->fsyncs);
	metrics_add(m, "clewd_input_wal_bytes_total", METRICS_COUNTER,
		    "Bytes committed to an input's write-ahead log", label, (double)ws->committed);
	metrics_add(m, "clewd_input_wal_live_bytes", METRICS_GAUGE,
		    "Bytes in an input's write-ahead log not yet acknowledged by every output", label,
		    (double)ws->live_bytes);
}

void intake_stop(struct intake *in)
{
	if (!in->wal)
		return;
	while (wal_busy(in->wal))
		on_committed(in, wal_commit_wait(in->wal));
	wal_stop(in->wal);
}

void intake_close(struct intake *in)
{
	if (!in)
		return;
	/* what waits uncommitted is not answered: its clients send it again */
	wal_close(in->wal);
	free(in->next.w);
	free(in->inflight.w);
	buf_release(&in->pending);
	free(in);
}
