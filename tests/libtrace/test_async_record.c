/*
 * test_async_record.c - async records are binary (libtrace/src/async.c):
 * the caller copies the format and its arguments, the writer formats
 * them. Every supported conversion must come out as vsnprintf() (and so
 * sync mode) writes it; %s with a precision and long strings near the
 * limits; unsupported conversions fall back to formatting on the caller;
 * key/values of every type; what is written plus what is dropped is what
 * was logged; the context sent once per change (and formats walked once
 * per address) yet right in every record; and the timestamps are the
 * call's time.
 * Each record is logged to a sync and an async client with the same
 * configuration, and the two files must be the same but for timestamps.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>
#include "th_file.h"

#include "clew/clew.h"
#include "fmt/pipe.h"
#include "fmt/str.h"

/* The tests pass formats held in variables on purpose (unsupported conversions, non-literal formats). */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat-security"

static char spath[64], apath[64];
static clew_client *sc, *ac;
static int format = CLEW_FORMAT_PIPE;

static clew_client *client(const char *file, uint32_t mode, int fmt)
{
	struct clew_options o;
	char spec[80];
	clew_client *c;

	clew_options_default(&o);
	snprintf(spec, sizeof(spec), "file:%s", file);
	o.flags = CLEW_OPT_IGNORE_ENV | mode;
	o.service = "orders";
	o.output = spec;
	o.format = fmt;
	o.level = CLEW_LEVEL_INFO;
	o.metrics_interval_ms = CLEW_INTERVAL_NEVER;
	o.ring_bytes = 16u << 20;
	ck_assert_int_eq(clew_client_new(&c, &o), 0);
	return c;
}

static void setup_with(int fmt)
{
	th_tmpfile(spath, sizeof(spath), "/tmp", "clew-arec-s");
	th_tmpfile(apath, sizeof(apath), "/tmp", "clew-arec-a");
	format = fmt;
	sc = client(spath, CLEW_OPT_SYNC, fmt);
	ac = client(apath, CLEW_OPT_ASYNC, fmt);
	clew_request_end(NULL);
}

static void setup_pipe(void)
{
	setup_with(CLEW_FORMAT_PIPE);
}

static void setup_json(void)
{
	setup_with(CLEW_FORMAT_JSON);
}

static void teardown(void)
{
	clew_client_free(sc);
	clew_client_free(ac);
	sc = ac = NULL;
	clew_request_end(NULL);
	unlink(spath);
	unlink(apath);
}

/* Replace every RFC 3339 timestamp "YYYY-MM-DDThh:mm:ss[.f]Z" in @s with "#": their digits differ. */
static void blank_timestamps(char *s)
{
	for (char *p = s; (p = strchr(p, 'T')) != NULL; p++) {
		char *q;

		if (p - s < 10 || p[-3] != '-' || p[-6] != '-' || p[3] != ':' || p[6] != ':')
			continue;
		q = p + 9;
		while (*q == '.' || (*q >= '0' && *q <= '9'))
			q++;
		if (*q != 'Z')
			continue;
		p[-10] = '#';
		memmove(p - 9, q + 1, strlen(q + 1) + 1);
		p -= 10;
	}
}

/* Whether the line [p, end) is a metric record. */
static bool is_metric(const char *p, const char *end)
{
	const char *m = memmem(p, (size_t)(end - p), "event=metric", 12);

	return m || memmem(p, (size_t)(end - p), "\"event\":\"metric\"", 16);
}

/* Both files, timestamps blanked, must be equal but for metric records; return how many lines. */
static size_t compare_outputs(void)
{
	char *a, *s;
	size_t n = 0;

	ck_assert_int_eq(clew_flush(ac, -1), 0);
	s = th_slurp_must(spath, NULL);
	a = th_slurp_must(apath, NULL);
	blank_timestamps(s);
	blank_timestamps(a);
	for (char *ps = s, *pa = a; *ps || *pa; n++) {
		char *es = strchr(ps, '\n'), *ea = strchr(pa, '\n');

		/* An async client writes clew.dropped at every flush; the sync one only after a drop. */
		if (ea && is_metric(pa, ea)) {
			pa = ea + 1;
			n--;
			continue;
		}
		ck_assert_msg(es && ea, "line %zu: missing in one output:\nsync:  %s\nasync: %s", n, ps, pa);
		ck_assert_msg(es - ps == ea - pa && memcmp(ps, pa, (size_t)(es - ps)) == 0,
			      "line %zu differs:\nsync:  %.*s\nasync: %.*s", n, (int)(es - ps), ps,
			      (int)(ea - pa), pa);
		ps = es + 1;
		pa = ea + 1;
	}
	free(s);
	free(a);
	return n;
}

