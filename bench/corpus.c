/*
 * corpus.c - deterministic synthetic log corpora (see corpus.h).
 *
 * DESIGN: the lines imitate what a small shop of HTTP services writes:
 * a pool of CORPUS_TXNS transactions is in flight at once, each with an
 * NDC path of 1 to 4 IDs (a 16-hex trace ID, then 8-hex span IDs) that
 * grows and shrinks as the request descends into sub-calls, so one trace
 * shows up on many lines, interleaved with others, as in a real log.
 * Records are plain logs (~92%), spans (~5%: event=span, name, dur_us,
 * status) and metrics (~3%: event=metric, metric, type, value, tags).
 * About 3% of messages hold characters that need escaping (| \ newline
 * tab quote) and about 3% hold non-ASCII UTF-8; JSON lines sometimes
 * carry nested objects, arrays, booleans and floats.
 *
 * Sizes: a pipe line averages ~175 bytes, a JSON line ~360 bytes (pyms
 * field names). A mixed corpus alternates the two at random, and ~1% of
 * its records are pipe ERROR lines followed by a Java stack trace whose
 * lines never hold a '|', so no reader can take them for a record start.
 *
 * Everything is drawn from one splitmix64 stream in a fixed order, and
 * every number is formatted here, so a seed names one corpus for good:
 * changing what is drawn changes every corpus, so do it only on purpose.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

/* 2026-11-23T07:00:00Z, where every corpus starts. */
#define START_US (INT64_C(1795417200) * 1000000)

static uint64_t next_u64(struct corpus_gen *g)
{
	uint64_t z = (g->rng += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0 (the modulo bias is irrelevant here). */
static uint32_t below(struct corpus_gen *g, uint32_t n)
{
	return (uint32_t)(next_u64(g) % n);
}

/* True with probability pct/100. */
static bool chance(struct corpus_gen *g, uint32_t pct)
{
	return below(g, 100) < pct;
}

/* ---- output buffer ---- */

static void reserve(struct corpus_buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->failed || b->cap - b->len >= n)
		return;
	cap = b->cap ? b->cap : 1 << 16;
	while (cap - b->len < n)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p) {
		b->failed = 1;
		return;
	}
	b->data = p;
	b->cap = cap;
}

