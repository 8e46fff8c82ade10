/*
 * input/fwd_decode.c - the Fluentd Forward Protocol v1 decoder (see
 * fwd_decode.h): framing, the four modes, the option map, event times,
 * and each record rendered as a clew JSON line; the answers read back (an
 * ack, the client's PING). What the server writes is fwd_encode.c's.
 *
 * DESIGN: one msgpack tokenizer (tok()) serves the framing scan, the
 * frame's shape and the record -> JSON conversion; it never reads past its
 * end and never trusts a length (a count larger than the bytes left is a
 * lie). The scan keeps a stack of items left per depth, so a frame cut at
 * any byte resumes where it stopped instead of starting over.
 *
 * A record becomes clew's record the way a JSON line does, with the one
 * implementation of the alias table: the msgpack map is written as JSON
 * text (strings escaped by fmt_json_escape(), which also turns invalid
 * UTF-8 into U+FFFD), parsed by fmt_json_parse() (trace/span/parent, pyms
 * and ECS names...), completed with what only forward has (tag, event
 * time, Docker's log and container_name), and written by fmt_json_emit().
 * Going through JSON text costs one more pass than a direct msgpack ->
 * record mapping would, but a second copy of the alias table would drift
 * from the first; the daemon then parses the clew line as any JSON line.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fmt/json.h"
#include "fmt/str.h"
#include "input/fwd_decode.h"
#include "util/banned.h"

const char *const fwd_reason_names[FWD_R_N] = {
	[FWD_R_MSGPACK] = "msgpack", [FWD_R_DEPTH] = "depth", [FWD_R_SIZE] = "size",
	[FWD_R_SHAPE] = "shape",     [FWD_R_TIME] = "time",   [FWD_R_RECORD] = "record",
	[FWD_R_OPTION] = "option",   [FWD_R_GZIP] = "gzip",   [FWD_R_AUTH] = "auth",
	[FWD_R_TLS] = "tls",
};

/* --- tokens ------------------------------------------------------------ */

enum tk { TK_NIL, TK_BOOL, TK_UINT, TK_INT, TK_FLOAT, TK_STR, TK_BIN, TK_ARRAY, TK_MAP, TK_EXT };

struct tok {
	uint8_t kind;	  /* enum tk */
	int8_t ext;	  /* TK_EXT: its type */
	bool b;		  /* TK_BOOL */
	uint64_t u;	  /* TK_UINT; TK_ARRAY/TK_MAP: the count (a map's pairs) */
	int64_t i;	  /* TK_INT (negative) */
	double f;	  /* TK_FLOAT */
	const uint8_t *p; /* TK_STR/TK_BIN/TK_EXT: the body */
	uint32_t n;	  /* its length */
};

static uint64_t be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/*
 * tok() - the token at *pp (before @end). Return: 1 with *pp past it,
 * 0 when it runs past @end (more bytes needed), -1 when it is not msgpack.
 */
