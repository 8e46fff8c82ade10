/*
 * source.c - inputs: plain files (mapped a window at a time), gzip and zstd
 * files (streamed), directories (walked), stdin; and the thread pool that
 * scans them.
 *
 * DESIGN: an input is a small vtable (struct tg_input_ops) plus the units
 * of work it splits into. A plain file is cut into units of TG_UNIT_BYTES
 * by offset, so one big file is searched by all threads; a unit owns the
 * lines that start in it (it begins after the first newline at or past its
 * offset) and reads on past its end only to finish its last record. A unit
 * is mapped TG_MAP_WINDOW bytes at a time, each window unmapped once
 * scanned: mapping whole files made the resident set the corpus size (1 GB
 * of RSS for 1 GB of logs), and reading with pread() costs a copy that
 * mapping does not (about 1.3x the CPU, bench_tgscan.sh); a record longer
 * than a window, or a window that cannot be mapped, is read with pread()
 * into a window of its own instead. A compressed file is one unit,
 * decompressed as a stream into a bounded window the same way (only a
 * record that is still growing is carried over); stdin is read whole into
 * memory, because a span query scans twice. The archive (archive.c) and a
 * Kafka topic (kafka.c) plug in as further ops tables with one unit each.
 *
 * The pool is nproc threads taking (input, unit) pairs off an atomic
 * counter; each keeps its own record list, merged and sorted at the end,
 * so the output does not depend on scheduling. A visiting scan (--find)
 * gives each worker its own state instead, handed back in worker order.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <store/fileio.h>

#include "tg.h"
#include "banned.h"

/* TG_UNIT_BYTES, the bytes of a plain file per unit of work: tg.h. */
/*
 * Window a plain file is read into when it is not mapped (see scan_file()):
 * one pread() fills it, and it is small enough that the bytes the kernel
 * copied are still in the CPU's cache when the finder reads them (1 MiB:
 * 8 % more CPU than 128 KiB, 4 MiB: 65 %). Grows (as a stream's does) only
 * for one huge record.
 */
#ifndef TG_FILE_WINDOW
#define TG_FILE_WINDOW ((size_t)128 << 10)
#endif
/*
 * Bytes of a plain file mapped at a time: a window costs an mmap() and a
 * munmap() (1 MiB windows: 8 % more CPU than 4 MiB; 16 MiB: no less), and
 * its pages count in the resident set only while it is scanned, so memory
 * is this per thread, whatever the file size.
 */
#ifndef TG_MAP_WINDOW
#define TG_MAP_WINDOW ((size_t)4 << 20)
#endif
/* Window of decompressed bytes scanned at a time; grows only for one huge record. */
#define TG_STREAM_BYTES ((size_t)4 << 20)
/*
 * Largest window: a line (or a record with its continuation lines) longer
 * than this is scanned as far as it goes and the rest of it skipped, with
 * a warning; without it, a file of no newlines grows the window to its
 * whole (decompressed) size.
 */
#define TG_STREAM_MAX ((size_t)64 << 20)
/* Compressed bytes read per read() call. */
#define TG_READ_BYTES ((size_t)1 << 20)

_Static_assert(TG_STREAM_BYTES > TG_READ_BYTES, "the stream window must hold more than one read");
_Static_assert(TG_FILE_WINDOW >= ((size_t)64 << 10) && TG_FILE_WINDOW <= TG_STREAM_MAX,
	       "a file window holds a few lines and starts within the cap");
_Static_assert(TG_STREAM_MAX >= TG_STREAM_BYTES, "the window starts within its cap");

/* ---- in-memory inputs (stdin) ---- */

static int scan_mapped(struct tg_input *in, size_t unit, const struct tg_scan *s, struct tg_recs *out,
		       struct tg_err *err)
{
	(void)err;
	tg_scan_region(s, in->map, in->size, in->cuts[unit], in->cuts[unit + 1], true, in->src, 0, out);
	return 0;
}

static void release_mapped(struct tg_input *in)
{
	free((void *)(uintptr_t)in->map);
}

static const struct tg_input_ops ops_mapped = {
	.kind = "memory",
	.scan = scan_mapped,
	.release = release_mapped,
};

