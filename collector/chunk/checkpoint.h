/*
 * chunk/checkpoint.h - per-input read positions, stored atomically.
 *
 * For each input (a file path, "stdin", a listener name) the identity of
 * the file being read (st_dev, st_ino) and the byte offset up to which
 * every record has been acknowledged by every output: on restart the input
 * resumes there, so nothing unacknowledged is lost (at-least-once; records
 * after it may be read twice). The positions come from the ack tracker
 * (chunk/ack.h): a checkpoint never moves past an unacknowledged chunk
 * because the tracker never reports such a position.
 * Not thread-safe: owned by the pipeline thread.
 */
#ifndef CD_CHUNK_CHECKPOINT_H
#define CD_CHUNK_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include <store/err.h>

struct checkpoint;

struct checkpoint_pos {
	uint64_t dev;	 /* st_dev of the file read (0 when not a file) */
	uint64_t ino;	 /* st_ino of the file read (0 when not a file) */
	uint64_t offset; /* bytes acknowledged from the start of that file */
	/*
	 * The file's fingerprint: XXH64 of its first fp_len bytes (at most
	 * CHECKPOINT_FP_MAX; 0 = none, as in a version-1 file). With the
	 * inode it names the file: a recycled inode with other first bytes is
	 * a new file.
	 */
	uint64_t fp;
	uint16_t fp_len;
};

#define CHECKPOINT_FP_MAX 256u

/*
 * checkpoint_open() - load the checkpoint file @path (a missing file is an
 * empty checkpoint; its directory must exist). @path is copied.
 * @out: set on success; untouched on failure.
 * Return: 0; -CD_ECORRUPT (bad checksum or format: the file is left as it
 * is for the operator, @err says what); -CD_EIO; -CD_ENOMEM; -CD_EINVAL.
 */
int checkpoint_open(struct checkpoint **out, const char *path, struct cd_err *err);

/* checkpoint_free() - free @cp (nothing is saved); NULL is a no-op. */
void checkpoint_free(struct checkpoint *cp);

/* checkpoint_get() - @input's position. Return: 0, or -CD_ENOENT. */
int checkpoint_get(const struct checkpoint *cp, const char *input, struct checkpoint_pos *pos);

/*
 * checkpoint_set() - set @input's position in memory (@input copied);
 * checkpoint_save() makes it durable.
 * Return: 0; -CD_EINVAL (name empty or longer than CD_INPUT_NAME_MAX);
 * -CD_ELIMIT (more than CD_CHECKPOINT_INPUTS_MAX inputs); -CD_ENOMEM.
 * On failure nothing changed.
 */
int checkpoint_set(struct checkpoint *cp, const char *input, const struct checkpoint_pos *pos);

/* checkpoint_remove() - forget @input (a file deleted and fully read). Return: 0 or -CD_ENOENT. */
int checkpoint_remove(struct checkpoint *cp, const char *input);

/* checkpoint_count() - inputs held. */
size_t checkpoint_count(const struct checkpoint *cp);

/*
 * checkpoint_save() - write every position to the file atomically: a temp
 * file beside it, fsync'd, renamed over it, the directory fsync'd. After a
 * crash the file holds either the old or the new positions, never a mix.
 * Return: 0; -CD_EFULL (ENOSPC/EDQUOT) or -CD_EIO with @err, the old file
 * intact and no temp file left; -CD_ENOMEM.
 */
int checkpoint_save(struct checkpoint *cp, struct cd_err *err);

#endif
