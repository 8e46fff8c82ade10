/*
 * store/src/archive.c - the archive directory: opening it, recovery of the
 * open segment, the segment table (formats/archive.md). The other jobs
 * have a file each: archive_index.c (scanning data files, index files),
 * archive_write.c (appends, sealing, retention), archive_read.c (lookups),
 * archive_format.c (the bytes of frames and indexes).
 *
 * DESIGN: a directory holds NNNNNNNNNNNNNNNN.seg data files (16 hex digits,
 * the segment number; higher is newer) and, for sealed segments,
 * NNNNNNNNNNNNNNNN.idx. Exactly one writer (flock on DIR/LOCK) appends to
 * the newest segment, the one without an index; its index lives in memory
 * (struct arch__build) and is written (tmp file, fsync, rename, fsync of
 * the directory) when the segment is sealed: at CD_SEGMENT_BYTES or at
 * arch_close(). An append returns only after fdatasync(), so an
 * acknowledged frame survives a crash. At open, the unsealed segment is
 * scanned frame by frame (every hash checked): a torn last frame is cut
 * off, a corrupt middle one is skipped and reported. Sealed indexes are
 * read lazily (mmap) on the first lookup; one that is missing, corrupt or
 * does not describe the data file's size is rebuilt from the data file
 * (and rewritten unless read-only). Retention unlinks whole sealed
 * segments, oldest first, data file before index (a crash in between
 * leaves an orphan index, removed at the next open).
 * Readers (read_only) take no lock: they see the writer's open segment as
 * of their arch_open(), ignore its torn tail, and skip segments that
 * retention deletes under them.
 * Not thread-safe.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive_dir.h"
#include <store/fileio.h>
#include <store/limits.h>

void arch__diag(arch *a, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!a->opt.on_diag)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	a->opt.on_diag(a->opt.cookie, msg);
}

void arch__seg_name(char *buf, size_t cap, uint64_t id, const char *ext)
{
	snprintf(buf, cap, "%016" PRIx64 ".%s", id, ext);
}

void arch__seg_unload(struct seg *s)
{
	if (s->ix_buf) {
		if (s->ix_mapped)
			munmap(s->ix_buf, s->ix_len);
		else
			free(s->ix_buf);
	}
	s->ix_buf = NULL;
	s->ix_len = 0;
	s->ix_loaded = false;
}

/* --- opening ------------------------------------------------------------------ */

/*
 * Whether the index file of @s has a sound header: magic, version, head
 * hash, the data file's size, and a file size that fits its counts. Cheap
 * (one 64-byte read); deeper damage is found when a lookup reads it.
 */
