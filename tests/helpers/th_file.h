/*
 * th_file.h - files for the test programs: read a whole file, write one,
 * make and remove temp directories, and find the outside test corpora.
 * Failures are Check assertions (the calling test fails, saying which path).
 */
#ifndef TH_FILE_H
#define TH_FILE_H

#include <stddef.h>

/* Exit status meson counts as a skipped test. */
#define TH_SKIP 77

/* The whole of @path, NUL-terminated; NULL when it cannot be opened. *len (may be NULL) gets its length. */
char *th_slurp(const char *path, size_t *len);

/* th_slurp(), but the test fails when @path cannot be opened. */
char *th_slurp_must(const char *path, size_t *len);

/* th_slurp(), but an absent file reads as "" (length 0). */
char *th_slurp_or_empty(const char *path, size_t *len);

/* The whole of @fd from its start (it is rewound), NUL-terminated; *len (may be NULL) gets its length. */
char *th_slurp_fd(int fd, size_t *len);

/* Replace @path with @len bytes of @data. */
void th_write_file(const char *path, const void *data, size_t len);

/* Append @len bytes of @data to @path (made when absent). */
void th_append_file(const char *path, const void *data, size_t len);

/* th_write_file() and th_append_file() of a NUL-terminated @text. */
void th_write_text(const char *path, const char *text);
void th_append_text(const char *path, const char *text);

/* A fresh empty directory PARENT/PREFIX-XXXXXX into @out; @parent NULL: $TMPDIR (unset or empty: /tmp). */
void th_tmpdir(char *out, size_t cap, const char *parent, const char *prefix);

/* A fresh empty file PARENT/PREFIX-XXXXXX into @out; @parent NULL: $TMPDIR (unset or empty: /tmp). */
void th_tmpfile(char *out, size_t cap, const char *parent, const char *prefix);

/* rm -r @path (does not follow symbolic links). Return: 0 when it is gone (or was never there), else -1. */
int th_remove_tree(const char *path);

/*
 * th_corpora() - the folder of outside test corpora ($CLEW_CORPORA), or NULL
 * when it is not set or not a directory. A clone without them still runs the
 * rest: a test program that needs them reports itself skipped (TH_SKIP).
 * In CI (CI=true) the corpora must be there: a missing folder fails the whole
 * program at once (exit 1), saying so on stderr.
 */
const char *th_corpora(void);

/* th_corpora(), or exit TH_SKIP (after saying why) when it is missing: for programs that need nothing else. */
const char *th_corpora_or_skip(void);

#endif
