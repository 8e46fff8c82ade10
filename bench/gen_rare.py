#!/usr/bin/env python3
"""gen_rare.py - a corpus where every ID is rare, shaped apart from gen_corpus.

usage: bench/gen_rare.py pipe|json LINES SEED [HOT] > FILE

gen_corpus's transactions are short and its IDs all 16 hex digits; this one
is the shape issue 16 measured tracegrep on: 64 transactions open at a time,
interleaved line by line, over 8 services; each transaction is 15-30 records
(so an ID is on a few dozen lines per GB); pipe files carry 16-hex roots,
JSON files 32-hex traces; spans are 8 hex digits, each record a child of an
earlier span of its transaction. Pipe lines are ~174 bytes, JSON lines ~362.
With HOT > 0, every HOT-th record also belongs to one long transaction
whose ID is the same in every file of a format (a common ID: tracegrep
reads, parses and sorts all of its records, rg only prints them); its ID is
printed by `gen_rare.py pipe|json 0 0 hot`.
The output depends only on the arguments (Python's seeded Mersenne Twister).
Written in Python, not C, on purpose: it shares no code with gen_corpus.
"""
import random
import sys
import time

SERVICES = ["gateway", "orders", "payments", "inventory", "shipping", "users", "search", "notify"]
ROUTES = [("GET", "/api/v1/orders/{n}"), ("POST", "/api/v1/orders"), ("POST", "/api/v1/payments/{n}/capture"),
          ("GET", "/api/v1/users/{n}/profile"), ("GET", "/api/v1/search?q=shoes&page={n}"),
          ("PUT", "/api/v1/inventory/{n}/reserve"), ("POST", "/api/v1/shipments/{n}/label"),
          ("DELETE", "/api/v1/carts/{n}/items")]
MESSAGES = ["order {n} accepted for fulfilment", "payment authorised for order {n} by provider",
            "inventory reserved for sku {n}", "cache miss for key user:{n}, loading",
            "shipment label printed for order {n}", "search returned {n} results in 12 ms",
            "retrying upstream call after timeout for {n}",
            "notification queued for user {n} via email"]
LEVELS = ["INFO"] * 17 + ["DEBUG"] * 2 + ["WARN"]
OPEN = 64


def main():
    fmt, lines, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    idbits = 64 if fmt == "pipe" else 128
    hot_id = "%0*x" % (idbits // 4, random.Random(idbits).getrandbits(idbits))
    if len(sys.argv) > 4 and sys.argv[4] == "hot":
        print(hot_id)
        return
    hot = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    rnd = random.Random(seed)
    out = sys.stdout
    buf = []
    t_us = 1795417200 * 1000000 + seed * 3600 * 1000000  # 2026-11-23T07:00:00Z + seed hours

    def new_tx():
        return {"id": "%0*x" % (idbits // 4, rnd.getrandbits(idbits)), "left": rnd.randint(15, 30),
                "spans": ["%08x" % rnd.getrandbits(32)], "route": rnd.choice(ROUTES), "n": rnd.randint(1000, 99999)}

    txs = [new_tx() for _ in range(OPEN)]
    hot_tx = new_tx()
    hot_tx["id"], hot_tx["left"] = hot_id, -1
    for i in range(lines):
        k = rnd.randrange(OPEN)
        tx = txs[k] if not hot or i % hot else hot_tx
        t_us += rnd.randint(50, 900)
        sec, us = divmod(t_us, 1000000)
        ts = "%s.%06dZ" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)), us)
        svc = SERVICES[rnd.randrange(8)]
        parent = rnd.choice(tx["spans"])
        span = "%08x" % rnd.getrandbits(32)
        if len(tx["spans"]) < 64:
            tx["spans"].append(span)
        method, path = tx["route"]
        path = path.format(n=tx["n"])
        msg = rnd.choice(MESSAGES).format(n=tx["n"])
        level = rnd.choice(LEVELS)
        status = rnd.choice((200, 200, 200, 201, 204, 304, 404, 500))
        dur = rnd.randint(200, 900000)
        if fmt == "pipe":
            buf.append("%s %s %s:%s:%s|%s|%s|%s|status=%d|dur_us=%d|msg=%s\n" % (
                ts, level, tx["id"], parent, span, svc, method, path, status, dur, msg))
        else:
            buf.append('{"timestamp":"%s","severity":"%s","service":"%s","name":"%s.handler",'
                       '"funcName":"handle","lineno":%d,"message":"%s",'
                       '"trace":"%s","span":"%s","parent":"%s","method":"%s","path":"%s","status":%d,'
                       '"dur_us":%d}\n' % (
                           ts, level, svc, svc, rnd.randrange(100, 999), msg, tx["id"], span, parent,
                           method, path, status, dur))
        tx["left"] -= 1
        if tx["left"] == 0:
            txs[k] = new_tx()
        if len(buf) >= 4096:
            out.write("".join(buf))
            buf.clear()
    out.write("".join(buf))


if __name__ == "__main__":
    main()
