/*
 * test_async.c - the output machinery (ring.c, worker.c, process.c):
 * the async ring under many threads (what is written plus what is
 * dropped is exactly what was logged, and nothing tears), fork with an
 * async client, the flush at exit, SIGHUP reopening (logrotate), and the
 * best-effort flush on a fatal signal. Every line is parsed back through
 * the formats library. No assertion depends on timing: the worker's pace
 * only moves records between "written" and "dropped".
 */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "th_file.h"

#include "clew/clew.h"
#include "clew/metrics.h"
#include "fmt/pipe.h"
#include "fmt/str.h"

#define THREADS 4
#define RECORDS 5000
#define WRITERS_MAX 16

static char path[64], rotated[80];
static clew_client *cl;
static unsigned char seen[WRITERS_MAX][RECORDS]; /* [writer][seq]: how often the line was read */
static long last_seq[WRITERS_MAX];		 /* the seq= of the writer's last line read, -1 if none */
static size_t nlines;
static long long last_dropped; /* value of the last clew.dropped record read, -1 if none */

static clew_client *client_with(uint32_t flags, uint32_t ring_bytes)
{
	struct clew_options o;
	char spec[80];
	clew_client *c;

	clew_options_default(&o);
	snprintf(spec, sizeof(spec), "file:%s", path);
	o.flags = flags;
	o.service = "gateway";
	o.output = spec;
	o.format = CLEW_FORMAT_PIPE;
	o.level = CLEW_LEVEL_INFO;
	o.metrics_interval_ms = CLEW_INTERVAL_NEVER;
	o.ring_bytes = ring_bytes;
	ck_assert_int_eq(clew_client_new(&c, &o), 0);
	return c;
}

static void setup(void)
{
	th_tmpfile(path, sizeof(path), "/tmp", "clew-async");
	snprintf(rotated, sizeof(rotated), "%s.1", path);
	memset(seen, 0, sizeof(seen));
	for (int w = 0; w < WRITERS_MAX; w++)
		last_seq[w] = -1;
	nlines = 0;
	last_dropped = -1;
	unsetenv("CLEW_ASYNC");
}

static void teardown(void)
{
	clew_client_free(cl);
	cl = NULL;
	unlink(path);
	unlink(rotated);
}

static long attr_long(const struct fmt_record *r, const char *key)
{
	const struct fmt_attr *a = fmt_record_attr(r, key);
	char buf[64];

	if (!a || a->val.len >= sizeof(buf))
		return -1;
	buf[fmt_str_decode(&a->val, buf)] = '\0';
	return strtol(buf, NULL, 10);
}

/*
 * Parse the NUL-terminated @buf: every line must parse; records with w=
 * and seq= are marked in seen[], clew.dropped records remembered.
 * Return: the lines read.
 */
static size_t parse_lines(char *buf)
{
	static struct fmt_record rec;
	char *line, *nl;
	size_t n = 0;

	for (line = buf; *line; line = nl + 1) {
		long w, seq;

		nl = strchr(line, '\n');
		ck_assert_msg(nl != NULL, "last line has no newline (torn?): %s", line);
		if (fmt_pipe_parse(line, (size_t)(nl - line), &rec, NULL) != 0)
			ck_abort_msg("line does not parse (torn?): %.*s", (int)(nl - line), line);
		n++;
		if (rec.event == FMT_EVENT_METRIC) {
			last_dropped = attr_long(&rec, "value");
			continue;
		}
		w = attr_long(&rec, "w");
		seq = attr_long(&rec, "seq");
		if (w < 0 || w >= WRITERS_MAX || seq < 0 || seq >= RECORDS)
			ck_abort_msg("unexpected line: %.*s", (int)(nl - line), line);
		seen[w][seq]++;
		/* One thread's records keep their order, whatever the other threads do. */
		ck_assert_msg(seq > last_seq[w], "writer %ld: seq %ld after %ld", w, seq, last_seq[w]);
		last_seq[w] = seq;
		nlines++;
	}
	return n;
}

