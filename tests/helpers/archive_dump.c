/*
 * archive_dump.c - every record of a clewd archive as a JSON line on
 * stdout (clewd's JSON schema; a raw record as {"message": LINE,
 * "_unparsed": true}), for tests that count what reached the archive.
 *
 * usage: archive_dump DIR
 */
#include <stdio.h>
#include <stdlib.h>

#include <store/archive.h>
#include <store/chunk.h>
#include "fmt/json.h"

static int on_frame(void *cookie, const void *payload, size_t len, const struct arch_chunk_meta *meta)
{
	static struct fmt_record rec;
	static char out[1 << 20];
	struct record_src src;
	struct chunk_iter it;
	int rc;

	(void)cookie;
	(void)meta;
	chunk_iter_init_bytes(&it, payload, len);
	while ((rc = chunk_iter_next(&it, &rec, &src)) == 1) {
		size_t n;

		if (src.raw) {
			fmt_record_clear(&rec);
			rec.message = src.line;
		}
		if (fmt_json_emit(&rec, FMT_JSON_IDS, out, sizeof(out), &n) < 0) {
			fprintf(stderr, "archive_dump: a record does not fit %zu bytes\n", sizeof(out));
			return -1;
		}
		fwrite(out, 1, n, stdout);
		putchar('\n');
	}
	return rc < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct arch_options opt;
	struct cd_err err = {0, 0, ""};
	arch *a;

	if (argc != 2) {
		fputs("usage: archive_dump DIR\n", stderr);
		return 2;
	}
	arch_options_default(&opt);
	opt.read_only = true;
	if (arch_open(&a, argv[1], &opt, &err) < 0 ||
	    arch_scan(a, INT64_MIN, INT64_MAX, on_frame, NULL, NULL, &err) < 0) {
		fprintf(stderr, "archive_dump: %s: %s\n", argv[1], err.msg);
		return 2;
	}
	arch_close(a, &err);
	return 0;
}
