/*
 * store/src/archive_summary.c - the archive's transaction summaries: the
 * writer's per-segment table (filled as frames are appended, written as
 * NNNN.sum when the segment is sealed) and arch_summaries(), the reader.
 *
 * DESIGN: the summaries of a segment are computed once, by the writer,
 * from the records it already holds in memory (the chunk's payload), so a
 * search never decompresses a sealed segment. The file is written only
 * when the writer saw the segment from its first frame (not after a
 * restart that recovered it) and every payload decoded as a chunk; a
 * missing or invalid file costs a reader one scan of that segment, never
 * a wrong answer. The file is checked like the index (two XXH64 hashes,
 * its size, and the data file's size it was made for).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive_dir.h"
#include <store/archive_sum.h>
#include <store/chunk.h>
#include <store/fileio.h>
#include "query/codec.h"
#include "query/filter.h"
#include "query/light.h"

#define ARCH_SUM_MAGIC 0x53414c43u /* "CLAS" */
/* 2: span hashes by qy_span_hash()'s 8-byte steps (1: FNV-1a; read as invalid, the segment scanned) */
#define ARCH_SUM_VERSION 2u

/*
 * Summaries are kept in memory for at most this many transactions: then
 * they are encoded and compressed into a block of the file being built,
 * and the table starts afresh (a transaction seen again later gets a
 * second summary in a later block: readers merge them). This bounds the
 * writer's memory to one table plus the compressed blocks.
 */
#define ARCH_SUM_BLOCK_TXNS 4096u
/*
 * The blocks' zstd level: the fastest. Most of a block is span hashes,
 * which no level compresses, so higher levels only cost the writer CPU.
 */
#define ARCH_SUM_ZSTD_LEVEL 1
/* Largest decompressed block a reader accepts (a writer's block is far below). */
#define ARCH_SUM_BLOCK_MAX (256u << 20)

/* The writer's summaries of the open segment. */
struct arch__sum {
	uint64_t seg; /* the segment summarised from its first frame; 0: none */
	bool broken;  /* a payload did not decode, or memory ran out: no file */
	struct qy_keys keys;
	struct qy_txns t;     /* the current block's transactions */
	struct qy_bytes file; /* the file so far: header room, keys, compressed blocks */
	struct qy_bytes raw;  /* scratch: one block encoded */
	uint64_t nsum;	      /* summaries in the blocks */
};

/* Room for @n more bytes at @b. Return: 0 or -CD_ENOMEM. */
static int reserve(struct qy_bytes *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 65536;
	uint8_t *p;

	if (b->cap - b->len >= n)
		return 0;
	while (cap - b->len < n)
		cap *= 2;
	if (!(p = realloc(b->p, cap)))
		return -CD_ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

/* Start the file: header room, then the keys as (u16 length, bytes). */
static int file_start(struct arch__sum *s)
{
	s->file.len = 0;
	if (reserve(&s->file, ARCH_HDR_BYTES) < 0)
		return -CD_ENOMEM;
	s->file.len = ARCH_HDR_BYTES;
	for (size_t k = 0; k < s->keys.n; k++) {
		if (reserve(&s->file, 2 + s->keys.len[k]) < 0)
			return -CD_ENOMEM;
		le_put16(s->file.p + s->file.len, (uint16_t)s->keys.len[k]);
		memcpy(s->file.p + s->file.len + 2, s->keys.v[k], s->keys.len[k]);
		s->file.len += 2 + s->keys.len[k];
	}
	return 0;
}

static void sum_reset(struct arch__sum *s, uint64_t seg)
{
	qy_txns_release(&s->t);
	qy_txns_init(&s->t, &(struct qy_context){.keys = &s->keys});
	s->seg = seg;
	s->nsum = 0;
	s->broken = seg && file_start(s) < 0;
}

/* Encode and compress the table as one block: (u32 n, u32 zlen, zstd frame). Return: 0 or -CD_ENOMEM. */
static int flush_block(arch *a, struct arch__sum *s)
{
	size_t bound, z;

	if (s->t.n == 0)
		return 0;
	s->raw.len = 0;
	for (size_t i = 0; i < s->t.n; i++)
		if (qy_summary_encode(&s->t.v[i], s->keys.n, &s->raw) < 0)
			return -CD_ENOMEM;
	bound = ZSTD_compressBound(s->raw.len);
	if (reserve(&s->file, 8 + bound) < 0)
		return -CD_ENOMEM;
	z = ZSTD_compressCCtx(a->zc, s->file.p + s->file.len + 8, bound, s->raw.p, s->raw.len,
			      ARCH_SUM_ZSTD_LEVEL);
	if (ZSTD_isError(z) || z > UINT32_MAX)
		return -CD_ENOMEM;
	le_put32(s->file.p + s->file.len, (uint32_t)s->t.n);
	le_put32(s->file.p + s->file.len + 4, (uint32_t)z);
	s->file.len += 8 + z;
	s->nsum += s->t.n;
	qy_txns_clear(&s->t);
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
		if (qy_keys_defaults(&a->sum->keys) < 0) {
			qy_keys_release(&a->sum->keys);
			free(a->sum);
			a->sum = NULL;
			return;
		}
	}
	sum_reset(a->sum, seg);
}

