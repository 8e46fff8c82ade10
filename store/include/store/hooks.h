/*
 * store/hooks.h - the allocation and write() seams of the store library
 * and of clewd's spool, acks and checkpoint.
 *
 * Their allocations go through these, and their file writes through
 * store/fileio.h, so that tests can fail the Nth allocation (docs/STYLE.md, Tests) or
 * make a write fail with ENOSPC after N bytes, deterministically, in every
 * build (release included: the cost is one predictable branch). Third-party
 * allocations (zstd's contexts) are not covered: they are made once, at
 * spool_new(), and their failure is checked like any other.
 * Not thread-safe: the hooks are process-wide test knobs.
 */
#ifndef CD_CHUNK_HOOKS_H
#define CD_CHUNK_HOOKS_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Failure injection: when chunk__alloc_fail_at is N > 0, the Nth call
 * (counted in chunk__alloc_calls since the test reset it) returns NULL.
 */
extern unsigned long chunk__alloc_fail_at;
extern unsigned long chunk__alloc_calls;

/*
 * When chunk__write_budget is >= 0, the writes of store/fileio.h fail with
 * ENOSPC once that many bytes have been written (a full disk); -1 = off.
 */
extern long long chunk__write_budget;

void *chunk__malloc(size_t n);
void *chunk__realloc(void *p, size_t n);
void chunk__free(void *p);

#endif
