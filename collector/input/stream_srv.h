/*
 * input/stream_srv.h - the server side the stream inputs (tcp, unix,
 * syslog over tcp, forward) share: the listening socket (and forward's
 * heartbeat socket) and the input's own epoll set watched by the
 * pipeline, the list of connections, accept with max_connections, the
 * idle_timeout sweep, the reload hand-over of the sockets, close, and the
 * connection counters and their metrics. What a connection carries and
 * how its bytes are read and cut (lines, syslog frames, forward frames
 * with acks) stays with each input, behind a few callbacks.
 *
 * A kind's connection embeds struct ss_conn as its first member (the
 * server allocates ops->conn_size bytes, zeroed); the kind's state embeds
 * struct ss_srv. Everything runs on the loop's thread, in tick(), stop(),
 * hand_over(), open() and close(), never inside the loop's fd callbacks.
 */
#ifndef CD_INPUT_STREAM_SRV_H
#define CD_INPUT_STREAM_SRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "input/handoff.h"
#include "input/in_net.h"
#include "util/net.h"

struct pipeline;
struct metrics;
struct ss_srv;

struct ss_conn {
	struct ss_conn *prev, *next; /* the server's open connections */
	struct ss_srv *srv;	     /* its server */
	int fd;			     /* the connection */
	bool in_epoll;		     /* fd is in the server's epoll set */
	int64_t last_ns;	     /* monotonic ns of its last byte (or its accept): idle_timeout */
	char name[256];		     /* PREFIX:IP:PORT or UPREFIX+listen pid=PID (in_net_peer_name()) */
};

/* What a kind of stream input does with its connections (NULL members: nothing to do). */
struct ss_ops {
	size_t conn_size; /* its connection struct, struct ss_conn first */
	/*
	 * init() - a new connection @c (fd and name set, in the set), or with
	 * @hc one the old pipeline handed over (its bytes and state). Return:
	 * 0, or <0 to close it at once (release() is called, not closing();
	 * not counted as accepted).
	 */
	int (*init)(struct ss_conn *c, const struct in_handoff_conn *hc);
	/* read() - @c is readable: read a burst. Return: true when more is waiting; false also when closed. */
	bool (*read)(struct ss_conn *c);
	/* closing() - @c ends (EOF, error, idle, stop): hand on what it holds, end its source. */
	void (*closing)(struct ss_conn *c);
	/* release() - free what @c owns (not the fd, not @c). */
	void (*release)(struct ss_conn *c);
	/* busy() - whether @c waits for clewd rather than the client (never idle). */
	bool (*busy)(const struct ss_conn *c);
	/* hand() - reload: put @c into @h (in_handoff_add_conn()). Return: 0 put, <0 close it instead. */
	int (*hand)(struct ss_conn *c, struct in_handoff *h);
	/* extra() - the second socket (ss_srv.xfd, forward's heartbeat) is readable. */
	void (*extra)(struct ss_srv *s);
	/* recv() - a datagram socket (socktype SOCK_DGRAM: no connections) is readable. Return: more waiting. */
	bool (*recv)(struct ss_srv *s);
};

