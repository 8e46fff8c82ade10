/*
 * input/intake.c - what "received" means for the inputs that answer
 * their clients (http, forward, otlp): memory, or a write-ahead log
 * (see intake.h for the contract).
 *
 * DESIGN: the write-ahead log is a folder of segment files
 * (STATE_DIR/wal/NAME/0000000000000001.wal, ...), plain lines as the
 * input's clients sent them, each request ending with a newline. The
 * requests of one loop turn are appended with one write() and made
 * durable with one fdatasync() (group commit); only then are their
 * done() callbacks called and the clients answered. Every segment is
 * then read back as a source of the pipeline, the way a tailed file is:
 * its position moves in the checkpoint only as the outputs acknowledge
 * its records, so the at-least-once machinery of files (checkpoint,
 * spool, drain) covers the log too, and a kill -9 at any moment loses
 * nothing that was acknowledged. A segment is closed for writing at
 * CD_WAL_SEGMENT bytes (and at each start: a new run never appends to an
 * old segment); once it is read to its end its source ends, and when the
 * source's last record is acknowledged its checkpoint entry goes and the
 * file is deleted.
 *
 * On start, the segments left by the previous run are read again from
 * their checkpoint positions; a segment without an entry is read from its
 * start (the entry of a new segment may not have been saved before the
 * crash; a segment fully acknowledged whose file was not yet deleted is
 * then delivered twice: at least once, never less).
 *
 * The fsync runs on the loop thread: while it runs nothing else does,
 * which is what bounds a request's wait to one turn plus one fsync.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <store/buf.h>
#include <store/fileio.h>

#include "input/intake.h"
#include "pipeline.h"
#include "util/metrics.h"
#include "util/util.h"
#include "util/banned.h"

/* A segment is closed for writing past this many bytes (then a new one is started). */
#define CD_WAL_SEGMENT (32u << 20)

/* One request waiting for the next commit. */
struct waiter {
	intake_done_fn done; /* NULL: cancelled */
	void *arg;
};

/* One segment of the log, read back as a source. */
struct segment {
	struct segment *next;  /* in sequence order */
	uint64_t seq;	       /* its number (the file name) */
	int rfd;	       /* read side, at the source's read offset */
	struct pl_source *src; /* its source; NULL once ended */
	uint64_t size;	       /* bytes written (the log's size counts these) */
	bool sealed;	       /* no more writes: end the source at EOF */
	bool ended;	       /* source ended: delete the file once its entry leaves the checkpoint */
	char ckpt[PATH_MAX];   /* its checkpoint name: its path */
};

struct intake {
	struct pipeline *pl;
	unsigned idx;
	bool durable;
	uint64_t wal_max;	/* bytes of live segments at most */
	char *dir;		/* the log's folder */
	char *name;		/* the input's name: its records' src.input in durable mode */
	struct segment *segs;	/* live segments, oldest first; the last is written when !sealed */
	int wfd;		/* the segment being written; -1: none yet */
	uint64_t next_seq;	/* number of the next segment */
	uint64_t live_bytes;	/* bytes in live segments */
	struct buf pending;	/* submitted, not yet written */
	struct waiter *waiters; /* whose done() follows the next commit */
	size_t nwait, capwait;	/* used, allocated */
	bool failing;		/* the last write or fsync failed (logged once per episode) */

	/* counters */
	uint64_t requests, refused, fsyncs, committed, errors, deleted;
};

/* --- memory ------------------------------------------------------------ */

static int submit_memory(struct intake *in, const char *peer, const void *lines, size_t len)
{
	struct pl_source *src = pl_source_new(in->pl, in->idx, peer, NULL, 0, 0, 0);

	if (!src)
		return -CD_ENOMEM;
	pl_source_feed(in->pl, src, lines, len);
	pl_source_end(in->pl, src, false);
	return 0;
}

/* --- the log's segments ---------------------------------------------------- */

static void seg_path(const struct intake *in, uint64_t seq, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%016" PRIx64 ".wal", in->dir, seq);
}

/*
 * Start reading segment @seq (its file exists) from its checkpoint
 * position, or from 0. Return: 0 or a negative CD code (logged).
 */
