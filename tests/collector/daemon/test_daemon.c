/*
 * test_daemon.c - clewd as real processes on real files, counted at the sink.
 *
 * Every test runs the built clewd (CLEWD_BIN) with fork/exec on files in
 * a fresh temp directory; writers are child processes appending lines
 * the way services do (O_APPEND), rotating by rename+create and by
 * copytruncate. The sink is read back independently: stdout through the
 * formats library, the archive through the archive API (arch_scan) with
 * each frame decoded by the chunk codec, and every record counted by its
 * sequence attribute n: each must be present, and present once unless a
 * kill -9 made duplicates (which are then reported).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "th_proc.h"
#include "../chunk/helpers.h"
#include <store/archive.h>
#include "cd_limits.h"
#include <store/chunk.h>
#include "corpus.h"
#include "fmt/detect.h"
#include "fmt/json.h"
#include "fmt/str.h"

static char tmp[512];

static void setup(void)
{
	th_tmpdir(tmp, sizeof(tmp), NULL, "clewd-test");
}

static void teardown(void)
{
	char sub[600];

	snprintf(sub, sizeof(sub), "%s/logs", tmp);
	th_remove_tree(sub);
	snprintf(sub, sizeof(sub), "%s/state/archive", tmp);
	th_remove_tree(sub);
	snprintf(sub, sizeof(sub), "%s/state", tmp);
	th_remove_tree(sub);
	th_remove_tree(tmp);
}

/* Start clewd with @args (NULL-terminated, after argv[0]); stdin/stdout/stderr from/to files (NULL: /dev/null). */
static pid_t spawn(const char *const *args, const char *in, const char *out, const char *err)
{
	return th_spawn_args(th_env_bin("CLEWD_BIN"), args,
			     &(struct th_io){.in = in, .out = out, .err = err});
}

/* Run clewd on @input as stdin with @args; return its exit status, stdout in *out. */
static int run_stdin(const char *const *args, const char *input, size_t len, char **out, size_t *out_len)
{
	char in[600], o[600], e[600];
	pid_t pid;
	int rc;

	snprintf(in, sizeof(in), "%s/in", tmp);
	snprintf(o, sizeof(o), "%s/out", tmp);
	snprintf(e, sizeof(e), "%s/err", tmp);
	th_write_file(in, input, len);
	pid = spawn(args, in, o, e);
	rc = th_wait(pid);
	*out = th_slurp_must(o, out_len);
	return rc;
}

/* --- stdin -> stdout ------------------------------------------------------- */

START_TEST(stdin_to_stdout_json_equals_the_formats_library_line_by_line)
{
	static const char *const args[] = {"-i", "stdin", "-p", "auto", "-o", "stdout:json", NULL};
	static struct fmt_record rec;
	struct corpus_gen gp, gj;
	struct corpus_buf b = {0};
	char *out, *want, *line, *end, *o;
	size_t out_len, nlines = 0, wlen = 0, reescaped = 0;

	corpus_gen_init(&gp, CORPUS_PIPE, 1);
	corpus_gen_init(&gj, CORPUS_JSON, 2);
	for (int i = 0; i < 3000; i++)
		ck_assert_int_eq(corpus_gen_record(i % 3 ? &gp : &gj, &b), 0);
	ck_assert_int_eq(run_stdin(args, b.data, b.len, &out, &out_len), 0);

	/* the expectation: each line through fmt_parse + fmt_json_emit, as a service would */
	want = malloc(b.len * 4 + 1);
	ck_assert_ptr_nonnull(want);
	for (line = b.data; line < b.data + b.len; line = end + 1) {
		size_t n;
		end = memchr(line, '\n', (size_t)(b.data + b.len - line));
		ck_assert_ptr_nonnull(end);
		ck_assert_int_eq(fmt_parse(line, (size_t)(end - line), &rec, NULL), 0);
		ck_assert_int_eq(fmt_json_emit(&rec, FMT_JSON_IDS, want + wlen, b.len * 4 - wlen, &n), 0);
		wlen += n;
		want[wlen++] = '\n';
		nlines++;
	}
	ck_assert_uint_eq(nlines, 3000);
	/* the first line that differs, whole, in the failure message */
	for (o = out, line = want; o < out + out_len && line < want + wlen; o = strchr(o, '\n') + 1) {
		size_t lo = (size_t)(strchr(o, '\n') - o), lw = (size_t)(strchr(line, '\n') - line);
		if (lo != lw || memcmp(o, line, lo) != 0) {
			/* the same JSON, escaped differently (the chunk stores decoded strings, so
			 * "\u00e3" comes back as the UTF-8 bytes): equal as JSON values */
			json_t *a = json_loadb(o, lo, 0, NULL), *bb = json_loadb(line, lw, 0, NULL);
			ck_assert_msg(a && bb && json_equal(a, bb), "clewd:   %.*s\nlibrary: %.*s", (int)lo,
				      o, (int)lw, line);
			json_decref(a);
			json_decref(bb);
			reescaped++;
		}
		line += lw + 1;
	}
	ck_assert_ptr_eq(o, out + out_len);
	ck_assert_ptr_eq(line, want + wlen);
	ck_assert_uint_lt(reescaped, nlines / 10); /* byte-identical but for escapes */
	free(want);
	free(out);
	corpus_buf_free(&b);
}
END_TEST

