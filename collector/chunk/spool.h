/*
 * chunk/spool.h - durable overflow of chunks on disk (format in
 * formats/chunk.md).
 *
 * A directory of chunk files, one per chunk, named by sequence number.
 * spool_push() makes a chunk durable (written to a temp name, fsync'd,
 * renamed, directory fsync'd: after it returns 0 the chunk survives a
 * crash or power loss); spool_load() reads one back; spool_remove() drops
 * it once every output has acknowledged it. A file that fails its checksum
 * or its format is copied to corrupt/ inside the directory, counted and
 * reported (on_corrupt); the records before the damage are salvaged and
 * loaded as its chunk (the file stays listed until that chunk is
 * delivered); a file with none is removed. Never silently ignored, never
 * a crash.
 * Not thread-safe: a spool belongs to the pipeline thread.
 */
#ifndef CD_CHUNK_SPOOL_H
#define CD_CHUNK_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <store/chunk.h>
#include <store/err.h>

struct spool;

struct spool_options {
	const char *dir;      /* the spool directory; created (one level) if missing; copied */
	uint64_t limit_bytes; /* bytes of all chunk files; 0 = CD_SPOOL_BYTES_DEFAULT */
	int zstd_level;	      /* 0 = 1 (fast: the spool is written under pressure) */
	bool no_fsync;	      /* skip fsync (benchmarks and tests of other things only) */
	/*
	 * Called for every corrupt chunk file, at open or at load (may be
	 * NULL): @file its path, @why the reason, @recovered the records
	 * salvaged from it (delivered as its chunk), @lost the records its
	 * header counts beyond those (0 when the header is unreadable).
	 */
	void (*on_corrupt)(void *cookie, const char *file, const char *why, uint64_t recovered,
			   uint64_t lost);
	void *cookie; /* passed to on_corrupt */
};

/* spool_options_default() - the defaults above, with @dir. */
void spool_options_default(struct spool_options *opt, const char *dir);

/*
 * spool_open() - open (creating) the spool at opt->dir and check every
 * chunk file in it: each is read and its checksum and header verified;
 * bad ones are moved to corrupt/ (spool_corrupt_count() says how many).
 * Temp files left by a crash mid-write (never renamed, so never pushed)
 * are deleted.
 * @out: set on success; untouched on failure.
 * Return: 0, -CD_EINVAL, -CD_ENOMEM or -CD_EIO (@err says which file).
 */
int spool_open(struct spool **out, const struct spool_options *opt, struct cd_err *err);

/* spool_free() - close @sp (files stay on disk); NULL is a no-op. */
void spool_free(struct spool *sp);

/*
 * spool_push() - write @c durably as a chunk file. @c is not changed.
 * Return: 0; -CD_EFULL when the file would take the spool past its limit
 * (nothing written; backpressure), or the disk is full (ENOSPC/EDQUOT,
 * errno in @err); -CD_EIO for other failures; -CD_EINVAL when a file of
 * that sequence number exists; -CD_ENOMEM. On failure no file of @c is
 * left behind.
 */
int spool_push(struct spool *sp, const struct chunk *c, struct cd_err *err);

/*
 * spool_count()/spool_seq_at() - the listed chunk files by ascending
 * sequence number (replay order); @i < spool_count().
 */
size_t spool_count(const struct spool *sp);
uint64_t spool_seq_at(const struct spool *sp, size_t i);

/*
 * spool_load() - read chunk @seq back into a new chunk (caller frees it
 * with chunk_free()), with its index and input positions. A corrupt file
 * gives the records that still decode before the damage (reported).
 * Return: 0; -CD_ENOENT (no such file); -CD_ECORRUPT (nothing could be
 * salvaged: the file is in corrupt/, counted, and no longer listed);
 * -CD_EIO; -CD_ENOMEM.
 */
int spool_load(struct spool *sp, uint64_t seq, struct chunk **out, struct cd_err *err);

/*
 * spool_remove() - delete chunk @seq (acknowledged by every output).
 * Return: 0, -CD_ENOENT, -CD_EIO.
 */
int spool_remove(struct spool *sp, uint64_t seq, struct cd_err *err);

uint64_t spool_bytes(const struct spool *sp);	      /* bytes of the listed chunk files */
uint64_t spool_corrupt_count(const struct spool *sp); /* corrupt files found since open */
uint64_t spool_lost_count(const struct spool *sp);    /* records lost with them (header counts) */

/*
 * spool_decode() - decode the bytes of one chunk file (untrusted) into a
 * new chunk: checksum, header, metadata, payload and every record checked.
 * Return: 0 with *out set; -CD_ECORRUPT with @err saying what; -CD_ENOMEM.
 */
int spool_decode(const uint8_t *buf, size_t len, struct chunk **out, struct cd_err *err);

/*
 * spool_salvage() - the records of a damaged chunk file (untrusted bytes)
 * that still decode, as spool_load() salvages them: *@lost is the number
 * the header counts beyond them. Return: 0 with *@out set; -CD_ECORRUPT
 * (header unreadable, or no record decodes); -CD_ENOMEM.
 */
int spool_salvage(const uint8_t *buf, size_t len, struct chunk **out, uint64_t *lost);

#endif
