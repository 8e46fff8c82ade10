/*
 * json_emit.c - write a record as one JSON object (one line, no newline).
 *
 * DESIGN: the object is built left to right into the caller's buffer, and
 * every write checks the room left first, so nothing is ever written at or
 * past @cap; on -FMT_ETRUNC the bytes already written are garbage to the
 * caller. Keys come in a fixed order, each only when the record has it:
 *
 *   timestamp, level|severity, service, trace, span, parent, [ids],
 *   method, path, message, event, then the attributes in record order.
 *
 * The output is always valid JSON, whatever the record holds:
 * - strings go through fmt_json_escape(), which also turns invalid UTF-8
 *   into U+FFFD (a RAW string of plain printable ASCII, the common case,
 *   is copied in one memcpy instead);
 * - a value typed number/bool/null/object/array is copied as its text only
 *   after it is checked to be that (a number by the RFC 8259 grammar, an
 *   object or array by fmt_json_validate()); text that is not is written
 *   as a JSON string instead. Line breaks between the tokens of an object
 *   or array become spaces, so the object stays on one line;
 * - an attribute named like a key the emitter writes is written as
 *   "_" + key, so no key appears twice (two attributes with the same name
 *   stay two members, as in the input); so is one the parser would read
 *   back as a field the line does not already give at a better rank
 *   ("trace.id" when the record has no trace), as fmt__json_claim() says,
 *   so that parsing the line gives the record again.
 * A timestamp that did not parse (FMT_F_TS_INVALID) is written as the text
 * it had, so nothing is lost; the continuation lines (a stack trace) are
 * appended to the message after "\n".
 * Pure function: no allocation, no global state, thread-safe.
 */
#include <stdint.h>
#include <string.h>

#include "fmt/json.h"
#include "fmt/str.h"
#include "fmt/ts.h"
#include "json_scan.h"
#include "put.h"

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/*
 * Whether any byte of @v needs fmt_json_escape(): below 0x20, '"', '\\',
 * DEL, or non-ASCII (which it checks for valid UTF-8 and C1 controls),
 * 8 bytes at a time. (v + ONES) | v has the high bit of every byte
 * >= 0x7F; a carry out of 0xFF only makes a false positive.
 */
static inline bool swar_special(uint64_t v)
{
	uint64_t quote = v ^ (ONES * '"'), bsl = v ^ (ONES * '\\');

	return (((v - ONES * 0x20) & ~v) | ((quote - ONES) & ~quote) | ((bsl - ONES) & ~bsl) | (v + ONES) |
		v) &
	       HIGHS;
}

/*
 * The inside of a JSON string for @s (present). Most values are RAW
 * printable ASCII with nothing to escape: those are copied in one go.
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
		while (i < s->len && p[i] >= 0x20 && p[i] < 0x7F && p[i] != '"' && p[i] != '\\')
			i++;
		if (i == s->len)
			return put(out, cap, pos, s->ptr, s->len);
	}
	return fmt_json_escape(s, out, cap, pos);
}

/* A JSON string of the decoded value of @s (present). */
static int put_string(const struct fmt_str *s, char *out, size_t cap, size_t *pos)
{
	int rc;

	if ((rc = put_c(out, cap, pos, '"')) < 0 || (rc = put_escaped(s, out, cap, pos)) < 0)
		return rc;
	return put_c(out, cap, pos, '"');
}

/*
 * The keys the emitter writes, each with a value of the kind it writes
 * under it, which is what fmt__json_claim() needs to tell the field and
 * rank the key gives the parser.
 */
enum fixed_key {
	FK_TIMESTAMP,
	FK_AT_TIMESTAMP,
	FK_AT_VERSION,
	FK_LEVEL,
	FK_SEVERITY,
	FK_SERVICE,
	FK_TRACE,
	FK_SPAN,
	FK_PARENT,
	FK_IDS,
	FK_METHOD,
	FK_PATH,
	FK_MESSAGE,
	FK_EVENT,
	FK_COUNT,
};

#define FK_ATTRS FK_COUNT /* the bit of "written" that says an attribute was */

