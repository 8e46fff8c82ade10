/*
 * store/src/archive_dir.h - the state of an open archive directory (struct
 * arch, struct seg) and the helpers its files share: archive.c (opening,
 * recovery), archive_index.c, archive_write.c and archive_read.c.
 * Private to the store library.
 */
#ifndef STORE_ARCHIVE_DIR_H
#define STORE_ARCHIVE_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zstd.h>

#include "archive_int.h"
#include <store/buf.h>

/* One segment. */
struct seg {
	uint64_t id;	       /* from the file name; order of age */
	uint64_t data_bytes;   /* size of the data file */
	uint64_t idx_bytes;    /* size of the index file; 0 when none */
	uint64_t sum_bytes;    /* size of the summary file; 0 when none */
	int64_t mtime_ns;      /* last write of the data file (retention by age) */
	bool has_idx;	       /* an index file exists (sealed) */
	bool ix_loaded;	       /* @ix is valid */
	bool ix_mapped;	       /* @ix_buf is an mmap (else malloc'd) */
	uint8_t *ix_buf;       /* bytes @ix views into */
	size_t ix_len;	       /* bytes at @ix_buf */
	struct arch__index ix; /* parsed index (sealed segments) */
};

struct arch {
	char *dir;		 /* path, for messages */
	int dirfd;		 /* the directory */
	int lockfd;		 /* DIR/LOCK, flock'ed by the writer; -1 when read-only */
	struct arch_options opt; /* copy, defaults applied */
	struct seg *segs;	 /* ascending id */
	size_t nsegs, segs_cap;	 /* used, allocated */
	bool have_open;		 /* segs[nsegs - 1] is the unsealed segment, indexed in @ob */
	int open_fd;		 /* writer: the open segment, O_RDWR; else -1 */
	struct arch__build ob;	 /* in-memory index of the open segment */
	ZSTD_CCtx *zc;		 /* writer only */
	ZSTD_DCtx *zd;		 /* decompression, reused */
	struct buf rbuf;	 /* one frame read from disk */
	struct buf dbuf;	 /* one decompressed payload */
	struct buf wbuf;	 /* one frame being written */
	uint64_t *hbuf;		 /* trace hashes of the chunk being appended */
	size_t hcap;		 /* allocated at hbuf */
	struct arch_stats st;	 /* counters (sizes are computed by arch_stats) */
	struct arch__sum *sum;	 /* writer: summaries of the open segment (archive_summary.c) */
};

/* arch__diag() - report @fmt to the caller's on_diag, if any. */
void arch__diag(arch *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* arch__seg_name() - "NNNNNNNNNNNNNNNN.@ext" of segment @id into @buf. */
void arch__seg_name(char *buf, size_t cap, uint64_t id, const char *ext);

/* arch__seg_unload() - drop @s's index from memory (it is loaded again when needed). */
void arch__seg_unload(struct seg *s);

/* arch__push_seg() - append segment @id to the table (ids ascend). Return: 0 or -CD_ENOMEM. */
int arch__push_seg(arch *a, uint64_t id, struct cd_err *err);

/* arch__free() - release everything of @a (no seal, no flush). */
void arch__free(arch *a);

/* --- archive_index.c --- */

/*
 * arch__seg_scan() - scan data file @fd (@size bytes) of segment @id into
 * @b; see archive_index.c.
 */
int arch__seg_scan(arch *a, uint64_t id, int fd, uint64_t size, bool full, struct arch__build *b,
		   uint64_t *good_end, uint32_t *corrupt);

/* arch__write_index() - write @buf as the index of segment @id, atomically. */
int arch__write_index(arch *a, uint64_t id, const uint8_t *buf, size_t len, struct cd_err *err);

/* arch__seg_adopt_index() - make @buf (@len bytes, malloc'd, just encoded) @s's loaded index. */
void arch__seg_adopt_index(struct seg *s, uint8_t *buf, size_t len);

/* arch__seg_rebuild() - rebuild the index of sealed segment @s from its data file. */
int arch__seg_rebuild(arch *a, struct seg *s, struct cd_err *err);

/* arch__seg_load() - make @s->ix usable: map the index file, or rebuild it. */
int arch__seg_load(arch *a, struct seg *s, bool *rebuilt, struct cd_err *err);

/* --- archive_read.c --- */

/* arch__walk_segment() - arch_scan() of every frame of segment @i alone (no time window). */
int arch__walk_segment(arch *a, size_t i, arch_cb cb, void *cookie, struct cd_err *err);

/* --- archive_summary.c: the writer's summaries --- */

/* arch__sum_start() - segment @seg starts empty: summarise its frames from now on. */
void arch__sum_start(arch *a, uint64_t seg);
/*
 * arch__sum_frame() - summarise the records of a payload appended to
 * segment @seg: the summaries @meta carries, else from the payload.
 */
void arch__sum_frame(arch *a, uint64_t seg, const void *payload, size_t len,
		     const struct arch_chunk_meta *meta);
/* arch__sum_seal() - segment @seg is sealed: write its summary file (failures: on_diag only). Return: its bytes, or 0. */
uint64_t arch__sum_seal(arch *a, uint64_t seg, uint64_t data_bytes, int64_t min_ts, int64_t max_ts);
void arch__sum_free(arch *a);

#endif
