/*
 * test_client.c - options, configuration from the environment, the
 * client's lifecycle, errors and version (libtrace/src/client.c, error.c,
 * sink.c opening).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "th_file.h"

#include "clew/clew.h"

static char last_diag[512];
static int ndiag;

static void on_diag(void *cookie, int level, const char *msg)
{
	(void)level;
	ck_assert_ptr_eq(cookie, &ndiag);
	ndiag++;
	snprintf(last_diag, sizeof(last_diag), "%s", msg);
}

static struct clew_options opts(void)
{
	struct clew_options o;

	clew_options_default(&o);
	o.on_diag = on_diag;
	o.cookie = &ndiag;
	return o;
}

static void clear_env(void)
{
	unsetenv("CLEW_SERVICE");
	unsetenv("CLEW_FORMAT");
	unsetenv("CLEW_LEVEL");
	unsetenv("CLEW_OUTPUT");
	ndiag = 0;
	last_diag[0] = '\0';
}

START_TEST(options_default_leaves_everything_unset)
{
	struct clew_options o;

	memset(&o, 0xa5, sizeof(o));
	clew_options_default(&o);
	ck_assert_ptr_null(o.service);
	ck_assert_ptr_null(o.output);
	ck_assert_int_eq(o.format, CLEW_FORMAT_UNSET);
	ck_assert_int_eq(o.level, CLEW_LEVEL_UNSET);
	ck_assert_int_eq(o.id_kind, CLEW_ID_UNSET);
	ck_assert(o.on_diag == NULL);
	for (size_t i = 0; i < sizeof(o.reserved); i++)
		ck_assert_uint_eq(o.reserved[i], 0);
}
END_TEST

START_TEST(client_without_options_or_environment_uses_the_defaults)
{
	clew_client *c = NULL;

	clear_env();
	ck_assert_int_eq(clew_client_new(&c, NULL), 0);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(clew_client_service(c), program_invocation_short_name);
	ck_assert_str_eq(clew_client_output(c), "stderr");
	ck_assert_int_eq(clew_client_format(c), CLEW_FORMAT_PIPE);
	ck_assert_int_eq(clew_client_level(c), CLEW_LEVEL_INFO);
	ck_assert_int_eq(clew_client_id_kind(c), CLEW_ID_HEX);
	clew_client_free(c);
}
END_TEST

START_TEST(environment_configures_the_client)
{
	clew_client *c = NULL;
	struct clew_options o = opts();

	clear_env();
	setenv("CLEW_SERVICE", "orders", 1);
	setenv("CLEW_FORMAT", "JSON", 1);
	setenv("CLEW_LEVEL", "warning", 1);
	setenv("CLEW_OUTPUT", "stdout", 1);
	ck_assert_int_eq(clew_client_new(&c, &o), 0);
	ck_assert_str_eq(clew_client_service(c), "orders");
	ck_assert_int_eq(clew_client_format(c), CLEW_FORMAT_JSON);
	ck_assert_int_eq(clew_client_level(c), CLEW_LEVEL_WARN);
	ck_assert_str_eq(clew_client_output(c), "stdout");
	ck_assert_int_eq(ndiag, 0);
	clew_client_free(c);
}
END_TEST

START_TEST(options_set_in_code_override_the_environment)
{
	clew_client *c = NULL;
	struct clew_options o = opts();

	clear_env();
	setenv("CLEW_SERVICE", "orders", 1);
	setenv("CLEW_FORMAT", "json", 1);
	setenv("CLEW_LEVEL", "error", 1);
	o.service = "billing";
	o.format = CLEW_FORMAT_PIPE;
	o.level = CLEW_LEVEL_DEBUG;
	o.output = "stderr";
	ck_assert_int_eq(clew_client_new(&c, &o), 0);
	ck_assert_str_eq(clew_client_service(c), "billing");
	ck_assert_int_eq(clew_client_format(c), CLEW_FORMAT_PIPE);
	ck_assert_int_eq(clew_client_level(c), CLEW_LEVEL_DEBUG);
	clew_client_free(c);
}
END_TEST

START_TEST(ignore_env_flag_skips_the_environment)
{
	clew_client *c = NULL;
	struct clew_options o = opts();

	clear_env();
	setenv("CLEW_SERVICE", "orders", 1);
	setenv("CLEW_LEVEL", "nonsense", 1);
	o.flags = CLEW_OPT_IGNORE_ENV;
	ck_assert_int_eq(clew_client_new(&c, &o), 0);
	ck_assert_str_ne(clew_client_service(c), "orders");
	ck_assert_int_eq(clew_client_level(c), CLEW_LEVEL_INFO);
	clew_client_free(c);
}
END_TEST

static const char *const bad_env[][2] = {
	{"CLEW_FORMAT", "xml"},
	{"CLEW_LEVEL", "loud"},
	{"CLEW_OUTPUT", "syslog"},
	{"CLEW_OUTPUT", "file:"},
	{"CLEW_OUTPUT", "udp:localhost"},
	{"CLEW_OUTPUT", "udp:localhost:0"},
	{"CLEW_OUTPUT", "tcp:localhost:65536"},
	{"CLEW_OUTPUT", "tcp::514"},
	{"CLEW_OUTPUT", "tcp:[::1:514"},
};

START_TEST(invalid_environment_values_fail_with_a_diagnostic_naming_them)
{
	clew_client *c = NULL;
	struct clew_options o = opts();

	clear_env();
	setenv(bad_env[_i][0], bad_env[_i][1], 1);
	ck_assert_int_eq(clew_client_new(&c, &o), -CLEW_ECONFIG);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(ndiag, 1);
	ck_assert_ptr_nonnull(strstr(last_diag, bad_env[_i][1]));
}
END_TEST

START_TEST(invalid_options_are_rejected_and_out_is_untouched)
{
	clew_client *c = (clew_client *)&ndiag;
	struct clew_options o;

	clear_env();
	ck_assert_int_eq(clew_client_new(NULL, NULL), -CLEW_EINVAL);
	o = opts();
	o.reserved[7] = 1;
	ck_assert_int_eq(clew_client_new(&c, &o), -CLEW_EINVAL);
	o = opts();
	o.format = 3;
	ck_assert_int_eq(clew_client_new(&c, &o), -CLEW_EINVAL);
	o = opts();
	o.level = 8;
	ck_assert_int_eq(clew_client_new(&c, &o), -CLEW_EINVAL);
	o = opts();
	o.id_kind = -1;
	ck_assert_int_eq(clew_client_new(&c, &o), -CLEW_EINVAL);
	o = opts();
	o.flags = 1u << 9;
	ck_assert_int_eq(clew_client_new(&c, &o), -CLEW_EINVAL);
	o = opts();
	o.output = "file:/nonexistent-dir/x.log";
	ck_assert_int_eq(clew_client_new(&c, &o), -CLEW_EIO);
	ck_assert_ptr_nonnull(strstr(last_diag, "/nonexistent-dir/x.log"));
	ck_assert_ptr_eq(c, (clew_client *)&ndiag);
}
END_TEST

START_TEST(file_and_udp_outputs_open)
{
	char path[64], spec[80];
	clew_client *c = NULL;
	struct clew_options o = opts();

	th_tmpfile(path, sizeof(path), "/tmp", "clew-test");
	snprintf(spec, sizeof(spec), "file:%s", path);
	o.output = spec;
	ck_assert_int_eq(clew_client_new(&c, &o), 0);
	ck_assert_str_eq(clew_client_output(c), spec);
	clew_client_free(c);
	unlink(path);

	o.output = "udp:127.0.0.1:9"; /* connect() of a datagram socket needs no listener */
	ck_assert_int_eq(clew_client_new(&c, &o), 0);
	clew_client_free(c);
}
END_TEST

