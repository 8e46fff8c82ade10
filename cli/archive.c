/*
 * archive.c - the collector's archive as a tracegrep input.
 *
 * DESIGN: the archive (store/src/archive*.c, formats/archive.md) is a
 * directory of segments whose indexes map the hash of every trace ID to
 * the frames (chunks) that hold it. It is one input with one unit of work:
 * the handle is not thread-safe, and a lookup reads only a few frames.
 *
 * - A trace query (TG_WANT_TRACE) is one arch_find(): only the segments
 *   whose index lists the ID's hash are opened, only the listed frames are
 *   decompressed, and every record in them is checked by structure (the
 *   index is exact only up to 64-bit hash collisions, and a frame holds
 *   other transactions too).
 * - An element query (TG_WANT_ELEMENT: a span ID, or an ID of unknown
 *   kind) first tries the ID as a trace ID; if no record has it as its
 *   trace, the index cannot help (it holds trace IDs only), so every frame
 *   in the time window is read, skipped unless its decompressed bytes hold
 *   the ID literally (strings are stored decoded), and its records checked.
 *   main.c then looks the span's transaction up with one arch_find().
 *
 * Records in the archive have no original line. Each kept record is
 * written again in its own format with the formats library's emitters
 * (pipe, or JSON with its continuation lines after the object, as in a
 * log file); a raw record (a line no parser accepted) is its stored line.
 * That text is what every renderer and --lines see, so the rest of
 * tracegrep works on archive records exactly as on file records. A
 * record's offset is its position in the lookup (frames oldest first),
 * which orders records without a timestamp as the archive holds them.
 */
#include <stdlib.h>
#include <string.h>

#include <store/archive.h>
#include <store/archive_sum.h>
#include <store/chunk.h>
#include "fmt/detect.h"
#include "fmt/json.h"
#include "fmt/pipe.h"
#include "tg.h"
#include "banned.h"

/* What the archive input holds (struct tg_input.priv). */
struct tg_arch {
	arch *a;		  /* read-only handle */
	char *dir;		  /* as given */
	int64_t since_ns;	  /* lookup window, INT64_MIN for none */
	int64_t until_ns;	  /* INT64_MAX for none */
	bool stats;		  /* report each lookup's counters on stderr */
	uint64_t next_off;	  /* position of the next kept record */
	struct tg_buf emit;	  /* emitter output, reused */
	struct fmt_record *rec;	  /* unpacked record, reused */
	struct fmt_record *again; /* scratch: tg_record_text()'s, then the text parsed again */
};

/* One lookup: what the callback needs. */
struct lookup {
	struct tg_arch *ta;	 /* the archive */
	const struct tg_scan *s; /* needle and structural test */
	bool prefilter;		 /* skip frames whose bytes lack the needle */
	uint32_t src;		 /* the input's index */
	struct tg_recs *out;	 /* kept records */
	uint32_t corrupt;	 /* frames with an undecodable record */
	bool trace_seen;	 /* a kept record has the needle as its trace */
};

static void on_diag(void *cookie, const char *msg)
{
	fprintf(stderr, "tracegrep: archive %s: %s\n", (const char *)cookie, msg);
}

/* Keep text[0, len) as a record; @r is what it came from (used if the text does not parse again). */
static void keep(struct lookup *lk, const char *text, size_t len, const struct fmt_record *r)
{
	struct tg_recs *out = lk->out;
	struct tg_rec k = {0};

	/* A trailing empty line is not part of the record, as in a file. */
	while (len > 0 && text[len - 1] == '\n')
		len--;
	k.text = tg_xstrndup(text, len);
	k.len = len;
	k.src = lk->src;
	k.off = lk->ta->next_off++;
	if (fmt_parse(k.text, k.len, lk->ta->again, NULL) == 0)
		tg_rec_from_parsed(&k, lk->ta->again);
	else
		tg_rec_from_parsed(&k, r);
	if (k.trace && strlen(k.trace) == lk->s->finder.len &&
	    memcmp(k.trace, lk->s->finder.needle, lk->s->finder.len) == 0)
		lk->trace_seen = true;
	if (out->n == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 64;
		out->v = tg_xrealloc(out->v, out->cap * sizeof(*out->v));
	}
	out->v[out->n++] = k;
}

static int on_frame(void *cookie, const void *payload, size_t len, const struct arch_chunk_meta *meta)
{
	struct lookup *lk = cookie;
	struct tg_arch *ta = lk->ta;
	const char *id = lk->s->finder.needle;
	size_t idlen = lk->s->finder.len;
	struct chunk_iter it;
	struct record_src src;
	int rc;

	(void)meta;
	if (lk->prefilter && !tg_find(&lk->s->finder, payload, len))
		return 0;
	chunk_iter_init_bytes(&it, payload, len);
	while ((rc = chunk_iter_next(&it, ta->rec, &src)) == 1) {
		if (src.raw) {
			/* A line no parser took: it can match only if it parses now (a newer parser). */
			if (!src.line.ptr || !tg_find(&lk->s->finder, src.line.ptr, src.line.len) ||
			    fmt_parse(src.line.ptr, src.line.len, ta->rec, NULL) != 0 ||
			    !tg_record_matches(ta->rec, id, idlen, lk->s->want))
				continue;
			keep(lk, src.line.ptr, src.line.len, ta->rec);
			continue;
		}
		if (!tg_record_matches(ta->rec, id, idlen, lk->s->want))
			continue;
		if (tg_record_text(&ta->emit, ta->rec, ta->again) < 0) {
			lk->corrupt++;
			continue;
		}
		keep(lk, ta->emit.data, ta->emit.len, ta->rec);
	}
	if (rc < 0)
		lk->corrupt++;
	return 0;
}

