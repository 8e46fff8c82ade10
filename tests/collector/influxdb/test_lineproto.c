/*
 * test_lineproto.c - the influxdb output's line protocol writer and RED
 * aggregator, without a server: every vector of
 * ../shared/corpora/influx-lineprotocol/lp_vectors.json, the rules that
 * make unwritable text safe, and the percentiles' precision.
 *
 * The reader that reads the writer's lines back (tests/helpers/lp_reader.c)
 * is itself held to every InfluxDB 1.x parse vector first, so "reads back
 * equal" means what InfluxDB 1.x would read. test_influxdb.c does the same
 * against the real server.
 */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "th_file.h"

#include "cd_limits.h"
#include "lp_reader.h"
#include "output/influxdb/lineproto.h"
#include "output/influxdb/red.h"
#include <store/err.h>
#include "vectors.h"

static struct lp_buf out, tmp;

static void teardown(void)
{
	lp_buf_release(&out);
	lp_buf_release(&tmp);
}

static int cmp_tag(const void *a, const void *b)
{
	json_t *x = json_array_get(*(json_t *const *)a, 0), *y = json_array_get(*(json_t *const *)b, 0);
	size_t nx = json_string_length(x), ny = json_string_length(y);
	int c = memcmp(json_string_value(x), json_string_value(y), nx < ny ? nx : ny);

	return c ? c : nx < ny ? -1 : nx > ny;
}

/*
 * The expected JSON point equals a point read back. @sorted: the writer
 * sorts tags by key (as InfluxDB stores them), so compare in that order.
 */
static void assert_point_eq(const char *id, json_t *jp, const struct lpr_point *p, bool check_time,
			    bool sorted)
{
	json_t *tags = json_deep_copy(json_object_get(jp, "tags")), *fields = json_object_get(jp, "fields");
	json_t *t = json_object_get(jp, "time"), *e;
	size_t i;

	if (sorted && json_array_size(tags) > 1) {
		json_t *arr[LP_TAGS_MAX];
		size_t n = json_array_size(tags);
		for (i = 0; i < n; i++)
			arr[i] = json_incref(json_array_get(tags, i));
		qsort(arr, n, sizeof(arr[0]), cmp_tag);
		json_array_clear(tags);
		for (i = 0; i < n; i++)
			json_array_append_new(tags, arr[i]);
	}

	ck_assert_msg(p->mlen == json_string_length(json_object_get(jp, "measurement")) &&
			      memcmp(p->measurement, json_string_value(json_object_get(jp, "measurement")),
				     p->mlen) == 0,
		      "%s: measurement '%s'", id, p->measurement);
	ck_assert_msg(p->ntags == json_array_size(tags), "%s: %zu tags", id, p->ntags);
	json_array_foreach(tags, i, e)
	{
		json_t *k = json_array_get(e, 0), *v = json_array_get(e, 1);
		ck_assert_msg(p->tags[i].klen == json_string_length(k) &&
				      memcmp(p->tags[i].key, json_string_value(k), p->tags[i].klen) == 0,
			      "%s: tag key %zu '%s'", id, i, p->tags[i].key);
		ck_assert_msg(p->tags[i].vlen == json_string_length(v) &&
				      memcmp(p->tags[i].val, json_string_value(v), p->tags[i].vlen) == 0,
			      "%s: tag value %zu '%s'", id, i, p->tags[i].val);
	}
	json_decref(tags);
	ck_assert_msg(p->nfields == json_array_size(fields), "%s: %zu fields", id, p->nfields);
	json_array_foreach(fields, i, e)
	{
		const struct lpr_kv *f = &p->fields[i];
		const char *k = json_string_value(json_array_get(e, 0));
		const char *type = json_string_value(json_array_get(e, 1));
		const char *v = json_string_value(json_array_get(e, 2));

		ck_assert_msg(f->klen == json_string_length(json_array_get(e, 0)) &&
				      memcmp(f->key, k, f->klen) == 0,
			      "%s: field key %zu '%s'", id, i, f->key);
		if (strcmp(type, "float") == 0)
			ck_assert_msg(f->type == LPR_FLOAT && f->f == strtod(v, NULL), "%s: float %s", id, v);
		else if (strcmp(type, "integer") == 0)
			ck_assert_msg(f->type == LPR_INT && f->i == strtoll(v, NULL, 10), "%s: int %s", id,
				      v);
		else if (strcmp(type, "unsigned") == 0)
			ck_assert_msg(f->type == LPR_UINT && f->u == strtoull(v, NULL, 10), "%s: uint %s", id,
				      v);
		else if (strcmp(type, "boolean") == 0)
			ck_assert_msg(f->type == LPR_BOOL && f->b == (strcmp(v, "true") == 0), "%s: bool %s",
				      id, v);
		else
			ck_assert_msg(f->type == LPR_STRING &&
					      f->vlen == json_string_length(json_array_get(e, 2)) &&
					      memcmp(f->val, v, f->vlen) == 0,
				      "%s: string '%s' read '%.*s'", id, v, (int)f->vlen, f->val);
	}
	if (!check_time)
		return;
	if (json_is_string(t)) {
		ck_assert_msg(p->has_time, "%s: no time", id);
		ck_assert_msg(p->time_ns == strtoll(json_string_value(t), NULL, 10), "%s: time", id);
	} else {
		ck_assert_msg(!p->has_time, "%s: a time", id);
	}
}