static int seg_open_reader(struct intake *in, uint64_t seq, struct segment **out)
{
	struct segment *g = calloc(1, sizeof(*g));
	struct checkpoint_pos pos;
	uint64_t off = 0;
	struct stat st;

	if (!g)
		return -CD_ENOMEM;
	g->seq = seq;
	seg_path(in, seq, g->ckpt, sizeof(g->ckpt));
	g->rfd = open(g->ckpt, O_RDONLY | O_CLOEXEC);
	if (g->rfd < 0 || fstat(g->rfd, &st) < 0) {
		cd_log(FMT_LEVEL_ERROR, "cannot read a write-ahead log segment", "path", g->ckpt, "error",
		       strerror(errno), NULL);
		if (g->rfd >= 0)
			close(g->rfd);
		free(g);
		return -CD_EIO;
	}
	if (pl_checkpoint_get(in->pl, g->ckpt, &pos) == 0 && pos.dev == (uint64_t)st.st_dev &&
	    pos.ino == (uint64_t)st.st_ino && pos.offset <= (uint64_t)st.st_size)
		off = pos.offset;
	if (off && lseek(g->rfd, (off_t)off, SEEK_SET) < 0)
		off = 0;
	g->size = (uint64_t)st.st_size;
	g->src = pl_source_new(in->pl, in->idx, in->name, g->ckpt, (uint64_t)st.st_dev, (uint64_t)st.st_ino,
			       off);
	if (!g->src) {
		close(g->rfd);
		free(g);
		return -CD_ENOMEM;
	}
	*out = g;
	return 0;
}

static void seg_append(struct intake *in, struct segment *g)
{
	struct segment **pp = &in->segs;

	while (*pp)
		pp = &(*pp)->next;
	*pp = g;
	in->live_bytes += g->size;
}

/* Open a new segment for writing (the previous one sealed). Return: 0 or a negative CD code (logged). */
static int seg_new(struct intake *in)
{
	uint64_t seq = in->next_seq++;
	struct segment *g;
	char path[PATH_MAX];
	int fd, rc;

	seg_path(in, seq, path, sizeof(path));
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
	rc = seg_open_reader(in, seq, &g);
	if (rc < 0) {
		close(fd);
		unlink(path);
		return rc;
	}
	for (struct segment *s = in->segs; s; s = s->next)
		s->sealed = true;
	if (in->wfd >= 0)
		close(in->wfd);
	in->wfd = fd;
	seg_append(in, g);
	return 0;
}

/* The segments a previous run left, read again; the next segment numbered after them. */
static int seg_recover(struct intake *in)
{
	DIR *d = opendir(in->dir);
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
		if (seg_open_reader(in, seqs[i], &g) < 0)
			continue; /* logged; the file stays for a person to look at */
		g->sealed = true;
		seg_append(in, g);
		if (seqs[i] >= in->next_seq)
			in->next_seq = seqs[i] + 1;
	}
	if (n) {
		char c[24];
		snprintf(c, sizeof(c), "%zu", n);
		cd_log(FMT_LEVEL_INFO, "reading the write-ahead log again", "dir", in->dir, "segments", c,
		       NULL);
	}
	free(seqs);
	return rc;
}

/* Free segments whose records are all acknowledged (their checkpoint entry left): delete their files. */
static void seg_reap(struct intake *in)
{
	struct segment **pp = &in->segs;

	while (*pp) {
		struct segment *g = *pp;
		struct checkpoint_pos pos;
		if (!g->ended || pl_checkpoint_get(in->pl, g->ckpt, &pos) == 0) {
			pp = &g->next;
			continue;
		}
		if (unlink(g->ckpt) < 0 && errno != ENOENT)
			cd_log(FMT_LEVEL_WARN, "cannot delete an acknowledged write-ahead log segment",
			       "path", g->ckpt, "error", strerror(errno), NULL);
		in->deleted++;
		in->live_bytes -= g->size;
		*pp = g->next;
		free(g);
	}
}

/* Read every segment's new lines into the pipeline; end sealed segments read to their end. */
static bool seg_read(struct intake *in)
{
	bool more = false;

	for (struct segment *g = in->segs; g; g = g->next) {
		bool eof = false;
		long n;
		if (!g->src)
			continue;
		n = pl_source_read(in->pl, g->src, g->rfd, &eof);
		if (n < 0) {
			cd_log(FMT_LEVEL_ERROR, "cannot read a write-ahead log segment", "path", g->ckpt,
			       "error", strerror((int)-n), NULL);
			continue;
		}
		if (n > 0 && !eof)
			more = true;
		if (eof && g->sealed) {
			pl_source_end(in->pl, g->src, true);
			g->src = NULL;
			g->ended = true;
			close(g->rfd);
			g->rfd = -1;
		}
	}
	return more;
}

