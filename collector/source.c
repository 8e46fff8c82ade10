/*
 * source.c - a source: one byte stream an input reads, cut into lines,
 * overlong lines split, continuation lines joined, each record parsed and
 * appended to the current chunk; and the source's checkpoint position.
 *
 * DESIGN: a source's bytes are cut at '\n' in its own read buffer (no copy
 * for a line's assembly); a line longer than CD_LINE_MAX is cut into
 * pieces on UTF-8 boundaries, each its own record with the attribute
 * _split = the piece's number. A line no parser accepts becomes a raw
 * record (the line, the error, where it was read), counted, never dropped.
 * Records of one source enter chunks in read order. A source's position
 * moves in the checkpoint only when every output has every chunk holding
 * its records (pl_sources_complete(), called by delivery.c); a source
 * that ended is freed once nothing of it is in flight.
 *
 * The envelope stage (inputs with parser: cri or docker) sits between the
 * cut at '\n' and the multiline join: it decodes the container runtime's
 * line (parsers/envelope.h), joins partial lines until their last part,
 * and hands the inner text on, so a stack trace a program wrote over
 * several container lines is joined like any other. The envelope's time
 * and stream travel beside the text (the held record keeps its first
 * line's) and are added to the parsed record. A join not finished when
 * clewd stops is not emitted: the checkpoint stays before its first line,
 * so it is read again, whole, after a restart. Kubernetes metadata comes
 * from the path of a container log (parse_k8s_path()), for every record.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chunk/ack.h"
#include "fmt/detect.h"
#include <store/archive.h> /* arch_hash(): the fingerprint's XXH64 */
#include "fmt/str.h"
#include "pipeline_impl.h"
#include "util/util.h"
#include "util/banned.h"

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

static void ckpt_set_pos(struct pipeline *pl, const char *name, const struct checkpoint_pos *pos)
{
	int rc;

	if (!pl->ckpt || !name)
		return;
	rc = checkpoint_set(pl->ckpt, name, pos);
	if (rc < 0) {
		cd_log(FMT_LEVEL_ERROR, "checkpoint: cannot keep a position", "input", name, "error",
		       cd_strerror(rc), NULL);
		pl_fatal(pl, "checkpoint: cannot keep a position", rc);
		return;
	}
	pl->ckpt_dirty = true;
}

/* @s's position @off in the checkpoint, with its file's identity (inode and fingerprint). */
static void ckpt_set(struct pipeline *pl, const struct pl_source *s, uint64_t off)
{
	struct checkpoint_pos pos = {.dev = s->dev, .ino = s->ino, .offset = off};

	if (s->fp_len) {
		pos.fp = arch_hash(s->fp, s->fp_len);
		pos.fp_len = s->fp_len;
	}
	ckpt_set_pos(pl, s->ckpt, &pos);
}

/* Keep the bytes of [@at, @at + @n) that extend the file's prefix in s->fp. */
static void note_prefix(struct pl_source *s, uint64_t at, const char *p, size_t n)
{
	size_t from, take;

	if (at > s->fp_len || s->fp_len >= CHECKPOINT_FP_MAX || at + n <= s->fp_len)
		return;
	from = (size_t)(s->fp_len - at);
	take = n - from < CHECKPOINT_FP_MAX - s->fp_len ? n - from : CHECKPOINT_FP_MAX - s->fp_len;
	memcpy(s->fp + s->fp_len, p + from, take);
	s->fp_len = (uint16_t)(s->fp_len + take);
}

void pl_source_set_prefix(struct pipeline *pl, struct pl_source *s, const void *p, size_t n)
{
	s->fp_len = (uint16_t)(n < CHECKPOINT_FP_MAX ? n : CHECKPOINT_FP_MAX);
	memcpy(s->fp, p, s->fp_len);
	ckpt_set(pl, s, s->off);
}

struct pl_source *pl_source_new(struct pipeline *pl, unsigned idx, const char *display, const char *ckpt,
				uint64_t dev, uint64_t ino, uint64_t offset)
{
	struct pl_source *s = calloc(1, sizeof(*s));

	if (!s)
		goto err;
	s->display = cd_strdup(display);
	if (!s->display)
		goto err_free_s;
	if (ckpt && !(s->ckpt = cd_strdup(ckpt)))
		goto err_free_display;
	parse_ml_init(&s->ml);
	s->env = &s->env_line;
	s->has_k8s = parse_k8s_path(s->display, &s->k8s);
	s->id = pl->next_id++;
	s->input = idx;
	s->dev = dev;
	s->ino = ino;
	s->off = offset;
	s->next = pl->sources;
	pl->sources = s;
	ckpt_set(pl, s, offset);
	return s;

err_free_display:
	free(s->display);
err_free_s:
	free(s);
err:
	cd_log(FMT_LEVEL_ERROR, "out of memory opening a source", "input", display, NULL);
	return NULL;
}

