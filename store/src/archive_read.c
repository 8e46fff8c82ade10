/*
 * store/src/archive_read.c - lookups in the archive: the frames of one
 * trace (through the segment indexes' hash tables) or of a time window,
 * each checked, decompressed and handed to the caller's callback.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "archive_dir.h"
#include <store/fileio.h>
#include <store/limits.h>

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

		arch__seg_name(name, sizeof(name), w->s->id, "seg");
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
	got = ZSTD_decompressDCtx(a->zd, a->dbuf.p, h.raw_len, a->rbuf.p + ARCH_HDR_BYTES + h.meta_len,
				  h.zlen);
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
	arch__diag(a, "archive %s: segment %016" PRIx64 ": corrupt frame at %" PRIu64 " skipped", a->dir,
		   w->s->id, f->off);
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
	rc = arch__seg_load(a, s, &rebuilt, w->err);
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
			arch__diag(a, "archive %s: index of segment %016" PRIx64 " has a corrupt block",
				   a->dir, s->id);
			if (w->fd >= 0)
				close(w->fd);
			w->fd = -1;
			/* Frames already handed over would come again; the caller
			 * de-duplicates by seq (at-least-once, like the rest). */
			arch__seg_unload(s);
			s->has_idx = false;
			rc = arch__seg_load(a, s, &rebuilt, w->err);
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

int arch__walk_segment(arch *a, size_t i, arch_cb cb, void *cookie, struct cd_err *err)
{
	struct arch_find_stats st = {0};
	struct walk w = {.a = a,
			 .since = INT64_MIN,
			 .until = INT64_MAX,
			 .cb = cb,
			 .cookie = cookie,
			 .err = err,
			 .st = &st};

	return walk_segment(&w, &a->segs[i], NULL);
}

/* Each (u16 length, bytes) name of the @n at @p to @cb. */
static int each_service(const uint8_t *p, uint32_t n, arch_service_cb cb, void *cookie)
{
	int rc = 0;

	for (uint32_t i = 0; i < n && rc == 0; i++) {
		const uint16_t len = le_get16(p);

		rc = cb(cookie, (const char *)p + 2, len);
		p += 2 + len;
	}
	return rc;
}

int arch_services(arch *a, arch_service_cb cb, void *cookie, bool *partial, struct cd_err *err)
{
	int rc = 0;

	if (partial)
		*partial = false;
	if (!a || !cb)
		return cd_err_set(err, -CD_EINVAL, 0, "archive: bad arguments");
	for (size_t i = 0; i < a->nsegs && rc == 0; i++) {
		struct seg *s = &a->segs[i];
		bool rebuilt = false;

		if (a->have_open && i == a->nsegs - 1) {
			rc = each_service(a->ob.svc, a->ob.nsvc, cb, cookie);
			if (partial && a->ob.svc_partial)
				*partial = true;
			continue;
		}
		rc = arch__seg_load(a, s, &rebuilt, err);
		if (rc == -CD_ENOENT) {
			rc = 0; /* deleted meanwhile (retention) */
			continue;
		}
		if (rc == 0) {
			rc = each_service(s->ix.services, s->ix.nservices, cb, cookie);
			if (partial && (s->ix.flags & ARCH_IDX_F_SVC_PARTIAL))
				*partial = true;
		}
	}
	return rc;
}
