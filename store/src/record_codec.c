/*
 * store/src/record_codec.c - a record <-> msgpack, losslessly.
 *
 * DESIGN: one record is one msgpack array, positional (no keys: a record
 * of the generated corpus packs to ~0.8x its pipe line). Version 1:
 *
 *   parsed record = array(18 | 19):
 *     0 kind      0
 *     1 ts        int (ns since the epoch, UTC) | nil (no valid timestamp)
 *     2 level     uint (enum fmt_level)
 *     3 level_txt str | nil | true (the canonical name, fmt_level_name(level))
 *     4 event     uint (enum fmt_event)
 *     5 format    uint (enum fmt_format)
 *     6 flags     uint (FMT_F_*)
 *     7 ts_text   str | nil (kept only when ts is nil: an invalid timestamp's
 *                 text; a valid one is ts, formatted again by emitters)
 *     8 ids       array of str, outermost first
 *     9 trace     str | nil | uint k: the same bytes as ids[k]
 *    10 span      idem
 *    11 parent    idem
 *    12 service   str | nil     13 method    14 path    15 message
 *    16 cont      str | nil
 *    17 attrs     array of 3n: key str, type uint (enum fmt_type), value str
 *    18 src       (optional) nil | array(5): input str|nil, offset uint,
 *                 line bin|nil, error str|nil, err_offset uint
 *    19...        (later versions) skipped by this reader
 *   raw record    = array(2): 1, src
 *
 * Strings are written decoded: a str body is the plain value (bytes as the
 * input had them; not checked to be UTF-8). A typed attribute (number,
 * bool, null, object, array) keeps its JSON text. Readers skip items past
 * the ones they know, so a later version may append fields.
 *
 * Why a hand-written reader and writer (store/mpack.h) instead of
 * msgpack-c's: the reader must be zero-copy and allocation-free, and must
 * treat the bytes as hostile. msgpack_unpack_next() builds a msgpack_object
 * tree in a zone (an allocation per record, or a caller-managed zone we
 * would have to size and reset) and then we would walk that tree to fill
 * the record: two passes and a copy of the structure. The writer must
 * decode escapes straight into the output, which msgpack_pack_str() (length
 * first) cannot do without a scratch copy. The tests read our bytes with
 * msgpack-c as the independent reader, as the formats tests use jansson.
 */
#include <string.h>

#include <store/mpack.h>
#include <store/record_codec.h>
#include "fmt/str.h"
#include <store/err.h>

enum { KIND_RECORD = 0, KIND_RAW = 1 };
enum { NFIELDS = 18, NFIELDS_SRC = 19, NSRC = 5 };
/*
 * The head of a parsed record with a timestamp past 2^32 ns (1970-02-19), a
 * canonical level, event, format and flags under 128 and fewer than 16 IDs:
 * array16, kind, uint64 ts, level, true, event, format, flags, nil, fixarray.
 */
enum { HEAD_LEN = 20 };

/* An escaped view, decoded, as str (put_view()'s rare case). */
static const uint8_t *put_view_slow(struct mp_w *w, const struct fmt_str *s)
{
	size_t h, n, h2;
	uint8_t *body;

	/* decoding never grows a view: reserve for s->len, shrink the header after */
	h = mp_str_hdr_len(s->len);
	if (!mp_room(w, h + s->len))
		return NULL;
	n = fmt_str_decode(s, (char *)w->p + h);
	h2 = mp_str_hdr_len(n);
	if (h2 != h)
		memmove(w->p + h2, w->p + h, n);
	mp_str_hdr_at(w->p, n);
	body = w->p + h2;
	w->p += h2 + n;
	return body;
}

/*
 * A view, decoded, as str; nil when absent. Returns the body's position.
 * Inline: a record is a dozen views, nearly all plain bytes, and a call
 * per view (with the writer kept in memory across it) cost more than
 * their copies.
 */
static inline __attribute__((always_inline)) const uint8_t *put_view(struct mp_w *w, const struct fmt_str *s)
{
	if (!s->ptr) {
		mp_put_nil(w);
		return NULL;
	}
	if (s->enc == FMT_ENC_RAW) {
		mp_put_str(w, s->ptr, s->len);
		return w->overflow ? NULL : w->p - s->len;
	}
	return put_view_slow(w, s);
}

