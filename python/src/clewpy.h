/*
 * clewpy.h - what the C files of the Python module `clew` share: the
 * process's client, the context variable that carries the NDC per thread
 * and per asyncio task, and the conversions between Python values and
 * libclew's key/values.
 *
 * DESIGN: libclew keeps the NDC in thread-local storage; Python runs many
 * asyncio tasks on one thread. So the truth is a contextvars.ContextVar
 * holding an immutable snapshot (a struct clew_context inside a Ctx
 * object); before each call that reads the NDC, clewpy_install() hands the
 * current snapshot to libclew (clew_context_adopt()), unless this thread
 * already holds it (a serial number per snapshot makes that check one
 * compare). Pushing an ID builds a new snapshot and sets the variable, so
 * tasks and threads never see each other's IDs, and leaving a block is the
 * ContextVar's reset().
 */
#ifndef CLEWPY_H
#define CLEWPY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>

#include "clew/clew.h"

/* The client every call uses (configure(); created with defaults on first use). */
extern clew_client *clewpy_client;

/* clewpy_get_client() - the client, created from the environment if none yet; NULL + exception on error. */
clew_client *clewpy_get_client(void);

/* An NDC snapshot: the value of the context variable. */
typedef struct {
	PyObject_HEAD uint64_t serial;
	struct clew_context ctx;
} CtxObject;

extern PyTypeObject clewpy_CtxType;
extern PyObject *clewpy_var; /* contextvars.ContextVar("clew.ndc") */

/*
 * clewpy_install() - make libclew's thread context the current task's
 * snapshot (or empty it). Return 0, or -1 with an exception set.
 */
int clewpy_install(void);

/*
 * clewpy_publish() - capture libclew's thread context (just changed by a
 * push, a span start, a request begin) into a new snapshot and set the
 * variable to it. Return the ContextVar token, or NULL with an exception.
 */
PyObject *clewpy_publish(void);

/* clewpy_forget() - this thread's libclew context no longer matches any snapshot. */
void clewpy_forget(void);

/* clewpy_reset() - ContextVar.reset(@token); steals nothing. Return 0 or -1. */
int clewpy_reset(PyObject *token);

/*
 * Key/values from Python values: bool, int (beyond int64: text), float,
 * str, None (null), anything else as str(value). The struct references
 * UTF-8 held by the objects in @keep (a list the caller owns and keeps
 * until the log call returns). Return 0 or -1 with an exception.
 */
int clewpy_kv(struct clew_kv *kv, PyObject *key, PyObject *value, PyObject *keep);

/* clewpy_err() - raise a Python exception for a negative libclew code; returns NULL. */
PyObject *clewpy_err(int rc, const char *what);

/* clewpy_level() - the clew level of a logging level number. */
int clewpy_level(long levelno);

/*
 * clewpy_format_exc() - the traceback of @exc (an exception instance) as
 * text without a trailing newline (a new str), or NULL with an exception.
 */
PyObject *clewpy_format_exc(PyObject *exc);

/*
 * clewpy_fit_cont() - @t (@len bytes of continuation lines) cut to fit one
 * record line: when longer than CLEWPY_CONT_MAX, its head and tail lines
 * are kept around a "  ... (N bytes cut)" line (a deep recursion's
 * traceback keeps where it started and the exception), written into @buf
 * (CLEWPY_CONT_MAX bytes). Return the text to log and its length in *@out_len.
 */
#define CLEWPY_CONT_MAX 6144
const char *clewpy_fit_cont(const char *t, size_t len, char *buf, size_t *out_len);

/* clewpy_decorate() - the module's decorator helper: wraps @func so each call runs inside factory(). */
PyObject *clewpy_decorate(PyObject *factory, PyObject *func);

/* Types and functions of the other files, registered by the module's init. */
extern PyTypeObject clewpy_NdcType;
extern PyTypeObject clewpy_SpanType;
extern PyTypeObject clewpy_RequestType;
extern PyTypeObject clewpy_HandlerCoreType;
extern PyTypeObject clewpy_PropagationType;
extern PyTypeObject clewpy_MetricType;
extern PyMethodDef clewpy_prop_methods[];
extern PyMethodDef clewpy_metric_methods[];
extern PyMethodDef clewpy_span_methods[];

/* handler.c: the set of LogRecord attribute names that are not extras; built at init. */
int clewpy_handler_init(void);

/* clewpy_std_attr() - whether @key is one of LogRecord's own attributes: 1, 0, -1 (exception). */
int clewpy_std_attr(PyObject *key);

/* logger.c: clew.LoggerCore (clew.Logger's fast _log()); its init after the handler's. */
extern PyTypeObject clewpy_LoggerCoreType;
int clewpy_logger_init(void);

#endif
