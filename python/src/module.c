/*
 * module.c - the extension module clew._clew: the process's client
 * (configure(), created from the CLEW_* environment on first use),
 * module-level functions (log, flush, info, ndc_path), the conversions the
 * other files share (clewpy.h), and the registration of every type.
 */
#include "clewpy.h"

#include <stdio.h>
#include <string.h>

clew_client *clewpy_client;
static PyObject *decorator;   /* clew._decorate, set by the package (_set_decorator) */
static PyObject *format_exc_; /* traceback.format_exception */

PyObject *clewpy_err(int rc, const char *what)
{
	PyErr_Format(rc == -CLEW_ENOMEM ? PyExc_MemoryError : PyExc_ValueError, "%s: %s", what,
		     clew_strerror(rc));
	return NULL;
}

int clewpy_level(long levelno)
{
	if (levelno >= 50)
		return CLEW_LEVEL_FATAL;
	if (levelno >= 40)
		return CLEW_LEVEL_ERROR;
	if (levelno >= 30)
		return CLEW_LEVEL_WARN;
	if (levelno >= 20)
		return CLEW_LEVEL_INFO;
	if (levelno >= 10)
		return CLEW_LEVEL_DEBUG;
	return CLEW_LEVEL_TRACE;
}

int clewpy_kv(struct clew_kv *kv, PyObject *key, PyObject *value, PyObject *keep)
{
	if (!(kv->key = PyUnicode_AsUTF8(key)))
		return -1;
	if (value == Py_None) {
		kv->type = CLEW_KV_STR;
		kv->v.s = NULL;
	} else if (PyBool_Check(value)) {
		kv->type = CLEW_KV_BOOL;
		kv->v.b = value == Py_True;
	} else if (PyLong_Check(value)) {
		int overflow;
		long long i = PyLong_AsLongLongAndOverflow(value, &overflow);

		if (overflow)
			goto text;
		kv->type = CLEW_KV_INT;
		kv->v.i = i;
	} else if (PyFloat_Check(value)) {
		kv->type = CLEW_KV_DOUBLE;
		kv->v.d = PyFloat_AS_DOUBLE(value);
	} else if (PyUnicode_Check(value)) {
		kv->type = CLEW_KV_STR;
		if (!(kv->v.s = PyUnicode_AsUTF8(value)))
			return -1;
	} else {
		PyObject *s;
text:
		s = PyObject_Str(value);
		if (!s)
			return -1;
		kv->type = CLEW_KV_STR;
		kv->v.s = PyUnicode_AsUTF8(s);
		if (!kv->v.s || PyList_Append(keep, s) < 0) {
			Py_DECREF(s);
			return -1;
		}
		Py_DECREF(s);
	}
	return 0;
}

PyObject *clewpy_format_exc(PyObject *exc)
{
	PyObject *lines, *empty, *text, *r;
	Py_ssize_t n;

	lines = PyObject_CallOneArg(format_exc_, exc);
	if (!lines)
		return NULL;
	empty = PyUnicode_FromString("");
	text = empty ? PyUnicode_Join(empty, lines) : NULL;
	Py_XDECREF(empty);
	Py_DECREF(lines);
	if (!text)
		return NULL;
	n = PyUnicode_GET_LENGTH(text);
	while (n > 0 && PyUnicode_READ_CHAR(text, n - 1) == '\n')
		n--;
	r = PyUnicode_Substring(text, 0, n);
	Py_DECREF(text);
	return r;
}

const char *clewpy_fit_cont(const char *t, size_t len, char *buf, size_t *out_len)
{
	const size_t head_max = 1024, tail_max = CLEWPY_CONT_MAX - head_max - 64;
	size_t head = 0, tail;
	int n;

	*out_len = len;
	if (len <= CLEWPY_CONT_MAX)
		return t;
	/* Whole lines: the head up to its last newline, the tail from its first. */
	for (size_t i = 0; i < head_max; i++)
		if (t[i] == '\n')
			head = i;
	tail = len - tail_max;
	while (tail < len && t[tail - 1] != '\n')
		tail++;
	memcpy(buf, t, head);
	n = snprintf(buf + head, 64, "\n  ... (%zu bytes cut)\n", tail - head);
	memcpy(buf + head + (size_t)n, t + tail, len - tail);
	*out_len = head + (size_t)n + (len - tail);
	return buf;
}

