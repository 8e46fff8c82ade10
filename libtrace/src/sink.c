/*
 * sink.c - opening and writing the client's output.
 *
 * DESIGN: a record is written with a single write() (or send() of one
 * datagram), so concurrent writers, threads or processes, never interleave
 * inside a line: files are opened O_APPEND, where the kernel places each
 * write() whole at the end; pipes keep writes up to PIPE_BUF whole; a
 * datagram socket carries one record per message. A short write to a
 * stream (a pipe past PIPE_BUF, a TCP socket under pressure) is completed
 * by further writes, the only case where a line is written in pieces.
 * Writing is synchronous here; nothing is buffered, so nothing is lost
 * when the process dies right after a log call.
 * Every descriptor is opened close-on-exec; sockets are written with
 * MSG_NOSIGNAL, so a collector that goes away costs records (counted),
 * never the host process. In async mode (ring.c) the caller only copies
 * the line into the ring and the writer (writer.c) does the writing here. Not done:
 * reconnecting a dropped tcp/unix stream; in sync mode a slow tcp or unix
 * stream peer can block the caller (async mode exists for that).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ring.h"
#include "sink.h"

static int open_unix(clew_client *c)
{
	static const int types[] = {SOCK_STREAM, SOCK_DGRAM};
	struct sockaddr_un sa;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	clew__strlcpy(sa.sun_path, c->out_arg, sizeof(sa.sun_path));
	/* Whichever the listener is: a stream socket, else a datagram one. */
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			c->dgram = types[i] == SOCK_DGRAM;
			return fd;
		}
		close(fd);
		if (errno != EPROTOTYPE)
			break;
	}
	return -errno;
}

static int open_inet(clew_client *c, int type)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, err = ENOENT, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = type;
	rc = getaddrinfo(c->out_arg, c->out_port, &hints, &res);
	if (rc != 0)
		return -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd >= 0 ? fd : -err;
}

/*
 * How many bytes of whole records the async writer may join in one write:
 * any number for a regular file (O_APPEND places each write() whole),
 * PIPE_BUF for anything else (a pipe, a tty, a stream socket another
 * process may share), where only writes up to PIPE_BUF are sure to stay
 * whole. A record longer than that is written alone, as in sync mode.
 */
static void set_batch_max(clew_client *c)
{
	struct stat st;

	c->batch_max = fstat(c->fd, &st) == 0 && S_ISREG(st.st_mode) ? CLEW__BATCH_MAX : PIPE_BUF;
}

int clew__sink_open(clew_client *c)
{
	int fd;

	c->fd = -1;
	switch (c->out_kind) {
	case CLEW__OUT_STDERR:
		c->fd = STDERR_FILENO;
		set_batch_max(c);
		return 0;
	case CLEW__OUT_STDOUT:
		c->fd = STDOUT_FILENO;
		set_batch_max(c);
		return 0;
	case CLEW__OUT_FILE:
		fd = open(c->out_arg, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			fd = -errno;
		break;
	case CLEW__OUT_UNIX:
		fd = open_unix(c);
		break;
	case CLEW__OUT_UDP:
		c->dgram = true;
		fd = open_inet(c, SOCK_DGRAM);
		break;
	case CLEW__OUT_TCP:
		fd = open_inet(c, SOCK_STREAM);
		break;
	default:
		return -CLEW_EINVAL;
	}
	if (fd < 0) {
		clew__diag(c, CLEW_LEVEL_ERROR, "output %s: %s", c->output, strerror(-fd));
		return -CLEW_EIO;
	}
	c->fd = fd;
	c->own_fd = true;
	set_batch_max(c);
	return 0;
}

void clew__sink_close(clew_client *c)
{
	if (c->own_fd && c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->own_fd = false;
}

int clew__sink_write(clew_client *c, const char *line, size_t len)
{
	while (len > 0) {
		/* A socket whose peer went away must not kill the host with SIGPIPE. */
		ssize_t n = c->out_kind >= CLEW__OUT_UNIX ? send(c->fd, line, len, MSG_NOSIGNAL)
							  : write(c->fd, line, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -CLEW_EIO;
		}
		line += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A forked child's first record restarts the worker its parent had. */
static void restart_worker(clew_client *c)
{
	pthread_mutex_lock(&c->lock);
	if (atomic_exchange(&c->restart, false) && clew__worker_start(c) < 0)
		clew__diag(c, CLEW_LEVEL_ERROR, "cannot restart the background thread after fork");
	pthread_mutex_unlock(&c->lock);
}

void clew__restart_check(clew_client *c)
{
	if (atomic_load_explicit(&c->restart, memory_order_relaxed))
		restart_worker(c);
}

int clew__out_line(clew_client *c, const char *line, size_t len)
{
	clew__restart_check(c);
	if (c->ring)
		return clew__ring_push(c, CLEW__ENTRY_LINE, line, len);
	clew__reopen_check(c);
	if (clew__sink_write(c, line, len) < 0)
		return clew__drop(c, -CLEW_EIO, "write failed");
	return 0;
}
