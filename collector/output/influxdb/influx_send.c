/*
 * output/influxdb/influx_send.c - the InfluxDB output's batches (a chunk's parts,
 * or derived points) and their write requests on the shared HTTP client
 * (http_client.h): at most `inflight` at once, driven from flush(),
 * poll() and a timerfd (every 10 ms while a request runs, and each
 * `interval` for the derived points); what each answer means.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "output/influxdb/influx.h"
#include "util/drops.h"
#include "util/util.h"
#include "util/banned.h"

#define DRIVE_MS 10 /* timer period while a request runs: curl's progress and timeouts */

void influx_batch_free(struct batch *b)
{
	if (!b)
		return;
	for (unsigned i = 0; i < b->nparts; i++)
		lp_buf_release(&b->parts[i].body);
	free(b->parts);
	free(b);
}

void influx_batch_unlink(struct influx *st, struct batch *b)
{
	struct batch **pp = &st->head, *prev = NULL;

	for (; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp == b) {
			*pp = b->next;
			if (st->tail == b)
				st->tail = prev;
			if (!b->is_chunk)
				st->derived_bytes -= b->bytes;
			return;
		}
	}
}

void influx_batch_append(struct influx *st, struct batch *b)
{
	b->next = NULL;
	if (st->tail)
		st->tail->next = b;
	else
		st->head = b;
	st->tail = b;
	if (!b->is_chunk)
		st->derived_bytes += b->bytes;
}

struct batch *influx_batch_find(struct influx *st, uint64_t seq)
{
	for (struct batch *b = st->head; b; b = b->next)
		if (b->is_chunk && b->seq == seq)
			return b;
	return NULL;
}

/* Seal st->raw as the next part of @b (gzip'ed when configured). Return: 0 or -CD_ENOMEM. */
int influx_seal_part(struct influx *st, struct batch *b, uint32_t npoints)
{
	struct part *p, *np;

	if (st->raw.len == 0)
		return 0;
	np = realloc(b->parts, (b->nparts + 1) * sizeof(*np));
	if (!np)
		return -CD_ENOMEM;
	b->parts = np;
	p = &b->parts[b->nparts];
	memset(p, 0, sizeof(*p));
	p->npoints = npoints;
	if (st->gzip) {
		if (http_gzip(st->http, st->raw.data, st->raw.len, &p->body.data, &p->body.cap,
			      &p->body.len) < 0) {
			lp_buf_release(&p->body);
			return -CD_ENOMEM;
		}
	} else {
		p->body = st->raw; /* hand the buffer over; a new one grows next time */
		memset(&st->raw, 0, sizeof(st->raw));
	}
	st->raw.len = 0;
	b->bytes += p->body.len;
	b->nparts++;
	return 0;
}

/* Start the request for part @i of @b. */
static int req_start(struct influx *st, struct batch *b, unsigned i)
{
	const struct part *p = &b->parts[i];
	int rc = http_post(st->http, p->body.data, p->body.len, b, i, NULL);

	if (rc < 0)
		return rc;
	b->running |= 1ull << i;
	return 0;
}

/* The "dropped=N" of a partial write, or -1. */
static long long dropped_of(const char *msg)
{
	const char *d = strstr(msg, "dropped=");
	char *end;
	long long n;

	if (!d)
		return -1;
	n = strtoll(d + 8, &end, 10);
	return end == d + 8 || n < 0 ? -1 : n;
}

/*
 * The records of part @p of chunk batch @b, whose points the server
 * refused for good (@code, the server saying @text), go to the dead-letter files (pl_deadletter()):
 * those that make points (spans, metrics). A point of theirs the server
 * wrote anyway (a partial write) is written again by a replay, which
 * InfluxDB takes as the same point (same series and time): no duplicate.
 * Return: 0, or -1 when one cannot be kept (the chunk is retried).
 */
static int deadletter_part(struct influx *st, const struct batch *b, const struct part *p, long code,
			   const char *text)
{
	static struct fmt_record rec; /* large; the loop is single-threaded */
	struct record_src src;
	struct chunk_iter it;
	size_t len = 0;
	const uint8_t *data = b->c ? chunk_data_ref(b->c, &len) : NULL;
	char reason[24];

	if (!data || p->rec_off > p->rec_end || p->rec_end > len)
		return 0;
	snprintf(reason, sizeof(reason), "http_%ld", code);
	chunk_iter_init_bytes(&it, data + p->rec_off, p->rec_end - p->rec_off);
	while (chunk_iter_next(&it, &rec, &src) == 1) {
		if (src.raw || !((rec.event == FMT_EVENT_SPAN && st->want_spans) ||
				 (rec.event == FMT_EVENT_METRIC && st->want_metrics)))
			continue;
		if (pl_deadletter(st->pl, st->idx, &rec, &src, reason, text) < 0)
			return -1;
	}
	return 0;
}