void arch__sum_frame(arch *a, uint64_t seg, const void *payload, size_t len)
{
	struct chunk_iter it;
	struct fmt_record r;
	int rc;

	if (!a->sum || a->sum->seg != seg || a->sum->broken)
		return;
	chunk_iter_init_bytes(&it, payload, len);
	while ((rc = chunk_iter_next(&it, &r, NULL)) > 0)
		if (qy_txns_add(&a->sum->t, &r) < 0) {
			rc = -1;
			break;
		}
	if (rc < 0 || (a->sum->t.n >= ARCH_SUM_BLOCK_TXNS && flush_block(a, a->sum) < 0))
		a->sum->broken = true;
}

void arch__sum_free(arch *a)
{
	if (!a->sum)
		return;
	qy_txns_release(&a->sum->t);
	qy_keys_release(&a->sum->keys);
	free(a->sum->file.p);
	free(a->sum->raw.p);
	free(a->sum);
	a->sum = NULL;
}

/* Fill the header of the file built so far. */
static void sum_header(struct arch__sum *s, uint64_t data_bytes, int64_t min_ts, int64_t max_ts)
{
	uint8_t *h = s->file.p;

	memset(h, 0, ARCH_HDR_BYTES);
	le_put32(h, ARCH_SUM_MAGIC);
	le_put16(h + 4, ARCH_SUM_VERSION);
	le_put64(h + 8, data_bytes);
	le_put64(h + 16, (uint64_t)min_ts);
	le_put64(h + 24, (uint64_t)max_ts);
	le_put32(h + 32, (uint32_t)s->nsum);
	le_put32(h + 36, (uint32_t)s->keys.n);
	le_put64(h + 40, s->file.len - ARCH_HDR_BYTES);
	le_put64(h + 48, arch__xxh64(s->file.p + ARCH_HDR_BYTES, s->file.len - ARCH_HDR_BYTES, 0));
	le_put64(h + 56, arch__xxh64(h, 56, 0));
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
	if (s->broken || s->nsum > UINT32_MAX) {
		arch__diag(a, "archive %s: segment %016" PRIx64 " has no summary file (readers scan it)",
			   a->dir, seg);
	} else {
		arch__seg_name(name, sizeof(name), seg, "sum");
		arch__seg_name(tmp, sizeof(tmp), seg, "sum.tmp");
		sum_header(s, data_bytes, min_ts, max_ts);
		if (fio_replace(&(struct fio_replace){.dirfd = a->dirfd,
						      .tmp = tmp,
						      .name = name,
						      .mode = 0640,
						      .no_sync = a->opt.no_sync},
				s->file.p, s->file.len, &step) < 0)
			arch__diag(a, "archive %s: cannot write %s (%s: %s); readers scan the segment",
				   a->dir, name, step, strerror(errno));
		else
			written = s->file.len;
	}
	sum_reset(s, 0);
	/* the buffers are kept for the next segment, but not a big one's worth */
	if (s->file.cap > (8u << 20)) {
		free(s->file.p);
		s->file = (struct qy_bytes){0};
	}
	return written;
}

