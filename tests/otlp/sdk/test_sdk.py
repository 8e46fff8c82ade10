#!/usr/bin/env python3
"""test_sdk.py - the OpenTelemetry JS SDK (from npm) into clewd's otlp input.

A node service instrumented with the SDK (shop.js) makes one nested trace with
log records and a span event, and calls the libclew example service `billing`
with the traceparent header of its client span. clewd receives the SDK's OTLP
exports (traces as JSON or protobuf, by ENCODING; logs as JSON) and tails the
billing service's log; `tracegrep --json TRACE` over clewd's output must show one
tree whose spans (IDs, parents, names, durations, status, service), records
(messages, levels, spans) and the billing service's records below the client
span equal what the SDK sent, which shop.js prints as JSON.

Usage: test_sdk.py CLEWD TRACEGREP BILLING SOURCE_ROOT ENCODING [ACK]   (ACK: memory, durable)
The SDK is installed once by scripts/npm_otel.sh into $CLEW_NPM_CACHE (default
SOURCE_ROOT/build/npm-otel); exit 77 (skipped) only when npm cannot fetch it and
no cache holds it.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CLEWD, TRACEGREP, BILLING, ROOT, ENCODING = sys.argv[1:6]
ACK = sys.argv[6] if len(sys.argv) > 6 else "memory"
CACHE = os.environ.get("CLEW_NPM_CACHE", os.path.join(ROOT, "build", "npm-otel"))


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def wait_for(pred, what, limit=60.0):
    """Poll @pred until true; a bound against hangs, not a check of speed."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    fail("timed out waiting for " + what)


def main():
    if subprocess.run([os.path.join(ROOT, "scripts", "npm_otel.sh"), CACHE]).returncode != 0:
        print("SKIP: npm could not fetch the OpenTelemetry JS SDK and no cache holds it (" + CACHE + ")")
        sys.exit(77)
    node = shutil.which("node") or shutil.which("nodejs")
    check(node, "node is not installed (nodejs is in TEST_PACKAGES)")
    tmp = tempfile.mkdtemp(prefix="clew-otlp-sdk-")
    procs = []
    try:
        run(tmp, node, procs)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def run(tmp, node, procs):
    blog, out, portf = (os.path.join(tmp, n) for n in ("billing.log", "all.json", "billing.port"))
    open(blog, "w").close()
    env = dict(os.environ, CLEW_OUTPUT="file:" + blog, CLEW_FORMAT="json")
    billing = subprocess.Popen([BILLING, "--port", "0", "--port-file", portf], env=env)
    procs.append(billing)
    bport = wait_for(lambda: os.path.exists(portf) and open(portf).read().strip(), "billing's port")
    cenv = dict(os.environ, CLEWD_CHUNK_AGE="100ms", CLEWD_MULTILINE_TIMEOUT="100ms")
    clog = open(os.path.join(tmp, "clewd.log"), "w+")
    clewd = subprocess.Popen([CLEWD, "-s", os.path.join(tmp, "state"), "-i", "otlp://127.0.0.1:0?ack=" + ACK, "-i", "tail:" + blog,
                              "-o", "file:" + out + ":json"], env=cenv, stderr=clog)
    procs.append(clewd)

    def otlp_port():
        clog.seek(0)
        m = re.search(r'"message":"listening","input":"otlp".*?"port":"(\d+)"', clog.read())
        return m and m.group(1)
    port = wait_for(otlp_port, "clewd's otlp port")

    shop = subprocess.run([node, os.path.join(ROOT, "tests", "otlp", "sdk", "shop.js")], capture_output=True,
                          text=True, timeout=120,
                          env=dict(os.environ, NODE_PATH=os.path.join(CACHE, "node_modules"),
                                   OTLP="http://127.0.0.1:" + port, BILLING="http://127.0.0.1:" + bport,
                                   ENCODING=ENCODING))
    check(shop.returncode == 0, "shop.js failed: " + shop.stderr)
    sent = json.loads(shop.stdout)
    trace = sent["spans"][0]["trace"]
    check(len(sent["spans"]) == 3 and len(sent["logs"]) == 3, "shop.js sent %d spans, %d logs" %
          (len(sent["spans"]), len(sent["logs"])))
    # 3 spans + 1 span event + 3 log records from the SDK, and billing's records
    want = 3 + 1 + 3

    def arrived():
        if not os.path.exists(out):
            return False
        lines = [json.loads(x) for x in open(out) if x.strip()]
        mine = [x for x in lines if x.get("trace") == trace]
        svc = {x.get("service") for x in mine}
        return len([x for x in mine if x.get("service") == "node-shop"]) >= want and "billing" in svc
    wait_for(arrived, "the SDK's and billing's records in clewd's output")
    clewd.send_signal(signal.SIGTERM)
    check(clewd.wait(timeout=60) == 0, "clewd exited with an error")
    billing.send_signal(signal.SIGTERM)
    billing.wait(timeout=30)

    tg = subprocess.run([TRACEGREP, "--json", trace, out], capture_output=True, text=True, timeout=60)
    check(tg.returncode == 0, "tracegrep failed: " + tg.stderr)
    tree = json.loads(tg.stdout)
    compare(sent, tree, trace)
    print("ok: %d spans, %d logs, 1 event from the SDK (%s traces) and billing's records in one tree" %
          (len(sent["spans"]), len(sent["logs"]), ENCODING))


