/*
 * input/wal.c - an input's write-ahead log: the segment files its
 * requests are committed to, the thread that commits them, and the
 * reading back of what was committed into the pipeline (see wal.h).
 *
 * DESIGN: a folder of segment files (STATE_DIR/wal/NAME/0000000000000001.wal,
 * ...), plain lines as the clients sent them. One commit is one write()
 * and one fdatasync() of everything submitted since the last one (group
 * commit), done by a thread of the log's own so that the loop goes on
 * parsing, delivering and taking the next requests while the disk
 * syncs; the thread touches nothing but the segment's fd and the bytes
 * handed to it, and says it is done through an eventfd the loop watches.
 *
 * Every segment is read back as a source of the pipeline, the way a
 * tailed file is: its position moves in the checkpoint only as the
 * outputs acknowledge its records, so the at-least-once machinery of
 * files (checkpoint, spool, drain) covers the log too. A segment is
 * closed for writing at WAL_SEGMENT bytes (and at each start: a run never
 * appends to an old segment); once read to its end its source ends, and
 * when its last record is acknowledged its checkpoint entry goes and the
 * file is deleted.
 *
 * On start, the segments a previous run left are read again from their
 * checkpoint positions; a segment without an entry is read from its start
 * (a new segment's entry may not have been saved before a crash; a
 * segment fully acknowledged whose file was not yet deleted is then
 * delivered twice: at least once, never less).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <store/fileio.h>

#include "input/wal.h"
#include "pipeline.h"
#include "util/util.h"
#include "util/banned.h"

/* A segment is closed for writing past this many bytes (then a new one is started). */
#define WAL_SEGMENT (32u << 20)

/* One segment of the log, read back as a source. */
struct segment {
	struct segment *next;  /* in sequence order */
	uint64_t seq;	       /* its number (the file name) */
	int rfd;	       /* read side, at the source's read offset */
	struct pl_source *src; /* its source; NULL once ended */
	uint64_t size;	       /* bytes committed (the log's size counts these) */
	bool sealed;	       /* no more writes: end the source at EOF */
	bool ended;	       /* source ended: delete the file once its entry leaves the checkpoint */
	char ckpt[PATH_MAX];   /* its checkpoint name: its path */
};

/* The committer thread and the one commit it may have in flight. */
struct committer {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* a job was given, or one finished, or quit */
	int efd;	   /* eventfd: a job finished (wakes the loop) */
	bool quit;	   /* close: the thread ends */
	bool busy;	   /* a job was given and not yet taken back by the loop */
	bool finished;	   /* the thread is done with it */
	int fd;		   /* the job: write data to fd, fdatasync it */
	struct buf data;   /* its bytes */
	int err;	   /* errno of its failure; 0: durable */
};

struct wal {
	struct pipeline *pl;
	unsigned idx;
	char *dir;	      /* the log's folder */
	char *name;	      /* its records' src.input */
	struct segment *segs; /* live segments, oldest first; the last is written when !sealed */
	int wfd;	      /* the segment being written; -1: none yet */
	uint64_t next_seq;    /* number of the next segment */
	bool failing;	      /* the last commit failed (logged once per episode) */
	struct committer c;   /* the thread */
	bool watching;	      /* c.efd is in the loop's set */
	void (*committed)(void *arg, int status); /* a commit finished */
	void *committed_arg;
	bool started; /* the thread runs: wal_close() joins it */
	struct wal_stats stats;
};

/* --- the log's segments ---------------------------------------------------- */

static void seg_path(const struct wal *w, uint64_t seq, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%016" PRIx64 ".wal", w->dir, seq);
}

/*
 * Start reading segment @seq (its file exists) from its checkpoint
 * position, or from 0. Return: 0 or a negative CD code (logged).
 */
