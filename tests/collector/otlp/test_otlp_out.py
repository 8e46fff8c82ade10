#!/usr/bin/env python3
"""tests/collector/otlp/test_otlp_out.py - clewd's otlp output against an
independent OTLP/HTTP receiver (otlp_receiver.js: node, protobufjs and
OpenTelemetry's .proto files), on loopback.

Each case writes records into clewd (stdin or tcp), lets the otlp output
send them, and compares what the receiver decoded, field by field, with
what the records say (the expected OTLP form is computed here, in Python,
from the records and the mapping clewd(8) documents):
  protobuf  - every span and log record, IDs, times, severities, bodies and
              typed attributes; a custom header arrives; records grouped by service
  json      - the same records with encoding: json (the receiver checks every
              key against the schema)
  retry     - the receiver answers 503 (Retry-After: 1) then 200: nothing lost
  tls       - otlps:// to an https receiver, its certificate verified with ca_file
  dropped   - the receiver answers 400 to the first request, or a partial
              success rejecting 2 records: they are counted as dropped
              (/metrics), logged, and the rest delivered

Exit 77 (skipped) only when npm cannot install protobufjs and no cache exists.
Environment: CLEWD_BIN, CLEW_SOURCE_ROOT, CLEW_NPM_CACHE (node_modules go
there), CLEW_OTLP_EXTRA_OUTPUTS (more -o specs for the protobuf case, e.g. a
second receiver such as clewd's own otlp input, for a round trip).
"""
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.environ.get("CLEW_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
HERE = os.path.join(ROOT, "tests", "collector", "otlp")
CLEWD = os.environ.get("CLEWD_BIN", "clewd")
CACHE = os.environ.get("CLEW_NPM_CACHE", os.path.join(ROOT, "build", "npm-otlp"))

T0 = 1796518923000000000  # 2026-12-06T01:02:03Z in ns
TRACE = "0af7651916cd43dd8448eb211c80319c"
SPAN = "b7ad6b7169203331"
PARENT = "00f067aa0ba902b7"

# The records sent: (line, what it is). Lines are JSON (and one that parses as nothing).
RECORDS = [
    # a span with OTLP's own IDs and attributes of every type
    {"time": "2026-12-06T01:02:03.000001Z", "level": "info", "service": "orders", "trace": TRACE, "span": SPAN,
     "parent": PARENT, "event": "span", "name": "GET /orders/:id", "dur_us": 1500, "status": "ok",
     "method": "GET", "path": "/orders/42", "user": "alice", "count": 3, "neg": -7, "ratio": 0.25,
     "big": 1e300, "cached": True, "off": False, "nothing": None, "obj": {"a": [1, 2]}},
    # a span whose IDs are not hex (hashed, originals kept), failing
    {"time": "2026-12-06T01:02:04Z", "service": "billing", "trace": "req-42", "span": "s1", "parent": "p0",
     "event": "span", "name": "charge", "dur_us": 20, "status": "error"},
    # a numeric status: >= 500 fails; uppercase hex IDs are still hex
    {"time": "2026-12-06T01:02:05Z", "service": "orders", "trace": TRACE.upper(), "span": "00000000000000aa",
     "event": "span", "name": "db", "dur_us": 0, "status": 503},
    # a span with neither ok nor a failure: no status
    {"time": "2026-12-06T01:02:06Z", "service": "orders", "trace": TRACE, "span": "00000000000000bb",
     "event": "span", "name": "cache", "dur_us": 7, "status": 404},
    # logs
    {"time": "2026-12-06T01:02:03.5Z", "level": "warn", "service": "orders", "trace": TRACE, "span": SPAN,
     "msg": "slow query", "ms": 812, "db": "main"},
    {"time": "2026-12-06T01:02:07Z", "level": "error", "service": "billing", "trace": "req-42",
     "msg": "line \"quoted\"\ttab \u00e9 \u2713 \u0001"},
    {"msg": "no service, no level, no time"},
    {"time": "2026-12-06T01:02:08Z", "level": "debug", "service": "orders", "msg": "trace-less", "k": "v"},
    {"time": "2026-12-06T01:02:09Z", "level": "fatal", "service": "billing", "msg": "down"},
    {"time": "2026-12-06T01:02:09Z", "level": "trace", "service": "billing", "msg": "fine"},
    # a metric record: not sent (counted as skipped)
    {"time": "2026-12-06T01:02:10Z", "event": "metric", "metric": "requests", "type": "counter", "value": 5,
     "service": "orders"},
]
# pipe lines (libclew's format), with the record each stands for
PIPE = [
    ("2026-12-06T01:02:12Z INFO " + TRACE + ":" + SPAN + ":00000000000000cc|orders|GET|/p|event=span|name=piped|"
     "dur_us=42|status=200|n=5|msg=a \\| pipe",
     {"time": "2026-12-06T01:02:12Z", "service": "orders", "trace": TRACE, "span": "00000000000000cc",
      "parent": SPAN, "method": "GET", "path": "/p", "event": "span", "name": "piped", "dur_us": 42,
      "status": 200, "n": 5, "msg": "a | pipe"}),
    ("2026-12-06T01:02:13Z WARN " + TRACE + ":" + SPAN + "|orders|-|-|k=v|ratio=0.5|piped log",
     {"time": "2026-12-06T01:02:13Z", "level": "WARN", "service": "orders", "trace": TRACE, "span": SPAN,
      "k": "v", "ratio": 0.5, "msg": "piped log"}),
]
UNPARSED = "garbage: not a record at all"
CONT = {"time": "2026-12-06T01:02:11Z", "level": "error", "service": "orders", "msg": "boom"}
CONT_LINES = "Traceback (most recent call last):\n  File \"x.py\", line 1"


def input_bytes():
    lines = [UNPARSED] + [json.dumps(r) for r in RECORDS] + [p[0] for p in PIPE] + [json.dumps(CONT), CONT_LINES]
    return ("\n".join(lines) + "\n").encode()


# --- the expected OTLP form, computed from the records -------------------------------

def fnv1a(data, h=14695981039346656037):
    for b in data:
        h ^= b
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def otlp_id(s, n):
    """(hex, hashed): an ID as OTLP bytes in hex, as clewd(8) says."""
    try:
        if len(s) == 2 * n and int(s, 16) != 0:
            return s.lower(), False
    except ValueError:
        pass
    h1 = fnv1a(s.encode())
    h2 = fnv1a(s.encode(), h1)
    b = h1.to_bytes(8, "big") + (h2.to_bytes(8, "big") if n == 16 else b"")
    if not any(b):
        b = b[:-1] + b"\x01"
    return b.hex(), True


def ts_ns(t):
    """RFC 3339 (UTC, Z) -> ns, without float rounding."""
    import calendar
    date, frac = t[:19], t[19:-1]
    secs = calendar.timegm(time.strptime(date, "%Y-%m-%dT%H:%M:%S"))
    frac = frac[1:] if frac.startswith(".") else ""
    return secs * 10**9 + int((frac + "000000000")[:9])


def anyvalue(v):
    if v is None:
        return {}
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, (dict, list)):
        return {"stringValue": json.dumps(v)}  # the JSON text as written in the line
    return {"stringValue": v}


