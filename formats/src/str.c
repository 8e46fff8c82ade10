/*
 * str.c - views back to plain UTF-8 (decoding), and plain values to pipe
 * fields or JSON string contents (escaping).
 *
 * Decoding walks a view one *unit* at a time: a plain byte, or one escape
 * sequence turned into the 1..4 bytes it stands for. Every consumer
 * (decode, compare, re-escape) uses that one walker, so the escape rules
 * live in exactly one place. RAW views skip the walker entirely: that is
 * the common case, and the emitters' hot path.
 *
 * JSON escaping guarantees valid JSON output whatever the input bytes:
 * invalid UTF-8 becomes U+FFFD. Pipe escaping works on bytes and keeps
 * them as they are (a pipe line is bytes; its readers decide about UTF-8).
 */
#include <stdlib.h>
#include <string.h>

#include "fmt/str.h"
#include "put.h"

struct fmt_str fmt_str_c(const char *s)
{
	return fmt_str_n(s, s ? strlen(s) : 0);
}

struct fmt_str fmt_str_n(const char *s, size_t len)
{
	return (struct fmt_str){.ptr = s, .len = (uint32_t)len, .enc = FMT_ENC_RAW};
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The 4 hex digits at p (caller checked there are 4), or -1. */
static long hex4(const char *p)
{
	long v = 0;

	for (int i = 0; i < 4; i++) {
		int h = hex_value((unsigned char)p[i]);
		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

static size_t put_utf8(unsigned long cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

#define REPLACEMENT_CHAR 0xFFFDul

/* One JSON escape at s[*i] == '\\'; writes its bytes to out, advances *i. */
static size_t decode_json_escape(const char *s, size_t len, size_t *i, char *out)
{
	size_t at = *i;
	long hi, lo;

	if (at + 1 >= len) { /* a lone trailing backslash: only in views we did not parse */
		*i = at + 1;
		out[0] = '\\';
		return 1;
	}
	*i = at + 2;
	switch (s[at + 1]) {
	case 'n':
		out[0] = '\n';
		return 1;
	case 'r':
		out[0] = '\r';
		return 1;
	case 't':
		out[0] = '\t';
		return 1;
	case 'b':
		out[0] = '\b';
		return 1;
	case 'f':
		out[0] = '\f';
		return 1;
	case 'u':
		break;
	default: /* \" \\ \/ */
		out[0] = s[at + 1];
		return 1;
	}
	if (at + 6 > len || (hi = hex4(s + at + 2)) < 0) {
		out[0] = '\\';
		*i = at + 1;
		return 1;
	}
	*i = at + 6;
	if (hi >= 0xD800 && hi <= 0xDBFF && at + 12 <= len && s[at + 6] == '\\' && s[at + 7] == 'u' &&
	    (lo = hex4(s + at + 8)) >= 0xDC00 && lo <= 0xDFFF) {
		*i = at + 12;
		return put_utf8(0x10000 + ((unsigned long)(hi - 0xD800) << 10) + (unsigned long)(lo - 0xDC00),
				out);
	}
	if (hi >= 0xD800 && hi <= 0xDFFF)
		return put_utf8(REPLACEMENT_CHAR, out);
	return put_utf8((unsigned long)hi, out);
}

/* One pipe escape at s[*i] == '\\'. */
static size_t decode_pipe_escape(const char *s, size_t len, size_t *i, char *out)
{
	size_t at = *i;

	if (at + 1 < len) {
		char c = s[at + 1];
		char plain = c == '|'	 ? '|'
			     : c == '\\' ? '\\'
			     : c == 'n'	 ? '\n'
			     : c == 'r'	 ? '\r'
			     : c == 't'	 ? '\t'
					 : 0;
		if (plain) {
			*i = at + 2;
			out[0] = plain;
			return 1;
		}
	}
	*i = at + 1; /* a backslash before anything else stands for itself */
	out[0] = '\\';
	return 1;
}

/*
 * The decoder walker: the next unit of @s at *i, written to out (up to 4
 * bytes), *i advanced past it. Return: bytes written.
 */
static size_t decode_unit(const struct fmt_str *s, size_t *i, char out[4])
{
	const char *p = s->ptr;

	if (p[*i] != '\\' || s->enc == FMT_ENC_RAW) {
		out[0] = p[(*i)++];
		return 1;
	}
	if (s->enc == FMT_ENC_JSON)
		return decode_json_escape(p, s->len, i, out);
	return decode_pipe_escape(p, s->len, i, out);
}

size_t fmt_str_decode(const struct fmt_str *s, char *out)
{
	size_t i = 0, n = 0;

	if (!s->ptr)
		return 0;
	if (s->enc == FMT_ENC_RAW) {
		memcpy(out, s->ptr, s->len);
		return s->len;
	}
	while (i < s->len) {
		const char *bs = memchr(s->ptr + i, '\\', s->len - i);
		size_t run = bs ? (size_t)(bs - (s->ptr + i)) : s->len - i;

		memcpy(out + n, s->ptr + i, run);
		n += run;
		i += run;
		if (i < s->len)
			n += decode_unit(s, &i, out + n);
	}
	return n;
}

char *fmt_str_dup(const struct fmt_str *s)
{
	char *out;

	if (!s->ptr || !(out = malloc(s->len + 1)))
		return NULL;
	out[fmt_str_decode(s, out)] = '\0';
	return out;
}

bool fmt_str_eq(const struct fmt_str *s, const char *lit, size_t len)
{
	size_t i = 0, n = 0;
	char unit[4];

	if (!s->ptr)
		return false;
	if (s->enc == FMT_ENC_RAW)
		return s->len == len && memcmp(s->ptr, lit, len) == 0;
	while (i < s->len) {
		size_t k = decode_unit(s, &i, unit);
		if (n + k > len || memcmp(lit + n, unit, k) != 0)
			return false;
		n += k;
	}
	return n == len;
}

/* The pipe escape of one plain byte, or 0 when it needs none. */
static char pipe_escape_of(unsigned char c)
{
	switch (c) {
	case '|':
		return '|';
	case '\\':
		return '\\';
	case '\n':
		return 'n';
	case '\r':
		return 'r';
	case '\t':
		return 't';
	}
	return 0;
}

int fmt_pipe_escape(const struct fmt_str *s, char *out, size_t cap, size_t *pos)
{
	size_t start = *pos, i = 0;
	char unit[4];

	if (!s->ptr)
		return 0;
	while (i < s->len) {
		size_t k = 1;
		const char *b = s->ptr + i;

		if (s->enc == FMT_ENC_RAW) {
			i++;
		} else {
			k = decode_unit(s, &i, unit);
			b = unit;
		}
		for (size_t j = 0; j < k; j++) {
			char e = pipe_escape_of((unsigned char)b[j]);
			char esc[2] = {'\\', e};
			int rc = e ? put(out, cap, pos, esc, 2) : put(out, cap, pos, b + j, 1);
			if (rc < 0) {
				*pos = start;
				return rc;
			}
		}
	}
	return 0;
}

size_t fmt_utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	size_t len;
	unsigned long cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return len;
}

/* Appends plain byte c (not part of a multibyte sequence) as JSON string content. */
static int json_put_ascii(unsigned char c, char *out, size_t cap, size_t *pos)
{
	static const char hex[] = "0123456789abcdef";
	char esc[6] = {'\\', 0};

	switch (c) {
	case '"':
	case '\\':
		esc[1] = (char)c;
		return put(out, cap, pos, esc, 2);
	case '\n':
		return put(out, cap, pos, "\\n", 2);
	case '\r':
		return put(out, cap, pos, "\\r", 2);
	case '\t':
		return put(out, cap, pos, "\\t", 2);
	case '\b':
		return put(out, cap, pos, "\\b", 2);
	case '\f':
		return put(out, cap, pos, "\\f", 2);
	}
	if (c < 0x20 || c == 0x7F) {
		memcpy(esc, "\\u00", 4);
		esc[4] = hex[c >> 4];
		esc[5] = hex[c & 15];
		return put(out, cap, pos, esc, 6);
	}
	return put(out, cap, pos, (const char *)&c, 1);
}

static bool json_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7F && c != '"' && c != '\\';
}

/* Whether the UTF-8 sequence p[0..k) is a C1 control, U+0080..U+009F (C2 80..C2 9F). */
static bool utf8_is_c1(const unsigned char *p, size_t k)
{
	return k == 2 && p[0] == 0xC2 && p[1] < 0xA0;
}

/* Appends C1 control p[0..2) as \u0080..\u009f: a terminal reading the JSON raw would act on it. */
static int json_put_c1(const unsigned char *p, char *out, size_t cap, size_t *pos)
{
	static const char hex[] = "0123456789abcdef";
	char esc[6] = {'\\', 'u', '0', '0', hex[p[1] >> 4], hex[p[1] & 15]};

	return put(out, cap, pos, esc, 6);
}

/*
 * A JSON view (valid string contents from the JSON parser, escapes
 * included) copied as it is, but for raw DEL and C1 controls: JSON allows
 * them unescaped, we never write them (a terminal would act on them).
 */
static int json_put_view(const unsigned char *p, size_t n, char *out, size_t cap, size_t *pos)
{
	size_t i = 0, run = 0;
	int rc = 0;

	while (i < n && rc == 0) {
		if (p[i] == 0x7F) {
			if ((rc = put(out, cap, pos, (const char *)p + run, i - run)) == 0)
				rc = put(out, cap, pos, "\\u007f", 6);
			run = ++i;
		} else if (p[i] == 0xC2 && i + 1 < n && utf8_is_c1(p + i, 2)) {
			if ((rc = put(out, cap, pos, (const char *)p + run, i - run)) == 0)
				rc = json_put_c1(p + i, out, cap, pos);
			run = i += 2;
		} else {
			i++;
		}
	}
	return rc ? rc : put(out, cap, pos, (const char *)p + run, n - run);
}

int fmt_json_escape(const struct fmt_str *s, char *out, size_t cap, size_t *pos)
{
	const unsigned char *p = (const unsigned char *)s->ptr;
	size_t start = *pos, i = 0, n = s->len;
	int rc = 0;

	if (!p)
		return 0;
	/* the JSON parser only makes JSON views of valid string contents */
	if (s->enc == FMT_ENC_JSON) {
		if ((rc = json_put_view(p, n, out, cap, pos)) < 0)
			*pos = start;
		return rc;
	}
	while (i < n && rc == 0) {
		size_t run = i, k;

		while (run < n && json_plain(p[run]))
			run++;
		if (run > i) {
			rc = put(out, cap, pos, s->ptr + i, run - i);
			i = run;
			continue;
		}
		if (p[i] == '\\' && s->enc == FMT_ENC_PIPE) {
			char unit[4];
			decode_unit(s, &i, unit);
			rc = json_put_ascii((unsigned char)unit[0], out, cap, pos);
		} else if (p[i] < 0x80) {
			rc = json_put_ascii(p[i++], out, cap, pos);
		} else if ((k = fmt_utf8_len(p + i, n - i)) != 0) {
			rc = utf8_is_c1(p + i, k) ? json_put_c1(p + i, out, cap, pos)
						  : put(out, cap, pos, s->ptr + i, k);
			i += k;
		} else {
			rc = put(out, cap, pos, "\xEF\xBF\xBD", 3);
			i++;
		}
	}
	if (rc < 0)
		*pos = start;
	return rc;
}
