/*
 * store/archive.h - the archive: clewd's embedded default output, and the
 * store tracegrep searches (formats/archive.md is the on-disk format).
 *
 * An archive is a directory of segments. A segment is an append-only data
 * file of frames (one frame = one chunk: a checksummed header, a small
 * uncompressed mini-index of the chunk's trace IDs and services, and the
 * zstd-compressed payload) plus, once sealed, an index file: min/max time,
 * the services, a frame table, and a sorted table of (hash of trace ID ->
 * frame) in checksummed blocks. A lookup binary-searches each segment's
 * index and decompresses only the frames listed there.
 *
 * Payloads are opaque bytes: the caller (the chunk stage) encodes records
 * and tells the archive what a chunk holds (struct arch_chunk_meta).
 *
 * Not thread-safe: one handle per thread. Any number of read-only handles
 * (tracegrep) may be open while one writer (clewd) appends; a second
 * writer on the same directory gets -CD_EAGAIN.
 */
#ifndef CD_ARCHIVE_H
#define CD_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <store/err.h>

typedef struct arch arch; /* opaque handle: arch_open() / arch_close() */
struct qy_keys;		  /* query/summary.h */

/* A byte string the caller owns (a trace ID, a service name). */
struct arch_key {
	const char *ptr; /* bytes; need not be NUL-terminated */
	uint32_t len;	 /* length in bytes */
};

/*
 * What a chunk holds, as the caller knows it. On append: read during the
 * call only (copied into the frame). In callbacks: traces and services are
 * not returned (NULL, 0) — the frame stores only their hashes.
 */
struct arch_chunk_meta {
	uint64_t seq;			 /* the caller's chunk sequence number */
	int64_t min_ts_ns, max_ts_ns;	 /* time span of the records (ns since the epoch) */
	uint32_t nrecords;		 /* records in the payload */
	const struct arch_key *traces;	 /* distinct trace IDs (duplicates are tolerated) */
	size_t ntraces;			 /* <= CD_ARCH_FRAME_TRACES_MAX */
	const struct arch_key *services; /* distinct services (duplicates are tolerated) */
	size_t nservices;		 /* <= CD_ARCH_FRAME_SERVICES_MAX */
	/* On append, optional: the payload's transaction summaries, made by the caller from
	   the records it packed (chunk_summaries_ref()): qy_summary_encode()'s layout back to
	   back, nsums of them, made with sum_keys. The archive writes them as they are when
	   sum_keys equal its own (else, or when sum_keys is NULL, it decodes the payload to
	   summarise it). Not returned in callbacks. */
	const uint8_t *sums;
	size_t sums_len;
	uint32_t nsums;
	const struct qy_keys *sum_keys;
};

/* One chunk to append. */
struct arch_chunk {
	const void *payload;		    /* opaque bytes, copied (compressed) into the frame */
	size_t len;			    /* 1 .. CD_ARCH_PAYLOAD_MAX */
	const struct arch_chunk_meta *meta; /* see above */
};

struct arch_options {
	uint64_t segment_bytes; /* rotate past this size; 0 = CD_SEGMENT_BYTES */
	uint64_t max_bytes;	/* retention: total bytes of all segments; 0 = no limit */
	int64_t max_age_ns;	/* retention: age of a segment's last write; 0 = no limit */
	int zstd_level;		/* 0 = CD_ARCH_ZSTD_LEVEL */
	bool read_only;		/* tracegrep: never writes, truncates or locks */
	bool no_sync;		/* benchmarks only: skip fsync (appends are then not durable) */
	bool summaries;		/* write each segment's transaction summaries (NNNN.sum) at seal:
				   tracegrep --find and clewd's API read them instead of the frames;
				   costs 19-33 % of the write path today (BENCHMARKS.md), so opt-in */
	/* the attributes whose values the summaries keep (not copied: must outlive the
	   archive); NULL: qy_keys_defaults() */
	const struct qy_keys *summary_keys;
	void (*on_diag)(void *cookie, const char *msg); /* torn tails, corrupt frames, rebuilt
							   indexes; may be NULL */
	void *cookie;					/* passed to on_diag */
	uint8_t reserved[32];				/* must be zero */
};

/* Counters of one arch_find()/arch_scan() call. */
struct arch_find_stats {
	uint32_t segments;	 /* segments in the archive */
	uint32_t examined;	 /* segments whose index was consulted (time range overlapped) */
	uint32_t opened;	 /* segments whose data file was read (a candidate frame) */
	uint32_t frames_read;	 /* frames read and decompressed */
	uint32_t frames_corrupt; /* frames that failed their checksum or zstd (skipped) */
	uint32_t rebuilt;	 /* indexes rebuilt from the data file during the call */
};

/* The archive as a whole (arch_stats()). */
struct arch_stats {
	uint32_t segments;	   /* segment files, the open one included */
	uint64_t bytes;		   /* data + index + summary bytes on disk */
	uint64_t frames_appended;  /* by this handle */
	uint64_t bytes_appended;   /* compressed frame bytes, by this handle */
	uint64_t max_seq;	   /* highest seq appended by this handle or found in the unsealed
				      segment at open (0 when the newest segment was sealed) */
	uint64_t torn_cut;	   /* torn last frames cut at open (read-only: ignored) */
	uint64_t torn_bytes;	   /* bytes cut with them */
	uint64_t frames_corrupt;   /* corrupt frames seen and skipped */
	uint64_t indexes_rebuilt;  /* index files rebuilt (missing, corrupt or stale) */
	uint64_t segments_deleted; /* by retention */
};

