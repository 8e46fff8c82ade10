/*
 * test_vectors.c - runs every vector of formats/vectors/ against the C library.
 *
 * The vectors are the contract (formats/vectors/README.md): input line ->
 * expected record, or the exact error. They are read with jansson, an
 * independent JSON parser, so a bug in our JSON code cannot hide a bug in
 * our expectations. Each parsed record is turned into the README's record
 * form and compared with json_equal(), exactly.
 *
 * Every valid record also goes through the emitters: emitted in its own
 * format and parsed again it must be the same record; emitted in the other
 * format it must be the same too, unless it holds something that format
 * cannot carry (is_portable() lists what).
 */
#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/detect.h"
#include "fmt/json.h"
#include "fmt/pipe.h"
#include "fmt/str.h"
#include "fmt/ts.h"

static json_t *vectors;	      /* all vectors of all files, one array */
static int same_format_trips; /* round trips done, reported at the end */
static int cross_format_trips;

static const char *vector_dir(void)
{
	static char dir[4096];
	const char *root = getenv("CLEW_SOURCE_ROOT");

	snprintf(dir, sizeof(dir), "%s/formats/vectors", root ? root : ".");
	return dir;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_vectors(void)
{
	char *names[64];
	size_t n = 0;
	DIR *d = opendir(vector_dir());
	struct dirent *e;

	vectors = json_array();
	if (!d)
		return;
	while ((e = readdir(d)) && n < 64) {
		size_t len = strlen(e->d_name);
		if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0)
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), by_name);
	for (size_t i = 0; i < n; i++) {
		char path[4200];
		json_error_t jerr;
		json_t *arr;

		snprintf(path, sizeof(path), "%s/%s", vector_dir(), names[i]);
		arr = json_load_file(path, 0, &jerr);
		if (!arr || !json_is_array(arr)) {
			fprintf(stderr, "%s:%d: %s\n", path, jerr.line, arr ? "not an array" : jerr.text);
			exit(2);
		}
		json_array_extend(vectors, arr);
		json_decref(arr);
		free(names[i]);
	}
}

/* The vector's input in a buffer of exactly its length (so ASan sees over-reads). */
static char *vector_input(json_t *v, size_t *len)
{
	json_t *in = json_object_get(v, "input");
	json_t *rep = json_object_get(v, "input_repeat");
	char *buf;

	if (in) {
		*len = json_string_length(in);
		buf = malloc(*len ? *len : 1);
		memcpy(buf, json_string_value(in), *len);
		return buf;
	}
	ck_assert_msg(rep != NULL, "vector has neither input nor input_repeat");
	{
		const char *pre = json_string_value(json_object_get(rep, "prefix"));
		const char *unit = json_string_value(json_object_get(rep, "repeat"));
		const char *suf = json_string_value(json_object_get(rep, "suffix"));
		size_t count = (size_t)json_integer_value(json_object_get(rep, "count"));
		size_t lp = pre ? strlen(pre) : 0, lu = unit ? strlen(unit) : 0, ls = suf ? strlen(suf) : 0;
		size_t at = lp;

		*len = lp + lu * count + ls;
		buf = malloc(*len ? *len : 1);
		memcpy(buf, pre ? pre : "", lp);
		for (size_t i = 0; i < count; i++, at += lu)
			memcpy(buf + at, unit, lu);
		memcpy(buf + at, suf ? suf : "", ls);
		return buf;
	}
}

static json_t *decoded(const struct fmt_str *s)
{
	char *buf = malloc(s->len ? s->len : 1);
	size_t n = fmt_str_decode(s, buf);
	json_t *j = json_stringn_nocheck(buf, n);

	free(buf);
	return j;
}

static void set_view(json_t *o, const char *key, const struct fmt_str *s)
{
	if (s->ptr)
		json_object_set_new(o, key, decoded(s));
}

static json_t *attr_value(const struct fmt_attr *a)
{
	json_t *j;

	if (a->type == FMT_T_STRING)
		return decoded(&a->val);
	j = json_loadb(a->val.ptr, a->val.len, JSON_DECODE_ANY, NULL);
	/* not JSON: make it differ from any expectation, and say why */
	return j ? j : json_sprintf("<not JSON: %.*s>", (int)a->val.len, a->val.ptr);
}

