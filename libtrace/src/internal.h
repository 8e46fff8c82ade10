/*
 * internal.h - what libclew's own .c files share (the clew__ prefix).
 * Not installed; nothing here is an API.
 */
#ifndef CLEW_INTERNAL_H
#define CLEW_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clew/clew.h"
#include "fmt/json.h"
#include "fmt/limits.h"
#include "fmt/pipe.h"
#include "fmt/record.h"

_Static_assert(CLEW_NDC_MAX == FMT_IDS_MAX, "an NDC must fit one record's ids[]");
_Static_assert(CLEW_NDC_BYTES <= UINT16_MAX, "NDC offsets are uint16_t");
_Static_assert(CLEW_ID_MAX + 1 <= CLEW_NDC_BYTES, "one ID must fit the NDC");

/* Written into struct clew_context.magic by clew_context_capture(). */
#define CLEW__CTX_MAGIC 0x636c6577u /* "clew" */

/* Every CLEW_OPT_* flag. */
#define CLEW__OPT_ALL (CLEW_OPT_IGNORE_ENV | CLEW_OPT_ASYNC | CLEW_OPT_SYNC)

/* Metrics flush period when neither the options nor CLEW_METRICS_INTERVAL set one: 10 s. */
#define CLEW__METRICS_INTERVAL_DEFAULT 10000u

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
	atomic_uint_fast64_t dropped; /* records not written (too long, write error, ring full) */

	pthread_mutex_t lock;	     /* guards metrics and the worker's start and stop */
	struct clew_metric *metrics; /* registered metrics, newest first; freed with the client */
	uint32_t interval_ms;	     /* metrics flush period; 0 = no periodic flush */
	uint32_t ring_bytes;	     /* async ring size asked for */

	/* The background thread (worker.c): periodic metrics, and the async writer. */
	pthread_t worker;	  /* valid while worker_on */
	bool worker_on;		  /* the worker was started (in this process) */
	atomic_bool stop;	  /* asks the worker to leave */
	atomic_uint wake;	  /* futex word: bumped to wake the worker */
	atomic_bool sleeping;	  /* the worker waits on wake with no timeout soon */
	unsigned worker_fork_gen; /* clew__fork_gen() when the worker was started */
	atomic_bool restart;	  /* forked child: start a worker at the next record */

	/* Output modes (ring.c, writer.c, process.c). */
	bool async;		     /* records go through the ring to the worker */
	bool dgram;		     /* the output is a datagram socket: one send() per record */
	size_t batch_max;	     /* most bytes of whole records one async write() joins (sink.c) */
	struct clew__ring *ring;     /* async only; NULL otherwise */
	struct clew__writer *writer; /* the ring's consumer's buffers (writer.c); async only */
	bool tsc;		     /* async records carry TSC ticks, not ns (clock.c) */
	atomic_uint hup_seen;	     /* the SIGHUP generation the output was last (re)opened for */
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

/*
 * clew__fork_gen() - the process's fork generation: bumped in every forked
 * child (ids.c), so state made in another process can be told apart.
 */
unsigned clew__fork_gen(void);

/* The next 64 random bits of the calling thread's generator (ids.c). */
uint64_t clew__rand_u64(void);

/*
 * The calling thread's context (ndc.c): never NULL. clew__ctx() to read
 * it; clew__ctx_mut() to change it, which counts a change (ctx_gen).
 */
const struct clew_context *clew__ctx(void);
struct clew_context *clew__ctx_mut(void);

/*
 * The calling thread's libclew state (ndc.c): its context and the async
 * lane it last logged through (ring.c caches it here, so that a log call
 * finds both with one thread-local access). ctx_gen counts the changes of
 * ctx (every writer of ctx bumps it: ndc.c, clew__ctx_mut()), so that an
 * async record carries the context only when it changed since the last
 * record of the thread's lane (async_encode.c).
 */
struct clew__lane;