struct ss_srv {
	const struct ss_ops *ops;    /* the kind's callbacks */
	struct pipeline *pl;	     /* the pipeline */
	unsigned idx;		     /* input index */
	const char *kind;	     /* in the log: "tcp", "unix", "syslog+tcp", "forward" */
	const char *prefix;	     /* connection names: PREFIX:IP:PORT ... */
	const char *uprefix;	     /* ... or UPREFIX+listen pid=PID (a unix socket) */
	const char *listen;	     /* its address (the configuration's) */
	uint64_t max_connections;    /* open connections at most */
	int socktype;		     /* SOCK_STREAM (ss_init()), or SOCK_DGRAM: lfd is read by recv() */
	int lfd;		     /* listening socket; -1 after stop() */
	int xfd;		     /* a second socket in the set (forward's heartbeat); -1: none */
	int epfd;		     /* the input's epoll set: listener, xfd, connections */
	bool watched;		     /* epfd is in the pipeline's set */
	bool ready;		     /* epfd said readable: look at it in tick() */
	bool stopped;		     /* stop() or hand_over() ran: nothing more is read */
	bool nodelay;		     /* TCP_NODELAY on connections (small answers, such as acks) */
	bool kept;		     /* the listener came from the old pipeline (reload) */
	int64_t accept_resume_ns;    /* out of fds: listener out of epfd until then; 0: in */
	struct cd_net_sockfile sock; /* unix: the socket file we bound (unlinked at close) */
	struct ss_conn *conns;	     /* open connections */
	unsigned nconns;	     /* entries in conns */
	uint64_t accepted;	     /* connections accepted, in total */
	uint64_t rejected;	     /* connections closed at once (max_connections) */
	uint64_t resets;	     /* connections that ended in an error (ss_conn_fail()) */
	struct in_net_idle idle;     /* idle_timeout */
};

/*
 * ss_init() - @s for input @idx of @pl with options @o (listen,
 * max_connections, idle_timeout: checked by in_net_check()), an epoll set
 * and no listener yet. Return: 0 or a negative CD code with @err (@s
 * needs no ss_release()).
 */
int ss_init(struct ss_srv *s, const struct ss_ops *ops, struct pipeline *pl, unsigned idx,
	    const struct cd_opts *o, const char *kind, struct cd_err *err);

/* ss_listen() - the listener: @kept's (reload; @kept may be NULL) or bound to s->listen. Return: 0 or <0 with @err. */
int ss_listen(struct ss_srv *s, struct in_handoff *kept, struct cd_err *err);

/* ss_add_extra() - put @fd (taken) into the set as the second socket, ops->extra() when readable. */
void ss_add_extra(struct ss_srv *s, int fd);

/*
 * ss_start() - announce the listener (in_net_announce()), watch the set,
 * and go on with @kept's connections (reload; NULL: none). Return: 0 or
 * <0 with @err.
 */
int ss_start(struct ss_srv *s, struct in_handoff *kept, struct cd_err *err);

/*
 * ss_prepare() - the start of a tick: close the connections silent for
 * idle_timeout (not busy()), watch the set again after backpressure,
 * put the listener back after a pause (out of fds).
 */
void ss_prepare(struct ss_srv *s, int64_t now);

/*
 * ss_poll() - if the set said readable: accept, call extra() and read()
 * for what is ready, stopping at backpressure. Sets s->ready. Return:
 * true when more is waiting.
 */
bool ss_poll(struct ss_srv *s, int64_t now);

/* ss_tick() - ss_prepare() and ss_poll(), unless stopped. */
bool ss_tick(struct ss_srv *s, int64_t now);

/* ss_conn_watch() - put @c's fd in (@on) or out of the set (not read while out). */
void ss_conn_watch(struct ss_conn *c, bool on);

/* ss_conn_close() - end @c: closing(), out of the set, release(), close, free. */
void ss_conn_close(struct ss_conn *c);

/* ss_conn_fail() - @c ended in error @e (errno): counted, logged, ss_conn_close(). */
void ss_conn_fail(struct ss_conn *c, int e);

/* ss_stop_listening() - stop(): out of the pipeline's set, the listener closed, s->stopped set. */
void ss_stop_listening(struct ss_srv *s);

/* ss_drain_close() - stop(): read every connection until drained (unless held back), then close it. */
void ss_drain_close(struct ss_srv *s);

/*
 * ss_hand_over() - reload: out of the pipeline's set, the listener (and
 * xfd) into @h, each connection put by hand() (or closed), s->stopped set.
 */
void ss_hand_over(struct ss_srv *s, struct in_handoff *h);

/* ss_metrics() - the connection metrics: accepted, open, rejected, errors, idle closed. */
void ss_metrics(const struct ss_srv *s, struct metrics *m, const char *label);

/* ss_release() - close(): every fd closed, each connection release()d (no closing()), the socket file removed. */
void ss_release(struct ss_srv *s);

#endif
