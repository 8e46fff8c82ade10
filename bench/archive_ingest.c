/*
 * archive_ingest.c - fill a clew archive from log files, without clewd.
 *
 * usage: archive_ingest [--segment-bytes N] [--chunk-records N] ARCHIVE_DIR PATH...
 *
 * For tracegrep's archive tests (tests/cli/test_archive.c) and benchmark
 * (bench/bench_tracegrep.sh): PATHs are files (plain, gzip or zstd, by
 * content) or directories (walked recursively in name order, as tracegrep
 * walks them). Each file is split into records as tracegrep splits it: a
 * line that starts a record (fmt_detect()) and the lines after it that do
 * not, without trailing empty lines. A record is parsed with fmt_parse()
 * and appended to a chunk (chunk_append()); a line before the first record
 * of a file, or a record that does not parse, becomes a raw record (the
 * collector never drops a line). A chunk is sealed when it is full (or holds
 * --chunk-records records), and appended to the archive with its metadata:
 * its trace IDs, services and time span. --segment-bytes makes small
 * segments, so a test archive has many.
 *
 * Not the collector: no checkpoints, no fsync (no_sync: a fill tool has
 * nothing to acknowledge), one thread.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <store/archive.h>
#include <store/limits.h>
#include <store/chunk.h>
#include "fmt/detect.h"

struct ingest {
	arch *a;		/* the archive, read-write */
	struct chunk *c;	/* the chunk being filled */
	uint64_t seq;		/* next chunk's sequence number */
	uint32_t chunk_records; /* seal at this many records */
	uint64_t records, raw;	/* appended, and of them raw */
	uint64_t chunks, files; /* sealed chunks, files read */
	struct fmt_record *rec; /* parse target */
	struct arch_key *keys;	/* traces then services of the chunk being sealed */
	size_t nkeys;		/* allocated keys */
};

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "archive_ingest: %s: %s\n", what, detail);
	exit(2);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die("malloc", strerror(ENOMEM));
	return p;
}

static void seal(struct ingest *g)
{
	struct arch_chunk_meta m = {0};
	struct cd_err err = {0};
	uint32_t nt = chunk_ntraces(g->c), ns = chunk_nservices(g->c), len;
	const uint8_t *data;
	size_t dlen;

	if (chunk_nrecords(g->c) == 0)
		return;
	if (nt + ns > g->nkeys) {
		free(g->keys);
		g->nkeys = nt + ns;
		g->keys = xmalloc(g->nkeys * sizeof(*g->keys));
	}
	for (uint32_t i = 0; i < nt; i++) {
		g->keys[i].ptr = chunk_trace_ref(g->c, i, &len);
		g->keys[i].len = len;
	}
	for (uint32_t i = 0; i < ns; i++) {
		g->keys[nt + i].ptr = chunk_service_ref(g->c, i, &len);
		g->keys[nt + i].len = len;
	}
	m.seq = chunk_seq(g->c);
	if (!chunk_ts_range(g->c, &m.min_ts_ns, &m.max_ts_ns)) {
		m.min_ts_ns = INT64_MIN; /* no timestamp: any time window may hold it */
		m.max_ts_ns = INT64_MAX;
	}
	m.nrecords = chunk_nrecords(g->c);
	m.traces = g->keys;
	m.ntraces = nt;
	m.services = g->keys + nt;
	m.nservices = ns;
	data = chunk_data_ref(g->c, &dlen);
	if (arch_append(g->a, data, dlen, &m, &err) < 0)
		die("arch_append", err.msg);
	g->chunks++;
	chunk_clear(g->c, g->seq++, 0);
}

static void append(struct ingest *g, const struct fmt_record *r, const struct record_src *src)
{
	int rc;

	for (int tries = 0; tries < 2; tries++) {
		rc = chunk_append(g->c, r, src, CHUNK_NO_INPUT, 0);
		if (rc == 0) {
			g->records++;
			g->raw += src && src->raw;
			if (chunk_nrecords(g->c) >= g->chunk_records)
				seal(g);
			return;
		}
		if (rc != -CD_EFULL)
			break;
		seal(g);
	}
	die("chunk_append", cd_strerror(rc));
}

