/*
 * worker.c - the client's background thread.
 *
 * DESIGN: one thread per client, started lazily: by the first metric
 * registered (when there is a flush period) or by an async client. It
 * writes the metrics every period and, in async mode, drains the ring
 * (writer.c). Producers never wait for it: waking it is a relaxed load of
 * `sleeping` and, only when it is set, a futex wake; the worker pays for
 * that load's ordering with a membarrier() before it sleeps
 * (barrier_all()). So that a busy
 * producer does not pay a syscall per record, the worker naps a few
 * short times before it advertises that it sleeps (the ring absorbs what
 * comes in meanwhile); a record is never left waiting for the next
 * period (see below).
 * The thread blocks every asynchronous signal, so the host's handlers
 * (and libclew's SIGHUP flag) run on the host's threads.
 * After fork() the child has no worker: clew__worker_start() notices the
 * changed fork generation and starts a new one.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "ring.h"
#include "writer.h"

/* Naps of NAP_NS before the worker sleeps until woken: short, so records go out soon. */
#define NAP_NS 1000000
#define NAPS 8

/* Longest sleep without metrics to flush; bounds how late a lost wake-up could be noticed. */
#define SLEEP_MAX_NS 1000000000LL

/* Longest sleep of an async worker where membarrier() is not available (see barrier_all()). */
#define SLEEP_UNFENCED_NS 10000000LL

/*
 * Make every thread of the process pass a full memory barrier: a producer
 * publishes its entry with a plain store and then reads `sleeping`
 * (ring.c), which the CPU may reorder; after this, either the worker sees
 * the entry or the producer sees `sleeping` and wakes it. Registers the
 * process on first use (again in a forked child, which is not
 * registered). Return: false where the kernel has no membarrier(): the
 * worker then sleeps at most SLEEP_UNFENCED_NS.
 */
static bool barrier_all(void)
{
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0)
		return true;
	if (errno != EPERM || syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0)
		return false;
	return syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0;
}

static void futex_wait(atomic_uint *word, unsigned val, int64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000), .tv_nsec = (long)(ns % 1000000000)};

	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

void clew__worker_kick(clew_client *c)
{
	atomic_fetch_add_explicit(&c->wake, 1, memory_order_relaxed);
	syscall(SYS_futex, &c->wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void block_signals(void)
{
	sigset_t set;

	sigfillset(&set);
	/* Faults are delivered to the faulting thread whatever the mask: leave them. */
	sigdelset(&set, SIGSEGV);
	sigdelset(&set, SIGBUS);
	sigdelset(&set, SIGFPE);
	sigdelset(&set, SIGILL);
	sigdelset(&set, SIGABRT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void *worker_main(void *arg)
{
	clew_client *c = arg;
	const int64_t period = (int64_t)c->interval_ms * 1000000;
	int64_t next = clew__mono_ns() + period;
	int naps = 0;

	block_signals();
	while (!atomic_load_explicit(&c->stop, memory_order_acquire)) {
		int64_t now, wait;
		unsigned seen;

		clew__reopen_check(c);
		if (c->async && clew__ring_drain(c, false) > 0) {
			naps = 0;
			continue;
		}
		now = clew__mono_ns();
		if (period && now >= next) {
			clew__metrics_flush(c);
			next = now + period;
			continue;
		}
		wait = period ? next - now : SLEEP_MAX_NS;
		if (c->async && naps < NAPS) {
			struct timespec ts = {.tv_sec = 0, .tv_nsec = NAP_NS};

			naps++;
			nanosleep(&ts, NULL);
			continue;
		}
		naps = 0;
		seen = atomic_load_explicit(&c->wake, memory_order_relaxed);
		atomic_store(&c->sleeping, true);
		if (c->async && !barrier_all() && wait > SLEEP_UNFENCED_NS)
			wait = SLEEP_UNFENCED_NS;
		if ((!c->async || clew__ring_empty(c)) && !atomic_load(&c->stop))
			futex_wait(&c->wake, seen, wait < SLEEP_MAX_NS ? wait : SLEEP_MAX_NS);
		atomic_store_explicit(&c->sleeping, false, memory_order_relaxed);
	}
	return NULL;
}

int clew__worker_start(clew_client *c)
{
	const unsigned gen = clew__fork_gen();
	int rc;

	if (c->worker_on && c->worker_fork_gen == gen)
		return 0;
	/* In a forked child the parent's worker does not exist: forget it and start ours. */
	atomic_store(&c->stop, false);
	atomic_store(&c->sleeping, false);
	rc = pthread_create(&c->worker, NULL, worker_main, c);
	if (rc != 0) {
		c->worker_on = false;
		return -CLEW_ENOMEM;
	}
	c->worker_on = true;
	c->worker_fork_gen = gen;
	return 0;
}

void clew__worker_stop(clew_client *c)
{
	pthread_mutex_lock(&c->lock);
	if (!c->worker_on || c->worker_fork_gen != clew__fork_gen()) {
		c->worker_on = false;
		pthread_mutex_unlock(&c->lock);
		return;
	}
	c->worker_on = false;
	pthread_mutex_unlock(&c->lock);
	atomic_store_explicit(&c->stop, true, memory_order_release);
	atomic_store(&c->sleeping, true);
	clew__worker_wake(c);
	pthread_join(c->worker, NULL);
}