SEVERITY = {"trace": 1, "debug": 5, "info": 9, "warn": 13, "error": 17, "fatal": 21}
FIELDS = {"time", "level", "service", "trace", "span", "parent", "msg", "method", "path"}


def expected_attrs(r, span):
    a = {}
    for k, v in r.items():
        if k in FIELDS or (span and k in ("event", "name", "dur_us", "status")):
            continue
        a[k] = anyvalue(v)
    if "method" in r:
        a["http.request.method"] = {"stringValue": r["method"]}
    if "path" in r:
        a["url.path"] = {"stringValue": r["path"]}
    if span and isinstance(r.get("status"), int):
        a["http.response.status_code"] = {"intValue": str(r["status"])}
    if span and "msg" in r and "name" in r:
        a["message"] = {"stringValue": r["msg"]}
    for key, name, n in (("trace", "clew.trace_id", 16), ("span", "clew.span_id", 8),
                         ("parent", "clew.parent_span_id", 8)):
        if key in r and (span or key != "parent") and otlp_id(r[key], n)[1]:
            a[name] = {"stringValue": r[key]}
    return a


def expected_span(r):
    start = ts_ns(r["time"])
    s = {"traceId": otlp_id(r["trace"], 16)[0], "spanId": otlp_id(r["span"], 8)[0], "name": r["name"],
         "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + r["dur_us"] * 1000),
         "attributes": expected_attrs(r, True)}
    if "parent" in r:
        s["parentSpanId"] = otlp_id(r["parent"], 8)[0]
    st = r.get("status")
    if st == "ok":
        s["status"] = {"code": 1}
    elif st == "error":
        s["status"] = {"code": 2}  # the code says it all: no message repeating it
    elif isinstance(st, int) and st >= 500:
        s["status"] = {"code": 2, "message": str(st)}
    return s


