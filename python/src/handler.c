/*
 * handler.c - the C half of clew.Handler, a logging.Handler that writes
 * each LogRecord through libclew: the level mapped onto clew's, the
 * message (record.getMessage()'s text), extra={...} as typed key/values,
 * exc_info and stack_info as continuation lines (clew_log_cont()), and in
 * JSON mode pyms's name, module, funcName and lineno. The record carries
 * the current task's NDC (clewpy_install()).
 *
 * DESIGN: handle() is overridden too: libclew is thread-safe and never
 * interleaves lines, so the handler's lock (logging.Handler.handle takes
 * it around emit) only costs time; filters still run.
 */
#include "clewpy.h"

#include <string.h>

#define MAX_KV 64

static PyObject *std_attrs; /* frozenset: LogRecord's own attribute names */
static PyObject *s_levelno, *s_msg, *s_args, *s_exc_info, *s_exc_text, *s_stack_info, *s_name, *s_module,
	*s_funcName, *s_lineno, *s_filters, *s_filter, *s_dict;

int clewpy_handler_init(void)
{
	static const char *names[] = {
		"name",	       "msg",	  "args",     "levelname",	 "levelno",    "pathname",
		"filename",    "module",  "exc_info", "exc_text",	 "stack_info", "lineno",
		"funcName",    "created", "msecs",    "relativeCreated", "thread",     "threadName",
		"processName", "process", "message",  "asctime",	 "taskName",
	};
	PyObject *l = PyList_New(0);

	if (!l)
		return -1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		PyObject *s = PyUnicode_InternFromString(names[i]);

		if (!s || PyList_Append(l, s) < 0) {
			Py_XDECREF(s);
			Py_DECREF(l);
			return -1;
		}
		Py_DECREF(s);
	}
	std_attrs = PyFrozenSet_New(l);
	Py_DECREF(l);
#define I(v, s) ((v = PyUnicode_InternFromString(s)) != NULL)
	if (!std_attrs || !I(s_levelno, "levelno") || !I(s_msg, "msg") || !I(s_args, "args") ||
	    !I(s_exc_info, "exc_info") || !I(s_exc_text, "exc_text") || !I(s_stack_info, "stack_info") ||
	    !I(s_name, "name") || !I(s_module, "module") || !I(s_funcName, "funcName") ||
	    !I(s_lineno, "lineno") || !I(s_filters, "filters") || !I(s_filter, "filter") ||
	    !I(s_dict, "__dict__"))
		return -1;
#undef I
	return 0;
}

int clewpy_std_attr(PyObject *key)
{
	return PySet_Contains(std_attrs, key);
}

/* record.getMessage(): str(msg) % args when there are args. New reference. */
static PyObject *message_of(PyObject *d)
{
	PyObject *msg = PyDict_GetItemWithError(d, s_msg), *args = PyDict_GetItemWithError(d, s_args);
	PyObject *s;

	if (!msg)
		return PyErr_Occurred() ? NULL : PyUnicode_FromString("");
	s = PyUnicode_CheckExact(msg) ? Py_NewRef(msg) : PyObject_Str(msg);
	if (s && args && args != Py_None && PyObject_IsTrue(args) == 1) {
		PyObject *f = PyUnicode_Format(s, args);

		Py_DECREF(s);
		s = f;
	}
	return s;
}

/* The continuation text: the traceback of exc_info (cached in exc_text, as logging does) and stack_info. */
static PyObject *cont_of(PyObject *record, PyObject *d)
{
	PyObject *ei = PyDict_GetItemWithError(d, s_exc_info), *text = NULL, *stack;

	if (ei && PyTuple_Check(ei) && PyTuple_GET_SIZE(ei) >= 2 && PyTuple_GET_ITEM(ei, 1) != Py_None) {
		text = PyDict_GetItemWithError(d, s_exc_text);
		if (text && PyUnicode_Check(text) && PyUnicode_GET_LENGTH(text)) {
			Py_INCREF(text);
		} else {
			text = clewpy_format_exc(PyTuple_GET_ITEM(ei, 1));
			if (!text || PyObject_SetAttr(record, s_exc_text, text) < 0)
				return NULL;
		}
	}
	stack = PyDict_GetItemWithError(d, s_stack_info);
	if (stack && PyUnicode_Check(stack) && PyUnicode_GET_LENGTH(stack)) {
		PyObject *j = text ? PyUnicode_FromFormat("%U\n%U", text, stack) : Py_NewRef(stack);

		Py_XDECREF(text);
		text = j;
	}
	if (!text && PyErr_Occurred())
		return NULL;
	return text ? text : Py_NewRef(Py_None);
}

