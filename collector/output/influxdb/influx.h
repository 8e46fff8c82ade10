/*
 * output/influxdb/influx.h - the InfluxDB output's state, shared by its files:
 * out_influxdb.c (options, the plugin), influx_send.c (batches, their
 * write requests, the timer), influx_points.c (records -> points) and
 * influx_derived.c (RED, log counts and health -> points).
 */
#ifndef CD_OUTPUT_INFLUX_H
#define CD_OUTPUT_INFLUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <store/chunk.h>
#include "config.h"
#include "output/http_client.h"
#include "output/influxdb/lineproto.h"
#include "output/influxdb/red.h"
#include "pipeline.h"

#define NS_PER_MS 1000000ll

struct part {
	struct lp_buf body; /* what is POSTed (gzip'ed or not) */
	uint32_t npoints;   /* points in it */
	uint32_t rec_off;   /* chunk batches: the records its points came from, a byte range */
	uint32_t rec_end;   /* of the chunk's payload (rejected: they go to the dead-letter files) */
};

struct batch {
	uint64_t seq;	       /* the chunk's sequence number (chunk batches) */
	bool is_chunk;	       /* false: derived points */
	bool handed;	       /* a chunk answered OUT_PENDING, outcome not yet reported */
	bool failed;	       /* a part asked for a retry this round */
	const struct chunk *c; /* a chunk batch's chunk while handed (valid until reported) */
	struct part *parts;    /* the requests */
	unsigned nparts;       /* entries at parts */
	uint64_t done;	       /* bit per part: delivered or rejected */
	uint64_t running;      /* bit per part: request in flight */
	int64_t retry_at;      /* derived: monotonic ns before which it is not sent */
	uint64_t backoff_ms;   /* derived: current backoff */
	size_t bytes;	       /* sum of the parts' body sizes */
	char why[200];	       /* the last failure, for pl_out_done() */
	struct batch *next;    /* list, oldest first */
};

struct influx {
	struct pipeline *pl;		 /* for pl_out_done(), pl_stats() */
	unsigned idx;			 /* our output index */
	const struct cd_output_conf *oc; /* configuration */
	bool v2;			 /* influxdb2:// */
	char *url;			 /* the write URL */
	bool gzip;			 /* Content-Encoding: gzip */
	bool want_spans, want_metrics;	 /* which records become points */
	bool want_red, want_logs;	 /* which derived points */
	bool want_health;		 /* the clewd measurement */
	bool normalize;			 /* routes from paths with IDs replaced */
	uint64_t batch_bytes;		 /* line protocol per request */
	unsigned inflight_max;		 /* requests at once */
	uint64_t timeout_ms;		 /* per request */
	int64_t interval_ns;		 /* derived points period */
	char host[256];			 /* tag of the clewd measurement */
	struct http_client *http;	 /* the write requests (http_client.h) */
	struct batch *head, *tail;	 /* batches, oldest first */
	size_t derived_bytes;		 /* bytes of derived batches held */
	struct red *red;		 /* RED and log-count aggregates */
	int tfd;			 /* the timer */
	int64_t next_tick;		 /* monotonic ns of the next interval tick */
	int64_t last_drive_ns;		 /* monotonic ns of the last drive() */
	struct lp_buf raw, tmp;		 /* encoding buffers */
	/* counters */
	uint64_t points;	  /* points acknowledged by the server */
	uint64_t rejected;	  /* points refused (400/413/422) */
	uint64_t requests;	  /* requests completed with 2xx */
	uint64_t failures;	  /* requests that failed and were retried */
	uint64_t bytes_sent;	  /* body bytes of successful requests */
	uint64_t derived_dropped; /* derived points dropped (memory cap) */
	uint64_t skipped;	  /* span/metric records without what a point needs */
};

/* --- influx_send.c: batches and their requests --- */
void influx_batch_free(struct batch *b);
void influx_batch_unlink(struct influx *st, struct batch *b);
void influx_batch_append(struct influx *st, struct batch *b);
struct batch *influx_batch_find(struct influx *st, uint64_t seq);

/* influx_seal_part() - st->raw as the next part of @b (gzip'ed when configured). Return: 0 or -CD_ENOMEM. */
int influx_seal_part(struct influx *st, struct batch *b, uint32_t npoints);

/* influx_req_done() - the http_client.h callback: part @part of batch @ctx ended with @r. */
void influx_req_done(void *arg, void *ctx, unsigned long part, const struct http_result *r);

/* influx_drive() - start what may start and let the requests progress (never blocks). */
void influx_drive(struct influx *st);

/*
 * influx_kick() - start what may start and let the requests progress,
 * reading no outcome: what flush() calls, where pl_out_done() for the
 * chunk being flushed would be lost (the pipeline marks it pending only
 * once flush() returns). The next influx_drive() reads the outcomes.
 */
void influx_kick(struct influx *st);

/* influx_derived_waiting() - whether derived batches are still held. */
bool influx_derived_waiting(const struct influx *st);

/* influx_arm_timer() - the timerfd: 10 ms while requests run, else the next tick or derived retry. */
void influx_arm_timer(struct influx *st);

/* influx_on_timer() - the timerfd fired (pl_watch_fd callback; @arg is the state). */
void influx_on_timer(void *arg);

/* --- influx_points.c: records to points --- */

/* influx_encode_chunk() - chunk @c into batch @b. Return: 0, -CD_ENOMEM, -CD_ECORRUPT. */
int influx_encode_chunk(struct influx *st, const struct chunk *c, struct batch *b);

/* --- influx_derived.c: RED, log counts and health to points --- */

/* influx_tick() - one derived batch of the final RED/log series (all of them if @all) and the health point. */
void influx_tick(struct influx *st, bool all);

#endif