static const struct fmt_attr fixed_keys[FK_COUNT] = {
#define FIXED(id, k, type, v) [id] = {{k, sizeof(k) - 1, FMT_ENC_RAW}, {v, sizeof(v) - 1, FMT_ENC_RAW}, type}
	FIXED(FK_TIMESTAMP, "timestamp", FMT_T_STRING, "x"),
	FIXED(FK_AT_TIMESTAMP, "@timestamp", FMT_T_STRING, "x"),
	FIXED(FK_AT_VERSION, "@version", FMT_T_STRING, "1"),
	FIXED(FK_LEVEL, "level", FMT_T_STRING, "x"),
	FIXED(FK_SEVERITY, "severity", FMT_T_STRING, "x"),
	FIXED(FK_SERVICE, "service", FMT_T_STRING, "x"),
	FIXED(FK_TRACE, "trace", FMT_T_STRING, "x"),
	FIXED(FK_SPAN, "span", FMT_T_STRING, "x"),
	FIXED(FK_PARENT, "parent", FMT_T_STRING, "x"),
	FIXED(FK_IDS, "ids", FMT_T_ARRAY, "[\"x\"]"),
	FIXED(FK_METHOD, "method", FMT_T_STRING, "x"),
	FIXED(FK_PATH, "path", FMT_T_STRING, "x"),
	FIXED(FK_MESSAGE, "message", FMT_T_STRING, "x"),
	FIXED(FK_EVENT, "event", FMT_T_STRING, "span"),
#undef FIXED
};

/*
 * The separator and fixed key @id; *written holds a bit per key written
 * so far (and FK_ATTRS), so 0 means this member is the first.
 */
static int put_key(enum fixed_key id, unsigned *written, char *out, size_t cap, size_t *pos)
{
	const struct fmt_str *k = &fixed_keys[id].key;
	int rc;

	if (*written && (rc = put_c(out, cap, pos, ',')) < 0)
		return rc;
	*written |= 1u << id;
	if ((rc = put_c(out, cap, pos, '"')) < 0 || (rc = put(out, cap, pos, k->ptr, k->len)) < 0)
		return rc;
	return put(out, cap, pos, "\":", 2);
}

/* A fixed key and a string value, when @s is present. */
static int put_member(enum fixed_key id, const struct fmt_str *s, unsigned *written, char *out, size_t cap,
		      size_t *pos)
{
	int rc;

	if (!s->ptr)
		return 0;
	if ((rc = put_key(id, written, out, cap, pos)) < 0)
		return rc;
	return put_string(s, out, cap, pos);
}

/*
 * Whether attribute @a, its value written as @type, must be renamed "_" +
 * key: its key is one the emitter writes (always for its own names, only
 * when written for Logstash's, which plain lines do not have), or the
 * parser would take it for a field that no fixed key in @written gives at
 * the same or a better rank. Every fixed key but "@version" is a field's
 * name, so most attributes are settled by the one fmt__json_claim().
 */
static bool renamed(const struct fmt_attr *a, uint8_t type, unsigned written)
{
	const unsigned logstash_only = 1u << FK_AT_TIMESTAMP | 1u << FK_AT_VERSION;
	const struct fmt_attr as_written = {a->key, a->val, type};
	unsigned rank, fixed_rank;
	int field = fmt__json_claim(&as_written, &rank);

	if (FMT__LIKELY(field == FMT__JSON_NOT_ALIAS))
		return (written & (1u << FK_AT_VERSION)) &&
		       fmt_str_eq(&a->key, fixed_keys[FK_AT_VERSION].key.ptr,
				  fixed_keys[FK_AT_VERSION].key.len);
	for (unsigned i = 0; i < FK_COUNT; i++) {
		if (!(logstash_only & ~written & (1u << i)) &&
		    fmt_str_eq(&a->key, fixed_keys[i].key.ptr, fixed_keys[i].key.len))
			return true;
	}
	if (field < 0)
		return false;
	for (unsigned i = 0; i < FK_COUNT; i++) {
		if ((written & (1u << i)) && fmt__json_claim(&fixed_keys[i], &fixed_rank) == field &&
		    fixed_rank <= rank)
			return false;
	}
	return true;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Whether s[0..n) is exactly one number by the RFC 8259 grammar. */
static bool is_json_number(const char *s, size_t n)
{
	size_t i = 0;

	if (i < n && s[i] == '-')
		i++;
	if (i >= n || !is_digit(s[i]))
		return false;
	if (s[i] == '0')
		i++;
	else
		while (i < n && is_digit(s[i]))
			i++;
	if (i < n && s[i] == '.') {
		i++;
		if (i >= n || !is_digit(s[i]))
			return false;
		while (i < n && is_digit(s[i]))
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || !is_digit(s[i]))
			return false;
		while (i < n && is_digit(s[i]))
			i++;
	}
	return i == n;
}

