/*
 * billing.c - the last hop of the example chain: POST /charge.
 *
 *   billing --port N [--port-file PATH]
 *
 * --port 0 takes a free port; --port-file PATH receives the port once it listens.
 *
 * Body: {"order": ID, "user": "u1", "amount": CENTS}. Answers 200
 * {"charged": CENTS}, except for every 7th order (ID % 7 == 0), which
 * fails on purpose with 502 and an ERROR record whose message carries a
 * (fake) stack trace on further lines, so that tracegrep has failed
 * transactions to show. Deterministic: the same orders fail every run.
 *
 * Logging is configured by the environment (CLEW_FORMAT, CLEW_OUTPUT, ...).
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc.h"

/* Every FAIL_EVERY-th order is declined. */
#define FAIL_EVERY 7

static const char usage[] = "Usage: billing --port N [--port-file PATH]\n"
			    "Example service: POST /charge {\"order\":ID,\"user\":U,\"amount\":CENTS}.\n"
			    "Every 7th order fails with 502.\n"
			    "  --port N          port on 127.0.0.1 (0: any free one)\n"
			    "  --port-file PATH  write the port there once listening\n"
			    "Logs via libclew (CLEW_FORMAT, CLEW_OUTPUT).\n";

static void charge(clew_client *c, const struct svc_request *rq, struct svc_reply *rp)
{
	json_error_t jerr;
	json_t *j = json_loadb(rq->body, rq->body_len, 0, &jerr);
	json_int_t order = 0, amount = 0;
	const char *user = NULL;

	if (!j || json_unpack(j, "{s:I, s:s, s:I}", "order", &order, "user", &user, "amount", &amount) < 0) {
		CLEW_LOG(c, CLEW_LEVEL_WARN, CLEW_KV(CLEW_INT("status", 400)), "bad charge request: %s",
			 j ? "want order, user, amount" : jerr.text);
		rp->status = 400;
		snprintf(rp->body, sizeof(rp->body), "{\"error\":\"bad request\"}");
		json_decref(j);
		return;
	}
	if (order % FAIL_EVERY == 0) {
		CLEW_LOG(c, CLEW_LEVEL_ERROR,
			 CLEW_KV(CLEW_INT("status", 502), CLEW_INT("order", order), CLEW_STR("user", user),
				 CLEW_INT("amount", amount), CLEW_STR("error", "processor_timeout")),
			 "charge failed for order %lld: card processor timed out\n"
			 "    at processor_call (billing/processor.c:212)\n"
			 "    at charge_card (billing/charge.c:87)\n"
			 "    at charge (examples/billing.c:58)\n"
			 "    at svc_serve (examples/svc.c:130)",
			 (long long)order);
		rp->status = 502;
		snprintf(rp->body, sizeof(rp->body),
			 "{\"error\":\"card processor timed out\",\"order\":%lld}", (long long)order);
	} else {
		CLEW_LOG(c, CLEW_LEVEL_INFO,
			 CLEW_KV(CLEW_INT("order", order), CLEW_STR("user", user), CLEW_INT("amount", amount),
				 CLEW_BOOL("captured", true)),
			 "charged %lld.%02lld for order %lld", (long long)(amount / 100),
			 (long long)(amount % 100), (long long)order);
		rp->status = 200;
		snprintf(rp->body, sizeof(rp->body), "{\"order\":%lld,\"charged\":%lld}", (long long)order,
			 (long long)amount);
	}
	json_decref(j);
}

static void handle(void *cookie, const struct svc_request *rq, struct svc_reply *rp)
{
	if (strcmp(rq->url, "/charge") == 0 && strcmp(rq->method, "POST") == 0)
		charge(cookie, rq, rp);
}

int main(int argc, char **argv)
{
	struct svc_args a = {0};
	clew_client *c;
	int rc;

	switch (svc_parse_args(argc, argv, usage, NULL, &a)) {
	case 1:
		return 0;
	case -1:
		return 2;
	}
	c = svc_client("billing");
	if (!c)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = svc_run(c, (unsigned)a.port, a.port_file, handle, c);
	curl_global_cleanup();
	clew_client_free(c);
	return rc < 0 ? 1 : 0;
}
