/*
 * test_jsontestsuite.c - fmt_json_validate() against the JSONTestSuite
 * corpus ($CLEW_CORPORA/jsontestsuite, ../shared/corpora/README.md).
 *
 * DESIGN: every file is fed whole, as one document, in a heap buffer of
 * exactly its size (so ASan sees any read past the end). y_ files must be
 * accepted, n_ files rejected, i_ files only run (the verdict is printed).
 * A y_ file whose value is an object must also pass fmt_json_parse().
 * A missing or empty corpus fails the test: a conformance test that
 * silently checks nothing is worse than none.
 */
#include <check.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "th_file.h"

#include "fmt/json.h"

#define MAX_FILES 1024
#define FAILURES_MAX 8192

static char corpus_dir[4096];
static char *names[MAX_FILES];
static size_t nnames;

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collect the y_/n_/i_ file names; a missing folder leaves nnames at 0. */
static void load_names(void)
{
	const char *root = th_corpora_or_skip();
	struct dirent *e;
	DIR *d;

	snprintf(corpus_dir, sizeof(corpus_dir), "%s/jsontestsuite", root);
	d = opendir(corpus_dir);
	if (!d)
		return;
	while ((e = readdir(d)) && nnames < MAX_FILES) {
		const char *n = e->d_name;
		if ((n[0] == 'y' || n[0] == 'n' || n[0] == 'i') && n[1] == '_')
			names[nnames++] = strdup(n);
	}
	closedir(d);
	qsort(names, nnames, sizeof(names[0]), by_name);
}

static char *read_file(const char *name, size_t *len)
{
	char path[8192];

	snprintf(path, sizeof(path), "%s/%s", corpus_dir, name);
	return th_slurp_must(path, len);
}

/* Append one line to the failure report (cut short when it is full). */
__attribute__((format(printf, 2, 3))) static void add_failure(char *buf, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= FAILURES_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, FAILURES_MAX - used, fmt, ap);
	va_end(ap);
}

/* The first non-blank byte of a document, or 0. */
static char first_byte(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return s[i];
	return 0;
}

START_TEST(jsontestsuite_corpus_is_there)
{
	ck_assert_msg(nnames > 0, "no y_/n_/i_ files in %s (set CLEW_CORPORA)", corpus_dir);
}
END_TEST

START_TEST(jsontestsuite_every_file_gets_its_verdict)
{
	unsigned y = 0, y_ok = 0, n = 0, n_ok = 0, i = 0, i_acc = 0, y_obj = 0, y_obj_ok = 0;
	struct fmt_record *rec = malloc(sizeof(*rec));
	char failures[FAILURES_MAX] = "";

	ck_assert_ptr_nonnull(rec);
	ck_assert_msg(nnames > 0, "no y_/n_/i_ files in %s", corpus_dir);
	for (size_t k = 0; k < nnames; k++) {
		struct fmt_err err = {0};
		size_t len;
		char *doc = read_file(names[k], &len);
		int rc = fmt_json_validate(doc, len, &err);

		/* the error struct is filled exactly when the call fails */
		ck_assert_msg((rc < 0) == (err.what != NULL), "%s: rc %d but what %s", names[k], rc,
			      err.what ? err.what : "NULL");
		if (rc < 0)
			ck_assert_msg(err.offset <= len, "%s: offset %zu past %zu", names[k], err.offset,
				      len);
		switch (names[k][0]) {
		case 'y':
			y++;
			if (rc == 0)
				y_ok++;
			else
				add_failure(failures, "\n  %s rejected: %s at %zu", names[k], err.what,
					    err.offset);
			if (first_byte(doc, len) == '{') {
				struct fmt_err perr = {0};
				y_obj++;
				if (fmt_json_parse(doc, len, rec, &perr) == 0)
					y_obj_ok++;
				else
					add_failure(failures, "\n  %s: fmt_json_parse rejected: %s at %zu",
						    names[k], perr.what, perr.offset);
			}
			break;
		case 'n':
			n++;
			if (rc < 0)
				n_ok++;
			else
				add_failure(failures, "\n  %s accepted", names[k]);
			break;
		default:
			i++;
			if (rc == 0)
				i_acc++;
			printf("jsontestsuite: %s %s%s\n", names[k],
			       rc == 0 ? "accepted" : "rejected: ", rc == 0 ? "" : err.what);
			break;
		}
		free(doc);
	}
	printf("jsontestsuite: y %u/%u accepted, n %u/%u rejected, i %u run (%u accepted, %u rejected); "
	       "y objects %u/%u parsed as records\n",
	       y_ok, y, n_ok, n, i, i_acc, i - i_acc, y_obj_ok, y_obj);
	fflush(stdout);
	free(rec);
	ck_assert_msg(y > 0 && n > 0, "corpus without y_ or n_ files");
	ck_assert_msg(y_ok == y && n_ok == n && y_obj_ok == y_obj, "conformance failures:%s", failures);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("jsontestsuite");
	TCase *tc = tcase_create("corpus");
	SRunner *sr;
	int failed;

	load_names();
	tcase_add_test(tc, jsontestsuite_corpus_is_there);
	tcase_add_test(tc, jsontestsuite_every_file_gets_its_verdict);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	for (size_t k = 0; k < nnames; k++)
		free(names[k]);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
