/*
 * render_find.c - tracegrep --find's list: a table, or one JSON object
 * per line (query/json.h, formats/tracegrep-find.md).
 *
 * DESIGN: the table has one row per transaction: a '!' for a failed one,
 * start (UTC), trace ID, root service + method + path, duration, spans,
 * services, worst status, first error. Cells are made first and the
 * columns sized to their widest cell (capped), the first error taking
 * what is left of the width. Every value from a log goes through
 * tg_buf_put_safe(), so nothing in a log can drive the terminal; colour
 * (our own SGR sequences) follows the waterfall's: red for failure,
 * yellow for a client error, green for success, dim for the header.
 */
#include <stdlib.h>
#include <string.h>

#include "fmt/ts.h"
#include "query/json.h"
#include "tg.h"
#include "banned.h"

#define SGR_RESET "\x1b[0m"
#define SGR_DIM "\x1b[2m"
#define SGR_RED "\x1b[31m"
#define SGR_YELLOW "\x1b[33m"
#define SGR_GREEN "\x1b[32m"

enum { C_START, C_TRACE, C_ROOT, C_DUR, C_SPANS, C_SERVICES, C_STATUS, C_ERROR, C_COUNT };

static const char *const heads[C_COUNT] = {"START", "TRACE",	"ROOT",	  "DURATION",
					   "SPANS", "SERVICES", "STATUS", "FIRST ERROR"};
/* Widest a column grows (the first error takes the rest of the line). */
static const size_t caps[C_COUNT] = {24, 40, 48, 10, 6, 32, 6, 0};

static size_t columns(const struct tg_buf *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->len; i++)
		n += ((unsigned char)b->data[i] & 0xc0) != 0x80;
	return n;
}

static void safe(struct tg_buf *b, const char *s)
{
	if (s)
		tg_buf_put_safe(b, s, strlen(s), false);
}

static void cells_of(const struct qy_summary *s, struct tg_buf *c)
{
	char ts[FMT_TS_MAX];

	if (s->has_ts) {
		fmt_ts_format(qy_summary_start(s), 3, ts);
		tg_buf_puts(&c[C_START], ts);
	} else {
		tg_buf_puts(&c[C_START], "-");
	}
	safe(&c[C_TRACE], s->trace);
	safe(&c[C_ROOT], s->root_service ? s->root_service : "-");
	if (s->root_method || s->root_path)
		tg_buf_putc(&c[C_ROOT], ' ');
	safe(&c[C_ROOT], s->root_method);
	if (s->root_method && s->root_path)
		tg_buf_putc(&c[C_ROOT], ' ');
	safe(&c[C_ROOT], s->root_path);
	tg_buf_put_dur(&c[C_DUR], qy_summary_dur(s));
	tg_buf_printf(&c[C_SPANS], "%zu", s->nspans);
	for (size_t i = 0; i < s->nservices; i++) {
		if (i)
			tg_buf_putc(&c[C_SERVICES], ',');
		safe(&c[C_SERVICES], s->services[i]);
	}
	if (!s->nservices)
		tg_buf_putc(&c[C_SERVICES], '-');
	if (s->status)
		tg_buf_printf(&c[C_STATUS], "%d", s->status);
	else
		tg_buf_putc(&c[C_STATUS], '-');
	safe(&c[C_ERROR], s->first_error);
}

static const char *status_color(const struct qy_summary *s)
{
	if (s->error || s->status >= 500)
		return SGR_RED;
	if (s->status >= 400)
		return SGR_YELLOW;
	return s->status ? SGR_GREEN : NULL;
}

