/*
 * dlq.c - records an output gives up for good (a permanent error: a Kafka
 * message larger than the broker allows, a point InfluxDB refuses):
 * pl_deadletter(), the outputs' side; the commit that makes them durable
 * before the output's OUT_OK counts (called by delivery.c); their
 * counters and log lines; and clewd --replay-deadletter
 * (pipeline_replay_deadletter()).
 *
 * DESIGN: the store is chunk/deadletter.c, one per output under
 * STATE_DIR/deadletter/NAME/ (NAME as the spool's directory): files in
 * the spool's chunk format. So a replay is a pipeline with no input and
 * that one output whose *spool* is the dead-letter directory: delivery.c
 * hands it the files oldest first and deletes each once acknowledged, as
 * it does for any spool, and a record rejected again goes through
 * pl_deadletter() into a new file of the same directory (numbered past
 * every file there, so the replay does not take it for an old one).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk/deadletter.h"
#include "chunk/spool.h"
#include "pipeline_impl.h"
#include "util/drops.h"
#include "util/metrics.h"
#include "util/util.h"
#include "util/banned.h"

/* Records given up are logged at most once in this long, with the count since (never once per record). */
#define DL_LOG_NS (10 * (int64_t)1000000000)

int pl_dl_open(struct pl_out *o, const struct cd_config *cf, struct cd_err *err)
{
	char name[128], dir[CD_INPUT_NAME_MAX];
	int rc;

	if (cf->deadletter_dir) {
		pl_out_dirname(o->conf, name, sizeof(name));
		if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", cf->deadletter_dir, name) >= sizeof(dir))
			return cd_err_set(err, -CD_EINVAL, 0, "dead-letter directory name too long");
		if ((rc = cd_mkdir_p(cf->deadletter_dir, err)) < 0)
			return rc;
	}
	if ((rc = deadletter_open(&o->dl, cf->deadletter_dir ? dir : NULL, cf->deadletter_bytes, err)) < 0)
		return rc;
	/* (a replay opens the same directory as its spool: nothing to announce then) */
	if (deadletter_files(o->dl) && cf->spool_dir != cf->deadletter_dir)
		cd_logf(FMT_LEVEL_WARN,
			"dead-letter: %zu files (%llu bytes) of records output %s rejected wait in %s "
			"(clewd --replay-deadletter %s once the cause is fixed)",
			deadletter_files(o->dl), (unsigned long long)deadletter_bytes(o->dl), o->conf->name,
			dir, o->conf->name);
	return 0;
}

/* The records given up since the last look (no store, the cap, a full disk): to the drop registry. */
static void dl_count_drops(struct pl_out *o, const char *reason)
{
	uint64_t dropped = 0, full = deadletter_full(o->dl);
	char why[DEADLETTER_REASON_LEN + 16];

	for (size_t i = 0; i < deadletter_nreasons(o->dl); i++)
		dropped += deadletter_reason_at(o->dl, i)->dropped;
	if (dropped != o->dl_dropped_seen) {
		snprintf(why, sizeof(why), "permanent:%s", reason);
		cd_drop("output", o->conf->name, why, dropped - o->dl_dropped_seen,
			o->dl_detail[0] ? o->dl_detail : NULL);
		o->dl_dropped_seen = dropped;
	}
	if (full != o->dl_full_seen) {
		cd_drop("output", o->conf->name, "deadletter_full", full - o->dl_full_seen,
			"deadletter_max reached or the disk full");
		o->dl_full_seen = full;
	}
}

/* One line for the records kept since the last one: at most once per DL_LOG_NS unless @force. */
static void dl_log(struct pl_out *o, bool force)
{
	uint64_t kept = 0;
	int64_t now;
	char n[24];

	for (size_t i = 0; i < deadletter_nreasons(o->dl); i++)
		kept += deadletter_reason_at(o->dl, i)->stored;
	if (kept == o->dl_logged)
		return; /* the common case, on every acknowledgement: nothing to say (drops: the registry's) */
	now = cd_mono_ns();
	if (!force && o->dl_log_ns && now - o->dl_log_ns < DL_LOG_NS)
		return;
	snprintf(n, sizeof(n), "%" PRIu64, kept - o->dl_logged);
	cd_log(FMT_LEVEL_WARN, "output rejected records for good: kept in its dead-letter files", "output",
	       o->conf->name, "reason", o->dl_reason, "records", n, "error",
	       o->dl_detail[0] ? o->dl_detail : NULL, NULL);
	o->dl_logged = kept;
	o->dl_log_ns = now;
}

int pl_deadletter(struct pipeline *pl, unsigned idx, const struct fmt_record *r, const struct record_src *src,
		  const char *reason, const char *detail)
{
	struct pl_out *o = &pl->out[idx];
	struct cd_err err = {0, 0, ""};
	int rc;

	if ((rc = deadletter_add(o->dl, r, src, reason, &err)) < 0) {
		cd_log(FMT_LEVEL_WARN, "dead-letter: cannot keep a rejected record (its chunk is retried)",
		       "output", o->conf->name, "error", err.msg, NULL);
		return rc;
	}
	cd_strlcpy(o->dl_reason, reason, sizeof(o->dl_reason));
	cd_strlcpy(o->dl_detail, detail ? detail : "", sizeof(o->dl_detail));
	dl_count_drops(o, reason);
	dl_log(o, false);
	return 0;
}

