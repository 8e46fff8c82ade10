/*
 * error.c - error texts and the run-time version.
 *
 * DESIGN: everything here returns static strings or constants, so it is
 * safe from any thread and from signal handlers. Unknown codes get a text
 * too: clew_strerror() never returns NULL.
 */
#include "internal.h"

unsigned clew_version(void)
{
	return CLEW_VERSION_HEX;
}

const char *clew_version_string(void)
{
	return CLEW_VERSION_STRING;
}

const char *clew_strerror(int code)
{
	if (code < 0)
		code = -code;
	switch (code) {
	case 0:
		return "success";
	case CLEW_EINVAL:
		return "invalid argument";
	case CLEW_ENOMEM:
		return "out of memory";
	case CLEW_ETRUNC:
		return "buffer too small";
	case CLEW_EAGAIN:
		return "output would block; record dropped";
	case CLEW_EIO:
		return "output error";
	case CLEW_ECONFIG:
		return "invalid configuration value";
	case CLEW_ELIMIT:
		return "capacity exhausted";
	case CLEW_ENOENT:
		return "not found";
	case CLEW_EMISMATCH:
		return "NDC pop did not match the top";
	case CLEW_ETIMEDOUT:
		return "timed out with records still queued";
	default:
		return "unknown error";
	}
}
