/*
 * put.h - bounded appends to an output buffer, shared by the escapers
 * (str.c) and the emitters (pipe_emit.c, json_emit.c).
 *
 * Invariant of every caller: out[0..*pos) is written, *pos <= cap. An
 * append that does not fit writes nothing and returns -FMT_ETRUNC, so an
 * emitter can stop at the first failure without ever passing cap.
 */
#ifndef FMT_PUT_H
#define FMT_PUT_H

#include <string.h>

#include "fmt/record.h"

static inline int put(char *out, size_t cap, size_t *pos, const char *s, size_t n)
{
	if (n > cap - *pos)
		return -FMT_ETRUNC;
	if (n == 0)
		return 0;
	memcpy(out + *pos, s, n);
	*pos += n;
	return 0;
}

static inline int put_c(char *out, size_t cap, size_t *pos, char c)
{
	if (*pos >= cap)
		return -FMT_ETRUNC;
	out[(*pos)++] = c;
	return 0;
}

#endif
