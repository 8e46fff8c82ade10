/*
 * pipeline.h - clewd's one event loop: inputs -> lines -> multiline join
 * -> parse -> chunk -> outputs -> acks -> checkpoint.
 *
 * The inputs (input/) and outputs (output/) are plugins behind const
 * vtables, each found through its descriptor (registry.h: name, spec,
 * options); this header is what they see of the pipeline. A *source* is
 * one byte stream an input reads (stdin, one open file): the pipeline
 * cuts it into lines, joins and parses them, and remembers its position,
 * which moves in the checkpoint only when every output has acknowledged
 * every chunk up to it. Single-threaded: everything runs on the loop.
 */
#ifndef CD_PIPELINE_H
#define CD_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include <store/chunk.h>
#include "chunk/checkpoint.h"
#include "config.h"
#include "registry.h"
#include <store/err.h>

struct qy_keys; /* query/summary.h */

struct pipeline;
struct pl_source;

/* --- plugins ----------------------------------------------------------- */

struct metrics;
struct in_handoff;

/*
 * An input. open() starts it (registering fds with pl_watch_fd()),
 * tick() reads what is there — called on every turn of the loop unless
 * the pipeline applies backpressure — and returns true when more is
 * readable right now (the loop then does not sleep). done() says it will
 * produce nothing more (stdin at EOF). stop() is called once on SIGTERM
 * before the drain: the input takes what it has received (the network
 * inputs: what waits in the kernel's socket buffers), ends its sources
 * and accepts nothing more. close() accepts NULL.
 * Optional hooks (stop, metrics) may be NULL.
 */
struct in_plugin {
	int (*open)(void **state, struct pipeline *pl, unsigned idx, const struct cd_input_conf *ic,
		    struct cd_err *err);
	bool (*tick)(void *state, int64_t now_ns);
	bool (*done)(void *state);
	void (*stop)(void *state);
	/* metrics(): the input's own series (connections, datagrams, requests) with its label. */
	void (*metrics)(void *state, struct metrics *m, const char *label);
	void (*close)(void *state);
	/*
	 * hand_over(): a SIGHUP reload whose new configuration has this input
	 * unchanged: stop as stop() does, but read nothing more and put the
	 * sockets (listener, connections and their unread bytes) into @h
	 * (input/handoff.h) instead of closing them; stop() then does nothing.
	 * Optional: an input without it is closed and opened again.
	 */
	void (*hand_over)(void *state, struct in_handoff *h);
};

/* What an output says about one chunk (docs/STYLE.md, Plugins). */
enum out_result {
	OUT_OK,	     /* durable or delivered: acknowledged */
	OUT_PENDING, /* taken: the outcome comes later through pl_out_done() */
	OUT_RETRY,   /* not now (disk full, peer down): the pipeline retries it later, with backoff */
	OUT_FAIL,    /* the output is gone (EPIPE on stdout): the daemon stops, nothing acknowledged */
};

/*
 * An output. flush() delivers one sealed chunk completely or not at all
 * (as far as acknowledgement goes: a retried chunk may be delivered twice).
 * A synchronous output answers OUT_OK/OUT_RETRY/OUT_FAIL at once. An
 * asynchronous one (a network peer) may answer OUT_PENDING and report
 * the outcome later with pl_out_done(): the chunk stays valid and
 * unchanged until then, and the pipeline keeps handing it newer chunks
 * meanwhile (at most CD_QUEUE_CHUNKS_MAX in flight). poll() is called on
 * every turn of the loop while the output has chunks pending, and at
 * least every CD_OUT_POLL_MS; an output may also pl_watch_fd() its own
 * fds to be woken sooner. A chunk answered OUT_RETRY (at once or through
 * pl_out_done()) is given again after a backoff (0.1 s doubling to 30 s).
 * Optional hooks may be NULL. close() gives up what is pending (it is
 * not acknowledged, so it is read again or spooled), frees; accepts NULL.
 */
