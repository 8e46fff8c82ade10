/*
 * vectors.h - the InfluxDB line protocol vectors of
 * ../shared/corpora/influx-lineprotocol/lp_vectors.json as lp_point
 * structs, shared by the encoder's unit test and the server round trip.
 */
#ifndef TEST_INFLUX_VECTORS_H
#define TEST_INFLUX_VECTORS_H

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "th_file.h"

#include "output/influxdb/lineproto.h"

/* The vectors file (jansson array); the test fails when it cannot be read. */
static inline json_t *vectors_load(void)
{
	const char *dir = th_corpora();
	char path[4096];
	json_error_t je;
	json_t *v;

	ck_assert_msg(dir, "the outside test corpora are missing");
	snprintf(path, sizeof(path), "%s/influx-lineprotocol/lp_vectors.json", dir);
	v = json_load_file(path, 0, &je);
	ck_assert_msg(v && json_is_array(v), "%s: %s", path, je.text);
	return v;
}

/* An expected point of a vector, as the encoder's input (views into the JSON; valid while it lives). */
struct vec_point {
	struct lp_point p;
	struct lp_tag tags[LP_TAGS_MAX];
	struct lp_field fields[64];
};

static inline void vec_point_from_json(json_t *jp, struct vec_point *vp)
{
	json_t *m = json_object_get(jp, "measurement"), *tags = json_object_get(jp, "tags");
	json_t *fields = json_object_get(jp, "fields"), *t = json_object_get(jp, "time");
	size_t i;
	json_t *e;

	memset(vp, 0, sizeof(*vp));
	vp->p.measurement = json_string_value(m);
	vp->p.mlen = json_string_length(m);
	json_array_foreach(tags, i, e)
	{
		ck_assert_uint_lt(i, LP_TAGS_MAX);
		vp->tags[i] = (struct lp_tag){
			json_string_value(json_array_get(e, 0)), json_string_length(json_array_get(e, 0)),
			json_string_value(json_array_get(e, 1)), json_string_length(json_array_get(e, 1))};
	}
	vp->p.tags = vp->tags;
	vp->p.ntags = json_array_size(tags);
	json_array_foreach(fields, i, e)
	{
		const char *type = json_string_value(json_array_get(e, 1));
		const char *val = json_string_value(json_array_get(e, 2));
		struct lp_field *f = &vp->fields[i];

		ck_assert_uint_lt(i, 64);
		f->key = json_string_value(json_array_get(e, 0));
		f->klen = json_string_length(json_array_get(e, 0));
		if (strcmp(type, "float") == 0)
			f->type = LP_FLOAT, f->v.f = strtod(val, NULL);
		else if (strcmp(type, "integer") == 0)
			f->type = LP_INT, f->v.i = strtoll(val, NULL, 10);
		else if (strcmp(type, "unsigned") == 0)
			f->type = LP_UINT, f->v.u = strtoull(val, NULL, 10);
		else if (strcmp(type, "boolean") == 0)
			f->type = LP_BOOL, f->v.b = strcmp(val, "true") == 0;
		else
			f->type = LP_STRING, f->v.s.p = val,
			f->v.s.n = json_string_length(json_array_get(e, 2));
	}
	vp->p.fields = vp->fields;
	vp->p.nfields = json_array_size(fields);
	if (json_is_string(t)) {
		vp->p.has_time = true;
		vp->p.time_ns = strtoll(json_string_value(t), NULL, 10);
	}
}

#endif
