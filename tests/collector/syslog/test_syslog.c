/*
 * test_syslog.c - the syslog decoder (collector/parse/syslog.c) on RFC
 * 5424's own examples (section 6.5), RFC 3164's (section 5.4), malformed
 * messages, the record it makes of them, and RFC 6587 framing with frames
 * split at every byte.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/str.h"
#include "parse/syslog.h"

/* 2003-12-01T00:00:00Z: RFC 3164's examples have no year; this puts them in 2003. */
#define NOW_2003 (1070236800LL * 1000000000)

static struct syslog_msg m;

static int parse(const char *s)
{
	return syslog_parse(s, strlen(s), NOW_2003, &m);
}

/* Whether view @v holds exactly @lit (NULL: absent). */
static void is(const struct fmt_str *v, const char *lit)
{
	if (!lit) {
		ck_assert_msg(v->ptr == NULL, "expected absent, got '%.*s'", (int)v->len, v->ptr);
		return;
	}
	ck_assert_msg(v->ptr != NULL, "expected '%s', got absent", lit);
	ck_assert_msg(v->len == strlen(lit) && memcmp(v->ptr, lit, v->len) == 0, "expected '%s', got '%.*s'",
		      lit, (int)v->len, v->ptr);
}

/* Errors first: what is not syslog says why. */
START_TEST(malformed_messages_say_why)
{
	static const struct {
		const char *msg;
		int err;
	} cases[] = {
		{"", SYSLOG_E_EMPTY},
		{" \r\n", SYSLOG_E_EMPTY},
		{"Use the BFG!", SYSLOG_E_PRI}, /* RFC 3164 5.4's example without a PRI */
		{"<192>1 - - - - - -", SYSLOG_E_PRI},
		{"<034>1 - - - - - -", SYSLOG_E_PRI},
		{"<>1 - - - - - -", SYSLOG_E_PRI},
		{"<1234>x", SYSLOG_E_PRI},
		{"<34", SYSLOG_E_PRI},
		{"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su", SYSLOG_E_HEADER},
		{"<34>1 2003-10-11T22:14:15.003Z  host su - ID47 -", SYSLOG_E_HEADER},
		{"<34>1 - - - - -", SYSLOG_E_HEADER},
		{"<34>1 - - - - - [bad", SYSLOG_E_SD},
		{"<34>1 - - - - - [id a=b]", SYSLOG_E_SD},
		{"<34>1 - - - - - [id a=\"b]", SYSLOG_E_SD},
		{"<34>1 - - - - - [ a=\"b\"]", SYSLOG_E_SD},
		{"<34>1 - - - - - -x", SYSLOG_E_SD},
		{"<34>1 - - - - - [id a=\"b\"]x", SYSLOG_E_SD},
		{"<34>1 - - - - - x", SYSLOG_E_SD},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse(cases[i].msg);
		ck_assert_msg(rc == -cases[i].err, "'%s': expected %s, got %s", cases[i].msg,
			      syslog_strerror(cases[i].err), syslog_strerror(rc));
	}
	ck_assert_str_eq(syslog_strerror(-SYSLOG_E_SD), "bad_structured_data");
}
END_TEST

START_TEST(rfc5424_example_1_no_structured_data)
{
	ck_assert_int_eq(parse("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
			       "\xEF\xBB\xBF'su root' failed for lonvick on /dev/pts/8"),
			 0);
	ck_assert_int_eq(m.kind, SYSLOG_RFC5424);
	ck_assert_int_eq(m.facility, 4);
	ck_assert_int_eq(m.severity, 2);
	ck_assert(m.has_ts);
	ck_assert_int_eq(m.ts_ns, 1065910455003000000LL);
	is(&m.ts, "2003-10-11T22:14:15.003Z");
	is(&m.host, "mymachine.example.com");
	is(&m.app, "su");
	is(&m.procid, NULL);
	is(&m.msgid, "ID47");
	is(&m.sd, NULL);
	is(&m.body, "'su root' failed for lonvick on /dev/pts/8"); /* the BOM is not the message's */
}
END_TEST

START_TEST(rfc5424_example_2_offset_and_no_msgid)
{
	ck_assert_int_eq(parse("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's "
			       "time to make the do-nuts."),
			 0);
	ck_assert_int_eq(m.facility, 20);
	ck_assert_int_eq(m.severity, 5);
	ck_assert_int_eq(m.ts_ns, 1061727255000003000LL);
	is(&m.host, "192.0.2.1");
	is(&m.app, "myproc");
	is(&m.procid, "8710");
	is(&m.msgid, NULL);
	is(&m.body, "%% It's time to make the do-nuts.");
}
END_TEST