static void report(const struct tg_arch *ta, const char *what, const char *id,
		   const struct arch_find_stats *st)
{
	if (!ta->stats)
		return;
	fprintf(stderr,
		"tracegrep: archive %s: %s %s: %u segments, %u examined, %u opened, %u frames read, %u corrupt\n",
		ta->dir, what, id, st->segments, st->examined, st->opened, st->frames_read,
		st->frames_corrupt);
}

static int scan_archive(struct tg_input *in, size_t unit, const struct tg_scan *s, struct tg_recs *out,
			struct tg_err *err)
{
	struct tg_arch *ta = in->priv;
	struct lookup lk = {.ta = ta, .s = s, .src = in->src};
	struct tg_recs found = {0};
	struct arch_find_stats st;
	struct cd_err ce = {0};
	int rc;

	(void)unit;
	if (s->visitor)
		return 0; /* --find: the archive's summaries are read by tg_archive_summaries() */
	lk.out = &found;
	rc = arch_find(ta->a, s->finder.needle, s->finder.len, ta->since_ns, ta->until_ns, on_frame, &lk, &st,
		       &ce);
	report(ta, "find", s->finder.needle, &st);
	if (rc == 0 && s->want == TG_WANT_ELEMENT && !lk.trace_seen) {
		/* Not a transaction ID: the index cannot say where a span is; read every frame. */
		tg_recs_free(&found);
		lk.prefilter = true;
		lk.trace_seen = false;
		rc = arch_scan(ta->a, ta->since_ns, ta->until_ns, on_frame, &lk, &st, &ce);
		report(ta, "scan for", s->finder.needle, &st);
	}
	tg_recs_append(out, &found);
	if (rc < 0) {
		tg_err_set(err, -TG_EIO, ce.sys_errno, "archive %s: %s", ta->dir,
			   ce.msg[0] ? ce.msg : cd_strerror(rc));
		return -TG_EIO;
	}
	if (lk.corrupt) {
		tg_err_set(err, -TG_EDATA, 0, "archive %s: %u chunks held records that could not be decoded",
			   ta->dir, lk.corrupt);
		return -TG_EDATA;
	}
	return 0;
}

/*
 * A transaction whose start is inside the --since/--until window may have
 * records outside it (it ran across an edge): segments this much beyond
 * the window are read too, so its summary is whole.
 */
#define FIND_SLACK_NS (INT64_C(300) * 1000000000)

static int64_t widen(int64_t t, int64_t by)
{
	if (t == INT64_MIN || t == INT64_MAX)
		return t;
	if (by < 0)
		return t < INT64_MIN - by ? INT64_MIN : t + by;
	return t > INT64_MAX - by ? INT64_MAX : t + by;
}

int tg_archive_summaries(struct tg_input *in, size_t newest, struct qy_txns *out, struct tg_err *err)
{
	struct tg_arch *ta = in->priv;
	struct arch_sum_stats st;
	struct cd_err ce = {0};
	int rc = arch_summaries_newest(ta->a, widen(ta->since_ns, -FIND_SLACK_NS),
				       widen(ta->until_ns, FIND_SLACK_NS), newest, FIND_SLACK_NS, out, &st,
				       &ce);

	if (ta->stats)
		fprintf(stderr,
			"tracegrep: archive %s: summaries: %u segments, %u examined, %u from summary files "
			"(%llu bytes), %u scanned%s\n",
			ta->dir, st.segments, st.examined, st.from_file, (unsigned long long)st.bytes_read,
			st.scanned, st.partial ? "; older segments not needed" : "");
	if (rc < 0) {
		tg_err_set(err, -TG_EIO, ce.sys_errno, "archive %s: %s", ta->dir,
			   ce.msg[0] ? ce.msg : cd_strerror(rc));
		return -TG_EIO;
	}
	return st.partial ? 1 : 0;
}

static void release_archive(struct tg_input *in)
{
	struct tg_arch *ta = in->priv;

	if (!ta)
		return;
	arch_close(ta->a, NULL);
	tg_buf_free(&ta->emit);
	free(ta->rec);
	free(ta->again);
	free(ta->dir);
	free(ta);
	in->priv = NULL;
}

static const struct tg_input_ops ops_archive = {
	.kind = "archive",
	.scan = scan_archive,
	.release = release_archive,
};

int tg_inputs_add_archive(struct tg_inputs *ins, const char *dir, int64_t since_ns, int64_t until_ns,
			  bool stats, struct tg_err *err)
{
	struct tg_arch *ta = tg_xcalloc(1, sizeof(*ta));
	struct arch_options opt;
	struct cd_err ce = {0};
	struct tg_input *in;
	int rc;

	ta->dir = tg_xstrndup(dir, strlen(dir));
	arch_options_default(&opt);
	opt.read_only = true;
	opt.on_diag = on_diag;
	opt.cookie = ta->dir;
	rc = arch_open(&ta->a, dir, &opt, &ce);
	if (rc < 0) {
		if (rc == -CD_ENOENT)
			tg_err_set(err, -TG_EIO, ce.sys_errno, "archive %s: no such directory", dir);
		else
			tg_err_set(err, -TG_EIO, ce.sys_errno, "archive %s: %s", dir,
				   ce.msg[0] ? ce.msg : cd_strerror(rc));
		free(ta->dir);
		free(ta);
		return -TG_EIO;
	}
	ta->since_ns = since_ns;
	ta->until_ns = until_ns;
	ta->stats = stats;
	ta->rec = tg_xmalloc(sizeof(*ta->rec));
	ta->again = tg_xmalloc(sizeof(*ta->again));
	in = tg__inputs_push(ins, dir);
	in->ops = &ops_archive;
	in->priv = ta;
	in->nunits = 1;
	return 0;
}
