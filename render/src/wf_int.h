/*
 * wf_int.h - what the renderer's files share: the page's style and
 * script (assets.c) and the SHA-256 that names the script in its policy.
 */
#ifndef RENDER_WF_INT_H
#define RENDER_WF_INT_H

#include <stddef.h>

extern const char wf_style[];
extern const char wf_script[];

/* wf_sha256() - the SHA-256 of @data[0, @n) into @out. */
void wf_sha256(const void *data, size_t n, unsigned char out[32]);

#endif
