/*
 * fmt/limits.h - every cap of the formats library, with the reason for its value.
 *
 * The parsers fill a caller-owned struct fmt_record without allocating, so
 * the record holds fixed arrays; these caps size them. Each may be raised at
 * build time (-DFMT_ATTRS_MAX=...), within the bounds the asserts give.
 */
#ifndef FMT_LIMITS_H
#define FMT_LIMITS_H

#include <stdint.h>

/*
 * Deepest NDC path (`R:S1:...:Sn`) a record may carry. Real call trees are
 * a handful of levels deep; 32 leaves room for recursion-heavy services
 * while keeping struct fmt_record small enough for the stack.
 */
#ifndef FMT_IDS_MAX
#define FMT_IDS_MAX 32
#endif

/*
 * Most key/value attributes kept per record. A line with more still
 * parses: the first FMT_ATTRS_MAX are kept and the record is flagged
 * FMT_F_ATTRS_TRUNCATED, so the caller can keep the raw line as well.
 */
#ifndef FMT_ATTRS_MAX
#define FMT_ATTRS_MAX 64
#endif

/*
 * Deepest nesting of JSON arrays/objects accepted. The scanner is
 * iterative (no recursion, so no stack overflow at any depth); the cap
 * exists so that a hostile line gets a clear error instead of being
 * walked 100000 levels deep. Log lines nest a few levels at most.
 */
#ifndef FMT_JSON_DEPTH_MAX
#define FMT_JSON_DEPTH_MAX 128
#endif

/*
 * Longest JSON number token accepted, in bytes. RFC 8259 sets no limit,
 * but a 100-digit number in a log line is garbage or an attack; it is
 * rejected with "number too long" rather than carried around.
 */
#ifndef FMT_JSON_NUMBER_MAX
#define FMT_JSON_NUMBER_MAX 100
#endif

/* Longest line a parser accepts: views carry 32-bit lengths. */
#define FMT_LINE_MAX ((size_t)UINT32_MAX)

/* Bytes needed to format a timestamp: "YYYY-MM-DDThh:mm:ss.fffffffffZ" + NUL. */
#define FMT_TS_MAX 32

_Static_assert(FMT_IDS_MAX >= 2 && FMT_IDS_MAX <= UINT16_MAX, "FMT_IDS_MAX must fit uint16_t");
_Static_assert(FMT_ATTRS_MAX >= 8 && FMT_ATTRS_MAX <= UINT16_MAX, "FMT_ATTRS_MAX must fit uint16_t");
_Static_assert(FMT_JSON_DEPTH_MAX >= 8 && FMT_JSON_DEPTH_MAX <= 1024, "FMT_JSON_DEPTH_MAX out of range");

#endif