/* Lines of @s ending in '\n' (pointers into @s, which is modified). */
static size_t split_lines(char *s, char **lines, size_t max)
{
	size_t n = 0;

	for (char *p = s; *p && n < max;) {
		char *nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = '\0';
		lines[n++] = p;
		p = nl + 1;
	}
	return n;
}

START_TEST(an_overlong_line_is_split_and_flagged_never_dropped)
{
	static const char *const args[] = {"-i", "stdin", "-o", "stdout:json", NULL};
	const size_t big = 3 * CD_LINE_MAX + 10;
	char *in = malloc(big + 200), *out, *lines[16];
	static struct fmt_record rec;
	size_t len = 0, out_len, n, msg_total = 0;

	ck_assert_ptr_nonnull(in);
	len += (size_t)snprintf(in, 200, "T1|svc|-|-|msg=before\n");
	for (size_t i = 0; i < big; i++)
		in[len++] = (char)('a' + i % 26);
	in[len++] = '\n';
	len += (size_t)snprintf(in + len, 200, "T2|svc|-|-|msg=after\n");
	ck_assert_int_eq(run_stdin(args, in, len, &out, &out_len), 0);
	n = split_lines(out, lines, 16);
	ck_assert_uint_eq(n, 6); /* before, 4 pieces, after */
	ck_assert_ptr_nonnull(strstr(lines[0], "\"message\":\"before\""));
	ck_assert_ptr_nonnull(strstr(lines[5], "\"message\":\"after\""));
	for (size_t k = 1; k <= 4; k++) {
		char want[32];
		const struct fmt_attr *a;
		snprintf(want, sizeof(want), "\"_split\":%zu", k);
		ck_assert_msg(strstr(lines[k], want), "piece %zu not flagged", k);
		ck_assert_int_eq(fmt_json_parse(lines[k], strlen(lines[k]), &rec, NULL), 0);
		ck_assert_uint_le(rec.message.len, CD_LINE_MAX);
		a = fmt_record_attr(&rec, "_split");
		ck_assert_ptr_nonnull(a);
		msg_total += rec.message.len;
	}
	ck_assert_uint_eq(msg_total, big); /* every byte kept */
	free(out);
	free(in);
}
END_TEST

