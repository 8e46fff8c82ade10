"""clew.wsgi: WSGI middleware (Flask, Falcon, Django, any WSGI app under gunicorn).

    app.wsgi_app = clew.wsgi.Middleware(app.wsgi_app)

Each request runs inside clew.request (the incoming traceparent/b3/X-Request-ID
continued, or a new transaction started), inside a span named "METHOD PATH"; an
access record (method, path, status, dur_us) is written at the end and the
response carries X-Request-ID (the trace ID). All of that is C (clew._clew);
this is only the WSGI plumbing.
"""
import time as _time

from . import _clew

__all__ = ["Middleware"]


def _headers(environ):
    for k, v in environ.items():
        if k.startswith("HTTP_"):
            yield k[5:].replace("_", "-"), v


class Middleware:
    """Wrap a WSGI app: extract or start the transaction, set the NDC, write the
    request's span and an access record, add X-Request-ID to the response.
    access=False leaves out the access record (the span is still written)."""

    def __init__(self, app, access=True):
        self.app = app
        self.access = access

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/") or "/"
        t0 = _time.perf_counter_ns()
        req = _clew.request(list(_headers(environ)), method, path)
        req.__enter__()
        status = [500]
        try:
            trace = _clew.current().trace
            sp = _clew.span(method + " " + path)
            sp.__enter__()

            def start(st, headers, exc_info=None):
                try:
                    status[0] = int(st.split(" ", 1)[0])
                except ValueError:
                    pass
                headers = [h for h in headers if h[0].lower() != "x-request-id"]
                headers.append(("X-Request-ID", trace))
                return start_response(st, headers, exc_info)

            try:
                # The body is consumed inside the request, so records of a
                # streaming response keep its context too.
                body = self.app(environ, start)
                try:
                    chunks = list(body)
                finally:
                    close = getattr(body, "close", None)
                    if close is not None:
                        close()
            except BaseException as e:
                sp.set(http_status=500)
                sp.__exit__(type(e), e, e.__traceback__)
                raise
            sp.set(http_status=status[0])
            if status[0] >= 500:
                sp.set_status("error")
            sp.__exit__(None, None, None)
            return chunks
        finally:
            if self.access:
                dur_us = (_time.perf_counter_ns() - t0) // 1000
                _clew.log("warn" if status[0] >= 500 else "info",
                          "%s %s %d %dus" % (method, path, status[0], dur_us),
                          access=True, status=status[0], dur_us=dur_us)
            req.__exit__(None, None, None)