/* Copy at most @cap - 1 bytes of @s (NULL = ""), NUL-terminated. */
static void copy_id(char *dst, const char *s, size_t cap)
{
	snprintf(dst, cap, "%s", s ? s : "");
}

/* Whether the view @v holds exactly @s. */
static bool fmt_str_eq_c(const struct fmt_str *v, const char *s)
{
	char buf[256];

	if (!v->ptr || v->len >= sizeof(buf))
		return false;
	buf[fmt_str_decode(v, buf)] = '\0';
	return strcmp(buf, s) == 0;
}

/* Log the same record to both clients; both calls must return @rc. */
#define BOTH(rc, kvs, ...)                                                               \
	do {                                                                             \
		ck_assert_int_eq(clew_log(sc, CLEW_LEVEL_INFO, kvs, __VA_ARGS__), (rc)); \
		ck_assert_int_eq(clew_log(ac, CLEW_LEVEL_INFO, kvs, __VA_ARGS__), (rc)); \
	} while (0)
#define LOG(...) BOTH(0, CLEW_NOKV, __VA_ARGS__)

/* NULL, hidden from the compiler's format checks. */
static const char *volatile nullstr = NULL;

START_TEST(every_supported_conversion_reads_as_vsnprintf_writes_it)
{
	int i = 0;
	void *p = &i;
	char c = 'q';
	const char *trailing = "trailing percent %";
	const char *flags = "[%08.3d] [%-5d] [%+d] [% d] [%5i] [%05d]";

	LOG("%d %i %d", INT_MIN, INT_MAX, -1);
	LOG("%u %u %x %X %o %#x %#o", 0u, UINT_MAX, 0xbeefu, 0xbeefu, 0777u, 255u, 8u);
	LOG(flags, 7, 42, 3, 4, -12, -12);
	/* ints passed to %hh/%h on purpose: the conversion must narrow them as printf does */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
	LOG("%hhd %hhu %hd %hu", 300, 300, 70000, 70000);
#pragma GCC diagnostic pop
	LOG("%ld %lu %lx", LONG_MIN, ULONG_MAX, 0xdeadbeefUL);
	LOG("%lld %llu %llX", LLONG_MIN, ULLONG_MAX, 0xfeedfaceULL);
	LOG("%jd %ju %zu %zd %td %zx", INTMAX_MIN, UINTMAX_MAX, SIZE_MAX, (ssize_t)-5, (ptrdiff_t)-7,
	    (size_t)4096);
	LOG("%c%c%c [%3c] [%-3c]", 'a', c, 'z', 'x', 'y');
	LOG("%f %.2f %10.3f %-10.1f| %+.0f %#.0f", 3.14159, 2.675, -1.5, 2.25, 2.5, 3.0);
	LOG("%e %E %.3e %g %G %g %g", 12345.678, 0.000123, 1e300, 1e-7, 1e20, 100.0, 0.1);
	LOG("%a %A %lf %lg", 1.0, -0.5, 6.25, 1e-300);
	LOG("%f %f %f %e %g", NAN, INFINITY, -INFINITY, -NAN, -0.0);
	LOG("%s|%.3s|%10s|%-10s|%.0s|%5.2s|", "hello", "abcdef", "right", "left", "gone", "xyz");
	LOG("%s and %s", nullstr, "");
	LOG("%.*s|%.*s|%*d|%-*d|%*d|%.*f|%*.*f|", 3, "abcdef", -1, "all", 5, 42, 5, 42, -6, 9, 2, 3.14159, 9,
	    3, 2.71828);
	LOG("%p %p", p, (void *)NULL);
	LOG("%%|100%% done %d%%|", 7);
	LOG("a=%d b=%s c=%.1f d=%c e=%lu f=%g", -3, "bee", 2.25, 'D', 77UL, 1.5);
	LOG("no conversion at all");
	LOG("%s", "pipe | and \\ and\nnewline\tand \"quotes\"");
	BOTH(-CLEW_EINVAL, CLEW_NOKV, trailing); /* glibc's vsnprintf() refuses it */
	ck_assert_uint_eq(compare_outputs(), 20);
}
END_TEST