/* Cut in->map into line-aligned units. */
static void cut_units(struct tg_input *in)
{
	size_t n = in->size / TG_UNIT_BYTES + 1, k = 0, at = 0;

	in->cuts = tg_xcalloc(n + 1, sizeof(*in->cuts));
	in->cuts[k++] = 0;
	while (in->size - at > TG_UNIT_BYTES && k < n) {
		const char *nl = memchr(in->map + at + TG_UNIT_BYTES, '\n', in->size - at - TG_UNIT_BYTES);

		if (!nl)
			break;
		at = (size_t)(nl - in->map) + 1;
		if (at >= in->size)
			break;
		in->cuts[k++] = at;
	}
	in->cuts[k] = in->size;
	in->nunits = in->size ? k : 0;
}

/* ---- compressed inputs: one stream each ---- */

/* Where compressed bytes come from: the file (pread) or memory (stdin). */
struct creader {
	const struct tg_input *in; /* the input */
	uint64_t pos;		   /* next compressed byte to read */
	char *buf;		   /* TG_READ_BYTES of compressed data */
	size_t have;		   /* bytes in buf */
	size_t used;		   /* bytes of buf consumed */
	bool eof;		   /* no more compressed bytes */
	int fd;			   /* a plain file: its descriptor (for this unit) */
	uint64_t size;		   /* a plain file: its size as this unit found it */
};

static int creader_fill(struct creader *r, struct tg_err *err)
{
	if (r->used < r->have || r->eof)
		return 0;
	r->used = r->have = 0;
	if (r->in->fd < 0) {
		size_t n = r->in->size - r->pos < TG_READ_BYTES ? r->in->size - r->pos : TG_READ_BYTES;

		memcpy(r->buf, r->in->map + r->pos, n);
		r->have = n;
	} else {
		ssize_t n;

		do
			n = pread(r->in->fd, r->buf, TG_READ_BYTES, (off_t)r->pos);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			tg_err_set(err, -TG_EIO, errno, "%s: %s", r->in->name, strerror(errno));
			return -TG_EIO;
		}
		r->have = (size_t)n;
	}
	r->pos += r->have;
	if (r->have == 0)
		r->eof = true;
	return 0;
}

/* A decoder: decompress into dst[0, cap); *got bytes written; *end at the end of the data. */
struct decoder {
	int (*step)(struct decoder *d, char *dst, size_t cap, size_t *got, bool *end, struct tg_err *err);
	struct creader rd; /* compressed input */
	z_stream z;	   /* gzip state */
	bool z_live;	   /* z needs inflateEnd */
	bool z_done;	   /* the last member (frame) ended */
	bool more_out;	   /* the last step filled the output: more may come without input */
	ZSTD_DStream *zs;  /* zstd state */
};

/*
 * The start of a step: more input, unless the last step left output to
 * take. Return: 0 to decode, 1 at the end of the data (*end set), or
 * -TG_EIO / -TG_EDATA (@codec's data ends inside a member or frame).
 */
static int step_input(struct decoder *d, const char *codec, size_t *got, bool *end, struct tg_err *err)
{
	*got = 0;
	*end = false;
	if (d->more_out)
		return 0;
	if (creader_fill(&d->rd, err) < 0)
		return -TG_EIO;
	if (!d->rd.eof)
		return 0;
	*end = true;
	if (!d->z_done) {
		tg_err_set(err, -TG_EDATA, 0, "%s: %s data ends early", d->rd.in->name, codec);
		return -TG_EDATA;
	}
	return 1;
}

static int gz_step(struct decoder *d, char *dst, size_t cap, size_t *got, bool *end, struct tg_err *err)
{
	const char *name = d->rd.in->name;
	int rc = step_input(d, "gzip", got, end, err);
	uInt before;

	if (rc != 0)
		return rc < 0 ? rc : 0;
	d->z.next_in = (Bytef *)(d->rd.buf + d->rd.used);
	d->z.avail_in = (uInt)(d->rd.have - d->rd.used);
	d->z.next_out = (Bytef *)dst;
	d->z.avail_out = (uInt)cap;
	before = d->z.avail_in;
	rc = inflate(&d->z, Z_NO_FLUSH);
	d->rd.used = d->rd.have - d->z.avail_in;
	*got = cap - d->z.avail_out;
	d->more_out = d->z.avail_out == 0;
	if (rc == Z_STREAM_END) {
		/* Another member may follow (concatenated gzip files are one file). */
		d->z_done = true;
		d->more_out = false;
		inflateReset(&d->z);
	} else if (rc == Z_OK || rc == Z_BUF_ERROR) {
		if (*got || d->z.avail_in < before)
			d->z_done = false;
	} else {
		tg_err_set(err, -TG_EDATA, 0, "%s: corrupt gzip data (%s)", name,
			   d->z.msg ? d->z.msg : "inflate");
		return -TG_EDATA;
	}
	return 0;
}