/* parse_lines() over the contents of @file. */
static size_t read_file(const char *file)
{
	char *buf = th_slurp_must(file, NULL);
	size_t n = parse_lines(buf);
	free(buf);
	return n;
}

struct writer {
	int w;	       /* writer number: the w= of its lines */
	int n;	       /* records to log */
	long accepted; /* log calls that returned 0 */
	long refused;  /* ... that returned -CLEW_EAGAIN */
};

static void *writer(void *arg)
{
	struct writer *wr = arg;

	for (int i = 0; i < wr->n; i++) {
		int rc = clew_log(cl, CLEW_LEVEL_INFO, CLEW_KV(CLEW_INT("w", wr->w), CLEW_INT("seq", i)),
				  "record %d of writer %d, padded so that some lines take two slots of the "
				  "ring ..........................................................",
				  i, wr->w);

		if (rc == 0)
			wr->accepted++;
		else if (rc == -CLEW_EAGAIN)
			wr->refused++;
		else
			ck_abort_msg("clew_log: %s", clew_strerror(rc));
	}
	return NULL;
}

/* Run @nthreads writers numbered from @base; return the refused (dropped) calls. */
static long run_writers(int base, int nthreads, int n)
{
	pthread_t th[WRITERS_MAX];
	struct writer wr[WRITERS_MAX];
	long refused = 0;

	for (int t = 0; t < nthreads; t++) {
		wr[t] = (struct writer){.w = base + t, .n = n};
		ck_assert_int_eq(pthread_create(&th[t], NULL, writer, &wr[t]), 0);
	}
	for (int t = 0; t < nthreads; t++) {
		pthread_join(th[t], NULL);
		ck_assert_int_eq(wr[t].accepted + wr[t].refused, n);
		refused += wr[t].refused;
	}
	return refused;
}

/* Every line of writers [base, base + n) at most once; return how many are missing. */
static long missing(int base, int nthreads, int n)
{
	long miss = 0;

	for (int w = base; w < base + nthreads; w++)
		for (int i = 0; i < n; i++) {
			ck_assert_msg(seen[w][i] <= 1, "w=%d seq=%d written %d times", w, i, seen[w][i]);
			miss += !seen[w][i];
		}
	return miss;
}

START_TEST(async_records_written_plus_dropped_are_exactly_the_records_logged)
{
	long refused;

	/* The smallest ring: the writers outrun the worker, so some records are dropped. */
	cl = client_with(CLEW_OPT_IGNORE_ENV | CLEW_OPT_ASYNC, 16 * 1024);
	refused = run_writers(0, THREADS, RECORDS);
	ck_assert_int_eq(clew_flush(cl, -1), 0);
	read_file(path);
	ck_assert_uint_eq(clew_client_dropped(cl), (uint64_t)refused);
	ck_assert_int_eq(missing(0, THREADS, RECORDS), refused);
	ck_assert_uint_eq(nlines + (size_t)refused, (size_t)THREADS * RECORDS);
	/* The drop count is reported as the metric clew.dropped, written after the records. */
	ck_assert_int_eq(last_dropped, refused);
}
END_TEST

START_TEST(an_async_ring_that_holds_everything_loses_nothing)
{
	cl = client_with(CLEW_OPT_IGNORE_ENV | CLEW_OPT_ASYNC, 16u << 20);
	ck_assert_int_eq(run_writers(0, THREADS, RECORDS), 0);
	ck_assert_int_eq(clew_flush(cl, -1), 0);
	read_file(path);
	ck_assert_int_eq(missing(0, THREADS, RECORDS), 0);
	ck_assert_uint_eq(clew_client_dropped(cl), 0);
	ck_assert_int_eq(last_dropped, 0);
}
END_TEST

