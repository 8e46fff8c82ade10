/*
 * process.c - what libclew does for the whole process: flush at exit,
 * survive fork(), reopen on SIGHUP, flush on a fatal signal.
 *
 * DESIGN: live clients sit in a fixed table of atomic pointers, so the
 * signal handlers can walk it without a lock. Registration is done by
 * clew_client_new() and undone first thing in clew_client_free().
 * - Exit: an atexit() handler flushes every live client (metrics, then
 *   the ring) with a bounded wait.
 * - fork(): the prepare handler takes every client's lock, so the child
 *   never inherits one held by a thread that does not exist there; the
 *   child handler then empties each ring (the parent writes what was
 *   queued; a record half-copied by a vanished thread would never
 *   commit) and marks the worker for a restart, which the child's next
 *   record (or metric registration) does. Records of the child go to the
 *   same descriptors, one write() each, so parent and child never tear
 *   each other's lines.
 * - SIGHUP (clew_signals_install()): the handler only bumps a
 *   generation counter; the next write of a sync client, or the worker of
 *   an async one, sees it and reopens its file: output with dup2(), so
 *   threads writing at that moment never see a closed or reused
 *   descriptor (logrotate's rename-then-HUP).
 * - Fatal signals: the handler drains each async client's ring with
 *   write() only (writer.c), waiting at most FATAL_WAIT_MS for a drain in
 *   progress, then restores the previous disposition and re-raises, so
 *   the process dies (or the host's handler runs) as it would have.
 * Not done: clients past CLEW__CLIENTS_MAX are not flushed at exit or on
 * a signal (they work otherwise); a signal that interrupts
 * clew_client_free() of a client may see it half-freed (best effort).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ring.h"
#include "sink.h"
#include "writer.h"

/* Live clients the process-wide handlers know about; a service has one or a few. */
#define CLEW__CLIENTS_MAX 64

/* How long the fatal-signal handler waits for a drain in progress on another thread. */
#define FATAL_WAIT_MS 100

/* How long the exit handler waits for each client's queued records. */
#define EXIT_WAIT_MS 2000

static _Atomic(clew_client *) clients[CLEW__CLIENTS_MAX];
static pthread_once_t process_once = PTHREAD_ONCE_INIT;
static atomic_uint hup_gen;

static const int fatal_signals[] = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL};
static struct sigaction old_fatal[sizeof(fatal_signals) / sizeof(fatal_signals[0])];
static struct sigaction old_hup;
static atomic_bool fatal_installed, hup_installed;

static void at_exit(void)
{
	for (size_t i = 0; i < CLEW__CLIENTS_MAX; i++) {
		clew_client *c = atomic_load(&clients[i]);

		if (c)
			clew_flush(c, EXIT_WAIT_MS);
	}
}

static void fork_prepare(void)
{
	for (size_t i = 0; i < CLEW__CLIENTS_MAX; i++) {
		clew_client *c = atomic_load(&clients[i]);

		if (c)
			pthread_mutex_lock(&c->lock);
	}
}

static void fork_parent(void)
{
	for (size_t i = CLEW__CLIENTS_MAX; i-- > 0;) {
		clew_client *c = atomic_load(&clients[i]);

		if (c)
			pthread_mutex_unlock(&c->lock);
	}
}

static void fork_child(void)
{
	for (size_t i = CLEW__CLIENTS_MAX; i-- > 0;) {
		clew_client *c = atomic_load(&clients[i]);

		if (!c)
			continue;
		if (c->ring)
			clew__ring_reset(c);
		atomic_store(&c->restart, c->worker_on);
		c->worker_on = false;
		pthread_mutex_unlock(&c->lock);
	}
}

static void process_init(void)
{
	atexit(at_exit);
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

bool clew__register(clew_client *c)
{
	pthread_once(&process_once, process_init);
	for (size_t i = 0; i < CLEW__CLIENTS_MAX; i++) {
		clew_client *none = NULL;

		if (atomic_compare_exchange_strong(&clients[i], &none, c))
			return true;
	}
	return false;
}

void clew__unregister(clew_client *c)
{
	for (size_t i = 0; i < CLEW__CLIENTS_MAX; i++) {
		clew_client *expect = c;

		if (atomic_compare_exchange_strong(&clients[i], &expect, NULL))
			return;
	}
}

int clew__reopen_file(clew_client *c)
{
	int fd;

	if (c->out_kind != CLEW__OUT_FILE)
		return 0;
	fd = open(c->out_arg, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		clew__diag(c, CLEW_LEVEL_ERROR, "reopen %s: %s", c->output, strerror(errno));
		return -CLEW_EIO;
	}
	/* dup2() swaps the file behind c->fd atomically: a concurrent write() goes to one or the other. */
	if (dup2(fd, c->fd) < 0) {
		clew__diag(c, CLEW_LEVEL_ERROR, "reopen %s: %s", c->output, strerror(errno));
		close(fd);
		return -CLEW_EIO;
	}
	close(fd);
	return 0;
}

void clew__reopen_check(clew_client *c)
{
	unsigned gen = atomic_load_explicit(&hup_gen, memory_order_relaxed);
	unsigned seen = atomic_load_explicit(&c->hup_seen, memory_order_relaxed);

	if (gen == seen)
		return;
	/* One thread reopens; the others keep writing to the old file meanwhile. */
	if (atomic_compare_exchange_strong(&c->hup_seen, &seen, gen))
		clew__reopen_file(c);
}

int clew_reopen(clew_client *c)
{
	if (!c)
		return -CLEW_EINVAL;
	if (c->ring) {
		/* Records queued before the call go to the old file. */
		if (clew__ring_drain_ex(c, 1000, false) < 0)
			return -CLEW_ETIMEDOUT;
	}
	return clew__reopen_file(c);
}

void clew_reopen_request(void)
{
	atomic_fetch_add_explicit(&hup_gen, 1, memory_order_relaxed);
}

static void on_hup(int sig)
{
	(void)sig;
	clew_reopen_request();
}

static void on_fatal(int sig)
{
	const int saved = errno;

	for (size_t i = 0; i < CLEW__CLIENTS_MAX; i++) {
		clew_client *c = atomic_load(&clients[i]);

		if (c && c->ring)
			clew__ring_drain_ex(c, FATAL_WAIT_MS, true);
	}
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
		if (fatal_signals[i] == sig)
			sigaction(sig, &old_fatal[i], NULL);
	errno = saved;
	raise(sig);
}

int clew_signals_install(unsigned which)
{
	struct sigaction sa;

	if (which == 0 || (which & ~(unsigned)(CLEW_SIG_FATAL | CLEW_SIG_HUP)))
		return -CLEW_EINVAL;
	pthread_once(&process_once, process_init);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	if ((which & CLEW_SIG_HUP) && !atomic_exchange(&hup_installed, true)) {
		sa.sa_handler = on_hup;
		sa.sa_flags = SA_RESTART;
		if (sigaction(SIGHUP, &sa, &old_hup) < 0) {
			atomic_store(&hup_installed, false);
			return -CLEW_EIO;
		}
	}
	if ((which & CLEW_SIG_FATAL) && !atomic_exchange(&fatal_installed, true)) {
		sa.sa_handler = on_fatal;
		sa.sa_flags = SA_RESTART;
		for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
			if (sigaction(fatal_signals[i], &sa, &old_fatal[i]) < 0)
				return -CLEW_EIO;
	}
	return 0;
}
