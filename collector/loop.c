/*
 * loop.c - the pipeline's event loop: one epoll set for every fd, the signalfd,
 * the turn (read, time out, seal, deliver, checkpoint) and the drain.
 *
 * DESIGN: one thread, one epoll set (the inputs' fds and a signalfd).
 * Each turn: the inputs read (unless backpressure holds them), held
 * records whose timeout passed are flushed, a chunk that is full or old
 * enough is sealed and queued, and each output is given the queued chunks
 * in order (delivery.c). The loop sleeps until the next deadline: a chunk's
 * age, a multiline timeout, an output's retry. On SIGTERM an output in
 * backoff spools at once, the others get drain_ms.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "chunk/spool.h"
#include "pipeline_impl.h"
#include "util/drops.h"
#include "util/util.h"
#include "util/banned.h"

/* --- fds and signals ------------------------------------------------------ */

int pl_watch_fd(struct pipeline *pl, int fd, pl_fd_cb cb, void *arg)
{
	struct pl_watch *w = calloc(1, sizeof(*w));
	struct epoll_event ev;

	if (!w)
		return -CD_ENOMEM;
	w->fd = fd;
	w->cb = cb;
	w->arg = arg;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = w;
	if (epoll_ctl(pl->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;
		free(w);
		return e == EPERM ? -CD_EINVAL : -CD_EIO; /* EPERM: a regular file, always readable */
	}
	w->next = pl->watches;
	pl->watches = w;
	return 0;
}

void pl_unwatch_fd(struct pipeline *pl, int fd)
{
	for (struct pl_watch **pp = &pl->watches; *pp; pp = &(*pp)->next) {
		if ((*pp)->fd == fd) {
			struct pl_watch *w = *pp;
			epoll_ctl(pl->epfd, EPOLL_CTL_DEL, fd, NULL);
			*pp = w->next;
			free(w);
			return;
		}
	}
}

static void on_signal(void *arg)
{
	struct pipeline *pl = arg;
	struct signalfd_siginfo si;

	while (read(pl->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			pl->reload = true;
			continue;
		}
		if (!pl->stopping)
			cd_log(FMT_LEVEL_INFO, "stopping: delivering what was read", "signal",
			       si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
		pl->stopping = true;
	}
}

int pl_loop_open(struct pipeline *pl, struct cd_err *err)
{
	sigset_t set;

	pl->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (pl->epfd < 0)
		return cd_err_set(err, -CD_EIO, errno, "epoll_create1: %s", strerror(errno));
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pl->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (pl->sigfd < 0 || pl_watch_fd(pl, pl->sigfd, on_signal, pl) < 0)
		return cd_err_set(err, -CD_EIO, errno, "signalfd: %s", strerror(errno));
	return 0;
}

void pl_loop_close(struct pipeline *pl)
{
	while (pl->watches) {
		struct pl_watch *w = pl->watches;
		pl->watches = w->next;
		free(w);
	}
	if (pl->sigfd >= 0)
		close(pl->sigfd);
	if (pl->epfd >= 0)
		close(pl->epfd);
}

/* --- the loop ------------------------------------------------------------------ */

static bool inputs_done(const struct pipeline *pl)
{
	for (unsigned i = 0; i < pl->nin; i++)
		if (!pl->in[i].p->done(pl->in[i].st))
			return false;
	return true;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* Milliseconds to sleep: until the next chunk age, multiline timeout or retry. */
static int next_timeout(const struct pipeline *pl, bool more, bool draining)
{
	int64_t until = pl->now + (int64_t)pl->cf->poll_ms * 1000000, d;

	if (more)
		return 0;
	if (chunk_nrecords(pl->cur))
		until = min64(until, chunk_opened_ns(pl->cur) + (int64_t)pl->cf->chunk_age_ms * 1000000);
	/* held records are not flushed while the queue is full (turn()): their past deadlines would spin */
	if (pl->qn < CD_QUEUE_CHUNKS_MAX)
		for (const struct pl_source *s = pl->sources; s; s = s->next)
			if (s->ml.held)
				until = min64(until, s->ml.deadline_ns);
	for (unsigned k = 0; k < pl->nout; k++) {
		const struct pl_out *o = &pl->out[k];

		if (!pl->qhead && !o->replay && !(o->spool && spool_count(o->spool)))
			continue; /* nothing to deliver */
		/* a past retry_at (0 before any retry) is no reason to wake: it would spin */
		if (o->retry_at > pl->now)
			until = min64(until, o->retry_at);
		if (o->pending)
			until = min64(until, pl->now + (int64_t)CD_OUT_POLL_MS * 1000000);
	}
	if (draining)
		until = min64(until, pl->now + 100 * 1000000);
	d = until - pl->now;
	if (d <= 0)
		return 0;
	return (int)((d + 999999) / 1000000);
}

void pl_wait(struct pipeline *pl, int timeout_ms)
{
	struct epoll_event ev[32];
	int n = epoll_wait(pl->epfd, ev, 32, timeout_ms);

	for (int i = 0; i < n; i++) {
		struct pl_watch *w = ev[i].data.ptr;
		w->cb(w->arg);
	}
}

/* One turn's work after reading: timeouts, sealing, delivery, checkpoint. */
static void turn(struct pipeline *pl, bool flush_all)
{
	bool paused = pl->qn >= CD_QUEUE_CHUNKS_MAX;

	if (!paused || flush_all)
		for (struct pl_source *s = pl->sources; s; s = s->next)
			if (s->ml.held && (flush_all || s->ml.deadline_ns <= pl->now))
				pl_source_flush_held(pl, s);
	if (chunk_nrecords(pl->cur) &&
	    (flush_all || chunk_is_full(pl->cur) ||
	     pl->now - chunk_opened_ns(pl->cur) >= (int64_t)pl->cf->chunk_age_ms * 1000000)) {
		int rc = pl_seal(pl);
		if (rc < 0)
			pl_fatal(pl, "cannot seal a chunk", rc);
	}
	pl_deliver(pl);
	if (pl->qn >= CD_QUEUE_CHUNKS_MAX)
		pl_spill(pl, false, false);
	pl_save_checkpoint(pl);
	cd_drops_tick(pl->now);
}

int pipeline_stop(struct pipeline *pl, struct cd_err *err)
{
	pl->stopping = true;
	pl->reload = false;
	return pipeline_run(pl, err);
}

int pipeline_run(struct pipeline *pl, struct cd_err *err)
{
	int64_t drain_until = 0;
	bool draining = false;

	if (!pl->announced)
		cd_log(FMT_LEVEL_INFO, "started", "config", pl->cf->file, NULL);
	pl->announced = true;
	while (!pl->failed) {
		bool more = false;

		if (pl->reload && !pl->stopping) {
			pl->reload = false;
			return PL_RELOAD;
		}
		pl->now = cd_mono_ns();
		if (!draining && (pl->stopping || inputs_done(pl))) {
			draining = true;
			drain_until = pl->now + (int64_t)pl->cf->drain_ms * 1000000;
			for (unsigned i = 0; i < pl->nin; i++)
				if (pl->in[i].p->stop)
					pl->in[i].p->stop(pl->in[i].st);
			/* what cannot be read again (stdin) is handed on whole; files resume from the checkpoint */
			for (struct pl_source *s = pl->sources, *next; s; s = next) {
				next = s->next;
				if (!s->ckpt && !s->ended)
					pl_source_end(pl, s, false);
			}
		}
		if (!draining && pl->qn < CD_QUEUE_CHUNKS_MAX)
			for (unsigned i = 0; i < pl->nin; i++)
				more |= pl->in[i].p->tick(pl->in[i].st, pl->now);
		if (!draining && !pl->stopping && inputs_done(pl))
			more = true; /* start the drain now, not after a poll interval */
		/* draining: held records of files are not flushed (read again from the checkpoint) */
		turn(pl, false);
		if (draining) {
			if (chunk_nrecords(pl->cur) && pl_seal(pl) < 0)
				pl_fatal(pl, "cannot seal a chunk", -CD_ENOMEM);
			pl_deliver(pl);
			/* an output that is down does not hold the exit: its chunks go to its spool */
			pl_spill(pl, true, pl->now < drain_until);
			pl_save_checkpoint(pl);
			if (!pl->qhead && !chunk_nrecords(pl->cur))
				break;
			if (pl->now >= drain_until) {
				cd_err_set(
					&pl->ferr, -CD_EIO, 0,
					"drain timeout: %zu chunks not acknowledged (read again on restart)",
					pl->qn);
				pl->failed = true;
				break;
			}
		}
		pl_wait(pl, next_timeout(pl, more, draining));
	}
	pl_save_checkpoint(pl);
	if (pl->failed) {
		if (err)
			*err = pl->ferr;
		return pl->ferr.code ? pl->ferr.code : -CD_EIO;
	}
	for (unsigned k = 0; k < pl->nout; k++)
		if (pl->out[k].spool && spool_count(pl->out[k].spool))
			cd_logf(FMT_LEVEL_INFO,
				"output %s: %zu chunks wait in its spool (delivered after restart)",
				pl->out[k].conf->name, spool_count(pl->out[k].spool));
	cd_log(FMT_LEVEL_INFO, "stopped: everything read was delivered or spooled", NULL);
	return 0;
}
