/*
 * ls_test.h - shared by the tests of clewd's Logstash outputs: a temp
 * directory per test, clewd and the peers (ls_receiver, redis-server)
 * as real processes on free 127.0.0.1 ports, a paced writer feeding
 * clewd's stdin, and the receiver's report read back.
 *
 * The input is pipe-format records "tN" ... with the attribute n = 0..
 * total-1 and a trace ID per three records, so a sink can tell every
 * missing or duplicated record, and the distinct traces with their
 * checksum (the sum of their FNV-1a hashes) are known in advance.
 */
#ifndef TEST_LS_TEST_H
#define TEST_LS_TEST_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "th_file.h"
#include "th_proc.h"

static char tmp[512];

static inline void ls_teardown(void)
{
	/* a failed assertion exits the test's process: stop what it started (by PID) */
	th_kill_spawned();
	if (!tmp[0])
		return;
	th_remove_tree(tmp);
	tmp[0] = '\0';
}

/*
 * The suite's directory, made and removed in Check's parent process
 * (unchecked fixture): a test that fails exits its child process at once
 * (Check then kills the child's process group, our peers with it), so
 * its own directory is removed here, with the suite's.
 */
static char suite_dir[400];

static inline void ls_suite_setup(void)
{
	th_tmpdir(suite_dir, sizeof(suite_dir), NULL, "clewd-ls");
}

static inline void ls_suite_teardown(void)
{
	th_remove_tree(suite_dir);
}

static inline void ls_setup(void)
{
	th_tmpdir(tmp, sizeof(tmp), suite_dir, "t");
	signal(SIGPIPE, SIG_IGN);
	atexit(ls_teardown); /* Check runs each test in a child that exits on a failure */
}

/* tmp/NAME into @buf (600 bytes). */
static inline char *tpath(char *buf, const char *name)
{
	snprintf(buf, 600, "%s/%s", tmp, name);
	return buf;
}

/*
 * Start @argv[0] with @argv, stdin from @in_fd (-1: /dev/null), stdout
 * and stderr appended to @log (NULL: /dev/null). Extra environment
 * "K=V" strings in @env (NULL-ended, may be NULL).
 */
static inline pid_t spawn(const char *const *argv, int in_fd, const char *log, const char *const *env)
{
	return th_spawn(argv, &(struct th_io){.in_fd = in_fd,
					      .out = log,
					      .out_append = true,
					      .err_to_out = true,
					      .close_fds = true,
					      .sigpipe_default = true,
					      .env = env});
}

/* --- the input ----------------------------------------------------------------- */

static inline uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* Record n as a pipe line (with a message of @msg_len bytes when > 0). Return: its length. */
static inline int input_line(char *buf, size_t cap, int n, size_t msg_len)
{
	int len = snprintf(
		buf, cap,
		"2026-11-23T07:%02d:%02d.%06dZ INFO t%06d:s%d|orders|GET|/api/v1/orders/%d|n=%d|msg=",
		(n / 60000) % 60, (n / 1000) % 60, n % 1000000, n / 3, n % 7, n, n);

	if (msg_len == 0) {
		len += snprintf(buf + len, cap - (size_t)len, "order %d fetched\n", n);
		return len;
	}
	for (size_t i = 0; i < msg_len && (size_t)len + 2 < cap; i++)
		buf[len++] = (char)('a' + i % 26);
	buf[len++] = '\n';
	return len;
}

/* Distinct trace IDs of records 0..total-1 and the sum of their hashes. */
static inline uint64_t expected_trace_sum(int total, int *ntraces)
{
	uint64_t sum = 0;
	char id[32];

	*ntraces = (total + 2) / 3;
	for (int t = 0; t < *ntraces; t++)
		sum += fnv1a(id, (size_t)snprintf(id, sizeof(id), "t%06d", t));
	return sum;
}

/* Records 0..total-1 written to @path at once. */
static inline void write_input(const char *path, int total)
{
	FILE *f = fopen(path, "w");
	char line[256];

	ck_assert_ptr_nonnull(f);
	for (int n = 0; n < total; n++) {
		int len = input_line(line, sizeof(line), n, 0);
		ck_assert_int_eq((int)fwrite(line, 1, (size_t)len, f), len);
	}
	fclose(f);
}

/*
 * A writer process: records 0..total-1 into @fd, @per_burst lines then a
 * pause of @pause_ms. Return: its pid (the caller closes its copy of @fd).
 */
static inline pid_t spawn_writer(int fd, int total, int per_burst, long pause_ms)
{
	pid_t pid = th_fork();

	if (pid == 0) {
		char line[256];
		for (int n = 0; n < total; n++) {
			int len = input_line(line, sizeof(line), n, 0);
			if (write(fd, line, (size_t)len) != len)
				_exit(1);
			if (per_burst && (n + 1) % per_burst == 0)
				th_msleep(pause_ms);
		}
		close(fd);
		_exit(0);
	}
	return pid;
}

