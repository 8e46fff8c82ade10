/*
 * store/src/buf.c - the growable byte buffer (see store/buf.h).
 */
#include <store/buf.h>
#include <store/err.h>
#include <store/hooks.h>

int buf_reserve(struct buf *b, size_t need)
{
	uint8_t *p;

	if (need <= b->cap)
		return 0;
	p = chunk__realloc(b->p, need);
	if (!p)
		return -CD_ENOMEM;
	b->p = p;
	b->cap = need;
	return 0;
}

void buf_release(struct buf *b)
{
	chunk__free(b->p);
	*b = (struct buf){0};
}
