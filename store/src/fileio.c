/*
 * store/src/fileio.c - whole reads and writes, directory fsync and the
 * atomic file replace (see store/fileio.h).
 *
 * DESIGN: one loop per job, shared by the spool, the checkpoint and the
 * archive, so EINTR, short transfers and the order of fsync and rename
 * are right in one place. Writes honour the store's write budget
 * (chunk__write_budget, store/hooks.h): a test can fill the disk after N
 * bytes in any of them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* renameat */
#include <string.h>
#include <unistd.h>

#include <store/err.h>
#include <store/fileio.h>
#include <store/hooks.h>

/* How much of @n the write budget lets through now; 0 = the disk is "full". */
static size_t budget(size_t n)
{
	if (chunk__write_budget < 0)
		return n;
	if ((unsigned long long)chunk__write_budget < n)
		return (size_t)chunk__write_budget;
	return n;
}

static void spend(ssize_t w)
{
	if (chunk__write_budget >= 0)
		chunk__write_budget -= w;
}

/* Write all of @buf: at @off with pwrite(), or with write() when @off is negative. */
static int write_loop(int fd, const void *buf, size_t n, int64_t off)
{
	const uint8_t *p = buf;

	while (n > 0) {
		size_t want = budget(n);
		ssize_t w;

		if (want == 0) {
			errno = ENOSPC;
			return -CD_EIO;
		}
		w = off < 0 ? write(fd, p, want) : pwrite(fd, p, want, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -CD_EIO;
		spend(w);
		p += w;
		n -= (size_t)w;
		if (off >= 0)
			off += w;
	}
	return 0;
}

int fio_pwrite_full(int fd, const void *buf, size_t n, uint64_t off)
{
	return write_loop(fd, buf, n, (int64_t)off);
}

int fio_write_full(int fd, const void *buf, size_t n)
{
	return write_loop(fd, buf, n, -1);
}

int fio_pread_full(int fd, void *buf, size_t n, uint64_t off)
{
	uint8_t *p = buf;

	while (n > 0) {
		ssize_t r = pread(fd, p, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -CD_EIO;
		if (r == 0) {
			errno = 0;
			return -CD_ENOENT; /* shorter than expected */
		}
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

int fio_read_full(int fd, void *buf, size_t n, size_t *got)
{
	uint8_t *p = buf;

	*got = 0;
	while (*got < n) {
		ssize_t r = read(fd, p + *got, n - *got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -CD_EIO;
		if (r == 0)
			break;
		*got += (size_t)r;
	}
	return 0;
}

int fio_sync_dir(int dirfd)
{
	return fsync(dirfd) < 0 ? -CD_EIO : 0;
}

int fio_sync_dir_path(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc, e;

	if (fd < 0)
		return -CD_EIO;
	rc = fio_sync_dir(fd);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

int fio_sync_parent(const char *path)
{
	char dir[4096];
	size_t n = strlen(path);

	if (n >= sizeof(dir))
		return -CD_EINVAL;
	memcpy(dir, path, n + 1);
	while (n > 1 && dir[n - 1] == '/') /* "a/b/" names b */
		dir[--n] = '\0';
	while (n > 0 && dir[n - 1] != '/')
		n--;
	if (n == 0)
		return fio_sync_dir_path(".");
	while (n > 1 && dir[n - 1] == '/')
		n--;
	dir[n] = '\0';
	return fio_sync_dir_path(dir);
}

int fio_replace(const struct fio_replace *r, const void *buf, size_t len, const char **step)
{
	int fd, rc, e;

	fd = openat(r->dirfd, r->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, r->mode);
	if (fd < 0) {
		*step = "create";
		return -CD_EIO;
	}
	if (fio_write_full(fd, buf, len) < 0) {
		*step = "write";
		goto err_unlink;
	}
	if (!r->no_sync && fsync(fd) < 0) {
		*step = "fsync";
		goto err_unlink;
	}
	rc = close(fd);
	fd = -1;
	if (rc < 0) {
		*step = "close";
		goto err_unlink;
	}
	if (renameat(r->dirfd, r->tmp, r->dirfd, r->name) < 0) {
		*step = "rename";
		goto err_unlink;
	}
	if (r->no_sync)
		return 0;
	rc = r->dirfd == AT_FDCWD ? fio_sync_dir_path(r->dir) : fio_sync_dir(r->dirfd);
	if (rc < 0)
		*step = "fsync directory";
	return rc;

err_unlink:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlinkat(r->dirfd, r->tmp, 0);
	errno = e;
	return -CD_EIO;
}
