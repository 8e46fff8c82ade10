/*
 * delivery.c - the chunks' way to the outputs: the queue of sealed chunks,
 * each output's flushes, acknowledgements, backoff, spool and replay,
 * and the checkpoint's save.
 *
 * DESIGN: an output's OUT_OK is its acknowledgement: ack_done() moves each
 * input's committed position over the longest fully acknowledged prefix,
 * and only then is the position written to the checkpoint
 * (checkpoint_save(), fsync'd). So a position on disk never covers a
 * record that some output has not made durable; after a crash, records
 * after it are read again (at-least-once).
 *
 * Ordering: every output receives chunks in sequence order. An output
 * that says OUT_RETRY keeps its place and is retried with backoff
 * (0.1 s .. 30 s); the others go on, and the chunk stays queued until all
 * have it.
 *
 * Overflow: when CD_QUEUE_CHUNKS_MAX chunks are queued, the oldest are
 * written to the spool of each output that lacks them (one directory per
 * output under spool_dir, fsync'd files: for that output the chunk then
 * counts as acknowledged, so the checkpoint may pass it) and leave
 * memory. An output delivers its spool, oldest first, before anything in
 * memory; a spool left by an earlier run is delivered first after start.
 * When a spool is full (or there is none: a stdin job keeps no state) the
 * queue stays full and the inputs stop reading: nothing is dropped.
 *
 * Given up: a record an output rejects for good goes to its dead-letter
 * files (pl_deadletter(), dlq.c), made durable before that output's next
 * OUT_OK is taken as an acknowledgement (pl_dl_commit() below).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk/ack.h"
#include "chunk/spool.h"
#include "pipeline_impl.h"
#include "util/drops.h"
#include "util/util.h"
#include "util/banned.h"

/* --- chunks and delivery ------------------------------------------------------ */

int pl_seal(struct pipeline *pl)
{
	struct pl_qent *e;
	struct chunk *next;
	int rc;

	if (chunk_nrecords(pl->cur) == 0)
		return 0;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -CD_ENOMEM;
	if (pl->spare) {
		next = pl->spare;
		pl->spare = NULL;
		chunk_clear(next, pl->next_seq + 1, pl->now);
	} else if ((rc = chunk_new(&next, pl->next_seq + 1, pl->now)) < 0) {
		free(e);
		return rc;
	}
	if ((rc = ack_track(pl->acks, pl->cur)) < 0) {
		chunk_free(next);
		free(e);
		return rc;
	}
	if (pl->sumw) {
		/* no summaries (out of memory): the archive makes them from the payload */
		if (pl->sum_broken || chunk_take_summaries(pl->cur, pl->sumw) < 0)
			qy_sumw_clear(pl->sumw);
		pl->sum_broken = false;
	}
	e->c = pl->cur;
	if (pl->qtail)
		pl->qtail->next = e;
	else
		pl->qhead = e;
	pl->qtail = e;
	pl->qn++;
	pl->cur = next;
	pl->next_seq++;
	return 0;
}

int pl_summarise_chunks(struct pipeline *pl, const struct qy_keys *keys, struct cd_err *err)
{
	if (!pl || pl->sumw)
		return 0;
	/* the archive takes the summaries only when made with its keys (a second archive with
	   other keys decodes the payload) */
	if (!(pl->sumw = malloc(sizeof(*pl->sumw))) || qy_keys_copy(&pl->sum_keys, keys) < 0) {
		free(pl->sumw);
		pl->sumw = NULL;
		qy_keys_release(&pl->sum_keys);
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	}
	qy_sumw_init(pl->sumw, &pl->sum_keys);
	/* records appended before now are not in sumw: the chunk being filled goes without */
	pl->sum_broken = chunk_nrecords(pl->cur) > 0;
	return 0;
}

/* Output @k has chunk @e: acknowledge it. */
static void out_acked(struct pipeline *pl, unsigned k, struct pl_qent *e)
{
	struct pl_out *o = &pl->out[k];

	e->acked |= 1ull << k;
	o->chunks++;
	o->records += chunk_nrecords(e->c);
	if (o->backoff_ms)
		cd_log(FMT_LEVEL_INFO, "output recovered", "output", o->conf->name, NULL);
	o->backoff_ms = 0;
	if (!o->peer_down) /* a chunk delivered before the peer went away */
		o->failing_since = 0;
	ack_done(pl->acks, chunk_seq(e->c), k, NULL);
}

