/*
 * output/local/out_archive.c - the archive output: clewd's embedded default.
 *
 * DESIGN: one chunk is one archive frame: the payload is the chunk's
 * packed records (msgpack, as formats/chunk.md), the frame's mini-index
 * the chunk's trace IDs, services and time range. arch_append() returns
 * after the fsync, so its 0 is the acknowledgement. An I/O failure (disk
 * full) is retried by the pipeline with backoff; the chunk is never
 * acknowledged before it is durable. Retention (max_bytes, max_age) runs
 * as segments rotate, and once an hour. With summaries on, the pipeline
 * summarises each chunk's records as it builds it (pl_summarise_chunks()),
 * and the chunk brings them to arch_append().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <store/archive.h>
#include "pipeline.h"
#include "query/summary.h"
#include "util/util.h"
#include "util/banned.h"

struct out_archive_state {
	arch *a;		 /* the open archive */
	char *dir;		 /* its directory */
	struct arch_key *keys;	 /* traces then services of the chunk in flight */
	size_t keys_cap;	 /* entries allocated at keys */
	int64_t next_retain_ns;	 /* monotonic time of the next arch_retain() */
	struct qy_keys sum_keys; /* summary_keys */
};

static void on_diag(void *cookie, const char *msg)
{
	cd_log(FMT_LEVEL_WARN, msg, "output", "archive", "dir", (const char *)cookie, NULL);
}

/* summary_keys into @k (released on failure); @msg says why not. */
static int sum_keys(const struct cd_output_conf *oc, struct qy_keys *k, char *msg, size_t cap)
{
	const char *list = cd_opt_get(&oc->opts, "summary_keys");

	memset(k, 0, sizeof(*k));
	if (!list || qy_keys_parse(k, list, msg, cap) == 0)
		return list ? 0 : qy_keys_defaults(k);
	qy_keys_release(k);
	return -1;
}

/* path is required (a directory); summary_keys a list of at most QY_KEYS_MAX. */
static int archive_check(const struct cd_output_conf *oc, struct cd_err *err)
{
	const char *path = cd_opt_get(&oc->opts, "path");
	struct qy_keys k;
	char msg[160];

	if (!path || !*path)
		return cd_opt_fail(&oc->opts, NULL, "this output needs path", err);
	if (sum_keys(oc, &k, msg, sizeof(msg)) < 0)
		return cd_opt_fail(&oc->opts, "summary_keys", msg, err);
	qy_keys_release(&k);
	return 0;
}

static int archive_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_output_conf *oc,
			struct cd_err *err)
{
	struct out_archive_state *st = calloc(1, sizeof(*st));
	struct arch_options opt;
	uint64_t u;
	int rc;

	(void)idx; /* synchronous: no pl_out_done() */
	if (!st)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	st->dir = strdup(cd_opt_get(&oc->opts, "path"));
	if (!st->dir) {
		rc = cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
		goto err_free;
	}
	if ((rc = cd_mkdir_p(st->dir, err)) < 0)
		goto err_free_dir;
	arch_options_default(&opt);
	/* checked by cd_opts_check() against the table: these reads do not fail */
	cd_opt_size(&oc->opts, "segment_bytes", 0, &u, NULL);
	opt.segment_bytes = u;
	cd_opt_size(&oc->opts, "max_bytes", 0, &u, NULL);
	opt.max_bytes = u;
	cd_opt_ms(&oc->opts, "max_age", 0, &u, NULL);
	opt.max_age_ns = (int64_t)u * 1000000;
	cd_opt_bool(&oc->opts, "summaries", false, &opt.summaries, NULL);
	if (sum_keys(oc, &st->sum_keys, NULL, 0) < 0) {
		rc = cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory"); /* checked: nothing else fails */
		goto err_free_dir;
	}
	opt.summary_keys = &st->sum_keys;
	/* summarised as the chunks are built, from the records parsed: no second decode */
	if (opt.summaries && (rc = pl_summarise_chunks(pl, &st->sum_keys, err)) < 0)
		goto err_free_dir;
	opt.on_diag = on_diag;
	opt.cookie = st->dir;
	if ((rc = arch_open(&st->a, st->dir, &opt, err)) < 0)
		goto err_free_dir;
	st->next_retain_ns = cd_mono_ns();
	*state = st;
	return 0;

err_free_dir:
	qy_keys_release(&st->sum_keys);
	free(st->dir);
err_free:
	free(st);
	return rc;
}

