/*
 * prop.c - propagation in the Python module: clew.extract() and
 * clew.inject() over libclew's clew_extract()/clew_inject() (W3C
 * traceparent/tracestate, B3 single and multi, X-Request-ID), the
 * Propagation value they trade, and clew.request, the context manager a
 * server wraps each request in (clew_request_begin()).
 */
#include "clewpy.h"

#include <string.h>

#define MAX_HEADERS 64

typedef struct {
	PyObject_HEAD struct clew_propagation p;
} PropObject;

static PyObject *prop_str(const char *s)
{
	return PyUnicode_FromString(s);
}

static PyObject *prop_get(PyObject *self, void *closure)
{
	const struct clew_propagation *p = &((PropObject *)self)->p;
	const char *which = closure;

	if (!strcmp(which, "trace"))
		return prop_str(p->trace);
	if (!strcmp(which, "span"))
		return prop_str(p->span);
	if (!strcmp(which, "parent"))
		return prop_str(p->parent);
	if (!strcmp(which, "tracestate"))
		return PyUnicode_FromStringAndSize(p->tracestate, p->tracestate_len);
	if (!strcmp(which, "sampled"))
		return PyBool_FromLong(p->flags & CLEW_TRACE_SAMPLED);
	/* source */
	switch (p->source) {
	case CLEW_PROP_W3C:
		return prop_str("w3c");
	case CLEW_PROP_B3:
		return prop_str("b3");
	case CLEW_PROP_B3_MULTI:
		return prop_str("b3multi");
	case CLEW_PROP_REQUEST_ID:
		return prop_str("x-request-id");
	case CLEW_PROP_LOCAL:
		return prop_str("local");
	default:
		return prop_str("none");
	}
}

static PyObject *prop_repr(PyObject *self)
{
	const struct clew_propagation *p = &((PropObject *)self)->p;
	PyObject *src = prop_get(self, (void *)"source"), *r;

	if (!src)
		return NULL;
	r = PyUnicode_FromFormat("clew.Propagation(source=%U, trace=%s, span=%s)", src, p->trace, p->span);
	Py_DECREF(src);
	return r;
}