START_TEST(a_format_built_at_run_time_is_copied_before_the_call_returns)
{
	char fmt[32];

	strcpy(fmt, "built %d at %s");
	LOG(fmt, 1, "runtime");
	/* The async record must not point at fmt: it changes before the writer runs. */
	strcpy(fmt, "XXXXXXXXXXXXXXXXXXXXX");
	ck_assert_uint_eq(compare_outputs(), 1);
}
END_TEST

START_TEST(unsupported_conversions_fall_back_to_formatting_on_the_caller)
{
	const wchar_t *w = L"wide";
	const char *positional = "%2$s-%1$d";
	const char *unknown = "%y %d";
	const char *errno_fmt = "errno says %m";
	int n = 0;

	LOG("%ls", w);
	LOG("%lc", (wint_t)L'W');
	LOG("%Lf %Lg", (long double)1.5, (long double)2.25);
	LOG(positional, 5, "five");
	LOG("%n<- written", &n);
	ck_assert_int_eq(n, 0); /* the sync call ran %n as well; both wrote 0 there */
	errno = ENOENT;
	ck_assert_int_eq(clew_log(sc, CLEW_LEVEL_INFO, CLEW_NOKV, errno_fmt), 0);
	errno = ENOENT;
	ck_assert_int_eq(clew_log(ac, CLEW_LEVEL_INFO, CLEW_NOKV, errno_fmt), 0);
	LOG(unknown, 3);
	ck_assert_uint_eq(compare_outputs(), 7);
}
END_TEST

START_TEST(percent_s_strings_near_the_slot_and_message_limits_are_cut_as_vsnprintf_cuts)
{
	static const size_t lens[] = {0,   1,	15,  16,  17,  100,  110,  111,	 112,  127,  128,
				      129, 200, 255, 256, 257, 1000, 4000, 4094, 4095, 4096, 5000};
	static char s[6000];
	size_t n = sizeof(lens) / sizeof(lens[0]);

	for (size_t i = 0; i < sizeof(s) - 1; i++)
		s[i] = (char)('a' + i % 26);
	for (size_t i = 0; i < n; i++) {
		char saved = s[lens[i]];

		s[lens[i]] = '\0';
		LOG("%s", s);
		LOG("<%s>", s);
		LOG("%.100s|%.*s", s, (int)(lens[i] / 2), s);
		s[lens[i]] = saved;
	}
	ck_assert_uint_eq(compare_outputs(), 3 * n);
}
END_TEST

START_TEST(key_values_of_every_type_read_as_in_sync_mode)
{
	static char key16[17] = "sixteen_bytes_k_", longkey[300];

	memset(longkey, 'k', sizeof(longkey) - 1);
	BOTH(0,
	     CLEW_KV(CLEW_STR("s", "text"), CLEW_STR("empty", ""), CLEW_STR("nul", NULL), CLEW_INT("i", -42),
		     CLEW_INT("min", INT64_MIN), CLEW_INT("max", INT64_MAX), CLEW_DBL("d", 12.5),
		     CLEW_DBL("third", 1.0 / 3), CLEW_DBL("big", 1e300), CLEW_DBL("nan", NAN),
		     CLEW_DBL("inf", INFINITY), CLEW_DBL("ninf", -INFINITY), CLEW_BOOL("t", true),
		     CLEW_BOOL("f", false), CLEW_STR("esc", "a|b\\c\nd\"e")),
	     "typed");
	BOTH(0, CLEW_KV(CLEW_INT(key16, 16), CLEW_STR(longkey, "long key"), CLEW_DBL("neg0", -0.0)), NULL);
	BOTH(0, CLEW_NOKV, NULL);
	BOTH(-CLEW_EINVAL, CLEW_KV(CLEW_STR("", "empty key")), "refused");
	BOTH(-CLEW_EINVAL, CLEW_KV(CLEW_INT("ok", 1), CLEW_STR(NULL, "no key")), "refused");
	BOTH(-CLEW_EINVAL, CLEW_KV(((struct clew_kv){.key = "bad", .type = 0})), "refused");
	BOTH(-CLEW_EINVAL, CLEW_KV(((struct clew_kv){.key = "bad", .type = 99})), "refused");
	ck_assert_uint_eq(compare_outputs(), 3);
}
END_TEST

