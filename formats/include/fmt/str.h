/*
 * fmt/str.h - turning views back into plain UTF-8, and escaping for output.
 *
 * Decoding never grows a string (every escape is at least as long as what
 * it stands for), so a buffer of s->len bytes is always enough.
 */
#ifndef FMT_STR_H
#define FMT_STR_H

#include <stdbool.h>
#include <stddef.h>

#include "fmt/record.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A RAW view of a NUL-terminated C string (NULL gives an absent view). */
struct fmt_str fmt_str_c(const char *s);

/* A RAW view of @len bytes at @s. */
struct fmt_str fmt_str_n(const char *s, size_t len);

/*
 * fmt_str_decode() - write the plain value of @s to @out.
 * @out must hold at least s->len bytes; it is not NUL-terminated.
 * Pipe escapes \| \\ \n \r \t are undone; any other backslash stands for
 * itself. JSON escapes are undone, \uXXXX to UTF-8; a lone surrogate
 * becomes U+FFFD.
 * Return: the decoded length (<= s->len).
 */
size_t fmt_str_decode(const struct fmt_str *s, char *out);

/*
 * fmt_str_dup() - the plain value of @s (fmt_str_decode()) as a malloc'd,
 * NUL-terminated string. Return: NULL when @s is absent (s->ptr NULL) or
 * when out of memory (tell them apart by s->ptr).
 */
char *fmt_str_dup(const struct fmt_str *s);

/* Whether the decoded value of @s equals the @len bytes at @lit. */
bool fmt_str_eq(const struct fmt_str *s, const char *lit, size_t len);

/*
 * fmt_pipe_escape() / fmt_json_escape() - append the decoded value of @s,
 * escaped for a pipe field or for the inside of a JSON string, to
 * out[*pos..cap). A JSON string gets \" \\ \n \r \t \b \f and \u00XX for
 * the other control characters; invalid UTF-8 becomes U+FFFD so the
 * output is always valid JSON.
 * Return: 0, or -FMT_ETRUNC when it does not fit (*pos is then unchanged).
 */
int fmt_pipe_escape(const struct fmt_str *s, char *out, size_t cap, size_t *pos);
int fmt_json_escape(const struct fmt_str *s, char *out, size_t cap, size_t *pos);

/*
 * fmt_utf8_len() - the length (1..4) of the valid UTF-8 sequence that
 * starts p[0..n), or 0 when it is not one (overlong forms, surrogates and
 * code points past U+10FFFF are not valid). @n must be at least 1.
 */
size_t fmt_utf8_len(const unsigned char *p, size_t n);

#ifdef __cplusplus
}
#endif

#endif