/* The record in the README's form. */
static json_t *record_json(const struct fmt_record *r)
{
	json_t *o = json_object();

	json_object_set_new(o, "format", json_string(r->format == FMT_PIPE ? "pipe" : "json"));
	if (r->has_ts)
		json_object_set_new(o, "ts_ns", json_integer(r->ts_ns));
	if (r->flags & FMT_F_TS_INVALID)
		set_view(o, "ts_text", &r->ts_text);
	if (r->level != FMT_LEVEL_NONE) {
		json_object_set_new(
			o, "level",
			json_string(r->level == FMT_LEVEL_OTHER ? "OTHER" : fmt_level_name(r->level)));
		if (r->level == FMT_LEVEL_OTHER)
			set_view(o, "level_text", &r->level_text);
	}
	if (r->nids) {
		json_t *ids = json_array();
		for (uint16_t i = 0; i < r->nids; i++)
			json_array_append_new(ids, decoded(&r->ids[i]));
		json_object_set_new(o, "ids", ids);
	}
	set_view(o, "trace", &r->trace);
	set_view(o, "span", &r->span);
	set_view(o, "parent", &r->parent);
	set_view(o, "service", &r->service);
	set_view(o, "method", &r->method);
	set_view(o, "path", &r->path);
	set_view(o, "message", &r->message);
	if (r->event != FMT_EVENT_LOG)
		json_object_set_new(o, "event", json_string(r->event == FMT_EVENT_SPAN ? "span" : "metric"));
	if (r->nattrs) {
		json_t *attrs = json_array();
		for (uint16_t i = 0; i < r->nattrs; i++)
			json_array_append_new(attrs, json_pack("[oo]", decoded(&r->attrs[i].key),
							       attr_value(&r->attrs[i])));
		json_object_set_new(o, "attrs", attrs);
	}
	set_view(o, "cont", &r->cont);
	if (r->flags) {
		json_t *flags = json_array();
		if (r->flags & FMT_F_TS_INVALID)
			json_array_append_new(flags, json_string("ts_invalid"));
		if (r->flags & FMT_F_ATTRS_TRUNCATED)
			json_array_append_new(flags, json_string("attrs_truncated"));
		if (r->flags & FMT_F_CONT)
			json_array_append_new(flags, json_string("cont"));
		json_object_set_new(o, "flags", flags);
	}
	return o;
}

static void assert_same(const char *name, const char *what, json_t *want, json_t *got)
{
	if (!json_equal(want, got)) {
		char *w = json_dumps(want, JSON_SORT_KEYS | JSON_ENSURE_ASCII);
		char *g = json_dumps(got, JSON_SORT_KEYS | JSON_ENSURE_ASCII);
		ck_abort_msg("%s: %s\n  want %s\n  got  %s", name, what, w, g);
	}
}

static int parse_as(enum fmt_format f, const char *line, size_t len, struct fmt_record *r,
		    struct fmt_err *err)
{
	return f == FMT_PIPE ? fmt_pipe_parse(line, len, r, err) : fmt_json_parse(line, len, r, err);
}

static int emit_as(enum fmt_format f, const struct fmt_record *r, char *out, size_t cap, size_t *len)
{
	return f == FMT_PIPE ? fmt_pipe_emit(r, out, cap, len)
			     : fmt_json_emit(r, FMT_JSON_IDS, out, cap, len);
}

