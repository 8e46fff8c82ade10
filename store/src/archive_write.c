/*
 * store/src/archive_write.c - the archive's writer: frames appended to the
 * open segment (each acknowledged after fdatasync()), sealing a segment
 * (its index written, a new segment started), closing, and retention
 * (whole sealed segments, oldest first) with the size counters.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "archive_dir.h"
#include <store/fileio.h>
#include <store/limits.h>

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

		arch__seg_name(name, sizeof(name), s->id, "seg");
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
	rc = arch__write_index(a, s->id, buf, len, err);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	arch__seg_adopt_index(s, buf, len);
	s->sum_bytes = arch__sum_seal(a, s->id, s->data_bytes, a->ob.min_ts, a->ob.max_ts);
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

	arch__seg_name(name, sizeof(name), id, "seg");
	rc = arch__push_seg(a, id, err);
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
	arch__sum_start(a, id);
	a->have_open = true;
	return 0;
}

static int u64_cmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* Whether the (u16 length, bytes) list [@s, @end) holds @k (@len bytes). */
static bool service_listed(const uint8_t *s, const uint8_t *end, const char *k, uint32_t len)
{
	while (s < end) {
		uint32_t l = le_get16(s);

		if (l == len && (len == 0 || memcmp(s + 2, k, len) == 0))
			return true;
		s += 2 + l;
	}
	return false;
}

/* Build the frame of @c in a->wbuf.p; *@flen its length. */
static int encode_frame(arch *a, const struct arch_chunk *c, size_t *flen, struct cd_err *err)
{
	const struct arch_chunk_meta *m = c->meta;
	struct arch__frame_hdr h;
	size_t nt = 0, nsvc = 0, meta_len, bound, z;
	uint8_t *p, *svc;
	int rc;

	h.flags = 0;

	if (!c->payload || c->len == 0 || !m || (m->ntraces && !m->traces) ||
	    (m->nservices && !m->services) || m->min_ts_ns > m->max_ts_ns)
		return cd_err_set(err, -CD_EINVAL, 0, "archive: bad chunk (seq %" PRIu64 ")", m ? m->seq : 0);
	/* Services are content: past their caps they are cut and the frame
	 * flagged (below), never refused. The trace cap is above anything a
	 * chunk can hold (limits.h), so only a misusing caller meets it. */
	if (c->len > CD_ARCH_PAYLOAD_MAX || m->ntraces > CD_ARCH_FRAME_TRACES_MAX)
		return cd_err_set(err, -CD_ELIMIT, 0, "archive: chunk %" PRIu64 " exceeds a cap of limits.h",
				  m->seq);
	for (size_t i = 0; i < m->nservices; i++)
		if (m->services[i].len && !m->services[i].ptr)
			return cd_err_set(err, -CD_EINVAL, 0, "archive: chunk %" PRIu64 ": NULL service",
					  m->seq);

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
	svc = p;
	for (size_t i = 0; i < m->nservices; i++) {
		uint32_t l = m->services[i].len;

		if (l > CD_ARCH_SERVICE_LEN_MAX) {
			l = CD_ARCH_SERVICE_LEN_MAX; /* the payload keeps the whole name */
			h.flags |= ARCH_FRAME_F_SVC_PARTIAL;
		}
		if (service_listed(svc, p, m->services[i].ptr, l))
			continue;
		if (nsvc == CD_ARCH_FRAME_SERVICES_MAX) {
			h.flags |= ARCH_FRAME_F_SVC_PARTIAL;
			break;
		}
		p[0] = (uint8_t)l;
		p[1] = (uint8_t)(l >> 8);
		if (l)
			memcpy(p + 2, m->services[i].ptr, l);
		p += 2 + l;
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
				arch__diag(a, "archive %s: cannot cut a failed append back", a->dir);
			return cd_err_set(err, rc, e, "archive %s: write failed", a->dir);
		}
		rc = arch__frame_check(a->wbuf.p, flen, false, &h, &m);
		assert(rc == 0);
		rc = arch__build_add(&a->ob, off, &h, &m);
		if (rc < 0) {
			if (ftruncate(a->open_fd, (off_t)off) < 0)
				arch__diag(a, "archive %s: cannot cut a failed append back", a->dir);
			return cd_err_set(err, rc, 0, "archive: out of memory");
		}
		s->data_bytes = off + flen;
		s->mtime_ns = now_ns();
		arch__sum_frame(a, s->id, chunks[i].payload, chunks[i].len, chunks[i].meta);
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
			arch__diag(a, "%s (sealing is retried at the next append)", serr.msg);
	}
	if (n && (a->opt.max_bytes || a->opt.max_age_ns)) {
		struct cd_err rerr = {0};

		if (arch_retain(a, now_ns(), NULL, &rerr) < 0)
			arch__diag(a, "%s", rerr.msg);
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
	arch__free(a);
	return rc;
}

/* --- retention and stats --------------------------------------------------------------- */

static uint64_t total_bytes(const arch *a)
{
	uint64_t t = 0;

	for (size_t i = 0; i < a->nsegs; i++)
		t += a->segs[i].data_bytes + a->segs[i].idx_bytes + a->segs[i].sum_bytes;
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
		arch__seg_name(name, sizeof(name), s->id, "seg");
		if (unlinkat(a->dirfd, name, 0) < 0 && errno != ENOENT) {
			rc = cd_err_set(err, -CD_EIO, errno, "archive %s: cannot delete %s", a->dir, name);
			break;
		}
		arch__seg_name(name, sizeof(name), s->id, "idx");
		unlinkat(a->dirfd, name, 0);
		arch__seg_name(name, sizeof(name), s->id, "sum");
		unlinkat(a->dirfd, name, 0);
		total -= s->data_bytes + s->idx_bytes + s->sum_bytes;
		arch__seg_unload(s);
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