static PyGetSetDef prop_getset[] = {
	{"trace", prop_get, NULL, "The trace (transaction) ID.", (void *)"trace"},
	{"span", prop_get, NULL, "The caller's span ID ('' = none).", (void *)"span"},
	{"parent", prop_get, NULL, "B3's parent span ID, or the local span's parent ('' = none).",
	 (void *)"parent"},
	{"tracestate", prop_get, NULL, "The W3C tracestate list ('' = none).", (void *)"tracestate"},
	{"sampled", prop_get, NULL, "Whether the trace is sampled (W3C flag 01).", (void *)"sampled"},
	{"source", prop_get, NULL, "Where it came from: w3c, b3, b3multi, x-request-id, local.",
	 (void *)"source"},
	{NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject clewpy_PropagationType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "clew.Propagation",
	.tp_basicsize = sizeof(PropObject),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "A trace context found in incoming headers (clew.extract()) or the current one\n"
		  "(clew.current()): trace, span, parent, tracestate, sampled, source.",
	.tp_getset = prop_getset,
	.tp_repr = prop_repr,
};

/* One name or value as UTF-8/bytes; the object holding them goes to @keep. */
static const char *bytes_of(PyObject *o, size_t *len, PyObject *keep)
{
	Py_ssize_t n;
	const char *s;

	if (PyBytes_Check(o)) {
		s = PyBytes_AS_STRING(o);
		n = PyBytes_GET_SIZE(o);
	} else if (PyUnicode_Check(o)) {
		s = PyUnicode_AsUTF8AndSize(o, &n);
	} else {
		PyErr_SetString(PyExc_TypeError, "header names and values are str or bytes");
		return NULL;
	}
	if (s && PyList_Append(keep, o) < 0)
		return NULL;
	*len = (size_t)n;
	return s;
}

/*
 * Headers from a mapping (anything with items(): dict, werkzeug/aiohttp
 * headers, email.message.Message) or an iterable of (name, value) pairs
 * (ASGI's bytes pairs). Return the number, or -1 with an exception.
 */
static Py_ssize_t headers_of(PyObject *src, struct clew_header *h, PyObject *keep)
{
	PyObject *it, *pair, *items = NULL;
	Py_ssize_t n = 0;

	if (PyObject_HasAttrString(src, "items")) {
		items = PyObject_CallMethod(src, "items", NULL);
		if (!items)
			return -1;
		src = items;
	}
	it = PyObject_GetIter(src);
	Py_XDECREF(items);
	if (!it)
		return -1;
	while ((pair = PyIter_Next(it))) {
		PyObject *k, *v;

		if (!PyArg_ParseTuple(pair, "OO", &k, &v) || n >= MAX_HEADERS) {
			Py_DECREF(pair);
			if (!PyErr_Occurred())
				break; /* more than MAX_HEADERS: the trace headers come first in practice */
			Py_DECREF(it);
			return -1;
		}
		h[n].name = bytes_of(k, &h[n].name_len, keep);
		h[n].value = h[n].name ? bytes_of(v, &h[n].value_len, keep) : NULL;
		Py_DECREF(pair);
		if (!h[n].value) {
			Py_DECREF(it);
			return -1;
		}
		n++;
	}
	Py_DECREF(it);
	return PyErr_Occurred() ? -1 : n;
}

/* extract() of @src into @out: 0, 1 (nothing found), or -1 with an exception. */
static int extract_into(PyObject *src, struct clew_propagation *out)
{
	struct clew_header h[MAX_HEADERS];
	PyObject *keep;
	Py_ssize_t n;
	int rc;

	if (PyObject_TypeCheck(src, &clewpy_PropagationType)) {
		*out = ((PropObject *)src)->p;
		return 0;
	}
	keep = PyList_New(0);
	if (!keep)
		return -1;
	n = headers_of(src, h, keep);
	rc = n < 0 ? -1 : clew_extract(h, (size_t)n, out);
	Py_DECREF(keep);
	if (n < 0)
		return -1;
	return rc == 0 ? 0 : 1;
}

static PyObject *prop_new(const struct clew_propagation *p)
{
	PropObject *o = PyObject_New(PropObject, &clewpy_PropagationType);

	if (o)
		o->p = *p;
	return (PyObject *)o;
}

static PyObject *py_extract(PyObject *self, PyObject *headers)
{
	struct clew_propagation p;
	int rc;

	(void)self;
	rc = extract_into(headers, &p);
	if (rc < 0)
		return NULL;
	if (rc > 0)
		Py_RETURN_NONE;
	return prop_new(&p);
}

static PyObject *py_current(PyObject *self, PyObject *unused)
{
	struct clew_propagation p;

	(void)self;
	(void)unused;
	if (clewpy_install() < 0)
		return NULL;
	if (clew_context_propagation(&p) < 0)
		Py_RETURN_NONE;
	return prop_new(&p);
}

static int styles_of(PyObject *o, unsigned *out)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {{"w3c", CLEW_PROP_W3C},
		     {"b3", CLEW_PROP_B3},
		     {"b3multi", CLEW_PROP_B3_MULTI},
		     {"x-request-id", CLEW_PROP_REQUEST_ID}};
	PyObject *it, *s;

	*out = 0;
	if (!o || o == Py_None) {
		*out = CLEW_PROP_W3C | CLEW_PROP_REQUEST_ID;
		return 0;
	}
	if (PyUnicode_Check(o))
		return PyErr_SetString(PyExc_TypeError, "styles is a sequence of names, e.g. ('w3c', 'b3')"),
		       -1;
	if (!(it = PyObject_GetIter(o)))
		return -1;
	while ((s = PyIter_Next(it))) {
		const char *name = PyUnicode_Check(s) ? PyUnicode_AsUTF8(s) : NULL;
		size_t i;

		for (i = 0; name && i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(name, names[i].name))
				break;
		Py_DECREF(s);
		if (!name || i == sizeof(names) / sizeof(names[0])) {
			Py_DECREF(it);
			PyErr_SetString(PyExc_ValueError, "styles: w3c, b3, b3multi, x-request-id");
			return -1;
		}
		*out |= names[i].bit;
	}
	Py_DECREF(it);
	return PyErr_Occurred() ? -1 : 0;
}