def expected_log(r, body=None):
    e = {"body": {"stringValue": body if body is not None else r["msg"]}, "attributes": expected_attrs(r, False)}
    if "time" in r:
        e["timeUnixNano"] = str(ts_ns(r["time"]))
    if "level" in r:
        e["severityNumber"] = SEVERITY[r["level"].lower()]
        e["severityText"] = r["level"]
    if "trace" in r:
        e["traceId"] = otlp_id(r["trace"], 16)[0]
    if "span" in r:
        e["spanId"] = otlp_id(r["span"], 8)[0]
    return e


def expected():
    """{service: [span...]}, {service: [log...]} in record order."""
    spans, logs = {}, {}
    for r in RECORDS + [p[1] for p in PIPE]:
        svc = r.get("service", "unknown_service")
        if r.get("event") == "span":
            spans.setdefault(svc, []).append(expected_span(r))
        elif r.get("event") != "metric":
            logs.setdefault(svc, []).append(expected_log(r))
    logs.setdefault("orders", []).append(expected_log(CONT, CONT["msg"] + "\n" + CONT_LINES))
    logs.setdefault("unknown_service", []).insert(0, {
        "body": {"stringValue": UNPARSED},
        "attributes": {"clew.unparsed": {"stringValue": "not a record start"},
                       "clew.input": {"stringValue": "stdin"}}})
    return spans, logs


# --- what the receiver got -----------------------------------------------------------

class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def attrs_dict(lst, where):
    d = {}
    for kv in lst or []:
        check(kv["key"] not in d, f"{where}: attribute {kv['key']} twice")
        d[kv["key"]] = kv.get("value", {})
    return d


def received(lines, version):
    """The 2xx requests' records: ({service: [span]}, {service: [log]})."""
    spans, logs = {}, {}
    for ln in lines:
        check("error" not in ln, f"receiver could not decode a request: {ln.get('error')}")
        if ln["status"] != 200:
            continue
        body = ln["body"]
        key, scope_key, items_key, out = (("resourceSpans", "scopeSpans", "spans", spans)
                                          if ln["path"] == "/v1/traces" else
                                          ("resourceLogs", "scopeLogs", "logRecords", logs))
        for rs in body[key]:
            res = attrs_dict(rs["resource"]["attributes"], "resource")
            check(list(res) == ["service.name"], f"resource attributes: {res}")
            svc = res["service.name"]["stringValue"]
            check(len(rs[scope_key]) == 1, "one scope per resource")
            sc = rs[scope_key][0]
            check(sc["scope"] == {"name": "clewd", "version": version}, f"scope: {sc['scope']}")
            for it in sc[items_key]:
                it = dict(it)
                it["attributes"] = attrs_dict(it.get("attributes"), it.get("name", "log"))
                if items_key == "logRecords":
                    obs = it.pop("observedTimeUnixNano", "0")
                    check(obs.isdigit() and int(obs) > T0 - 10**18, f"observedTimeUnixNano {obs}")
                out.setdefault(svc, []).append(it)
    return spans, logs


def compare(got, want, what):
    check(sorted(got) == sorted(want), f"{what}: services {sorted(got)} != {sorted(want)}")
    for svc in want:
        g, w = got[svc], want[svc]
        check(len(g) == len(w), f"{what} of {svc}: {len(g)} records, expected {len(w)}")
        for i, (a, b) in enumerate(zip(g, w)):
            for k in sorted(set(a) | set(b)):
                check(a.get(k) == b.get(k),
                      f"{what} of {svc} #{i} field {k}: got {a.get(k)!r}, expected {b.get(k)!r}")


# --- peers -------------------------------------------------------------------------------

