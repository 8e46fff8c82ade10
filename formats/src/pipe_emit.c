/*
 * pipe_emit.c - write a record as one pipe line.
 *
 * DESIGN: the output is built left to right into the caller's buffer, and
 * every write checks the room left first, so nothing is ever written at or
 * past @cap; on -FMT_ETRUNC the bytes already written are garbage to the
 * caller. Layout, each part only when the record has it:
 *
 *   [TIMESTAMP " "] [LEVEL " "] IDS "|" SERVICE "|" METHOD "|" PATH
 *   ["|msg=" MESSAGE] ["|event=" span|metric] ["|level=" LEVEL_TEXT]
 *   *("|" KEY "=" VALUE) ["\n" CONT]
 *
 * The line must always parse again, so what the grammar cannot carry is
 * bent to fit rather than written as is: an ID byte outside [A-Za-z0-9._-]
 * becomes '_' (an empty ID becomes "_"), '=' in a key becomes '_', an empty
 * key becomes "_", and an attribute that the parser would take for the
 * message or the event (msg= or message= in a record without a message,
 * event=span or event=metric in a plain log record) is written as "_" +
 * key. Other attributes named msg, message or event stay as they are: the
 * message and the event come first, so the parser reads these back as
 * attributes, and a pipe record survives emit and parse unchanged.
 * A level we do not know (FMT_LEVEL_OTHER) is not a level word the prefix
 * may hold; it goes out as the attribute level=.
 * A timestamp that did not parse (FMT_F_TS_INVALID) has no place in the
 * prefix and is left out. Values that are not strings (numbers, JSON
 * objects from a JSON line, ...) are written as their text, pipe-escaped.
 *
 * Escaped views (pipe or JSON escapes) are decoded and re-escaped with
 * fmt_pipe_escape(); a RAW view with nothing to escape (most of them) is
 * copied in one memcpy instead, which halves the cost of a line. The two places that need the plain bytes themselves
 * (an ID, the continuation lines) decode straight into the output when the
 * escaped length fits, else into a temporary buffer: the only allocation
 * here, and never reached for RAW views (what libtrace passes).
 * Pure function: no global state, thread-safe.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/pipe.h"
#include "fmt/str.h"
#include "fmt/ts.h"
#include "put.h"

/* Decoding needs up to s->len bytes; below this it uses the stack. */
#define DECODE_STACK 256

/*
 * Append the decoded bytes of @s (present) to out[*pos..cap).
 * Return: 0, or -FMT_ETRUNC with *pos unchanged.
 */
static int put_decoded(const struct fmt_str *s, char *out, size_t cap, size_t *pos)
{
	char stack[DECODE_STACK];
	char *tmp;
	size_t n;
	int rc;

	if (s->enc == FMT_ENC_RAW)
		return put(out, cap, pos, s->ptr, s->len);
	if (s->len <= cap - *pos) {
		*pos += fmt_str_decode(s, out + *pos);
		return 0;
	}
	/* The escaped form does not fit, the decoded one still may. */
	tmp = s->len <= sizeof(stack) ? stack : malloc(s->len);
	if (!tmp)
		return -FMT_ETRUNC; /* a larger buffer takes the path above */
	n = fmt_str_decode(s, tmp);
	rc = put(out, cap, pos, tmp, n);
	if (tmp != stack)
		free(tmp);
	return rc;
}

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/*
 * Whether any byte of @v is below 0x20 or is '|' or '\\': a superset of
 * what fmt_pipe_escape() escapes (| \\ LF CR TAB), tested 8 bytes at a
 * time. A false hit only costs the slow path.
 */
static inline bool swar_special(uint64_t v)
{
	uint64_t pipe = v ^ (ONES * '|'), bsl = v ^ (ONES * '\\');

	return (((v - ONES * 0x20) & ~v) | ((pipe - ONES) & ~pipe) | ((bsl - ONES) & ~bsl)) & HIGHS;
}

/*
 * A present view, pipe-escaped. Most values are RAW and hold nothing to
 * escape: those are copied in one go, the rest go to fmt_pipe_escape().
 */
static int put_escaped(const struct fmt_str *s, char *out, size_t cap, size_t *pos)
{
	if (s->enc == FMT_ENC_RAW) {
		const unsigned char *p = (const unsigned char *)s->ptr;
		size_t i = 0;
		uint64_t v;

		for (; i + 8 <= s->len; i += 8) {
			memcpy(&v, p + i, 8);
			if (swar_special(v))
				break;
		}
		while (i < s->len && p[i] >= 0x20 && p[i] != '|' && p[i] != '\\')
			i++;
		if (i == s->len)
			return put(out, cap, pos, s->ptr, s->len);
	}
	return fmt_pipe_escape(s, out, cap, pos);
}