int pl_dl_commit(struct pipeline *pl, unsigned k, char *why, size_t cap)
{
	struct pl_out *o = &pl->out[k];
	struct cd_err err = {0, 0, ""};
	int rc = 0;

	if (deadletter_staged(o->dl) && (rc = deadletter_commit(o->dl, &err)) < 0)
		snprintf(why, cap, "dead-letter: %s", err.msg);
	dl_count_drops(o, o->dl_reason);
	dl_log(o, false);
	return rc;
}

void pl_dl_close(struct pl_out *o)
{
	if (!o->dl)
		return;
	dl_log(o, true);
	deadletter_free(o->dl);
	o->dl = NULL;
}

void pl_dl_metrics(const struct pl_out *o, struct metrics *m, const char *lab)
{
	char l[640];

	if (!o->dl)
		return;
	for (size_t i = 0; i < deadletter_nreasons(o->dl); i++) {
		const struct deadletter_reason *dr = deadletter_reason_at(o->dl, i);

		snprintf(l, sizeof(l), "%s", lab);
		metrics_label(l, sizeof(l), "reason", dr->name);
		metrics_add(m, "clewd_output_deadletter_records_total", METRICS_COUNTER,
			    "Records the output rejected for good, kept in its dead-letter files.", l,
			    (double)dr->stored);
	}
	/* what could not be kept is in clewd_dropped_total (util/drops.c: dl_count_drops()) */
	metrics_add(m, "clewd_output_deadletter_bytes", METRICS_GAUGE,
		    "Bytes of the output's dead-letter files (deadletter_max caps them).", lab,
		    (double)deadletter_bytes(o->dl));
}

/* --- clewd --replay-deadletter ----------------------------------------------- */

/* Chunk files in @dir (what a replay left): counted by opening it as a spool. */
static size_t files_left(const char *dir)
{
	struct spool_options opt;
	struct spool *sp;
	struct cd_err err = {0, 0, ""};
	size_t n;

	spool_options_default(&opt, dir);
	if (spool_open(&sp, &opt, &err) < 0)
		return 0;
	n = spool_count(sp);
	spool_free(sp);
	return n;
}

/* Deliver output 0's spool (the dead-letter files) until it is empty, stopped, or failing too long. */
static int replay_run(struct pipeline *pl, struct cd_err *err)
{
	struct pl_out *o = &pl->out[0];
	int64_t failing_from = 0;

	while (!pl->failed && !pl->stopping) {
		pl->now = cd_mono_ns();
		pl_deliver(pl);
		if (!o->replay && !o->pending && (!o->spool || spool_count(o->spool) == 0))
			return 0;
		if (!o->backoff_ms)
			failing_from = 0;
		else if (!failing_from)
			failing_from = pl->now;
		else if (pl->now - failing_from > (int64_t)pl->cf->drain_ms * 1000000)
			return cd_err_set(err, -CD_EIO, 0,
					  "output %s keeps failing (drain_timeout passed): the files not "
					  "acknowledged stay",
					  o->conf->name);
		pl_wait(pl, o->pending ? (int)CD_OUT_POLL_MS : 100);
	}
	if (pl->failed) {
		*err = pl->ferr;
		return pl->ferr.code ? pl->ferr.code : -CD_EIO;
	}
	return cd_err_set(err, -CD_EIO, 0, "stopped by a signal: the files not acknowledged stay");
}

int pipeline_replay_deadletter(const struct cd_config *cf, const char *name, size_t *left, struct cd_err *err)
{
	struct cd_config *rcf;
	struct pipeline *pl = NULL;
	char dname[128], dir[CD_INPUT_NAME_MAX];
	unsigned k;
	int rc;

	*left = 0;
	for (k = 0; k < cf->nout && strcmp(cf->out[k].name, name) != 0; k++)
		;
	if (k == cf->nout)
		return cd_err_set(err, -CD_EINVAL, 0, "--replay-deadletter %s: no output of that name%s%s%s",
				  name, cf->nout ? " (the first is " : "", cf->nout ? cf->out[0].name : "",
				  cf->nout ? ")" : "");
	if (!cf->deadletter_dir)
		return cd_err_set(err, -CD_EINVAL, 0,
				  "--replay-deadletter: this configuration keeps no dead-letter files "
				  "(deadletter_max 0, or only stdin inputs)");
	pl_out_dirname(&cf->out[k], dname, sizeof(dname));
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", cf->deadletter_dir, dname) >= sizeof(dir))
		return cd_err_set(err, -CD_EINVAL, 0, "dead-letter directory name too long");
	/* the same configuration with that output alone, no input, and its dead-letter files as its spool */
	if (!(rcf = malloc(sizeof(*rcf))))
		return cd_err_set(err, -CD_ENOMEM, 0, "out of memory");
	*rcf = *cf; /* shallow: every string stays @cf's */
	rcf->nin = 0;
	rcf->out[0] = cf->out[k];
	rcf->nout = 1;
	rcf->spool_dir = cf->deadletter_dir;
	rcf->spool_bytes = cf->deadletter_bytes;
	rcf->http_listen = NULL;
	if ((rc = pipeline_new(&pl, rcf, err)) == 0) {
		size_t n = spool_count(pl->out[0].spool);

		cd_logf(FMT_LEVEL_INFO, "replaying %zu dead-letter files of output %s from %s", n, name, dir);
		rc = replay_run(pl, err);
		pipeline_free(pl);
		*left = files_left(dir);
	}
	free(rcf);
	return rc;
}
