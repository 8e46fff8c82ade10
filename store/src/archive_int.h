/*
 * store/src/archive_int.h - the on-disk encoding of frames and indexes, as
 * pure functions over byte buffers (no I/O), shared by archive*.c, the
 * tests and the fuzz target. formats/archive.md is the specification;
 * every number here is written there too.
 */
#ifndef CD_ARCHIVE_INT_H
#define CD_ARCHIVE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <store/archive.h>
#include <store/buf.h> /* le_get16/32/64, le_put16/32/64 */

#define ARCH_FRAME_MAGIC 0x46414c43u /* "CLAF" as a little-endian u32 */
#define ARCH_INDEX_MAGIC 0x49414c43u /* "CLAI" */
#define ARCH_VERSION 1u
#define ARCH_HDR_BYTES 64u	    /* frame header and index header */
#define ARCH_IDX_FRAME_BYTES 40u    /* one row of the index's frame table */
#define ARCH_IDX_BLOCK_BYTES 16u    /* one row of the block table */
#define ARCH_IDX_ENTRY_BYTES 12u    /* one (hash, frame) entry */
#define ARCH_IDX_BLOCK 256u	    /* entries per checksummed block (3 KiB) */
#define ARCH_IDX_F_SVC_PARTIAL 0x1u /* index flag: the service list is incomplete */
/*
 * Frame flag: the mini-index's service list is incomplete (a name cut to
 * CD_ARCH_SERVICE_LEN_MAX, or services past CD_ARCH_FRAME_SERVICES_MAX left
 * out). The payload still holds every record whole; an index built from
 * such a frame is flagged ARCH_IDX_F_SVC_PARTIAL.
 */
#define ARCH_FRAME_F_SVC_PARTIAL 0x1u

/* A frame header, decoded. */
struct arch__frame_hdr {
	uint64_t seq;	    /* caller's chunk sequence number */
	int64_t min_ts;	    /* earliest record, ns */
	int64_t max_ts;	    /* latest record, ns */
	uint32_t nrecords;  /* records in the payload */
	uint32_t raw_len;   /* payload bytes before compression */
	uint32_t zlen;	    /* compressed payload bytes */
	uint32_t meta_len;  /* mini-index bytes (between header and payload) */
	uint64_t body_hash; /* XXH64 of the mini-index and the compressed payload */
	uint16_t flags;	    /* ARCH_FRAME_F_* */
};

/* A frame's mini-index, decoded: views into the frame. */
struct arch__frame_meta {
	uint32_t ntraces;	 /* sorted distinct u64 trace hashes at @traces */
	uint32_t nservices;	 /* (u16 length, bytes) entries at @services */
	const uint8_t *traces;	 /* ntraces * 8 bytes, little-endian */
	const uint8_t *services; /* services_len bytes */
	uint32_t services_len;	 /* bytes at @services */
};

/* One frame of a segment, as an index lists it. */
struct arch__frame_ent {
	uint64_t off;	   /* byte offset of the frame in the data file */
	uint64_t seq;	   /* from the header */
	int64_t min_ts;	   /* from the header */
	int64_t max_ts;	   /* from the header */
	uint32_t nrecords; /* from the header */
	uint32_t len;	   /* whole frame: header + mini-index + payload */
};

/* One entry of the trace table. */
struct arch__entry {
	uint64_t hash;	/* arch_hash() of a trace ID */
	uint32_t frame; /* index into the frame table */
};

/*
 * The in-memory index of one segment while it is written (or rebuilt):
 * entries are appended in frame order and sorted only when encoded.
 */
struct arch__build {
	struct arch__frame_ent *frames; /* nframes, in file order */
	uint32_t nframes, frames_cap;	/* used, allocated */
	struct arch__entry *entries;	/* nentries, unsorted (frame order) */
	size_t nentries, entries_cap;	/* used, allocated */
	uint8_t *svc;			/* services as (u16 len, bytes), first-seen order */
	size_t svc_len, svc_cap;	/* bytes used, allocated */
	uint32_t nsvc;			/* services in @svc */
	uint64_t *svc_set;		/* open-addressing set of service hashes (0 = empty) */
	bool svc_partial;		/* a service was dropped at CD_ARCH_SEG_SERVICES_MAX */
	int64_t min_ts, max_ts;		/* over all frames (INT64_MAX/INT64_MIN when empty) */
	uint64_t data_bytes;		/* data file bytes the index describes */
};