static int zst_step(struct decoder *d, char *dst, size_t cap, size_t *got, bool *end, struct tg_err *err)
{
	ZSTD_inBuffer ib;
	ZSTD_outBuffer ob = {dst, cap, 0};
	int in = step_input(d, "zstd", got, end, err);
	size_t rc;

	if (in != 0)
		return in < 0 ? in : 0;
	ib = (ZSTD_inBuffer){d->rd.buf + d->rd.used, d->rd.have - d->rd.used, 0};
	rc = ZSTD_decompressStream(d->zs, &ob, &ib);
	if (ZSTD_isError(rc)) {
		tg_err_set(err, -TG_EDATA, 0, "%s: corrupt zstd data (%s)", d->rd.in->name,
			   ZSTD_getErrorName(rc));
		return -TG_EDATA;
	}
	d->rd.used += ib.pos;
	*got = ob.pos;
	d->z_done = rc == 0;
	d->more_out = ob.pos == cap;
	return 0;
}

static bool is_gzip(const unsigned char *m)
{
	return m[0] == 0x1f && m[1] == 0x8b;
}

static bool is_zstd(const unsigned char *m)
{
	return m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd;
}

/*
 * A plain file's step: pread() straight into the window, up to d->rd.size
 * (a file that grows meanwhile is read as it was; one that shrinks ends
 * where its bytes do).
 */
static int plain_step(struct decoder *d, char *dst, size_t cap, size_t *got, bool *end, struct tg_err *err)
{
	size_t want = d->rd.size - d->rd.pos < cap ? (size_t)(d->rd.size - d->rd.pos) : cap;
	ssize_t n = 0;

	if (want) {
		do
			n = pread(d->rd.fd, dst, want, (off_t)d->rd.pos);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			tg_err_set(err, -TG_EIO, errno, "%s: %s", d->rd.in->name, strerror(errno));
			return -TG_EIO;
		}
	}
	d->rd.pos += (size_t)n;
	*got = (size_t)n;
	*end = n == 0 || d->rd.pos >= d->rd.size;
	return 0;
}

/*
 * Scan what @d yields, from byte @start of the data, in a window of @cap
 * bytes refilled @chunk or more at a time: the records whose first line
 * starts in [@start, @owned_end). With @skip_first, the line that
 * straddles @start is the previous unit's: bytes up to the first newline
 * at or after @start - 1 are skipped (the decoder starts at @start - 1).
 */
static int scan_window(struct tg_input *in, struct decoder *d, size_t cap, size_t chunk, uint64_t start,
		       bool skip_first, uint64_t owned_end, const struct tg_scan *s, struct tg_recs *out,
		       struct tg_err *err)
{
	size_t have = 0, skip;
	uint64_t base = skip_first ? start - 1 : start;
	bool end = false, skip_line = skip_first; /* skip_line: drop bytes up to the next newline */
	char *buf = tg_xmalloc(cap);
	int rc = 0;

