/*
 * output/influxdb/influx_derived.c - the InfluxDB output's derived points: every
 * interval, the final RED series and log counts (red.c) and the
 * collector's health (pl_stats()) as one batch of its own, sent and
 * retried like a chunk's but dropped oldest first past
 * CD_INFLUX_DERIVED_BYTES_MAX (summaries, not acknowledged records).
 */
#include <stdlib.h>
#include <string.h>

#include "cd_limits.h"
#include "output/influxdb/influx.h"
#include "util/util.h"
#include "util/banned.h"

struct emit_ctx {
	struct influx *st;
	uint32_t np; /* points in st->raw */
};

static int emit_row(void *arg, const struct red_row *row)
{
	struct emit_ctx *cx = arg;
	struct influx *st = cx->st;
	const double secs = (double)st->interval_ns / 1e9;
	struct lp_tag tags[5];
	struct lp_field f[9];
	struct lp_point p = {.tags = tags, .fields = f, .has_time = true, .time_ns = row->start_ns};
	size_t nt = 0, nf = 0;
	int rc;

	if (row->kind == RED_LOG) {
		p.measurement = "logs", p.mlen = 4;
		tags[nt++] = (struct lp_tag){"service", 7, row->label[0].p, row->label[0].n};
		tags[nt++] = (struct lp_tag){"level", 5, row->label[1].p, row->label[1].n};
	} else {
		static const char *const kinds[] = {[RED_REQUEST] = "request", [RED_SPAN] = "span"};
		p.measurement = "red", p.mlen = 3;
		tags[nt++] = (struct lp_tag){"kind", 4, kinds[row->kind], strlen(kinds[row->kind])};
		tags[nt++] = (struct lp_tag){"service", 7, row->label[0].p, row->label[0].n};
		tags[nt++] = (struct lp_tag){"method", 6, row->label[1].p, row->label[1].n};
		tags[nt++] = (struct lp_tag){"route", 5, row->label[2].p, row->label[2].n};
		tags[nt++] = (struct lp_tag){"name", 4, row->label[3].p, row->label[3].n};
	}
	f[nf++] = (struct lp_field){.key = "count", .klen = 5, .type = LP_INT, .v.i = (int64_t)row->count};
	f[nf++] = (struct lp_field){
		.key = "rate", .klen = 4, .type = LP_FLOAT, .v.f = (double)row->count / secs};
	if (row->kind != RED_LOG) {
		f[nf++] = (struct lp_field){
			.key = "errors", .klen = 6, .type = LP_INT, .v.i = (int64_t)row->errors};
		f[nf++] = (struct lp_field){.key = "error_ratio",
					    .klen = 11,
					    .type = LP_FLOAT,
					    .v.f = row->count ? (double)row->errors / (double)row->count : 0};
		if (row->has_dur) {
			f[nf++] = (struct lp_field){
				.key = "p50_us", .klen = 6, .type = LP_INT, .v.i = (int64_t)row->p50_us};
			f[nf++] = (struct lp_field){
				.key = "p90_us", .klen = 6, .type = LP_INT, .v.i = (int64_t)row->p90_us};
			f[nf++] = (struct lp_field){
				.key = "p99_us", .klen = 6, .type = LP_INT, .v.i = (int64_t)row->p99_us};
			f[nf++] = (struct lp_field){
				.key = "max_us", .klen = 6, .type = LP_INT, .v.i = (int64_t)row->max_us};
			f[nf++] = (struct lp_field){.key = "mean_us",
						    .klen = 7,
						    .type = LP_FLOAT,
						    .v.f = (double)row->sum_us / (double)row->count};
		}
	}
	p.ntags = nt;
	p.nfields = nf;
	rc = lp_write(&st->raw, &st->tmp, &p);
	if (rc == -CD_ENOMEM)
		return rc;
	if (rc == 0)
		cx->np++;
	return 0;
}

static int emit_health(struct influx *st, struct emit_ctx *cx)
{
	struct pl_stats ps;
	struct red_stats rs2;
	struct lp_tag tags[2] = {{"host", 4, st->host, strlen(st->host)},
				 {"output", 6, st->oc->name, strlen(st->oc->name)}};
	struct lp_field f[12];
	struct lp_point p = {.measurement = "clewd",
			     .mlen = 5,
			     .tags = tags,
			     .ntags = 2,
			     .fields = f,
			     .has_time = true,
			     .time_ns = cd_real_ns()};
	size_t nf = 0;
	int rc;

	pl_stats(st->pl, &ps);
	red_stats(st->red, &rs2);
#define F(k, val) \
	(f[nf++] = (struct lp_field){.key = k, .klen = sizeof(k) - 1, .type = LP_INT, .v.i = (int64_t)(val)})
	F("records", ps.records);
	F("unparsed", ps.unparsed);
	F("bytes", ps.bytes);
	F("queued", ps.queued);
	F("spool_bytes", ps.spool_bytes);
	F("out_errors", ps.out_errors);
	F("points", st->points);
	F("rejected", st->rejected);
	F("retries", st->failures);
	F("red_series", rs2.series);
	F("red_late", rs2.late + rs2.dropped);
	F("derived_dropped", st->derived_dropped);
#undef F
	p.nfields = nf;
	rc = lp_write(&st->raw, &st->tmp, &p);
	if (rc == 0)
		cx->np++;
	return rc == -CD_ENOMEM ? rc : 0;
}

/* Build one derived batch of the final RED/log series (all of them at close) and the health point. */
void influx_tick(struct influx *st, bool all)
{
	struct emit_ctx cx = {st, 0};
	struct batch *b = calloc(1, sizeof(*b));
	int64_t now_mono = cd_mono_ns();
	int rc = 0;

	if (!b) {
		st->derived_dropped++;
		return;
	}
	st->raw.len = 0;
	if (st->want_red || st->want_logs)
		rc = red_flush(st->red, cd_real_ns(), now_mono, all, emit_row, &cx);
	if (rc >= 0 && st->want_health)
		rc = emit_health(st, &cx);
	if (rc >= 0)
		rc = influx_seal_part(st, b, cx.np);
	if (rc < 0 || b->nparts == 0) {
		if (rc < 0)
			st->derived_dropped += cx.np;
		st->raw.len = 0;
		influx_batch_free(b);
		return;
	}
	influx_batch_append(st, b);
	/* memory cap: the oldest derived batches not in flight go first */
	for (struct batch *o = st->head, *next; o && st->derived_bytes > CD_INFLUX_DERIVED_BYTES_MAX;
	     o = next) {
		next = o->next;
		if (o->is_chunk || o->running || o == b)
			continue;
		for (unsigned i = 0; i < o->nparts; i++)
			if (!(o->done & (1ull << i)))
				st->derived_dropped += o->parts[i].npoints;
		influx_batch_unlink(st, o);
		influx_batch_free(o);
	}
}
