/*
 * writer.c - the async mode's writer: drains the ring (ring.c), turns
 * each entry into its line (a binary record is formatted here,
 * async_format.c) and writes the lines out in batches.
 *
 * DESIGN: the writer (the worker, or clew_flush()/exit/a fatal signal
 * handler, one at a time: the ring's consumer lock) reads each thread's
 * lane in order, joins whole lines into a batch buffer, frees their room
 * and writes the batch with one write(): records never tear, and a batch
 * never ends inside a record. A batch is at most PIPE_BUF bytes unless
 * the output is a regular file (sink.c), so that it stays whole on a
 * shared pipe too. Datagram outputs get one send() per record instead of
 * batches. One drain takes what each lane held when the drain reached it,
 * so that a flood of records cannot keep the worker from its metrics. The writer uses
 * only atomics, memcpy, the formats library's emitters, async_format.c's
 * signal-safe formatting and write()/send(), so the fatal-signal handler
 * can run it (async-signal-safe).
 */
#include <stdlib.h>
#include <string.h>

#include "async.h"
#include "clock.h"
#include "ring.h"
#include "sink.h"
#include "writer.h"

/* The writer's buffers: one writer at a time, so one set per client. */
struct clew__writer {
	struct clew__scratch scratch; /* formatting a binary record, and the clock of the records */
	char batch[CLEW__BATCH_MAX];  /* the lines of the next write() */
};

int clew__writer_new(clew_client *c)
{
	struct clew__writer *w = malloc(sizeof(*w));

	if (!w)
		return -CLEW_ENOMEM;
	clew__touch(w, sizeof(*w));
	c->tsc = clew__tsc_usable();
	if (c->tsc)
		clew__tsc_init(&w->scratch.clock);
	c->writer = w;
	return 0;
}

void clew__writer_free(clew_client *c)
{
	free(c->writer);
	c->writer = NULL;
}

/* Write @len bytes holding @n whole records; count them as dropped when that fails. */
static void put(clew_client *c, const char *buf, size_t len, long n, bool in_signal)
{
	if (len == 0)
		return;
	if (clew__sink_write(c, buf, len) < 0) {
		if (in_signal)
			return;
		atomic_fetch_add_explicit(&c->dropped, (uint_fast64_t)n - 1, memory_order_relaxed);
		clew__drop(c, 0, "write failed");
	}
}

/* The batch being built by one drain. */
struct batch {
	size_t pos; /* bytes in w->batch */
	long n;	    /* whole records in them */
};

/*
 * Take out the entries @l held when the drain reached it into the batch.
 * Return: how many.
 */
static long drain_lane(clew_client *c, struct clew__lane *l, struct batch *b, bool in_signal)
{
	struct clew__writer *w = c->writer;
	struct clew__entry e;
	const uint64_t end = clew__lane_head(l);
	uint64_t t = clew__lane_tail(l);
	long n = 0;

	while (clew__lane_peek(l, t, end, &e)) {
		const char *line = e.data;
		size_t ll = e.len;

		if (e.kind == CLEW__ENTRY_BIN) {
			int rc = clew__async_format(c, &w->scratch, &l->ctx, e.data, e.len, &ll, in_signal);

			line = w->scratch.line;
			if (rc < 0) {
				ll = 0;
				if (!in_signal)
					clew__drop(c, rc,
						   rc == -CLEW_ETRUNC ? "longer than CLEW_LINE_MAX"
								      : "the emitter refused it");
			}
		}
		if (ll && b->pos && (b->pos + ll > c->batch_max || c->dgram)) {
			put(c, w->batch, b->pos, b->n, in_signal);
			b->pos = 0;
			b->n = 0;
		}
		if (ll) {
			memcpy(w->batch + b->pos, line, ll);
			b->pos += ll;
			b->n++;
		}
		t += e.span;
		n++;
		/* Free the room now and then, not only at the end: the producer may be waiting for it. */
		if ((n & 63) == 0)
			clew__lane_release(l, t);
	}
	clew__lane_release(l, t);
	return n;
}

long clew__ring_drain_ex(clew_client *c, int wait_ms, bool in_signal)
{
	struct clew__ring *r = c->ring;
	struct batch b = {0, 0};
	long n = 0;
	unsigned lanes;

	if (!clew__ring_lock(r, wait_ms))
		return wait_ms > 0 ? -CLEW_ETIMEDOUT : 0;
	if (!in_signal)
		clew__reopen_check(c);
	if (c->tsc && !clew__ring_empty(c))
		clew__tsc_anchor(&c->writer->scratch.clock);
	lanes = clew__ring_lanes(r);
	for (unsigned i = 0; i < lanes; i++)
		n += drain_lane(c, clew__ring_lane(r, i), &b, in_signal);
	put(c, c->writer->batch, b.pos, b.n, in_signal);
	clew__ring_unlock(r);
	return n;
}