/* --- the vectors ------------------------------------------------------------------ */

START_TEST(serialize_and_escape_vectors_match_byte_for_byte)
{
	json_t *all = vectors_load(), *v;
	size_t i, n = 0;

	json_array_foreach(all, i, v)
	{
		const char *op = json_string_value(json_object_get(v, "op"));
		const char *id = json_string_value(json_object_get(v, "id"));

		out.len = 0;
		if (strcmp(op, "serialize") == 0) {
			struct vec_point vp;
			json_t *want = json_object_get(v, "expect_line");

			vec_point_from_json(json_object_get(v, "point"), &vp);
			if (vp.p.mlen == 0) /* a fields section alone */
				ck_assert_int_gt(lp_write_fields(&out, vp.p.fields, vp.p.nfields), 0);
			else
				ck_assert_int_eq(lp_write(&out, &tmp, &vp.p), 0);
			if (out.len && out.data[out.len - 1] == '\n')
				out.len--;
			ck_assert_msg(out.len == json_string_length(want) &&
					      memcmp(out.data, json_string_value(want), out.len) == 0,
				      "%s: wrote '%.*s', want '%s'", id, (int)out.len, out.data,
				      json_string_value(want));
			n++;
		} else if (strcmp(op, "escape_string_field") == 0) {
			json_t *in = json_object_get(v, "input"), *want = json_object_get(v, "expect_output");
			struct lpr_result r;
			char line[512];
			int len;

			ck_assert_int_eq(lp_put_string(&out, json_string_value(in), json_string_length(in)),
					 0);
			ck_assert_msg(out.len == json_string_length(want) &&
					      memcmp(out.data, json_string_value(want), out.len) == 0,
				      "%s: wrote '%.*s'", id, (int)out.len, out.data);
			/* and, as the vector's note asks, t s="<escaped>" reads back as the input */
			len = snprintf(line, sizeof(line), "t s=\"%.*s\"", (int)out.len, out.data);
			ck_assert_int_eq(lpr_parse(line, (size_t)len, NULL, &r), 0);
			ck_assert_uint_eq(r.n, 1);
			ck_assert_uint_eq(r.points[0].fields[0].vlen, json_string_length(in));
			ck_assert_int_eq(memcmp(r.points[0].fields[0].val, json_string_value(in),
						json_string_length(in)),
					 0);
			lpr_free(&r);
			n++;
		}
	}
	ck_assert_uint_eq(n, 13); /* 9 serialize + 4 escape_string_field */
	json_decref(all);
}
END_TEST

