/*
 * chunk/checkpoint.c - per-input read positions, stored atomically.
 *
 * DESIGN: positions live in an array sorted by input name (binary search;
 * a checkpoint holds at most CD_CHECKPOINT_INPUTS_MAX inputs and changes
 * at the rate of acknowledged chunks, not records). The file is rewritten
 * whole on every save (small: ~30 bytes + the name per input), through a
 * temp file, fsync, rename, directory fsync, so the rename is the commit.
 * Format (little-endian): magic "CLWK", u16 version (2), u16 flags (0),
 * u32 count, then per input u16 name length, name, u64 dev, u64 ino,
 * u64 offset, u64 fingerprint, u16 fingerprint length (version 1, still
 * read, has no fingerprint); then u32 CRC-32C of all before. A file that fails the CRC
 * or the format is reported, not guessed at: starting from offset 0 would
 * duplicate everything, and from the end would lose data.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chunk/checkpoint.h"
#include <store/buf.h>
#include <store/crc32c.h>
#include <store/fileio.h>
#include <store/hooks.h>
#include "cd_limits.h"

#define CK_HDR 12
#define CK_ENTRY_FIXED 26 /* u16 + 3 * u64 (version 1) */
#define CK_ENTRY_FP 10	  /* u64 + u16 more in version 2 */

struct checkpoint_ent {
	char *name;		   /* input name, NUL-terminated, owned */
	uint16_t name_len;	   /* strlen(name) */
	struct checkpoint_pos pos; /* its position */
};

struct checkpoint {
	char path[CD_INPUT_NAME_MAX];	 /* the file */
	char tmp[CD_INPUT_NAME_MAX + 8]; /* path + ".tmp" */
	char dir[CD_INPUT_NAME_MAX];	 /* its directory, for the fsync */
	struct checkpoint_ent *ents;	 /* sorted by name */
	size_t n;			 /* used */
	size_t cap;			 /* allocated */
};

