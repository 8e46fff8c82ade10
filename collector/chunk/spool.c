/*
 * chunk/spool.c - durable overflow of chunks on disk.
 *
 * DESIGN: one file per chunk, named "%016" PRIx64 ".spool" by sequence
 * number so a directory listing sorts in replay order. A file is
 *
 *   header  32 bytes, little-endian: magic "CLWS", u16 version (1),
 *           u16 flags (0), u64 seq, u32 payload length uncompressed,
 *           u32 payload length stored, u32 record count, u32 meta length
 *   meta    msgpack array: opened_ns, ts_min|nil, ts_max|nil,
 *           [input, end_offset]* flattened, [trace]*, [service]*
 *   payload one zstd frame of the chunk's packed records
 *   crc     u32 CRC-32C of every byte before it
 *
 * A push builds the whole image in one reused buffer, writes it to
 * ".tmp-SEQ", fsyncs it, renames it to its name and fsyncs the directory:
 * the rename is the commit point, so a crash leaves either the whole file
 * or a temp file, which spool_open() deletes (its chunk was never
 * reported pushed, so the pipeline still holds or re-reads it). Any write
 * failure unlinks the temp file: no partial file is ever left under a
 * chunk name. Reads trust nothing: the file size is capped
 * (CD_SPOOL_FILE_MAX), the CRC is checked before any field is believed,
 * and lengths, counts and every record are checked again after.
 * Full-disk behaviour is tested both on a real 64 KiB tmpfs (when the
 * test may mount one) and with chunk/hooks.h's write budget.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <store/buf.h>
#include <store/crc32c.h>
#include <store/fileio.h>
#include <store/hooks.h>
#include <store/mpack.h>
#include "chunk/spool.h"
#include "cd_limits.h"

#define HDR_LEN 32
#define CRC_LEN 4
#define SPOOL_VERSION 1
#define NAME_LEN 23 /* 16 hex digits + ".spool" + NUL */

struct spool_file {
	uint64_t seq;  /* its sequence number */
	uint64_t size; /* bytes on disk */
};

struct spool {
	char dir[CD_INPUT_NAME_MAX]; /* the directory, as given */
	int dirfd;		     /* open O_DIRECTORY, for *at() calls and fsync */
	uint64_t limit;		     /* byte limit */
	int zlevel;		     /* zstd level */
	bool sync;		     /* fsync files and the directory */
	ZSTD_CCtx *zc;		     /* reused compression context */
	ZSTD_DCtx *zd;		     /* reused decompression context */
	struct spool_file *files;    /* listed chunk files, ascending seq */
	size_t nfiles;		     /* entries used */
	size_t files_cap;	     /* entries allocated */
	uint64_t bytes;		     /* sum of files[].size */
	uint64_t corrupt;	     /* corrupt files found */
	uint64_t lost;		     /* records lost with them (their headers' counts) */
	void (*on_corrupt)(void *, const char *, const char *, uint64_t, uint64_t); /* or NULL */
	void *cookie;								    /* its cookie */
	struct buf img; /* scratch: a file image */
};

void spool_options_default(struct spool_options *opt, const char *dir)
{
	memset(opt, 0, sizeof(*opt));
	opt->dir = dir;
	opt->limit_bytes = CD_SPOOL_BYTES_DEFAULT;
	opt->zstd_level = 1;
}

static void file_name(char out[NAME_LEN], uint64_t seq)
{
	snprintf(out, NAME_LEN, "%016" PRIx64 ".spool", seq);
}

