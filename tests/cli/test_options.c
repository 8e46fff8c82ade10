/*
 * test_options.c - cli/options.c: the option table, the parser and the manual.
 *
 * tracegrep.1 ($CLEW_SOURCE_ROOT/cli/tracegrep.1) is checked against the
 * option table both ways: every long option of the table is in the
 * manual (a short one beside its long name), and every --option the
 * manual names is in the table. The parser is run on command lines: the
 * defaults, each kind of value, the checks between options and the
 * messages of bad usage; --help on every option it lists.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "th_file.h"
#include "tg.h"

/* Storage for the argv of the last parse (the options point into it). */
static char line[512];
static char *args[32];

/* Parse the words of @cmdline (after "tracegrep"); what it prints goes to *@out when given. */
static int parse(struct tg_options *o, struct tg_err *err, const char *cmdline, char **out)
{
	char *text = NULL;
	int argc = 0, rc;
	size_t n;
	FILE *f = open_memstream(&text, &n);

	ck_assert_ptr_nonnull(f);
	snprintf(line, sizeof(line), "tracegrep %s", cmdline);
	for (char *w = strtok(line, " "); w; w = strtok(NULL, " "))
		args[argc++] = w;
	args[argc] = NULL;
	memset(err, 0, sizeof(*err));
	rc = tg_options_parse(o, argc, args, f, err);
	ck_assert_int_eq(fclose(f), 0);
	if (out)
		*out = text;
	else
		free(text);
	return rc;
}

static void assert_usage(const char *cmdline, const char *msg)
{
	struct tg_options o;
	struct tg_err err;

	ck_assert_int_eq(parse(&o, &err, cmdline, NULL), -TG_EINVAL);
	ck_assert_msg(strstr(err.msg, msg), "%s: '%s' does not say '%s'", cmdline, err.msg, msg);
	tg_options_release(&o);
}

START_TEST(defaults_and_paths)
{
	struct tg_options o;
	struct tg_err err;

	ck_assert_int_eq(parse(&o, &err, "T1 a.log dir", NULL), TG_OPTIONS_RUN);
	ck_assert_int_eq(o.mode, TG_MODE_TERM);
	ck_assert_int_eq(o.color, -1);
	ck_assert(o.skew);
	ck_assert(!o.quiet);
	ck_assert_uint_ge(o.threads, 1);
	ck_assert_int_eq(o.width, 0);
	ck_assert_ptr_null(o.archive);
	ck_assert_ptr_null(o.html);
	ck_assert(o.since == INT64_MIN && o.until == INT64_MAX);
	ck_assert_str_eq(o.query.text, "T1");
	ck_assert_uint_eq(o.npaths, 2);
	ck_assert_str_eq(o.paths[0], "a.log");
	ck_assert_str_eq(o.paths[1], "dir");
	tg_options_release(&o);

	/* Options after the ID are options too (getopt permutes). */
	ck_assert_int_eq(parse(&o, &err, "T1:S a.log -q -j 3 -w 80 --no-skew-adjust --color=never", NULL),
			 TG_OPTIONS_RUN);
	ck_assert(o.quiet && !o.skew);
	ck_assert_uint_eq(o.threads, 3);
	ck_assert_int_eq(o.width, 80);
	ck_assert_int_eq(o.color, 0);
	ck_assert_uint_eq(o.query.nelems, 2);
	ck_assert_uint_eq(o.npaths, 1);
	tg_options_release(&o);

	ck_assert_int_eq(parse(&o, &err, "--colour=always T1 -", NULL), TG_OPTIONS_RUN);
	ck_assert_int_eq(o.color, 1);
	tg_options_release(&o);
}
END_TEST

