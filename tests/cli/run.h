/*
 * run.h - run a program of the build under test and capture what it says
 * (shared by the tracegrep test programs).
 */
#ifndef TG_TEST_RUN_H
#define TG_TEST_RUN_H

#include <stddef.h>

struct result {
	int status; /* exit status, or 128 + signal */
	char *out;  /* stdout, NUL-terminated */
	size_t len; /* bytes of stdout */
	char *err;  /* stderr, NUL-terminated */
};

/* The whole of @fd from its start, NUL-terminated; *len (may be NULL) gets its length. Caller frees. */
char *slurp_fd(int fd, size_t *len);

/*
 * run_prog() - run @prog with @args (NULL-terminated), stdin from @in (or
 * /dev/null), and wait for it. Check-asserts on a failure to start it.
 * Return: its status and output; the caller frees out and err.
 */
struct result run_prog(const char *prog, const char *in, const char *const *args);

#endif
