/*
 * prefilter.c - from a buffer of log bytes to the records that match.
 *
 * DESIGN: only lines that contain the needle literally are parsed. Every
 * record that matches by structure holds the ID in its *first* line (the
 * IDS field of a pipe line, the trace/span/parent members of a JSON line),
 * so a hit on a line that is not a record start (a stack trace line that
 * mentions the ID) is skipped: its record either has the ID in its first
 * line too (and was taken when that line was hit, earlier in the buffer)
 * or is not a match. When a first line matches, the record is extended
 * over the lines after it that are not record starts (fmt_detect), so
 * continuation lines come with their record although they never hold the
 * ID. Records are copied out; the buffer may go away after the call.
 *
 * A record is owned by the region its first line starts in, so regions cut
 * at line starts never report a record twice; and as an ID holds no '\n',
 * the search itself never needs to look past the region's end.
 *
 * An OTLP/JSON line (the OTel Collector's file exporter: one export request
 * per line, otlp_json_line_kind()) holds many records: it is expanded by
 * the otlp library into clew JSON lines, one per span, span event, log
 * record or data point, and each of those is matched (or visited) as a
 * record of its own, all at the offset of the line they came from.
 *
 * A visiting scan (tracegrep --find) needs every record, so it has no
 * needle to skip by: it walks the region line by line, parses each
 * record (first line and continuation lines) in place, with no copy,
 * and hands it to the visitor. Lines before the region's first record
 * start are the continuation of a record the previous region owns. A
 * visitor with a want() test (--find's pre-pass, find_pre.c) is asked
 * first, with the record's raw bytes: a record it declines is not parsed.
 *
 * Lines in another layout (tracegrep -p, -c, --multiline-start) or inside
 * a container envelope (CRI, Docker json-file: -p, or detected on the
 * region's first line) take a slower walk, scan_layout(): each line is
 * unwrapped (partial lines joined), a record is a line the line parser
 * says starts one plus the lines after it that start none, and a record
 * is kept when its text holds the needle and it matches by structure.
 * The kept text is the unwrapped one, so it parses again without the
 * envelope; the runtime's time stands in for a record without its own.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <otlp/otlp.h>

#include "fmt/detect.h"
#include "lineparse.h"
#include "tg.h"
#include <parsers/envelope.h>
#include "banned.h"

static size_t line_end(const char *buf, size_t len, size_t at)
{
	const char *nl = memchr(buf + at, '\n', len - at);

	return nl ? (size_t)(nl - buf) : len;
}

/* Keep buf[ls, end) as a record (end excludes the last '\n'): copy, parse, summarise. */
static void keep(const char *buf, size_t ls, size_t end, uint32_t src, uint64_t base, struct tg_recs *out)
{
	struct tg_rec r = {0};
	struct fmt_record *rec = tg_xmalloc(sizeof(*rec));

	r.text = tg_xstrndup(buf + ls, end - ls);
	r.len = end - ls;
	r.src = src;
	r.off = base + ls;
	if (fmt_parse(r.text, r.len, rec, NULL) == 0)
		tg_rec_from_parsed(&r, rec);
	else
		r.node = -1;
	free(rec);
	tg_recs_push(out, &r);
}

/*
 * The records of the OTLP/JSON line buf[ls, le), when it is one: each
 * kept (a search: when it matches) or visited. Return: whether it was.
 */
static bool otlp_line(const struct tg_scan *s, const char *buf, size_t ls, size_t le, uint32_t src,
		      uint64_t base, struct tg_recs *out, struct fmt_record *rec)
{
	struct otlp_out o = {NULL, 0, 0};
	struct otlp_result res;
	enum otlp_kind kind;
	size_t at = 0;

	if (!otlp_json_line_kind(buf + ls, le - ls, &kind))
		return false;
	if (otlp_decode(kind, OTLP_JSON, buf + ls, le - ls, &o, &res) == 0) {
		while (at < o.len) {
			size_t e = (size_t)((const char *)memchr(o.buf + at, '\n', o.len - at) - o.buf);

			if (fmt_parse(o.buf + at, e - at, rec, NULL) == 0) {
				if (s->visitor)
					s->visitor->visit(out->visit_state, rec, src, base + ls);
				else if (tg_record_matches(rec, s->finder.needle, s->finder.len, s->want))
					keep(o.buf + at, 0, e - at, src, base + ls, out);
			}
			at = e + 1;
		}
	}
	otlp_out_free(&o);
	return true;
}

