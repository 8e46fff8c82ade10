/*
 * bench_kafka.c - clewd's throughput into a Kafka (mock) cluster.
 *
 * usage: bench_kafka CLEWD KAFKA_MOCK [RECORDS] [FORMAT]
 *
 * Generates RECORDS (default 500000) JSON log lines with the benchmark
 * corpus generator (bench/corpus.c, seed 1) into a temporary file
 * (BENCH_KAFKA_CORPUS=pipe: pipe lines; BENCH_KAFKA_FILE=PATH: the lines
 * of PATH instead, e.g. bench/gen_rare.py's shape, RECORDS ignored), starts
 * tests/helpers/kafka_mock (3 brokers on 127.0.0.1, topic "bench" with 6
 * partitions) and runs `clewd -i stdin -o kafka://BROKERS/bench?format=
 * FORMAT` (default json: the Logstash event, zstd level 1) on the file; the
 * environment variable BENCH_KAFKA_QUERY adds options to the URI
 * ("&max_inflight=16M&properties.linger.ms=20"). clewd
 * exits once every record is acknowledged by the brokers, so the wall
 * time from its start to its exit covers delivery, not just reading.
 * The topic's high watermarks are then summed: every record must have
 * been appended. Printed: records/s, MB/s of input, clewd's CPU seconds (user +
 * system) and peak RSS (from wait4()), and the mock cluster's CPU, next to
 * Fluent Bit's figure into the same mock cluster from issue 5.
 *
 * The mock cluster runs on the same machine and takes CPU of its own:
 * the figure is a floor for a real cluster on other hosts, and varies
 * with what else the machine does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "corpus.h"
#include "kmock.h"

/* Issue 5: Fluent Bit 2.x, out_kafka, into librdkafka's mock cluster on the same kind of machine. */
#define FLUENT_BIT_RECORDS_PER_S 133000.0

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_kafka: %s\n", what);
	exit(2);
}

/*
 * The sum of the high watermarks of @topic's partitions: messages ever
 * appended (offsets start at 0). Not hi - lo: the mock cluster keeps at
 * most 5 MiB of batches per partition and drops older ones, as retention.
 */
static long long topic_messages(const char *bootstrap, const char *topic, int nparts)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[256];
	rd_kafka_t *rk;
	long long total = 0;

	if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr)) !=
	    RD_KAFKA_CONF_OK)
		die(errstr);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (!rk)
		die(errstr);
	for (int p = 0; p < nparts; p++) {
		int64_t lo, hi;

		if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 30000))
			die("cannot read the watermarks");
		total += hi;
	}
	rd_kafka_destroy(rk);
	return total;
}

