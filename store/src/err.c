/*
 * store/src/err.c - error texts and the bounded error struct (see err.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include <store/err.h>

const char *cd_strerror(int code)
{
	switch (code < 0 ? -code : code) {
	case CD_OK:
		return "success";
	case CD_EINVAL:
		return "invalid argument";
	case CD_ENOMEM:
		return "out of memory";
	case CD_EIO:
		return "I/O error";
	case CD_ECORRUPT:
		return "corrupt data";
	case CD_EFULL:
		return "full";
	case CD_ENOENT:
		return "not found";
	case CD_EAGAIN:
		return "try again";
	case CD_ELIMIT:
		return "limit exceeded";
	}
	return "unknown error";
}

int cd_err_set(struct cd_err *err, int code, int sys_errno, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	err->sys_errno = sys_errno;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}
