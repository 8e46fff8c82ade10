/*
 * store/src/archive_summary.c - the archive's transaction summaries: the
 * writer's per-segment table (filled as frames are appended, written as
 * NNNN.sum when the segment is sealed) and arch_summaries(), the reader
 * (its newest-first search with a light filter: archive_sumlight.c).
 *
 * DESIGN: the summaries of a segment are computed once, by the writer,
 * from the records it already holds in memory (the chunk's payload), so a
 * search never decompresses a sealed segment. The writer keeps one block
 * of transactions (query/sumwrite.h: no allocation per transaction) and
 * appends each finished block to NNNN.sum.tmp; the header, written last
 * at the seal, makes the file whole (a crash leaves a .tmp, removed when
 * the archive is opened again). A chunk whose records were summarised
 * where it was built (the collector's pipeline, chunk_take_summaries())
 * brings its encoded summaries along: they are copied into the block as
 * they are, and its payload is not decoded (a transaction that spans
 * chunks then has one summary per chunk in the block: readers merge
 * them, as they merge those of different blocks). The file is written only
 * when the writer saw the segment from its first frame (not after a
 * restart that recovered it) and every payload decoded as a chunk; a
 * missing or invalid file costs a reader one scan of that segment, never
 * a wrong answer. The file is checked like the index (two XXH64 hashes,
 * its size, and the data file's size it was made for).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive_dir.h"
#include "archive_sum_int.h"
#include <store/archive_sum.h>
#include <store/chunk.h>
#include <store/fileio.h>
#include "query/codec.h"
#include "query/filter.h"
#include "query/light.h"
#include "query/sumwrite.h"

#define ARCH_SUM_MAGIC 0x53414c43u /* "CLAS" */
/* 2: span hashes by qy_span_hash()'s 8-byte steps (1: FNV-1a; read as invalid, the segment scanned) */
#define ARCH_SUM_VERSION 2u

/*
 * Summaries are kept in memory for at most this many transactions: then
 * they are encoded and compressed into a block, appended to the file
 * being written, and the table starts afresh (a transaction seen again
 * later gets a second summary in a later block: readers merge them). This
 * bounds the writer's memory to one table and one block, whatever the
 * segment's size.
 */
#define ARCH_SUM_BLOCK_TXNS 4096u
/*
 * The blocks' zstd level: the fastest. Most of a block is span hashes,
 * which no level compresses, so higher levels only cost the writer CPU.
 */
#define ARCH_SUM_ZSTD_LEVEL 1

/* The writer's summaries of the open segment. */
struct arch__sum {
	uint64_t seg; /* the segment summarised from its first frame; 0: none */
	bool broken;  /* a payload did not decode, memory ran out or a write failed: no file */
	struct qy_keys keys;
	struct qy_sumw w;	       /* the current block's transactions */
	int fd;			       /* NNNN.sum.tmp, written as blocks are made; -1: none */
	uint64_t off;		       /* its bytes so far, the header's room included */
	struct arch__xxh64_state hash; /* of its bytes after the header */
	struct qy_bytes raw;	       /* the block being made: summaries carried by chunks so far */
	uint32_t nraw;		       /* summaries in raw */
	struct qy_bytes z;	       /* scratch: one block compressed, after its (n, zlen) */
	uint64_t nsum;		       /* summaries in the blocks */
	int err;		       /* errno of a failed write, 0 */
};

