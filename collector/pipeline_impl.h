/*
 * pipeline_impl.h - what the pipeline's own files share (pipeline.c,
 * loop.c, source.c, delivery.c): the structures behind struct pipeline
 * and the calls between its stages. Plugins see only pipeline.h.
 */
#ifndef CD_PIPELINE_IMPL_H
#define CD_PIPELINE_IMPL_H

#include "parse/parse.h"
#include "query/sumwrite.h"
#include "pipeline.h"
#include <parsers/envelope.h>

struct pl_watch {
	int fd;		       /* the watched fd */
	pl_fd_cb cb;	       /* called when readable */
	void *arg;	       /* passed to cb */
	struct pl_watch *next; /* list of watches */
};

struct pl_in {
	const struct in_plugin *p; /* the plugin */
	void *st;		   /* its state */
	struct pl_in_stats stats;  /* counters */
	enum cd_parser parser;	   /* its parser */
	struct parse_regex *rx;	   /* CD_PARSER_REGEX: its compiled regex (owned) */
	struct parse_regex *mls;   /* its multiline_start (owned); NULL: the pipe/JSON rule */
	uint8_t env;		   /* enum parse_env: its container envelope (cri, docker), or none */
	char name[64];		   /* "TYPE#N": its name in metrics and logs (pl_in_name()) */
};

/* What the envelope stage keeps of a container line for the record made of it (source.c). */
struct pl_env_meta {
	int64_t ts_ns;	/* the runtime's time */
	bool has_ts;	/* ts_ns is meaningful */
	bool set;	/* the text came out of an envelope */
	uint8_t stream; /* enum parse_env_stream */
};

struct pl_out {
	const struct out_plugin *p;	   /* the plugin */
	void *st;			   /* its state */
	const struct cd_output_conf *conf; /* its configuration */
	int64_t retry_at;		   /* do not call flush() before this (monotonic ns) */
	uint64_t backoff_ms;		   /* current retry backoff; 0 after a success */
	uint64_t errors;		   /* failed flushes */
	uint64_t chunks;		   /* chunks acknowledged */
	uint64_t records;		   /* records in them */
	unsigned pending;		   /* chunks answered OUT_PENDING, outcome awaited */
	struct spool *spool;		   /* its overflow on disk; NULL: none (no state dir) */
	struct chunk *replay;		   /* the oldest spooled chunk, loaded for delivery */
	bool replay_sent;		   /* replay answered OUT_PENDING */
	bool spool_full_logged;		   /* "spool full" said once per episode */
	bool peer_down;			   /* pl_out_failing(): down until the output says it is back */
	uint64_t spooled;		   /* chunks written to its spool */
	uint64_t replayed;		   /* spooled chunks delivered */
	int64_t failing_since;		   /* monotonic ns of the first failure in a row; 0: fine */
	char last_error[160];		   /* what the last failure said */
	struct deadletter *dl;		   /* its records given up for good (dlq.c); NULL before open */
	uint64_t dl_logged;		   /* records kept in dead-letter files at the last log line */
	uint64_t dl_dropped_seen;	   /* records given up without a store, as last told to cd_drop() */
	uint64_t dl_full_seen;		   /* deadletter_full(), as last told to cd_drop() */
	int64_t dl_log_ns;		   /* monotonic ns of the last log line; 0: none yet */
	char dl_reason[40];		   /* the last reason given */
	char dl_detail[160];		   /* the peer's words for it */
};

struct pl_qent {
	struct chunk *c;      /* sealed chunk */
	uint64_t acked;	      /* bit k: output k has it */
	uint64_t sent;	      /* bit k: output k answered OUT_PENDING, outcome awaited */
	struct pl_qent *next; /* next in sequence order */
};