static PyObject *hc_emit(PyObject *self, PyObject *record)
{
	clew_client *c = clewpy_get_client();
	PyObject *d, *msg = NULL, *cont = NULL, *keep = NULL, *k, *v, *lv;
	struct clew_kv kv[MAX_KV];
	char cbuf[CLEWPY_CONT_MAX];
	size_t nkv = 0;
	Py_ssize_t pos = 0, mlen, clen = 0;
	const char *m, *ct = NULL;
	PyThreadState *ts;
	int level, rc;

	(void)self;
	if (!c)
		return NULL;
	d = PyObject_GenericGetDict(record, NULL);
	if (!d)
		return NULL;
	lv = PyDict_GetItemWithError(d, s_levelno);
	level = clewpy_level(lv && PyLong_Check(lv) ? PyLong_AsLong(lv) : 20);
	if (!clew_enabled(c, level)) {
		Py_DECREF(d);
		Py_RETURN_NONE;
	}
	if (!(msg = message_of(d)) || !(m = PyUnicode_AsUTF8AndSize(msg, &mlen)) ||
	    !(cont = cont_of(record, d)) || !(keep = PyList_New(0)))
		goto fail;
	if (clew_client_format(c) == CLEW_FORMAT_JSON) {
		PyObject *const pyms[] = {s_name, s_module, s_funcName, s_lineno};

		for (size_t i = 0; i < 4; i++) {
			v = PyDict_GetItemWithError(d, pyms[i]);
			if (v && clewpy_kv(&kv[nkv++], pyms[i], v, keep) < 0)
				goto fail;
		}
	}
	while (PyDict_Next(d, &pos, &k, &v)) {
		int std = PySet_Contains(std_attrs, k);

		if (std < 0)
			goto fail;
		if (std || nkv >= MAX_KV || !PyUnicode_Check(k))
			continue;
		if (clewpy_kv(&kv[nkv++], k, v, keep) < 0)
			goto fail;
	}
	if (cont != Py_None) {
		size_t fit;

		if (!(ct = PyUnicode_AsUTF8AndSize(cont, &clen)))
			goto fail;
		ct = clewpy_fit_cont(ct, (size_t)clen, cbuf, &fit);
		clen = (Py_ssize_t)fit;
	}
	/* A sync client writes here: other threads run meanwhile (the TLS context is this thread's). */
	ts = PyEval_SaveThread();
	if (ct)
		rc = clew_log_cont(c, level, kv, nkv, ct, (size_t)clen, "%.*s", (int)mlen, m);
	else
		rc = clew_log(c, level, kv, nkv, "%.*s", (int)mlen, m);
	PyEval_RestoreThread(ts);
	(void)rc; /* a dropped record is counted by libclew (clew.dropped); logging must not raise */
	Py_DECREF(d);
	Py_DECREF(msg);
	Py_DECREF(cont);
	Py_DECREF(keep);
	Py_RETURN_NONE;
fail:
	Py_DECREF(d);
	Py_XDECREF(msg);
	Py_XDECREF(cont);
	Py_XDECREF(keep);
	return NULL;
}

/* emit(), and as logging.Handler.emit() does, an error goes to handleError(), never to the caller. */
static PyObject *hc_emit_method(PyObject *self, PyObject *record)
{
	PyObject *r = clewpy_install() < 0 ? NULL : hc_emit(self, record);

	if (!r) {
		PyErr_Clear();
		r = PyObject_CallMethod(self, "handleError", "O", record);
	}
	return r;
}

static PyObject *hc_handle(PyObject *self, PyObject *record)
{
	PyObject *filters = PyObject_GetAttr(self, s_filters), *rv = NULL, *r;
	int any = filters ? PyObject_IsTrue(filters) : -1;

	Py_XDECREF(filters);
	if (any < 0)
		return NULL;
	if (any) {
		int ok;

		rv = PyObject_CallMethodOneArg(self, s_filter, record);
		ok = rv ? PyObject_IsTrue(rv) : -1;
		if (ok <= 0) {
			if (ok == 0)
				return rv;
			Py_XDECREF(rv);
			return NULL;
		}
		if (PyObject_TypeCheck(rv, Py_TYPE(record)))
			record = rv; /* Python 3.12: a filter may return a replacement record */
	}
	r = hc_emit_method(self, record);
	if (!r) {
		Py_XDECREF(rv);
		return NULL;
	}
	Py_DECREF(r);
	return rv ? rv : Py_NewRef(Py_True);
}

static PyObject *hc_flush(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	if (clewpy_client) {
		PyThreadState *ts = PyEval_SaveThread();

		clew_flush(clewpy_client, 2000);
		PyEval_RestoreThread(ts);
	}
	Py_RETURN_NONE;
}

static PyMethodDef hc_methods[] = {
	{"emit", hc_emit_method, METH_O,
	 "emit(record)\n--\n\nWrite @record through libclew (level, message, extras, traceback)."},
	{"handle", hc_handle, METH_O,
	 "handle(record)\n--\n\nRun the filters, then emit() without taking the handler's lock (libclew\n"
	 "never tears or interleaves lines)."},
	{"flush", hc_flush, METH_NOARGS,
	 "flush()\n--\n\nWait (at most 2 s) until queued records are written."},
	{NULL, NULL, 0, NULL},
};

PyTypeObject clewpy_HandlerCoreType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "clew.HandlerCore",
	.tp_basicsize = sizeof(PyObject),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "The C methods of clew.Handler (emit, handle, flush); use clew.Handler.",
	.tp_methods = hc_methods,
	.tp_new = PyType_GenericNew,
};