	while (!end) {
		size_t got, complete, keep_from, to;
		const char *nl;
		bool last = false;

		if (cap - have < chunk && cap >= TG_STREAM_MAX) {
			/* One line or record fills the largest window: take it as it is, skip its rest. */
			fprintf(stderr,
				"tracegrep: %s: a record longer than %zu MiB at offset %llu is cut there\n",
				in->name, TG_STREAM_MAX >> 20, (unsigned long long)base);
			to = owned_end - base < have ? (size_t)(owned_end - base) : have;
			tg_scan_region(s, buf, have, 0, to, true, in->src, base, out);
			skip_line = buf[have - 1] != '\n';
			base += have;
			have = 0;
		} else if (cap - have < chunk) {
			cap *= 2;
			buf = tg_xrealloc(buf, cap);
		}
		rc = d->step(d, buf + have, cap - have, &got, &end, err);
		if (rc < 0)
			break;
		if (skip_line) {
			nl = memchr(buf, '\n', got);
			skip = nl ? (size_t)(nl - buf) + 1 : got;
			memmove(buf, buf + skip, got - skip);
			base += skip;
			got -= skip;
			skip_line = !nl;
		}
		if (base >= owned_end)
			break; /* the lines from here on are the next unit's */
		have += got;
		if (end) {
			complete = have;
		} else {
			nl = have ? memrchr(buf, '\n', have) : NULL;
			if (!nl || (size_t)(nl - buf) + 1 < cap / 2)
				continue; /* scan in big steps, not per read */
			complete = (size_t)(nl - buf) + 1;
		}
		to = complete;
		if (owned_end - base <= complete) {
			to = (size_t)(owned_end - base);
			last = true;
		}
		keep_from = tg_scan_region(s, buf, complete, 0, to, end, in->src, base, out);
		if (last && keep_from >= to)
			break;
		memmove(buf, buf + keep_from, have - keep_from);
		base += keep_from;
		have -= keep_from;
	}
	free(buf);
	return rc;
}

static int scan_stream(struct tg_input *in, size_t unit, const struct tg_scan *s, struct tg_recs *out,
		       struct tg_err *err)
{
	struct decoder d = {.rd = {.in = in}};
	int rc;

	(void)unit;
	d.rd.buf = tg_xmalloc(TG_READ_BYTES);
	if (strcmp(in->ops->kind, "gzip") == 0) {
		d.step = gz_step;
		if (inflateInit2(&d.z, 15 + 32) != Z_OK) {
			tg_err_set(err, -TG_ENOMEM, 0, "%s: cannot start gzip decoder", in->name);
			free(d.rd.buf);
			return -TG_ENOMEM;
		}
		d.z_live = true;
	} else {
		d.step = zst_step;
		d.zs = ZSTD_createDStream();
		if (!d.zs || ZSTD_isError(ZSTD_initDStream(d.zs))) {
			tg_err_set(err, -TG_ENOMEM, 0, "%s: cannot start zstd decoder", in->name);
			ZSTD_freeDStream(d.zs);
			free(d.rd.buf);
			return -TG_ENOMEM;
		}
	}
	rc = scan_window(in, &d, TG_STREAM_BYTES, TG_READ_BYTES, 0, false, UINT64_MAX, s, out, err);
	free(d.rd.buf);
	if (d.z_live)
		inflateEnd(&d.z);
	ZSTD_freeDStream(d.zs);
	return rc;
}

/* Read @size bytes of plain file @fd from @at with pread() (see scan_file()). */
static int read_file(struct tg_input *in, int fd, uint64_t size, uint64_t at, bool skip_first,
		     uint64_t owned_end, const struct tg_scan *s, struct tg_recs *out, struct tg_err *err)
{
	struct decoder d = {.rd = {.in = in, .pos = skip_first ? at - 1 : at, .fd = fd, .size = size},
			    .step = plain_step};
	/* a small file gets a window its size (one read), not a whole one */
	size_t cap = size - d.rd.pos + 1 < TG_FILE_WINDOW ? (size_t)(size - d.rd.pos + 1) : TG_FILE_WINDOW;

	return scan_window(in, &d, cap, cap / 4 ? cap / 4 : 1, at, skip_first, owned_end, s, out, err);
}

/*
 * Unit @unit of a plain file: the records whose first line starts in the
 * bytes [unit, unit + 1) x TG_UNIT_BYTES, mapped TG_MAP_WINDOW at a time.
 * A window ends at its last newline; a record that goes on past it starts
 * the next window. A window that cannot be mapped, or one record longer
 * than a window, is read with pread() instead (read_file(): its window
 * grows up to TG_STREAM_MAX).
 *
 * The unit opens the file by its name: holding a descriptor per input
 * from the command line on would stop at the open-file limit in a
 * directory of thousands of logs. Its size is taken again, so a file
 * truncated since it was added is read to its new end (a mapping past the
 * end of a file faults) and one that grew is read to its old one.
 */
