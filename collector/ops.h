/*
 * ops.h - clewd's operations endpoint: GET /health and GET /metrics
 * (Prometheus text format 0.0.4) on the configured address, loopback by
 * default (http_listen / --http), and the read-only Jaeger-compatible
 * API over the first archive output (GET /api/...).
 */
#ifndef CD_OPS_H
#define CD_OPS_H

#include <store/err.h>

struct pipeline;
struct cd_httpd;

/*
 * ops_start() - serve @pl's health and metrics on @addr, and the API over
 * the archive at @archive_dir (NULL: none) with its @summary_keys (NULL:
 * the defaults; api/api.h).
 * Return: 0 or a negative CD code with @err.
 */
int ops_start(struct cd_httpd **out, struct pipeline *pl, const char *addr, const char *archive_dir,
	      const char *summary_keys, struct cd_err *err);

/* ops_stop() - stop the endpoint @h (NULL: none): the API's queries let go of it first. */
void ops_stop(struct cd_httpd *h);

#endif
