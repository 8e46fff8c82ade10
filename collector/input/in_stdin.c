/*
 * input/in_stdin.c - the stdin input: read to EOF, then done.
 *
 * DESIGN: stdin is one source with no checkpoint (it cannot be read
 * again). A pipe or terminal is watched with epoll and set non-blocking;
 * a regular file (shell redirection) cannot be polled, so it is read a
 * burst per loop turn until EOF. At EOF the partial last line becomes a
 * record and the held multiline record is flushed (pl_source_end()); the
 * pipeline then drains and clewd exits 0 when every output has it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline.h"
#include "util/util.h"
#include "util/banned.h"

struct in_stdin_state {
	struct pipeline *pl;   /* the pipeline */
	struct pl_source *src; /* the one source; NULL after EOF */
	bool readable;	       /* epoll said so, or a regular file (always) */
	bool polled;	       /* fd is in the epoll set */
	bool done;	       /* EOF seen and handed on */
	int saved_flags;       /* stdin's file status flags before O_NONBLOCK (-1: unchanged) */
};

static void on_readable(void *arg)
{
	struct in_stdin_state *st = arg;

	st->readable = true;
}

static int stdin_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_input_conf *ic,
		      struct cd_err *err)
{
	struct in_stdin_state *st = calloc(1, sizeof(*st));
	int rc, fl;

	(void)ic;
	if (!st)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	st->pl = pl;
	st->saved_flags = -1;
	st->src = pl_source_new(pl, idx, "stdin", NULL, 0, 0, 0);
	if (!st->src) {
		free(st);
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	}
	rc = pl_watch_fd(pl, STDIN_FILENO, on_readable, st);
	if (rc == 0) {
		st->polled = true;
		fl = fcntl(STDIN_FILENO, F_GETFL);
		/* the flags belong to the open file, shared with the shell that started us: put back at close */
		if (fl >= 0 && !(fl & O_NONBLOCK) && fcntl(STDIN_FILENO, F_SETFL, fl | O_NONBLOCK) == 0)
			st->saved_flags = fl;
	} else if (rc == -CD_EINVAL) {
		st->readable = true; /* a regular file or /dev/null */
	} else {
		pl_source_abandon(pl, st->src);
		free(st);
		return cd_err_set(err, -CD_EIO, errno, "stdin: cannot watch: %s", strerror(errno));
	}
	*state = st;
	return 0;
}

static bool stdin_tick(void *state, int64_t now_ns)
{
	struct in_stdin_state *st = state;
	bool eof = false;
	long n;

	(void)now_ns;
	if (st->done || !st->readable)
		return false;
	n = pl_source_read(st->pl, st->src, STDIN_FILENO, &eof);
	if (n < 0) {
		cd_log(FMT_LEVEL_ERROR, "stdin: read failed", "error", strerror((int)-n), NULL);
		eof = true;
	}
	if (eof) {
		pl_source_end(st->pl, st->src, false);
		st->src = NULL;
		st->done = true;
		if (st->polled) {
			pl_unwatch_fd(st->pl, STDIN_FILENO);
			st->polled = false;
		}
		return false;
	}
	if (st->polled && n < (long)CD_READ_BURST) {
		st->readable = false; /* EAGAIN: wait for epoll */
		return false;
	}
	return true;
}

static bool stdin_done(void *state)
{
	return ((struct in_stdin_state *)state)->done;
}

static void stdin_close(void *state)
{
	struct in_stdin_state *st = state;

	if (!st)
		return;
	if (st->polled)
		pl_unwatch_fd(st->pl, STDIN_FILENO);
	if (st->saved_flags >= 0)
		fcntl(STDIN_FILENO, F_SETFL, st->saved_flags);
	free(st);
}

static const struct in_plugin in_stdin = {
	.open = stdin_open,
	.tick = stdin_tick,
	.done = stdin_done,
	.close = stdin_close,
};

/* stdin takes no keys of its own (type, parser, multiline_start are every input's) */
static const struct cd_opt_spec stdin_opts[] = {
	CD_OPT_REFUSE("path", "input stdin takes no path or read_from"),
	CD_OPT_REFUSE("read_from", "input stdin takes no path or read_from"),
	CD_OPT_REFUSE("listen", "listen and max_connections are for network inputs, not stdin"),
	CD_OPT_REFUSE("max_connections", "listen and max_connections are for network inputs, not stdin"),
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

const struct cd_plugin_desc in_stdin_desc = {
	.name = "stdin",
	.usage = "stdin",
	.summary = "read to EOF, deliver, exit 0",
	.opts = stdin_opts,
	.flags = CD_PLUGIN_ONESHOT,
	.in = &in_stdin,
};
