/*
 * util.c - errors, allocation, growing buffers and the output escapers.
 *
 * DESIGN: log text is untrusted. Every renderer writes record text through
 * one of three escapers here: JSON (fmt_json_escape: always valid JSON),
 * terminal (tg_buf_put_safe: no byte that a terminal interprets survives:
 * C0, DEL, C1 and invalid UTF-8 become visible escapes) and HTML. The
 * record list helpers (sort, free) live here too, as every stage uses them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/str.h"
#include "fmt/ts.h"
#include "fmt/detect.h"
#include "lineparse.h"
#include "tg.h"
#include "banned.h"

void tg_err_set(struct tg_err *err, int code, int sys_errno, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->code)
		return;
	err->code = code;
	err->sys_errno = sys_errno;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

static void oom(void)
{
	fputs("tracegrep: out of memory\n", stderr);
	exit(2);
}

void *tg_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *tg_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom();
	return p;
}

void *tg_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom();
	return q;
}

char *tg_xstrndup(const char *s, size_t n)
{
	char *p = tg_xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void tg_buf_put(struct tg_buf *b, const void *s, size_t n)
{
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap - b->len < n)
			cap *= 2;
		b->data = tg_xrealloc(b->data, cap);
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, s, n);
	b->len += n;
}

void tg_buf_puts(struct tg_buf *b, const char *s)
{
	tg_buf_put(b, s, strlen(s));
}

void tg_buf_putc(struct tg_buf *b, char c)
{
	tg_buf_put(b, &c, 1);
}

void tg_buf_printf(struct tg_buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		tg_buf_put(b, tmp, (size_t)n);
		return;
	}
	tg_buf_put(b, NULL, 0);
	if (b->cap - b->len < (size_t)n + 1) {
		size_t need = b->len + (size_t)n + 1;

		b->data = tg_xrealloc(b->data, need);
		b->cap = need;
	}
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void tg_buf_free(struct tg_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void tg_buf_json_str(struct tg_buf *b, const char *s, size_t n)
{
	struct fmt_str v = fmt_str_n(s, n);
	size_t need = n * 6 + 16, pos;

	tg_buf_put(b, NULL, 0);
	if (b->cap - b->len < need) {
		b->data = tg_xrealloc(b->data, b->len + need);
		b->cap = b->len + need;
	}
	pos = b->len;
	/* Every input byte becomes at most 6 output bytes (\u00XX or U+FFFD's 3), so this fits. */
	if (fmt_json_escape(&v, b->data, b->cap, &pos) == 0)
		b->len = pos;
}

void tg_buf_json_cstr(struct tg_buf *b, const char *s)
{
	tg_buf_putc(b, '"');
	if (s)
		tg_buf_json_str(b, s, strlen(s));
	tg_buf_putc(b, '"');
}

void tg_buf_json_view(struct tg_buf *b, const struct fmt_str *v)
{
	char *tmp;
	size_t n;

	if (!v->ptr) {
		tg_buf_puts(b, "null");
		return;
	}
	tmp = tg_xmalloc(v->len + 1);
	n = fmt_str_decode(v, tmp);
	tg_buf_putc(b, '"');
	tg_buf_json_str(b, tmp, n);
	tg_buf_putc(b, '"');
	free(tmp);
}

void tg_buf_put_safe(struct tg_buf *b, const char *s, size_t n, bool keep_tab)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;

	while (i < n) {
		unsigned char c = p[i];
		size_t l;

		if (c >= 0x20 && c < 0x7f) {
			i++;
			continue;
		}
		l = c >= 0x80 ? fmt_utf8_len(p + i, n - i) : 0;
		/* C1 controls are U+0080..U+009F: the two bytes C2 80..C2 9F. */
		if (l > 1 && !(c == 0xc2 && p[i + 1] < 0xa0)) {
			i += l;
			continue;
		}
		if (c == '\t' && keep_tab) {
			i++;
			continue;
		}
		tg_buf_put(b, s + run, i - run);
		if (c == 0x1b)
			tg_buf_puts(b, "\\e");
		else if (c == '\t')
			tg_buf_puts(b, "\\t");
		else if (c == '\n')
			tg_buf_puts(b, "\\n");
		else if (c == '\r')
			tg_buf_puts(b, "\\r");
		else if (l == 2)
			tg_buf_printf(b, "\\u%04x", p[i + 1]);
		else
			tg_buf_printf(b, "\\x%02x", c);
		i += l == 2 ? 2 : 1;
		run = i;
	}
	tg_buf_put(b, s + run, n - run);
}

