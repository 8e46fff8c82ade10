/*
 * waterfall.c - the page builder and its HTML: spans, tags and logs
 * copied into one string pool as they are added (made safe once, there),
 * then written as compact rows on one time axis plus a JSON data blob
 * the script reads for the details panel.
 *
 * DESIGN: the time axis is [t0, t1], the earliest start and latest end
 * of the page's spans; every bar's left and width are percentages of it,
 * whatever the row's depth (depth only indents the name column), so bars
 * of any two rows compare. The ruler marks 0, 25, 50, 75 and 100 % with
 * their offsets. A row is four small elements; tags and logs live only
 * in the blob, so a big trace costs the browser little until a span is
 * opened. Strings are stored by offset in the pool (it grows by realloc).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/waterfall.h"
#include "wf_int.h"

#define NONE ((size_t)-1)
/* Colours in the style sheet (.c0 ... .c11); services beyond share them round-robin. */
#define WF_COLOURS 12
/* Indentation stops here (px per level x levels): deeper rows keep a readable name. */
#define WF_INDENT_PX 14
#define WF_INDENT_LEVELS 30

struct span {
	size_t id, service, name, status; /* pool offsets, NONE: absent */
	int parent, depth, colour;
	int end; /* index of the last span of its subtree (itself for a leaf) */
	bool has_time, error, critical;
	int64_t start_ns, end_ns, shift_ns;
	size_t tag0, ntags, log0, nlogs;
};

struct tag {
	size_t key, val;
};

struct log {
	int64_t ts_ns;
	size_t level, msg;
	bool error;
	size_t field0, nfields;
};

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

struct wf_page {
	struct buf pool;
	struct span *spans;
	size_t nspans, cspans, dropped;
	struct tag *tags; /* tags, then log fields, one array */
	size_t ntags, ctags;
	struct log *logs;
	size_t nlogs, clogs;
	size_t *services; /* distinct services' pool offsets, first-seen order */
	size_t nservices, cservices;
	bool oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(p = realloc(b->p, cap))) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void printf_(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void printf_(struct buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Length of the valid UTF-8 sequence at s[0, n) (>= 2 bytes), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;

	if (s[0] < 0xc2 || s[0] > 0xf4 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return len;
}

/*
 * Append @s[0, n) to @b made safe for any output: controls (ESC as \e,
 * others as \xNN, the C1 range as \u0080..\u009f) and invalid UTF-8
 * bytes as visible escapes; line breaks and tabs kept only when @lines.
 */
static void sanitize(struct buf *b, const char *s, size_t n, bool lines)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		size_t j = i, l;
		char esc[16];

		while (j < n && u[j] >= 0x20 && u[j] < 0x7f)
			j++;
		put(b, s + i, j - i);
		if ((i = j) >= n)
			break;
		if (lines && (u[i] == '\n' || u[i] == '\t')) {
			put(b, s + i++, 1);
		} else if (u[i] == 0x1b) {
			put(b, "\\e", 2);
			i++;
		} else if (u[i] < 0x80 || (l = utf8_len(u + i, n - i)) == 0) {
			snprintf(esc, sizeof(esc), "\\x%02x", u[i++]);
			put(b, esc, 4);
		} else if (l == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0) {
			snprintf(esc, sizeof(esc), "\\u%04x", u[i + 1]);
			put(b, esc, 6);
			i += 2;
		} else {
			put(b, s + i, l);
			i += l;
		}
	}
}

/* Copy @s[0, n) into the pool, sanitize()d. Return: its offset (NONE for NULL). */
static size_t keep(struct wf_page *p, const char *s, size_t n, bool lines)
{
	size_t at = p->pool.len;

	if (!s)
		return NONE;
	sanitize(&p->pool, s, n, lines);
	put(&p->pool, "", 1); /* the terminating NUL, part of the pool */
	if (p->pool.oom)
		p->oom = true;
	return at;
}

static const char *str(const struct wf_page *p, size_t off)
{
	return off == NONE ? NULL : p->pool.p + off;
}

