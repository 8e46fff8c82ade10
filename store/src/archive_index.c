/*
 * store/src/archive_index.c - an archive segment's index: scanning a data
 * file frame by frame (recovery, rebuilds, a reader's view of the open
 * segment), writing index files atomically, and loading them (mmap) or
 * rebuilding them when they are missing, corrupt or stale.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive_dir.h"
#include <store/fileio.h>
#include <store/limits.h>

/* --- scanning a data file ------------------------------------------------ */

/* Offset of the next byte run "CLAF" + a valid header in [from, size), or size. */
static uint64_t resync(int fd, uint64_t from, uint64_t size)
{
	uint8_t buf[65536 + ARCH_HDR_BYTES];
	static const uint8_t magic[4] = {'C', 'L', 'A', 'F'};

	while (from + ARCH_HDR_BYTES <= size) {
		size_t n = size - from < sizeof(buf) ? (size_t)(size - from) : sizeof(buf);
		uint8_t *p = buf, *end;

		if (fio_pread_full(fd, buf, n, from) < 0)
			return size;
		end = buf + n;
		while ((p = memmem(p, (size_t)(end - p), magic, 4))) {
			struct arch__frame_hdr h;

			if (end - p < (ptrdiff_t)ARCH_HDR_BYTES)
				break;
			if (arch__frame_hdr_decode(p, true, &h) == 0)
				return from + (uint64_t)(p - buf);
			p++;
		}
		if (n < sizeof(buf))
			break;
		from += sizeof(buf) - ARCH_HDR_BYTES; /* overlap: a header may straddle */
	}
	return size;
}

/*
 * Scan the data file @fd (@size bytes) into @b. @full: read and check
 * every frame whole (writer recovery, index rebuilds); else read headers
 * and mini-indexes only (a reader's view of the writer's open segment:
 * payloads are checked anyway when a lookup reads them).
 * *@good_end: end of the last good frame. *@corrupt: frames or byte runs
 * skipped before it. Whatever follows *@good_end is a torn tail.
 */
int arch__seg_scan(arch *a, uint64_t id, int fd, uint64_t size, bool full, struct arch__build *b,
		   uint64_t *good_end, uint32_t *corrupt)
{
	uint64_t off = 0;
	int rc;

	*good_end = 0;
	*corrupt = 0;
	while (off + ARCH_HDR_BYTES <= size) {
		struct arch__frame_hdr h;
		struct arch__frame_meta m;
		uint64_t flen, next;
		size_t want;

		rc = buf_reserve(&a->rbuf, ARCH_HDR_BYTES);
		if (rc < 0)
			return rc;
		rc = fio_pread_full(fd, a->rbuf.p, ARCH_HDR_BYTES, off);
		if (rc == -CD_EIO)
			return rc;
		if (rc == 0 && arch__frame_hdr_decode(a->rbuf.p, true, &h) == 0) {
			flen = (uint64_t)ARCH_HDR_BYTES + h.meta_len + h.zlen;
			if (off + flen > size)
				break; /* torn: the header was written, not all the rest */
			want = full ? (size_t)flen : ARCH_HDR_BYTES + (size_t)h.meta_len;
			rc = buf_reserve(&a->rbuf, want);
			if (rc < 0)
				return rc;
			rc = fio_pread_full(fd, a->rbuf.p, want, off);
			if (rc == -CD_EIO)
				return rc;
			if (rc == 0 && (full ? arch__frame_check(a->rbuf.p, (size_t)flen, true, &h, &m)
					     : arch__frame_meta_decode(a->rbuf.p + ARCH_HDR_BYTES, h.meta_len,
								       &m)) == 0) {
				rc = arch__build_add(b, off, &h, &m);
				if (rc < 0)
					return rc;
				off += flen;
				*good_end = off;
				continue;
			}
			if (off + flen == size)
				break; /* a last frame that fails its hash: torn */
			arch__diag(a,
				   "archive %s: segment %016" PRIx64 ": corrupt frame at %" PRIu64 " skipped",
				   a->dir, id, off);
			(*corrupt)++;
			off += flen;
			continue;
		}
		next = resync(fd, off + 1, size);
		if (next >= size)
			break;
		arch__diag(a,
			   "archive %s: segment %016" PRIx64 ": %" PRIu64 " corrupt bytes at %" PRIu64
			   " skipped",
			   a->dir, id, next - off, off);
		(*corrupt)++;
		off = next;
	}
	b->data_bytes = size;
	return 0;
}

/* --- indexes ---------------------------------------------------------------- */