static bool parse_name(const char *name, uint64_t *seq)
{
	uint64_t v = 0;

	if (strlen(name) != 22 || strcmp(name + 16, ".spool") != 0)
		return false;
	for (int i = 0; i < 16; i++) {
		char c = name[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			return false;
		v = (v << 4) | (uint64_t)d;
	}
	*seq = v;
	return true;
}

static size_t find_file(const struct spool *sp, uint64_t seq, bool *found)
{
	size_t lo = 0, hi = sp->nfiles;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sp->files[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < sp->nfiles && sp->files[lo].seq == seq;
	return lo;
}

static int list_add(struct spool *sp, uint64_t seq, uint64_t size)
{
	bool found;
	size_t at = find_file(sp, seq, &found);

	if (found)
		return -CD_EINVAL;
	if (sp->nfiles == sp->files_cap) {
		size_t cap = sp->files_cap ? sp->files_cap * 2 : 64;
		struct spool_file *f = chunk__realloc(sp->files, cap * sizeof(*f));
		if (!f)
			return -CD_ENOMEM;
		sp->files = f;
		sp->files_cap = cap;
	}
	memmove(&sp->files[at + 1], &sp->files[at], (sp->nfiles - at) * sizeof(sp->files[0]));
	sp->files[at] = (struct spool_file){.seq = seq, .size = size};
	sp->nfiles++;
	sp->bytes += size;
	return 0;
}

static void list_del(struct spool *sp, size_t at)
{
	sp->bytes -= sp->files[at].size;
	memmove(&sp->files[at], &sp->files[at + 1], (sp->nfiles - at - 1) * sizeof(sp->files[0]));
	sp->nfiles--;
}

/* --- decoding --------------------------------------------------------------- */

static int corrupt(struct cd_err *err, const char *what)
{
	return cd_err_set(err, -CD_ECORRUPT, 0, "spool file: %s", what);
}

/* Check the CRC and the header; on success the fields are set. */
static int check_image(const uint8_t *buf, size_t len, uint64_t *seq, struct cd_err *err)
{
	uint64_t meta_len, clen;

	if (len < HDR_LEN + CRC_LEN)
		return corrupt(err, "shorter than a header");
	if (len > CD_SPOOL_FILE_MAX)
		return corrupt(err, "larger than CD_SPOOL_FILE_MAX");
	if (crc32c(0, buf, len - CRC_LEN) != (uint32_t)le_get(buf + len - CRC_LEN, 4))
		return corrupt(err, "checksum mismatch");
	if (memcmp(buf, "CLWS", 4) != 0)
		return corrupt(err, "bad magic");
	if (le_get(buf + 4, 2) != SPOOL_VERSION)
		return corrupt(err, "unknown version");
	if (le_get(buf + 6, 2) != 0)
		return corrupt(err, "unknown flags");
	meta_len = le_get(buf + 28, 4);
	clen = le_get(buf + 20, 4);
	if (HDR_LEN + meta_len + clen + CRC_LEN != len)
		return corrupt(err, "lengths do not add up to the file size");
	if (le_get(buf + 16, 4) > CD_CHUNK_BYTES_MAX || le_get(buf + 24, 4) > CD_CHUNK_RECORDS_MAX)
		return corrupt(err, "payload or record count past the chunk caps");
	*seq = le_get(buf + 8, 8);
	return 0;
}

static int decode_meta(struct mp_r *rd, struct chunk *c, int64_t *opened)
{
	uint32_t n, m;
	int64_t lo = 0, hi = 0;
	bool has_lo, has_hi;
	int rc;

	if (!mp_get_array(rd, &n) || n < 6 || !mp_get_int(rd, opened))
		return -CD_ECORRUPT;
	has_lo = !mp_get_nil(rd) && mp_get_int(rd, &lo);
	has_hi = !mp_get_nil(rd) && mp_get_int(rd, &hi);
	if (rd->bad || has_lo != has_hi || lo > hi)
		return -CD_ECORRUPT;
	if (has_lo)
		chunk__set_ts_range(c, lo, hi);
	if (!mp_get_array(rd, &m) || m % 2 != 0 || m / 2 > CD_CHUNK_SOURCES_MAX)
		return -CD_ECORRUPT;
	for (uint32_t i = 0; i < m / 2; i++) {
		uint64_t input, end;
		if (!mp_get_uint(rd, &input) || !mp_get_uint(rd, &end) || input >= CHUNK_NO_INPUT)
			return -CD_ECORRUPT;
		rc = chunk__add_source(c, (uint32_t)input, end);
		if (rc < 0)
			return rc == -CD_ENOMEM ? rc : -CD_ECORRUPT;
	}
	for (int set = 0; set < 2; set++) {
		if (!mp_get_array(rd, &m))
			return -CD_ECORRUPT;
		for (uint32_t i = 0; i < m; i++) {
			const char *s;
			uint32_t len;
			if (!mp_get_str(rd, &s, &len))
				return -CD_ECORRUPT;
			rc = set == 0 ? chunk__add_trace(c, s, len) : chunk__add_service(c, s, len);
			if (rc < 0)
				return rc == -CD_ENOMEM ? rc : -CD_ECORRUPT;
		}
	}
	if (!mp_skip(rd, n - 6) || !mp_at_end(rd))
		return -CD_ECORRUPT;
	return 0;
}

static int decode_image(const uint8_t *buf, size_t len, ZSTD_DCtx *zd, struct chunk **out, struct cd_err *err)
{
	uint64_t seq;
	uint32_t ulen, clen, nrec, meta_len;
	struct chunk *c;
	struct mp_r rd;
	struct chunk_iter it;
	struct fmt_record *r;
	uint8_t *payload;
	size_t got;
	int64_t opened = 0;
	uint32_t count = 0;
	int rc;

	rc = check_image(buf, len, &seq, err);
	if (rc < 0)
		return rc;
	ulen = (uint32_t)le_get(buf + 16, 4);
	clen = (uint32_t)le_get(buf + 20, 4);
	nrec = (uint32_t)le_get(buf + 24, 4);
	meta_len = (uint32_t)le_get(buf + 28, 4);

	rc = chunk_new(&c, seq, 0);
	if (rc < 0)
		return cd_err_set(err, rc, 0, "spool file: out of memory");
	rd = (struct mp_r){.p = buf + HDR_LEN, .end = buf + HDR_LEN + meta_len, .bad = false};
	rc = decode_meta(&rd, c, &opened);
	if (rc < 0) {
		cd_err_set(err, rc, 0, "spool file: %s", rc == -CD_ENOMEM ? "out of memory" : "bad metadata");
		goto err_free_chunk;
	}
	payload = chunk__malloc(ulen ? ulen : 1);
	if (!payload) {
		rc = cd_err_set(err, -CD_ENOMEM, 0, "spool file: out of memory");
		goto err_free_chunk;
	}
	got = zd ? ZSTD_decompressDCtx(zd, payload, ulen, buf + HDR_LEN + meta_len, clen)
		 : ZSTD_decompress(payload, ulen, buf + HDR_LEN + meta_len, clen);
	if (ZSTD_isError(got) || got != ulen) {
		rc = corrupt(err, "payload does not decompress to its length");
		goto err_free_payload;
	}
	rc = chunk__set_payload(c, payload, ulen, nrec);
	if (rc < 0) {
		cd_err_set(err, rc, 0, "spool file: cannot hold the payload");
		goto err_free_payload;
	}
	r = chunk__malloc(sizeof(*r));
	if (!r) {
		rc = cd_err_set(err, -CD_ENOMEM, 0, "spool file: out of memory");
		goto err_free_payload;
	}
	chunk_iter_init(&it, c);
	while ((rc = chunk_iter_next(&it, r, NULL)) > 0)
		count++;
	chunk__free(r);
	if (rc < 0 || count != nrec) {
		rc = corrupt(err,
			     rc < 0 ? "a record does not decode" : "record count differs from the header");
		goto err_free_payload;
	}
	chunk__free(payload);
	chunk__set_opened(c, opened);
	*out = c;
	return 0;

err_free_payload:
	chunk__free(payload);
err_free_chunk:
	chunk_free(c);
	return rc;
}

int spool_decode(const uint8_t *buf, size_t len, struct chunk **out, struct cd_err *err)
{
	return decode_image(buf, len, NULL, out, err);
}

/* --- salvage ------------------------------------------------------------------ */

/* Whether a file's header is readable and names chunk @seq (its body may be damaged). */
static bool header_names(const uint8_t *buf, size_t len, uint64_t seq)
{
	return len >= HDR_LEN && memcmp(buf, "CLWS", 4) == 0 && le_get(buf + 4, 2) == SPOOL_VERSION &&
	       le_get(buf + 6, 2) == 0 && le_get(buf + 8, 8) == seq &&
	       le_get(buf + 16, 4) <= CD_CHUNK_BYTES_MAX && HDR_LEN + le_get(buf + 28, 4) <= len;
}

/*
 * The records of a corrupt file (in sp->img, its header readable) that
 * still decode: the payload decompressed as far as zstd goes, then records
 * up to the first that does not decode, re-packed into a new chunk (which
 * recomputes its traces, services and time range); the input positions
 * come from the metadata when it still decodes. *@lost: the header's
 * record count beyond those. Return: 0 with *@out set; -CD_ECORRUPT when
 * not one record decodes; -CD_ENOMEM.
 */
static int salvage(const uint8_t *buf, size_t len, ZSTD_DCtx *zd, uint64_t seq, struct chunk **out,
		   uint64_t *lost)
{
	uint32_t ulen = (uint32_t)le_get(buf + 16, 4), nrec = (uint32_t)le_get(buf + 24, 4);
	size_t meta_len = le_get(buf + 28, 4), clen = le_get(buf + 20, 4), avail;
	ZSTD_inBuffer in = {buf + HDR_LEN + meta_len, 0, 0};
	ZSTD_outBuffer zo = {NULL, ulen, 0};
	struct chunk *meta = NULL, *c = NULL;
	struct fmt_record *r = NULL;
	struct record_src src;
	struct chunk_iter it;
	struct mp_r rd = {.p = buf + HDR_LEN, .end = buf + HDR_LEN + meta_len, .bad = false};
	int64_t opened = 0;
	int rc = -CD_ENOMEM;

	avail = clen < len - HDR_LEN - meta_len ? clen : len - HDR_LEN - meta_len;
	if (chunk_new(&meta, seq, 0) < 0 || chunk_new(&c, seq, 0) < 0 || !(r = chunk__malloc(sizeof(*r))) ||
	    !(zo.dst = chunk__malloc(ulen ? ulen : 1)))
		goto out;
	if (decode_meta(&rd, meta, &opened) < 0) {
		chunk_free(meta); /* positions unknown: the records still go */
		meta = NULL;
	}
	/* Fed in small pieces: given a whole frame at once, zstd decodes it in
	 * one pass and on damage hands back nothing; block by block it hands
	 * back every block before the damaged one. */
	ZSTD_DCtx_reset(zd, ZSTD_reset_session_only);
	while (in.pos < avail && zo.pos < zo.size) {
		size_t z;

		in.size = avail - in.pos > 4096 ? in.pos + 4096 : avail;
		z = ZSTD_decompressStream(zd, &zo, &in);
		if (ZSTD_isError(z) || z == 0)
			break;
	}
	ZSTD_DCtx_reset(zd, ZSTD_reset_session_only);
	chunk_iter_init_bytes(&it, zo.dst, zo.pos);
	rc = 0;
	while (rc == 0 && chunk_iter_next(&it, r, &src) > 0)
		rc = chunk_append(c, r, &src, CHUNK_NO_INPUT, 0);
	if (rc == -CD_ENOMEM)
		goto out;
	rc = chunk_nrecords(c) ? 0 : -CD_ECORRUPT;
	for (uint32_t i = 0; rc == 0 && meta && i < chunk_nsources(meta); i++)
		rc = chunk__add_source(c, chunk_source(meta, i).input, chunk_source(meta, i).end_offset);
	if (rc == 0) {
		chunk__set_opened(c, opened);
		*lost = nrec > chunk_nrecords(c) ? nrec - chunk_nrecords(c) : 0;
		*out = c;
		c = NULL;
	}
out:
	chunk__free(zo.dst);
	chunk__free(r);
	chunk_free(meta);
	chunk_free(c);
	return rc;
}

int spool_salvage(const uint8_t *buf, size_t len, struct chunk **out, uint64_t *lost)
{
	ZSTD_DCtx *zd;
	int rc;

	if (len < HDR_LEN || !header_names(buf, len, le_get(buf + 8, 8)))
		return -CD_ECORRUPT;
	zd = ZSTD_createDCtx();
	if (!zd)
		return -CD_ENOMEM;
	rc = salvage(buf, len, zd, le_get(buf + 8, 8), out, lost);
	ZSTD_freeDCtx(zd);
	return rc;
}

/* --- the directory ------------------------------------------------------------ */

static int sync_dir(struct spool *sp, struct cd_err *err)
{
	if (sp->sync && fio_sync_dir(sp->dirfd) < 0)
		return cd_err_set(err, -CD_EIO, errno, "spool: fsync %s: %s", sp->dir, strerror(errno));
	return 0;
}

/* Read a whole file (at most CD_SPOOL_FILE_MAX + 1 bytes) into sp->img.p. */
static int read_file(struct spool *sp, const char *name, size_t *len, struct cd_err *err)
{
	struct stat st;
	size_t want, got = 0;
	int fd, rc;

	fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		return cd_err_set(err, e == ENOENT ? -CD_ENOENT : -CD_EIO, e, "spool: open %s/%s: %s",
				  sp->dir, name, strerror(e));
	}
	if (fstat(fd, &st) < 0) {
		rc = cd_err_set(err, -CD_EIO, errno, "spool: stat %s/%s: %s", sp->dir, name, strerror(errno));
		goto out_close;
	}
	/* one byte past the cap is enough to call the file too large */
	want = (uint64_t)st.st_size > CD_SPOOL_FILE_MAX ? CD_SPOOL_FILE_MAX + 1 : (size_t)st.st_size;
	rc = buf_reserve(&sp->img, want ? want : 1);
	if (rc < 0) {
		cd_err_set(err, rc, 0, "spool: out of memory");
		goto out_close;
	}
	if (fio_read_full(fd, sp->img.p, want, &got) < 0) {
		rc = cd_err_set(err, -CD_EIO, errno, "spool: read %s/%s: %s", sp->dir, name, strerror(errno));
		goto out_close;
	}
	*len = got;
	rc = 0;
out_close:
	close(fd);
	return rc;
}

/*
 * Move a bad file to corrupt/ and count it. If even the move fails, it is
 * still counted and no longer listed (it stays where it is, and is checked
 * again at the next open): reported either way, never replayed.
 */
static void report(struct spool *sp, const char *name, const char *why, uint64_t recovered, uint64_t lost)
{
	char path[CD_INPUT_NAME_MAX + 64];

	sp->corrupt++;
	sp->lost += lost;
	snprintf(path, sizeof(path), "%s/%s", sp->dir, name);
	if (sp->on_corrupt)
		sp->on_corrupt(sp->cookie, path, why, recovered, lost);
}

static void quarantine(struct spool *sp, const char *name, struct cd_err *err)
{
	char to[64];

	snprintf(to, sizeof(to), "corrupt/%s", name);
	if (renameat(sp->dirfd, name, sp->dirfd, to) < 0) {
		cd_err_set(err, -CD_ECORRUPT, errno, "spool: %s/%s is corrupt and cannot be moved: %s",
			   sp->dir, name, strerror(errno));
		return;
	}
	sync_dir(sp, NULL);
}

static int scan(struct spool *sp, struct cd_err *err)
{
	DIR *d;
	struct dirent *e;
	int fd, rc = 0;

	fd = openat(sp->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cd_err_set(err, -CD_EIO, errno, "spool: open %s: %s", sp->dir, strerror(errno));
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return cd_err_set(err, -CD_EIO, errno, "spool: read %s: %s", sp->dir, strerror(errno));
	}
	while ((e = readdir(d))) {
		uint64_t seq, hdr_seq = 0;
		size_t len = 0;
		struct cd_err why = {0};

		if (strncmp(e->d_name, ".tmp-", 5) == 0) {
			unlinkat(sp->dirfd, e->d_name, 0);
			continue;
		}
		if (!parse_name(e->d_name, &seq))
			continue; /* not ours (corrupt/, ".", "..", an operator's file) */
		rc = read_file(sp, e->d_name, &len, err);
		if (rc == -CD_ENOENT)
			continue;
		if (rc < 0)
			break;
		if ((check_image(sp->img.p, len, &hdr_seq, &why) < 0 || hdr_seq != seq) &&
		    !header_names(sp->img.p, len, seq)) {
			report(sp, e->d_name, why.msg[0] ? why.msg : "sequence number differs from the name",
			       0, 0);
			quarantine(sp, e->d_name, &why);
			continue;
		} /* else listed: loading it salvages what it can */
		rc = list_add(sp, seq, len);
		if (rc < 0) {
			cd_err_set(err, rc, 0, "spool: out of memory");
			break;
		}
	}
	closedir(d);
	return rc;
}

int spool_open(struct spool **out, const struct spool_options *opt, struct cd_err *err)
{
	struct spool *sp;
	int rc;

	if (!opt || !opt->dir || strlen(opt->dir) >= CD_INPUT_NAME_MAX)
		return cd_err_set(err, -CD_EINVAL, 0, "spool: no directory, or its name is too long");
	sp = chunk__malloc(sizeof(*sp));
	if (!sp)
		return cd_err_set(err, -CD_ENOMEM, 0, "spool: out of memory");
	memset(sp, 0, sizeof(*sp));
	snprintf(sp->dir, sizeof(sp->dir), "%s", opt->dir);
	sp->limit = opt->limit_bytes ? opt->limit_bytes : CD_SPOOL_BYTES_DEFAULT;
	sp->zlevel = opt->zstd_level ? opt->zstd_level : 1;
	sp->sync = !opt->no_fsync;
	sp->on_corrupt = opt->on_corrupt;
	sp->cookie = opt->cookie;

	if (mkdir(sp->dir, 0700) == 0) {
		if (sp->sync && fio_sync_parent(sp->dir) < 0) {
			rc = cd_err_set(err, -CD_EIO, errno, "spool: fsync the parent of %s: %s", sp->dir,
					strerror(errno));
			goto err_free_sp;
		}
	} else if (errno != EEXIST) {
		rc = cd_err_set(err, -CD_EIO, errno, "spool: mkdir %s: %s", sp->dir, strerror(errno));
		goto err_free_sp;
	}
	sp->dirfd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd < 0) {
		rc = cd_err_set(err, -CD_EIO, errno, "spool: open %s: %s", sp->dir, strerror(errno));
		goto err_free_sp;
	}
	if (mkdirat(sp->dirfd, "corrupt", 0700) == 0)
		sync_dir(sp, NULL); /* at worst corrupt/ is made again */
	else if (errno != EEXIST) {
		rc = cd_err_set(err, -CD_EIO, errno, "spool: mkdir %s/corrupt: %s", sp->dir, strerror(errno));
		goto err_close_dir;
	}
	sp->zc = ZSTD_createCCtx();
	sp->zd = ZSTD_createDCtx();
	if (!sp->zc || !sp->zd) {
		rc = cd_err_set(err, -CD_ENOMEM, 0, "spool: out of memory");
		goto err_free_zstd;
	}
	rc = scan(sp, err);
	if (rc < 0)
		goto err_free_lists;
	*out = sp;
	return 0;

err_free_lists:
	chunk__free(sp->files);
	buf_release(&sp->img);
err_free_zstd:
	ZSTD_freeCCtx(sp->zc);
	ZSTD_freeDCtx(sp->zd);
err_close_dir:
	close(sp->dirfd);
err_free_sp:
	chunk__free(sp);
	return rc;
}

