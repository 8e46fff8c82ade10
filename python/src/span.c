/*
 * span.c - clew.span: a timed unit of work (libclew's clew_span_start()/
 * clew_span_end()) as a context manager and decorator. The span lives in
 * the Python object (its struct clew_span), so it may be entered in one
 * task step and left after awaits: leaving adopts the span's snapshot
 * first, so libclew finds the span's ID on the thread's NDC.
 * An exception leaving the span sets status error and is logged once, as
 * an ERROR record with the traceback as continuation lines, by the
 * innermost span it crosses (it is marked, so outer spans only set their
 * status).
 */
#include "clewpy.h"

#include <string.h>

typedef struct {
	PyObject_HEAD PyObject *name; /* str */
	PyObject *attrs;	      /* dict or NULL, from the constructor */
	PyObject *keep;		      /* list: what the span's strings point into */
	PyObject *token;	      /* while entered */
	int status;		      /* set by set_status(); -1 = decided on exit */
	int top;		      /* times the request's own span (clew_span_start_top()) */
	struct clew_span sp;
} SpanObject;

static int span_init(PyObject *self, PyObject *args, PyObject *kw)
{
	SpanObject *s = (SpanObject *)self;
	PyObject *name;

	if (!PyArg_ParseTuple(args, "U:span", &name))
		return -1;
	Py_XSETREF(s->name, Py_NewRef(name));
	Py_XSETREF(s->attrs, kw ? PyDict_Copy(kw) : NULL);
	if (kw && !s->attrs)
		return -1;
	s->status = -1;
	return 0;
}

static void span_dealloc(PyObject *self)
{
	SpanObject *s = (SpanObject *)self;

	Py_XDECREF(s->name);
	Py_XDECREF(s->attrs);
	Py_XDECREF(s->keep);
	Py_XDECREF(s->token);
	Py_TYPE(self)->tp_free(self);
}

/* Add @kw's items to the running span. */
static int span_add(SpanObject *s, PyObject *kw)
{
	Py_ssize_t pos = 0;
	PyObject *k, *v;

	while (PyDict_Next(kw, &pos, &k, &v)) {
		struct clew_kv kv;
		int rc;

		if (clewpy_kv(&kv, k, v, s->keep) < 0)
			return -1;
		rc = clew_span_set(&s->sp, &kv, 1);
		if (rc < 0) {
			clewpy_err(rc, "clew.span attribute");
			return -1;
		}
	}
	return 0;
}

static PyObject *span_enter(PyObject *self, PyObject *unused)
{
	SpanObject *s = (SpanObject *)self;
	clew_client *c = clewpy_get_client();
	const char *name;
	int rc;

	(void)unused;
	if (!c)
		return NULL;
	if (s->token) {
		PyErr_SetString(PyExc_RuntimeError, "clew.span entered twice; make one per block");
		return NULL;
	}
	if (!(name = PyUnicode_AsUTF8(s->name)) || clewpy_install() < 0)
		return NULL;
	Py_XSETREF(s->keep, PyList_New(0));
	if (!s->keep)
		return NULL;
	memset(&s->sp, 0, sizeof(s->sp));
	rc = s->top ? clew_span_start_top(c, &s->sp, name) : clew_span_start(c, &s->sp, name);
	clewpy_forget();
	if (rc < 0)
		return clewpy_err(rc, "clew.span");
	s->token = clewpy_publish();
	if (!s->token || (s->attrs && span_add(s, s->attrs) < 0))
		return NULL;
	return Py_NewRef(self);
}

/* Log @exc once: the first span it leaves writes it, with its traceback. */
static void log_exception_once(SpanObject *s, PyObject *exc)
{
	PyObject *mark = PyUnicode_InternFromString("__clew_logged__");
	PyObject *tb, *text;
	const char *t, *name = PyUnicode_AsUTF8(s->name);
	Py_ssize_t len;

	if (!mark || !name)
		goto out;
	if (PyObject_HasAttr(exc, mark) || PyObject_SetAttr(exc, mark, Py_True) < 0)
		goto out;
	tb = clewpy_format_exc(exc);
	if (!tb)
		goto out;
	text = PyObject_Str(exc);
	t = PyUnicode_AsUTF8AndSize(tb, &len);
	if (t && text && PyUnicode_AsUTF8(text)) {
		const struct clew_kv kv[] = {CLEW_STR("exc_type", Py_TYPE(exc)->tp_name)};
		char buf[CLEWPY_CONT_MAX];
		size_t fit;

		t = clewpy_fit_cont(t, (size_t)len, buf, &fit);
		(void)clew_log_cont(s->sp.c, CLEW_LEVEL_ERROR, kv, 1, t, fit,
				    "span %.200s failed: %.200s: %.1000s", name, Py_TYPE(exc)->tp_name,
				    PyUnicode_AsUTF8(text));
	}
	Py_XDECREF(text);
	Py_DECREF(tb);
out:
	Py_XDECREF(mark);
	PyErr_Clear(); /* logging the error must not replace it */
}

static PyObject *span_exit(PyObject *self, PyObject *args)
{
	SpanObject *s = (SpanObject *)self;
	PyObject *type = Py_None, *exc = Py_None, *tb = Py_None, *token = s->token;
	PyThreadState *ts;
	int rc;

	if (!PyArg_ParseTuple(args, "|OOO", &type, &exc, &tb))
		return NULL;
	if (!token)
		Py_RETURN_FALSE;
	s->token = NULL;
	if (clewpy_install() < 0) {
		Py_DECREF(token);
		return NULL;
	}
	if (exc != Py_None)
		log_exception_once(s, exc);
	if (s->status >= 0)
		clew_span_set_status(&s->sp, s->status);
	else
		clew_span_set_status(&s->sp, exc != Py_None ? CLEW_STATUS_ERROR : CLEW_STATUS_OK);
	ts = PyEval_SaveThread();
	rc = clew_span_end(NULL, &s->sp);
	PyEval_RestoreThread(ts);
	clewpy_forget();
	(void)rc; /* a dropped record is counted by libclew; the block's outcome stands */
	rc = clewpy_reset(token);
	Py_DECREF(token);
	Py_CLEAR(s->keep);
	if (rc < 0)
		return NULL;
	Py_RETURN_FALSE;
}

