/*
 * record.c - log records: from a log call to one line on the output.
 *
 * DESIGN: a record is assembled as a struct fmt_record of RAW views
 * (fmt_str_n()/fmt_str_c()) pointing at the caller's strings, the
 * thread's context and a few stack buffers (the formatted message, the
 * text of numbers), then written by the formats library's emitter, the
 * one implementation of each line format, into a bounded stack buffer,
 * and handed to the sink as one write(). So the hot path allocates
 * nothing, takes no lock, and produces only lines formats/ can parse.
 * The record's IDs are the thread's NDC, outermost first; trace, span and
 * parent follow the contract (DESIGN.md): trace = ids[0], span = the last
 * when there are two or more, parent = the one before it when there are
 * three or more. A record that cannot be written (longer than
 * CLEW_LINE_MAX, a failed write) is dropped, counted and reported to
 * on_diag, never half-written.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "async.h"
#include "fmt/detect.h"
#include "fmt/str.h"
#include "internal.h"
#include "num.h"
#include "sink.h"

_Static_assert((int)CLEW_LEVEL_TRACE == (int)FMT_LEVEL_TRACE && (int)CLEW_LEVEL_FATAL == (int)FMT_LEVEL_FATAL,
	       "clew and fmt levels share their numbers");

int64_t clew__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	/* Microseconds, as the formats' examples write them: the emitters print the fewest exact digits. */
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec / 1000 * 1000;
}

int clew__fill_attr(struct fmt_attr *a, const struct clew_kv *kv, char num[CLEW__NUM_MAX])
{
	if (!kv->key || !*kv->key)
		return -CLEW_EINVAL;
	a->key = fmt_str_c(kv->key);
	switch (kv->type) {
	case CLEW_KV_STR:
		a->type = kv->v.s ? FMT_T_STRING : FMT_T_NULL;
		a->val = fmt_str_c(kv->v.s ? kv->v.s : "null");
		return 0;
	case CLEW_KV_INT:
		clew__attr_int(a, kv->v.i, num);
		return 0;
	case CLEW_KV_DOUBLE:
		clew__attr_double(a, kv->v.d, num, false);
		return 0;
	case CLEW_KV_BOOL:
		a->type = FMT_T_BOOL;
		a->val = fmt_str_c(kv->v.b ? "true" : "false");
		return 0;
	default:
		return -CLEW_EINVAL;
	}
}

void clew__fill_context(struct fmt_record *rec, const struct clew_context *x)
{
	for (unsigned i = 0; i < x->depth; i++) {
		unsigned end = i + 1u < x->depth ? x->off[i + 1] : x->len;

		rec->ids[i] = fmt_str_n(x->ids + x->off[i], end - x->off[i] - 1u);
	}
	rec->nids = x->depth;
	clew__record_ids(rec);
	if (x->method[0])
		rec->method = fmt_str_c(x->method);
	if (x->path[0])
		rec->path = fmt_str_c(x->path);
}

int clew__drop(clew_client *c, int rc, const char *why)
{
	uint64_t n = atomic_fetch_add_explicit(&c->dropped, 1, memory_order_relaxed) + 1;

	clew__diag(c, CLEW_LEVEL_ERROR, "record dropped (%s); %llu dropped so far", why,
		   (unsigned long long)n);
	return rc;
}

int clew__emit(clew_client *c, struct fmt_record *rec)
{
	char line[CLEW_LINE_MAX];
	size_t len;
	int rc;

	rc = clew__line(c, rec, line, sizeof(line), &len);
	if (rc == -FMT_ETRUNC)
		return clew__drop(c, -CLEW_ETRUNC, "longer than CLEW_LINE_MAX");
	if (rc < 0)
		return clew__drop(c, -CLEW_EINVAL, fmt_strerror(rc));
	return clew__out_line(c, line, len);
}

/* Append @n bytes at @s to @buf (at *@pos, @cap bytes, one kept for nothing: no NUL needed). */
static void put_bytes(char *buf, size_t cap, size_t *pos, const char *s, size_t n)
{
	if (n > cap - *pos)
		n = cap - *pos;
	memcpy(buf + *pos, s, n);
	*pos += n;
}

static void put_view(char *buf, size_t cap, size_t *pos, const struct fmt_attr *a)
{
	if (a && a->val.ptr)
		put_bytes(buf, cap, pos, a->val.ptr, a->val.len);
}

void clew__json_fields(struct fmt_record *rec, char *buf, size_t cap)
{
	static const struct fmt_str empty = {"", 0, FMT_ENC_RAW};
	size_t pos = 0;

	if (rec->nids >= 1) {
		if (!rec->span.ptr)
			rec->span = empty;
		if (!rec->parent.ptr)
			rec->parent = empty;
	}
	if (rec->message.ptr || rec->cont.ptr)
		return;
	if (rec->event == FMT_EVENT_SPAN) {
		put_bytes(buf, cap, &pos, "span ", 5);
		put_view(buf, cap, &pos, fmt_record_attr(rec, "name"));
		put_bytes(buf, cap, &pos, " ", 1);
		put_view(buf, cap, &pos, fmt_record_attr(rec, "dur_us"));
		put_bytes(buf, cap, &pos, "us ", 3);
		put_view(buf, cap, &pos, fmt_record_attr(rec, "status"));
	} else if (rec->event == FMT_EVENT_METRIC) {
		put_bytes(buf, cap, &pos, "metric ", 7);
		put_view(buf, cap, &pos, fmt_record_attr(rec, "metric"));
		put_bytes(buf, cap, &pos, "=", 1);
		put_view(buf, cap, &pos, fmt_record_attr(rec, "value"));
	}
	/* A view, not text: the emitter escapes what a span name or a tag may hold. */
	rec->message = (struct fmt_str){pos ? buf : "", (uint32_t)pos, FMT_ENC_RAW};
}

