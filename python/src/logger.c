/*
 * logger.c - the C half of clew.Logger, a logging.Logger whose _log() skips
 * building a LogRecord when nothing needs one: when every handler the call
 * would reach is a clew.Handler without filters (and the logger has none),
 * the record goes straight to libclew, with what a LogRecord would have
 * given it (the message, extra, and in JSON mode name, module, funcName
 * and lineno from the caller's frame). In every other case (exc_info,
 * stack_info, filters, another handler, no handler, an extra key that
 * LogRecord refuses) it is logging.Logger._log() itself, so the semantics
 * are the standard library's; only the cost changes.
 */
#include "clewpy.h"

#include <string.h>

#define MAX_KV 64

static PyObject *std_log;      /* logging.Logger._log */
static PyObject *log_filename; /* logging/__init__.py, as code objects name it */
static PyObject *s_filters, *s_handlers, *s_propagate, *s_parent, *s_level, *s_disabled, *s_name;

int clewpy_logger_init(void)
{
	PyObject *logging = PyImport_ImportModule("logging"), *cls, *f, *code;

	if (!logging)
		return -1;
	cls = PyObject_GetAttrString(logging, "Logger");
	f = PyObject_GetAttrString(logging, "addLevelName");
	Py_DECREF(logging);
	std_log = cls ? PyObject_GetAttrString(cls, "_log") : NULL;
	code = f ? PyObject_GetAttrString(f, "__code__") : NULL;
	log_filename = code ? PyObject_GetAttrString(code, "co_filename") : NULL;
	Py_XDECREF(cls);
	Py_XDECREF(f);
	Py_XDECREF(code);
#define I(v, s) ((v = PyUnicode_InternFromString(s)) != NULL)
	if (!std_log || !log_filename || !I(s_filters, "filters") || !I(s_handlers, "handlers") ||
	    !I(s_propagate, "propagate") || !I(s_parent, "parent") || !I(s_level, "level") ||
	    !I(s_disabled, "disabled") || !I(s_name, "name"))
		return -1;
#undef I
	return 0;
}

/* Truth of attribute @name of @o: 1, 0, or -1 with an exception. */
static int attr_true(PyObject *o, PyObject *name)
{
	PyObject *v = PyObject_GetAttr(o, name);
	int t = v ? PyObject_IsTrue(v) : -1;

	Py_XDECREF(v);
	return t;
}

/*
 * How many clew.Handlers the record of @levelno reaches from @self, or 0
 * when the standard path must run (something needs a LogRecord, or no
 * handler at all: logging's lastResort), -1 with an exception.
 */
static int fast_handlers(PyObject *self, long levelno)
{
	PyObject *c = Py_NewRef(self);
	int n = 0, t;

	if ((t = attr_true(self, s_filters)) != 0)
		goto out_t;
	while (c != Py_None) {
		PyObject *hs = PyObject_GetAttr(c, s_handlers), *next;

		if (!hs || !PyList_Check(hs)) {
			Py_XDECREF(hs);
			t = hs ? 1 : -1;
			goto out_t;
		}
		for (Py_ssize_t i = 0; i < PyList_GET_SIZE(hs); i++) {
			PyObject *h = PyList_GET_ITEM(hs, i), *lv;
			long hl;

			if (!PyObject_TypeCheck(h, &clewpy_HandlerCoreType) || attr_true(h, s_filters) != 0) {
				Py_DECREF(hs);
				t = 1;
				goto out_t;
			}
			lv = PyObject_GetAttr(h, s_level);
			hl = lv ? PyLong_AsLong(lv) : -1;
			Py_XDECREF(lv);
			if (hl == -1 && PyErr_Occurred()) {
				Py_DECREF(hs);
				t = -1;
				goto out_t;
			}
			if (levelno >= hl)
				n++;
		}
		Py_DECREF(hs);
		if ((t = attr_true(c, s_propagate)) <= 0) {
			if (t < 0)
				goto out_t;
			break;
		}
		next = PyObject_GetAttr(c, s_parent);
		Py_DECREF(c);
		if (!next)
			return -1;
		c = next;
	}
	Py_DECREF(c);
	return n;
out_t:
	Py_DECREF(c);
	return t < 0 ? -1 : 0;
}

