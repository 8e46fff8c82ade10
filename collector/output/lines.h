/*
 * output/lines.h - a chunk rendered as text lines (pipe or JSON), shared
 * by the stdout and file outputs.
 *
 * A parsed record is written by the formats library's emitters
 * (fmt_json_emit with FMT_JSON_IDS: the collector's JSON schema), so a
 * record read from a pipe line and from a JSON line come out alike. A raw
 * record (no parser took its line) is written as the line itself in pipe
 * output, and in JSON as {"message": LINE, "_unparsed": ERROR, "_input":
 * NAME, "_offset": N}: flagged, never dropped. The Logstash format is
 * the JSON one with "@timestamp", "@version":"1" and "host" added.
 */
#ifndef CD_OUTPUT_LINES_H
#define CD_OUTPUT_LINES_H

#include <stddef.h>

#include <store/chunk.h>
#include "fmt/record.h"
#include "config.h"
#include <store/err.h>

struct out_lines {
	char *buf;  /* the rendered lines of the last chunk */
	size_t len; /* bytes used */
	size_t cap; /* bytes allocated */
};

/* out_lines_release() - free the buffer (the struct may be reused after memset 0). */
void out_lines_release(struct out_lines *b);

/*
 * out_lines_render() - replace b's content with every record of @c, one
 * line each ending in '\n' (a record with continuation lines keeps them:
 * in pipe output after its first line, in JSON inside the message).
 * Return: 0; -CD_ENOMEM; -CD_ECORRUPT (the chunk does not decode).
 */
int out_lines_render(struct out_lines *b, const struct chunk *c, enum cd_out_format f, struct cd_err *err);

/*
 * out_lines_emit() - the line out_lines_render() writes for one record
 * (@r and @src as chunk_iter_next() gave them), without its '\n', into
 * @out (@cap bytes): for an output that renders record by record (kafka).
 * @r may be changed (Logstash's "host" added). Return: 0 with *@len;
 * -FMT_ETRUNC when @cap is too short (try again with more); another
 * negative fmt error when the record cannot be written.
 */
int out_lines_emit(struct fmt_record *r, const struct record_src *src, enum cd_out_format f, char *out,
		   size_t cap, size_t *len);

#endif