START_TEST(invalid_utf8_and_garbage_lines_are_kept_as_raw_records)
{
	static const char *const args[] = {"-i", "stdin", "-o", "stdout:json", NULL};
	static const char in[] = "garbage at the top\n"
				 "{\"message\":\"bad \xff utf8\"}\n"
				 "T1|svc|-|-|msg=fine\n"
				 "{not json at all\n"
				 "\xfe\xfe\n";
	char *out, *lines[16];
	size_t out_len, n, raw = 0;

	ck_assert_int_eq(run_stdin(args, in, sizeof(in) - 1, &out, &out_len), 0);
	n = split_lines(out, lines, 16);
	for (size_t i = 0; i < n; i++)
		raw += strstr(lines[i], "\"_unparsed\":") != NULL;
	/* garbage, bad UTF-8 JSON, broken JSON; the last line joins "{not json" (a record start) */
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(raw, 3);
	ck_assert_ptr_nonnull(strstr(lines[0], "\"message\":\"garbage at the top\""));
	ck_assert_ptr_nonnull(strstr(lines[1], "invalid UTF-8"));
	ck_assert_ptr_nonnull(strstr(lines[2], "\"message\":\"fine\""));
	ck_assert_ptr_null(strstr(lines[2], "_unparsed"));
	free(out);
}
END_TEST

START_TEST(check_config_reports_the_line_of_a_broken_yaml)
{
	static const char yaml[] = "state_dir: /tmp/x\n"
				   "inputs:\n"
				   "  - type: tail\n"
				   "    path: [unclosed\n"
				   "outputs: {}\n";
	static const char unknown[] = "inputs:\n"
				      "  - type: stdin\n"
				      "outputz:\n"
				      "  - type: stdout\n";
	char path[600], err[600], *e;
	const char *args[] = {"-c", path, "--check-config", NULL};

	snprintf(path, sizeof(path), "%s/bad.yaml", tmp);
	snprintf(err, sizeof(err), "%s/err", tmp);
	th_write_file(path, yaml, sizeof(yaml) - 1);
	ck_assert_int_eq(th_wait(spawn(args, NULL, NULL, err)), 2);
	e = th_slurp_must(err, NULL);
	ck_assert_msg(strstr(e, "bad.yaml:5:"), "no line number in: %s", e);
	free(e);

	unlink(err);
	th_write_file(path, unknown, sizeof(unknown) - 1);
	ck_assert_int_eq(th_wait(spawn(args, NULL, NULL, err)), 2);
	e = th_slurp_must(err, NULL);
	ck_assert_msg(strstr(e, "bad.yaml:3:1: unknown key outputz"), "got: %s", e);
	free(e);

	args[2] = NULL;
	{
		const char *vargs[] = {"--version", NULL};
		char o[600];
		snprintf(o, sizeof(o), "%s/out", tmp);
		ck_assert_int_eq(th_wait(spawn(vargs, NULL, o, NULL)), 0);
		e = th_slurp_must(o, NULL);
		ck_assert_ptr_nonnull(strstr(e, "clewd "));
		free(e);
	}
}
END_TEST

/* --- tail -> archive --------------------------------------------------------- */

struct writer_plan {
	int total;	 /* records n = 0 .. total-1 */
	int rotate_at;	 /* rename + create before this n (-1: never) */
	int truncate_at; /* copytruncate before this n (-1: never) */
	long pace_us;	 /* sleep between records */
};

/* The writer process: appends "2026-...Z INFO tN:sN|svc|GET|/p|n=N" lines to logs/app.log. */
static void writer_main(const struct writer_plan *p)
{
	char path[600], rot[600], line[256];
	int fd;

	snprintf(path, sizeof(path), "%s/logs/app.log", tmp);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (fd < 0)
		_exit(1);
	for (int n = 0; n < p->total; n++) {
		int len;
		if (n == p->rotate_at) {
			snprintf(rot, sizeof(rot), "%s/logs/app.log.1", tmp);
			if (rename(path, rot) < 0)
				_exit(2);
			close(fd);
			fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
			if (fd < 0)
				_exit(3);
		}
		if (n == p->truncate_at) {
			/* logrotate's copytruncate, at a quiet moment: copy, then truncate in place */
			char *data;
			size_t dl;
			th_msleep(1500);
			snprintf(rot, sizeof(rot), "%s/logs/app.log.2", tmp);
			data = th_slurp_must(path, &dl);
			th_write_file(rot, data, dl);
			free(data);
			if (ftruncate(fd, 0) < 0)
				_exit(4);
			th_msleep(300);
		}
		len = snprintf(
			line, sizeof(line),
			"2026-11-23T07:%02d:%02d.%06dZ INFO t%06d:s%d|orders|GET|/api/v1/orders/%d|n=%d|msg=order fetched\n",
			(n / 60000) % 60, (n / 1000) % 60, n % 1000000, n, n % 7, n, n);
		if (write(fd, line, (size_t)len) != len)
			_exit(5);
		if (p->pace_us)
			usleep((useconds_t)p->pace_us);
	}
	close(fd);
	_exit(0);
}

