/*
 * bench_archive.c - the archive: append speed, and the time of one trace
 * lookup (issue 6 item 4: <= 50 ms for one ID on the archive of >= 1 GB
 * of logs).
 *
 * Builds an archive of synthetic chunks: ~1000 pipe-format records each
 * (~150 B a line), trace IDs random 128-bit hex, each transaction ~10
 * records interleaved with ~128 others, so a trace spans one or two
 * chunks and a chunk lists ~100-150 traces. Appends go in batches of 8
 * chunks, each batch fsync'd (the acknowledgement), as clewd would.
 * Then times arch_find() for IDs that are present and absent:
 *   warm   - one read-only handle, indexes mapped once;
 *   reopen - arch_open + find + close per lookup (a tracegrep run, page
 *            cache warm);
 *   cold   - as reopen, after posix_fadvise(DONTNEED) on every file of the
 *            archive (page cache dropped for it).
 * The callback re-checks with memmem, as tracegrep would.
 *
 * Usage: bench_archive [--mb N (1024)] [--dir D (a fresh /tmp dir)]
 *                      [--lookups K (200)] [--segment-mb S (CD_SEGMENT_BYTES)] [--keep]
 * A smaller --segment-mb gives more segments for the same data, to show
 * that a lookup opens only the ones holding the ID.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <store/archive.h>

#define POOL 128     /* transactions in flight */
#define PER_TRACE 10 /* records per transaction */
#define RECORDS 1000 /* records per chunk */
#define BATCH 8	     /* chunks per arch_appendv() (one fsync) */
#define SAMPLES 4096 /* present IDs kept for lookups */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next64(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

static void hex(char *out, uint64_t v, int n)
{
	static const char d[] = "0123456789abcdef";

	for (int i = n - 1; i >= 0; i--, v >>= 4)
		out[i] = d[v & 15];
}

struct slot {
	char id[33];	/* 32 hex digits */
	int left;	/* records still to write */
	uint64_t chunk; /* last chunk that listed it */
};

struct chunkbuf {
	char *buf;			 /* payload */
	size_t len;			 /* used */
	struct arch_key traces[RECORDS]; /* distinct traces */
	char ids[RECORDS][33];		 /* their bytes */
	size_t ntraces;			 /* used */
	struct arch_chunk_meta meta;	 /* for arch_appendv */
};

static struct slot pool[POOL];
static char samples[SAMPLES][33];
static uint64_t nseen;
static const char *services[] = {"gateway", "orders", "billing", "inventory", "shipping"};
static const struct arch_key svc_keys[] = {
	{"gateway", 7}, {"orders", 6}, {"billing", 7}, {"inventory", 9}, {"shipping", 8},
};

static void new_trace(struct slot *s)
{
	hex(s->id, next64(), 16);
	hex(s->id + 16, next64(), 16);
	s->id[32] = 0;
	s->left = PER_TRACE;
	s->chunk = UINT64_MAX;
	nseen++;
	if (nseen <= SAMPLES) /* reservoir sample of every trace written */
		memcpy(samples[nseen - 1], s->id, 33);
	else if (next64() % nseen < SAMPLES)
		memcpy(samples[next64() % SAMPLES], s->id, 33);
}

static void fill_chunk(struct chunkbuf *c, uint64_t seq, int64_t *ts)
{
	char *p = c->buf;

	c->ntraces = 0;
	c->meta.seq = seq;
	c->meta.min_ts_ns = *ts;
	for (int r = 0; r < RECORDS; r++) {
		struct slot *s = &pool[next64() % POOL];
		uint64_t x = next64();
		const char *svc = services[x % 5];
		int n;

		if (s->left == 0)
			new_trace(s);
		s->left--;
		if (s->chunk != seq) {
			s->chunk = seq;
			memcpy(c->ids[c->ntraces], s->id, 33);
			c->traces[c->ntraces] = (struct arch_key){c->ids[c->ntraces], 32};
			c->ntraces++;
		}
		*ts += 50000 + (int64_t)(x >> 48);
		n = snprintf(p, 64, "2026-11-23T07:%02d:%02d.%06dZ INFO ", (int)(*ts / 60000000000 % 60),
			     (int)(*ts / 1000000000 % 60), (int)(*ts / 1000 % 1000000));
		p += n;
		memcpy(p, s->id, 32);
		p += 32;
		*p++ = ':';
		hex(p, x, 16);
		p += 16;
		n = snprintf(p, 160, "|%s|GET|/api/v1/%s/%u|status=%d|dur_us=%u|msg=%s\n", svc, svc,
			     (unsigned)(x >> 40) % 10000, x % 17 ? 200 : 500, (unsigned)(x >> 20) % 90000,
			     x % 3 ? "request served" : "cache miss, fetched from the primary");
		p += n;
	}
	c->len = (size_t)(p - c->buf);
	c->meta.max_ts_ns = *ts;
	c->meta.nrecords = RECORDS;
	c->meta.traces = c->traces;
	c->meta.ntraces = c->ntraces;
	c->meta.services = svc_keys;
	c->meta.nservices = 5;
}