void spool_free(struct spool *sp)
{
	if (!sp)
		return;
	ZSTD_freeCCtx(sp->zc);
	ZSTD_freeDCtx(sp->zd);
	close(sp->dirfd);
	chunk__free(sp->files);
	buf_release(&sp->img);
	chunk__free(sp);
}

static size_t meta_bound(const struct chunk *c)
{
	size_t n = 64 + (size_t)chunk_nsources(c) * 20;
	uint32_t len;

	for (uint32_t i = 0; i < chunk_ntraces(c); i++) {
		chunk_trace_ref(c, i, &len);
		n += 5 + len;
	}
	for (uint32_t i = 0; i < chunk_nservices(c); i++) {
		chunk_service_ref(c, i, &len);
		n += 5 + len;
	}
	return n;
}

static void write_meta(struct mp_w *w, const struct chunk *c)
{
	int64_t lo, hi;
	uint32_t len;
	const char *s;

	mp_put_array(w, 6);
	mp_put_int(w, chunk_opened_ns(c));
	if (chunk_ts_range(c, &lo, &hi)) {
		mp_put_int(w, lo);
		mp_put_int(w, hi);
	} else {
		mp_put_nil(w);
		mp_put_nil(w);
	}
	mp_put_array(w, 2 * chunk_nsources(c));
	for (uint32_t i = 0; i < chunk_nsources(c); i++) {
		struct chunk_source src = chunk_source(c, i);
		mp_put_uint(w, src.input);
		mp_put_uint(w, src.end_offset);
	}
	mp_put_array(w, chunk_ntraces(c));
	for (uint32_t i = 0; i < chunk_ntraces(c); i++) {
		s = chunk_trace_ref(c, i, &len);
		mp_put_str(w, s, len);
	}
	mp_put_array(w, chunk_nservices(c));
	for (uint32_t i = 0; i < chunk_nservices(c); i++) {
		s = chunk_service_ref(c, i, &len);
		mp_put_str(w, s, len);
	}
}

