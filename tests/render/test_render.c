/*
 * test_render.c - the waterfall page's HTML for spans whose page we know:
 * log text made safe and escaped in the rows and in the data blob (which
 * a log line can neither end nor break), bars placed on one axis whatever
 * the depth, a subtree's end, the API's refusals, and the script's hash in
 * the Content-Security-Policy equal to openssl's SHA-256 of the script.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "render/waterfall.h"

struct page {
	struct wf_page *p;
	char *html;
	size_t len;
};

static int span(struct page *pg, const char *id, int parent, const char *name, int64_t start, int64_t end)
{
	struct wf_span_spec s = {.id = id,
				 .parent = parent,
				 .service = "svc",
				 .name = name,
				 .has_time = true,
				 .start_ns = start,
				 .end_ns = end};

	return wf_span(pg->p, &s);
}

static void render(struct page *pg)
{
	struct wf_meta m = {.title = "t", .heading = "h", .trace = "T"};

	ck_assert_int_eq(wf_render(pg->p, &m, &pg->html, &pg->len), 0);
	ck_assert_uint_eq(strlen(pg->html), pg->len);
}

static void done(struct page *pg)
{
	free(pg->html);
	wf_page_free(pg->p);
}

/* The data blob: between its opening tag and the </script> after it. */
static char *blob(const struct page *pg)
{
	const char *a = strstr(pg->html, "id=\"wf-data\">"), *b;

	ck_assert_ptr_nonnull(a);
	a = strchr(a, '>') + 1;
	b = strstr(a, "</script>");
	ck_assert_ptr_nonnull(b);
	return strndup(a, (size_t)(b - a));
}

START_TEST(names_are_made_safe_and_html_escaped_in_the_rows)
{
	struct page pg = {.p = wf_page_new()};

	span(&pg, "a\"b", -1, "x\x1b[31m<b>'&\xc2\x9b\xff", 0, 10);
	render(&pg);
	ck_assert_ptr_nonnull(strstr(pg.html, "data-span=\"a&quot;b\""));
	ck_assert_ptr_nonnull(
		strstr(pg.html, "<span class=\"op\">x\\e[31m&lt;b&gt;&#39;&amp;\\u009b\\xff</span>"));
	ck_assert_ptr_null(strchr(pg.html, 0x1b));
	ck_assert_ptr_null(strstr(pg.html, "\xc2\x9b"));
	done(&pg);
}
END_TEST

START_TEST(a_log_line_can_neither_end_nor_break_the_data_blob)
{
	struct page pg = {.p = wf_page_new()};
	const char msg[] = "</script><script>alert(1)</script>\xe2\x80\xa8\xe2\x80\xa9&\"\\\nnext\tline";
	char *b;

	span(&pg, "s", -1, "n", 0, 10);
	ck_assert_int_eq(wf_log(pg.p, 5, "ERROR", msg, strlen(msg), true), 0);
	ck_assert_int_eq(wf_log_field(pg.p, "k<", 2, "v>", 2), 0);
	render(&pg);
	b = blob(&pg);
	ck_assert_ptr_nonnull(
		strstr(b, "\"\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"
			  "\\u2028\\u2029\\u0026\\\"\\\\\\nnext\\tline\""));
	ck_assert_ptr_nonnull(strstr(b, "[[\"k\\u003c\",\"v\\u003e\"]],1]"));
	ck_assert_ptr_null(strchr(b, '<'));
	ck_assert_ptr_null(strstr(b, "\xe2\x80\xa8"));
	free(b);
	done(&pg);
}
END_TEST

START_TEST(bars_share_one_axis_whatever_the_depth)
{
	struct page pg = {.p = wf_page_new()};
	int r = span(&pg, "root", -1, "r", 1000, 1100);
	int a = span(&pg, "a", r, "a", 1050, 1075);

	span(&pg, "b", a, "b", 1050, 1060);
	render(&pg);
	/* a (depth 1) and b (depth 2) both start at 50 % of the root's window. */
	ck_assert_ptr_nonnull(
		strstr(pg.html, "data-span=\"a\"><span class=\"n\" style=\"padding-left:18px\">"));
	ck_assert_ptr_nonnull(
		strstr(pg.html, "data-span=\"b\"><span class=\"n\" style=\"padding-left:32px\">"));
	ck_assert_uint_eq((size_t)(strstr(pg.html, "left:50.0000%;width:25.0000%") != NULL), 1);
	ck_assert_uint_eq((size_t)(strstr(pg.html, "left:50.0000%;width:10.0000%") != NULL), 1);
	ck_assert_ptr_nonnull(strstr(pg.html, "left:0.0000%;width:100.0000%"));
	/* The ruler: 0 and the whole window, 100ns. */
	ck_assert_ptr_nonnull(strstr(pg.html, "style=\"left:0%\">0</i>"));
	ck_assert_ptr_nonnull(strstr(pg.html, "style=\"left:100%\">100ns</i>"));
	done(&pg);
}
END_TEST