struct out_plugin {
	/* check(): validate @oc (its options) without side effects: --check-config, SIGHUP. */
	int (*check)(const struct cd_output_conf *oc, struct cd_err *err);
	/* open(): @pl and @idx are for pl_out_done() and pl_watch_fd(). */
	int (*open)(void **state, struct pipeline *pl, unsigned idx, const struct cd_output_conf *oc,
		    struct cd_err *err);
	enum out_result (*flush)(void *state, const struct chunk *c, struct cd_err *err);
	void (*poll)(void *state, int64_t now_ns);
	/* metrics(): the output's own series (metrics_add() with its label), for /metrics. */
	void (*metrics)(void *state, struct metrics *m, const char *label);
	void (*close)(void *state);
};

/*
 * pl_out_done() - output @idx reports the outcome of chunk @seq that it
 * answered OUT_PENDING: OUT_OK (acknowledged), OUT_RETRY (give it again
 * later; @why is logged) or OUT_FAIL (the daemon stops). May be called
 * from flush() or poll() (on the loop thread only). Unknown seqs are
 * ignored (a chunk already given up at close).
 */
void pl_out_done(struct pipeline *pl, unsigned idx, uint64_t seq, enum out_result r, const char *why);

/*
 * pl_summarise_chunks() - an output (the archive, with summaries on) wants
 * each chunk to carry its records' transaction summaries, made as the
 * records are appended (no decode of the payload later): see
 * chunk_take_summaries(), with summary keys @keys (copied). Called from
 * open(); @pl NULL, or a second call, is a no-op.
 * Return: 0 or -CD_ENOMEM (@err set).
 */
int pl_summarise_chunks(struct pipeline *pl, const struct qy_keys *keys, struct cd_err *err);

/*
 * pl_deadletter() - output @idx gives up record @r (with @src; a raw
 * record is @src->raw with @r NULL, as chunk_append() takes them) for
 * good: a permanent error that sending it again cannot cure (larger than
 * the peer allows, refused as invalid, not authorized). @reason is a
 * short token (msg_size_too_large): the metrics' label and the log's;
 * @detail (may be NULL) the peer's words for it, for the log line.
 * The record goes to the output's dead-letter files
 * (STATE_DIR/deadletter/NAME/, replayed by clewd --replay-deadletter),
 * made durable before the output's next OUT_OK is taken as an
 * acknowledgement; so an output answers OUT_OK for a chunk once each of
 * its records is delivered or given up this way, and sends nothing of it
 * again. Counted per reason, logged once per interval; with no files
 * (no state kept, deadletter_max 0) or past deadletter_max the record is
 * dropped and counted. On the loop thread, before reporting its chunk.
 * Return: 0 (accounted for); -CD_ENOMEM or -CD_EIO: not accounted for,
 * answer the chunk OUT_RETRY.
 */
int pl_deadletter(struct pipeline *pl, unsigned idx, const struct fmt_record *r, const struct record_src *src,
		  const char *reason, const char *detail);

/*
 * pl_out_failing() - output @idx cannot reach its peer (@failing: a Kafka
 * producer whose brokers are all down keeps its messages and retries by
 * itself), counted as an output error, or reaches it again (!@failing).
 * In between the output is down (clewd_output_up 0, /health), whatever
 * chunks are acknowledged meanwhile (delivered before the peer went away).
 * Loop thread only.
 */
void pl_out_failing(struct pipeline *pl, unsigned idx, bool failing);

/*
 * pipeline_check_outputs() - check every output's options against its
 * plugin's table (cd_opts_check()) and run its check() on @cf: what
 * --check-config and a SIGHUP reload verify before anything is opened.
 */
int pipeline_check_outputs(const struct cd_config *cf, struct cd_err *err);

/* --- the daemon's side --------------------------------------------------- */

/*
 * pipeline_new() - open the checkpoint (when an input keeps positions),
 * every output and every input of @cf (which must outlive the pipeline).
 * @out: set on success; untouched on failure.
 * Return: 0, or a negative CD code with @err saying which part failed.
 */
