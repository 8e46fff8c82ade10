/*
 * kmock.h - start and drive tests/helpers/kafka_mock (a mock Kafka
 * cluster in a process of its own) from a test or a benchmark.
 */
#ifndef TEST_KMOCK_H
#define TEST_KMOCK_H

#include <sys/types.h>

struct kmock {
	pid_t pid;	     /* the kafka_mock process */
	int in;		     /* its stdin: commands */
	int out;	     /* its stdout: the bootstrap line, then answers */
	char rbuf[1024];     /* bytes read from out, not yet returned as lines */
	size_t rlen;	     /* bytes in rbuf */
	char bootstrap[512]; /* "127.0.0.1:P1,127.0.0.1:P2,..." */
};

/*
 * kmock_start() - run @bin with @brokers brokers and the topics
 * "NAME:PARTITIONS" of @topics (NULL-terminated), and wait (up to a
 * minute: a loaded machine) for its bootstrap line.
 * Return: 0, or -1 with a message on stderr (nothing left running).
 */
int kmock_start(struct kmock *m, const char *bin, int brokers, const char *const *topics);

/* kmock_cmd() - send "down 2", "up 2", ...; Return: 0 when it answered ok, else -1. */
int kmock_cmd(struct kmock *m, const char *cmd);

/* kmock_stop() - "quit", then wait for it (SIGKILL after 30 s); Return: its exit status (128+sig). */
int kmock_stop(struct kmock *m);

#endif
