/*
 * store/src/hooks.c - allocation and write() seams with failure injection.
 *
 * DESIGN: thin wrappers over malloc/realloc/free and write(); see hooks.h.
 * They add nothing but the test knobs, so production behaviour is libc's.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

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

int chunk__write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		size_t want = n;
		ssize_t w;

		if (chunk__write_budget >= 0) {
			if (chunk__write_budget == 0) {
				errno = ENOSPC;
				return -1;
			}
			if ((unsigned long long)chunk__write_budget < want)
				want = (size_t)chunk__write_budget;
		}
		w = write(fd, p, want);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (chunk__write_budget >= 0)
			chunk__write_budget -= w;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}