/*
 * Read buffers of parked sources (pl_source_park()): a tail input may follow
 * thousands of files, and a buffer each (CD_READ_BUF) would be most of the
 * daemon's memory while they sit at EOF. A few are kept for reuse so a file
 * woken at every write does not allocate each time. The loop is one
 * thread; nothing else touches sources.
 */
#define SRC_SPARE_BUFS 8
static char *spare_bufs[SRC_SPARE_BUFS];
static unsigned nspare_bufs;

static bool buf_get(struct pl_source *s)
{
	if (s->buf)
		return true;
	s->buf = nspare_bufs ? spare_bufs[--nspare_bufs] : malloc(CD_READ_BUF);
	s->start = s->end = 0;
	return s->buf != NULL;
}

static void buf_put(struct pl_source *s)
{
	if (s->buf && nspare_bufs < SRC_SPARE_BUFS)
		spare_bufs[nspare_bufs++] = s->buf;
	else
		free(s->buf);
	s->buf = NULL;
}

bool pl_source_prefix_matches(const struct pl_source *s, int fd)
{
	uint8_t head[CHECKPOINT_FP_MAX];
	ssize_t n;

	if (!s->fp_len)
		return true;
	n = pread(fd, head, s->fp_len, 0);
	return n == (ssize_t)s->fp_len && memcmp(head, s->fp, s->fp_len) == 0;
}

bool pl_source_park(struct pipeline *pl, struct pl_source *s, bool reread)
{
	if (s->start != s->end && !reread)
		return false;
	/* a partial line is dropped: the caller reads it again from pl_source_offset() (its bytes
	 * were counted once: s->counted) */
	(void)pl;
	buf_put(s);
	s->start = s->end = 0;
	if (!s->ml.held)
		parse_ml_release(&s->ml); /* else when the held record is flushed */
	if (!s->env_len) {
		free(s->env_buf);
		s->env_buf = NULL;
	}
	return true;
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
		ckpt_set_pos(pl, n, &pos);
		checkpoint_remove(pl->ckpt, s->ckpt);
	}
	free(s->ckpt);
	s->ckpt = n;
	return 0;
}

void pl_source_free(struct pipeline *pl, struct pl_source *s)
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
	ack_forget(pl->acks, s->id); /* its position is in the checkpoint now */
	parse_ml_release(&s->ml);
	free(s->env_buf);
	buf_put(s);
	free(s->display);
	free(s->ckpt);
	free(s);
}

static void maybe_free_source(struct pipeline *pl, struct pl_source *s)
{
	if (s->ended && s->pending_chunks == 0)
		pl_source_free(pl, s);
}