START_TEST(rfc5424_example_3_structured_data_and_message)
{
	struct syslog_sd_iter it = {0, {NULL, 0, 0}};
	struct fmt_str name, value;
	bool esc;

	ck_assert_int_eq(parse("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
			       "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] "
			       "\xEF\xBB\xBF"
			       "An application event log entry..."),
			 0);
	is(&m.sd, "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]");
	is(&m.body, "An application event log entry...");
	ck_assert(syslog_sd_next(&m, &it, &name, &value, &esc));
	is(&it.id, "exampleSDID@32473");
	is(&name, "iut");
	is(&value, "3");
	ck_assert(syslog_sd_next(&m, &it, &name, &value, &esc));
	is(&name, "eventSource");
	is(&value, "Application");
	ck_assert(syslog_sd_next(&m, &it, &name, &value, &esc));
	is(&name, "eventID");
	is(&value, "1011");
	ck_assert(!syslog_sd_next(&m, &it, &name, &value, &esc));
}
END_TEST

START_TEST(rfc5424_example_4_structured_data_only)
{
	static struct fmt_record r;
	static char scratch[1024];
	const struct fmt_attr *a;

	ck_assert_int_eq(parse("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
			       "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]"
			       "[examplePriority@32473 class=\"high\"]"),
			 0);
	is(&m.body, "");
	ck_assert_int_eq(syslog_record(&m, CD_PARSER_AUTO, NULL, &r, scratch, sizeof(scratch)), 0);
	ck_assert_int_eq(r.level, FMT_LEVEL_INFO); /* notice */
	is(&r.service, "evntslog");
	ck_assert_int_eq(r.ts_ns, 1065910455003000000LL);
	ck_assert_ptr_nonnull(a = fmt_record_attr(&r, "examplePriority@32473.class"));
	is(&a->val, "high");
	ck_assert_ptr_nonnull(a = fmt_record_attr(&r, "exampleSDID@32473.eventID"));
	is(&a->val, "1011");
	ck_assert_ptr_nonnull(a = fmt_record_attr(&r, "host"));
	is(&a->val, "mymachine.example.com");
	ck_assert_ptr_nonnull(a = fmt_record_attr(&r, "msgid"));
	is(&a->val, "ID47");
	ck_assert_ptr_nonnull(a = fmt_record_attr(&r, "facility"));
	is(&a->val, "local4");
	ck_assert_ptr_nonnull(a = fmt_record_attr(&r, "syslog_severity"));
	is(&a->val, "notice");
	ck_assert_ptr_null(fmt_record_attr(&r, "procid"));
}
END_TEST

START_TEST(rfc3164_examples)
{
	/* 5.4, example 1 */
	ck_assert_int_eq(
		parse("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8"), 0);
	ck_assert_int_eq(m.kind, SYSLOG_RFC3164);
	ck_assert(m.has_ts);
	ck_assert_int_eq(m.ts_ns, 1065910455LL * 1000000000);
	is(&m.host, "mymachine");
	is(&m.app, "su");
	is(&m.body, "'su root' failed for lonvick on /dev/pts/8");
	/* example 3: read as rsyslog reads it, the word after the host being the tag */
	ck_assert_int_eq(parse("<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time to make the "
			       "do-nuts."),
			 0);
	is(&m.host, "CST");
	is(&m.app, "1987");
	is(&m.body, "mymachine myproc[10]: %% It's time to make the do-nuts.");
	/* rsyslog's traditional forward format: the tag without its colon */
	ck_assert_int_eq(parse("<13>Oct 11 22:14:15 vm via-rsyslog relayed #0"), 0);
	is(&m.host, "vm");
	is(&m.app, "via-rsyslog");
	is(&m.body, "relayed #0");
	/* example 4: no valid time, so everything after the PRI is the message (4.3.2) */
	ck_assert_int_eq(parse("<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: "
			       "That's All Folks!"),
			 0);
	ck_assert(!m.has_ts);
	ck_assert_int_eq(m.severity, 0);
	is(&m.host, NULL);
	is(&m.body,
	   "1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!");
	ck_assert_int_eq(syslog_level(m.severity), FMT_LEVEL_FATAL);
}
END_TEST

