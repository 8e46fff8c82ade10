/*
 * pipeline.c - the pipeline's wiring: open and close its stages and plugins,
 * and what it says about itself (the counters for /metrics, /health).
 *
 * The stages live in their own files: loop.c (the event loop), source.c
 * (lines, multiline, parse), delivery.c (queue, acks, backoff, spool,
 * checkpoint). The operations endpoint that serves pipeline_metrics()
 * and pipeline_health() is started by main.c, not here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk/ack.h"
#include "chunk/spool.h"
#include "input/handoff.h"
#include "pipeline_impl.h"
#include "util/drops.h"
#include "util/metrics.h"
#include "util/util.h"
#include "util/banned.h"

void pl_fatal(struct pipeline *pl, const char *what, int code)
{
	if (!pl->failed)
		cd_err_set(&pl->ferr, code < 0 ? code : -CD_EIO, 0, "%s", what);
	pl->failed = true;
}

/* --- sources ------------------------------------------------------------- */

const struct cd_config *pl_config(const struct pipeline *pl)
{
	return pl->cf;
}

struct pl_in_stats *pl_in_stats(struct pipeline *pl, unsigned idx)
{
	return &pl->in[idx].stats;
}

const char *pl_in_name(const struct pipeline *pl, unsigned idx)
{
	return pl->in[idx].name;
}

bool pl_backpressure(const struct pipeline *pl)
{
	return pl->qn >= CD_QUEUE_CHUNKS_MAX;
}

void pl_stats(const struct pipeline *pl, struct pl_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < pl->nin; i++) {
		out->records += pl->in[i].stats.records;
		out->unparsed += pl->in[i].stats.unparsed;
		out->bytes += pl->in[i].stats.bytes;
	}
	for (unsigned k = 0; k < pl->nout; k++) {
		out->out_errors += pl->out[k].errors;
		if (pl->out[k].spool)
			out->spool_bytes += spool_bytes(pl->out[k].spool);
	}
	out->queued = pl->qn;
}

/* --- /metrics and /health --------------------------------------------------- */

#define M_COUNTER(name, help, lab, v) metrics_add(m, name, METRICS_COUNTER, help, lab, (double)(v))
#define M_GAUGE(name, help, lab, v) metrics_add(m, name, METRICS_GAUGE, help, lab, (double)(v))

void pipeline_metrics(struct pipeline *pl, struct metrics *m)
{
	char lab[512];

	for (unsigned i = 0; i < pl->nin; i++) {
		const struct cd_input_conf *ic = &pl->cf->in[i];
		const struct pl_in_stats *st = &pl->in[i].stats;

		lab[0] = '\0';
		metrics_label(lab, sizeof(lab), "input", pl->in[i].name);
		if (cd_opt_get(&ic->opts, "path"))
			metrics_label(lab, sizeof(lab), "path", cd_opt_get(&ic->opts, "path"));
		if (cd_opt_get(&ic->opts, "listen"))
			metrics_label(lab, sizeof(lab), "listen", cd_opt_get(&ic->opts, "listen"));
		M_COUNTER("clewd_input_records_total", "Records read (unparsed and split ones included).",
			  lab, st->records);
		M_COUNTER("clewd_input_unparsed_total", "Lines no parser accepted, kept as raw records.", lab,
			  st->unparsed);
		M_COUNTER("clewd_input_split_total", "Pieces of lines longer than the line limit.", lab,
			  st->split);
		M_COUNTER("clewd_input_bytes_total", "Bytes read.", lab, st->bytes);
		M_COUNTER("clewd_input_truncations_total", "Files found shorter than the read offset.", lab,
			  st->truncations);
		M_COUNTER("clewd_input_rotations_total", "Files replaced at their path.", lab, st->rotations);
		M_COUNTER("clewd_input_envelope_invalid_total",
			  "Lines of a cri/docker input that were not that envelope, kept as they are.", lab,
			  st->env_invalid);
		/* the input's own series, once (a repeated sample makes Prometheus reject the scrape) */
		if (pl->in[i].p->metrics) {
			lab[0] = '\0';
			metrics_label(lab, sizeof(lab), "input", pl->in[i].name);
			pl->in[i].p->metrics(pl->in[i].st, m, lab);
		}
	}
	cd_drops_metrics(m);
	M_GAUGE("clewd_queue_chunks", "Sealed chunks in memory waiting for some output.", NULL, pl->qn);
	M_GAUGE("clewd_queue_chunks_limit", "Chunks held in memory before spooling or backpressure.", NULL,
		CD_QUEUE_CHUNKS_MAX);
	M_GAUGE("clewd_backpressure", "1 while the inputs are held back.", NULL, pl_backpressure(pl));
	for (unsigned k = 0; k < pl->nout; k++) {
		struct pl_out *o = &pl->out[k];

		lab[0] = '\0';
		metrics_label(lab, sizeof(lab), "output", o->conf->name);
		metrics_label(lab, sizeof(lab), "type", o->conf->plugin->name);
		M_COUNTER("clewd_output_chunks_total", "Chunks acknowledged by the output.", lab, o->chunks);
		M_COUNTER("clewd_output_records_total", "Records in acknowledged chunks.", lab, o->records);
		M_COUNTER("clewd_output_errors_total", "Failed deliveries (each is retried).", lab,
			  o->errors);
		M_GAUGE("clewd_output_pending_chunks", "Chunks handed over, outcome awaited.", lab,
			o->pending);
		M_GAUGE("clewd_output_up", "0 while the output is failing and backing off.", lab,
			o->failing_since == 0);
		M_GAUGE("clewd_output_backoff_seconds", "Current retry backoff.", lab,
			(double)o->backoff_ms / 1000);
		M_GAUGE("clewd_output_spool_bytes", "Bytes of the output's spool files.", lab,
			o->spool ? spool_bytes(o->spool) : 0);
		M_GAUGE("clewd_output_spool_chunks", "Chunks in the output's spool.", lab,
			o->spool ? spool_count(o->spool) : 0);
		M_COUNTER("clewd_output_spooled_chunks_total", "Chunks written to the spool.", lab,
			  o->spooled);
		M_COUNTER("clewd_output_replayed_chunks_total", "Spooled chunks delivered.", lab,
			  o->replayed);
		M_COUNTER("clewd_output_spool_corrupt_files_total",
			  "Corrupt spool files (copied to corrupt/).", lab,
			  o->spool ? spool_corrupt_count(o->spool) : 0);
		lab[0] = '\0';
		metrics_label(lab, sizeof(lab), "output", o->conf->name);
		pl_dl_metrics(o, m, lab);
		if (o->p->metrics) {
			lab[0] = '\0';
			metrics_label(lab, sizeof(lab), "output", o->conf->name);
			o->p->metrics(o->st, m, lab);
		}
	}
}