static struct pl_source *find_source(struct pipeline *pl, uint32_t id)
{
	for (struct pl_source *s = pl->sources; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

static void append(struct pipeline *pl, struct pl_source *s, const struct fmt_record *r,
		   const struct record_src *src, uint64_t end_off)
{
	int rc;

	if (pl->failed)
		return;
	rc = chunk_append(pl->cur, r, src, s->id, end_off);
	if (rc == -CD_EFULL) {
		if ((rc = pl_seal(pl)) < 0) {
			pl_fatal(pl, "cannot seal a chunk", rc);
			return;
		}
		rc = chunk_append(pl->cur, r, src, s->id, end_off);
	}
	if (rc < 0) {
		/* never skip a record and go on: a later position would cover it */
		cd_log(FMT_LEVEL_ERROR, "cannot add a record to a chunk", "input", s->display, "error",
		       cd_strerror(rc), NULL);
		pl_fatal(pl, "cannot add a record to a chunk", rc);
		return;
	}
	/* the chunk's summaries, from the record as parsed (a raw record belongs to no transaction) */
	if (pl->sumw && r && !(src && src->raw) && !pl->sum_broken &&
	    qy_sumw_add_key(pl->sumw, r, chunk_last_trace(pl->cur)) < 0)
		pl->sum_broken = true;
	if (!s->marked || s->marked_seq != chunk_seq(pl->cur)) {
		s->marked = true;
		s->marked_seq = chunk_seq(pl->cur);
		s->pending_chunks++;
	}
}

void pl_input_parser(const struct pipeline *pl, unsigned idx, enum cd_parser *parser, struct parse_regex **rx)
{
	*parser = pl->in[idx].parser;
	*rx = pl->in[idx].rx;
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

/* --- the envelope stage (cri, docker): its fields onto the record ------------ */

/* The string @val as an attribute @key appended to @r (replacing the last when full). */
static void add_str_attr(struct fmt_record *r, const char *key, const char *val, size_t n)
{
	struct fmt_attr *a;

	if (r->nattrs < FMT_ATTRS_MAX) {
		a = &r->attrs[r->nattrs++];
	} else {
		a = &r->attrs[FMT_ATTRS_MAX - 1];
		r->flags |= FMT_F_ATTRS_TRUNCATED;
	}
	a->key = fmt_str_c(key);
	a->val = fmt_str_n(val, n);
	a->type = FMT_T_STRING;
}

/*
 * The envelope's stream and time and the path's Kubernetes metadata onto
 * @r, parsed from @text with result @rc. Text out of an envelope that no
 * parser takes (a program's plain line) becomes a record with that text
 * as its message and the runtime's time, the parse error kept in @src:
 * the envelope made it a record. Return: @rc when it stays a raw record,
 * 1 when unparsed text became such a record, else 0.
 */
static int env_annotate(const struct pl_source *s, struct fmt_record *r, struct record_src *src,
			const struct fmt_err *fe, const char *text, size_t len, int rc)
{
	const struct pl_env_meta *m = s->env;
	const char *stream = m->set ? parse_env_stream_name(m->stream) : NULL;

	int ret = 0;

	if (rc < 0 && !m->set)
		return rc;
	if (rc < 0) {
		fmt_record_clear(r);
		r->message = fmt_str_n(text, len);
		src->error = fmt_str_c(fe->what ? fe->what : fmt_strerror(rc));
		src->err_offset = fe->offset;
		ret = 1;
	}
	if (m->set && m->has_ts && !r->has_ts) {
		r->ts_ns = m->ts_ns;
		r->has_ts = true;
	}
	if (stream)
		add_str_attr(r, "stream", stream, strlen(stream));
	if (s->has_k8s) {
		add_str_attr(r, "k8s.pod", s->k8s.pod, s->k8s.pod_len);
		add_str_attr(r, "k8s.namespace", s->k8s.ns, s->k8s.ns_len);
		add_str_attr(r, "k8s.container", s->k8s.container, s->k8s.container_len);
	}
	return ret;
}

/*
 * Append the record parse_line() made of @text (@r, its result @rc and
 * error @fe), as a raw record when no parser took it.
 */
static void finish_record(struct pipeline *pl, struct pl_source *s, struct fmt_record *r, int rc,
			  struct fmt_err fe, const char *text, size_t len, uint64_t start_off,
			  uint64_t end_off, uint32_t split_part)
{
	struct pl_in_stats *st = &pl->in[s->input].stats;
	struct record_src src;
	char num[24];

	memset(&src, 0, sizeof(src));
	src.offset = start_off;
	st->records++;
	if (s->env->set || s->has_k8s)
		rc = env_annotate(s, r, &src, &fe, text, len, rc);
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
	} else if (rc < 0) {
		st->unparsed++;
		src.raw = true;
		src.line = fmt_str_n(text, len);
		src.error = fmt_str_c(fe.what ? fe.what : fmt_strerror(rc));
		src.err_offset = fe.offset;
		r = NULL;
	} else if (rc > 0) {
		st->unparsed++; /* unparsed text out of an envelope: a record of its message (env_annotate) */
	} else if (r->flags & FMT_F_ATTRS_TRUNCATED) {
		src.line = fmt_str_n(text, len); /* the attributes past the cap live on in the line */
	} else {
		append(pl, s, r, NULL, end_off); /* a parsed line: no source kept (the common case) */
		return;
	}
	src.input = fmt_str_c(s->display); /* strlen() only for the records that keep it */
	append(pl, s, r, &src, end_off);
}

/* Parse one record's text and append it (as a raw record when no parser takes it). */
static void emit_record(struct pipeline *pl, struct pl_source *s, const char *text, size_t len,
			uint64_t start_off, uint64_t end_off, uint32_t split_part)
{
	struct fmt_err fe = {0, NULL};
	int rc = parse_line(pl->in[s->input].parser, pl->in[s->input].rx, text, len, pl->rec, &fe);

	finish_record(pl, s, pl->rec, rc, fe, text, len, start_off, end_off, split_part);
}

void pl_source_flush_held(struct pipeline *pl, struct pl_source *s)
{
	if (!s->ml.held)
		return;
	s->env = &s->env_held;
	if (pl->held_src == s) {
		/* parsed when it was read (on_line()), its text unchanged where it was read */
		pl->held_src = NULL;
		finish_record(pl, s, pl->rec_held, pl->held_rc, pl->held_fe, parse_ml_text(&s->ml), s->ml.len,
			      s->ml.start_off, s->ml.end_off, 0);
	} else {
		/* into rec_held, not pl->rec: on_line_parsed() may hold the next line's parse there */
		struct fmt_err fe = {0, NULL};
		int rc = parse_line(pl->in[s->input].parser, pl->in[s->input].rx, parse_ml_text(&s->ml),
				    s->ml.len, pl->rec_held, &fe);

		pl->held_src = NULL;
		finish_record(pl, s, pl->rec_held, rc, fe, parse_ml_text(&s->ml), s->ml.len, s->ml.start_off,
			      s->ml.end_off, 0);
	}
	s->env = &s->env_line;
	parse_ml_clear(&s->ml);
	if (!s->buf)
		parse_ml_release(&s->ml); /* parked (a file at EOF): its join buffer goes too */
}

/*
 * on_line() for a line in the read buffer, multiline join on, the pipe or
 * auto parser: the line is parsed first, and the parser's scan of its head
 * says whether it starts a record (fmt_detect() would scan it once more).
 * A line that starts one is held with its parse (pl->rec_held, swapped
 * with pl->rec), appended as it is when the next line shows it is whole;
 * a join (a continuation line) drops that parse and the joined text is
 * parsed when it goes, as is a record still held when process_buf() returns.
 */
/*
 * @line (@start: it starts a record) joins @s's held record when it is a
 * continuation of it: true. Else the held record goes on its way first.
 */
static bool join_held(struct pipeline *pl, struct pl_source *s, bool start, const char *line, size_t len,
		      uint64_t end_off, int64_t deadline)
{
	if (parse_ml_joins(&s->ml, start, len)) {
		if (pl->held_src == s)
			pl->held_src = NULL; /* its text grows: parsed again when it goes */
		if (parse_ml_append(&s->ml, line, len, end_off, deadline) == 0)
			return true;
	}
	pl_source_flush_held(pl, s);
	return false;
}

static void on_line_parsed(struct pipeline *pl, struct pl_source *s, const char *line, size_t len,
			   uint64_t off, uint64_t end_off, int64_t deadline)
{
	struct fmt_err fe = {0, NULL};
	struct fmt_record *r = pl->rec;
	bool start;
	int rc = parse_line_start(pl->in[s->input].parser, pl->in[s->input].rx, line, len, r, &fe, &start);

	if (join_held(pl, s, start, line, len, end_off, deadline))
		return;
	if (!start) {
		/* nothing above to join: a record of its own, nothing can join it */
		finish_record(pl, s, r, rc, fe, line, len, off, end_off, 0);
		return;
	}
	parse_ml_borrow(&s->ml, line, len, true, off, end_off, deadline);
	s->env_held = s->env_line;
	pl->rec = pl->rec_held;
	pl->rec_held = r;
	pl->held_src = s;
	pl->held_rc = rc;
	pl->held_fe = fe;
}

/*
 * One complete line (without its '\n') at @off, the next line starting at
 * @end_off. @in_buf: the line is in the source's read buffer, where it stays
 * until process_buf() returns, so the record held for the multiline join
 * borrows it there (process_buf() copies it before it returns).
 */
static void on_line(struct pipeline *pl, struct pl_source *s, const char *line, size_t len, uint64_t off,
		    uint64_t end_off, bool in_buf)
{
	const int64_t deadline = pl->now + (int64_t)pl->cf->multiline_ms * 1000000;
	struct parse_regex *mls = pl->in[s->input].mls;
	enum cd_parser parser = pl->in[s->input].parser;
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
	if (in_buf && !mls && (parser == CD_PARSER_PIPE || parser == CD_PARSER_AUTO)) {
		on_line_parsed(pl, s, line, len, off, end_off, deadline);
		return;
	}
	start = parse_ml_starts(mls, line, len);
	if (join_held(pl, s, start, line, len, end_off, deadline))
		return;
	if (!start) {
		/* nothing above to join: a record of its own, nothing can join it */
		emit_record(pl, s, line, len, off, end_off, 0);
		return;
	}
	if (in_buf) {
		parse_ml_borrow(&s->ml, line, len, true, off, end_off, deadline);
	} else if (parse_ml_hold(&s->ml, line, len, true, off, end_off, deadline) < 0) {
		emit_record(pl, s, line, len, off, end_off, 0);
		return;
	}
	s->env_held = s->env_line;
}

/* --- the envelope stage (cri, docker): unwrap, join partial lines ------------ */

static void env_meta(struct pl_env_meta *m, const struct parse_env_line *el)
{
	m->set = true;
	m->ts_ns = el->ts_ns;
	m->has_ts = el->has_ts;
	m->stream = el->stream;
}

/* The joined text, up to the envelope line ending at @end_off, goes on as one line. */
static void env_pass_join(struct pipeline *pl, struct pl_source *s, uint64_t end_off)
{
	s->env_line = s->env_join;
	on_line(pl, s, s->env_buf, s->env_len, s->env_start, end_off, false);
	memset(&s->env_line, 0, sizeof(s->env_line));
	s->env_len = 0;
}

/* A join whose last part will not come (the input ended, the file was truncated): pass it on. */
static void env_flush_join(struct pipeline *pl, struct pl_source *s)
{
	if (s->env_len)
		env_pass_join(pl, s, s->off);
}

/*
 * One envelope line at @off: its text goes to on_line() when it is whole,
 * or joined with the next ones until the last part. A join longer than
 * CD_LINE_MAX goes on in pieces of that size (the multiline join and
 * every parser are bounded by it). A line that is not this envelope goes
 * on as it is, counted.
 */
static void env_line(struct pipeline *pl, struct pl_source *s, const char *line, size_t len, uint64_t off,
		     uint64_t end_off)
{
	struct parse_env_line el;
	const char *t;
	size_t n;

	if (!s->env_buf && !(s->env_buf = malloc(2 * (size_t)CD_LINE_MAX))) {
		on_line(pl, s, line, len, off, end_off, false);
		return;
	}
	/* Docker's text is decoded after the join's room; CRI's is a view into the line */
	if (parse_env_decode(pl->in[s->input].env, line, len, s->env_buf + CD_LINE_MAX, &el) < 0) {
		pl->in[s->input].stats.env_invalid++;
		env_flush_join(pl, s);
		on_line(pl, s, line, len, off, end_off, false);
		return;
	}
	if (!s->env_len && !el.partial) {
		env_meta(&s->env_line, &el);
		on_line(pl, s, el.text, el.len, off, end_off, false);
		memset(&s->env_line, 0, sizeof(s->env_line));
		return;
	}
	if (!s->env_len) {
		env_meta(&s->env_join, &el);
		s->env_start = off;
	}
	for (t = el.text, n = el.len;;) {
		size_t take = n < CD_LINE_MAX - s->env_len ? n : CD_LINE_MAX - s->env_len;

		memmove(s->env_buf + s->env_len, t, take);
		s->env_len += take;
		t += take;
		n -= take;
		if (n == 0 && el.partial)
			return;
		if (n == 0) {
			env_pass_join(pl, s, end_off);
			return;
		}
		/* full: this much goes on; a restart reads this envelope line again */
		env_pass_join(pl, s, off);
		env_meta(&s->env_join, &el);
		s->env_start = off;
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
			pl_source_flush_held(pl, s);
			emit_record(pl, s, p, cut, s->off, s->off + cut, ++s->split_part);
			s->start += cut;
			s->off += cut;
			continue;
		}
		if (!nl)
			break;
		/* an overlong line's last piece is not an envelope line */
		if (pl->in[s->input].env && !s->split_part)
			env_line(pl, s, p, len, s->off, s->off + len + 1);
		else
			on_line(pl, s, p, len, s->off, s->off + len + 1, true);
		s->start += len + 1;
		s->off += len + 1;
	}
	/* the buffer's bytes move or go from here: a record held in it is copied out (its parse,
	 * views into those bytes, is dropped: parsed again when it goes) */
	if (pl->held_src == s)
		pl->held_src = NULL;
	if (parse_ml_own(&s->ml) < 0)
		pl_source_flush_held(pl, s); /* out of memory: it goes on now, unjoined */
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
	if (!buf_get(s))
		return -ENOMEM;
	while (total < CD_READ_BURST && !pl->failed) {
		uint64_t at = pl_source_offset(s);
		size_t room = CD_READ_BUF - s->end;
		ssize_t n = read(fd, s->buf + s->end, room < CD_READ_STEP ? room : CD_READ_STEP);

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
		note_prefix(s, at, s->buf + s->end, (size_t)n);
		s->end += (size_t)n;
		total += (size_t)n;
		/* bytes read again after pl_source_park() dropped them are not counted twice */
		if (at + (uint64_t)n > s->counted) {
			pl->in[s->input].stats.bytes +=
				at + (uint64_t)n - (at > s->counted ? at : s->counted);
			s->counted = at + (uint64_t)n;
		}
		process_buf(pl, s);
	}
	return (long)total;
}

void pl_source_feed(struct pipeline *pl, struct pl_source *s, const void *data, size_t len)
{
	const char *p = data;

	if (len && !buf_get(s)) {
		cd_log(FMT_LEVEL_ERROR, "out of memory reading a source", "input", s->display, NULL);
		pl_fatal(pl, "out of memory reading a source", -CD_ENOMEM);
		return;
	}
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

void pl_source_feed_datagram(struct pipeline *pl, struct pl_source *s, const void *data, size_t len)
{
	if (len == 0)
		return;
	pl_source_feed(pl, s, data, len);
	if (((const char *)data)[len - 1] != '\n') {
		/* the datagram ends its last line: the newline is ours, not received */
		pl_source_feed(pl, s, "\n", 1);
		pl->in[s->input].stats.bytes--;
	}
}

void pl_source_record(struct pipeline *pl, struct pl_source *s, const struct fmt_record *r,
		      const struct record_src *src, size_t len)
{
	struct pl_in_stats *st = &pl->in[s->input].stats;

	if (pl->failed)
		return; /* the daemon stops: nothing more is appended (a fed line may be left unconsumed) */
	assert(s->start == s->end);
	pl_source_flush_held(pl, s);
	s->off += len;
	st->records++;
	if (src && src->raw)
		st->unparsed++;
	append(pl, s, src && src->raw ? NULL : r, src, s->off);
}

void pl_source_on_acked(struct pl_source *s, pl_acked_cb cb, void *arg)
{
	s->on_acked = cb;
	s->acked_arg = arg;
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
		pl_source_flush_held(pl, s);
		emit_record(pl, s, s->buf + s->start, n, s->off, s->off + n, 0);
	}
	s->off += n;
	s->start = s->end = 0;
}

void pl_source_truncated(struct pipeline *pl, struct pl_source *s)
{
	env_flush_join(pl, s);
	flush_partial(pl, s);
	pl_source_flush_held(pl, s);
	s->off = 0;
	s->counted = 0;
	s->fp_len = 0; /* rewritten from its start: collected again */
	pl->in[s->input].stats.truncations++;
}

void pl_source_end(struct pipeline *pl, struct pl_source *s, bool forget)
{
	env_flush_join(pl, s); /* its last part will never come */
	flush_partial(pl, s);
	pl_source_flush_held(pl, s);
	s->ended = true;
	s->forget = forget;
	/* nothing more is read: the buffer goes now, not when the last chunk is acknowledged */
	buf_put(s);
	maybe_free_source(pl, s);
}

void pl_source_end_rest(struct pipeline *pl, struct pl_source *s, void *rest, size_t cap, size_t *n)
{
	size_t k = s->buf ? s->end - s->start : 0;

	if (k > cap)
		k = cap;
	if (k)
		memcpy(rest, s->buf + s->start, k);
	*n = k;
	s->start += k; /* not a record here: the next source reads it again */
	s->off += k;
	pl_source_end(pl, s, false);
}

void pl_source_abandon(struct pipeline *pl, struct pl_source *s)
{
	parse_ml_clear(&s->ml);
	s->env_len = 0;
	s->start = s->end = 0;
	s->ended = true;
	maybe_free_source(pl, s);
}

/* Every output has chunk @c: move its sources' positions into the checkpoint. */
void pl_sources_complete(struct pipeline *pl, const struct chunk *c)
{
	for (uint32_t i = 0; i < chunk_nsources(c); i++) {
		struct chunk_source cs = chunk_source(c, i);
		struct pl_source *s = find_source(pl, cs.input);
		uint64_t off;

		if (!s)
			continue;
		if (ack_position(pl->acks, s->id, &off)) {
			ckpt_set(pl, s, off);
			if (s->on_acked)
				s->on_acked(s->acked_arg, off);
		}
		if (s->pending_chunks)
			s->pending_chunks--;
		maybe_free_source(pl, s);
	}
}
