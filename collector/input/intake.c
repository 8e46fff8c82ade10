/*
 * input/intake.c - PLACEHOLDER of the forward branch: a memory-only
 * intake (see intake.h) so that the forward input runs before the lead's
 * write-ahead log lands on main. The merge takes main's intake.c instead
 * of this file.
 *
 * Both ack modes behave as `memory` here: the lines go to a source of
 * their own at once and done(arg, 0) is called before intake_submit()
 * returns; requests are refused (-CD_EAGAIN) while the pipeline holds its
 * inputs back. intake_durable() says false, so nothing claims more.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "input/intake.h"
#include "pipeline.h"
#include "util/metrics.h"
#include "util/banned.h"

struct intake {
	struct pipeline *pl; /* the pipeline */
	unsigned idx;	     /* the input */
	uint64_t refused;    /* requests refused (-CD_EAGAIN) */
	uint64_t taken;	     /* requests taken */
};

int intake_open(struct intake **out, struct pipeline *pl, unsigned idx, const struct cd_input_conf *ic,
		const char *name, struct cd_err *err)
{
	struct intake *in = calloc(1, sizeof(*in));

	(void)ic;
	(void)name;
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
	if (!(src = pl_source_new(in->pl, in->idx, peer, NULL, 0, 0, 0)))
		return -CD_ENOMEM;
	pl_source_feed(in->pl, src, lines, len);
	pl_source_end(in->pl, src, false);
	in->taken++;
	done(arg, 0);
	return 0;
}

void intake_cancel(struct intake *in, void *arg)
{
	(void)in;
	(void)arg; /* done() is always called before submit returns: nothing is pending */
}

bool intake_tick(struct intake *in, int64_t now_ns)
{
	(void)in;
	(void)now_ns;
	return false;
}

bool intake_waiting(const struct intake *in)
{
	(void)in;
	return false; /* nothing waits for a commit: done() came before intake_submit() returned */
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
		    "Requests refused by an input's intake (retry later)", label, (double)in->refused);
}

void intake_close(struct intake *in)
{
	free(in);
}
