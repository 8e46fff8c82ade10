/*
 * ndc.c - the nested diagnostic context: a per-thread stack of IDs.
 *
 * DESIGN: the stack lives in the thread's struct clew_context (thread-local
 * storage, no allocation): IDs are stored back to back, each
 * NUL-terminated, in ids[], with off[i] the start of the i-th; so peek and
 * get hand out stable C strings and the whole stack copies with one
 * memcpy when a context is handed to another thread (context.c).
 * Invariants: depth <= CLEW_NDC_MAX; len <= CLEW_NDC_BYTES; off[0] == 0;
 * off[i + 1] == off[i] + strlen(ID i) + 1; len == end of the top ID.
 * Misuse (a pop that does not match the top, a scope left with the stack
 * changed) is repaired to the nearest consistent state and reported to
 * the client's on_diag and as a WARN record to its output; it never aborts
 * the host.
 */
#include <string.h>

#include "internal.h"

static _Thread_local struct clew__thread tls;

const struct clew_context *clew__ctx(void)
{
	return &tls.ctx;
}

struct clew_context *clew__ctx_mut(void)
{
	tls.ctx_gen++;
	return &tls.ctx;
}

struct clew__thread *clew__thread(void)
{
	return &tls;
}

int clew_ndc_push_n(clew_client *c, const char *id, size_t len)
{
	struct clew_context *x = &tls.ctx;

	if (!clew_id_valid(id, len))
		return -CLEW_EINVAL;
	if (x->depth >= CLEW_NDC_MAX || (size_t)x->len + len + 1 > CLEW_NDC_BYTES) {
		clew__warn_record(c, "NDC full (%u IDs, %u bytes): '%.*s' not pushed", x->depth, x->len,
				  (int)len, id);
		return -CLEW_ELIMIT;
	}
	tls.ctx_gen++;
	x->off[x->depth] = x->len;
	memcpy(x->ids + x->len, id, len);
	x->ids[x->len + len] = '\0';
	x->len = (uint16_t)(x->len + len + 1);
	x->depth++;
	return 0;
}

int clew_ndc_push(clew_client *c, const char *id)
{
	if (!id)
		return -CLEW_EINVAL;
	return clew_ndc_push_n(c, id, strnlen(id, CLEW_ID_MAX + 1));
}

/* Cut the stack to @depth IDs (<= the current depth). */
static void truncate_to(struct clew_context *x, unsigned depth)
{
	if (depth >= x->depth)
		return;
	tls.ctx_gen++;
	x->len = depth ? x->off[depth] : 0;
	x->depth = (uint16_t)depth;
}

int clew_ndc_pop(clew_client *c, const char *id)
{
	struct clew_context *x = &tls.ctx;
	char path[CLEW__DIAG_MAX / 2];

	if (x->depth == 0) {
		clew__warn_record(c, "NDC pop of '%s' on an empty NDC", id ? id : "(top)");
		return -CLEW_ENOENT;
	}
	if (!id || strcmp(x->ids + x->off[x->depth - 1], id) == 0) {
		truncate_to(x, x->depth - 1u);
		return 0;
	}
	for (unsigned i = x->depth - 1u; i-- > 0;) {
		if (strcmp(x->ids + x->off[i], id) == 0) {
			if (clew_ndc_path(path, sizeof(path)) < 0)
				clew__strlcpy(path, "...", sizeof(path));
			clew__warn_record(c, "NDC pop of '%s' is not the top of %s: popping %u more", id,
					  path, x->depth - 1u - i);
			truncate_to(x, i);
			return -CLEW_EMISMATCH;
		}
	}
	clew__warn_record(c, "NDC pop of '%s', which is not in the NDC: nothing popped", id);
	return -CLEW_ENOENT;
}

const char *clew_ndc_peek(void)
{
	const struct clew_context *x = &tls.ctx;

	return x->depth ? x->ids + x->off[x->depth - 1] : NULL;
}

const char *clew_ndc_get(unsigned depth)
{
	const struct clew_context *x = &tls.ctx;

	return depth < x->depth ? x->ids + x->off[depth] : NULL;
}

unsigned clew_ndc_depth(void)
{
	return tls.ctx.depth;
}

int clew_ndc_path(char *out, size_t cap)
{
	const struct clew_context *x = &tls.ctx;
	size_t n = 0;

	if (!out)
		return -CLEW_EINVAL;
	/* The stored IDs with each NUL (but the last) as ':' are exactly the path. */
	if (x->len > cap || (x->len == 0 && cap == 0))
		return -CLEW_ETRUNC;
	if (x->len) {
		n = x->len - 1u;
		memcpy(out, x->ids, n);
		for (unsigned i = 1; i < x->depth; i++)
			out[x->off[i] - 1] = ':';
	}
	out[n] = '\0';
	return 0;
}

void clew_ndc_clear(void)
{
	truncate_to(&tls.ctx, 0);
}

struct clew_ndc_scope clew_ndc_scope_begin(clew_client *c, const char *id)
{
	struct clew_ndc_scope s = {.c = c, .depth = 0, .rc = 0};

	s.rc = clew_ndc_push(c, id);
	if (s.rc == 0)
		s.depth = tls.ctx.depth;
	return s;
}

void clew_ndc_scope_end(struct clew_ndc_scope *s)
{
	struct clew_context *x = &tls.ctx;

	if (!s || s->depth == 0)
		return;
	if (x->depth != s->depth)
		clew__warn_record(s->c, "NDC scope ended at depth %u, begun at %u: missing %s", x->depth,
				  s->depth, x->depth > s->depth ? "pops" : "pushes");
	truncate_to(x, s->depth - 1u);
	s->depth = 0;
}
