/*
 * pipeline.c - the event loop and the stages between inputs and outputs.
 *
 * DESIGN: one thread, one epoll set (the inputs' fds and a signalfd).
 * Each turn: the inputs read (unless backpressure holds them), every
 * complete line goes through the multiline join and the parser into the
 * current chunk, held records whose timeout passed are flushed, a chunk
 * that is full or old enough is sealed and queued, and each output is
 * given the queued chunks in order. An output's OUT_OK is its
 * acknowledgement: ack_done() moves each input's committed position over
 * the longest fully acknowledged prefix, and only then is the position
 * written to the checkpoint (checkpoint_save(), fsync'd). So a position
 * on disk never covers a record that some output has not made durable;
 * after a crash, records after it are read again (at-least-once).
 *
 * Ordering: records of one source enter chunks in read order and every
 * output receives chunks in sequence order. An output that says
 * OUT_RETRY keeps its place and is retried with backoff (0.1 s .. 30 s);
 * the others go on, and the chunk stays queued until all have it.
 *
 * Overflow: when CD_QUEUE_CHUNKS_MAX chunks are queued, the oldest are
 * written to the spool of each output that lacks them (one directory per
 * output under spool_dir, fsync'd files: for that output the chunk then
 * counts as acknowledged, so the checkpoint may pass it) and leave
 * memory. An output delivers its spool, oldest first, before anything in
 * memory; a spool left by an earlier run is delivered first after start.
 * When a spool is full (or there is none: a stdin job keeps no state) the
 * queue stays full and the inputs stop reading: nothing is dropped. On
 * SIGTERM an output in backoff spools at once, the others get drain_ms.
 *
 * Lines: a source's bytes are cut at '\n' in its own read buffer (no copy
 * for a line's assembly); a line longer than CD_LINE_MAX is cut into
 * pieces on UTF-8 boundaries, each its own record with the attribute
 * _split = the piece's number. A line no parser accepts becomes a raw
 * record (the line, the error, where it was read), counted, never dropped.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "chunk/ack.h"
#include "chunk/spool.h"
#include "fmt/detect.h"
#include "fmt/str.h"
#include "httpd.h"
#include "ops.h"
#include "parse/parse.h"
#include "util/metrics.h"
#include "pipeline.h"
#include "util/util.h"
#include "util/banned.h"

struct pl_watch {
	int fd;		       /* the watched fd */
	pl_fd_cb cb;	       /* called when readable */
	void *arg;	       /* passed to cb */
	struct pl_watch *next; /* list of watches */
};

struct pl_in {
	const struct in_plugin *p; /* the plugin */
	void *st;		   /* its state */
	struct pl_in_stats stats;  /* counters */
	enum cd_parser parser;	   /* its parser */
	struct parse_regex *rx;	   /* CD_PARSER_REGEX: its compiled regex (owned) */
	struct parse_regex *mls;   /* its multiline_start (owned); NULL: the pipe/JSON rule */
};

struct pl_out {
	const struct out_plugin *p;	   /* the plugin */
	void *st;			   /* its state */
	const struct cd_output_conf *conf; /* its configuration */
	int64_t retry_at;		   /* do not call flush() before this (monotonic ns) */
	uint64_t backoff_ms;		   /* current retry backoff; 0 after a success */
	uint64_t errors;		   /* failed flushes */
	uint64_t chunks;		   /* chunks acknowledged */
	uint64_t records;		   /* records in them */
	unsigned pending;		   /* chunks answered OUT_PENDING, outcome awaited */
	struct spool *spool;		   /* its overflow on disk; NULL: none (no state dir) */
	struct chunk *replay;		   /* the oldest spooled chunk, loaded for delivery */
	bool replay_sent;		   /* replay answered OUT_PENDING */
	bool spool_full_logged;		   /* "spool full" said once per episode */
	uint64_t spooled;		   /* chunks written to its spool */
	uint64_t replayed;		   /* spooled chunks delivered */
	int64_t failing_since;		   /* monotonic ns of the first failure in a row; 0: fine */
	char last_error[160];		   /* what the last failure said */
};

struct pl_qent {
	struct chunk *c;      /* sealed chunk */
	uint64_t acked;	      /* bit k: output k has it */
	uint64_t sent;	      /* bit k: output k answered OUT_PENDING, outcome awaited */
	struct pl_qent *next; /* next in sequence order */
};

struct pl_source {
	struct pl_source *next;	 /* list of live sources */
	uint32_t id;		 /* the ack tracker's input id (unique per source) */
	unsigned input;		 /* configured input index */
	char *display;		 /* name in records' src.input */
	char *ckpt;		 /* checkpoint name; NULL: no position kept */
	uint64_t dev, ino;	 /* identity of the file read */
	char *buf;		 /* read buffer, CD_READ_BUF bytes */
	size_t start, end;	 /* unconsumed bytes buf[start..end) */
	uint64_t off;		 /* input offset of buf[start] */
	uint32_t split_part;	 /* pieces of the current overlong line emitted */
	struct parse_ml ml;	 /* the held record */
	uint64_t marked_seq;	 /* last chunk seq counted in pending_chunks */
	bool marked;		 /* marked_seq is meaningful */
	uint32_t pending_chunks; /* chunks holding its records, not yet complete */
	bool ended;		 /* no more reads: free when pending_chunks reaches 0 */
	bool forget;		 /* drop its checkpoint entry when freed */
};

struct pipeline {
	const struct cd_config *cf;	   /* configuration (borrowed) */
	int epfd;			   /* epoll set */
	int sigfd;			   /* SIGTERM, SIGINT, SIGHUP */
	struct pl_watch *watches;	   /* registered fds */
	struct pl_in in[CD_INPUTS_MAX];	   /* inputs */
	unsigned nin;			   /* used */
	struct pl_out out[CD_OUTPUTS_MAX]; /* outputs */
	unsigned nout;			   /* used */
	uint64_t all_outputs;		   /* mask of every output bit */
	struct checkpoint *ckpt;	   /* positions; NULL when no input keeps any */
	bool ckpt_dirty;		   /* positions changed since the last save */
	struct ack_tracker *acks;	   /* acknowledged prefixes */
	struct chunk *cur;		   /* the chunk being filled */
	struct chunk *spare;		   /* a cleared chunk to reuse */
	uint64_t next_seq;		   /* sequence number of the next chunk */
	struct pl_qent *qhead, *qtail;	   /* sealed chunks in flight */
	size_t qn;			   /* entries in the queue */
	struct pl_source *sources;	   /* live sources */
	uint32_t next_id;		   /* id of the next source */
	int64_t now;			   /* monotonic ns at the start of this turn */
	bool stopping;			   /* SIGTERM/SIGINT seen, or pipeline_stop() */
	bool reload;			   /* SIGHUP seen: pipeline_run() returns PL_RELOAD */
	bool announced;			   /* "started" was logged */
	struct cd_httpd *ops;		   /* /health and /metrics; NULL when not configured */
	struct metrics *metrics;	   /* the exposition, rebuilt per scrape */
	bool failed;			   /* a fatal error: stop, acknowledge nothing more */
	struct cd_err ferr;		   /* what failed */
	struct fmt_record rec;		   /* scratch record (large: not on the stack) */
};