static int tok(const uint8_t **pp, const uint8_t *end, struct tok *t)
{
	const uint8_t *p = *pp;
	size_t left = (size_t)(end - p);
	uint64_t n = 0;
	int h = 0; /* header bytes after the type byte */
	int c;

	if (left < 1)
		return 0;
	c = *p;
	memset(t, 0, sizeof(*t));
	if (c < 0x80 || c >= 0xe0) {
		t->kind = c < 0x80 ? TK_UINT : TK_INT;
		t->u = (uint64_t)c;
		t->i = (int8_t)c;
		*pp = p + 1;
		return 1;
	}
	if ((c & 0xf0) == 0x80 || (c & 0xf0) == 0x90) {
		t->kind = (c & 0xf0) == 0x80 ? TK_MAP : TK_ARRAY;
		t->u = (uint64_t)(c & 0x0f);
		*pp = p + 1;
		return 1;
	}
	if ((c & 0xe0) == 0xa0) {
		t->kind = TK_STR;
		n = (uint64_t)(c & 0x1f);
		goto body;
	}
	switch (c) {
	case 0xc0:
		t->kind = TK_NIL;
		*pp = p + 1;
		return 1;
	case 0xc2:
	case 0xc3:
		t->kind = TK_BOOL;
		t->b = c == 0xc3;
		*pp = p + 1;
		return 1;
	case 0xc4:
	case 0xc5:
	case 0xc6:
	case 0xd9:
	case 0xda:
	case 0xdb:
		t->kind = c <= 0xc6 ? TK_BIN : TK_STR;
		h = 1 << (c <= 0xc6 ? c - 0xc4 : c - 0xd9);
		if (left < 1 + (size_t)h)
			return 0;
		n = be(p + 1, h);
		goto body;
	case 0xc7:
	case 0xc8:
	case 0xc9:
		h = 1 << (c - 0xc7);
		if (left < 2 + (size_t)h)
			return 0;
		n = be(p + 1, h);
		t->kind = TK_EXT;
		t->ext = (int8_t)p[1 + h];
		h++;
		goto body;
	case 0xd4:
	case 0xd5:
	case 0xd6:
	case 0xd7:
	case 0xd8:
		if (left < 2)
			return 0;
		t->kind = TK_EXT;
		t->ext = (int8_t)p[1];
		n = 1u << (c - 0xd4);
		h = 1;
		goto body;
	case 0xca:
	case 0xcb: {
		int w = c == 0xca ? 4 : 8;
		uint64_t v;
		if (left < 1 + (size_t)w)
			return 0;
		v = be(p + 1, w);
		t->kind = TK_FLOAT;
		if (w == 4) {
			uint32_t v32 = (uint32_t)v;
			float f;
			memcpy(&f, &v32, 4);
			t->f = f;
		} else {
			memcpy(&t->f, &v, 8);
		}
		*pp = p + 1 + w;
		return 1;
	}
	case 0xcc:
	case 0xcd:
	case 0xce:
	case 0xcf:
	case 0xd0:
	case 0xd1:
	case 0xd2:
	case 0xd3: {
		int w = 1 << (c >= 0xd0 ? c - 0xd0 : c - 0xcc);
		uint64_t v;
		if (left < 1 + (size_t)w)
			return 0;
		v = be(p + 1, w);
		if (c >= 0xd0) {
			int64_t s = w == 8 ? (int64_t)v : (int64_t)(v << (64 - 8 * w)) >> (64 - 8 * w);
			t->kind = s < 0 ? TK_INT : TK_UINT;
			t->i = s;
			t->u = (uint64_t)s;
		} else {
			t->kind = TK_UINT;
			t->u = v;
		}
		*pp = p + 1 + w;
		return 1;
	}
	case 0xdc:
	case 0xdd:
	case 0xde:
	case 0xdf:
		h = (c == 0xdc || c == 0xde) ? 2 : 4;
		if (left < 1 + (size_t)h)
			return 0;
		t->kind = c <= 0xdd ? TK_ARRAY : TK_MAP;
		t->u = be(p + 1, h);
		*pp = p + 1 + h;
		return 1;
	default: /* 0xc1 is never used */
		return -1;
	}
body:
	if (n > FWD_INFLATE_MAX)
		return -1;
	if (left < 1 + (size_t)h + n)
		return 0;
	t->p = p + 1 + h;
	t->n = (uint32_t)n;
	*pp = p + 1 + h + n;
	return 1;
}

/* --- framing ----------------------------------------------------------- */

void fwd_scan_init(struct fwd_scan *sc)
{
	sc->pos = 0;
	sc->depth = 0;
	sc->left[0] = 1;
}

long fwd_scan(struct fwd_scan *sc, const uint8_t *buf, size_t len, enum fwd_reason *why)
{
	const uint8_t *end = buf + (len < FWD_FRAME_MAX ? len : FWD_FRAME_MAX);

	while (sc->depth > 0 || sc->left[0] > 0) {
		const uint8_t *p = buf + sc->pos;
		struct tok t;
		int rc;

		rc = tok(&p, end, &t);
		if (rc < 0) {
			*why = FWD_R_MSGPACK;
			return -1;
		}
		if (rc == 0) {
			if (len >= FWD_FRAME_MAX) {
				*why = FWD_R_SIZE;
				return -1;
			}
			return 0;
		}
		sc->pos = (size_t)(p - buf);
		sc->left[sc->depth]--;
		if ((t.kind == TK_ARRAY || t.kind == TK_MAP) && t.u > 0) {
			uint64_t items = t.kind == TK_MAP ? 2 * t.u : t.u;
			if (items > FWD_FRAME_MAX) { /* every item is a byte at least */
				*why = FWD_R_SIZE;
				return -1;
			}
			if (sc->depth + 1 > FWD_DEPTH_MAX) {
				*why = FWD_R_DEPTH;
				return -1;
			}
			sc->left[++sc->depth] = items;
		}
		while (sc->depth > 0 && sc->left[sc->depth] == 0)
			sc->depth--;
	}
	return (long)sc->pos;
}