static bool grow(void **v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return true;
	size_t c = *cap ? *cap * 2 : 64;
	void *nv = realloc(*v, c * size);

	if (!nv)
		return false;
	*v = nv;
	*cap = c;
	return true;
}

struct wf_page *wf_page_new(void)
{
	return calloc(1, sizeof(struct wf_page));
}

void wf_page_free(struct wf_page *p)
{
	if (!p)
		return;
	free(p->pool.p);
	free(p->spans);
	free(p->tags);
	free(p->logs);
	free(p->services);
	free(p);
}

static int colour_of(struct wf_page *p, size_t service)
{
	const char *s = str(p, service);
	size_t i;

	for (i = 0; i < p->nservices; i++) {
		const char *t = str(p, p->services[i]);

		if ((!s && !t) || (s && t && strcmp(s, t) == 0))
			return (int)(i % WF_COLOURS);
	}
	if (!grow((void **)&p->services, &p->cservices, p->nservices, sizeof(*p->services))) {
		p->oom = true;
		return 0;
	}
	p->services[p->nservices++] = service;
	return (int)(i % WF_COLOURS);
}

int wf_span(struct wf_page *p, const struct wf_span_spec *s)
{
	struct span *sp;

	if (p->nspans >= WF_SPANS_MAX) {
		p->dropped++;
		return -1;
	}
	if (!grow((void **)&p->spans, &p->cspans, p->nspans, sizeof(*p->spans))) {
		p->oom = true;
		return -1;
	}
	sp = &p->spans[p->nspans];
	memset(sp, 0, sizeof(*sp));
	sp->id = keep(p, s->id ? s->id : "", s->id ? strlen(s->id) : 0, false);
	sp->service = s->service ? keep(p, s->service, strlen(s->service), false) : NONE;
	sp->name = s->name ? keep(p, s->name, strlen(s->name), false) : NONE;
	sp->status = s->status ? keep(p, s->status, strlen(s->status), false) : NONE;
	sp->parent = s->parent >= 0 && (size_t)s->parent < p->nspans ? s->parent : -1;
	sp->depth = sp->parent >= 0 ? p->spans[sp->parent].depth + 1 : 0;
	sp->end = (int)p->nspans;
	sp->has_time = s->has_time;
	sp->start_ns = s->start_ns;
	sp->end_ns = s->end_ns < s->start_ns ? s->start_ns : s->end_ns;
	sp->error = s->error;
	sp->critical = s->critical;
	sp->shift_ns = s->shift_ns;
	sp->tag0 = p->ntags;
	sp->log0 = p->nlogs;
	sp->colour = colour_of(p, sp->service);
	/* Preorder: every ancestor's subtree now ends here. */
	for (int a = sp->parent; a >= 0; a = p->spans[a].parent)
		p->spans[a].end = (int)p->nspans;
	return p->oom ? -1 : (int)p->nspans++;
}

static int add_kv(struct wf_page *p, const char *k, size_t kl, const char *v, size_t vl)
{
	if (!grow((void **)&p->tags, &p->ctags, p->ntags, sizeof(*p->tags))) {
		p->oom = true;
		return -1;
	}
	p->tags[p->ntags].key = keep(p, k ? k : "", k ? kl : 0, false);
	p->tags[p->ntags].val = keep(p, v ? v : "", v ? vl : 0, true);
	p->ntags++;
	return p->oom ? -1 : 0;
}

int wf_tag(struct wf_page *p, const char *key, const char *val, size_t vlen)
{
	/* A span's tags are contiguous: only before its first log's fields. */
	if (!p->nspans || p->spans[p->nspans - 1].nlogs)
		return -1;
	if (add_kv(p, key, key ? strlen(key) : 0, val, vlen) < 0)
		return -1;
	p->spans[p->nspans - 1].ntags++;
	return 0;
}