PyObject *clewpy_decorate(PyObject *factory, PyObject *func)
{
	if (!decorator) {
		PyErr_SetString(PyExc_RuntimeError, "import clew (the package), not clew._clew");
		return NULL;
	}
	return PyObject_CallFunctionObjArgs(decorator, factory, func, NULL);
}

static PyObject *set_decorator(PyObject *self, PyObject *fn)
{
	(void)self;
	Py_XSETREF(decorator, Py_NewRef(fn));
	Py_RETURN_NONE;
}

/* A level from a name ('info'), a logging number (20) or None (-> UNSET). */
static int level_of(PyObject *o, int *out)
{
	if (!o || o == Py_None) {
		*out = CLEW_LEVEL_UNSET;
		return 0;
	}
	if (PyLong_Check(o)) {
		long l = PyLong_AsLong(o);

		if (l == -1 && PyErr_Occurred())
			return -1;
		*out = clewpy_level(l);
		return 0;
	}
	if (PyUnicode_Check(o)) {
		const char *s = PyUnicode_AsUTF8(o);
		int l = s ? clew_level_parse(s) : -1;

		if (s && l >= 0) {
			*out = l;
			return 0;
		}
	}
	if (!PyErr_Occurred())
		PyErr_SetString(PyExc_ValueError,
				"level: trace debug info warn error fatal off, or a logging level");
	return -1;
}

static int choice(PyObject *o, const char *what, const char *const *names, int n, int *out)
{
	const char *s;

	*out = 0;
	if (!o || o == Py_None)
		return 0;
	s = PyUnicode_Check(o) ? PyUnicode_AsUTF8(o) : NULL;
	for (int i = 0; s && i < n; i++)
		if (!strcmp(s, names[i])) {
			*out = i + 1;
			return 0;
		}
	if (!PyErr_Occurred())
		PyErr_Format(PyExc_ValueError, "%s: unknown value %R", what, o);
	return -1;
}

static int make_client(PyObject *service, PyObject *format, PyObject *output, PyObject *level,
		       PyObject *async, PyObject *id_kind)
{
	static const char *const formats[] = {"pipe", "json"};
	static const char *const kinds[] = {"hex", "uuid", "base62"};
	struct clew_options o;
	clew_client *c;
	int rc;

	clew_options_default(&o);
	if (service && service != Py_None && !(o.service = PyUnicode_AsUTF8(service)))
		return -1;
	if (output && output != Py_None && !(o.output = PyUnicode_AsUTF8(output)))
		return -1;
	if (choice(format, "format", formats, 2, &o.format) < 0 ||
	    choice(id_kind, "id_kind", kinds, 3, &o.id_kind) < 0 || level_of(level, &o.level) < 0)
		return -1;
	if (async && async != Py_None) {
		int t = PyObject_IsTrue(async);

		if (t < 0)
			return -1;
		o.flags |= t ? CLEW_OPT_ASYNC : CLEW_OPT_SYNC;
	}
	rc = clew_client_new(&c, &o);
	if (rc < 0) {
		clewpy_err(rc, "clew.configure");
		return -1;
	}
	if (clewpy_client) {
		/*
		 * The old client is flushed and kept: metrics, spans and other
		 * threads may still hold it, and freeing it under them would be
		 * a use after free. Reconfiguring is rare; its memory is small.
		 */
		PyThreadState *ts = PyEval_SaveThread();

		clew_flush(clewpy_client, 2000);
		PyEval_RestoreThread(ts);
	}
	clewpy_client = c;
	return 0;
}