static PyObject *span_set(PyObject *self, PyObject *args, PyObject *kw)
{
	SpanObject *s = (SpanObject *)self;

	if (PyTuple_GET_SIZE(args)) {
		PyErr_SetString(PyExc_TypeError, "span.set() takes keyword arguments only");
		return NULL;
	}
	if (!s->token) {
		PyErr_SetString(PyExc_RuntimeError, "span.set() outside the span");
		return NULL;
	}
	if (kw && span_add(s, kw) < 0)
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *span_set_status(PyObject *self, PyObject *arg)
{
	SpanObject *s = (SpanObject *)self;
	const char *st = PyUnicode_Check(arg) ? PyUnicode_AsUTF8(arg) : NULL;

	if (st && !strcmp(st, "ok"))
		s->status = CLEW_STATUS_OK;
	else if (st && !strcmp(st, "error"))
		s->status = CLEW_STATUS_ERROR;
	else if (st && !strcmp(st, "unset"))
		s->status = CLEW_STATUS_UNSET;
	else {
		PyErr_SetString(PyExc_ValueError, "status: 'ok', 'error' or 'unset'");
		return NULL;
	}
	Py_RETURN_NONE;
}

static PyObject *span_fresh(PyObject *self, PyObject *unused)
{
	SpanObject *s = (SpanObject *)self;
	PyObject *args = PyTuple_Pack(1, s->name), *r;

	(void)unused;
	if (!args)
		return NULL;
	r = PyObject_Call((PyObject *)Py_TYPE(self), args, s->attrs);
	Py_DECREF(args);
	if (r)
		((SpanObject *)r)->top = s->top;
	return r;
}

static PyObject *span_call(PyObject *self, PyObject *args, PyObject *kw)
{
	PyObject *func, *factory, *r;

	if ((kw && PyDict_GET_SIZE(kw)) || !PyArg_ParseTuple(args, "O:span.__call__", &func))
		return kw && PyDict_GET_SIZE(kw)
			       ? (PyErr_SetString(PyExc_TypeError, "decorate a function"), NULL)
			       : NULL;
	factory = PyObject_GetAttrString(self, "_fresh");
	if (!factory)
		return NULL;
	r = clewpy_decorate(factory, func);
	Py_DECREF(factory);
	return r;
}

static PyObject *span_id(PyObject *self, void *closure)
{
	SpanObject *s = (SpanObject *)self;

	(void)closure;
	if (!s->token)
		Py_RETURN_NONE;
	return PyUnicode_FromString(s->sp.id);
}

static PyMethodDef span_methods[] = {
	{"__enter__", span_enter, METH_NOARGS, "Start the span (push its ID); return the span."},
	{"__exit__", span_exit, METH_VARARGS, "End it: write its record, pop its ID."},
	{"set", (PyCFunction)(void (*)(void))span_set, METH_VARARGS | METH_KEYWORDS,
	 "set(**attrs)\n--\n\nAdd key/values to the span's record (at most 16 in all)."},
	{"set_status", span_set_status, METH_O,
	 "set_status(status)\n--\n\n'ok', 'error' or 'unset': overrides the status the block's outcome gives."},
	{"_fresh", span_fresh, METH_NOARGS, "A new, unentered span like this one (for the decorator)."},
	{NULL, NULL, 0, NULL},
};

static PyGetSetDef span_getset[] = {
	{"id", span_id, NULL, "The span's ID while it runs, else None.", NULL},
	{NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject clewpy_SpanType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "clew.span",
	.tp_basicsize = sizeof(SpanObject),
	.tp_dealloc = span_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc =
		"span(name, **attrs)\n--\n\n"
		"A timed unit of work: ``with clew.span('charge', amount=12):`` or ``@clew.span('charge')``\n"
		"(sync or async functions). Its ID is pushed on the NDC, so records inside name it; on\n"
		"exit one record is written: event=span name dur_us status (ok, or error when an\n"
		"exception leaves it; the exception is logged once, with its traceback) and @attrs.",
	.tp_methods = span_methods,
	.tp_getset = span_getset,
	.tp_init = span_init,
	.tp_new = PyType_GenericNew,
	.tp_call = span_call,
};

static PyObject *py_request_span(PyObject *self, PyObject *args, PyObject *kw)
{
	PyObject *r = PyObject_Call((PyObject *)&clewpy_SpanType, args, kw);

	(void)self;
	if (r)
		((SpanObject *)r)->top = 1;
	return r;
}

PyMethodDef clewpy_span_methods[] = {
	{"request_span", (PyCFunction)(void (*)(void))py_request_span, METH_VARARGS | METH_KEYWORDS,
	 "request_span(name, **attrs) -> span\n--\n\n"
	 "A span timing the current request's own span (the ID clew.request pushed) instead of a\n"
	 "new child: inside ``with clew.request(...)``, ``with clew.request_span('GET /x'):`` writes\n"
	 "the request's span record when it ends. The middlewares use it. Entering it outside a\n"
	 "request raises ValueError."},
	{NULL, NULL, 0, NULL},
};