/* --- buffers ----------------------------------------------------------- */

static bool reserve(struct fwd_bytes *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *p;

	if (b->len + more <= b->cap)
		return true;
	while (cap < b->len + more)
		cap *= 2;
	if (!(p = realloc(b->p, cap)))
		return false;
	b->p = p;
	b->cap = cap;
	return true;
}

static bool put(struct fwd_bytes *b, const void *s, size_t n)
{
	if (!reserve(b, n))
		return false;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return true;
}

/* A JSON string of the bytes s[0..n): escaped, invalid UTF-8 as U+FFFD (at most 3 bytes out per byte in). */
static bool put_jstr(struct fwd_bytes *b, const uint8_t *s, size_t n)
{
	struct fmt_str v = fmt_str_n((const char *)s, n);

	if (!reserve(b, 6 * n + 2))
		return false;
	b->p[b->len++] = '"';
	if (fmt_json_escape(&v, b->p, b->cap, &b->len) < 0)
		return false;
	b->p[b->len++] = '"';
	return true;
}

void fwd_dec_release(struct fwd_dec *d)
{
	free(d->lines.p);
	free(d->json.p);
	free(d->inflated.p);
	memset(d, 0, sizeof(*d));
}

/* --- one record -------------------------------------------------------- */

/* An EventTime (ext 0: seconds and nanoseconds, big-endian 32 bits each) in ns. */
static bool event_time(const struct tok *t, int64_t *ns)
{
	if (t->kind == TK_UINT && t->u <= INT64_MAX / 1000000000) {
		*ns = (int64_t)t->u * 1000000000;
		return true;
	}
	if (t->kind == TK_INT && t->i >= INT64_MIN / 1000000000) {
		*ns = t->i * 1000000000;
		return true;
	}
	if (t->kind == TK_FLOAT && isfinite(t->f) && fabs(t->f) < 9.2e9) {
		*ns = (int64_t)(t->f * 1e9);
		return true;
	}
	if (t->kind == TK_EXT && t->ext == 0 && t->n == 8) {
		uint64_t s = be(t->p, 4), n = be(t->p + 4, 4);
		if (n >= 1000000000)
			return false;
		*ns = (int64_t)(s * 1000000000 + n);
		return true;
	}
	return false;
}

/*
 * @f as the shortest decimal that reads back as the same double, and
 * still a float to a JSON reader (1.0 stays "1.0", not "1"): a record sent
 * through clewd's output and read back is equal.
 */
static int put_double(char *out, size_t cap, double f, bool key)
{
	char num[32];
	int n = 0;

	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(num, sizeof(num), "%.*g", prec, f);
		if (strtod(num, NULL) == f)
			break;
	}
	if (!strpbrk(num, ".eEn"))
		n = snprintf(num + n, sizeof(num) - (size_t)n, ".0") + n;
	return snprintf(out, cap, key ? "\"%s\"" : "%s", num);
}

/* A scalar token as JSON text (a map key's text when @key: always a string). */
static bool put_scalar(struct fwd_bytes *b, const struct tok *t, bool key)
{
	char num[40];
	int n = 0;
	int64_t ns;

	switch (t->kind) {
	case TK_STR:
	case TK_BIN:
		return put_jstr(b, t->p, t->n);
	case TK_NIL:
		return put(b, key ? "\"null\"" : "null", key ? 6 : 4);
	case TK_BOOL:
		n = snprintf(num, sizeof(num), key ? "\"%s\"" : "%s", t->b ? "true" : "false");
		break;
	case TK_UINT:
		n = snprintf(num, sizeof(num), key ? "\"%llu\"" : "%llu", (unsigned long long)t->u);
		break;
	case TK_INT:
		n = snprintf(num, sizeof(num), key ? "\"%lld\"" : "%lld", (long long)t->i);
		break;
	case TK_FLOAT:
		if (!isfinite(t->f))
			n = snprintf(num, sizeof(num), key ? "\"null\"" : "null");
		else
			n = put_double(num, sizeof(num), t->f, key);
		break;
	case TK_EXT:
		/* an EventTime inside a record: seconds with 9 decimals; any other ext has no JSON form */
		if (event_time(t, &ns))
			n = snprintf(num, sizeof(num), key ? "\"%lld.%09lld\"" : "%lld.%09lld",
				     (long long)(ns / 1000000000), (long long)(ns % 1000000000));
		else
			n = snprintf(num, sizeof(num), key ? "\"null\"" : "null");
		break;
	default:
		return false;
	}
	return put(b, num, (size_t)n);
}