int pipeline_new(struct pipeline **out, const struct cd_config *cf, struct cd_err *err);

/*
 * pipeline_run() - the loop, until every input is done (stdin at EOF:
 * everything read is then delivered) or SIGTERM/SIGINT (reading stops,
 * what was read is delivered within cf->drain_ms). The signals are taken
 * through a signalfd; the caller blocks them before.
 * Return: 0 when everything read was acknowledged; -CD_EIO (an output
 * failed, or the drain did not finish: not acknowledged, so not lost for
 * inputs that keep positions) with @err.
 */
int pipeline_run(struct pipeline *pl, struct cd_err *err);

/* pipeline_run() returns this on SIGHUP: nothing stopped; run it again, or pipeline_stop() it. */
#define PL_RELOAD 1

/*
 * pipeline_hand_over() - before pipeline_stop() on a reload to @next: every
 * input of @pl that @next has unchanged (in_handoff_same()) and that can
 * (hand_over) puts its sockets into the handoff table, where the new
 * pipeline's twin takes them (input/handoff.h). The caller then calls
 * in_handoff_drop_all() once the new pipeline is open.
 */
void pipeline_hand_over(struct pipeline *pl, const struct cd_config *next);

/*
 * pipeline_stop() - stop reading and deliver what was read (or spool it)
 * within cf->drain_ms, as SIGTERM does. Return: as pipeline_run().
 */
int pipeline_stop(struct pipeline *pl, struct cd_err *err);

/*
 * pipeline_replay_deadletter() - clewd --replay-deadletter: hand the
 * dead-letter files of output @name of @cf (checked) to that output
 * again, oldest first, deleting each once acknowledged; records it
 * rejects again go to a new file. Stops when the files are delivered,
 * on SIGTERM/SIGINT (the caller blocks them), or when the output keeps
 * failing for longer than drain_timeout. *@left: files left afterwards.
 * Return: 0, or a negative CD code with @err.
 */
int pipeline_replay_deadletter(const struct cd_config *cf, const char *name, size_t *left,
			       struct cd_err *err);

/* pipeline_metrics() - every counter of @pl (and its plugins) into @m. */
void pipeline_metrics(struct pipeline *pl, struct metrics *m);

/*
 * pipeline_health() - whether @pl is healthy: no output failing for
 * longer than CD_HEALTH_FAIL_MS and inputs not held back by a full
 * spool. Writes a JSON document saying so (per output) into buf[0..cap).
 * Return: true when healthy.
 */
bool pipeline_health(struct pipeline *pl, char *buf, size_t cap);

/* pipeline_free() - close inputs, outputs, save the checkpoint; NULL is a no-op. */
void pipeline_free(struct pipeline *pl);

/* --- the inputs' side ------------------------------------------------------ */

/* Called on the loop when @fd is readable (or hung up). */
typedef void (*pl_fd_cb)(void *arg);

/* pl_watch_fd() - wake the loop when @fd is readable. Return: 0 or -CD_EIO. */
int pl_watch_fd(struct pipeline *pl, int fd, pl_fd_cb cb, void *arg);
void pl_unwatch_fd(struct pipeline *pl, int fd);

const struct cd_config *pl_config(const struct pipeline *pl);

/* pl_checkpoint_get() - the committed position of checkpoint name @name. Return: 0 or -CD_ENOENT. */
int pl_checkpoint_get(const struct pipeline *pl, const char *name, struct checkpoint_pos *pos);

/* pl_checkpoint_drop() - forget @name in the checkpoint (a file deleted or gone). */
void pl_checkpoint_drop(struct pipeline *pl, const char *name);

/*
 * pl_source_new() - a new source of input @idx named @display (copied;
 * the records' src.input), kept in the checkpoint under @ckpt (copied;
 * NULL: no position kept, as for stdin), file identity @dev/@ino, reading
 * from @offset. The start position is written to the checkpoint at once:
 * everything before it is acknowledged or deliberately skipped.
 * Return: the source, or NULL (out of memory, logged).
 */