struct pl_source {
	struct pl_source *next;	 /* list of live sources */
	uint32_t id;		 /* the ack tracker's input id (unique per source) */
	unsigned input;		 /* configured input index */
	char *display;		 /* name in records' src.input */
	char *ckpt;		 /* checkpoint name; NULL: no position kept */
	uint64_t dev, ino;	 /* identity of the file read */
	char *buf;		 /* read buffer, CD_READ_BUF bytes; NULL while parked */
	size_t start, end;	 /* unconsumed bytes buf[start..end) */
	uint64_t off;		 /* input offset of buf[start] */
	uint64_t counted;	 /* bytes up to this offset are in the input's byte counter */
	uint32_t split_part;	 /* pieces of the current overlong line emitted */
	struct parse_ml ml;	 /* the held record */
	uint64_t marked_seq;	 /* last chunk seq counted in pending_chunks */
	bool marked;		 /* marked_seq is meaningful */
	uint32_t pending_chunks; /* chunks holding its records, not yet complete */
	bool ended;		 /* no more reads: free when pending_chunks reaches 0 */
	bool forget;		 /* drop its checkpoint entry when freed */
	pl_acked_cb on_acked;	 /* told each acknowledged position (pl_source_on_acked()); NULL: none */
	void *acked_arg;	 /* its argument */

	/* the envelope stage (source.c): a partial line joined until its last part, and the envelope's fields */
	char *env_buf;	    /* 2 * CD_LINE_MAX: the join, then Docker's decoded text; NULL until used */
	size_t env_len;	    /* bytes joined */
	uint64_t env_start; /* input offset of the join's first envelope line */
	struct pl_env_meta env_join;   /* of the join's first part */
	struct pl_env_meta env_line;   /* of the line on_line() is given */
	struct pl_env_meta env_held;   /* of the held multiline record's first line */
	const struct pl_env_meta *env; /* what emit_record() adds: &env_line, or &env_held */
	struct parse_k8s k8s;	       /* pod, namespace, container from its path (views into display) */
	bool has_k8s;		       /* k8s was read from the path */

	/* its file's first bytes (its identity with dev, ino): collected, or pl_source_set_prefix() */
	uint8_t fp[CHECKPOINT_FP_MAX];
	uint16_t fp_len; /* bytes at fp */
};

struct pipeline {
	const struct cd_config *cf;	   /* configuration (borrowed) */
	int epfd;			   /* epoll set */
	int sigfd;			   /* SIGTERM, SIGINT, SIGHUP */
	struct pl_watch *watches;	   /* registered fds */
	struct pl_in in[CD_INPUTS_MAX];	   /* inputs */
	unsigned nin;			   /* used */
	struct pl_out out[CD_OUTPUTS_MAX]; /* outputs */
	unsigned nout;			   /* used */
	uint64_t all_outputs;		   /* mask of every output bit */
	struct checkpoint *ckpt;	   /* positions; NULL when no input keeps any */
	bool ckpt_dirty;		   /* positions changed since the last save */
	struct ack_tracker *acks;	   /* acknowledged prefixes */
	struct chunk *cur;		   /* the chunk being filled */
	struct chunk *spare;		   /* a cleared chunk to reuse */
	uint64_t next_seq;		   /* sequence number of the next chunk */
	struct pl_qent *qhead, *qtail;	   /* sealed chunks in flight */
	size_t qn;			   /* entries in the queue */
	struct pl_source *sources;	   /* live sources */
	uint32_t next_id;		   /* id of the next source */
	int64_t now;			   /* monotonic ns at the start of this turn */
	bool stopping;			   /* SIGTERM/SIGINT seen, or pipeline_stop() */
	bool reload;			   /* SIGHUP seen: pipeline_run() returns PL_RELOAD */
	bool announced;			   /* "started" was logged */
	bool failed;			   /* a fatal error: stop, acknowledge nothing more */
	struct cd_err ferr;		   /* what failed */
	struct fmt_record recs[2];	   /* scratch records (large: not on the stack) */
	struct fmt_record *rec;		   /* the one a line is parsed into: one of recs */
	struct fmt_record *rec_held;	   /* the other: the held record's parse while held_src is set */
	const struct pl_source *held_src;  /* whose held record rec_held is (within process_buf() only) */
	int held_rc;			   /* its parse_line_start() result */
	struct fmt_err held_fe;		   /* and error */