START_TEST(more_key_values_than_a_record_holds_are_cut_and_flagged_alike)
{
	struct clew_kv kv[70];
	char keys[70][8];

	for (int i = 0; i < 70; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		kv[i] = CLEW_INT(keys[i], i);
	}
	BOTH(0, kv, 70, "seventy");
	ck_assert_uint_eq(compare_outputs(), 1);
}
END_TEST

START_TEST(the_context_travels_with_the_record)
{
	struct clew_propagation in = {.source = CLEW_PROP_W3C, .flags = CLEW_TRACE_SAMPLED};

	snprintf(in.trace, sizeof(in.trace), "4bf92f3577b34da6a3ce929d0e0e4736");
	snprintf(in.span, sizeof(in.span), "00f067aa0ba902b7");
	ck_assert_int_eq(clew_request_begin(sc, &in, "POST", "/api/v1/orders/42?x=1|2"), 0);
	LOG("inside %s", "request");
	ck_assert_int_eq(clew_ndc_push(sc, "job-7"), 0);
	LOG("deeper");
	clew_ndc_clear();
	LOG("no ids, method and path kept");
	clew_request_end(sc);
	for (int d = 0; d < CLEW_NDC_MAX; d++) {
		char id[CLEW_ID_MAX + 1];

		memset(id, 'a' + d % 26, 30);
		id[30] = '\0';
		ck_assert_int_eq(clew_ndc_push(sc, id), 0);
	}
	LOG("a full NDC");
	clew_request_end(sc);
	/* The context changes after the call: the async record copied it. */
	LOG("none");
	ck_assert_uint_eq(compare_outputs(), 5);
}
END_TEST

START_TEST(a_format_reused_at_one_address_with_other_conversions_is_read_anew)
{
	char fmt[32];

	/* The caller remembers a format's walk; the same address with other bytes is another format. */
	for (int i = 0; i < 3; i++) {
		strcpy(fmt, "n=%d of %s");
		LOG(fmt, i, "ints");
		strcpy(fmt, "x=%s %lld %.2f");
		LOG(fmt, "strs", (long long)i * -7, 0.5 * i);
		strcpy(fmt, "no conversion");
		LOG(fmt, 0);
	}
	ck_assert_uint_eq(compare_outputs(), 9);
}
END_TEST

/* A thread that begins a request (trace @tr) and logs @n records in it. */
struct ctx_thread {
	const char *tr;
	int n;
};

static void *ctx_thread_main(void *arg)
{
	const struct ctx_thread *t = arg;
	struct clew_propagation in = {.source = CLEW_PROP_W3C, .flags = CLEW_TRACE_SAMPLED};

	snprintf(in.trace, sizeof(in.trace), "%s", t->tr);
	snprintf(in.span, sizeof(in.span), "00f067aa0ba902b7");
	clew_request_begin(sc, &in, "GET", t->tr);
	for (int i = 0; i < t->n; i++)
		LOG("thread %s record %d", t->tr, i);
	return NULL;
}