/* 1 for the bytes of an ID: [A-Za-z0-9._-]. */
static const uint8_t id_byte[256] = {
	['-'] = 1, ['.'] = 1, ['_'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
	['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1,
	['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
	['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1,
	['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1,
	['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
};

static int put_id(const struct fmt_str *id, char *out, size_t cap, size_t *pos)
{
	size_t start = *pos;
	int rc;

	if (id->ptr) {
		rc = put_decoded(id, out, cap, pos);
		if (rc < 0)
			return rc;
	}
	if (*pos == start)
		return put_c(out, cap, pos, '_');
	for (size_t i = start; i < *pos; i++) {
		if (!id_byte[(unsigned char)out[i]])
			out[i] = '_';
	}
	return 0;
}

/* A fixed field: its escaped value, or "-" when absent. */
static int put_field(const struct fmt_str *s, char *out, size_t cap, size_t *pos)
{
	int rc = put_c(out, cap, pos, '|');

	if (rc < 0)
		return rc;
	if (!s->ptr)
		return put_c(out, cap, pos, '-');
	return put_escaped(s, out, cap, pos);
}

static bool key_is(const struct fmt_str *k, const char *lit, size_t n)
{
	if (k->enc == FMT_ENC_RAW)
		return k->len == n && memcmp(k->ptr, lit, n) == 0;
	return fmt_str_eq(k, lit, n);
}

/*
 * Whether @a, written as it is, would be read back as the message or the
 * event rather than as an attribute: the parser takes the first msg= or
 * message= as the message unless it already has one, and event=span or
 * event=metric as the event unless it already has one. The message and
 * the event are written before any attribute, so only a record without
 * them is at risk.
 */
static bool is_misread(const struct fmt_record *rec, const struct fmt_attr *a)
{
	if (!rec->message.ptr && (key_is(&a->key, "msg", 3) || key_is(&a->key, "message", 7)))
		return true;
	return rec->event == FMT_EVENT_LOG && key_is(&a->key, "event", 5) && a->val.ptr &&
	       (fmt_str_eq(&a->val, "span", 4) || fmt_str_eq(&a->val, "metric", 6));
}

static int put_attr(const struct fmt_record *rec, const struct fmt_attr *a, char *out, size_t cap,
		    size_t *pos)
{
	size_t start;
	int rc;

	rc = put_c(out, cap, pos, '|');
	if (rc < 0)
		return rc;
	if (a->key.ptr && is_misread(rec, a)) {
		rc = put_c(out, cap, pos, '_');
		if (rc < 0)
			return rc;
	}
	start = *pos;
	if (a->key.ptr) {
		rc = put_escaped(&a->key, out, cap, pos);
		if (rc < 0)
			return rc;
	}
	if (*pos == start) {
		rc = put_c(out, cap, pos, '_');
		if (rc < 0)
			return rc;
	}
	for (size_t i = start; i < *pos; i++) {
		if (out[i] == '=')
			out[i] = '_';
	}
	rc = put_c(out, cap, pos, '=');
	if (rc < 0 || !a->val.ptr)
		return rc;
	return put_escaped(&a->val, out, cap, pos);
}

static int put_kv(const char *key, size_t klen, const struct fmt_str *val, char *out, size_t cap, size_t *pos)
{
	int rc;

	rc = put_c(out, cap, pos, '|');
	if (rc < 0)
		return rc;
	rc = put(out, cap, pos, key, klen);
	if (rc < 0)
		return rc;
	rc = put_c(out, cap, pos, '=');
	if (rc < 0)
		return rc;
	return put_escaped(val, out, cap, pos);
}

static int emit(const struct fmt_record *rec, char *out, size_t cap, size_t *pos)
{
	bool has_level = rec->level >= FMT_LEVEL_TRACE && rec->level <= FMT_LEVEL_FATAL;
	int rc;

	if (rec->has_ts) {
		char ts[FMT_TS_MAX];
		size_t n = fmt_ts_format(rec->ts_ns, -1, ts);

		if ((rc = put(out, cap, pos, ts, n)) < 0 || (rc = put_c(out, cap, pos, ' ')) < 0)
			return rc;
	}
	if (has_level) {
		const char *name = fmt_level_name((enum fmt_level)rec->level);

		if ((rc = put(out, cap, pos, name, strlen(name))) < 0 || (rc = put_c(out, cap, pos, ' ')) < 0)
			return rc;
	}

	if (rec->nids == 0) {
		rc = put_c(out, cap, pos, '-');
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; i < rec->nids; i++) {
		if (i > 0 && (rc = put_c(out, cap, pos, ':')) < 0)
			return rc;
		rc = put_id(&rec->ids[i], out, cap, pos);
		if (rc < 0)
			return rc;
	}

	if ((rc = put_field(&rec->service, out, cap, pos)) < 0 ||
	    (rc = put_field(&rec->method, out, cap, pos)) < 0 ||
	    (rc = put_field(&rec->path, out, cap, pos)) < 0)
		return rc;

	if (rec->message.ptr && (rc = put_kv("msg", 3, &rec->message, out, cap, pos)) < 0)
		return rc;
	if (rec->event == FMT_EVENT_SPAN && (rc = put(out, cap, pos, "|event=span", 11)) < 0)
		return rc;
	if (rec->event == FMT_EVENT_METRIC && (rc = put(out, cap, pos, "|event=metric", 13)) < 0)
		return rc;
	if (rec->level == FMT_LEVEL_OTHER && rec->level_text.ptr &&
	    (rc = put_kv("level", 5, &rec->level_text, out, cap, pos)) < 0)
		return rc;

	for (size_t i = 0; i < rec->nattrs; i++) {
		rc = put_attr(rec, &rec->attrs[i], out, cap, pos);
		if (rc < 0)
			return rc;
	}

	if (rec->cont.ptr) {
		if ((rc = put_c(out, cap, pos, '\n')) < 0 ||
		    (rc = put_decoded(&rec->cont, out, cap, pos)) < 0)
			return rc;
	}
	return 0;
}

int fmt_pipe_emit(const struct fmt_record *rec, char *out, size_t cap, size_t *len)
{
	size_t pos = 0;
	int rc;

	if (!rec || !out || !len || rec->nids > FMT_IDS_MAX || rec->nattrs > FMT_ATTRS_MAX)
		return -FMT_EINVAL;
	rc = emit(rec, out, cap, &pos);
	if (rc < 0)
		return rc;
	*len = pos;
	return 0;
}