static int scan_file(struct tg_input *in, size_t unit, const struct tg_scan *s, struct tg_recs *out,
		     struct tg_err *err)
{
	uint64_t start = (uint64_t)unit * TG_UNIT_BYTES, owned_end = start + TG_UNIT_BYTES, size = in->size;
	uint64_t at = start ? start - 1 : 0, page = (uint64_t)sysconf(_SC_PAGESIZE);
	bool skipping = start > 0; /* the bytes from @at through the next newline are the previous unit's */
	int fd = open(in->name, O_RDONLY | O_CLOEXEC), rc = 0;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0) {
		tg_err_set(err, -TG_EIO, errno, "%s: %s", in->name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -TG_EIO;
	}
	if ((uint64_t)st.st_size < size)
		size = (uint64_t)st.st_size;
	/* a unit is read front to back: the kernel may read ahead further */
	(void)posix_fadvise(fd, (off_t)start, TG_UNIT_BYTES, POSIX_FADV_SEQUENTIAL);
	if (owned_end > size)
		owned_end = size;
	while (at < owned_end) {
		uint64_t off = at & ~(page - 1);
		uint64_t mend = off + TG_MAP_WINDOW < size ? off + TG_MAP_WINDOW : size;
		size_t len = (size_t)(mend - off), from = (size_t)(at - off), complete, to, r;
		bool final = mend == size;
		const char *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, (off_t)off), *nl;

		if (m == MAP_FAILED) {
			rc = read_file(in, fd, size, skipping ? at + 1 : at, skipping, owned_end, s, out,
				       err);
			break;
		}
		if (skipping) {
			nl = memchr(m + from, '\n', len - from);
			at = nl ? off + (uint64_t)(nl - m) + 1 : mend;
			skipping = !nl;
			if (!nl || at >= owned_end) {
				munmap((void *)(uintptr_t)m, len);
				if (final)
					break;
				continue;
			}
			from = (size_t)(at - off);
		}
		nl = final ? NULL : memrchr(m + from, '\n', len - from);
		if (!final && !nl) {
			munmap((void *)(uintptr_t)m, len);
			rc = read_file(in, fd, size, at, false, owned_end, s, out, err);
			break;
		}
		complete = final ? len : (size_t)(nl - m) + 1;
		to = owned_end - off < complete ? (size_t)(owned_end - off) : complete;
		r = tg_scan_region(s, m, complete, from, to, final, in->src, off, out);
		munmap((void *)(uintptr_t)m, len);
		if (r < to && r == from) { /* one record longer than the window */
			rc = read_file(in, fd, size, at, false, owned_end, s, out, err);
			break;
		}
		at = off + r;
		if (final)
			break;
	}
	close(fd);
	return rc;
}

static void release_file(struct tg_input *in)
{
	(void)in; /* each unit opens and closes the file */
}

static const struct tg_input_ops ops_file = {
	.kind = "file",
	.scan = scan_file,
	.release = release_file,
};

static void release_stream(struct tg_input *in)
{
	if (in->owned)
		free((void *)(uintptr_t)in->map);
}

static const struct tg_input_ops ops_gzip = {
	.kind = "gzip",
	.scan = scan_stream,
	.release = release_stream,
};

static const struct tg_input_ops ops_zstd = {
	.kind = "zstd",
	.scan = scan_stream,
	.release = release_stream,
};

/* ---- adding paths ---- */

struct tg_input *tg__inputs_push(struct tg_inputs *ins, const char *name)
{
	struct tg_input *in;

	if (ins->n == ins->cap) {
		ins->cap = ins->cap ? ins->cap * 2 : 16;
		ins->v = tg_xrealloc(ins->v, ins->cap * sizeof(*ins->v));
	}
	in = &ins->v[ins->n];
	memset(in, 0, sizeof(*in));
	in->name = tg_xstrndup(name, strlen(name));
	in->fd = -1;
	in->src = (uint32_t)ins->n;
	ins->n++;
	return in;
}

static void drop_last(struct tg_inputs *ins)
{
	struct tg_input *in = &ins->v[--ins->n];

	if (in->fd >= 0)
		close(in->fd);
	free(in->name);
	free(in->cuts);
}

static int add_stream_fd(struct tg_inputs *ins, int fd, const char *name, struct tg_err *err);

