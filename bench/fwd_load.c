/*
 * fwd_load.c - a Fluentd forward load generator for bench_forward.sh:
 * CONNS connections, each sending PackedForward messages of BATCH events
 * with a `chunk` option and waiting for the server's {"ack": chunk}
 * before the next (as Fluent Bit's and Fluentd's forward outputs do with
 * require_ack_response), until RECORDS events were acknowledged in all.
 *
 * Two corpus shapes: `small` (a pyms-like record, ~170 bytes of msgpack:
 * time, level, service, trace/span IDs, message) and `docker` (Docker's
 * fluentd log driver: container_id, container_name, source, and a `log`
 * line of JSON of ~400 bytes). Every event has its own trace ID. The
 * messages are built before the clock starts; the figure is the wall time
 * from the first send to the last ack.
 *
 * usage: fwd_load HOST PORT RECORDS CONNS BATCH small|docker
 * prints: "RECORDS WALL_SECONDS BYTES"
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static void put(struct buf *b, const void *s, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

static void put_be(struct buf *b, uint64_t v, int n)
{
	uint8_t x[8];

	for (int i = 0; i < n; i++)
		x[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	put(b, x, (size_t)n);
}

static void put_str(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	uint8_t h = (uint8_t)(0xa0 | n);

	if (n < 32) {
		put(b, &h, 1);
	} else if (n < 256) {
		put(b, "\xd9", 1);
		put_be(b, n, 1);
	} else {
		put(b, "\xda", 1);
		put_be(b, n, 2);
	}
	put(b, s, n);
}

static const char *host;
static int port;
static long per_conn, batch;
static int docker;

/* One event [EventTime, record] number @i onto @b. */
static void event(struct buf *b, long i)
{
	char trace[40], span[24], line[512];
	uint8_t m;

	put(b, "\x92\xd7\x00", 3);
	put_be(b, 1700000000u + (uint64_t)(i % 86400), 4);
	put_be(b, (uint64_t)(i % 1000000000), 4);
	snprintf(trace, sizeof(trace), "%032lx", (unsigned long)i * 2654435761u);
	snprintf(span, sizeof(span), "%016lx", (unsigned long)i);
	if (!docker) {
		m = 0x86;
		put(b, &m, 1);
		put_str(b, "severity");
		put_str(b, i % 10 ? "INFO" : "ERROR");
		put_str(b, "service");
		put_str(b, "orders");
		put_str(b, "trace");
		put_str(b, trace);
		put_str(b, "span");
		put_str(b, span);
		put_str(b, "message");
		put_str(b, "order fetched from the database in 3 ms");
		put_str(b, "status");
		put(b, "\xcd\x00\xc8", 3);
		return;
	}
	m = 0x84;
	put(b, &m, 1);
	put_str(b, "container_id");
	put_str(b, "4f1c2d3e4b5a69788796a5b4c3d2e1f0aa11bb22cc33dd44ee55ff6677889900");
	put_str(b, "container_name");
	put_str(b, "/orders-7d9f8b6c5d-x2x7q");
	put_str(b, "source");
	put_str(b, "stdout");
	snprintf(
		line, sizeof(line),
		"{\"timestamp\":\"2026-11-23T07:09:24.123456Z\",\"severity\":\"INFO\",\"service\":\"orders\","
		"\"trace\":\"%s\",\"span\":\"%s\",\"method\":\"GET\",\"path\":\"/api/v1/orders/42\","
		"\"message\":\"order fetched\",\"status\":200,\"user\":\"u-%ld\",\"region\":\"eu-west-1\","
		"\"duration_ms\":3.25,\"cache\":\"miss\",\"db_rows\":12}",
		trace, span, i);
	put_str(b, "log");
	put_str(b, line);
}

struct conn_res {
	long records;
	uint64_t bytes;
};

static void *run_conn(void *arg)
{
	struct conn_res *res = arg;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
	long base = res->records; /* the first event number of this connection */
	struct buf msg = {0}, ent = {0};

	inet_pton(AF_INET, host, &a.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("connect");
		exit(1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	res->records = 0;
	for (long sent = 0; sent < per_conn; sent += batch) {
		char chunk[32], want[64];
		size_t wn, got = 0;
		long k = per_conn - sent < batch ? per_conn - sent : batch;

		ent.n = msg.n = 0;
		for (long j = 0; j < k; j++)
			event(&ent, base + sent + j);
		snprintf(chunk, sizeof(chunk), "c%08lx%08lx", (unsigned long)base, (unsigned long)sent);
		put(&msg, "\x93", 1);
		put_str(&msg, "bench.fwd");
		put(&msg, "\xc6", 1);
		put_be(&msg, ent.n, 4);
		put(&msg, ent.p, ent.n);
		put(&msg, "\x82", 1);
		put_str(&msg, "chunk");
		put_str(&msg, chunk);
		put_str(&msg, "size");
		put(&msg, "\xce", 1);
		put_be(&msg, (uint64_t)k, 4);
		for (size_t off = 0; off < msg.n;) {
			ssize_t n = send(fd, msg.p + off, msg.n - off, MSG_NOSIGNAL);
			if (n <= 0) {
				perror("send");
				exit(1);
			}
			off += (size_t)n;
		}
		res->bytes += msg.n;
		/* {"ack": chunk}: a fixmap, "ack", the chunk as a fixstr */
		wn = (size_t)snprintf(want, sizeof(want),
				      "\x81\xa3"
				      "ack%c%s",
				      (char)(0xa0 | strlen(chunk)), chunk);
		while (got < wn) {
			char in[64];
			ssize_t n = recv(fd, in, wn - got, 0);
			if (n <= 0) {
				fprintf(stderr, "no ack: the server closed the connection\n");
				exit(1);
			}
			if (memcmp(in, want + got, (size_t)n) != 0) {
				fprintf(stderr, "unexpected answer\n");
				exit(1);
			}
			got += (size_t)n;
		}
		res->records += k;
	}
	close(fd);
	free(msg.p);
	free(ent.p);
	return NULL;
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	long records, conns, total = 0;
	uint64_t bytes = 0;
	struct conn_res *res;
	pthread_t *th;

	if (argc != 7) {
		fprintf(stderr, "usage: fwd_load HOST PORT RECORDS CONNS BATCH small|docker\n");
		return 2;
	}
	host = argv[1];
	port = atoi(argv[2]);
	records = atol(argv[3]);
	conns = atol(argv[4]);
	batch = atol(argv[5]);
	docker = strcmp(argv[6], "docker") == 0;
	if (conns < 1 || batch < 1 || records < conns)
		return 2;
	per_conn = records / conns;
	res = calloc((size_t)conns, sizeof(*res));
	th = calloc((size_t)conns, sizeof(*th));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long c = 0; c < conns; c++) {
		res[c].records = c * per_conn;
		pthread_create(&th[c], NULL, run_conn, &res[c]);
	}
	for (long c = 0; c < conns; c++) {
		pthread_join(th[c], NULL);
		total += res[c].records;
		bytes += res[c].bytes;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%ld %.4f %llu\n", total, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	       (unsigned long long)bytes);
	free(res);
	free(th);
	return 0;
}