static struct segment *last_segment(struct intake *in)
{
	struct segment *g = in->segs;

	while (g && g->next)
		g = g->next;
	return g;
}

/* --- commit ------------------------------------------------------------------- */

static void call_waiters(struct intake *in, int status)
{
	/* a done() may submit again (a pipelined client): take the list first */
	struct waiter *w = in->waiters;
	size_t n = in->nwait;

	in->waiters = NULL;
	in->nwait = in->capwait = 0;
	for (size_t i = 0; i < n; i++)
		if (w[i].done)
			w[i].done(w[i].arg, status);
	free(w);
}

/* Write what is pending with one write and one fdatasync, then answer its requests. */
static void commit(struct intake *in)
{
	struct segment *last;
	int rc = 0;

	if (!in->pending.len && !in->nwait)
		return;
	if (in->wfd < 0 && (rc = seg_new(in)) < 0)
		goto out;
	if (fio_write_full(in->wfd, in->pending.p, in->pending.len) < 0 || fdatasync(in->wfd) < 0) {
		int e = errno;
		rc = -CD_EIO;
		/* what was written of it is read back (at least once); a new segment starts clean */
		if (!in->failing)
			cd_log(FMT_LEVEL_ERROR,
			       "cannot write the write-ahead log: requests are refused until it can", "dir",
			       in->dir, "error", strerror(e), NULL);
		in->failing = true;
		close(in->wfd);
		in->wfd = -1;
		for (struct segment *s = in->segs; s; s = s->next)
			s->sealed = true;
		goto out;
	}
	if (in->failing)
		cd_log(FMT_LEVEL_INFO, "the write-ahead log is written again", "dir", in->dir, NULL);
	in->failing = false;
	in->fsyncs++;
	in->committed += in->pending.len;
	last = last_segment(in); /* the one written: seg_new() appended it */
	last->size += in->pending.len;
	in->live_bytes += in->pending.len;
	if (last->size >= CD_WAL_SEGMENT) {
		close(in->wfd);
		in->wfd = -1;
		last->sealed = true;
	}
out:
	if (rc < 0)
		in->errors += in->nwait;
	in->pending.len = 0;
	call_waiters(in, rc);
}

/* --- the contract --------------------------------------------------------------- */

/* @name as a file name: bytes other than [A-Za-z0-9.-] become '_'. */
static void safe_name(const char *name, char *out, size_t cap)
{
	size_t i = 0;

	for (; name[i] && i + 1 < cap; i++) {
		char c = name[i];
		out[i] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '.' || c == '-')
				 ? c
				 : '_';
	}
	out[i] = '\0';
}

int intake_open(struct intake **out, struct pipeline *pl, unsigned idx, const struct cd_input_conf *ic,
		const char *name, struct cd_err *err)
{
	const struct cd_config *cf = pl_config(pl);
	struct intake *in = calloc(1, sizeof(*in));
	unsigned mode = 0;
	char safe[128];
	int rc;

	if (!in)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	in->pl = pl;
	in->idx = idx;
	in->wfd = -1;
	in->next_seq = 1;
	in->name = cd_strdup(name);
	if (!in->name) {
		free(in);
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	}
	if ((rc = cd_opt_enum(&ic->opts, "ack", "durable|memory", 0, &mode, err)) < 0 ||
	    (rc = cd_opt_size(&ic->opts, "wal_max", 256u << 20, &in->wal_max, err)) < 0) {
		intake_close(in);
		return rc;
	}
	in->durable = mode == 0;
	if (in->durable) {
		size_t dl = strlen(cf->state_dir) + sizeof("/wal/") + sizeof(safe);
		safe_name(name, safe, sizeof(safe));
		in->dir = malloc(dl);
		if (!in->dir) {
			intake_close(in);
			return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
		}
		snprintf(in->dir, dl, "%s/wal/%s", cf->state_dir, safe);
		if ((rc = cd_mkdir_p(in->dir, err)) < 0) {
			intake_close(in);
			return rc;
		}
		if ((rc = seg_recover(in)) < 0) {
			cd_err_set(err, rc, errno, "cannot read the write-ahead log %s", in->dir);
			intake_close(in);
			return rc;
		}
	}
	*out = in;
	return 0;
}

