/*
 * store/src/hooks.c - the allocation seam and the write budget's knob.
 *
 * DESIGN: thin wrappers over malloc/realloc/free; see hooks.h. The write
 * budget is spent by store/src/fileio.c, the one place that writes files.
 * They add nothing but the test knobs, so production behaviour is libc's.
 */
#include <stdlib.h>

#include <store/hooks.h>

unsigned long chunk__alloc_fail_at;
unsigned long chunk__alloc_calls;
long long chunk__write_budget = -1;

static int alloc_should_fail(void)
{
	chunk__alloc_calls++;
	return chunk__alloc_fail_at && chunk__alloc_calls == chunk__alloc_fail_at;
}

void *chunk__malloc(size_t n)
{
	if (alloc_should_fail())
		return NULL;
	return malloc(n);
}

void *chunk__realloc(void *p, size_t n)
{
	if (alloc_should_fail())
		return NULL;
	return realloc(p, n);
}

void chunk__free(void *p)
{
	free(p);
}
