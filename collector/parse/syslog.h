/*
 * parse/syslog.h - syslog messages: RFC 5424 and RFC 3164 (BSD) decoded
 * into views, mapped onto clew's record, and RFC 6587 stream framing
 * (octet counting or newlines, chosen by a connection's first byte).
 *
 * Pure functions over (buf, len) (docs/STYLE.md, Parsers): no I/O, no
 * allocation, no global state, never past len. What the record needs
 * beyond views into the message (an SD element's "SDID.param" keys, its
 * unescaped values) is written into a scratch buffer the caller owns.
 */
#ifndef CD_PARSE_SYSLOG_H
#define CD_PARSE_SYSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "fmt/record.h"
#include <parsers/regex.h>

/* Why a frame is not a syslog message (negated by syslog_parse()); also the framing's own errors. */
enum syslog_err {
	SYSLOG_OK = 0,
	SYSLOG_E_EMPTY,	 /* nothing but blanks */
	SYSLOG_E_PRI,	 /* no <PRI>, or one outside 0..191 */
	SYSLOG_E_HEADER, /* an RFC 5424 header field missing or malformed */
	SYSLOG_E_SD,	 /* RFC 5424 structured data malformed */
	SYSLOG_E_COUNT,	 /* octet counting: no MSG-LEN SP where a frame starts (newline framing from there) */
	SYSLOG_E_SHORT,	 /* octet counting: the connection ended inside a frame */
	SYSLOG_E_NREASONS
};

/* syslog_strerror() - a short static text for @e (positive or negative); the metrics' reason label. */
const char *syslog_strerror(int e);

enum syslog_kind {
	SYSLOG_NONE = 0,
	SYSLOG_RFC5424,
	SYSLOG_RFC3164,
};

/* One message as written. Views are RAW bytes of the message; absent: NILVALUE "-" or not there. */
struct syslog_msg {
	uint8_t kind;	     /* enum syslog_kind */
	uint8_t facility;    /* 0..23 (PRI / 8) */
	uint8_t severity;    /* 0..7 (PRI % 8) */
	bool has_ts;	     /* ts understood: ts_ns is valid */
	int64_t ts_ns;	     /* UTC ns since the epoch */
	struct fmt_str ts;   /* the timestamp as written */
	struct fmt_str host; /* HOSTNAME */
	struct fmt_str app;  /* APP-NAME (RFC 3164: the TAG before '[' or ':') */
	struct fmt_str procid;
	struct fmt_str msgid;
	struct fmt_str sd;   /* STRUCTURED-DATA, every element, checked by syslog_parse() */
	struct fmt_str body; /* MSG, after a UTF-8 BOM; trailing CR, LF and NUL taken off; may be empty */
};

/*
 * syslog_parse() - decode the message @buf (@len bytes: one frame,
 * without its framing) into @m (views into @buf). RFC 5424 when the PRI
 * is followed by version 1 and a space, else RFC 3164: "Mmm dd hh:mm:ss"
 * (the year is the one that puts it nearest to @now_ns, the time zone
 * UTC) or an RFC 3339 time, an optional HOSTNAME (absent when the token
 * after the time is already a TAG, as from /dev/log), TAG[PID]: MSG; an
 * RFC 3164 message without a time is all MSG. A 5424 timestamp that is
 * not RFC 3339 is kept as written (has_ts false).
 * Return: 0, or -SYSLOG_E_* (@m then holds what was decoded before).
 */
int syslog_parse(const char *buf, size_t len, int64_t now_ns, struct syslog_msg *m);

/* Where syslog_sd_next() is in a message's structured data (zeroed to start). */
struct syslog_sd_iter {
	size_t pos;	   /* offset in m->sd */
	struct fmt_str id; /* the SD-ID of the element being read */
};

/*
 * syslog_sd_next() - the next parameter of @m's structured data (checked
 * by syslog_parse()): it->id is its element's SD-ID, @name its
 * PARAM-NAME, @value its PARAM-VALUE still escaped (\" \\ \]), *@escaped
 * whether it holds a backslash. An element without parameters yields
 * nothing. Return: true with the views set, false at the end.
 */
