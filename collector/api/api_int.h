/*
 * api/api_int.h - what the API's files share: a growing JSON buffer, and
 * the Jaeger trace built from a transaction's records (trace.c).
 */
#ifndef CD_API_INT_H
#define CD_API_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <store/archive.h>

/* A growing output buffer; out of memory is remembered, not returned per call. */
struct jb {
	char *p;
	size_t len, cap;
	bool oom;
};

void jb_put(struct jb *b, const char *s, size_t n);
void jb_puts(struct jb *b, const char *s);
void jb_printf(struct jb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string of @s (NUL-terminated; NULL writes null), escaped by the formats library. */
void jb_str(struct jb *b, const char *s);
/* A JSON string of @n bytes at @s. */
void jb_strn(struct jb *b, const char *s, size_t n);
void jb_free(struct jb *b);

/*
 * api_trace_json() - append transaction @trace of archive @a as one Jaeger
 * trace object ({"traceID","spans","processes","warnings"}) to @b.
 * Return: 1 written, 0 no record has that trace, or -CD_ENOMEM / -CD_EIO.
 */
int api_trace_json(arch *a, const char *trace, struct jb *b);

#endif