void clew__record_init(struct fmt_record *rec, const clew_client *c, int level, int64_t ts_ns)
{
	fmt_record_clear(rec);
	rec->ts_ns = ts_ns;
	rec->has_ts = true;
	rec->level = (uint8_t)level;
	rec->service = fmt_str_c(c->service);
}

/*
 * The record built and formatted on the caller: every record of a sync
 * client, and those with continuation lines (@cont, @cont_len bytes; NULL
 * for none) of an async one, whose finished line goes through the ring.
 */
__attribute__((format(printf, 7, 0))) static int line_logv(clew_client *c, int level,
							   const struct clew_kv *kv, size_t nkv,
							   const char *cont, size_t cont_len, const char *fmt,
							   va_list ap)
{
	struct fmt_record rec;
	char msg[CLEW_MSG_MAX];
	char num[FMT_ATTRS_MAX][CLEW__NUM_MAX];
	int rc;

	clew__record_init(&rec, c, level, clew__now_ns());
	clew__fill_context(&rec, clew__ctx());
	if (fmt) {
		int n = vsnprintf(msg, sizeof(msg), fmt, ap);

		if (n < 0)
			return -CLEW_EINVAL;
		rec.message = fmt_str_n(msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
	}
	if (nkv > FMT_ATTRS_MAX) {
		nkv = FMT_ATTRS_MAX;
		rec.flags |= FMT_F_ATTRS_TRUNCATED;
	}
	for (size_t i = 0; i < nkv; i++) {
		rc = clew__fill_attr(&rec.attrs[i], &kv[i], num[i]);
		if (rc < 0)
			return rc;
	}
	rec.nattrs = (uint16_t)nkv;
	if (cont && cont_len)
		rec.cont = fmt_str_n(cont, cont_len);
	return clew__emit(c, &rec);
}

int clew_logv(clew_client *c, int level, const struct clew_kv *kv, size_t nkv, const char *fmt, va_list ap)
{
	if (!c || level < CLEW_LEVEL_TRACE || level > CLEW_LEVEL_FATAL || (nkv && !kv))
		return -CLEW_EINVAL;
	if (level < atomic_load_explicit(&c->level, memory_order_relaxed))
		return 0;
	if (c->async)
		return clew__async_log(c, level, kv, nkv, fmt, ap);
	return line_logv(c, level, kv, nkv, NULL, 0, fmt, ap);
}

int clew_log(clew_client *c, int level, const struct clew_kv *kv, size_t nkv, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = clew_logv(c, level, kv, nkv, fmt, ap);
	va_end(ap);
	return rc;
}

/*
 * @cont into @out with every line a reader would take for the start of a
 * record (fmt_detect(): a pipe record start, or '{' first, as a Python
 * traceback's source line `    {"a": 1}` may be) written after "> ", so
 * the whole traceback stays with its record. Cut at @cap. Return the length.
 */
static size_t quote_starts(const char *cont, size_t len, char *out, size_t cap)
{
	size_t i = 0, n = 0;

	while (i < len && n < cap) {
		const char *nl = memchr(cont + i, '\n', len - i);
		const size_t l = nl ? (size_t)(nl - (cont + i)) : len - i;
		size_t take;

		if (fmt_detect(cont + i, l) != FMT_UNKNOWN && cap - n > 2) {
			memcpy(out + n, "> ", 2);
			n += 2;
		}
		take = l < cap - n ? l : cap - n;
		memcpy(out + n, cont + i, take);
		n += take;
		if (take < l)
			break; /* cut at @cap */
		i += l;
		if (nl && n < cap) {
			out[n++] = '\n';
			i++;
		}
	}
	return n;
}

int clew_log_cont(clew_client *c, int level, const struct clew_kv *kv, size_t nkv, const char *cont,
		  size_t cont_len, const char *fmt, ...)
{
	char quoted[CLEW_LINE_MAX];
	va_list ap;
	int rc;

	if (!c || level < CLEW_LEVEL_TRACE || level > CLEW_LEVEL_FATAL || (nkv && !kv) || (cont_len && !cont))
		return -CLEW_EINVAL;
	if (level < atomic_load_explicit(&c->level, memory_order_relaxed))
		return 0;
	cont_len = quote_starts(cont, cont_len, quoted, sizeof(quoted));
	/* The caller formats even in async mode: the ring's binary records carry no continuation. */
	va_start(ap, fmt);
	rc = line_logv(c, level, kv, nkv, quoted, cont_len, fmt, ap);
	va_end(ap);
	return rc;
}

uint64_t clew_client_dropped(const clew_client *c)
{
	return c ? atomic_load_explicit(&c->dropped, memory_order_relaxed) : 0;
}

void clew__warn_record(clew_client *c, const char *fmt, ...)
{
	char msg[CLEW__DIAG_MAX];
	const struct clew_kv kv[] = {CLEW_STR("clew", "warning")};
	va_list ap;

	if (!c)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->on_diag)
		c->on_diag(c->cookie, CLEW_LEVEL_WARN, msg);
	clew_log(c, CLEW_LEVEL_WARN, kv, 1, "%s", msg);
}