static int seg_open_reader(struct wal *w, uint64_t seq, struct segment **out)
{
	struct segment *g = calloc(1, sizeof(*g));
	struct checkpoint_pos pos;
	uint64_t off = 0;
	struct stat st;

	if (!g)
		return -CD_ENOMEM;
	g->seq = seq;
	seg_path(w, seq, g->ckpt, sizeof(g->ckpt));
	g->rfd = open(g->ckpt, O_RDONLY | O_CLOEXEC);
	if (g->rfd < 0 || fstat(g->rfd, &st) < 0) {
		cd_log(FMT_LEVEL_ERROR, "cannot read a write-ahead log segment", "path", g->ckpt, "error",
		       strerror(errno), NULL);
		if (g->rfd >= 0)
			close(g->rfd);
		free(g);
		return -CD_EIO;
	}
	if (pl_checkpoint_get(w->pl, g->ckpt, &pos) == 0 && pos.dev == (uint64_t)st.st_dev &&
	    pos.ino == (uint64_t)st.st_ino && pos.offset <= (uint64_t)st.st_size)
		off = pos.offset;
	if (off && lseek(g->rfd, (off_t)off, SEEK_SET) < 0)
		off = 0;
	g->size = (uint64_t)st.st_size;
	g->src =
		pl_source_new(w->pl, w->idx, w->name, g->ckpt, (uint64_t)st.st_dev, (uint64_t)st.st_ino, off);
	if (!g->src) {
		close(g->rfd);
		free(g);
		return -CD_ENOMEM;
	}
	*out = g;
	return 0;
}

static void seg_append(struct wal *w, struct segment *g)
{
	struct segment **pp = &w->segs;

	while (*pp)
		pp = &(*pp)->next;
	*pp = g;
	w->stats.live_bytes += g->size;
}

/* Open a new segment for writing (the previous one sealed). Return: 0 or a negative CD code (logged). */
static int seg_new(struct wal *w)
{
	uint64_t seq = w->next_seq++;
	struct segment *g;
	char path[PATH_MAX];
	int fd, rc;

	seg_path(w, seq, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		cd_log(FMT_LEVEL_ERROR, "cannot create a write-ahead log segment", "path", path, "error",
		       strerror(errno), NULL);
		return -CD_EIO;
	}
	/* the new name must survive a crash before anything in it is acknowledged */
	if (fio_sync_parent(path) < 0) {
		close(fd);
		unlink(path);
		return -CD_EIO;
	}
	rc = seg_open_reader(w, seq, &g);
	if (rc < 0) {
		close(fd);
		unlink(path);
		return rc;
	}
	for (struct segment *s = w->segs; s; s = s->next)
		s->sealed = true;
	if (w->wfd >= 0)
		close(w->wfd);
	w->wfd = fd;
	seg_append(w, g);
	return 0;
}

/* The segments a previous run left, read again; the next segment numbered after them. */
static int seg_recover(struct wal *w)
{
	DIR *d = opendir(w->dir);
	uint64_t *seqs = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	int rc = 0;

	if (!d)
		return -CD_EIO;
	while ((e = readdir(d))) {
		char *end;
		unsigned long long v;
		if (strlen(e->d_name) != 20 || strcmp(e->d_name + 16, ".wal") != 0)
			continue;
		errno = 0;
		v = strtoull(e->d_name, &end, 16);
		if (errno || end != e->d_name + 16)
			continue;
		if (n == cap) {
			uint64_t *p = realloc(seqs, (cap = cap ? cap * 2 : 16) * sizeof(*seqs));
			if (!p) {
				rc = -CD_ENOMEM;
				break;
			}
			seqs = p;
		}
		seqs[n++] = v;
	}
	closedir(d);
	/* oldest first: a few segments, insertion sort */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && seqs[j - 1] > seqs[j]; j--) {
			uint64_t t = seqs[j];
			seqs[j] = seqs[j - 1];
			seqs[j - 1] = t;
		}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct segment *g;
		if (seg_open_reader(w, seqs[i], &g) < 0)
			continue; /* logged; the file stays for a person to look at */
		g->sealed = true;
		seg_append(w, g);
		if (seqs[i] >= w->next_seq)
			w->next_seq = seqs[i] + 1;
	}
	if (n) {
		char c[24];
		snprintf(c, sizeof(c), "%zu", n);
		cd_log(FMT_LEVEL_INFO, "reading the write-ahead log again", "dir", w->dir, "segments", c,
		       NULL);
	}
	free(seqs);
	return rc;
}

/* Free segments whose records are all acknowledged (their checkpoint entry left): delete their files. */
static void seg_reap(struct wal *w)
{
	struct segment **pp = &w->segs;

	while (*pp) {
		struct segment *g = *pp;
		struct checkpoint_pos pos;
		if (!g->ended || pl_checkpoint_get(w->pl, g->ckpt, &pos) == 0) {
			pp = &g->next;
			continue;
		}
		if (unlink(g->ckpt) < 0 && errno != ENOENT)
			cd_log(FMT_LEVEL_WARN, "cannot delete an acknowledged write-ahead log segment",
			       "path", g->ckpt, "error", strerror(errno), NULL);
		w->stats.deleted++;
		w->stats.live_bytes -= g->size;
		*pp = g->next;
		free(g);
	}
}

