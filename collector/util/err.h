/*
 * util/err.h - clewd's error type is the store library's (store/err.h);
 * this name stays so the collector's files include it as before.
 */
#ifndef CD_UTIL_ERR_H
#define CD_UTIL_ERR_H

#include <store/err.h>

#endif