static int add_file(struct tg_inputs *ins, const char *path, struct tg_err *err)
{
	unsigned char magic[4] = {0};
	struct tg_input *in;
	struct stat st;
	ssize_t n;

	in = tg__inputs_push(ins, path);
	in->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (in->fd < 0 || fstat(in->fd, &st) < 0) {
		tg_err_set(err, -TG_EIO, errno, "%s: %s", path, strerror(errno));
		drop_last(ins);
		return -TG_EIO;
	}
	if (!S_ISREG(st.st_mode)) {
		/* A pipe or a FIFO (`<(zcat x)`): it has no size and cannot be mapped or read twice. */
		int rc, fd = in->fd;

		in->fd = -1;
		drop_last(ins);
		rc = add_stream_fd(ins, fd, path, err);
		close(fd);
		return rc;
	}
	in->size = (size_t)st.st_size;
	n = pread(in->fd, magic, sizeof(magic), 0);
	if (n >= 2 && is_gzip(magic)) {
		in->ops = &ops_gzip;
		in->nunits = 1;
		return 0;
	}
	if (n >= 4 && is_zstd(magic)) {
		in->ops = &ops_zstd;
		in->nunits = 1;
		return 0;
	}
	in->ops = &ops_file;
	in->nunits = (in->size + TG_UNIT_BYTES - 1) / TG_UNIT_BYTES;
	close(in->fd); /* each unit opens the file again (scan_file()) */
	in->fd = -1;
	return 0;
}

/* Read all of @fd (stdin, a pipe, a FIFO) into memory: a span query scans its input twice. */
static int add_stream_fd(struct tg_inputs *ins, int fd, const char *name, struct tg_err *err)
{
	struct tg_buf b = {0};
	struct tg_input *in;

	for (;;) {
		size_t n;

		tg_buf_put(&b, NULL, 0);
		if (b.cap - b.len < TG_READ_BYTES) {
			b.data = tg_xrealloc(b.data, b.cap ? b.cap * 2 : TG_READ_BYTES * 2);
			b.cap = b.cap ? b.cap * 2 : TG_READ_BYTES * 2;
		}
		if (fio_read_full(fd, b.data + b.len, b.cap - b.len, &n) < 0) {
			tg_err_set(err, -TG_EIO, errno, "%s: %s", name, strerror(errno));
			tg_buf_free(&b);
			return -TG_EIO;
		}
		b.len += n;
		if (b.len < b.cap) /* fio_read_full() stops short only at the end */
			break;
	}
	in = tg__inputs_push(ins, name);
	in->map = b.data;
	in->size = b.len;
	in->owned = true;
	if (b.len >= 2 && is_gzip((const unsigned char *)b.data)) {
		in->ops = &ops_gzip;
		in->nunits = 1;
	} else if (b.len >= 4 && is_zstd((const unsigned char *)b.data)) {
		in->ops = &ops_zstd;
		in->nunits = 1;
	} else {
		in->ops = &ops_mapped;
		cut_units(in);
	}
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_dir(struct tg_inputs *ins, const char *path, struct tg_err *err)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (!d) {
		tg_err_set(err, -TG_EIO, errno, "%s: %s", path, strerror(errno));
		return -TG_EIO;
	}
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			names = tg_xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = tg_xstrndup(e->d_name, strlen(e->d_name));
	}
	closedir(d);
	qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		struct tg_buf p = {0};
		struct stat st;

		tg_buf_printf(&p, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", names[i]);
		tg_buf_putc(&p, '\0');
		/* Inside a directory, symbolic links to directories are not followed (no loops). */
		if (lstat(p.data, &st) == 0 && S_ISLNK(st.st_mode) && stat(p.data, &st) == 0 &&
		    S_ISDIR(st.st_mode))
			;
		else if (stat(p.data, &st) < 0)
			rc = -TG_EIO, tg_err_set(err, -TG_EIO, errno, "%s: %s", p.data, strerror(errno));
		else if (S_ISDIR(st.st_mode))
			rc = add_dir(ins, p.data, err) < 0 ? -TG_EIO : rc;
		else if (S_ISREG(st.st_mode))
			rc = add_file(ins, p.data, err) < 0 ? -TG_EIO : rc;
		tg_buf_free(&p);
		free(names[i]);
	}
	free(names);
	return rc;
}

