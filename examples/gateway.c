/*
 * gateway.c - the first hop of the example chain: POST /checkout.
 *
 *   gateway --port N [--orders URL] [--port-file PATH]
 *
 * --port 0 takes a free port; --port-file PATH receives the port once it listens.
 *
 * Body: {"user": U, "amount": CENTS}. Places the order with POST
 * URL/orders (the context goes along as a W3C traceparent) and answers
 * 200 {"order": ID, "status": "paid"}, 502 when the order was not paid,
 * 503 when orders cannot be reached. A request may bring its own
 * traceparent (or b3, X-Request-ID): the transaction then keeps that ID.
 * Logging is configured by the environment (CLEW_FORMAT, CLEW_OUTPUT, ...).
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc.h"

/* Longest downstream base URL. */
#define URL_MAX 512

struct gateway {
	clew_client *c;
	char orders_url[URL_MAX];
};

static const char usage[] =
	"Usage: gateway --port N [--orders URL] [--port-file PATH]\n"
	"Example service: POST /checkout {\"user\":U,\"amount\":CENTS} -> POST URL/orders.\n"
	"  --orders URL      orders' base URL (default http://127.0.0.1:8082)\n"
	"  --port N          port on 127.0.0.1 (0: any free one)\n"
	"  --port-file PATH  write the port there once listening\n"
	"Logs via libclew (CLEW_FORMAT, CLEW_OUTPUT).\n";

static void checkout(struct gateway *g, const struct svc_request *rq, struct svc_reply *rp)
{
	clew_client *c = g->c;
	json_t *j = json_loadb(rq->body, rq->body_len, 0, NULL);
	json_int_t amount = 0;
	const char *user = NULL;
	struct svc_call call;

	if (!j || json_unpack(j, "{s:s, s:I}", "user", &user, "amount", &amount) < 0) {
		CLEW_LOG(c, CLEW_LEVEL_WARN, CLEW_KV(CLEW_INT("status", 400)),
			 "bad checkout: want user and amount");
		rp->status = 400;
		snprintf(rp->body, sizeof(rp->body), "{\"error\":\"bad request\"}");
		json_decref(j);
		return;
	}
	CLEW_LOG(c, CLEW_LEVEL_INFO, CLEW_KV(CLEW_STR("user", user), CLEW_INT("amount", amount)),
		 "checkout by %s", user);
	if (svc_post(c, "orders", g->orders_url, rq->body, rq->body_len, CLEW_PROP_W3C, &call) < 0) {
		rp->status = 503;
		snprintf(rp->body, sizeof(rp->body), "{\"error\":\"orders unavailable\"}");
	} else {
		rp->status = call.status == 201 ? 200 : 502;
		snprintf(rp->body, sizeof(rp->body), "%s", call.body_len ? call.body : "{}");
		CLEW_LOG(c, rp->status == 200 ? CLEW_LEVEL_INFO : CLEW_LEVEL_WARN,
			 CLEW_KV(CLEW_STR("user", user), CLEW_INT("amount", amount),
				 CLEW_INT("orders_status", call.status),
				 CLEW_BOOL("paid", rp->status == 200)),
			 "checkout %s", rp->status == 200 ? "paid" : "failed");
	}
	json_decref(j);
}

static void handle(void *cookie, const struct svc_request *rq, struct svc_reply *rp)
{
	if (strcmp(rq->url, "/checkout") == 0 && strcmp(rq->method, "POST") == 0)
		checkout(cookie, rq, rp);
}

int main(int argc, char **argv)
{
	struct svc_args a = {.downstream = "http://127.0.0.1:8082"};
	struct gateway g = {NULL, ""};
	int rc;

	switch (svc_parse_args(argc, argv, usage, "orders", &a)) {
	case 1:
		return 0;
	case -1:
		return 2;
	}
	if ((size_t)snprintf(g.orders_url, sizeof(g.orders_url), "%s/orders", a.downstream) >=
	    sizeof(g.orders_url)) {
		fprintf(stderr, "gateway: --orders URL too long\n");
		return 2;
	}
	g.c = svc_client("gateway");
	if (!g.c)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = svc_run(g.c, (unsigned)a.port, a.port_file, handle, &g);
	curl_global_cleanup();
	clew_client_free(g.c);
	return rc < 0 ? 1 : 0;
}
