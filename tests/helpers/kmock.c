/*
 * kmock.c - driving the kafka_mock helper process (see kmock.h).
 *
 * The helper's stdin and stdout are pipes held here: closing stdin (or
 * this process dying) ends the cluster, so no broker outlives its test.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kmock.h"

/* A line from @m's stdout within @ms milliseconds (per wait); Return: 0 or -1. */
static int read_line(struct kmock *m, char *buf, size_t cap, int ms)
{
	struct pollfd p = {.fd = m->out, .events = POLLIN};

	for (;;) {
		char *nl = memchr(m->rbuf, '\n', m->rlen);
		ssize_t r;

		if (nl) {
			size_t n = (size_t)(nl - m->rbuf);
			size_t c = n < cap - 1 ? n : cap - 1;

			memcpy(buf, m->rbuf, c);
			buf[c] = '\0';
			m->rlen -= n + 1;
			memmove(m->rbuf, nl + 1, m->rlen);
			return 0;
		}
		if (m->rlen == sizeof(m->rbuf) || poll(&p, 1, ms) <= 0)
			return -1;
		r = read(m->out, m->rbuf + m->rlen, sizeof(m->rbuf) - m->rlen);
		if (r <= 0)
			return -1;
		m->rlen += (size_t)r;
	}
}

int kmock_start(struct kmock *m, const char *bin, int brokers, const char *const *topics)
{
	int to[2], from[2];
	const char *argv[64];
	char nb[16];
	size_t n = 0;

	memset(m, 0, sizeof(*m));
	m->in = m->out = -1;
	if (pipe2(to, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(from, O_CLOEXEC) < 0) {
		close(to[0]);
		close(to[1]);
		return -1;
	}
	snprintf(nb, sizeof(nb), "%d", brokers);
	argv[n++] = bin;
	argv[n++] = "-b";
	argv[n++] = nb;
	while (topics && *topics && n < 62)
		argv[n++] = *topics++;
	argv[n] = NULL;
	m->pid = fork();
	if (m->pid < 0)
		return -1;
	if (m->pid == 0) {
		dup2(to[0], 0);
		dup2(from[1], 1);
		execv(bin, (char *const *)(void *)argv);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	m->in = to[1];
	m->out = from[0];
	/* a minute: the mock starts a thread per broker on a machine that may be busy */
	if (read_line(m, m->bootstrap, sizeof(m->bootstrap), 60000) < 0 || !m->bootstrap[0]) {
		fprintf(stderr, "kmock: %s did not print its bootstrap list\n", bin);
		kmock_stop(m);
		return -1;
	}
	return 0;
}

int kmock_cmd(struct kmock *m, const char *cmd)
{
	char line[256];
	size_t n = strlen(cmd);

	if (write(m->in, cmd, n) != (ssize_t)n || write(m->in, "\n", 1) != 1)
		return -1;
	if (read_line(m, line, sizeof(line), 30000) < 0)
		return -1;
	if (strcmp(line, "ok") != 0) {
		fprintf(stderr, "kmock: %s: %s\n", cmd, line);
		return -1;
	}
	return 0;
}

int kmock_stop(struct kmock *m)
{
	int st = 0;

	if (m->in >= 0) {
		(void)!write(m->in, "quit\n", 5);
		close(m->in);
		m->in = -1;
	}
	if (m->pid > 0) {
		struct timespec ts = {0, 50 * 1000 * 1000};
		pid_t r = 0;

		for (int i = 0; i < 600 && (r = waitpid(m->pid, &st, WNOHANG)) == 0; i++)
			nanosleep(&ts, NULL);
		if (r == 0) {
			kill(m->pid, SIGKILL);
			waitpid(m->pid, &st, 0);
		}
		m->pid = 0;
	}
	if (m->out >= 0) {
		close(m->out);
		m->out = -1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