START_TEST(level_can_change_at_run_time_and_gates_enabled)
{
	clew_client *c = NULL;
	struct clew_options o = opts();

	o.level = CLEW_LEVEL_WARN;
	ck_assert_int_eq(clew_client_new(&c, &o), 0);
	ck_assert(!clew_enabled(c, CLEW_LEVEL_INFO));
	ck_assert(clew_enabled(c, CLEW_LEVEL_WARN));
	ck_assert(clew_enabled(c, CLEW_LEVEL_FATAL));
	ck_assert_int_eq(clew_client_set_level(c, CLEW_LEVEL_TRACE), 0);
	ck_assert(clew_enabled(c, CLEW_LEVEL_TRACE));
	ck_assert_int_eq(clew_client_set_level(c, CLEW_LEVEL_OFF), 0);
	ck_assert(!clew_enabled(c, CLEW_LEVEL_FATAL));
	ck_assert(!clew_enabled(c, CLEW_LEVEL_OFF));
	ck_assert_int_eq(clew_client_set_level(c, 0), -CLEW_EINVAL);
	ck_assert_int_eq(clew_client_set_level(NULL, CLEW_LEVEL_INFO), -CLEW_EINVAL);
	ck_assert(!clew_enabled(NULL, CLEW_LEVEL_FATAL));
	clew_client_free(c);
}
END_TEST