static void fatal(struct pipeline *pl, const char *what, int code)
{
	if (!pl->failed)
		cd_err_set(&pl->ferr, code < 0 ? code : -CD_EIO, 0, "%s", what);
	pl->failed = true;
}

/* --- sources ------------------------------------------------------------- */

const struct cd_config *pl_config(const struct pipeline *pl)
{
	return pl->cf;
}

struct pl_in_stats *pl_in_stats(struct pipeline *pl, unsigned idx)
{
	return &pl->in[idx].stats;
}

bool pl_backpressure(const struct pipeline *pl)
{
	return pl->qn >= CD_QUEUE_CHUNKS_MAX;
}

void pl_stats(const struct pipeline *pl, struct pl_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < pl->nin; i++) {
		out->records += pl->in[i].stats.records;
		out->unparsed += pl->in[i].stats.unparsed;
		out->bytes += pl->in[i].stats.bytes;
	}
	for (unsigned k = 0; k < pl->nout; k++) {
		out->out_errors += pl->out[k].errors;
		if (pl->out[k].spool)
			out->spool_bytes += spool_bytes(pl->out[k].spool);
	}
	out->queued = pl->qn;
}

int pl_checkpoint_get(const struct pipeline *pl, const char *name, struct checkpoint_pos *pos)
{
	if (!pl->ckpt)
		return -CD_ENOENT;
	return checkpoint_get(pl->ckpt, name, pos);
}

void pl_checkpoint_drop(struct pipeline *pl, const char *name)
{
	if (pl->ckpt && checkpoint_remove(pl->ckpt, name) == 0)
		pl->ckpt_dirty = true;
}

static void ckpt_set(struct pipeline *pl, const char *name, uint64_t dev, uint64_t ino, uint64_t off)
{
	struct checkpoint_pos pos = {.dev = dev, .ino = ino, .offset = off};
	int rc;

	if (!pl->ckpt || !name)
		return;
	rc = checkpoint_set(pl->ckpt, name, &pos);
	if (rc < 0) {
		cd_log(FMT_LEVEL_ERROR, "checkpoint: cannot keep a position", "input", name, "error",
		       cd_strerror(rc), NULL);
		fatal(pl, "checkpoint: cannot keep a position", rc);
		return;
	}
	pl->ckpt_dirty = true;
}

struct pl_source *pl_source_new(struct pipeline *pl, unsigned idx, const char *display, const char *ckpt,
				uint64_t dev, uint64_t ino, uint64_t offset)
{
	struct pl_source *s = calloc(1, sizeof(*s));

	if (!s)
		goto err;
	s->buf = malloc(CD_READ_BUF);
	if (!s->buf)
		goto err_free_s;
	s->display = cd_strdup(display);
	if (!s->display)
		goto err_free_buf;
	if (ckpt && !(s->ckpt = cd_strdup(ckpt)))
		goto err_free_display;
	parse_ml_init(&s->ml);
	s->id = pl->next_id++;
	s->input = idx;
	s->dev = dev;
	s->ino = ino;
	s->off = offset;
	s->next = pl->sources;
	pl->sources = s;
	ckpt_set(pl, s->ckpt, dev, ino, offset);
	return s;

err_free_display:
	free(s->display);
err_free_buf:
	free(s->buf);
err_free_s:
	free(s);
err:
	cd_log(FMT_LEVEL_ERROR, "out of memory opening a source", "input", display, NULL);
	return NULL;
}

uint64_t pl_source_offset(const struct pl_source *s)
{
	return s->off + (s->end - s->start);
}

const char *pl_source_ckpt(const struct pl_source *s)
{
	return s->ckpt;
}

int pl_source_rename(struct pipeline *pl, struct pl_source *s, const char *ckpt)
{
	struct checkpoint_pos pos;
	char *n = cd_strdup(ckpt);

	if (!n)
		return -CD_ENOMEM;
	if (pl->ckpt && s->ckpt && checkpoint_get(pl->ckpt, s->ckpt, &pos) == 0 && pos.dev == s->dev &&
	    pos.ino == s->ino) {
		ckpt_set(pl, n, pos.dev, pos.ino, pos.offset);
		checkpoint_remove(pl->ckpt, s->ckpt);
	}
	free(s->ckpt);
	s->ckpt = n;
	return 0;
}

