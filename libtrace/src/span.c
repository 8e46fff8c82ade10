/*
 * span.c - spans: a timed child of the current unit of work.
 *
 * DESIGN: a span is the caller's struct; starting it pushes a fresh span
 * ID on the thread's NDC (ndc.c), so records logged inside it carry it as
 * their span and the enclosing span as their parent, exactly as the
 * contract reads an NDC path. Ending it builds one record with
 * event=span, name, dur_us and status, plus the attributes set on it,
 * timestamped with the span's start wall time, writes it through the same
 * emit path as a log record (record.c; in async mode as a binary record
 * that the writer formats, async_format.c), and pops the ID. dur_us is the
 * difference of two CLOCK_MONOTONIC readings, never of wall times.
 * Invariants: a started span has magic == SPAN_MAGIC and its ID at NDC
 * position depth - 1 (unless the host changed the NDC behind its back,
 * which the end repairs and reports, never aborts on). Nothing allocates
 * or locks; a span belongs to the thread that started it.
 */
#include <string.h>
#include <time.h>

#include "async.h"
#include "fmt/str.h"
#include "internal.h"

#define SPAN_MAGIC 0x7370616eu /* "span" */

static const char *const status_names[] = {
	[CLEW_STATUS_UNSET] = "unset",
	[CLEW_STATUS_OK] = "ok",
	[CLEW_STATUS_ERROR] = "error",
};

/* The keys the span record writes itself; an attribute may not take them. */
static bool key_reserved(const char *k)
{
	static const char *const keys[] = {"name", "dur_us", "status", "event", "msg", "message"};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(k, keys[i]) == 0)
			return true;
	return false;
}

int64_t clew__mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int clew_span_start(clew_client *c, struct clew_span *sp, const char *name)
{
	char trace[CLEW_ID_MAX + 1];
	bool own_trace = false;
	int rc;

	if (!sp)
		return -CLEW_EINVAL;
	sp->magic = 0;
	if (!c || !name || !*name)
		return -CLEW_EINVAL;
	if (clew_ndc_depth() == 0) {
		rc = clew_id_trace(c->id_kind, trace, sizeof(trace));
		if (rc < 0)
			return rc;
		rc = clew_ndc_push(c, trace);
		if (rc < 0)
			return rc;
		own_trace = true;
	}
	clew_id_span(sp->id, sizeof(sp->id));
	rc = clew_ndc_push(c, sp->id);
	if (rc < 0) {
		if (own_trace)
			clew_ndc_clear();
		return rc;
	}
	sp->c = c;
	sp->name = name;
	sp->status = CLEW_STATUS_UNSET;
	sp->nattrs = 0;
	sp->own_trace = own_trace;
	sp->reserved8 = 0;
	sp->depth = clew_ndc_depth();
	sp->start_ns = clew__now_ns();
	sp->start_mono_ns = clew__mono_ns();
	sp->magic = SPAN_MAGIC;
	return 0;
}

int clew_span_set(struct clew_span *sp, const struct clew_kv *kv, size_t nkv)
{
	if (!sp || sp->magic != SPAN_MAGIC || (nkv && !kv))
		return -CLEW_EINVAL;
	for (size_t i = 0; i < nkv; i++)
		if (!kv[i].key || !*kv[i].key || key_reserved(kv[i].key) || kv[i].type < CLEW_KV_STR ||
		    kv[i].type > CLEW_KV_BOOL)
			return -CLEW_EINVAL;
	if (nkv > (size_t)CLEW_SPAN_ATTRS_MAX - sp->nattrs)
		return -CLEW_ELIMIT;
	memcpy(sp->attrs + sp->nattrs, kv, nkv * sizeof(*kv));
	sp->nattrs = (uint16_t)(sp->nattrs + nkv);
	return 0;
}

int clew_span_set_status(struct clew_span *sp, int status)
{
	if (!sp || sp->magic != SPAN_MAGIC || status < CLEW_STATUS_UNSET || status > CLEW_STATUS_ERROR)
		return -CLEW_EINVAL;
	sp->status = status;
	return 0;
}

/* Where the span's ID is on this thread's NDC: its depth (index + 1), or 0. */
static unsigned find_span(const struct clew_span *sp)
{
	const char *top = clew_ndc_get(sp->depth - 1u);

	if (top && strcmp(top, sp->id) == 0)
		return sp->depth;
	for (unsigned i = clew_ndc_depth(); i-- > 0;)
		if (strcmp(clew_ndc_get(i), sp->id) == 0)
			return i + 1u;
	return 0;
}

/*
 * write_record() of an async client: the same IDs, as bytes, and the same
 * key/values go into a binary record that the writer formats (async_format.c).
 */
static int async_record(clew_client *c, const struct clew_span *sp, unsigned depth, int64_t dur_ns, int level)
{
	const struct clew_context *x = clew__ctx();
	const struct clew_kv pre[] = {
		CLEW_STR("name", sp->name),
		CLEW_INT("dur_us", dur_ns / 1000),
		CLEW_STR("status", status_names[sp->status]),
	};
	char ids[CLEW_NDC_BYTES + CLEW_SPAN_HEX_LEN + 1];
	size_t n, idlen = strlen(sp->id);

	if (depth) {
		n = depth < x->depth ? x->off[depth] : x->len;
		memcpy(ids, x->ids, n);
	} else {
		/* The span's ID after the NDC, or in place of its last ID when the NDC is full. */
		n = x->depth < FMT_IDS_MAX ? x->len : x->off[x->depth - 1];
		memcpy(ids, x->ids, n);
		memcpy(ids + n, sp->id, idlen + 1);
		n += idlen + 1;
	}
	return clew__async_span(c, level, sp->start_ns, ids, n, pre, 3, sp->attrs, sp->nattrs);
}

