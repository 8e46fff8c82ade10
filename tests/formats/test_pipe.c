/*
 * test_pipe.c - the pipe line parser (formats/src/pipe_parse.c).
 *
 * The vectors (formats/vectors/pipe.json) cover what a record looks like;
 * these tests cover what the vectors cannot say: error paths and exact
 * offsets, views pointing into the caller's buffer, escape encodings,
 * limits, huge lines, and arbitrary bytes. Every input is copied into a
 * buffer of exactly its length, so ASan sees any read past the end.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/pipe.h"
#include "fmt/str.h"

static struct fmt_record rec; /* big (about 3 KB): not on the stack of every test */
static struct fmt_err err;
static char *buf; /* the input of the last parse(), exactly sized */
static size_t buf_len;

static void free_buf(void)
{
	free(buf);
	buf = NULL;
}

/* Parse @len bytes of @s from an exactly sized copy. */
static int parse_n(const char *s, size_t len)
{
	free_buf();
	buf = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, s, len);
	buf_len = len;
	memset(&err, 0, sizeof(err));
	return fmt_pipe_parse(buf, len, &rec, &err);
}

static int parse(const char *s)
{
	return parse_n(s, strlen(s));
}

static bool start(const char *s)
{
	size_t len = strlen(s);
	char *copy = malloc(len ? len : 1);
	bool r;

	memcpy(copy, s, len);
	r = fmt_pipe_is_record_start(copy, len);
	free(copy);
	return r;
}

/* The decoded value of a view, NUL-terminated (static buffer). */
static const char *dec(const struct fmt_str *v)
{
	static char out[4096];
	size_t n;

	ck_assert_ptr_nonnull(v->ptr);
	ck_assert_uint_lt(v->len, sizeof(out));
	n = fmt_str_decode(v, out);
	out[n] = '\0';
	return out;
}

/* The view, if present, lies inside the last input. */
static void ck_inside(const struct fmt_str *v)
{
	if (!v->ptr)
		return;
	ck_assert(v->ptr >= buf && v->ptr <= buf + buf_len);
	ck_assert_uint_le(v->len, (size_t)(buf + buf_len - v->ptr));
}

/* Every view of a parsed record lies inside the input. */
static void ck_sane(void)
{
	ck_assert_uint_eq(rec.format, FMT_PIPE);
	ck_assert_uint_le(rec.nids, FMT_IDS_MAX);
	ck_assert_uint_le(rec.nattrs, FMT_ATTRS_MAX);
	for (uint16_t i = 0; i < rec.nids; i++)
		ck_inside(&rec.ids[i]);
	for (uint16_t i = 0; i < rec.nattrs; i++) {
		ck_assert_ptr_nonnull(rec.attrs[i].key.ptr);
		ck_inside(&rec.attrs[i].key);
		ck_inside(&rec.attrs[i].val);
	}
	ck_inside(&rec.ts_text);
	ck_inside(&rec.level_text);
	ck_inside(&rec.service);
	ck_inside(&rec.method);
	ck_inside(&rec.path);
	ck_inside(&rec.message);
	ck_inside(&rec.cont);
}

/*
 * fmt_pipe_is_record_start() is true exactly when the parser does not say
 * "not a record start" (a bad timestamp prefix may fail either way).
 */
static void ck_consistent(int rc)
{
	bool st = fmt_pipe_is_record_start(buf, buf_len);
	bool not_start = rc == -FMT_EPARSE && strcmp(err.what, "not a record start") == 0;

	if (st)
		ck_assert(!not_start);
	else
		ck_assert(not_start || rc == -FMT_ETS);
}

/* A failed parse: exact code, message and offset, and a cleared record. */
static void ck_fails(const char *in, int code, const char *what, size_t offset)
{
	int rc = parse(in);

	ck_assert_msg(rc == code, "%s: rc %d, want %d (%s)", in, rc, code, err.what ? err.what : "-");
	ck_assert_str_eq(err.what, what);
	ck_assert_uint_eq(err.offset, offset);
	ck_assert_uint_eq(rec.nids, 0);
	ck_assert_uint_eq(rec.nattrs, 0);
	ck_assert_uint_eq(rec.format, FMT_UNKNOWN);
	ck_assert_ptr_null(rec.message.ptr);
	ck_assert_ptr_null(rec.service.ptr);
	ck_assert(!rec.has_ts);
}