/*
 * The msgpack map at *pp (before @end) as a JSON object into @b, without
 * recursion. Return: 1, or -1 (not a map, malformed, a container as a
 * key, too deep), -2 (out of memory).
 */
static int map_to_json(struct fwd_bytes *b, const uint8_t **pp, const uint8_t *end)
{
	uint64_t left[FWD_DEPTH_MAX + 1]; /* items left at each level */
	bool is_map[FWD_DEPTH_MAX + 1], first[FWD_DEPTH_MAX + 1];
	unsigned depth = 0;
	struct tok t;

	if (tok(pp, end, &t) != 1 || t.kind != TK_MAP)
		return -1;
	if (!put(b, "{", 1))
		return -2;
	left[0] = 2 * t.u;
	is_map[0] = true;
	first[0] = true;
	for (;;) {
		uint64_t done;
		bool key;

		while (left[depth] == 0) {
			if (!put(b, is_map[depth] ? "}" : "]", 1))
				return -2;
			if (depth == 0)
				return 1;
			depth--;
		}
		done = left[depth]--;
		key = is_map[depth] && done % 2 == 0;
		if (key && !first[depth] && !put(b, ",", 1))
			return -2;
		if (!is_map[depth] && !first[depth] && !put(b, ",", 1))
			return -2;
		first[depth] = false;
		if (tok(pp, end, &t) != 1)
			return -1;
		if (t.kind == TK_ARRAY || t.kind == TK_MAP) {
			if (key || depth + 1 > FWD_DEPTH_MAX || t.u > (uint64_t)(end - *pp))
				return -1;
			if (!put(b, t.kind == TK_MAP ? "{" : "[", 1))
				return -2;
			depth++;
			left[depth] = t.kind == TK_MAP ? 2 * t.u : t.u;
			is_map[depth] = t.kind == TK_MAP;
			first[depth] = true;
			continue;
		}
		if (!put_scalar(b, &t, key))
			return -2;
		if (key && !put(b, ":", 1))
			return -2;
	}
}

static bool is_attr(const struct fmt_attr *a, const char *k)
{
	return fmt_str_eq(&a->key, k, strlen(k));
}

static void drop_attr(struct fmt_record *r, unsigned i)
{
	memmove(&r->attrs[i], &r->attrs[i + 1], (r->nattrs - i - 1) * sizeof(r->attrs[0]));
	r->nattrs--;
}

/* What only forward has, onto @r: tag, event time, Docker's log and container_name. */
static void complete(struct fmt_record *r, const char *tag, uint32_t tag_len, int64_t ns)
{
	for (unsigned i = 0; i < r->nattrs; i++) {
		struct fmt_attr *a = &r->attrs[i];

		if (is_attr(a, "tag")) {
			a->key = fmt_str_c("_tag"); /* the forward tag is `tag` */
		} else if (is_attr(a, "log") && a->type == FMT_T_STRING && !r->message.ptr) {
			r->message = a->val; /* Docker's fluentd log driver */
			drop_attr(r, i--);
		} else if (is_attr(a, "container_name") && a->type == FMT_T_STRING && !r->service.ptr) {
			r->service = a->val;
			if (r->service.len > 0 && r->service.ptr[0] == '/') {
				r->service.ptr++;
				r->service.len--;
			}
		}
	}
	if (!r->has_ts && !(r->flags & FMT_F_TS_INVALID)) {
		r->ts_ns = ns;
		r->has_ts = true;
	}
	if (r->nattrs < FMT_ATTRS_MAX) {
		struct fmt_attr *a = &r->attrs[r->nattrs++];
		a->key = fmt_str_c("tag");
		a->val = fmt_str_n(tag, tag_len);
		a->type = FMT_T_STRING;
	} else {
		r->flags |= FMT_F_ATTRS_TRUNCATED;
	}
}

