/*
 * store/limits.h - the caps of the store library (the chunk codec and the
 * archive), each with the reason for its value. clewd's other caps are in
 * collector/cd_limits.h, which includes this one. Each can be overridden at
 * build time (-DCD_...=N).
 */
#ifndef STORE_LIMITS_H
#define STORE_LIMITS_H

#include <stdint.h>

/* --- chunk codec (store/src/chunk.c, record_codec.c) ------------------- */

/*
 * Largest chunk payload (msgpack bytes of its records). A chunk is the unit
 * of delivery, acknowledgement and spooling: big enough to amortise a
 * write()+fsync() or a Kafka batch, small enough that one slow output holds
 * little memory per chunk.
 */
#ifndef CD_CHUNK_BYTES_MAX
#define CD_CHUNK_BYTES_MAX (2u * 1024 * 1024)
#endif

/* Most records per chunk: bounds the per-chunk index (trace IDs) too. */
#ifndef CD_CHUNK_RECORDS_MAX
#define CD_CHUNK_RECORDS_MAX 16384u
#endif

/*
 * Largest encoded summaries a chunk brings to the archive (chunk_take_summaries()):
 * about a quarter of the payload on the bench corpora, but a summary copies its
 * transaction's strings, so records each of their own transaction can make more
 * than the payload. Past it the chunk brings none and the archive summarises its
 * payload itself: the queued chunks' memory stays within twice their payloads.
 */
#ifndef CD_CHUNK_SUMS_BYTES_MAX
#define CD_CHUNK_SUMS_BYTES_MAX CD_CHUNK_BYTES_MAX
#endif

/*
 * Oldest a chunk may get before it is sealed and sent, in milliseconds: the
 * latency a quiet input adds. One second matches what people expect of
 * `tail -f`-like tools and keeps an fsync per second at the floor.
 */
#ifndef CD_CHUNK_AGE_MS
#define CD_CHUNK_AGE_MS 1000u
#endif

/*
 * Most distinct inputs whose positions one chunk carries. A chunk past it
 * is sealed (chunk_append() says -CD_EFULL); 64 keeps the per-chunk source
 * list a linear scan and the spool header small.
 */
#ifndef CD_CHUNK_SOURCES_MAX
#define CD_CHUNK_SOURCES_MAX 64u
#endif

_Static_assert(CD_CHUNK_RECORDS_MAX >= 1 && CD_CHUNK_RECORDS_MAX <= (1u << 24),
	       "CD_CHUNK_RECORDS_MAX must be positive and keep the trace set's 32-bit indexes small");
_Static_assert(CD_CHUNK_SOURCES_MAX >= 1 && CD_CHUNK_SOURCES_MAX <= 4096,
	       "CD_CHUNK_SOURCES_MAX out of range");
_Static_assert(CD_CHUNK_SUMS_BYTES_MAX >= 4096 && CD_CHUNK_SUMS_BYTES_MAX <= UINT32_MAX / 2,
	       "CD_CHUNK_SUMS_BYTES_MAX out of range");

/* --- archive (store/src/archive*.c) -------------------------------------- */

/*
 * Target size of one archive segment file before a new one is started.
 * Retention works by whole segments, so this is also its granularity.
 */
#ifndef CD_SEGMENT_BYTES
#define CD_SEGMENT_BYTES (64u * 1024 * 1024)
#endif

/*
 * Largest uncompressed payload of one archive frame (one chunk). Read back
 * from disk it sizes the decompression buffer, so an untrusted length
 * field can never ask for more. Well above any chunk the pipeline builds.
 */
#ifndef CD_ARCH_PAYLOAD_MAX
#define CD_ARCH_PAYLOAD_MAX (64u * 1024 * 1024)
#endif

/*
 * Most distinct trace IDs and services one frame's mini-index may list.
 * A chunk holds one trace per record at most, so the trace cap is above
 * anything a chunk holds (asserted below); a caller with more gets
 * -CD_ELIMIT rather than an index that lies. Services are content (one a
 * record): past their cap the frame lists the first ones and is flagged
 * (formats/archive.md), the chunk is never refused.
 */
#ifndef CD_ARCH_FRAME_TRACES_MAX
#define CD_ARCH_FRAME_TRACES_MAX 65536u
#endif
#ifndef CD_ARCH_FRAME_SERVICES_MAX
#define CD_ARCH_FRAME_SERVICES_MAX 1024u
#endif

/* Longest service name kept in an index (u16 length on disk); a longer one is cut there and the
 * frame flagged; the record keeps it whole. */
#ifndef CD_ARCH_SERVICE_LEN_MAX
#define CD_ARCH_SERVICE_LEN_MAX 1024u
#endif

/*
 * Most distinct services a segment index lists. Past it the index is
 * flagged "services incomplete" (readers then never rule a segment out by
 * service): one noisy host cannot bloat every index.
 */
#ifndef CD_ARCH_SEG_SERVICES_MAX
#define CD_ARCH_SEG_SERVICES_MAX 4096u
#endif

/*
 * Largest index file read (untrusted bytes): a 64 MiB segment of tiny
 * frames, each with the maximum trace list, stays far below it.
 */
#ifndef CD_ARCH_INDEX_BYTES_MAX
#define CD_ARCH_INDEX_BYTES_MAX (256u * 1024 * 1024)
#endif

/*
 * Most segment files one archive directory may hold: bounds the in-memory
 * segment table (~100 B each) whatever lies in the directory. At the
 * default segment size this is 64 TiB of compressed data.
 */
#ifndef CD_ARCH_SEGMENTS_MAX
#define CD_ARCH_SEGMENTS_MAX (1u << 20)
#endif

/* zstd level of archive frames: 1 is ~4x on log text at >300 MB/s a core. */
#ifndef CD_ARCH_ZSTD_LEVEL
#define CD_ARCH_ZSTD_LEVEL 1
#endif

_Static_assert(CD_SEGMENT_BYTES >= 64 * 1024, "a segment must hold more than a few frames");
_Static_assert(CD_ARCH_PAYLOAD_MAX <= UINT32_MAX / 2, "frame lengths are u32 on disk");
_Static_assert(CD_ARCH_FRAME_TRACES_MAX <= UINT32_MAX / 16 && CD_ARCH_SERVICE_LEN_MAX <= UINT16_MAX,
	       "frame mini-index counts and lengths must fit their on-disk fields");

_Static_assert(CD_CHUNK_BYTES_MAX >= 64 * 1024 && CD_CHUNK_BYTES_MAX <= UINT32_MAX / 2,
	       "CD_CHUNK_BYTES_MAX must fit a 32-bit length with room to spare");
_Static_assert(CD_SEGMENT_BYTES >= CD_CHUNK_BYTES_MAX, "a segment must hold at least one chunk");
_Static_assert(CD_CHUNK_RECORDS_MAX <= CD_ARCH_FRAME_TRACES_MAX,
	       "a chunk's distinct traces (one a record at most) must fit a frame's mini-index");

#endif
