/*
 * store/src/archive.c - the archive directory: segments, appends, recovery,
 * lookups and retention (formats/archive.md; encoding in format.c).
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
#include <assert.h>
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
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "archive_int.h"
#include <store/buf.h>
#include <store/fileio.h>
#include <store/limits.h>

/* One segment. */
struct seg {
	uint64_t id;	       /* from the file name; order of age */
	uint64_t data_bytes;   /* size of the data file */
	uint64_t idx_bytes;    /* size of the index file; 0 when none */
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
};

static void diag(arch *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void diag(arch *a, const char *fmt, ...)
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

static void seg_name(char *buf, size_t cap, uint64_t id, const char *ext)
{
	snprintf(buf, cap, "%016" PRIx64 ".%s", id, ext);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int sync_dir(arch *a, struct cd_err *err)
{
	if (a->opt.no_sync || fio_sync_dir(a->dirfd) == 0)
		return 0;
	return cd_err_set(err, -CD_EIO, errno, "archive %s: fsync of the directory failed", a->dir);
}

static void seg_unload(struct seg *s)
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
static int seg_scan(arch *a, uint64_t id, int fd, uint64_t size, bool full, struct arch__build *b,
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
			if (rc == 0 &&
			    (full ? arch__frame_check(a->rbuf.p, (size_t)flen, true, &h, &m)
				  : arch__frame_meta_decode(a->rbuf.p + ARCH_HDR_BYTES, h.meta_len, &m)) == 0) {
				rc = arch__build_add(b, off, &h, &m);
				if (rc < 0)
					return rc;
				off += flen;
				*good_end = off;
				continue;
			}
			if (off + flen == size)
				break; /* a last frame that fails its hash: torn */
			diag(a, "archive %s: segment %016" PRIx64 ": corrupt frame at %" PRIu64 " skipped",
			     a->dir, id, off);
			(*corrupt)++;
			off += flen;
			continue;
		}
		next = resync(fd, off + 1, size);
		if (next >= size)
			break;
		diag(a,
		     "archive %s: segment %016" PRIx64 ": %" PRIu64 " corrupt bytes at %" PRIu64 " skipped",
		     a->dir, id, next - off, off);
		(*corrupt)++;
		off = next;
	}
	b->data_bytes = size;
	return 0;
}

/* --- indexes ---------------------------------------------------------------- */

