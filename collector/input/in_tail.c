/*
 * input/in_tail.c - the tail input: files and globs, followed through
 * rotation and truncation.
 *
 * DESIGN: one inotify watch on the glob's directory (IN_CREATE,
 * IN_MOVED_FROM/TO, IN_DELETE, IN_MODIFY of the files in it, and
 * IN_DELETE_SELF/IN_MOVE_SELF of the directory) plus a rescan every
 * poll_interval, which also covers a directory that appears later and a
 * lost event (IN_Q_OVERFLOW). A rescan globs the pattern and compares
 * each path's identity (st_dev, st_ino) with the file open for it:
 *
 * - a new path: opened at its checkpoint position when the checkpoint
 *   knows this identity, else at 0 — or, for files already there at
 *   start, at the end when read_from is tail;
 * - a path whose identity changed: the old file was rotated (renamed
 *   away, a new one created). Its fd is read to EOF and, after
 *   rotate_wait without new data, closed; its position moves to the
 *   checkpoint name "rotated:K:PATH", so a restart in between finds it
 *   again by its inode in the same directory. The new file is read from 0;
 * - a file shorter than the read position was truncated (copytruncate):
 *   reading restarts at 0, counted;
 * - a path that disappeared: renamed away (rotation pending, handled as
 *   above) or deleted (read to EOF, then forgotten).
 *
 * A partial last line waits for its newline (the pipeline keeps it); only
 * a rotated or deleted file's last partial line becomes a record when the
 * file is closed. Positions move to the checkpoint only as the outputs
 * acknowledge (pipeline.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline.h"
#include <store/archive.h> /* arch_hash(): the checkpoint's fingerprint */
#include "util/metrics.h"
#include "util/util.h"
#include "util/banned.h"

struct tail_file {
	struct tail_file *next; /* list of open files */
	char *path;		/* where it was found (its live name) */
	int fd;			/* open read-only */
	struct pl_source *src;	/* the pipeline's source */
	uint64_t dev, ino;	/* identity */
	bool rotated;		/* no longer at path: drain, then close */
	bool deleted;		/* unlinked: drain, then close and forget */
	int64_t last_data_ns;	/* last read that returned data (or when rotated) */
	bool seen;		/* matched by the current rescan */
};

struct tail_state {
	struct pipeline *pl;	 /* the pipeline */
	unsigned idx;		 /* input index */
	const char *path;	 /* the file or glob (the configuration's) */
	bool from_tail;		 /* read_from: tail */
	bool follow_symlinks;	 /* follow_symlinks: open files the glob matches through a symlink */
	char dir[PATH_MAX];	 /* directory of the pattern (watched) */
	int ifd;		 /* inotify fd */
	int wd;			 /* watch on dir; -1 when not watching */
	bool rescan;		 /* a structural event: glob again */
	bool readable;		 /* something may have been written */
	bool started;		 /* the first scan is done (read_from applies before) */
	int64_t next_poll;	 /* monotonic ns of the next rescan */
	struct tail_file *files; /* open files */
	unsigned nfiles;	 /* entries in files */

	/* symlinks the glob matched and the last scan left out (follow_symlinks: false) */
	unsigned links_skipped;
	uint64_t links_skipped_total; /* summed over scans that found more than the one before */
};

static void tail_watch_dir(struct tail_state *st)
{
	if (st->wd >= 0)
		return;
	st->wd = inotify_add_watch(st->ifd, st->dir,
				   IN_MODIFY | IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE |
					   IN_DELETE_SELF | IN_MOVE_SELF | IN_CLOSE_WRITE | IN_ATTRIB);
}

static void on_inotify(void *arg)
{
	struct tail_state *st = arg;
	char buf[16 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(st->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)(void *)p;

			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
				st->wd = -1; /* the directory went: re-added by the next rescan */
				st->rescan = true;
			}
			if (ev->mask &
			    (IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | IN_Q_OVERFLOW | IN_ATTRIB))
				st->rescan = true;
			st->readable = true;
			p += sizeof(*ev) + ev->len;
		}
	}
}