/* The lines of @path into @b, *@records their count. Return: 0 or -1. */
static int read_file(const char *path, struct corpus_buf *b, long *records)
{
	FILE *f = fopen(path, "rb");
	char buf[1 << 16];
	size_t n;

	if (!f)
		return -1;
	*records = 0;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (b->len + n > b->cap) {
			size_t cap = b->cap ? b->cap * 2 : sizeof(buf);
			char *d = realloc(b->data, cap);

			if (!d) {
				fclose(f);
				return -1;
			}
			b->data = d;
			b->cap = cap;
		}
		memcpy(b->data + b->len, buf, n);
		b->len += n;
		for (size_t i = 0; i < n; i++)
			*records += buf[i] == '\n';
	}
	fclose(f);
	return *records > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const char *const topics[] = {"bench:6", NULL};
	long records = argc > 3 ? strtol(argv[3], NULL, 10) : 500000;
	const char *format = argc > 4 ? argv[4] : "json", *extra = getenv("BENCH_KAFKA_QUERY");
	const char *shape = getenv("BENCH_KAFKA_CORPUS"), *file = getenv("BENCH_KAFKA_FILE");
	const char *parser = shape && strcmp(shape, "pipe") == 0 ? "pipe" : "json";
	char path[] = "/tmp/bench-kafka-XXXXXX", uri[1024];
	struct corpus_buf b = {0};
	struct corpus_gen g;
	struct rusage ru, mru;
	struct kmock km;
	double t0, wall, cpu, mcpu;
	long long got;
	size_t len;
	int fd, st = 0;
	pid_t pid;

	if (argc < 3 || records < 1) {
		fprintf(stderr, "usage: bench_kafka CLEWD KAFKA_MOCK [RECORDS] [json|msgpack|raw]\n");
		return 2;
	}
	if (file) {
		if (read_file(file, &b, &records) < 0)
			die("cannot read BENCH_KAFKA_FILE");
		parser = "auto";
	} else {
		corpus_gen_init(&g, strcmp(parser, "pipe") == 0 ? CORPUS_PIPE : CORPUS_JSON, 1);
		for (long i = 0; i < records; i++)
			if (corpus_gen_record(&g, &b) < 0)
				die("out of memory");
	}
	fd = mkstemp(path);
	if (fd < 0 || write(fd, b.data, b.len) != (ssize_t)b.len || lseek(fd, 0, SEEK_SET) != 0)
		die("cannot write the corpus");
	unlink(path);
	/* before any fork: a child's peak RSS counts the parent's pages it starts with */
	len = b.len;
	corpus_buf_free(&b);
	if (kmock_start(&km, argv[2], 3, topics) < 0)
		die("cannot start the mock cluster");
	snprintf(uri, sizeof(uri), "kafka://%s/bench?format=%s%s", km.bootstrap, format, extra ? extra : "");
	t0 = now_s();
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(fd, 0);
		dup2(null, 1);
		dup2(null, 2);
		setenv("CLEWD_DRAIN_TIMEOUT", "10m", 1);
		execl(argv[1], argv[1], "-i", "stdin", "-p", parser, "-o", uri, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &st, 0, &ru) != pid)
		die("cannot run clewd");
	wall = now_s() - t0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("clewd failed");
	got = topic_messages(km.bootstrap, "bench", 6);
	if (kill(km.pid, 0) == 0) {
		/* the mock's CPU: stop it and take its rusage */
		(void)!write(km.in, "quit\n", 5);
		close(km.in);
		km.in = -1;
		if (wait4(km.pid, &st, 0, &mru) != km.pid)
			memset(&mru, 0, sizeof(mru));
		km.pid = 0;
	}
	kmock_stop(&km);
	cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	      (double)ru.ru_stime.tv_usec / 1e6;
	mcpu = (double)mru.ru_utime.tv_sec + (double)mru.ru_utime.tv_usec / 1e6 +
	       (double)mru.ru_stime.tv_sec + (double)mru.ru_stime.tv_usec / 1e6;
	printf("clewd -> Kafka (librdkafka mock cluster, 3 brokers, 6 partitions), payload %s, options '%s'\n",
	       format, extra ? extra : "");
	printf("records          %ld (%.1f MB of %s lines%s%s), %lld appended to the topic\n", records,
	       (double)len / 1e6, parser, file ? " from " : "", file ? file : "", got);
	printf("wall             %.2f s (start to exit: every record acknowledged)\n", wall);
	printf("throughput       %.0f records/s, %.1f MB/s\n", (double)records / wall,
	       (double)len / 1e6 / wall);
	printf("clewd CPU        %.2f s (%.0f records per CPU second)\n", cpu, (double)records / cpu);
	printf("clewd peak RSS   %.1f MB\n", (double)ru.ru_maxrss / 1024.0);
	printf("mock cluster CPU %.2f s (same machine)\n", mcpu);
	printf("Fluent Bit       ~%.0f records/s into the same mock cluster (issue 5's reference)\n",
	       FLUENT_BIT_RECORDS_PER_S);
	close(fd);
	if (got < records) {
		fprintf(stderr, "bench_kafka: %lld of %ld records appended to the topic\n", got, records);
		return 1;
	}
	return 0;
}
