/*
 * otlp/otlp.h - OpenTelemetry (OTLP) export requests read into clew
 * records: the protobuf wire format and the OTLP/JSON mapping of
 * ExportTraceServiceRequest, ExportLogsServiceRequest and
 * ExportMetricsServiceRequest, each record rendered as one clew JSON line
 * (fmt_json_emit(), formats/json.md), so the daemon and tracegrep read
 * them like any JSON line. The mapping is in formats/otlp.md.
 *
 * Both readers are bounded (lengths checked against what is left, nesting
 * of values at most OTLP_DEPTH_MAX), skip unknown fields and allocate
 * only the output buffer and one scratch arena per decoder.
 */
#ifndef OTLP_OTLP_H
#define OTLP_OTLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fmt/record.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Nesting of AnyValue arrays and maps at most (deeper: the request is undecodable). */
#define OTLP_DEPTH_MAX 32

/* Which export request a body is. */
enum otlp_kind {
	OTLP_TRACES = 0,
	OTLP_LOGS,
	OTLP_METRICS,
};

/* How it is encoded. */
enum otlp_encoding {
	OTLP_PROTO = 0, /* application/x-protobuf */
	OTLP_JSON,	/* application/json (OTLP/JSON mapping) */
};

/* What a decode made of a request. */
struct otlp_result {
	uint64_t items;	   /* spans, log records or data points read */
	uint64_t records;  /* clew records written (a span's events are records too) */
	uint64_t rejected; /* items dropped (an item with no record to make, e.g. an unknown metric type) */
	const char *why;   /* static text: why the body is undecodable, or why items were rejected; NULL */
	size_t offset;	   /* byte offset of the error in the body, when undecodable */
};

/*
 * The records a decode renders: clew JSON lines, each ended by '\n', in
 * @buf (malloc'd, grown as needed; reused across decodes).
 */
struct otlp_out {
	char *buf;
	size_t len, cap;
};

/* otlp_out_free() - free @o's buffer and zero it. */
void otlp_out_free(struct otlp_out *o);

/*
 * otlp_decode() - read the export request @body (@len bytes) of @kind in
 * @enc and append its records to @out as clew JSON lines.
 * Return: 0 (res->rejected may be > 0), or -FMT_EPARSE / -FMT_EDEPTH /
 * -FMT_EUTF8 when the body is undecodable (res->why, res->offset; @out is
 * left as it was), -FMT_ELIMIT when out of memory.
 */
int otlp_decode(enum otlp_kind kind, enum otlp_encoding enc, const void *body, size_t len,
		struct otlp_out *out, struct otlp_result *res);

/*
 * otlp_json_line_kind() - whether the line @s is an OTLP/JSON export
 * request, as the OTel Collector's file exporter writes (one per line):
 * an object whose first member is resourceSpans, resourceLogs or
 * resourceMetrics. A cheap look at the first key; the line is not read.
 * Return: true with *kind set.
 */
bool otlp_json_line_kind(const char *s, size_t len, enum otlp_kind *kind);

/*
 * otlp_response() - the body of an Export*ServiceResponse for @kind in
 * @enc: empty ({} in JSON) when nothing was rejected, else a
 * partial_success with @rejected and @msg (plain UTF-8, may be NULL).
 * Return: its length (written to @out, at most @cap; 0 when it does not
 * fit, which with @cap >= 512 and a short @msg does not happen).
 */
size_t otlp_response(enum otlp_kind kind, enum otlp_encoding enc, uint64_t rejected, const char *msg,
		     char *out, size_t cap);

/*
 * otlp_status() - the body of an OTLP/HTTP error answer (4xx, 5xx): a
 * google.rpc.Status with @code (3 INVALID_ARGUMENT, 8 RESOURCE_EXHAUSTED,
 * 14 UNAVAILABLE) and @msg, in @enc. Return: its length (0: no room).
 */
size_t otlp_status(enum otlp_encoding enc, int code, const char *msg, char *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