/* One logical line at @at: a physical line, or (in an envelope) its text with partial lines joined. */
struct lline {
	struct tg_buf text; /* the text (unwrapped) */
	size_t next;	    /* where the next logical line starts (past its '\n') */
	int64_t ts_ns;	    /* the envelope's time */
	bool has_ts;	    /* ts_ns is meaningful */
	bool cut;	    /* buf ended inside it (more may follow) */
	char *scratch;	    /* Docker's decoded text of one physical line */
	size_t scratch_cap; /* bytes at scratch */
};

static void read_lline(unsigned env, const char *buf, size_t len, size_t at, struct lline *l)
{
	bool first = true;

	l->text.len = 0;
	l->has_ts = false;
	l->cut = false;
	for (;;) {
		size_t le = line_end(buf, len, at);
		struct parse_env_line el;

		if (le >= len)
			l->cut = true;
		if (env && le - at + 1 > l->scratch_cap) { /* decoding never grows the text */
			l->scratch_cap = le - at + 1;
			l->scratch = tg_xrealloc(l->scratch, l->scratch_cap);
		}
		if (!env || parse_env_decode(env, buf + at, le - at, l->scratch, &el) != 0) {
			if (!first) /* not an envelope line: it is the next logical line */
				break;
			tg_buf_put(&l->text, buf + at, le - at);
			at = le + 1;
			break;
		}
		if (first && el.has_ts) {
			l->ts_ns = el.ts_ns;
			l->has_ts = true;
		}
		first = false;
		tg_buf_put(&l->text, el.text, el.len);
		at = le + 1;
		if (!el.partial || le >= len)
			break;
	}
	l->next = at;
}

/* tg_scan_region() for other layouts and envelopes (see the DESIGN note). */
static size_t scan_layout(const struct tg_scan *s, unsigned env, const char *buf, size_t len, size_t from,
			  size_t to, bool final, uint32_t src, uint64_t base, struct tg_recs *out)
{
	struct fmt_record *rec = tg_xmalloc(sizeof(*rec));
	struct lline l = {0}, c = {0};
	struct tg_buf text = {0};
	size_t at = from, ret = to;

	while (at < to) {
		size_t start = at;
		bool more = false; /* the record may go on past buf */

		read_lline(env, buf, len, at, &l);
		if (l.cut && !final) {
			ret = start;
			break;
		}
		at = l.next;
		if (!tg_lp_starts(l.text.data ? l.text.data : "", l.text.len))
			continue;
		text.len = 0;
		tg_buf_put(&text, l.text.data, l.text.len);
		/* the record goes on over the following lines that start no record */
		while (at < len) {
			read_lline(env, buf, len, at, &c);
			if (c.cut && !final) {
				more = true;
				break;
			}
			if (tg_lp_starts(c.text.data ? c.text.data : "", c.text.len))
				break;
			tg_buf_putc(&text, '\n');
			tg_buf_put(&text, c.text.data, c.text.len);
			at = c.next;
		}
		if (more || (at >= len && !final)) {
			ret = start;
			break;
		}
		while (text.len > l.text.len && text.data[text.len - 1] == '\n')
			text.len--;
		if (s->visitor) {
			if (tg_lp_parse(text.data, text.len, rec) == 0) {
				if (!rec->has_ts && l.has_ts) {
					rec->ts_ns = l.ts_ns;
					rec->has_ts = true;
				}
				s->visitor->visit(out->visit_state, rec, src, base + start);
			}
			continue;
		}
		if (!memmem(text.data, text.len, s->finder.needle, s->finder.len) ||
		    tg_lp_parse(text.data, text.len, rec) != 0 ||
		    !tg_record_matches(rec, s->finder.needle, s->finder.len, s->want))
			continue;
		{
			struct tg_rec r = {0};

			r.text = tg_xstrndup(text.data, text.len);
			r.len = text.len;
			r.src = src;
			r.off = base + start;
			if (tg_lp_parse(r.text, r.len, rec) == 0)
				tg_rec_from_parsed(&r, rec);
			else
				r.node = -1;
			if (!r.has_ts && l.has_ts) {
				r.ts_ns = l.ts_ns;
				r.has_ts = true;
			}
			tg_recs_push(out, &r);
		}
	}
	tg_buf_free(&l.text);
	tg_buf_free(&c.text);
	tg_buf_free(&text);
	free(l.scratch);
	free(c.scratch);
	free(rec);
	return ret;
}

