"""orders.py - the example chain's order service in Python: aiohttp (asyncio).

POST /orders {"user": U, "amount": N} -> POST $BILLING_URL/charge (b3 + traceparent),
201 {"order", "status": "paid"} or 502 {"status": "payment_failed"};
GET /orders/N -> what became of order N (404 if unknown). The contract of
examples/orders.c. Concurrent requests share one event loop: clew keeps each
task's NDC apart (contextvars).

    CLEW_SERVICE=orders BILLING_URL=http://127.0.0.1:8082 python3 orders.py --port 8081
"""
import argparse
import itertools
import logging
import os
import time

from aiohttp import ClientSession, ClientTimeout, web

import clew
import clew.wsgi

clew.configure(service=os.environ.get("CLEW_SERVICE", "orders"))
logging.basicConfig(level=logging.INFO, handlers=[clew.Handler()])
log = logging.getLogger("orders")
BILLING_URL = os.environ.get("BILLING_URL", "http://127.0.0.1:8082")
next_id = itertools.count(1)
state = {}


@web.middleware
async def clew_middleware(req, handler):
    """aiohttp is not ASGI: clew.asgi.Middleware's steps, on aiohttp's request."""
    t0 = time.perf_counter_ns()
    status = 500
    with clew.request(req.headers, req.method, req.path):
        trace = clew.current().trace
        with clew.request_span(req.method + " " + req.path) as sp:
            try:
                resp = await handler(req)
                status = resp.status
            except web.HTTPException as e:
                status = e.status
                raise
            finally:
                sp.set(http_status=status)
                if status >= 500:
                    sp.set_status("error")
                clew.wsgi.access(req.method, req.path, status, t0)
        resp.headers["X-Request-ID"] = trace
        return resp


async def create(req):
    try:
        body = await req.json()
        user, amount = body["user"], body["amount"]
        assert isinstance(user, str) and isinstance(amount, int) and amount > 0
    except Exception:
        log.warning("bad order: want user and amount", extra={"status": 400})
        return web.json_response({"error": "bad request"}, status=400)
    oid = next(next_id)
    log.info("order %d created", oid, extra={"order": oid, "user": user, "amount": amount})
    status = 0
    try:
        with clew.span("billing", peer="billing"):
            headers = clew.inject(styles=("b3", "w3c", "x-request-id"))
            async with ClientSession(timeout=ClientTimeout(total=10)) as s:
                async with s.post(BILLING_URL + "/charge", json={"order": oid, "user": user, "amount": amount},
                                  headers=headers) as r:
                    status = r.status
    except OSError as e:
        log.error("billing unreachable: %s", e)
    if status != 200:
        state[oid] = "payment_failed"
        log.error("order %d not paid", oid,
                  extra={"order": oid, "user": user, "amount": amount, "billing_status": status})
        return web.json_response({"order": oid, "status": "payment_failed"}, status=502)
    state[oid] = "paid"
    return web.json_response({"order": oid, "status": "paid"}, status=201)


async def get(req):
    oid = req.match_info["id"]
    st = state.get(int(oid)) if oid.isdigit() else None
    log.info("order lookup", extra={"order_id": oid, "found": st is not None})
    if st is None:
        return web.json_response({"error": "not found"}, status=404)
    return web.json_response({"order": int(oid), "status": st})


def make_app():
    app = web.Application(middlewares=[clew_middleware])
    app.add_routes([web.post("/orders", create), web.get("/orders/{id}", get)])
    return app


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8081)
    args = ap.parse_args()
    web.run_app(make_app(), host="127.0.0.1", port=args.port, print=None, access_log=None)