/*
 * A format's walk, remembered by the thread that logged with it
 * (async_encode.c): its conversions that take arguments, in order, so
 * that the next call with the same format takes them with va_arg without
 * parsing the format again. Found by the format's address, taken only
 * when its bytes are the same. Formats shorter than CLEW__PLAN_FMT_MAX
 * with at most CLEW__PLAN_CONVS_MAX conversions, CLEW__PLANS per thread
 * (the usual messages are short and a thread logs a few in turn).
 */
#define CLEW__PLAN_FMT_MAX 32
#define CLEW__PLAN_CONVS_MAX 6
#define CLEW__PLANS_LOG2 3
#define CLEW__PLANS (1u << CLEW__PLANS_LOG2)

struct clew__plan_conv {
	uint8_t cls;  /* enum clew__cls (printf_spec.h) */
	uint8_t lm;   /* enum clew__lmod */
	uint8_t kind; /* the argument's type for the fast path (async_encode.c); 0: the general one */
	bool wstar;   /* a '*' width: an int argument first */
	int16_t prec; /* CLEW__SPEC_NONE, CLEW__SPEC_STAR or the precision */
};

struct clew__fmt_plan {
	_Alignas(16) char bytes[CLEW__PLAN_FMT_MAX]; /* the format, zeros after it */
	uint8_t len;				     /* its length; 0: nothing remembered */
	uint8_t nconv;
	bool fast; /* every conversion has a kind */
	struct clew__plan_conv conv[CLEW__PLAN_CONVS_MAX];
};

struct clew__thread {
	struct clew_context ctx;
	uint64_t ctx_gen;	 /* changes of ctx so far */
	uint64_t lane_serial;	 /* the ring the cached lane belongs to (0: none) */
	struct clew__lane *lane; /* that ring's lane of this thread */
	struct clew__fmt_plan plans[CLEW__PLANS];
};

struct clew__thread *clew__thread(void);

/* Whether @len bytes at @s are lowercase hex digits. */
bool clew__is_lhex(const char *s, size_t len);

/* Longest text of a number: "-9223372036854775808" or a %.17g double, with the NUL. */
#define CLEW__NUM_MAX 32

/* Wall-clock time now, UTC ns since the epoch, cut to whole microseconds (record.c). */
int64_t clew__now_ns(void);

/* CLOCK_MONOTONIC now, in ns (span.c). */
int64_t clew__mono_ns(void);

/*
 * clew__record_init() - clear @rec and set what every record of @c has:
 * the timestamp @ts_ns, @level and the service (record.c).
 */
void clew__record_init(struct fmt_record *rec, const clew_client *c, int level, int64_t ts_ns);

/* clew__fill_context() - the IDs (trace, span, parent), method and path of @x into @rec. */
void clew__fill_context(struct fmt_record *rec, const struct clew_context *x);

/*
 * clew__record_ids() - @rec's trace, span and parent from its ids[]
 * (nids of them, the NDC outermost first), as the contract (DESIGN.md)
 * has them: trace = the first ID, span = the last of two or more, parent
 * = the one before it of three or more. Sync and async records alike.
 */
static inline void clew__record_ids(struct fmt_record *rec)
{
	const unsigned n = rec->nids;

	if (n >= 1)
		rec->trace = rec->ids[0];
	if (n >= 2)
		rec->span = rec->ids[n - 1];
	if (n >= 3)
		rec->parent = rec->ids[n - 2];
}

/*
 * clew__fill_attr() - @a from @kv; @num is room for the text of a number
 * and must live as long as @a. Return: 0 or -CLEW_EINVAL (bad key or type).
 */
int clew__fill_attr(struct fmt_attr *a, const struct clew_kv *kv, char num[CLEW__NUM_MAX]);