struct hit {
	const char *id;	 /* the ID looked up */
	unsigned frames; /* frames returned */
	unsigned lines;	 /* frames in which the ID really occurs */
};

static int on_frame(void *cookie, const void *payload, size_t len, const struct arch_chunk_meta *m)
{
	struct hit *h = cookie;

	(void)m;
	h->frames++;
	if (memmem(payload, len, h->id, 32))
		h->lines++;
	return 0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void drop_cache(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char p[4096];
		int fd;

		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		fd = open(p, O_RDONLY);
		if (fd < 0)
			continue;
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
	closedir(d);
}

enum mode { WARM, REOPEN, COLD };

/* Time @k lookups; print median, p90, max (ms) and mean counts. */
static int run_lookups(const char *dir, enum mode mode, bool present, int k)
{
	static const char *names[] = {"warm", "reopen", "cold"};
	struct arch_options o;
	struct cd_err err = {0};
	double *t = calloc((size_t)k, sizeof(*t));
	double examined = 0, opened = 0, frames = 0, found = 0;
	arch *a = NULL;

	arch_options_default(&o);
	o.read_only = true;
	if (mode == WARM && arch_open(&a, dir, &o, &err) < 0)
		goto err;
	for (int i = 0; i < k; i++) {
		char absent[33];
		struct hit h = {0};
		struct arch_find_stats st;
		double t0;

		if (present) {
			h.id = samples[next64() % (nseen < SAMPLES ? nseen : SAMPLES)];
		} else {
			hex(absent, next64(), 16);
			hex(absent + 16, next64(), 16);
			absent[32] = 0;
			h.id = absent;
		}
		if (mode == COLD)
			drop_cache(dir);
		t0 = now_s();
		if (mode != WARM && arch_open(&a, dir, &o, &err) < 0)
			goto err;
		if (arch_find(a, h.id, 32, INT64_MIN, INT64_MAX, on_frame, &h, &st, &err) < 0)
			goto err;
		if (mode != WARM) {
			arch_close(a, NULL);
			a = NULL;
		}
		t[i] = (now_s() - t0) * 1e3;
		examined += st.examined;
		opened += st.opened;
		frames += st.frames_read;
		found += h.lines > 0;
	}
	arch_close(a, NULL);
	qsort(t, (size_t)k, sizeof(*t), cmp_d);
	printf("  %-7s %-7s n=%-4d median %7.3f ms  p90 %7.3f ms  max %7.3f ms  (target <= 50 ms)"
	       "  | segments examined %.1f, opened %.2f, frames read %.2f, found %.0f%%\n",
	       names[mode], present ? "present" : "absent", k, t[k / 2], t[k * 9 / 10], t[k - 1],
	       examined / k, opened / k, frames / k, 100.0 * found / k);
	free(t);
	return 0;
err:
	fprintf(stderr, "bench_archive: %s\n", err.msg);
	free(t);
	return 1;
}

static uint64_t dir_bytes(const char *dir, const char *ext, unsigned *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	uint64_t t = 0;

	*n = 0;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char p[4096];
		struct stat sb;
		size_t l = strlen(e->d_name);

		if (l < 4 || strcmp(e->d_name + l - 4, ext) != 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (stat(p, &sb) == 0) {
			t += (uint64_t)sb.st_size;
			(*n)++;
		}
	}
	closedir(d);
	return t;
}

int main(int argc, char **argv)
{
	uint64_t mb = 1024, raw = 0, seq = 0, seg_mb = 0;
	int lookups = 200, rc = 0;
	bool keep = false;
	char dirbuf[] = "/tmp/clew-bench-archive-XXXXXX";
	const char *dir = NULL;
	struct chunkbuf *cb;
	struct arch_options o;
	struct cd_err err = {0};
	double gen = 0, t0, c0, tapp = 0, capp = 0;
	int64_t ts = 1795000000LL * 1000000000;
	unsigned nseg, nidx;
	uint64_t segb, idxb;
	arch *a;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--mb") == 0 && i + 1 < argc)
			mb = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--lookups") == 0 && i + 1 < argc)
			lookups = (int)strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--segment-mb") == 0 && i + 1 < argc)
			seg_mb = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--keep") == 0)
			keep = true;
		else {
			fprintf(stderr,
				"usage: %s [--mb N] [--dir D] [--lookups K] [--segment-mb S] [--keep]\n",
				argv[0]);
			return 2;
		}
	}
	if (lookups < 1)
		lookups = 1;
	if (!dir) {
		if (!mkdtemp(dirbuf)) {
			perror("mkdtemp");
			return 1;
		}
		dir = dirbuf;
	}
	cb = calloc(BATCH, sizeof(*cb));
	for (int i = 0; i < BATCH; i++)
		cb[i].buf = malloc(RECORDS * 256);
	for (int i = 0; i < POOL; i++)
		new_trace(&pool[i]);

	arch_options_default(&o);
	o.segment_bytes = seg_mb * 1024 * 1024;
	if (arch_open(&a, dir, &o, &err) < 0) {
		fprintf(stderr, "bench_archive: %s\n", err.msg);
		return 1;
	}
	printf("bench_archive: %" PRIu64 " MB of synthetic pipe records into %s\n", mb, dir);
	while (raw < mb * 1024 * 1024) {
		struct arch_chunk ch[BATCH];

		t0 = now_s();
		for (int i = 0; i < BATCH; i++) {
			fill_chunk(&cb[i], ++seq, &ts);
			ch[i] = (struct arch_chunk){cb[i].buf, cb[i].len, &cb[i].meta};
			raw += cb[i].len;
		}
		gen += now_s() - t0;
		t0 = now_s();
		c0 = cpu_s();
		if (arch_appendv(a, ch, BATCH, &err) < 0) {
			fprintf(stderr, "bench_archive: %s\n", err.msg);
			return 1;
		}
		tapp += now_s() - t0;
		capp += cpu_s() - c0;
	}
	t0 = now_s();
	if (arch_close(a, &err) < 0) {
		fprintf(stderr, "bench_archive: %s\n", err.msg);
		return 1;
	}
	tapp += now_s() - t0;
	segb = dir_bytes(dir, ".seg", &nseg);
	idxb = dir_bytes(dir, ".idx", &nidx);
	printf("  built: %" PRIu64 " chunks, %" PRIu64 " records, %" PRIu64
	       " traces, %.1f MB raw -> %.1f MB in %u"
	       " segments (ratio %.2f), indexes %.2f MB (%.2f%% of data)\n",
	       seq, seq * RECORDS, nseen, (double)raw / 1048576, (double)segb / 1048576, nseg,
	       (double)raw / (double)segb, (double)idxb / 1048576, 100.0 * (double)idxb / (double)segb);
	printf("  append: %.1f MB/s raw per wall-second, %.1f MB/s per CPU-second, %.0f k records/CPU-s"
	       " (zstd -%d, fsync per %d chunks); generation %.1f s not counted\n",
	       (double)raw / 1048576 / tapp, (double)raw / 1048576 / capp,
	       (double)(seq * RECORDS) / capp / 1e3, 1, BATCH, gen);

	rc |= run_lookups(dir, WARM, true, lookups);
	rc |= run_lookups(dir, WARM, false, lookups);
	rc |= run_lookups(dir, REOPEN, true, lookups);
	rc |= run_lookups(dir, REOPEN, false, lookups);
	rc |= run_lookups(dir, COLD, true, lookups / 10 > 5 ? lookups / 10 : 5);
	rc |= run_lookups(dir, COLD, false, lookups / 10 > 5 ? lookups / 10 : 5);

	if (!keep) {
		DIR *d = opendir(dir);
		struct dirent *e;

		while (d && (e = readdir(d))) {
			char p[4096];

			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
		if (d)
			closedir(d);
		rmdir(dir);
	}
	for (int i = 0; i < BATCH; i++)
		free(cb[i].buf);
	free(cb);
	return rc;
}