/* The caller's frame, as logging's findCaller() finds it (logging's own frames skipped). */
static PyFrameObject *caller(long stacklevel)
{
	PyFrameObject *f = PyEval_GetFrame(), *b;

	Py_XINCREF(f);
	while (f) {
		PyCodeObject *code = PyFrame_GetCode(f);
		int ours = PyUnicode_Compare(code->co_filename, log_filename) == 0;

		Py_DECREF(code);
		if (!ours && --stacklevel <= 0)
			return f;
		b = PyFrame_GetBack(f);
		Py_DECREF(f);
		f = b;
	}
	return NULL;
}

/* name, module, funcName, lineno (pyms's fields) into @kv; objects they point into go to @keep. */
static int pyms_fields(PyObject *self, long stacklevel, struct clew_kv *kv, size_t *n, PyObject *keep)
{
	PyObject *name = PyObject_GetAttr(self, s_name), *mod = NULL;
	PyFrameObject *f = caller(stacklevel);
	int rc = -1;

	if (!name || PyList_Append(keep, name) < 0 ||
	    !(kv[*n].key = "name", kv[*n].v.s = PyUnicode_AsUTF8(name)))
		goto out;
	kv[(*n)++].type = CLEW_KV_STR;
	if (f) {
		PyCodeObject *code = PyFrame_GetCode(f);
		const char *file = PyUnicode_AsUTF8(code->co_filename), *base, *dot;

		if (!file || PyList_Append(keep, (PyObject *)code) < 0) {
			Py_DECREF(code);
			goto out;
		}
		base = strrchr(file, '/');
		base = base ? base + 1 : file;
		dot = strrchr(base, '.');
		mod = PyUnicode_FromStringAndSize(base, dot ? dot - base : (Py_ssize_t)strlen(base));
		if (!mod || PyList_Append(keep, mod) < 0) {
			Py_DECREF(code);
			goto out;
		}
		kv[*n] = (struct clew_kv){.key = "module", .type = CLEW_KV_STR, .v.s = PyUnicode_AsUTF8(mod)};
		(*n)++;
		kv[*n] = (struct clew_kv){
			.key = "funcName", .type = CLEW_KV_STR, .v.s = PyUnicode_AsUTF8(code->co_name)};
		(*n)++;
		kv[*n] = (struct clew_kv){
			.key = "lineno", .type = CLEW_KV_INT, .v.i = PyFrame_GetLineNumber(f)};
		(*n)++;
		Py_DECREF(code);
	}
	rc = 0;
out:
	Py_XDECREF(name);
	Py_XDECREF(mod);
	Py_XDECREF(f);
	return rc;
}

/* The message as LogRecord.getMessage() makes it (a lone non-empty dict argument is the mapping). */
static PyObject *message(PyObject *msg, PyObject *args)
{
	PyObject *s = PyUnicode_CheckExact(msg) ? Py_NewRef(msg) : PyObject_Str(msg), *f;

	if (!s || !args || args == Py_None || PyObject_IsTrue(args) != 1)
		return s;
	if (PyTuple_Check(args) && PyTuple_GET_SIZE(args) == 1 && PyDict_Check(PyTuple_GET_ITEM(args, 0)) &&
	    PyDict_GET_SIZE(PyTuple_GET_ITEM(args, 0)))
		args = PyTuple_GET_ITEM(args, 0);
	f = PyUnicode_Format(s, args);
	Py_DECREF(s);
	return f;
}

static PyObject *std_path(PyObject *self, PyObject *args, PyObject *kw)
{
	PyObject *full = PyTuple_New(PyTuple_GET_SIZE(args) + 1), *r;

	if (!full)
		return NULL;
	PyTuple_SET_ITEM(full, 0, Py_NewRef(self));
	for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(args); i++)
		PyTuple_SET_ITEM(full, i + 1, Py_NewRef(PyTuple_GET_ITEM(args, i)));
	r = PyObject_Call(std_log, full, kw);
	Py_DECREF(full);
	return r;
}