/* Append text[0, len) (one record: a first line and its continuation lines) from @name at @off. */
static void add_record(struct ingest *g, const char *name, uint64_t off, const char *text, size_t len,
		       bool start)
{
	struct fmt_err fe = {0};
	struct record_src src = {0};
	const char *why;

	if (start && fmt_parse(text, len, g->rec, &fe) == 0) {
		append(g, g->rec, NULL);
		return;
	}
	src.raw = true;
	src.input = (struct fmt_str){name, (uint32_t)strlen(name), FMT_ENC_RAW};
	src.offset = off;
	src.line = (struct fmt_str){text, (uint32_t)len, FMT_ENC_RAW};
	why = !start ? "not a record start" : fe.what ? fe.what : "does not parse";
	src.error = (struct fmt_str){why, (uint32_t)strlen(why), FMT_ENC_RAW};
	src.err_offset = fe.offset;
	append(g, NULL, &src);
}

static size_t line_end(const char *buf, size_t len, size_t at)
{
	const char *nl = memchr(buf + at, '\n', len - at);

	return nl ? (size_t)(nl - buf) : len;
}

/* Split buf[0, len) into records the way tracegrep does. */
static void ingest_buf(struct ingest *g, const char *name, const char *buf, size_t len)
{
	size_t at = 0;

	while (at < len) {
		size_t le = line_end(buf, len, at), end = le;

		if (fmt_detect(buf + at, le - at) == FMT_UNKNOWN) {
			/* A line before the file's first record (or garbage): kept raw, if not blank. */
			if (le > at)
				add_record(g, name, at, buf + at, le - at, false);
			at = le + 1;
			continue;
		}
		while (end < len) {
			size_t ne = line_end(buf, len, end + 1);

			if (fmt_detect(buf + end + 1, ne - end - 1) != FMT_UNKNOWN)
				break;
			end = ne;
		}
		{
			size_t e = end;

			while (e > le && buf[e - 1] == '\n')
				e--;
			add_record(g, name, at, buf + at, e - at, true);
		}
		at = end + 1;
	}
}

static char *read_zstd(int fd, const char *path, size_t *len)
{
	ZSTD_DStream *zs = ZSTD_createDStream();
	size_t cap = 1 << 20, n = 0, inlen;
	char *out = xmalloc(cap), *in = xmalloc(1 << 20);
	ssize_t r;

	if (!zs)
		die(path, "cannot start zstd");
	while ((r = read(fd, in, 1 << 20)) > 0) {
		ZSTD_inBuffer ib = {in, (size_t)r, 0};

		inlen = (size_t)r;
		while (ib.pos < inlen) {
			ZSTD_outBuffer ob;
			size_t rc;

			if (cap - n < (1 << 20)) {
				cap *= 2;
				out = realloc(out, cap);
				if (!out)
					die(path, strerror(ENOMEM));
			}
			ob = (ZSTD_outBuffer){out + n, cap - n, 0};
			rc = ZSTD_decompressStream(zs, &ob, &ib);
			if (ZSTD_isError(rc))
				die(path, ZSTD_getErrorName(rc));
			n += ob.pos;
		}
	}
	if (r < 0)
		die(path, strerror(errno));
	ZSTD_freeDStream(zs);
	free(in);
	*len = n;
	return out;
}

