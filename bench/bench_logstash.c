/*
 * bench_logstash.c - clewd -i stdin -o logstash+tcp:// into a local
 * json_lines sink: records/s, MB/s, clewd's CPU seconds and peak RSS
 * (issue 5: >= 500k records/s, RSS <= 50 MB).
 *
 * DESIGN: the corpus (corpus.c, deterministic) is written to a temp file
 * first, so generating it is not timed. The sink is a child process that
 * accepts on 127.0.0.1 and counts the bytes and newlines it reads; it
 * reports them through a pipe when told to stop, so the count checks
 * that every record arrived. The time is clewd's wall time from exec to
 * exit (it exits once everything is acknowledged); CPU and peak RSS come
 * from wait4()'s rusage of clewd alone.
 *
 * usage: bench_logstash [--records N] [--format pipe|json|mixed] [--clewd PATH]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "corpus.h"

#ifndef BENCH_CLEWD
#define BENCH_CLEWD "clewd"
#endif

static volatile sig_atomic_t sink_stop;

static void on_term(int sig)
{
	(void)sig;
	sink_stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The sink: accept, read, count; on SIGTERM write "bytes lines" to @out and exit. */
static void sink_main(int lfd, int out)
{
	static char buf[1 << 20];
	unsigned long long bytes = 0, lines = 0;
	int cfd = -1;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	/* told to stop after clewd exited: read what is still buffered, up to clewd's EOF */
	while (!sink_stop || cfd >= 0) {
		struct pollfd p = {.fd = cfd >= 0 ? cfd : lfd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		if (cfd < 0) {
			cfd = accept(lfd, NULL, NULL);
			continue;
		}
		n = read(cfd, buf, sizeof(buf));
		if (n <= 0) {
			close(cfd);
			cfd = -1;
			continue;
		}
		bytes += (unsigned long long)n;
		for (char *q = buf; (q = memchr(q, '\n', (size_t)(buf + n - q))); q++)
			lines++;
	}
	dprintf(out, "%llu %llu\n", bytes, lines);
	_exit(0);
}

int main(int argc, char **argv)
{
	unsigned long long records = 1000000;
	enum corpus_format format = CORPUS_PIPE;
	const char *clewd = getenv("CLEWD_BIN") ? getenv("CLEWD_BIN") : BENCH_CLEWD;
	const char *fmt_name = "pipe";
	char path[] = "/tmp/bench_logstash_XXXXXX", uri[64], res[128];
	struct corpus_gen *g = malloc(sizeof(*g));
	struct corpus_buf b = {0};
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	struct rusage ru;
	unsigned long long in_bytes = 0, out_bytes = 0, out_lines = 0;
	int fd, lfd, rp[2], st;
	pid_t sink, d;
	double t0, t1, cpu;
	ssize_t rn;

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--records") == 0 && v) {
			records = strtoull(v, NULL, 10);
			i++;
		} else if (strcmp(argv[i], "--format") == 0 && v &&
			   corpus_format_from_name(v, &format) == 0) {
			fmt_name = v;
			i++;
		} else if (strcmp(argv[i], "--clewd") == 0 && v) {
			clewd = v;
			i++;
		} else {
			fprintf(stderr,
				"usage: bench_logstash [--records N] [--format pipe|json|mixed] [--clewd PATH]\n");
			return 2;
		}
	}
	if (!g || records == 0)
		return 2;

	/* the corpus, untimed */
	fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	corpus_gen_init(g, format, 1);
	for (unsigned long long n = 0; n < records; n++) {
		if (corpus_gen_record(g, &b) < 0)
			return 1;
		if (b.len >= (1u << 20) || n + 1 == records) {
			if (write(fd, b.data, b.len) != (ssize_t)b.len) {
				perror("write");
				return 1;
			}
			in_bytes += b.len;
			b.len = 0;
		}
	}
	corpus_buf_free(&b);
	free(g);
	lseek(fd, 0, SEEK_SET);

	/* the sink */
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 4) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) < 0 || pipe(rp) < 0) {
		perror("sink");
		return 1;
	}
	sink = fork();
	if (sink == 0) {
		close(rp[0]);
		sink_main(lfd, rp[1]);
	}
	close(rp[1]);
	close(lfd);
	snprintf(uri, sizeof(uri), "logstash+tcp://127.0.0.1:%u", ntohs(a.sin_port));

	/* clewd, timed */
	t0 = now_s();
	d = fork();
	if (d == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(fd, 0);
		dup2(devnull, 1);
		execl(clewd, clewd, "-i", "stdin", "-o", uri, "--log-level", "warn", (char *)NULL);
		perror(clewd);
		_exit(127);
	}
	if (wait4(d, &st, 0, &ru) != d) {
		perror("wait4");
		return 1;
	}
	t1 = now_s();
	close(fd);
	unlink(path);
	kill(sink, SIGTERM);
	rn = read(rp[0], res, sizeof(res) - 1);
	waitpid(sink, NULL, 0);
	if (rn > 0) {
		res[rn] = '\0';
		sscanf(res, "%llu %llu", &out_bytes, &out_lines);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "bench_logstash: clewd failed (status %d)\n", st);
		return 1;
	}
	cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	      (double)ru.ru_stime.tv_usec / 1e6;
	printf("bench_logstash: clewd -i stdin -o logstash+tcp, %llu %s records (%.1f MB in, %.1f MB of events out)\n",
	       records, fmt_name, (double)in_bytes / 1e6, (double)out_bytes / 1e6);
	printf("  wall %.2f s   %.0f records/s   %.1f MB/s in   %.1f MB/s out\n", t1 - t0,
	       (double)records / (t1 - t0), (double)in_bytes / 1e6 / (t1 - t0),
	       (double)out_bytes / 1e6 / (t1 - t0));
	printf("  clewd CPU %.2f s (%.0f records per CPU second)   peak RSS %.1f MB\n", cpu,
	       (double)records / cpu, (double)ru.ru_maxrss / 1024.0);
	printf("  events received %llu of %llu%s\n", out_lines, records,
	       out_lines == records ? "" : "   <-- MISMATCH");
	return out_lines == records ? 0 : 1;
}