clew_client *clewpy_get_client(void)
{
	if (!clewpy_client && make_client(NULL, NULL, NULL, NULL, NULL, NULL) < 0)
		return NULL;
	return clewpy_client;
}

static PyObject *py_configure(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"service", "format", "output", "level", "async_", "id_kind", NULL};
	PyObject *service = NULL, *format = NULL, *output = NULL, *level = NULL, *async = NULL,
		 *id_kind = NULL;

	(void)self;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|$OOOOOO:configure", kwlist, &service, &format, &output,
					 &level, &async, &id_kind))
		return NULL;
	if (make_client(service, format, output, level, async, id_kind) < 0)
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *py_info(PyObject *self, PyObject *unused)
{
	clew_client *c = clewpy_get_client();

	(void)self;
	(void)unused;
	if (!c)
		return NULL;
	return Py_BuildValue(
		"{s:s,s:s,s:s,s:s,s:K}", "service", clew_client_service(c), "output", clew_client_output(c),
		"format", clew_client_format(c) == CLEW_FORMAT_JSON ? "json" : "pipe", "level",
		clew_level_name(clew_client_level(c)), "dropped", (unsigned long long)clew_client_dropped(c));
}

static PyObject *py_flush(PyObject *self, PyObject *args)
{
	int timeout_ms = 2000, rc = 0;

	(void)self;
	if (!PyArg_ParseTuple(args, "|i:flush", &timeout_ms))
		return NULL;
	if (clewpy_client) {
		PyThreadState *ts = PyEval_SaveThread();

		rc = clew_flush(clewpy_client, timeout_ms);
		PyEval_RestoreThread(ts);
	}
	return PyBool_FromLong(rc == 0);
}

static PyObject *py_log(PyObject *self, PyObject *args, PyObject *kw)
{
	clew_client *c = clewpy_get_client();
	struct clew_kv kv[64];
	PyObject *lv, *msg, *keep, *k, *v;
	Py_ssize_t pos = 0, mlen;
	const char *m;
	PyThreadState *ts;
	size_t n = 0;
	int level, rc;

	(void)self;
	if (!c || !PyArg_ParseTuple(args, "OU:log", &lv, &msg) || level_of(lv, &level) < 0)
		return NULL;
	if (level == CLEW_LEVEL_UNSET || level == CLEW_LEVEL_OFF) {
		PyErr_SetString(PyExc_ValueError, "log: a record's level is trace .. fatal");
		return NULL;
	}
	if (!clew_enabled(c, level))
		Py_RETURN_NONE;
	if (!(m = PyUnicode_AsUTF8AndSize(msg, &mlen)) || clewpy_install() < 0 || !(keep = PyList_New(0)))
		return NULL;
	while (kw && PyDict_Next(kw, &pos, &k, &v) && n < 64)
		if (clewpy_kv(&kv[n++], k, v, keep) < 0) {
			Py_DECREF(keep);
			return NULL;
		}
	ts = PyEval_SaveThread();
	rc = clew_log(c, level, kv, n, "%.*s", (int)mlen, m);
	PyEval_RestoreThread(ts);
	Py_DECREF(keep);
	if (rc < 0)
		return clewpy_err(rc, "clew.log");
	Py_RETURN_NONE;
}

static PyObject *py_ndc_path(PyObject *self, PyObject *unused)
{
	char buf[CLEW_NDC_BYTES];

	(void)self;
	(void)unused;
	if (clewpy_install() < 0)
		return NULL;
	if (clew_ndc_path(buf, sizeof(buf)) < 0)
		return PyUnicode_FromString("");
	return PyUnicode_FromString(buf);
}