/* Build the file image of @c in sp->img.p. */
static int build_image(struct spool *sp, const struct chunk *c, size_t *len, struct cd_err *err)
{
	size_t plen, mbound, cbound, clen, meta_len;
	const uint8_t *payload = chunk_data_ref(c, &plen);
	struct mp_w w;
	int rc;

	mbound = meta_bound(c);
	cbound = ZSTD_compressBound(plen);
	rc = buf_reserve(&sp->img, HDR_LEN + mbound + cbound + CRC_LEN);
	if (rc < 0)
		return cd_err_set(err, rc, 0, "spool: out of memory");
	w = (struct mp_w){.p = sp->img.p + HDR_LEN, .end = sp->img.p + HDR_LEN + mbound, .overflow = false};
	write_meta(&w, c);
	if (w.overflow)
		return cd_err_set(err, -CD_ELIMIT, 0, "spool: chunk metadata past its bound");
	meta_len = (size_t)(w.p - (sp->img.p + HDR_LEN));
	clen = ZSTD_compressCCtx(sp->zc, sp->img.p + HDR_LEN + meta_len, cbound,
				 payload ? payload : (const uint8_t *)"", plen, sp->zlevel);
	if (ZSTD_isError(clen))
		return cd_err_set(err, -CD_EIO, 0, "spool: zstd: %s", ZSTD_getErrorName(clen));
	memcpy(sp->img.p, "CLWS", 4);
	le_put(sp->img.p + 4, SPOOL_VERSION, 2);
	le_put(sp->img.p + 6, 0, 2);
	le_put(sp->img.p + 8, chunk_seq(c), 8);
	le_put(sp->img.p + 16, plen, 4);
	le_put(sp->img.p + 20, clen, 4);
	le_put(sp->img.p + 24, chunk_nrecords(c), 4);
	le_put(sp->img.p + 28, meta_len, 4);
	*len = HDR_LEN + meta_len + clen + CRC_LEN;
	le_put(sp->img.p + *len - CRC_LEN, crc32c(0, sp->img.p, *len - CRC_LEN), 4);
	return 0;
}

