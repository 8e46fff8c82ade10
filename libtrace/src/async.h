/*
 * async.h - binary log records of the async mode, shared by the caller's
 * encoder (async_encode.c) and the writer's formatter (async_format.c):
 * the record's layout, the writer's scratch space, and both sides' entry
 * points.
 *
 * DESIGN: in async mode a log call formats nothing. It encodes what the
 * line will be made of into a compact binary record on its stack and
 * pushes that into the ring (ring.c); the writer (writer.c: the worker, a
 * flush, the fatal-signal handler) decodes it, formats the message and
 * the values, fills a struct fmt_record and calls the formats library's
 * emitter, the one implementation of each line format, as sync mode does.
 * The record (all integers in host order, unaligned, read with memcpy):
 *
 *   head    CLEW__BIN_HEAD bytes: level, flags, nattrs, the lengths
 *           below, the time (TSC ticks or ns: CLEW__BIN_F_TS_TSC)
 *   ids     ids_len bytes: the NDC, each ID NUL-terminated
 *   method  method_len bytes; path  path_len bytes
 *           (ids, method and path: the record's context; a log record
 *           whose thread's context did not change since its lane's last
 *           CLEW__BIN_F_CTX_SET record carries none: CLEW__BIN_F_CTX_PREV)
 *   msg     msg_len bytes: the format (F_MSG_FMT) or the message (F_MSG_TEXT)
 *   args    args_len bytes: per argument consumed, in order: 8 bytes, or
 *           for %s a u16 length and the bytes (a '*' width or precision
 *           is an argument too)
 *   attrs   nattrs times: type (u8), key length (u16), key, then the
 *           value: 8 bytes (int, double), 1 (bool), u16 + bytes (string),
 *           nothing (null)
 *
 * Limits: a record longer than CLEW_LINE_MAX is dropped on the caller
 * (-CLEW_ETRUNC); a line that the writer finds longer than CLEW_LINE_MAX
 * (escaping grows it) is dropped and counted there, after the call
 * returned 0.
 */
#ifndef CLEW_ASYNC_H
#define CLEW_ASYNC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "clock.h"
#include "internal.h"
#include "ring.h"

/* Record flags. */
enum {
	CLEW__BIN_F_MSG_FMT = 1u << 0,	       /* msg is a format, args its arguments */
	CLEW__BIN_F_MSG_TEXT = 1u << 1,	       /* msg is the formatted message */
	CLEW__BIN_F_ATTRS_TRUNCATED = 1u << 2, /* more than FMT_ATTRS_MAX key/values were given */
	CLEW__BIN_F_TS_TSC = 1u << 3,	       /* ts is TSC ticks, not ns */
	CLEW__BIN_F_SPAN = 1u << 4,	       /* a span record (event=span; no message) */
	CLEW__BIN_F_CTX_SET = 1u << 5,	       /* the context carried is the lane's from now on */
	CLEW__BIN_F_CTX_PREV = 1u << 6,	       /* no context carried: the lane's (struct clew__lane_ctx) */
};

/* The head: offsets of its fields. */
enum {
	CLEW__BIN_H_LEVEL = 0,	    /* u8 */
	CLEW__BIN_H_FLAGS = 1,	    /* u8 */
	CLEW__BIN_H_NATTRS = 2,	    /* u8 */
	CLEW__BIN_H_METHOD_LEN = 3, /* u8 */
	CLEW__BIN_H_IDS_LEN = 4,    /* u16 */
	CLEW__BIN_H_PATH_LEN = 6,   /* u16 */
	CLEW__BIN_H_MSG_LEN = 8,    /* u16 */
	CLEW__BIN_H_ARGS_LEN = 10,  /* u16 */
	CLEW__BIN_H_TS = 12,	    /* i64 */
	CLEW__BIN_HEAD = 20,
};

_Static_assert(FMT_ATTRS_MAX <= UINT8_MAX, "nattrs is a u8");
_Static_assert(CLEW_METHOD_MAX <= UINT8_MAX, "method_len is a u8");
_Static_assert(CLEW_MSG_MAX < CLEW_LINE_MAX, "a format that fits a record fits the message");

/* The record's u16 lengths, unaligned. */
static inline void clew__put_u16(char *p, size_t v)
{
	uint16_t x = (uint16_t)v;

	memcpy(p, &x, 2);
}

static inline uint16_t clew__get_u16(const char *p)
{
	uint16_t x;

	memcpy(&x, p, 2);
	return x;
}

/*
 * The writer's scratch space for formatting a binary record (one writer
 * at a time, so one per client; not on the stack, so that the
 * fatal-signal handler needs little of it).
 */
struct clew__scratch {
	struct clew__clock clock; /* the records' TSC ticks to wall-clock time (clock.h) */
	struct fmt_record rec;
	char line[CLEW_LINE_MAX];
	char msg[CLEW_MSG_MAX];
	char num[FMT_ATTRS_MAX][CLEW__NUM_MAX];
};

/*
 * clew__async_init() - decide, once per process, what the encoder's
 * string scans may do (async_encode.c); call before the first record of
 * an async client.
 */
void clew__async_init(void);

/*
 * clew__async_log() is clew_logv() of an async client: it encodes the
 * record into the ring without formatting it (async_encode.c).
 * Return: as clew_logv().
 */
int clew__async_log(clew_client *c, int level, const struct clew_kv *kv, size_t nkv, const char *fmt,
		    va_list ap);

/*
 * clew__async_span() - a span record (span.c) of an async client, binary
 * like a log record: @ids_len bytes of NUL-terminated IDs at @ids, the
 * thread's method and path, the key/values @pre then @kv (together at
 * most FMT_ATTRS_MAX), timestamped @ts_ns. Return: as clew__async_log().
 */
int clew__async_span(clew_client *c, int level, int64_t ts_ns, const char *ids, size_t ids_len,
		     const struct clew_kv *pre, size_t npre, const struct clew_kv *kv, size_t nkv);

/*
 * clew__async_format() - on the writer (async_format.c): the line
 * (newline included) of the binary record @e of @len bytes, taken out of
 * a lane whose context is @lc (kept up to date here), into
 * sc->line; *@out_len its length. @in_signal: only async-signal-safe code
 * (no snprintf: doubles are written with a simpler conversion, conversion
 * flags are ignored). Return: 0, -CLEW_ETRUNC (the line would pass
 * CLEW_LINE_MAX) or -CLEW_EINVAL (the emitter refused it).
 */
int clew__async_format(clew_client *c, struct clew__scratch *sc, struct clew__lane_ctx *lc, const char *e,
		       size_t len, size_t *out_len, bool in_signal);

#endif
