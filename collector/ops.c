/*
 * ops.c - /health and /metrics (see ops.h).
 *
 * DESIGN: the handlers run on the pipeline's loop (httpd.c), so they read
 * the counters without locks; the exposition is rebuilt per scrape (a
 * few dozen series: microseconds). /health answers 200 or 503 with a
 * small JSON document, for load balancers and orchestrator probes.
 * /api/... is the Jaeger-compatible API over the archive (api/api.c).
 */
#include <string.h>

#include "api/api.h"
#include "httpd.h"
#include "ops.h"
#include "pipeline.h"
#include "util/metrics.h"
#include "util/banned.h"

struct ops {
	struct pipeline *pl; /* whose counters */
	struct metrics *m;   /* the exposition, reused */
	struct cd_api *api;  /* the API over the archive (replaced at each start) */
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_len, void **req)
{
	struct ops *o = cls;

	(void)version;
	(void)upload;
	if (*upload_len)
		return MHD_NO; /* GET only: a body is a client error, drop the connection */
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return cd_httpd_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "GET only\n", 9);
	if (strncmp(url, "/api/", 5) == 0 || strcmp(url, "/") == 0 || strncmp(url, "/trace/", 7) == 0)
		return cd_api_request(o->api, c, url, req);
	if (strcmp(url, "/metrics") == 0) {
		const char *text;
		size_t len;

		metrics_reset(o->m);
		pipeline_metrics(o->pl, o->m);
		text = metrics_text(o->m, &len);
		return cd_httpd_reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len);
	}
	if (strcmp(url, "/health") == 0) {
		char body[4096];
		bool ok = pipeline_health(o->pl, body, sizeof(body));

		return cd_httpd_reply(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, "application/json",
				      body, strlen(body));
	}
	return cd_httpd_reply(c, MHD_HTTP_NOT_FOUND, "text/plain",
			      "not found: try /health, /metrics or /api/\n", 42);
}

static struct ops ops; /* one endpoint per process; kept across reloads */

int ops_start(struct cd_httpd **out, struct pipeline *pl, const char *addr, const char *archive_dir,
	      const char *summary_keys, struct cd_err *err)
{
	struct cd_api *api;
	int rc;

	ops.pl = pl;
	if (!ops.m && metrics_new(&ops.m) < 0)
		return cd_err_set(err, -CD_ENOMEM, 0, "out of memory");
	if ((rc = cd_api_new(&api, archive_dir, summary_keys, err)) < 0)
		return rc;
	cd_api_free(ops.api); /* the previous configuration's: its server is stopped */
	ops.api = api;
	if ((rc = cd_httpd_start_opts(out, pl, addr, on_request, &ops,
				      &(struct cd_httpd_opts){.completed = cd_api_completed,
							      .memory_limit = CD_API_REQUEST_BYTES},
				      err)) < 0)
		return rc;
	cd_api_attach(api, *out);
	return 0;
}

void ops_stop(struct cd_httpd *h)
{
	if (!h)
		return;
	cd_api_quiesce(ops.api); /* its thread lets go of the server's connections first */
	cd_httpd_stop(h);
}
