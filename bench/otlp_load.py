#!/usr/bin/env python3
"""otlp_load.py - the load generator of bench_otlp_in.sh: one clewd input, one case.

Builds one request body of SPANS spans once (OTLP protobuf, OTLP/JSON, or the same
spans as clew ndjson lines for the http input, the floor), starts clewd (CLEWD) with
that input and the null output, POSTs the body REQUESTS times over CONNS keep-alive
connections (threads), waits until clewd's /metrics counts every record read and no
chunk is queued, and prints one line: case, spans, wall seconds, clewd's CPU seconds
(user + system from /proc, its start-up excluded), spans per second and per CPU-second.

Usage: otlp_load.py CLEWD CASE   (CASE: proto | json | ndjson)
Environment: SPANS per request (512), REQUESTS (2000), CONNS (4), ACK (memory).
"""
import http.client
import json
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

CLEWD, CASE = sys.argv[1:3]
SPANS = int(os.environ.get("SPANS", "512"))
REQUESTS = int(os.environ.get("REQUESTS", "2000"))
CONNS = int(os.environ.get("CONNS", "4"))
ACK = os.environ.get("ACK", "memory")
BASE = 1700000000000000000


def varint(v):
    o = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            o.append(b | 0x80)
        else:
            o.append(b)
            return bytes(o)


def ld(n, b):
    return varint(n << 3 | 2) + varint(len(b)) + b


def f64(n, v):
    return varint(n << 3 | 1) + struct.pack("<Q", v)


def kvs(n, k, v):
    return ld(n, ld(1, k.encode()) + ld(2, ld(1, v.encode())))


def ids(i):
    return "%032x" % (0x4BF92F3577B34DA6A3CE929D0E0E4736 + i // 8), "%016x" % (0x00F067AA0BA902B7 + i)


def body():
    """One request of SPANS spans: 8 spans per trace, each with three HTTP attributes."""
    spans = []
    for i in range(SPANS):
        t, s = ids(i)
        p = ids(i - 1)[1] if i % 8 else ""
        start = BASE + i * 1000000
        spans.append((t, s, p, "GET /api/orders/%d" % i, start, start + 1500000 + i))
    if CASE == "proto":
        out = b""
        for t, s, p, name, st, en in spans:
            sp = ld(1, bytes.fromhex(t)) + ld(2, bytes.fromhex(s)) + (ld(4, bytes.fromhex(p)) if p else b"")
            sp += ld(5, name.encode()) + varint(6 << 3) + varint(2) + f64(7, st) + f64(8, en)
            sp += kvs(9, "http.request.method", "GET") + kvs(9, "url.path", name[4:]) + kvs(9, "user", "u42")
            sp += ld(15, varint(3 << 3) + varint(1))
            out += ld(2, sp)
        return ld(1, ld(1, kvs(1, "service.name", "orders")) + ld(2, out)), "application/x-protobuf"
    if CASE == "json":
        js = [{"traceId": t, "spanId": s, "parentSpanId": p, "name": name, "kind": 2,
               "startTimeUnixNano": str(st), "endTimeUnixNano": str(en), "status": {"code": 1},
               "attributes": [{"key": "http.request.method", "value": {"stringValue": "GET"}},
                              {"key": "url.path", "value": {"stringValue": name[4:]}},
                              {"key": "user", "value": {"stringValue": "u42"}}]}
              for t, s, p, name, st, en in spans]
        req = {"resourceSpans": [{"resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "orders"}}]}, "scopeSpans": [{"spans": js}]}]}
        return json.dumps(req, separators=(",", ":")).encode(), "application/json"
    # the floor: the same spans as the clew JSON lines the otlp input makes of them
    lines = []
    for t, s, p, name, st, en in spans:
        r = {"timestamp": "2023-11-14T22:13:20.%09dZ" % (st - BASE), "level": "INFO", "service": "orders",
             "trace": t, "span": s}
        if p:
            r["parent"] = p
        r.update({"method": "GET", "path": name[4:], "event": "span", "name": name, "dur_us": (en - st) // 1000,
                  "status": "ok", "kind": "server", "http.request.method": "GET", "url.path": name[4:],
                  "user": "u42"})
        lines.append(json.dumps(r, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode(), "application/x-ndjson"


def cpu(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def metric(port, name):
    for attempt in range(50):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("GET", "/metrics")
            text = c.getresponse().read().decode()
            c.close()
            break
        except OSError:
            time.sleep(0.1)  # the connection limit of a busy listener: ask again
    else:
        sys.exit("clewd's /metrics does not answer")
    return sum(float(m) for m in re.findall(r"^%s(?:\{[^}]*\})? (\S+)$" % name, text, re.M))


def main():
    data, ctype = body()
    tmp = tempfile.mkdtemp(prefix="clew-otlp-bench-")
    inp = "otlp://127.0.0.1:0?ack=" + ACK if CASE != "ndjson" else "http://127.0.0.1:0/ingest"
    path = "/v1/traces" if CASE != "ndjson" else "/ingest"
    log = open(os.path.join(tmp, "clewd.log"), "w+")
    p = subprocess.Popen([CLEWD, "-s", os.path.join(tmp, "state"), "-i", inp, "-o", "null", "--http",
                          "127.0.0.1:0"], stderr=log)
    try:
        port = ops = None
        while not (port and ops):
            time.sleep(0.05)
            log.seek(0)
            t = log.read()
            m = re.search(r'"message":"listening","input":"(?:otlp|http)".*?"port":"(\d+)"', t)
            port = m and int(m.group(1))
            m = re.search(r'"message":"serving /health[^"]*\(port (\d+)\)"', t)
            ops = m and int(m.group(1))
            if p.poll() is not None:
                sys.exit("clewd exited: " + t)
        c0 = cpu(p.pid)
        per = [REQUESTS // CONNS + (1 if i < REQUESTS % CONNS else 0) for i in range(CONNS)]
        errors = []

        def send(n):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            for _ in range(n):
                while True:
                    c.request("POST", path, body=data, headers={"Content-Type": ctype})
                    r = c.getresponse()
                    r.read()
                    if r.status in (200, 204):
                        break
                    if r.status not in (429, 503):
                        errors.append(r.status)
                        return
                    time.sleep(0.01)  # Retry-After, shortened: backpressure is part of the run
            c.close()
        t0 = time.monotonic()
        th = [threading.Thread(target=send, args=(n,)) for n in per]
        for x in th:
            x.start()
        for x in th:
            x.join()
        if errors:
            sys.exit("answers: %r" % errors[:5])
        want = REQUESTS * SPANS
        if p.poll() is not None:
            log.seek(0)
            sys.exit("clewd exited: " + log.read()[-3000:])
        while metric(ops, "clewd_input_records_total") < want or metric(ops, "clewd_queue_chunks") > 0:
            time.sleep(0.01)
        wall = time.monotonic() - t0
        used = cpu(p.pid) - c0
        print("%-7s %9d spans  %6.2f s wall  %6.2f s CPU  %10.0f spans/s  %10.0f spans/CPU-s" %
              (CASE, want, wall, used, want / wall, want / used))
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait()


if __name__ == "__main__":
    main()