static pid_t spawn_writer(const struct writer_plan *p)
{
	pid_t pid = th_fork();

	if (pid == 0)
		writer_main(p);
	return pid;
}

struct tally {
	int total;  /* expected records */
	int *seen;  /* times each n was found */
	long other; /* records without n */
};

static int on_frame(void *cookie, const void *payload, size_t len, const struct arch_chunk_meta *meta)
{
	static struct fmt_record rec;
	struct tally *t = cookie;
	struct chunk_iter it;
	int rc;

	(void)meta;
	chunk_iter_init_bytes(&it, payload, len);
	while ((rc = chunk_iter_next(&it, &rec, NULL)) == 1) {
		const struct fmt_attr *a = fmt_record_attr(&rec, "n");
		char num[32];
		size_t n;
		long v;
		if (!a || a->val.len >= sizeof(num)) {
			t->other++;
			continue;
		}
		n = fmt_str_decode(&a->val, num);
		num[n] = '\0';
		v = strtol(num, NULL, 10);
		if (v >= 0 && v < t->total)
			t->seen[v]++;
		else
			t->other++;
	}
	ck_assert_int_eq(rc, 0);
	return 0;
}

/* Count the archive's records by n. Return: how many distinct n were found. */
static int scan_archive(struct tally *t)
{
	char dir[600];
	struct arch_options opt;
	struct cd_err err;
	arch *a;
	int distinct = 0;

	memset(t->seen, 0, (size_t)t->total * sizeof(int));
	t->other = 0;
	snprintf(dir, sizeof(dir), "%s/state/archive", tmp);
	arch_options_default(&opt);
	opt.read_only = true;
	if (arch_open(&a, dir, &opt, &err) < 0)
		return 0;
	ck_assert_int_eq(arch_scan(a, INT64_MIN, INT64_MAX, on_frame, t, NULL, &err), 0);
	arch_close(a, &err);
	for (int i = 0; i < t->total; i++)
		distinct += t->seen[i] > 0;
	return distinct;
}

static pid_t start_tail(const char *errlog)
{
	static char glob_arg[700], state[700], archive[700];
	const char *args[] = {"-s", state, "-i", glob_arg, "-o", archive, "--log-level", "debug", NULL};

	snprintf(state, sizeof(state), "%s/state", tmp);
	snprintf(glob_arg, sizeof(glob_arg), "tail:%s/logs/*.log", tmp);
	snprintf(archive, sizeof(archive), "archive:%s/state/archive", tmp);
	return spawn(args, NULL, NULL, errlog);
}

/* Wait until every record is in the archive (or @secs pass). */
static int wait_all(struct tally *t, int secs)
{
	int distinct = 0;

	for (int i = 0; i < secs * 10; i++) {
		distinct = scan_archive(t);
		if (distinct == t->total)
			break;
		th_msleep(100);
	}
	return distinct;
}

static void make_logs_dir(void)
{
	char d[600];

	snprintf(d, sizeof(d), "%s/logs", tmp);
	ck_assert_int_eq(mkdir(d, 0755), 0);
}

static void stop(pid_t pid)
{
	kill(pid, SIGTERM);
	ck_assert_int_eq(th_wait(pid), 0);
}

