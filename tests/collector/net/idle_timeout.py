#!/usr/bin/python3
"""idle_timeout.py - the forward input and syslog over tcp close a silent
connection after idle_timeout, so idle sockets cannot lock real clients out
(issue 11, item 9; tcp and unix inputs: test_in_tcp.c).

clewd listens with max_connections: 1 and idle_timeout: 1s on forward and on
syslog+tcp. A connection that says nothing takes each one's only slot; it is
closed by clewd (the client reads EOF), counted in
clewd_input_connections_idle_closed_total and logged; then a real client
(Debian's python3-fluent-logger; util-linux's logger over TCP) gets in and
its record arrives. A connection waiting for clewd (bytes held back) is not
idle: that rule is in_net.c's, shared with the tcp input and tested there.

Usage: idle_timeout.py CLEWD
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from fluent import sender

CLEWD = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="idletest.")
FAILS = []
BOUND_S = 120


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL: " + what, file=sys.stderr)


def log_lines(path):
    out = []
    with open(path, "rb") as f:
        for raw in f:
            try:
                out.append(json.loads(raw))
            except ValueError:
                pass
    return out


def wait_for(proc, pred, what):
    end = time.monotonic() + BOUND_S
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        if proc.poll() is not None:
            raise SystemExit("clewd exited while waiting for " + what)
        time.sleep(0.05)
    raise SystemExit("timed out waiting for " + what)


def metric(port, family, label):
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port).read().decode()
    for line in text.splitlines():
        if line.startswith(family + "{") and label in line:
            return float(line.rsplit(" ", 1)[1])
    return None


def main():
    conf = os.path.join(TMP, "clewd.yaml")
    out = os.path.join(TMP, "out.json")
    err = os.path.join(TMP, "clewd.err")
    with open(conf, "w") as f:
        f.write("state_dir: %s\nchunk:\n  max_age: 100ms\n"
                "inputs:\n"
                "  - { type: forward, listen: 127.0.0.1:0, max_connections: 1, idle_timeout: 1s }\n"
                "  - { type: syslog, transport: tcp, listen: 127.0.0.1:0, max_connections: 1,"
                " idle_timeout: 1s }\n"
                "outputs:\n  - { type: file, path: %s }\n" % (os.path.join(TMP, "state"), out))
    proc = subprocess.Popen([CLEWD, "-c", conf, "--http", "127.0.0.1:0"], stdout=subprocess.DEVNULL,
                            stderr=open(err, "wb"))
    try:
        def port_of(kind):
            return wait_for(proc, lambda: next((int(r["port"]) for r in log_lines(err)
                                                 if r.get("message") == "listening" and r.get("input") == kind),
                                                None), kind + " listening")
        fwd, sl = port_of("forward"), port_of("syslog+tcp")
        http = wait_for(proc, lambda: next((int(r["message"].rsplit("(port ", 1)[1].rstrip(")"))
                                             for r in log_lines(err)
                                             if str(r.get("message", "")).startswith("serving /health")),
                                            None), "the http endpoint")
        for kind, port, label in (("forward", fwd, 'input="forward#1"'),
                                  ("syslog+tcp", sl, 'input="syslog#2"')):
            idle = socket.create_connection(("127.0.0.1", port))
            idle.settimeout(BOUND_S)
            got = idle.recv(1)  # clewd closes it: EOF
            check(got == b"", "%s: the idle connection was not closed (read %r)" % (kind, got))
            idle.close()
            wait_for(proc, lambda: any(r.get("message") == "idle connections closed (idle_timeout)" and
                                       r.get("input") == kind for r in log_lines(err)), kind + " idle log")
            n = metric(http, "clewd_input_connections_idle_closed_total", label)
            check(n == 1, "%s: clewd_input_connections_idle_closed_total is %r, expected 1" % (kind, n))

        # the slot is free: real clients get in
        s = sender.FluentSender("idle", host="127.0.0.1", port=fwd)
        check(s.emit("test", {"message": "fluent after the idle one"}), "fluent-logger could not send")
        s.close()
        subprocess.run(["logger", "--rfc5424", "--tcp", "-n", "127.0.0.1", "-P", str(sl), "-t", "app",
                        "syslog after the idle one"], check=True, timeout=60)

        def both():
            text = open(out).read() if os.path.exists(out) else ""
            return "fluent after the idle one" in text and "syslog after the idle one" in text
        end = time.monotonic() + BOUND_S
        while time.monotonic() < end and not both():
            time.sleep(0.1)
        check(both(), "a real client's record did not arrive after the idle connection was closed")
        rejected = metric(http, "clewd_input_connections_rejected_total", 'input="forward#1"')
        check(rejected == 0, "forward: %r connections rejected" % rejected)
    finally:
        proc.terminate()
        rc = proc.wait()
    check(rc == 0, "clewd exited %d after SIGTERM (a sanitizer's report is in its log)" % rc)
    if FAILS:
        print("clewd's log: " + err, file=sys.stderr)
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
