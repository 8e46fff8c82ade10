/*
 * output/otlp/otlp_encode.h - a chunk's records as OTLP export requests:
 * span records (event=span) as one ExportTraceServiceRequest, log records
 * (and lines no parser took) as one ExportLogsServiceRequest, in protobuf
 * or OTLP/JSON, grouped by service into ResourceSpans / ResourceLogs
 * (resource attribute service.name).
 *
 * Mapping (also in clewd(8)): a span's trace/span/parent IDs are bytes
 * when they are 32 / 16 / 16 hex digits; any other ID is hashed to that
 * length (FNV-1a 64, see otlp_id()) and kept as the attribute
 * clew.trace_id / clew.span_id / clew.parent_span_id. The span's start is
 * the record's time, its end start + dur_us; status ok -> STATUS_CODE_OK,
 * a failing one (qy_status_failed()) -> STATUS_CODE_ERROR with the text
 * as message, a numeric status also -> http.response.status_code. A log
 * record's level -> severityNumber (TRACE 1, DEBUG 5, INFO 9, WARN 13,
 * ERROR 17, FATAL 21) and severityText, message (and continuation lines)
 * -> body, trace/span -> traceId/spanId. Attributes keep their types
 * (integers, doubles, bools, strings; objects and arrays as their JSON
 * text, null as an empty value); method -> http.request.method, path ->
 * url.path, a named span's message -> message. Metric records are not
 * sent (counted as skipped).
 */
#ifndef CD_OUTPUT_OTLP_ENCODE_H
#define CD_OUTPUT_OTLP_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <store/chunk.h>
#include "output/otlp/otlp_wire.h"

enum otlp_encoding {
	OTLP_ENC_PROTOBUF = 0, /* application/x-protobuf */
	OTLP_ENC_JSON,	       /* application/json (OTLP/JSON) */
};

struct otlp_enc_opts {
	enum otlp_encoding encoding; /* the requests' encoding */
	const char *scope_name;	     /* InstrumentationScope.name ("clewd") */
	const char *scope_version;   /* its version, or NULL */
	bool traces;		     /* encode span records */
	bool logs;		     /* encode log records */
};

/* What one otlp_encode_chunk() did (added to, never reset by it). */
struct otlp_enc_stats {
	uint64_t spans;	     /* span records encoded */
	uint64_t logs;	     /* log records encoded (unparsed lines too) */
	uint64_t skipped;    /* records not sent: metric records, or a signal turned off */
	uint64_t hashed_ids; /* IDs that were not OTLP hex, hashed (original kept as an attribute) */
};

struct otlp_enc;

/* otlp_enc_new() - an encoder with options @o (copied; strings borrowed). Return: 0 or -CD_ENOMEM. */
int otlp_enc_new(struct otlp_enc **out, const struct otlp_enc_opts *o);

/* otlp_enc_free() - NULL is fine. */
void otlp_enc_free(struct otlp_enc *e);

/*
 * otlp_record_signal() - which request record @r (with @src) goes into:
 * OTLP_SIG_TRACES (a span record), OTLP_SIG_LOGS (any other record, raw
 * ones too) or OTLP_SIG_NONE (metric records, and a signal @e does not
 * send). The one rule of otlp_encode_chunk() and of the output's
 * dead-letter files.
 */
enum otlp_sig { OTLP_SIG_TRACES = 0, OTLP_SIG_LOGS = 1, OTLP_SIG_NONE = 2 };
enum otlp_sig otlp_record_signal(const struct otlp_enc *e, const struct fmt_record *r,
				 const struct record_src *src);

/*
 * otlp_encode_chunk() - @c's records into @traces (an
 * ExportTraceServiceRequest) and @logs (an ExportLogsServiceRequest),
 * each emptied first and left empty (len 0) when no record of its signal
 * is in @c; *@nspans and *@nlogs get the records in each. @observed_ns
 * (UTC ns: when the collector read the chunk) is each log record's
 * observedTimeUnixNano, and the start of a span without a time. Not thread-safe
 * per encoder. Return: 0, -CD_ENOMEM, or -CD_ECORRUPT (the chunk does
 * not decode).
 */
int otlp_encode_chunk(struct otlp_enc *e, const struct chunk *c, int64_t observed_ns, struct ow_buf *traces,
		      struct ow_buf *logs, uint32_t *nspans, uint32_t *nlogs, struct otlp_enc_stats *st);

/*
 * otlp_id() - the @n (16 or 8) bytes of ID @id: its hex digits when it
 * is exactly 2 * @n of them and not all zero, else FNV-1a 64 of its
 * decoded bytes (for 16 bytes, followed by FNV-1a 64 of them again
 * seeded with the first hash), big-endian, never all zero.
 * Return: true when the ID was hex, false when it was hashed.
 */
bool otlp_id(const struct fmt_str *id, uint8_t *out, size_t n);

/*
 * otlp_partial_rejected() - the records a 2xx answer's partial success
 * says were rejected: its body @p (@n bytes, untrusted; @cut: only its
 * head, the rest not read) as an Export*ServiceResponse in protobuf, or
 * in OTLP/JSON when @json ({"partialSuccess":{"rejectedSpans":N or "N",
 * ...}}; rejectedLogRecords too). A protobuf body must be well-formed to
 * its end (unless @cut): anything else (a proxy's text) says nothing.
 * Return: the count (0 when none or unreadable).
 */
uint64_t otlp_partial_rejected(const uint8_t *p, size_t n, bool json, bool cut);

#endif