/* Output @k could not take a chunk now: back off before giving it again. */
static void out_backoff(struct pipeline *pl, unsigned k, const char *why)
{
	struct pl_out *o = &pl->out[k];

	o->errors++;
	/* clewd_output_up and /health read it: the first failure of a run (pl->now is never 0) */
	if (!o->failing_since)
		o->failing_since = pl->now;
	if (!o->backoff_ms)
		cd_log(FMT_LEVEL_WARN, "output not ready: retrying", "output", o->conf->name, "error", why,
		       NULL);
	o->backoff_ms = o->backoff_ms ? o->backoff_ms * 2 : 100;
	if (o->backoff_ms > 30000)
		o->backoff_ms = 30000;
	/* jitter of up to a quarter: outputs of many collectors do not retry in step */
	o->retry_at =
		pl->now + (int64_t)(o->backoff_ms - (uint64_t)rand() % (o->backoff_ms / 4 + 1)) * 1000000;
}

static void out_failed(struct pipeline *pl, unsigned k, const char *why)
{
	pl->out[k].errors++;
	cd_log(FMT_LEVEL_ERROR, "output failed", "output", pl->out[k].conf->name, "error", why, NULL);
	pl_fatal(pl, why, -CD_EIO);
}

/* The outcome of the replayed spool chunk of output @k. */
static void replay_done(struct pipeline *pl, unsigned k, enum out_result r, const char *why)
{
	struct pl_out *o = &pl->out[k];
	struct cd_err err = {0, 0, ""};
	char dl_why[160];

	/* the records it gave up are durable before the file goes (dlq.c) */
	if (r == OUT_OK && pl_dl_commit(pl, k, dl_why, sizeof(dl_why)) < 0) {
		r = OUT_RETRY;
		why = dl_why;
	}
	if (r == OUT_FAIL) {
		out_failed(pl, k, why ? why : "failed");
		return;
	}
	if (r != OUT_OK) {
		out_backoff(pl, k, why ? why : "retry");
		return;
	}
	if (spool_remove(o->spool, chunk_seq(o->replay), &err) < 0)
		cd_log(FMT_LEVEL_WARN, "spool: cannot remove a delivered chunk (it will be delivered again)",
		       "output", o->conf->name, "error", err.msg, NULL);
	o->replayed++;
	o->chunks++;
	o->records += chunk_nrecords(o->replay);
	o->backoff_ms = 0;
	if (!o->peer_down)
		o->failing_since = 0;
	chunk_free(o->replay);
	o->replay = NULL;
}

/*
 * Deliver output @k's spooled chunks, oldest first, one at a time.
 * Return: true when the spool is empty and nothing of it is in flight
 * (the output may go on with the chunks in memory, which are newer).
 */
static bool deliver_spool(struct pipeline *pl, unsigned k)
{
	struct pl_out *o = &pl->out[k];

	while (o->spool && !pl->failed) {
		struct cd_err err = {0, 0, ""};
		enum out_result r;
		int rc;

		if (o->replay && o->replay_sent)
			return false;
		if (!o->replay) {
			if (spool_count(o->spool) == 0)
				return true;
			rc = spool_load(o->spool, spool_seq_at(o->spool, 0), &o->replay, &err);
			if (rc == -CD_ECORRUPT)
				continue; /* logged and counted by spool_corrupt() */
			if (rc < 0) {
				out_backoff(pl, k, err.msg);
				return false;
			}
		}
		r = o->p->flush(o->st, o->replay, &err);
		if (r == OUT_PENDING) {
			o->replay_sent = true;
			o->pending++;
			return false;
		}
		replay_done(pl, k, r, err.msg);
		if (r != OUT_OK)
			return false;
	}
	return !o->spool;
}

void pl_out_done(struct pipeline *pl, unsigned idx, uint64_t seq, enum out_result r, const char *why)
{
	struct pl_out *o = &pl->out[idx];
	char dl_why[160];

	if (o->replay && o->replay_sent && chunk_seq(o->replay) == seq) {
		o->replay_sent = false;
		o->pending--;
		replay_done(pl, idx, r, why);
		return;
	}
	for (struct pl_qent *e = pl->qhead; e; e = e->next) {
		if (chunk_seq(e->c) != seq || !(e->sent & (1ull << idx)))
			continue;
		e->sent &= ~(1ull << idx);
		o->pending--;
		/* the records it gave up are durable before the chunk counts as acknowledged (dlq.c) */
		if (r == OUT_OK && pl_dl_commit(pl, idx, dl_why, sizeof(dl_why)) < 0) {
			r = OUT_RETRY;
			why = dl_why;
		}
		if (r == OUT_OK)
			out_acked(pl, idx, e);
		else if (r == OUT_FAIL)
			out_failed(pl, idx, why ? why : "failed");
		else
			out_backoff(pl, idx, why ? why : "retry");
		return;
	}
}