class Receiver:
    n = 0

    def __init__(self, tmp, statuses="200", tls=None):
        Receiver.n += 1
        self.out = os.path.join(tmp, f"recv-{Receiver.n}.jsonl")
        portfile = os.path.join(tmp, f"port-{Receiver.n}")
        env = dict(os.environ, NODE_PATH=os.path.join(CACHE, "node_modules"))
        if tls:
            env.update(OTLP_TLS_CERT=tls[0], OTLP_TLS_KEY=tls[1])
        self.proc = subprocess.Popen(["node", os.path.join(HERE, "otlp_receiver.js"), os.path.join(HERE, "proto"),
                                      self.out, portfile, statuses], env=env)
        while not os.path.exists(portfile):
            check(self.proc.poll() is None, "the receiver did not start")
            time.sleep(0.05)
        with open(portfile) as f:
            self.port = int(f.read())

    def lines(self):
        if not os.path.exists(self.out):
            return []
        with open(self.out) as f:
            return [json.loads(x) for x in f if x.strip()]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)


def clewd_version():
    out = subprocess.run([CLEWD, "--version"], capture_output=True, text=True).stdout
    return out.split()[-1] if out.split() else ""


def run_stdin(tmp, outputs, name):
    state = os.path.join(tmp, "state-" + name)
    cmd = [CLEWD, "-i", "stdin", "-s", state]
    for o in outputs:
        cmd += ["-o", o]
    p = subprocess.run(cmd, input=input_bytes(), capture_output=True, timeout=600)
    check(p.returncode == 0, f"clewd exited {p.returncode}: {p.stderr.decode()[-2000:]}")
    return p.stderr.decode()


def case_encoding(tmp, encoding):
    rcv = Receiver(tmp)
    try:
        # json: under a path prefix, as some vendors' endpoints are
        prefix = "/otlp/" if encoding == "json" else ""
        url = f"otlp://127.0.0.1:{rcv.port}{prefix}?encoding={encoding}&headers.authorization=Bearer%20s3cret"
        outputs = [url]
        if encoding == "protobuf":
            outputs += shlex.split(os.environ.get("CLEW_OTLP_EXTRA_OUTPUTS", ""))
        log = run_stdin(tmp, outputs, encoding)
        check("s3cret" not in log, "the authorization header's value was logged")
        lines = rcv.lines()
        check(lines, "no request arrived")
        ctype = "application/x-protobuf" if encoding == "protobuf" else "application/json"
        for ln in lines:
            check(ln["contentType"] == ctype, f"content type {ln['contentType']}")
            check(ln["gzip"], "body not gzip'ed (gzip is on by default)")
            check(ln["headers"].get("authorization") == "Bearer s3cret", "the authorization header")
            check(ln["url"] == prefix.rstrip("/") + ln["path"], f"URL path {ln['url']}")
        got_s, got_l = received(lines, clewd_version())
        want_s, want_l = expected()
        compare(got_s, want_s, "spans")
        compare(got_l, want_l, "logs")
    finally:
        rcv.stop()


def case_retry(tmp):
    rcv = Receiver(tmp, "503+1,200")
    try:
        run_stdin(tmp, [f"otlp://127.0.0.1:{rcv.port}?gzip=false"], "retry")
        lines = rcv.lines()
        check(lines[0]["status"] == 503, "the first answer was not the 503")
        check(not lines[0]["gzip"], "gzip=false still gzip'ed")
        got_s, got_l = received(lines, clewd_version())
        want_s, want_l = expected()
        compare(got_s, want_s, "spans after a 503")
        compare(got_l, want_l, "logs after a 503")
        check(len([x for x in lines if x["status"] == 200]) == 2, "each signal delivered once")
    finally:
        rcv.stop()


def case_tls(tmp):
    """otlps:// with ca_file: the receiver's certificate (made here by openssl) is verified."""
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    rcv = Receiver(tmp, tls=(cert, key))
    try:
        run_stdin(tmp, [f"otlps://127.0.0.1:{rcv.port}?ca_file={cert}&encoding=json"], "tls")
        got_s, got_l = received(rcv.lines(), clewd_version())
        want_s, want_l = expected()
        compare(got_s, want_s, "spans over TLS")
        compare(got_l, want_l, "logs over TLS")
    finally:
        rcv.stop()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metric(port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + "{") or line.startswith(name + " "):
                return float(line.split()[-1])
    return None