START_TEST(full_form_maps_every_part_onto_the_record)
{
	ck_assert_int_eq(parse("2026-11-23T07:09:24.123456Z INFO a:b:c|orders|GET|/x|status=200|msg=ok"), 0);
	ck_assert_uint_eq(rec.format, FMT_PIPE);
	ck_assert(rec.has_ts);
	ck_assert_int_eq(rec.ts_ns, 1795417764123456000LL);
	ck_assert_str_eq(dec(&rec.ts_text), "2026-11-23T07:09:24.123456Z");
	ck_assert_uint_eq(rec.level, FMT_LEVEL_INFO);
	ck_assert_str_eq(dec(&rec.level_text), "INFO");
	ck_assert_uint_eq(rec.nids, 3);
	ck_assert_str_eq(dec(&rec.trace), "a");
	ck_assert_str_eq(dec(&rec.span), "c");
	ck_assert_str_eq(dec(&rec.parent), "b");
	ck_assert_str_eq(dec(&rec.service), "orders");
	ck_assert_str_eq(dec(&rec.method), "GET");
	ck_assert_str_eq(dec(&rec.path), "/x");
	ck_assert_str_eq(dec(&rec.message), "ok");
	ck_assert_uint_eq(rec.nattrs, 1);
	ck_assert_str_eq(dec(&rec.attrs[0].key), "status");
	ck_assert_str_eq(dec(&rec.attrs[0].val), "200");
	ck_assert_uint_eq(rec.attrs[0].type, FMT_T_NUMBER);
	ck_assert_ptr_null(rec.cont.ptr);
	ck_assert_uint_eq(rec.flags, 0);
	/* views, not copies */
	ck_assert_ptr_eq(rec.ts_text.ptr, buf);
	ck_assert_ptr_eq(rec.service.ptr, buf + strlen("2026-11-23T07:09:24.123456Z INFO a:b:c|"));
}
END_TEST

START_TEST(trace_span_and_parent_follow_the_ndc_depth)
{
	ck_assert_int_eq(parse("-|m"), 0);
	ck_assert_uint_eq(rec.nids, 0);
	ck_assert_ptr_null(rec.trace.ptr);
	ck_assert_ptr_null(rec.span.ptr);
	ck_assert_ptr_null(rec.parent.ptr);

	ck_assert_int_eq(parse("R|m"), 0);
	ck_assert_uint_eq(rec.nids, 1);
	ck_assert_str_eq(dec(&rec.trace), "R");
	ck_assert_ptr_null(rec.span.ptr);
	ck_assert_ptr_null(rec.parent.ptr);

	ck_assert_int_eq(parse("R:S|m"), 0);
	ck_assert_str_eq(dec(&rec.span), "S");
	ck_assert_ptr_null(rec.parent.ptr);

	ck_assert_int_eq(parse("R:S1:S2:S3|m"), 0);
	ck_assert_uint_eq(rec.nids, 4);
	ck_assert_str_eq(dec(&rec.trace), "R");
	ck_assert_str_eq(dec(&rec.span), "S3");
	ck_assert_str_eq(dec(&rec.parent), "S2");
	ck_assert_str_eq(dec(&rec.ids[1]), "S1");

	/* "-" is only "no context" alone; inside a path it is an ID */
	ck_assert_int_eq(parse("-:x|m"), 0);
	ck_assert_uint_eq(rec.nids, 2);
	ck_assert_str_eq(dec(&rec.ids[0]), "-");
}
END_TEST

START_TEST(short_form_keeps_everything_after_ids_as_the_message)
{
	ck_assert_int_eq(parse("ID1|some message"), 0);
	ck_assert_str_eq(dec(&rec.message), "some message");
	ck_assert_ptr_null(rec.service.ptr);
	ck_assert_ptr_null(rec.method.ptr);
	ck_assert_ptr_null(rec.path.ptr);
	ck_assert_uint_eq(rec.nattrs, 0);

	ck_assert_int_eq(parse("ID1|a|b"), 0);
	ck_assert_str_eq(dec(&rec.message), "a|b");
	ck_assert_uint_eq(rec.message.enc, FMT_ENC_RAW);

	ck_assert_int_eq(parse("ID1|a\\|b|c=d"), 0);
	ck_assert_str_eq(dec(&rec.message), "a|b|c=d");
	ck_assert_uint_eq(rec.message.enc, FMT_ENC_PIPE);

	ck_assert_int_eq(parse("ID1|"), 0);
	ck_assert_ptr_nonnull(rec.message.ptr);
	ck_assert_uint_eq(rec.message.len, 0);

	/* a third unescaped '|' makes it the full form */
	ck_assert_int_eq(parse("ID1|a|b|c"), 0);
	ck_assert_ptr_null(rec.message.ptr);
	ck_assert_str_eq(dec(&rec.path), "c");
}
END_TEST