void pl_out_failing(struct pipeline *pl, unsigned idx, bool failing)
{
	struct pl_out *o = &pl->out[idx];

	o->peer_down = failing;
	if (!failing) {
		o->failing_since = 0;
		return;
	}
	o->errors++;
	if (!o->failing_since)
		o->failing_since = pl->now;
}

/* Free the chunks at the head of the queue that every output has. */
static void reap(struct pipeline *pl)
{
	while (pl->qhead && pl->qhead->acked == pl->all_outputs) {
		struct pl_qent *e = pl->qhead;

		pl_sources_complete(pl, e->c);
		pl->qhead = e->next;
		if (!pl->qhead)
			pl->qtail = NULL;
		pl->qn--;
		if (!pl->spare)
			pl->spare = e->c;
		else
			chunk_free(e->c);
		free(e);
	}
}

void pl_deliver(struct pipeline *pl)
{
	for (unsigned k = 0; k < pl->nout && !pl->failed; k++) {
		struct pl_out *o = &pl->out[k];

		if (o->pending && o->p->poll)
			o->p->poll(o->st, pl->now);
		if (o->retry_at > pl->now)
			continue;
		/* what was spooled is older than anything in memory: it goes first */
		if (!deliver_spool(pl, k))
			continue;
		for (struct pl_qent *e = pl->qhead; e && !pl->failed; e = e->next) {
			struct cd_err err = {0, 0, ""};
			enum out_result r;

			if ((e->acked | e->sent) & (1ull << k))
				continue;
			r = o->p->flush(o->st, e->c, &err);
			if (r == OUT_OK && pl_dl_commit(pl, k, err.msg, sizeof(err.msg)) < 0)
				r = OUT_RETRY;
			if (r == OUT_OK) {
				out_acked(pl, k, e);
			} else if (r == OUT_PENDING) {
				e->sent |= 1ull << k;
				o->pending++;
			} else if (r == OUT_FAIL) {
				out_failed(pl, k, err.msg);
			} else {
				out_backoff(pl, k, err.msg);
				break;
			}
		}
	}
	reap(pl);
}

/*
 * Write chunk @e durably to output @k's spool; for that output it is then
 * as good as delivered (acknowledged: the checkpoint may pass it), and
 * the spool delivers it later. Return: whether it was spooled.
 */
static bool spool_one(struct pipeline *pl, struct pl_qent *e, unsigned k)
{
	struct pl_out *o = &pl->out[k];
	struct cd_err err = {0, 0, ""};
	int rc;

	if (!o->spool)
		return false;
	rc = spool_push(o->spool, e->c, &err);
	if (rc < 0) {
		if (!o->spool_full_logged)
			cd_log(FMT_LEVEL_WARN,
			       rc == -CD_EFULL ? "spool full: inputs paused (backpressure)"
					       : "spool: cannot write a chunk: inputs paused (backpressure)",
			       "output", o->conf->name, "error", err.msg, NULL);
		o->spool_full_logged = true;
		return false;
	}
	if (o->spool_full_logged)
		cd_log(FMT_LEVEL_INFO, "spool has room again", "output", o->conf->name, NULL);
	o->spool_full_logged = false;
	if (e->sent & (1ull << k)) {
		/* given up in flight (stopping): an outcome reported later finds nothing */
		e->sent &= ~(1ull << k);
		o->pending--;
	}
	e->acked |= 1ull << k;
	o->spooled++;
	ack_done(pl->acks, chunk_seq(e->c), k, NULL);
	return true;
}

/*
 * Memory is full (CD_QUEUE_CHUNKS_MAX chunks): move the oldest chunks to
 * the spools of the outputs that do not have them yet, so reading goes
 * on while an output is slow or down. A chunk in flight at some output
 * stays in memory (its outcome is awaited). When a spool is full, or
 * there is none, the queue stays full and the inputs pause: nothing is
 * dropped. @all (stopping): every chunk, in flight or not, for every
 * output in backoff, or for every output once the drain time is up.
 */
void pl_spill(struct pipeline *pl, bool all, bool failing_only)
{
	size_t excess = pl->qn >= CD_QUEUE_CHUNKS_MAX ? pl->qn - CD_QUEUE_CHUNKS_MAX + 1 : 0;

	for (struct pl_qent *e = pl->qhead; e && (all || excess); e = e->next) {
		uint64_t missing = pl->all_outputs & ~e->acked;
		bool done = true;

		if (!all && (missing & e->sent))
			break;
		for (unsigned k = 0; k < pl->nout && done; k++) {
			if (!(missing & (1ull << k)))
				continue;
			if (failing_only && !pl->out[k].backoff_ms) {
				done = false;
				continue;
			}
			done = spool_one(pl, e, k);
		}
		if (done && excess)
			excess--;
		else if (!done && !all)
			break;
	}
	reap(pl);
}