START_TEST(threads_that_come_and_go_lose_nothing_and_keep_their_order)
{
	/* Each round's threads exit before the next round starts: their queues are taken over. */
	cl = client_with(CLEW_OPT_IGNORE_ENV | CLEW_OPT_ASYNC, 4u << 20);
	for (int round = 0; round < WRITERS_MAX / THREADS; round++)
		ck_assert_int_eq(run_writers(round * THREADS, THREADS, RECORDS / 4), 0);
	ck_assert_int_eq(clew_flush(cl, -1), 0);
	read_file(path);
	ck_assert_int_eq(missing(0, WRITERS_MAX, RECORDS / 4), 0);
	ck_assert_uint_eq(nlines, (size_t)WRITERS_MAX * (RECORDS / 4));
	ck_assert_uint_eq(clew_client_dropped(cl), 0);
}
END_TEST

START_TEST(clew_async_in_the_environment_selects_the_async_mode)
{
	struct clew_options o;
	clew_client *bad;

	setenv("CLEW_ASYNC", "1", 1);
	cl = client_with(0, 0);
	ck_assert_int_eq(clew_log(cl, CLEW_LEVEL_INFO, CLEW_KV(CLEW_INT("w", 0), CLEW_INT("seq", 0)), "x"),
			 0);
	ck_assert_int_eq(clew_flush(cl, -1), 0);
	read_file(path);
	ck_assert_uint_eq(nlines, 1);
	ck_assert_int_eq(last_dropped, 0); /* only async clients report clew.dropped when nothing dropped */

	setenv("CLEW_ASYNC", "maybe", 1);
	clew_options_default(&o);
	o.output = "stderr";
	ck_assert_int_eq(clew_client_new(&bad, &o), -CLEW_ECONFIG);
	o.flags = CLEW_OPT_ASYNC | CLEW_OPT_SYNC;
	ck_assert_int_eq(clew_client_new(&bad, &o), -CLEW_EINVAL);
	o.flags = CLEW_OPT_ASYNC;
	o.ring_bytes = 1000; /* below the smallest ring */
	ck_assert_int_eq(clew_client_new(&bad, &o), -CLEW_EINVAL);
	setenv("CLEW_RING_BYTES", "lots", 1);
	o.ring_bytes = 0;
	ck_assert_int_eq(clew_client_new(&bad, &o), -CLEW_ECONFIG);
	unsetenv("CLEW_RING_BYTES");
}
END_TEST