int tg_inputs_add(struct tg_inputs *ins, const char *path, struct tg_err *err)
{
	struct stat st;

	if (strcmp(path, "-") == 0)
		return add_stream_fd(ins, 0, "(standard input)", err);
	if (stat(path, &st) < 0) {
		tg_err_set(err, -TG_EIO, errno, "%s: %s", path, strerror(errno));
		return -TG_EIO;
	}
	if (S_ISDIR(st.st_mode))
		return add_dir(ins, path, err);
	return add_file(ins, path, err);
}

void tg_inputs_release(struct tg_inputs *ins)
{
	for (size_t i = 0; i < ins->n; i++) {
		struct tg_input *in = &ins->v[i];

		in->ops->release(in);
		if (in->fd >= 0)
			close(in->fd);
		free(in->name);
		free(in->cuts);
	}
	free(ins->v);
	memset(ins, 0, sizeof(*ins));
}

/* ---- the pool ---- */

struct work {
	uint32_t input; /* index into inputs */
	size_t unit;	/* unit of that input */
};

struct pool {
	struct tg_inputs *ins;	 /* what to scan */
	const struct tg_scan *s; /* how */
	struct work *work;	 /* every unit of every input */
	size_t nwork;		 /* entries in work */
	atomic_size_t next;	 /* next entry to take */
	atomic_int failed;	 /* an input could not be read */
};

struct worker {
	pthread_t tid;	     /* its thread */
	struct pool *pool;   /* shared */
	struct tg_recs recs; /* its matches */
};

static void *work_loop(void *arg)
{
	struct worker *w = arg;
	struct pool *p = w->pool;

	for (;;) {
		size_t i = atomic_fetch_add(&p->next, 1);
		struct tg_err err = {0};
		struct tg_input *in;

		if (i >= p->nwork)
			break;
		in = &p->ins->v[p->work[i].input];
		if (p->s->unit_wanted && !p->s->unit_wanted(in, p->work[i].unit, p->s->unit_arg))
			continue;
		if (in->ops->scan(in, p->work[i].unit, p->s, &w->recs, &err) < 0) {
			fprintf(stderr, "tracegrep: %s\n", err.msg);
			atomic_store(&p->failed, 1);
		}
	}
	return NULL;
}

int tg_run_scan(struct tg_inputs *ins, const struct tg_scan *s, unsigned threads, struct tg_recs *out)
{
	struct pool p = {.ins = ins, .s = s};
	struct worker *w;
	size_t nthreads;

	for (size_t i = 0; i < ins->n; i++)
		p.nwork += ins->v[i].nunits;
	p.work = tg_xcalloc(p.nwork, sizeof(*p.work));
	p.nwork = 0;
	for (size_t i = 0; i < ins->n; i++)
		for (size_t u = 0; u < ins->v[i].nunits; u++)
			p.work[p.nwork++] = (struct work){(uint32_t)i, u};
	atomic_init(&p.next, 0);
	atomic_init(&p.failed, 0);
	nthreads = threads < p.nwork ? threads : p.nwork;
	if (nthreads == 0)
		nthreads = 1;
	w = tg_xcalloc(nthreads, sizeof(*w));
	for (size_t i = 0; i < nthreads; i++) {
		w[i].pool = &p;
		if (s->visitor)
			w[i].recs.visit_state = s->visitor->start(s->visitor->arg);
	}
	/* The calling thread is worker 0; a thread that cannot start leaves its share to the others. */
	for (size_t i = 1; i < nthreads; i++)
		if (pthread_create(&w[i].tid, NULL, work_loop, &w[i]) != 0)
			w[i].pool = NULL;
	work_loop(&w[0]);
	for (size_t i = 0; i < nthreads; i++) {
		if (i > 0 && w[i].pool)
			pthread_join(w[i].tid, NULL);
		if (s->visitor)
			s->visitor->finish(s->visitor->arg, w[i].recs.visit_state);
		tg_recs_append(out, &w[i].recs);
	}
	free(w);
	free(p.work);
	tg_recs_sort(out);
	return atomic_load(&p.failed) ? -TG_EIO : 0;
}