START_TEST(an_unchanged_context_sent_once_is_still_every_records_context)
{
	static char big[9000];
	struct clew_propagation in = {.source = CLEW_PROP_W3C, .flags = CLEW_TRACE_SAMPLED};
	struct clew_context saved, other;
	struct ctx_thread t1 = {"4bf92f3577b34da6a3ce929d0e0e4736", 3},
			  t2 = {"0af7651916cd43dd8448eb211c80319c", 2};
	pthread_t th;

	memset(big, 'v', sizeof(big) - 1);
	snprintf(in.trace, sizeof(in.trace), "4bf92f3577b34da6a3ce929d0e0e4736");
	snprintf(in.span, sizeof(in.span), "00f067aa0ba902b7");
	ck_assert_int_eq(clew_request_begin(sc, &in, "POST", "/a"), 0);
	for (int i = 0; i < 3; i++)
		LOG("same context %d", i);
	ck_assert_int_eq(clew_context_capture(&saved), 0);
	clew_request_end(sc);
	LOG("after the request");
	ck_assert_int_eq(clew_context_adopt(&saved, &other), 0);
	LOG("adopted");
	LOG("adopted again");
	ck_assert_int_eq(clew_ndc_push(sc, "job-7"), 0);
	/* Refused (too long) right after a change: the next record must carry the change. */
	BOTH(-CLEW_ETRUNC, CLEW_KV(CLEW_STR("big", big)), "too long");
	LOG("pushed");
	ck_assert_int_eq(clew_ndc_pop(sc, "job-7"), 0);
	LOG("popped");
	ck_assert_int_eq(clew_context_restore(&other), 0);
	LOG("restored");
	/*
	 * Threads that come and go: the second one takes over the first
	 * one's queue, its context changed as many times (but not the same).
	 * Each flush
	 * keeps the files' order (the writer takes queue after queue).
	 */
	ck_assert_int_eq(clew_flush(ac, -1), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, ctx_thread_main, &t1), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(clew_flush(ac, -1), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, ctx_thread_main, &t2), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(clew_flush(ac, -1), 0);
	LOG("main again");
	ck_assert_uint_eq(compare_outputs(), 10 + 3 + 2);
}
END_TEST

/* The log records of the pipe-format @file: how many; counts per "i=" value in seen[]. */
static size_t count_lines(const char *file, unsigned char *seen, size_t nseen)
{
	static struct fmt_record rec;
	size_t len, n = 0;
	char *buf = th_slurp_must(file, &len), *line, *nl;

	for (line = buf; *line; line = nl + 1) {
		const struct fmt_attr *a;
		char num[32];
		long v;

		nl = strchr(line, '\n');
		ck_assert_ptr_nonnull(nl);
		ck_assert_int_eq(fmt_pipe_parse(line, (size_t)(nl - line), &rec, NULL), 0);
		if (rec.event != FMT_EVENT_LOG)
			continue;
		a = fmt_record_attr(&rec, "i");
		ck_assert(a && a->val.len < sizeof(num));
		num[fmt_str_decode(&a->val, num)] = '\0';
		v = strtol(num, NULL, 10);
		ck_assert(v >= 0 && (size_t)v < nseen);
		seen[v]++;
		n++;
	}
	free(buf);
	return n;
}

START_TEST(records_written_plus_dropped_are_the_records_logged_near_the_line_limit)
{
	static char big[9000];
	static unsigned char seen[400];
	size_t logged = 0, refused = 0, lines;

	memset(big, 'v', sizeof(big) - 1);
	/* Values from well below to past CLEW_LINE_MAX: some fit, some are dropped on the caller
	 * (the binary record is too long), some by the writer (the line is). */
	for (int i = 0; i < 400; i++) {
		size_t len = 7000 + (size_t)i * 5;
		char saved = big[len];
		int rc;

		big[len] = '\0';
		rc = clew_log(ac, CLEW_LEVEL_INFO, CLEW_KV(CLEW_INT("i", i), CLEW_STR("big", big)), "m%d", i);
		big[len] = saved;
		ck_assert_msg(rc == 0 || rc == -CLEW_ETRUNC, "rc %d", rc);
		logged++;
		refused += rc != 0;
	}
	ck_assert_int_eq(clew_flush(ac, -1), 0);
	memset(seen, 0, sizeof(seen));
	lines = count_lines(apath, seen, 400);
	ck_assert_uint_gt(lines, 0);
	ck_assert_uint_gt(clew_client_dropped(ac), refused); /* the writer dropped some too */
	ck_assert_uint_eq(lines + clew_client_dropped(ac), logged);
	for (int i = 0; i < 400; i++)
		ck_assert_uint_le(seen[i], 1);
}
END_TEST

static int64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

