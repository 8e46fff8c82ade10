/*
 * clew/clew.h - libclew, the client library of the clew toolkit.
 *
 * A service links libclew to get request (transaction) IDs, a nested
 * diagnostic context (NDC), structured log lines in the pipe or JSON format
 * of formats/, spans with durations, counters, gauges and histograms, and
 * the propagation of its context over HTTP headers (W3C Trace Context, B3,
 * X-Request-ID); synchronously, or through a ring and a background writer
 * that never blocks the caller (async mode).
 *
 * Conventions, the same for every function here:
 * - Actions return 0 or a negative -CLEW_E* code; clew_strerror() names it.
 *   Predicates return bool. Nothing here aborts the host: bad arguments
 *   give -CLEW_EINVAL.
 * - Output parameters are written only on success unless said otherwise.
 * - Strings passed in are copied before the call returns, unless a
 *   function's comment says it keeps a reference.
 * - libclew never writes to the host's stderr on its own: its own problems
 *   go to the on_diag callback of struct clew_options (and, once a client
 *   has an output, as WARN records to that output).
 * - The per-thread context (the NDC stack and the current request) lives in
 *   thread-local storage: functions that touch it affect the calling thread
 *   only, need no lock, and allocate nothing.
 *
 * Names: public symbols clew_*, macros CLEW_*; clew__* is internal.
 * Metrics (counters, gauges, histograms) are declared in clew/metrics.h.
 */
#ifndef CLEW_CLEW_H
#define CLEW_CLEW_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clew/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Errors
 */

/* Error codes; functions return 0 or one of these negated. */
enum clew_error {
	CLEW_EINVAL = 1, /* a bad argument: NULL, unknown enum value, malformed ID */
	CLEW_ENOMEM,	 /* an allocation failed (only clew_client_new() allocates) */
	CLEW_ETRUNC,	 /* the result does not fit the caller's buffer */
	CLEW_EAGAIN,	 /* the output would block (async ring full): dropped and counted */
	CLEW_EIO,	 /* writing to or opening the output failed */
	CLEW_ECONFIG,	 /* a configuration value (environment or options) is invalid */
	CLEW_ELIMIT,	 /* a fixed capacity is exhausted (NDC depth or bytes) */
	CLEW_ENOENT,	 /* nothing to act on: empty NDC, ID not found, no context in headers */
	CLEW_EMISMATCH,	 /* a pop named an ID that was not on top of the NDC (recovered) */
	CLEW_ETIMEDOUT,	 /* clew_flush(): the deadline passed with records still queued */
};

/*
 * clew_strerror() - static text for @code, positive or negative (0 is
 * "success"); never NULL, also for unknown codes.
 * Thread-safety: safe from any thread, and from a signal handler.
 */
CLEW_API const char *clew_strerror(int code);

/* ---------------------------------------------------------------------------
 * Limits (each is part of the ABI: public structs are sized by them)
 */

/*
 * Longest ID, in bytes, accepted anywhere (NDC entries, trace IDs taken
 * from X-Request-ID). Generated IDs are at most 36 (UUID text); 64 leaves
 * room for the request IDs of other tools (a UUID plus a prefix) while
 * keeping a whole NDC small enough for thread-local storage.
 */
#define CLEW_ID_MAX 64

/* Deepest NDC: the same as the formats library's FMT_IDS_MAX (32). */
#define CLEW_NDC_MAX 32

/*
 * Bytes of all NDC IDs of one thread together, with their ':' separators.
 * A 32-hex trace ID and 31 nested 16-hex span IDs take 559; 1024 keeps
 * room for longer, hand-chosen IDs.
 */
#define CLEW_NDC_BYTES 1024

/* Longest tracestate kept; longer ones are dropped whole (the W3C reference policy). */
#define CLEW_TRACESTATE_MAX 512

/*
 * Longest HTTP method and path kept in the context; longer ones are cut.
 * Standard methods are at most 7 characters; 256 bytes of path carry any
 * route and most query strings, and every captured context (one per
 * queued job in a worker pool) pays for it.
 */
#define CLEW_METHOD_MAX 16
#define CLEW_PATH_MAX 256

/* Text lengths of generated IDs (without the NUL). */
#define CLEW_TRACE_HEX_LEN 32 /* 128 bits, lowercase hex: W3C trace-id */
#define CLEW_UUID_LEN 36      /* 8-4-4-4-12, version 4, variant 10 */
#define CLEW_BASE62_LEN 22    /* 128 bits in [0-9A-Za-z] */
#define CLEW_SPAN_HEX_LEN 16  /* 64 bits, lowercase hex: W3C parent-id */

/* ---------------------------------------------------------------------------
 * Configuration and the client
 */

/* Severity levels; the numbers match the formats library's enum fmt_level. */
enum clew_level {
	CLEW_LEVEL_UNSET = 0, /* options: take $CLEW_LEVEL, else INFO */
	CLEW_LEVEL_TRACE,
	CLEW_LEVEL_DEBUG,
	CLEW_LEVEL_INFO,
	CLEW_LEVEL_WARN,
	CLEW_LEVEL_ERROR,
	CLEW_LEVEL_FATAL,
	CLEW_LEVEL_OFF, /* as a threshold: nothing is written */
};

/* Line formats (formats/pipe.md and formats/json.md). */
enum clew_format {
	CLEW_FORMAT_UNSET = 0, /* options: take $CLEW_FORMAT, else pipe */
	CLEW_FORMAT_PIPE,
	CLEW_FORMAT_JSON,
};