struct pl_source *pl_source_new(struct pipeline *pl, unsigned idx, const char *display, const char *ckpt,
				uint64_t dev, uint64_t ino, uint64_t offset);

/*
 * pl_source_read() - read from @fd (positioned at the source's read
 * offset) up to CD_READ_BURST bytes, and hand every complete line on.
 * Return: bytes read (0: nothing now, *eof set when read() said EOF),
 * or -errno of a failed read.
 */
long pl_source_read(struct pipeline *pl, struct pl_source *s, int fd, bool *eof);

/*
 * pl_source_feed() - hand @len bytes of @data (received by the input
 * itself: a datagram, an HTTP body) on as if read from the source: cut
 * into lines, overlong lines split, counted in the input's bytes.
 */
void pl_source_feed(struct pipeline *pl, struct pl_source *s, const void *data, size_t len);

/*
 * pl_source_feed_datagram() - pl_source_feed() of one datagram of @len
 * bytes (0: nothing): its last line ends with it, a newline added when it
 * has none (not counted in the input's bytes), so lines of two datagrams
 * never run together. The udp/unixgram inputs' and their fuzz target's path.
 */
void pl_source_feed_datagram(struct pipeline *pl, struct pl_source *s, const void *data, size_t len);

/* pl_input_parser() - input @idx's parser (and its compiled regex: CD_PARSER_REGEX), for an input that parses itself. */
struct parse_regex;
void pl_input_parser(const struct pipeline *pl, unsigned idx, enum cd_parser *parser,
		     struct parse_regex **rx);

/*
 * pl_source_set_prefix() - the first @n bytes of the file @s reads (at
 * most CHECKPOINT_FP_MAX are kept): its fingerprint in the checkpoint,
 * which with the inode names the file. Call right after pl_source_new()
 * for a file opened past its start; a source reading from the start
 * collects them itself.
 */
void pl_source_set_prefix(struct pipeline *pl, struct pl_source *s, const void *p, size_t n);

/*
 * pl_source_park() - give @s's buffers back while it waits (a file at
 * EOF or waiting its turn; thousands may wait): the read buffer when
 * nothing unconsumed is in it or @reread (the unconsumed bytes, a partial
 * line, are dropped: pl_source_offset() moves back to them and the caller
 * reads them again from there), the multiline and envelope join buffers
 * when nothing is held (the held record's once it is flushed); the next
 * read takes them again. Return: whether the read buffer was parked.
 */
bool pl_source_park(struct pipeline *pl, struct pl_source *s, bool reread);

/*
 * pl_source_prefix_matches() - whether the file open at @fd starts with the
 * bytes @s read first (its fingerprint): false when the inode was recycled
 * by another file while @s was closed, or the file was rewritten from its
 * start (truncated by copytruncate and written past the read position
 * before we looked). True when @s has none yet.
 */
bool pl_source_prefix_matches(const struct pl_source *s, int fd);

/* pl_source_offset() - the offset of the next byte to read. */
uint64_t pl_source_offset(const struct pl_source *s);

/*
 * pl_source_truncated() - the file shrank below the read offset
 * (copytruncate): what was buffered is handed on as it is, reading
 * restarts at 0, and the input's truncation counter grows.
 */
void pl_source_truncated(struct pipeline *pl, struct pl_source *s);

/*
 * pl_source_rename() - keep @s's position under checkpoint name @ckpt
 * from now on (a rotated file), moving its entry. Return: 0 or -CD_ENOMEM.
 */
int pl_source_rename(struct pipeline *pl, struct pl_source *s, const char *ckpt);

/* pl_source_ckpt() - the checkpoint name (NULL for none). */
const char *pl_source_ckpt(const struct pl_source *s);

/*
 * pl_source_end() - no more bytes will come: a partial last line becomes a
 * record, the held multiline record is flushed; then the source is freed
 * once everything of it is acknowledged, and its checkpoint entry dropped
 * when @forget (a rotated file finished, a deleted file). @s must not be
 * used afterwards.
 */
void pl_source_end(struct pipeline *pl, struct pl_source *s, bool forget);