static int io_fail(struct spool *sp, const char *what, const char *name, int e, struct cd_err *err)
{
	int code = (e == ENOSPC || e == EDQUOT) ? -CD_EFULL : -CD_EIO;

	return cd_err_set(err, code, e, "spool: %s %s/%s: %s", what, sp->dir, name, strerror(e));
}

int spool_push(struct spool *sp, const struct chunk *c, struct cd_err *err)
{
	char name[NAME_LEN], tmp[NAME_LEN + 8];
	bool found;
	size_t len = 0;
	const char *step;
	int rc;

	file_name(name, chunk_seq(c));
	snprintf(tmp, sizeof(tmp), ".tmp-%s", name);
	find_file(sp, chunk_seq(c), &found);
	if (found)
		return cd_err_set(err, -CD_EINVAL, 0, "spool: chunk %" PRIu64 " is already spooled",
				  chunk_seq(c));
	rc = build_image(sp, c, &len, err);
	if (rc < 0)
		return rc;
	if (sp->bytes + len > sp->limit)
		return cd_err_set(err, -CD_EFULL, 0, "spool: %s is at its limit (%" PRIu64 " bytes)", sp->dir,
				  sp->limit);
	/* room in the list first: after the rename nothing may fail */
	if (sp->nfiles == sp->files_cap) {
		size_t cap = sp->files_cap ? sp->files_cap * 2 : 64;
		struct spool_file *f = chunk__realloc(sp->files, cap * sizeof(*f));
		if (!f)
			return cd_err_set(err, -CD_ENOMEM, 0, "spool: out of memory");
		sp->files = f;
		sp->files_cap = cap;
	}

	rc = fio_replace(
		&(struct fio_replace){
			.dirfd = sp->dirfd, .tmp = tmp, .name = name, .mode = 0600, .no_sync = !sp->sync},
		sp->img.p, len, &step);
	if (rc < 0 && strcmp(step, "fsync directory") == 0) {
		int e = errno;

		/* the file is complete but maybe not durable: take it back */
		unlinkat(sp->dirfd, name, 0);
		return cd_err_set(err, -CD_EIO, e, "spool: fsync %s: %s", sp->dir, strerror(e));
	}
	if (rc < 0)
		return io_fail(sp, step, tmp, errno, err);
	list_add(sp, chunk_seq(c), len); /* cannot fail: room made above, seq checked */
	return 0;
}