/* ---- reading ---- */

/* A summary file read whole and checked. */
struct sumfile {
	uint8_t *buf;
	size_t len;
	int64_t min_ts, max_ts;
	uint32_t n, nkeys;
	const uint8_t *body; /* after the keys */
	size_t body_len;
	int keymap[QY_KEYS_MAX]; /* file key -> reader key, or -1 */
};

static int sum_decode(const struct sumfile *f, struct qy_txns *out);

enum sum_state {
	SUM_BAD,   /* missing, damaged, stale or made without a needed key: scan the segment */
	SUM_OUT,   /* valid, and its time range misses the window: nothing to read */
	SUM_LOADED /* read whole and checked */
};

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
static enum sum_state sum_load(arch *a, const struct seg *s, const struct qy_keys *keys, int64_t since,
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
 * first, so a file that fails half way leaves @out as it was.
 * Return: 0, -CD_ENOMEM, -CD_ECORRUPT.
 */
static int sum_take(const struct sumfile *f, struct qy_txns *out)
{
	struct qy_txns t;
	int rc;

	qy_txns_init(&t, &out->ctx);
	rc = sum_decode(f, &t);
	if (rc == 0 && qy_txns_merge(out, &t) < 0)
		rc = -CD_ENOMEM;
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
	chunk_iter_init_bytes(&it, payload, len);
	while ((rc = chunk_iter_next(&it, &r, NULL)) > 0)
		if (qy_txns_add(cookie, &r) < 0)
			return -CD_ENOMEM;
	return 0; /* a payload that is not a chunk holds no transactions */
}

/*
 * Take segment @i's summaries into @out: from its summary file, else from
 * its frames. Return: 0, -CD_ENOMEM, -CD_EIO (@err set).
 */
static int one_segment(arch *a, size_t i, int64_t since, int64_t until, struct qy_txns *out,
		       struct arch_sum_stats *st, struct cd_err *err)
{
	static const struct qy_keys none;
	bool texts = out->ctx.filter && out->ctx.filter->ntexts;
	struct seg *s = &a->segs[i];
	bool open = a->have_open && i == a->nsegs - 1, rebuilt = false;
	struct sumfile f;
	enum sum_state ss =
		open || texts ? SUM_BAD
			      : sum_load(a, s, out->ctx.keys ? out->ctx.keys : &none, since, until, &f, st);
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

/* ---- the light path: the newest matches, decoding only the transactions that may match ---- */

/* A decompressed block of a summary file, kept between the two passes. */
struct lblock {
	const uint8_t *z; /* the compressed block, in one of lrun.files */
	size_t zlen;
	size_t len; /* decompressed */
	uint32_t n;
	size_t kmi; /* its file's keymap: lrun.keymaps[kmi] */
	uint32_t nkeys;
};

struct lrun {
	const struct qy_filter *f;
	struct qy_lights lights; /* every transaction seen: its merged light fields */
	struct qy_txns side;	 /* full summaries of the segments read by scanning */
	struct lblock *blocks;
	size_t nblocks, cblocks;
	uint32_t *entry; /* per summary of the blocks, in order: its light entry */
	uint32_t *used;	 /* and its encoded length */
	size_t npieces, cpieces;
	int (*keymaps)[QY_KEYS_MAX]; /* per file read */
	size_t nkeymaps;
	uint8_t **files; /* the summary files read (their blocks are decompressed again in pass 2) */
	size_t nfiles;
	struct qy_bytes scratch; /* one block decompressed: reused, so a search touches little new memory */
};

/* Decompress @b into lr->scratch. Return: 0, -CD_ENOMEM, -CD_ECORRUPT. */
static int lblock_open(struct lrun *lr, const struct lblock *b)
{
	if (lr->scratch.cap < b->len + 1) {
		uint8_t *p = realloc(lr->scratch.p, b->len + 1);

		if (!p)
			return -CD_ENOMEM;
		lr->scratch.p = p;
		lr->scratch.cap = b->len + 1;
	}
	return ZSTD_decompress(lr->scratch.p, b->len, b->z, b->zlen) == b->len ? 0 : -CD_ECORRUPT;
}

static int lrun_piece(struct lrun *lr, long entry, size_t used)
{
	if (lr->npieces == lr->cpieces) {
		size_t c = lr->cpieces ? lr->cpieces * 2 : 65536;
		uint32_t *e = realloc(lr->entry, c * sizeof(*e)), *u;

		if (!e)
			return -CD_ENOMEM;
		lr->entry = e;
		if (!(u = realloc(lr->used, c * sizeof(*u))))
			return -CD_ENOMEM;
		lr->used = u;
		lr->cpieces = c;
	}
	lr->entry[lr->npieces] = (uint32_t)entry;
	lr->used[lr->npieces++] = (uint32_t)used;
	return 0;
}

/*
 * Pass 1 of a summary file: decompress its blocks (kept), peek at every
 * summary and merge its light fields into the table.
 * Return: 0, -CD_ENOMEM, -CD_ECORRUPT.
 */
static int light_file(struct lrun *lr, struct sumfile *f)
{
	const uint8_t *p = f->body, *end = f->body + f->body_len;
	int(*km)[QY_KEYS_MAX] = realloc(lr->keymaps, (lr->nkeymaps + 1) * sizeof(*km));
	uint8_t **files = realloc(lr->files, (lr->nfiles + 1) * sizeof(*files));
	uint64_t total = 0;
	size_t kmi;
	int rc;

	if (files)
		lr->files = files;
	if (km)
		lr->keymaps = km;
	if (!km || !files)
		return -CD_ENOMEM;
	lr->files[lr->nfiles++] = f->buf; /* owned by @lr from here */
	f->buf = NULL;
	if (qy_lights_reserve(&lr->lights, lr->lights.n + f->n) < 0)
		return -CD_ENOMEM;
	memcpy(km[lr->nkeymaps], f->keymap, sizeof(f->keymap));
	kmi = lr->nkeymaps++;
	while (p < end) {
		uint32_t n, zlen;
		unsigned long long rlen;
		struct lblock *b;
		size_t off = 0;

		if (end - p < 8 || (size_t)(end - p - 8) < (zlen = le_get32(p + 4)))
			return -CD_ECORRUPT;
		n = le_get32(p);
		rlen = ZSTD_getFrameContentSize(p + 8, zlen);
		if (rlen == ZSTD_CONTENTSIZE_ERROR || rlen == ZSTD_CONTENTSIZE_UNKNOWN ||
		    rlen > ARCH_SUM_BLOCK_MAX)
			return -CD_ECORRUPT;
		if (lr->nblocks == lr->cblocks) {
			size_t c = lr->cblocks ? lr->cblocks * 2 : 64;
			struct lblock *v = realloc(lr->blocks, c * sizeof(*v));

			if (!v)
				return -CD_ENOMEM;
			lr->blocks = v;
			lr->cblocks = c;
		}
		b = &lr->blocks[lr->nblocks];
		*b = (struct lblock){
			.z = p + 8, .zlen = zlen, .len = (size_t)rlen, .n = n, .kmi = kmi, .nkeys = f->nkeys};
		lr->nblocks++;
		if ((rc = lblock_open(lr, b)) < 0)
			return rc;
		for (uint32_t i = 0; i < n; i++) {
			struct qy_light l;
			const char *trace;
			size_t tlen, used;
			long e;

			if (qy_light_peek(lr->scratch.p + off, b->len - off, lr->f, &l, &trace, &tlen,
					  &used) < 0)
				return -CD_ECORRUPT;
			if ((e = qy_lights_add(&lr->lights, trace, tlen, &l)) < 0 ||
			    lrun_piece(lr, e, used) < 0)
				return -CD_ENOMEM;
			off += used;
		}
		if (off != b->len)
			return -CD_ECORRUPT;
		total += n;
		p += 8 + zlen;
	}
	return total == f->n ? 0 : -CD_ECORRUPT;
}

/* Merge the light fields of the scanned summaries into the table (merging again changes nothing). */
static int light_side(struct lrun *lr)
{
	for (size_t k = 0; k < lr->side.n; k++) {
		struct qy_light l;

		qy_light_of(&lr->side.v[k], lr->f, &l);
		if (qy_lights_add(&lr->lights, lr->side.v[k].trace, strlen(lr->side.v[k].trace), &l) < 0)
			return -CD_ENOMEM;
	}
	return 0;
}

/* Decode the pieces of the entries marked 1 in @want into @out, and mark them 2. */
static int light_decode(struct lrun *lr, uint8_t *want, struct qy_txns *out)
{
	size_t piece = 0, nkeys = out->ctx.keys ? out->ctx.keys->n : 0;

	for (size_t b = 0; b < lr->nblocks; b++) {
		const struct lblock *bl = &lr->blocks[b];
		size_t off = 0;
		bool any = false;
		int rc;

		for (uint32_t i = 0; i < bl->n && !any; i++)
			any = want[lr->entry[piece + i]] == 1;
		if (!any) {
			piece += bl->n; /* nothing wanted here: not decompressed again */
			continue;
		}
		if ((rc = lblock_open(lr, bl)) < 0)
			return rc;
		for (uint32_t i = 0; i < bl->n; i++, piece++) {
			struct qy_summary s;
			size_t used = 0;

			if (want[lr->entry[piece]] != 1) {
				off += lr->used[piece];
				continue;
			}
			rc = qy_summary_decode(lr->scratch.p + off, bl->len - off, &used,
					       lr->keymaps[bl->kmi], bl->nkeys, nkeys, &s);
			if (rc < 0) {
				qy_summary_release(&s);
				return rc == -QY_ENOMEM ? -CD_ENOMEM : -CD_ECORRUPT;
			}
			off += used;
			if (qy_txns_take(out, &s) < 0)
				return -CD_ENOMEM;
		}
	}
	for (size_t k = 0; k < lr->side.n; k++) {
		struct qy_summary *s = &lr->side.v[k];
		struct qy_light l;
		long e;

		if (!s->trace)
			continue; /* taken before */
		qy_light_of(s, lr->f, &l);
		if ((e = qy_lights_add(&lr->lights, s->trace, strlen(s->trace), &l)) < 0)
			return -CD_ENOMEM;
		if (want[e] == 1 && qy_txns_take(out, s) < 0)
			return -CD_ENOMEM;
	}
	for (size_t k = 0; k < lr->lights.n; k++)
		want[k] = want[k] == 1 ? 2 : want[k];
	return 0;
}

struct cand {
	int64_t start;
	uint32_t entry;
};

static int by_start_desc(const void *x, const void *y)
{
	const struct cand *a = x, *b = y;

	return a->start > b->start ? -1 : a->start < b->start;
}

/*
 * Pass 2: the whole summaries of the latest-starting transactions that
 * may match, into @out: the @newest latest first (with every tie), more
 * while fewer than @newest of them pass the full filter (the light test
 * may take a few the full one refuses). *@partial: some that may match
 * were left out (a count of matches is then a lower bound).
 */
static int light_take(struct lrun *lr, size_t newest, struct qy_txns *out, bool *partial)
{
	struct cand *c = malloc((lr->lights.n + 1) * sizeof(*c));
	uint8_t *want = calloc(lr->lights.n + 1, 1);
	size_t nc = 0, upto = 0;
	int rc = 0;

	if (!c || !want) {
		rc = -CD_ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < lr->lights.n; k++)
		if (qy_light_match(lr->f, &lr->lights.v[k]))
			c[nc++] = (struct cand){qy_light_start(&lr->lights.v[k]), (uint32_t)k};
	qsort(c, nc, sizeof(*c), by_start_desc);
	/* newest == SIZE_MAX: every one, in one round */
	for (size_t k = newest; rc == 0 && upto < nc;) {
		size_t matched = 0;

		while (upto < nc && (upto < k || c[upto].start == c[upto - 1].start))
			want[c[upto++].entry] = 1;
		if ((rc = light_decode(lr, want, out)) < 0)
			break;
		for (size_t i = 0; upto < nc && i < out->n && matched < newest; i++)
			matched += qy_filter_match(lr->f, &out->v[i], out->ctx.keys);
		if (matched >= newest)
			break;
		k = k > SIZE_MAX / 4 ? SIZE_MAX : k * 4;
	}
	*partial = upto < nc;
out:
	free(c);
	free(want);
	return rc;
}

static void lrun_release(struct lrun *lr)
{
	for (size_t k = 0; k < lr->nfiles; k++)
		free(lr->files[k]);
	free(lr->files);
	free(lr->scratch.p);
	free(lr->blocks);
	free(lr->entry);
	free(lr->used);
	free(lr->keymaps);
	qy_lights_release(&lr->lights);
	qy_txns_release(&lr->side);
}

/* How many transactions of the table may match and start after @after. */
static size_t light_count_after(const struct lrun *lr, int64_t after)
{
	size_t n = 0;

	for (size_t k = 0; k < lr->lights.n; k++)
		if (qy_light_start(&lr->lights.v[k]) > after && qy_light_match(lr->f, &lr->lights.v[k]))
			n++;
	return n;
}

/*
 * arch_summaries_newest() for a filter qy_light_match() decides: the
 * segments newest first, each file's summaries only peeked at (pass 1),
 * until the table holds @newest matches that older segments cannot
 * change; then only the summaries of transactions that match are decoded
 * (pass 2). @hi, @older: as arch_summaries_newest() computes them.
 * Return: 0, 1 (a file was damaged: the caller reads the usual way,
 * @out untouched), -CD_ENOMEM, -CD_EIO.
 */
static int light_newest(arch *a, int64_t since, int64_t until, size_t newest, int64_t slack_ns,
			const int64_t *hi, const int64_t *older, const struct qy_filter *f,
			struct qy_txns *out, struct arch_sum_stats *st, struct cd_err *err)
{
	static const struct qy_keys none;
	struct lrun lr = {.f = f};
	int rc = 0;

	qy_lights_init(&lr.lights);
	qy_txns_init(&lr.side, &out->ctx);
	for (size_t i = a->nsegs; i-- > 0 && rc == 0;) {
		bool open = a->have_open && i == a->nsegs - 1;
		struct sumfile sf;
		enum sum_state ss;

		if (hi[i] == INT64_MIN)
			continue;
		ss = open ? SUM_BAD
			  : sum_load(a, &a->segs[i], out->ctx.keys ? out->ctx.keys : &none, since, until, &sf,
				     st);
		if (ss == SUM_LOADED) {
			rc = light_file(&lr, &sf);
			free(sf.buf);
			if (rc == -CD_ECORRUPT) {
				rc = 1; /* the usual way will scan that segment */
				break;
			}
			st->examined++;
			st->from_file++;
		} else if (ss == SUM_BAD) {
			if ((rc = one_segment(a, i, since, until, &lr.side, st, err)) == 0)
				rc = light_side(&lr);
		}
		if (rc == 0 && i > 0 && older[i] != INT64_MIN &&
		    light_count_after(&lr, older[i] > INT64_MAX - slack_ns ? INT64_MAX
									   : older[i] + slack_ns) >= newest) {
			for (size_t j = 0; j < i; j++)
				st->partial |= hi[j] != INT64_MIN;
			break;
		}
	}
	if (rc == 0) {
		bool partial = false;

		/* all that may match when every segment of the window was read: the count stays exact */
		rc = light_take(&lr, st->partial ? newest : SIZE_MAX, out, &partial);
		st->partial |= partial;
	}
	if (rc == -CD_ENOMEM)
		cd_err_set(err, rc, 0, "archive: out of memory");
	else if (rc == -CD_ECORRUPT)
		rc = 1;
	lrun_release(&lr);
	return rc;
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
	if (newest == 0) {
		for (size_t i = 0; i < a->nsegs && rc == 0; i++)
			rc = one_segment(a, i, since, until, out, st, err);
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
		rc = light_newest(a, since, until, newest, slack_ns, hi, older,
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
		rc = one_segment(a, i, since, until, out, st, err);
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
