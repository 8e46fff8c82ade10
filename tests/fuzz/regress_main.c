/*
 * regress_main.c - replays a fuzz target's corpus without libFuzzer.
 *
 * Linked with each fuzz_NAME.c into regress_NAME, which `meson test`
 * runs in every build (suite fuzz-regress): the seeds and every crash
 * reproducer ever saved in tests/fuzz/corpus/NAME are fed to
 * LLVMFuzzerTestOneInput() once each, in a buffer of exactly their size
 * so that ASan catches any read past the end. A missing or empty corpus
 * is a failure, not a pass.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *buf;
	size_t n;

	if (!f || fstat(fileno(f), &st) < 0) {
		fprintf(stderr, "regress: cannot read %s\n", path);
		if (f)
			fclose(f);
		return -1;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	n = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int total = 0;

	for (int i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		struct dirent *e;

		if (!d) {
			fprintf(stderr, "regress: cannot open corpus folder %s\n", argv[i]);
			return 1;
		}
		while ((e = readdir(d))) {
			char path[4096];
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
			if (replay(path) < 0) {
				closedir(d);
				return 1;
			}
			total++;
		}
		closedir(d);
	}
	if (total == 0) {
		fprintf(stderr, "regress: no corpus files given\n");
		return 1;
	}
	printf("regress: %d inputs replayed, no crash\n", total);
	return 0;
}
