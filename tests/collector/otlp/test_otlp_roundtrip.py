#!/usr/bin/env python3
"""test_otlp_roundtrip.py - clewd's otlp output into clewd's otlp input: every record comes back.

usage: test_otlp_roundtrip.py CLEWD

A clewd reads records (JSON lines: spans and logs of two services, with trace/span/parent IDs in
hex, levels, method and path, attributes of every scalar type) on stdin and sends them with
-o otlp:// (protobuf, then encoding=json) to a second clewd's -i otlp:// (ack: durable), which
writes what it receives as JSON lines. Each record must come back with the same time, level,
service, IDs, method, path, message, span name, duration, status and attributes (read with
Python's json). Objects and arrays are not in the corpus: the output sends them as their JSON text
(clewd(8)), so they come back as strings.
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

CLEWD = sys.argv[1]
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL: " + what)


def corpus():
    recs = []
    for i in range(40):
        svc = "billing" if i % 2 else "orders"
        span = "%016x" % (0x1000 + i)
        parent = "%016x" % (0x1000 + i - 1) if i else None
        ts = "2026-12-06T10:00:%02d.%06dZ" % (i % 60, 1000 * i + 7)
        s = {"timestamp": ts, "level": "ERROR" if i % 7 == 0 else "INFO", "event": "span", "trace": TRACE,
             "span": span, "service": svc, "name": "op %d" % i, "dur_us": 1500 + i,
             "status": "error" if i % 7 == 0 else "ok", "method": "POST", "path": "/pay/%d" % i,
             "retries": i, "ratio": 0.5 + i, "cached": i % 3 == 0, "region": "eu-%d" % i}
        if parent:
            s["parent"] = parent
        recs.append(s)
        recs.append({"timestamp": ts, "level": ["DEBUG", "INFO", "WARN", "ERROR"][i % 4], "trace": TRACE,
                     "span": span, "service": svc, "message": "log %d: caf\u00e9 \"quoted\"" % i,
                     "amount": i * 3, "ok": i % 2 == 0, "user": "u%d" % i})
    return recs


def port_of(log_path):
    for _ in range(200):
        try:
            with open(log_path) as f:
                for line in f:
                    m = re.search(r'"message":"listening".*"port":"(\d+)"', line)
                    if m:
                        return int(m.group(1))
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    raise SystemExit("FAIL: the otlp input did not start: " + open(log_path).read())


def round_trip(tmp, encoding, recs):
    out = os.path.join(tmp, "b-%s.json" % encoding)
    blog = os.path.join(tmp, "b-%s.log" % encoding)
    with open(out, "w") as o, open(blog, "w") as e:
        b = subprocess.Popen([CLEWD, "-i", "otlp://127.0.0.1:0", "-o", "stdout:json", "-s",
                              os.path.join(tmp, "b-state-" + encoding)], stdout=o, stderr=e)
    try:
        port = port_of(blog)
        body = "".join(json.dumps(r) + "\n" for r in recs)
        a = subprocess.run([CLEWD, "-i", "stdin", "-o", "otlp://127.0.0.1:%d?encoding=%s" % (port, encoding),
                            "-s", os.path.join(tmp, "a-state-" + encoding)], input=body.encode(),
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
        check(a.returncode == 0, "%s: the sending clewd exited %d: %s" % (encoding, a.returncode,
                                                                          a.stderr.decode()[-500:]))
    finally:
        b.send_signal(signal.SIGTERM)
        b.wait(timeout=60)
    got = []
    with open(out) as f:
        for line in f:
            got.append(json.loads(line))
    return got


def compare(encoding, sent, got):
    check(len(got) == len(sent), "%s: %d records back, %d sent" % (encoding, len(got), len(sent)))
    by_key = {}
    for g in got:
        by_key[(g.get("event", "log"), g.get("span"))] = g
    for s in sent:
        g = by_key.get((s.get("event", "log"), s["span"]))
        what = "%s: %s %s" % (encoding, s.get("event", "log"), s.get("name") or s.get("message"))
        if g is None:
            check(False, what + ": did not come back")
            continue
        for k, v in s.items():
            check(g.get(k) == v, "%s: %s = %r, sent %r" % (what, k, g.get(k), v))
        extra = set(g) - set(s) - {"ids"}
        check(not extra, "%s: fields it did not have: %s" % (what, sorted(extra)))


def main():
    recs = corpus()
    with tempfile.TemporaryDirectory(prefix="clew-otlp-rt-") as tmp:
        for encoding in ("protobuf", "json"):
            compare(encoding, recs, round_trip(tmp, encoding, recs))
    if failures:
        print("%d failures" % failures)
        return 1
    print("%d records, protobuf and JSON: every one came back as sent" % len(recs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
