/*
 * run.c - run a program under test and capture its stdout and stderr
 * through unlinked temporary files (no pipes: a large output cannot block it).
 */
#include <check.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

char *slurp_fd(int fd, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);

	lseek(fd, 0, SEEK_SET);
	for (;;) {
		ssize_t r;

		if (cap - n < 4096)
			buf = realloc(buf, cap *= 2);
		r = read(fd, buf + n, cap - n - 1);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* Run @prog with @args (NULL-terminated), stdin from @in (or /dev/null). */
struct result run_prog(const char *prog, const char *in, const char *const *args)
{
	char outp[] = "/tmp/tg-test-out-XXXXXX", errp[] = "/tmp/tg-test-err-XXXXXX";
	int of = mkstemp(outp), ef = mkstemp(errp), st;
	const char *argv[64];
	struct result r = {0};
	size_t n = 0;
	pid_t pid;

	ck_assert(of >= 0 && ef >= 0);
	unlink(outp);
	unlink(errp);
	argv[n++] = prog;
	for (; args[n - 1] && n < 63; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	pid = fork();
	ck_assert(pid >= 0);
	if (pid == 0) {
		int fd = open(in ? in : "/dev/null", O_RDONLY);

		dup2(fd, 0);
		dup2(of, 1);
		dup2(ef, 2);
		execv(prog, (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	ck_assert(waitpid(pid, &st, 0) == pid);
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r.out = slurp_fd(of, &r.len);
	r.err = slurp_fd(ef, NULL);
	close(of);
	close(ef);
	return r;
}
