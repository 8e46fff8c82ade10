/*
 * otlp_impl.h - what the two OTLP readers (otlp_proto.c, otlp_json.c)
 * share: the record builder of otlp_build.c, which turns spans, span
 * events, log records and data points into clew records (formats/otlp.md)
 * and renders each as a JSON line. Private to the otlp library.
 *
 * DESIGN: a reader walks its encoding and calls the builder; the builder
 * owns the mapping, so both encodings give the same records. Values the
 * record cannot view in the body (hex IDs, numbers, AnyValue arrays and
 * maps rendered as JSON) go to a scratch arena that is reset per record
 * and never moves while a record is built.
 */
#ifndef OTLP_IMPL_H
#define OTLP_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fmt/record.h"
#include "otlp/otlp.h"

/* Bytes of scratch per record: IDs, numbers, rendered arrays and maps. */
#define OTLP__ARENA (256u * 1024u)

/* A trace or span ID as bytes (n == 0: absent). */
struct otlp_id {
	uint8_t b[16];
	uint8_t n;
};

/* The fields of a span the span record and its events' records share. */
struct otlp_span {
	struct otlp_id trace, span, parent;
	struct fmt_str name, status_msg;
	uint64_t start, end; /* unix ns */
	int kind;	     /* SpanKind */
	int status;	     /* Status.code: 0 unset, 1 ok, 2 error */
};

/* One decode's state. */
struct ob {
	struct otlp_out *out;
	struct otlp_result *res;
	const char *body; /* for error offsets */
	char *arena;
	size_t used;
	struct fmt_str service; /* of the current resource */
	struct fmt_record rec;
	uint8_t method_rank, path_rank; /* which alias set method / path (lower wins; 0 none) */
	int err;			/* the first fatal error (FMT_*), or 0 */
};

/* Fail the decode: @why at @at (a pointer into the body). Return: -@code. */
int ob_fail(struct ob *b, const void *at, const char *why, int code);

/* Count an item dropped, for @why (kept: the first reason). */
void ob_reject(struct ob *b, const char *why);

/* Start a record of @event (enum fmt_event): cleared, the resource's service set, the arena empty. */
void ob_begin(struct ob *b, int event);

/* Write the record as a JSON line. Return: 0, or -FMT_ELIMIT (out of memory). */
int ob_end(struct ob *b);

/* Scratch: room for @n bytes (NULL when the arena is full). */
char *ob_alloc(struct ob *b, size_t n);

/* A RAW view of the copy of @n bytes at @s in the arena (absent when full). */
struct fmt_str ob_copy(struct ob *b, const char *s, size_t n);

/* Whether IDs have the sizes OTLP gives them (16 and 8 bytes; 0: absent). */
bool ob_ids_ok(const struct otlp_id *trace, const struct otlp_id *span, const struct otlp_id *parent);

/* Set the record's trace, span and parent (and ids[]) from bytes, as lowercase hex. */
void ob_ids(struct ob *b, const struct otlp_id *trace, const struct otlp_id *span,
	    const struct otlp_id *parent);

/* Set the record's timestamp from unix ns (0: none). */
void ob_time(struct ob *b, uint64_t ns);

/*
 * ob_attr() - add the attribute @key = @val of @type (enum fmt_type)
 * unless the record is full (then FMT_F_ATTRS_TRUNCATED). The HTTP
 * attributes of the semantic conventions also set method and path.
 */
void ob_attr(struct ob *b, struct fmt_str key, int type, struct fmt_str val);

/* ob_attr() with a literal key and a number rendered in the arena. */
void ob_attr_u64(struct ob *b, const char *key, uint64_t v);
void ob_attr_i64(struct ob *b, const char *key, int64_t v);
void ob_attr_double(struct ob *b, const char *key, double v);
void ob_attr_cstr(struct ob *b, const char *key, const char *v);

/* The span record of @s (attributes follow: the caller adds them, then ob_end()). */
void ob_span(struct ob *b, const struct otlp_span *s);

/* A span event's record of @s: @name at @ns (attributes follow). */
void ob_span_event(struct ob *b, const struct otlp_span *s, struct fmt_str name, uint64_t ns);

/* A log record's level from severity_number @num and severity_text @text. */
void ob_severity(struct ob *b, int64_t num, struct fmt_str text);

/* Lowercase hex of @n bytes at @p into the arena. */
struct fmt_str ob_hex(struct ob *b, const uint8_t *p, size_t n);

/* Shortest text of @d that reads back exactly into @out (>= 32 bytes); its length. */
size_t ob_dtoa(double d, char *out);

/* Whether @key (a view) is the resource attribute service.name. */
bool ob_is_service(struct fmt_str key);

/* Readers: one export request into @b. Return: 0 or a negative code (b->res->why set). */
int otlp__proto(struct ob *b, enum otlp_kind kind, const uint8_t *p, size_t len);
int otlp__json(struct ob *b, enum otlp_kind kind, const char *s, size_t len);

#endif