/* A parsed index: views into the caller's bytes (an mmap or a buffer). */
struct arch__index {
	uint16_t flags;		 /* ARCH_IDX_F_* */
	uint64_t data_bytes;	 /* size of the data file it describes */
	int64_t min_ts, max_ts;	 /* over all frames */
	uint32_t nframes;	 /* rows at @frames */
	uint32_t nentries;	 /* entries at @entries */
	uint32_t nblocks;	 /* rows at @blocks: ceil(nentries / ARCH_IDX_BLOCK) */
	uint32_t nservices;	 /* entries at @services */
	uint32_t services_bytes; /* bytes at @services */
	const uint8_t *frames;	 /* frame table */
	const uint8_t *blocks;	 /* block table: (first hash, XXH64 of the block) */
	const uint8_t *services; /* (u16 len, bytes) ... */
	const uint8_t *entries;	 /* (u64 hash, u32 frame) ..., sorted */
};

/* XXH64 (seed 0); arch_hash() is this. */
uint64_t arch__xxh64(const void *p, size_t n, uint64_t seed);

/* XXH64 (seed 0) of bytes given in pieces: the same value as arch__xxh64() of them all. */
struct arch__xxh64_state {
	uint64_t v[4];	 /* the four lanes */
	uint64_t total;	 /* bytes so far */
	uint8_t buf[32]; /* a stripe not yet taken */
	size_t nbuf;
};
void arch__xxh64_init(struct arch__xxh64_state *st);
void arch__xxh64_update(struct arch__xxh64_state *st, const void *p, size_t n);
uint64_t arch__xxh64_final(const struct arch__xxh64_state *st);

/* Encode @h as a 64-byte frame header (head hash included) at @out. */
void arch__frame_hdr_encode(uint8_t *out, const struct arch__frame_hdr *h);

/*
 * arch__frame_hdr_decode() - decode the 64 bytes at @p.
 * @verify: check the header hash (false only for the fuzz target).
 * Return: 0, or -CD_ECORRUPT (magic, version, hash, or a length past the
 * caps of store/limits.h).
 */
int arch__frame_hdr_decode(const uint8_t *p, bool verify, struct arch__frame_hdr *h);

/*
 * arch__frame_check() - decode and check a whole frame at @p (@avail bytes
 * readable): header, that it fits, the body hash (if @verify) and the
 * mini-index. @m views into @p.
 * Return: 0, -CD_ECORRUPT, or -CD_ENOENT when the header is valid but the
 * frame runs past @avail (a torn frame when @avail is the end of file).
 */
int arch__frame_check(const uint8_t *p, size_t avail, bool verify, struct arch__frame_hdr *h,
		      struct arch__frame_meta *m);

/*
 * arch__frame_meta_decode() - check and view the @len-byte mini-index at @p
 * (no hash: the frame's body hash covers it). Return: 0 or -CD_ECORRUPT.
 */
int arch__frame_meta_decode(const uint8_t *p, uint32_t len, struct arch__frame_meta *m);

/* Bytes of the mini-index for these counts (see arch__frame_meta). */
size_t arch__frame_meta_size(uint32_t ntraces, const struct arch_key *svc, size_t nsvc);

void arch__build_init(struct arch__build *b);
void arch__build_release(struct arch__build *b);
/* arch__build_clear() - release + init. */
void arch__build_clear(struct arch__build *b);

/*
 * arch__build_add() - add the frame at @off (header @h, mini-index @m) to
 * the index under construction. Return: 0 or -CD_ENOMEM (@b unchanged).
 */
int arch__build_add(struct arch__build *b, uint64_t off, const struct arch__frame_hdr *h,
		    const struct arch__frame_meta *m);

/*
 * arch__build_encode() - sort the entries and write the index file bytes.
 * @out: set to a malloc'd buffer of *@len bytes the caller must free().
 * Return: 0, -CD_ENOMEM, -CD_ELIMIT (more than UINT32_MAX entries).
 */
int arch__build_encode(struct arch__build *b, uint8_t **out, size_t *len);

/*
 * arch__index_parse() - check index file bytes and set up views into them.
 * @verify: check the hashes of the header and of the tables (false only for
 * the fuzz target); entry blocks are verified when a lookup reads them.
 * Return: 0 or -CD_ECORRUPT; nothing is read outside [p, p + len).
 */
int arch__index_parse(const uint8_t *p, size_t len, bool verify, struct arch__index *ix);

/* The @i-th frame (< ix->nframes) of a parsed index. */
void arch__index_frame(const struct arch__index *ix, uint32_t i, struct arch__frame_ent *f);

/*
 * arch__index_lookup() - call @fn for each frame number the index lists for
 * @hash, ascending. Entry blocks read are verified when @verify.
 * Return: 0, -CD_ECORRUPT (a block failed its hash or names a frame past
 * the table), or a non-zero value of @fn.
 */
int arch__index_lookup(const struct arch__index *ix, uint64_t hash, bool verify,
		       int (*fn)(void *ctx, uint32_t frame), void *ctx);

#endif