int wf_log(struct wf_page *p, int64_t ts_ns, const char *level, const char *msg, size_t mlen, bool error)
{
	struct log *l;

	if (!p->nspans)
		return -1;
	if (!grow((void **)&p->logs, &p->clogs, p->nlogs, sizeof(*p->logs))) {
		p->oom = true;
		return -1;
	}
	l = &p->logs[p->nlogs];
	l->ts_ns = ts_ns;
	l->level = level ? keep(p, level, strlen(level), false) : NONE;
	l->msg = keep(p, msg ? msg : "", msg ? mlen : 0, true);
	l->error = error;
	l->field0 = p->ntags;
	l->nfields = 0;
	p->nlogs++;
	p->spans[p->nspans - 1].nlogs++;
	return p->oom ? -1 : 0;
}

int wf_log_field(struct wf_page *p, const char *key, size_t klen, const char *val, size_t vlen)
{
	if (!p->nlogs || add_kv(p, key, klen, val, vlen) < 0)
		return -1;
	p->logs[p->nlogs - 1].nfields++;
	return 0;
}

/* ---- writing ---- */

static void html(struct buf *b, const char *s)
{
	for (; s && *s; s++) {
		const char *r = *s == '&'    ? "&amp;"
				: *s == '<'  ? "&lt;"
				: *s == '>'  ? "&gt;"
				: *s == '"'  ? "&quot;"
				: *s == '\'' ? "&#39;"
					     : NULL;

		if (r)
			puts_(b, r);
		else
			put(b, s, 1);
	}
}

/* @s from the caller (not the pool): sanitize()d, then html(). */
static void html_safe(struct buf *b, const char *s)
{
	struct buf tmp = {0};

	if (!s)
		return;
	sanitize(&tmp, s, strlen(s), false);
	if (tmp.oom)
		b->oom = true;
	else if (tmp.p)
		html(b, tmp.p);
	free(tmp.p);
}

/* @s as a JSON string that may sit inside a <script>: <, >, &, U+2028/9 as \u escapes. */
static void json(struct buf *b, const char *s)
{
	put(b, "\"", 1);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			put(b, "\\", 1);
			put(b, s, 1);
		} else if (c == '\n') {
			puts_(b, "\\n");
		} else if (c == '\t') {
			puts_(b, "\\t");
		} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			printf_(b, "\\u%04x", c);
		} else if (c == 0xe2 && (unsigned char)s[1] == 0x80 &&
			   ((unsigned char)s[2] == 0xa8 || (unsigned char)s[2] == 0xa9)) {
			printf_(b, "\\u%04x", 0x2000 + ((unsigned char)s[2] - 0x80));
			s += 2;
		} else {
			put(b, s, 1);
		}
	}
	put(b, "\"", 1);
}

/* A duration for people: 850ns, 12.3µs, 4.56ms, 1.23s. */
static void dur(struct buf *b, int64_t ns)
{
	double a = (double)(ns < 0 ? -ns : ns);

	if (ns == 0)
		put(b, "0", 1);
	else if (a < 1e3)
		printf_(b, "%lldns", (long long)ns);
	else if (a < 1e6)
		printf_(b, "%.*f\xc2\xb5s", a < 1e4 ? 2 : a < 1e5 ? 1 : 0, (double)ns / 1e3);
	else if (a < 1e9)
		printf_(b, "%.*fms", a < 1e7 ? 2 : a < 1e8 ? 1 : 0, (double)ns / 1e6);
	else
		printf_(b, "%.*fs", a < 1e10 ? 2 : 1, (double)ns / 1e9);
}

static const char *op_of(const struct wf_page *p, const struct span *s)
{
	const char *n = str(p, s->name);

	return n ? n : "span";
}

static void kv_json(struct buf *b, const struct wf_page *p, size_t first, size_t n)
{
	put(b, "[", 1);
	for (size_t i = 0; i < n; i++) {
		put(b, i ? ",[" : "[", i ? 2 : 1);
		json(b, str(p, p->tags[first + i].key));
		put(b, ",", 1);
		json(b, str(p, p->tags[first + i].val));
		put(b, "]", 1);
	}
	put(b, "]", 1);
}