/*
 * clew__json_fields() - what libclew's JSON records always carry (for
 * pyms-based readers, Logstash, Kibana): a message (a span's is
 * "span NAME DURus STATUS", a metric's "metric NAME=VALUE", else "") and,
 * inside a request (an NDC), span and parent, "" when the record has none
 * (the root). @buf (@cap bytes) holds a built message; it must live as
 * long as @rec is used. Async-signal-safe (the fatal-signal drain formats
 * through it).
 */
#define CLEW__JSON_MSG_MAX 256
void clew__json_fields(struct fmt_record *rec, char *buf, size_t cap);

/*
 * clew__line() - @rec as one line in @c's format, newline included, into
 * @line (@cap bytes; one is kept for the newline); *@len its length. The
 * one record-to-line step of sync records (clew__emit()) and async ones
 * (the writer); inline because it is on both hot paths, and
 * async-signal-safe as the emitters are. JSON records get
 * clew__json_fields() first. Return: 0 or the emitter's negative FMT_E*
 * code (-FMT_ETRUNC: longer than @cap - 1).
 */
static inline int clew__line(const clew_client *c, struct fmt_record *rec, char *line, size_t cap,
			     size_t *len)
{
	char msg[CLEW__JSON_MSG_MAX];
	int rc;

	if (c->format == CLEW_FORMAT_JSON) {
		clew__json_fields(rec, msg, sizeof(msg));
		rc = fmt_json_emit(rec, FMT_JSON_SEVERITY, line, cap - 1, len);
	} else {
		rc = fmt_pipe_emit(rec, line, cap - 1, len);
	}
	if (rc < 0)
		return rc;
	line[(*len)++] = '\n';
	return 0;
}

/*
 * clew__emit() - format @rec with @c's emitter into a bounded stack line
 * and hand it to the output (clew__out_line()). Return: 0, or a negative
 * code for a record dropped and counted.
 */
int clew__emit(clew_client *c, struct fmt_record *rec);

/* clew__drop() - count a dropped record, tell on_diag @why, and return @rc. */
int clew__drop(clew_client *c, int rc, const char *why);

/*
 * Metrics (metric.c). clew__metrics_flush() writes one record per metric
 * of @c, and clew.dropped, through clew__emit(). Any thread; takes c->lock.
 * clew__metrics_free() frees them all (clew_client_free() only).
 */
void clew__metrics_flush(clew_client *c);
void clew__metrics_free(clew_client *c);

/*
 * The background thread (worker.c). clew__worker_start() starts it once
 * per client and process (again in a forked child); call with c->lock
 * held. Return: 0 or -CLEW_ENOMEM. clew__worker_stop() asks it to leave
 * and joins it; clew__worker_wake() makes a sleeping worker look at its
 * work now (cheap when it is awake).
 */
int clew__worker_start(clew_client *c);
void clew__worker_stop(clew_client *c);
void clew__worker_kick(clew_client *c);

/* Inline: every async record runs it. clew__worker_kick() is the wake itself. */
static inline void clew__worker_wake(clew_client *c)
{
	if (atomic_load_explicit(&c->sleeping, memory_order_seq_cst))
		clew__worker_kick(c);
}

/* Copy at most @cap - 1 bytes of @s (NULL = "") into @dst, NUL-terminated. */
void clew__strlcpy(char *dst, const char *s, size_t cap);

/* clew__touch() - map every page of @p (@len bytes) now, so that no record takes a page fault on it later. */
void clew__touch(void *p, size_t len);

/*
 * Process-wide (process.c): the live clients, for atexit, fork and the
 * signal handlers. clew__register() returns false when the table is full
 * (the client then works but is not flushed at exit or on a signal).
 */
bool clew__register(clew_client *c);
void clew__unregister(clew_client *c);

/* clew__reopen_check() - reopen a file: output if SIGHUP came since the last check (any thread). */
void clew__reopen_check(clew_client *c);

/* clew__reopen_file() - reopen @c's file: output now. Return: 0, -CLEW_EIO. */
int clew__reopen_file(clew_client *c);

#endif