static bool is_lit(const struct fmt_str *v, const char *lit, size_t n)
{
	return v->len == n && memcmp(v->ptr, lit, n) == 0;
}

/* Whether the text of a non-string value can be copied as it is. */
static bool is_raw_ok(const struct fmt_attr *a)
{
	const struct fmt_str *v = &a->val;

	if (v->enc != FMT_ENC_RAW)
		return false;
	switch (a->type) {
	case FMT_T_NUMBER:
		return is_json_number(v->ptr, v->len);
	case FMT_T_BOOL:
		return is_lit(v, "true", 4) || is_lit(v, "false", 5);
	case FMT_T_NULL:
		return is_lit(v, "null", 4);
	case FMT_T_OBJECT:
		return v->len > 0 && v->ptr[0] == '{' && fmt_json_validate(v->ptr, v->len, NULL) == 0;
	case FMT_T_ARRAY:
		return v->len > 0 && v->ptr[0] == '[' && fmt_json_validate(v->ptr, v->len, NULL) == 0;
	default:
		return false;
	}
}

static int put_raw(const struct fmt_attr *a, char *out, size_t cap, size_t *pos)
{
	size_t start = *pos;
	int rc;

	rc = put(out, cap, pos, a->val.ptr, a->val.len);
	if (rc < 0 || (a->type != FMT_T_OBJECT && a->type != FMT_T_ARRAY))
		return rc;
	/* Validated JSON holds CR/LF only as whitespace between tokens. */
	for (size_t i = start; i < *pos; i++) {
		if (out[i] == '\n' || out[i] == '\r')
			out[i] = ' ';
	}
	return 0;
}

static int put_attr(const struct fmt_attr *a, unsigned *written, char *out, size_t cap, size_t *pos)
{
	static const struct fmt_str empty = {"", 0, FMT_ENC_RAW};
	const struct fmt_str *key = a->key.ptr ? &a->key : &empty;
	/* The type the value is written as: text that is not what its type says becomes a string. */
	const uint8_t type = !a->val.ptr ? (a->type == FMT_T_STRING ? FMT_T_STRING : FMT_T_NULL)
			     : a->type != FMT_T_STRING && is_raw_ok(a) ? a->type
								       : FMT_T_STRING;
	const bool rename = a->key.ptr && renamed(a, type, *written);
	int rc;

	if (*written && (rc = put_c(out, cap, pos, ',')) < 0)
		return rc;
	*written |= 1u << FK_ATTRS;
	if ((rc = put_c(out, cap, pos, '"')) < 0)
		return rc;
	if (rename && (rc = put_c(out, cap, pos, '_')) < 0)
		return rc;
	if ((rc = put_escaped(key, out, cap, pos)) < 0 || (rc = put(out, cap, pos, "\":", 2)) < 0)
		return rc;

	if (!a->val.ptr)
		return put(out, cap, pos, type == FMT_T_STRING ? "\"\"" : "null",
			   type == FMT_T_STRING ? 2 : 4);
	if (type != FMT_T_STRING)
		return put_raw(a, out, cap, pos);
	return put_string(&a->val, out, cap, pos);
}

static int put_message(const struct fmt_record *rec, unsigned *written, char *out, size_t cap, size_t *pos)
{
	int rc;

	if (!rec->message.ptr && !rec->cont.ptr)
		return 0;
	if ((rc = put_key(FK_MESSAGE, written, out, cap, pos)) < 0 || (rc = put_c(out, cap, pos, '"')) < 0)
		return rc;
	if (rec->message.ptr) {
		rc = put_escaped(&rec->message, out, cap, pos);
		if (rc < 0)
			return rc;
		if (rec->cont.ptr && (rc = put(out, cap, pos, "\\n", 2)) < 0)
			return rc;
	}
	if (rec->cont.ptr && (rc = put_escaped(&rec->cont, out, cap, pos)) < 0)
		return rc;
	return put_c(out, cap, pos, '"');
}