static bool idx_header_ok(arch *a, const struct seg *s)
{
	uint8_t h[ARCH_HDR_BYTES];
	uint64_t nent, want;
	char name[64];
	struct stat sb;
	bool ok;
	int fd;

	arch__seg_name(name, sizeof(name), s->id, "idx");
	fd = openat(a->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ok = fstat(fd, &sb) == 0 && fio_pread_full(fd, h, sizeof(h), 0) == 0;
	close(fd);
	if (!ok || le_get32(h) != ARCH_INDEX_MAGIC || le_get16(h + 4) != ARCH_VERSION ||
	    le_get64(h + 56) != arch__xxh64(h, 56, 0) || le_get64(h + 8) != s->data_bytes)
		return false;
	nent = le_get32(h + 36);
	want = ARCH_HDR_BYTES + (uint64_t)le_get32(h + 32) * ARCH_IDX_FRAME_BYTES +
	       (nent + ARCH_IDX_BLOCK - 1) / ARCH_IDX_BLOCK * ARCH_IDX_BLOCK_BYTES + le_get32(h + 44) +
	       nent * ARCH_IDX_ENTRY_BYTES;
	return (uint64_t)sb.st_size == want;
}

/*
 * Writer at open: rebuild (and rewrite) the index of every sealed segment
 * whose index file is missing or has a bad header, so that readers need
 * not rebuild it in memory each time. Failures are reported, not fatal.
 */
static void repair_indexes(arch *a)
{
	size_t n = a->nsegs;

	if (n > 0 && !a->segs[n - 1].has_idx)
		n--; /* the unsealed segment: recovered by recover_open() instead */
	for (size_t i = 0; i < n; i++) {
		struct seg *s = &a->segs[i];
		struct cd_err e = {0};

		if (s->has_idx && idx_header_ok(a, s))
			continue;
		if (s->has_idx)
			arch__diag(a, "archive %s: index of segment %016" PRIx64 " is corrupt or stale",
				   a->dir, s->id);
		if (arch__seg_rebuild(a, s, &e) < 0)
			arch__diag(a, "archive %s: segment %016" PRIx64 ": %s", a->dir, s->id, e.msg);
		arch__seg_unload(s); /* mapped again on the first lookup */
	}
}

static bool parse_name(const char *n, uint64_t *id, const char **ext)
{
	uint64_t v = 0;

	for (int i = 0; i < 16; i++) {
		char c = n[i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return false;
	}
	if (n[16] != '.')
		return false;
	*id = v;
	*ext = n + 17;
	return true;
}

static int seg_cmp(const void *x, const void *y)
{
	const struct seg *a = x, *b = y;

	return a->id < b->id ? -1 : a->id > b->id;
}

int arch__push_seg(arch *a, uint64_t id, struct cd_err *err)
{
	if (a->nsegs == a->segs_cap) {
		size_t n = a->segs_cap ? 2 * a->segs_cap : 64;
		struct seg *p;

		if (a->nsegs >= CD_ARCH_SEGMENTS_MAX)
			return cd_err_set(err, -CD_ELIMIT, 0, "archive %s: more than %u segments", a->dir,
					  CD_ARCH_SEGMENTS_MAX);
		p = realloc(a->segs, n * sizeof(*p));
		if (!p)
			return cd_err_set(err, -CD_ENOMEM, 0, "archive %s: out of memory", a->dir);
		a->segs = p;
		a->segs_cap = n;
	}
	memset(&a->segs[a->nsegs], 0, sizeof(a->segs[0]));
	a->segs[a->nsegs].id = id;
	a->nsegs++;
	return 0;
}

/* List the data files; note their sizes, mtimes and index files. */
static int list_segments(arch *a, struct cd_err *err)
{
	int fd = dup(a->dirfd);
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (fd < 0)
		return cd_err_set(err, -CD_EIO, errno, "archive %s: dup", a->dir);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return cd_err_set(err, -CD_EIO, errno, "archive %s: cannot list", a->dir);
	}
	rewinddir(d);
	while ((e = readdir(d))) {
		const char *ext;
		uint64_t id;
		struct stat sb;

		if (!parse_name(e->d_name, &id, &ext))
			continue;
		if ((strcmp(ext, "idx.tmp") == 0 || strcmp(ext, "sum.tmp") == 0) && !a->opt.read_only) {
			unlinkat(a->dirfd, e->d_name, 0); /* a seal interrupted by a crash */
			continue;
		}
		if (strcmp(ext, "seg") != 0)
			continue;
		if (fstatat(a->dirfd, e->d_name, &sb, 0) < 0)
			continue; /* deleted under a reader by retention */
		rc = arch__push_seg(a, id, err);
		if (rc < 0)
			break;
		a->segs[a->nsegs - 1].data_bytes = (uint64_t)sb.st_size;
		a->segs[a->nsegs - 1].mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
	}
	closedir(d);
	if (rc < 0)
		return rc;
	if (a->nsegs > 1)
		qsort(a->segs, a->nsegs, sizeof(*a->segs), seg_cmp);
	for (size_t i = 0; i < a->nsegs; i++) {
		char name[64];
		struct stat sb;

		arch__seg_name(name, sizeof(name), a->segs[i].id, "idx");
		if (fstatat(a->dirfd, name, &sb, 0) == 0) {
			a->segs[i].has_idx = true;
			a->segs[i].idx_bytes = (uint64_t)sb.st_size;
		}
		arch__seg_name(name, sizeof(name), a->segs[i].id, "sum");
		if (fstatat(a->dirfd, name, &sb, 0) == 0)
			a->segs[i].sum_bytes = (uint64_t)sb.st_size;
	}
	return 0;
}

/* Remove index and summary files without a data file (retention interrupted by a crash). */
static void remove_orphans(arch *a)
{
	int fd = dup(a->dirfd);
	DIR *d;
	struct dirent *e;

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	rewinddir(d);
	while ((e = readdir(d))) {
		const char *ext;
		uint64_t id;
		char name[64];

		if (!parse_name(e->d_name, &id, &ext) || (strcmp(ext, "idx") != 0 && strcmp(ext, "sum") != 0))
			continue;
		arch__seg_name(name, sizeof(name), id, "seg");
		if (faccessat(a->dirfd, name, F_OK, 0) < 0 && errno == ENOENT)
			unlinkat(a->dirfd, e->d_name, 0);
	}
	closedir(d);
}

/* Recover the newest segment, which has no index: scan it, cut a torn tail. */
static int recover_open(arch *a, struct cd_err *err)
{
	struct seg *s = &a->segs[a->nsegs - 1];
	uint64_t good_end;
	uint32_t corrupt;
	char name[64];
	int fd, rc;

	arch__seg_name(name, sizeof(name), s->id, "seg");
	fd = openat(a->dirfd, name, (a->opt.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return cd_err_set(err, -CD_EIO, errno, "archive %s: cannot open %s", a->dir, name);
	rc = arch__seg_scan(a, s->id, fd, s->data_bytes, !a->opt.read_only, &a->ob, &good_end, &corrupt);
	if (rc < 0) {
		cd_err_set(err, rc, errno, "archive %s: cannot read %s", a->dir, name);
		goto err_close;
	}
	a->st.frames_corrupt += corrupt;
	if (good_end < s->data_bytes && a->opt.read_only) {
		/* Maybe the writer's append in progress: leave it, count it. */
		arch__diag(a,
			   "archive %s: segment %016" PRIx64 ": %" PRIu64
			   " bytes at its end hold no whole frame (ignored)",
			   a->dir, s->id, s->data_bytes - good_end);
		a->st.torn_cut++;
		a->st.torn_bytes += s->data_bytes - good_end;
	} else if (good_end < s->data_bytes) {
		if (ftruncate(fd, (off_t)good_end) < 0 || (!a->opt.no_sync && fsync(fd) < 0)) {
			rc = cd_err_set(err, -CD_EIO, errno, "archive %s: cannot cut the torn end of %s",
					a->dir, name);
			goto err_close;
		}
		arch__diag(a,
			   "archive %s: segment %016" PRIx64 ": torn last frame cut (%" PRIu64
			   " bytes at %" PRIu64 ")",
			   a->dir, s->id, s->data_bytes - good_end, good_end);
		a->st.torn_cut++;
		a->st.torn_bytes += s->data_bytes - good_end;
		s->data_bytes = good_end;
	}
	a->ob.data_bytes = good_end;
	for (uint32_t i = 0; i < a->ob.nframes; i++)
		if (a->ob.frames[i].seq > a->st.max_seq)
			a->st.max_seq = a->ob.frames[i].seq;
	a->have_open = true;
	if (a->opt.read_only)
		close(fd);
	else
		a->open_fd = fd;
	return 0;

err_close:
	close(fd);
	return rc;
}

void arch_options_default(struct arch_options *opt)
{
	memset(opt, 0, sizeof(*opt));
}

void arch__free(arch *a)
{
	for (size_t i = 0; i < a->nsegs; i++)
		arch__seg_unload(&a->segs[i]);
	free(a->segs);
	arch__build_release(&a->ob);
	if (a->open_fd >= 0)
		close(a->open_fd);
	if (a->lockfd >= 0)
		close(a->lockfd);
	if (a->dirfd >= 0)
		close(a->dirfd);
	ZSTD_freeCCtx(a->zc);
	ZSTD_freeDCtx(a->zd);
	buf_release(&a->rbuf);
	buf_release(&a->dbuf);
	buf_release(&a->wbuf);
	free(a->hbuf);
	arch__sum_free(a);
	free(a->dir);
	free(a);
}

int arch_open(arch **out, const char *dir, const struct arch_options *opt, struct cd_err *err)
{
	arch *a;
	int rc;

	if (!out || !dir || !*dir)
		return cd_err_set(err, -CD_EINVAL, 0, "archive: no directory given");
	a = calloc(1, sizeof(*a));
	if (!a)
		return cd_err_set(err, -CD_ENOMEM, 0, "archive: out of memory");
	a->dirfd = a->lockfd = a->open_fd = -1;
	if (opt)
		a->opt = *opt;
	if (!a->opt.segment_bytes)
		a->opt.segment_bytes = CD_SEGMENT_BYTES;
	if (!a->opt.zstd_level)
		a->opt.zstd_level = CD_ARCH_ZSTD_LEVEL;
	arch__build_init(&a->ob);
	a->dir = strdup(dir);
	a->zd = ZSTD_createDCtx();
	if (!a->dir || !a->zd) {
		rc = cd_err_set(err, -CD_ENOMEM, 0, "archive: out of memory");
		goto err_free;
	}
	if (!a->opt.read_only && mkdir(dir, 0750) == 0) {
		if (!a->opt.no_sync && fio_sync_parent(dir) < 0) {
			rc = cd_err_set(err, -CD_EIO, errno, "archive %s: cannot fsync its parent", dir);
			goto err_free;
		}
	} else if (!a->opt.read_only && errno != EEXIST) {
		rc = cd_err_set(err, -CD_EIO, errno, "archive %s: cannot create the directory", dir);
		goto err_free;
	}
	a->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a->dirfd < 0) {
		rc = cd_err_set(err, errno == ENOENT ? -CD_ENOENT : -CD_EIO, errno, "archive %s: cannot open",
				dir);
		goto err_free;
	}
	if (!a->opt.read_only) {
		a->zc = ZSTD_createCCtx();
		if (!a->zc) {
			rc = cd_err_set(err, -CD_ENOMEM, 0, "archive: out of memory");
			goto err_free;
		}
		a->lockfd = openat(a->dirfd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0640);
		if (a->lockfd < 0) {
			rc = cd_err_set(err, -CD_EIO, errno, "archive %s: cannot create LOCK", dir);
			goto err_free;
		}
		if (flock(a->lockfd, LOCK_EX | LOCK_NB) < 0) {
			rc = cd_err_set(err, errno == EWOULDBLOCK ? -CD_EAGAIN : -CD_EIO, errno,
					"archive %s: another writer holds it", dir);
			goto err_free;
		}
	}
	rc = list_segments(a, err);
	if (rc < 0)
		goto err_free;
	if (!a->opt.read_only) {
		remove_orphans(a);
		repair_indexes(a);
	}
	if (a->nsegs > 0 && !a->segs[a->nsegs - 1].has_idx) {
		rc = recover_open(a, err);
		if (rc < 0)
			goto err_free;
	}
	*out = a;
	return 0;

err_free:
	arch__free(a);
	return rc;
}