START_TEST(tail_to_archive_through_rename_rotation_and_copytruncate_keeps_every_record_once)
{
	struct writer_plan plan = {.total = 3000, .rotate_at = 1000, .truncate_at = 2000, .pace_us = 300};
	struct tally t = {.total = plan.total};
	char errlog[600], *log;
	pid_t d, w;
	int dup = 0;

	t.seen = calloc((size_t)t.total, sizeof(int));
	make_logs_dir();
	snprintf(errlog, sizeof(errlog), "%s/clewd.log", tmp);
	d = start_tail(errlog);
	th_msleep(200);
	w = spawn_writer(&plan);
	ck_assert_int_eq(th_wait(w), 0);
	ck_assert_int_eq(wait_all(&t, 30), t.total);
	stop(d);
	ck_assert_int_eq(scan_archive(&t), t.total);
	for (int i = 0; i < t.total; i++)
		dup += t.seen[i] > 1;
	ck_assert_int_eq(dup, 0);
	ck_assert_int_eq(t.other, 0);
	log = th_slurp_must(errlog, NULL);
	ck_assert_msg(strstr(log, "file rotated"), "rotation not seen: %s", log);
	ck_assert_msg(strstr(log, "file truncated"), "truncation not seen: %s", log);
	free(log);
	free(t.seen);
}
END_TEST

START_TEST(sigterm_mid_stream_then_restart_loses_and_duplicates_nothing)
{
	struct writer_plan plan = {.total = 6000, .rotate_at = 3500, .truncate_at = -1, .pace_us = 300};
	struct tally t = {.total = plan.total};
	char errlog[600];
	pid_t d, w;
	int dup = 0;

	t.seen = calloc((size_t)t.total, sizeof(int));
	make_logs_dir();
	snprintf(errlog, sizeof(errlog), "%s/clewd.log", tmp);
	d = start_tail(errlog);
	w = spawn_writer(&plan);
	th_msleep(800);
	stop(d);
	ck_assert_int_lt(scan_archive(&t), t.total); /* really mid-stream */
	th_msleep(300);
	d = start_tail(errlog);
	ck_assert_int_eq(th_wait(w), 0);
	ck_assert_int_eq(wait_all(&t, 30), t.total);
	stop(d);
	scan_archive(&t);
	for (int i = 0; i < t.total; i++)
		dup += t.seen[i] > 1;
	ck_assert_int_eq(dup, 0);
	free(t.seen);
}
END_TEST

START_TEST(kill_9_mid_stream_then_restart_loses_nothing)
{
	struct writer_plan plan = {.total = 6000, .rotate_at = 2500, .truncate_at = -1, .pace_us = 300};
	struct tally t = {.total = plan.total};
	char errlog[600];
	pid_t d, w;
	int dup = 0;

	t.seen = calloc((size_t)t.total, sizeof(int));
	make_logs_dir();
	snprintf(errlog, sizeof(errlog), "%s/clewd.log", tmp);
	d = start_tail(errlog);
	w = spawn_writer(&plan);
	th_msleep(1000);
	kill(d, SIGKILL);
	ck_assert_int_eq(th_wait(d), 128 + SIGKILL);
	th_msleep(200);
	d = start_tail(errlog);
	ck_assert_int_eq(th_wait(w), 0);
	ck_assert_int_eq(wait_all(&t, 30), t.total);
	stop(d);
	scan_archive(&t);
	for (int i = 0; i < t.total; i++)
		dup += t.seen[i] > 1;
	/* duplicates are allowed only here, after the kill: report them */
	fprintf(stderr, "kill -9: %d of %d records delivered twice\n", dup, t.total);
	ck_assert_int_eq(t.other, 0);
	free(t.seen);
}
END_TEST

/* --- operations: /metrics, /health, SIGHUP, the process title --------------- */

/* The port clewd logged it serves /metrics on (it binds port 0), waiting for the line. */
static int ops_port(const char *errlog)
{
	for (int i = 0; i < 100; i++) {
		struct stat st;
		if (stat(errlog, &st) == 0 && st.st_size > 0) {
			char *log = th_slurp_must(errlog, NULL), *p = strstr(log, "(port ");
			int port = p ? atoi(p + 6) : 0;
			free(log);
			if (port > 0)
				return port;
		}
		th_msleep(100);
	}
	ck_abort_msg("clewd did not say where it serves /metrics");
	return 0;
}