static bool level_text_is_canonical(const struct fmt_record *r)
{
	const char *name;

	if (!r->level_text.ptr || r->level_text.enc != FMT_ENC_RAW || r->level < FMT_LEVEL_TRACE ||
	    r->level > FMT_LEVEL_FATAL)
		return false;
	name = fmt_level_name(r->level);
	/* a level name is a few bytes: compared inline, no strlen() + memcmp() per record */
	for (uint32_t i = 0; i < r->level_text.len; i++)
		if (!name[i] || name[i] != r->level_text.ptr[i])
			return false;
	return name[r->level_text.len] == '\0';
}

static bool same_view(const struct fmt_str *a, const struct fmt_str *b)
{
	if (!a->ptr || !b->ptr || a->len != b->len)
		return false;
	if (a->ptr == b->ptr && a->enc == b->enc)
		return true;
	return a->enc == FMT_ENC_RAW && b->enc == FMT_ENC_RAW && memcmp(a->ptr, b->ptr, a->len) == 0;
}

/* trace/span/parent: a reference to ids[k] when it is the same bytes. */
static inline __attribute__((always_inline)) const uint8_t *
put_ref(struct mp_w *w, const struct fmt_record *r, const struct fmt_str *s, int k,
	const uint8_t *const *id_body, uint32_t *len)
{
	const uint8_t *body;

	if (k >= 0 && k < r->nids && same_view(s, &r->ids[k]) && id_body[k]) {
		mp_put_uint(w, (uint64_t)k);
		*len = (uint32_t)(w->overflow ? 0 : id_body[k + FMT_IDS_MAX] - id_body[k]);
		return w->overflow ? NULL : id_body[k];
	}
	body = put_view(w, s);
	*len = body ? (uint32_t)(w->p - body) : 0;
	return body;
}

static void put_src(struct mp_w *w, const struct record_src *src)
{
	mp_put_array(w, NSRC);
	put_view(w, &src->input);
	mp_put_uint(w, src->offset);
	if (src->line.ptr)
		mp_put_bin(w, src->line.ptr, src->line.len); /* verbatim: the line as read */
	else
		mp_put_nil(w);
	put_view(w, &src->error);
	mp_put_uint(w, src->err_offset);
}

static size_t view_bound(const struct fmt_str *s)
{
	return 5 + (s->ptr ? s->len : 0);
}

size_t record_pack_bound(const struct fmt_record *r, const struct record_src *src)
{
	size_t n = 16;

	if (src)
		n += 8 + view_bound(&src->input) + 9 + view_bound(&src->line) + view_bound(&src->error) + 9;
	if (!r || (src && src->raw))
		return n;
	n += 9 * 8 + view_bound(&r->level_text) + view_bound(&r->ts_text) + view_bound(&r->trace) +
	     view_bound(&r->span) + view_bound(&r->parent) + view_bound(&r->service) +
	     view_bound(&r->method) + view_bound(&r->path) + view_bound(&r->message) + view_bound(&r->cont);
	for (uint16_t i = 0; i < r->nids && i < FMT_IDS_MAX; i++)
		n += view_bound(&r->ids[i]);
	for (uint16_t i = 0; i < r->nattrs && i < FMT_ATTRS_MAX; i++)
		n += view_bound(&r->attrs[i].key) + 1 + view_bound(&r->attrs[i].val);
	return n;
}

