/*
 * util/util.c - helpers shared by clewd's stages (see util.h).
 *
 * DESIGN: nothing here allocates except cd_strdup(). The log writes each
 * line with one write(2) so lines from this process never interleave
 * mid-line with other writers of the same stderr (up to PIPE_BUF).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <store/fileio.h>
#include "fmt/json.h"
#include "fmt/str.h"
#include <store/err.h>
#include "util/util.h"
#include "util/banned.h"

bool cd_strlcpy(char *dst, const char *src, size_t cap)
{
	size_t n = strlen(src);

	if (cap == 0)
		return false;
	if (n >= cap) {
		memcpy(dst, src, cap - 1);
		dst[cap - 1] = '\0';
		return false;
	}
	memcpy(dst, src, n + 1);
	return true;
}

int cd_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -CD_EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -CD_EINVAL;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -CD_EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* A number followed by a unit from @units (with its multipliers). */
static int parse_unit(const char *s, const char *const *units, const uint64_t *mult, size_t n, uint64_t *out)
{
	char num[32];
	size_t i = 0;
	uint64_t v;

	while (s[i] >= '0' && s[i] <= '9' && i < sizeof(num) - 1) {
		num[i] = s[i];
		i++;
	}
	num[i] = '\0';
	if (cd_parse_u64(num, UINT64_MAX, &v) < 0)
		return -CD_EINVAL;
	for (size_t k = 0; k < n; k++) {
		if (strcmp(s + i, units[k]) == 0) {
			if (mult[k] && v > UINT64_MAX / mult[k])
				return -CD_EINVAL;
			*out = v * mult[k];
			return 0;
		}
	}
	return -CD_EINVAL;
}

int cd_parse_duration_ms(const char *s, uint64_t *ms)
{
	static const char *const units[] = {"", "ms", "s", "m", "h", "d"};
	static const uint64_t mult[] = {1, 1, 1000, 60000, 3600000, 86400000};

	return parse_unit(s, units, mult, sizeof(mult) / sizeof(mult[0]), ms);
}

int cd_parse_size(const char *s, uint64_t *bytes)
{
	static const char *const units[] = {"", "k", "K", "M", "G", "T", "KiB", "MiB", "GiB", "TiB"};
	static const uint64_t mult[] = {1,	    1024, 1024,	       1024 * 1024, 1024ull * 1024 * 1024,
					1ull << 40, 1024, 1024 * 1024, 1ull << 30,  1ull << 40};

	return parse_unit(s, units, mult, sizeof(mult) / sizeof(mult[0]), bytes);
}

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t cd_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

int64_t cd_real_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

int cd_mkdir_p(const char *path, struct cd_err *err)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return cd_err_set(err, -CD_EINVAL, 0, "bad directory name '%s'", path);
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0750) == 0) {
			if (fio_sync_parent(buf) < 0) /* the new name durable before anything goes in it */
				return cd_err_set(err, -CD_EIO, errno, "fsync of the parent of %s: %s", buf,
						  strerror(errno));
		} else if (errno != EEXIST) {
			return cd_err_set(err, -CD_EIO, errno, "mkdir %s: %s", buf, strerror(errno));
		}
		buf[i] = path[i];
	}
	return 0;
}

char *cd_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static enum fmt_level log_min = FMT_LEVEL_INFO;

void cd_log_level(enum fmt_level min)
{
	log_min = min;
}

/* Attributes per log line: the daemon's own lines carry a handful. */
enum { LOG_ATTRS_MAX = 16 };

static void log_write(enum fmt_level level, const char *msg, const char *const *kv, size_t nkv)
{
	static struct fmt_record rec; /* static: ~4 KiB, and the daemon is single-threaded */
	char line[8192];
	size_t len = 0;

	fmt_record_clear(&rec);
	rec.ts_ns = cd_real_ns();
	rec.has_ts = true;
	rec.level = (uint8_t)level;
	rec.service = fmt_str_c("clewd");
	rec.message = fmt_str_c(msg);
	for (size_t i = 0; i + 1 < nkv && rec.nattrs < LOG_ATTRS_MAX; i += 2) {
		if (!kv[i + 1])
			continue;
		rec.attrs[rec.nattrs].key = fmt_str_c(kv[i]);
		rec.attrs[rec.nattrs].val = fmt_str_c(kv[i + 1]);
		rec.attrs[rec.nattrs].type = FMT_T_STRING;
		rec.nattrs++;
	}
	if (fmt_json_emit(&rec, 0, line, sizeof(line) - 1, &len) < 0) {
		/* too long for the line buffer: say so without the attributes */
		rec.nattrs = 0;
		rec.message = fmt_str_c("(log line too long)");
		if (fmt_json_emit(&rec, 0, line, sizeof(line) - 1, &len) < 0)
			return;
	}
	line[len++] = '\n';
	while (write(STDERR_FILENO, line, len) < 0 && errno == EINTR)
		;
}

void cd_log(enum fmt_level level, const char *msg, ...)
{
	const char *kv[2 * LOG_ATTRS_MAX];
	size_t n = 0;
	va_list ap;
	const char *k;

	if (level < log_min)
		return;
	va_start(ap, msg);
	while ((k = va_arg(ap, const char *)) != NULL) {
		const char *v = va_arg(ap, const char *);
		if (n + 2 <= sizeof(kv) / sizeof(kv[0])) {
			kv[n++] = k;
			kv[n++] = v;
		}
	}
	va_end(ap);
	log_write(level, msg, kv, n);
}

void cd_logf(enum fmt_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level < log_min)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_write(level, msg, NULL, 0);
}