void tg_buf_put_safe_lines(struct tg_buf *b, const char *s, size_t n)
{
	for (const char *p = s, *e = s + n, *nl; p < e; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(e - p));
		if (!nl)
			nl = e;
		tg_buf_put_safe(b, p, (size_t)(nl - p), true);
		if (nl < e)
			tg_buf_putc(b, '\n');
	}
}

void tg_buf_put_html(struct tg_buf *b, const char *s, size_t n)
{
	struct tg_buf safe = {0};

	/* Line breaks stay line breaks (a <pre> shows a stack trace as lines). */
	tg_buf_put_safe_lines(&safe, s, n);
	for (size_t i = 0; i < safe.len; i++) {
		char c = safe.data[i];

		switch (c) {
		case '&':
			tg_buf_puts(b, "&amp;");
			break;
		case '<':
			tg_buf_puts(b, "&lt;");
			break;
		case '>':
			tg_buf_puts(b, "&gt;");
			break;
		case '"':
			tg_buf_puts(b, "&quot;");
			break;
		case '\'':
			tg_buf_puts(b, "&#39;");
			break;
		default:
			tg_buf_putc(b, c);
		}
	}
	tg_buf_free(&safe);
}

int tg_buf_write(const struct tg_buf *b, FILE *f)
{
	if (b->len && fwrite(b->data, 1, b->len, f) != b->len)
		return -TG_EIO;
	return 0;
}

char *tg_view_dup(const struct fmt_str *v)
{
	char *s = fmt_str_dup(v);

	if (v->ptr && !s)
		oom();
	return s;
}

void tg_ts(int64_t ns, char *out)
{
	fmt_ts_format(ns, 6, out);
}

/* ---- record lists ---- */

static void rec_release(struct tg_rec *r)
{
	free(r->text);
	free(r->trace);
	free(r->span);
	free(r->parent);
	for (size_t i = 0; i < r->nids; i++)
		free(r->ids[i]);
	free(r->ids);
}

void tg_recs_free(struct tg_recs *r)
{
	for (size_t i = 0; i < r->n; i++)
		rec_release(&r->v[i]);
	free(r->v);
	r->v = NULL;
	r->n = r->cap = 0;
}

void tg_recs_push(struct tg_recs *r, const struct tg_rec *rec)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->v = tg_xrealloc(r->v, r->cap * sizeof(*r->v));
	}
	r->v[r->n++] = *rec;
}

void tg_recs_append(struct tg_recs *dst, struct tg_recs *src)
{
	if (dst->cap - dst->n < src->n) {
		dst->cap = dst->n + src->n + 16;
		dst->v = tg_xrealloc(dst->v, dst->cap * sizeof(*dst->v));
	}
	if (src->n)
		memcpy(dst->v + dst->n, src->v, src->n * sizeof(*src->v));
	dst->n += src->n;
	free(src->v);
	src->v = NULL;
	src->n = src->cap = 0;
}

static int by_place(const void *a, const void *b)
{
	const struct tg_rec *x = a, *y = b;

	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

static int by_time(const void *a, const void *b)
{
	const struct tg_rec *x = a, *y = b;

	if (x->ts_ns != y->ts_ns)
		return x->ts_ns < y->ts_ns ? -1 : 1;
	return by_place(a, b);
}

void tg_recs_sort(struct tg_recs *r)
{
	int64_t last = INT64_MIN;
	uint32_t src = UINT32_MAX;

	if (r->n < 2) {
		if (r->n == 1 && !r->v[0].has_ts)
			r->v[0].ts_ns = 0;
		return;
	}
	qsort(r->v, r->n, sizeof(*r->v), by_place);
	/* A record without a timestamp sorts right after the record before it in its input. */
	for (size_t i = 0; i < r->n; i++) {
		if (r->v[i].src != src) {
			src = r->v[i].src;
			last = 0;
		}
		if (r->v[i].has_ts)
			last = r->v[i].ts_ns;
		else
			r->v[i].ts_ns = last;
	}
	qsort(r->v, r->n, sizeof(*r->v), by_time);
}

int tg_rec_parse(const struct tg_rec *r, struct fmt_record *out)
{
	return tg_lp_parse(r->text, r->len, out); /* the text is unwrapped: no envelope */
}
