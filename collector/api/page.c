/*
 * api/page.c - GET /: the search page. A form with tracegrep --find's
 * filters and the matching transactions as a table, each row linking to
 * the transaction (/api/traces/{id}).
 *
 * DESIGN: rendered on the server, with no script at all: nothing to
 * fetch, nothing to run, so the Content-Security-Policy can forbid every
 * source but the page's own inline style and its form. Every value from
 * the logs or the request is HTML-escaped (control bytes become U+FFFD),
 * and the parameters go through the same filter parser as tracegrep's
 * options and the JSON API, so the three answer alike.
 *
 * GET /trace/{id} is the waterfall page of render/waterfall.h (the page
 * tracegrep --html writes), sent with that page's policy: its one script
 * allowed by hash, nothing else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "api_int.h"
#include "fmt/ts.h"
#include "query/select.h"
#include "render/waterfall.h"
#include "util/banned.h"

static const char csp[] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
			  "base-uri 'none'; frame-ancestors 'none'";

/* The filters the form offers: the query parameter is the filter's name (tracegrep's option). */
static const struct {
	const char *name, *label, *hint;
} fields[] = {
	{"service", "service", "orders"},
	{"route", "route", "/api/v1/orders/*"},
	{"method", "method", "POST"},
	{"status", "status", "5xx"},
	{"min-duration", "min duration", "250ms"},
	{"max-duration", "max duration", "2s"},
	{"attr", "attribute", "user=u42"},
	{"text", "message", "timeout"},
	{"since", "since", "1h or 2026-12-06T10:00:00Z"},
	{"until", "until", ""},
};

/* @s percent-encoded as a path segment. */
static void url_seg(struct jb *b, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '.' || ch == '_' || ch == '~')
			jb_put(b, s, 1);
		else
			jb_printf(b, "%%%02X", ch);
	}
}

static void duration(struct jb *b, int64_t ns)
{
	if (ns < 1000000)
		jb_printf(b, "%lld µs", (long long)(ns / 1000));
	else if (ns < INT64_C(1000000000))
		jb_printf(b, "%.1f ms", (double)ns / 1e6);
	else
		jb_printf(b, "%.2f s", (double)ns / 1e9);
}

enum MHD_Result api_page_reply(struct req *r, unsigned status, const char *body)
{
	struct jb b = {0};
	enum MHD_Result ret;

	jb_puts(&b, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
		    "<title>clew: find transactions</title><style>"
		    "body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}"
		    "form{display:flex;flex-wrap:wrap;gap:.6em 1em;align-items:end;margin-bottom:1em}"
		    "label{display:flex;flex-direction:column;font-size:12px;color:#555}"
		    "input[type=text]{font:13px monospace;padding:3px;width:12em}"
		    "table{border-collapse:collapse;width:100%}"
		    "th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #ddd;font:13px monospace}"
		    "tr.err td{color:#b00}td.num{text-align:right}.note{color:#555}"
		    "</style></head><body>");
	jb_puts(&b, body);
	jb_puts(&b, "</body></html>\n");
	ret = b.oom ? MHD_NO : api_reply_html(r, status, b.p, b.len, csp);
	jb_free(&b);
	return ret;
}

/* The form, its fields holding the request's values. */
static void form(struct req *r, struct jb *b, bool error)
{
	jb_puts(b, "<form method=\"get\" action=\"/\">");
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *v = api_param(r, fields[i].name);

		jb_puts(b, "<label>");
		jb_html(b, fields[i].label);
		jb_printf(b, "<input type=\"text\" name=\"%s\" placeholder=\"", fields[i].name);
		jb_html(b, fields[i].hint);
		jb_puts(b, "\" value=\"");
		jb_html(b, v ? v : "");
		jb_puts(b, "\"></label>");
	}
	jb_printf(b, "<label>errors only<input type=\"checkbox\" name=\"error\" value=\"true\"%s></label>",
		  error ? " checked" : "");
	jb_puts(b, "<button type=\"submit\">Search</button></form>");
}

static void row(struct jb *b, const struct qy_summary *s)
{
	char ts[FMT_TS_MAX];

	fmt_ts_format(qy_summary_start(s), 3, ts);
	jb_puts(b, s->error ? "<tr class=\"err\" data-trace=\"" : "<tr data-trace=\"");
	jb_html(b, s->trace);
	jb_puts(b, "\"><td>");
	jb_html(b, ts);
	jb_puts(b, "</td><td><a href=\"/trace/");
	url_seg(b, s->trace);
	jb_puts(b, "\">");
	jb_html(b, s->trace);
	jb_puts(b, "</a></td><td>");
	jb_html(b, s->root_service ? s->root_service : "");
	jb_puts(b, "</td><td>");
	jb_html(b, s->root_method ? s->root_method : "");
	jb_puts(b, s->root_method && s->root_path ? " " : "");
	jb_html(b, s->root_path ? s->root_path : "");
	jb_puts(b, "</td><td class=\"num\">");
	duration(b, qy_summary_dur(s));
	jb_printf(b, "</td><td class=\"num\">%zu</td><td>", s->nspans);
	for (size_t i = 0; i < s->nservices; i++) {
		if (i)
			jb_puts(b, ", ");
		jb_html(b, s->services[i]);
	}
	jb_puts(b, "</td><td class=\"num\">");
	if (s->status)
		jb_printf(b, "%d", s->status);
	jb_puts(b, "</td><td>");
	jb_html(b, s->first_error ? s->first_error : "");
	jb_puts(b, "</td></tr>");
}

