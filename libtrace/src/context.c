/*
 * context.c - the thread's request context: beginning and ending a
 * request, handing the context to another thread, and turning it into
 * what an outgoing call propagates.
 *
 * DESIGN: a thread's whole context is one self-contained struct
 * clew_context in thread-local storage (ndc.c); capturing it for another
 * thread is a copy, adopting one is a copy back after checking the magic
 * that only capture writes, so a zeroed or garbage struct is refused
 * instead of installed. A copy is one memcpy of the whole struct (about
 * 2.4 KB), cheaper than the bookkeeping needed to copy only used bytes.
 * Nothing here allocates or locks; a context never refers to a client.
 */
#include <string.h>

#include "internal.h"

static void copy_ctx(struct clew_context *dst, const struct clew_context *src)
{
	memcpy(dst, src, sizeof(*dst));
}

int clew_context_capture(struct clew_context *out)
{
	if (!out)
		return -CLEW_EINVAL;
	copy_ctx(out, clew__ctx());
	out->magic = CLEW__CTX_MAGIC;
	return 0;
}

/* Whether @ctx is a context clew_context_capture() wrote (and not corrupted since). */
static bool ctx_valid(const struct clew_context *ctx)
{
	if (ctx->magic != CLEW__CTX_MAGIC || ctx->depth > CLEW_NDC_MAX || ctx->len > CLEW_NDC_BYTES ||
	    ctx->tracestate_len > CLEW_TRACESTATE_MAX)
		return false;
	for (unsigned i = 0; i < ctx->depth; i++) {
		unsigned end = i + 1u < ctx->depth ? ctx->off[i + 1] : ctx->len;

		if (ctx->off[i] >= end || end > ctx->len || ctx->ids[end - 1] != '\0')
			return false;
	}
	return (ctx->depth == 0) == (ctx->len == 0) && (ctx->depth == 0 || ctx->off[0] == 0);
}

int clew_context_adopt(const struct clew_context *ctx, struct clew_context *saved)
{
	if (!ctx || !ctx_valid(ctx))
		return -CLEW_EINVAL;
	if (saved && saved != ctx)
		clew_context_capture(saved);
	copy_ctx(clew__ctx_mut(), ctx);
	return 0;
}

int clew_context_restore(const struct clew_context *saved)
{
	return clew_context_adopt(saved, NULL);
}

int clew_request_begin(clew_client *c, const struct clew_propagation *in, const char *method,
		       const char *path)
{
	struct clew_context *x = clew__ctx_mut();
	char trace[CLEW_ID_MAX + 1];
	char span[CLEW_SPAN_HEX_LEN + 1];
	int rc;

	if (!c)
		return -CLEW_EINVAL;
	if (in && in->source != CLEW_PROP_NONE) {
		if (!clew_id_valid(in->trace, strnlen(in->trace, sizeof(in->trace))) ||
		    strnlen(in->span, sizeof(in->span)) == sizeof(in->span) ||
		    in->tracestate_len > CLEW_TRACESTATE_MAX)
			return -CLEW_EINVAL;
		memcpy(trace, in->trace, sizeof(trace));
	} else {
		rc = clew_id_trace(c->id_kind, trace, sizeof(trace));
		if (rc < 0)
			return rc;
	}
	clew_id_span(span, sizeof(span));

	memset(x, 0, sizeof(*x));
	clew_ndc_push(c, trace);
	/*
	 * The caller's span goes into the path too, so that every record of
	 * this request names it as its parent (trace:caller:ours), in both
	 * formats: that is how a trace's services link up.
	 */
	if (in && in->source != CLEW_PROP_NONE && in->span[0])
		clew_ndc_push(c, in->span);
	clew_ndc_push(c, span);
	clew__strlcpy(x->method, method, sizeof(x->method));
	clew__strlcpy(x->path, path, sizeof(x->path));
	if (in && in->source != CLEW_PROP_NONE) {
		clew__strlcpy(x->remote_span, in->span, sizeof(x->remote_span));
		x->flags = in->flags;
		x->sampling = in->sampling;
		memcpy(x->tracestate, in->tracestate, in->tracestate_len);
		x->tracestate[in->tracestate_len] = '\0';
		x->tracestate_len = in->tracestate_len;
	} else {
		/* We are the root: sampled, and the trace-id is random (W3C level 2). */
		x->flags = CLEW_TRACE_SAMPLED | (c->id_kind != CLEW_ID_BASE62 ? CLEW_TRACE_RANDOM : 0);
		x->sampling = CLEW_SAMPLING_YES;
	}
	return 0;
}

void clew_request_end(clew_client *c)
{
	(void)c;
	memset(clew__ctx_mut(), 0, sizeof(struct clew_context));
}

static bool is_span_id(const char *s)
{
	return strlen(s) == CLEW_SPAN_HEX_LEN && clew__is_lhex(s, CLEW_SPAN_HEX_LEN);
}

int clew_context_propagation(struct clew_propagation *out)
{
	const struct clew_context *x = clew__ctx();
	int span = -1;

	if (!out)
		return -CLEW_EINVAL;
	memset(out, 0, sizeof(*out));
	if (x->depth == 0)
		return -CLEW_ENOENT;
	out->source = CLEW_PROP_LOCAL;
	clew__strlcpy(out->trace, x->ids, sizeof(out->trace));
	/* The innermost span-shaped ID is ours; the next one out (or the caller's) its parent. */
	for (int i = (int)x->depth - 1; i >= 1; i--) {
		if (!is_span_id(x->ids + x->off[i]))
			continue;
		if (span < 0) {
			span = i;
			clew__strlcpy(out->span, x->ids + x->off[i], sizeof(out->span));
		} else {
			clew__strlcpy(out->parent, x->ids + x->off[i], sizeof(out->parent));
			break;
		}
	}
	if (span >= 0 && !out->parent[0])
		clew__strlcpy(out->parent, x->remote_span, sizeof(out->parent));
	out->flags = x->flags;
	out->sampling = x->sampling;
	memcpy(out->tracestate, x->tracestate, x->tracestate_len);
	out->tracestate_len = x->tracestate_len;
	return 0;
}