static bool is_pipe_id(const struct fmt_str *s)
{
	char buf[256];
	size_t n;

	if (s->len == 0 || s->len > sizeof(buf))
		return false;
	n = fmt_str_decode(s, buf);
	for (size_t i = 0; i < n; i++) {
		char c = buf[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return !(n == 1 && buf[0] == '-');
}

static bool same_view(const struct fmt_str *a, const struct fmt_str *b)
{
	char buf[4096];
	size_t n;

	if (!a->ptr || !b->ptr)
		return !a->ptr && !b->ptr;
	if (b->len > sizeof(buf))
		return false;
	n = fmt_str_decode(b, buf);
	return fmt_str_eq(a, buf, n);
}

static bool is_dash(const struct fmt_str *s)
{
	return s->ptr && fmt_str_eq(s, "-", 1);
}

/* Keys that mean something special to one of the two parsers or emitters. */
static const char *const special_keys[] = {
	"timestamp",
	"@timestamp",
	"time",
	"ts",
	"level",
	"severity",
	"log.level",
	"levelname",
	"loglevel",
	"log",
	"message",
	"msg",
	"@message",
	"event",
	"service",
	"service.name",
	"service_name",
	"trace",
	"trace.id",
	"trace_id",
	"traceId",
	"request_id",
	"req_id",
	"span",
	"span.id",
	"span_id",
	"spanId",
	"parent",
	"parent.id",
	"parent_id",
	"parent_span_id",
	"parentSpanId",
	"method",
	"http.request.method",
	"http.method",
	"http",
	"path",
	"url.path",
	"url",
	"http.target",
	"ids",
};

/* Whether a string value would be typed differently by the pipe parser. */
static bool looks_typed(const struct fmt_attr *a)
{
	json_t *j;
	bool typed;

	if (a->type != FMT_T_STRING)
		return false;
	j = json_loadb(a->val.ptr, a->val.len, JSON_DECODE_ANY, NULL);
	typed = a->val.enc == FMT_ENC_RAW && j && (json_is_number(j) || json_is_boolean(j));
	json_decref(j);
	return typed;
}

static bool valid_utf8(const struct fmt_str *s)
{
	json_t *j = decoded(s);
	json_t *checked = json_stringn(json_string_value(j), json_string_length(j)); /* NULL if not UTF-8 */
	bool ok = checked != NULL;

	json_decref(checked);
	json_decref(j);
	return ok;
}

/* Whether @r can go to the other format and come back the same (README "Round trips"). */
static bool is_portable(const struct fmt_record *r)
{
	const struct fmt_str *views[] = {&r->service, &r->method, &r->path, &r->message};

	if (r->cont.ptr || r->level == FMT_LEVEL_OTHER ||
	    (r->flags & (FMT_F_TS_INVALID | FMT_F_ATTRS_TRUNCATED)))
		return false;
	for (uint16_t i = 0; i < r->nids; i++)
		if (!is_pipe_id(&r->ids[i]))
			return false;
	if (!same_view(&r->trace, r->nids >= 1 ? &r->ids[0] : &(struct fmt_str){0}) ||
	    !same_view(&r->span, r->nids >= 2 ? &r->ids[r->nids - 1] : &(struct fmt_str){0}) ||
	    !same_view(&r->parent, r->nids >= 3 ? &r->ids[r->nids - 2] : &(struct fmt_str){0}))
		return false;
	for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
		if (is_dash(views[i]) || (views[i]->ptr && !valid_utf8(views[i])))
			return false;
	for (uint16_t i = 0; i < r->nattrs; i++) {
		const struct fmt_attr *a = &r->attrs[i];
		if (a->type == FMT_T_NULL || a->type == FMT_T_OBJECT || a->type == FMT_T_ARRAY ||
		    looks_typed(a) || a->key.len == 0 || memchr(a->key.ptr, '=', a->key.len) ||
		    !valid_utf8(&a->key) || !valid_utf8(&a->val))
			return false;
		for (size_t k = 0; k < sizeof(special_keys) / sizeof(special_keys[0]); k++)
			if (fmt_str_eq(&a->key, special_keys[k], strlen(special_keys[k])))
				return false;
	}
	return true;
}

/* Emit @r as @to, parse it back, and compare with @want (apart from format). */
static void round_trip(const char *name, const struct fmt_record *r, enum fmt_format to, json_t *want,
		       size_t in_len)
{
	size_t cap = 6 * in_len + 4096, len = 0; /* worst case: every byte becomes \u00XX */
	char *out = malloc(cap);
	struct fmt_record *back = malloc(sizeof(*back));
	struct fmt_err err = {0};
	json_t *got, *expect = json_deep_copy(want);
	int rc;

	rc = emit_as(to, r, out, cap, &len);
	ck_assert_msg(rc == 0, "%s: emit as %s failed: %s", name, to == FMT_PIPE ? "pipe" : "json",
		      fmt_strerror(rc));
	rc = parse_as(to, out, len, back, &err);
	ck_assert_msg(rc == 0, "%s: emitted line does not parse (%s at %zu): %.*s", name, err.what,
		      err.offset, (int)(len > 300 ? 300 : len), out);
	got = record_json(back);
	json_object_set_new(expect, "format", json_string(to == FMT_PIPE ? "pipe" : "json"));
	assert_same(name, to == r->format ? "same-format round trip" : "cross-format round trip", expect,
		    got);
	json_decref(got);
	json_decref(expect);
	free(back);
	free(out);
}

static void check_ts_vector(const char *name, json_t *v, const char *in, size_t len)
{
	json_t *error = json_object_get(v, "error");
	json_t *fmt_digits = json_object_get(v, "format_digits");
	struct fmt_err err = {0};
	int64_t ns = 0;
	int rc = fmt_ts_parse(in, len, &ns, &err);

	if (error) {
		ck_assert_msg(rc == -FMT_ETS, "%s: accepted, want error \"%s\"", name,
			      json_string_value(error));
		ck_assert_msg(strcmp(err.what, json_string_value(error)) == 0,
			      "%s: error \"%s\", want \"%s\"", name, err.what, json_string_value(error));
		return;
	}
	ck_assert_msg(rc == 0, "%s: rejected: %s at %zu", name, err.what, err.offset);
	ck_assert_msg(ns == json_integer_value(json_object_get(json_object_get(v, "expect"), "ts_ns")),
		      "%s: ts_ns %lld", name, (long long)ns);
	if (fmt_digits) {
		char out[FMT_TS_MAX];
		fmt_ts_format(ns, (int)json_integer_value(fmt_digits), out);
		ck_assert_str_eq(out, json_string_value(json_object_get(v, "formatted")));
	}
}

START_TEST(vector_holds)
{
	json_t *v = json_array_get(vectors, (size_t)_i);
	const char *name = json_string_value(json_object_get(v, "name"));
	const char *parser = json_string_value(json_object_get(v, "parser"));
	json_t *error = json_object_get(v, "error");
	json_t *offset = json_object_get(v, "offset");
	struct fmt_record *rec = malloc(sizeof(*rec));
	struct fmt_err err = {0};
	size_t len;
	char *in;
	int rc;

	ck_assert_msg(name && parser, "vector %d has no name or parser", _i);
	in = vector_input(v, &len);
	if (strcmp(parser, "ts") == 0) {
		check_ts_vector(name, v, in, len);
		goto out;
	}
	if (strcmp(parser, "pipe") == 0)
		rc = fmt_pipe_parse(in, len, rec, &err);
	else if (strcmp(parser, "json") == 0)
		rc = fmt_json_parse(in, len, rec, &err);
	else if (strcmp(parser, "auto") == 0)
		rc = fmt_parse(in, len, rec, &err);
	else
		ck_abort_msg("%s: unknown parser %s", name, parser);

	if (error) {
		ck_assert_msg(rc < 0, "%s: accepted, want error \"%s\"", name, json_string_value(error));
		ck_assert_msg(err.what && strcmp(err.what, json_string_value(error)) == 0,
			      "%s: error \"%s\" at %zu, want \"%s\"", name, err.what, err.offset,
			      json_string_value(error));
		if (offset)
			ck_assert_msg(err.offset == (size_t)json_integer_value(offset),
				      "%s: offset %zu, want %lld", name, err.offset,
				      (long long)json_integer_value(offset));
		goto out;
	}
	ck_assert_msg(rc == 0, "%s: rejected: %s at %zu", name, err.what, err.offset);
	{
		json_t *got = record_json(rec);
		enum fmt_format own = (enum fmt_format)rec->format;

		assert_same(name, "record", json_object_get(v, "expect"), got);
		if (!json_is_false(json_object_get(v, "roundtrip"))) {
			/* JSON emitters put continuation lines into the message: not the same record */
			if (!(own == FMT_JSON && rec->cont.ptr)) {
				round_trip(name, rec, own, got, len);
				same_format_trips++;
			}
			if (is_portable(rec)) {
				round_trip(name, rec, own == FMT_PIPE ? FMT_JSON : FMT_PIPE, got, len);
				cross_format_trips++;
			}
		}
		json_decref(got);
	}
out:
	free(in);
	free(rec);
}
END_TEST

START_TEST(vectors_are_many_and_uniquely_named)
{
	json_t *seen = json_object();
	size_t i;
	json_t *v;

	ck_assert_msg(json_array_size(vectors) >= 60, "only %zu vectors in %s", json_array_size(vectors),
		      vector_dir());
	json_array_foreach(vectors, i, v)
	{
		const char *name = json_string_value(json_object_get(v, "name"));
		ck_assert_msg(name, "vector %zu has no name", i);
		ck_assert_msg(!json_object_get(seen, name), "duplicate vector name %s", name);
		json_object_set_new(seen, name, json_true());
		ck_assert_msg(json_object_get(v, "expect") || json_object_get(v, "error"),
			      "%s: neither expect nor error", name);
	}
	json_decref(seen);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vectors");
	TCase *tc = tcase_create("vectors");
	SRunner *sr;
	int failed;

	load_vectors();
	tcase_add_test(tc, vectors_are_many_and_uniquely_named);
	tcase_add_loop_test(tc, vector_holds, 0, (int)json_array_size(vectors));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	/* no fork: the round-trip counters below are kept in this process */
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	printf("vectors: %zu in %s, %d same-format and %d cross-format round trips\n",
	       json_array_size(vectors), vector_dir(), same_format_trips, cross_format_trips);
	srunner_free(sr);
	json_decref(vectors);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