/* tg_scan_region() of a visiting scan: every record whose first line starts in [from, to). */
static size_t visit_region(const struct tg_scan *s, const char *buf, size_t len, size_t from, size_t to,
			   bool final, uint32_t src, uint64_t base, struct tg_recs *out)
{
	struct fmt_record *rec = tg_xmalloc(sizeof(*rec));
	size_t at = from, known_le = 0;
	bool start_known = false; /* the line at @at was already seen to start a record, ending at known_le */

	while (at < to) {
		size_t le = start_known ? known_le : line_end(buf, len, at), end = le;

		if (!start_known && fmt_detect(buf + at, le - at) == FMT_UNKNOWN) {
			at = le + 1;
			continue;
		}
		start_known = false;
		while (end < len) {
			size_t ne = line_end(buf, len, end + 1);

			if (fmt_detect(buf + end + 1, ne - end - 1) != FMT_UNKNOWN) {
				start_known = true;
				known_le = ne; /* its end, not searched for again */
				break;
			}
			end = ne;
		}
		if (end >= len && !final) {
			free(rec);
			return at;
		}
		{
			size_t next = end + 1, e = end;

			/* A trailing empty line before the next record is not part of this one. */
			while (e > le && buf[e - 1] == '\n')
				e--;
			if (otlp_line(s, buf, at, le, src, base, out, rec))
				;
			else if (s->visitor->want &&
				 !s->visitor->want(out->visit_state, buf + at, e - at, src, base + at))
				; /* a pre-pass's test says its parse is not needed */
			else if (fmt_parse(buf + at, e - at, rec, NULL) == 0)
				s->visitor->visit(out->visit_state, rec, src, base + at);
			at = next;
		}
	}
	free(rec);
	return to;
}

size_t tg_scan_region(const struct tg_scan *s, const char *buf, size_t len, size_t from, size_t to,
		      bool final, uint32_t src, uint64_t base, struct tg_recs *out)
{
	const char *id = s->finder.needle;
	size_t idlen = s->finder.len, at = from;
	struct fmt_record *rec = NULL;

	if (from < to) {
		unsigned env = tg_lp_envelope(buf + from, line_end(buf, len, from) - from);

		if (env || !tg_lp_plain())
			return scan_layout(s, env, buf, len, from, to, final, src, base, out);
	}
	if (s->visitor)
		return visit_region(s, buf, len, from, to, final, src, base, out);

	assert(from <= to && to <= len);
	assert(idlen > 0 && !memchr(id, '\n', idlen)); /* an ID never spans lines: regions need no overlap */

	while (at < to) {
		const char *hit = tg_find(&s->finder, buf + at, to - at);
		size_t p, ls, le, end;
		const char *nl;

		if (!hit)
			break;
		p = (size_t)(hit - buf);
		nl = p > from ? memrchr(buf + from, '\n', p - from) : NULL;
		ls = nl ? (size_t)(nl - buf) + 1 : from;
		if (ls >= to)
			break;
		le = line_end(buf, len, p);
		at = le + 1;
		if (fmt_detect(buf + ls, le - ls) == FMT_UNKNOWN)
			continue;
		if (!rec)
			rec = tg_xmalloc(sizeof(*rec));
		if (le >= len && !final && otlp_json_line_kind(buf + ls, le - ls, &(enum otlp_kind){0})) {
			free(rec);
			return ls; /* the line may go on in the next window */
		}
		if (otlp_line(s, buf, ls, le, src, base, out, rec))
			continue;
		if (fmt_parse(buf + ls, le - ls, rec, NULL) != 0 ||
		    !tg_record_matches(rec, id, idlen, s->want))
			continue;
		/* The record goes on over the following lines that start no record. */
		end = le;
		while (end < len) {
			size_t ne = line_end(buf, len, end + 1);

			if (fmt_detect(buf + end + 1, ne - end - 1) != FMT_UNKNOWN)
				break;
			end = ne;
		}
		if (end >= len && !final) {
			free(rec);
			return ls;
		}
		/* A trailing empty line before the next record is not part of this one. */
		while (end > le && buf[end - 1] == '\n')
			end--;
		keep(buf, ls, end, src, base, out);
		at = end + 1;
	}
	free(rec);
	return to;
}