static PyObject *lc_log(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"level", "msg",	"args",	      "exc_info",
				 "extra", "stack_info", "stacklevel", NULL};
	PyObject *lvo, *msg, *margs, *exc_info = Py_None, *extra = Py_None, *stack_info = Py_False, *text,
				     *keep, *k, *v;
	long levelno, stacklevel = 1;
	struct clew_kv kv[MAX_KV];
	clew_client *c = clewpy_get_client();
	PyThreadState *ts;
	Py_ssize_t pos = 0, mlen;
	size_t nkv = 0;
	const char *m;
	int level, n;

	if (!c || !PyArg_ParseTupleAndKeywords(args, kw, "OOO|OOOl:_log", kwlist, &lvo, &msg, &margs,
					       &exc_info, &extra, &stack_info, &stacklevel))
		return NULL;
	levelno = PyLong_AsLong(lvo);
	if (levelno == -1 && PyErr_Occurred())
		return NULL;
	if (PyObject_IsTrue(exc_info) != 0 || PyObject_IsTrue(stack_info) != 0 ||
	    (extra != Py_None && !PyDict_Check(extra)))
		return std_path(self, args, kw);
	if (extra != Py_None)
		while (PyDict_Next(extra, &pos, &k, &v)) {
			int std = clewpy_std_attr(k);

			if (std != 0)
				return std < 0 ? NULL
					       : std_path(self, args, kw); /* LogRecord raises KeyError */
		}
	if (attr_true(self, s_disabled) != 0)
		return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
	n = fast_handlers(self, levelno);
	if (n < 0)
		return NULL;
	if (n == 0)
		return std_path(self, args, kw);
	level = clewpy_level(levelno);
	if (!clew_enabled(c, level))
		Py_RETURN_NONE;
	if (!(keep = PyList_New(0)))
		return NULL;
	text = message(msg, margs);
	if (!text || !(m = PyUnicode_AsUTF8AndSize(text, &mlen)) || clewpy_install() < 0 ||
	    (clew_client_format(c) == CLEW_FORMAT_JSON && pyms_fields(self, stacklevel, kv, &nkv, keep) < 0))
		goto fail;
	pos = 0;
	while (extra != Py_None && PyDict_Next(extra, &pos, &k, &v) && nkv < MAX_KV)
		if (!PyUnicode_Check(k) || clewpy_kv(&kv[nkv++], k, v, keep) < 0) {
			if (!PyErr_Occurred())
				PyErr_SetString(PyExc_TypeError, "extra keys are str");
			goto fail;
		}
	ts = PyEval_SaveThread();
	while (n-- > 0)
		(void)clew_log(c, level, kv, nkv, "%.*s", (int)mlen, m); /* drops are counted by libclew */
	PyEval_RestoreThread(ts);
	Py_DECREF(text);
	Py_DECREF(keep);
	Py_RETURN_NONE;
fail:
	Py_XDECREF(text);
	Py_DECREF(keep);
	return NULL;
}

static PyMethodDef lc_methods[] = {
	{"_log", (PyCFunction)(void (*)(void))lc_log, METH_VARARGS | METH_KEYWORDS,
	 "_log(level, msg, args, exc_info=None, extra=None, stack_info=False, stacklevel=1)\n--\n\n"
	 "logging.Logger._log(), straight to libclew when only clew.Handlers (without filters) would\n"
	 "see the record and it has no exc_info/stack_info; else the standard library's own."},
	{NULL, NULL, 0, NULL},
};

PyTypeObject clewpy_LoggerCoreType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "clew.LoggerCore",
	.tp_basicsize = sizeof(PyObject),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "The C method of clew.Logger (_log); use clew.Logger.",
	.tp_methods = lc_methods,
	.tp_new = PyType_GenericNew,
};
