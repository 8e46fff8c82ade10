/*
 * util/net.h - listening sockets of clewd's inputs and HTTP endpoint.
 *
 * An address is "HOST:PORT" (numeric IPv4), "[IPV6]:PORT", or
 * "unix:PATH". Port 0 asks the kernel for a free port (tests read it
 * back with cd_net_local_port()). Sockets are non-blocking, close-on-exec.
 */
#ifndef CD_UTIL_NET_H
#define CD_UTIL_NET_H

#include <stdint.h>
#include <sys/socket.h>

#include <store/err.h>

/*
 * cd_net_listen() - a socket of @socktype (SOCK_STREAM, SOCK_DGRAM)
 * bound to @addr (listening, for streams; a stale unix socket file is
 * replaced). Return: the fd, or -CD_EINVAL (bad address) / -CD_EIO
 * (bind, listen) with @err naming the address.
 */
int cd_net_listen(const char *addr, int socktype, struct cd_err *err);

/* The unix socket file an input bound (dev 0, ino 0: none, or not a unix socket). */
struct cd_net_sockfile {
	uint64_t dev, ino;
};

/* cd_net_sockfile_note() - after cd_net_listen(@addr): remember the file a unix:PATH socket is. */
void cd_net_sockfile_note(struct cd_net_sockfile *f, const char *addr);

/*
 * cd_net_sockfile_remove() - at close: unlink @addr's socket file if it
 * is still the one noted (not one a new clewd bound meanwhile).
 */
void cd_net_sockfile_remove(const struct cd_net_sockfile *f, const char *addr);

/*
 * cd_net_rxq_ovfl() - when @cm is the SO_RXQ_OVFL control message of a
 * received datagram (the kernel's count of datagrams it dropped on that
 * socket, cumulative, wrapping at 2^32): the drops since *@seen, which is
 * updated. 0 for any other message.
 */
uint32_t cd_net_rxq_ovfl(const struct cmsghdr *cm, uint32_t *seen);

/* cd_net_local_port() - the port @fd is bound to (0 for unix sockets or on error). */
uint16_t cd_net_local_port(int fd);

/* cd_net_is_loopback() - whether @addr binds to loopback only (127.0.0.0/8, ::1, unix). */
int cd_net_is_loopback(const char *addr);

#endif
