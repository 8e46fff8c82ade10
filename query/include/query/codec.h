/*
 * query/codec.h - a summary as bytes and back: what the archive writes
 * beside each segment (formats/archive.md, "Summary file") so a search
 * reads summaries, not records. Pure functions over buffers, no I/O.
 */
#ifndef QUERY_CODEC_H
#define QUERY_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "query/summary.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A growing output buffer (malloc'd bytes). */
struct qy_bytes {
	uint8_t *p;
	size_t len, cap;
};

/*
 * qy_summary_encode() - append @s (made with @nkeys summary keys) to @b.
 * The text_hits of a --text filter are not encoded (a reader runs its own).
 * Return: 0 or -QY_ENOMEM.
 */
int qy_summary_encode(const struct qy_summary *s, size_t nkeys, struct qy_bytes *b);

/*
 * qy_summary_decode() - decode one summary from p[0, len) into @s (which
 * the caller releases, also on failure), using *@used bytes. @keymap maps
 * each of the @nfilekeys encoded keys to a key index of the reader's
 * @nkeys, or -1 to drop its values.
 * Return: 0, -QY_EINVAL (malformed bytes), -QY_ENOMEM.
 */
int qy_summary_decode(const uint8_t *p, size_t len, size_t *used, const int *keymap, size_t nfilekeys,
		      size_t nkeys, struct qy_summary *s);

#ifdef __cplusplus
}
#endif

#endif