/* The data blob: per span what the details panel shows. */
static void blob(struct buf *b, const struct wf_page *p, int64_t t0)
{
	puts_(b, "{\"spans\":[");
	for (size_t i = 0; i < p->nspans; i++) {
		const struct span *s = &p->spans[i];

		puts_(b, i ? ",{\"id\":" : "{\"id\":");
		json(b, str(p, s->id));
		puts_(b, ",\"svc\":");
		json(b, str(p, s->service) ? str(p, s->service) : "");
		puts_(b, ",\"op\":");
		json(b, op_of(p, s));
		puts_(b, ",\"st\":");
		json(b, str(p, s->status) ? str(p, s->status) : "");
		if (s->has_time)
			printf_(b, ",\"s\":%lld,\"d\":%lld", (long long)(s->start_ns - t0),
				(long long)(s->end_ns - s->start_ns));
		else
			puts_(b, ",\"s\":null,\"d\":null");
		printf_(b,
			",\"p\":%d,\"e\":%d,\"c\":%d,\"err\":%s,\"cr\":%s,\"sk\":%lld,\"tags\":", s->parent,
			s->end, s->colour, s->error ? "true" : "false", s->critical ? "true" : "false",
			(long long)s->shift_ns);
		kv_json(b, p, s->tag0, s->ntags);
		puts_(b, ",\"logs\":[");
		for (size_t j = 0; j < s->nlogs; j++) {
			const struct log *l = &p->logs[s->log0 + j];

			put(b, j ? ",[" : "[", j ? 2 : 1);
			if (l->ts_ns)
				printf_(b, "%lld,", (long long)(l->ts_ns - t0));
			else
				puts_(b, "null,");
			json(b, str(p, l->level) ? str(p, l->level) : "");
			put(b, ",", 1);
			json(b, str(p, l->msg));
			put(b, ",", 1);
			kv_json(b, p, l->field0, l->nfields);
			puts_(b, l->error ? ",1]" : ",0]");
		}
		puts_(b, "]}");
	}
	puts_(b, "]}");
}

static double pct(int64_t x, int64_t t0, double total)
{
	double v = 100.0 * (double)(x - t0) / total;

	return v < 0 ? 0 : v > 100 ? 100 : v;
}

static void header(struct buf *b, const struct wf_page *p, const struct wf_meta *m, int64_t t0, int64_t t1)
{
	size_t nerr = 0, nsvc = 0;

	puts_(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		 "<meta http-equiv=\"Content-Security-Policy\" content=\"");
	puts_(b, wf_csp());
	puts_(b, "\"><meta name=\"viewport\" content=\"width=device-width\"><title>");
	html_safe(b, m->title ? m->title : "waterfall");
	puts_(b, "</title><style>");
	puts_(b, wf_style);
	puts_(b, "</style></head>\n<body class=\"nojs\"><header>");
	if (m->back_url || m->json_url) {
		puts_(b, "<nav>");
		if (m->back_url) {
			puts_(b, "<a href=\"");
			html_safe(b, m->back_url);
			puts_(b, "\">search</a>");
		}
		if (m->json_url) {
			puts_(b, "<a href=\"");
			html_safe(b, m->json_url);
			puts_(b, "\">JSON</a>");
		}
		puts_(b, "</nav>");
	}
	puts_(b, "<h1>");
	html_safe(b, m->heading ? m->heading : "transaction");
	puts_(b, "</h1><div class=\"sum\">");
	if (m->trace) {
		puts_(b, "transaction ");
		html_safe(b, m->trace);
		puts_(b, " &middot; ");
	}
	dur(b, t1 - t0);
	for (size_t i = 0; i < p->nspans; i++)
		nerr += p->spans[i].error;
	for (size_t i = 0; i < p->nservices; i++)
		nsvc += p->services[i] != NONE;
	printf_(b, " &middot; %zu spans &middot; %zu services &middot; %zu with errors", p->nspans, nsvc,
		nerr);
	if (p->dropped)
		printf_(b, " &middot; <span class=\"note\">%zu more spans not shown</span>", p->dropped);
	if (m->note) {
		puts_(b, " &middot; ");
		html_safe(b, m->note);
	}
	puts_(b, "</div><div class=\"lg\">");
	for (size_t i = 0; i < p->nservices; i++) {
		if (p->services[i] == NONE) /* a row without a service (the transaction's root) */
			continue;
		printf_(b, "<span class=\"c%zu\"><b></b>", i % WF_COLOURS);
		html(b, str(p, p->services[i]));
		puts_(b, "</span>");
	}
	puts_(b, "</div><div class=\"tools\"><button type=\"button\" id=\"wf-collapse\">Collapse all</button>"
		 "<button type=\"button\" id=\"wf-expand\">Expand all</button> click a row for its tags and "
		 "logs, its &#9662; to fold it</div></header>\n");
}

