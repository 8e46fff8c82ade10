/*
 * input/handoff.h - what a SIGHUP reload hands from the old pipeline's
 * inputs to the new one's: the sockets of every input whose configuration
 * is unchanged (same plugin, same options, parser and multiline_start),
 * so that its listener never refuses a connection and its connected
 * clients lose nothing.
 *
 * The old input, told by pipeline_hand_over() that the new configuration
 * has its twin, stops as at SIGTERM but leaves its sockets open: it puts
 * its listening socket(s) and each connection (its fd, the bytes received
 * and not yet handed on, a few bytes of its own state such as a framer)
 * into a slot keyed by its configuration, and nothing more is read: what
 * the clients write meanwhile waits in the kernel. The new input of the
 * same configuration takes the slot in its open() and goes on with the
 * same sockets. Slots nobody took are closed by in_handoff_drop_all().
 *
 * One process-wide table, used only on the loop's thread, one reload at a time.
 */
#ifndef CD_INPUT_HANDOFF_H
#define CD_INPUT_HANDOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "util/net.h"

#define IN_HANDOFF_STATE_MAX 64 /* an input's own per-connection state (a syslog framer: 24 bytes) */

struct in_handoff_conn {
	int fd;				     /* the connection */
	void *bytes;			     /* received, not yet handed on (owned; NULL: none) */
	size_t n;			     /* bytes at bytes */
	uint8_t state[IN_HANDOFF_STATE_MAX]; /* the input's own (opaque here) */
};

struct in_handoff {
	char *key;		     /* the configuration it is for (owned) */
	char *listen;		     /* its listen address (owned; the unix socket file's path) */
	int fd[2];		     /* the listening socket, a second one (forward's heartbeat); -1: none */
	struct cd_net_sockfile sock; /* unix: the socket file the listener is (unlinked if nobody takes it) */
	struct in_handoff_conn *conns; /* its connections */
	unsigned nconns, cap;	       /* used, allocated */
	struct in_handoff *next;       /* the table */
};

/* in_handoff_same() - whether inputs @a and @b are configured alike (their sockets may be handed over). */
bool in_handoff_same(const struct cd_input_conf *a, const struct cd_input_conf *b);

/* in_handoff_put() - a new empty slot for input @ic (in the table). Return: it, or NULL (out of memory). */
struct in_handoff *in_handoff_put(const struct cd_input_conf *ic);

/*
 * in_handoff_add_conn() - put connection @fd into @h with @n bytes of
 * @bytes (copied) and @slen bytes of @state (copied). On failure (out of
 * memory) @fd is left to the caller. Return: 0 or -CD_ENOMEM.
 */
int in_handoff_add_conn(struct in_handoff *h, int fd, const void *bytes, size_t n, const void *state,
			size_t slen);

/* in_handoff_take() - the slot for input @ic, out of the table (the caller frees it); NULL: none. */
struct in_handoff *in_handoff_take(const struct cd_input_conf *ic);

/*
 * in_handoff_listen() - the listening socket @which (0, 1) of @h when it
 * has one (taken: -1 left there, its socket file noted in @sock), else a
 * new one (cd_net_listen(@listen, @socktype), noted in @sock). @h may be
 * NULL. Return: the fd, or a negative CD code with @err.
 */
int in_handoff_listen(struct in_handoff *h, unsigned which, const char *listen, int socktype,
		      struct cd_net_sockfile *sock, struct cd_err *err);

/* in_handoff_put_listener() - move *@fd (-1 left) and its socket file @sock (cleared) to slot @which of @h. */
void in_handoff_put_listener(struct in_handoff *h, unsigned which, int *fd, struct cd_net_sockfile *sock);

/* in_handoff_free() - close every fd still in @h (the caller sets those it took to -1), free; NULL: no-op. */
void in_handoff_free(struct in_handoff *h);

/* in_handoff_drop_all() - close and free every slot left in the table (nobody took them). */
void in_handoff_drop_all(void);

#endif