/* A failing checkpoint save is logged at most once in this long (with the count since). */
#define CKPT_FAIL_LOG_NS (10 * (int64_t)1000000000)

void pl_save_checkpoint(struct pipeline *pl)
{
	struct cd_err err = {0, 0, ""};
	int rc;

	if (!pl->ckpt || !pl->ckpt_dirty)
		return;
	rc = checkpoint_save(pl->ckpt, &err);
	if (rc < 0) {
		/* not fatal: the old positions stay, records after them are read again; logged
		 * once per CKPT_FAIL_LOG_NS with the count, not on every turn of the loop */
		int64_t now = cd_mono_ns();

		pl->ckpt_fails++;
		if (pl->ckpt_fail_logged == 0 || now - pl->ckpt_fail_logged >= CKPT_FAIL_LOG_NS) {
			char n[24];

			snprintf(n, sizeof(n), "%" PRIu64, pl->ckpt_fails);
			cd_log(FMT_LEVEL_ERROR, "checkpoint: save failed", "error", err.msg, "failures", n,
			       NULL);
			pl->ckpt_fails = 0;
			pl->ckpt_fail_logged = now;
		}
		return;
	}
	if (pl->ckpt_fail_logged) {
		cd_log(FMT_LEVEL_INFO, "checkpoint: saved again", NULL);
		pl->ckpt_fail_logged = 0;
		pl->ckpt_fails = 0;
	}
	pl->ckpt_dirty = false;
}

/* A corrupt spool file: one line with the file, the reason and what was saved. */
static void spool_corrupt(void *cookie, const char *file, const char *why, uint64_t recovered, uint64_t lost)
{
	char rec[24], los[24];

	snprintf(rec, sizeof(rec), "%" PRIu64, recovered);
	snprintf(los, sizeof(los), "%" PRIu64, lost);
	cd_log(FMT_LEVEL_ERROR, "spool: corrupt chunk file (a copy is in corrupt/)", "output",
	       (const char *)cookie, "file", file, "error", why, "recovered", rec, "lost", los, NULL);
	cd_drop("output", (const char *)cookie, "spool_corrupt", lost, file);
}

/*
 * The spool (and dead-letter) directory of an output: its name when the
 * configuration gave one, else its type and a hash of where it delivers,
 * so that reordering the outputs in the file does not hand one output's
 * spool to another.
 */
void pl_out_dirname(const struct cd_output_conf *oc, char *buf, size_t cap)
{
	/* a local output's path first, a network one's after its address: the names spools always had */
	const bool local = !(oc->plugin->flags & CD_PLUGIN_URI_OPTS);
	const char *parts[] = {local ? cd_opt_get(&oc->opts, "path") : NULL, cd_opt_get(&oc->opts, "address"),
			       local ? NULL : cd_opt_get(&oc->opts, "path"), cd_opt_get(&oc->opts, "topic"),
			       cd_opt_get(&oc->opts, "brokers")};
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	size_t n;

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		for (const char *p = parts[i] ? parts[i] : "";; p++) {
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
			if (!*p)
				break;
		}
	if (strchr(oc->name, '#'))
		n = (size_t)snprintf(buf, cap, "%s-%016llx", oc->plugin->name, (unsigned long long)h);
	else
		n = (size_t)snprintf(buf, cap, "%s", oc->name);
	for (size_t i = 0; i < n && i < cap; i++)
		if (!((buf[i] >= 'a' && buf[i] <= 'z') || (buf[i] >= 'A' && buf[i] <= 'Z') ||
		      (buf[i] >= '0' && buf[i] <= '9') || buf[i] == '-' || buf[i] == '.' || buf[i] == '_'))
			buf[i] = '_';
}

int pl_open_spool(struct pl_out *o, const struct cd_config *cf, struct cd_err *err)
{
	char name[128], dir[CD_INPUT_NAME_MAX];
	struct spool_options opt;
	int rc;

	pl_out_dirname(o->conf, name, sizeof(name));
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", cf->spool_dir, name) >= sizeof(dir))
		return cd_err_set(err, -CD_EINVAL, 0, "spool directory name too long");
	if ((rc = cd_mkdir_p(cf->spool_dir, err)) < 0)
		return rc;
	spool_options_default(&opt, dir);
	opt.limit_bytes = cf->spool_bytes;
	opt.on_corrupt = spool_corrupt;
	opt.cookie = (void *)o->conf->name;
	if ((rc = spool_open(&o->spool, &opt, err)) < 0)
		return rc;
	if (spool_count(o->spool))
		cd_logf(FMT_LEVEL_INFO, "spool: %zu chunks (%llu bytes) of output %s to deliver first",
			spool_count(o->spool), (unsigned long long)spool_bytes(o->spool), o->conf->name);
	return 0;
}
