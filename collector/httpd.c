/*
 * httpd.c - libmicrohttpd on the pipeline's loop (see httpd.h).
 *
 * DESIGN: we bind the socket ourselves (util/net.c: numeric addresses,
 * port 0, unix sockets) and hand it to MHD with MHD_OPTION_LISTEN_SOCKET;
 * MHD_USE_EPOLL without an internal thread gives one epoll fd that the
 * pipeline watches. MHD_run() is also called on every watch wake-up,
 * which covers its timeouts closely enough (idle connections are closed
 * after CD_HTTP_IDLE_S), and again while MHD has buffered work of its own
 * (run_some()).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpd.h"
#include "pipeline.h"
#include "util/net.h"
#include "util/banned.h"

/* Idle connection timeout: a client that stops mid-request frees its slot. */
#define CD_HTTP_IDLE_S 30u

struct cd_httpd {
	struct MHD_Daemon *d; /* the server */
	struct pipeline *pl;  /* whose loop watches it */
	int epfd;	      /* MHD's epoll fd */
	int kick;	      /* eventfd: MHD has more work now (wakes the loop again) */
	uint16_t port;	      /* bound port */
};

/*
 * Runs of MHD per wake-up while it says it has work right now (timeout
 * 0): a request body larger than MHD's buffer is read a buffer per run,
 * and MHD's own epoll is edge-triggered, so what it has already read
 * does not wake the loop again. Bounded so that one upload cannot hold
 * the loop; cd_httpd_run() from a tick goes on from there.
 */
#define CD_HTTP_RUNS_MAX 64u

static bool run_some(struct cd_httpd *h)
{
	MHD_UNSIGNED_LONG_LONG t;

	for (unsigned i = 0; i < CD_HTTP_RUNS_MAX; i++) {
		MHD_run(h->d);
		if (MHD_get_timeout(h->d, &t) != MHD_YES || t > 0)
			return false;
	}
	return true;
}

bool cd_httpd_run(struct cd_httpd *h)
{
	return run_some(h);
}

/*
 * The loop's callbacks run whatever the backpressure (an input's tick()
 * does not): while MHD has more work right now — a body read a buffer per
 * run — the kick eventfd brings the loop back here next turn, so an
 * upload under way finishes (and is answered) even while the inputs are
 * held back, and no single upload holds the loop for more than one burst.
 */
static void on_ready(void *arg)
{
	struct cd_httpd *h = arg;
	uint64_t one = 1;

	if (run_some(h) && write(h->kick, &one, sizeof(one)) < 0) {
		/* the counter is far from full: nothing to do */
	}
}

void cd_httpd_resume(struct cd_httpd *h, struct MHD_Connection *c)
{
	uint64_t one = 1;

	MHD_resume_connection(c);
	/* MHD has no wake-up of its own in this mode (no ITC in its epoll set): run it on the next turn */
	if (write(h->kick, &one, sizeof(one)) < 0) {
		/* the counter is far from full: nothing to do */
	}
}

static void on_kick(void *arg)
{
	struct cd_httpd *h = arg;
	uint64_t n;

	if (read(h->kick, &n, sizeof(n)) == sizeof(n))
		on_ready(h);
}

int cd_httpd_start(struct cd_httpd **out, struct pipeline *pl, const char *addr,
		   MHD_AccessHandlerCallback handler, void *cls, struct cd_err *err)
{
	return cd_httpd_start_opts(out, pl, addr, handler, cls, NULL, err);
}

int cd_httpd_start_opts(struct cd_httpd **out, struct pipeline *pl, const char *addr,
			MHD_AccessHandlerCallback handler, void *cls, const struct cd_httpd_opts *o,
			struct cd_err *err)
{
	struct cd_httpd *h = calloc(1, sizeof(*h));
	const union MHD_DaemonInfo *info;
	struct MHD_OptionItem extra[4];
	unsigned n = 0;
	int fd, rc;

	if (!h)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	fd = o && o->kept_fd > 0 ? o->kept_fd : cd_net_listen(addr, SOCK_STREAM, err);
	if (fd < 0) {
		free(h);
		return fd;
	}
	h->port = cd_net_local_port(fd);
	h->pl = pl;
	if (o && o->max_connections)
		extra[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, o->max_connections, NULL};
	if (o && o->completed)
		/* MHD's array form takes a callback's function pointer as intptr_t */
		extra[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)o->completed,
						     o->completed_cls};
	if (o && o->memory_limit)
		extra[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
						     (intptr_t)o->memory_limit, NULL};
	extra[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	/* suspend/resume: an input answers a request only once its records are safe (input/intake.h) */
	h->d = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, handler, cls,
				MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_TIMEOUT,
				(unsigned)CD_HTTP_IDLE_S, MHD_OPTION_ARRAY, extra, MHD_OPTION_END);
	if (!h->d) {
		close(fd);
		free(h);
		return cd_err_set(err, -CD_EIO, 0, "%s: cannot start the HTTP server", addr);
	}
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
	h->epfd = info ? info->epoll_fd : -1;
	h->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->epfd < 0 || h->kick < 0 || (rc = pl_watch_fd(pl, h->epfd, on_ready, h)) < 0) {
		MHD_stop_daemon(h->d);
		if (h->kick >= 0)
			close(h->kick);
		free(h);
		return cd_err_set(err, -CD_EIO, 0, "%s: cannot watch the HTTP server", addr);
	}
	if (pl_watch_fd(pl, h->kick, on_kick, h) < 0) {
		pl_unwatch_fd(pl, h->epfd);
		MHD_stop_daemon(h->d);
		close(h->kick);
		free(h);
		return cd_err_set(err, -CD_EIO, 0, "%s: cannot watch the HTTP server", addr);
	}
	*out = h;
	return 0;
}

int cd_httpd_quiesce(struct cd_httpd *h)
{
	MHD_socket fd = MHD_quiesce_daemon(h->d);

	return fd == MHD_INVALID_SOCKET ? -1 : (int)fd;
}

uint16_t cd_httpd_port(const struct cd_httpd *h)
{
	return h->port;
}

void cd_httpd_stop(struct cd_httpd *h)
{
	if (!h)
		return;
	pl_unwatch_fd(h->pl, h->epfd);
	pl_unwatch_fd(h->pl, h->kick);
	MHD_stop_daemon(h->d); /* closes the listening socket too */
	close(h->kick);
	free(h);
}

enum MHD_Result cd_httpd_reply(struct MHD_Connection *c, unsigned status, const char *type, const char *body,
			       size_t len)
{
	union {
		const char *c;
		void *v;
	} b = {.c = body}; /* MHD's old API takes void *; MUST_COPY never writes through it */
	struct MHD_Response *r = MHD_create_response_from_buffer(len, b.v, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}
