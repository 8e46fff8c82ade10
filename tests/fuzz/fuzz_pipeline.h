/*
 * fuzz_pipeline.h - clewd's real pipeline in a fuzz target, for the
 * network inputs' paths from received bytes to records (fuzz_http_body,
 * fuzz_tcp_framing, fuzz_udp_datagram): one pipeline per process, opened
 * on first use with the input a network input has (tcp://127.0.0.1:0,
 * parser auto, multiline as configured by default) and the null output,
 * a state directory of its own (removed at exit) and no spool.
 *
 * A target makes a source the way its input does (pl_source_new()),
 * hands it the bytes with the input's own calls, ends it, then calls
 * fz_drain(): every sealed chunk must decode record by record
 * (chunk_iter) to exactly its count, the records must be the input's
 * records counter's growth, every chunk must be delivered and freed, no
 * source may be left, and the pipeline must not have failed. Any
 * violation abort()s. Logs below ERROR are off (content is never an
 * error).
 */
#ifndef FUZZ_PIPELINE_H
#define FUZZ_PIPELINE_H

#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "pipeline_impl.h"
#include <store/chunk.h>
#include "util/util.h"

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

static struct pipeline *fz_pl;
static struct cd_config fz_cf;
static char fz_dir[64];

static int fz_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void fz_close(void)
{
	pipeline_free(fz_pl);
	cd_config_release(&fz_cf);
	nftw(fz_dir, fz_rm, 8, FTW_DEPTH | FTW_PHYS);
}

/* The pipeline, opened on first use (input 0: tcp://127.0.0.1:0, output: null). */
static struct pipeline *fz_pipeline(void)
{
	struct cd_err err = {0, 0, ""};

	if (fz_pl)
		return fz_pl;
	cd_log_level(FMT_LEVEL_ERROR);
	snprintf(fz_dir, sizeof(fz_dir), "%s/clew-fuzz-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	CHECK(mkdtemp(fz_dir));
	cd_config_init(&fz_cf);
	CHECK(setenv("CLEWD_STATE_DIR", fz_dir, 1) == 0);
	CHECK(setenv("CLEWD_SPOOL_MAX_BYTES", "0", 1) == 0);
	if (cd_config_env(&fz_cf, &err) < 0 ||
	    cd_config_add_input_spec(&fz_cf, "tcp://127.0.0.1:0", &err) < 0 ||
	    cd_config_add_output_spec(&fz_cf, "null", &err) < 0 || cd_config_finish(&fz_cf, &err) < 0 ||
	    pipeline_new(&fz_pl, &fz_cf, &err) < 0) {
		fprintf(stderr, "fuzz: cannot open the pipeline: %s\n", err.msg);
		abort();
	}
	atexit(fz_close);
	return fz_pl;
}

/* Input 0's records counter. */
static uint64_t fz_records(void)
{
	return pl_in_stats(fz_pipeline(), 0)->records;
}

/* Seal, check and deliver everything; Return: the records that were in the chunks. */
static uint64_t fz_drain(void)
{
	struct pipeline *pl = fz_pipeline();
	static struct fmt_record rec;
	uint64_t n = 0;

	CHECK(pl_seal(pl) == 0);
	for (struct pl_qent *e = pl->qhead; e; e = e->next) {
		struct chunk_iter it;
		struct record_src src;
		uint32_t k = 0;
		int rc;

		chunk_iter_init(&it, e->c);
		while ((rc = chunk_iter_next(&it, &rec, &src)) == 1)
			k++;
		CHECK(rc == 0);
		CHECK(k == chunk_nrecords(e->c));
		n += k;
	}
	pl->now = cd_mono_ns();
	pl_deliver(pl);
	CHECK(!pl->failed);
	CHECK(!pl->qhead);
	CHECK(!pl->sources);
	return n;
}

#endif
