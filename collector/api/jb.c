/*
 * api/jb.c - the API's JSON output buffer: bytes appended, strings escaped
 * by the formats library (so a log value can never break the document).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "fmt/str.h"

static bool room(struct jb *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->oom)
		return false;
	if (b->cap - b->len > n)
		return true;
	cap = b->cap ? b->cap : 4096;
	while (cap - b->len <= n)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void jb_put(struct jb *b, const char *s, size_t n)
{
	if (!room(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

void jb_puts(struct jb *b, const char *s)
{
	jb_put(b, s, strlen(s));
}

void jb_printf(struct jb *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		jb_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

void jb_strn(struct jb *b, const char *s, size_t n)
{
	struct fmt_str v = fmt_str_n(s, n);
	size_t pos;

	/* Escaping grows a byte to at most 6 ("\u00XX"; U+FFFD is 3 for 1). */
	if (!room(b, 6 * n + 2))
		return;
	b->p[b->len++] = '"';
	pos = b->len;
	if (fmt_json_escape(&v, b->p, b->cap, &pos) < 0) {
		b->oom = true;
		return;
	}
	b->len = pos;
	b->p[b->len++] = '"';
	b->p[b->len] = 0;
}

void jb_str(struct jb *b, const char *s)
{
	if (!s)
		jb_puts(b, "null");
	else
		jb_strn(b, s, strlen(s));
}

/* @s as HTML text or attribute value: & < > " ' escaped, control bytes as U+FFFD. */
void jb_html(struct jb *b, const char *s)
{
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '&')
			jb_puts(b, "&amp;");
		else if (ch == '<')
			jb_puts(b, "&lt;");
		else if (ch == '>')
			jb_puts(b, "&gt;");
		else if (ch == '"')
			jb_puts(b, "&quot;");
		else if (ch == '\'')
			jb_puts(b, "&#39;");
		else if (ch < 0x20 || ch == 0x7f)
			jb_puts(b, "\xef\xbf\xbd");
		else
			jb_put(b, s, 1);
	}
}

void jb_free(struct jb *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}