START_TEST(rfc3164_local_lines_have_no_hostname)
{
	/* what glibc's syslog() and logger write to /dev/log */
	ck_assert_int_eq(parse("<13>Dec  6 04:30:00 myapp[4242]: started\n"), 0);
	is(&m.host, NULL);
	is(&m.app, "myapp");
	is(&m.procid, "4242");
	is(&m.body, "started");
	ck_assert_int_eq(parse("<13>Dec  6 04:30:00 cron: tick"), 0);
	is(&m.host, NULL);
	is(&m.app, "cron");
	/* rsyslog's RFC 3339 time in a BSD header */
	ck_assert_int_eq(parse("<14>2003-10-11T22:14:15.003Z host1 app: m"), 0);
	ck_assert_int_eq(m.ts_ns, 1065910455003000000LL);
	is(&m.host, "host1");
	is(&m.app, "app");
}
END_TEST

START_TEST(rfc3164_year_is_the_nearest)
{
	/* a December message read on 2 January 2004 is from 2003 */
	ck_assert_int_eq(syslog_parse("<13>Dec 31 23:59:59 h a: m", 26, 1073001600LL * 1000000000, &m), 0);
	ck_assert_int_eq(m.ts_ns, 1072915199LL * 1000000000);
}
END_TEST

START_TEST(severities_map_to_levels)
{
	static const enum fmt_level want[8] = {FMT_LEVEL_FATAL, FMT_LEVEL_FATAL, FMT_LEVEL_FATAL,
					       FMT_LEVEL_ERROR, FMT_LEVEL_WARN,	 FMT_LEVEL_INFO,
					       FMT_LEVEL_INFO,	FMT_LEVEL_DEBUG};

	for (unsigned s = 0; s < 8; s++)
		ck_assert_int_eq(syslog_level(s), want[s]);
	ck_assert_str_eq(syslog_severity_name(4), "warning");
	ck_assert_str_eq(syslog_facility_name(16), "local0");
}
END_TEST

START_TEST(a_json_body_is_a_whole_record_and_its_fields_win)
{
	static struct fmt_record r;
	static char scratch[2048];
	const struct fmt_attr *a;
	const char *s =
		"<131>1 2003-10-11T22:14:15.003Z web1 shop 77 REQ [ctx@1 trace_id=\"t-sd\" "
		"k=\"a \\\"q\\\" \\] \\\\\"] {\"msg\":\"paid\",\"level\":\"info\",\"host\":\"body-host\","
		"\"trace_id\":\"t-body\",\"service\":\"payments\"}";

	ck_assert_int_eq(syslog_parse(s, strlen(s), NOW_2003, &m), 0);
	ck_assert_int_eq(syslog_record(&m, CD_PARSER_AUTO, NULL, &r, scratch, sizeof(scratch)), 0);
	is(&r.message, "paid");
	ck_assert_int_eq(r.level, FMT_LEVEL_INFO); /* the body's, not err's ERROR */
	is(&r.service, "payments");		   /* not the APP-NAME */
	is(&r.trace, "t-body");			   /* not the SD's */
	ck_assert_ptr_nonnull(a = fmt_record_attr(&r, "host"));
	is(&a->val, "body-host");
	ck_assert_ptr_nonnull(a = fmt_record_attr(&r, "app"));
	is(&a->val, "shop");
	ck_assert_ptr_nonnull(a = fmt_record_attr(&r, "procid"));
	is(&a->val, "77");
	ck_assert_ptr_nonnull(a = fmt_record_attr(&r, "ctx@1.k"));
	is(&a->val, "a \"q\" ] \\");
}
END_TEST

START_TEST(trace_context_comes_from_sd_or_plain_words)
{
	static struct fmt_record r;
	static char scratch[2048];
	const char *s1 =
		"<14>1 - h a - - [t@1 traceparent=\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\"] "
		"plain";
	const char *s2 = "<14>Oct 11 22:14:15 h a: GET /x request_id=req-9 span_id=sp1 took 3ms";
	const char *s3 = "<14>1 - h a - - [r@1 X-Request-ID=\"rq-7\"] hello";

	ck_assert_int_eq(syslog_parse(s1, strlen(s1), NOW_2003, &m), 0);
	syslog_record(&m, CD_PARSER_AUTO, NULL, &r, scratch, sizeof(scratch));
	is(&r.trace, "0af7651916cd43dd8448eb211c80319c");
	is(&r.span, "b7ad6b7169203331");
	ck_assert_int_eq(r.nids, 2);
	ck_assert_int_eq(syslog_parse(s2, strlen(s2), NOW_2003, &m), 0);
	syslog_record(&m, CD_PARSER_AUTO, NULL, &r, scratch, sizeof(scratch));
	is(&r.trace, "req-9");
	is(&r.span, "sp1");
	is(&r.message, "GET /x request_id=req-9 span_id=sp1 took 3ms");
	ck_assert_int_eq(syslog_parse(s3, strlen(s3), NOW_2003, &m), 0);
	syslog_record(&m, CD_PARSER_AUTO, NULL, &r, scratch, sizeof(scratch));
	is(&r.trace, "rq-7");
}
END_TEST