START_TEST(an_async_timestamp_is_the_time_of_the_call)
{
	enum { N = 2000 };
	static int64_t lo[N], hi[N];
	static struct fmt_record rec;
	char *buf, *line, *nl;
	size_t n = 0;

	for (int i = 0; i < N; i++) {
		lo[i] = wall_us();
		ck_assert_int_eq(clew_log(ac, CLEW_LEVEL_INFO, CLEW_KV(CLEW_INT("i", i)), "t"), 0);
		hi[i] = wall_us();
		if (i % 500 == 0) {
			/* Let the writer convert some records early, with a young clock rate. */
			const struct timespec nap = {0, 2000000};

			nanosleep(&nap, NULL);
		}
	}
	ck_assert_int_eq(clew_flush(ac, -1), 0);
	buf = th_slurp_must(apath, NULL);
	for (line = buf; *line; line = nl + 1) {
		const struct fmt_attr *a;
		char num[32];
		long i;
		int64_t us;

		nl = strchr(line, '\n');
		ck_assert_int_eq(fmt_pipe_parse(line, (size_t)(nl - line), &rec, NULL), 0);
		if (rec.event != FMT_EVENT_LOG)
			continue;
		a = fmt_record_attr(&rec, "i");
		ck_assert_ptr_nonnull(a);
		num[fmt_str_decode(&a->val, num)] = '\0';
		i = strtol(num, NULL, 10);
		ck_assert(rec.has_ts);
		us = rec.ts_ns / 1000;
		/* One microsecond of slack each way for the cut to microseconds and the TSC conversion. */
		ck_assert_msg(us >= lo[i] - 1 && us <= hi[i] + 1, "record %ld: %lld not in [%lld, %lld]", i,
			      (long long)us, (long long)lo[i], (long long)hi[i]);
		n++;
	}
	free(buf);
	ck_assert_uint_eq(n, N);
}
END_TEST

/* The text of attribute @key of @rec into @out ("" when absent). */
static const char *attr_text(const struct fmt_record *rec, const char *key, char *out)
{
	const struct fmt_attr *a = fmt_record_attr(rec, key);

	out[a ? fmt_str_decode(&a->val, out) : 0] = '\0';
	return out;
}