int intake_submit(struct intake *in, const char *peer, const void *lines, size_t len, intake_done_fn done,
		  void *arg)
{
	size_t need;
	bool nl;

	if (pl_backpressure(in->pl) || (in->durable && in->live_bytes + len > in->wal_max)) {
		in->refused++;
		return -CD_EAGAIN;
	}
	in->requests++;
	if (!in->durable) {
		int rc = submit_memory(in, peer, lines, len);
		if (rc == 0)
			done(arg, 0);
		return rc;
	}
	nl = len == 0 || ((const char *)lines)[len - 1] == '\n';
	need = in->pending.len + len + !nl;
	if (buf_reserve(&in->pending, need) < 0)
		return -CD_ENOMEM;
	if (in->nwait == in->capwait) {
		size_t cap = in->capwait ? in->capwait * 2 : 16;
		struct waiter *w = realloc(in->waiters, cap * sizeof(*w));
		if (!w)
			return -CD_ENOMEM;
		in->waiters = w;
		in->capwait = cap;
	}
	if (len)
		memcpy(in->pending.p + in->pending.len, lines, len);
	in->pending.len += len;
	if (!nl)
		in->pending.p[in->pending.len++] = '\n'; /* a request's last line joins no other request's */
	in->waiters[in->nwait++] = (struct waiter){done, arg};
	return 0;
}

void intake_cancel(struct intake *in, void *arg)
{
	for (size_t i = 0; i < in->nwait; i++)
		if (in->waiters[i].arg == arg)
			in->waiters[i].done = NULL;
}

bool intake_tick(struct intake *in, int64_t now_ns)
{
	(void)now_ns;
	if (!in->durable)
		return false;
	commit(in);
	seg_reap(in);
	return seg_read(in);
}

bool intake_waiting(const struct intake *in)
{
	return in->nwait != 0;
}

bool intake_durable(const struct intake *in)
{
	return in->durable;
}

void intake_metrics(struct intake *in, struct metrics *m, const char *label)
{
	static const struct {
		const char *family, *help;
		size_t off;
		enum metrics_type type;
	} series[] = {
		{"clewd_input_intake_requests_total", "Requests taken by an input (answered once safe)",
		 offsetof(struct intake, requests), METRICS_COUNTER},
		{"clewd_input_intake_refused_total",
		 "Requests refused by an input (backpressure, the write-ahead log full or failing)",
		 offsetof(struct intake, refused), METRICS_COUNTER},
		{"clewd_input_wal_fsyncs_total", "Group commits of an input's write-ahead log",
		 offsetof(struct intake, fsyncs), METRICS_COUNTER},
		{"clewd_input_wal_bytes_total", "Bytes committed to an input's write-ahead log",
		 offsetof(struct intake, committed), METRICS_COUNTER},
		{"clewd_input_wal_errors_total",
		 "Requests refused because the write-ahead log could not be written",
		 offsetof(struct intake, errors), METRICS_COUNTER},
		{"clewd_input_wal_live_bytes",
		 "Bytes in an input's write-ahead log not yet acknowledged by every output",
		 offsetof(struct intake, live_bytes), METRICS_GAUGE},
	};
	for (size_t i = 0; i < sizeof(series) / sizeof(series[0]); i++) {
		uint64_t v;
		if (!in->durable && i >= 2)
			break;
		memcpy(&v, (const char *)in + series[i].off, sizeof(v));
		metrics_add(m, series[i].family, series[i].type, series[i].help, label, (double)v);
	}
}

void intake_stop(struct intake *in)
{
	if (!in->durable)
		return;
	commit(in);
	while (seg_read(in))
		;
	/* positions kept (not forgotten): a restart reads on from them, nothing twice */
	for (struct segment *g = in->segs; g; g = g->next)
		if (g->src) {
			pl_source_end(in->pl, g->src, false);
			g->src = NULL;
		}
	seg_reap(in);
}

void intake_close(struct intake *in)
{
	if (!in)
		return;
	seg_reap(in); /* after the drain: what it acknowledged */
	/* what waits uncommitted is not answered: its clients send it again */
	while (in->segs) {
		struct segment *g = in->segs;
		in->segs = g->next;
		if (g->src)
			pl_source_abandon(in->pl, g->src); /* read again from its checkpoint position */
		if (g->rfd >= 0)
			close(g->rfd);
		free(g);
	}
	if (in->wfd >= 0)
		close(in->wfd);
	buf_release(&in->pending);
	free(in->waiters);
	free(in->dir);
	free(in->name);
	free(in);
}