/* Shapes of generated transaction (trace) IDs. */
enum clew_id_kind {
	CLEW_ID_UNSET = 0, /* options: hex */
	CLEW_ID_HEX,	   /* 32 lowercase hex digits: a W3C trace-id (the default) */
	CLEW_ID_UUID,	   /* UUIDv4 text, lowercase */
	CLEW_ID_BASE62,	   /* 22 base62 characters (short, not W3C-compatible) */
};

/* Flags of struct clew_options. */
enum {
	CLEW_OPT_IGNORE_ENV = 1u << 0, /* do not read CLEW_* environment variables */
	CLEW_OPT_ASYNC = 1u << 1,      /* async mode (see "Output"), whatever CLEW_ASYNC says */
	CLEW_OPT_SYNC = 1u << 2,       /* sync mode, whatever CLEW_ASYNC says */
};

/* struct clew_options.metrics_interval_ms: no periodic flush of metrics. */
#define CLEW_INTERVAL_NEVER UINT32_MAX

/*
 * Options of clew_client_new(). Fill with clew_options_default(), then set
 * what the code wants to decide itself. Each field left unset (NULL or
 * *_UNSET) is taken from the environment, else from the built-in default:
 *
 *   field    environment    default
 *   service  CLEW_SERVICE   the program's short name
 *   format   CLEW_FORMAT    pipe             (pipe | json)
 *   level    CLEW_LEVEL     info             (trace debug info warn error fatal off)
 *   output   CLEW_OUTPUT    stderr           (stderr | stdout | file:PATH | unix:PATH |
 *                                             udp:HOST:PORT | tcp:HOST:PORT)
 *   flags    CLEW_ASYNC     0 (sync)         (1 true yes on | 0 false no off):
 *                                             CLEW_OPT_ASYNC / CLEW_OPT_SYNC pin it
 *   ring_bytes CLEW_RING_BYTES 1048576       (16384 .. 1073741824; per logging thread;
 *                                             async mode only)
 *   metrics_interval_ms CLEW_METRICS_INTERVAL 10 (seconds, fractions allowed; 0 = never)
 *
 * So the environment configures a service (12-factor) and the code can
 * still pin a value.
 */
struct clew_options {
	const char *service; /* service name; copied; NULL = environment/default */
	const char *output;  /* output spec (see above); copied; NULL = environment/default */
	int format;	     /* enum clew_format */
	int level;	     /* enum clew_level: records below it are not written */
	int id_kind;	     /* enum clew_id_kind of new transaction IDs */
	uint32_t flags;	     /* CLEW_OPT_* */
	/*
	 * libclew's own problems (bad environment value, mismatched NDC pop,
	 * output errors): @level is an enum clew_level, @msg a NUL-terminated
	 * line valid during the call. Called on the thread that met the
	 * problem, possibly several at once. NULL = not reported this way.
	 */
	void (*on_diag)(void *cookie, int level, const char *msg);
	void *cookie; /* passed back to the callbacks */
	/*
	 * Metrics flush period in ms: 0 = $CLEW_METRICS_INTERVAL (seconds,
	 * fractions allowed; 0 = never), else 10 s; CLEW_INTERVAL_NEVER = only
	 * at clew_flush() and clew_client_free().
	 */
	uint32_t metrics_interval_ms;
	/*
	 * Async queue size of each thread that logs, 16 KiB to 1 GiB (else
	 * -CLEW_EINVAL): 0 = $CLEW_RING_BYTES, else 1 MiB.
	 */
	uint32_t ring_bytes;
	uint8_t reserved[56]; /* must be zero: room for fields without an ABI break */
};

/*
 * clew_options_default() - fill @opt with "everything unset": NULL strings,
 * *_UNSET enums, no flags, no callbacks, zero reserved bytes.
 * It does not read the environment; clew_client_new() does.
 */
CLEW_API void clew_options_default(struct clew_options *opt);

/* A client: the configuration and the output. Opaque. */
typedef struct clew_client clew_client;

/*
 * clew_client_new() - create a client from @opt (NULL = all defaults),
 * reading the environment for unset fields, and open its output.
 * @out: set on success; untouched on failure.
 * @opt: copied; the caller may free it and its strings after the call.
 * Errors are also reported through opt->on_diag with the reason.
 * Output: a file is opened O_APPEND, sockets are connected here (unix:
 * a stream socket, else a datagram one; udp: one datagram per record).
 * Every record then goes out with one write() of the whole line, so lines
 * from concurrent threads and processes never tear or interleave (for
 * pipes, up to PIPE_BUF: see CLEW_LINE_MAX; a blocking stream socket only
 * splits a send when a signal interrupts it). In sync mode (the default)
 * a record is on its way when the log call returns; in async mode it is
 * copied into the client's ring and a background thread writes it (see
 * "Output: async mode" below). An async client, and a client with
 * metrics and a flush period, run one background thread each.
 * Return: 0, -CLEW_EINVAL (NULL @out, non-zero reserved bytes, enum out of
 * range), -CLEW_ECONFIG (an invalid environment or option value),
 * -CLEW_ENOMEM, or -CLEW_EIO (the output cannot be opened).
 * Thread-safety: any thread; every other function taking the client may
 * then be called from any thread concurrently, except clew_client_free().
 */
CLEW_API int clew_client_new(clew_client **out, const struct clew_options *opt);

/*
 * clew_client_free() - stop @c's background thread, write its metrics a
 * last time, write out what its ring holds (async), close the output and
 * free @c with its metrics. NULL is a no-op. No other thread may use @c,
 * or one of its metrics, during or after the call.
 */
CLEW_API void clew_client_free(clew_client *c);

