/*
 * output/local/out_stdout.c - records as lines on stdout (pipe or JSON).
 *
 * DESIGN: a chunk is rendered whole (output/lines.c) and written with
 * blocking write()s; the write completing is the acknowledgement (a pipe
 * reader has the bytes). EPIPE means the reader is gone: OUT_FAIL, and
 * clewd stops without acknowledging the chunk. Nothing is buffered
 * across chunks, so nothing is lost in a stdio buffer at exit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <store/fileio.h>

#include "output/lines.h"
#include "pipeline.h"
#include "util/banned.h"

struct out_stdout_state {
	enum cd_out_format format; /* pipe or JSON */
	struct out_lines lines;	   /* render buffer */
};

static int stdout_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_output_conf *oc,
		       struct cd_err *err)
{
	struct out_stdout_state *st = calloc(1, sizeof(*st));
	unsigned fmt;

	(void)pl; /* synchronous: no pl_out_done() */
	(void)idx;
	if (!st)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	cd_opt_enum(&oc->opts, "format", "json|pipe|logstash", CD_OUTFMT_JSON, &fmt, NULL); /* checked */
	st->format = (enum cd_out_format)fmt;
	*state = st;
	return 0;
}

static enum out_result stdout_flush(void *state, const struct chunk *c, struct cd_err *err)
{
	struct out_stdout_state *st = state;
	int rc;

	if (out_lines_render(&st->lines, c, st->format, err) < 0)
		return OUT_FAIL;
	rc = fio_write_full(STDOUT_FILENO, st->lines.buf, st->lines.len) < 0 ? -errno : 0;
	if (rc == -EPIPE || rc == -EBADF) {
		cd_err_set(err, -CD_EIO, -rc, "stdout: %s", strerror(-rc));
		return OUT_FAIL;
	}
	if (rc < 0) {
		cd_err_set(err, -CD_EIO, -rc, "stdout: %s", strerror(-rc));
		return OUT_RETRY;
	}
	return OUT_OK;
}

static void stdout_close(void *state)
{
	struct out_stdout_state *st = state;

	if (!st)
		return;
	out_lines_release(&st->lines);
	free(st);
}

static const struct out_plugin out_stdout = {
	.open = stdout_open,
	.flush = stdout_flush,
	.close = stdout_close,
};

static const struct cd_opt_spec stdout_opts[] = {
	{"format", CD_OPT_ENUM, "json", "the line format", "json|pipe|logstash", 0, 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

const struct cd_plugin_desc out_stdout_desc = {
	.name = "stdout",
	.usage = "stdout[:json|pipe|logstash]",
	.summary = "lines on stdout (json)",
	.opts = stdout_opts,
	.out = &out_stdout,
};