START_TEST(dash_is_absent_and_empty_is_present)
{
	ck_assert_int_eq(parse("R|-|-|-"), 0);
	ck_assert_ptr_null(rec.service.ptr);
	ck_assert_ptr_null(rec.method.ptr);
	ck_assert_ptr_null(rec.path.ptr);

	ck_assert_int_eq(parse("R||||k="), 0);
	ck_assert_ptr_nonnull(rec.service.ptr);
	ck_assert_uint_eq(rec.service.len, 0);
	ck_assert_ptr_nonnull(rec.method.ptr);
	ck_assert_uint_eq(rec.method.len, 0);
	ck_assert_ptr_nonnull(rec.path.ptr);
	ck_assert_uint_eq(rec.path.len, 0);
	ck_assert_uint_eq(rec.nattrs, 1);
	ck_assert_ptr_nonnull(rec.attrs[0].val.ptr);
	ck_assert_uint_eq(rec.attrs[0].val.len, 0);
	ck_assert_uint_eq(rec.attrs[0].type, FMT_T_STRING);

	/* "-" as a value is a string, and "--" is a service */
	ck_assert_int_eq(parse("R|--|-|-|k=-"), 0);
	ck_assert_str_eq(dec(&rec.service), "--");
	ck_assert_str_eq(dec(&rec.attrs[0].val), "-");
}
END_TEST

START_TEST(escapes_mark_exactly_the_views_that_hold_a_backslash)
{
	ck_assert_int_eq(parse("R|s\\|x|m|p|k\\\\=v|a=b\\tc|plain=yes|msg=x\\ny"), 0);
	ck_assert_uint_eq(rec.service.enc, FMT_ENC_PIPE);
	ck_assert_str_eq(dec(&rec.service), "s|x");
	ck_assert_uint_eq(rec.method.enc, FMT_ENC_RAW);
	ck_assert_uint_eq(rec.path.enc, FMT_ENC_RAW);
	ck_assert_uint_eq(rec.nattrs, 3);
	/* backslash in the key only */
	ck_assert_uint_eq(rec.attrs[0].key.enc, FMT_ENC_PIPE);
	ck_assert_str_eq(dec(&rec.attrs[0].key), "k\\");
	ck_assert_uint_eq(rec.attrs[0].val.enc, FMT_ENC_RAW);
	/* in the value only */
	ck_assert_uint_eq(rec.attrs[1].key.enc, FMT_ENC_RAW);
	ck_assert_uint_eq(rec.attrs[1].val.enc, FMT_ENC_PIPE);
	ck_assert_str_eq(dec(&rec.attrs[1].val), "b\tc");
	ck_assert_uint_eq(rec.attrs[2].key.enc, FMT_ENC_RAW);
	ck_assert_uint_eq(rec.attrs[2].val.enc, FMT_ENC_RAW);
	ck_assert_uint_eq(rec.message.enc, FMT_ENC_PIPE);
	ck_assert_str_eq(dec(&rec.message), "x\ny");
}
END_TEST

START_TEST(an_escaped_pipe_never_splits_and_an_escaped_backslash_does_not_escape)
{
	ck_assert_int_eq(parse("R|s|m|p|a=1\\|2|b=\\\\|c=\\\\\\|d"), 0);
	ck_assert_uint_eq(rec.nattrs, 3);
	ck_assert_str_eq(dec(&rec.attrs[0].val), "1|2");
	ck_assert_str_eq(dec(&rec.attrs[1].val), "\\");
	ck_assert_str_eq(dec(&rec.attrs[2].val), "\\|d");
	/* a lone backslash before '=' or at the end stands for itself */
	ck_assert_int_eq(parse("R|s|m|p|k\\=v|z=\\"), 0);
	ck_assert_str_eq(dec(&rec.attrs[0].key), "k\\");
	ck_assert_str_eq(dec(&rec.attrs[0].val), "v");
	ck_assert_str_eq(dec(&rec.attrs[1].val), "\\");
}
END_TEST

