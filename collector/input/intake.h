/*
 * input/intake.h - how an input that can answer "received" (http,
 * forward, otlp) hands a request's records to the pipeline and learns
 * when it may say so: the one place that decides what an acknowledgement
 * to a client means.
 *
 * A request is handed over as bytes of complete lines (ndjson or any line
 * the input's parser takes; a decoder of another protocol renders its
 * records as clew JSON lines with fmt_json_emit()). Per the input's `ack`
 * option (INTAKE_OPTS):
 *
 *   memory   the lines go to a source of their own at once (no line of
 *            one request joins another's) and done(arg, 0) is called
 *            before intake_submit() returns. "Received" means "in
 *            clewd's memory": a kill -9 before delivery loses them.
 *   durable  (the default) the lines are appended to the input's
 *            write-ahead log (STATE_DIR/wal/NAME/); done(arg, 0) is
 *            called once they are fdatasync'd (group commit: the
 *            requests that came while one commit was in flight share
 *            the next fsync). The log is read
 *            back like a tailed file, its position kept in the
 *            checkpoint, so after a kill -9 at any moment every
 *            acknowledged record is delivered (some maybe twice).
 *
 * Either way a request is refused (-CD_EAGAIN, done never called) while
 * the pipeline holds its inputs back or the log is at its size limit:
 * the input answers "retry later" (HTTP 503 + Retry-After, a forward
 * sender gets no ack) instead of taking what it cannot keep.
 */
#ifndef CD_INTAKE_H
#define CD_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include <store/err.h>

struct pipeline;
struct intake;
struct metrics;

/*
 * The table entries every intake input takes; put INTAKE_OPTS in the
 * plugin's option table.
 */
#define INTAKE_OPTS                                                                                            \
	{"ack",                                                                                                \
	 CD_OPT_ENUM,                                                                                          \
	 "durable",                                                                                            \
	 "when a request is answered: durable (in the write-ahead log, fsync'd) or memory (read into memory)", \
	 "durable|memory",                                                                                     \
	 0,                                                                                                    \
	 0},                                                                                                   \
	{                                                                                                      \
		"wal_max", CD_OPT_SIZE, "256M",                                                                \
			"the write-ahead log's size at most (then requests are refused)", NULL, 0, 0           \
	}

/* done(): @status 0 when the request's records are safe as the ack mode says, or a negative CD code. */
typedef void (*intake_done_fn)(void *arg, int status);

/*
 * intake_open() - the intake of input @idx (its `ack`, `wal_max`), named
 * @name, e.g. "http:127.0.0.1:8080": in durable mode its records'
 * src.input (the peer is not kept in the log) and, made safe as a file
 * name, its log's folder. With ack: durable, the log's segments left by a previous
 * run are read again from their checkpoint positions.
 * Return: 0, or a negative CD code with @err.
 */
int intake_open(struct intake **out, struct pipeline *pl, unsigned idx, const struct cd_input_conf *ic,
		const char *name, struct cd_err *err);

/*
 * intake_submit() - hand over @len bytes of lines received from @peer
 * (the records' src.input in memory mode). @done(@arg, status) is called
 * once, on the loop thread, possibly before this returns.
 * Return: 0 (taken), -CD_EAGAIN (refused for now: retry later; done not
 * called), or another negative CD code (done not called).
 */
int intake_submit(struct intake *in, const char *peer, const void *lines, size_t len, intake_done_fn done,
		  void *arg);

/* intake_cancel() - @arg is going away (its connection closed): its done() will not be called. */
void intake_cancel(struct intake *in, void *arg);

/*
 * intake_tick() - read the log back into the pipeline (commits and their
 * done() calls happen by themselves, on the loop). Call it from the
 * input's tick().
 * Return: true when more is to be done now.
 */
bool intake_tick(struct intake *in, int64_t now_ns);

/* intake_durable() - whether @in acknowledges only what is on disk (ack: durable). */
bool intake_durable(const struct intake *in);

/* intake_metrics() - the intake's series (committed bytes, fsyncs, refused requests) with @label. */
void intake_metrics(struct intake *in, struct metrics *m, const char *label);

/*
 * intake_stop() - the input stops (SIGTERM): commit, read the log to its
 * end and end its sources, their positions kept, so the drain delivers
 * everything acknowledged and a restart reads nothing twice.
 */
void intake_stop(struct intake *in);

/*
 * intake_close() - close: what is committed is read again on the next
 * start; what waits for a commit is dropped unanswered (its clients send
 * it again). NULL is a no-op.
 */
void intake_close(struct intake *in);

#endif
