"""clew for Python services: logging, NDC, spans, propagation and metrics over libclew.

The work is done in C (clew._clew, over libclew); this file only joins it to
the standard library: clew.Handler is a logging.Handler whose emit/handle are
C, and the decorator helper wraps sync and async functions.

    import logging, clew
    clew.configure(service="orders", format="json")     # CLEW_* environment first
    logging.getLogger().addHandler(clew.Handler())
    log = logging.getLogger(__name__)

    with clew.request(headers, method="GET", path="/orders/42"):   # or the middlewares
        with clew.span("db.fetch", table="orders"):
            log.info("order %s fetched", 42, extra={"items": 3})
        outgoing = clew.inject({})      # traceparent + X-Request-ID for the next call

Records carry the NDC of the current thread *and* asyncio task (contextvars),
so concurrent requests never mix their IDs. See clew.wsgi and clew.asgi for
the WSGI/ASGI middlewares.
"""
import functools as _functools
import inspect as _inspect
import logging as _logging

from ._clew import (  # noqa: F401  (the public API)
    Context,
    HandlerCore,
    LoggerCore,
    Metric,
    Propagation,
    configure,
    counter,
    current,
    extract,
    flush,
    gauge,
    histogram,
    info,
    inject,
    libclew_version,
    log,
    ndc,
    ndc_path,
    request,
    request_span,
    span,
)
from . import _clew

__all__ = [
    "Context", "Handler", "Logger", "Metric", "Propagation", "configure", "counter", "current", "extract",
    "flush", "gauge", "histogram", "info", "inject", "libclew_version", "log", "ndc", "ndc_path",
    "request", "request_span", "span", "trace_id", "wrap_session",
]


def _decorate(factory, func):
    """Wrap func so that each call runs inside a fresh factory() context manager."""
    if _inspect.iscoroutinefunction(func):
        async def wrapper(*args, **kwargs):
            with factory():
                return await func(*args, **kwargs)
    else:
        def wrapper(*args, **kwargs):
            with factory():
                return func(*args, **kwargs)
    return _functools.wraps(func)(wrapper)


_clew._set_decorator(_decorate)


class Handler(HandlerCore, _logging.Handler):
    """A logging.Handler writing every LogRecord through libclew.

    Level mapping: DEBUG, INFO, WARNING, ERROR, CRITICAL -> clew's DEBUG .. FATAL
    (below DEBUG: TRACE). ``extra={...}`` becomes typed key/values (int, float,
    bool, str, None; anything else as str()). ``exc_info``/``stack_info`` become
    continuation lines (the traceback) that tracegrep keeps with the record. In
    JSON mode the record also carries pyms's name, module, funcName and lineno.
    Records carry the current NDC. emit() and handle() are C; handle() takes
    no lock (libclew never tears or interleaves lines). Formatters are not used:
    the line format is clew's (configure(format=...)).
    """


class Logger(LoggerCore, _logging.Logger):
    """A logging.Logger whose records skip the LogRecord when nothing needs one.

    When every handler a call reaches is a clew.Handler without filters, the
    logger has no filters, and the call has no exc_info/stack_info, _log() (C)
    hands the record straight to libclew: the same line, about half the cost of
    logging's own machinery. Anything else takes logging.Logger._log() unchanged.
    Use it for the loggers created after ``logging.setLoggerClass(clew.Logger)``.
    """


def trace_id():
    """The current transaction (trace) ID, or None outside any NDC."""
    p = current()
    return p.trace if p is not None else None


def wrap_session(session, styles=None):
    """Make a requests.Session (or anything with a .request method) send the
    current context on every call: the headers of clew.inject() are added to
    each request's headers. Returns the session."""
    orig = session.request

    @_functools.wraps(orig)
    def request(method, url, *args, **kwargs):
        kwargs["headers"] = inject(dict(kwargs.get("headers") or {}), styles=styles)
        return orig(method, url, *args, **kwargs)

    session.request = request
    return session
