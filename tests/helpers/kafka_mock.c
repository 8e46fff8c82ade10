/*
 * kafka_mock.c - librdkafka's mock Kafka cluster as a process of its own,
 * for tests and benchmarks that need a real broker to talk to.
 *
 * usage: kafka_mock [-b BROKERS] [TOPIC[:PARTITIONS]]...
 *
 * Starts BROKERS (default 3) mock brokers listening on 127.0.0.1 (the mock
 * cluster only ever binds the loopback address), creates each TOPIC with
 * PARTITIONS partitions (default 4) and a replication factor of
 * min(3, BROKERS), then prints the bootstrap list ("127.0.0.1:P1,...") as
 * its first line on stdout. It then reads one command a line on stdin and
 * answers each with "ok" or "error: ...":
 *
 *   down ID    broker ID stops accepting connections (no leader change,
 *              as a Kafka broker that crashed and has not been replaced)
 *   up ID      broker ID accepts connections again
 *   reject ERR the next Produce request is answered with Kafka error code
 *              ERR (87: INVALID_RECORD): a broker refusing a record for good
 *   quit       exit (as does EOF on stdin: a test that dies takes its
 *              cluster with it)
 *
 * The mock keeps at most 5 MiB (and 100000 batches) per partition and
 * drops older batches, like retention: a test that reads everything back
 * stays below that; a benchmark counts high watermarks instead.
 *
 * A separate process, not a mock inside the test: the collector and
 * tracegrep under test connect to it over TCP as to a real cluster, and
 * its threads never share an address space with the test's forks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/* More brokers than any test needs; the mock spends a thread per broker. */
#define KM_BROKERS_MAX 16
/* Kafka's own cap on a topic's partition count is far higher; tests need few. */
#define KM_PARTITIONS_MAX 1024

static void usage(void)
{
	fputs("usage: kafka_mock [-b BROKERS] [TOPIC[:PARTITIONS]]...\n", stderr);
	exit(2);
}

static long number(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		usage();
	return v;
}

static int create_topic(rd_kafka_mock_cluster_t *mc, const char *spec, int brokers)
{
	char name[256];
	const char *colon = strrchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
	long parts = colon ? number(colon + 1, 1, KM_PARTITIONS_MAX) : 4;
	rd_kafka_resp_err_t e;

	if (n == 0 || n >= sizeof(name))
		usage();
	memcpy(name, spec, n);
	name[n] = '\0';
	e = rd_kafka_mock_topic_create(mc, name, (int)parts, brokers < 3 ? brokers : 3);
	if (e) {
		fprintf(stderr, "kafka_mock: topic %s: %s\n", name, rd_kafka_err2str(e));
		return -1;
	}
	return 0;
}

/* One command line; Return: 1 to go on, 0 to quit. */
static int command(rd_kafka_mock_cluster_t *mc, char *line, int brokers)
{
	char verb[16];
	long id = 0;
	rd_kafka_resp_err_t e;

	line[strcspn(line, "\r\n")] = '\0';
	if (sscanf(line, "%15s %ld", verb, &id) < 1) {
		puts("error: empty command");
		return 1;
	}
	if (strcmp(verb, "quit") == 0)
		return 0;
	if (strcmp(verb, "reject") == 0 && id > 0 && id < 1000) {
		/* API key 0 is Produce (rdkafka_mock.h takes the protocol's number) */
		rd_kafka_mock_push_request_errors(mc, 0, 1, (rd_kafka_resp_err_t)id);
		puts("ok");
		return 1;
	}
	if ((strcmp(verb, "down") != 0 && strcmp(verb, "up") != 0) || id < 1 || id > brokers) {
		printf("error: expected down ID, up ID, reject ERR or quit (ID 1..%d)\n", brokers);
		return 1;
	}
	e = strcmp(verb, "down") == 0 ? rd_kafka_mock_broker_set_down(mc, (int32_t)id)
				      : rd_kafka_mock_broker_set_up(mc, (int32_t)id);
	if (e)
		printf("error: %s\n", rd_kafka_err2str(e));
	else
		puts("ok");
	return 1;
}

int main(int argc, char **argv)
{
	char errstr[256], line[256];
	rd_kafka_mock_cluster_t *mc;
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	int brokers = 3, i = 1, rc = 0;

	if (argc > 2 && strcmp(argv[1], "-b") == 0) {
		brokers = (int)number(argv[2], 1, KM_BROKERS_MAX);
		i = 3;
	}
	/* The handle the mock cluster lives on: never connects to anything itself. */
	conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "kafka_mock: %s\n", errstr);
		return 2;
	}
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {
		/* rd_kafka_new() owns conf only on success */
		rd_kafka_conf_destroy(conf);
		fprintf(stderr, "kafka_mock: %s\n", errstr);
		return 2;
	}
	mc = rd_kafka_mock_cluster_new(rk, brokers);
	if (!mc) {
		fprintf(stderr, "kafka_mock: cannot start the mock cluster\n");
		rd_kafka_destroy(rk);
		return 2;
	}
	for (; i < argc; i++)
		if (create_topic(mc, argv[i], brokers) < 0) {
			rc = 2;
			goto out;
		}
	printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		if (!command(mc, line, brokers))
			break;
		fflush(stdout);
	}
out:
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return rc;
}