/* Read every segment's new lines into the pipeline; end sealed segments read to their end. */
static bool seg_read(struct wal *w)
{
	bool more = false;

	for (struct segment *g = w->segs; g; g = g->next) {
		bool eof = false;
		long n;
		if (!g->src)
			continue;
		n = pl_source_read(w->pl, g->src, g->rfd, &eof);
		if (n < 0) {
			cd_log(FMT_LEVEL_ERROR, "cannot read a write-ahead log segment", "path", g->ckpt,
			       "error", strerror((int)-n), NULL);
			continue;
		}
		if (n > 0 && !eof)
			more = true;
		if (eof && g->sealed) {
			pl_source_end(w->pl, g->src, true);
			g->src = NULL;
			g->ended = true;
			close(g->rfd);
			g->rfd = -1;
		}
	}
	return more;
}

static struct segment *last_segment(struct wal *w)
{
	struct segment *g = w->segs;

	while (g && g->next)
		g = g->next;
	return g;
}

/* --- the committer thread ---------------------------------------------------- */

static void *committer_main(void *arg)
{
	struct committer *c = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		int fd, err = 0;
		while (!c->quit && !(c->busy && !c->finished))
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->quit)
			break;
		fd = c->fd;
		pthread_mutex_unlock(&c->mu);
		/* the job's bytes are the thread's until finished is set */
		if (fio_write_full(fd, c->data.p, c->data.len) < 0 || fdatasync(fd) < 0)
			err = errno ? errno : EIO;
		pthread_mutex_lock(&c->mu);
		c->err = err;
		c->finished = true;
		pthread_cond_broadcast(&c->cv);
		if (write(c->efd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow here; nothing to do */
		}
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

bool wal_busy(const struct wal *w)
{
	return w->c.busy;
}

int wal_commit_start(struct wal *w, struct buf *data)
{
	struct buf t;
	int rc;

	if (w->c.busy)
		return -CD_EAGAIN;
	if (w->wfd < 0 && (rc = seg_new(w)) < 0)
		return rc;
	pthread_mutex_lock(&w->c.mu);
	t = w->c.data; /* empty, its allocation reused */
	t.len = 0;
	w->c.data = *data;
	*data = t;
	w->c.fd = w->wfd;
	w->c.busy = true;
	w->c.finished = false;
	pthread_cond_broadcast(&w->c.cv);
	pthread_mutex_unlock(&w->c.mu);
	return 0;
}

/* Take back the finished job: account it. Return: 0 or -CD_EIO. */
static int take_job(struct wal *w)
{
	struct segment *last = last_segment(w); /* the one written: rotation waits for idle */
	size_t len = w->c.data.len;

	w->c.busy = w->c.finished = false;
	w->c.data.len = 0;
	if (w->c.err) {
		if (!w->failing)
			cd_log(FMT_LEVEL_ERROR, "cannot write the write-ahead log: requests are answered 507",
			       "dir", w->dir, "error", strerror(w->c.err), NULL);
		w->failing = true;
		/* what was written of it is read back (at least once); the next commit starts a new segment */
		close(w->wfd);
		w->wfd = -1;
		for (struct segment *s = w->segs; s; s = s->next)
			s->sealed = true;
		return -CD_EIO;
	}
	if (w->failing)
		cd_log(FMT_LEVEL_INFO, "the write-ahead log is written again", "dir", w->dir, NULL);
	w->failing = false;
	w->stats.fsyncs++;
	w->stats.committed += len;
	last->size += len;
	w->stats.live_bytes += len;
	if (last->size >= WAL_SEGMENT) {
		close(w->wfd);
		w->wfd = -1;
		last->sealed = true;
	}
	return 0;
}

/* Whether the commit in flight has finished: then it is taken back, *status 0 (durable) or -CD_EIO. */
static bool wal_commit_done(struct wal *w, int *status)
{
	bool fin;

	if (!w->c.busy)
		return false;
	pthread_mutex_lock(&w->c.mu);
	fin = w->c.finished;
	pthread_mutex_unlock(&w->c.mu);
	if (fin)
		*status = take_job(w);
	return fin;
}

/* The committer said it finished: take the job back and tell the intake (even under backpressure). */
static void on_commit_event(void *arg)
{
	struct wal *w = arg;
	uint64_t n;
	int status;

	if (read(w->c.efd, &n, sizeof(n)) < 0) {
		/* EAGAIN: already read */
	}
	if (wal_commit_done(w, &status))
		w->committed(w->committed_arg, status);
}

int wal_commit_wait(struct wal *w)
{
	if (!w->c.busy)
		return 0;
	pthread_mutex_lock(&w->c.mu);
	while (!w->c.finished)
		pthread_cond_wait(&w->c.cv, &w->c.mu);
	pthread_mutex_unlock(&w->c.mu);
	return take_job(w);
}

/* --- the log ------------------------------------------------------------------ */

/* @name as a file name: bytes other than [A-Za-z0-9.-] become '_'. */
static void safe_name(const char *name, char *out, size_t cap)
{
	size_t i = 0;

	for (; name[i] && i + 1 < cap; i++) {
		char ch = name[i];
		out[i] = ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			  ch == '.' || ch == '-')
				 ? ch
				 : '_';
	}
	out[i] = '\0';
}

