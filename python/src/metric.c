/*
 * metric.c - clew.counter(), clew.gauge(), clew.histogram(): libclew's
 * metrics (registered once on the client, then updated lock-free from any
 * thread) as Python objects. Registering a name again with the same type,
 * buckets and tags gives back the same libclew metric.
 */
#include "clewpy.h"
#include "clew/metrics.h"

#include <math.h>

#define MAX_TAGS CLEW_METRIC_TAGS_MAX

typedef struct {
	PyObject_HEAD clew_metric *m;
	int type; /* enum clew_metric_type */
	PyObject *name;
} MetricObject;

static void metric_dealloc(PyObject *self)
{
	Py_XDECREF(((MetricObject *)self)->name);
	Py_TYPE(self)->tp_free(self);
}

static PyObject *metric_add(PyObject *self, PyObject *args)
{
	MetricObject *o = (MetricObject *)self;
	PyObject *n = NULL;
	int rc;

	if (!PyArg_ParseTuple(args, "|O:add", &n))
		return NULL;
	if (o->type == CLEW_METRIC_COUNTER) {
		unsigned long long v = n ? PyLong_AsUnsignedLongLong(n) : 1;

		if (PyErr_Occurred())
			return NULL;
		rc = clew_counter_add(o->m, v);
	} else if (o->type == CLEW_METRIC_GAUGE) {
		double v = n ? PyFloat_AsDouble(n) : 1.0;

		if (PyErr_Occurred())
			return NULL;
		rc = clew_gauge_add(o->m, v);
	} else {
		PyErr_SetString(PyExc_TypeError, "add() is for counters and gauges; histograms observe()");
		return NULL;
	}
	if (rc < 0)
		return clewpy_err(rc, "metric add");
	Py_RETURN_NONE;
}

static PyObject *metric_set(PyObject *self, PyObject *arg)
{
	MetricObject *o = (MetricObject *)self;
	double v = PyFloat_AsDouble(arg);
	int rc;

	if (PyErr_Occurred())
		return NULL;
	rc = clew_gauge_set(o->m, v);
	if (rc < 0)
		return clewpy_err(rc, "gauge set (a gauge, not NaN)");
	Py_RETURN_NONE;
}

static PyObject *metric_observe(PyObject *self, PyObject *arg)
{
	MetricObject *o = (MetricObject *)self;
	double v = PyFloat_AsDouble(arg);
	int rc;

	if (PyErr_Occurred())
		return NULL;
	rc = clew_histogram_observe(o->m, v);
	if (rc < 0)
		return clewpy_err(rc, "histogram observe (a histogram, not NaN)");
	Py_RETURN_NONE;
}

static PyObject *metric_value(PyObject *self, void *closure)
{
	double v = 0, sum = 0;

	clew_metric_read(((MetricObject *)self)->m, &v, &sum);
	return PyFloat_FromDouble(closure ? sum : v);
}

static PyObject *metric_repr(PyObject *self)
{
	static const char *types[] = {"?", "counter", "gauge", "histogram"};
	MetricObject *o = (MetricObject *)self;

	return PyUnicode_FromFormat("clew.%s(%R)", types[o->type], o->name);
}

static PyMethodDef metric_methods[] = {
	{"add", metric_add, METH_VARARGS,
	 "add(n=1)\n--\n\nCounter: add @n (an int >= 0). Gauge: add @n (negative subtracts)."},
	{"set", metric_set, METH_O, "set(value)\n--\n\nGauge: set the value."},
	{"observe", metric_observe, METH_O, "observe(value)\n--\n\nHistogram: count one observation."},
	{NULL, NULL, 0, NULL},
};

