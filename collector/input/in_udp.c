/*
 * input/in_udp.c - the udp and unixgram inputs: datagrams of lines.
 *
 * DESIGN: one socket, one source without a checkpoint for the input's
 * life. A datagram is one or more lines: it is cut at '\n', and a
 * datagram that does not end in one ends its last line anyway (a
 * newline is added, not counted in the bytes), so lines of two
 * datagrams never run together. A line never spans datagrams; a
 * continuation line (a stack trace) in a later datagram still joins the
 * record held from the one before, whoever sent it: send a stack trace in
 * one datagram. Datagrams are received whole into a CD_DGRAM_MAX buffer;
 * a larger one (only unix datagrams can be) keeps its first CD_DGRAM_MAX
 * bytes and is counted as truncated (MSG_TRUNC).
 *
 * Backpressure: a datagram socket cannot push back on its senders over
 * UDP. While the pipeline holds inputs back nothing is read, the
 * socket's receive buffer fills and the kernel drops what does not fit;
 * those drops are counted exactly, by SO_RXQ_OVFL (the kernel's
 * cumulative drop count of the socket, carried with each datagram
 * received), and shown as kernel_drops. A unix datagram socket does push
 * back: its senders block (or get EAGAIN) while its queue is full.
 * As in in_tcp.c, the level-triggered fd leaves the loop's set while
 * held back and comes back in tick().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "input/handoff.h"
#include "input/in_net.h"
#include "pipeline.h"
#include "util/drops.h"
#include "util/metrics.h"
#include "util/net.h"
#include "util/util.h"
#include "util/banned.h"

struct udp_state {
	struct pipeline *pl;	     /* the pipeline */
	unsigned idx;		     /* input index */
	const char *listen;	     /* its address (the configuration's) */
	const char *kind;	     /* "udp" or "unixgram" */
	int fd;			     /* the socket; -1 after stop() */
	struct pl_source *src;	     /* the one source; NULL after stop() */
	char *buf;		     /* one datagram, CD_DGRAM_MAX bytes */
	bool watched;		     /* fd is in the pipeline's set */
	bool ready;		     /* fd said readable */
	struct cd_net_sockfile sock; /* unix: the socket file we bound (unlinked at close) */
	uint64_t datagrams;	     /* datagrams received */
	uint64_t truncated;	     /* of which larger than CD_DGRAM_MAX (cut) */
	uint32_t drops_seen;	     /* last SO_RXQ_OVFL value: the kernel's count, wraps */
	uint64_t drops;		     /* datagrams the kernel dropped (receive buffer full) */
	bool opened;		     /* open() succeeded: close() reports the counters */
};

static void on_ready(void *arg)
{
	struct udp_state *st = arg;

	st->ready = true;
	if (pl_backpressure(st->pl) && st->watched) {
		pl_unwatch_fd(st->pl, st->fd);
		st->watched = false;
	}
}

