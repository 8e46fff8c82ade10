"""clew.wsgi: WSGI middleware (Flask, Falcon, Django, any WSGI app under gunicorn).

    app.wsgi_app = clew.wsgi.Middleware(app.wsgi_app)

Each request runs inside clew.request (the incoming traceparent/b3/X-Request-ID
continued, or a new transaction started); its own span ("METHOD PATH", with
http_status, status error on 5xx or an exception) is written when it ends, after
an access record (method, path, status, dur_us); the response carries
X-Request-ID (the trace ID). The records, IDs and span are C (clew._clew); this
is only the WSGI plumbing.
"""
import time as _time

from . import _clew

__all__ = ["Middleware"]


def _headers(environ):
    for k, v in environ.items():
        if k.startswith("HTTP_"):
            yield k[5:].replace("_", "-"), v


def access(method, path, status, t0):
    """Write the access record of a request begun at perf_counter_ns() @t0."""
    dur_us = (_time.perf_counter_ns() - t0) // 1000
    _clew.log("warn" if status >= 500 else "info", "%s %s -> %d" % (method, path, status),
              status=status, dur_us=dur_us)


class Middleware:
    """Wrap a WSGI app (see the module's doc). access=False leaves out the
    access record (the span is still written)."""

    def __init__(self, app, access=True):
        self.app = app
        self.access = access

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/") or "/"
        t0 = _time.perf_counter_ns()
        status = [500]
        with _clew.request(list(_headers(environ)), method, path):
            trace = _clew.current().trace

            def start(st, headers, exc_info=None):
                try:
                    status[0] = int(st.split(" ", 1)[0])
                except ValueError:
                    pass
                headers = [h for h in headers if h[0].lower() != "x-request-id"]
                headers.append(("X-Request-ID", trace))
                return start_response(st, headers, exc_info)

            with _clew.request_span(method + " " + path) as sp:
                try:
                    # The body is consumed inside the request, so records a
                    # streaming response logs keep its context too.
                    body = self.app(environ, start)
                    try:
                        chunks = list(body)
                    finally:
                        close = getattr(body, "close", None)
                        if close is not None:
                            close()
                finally:
                    sp.set(http_status=status[0])
                    if status[0] >= 500:
                        sp.set_status("error")
                    if self.access:
                        access(method, path, status[0], t0)
        return chunks