static int render_table(const struct qy_summary *const *v, size_t n, bool color, int width, FILE *f)
{
	struct tg_buf *cells = tg_xcalloc(n * C_COUNT, sizeof(*cells)), out = {0};
	size_t w[C_COUNT], used = 2;
	int rc;

	for (int c = 0; c < C_COUNT; c++)
		w[c] = strlen(heads[c]);
	for (size_t i = 0; i < n; i++) {
		cells_of(v[i], &cells[i * C_COUNT]);
		for (int c = 0; c < C_ERROR; c++) {
			size_t cw = columns(&cells[i * C_COUNT + c]);

			if (cw > w[c])
				w[c] = cw > caps[c] ? caps[c] : cw;
		}
	}
	for (int c = 0; c < C_ERROR; c++)
		used += w[c] + 2;
	w[C_ERROR] = (size_t)width > used + 20 ? (size_t)width - used : 20;

	if (color)
		tg_buf_puts(&out, SGR_DIM);
	tg_buf_puts(&out, "  ");
	for (int c = 0; c < C_COUNT; c++) {
		size_t at = out.len;

		tg_buf_puts(&out, heads[c]);
		if (c < C_ERROR) {
			tg_buf_pad_to(&out, at, w[c]);
			tg_buf_puts(&out, "  ");
		}
	}
	if (color)
		tg_buf_puts(&out, SGR_RESET);
	tg_buf_putc(&out, '\n');

	for (size_t i = 0; i < n; i++) {
		const struct qy_summary *s = v[i];
		const char *sc = color ? status_color(s) : NULL;

		if (s->error && color)
			tg_buf_puts(&out, SGR_RED);
		tg_buf_puts(&out, s->error ? "! " : "  ");
		if (s->error && color)
			tg_buf_puts(&out, SGR_RESET);
		for (int c = 0; c < C_COUNT; c++) {
			const struct tg_buf *cell = &cells[i * C_COUNT + c];
			bool paint = (c == C_STATUS && sc) || (c == C_ERROR && color && cell->len);
			size_t at;

			if (paint)
				tg_buf_puts(&out, c == C_STATUS ? sc : SGR_RED);
			at = out.len;
			tg_buf_put(&out, cell->data, cell->len);
			/* The last column is only cut, never padded (no trailing blanks). */
			if (c < C_ERROR || columns(cell) > w[c])
				tg_buf_pad_to(&out, at, w[c]);
			if (paint)
				tg_buf_puts(&out, SGR_RESET);
			if (c < C_ERROR)
				tg_buf_puts(&out, "  ");
		}
		while (out.len && out.data[out.len - 1] == ' ')
			out.len--;
		tg_buf_putc(&out, '\n');
	}
	rc = tg_buf_write(&out, f);
	for (size_t i = 0; i < n * C_COUNT; i++)
		tg_buf_free(&cells[i]);
	free(cells);
	tg_buf_free(&out);
	return rc;
}

static int render_json(const struct qy_summary *const *v, size_t n, const struct qy_keys *keys, FILE *f)
{
	struct tg_buf out = {0};
	int rc;

	for (size_t i = 0; i < n; i++) {
		size_t cap = qy_summary_json_bound(v[i], keys), len = 0;

		tg_buf_put(&out, NULL, 0);
		if (out.cap - out.len < cap + 1) {
			out.cap = out.len + cap + 1;
			out.data = tg_xrealloc(out.data, out.cap);
		}
		if (qy_summary_json(v[i], keys, out.data + out.len, cap, &len) < 0) {
			tg_buf_free(&out);
			return -TG_EINVAL; /* the bound is wrong: a bug */
		}
		out.len += len;
		tg_buf_putc(&out, '\n');
	}
	rc = tg_buf_write(&out, f);
	tg_buf_free(&out);
	return rc;
}

int tg_render_find(const struct qy_summary *const *v, size_t n, const struct qy_keys *keys, bool json,
		   bool color, int width, FILE *f)
{
	int rc = json ? render_json(v, n, keys, f) : render_table(v, n, color, width, f);

	if (rc == 0 && (fflush(f) != 0 || ferror(f)))
		rc = -TG_EIO;
	return rc;
}
