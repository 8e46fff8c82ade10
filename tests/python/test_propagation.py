"""clew.inject/extract, and round trips with the C example services."""
import json
import os
import subprocess

import pytest

from conftest import (EXAMPLES, PYTHON, configure, free_port, post, rebuild, spawn, stop)

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"


def test_extract_each_style():
    import clew

    p = clew.extract({"traceparent": "00-%s-%s-01" % (TRACE, SPAN), "tracestate": "a=1,b=2"})
    assert (p.source, p.trace, p.span, p.tracestate, p.sampled) == ("w3c", TRACE, SPAN, "a=1,b=2", True)
    p = clew.extract([(b"b3", ("%s-%s-1" % (TRACE, SPAN)).encode())])
    assert (p.source, p.trace, p.span) == ("b3", TRACE, SPAN)
    p = clew.extract({"X-B3-TraceId": TRACE, "X-B3-SpanId": SPAN, "X-B3-Sampled": "1"})
    assert (p.source, p.trace) == ("b3multi", TRACE)
    p = clew.extract({"X-Request-ID": "req-17"})
    assert (p.source, p.trace, p.span) == ("x-request-id", "req-17", "")
    assert clew.extract({"traceparent": "garbage"}) is None
    assert clew.extract({}) is None


def test_inject_round_trips_through_extract(logfile):
    clew = configure(logfile)
    assert clew.inject() == {}  # no context, nothing to send
    with clew.request({"traceparent": "00-%s-%s-01" % (TRACE, SPAN), "tracestate": "k=v"}):
        with clew.span("call") as sp:
            h = clew.inject(styles=("w3c", "b3", "b3multi", "x-request-id"))
            assert h["traceparent"] == "00-%s-%s-01" % (TRACE, sp.id)
            assert h["tracestate"] == "k=v" and h["X-Request-ID"] == TRACE
            for style in ("traceparent", "b3", "X-B3-TraceId"):
                only = {k: v for k, v in h.items() if k.lower().startswith(style.lower()[:4])}
                back = clew.extract(only)
                assert back.trace == TRACE and back.span == sp.id, (style, only)
            session_headers = {}
            clew.inject(session_headers)
            assert set(session_headers) == {"traceparent", "tracestate", "X-Request-ID"}


def test_python_calls_c_services_and_c_calls_python(tmp_path, tracegrep, c_services):
    """C gateway -> Python orders (aiohttp) -> C billing, and Python -> C orders directly."""
    bp, op, gp = free_port(), free_port(), free_port()
    logs = {n: tmp_path / (n + ".log") for n in ("billing", "orders", "gateway")}
    billing = spawn([c_services["billing"], "--port", str(bp)], logs["billing"], bp)
    orders = spawn([PYTHON, os.path.join(EXAMPLES, "orders.py"), "--port", str(op)], logs["orders"], op, fmt="json",
                   env={"BILLING_URL": "http://127.0.0.1:%d" % bp, "CLEW_SERVICE": "orders"})
    gateway = spawn([c_services["gateway"], "--port", str(gp), "--orders", "http://127.0.0.1:%d" % op],
                    logs["gateway"], gp)
    try:
        st, hdrs, body = post("http://127.0.0.1:%d/checkout" % gp, {"user": "ann", "amount": 1250},
                              {"traceparent": "00-%s-%s-01" % (TRACE, SPAN)})
        assert st == 200, body
        assert json.loads(body)["status"] == "paid"
    finally:
        for p in (gateway, orders, billing):
            stop(p)
    t = rebuild(tracegrep, TRACE, *logs.values())
    services = {r["service"] for r in t["records"]}
    assert services == {"gateway", "orders", "billing"}
    spans = {s["id"]: s for s in t["spans"]}
    # orders' request span is a child of the gateway's call span; billing's of orders' call span
    o = next(s for s in t["spans"] if s["service"] == "orders" and s["name"] == "POST /orders")
    b = next(s for s in t["spans"] if s["service"] == "billing" and s["method"] == "POST")
    assert spans[o["parent"]]["service"] == "gateway"
    assert spans[b["parent"]]["service"] == "orders" and spans[b["parent"]]["name"] == "billing"
    # every line of the Python service in this trace is a record tracegrep rebuilt
    olines = [x for x in logs["orders"].read_text().splitlines() if TRACE in x]
    assert sorted(olines) == sorted(r["text"] for r in t["records"] if r["service"] == "orders")


def test_python_client_into_c_orders(tmp_path, logfile, tracegrep, c_services):
    bp, op = free_port(), free_port()
    blog, olog = tmp_path / "billing.log", tmp_path / "orders.log"
    billing = spawn([c_services["billing"], "--port", str(bp)], blog, bp)
    orders = spawn([c_services["orders"], "--port", str(op), "--billing", "http://127.0.0.1:%d" % bp], olog, op,
                   fmt="json")
    clew = configure(logfile, format="pipe", service="pyclient")
    try:
        with clew.request(None, "POST", "/job"):
            trace = clew.current().trace
            with clew.span("orders") as sp:
                st, hdrs, body = post("http://127.0.0.1:%d/orders" % op, {"user": "bob", "amount": 300},
                                      clew.inject())
                span_id = sp.id
    finally:
        stop(orders)
        stop(billing)
    assert st == 201, body
    assert hdrs.get("X-Request-ID", trace) == trace
    t = rebuild(tracegrep, trace, logfile, olog, blog)
    assert {r["service"] for r in t["records"]} == {"pyclient", "orders", "billing"}
    children = [s for s in t["spans"] if s["parent"] == span_id]
    assert children and all(s["service"] == "orders" for s in children)


def test_wrap_session_sends_the_current_context_on_each_call(logfile):
    clew = configure(logfile)

    class Session:  # the shape of requests.Session
        def request(self, method, url, headers=None, **kw):
            return dict(headers or {})

    s = clew.wrap_session(Session())
    assert s.request("GET", "http://x", headers={"A": "1"}) == {"A": "1"}  # no context: nothing added
    with clew.request({"traceparent": "00-%s-%s-01" % (TRACE, SPAN)}):
        with clew.span("call") as sp:
            h, span_id = s.request("GET", "http://x", headers={"A": "1"}), sp.id
    assert h["A"] == "1" and h["traceparent"] == "00-%s-%s-01" % (TRACE, span_id) and h["X-Request-ID"] == TRACE