static void ruler(struct buf *b, int64_t t0, int64_t t1)
{
	puts_(b, "<div id=\"waterfall\"><div class=\"hd\"><span class=\"n\">service &middot; operation</span>"
		 "<span class=\"du\">duration</span><span class=\"t ru\">");
	for (int q = 0; q <= 4; q++) {
		printf_(b, "<i class=\"tick%s\" style=\"left:%d%%\">",
			q == 0	 ? " a"
			: q == 4 ? " z"
				 : "",
			q * 25);
		dur(b, (t1 - t0) * q / 4);
		puts_(b, "</i>");
	}
	puts_(b, "</span></div>\n");
}

int wf_render(const struct wf_page *p, const struct wf_meta *m, char **out, size_t *len)
{
	struct buf b = {0};
	int64_t t0 = 0, t1 = 0;
	bool any = false;
	double total;

	*out = NULL;
	*len = 0;
	if (p->oom)
		return -1;
	for (size_t i = 0; i < p->nspans; i++) {
		const struct span *s = &p->spans[i];

		if (!s->has_time)
			continue;
		if (!any || s->start_ns < t0)
			t0 = s->start_ns;
		if (!any || s->end_ns > t1)
			t1 = s->end_ns;
		any = true;
	}
	total = t1 > t0 ? (double)(t1 - t0) : 1.0;
	header(&b, p, m, t0, t1);
	ruler(&b, t0, t1);
	for (size_t i = 0; i < p->nspans; i++) {
		const struct span *s = &p->spans[i];
		int ind = s->depth < WF_INDENT_LEVELS ? s->depth : WF_INDENT_LEVELS;

		printf_(&b, "<div class=\"r c%d%s%s\" data-i=\"%zu\" data-span=\"", s->colour,
			s->error ? " err" : "", s->critical ? " cr" : "", i);
		html(&b, str(p, s->id));
		printf_(&b, "\"><span class=\"n\" style=\"padding-left:%dpx\">", 4 + ind * WF_INDENT_PX);
		puts_(&b, s->end > (int)i ? "<b class=\"tg\" title=\"fold\"></b>" : "<b class=\"lf\"></b>");
		puts_(&b, "<span class=\"sv\">");
		html(&b, str(p, s->service) ? str(p, s->service) : "");
		puts_(&b, "</span><span class=\"op\">");
		html(&b, op_of(p, s));
		puts_(&b, "</span>");
		if (s->shift_ns)
			puts_(&b, " <span class=\"sk\" title=\"moved for clock skew\">&#8644;</span>");
		puts_(&b, "</span><span class=\"du\">");
		if (s->has_time)
			dur(&b, s->end_ns - s->start_ns);
		puts_(&b, "</span><span class=\"t\">");
		if (s->has_time) {
			double l = pct(s->start_ns, t0, total), w = pct(s->end_ns, t0, total) - l;

			printf_(&b, "<span class=\"b\" style=\"left:%.4f%%;width:%.4f%%\"></span>", l, w);
		}
		puts_(&b, "</span></div>\n");
	}
	puts_(&b,
	      "<div id=\"wf-detail\" hidden></div></div>\n<script type=\"application/json\" id=\"wf-data\">");
	blob(&b, p, t0);
	puts_(&b, "</script>\n<script>");
	puts_(&b, wf_script);
	puts_(&b, "</script>\n</body></html>\n");
	if (b.oom) {
		free(b.p);
		return -1;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}
