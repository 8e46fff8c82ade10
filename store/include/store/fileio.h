/*
 * store/fileio.h - whole reads and writes, directory fsync and the atomic
 * file replace (temporary file, fsync, rename, directory fsync) of every
 * file clew keeps on disk: spool files, the checkpoint, archive indexes.
 *
 * Every call retries EINTR and short transfers, and returns 0 or a
 * negative CD_E* code with errno kept from the failing call, so callers
 * word their own message (and map ENOSPC to -CD_EFULL where they must).
 * Writes go through the store's write seam (store/hooks.h): tests can make
 * them fail with ENOSPC after N bytes.
 */
#ifndef STORE_FILEIO_H
#define STORE_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* fio_write_full() - write all @n bytes at @buf to @fd. Return: 0 or -CD_EIO (errno set). */
int fio_write_full(int fd, const void *buf, size_t n);

/* fio_pwrite_full() - fio_write_full() at offset @off. Return: 0 or -CD_EIO (errno set). */
int fio_pwrite_full(int fd, const void *buf, size_t n, uint64_t off);

/*
 * fio_pread_full() - read exactly @n bytes at offset @off.
 * Return: 0; -CD_EIO (errno set); -CD_ENOENT when the file ends first (errno 0).
 */
int fio_pread_full(int fd, void *buf, size_t n, uint64_t off);

/*
 * fio_read_full() - read from @fd until @n bytes or end of file; *got says
 * how many came. Return: 0 or -CD_EIO (errno set).
 */
int fio_read_full(int fd, void *buf, size_t n, size_t *got);

/* fio_sync_dir() - fsync the open directory @dirfd. Return: 0 or -CD_EIO (errno set). */
int fio_sync_dir(int dirfd);

/* fio_sync_dir_path() - open directory @dir and fsync it. Return: 0 or -CD_EIO (errno set). */
int fio_sync_dir_path(const char *dir);

/*
 * fio_sync_parent() - fsync the directory holding @path (a file or
 * directory just created there: its name is durable only once its parent
 * is). Return: 0 or -CD_EIO (errno set); -CD_EINVAL for a path too long.
 */
int fio_sync_parent(const char *path);

/*
 * One atomic replace: @name (in @dirfd, or AT_FDCWD) becomes @len bytes,
 * written to @tmp first. A reader, or a crash, sees the old file or the
 * whole new one, never part of it.
 */
struct fio_replace {
	int dirfd;	  /* directory of tmp and name, or AT_FDCWD */
	const char *dir;  /* with AT_FDCWD: the directory to fsync after the rename */
	const char *tmp;  /* temporary name, unlinked on failure */
	const char *name; /* final name */
	mode_t mode;	  /* of a created file */
	bool no_sync;	  /* skip both fsyncs (tests, benchmarks, no_sync options) */
};

/*
 * fio_replace() - create @r->tmp, write @buf, fsync, close, rename to
 * @r->name, fsync the directory.
 * @step: set on failure to the step that failed: "create", "write",
 * "fsync", "close", "rename" or "fsync directory".
 * Return: 0, or -CD_EIO with errno set. Before the rename the temporary
 * file is removed; a failing directory fsync leaves the new file in place
 * (renamed, maybe not durable: the caller decides whether to take it back).
 */
int fio_replace(const struct fio_replace *r, const void *buf, size_t len, const char **step);

#endif