/* Receive one datagram and hand its lines on. Return: 1, 0 (none waiting), or -errno. */
static int recv_one(struct udp_state *st)
{
	union {
		char buf[CMSG_SPACE(sizeof(uint32_t))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = st->buf, .iov_len = CD_DGRAM_MAX};
	struct msghdr mh;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	n = recvmsg(st->fd, &mh, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		const uint32_t d = cd_net_rxq_ovfl(cm, &st->drops_seen);

		st->drops += d;
		cd_drop("input", pl_in_name(st->pl, st->idx), "kernel_receive_buffer", d, st->listen);
	}
	st->datagrams++;
	if (mh.msg_flags & MSG_TRUNC) {
		st->truncated++;
		if ((st->truncated & (st->truncated - 1)) == 0) {
			char c[24];
			snprintf(c, sizeof(c), "%llu", (unsigned long long)st->truncated);
			cd_log(FMT_LEVEL_WARN, "datagram larger than the buffer: cut", "input", st->kind,
			       "listen", st->listen, "truncated", c, NULL);
		}
	}
	pl_source_feed_datagram(st->pl, st->src, st->buf, (size_t)n);
	return 1;
}

static bool udp_tick(void *state, int64_t now)
{
	struct udp_state *st = state;
	uint64_t before;
	int rc = 0;

	(void)now;
	if (!st->src)
		return false;
	if (!st->watched && pl_watch_fd(st->pl, st->fd, on_ready, st) == 0) {
		st->watched = true;
		st->ready = true;
	}
	if (!st->ready)
		return false;
	before = pl_in_stats(st->pl, st->idx)->bytes;
	while (!pl_backpressure(st->pl) && pl_in_stats(st->pl, st->idx)->bytes - before < CD_READ_BURST &&
	       (rc = recv_one(st)) > 0)
		;
	if (rc < 0)
		cd_log(FMT_LEVEL_WARN, "receive failed", "input", st->kind, "listen", st->listen, "error",
		       strerror(-rc), NULL);
	/* stopped early (burst, backpressure): more is waiting */
	st->ready = rc > 0;
	return st->ready;
}

static bool udp_done(void *state)
{
	(void)state;
	return false;
}

static void udp_stop(void *state)
{
	struct udp_state *st = state;

	if (!st->src)
		return;
	/* what the kernel holds was sent to us: take it, unless the outputs are behind */
	while (!pl_backpressure(st->pl) && recv_one(st) > 0)
		;
	pl_source_end(st->pl, st->src, false);
	st->src = NULL;
	if (st->watched) {
		pl_unwatch_fd(st->pl, st->fd);
		st->watched = false;
	}
	close(st->fd);
	st->fd = -1;
}

/* Reload, this input unchanged: the socket goes to the new pipeline's twin, what waits in it too. */
static void udp_hand_over(void *state, struct in_handoff *h)
{
	struct udp_state *st = state;

	if (!st->src)
		return;
	pl_source_end(st->pl, st->src, false); /* every datagram read was whole lines */
	st->src = NULL;
	if (st->watched) {
		pl_unwatch_fd(st->pl, st->fd);
		st->watched = false;
	}
	in_handoff_put_listener(h, 0, &st->fd, &st->sock);
}

static void udp_metrics(void *state, struct metrics *m, const char *label)
{
	const struct udp_state *st = state;

	metrics_add(m, "clewd_input_datagrams_total", METRICS_COUNTER,
		    "Datagrams received by a network input", label, (double)st->datagrams);
	metrics_add(m, "clewd_input_datagrams_truncated_total", METRICS_COUNTER,
		    "Datagrams larger than the receive buffer, cut", label, (double)st->truncated);
	metrics_add(m, "clewd_input_kernel_drops_total", METRICS_COUNTER,
		    "Datagrams the kernel dropped, the socket's receive buffer full (SO_RXQ_OVFL)", label,
		    (double)st->drops);
}

static void udp_close(void *state);

static int udp_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_input_conf *ic,
		    struct cd_err *err)
{
	struct udp_state *st = calloc(1, sizeof(*st));
	struct in_handoff *kept = NULL;
	int rc, one = 1;

	if (!st)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	st->pl = pl;
	st->idx = idx;
	st->listen = cd_opt_get(&ic->opts, "listen");
	st->kind = ic->plugin->name;
	st->buf = malloc(CD_DGRAM_MAX);
	if (!st->buf) {
		free(st);
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	}
	kept = in_handoff_take(ic); /* reload: the old pipeline's socket, and what waits in it */
	st->fd = in_handoff_listen(kept, 0, st->listen, SOCK_DGRAM, &st->sock, err);
	if (st->fd < 0) {
		rc = st->fd;
		goto err_close;
	}
	if (setsockopt(st->fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) < 0 &&
	    !(ic->plugin->flags & CD_PLUGIN_UNIX))
		cd_log(FMT_LEVEL_WARN, "SO_RXQ_OVFL not available: kernel drops are not counted", "input",
		       st->kind, "listen", st->listen, "error", strerror(errno), NULL);
	/* the records' src.input: udp:HOST:PORT, unixgram:PATH */
	if (ic->plugin->flags & CD_PLUGIN_UNIX)
		snprintf(st->buf, CD_DGRAM_MAX, "unixgram:%s", st->listen + 5);
	else
		snprintf(st->buf, CD_DGRAM_MAX, "udp:%s", st->listen);
	st->src = pl_source_new(pl, idx, st->buf, NULL, 0, 0, 0);
	if (!st->src) {
		rc = cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
		goto err_close;
	}
	if ((rc = pl_watch_fd(pl, st->fd, on_ready, st)) < 0) {
		cd_err_set(err, rc, errno, "%s: cannot watch", st->listen);
		pl_source_abandon(pl, st->src);
		st->src = NULL;
		goto err_close;
	}
	st->watched = true;
	st->opened = true;
	st->ready = kept != NULL; /* what was sent during the reload */
	in_net_announce(st->kind, st->listen, st->fd, kept != NULL);
	in_handoff_free(kept);
	*state = st;
	return 0;

err_close:
	in_handoff_free(kept);
	udp_close(st);
	return rc;
}

