/*
 * fmt/record.h - the record every part of clew shares.
 *
 * A record is what one log line (plus its continuation lines) means: time,
 * level, the NDC path of IDs (trace ... span), service, method, path,
 * message and typed key/value attributes. The parsers fill it with *views*
 * into the caller's line buffer: nothing is copied or allocated, so the
 * record is valid only while that buffer is. A view remembers how its bytes
 * are escaped (pipe or JSON escapes, or none), and fmt_str_decode() turns it
 * into plain UTF-8 when a consumer needs the value itself.
 *
 * The same struct is what libtrace fills (with FMT_ENC_RAW views of its own
 * strings) before calling an emitter, so both directions share one model.
 */
#ifndef FMT_RECORD_H
#define FMT_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fmt/limits.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes; functions return 0 or one of these negated. */
enum fmt_code {
	FMT_OK = 0,
	FMT_EPARSE,  /* the input does not follow the grammar */
	FMT_EUTF8,   /* invalid UTF-8 inside a JSON string */
	FMT_EDEPTH,  /* JSON nested deeper than FMT_JSON_DEPTH_MAX */
	FMT_ENUMBER, /* JSON number longer than FMT_JSON_NUMBER_MAX */
	FMT_ETS,     /* invalid RFC 3339 timestamp */
	FMT_ELIMIT,  /* NDC deeper than FMT_IDS_MAX, or line longer than FMT_LINE_MAX */
	FMT_ETRUNC,  /* an emitter's output buffer is too small */
	FMT_EINVAL,  /* bad argument (NULL, bad option) */
};

/* Static text for a code (positive or negative); never NULL. */
const char *fmt_strerror(int code);

/*
 * Where a parse failed. @what is a static string (never freed), exact
 * enough to be compared in tests ("unterminated string", ...).
 */
struct fmt_err {
	size_t offset;	  /* byte offset of the first offending byte */
	const char *what; /* static description; NULL when no error */
};

/* How the bytes of a view are escaped. */
enum fmt_enc {
	FMT_ENC_RAW = 0, /* literal bytes, nothing to undo */
	FMT_ENC_PIPE,	 /* may hold pipe escapes: \| \\ \n \r \t */
	FMT_ENC_JSON,	 /* the inside of a JSON string: may hold JSON escapes */
};

/*
 * A view of part of the line. ptr == NULL means absent; a non-NULL ptr
 * with len == 0 is present and empty. Parsers set enc to FMT_ENC_RAW when
 * the bytes hold no escape at all, so consumers take the fast path.
 */
struct fmt_str {
	const char *ptr; /* into the line (or the caller's string); NULL = absent */
	uint32_t len;	 /* bytes at ptr, still escaped */
	uint8_t enc;	 /* enum fmt_enc */
};

/* The type of an attribute's value. */
enum fmt_type {
	FMT_T_STRING = 0, /* val is the string, escaped per val.enc */
	FMT_T_NUMBER,	  /* val is a JSON number literal (enc RAW) */
	FMT_T_BOOL,	  /* val is "true" or "false" (enc RAW) */
	FMT_T_NULL,	  /* val is "null" (enc RAW) */
	FMT_T_OBJECT,	  /* val is the raw JSON text of an object (enc RAW) */
	FMT_T_ARRAY,	  /* val is the raw JSON text of an array (enc RAW) */
};

struct fmt_attr {
	struct fmt_str key; /* never absent */
	struct fmt_str val; /* text of the value; see enum fmt_type */
	uint8_t type;	    /* enum fmt_type */
};

enum fmt_level {
	FMT_LEVEL_NONE = 0, /* no level in the line */
	FMT_LEVEL_TRACE,
	FMT_LEVEL_DEBUG,
	FMT_LEVEL_INFO,
	FMT_LEVEL_WARN,
	FMT_LEVEL_ERROR,
	FMT_LEVEL_FATAL,
	FMT_LEVEL_OTHER, /* a level we do not know; level_text holds it */
};

/* What a record is: the reserved key `event`. */
enum fmt_event {
	FMT_EVENT_LOG = 0, /* absent: a plain log record */
	FMT_EVENT_SPAN,	   /* event=span: attrs name, dur_us, status */
	FMT_EVENT_METRIC,  /* event=metric: attrs metric, type, value, tags */
};

/* Which grammar a record came from. */
enum fmt_format {
	FMT_UNKNOWN = 0, /* not a record start (a continuation line, or garbage) */
	FMT_PIPE,
	FMT_JSON,
};

/* Record flags. */
enum {
	FMT_F_TS_INVALID = 1u << 0, /* a timestamp field was present but not understood; ts_text holds it */
	FMT_F_ATTRS_TRUNCATED = 1u << 1, /* more than FMT_ATTRS_MAX attributes; the rest are not in attrs[] */
	FMT_F_CONT = 1u << 2,		 /* continuation lines follow the first line (see cont) */
};

struct fmt_record {
	int64_t ts_ns;			 /* UTC ns since the epoch; meaningful when has_ts */
	bool has_ts;			 /* a valid timestamp was found */
	uint8_t level;			 /* enum fmt_level */
	uint8_t event;			 /* enum fmt_event */
	uint8_t format;			 /* enum fmt_format: which parser filled it */
	uint32_t flags;			 /* FMT_F_* */
	uint16_t nids;			 /* entries used in ids[] */
	uint16_t nattrs;		 /* entries used in attrs[] */
	struct fmt_str ts_text;		 /* the timestamp as written (absent when none) */
	struct fmt_str level_text;	 /* the level as written (absent when none) */
	struct fmt_str ids[FMT_IDS_MAX]; /* NDC path, outermost (the trace) first */
	struct fmt_str trace;		 /* transaction ID (ids[0] for pipe) */
	struct fmt_str span;		 /* this unit of work (last of ids[], if more than one) */
	struct fmt_str parent;		 /* the span that called it (ids[nids-2], if nids > 2) */
	struct fmt_str service;
	struct fmt_str method; /* absent for pipe "-" */
	struct fmt_str path;   /* absent for pipe "-" */
	struct fmt_str message;
	struct fmt_str cont;		      /* the continuation lines after the first '\n', verbatim */
	struct fmt_attr attrs[FMT_ATTRS_MAX]; /* in line order */
};

/*
 * fmt_record_clear() - make @r an empty record (no fields, no attrs).
 * Cheap: it does not touch the unused array slots.
 */
void fmt_record_clear(struct fmt_record *r);

/*
 * fmt_record_attr() - the first attribute whose decoded key equals @key.
 * Return: a pointer into r->attrs, or NULL.
 */
const struct fmt_attr *fmt_record_attr(const struct fmt_record *r, const char *key);

/* Canonical upper-case name of a level ("INFO"); "" for FMT_LEVEL_NONE/OTHER. */
const char *fmt_level_name(enum fmt_level level);

/*
 * fmt_level_from_text() - recognise a level name, case-insensitively:
 * trace/verbose, debug, info/information/informational/notice, warn/
 * warning, error/err, fatal/critical/crit/panic/dpanic/emerg/emergency/
 * alert, and pino/bunyan's numbers 10..60.
 * Return: the level, or FMT_LEVEL_OTHER when @s is none of these.
 */
enum fmt_level fmt_level_from_text(const char *s, size_t len);

#ifdef __cplusplus
}
#endif

#endif