def metric_sum(port, family):
    """The sum of every series of @family."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        return sum(float(line.split()[-1]) for line in r.read().decode().splitlines()
                   if line.startswith(family + "{"))


def case_dropped(tmp, statuses, encoding):
    """Records the receiver refuses for good: a 400's go to the dead-letter files (kept, counted);
    those a 200's partial success rejects (2, not named) are dropped and counted."""
    rcv = Receiver(tmp, statuses)
    tcp, http = free_port(), free_port()
    state = os.path.join(tmp, f"state-dropped-{Receiver.n}")
    d = subprocess.Popen([CLEWD, "-i", f"tcp://127.0.0.1:{tcp}", "-o",
                          f"otlp://127.0.0.1:{rcv.port}?encoding={encoding}",
                          "--http", f"127.0.0.1:{http}", "-s", state],
                         stderr=subprocess.PIPE)
    want_s, want_l = expected()
    total = {"spans": sum(len(v) for v in want_s.values()),
             "log_records": sum(len(v) for v in want_l.values())}
    try:
        for _ in range(600):
            try:
                s = socket.create_connection(("127.0.0.1", tcp), timeout=5)
                break
            except OSError:
                check(d.poll() is None, "clewd exited")
                time.sleep(0.05)
        s.sendall(input_bytes())
        s.close()
        while len(rcv.lines()) < 2:
            check(d.poll() is None, "clewd exited")
            time.sleep(0.05)
        lines = rcv.lines()
        dropped = {"spans": 0, "log_records": 0}
        kept = 0
        for ln in lines:
            sig = "spans" if ln["path"] == "/v1/traces" else "log_records"
            if ln["status"] == 400:
                dropped[sig] = total[sig]
                kept += total[sig]
            elif ln.get("partial"):
                dropped[sig] = ln["partial"]
        check(any(dropped.values()), f"nothing refused by a receiver answering {statuses}")
        for sig in ("spans", "log_records"):
            while (metric(http, f"clewd_output_otlp_rejected_{sig}_total") != dropped[sig] or
                   metric(http, f"clewd_output_otlp_{sig}_total") != total[sig] - dropped[sig]):
                check(d.poll() is None, "clewd exited")
                time.sleep(0.05)
        check(metric(http, "clewd_output_otlp_skipped_records_total") == 1, "the metric record skipped")
        deadletter = metric_sum(http, "clewd_output_deadletter_records_total")
        lost = metric_sum(http, "clewd_dropped_total")
        check(deadletter == kept and lost == sum(dropped.values()) - kept,
              f"dead-letter {deadletter}, dropped {lost}; refused {dropped}, of which kept {kept}")
        if kept:
            files = [f for _, _, fs in os.walk(os.path.join(state, "deadletter")) for f in fs]
            check(files, "no dead-letter file for the refused records")
    finally:
        d.send_signal(signal.SIGTERM)
        _, err = d.communicate(timeout=60)
        rcv.stop()
    err = err.decode()
    check("kept in its dead-letter files" in err if "400" in statuses
          else "records dropped" in err and "partial_success" in err,
          f"the refusal was not logged: {err[-1500:]}")
    check(d.returncode == 0, f"clewd exited {d.returncode}")


def main():
    rc = subprocess.run([os.path.join(HERE, "npm_deps.sh"), CACHE]).returncode
    if rc == 77:
        print("SKIP: npm cannot install protobufjs (no registry) and no cache exists", file=sys.stderr)
        return 77
    if rc != 0:
        return 1
    failed = 0
    with tempfile.TemporaryDirectory(prefix="otlp-out-") as tmp:
        for name, fn in (("protobuf", lambda: case_encoding(tmp, "protobuf")),
                         ("json", lambda: case_encoding(tmp, "json")),
                         ("retry after 503", lambda: case_retry(tmp)),
                         ("otlps with ca_file", lambda: case_tls(tmp)),
                         ("a 400's records go to the dead-letter files", lambda: case_dropped(tmp, "400,200", "protobuf")),
                         ("a partial success counts (protobuf)", lambda: case_dropped(tmp, "200p", "protobuf")),
                         ("a partial success counts (json)", lambda: case_dropped(tmp, "200p", "json"))):
            try:
                fn()
                print(f"ok: {name}")
            except (Fail, subprocess.TimeoutExpired, subprocess.CalledProcessError, KeyError, OSError) as e:
                print(f"FAIL: {name}: {type(e).__name__}: {e}")
                failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