size_t spool_count(const struct spool *sp)
{
	return sp->nfiles;
}

uint64_t spool_seq_at(const struct spool *sp, size_t i)
{
	assert(i < sp->nfiles);
	return sp->files[i].seq;
}

uint64_t spool_bytes(const struct spool *sp)
{
	return sp->bytes;
}

uint64_t spool_corrupt_count(const struct spool *sp)
{
	return sp->corrupt;
}

uint64_t spool_lost_count(const struct spool *sp)
{
	return sp->lost;
}

int spool_load(struct spool *sp, uint64_t seq, struct chunk **out, struct cd_err *err)
{
	char name[NAME_LEN];
	bool found;
	size_t at = find_file(sp, seq, &found), len = 0;
	struct cd_err mine = {0, 0, ""};
	int rc;

	if (!err)
		err = &mine; /* the reason is reported even when the caller does not want it */
	if (!found)
		return cd_err_set(err, -CD_ENOENT, 0, "spool: no chunk %" PRIu64, seq);
	file_name(name, seq);
	rc = read_file(sp, name, &len, err);
	if (rc == -CD_ENOENT) {
		list_del(sp, at); /* removed behind our back: say so, and forget it */
		return rc;
	}
	if (rc < 0)
		return rc;
	rc = decode_image(sp->img.p, len, sp->zd, out, err);
	if (rc == -CD_ECORRUPT || (rc == 0 && chunk_seq(*out) != seq)) {
		uint64_t lost = 0;
		char to[64];

		if (rc == 0) {
			chunk_free(*out);
			*out = NULL;
			rc = corrupt(err, "sequence number differs from the file name");
		}
		int sv = header_names(sp->img.p, len, seq) ? salvage(sp->img.p, len, sp->zd, seq, out, &lost)
							   : -CD_ECORRUPT;

		if (sv == -CD_ENOMEM) /* the file stays listed: tried again later */
			return cd_err_set(err, -CD_ENOMEM, 0, "spool: out of memory salvaging %s", name);
		if (sv == 0) {
			/* a copy for the operator; the file stays listed until its chunk is delivered */
			snprintf(to, sizeof(to), "corrupt/%s", name);
			if (linkat(sp->dirfd, name, sp->dirfd, to, 0) == 0)
				sync_dir(sp, NULL);
			report(sp, name, err->msg, chunk_nrecords(*out), lost);
			return 0;
		}
		report(sp, name, err->msg, 0,
		       header_names(sp->img.p, len, seq) ? le_get(sp->img.p + 24, 4) : 0);
		quarantine(sp, name, err);
		list_del(sp, at);
	}
	return rc;
}

int spool_remove(struct spool *sp, uint64_t seq, struct cd_err *err)
{
	char name[NAME_LEN];
	bool found;
	size_t at = find_file(sp, seq, &found);

	if (!found)
		return cd_err_set(err, -CD_ENOENT, 0, "spool: no chunk %" PRIu64, seq);
	file_name(name, seq);
	if (unlinkat(sp->dirfd, name, 0) < 0 && errno != ENOENT)
		return cd_err_set(err, -CD_EIO, errno, "spool: unlink %s/%s: %s", sp->dir, name,
				  strerror(errno));
	list_del(sp, at);
	/* no directory fsync: a removal lost in a crash only replays an acked chunk (at least once) */
	return 0;
}