/* The path of the file with identity @dev/@ino in @dir, into @out. */
static bool find_by_inode(const char *dir, uint64_t dev, uint64_t ino, char *out, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while (!found && (e = readdir(d)) != NULL) {
		struct stat sb;
		if (e->d_ino != ino || fstatat(dirfd(d), e->d_name, &sb, 0) < 0)
			continue;
		if (S_ISREG(sb.st_mode) && (uint64_t)sb.st_dev == dev && (uint64_t)sb.st_ino == ino) {
			snprintf(out, cap, "%s/%s", dir, e->d_name);
			found = true;
		}
	}
	closedir(d);
	return found;
}

static bool slot_used(const struct tail_state *st, const char *name)
{
	struct checkpoint_pos pos;

	for (const struct tail_file *f = st->files; f; f = f->next) {
		const char *c = pl_source_ckpt(f->src);
		if (c && strcmp(c, name) == 0)
			return true;
	}
	return pl_checkpoint_get(st->pl, name, &pos) == 0;
}

/* A free "rotated:K:PATH" name; false when all CD_TAIL_ROTATED_MAX are taken. */
static bool free_slot(const struct tail_state *st, const char *path, char *out, size_t cap)
{
	for (unsigned k = 1; k <= CD_TAIL_ROTATED_MAX; k++) {
		snprintf(out, cap, "rotated:%u:%s", k, path);
		if (!slot_used(st, out))
			return true;
	}
	return false;
}

/*
 * Open @path as a source named @ckpt at @offset. @was: the checkpoint
 * entry @offset came from (NULL when it did not): when its fingerprint
 * does not match the file's first bytes, the inode was recycled by a new
 * file, read from its start.
 */
static struct tail_file *add_file(struct tail_state *st, const char *path, const char *ckpt, uint64_t offset,
				  const struct checkpoint_pos *was, bool rotated)
{
	uint8_t prefix[CHECKPOINT_FP_MAX];
	struct tail_file *f;
	struct stat sb;
	ssize_t np;
	int fd;

	if (st->nfiles >= CD_TAIL_FILES_MAX) {
		cd_log(FMT_LEVEL_WARN, "tail: too many open files; left for later", "path", path, NULL);
		return NULL;
	}
	/* O_NOFOLLOW: a symlink swapped in after the scan is refused too */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (st->follow_symlinks ? 0 : O_NOFOLLOW));
	if (fd < 0) {
		cd_log(FMT_LEVEL_WARN, "tail: cannot open", "path", path, "error", strerror(errno), NULL);
		return NULL;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
		goto err_close;
	if ((uint64_t)sb.st_size < offset) {
		/* shorter than its position: truncated while we were away */
		pl_in_stats(st->pl, st->idx)->truncations++;
		cd_log(FMT_LEVEL_WARN, "tail: file shorter than its checkpoint: reading from the start",
		       "path", path, NULL);
		offset = 0;
	}
	np = pread(fd, prefix, sizeof(prefix), 0);
	if (np < 0)
		np = 0;
	if (was && was->fp_len && offset &&
	    ((size_t)np < was->fp_len || arch_hash(prefix, was->fp_len) != was->fp)) {
		cd_log(FMT_LEVEL_WARN, "tail: a new file on a recycled inode: reading from the start", "path",
		       path, NULL);
		offset = 0;
	}
	if (lseek(fd, (off_t)offset, SEEK_SET) < 0)
		goto err_close;
	f = calloc(1, sizeof(*f));
	if (!f)
		goto err_close;
	f->path = strdup(path);
	if (!f->path)
		goto err_free_f;
	f->src = pl_source_new(st->pl, st->idx, path, ckpt, (uint64_t)sb.st_dev, (uint64_t)sb.st_ino, offset);
	if (!f->src)
		goto err_free_path;
	pl_source_set_prefix(st->pl, f->src, prefix, (size_t)np);
	f->fd = fd;
	f->dev = (uint64_t)sb.st_dev;
	f->ino = (uint64_t)sb.st_ino;
	f->rotated = rotated;
	f->last_data_ns = cd_mono_ns();
	f->seen = true;
	f->next = st->files;
	st->files = f;
	st->nfiles++;
	cd_log(FMT_LEVEL_DEBUG, rotated ? "tail: draining rotated file" : "tail: following", "path", path,
	       NULL);
	return f;

err_free_path:
	free(f->path);
err_free_f:
	free(f);
err_close:
	close(fd);
	return NULL;
}