static PyObject *py_inject(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"headers", "styles", "context", NULL};
	PyObject *headers = Py_None, *styles = Py_None, *context = Py_None, *r;
	struct clew_propagation p;
	struct clew_header h[8];
	char buf[2048];
	unsigned st;
	size_t n = 0;
	int rc;

	(void)self;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|OOO:inject", kwlist, &headers, &styles, &context))
		return NULL;
	if (styles_of(styles, &st) < 0)
		return NULL;
	r = headers == Py_None ? PyDict_New() : Py_NewRef(headers);
	if (!r)
		return NULL;
	if (context != Py_None) {
		if (!PyObject_TypeCheck(context, &clewpy_PropagationType)) {
			Py_DECREF(r);
			PyErr_SetString(PyExc_TypeError, "context is a clew.Propagation");
			return NULL;
		}
		p = ((PropObject *)context)->p;
	} else if (clewpy_install() < 0 || clew_context_propagation(&p) < 0) {
		if (PyErr_Occurred())
			Py_CLEAR(r);
		return r; /* no context: nothing to propagate */
	}
	rc = clew_inject(&p, st, h, sizeof(h) / sizeof(h[0]), &n, buf, sizeof(buf));
	if (rc < 0) {
		Py_DECREF(r);
		return clewpy_err(rc, "clew.inject");
	}
	for (size_t i = 0; i < n; i++) {
		PyObject *k = PyUnicode_FromStringAndSize(h[i].name, (Py_ssize_t)h[i].name_len);
		PyObject *v = PyUnicode_FromStringAndSize(h[i].value, (Py_ssize_t)h[i].value_len);

		rc = k && v ? PyObject_SetItem(r, k, v) : -1;
		Py_XDECREF(k);
		Py_XDECREF(v);
		if (rc < 0) {
			Py_DECREF(r);
			return NULL;
		}
	}
	return r;
}

PyMethodDef clewpy_prop_methods[] = {
	{"extract", py_extract, METH_O,
	 "extract(headers) -> Propagation | None\n--\n\n"
	 "The trace context in incoming @headers: a mapping (dict, werkzeug/aiohttp headers) or\n"
	 "an iterable of (name, value) pairs, str or bytes. W3C traceparent/tracestate first,\n"
	 "then b3, X-B3-*, X-Request-ID (libclew's clew_extract()). None when there is none."},
	{"inject", (PyCFunction)(void (*)(void))py_inject, METH_VARARGS | METH_KEYWORDS,
	 "inject(headers=None, styles=('w3c', 'x-request-id'), context=None) -> headers\n--\n\n"
	 "Set the headers that carry the current context (or @context) on an outgoing call:\n"
	 "into @headers (any mutable mapping, e.g. requests' session.headers) or a new dict,\n"
	 "which is returned. Styles: w3c, b3, b3multi, x-request-id. Outside any NDC nothing is\n"
	 "added."},
	{"current", py_current, METH_NOARGS,
	 "current() -> Propagation | None\n--\n\n"
	 "The current context as it would go out on a call (trace, innermost span, parent), or\n"
	 "None outside any NDC."},
	{NULL, NULL, 0, NULL},
};

/* -------------------------------------------------------------- request */

typedef struct {
	PyObject_HEAD PyObject *headers; /* or a Propagation, or None */
	PyObject *method, *path;	 /* str or None */
	PyObject *token;		 /* while entered */
	PyObject *incoming;		 /* Propagation or None, once entered */
} RequestObject;