START_TEST(an_async_span_record_is_formatted_by_the_writer_as_in_sync_mode)
{
	static struct fmt_record rec;
	struct clew_span outer, inner, lost;
	char *buf, *line, *nl, v[128], outer_id[CLEW_SPAN_HEX_LEN + 1], inner_id[CLEW_SPAN_HEX_LEN + 1],
		lost_id[CLEW_SPAN_HEX_LEN + 1], trace[CLEW_ID_MAX + 1];
	int nspans = 0;

	ck_assert_int_eq(clew_request_begin(ac, NULL, "PUT", "/items/7"), 0);
	copy_id(trace, clew_ndc_get(0), sizeof(trace));
	ck_assert_int_eq(clew_span_start(ac, &outer, "outer"), 0);
	ck_assert_int_eq(clew_span_start(ac, &inner, "inner"), 0);
	ck_assert_int_eq(clew_span_set(&inner, CLEW_KV(CLEW_INT("rows", 3), CLEW_STR("table", "t|1"),
						       CLEW_DBL("ratio", 0.25), CLEW_BOOL("hit", true))),
			 0);
	ck_assert_int_eq(clew_span_set_status(&inner, CLEW_STATUS_ERROR), 0);
	strcpy(outer_id, outer.id);
	strcpy(inner_id, inner.id);
	ck_assert_int_eq(clew_span_end(ac, &inner), 0);
	ck_assert_int_eq(clew_span_end(ac, &outer), 0);
	/* A span whose ID is gone from the NDC: written with the NDC and its ID. */
	ck_assert_int_eq(clew_span_start(ac, &lost, "lost"), 0);
	strcpy(lost_id, lost.id);
	clew_ndc_clear();
	ck_assert_int_eq(clew_span_end(ac, &lost), -CLEW_ENOENT);
	clew_request_end(ac);
	ck_assert_int_eq(clew_flush(ac, -1), 0);

	buf = th_slurp_must(apath, NULL);
	for (line = buf; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		ck_assert_ptr_nonnull(nl);
		if (format == CLEW_FORMAT_PIPE)
			ck_assert_int_eq(fmt_pipe_parse(line, (size_t)(nl - line), &rec, NULL), 0);
		else
			continue; /* the JSON lines are compared with sync mode elsewhere; here the fields */
		if (rec.event != FMT_EVENT_SPAN)
			continue;
		nspans++;
		ck_assert(rec.has_ts);
		attr_text(&rec, "name", v);
		if (strcmp(v, "inner") == 0) {
			ck_assert_uint_eq(rec.level, CLEW_LEVEL_ERROR);
			ck_assert_str_eq(attr_text(&rec, "status", v), "error");
			ck_assert_str_eq(attr_text(&rec, "rows", v), "3");
			ck_assert_str_eq(attr_text(&rec, "table", v), "t|1");
			ck_assert_str_eq(attr_text(&rec, "ratio", v), "0.25");
			ck_assert_str_eq(attr_text(&rec, "hit", v), "true");
			ck_assert_uint_eq(rec.nids, 4); /* trace, request span, outer, inner */
			ck_assert(fmt_str_eq_c(&rec.span, inner_id));
			ck_assert(fmt_str_eq_c(&rec.parent, outer_id));
			ck_assert(fmt_str_eq_c(&rec.method, "PUT"));
			ck_assert(fmt_str_eq_c(&rec.path, "/items/7"));
		} else if (strcmp(v, "outer") == 0) {
			ck_assert_uint_eq(rec.level, CLEW_LEVEL_INFO);
			ck_assert_str_eq(attr_text(&rec, "status", v), "unset");
			ck_assert_uint_eq(rec.nids, 3);
			ck_assert(fmt_str_eq_c(&rec.span, outer_id));
		} else {
			ck_assert_str_eq(v, "lost");
			ck_assert_uint_eq(rec.nids, 1); /* the cleared NDC, then the span's ID */
			ck_assert(fmt_str_eq_c(&rec.trace, lost_id));
		}
		ck_assert(fmt_str_eq_c(&rec.ids[0], strcmp(v, "lost") ? trace : lost_id));
		ck_assert(strtol(attr_text(&rec, "dur_us", v), NULL, 10) >= 0);
	}
	free(buf);
	if (format == CLEW_FORMAT_PIPE)
		ck_assert_int_eq(nspans, 3);
}
END_TEST

static Suite *async_record_suite(void)
{
	Suite *s = suite_create("async_record");
	TCase *pipe = tcase_create("pipe"), *json = tcase_create("json");

	tcase_add_checked_fixture(pipe, setup_pipe, teardown);
	tcase_add_checked_fixture(json, setup_json, teardown);
	tcase_set_timeout(pipe, 120);
	tcase_set_timeout(json, 120);
	for (int k = 0; k < 2; k++) {
		TCase *tc = k ? json : pipe;

		tcase_add_test(tc, every_supported_conversion_reads_as_vsnprintf_writes_it);
		tcase_add_test(tc, a_format_built_at_run_time_is_copied_before_the_call_returns);
		tcase_add_test(tc, unsupported_conversions_fall_back_to_formatting_on_the_caller);
		tcase_add_test(tc,
			       percent_s_strings_near_the_slot_and_message_limits_are_cut_as_vsnprintf_cuts);
		tcase_add_test(tc, key_values_of_every_type_read_as_in_sync_mode);
		tcase_add_test(tc, more_key_values_than_a_record_holds_are_cut_and_flagged_alike);
		tcase_add_test(tc, the_context_travels_with_the_record);
		tcase_add_test(tc, an_unchanged_context_sent_once_is_still_every_records_context);
		tcase_add_test(tc, a_format_reused_at_one_address_with_other_conversions_is_read_anew);
		tcase_add_test(tc, an_async_span_record_is_formatted_by_the_writer_as_in_sync_mode);
	}
	tcase_add_test(pipe, records_written_plus_dropped_are_the_records_logged_near_the_line_limit);
	tcase_add_test(pipe, an_async_timestamp_is_the_time_of_the_call);
	suite_add_tcase(s, pipe);
	suite_add_tcase(s, json);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(async_record_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
