/*
 * render_chrome.c - --chrome: the Chrome trace event format.
 *
 * DESIGN: what Perfetto and chrome://tracing open: {"traceEvents":[...],
 * "displayTimeUnit":"ms"}. One process per service (a "process_name"
 * metadata event names it), each span a complete event ("ph":"X") with
 * ts and dur in microseconds since the top span's start, and each log
 * record an instant event ("ph":"i") on its span's thread. A span gets
 * the thread of its depth, so nested spans stack as the waterfall does.
 * Times are the skew-adjusted ones.
 */
#include <stdlib.h>
#include <string.h>

#include "fmt/str.h"
#include "tg.h"
#include "banned.h"

int tg_render_chrome(const struct tg_view *v, FILE *f)
{
	const struct qy_tree *t = v->tree;
	struct fmt_record *r = tg_xmalloc(sizeof(*r));
	struct tg_buf b = {0};
	int rc;

	tg_buf_puts(&b, "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n");
	for (size_t i = 0; i < t->norder; i++) {
		const struct qy_span *s = &t->spans[t->order[i]];
		int pid = tg_tree_service_index(t, s->service);

		if (tg_tree_first_of_service(t, i)) {
			tg_buf_printf(
				&b,
				"{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"tid\":0,\"args\":{\"name\":",
				pid);
			tg_buf_json_cstr(&b, s->service ? s->service : "(no service)");
			tg_buf_puts(&b, "}},\n");
		}
		tg_buf_printf(&b,
			      "{\"ph\":\"X\",\"pid\":%d,\"tid\":%d,\"ts\":%lld,\"dur\":%lld,\"cat\":", pid,
			      s->depth + 1, (long long)((s->start_ns - t->t0) / 1000),
			      (long long)((s->end_ns - s->start_ns) / 1000));
		tg_buf_json_cstr(&b, s->error ? "span,error" : "span");
		tg_buf_puts(&b, ",\"name\":");
		if (s->name) {
			tg_buf_json_cstr(&b, s->name);
		} else {
			struct tg_buf n = {0};

			tg_buf_printf(&n, "%s %s", s->method ? s->method : "", s->path ? s->path : s->id);
			tg_buf_putc(&n, '\0');
			tg_buf_json_cstr(&b, n.data);
			tg_buf_free(&n);
		}
		tg_buf_puts(&b, ",\"args\":{\"span\":");
		tg_buf_json_cstr(&b, s->id);
		tg_buf_puts(&b, ",\"parent\":");
		tg_buf_json_cstr(&b, s->parent >= 0 ? t->spans[s->parent].id : "");
		tg_buf_puts(&b, ",\"status\":");
		tg_buf_json_cstr(&b, s->status);
		tg_buf_printf(&b, ",\"critical\":%s,\"shift_us\":%lld}},\n", s->critical ? "true" : "false",
			      (long long)(s->shift_ns / 1000));
		for (size_t j = 0; j < s->nrecs; j++) {
			const struct tg_rec *rec = &v->recs->v[s->recs[j]];

			if (rec->event == FMT_EVENT_SPAN || tg_rec_parse(rec, r) != 0)
				continue;
			tg_buf_printf(
				&b,
				"{\"ph\":\"i\",\"s\":\"t\",\"pid\":%d,\"tid\":%d,\"ts\":%lld,\"cat\":\"log\",\"name\":",
				pid, s->depth + 1, (long long)((rec->ts_ns + s->adj_ns - t->t0) / 1000));
			tg_buf_json_view(&b, r->message.ptr ? &r->message : &r->service);
			tg_buf_puts(&b, ",\"args\":{\"level\":");
			tg_buf_json_cstr(&b, fmt_level_name(rec->level));
			tg_buf_puts(&b, ",\"text\":\"");
			tg_buf_json_str(&b, rec->text, rec->len);
			tg_buf_puts(&b, "\"}},\n");
		}
	}
	/* A last metadata event, so every event above may end in a comma. */
	tg_buf_puts(&b, "{\"ph\":\"M\",\"name\":\"trace_name\",\"pid\":0,\"tid\":0,\"args\":{\"name\":");
	tg_buf_json_cstr(&b, t->trace);
	tg_buf_puts(&b, "}}\n]}\n");
	rc = tg_buf_write(&b, f);
	tg_buf_free(&b);
	free(r);
	return rc;
}
