/*
 * ctx.c - the NDC of the Python module: snapshots in a ContextVar handed
 * to libclew per call (see clewpy.h), clew.ndc (a context manager and
 * decorator pushing one ID) and clew.request (the context of one served
 * request: extract, clew_request_begin(), the NDC for its duration).
 */
#include "clewpy.h"

#include <string.h>

PyObject *clewpy_var;

/* Serial of the snapshot this thread's libclew context holds: 0 = empty, UINT64_MAX = unknown. */
static _Thread_local uint64_t tl_serial;
static uint64_t next_serial = 1; /* under the GIL */

static void ctx_dealloc(PyObject *self)
{
	Py_TYPE(self)->tp_free(self);
}

static PyObject *ctx_path(PyObject *self, void *closure)
{
	const struct clew_context *x = &((CtxObject *)self)->ctx;
	char buf[CLEW_NDC_BYTES];

	(void)closure;
	if (x->len == 0)
		return PyUnicode_FromString("");
	memcpy(buf, x->ids, x->len);
	for (unsigned i = 1; i < x->depth; i++)
		buf[x->off[i] - 1] = ':';
	return PyUnicode_FromStringAndSize(buf, x->len - 1);
}

static PyGetSetDef ctx_getset[] = {
	{"path", ctx_path, NULL, "The NDC as a pipe line's IDS field: 'trace:span1:span2'.", NULL},
	{NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject clewpy_CtxType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "clew.Context",
	.tp_basicsize = sizeof(CtxObject),
	.tp_dealloc = ctx_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "An immutable snapshot of the NDC and request (the value clew keeps per task).",
	.tp_getset = ctx_getset,
};

int clewpy_install(void)
{
	PyObject *v;

	if (PyContextVar_Get(clewpy_var, NULL, &v) < 0)
		return -1;
	if (!v) {
		if (tl_serial != 0) {
			clew_request_end(NULL);
			tl_serial = 0;
		}
		return 0;
	}
	if (tl_serial != ((CtxObject *)v)->serial) {
		/* A snapshot was captured by clew_context_capture(): adopt cannot refuse it. */
		(void)clew_context_adopt(&((CtxObject *)v)->ctx, NULL);
		tl_serial = ((CtxObject *)v)->serial;
	}
	Py_DECREF(v);
	return 0;
}

void clewpy_forget(void)
{
	tl_serial = UINT64_MAX;
}

PyObject *clewpy_publish(void)
{
	CtxObject *o = PyObject_New(CtxObject, &clewpy_CtxType);
	PyObject *token;

	if (!o)
		return NULL;
	clew_context_capture(&o->ctx);
	o->serial = next_serial++;
	token = PyContextVar_Set(clewpy_var, (PyObject *)o);
	if (token)
		tl_serial = o->serial;
	Py_DECREF(o);
	return token;
}

int clewpy_reset(PyObject *token)
{
	return PyContextVar_Reset(clewpy_var, token);
}

/* ------------------------------------------------------------------ ndc */

typedef struct {
	PyObject_HEAD PyObject *id; /* str, or None: a new transaction ID */
	PyObject *token;	    /* while entered */
} NdcObject;

static int ndc_init(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"id", NULL};
	NdcObject *n = (NdcObject *)self;
	PyObject *id = Py_None;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:ndc", kwlist, &id))
		return -1;
	if (id != Py_None && !PyUnicode_Check(id)) {
		id = PyObject_Str(id);
		if (!id)
			return -1;
	} else {
		Py_INCREF(id);
	}
	Py_XSETREF(n->id, id);
	return 0;
}

static void ndc_dealloc(PyObject *self)
{
	NdcObject *n = (NdcObject *)self;

	Py_XDECREF(n->id);
	Py_XDECREF(n->token);
	Py_TYPE(self)->tp_free(self);
}

static PyObject *ndc_enter(PyObject *self, PyObject *unused)
{
	NdcObject *n = (NdcObject *)self;
	char gen[CLEW_ID_MAX + 1];
	const char *id;
	Py_ssize_t len;
	int rc;

	(void)unused;
	if (n->token) {
		PyErr_SetString(PyExc_RuntimeError, "clew.ndc entered twice; make one per block");
		return NULL;
	}
	if (n->id == Py_None) {
		clew_client *c = clewpy_get_client();

		if (!c)
			return NULL;
		clew_id_trace(clew_client_id_kind(c), gen, sizeof(gen));
		id = gen;
		len = (Py_ssize_t)strlen(gen);
	} else if (!(id = PyUnicode_AsUTF8AndSize(n->id, &len))) {
		return NULL;
	}
	if (clewpy_install() < 0)
		return NULL;
	rc = clew_ndc_push_n(clewpy_client, id, (size_t)len);
	if (rc < 0)
		return clewpy_err(rc, "clew.ndc");
	n->token = clewpy_publish();
	if (!n->token)
		return NULL;
	return PyUnicode_FromStringAndSize(id, len);
}

static PyObject *ndc_exit(PyObject *self, PyObject *args)
{
	NdcObject *n = (NdcObject *)self;
	PyObject *token = n->token;

	(void)args;
	if (!token)
		Py_RETURN_FALSE;
	n->token = NULL;
	if (clewpy_reset(token) < 0) {
		Py_DECREF(token);
		return NULL;
	}
	Py_DECREF(token);
	Py_RETURN_FALSE;
}

/* A fresh ndc with the same ID: the decorator makes one per call, so calls may nest and overlap. */
static PyObject *ndc_fresh(PyObject *self, PyObject *unused)
{
	(void)unused;
	return PyObject_CallOneArg((PyObject *)Py_TYPE(self), ((NdcObject *)self)->id);
}

static PyObject *ndc_call(PyObject *self, PyObject *args, PyObject *kw)
{
	PyObject *func, *factory, *r;

	if (kw && PyDict_GET_SIZE(kw)) {
		PyErr_SetString(PyExc_TypeError, "clew.ndc(...) as a decorator takes the function alone");
		return NULL;
	}
	if (!PyArg_ParseTuple(args, "O:ndc.__call__", &func))
		return NULL;
	factory = PyObject_GetAttrString(self, "_fresh");
	if (!factory)
		return NULL;
	r = clewpy_decorate(factory, func);
	Py_DECREF(factory);
	return r;
}

static PyMethodDef ndc_methods[] = {
	{"__enter__", ndc_enter, METH_NOARGS, "Push the ID; return it."},
	{"__exit__", ndc_exit, METH_VARARGS, "Pop the ID (restore the NDC as it was)."},
	{"_fresh", ndc_fresh, METH_NOARGS, "A new, unentered ndc with the same ID (for the decorator)."},
	{NULL, NULL, 0, NULL},
};

PyTypeObject clewpy_NdcType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "clew.ndc",
	.tp_basicsize = sizeof(NdcObject),
	.tp_dealloc = ndc_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "ndc(id=None)\n--\n\n"
		  "Push @id on the nested diagnostic context for a block: ``with clew.ndc(order_id):``,\n"
		  "or for each call of a function (sync or async): ``@clew.ndc('worker')``.\n"
		  "Records logged inside carry it (the pipe line's IDS 'trace:...:id'). The NDC is kept\n"
		  "per thread and per asyncio task (contextvars), so concurrent requests never mix\n"
		  "their IDs. id=None pushes a new transaction ID. __enter__ returns the ID pushed.",
	.tp_methods = ndc_methods,
	.tp_init = ndc_init,
	.tp_new = PyType_GenericNew,
	.tp_call = ndc_call,
};
