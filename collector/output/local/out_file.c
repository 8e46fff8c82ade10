/*
 * output/local/out_file.c - records as lines appended to a file (pipe or JSON).
 *
 * DESIGN: the file is opened O_APPEND (another writer or a logrotate
 * copytruncate cannot make us write holes); a chunk is rendered whole,
 * written, and fdatasync'd: the fdatasync returning is the
 * acknowledgement. A failed write may leave part of a chunk in the file;
 * the chunk is then retried whole (at-least-once: duplicates possible,
 * never a gap). A partial last line left by a failure is ended with a
 * newline first, so the next record starts a line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <store/fileio.h>

#include "output/lines.h"
#include "pipeline.h"
#include "util/banned.h"

struct out_file_state {
	char *path;		   /* the file */
	int fd;			   /* open for append; -1 after a failure (reopened on retry) */
	bool torn;		   /* a write failed midway: end the partial line first */
	enum cd_out_format format; /* pipe or JSON */
	struct out_lines lines;	   /* render buffer */
};

static int file_reopen(struct out_file_state *st, struct cd_err *err)
{
	if (st->fd >= 0)
		return 0;
	st->fd = open(st->path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (st->fd >= 0) {
		/* a new file: its name durable in its directory before records are acknowledged */
		if (fio_sync_parent(st->path) < 0) {
			int rc = cd_err_set(err, -CD_EIO, errno, "file output %s: fsync of its directory: %s",
					    st->path, strerror(errno));
			close(st->fd);
			st->fd = -1;
			return rc;
		}
		return 0;
	}
	if (errno == EEXIST)
		st->fd = open(st->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (st->fd < 0)
		return cd_err_set(err, -CD_EIO, errno, "file output %s: %s", st->path, strerror(errno));
	return 0;
}

/* path is required. */
static int file_check(const struct cd_output_conf *oc, struct cd_err *err)
{
	const char *path = cd_opt_get(&oc->opts, "path");

	return path && *path ? 0 : cd_opt_fail(&oc->opts, NULL, "this output needs path", err);
}

static int file_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_output_conf *oc,
		     struct cd_err *err)
{
	struct out_file_state *st = calloc(1, sizeof(*st));
	unsigned fmt;
	int rc;

	(void)pl; /* synchronous: no pl_out_done() */
	(void)idx;
	if (!st)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	st->fd = -1;
	cd_opt_enum(&oc->opts, "format", "json|pipe|logstash", CD_OUTFMT_JSON, &fmt, NULL); /* checked */
	st->format = (enum cd_out_format)fmt;
	st->path = strdup(cd_opt_get(&oc->opts, "path"));
	if (!st->path) {
		rc = cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
		goto err_free;
	}
	if ((rc = file_reopen(st, err)) < 0)
		goto err_free_path;
	*state = st;
	return 0;

err_free_path:
	free(st->path);
err_free:
	free(st);
	return rc;
}

static enum out_result file_flush(void *state, const struct chunk *c, struct cd_err *err)
{
	struct out_file_state *st = state;
	int rc;

	if (out_lines_render(&st->lines, c, st->format, err) < 0)
		return OUT_FAIL;
	if (file_reopen(st, err) < 0)
		return OUT_RETRY;
	if (st->torn) {
		if (fio_write_full(st->fd, "\n", 1) < 0)
			goto fail;
		st->torn = false;
	}
	rc = fio_write_full(st->fd, st->lines.buf, st->lines.len);
	if (rc < 0)
		goto fail;
	if (fdatasync(st->fd) < 0)
		goto fail;
	return OUT_OK;

fail:
	cd_err_set(err, -CD_EIO, errno, "file output %s: %s", st->path, strerror(errno));
	st->torn = true;
	close(st->fd);
	st->fd = -1;
	return OUT_RETRY;
}

static void file_close(void *state)
{
	struct out_file_state *st = state;

	if (!st)
		return;
	if (st->fd >= 0)
		close(st->fd);
	out_lines_release(&st->lines);
	free(st->path);
	free(st);
}

static const struct out_plugin out_file = {
	.check = file_check,
	.open = file_open,
	.flush = file_flush,
	.close = file_close,
};

static const struct cd_opt_spec file_opts[] = {
	{"path", CD_OPT_STRING, NULL, "the file lines are appended to (required)", NULL, 0, 0},
	{"format", CD_OPT_ENUM, "json", "the line format", "json|pipe|logstash", 0, 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

const struct cd_plugin_desc out_file_desc = {
	.name = "file",
	.usage = "file:PATH[:json|pipe|logstash]",
	.summary = "lines appended to a file, fdatasync'd",
	.opts = file_opts,
	.out = &out_file,
};
