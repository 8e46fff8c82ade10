/*
 * http_load.c - a load generator for clewd's http input: CONNS keep-alive
 * connections (one thread each) POST bodies of LINES lines taken in turn
 * from a corpus file, each waiting for its answer before the next request
 * (as a client that wants its acknowledgement does). A 503 is retried.
 *
 * usage: http_load PORT PATH CORPUS CONNS LINES REQUESTS
 * prints: "requests N records N seconds S retried N"
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

static int port;
static const char *path;
static const char **line_at; /* start of each corpus line */
static size_t nlines, lines_per_req;
static long total_reqs;
static atomic_long next_req, retried;

static int dial(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("connect");
		exit(1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w <= 0) {
			perror("write");
			exit(1);
		}
		p += w;
		n -= (size_t)w;
	}
}

/* Read one response (headers; a Content-Length body if any). Return: its status. */
static int read_response(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	char *end;
	long clen = 0;
	int status;

	for (;;) {
		ssize_t r = read(fd, buf + got, cap - 1 - got);
		if (r <= 0) {
			fprintf(stderr, "connection closed by clewd\n");
			exit(1);
		}
		got += (size_t)r;
		buf[got] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")))
			break;
	}
	status = atoi(buf + 9);
	{
		const char *cl = strcasestr(buf, "content-length:");
		if (cl && cl < end)
			clen = atol(cl + 15);
	}
	while ((long)(got - (size_t)(end + 4 - buf)) < clen) {
		ssize_t r = read(fd, buf + got, cap - 1 - got);
		if (r <= 0)
			exit(1);
		got += (size_t)r;
	}
	return status;
}

static void *conn_main(void *arg)
{
	size_t cap = 1 << 22;
	char *req = malloc(cap), resp[8192];
	int fd = dial();

	(void)arg;
	for (;;) {
		long k = atomic_fetch_add(&next_req, 1);
		size_t blen = 0, hlen;
		char head[256];
		if (k >= total_reqs)
			break;
		for (size_t i = 0; i < lines_per_req; i++) {
			size_t li = ((size_t)k * lines_per_req + i) % nlines;
			size_t n = (size_t)(line_at[li + 1] - line_at[li]);
			memcpy(req + 256 + blen, line_at[li], n);
			blen += n;
		}
		hlen = (size_t)snprintf(
			head, sizeof(head),
			"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-ndjson\r\n"
			"Content-Length: %zu\r\n\r\n",
			path, blen);
		memcpy(req + 256 - hlen, head, hlen);
		for (;;) {
			int st;
			send_all(fd, req + 256 - hlen, hlen + blen);
			st = read_response(fd, resp, sizeof(resp));
			if (st == 204 || st == 200)
				break;
			if (st != 503) {
				fprintf(stderr, "status %d: %.200s\n", st, resp);
				exit(1);
			}
			atomic_fetch_add(&retried, 1);
			/* a 503 may come before the body was read: clewd then closes; so does a client */
			close(fd);
			fd = dial();
			usleep(10000);
		}
	}
	close(fd);
	free(req);
	return NULL;
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	pthread_t th[256];
	struct stat st;
	const char *p;
	int conns, fd;

	if (argc != 7) {
		fprintf(stderr, "usage: http_load PORT PATH CORPUS CONNS LINES REQUESTS\n");
		return 2;
	}
	port = atoi(argv[1]);
	path = argv[2];
	conns = atoi(argv[4]);
	lines_per_req = (size_t)atol(argv[5]);
	total_reqs = atol(argv[6]);
	if (conns < 1 || conns > 256 || lines_per_req < 1 || lines_per_req > 10000) {
		fprintf(stderr, "http_load: CONNS 1..256, LINES 1..10000\n");
		return 2;
	}
	fd = open(argv[3], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0) {
		perror(argv[3]);
		return 2;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	/* line starts, and one past the end; at most 1 M lines are used */
	line_at = malloc(((size_t)1 << 20) * sizeof(*line_at) + sizeof(*line_at));
	line_at[0] = p;
	for (const char *q = p; q < p + st.st_size && nlines < ((size_t)1 << 20); q++)
		if (*q == '\n')
			line_at[++nlines] = q + 1;
	if (nlines == 0) {
		fprintf(stderr, "http_load: no complete line in %s\n", argv[3]);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < conns; i++)
		pthread_create(&th[i], NULL, conn_main, NULL);
	for (int i = 0; i < conns; i++)
		pthread_join(th[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("requests %ld records %ld seconds %.4f retried %ld\n", total_reqs,
	       total_reqs * (long)lines_per_req,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, (long)retried);
	return 0;
}