/* Write the span's record with the NDC cut to @depth IDs (0: the whole NDC and the span's ID). */
static int write_record(clew_client *c, const struct clew_span *sp, unsigned depth, int64_t dur_ns)
{
	const int level = sp->status == CLEW_STATUS_ERROR ? CLEW_LEVEL_ERROR : CLEW_LEVEL_INFO;
	struct fmt_record rec;
	char num[CLEW_SPAN_ATTRS_MAX + 1][CLEW__NUM_MAX];
	struct clew_kv dur = CLEW_INT("dur_us", dur_ns / 1000);
	const struct clew_context *x = clew__ctx();
	unsigned n;
	int rc;

	if (!clew_enabled(c, level))
		return 0;
	if (c->async)
		return async_record(c, sp, depth, dur_ns, level);
	clew__record_init(&rec, c, level, sp->start_ns);
	clew__fill_context(&rec, x);
	if (depth) {
		rec.nids = (uint16_t)depth;
	} else if (rec.nids < FMT_IDS_MAX) {
		rec.ids[rec.nids++] = fmt_str_c(sp->id);
	} else {
		rec.ids[rec.nids - 1] = fmt_str_c(sp->id);
	}
	n = rec.nids;
	rec.trace = rec.ids[0];
	rec.span = n >= 2 ? rec.ids[n - 1] : (struct fmt_str){0};
	rec.parent = n >= 3 ? rec.ids[n - 2] : (struct fmt_str){0};
	rec.event = FMT_EVENT_SPAN;

	rec.attrs[0].key = fmt_str_c("name");
	rec.attrs[0].val = fmt_str_c(sp->name);
	rec.attrs[0].type = FMT_T_STRING;
	clew__fill_attr(&rec.attrs[1], &dur, num[CLEW_SPAN_ATTRS_MAX]);
	rec.attrs[2].key = fmt_str_c("status");
	rec.attrs[2].val = fmt_str_c(status_names[sp->status]);
	rec.attrs[2].type = FMT_T_STRING;
	rec.nattrs = 3;
	for (unsigned i = 0; i < sp->nattrs; i++) {
		rc = clew__fill_attr(&rec.attrs[rec.nattrs], &sp->attrs[i], num[i]);
		if (rc < 0)
			return rc;
		rec.nattrs++;
	}
	return clew__emit(c, &rec);
}

int clew_span_end(clew_client *c, struct clew_span *sp)
{
	int64_t dur_ns;
	unsigned depth;
	int rc, prc = 0;

	if (!sp || sp->magic != SPAN_MAGIC)
		return -CLEW_EINVAL;
	dur_ns = clew__mono_ns() - sp->start_mono_ns;
	if (dur_ns < 0)
		dur_ns = 0;
	if (!c)
		c = sp->c;
	sp->magic = 0;

	depth = find_span(sp);
	rc = write_record(c, sp, depth, dur_ns);
	if (depth == 0) {
		clew__warn_record(c, "span '%s' (%s) ended but its ID is not on this thread's NDC", sp->name,
				  sp->id);
		return -CLEW_ENOENT;
	}
	prc = clew_ndc_pop(c, sp->id);
	if (sp->own_trace && clew_ndc_depth() == 1)
		clew_ndc_clear();
	if (prc < 0)
		return prc;
	return rc;
}

int clew_span_start_top(clew_client *c, struct clew_span *sp, const char *name)
{
	const char *top = clew_ndc_peek();

	if (!sp)
		return -CLEW_EINVAL;
	sp->magic = 0;
	if (!c || !name || !*name)
		return -CLEW_EINVAL;
	/* Only a span-shaped ID above the trace: the span record needs a trace and a span. */
	if (!top || clew_ndc_depth() < 2 || strlen(top) != CLEW_SPAN_HEX_LEN ||
	    !clew__is_lhex(top, CLEW_SPAN_HEX_LEN))
		return -CLEW_ENOENT;
	memcpy(sp->id, top, CLEW_SPAN_HEX_LEN + 1);
	sp->c = c;
	sp->name = name;
	sp->status = CLEW_STATUS_UNSET;
	sp->nattrs = 0;
	sp->own_trace = 0;
	sp->reserved8 = 0;
	sp->depth = clew_ndc_depth();
	sp->start_ns = clew__now_ns();
	sp->start_mono_ns = clew__mono_ns();
	sp->magic = SPAN_MAGIC;
	return 0;
}

struct clew_span clew_span_scope_begin(clew_client *c, const char *name)
{
	struct clew_span sp;

	memset(&sp, 0, sizeof(sp));
	clew_span_start(c, &sp, name);
	return sp;
}

void clew_span_scope_end(struct clew_span *sp)
{
	if (sp && sp->magic == SPAN_MAGIC)
		clew_span_end(sp->c, sp);
}