static int emit(const struct fmt_record *rec, unsigned opts, char *out, size_t cap, size_t *pos)
{
	unsigned written = 0;
	int rc;

	const bool ls = opts & FMT_JSON_LOGSTASH;
	const enum fixed_key ts_key = ls ? FK_AT_TIMESTAMP : FK_TIMESTAMP;

	if ((rc = put_c(out, cap, pos, '{')) < 0)
		return rc;
	if (ls && ((rc = put_key(FK_AT_VERSION, &written, out, cap, pos)) < 0 ||
		   (rc = put(out, cap, pos, "\"1\"", 3)) < 0))
		return rc;

	if (rec->has_ts) {
		char ts[FMT_TS_MAX];
		size_t n = fmt_ts_format(rec->ts_ns, -1, ts);

		if ((rc = put_key(ts_key, &written, out, cap, pos)) < 0 ||
		    (rc = put_c(out, cap, pos, '"')) < 0 || (rc = put(out, cap, pos, ts, n)) < 0 ||
		    (rc = put_c(out, cap, pos, '"')) < 0)
			return rc;
	} else if ((rc = put_member(ts_key, &rec->ts_text, &written, out, cap, pos)) < 0) {
		return rc;
	}

	if (rec->level >= FMT_LEVEL_TRACE && rec->level <= FMT_LEVEL_OTHER) {
		const bool sev = opts & FMT_JSON_SEVERITY;
		const enum fixed_key key = sev ? FK_SEVERITY : FK_LEVEL;

		if (rec->level != FMT_LEVEL_OTHER) {
			const char *name = fmt_level_name((enum fmt_level)rec->level);
			const struct fmt_str v = {name, (uint32_t)strlen(name), FMT_ENC_RAW};

			rc = put_member(key, &v, &written, out, cap, pos);
		} else {
			rc = put_member(key, &rec->level_text, &written, out, cap, pos);
		}
		if (rc < 0)
			return rc;
	}

	if ((rc = put_member(FK_SERVICE, &rec->service, &written, out, cap, pos)) < 0 ||
	    (rc = put_member(FK_TRACE, &rec->trace, &written, out, cap, pos)) < 0 ||
	    (rc = put_member(FK_SPAN, &rec->span, &written, out, cap, pos)) < 0 ||
	    (rc = put_member(FK_PARENT, &rec->parent, &written, out, cap, pos)) < 0)
		return rc;

	if ((opts & FMT_JSON_IDS) && rec->nids > 0) {
		if ((rc = put_key(FK_IDS, &written, out, cap, pos)) < 0 ||
		    (rc = put_c(out, cap, pos, '[')) < 0)
			return rc;
		for (size_t i = 0; i < rec->nids; i++) {
			static const struct fmt_str empty = {"", 0, FMT_ENC_RAW};
			const struct fmt_str *id = rec->ids[i].ptr ? &rec->ids[i] : &empty;

			if (i > 0 && (rc = put_c(out, cap, pos, ',')) < 0)
				return rc;
			if ((rc = put_string(id, out, cap, pos)) < 0)
				return rc;
		}
		if ((rc = put_c(out, cap, pos, ']')) < 0)
			return rc;
	}

	if ((rc = put_member(FK_METHOD, &rec->method, &written, out, cap, pos)) < 0 ||
	    (rc = put_member(FK_PATH, &rec->path, &written, out, cap, pos)) < 0 ||
	    (rc = put_message(rec, &written, out, cap, pos)) < 0)
		return rc;

	if (rec->event == FMT_EVENT_SPAN || rec->event == FMT_EVENT_METRIC) {
		if ((rc = put_key(FK_EVENT, &written, out, cap, pos)) < 0)
			return rc;
		if (rec->event == FMT_EVENT_SPAN)
			rc = put(out, cap, pos, "\"span\"", 6);
		else
			rc = put(out, cap, pos, "\"metric\"", 8);
		if (rc < 0)
			return rc;
	}

	for (size_t i = 0; i < rec->nattrs; i++) {
		rc = put_attr(&rec->attrs[i], &written, out, cap, pos);
		if (rc < 0)
			return rc;
	}
	return put_c(out, cap, pos, '}');
}

int fmt_json_emit(const struct fmt_record *rec, unsigned opts, char *out, size_t cap, size_t *len)
{
	size_t pos = 0;
	int rc;

	if (!rec || !out || !len ||
	    (opts & ~(unsigned)(FMT_JSON_IDS | FMT_JSON_SEVERITY | FMT_JSON_LOGSTASH)) ||
	    rec->nids > FMT_IDS_MAX || rec->nattrs > FMT_ATTRS_MAX)
		return -FMT_EINVAL;
	rc = emit(rec, opts, out, cap, &pos);
	if (rc < 0)
		return rc;
	*len = pos;
	return 0;
}