START_TEST(the_reader_agrees_with_every_influxdb_1x_parse_vector)
{
	json_t *all = vectors_load(), *v;
	size_t i, ok = 0, bad = 0, other = 0;

	json_array_foreach(all, i, v)
	{
		const char *id = json_string_value(json_object_get(v, "id"));
		const char *applies = json_string_value(json_object_get(v, "applies_to"));
		json_t *in = json_object_get(v, "input");
		struct lpr_result r;
		int rc;

		if (strcmp(json_string_value(json_object_get(v, "op")), "parse") != 0)
			continue;
		if (applies && !strstr(applies, "InfluxDB 2.x")) {
			other++; /* the line-protocol v2 decoder's rules, not 1.x's: not this reader's */
			continue;
		}
		rc = lpr_parse(json_string_value(in), json_string_length(in),
			       json_string_value(json_object_get(v, "precision")), &r);
		if (strcmp(json_string_value(json_object_get(v, "expect")), "ok") == 0 || applies) {
			/* 2.x-only errors (reserved tag keys): InfluxDB 1.x accepts those lines */
			json_t *pts = json_object_get(v, "points"), *jp;
			size_t k;

			ck_assert_msg(rc == 0, "%s: %s", id, r.error);
			if (!applies) {
				ck_assert_msg(r.n == json_array_size(pts), "%s: %zu points", id, r.n);
				json_array_foreach(pts, k, jp)
					assert_point_eq(id, jp, &r.points[k], true, false);
			}
			ok++;
		} else {
			ck_assert_msg(rc < 0, "%s: accepted", id);
			bad++;
		}
		lpr_free(&r);
	}
	ck_assert_uint_eq(ok, 105 + 4);
	ck_assert_uint_eq(bad, 70);
	ck_assert_uint_eq(other, 25);
	json_decref(all);
}
END_TEST

START_TEST(every_expected_point_of_the_vectors_is_written_and_reads_back_equal)
{
	json_t *all = vectors_load(), *v;
	size_t i, n = 0;

	json_array_foreach(all, i, v)
	{
		const char *id = json_string_value(json_object_get(v, "id"));
		json_t *pts = json_object_get(v, "points"), *jp;
		size_t k;

		if (strcmp(json_string_value(json_object_get(v, "op")), "parse") != 0 ||
		    strcmp(json_string_value(json_object_get(v, "expect")), "ok") != 0)
			continue;
		json_array_foreach(pts, k, jp)
		{
			struct vec_point vp;
			struct lpr_result r;
			int rc;

			vec_point_from_json(jp, &vp);
			out.len = 0;
			rc = lp_write(&out, &tmp, &vp.p);
			if (vp.p.has_time && vp.p.time_ns < INT64_MIN + 2) {
				/* lp-timestamp-int64-min: below InfluxDB 1.x's MinNanoTime, refused, nothing written */
				ck_assert_int_eq(rc, -CD_EINVAL);
				ck_assert_uint_eq(out.len, 0);
				n++;
				continue;
			}
			ck_assert_msg(rc == 0, "%s: lp_write %d", id, rc);
			ck_assert_int_eq(out.data[out.len - 1], '\n');
			ck_assert_msg(lpr_parse(out.data, out.len, NULL, &r) == 0, "%s: '%.*s': %s", id,
				      (int)out.len, out.data, r.error);
			ck_assert_uint_eq(r.n, 1);
			assert_point_eq(id, jp, &r.points[0], true, true);
			lpr_free(&r);
			n++;
		}
	}
	ck_assert_uint_ge(n, 114);
	json_decref(all);
}
END_TEST

/* --- what cannot be said is made safe ----------------------------------------------- */

/* Write one point with @ntags tags and a float field; read it back. */
static void roundtrip(const char *m, const struct lp_tag *tags, size_t nt, struct lpr_result *r)
{
	struct lp_field f = {.key = "v", .klen = 1, .type = LP_FLOAT, .v.f = 1};
	struct lp_point p = {m, strlen(m), tags, nt, &f, 1, true, 1000};

	out.len = 0;
	ck_assert_int_eq(lp_write(&out, &tmp, &p), 0);
	ck_assert_msg(lpr_parse(out.data, out.len, NULL, r) == 0, "'%.*s': %s", (int)out.len, out.data,
		      r->error);
	ck_assert_uint_eq(r->n, 1);
}

