/*
 * th_file.c - file helpers of the test programs (th_file.h): whole-file
 * reads and writes, temp directories, and the outside corpora check that
 * turns a missing corpus into a skip (or a failure in CI).
 */
#include "th_file.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *th_slurp_fd(int fd, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);

	ck_assert_ptr_nonnull(buf);
	lseek(fd, 0, SEEK_SET);
	for (;;) {
		ssize_t r;

		if (cap - n < 4096) {
			buf = realloc(buf, cap *= 2);
			ck_assert_ptr_nonnull(buf);
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

char *th_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	ck_assert_int_eq(fseek(f, 0, SEEK_SET), 0);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	/* files the tests read only grow: the first n bytes are there */
	ck_assert_msg(fread(buf, 1, (size_t)n, f) == (size_t)n, "%s: short read", path);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

char *th_slurp_must(const char *path, size_t *len)
{
	char *buf = th_slurp(path, len);

	ck_assert_msg(buf != NULL, "%s: %s", path, strerror(errno));
	return buf;
}

char *th_slurp_or_empty(const char *path, size_t *len)
{
	char *buf = th_slurp(path, len);

	if (buf)
		return buf;
	buf = calloc(1, 1);
	ck_assert_ptr_nonnull(buf);
	if (len)
		*len = 0;
	return buf;
}

static void write_mode(const char *path, const char *mode, const void *data, size_t len)
{
	FILE *f = fopen(path, mode);

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_msg(fclose(f) == 0, "%s: %s", path, strerror(errno));
}

void th_write_file(const char *path, const void *data, size_t len)
{
	write_mode(path, "wb", data, len);
}

void th_append_file(const char *path, const void *data, size_t len)
{
	write_mode(path, "ab", data, len);
}

void th_write_text(const char *path, const char *text)
{
	th_write_file(path, text, strlen(text));
}

void th_append_text(const char *path, const char *text)
{
	th_append_file(path, text, strlen(text));
}

/* PARENT/PREFIX-XXXXXX into @out, for mkdtemp() or mkstemp(). */
static void template(char *out, size_t cap, const char *parent, const char *prefix)
{
	const char *base = parent ? parent : getenv("TMPDIR");

	ck_assert_int_lt(snprintf(out, cap, "%s/%s-XXXXXX", base && *base ? base : "/tmp", prefix), (int)cap);
}

void th_tmpdir(char *out, size_t cap, const char *parent, const char *prefix)
{
	template(out, cap, parent, prefix);
	ck_assert_msg(mkdtemp(out) != NULL, "mkdtemp %s: %s", out, strerror(errno));
}

void th_tmpfile(char *out, size_t cap, const char *parent, const char *prefix)
{
	int fd;

	template(out, cap, parent, prefix);
	fd = mkstemp(out);
	ck_assert_msg(fd >= 0, "mkstemp %s: %s", out, strerror(errno));
	close(fd);
}

int th_remove_tree(const char *path)
{
	DIR *d;
	struct dirent *e;
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode) || !(d = opendir(path)))
		return unlink(path);
	while ((e = readdir(d))) {
		char sub[4096];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) >= (int)sizeof(sub))
			continue;
		th_remove_tree(sub);
	}
	closedir(d);
	return rmdir(path);
}

const char *th_corpora(void)
{
	const char *dir = getenv("CLEW_CORPORA"), *ci = getenv("CI");
	struct stat st;

	if (dir && *dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return dir;
	if (ci && strcmp(ci, "true") == 0) {
		fprintf(stderr, "the outside test corpora (%s) are missing, and CI=true requires them\n",
			dir && *dir ? dir : "CLEW_CORPORA not set");
		exit(EXIT_FAILURE);
	}
	return NULL;
}

const char *th_corpora_or_skip(void)
{
	const char *dir = th_corpora();

	if (!dir) {
		fprintf(stderr, "skipped: the outside test corpora (%s) are missing\n",
			getenv("CLEW_CORPORA") ? getenv("CLEW_CORPORA") : "CLEW_CORPORA not set");
		exit(TH_SKIP);
	}
	return dir;
}