static enum out_result archive_flush(void *state, const struct chunk *c, struct cd_err *err)
{
	struct out_archive_state *st = state;
	uint32_t nt = chunk_ntraces(c), ns = chunk_nservices(c);
	struct arch_chunk_meta meta;
	const uint8_t *data;
	size_t len;
	int rc;

	if (nt + ns > st->keys_cap) {
		struct arch_key *k = realloc(st->keys, (nt + ns) * sizeof(*k));
		if (!k) {
			cd_err_set(err, -CD_ENOMEM, ENOMEM, "archive: out of memory");
			return OUT_RETRY;
		}
		st->keys = k;
		st->keys_cap = nt + ns;
	}
	for (uint32_t i = 0; i < nt; i++)
		st->keys[i].ptr = chunk_trace_ref(c, i, &st->keys[i].len);
	for (uint32_t i = 0; i < ns; i++)
		st->keys[nt + i].ptr = chunk_service_ref(c, i, &st->keys[nt + i].len);
	memset(&meta, 0, sizeof(meta));
	meta.seq = chunk_seq(c);
	meta.nrecords = chunk_nrecords(c);
	if (!chunk_ts_range(c, &meta.min_ts_ns, &meta.max_ts_ns)) {
		/* no timestamps: the time it was collected */
		meta.min_ts_ns = meta.max_ts_ns = cd_real_ns();
	}
	meta.traces = st->keys;
	meta.ntraces = nt;
	meta.services = st->keys + nt;
	meta.nservices = ns;
	meta.sums = chunk_summaries_ref(c, &meta.sums_len, &meta.nsums, &meta.sum_keys);
	data = chunk_data_ref(c, &len);
	rc = arch_append(st->a, data, len, &meta, err);
	if (rc == -CD_EINVAL || rc == -CD_ELIMIT)
		return OUT_FAIL;
	if (rc < 0)
		return OUT_RETRY;
	if (cd_mono_ns() >= st->next_retain_ns) {
		struct cd_err rerr = {0, 0, ""};
		st->next_retain_ns = cd_mono_ns() + 3600 * (int64_t)1000000000;
		if (arch_retain(st->a, cd_real_ns(), NULL, &rerr) < 0)
			cd_log(FMT_LEVEL_WARN, "archive: retention failed", "error", rerr.msg, NULL);
	}
	return OUT_OK;
}

static void archive_close(void *state)
{
	struct out_archive_state *st = state;
	struct cd_err err = {0, 0, ""};

	if (!st)
		return;
	if (arch_close(st->a, &err) < 0)
		cd_log(FMT_LEVEL_WARN, "archive: index not written (rebuilt on next open)", "error", err.msg,
		       NULL);
	free(st->keys);
	free(st->dir);
	qy_keys_release(&st->sum_keys);
	free(st);
}

static const struct out_plugin out_archive = {
	.check = archive_check,
	.open = archive_open,
	.flush = archive_flush,
	.close = archive_close,
};

static const struct cd_opt_spec archive_opts[] = {
	{"path", CD_OPT_STRING, NULL, "the archive's directory (required)", NULL, 0, 0},
	{"max_bytes", CD_OPT_SIZE, "0", "retention by size: oldest segments go past it (0: none)", NULL, 0,
	 0},
	{"max_age", CD_OPT_DURATION, "0", "retention by age: older segments go (0: none)", NULL, 0, 0},
	{"segment_bytes", CD_OPT_SIZE, "64M", "a segment's size before the next one starts", NULL, 0, 0},
	{"summaries", CD_OPT_BOOL, "false",
	 "write transaction summaries per segment (faster tracegrep --find and /api/traces; costs write CPU)",
	 NULL, 0, 0},
	{"summary_keys", CD_OPT_STRING, "user,tenant,customer,order",
	 "the attributes whose values each summary keeps (comma-separated, at most 16; the API searches "
	 "them with tags)",
	 NULL, 0, 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

const struct cd_plugin_desc out_archive_desc = {
	.name = "archive",
	.usage = "archive:DIR",
	.summary = "the archive tracegrep searches",
	.opts = archive_opts,
	.out = &out_archive,
};