/* Write @buf as the index of segment @id: tmp file, fsync, rename, fsync dir. */
int arch__write_index(arch *a, uint64_t id, const uint8_t *buf, size_t len, struct cd_err *err)
{
	char name[64], tmp[64];
	const char *step;

	arch__seg_name(name, sizeof(name), id, "idx");
	arch__seg_name(tmp, sizeof(tmp), id, "idx.tmp");
	if (fio_replace(&(struct fio_replace){.dirfd = a->dirfd,
					      .tmp = tmp,
					      .name = name,
					      .mode = 0640,
					      .no_sync = a->opt.no_sync},
			buf, len, &step) == 0)
		return 0;
	if (strcmp(step, "create") == 0)
		return cd_err_set(err, -CD_EIO, errno, "archive %s: cannot create %s", a->dir, tmp);
	if (strcmp(step, "rename") == 0)
		return cd_err_set(err, -CD_EIO, errno, "archive %s: cannot rename %s", a->dir, tmp);
	if (strcmp(step, "fsync directory") == 0)
		return cd_err_set(err, -CD_EIO, errno, "archive %s: fsync of the directory failed", a->dir);
	return cd_err_set(err, -CD_EIO, errno, "archive %s: cannot write %s", a->dir, tmp);
}

void arch__seg_adopt_index(struct seg *s, uint8_t *buf, size_t len)
{
	int rc = arch__index_parse(buf, len, true, &s->ix);

	assert(rc == 0); /* encoded by arch__build_encode() a moment ago */
	(void)rc;
	s->ix_buf = buf;
	s->ix_len = len;
	s->ix_mapped = false;
	s->ix_loaded = true;
}

/* Rebuild the index of sealed segment @s from its data file. */
int arch__seg_rebuild(arch *a, struct seg *s, struct cd_err *err)
{
	struct arch__build b;
	uint64_t good_end;
	uint32_t corrupt;
	uint8_t *buf;
	size_t len;
	char name[64];
	int fd, rc;

	arch__seg_name(name, sizeof(name), s->id, "seg");
	fd = openat(a->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT
			       ? -CD_ENOENT
			       : cd_err_set(err, -CD_EIO, errno, "archive %s: cannot open %s", a->dir, name);
	arch__build_init(&b);
	rc = arch__seg_scan(a, s->id, fd, s->data_bytes, true, &b, &good_end, &corrupt);
	close(fd);
	if (rc < 0) {
		cd_err_set(err, rc, errno, "archive %s: cannot read %s", a->dir, name);
		goto err_release;
	}
	a->st.frames_corrupt += corrupt;
	if (good_end < s->data_bytes)
		arch__diag(a,
			   "archive %s: segment %016" PRIx64 ": %" PRIu64 " bytes at its end hold no frame",
			   a->dir, s->id, s->data_bytes - good_end);
	rc = arch__build_encode(&b, &buf, &len);
	if (rc < 0) {
		cd_err_set(err, rc, 0, "archive %s: cannot encode the index of %s", a->dir, name);
		goto err_release;
	}
	arch__build_release(&b);
	arch__seg_adopt_index(s, buf, len);
	a->st.indexes_rebuilt++;
	arch__diag(a, "archive %s: index of segment %016" PRIx64 " rebuilt (%" PRIu32 " frames)", a->dir,
		   s->id, s->ix.nframes);
	if (!a->opt.read_only) {
		struct cd_err werr = {0};

		if (arch__write_index(a, s->id, buf, len, &werr) == 0) {
			s->has_idx = true;
			s->idx_bytes = len;
		} else {
			arch__diag(a, "%s (the index stays in memory)",
				   werr.msg); /* not fatal for a lookup */
		}
	}
	return 0;

err_release:
	arch__build_release(&b);
	return rc;
}

/* Make @s->ix usable: map the index file, or rebuild it. */
int arch__seg_load(arch *a, struct seg *s, bool *rebuilt, struct cd_err *err)
{
	char name[64];
	struct stat sb;
	void *map;
	int fd;

	if (s->ix_loaded)
		return 0;
	if (!s->has_idx)
		goto rebuild;
	arch__seg_name(name, sizeof(name), s->id, "idx");
	fd = openat(a->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto rebuild;
	if (fstat(fd, &sb) < 0 || sb.st_size < (off_t)ARCH_HDR_BYTES ||
	    sb.st_size > (off_t)CD_ARCH_INDEX_BYTES_MAX) {
		close(fd);
		goto bad;
	}
	map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		goto bad;
	if (arch__index_parse(map, (size_t)sb.st_size, true, &s->ix) < 0 ||
	    s->ix.data_bytes != s->data_bytes) {
		munmap(map, (size_t)sb.st_size);
		goto bad;
	}
	s->ix_buf = map;
	s->ix_len = (size_t)sb.st_size;
	s->ix_mapped = true;
	s->ix_loaded = true;
	return 0;

bad:
	arch__diag(a, "archive %s: index %s is corrupt or stale", a->dir, name);
rebuild:
	*rebuilt = true;
	return arch__seg_rebuild(a, s, err);
}