/* Write @buf as the index of segment @id: tmp file, fsync, rename, fsync dir. */
static int write_index(arch *a, uint64_t id, const uint8_t *buf, size_t len, struct cd_err *err)
{
	char name[64], tmp[64];
	const char *step;

	seg_name(name, sizeof(name), id, "idx");
	seg_name(tmp, sizeof(tmp), id, "idx.tmp");
	if (fio_replace(&(struct fio_replace){.dirfd = a->dirfd, .tmp = tmp, .name = name, .mode = 0640,
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

/* Rebuild the index of sealed segment @s from its data file. */
static int seg_rebuild(arch *a, struct seg *s, struct cd_err *err)
{
	struct arch__build b;
	uint64_t good_end;
	uint32_t corrupt;
	uint8_t *buf;
	size_t len;
	char name[64];
	int fd, rc;

	seg_name(name, sizeof(name), s->id, "seg");
	fd = openat(a->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT
			       ? -CD_ENOENT
			       : cd_err_set(err, -CD_EIO, errno, "archive %s: cannot open %s", a->dir, name);
	arch__build_init(&b);
	rc = seg_scan(a, s->id, fd, s->data_bytes, true, &b, &good_end, &corrupt);
	close(fd);
	if (rc < 0) {
		cd_err_set(err, rc, errno, "archive %s: cannot read %s", a->dir, name);
		goto err_release;
	}
	a->st.frames_corrupt += corrupt;
	if (good_end < s->data_bytes)
		diag(a, "archive %s: segment %016" PRIx64 ": %" PRIu64 " bytes at its end hold no frame",
		     a->dir, s->id, s->data_bytes - good_end);
	rc = arch__build_encode(&b, &buf, &len);
	if (rc < 0) {
		cd_err_set(err, rc, 0, "archive %s: cannot encode the index of %s", a->dir, name);
		goto err_release;
	}
	arch__build_release(&b);
	rc = arch__index_parse(buf, len, true, &s->ix);
	assert(rc == 0);
	s->ix_buf = buf;
	s->ix_len = len;
	s->ix_mapped = false;
	s->ix_loaded = true;
	a->st.indexes_rebuilt++;
	diag(a, "archive %s: index of segment %016" PRIx64 " rebuilt (%" PRIu32 " frames)", a->dir, s->id,
	     s->ix.nframes);
	if (!a->opt.read_only) {
		struct cd_err werr = {0};

		if (write_index(a, s->id, buf, len, &werr) == 0) {
			s->has_idx = true;
			s->idx_bytes = len;
		} else {
			diag(a, "%s (the index stays in memory)", werr.msg); /* not fatal for a lookup */
		}
	}
	return 0;

err_release:
	arch__build_release(&b);
	return rc;
}

/* Make @s->ix usable: map the index file, or rebuild it. */
static int seg_load(arch *a, struct seg *s, bool *rebuilt, struct cd_err *err)
{
	char name[64];
	struct stat sb;
	void *map;
	int fd;

	if (s->ix_loaded)
		return 0;
	if (!s->has_idx)
		goto rebuild;
	seg_name(name, sizeof(name), s->id, "idx");
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
	diag(a, "archive %s: index %s is corrupt or stale", a->dir, name);
rebuild:
	*rebuilt = true;
	return seg_rebuild(a, s, err);
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

	seg_name(name, sizeof(name), s->id, "idx");
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
			diag(a, "archive %s: index of segment %016" PRIx64 " is corrupt or stale", a->dir,
			     s->id);
		if (seg_rebuild(a, s, &e) < 0)
			diag(a, "archive %s: segment %016" PRIx64 ": %s", a->dir, s->id, e.msg);
		seg_unload(s); /* mapped again on the first lookup */
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

static int push_seg(arch *a, uint64_t id, struct cd_err *err)
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
		if (strcmp(ext, "idx.tmp") == 0 && !a->opt.read_only) {
			unlinkat(a->dirfd, e->d_name, 0); /* a seal interrupted by a crash */
			continue;
		}
		if (strcmp(ext, "seg") != 0)
			continue;
		if (fstatat(a->dirfd, e->d_name, &sb, 0) < 0)
			continue; /* deleted under a reader by retention */
		rc = push_seg(a, id, err);
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

		seg_name(name, sizeof(name), a->segs[i].id, "idx");
		if (fstatat(a->dirfd, name, &sb, 0) == 0) {
			a->segs[i].has_idx = true;
			a->segs[i].idx_bytes = (uint64_t)sb.st_size;
		}
	}
	return 0;
}

/* Remove index files without a data file (retention interrupted by a crash). */
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

		if (!parse_name(e->d_name, &id, &ext) || strcmp(ext, "idx") != 0)
			continue;
		seg_name(name, sizeof(name), id, "seg");
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

	seg_name(name, sizeof(name), s->id, "seg");
	fd = openat(a->dirfd, name, (a->opt.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return cd_err_set(err, -CD_EIO, errno, "archive %s: cannot open %s", a->dir, name);
	rc = seg_scan(a, s->id, fd, s->data_bytes, !a->opt.read_only, &a->ob, &good_end, &corrupt);
	if (rc < 0) {
		cd_err_set(err, rc, errno, "archive %s: cannot read %s", a->dir, name);
		goto err_close;
	}
	a->st.frames_corrupt += corrupt;
	if (good_end < s->data_bytes && a->opt.read_only) {
		/* Maybe the writer's append in progress: leave it, count it. */
		diag(a,
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
		diag(a,
		     "archive %s: segment %016" PRIx64 ": torn last frame cut (%" PRIu64 " bytes at %" PRIu64
		     ")",
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

static void arch_free(arch *a)
{
	for (size_t i = 0; i < a->nsegs; i++)
		seg_unload(&a->segs[i]);
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
	if (!a->opt.read_only && mkdir(dir, 0750) < 0 && errno != EEXIST) {
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
	arch_free(a);
	return rc;
}

/* --- sealing and appending ------------------------------------------------------- */

/* Seal the open segment: write its index; an empty one is removed instead. */
static int seal(arch *a, struct cd_err *err)
{
	struct seg *s = &a->segs[a->nsegs - 1];
	uint8_t *buf;
	size_t len;
	int rc;

	assert(a->have_open && a->open_fd >= 0);
	if (a->ob.nframes == 0) {
		char name[64];

		seg_name(name, sizeof(name), s->id, "seg");
		unlinkat(a->dirfd, name, 0);
		close(a->open_fd);
		a->open_fd = -1;
		a->have_open = false;
		a->nsegs--;
		return 0;
	}
	if (!a->opt.no_sync && fdatasync(a->open_fd) < 0)
		return cd_err_set(err, -CD_EIO, errno, "archive %s: fsync failed", a->dir);
	a->ob.data_bytes = s->data_bytes;
	rc = arch__build_encode(&a->ob, &buf, &len);
	if (rc < 0)
		return cd_err_set(err, rc, 0, "archive %s: cannot encode an index", a->dir);
	rc = write_index(a, s->id, buf, len, err);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	rc = arch__index_parse(buf, len, true, &s->ix);
	assert(rc == 0);
	s->ix_buf = buf;
	s->ix_len = len;
	s->ix_mapped = false;
	s->ix_loaded = true;
	s->has_idx = true;
	s->idx_bytes = len;
	close(a->open_fd);
	a->open_fd = -1;
	a->have_open = false;
	arch__build_clear(&a->ob);
	return 0;
}

static int start_segment(arch *a, struct cd_err *err)
{
	uint64_t id = a->nsegs ? a->segs[a->nsegs - 1].id + 1 : 1;
	char name[64];
	int rc;

	seg_name(name, sizeof(name), id, "seg");
	rc = push_seg(a, id, err);
	if (rc < 0)
		return rc;
	a->open_fd = openat(a->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (a->open_fd < 0) {
		a->nsegs--;
		return cd_err_set(err, -CD_EIO, errno, "archive %s: cannot create %s", a->dir, name);
	}
	rc = sync_dir(a, err);
	if (rc < 0) {
		close(a->open_fd);
		a->open_fd = -1;
		unlinkat(a->dirfd, name, 0);
		a->nsegs--;
		return rc;
	}
	a->segs[a->nsegs - 1].mtime_ns = now_ns();
	arch__build_clear(&a->ob);
	a->have_open = true;
	return 0;
}

static int u64_cmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* Build the frame of @c in a->wbuf.p; *@flen its length. */
static int encode_frame(arch *a, const struct arch_chunk *c, size_t *flen, struct cd_err *err)
{
	const struct arch_chunk_meta *m = c->meta;
	struct arch__frame_hdr h;
	size_t nt = 0, nsvc = 0, meta_len, bound, z;
	uint8_t *p;
	int rc;

	if (!c->payload || c->len == 0 || !m || (m->ntraces && !m->traces) ||
	    (m->nservices && !m->services) || m->min_ts_ns > m->max_ts_ns)
		return cd_err_set(err, -CD_EINVAL, 0, "archive: bad chunk (seq %" PRIu64 ")", m ? m->seq : 0);
	if (c->len > CD_ARCH_PAYLOAD_MAX || m->ntraces > CD_ARCH_FRAME_TRACES_MAX ||
	    m->nservices > CD_ARCH_FRAME_SERVICES_MAX)
		return cd_err_set(err, -CD_ELIMIT, 0, "archive: chunk %" PRIu64 " exceeds a cap of limits.h",
				  m->seq);
	for (size_t i = 0; i < m->nservices; i++) {
		if (m->services[i].len && !m->services[i].ptr)
			return cd_err_set(err, -CD_EINVAL, 0, "archive: chunk %" PRIu64 ": NULL service",
					  m->seq);
		if (m->services[i].len > CD_ARCH_SERVICE_LEN_MAX)
			return cd_err_set(err, -CD_ELIMIT, 0,
					  "archive: chunk %" PRIu64 ": service name too long", m->seq);
	}

	/* Trace hashes, sorted and distinct. */
	if (m->ntraces > a->hcap) {
		uint64_t *q = realloc(a->hbuf, m->ntraces * sizeof(*q));

		if (!q)
			return cd_err_set(err, -CD_ENOMEM, 0, "archive: out of memory");
		a->hbuf = q;
		a->hcap = m->ntraces;
	}
	for (size_t i = 0; i < m->ntraces; i++) {
		if (m->traces[i].len && !m->traces[i].ptr)
			return cd_err_set(err, -CD_EINVAL, 0, "archive: chunk %" PRIu64 ": NULL trace",
					  m->seq);
		a->hbuf[i] = arch_hash(m->traces[i].ptr, m->traces[i].len);
	}
	if (m->ntraces > 1)
		qsort(a->hbuf, m->ntraces, sizeof(*a->hbuf), u64_cmp);
	for (size_t i = 0; i < m->ntraces; i++)
		if (nt == 0 || a->hbuf[i] != a->hbuf[nt - 1])
			a->hbuf[nt++] = a->hbuf[i];

	meta_len = arch__frame_meta_size((uint32_t)nt, m->services, m->nservices); /* upper bound */
	bound = ZSTD_compressBound(c->len);
	rc = buf_reserve(&a->wbuf, ARCH_HDR_BYTES + meta_len + bound);
	if (rc < 0)
		return cd_err_set(err, rc, 0, "archive: out of memory");

	p = a->wbuf.p + ARCH_HDR_BYTES + 8;
	for (size_t i = 0; i < nt; i++, p += 8)
		for (int k = 0; k < 8; k++)
			p[k] = (uint8_t)(a->hbuf[i] >> (8 * k));
	for (size_t i = 0; i < m->nservices; i++) {
		bool dup = false;

		for (size_t j = 0; j < i && !dup; j++)
			dup = m->services[j].len == m->services[i].len &&
			      memcmp(m->services[j].ptr, m->services[i].ptr, m->services[i].len) == 0;
		if (dup)
			continue;
		p[0] = (uint8_t)m->services[i].len;
		p[1] = (uint8_t)(m->services[i].len >> 8);
		if (m->services[i].len)
			memcpy(p + 2, m->services[i].ptr, m->services[i].len);
		p += 2 + m->services[i].len;
		nsvc++;
	}
	meta_len = (size_t)(p - (a->wbuf.p + ARCH_HDR_BYTES));
	le_put32(a->wbuf.p + ARCH_HDR_BYTES, (uint32_t)nt);
	le_put32(a->wbuf.p + ARCH_HDR_BYTES + 4, (uint32_t)nsvc);

	z = ZSTD_compressCCtx(a->zc, p, bound, c->payload, c->len, a->opt.zstd_level);
	if (ZSTD_isError(z))
		return cd_err_set(err, -CD_ENOMEM, 0, "archive: zstd: %s", ZSTD_getErrorName(z));

	h.seq = m->seq;
	h.min_ts = m->min_ts_ns;
	h.max_ts = m->max_ts_ns;
	h.nrecords = m->nrecords;
	h.raw_len = (uint32_t)c->len;
	h.zlen = (uint32_t)z;
	h.meta_len = (uint32_t)meta_len;
	h.body_hash = arch__xxh64(a->wbuf.p + ARCH_HDR_BYTES, meta_len + z, 0);
	arch__frame_hdr_encode(a->wbuf.p, &h);
	*flen = ARCH_HDR_BYTES + meta_len + z;
	return 0;
}

int arch_appendv(arch *a, const struct arch_chunk *chunks, size_t n, struct cd_err *err)
{
	int rc;

	if (!a || (n && !chunks))
		return cd_err_set(err, -CD_EINVAL, 0, "archive: bad arguments");
	if (a->opt.read_only)
		return cd_err_set(err, -CD_EINVAL, 0, "archive %s: read-only handle", a->dir);
	for (size_t i = 0; i < n; i++) {
		struct arch__frame_hdr h;
		struct arch__frame_meta m;
		struct seg *s;
		size_t flen = 0;
		uint64_t off;

		rc = encode_frame(a, &chunks[i], &flen, err);
		if (rc < 0)
			return rc;
		if (a->have_open && a->segs[a->nsegs - 1].data_bytes > 0 &&
		    a->segs[a->nsegs - 1].data_bytes + flen > a->opt.segment_bytes) {
			rc = seal(a, err);
			if (rc < 0)
				return rc;
		}
		if (!a->have_open) {
			rc = start_segment(a, err);
			if (rc < 0)
				return rc;
		}
		s = &a->segs[a->nsegs - 1];
		off = s->data_bytes;
		rc = fio_pwrite_full(a->open_fd, a->wbuf.p, flen, off);
		if (rc < 0) {
			int e = errno;

			if (ftruncate(a->open_fd, (off_t)off) < 0)
				diag(a, "archive %s: cannot cut a failed append back", a->dir);
			return cd_err_set(err, rc, e, "archive %s: write failed", a->dir);
		}
		rc = arch__frame_check(a->wbuf.p, flen, false, &h, &m);
		assert(rc == 0);
		rc = arch__build_add(&a->ob, off, &h, &m);
		if (rc < 0) {
			if (ftruncate(a->open_fd, (off_t)off) < 0)
				diag(a, "archive %s: cannot cut a failed append back", a->dir);
			return cd_err_set(err, rc, 0, "archive: out of memory");
		}
		s->data_bytes = off + flen;
		s->mtime_ns = now_ns();
		a->st.frames_appended++;
		a->st.bytes_appended += flen;
		if (chunks[i].meta->seq > a->st.max_seq)
			a->st.max_seq = chunks[i].meta->seq;
	}
	if (n && !a->opt.no_sync && fdatasync(a->open_fd) < 0)
		return cd_err_set(err, -CD_EIO, errno, "archive %s: fsync failed", a->dir);
	/* The frames are durable: what follows must not fail the call (the
	 * caller would re-send). A seal that fails is retried before the next
	 * frame is written, where it does fail the append (backpressure). */
	if (a->have_open && a->segs[a->nsegs - 1].data_bytes >= a->opt.segment_bytes) {
		struct cd_err serr = {0};

		if (seal(a, &serr) < 0)
			diag(a, "%s (sealing is retried at the next append)", serr.msg);
	}
	if (n && (a->opt.max_bytes || a->opt.max_age_ns)) {
		struct cd_err rerr = {0};

		if (arch_retain(a, now_ns(), NULL, &rerr) < 0)
			diag(a, "%s", rerr.msg);
	}
	return 0;
}

int arch_append(arch *a, const void *payload, size_t len, const struct arch_chunk_meta *meta,
		struct cd_err *err)
{
	struct arch_chunk c = {.payload = payload, .len = len, .meta = meta};

	return arch_appendv(a, &c, 1, err);
}

int arch_close(arch *a, struct cd_err *err)
{
	int rc = 0;

	if (!a)
		return 0;
	if (!a->opt.read_only && a->have_open)
		rc = seal(a, err);
	arch_free(a);
	return rc;
}

/* --- lookups ---------------------------------------------------------------------- */

/* State of one walk (find or scan). */
struct walk {
	arch *a;		    /* the archive */
	struct seg *s;		    /* the segment being walked */
	int fd;			    /* its data file, opened on the first candidate; -1 before */
	int64_t since, until;	    /* time window */
	arch_cb cb;		    /* the caller's callback */
	void *cookie;		    /* its cookie */
	struct arch_find_stats *st; /* counters */
	struct cd_err *err;	    /* for hard errors */
	bool gone;		    /* the segment was deleted under us (retention) */
	bool stopped;		    /* the callback returned non-zero */
	int hard;		    /* a hard error (-CD_ENOMEM, -CD_EIO) met in a callback */
};

/* Read, check, decompress and hand over one frame. */
static int walk_frame(struct walk *w, const struct arch__frame_ent *f)
{
	arch *a = w->a;
	struct arch__frame_hdr h;
	struct arch__frame_meta m;
	struct arch_chunk_meta cm;
	size_t got;
	int rc;

	if (f->max_ts < w->since || f->min_ts > w->until)
		return 0;
	if (w->fd < 0) {
		char name[64];

		seg_name(name, sizeof(name), w->s->id, "seg");
		if (a->have_open && w->s == &a->segs[a->nsegs - 1] && a->open_fd >= 0)
			w->fd = dup(a->open_fd);
		else
			w->fd = openat(a->dirfd, name, O_RDONLY | O_CLOEXEC);
		if (w->fd < 0) {
			if (errno == ENOENT) {
				w->gone = true; /* deleted by retention meanwhile: skip it */
				return -CD_ENOENT;
			}
			w->hard = cd_err_set(w->err, -CD_EIO, errno, "archive %s: cannot open %s", a->dir,
					     name);
			return w->hard;
		}
		w->st->opened++;
	}
	rc = buf_reserve(&a->rbuf, f->len);
	if (rc < 0) {
		w->hard = cd_err_set(w->err, rc, 0, "archive: out of memory");
		return rc;
	}
	rc = fio_pread_full(w->fd, a->rbuf.p, f->len, f->off);
	if (rc == -CD_EIO) {
		w->hard = cd_err_set(w->err, rc, errno, "archive %s: read failed", a->dir);
		return rc;
	}
	w->st->frames_read++;
	if (rc < 0 || arch__frame_check(a->rbuf.p, f->len, true, &h, &m) < 0 ||
	    (uint64_t)ARCH_HDR_BYTES + h.meta_len + h.zlen != f->len)
		goto corrupt;
	rc = buf_reserve(&a->dbuf, h.raw_len);
	if (rc < 0) {
		w->hard = cd_err_set(w->err, rc, 0, "archive: out of memory");
		return rc;
	}
	got = ZSTD_decompressDCtx(a->zd, a->dbuf.p, h.raw_len, a->rbuf.p + ARCH_HDR_BYTES + h.meta_len, h.zlen);
	if (ZSTD_isError(got) || got != h.raw_len)
		goto corrupt;
	memset(&cm, 0, sizeof(cm));
	cm.seq = h.seq;
	cm.min_ts_ns = h.min_ts;
	cm.max_ts_ns = h.max_ts;
	cm.nrecords = h.nrecords;
	rc = w->cb(w->cookie, a->dbuf.p, got, &cm);
	if (rc)
		w->stopped = true;
	return rc;

corrupt:
	w->st->frames_corrupt++;
	a->st.frames_corrupt++;
	diag(a, "archive %s: segment %016" PRIx64 ": corrupt frame at %" PRIu64 " skipped", a->dir, w->s->id,
	     f->off);
	return 0;
}

static int walk_sealed_frame(void *ctx, uint32_t i)
{
	struct walk *w = ctx;
	struct arch__frame_ent f;

	arch__index_frame(&w->s->ix, i, &f);
	return walk_frame(w, &f);
}

/* Walk one segment; @hash NULL = every frame. */
static int walk_segment(struct walk *w, struct seg *s, const uint64_t *hash)
{
	arch *a = w->a;
	bool open = a->have_open && s == &a->segs[a->nsegs - 1];
	bool rebuilt = false;
	int rc = 0;

	w->s = s;
	w->fd = -1;
	w->hard = 0;
	w->gone = false;
	w->stopped = false;
	if (open) {
		if (a->ob.nframes == 0 || a->ob.max_ts < w->since || a->ob.min_ts > w->until)
			return 0;
		w->st->examined++;
		if (hash) {
			for (size_t i = 0; i < a->ob.nentries && rc == 0; i++)
				if (a->ob.entries[i].hash == *hash)
					rc = walk_frame(w, &a->ob.frames[a->ob.entries[i].frame]);
		} else {
			for (uint32_t i = 0; i < a->ob.nframes && rc == 0; i++)
				rc = walk_frame(w, &a->ob.frames[i]);
		}
		goto out;
	}
	rc = seg_load(a, s, &rebuilt, w->err);
	if (rebuilt)
		w->st->rebuilt++;
	if (rc == -CD_ENOENT)
		return 0; /* deleted meanwhile */
	if (rc < 0)
		return rc;
	if (s->ix.nframes == 0 || s->ix.max_ts < w->since || s->ix.min_ts > w->until)
		return 0;
	w->st->examined++;
	if (hash) {
		rc = arch__index_lookup(&s->ix, *hash, true, walk_sealed_frame, w);
		if (rc == -CD_ECORRUPT && !w->hard && !w->stopped) {
			diag(a, "archive %s: index of segment %016" PRIx64 " has a corrupt block", a->dir,
			     s->id);
			if (w->fd >= 0)
				close(w->fd);
			w->fd = -1;
			/* Frames already handed over would come again; the caller
			 * de-duplicates by seq (at-least-once, like the rest). */
			seg_unload(s);
			s->has_idx = false;
			rc = seg_load(a, s, &rebuilt, w->err);
			w->st->rebuilt++;
			if (rc == 0)
				rc = arch__index_lookup(&s->ix, *hash, true, walk_sealed_frame, w);
		}
	} else {
		for (uint32_t i = 0; i < s->ix.nframes && rc == 0; i++)
			rc = walk_sealed_frame(w, i);
	}
out:
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	if (w->gone)
		return 0;
	return w->hard ? w->hard : rc;
}

static int walk_all(arch *a, const uint64_t *hash, int64_t since, int64_t until, arch_cb cb, void *cookie,
		    struct arch_find_stats *st, struct cd_err *err)
{
	struct arch_find_stats dummy;
	struct walk w = {.a = a, .since = since, .until = until, .cb = cb, .cookie = cookie, .err = err};
	int rc = 0;

	w.st = st ? st : &dummy;
	memset(w.st, 0, sizeof(*w.st));
	if (!a || !cb)
		return cd_err_set(err, -CD_EINVAL, 0, "archive: bad arguments");
	w.st->segments = (uint32_t)a->nsegs;
	for (size_t i = 0; i < a->nsegs && rc == 0; i++)
		rc = walk_segment(&w, &a->segs[i], hash);
	return rc;
}

int arch_find(arch *a, const void *trace, size_t len, int64_t since_ns, int64_t until_ns, arch_cb cb,
	      void *cookie, struct arch_find_stats *st, struct cd_err *err)
{
	uint64_t h;

	if (!trace && len)
		return cd_err_set(err, -CD_EINVAL, 0, "archive: NULL trace");
	h = arch_hash(trace, len);
	return walk_all(a, &h, since_ns, until_ns, cb, cookie, st, err);
}

int arch_scan(arch *a, int64_t since_ns, int64_t until_ns, arch_cb cb, void *cookie,
	      struct arch_find_stats *st, struct cd_err *err)
{
	return walk_all(a, NULL, since_ns, until_ns, cb, cookie, st, err);
}

/* --- retention and stats --------------------------------------------------------------- */

static uint64_t total_bytes(const arch *a)
{
	uint64_t t = 0;

	for (size_t i = 0; i < a->nsegs; i++)
		t += a->segs[i].data_bytes + a->segs[i].idx_bytes;
	return t;
}

int arch_retain(arch *a, int64_t now, uint32_t *deleted, struct cd_err *err)
{
	uint64_t total;
	uint32_t n = 0;
	int rc = 0;

	if (deleted)
		*deleted = 0;
	if (!a || a->opt.read_only)
		return cd_err_set(err, -CD_EINVAL, 0, "archive: retention needs a writable handle");
	total = total_bytes(a);
	while (a->nsegs > (a->have_open ? 1u : 0u)) {
		struct seg *s = &a->segs[0];
		bool too_big = a->opt.max_bytes && total > a->opt.max_bytes;
		bool too_old = a->opt.max_age_ns && now - s->mtime_ns > a->opt.max_age_ns;
		char name[64];

		if (!too_big && !too_old)
			break;
		seg_name(name, sizeof(name), s->id, "seg");
		if (unlinkat(a->dirfd, name, 0) < 0 && errno != ENOENT) {
			rc = cd_err_set(err, -CD_EIO, errno, "archive %s: cannot delete %s", a->dir, name);
			break;
		}
		seg_name(name, sizeof(name), s->id, "idx");
		unlinkat(a->dirfd, name, 0);
		total -= s->data_bytes + s->idx_bytes;
		seg_unload(s);
		memmove(&a->segs[0], &a->segs[1], (a->nsegs - 1) * sizeof(*a->segs));
		a->nsegs--;
		n++;
	}
	a->st.segments_deleted += n;
	if (deleted)
		*deleted = n;
	return rc;
}

void arch_stats(const arch *a, struct arch_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!a)
		return;
	*st = a->st;
	st->segments = (uint32_t)a->nsegs;
	st->bytes = total_bytes(a);
}
