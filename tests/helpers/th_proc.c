/*
 * th_proc.c - process helpers of the test programs (th_proc.h): one fork
 * and exec with redirections for every test, waits and stops by PID, and
 * the list of started PIDs that a failed test kills on its way out.
 */
#include "th_proc.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "th_file.h"

/* Started and not yet reaped (th_kill_spawned()). */
static pid_t spawned[128];
static unsigned nspawned;

static void forget(pid_t pid)
{
	for (unsigned i = 0; i < nspawned; i++)
		if (spawned[i] == pid) {
			spawned[i] = spawned[--nspawned];
			return;
		}
}

void th_msleep(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

double th_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *th_env_bin(const char *name)
{
	const char *b = getenv(name);

	ck_assert_msg(b && *b, "%s is not set", name);
	return b;
}

/* In the child: open @path (NULL: /dev/null) with @flags onto descriptor @to; false on an error. */
static bool redirect(int fd, const char *path, int flags, int to)
{
	if (fd <= 0)
		fd = open(path ? path : "/dev/null", flags, 0644);
	return fd >= 0 && dup2(fd, to) == to;
}

static void child(const char *const *argv, const struct th_io *io)
{
	static const struct th_io none;
	int wflags = O_WRONLY | O_CREAT;

	if (!io)
		io = &none;
	if (io->die_with_parent)
		prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (!redirect(io->in_fd, io->in, O_RDONLY, 0))
		_exit(127);
	if (!io->keep_output &&
	    (!redirect(io->out_fd, io->out, wflags | (io->out_append ? O_APPEND : O_TRUNC), 1) ||
	     (io->err_to_out
		      ? dup2(1, 2) != 2
		      : !redirect(io->err_fd, io->err, wflags | (io->err_trunc ? O_TRUNC : O_APPEND), 2))))
		_exit(127);
	if (io->close_fds)
		for (int fd = 3; fd < 256; fd++)
			close(fd);
	if (io->sigpipe_default)
		signal(SIGPIPE, SIG_DFL);
	for (const char *const *e = io->env; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		char name[256];

		if (!eq) {
			unsetenv(*e);
			continue;
		}
		if ((size_t)(eq - *e) >= sizeof(name))
			_exit(127);
		memcpy(name, *e, (size_t)(eq - *e));
		name[eq - *e] = '\0';
		setenv(name, eq + 1, 1);
	}
	if (io->search_path)
		execvp(argv[0], (char *const *)(uintptr_t)argv);
	else
		execv(argv[0], (char *const *)(uintptr_t)argv);
	_exit(127);
}

pid_t th_fork(void)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid > 0 && nspawned < sizeof(spawned) / sizeof(spawned[0]))
		spawned[nspawned++] = pid;
	return pid;
}

pid_t th_spawn(const char *const *argv, const struct th_io *io)
{
	pid_t pid = th_fork();

	if (pid == 0)
		child(argv, io);
	return pid;
}

pid_t th_spawn_args(const char *prog, const char *const *args, const struct th_io *io)
{
	const char *argv[64];
	size_t n = 0;

	argv[n++] = prog;
	while (args && *args && n < 63)
		argv[n++] = *args++;
	argv[n] = NULL;
	return th_spawn(argv, io);
}

static int status_of(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int th_wait(pid_t pid)
{
	int st;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	forget(pid);
	return status_of(st);
}

int th_wait_for(pid_t pid, long ms)
{
	for (long waited = 0;; waited += 50) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);

		ck_assert_int_ge(r, 0);
		if (r == pid) {
			forget(pid);
			return status_of(st);
		}
		if (waited >= ms)
			return -1;
		th_msleep(50);
	}
}

int th_stop(pid_t pid)
{
	kill(pid, SIGTERM);
	return th_wait(pid);
}

void th_kill(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	forget(pid);
}

void th_kill_spawned(void)
{
	while (nspawned)
		th_kill(spawned[nspawned - 1]);
}

unsigned th_free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

struct th_result th_run(const char *prog, const char *in, const char *const *args)
{
	char outp[600], errp[600];
	const char *base = getenv("TMPDIR");
	struct th_result r = {0};
	int of, ef;

	base = base && *base ? base : "/tmp";
	snprintf(outp, sizeof(outp), "%s/th-run-out-XXXXXX", base);
	snprintf(errp, sizeof(errp), "%s/th-run-err-XXXXXX", base);
	of = mkstemp(outp);
	ef = mkstemp(errp);
	ck_assert(of >= 0 && ef >= 0);
	unlink(outp);
	unlink(errp);
	r.status = th_wait(th_spawn_args(prog, args, &(struct th_io){.in = in, .out_fd = of, .err_fd = ef}));
	r.out = th_slurp_fd(of, &r.len);
	r.err = th_slurp_fd(ef, NULL);
	close(of);
	close(ef);
	return r;
}

void th_result_free(struct th_result *r)
{
	free(r->out);
	free(r->err);
}