static void put(struct corpus_buf *b, const char *s, size_t n)
{
	reserve(b, n);
	if (b->failed)
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

static void puts_(struct corpus_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void putc_(struct corpus_buf *b, char c)
{
	put(b, &c, 1);
}

static void put_u(struct corpus_buf *b, uint64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(b, tmp + i, sizeof(tmp) - i);
}

/* @v as exactly @width digits, zero-padded. */
static void put_u_width(struct corpus_buf *b, uint64_t v, int width)
{
	char tmp[24];

	for (int i = width - 1; i >= 0; i--) {
		tmp[i] = (char)('0' + v % 10);
		v /= 10;
	}
	put(b, tmp, (size_t)width);
}

/* ---- timestamps ---- */

/* Days since 1970-01-01 to a civil date (H. Hinnant's algorithm). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, yy;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

/* "YYYY-MM-DDThh:mm:ss.ffffffZ" */
static void put_ts(struct corpus_buf *b, int64_t us)
{
	int64_t s = us / 1000000, days = s / 86400, y;
	unsigned sod = (unsigned)(s % 86400), m, d;

	civil_from_days(days, &y, &m, &d);
	put_u_width(b, (uint64_t)y, 4);
	putc_(b, '-');
	put_u_width(b, m, 2);
	putc_(b, '-');
	put_u_width(b, d, 2);
	putc_(b, 'T');
	put_u_width(b, sod / 3600, 2);
	putc_(b, ':');
	put_u_width(b, sod / 60 % 60, 2);
	putc_(b, ':');
	put_u_width(b, sod % 60, 2);
	putc_(b, '.');
	put_u_width(b, (uint64_t)(us % 1000000), 6);
	putc_(b, 'Z');
}

/* ---- what services say ---- */

static const char *const services[] = {
	"gateway",  "orders",	"billing", "inventory", "users",
	"payments", "shipping", "search",  "auth",	"notifications",
};
#define NSERVICES (sizeof(services) / sizeof(services[0]))

/* A route: its method, a path template ('#' is the resource ID) and a weight. */
static const struct {
	const char *method;
	const char *path;
	const char *module; /* pyms module / function of the handler */
	const char *func;
	unsigned weight;
} routes[] = {
	{"GET", "/api/v1/orders/#", "orders_api", "get_order", 16},
	{"POST", "/api/v1/orders", "orders_api", "create_order", 6},
	{"GET", "/api/v1/orders/#/items", "orders_api", "list_items", 6},
	{"PUT", "/api/v1/orders/#/status", "orders_api", "set_status", 3},
	{"GET", "/api/v1/users/#", "users_api", "get_user", 10},
	{"PATCH", "/api/v1/users/#/preferences", "users_api", "patch_prefs", 2},
	{"POST", "/api/v1/payments/#/capture", "payments_api", "capture", 4},
	{"GET", "/api/v2/invoices/#/lines?page=2&size=50", "billing_api", "invoice_lines", 3},
	{"DELETE", "/api/v1/carts/#/items/7731", "carts_api", "remove_item", 2},
	{"GET", "/api/v1/products?category=shoes&sort=price&page=#", "catalog_api", "list_products", 8},
	{"POST", "/checkout", "checkout", "submit", 4},
	{"GET", "/health", "health", "check", 5},
	{"GET", "/api/v1/search?q=running+shoes&limit=20&offset=#", "search_api", "query", 6},
	{"POST", "/api/v1/auth/token", "auth_api", "issue_token", 5},
	{"GET", "/api/v1/inventory/sku-#/stock", "inventory_api", "stock", 6},
	{"POST", "/api/v1/shipments/#/labels", "shipping_api", "print_label", 2},
	{"GET", "/api/v1/notifications?user=u#&unread=true", "notify_api", "unread", 3},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* Message templates: '#' is a resource ID, '%' a small count, '@' a user number. */
static const char *const info_msgs[] = {
	"order fetched",
	"order # created with % items",
	"payment authorized for order #",
	"cache miss for key user:@",
	"inventory reserved: sku-# x%",
	"token issued for u@",
	"request completed",
	"invoice # rendered in % ms",
	"user u@ updated preferences",
	"search returned % results",
	"shipment label printed for order #",
	"cart # recalculated, % lines, coupon applied",
	"health check ok",
	"notification queued for u@ via email",
};
static const char *const warn_msgs[] = {
	"slow query on orders_by_user took % ms",   "retrying upstream billing (attempt %/3)",
	"rate limit close for u@: % req/min",	    "stock low for sku-#: % left",
	"deprecated api version used by client u@",
};
static const char *const error_msgs[] = {
	"upstream timeout after 3000 ms",
	"payment declined for order #: insufficient funds",
	"failed to reserve stock for sku-#",
	"connection reset by peer while reading from billing",
	"unhandled exception in handler for order #",
};
static const char *const debug_msgs[] = {
	"sql: SELECT id, status, total FROM orders WHERE id = # LIMIT 1",
	"cache set user:@ ttl=300",
	"headers parsed: % entries",
};
/* Messages that need escaping in at least one of the two formats. */
static const char *const escape_msgs[] = {
	"filter status|paid matched % orders",
	"export written to C:\\exports\\orders-#.csv",
	"template render failed:\nline % unexpected token",
	"columns\tid\tstatus\ttotal",
	"client sent \"bad\" header X-Order: #",
};
/* Messages with non-ASCII UTF-8. */
static const char *const unicode_msgs[] = {
	"customer Zo\xc3\xab M\xc3\xbcller from Z\xc3\xbcrich placed order #",
	"\xe9\x85\x8d\xe9\x80\x81\xe5\x85\x88: \xe6\x9d\xb1\xe4\xba\xac\xe9\x83\xbd, order #",
	"shipping to S\xc3\xa3o Paulo \xe2\x9c\x93",
	"deploy finished \xf0\x9f\x9a\x80 version 2.%.0",
	"price 12,50 \xe2\x82\xac for sku-#",
};
static const char *const span_names[] = {
	"db.query", "http.client", "cache.get", "kafka.produce", "template.render", "grpc.call",
};
static const char *const regions[] = {"eu-west-1", "eu-central-1", "us-east-1"};
static const char *const queues[] = {"orders.created", "payments.captured", "stock.reserved"};

#define PICK(g, arr) (arr[below((g), sizeof(arr) / sizeof(arr[0]))])

static int pick_route(struct corpus_gen *g)
{
	unsigned total = 0, r;

	for (size_t i = 0; i < NROUTES; i++)
		total += routes[i].weight;
	r = below(g, total);
	for (size_t i = 0; i < NROUTES; i++) {
		if (r < routes[i].weight)
			return (int)i;
		r -= routes[i].weight;
	}
	return 0;
}

static void put_hex(struct corpus_gen *g, char *out, int digits)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t v = next_u64(g);

	for (int i = 0; i < digits; i++)
		out[i] = hex[(v >> (4 * i)) & 15];
	out[digits] = '\0';
}

static void txn_new(struct corpus_gen *g, struct corpus_txn *t)
{
	put_hex(g, t->ids[0], 16);
	put_hex(g, t->ids[1], 8); /* the gateway's own span */
	t->depth = 2;
	t->route = pick_route(g);
	t->svc[1] = 0; /* requests enter through the gateway */
	t->id_num = 1000 + below(g, 90000);
	t->left = 3 + (int)below(g, 14);
}

/* Move @t one step: into a sub-call, back out of one, or over to another service. */
static void txn_step(struct corpus_gen *g, struct corpus_txn *t)
{
	uint32_t r = below(g, 100);

	if (r < 45 && t->depth < 4) {
		put_hex(g, t->ids[t->depth], 8);
		t->svc[t->depth] = 1 + (int)below(g, NSERVICES - 1);
		t->depth++;
	} else if (r < 75 && t->depth > 2) {
		t->depth--;
	}
}

/* ---- escaping for the two formats ---- */

/*
 * Escape @s for a pipe field (@quote '|') or a JSON string (@quote '"'): the
 * two formats escape the same control characters and the backslash, and
 * differ only in the character that ends a field. The generator keeps its
 * own escaper on purpose: a corpus made by the code under test proves less.
 */
static void put_escaped(struct corpus_buf *b, const char *s, size_t n, char quote)
{
	for (size_t i = 0; i < n; i++) {
		char esc = s[i] == quote  ? quote
			   : s[i] == '\\' ? '\\'
			   : s[i] == '\n' ? 'n'
			   : s[i] == '\r' ? 'r'
			   : s[i] == '\t' ? 't'
					  : 0;

		if (esc) {
			putc_(b, '\\');
			putc_(b, esc);
		} else {
			putc_(b, s[i]);
		}
	}
}

static void put_pipe_escaped(struct corpus_buf *b, const char *s, size_t n)
{
	put_escaped(b, s, n, '|');
}

static void put_json_escaped(struct corpus_buf *b, const char *s, size_t n)
{
	put_escaped(b, s, n, '"');
}

/* Expand a message template into @tmp (plain text). */
static size_t expand(struct corpus_gen *g, const struct corpus_txn *t, const char *tpl, char *tmp, size_t cap)
{
	struct corpus_buf b = {0};
	size_t n;

	for (const char *p = tpl; *p; p++) {
		if (*p == '#')
			put_u(&b, t->id_num);
		else if (*p == '%')
			put_u(&b, 1 + below(g, 40));
		else if (*p == '@')
			put_u(&b, 100 + (t->id_num * 7) % 9000);
		else
			putc_(&b, *p);
	}
	n = b.len < cap ? b.len : cap;
	if (b.data)
		memcpy(tmp, b.data, n);
	corpus_buf_free(&b);
	return n;
}

static const char *pick_message(struct corpus_gen *g, int level)
{
	uint32_t r = below(g, 100);

	if (r < 3)
		return PICK(g, escape_msgs);
	if (r < 6)
		return PICK(g, unicode_msgs);
	switch (level) {
	case 0:
		return PICK(g, debug_msgs);
	case 2:
		return PICK(g, warn_msgs);
	case 3:
		return PICK(g, error_msgs);
	default:
		return PICK(g, info_msgs);
	}
}

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

static int pick_level(struct corpus_gen *g)
{
	uint32_t r = below(g, 100);

	return r < 8 ? 0 : r < 88 ? 1 : r < 95 ? 2 : 3;
}

static unsigned pick_status(struct corpus_gen *g, int level, const char *method)
{
	static const unsigned ok_get[] = {200, 200, 200, 200, 200, 304};
	static const unsigned ok_post[] = {201, 200, 202};
	static const unsigned warn[] = {404, 409, 429, 400};
	static const unsigned err[] = {500, 502, 503, 504};

	if (level == 2)
		return PICK(g, warn);
	if (level == 3)
		return PICK(g, err);
	if (method[0] == 'G')
		return PICK(g, ok_get);
	if (method[0] == 'D')
		return 204;
	return PICK(g, ok_post);
}

/* Durations: mostly milliseconds, a long tail of seconds. */
static uint64_t pick_dur_us(struct corpus_gen *g)
{
	uint32_t r = below(g, 100);

	if (r < 70)
		return 200 + below(g, 20000);
	if (r < 95)
		return 20000 + below(g, 300000);
	return 300000 + below(g, 5000000);
}

static void put_path(struct corpus_buf *b, const struct corpus_txn *t)
{
	for (const char *p = routes[t->route].path; *p; p++) {
		if (*p == '#')
			put_u(b, t->id_num);
		else
			putc_(b, *p);
	}
}

/* Optional extra attributes, as key and plain value text; @num says whether it is a number. */
static void pick_extra(struct corpus_gen *g, const struct corpus_txn *t, int which, const char **key,
		       char *val, size_t cap, bool *num)
{
	struct corpus_buf b = {0};

	*num = true;
	switch (which) {
	case 0:
		*key = "user";
		*num = false;
		putc_(&b, 'u');
		put_u(&b, 100 + (t->id_num * 7) % 9000);
		break;
	case 1:
		*key = "bytes";
		put_u(&b, 120 + below(g, 64000));
		break;
	case 2:
		*key = "cache";
		*num = false;
		puts_(&b, chance(g, 70) ? "hit" : "miss");
		break;
	case 3:
		*key = "retries";
		put_u(&b, chance(g, 90) ? 0 : 1 + below(g, 3));
		break;
	case 4:
		*key = "region";
		*num = false;
		puts_(&b, PICK(g, regions));
		break;
	case 5:
		*key = "client_ip";
		*num = false;
		puts_(&b, "10.");
		put_u(&b, below(g, 256));
		putc_(&b, '.');
		put_u(&b, below(g, 256));
		putc_(&b, '.');
		put_u(&b, 1 + below(g, 254));
		break;
	case 6:
		*key = "db_rows";
		put_u(&b, below(g, 500));
		break;
	default:
		*key = "queue";
		*num = false;
		puts_(&b, PICK(g, queues));
		break;
	}
	putc_(&b, '\0');
	if (b.data && b.len <= cap)
		memcpy(val, b.data, b.len);
	else
		val[0] = '\0';
	corpus_buf_free(&b);
}
#define NEXTRAS 8

/* ---- pipe lines ---- */

static void put_pipe_ids(struct corpus_buf *b, const struct corpus_txn *t)
{
	for (int i = 0; i < t->depth; i++) {
		if (i)
			putc_(b, ':');
		puts_(b, t->ids[i]);
	}
}

static void pipe_log(struct corpus_gen *g, struct corpus_buf *b, const struct corpus_txn *t, int level)
{
	const char *method = routes[t->route].method;
	char msg[256], val[64];
	size_t n = expand(g, t, pick_message(g, level), msg, sizeof(msg));
	int nextra = (int)below(g, 3); /* with status, dur_us and msg: 3..5 attributes */
	unsigned used = 0;

	put_ts(b, g->ts_us);
	putc_(b, ' ');
	puts_(b, level_names[level]);
	putc_(b, ' ');
	put_pipe_ids(b, t);
	putc_(b, '|');
	puts_(b, services[t->svc[t->depth - 1]]);
	putc_(b, '|');
	puts_(b, method);
	putc_(b, '|');
	put_path(b, t);
	puts_(b, "|status=");
	put_u(b, pick_status(g, level, method));
	puts_(b, "|dur_us=");
	put_u(b, pick_dur_us(g));
	for (int i = 0; i < nextra; i++) {
		unsigned which = below(g, NEXTRAS);
		const char *key;
		bool num;

		if (used & (1u << which))
			continue;
		used |= 1u << which;
		pick_extra(g, t, (int)which, &key, val, sizeof(val), &num);
		putc_(b, '|');
		puts_(b, key);
		putc_(b, '=');
		puts_(b, val);
	}
	puts_(b, "|msg=");
	put_pipe_escaped(b, msg, n);
	putc_(b, '\n');
}

static void pipe_span(struct corpus_gen *g, struct corpus_buf *b, const struct corpus_txn *t)
{
	bool ok = chance(g, 94);

	put_ts(b, g->ts_us);
	puts_(b, ok ? " INFO " : " ERROR ");
	put_pipe_ids(b, t);
	putc_(b, '|');
	puts_(b, services[t->svc[t->depth - 1]]);
	putc_(b, '|');
	puts_(b, routes[t->route].method);
	putc_(b, '|');
	put_path(b, t);
	puts_(b, "|event=span|name=");
	puts_(b, PICK(g, span_names));
	puts_(b, "|dur_us=");
	put_u(b, pick_dur_us(g));
	puts_(b, ok ? "|status=ok" : "|status=error");
	putc_(b, '\n');
}

static void pipe_metric(struct corpus_gen *g, struct corpus_buf *b, const struct corpus_txn *t)
{
	uint32_t kind = below(g, 3);

	put_ts(b, g->ts_us);
	puts_(b, " INFO -|");
	puts_(b, services[t->svc[t->depth - 1]]);
	puts_(b, "|-|-|event=metric");
	if (kind == 0) {
		puts_(b, "|metric=http_requests_total|type=counter|value=1|method=");
		puts_(b, routes[t->route].method);
		puts_(b, "|code=200");
	} else if (kind == 1) {
		puts_(b, "|metric=db_pool_in_use|type=gauge|value=");
		put_u(b, below(g, 64));
		puts_(b, "|pool=primary");
	} else {
		puts_(b, "|metric=http_request_duration_us|type=histogram|value=");
		put_u(b, pick_dur_us(g));
		puts_(b, "|route=");
		put_pipe_escaped(b, routes[t->route].path, strlen(routes[t->route].path));
	}
	puts_(b, "|region=");
	puts_(b, PICK(g, regions));
	putc_(b, '\n');
}

/* A Java stack trace, as continuation lines; none holds a '|'. */
static void stack_trace(struct corpus_gen *g, struct corpus_buf *b, const struct corpus_txn *t)
{
	static const char *const exceptions[] = {
		"java.lang.IllegalStateException: order not in a payable state",
		"java.net.SocketTimeoutException: Read timed out",
		"java.lang.NullPointerException: Cannot invoke \"com.example.billing.Invoice.total()\" because \"inv\" is null",
		"org.springframework.dao.DataAccessResourceFailureException: Unable to acquire JDBC Connection",
	};
	static const char *const frames[] = {
		"com.example.orders.OrderService.fetch(OrderService.java:",
		"com.example.orders.OrderController.get(OrderController.java:",
		"com.example.billing.InvoiceClient.call(InvoiceClient.java:",
		"org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:",
		"jakarta.servlet.http.HttpServlet.service(HttpServlet.java:",
		"org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:",
		"java.base/java.lang.Thread.run(Thread.java:",
	};
	int nframes = 4 + (int)below(g, 10);

	(void)t;
	puts_(b, PICK(g, exceptions));
	putc_(b, '\n');
	for (int i = 0; i < nframes; i++) {
		puts_(b, "\tat ");
		puts_(b, PICK(g, frames));
		put_u(b, 20 + below(g, 900));
		puts_(b, ")\n");
	}
	if (chance(g, 40)) {
		puts_(b,
		      "Caused by: java.net.ConnectException: Connection refused\n\tat java.base/sun.nio.ch.Net.connect0(Native Method)\n\t... ");
		put_u(b, 10 + below(g, 40));
		puts_(b, " more\n");
	}
}

/* ---- JSON lines ---- */

static void json_key(struct corpus_buf *b, const char *key)
{
	puts_(b, ",\"");
	puts_(b, key);
	puts_(b, "\":");
}

static void json_str(struct corpus_buf *b, const char *key, const char *val)
{
	json_key(b, key);
	putc_(b, '"');
	put_json_escaped(b, val, strlen(val));
	putc_(b, '"');
}

static void json_ids(struct corpus_buf *b, const struct corpus_txn *t)
{
	json_str(b, "trace", t->ids[0]);
	if (t->depth >= 2)
		json_str(b, "span", t->ids[t->depth - 1]);
	if (t->depth >= 3)
		json_str(b, "parent", t->ids[t->depth - 2]);
}

static void json_head(struct corpus_gen *g, struct corpus_buf *b, const char *severity, const char *service,
		      const char *name, const char *module, const char *func)
{
	puts_(b, "{\"timestamp\":\"");
	put_ts(b, g->ts_us);
	putc_(b, '"');
	json_str(b, "severity", severity);
	json_str(b, "service", service);
	json_str(b, "name", name);
	json_str(b, "module", module);
	json_str(b, "funcName", func);
	json_key(b, "lineno");
	put_u(b, 20 + below(g, 600));
}

static void json_log(struct corpus_gen *g, struct corpus_buf *b, const struct corpus_txn *t, int level)
{
	const char *method = routes[t->route].method;
	char msg[256], val[64], name[48];
	size_t n = expand(g, t, pick_message(g, level), msg, sizeof(msg));
	int nextra = (int)below(g, 3);
	unsigned used = 0;

	snprintf(name, sizeof(name), "%s.%s", services[t->svc[t->depth - 1]], routes[t->route].module);
	json_head(g, b, level_names[level], services[t->svc[t->depth - 1]], name, routes[t->route].module,
		  routes[t->route].func);
	json_key(b, "message");
	putc_(b, '"');
	if (chance(g, 20) && memchr(msg, '\xc3', n)) {
		/* some loggers write non-ASCII as \u escapes */
		for (size_t i = 0; i < n; i++) {
			if ((unsigned char)msg[i] == 0xc3 && i + 1 < n) {
				puts_(b, "\\u00");
				putc_(b, "0123456789abcdef"[((0xc0 | (msg[i + 1] & 0x3f)) >> 4) & 15]);
				putc_(b, "0123456789abcdef"[(msg[i + 1] & 0x3f) & 15]);
				i++;
			} else {
				put_json_escaped(b, msg + i, 1);
			}
		}
	} else {
		put_json_escaped(b, msg, n);
	}
	putc_(b, '"');
	json_ids(b, t);
	json_str(b, "method", method);
	json_key(b, "path");
	putc_(b, '"');
	put_path(b, t);
	putc_(b, '"');
	json_key(b, "status");
	put_u(b, pick_status(g, level, method));
	json_key(b, "dur_us");
	put_u(b, pick_dur_us(g));
	for (int i = 0; i < nextra; i++) {
		unsigned which = below(g, NEXTRAS + 3);
		const char *key;
		bool num;

		if (used & (1u << which))
			continue;
		used |= 1u << which;
		if (which == NEXTRAS) {
			json_key(b, "cached");
			puts_(b, chance(g, 50) ? "true" : "false");
		} else if (which == NEXTRAS + 1) {
			json_key(b, "extra");
			puts_(b, "{\"cart_items\":");
			put_u(b, below(g, 12));
			puts_(b, ",\"coupon\":null,\"ratio\":0.");
			put_u(b, 1 + below(g, 99));
			puts_(b, ",\"roles\":[\"customer\",\"beta\"]}");
		} else if (which == NEXTRAS + 2) {
			json_key(b, "tags");
			puts_(b, "[\"web\",\"");
			puts_(b, PICK(g, regions));
			puts_(b, "\"]");
		} else {
			pick_extra(g, t, (int)which, &key, val, sizeof(val), &num);
			if (num) {
				json_key(b, key);
				puts_(b, val);
			} else {
				json_str(b, key, val);
			}
		}
	}
	puts_(b, "}\n");
}

static void json_span(struct corpus_gen *g, struct corpus_buf *b, const struct corpus_txn *t)
{
	const char *span = PICK(g, span_names);
	bool ok = chance(g, 94);

	json_head(g, b, ok ? "INFO" : "ERROR", services[t->svc[t->depth - 1]], span, "tracing",
		  "finish_span");
	json_str(b, "message", ok ? "span finished" : "span failed");
	json_ids(b, t);
	json_str(b, "method", routes[t->route].method);
	json_key(b, "path");
	putc_(b, '"');
	put_path(b, t);
	putc_(b, '"');
	json_str(b, "event", "span");
	json_key(b, "dur_us");
	put_u(b, pick_dur_us(g));
	json_str(b, "status", ok ? "ok" : "error");
	puts_(b, "}\n");
}

static void json_metric(struct corpus_gen *g, struct corpus_buf *b, const struct corpus_txn *t)
{
	uint32_t kind = below(g, 3);

	puts_(b, "{\"timestamp\":\"");
	put_ts(b, g->ts_us);
	putc_(b, '"');
	json_str(b, "service", services[t->svc[t->depth - 1]]);
	json_str(b, "event", "metric");
	if (kind == 0) {
		json_str(b, "metric", "http_requests_total");
		json_str(b, "type", "counter");
		json_key(b, "value");
		puts_(b, "1");
	} else if (kind == 1) {
		json_str(b, "metric", "db_pool_in_use");
		json_str(b, "type", "gauge");
		json_key(b, "value");
		put_u(b, below(g, 64));
	} else {
		json_str(b, "metric", "http_request_duration_us");
		json_str(b, "type", "histogram");
		json_key(b, "value");
		put_u(b, pick_dur_us(g));
	}
	json_key(b, "tags");
	puts_(b, "{\"route\":\"");
	puts_(b, routes[t->route].path);
	puts_(b, "\",\"method\":\"");
	puts_(b, routes[t->route].method);
	puts_(b, "\",\"region\":\"");
	puts_(b, PICK(g, regions));
	puts_(b, "\"}}\n");
}

/* ---- the public part ---- */

int corpus_format_from_name(const char *name, enum corpus_format *out)
{
	if (strcmp(name, "pipe") == 0)
		*out = CORPUS_PIPE;
	else if (strcmp(name, "json") == 0)
		*out = CORPUS_JSON;
	else if (strcmp(name, "mixed") == 0)
		*out = CORPUS_MIXED;
	else
		return -1;
	return 0;
}

void corpus_gen_init(struct corpus_gen *g, enum corpus_format format, uint64_t seed)
{
	memset(g, 0, sizeof(*g));
	g->rng = seed;
	g->format = format;
	g->ts_us = START_US;
	for (int i = 0; i < CORPUS_TXNS; i++)
		txn_new(g, &g->txns[i]);
}

int corpus_gen_record(struct corpus_gen *g, struct corpus_buf *b)
{
	struct corpus_txn *t = &g->txns[below(g, CORPUS_TXNS)];
	bool json = g->format == CORPUS_JSON || (g->format == CORPUS_MIXED && chance(g, 50));
	uint32_t kind = below(g, 100);

	g->ts_us += below(g, 2000);
	if (kind < 3) {
		if (json)
			json_metric(g, b, t);
		else
			pipe_metric(g, b, t);
	} else if (kind < 8) {
		if (json)
			json_span(g, b, t);
		else
			pipe_span(g, b, t);
	} else {
		int level = pick_level(g);

		if (!json && g->format == CORPUS_MIXED && below(g, 100) == 0) {
			pipe_log(g, b, t, 3);
			stack_trace(g, b, t);
		} else if (json) {
			json_log(g, b, t, level);
		} else {
			pipe_log(g, b, t, level);
		}
	}
	txn_step(g, t);
	if (--t->left <= 0)
		txn_new(g, t);
	g->records++;
	return b->failed ? -1 : 0;
}

void corpus_buf_free(struct corpus_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}