/*
 * One event: the record at *pp rendered as a clew JSON line onto
 * d->lines. Return: 0, -1 (bad record), -2 (out of memory).
 */
static int event(struct fwd_dec *d, const char *tag, uint32_t tag_len, int64_t ns, const uint8_t **pp,
		 const uint8_t *end)
{
	struct fmt_record rec;
	size_t out;
	int rc;

	d->json.len = 0;
	if ((rc = map_to_json(&d->json, pp, end)) < 0)
		return rc;
	if (fmt_json_parse(d->json.p, d->json.len, &rec, NULL) < 0)
		return -1;
	complete(&rec, tag, tag_len, ns);
	/* the emitted line holds the JSON text's views, the tag escaped, and fixed keys */
	for (size_t room = d->json.len + 6 * (size_t)tag_len + 256;; room *= 2) {
		if (!reserve(&d->lines, room + 1))
			return -2;
		rc = fmt_json_emit(&rec, 0, d->lines.p + d->lines.len, room, &out);
		if (rc == 0)
			break;
		if (rc != -FMT_ETRUNC || room > 8 * (d->json.len + 6 * (size_t)tag_len + 256))
			return -1;
	}
	d->lines.len += out;
	d->lines.p[d->lines.len++] = '\n';
	return 0;
}

/* --- frames ------------------------------------------------------------ */

/* Inflate gzip (members one after the other) @src into d->inflated. Return: 0, -1 (bad, too big), -2. */
static int inflate_gzip(struct fwd_dec *d, const uint8_t *src, size_t n)
{
	z_stream z;
	int rc = Z_OK;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return -2;
	d->inflated.len = 0;
	z.next_in = (Bytef *)(uintptr_t)src;
	z.avail_in = (uInt)n;
	while (z.avail_in > 0 || rc != Z_STREAM_END) {
		if (!reserve(&d->inflated, 64 * 1024)) {
			inflateEnd(&z);
			return -2;
		}
		z.next_out = (Bytef *)d->inflated.p + d->inflated.len;
		z.avail_out = (uInt)(d->inflated.cap - d->inflated.len);
		rc = inflate(&z, Z_NO_FLUSH);
		d->inflated.len = d->inflated.cap - z.avail_out;
		if (d->inflated.len > FWD_INFLATE_MAX || (rc != Z_OK && rc != Z_STREAM_END)) {
			inflateEnd(&z);
			return -1;
		}
		if (rc == Z_STREAM_END) {
			if (z.avail_in == 0)
				break;
			inflateReset(&z); /* Fluentd appends one gzip member per chunk write */
			rc = Z_OK;
		}
	}
	inflateEnd(&z);
	return 0;
}

/* The option map at *pp into @msg; *compressed set for "gzip". Return: 0 or -1. */
static int options(const uint8_t **pp, const uint8_t *end, struct fwd_msg *msg, bool *has_size,
		   uint64_t *size, bool *compressed)
{
	struct tok t, k, v;

	if (tok(pp, end, &t) != 1)
		return -1;
	if (t.kind == TK_NIL)
		return 0;
	if (t.kind != TK_MAP)
		return -1;
	for (uint64_t i = 0; i < t.u; i++) {
		if (tok(pp, end, &k) != 1)
			return -1;
		if (k.kind == TK_STR && k.n == 5 && memcmp(k.p, "chunk", 5) == 0) {
			if (tok(pp, end, &v) != 1 || (v.kind != TK_STR && v.kind != TK_BIN))
				return -1;
			msg->chunk = (const char *)v.p;
			msg->chunk_len = v.n;
		} else if (k.kind == TK_STR && k.n == 4 && memcmp(k.p, "size", 4) == 0) {
			if (tok(pp, end, &v) != 1 || v.kind != TK_UINT)
				return -1;
			*has_size = true;
			*size = v.u;
		} else if (k.kind == TK_STR && k.n == 10 && memcmp(k.p, "compressed", 10) == 0) {
			if (tok(pp, end, &v) != 1 || v.kind != TK_STR)
				return -1;
			if (v.n == 4 && memcmp(v.p, "gzip", 4) == 0)
				*compressed = true;
			else if (!(v.n == 4 && memcmp(v.p, "text", 4) == 0))
				return -1;
		} else {
			/* an option of a later version: skip its value, whatever it is */
			struct fwd_scan sc;
			enum fwd_reason why;
			long n;
			if (k.kind == TK_ARRAY || k.kind == TK_MAP)
				return -1;
			fwd_scan_init(&sc);
			n = fwd_scan(&sc, *pp, (size_t)(end - *pp), &why);
			if (n <= 0)
				return -1;
			*pp += n;
		}
	}
	return 0;
}

