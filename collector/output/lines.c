/*
 * output/lines.c - rendering chunks as lines (see lines.h).
 *
 * DESIGN: every record of the chunk is decoded (views into the chunk) and
 * emitted straight into one growing buffer, so an output makes one
 * write() per chunk. The buffer grows by doubling when an emitter says
 * -FMT_ETRUNC, up to CD_EMIT_MAX per record, and is kept between chunks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cd_limits.h"
#include "fmt/json.h"
#include "fmt/pipe.h"
#include "fmt/str.h"
#include "output/lines.h"
#include "util/util.h"
#include "util/banned.h"

void out_lines_release(struct out_lines *b)
{
	free(b->buf);
	b->buf = NULL;
	b->len = b->cap = 0;
}

static int grow(struct out_lines *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 64 * 1024;
	char *n;

	while (cap < need)
		cap *= 2;
	if (cap == b->cap)
		return 0;
	n = realloc(b->buf, cap);
	if (!n)
		return -CD_ENOMEM;
	b->buf = n;
	b->cap = cap;
	return 0;
}

/* This machine's name, for Logstash's "host" (read once: it does not change under a running daemon). */
static struct fmt_str host_name(void)
{
	static char name[256];
	static struct fmt_str v; /* its length too: taken once, not per record */

	if (!v.ptr) {
		if (gethostname(name, sizeof(name) - 1) < 0 || !name[0])
			cd_strlcpy(name, "localhost", sizeof(name));
		v = fmt_str_c(name);
	}
	return v;
}

int out_lines_emit(struct fmt_record *r, const struct record_src *src, enum cd_out_format f, char *out,
		   size_t cap, size_t *len)
{
	static struct fmt_record raw; /* large; the daemon is single-threaded */
	char num[24];

	if (src->raw && f == CD_OUTFMT_PIPE) {
		if (src->line.len > cap)
			return -FMT_ETRUNC;
		memcpy(out, src->line.ptr, src->line.len);
		*len = src->line.len;
		return 0;
	}
	if (src->raw) {
		fmt_record_clear(&raw);
		raw.message = src->line;
		raw.attrs[0] = (struct fmt_attr){fmt_str_c("_unparsed"), src->error, FMT_T_STRING};
		raw.attrs[1] = (struct fmt_attr){fmt_str_c("_input"), src->input, FMT_T_STRING};
		raw.attrs[2] =
			(struct fmt_attr){fmt_str_c("_offset"),
					  fmt_str_n(num, (size_t)snprintf(num, sizeof(num), "%llu",
									  (unsigned long long)src->offset)),
					  FMT_T_NUMBER};
		raw.nattrs = src->input.ptr ? 3 : 1;
		if (!src->error.ptr)
			raw.attrs[0].val = fmt_str_c("unparsed");
		r = &raw;
	}
	if (f == CD_OUTFMT_PIPE)
		return fmt_pipe_emit(r, out, cap, len);
	if (f == CD_OUTFMT_LOGSTASH) {
		if (r->nattrs < FMT_ATTRS_MAX && !fmt_record_attr(r, "host"))
			r->attrs[r->nattrs++] =
				(struct fmt_attr){fmt_str_c("host"), host_name(), FMT_T_STRING};
		return fmt_json_emit(r, FMT_JSON_IDS | FMT_JSON_LOGSTASH, out, cap, len);
	}
	return fmt_json_emit(r, FMT_JSON_IDS, out, cap, len);
}

int out_lines_render(struct out_lines *b, const struct chunk *c, enum cd_out_format f, struct cd_err *err)
{
	static struct fmt_record rec; /* large; the daemon is single-threaded */
	struct record_src src;
	struct chunk_iter it;
	int rc;

	b->len = 0;
	chunk_iter_init(&it, c);
	while ((rc = chunk_iter_next(&it, &rec, &src)) == 1) {
		size_t room_for = 256, n = 0;

		for (;;) {
			if (grow(b, b->len + room_for + 1) < 0)
				return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
			rc = out_lines_emit(&rec, &src, f, b->buf + b->len, b->cap - b->len - 1, &n);
			if (rc == 0)
				break;
			if (rc != -FMT_ETRUNC || b->cap - b->len > CD_EMIT_MAX)
				return cd_err_set(err, -CD_ECORRUPT, 0, "a record cannot be written: %s",
						  fmt_strerror(rc));
			room_for = (b->cap - b->len) * 2;
		}
		b->len += n;
		b->buf[b->len++] = '\n';
	}
	if (rc < 0)
		return cd_err_set(err, -CD_ECORRUPT, 0, "chunk %llu does not decode",
				  (unsigned long long)chunk_seq(c));
	return 0;
}
