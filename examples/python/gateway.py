"""gateway.py - the example chain's front door in Python: Flask under gunicorn.

POST /checkout {"user": U, "amount": N} -> POST $ORDERS_URL/orders (traceparent +
X-Request-ID), answered 200 when the order was paid, 502 when not, 503 when orders
is unreachable. The same contract as examples/gateway.c, so either can call either.

    CLEW_SERVICE=gateway ORDERS_URL=http://127.0.0.1:8081 \
        gunicorn -w 2 -b 127.0.0.1:8080 gateway:app
"""
import json
import logging
import os
import urllib.error
import urllib.request

from flask import Flask, request

import clew
import clew.wsgi

clew.configure(service=os.environ.get("CLEW_SERVICE", "gateway"))
logging.basicConfig(level=logging.INFO, handlers=[clew.Handler()])
log = logging.getLogger("gateway")
ORDERS_URL = os.environ.get("ORDERS_URL", "http://127.0.0.1:8081")

app = Flask(__name__)
app.wsgi_app = clew.wsgi.Middleware(app.wsgi_app)


def post(url, body):
    """POST JSON with the current context's headers; (status, body)."""
    headers = clew.inject({"Content-Type": "application/json"})
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@app.post("/checkout")
def checkout():
    body = request.get_json(silent=True) or {}
    user, amount = body.get("user"), body.get("amount")
    if not isinstance(user, str) or not isinstance(amount, int):
        log.warning("bad checkout: want user and amount", extra={"status": 400})
        return {"error": "bad request"}, 400
    log.info("checkout by %s", user, extra={"user": user, "amount": amount})
    try:
        with clew.span("orders", peer="orders") as sp:
            status, reply = post(ORDERS_URL + "/orders", {"user": user, "amount": amount})
            sp.set(http_status=status)
            if status >= 500:
                sp.set_status("error")
    except OSError as e:
        log.error("orders unavailable: %s", e)
        return {"error": "orders unavailable"}, 503
    paid = status == 201
    log.log(logging.INFO if paid else logging.WARNING, "checkout %s", "paid" if paid else "failed",
            extra={"user": user, "amount": amount, "orders_status": status, "paid": paid})
    return app.response_class(reply or "{}", status=200 if paid else 502, mimetype="application/json")
