/*
 * output/logstash/out_ls_tcp.c - logstash+tcp://HOST:PORT: Logstash events as
 * json_lines over one TCP connection (Logstash's tcp input with
 * codec => json_lines).
 *
 * DESIGN: chunks are written in sequence order over a non-blocking
 * socket; only the chunk being written is rendered (one buffer), the
 * others are held as references to the pipeline's chunks. TCP json_lines
 * has no application-level acknowledgement, so the strongest thing we can
 * know is that the peer's TCP has the bytes: a chunk is acknowledged once
 * all its bytes were written *and* the kernel's send queue has drained
 * past its last byte (SIOCOUTQ: bytes not yet acknowledged by the peer).
 * What the peer process had received but not read when it died is lost
 * with it; a peer that closes cleanly (FIN, then reads to our EOF, as a
 * Logstash shutting down does) loses nothing. A connection lost before a
 * chunk's bytes were all acknowledged gives that chunk back to the
 * pipeline whole (its first lines may then arrive twice: duplicates are
 * possible, loss is not). Reconnects happen when the pipeline gives the
 * chunk back, after its backoff (see ls_common.h).
 *
 * In flight: at most CD_QUEUE_CHUNKS_MAX chunk references, one rendered
 * chunk, and the socket's send buffer (option send_buffer).
 */
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "output/lines.h"
#include "output/logstash/ls_common.h"
#include "util/util.h"
#include "util/banned.h"

enum ls_tcp_conn { TCP_DOWN, TCP_CONNECTING, TCP_UP };

struct ls_tcp_conf {
	char host[256];		     /* peer address */
	uint16_t port;		     /* peer port */
	uint64_t connect_timeout_ms; /* give up a connect after this */
	uint64_t timeout_ms;  /* TCP_USER_TIMEOUT: unacknowledged data this long kills the connection */
	uint64_t send_buffer; /* SO_SNDBUF; 0 = the kernel's default (autotuned) */
};

struct ls_tcp {
	char *name;	       /* output label (owned) */
	struct ls_tcp_conf cf; /* options */
	struct pipeline *pl;   /* for pl_watch_fd() */
	int fd;		       /* the connection, -1 when down */
	enum ls_tcp_conn conn; /* its state */
	bool watched;	       /* fd is in the pipeline's epoll set */
	bool peer_closed;      /* the peer sent FIN or reset: finish with this connection */
	int64_t deadline_ns;   /* connect timeout */
	uint64_t off;	       /* bytes written on this connection */
	struct ls_queue q;     /* held chunks; it[].mark = stream offset past the chunk, 0: not written */
	struct ls_lines lines; /* the rendered chunk being written */
	size_t wpos;	       /* bytes of lines written */
	struct ls_stats st;    /* counters */
	char why[128];	       /* how the peer went away */
};

