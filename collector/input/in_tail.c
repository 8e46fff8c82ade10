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
 * Any number of files: a path found by a scan is queued and opened on its
 * turn; a write (inotify names the file) or a scan that sees its size
 * differ from its position queues it again. Each turn reads queued files
 * round-robin, CD_READ_BURST each and CD_TAIL_TURN_BYTES in all, a file
 * with more going to the back. At most max_open_files are open: past it a
 * file idle at EOF is closed (its source, and so its position, stays; its
 * read buffer is parked) and opened again when it changes, checked to be
 * the same file (inode and first bytes) — a closed file replaced at its
 * path is looked for by inode (rotated) or forgotten (deleted). The
 * bookkeeping is in_tail_files.c.
 *
 * oneshot: every file is read to its end once (nothing queued, nothing
 * rotated left), then the input is done; on the drain each file's partial
 * last line becomes a record and its position stays in the checkpoint, so
 * a second run reads only what was added.
 *
 * A partial last line waits for its newline (the pipeline keeps it); only
 * a rotated or deleted file's last partial line becomes a record when the
 * file is closed. Positions move to the checkpoint only as the outputs
 * acknowledge (pipeline.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "input/in_tail.h"
#include "pipeline.h"
#include <store/archive.h> /* arch_hash(): the checkpoint's fingerprint */
#include "util/metrics.h"
#include "util/util.h"
#include "util/banned.h"

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
	char path[PATH_MAX];
	ssize_t n;

	while ((n = read(st->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)(void *)p;
			struct tail_file *f;

			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
				st->wd = -1; /* the directory went: re-added by the next rescan */
				st->rescan = true;
			}
			if (ev->mask &
			    (IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | IN_Q_OVERFLOW | IN_ATTRIB))
				st->rescan = true;
			/* a write to one file queues that file only: thousands may be followed */
			if (ev->len && (ev->mask & (IN_MODIFY | IN_CLOSE_WRITE))) {
				int pn = snprintf(path, sizeof(path), "%s/%s",
						  strcmp(st->dir, "/") ? st->dir : "", ev->name);
				/* glob() names "x.log" for a pattern without a directory, not "./x.log" */
				bool bare = strncmp(path, "./", 2) == 0 && strncmp(st->path, "./", 2) != 0;

				f = pn > 0 && (size_t)pn < sizeof(path)
					    ? in_tail_ht_find(st, bare ? path + 2 : path)
					    : NULL;
				if (f)
					in_tail_q_push(st, f);
			}
			p += sizeof(*ev) + ev->len;
		}
	}
}