/* --- clewd --------------------------------------------------------------------- */

/*
 * Environment for clewd in the tests: short chunks (a test may make them
 * shorter), a drain long enough for every retry.
 */
static const char *clewd_env[] = {"CLEWD_CHUNK_AGE=100ms", "CLEWD_DRAIN_TIMEOUT=90s", NULL};

/* clewd -i stdin -o @uri [@extra...], stdin from @in_fd, log to tmp/clewd.log. */
static inline pid_t spawn_clewd(const char *uri, int in_fd, const char *const *extra)
{
	static char state[600], log[600];
	const char *argv[24];
	size_t n = 0;

	argv[n++] = th_env_bin("CLEWD_BIN");
	argv[n++] = "-s";
	argv[n++] = tpath(state, "state");
	argv[n++] = "-i";
	argv[n++] = "stdin";
	argv[n++] = "-o";
	argv[n++] = uri;
	for (; extra && *extra && n < 22; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	return spawn(argv, in_fd, tpath(log, "clewd.log"), clewd_env);
}

/* clewd on the file @input as stdin. */
static inline pid_t spawn_clewd_file(const char *uri, const char *input, const char *const *extra)
{
	int fd = open(input, O_RDONLY);
	pid_t pid;

	ck_assert_int_ge(fd, 0);
	pid = spawn_clewd(uri, fd, extra);
	close(fd);
	return pid;
}

/* How many times @needle occurs in clewd's log. */
static inline int log_count(const char *needle)
{
	char path[600];
	char *log = th_slurp(tpath(path, "clewd.log"), NULL), *p;
	int n = 0;

	if (!log)
		return 0;
	for (p = log; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	free(log);
	return n;
}

/* The value of attribute "@key":"..." on the log line with @msg, as a number (-1 if absent). */
static inline long log_attr(const char *msg, const char *key)
{
	char path[600], want[128];
	char *log = th_slurp(tpath(path, "clewd.log"), NULL), *line, *p;
	long v = -1;

	if (!log)
		return -1;
	snprintf(want, sizeof(want), "\"%s\":\"", key);
	for (line = log; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		char *eol = strchr(line, '\n');
		if (eol)
			*eol = '\0';
		if (strstr(line, msg) && (p = strstr(line, want)))
			v = strtol(p + strlen(want), NULL, 10);
		if (eol)
			*eol = '\n';
	}
	free(log);
	return v;
}

/* clewd --check-config on @uri: its exit status; its output in *out. */
static inline int check_config(const char *uri, char **out)
{
	char log[600];
	const char *argv[] = {th_env_bin("CLEWD_BIN"), "-i", "stdin", "-o", uri, "--check-config", NULL};
	int rc;

	unlink(tpath(log, "check.log"));
	rc = th_wait(spawn(argv, -1, log, NULL));
	*out = th_slurp(log, NULL);
	return rc;
}

/* --- the receiver --------------------------------------------------------------- */

struct ls_report {
	long events, bad_json, missing, truncated, partial_lines;
	long requests, failed_requests, rejected_events, auth_failures, gzip_requests, bad_content_type;
	long connections, n_events, n_dups, n_distinct, n_min, n_max;
	long traces;
	unsigned long long trace_sum;
};

#define LS_FIELD(name)                                  \
	{                                               \
#name, offsetof(struct ls_report, name) \
	}

/* Read the receiver's report file. Return: false if there is none yet. */
static inline bool read_report(const char *path, struct ls_report *r)
{
	static const struct {
		const char *key;
		size_t off;
	} fields[] = {LS_FIELD(events),
		      LS_FIELD(bad_json),
		      LS_FIELD(missing),
		      LS_FIELD(truncated),
		      LS_FIELD(partial_lines),
		      LS_FIELD(requests),
		      LS_FIELD(failed_requests),
		      LS_FIELD(rejected_events),
		      LS_FIELD(auth_failures),
		      LS_FIELD(gzip_requests),
		      LS_FIELD(bad_content_type),
		      LS_FIELD(connections),
		      LS_FIELD(n_events),
		      LS_FIELD(n_dups),
		      LS_FIELD(n_distinct),
		      LS_FIELD(n_min),
		      LS_FIELD(n_max),
		      LS_FIELD(traces)};
	char *s = th_slurp(path, NULL), *line, *save = NULL;

	memset(r, 0, sizeof(*r));
	if (!s)
		return false;
	for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char key[64];
		unsigned long long v;
		if (sscanf(line, "%63s %llu", key, &v) != 2)
			continue;
		if (strcmp(key, "trace_sum") == 0)
			r->trace_sum = v;
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (strcmp(key, fields[i].key) == 0)
				*(long *)(void *)((char *)r + fields[i].off) = (long)v;
	}
	free(s);
	return true;
}

struct receiver {
	pid_t pid;	  /* the process */
	unsigned port;	  /* where it listens */
	char report[600]; /* its report file */
	char events[600]; /* its raw events file */
};

/*
 * Start ls_receiver @mode (port 0: a free one) with @extra options; wait
 * until it listens. Its report and events go to tmp/report.TAG and
 * tmp/events.TAG (one pair per instance: a restarted receiver starts anew).
 */
static inline void receiver_start(struct receiver *rv, const char *mode, unsigned port, const char *tag,
				  const char *const *extra)
{
	char portfile[600], portarg[16], log[600], name[64];
	const char *argv[24];
	size_t n = 0;
	char *s = NULL;

	snprintf(name, sizeof(name), "report.%s", tag);
	tpath(rv->report, name);
	snprintf(name, sizeof(name), "events.%s", tag);
	tpath(rv->events, name);
	tpath(portfile, "port");
	unlink(portfile);
	snprintf(portarg, sizeof(portarg), "%u", port);
	argv[n++] = th_env_bin("LS_RECEIVER_BIN");
	argv[n++] = mode;
	argv[n++] = "--port";
	argv[n++] = portarg;
	argv[n++] = "--port-file";
	argv[n++] = portfile;
	argv[n++] = "--report";
	argv[n++] = rv->report;
	argv[n++] = "--events";
	argv[n++] = rv->events;
	for (; extra && *extra && n < 22; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	rv->pid = spawn(argv, -1, tpath(log, "receiver.log"), NULL);
	for (int i = 0; i < 600 && !(s = th_slurp(portfile, NULL)); i++) {
		ck_assert_int_eq(th_wait_for(rv->pid, 0), -1); /* still alive */
		th_msleep(50);
	}
	ck_assert_msg(s, "the receiver did not start listening");
	rv->port = (unsigned)strtoul(s, NULL, 10);
	free(s);
	ck_assert_uint_gt(rv->port, 0);
}

/* Stop the receiver (SIGTERM: it finishes reading, writes its report) and read its report. */
static inline void receiver_stop(struct receiver *rv, struct ls_report *r)
{
	ck_assert_int_eq(th_stop(rv->pid), 0);
	ck_assert(read_report(rv->report, r));
}

/* Poll the report until it counts at least @events events (or @secs pass). */
static inline bool receiver_wait(struct receiver *rv, long events, int secs, struct ls_report *r)
{
	for (int i = 0; i < secs * 20; i++) {
		if (read_report(rv->report, r) && r->events >= events)
			return true;
		th_msleep(50);
	}
	return false;
}

/* Every record 0..total-1 arrived (each at least once), with the Logstash fields, and the traces add up. */
static inline void assert_complete(const struct ls_report *r, int total)
{
	int ntraces;
	uint64_t sum = expected_trace_sum(total, &ntraces);

	ck_assert_int_eq(r->bad_json, 0);
	ck_assert_int_eq(r->missing, 0);
	ck_assert_int_eq(r->n_distinct, total);
	ck_assert_int_eq(r->n_min, 0);
	ck_assert_int_eq(r->n_max, total - 1);
	ck_assert_int_eq(r->n_events, r->events);
	ck_assert_int_eq(r->traces, ntraces);
	ck_assert_uint_eq(r->trace_sum, sum);
}

/*
 * Count the events of a receiver's events file by their n (into @seen,
 * @total entries). Every line must be a JSON object with the Logstash
 * fields; a last line without its newline (a receiver killed -9 while
 * writing) is left out: that request was never answered, so it is sent
 * again. Return: how many lines.
 */
static inline long tally_events(const char *path, int total, int *seen)
{
	static const char *const need[] = {"@timestamp", "@version", "message", "host", "service", "trace"};
	char *s = th_slurp(path, NULL), *line, *save = NULL, *last_nl;
	long lines = 0;

	if (!s)
		return 0;
	last_nl = strrchr(s, '\n');
	*(last_nl ? last_nl + 1 : s) = '\0';
	for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_error_t jerr;
		json_t *o = json_loads(line, 0, &jerr), *v;
		ck_assert_msg(o && json_is_object(o), "not a JSON object: %s", line);
		for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
			ck_assert_msg(json_object_get(o, need[i]), "no %s in %s", need[i], line);
		v = json_object_get(o, "n");
		ck_assert_msg(json_is_integer(v), "no n in %s", line);
		ck_assert_int_ge(json_integer_value(v), 0);
		ck_assert_int_lt(json_integer_value(v), total);
		seen[json_integer_value(v)]++;
		json_decref(o);
		lines++;
	}
	free(s);
	return lines;
}

#endif