START_TEST(a_subtree_ends_at_its_last_descendant)
{
	struct page pg = {.p = wf_page_new()};
	int r = span(&pg, "root", -1, "r", 0, 100);
	int a = span(&pg, "a", r, "a", 0, 50);
	char *b;

	span(&pg, "a1", a, "a1", 0, 10);
	span(&pg, "a2", a, "a2", 10, 20);
	span(&pg, "c", r, "c", 50, 60);
	render(&pg);
	b = blob(&pg);
	ck_assert_ptr_nonnull(
		strstr(b, "{\"id\":\"root\",\"svc\":\"svc\",\"op\":\"r\",\"st\":\"\",\"s\":0,\"d\":100,"
			  "\"p\":-1,\"e\":4,"));
	ck_assert_ptr_nonnull(
		strstr(b, "{\"id\":\"a\",\"svc\":\"svc\",\"op\":\"a\",\"st\":\"\",\"s\":0,\"d\":50,"
			  "\"p\":0,\"e\":3,"));
	ck_assert_ptr_nonnull(
		strstr(b, "\"id\":\"c\",\"svc\":\"svc\",\"op\":\"c\",\"st\":\"\",\"s\":50,\"d\":10,"
			  "\"p\":0,\"e\":4,"));
	/* A parent has a fold toggle, a leaf none. */
	ck_assert_ptr_nonnull(strstr(
		pg.html, "data-span=\"a\"><span class=\"n\" style=\"padding-left:18px\"><b class=\"tg\""));
	ck_assert_ptr_nonnull(strstr(
		pg.html, "data-span=\"c\"><span class=\"n\" style=\"padding-left:18px\"><b class=\"lf\""));
	free(b);
	done(&pg);
}
END_TEST

START_TEST(tags_go_before_logs_and_need_a_span)
{
	struct page pg = {.p = wf_page_new()};

	ck_assert_int_eq(wf_tag(pg.p, "k", "v", 1), -1);
	ck_assert_int_eq(wf_log(pg.p, 0, NULL, "m", 1, false), -1);
	ck_assert_int_eq(wf_log_field(pg.p, "k", 1, "v", 1), -1);
	span(&pg, "s", -1, NULL, 0, 0);
	ck_assert_int_eq(wf_tag(pg.p, "k", "v", 1), 0);
	ck_assert_int_eq(wf_log(pg.p, 0, NULL, "m", 1, false), 0);
	ck_assert_int_eq(wf_tag(pg.p, "k2", "v", 1), -1);
	render(&pg);
	ck_assert_ptr_nonnull(strstr(pg.html, "<span class=\"op\">span</span>")); /* no name */
	done(&pg);
}
END_TEST

START_TEST(the_policy_allows_the_page_script_by_its_sha256)
{
	struct page pg = {.p = wf_page_new()};
	const char *csp = wf_csp(), *s, *e;
	char path[] = "/tmp/wf-script-XXXXXX", cmd[256], want[128] = "", got[192];
	FILE *f;
	int fd;

	span(&pg, "s", -1, "n", 0, 1);
	render(&pg);
	ck_assert_ptr_nonnull(strstr(csp, "default-src 'none'"));
	ck_assert_ptr_null(strstr(csp, "script-src 'unsafe-inline'"));
	/* the <meta> holds the same policy */
	snprintf(got, sizeof(got), "content=\"%.100s", csp);
	ck_assert_ptr_nonnull(strstr(pg.html, got));
	s = strstr(pg.html, "</script>\n<script>");
	ck_assert_ptr_nonnull(s);
	s += strlen("</script>\n<script>");
	e = strstr(s, "</script>");
	ck_assert_ptr_nonnull(e);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_uint_eq(fwrite(s, 1, (size_t)(e - s), f), (size_t)(e - s));
	fclose(f);
	snprintf(cmd, sizeof(cmd), "openssl dgst -sha256 -binary '%s' | base64 -w0", path);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(want, sizeof(want), f));
	ck_assert_int_eq(pclose(f), 0);
	unlink(path);
	snprintf(got, sizeof(got), "script-src 'sha256-%s'", want);
	ck_assert_msg(strstr(csp, got), "policy %s, openssl says %s", csp, want);
	done(&pg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("render");
	TCase *tc = tcase_create("waterfall");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, names_are_made_safe_and_html_escaped_in_the_rows);
	tcase_add_test(tc, a_log_line_can_neither_end_nor_break_the_data_blob);
	tcase_add_test(tc, bars_share_one_axis_whatever_the_depth);
	tcase_add_test(tc, a_subtree_ends_at_its_last_descendant);
	tcase_add_test(tc, tags_go_before_logs_and_need_a_span);
	tcase_add_test(tc, the_policy_allows_the_page_script_by_its_sha256);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