START_TEST(values_are_typed_only_when_exactly_a_number_or_a_bool)
{
	static const struct {
		const char *val;
		enum fmt_type type;
	} cases[] = {
		{"0", FMT_T_NUMBER},	  {"-0", FMT_T_NUMBER},		{"42", FMT_T_NUMBER},
		{"-1.5e3", FMT_T_NUMBER}, {"2E+10", FMT_T_NUMBER},	{"0.001", FMT_T_NUMBER},
		{"true", FMT_T_BOOL},	  {"false", FMT_T_BOOL},	{"01", FMT_T_STRING},
		{"1.", FMT_T_STRING},	  {".5", FMT_T_STRING},		{"-", FMT_T_STRING},
		{"1e", FMT_T_STRING},	  {"1e+", FMT_T_STRING},	{"+1", FMT_T_STRING},
		{"1 ", FMT_T_STRING},	  {"TRUE", FMT_T_STRING},	{"truex", FMT_T_STRING},
		{"null", FMT_T_STRING},	  {"", FMT_T_STRING},		{"0x10", FMT_T_STRING},
		{"1\\n", FMT_T_STRING},	  {"2026-11-23", FMT_T_STRING},
	};
	char line[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(line, sizeof(line), "R|s|m|p|v=%s", cases[i].val);
		ck_assert_int_eq(parse(line), 0);
		ck_assert_uint_eq(rec.nattrs, 1);
		ck_assert_msg(rec.attrs[0].type == cases[i].type, "%s: type %d, want %d", cases[i].val,
			      rec.attrs[0].type, cases[i].type);
	}
}
END_TEST

START_TEST(reserved_keys_set_message_and_event)
{
	ck_assert_int_eq(parse("R|s|m|p|a=1|event=span|message=hi|name=q|dur_us=7"), 0);
	ck_assert_uint_eq(rec.event, FMT_EVENT_SPAN);
	ck_assert_str_eq(dec(&rec.message), "hi");
	ck_assert_uint_eq(rec.nattrs, 3);
	ck_assert_str_eq(dec(&rec.attrs[1].key), "name");

	ck_assert_int_eq(parse("R|s|m|p|event=metric"), 0);
	ck_assert_uint_eq(rec.event, FMT_EVENT_METRIC);
	ck_assert_uint_eq(rec.nattrs, 0);

	/* other event values, and a second event or msg, stay attributes */
	ck_assert_int_eq(parse("R|s|m|p|event=login|msg=a|msg=b|event=span|event=metric"), 0);
	ck_assert_uint_eq(rec.event, FMT_EVENT_SPAN);
	ck_assert_str_eq(dec(&rec.message), "a");
	ck_assert_uint_eq(rec.nattrs, 3);
	ck_assert_str_eq(dec(&rec.attrs[0].val), "login");
	ck_assert_str_eq(dec(&rec.attrs[1].key), "msg");
	ck_assert_str_eq(dec(&rec.attrs[1].val), "b");
	ck_assert_str_eq(dec(&rec.attrs[2].val), "metric");

	/* a bare field is the message; msg= after it is an attribute */
	ck_assert_int_eq(parse("R|s|m|p|hello world|msg=x"), 0);
	ck_assert_str_eq(dec(&rec.message), "hello world");
	ck_assert_uint_eq(rec.nattrs, 1);
	/* keys are case-sensitive */
	ck_assert_int_eq(parse("R|s|m|p|MSG=x|Event=span"), 0);
	ck_assert_ptr_null(rec.message.ptr);
	ck_assert_uint_eq(rec.event, FMT_EVENT_LOG);
	ck_assert_uint_eq(rec.nattrs, 2);
}
END_TEST