static PyMethodDef module_methods[] = {
	{"configure", (PyCFunction)(void (*)(void))py_configure, METH_VARARGS | METH_KEYWORDS,
	 "configure(*, service=None, format=None, output=None, level=None, async_=None, id_kind=None)\n--\n\n"
	 "Create the process's client. Each argument left None is taken from the environment\n"
	 "first (CLEW_SERVICE, CLEW_FORMAT, CLEW_OUTPUT, CLEW_LEVEL, CLEW_ASYNC), else libclew's\n"
	 "default (program name, pipe, stderr, info, sync), exactly as libclew does, so the\n"
	 "environment configures a service and code may pin a value. format: 'pipe' | 'json';\n"
	 "output: stderr, stdout, file:PATH, unix:PATH, udp:HOST:PORT, tcp:HOST:PORT; level: a name\n"
	 "or a logging level; async_: True = records are queued and written by a background\n"
	 "thread (never blocks); id_kind: 'hex' | 'uuid' | 'base62'. Without a call, the first use\n"
	 "configures from the environment. Calling it again replaces the client (the old one is\n"
	 "flushed). Configure before forking workers: children keep the client."},
	{"info", py_info, METH_NOARGS,
	 "info() -> dict\n--\n\nThe client's resolved service, output, format, level and dropped count."},
	{"flush", py_flush, METH_VARARGS,
	 "flush(timeout_ms=2000) -> bool\n--\n\nWrite the metrics and wait until queued records are written."},
	{"log", (PyCFunction)(void (*)(void))py_log, METH_VARARGS | METH_KEYWORDS,
	 "log(level, message, **kv)\n--\n\nWrite one record directly (no logging module): level is a name\n"
	 "or a logging level, kv typed key/values."},
	{"ndc_path", py_ndc_path, METH_NOARGS,
	 "ndc_path() -> str\n--\n\nThe current NDC as 'trace:span1:span2' ('' when empty)."},
	{"_set_decorator", set_decorator, METH_O, "Internal: the package's decorator helper."},
	{NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
	PyModuleDef_HEAD_INIT,
	.m_name = "clew._clew",
	.m_doc = "The C core of the clew package (libclew): see help(clew).",
	.m_size = -1,
};

static int add_methods(PyObject *m, PyMethodDef *defs)
{
	PyObject *name = PyModule_GetNameObject(m);

	if (!name)
		return -1;
	for (PyMethodDef *d = defs; d->ml_name; d++) {
		PyObject *f = PyCFunction_NewEx(d, NULL, name);

		if (!f || PyModule_AddObject(m, d->ml_name, f) < 0) {
			Py_XDECREF(f);
			Py_DECREF(name);
			return -1;
		}
	}
	Py_DECREF(name);
	return 0;
}

PyMODINIT_FUNC PyInit__clew(void);
PyMODINIT_FUNC PyInit__clew(void)
{
	PyTypeObject *types[] = {&clewpy_CtxType,	  &clewpy_NdcType,	   &clewpy_SpanType,
				 &clewpy_RequestType,	  &clewpy_PropagationType, &clewpy_MetricType,
				 &clewpy_HandlerCoreType, &clewpy_LoggerCoreType};
	const char *names[] = {"Context",     "ndc",	"span",	       "request",
			       "Propagation", "Metric", "HandlerCore", "LoggerCore"};
	PyObject *m, *tb;

	tb = PyImport_ImportModule("traceback");
	if (!tb)
		return NULL;
	format_exc_ = PyObject_GetAttrString(tb, "format_exception");
	Py_DECREF(tb);
	clewpy_var = PyContextVar_New("clew.ndc", NULL);
	if (!format_exc_ || !clewpy_var || clewpy_handler_init() < 0 || clewpy_logger_init() < 0)
		return NULL;
	m = PyModule_Create(&module);
	if (!m)
		return NULL;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (PyType_Ready(types[i]) < 0 ||
		    PyModule_AddObjectRef(m, names[i], (PyObject *)types[i]) < 0)
			goto fail;
	if (add_methods(m, module_methods) < 0 || add_methods(m, clewpy_prop_methods) < 0 ||
	    add_methods(m, clewpy_metric_methods) < 0 || add_methods(m, clewpy_span_methods) < 0 ||
	    PyModule_AddStringConstant(m, "libclew_version", clew_version_string()) < 0)
		goto fail;
	return m;
fail:
	Py_DECREF(m);
	return NULL;
}
