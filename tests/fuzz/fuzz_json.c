/*
 * fuzz_json.c - libFuzzer target for the strict JSON scanner and the JSON
 * log line parser.
 *
 * DESIGN: every input goes through fmt_json_validate() and fmt_json_parse(),
 * and the results must obey the contract of fmt/json.h and fmt/record.h;
 * any violation calls abort() so libFuzzer (or regress_main.c, which replays
 * tests/fuzz/corpus/json in every build) reports it. Checked: return codes
 * and the error struct, every view inside the input, the caps, the flags
 * that mirror fields, typed attribute texts that are what their type says,
 * decoding never growing a view, and the two functions agreeing with each
 * other. No main() here: libFuzzer or regress_main.c provides it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/json.h"
#include "fmt/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

static const char *in_base;
static size_t in_size;
static char *scratch; /* decode buffer of in_size bytes */

/* A view is absent, or inside the input, and decodes to no more than it holds. */
static void check_view(const struct fmt_str *v)
{
	size_t n;

	if (!v->ptr) {
		CHECK(v->len == 0);
		return;
	}
	CHECK(v->ptr >= in_base && v->len <= in_size && (size_t)(v->ptr - in_base) <= in_size - v->len);
	CHECK(v->enc == FMT_ENC_RAW || v->enc == FMT_ENC_JSON);
	n = fmt_str_decode(v, scratch);
	CHECK(n <= v->len);
}

static bool is_err_code(int rc)
{
	return rc == -FMT_EPARSE || rc == -FMT_EUTF8 || rc == -FMT_EDEPTH || rc == -FMT_ENUMBER;
}

static void check_attr(const struct fmt_attr *a)
{
	CHECK(a->key.ptr != NULL && a->val.ptr != NULL);
	check_view(&a->key);
	check_view(&a->val);
	switch (a->type) {
	case FMT_T_STRING:
		break;
	case FMT_T_NUMBER:
		CHECK(a->val.enc == FMT_ENC_RAW && a->val.len >= 1 && a->val.len <= FMT_JSON_NUMBER_MAX);
		CHECK(fmt_json_validate(a->val.ptr, a->val.len, NULL) == 0);
		break;
	case FMT_T_BOOL:
		CHECK((a->val.len == 4 && memcmp(a->val.ptr, "true", 4) == 0) ||
		      (a->val.len == 5 && memcmp(a->val.ptr, "false", 5) == 0));
		break;
	case FMT_T_NULL:
		CHECK(a->val.len == 4 && memcmp(a->val.ptr, "null", 4) == 0);
		break;
	case FMT_T_OBJECT:
	case FMT_T_ARRAY:
		CHECK(a->val.enc == FMT_ENC_RAW && a->val.len >= 2);
		CHECK(a->val.ptr[0] == (a->type == FMT_T_OBJECT ? '{' : '['));
		CHECK(a->val.ptr[a->val.len - 1] == (a->type == FMT_T_OBJECT ? '}' : ']'));
		CHECK(fmt_json_validate(a->val.ptr, a->val.len, NULL) == 0);
		break;
	default:
		abort();
	}
}

static void check_record(const struct fmt_record *r)
{
	CHECK(r->format == FMT_JSON);
	CHECK(r->nids <= FMT_IDS_MAX && r->nattrs <= FMT_ATTRS_MAX);
	CHECK(r->level <= FMT_LEVEL_OTHER && r->event <= FMT_EVENT_METRIC);
	CHECK((r->flags & ~(uint32_t)(FMT_F_TS_INVALID | FMT_F_ATTRS_TRUNCATED | FMT_F_CONT)) == 0);
	check_view(&r->ts_text);
	check_view(&r->level_text);
	check_view(&r->trace);
	check_view(&r->span);
	check_view(&r->parent);
	check_view(&r->service);
	check_view(&r->method);
	check_view(&r->path);
	check_view(&r->message);
	check_view(&r->cont);
	for (uint16_t i = 0; i < r->nids; i++) {
		CHECK(r->ids[i].ptr != NULL);
		check_view(&r->ids[i]);
	}
	for (uint16_t i = 0; i < r->nattrs; i++)
		check_attr(&r->attrs[i]);

	/* flags and fields that mirror each other */
	CHECK(!r->has_ts || !(r->flags & FMT_F_TS_INVALID));
	CHECK((r->ts_text.ptr != NULL) == (r->has_ts || (r->flags & FMT_F_TS_INVALID)));
	CHECK((r->level_text.ptr != NULL) == (r->level != FMT_LEVEL_NONE));
	CHECK((r->cont.ptr != NULL) == ((r->flags & FMT_F_CONT) != 0));
	CHECK(r->cont.ptr == NULL || r->cont.enc == FMT_ENC_RAW);
	CHECK(r->nids == 0 || r->trace.ptr != NULL);
	CHECK(r->nids > 0 || r->trace.ptr == NULL);
	if (r->flags & FMT_F_ATTRS_TRUNCATED)
		CHECK(r->nattrs == FMT_ATTRS_MAX);
}

static char first_nonblank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return s[i];
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct fmt_record *rec;
	struct fmt_err verr = {0}, perr = {0};
	int vrc, prc;

	rec = malloc(sizeof(*rec));
	scratch = malloc(size ? size : 1);
	CHECK(rec && scratch);
	in_base = s;
	in_size = size;

	vrc = fmt_json_validate(s, size, &verr);
	CHECK(vrc == 0 || is_err_code(vrc));
	CHECK((vrc == 0) == (verr.what == NULL));
	CHECK(verr.offset <= size);

	prc = fmt_json_parse(s, size, rec, &perr);
	CHECK(prc == 0 || is_err_code(prc));
	CHECK((prc == 0) == (perr.what == NULL));
	CHECK(perr.offset <= size);

	if (prc == 0) {
		check_record(rec);
		/* without continuation text, the parser accepted exactly one JSON text */
		if (!(rec->flags & FMT_F_CONT))
			CHECK(vrc == 0);
	} else {
		CHECK(rec->nattrs == 0 && rec->nids == 0 && rec->flags == 0 && !rec->has_ts);
		CHECK(rec->message.ptr == NULL && rec->trace.ptr == NULL && rec->cont.ptr == NULL);
		/* a valid object is always a record */
		CHECK(!(vrc == 0 && first_nonblank(s, size) == '{'));
		/* both walk the same grammar: the same first failure */
		if (vrc < 0 && first_nonblank(s, size) == '{' && prc != -FMT_EPARSE)
			CHECK(prc == vrc && perr.offset == verr.offset);
	}
	free(scratch);
	free(rec);
	return 0;
}