static void source_free(struct pipeline *pl, struct pl_source *s)
{
	struct pl_source **pp;

	for (pp = &pl->sources; *pp && *pp != s; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = s->next;
	if (s->forget && s->ckpt && pl->ckpt) {
		struct checkpoint_pos pos;
		/* only our own entry: a new file may have taken the name meanwhile */
		if (checkpoint_get(pl->ckpt, s->ckpt, &pos) == 0 && pos.dev == s->dev && pos.ino == s->ino &&
		    checkpoint_remove(pl->ckpt, s->ckpt) == 0)
			pl->ckpt_dirty = true;
	}
	parse_ml_release(&s->ml);
	free(s->buf);
	free(s->display);
	free(s->ckpt);
	free(s);
}

static void maybe_free_source(struct pipeline *pl, struct pl_source *s)
{
	if (s->ended && s->pending_chunks == 0)
		source_free(pl, s);
}

static struct pl_source *find_source(struct pipeline *pl, uint32_t id)
{
	for (struct pl_source *s = pl->sources; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

/* --- chunks and delivery ------------------------------------------------------ */

static int seal(struct pipeline *pl)
{
	struct pl_qent *e;
	struct chunk *next;
	int rc;

	if (chunk_nrecords(pl->cur) == 0)
		return 0;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -CD_ENOMEM;
	if (pl->spare) {
		next = pl->spare;
		pl->spare = NULL;
		chunk_clear(next, pl->next_seq + 1, pl->now);
	} else if ((rc = chunk_new(&next, pl->next_seq + 1, pl->now)) < 0) {
		free(e);
		return rc;
	}
	if ((rc = ack_track(pl->acks, pl->cur)) < 0) {
		chunk_free(next);
		free(e);
		return rc;
	}
	e->c = pl->cur;
	if (pl->qtail)
		pl->qtail->next = e;
	else
		pl->qhead = e;
	pl->qtail = e;
	pl->qn++;
	pl->cur = next;
	pl->next_seq++;
	return 0;
}

static void append(struct pipeline *pl, struct pl_source *s, const struct fmt_record *r,
		   const struct record_src *src, uint64_t end_off)
{
	int rc;

	if (pl->failed)
		return;
	rc = chunk_append(pl->cur, r, src, s->id, end_off);
	if (rc == -CD_EFULL) {
		if ((rc = seal(pl)) < 0) {
			fatal(pl, "cannot seal a chunk", rc);
			return;
		}
		rc = chunk_append(pl->cur, r, src, s->id, end_off);
	}
	if (rc < 0) {
		/* never skip a record and go on: a later position would cover it */
		cd_log(FMT_LEVEL_ERROR, "cannot add a record to a chunk", "input", s->display, "error",
		       cd_strerror(rc), NULL);
		fatal(pl, "cannot add a record to a chunk", rc);
		return;
	}
	if (!s->marked || s->marked_seq != chunk_seq(pl->cur)) {
		s->marked = true;
		s->marked_seq = chunk_seq(pl->cur);
		s->pending_chunks++;
	}
}

/* The number @v as a NUMBER attribute appended to @r (replacing the last when full). */
static void add_num_attr(struct fmt_record *r, const char *key, char *tmp, size_t cap, uint64_t v)
{
	struct fmt_attr *a;
	int n = snprintf(tmp, cap, "%llu", (unsigned long long)v);

	if (r->nattrs < FMT_ATTRS_MAX) {
		a = &r->attrs[r->nattrs++];
	} else {
		a = &r->attrs[FMT_ATTRS_MAX - 1];
		r->flags |= FMT_F_ATTRS_TRUNCATED;
	}
	a->key = fmt_str_c(key);
	a->val = fmt_str_n(tmp, (size_t)n);
	a->type = FMT_T_NUMBER;
}

/* Parse one record's text and append it (as a raw record when no parser takes it). */
static void emit_record(struct pipeline *pl, struct pl_source *s, const char *text, size_t len,
			uint64_t start_off, uint64_t end_off, uint32_t split_part)
{
	struct pl_in_stats *st = &pl->in[s->input].stats;
	struct fmt_record *r = &pl->rec;
	struct fmt_err fe = {0, NULL};
	struct record_src src;
	char num[24];
	int rc;

	memset(&src, 0, sizeof(src));
	src.input = fmt_str_c(s->display);
	src.offset = start_off;
	rc = parse_line(pl->in[s->input].parser, pl->in[s->input].rx, text, len, r, &fe);
	st->records++;
	if (split_part) {
		st->split++;
		if (rc < 0) {
			/* a piece of a line is rarely a whole record: keep its text as the message */
			fmt_record_clear(r);
			r->message = fmt_str_n(text, len);
			src.error = fmt_str_c(fe.what ? fe.what : fmt_strerror(rc));
			src.err_offset = fe.offset;
		}
		add_num_attr(r, "_split", num, sizeof(num), split_part);
		append(pl, s, r, &src, end_off);
	} else if (rc < 0) {
		st->unparsed++;
		src.raw = true;
		src.line = fmt_str_n(text, len);
		src.error = fmt_str_c(fe.what ? fe.what : fmt_strerror(rc));
		src.err_offset = fe.offset;
		append(pl, s, NULL, &src, end_off);
	} else if (r->flags & FMT_F_ATTRS_TRUNCATED) {
		src.line = fmt_str_n(text, len); /* the attributes past the cap live on in the line */
		append(pl, s, r, &src, end_off);
	} else {
		append(pl, s, r, NULL, end_off);
	}
}

static void flush_held(struct pipeline *pl, struct pl_source *s)
{
	if (!s->ml.held)
		return;
	emit_record(pl, s, s->ml.buf, s->ml.len, s->ml.start_off, s->ml.end_off, 0);
	parse_ml_clear(&s->ml);
}

/* One complete line (without its '\n') at @off, the next line starting at @end_off. */
static void on_line(struct pipeline *pl, struct pl_source *s, const char *line, size_t len, uint64_t off,
		    uint64_t end_off)
{
	const int64_t deadline = pl->now + (int64_t)pl->cf->multiline_ms * 1000000;
	struct parse_regex *mls = pl->in[s->input].mls;
	bool start;

	if (s->split_part) {
		/* the last piece of an overlong line */
		emit_record(pl, s, line, len, off, end_off, ++s->split_part);
		s->split_part = 0;
		return;
	}
	if (!pl->cf->multiline && !mls) {
		emit_record(pl, s, line, len, off, end_off, 0);
		return;
	}
	if (parse_ml_joins(&s->ml, mls, line, len)) {
		parse_ml_append(&s->ml, line, len, end_off, deadline);
		return;
	}
	flush_held(pl, s);
	start = parse_ml_starts(mls, line, len);
	if (!start) {
		/* nothing above to join: a record of its own, nothing can join it */
		emit_record(pl, s, line, len, off, end_off, 0);
		return;
	}
	if (parse_ml_hold(&s->ml, line, len, true, off, end_off, deadline) < 0) {
		emit_record(pl, s, line, len, off, end_off, 0);
		return;
	}
}

/* Where to cut an overlong line: at most CD_LINE_MAX bytes, not inside a UTF-8 sequence. */
static size_t split_at(const char *p)
{
	size_t cut = CD_LINE_MAX;

	while (cut > CD_LINE_MAX - 3 && ((unsigned char)p[cut] & 0xC0) == 0x80)
		cut--;
	if (((unsigned char)p[cut] & 0xC0) == 0x80)
		cut = CD_LINE_MAX; /* not UTF-8 anyway */
	return cut;
}

static void process_buf(struct pipeline *pl, struct pl_source *s)
{
	for (;;) {
		char *p = s->buf + s->start;
		size_t avail = s->end - s->start;
		char *nl = memchr(p, '\n', avail);
		size_t len = nl ? (size_t)(nl - p) : avail;

		if (len > CD_LINE_MAX) {
			size_t cut = split_at(p);
			flush_held(pl, s);
			emit_record(pl, s, p, cut, s->off, s->off + cut, ++s->split_part);
			s->start += cut;
			s->off += cut;
			continue;
		}
		if (!nl)
			break;
		on_line(pl, s, p, len, s->off, s->off + len + 1);
		s->start += len + 1;
		s->off += len + 1;
	}
	if (s->start == s->end) {
		s->start = s->end = 0;
	} else if (s->end > CD_READ_BUF - CD_LINE_MAX) {
		memmove(s->buf, s->buf + s->start, s->end - s->start);
		s->end -= s->start;
		s->start = 0;
	}
}

long pl_source_read(struct pipeline *pl, struct pl_source *s, int fd, bool *eof)
{
	size_t total = 0;

	*eof = false;
	while (total < CD_READ_BURST && !pl->failed) {
		ssize_t n = read(fd, s->buf + s->end, CD_READ_BUF - s->end);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -errno;
		}
		if (n == 0) {
			*eof = true;
			break;
		}
		s->end += (size_t)n;
		total += (size_t)n;
		pl->in[s->input].stats.bytes += (uint64_t)n;
		process_buf(pl, s);
	}
	return (long)total;
}

void pl_source_feed(struct pipeline *pl, struct pl_source *s, const void *data, size_t len)
{
	const char *p = data;

	/* process_buf() leaves less than CD_LINE_MAX unconsumed: there is always room */
	while (len && !pl->failed) {
		size_t n = CD_READ_BUF - s->end < len ? CD_READ_BUF - s->end : len;

		memcpy(s->buf + s->end, p, n);
		s->end += n;
		p += n;
		len -= n;
		pl->in[s->input].stats.bytes += (uint64_t)n;
		process_buf(pl, s);
	}
}

/* The bytes after the last newline become a record of their own. */
static void flush_partial(struct pipeline *pl, struct pl_source *s)
{
	size_t n = s->end - s->start;

	if (n == 0)
		return;
	if (s->split_part) {
		emit_record(pl, s, s->buf + s->start, n, s->off, s->off + n, ++s->split_part);
		s->split_part = 0;
	} else {
		flush_held(pl, s);
		emit_record(pl, s, s->buf + s->start, n, s->off, s->off + n, 0);
	}
	s->off += n;
	s->start = s->end = 0;
}

void pl_source_truncated(struct pipeline *pl, struct pl_source *s)
{
	flush_partial(pl, s);
	flush_held(pl, s);
	s->off = 0;
	pl->in[s->input].stats.truncations++;
}

void pl_source_end(struct pipeline *pl, struct pl_source *s, bool forget)
{
	flush_partial(pl, s);
	flush_held(pl, s);
	s->ended = true;
	s->forget = forget;
	/* nothing more is read: the buffer goes now, not when the last chunk is acknowledged */
	free(s->buf);
	s->buf = NULL;
	maybe_free_source(pl, s);
}

void pl_source_abandon(struct pipeline *pl, struct pl_source *s)
{
	parse_ml_clear(&s->ml);
	s->start = s->end = 0;
	s->ended = true;
	maybe_free_source(pl, s);
}

/* Every output has chunk @c: move its sources' positions into the checkpoint. */
static void on_complete(struct pipeline *pl, const struct chunk *c)
{
	for (uint32_t i = 0; i < chunk_nsources(c); i++) {
		struct chunk_source cs = chunk_source(c, i);
		struct pl_source *s = find_source(pl, cs.input);
		uint64_t off;

		if (!s)
			continue;
		if (ack_position(pl->acks, s->id, &off))
			ckpt_set(pl, s->ckpt, s->dev, s->ino, off);
		if (s->pending_chunks)
			s->pending_chunks--;
		maybe_free_source(pl, s);
	}
}

/* Output @k has chunk @e: acknowledge it. */
static void out_acked(struct pipeline *pl, unsigned k, struct pl_qent *e)
{
	struct pl_out *o = &pl->out[k];

	e->acked |= 1ull << k;
	o->chunks++;
	o->records += chunk_nrecords(e->c);
	if (o->backoff_ms)
		cd_log(FMT_LEVEL_INFO, "output recovered", "output", o->conf->name, NULL);
	o->backoff_ms = 0;
	o->failing_since = 0;
	ack_done(pl->acks, chunk_seq(e->c), k, NULL);
}

/* Output @k could not take a chunk now: back off before giving it again. */
static void out_backoff(struct pipeline *pl, unsigned k, const char *why)
{
	struct pl_out *o = &pl->out[k];

	o->errors++;
	if (!o->backoff_ms)
		cd_log(FMT_LEVEL_WARN, "output not ready: retrying", "output", o->conf->name, "error", why,
		       NULL);
	o->backoff_ms = o->backoff_ms ? o->backoff_ms * 2 : 100;
	if (o->backoff_ms > 30000)
		o->backoff_ms = 30000;
	/* jitter of up to a quarter: outputs of many collectors do not retry in step */
	o->retry_at =
		pl->now + (int64_t)(o->backoff_ms - (uint64_t)rand() % (o->backoff_ms / 4 + 1)) * 1000000;
}

static void out_failed(struct pipeline *pl, unsigned k, const char *why)
{
	pl->out[k].errors++;
	cd_log(FMT_LEVEL_ERROR, "output failed", "output", pl->out[k].conf->name, "error", why, NULL);
	fatal(pl, why, -CD_EIO);
}

/* The outcome of the replayed spool chunk of output @k. */
static void replay_done(struct pipeline *pl, unsigned k, enum out_result r, const char *why)
{
	struct pl_out *o = &pl->out[k];
	struct cd_err err = {0, 0, ""};

	if (r == OUT_FAIL) {
		out_failed(pl, k, why ? why : "failed");
		return;
	}
	if (r != OUT_OK) {
		out_backoff(pl, k, why ? why : "retry");
		return;
	}
	if (spool_remove(o->spool, chunk_seq(o->replay), &err) < 0)
		cd_log(FMT_LEVEL_WARN, "spool: cannot remove a delivered chunk (it will be delivered again)",
		       "output", o->conf->name, "error", err.msg, NULL);
	o->replayed++;
	o->chunks++;
	o->records += chunk_nrecords(o->replay);
	o->backoff_ms = 0;
	o->failing_since = 0;
	chunk_free(o->replay);
	o->replay = NULL;
}

/*
 * Deliver output @k's spooled chunks, oldest first, one at a time.
 * Return: true when the spool is empty and nothing of it is in flight
 * (the output may go on with the chunks in memory, which are newer).
 */
static bool deliver_spool(struct pipeline *pl, unsigned k)
{
	struct pl_out *o = &pl->out[k];

	while (o->spool && !pl->failed) {
		struct cd_err err = {0, 0, ""};
		enum out_result r;
		int rc;

		if (o->replay && o->replay_sent)
			return false;
		if (!o->replay) {
			if (spool_count(o->spool) == 0)
				return true;
			rc = spool_load(o->spool, spool_seq_at(o->spool, 0), &o->replay, &err);
			if (rc == -CD_ECORRUPT) {
				cd_log(FMT_LEVEL_ERROR, "spool: a corrupt chunk file was moved to corrupt/",
				       "output", o->conf->name, "error", err.msg, NULL);
				continue;
			}
			if (rc < 0) {
				out_backoff(pl, k, err.msg);
				return false;
			}
		}
		r = o->p->flush(o->st, o->replay, &err);
		if (r == OUT_PENDING) {
			o->replay_sent = true;
			o->pending++;
			return false;
		}
		replay_done(pl, k, r, err.msg);
		if (r != OUT_OK)
			return false;
	}
	return !o->spool;
}

void pl_out_done(struct pipeline *pl, unsigned idx, uint64_t seq, enum out_result r, const char *why)
{
	struct pl_out *o = &pl->out[idx];

	if (o->replay && o->replay_sent && chunk_seq(o->replay) == seq) {
		o->replay_sent = false;
		o->pending--;
		replay_done(pl, idx, r, why);
		return;
	}
	for (struct pl_qent *e = pl->qhead; e; e = e->next) {
		if (chunk_seq(e->c) != seq || !(e->sent & (1ull << idx)))
			continue;
		e->sent &= ~(1ull << idx);
		o->pending--;
		if (r == OUT_OK)
			out_acked(pl, idx, e);
		else if (r == OUT_FAIL)
			out_failed(pl, idx, why ? why : "failed");
		else
			out_backoff(pl, idx, why ? why : "retry");
		return;
	}
}

/* Free the chunks at the head of the queue that every output has. */
static void reap(struct pipeline *pl)
{
	while (pl->qhead && pl->qhead->acked == pl->all_outputs) {
		struct pl_qent *e = pl->qhead;

		on_complete(pl, e->c);
		pl->qhead = e->next;
		if (!pl->qhead)
			pl->qtail = NULL;
		pl->qn--;
		if (!pl->spare)
			pl->spare = e->c;
		else
			chunk_free(e->c);
		free(e);
	}
}

static void deliver(struct pipeline *pl)
{
	for (unsigned k = 0; k < pl->nout && !pl->failed; k++) {
		struct pl_out *o = &pl->out[k];

		if (o->pending && o->p->poll)
			o->p->poll(o->st, pl->now);
		if (o->retry_at > pl->now)
			continue;
		/* what was spooled is older than anything in memory: it goes first */
		if (!deliver_spool(pl, k))
			continue;
		for (struct pl_qent *e = pl->qhead; e && !pl->failed; e = e->next) {
			struct cd_err err = {0, 0, ""};
			enum out_result r;

			if ((e->acked | e->sent) & (1ull << k))
				continue;
			r = o->p->flush(o->st, e->c, &err);
			if (r == OUT_OK) {
				out_acked(pl, k, e);
			} else if (r == OUT_PENDING) {
				e->sent |= 1ull << k;
				o->pending++;
			} else if (r == OUT_FAIL) {
				out_failed(pl, k, err.msg);
			} else {
				out_backoff(pl, k, err.msg);
				break;
			}
		}
	}
	reap(pl);
}

/*
 * Write chunk @e durably to output @k's spool; for that output it is then
 * as good as delivered (acknowledged: the checkpoint may pass it), and
 * the spool delivers it later. Return: whether it was spooled.
 */
static bool spool_one(struct pipeline *pl, struct pl_qent *e, unsigned k)
{
	struct pl_out *o = &pl->out[k];
	struct cd_err err = {0, 0, ""};
	int rc;

	if (!o->spool)
		return false;
	rc = spool_push(o->spool, e->c, &err);
	if (rc < 0) {
		if (!o->spool_full_logged)
			cd_log(FMT_LEVEL_WARN,
			       rc == -CD_EFULL ? "spool full: inputs paused (backpressure)"
					       : "spool: cannot write a chunk: inputs paused (backpressure)",
			       "output", o->conf->name, "error", err.msg, NULL);
		o->spool_full_logged = true;
		return false;
	}
	if (o->spool_full_logged)
		cd_log(FMT_LEVEL_INFO, "spool has room again", "output", o->conf->name, NULL);
	o->spool_full_logged = false;
	if (e->sent & (1ull << k)) {
		/* given up in flight (stopping): an outcome reported later finds nothing */
		e->sent &= ~(1ull << k);
		o->pending--;
	}
	e->acked |= 1ull << k;
	o->spooled++;
	ack_done(pl->acks, chunk_seq(e->c), k, NULL);
	return true;
}

/*
 * Memory is full (CD_QUEUE_CHUNKS_MAX chunks): move the oldest chunks to
 * the spools of the outputs that do not have them yet, so reading goes
 * on while an output is slow or down. A chunk in flight at some output
 * stays in memory (its outcome is awaited). When a spool is full, or
 * there is none, the queue stays full and the inputs pause: nothing is
 * dropped. @all (stopping): every chunk, in flight or not, for every
 * output in backoff, or for every output once the drain time is up.
 */
static void spill(struct pipeline *pl, bool all, bool failing_only)
{
	size_t excess = pl->qn >= CD_QUEUE_CHUNKS_MAX ? pl->qn - CD_QUEUE_CHUNKS_MAX + 1 : 0;

	for (struct pl_qent *e = pl->qhead; e && (all || excess); e = e->next) {
		uint64_t missing = pl->all_outputs & ~e->acked;
		bool done = true;

		if (!all && (missing & e->sent))
			break;
		for (unsigned k = 0; k < pl->nout && done; k++) {
			if (!(missing & (1ull << k)))
				continue;
			if (failing_only && !pl->out[k].backoff_ms) {
				done = false;
				continue;
			}
			done = spool_one(pl, e, k);
		}
		if (done && excess)
			excess--;
		else if (!done && !all)
			break;
	}
	reap(pl);
}

static void save_checkpoint(struct pipeline *pl)
{
	struct cd_err err = {0, 0, ""};
	int rc;

	if (!pl->ckpt || !pl->ckpt_dirty)
		return;
	rc = checkpoint_save(pl->ckpt, &err);
	if (rc < 0) {
		/* not fatal: the old positions stay, records after them are read again */
		cd_log(FMT_LEVEL_ERROR, "checkpoint: save failed", "error", err.msg, NULL);
		return;
	}
	pl->ckpt_dirty = false;
}

/* --- /metrics and /health --------------------------------------------------- */

#define M_COUNTER(name, help, lab, v) metrics_add(m, name, METRICS_COUNTER, help, lab, (double)(v))
#define M_GAUGE(name, help, lab, v) metrics_add(m, name, METRICS_GAUGE, help, lab, (double)(v))

void pipeline_metrics(struct pipeline *pl, struct metrics *m)
{
	char lab[512], name[64];

	for (unsigned i = 0; i < pl->nin; i++) {
		const struct cd_input_conf *ic = &pl->cf->in[i];
		const struct pl_in_stats *st = &pl->in[i].stats;

		snprintf(name, sizeof(name), "%s#%u", cd_in_type_name(ic->type), i + 1);
		lab[0] = '\0';
		metrics_label(lab, sizeof(lab), "input", name);
		if (ic->path)
			metrics_label(lab, sizeof(lab), "path", ic->path);
		if (ic->listen)
			metrics_label(lab, sizeof(lab), "listen", ic->listen);
		M_COUNTER("clewd_input_records_total", "Records read (unparsed and split ones included).",
			  lab, st->records);
		M_COUNTER("clewd_input_unparsed_total", "Lines no parser accepted, kept as raw records.", lab,
			  st->unparsed);
		M_COUNTER("clewd_input_split_total", "Pieces of lines longer than the line limit.", lab,
			  st->split);
		M_COUNTER("clewd_input_bytes_total", "Bytes read.", lab, st->bytes);
		M_COUNTER("clewd_input_truncations_total", "Files found shorter than the read offset.", lab,
			  st->truncations);
		M_COUNTER("clewd_input_rotations_total", "Files replaced at their path.", lab, st->rotations);
		if (pl->in[i].p->metrics) {
			lab[0] = '\0';
			metrics_label(lab, sizeof(lab), "input", name);
			pl->in[i].p->metrics(pl->in[i].st, m, lab);
			if (pl->in[i].p->metrics) {
				lab[0] = '\0';
				metrics_label(lab, sizeof(lab), "input", name);
				pl->in[i].p->metrics(pl->in[i].st, m, lab);
			}
		}
	}
	M_GAUGE("clewd_queue_chunks", "Sealed chunks in memory waiting for some output.", NULL, pl->qn);
	M_GAUGE("clewd_queue_chunks_limit", "Chunks held in memory before spooling or backpressure.", NULL,
		CD_QUEUE_CHUNKS_MAX);
	M_GAUGE("clewd_backpressure", "1 while the inputs are held back.", NULL, pl_backpressure(pl));
	for (unsigned k = 0; k < pl->nout; k++) {
		struct pl_out *o = &pl->out[k];

		lab[0] = '\0';
		metrics_label(lab, sizeof(lab), "output", o->conf->name);
		metrics_label(lab, sizeof(lab), "type", cd_out_type_name(o->conf->type));
		M_COUNTER("clewd_output_chunks_total", "Chunks acknowledged by the output.", lab, o->chunks);
		M_COUNTER("clewd_output_records_total", "Records in acknowledged chunks.", lab, o->records);
		M_COUNTER("clewd_output_errors_total", "Failed deliveries (each is retried).", lab,
			  o->errors);
		M_GAUGE("clewd_output_pending_chunks", "Chunks handed over, outcome awaited.", lab,
			o->pending);
		M_GAUGE("clewd_output_up", "0 while the output is failing and backing off.", lab,
			o->failing_since == 0);
		M_GAUGE("clewd_output_backoff_seconds", "Current retry backoff.", lab,
			(double)o->backoff_ms / 1000);
		M_GAUGE("clewd_output_spool_bytes", "Bytes of the output's spool files.", lab,
			o->spool ? spool_bytes(o->spool) : 0);
		M_GAUGE("clewd_output_spool_chunks", "Chunks in the output's spool.", lab,
			o->spool ? spool_count(o->spool) : 0);
		M_COUNTER("clewd_output_spooled_chunks_total", "Chunks written to the spool.", lab,
			  o->spooled);
		M_COUNTER("clewd_output_replayed_chunks_total", "Spooled chunks delivered.", lab,
			  o->replayed);
		if (o->p->metrics) {
			lab[0] = '\0';
			metrics_label(lab, sizeof(lab), "output", o->conf->name);
			o->p->metrics(o->st, m, lab);
		}
	}
}

bool pipeline_health(struct pipeline *pl, char *buf, size_t cap)
{
	bool ok = true;
	size_t n;
	int64_t now = cd_mono_ns();

	n = (size_t)snprintf(buf, cap, "{\"outputs\":{");
	for (unsigned k = 0; k < pl->nout && n < cap; k++) {
		const struct pl_out *o = &pl->out[k];
		bool down = o->failing_since && now - o->failing_since > (int64_t)CD_HEALTH_FAIL_MS * 1000000;
		bool full = o->spool_full_logged;

		ok &= !down && !full;
		/* names are "TYPE#N" or the user's name: quoted as JSON, no escapes expected beyond these */
		n += (size_t)snprintf(buf + n, cap - n, "%s\"%s\":{\"status\":\"%s\",\"failing_for_s\":%lld}",
				      k ? "," : "", o->conf->name,
				      down   ? "down"
				      : full ? "spool_full"
					     : "ok",
				      o->failing_since ? (long long)((now - o->failing_since) / 1000000000)
						       : 0ll);
	}
	if (n < cap)
		snprintf(buf + n, cap - n, "},\"status\":\"%s\"}\n", ok ? "ok" : "degraded");
	return ok;
}

/* --- fds and signals ------------------------------------------------------ */

int pl_watch_fd(struct pipeline *pl, int fd, pl_fd_cb cb, void *arg)
{
	struct pl_watch *w = calloc(1, sizeof(*w));
	struct epoll_event ev;

	if (!w)
		return -CD_ENOMEM;
	w->fd = fd;
	w->cb = cb;
	w->arg = arg;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = w;
	if (epoll_ctl(pl->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;
		free(w);
		return e == EPERM ? -CD_EINVAL : -CD_EIO; /* EPERM: a regular file, always readable */
	}
	w->next = pl->watches;
	pl->watches = w;
	return 0;
}

void pl_unwatch_fd(struct pipeline *pl, int fd)
{
	for (struct pl_watch **pp = &pl->watches; *pp; pp = &(*pp)->next) {
		if ((*pp)->fd == fd) {
			struct pl_watch *w = *pp;
			epoll_ctl(pl->epfd, EPOLL_CTL_DEL, fd, NULL);
			*pp = w->next;
			free(w);
			return;
		}
	}
}

static void on_signal(void *arg)
{
	struct pipeline *pl = arg;
	struct signalfd_siginfo si;

	while (read(pl->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			pl->reload = true;
			continue;
		}
		if (!pl->stopping)
			cd_log(FMT_LEVEL_INFO, "stopping: delivering what was read", "signal",
			       si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
		pl->stopping = true;
	}
}

/* --- setup ------------------------------------------------------------------ */

static const struct in_plugin *const inputs[] = {
	[CD_IN_STDIN] = &in_stdin,  /* standard input */
	[CD_IN_TAIL] = &in_tail,    /* files */
	[CD_IN_TCP] = &in_tcp,	    /* stream sockets: tcp */
	[CD_IN_UNIX] = &in_tcp,	    /* and unix */
	[CD_IN_UDP] = &in_udp,	    /* datagram sockets: udp */
	[CD_IN_UNIXGRAM] = &in_udp, /* and unix */
	[CD_IN_HTTP] = &in_http,    /* POSTed bodies */
};

/* The outputs built in; NULL: not built (the configuration says so). */
static const struct out_plugin *const outputs[CD_OUT_TYPES] = {
	[CD_OUT_ARCHIVE] = &out_archive,
	[CD_OUT_STDOUT] = &out_stdout,
	[CD_OUT_FILE] = &out_file,
	[CD_OUT_KAFKA] = &out_kafka,
	[CD_OUT_LOGSTASH_TCP] = &out_ls_tcp,
	[CD_OUT_LOGSTASH_UDP] = &out_ls_udp,
	[CD_OUT_LOGSTASH_HTTP] = &out_ls_http,
	[CD_OUT_LOGSTASH_REDIS] = &out_ls_redis,
	[CD_OUT_NULL] = &out_null,
	[CD_OUT_INFLUXDB] = &out_influxdb,
	[CD_OUT_INFLUXDB2] = &out_influxdb,
};

int pipeline_check_outputs(const struct cd_config *cf, struct cd_err *err)
{
	int rc;

	for (unsigned k = 0; k < cf->nout; k++) {
		const struct out_plugin *p = outputs[cf->out[k].type];
		if (!p)
			return cd_err_set(err, -CD_EINVAL, 0, "output %s: this clewd was built without it",
					  cf->out[k].name);
		if (p->check && (rc = p->check(&cf->out[k], err)) < 0)
			return rc;
	}
	return 0;
}

/*
 * The spool directory of an output: its name when the configuration gave
 * one, else its type and a hash of where it delivers, so that reordering
 * the outputs in the file does not hand one output's spool to another.
 */
static void spool_name(const struct cd_output_conf *oc, char *buf, size_t cap)
{
	const char *parts[] = {oc->path, cd_opt_get(oc, "address"), cd_opt_get(oc, "path"),
			       cd_opt_get(oc, "topic"), cd_opt_get(oc, "brokers")};
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	size_t n;

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		for (const char *p = parts[i] ? parts[i] : "";; p++) {
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
			if (!*p)
				break;
		}
	if (strchr(oc->name, '#'))
		n = (size_t)snprintf(buf, cap, "%s-%016llx", cd_out_type_name(oc->type),
				     (unsigned long long)h);
	else
		n = (size_t)snprintf(buf, cap, "%s", oc->name);
	for (size_t i = 0; i < n && i < cap; i++)
		if (!((buf[i] >= 'a' && buf[i] <= 'z') || (buf[i] >= 'A' && buf[i] <= 'Z') ||
		      (buf[i] >= '0' && buf[i] <= '9') || buf[i] == '-' || buf[i] == '.' || buf[i] == '_'))
			buf[i] = '_';
}

static int open_spool(struct pl_out *o, const struct cd_config *cf, struct cd_err *err)
{
	char name[128], dir[CD_INPUT_NAME_MAX];
	struct spool_options opt;
	int rc;

	spool_name(o->conf, name, sizeof(name));
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", cf->spool_dir, name) >= sizeof(dir))
		return cd_err_set(err, -CD_EINVAL, 0, "spool directory name too long");
	if ((rc = cd_mkdir_p(cf->spool_dir, err)) < 0)
		return rc;
	spool_options_default(&opt, dir);
	opt.limit_bytes = cf->spool_bytes;
	if ((rc = spool_open(&o->spool, &opt, err)) < 0)
		return rc;
	if (spool_count(o->spool))
		cd_logf(FMT_LEVEL_INFO, "spool: %zu chunks (%llu bytes) of output %s to deliver first",
			spool_count(o->spool), (unsigned long long)spool_bytes(o->spool), o->conf->name);
	return 0;
}

/* Compile each input's regex parser and multiline_start (one match data block each). */
static int compile_parsers(struct pipeline *pl, const struct cd_config *cf, struct cd_err *err)
{
	int rc;

	for (unsigned i = 0; i < cf->nin; i++) {
		const struct cd_parser_conf *rx;

		if ((rc = cd_config_input_parser(cf, i, &pl->in[i].parser, &rx)) < 0)
			return cd_err_set(err, -CD_EINVAL, 0, "input %u: no such parser", i + 1);
		if (rx && (rc = parse_regex_new(&pl->in[i].rx, rx->regex, rx->time_format, 0, err)) < 0)
			return rc;
		if (cf->in[i].ml_start &&
		    (rc = parse_regex_new(&pl->in[i].mls, cf->in[i].ml_start, NULL, 0, err)) < 0)
			return rc;
	}
	return 0;
}

int pipeline_new(struct pipeline **out, const struct cd_config *cf, struct cd_err *err)
{
	struct pipeline *pl;
	sigset_t set;
	int rc;

	pl = calloc(1, sizeof(*pl));
	if (!pl)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	pl->cf = cf;
	pl->sigfd = -1;
	pl->now = cd_mono_ns();
	/* sequence numbers grow across restarts too: microseconds since the epoch at start */
	pl->next_seq = (uint64_t)cd_real_ns() / 1000;
	pl->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (pl->epfd < 0) {
		rc = cd_err_set(err, -CD_EIO, errno, "epoll_create1: %s", strerror(errno));
		goto err_free;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pl->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (pl->sigfd < 0 || pl_watch_fd(pl, pl->sigfd, on_signal, pl) < 0) {
		rc = cd_err_set(err, -CD_EIO, errno, "signalfd: %s", strerror(errno));
		goto err_free;
	}
	if ((rc = chunk_new(&pl->cur, pl->next_seq, pl->now)) < 0) {
		cd_err_set(err, rc, 0, "out of memory");
		goto err_free;
	}
	if ((rc = ack_tracker_new(&pl->acks, cf->nout)) < 0) {
		cd_err_set(err, rc, 0, "cannot track %u outputs", cf->nout);
		goto err_free;
	}
	if (cd_config_needs_state(cf) && (rc = checkpoint_open(&pl->ckpt, cf->checkpoint, err)) < 0)
		goto err_free;
	if ((rc = pipeline_check_outputs(cf, err)) < 0 || (rc = compile_parsers(pl, cf, err)) < 0)
		goto err_free;
	for (unsigned k = 0; k < cf->nout; k++) {
		struct pl_out *o = &pl->out[k];
		o->p = outputs[cf->out[k].type];
		o->conf = &cf->out[k];
		if ((rc = o->p->open(&o->st, pl, k, o->conf, err)) < 0)
			goto err_free;
		if (cf->spool_dir && (rc = open_spool(o, cf, err)) < 0) {
			o->p->close(o->st);
			goto err_free;
		}
		pl->nout++;
		pl->all_outputs |= 1ull << k;
	}
	for (unsigned i = 0; i < cf->nin; i++) {
		struct pl_in *in = &pl->in[i];
		in->p = inputs[cf->in[i].type];
		if ((rc = in->p->open(&in->st, pl, i, &cf->in[i], err)) < 0)
			goto err_free;
		pl->nin++;
	}
	if (cf->http_listen) {
		if ((rc = ops_start(&pl->ops, pl, cf->http_listen, err)) < 0)
			goto err_free;
		cd_logf(FMT_LEVEL_INFO, "serving /health and /metrics on %s (port %u)", cf->http_listen,
			cd_httpd_port(pl->ops));
	}
	save_checkpoint(pl);
	*out = pl;
	return 0;

err_free:
	pipeline_free(pl);
	return rc;
}

void pipeline_free(struct pipeline *pl)
{
	if (!pl)
		return;
	cd_httpd_stop(pl->ops);
	for (unsigned i = 0; i < pl->nin; i++)
		pl->in[i].p->close(pl->in[i].st);
	save_checkpoint(pl);
	/* every output closes before any spool goes: a close may still read pl_stats() */
	for (unsigned k = 0; k < pl->nout; k++)
		pl->out[k].p->close(pl->out[k].st);
	for (unsigned k = 0; k < pl->nout; k++) {
		chunk_free(pl->out[k].replay);
		spool_free(pl->out[k].spool);
		pl->out[k].replay = NULL;
		pl->out[k].spool = NULL;
	}
	while (pl->sources) {
		struct pl_source *s = pl->sources;
		s->forget = false;
		source_free(pl, s);
	}
	while (pl->qhead) {
		struct pl_qent *e = pl->qhead;
		pl->qhead = e->next;
		chunk_free(e->c);
		free(e);
	}
	while (pl->watches) {
		struct pl_watch *w = pl->watches;
		pl->watches = w->next;
		free(w);
	}
	for (unsigned i = 0; i < CD_INPUTS_MAX; i++) {
		parse_regex_free(pl->in[i].rx);
		parse_regex_free(pl->in[i].mls);
	}
	chunk_free(pl->cur);
	chunk_free(pl->spare);
	ack_tracker_free(pl->acks);
	checkpoint_free(pl->ckpt);
	if (pl->sigfd >= 0)
		close(pl->sigfd);
	if (pl->epfd >= 0)
		close(pl->epfd);
	free(pl);
}

/* --- the loop ------------------------------------------------------------------ */

static bool inputs_done(const struct pipeline *pl)
{
	for (unsigned i = 0; i < pl->nin; i++)
		if (!pl->in[i].p->done(pl->in[i].st))
			return false;
	return true;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* Milliseconds to sleep: until the next chunk age, multiline timeout or retry. */
static int next_timeout(const struct pipeline *pl, bool more, bool draining)
{
	int64_t until = pl->now + (int64_t)pl->cf->poll_ms * 1000000, d;

	if (more)
		return 0;
	if (chunk_nrecords(pl->cur))
		until = min64(until, chunk_opened_ns(pl->cur) + (int64_t)pl->cf->chunk_age_ms * 1000000);
	for (const struct pl_source *s = pl->sources; s; s = s->next)
		if (s->ml.held)
			until = min64(until, s->ml.deadline_ns);
	for (unsigned k = 0; k < pl->nout; k++) {
		const struct pl_out *o = &pl->out[k];

		if (!pl->qhead && !o->replay && !(o->spool && spool_count(o->spool)))
			continue; /* nothing to deliver */
		/* a past retry_at (0 before any retry) is no reason to wake: it would spin */
		if (o->retry_at > pl->now)
			until = min64(until, o->retry_at);
		if (o->pending)
			until = min64(until, pl->now + (int64_t)CD_OUT_POLL_MS * 1000000);
	}
	if (draining)
		until = min64(until, pl->now + 100 * 1000000);
	d = until - pl->now;
	if (d <= 0)
		return 0;
	return (int)((d + 999999) / 1000000);
}

static void wait_events(struct pipeline *pl, int timeout_ms)
{
	struct epoll_event ev[32];
	int n = epoll_wait(pl->epfd, ev, 32, timeout_ms);

	for (int i = 0; i < n; i++) {
		struct pl_watch *w = ev[i].data.ptr;
		w->cb(w->arg);
	}
}

/* One turn's work after reading: timeouts, sealing, delivery, checkpoint. */
static void turn(struct pipeline *pl, bool flush_all)
{
	bool paused = pl->qn >= CD_QUEUE_CHUNKS_MAX;

	if (!paused || flush_all)
		for (struct pl_source *s = pl->sources; s; s = s->next)
			if (s->ml.held && (flush_all || s->ml.deadline_ns <= pl->now))
				flush_held(pl, s);
	if (chunk_nrecords(pl->cur) &&
	    (flush_all || chunk_is_full(pl->cur) ||
	     pl->now - chunk_opened_ns(pl->cur) >= (int64_t)pl->cf->chunk_age_ms * 1000000)) {
		int rc = seal(pl);
		if (rc < 0)
			fatal(pl, "cannot seal a chunk", rc);
	}
	deliver(pl);
	if (pl->qn >= CD_QUEUE_CHUNKS_MAX)
		spill(pl, false, false);
	save_checkpoint(pl);
}

int pipeline_stop(struct pipeline *pl, struct cd_err *err)
{
	pl->stopping = true;
	pl->reload = false;
	return pipeline_run(pl, err);
}

int pipeline_run(struct pipeline *pl, struct cd_err *err)
{
	int64_t drain_until = 0;
	bool draining = false;

	if (!pl->announced)
		cd_log(FMT_LEVEL_INFO, "started", "config", pl->cf->file, NULL);
	pl->announced = true;
	while (!pl->failed) {
		bool more = false;

		if (pl->reload && !pl->stopping) {
			pl->reload = false;
			return PL_RELOAD;
		}
		pl->now = cd_mono_ns();
		if (!draining && (pl->stopping || inputs_done(pl))) {
			draining = true;
			drain_until = pl->now + (int64_t)pl->cf->drain_ms * 1000000;
			for (unsigned i = 0; i < pl->nin; i++)
				if (pl->in[i].p->stop)
					pl->in[i].p->stop(pl->in[i].st);
			/* what cannot be read again (stdin) is handed on whole; files resume from the checkpoint */
			for (struct pl_source *s = pl->sources, *next; s; s = next) {
				next = s->next;
				if (!s->ckpt && !s->ended)
					pl_source_end(pl, s, false);
			}
		}
		if (!draining && pl->qn < CD_QUEUE_CHUNKS_MAX)
			for (unsigned i = 0; i < pl->nin; i++)
				more |= pl->in[i].p->tick(pl->in[i].st, pl->now);
		if (!draining && !pl->stopping && inputs_done(pl))
			more = true; /* start the drain now, not after a poll interval */
		/* draining: held records of files are not flushed (read again from the checkpoint) */
		turn(pl, false);
		if (draining) {
			if (chunk_nrecords(pl->cur) && seal(pl) < 0)
				fatal(pl, "cannot seal a chunk", -CD_ENOMEM);
			deliver(pl);
			/* an output that is down does not hold the exit: its chunks go to its spool */
			spill(pl, true, pl->now < drain_until);
			save_checkpoint(pl);
			if (!pl->qhead && !chunk_nrecords(pl->cur))
				break;
			if (pl->now >= drain_until) {
				cd_err_set(
					&pl->ferr, -CD_EIO, 0,
					"drain timeout: %zu chunks not acknowledged (read again on restart)",
					pl->qn);
				pl->failed = true;
				break;
			}
		}
		wait_events(pl, next_timeout(pl, more, draining));
	}
	save_checkpoint(pl);
	if (pl->failed) {
		if (err)
			*err = pl->ferr;
		return pl->ferr.code ? pl->ferr.code : -CD_EIO;
	}
	for (unsigned k = 0; k < pl->nout; k++)
		if (pl->out[k].spool && spool_count(pl->out[k].spool))
			cd_logf(FMT_LEVEL_INFO,
				"output %s: %zu chunks wait in its spool (delivered after restart)",
				pl->out[k].conf->name, spool_count(pl->out[k].spool));
	cd_log(FMT_LEVEL_INFO, "stopped: everything read was delivered or spooled", NULL);
	return 0;
}