START_TEST(a_line_feed_in_a_name_becomes_a_space_and_never_splits_the_line)
{
	struct lp_tag t[] = {{"k\ney", 4, "va\nl", 5}};
	struct lpr_result r;

	roundtrip("me\nas", t, 1, &r);
	ck_assert_str_eq(r.points[0].measurement, "me as");
	ck_assert_str_eq(r.points[0].tags[0].key, "k ey");
	ck_assert_str_eq(r.points[0].tags[0].val, "va l");
	ck_assert_ptr_null(memchr(out.data, '\n', out.len - 1));
	lpr_free(&r);
}
END_TEST

START_TEST(trailing_backslashes_are_dropped_and_inner_ones_kept)
{
	struct lp_tag t[] = {{"a\\", 2, "C:\\dir\\\\", 8}, {"b", 1, "x\\ y", 4}, {"c", 1, "\\\\", 2}};
	struct lpr_result r;

	roundtrip("m\\", t, 3, &r);
	ck_assert_str_eq(r.points[0].measurement, "m");
	ck_assert_uint_eq(r.points[0].ntags, 2); /* c's value was only backslashes: left out */
	ck_assert_str_eq(r.points[0].tags[0].key, "a");
	ck_assert_str_eq(r.points[0].tags[0].val, "C:\\dir");
	ck_assert_str_eq(r.points[0].tags[1].val, "x\\ y");
	lpr_free(&r);
}
END_TEST

START_TEST(a_comment_like_measurement_and_the_key_time_are_renamed)
{
	struct lp_tag t[] = {{"time", 4, "x", 1}};
	struct lp_field f = {.key = "time", .klen = 4, .type = LP_INT, .v.i = 3};
	struct lp_point p = {"#m", 2, t, 1, &f, 1, false, 0};
	struct lpr_result r;

	ck_assert_int_eq(lp_write(&out, &tmp, &p), 0);
	ck_assert_int_eq(lpr_parse(out.data, out.len, NULL, &r), 0);
	ck_assert_uint_eq(r.n, 1); /* not read as a comment */
	ck_assert_str_eq(r.points[0].measurement, "_#m");
	ck_assert_str_eq(r.points[0].tags[0].key, "_time");
	ck_assert_str_eq(r.points[0].fields[0].key, "_time");
	ck_assert_str_eq(r.points[0].tags[0].val, "x");
	lpr_free(&r);
	/* a tab where a line or its fields start would be skipped by InfluxDB */
	p.measurement = "\tm", p.mlen = 2;
	f.key = "\tf", f.klen = 2;
	out.len = 0;
	ck_assert_int_eq(lp_write(&out, &tmp, &p), 0);
	ck_assert_int_eq(lpr_parse(out.data, out.len, NULL, &r), 0);
	ck_assert_str_eq(r.points[0].measurement, "_\tm");
	ck_assert_str_eq(r.points[0].fields[0].key, "_\tf");
	lpr_free(&r);
}
END_TEST

