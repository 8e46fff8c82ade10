/*
 * fuzz_pipe.c - the pipe parser on arbitrary bytes.
 *
 * Beyond "does not crash" (ASan/UBSan watch the reads), a record that
 * parses must be one the grammar allows: every view inside the input, the
 * NDC within FMT_IDS_MAX and made of ID bytes, trace/span/parent the IDs
 * the depth says, an encoding that matches the bytes, a timestamp that
 * parses to ts_ns. A failure must say what and where, and leave the record
 * empty. fmt_pipe_is_record_start() must agree with the parser, and
 * fmt_pipe_parse_start() with both (the same record, the same answer). Any
 * violation abort()s, which libFuzzer and the regress driver report.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/pipe.h"
#include "fmt/ts.h"

static struct fmt_record rec; /* about 3 KB: static, not on the stack */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

/* An absent view, or one inside data[0..size) whose enc matches its bytes. */
static void check_view(const struct fmt_str *v, const char *data, size_t size)
{
	if (!v->ptr) {
		check(v->len == 0);
		return;
	}
	check(v->ptr >= data && v->ptr <= data + size);
	check(v->len <= (size_t)(data + size - v->ptr));
	check(v->enc == FMT_ENC_RAW || v->enc == FMT_ENC_PIPE);
}

/* Pipe views are PIPE exactly when they hold a backslash. */
static void check_enc(const struct fmt_str *v)
{
	if (v->ptr)
		check((memchr(v->ptr, '\\', v->len) != NULL) == (v->enc == FMT_ENC_PIPE));
}

static bool same(const struct fmt_str *a, const struct fmt_str *b)
{
	return a->ptr == b->ptr && a->len == b->len;
}

static bool is_id_byte(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '_' || c == '-';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	const struct fmt_str none = {0};
	const struct fmt_str *fixed[] = {&rec.service, &rec.method, &rec.path, &rec.message};
	struct fmt_err err = {0};
	bool start = fmt_pipe_is_record_start(line, size), start2;
	int rc = fmt_pipe_parse_start(line, size, &rec, &err, &start2);

	/* fmt_pipe_parse_start() is fmt_pipe_parse() with fmt_pipe_is_record_start()'s answer */
	check(start2 == start);
	{
		struct fmt_err err2 = {0};
		check(fmt_pipe_parse(line, size, &rec, &err2) == rc);
		check(err2.offset == err.offset && err2.what == err.what);
	}
	if (rc != 0) {
		check(rc == -FMT_EPARSE || rc == -FMT_ETS || rc == -FMT_ELIMIT);
		check(err.what != NULL && err.offset <= size);
		check(rec.nids == 0 && rec.nattrs == 0 && rec.format == FMT_UNKNOWN && !rec.has_ts);
		check(!rec.message.ptr && !rec.service.ptr && !rec.trace.ptr && !rec.cont.ptr);
		/* "not a record start" exactly when is_record_start() says no (bad timestamps aside) */
		if (rc == -FMT_EPARSE && strcmp(err.what, "not a record start") == 0)
			check(!start);
		else if (rc != -FMT_ETS)
			check(start);
		return 0;
	}
	check(start);
	check(rec.format == FMT_PIPE);
	check(rec.nids <= FMT_IDS_MAX && rec.nattrs <= FMT_ATTRS_MAX);
	check(rec.level <= FMT_LEVEL_FATAL && rec.event <= FMT_EVENT_METRIC);

	for (uint16_t i = 0; i < rec.nids; i++) {
		check_view(&rec.ids[i], line, size);
		check(rec.ids[i].len > 0 && rec.ids[i].enc == FMT_ENC_RAW);
		for (uint32_t k = 0; k < rec.ids[i].len; k++)
			check(is_id_byte(rec.ids[i].ptr[k]));
	}
	check(same(&rec.trace, rec.nids >= 1 ? &rec.ids[0] : &none));
	check(same(&rec.span, rec.nids >= 2 ? &rec.ids[rec.nids - 1] : &none));
	check(same(&rec.parent, rec.nids >= 3 ? &rec.ids[rec.nids - 2] : &none));

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		check_view(fixed[i], line, size);
		check_enc(fixed[i]);
		/* a record ends at its first newline */
		if (fixed[i]->ptr)
			check(!memchr(fixed[i]->ptr, '\n', fixed[i]->len));
	}
	for (uint16_t i = 0; i < rec.nattrs; i++) {
		const struct fmt_attr *a = &rec.attrs[i];

		check(a->key.ptr && a->key.len > 0 && a->val.ptr);
		check_view(&a->key, line, size);
		check_view(&a->val, line, size);
		check_enc(&a->key);
		check_enc(&a->val);
		check(!memchr(a->key.ptr, '=', a->key.len) && !memchr(a->val.ptr, '\n', a->val.len));
		check(a->type == FMT_T_STRING || a->type == FMT_T_NUMBER || a->type == FMT_T_BOOL);
		if (a->type != FMT_T_STRING)
			check(a->val.enc == FMT_ENC_RAW && a->val.len > 0);
	}

	check_view(&rec.level_text, line, size);
	check((rec.level == FMT_LEVEL_NONE) == !rec.level_text.ptr);
	check_view(&rec.ts_text, line, size);
	check(rec.has_ts == (rec.ts_text.ptr != NULL));
	if (rec.has_ts) {
		int64_t ns;

		check(fmt_ts_parse(rec.ts_text.ptr, rec.ts_text.len, &ns, NULL) == 0 && ns == rec.ts_ns);
	}
	check_view(&rec.cont, line, size);
	check(((rec.flags & FMT_F_CONT) != 0) == (rec.cont.ptr != NULL));
	if (rec.cont.ptr)
		check(rec.cont.len > 0 && rec.cont.ptr[-1] == '\n' &&
		      rec.cont.ptr + rec.cont.len == line + size);
	check((rec.flags & ~(uint32_t)(FMT_F_CONT | FMT_F_ATTRS_TRUNCATED)) == 0);
	return 0;
}