int wal_open(struct wal **out, struct pipeline *pl, unsigned idx, const char *name,
	     void (*committed)(void *arg, int status), void *arg, struct cd_err *err)
{
	const struct cd_config *cf = pl_config(pl);
	struct wal *w = calloc(1, sizeof(*w));
	char safe[128];
	size_t dl;
	int rc;

	if (!w)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	w->pl = pl;
	w->idx = idx;
	w->wfd = -1;
	w->c.efd = -1;
	w->next_seq = 1;
	w->committed = committed;
	w->committed_arg = arg;
	safe_name(name, safe, sizeof(safe));
	dl = strlen(cf->state_dir) + sizeof("/wal/") + sizeof(safe);
	w->name = cd_strdup(name);
	w->dir = malloc(dl);
	if (!w->name || !w->dir) {
		wal_close(w);
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	}
	snprintf(w->dir, dl, "%s/wal/%s", cf->state_dir, safe);
	if ((rc = cd_mkdir_p(w->dir, err)) < 0) {
		wal_close(w);
		return rc;
	}
	if ((rc = seg_recover(w)) < 0) {
		cd_err_set(err, rc, errno, "cannot read the write-ahead log %s", w->dir);
		wal_close(w);
		return rc;
	}
	pthread_mutex_init(&w->c.mu, NULL);
	pthread_cond_init(&w->c.cv, NULL);
	w->c.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->c.efd < 0 || pl_watch_fd(pl, w->c.efd, on_commit_event, w) < 0) {
		cd_err_set(err, -CD_EIO, errno, "cannot watch the write-ahead log's eventfd");
		wal_close(w);
		return -CD_EIO;
	}
	w->watching = true;
	if (pthread_create(&w->c.th, NULL, committer_main, &w->c) != 0) {
		cd_err_set(err, -CD_EIO, errno, "cannot start the write-ahead log's thread");
		wal_close(w);
		return -CD_EIO;
	}
	w->started = true;
	*out = w;
	return 0;
}

bool wal_read(struct wal *w)
{
	seg_reap(w);
	return seg_read(w);
}

void wal_stop(struct wal *w)
{
	while (seg_read(w))
		;
	/* positions kept (not forgotten): a restart reads on from them, nothing twice */
	for (struct segment *g = w->segs; g; g = g->next)
		if (g->src) {
			pl_source_end(w->pl, g->src, false);
			g->src = NULL;
		}
	seg_reap(w);
}

const struct wal_stats *wal_stats(const struct wal *w)
{
	return &w->stats;
}

void wal_close(struct wal *w)
{
	if (!w)
		return;
	if (w->started) {
		wal_commit_wait(w); /* a commit in flight ends first: its bytes are then whole or failed */
		pthread_mutex_lock(&w->c.mu);
		w->c.quit = true;
		pthread_cond_broadcast(&w->c.cv);
		pthread_mutex_unlock(&w->c.mu);
		pthread_join(w->c.th, NULL);
	}
	if (w->watching)
		pl_unwatch_fd(w->pl, w->c.efd);
	if (w->c.efd >= 0) {
		pthread_mutex_destroy(&w->c.mu);
		pthread_cond_destroy(&w->c.cv);
		close(w->c.efd);
	}
	seg_reap(w); /* after the drain: what it acknowledged */
	while (w->segs) {
		struct segment *g = w->segs;
		w->segs = g->next;
		if (g->src)
			pl_source_abandon(w->pl, g->src); /* read again from its checkpoint position */
		if (g->rfd >= 0)
			close(g->rfd);
		free(g);
	}
	if (w->wfd >= 0)
		close(w->wfd);
	buf_release(&w->c.data);
	free(w->dir);
	free(w->name);
	free(w);
}