static void udp_close(void *state)
{
	struct udp_state *st = state;
	char n[4][24];

	if (!st)
		return;
	/* the source is the pipeline's: ended by stop(), or freed by pipeline_free() */
	if (st->watched)
		pl_unwatch_fd(st->pl, st->fd);
	if (st->fd >= 0)
		close(st->fd);
	cd_net_sockfile_remove(&st->sock, st->listen);
	if (!st->opened)
		goto out;
	snprintf(n[0], sizeof(n[0]), "%llu", (unsigned long long)st->datagrams);
	snprintf(n[1], sizeof(n[1]), "%llu", (unsigned long long)st->truncated);
	snprintf(n[2], sizeof(n[2]), "%llu", (unsigned long long)st->drops);
	snprintf(n[3], sizeof(n[3]), "%llu", (unsigned long long)pl_in_stats(st->pl, st->idx)->bytes);
	cd_log(FMT_LEVEL_INFO, "input closed", "input", st->kind, "listen", st->listen, "datagrams", n[0],
	       "truncated", n[1], "kernel_drops", n[2], "bytes", n[3], NULL);
out:
	free(st->buf);
	free(st);
}

static const struct in_plugin in_udp = {
	.open = udp_open,
	.tick = udp_tick,
	.done = udp_done,
	.stop = udp_stop,
	.hand_over = udp_hand_over,
	.metrics = udp_metrics,
	.close = udp_close,
};

static const struct cd_opt_spec udp_opts[] = {
	{"listen", CD_OPT_STRING, NULL, "IPV4:PORT, [IPV6]:PORT or PORT (127.0.0.1) to listen on (required)",
	 NULL, 0, 0},
	CD_OPT_REFUSE("max_connections", "a datagram socket has none"),
	CD_OPT_REFUSE("path", "a URL path is for http inputs"),
	CD_OPT_REFUSE("read_from", "read_from is for tail inputs, not udp"),
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

static const struct cd_opt_spec unixgram_opts[] = {
	{"listen", CD_OPT_STRING, NULL, "unix:PATH, the socket to listen on (or path:)", NULL, 0, 0},
	{"path", CD_OPT_STRING, NULL, "the socket's path (as listen: unix:PATH)", NULL, 0, 0},
	CD_OPT_REFUSE("max_connections", "a datagram socket has none"),
	CD_OPT_REFUSE("read_from", "read_from is for tail inputs, not unixgram"),
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

extern const struct cd_plugin_desc in_udp_desc, in_unixgram_desc;

static int udp_check(struct cd_opts *o, struct cd_err *err)
{
	return in_net_check(o, &in_udp_desc, err);
}

static int unixgram_check(struct cd_opts *o, struct cd_err *err)
{
	return in_net_check(o, &in_unixgram_desc, err);
}

const struct cd_plugin_desc in_udp_desc = {
	.name = "udp",
	.scheme = "udp",
	.usage = "udp://HOST:PORT",
	.summary = "datagrams of lines",
	.opts = udp_opts,
	.flags = CD_PLUGIN_NET | CD_PLUGIN_DGRAM,
	.check = udp_check,
	.in = &in_udp,
};

const struct cd_plugin_desc in_unixgram_desc = {
	.name = "unixgram",
	.scheme = "unixgram",
	.usage = "unixgram:///PATH",
	.summary = "datagrams on a unix datagram socket",
	.opts = unixgram_opts,
	.flags = CD_PLUGIN_NET | CD_PLUGIN_DGRAM | CD_PLUGIN_UNIX,
	.check = unixgram_check,
	.in = &in_udp,
};