static const struct cd_opt_spec tcp_opts[] = {
	{"address", CD_OPT_HOSTPORT, NULL, "HOST:PORT of Logstash's tcp input (required)", NULL, 0, 0},
	{"connect_timeout", CD_OPT_DURATION, "5s", "give up a connect after this", NULL, 0, 0},
	{"timeout", CD_OPT_DURATION, "60s", "unacknowledged data this old drops the connection", NULL, 0, 0},
	{"send_buffer", CD_OPT_SIZE, "the kernel's", "SO_SNDBUF", NULL, 0, 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

static int tcp_conf(const struct cd_output_conf *oc, struct ls_tcp_conf *cf, struct cd_err *err)
{
	int rc;

	memset(cf, 0, sizeof(*cf));
	rc = cd_opt_hostport(&oc->opts, "address", 0, cf->host, sizeof(cf->host), &cf->port, err);
	if (rc == -CD_ENOENT || (rc == 0 && cf->port == 0))
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: address HOST:PORT is required", oc->name);
	if (rc < 0)
		return rc;
	if ((rc = cd_opt_ms(&oc->opts, "connect_timeout", 5000, &cf->connect_timeout_ms, err)) < 0 ||
	    (rc = cd_opt_ms(&oc->opts, "timeout", 60000, &cf->timeout_ms, err)) < 0 ||
	    (rc = cd_opt_size(&oc->opts, "send_buffer", 0, &cf->send_buffer, err)) < 0)
		return rc;
	if (cf->connect_timeout_ms == 0 || cf->timeout_ms > UINT32_MAX || cf->send_buffer > INT32_MAX / 2)
		return cd_err_set(
			err, -CD_EINVAL, 0,
			"output %s: connect_timeout must be > 0, timeout < 49 days, send_buffer < 1G",
			oc->name);
	return 0;
}

static int tcp_check(const struct cd_output_conf *oc, struct cd_err *err)
{
	struct ls_tcp_conf cf;

	return tcp_conf(oc, &cf, err);
}

static void tcp_drop_conn(struct ls_tcp *t)
{
	if (t->fd >= 0) {
		if (t->watched)
			pl_unwatch_fd(t->pl, t->fd);
		/* FIN, not RST: a peer still reading gets every byte we wrote */
		shutdown(t->fd, SHUT_WR);
		close(t->fd);
	}
	t->fd = -1;
	t->watched = false;
	t->peer_closed = false;
	t->conn = TCP_DOWN;
	t->off = 0;
	t->wpos = 0;
}

/* Chunks whose last byte the peer's TCP acknowledged are delivered. */
static void tcp_check_acks(struct ls_tcp *t)
{
	int outq = 0;
	uint64_t acked;

	if (t->fd < 0 || t->conn != TCP_UP || !t->q.n || !t->q.it[0].mark)
		return;
	if (ioctl(t->fd, SIOCOUTQ, &outq) < 0 || outq < 0)
		return;
	acked = t->off - (uint64_t)outq;
	while (t->q.n && t->q.it[0].mark && t->q.it[0].mark <= acked) {
		t->st.events += t->q.it[0].nrecords;
		ls_queue_done(&t->q, 0, OUT_OK, NULL);
	}
}

/* The connection is gone or unusable: the oldest undelivered chunk goes back to the pipeline. */
static void tcp_fail(struct ls_tcp *t, const char *why)
{
	bool was_up = t->conn == TCP_UP;

	tcp_check_acks(t);
	tcp_drop_conn(t);
	for (unsigned i = 0; i < t->q.n; i++)
		t->q.it[i].mark = 0; /* nothing is known delivered past what was acknowledged */
	ls_retry_oldest(t->name, &t->q, &t->st, was_up, why);
}

/* Readable: Logstash never writes, so this is the peer closing (FIN) or resetting. */
static void tcp_on_readable(void *arg)
{
	struct ls_tcp *t = arg;
	char scratch[4096];

	for (;;) {
		ssize_t n = recv(t->fd, scratch, sizeof(scratch), MSG_DONTWAIT);
		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		cd_strlcpy(t->why, n < 0 ? strerror(errno) : "the peer closed the connection",
			   sizeof(t->why));
		break;
	}
	/* level-triggered: stop watching, or the loop would wake forever */
	pl_unwatch_fd(t->pl, t->fd);
	t->watched = false;
	t->peer_closed = true;
	if (!t->q.n)
		tcp_drop_conn(t); /* idle: nothing to give back */
}

static int tcp_start_connect(struct ls_tcp *t, int64_t now, struct cd_err *err)
{
	int one = 1, fd;
	unsigned ut = (unsigned)t->cf.timeout_ms;

	fd = ls_connect(t->cf.host, t->cf.port, SOCK_STREAM, err);
	if (fd < 0)
		return fd;
	/* chunks are written in large pieces: no need to wait for more, send at once */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	if (ut)
		setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof(ut));
	if (t->cf.send_buffer) {
		int sb = (int)t->cf.send_buffer;
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb));
	}
	t->fd = fd;
	t->conn = TCP_CONNECTING;
	t->deadline_ns = now + (int64_t)t->cf.connect_timeout_ms * 1000000;
	t->off = 0;
	t->wpos = 0;
	if (pl_watch_fd(t->pl, fd, tcp_on_readable, t) == 0)
		t->watched = true;
	return 0;
}

