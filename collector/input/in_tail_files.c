/*
 * input/in_tail_files.c - the tail input's bookkeeping of many files: a
 * hash of live files by path (an inotify event names one file; a rescan
 * looks every path up), the read queue (files that may have data, read in
 * turn), and descriptors under max_open_files (files idle at EOF closed,
 * their position kept in their source, when another needs one).
 *
 * It decides nothing about rotation or positions (in_tail.c does).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "input/in_tail.h"
#include "pipeline.h"
#include "util/util.h"
#include "util/banned.h"

void in_tail_warn(struct tail_warn *w, const char *msg, const char *path, const char *error)
{
	int64_t now = cd_mono_ns();
	char n[24];

	w->n++;
	if (now < w->next_ns)
		return;
	snprintf(n, sizeof(n), "%llu", (unsigned long long)w->n);
	cd_log(FMT_LEVEL_WARN, msg, "path", path, "error", error, "times", n, NULL);
	w->n = 0;
	w->next_ns = now + (int64_t)CD_TAIL_WARN_INTERVAL_MS * 1000000;
}

/* --- live files by path, and the read queue -------------------------------- */

static size_t path_hash(const char *p)
{
	uint64_t h = 1469598103934665603ull;

	while (*p)
		h = (h ^ (unsigned char)*p++) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29));
}

struct tail_file *in_tail_ht_find(const struct tail_state *st, const char *path)
{
	if (!st->ht_cap)
		return NULL;
	for (struct tail_file *f = st->ht[path_hash(path) & (st->ht_cap - 1)]; f; f = f->hnext)
		if (strcmp(f->path, path) == 0)
			return f;
	return NULL;
}

void in_tail_ht_del(struct tail_state *st, struct tail_file *f)
{
	struct tail_file **pp;

	if (!f->hashed)
		return;
	for (pp = &st->ht[path_hash(f->path) & (st->ht_cap - 1)]; *pp && *pp != f; pp = &(*pp)->hnext)
		;
	if (*pp)
		*pp = f->hnext;
	f->hashed = false;
}

/* Return: false when out of memory (the file is still followed, found by a list walk never). */
bool in_tail_ht_add(struct tail_state *st, struct tail_file *f)
{
	if (st->nfiles >= st->ht_cap / 2) {
		size_t cap = st->ht_cap ? st->ht_cap * 2 : 256;
		struct tail_file **n = calloc(cap, sizeof(*n));

		if (!n)
			return false;
		for (size_t i = 0; i < st->ht_cap; i++)
			for (struct tail_file *g = st->ht[i], *next; g; g = next) {
				next = g->hnext;
				g->hnext = n[path_hash(g->path) & (cap - 1)];
				n[path_hash(g->path) & (cap - 1)] = g;
			}
		free(st->ht);
		st->ht = n;
		st->ht_cap = cap;
	}
	f->hnext = st->ht[path_hash(f->path) & (st->ht_cap - 1)];
	st->ht[path_hash(f->path) & (st->ht_cap - 1)] = f;
	f->hashed = true;
	return true;
}

void in_tail_q_push(struct tail_state *st, struct tail_file *f)
{
	if (f->queued)
		return;
	f->qnext = NULL;
	if (st->qtail)
		st->qtail->qnext = f;
	else
		st->qhead = f;
	st->qtail = f;
	f->queued = true;
	st->nqueued++;
}

struct tail_file *in_tail_q_pop(struct tail_state *st)
{
	struct tail_file *f = st->qhead;

	if (!f)
		return NULL;
	st->qhead = f->qnext;
	if (!st->qhead)
		st->qtail = NULL;
	f->queued = false;
	st->nqueued--;
	return f;
}

void in_tail_q_remove(struct tail_state *st, struct tail_file *f)
{
	struct tail_file *prev = NULL;

	if (!f->queued)
		return;
	for (struct tail_file *g = st->qhead; g; prev = g, g = g->qnext) {
		if (g != f)
			continue;
		if (prev)
			prev->qnext = f->qnext;
		else
			st->qhead = f->qnext;
		if (st->qtail == f)
			st->qtail = prev;
		break;
	}
	f->queued = false;
	st->nqueued--;
}

/* --- descriptors ---------------------------------------------------------- */

void in_tail_fd_close(struct tail_state *st, struct tail_file *f)
{
	if (f->fd < 0)
		return;
	close(f->fd);
	f->fd = -1;
	st->nopen--;
	/* reopened at pl_source_offset(): a partial line is read again then (oneshot keeps a
	 * file's last one at its end: it becomes a record when the input stops) */
	if (f->src)
		pl_source_park(st->pl, f->src, !st->oneshot || f->queued);
}

/*
 * Room for one more open file: below max_open, or after closing the files
 * idle at EOF (their position is kept), or, when every descriptor is busy,
 * the descriptor of a queued file (it takes its turn later). Rotated files
 * keep theirs: they cannot be found by their path again.
 */
void in_tail_park(struct tail_state *st, struct tail_file *f, bool reread)
{
	uint64_t before;

	if (!f->src)
		return;
	before = pl_source_offset(f->src);
	if (pl_source_park(st->pl, f->src, reread) && f->fd >= 0 && pl_source_offset(f->src) != before &&
	    lseek(f->fd, (off_t)pl_source_offset(f->src), SEEK_SET) < 0)
		in_tail_fd_close(st, f); /* reopened at its position on its turn */
}

bool in_tail_fd_reserve(struct tail_state *st)
{
	if (st->nopen < st->max_open)
		return true;
	for (struct tail_file *f = st->files; f; f = f->next)
		if (f->fd >= 0 && !f->rotated && !f->queued)
			in_tail_fd_close(st, f);
	if (st->nopen < st->max_open)
		return true;
	for (struct tail_file *f = st->qhead; f; f = f->qnext)
		if (f->fd >= 0 && !f->rotated) {
			in_tail_fd_close(st, f);
			return true;
		}
	return false;
}

/* open() of a file to follow; EMFILE/ENFILE lower max_open to what is open now. */
int in_tail_fd_open(struct tail_state *st, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (st->follow_symlinks ? 0 : O_NOFOLLOW));

	if (fd >= 0) {
		st->nopen++;
		return fd;
	}
	if ((errno == EMFILE || errno == ENFILE) && st->nopen > 0)
		st->max_open = st->nopen;
	if (errno != ENOENT)
		in_tail_warn(&st->w_open, "tail: cannot open", path, strerror(errno));
	return -1;
}

/* The path of the file with identity @dev/@ino in @dir, into @out. */
bool in_tail_find_by_inode(const char *dir, uint64_t dev, uint64_t ino, char *out, size_t cap)
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

/* Where a file without a checkpoint starts at startup with read_from: tail: after its last newline. */
uint64_t in_tail_start_offset(const char *path)
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

unsigned in_tail_fd_budget(unsigned want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return want;
	if (rl.rlim_cur <= 2 * CD_FD_RESERVE)
		return rl.rlim_cur > 8 ? (unsigned)rl.rlim_cur / 2 : 1;
	return rl.rlim_cur - CD_FD_RESERVE < want ? (unsigned)(rl.rlim_cur - CD_FD_RESERVE) : want;
}
