/*
 * w3c_test_service.c - the test service of the W3C Trace Context
 * validation suite (github.com/w3c/trace-context, test/), on libclew.
 *
 *   w3c_test_service PORT
 *
 * POST /test with a JSON array of {"url": URL, "arguments": ANY}: for each
 * element, in order, POST `arguments` (as JSON) to URL carrying the
 * propagated traceparent and tracestate. The incoming context is taken
 * with clew_extract() (an invalid traceparent starts a new trace), the
 * outgoing one is this service's own span, written by clew_inject(): the
 * same trace-id, a new parent-id, the flags and the tracestate passed on.
 * Answers 200 when every call was made, 400 for a body that is not such a
 * list. Serves 127.0.0.1 only. Records go where CLEW_OUTPUT says.
 *
 * Run the official suite against it (its harness listens on 127.0.0.1:7777
 * itself and needs Python's aiohttp):
 *   w3c_test_service 5000 &
 *   cd trace-context/test && SERVICE_ENDPOINT=http://127.0.0.1:5000/test STRICT_LEVEL=2 python3 test.py
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc.h"

static void usage(FILE *f)
{
	fputs("Usage: w3c_test_service PORT\n"
	      "The W3C Trace Context test service: POST /test [{\"url\":U,\"arguments\":A}, ...]\n"
	      "POSTs each A to its U with the propagated traceparent/tracestate.\n",
	      f);
}

static void test(clew_client *c, const struct svc_request *rq, struct svc_reply *rp)
{
	json_error_t jerr;
	json_t *list = json_loadb(rq->body, rq->body_len, 0, &jerr), *el;
	struct svc_call call;
	size_t i, failed = 0;

	rp->status = 400;
	if (!list || !json_is_array(list)) {
		CLEW_LOG(c, CLEW_LEVEL_WARN, CLEW_NOKV, "POST /test wants a JSON array: %s",
			 list ? "not an array" : jerr.text);
		snprintf(rp->body, sizeof(rp->body), "{\"error\":\"want a JSON array\"}");
		json_decref(list);
		return;
	}
	json_array_foreach(list, i, el)
	{
		const char *url = json_string_value(json_object_get(el, "url"));
		json_t *args = json_object_get(el, "arguments");
		char *body;

		if (!url || !args) {
			CLEW_LOG(c, CLEW_LEVEL_WARN, CLEW_KV(CLEW_INT("index", (int64_t)i)),
				 "element without url or arguments");
			failed++;
			continue;
		}
		body = json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!body || svc_post(c, "w3c-callback", url, body, strlen(body), CLEW_PROP_W3C, &call) < 0)
			failed++;
		free(body);
	}
	CLEW_LOG(c, failed ? CLEW_LEVEL_WARN : CLEW_LEVEL_INFO,
		 CLEW_KV(CLEW_INT("calls", (int64_t)json_array_size(list)),
			 CLEW_INT("failed", (int64_t)failed)),
		 "test list done");
	rp->status = failed ? 502 : 200;
	snprintf(rp->body, sizeof(rp->body), "{\"calls\":%zu,\"failed\":%zu}", json_array_size(list), failed);
	json_decref(list);
}

static void handle(void *cookie, const struct svc_request *rq, struct svc_reply *rp)
{
	if (strcmp(rq->url, "/test") == 0 && strcmp(rq->method, "POST") == 0)
		test(cookie, rq, rp);
}

int main(int argc, char **argv)
{
	int port;
	clew_client *c;
	int rc;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	port = argc == 2 ? svc_parse_port(argv[1]) : -1;
	if (port <= 0) {
		usage(stderr);
		return 2;
	}
	c = svc_client("w3c_test_service");
	if (!c)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = svc_run(c, (unsigned)port, NULL, handle, c);
	curl_global_cleanup();
	clew_client_free(c);
	return rc < 0 ? 1 : 0;
}