START_TEST(prefix_is_optional_and_each_part_may_come_alone)
{
	ck_assert_int_eq(parse("2026-11-23T07:09:24Z R|m"), 0);
	ck_assert(rec.has_ts);
	ck_assert_uint_eq(rec.level, FMT_LEVEL_NONE);
	ck_assert_ptr_null(rec.level_text.ptr);

	ck_assert_int_eq(parse("warning R|m"), 0);
	ck_assert(!rec.has_ts);
	ck_assert_ptr_null(rec.ts_text.ptr);
	ck_assert_uint_eq(rec.level, FMT_LEVEL_WARN);
	ck_assert_str_eq(dec(&rec.level_text), "warning");

	ck_assert_int_eq(parse("2026-11-23t07:09:24.5+01:00 crit R|m"), 0);
	ck_assert_int_eq(rec.ts_ns, 1795414164500000000LL);
	ck_assert_uint_eq(rec.level, FMT_LEVEL_FATAL);

	/* a level word followed by '|' is an ID */
	ck_assert_int_eq(parse("INFO|m"), 0);
	ck_assert_uint_eq(rec.level, FMT_LEVEL_NONE);
	ck_assert_str_eq(dec(&rec.trace), "INFO");
}
END_TEST

START_TEST(bad_timestamps_are_errors_with_the_timestamp_message)
{
	ck_fails("2026-13-01T00:00:00Z INFO R|m", -FMT_ETS, "invalid month", 5);
	ck_fails("2026-02-30T00:00:00Z R|m", -FMT_ETS, "invalid day", 8);
	ck_fails("2026-11-23 07:09:24Z R|m", -FMT_ETS, "expected 'T'", 10);
	ck_fails("2026-11-23T07:09:24.0123456789Z R|m", -FMT_ETS, "fraction longer than 9 digits", 29);
	ck_fails("2026-11-23T07:09:24 R|m", -FMT_ETS, "missing time zone", 19);
	ck_fails("2026-11-23T07:09:24+25:00 R|m", -FMT_ETS, "invalid offset", 19);
	/* even when what follows would not be a record */
	ck_fails("2026-11-23 07:09:24,123 ERROR [main] boom", -FMT_ETS, "expected 'T'", 10);
	/* but a date-like ID is an ID */
	ck_assert_int_eq(parse("2026-13-99|m"), 0);
	ck_assert_str_eq(dec(&rec.trace), "2026-13-99");
}
END_TEST

START_TEST(lines_that_do_not_start_a_record_say_where_they_stopped)
{
	ck_fails("", -FMT_EPARSE, "not a record start", 0);
	ck_fails("  at com.x.Y(Y.java:12)", -FMT_EPARSE, "not a record start", 0);
	ck_fails("\tat com.x.Y(Y.java:12)", -FMT_EPARSE, "not a record start", 0);
	ck_fails("Traceback (most recent call last):", -FMT_EPARSE, "not a record start", 9);
	ck_fails("Caused by: a|b", -FMT_EPARSE, "not a record start", 6);
	ck_fails("java.lang.IllegalStateException: boom", -FMT_EPARSE, "not a record start", 32);
	ck_fails("java.lang.NullPointerException", -FMT_EPARSE, "not a record start", 30);
	ck_fails("R S|s|m|p", -FMT_EPARSE, "not a record start", 1);
	ck_fails("|s|m|p", -FMT_EPARSE, "not a record start", 0);
	ck_fails("R/1|s", -FMT_EPARSE, "not a record start", 1);
	ck_fails("R::S|s", -FMT_EPARSE, "not a record start", 2);
	ck_fails(":R|s", -FMT_EPARSE, "not a record start", 0);
	ck_fails("R:|s", -FMT_EPARSE, "not a record start", 2);
	ck_fails("R\r\n", -FMT_EPARSE, "not a record start", 1);
	ck_fails("R\n|x", -FMT_EPARSE, "not a record start", 1);
	ck_fails("INFO  R|x", -FMT_EPARSE, "not a record start", 5);
	ck_fails("hello R|x", -FMT_EPARSE, "not a record start", 5);
	ck_fails("2026-11-23T07:09:24Z hello R|x", -FMT_EPARSE, "not a record start", 26);
	ck_fails("caf\xc3\xa9|x", -FMT_EPARSE, "not a record start", 3);
	/* a long ID: the stop is found in a later block */
	ck_fails("abcdefghijklmnopqrstuvwxyz0123456789:abcdefghijklmnopqrstuvwxyz!|x", -FMT_EPARSE,
		 "not a record start", 63);
}
END_TEST