/* The resolved configuration of @c (never NULL/UNSET for a valid client). */
CLEW_API const char *clew_client_service(const clew_client *c); /* owned by @c */
CLEW_API const char *clew_client_output(const clew_client *c);	/* owned by @c */
CLEW_API int clew_client_format(const clew_client *c);		/* enum clew_format */
CLEW_API int clew_client_level(const clew_client *c);		/* enum clew_level */
CLEW_API int clew_client_id_kind(const clew_client *c);		/* enum clew_id_kind */

/*
 * clew_client_set_level() - change the threshold at run time (atomic; any
 * thread). Return: 0 or -CLEW_EINVAL.
 */
CLEW_API int clew_client_set_level(clew_client *c, int level);

/*
 * clew_enabled() - whether a record of @level would be written by @c.
 * One relaxed atomic load; false for a NULL client. The CLEW_LOG macros
 * test it before evaluating their arguments.
 */
CLEW_API bool clew_enabled(const clew_client *c, int level);

/*
 * clew_level_name() - "TRACE" ... "FATAL", "OFF"; NULL for other values.
 * clew_level_parse() - the level named by @s (case-insensitive; also
 * "warning"); -CLEW_EINVAL for anything else.
 */
CLEW_API const char *clew_level_name(int level);
CLEW_API int clew_level_parse(const char *s);

/* ---------------------------------------------------------------------------
 * Records
 *
 * A record is one log line: time, level, the thread's NDC as its IDs, the
 * service, the request's method and path, a printf-style message and typed
 * key/values. It is written through the formats library (fmt_pipe_emit()
 * or fmt_json_emit()), so it is exactly the format formats/ defines, and
 * it goes out with one write() (see "Output" at clew_client_new()), so
 * lines of concurrent threads or processes never tear or interleave.
 * JSON records always carry "message" (span records "span NAME DURus
 * STATUS", metric records "metric NAME=VALUE" when they have none) and,
 * with a non-empty NDC, "trace", "span" and "parent", "" when the record
 * has no span or parent (a trace's root): what pyms-based readers,
 * Logstash and Kibana expect; readers of formats/json.md take "" as none.
 * Nothing is allocated: the line (sync mode) or the binary record (async
 * mode, formatted by the background thread) is built in a bounded stack
 * buffer.
 */

/*
 * Longest record line, newline included; a record that does not fit is
 * dropped and counted. The line (async mode: the binary record) is built
 * on the caller's stack, so this bounds the stack a log call takes (a
 * little over twice this). Writes to a
 * file (O_APPEND) or a datagram socket stay whole at any length; a pipe
 * only guarantees that for writes up to PIPE_BUF (4096 on Linux), so
 * records longer than that may interleave when several processes share
 * one pipe.
 */
#define CLEW_LINE_MAX 8192

/* Longest formatted message; longer ones are cut. Half a line leaves room for the rest. */
#define CLEW_MSG_MAX 4096

/* The types of a key/value. */
enum clew_kv_type {
	CLEW_KV_STR = 1, /* v.s: a NUL-terminated string (NULL is written as null) */
	CLEW_KV_INT,	 /* v.i: a signed 64-bit integer */
	CLEW_KV_DOUBLE,	 /* v.d: a double (NaN and infinities are written as strings) */
	CLEW_KV_BOOL,	 /* v.b: true or false */
};

/*
 * One key/value of a record. Build them with CLEW_STR(), CLEW_INT(),
 * CLEW_DBL() and CLEW_BOOL(); they reference the caller's strings, which
 * need to live only until the log call returns.
 */
struct clew_kv {
	const char *key; /* NUL-terminated; not NULL */
	int type;	 /* enum clew_kv_type */
	union {
		const char *s; /* CLEW_KV_STR */
		int64_t i;     /* CLEW_KV_INT */
		double d;      /* CLEW_KV_DOUBLE */
		bool b;	       /* CLEW_KV_BOOL */
	} v;		       /* the value, by type */
};

/*
 * clew_log() - write one record of @level through @c, if @level is enabled.
 * @kv: @nkv key/values (may be NULL when @nkv is 0); only the first
 * FMT_ATTRS_MAX (64) are written. @fmt: printf format of the message, or
 * NULL for none; a message longer than CLEW_MSG_MAX is cut.
 * The record's IDs are the calling thread's NDC, its method and path those
 * of clew_request_begin().
 * Return: 0 (also when @level is disabled), -CLEW_EINVAL (NULL @c, bad
 * level, bad key/value), -CLEW_ETRUNC (the line would pass
 * CLEW_LINE_MAX; async: the binary record would: dropped), -CLEW_EIO
 * (sync: the write failed: dropped), -CLEW_EAGAIN (async: the ring is
 * full: dropped). Dropped records are counted (clew_client_dropped(), and
 * the metric clew.dropped); in async mode that includes records the
 * background thread drops later (a line that escaping made too long, a
 * failed write), after the call returned 0.
 * Thread-safety: any thread; no lock, no allocation; in async mode it
 * never blocks (sync mode blocks in write() as long as the output does).
 */