START_TEST(free_accepts_null)
{
	clew_client_free(NULL);
}
END_TEST

START_TEST(levels_have_names_and_parse_back)
{
	for (int l = CLEW_LEVEL_TRACE; l <= CLEW_LEVEL_OFF; l++)
		ck_assert_int_eq(clew_level_parse(clew_level_name(l)), l);
	ck_assert_int_eq(clew_level_parse("Info"), CLEW_LEVEL_INFO);
	ck_assert_int_eq(clew_level_parse("verbose"), -CLEW_EINVAL);
	ck_assert_int_eq(clew_level_parse(NULL), -CLEW_EINVAL);
	ck_assert_ptr_null(clew_level_name(0));
	ck_assert_ptr_null(clew_level_name(8));
}
END_TEST

START_TEST(every_error_code_has_its_own_text_and_unknown_ones_a_generic_one)
{
	ck_assert_str_eq(clew_strerror(0), "success");
	for (int e = CLEW_EINVAL; e <= CLEW_EMISMATCH; e++) {
		ck_assert_str_eq(clew_strerror(e), clew_strerror(-e));
		ck_assert_str_ne(clew_strerror(e), "unknown error");
		for (int f = CLEW_EINVAL; f < e; f++)
			ck_assert_str_ne(clew_strerror(e), clew_strerror(f));
	}
	ck_assert_str_eq(clew_strerror(-1000), "unknown error");
}
END_TEST

START_TEST(runtime_version_matches_the_header)
{
	char text[32];

	ck_assert_uint_eq(clew_version(), CLEW_VERSION_HEX);
	snprintf(text, sizeof(text), "%d.%d.%d", CLEW_VERSION_MAJOR, CLEW_VERSION_MINOR, CLEW_VERSION_PATCH);
	ck_assert_str_eq(clew_version_string(), text);
	ck_assert_str_eq(CLEW_VERSION_STRING, text);
}
END_TEST

static Suite *client_suite(void)
{
	Suite *s = suite_create("client");
	TCase *tc = tcase_create("client");

	tcase_add_test(tc, options_default_leaves_everything_unset);
	tcase_add_test(tc, client_without_options_or_environment_uses_the_defaults);
	tcase_add_test(tc, environment_configures_the_client);
	tcase_add_test(tc, options_set_in_code_override_the_environment);
	tcase_add_test(tc, ignore_env_flag_skips_the_environment);
	tcase_add_loop_test(tc, invalid_environment_values_fail_with_a_diagnostic_naming_them, 0,
			    (int)(sizeof(bad_env) / sizeof(bad_env[0])));
	tcase_add_test(tc, invalid_options_are_rejected_and_out_is_untouched);
	tcase_add_test(tc, file_and_udp_outputs_open);
	tcase_add_test(tc, level_can_change_at_run_time_and_gates_enabled);
	tcase_add_test(tc, free_accepts_null);
	tcase_add_test(tc, levels_have_names_and_parse_back);
	tcase_add_test(tc, every_error_code_has_its_own_text_and_unknown_ones_a_generic_one);
	tcase_add_test(tc, runtime_version_matches_the_header);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(client_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