/* The decompressed bytes of @path (gzread() reads plain files as they are). */
static char *read_file(const char *path, size_t *len)
{
	unsigned char magic[4] = {0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 1 << 20, n = 0;
	char *out;
	gzFile gz;
	int r;

	if (fd < 0)
		die(path, strerror(errno));
	if (read(fd, magic, 4) == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f &&
	    magic[3] == 0xfd) {
		lseek(fd, 0, SEEK_SET);
		out = read_zstd(fd, path, len);
		close(fd);
		return out;
	}
	lseek(fd, 0, SEEK_SET);
	gz = gzdopen(fd, "rb");
	if (!gz)
		die(path, "cannot open");
	gzbuffer(gz, 1 << 20);
	out = xmalloc(cap);
	while ((r = gzread(gz, out + n, (unsigned)(cap - n))) > 0) {
		n += (size_t)r;
		if (n == cap) {
			cap *= 2;
			out = realloc(out, cap);
			if (!out)
				die(path, strerror(ENOMEM));
		}
	}
	if (r < 0)
		die(path, "corrupt gzip data");
	gzclose(gz);
	*len = n;
	return out;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void ingest_path(struct ingest *g, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		die(path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		char **names = NULL;
		size_t n = 0;

		if (!d)
			die(path, strerror(errno));
		while ((e = readdir(d))) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			names = realloc(names, (n + 1) * sizeof(*names));
			if (!names)
				die(path, strerror(ENOMEM));
			names[n++] = strdup(e->d_name);
		}
		closedir(d);
		qsort(names, n, sizeof(*names), by_name);
		for (size_t i = 0; i < n; i++) {
			size_t l = strlen(path) + strlen(names[i]) + 2;
			char *p = xmalloc(l);

			snprintf(p, l, "%s/%s", path, names[i]);
			if (lstat(p, &st) == 0 && !S_ISLNK(st.st_mode))
				ingest_path(g, p);
			free(p);
			free(names[i]);
		}
		free(names);
		return;
	}
	if (S_ISREG(st.st_mode)) {
		size_t len;
		char *buf = read_file(path, &len);

		ingest_buf(g, path, buf, len);
		free(buf);
		g->files++;
	}
}

static uint64_t parse_u64(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v == 0)
		die(what, "needs a positive number");
	return v;
}

int main(int argc, char **argv)
{
	struct ingest g = {.chunk_records = CD_CHUNK_RECORDS_MAX, .seq = 1};
	struct arch_options opt;
	struct cd_err err = {0};
	struct arch_stats st;
	int i = 1;

	arch_options_default(&opt);
	opt.no_sync = true;
	opt.summaries = true; /* tracegrep --find reads them (tests/cli) */
	for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		if (strcmp(argv[i], "--segment-bytes") == 0)
			opt.segment_bytes = parse_u64(argv[i + 1], argv[i]);
		else if (strcmp(argv[i], "--chunk-records") == 0)
			g.chunk_records = (uint32_t)parse_u64(argv[i + 1], argv[i]);
		else
			die(argv[i], "unknown option");
	}
	if (argc - i < 2) {
		fprintf(stderr, "usage: %s [--segment-bytes N] [--chunk-records N] ARCHIVE_DIR PATH...\n",
			argv[0]);
		return 2;
	}
	if (mkdir(argv[i], 0755) < 0 && errno != EEXIST)
		die(argv[i], strerror(errno));
	if (arch_open(&g.a, argv[i], &opt, &err) < 0)
		die(argv[i], err.msg);
	if (chunk_new(&g.c, g.seq++, 0) < 0)
		die("chunk_new", strerror(ENOMEM));
	g.rec = xmalloc(sizeof(*g.rec));
	for (int k = i + 1; k < argc; k++)
		ingest_path(&g, argv[k]);
	seal(&g);
	arch_stats(g.a, &st);
	if (arch_close(g.a, &err) < 0)
		die("arch_close", err.msg);
	fprintf(stderr,
		"archive_ingest: %llu files, %llu records (%llu raw), %llu chunks, %u segments, %llu bytes\n",
		(unsigned long long)g.files, (unsigned long long)g.records, (unsigned long long)g.raw,
		(unsigned long long)g.chunks, st.segments, (unsigned long long)st.bytes);
	chunk_free(g.c);
	free(g.rec);
	free(g.keys);
	return 0;
}