/* The entries [time, record] one after the other in p[0..n) (PackedForward). */
static int packed(struct fwd_dec *d, const char *tag, uint32_t tag_len, const uint8_t *p, size_t n,
		  struct fwd_msg *msg, enum fwd_reason *why)
{
	const uint8_t *end = p + n;
	struct tok t;
	int64_t ns;
	int rc;

	while (p < end) {
		uint64_t items;

		if (tok(&p, end, &t) != 1 || t.kind != TK_ARRAY || t.u < 2) {
			*why = FWD_R_SHAPE;
			return -1;
		}
		items = t.u;
		if (tok(&p, end, &t) != 1 || !event_time(&t, &ns)) {
			*why = FWD_R_TIME;
			return -1;
		}
		if ((rc = event(d, tag, tag_len, ns, &p, end)) < 0) {
			*why = FWD_R_RECORD;
			return rc;
		}
		/* a longer entry (a later version's extra item) is skipped */
		for (uint64_t k = 2; k < items; k++) {
			struct fwd_scan sc;
			long m;
			fwd_scan_init(&sc);
			if ((m = fwd_scan(&sc, p, (size_t)(end - p), why)) <= 0) {
				*why = FWD_R_SHAPE;
				return -1;
			}
			p += m;
		}
		msg->events++;
	}
	return 0;
}

int fwd_decode(struct fwd_dec *d, const uint8_t *f, size_t len, struct fwd_msg *msg, enum fwd_reason *why)
{
	const uint8_t *p = f, *end = f + len, *second;
	bool has_size = false, compressed = false;
	uint64_t size = 0, nitems;
	struct tok t, tag, x;
	int64_t ns;
	int rc = -1;

	memset(msg, 0, sizeof(*msg));
	d->lines.len = 0;
	*why = FWD_R_SHAPE;
	if (tok(&p, end, &t) != 1 || t.kind != TK_ARRAY || t.u < 2 || t.u > 4)
		goto fail;
	nitems = t.u;
	if (tok(&p, end, &tag) != 1 || tag.kind != TK_STR)
		goto fail;
	second = p;
	if (tok(&p, end, &x) != 1)
		goto fail;
	if (x.kind == TK_ARRAY) {
		/* Forward: [tag, [[time, record], ...], option?]; options first, so `size` can be checked */
		const uint8_t *q = p;
		struct fwd_scan sc;
		long m;
		fwd_scan_init(&sc);
		p = second;
		if ((m = fwd_scan(&sc, p, (size_t)(end - p), why)) <= 0)
			goto fail;
		p += m;
		if (nitems >= 3 && options(&p, end, msg, &has_size, &size, &compressed) < 0) {
			*why = FWD_R_OPTION;
			goto fail;
		}
		msg->mode = FWD_FORWARD;
		for (uint64_t i = 0; i < x.u; i++) {
			if (tok(&q, end, &t) != 1 || t.kind != TK_ARRAY || t.u != 2) {
				*why = FWD_R_SHAPE;
				goto fail;
			}
			if (tok(&q, end, &t) != 1 || !event_time(&t, &ns)) {
				*why = FWD_R_TIME;
				goto fail;
			}
			if ((rc = event(d, (const char *)tag.p, tag.n, ns, &q, end)) < 0) {
				*why = FWD_R_RECORD;
				goto fail;
			}
			msg->events++;
		}
	} else if (x.kind == TK_STR || x.kind == TK_BIN) {
		/* PackedForward: [tag, entries, option?], the entries maybe gzip'd */
		if (nitems >= 3 && options(&p, end, msg, &has_size, &size, &compressed) < 0) {
			*why = FWD_R_OPTION;
			goto fail;
		}
		msg->mode = compressed ? FWD_COMPRESSED : FWD_PACKED;
		if (compressed) {
			if ((rc = inflate_gzip(d, x.p, x.n)) < 0) {
				*why = FWD_R_GZIP;
				goto fail;
			}
			rc = packed(d, (const char *)tag.p, tag.n, (const uint8_t *)d->inflated.p,
				    d->inflated.len, msg, why);
		} else {
			rc = packed(d, (const char *)tag.p, tag.n, x.p, x.n, msg, why);
		}
		if (rc < 0)
			goto fail;
	} else if (event_time(&x, &ns)) {
		/* Message: [tag, time, record, option?] */
		const uint8_t *rec = p;
		struct fwd_scan sc;
		long m;
		if (nitems < 3)
			goto fail;
		fwd_scan_init(&sc);
		if ((m = fwd_scan(&sc, p, (size_t)(end - p), why)) <= 0)
			goto fail;
		p += m;
		if (nitems == 4 && options(&p, end, msg, &has_size, &size, &compressed) < 0) {
			*why = FWD_R_OPTION;
			goto fail;
		}
		msg->mode = FWD_MESSAGE;
		if ((rc = event(d, (const char *)tag.p, tag.n, ns, &rec, end)) < 0) {
			*why = FWD_R_RECORD;
			goto fail;
		}
		msg->events = 1;
	} else {
		*why = x.kind == TK_UINT || x.kind == TK_INT || x.kind == TK_EXT ? FWD_R_TIME : FWD_R_SHAPE;
		goto fail;
	}
	if (has_size && size != msg->events) {
		*why = FWD_R_OPTION;
		rc = -1;
		goto fail;
	}
	if (p != end) {
		*why = FWD_R_SHAPE;
		rc = -1;
		goto fail;
	}
	return 0;

fail:
	d->lines.len = 0;
	msg->events = 0;
	return rc == -2 ? -2 : -1;
}