/* A batch whose requests all ended: report the chunk's outcome, or schedule the derived retry. */
static void batch_settle(struct influx *st, struct batch *b, int64_t now_mono)
{
	uint64_t all = b->nparts == 64 ? UINT64_MAX : (1ull << b->nparts) - 1;

	if (b->running)
		return;
	if (b->done == all) {
		influx_batch_unlink(st, b);
		if (b->is_chunk && b->handed)
			pl_out_done(st->pl, st->idx, b->seq, OUT_OK, NULL);
		influx_batch_free(b);
		return;
	}
	if (!b->failed)
		return; /* parts still to send */
	b->failed = false;
	if (b->is_chunk) {
		if (b->handed) {
			b->handed = false;
			pl_out_done(st->pl, st->idx, b->seq, OUT_RETRY, b->why);
		}
	} else {
		b->backoff_ms = b->backoff_ms ? b->backoff_ms * 2 : 500;
		if (b->backoff_ms > 30000)
			b->backoff_ms = 30000;
		b->retry_at = now_mono + (int64_t)b->backoff_ms * NS_PER_MS;
	}
}

void influx_req_done(void *arg, void *ctx, unsigned long part, const struct http_result *r)
{
	struct influx *st = arg;
	struct batch *b = ctx;
	const struct part *p = &b->parts[part];
	long code = r->status;

	b->running &= ~(1ull << part);
	if (r->answered && code >= 200 && code < 300) {
		b->done |= 1ull << part;
		st->points += p->npoints;
		st->requests++;
		st->bytes_sent += p->body.len;
	} else if (r->answered && (code == 400 || code == 413 || code == 422) &&
		   (!b->is_chunk || !b->handed || deadletter_part(st, b, p, code, r->text) == 0)) {
		/* the data itself is refused: sending it again would be refused again; its records
		 * are in the dead-letter files (replayed by clewd --replay-deadletter) */
		long long dropped = dropped_of(r->text);
		uint64_t lost =
			dropped >= 0 && (uint64_t)dropped <= p->npoints ? (uint64_t)dropped : p->npoints;
		char why[HTTP_TEXT_MAX + 32];

		b->done |= 1ull << part;
		st->rejected += lost;
		st->points += p->npoints - lost;
		snprintf(why, sizeof(why), "status %ld: %s", code, r->text);
		/* a chunk's records are in the dead-letter files (or counted there); derived points are lost */
		if (!b->is_chunk || !b->handed)
			cd_drop("output", st->oc->name, "points_refused", lost, why);
	} else {
		b->failed = true;
		st->failures++;
		if (!r->answered)
			snprintf(b->why, sizeof(b->why), "influxdb: %.180s", r->error);
		else if (code == 400 || code == 413 || code == 422)
			snprintf(b->why, sizeof(b->why), "influxdb: HTTP %ld: refused points cannot be kept",
				 code);
		else
			snprintf(b->why, sizeof(b->why), "influxdb: HTTP %ld: %.150s", code, r->text);
	}
	batch_settle(st, b, cd_mono_ns());
}

/* Start what may start: parts of handed chunks and due derived batches, up to inflight_max. */
static void start_more(struct influx *st, int64_t now_mono)
{
	for (struct batch *b = st->head; b && http_running(st->http) < st->inflight_max; b = b->next) {
		if (b->failed || (b->is_chunk && !b->handed) || (!b->is_chunk && b->retry_at > now_mono))
			continue;
		for (unsigned i = 0; i < b->nparts && http_running(st->http) < st->inflight_max; i++) {
			uint64_t bit = 1ull << i;
			if ((b->done | b->running) & bit)
				continue;
			if (req_start(st, b, i) < 0) {
				snprintf(b->why, sizeof(b->why), "influxdb: out of memory");
				b->failed = true;
				batch_settle(st, b, now_mono);
				return; /* the list may have changed */
			}
		}
	}
}

void influx_drive(struct influx *st)
{
	st->last_drive_ns = cd_mono_ns();
	start_more(st, st->last_drive_ns);
	http_drive(st->http);
	start_more(st, cd_mono_ns());
	/*
	 * Progress only: an outcome is read on the next drive, never in the
	 * one flush() runs, where pl_out_done() for its own chunk would be lost.
	 */
	if (http_running(st->http))
		http_perform(st->http);
}

void influx_kick(struct influx *st)
{
	start_more(st, cd_mono_ns());
	if (http_running(st->http))
		http_perform(st->http);
}

bool influx_derived_waiting(const struct influx *st)
{
	for (const struct batch *b = st->head; b; b = b->next)
		if (!b->is_chunk)
			return true;
	return false;
}

void influx_arm_timer(struct influx *st)
{
	int64_t now = cd_mono_ns(), at = st->next_tick;
	struct itimerspec its;

	if (http_running(st->http))
		at = now + DRIVE_MS * NS_PER_MS;
	for (const struct batch *b = st->head; b; b = b->next)
		if (!b->is_chunk && b->retry_at < at)
			at = b->retry_at;
	if (at <= now)
		at = now + NS_PER_MS;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)((at - now) / 1000000000);
	its.it_value.tv_nsec = (long)((at - now) % 1000000000);
	timerfd_settime(st->tfd, 0, &its, NULL);
}

void influx_on_timer(void *arg)
{
	struct influx *st = arg;
	uint64_t n;
	int64_t now;

	while (read(st->tfd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		;
	now = cd_mono_ns();
	if (now >= st->next_tick) {
		influx_tick(st, false);
		while (st->next_tick <= now)
			st->next_tick += st->interval_ns;
	}
	influx_drive(st);
	influx_arm_timer(st);
}