static void drop_file(struct tail_state *st, struct tail_file *f, bool end)
{
	struct tail_file **pp;

	for (pp = &st->files; *pp && *pp != f; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = f->next;
	st->nfiles--;
	if (end)
		pl_source_end(st->pl, f->src, true);
	close(f->fd);
	free(f->path);
	free(f);
}

/* Where a file without a checkpoint starts at startup with read_from: tail: after its last newline. */
static uint64_t tail_start(const char *path)
{
	char buf[4096];
	struct stat sb;
	uint64_t end;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (fstat(fd, &sb) < 0) {
		close(fd);
		return 0;
	}
	end = (uint64_t)sb.st_size;
	while (end > 0 && (uint64_t)sb.st_size - end < CD_LINE_MAX) {
		size_t want = end < sizeof(buf) ? (size_t)end : sizeof(buf);
		ssize_t n = pread(fd, buf, want, (off_t)(end - want));
		if (n <= 0)
			break;
		for (ssize_t i = n; i > 0; i--)
			if (buf[i - 1] == '\n') {
				close(fd);
				return end - want + (uint64_t)i;
			}
		end -= (uint64_t)n;
	}
	close(fd);
	return (uint64_t)sb.st_size;
}

static bool have_identity(const struct tail_state *st, uint64_t dev, uint64_t ino)
{
	for (const struct tail_file *f = st->files; f; f = f->next)
		if (f->dev == dev && f->ino == ino)
			return true;
	return false;
}

/* At the first scan: rotated files of @path left by an earlier run. */
static void resume_rotated(struct tail_state *st, const char *path)
{
	char name[CD_INPUT_NAME_MAX], found[PATH_MAX];
	struct checkpoint_pos pos;

	for (unsigned k = 1; k <= CD_TAIL_ROTATED_MAX; k++) {
		snprintf(name, sizeof(name), "rotated:%u:%s", k, path);
		if (pl_checkpoint_get(st->pl, name, &pos) < 0)
			continue;
		if (have_identity(st, pos.dev, pos.ino))
			continue;
		if (find_by_inode(st->dir, pos.dev, pos.ino, found, sizeof(found)) &&
		    add_file(st, found, name, pos.offset, &pos, true)) {
			cd_log(FMT_LEVEL_INFO, "tail: resuming a rotated file", "path", found, "was", path,
			       NULL);
			continue;
		}
		cd_log(FMT_LEVEL_WARN, "tail: rotated file gone before it was read to its end", "path", path,
		       NULL);
		pl_checkpoint_drop(st->pl, name);
	}
}

/* @f is no longer at its path: keep reading it under a rotated name. */
static void mark_rotated(struct tail_state *st, struct tail_file *f, bool deleted)
{
	char name[CD_INPUT_NAME_MAX];

	f->rotated = true;
	f->deleted = deleted;
	f->last_data_ns = cd_mono_ns();
	if (!deleted && free_slot(st, f->path, name, sizeof(name)))
		pl_source_rename(st->pl, f->src, name);
	pl_in_stats(st->pl, st->idx)->rotations += !deleted;
	cd_log(FMT_LEVEL_INFO, deleted ? "tail: file deleted: reading to its end" : "tail: file rotated",
	       "path", f->path, NULL);
}

/* A path matched by the glob, not open yet. */
static void open_new(struct tail_state *st, const char *path, const struct stat *sb)
{
	struct checkpoint_pos pos;
	const struct checkpoint_pos *was = NULL;
	uint64_t offset = 0;
	char found[PATH_MAX], name[CD_INPUT_NAME_MAX];

	if (!st->started)
		resume_rotated(st, path);
	if (pl_checkpoint_get(st->pl, path, &pos) == 0) {
		if (pos.dev == (uint64_t)sb->st_dev && pos.ino == (uint64_t)sb->st_ino) {
			offset = pos.offset;
			was = &pos;
		} else if (!have_identity(st, pos.dev, pos.ino) &&
			   find_by_inode(st->dir, pos.dev, pos.ino, found, sizeof(found))) {
			/* rotated while we were away: finish the old file, then the new one from 0 */
			if (free_slot(st, path, name, sizeof(name)) &&
			    add_file(st, found, name, pos.offset, &pos, true))
				pl_in_stats(st->pl, st->idx)->rotations++;
		}
	} else if (!st->started && st->from_tail) {
		offset = tail_start(path);
	}
	add_file(st, path, path, offset, was, false);
}

static void rescan(struct tail_state *st)
{
	unsigned links = 0;
	glob_t g;
	int rc;

	tail_watch_dir(st);
	for (struct tail_file *f = st->files; f; f = f->next)
		f->seen = f->rotated;
	rc = glob(st->path, GLOB_NOSORT, NULL, &g);
	for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++) {
		const char *path = g.gl_pathv[i];
		struct tail_file *live = NULL;
		struct stat sb;

		/* a symlink under the glob could name any file the daemon may read: not unless asked */
		if (!st->follow_symlinks && lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode)) {
			links++;
			continue;
		}
		if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
			continue;
		for (struct tail_file *f = st->files; f; f = f->next)
			if (!f->rotated && strcmp(f->path, path) == 0)
				live = f;
		if (live && live->dev == (uint64_t)sb.st_dev && live->ino == (uint64_t)sb.st_ino) {
			live->seen = true;
			continue;
		}
		if (live) {
			live->seen = true;
			mark_rotated(st, live, false);
		}
		open_new(st, path, &sb);
	}
	if (rc == 0)
		globfree(&g);
	if (links > st->links_skipped) {
		char n[16];

		snprintf(n, sizeof(n), "%u", links);
		cd_log(FMT_LEVEL_WARN, "tail: symlinks under the glob skipped (follow_symlinks: false)",
		       "path", st->path, "symlinks", n, NULL);
		st->links_skipped_total += links - st->links_skipped;
	}
	st->links_skipped = links;
	for (struct tail_file *f = st->files; f; f = f->next) {
		struct stat sb;
		if (f->seen)
			continue;
		/* the path is gone: renamed away (a new file may follow) or deleted */
		mark_rotated(st, f, fstat(f->fd, &sb) == 0 && sb.st_nlink == 0);
	}
	st->started = true;
}

