/*
 * input/intake.c - the intake of intake.h, MEMORY MODE ONLY: a stand-in
 * written on the otlp branch so the http and otlp inputs run before the
 * lead's intake.c (the write-ahead log, ack: durable) is merged; main's
 * intake.c replaces this one whole (take main's on the add/add conflict).
 * There is no write-ahead log here: ack: durable is served from memory,
 * and said so at start (a WARN naming the input) and by
 * intake_durable(), which answers false.
 *
 * A request's lines go to a source of their own (pl_source_feed(), then
 * pl_source_end()): they are cut, parsed and chunked like a file's, no
 * line joins another request's, and done(arg, 0) is called before
 * intake_submit() returns.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input/intake.h"
#include "options.h"
#include "pipeline.h"
#include "util/metrics.h"
#include "util/util.h"
#include "util/banned.h"

struct intake {
	struct pipeline *pl;
	unsigned idx;
	uint64_t taken, refused, bytes;
};

int intake_open(struct intake **out, struct pipeline *pl, unsigned idx, const struct cd_input_conf *ic,
		const char *name, struct cd_err *err)
{
	struct intake *in;
	unsigned ack = 0;
	int rc;

	if ((rc = cd_opt_enum(&ic->opts, "ack", "durable|memory", 0, &ack, err)) < 0)
		return rc;
	if (ack == 0)
		cd_log(FMT_LEVEL_WARN,
		       "ack: durable is served from memory: this build has no write-ahead log", "input", name,
		       NULL);
	in = calloc(1, sizeof(*in));
	if (!in)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	in->pl = pl;
	in->idx = idx;
	*out = in;
	return 0;
}

int intake_submit(struct intake *in, const char *peer, const void *lines, size_t len, intake_done_fn done,
		  void *arg)
{
	struct pl_source *src;

	if (pl_backpressure(in->pl)) {
		in->refused++;
		return -CD_EAGAIN;
	}
	src = pl_source_new(in->pl, in->idx, peer, NULL, 0, 0, 0);
	if (!src) {
		in->refused++;
		return -CD_EAGAIN;
	}
	pl_source_feed(in->pl, src, lines, len);
	pl_source_end(in->pl, src, false);
	in->taken++;
	in->bytes += len;
	done(arg, 0);
	return 0;
}

void intake_cancel(struct intake *in, void *arg)
{
	(void)in;
	(void)arg; /* done() is never pending in memory mode */
}

bool intake_tick(struct intake *in, int64_t now_ns)
{
	(void)in;
	(void)now_ns;
	return false;
}

void intake_stop(struct intake *in)
{
	(void)in;
}

bool intake_durable(const struct intake *in)
{
	(void)in;
	return false;
}

void intake_metrics(struct intake *in, struct metrics *m, const char *label)
{
	metrics_add(m, "clewd_intake_requests_total", METRICS_COUNTER, "Requests taken by an input's intake",
		    label, (double)in->taken);
	metrics_add(m, "clewd_intake_refused_total", METRICS_COUNTER,
		    "Requests an input's intake refused for now (backpressure)", label, (double)in->refused);
	metrics_add(m, "clewd_intake_bytes_total", METRICS_COUNTER,
		    "Bytes of lines taken by an input's intake", label, (double)in->bytes);
}

void intake_close(struct intake *in)
{
	free(in);
}