START_TEST(invalid_utf8_becomes_the_replacement_character)
{
	struct lp_tag t[] = {{"k", 1,
			      "a\xff"
			      "b\xc3",
			      4}};
	struct lp_field f = {.key = "s",
			     .klen = 1,
			     .type = LP_STRING,
			     .v.s = {"\xed\xa0\x80"
				     "ok",
				     5}};
	struct lp_point p = {"m", 1, t, 1, &f, 1, false, 0};
	struct lpr_result r;

	ck_assert_int_eq(lp_write(&out, &tmp, &p), 0);
	ck_assert_int_eq(lpr_parse(out.data, out.len, NULL, &r), 0);
	ck_assert_str_eq(r.points[0].tags[0].val, "a\xef\xbf\xbd"
						  "b\xef\xbf\xbd");
	ck_assert_uint_eq(r.points[0].fields[0].vlen, 11);
	ck_assert_int_eq(memcmp(r.points[0].fields[0].val, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdok", 11), 0);
	lpr_free(&r);
}
END_TEST

START_TEST(tags_are_sorted_deduplicated_after_sanitizing_and_empty_ones_left_out)
{
	struct lp_tag t[] = {{"z", 1, "1", 1}, {"a b", 3, "2", 1}, {"a\nb", 3, "3", 1},
			     {"e", 1, "", 0},  {"", 0, "x", 1},	   {"m", 1, "4", 1}};
	struct lpr_result r;

	roundtrip("m", t, 6, &r);
	ck_assert_uint_eq(r.points[0].ntags, 3);
	ck_assert_str_eq(r.points[0].tags[0].key, "a b");
	ck_assert_str_eq(r.points[0].tags[0].val, "2"); /* the first of the two that became "a b" */
	ck_assert_str_eq(r.points[0].tags[1].key, "m");
	ck_assert_str_eq(r.points[0].tags[2].key, "z");
	lpr_free(&r);
}
END_TEST

START_TEST(non_finite_floats_are_left_out_and_a_point_without_fields_is_not_written)
{
	struct lp_field f[] = {{.key = "a", .klen = 1, .type = LP_FLOAT, .v.f = NAN},
			       {.key = "b", .klen = 1, .type = LP_FLOAT, .v.f = INFINITY},
			       {.key = "", .klen = 0, .type = LP_INT, .v.i = 1},
			       {.key = "c", .klen = 1, .type = LP_FLOAT, .v.f = 0.1}};
	struct lp_point p = {"m", 1, NULL, 0, f, 3, false, 0};

	out.len = 0;
	ck_assert_int_eq(lp_write(&out, &tmp, &p), -CD_EINVAL);
	ck_assert_uint_eq(out.len, 0);
	p.nfields = 4;
	ck_assert_int_eq(lp_write(&out, &tmp, &p), 0);
	ck_assert_int_eq(memcmp(out.data, "m c=0.1\n", out.len), 0);
	p.measurement = "\\";
	out.len = 0;
	ck_assert_int_eq(lp_write(&out, &tmp, &p), -CD_EINVAL); /* nothing left of the measurement */
	ck_assert_uint_eq(out.len, 0);
}
END_TEST

START_TEST(floats_are_the_shortest_decimal_that_reads_back_the_same)
{
	static const double vals[] = {
		0.1, 1.0 / 3, 12.123, 11, -0.64, 1e20, 5e-324, 1.7976931348623157e308, 123456789.125};

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		char buf[64];
		out.len = 0;
		ck_assert_int_eq(lp_put_float(&out, vals[i]), 0);
		ck_assert_uint_lt(out.len, sizeof(buf));
		memcpy(buf, out.data, out.len);
		buf[out.len] = '\0';
		ck_assert_msg(strtod(buf, NULL) == vals[i], "%s", buf);
	}
	out.len = 0;
	ck_assert_int_eq(lp_put_float(&out, 0.1), 0);
	ck_assert_int_eq(memcmp(out.data, "0.1", 3), 0);
	ck_assert_int_eq(lp_put_float(&out, NAN), -CD_EINVAL);
}
END_TEST

START_TEST(names_and_strings_are_cut_at_their_caps_on_a_utf8_boundary)
{
	size_t n = CD_INFLUX_NAME_MAX + 10, sn = CD_INFLUX_STRING_MAX + 10;
	char *name = malloc(n), *s = malloc(sn);
	struct lp_tag t = {"k", 1, name, n};
	struct lp_field f = {.key = "s", .klen = 1, .type = LP_STRING, .v.s = {s, sn}};
	struct lp_point p = {"m", 1, &t, 1, &f, 1, false, 0};
	struct lpr_result r;

	for (size_t i = 0; i < n; i += 2)
		memcpy(name + i, "\xc3\xa9", 2); /* é: two bytes each */
	memset(s, '"', sn);
	ck_assert_int_eq(lp_write(&out, &tmp, &p), 0);
	ck_assert_int_eq(lpr_parse(out.data, out.len, NULL, &r), 0);
	ck_assert_uint_eq(r.points[0].tags[0].vlen, CD_INFLUX_NAME_MAX);
	ck_assert_uint_eq(r.points[0].fields[0].vlen, CD_INFLUX_STRING_MAX);
	lpr_free(&r);
	free(name);
	free(s);
}
END_TEST

START_TEST(timestamps_outside_what_influxdb_1x_stores_are_refused)
{
	struct lp_field f = {.key = "v", .klen = 1, .type = LP_INT, .v.i = 1};
	struct lp_point p = {"m", 1, NULL, 0, &f, 1, true, INT64_MAX};

	ck_assert_int_eq(lp_write(&out, &tmp, &p), -CD_EINVAL);
	p.time_ns = INT64_MIN + 1;
	ck_assert_int_eq(lp_write(&out, &tmp, &p), -CD_EINVAL);
	p.time_ns = INT64_MAX - 1;
	ck_assert_int_eq(lp_write(&out, &tmp, &p), 0);
}
END_TEST

/* --- RED ------------------------------------------------------------------------------ */

static struct red_row rows[64];
static int nrows;

static int collect(void *arg, const struct red_row *row)
{
	(void)arg;
	ck_assert_int_lt(nrows, 64);
	rows[nrows] = *row;
	/* labels are borrowed for the call: keep copies */
	for (int i = 0; i < RED_LABELS; i++) {
		char *c = malloc(row->label[i].n + 1);
		memcpy(c, row->label[i].p ? row->label[i].p : "", row->label[i].n);
		c[row->label[i].n] = '\0';
		rows[nrows].label[i].p = c;
	}
	nrows++;
	return 0;
}

static void rows_free(void)
{
	for (int i = 0; i < nrows; i++)
		for (int k = 0; k < RED_LABELS; k++)
			free((void *)(uintptr_t)rows[i].label[k].p);
	nrows = 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t nearest_rank(const uint64_t *sorted, size_t n, unsigned permille)
{
	size_t rank = (n * permille + 999) / 1000;
	return sorted[rank ? rank - 1 : 0];
}

START_TEST(histogram_buckets_report_values_within_a_32nd)
{
	for (uint64_t v = 0; v < 5000000; v += 1 + v / 97) {
		uint64_t got = red_hist_value(red_hist_bucket(v));
		double err = fabs((double)got - (double)v);
		ck_assert_msg(err <= (double)v / 32 + 0.5, "%llu -> %llu", (unsigned long long)v,
			      (unsigned long long)got);
		if (v)
			ck_assert_uint_ge(red_hist_bucket(v), red_hist_bucket(v - 1)); /* monotonic */
	}
}
END_TEST

START_TEST(percentiles_counts_and_errors_per_series_match_the_samples)
{
	const int64_t sec = 1000000000, t0 = 1700000000 * sec;
	static uint64_t durs[3000];
	struct red *r;
	struct red_str l[RED_LABELS] = {{"orders", 6}, {"GET", 3}, {"/x", 2}, {NULL, 0}};
	uint64_t seed = 7, errors = 0;

	ck_assert_int_eq(red_new(&r, 10 * sec, 10 * sec, 100), 0);
	red_clock(r, t0, 0);
	for (int i = 0; i < 3000; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		durs[i] = (seed >> 33) % 200000 + (i % 10 == 0 ? 1000000 : 0); /* a slow tail */
		errors += i % 7 == 0;
		ck_assert_int_eq(red_add(r, RED_SPAN, t0 + (i % 1000) * 1000000, l, durs[i], i % 7 == 0), 0);
	}
	/* another series in the same interval, and one log count */
	l[0] = (struct red_str){"billing", 7};
	ck_assert_int_eq(red_add(r, RED_SPAN, t0, l, 5, true), 0);
	ck_assert_int_eq(red_add(r, RED_LOG, t0, l, 0, false), 0);
	nrows = 0;
	ck_assert_int_eq(red_flush(r, t0 + 5 * sec, 0, false, collect, NULL), 0); /* not final yet */
	ck_assert_int_eq(red_flush(r, t0, 0, true, collect, NULL), 3);
	qsort(durs, 3000, sizeof(durs[0]), cmp_u64);
	for (int i = 0; i < nrows; i++) {
		if (rows[i].kind != RED_SPAN || strcmp(rows[i].label[0].p, "orders") != 0)
			continue;
		ck_assert_uint_eq(rows[i].count, 3000);
		ck_assert_uint_eq(rows[i].errors, errors);
		ck_assert_int_eq(rows[i].start_ns, t0);
		ck_assert_uint_eq(rows[i].max_us, durs[2999]);
		for (unsigned q = 0; q < 3; q++) {
			static const unsigned pm[] = {500, 900, 990};
			uint64_t exact = nearest_rank(durs, 3000, pm[q]);
			uint64_t got = q == 0 ? rows[i].p50_us : q == 1 ? rows[i].p90_us : rows[i].p99_us;
			ck_assert_msg(fabs((double)got - (double)exact) <= (double)exact / 32,
				      "p%u: %llu vs exact %llu", pm[q] / 10, (unsigned long long)got,
				      (unsigned long long)exact);
		}
	}
	rows_free();
	red_free(r);
}
END_TEST

START_TEST(an_interval_is_final_once_records_pass_its_end_and_later_samples_are_late)
{
	const int64_t sec = 1000000000, t0 = 1000 * sec;
	struct red_str l[RED_LABELS] = {{"s", 1}, {"GET", 3}, {"/", 1}, {NULL, 0}};
	struct red_stats st;
	struct red *r;

	ck_assert_int_eq(red_new(&r, 10 * sec, 10 * sec, 100), 0);
	red_clock(r, t0 + 3600 * sec, 0); /* a backfill: the wall clock is an hour ahead */
	ck_assert_int_eq(red_add(r, RED_REQUEST, t0 + 1 * sec, l, 10, false), 0);
	ck_assert_int_eq(red_add(r, RED_REQUEST, t0 + 15 * sec, l, 10, false), 0);
	nrows = 0;
	/* the wall clock is past, but the series just took samples: by event time nothing is final */
	ck_assert_int_eq(red_flush(r, t0 + 3600 * sec, 0, false, collect, NULL), 0);
	ck_assert_int_eq(red_add(r, RED_REQUEST, t0 + 31 * sec, l, 10, false),
			 0); /* the mark passes t0+20s */
	ck_assert_int_eq(red_flush(r, t0 + 3600 * sec, 1, false, collect, NULL), 2);
	ck_assert_int_eq(rows[0].start_ns, t0);
	ck_assert_int_eq(rows[1].start_ns, t0 + 10 * sec);
	ck_assert_int_eq(red_add(r, RED_REQUEST, t0 + 2 * sec, l, 10, false), 1); /* late */
	red_stats(r, &st);
	ck_assert_uint_eq(st.late, 1);
	ck_assert_uint_eq(st.series, 1);
	/* idle for the lateness on the monotonic clock: final by the wall clock too */
	ck_assert_int_eq(red_flush(r, t0 + 3600 * sec, 1 + 20 * sec, false, collect, NULL), 1);
	ck_assert_int_eq(rows[2].start_ns, t0 + 30 * sec);
	ck_assert_uint_eq(rows[2].count, 1);
	/* a straggler for that interval (not late by event time): the same point again, with the whole sums */
	red_clock(r, t0 + 3600 * sec, 1 + 21 * sec);
	ck_assert_int_eq(red_add(r, RED_REQUEST, t0 + 32 * sec, l, 10, false), 0);
	ck_assert_int_eq(red_flush(r, t0 + 3600 * sec, 1 + 25 * sec, false, collect, NULL),
			 0); /* not idle yet */
	ck_assert_int_eq(red_flush(r, t0 + 3600 * sec, 1 + 40 * sec, false, collect, NULL), 1);
	ck_assert_int_eq(rows[3].start_ns, t0 + 30 * sec);
	ck_assert_uint_eq(rows[3].count, 2);
	red_stats(r, &st);
	ck_assert_uint_eq(st.series, 1); /* kept a while for stragglers */
	ck_assert_int_eq(red_flush(r, t0 + 3600 * sec, 1 + 200 * sec, false, collect, NULL), 0);
	red_stats(r, &st);
	ck_assert_uint_eq(st.series, 0); /* then forgotten */
	rows_free();
	red_free(r);
}
END_TEST

START_TEST(past_the_series_cap_new_series_fold_into_one_overflow_series)
{
	const int64_t sec = 1000000000;
	struct red *r;
	struct red_stats st;
	char route[32];
	uint64_t total = 0, other = 0;

	ck_assert_int_eq(red_new(&r, 10 * sec, 10 * sec, 16), 0);
	red_clock(r, 0, 0);
	for (int i = 0; i < 100; i++) {
		struct red_str l[RED_LABELS] = {{"s", 1}, {"GET", 3}, {route, 0}, {NULL, 0}};
		l[2].n = (size_t)snprintf(route, sizeof(route), "/items/%d", i);
		ck_assert_int_eq(red_add(r, RED_REQUEST, 5 * sec, l, 100, false), 0);
	}
	red_stats(r, &st);
	ck_assert_uint_eq(st.series, 17);
	ck_assert_uint_eq(st.overflow, 84);
	nrows = 0;
	ck_assert_int_eq(red_flush(r, 0, 0, true, collect, NULL), 17);
	for (int i = 0; i < nrows; i++) {
		total += rows[i].count;
		if (strcmp(rows[i].label[0].p, "_other") == 0)
			other = rows[i].count;
	}
	ck_assert_uint_eq(total, 100); /* nothing lost */
	ck_assert_uint_eq(other, 84);
	rows_free();
	red_free(r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("influxdb-lineproto");
	TCase *v = tcase_create("vectors"), *safe = tcase_create("safe"), *red = tcase_create("red");
	const char *corpora = th_corpora(); /* the vectors; without them the rest runs and reports a skip */
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(v, NULL, teardown);
	tcase_add_checked_fixture(safe, NULL, teardown);
	tcase_add_test(v, serialize_and_escape_vectors_match_byte_for_byte);
	tcase_add_test(v, the_reader_agrees_with_every_influxdb_1x_parse_vector);
	tcase_add_test(v, every_expected_point_of_the_vectors_is_written_and_reads_back_equal);
	tcase_add_test(safe, a_line_feed_in_a_name_becomes_a_space_and_never_splits_the_line);
	tcase_add_test(safe, trailing_backslashes_are_dropped_and_inner_ones_kept);
	tcase_add_test(safe, a_comment_like_measurement_and_the_key_time_are_renamed);
	tcase_add_test(safe, invalid_utf8_becomes_the_replacement_character);
	tcase_add_test(safe, tags_are_sorted_deduplicated_after_sanitizing_and_empty_ones_left_out);
	tcase_add_test(safe, non_finite_floats_are_left_out_and_a_point_without_fields_is_not_written);
	tcase_add_test(safe, floats_are_the_shortest_decimal_that_reads_back_the_same);
	tcase_add_test(safe, names_and_strings_are_cut_at_their_caps_on_a_utf8_boundary);
	tcase_add_test(safe, timestamps_outside_what_influxdb_1x_stores_are_refused);
	tcase_add_test(red, histogram_buckets_report_values_within_a_32nd);
	tcase_add_test(red, percentiles_counts_and_errors_per_series_match_the_samples);
	tcase_add_test(red, an_interval_is_final_once_records_pass_its_end_and_later_samples_are_late);
	tcase_add_test(red, past_the_series_cap_new_series_fold_into_one_overflow_series);
	if (corpora)
		suite_add_tcase(s, v);
	suite_add_tcase(s, safe);
	suite_add_tcase(s, red);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : corpora ? 0 : TH_SKIP;
}
