/*
 * store/err.h - error codes and the error struct of the store library and
 * of clewd, which uses them for everything else too.
 *
 * Actions return 0 or a negative CD_E* code; where the caller needs
 * context (config and I/O failures), they also fill a struct cd_err with a
 * bounded message and the errno of the failing call. Never allocated.
 */
#ifndef CD_ERR_H
#define CD_ERR_H

#include <stddef.h>

enum cd_code {
	CD_OK = 0,
	CD_EINVAL,   /* bad argument or configuration */
	CD_ENOMEM,   /* out of memory */
	CD_EIO,	     /* a system call failed (sys_errno says which way) */
	CD_ECORRUPT, /* data on disk failed its checksum or its format */
	CD_EFULL,    /* a bounded queue, spool or archive is full: back off */
	CD_ENOENT,   /* nothing there (not an error for lookups) */
	CD_EAGAIN,   /* try again later */
	CD_ELIMIT,   /* a cap (store/limits.h, collector/cd_limits.h) was exceeded */
};

struct cd_err {
	int code;      /* -CD_Exxx, 0 when unset */
	int sys_errno; /* errno at the failure site, 0 if not a syscall error */
	char msg[256]; /* always NUL-terminated; truncated, never allocated */
};

/* Static text for a code (positive or negative); never NULL. */
const char *cd_strerror(int code);

/*
 * cd_err_set() - fill @err (may be NULL) with @code, @sys_errno and a
 * printf-style message; returns @code, so `return cd_err_set(...)` works.
 */
int cd_err_set(struct cd_err *err, int code, int sys_errno, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