START_TEST(a_forked_child_logs_async_without_repeating_its_parents_queue_and_flushes_at_exit)
{
	int status;
	pid_t pid;

	cl = client_with(CLEW_OPT_IGNORE_ENV | CLEW_OPT_ASYNC, 16u << 20);
	/* Queued, maybe not yet written, when fork() runs: the child must not write them again. */
	ck_assert_int_eq(run_writers(0, 2, RECORDS), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The child's first record restarts the worker; exit() flushes without clew_client_free(). */
		if (run_writers(2, 2, RECORDS) != 0)
			_exit(2);
		exit(0);
	}
	ck_assert_int_eq(run_writers(4, 2, RECORDS), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(clew_flush(cl, -1), 0);
	read_file(path);
	ck_assert_int_eq(missing(0, 6, RECORDS), 0);
}
END_TEST

START_TEST(a_forked_child_that_only_flushes_metrics_does_not_deadlock)
{
	clew_metric *m;
	int status;
	pid_t pid;

	cl = client_with(CLEW_OPT_IGNORE_ENV | CLEW_OPT_ASYNC, 16u << 20);
	ck_assert_int_eq(clew_counter_new(cl, &m, "forked.count", NULL, 0), 0);
	ck_assert_int_eq(run_writers(0, 1, 10), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* No record first: the metrics flush is the child's first output (a pre-fork worker idle until exit). */
		alarm(20);
		_exit(clew_flush(cl, 5000) == 0 ? 0 : 3);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
}
END_TEST

struct pipe_reader {
	int fd;	    /* the read end */
	char *buf;  /* what was read, NUL-terminated */
	size_t len; /* bytes in buf */
};

static void *read_pipe(void *arg)
{
	struct pipe_reader *r = arg;
	size_t cap = 1 << 20;
	ssize_t n;

	r->buf = malloc(cap + 1);
	for (;;) {
		if (r->len == cap) {
			cap *= 2;
			r->buf = realloc(r->buf, cap + 1);
		}
		/* A slow reader keeps the pipe full, so that writers of big batches would have to wait mid-write. */
		const struct timespec nap = {.tv_sec = 0, .tv_nsec = 20000};

		n = read(r->fd, r->buf + r->len, cap - r->len < 4096 ? cap - r->len : 4096);
		if (n <= 0)
			break;
		r->len += (size_t)n;
		nanosleep(&nap, NULL);
	}
	r->buf[r->len] = '\0';
	return NULL;
}

START_TEST(async_writers_in_two_processes_never_tear_a_line_on_a_shared_pipe)
{
	struct pipe_reader r = {0};
	pthread_t th;
	int p[2], saved, status;
	pid_t pid;

	/* stdout becomes a pipe that the parent, its child and their workers all write to. */
	ck_assert_int_eq(pipe(p), 0);
	saved = dup(STDOUT_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(p[1], STDOUT_FILENO), 0);
	close(p[1]);
	r.fd = p[0];
	ck_assert_int_eq(pthread_create(&th, NULL, read_pipe, &r), 0);
	{
		struct clew_options o;

		clew_options_default(&o);
		o.flags = CLEW_OPT_IGNORE_ENV | CLEW_OPT_ASYNC;
		o.output = "stdout";
		o.service = "gateway";
		o.format = CLEW_FORMAT_PIPE;
		o.metrics_interval_ms = CLEW_INTERVAL_NEVER;
		o.ring_bytes = 16u << 20;
		ck_assert_int_eq(clew_client_new(&cl, &o), 0);
	}
	{
		/*
		 * Let the client's new writer thread finish starting before fork():
		 * under ASan (gcc 12) a thread that starts allocates inside the
		 * sanitizer's allocator lock, and a child forked at that moment
		 * inherits the lock held and hangs at its first thread start.
		 * Nothing is queued yet, so this changes nothing else.
		 */
		const struct timespec settle = {.tv_sec = 0, .tv_nsec = 20000000};

		nanosleep(&settle, NULL);
	}
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		if (run_writers(2, 2, RECORDS) != 0)
			_exit(2);
		exit(0); /* the exit handler flushes the child's ring */
	}
	ck_assert_int_eq(run_writers(0, 2, RECORDS), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	clew_client_free(cl);
	cl = NULL;
	/* The last write end closes: the reader sees the end of the pipe. */
	ck_assert_int_ge(dup2(saved, STDOUT_FILENO), 0);
	close(saved);
	pthread_join(th, NULL);
	close(p[0]);
	parse_lines(r.buf);
	free(r.buf);
	ck_assert_int_eq(missing(0, 4, RECORDS), 0);
}
END_TEST

/* Log one record as writer @w, sequence @seq. */
static void log_one(int w, int seq)
{
	ck_assert_int_eq(
		clew_log(cl, CLEW_LEVEL_INFO, CLEW_KV(CLEW_INT("w", w), CLEW_INT("seq", seq)), "rotate"), 0);
}

static void check_sighup_reopen(uint32_t mode)
{
	const int n = 100;

	cl = client_with(CLEW_OPT_IGNORE_ENV | mode, 0);
	ck_assert_int_eq(clew_signals_install(CLEW_SIG_HUP), 0);
	for (int i = 0; i < n; i++)
		log_one(0, i);
	ck_assert_int_eq(clew_flush(cl, -1), 0);
	ck_assert_int_eq(rename(path, rotated), 0); /* logrotate: rename, then SIGHUP */
	ck_assert_int_eq(raise(SIGHUP), 0);
	for (int i = 0; i < n; i++)
		log_one(1, i);
	ck_assert_int_eq(clew_flush(cl, -1), 0);

	ck_assert_int_eq(access(path, F_OK), 0); /* reopened: created again */
	read_file(rotated);
	ck_assert_int_eq(missing(0, 1, n), 0);
	ck_assert_uint_eq(nlines, (size_t)n); /* the old file holds the records before the signal */
	read_file(path);
	ck_assert_int_eq(missing(1, 1, n), 0);
	ck_assert_uint_eq(nlines, 2u * n);
}

START_TEST(sighup_reopens_a_renamed_file_in_sync_mode)
{
	check_sighup_reopen(CLEW_OPT_SYNC);
}
END_TEST

START_TEST(sighup_reopens_a_renamed_file_in_async_mode)
{
	check_sighup_reopen(CLEW_OPT_ASYNC);
}
END_TEST

START_TEST(clew_reopen_moves_later_records_to_the_new_file)
{
	cl = client_with(CLEW_OPT_IGNORE_ENV | CLEW_OPT_ASYNC, 0);
	log_one(0, 0);
	ck_assert_int_eq(rename(path, rotated), 0);
	ck_assert_int_eq(clew_reopen(cl), 0); /* drains the ring to the old file first */
	log_one(0, 1);
	ck_assert_int_eq(clew_flush(cl, -1), 0);
	read_file(rotated);
	ck_assert_uint_eq(seen[0][0], 1);
	read_file(path);
	ck_assert_uint_eq(seen[0][1], 1);
	ck_assert_uint_eq(nlines, 2);
	ck_assert_int_eq(clew_reopen(NULL), -CLEW_EINVAL);
	ck_assert_int_eq(clew_signals_install(0), -CLEW_EINVAL);
	ck_assert_int_eq(clew_signals_install(1u << 7), -CLEW_EINVAL);
}
END_TEST

START_TEST(a_fatal_signal_flushes_the_async_ring_before_the_process_dies)
{
	int status;
	pid_t pid;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		cl = client_with(CLEW_OPT_IGNORE_ENV | CLEW_OPT_ASYNC, 16u << 20);
		if (clew_signals_install(CLEW_SIG_FATAL) != 0)
			_exit(2);
		if (run_writers(0, 1, RECORDS) != 0)
			_exit(3);
		abort();
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	/* It died of the signal: the handler re-raised it with the previous disposition. */
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %#x", status);
	read_file(path);
	ck_assert_int_eq(missing(0, 1, RECORDS), 0);
}
END_TEST

static Suite *async_suite(void)
{
	Suite *s = suite_create("async");
	TCase *tc = tcase_create("async");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, async_records_written_plus_dropped_are_exactly_the_records_logged);
	tcase_add_test(tc, threads_that_come_and_go_lose_nothing_and_keep_their_order);
	tcase_add_test(tc, an_async_ring_that_holds_everything_loses_nothing);
	tcase_add_test(tc, clew_async_in_the_environment_selects_the_async_mode);
	tcase_add_test(tc, a_forked_child_logs_async_without_repeating_its_parents_queue_and_flushes_at_exit);
	tcase_add_test(tc, a_forked_child_that_only_flushes_metrics_does_not_deadlock);
	tcase_add_test(tc, async_writers_in_two_processes_never_tear_a_line_on_a_shared_pipe);
	tcase_add_test(tc, sighup_reopens_a_renamed_file_in_sync_mode);
	tcase_add_test(tc, sighup_reopens_a_renamed_file_in_async_mode);
	tcase_add_test(tc, clew_reopen_moves_later_records_to_the_new_file);
	tcase_add_test(tc, a_fatal_signal_flushes_the_async_ring_before_the_process_dies);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(async_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
