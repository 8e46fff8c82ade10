/*
 * api/api.h - clewd's read-only, Jaeger-compatible JSON API over its
 * archive (issue 12), served on the --http listener beside /health and
 * /metrics: GET /api/services, /api/services/{service}/operations,
 * /api/traces?..., /api/traces/{traceID}. Grafana's Jaeger data source
 * and Jaeger UI read it as they read Jaeger's query service.
 *
 * Searches read the archive's transaction summaries (store/archive_sum.h)
 * through the query engine (query/), so they answer what
 * tracegrep --find answers; a trace is built from its records. They run
 * on a thread of their own (api/worker.c), never on clewd's loop.
 */
#ifndef CD_API_H
#define CD_API_H

#include <microhttpd.h>

#include <store/err.h>

struct cd_api;

/* Bounds of every query. */
#define CD_API_LIMIT_DEFAULT 20	    /* traces a search returns without limit= */
#define CD_API_LIMIT_MAX 1500	    /* limit= above this is cut to it */
#define CD_API_OPERATIONS_TXNS 1000 /* a service's operations: from its newest this many transactions */
#define CD_API_DEPENDENCY_TXNS 200  /* /api/dependencies: from the window's newest this many transactions */
#define CD_API_BUDGET_MS 5000	    /* a query that runs longer stops with a 503 and says why */
#define CD_API_TRACE_RECORDS 20000  /* records of one trace at most (a batch job): the rest is cut */
#define CD_API_QUEUE_MAX 16	    /* requests waiting for the queries' thread: past it, 503 at once */
/* a request's line and headers at most (its GET arguments: CD_API_LIMIT_MAX trace IDs fit; MHD's default,
   32 KiB, left a request of some 500 arguments unanswered) */
#define CD_API_REQUEST_BYTES (256 * 1024)

struct cd_httpd;

/*
 * cd_api_new() - the API over the archive at @archive_dir (copied; NULL:
 * clewd has no archive output, and every /api/ request answers 404 with
 * a JSON error saying so), whose summaries keep the values of
 * @summary_keys (its output's summary_keys, checked; NULL: the defaults),
 * the keys its searches read them with.
 * Return: 0, -CD_EINVAL (a bad list) or -CD_ENOMEM.
 */
int cd_api_new(struct cd_api **out, const char *archive_dir, const char *summary_keys, struct cd_err *err);
void cd_api_free(struct cd_api *api);

/* cd_api_attach() - the server @h whose requests @api answers (its connections are resumed there). */
void cd_api_attach(struct cd_api *api, struct cd_httpd *h);

/*
 * cd_api_request() - answer GET @url (which starts with "/api/", or is
 * "/": the search page) on @c, from MHD's handler with its per-request
 * pointer @cls: the first call queues the query and suspends @c; the call
 * after the connection is resumed sends the answer.
 */
enum MHD_Result cd_api_request(struct cd_api *api, struct MHD_Connection *c, const char *url, void **cls);

/* cd_api_completed() - MHD's completion callback for the server: frees an answer never sent. */
void cd_api_completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe);

/*
 * cd_api_quiesce() - before the server stops: the running query stops
 * short and the waiting ones are answered 503 (the queries' thread then
 * holds no connection).
 */
void cd_api_quiesce(struct cd_api *api);

#endif