def compare(sent, tree, trace):
    spans = {s["id"]: s for s in tree["spans"]}
    recs = tree["records"]
    check(tree["trace"] == trace, "tracegrep's trace is " + str(tree["trace"]))
    status = {0: "unset", 1: "ok", 2: "error"}
    for s in sent["spans"]:
        t = spans.get(s["span"])
        check(t is not None, "span %s (%s) is not in the tree" % (s["span"], s["name"]))
        check(t["parent"] == (s["parent"] or trace), "span %s: parent %s, sent %s" % (s["name"], t["parent"],
                                                                                     s["parent"]))
        check(t["name"] == s["name"], "span %s: name %s" % (s["name"], t["name"]))
        check(t["service"] == "node-shop", "span %s: service %s" % (s["name"], t["service"]))
        dur = (int(s["end_ns"]) - int(s["start_ns"])) // 1000
        check(t["dur_us"] == dur, "span %s: dur_us %s, sent %s" % (s["name"], t["dur_us"], dur))
        check(t["status"] == status[s["status"]], "span %s: status %s, sent %s" % (s["name"], t["status"],
                                                                                  s["status"]))
        # the span's own record: its attributes as the SDK set them
        rec = [recs[i] for i in t["records"] if recs[i].get("event") == "span"]
        check(len(rec) == 1, "span %s: %d span records" % (s["name"], len(rec)))
        # the current HTTP names become the span's method and path (formats/otlp.md), the rest attributes
        taken = {"http.request.method": "method", "url.path": "path"}
        for k, v in s["attributes"].items():
            got = t.get(taken[k]) if k in taken else rec[0]["attrs"].get(k)
            check(got == v, "span %s: attribute %s = %r, sent %r" % (s["name"], k, got, v))
        for e in s["events"]:
            ev = [recs[i] for i in t["records"] if recs[i].get("message") == e["name"]]
            check(len(ev) == 1, "span %s: event %s not among its records" % (s["name"], e["name"]))
    levels = {5: "DEBUG", 9: "INFO", 13: "WARN"}
    for lg in sent["logs"]:
        r = [x for x in recs if x.get("message") == lg["body"]]
        check(len(r) == 1, "log %r: %d records" % (lg["body"], len(r)))
        r = r[0]
        check(r["span"] == lg["span"] and r["trace"] == lg["trace"], "log %r: span %s" % (lg["body"], r["span"]))
        check(r["level"] == levels[lg["severity"]], "log %r: level %s" % (lg["body"], r["level"]))
        check(r["service"] == "node-shop", "log %r: service %s" % (lg["body"], r["service"]))
        for k, v in lg["attributes"].items():
            check(r["attrs"].get(k) == v, "log %r: attribute %s" % (lg["body"], k))
    # the billing service's records hang below the SDK's client span
    charge = [s for s in sent["spans"] if s["name"] == "POST /charge"][0]
    below = [s for s in tree["spans"] if s["parent"] == charge["span"] and s["service"] == "billing"]
    check(below, "no billing span below the SDK's client span " + charge["span"])
    billing_recs = [x for x in recs if x.get("service") == "billing"]
    check(billing_recs and all(x["parent"] == charge["span"] for x in billing_recs if x.get("parent")),
          "billing's records are not under the client span")


if __name__ == "__main__":
    main()