bool pipeline_health(struct pipeline *pl, char *buf, size_t cap)
{
	bool ok = true;
	size_t n;
	int64_t now = cd_mono_ns();

	n = (size_t)snprintf(buf, cap, "{\"outputs\":{");
	for (unsigned k = 0; k < pl->nout && n < cap; k++) {
		const struct pl_out *o = &pl->out[k];
		bool down = o->failing_since && now - o->failing_since > (int64_t)CD_HEALTH_FAIL_MS * 1000000;
		bool full = o->spool_full_logged;

		ok &= !down && !full;
		/* names are "TYPE#N" or the user's name: quoted as JSON, no escapes expected beyond these */
		n += (size_t)snprintf(buf + n, cap - n, "%s\"%s\":{\"status\":\"%s\",\"failing_for_s\":%lld}",
				      k ? "," : "", o->conf->name,
				      down   ? "down"
				      : full ? "spool_full"
					     : "ok",
				      o->failing_since ? (long long)((now - o->failing_since) / 1000000000)
						       : 0ll);
	}
	if (n < cap)
		snprintf(buf + n, cap - n, "},\"status\":\"%s\"}\n", ok ? "ok" : "degraded");
	return ok;
}

/* --- setup ------------------------------------------------------------------ */

int pipeline_check_outputs(const struct cd_config *cf, struct cd_err *err)
{
	int rc;

	for (unsigned k = 0; k < cf->nout; k++) {
		const struct cd_plugin_desc *d = cf->out[k].plugin;
		const struct out_plugin *p = d ? d->out : NULL;
		if (!p)
			return cd_err_set(err, -CD_EINVAL, 0, "output %s: this clewd was built without it",
					  cf->out[k].name);
		if ((rc = cd_opts_check(&cf->out[k].opts, d->opts, err)) < 0)
			return rc;
		if (p->check && (rc = p->check(&cf->out[k], err)) < 0)
			return rc;
	}
	return 0;
}

/* Compile each input's regex parser and multiline_start (one match data block each). */
static int compile_parsers(struct pipeline *pl, const struct cd_config *cf, struct cd_err *err)
{
	int rc;

	for (unsigned i = 0; i < cf->nin; i++) {
		const struct cd_parser_conf *rx;

		if ((rc = cd_config_input_parser(cf, i, &pl->in[i].parser, &rx)) < 0)
			return cd_err_set(err, -CD_EINVAL, 0, "input %u: no such parser", i + 1);
		if (rx && (rc = parse_regex_new(&pl->in[i].rx, rx->regex, rx->time_format, 0, err)) < 0)
			return rc;
		pl->in[i].env = (uint8_t)cd_config_input_envelope(cf, i);
		if (cf->in[i].ml_start &&
		    (rc = parse_regex_new(&pl->in[i].mls, cf->in[i].ml_start, NULL, 0, err)) < 0)
			return rc;
	}
	return 0;
}