static int request_init(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"headers", "method", "path", NULL};
	RequestObject *r = (RequestObject *)self;
	PyObject *headers = Py_None, *method = Py_None, *path = Py_None;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|OOO:request", kwlist, &headers, &method, &path))
		return -1;
	Py_XSETREF(r->headers, Py_NewRef(headers));
	Py_XSETREF(r->method, Py_NewRef(method));
	Py_XSETREF(r->path, Py_NewRef(path));
	return 0;
}

static void request_dealloc(PyObject *self)
{
	RequestObject *r = (RequestObject *)self;

	Py_XDECREF(r->headers);
	Py_XDECREF(r->method);
	Py_XDECREF(r->path);
	Py_XDECREF(r->token);
	Py_XDECREF(r->incoming);
	Py_TYPE(self)->tp_free(self);
}

static const char *opt_utf8(PyObject *o)
{
	return o == Py_None ? NULL : PyUnicode_AsUTF8(o);
}

static PyObject *request_enter(PyObject *self, PyObject *unused)
{
	RequestObject *r = (RequestObject *)self;
	struct clew_propagation in;
	clew_client *c = clewpy_get_client();
	const char *method, *path;
	int rc = 1;

	(void)unused;
	if (!c)
		return NULL;
	if (r->token) {
		PyErr_SetString(PyExc_RuntimeError, "clew.request entered twice");
		return NULL;
	}
	memset(&in, 0, sizeof(in));
	if (r->headers != Py_None && (rc = extract_into(r->headers, &in)) < 0)
		return NULL;
	method = opt_utf8(r->method);
	path = opt_utf8(r->path);
	if ((r->method != Py_None && !method) || (r->path != Py_None && !path))
		return NULL;
	if (rc == 0)
		Py_XSETREF(r->incoming, prop_new(&in));
	rc = clew_request_begin(c, rc == 0 ? &in : NULL, method, path);
	clewpy_forget();
	if (rc < 0)
		return clewpy_err(rc, "clew.request");
	r->token = clewpy_publish();
	if (!r->token)
		return NULL;
	return Py_NewRef(self);
}

static PyObject *request_exit(PyObject *self, PyObject *args)
{
	RequestObject *r = (RequestObject *)self;
	PyObject *token = r->token;
	int rc;

	(void)args;
	if (!token)
		Py_RETURN_FALSE;
	r->token = NULL;
	rc = clewpy_reset(token);
	Py_DECREF(token);
	if (rc < 0)
		return NULL;
	Py_RETURN_FALSE;
}

static PyObject *request_incoming(PyObject *self, void *closure)
{
	RequestObject *r = (RequestObject *)self;

	(void)closure;
	return Py_NewRef(r->incoming ? r->incoming : Py_None);
}

static PyMethodDef request_methods[] = {
	{"__enter__", request_enter, METH_NOARGS, "Begin the request: the NDC becomes trace[:caller]:span."},
	{"__exit__", request_exit, METH_VARARGS, "End it: the NDC is as it was before."},
	{NULL, NULL, 0, NULL},
};

static PyGetSetDef request_getset[] = {
	{"incoming", request_incoming, NULL, "The Propagation found in the headers, or None.", NULL},
	{NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject clewpy_RequestType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "clew.request",
	.tp_basicsize = sizeof(RequestObject),
	.tp_dealloc = request_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "request(headers=None, method=None, path=None)\n--\n\n"
		  "Serve one request: the incoming trace context is taken from @headers (see extract();\n"
		  "none = a new transaction ID), the NDC becomes 'trace[:caller_span]:our_span' and records\n"
		  "inside carry @method and @path (libclew's clew_request_begin()). A context manager; the\n"
		  "WSGI and ASGI middlewares use it.",
	.tp_methods = request_methods,
	.tp_getset = request_getset,
	.tp_init = request_init,
	.tp_new = PyType_GenericNew,
};