START_TEST(no_path_reads_the_archive)
{
	struct tg_options o;
	struct tg_err err;

	unsetenv("CLEW_ARCHIVE");
	ck_assert_int_eq(parse(&o, &err, "T1", NULL), TG_OPTIONS_RUN);
	ck_assert_str_eq(o.archive, TG_ARCHIVE_DEFAULT);
	tg_options_release(&o);
	setenv("CLEW_ARCHIVE", "/srv/a", 1);
	ck_assert_int_eq(parse(&o, &err, "T1", NULL), TG_OPTIONS_RUN);
	ck_assert_str_eq(o.archive, "/srv/a");
	tg_options_release(&o);
	ck_assert_int_eq(parse(&o, &err, "--archive /x T1", NULL), TG_OPTIONS_RUN);
	ck_assert_str_eq(o.archive, "/x");
	tg_options_release(&o);
	/* Kafka alone reads no archive; PATHs neither. */
	ck_assert_int_eq(parse(&o, &err, "--kafka k:9092 --topic t T1", NULL), TG_OPTIONS_RUN);
	ck_assert_ptr_null(o.archive);
	ck_assert_str_eq(o.kafka, "k:9092");
	ck_assert_str_eq(o.topic, "t");
	tg_options_release(&o);
	ck_assert_int_eq(parse(&o, &err, "T1 f", NULL), TG_OPTIONS_RUN);
	ck_assert_ptr_null(o.archive);
	tg_options_release(&o);
	unsetenv("CLEW_ARCHIVE");
}
END_TEST

START_TEST(output_modes)
{
	static const struct {
		const char *cmdline;
		enum tg_mode mode;
	} cases[] = {
		{"T1 f", TG_MODE_TERM},
		{"-l T1 f", TG_MODE_LINES},
		{"--lines T1 f", TG_MODE_LINES},
		{"--json T1 f", TG_MODE_JSON},
		{"--chrome T1 f", TG_MODE_CHROME},
		{"--jaeger T1 f", TG_MODE_JAEGER},
		{"--html p.html T1 f", TG_MODE_HTML_ONLY},
		{"--html p.html --json T1 f", TG_MODE_JSON},
	};
	struct tg_options o;
	struct tg_err err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(parse(&o, &err, cases[i].cmdline, NULL), TG_OPTIONS_RUN);
		ck_assert_msg(o.mode == cases[i].mode, "%s: mode %d", cases[i].cmdline, o.mode);
		/* Every mode but --html alone has a renderer of standard output. */
		ck_assert((tg_renderers[o.mode] == NULL) == (o.mode == TG_MODE_HTML_ONLY));
		tg_options_release(&o);
	}
	assert_usage("--json --lines T1 f", "choose one of --lines, --json, --chrome, --jaeger");
}
END_TEST

START_TEST(archive_and_kafka_values)
{
	struct tg_options o;
	struct tg_err err;

	ck_assert_int_eq(parse(&o, &err, "--since 2026-11-23T07:00:00Z --until 2h --stats T1", NULL),
			 TG_OPTIONS_RUN);
	ck_assert(o.since == INT64_C(1795417200000000000));
	ck_assert(o.until > o.since && o.until < INT64_MAX);
	ck_assert(o.stats);
	tg_options_release(&o);
	ck_assert_int_eq(
		parse(&o, &err,
		      "--kafka k --topic t --kafka-property a=1 --kafka-property security.protocol=ssl T1",
		      NULL),
		TG_OPTIONS_RUN);
	ck_assert_uint_eq(o.nkprops, 2);
	ck_assert_str_eq(o.kprops[0], "a=1");
	ck_assert_str_eq(o.kprops[1], "security.protocol=ssl");
	tg_options_release(&o);
}
END_TEST

START_TEST(bad_usage_says_why)
{
	struct tg_options o;
	struct tg_err err;

	assert_usage("", "no ID given");
	assert_usage("-q", "no ID given");
	assert_usage("a/b f", "not an ID");
	assert_usage("-j 0 T1 f", "--threads must be a number from 1 to 4096, not '0'");
	assert_usage("-j 4097 T1 f", "--threads must be a number");
	assert_usage("-w x T1 f", "--width must be a number from 1 to 4096, not 'x'");
	assert_usage("--color=pink T1 f", "--color takes auto, always or never");
	assert_usage("--kafka k T1", "--kafka and --topic go together");
	assert_usage("--topic t T1", "--kafka and --topic go together");
	assert_usage("--since 2h T1 f", "--since and --until narrow an archive lookup");
	assert_usage("--since 1h --until 2h T1", "--since is later than --until");
	assert_usage("--until yesterday T1", "--until takes an RFC 3339 time");
	assert_usage("--since 5y T1", "--since takes an RFC 3339 time");
	/* The first bad option stops the parse, as getopt's own errors do. */
	assert_usage("-j 0 --color=pink T1 f", "--threads");
	/* getopt_long says what is wrong itself: no message of ours. */
	ck_assert_int_eq(parse(&o, &err, "--no-such-option T1 f", NULL), -TG_EINVAL);
	ck_assert_str_eq(err.msg, "");
	tg_options_release(&o);
	ck_assert_int_eq(parse(&o, &err, "T1 f -j", NULL), -TG_EINVAL);
	ck_assert_str_eq(err.msg, "");
	tg_options_release(&o);
}
END_TEST

