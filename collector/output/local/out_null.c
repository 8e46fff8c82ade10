/*
 * output/local/out_null.c - the null output: acknowledges every chunk at once
 * and keeps nothing. For benchmarks (what the collector costs without a
 * peer) and for checking a configuration's inputs and parsers.
 */
#include <stddef.h>

#include "pipeline.h"
#include "util/banned.h"

static int null_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_output_conf *oc,
		     struct cd_err *err)
{
	(void)pl;
	(void)idx;
	(void)oc;
	(void)err;
	*state = NULL;
	return 0;
}

static enum out_result null_flush(void *state, const struct chunk *c, struct cd_err *err)
{
	(void)state;
	(void)c;
	(void)err;
	return OUT_OK;
}

static void null_close(void *state)
{
	(void)state;
}

static const struct out_plugin out_null = {
	.open = null_open,
	.flush = null_flush,
	.close = null_close,
};

static const struct cd_opt_spec null_opts[] = {
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

const struct cd_plugin_desc out_null_desc = {
	.name = "null",
	.usage = "null",
	.summary = "acknowledge and drop (benchmarks)",
	.opts = null_opts,
	.out = &out_null,
};
