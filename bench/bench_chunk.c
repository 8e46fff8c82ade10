/*
 * bench_chunk.c - throughput of the chunk stage: pack + chunk, spool, replay.
 *
 * DESIGN: a generated corpus (bench/corpus.h: pipe and JSON, the same
 * seeds as bench_parse) is held in memory. Stages, each timed on its own:
 *
 *   parse         fmt_parse() of every line into one reused record: the
 *                 floor the next row is measured against;
 *   parse+chunk   parse, then chunk_append() (record -> msgpack, index of
 *                 traces and services, positions); full chunks are kept
 *                 for the next stages and a new one started;
 *   spool         spool_push() of every chunk: zstd (level 1) + CRC-32C +
 *                 write + fsync + rename + directory fsync, into a spool
 *                 directory under $TMPDIR (or /tmp): the disk is real;
 *   replay        spool_open() of that directory (every file read and
 *                 checksummed) + spool_load() of each chunk + decoding
 *                 every record with chunk_iter_next().
 *
 * Records/s are per wall-second (CLOCK_MONOTONIC) and per CPU-second
 * (CLOCK_PROCESS_CPUTIME_ID); the spool rows are dominated by fsync, so
 * the two differ a lot there. One thread. MB is 10^6 bytes of input lines.
 * Usage: bench_chunk [RECORDS] (default 400000 per corpus).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <store/chunk.h>
#include "chunk/spool.h"
#include "corpus.h"
#include "fmt/detect.h"

static double now(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct timer {
	double wall; /* start, CLOCK_MONOTONIC */
	double cpu;  /* start, process CPU time */
};

static struct timer timer_start(void)
{
	return (struct timer){now(CLOCK_MONOTONIC), now(CLOCK_PROCESS_CPUTIME_ID)};
}

static void report(const char *corpus, const char *stage, struct timer t, uint64_t records, size_t bytes,
		   const char *extra)
{
	double wall = now(CLOCK_MONOTONIC) - t.wall, cpu = now(CLOCK_PROCESS_CPUTIME_ID) - t.cpu;

	printf("%-5s %-12s %9.0f rec/s wall %9.0f rec/CPU-s %8.1f MB/s  %s\n", corpus, stage,
	       (double)records / wall, (double)records / (cpu > 0 ? cpu : 1e-9), (double)bytes / 1e6 / wall,
	       extra ? extra : "");
}

static void rm_spool(const char *dir, struct spool *sp)
{
	char path[4200];

	while (spool_count(sp) > 0)
		spool_remove(sp, spool_seq_at(sp, 0), NULL);
	snprintf(path, sizeof(path), "%s/corrupt", dir);
	rmdir(path);
	rmdir(dir);
}

static int run(enum corpus_format format, const char *name, uint64_t nrec)
{
	struct corpus_gen g;
	struct corpus_buf b = {0};
	struct fmt_record *rec = malloc(sizeof(*rec));
	struct chunk **chunks = NULL, *c;
	size_t nchunks = 0, cap = 0;
	uint64_t count = 0, errors = 0, seq = 1;
	struct timer t;
	char dir[4096], extra[128];
	const char *tmp = getenv("TMPDIR");
	struct spool_options opt;
	struct spool *sp;
	struct cd_err err = {0};
	size_t packed = 0, on_disk;

	corpus_gen_init(&g, format, 42);
	for (uint64_t i = 0; i < nrec; i++)
		if (corpus_gen_record(&g, &b) < 0)
			return 1;

	/* parse only */
	t = timer_start();
	for (const char *p = b.data, *end = b.data + b.len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		errors += fmt_parse(p, len, rec, NULL) != 0;
		count++;
		p += len + 1;
	}
	report(name, "parse", t, count, b.len, NULL);

	/* parse + pack into chunks */
	count = 0;
	t = timer_start();
	if (chunk_new(&c, seq++, 0) < 0)
		return 1;
	for (const char *p = b.data, *end = b.data + b.len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		int rc;
		if (fmt_parse(p, len, rec, NULL) != 0) {
			p += len + 1;
			continue;
		}
		rc = chunk_append(c, rec, NULL, 0, (uint64_t)(p + len + 1 - b.data));
		if (rc == -CD_EFULL) {
			if (nchunks == cap) {
				cap = cap ? 2 * cap : 64;
				chunks = realloc(chunks, cap * sizeof(*chunks));
			}
			chunks[nchunks++] = c;
			if (chunk_new(&c, seq++, 0) < 0)
				return 1;
			continue; /* the same line again, into the new chunk */
		}
		if (rc < 0)
			return 1;
		count++;
		p += len + 1;
	}
	if (nchunks == cap)
		chunks = realloc(chunks, (cap + 1) * sizeof(*chunks));
	chunks[nchunks++] = c;
	for (size_t i = 0; i < nchunks; i++) {
		size_t l;
		chunk_data_ref(chunks[i], &l);
		packed += l;
	}
	snprintf(extra, sizeof(extra), "%zu chunks, msgpack %.2fx the lines", nchunks,
		 (double)packed / (double)b.len);
	report(name, "parse+chunk", t, count, b.len, extra);

	/* spool: compress + checksum + write + fsync each chunk */
	snprintf(dir, sizeof(dir), "%s/bench-chunk-%d-%s", tmp && *tmp ? tmp : "/tmp", (int)getpid(), name);
	spool_options_default(&opt, dir);
	opt.limit_bytes = 1ull << 40;
	if (spool_open(&sp, &opt, &err) < 0) {
		fprintf(stderr, "bench_chunk: %s\n", err.msg);
		return 1;
	}
	t = timer_start();
	for (size_t i = 0; i < nchunks; i++)
		if (spool_push(sp, chunks[i], &err) < 0) {
			fprintf(stderr, "bench_chunk: %s\n", err.msg);
			return 1;
		}
	on_disk = (size_t)spool_bytes(sp);
	snprintf(extra, sizeof(extra), "on disk %.3fx the lines (zstd -1)", (double)on_disk / (double)b.len);
	report(name, "spool", t, count, b.len, extra);
	spool_free(sp);

	/* replay: open (verify every file) + load + decode every record */
	t = timer_start();
	if (spool_open(&sp, &opt, &err) < 0)
		return 1;
	count = 0;
	for (size_t i = 0; i < spool_count(sp); i++) {
		struct chunk *back;
		struct chunk_iter it;
		if (spool_load(sp, spool_seq_at(sp, i), &back, &err) < 0) {
			fprintf(stderr, "bench_chunk: %s\n", err.msg);
			return 1;
		}
		chunk_iter_init(&it, back);
		while (chunk_iter_next(&it, rec, NULL) == 1)
			count++;
		chunk_free(back);
	}
	report(name, "replay", t, count, b.len, NULL);
	rm_spool(dir, sp);
	spool_free(sp);

	for (size_t i = 0; i < nchunks; i++)
		chunk_free(chunks[i]);
	free(chunks);
	free(rec);
	corpus_buf_free(&b);
	if (errors) {
		fprintf(stderr, "bench_chunk: %llu parse errors on a generated corpus\n",
			(unsigned long long)errors);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 400000;

	if (n == 0) {
		fprintf(stderr, "usage: bench_chunk [RECORDS]\n");
		return 2;
	}
	printf("bench_chunk: %llu records per corpus, one thread\n", (unsigned long long)n);
	if (run(CORPUS_PIPE, "pipe", n) || run(CORPUS_JSON, "json", n))
		return 1;
	return 0;
}