/* Read what @f has; close it when drained after rotation. Returns true when more is waiting. */
static bool read_file(struct tail_state *st, struct tail_file *f, int64_t now)
{
	const struct cd_config *cf = pl_config(st->pl);
	struct stat sb;
	bool eof = false;
	long n;

	/* shorter than the position, or rewritten from its start and grown past it since we looked */
	if (fstat(f->fd, &sb) == 0 &&
	    ((uint64_t)sb.st_size < pl_source_offset(f->src) || !pl_source_same_prefix(f->src, f->fd))) {
		cd_log(FMT_LEVEL_INFO, "tail: file truncated: reading from the start", "path", f->path, NULL);
		pl_source_truncated(st->pl, f->src);
		if (lseek(f->fd, 0, SEEK_SET) < 0)
			return false;
	}
	n = pl_source_read(st->pl, f->src, f->fd, &eof);
	if (n < 0) {
		cd_log(FMT_LEVEL_ERROR, "tail: read failed", "path", f->path, "error", strerror((int)-n),
		       NULL);
		return false;
	}
	if (n > 0)
		f->last_data_ns = now;
	if (f->rotated && eof && now - f->last_data_ns >= (int64_t)cf->rotate_wait_ms * 1000000) {
		cd_log(FMT_LEVEL_DEBUG, "tail: rotated file done", "path", f->path, NULL);
		drop_file(st, f, true);
		return false;
	}
	return n >= (long)CD_READ_BURST;
}

static bool tail_tick(void *state, int64_t now)
{
	struct tail_state *st = state;
	bool more = false, any_rotated = false;

	if (now >= st->next_poll) {
		st->rescan = true;
		st->readable = true;
		st->next_poll = now + (int64_t)pl_config(st->pl)->poll_ms * 1000000;
	}
	for (struct tail_file *f = st->files; f; f = f->next)
		any_rotated |= f->rotated;
	if (!st->rescan && !st->readable && !any_rotated)
		return false;
	if (st->rescan) {
		st->rescan = false;
		rescan(st);
	}
	st->readable = false;
	for (struct tail_file *f = st->files, *next; f; f = next) {
		next = f->next;
		more |= read_file(st, f, now);
	}
	if (more)
		st->readable = true;
	return more;
}

