/*
 * output/logstash/ls_common.h - what the four Logstash outputs (tcp, udp, http,
 * redis) share: the ordered queue of chunks they hold OUT_PENDING, their
 * counters and /metrics series, a non-blocking connect and its wait, the
 * retry of the oldest chunk, and the rendered chunk (kept by sequence
 * number) walked line by line.
 *
 * Retry and backoff: an output that cannot deliver the oldest chunk it
 * holds (peer down, connection lost mid-chunk, HTTP 5xx/429, Redis list
 * full) gives that chunk back with OUT_RETRY and *holds* the younger
 * ones: nothing is started again until the pipeline gives the refused
 * chunk back, after its exponential backoff with jitter (0.1 s doubling
 * to 30 s, reset by the next acknowledgement). So one backoff paces
 * reconnects and retries, order is kept, and a lost connection costs
 * one doubling, not one per chunk in flight.
 */
#ifndef CD_OUTPUT_LS_COMMON_H
#define CD_OUTPUT_LS_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cd_limits.h"
#include <store/chunk.h>
#include "output/lines.h"
#include "pipeline.h"
#include <store/err.h>

/* One chunk an output holds (answered OUT_PENDING, or being flushed). */
struct ls_item {
	const struct chunk *c; /* valid until its outcome is reported */
	uint64_t seq;	       /* chunk_seq(c) */
	uint32_t nrecords;     /* chunk_nrecords(c) */
	uint64_t mark;	       /* the output's own progress (tcp: stream offset of its end, 0: unwritten) */
};

/*
 * The chunks an output holds, oldest (lowest seq) first. The pipeline
 * never has more than CD_QUEUE_CHUNKS_MAX in flight, so a fixed array.
 */
struct ls_queue {
	struct pipeline *pl;			/* for pl_out_done() */
	unsigned idx;				/* the output's index in the pipeline */
	struct ls_item it[CD_QUEUE_CHUNKS_MAX]; /* held chunks, by seq */
	unsigned n;				/* used entries of it[] */
	bool held;				/* the oldest was refused: start nothing until it is back */
	bool in_flush;		      /* inside flush(): its chunk's outcome is returned, not reported */
	uint64_t flush_seq;	      /* the chunk flush() was given */
	enum out_result flush_result; /* its outcome so far (OUT_PENDING: none yet) */
	char flush_why[256];	      /* why, when it is OUT_RETRY or OUT_FAIL */
};

void ls_queue_init(struct ls_queue *q, struct pipeline *pl, unsigned idx);

/*
 * ls_queue_begin() - flush() was given @c: insert it in seq order (the
 * pipeline gives a refused chunk back before any younger one, so this
 * also ends a hold). Return: the item, or NULL when the queue is full
 * (the caller answers OUT_RETRY).
 */
struct ls_item *ls_queue_begin(struct ls_queue *q, const struct chunk *c);

/*
 * ls_queue_end() - what flush() answers for the chunk of ls_queue_begin():
 * OUT_OK / OUT_RETRY / OUT_FAIL if its outcome was decided during the
 * flush (it is then no longer held; @err says why), else OUT_PENDING.
 */
enum out_result ls_queue_end(struct ls_queue *q, struct cd_err *err);

/*
 * ls_queue_done() - chunk @i's outcome: it leaves the queue and the
 * pipeline hears of it (pl_out_done(), or flush()'s answer for the chunk
 * being flushed). OUT_RETRY on the oldest chunk also starts a hold.
 */
void ls_queue_done(struct ls_queue *q, unsigned i, enum out_result r, const char *why);

/* ls_queue_drop() - forget everything held (close(): the pipeline gives it up itself). */
void ls_queue_drop(struct ls_queue *q);

/* The rendered form of the chunk an output is sending, kept until it is delivered. */
struct ls_lines {
	struct out_lines out; /* the events, one line each */
	uint64_t seq;	      /* which chunk out holds */
	bool valid;	      /* out holds seq */
};

/*
 * ls_render() - @it's chunk as Logstash events in @l, unless @l holds it
 * already. Return: 1 rendered now (sending starts at its first byte), 0
 * held already, or -CD_ENOMEM / -CD_ECORRUPT with @err (@l holds nothing).
 */
int ls_render(struct ls_lines *l, const struct ls_item *it, struct cd_err *err);

/* Counters of one Logstash output; what metrics() exposes. */
struct ls_stats {
	uint64_t events;    /* events acknowledged (delivered) */
	uint64_t bytes;	    /* payload bytes sent (events and their separators; before gzip) */
	uint64_t errors;    /* failed attempts: connects, lost connections, errors from the peer */
	uint64_t retries;   /* chunks given back for a retry */
	uint64_t connects;  /* connections established */
	uint64_t truncated; /* udp: events cut to max_datagram */
	uint64_t refused;   /* redis: chunks refused because the list was at max_list_length */
	uint64_t rejected;  /* http: events of batches given up on a 4xx answer */
};

/* Which of the optional series an output has. */
enum {
	LS_HAS_TRUNCATED = 1u << 0,
	LS_HAS_REFUSED = 1u << 1,
	LS_HAS_REJECTED = 1u << 2,
};

/*
 * ls_metrics() - @s as clewd_output_logstash_* series with @label, plus
 * the gauges in_flight_chunks (@q's held chunks) and in_flight_bytes.
 */
void ls_metrics(struct metrics *m, const char *label, const struct ls_stats *s, unsigned has,
		const struct ls_queue *q, uint64_t in_flight_bytes);

/* ls_log_summary() - one log line with @s at close: what the output did over its life. */
void ls_log_summary(const char *name, const struct ls_stats *s, unsigned has);

/*
 * ls_connect() - a non-blocking, close-on-exec socket of @socktype
 * (SOCK_STREAM, SOCK_DGRAM) connecting
 * to @host:@port (a numeric address is not looked up; a name is, with
 * getaddrinfo(), which may block for the resolver's timeout: use
 * addresses where that matters). Return: the fd (the connect may still
 * be in progress: ls_connect_poll()), or -CD_EIO / -CD_EINVAL with @err.
 */
int ls_connect(const char *host, uint16_t port, int socktype, struct cd_err *err);

/*
 * ls_connect_poll() - whether the connect on @fd has finished, without
 * waiting. Return: 1 connected, 0 in progress, -CD_EIO (refused,
 * unreachable) with @err.
 */
int ls_connect_poll(int fd, struct cd_err *err);

/*
 * ls_connect_wait() - ls_connect_poll() of output @name's connect on @fd,
 * with its deadline: once connected it is counted (@s->connects) and
 * logged. Return: 1 connected, 0 in progress, -CD_EIO (refused,
 * unreachable, "connect timeout" past @deadline_ns) with @err.
 */
int ls_connect_wait(int fd, int64_t now, int64_t deadline_ns, const char *name, struct ls_stats *s,
		    struct cd_err *err);

/*
 * ls_retry_oldest() - output @name could not deliver its oldest held
 * chunk now (@why): counted as an error and, if a chunk is held, given
 * back with OUT_RETRY (a retry: the hold and the pipeline's backoff
 * start). @conn_lost: an established connection went away (logged).
 */
void ls_retry_oldest(const char *name, struct ls_queue *q, struct ls_stats *s, bool conn_lost,
		     const char *why);

/*
 * ls_next_line() - the next line of a rendered chunk: @buf[*pos..) up to
 * its '\n' (not included). Return: false at the end.
 */
bool ls_next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *n);

/* ls_u64_str() - @v in decimal into @buf (at least 21 bytes). Return: @buf. */
const char *ls_u64_str(char *buf, uint64_t v);

#endif