/* Write what the socket takes, oldest chunk first. Return: false when the connection failed. */
static bool tcp_write(struct ls_tcp *t)
{
	for (unsigned i = 0; i < t->q.n; i++) {
		struct ls_item *it = &t->q.it[i];
		struct cd_err err = {0, 0, ""};
		int rc;

		if (it->mark)
			continue;
		rc = ls_render(&t->lines, it, &err);
		if (rc < 0) {
			t->st.errors++;
			ls_queue_done(&t->q, i, OUT_FAIL, err.msg);
			return true;
		}
		if (rc == 1)
			t->wpos = 0;
		while (t->wpos < t->lines.out.len) {
			ssize_t n = send(t->fd, t->lines.out.buf + t->wpos, t->lines.out.len - t->wpos,
					 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return true;
			if (n <= 0) {
				tcp_fail(t, n < 0 ? strerror(errno) : "send returned 0");
				return false;
			}
			t->wpos += (size_t)n;
			t->off += (uint64_t)n;
			t->st.bytes += (uint64_t)n;
		}
		it->mark = t->off;
		t->wpos = 0;
		t->lines.valid = false; /* its bytes are out: the buffer is free for the next chunk */
	}
	return true;
}

static void tcp_progress(struct ls_tcp *t, int64_t now)
{
	struct cd_err err = {0, 0, ""};
	int rc;

	tcp_check_acks(t);
	if (t->peer_closed) {
		tcp_fail(t, t->why);
		return;
	}
	if (!t->q.n || t->q.held)
		return;
	if (t->conn == TCP_DOWN && tcp_start_connect(t, now, &err) < 0) {
		tcp_fail(t, err.msg);
		return;
	}
	if (t->conn == TCP_CONNECTING) {
		rc = ls_connect_wait(t->fd, now, t->deadline_ns, t->name, &t->st, &err);
		if (rc < 0) {
			tcp_fail(t, err.msg);
			return;
		}
		if (rc == 0)
			return;
		t->conn = TCP_UP;
	}
	if (tcp_write(t))
		tcp_check_acks(t);
}

static int tcp_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_output_conf *oc,
		    struct cd_err *err)
{
	struct ls_tcp *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	if ((rc = tcp_conf(oc, &t->cf, err)) < 0) {
		free(t);
		return rc;
	}
	t->name = strdup(oc->name ? oc->name : "logstash+tcp");
	if (!t->name) {
		free(t);
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	}
	t->pl = pl;
	t->fd = -1;
	ls_queue_init(&t->q, pl, idx);
	*state = t;
	return 0;
}

static enum out_result tcp_flush(void *state, const struct chunk *c, struct cd_err *err)
{
	struct ls_tcp *t = state;

	if (!ls_queue_begin(&t->q, c)) {
		cd_err_set(err, -CD_EFULL, 0, "%s: too many chunks in flight", t->name);
		return OUT_RETRY;
	}
	tcp_progress(t, cd_mono_ns());
	return ls_queue_end(&t->q, err);
}

static void tcp_poll(void *state, int64_t now)
{
	tcp_progress(state, now);
}

static void tcp_metrics(void *state, struct metrics *m, const char *label)
{
	struct ls_tcp *t = state;

	ls_metrics(m, label, &t->st, 0, &t->q, t->lines.valid ? t->lines.out.len - t->wpos : 0);
}

static void tcp_close(void *state)
{
	struct ls_tcp *t = state;

	if (!t)
		return;
	ls_log_summary(t->name, &t->st, 0);
	tcp_drop_conn(t);
	ls_queue_drop(&t->q);
	out_lines_release(&t->lines.out);
	free(t->name);
	free(t);
}

static const struct out_plugin out_ls_tcp = {
	.check = tcp_check,
	.open = tcp_open,
	.flush = tcp_flush,
	.poll = tcp_poll,
	.metrics = tcp_metrics,
	.close = tcp_close,
};

const struct cd_plugin_desc out_ls_tcp_desc = {
	.name = "logstash+tcp",
	.scheme = "logstash+tcp",
	.usage = "logstash+tcp://HOST:PORT",
	.summary = "Logstash events, json_lines over TCP",
	.opts = tcp_opts,
	.flags = CD_PLUGIN_URI_OPTS,
	.out = &out_ls_tcp,
};