/* Room for @n bytes at @b (whatever it holds). Return: 0 or -CD_ENOMEM. */
static int reserve(struct qy_bytes *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 65536;
	uint8_t *p;

	if (b->cap >= n)
		return 0;
	while (cap < n)
		cap *= 2;
	if (!(p = realloc(b->p, cap)))
		return -CD_ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

/* Append @n bytes to the file (they are hashed as its body). Return: 0 or -CD_EIO (s->err set). */
static int file_put(struct arch__sum *s, const void *p, size_t n)
{
	if (fio_pwrite_full(s->fd, p, n, s->off) < 0) {
		s->err = errno;
		return -CD_EIO;
	}
	arch__xxh64_update(&s->hash, p, n);
	s->off += n;
	return 0;
}

/* Close the file being written; @drop: remove it too. */
static void file_close(arch *a, struct arch__sum *s, bool drop)
{
	char tmp[64];

	if (s->fd < 0)
		return;
	close(s->fd);
	s->fd = -1;
	if (drop) {
		arch__seg_name(tmp, sizeof(tmp), s->seg, "sum.tmp");
		unlinkat(a->dirfd, tmp, 0);
	}
}

/* Start segment @seg's file: NNNN.sum.tmp, header room, then the keys as (u16 length, bytes). */
static int file_start(arch *a, struct arch__sum *s, uint64_t seg)
{
	char tmp[64];
	uint8_t kl[2];

	arch__seg_name(tmp, sizeof(tmp), seg, "sum.tmp");
	s->fd = openat(a->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (s->fd < 0) {
		s->err = errno;
		return -CD_EIO;
	}
	s->off = ARCH_HDR_BYTES; /* the header is written at the seal */
	arch__xxh64_init(&s->hash);
	for (size_t k = 0; k < s->keys.n; k++) {
		le_put16(kl, (uint16_t)s->keys.len[k]);
		if (file_put(s, kl, 2) < 0 || file_put(s, s->keys.v[k], s->keys.len[k]) < 0)
			return -CD_EIO;
	}
	return 0;
}

static void sum_reset(arch *a, struct arch__sum *s, uint64_t seg)
{
	file_close(a, s, true);
	qy_sumw_clear(&s->w);
	s->raw.len = 0;
	s->nraw = 0;
	s->seg = seg;
	s->nsum = 0;
	s->err = 0;
	s->broken = seg && file_start(a, s, seg) < 0;
}

/*
 * Encode and compress the table as one block, (u32 n, u32 zlen, zstd
 * frame), appended to the file. Return: 0, -CD_ENOMEM, -CD_EIO.
 */
static int flush_block(arch *a, struct arch__sum *s)
{
	size_t bound, z, n = qy_sumw_count(&s->w) + s->nraw;

	if (n == 0)
		return 0;
	if (n > UINT32_MAX || qy_sumw_encode(&s->w, &s->raw) < 0)
		return -CD_ENOMEM;
	bound = ZSTD_compressBound(s->raw.len);
	if (reserve(&s->z, 8 + bound) < 0)
		return -CD_ENOMEM;
	z = ZSTD_compressCCtx(a->zc, s->z.p + 8, bound, s->raw.p, s->raw.len, ARCH_SUM_ZSTD_LEVEL);
	if (ZSTD_isError(z) || z > UINT32_MAX)
		return -CD_ENOMEM;
	le_put32(s->z.p, (uint32_t)n);
	le_put32(s->z.p + 4, (uint32_t)z);
	if (file_put(s, s->z.p, 8 + z) < 0)
		return -CD_EIO;
	s->nsum += n;
	qy_sumw_clear(&s->w);
	s->raw.len = 0;
	s->nraw = 0;
	/* the scratch is kept for the next block, but not an outsized one's worth */
	if (s->raw.cap > (8u << 20)) {
		free(s->raw.p);
		s->raw = (struct qy_bytes){0};
	}
	return 0;
}

void arch__sum_start(arch *a, uint64_t seg)
{
	if (!a->opt.summaries)
		return; /* not asked for: readers scan the segments' frames */
	if (!a->sum) {
		a->sum = calloc(1, sizeof(*a->sum));
		if (!a->sum)
			return; /* no summaries: readers scan the segment */
		a->sum->fd = -1;
		if ((a->opt.summary_keys ? qy_keys_copy(&a->sum->keys, a->opt.summary_keys)
					 : qy_keys_defaults(&a->sum->keys)) < 0) {
			qy_keys_release(&a->sum->keys);
			free(a->sum);
			a->sum = NULL;
			return;
		}
		qy_sumw_init(&a->sum->w, &a->sum->keys);
	}
	sum_reset(a, a->sum, seg);
}

/* Whether summaries made with @k are made as with the writer's keys @w (the same keys, in order). */
static bool keys_same(const struct qy_keys *k, const struct qy_keys *w)
{
	if (k == w)
		return true;
	if (k->n != w->n)
		return false;
	for (size_t i = 0; i < k->n; i++)
		if (k->len[i] != w->len[i] || memcmp(k->v[i], w->v[i], k->len[i]) != 0)
			return false;
	return true;
}

void arch__sum_frame(arch *a, uint64_t seg, const void *payload, size_t len,
		     const struct arch_chunk_meta *meta)
{
	struct arch__sum *s = a->sum;
	struct chunk_iter it;
	struct fmt_record r;
	int rc = 0;

	if (!s || s->seg != seg || s->broken)
		return;
	if (meta->sum_keys && keys_same(meta->sum_keys, &s->keys) && meta->nsums <= UINT32_MAX - s->nraw) {
		/* summarised where the chunk was built: taken as they are */
		if (meta->sums_len && (rc = reserve(&s->raw, s->raw.len + meta->sums_len)) == 0) {
			memcpy(s->raw.p + s->raw.len, meta->sums, meta->sums_len);
			s->raw.len += meta->sums_len;
		}
		s->nraw += rc == 0 ? meta->nsums : 0;
	} else {
		chunk_iter_init_bytes(&it, payload, len);
		while ((rc = chunk_iter_next(&it, &r, NULL)) > 0)
			if (qy_sumw_add(&s->w, &r) < 0) {
				rc = -1;
				break;
			}
	}
	if (rc < 0 || (qy_sumw_count(&s->w) + s->nraw >= ARCH_SUM_BLOCK_TXNS && flush_block(a, s) < 0))
		s->broken = true;
}

void arch__sum_free(arch *a)
{
	if (!a->sum)
		return;
	file_close(a, a->sum, true);
	qy_sumw_release(&a->sum->w);
	qy_keys_release(&a->sum->keys);
	free(a->sum->raw.p);
	free(a->sum->z.p);
	free(a->sum);
	a->sum = NULL;
}

/* The header of the file written so far. */
static void sum_header(struct arch__sum *s, uint8_t h[ARCH_HDR_BYTES], uint64_t data_bytes, int64_t min_ts,
		       int64_t max_ts)
{
	memset(h, 0, ARCH_HDR_BYTES);
	le_put32(h, ARCH_SUM_MAGIC);
	le_put16(h + 4, ARCH_SUM_VERSION);
	le_put64(h + 8, data_bytes);
	le_put64(h + 16, (uint64_t)min_ts);
	le_put64(h + 24, (uint64_t)max_ts);
	le_put32(h + 32, (uint32_t)s->nsum);
	le_put32(h + 36, (uint32_t)s->keys.n);
	le_put64(h + 40, s->off - ARCH_HDR_BYTES);
	le_put64(h + 48, arch__xxh64_final(&s->hash));
	le_put64(h + 56, arch__xxh64(h, 56, 0));
}

/* Finish the file: its header, fsync, close, rename, fsync of the directory. Return: the failed step, or NULL. */
static const char *file_finish(arch *a, struct arch__sum *s, const char *name, const char *tmp,
			       uint64_t data_bytes, int64_t min_ts, int64_t max_ts)
{
	uint8_t h[ARCH_HDR_BYTES];
	int fd = s->fd;

	sum_header(s, h, data_bytes, min_ts, max_ts);
	if (fio_pwrite_full(fd, h, ARCH_HDR_BYTES, 0) < 0)
		return "write";
	if (!a->opt.no_sync && fdatasync(fd) < 0)
		return "fsync";
	s->fd = -1;
	if (close(fd) < 0)
		return "close";
	if (renameat(a->dirfd, tmp, a->dirfd, name) < 0)
		return "rename";
	if (!a->opt.no_sync && fio_sync_dir(a->dirfd) < 0)
		return "fsync of the directory";
	return NULL;
}

uint64_t arch__sum_seal(arch *a, uint64_t seg, uint64_t data_bytes, int64_t min_ts, int64_t max_ts)
{
	struct arch__sum *s = a->sum;
	char name[64], tmp[64];
	const char *step;
	uint64_t written = 0;

	if (!s || s->seg != seg)
		return 0;
	if (!s->broken && flush_block(a, s) < 0)
		s->broken = true;
	arch__seg_name(name, sizeof(name), seg, "sum");
	arch__seg_name(tmp, sizeof(tmp), seg, "sum.tmp");
	if (s->broken && s->err) {
		arch__diag(a, "archive %s: cannot write %s (%s); readers scan the segment", a->dir, tmp,
			   strerror(s->err));
	} else if (s->broken || s->nsum > UINT32_MAX) {
		arch__diag(a, "archive %s: segment %016" PRIx64 " has no summary file (readers scan it)",
			   a->dir, seg);
	} else if ((step = file_finish(a, s, name, tmp, data_bytes, min_ts, max_ts))) {
		arch__diag(a, "archive %s: cannot write %s (%s: %s); readers scan the segment", a->dir, name,
			   step, strerror(errno));
		/* a file renamed but not synced is whole (its header last): keep it */
		if (strcmp(step, "fsync of the directory") != 0)
			unlinkat(a->dirfd, tmp, 0);
	} else {
		written = s->off;
	}
	sum_reset(a, s, 0);
	return written;
}

/* ---- reading ---- */

static int sum_decode(const struct sumfile *f, struct qy_txns *out);

/*
 * Open @s's summary file and read its header into @hdr, checked (magic,
 * version, hash, the data file's size, its own size). Return: the open
 * descriptor, or -1 (no usable file); *@size its size.
 */
static int sum_open(arch *a, const struct seg *s, uint8_t hdr[ARCH_HDR_BYTES], size_t *size,
		    struct arch_sum_stats *st)
{
	char name[64];
	struct stat sb;
	int fd;

	arch__seg_name(name, sizeof(name), s->id, "sum");
	fd = openat(a->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) < 0 || sb.st_size < ARCH_HDR_BYTES || (uint64_t)sb.st_size > SIZE_MAX / 2 ||
	    fio_pread_full(fd, hdr, ARCH_HDR_BYTES, 0) < 0) {
		close(fd);
		return -1;
	}
	st->bytes_read += ARCH_HDR_BYTES;
	if (le_get32(hdr) != ARCH_SUM_MAGIC || le_get16(hdr + 4) != ARCH_SUM_VERSION ||
	    le_get16(hdr + 6) != 0 || le_get64(hdr + 56) != arch__xxh64(hdr, 56, 0) ||
	    le_get64(hdr + 8) != s->data_bytes ||
	    le_get64(hdr + 40) != (uint64_t)sb.st_size - ARCH_HDR_BYTES) {
		close(fd);
		return -1;
	}
	*size = (size_t)sb.st_size;
	return fd;
}

/*
 * Read and check @s's summary file for the reader's @keys and the window
 * [@since, @until]: the header first, so a segment outside the window
 * costs one 64-byte read, not its whole file.
 */
enum sum_state arch__sum_load(arch *a, const struct seg *s, const struct qy_keys *keys, int64_t since,
			      int64_t until, struct sumfile *f, struct arch_sum_stats *st)
{
	uint8_t hdr[ARCH_HDR_BYTES];
	const uint8_t *p, *end;
	bool have[QY_KEYS_MAX] = {false};
	size_t size = 0;
	int fd;

	memset(f, 0, sizeof(*f));
	fd = sum_open(a, s, hdr, &size, st);
	if (fd < 0)
		return SUM_BAD;
	if ((int64_t)le_get64(hdr + 24) < since || (int64_t)le_get64(hdr + 16) > until) {
		close(fd);
		return SUM_OUT;
	}
	f->len = size;
	if (!(f->buf = malloc(f->len)) ||
	    fio_pread_full(fd, f->buf + ARCH_HDR_BYTES, f->len - ARCH_HDR_BYTES, ARCH_HDR_BYTES) < 0) {
		close(fd);
		goto bad;
	}
	close(fd);
	memcpy(f->buf, hdr, ARCH_HDR_BYTES);
	st->bytes_read += f->len - ARCH_HDR_BYTES;
	p = f->buf;
	if (le_get64(p + 48) != arch__xxh64(p + ARCH_HDR_BYTES, f->len - ARCH_HDR_BYTES, 0))
		goto bad;
	f->min_ts = (int64_t)le_get64(p + 16);
	f->max_ts = (int64_t)le_get64(p + 24);
	f->n = le_get32(p + 32);
	f->nkeys = le_get32(p + 36);
	if (f->nkeys > QY_KEYS_MAX)
		goto bad;
	end = f->buf + f->len;
	p += ARCH_HDR_BYTES;
	for (uint32_t k = 0; k < f->nkeys; k++) {
		size_t l;

		if (end - p < 2 || (size_t)(end - p - 2) < (l = le_get16(p)))
			goto bad;
		f->keymap[k] = -1;
		for (size_t j = 0; j < keys->n; j++)
			if (keys->len[j] == l && memcmp(keys->v[j], p + 2, l) == 0) {
				f->keymap[k] = (int)j;
				have[j] = true;
			}
		p += 2 + l;
	}
	for (size_t j = 0; j < keys->n; j++)
		if (!have[j])
			goto bad; /* made without a key the reader needs: scan instead */
	f->body = p;
	f->body_len = (size_t)(end - p);
	return SUM_LOADED;
bad:
	free(f->buf);
	f->buf = NULL;
	return SUM_BAD;
}

/*
 * Take the file's summaries into @out: decoded into a table of their own
 * first, so a file that fails half way leaves @out as it was (but for a
 * query told to stop, which keeps nothing).
 * Return: 0, -CD_ENOMEM, -CD_ECORRUPT, -CD_ELIMIT.
 */
static int sum_take(const struct sumfile *f, struct qy_txns *out)
{
	struct qy_txns t;
	int rc;

	qy_txns_init(&t, &out->ctx);
	rc = sum_decode(f, &t);
	if (rc == 0 && (rc = qy_txns_merge(out, &t)) < 0)
		rc = rc == -QY_ESTOPPED ? -CD_ELIMIT : -CD_ENOMEM;
	qy_txns_release(&t);
	return rc;
}

static int sum_decode(const struct sumfile *f, struct qy_txns *out)
{
	const uint8_t *p = f->body, *end = f->body + f->body_len;
	uint64_t total = 0;
	uint8_t *raw = NULL;
	int rc = 0;

	while (rc == 0 && p < end) {
		uint32_t n, zlen;
		unsigned long long rlen;
		size_t off = 0;

		if (end - p < 8 || (size_t)(end - p - 8) < (zlen = le_get32(p + 4))) {
			rc = -CD_ECORRUPT;
			break;
		}
		if (out->ctx.stop && out->ctx.stop(out->ctx.stop_arg)) {
			rc = -CD_ELIMIT; /* asked to stop: a block is a few ms of work */
			break;
		}
		n = le_get32(p);
		rlen = ZSTD_getFrameContentSize(p + 8, zlen);
		if (rlen == ZSTD_CONTENTSIZE_ERROR || rlen == ZSTD_CONTENTSIZE_UNKNOWN ||
		    rlen > ARCH_SUM_BLOCK_MAX) {
			rc = -CD_ECORRUPT;
			break;
		}
		free(raw);
		if (!(raw = malloc(rlen ? (size_t)rlen : 1))) {
			rc = -CD_ENOMEM;
			break;
		}
		if (ZSTD_decompress(raw, (size_t)rlen, p + 8, zlen) != rlen) {
			rc = -CD_ECORRUPT;
			break;
		}
		for (uint32_t i = 0; i < n && rc == 0; i++) {
			struct qy_summary s;
			size_t used = 0;

			rc = qy_summary_decode(raw + off, (size_t)rlen - off, &used, f->keymap, f->nkeys,
					       out->ctx.keys ? out->ctx.keys->n : 0, &s);
			if (rc < 0) {
				qy_summary_release(&s);
				rc = rc == -QY_ENOMEM ? -CD_ENOMEM : -CD_ECORRUPT;
				break;
			}
			off += used;
			if (qy_txns_take(out, &s) < 0)
				rc = -CD_ENOMEM;
		}
		if (rc == 0 && off != rlen)
			rc = -CD_ECORRUPT;
		total += n;
		p += 8 + zlen;
	}
	free(raw);
	return rc == 0 && total != f->n ? -CD_ECORRUPT : rc;
}

static int scan_cb(void *cookie, const void *payload, size_t len, const struct arch_chunk_meta *meta)
{
	struct chunk_iter it;
	struct fmt_record r;
	int rc;

	(void)meta;
	if (arch__sum_stopped(cookie, NULL) < 0)
		return -CD_ELIMIT; /* asked to stop, between frames */
	chunk_iter_init_bytes(&it, payload, len);
	while ((rc = chunk_iter_next(&it, &r, NULL)) > 0)
		if (qy_txns_add(cookie, &r) < 0)
			return -CD_ENOMEM;
	return 0; /* a payload that is not a chunk holds no transactions */
}

/*
 * Take segment @i's summaries into @out: from its summary file, else from
 * its frames. Return: 0, -CD_ENOMEM, -CD_EIO, -CD_ELIMIT (its stop hook; @err set).
 */
int arch__sum_segment(arch *a, size_t i, int64_t since, int64_t until, struct qy_txns *out,
		      struct arch_sum_stats *st, struct cd_err *err)
{
	static const struct qy_keys none;
	bool texts = out->ctx.filter && out->ctx.filter->ntexts;
	struct seg *s = &a->segs[i];
	bool open = a->have_open && i == a->nsegs - 1, rebuilt = false;
	struct sumfile f;
	enum sum_state ss = open || texts ? SUM_BAD
					  : arch__sum_load(a, s, out->ctx.keys ? out->ctx.keys : &none, since,
							   until, &f, st);
	int rc;

	if (ss == SUM_OUT)
		return 0;
	if (ss == SUM_LOADED) {
		rc = sum_take(&f, out);
		free(f.buf);
		if (rc == 0) {
			st->examined++;
			st->from_file++;
			return 0;
		}
		if (rc == -CD_ENOMEM)
			return cd_err_set(err, rc, 0, "archive: out of memory");
		if (rc == -CD_ELIMIT)
			return arch__sum_stopped(out, err);
		arch__diag(a, "archive %s: summaries of segment %016" PRIx64 " are corrupt (scanned)", a->dir,
			   s->id);
	}
	if (open) {
		if (a->ob.nframes == 0 || a->ob.max_ts < since || a->ob.min_ts > until)
			return 0;
	} else {
		rc = arch__seg_load(a, s, &rebuilt, err);
		if (rc == -CD_ENOENT)
			return 0; /* deleted by retention meanwhile */
		if (rc < 0)
			return rc;
		if (s->ix.nframes == 0 || s->ix.max_ts < since || s->ix.min_ts > until)
			return 0;
	}
	st->examined++;
	st->scanned++;
	rc = arch__walk_segment(a, i, scan_cb, out, err);
	if (rc == -CD_ENOMEM)
		cd_err_set(err, rc, 0, "archive: out of memory");
	else if (rc == -CD_ELIMIT)
		arch__sum_stopped(out, err);
	return rc;
}

/*
 * The time range of segment @i's records: from its summary file's header
 * (64 bytes), else its index (or the open segment's). Return: false when
 * it holds no frame or is gone.
 */
static bool seg_range(arch *a, size_t i, int64_t *min_ts, int64_t *max_ts, struct arch_sum_stats *st)
{
	struct seg *s = &a->segs[i];
	uint8_t hdr[ARCH_HDR_BYTES];
	size_t size;
	bool rebuilt = false;
	struct cd_err err = {0};
	int fd;

	if (a->have_open && i == a->nsegs - 1) {
		*min_ts = a->ob.min_ts;
		*max_ts = a->ob.max_ts;
		return a->ob.nframes > 0;
	}
	if ((fd = sum_open(a, s, hdr, &size, st)) >= 0) {
		close(fd);
		*min_ts = (int64_t)le_get64(hdr + 16);
		*max_ts = (int64_t)le_get64(hdr + 24);
		return true;
	}
	if (arch__seg_load(a, s, &rebuilt, &err) < 0 || s->ix.nframes == 0)
		return false;
	*min_ts = s->ix.min_ts;
	*max_ts = s->ix.max_ts;
	return true;
}

/* How many summaries of @t pass its filter and start after @after. */
static size_t count_after(const struct qy_txns *t, int64_t after)
{
	size_t n = 0;

	for (size_t k = 0; k < t->n; k++)
		if (qy_summary_start(&t->v[k]) > after &&
		    (!t->ctx.filter || qy_filter_match(t->ctx.filter, &t->v[k], t->ctx.keys)))
			n++;
	return n;
}

int arch__sum_stopped(const struct qy_txns *out, struct cd_err *err)
{
	if (!out->ctx.stop || !out->ctx.stop(out->ctx.stop_arg))
		return 0;
	return cd_err_set(err, -CD_ELIMIT, 0, "archive: the query was stopped (its time budget)");
}

/* arch_services()'s walk for one wanted service: is it @want, or a name cut from it? */
struct svc_want {
	const char *want;
	size_t len;
	bool seen;
};

static int svc_seen(void *cookie, const char *name, size_t len)
{
	struct svc_want *w = cookie;

	/* a summary keeps a service cut (at a NUL, a cap): @want may be any prefix of a name */
	if (w->len <= len && memcmp(name, w->want, w->len) == 0)
		w->seen = true;
	return w->seen; /* found: the walk stops */
}

/*
 * Whether a filter's services may all be in the archive: false only when
 * some service is named by no segment's index (complete lists only), so
 * that nothing can match. A misspelt service is then answered at once,
 * not after every summary was read (past an API query's budget).
 */
static bool services_may_match(arch *a, const struct qy_filter *f)
{
	for (size_t i = 0; f && i < f->nservices; i++) {
		struct svc_want w = {.want = f->services[i], .len = strlen(f->services[i])};
		bool partial = false;

		if (arch_services(a, svc_seen, &w, &partial, NULL) < 0 || partial || w.seen)
			continue; /* an index not read, or a list cut: it may be there */
		return false;
	}
	return true;
}

int arch_summaries(arch *a, int64_t since, int64_t until, struct qy_txns *out, struct arch_sum_stats *st,
		   struct cd_err *err)
{
	return arch_summaries_newest(a, since, until, 0, 0, out, st, err);
}

int arch_summaries_newest(arch *a, int64_t since, int64_t until, size_t newest, int64_t slack_ns,
			  struct qy_txns *out, struct arch_sum_stats *st, struct cd_err *err)
{
	struct arch_sum_stats dummy;
	int64_t *lo = NULL, *hi = NULL, *older = NULL;
	int rc = 0;

	st = st ? st : &dummy;
	memset(st, 0, sizeof(*st));
	if (!a || !out || slack_ns < 0)
		return cd_err_set(err, -CD_EINVAL, 0, "archive: bad arguments");
	st->segments = (uint32_t)a->nsegs;
	if (!services_may_match(a, out->ctx.filter))
		return 0;
	if (newest == 0) {
		for (size_t i = 0; i < a->nsegs && rc == 0; i++)
			if ((rc = arch__sum_stopped(out, err)) == 0)
				rc = arch__sum_segment(a, i, since, until, out, st, err);
		return rc;
	}
	/*
	 * Newest first: the segments' time ranges (headers only), and for each
	 * the latest record of every older segment in the window. Once @newest
	 * matching transactions start later than that plus the slack, no
	 * older segment can hold a record of theirs nor a later-starting
	 * match: the rest is not read.
	 */
	lo = malloc((a->nsegs + 1) * sizeof(*lo));
	hi = malloc((a->nsegs + 1) * sizeof(*hi));
	older = malloc((a->nsegs + 1) * sizeof(*older));
	if (!lo || !hi || !older) {
		rc = cd_err_set(err, -CD_ENOMEM, 0, "archive: out of memory");
		goto out;
	}
	for (size_t i = 0; i < a->nsegs; i++) {
		if (!seg_range(a, i, &lo[i], &hi[i], st) || hi[i] < since || lo[i] > until)
			hi[i] = INT64_MIN; /* outside the window, or empty: not read */
		/* older[i]: the latest record of segments 0 .. i-1 that are read */
		older[i] = i == 0 ? INT64_MIN : hi[i - 1] > older[i - 1] ? hi[i - 1] : older[i - 1];
	}
	if (!out->ctx.filter || qy_filter_light(out->ctx.filter)) {
		struct qy_filter all;

		qy_filter_init(&all);
		rc = arch__sum_light_newest(a, since, until, newest, slack_ns, hi, older,
					    out->ctx.filter ? out->ctx.filter : &all, out, st, err);
		if (rc <= 0)
			goto out;
		/* a damaged summary file: the usual way, which scans its segment */
		memset(st, 0, sizeof(*st));
		st->segments = (uint32_t)a->nsegs;
		rc = 0;
	}
	for (size_t i = a->nsegs; i-- > 0 && rc == 0;) {
		if (hi[i] == INT64_MIN)
			continue;
		if ((rc = arch__sum_stopped(out, err)) == 0)
			rc = arch__sum_segment(a, i, since, until, out, st, err);
		if (rc == 0 && i > 0 && older[i] != INT64_MIN &&
		    count_after(out, older[i] > INT64_MAX - slack_ns ? INT64_MAX : older[i] + slack_ns) >=
			    newest) {
			for (size_t j = 0; j < i; j++)
				st->partial |= hi[j] != INT64_MIN;
			break;
		}
	}
out:
	free(lo);
	free(hi);
	free(older);
	return rc;
}
