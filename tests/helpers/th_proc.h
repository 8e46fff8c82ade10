/*
 * th_proc.h - processes for the test programs: start a program with its
 * standard streams redirected, wait for it (with a bound), stop or kill it
 * by PID, run it to completion capturing its output, and pick a free
 * loopback port. Failures are Check assertions.
 */
#ifndef TH_PROC_H
#define TH_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Where a started program's streams go. Zeroed fields mean /dev/null; a
 * descriptor field counts when > 0 (the test's own stdin is never passed
 * on) and wins over the path beside it.
 */
struct th_io {
	const char *in;		/* stdin from this file */
	int in_fd;		/* stdin from this descriptor */
	const char *out;	/* stdout to this file (truncated unless out_append) */
	int out_fd;		/* stdout to this descriptor */
	bool out_append;	/* append to out */
	const char *err;	/* stderr appended to this file (truncated when err_trunc) */
	int err_fd;		/* stderr to this descriptor */
	bool err_trunc;		/* truncate err first */
	bool err_to_out;	/* stderr goes where stdout goes (err and err_fd unused) */
	bool close_fds;		/* close descriptors 3..255 in the child */
	bool sigpipe_default;	/* SIGPIPE back to its default (a test ignoring it would pass that on) */
	bool search_path;	/* argv[0] looked up in PATH (execvp) */
	bool keep_output;	/* stdout and stderr stay the test's own (out and err unused) */
	bool die_with_parent;	/* SIGTERM to the child when the test process dies first */
	const char *const *env; /* NULL-ended "NAME=VALUE" strings set, "NAME" unset, in the child */
};

/* Sleep @ms milliseconds (EINTR resumed). */
void th_msleep(long ms);

/* Seconds on the monotonic clock. */
double th_now(void);

/* getenv(@name), failing the test when it is unset or empty (paths of the build's programs). */
const char *th_env_bin(const char *name);

/*
 * th_spawn() - start @argv (NULL-ended) with the streams of @io (NULL: all
 * /dev/null). The PID is remembered until th_wait() reaps it, so that
 * th_kill_spawned() can stop what a failed test left running.
 */
pid_t th_spawn(const char *const *argv, const struct th_io *io);

/* fork(), remembering the child for th_kill_spawned(): for a child that runs test code and ends in _exit(). */
pid_t th_fork(void);

/* th_spawn() of @prog followed by @args (NULL-ended; at most 62). */
pid_t th_spawn_args(const char *prog, const char *const *args, const struct th_io *io);

/* Wait for @pid to exit: its exit status, or 128 + the signal that ended it. */
int th_wait(pid_t pid);

/* Its status when @pid exits within @ms milliseconds (0: already), else -1 (still running). */
int th_wait_for(pid_t pid, long ms);

/* SIGTERM, then th_wait(). */
int th_stop(pid_t pid);

/* SIGKILL and reap (no error when it is gone already). */
void th_kill(pid_t pid);

/* SIGKILL and reap every process th_spawn() started that was not reaped (a test's atexit/teardown). */
void th_kill_spawned(void);

/* A loopback TCP port that was free a moment ago (bound to port 0, read, closed). */
unsigned th_free_port(void);

/* What th_run() saw. */
struct th_result {
	int status; /* exit status, or 128 + signal */
	char *out;  /* stdout, NUL-terminated */
	size_t len; /* bytes of stdout */
	char *err;  /* stderr, NUL-terminated */
};

/*
 * th_run() - run @prog with @args (NULL-ended), stdin from the file @in
 * (NULL: /dev/null), to its end. Its output goes through unlinked
 * temporary files (no pipes: a large output cannot block it).
 * Return: its status and output; the caller frees out and err.
 */
struct th_result th_run(const char *prog, const char *in, const char *const *args);

/* Free what th_run() allocated in @r. */
void th_result_free(struct th_result *r);

#endif
