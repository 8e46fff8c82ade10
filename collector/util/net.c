/*
 * util/net.c - listening sockets (see net.h).
 *
 * DESIGN: numeric addresses only (getaddrinfo with AI_NUMERICHOST): a
 * collector that resolves names at start-up hangs on a broken resolver,
 * and a listener should say exactly where it binds.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/net.h"
#include "util/banned.h"

static int listen_unix(const char *addr, const char *path, int socktype, struct cd_err *err)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (!*path || strlen(path) >= sizeof(sun.sun_path))
		return cd_err_set(err, -CD_EINVAL, 0, "%s: a unix socket path of 1..%zu bytes", addr,
				  sizeof(sun.sun_path) - 1);
	memcpy(sun.sun_path, path, strlen(path));
	/* a socket file left by an earlier run: replace it; anything else is not ours */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cd_err_set(err, -CD_EIO, errno, "%s: socket: %s", addr, strerror(errno));
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    (socktype == SOCK_STREAM && listen(fd, 128) < 0)) {
		int e = errno;
		close(fd);
		return cd_err_set(err, -CD_EIO, e, "%s: %s", addr, strerror(e));
	}
	return fd;
}

int cd_net_listen(const char *addr, int socktype, struct cd_err *err)
{
	char host[128];
	const char *port, *h = addr;
	size_t hlen;
	struct addrinfo hints, *ai = NULL;
	int fd, rc, one = 1;

	if (strncmp(addr, "unix:", 5) == 0)
		return listen_unix(addr, addr + 5, socktype, err);
	if (addr[0] == '[') {
		const char *close_br = strchr(addr, ']');
		if (!close_br || close_br[1] != ':')
			return cd_err_set(err, -CD_EINVAL, 0, "%s: expected [IPV6]:PORT", addr);
		h = addr + 1;
		hlen = (size_t)(close_br - h);
		port = close_br + 2;
	} else {
		port = strrchr(addr, ':');
		if (!port)
			return cd_err_set(err, -CD_EINVAL, 0, "%s: expected HOST:PORT or unix:PATH", addr);
		hlen = (size_t)(port - addr);
		port++;
	}
	if (hlen == 0 || hlen >= sizeof(host) || !*port)
		return cd_err_set(err, -CD_EINVAL, 0, "%s: expected HOST:PORT or unix:PATH", addr);
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = socktype;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0)
		return cd_err_set(err, -CD_EINVAL, 0, "%s: %s (a numeric address is expected)", addr,
				  gai_strerror(rc));
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = cd_err_set(err, -CD_EIO, errno, "%s: socket: %s", addr, strerror(errno));
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || (socktype == SOCK_STREAM && listen(fd, 128) < 0)) {
		int e = errno;
		close(fd);
		rc = cd_err_set(err, -CD_EIO, e, "%s: %s", addr, strerror(e));
		goto out;
	}
	rc = fd;
out:
	freeaddrinfo(ai);
	return rc;
}

uint16_t cd_net_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

int cd_net_is_loopback(const char *addr)
{
	return strncmp(addr, "unix:", 5) == 0 || strncmp(addr, "127.", 4) == 0 ||
	       strncmp(addr, "[::1]:", 6) == 0 || strncmp(addr, "localhost:", 10) == 0;
}

void cd_net_sockfile_note(struct cd_net_sockfile *f, const char *addr)
{
	struct stat sb;

	f->dev = f->ino = 0;
	if (strncmp(addr, "unix:", 5) == 0 && stat(addr + 5, &sb) == 0) {
		f->dev = (uint64_t)sb.st_dev;
		f->ino = (uint64_t)sb.st_ino;
	}
}

void cd_net_sockfile_remove(const struct cd_net_sockfile *f, const char *addr)
{
	struct stat sb;

	if (f->ino && stat(addr + 5, &sb) == 0 && (uint64_t)sb.st_dev == f->dev &&
	    (uint64_t)sb.st_ino == f->ino)
		unlink(addr + 5);
}

uint32_t cd_net_rxq_ovfl(const struct cmsghdr *cm, uint32_t *seen)
{
	uint32_t v, d;

	if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SO_RXQ_OVFL)
		return 0;
	memcpy(&v, CMSG_DATA(cm), sizeof(v));
	/* cumulative when this datagram was queued: what is new, mod 2^32 (an older value is ignored) */
	d = v - *seen;
	if (d == 0 || d >= 0x80000000u)
		return 0;
	*seen = v;
	return d;
}
