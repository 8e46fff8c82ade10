/*
 * test_drops.c - the drop registry (collector/util/drops.c): every drop
 * counted per (name, reason) in clewd_dropped_total, the log line written
 * at most once per interval per (name, reason) with the count since the
 * last one, and a count held back written by a later tick.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "th_file.h"
#include "util/drops.h"
#include "util/metrics.h"
#include "util/util.h"

static char logpath[64];

/* How many lines of the daemon's log (stderr, redirected to logpath) hold @needle. */
static int log_lines(const char *needle)
{
	char *text, *p;
	int n = 0;

	fflush(stderr);
	text = th_slurp_must(logpath, NULL);
	for (p = text; (p = strstr(p, needle)) != NULL; p++)
		n++;
	free(text);
	return n;
}

START_TEST(drops_are_counted_per_reason_and_logged_once_per_interval)
{
	struct metrics *m;
	const char *text;
	size_t len;

	th_tmpfile(logpath, sizeof(logpath), "/tmp", "clew-drops");
	ck_assert_ptr_nonnull(freopen(logpath, "w", stderr));

	cd_drop("output", "kafka#1", "too_large", 1, "Broker: Message size too large");
	cd_drop("output", "kafka#1", "too_large", 2, NULL);
	cd_drop("output", "kafka#1", "too_large", 4, NULL);
	cd_drop("input", "udp#2", "kernel_receive_buffer", 5, "127.0.0.1:5140");
	cd_drop("input", "udp#2", "kernel_receive_buffer", 0, NULL); /* nothing */
	ck_assert_uint_eq(cd_drops_total(), 12);

	/* the first drop of each series is said at once; the next ones wait for the interval */
	ck_assert_int_eq(log_lines("records dropped"), 2);
	ck_assert_int_eq(log_lines("Message size too large"), 1);
	cd_drops_tick(cd_mono_ns());
	ck_assert_int_eq(log_lines("records dropped"), 2);
	/* past the interval: one line for the 6 held back, none for the series with nothing new */
	cd_drops_tick(cd_mono_ns() + (int64_t)CD_DROP_LOG_MS * 1000000 + 1);
	ck_assert_int_eq(log_lines("records dropped"), 3);
	ck_assert_int_eq(log_lines("\"records\":\"6\""), 1);

	ck_assert_int_eq(metrics_new(&m), 0);
	cd_drops_metrics(m);
	text = metrics_text(m, &len);
	ck_assert_ptr_nonnull(
		strstr(text, "clewd_dropped_total{output=\"kafka#1\",reason=\"too_large\"} 7\n"));
	ck_assert_ptr_nonnull(
		strstr(text, "clewd_dropped_total{input=\"udp#2\",reason=\"kernel_receive_buffer\"} 5\n"));
	metrics_free(m);
	unlink(logpath);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("drops");
	TCase *tc = tcase_create("drops");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, drops_are_counted_per_reason_and_logged_once_per_interval);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
