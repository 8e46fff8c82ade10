"""billing.py - the example chain's card charger in Python: Flask under gunicorn.

POST /charge {"order": N, "user": U, "amount": N} -> 200 {"order", "charged"}, or
502 for every 7th order (the card processor "times out": the error is logged with
its traceback as continuation lines). The contract of examples/billing.c.

    CLEW_SERVICE=billing gunicorn -w 2 -b 127.0.0.1:8082 billing:app
"""
import logging
import os

from flask import Flask, request

import clew
import clew.wsgi

FAIL_EVERY = 7

clew.configure(service=os.environ.get("CLEW_SERVICE", "billing"))
logging.basicConfig(level=logging.INFO, handlers=[clew.Handler()])
log = logging.getLogger("billing")
charges = clew.counter("billing.charges")

app = Flask(__name__)
app.wsgi_app = clew.wsgi.Middleware(app.wsgi_app)


class ProcessorTimeout(Exception):
    """The card processor did not answer."""


def call_processor(order):
    if order % FAIL_EVERY == 0:
        raise ProcessorTimeout("card processor timed out")


@app.post("/charge")
def charge():
    body = request.get_json(silent=True) or {}
    order, user, amount = body.get("order"), body.get("user"), body.get("amount")
    if not isinstance(order, int) or not isinstance(user, str) or not isinstance(amount, int):
        log.warning("bad charge request: want order, user, amount", extra={"status": 400})
        return {"error": "bad request"}, 400
    try:
        with clew.span("processor", order=order):
            call_processor(order)
    except ProcessorTimeout:
        # The span logged the exception with its traceback; this is the outcome.
        log.error("charge failed for order %d", order,
                      extra={"status": 502, "order": order, "user": user, "amount": amount,
                             "error": "processor_timeout"})
        return {"error": "card processor timed out", "order": order}, 502
    charges.add()
    log.info("charged %d.%02d for order %d", amount // 100, amount % 100, order,
             extra={"order": order, "user": user, "amount": amount, "captured": True})
    return {"order": order, "charged": amount}