long fwd_ack_parse(const uint8_t *buf, size_t len, const char **chunk, uint32_t *chunk_len)
{
	const uint8_t *p = buf, *end;
	struct fwd_scan sc;
	enum fwd_reason why;
	struct tok t, k, v;
	long n;

	*chunk = NULL;
	*chunk_len = 0;
	fwd_scan_init(&sc);
	if ((n = fwd_scan(&sc, buf, len, &why)) <= 0)
		return n;
	end = buf + n;
	if (tok(&p, end, &t) != 1 || t.kind != TK_MAP)
		return -1;
	for (uint64_t i = 0; i < t.u; i++) {
		if (tok(&p, end, &k) != 1 || tok(&p, end, &v) != 1)
			return -1;
		if (k.kind == TK_STR && k.n == 3 && memcmp(k.p, "ack", 3) == 0 &&
		    (v.kind == TK_STR || v.kind == TK_BIN)) {
			*chunk = (const char *)v.p;
			*chunk_len = v.n;
		} else if (v.kind == TK_ARRAY || v.kind == TK_MAP) {
			return -1; /* an answer is a flat map */
		}
	}
	return *chunk ? n : -1;
}

int fwd_ping_parse(const uint8_t *f, size_t len, struct fwd_ping *ping)
{
	const uint8_t *p = f, *end = f + len;
	struct fwd_str *parts[5] = {&ping->hostname, &ping->salt, &ping->digest, &ping->username,
				    &ping->password};
	struct tok t;

	memset(ping, 0, sizeof(*ping));
	if (tok(&p, end, &t) != 1 || t.kind != TK_ARRAY || t.u != 6)
		return -1;
	if (tok(&p, end, &t) != 1 || t.kind != TK_STR || t.n != 4 || memcmp(t.p, "PING", 4) != 0)
		return -1;
	for (int i = 0; i < 5; i++) {
		if (tok(&p, end, &t) != 1 || (t.kind != TK_STR && t.kind != TK_BIN))
			return -1;
		parts[i]->p = (const char *)t.p;
		parts[i]->n = t.n;
	}
	return p == end ? 0 : -1;
}
