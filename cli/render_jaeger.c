/*
 * render_jaeger.c - --jaeger: Jaeger's JSON trace format.
 *
 * DESIGN: the shape Jaeger UI's "JSON file" import and Grafana's Jaeger
 * data source read (what Jaeger's /api/traces returns):
 * {"data":[{"traceID","spans":[...],"processes":{...}}]}. Each span has
 * spanID, operationName (the span's name, or method and path),
 * references (one CHILD_OF to its parent, none for the top), startTime and
 * duration in microseconds (skew-adjusted), tags (service facts, status,
 * error=true, the skew correction), logs (one per log record, with its
 * fields) and a processID; processes are one per service.
 */
#include <stdlib.h>
#include <string.h>

#include "fmt/str.h"
#include "tg.h"
#include "banned.h"

static void tag(struct tg_buf *b, bool *first, const char *k, const char *type, const char *raw,
		const char *str)
{
	tg_buf_puts(b, *first ? "{\"key\":" : ",{\"key\":");
	*first = false;
	tg_buf_json_cstr(b, k);
	tg_buf_printf(b, ",\"type\":\"%s\",\"value\":", type);
	if (raw)
		tg_buf_puts(b, raw);
	else
		tg_buf_json_cstr(b, str);
	tg_buf_putc(b, '}');
}

int tg_render_jaeger(const struct tg_view *v, FILE *f)
{
	const struct qy_tree *t = v->tree;
	struct fmt_record *r = tg_xmalloc(sizeof(*r));
	struct tg_buf b = {0};
	int nproc = 0, rc;

	tg_buf_puts(&b, "{\"data\":[{\"traceID\":");
	tg_buf_json_cstr(&b, t->trace);
	tg_buf_puts(&b, ",\"spans\":[\n");
	for (size_t i = 0; i < t->norder; i++) {
		const struct qy_span *s = &t->spans[t->order[i]];
		int pid = tg_tree_service_index(t, s->service);
		bool first = true;
		struct tg_buf tmp = {0};

		if (pid > nproc)
			nproc = pid;
		tg_buf_puts(&b, i ? ",\n{\"traceID\":" : "{\"traceID\":");
		tg_buf_json_cstr(&b, t->trace);
		tg_buf_puts(&b, ",\"spanID\":");
		tg_buf_json_cstr(&b, s->id);
		tg_buf_puts(&b, ",\"flags\":1,\"operationName\":");
		if (s->name)
			tg_buf_printf(&tmp, "%s", s->name);
		else if (s->method || s->path)
			tg_buf_printf(&tmp, "%s%s%s", s->method ? s->method : "",
				      s->method && s->path ? " " : "", s->path ? s->path : "");
		else
			tg_buf_printf(&tmp, "%s", t->order[i] == t->root ? "transaction" : s->id);
		tg_buf_putc(&tmp, '\0');
		tg_buf_json_cstr(&b, tmp.data);
		tg_buf_free(&tmp);
		tg_buf_puts(&b, ",\"references\":[");
		if (s->parent >= 0 && t->order[i] != t->top) {
			tg_buf_puts(&b, "{\"refType\":\"CHILD_OF\",\"traceID\":");
			tg_buf_json_cstr(&b, t->trace);
			tg_buf_puts(&b, ",\"spanID\":");
			tg_buf_json_cstr(&b, t->spans[s->parent].id);
			tg_buf_putc(&b, '}');
		}
		tg_buf_printf(&b, "],\"startTime\":%lld,\"duration\":%lld,\"tags\":[",
			      (long long)(s->start_ns / 1000), (long long)((s->end_ns - s->start_ns) / 1000));
		if (s->method)
			tag(&b, &first, "http.method", "string", NULL, s->method);
		if (s->path)
			tag(&b, &first, "http.target", "string", NULL, s->path);
		if (s->status)
			tag(&b, &first, "status", "string", NULL, s->status);
		if (s->error)
			tag(&b, &first, "error", "bool", "true", NULL);
		if (s->critical)
			tag(&b, &first, "critical_path", "bool", "true", NULL);
		if (s->shift_ns) {
			char n[32];

			snprintf(n, sizeof(n), "%lld", (long long)(s->shift_ns / 1000));
			tag(&b, &first, "clock_skew_adjusted_us", "int64", n, NULL);
		}
		tg_buf_puts(&b, "],\"logs\":[");
		first = true;
		for (size_t j = 0; j < s->nrecs; j++) {
			const struct tg_rec *rec = &v->recs->v[s->recs[j]];
			bool ffirst = true;
			char *m;

			if (rec->event == FMT_EVENT_SPAN || tg_rec_parse(rec, r) != 0)
				continue;
			tg_buf_printf(&b, "%s{\"timestamp\":%lld,\"fields\":[", first ? "" : ",",
				      (long long)((rec->ts_ns + s->adj_ns) / 1000));
			first = false;
			if (rec->level)
				tag(&b, &ffirst, "level", "string", NULL, fmt_level_name(rec->level));
			m = tg_view_dup(&r->message);
			if (m || r->cont.ptr) {
				struct tg_buf msg = {0};

				if (m)
					tg_buf_puts(&msg, m);
				if (r->cont.ptr) {
					tg_buf_putc(&msg, '\n');
					tg_buf_put(&msg, r->cont.ptr, r->cont.len);
				}
				tg_buf_putc(&msg, '\0');
				tag(&b, &ffirst, "message", "string", NULL, msg.data);
				tg_buf_free(&msg);
			}
			free(m);
			for (uint16_t k = 0; k < r->nattrs; k++) {
				char *ak = tg_view_dup(&r->attrs[k].key), *av = tg_view_dup(&r->attrs[k].val);

				tag(&b, &ffirst, ak, "string", NULL, av);
				free(ak);
				free(av);
			}
			tg_buf_puts(&b, "]}");
		}
		tg_buf_printf(&b, "],\"processID\":\"p%d\",\"warnings\":null}", pid);
	}
	tg_buf_puts(&b, "],\n\"processes\":{");
	for (int p = 1; p <= nproc; p++) {
		for (size_t i = 0; i < t->norder; i++) {
			const struct qy_span *s = &t->spans[t->order[i]];

			if (tg_tree_service_index(t, s->service) != p)
				continue;
			tg_buf_printf(&b, "%s\"p%d\":{\"serviceName\":", p > 1 ? "," : "", p);
			tg_buf_json_cstr(&b, s->service ? s->service : "unknown");
			tg_buf_puts(&b, ",\"tags\":[]}");
			break;
		}
	}
	tg_buf_puts(&b, "},\"warnings\":null}],\"total\":0,\"limit\":0,\"offset\":0,\"errors\":null}\n");
	rc = tg_buf_write(&b, f);
	tg_buf_free(&b);
	free(r);
	return rc;
}