/*
 * pl_source_end_rest() - as pl_source_end(@s, false), but the bytes after
 * the last newline are not made a record: they are copied to @rest (at
 * most @cap bytes; *@n says how many) to be fed first to the source that
 * goes on reading the same stream (a connection handed over on reload).
 */
void pl_source_end_rest(struct pipeline *pl, struct pl_source *s, void *rest, size_t cap, size_t *n);

/*
 * pl_source_abandon() - stop reading @s without flushing its partial line
 * or held record (they are read again from the checkpoint on restart).
 * @s must not be used afterwards.
 */
void pl_source_abandon(struct pipeline *pl, struct pl_source *s);

/*
 * pl_source_record() - hand on a record the input decoded itself (a syslog
 * message, a Kafka msgpack payload), as if it were a line of @len bytes of
 * @s: a held multiline record is flushed first, then @r (NULL with
 * @src->raw for a raw record: its line and error) is appended with @src
 * (may be NULL) and the source's offset moves by @len. Counted in the
 * input's records (and unparsed); the input counts the bytes it read.
 * Call only between whole lines (nothing partial buffered).
 */
void pl_source_record(struct pipeline *pl, struct pl_source *s, const struct fmt_record *r,
		      const struct record_src *src, size_t len);

/* Told that every record of a source up to offset @off is acknowledged by every output. */
typedef void (*pl_acked_cb)(void *arg, uint64_t off);

/*
 * pl_source_on_acked() - call @cb(@arg, off) whenever @s's acknowledged
 * position moves (as its checkpoint position would), from the loop; NULL
 * stops it. For inputs whose positions live elsewhere (Kafka offsets).
 */
void pl_source_on_acked(struct pl_source *s, pl_acked_cb cb, void *arg);

/* Counters of one configured input (for the log and /metrics). */
struct pl_in_stats {
	uint64_t records;     /* records produced */
	uint64_t unparsed;    /* of which raw records (no parser accepted the line) */
	uint64_t split;	      /* pieces of lines longer than CD_LINE_MAX */
	uint64_t truncations; /* files found shorter than the read offset (copytruncate) */
	uint64_t rotations;   /* files replaced at their path (rotation by rename/create) */
	uint64_t bytes;	      /* bytes read */
	uint64_t env_invalid; /* lines of a cri/docker input that were not that envelope (kept as they are) */
};

/* pl_in_stats() - input @idx's counters, writable by the input (rotations). */
struct pl_in_stats *pl_in_stats(struct pipeline *pl, unsigned idx);

/* pl_in_name() - input @idx's name in metrics and logs: "TYPE#N" (N from 1, in the configuration's order). */
const char *pl_in_name(const struct pipeline *pl, unsigned idx);

/*
 * pl_backpressure() - whether the pipeline holds its inputs back now
 * (outputs behind, memory and spool full). An input that can push back
 * (HTTP: 503 + Retry-After) does so instead of buffering.
 */
bool pl_backpressure(const struct pipeline *pl);

/*
 * pipeline_log_summary() - log the one "summary" line of a stopped
 * pipeline (summary.c): records read per input, acknowledged per output,
 * unparsed, dropped, chunks still spooled and replayed, output errors,
 * wall time since @started_ns (monotonic) and the process's CPU time.
 * Return: true when nothing waits in a spool (everything was delivered).
 */
bool pipeline_log_summary(const struct pipeline *pl, int64_t started_ns);

/* The pipeline's totals (for the log, /metrics, and outputs that report on the collector). */
struct pl_stats {
	uint64_t records;     /* records read, all inputs */
	uint64_t unparsed;    /* of which raw */
	uint64_t bytes;	      /* bytes read */
	uint64_t queued;      /* chunks waiting for some output */
	uint64_t spool_bytes; /* bytes of chunk files in the spool, all outputs */
	uint64_t out_errors;  /* failed deliveries, all outputs */
};

void pl_stats(const struct pipeline *pl, struct pl_stats *out);

#endif