START_TEST(is_record_start_agrees_with_the_parser)
{
	static const char *const yes[] = {
		"R|m",
		"-|m",
		"a:b|",
		"2026-11-23T07:09:24Z INFO R|s|m|p",
		"2026-13-45T99:99:99Z INFO R|s|m|p", /* a start, with a bad timestamp */
		"ERROR R|x",
		"Caused|by",
	};
	static const char *const no[] = {
		"",
		"  at com.x.Y(Y.java:12)",
		"\tat com.x.Y(Y.java:12)",
		"Traceback (most recent call last):",
		"  File \"w.py\", line 3, in <module>",
		"Caused by: a|b",
		"java.lang.IllegalStateException: boom",
		"\t... 2 more",
		"R",
		"R:",
		"R:|x",
		"|x",
		"R x|y",
		"- |x",
		"2026-11-23T07:09:24Z",
		"2026-11-23T07:09:24Z INFO",
		"2026-11-23T07:09:24Z INFO R",
		"INFO R\n|x",
	};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(start(yes[i]), "%s: not a record start", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		ck_assert_msg(!start(no[i]), "%s: taken for a record start", no[i]);
		ck_assert_int_eq(parse(no[i]), -FMT_EPARSE);
		ck_assert_str_eq(err.what, "not a record start");
	}
	ck_assert(!fmt_pipe_is_record_start(NULL, 0));
}
END_TEST

START_TEST(field_errors_have_exact_messages_and_offsets)
{
	ck_fails("R|s|m|p|hello|world", -FMT_EPARSE, "second field without '='", 14);
	ck_fails("R|s|m|p|msg=a|b", -FMT_EPARSE, "field without '=' after the message", 14);
	ck_fails("R|s|m|p|=v", -FMT_EPARSE, "empty key", 8);
	ck_fails("R|s|m|p|k=1|=", -FMT_EPARSE, "empty key", 12);
	ck_fails("R|s|m|p|k\r=v", -FMT_EPARSE, "invalid character in key", 9);
	ck_fails("R|s|m|p|a|b|c", -FMT_EPARSE, "second field without '='", 10);
	/* a CR after the '=' is part of the value */
	ck_assert_int_eq(parse("R|s|m|p|k=a\rb"), 0);
	ck_assert_str_eq(dec(&rec.attrs[0].val), "a\rb");
	/* the errors need no err */
	ck_assert_int_eq(fmt_pipe_parse("R|s|m|p|a|b", 11, &rec, NULL), -FMT_EPARSE);
	ck_assert_int_eq(fmt_pipe_parse("R|s", 3, NULL, NULL), -FMT_EINVAL);
}
END_TEST

START_TEST(a_failed_parse_leaves_no_trace_of_an_earlier_one)
{
	ck_assert_int_eq(parse("2026-11-23T07:09:24Z INFO R:S|s|m|p|k=v|msg=x\nmore"), 0);
	ck_assert_uint_eq(rec.nattrs, 1);
	ck_fails("2026-11-23T07:09:24Z INFO R:S|s|m|p|k=v|msg=x|oops", -FMT_EPARSE,
		 "field without '=' after the message", 46);
	ck_assert_ptr_null(rec.cont.ptr);
	ck_assert_ptr_null(rec.trace.ptr);
	ck_assert_uint_eq(rec.flags, 0);
	ck_assert_uint_eq(rec.level, FMT_LEVEL_NONE);
}
END_TEST