START_TEST(find_and_its_filters)
{
	struct tg_options o;
	struct tg_err err;

	ck_assert_int_eq(
		parse(&o, &err,
		      "--find --error --service a --service b --route /x/* --limit 5 --sort duration "
		      "--min-duration 2ms --attr user=u1 f1 f2",
		      NULL),
		TG_OPTIONS_RUN);
	ck_assert(o.find && !o.open);
	ck_assert_uint_eq(o.npaths, 2); /* no ID: every word is a PATH */
	ck_assert_str_eq(o.paths[0], "f1");
	ck_assert(o.filter.error);
	ck_assert_uint_eq(o.filter.nservices, 2);
	ck_assert_str_eq(o.filter.routes[0], "/x/*");
	ck_assert(o.filter.min_dur_ns == 2000000);
	ck_assert_uint_eq(o.limit, 5);
	ck_assert_int_eq(o.sort, QY_SORT_DURATION);
	/* The default summary keys, and the --attr key added. */
	ck_assert_uint_eq(o.keys.n, qy_default_nkeys);
	ck_assert_str_eq(o.keys.v[0], "user");
	tg_options_release(&o);

	ck_assert_int_eq(parse(&o, &err, "--find --summary-key sku --attr tenant=t --json f", NULL),
			 TG_OPTIONS_RUN);
	ck_assert_uint_eq(o.keys.n, 2);
	ck_assert_str_eq(o.keys.v[0], "sku");
	ck_assert_str_eq(o.keys.v[1], "tenant");
	ck_assert_int_eq(o.mode, TG_MODE_JSON);
	ck_assert_uint_eq(o.limit, 20);
	ck_assert_int_eq(o.sort, QY_SORT_START);
	tg_options_release(&o);

	/* --since/--until are the window of the transactions' starts on files too. */
	ck_assert_int_eq(parse(&o, &err, "--find --since 2026-11-23T07:00:00Z --open --lines f", NULL),
			 TG_OPTIONS_RUN);
	ck_assert(o.filter.since_ns == INT64_C(1795417200000000000) && o.filter.until_ns == INT64_MAX);
	ck_assert(o.open);
	tg_options_release(&o);

	assert_usage("--find --kafka b --topic t", "not supported yet");
	assert_usage("--error T1 f", "go with --find");
	assert_usage("--limit 3 T1 f", "go with --find");
	assert_usage("--find --lines f", "add --open");
	assert_usage("--find --limit x f", "--limit must be a number");
	assert_usage("--find --sort size f", "--sort takes start or duration");
	assert_usage("--find --status 5x f", "--status takes");
	assert_usage("--find --max-duration 3 f", "--max-duration takes a duration");
	assert_usage("--find --text ( f", "--text '('");
	assert_usage("--find --since 1h --until 2h f", "--since is later than --until");
}
END_TEST

