#!/usr/bin/env python3
"""test_tracegrep_otlp.py - tracegrep reads OTLP/JSON files (the OTel Collector's file exporter).

Files written here: otel-traces.json and otel-logs.json, one export request per line
(the first line of each is another transaction), and app.log, clew JSON lines of a
service called by the OTLP one. `tracegrep --json TRACE` over the three must give one
tree: the OTLP spans with their parents and durations, the span event, the OTLP log
record and the app's records below the OTLP client span; nothing of the other
transaction. `tracegrep --find --service` must list the transaction from the OTLP file.

Usage: test_tracegrep_otlp.py TRACEGREP
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

TG = sys.argv[1]
T1 = "0af7651916cd43dd8448eb211c80319c"
T2 = "11111111111111111111111111111111"


def check(cond, msg):
    if not cond:
        print("FAIL:", msg)
        sys.exit(1)


def res(svc):
    return {"attributes": [{"key": "service.name", "value": {"stringValue": svc}}]}


def span(trace, sid, parent, name, start, end, **kw):
    s = {"traceId": trace, "spanId": sid, "parentSpanId": parent, "name": name,
         "startTimeUnixNano": str(start), "endTimeUnixNano": str(end), "kind": 2, "status": {}}
    s.update(kw)
    return s


def main():
    d = tempfile.mkdtemp(prefix="clew-tg-otlp-")
    try:
        base = 1700000000000000000
        other = {"resourceSpans": [{"resource": res("web"), "scopeSpans": [{"spans": [
            span(T2, "2222222222222222", "", "other", base, base + 5000)]}]}]}
        mine = {"resourceSpans": [{"resource": res("web"), "scopeSpans": [{"scope": {"name": "x"}, "spans": [
            span(T1, "b7ad6b7169203331", "", "GET /cart", base, base + 30_000_000,
                 attributes=[{"key": "http.request.method", "value": {"stringValue": "GET"}}]),
            span(T1, "00f067aa0ba902b7", "b7ad6b7169203331", "call orders", base + 1_000_000, base + 21_000_000,
                 kind=3, status={"code": 2, "message": "orders failed"},
                 events=[{"name": "retry", "timeUnixNano": str(base + 2_000_000)}])]}]}]}
        logs = {"resourceLogs": [{"resource": res("web"), "scopeLogs": [{"logRecords": [
            {"timeUnixNano": str(base + 500_000), "severityNumber": 17, "severityText": "ERROR",
             "traceId": T1, "spanId": "b7ad6b7169203331", "body": {"stringValue": "cart is slow"}}]}]}]}
        with open(os.path.join(d, "otel-traces.json"), "w") as f:
            f.write(json.dumps(other) + "\n" + json.dumps(mine) + "\n")
        with open(os.path.join(d, "otel-logs.json"), "w") as f:
            f.write(json.dumps(logs) + "\n")
        with open(os.path.join(d, "app.log"), "w") as f:
            f.write(json.dumps({"timestamp": "2023-11-14T22:13:20.005Z", "level": "INFO", "service": "orders",
                                "trace": T1, "span": "c0ffee0000000001", "parent": "00f067aa0ba902b7",
                                "message": "order loaded"}) + "\n")
        files = [os.path.join(d, n) for n in ("otel-traces.json", "otel-logs.json", "app.log")]
        r = subprocess.run([TG, "--json", T1] + files, capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "tracegrep: " + r.stderr)
        tree = json.loads(r.stdout)
        spans = {s["id"]: s for s in tree["spans"]}
        check(spans["b7ad6b7169203331"]["parent"] == T1 and spans["b7ad6b7169203331"]["dur_us"] == 30000,
              "root span: %r" % spans.get("b7ad6b7169203331"))
        c = spans["00f067aa0ba902b7"]
        check(c["parent"] == "b7ad6b7169203331" and c["dur_us"] == 20000 and c["status"] == "error"
              and c["service"] == "web" and c["name"] == "call orders", "client span: %r" % c)
        check(spans["c0ffee0000000001"]["parent"] == "00f067aa0ba902b7" and
              spans["c0ffee0000000001"]["service"] == "orders", "the app's span: %r" % spans.get("c0ffee0000000001"))
        msgs = sorted(x.get("message") or "" for x in tree["records"] if x.get("event") != "span")
        check(msgs == ["cart is slow", "order loaded", "retry"], "records: %r" % msgs)
        check(all(x["trace"] == T1 for x in tree["records"]), "a record of another transaction")
        r = subprocess.run([TG, "--find", "--service", "web", "--json", d], capture_output=True, text=True,
                           timeout=60)
        check(r.returncode == 0 and T1 in r.stdout and T2 in r.stdout, "--find: %s %s" % (r.stdout, r.stderr))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