/*
 * Called for every frame a lookup or scan returns. @payload (@len bytes,
 * decompressed) and @meta are valid during the call only.
 * Return: 0 to go on; anything else stops the walk and is returned by it.
 */
typedef int (*arch_cb)(void *cookie, const void *payload, size_t len, const struct arch_chunk_meta *meta);

/*
 * Called once per service per segment by arch_services(): @name (@len
 * bytes, not NUL-terminated) valid during the call only. Return: 0 to go
 * on; anything else stops the walk and is returned by it.
 */
typedef int (*arch_service_cb)(void *cookie, const char *name, size_t len);

/*
 * arch_services() - the services every segment names, from the segments'
 * indexes only (the open segment's in memory): @cb per service per
 * segment (a name may come again from another segment). *@partial (may be
 * NULL) is set when some segment's list is incomplete (a chunk past
 * CD_ARCH_FRAME_SERVICES_MAX services, a segment past
 * CD_ARCH_SEG_SERVICES_MAX). Return: 0, what @cb returned, or a negative
 * error (@err says why).
 */
int arch_services(arch *a, arch_service_cb cb, void *cookie, bool *partial, struct cd_err *err);

/* Fill @opt with the defaults (all zero: no retention, read-write). */
void arch_options_default(struct arch_options *opt);

/*
 * arch_open() - open (and, unless read-only, create) the archive at @dir.
 * Lists the segments; the newest one without an index is recovered (a torn
 * last frame is cut, counted and reported through on_diag) and appended to.
 * Indexes of sealed segments are read lazily, on the first lookup.
 * @out: set on success; untouched on failure. @opt: copied; NULL = defaults.
 * Return: 0, -CD_EINVAL, -CD_ENOMEM, -CD_EIO, -CD_ENOENT (read-only and no
 * such directory), -CD_EAGAIN (another writer holds the directory),
 * -CD_ELIMIT (more than CD_ARCH_SEGMENTS_MAX segments).
 */
int arch_open(arch **out, const char *dir, const struct arch_options *opt, struct cd_err *err);

/*
 * arch_close() - seal the open segment (write its index) and free @a.
 * NULL is a no-op. @a is freed even when sealing fails (the index is then
 * rebuilt on the next open).
 * Return: 0, or -CD_EIO when the index could not be written.
 */
int arch_close(arch *a, struct cd_err *err);

/*
 * arch_appendv() - append @n chunks as frames, then fsync: when it returns
 * 0 every one of them is durable (this is the archive's acknowledgement).
 * Rotates to a new segment past segment_bytes (sealing the old one) and
 * then applies retention (whose failures are only reported by on_diag).
 * On failure nothing is acknowledged: frames of the call written before
 * the failing one may remain (the caller re-sends; at-least-once delivery
 * allows the duplicates), and the data file never keeps a partial frame.
 * Return: 0, -CD_EINVAL (read-only handle, bad chunk), -CD_ELIMIT (a cap of
 * store/limits.h), -CD_ENOMEM, -CD_EIO.
 */
int arch_appendv(arch *a, const struct arch_chunk *chunks, size_t n, struct cd_err *err);

/* arch_append() - arch_appendv() of one chunk. */
int arch_append(arch *a, const void *payload, size_t len, const struct arch_chunk_meta *meta,
		struct cd_err *err);

/*
 * arch_find() - call @cb for every frame that may hold trace ID @trace
 * (@len bytes, hashed as given) and whose time span meets
 * [@since_ns, @until_ns] (INT64_MIN / INT64_MAX for no bound), oldest
 * first. Exact up to 64-bit hash collisions: the caller re-checks records.
 * Only segments whose index lists the hash are opened; only listed frames
 * are decompressed. Corrupt frames are skipped, counted and reported.
 * @st: may be NULL; filled (zeroed first) on success and failure.
 * Return: 0, a non-zero value of @cb, or -CD_ENOMEM / -CD_EIO / -CD_EINVAL.
 */
int arch_find(arch *a, const void *trace, size_t len, int64_t since_ns, int64_t until_ns, arch_cb cb,
	      void *cookie, struct arch_find_stats *st, struct cd_err *err);

/*
 * arch_scan() - like arch_find() for every frame in [@since_ns, @until_ns],
 * oldest first (re-export, tests).
 */
int arch_scan(arch *a, int64_t since_ns, int64_t until_ns, arch_cb cb, void *cookie,
	      struct arch_find_stats *st, struct cd_err *err);

/*
 * arch_retain() - delete whole sealed segments, oldest first, while the
 * archive exceeds max_bytes or while the oldest one's last write is more
 * than max_age_ns before @now_ns. Never the open segment.
 * @deleted: may be NULL; set to the number of segments deleted.
 * Return: 0, -CD_EINVAL (read-only), -CD_EIO.
 */
int arch_retain(arch *a, int64_t now_ns, uint32_t *deleted, struct cd_err *err);

/* arch_stats() - counters and sizes; never fails. */
void arch_stats(const arch *a, struct arch_stats *st);

/*
 * arch_hash() - the 64-bit hash the indexes store for a trace ID: XXH64
 * with seed 0 of the bytes as given.
 */
uint64_t arch_hash(const void *p, size_t n);

#endif