START_TEST(help_lists_every_option_of_the_table)
{
	struct tg_options o;
	struct tg_err err;
	char *help = NULL;

	ck_assert_int_eq(parse(&o, &err, "--help", &help), TG_OPTIONS_DONE);
	tg_options_release(&o);
	ck_assert_ptr_nonnull(strstr(help, "Usage: tracegrep [OPTIONS] ID [PATH...]\n"));
	for (size_t i = 0; i < tg_option_count; i++) {
		const struct tg_option *opt = &tg_option_table[i];
		char want[64];

		if (!opt->name || !opt->help)
			continue;
		if (opt->key < 256)
			snprintf(want, sizeof(want), "  -%c, --%s%s", opt->key, opt->name,
				 opt->arg ? opt->arg : "");
		else
			snprintf(want, sizeof(want), "      --%s%s", opt->name, opt->arg ? opt->arg : "");
		ck_assert_msg(strstr(help, want), "--help does not list '%s'", want);
	}
	/* A help line that is too long for the column puts the text on the next line. */
	ck_assert_ptr_nonnull(
		strstr(help, "      --kafka-property NAME=VALUE\n                        a librdkafka"));
	free(help);
	help = NULL;
	ck_assert_int_eq(parse(&o, &err, "T1 -V", &help), TG_OPTIONS_DONE);
	tg_options_release(&o);
	ck_assert_str_eq(help, "tracegrep (clew) " TG_VERSION "\n");
	free(help);
}
END_TEST

/* @name with each '-' as roff's "\-". */
static void roff_name(const char *name, char *out, size_t n)
{
	size_t j = 0;

	for (const char *p = name; *p && j + 3 < n; p++) {
		if (*p == '-')
			out[j++] = '\\';
		out[j++] = *p;
	}
	out[j] = '\0';
}

static const struct tg_option *option_named(const char *name, size_t len)
{
	for (size_t i = 0; i < tg_option_count; i++) {
		const char *o = tg_option_table[i].name;

		if (o && strlen(o) == len && memcmp(o, name, len) == 0)
			return &tg_option_table[i];
	}
	return NULL;
}

START_TEST(the_manual_documents_the_table_and_nothing_else)
{
	const char *root = getenv("CLEW_SOURCE_ROOT");
	char path[4096], *man;
	size_t named = 0;

	ck_assert_msg(root != NULL, "CLEW_SOURCE_ROOT is not set");
	snprintf(path, sizeof(path), "%s/cli/tracegrep.1", root);
	man = th_slurp_must(path, NULL);
	for (size_t i = 0; i < tg_option_count; i++) {
		const struct tg_option *opt = &tg_option_table[i];
		char want[128], rn[64];

		if (!opt->name)
			continue;
		roff_name(opt->name, rn, sizeof(rn));
		snprintf(want, sizeof(want), "\\-\\-%s", rn);
		ck_assert_msg(strstr(man, want), "tracegrep.1 does not document --%s", opt->name);
		if (opt->key < 256) {
			snprintf(want, sizeof(want), ".BR \\-%c \", \" \\-\\-%s", opt->key, rn);
			ck_assert_msg(strstr(man, want), "tracegrep.1 does not give -%c beside --%s",
				      opt->key, opt->name);
		}
	}
	/* And the other way: every \-\-name in the manual is an option of the table. */
	for (const char *p = strstr(man, "\\-\\-"); p; p = strstr(p, "\\-\\-")) {
		char name[64];
		size_t n = 0;

		p += 4;
		while (n + 1 < sizeof(name)) {
			if (*p >= 'a' && *p <= 'z')
				name[n++] = *p++;
			else if (p[0] == '\\' && p[1] == '-' && p[2] >= 'a' && p[2] <= 'z')
				name[n++] = '-', p += 2;
			else
				break;
		}
		ck_assert_msg(n > 0, "tracegrep.1: \\-\\- without a name at byte %td", p - man);
		ck_assert_msg(option_named(name, n), "tracegrep.1 names --%.*s, which is no option", (int)n,
			      name);
		named++;
	}
	ck_assert_uint_gt(named, tg_option_count / 2);
	free(man);
}
END_TEST

static Suite *options_suite(void)
{
	Suite *s = suite_create("tracegrep options");
	TCase *tc = tcase_create("options");

	tcase_add_test(tc, defaults_and_paths);
	tcase_add_test(tc, no_path_reads_the_archive);
	tcase_add_test(tc, output_modes);
	tcase_add_test(tc, archive_and_kafka_values);
	tcase_add_test(tc, bad_usage_says_why);
	tcase_add_test(tc, find_and_its_filters);
	tcase_add_test(tc, help_lists_every_option_of_the_table);
	tcase_add_test(tc, the_manual_documents_the_table_and_nothing_else);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(options_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
