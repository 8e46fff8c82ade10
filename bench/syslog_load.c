/*
 * syslog_load.c - the syslog benchmark's load generator: N syslog
 * messages built in memory, then written as fast as the socket takes them
 * to one TCP connection, octet-counted (RFC 6587) or one per line; or only
 * their bodies, one per line (the floor: clewd's plain tcp input on the
 * same text). Deterministic: the same arguments send the same bytes.
 *
 * usage: syslog_load --port P [--records N] [--shape 5424|3164json]
 *                    [--framing octet|line|body] [--conns C]
 * Prints "records bytes" it sent on stdout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* One message's body (@json: a JSON line with a trace, else plain text) into out; its length. */
static int body(char *out, size_t cap, unsigned long i, int json)
{
	static const char *const words[] = {"order", "cart", "payment", "user", "session", "invoice"};
	const char *w = words[i % 6];

	if (json)
		return snprintf(
			out, cap,
			"{\"ts\":\"2026-12-06T04:30:%02lu.%06luZ\",\"level\":\"%s\",\"msg\":\"%s %lu "
			"processed\",\"trace_id\":\"%016lx%016lx\",\"span_id\":\"%016lx\",\"status\":%d,"
			"\"dur_us\":%lu}",
			i % 60, i % 1000000, i % 10 ? "info" : "warn", w, i, i * 2654435761ul,
			i ^ 0x5bd1e995ul, i * 40503ul, i % 17 ? 200 : 503, 100 + i % 9000);
	return snprintf(out, cap, "%s %lu processed for customer c%lu in %lu us, status %d", w, i, i % 977,
			100 + i % 9000, i % 17 ? 200 : 503);
}

/* The whole message i (header + body) into out; its length. */
static int message(char *out, size_t cap, unsigned long i, int rfc3164)
{
	char b[512];

	body(b, sizeof(b), i, rfc3164);
	if (rfc3164)
		return snprintf(out, cap, "<%lu>Dec %2lu 04:%02lu:%02lu web-%lu app-%lu[%lu]: %s",
				8 + i % 160, 1 + i % 28, i / 60 % 60, i % 60, i % 8, i % 5, 1000 + i % 30000,
				b);
	return snprintf(out, cap,
			"<%lu>1 2026-12-06T04:%02lu:%02lu.%06luZ web-%lu.example.com app-%lu %lu ID%lu "
			"[ex@32473 iut=\"%lu\" eventSource=\"Application\"] %s",
			8 + i % 160, i / 60 % 60, i % 60, i % 1000000, i % 8, i % 5, 1000 + i % 30000, i % 50,
			i % 9, b);
}

int main(int argc, char **argv)
{
	unsigned long records = 1000000, conns = 1, port = 0;
	int rfc3164 = 0, framing = 0; /* 0 octet, 1 line, 2 body */
	size_t cap, used = 0;
	char *buf, m[1024];

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--port"))
			port = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--records"))
			records = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--conns"))
			conns = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--shape"))
			rfc3164 = !strcmp(argv[i + 1], "3164json");
		else if (!strcmp(argv[i], "--framing"))
			framing = !strcmp(argv[i + 1], "line") ? 1 : !strcmp(argv[i + 1], "body") ? 2 : 0;
	}
	if (!port || !records || !conns) {
		fprintf(stderr, "usage: syslog_load --port P [--records N] [--shape 5424|3164json] "
				"[--framing octet|line|body] [--conns C]\n");
		return 2;
	}
	cap = records * 400 + 1024;
	if (!(buf = malloc(cap)))
		return 1;
	for (unsigned long i = 0; i < records; i++) {
		int n = framing == 2 ? body(m, sizeof(m), i, rfc3164) : message(m, sizeof(m), i, rfc3164);
		if (framing == 0)
			used += (size_t)snprintf(buf + used, cap - used, "%d %s", n, m);
		else
			used += (size_t)snprintf(buf + used, cap - used, "%s\n", m);
	}
	/* each connection sends an equal share, cut at a frame boundary */
	for (unsigned long c = 0, at = 0; c < conns; c++) {
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		size_t end = c + 1 == conns ? used : used / conns * (c + 1), off = at;
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (c + 1 < conns) {
			/* the share ends after a whole frame: find the next frame start after @end */
			size_t p = at;
			while (p < end) {
				if (framing == 0)
					p += (size_t)(strchr(buf + p, ' ') - (buf + p)) + 1 +
					     strtoul(buf + p, NULL, 10);
				else
					p = (size_t)(strchr(buf + p, '\n') - buf) + 1;
			}
			end = p;
		}
		inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			perror("connect");
			return 1;
		}
		while (off < end) {
			ssize_t n = write(fd, buf + off, end - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				perror("write");
				return 1;
			}
			off += (size_t)n;
		}
		close(fd);
		at = end;
	}
	printf("%lu %zu\n", records, used);
	free(buf);
	return 0;
}
