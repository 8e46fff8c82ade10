"""clew.asgi: ASGI middleware (Starlette, FastAPI, Quart, any ASGI 3 app).

    app = clew.asgi.Middleware(app)

As clew.wsgi.Middleware for HTTP scopes: each request runs inside clew.request
(in its own task's context, so concurrent requests never mix their IDs), its own
span "METHOD PATH" is written when it ends, after an access record (method, path,
status, dur_us), and the response carries X-Request-ID. Other scopes (lifespan,
websocket) pass through untouched.
"""
import time as _time

from . import _clew
from .wsgi import access as _access

__all__ = ["Middleware"]


class Middleware:
    """Wrap an ASGI 3 app (see the module's doc). access=False leaves out the
    access record."""

    def __init__(self, app, access=True):
        self.app = app
        self.access = access

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        path = scope.get("path", "/") or "/"
        t0 = _time.perf_counter_ns()
        status = [500]
        with _clew.request(scope.get("headers") or [], method, path):
            trace = _clew.current().trace.encode()

            async def send_(message):
                if message.get("type") == "http.response.start":
                    status[0] = message.get("status", 200)
                    headers = [h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"]
                    headers.append((b"x-request-id", trace))
                    message = dict(message, headers=headers)
                await send(message)

            with _clew.request_span(method + " " + path) as sp:
                try:
                    await self.app(scope, receive, send_)
                finally:
                    sp.set(http_status=status[0])
                    if status[0] >= 500:
                        sp.set_status("error")
                    if self.access:
                        _access(method, path, status[0], t0)