CLEW_API int clew_log(clew_client *c, int level, const struct clew_kv *kv, size_t nkv, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
	__attribute__((format(printf, 5, 6)))
#endif
	;
CLEW_API int clew_logv(clew_client *c, int level, const struct clew_kv *kv, size_t nkv, const char *fmt,
		       va_list ap)
#if defined(__GNUC__) || defined(__clang__)
	__attribute__((format(printf, 5, 0)))
#endif
	;

/*
 * clew_log_cont() - clew_log() with continuation lines: @cont_len bytes at
 * @cont (a stack trace, lines separated by '\n', no trailing newline) are
 * written after the record's line, as formats/pipe.md's continuation lines
 * (pipe) or appended to the message after "\n" (JSON), so readers keep
 * them with the record. A line of @cont that a reader would take for the
 * start of a record (a pipe record start, or '{' as its first non-blank,
 * as a Python traceback's source line may be) is written after "> ", so
 * it stays a continuation line; the rest is written as given. The line is
 * formatted on the calling thread in async mode too (it then goes through
 * the ring whole, never blocking).
 * Return: as clew_log(); -CLEW_EINVAL also for NULL @cont with @cont_len > 0.
 */
CLEW_API int clew_log_cont(clew_client *c, int level, const struct clew_kv *kv, size_t nkv, const char *cont,
			   size_t cont_len, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
	__attribute__((format(printf, 7, 8)))
#endif
	;

/*
 * clew_client_dropped() - records @c could not write so far (too long,
 * write errors, async ring full); also reported as the metric clew.dropped.
 */
CLEW_API uint64_t clew_client_dropped(const clew_client *c);

/* Key/value builders (C99 compound literals; C only). */
#define CLEW_STR(k, val) ((struct clew_kv){.key = (k), .type = CLEW_KV_STR, .v = {.s = (val)}})
#define CLEW_INT(k, val) ((struct clew_kv){.key = (k), .type = CLEW_KV_INT, .v = {.i = (val)}})
#define CLEW_DBL(k, val) ((struct clew_kv){.key = (k), .type = CLEW_KV_DOUBLE, .v = {.d = (val)}})
#define CLEW_BOOL(k, val) ((struct clew_kv){.key = (k), .type = CLEW_KV_BOOL, .v = {.b = (val)}})

/* CLEW_KV(kv, ...) - an array of key/values and its length, as two arguments of clew_log(). */
#define CLEW_KV(...)                             \
	((const struct clew_kv[]){__VA_ARGS__}), \
		(sizeof((const struct clew_kv[]){__VA_ARGS__}) / sizeof(struct clew_kv))
/* No key/values. */
#define CLEW_NOKV NULL, 0

/*
 * CLEW_LOG(c, level, kvs, fmt, ...) - log when @level is enabled; when it
 * is not, this is one clew_enabled() call and no other argument is
 * evaluated. @kvs is CLEW_KV(...) or CLEW_NOKV. @c is evaluated twice.
 *   CLEW_LOG(c, CLEW_LEVEL_INFO, CLEW_KV(CLEW_INT("status", 200)), "order %d fetched", id);
 */
#define CLEW_LOG(c, level, ...)                                    \
	do {                                                       \
		if (clew_enabled((c), (level)))                    \
			(void)clew_log((c), (level), __VA_ARGS__); \
	} while (0)

/* Shorthands without key/values: CLEW_INFO(c, "listening on %d", port). */
#define CLEW_TRACE(c, ...) CLEW_LOG((c), CLEW_LEVEL_TRACE, CLEW_NOKV, __VA_ARGS__)
#define CLEW_DEBUG(c, ...) CLEW_LOG((c), CLEW_LEVEL_DEBUG, CLEW_NOKV, __VA_ARGS__)
#define CLEW_INFO(c, ...) CLEW_LOG((c), CLEW_LEVEL_INFO, CLEW_NOKV, __VA_ARGS__)
#define CLEW_WARN(c, ...) CLEW_LOG((c), CLEW_LEVEL_WARN, CLEW_NOKV, __VA_ARGS__)
#define CLEW_ERROR(c, ...) CLEW_LOG((c), CLEW_LEVEL_ERROR, CLEW_NOKV, __VA_ARGS__)

/* ---------------------------------------------------------------------------
 * IDs
 *
 * Random bits come from a per-thread xoshiro256** generator, seeded from
 * getrandom() on first use in each thread, and re-seeded in a forked child
 * (parent and child never continue the same sequence). No ID is all zeros.
 * Thread-safety: any thread, no lock. Not async-signal-safe.
 */

/*
 * clew_id_trace() - a new transaction (trace) ID of @kind (CLEW_ID_UNSET =
 * hex) into @out, NUL-terminated.
 * Return: 0, -CLEW_EINVAL (bad @kind, NULL @out), or -CLEW_ETRUNC when @cap
 * cannot hold the ID and its NUL (@out is then untouched).
 */
CLEW_API int clew_id_trace(int kind, char *out, size_t cap);

/* clew_id_span() - a new span ID: 16 lowercase hex digits. Errors as above. */
CLEW_API int clew_id_span(char *out, size_t cap);

/*
 * clew_id_valid() - whether @len bytes at @s are an ID the formats accept:
 * 1..CLEW_ID_MAX bytes of [A-Za-z0-9._-].
 */
CLEW_API bool clew_id_valid(const char *s, size_t len);

/* ---------------------------------------------------------------------------
 * The nested diagnostic context (NDC)
 *
 * A per-thread stack of IDs, outermost first: the transaction ID, then one
 * ID per nested unit of work. It is what a pipe line's IDS field holds
 * ("trace:span1:span2") and what a JSON line's trace/parent/span come
 * from. Fixed capacity (CLEW_NDC_MAX IDs, CLEW_NDC_BYTES bytes): push
 * copies into thread-local storage and never allocates.
 *
 * The client argument of push/pop only says where warnings go (its
 * on_diag); it may be NULL, and the stack is the same for every client.
 */

/*
 * clew_ndc_push() - push a copy of @id (NUL-terminated; clew_ndc_push_n():
 * @len bytes) on the calling thread's NDC.
 * Return: 0, -CLEW_EINVAL (@id is not clew_id_valid()), or -CLEW_ELIMIT
 * (the stack is full; nothing pushed, a warning goes to @c).
 */
CLEW_API int clew_ndc_push(clew_client *c, const char *id);
CLEW_API int clew_ndc_push_n(clew_client *c, const char *id, size_t len);

/*
 * clew_ndc_pop() - pop @id from the top of the calling thread's NDC.
 * @id NULL pops whatever is on top. When @id is not on top but deeper in
 * the stack, the IDs above it were left behind by a missing pop: they are
 * popped with it, a warning names them, and -CLEW_EMISMATCH is returned.
 * When @id is not in the stack at all, nothing is popped, a warning is
 * given, and -CLEW_ENOENT is returned.
 * Return: 0, -CLEW_EMISMATCH (recovered), -CLEW_ENOENT (empty stack or @id
 * absent).
 */
CLEW_API int clew_ndc_pop(clew_client *c, const char *id);

/*
 * clew_ndc_peek() - the top ID of the calling thread's NDC, or NULL when it
 * is empty. The pointer is into thread-local storage: valid on this thread
 * until the next push, pop, clear, adopt or restore.
 */
CLEW_API const char *clew_ndc_peek(void);

/* clew_ndc_get() - the ID at @depth (0 = outermost), or NULL; valid as for peek. */
CLEW_API const char *clew_ndc_get(unsigned depth);

/* clew_ndc_depth() - how many IDs the calling thread's NDC holds. */
CLEW_API unsigned clew_ndc_depth(void);

/*
 * clew_ndc_path() - the NDC as "id0:id1:...", NUL-terminated, into @out
 * ("" when empty). Return: 0, -CLEW_EINVAL, or -CLEW_ETRUNC (@out untouched).
 */
CLEW_API int clew_ndc_path(char *out, size_t cap);

/* clew_ndc_clear() - empty the calling thread's NDC (the request stays). */
CLEW_API void clew_ndc_clear(void);

/*
 * A scoped push: CLEW_NDC_SCOPE(c, id) pushes @id and pops it when the
 * enclosing block is left, by any path (GCC/Clang cleanup attribute). If
 * the stack was changed inside the block without being restored, the
 * scope end reports the mismatch to @c and cuts the stack back to below
 * its own entry. The struct is internal to the macro; its fields are not
 * an API.
 */
struct clew_ndc_scope {
	clew_client *c; /* where warnings go */
	unsigned depth; /* stack depth right after the push; 0 = the push failed */
	int rc;		/* result of the push */
};

CLEW_API struct clew_ndc_scope clew_ndc_scope_begin(clew_client *c, const char *id);
CLEW_API void clew_ndc_scope_end(struct clew_ndc_scope *s);

#define CLEW__CAT2(a, b) a##b
#define CLEW__CAT(a, b) CLEW__CAT2(a, b)
#if defined(__GNUC__) || defined(__clang__)
#define CLEW_NDC_SCOPE(c, id)                                   \
	struct clew_ndc_scope CLEW__CAT(clew__scope_, __LINE__) \
		__attribute__((cleanup(clew_ndc_scope_end), unused)) = clew_ndc_scope_begin((c), (id))
#endif

/* ---------------------------------------------------------------------------
 * The thread's request context, and handing it to another thread
 *
 * Besides the NDC, each thread holds the request it is working for: the
 * method and path (filled into every record), and what came in with it
 * (trace flags, tracestate, the caller's span) so outgoing calls carry it
 * on. A worker pool hands it over explicitly: the submitting thread
 * captures its context into a struct it owns (for instance inside the job),
 * the worker adopts it for the job and restores its own afterwards.
 */

/*
 * A captured context: the NDC and the request. Caller-owned and
 * self-contained (no pointers), so it can be copied, queued and freed
 * freely. Its fields are not an API; use the functions.
 */
struct clew_context {
	uint32_t magic;				  /* set by capture; checked by adopt */
	uint16_t depth;				  /* IDs in ids */
	uint16_t len;				  /* bytes used in ids */
	uint16_t off[CLEW_NDC_MAX];		  /* start of each ID in ids */
	char ids[CLEW_NDC_BYTES];		  /* the IDs, each NUL-terminated */
	char method[CLEW_METHOD_MAX + 1];	  /* "" = none */
	char path[CLEW_PATH_MAX + 1];		  /* "" = none */
	char remote_span[CLEW_SPAN_HEX_LEN + 1];  /* the caller's span ID; "" = none */
	uint8_t flags;				  /* W3C trace-flags in effect */
	uint8_t sampling;			  /* enum clew_sampling */
	uint16_t tracestate_len;		  /* bytes in tracestate */
	char tracestate[CLEW_TRACESTATE_MAX + 1]; /* passed on to outgoing calls */
	uint8_t reserved[32];			  /* zero */
};

/*
 * clew_context_capture() - copy the calling thread's context into @out.
 * Return: 0 or -CLEW_EINVAL.
 */
CLEW_API int clew_context_capture(struct clew_context *out);

/*
 * clew_context_adopt() - make @ctx the calling thread's context. When
 * @saved is not NULL, the thread's previous context is captured into it
 * first, for clew_context_restore(). @ctx is copied; it may be freed after.
 * Return: 0, or -CLEW_EINVAL (@ctx NULL or not from clew_context_capture();
 * nothing changed).
 */
CLEW_API int clew_context_adopt(const struct clew_context *ctx, struct clew_context *saved);

/* clew_context_restore() - make @saved the thread's context again (adopt without saving). */
CLEW_API int clew_context_restore(const struct clew_context *saved);

/* ---------------------------------------------------------------------------
 * Propagation over HTTP headers
 *
 * No HTTP library is assumed: headers are an array of name/value views.
 * Header names are compared case-insensitively. Pure functions over their
 * arguments: any thread, no allocation.
 */

/* One header: views, not NUL-terminated strings. */
struct clew_header {
	const char *name;  /* header name, any case */
	size_t name_len;   /* bytes at name */
	const char *value; /* header value as received (surrounding SP/HTAB allowed) */
	size_t value_len;  /* bytes at value */
};

/* Where an extracted context came from (and which header styles to inject). */
enum clew_prop_style {
	CLEW_PROP_NONE = 0,
	CLEW_PROP_W3C = 1u << 0,	/* traceparent (+ tracestate) */
	CLEW_PROP_B3 = 1u << 1,		/* b3: single header */
	CLEW_PROP_B3_MULTI = 1u << 2,	/* X-B3-TraceId, X-B3-SpanId, X-B3-ParentSpanId, X-B3-Sampled */
	CLEW_PROP_REQUEST_ID = 1u << 3, /* X-Request-ID */
	CLEW_PROP_LOCAL = 1u << 4,	/* source only: this thread's context (clew_context_propagation()) */
};

/* The caller's sampling decision, as far as the headers say. */
enum clew_sampling {
	CLEW_SAMPLING_DEFER = 0, /* not said (B3 without a sampling state) */
	CLEW_SAMPLING_NO,
	CLEW_SAMPLING_YES,
	CLEW_SAMPLING_DEBUG, /* B3 "d" / X-B3-Flags: 1 */
};

/* W3C trace-flags bits. */
#define CLEW_TRACE_SAMPLED 0x01u
#define CLEW_TRACE_RANDOM 0x02u

/*
 * A trace context as carried by headers. Filled by clew_extract() (from a
 * request) or clew_context_propagation() (for a call this thread makes).
 * Caller-owned, self-contained.
 */
struct clew_propagation {
	unsigned source;		    /* enum clew_prop_style it came from; NONE = nothing */
	char trace[CLEW_ID_MAX + 1];	    /* trace ID; 32 hex when from W3C/B3 (64-bit B3 IDs padded) */
	char span[CLEW_SPAN_HEX_LEN + 1];   /* the caller's span (parent-id, X-B3-SpanId); "" = none */
	char parent[CLEW_SPAN_HEX_LEN + 1]; /* B3 ParentSpanId; "" = none */
	uint8_t flags;			    /* W3C trace-flags (B3: SAMPLED when sampled) */
	uint8_t sampling;		    /* enum clew_sampling */
	uint16_t tracestate_len;	    /* bytes in tracestate */
	char tracestate[CLEW_TRACESTATE_MAX + 1]; /* canonical "k=v,k=v" list; "" = none */
};

/*
 * clew_extract() - find the incoming trace context in @n headers.
 * Precedence: the first *valid* one of traceparent, b3, X-B3-*,
 * X-Request-ID. traceparent follows W3C Trace Context (level 2): exactly
 * one traceparent header, lowercase hex, no all-zero IDs, version ff
 * rejected, future versions parsed by their 00 prefix. tracestate headers
 * are joined in order and kept only with a valid traceparent; an invalid
 * member, more than 32 members, or more than CLEW_TRACESTATE_MAX bytes
 * drops all of it; a repeated key keeps its first member. X-Request-ID is
 * taken as the trace ID when it is clew_id_valid().
 * @out: always written; source NONE when nothing valid was found.
 * Return: 0, -CLEW_ENOENT (no valid context: start a new trace), or
 * -CLEW_EINVAL (NULL @out, or NULL @h with @n > 0).
 */
CLEW_API int clew_extract(const struct clew_header *h, size_t n, struct clew_propagation *out);

/*
 * clew_inject() - headers carrying @p to an outgoing request: one header
 * per @styles bit (CLEW_PROP_*) that @p can be written in. W3C and B3
 * need a 32-hex trace ID (a UUID's hex digits count) and a 16-hex span;
 * X-Request-ID takes the trace ID as it is. traceparent is written with
 * version 00 and @p->flags & (SAMPLED | RANDOM); tracestate when not empty.
 * Header names are static strings; values are written into @buf (not
 * NUL-terminated) and point into it.
 * @out: room for @cap headers; *@nout is set to the number written.
 * Return: 0 (possibly with *@nout == 0), -CLEW_EINVAL, or -CLEW_ETRUNC when
 * @cap or @bufcap is too small (*@nout is then 0).
 */
CLEW_API int clew_inject(const struct clew_propagation *p, unsigned styles, struct clew_header *out,
			 size_t cap, size_t *nout, char *buf, size_t bufcap);

/*
 * clew_request_begin() - start serving a request on this thread: the
 * thread's NDC is replaced by the trace of @in (NULL or source NONE = a
 * new transaction ID of @c's id kind), then the caller's span when @in
 * has one, then a new span ID for this service's work
 * ("trace:caller:ours"), so every record of the request names the
 * caller's span as its parent. @method/@path (may be NULL; cut to their
 * limits) are remembered for records. The caller's flags and tracestate
 * are kept for outgoing calls.
 * Return: 0, -CLEW_EINVAL (NULL @c; @in's trace not clew_id_valid(), or
 * its strings not NUL-terminated).
 */
CLEW_API int clew_request_begin(clew_client *c, const struct clew_propagation *in, const char *method,
				const char *path);

/* clew_request_end() - forget the thread's request and empty its NDC. */
CLEW_API void clew_request_end(clew_client *c);

/*
 * clew_context_propagation() - the calling thread's context as it should
 * go out on a call: the trace (NDC[0]), the innermost 16-hex span ID of the
 * NDC as the span, the request's flags, sampling and tracestate.
 * Return: 0, -CLEW_EINVAL, or -CLEW_ENOENT (the NDC is empty; @out source NONE).
 */
CLEW_API int clew_context_propagation(struct clew_propagation *out);

/* ---------------------------------------------------------------------------
 * Spans
 *
 * A span is a timed unit of work inside the current one. Starting it
 * pushes a new span ID on the calling thread's NDC, so every record logged
 * inside it names it as its span (in the pipe format: the last element of
 * the NDC path) and the enclosing span as its parent. Ending it writes one
 * span record and pops the ID:
 *
 *   event=span  name=NAME  dur_us=MICROSECONDS  status=unset|ok|error  ATTRS...
 *
 * with the NDC as it was inside the span, the request's method and path,
 * and the span's *start* wall time as the record's timestamp; dur_us comes
 * from CLOCK_MONOTONIC, so clock steps do not bend it. The record's level
 * is INFO, or ERROR when the status is CLEW_STATUS_ERROR; it is written
 * when that level is enabled (the NDC is pushed and popped either way).
 * A span started on a thread whose NDC is empty starts a new trace: a
 * transaction ID of the client's id kind is pushed below it, and popped
 * with it.
 * A span is started and ended on the same thread (it lives on that
 * thread's NDC); a context handed to another thread carries the span's ID
 * but not the span. Nothing allocates: the struct is the caller's.
 */

/* Most key/values a span keeps until it ends. */
#define CLEW_SPAN_ATTRS_MAX 16

enum clew_span_status {
	CLEW_STATUS_UNSET = 0, /* written as status=unset */
	CLEW_STATUS_OK,	       /* status=ok */
	CLEW_STATUS_ERROR,     /* status=error; the record's level is ERROR */
};

/*
 * A span: caller-owned, usually on the stack; its fields are not an API.
 * Key/value strings and the name are referenced until the span ends.
 */
struct clew_span {
	uint32_t magic;				   /* set by start, cleared by end */
	int status;				   /* enum clew_span_status */
	clew_client *c;				   /* the client of start */
	const char *name;			   /* referenced until end */
	int64_t start_ns;			   /* wall clock, UTC ns */
	int64_t start_mono_ns;			   /* CLOCK_MONOTONIC ns */
	unsigned depth;				   /* NDC depth right after the push */
	uint8_t own_trace;			   /* 1: start pushed a new trace ID below the span */
	uint8_t reserved8;			   /* zero */
	uint16_t nattrs;			   /* used in attrs */
	char id[CLEW_SPAN_HEX_LEN + 1];		   /* this span's ID */
	struct clew_kv attrs[CLEW_SPAN_ATTRS_MAX]; /* referenced key/values */
};

/*
 * clew_span_start() - start @sp, named @name (referenced until the end),
 * as a child of the calling thread's current span: a new span ID is pushed
 * on the NDC and the start times are taken.
 * Return: 0, -CLEW_EINVAL (NULL @c, @sp or @name, or an empty @name; @sp is
 * then not started), -CLEW_ELIMIT (the NDC is full; not started).
 * Thread-safety: any thread, for its own NDC; no lock, no allocation.
 */
CLEW_API int clew_span_start(clew_client *c, struct clew_span *sp, const char *name);

/*
 * clew_span_start_top() - start @sp on the span ID already on top of the
 * NDC instead of pushing a new one: the span clew_request_begin() pushed
 * for this service's work, so a server writes its request's own span
 * record (and its records inside need no extra level). Ending it writes
 * the record and pops that ID, as for clew_span_start().
 * Return: 0, -CLEW_EINVAL (as clew_span_start()), -CLEW_ENOENT (the NDC's
 * top is not a 16-hex span ID above a trace ID; not started).
 */
CLEW_API int clew_span_start_top(clew_client *c, struct clew_span *sp, const char *name);

/*
 * clew_span_set() - add @nkv key/values to the span's record. The structs
 * are copied; their strings are referenced until the span ends. Keys may
 * not be the span record's own (name, dur_us, status, event, msg, message).
 * Return: 0, -CLEW_EINVAL (a span not started, a bad or reserved key/value:
 * nothing added), -CLEW_ELIMIT (more than CLEW_SPAN_ATTRS_MAX in all:
 * nothing added).
 */
CLEW_API int clew_span_set(struct clew_span *sp, const struct clew_kv *kv, size_t nkv);

/* clew_span_set_status() - enum clew_span_status. Return: 0 or -CLEW_EINVAL. */
CLEW_API int clew_span_set_status(struct clew_span *sp, int status);

/*
 * clew_span_end() - end @sp: write its record (when its level is enabled)
 * and pop its ID from the NDC. @c may be NULL: the client of start is
 * used. IDs left above the span's (a missing pop inside it) are popped
 * with it and reported as for clew_ndc_pop(). @sp may be started again
 * afterwards.
 * Return: 0; -CLEW_EINVAL (a span not started or already ended: nothing
 * done); -CLEW_EMISMATCH (the NDC was repaired as above; the record was
 * written); -CLEW_ENOENT (the span's ID was no longer on this thread's
 * NDC: the record was written with the current NDC and the span's ID, and
 * nothing popped); -CLEW_ETRUNC or -CLEW_EIO (the record was dropped and
 * counted; the NDC was popped).
 */
CLEW_API int clew_span_end(clew_client *c, struct clew_span *sp);

/*
 * A scoped span: CLEW_SPAN_SCOPE(c, var, name) declares struct clew_span
 * @var, starts it, and ends it when the enclosing block is left by any
 * path (GCC/Clang cleanup attribute). Inside, clew_span_set(&var, ...)
 * and clew_span_set_status(&var, ...) work as usual; an explicit
 * clew_span_end(c, &var) ends it early (the scope end then does nothing).
 * clew_span_scope_begin() returns a started span by value (or a span that
 * is not started, when starting fails); clew_span_scope_end() ends it if
 * it is still running.
 */
CLEW_API struct clew_span clew_span_scope_begin(clew_client *c, const char *name);
CLEW_API void clew_span_scope_end(struct clew_span *sp);

#if defined(__GNUC__) || defined(__clang__)
#define CLEW_SPAN_SCOPE(c, var, name)                                        \
	struct clew_span var __attribute__((cleanup(clew_span_scope_end))) = \
		clew_span_scope_begin((c), (name))
#endif

/*
 * clew_flush() - write every metric of @c now, and, in async mode, wait
 * until every record logged before the call has been written, at most
 * @timeout_ms milliseconds (negative: no limit).
 * Return: 0, -CLEW_EINVAL, -CLEW_ETIMEDOUT (records were still queued at
 * the deadline; they stay queued).
 * Thread-safety: any thread. Not async-signal-safe.
 */
CLEW_API int clew_flush(clew_client *c, int timeout_ms);

/* ---------------------------------------------------------------------------
 * Output: async mode, reopening, signals
 *
 * Sync mode (the default): the log call formats its record and writes it
 * with one write() before it returns (see clew_client_new()).
 *
 * Async mode (CLEW_OPT_ASYNC, or CLEW_ASYNC=1): the log call formats
 * nothing. It builds a compact binary record in its thread's queue (a
 * ring of options.ring_bytes, CLEW_RING_BYTES, default 1 MiB, that only
 * this thread writes, made and mapped at the thread's first record and
 * taken over by a new thread once this one exits):
 * the time, the thread's NDC, method and path, the message's format string
 * (its bytes, so a format built at run time is fine) with its arguments,
 * read once with va_arg (integers, doubles, %s strings cut at their
 * precision and at CLEW_MSG_MAX, %p), and the key/values raw. The
 * client's background thread formats each record, so its line is exactly
 * the line sync mode writes, and writes the ring out, several whole
 * records per write(), so records still never tear or interleave.
 * Conversions that cannot be carried (%n, %m, %ls, %lc, %Lf, positional
 * %1$d, anything unknown) make that call format its message on the
 * caller, as sync mode does. A record whose line the writer finds longer
 * than CLEW_LINE_MAX is dropped and counted there (the call returned 0). The caller never
 * blocks, locks or allocates (but at its thread's first record): when its
 * queue is full the record is dropped (-CLEW_EAGAIN), counted
 * (clew_client_dropped()) and reported as the metric clew.dropped. One
 * thread's records are written in the order it logged them; records of
 * different threads are written queue by queue, so the file need not
 * follow their timestamps across threads. Records are written within about a millisecond
 * under load; clew_flush() waits for them. They are also flushed by
 * clew_client_free(), at exit() (an atexit handler), and, best effort, on
 * a fatal signal (clew_signals_install()). A record still in the ring when
 * the process dies otherwise (SIGKILL, _exit()) is lost. Records written
 * by the fatal-signal handler are formatted with async-signal-safe code:
 * flags, widths and precisions of message conversions are ignored (but a
 * %s precision), and doubles are written with at most 15 significant
 * digits.
 *
 * fork(): the child keeps its clients. Its rings start empty (what the
 * parent had queued is the parent's to write) and its first record
 * restarts the background thread; metrics keep the values inherited.
 */

/*
 * clew_reopen() - reopen @c's file: output (logrotate's "rename, then
 * tell the service"): records logged before the call go to the old file,
 * later ones to a file created at the configured path. Other outputs: a
 * no-op. Return: 0, -CLEW_EINVAL, -CLEW_EIO (the path cannot be opened:
 * records keep going to the old file), -CLEW_ETIMEDOUT (async: the ring
 * could not be drained first). Any thread; not async-signal-safe.
 */
CLEW_API int clew_reopen(clew_client *c);

/*
 * clew_reopen_request() - ask every client to reopen its file: output
 * before its next write. Only sets a flag: async-signal-safe, for a host
 * that has its own SIGHUP handler.
 */
CLEW_API void clew_reopen_request(void);

/* Flags of clew_signals_install(). */
enum {
	CLEW_SIG_HUP = 1u << 0,	  /* SIGHUP: clew_reopen_request() */
	CLEW_SIG_FATAL = 1u << 1, /* SIGSEGV SIGABRT SIGBUS SIGFPE SIGILL: flush async rings, then re-raise */
};

/*
 * clew_signals_install() - install libclew's process-wide handlers for
 * @which (CLEW_SIG_*). Opt-in, as signals belong to the host. The SIGHUP
 * handler only sets a flag (the next write, or the writer thread, reopens
 * file: outputs). The fatal-signal handler writes out what the async
 * rings hold with async-signal-safe code and write() alone (see "Output:
 * async mode" for how its lines differ; it waits at most
 * 100 ms for a drain already running on another thread), then restores
 * the disposition it replaced and raises the signal again, so the
 * process dies, or the host's handler runs, as it would have. Records of
 * a thread interrupted in the middle of logging may be missing.
 * CLEW_SIG_HUP replaces the host's SIGHUP handler: a host that has its
 * own calls clew_reopen_request() from it instead. Installing twice is a
 * no-op.
 * Return: 0, -CLEW_EINVAL (no or unknown flag), -CLEW_EIO (sigaction()
 * failed). Call it from the main thread at start-up.
 */
CLEW_API int clew_signals_install(unsigned which);

#ifdef __cplusplus
}
#endif

#endif