static bool tail_done(void *state)
{
	(void)state;
	return false; /* a file may always grow */
}

static int tail_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_input_conf *ic,
		     struct cd_err *err)
{
	struct tail_state *st = calloc(1, sizeof(*st));
	const char *slash;
	int rc;

	if (!st)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	st->pl = pl;
	st->idx = idx;
	st->path = cd_opt_get(&ic->opts, "path");
	st->from_tail = strcmp(cd_opt_get(&ic->opts, "read_from"), "tail") == 0;
	if ((rc = cd_opt_bool(&ic->opts, "follow_symlinks", false, &st->follow_symlinks, err)) < 0)
		goto err_free;
	st->wd = -1;
	slash = strrchr(st->path, '/');
	if (!slash)
		cd_strlcpy(st->dir, ".", sizeof(st->dir));
	else if (slash == st->path)
		cd_strlcpy(st->dir, "/", sizeof(st->dir));
	else
		snprintf(st->dir, sizeof(st->dir), "%.*s", (int)(slash - st->path), st->path);
	if (strpbrk(st->dir, "*?["))
		cd_log(FMT_LEVEL_WARN, "tail: a glob in the directory part is polled, not watched", "path",
		       st->path, NULL);
	st->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (st->ifd < 0) {
		rc = cd_err_set(err, -CD_EIO, errno, "inotify_init1: %s", strerror(errno));
		goto err_free;
	}
	if ((rc = pl_watch_fd(pl, st->ifd, on_inotify, st)) < 0) {
		cd_err_set(err, rc, errno, "tail %s: cannot watch inotify", st->path);
		goto err_close;
	}
	rescan(st);
	st->next_poll = cd_mono_ns() + (int64_t)pl_config(pl)->poll_ms * 1000000;
	st->readable = true;
	*state = st;
	return 0;

err_close:
	close(st->ifd);
err_free:
	free(st);
	return rc;
}

static void tail_close(void *state)
{
	struct tail_state *st = state;

	if (!st)
		return;
	while (st->files) {
		struct tail_file *f = st->files;
		st->files = f->next;
		close(f->fd);
		free(f->path);
		free(f);
	}
	pl_unwatch_fd(st->pl, st->ifd);
	close(st->ifd);
	free(st);
}

static void tail_metrics(void *state, struct metrics *m, const char *label)
{
	const struct tail_state *st = state;

	metrics_add(m, "clewd_input_symlinks_skipped_total", METRICS_COUNTER,
		    "Symlinks a tail glob matched and left out (follow_symlinks: false)", label,
		    (double)st->links_skipped_total);
}

static const struct in_plugin in_tail = {
	.open = tail_open,
	.tick = tail_tick,
	.done = tail_done,
	.close = tail_close,
	.metrics = tail_metrics,
};

static const struct cd_opt_spec tail_opts[] = {
	{"path", CD_OPT_STRING, NULL, "the file, or a glob of files, to follow (required)", NULL, 0, 0},
	{"read_from", CD_OPT_ENUM, "head", "where a file without a checkpoint starts", "head|tail", 0, 0},
	{"follow_symlinks", CD_OPT_BOOL, "false", "read files the glob matches through a symlink", NULL, 0,
	 0},
	CD_OPT_REFUSE("listen", "listen and max_connections are for network inputs, not tail"),
	CD_OPT_REFUSE("max_connections", "listen and max_connections are for network inputs, not tail"),
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

/* path is required; read_from is head (the default) or tail, written back for --check-config. */
static int tail_check(struct cd_opts *o, struct cd_err *err)
{
	const char *path = cd_opt_get(o, "path");

	if (!path || !*path)
		return cd_opt_fail(o, NULL, "input tail needs path", err);
	if (!cd_opt_get(o, "read_from"))
		return cd_opt_set(o, "read_from", "head", err);
	return 0;
}

const struct cd_plugin_desc in_tail_desc = {
	.name = "tail",
	.usage = "tail:PATH_OR_GLOB",
	.summary = "follow files (rotation, truncation)",
	.opts = tail_opts,
	.check = tail_check,
	.in = &in_tail,
};