START_TEST(crlf_and_continuation_lines)
{
	ck_assert_int_eq(parse("R|s|m|p|k=v\r\n"), 0);
	ck_assert_str_eq(dec(&rec.attrs[0].val), "v");
	ck_assert_ptr_null(rec.cont.ptr);
	ck_assert_uint_eq(rec.flags, 0);

	ck_assert_int_eq(parse("R|msg\r"), 0);
	ck_assert_str_eq(dec(&rec.message), "msg");

	/* only one CR goes, and only at the end */
	ck_assert_int_eq(parse("R|a\rb\r\r\n"), 0);
	ck_assert_str_eq(dec(&rec.message), "a\rb\r");

	ck_assert_int_eq(
		parse("R|s|m|p|msg=boom\r\njava.lang.Error: boom\r\n\tat a.B(B.java:1)\r\nCaused by: x|y"),
		0);
	ck_assert_str_eq(dec(&rec.message), "boom");
	ck_assert_uint_eq(rec.flags, FMT_F_CONT);
	ck_assert_uint_eq(rec.cont.enc, FMT_ENC_RAW);
	ck_assert_str_eq(dec(&rec.cont), "java.lang.Error: boom\r\n\tat a.B(B.java:1)\r\nCaused by: x|y");
	ck_assert_ptr_eq(rec.cont.ptr, buf + strlen("R|s|m|p|msg=boom\r\n"));

	/* the continuation is not parsed: bad bytes there are fine */
	ck_assert_int_eq(parse("R|x\n|||=\\"), 0);
	ck_assert_str_eq(dec(&rec.cont), "|||=\\");

	/* a backslash before the newline does not escape it */
	ck_assert_int_eq(parse("R|s|m|p|k=v\\\nnext"), 0);
	ck_assert_str_eq(dec(&rec.attrs[0].val), "v\\");
	ck_assert_str_eq(dec(&rec.cont), "next");
}
END_TEST