int record_pack(const struct fmt_record *r, const struct record_src *src, uint8_t *out, size_t cap,
		size_t *len, struct record_keys *keys)
{
	struct mp_w w = {.p = out, .end = out + cap, .overflow = false};
	/* [k] = body of ids[k], [k + FMT_IDS_MAX] = its end */
	const uint8_t *id_body[2 * FMT_IDS_MAX];
	struct record_keys k = {0};

	if (src && src->raw) {
		mp_put_array(&w, 2);
		mp_put_uint(&w, KIND_RAW);
		put_src(&w, src);
		goto done;
	}
	/* escaped views are decoded in place, so each needs its escaped length of room */
	if (!r || r->nids > FMT_IDS_MAX || r->nattrs > FMT_ATTRS_MAX)
		return -CD_EINVAL;

	if (r->has_ts && r->ts_ns > (int64_t)UINT32_MAX && r->flags < 128 && r->nids < 16 && r->event < 128 &&
	    r->format < 128 && level_text_is_canonical(r) && mp_room(&w, HEAD_LEN)) {
		/* the usual head (the same bytes as the general case below), in one go */
		uint8_t *p = w.p;

		p[0] = 0xdc;
		mp_be(p + 1, src ? NFIELDS_SRC : NFIELDS, 2);
		p[3] = KIND_RECORD;
		p[4] = 0xcf;
		mp_be(p + 5, (uint64_t)r->ts_ns, 8);
		p[13] = r->level; /* canonical: 1..6 */
		p[14] = 0xc3;	  /* true: the canonical name; 1 byte instead of 5 */
		p[15] = r->event;
		p[16] = r->format;
		p[17] = (uint8_t)r->flags;
		p[18] = 0xc0;			   /* a valid timestamp is ts_ns; its text is not kept */
		p[19] = (uint8_t)(0x90 | r->nids); /* the ids' array */
		w.p += HEAD_LEN;
	} else {
		mp_put_array(&w, src ? NFIELDS_SRC : NFIELDS);
		mp_put_uint(&w, KIND_RECORD);
		if (r->has_ts)
			mp_put_int(&w, r->ts_ns);
		else
			mp_put_nil(&w);
		mp_put_uint(&w, r->level);
		if (level_text_is_canonical(r)) {
			if (mp_room(&w, 1))
				*w.p++ = 0xc3; /* true: the canonical name; 1 byte instead of 5 */
		} else {
			put_view(&w, &r->level_text);
		}
		mp_put_uint(&w, r->event);
		mp_put_uint(&w, r->format);
		mp_put_uint(&w, r->flags);
		if (r->has_ts)
			mp_put_nil(&w); /* a valid timestamp is ts_ns; its text is not kept */
		else
			put_view(&w, &r->ts_text);
		mp_put_array(&w, r->nids);
	}
	for (uint16_t i = 0; i < r->nids; i++) {
		if (r->ids[i].ptr) {
			id_body[i] = put_view(&w, &r->ids[i]);
		} else { /* never from a parser; an ID is a string, so it becomes "" */
			mp_put_str(&w, "", 0);
			id_body[i] = NULL;
		}
		id_body[i + FMT_IDS_MAX] = w.p;
	}
	k.trace = put_ref(&w, r, &r->trace, 0, id_body, &k.trace_len);
	{
		uint32_t unused;
		put_ref(&w, r, &r->span, r->nids - 1, id_body, &unused);
		put_ref(&w, r, &r->parent, r->nids - 2, id_body, &unused);
	}
	k.service = put_view(&w, &r->service);
	k.service_len = k.service ? (uint32_t)(w.p - k.service) : 0;
	put_view(&w, &r->method);
	put_view(&w, &r->path);
	put_view(&w, &r->message);
	put_view(&w, &r->cont);
	mp_put_array(&w, 3u * r->nattrs);
	for (uint16_t i = 0; i < r->nattrs; i++) {
		const struct fmt_attr *a = &r->attrs[i];
		if (a->key.ptr)
			put_view(&w, &a->key);
		else
			mp_put_str(&w, "", 0);
		mp_put_uint(&w, a->type);
		if (a->val.ptr)
			put_view(&w, &a->val);
		else
			mp_put_str(&w, "", 0);
	}
	if (src)
		put_src(&w, src);
done:
	if (w.overflow)
		return -CD_EFULL;
	*len = (size_t)(w.p - out);
	if (keys)
		*keys = k;
	return 0;
}

/* --- unpacking ----------------------------------------------------------- */

static void get_view(struct mp_r *rd, struct fmt_str *s)
{
	s->enc = FMT_ENC_RAW;
	if (mp_get_nil(rd)) {
		s->ptr = NULL;
		s->len = 0;
		return;
	}
	if (!mp_get_str(rd, &s->ptr, &s->len)) {
		s->ptr = NULL;
		s->len = 0;
	}
}

static void get_ref(struct mp_r *rd, const struct fmt_record *r, struct fmt_str *s)
{
	int t = mp_peek(rd);
	uint64_t k;

	if (t >= 0 && (t < 0x80 || (t >= 0xcc && t <= 0xcf))) {
		if (mp_get_uint(rd, &k) && k < r->nids)
			*s = r->ids[k];
		else
			mp_fail(rd);
		return;
	}
	get_view(rd, s);
}

static void get_small(struct mp_r *rd, uint64_t max, uint64_t *v)
{
	if (mp_get_uint(rd, v) && *v > max)
		mp_fail(rd);
}