	/* an output wants summaries (pl_summarise_chunks()): the records of cur, summarised as appended */
	struct qy_sumw *sumw;	 /* NULL: none wanted */
	struct qy_keys sum_keys; /* the keys sumw summarises with */
	bool sum_broken;	 /* memory ran out: cur goes without summaries (the archive decodes it) */

	/* failed checkpoint saves not logged yet, and when the last was (a full disk fails every turn) */
	uint64_t ckpt_fails;
	int64_t ckpt_fail_logged;
};

/* pl_fatal() - stop the pipeline: nothing more is acknowledged; @what is pipeline_run()'s error. */
void pl_fatal(struct pipeline *pl, const char *what, int code);

/* --- loop.c ---------------------------------------------------------------- */

/* pl_loop_open() - the epoll set and the signalfd (SIGTERM, SIGINT, SIGHUP). Return: 0 or -CD_EIO. */
int pl_loop_open(struct pipeline *pl, struct cd_err *err);
/* pl_loop_close() - forget every watch, close the signalfd and the epoll set. */
void pl_loop_close(struct pipeline *pl);

/* --- source.c -------------------------------------------------------------- */

/* pl_source_flush_held() - the held multiline record of @s becomes a record now. */
void pl_source_flush_held(struct pipeline *pl, struct pl_source *s);
/* pl_sources_complete() - every output has chunk @c: move its sources' positions into the checkpoint. */
void pl_sources_complete(struct pipeline *pl, const struct chunk *c);
/* pl_source_free() - unlink and free @s now (its checkpoint entry dropped when it was to be forgotten). */
void pl_source_free(struct pipeline *pl, struct pl_source *s);

/* --- delivery.c ------------------------------------------------------------ */

/* pl_seal() - queue the current chunk for every output and start a new one. Return: 0 or -CD_ENOMEM. */
int pl_seal(struct pipeline *pl);
/* pl_deliver() - give every output what it lacks, in order (its spool first); free what all have. */
void pl_deliver(struct pipeline *pl);
/* pl_spill() - move queued chunks to the outputs' spools (see delivery.c). */
void pl_spill(struct pipeline *pl, bool all, bool failing_only);
/* pl_save_checkpoint() - write the positions when they changed (a failure is logged, not fatal). */
void pl_save_checkpoint(struct pipeline *pl);
/* pl_open_spool() - open output @o's spool directory under cf->spool_dir. */
int pl_open_spool(struct pl_out *o, const struct cd_config *cf, struct cd_err *err);
/* pl_out_dirname() - the name of output @oc's spool and dead-letter directories (see delivery.c). */
void pl_out_dirname(const struct cd_output_conf *oc, char *buf, size_t cap);

/* --- dlq.c: records given up for good ------------------------------------------ */

/* pl_dl_open() - output @o's dead-letter store under cf->deadletter_dir (none: counted drops). */
int pl_dl_open(struct pl_out *o, const struct cd_config *cf, struct cd_err *err);
/*
 * pl_dl_commit() - before output @k's OUT_OK counts: make the records it
 * gave up durable. Return: 0, or a negative code with @why (then the
 * chunk is retried, not acknowledged).
 */
int pl_dl_commit(struct pipeline *pl, unsigned k, char *why, size_t cap);
/* pl_dl_close() - log what was not logged yet, close the store. */
void pl_dl_close(struct pl_out *o);
/* pl_dl_metrics() - output @o's dead-letter series with label @lab (output="..."). */
struct metrics;
void pl_dl_metrics(const struct pl_out *o, struct metrics *m, const char *lab);

/* --- loop.c (the wait) ------------------------------------------------------------ */

/* pl_wait() - wait up to @timeout_ms for watched fds (and signals), running their callbacks. */
void pl_wait(struct pipeline *pl, int timeout_ms);

#endif