int pipeline_new(struct pipeline **out, const struct cd_config *cf, struct cd_err *err)
{
	struct pipeline *pl;
	int rc;

	pl = calloc(1, sizeof(*pl));
	if (!pl)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	pl->cf = cf;
	pl->rec = &pl->recs[0];
	pl->rec_held = &pl->recs[1];
	pl->sigfd = -1;
	pl->now = cd_mono_ns();
	/* sequence numbers grow across restarts too: microseconds since the epoch at start */
	pl->next_seq = (uint64_t)cd_real_ns() / 1000;
	pl->epfd = -1;
	if ((rc = pl_loop_open(pl, err)) < 0)
		goto err_free;
	if ((rc = chunk_new(&pl->cur, pl->next_seq, pl->now)) < 0) {
		cd_err_set(err, rc, 0, "out of memory");
		goto err_free;
	}
	if ((rc = ack_tracker_new(&pl->acks, cf->nout)) < 0) {
		cd_err_set(err, rc, 0, "cannot track %u outputs", cf->nout);
		goto err_free;
	}
	if (cd_config_needs_state(cf) && (rc = checkpoint_open(&pl->ckpt, cf->checkpoint, err)) < 0)
		goto err_free;
	if ((rc = pipeline_check_outputs(cf, err)) < 0 || (rc = compile_parsers(pl, cf, err)) < 0)
		goto err_free;
	for (unsigned k = 0; k < cf->nout; k++) {
		struct pl_out *o = &pl->out[k];
		o->p = cf->out[k].plugin->out;
		o->conf = &cf->out[k];
		if ((rc = o->p->open(&o->st, pl, k, o->conf, err)) < 0)
			goto err_free;
		if ((cf->spool_dir && (rc = pl_open_spool(o, cf, err)) < 0) ||
		    (rc = pl_dl_open(o, cf, err)) < 0) {
			o->p->close(o->st);
			spool_free(o->spool);
			o->spool = NULL;
			goto err_free;
		}
		pl->nout++;
		pl->all_outputs |= 1ull << k;
	}
	for (unsigned i = 0; i < cf->nin; i++) {
		struct pl_in *in = &pl->in[i];
		in->p = cf->in[i].plugin->in;
		snprintf(in->name, sizeof(in->name), "%s#%u", cf->in[i].plugin->name, i + 1);
		if ((rc = in->p->open(&in->st, pl, i, &cf->in[i], err)) < 0)
			goto err_free;
		pl->nin++;
	}
	pl_save_checkpoint(pl);
	*out = pl;
	return 0;

err_free:
	pipeline_free(pl);
	return rc;
}

void pipeline_hand_over(struct pipeline *pl, const struct cd_config *next)
{
	for (unsigned i = 0; i < pl->nin; i++) {
		const struct in_plugin *p = pl->in[i].p;
		struct in_handoff *h;
		unsigned j = 0;

		if (!p->hand_over)
			continue;
		while (j < next->nin && !in_handoff_same(&pl->cf->in[i], &next->in[j]))
			j++;
		if (j == next->nin || !(h = in_handoff_put(&pl->cf->in[i])))
			continue; /* changed, gone (or no memory): closed by the drain and opened again */
		p->hand_over(pl->in[i].st, h);
	}
}

void pipeline_free(struct pipeline *pl)
{
	if (!pl)
		return;
	for (unsigned i = 0; i < pl->nin; i++)
		pl->in[i].p->close(pl->in[i].st);
	pl_save_checkpoint(pl);
	/* every output closes before any spool goes: a close may still read pl_stats() */
	for (unsigned k = 0; k < pl->nout; k++)
		pl->out[k].p->close(pl->out[k].st);
	for (unsigned k = 0; k < pl->nout; k++) {
		chunk_free(pl->out[k].replay);
		spool_free(pl->out[k].spool);
		pl_dl_close(&pl->out[k]);
		pl->out[k].replay = NULL;
		pl->out[k].spool = NULL;
	}
	while (pl->sources) {
		struct pl_source *s = pl->sources;
		s->forget = false;
		pl_source_free(pl, s);
	}
	while (pl->qhead) {
		struct pl_qent *e = pl->qhead;
		pl->qhead = e->next;
		chunk_free(e->c);
		free(e);
	}
	for (unsigned i = 0; i < CD_INPUTS_MAX; i++) {
		parse_regex_free(pl->in[i].rx);
		parse_regex_free(pl->in[i].mls);
	}
	chunk_free(pl->cur);
	chunk_free(pl->spare);
	if (pl->sumw)
		qy_sumw_release(pl->sumw);
	free(pl->sumw);
	qy_keys_release(&pl->sum_keys);
	ack_tracker_free(pl->acks);
	checkpoint_free(pl->ckpt);
	pl_loop_close(pl);
	free(pl);
}