static size_t find(const struct checkpoint *cp, const char *name, size_t len, int *found)
{
	size_t lo = 0, hi = cp->n;

	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct checkpoint_ent *e = &cp->ents[mid];
		size_t m = e->name_len < len ? e->name_len : len;
		int c = memcmp(e->name, name, m);
		if (c == 0)
			c = e->name_len < len ? -1 : e->name_len > len ? 1 : 0;
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int set_n(struct checkpoint *cp, const char *input, size_t len, const struct checkpoint_pos *pos)
{
	int found;
	size_t at;
	char *name;

	if (len == 0 || len >= CD_INPUT_NAME_MAX || memchr(input, 0, len))
		return -CD_EINVAL;
	at = find(cp, input, len, &found);
	if (found) {
		cp->ents[at].pos = *pos;
		return 0;
	}
	if (cp->n >= CD_CHECKPOINT_INPUTS_MAX)
		return -CD_ELIMIT;
	if (cp->n == cp->cap) {
		size_t ncap = cp->cap ? cp->cap * 2 : 16;
		struct checkpoint_ent *e = chunk__realloc(cp->ents, ncap * sizeof(*e));
		if (!e)
			return -CD_ENOMEM;
		cp->ents = e;
		cp->cap = ncap;
	}
	name = chunk__malloc(len + 1);
	if (!name)
		return -CD_ENOMEM;
	memcpy(name, input, len);
	name[len] = 0;
	memmove(&cp->ents[at + 1], &cp->ents[at], (cp->n - at) * sizeof(cp->ents[0]));
	cp->ents[at] = (struct checkpoint_ent){.name = name, .name_len = (uint16_t)len, .pos = *pos};
	cp->n++;
	return 0;
}

int checkpoint_set(struct checkpoint *cp, const char *input, const struct checkpoint_pos *pos)
{
	if (!input || !pos)
		return -CD_EINVAL;
	return set_n(cp, input, strnlen(input, CD_INPUT_NAME_MAX), pos);
}

int checkpoint_get(const struct checkpoint *cp, const char *input, struct checkpoint_pos *pos)
{
	int found;
	size_t at = find(cp, input, strlen(input), &found);

	if (!found)
		return -CD_ENOENT;
	*pos = cp->ents[at].pos;
	return 0;
}

int checkpoint_remove(struct checkpoint *cp, const char *input)
{
	int found;
	size_t at = find(cp, input, strlen(input), &found);

	if (!found)
		return -CD_ENOENT;
	chunk__free(cp->ents[at].name);
	memmove(&cp->ents[at], &cp->ents[at + 1], (cp->n - at - 1) * sizeof(cp->ents[0]));
	cp->n--;
	return 0;
}

size_t checkpoint_count(const struct checkpoint *cp)
{
	return cp->n;
}

static void clear_all(struct checkpoint *cp)
{
	for (size_t i = 0; i < cp->n; i++)
		chunk__free(cp->ents[i].name);
	cp->n = 0;
}

void checkpoint_free(struct checkpoint *cp)
{
	if (!cp)
		return;
	clear_all(cp);
	chunk__free(cp->ents);
	chunk__free(cp);
}

static int corrupt(struct checkpoint *cp, struct cd_err *err, const char *what)
{
	return cd_err_set(err, -CD_ECORRUPT, 0, "checkpoint %s: %s", cp->path, what);
}

static int parse(struct checkpoint *cp, const uint8_t *buf, size_t len, struct cd_err *err)
{
	const uint8_t *p, *end;
	uint64_t count, version;
	size_t fixed;
	int rc;

	/* lengths first: no pointer is formed before the buffer is known to hold it */
	if (len < CK_HDR + 4)
		return corrupt(cp, err, "shorter than a header");
	p = buf + CK_HDR;
	end = buf + len - 4;
	if (crc32c(0, buf, len - 4) != (uint32_t)le_get(buf + len - 4, 4))
		return corrupt(cp, err, "checksum mismatch");
	version = le_get(buf + 4, 2);
	if (memcmp(buf, "CLWK", 4) != 0 || (version != 1 && version != 2) || le_get(buf + 6, 2) != 0)
		return corrupt(cp, err, "bad magic, version or flags");
	fixed = CK_ENTRY_FIXED + (version == 2 ? CK_ENTRY_FP : 0);
	count = le_get(buf + 8, 4);
	if (count > CD_CHECKPOINT_INPUTS_MAX)
		return corrupt(cp, err, "more inputs than CD_CHECKPOINT_INPUTS_MAX");
	for (uint64_t i = 0; i < count; i++) {
		struct checkpoint_pos pos;
		size_t nlen;

		if ((size_t)(end - p) < fixed)
			return corrupt(cp, err, "truncated entry");
		nlen = (size_t)le_get(p, 2);
		if ((size_t)(end - p) < fixed + nlen)
			return corrupt(cp, err, "truncated entry");
		pos.dev = le_get(p + 2 + nlen, 8);
		pos.ino = le_get(p + 10 + nlen, 8);
		pos.offset = le_get(p + 18 + nlen, 8);
		pos.fp = version == 2 ? le_get(p + 26 + nlen, 8) : 0;
		pos.fp_len = version == 2 ? (uint16_t)le_get(p + 34 + nlen, 2) : 0;
		if (pos.fp_len > CHECKPOINT_FP_MAX)
			return corrupt(cp, err, "fingerprint longer than CHECKPOINT_FP_MAX");
		rc = set_n(cp, (const char *)p + 2, nlen, &pos);
		if (rc == -CD_ENOMEM)
			return cd_err_set(err, rc, 0, "checkpoint: out of memory");
		if (rc < 0)
			return corrupt(cp, err, "bad input name");
		p += fixed + nlen;
	}
	if (p != end || cp->n != count)
		return corrupt(cp, err, "trailing bytes or duplicate names");
	return 0;
}

static int load(struct checkpoint *cp, struct cd_err *err)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd, rc;

	fd = open(cp->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return cd_err_set(err, -CD_EIO, errno, "checkpoint: open %s: %s", cp->path, strerror(errno));
	}
	if (fstat(fd, &st) < 0) {
		rc = cd_err_set(err, -CD_EIO, errno, "checkpoint: stat %s: %s", cp->path, strerror(errno));
		goto out_close;
	}
	if ((uint64_t)st.st_size >
	    CK_HDR + 4 +
		    (uint64_t)CD_CHECKPOINT_INPUTS_MAX * (CK_ENTRY_FIXED + CK_ENTRY_FP + CD_INPUT_NAME_MAX)) {
		rc = corrupt(cp, err, "larger than any checkpoint can be");
		goto out_close;
	}
	buf = chunk__malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		rc = cd_err_set(err, -CD_ENOMEM, 0, "checkpoint: out of memory");
		goto out_close;
	}
	if (fio_read_full(fd, buf, (size_t)st.st_size, &got) < 0) {
		rc = cd_err_set(err, -CD_EIO, errno, "checkpoint: read %s: %s", cp->path, strerror(errno));
		goto out_free;
	}
	rc = parse(cp, buf, got, err);
	if (rc < 0)
		clear_all(cp);
