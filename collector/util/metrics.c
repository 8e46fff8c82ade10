/*
 * util/metrics.c - the Prometheus text exposition builder (see metrics.h).
 *
 * DESIGN: one growing text buffer per family; families found by a linear
 * scan (clewd exports a few dozen). Rendering concatenates them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <store/err.h>
#include "util/metrics.h"
#include "util/banned.h"

struct buf {
	char *p;    /* text */
	size_t len; /* used */
	size_t cap; /* allocated */
};

struct family {
	char *name;	    /* metric name */
	struct buf samples; /* its sample lines */
	char header[512];   /* HELP and TYPE lines */
};

struct metrics {
	struct family *fam; /* families in order of first sample */
	size_t n, cap;	    /* used, allocated */
	struct buf out;	    /* the rendered text */
};

static __attribute__((format(printf, 2, 3))) void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 1024;
		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return;
		b->p = p;
		b->cap = cap;
	}
}

int metrics_new(struct metrics **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -CD_ENOMEM;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->fam[i].name);
		free(m->fam[i].samples.p);
	}
	free(m->fam);
	free(m->out.p);
	free(m);
}

void metrics_reset(struct metrics *m)
{
	for (size_t i = 0; i < m->n; i++)
		m->fam[i].samples.len = 0;
}

static struct family *family(struct metrics *m, const char *name, enum metrics_type type, const char *help)
{
	struct family *f;

	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->fam[i].name, name) == 0)
			return &m->fam[i];
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 32;
		f = realloc(m->fam, cap * sizeof(*f));
		if (!f)
			return NULL;
		m->fam = f;
		m->cap = cap;
	}
	f = &m->fam[m->n];
	memset(f, 0, sizeof(*f));
	if (!(f->name = strdup(name)))
		return NULL;
	snprintf(f->header, sizeof(f->header), "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
		 type == METRICS_COUNTER ? "counter" : "gauge");
	m->n++;
	return f;
}

void metrics_add(struct metrics *m, const char *fam, enum metrics_type type, const char *help,
		 const char *labels, double value)
{
	struct family *f = family(m, fam, type, help);

	if (!f)
		return;
	if (labels && *labels)
		buf_printf(&f->samples, "%s{%s} %.17g\n", fam, labels, value);
	else
		buf_printf(&f->samples, "%s %.17g\n", fam, value);
}

char *metrics_label(char *buf, size_t cap, const char *key, const char *value)
{
	size_t n = strnlen(buf, cap);
	int w = snprintf(buf + n, cap - n, "%s%s=\"", n ? "," : "", key);

	if (w < 0 || (size_t)w >= cap - n) {
		buf[n] = '\0'; /* did not fit: leave the text as it was */
		return buf;
	}
	n += (size_t)w;
	for (const char *p = value; *p && n + 3 < cap; p++) {
		if (*p == '\\' || *p == '"' || *p == '\n') {
			buf[n++] = '\\';
			buf[n++] = *p == '\n' ? 'n' : *p;
		} else {
			buf[n++] = *p;
		}
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}

const char *metrics_text(struct metrics *m, size_t *len)
{
	m->out.len = 0;
	buf_printf(&m->out, "%s", "");
	for (size_t i = 0; i < m->n; i++) {
		struct family *f = &m->fam[i];
		if (!f->samples.len)
			continue;
		buf_printf(&m->out, "%s%.*s", f->header, (int)f->samples.len, f->samples.p);
	}
	*len = m->out.len;
	return m->out.p ? m->out.p : "";
}