static void get_src(struct mp_r *rd, struct record_src *src)
{
	uint32_t n = 0;

	if (!mp_get_array(rd, &n) || n < NSRC) {
		mp_fail(rd);
		return;
	}
	get_view(rd, &src->input);
	mp_get_uint(rd, &src->offset);
	src->line.enc = FMT_ENC_RAW;
	if (mp_get_nil(rd)) {
		src->line.ptr = NULL;
		src->line.len = 0;
	} else {
		mp_get_bytes(rd, &src->line.ptr, &src->line.len, true);
	}
	get_view(rd, &src->error);
	mp_get_uint(rd, &src->err_offset);
	mp_skip(rd, n - NSRC);
}

int record_unpack(const uint8_t *buf, size_t len, size_t *used, struct fmt_record *r, struct record_src *src)
{
	struct mp_r rd = {.p = buf, .end = buf + len, .bad = false};
	struct record_src scratch;
	uint32_t n = 0, na = 0;
	uint64_t kind = 0, v = 0;

	fmt_record_clear(r);
	if (!src)
		src = &scratch;
	memset(src, 0, sizeof(*src));

	if (!mp_get_array(&rd, &n) || n < 2 || !mp_get_uint(&rd, &kind))
		goto corrupt;
	if (kind == KIND_RAW) {
		src->raw = true;
		get_src(&rd, src);
		mp_skip(&rd, n - 2);
		goto done;
	}
	if (kind != KIND_RECORD || n < NFIELDS)
		goto corrupt;

	if (!mp_get_nil(&rd)) {
		r->has_ts = mp_get_int(&rd, &r->ts_ns);
	}
	get_small(&rd, FMT_LEVEL_OTHER, &v);
	r->level = (uint8_t)v;
	if (mp_peek(&rd) == 0xc3) {
		rd.p++;
		if (r->level < FMT_LEVEL_TRACE || r->level > FMT_LEVEL_FATAL)
			goto corrupt;
		r->level_text = fmt_str_c(fmt_level_name(r->level)); /* static, not in @buf */
	} else {
		get_view(&rd, &r->level_text);
	}
	get_small(&rd, FMT_EVENT_METRIC, &v);
	r->event = (uint8_t)v;
	get_small(&rd, FMT_JSON, &v);
	r->format = (uint8_t)v;
	get_small(&rd, UINT32_MAX, &v);
	r->flags = (uint32_t)v;
	get_view(&rd, &r->ts_text);
	if (!mp_get_array(&rd, &na) || na > FMT_IDS_MAX)
		goto corrupt;
	for (uint32_t i = 0; i < na; i++) {
		get_view(&rd, &r->ids[i]);
		if (!r->ids[i].ptr)
			goto corrupt;
	}
	r->nids = (uint16_t)na;
	get_ref(&rd, r, &r->trace);
	get_ref(&rd, r, &r->span);
	get_ref(&rd, r, &r->parent);
	get_view(&rd, &r->service);
	get_view(&rd, &r->method);
	get_view(&rd, &r->path);
	get_view(&rd, &r->message);
	get_view(&rd, &r->cont);
	if (!mp_get_array(&rd, &na) || na % 3 != 0 || na / 3 > FMT_ATTRS_MAX)
		goto corrupt;
	for (uint32_t i = 0; i < na / 3; i++) {
		struct fmt_attr *a = &r->attrs[i];
		if (!mp_get_str(&rd, &a->key.ptr, &a->key.len))
			goto corrupt;
		a->key.enc = FMT_ENC_RAW;
		get_small(&rd, FMT_T_ARRAY, &v);
		a->type = (uint8_t)v;
		if (!mp_get_str(&rd, &a->val.ptr, &a->val.len))
			goto corrupt;
		a->val.enc = FMT_ENC_RAW;
	}
	r->nattrs = (uint16_t)(na / 3);
	if (n >= NFIELDS_SRC) {
		if (!mp_get_nil(&rd))
			get_src(&rd, src);
		mp_skip(&rd, n - NFIELDS_SRC);
	}
done:
	if (rd.bad)
		goto corrupt;
	*used = (size_t)(rd.p - buf);
	return 0;
corrupt:
	fmt_record_clear(r);
	memset(src, 0, sizeof(*src));
	return -CD_ECORRUPT;
}