static PyGetSetDef metric_getset[] = {
	{"value", metric_value, NULL, "Counter total, gauge value, histogram count.", NULL},
	{"sum", metric_value, NULL, "Histogram: the sum of the observations.", (void *)1},
	{NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject clewpy_MetricType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "clew.Metric",
	.tp_basicsize = sizeof(MetricObject),
	.tp_dealloc = metric_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "A libclew metric (clew.counter/gauge/histogram). Written by the client as\n"
		  "event=metric records every flush interval (CLEW_METRICS_INTERVAL) and at flush().",
	.tp_methods = metric_methods,
	.tp_getset = metric_getset,
	.tp_repr = metric_repr,
};

/* Register a metric of @type named @name with @tags (a dict); @buckets for histograms. */
static PyObject *make(int type, PyObject *name, PyObject *tags, const struct clew_buckets *b)
{
	clew_client *c = clewpy_get_client();
	struct clew_kv kv[MAX_TAGS + 1];
	PyObject *keep, *k, *v;
	MetricObject *o;
	Py_ssize_t pos = 0;
	size_t n = 0;
	const char *nm;
	int rc;

	if (!c || !(nm = PyUnicode_AsUTF8(name)) || !(keep = PyList_New(0)))
		return NULL;
	while (tags && PyDict_Next(tags, &pos, &k, &v)) {
		if (n > MAX_TAGS)
			break; /* libclew refuses it below with ELIMIT */
		if (clewpy_kv(&kv[n++], k, v, keep) < 0) {
			Py_DECREF(keep);
			return NULL;
		}
	}
	o = PyObject_New(MetricObject, &clewpy_MetricType);
	if (!o) {
		Py_DECREF(keep);
		return NULL;
	}
	o->type = type;
	o->name = Py_NewRef(name);
	if (type == CLEW_METRIC_COUNTER)
		rc = clew_counter_new(c, &o->m, nm, kv, n);
	else if (type == CLEW_METRIC_GAUGE)
		rc = clew_gauge_new(c, &o->m, nm, kv, n);
	else
		rc = clew_histogram_new(c, &o->m, nm, b, kv, n);
	Py_DECREF(keep);
	if (rc < 0) {
		Py_DECREF(o);
		return clewpy_err(rc, "metric registration");
	}
	return (PyObject *)o;
}

static PyObject *py_counter(PyObject *self, PyObject *args, PyObject *kw)
{
	PyObject *name;

	(void)self;
	if (!PyArg_ParseTuple(args, "U:counter", &name))
		return NULL;
	return make(CLEW_METRIC_COUNTER, name, kw, NULL);
}

static PyObject *py_gauge(PyObject *self, PyObject *args, PyObject *kw)
{
	PyObject *name;

	(void)self;
	if (!PyArg_ParseTuple(args, "U:gauge", &name))
		return NULL;
	return make(CLEW_METRIC_GAUGE, name, kw, NULL);
}

static PyObject *py_histogram(PyObject *self, PyObject *args, PyObject *kw)
{
	static const double def[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
	double bounds[CLEW_HIST_BUCKETS_MAX];
	struct clew_buckets b = {
		.kind = CLEW_BUCKETS_FIXED, .bounds = def, .n = sizeof(def) / sizeof(def[0])};
	PyObject *name, *buckets = NULL, *tags = NULL, *r;

	(void)self;
	if (!PyArg_ParseTuple(args, "U|O:histogram", &name, &buckets))
		return NULL;
	if (kw && (buckets = buckets ? buckets : PyDict_GetItemString(kw, "buckets"))) {
		tags = PyDict_Copy(kw);
		if (!tags ||
		    (PyDict_GetItemString(tags, "buckets") && PyDict_DelItemString(tags, "buckets") < 0)) {
			Py_XDECREF(tags);
			return NULL;
		}
	} else if (kw) {
		tags = Py_NewRef(kw);
	}
	if (buckets && buckets != Py_None) {
		PyObject *seq = PySequence_Fast(buckets, "buckets: a sequence of upper bounds");
		Py_ssize_t n = seq ? PySequence_Fast_GET_SIZE(seq) : 0;

		if (!seq || n < 1 || n > CLEW_HIST_BUCKETS_MAX) {
			Py_XDECREF(seq);
			Py_XDECREF(tags);
			if (!PyErr_Occurred())
				PyErr_SetString(PyExc_ValueError, "buckets: 1 to 40 ascending bounds");
			return NULL;
		}
		for (Py_ssize_t i = 0; i < n; i++)
			bounds[i] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(seq, i));
		Py_DECREF(seq);
		if (PyErr_Occurred()) {
			Py_XDECREF(tags);
			return NULL;
		}
		b.bounds = bounds;
		b.n = (size_t)n;
	}
	r = make(CLEW_METRIC_HISTOGRAM, name, tags, &b);
	Py_XDECREF(tags);
	return r;
}

PyMethodDef clewpy_metric_methods[] = {
	{"counter", (PyCFunction)(void (*)(void))py_counter, METH_VARARGS | METH_KEYWORDS,
	 "counter(name, **tags) -> Metric\n--\n\nA counter (cumulative total): .add(n=1)."},
	{"gauge", (PyCFunction)(void (*)(void))py_gauge, METH_VARARGS | METH_KEYWORDS,
	 "gauge(name, **tags) -> Metric\n--\n\nA gauge: .set(v), .add(delta)."},
	{"histogram", (PyCFunction)(void (*)(void))py_histogram, METH_VARARGS | METH_KEYWORDS,
	 "histogram(name, buckets=None, **tags) -> Metric\n--\n\n"
	 "A histogram with fixed upper bounds (default: Prometheus' 0.005 .. 10): .observe(v)."},
	{NULL, NULL, 0, NULL},
};