out_free:
	chunk__free(buf);
out_close:
	close(fd);
	return rc;
}

int checkpoint_open(struct checkpoint **out, const char *path, struct cd_err *err)
{
	struct checkpoint *cp;
	char tmp[CD_INPUT_NAME_MAX];
	int rc;

	if (!path || !*path || strlen(path) >= CD_INPUT_NAME_MAX)
		return cd_err_set(err, -CD_EINVAL, 0, "checkpoint: no path, or it is too long");
	cp = chunk__malloc(sizeof(*cp));
	if (!cp)
		return cd_err_set(err, -CD_ENOMEM, 0, "checkpoint: out of memory");
	memset(cp, 0, sizeof(*cp));
	snprintf(cp->path, sizeof(cp->path), "%s", path);
	snprintf(cp->tmp, sizeof(cp->tmp), "%s.tmp", path);
	snprintf(tmp, sizeof(tmp), "%s", path);
	snprintf(cp->dir, sizeof(cp->dir), "%s", dirname(tmp));
	rc = load(cp, err);
	if (rc < 0)
		goto err_free;
	*out = cp;
	return 0;

err_free:
	checkpoint_free(cp);
	return rc;
}

static int io_fail(struct checkpoint *cp, const char *what, int e, struct cd_err *err)
{
	int code = (e == ENOSPC || e == EDQUOT) ? -CD_EFULL : -CD_EIO;

	return cd_err_set(err, code, e, "checkpoint: %s %s: %s", what, cp->tmp, strerror(e));
}

int checkpoint_save(struct checkpoint *cp, struct cd_err *err)
{
	size_t len = CK_HDR + 4, at;
	const char *step;
	uint8_t *buf;
	int rc, e_no;

	for (size_t i = 0; i < cp->n; i++)
		len += CK_ENTRY_FIXED + CK_ENTRY_FP + cp->ents[i].name_len;
	buf = chunk__malloc(len);
	if (!buf)
		return cd_err_set(err, -CD_ENOMEM, 0, "checkpoint: out of memory");
	memcpy(buf, "CLWK", 4);
	le_put(buf + 4, 2, 2);
	le_put(buf + 6, 0, 2);
	le_put(buf + 8, cp->n, 4);
	at = CK_HDR;
	for (size_t i = 0; i < cp->n; i++) {
		const struct checkpoint_ent *e = &cp->ents[i];
		le_put(buf + at, e->name_len, 2);
		memcpy(buf + at + 2, e->name, e->name_len);
		at += 2 + e->name_len;
		le_put(buf + at, e->pos.dev, 8);
		le_put(buf + at + 8, e->pos.ino, 8);
		le_put(buf + at + 16, e->pos.offset, 8);
		le_put(buf + at + 24, e->pos.fp, 8);
		le_put(buf + at + 32, e->pos.fp_len, 2);
		at += 34;
	}
	le_put(buf + at, crc32c(0, buf, at), 4);

	rc = fio_replace(
		&(struct fio_replace){
			.dirfd = AT_FDCWD, .dir = cp->dir, .tmp = cp->tmp, .name = cp->path, .mode = 0600},
		buf, len, &step);
	e_no = errno;
	chunk__free(buf);
	if (rc < 0 && strcmp(step, "fsync directory") == 0)
		return cd_err_set(err, -CD_EIO, e_no, "checkpoint: fsync %s: %s", cp->dir, strerror(e_no));
	if (rc < 0)
		return io_fail(cp, step, e_no, err);
	return 0;
}