static bool slot_used(const struct tail_state *st, const char *name)
{
	struct checkpoint_pos pos;

	/* only rotated files have such names: thousands of files deleted at once stay linear */
	for (const struct tail_file *f = st->nrotated ? st->files : NULL; f; f = f->next) {
		const char *c = f->rotated && f->src ? pl_source_ckpt(f->src) : NULL;
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

/* A new entry for @path (identity @dev/@ino), not open yet; NULL at the cap or out of memory. */
static struct tail_file *file_new(struct tail_state *st, const char *path, uint64_t dev, uint64_t ino)
{
	struct tail_file *f;

	if (st->nfiles >= CD_TAIL_FILES_MAX) {
		in_tail_warn(&st->w_full, "tail: too many files under the glob; left for later", path,
			     "CD_TAIL_FILES_MAX");
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f || !(f->path = strdup(path))) {
		free(f);
		cd_log(FMT_LEVEL_ERROR, "tail: out of memory", "path", path, NULL);
		return NULL;
	}
	f->fd = -1;
	f->dev = dev;
	f->ino = ino;
	f->seen = true;
	f->last_data_ns = cd_mono_ns();
	f->next = st->files;
	st->files = f;
	st->nfiles++;
	return f;
}

/* What became of a file no longer at its path (follow_rotated_away(), add_rotated()). */
enum follow {
	FOLLOWED,    /* found, and read on under a rotated name */
	FOLLOW_GONE, /* not in the directory any more */
	FOLLOW_WAIT, /* found, but no rotated name or descriptor is free yet: try again later */
};

static enum follow follow_rotated_away(struct tail_state *st, const char *path,
				       const struct checkpoint_pos *pos);

/*
 * The first open of @f, on @fd: its source named @ckpt at f->start. When
 * f->was's fingerprint does not match the file's first bytes, the inode
 * was recycled by a new file, read from its start. Return: false (fd
 * closed) when the source cannot be made.
 */
static bool attach(struct tail_state *st, struct tail_file *f, int fd, const char *ckpt)
{
	uint8_t prefix[CHECKPOINT_FP_MAX];
	const struct checkpoint_pos *was = f->has_was ? &f->was : NULL;
	uint64_t offset = f->start;
	struct stat sb;
	ssize_t np;

	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
		goto err_close;
	if ((uint64_t)sb.st_dev != f->dev || (uint64_t)sb.st_ino != f->ino) {
		/* another file at the path since the scan (it waited its turn): a new one, from its
		 * start; the one scanned was rotated away meanwhile, and its unread end is read where
		 * it went, as when it is rotated while clewd is down (first: the new file must not
		 * take the path's checkpoint entry while the old one's position is still only there) */
		uint64_t old_dev = f->dev, old_ino = f->ino;

		f->dev = (uint64_t)sb.st_dev; /* first: have_identity() must not take @f for the old file */
		f->ino = (uint64_t)sb.st_ino;
		if (was && !f->rotated && follow_rotated_away(st, f->path, was) == FOLLOW_WAIT) {
			f->dev = old_dev;
			f->ino = old_ino;
			goto err_close;
		}
		was = NULL;
		offset = 0;
	}
	if ((uint64_t)sb.st_size < offset) {
		/* shorter than its position: truncated while we were away */
		pl_in_stats(st->pl, st->idx)->truncations++;
		cd_log(FMT_LEVEL_WARN, "tail: file shorter than its checkpoint: reading from the start",
		       "path", f->path, NULL);
		offset = 0;
	}
	np = pread(fd, prefix, sizeof(prefix), 0);
	if (np < 0)
		np = 0;
	if (was && was->fp_len && offset &&
	    ((size_t)np < was->fp_len || arch_hash(prefix, was->fp_len) != was->fp)) {
		cd_log(FMT_LEVEL_WARN, "tail: a new file on a recycled inode: reading from the start", "path",
		       f->path, NULL);
		offset = 0;
	}
	if (lseek(fd, (off_t)offset, SEEK_SET) < 0)
		goto err_close;
	f->src = pl_source_new(st->pl, st->idx, f->path, ckpt, f->dev, f->ino, offset);
	if (!f->src)
		goto err_close;
	pl_source_set_prefix(st->pl, f->src, prefix, (size_t)np);
	f->fd = fd;
	cd_log(FMT_LEVEL_DEBUG, f->rotated ? "tail: draining rotated file" : "tail: following", "path",
	       f->path, NULL);
	return true;

err_close:
	close(fd);
	st->nopen--;
	return false;
}

/* A rotated file @path found by its inode, read from @pos under checkpoint name @name: opened now. */
static enum follow add_rotated(struct tail_state *st, const char *path, const char *name,
			       const struct checkpoint_pos *pos)
{
	struct tail_file *f;
	int fd;

	if (!in_tail_fd_reserve(st)) {
		in_tail_warn(&st->w_nofd, "tail: no free descriptor for a rotated file; it waits", path,
			     "max_open_files");
		return FOLLOW_WAIT;
	}
	if (!(f = file_new(st, path, pos->dev, pos->ino)))
		return FOLLOW_WAIT;
	f->rotated = true;
	st->nrotated++;
	f->start = pos->offset;
	f->was = *pos;
	f->has_was = true;
	fd = in_tail_fd_open(st, path);
	if (fd >= 0 && attach(st, f, fd, name))
		return FOLLOWED;
	/* unlinked at once: nothing was read */
	st->files = f->next;
	st->nfiles--;
	st->nrotated--;
	free(f->path);
	free(f);
	return FOLLOW_GONE;
}

/* Forget @f: its source (when it has one) ends; a closed one's name moves aside first. */
static void drop_file(struct tail_state *st, struct tail_file *f, bool forget)
{
	struct tail_file **pp;

	for (pp = &st->files; *pp && *pp != f; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = f->next;
	st->nfiles--;
	st->nrotated -= f->rotated;
	in_tail_ht_del(st, f);
	in_tail_q_remove(st, f);
	if (f->src) {
		char name[CD_INPUT_NAME_MAX];
		/* its late acknowledgements must not land on a new file that takes the path */
		if (!f->rotated && free_slot(st, f->path, name, sizeof(name)))
			pl_source_rename(st->pl, f->src, name);
		pl_source_end(st->pl, f->src, forget); /* its partial last line too: not parked first */
		f->src = NULL;
	}
	in_tail_fd_close(st, f);
	free(f->path);
	free(f);
}

static bool have_identity(const struct tail_state *st, uint64_t dev, uint64_t ino)
{
	for (const struct tail_file *f = st->files; f; f = f->next)
		if (f->dev == dev && f->ino == ino)
			return true;
	return false;
}

/* A free rotated name for @path into @name, else counted and logged: its new file must wait. */
static bool slot_for(struct tail_state *st, const char *path, char *name, size_t cap)
{
	if (free_slot(st, path, name, cap))
		return true;
	in_tail_warn(&st->w_slots, "tail: every rotated name of the path is taken; its new file waits", path,
		     "CD_TAIL_ROTATED_MAX");
	return false;
}

/*
 * The file that had checkpoint position @pos at @path is no longer there:
 * finish it where it went in the directory (found by its inode), as a
 * rotated file, unless it is followed already. FOLLOW_WAIT: found, but it
 * cannot be followed yet, and the new file at @path must not take the
 * path's checkpoint entry meanwhile (the old position would be lost).
 */
static enum follow follow_rotated_away(struct tail_state *st, const char *path,
				       const struct checkpoint_pos *pos)
{
	char found[PATH_MAX], name[CD_INPUT_NAME_MAX];
	enum follow r;

	if (have_identity(st, pos->dev, pos->ino))
		return FOLLOWED;
	/* twice: a readdir() racing the rename that moved it may miss both names */
	if (!in_tail_find_by_inode(st->dir, pos->dev, pos->ino, found, sizeof(found)) &&
	    !in_tail_find_by_inode(st->dir, pos->dev, pos->ino, found, sizeof(found))) {
		char off[24];

		/* clewd cannot tell whether anything was written past its position: it says where it was */
		snprintf(off, sizeof(off), "%" PRIu64, pos->offset);
		cd_log(FMT_LEVEL_WARN,
		       "tail: the file last read at this path is gone (deleted, or moved out of its directory): "
		       "anything written to it past the position read is lost",
		       "path", path, "position", off, NULL);
		return FOLLOW_GONE;
	}
	if (!slot_for(st, path, name, sizeof(name)))
		return FOLLOW_WAIT;
	r = add_rotated(st, found, name, pos);
	if (r == FOLLOWED) {
		pl_in_stats(st->pl, st->idx)->rotations++;
		cd_log(FMT_LEVEL_INFO, "tail: a file rotated while not followed: reading its end", "path",
		       found, "was", path, NULL);
	}
	return r;
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
		if (in_tail_find_by_inode(st->dir, pos.dev, pos.ino, found, sizeof(found))) {
			enum follow r = add_rotated(st, found, name, &pos);
			if (r == FOLLOWED)
				cd_log(FMT_LEVEL_INFO, "tail: resuming a rotated file", "path", found, "was",
				       path, NULL);
			if (r != FOLLOW_GONE)
				continue; /* FOLLOW_WAIT: its entry stays, for the next start */
		}
		cd_log(FMT_LEVEL_WARN, "tail: rotated file gone before it was read to its end", "path", path,
		       NULL);
		pl_checkpoint_drop(st->pl, name);
	}
}

/*
 * @f is no longer at its path: keep reading it under a rotated name.
 * Return: false when no rotated name is free: @f stays the path's live
 * file (read on from its descriptor) and the new file there waits, since
 * both positions cannot be kept under one name.
 */
static bool mark_rotated(struct tail_state *st, struct tail_file *f, bool deleted)
{
	char name[CD_INPUT_NAME_MAX];

	if (!deleted && !slot_for(st, f->path, name, sizeof(name)))
		return false;
	in_tail_ht_del(st, f);
	f->rotated = true;
	st->nrotated++;
	f->deleted = deleted;
	f->last_data_ns = cd_mono_ns();
	if (!deleted)
		pl_source_rename(st->pl, f->src, name);
	pl_in_stats(st->pl, st->idx)->rotations += !deleted;
	cd_log(FMT_LEVEL_INFO, deleted ? "tail: file deleted: reading to its end" : "tail: file rotated",
	       "path", f->path, NULL);
	return true;
}

/*
 * @f's path no longer names the file it read (@gone: no file is there).
 * An open one is drained; a closed one is looked for by its inode in the
 * directory (renamed by a rotation) and drained from its position, or,
 * not found, forgotten: it was deleted while idle at EOF. Return: false
 * when @f must stay the path's live file for now (mark_rotated()).
 */
static bool file_moved(struct tail_state *st, struct tail_file *f, bool gone)
{
	char found[PATH_MAX];
	struct stat sb;
	int fd;

	if (!f->src) {
		drop_file(st, f, false); /* never opened: nothing of it was read */
		return true;
	}
	if (f->fd >= 0)
		return mark_rotated(st, f, gone && fstat(f->fd, &sb) == 0 && sb.st_nlink == 0);
	if (in_tail_find_by_inode(st->dir, f->dev, f->ino, found, sizeof(found)) && in_tail_fd_reserve(st) &&
	    (fd = in_tail_fd_open(st, found)) >= 0) {
		if (fstat(fd, &sb) == 0 && (uint64_t)sb.st_ino == f->ino && (uint64_t)sb.st_dev == f->dev &&
		    pl_source_prefix_matches(f->src, fd) &&
		    lseek(fd, (off_t)pl_source_offset(f->src), SEEK_SET) >= 0) {
			f->fd = fd;
			st->reopens++;
			if (mark_rotated(st, f, false))
				return true;
			in_tail_fd_close(st, f); /* closed again, position kept: the next scan retries */
			return false;
		}
		close(fd);
		st->nopen--;
	}
	cd_log(FMT_LEVEL_INFO, "tail: file gone while idle at its end", "path", f->path, NULL);
	drop_file(st, f, true);
	return true;
}

/* A path matched by the glob, not followed yet: queued, opened on its turn. */
static void open_new(struct tail_state *st, const char *path, const struct stat *sb)
{
	struct checkpoint_pos pos;
	struct tail_file *f;
	bool has_was = false;
	uint64_t offset = 0;

	if (!st->started)
		resume_rotated(st, path);
	if (pl_checkpoint_get(st->pl, path, &pos) == 0) {
		if (pos.dev == (uint64_t)sb->st_dev && pos.ino == (uint64_t)sb->st_ino) {
			offset = pos.offset;
			has_was = true;
		} else if (follow_rotated_away(st, path, &pos) == FOLLOW_WAIT) {
			return; /* the next scan tries again; the new file waits */
		}
		/* else rotated while we were away: the old file is finished, the new one read from 0 */
	} else if (!st->started && st->from_tail) {
		offset = in_tail_start_offset(path);
	}
	if (!(f = file_new(st, path, (uint64_t)sb->st_dev, (uint64_t)sb->st_ino)))
		return;
	f->start = offset;
	f->was = pos;
	f->has_was = has_was;
	if (!in_tail_ht_add(st, f)) {
		drop_file(st, f, false);
		return;
	}
	in_tail_q_push(st, f);
}

/*
 * Open a live file for its turn: the first time, its source is made; later
 * (it was closed idle at EOF) at its position, when the path still names
 * the same file (inode and first bytes). Return: true when open; false
 * when it must wait for a descriptor (*wait) or is gone (handled).
 */
static bool open_live(struct tail_state *st, struct tail_file *f, bool *wait)
{
	struct stat sb;
	int fd;

	*wait = false;
	if (!in_tail_fd_reserve(st)) {
		*wait = true;
		in_tail_warn(&st->w_nofd, "tail: every descriptor is busy; files wait their turn", f->path,
			     "max_open_files");
		return false;
	}
	fd = in_tail_fd_open(st, f->path);
	if (fd < 0) {
		*wait = errno == EMFILE || errno == ENFILE;
		if (errno == ENOENT && f->src)
			file_moved(st, f, true);
		return false;
	}
	if (!f->src)
		return attach(st, f, fd, f->path);
	if (fstat(fd, &sb) == 0 && (uint64_t)sb.st_dev == f->dev && (uint64_t)sb.st_ino == f->ino &&
	    pl_source_prefix_matches(f->src, fd) &&
	    lseek(fd, (off_t)pl_source_offset(f->src), SEEK_SET) >= 0) {
		f->fd = fd;
		st->reopens++;
		return true;
	}
	close(fd);
	st->nopen--;
	st->rescan = true; /* the file now at the path is new: the next scan follows it */
	file_moved(st, f, false);
	return false;
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
		struct tail_file *live;
		struct stat sb;

		/* a symlink under the glob could name any file the daemon may read: not unless asked
		 * (one lstat for a regular file: this runs for every file at every poll) */
		if (lstat(path, &sb) < 0)
			continue;
		if (S_ISLNK(sb.st_mode) && !st->follow_symlinks) {
			links++;
			continue;
		}
		if ((S_ISLNK(sb.st_mode) && stat(path, &sb) < 0) || !S_ISREG(sb.st_mode))
			continue;
		live = in_tail_ht_find(st, path);
		if (live && live->dev == (uint64_t)sb.st_dev && live->ino == (uint64_t)sb.st_ino) {
			live->seen = true;
			/* grown or shrunk since it was read to its end (a lost or unwatched event): its turn */
			if (!live->src || (uint64_t)sb.st_size != live->size_at_eof)
				in_tail_q_push(st, live);
			continue;
		}
		if (live) {
			live->seen = true;
			if (!file_moved(st, live, false))
				continue; /* the old file keeps the path until a rotated name frees */
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
	for (struct tail_file *f = st->files, *next; f; f = next) {
		next = f->next;
		if (!f->seen)
			file_moved(st, f, true); /* renamed away (a new file may follow) or deleted */
	}
	st->started = true;
}

/*
 * A rotated file at its end is done after rotate_wait without new data:
 * counted from our last read that had some, or from its last write (@sb,
 * when known), so that a file resumed after a restart is not held open
 * for rotate_wait again (restarts closer than that would keep every
 * rotated file, and their rotated names, forever).
 */
static bool rotated_quiet(const struct tail_file *f, const struct stat *sb, int64_t now, uint64_t wait_ms)
{
	int64_t wait = (int64_t)wait_ms * 1000000;

	if (now - f->last_data_ns >= wait)
		return true;
	return sb && cd_real_ns() - ((int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec) >= wait;
}

/* Read what @f has (*eof: it is at its end); a rotated file drained is closed. Return: bytes, or -1 when dropped. */
static long read_file(struct tail_state *st, struct tail_file *f, int64_t now, bool *eof)
{
	const struct cd_config *cf = pl_config(st->pl);
	struct stat sb;
	bool have_sb = fstat(f->fd, &sb) == 0;
	long n;

	*eof = false;
	/* shorter than the position, or rewritten from its start and grown past it since we looked */
	if (have_sb &&
	    ((uint64_t)sb.st_size < pl_source_offset(f->src) || !pl_source_prefix_matches(f->src, f->fd))) {
		cd_log(FMT_LEVEL_INFO, "tail: file truncated: reading from the start", "path", f->path, NULL);
		pl_source_truncated(st->pl, f->src);
		if (lseek(f->fd, 0, SEEK_SET) < 0)
			return 0;
	}
	n = pl_source_read(st->pl, f->src, f->fd, eof);
	if (n < 0) {
		cd_log(FMT_LEVEL_ERROR, "tail: read failed", "path", f->path, "error", strerror((int)-n),
		       NULL);
		*eof = true;
		return 0;
	}
	if (n > 0)
		f->last_data_ns = now;
	if (f->rotated && *eof &&
	    (st->oneshot || rotated_quiet(f, have_sb ? &sb : NULL, now, cf->rotate_wait_ms))) {
		cd_log(FMT_LEVEL_DEBUG, "tail: rotated file done", "path", f->path, NULL);
		drop_file(st, f, true);
		return -1;
	}
	return n;
}

/*
 * One turn: rotated files drain; then queued files, round-robin, each at
 * most CD_READ_BURST, all of them at most CD_TAIL_TURN_BYTES, each at most
 * once. A file with more goes to the back of the queue.
 */
static bool tail_tick(void *state, int64_t now)
{
	struct tail_state *st = state;
	long budget = (long)CD_TAIL_TURN_BYTES;
	unsigned turns;
	bool more = false, eof;

	if (st->ended)
		return false;
	if (now >= st->next_poll) {
		st->rescan = true;
		st->next_poll = now + (int64_t)pl_config(st->pl)->poll_ms * 1000000;
	}
	if (st->rescan) {
		st->rescan = false;
		rescan(st);
	}
	if (st->nrotated)
		for (struct tail_file *f = st->files, *next; f; f = next) {
			next = f->next;
			long n = f->rotated ? read_file(st, f, now, &eof) : -1;

			if (n >= (long)CD_READ_BURST)
				more = true;
			if (n >= 0)
				in_tail_park(st, f, !eof || !st->oneshot);
		}
	for (turns = st->nqueued; turns && budget > 0; turns--) {
		struct tail_file *f = in_tail_q_pop(st);
		bool wait;
		long n;

		if (f->rotated)
			continue; /* read above */
		if (f->fd < 0 && !open_live(st, f, &wait)) {
			if (wait) {
				in_tail_q_push(st, f);
				break; /* a descriptor frees as files reach their end */
			}
			continue;
		}
		n = read_file(st, f, now, &eof);
		if (n < 0)
			continue;
		budget -= n;
		if (!eof) {
			in_tail_q_push(st, f);
			more = true;
		} else {
			f->size_at_eof = pl_source_offset(f->src); /* a partial last line included */
		}
		/* thousands of files wait: none keeps a read buffer meanwhile (oneshot keeps a last
		 * partial line, a record when the input stops) */
		in_tail_park(st, f, !eof || !st->oneshot);
	}
	return more || (st->nqueued && budget <= 0);
}

static bool tail_done(void *state)
{
	const struct tail_state *st = state;

	/* oneshot: every file read to its end once; else a file may always grow */
	return st->oneshot && st->started && st->nqueued == 0 && st->nrotated == 0;
}

/* oneshot, done: each file's last partial line becomes a record; its position stays in the checkpoint. */
static void tail_stop(void *state)
{
	struct tail_state *st = state;

	if (!tail_done(st))
		return;
	for (struct tail_file *f = st->files; f; f = f->next) {
		in_tail_fd_close(st, f);
		if (f->src)
			pl_source_end(st->pl, f->src, false);
		f->src = NULL;
	}
	st->ended = true;
}

static int tail_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_input_conf *ic,
		     struct cd_err *err)
{
	struct tail_state *st = calloc(1, sizeof(*st));
	const char *slash;
	uint64_t max_open;
	int rc;

	if (!st)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	st->pl = pl;
	st->idx = idx;
	st->path = cd_opt_get(&ic->opts, "path");
	st->from_tail = strcmp(cd_opt_get(&ic->opts, "read_from"), "tail") == 0;
	if ((rc = cd_opt_bool(&ic->opts, "follow_symlinks", false, &st->follow_symlinks, err)) < 0 ||
	    (rc = cd_opt_bool(&ic->opts, "oneshot", false, &st->oneshot, err)) < 0 ||
	    (rc = cd_opt_u64(&ic->opts, "max_open_files", CD_TAIL_OPEN_DEFAULT, 1048576, &max_open, err)) < 0)
		goto err_free;
	if (max_open == 0) {
		rc = cd_err_set(err, -CD_EINVAL, 0, "tail %s: max_open_files must be at least 1", st->path);
		goto err_free;
	}
	st->max_open = in_tail_fd_budget(max_open > UINT_MAX ? UINT_MAX : (unsigned)max_open);
	if (st->max_open < max_open) {
		char a[24], b[24];

		snprintf(a, sizeof(a), "%llu", (unsigned long long)max_open);
		snprintf(b, sizeof(b), "%u", st->max_open);
		cd_log(FMT_LEVEL_INFO, "tail: fewer open files than max_open_files (RLIMIT_NOFILE)", "path",
		       cd_opt_get(&ic->opts, "path"), "max_open_files", a, "open_at_most", b, NULL);
	}
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
		if (f->fd >= 0)
			close(f->fd);
		free(f->path);
		free(f);
	}
	free(st->ht);
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
	metrics_add(m, "clewd_input_files", METRICS_GAUGE,
		    "Files a tail input follows (open or closed at EOF)", label, (double)st->nfiles);
	metrics_add(m, "clewd_input_files_open", METRICS_GAUGE, "Files a tail input holds open", label,
		    (double)st->nopen);
	metrics_add(m, "clewd_input_files_waiting", METRICS_GAUGE,
		    "Files of a tail input queued for their turn to read", label, (double)st->nqueued);
	metrics_add(m, "clewd_input_file_reopens_total", METRICS_COUNTER,
		    "Files a tail input opened again after closing them at EOF", label, (double)st->reopens);
}

static const struct in_plugin in_tail = {
	.open = tail_open,
	.tick = tail_tick,
	.done = tail_done,
	.stop = tail_stop,
	.close = tail_close,
	.metrics = tail_metrics,
};

static const struct cd_opt_spec tail_opts[] = {
	{"path", CD_OPT_STRING, NULL, "the file, or a glob of files, to follow (required)", NULL, 0, 0},
	{"read_from", CD_OPT_ENUM, "head", "where a file without a checkpoint starts", "head|tail", 0, 0},
	{"follow_symlinks", CD_OPT_BOOL, "false", "read files the glob matches through a symlink", NULL, 0,
	 0},
	{"max_open_files", CD_OPT_UINT, "1024",
	 "files held open at once (1..1048576); the others wait closed at EOF, position kept", NULL, 1048576,
	 0},
	{"oneshot", CD_OPT_BOOL, "false",
	 "read every matched file to its end once, deliver, then the input is done", NULL, 0, 0},
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