START_TEST(ndc_deeper_than_the_limit_is_an_error)
{
	char line[FMT_IDS_MAX * 4 + 64];
	size_t n = 0;

	for (int i = 0; i < FMT_IDS_MAX; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%02d", i ? ":" : "", i);
	snprintf(line + n, sizeof(line) - n, "|s|m|p");
	ck_assert_int_eq(parse(line), 0);
	ck_assert_uint_eq(rec.nids, FMT_IDS_MAX);
	ck_assert_str_eq(dec(&rec.span), "31");

	snprintf(line + n, sizeof(line) - n, ":xx|s|m|p");
	ck_fails(line, -FMT_ELIMIT, "too many ids", n + 1);
	ck_assert(start(line)); /* still a record start */

	/* deep and then broken: not a record start after all */
	snprintf(line + n, sizeof(line) - n, ":xx:yy zz|s");
	ck_fails(line, -FMT_EPARSE, "not a record start", n + 6);
}
END_TEST

START_TEST(attributes_past_the_limit_are_flagged_not_kept)
{
	size_t cap = 16 + 8 * (FMT_ATTRS_MAX + 10), n;
	char *line = malloc(cap);

	n = (size_t)snprintf(line, cap, "R|s|m|p");
	for (int i = 0; i < FMT_ATTRS_MAX; i++)
		n += (size_t)snprintf(line + n, cap - n, "|k%d=%d", i, i);
	ck_assert_int_eq(parse(line), 0);
	ck_assert_uint_eq(rec.nattrs, FMT_ATTRS_MAX);
	ck_assert_uint_eq(rec.flags & FMT_F_ATTRS_TRUNCATED, 0);

	snprintf(line + n, cap - n, "|over=1|msg=still read|event=span");
	ck_assert_int_eq(parse(line), 0);
	ck_assert_uint_eq(rec.nattrs, FMT_ATTRS_MAX);
	ck_assert_uint_eq(rec.flags, FMT_F_ATTRS_TRUNCATED);
	ck_assert_str_eq(dec(&rec.attrs[FMT_ATTRS_MAX - 1].key), "k63");
	ck_assert_str_eq(dec(&rec.message), "still read");
	ck_assert_uint_eq(rec.event, FMT_EVENT_SPAN);

	/* the fields past the limit are still checked */
	snprintf(line + n, cap - n, "|over=1|a|b");
	ck_fails(line, -FMT_EPARSE, "second field without '='", n + 10);
	free(line);
}
END_TEST

START_TEST(a_one_megabyte_line_parses_in_place)
{
	size_t big = 1024 * 1024, n;
	char *line = malloc(big + 64);

	n = (size_t)snprintf(line, 64, "R:S|s|m|p|big=");
	for (size_t i = 0; i < big; i++)
		line[n + i] = (char)('a' + i % 26);
	line[n + 100] = '\\'; /* one escaped '|' deep inside */
	line[n + 101] = '|';
	memcpy(line + n + big, "|k=1", 4);
	ck_assert_int_eq(parse_n(line, n + big + 4), 0);
	ck_assert_uint_eq(rec.nattrs, 2);
	ck_assert_uint_eq(rec.attrs[0].val.len, big);
	ck_assert_uint_eq(rec.attrs[0].val.enc, FMT_ENC_PIPE);
	ck_assert_ptr_eq(rec.attrs[0].val.ptr, buf + n);
	ck_assert_str_eq(dec(&rec.attrs[1].val), "1");

	/* and as a short-form message, ending in CR LF */
	n = (size_t)snprintf(line, 64, "R|");
	memset(line + n, 'x', big);
	memcpy(line + n + big, "\r\n", 2);
	ck_assert_int_eq(parse_n(line, n + big + 2), 0);
	ck_assert_uint_eq(rec.message.len, big);
	ck_assert_uint_eq(rec.message.enc, FMT_ENC_RAW);
	free(line);
}
END_TEST

/* Every byte value at every interesting place: the parser must not crash. */
START_TEST(every_byte_value_anywhere_is_survived)
{
	static const char *const tmpl[] = {
		"%R|s|m|p|k=v",
		"R%|s|m|p|k=v",
		"R|%|m|p|k=v",
		"R|s|m|p|%=v",
		"R|s|m|p|k=%",
		"R|s|m|p|k=v%",
		"R|s|m|p|k=v\\%",
		"2026-11-23T07:09:24Z % R|s",
		"2026-11-23T07:09:24%Z R|s",
		"INFO%R|s",
		"R|%",
		"R|s|m|p|k=v\n%",
	};
	char line[64];

	for (size_t t = 0; t < sizeof(tmpl) / sizeof(tmpl[0]); t++) {
		for (int c = 0; c < 256; c++) {
			const char *p = strchr(tmpl[t], '%');
			size_t pre = (size_t)(p - tmpl[t]), post = strlen(p + 1);
			int rc;

			memcpy(line, tmpl[t], pre);
			line[pre] = (char)c;
			memcpy(line + pre + 1, p + 1, post);
			rc = parse_n(line, pre + 1 + post);
			ck_assert(rc == 0 || rc == -FMT_EPARSE || rc == -FMT_ETS);
			if (rc == 0)
				ck_sane();
			else
				ck_assert_uint_le(err.offset, buf_len);
			ck_consistent(rc);
		}
	}
	/* and a line of all 256 values, cut at every length */
	{
		char all[8 + 256];

		memcpy(all, "R|s|m|p|", 8);
		for (int c = 0; c < 256; c++)
			all[8 + c] = (char)c;
		for (size_t n = 0; n <= sizeof(all); n++) {
			int rc = parse_n(all, n);

			ck_assert(rc == 0 || rc == -FMT_EPARSE);
			if (rc == 0)
				ck_sane();
			ck_consistent(rc);
		}
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pipe");
	TCase *tc = tcase_create("pipe");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, full_form_maps_every_part_onto_the_record);
	tcase_add_test(tc, trace_span_and_parent_follow_the_ndc_depth);
	tcase_add_test(tc, short_form_keeps_everything_after_ids_as_the_message);
	tcase_add_test(tc, dash_is_absent_and_empty_is_present);
	tcase_add_test(tc, escapes_mark_exactly_the_views_that_hold_a_backslash);
	tcase_add_test(tc, an_escaped_pipe_never_splits_and_an_escaped_backslash_does_not_escape);
	tcase_add_test(tc, values_are_typed_only_when_exactly_a_number_or_a_bool);
	tcase_add_test(tc, reserved_keys_set_message_and_event);
	tcase_add_test(tc, prefix_is_optional_and_each_part_may_come_alone);
	tcase_add_test(tc, bad_timestamps_are_errors_with_the_timestamp_message);
	tcase_add_test(tc, lines_that_do_not_start_a_record_say_where_they_stopped);
	tcase_add_test(tc, is_record_start_agrees_with_the_parser);
	tcase_add_test(tc, field_errors_have_exact_messages_and_offsets);
	tcase_add_test(tc, a_failed_parse_leaves_no_trace_of_an_earlier_one);
	tcase_add_test(tc, crlf_and_continuation_lines);
	tcase_add_test(tc, ndc_deeper_than_the_limit_is_an_error);
	tcase_add_test(tc, attributes_past_the_limit_are_flagged_not_kept);
	tcase_add_test(tc, a_one_megabyte_line_parses_in_place);
	tcase_add_test(tc, every_byte_value_anywhere_is_survived);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	free_buf();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
