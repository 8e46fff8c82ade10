/*
 * internal.h - what libclew's own .c files share (the clew__ prefix).
 * Not installed; nothing here is an API.
 */
#ifndef CLEW_INTERNAL_H
#define CLEW_INTERNAL_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clew/clew.h"
#include "fmt/limits.h"

_Static_assert(CLEW_NDC_MAX == FMT_IDS_MAX, "an NDC must fit one record's ids[]");
_Static_assert(CLEW_NDC_BYTES <= UINT16_MAX, "NDC offsets are uint16_t");
_Static_assert(CLEW_ID_MAX + 1 <= CLEW_NDC_BYTES, "one ID must fit the NDC");

/* Written into struct clew_context.magic by clew_context_capture(). */
#define CLEW__CTX_MAGIC 0x636c6577u /* "clew" */

/* Longest diagnostic message handed to on_diag, with its NUL; longer ones are cut. */
#define CLEW__DIAG_MAX 256

/* Kinds of output a spec names; the sockets come last (sink.c relies on it). */
enum clew__out_kind {
	CLEW__OUT_STDERR = 1,
	CLEW__OUT_STDOUT,
	CLEW__OUT_FILE, /* arg: the path */
	CLEW__OUT_UNIX, /* arg: the socket path */
	CLEW__OUT_UDP,	/* host, port */
	CLEW__OUT_TCP,	/* host, port */
};

struct clew_client {
	char *service;	  /* resolved service name; owned */
	char *output;	  /* resolved output spec, as given; owned */
	int format;	  /* enum clew_format, never UNSET */
	atomic_int level; /* enum clew_level threshold; relaxed loads */
	int id_kind;	  /* enum clew_id_kind, never UNSET */
	uint32_t flags;	  /* CLEW_OPT_* as given */
	void (*on_diag)(void *cookie, int level, const char *msg); /* may be NULL */
	void *cookie;						   /* for on_diag */
	int out_kind;						   /* enum clew__out_kind */
	char *out_arg;		      /* path, or host for udp/tcp; owned; NULL for stderr/stdout */
	char *out_port;		      /* port text for udp/tcp; points into out_arg's allocation */
	int fd;			      /* the output's descriptor; -1 when closed */
	bool own_fd;		      /* fd was opened by us (not stderr/stdout) */
	atomic_uint_fast64_t dropped; /* records not written (too long, write error) */
};

/*
 * clew__diag() - report one of libclew's own problems to @c's on_diag
 * (nothing when @c or its callback is NULL). printf-style, cut at
 * CLEW__DIAG_MAX. Any thread; no allocation.
 */
void clew__diag(const clew_client *c, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * clew__warn_record() - a warning about the host's use of libclew (a
 * mismatched NDC pop): to on_diag, and as a WARN record with clew=warning
 * to @c's output when WARN is enabled. Nothing when @c is NULL.
 */
void clew__warn_record(clew_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The next 64 random bits of the calling thread's generator (ids.c). */
uint64_t clew__rand_u64(void);

/* The calling thread's context (ndc.c): never NULL. */
struct clew_context *clew__ctx(void);

/* Whether @len bytes at @s are lowercase hex digits. */
bool clew__is_lhex(const char *s, size_t len);

/* Copy at most @cap - 1 bytes of @s (NULL = "") into @dst, NUL-terminated. */
void clew__strlcpy(char *dst, const char *s, size_t cap);

#endif