/* GET @path over HTTP/1.0 from 127.0.0.1:@port; the body in *body (malloc'd). Return: the status. */
static int http_get(int port, const char *path, char **body)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	char req[256], *buf = malloc(1 << 20), *sep;
	size_t len = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0), status = 0;

	ck_assert_ptr_nonnull(buf);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	ck_assert_int_eq(write(fd, req, (size_t)n), n);
	while (len < (1 << 20) - 1 && (n = read(fd, buf + len, (1 << 20) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	sscanf(buf, "HTTP/1.%*d %d", &status);
	sep = strstr(buf, "\r\n\r\n");
	*body = strdup(sep ? sep + 4 : "");
	free(buf);
	return status;
}

/* Run promtool check metrics on @text. Return: its exit status; its output in the test log. */
static int promtool_check(const char *text)
{
	static const char *const argv[] = {"promtool", "check", "metrics", NULL};
	char path[600], out[600];
	int st;

	snprintf(path, sizeof(path), "%s/metrics.txt", tmp);
	snprintf(out, sizeof(out), "%s/promtool.out", tmp);
	th_write_file(path, text, strlen(text));
	st = th_wait(th_spawn(
		argv, &(struct th_io){.in = path, .out = out, .err_to_out = true, .search_path = true}));
	if (st != 0) {
		char *o = th_slurp_must(out, NULL);
		fprintf(stderr, "promtool: %s\n", o);
		free(o);
	}
	return st;
}

/* What ps shows for @pid (/proc/PID/cmdline up to its first NUL). */
static char *proc_title(pid_t pid)
{
	char path[64], *buf = calloc(1, 4096);
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_gt(read(fd, buf, 4095),
			 0); /* /proc files have no size: th_slurp_must() cannot read them */
	close(fd);
	return buf;
}

static void write_config(const char *path, bool with_file_output, bool broken)
{
	char yaml[4096];
	int n = snprintf(yaml, sizeof(yaml),
			 "state_dir: %s/state\n"
			 "http_listen: 127.0.0.1:0\n"
			 "log_level: debug\n"
			 "inputs:\n"
			 "  - type: tail\n"
			 "    path: %s/logs/*.log\n"
			 "outputs:\n"
			 "  - type: archive\n"
			 "    path: %s/state/archive\n"
			 "%s%s%s%s",
			 tmp, tmp, tmp, with_file_output ? "  - type: file\n    path: " : "",
			 with_file_output ? tmp : "", with_file_output ? "/out.json\n" : "",
			 broken ? "  - type: archive\n    retention: forever\n" : "");
	th_write_file(path, yaml, (size_t)n);
}

START_TEST(metrics_pass_promtool_and_health_says_ok)
{
	struct writer_plan plan = {.total = 500, .rotate_at = -1, .truncate_at = -1, .pace_us = 0};
	struct tally t = {.total = plan.total};
	char conf[600], errlog[600], *body;
	const char *args[] = {"-c", conf, NULL};
	pid_t d;
	int port;

	t.seen = calloc((size_t)t.total, sizeof(int));
	make_logs_dir();
	snprintf(conf, sizeof(conf), "%s/clewd.yaml", tmp);
	snprintf(errlog, sizeof(errlog), "%s/clewd.log", tmp);
	write_config(conf, false, false);
	d = spawn(args, NULL, NULL, errlog);
	port = ops_port(errlog);
	ck_assert_int_eq(th_wait(spawn_writer(&plan)), 0);
	ck_assert_int_eq(wait_all(&t, 30), t.total);

	ck_assert_int_eq(http_get(port, "/metrics", &body), 200);
	ck_assert_int_eq(promtool_check(body), 0);
	ck_assert_msg(strstr(body, "clewd_input_records_total{input=\"tail#1\""), "%s", body);
	ck_assert_msg(strstr(body, "clewd_output_records_total{output=\"archive#1\",type=\"archive\"} 500"),
		      "%s", body);
	free(body);
	ck_assert_int_eq(http_get(port, "/health", &body), 200);
	ck_assert_msg(strstr(body, "\"status\":\"ok\""), "%s", body);
	free(body);
	ck_assert_int_eq(http_get(port, "/nothing", &body), 404);
	free(body);
	stop(d);
	free(t.seen);
}
END_TEST

START_TEST(sighup_keeps_the_old_config_when_the_new_is_invalid_and_applies_a_valid_one)
{
	struct writer_plan plan = {.total = 4000, .rotate_at = -1, .truncate_at = -1, .pace_us = 500};
	struct tally t = {.total = plan.total};
	char conf[600], errlog[600], out[600], *title0, *title1, *log, *json, *line;
	const char *args[] = {"-c", conf, NULL};
	pid_t d, w;
	int in_file = 0, dup = 0;

	t.seen = calloc((size_t)t.total, sizeof(int));
	make_logs_dir();
	snprintf(conf, sizeof(conf), "%s/clewd.yaml", tmp);
	snprintf(errlog, sizeof(errlog), "%s/clewd.log", tmp);
	snprintf(out, sizeof(out), "%s/out.json", tmp);
	write_config(conf, false, false);
	d = spawn(args, NULL, NULL, errlog);
	ops_port(errlog);
	title0 = proc_title(d);
	ck_assert_msg(strncmp(title0, "clewd: config ", 14) == 0 && strstr(title0, conf), "title: %s",
		      title0);
	w = spawn_writer(&plan);
	th_msleep(500);

	write_config(conf, false, true);
	kill(d, SIGHUP);
	th_msleep(500);
	log = th_slurp_must(errlog, NULL);
	ck_assert_msg(strstr(log, "new configuration is invalid") && strstr(log, "clewd.yaml:11:"),
		      "no reason given: %s", log);
	free(log);
	ck_assert_int_eq(kill(d, 0), 0);
	title1 = proc_title(d);
	ck_assert_str_eq(title1, title0); /* still the old configuration */
	free(title1);

	write_config(conf, true, false);
	kill(d, SIGHUP);
	ck_assert_int_eq(th_wait(w), 0);
	ck_assert_int_eq(wait_all(&t, 30), t.total);
	title1 = proc_title(d);
	ck_assert_str_ne(title1, title0); /* the hash of the new one */
	stop(d);

	scan_archive(&t);
	for (int i = 0; i < t.total; i++)
		dup += t.seen[i] > 1;
	ck_assert_int_eq(dup, 0);
	json = th_slurp_must(out, NULL);
	for (line = strtok(json, "\n"); line; line = strtok(NULL, "\n")) {
		const char *n = strstr(line, "\"n\":");
		ck_assert_ptr_nonnull(n);
		ck_assert_int_eq(t.seen[atoi(n + 4 + (n[4] == '"'))],
				 1); /* the new output has archived records */
		in_file++;
	}
	/* the records written after the reload reached the new output */
	ck_assert_int_gt(in_file, 0);
	fprintf(stderr, "SIGHUP: %d of %d records reached the output added by the reload\n", in_file,
		t.total);
	free(json);
	free(title0);
	free(title1);
	free(t.seen);
}
END_TEST

static Suite *daemon_suite(void)
{
	Suite *s = suite_create("daemon");
	TCase *tc = tcase_create("stdin");
	TCase *tt = tcase_create("tail");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, stdin_to_stdout_json_equals_the_formats_library_line_by_line);
	tcase_add_test(tc, an_overlong_line_is_split_and_flagged_never_dropped);
	tcase_add_test(tc, invalid_utf8_and_garbage_lines_are_kept_as_raw_records);
	tcase_add_test(tc, check_config_reports_the_line_of_a_broken_yaml);
	tcase_add_test(tc, metrics_pass_promtool_and_health_says_ok);
	tcase_add_test(tc, sighup_keeps_the_old_config_when_the_new_is_invalid_and_applies_a_valid_one);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tt, setup, teardown);
	tcase_set_timeout(tt, 120);
	tcase_add_test(tt, tail_to_archive_through_rename_rotation_and_copytruncate_keeps_every_record_once);
	tcase_add_test(tt, sigterm_mid_stream_then_restart_loses_and_duplicates_nothing);
	tcase_add_test(tt, kill_9_mid_stream_then_restart_loses_nothing);
	suite_add_tcase(s, tt);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(daemon_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