bool syslog_sd_next(const struct syslog_msg *m, struct syslog_sd_iter *it, struct fmt_str *name,
		    struct fmt_str *value, bool *escaped);

/* syslog_level() - the record level of severity @sev: 0..2 FATAL, 3 ERROR, 4 WARN, 5..6 INFO, 7 DEBUG. */
enum fmt_level syslog_level(unsigned sev);

/* syslog_facility_name() / syslog_severity_name() - "local0", "notice" (RFC 5424, 6.2.1). */
const char *syslog_facility_name(unsigned fac);
const char *syslog_severity_name(unsigned sev);

/*
 * syslog_record() - @m as a record in @r: its body parsed by @parser (@rx
 * for CD_PARSER_REGEX), a body no parser takes being the message; then
 * the header merged in where the body said nothing: level from the
 * severity, time, service = APP-NAME; attributes host, app, procid,
 * msgid, facility, syslog_severity and every SD parameter as
 * "SDID.param" (a key the body already has keeps the body's value); the
 * trace and span from SD parameters (trace_id, traceid, span_id, spanid,
 * request_id, x-request-id; traceparent) or, for a plain body,
 * "trace_id=" / "span_id=" / "request_id=" words, unless the body gave
 * them. Keys and unescaped values are written into scratch[0..cap)
 * (2 * m's length + 256 is always enough; past it attributes are left
 * out and the record flagged FMT_F_ATTRS_TRUNCATED).
 * Return: 0 (a syslog message always makes a record).
 */
int syslog_record(const struct syslog_msg *m, enum cd_parser parser, struct parse_regex *rx,
		  struct fmt_record *r, char *scratch, size_t cap);

/* --- RFC 6587 framing on a stream ---------------------------------------- */

enum syslog_framing {
	SYSLOG_FRAMING_AUTO = 0, /* the connection's first byte decides: a digit is octet counting */
	SYSLOG_FRAMING_OCTET,	 /* MSG-LEN SP SYSLOG-MSG */
	SYSLOG_FRAMING_LINE,	 /* SYSLOG-MSG LF (non-transparent framing) */
};

/* A connection's framing state (zeroed to start). */
struct syslog_framer {
	uint8_t mode;	    /* enum syslog_framing */
	bool bad_count;	    /* a broken MSG-LEN sent us to newline framing: the next frame says so */
	uint32_t piece;	    /* pieces of an overlong frame handed out so far (0: none) */
	uint64_t remaining; /* octet counting: bytes of the overlong frame still to come */
};

/* One frame (or one piece of a frame longer than the maximum). */
struct syslog_frame {
	const char *ptr; /* its bytes, inside the buffer given */
	size_t len;	 /* without MSG-LEN SP, or the LF (and a CR before it) */
	size_t consumed; /* bytes of the buffer it used, framing and skipped blanks included */
	uint32_t piece;	 /* 0: a whole frame; 1, 2, ...: a piece of an overlong one (1 holds the header) */
	int error;	 /* 0, SYSLOG_E_COUNT (MSG-LEN broken: these bytes are what followed, to a LF) or
			    SYSLOG_E_SHORT (the stream ended inside the frame) */
};

/*
 * syslog_frame_next() - the next frame in buf[0..len), the bytes not yet
 * consumed of one connection, in @f's framing (decided at the first
 * byte). Frames longer than @max (>= 16) are handed out in pieces of at
 * most @max bytes; @len may be up to @max + 16 to hold a whole frame. At
 * @eof what remains is a frame. Empty lines are consumed silently.
 * Return: 1 with @out set; 0 when more bytes are needed (out->consumed
 * may still be > 0: blanks skipped).
 */
int syslog_frame_next(struct syslog_framer *f, const char *buf, size_t len, size_t max, bool eof,
		      struct syslog_frame *out);

#endif
