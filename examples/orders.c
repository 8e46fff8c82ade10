/*
 * orders.c - the middle hop of the example chain.
 *
 *   orders --port N [--billing URL] [--port-file PATH]
 *
 * --port 0 takes a free port; --port-file PATH receives the port once it listens.
 *
 *   POST /orders     {"user": U, "amount": CENTS}: numbers the order
 *                    (1, 2, 3, ... per process), charges it with POST
 *                    URL/charge, answers 201 {"order": ID, "status": "paid"}
 *                    or 502 when billing declined.
 *   GET /orders/ID   the order's status, or 404.
 *
 * The call to billing carries the context in a B3 single header (the
 * gateway sends W3C traceparent), so the chain exercises both styles.
 * Logging is configured by the environment (CLEW_FORMAT, CLEW_OUTPUT, ...).
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc.h"

/* Orders remembered for GET (a ring: older ones are forgotten; it is an example). */
#define ORDERS_KEPT 4096
/* Longest downstream base URL. */
#define URL_MAX 512

enum order_state { ORDER_NONE = 0, ORDER_PAID, ORDER_FAILED };

struct orders {
	clew_client *c;
	char charge_url[URL_MAX];
	atomic_uint_fast64_t next; /* the last order ID given */
	pthread_mutex_t lock;	   /* guards id and state */
	uint64_t id[ORDERS_KEPT];
	uint8_t state[ORDERS_KEPT];
};

static const char usage[] = "Usage: orders --port N [--billing URL] [--port-file PATH]\n"
			    "Example service: POST /orders (charges it at URL/charge), GET /orders/ID.\n"
			    "  --billing URL     billing's base URL (default http://127.0.0.1:8083)\n"
			    "  --port N          port on 127.0.0.1 (0: any free one)\n"
			    "  --port-file PATH  write the port there once listening\n"
			    "Logs via libclew (CLEW_FORMAT, CLEW_OUTPUT).\n";

static void remember(struct orders *o, uint64_t id, enum order_state st)
{
	pthread_mutex_lock(&o->lock);
	o->id[id % ORDERS_KEPT] = id;
	o->state[id % ORDERS_KEPT] = (uint8_t)st;
	pthread_mutex_unlock(&o->lock);
}

static enum order_state lookup(struct orders *o, uint64_t id)
{
	enum order_state st = ORDER_NONE;

	pthread_mutex_lock(&o->lock);
	if (o->id[id % ORDERS_KEPT] == id)
		st = (enum order_state)o->state[id % ORDERS_KEPT];
	pthread_mutex_unlock(&o->lock);
	return st;
}

static void create(struct orders *o, const struct svc_request *rq, struct svc_reply *rp)
{
	clew_client *c = o->c;
	json_t *j = json_loadb(rq->body, rq->body_len, 0, NULL);
	json_int_t amount = 0;
	const char *user = NULL;
	struct svc_call call;
	char body[256];
	uint64_t id;
	int n;

	if (!j || json_unpack(j, "{s:s, s:I}", "user", &user, "amount", &amount) < 0 || amount <= 0 ||
	    strpbrk(user, "\"\\")) {
		CLEW_LOG(c, CLEW_LEVEL_WARN, CLEW_KV(CLEW_INT("status", 400)),
			 "bad order: want user and amount");
		rp->status = 400;
		snprintf(rp->body, sizeof(rp->body), "{\"error\":\"bad request\"}");
		json_decref(j);
		return;
	}
	id = atomic_fetch_add(&o->next, 1) + 1;
	CLEW_LOG(c, CLEW_LEVEL_INFO,
		 CLEW_KV(CLEW_INT("order", (int64_t)id), CLEW_STR("user", user), CLEW_INT("amount", amount)),
		 "order %" PRIu64 " created", id);

	n = snprintf(body, sizeof(body), "{\"order\":%" PRIu64 ",\"user\":\"%s\",\"amount\":%lld}", id, user,
		     (long long)amount);
	if (n < 0 || (size_t)n >= sizeof(body)) {
		rp->status = 400;
		snprintf(rp->body, sizeof(rp->body), "{\"error\":\"bad user\"}");
		json_decref(j);
		return;
	}
	if (svc_post(c, "billing", o->charge_url, body, (size_t)n, CLEW_PROP_B3, &call) < 0 ||
	    call.status != 200) {
		remember(o, id, ORDER_FAILED);
		CLEW_LOG(c, CLEW_LEVEL_ERROR,
			 CLEW_KV(CLEW_INT("order", (int64_t)id), CLEW_STR("user", user),
				 CLEW_INT("amount", amount), CLEW_INT("billing_status", call.status)),
			 "order %" PRIu64 " not paid", id);
		rp->status = 502;
		snprintf(rp->body, sizeof(rp->body), "{\"order\":%" PRIu64 ",\"status\":\"payment_failed\"}",
			 id);
	} else {
		remember(o, id, ORDER_PAID);
		rp->status = 201;
		snprintf(rp->body, sizeof(rp->body), "{\"order\":%" PRIu64 ",\"status\":\"paid\"}", id);
	}
	json_decref(j);
}

static void get(struct orders *o, const char *idtext, struct svc_reply *rp)
{
	char *end;
	uint64_t id = strtoull(idtext, &end, 10);
	enum order_state st = *idtext && !*end ? lookup(o, id) : ORDER_NONE;

	CLEW_LOG(o->c, CLEW_LEVEL_INFO,
		 CLEW_KV(CLEW_STR("order_id", idtext), CLEW_BOOL("found", st != ORDER_NONE)), "order lookup");
	if (st == ORDER_NONE)
		return; /* 404 */
	rp->status = 200;
	snprintf(rp->body, sizeof(rp->body), "{\"order\":%" PRIu64 ",\"status\":\"%s\"}", id,
		 st == ORDER_PAID ? "paid" : "payment_failed");
}

static void handle(void *cookie, const struct svc_request *rq, struct svc_reply *rp)
{
	struct orders *o = cookie;

	if (strcmp(rq->url, "/orders") == 0 && strcmp(rq->method, "POST") == 0)
		create(o, rq, rp);
	else if (strncmp(rq->url, "/orders/", 8) == 0 && strcmp(rq->method, "GET") == 0)
		get(o, rq->url + 8, rp);
}

int main(int argc, char **argv)
{
	struct svc_args a = {.downstream = "http://127.0.0.1:8083"};
	static struct orders o; /* large: not on the stack */
	int rc;

	switch (svc_parse_args(argc, argv, usage, "billing", &a)) {
	case 1:
		return 0;
	case -1:
		return 2;
	}
	if ((size_t)snprintf(o.charge_url, sizeof(o.charge_url), "%s/charge", a.downstream) >=
	    sizeof(o.charge_url)) {
		fprintf(stderr, "orders: --billing URL too long\n");
		return 2;
	}
	pthread_mutex_init(&o.lock, NULL);
	o.c = svc_client("orders");
	if (!o.c)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = svc_run(o.c, (unsigned)a.port, a.port_file, handle, &o);
	curl_global_cleanup();
	clew_client_free(o.c);
	pthread_mutex_destroy(&o.lock);
	return rc < 0 ? 1 : 0;
}