enum MHD_Result api_page(struct req *r)
{
	struct jb body = {0};
	const char *err = api_param(r, "error"), *lim = api_param(r, "limit");
	const struct qy_summary **v = NULL;
	size_t n = 0, limit = CD_API_LIMIT_DEFAULT * 5;
	long long total = 0;
	char msg[512] = "";
	struct timespec now;
	bool error = err && strcmp(err, "false") != 0;
	enum MHD_Result ret;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &now);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]) && rc == 0; i++) {
		const char *val = api_param(r, fields[i].name);

		if (val)
			rc = qy_filter_add(&r->f, fields[i].name, val,
					   (int64_t)now.tv_sec * 1000000000 + now.tv_nsec, msg, sizeof(msg));
	}
	if (rc == 0 && error)
		rc = qy_filter_add(&r->f, "error", "true", 0, msg, sizeof(msg));
	if (lim) {
		long long l = strtoll(lim, NULL, 10);

		limit = l <= 0 || l > CD_API_LIMIT_MAX ? CD_API_LIMIT_MAX : (size_t)l;
	}
	jb_puts(&body, "<h1>Find transactions</h1>");
	form(r, &body, error);
	if (rc == 0 && qy_filter_keys(&r->f, &r->keys) < 0) {
		rc = -1;
		snprintf(msg, sizeof(msg), "too many attribute keys");
	}
	if (rc == 0)
		rc = api_load_newest(r, limit, msg, sizeof(msg));
	if (rc == 0 && api_over_budget(r)) {
		rc = -1;
		snprintf(msg, sizeof(msg), "the search exceeded its time budget (%d ms): narrow since/until",
			 CD_API_BUDGET_MS);
	}
	if (rc == 0 && (total = qy_select(&r->t, &r->f, QY_SORT_START, limit, &v, &n)) < 0) {
		rc = -1;
		snprintf(msg, sizeof(msg), "out of memory");
	}
	if (rc < 0) {
		jb_puts(&body, "<p class=\"note\" id=\"error\">");
		jb_html(&body, msg);
		jb_puts(&body, "</p>");
	} else {
		jb_printf(
			&body,
			"<p class=\"note\" id=\"count\">%zu of %lld matching transactions, newest first</p>",
			n, total);
		jb_puts(&body,
			"<table id=\"results\"><thead><tr><th>start (UTC)</th><th>trace</th><th>service</th>"
			"<th>operation</th><th>duration</th><th>spans</th><th>services</th><th>status</th>"
			"<th>first error</th></tr></thead><tbody>");
		for (size_t i = 0; i < n; i++)
			row(&body, v[i]);
		jb_puts(&body, "</tbody></table>");
	}
	free(v);
	ret = body.oom ? MHD_NO : api_page_reply(r, rc < 0 ? 400 : 200, body.p);
	jb_free(&body);
	return ret;
}

enum MHD_Result api_trace_page(struct req *r, const char *id)
{
	struct jb body = {0}, json = {0}, policy = {0};
	struct arch_options opt;
	struct cd_err err = {0};
	struct wf_meta m = {.title = id, .back_url = "/"};
	enum MHD_Result ret;
	int rc;

	jb_puts(&json, "/api/traces/");
	url_seg(&json, id);
	jb_puts(&policy, wf_csp());
	jb_puts(&policy, "; frame-ancestors 'none'");
	m.json_url = json.p;
	m.heading = id;
	m.trace = id;
	arch_options_default(&opt);
	opt.read_only = true;
	rc = arch_open(&r->a, r->api->dir, &opt, &err);
	if (rc == 0)
		rc = api_trace_html(r->a, id, &m, &body);
	if (rc == 1 && !body.oom && !json.oom && !policy.oom) {
		ret = api_reply_html(r, 200, body.p, body.len, policy.p);
	} else {
		jb_free(&body);
		jb_puts(&body, "<p><a href=\"/\">search</a></p><h1>Transaction ");
		jb_html(&body, id);
		jb_puts(&body,
			rc == 0 ? "</h1><p class=\"note\" id=\"error\">no such transaction in the archive</p>"
				: "</h1><p class=\"note\" id=\"error\">the archive could not be read</p>");
		ret = body.oom ? MHD_NO : api_page_reply(r, rc == 0 ? 404 : 500, body.p);
	}
	jb_free(&body);
	jb_free(&json);
	jb_free(&policy);
	return ret;
}