START_TEST(a_small_scratch_flags_the_record_never_overflows)
{
	static struct fmt_record r;
	char scratch[8];

	ck_assert_int_eq(parse("<14>1 - h a - - [longid@1 param=\"v\\\"x\"] m"), 0);
	syslog_record(&m, CD_PARSER_AUTO, NULL, &r, scratch, sizeof(scratch));
	ck_assert(r.flags & FMT_F_ATTRS_TRUNCATED);
	is(&r.message, "m");
}
END_TEST

/* Every frame of @stream, fed in two reads cut at @cut, into out ("|"-joined, pieces as "#N:"). */
static void frame_all(const char *stream, size_t n, size_t cut, size_t max, char *out, size_t cap)
{
	struct syslog_framer f;
	struct syslog_frame fr;
	char buf[256];
	size_t have = 0, fed = 0, o = 0;

	memset(&f, 0, sizeof(f));
	out[0] = '\0';
	for (int round = 0; round < 2; round++) {
		size_t upto = round == 0 ? cut : n;
		bool eof = round == 1;
		memcpy(buf + have, stream + fed, upto - fed);
		have += upto - fed;
		fed = upto;
		for (;;) {
			int rc = syslog_frame_next(&f, buf, have, max, eof, &fr);
			ck_assert_uint_le(fr.consumed, have);
			if (rc)
				o += (size_t)snprintf(out + o, cap - o, "%s%s%.*s|",
						      fr.error == SYSLOG_E_COUNT   ? "!count:"
						      : fr.error == SYSLOG_E_SHORT ? "!short:"
										   : "",
						      fr.piece ? (char[]){'#', (char)('0' + fr.piece), ':', 0}
							       : "",
						      (int)fr.len, fr.ptr);
			memmove(buf, buf + fr.consumed, have - fr.consumed);
			have -= fr.consumed;
			if (!rc)
				break;
		}
	}
}

START_TEST(framing_at_every_split_point)
{
	static const struct {
		const char *stream, *want;
	} cases[] = {
		{"5 hello3 abc\n10 <13>x: y z", "hello|abc|<13>x: y z|"},
		{"<13>a: one\r\n\n<13>b: two\n<13>c: three", "<13>a: one|<13>b: two|<13>c: three|"},
		/* an overlong octet-counted frame leaves in pieces of max (20) */
		{"45 0123456789012345678901234567890123456789ABCDE2 ok",
		 "#1:01234567890123456789|#2:01234567890123456789|#3:ABCDE|ok|"},
		/* an overlong line too */
		{"<13>a: 0123456789012345678901234567\n<13>b: c\n",
		 "#1:<13>a: 0123456789012|#2:345678901234567|<13>b: c|"},
		/* a broken MSG-LEN: newline framing from there on */
		{"5 hello12x <13>bad\n<13>c: d\n", "hello|!count:12x <13>bad|<13>c: d|"},
		/* the stream ends inside a frame */
		{"10 abc", "!short:abc|"},
	};
	char got[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i].stream);
		for (size_t cut = 0; cut <= n; cut++) {
			frame_all(cases[i].stream, n, cut, 20, got, sizeof(got));
			ck_assert_msg(strcmp(got, cases[i].want) == 0, "case %zu cut %zu: got '%s' want '%s'",
				      i, cut, got, cases[i].want);
		}
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("syslog");
	TCase *tc = tcase_create("decoder");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, malformed_messages_say_why);
	tcase_add_test(tc, rfc5424_example_1_no_structured_data);
	tcase_add_test(tc, rfc5424_example_2_offset_and_no_msgid);
	tcase_add_test(tc, rfc5424_example_3_structured_data_and_message);
	tcase_add_test(tc, rfc5424_example_4_structured_data_only);
	tcase_add_test(tc, rfc3164_examples);
	tcase_add_test(tc, rfc3164_local_lines_have_no_hostname);
	tcase_add_test(tc, rfc3164_year_is_the_nearest);
	tcase_add_test(tc, severities_map_to_levels);
	tcase_add_test(tc, a_json_body_is_a_whole_record_and_its_fields_win);
	tcase_add_test(tc, trace_context_comes_from_sd_or_plain_words);
	tcase_add_test(tc, a_small_scratch_flags_the_record_never_overflows);
	tcase_add_test(tc, framing_at_every_split_point);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
