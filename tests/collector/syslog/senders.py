#!/usr/bin/env python3
"""senders.py - clewd's syslog input receiving from real senders started here.

util-linux's logger (RFC 5424 and RFC 3164, UDP, TCP with newline framing
and with RFC 6587 octet counting, the unix datagram socket, structured
data) and Debian's rsyslogd (its own process and config: imudp fed by
logger, forwarded by omfwd over octet-counted TCP, once as RFC 5424 and
once in the traditional format) send to one clewd on loopback; clewd's
stdout (JSON lines) is parsed with Python's json module and every message
must be there once, with its fields. Then what is not syslog: a bad PRI,
a broken octet count and a frame longer than max_frame over TCP: kept as
raw records or pieces, counted in /metrics, logged with the peer, and the
connection still delivers what follows.

Usage: senders.py CLEWD_BIN. Waits poll with a bound against hangs; nothing
asserts on time.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

CLEWD = sys.argv[1]
BOUND_S = 120
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


def wait_for(pred, what):
    end = time.monotonic() + BOUND_S
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise SystemExit("timed out waiting for " + what)


def log_lines(path):
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def records(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)  # every line clewd writes must be JSON
                if r.get("service") != "rsyslog-probe":
                    out.append(r)
    return out


def free_port(kind):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def logger(*args):
    subprocess.run(["logger", *args], check=True, timeout=60)


def yaml_config(tmp):
    """type: syslog in a file: the transport chosen by its key, checked like -i specs."""
    cfg = os.path.join(tmp, "clewd.yaml")
    for body, ok, says in [
            ("{ type: syslog, transport: tcp, listen: 127.0.0.1:6514, max_frame: 8k }", True, "transport tcp"),
            ("{ type: syslog, transport: unix, path: %s/y.sock }" % tmp, True, "transport unix"),
            ("{ type: syslog, listen: 5514 }", True, "transport udp"),
            ("{ type: syslog, transport: sctp, listen: 5514 }", False, "expected udp, tcp or unix"),
            ("{ type: syslog, transport: udp, listen: 5514, max_connections: 4 }", False, "a datagram socket"),
            ("{ type: syslog, transport: tcp, listen: 5514, max_frame: 2M }", False, "max_frame"),
            # udp and tcp on one port, as syslog's 514 usually is; two datagram inputs on one port are not
            ("{ type: syslog, listen: 5514 }\n  - { type: syslog, transport: tcp, listen: 5514 }", True,
             "transport tcp"),
            ("{ type: syslog, listen: 5514 }\n  - { type: udp, listen: 5514 }", False, "two inputs listen"),
    ]:
        with open(cfg, "w") as f:
            f.write("inputs:\n  - %s\noutputs:\n  - { type: null }\n" % body)
        r = subprocess.run([CLEWD, "-s", os.path.join(tmp, "cstate"), "-c", cfg, "--check-config"],
                           capture_output=True, text=True, timeout=60)
        check((r.returncode == 0) == ok and says in r.stdout + r.stderr,
              "%s: exit %d, %r" % (body, r.returncode, r.stdout + r.stderr))


def backpressure(tmp):
    """While the output is stuck, syslog+tcp stops reading: the sender blocks; then nothing is lost."""
    import fcntl
    import select
    import threading
    r, w = os.pipe()
    fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)  # shared with clewd's stdout
    err = os.path.join(tmp, "bp.log")
    out = os.path.join(tmp, "bp.json")
    with open(err, "w") as fe:
        # no spool: the outputs behind hold the inputs back as soon as memory is full
        d = subprocess.Popen([CLEWD, "-s", os.path.join(tmp, "bpstate"), "-i", "syslog+tcp://127.0.0.1:0",
                              "-o", "stdout:json"], stdout=w, stderr=fe, stdin=subprocess.DEVNULL,
                             env=dict(os.environ, CLEWD_SPOOL_MAX_BYTES="0", CLEWD_CHUNK_AGE="100ms"))
    port = wait_for(lambda: next((int(l["port"]) for l in log_lines(err)
                                  if l.get("message") == "listening" and l.get("input") == "syslog+tcp"), None),
                    "the backpressure input")
    c = socket.create_connection(("127.0.0.1", port))
    c.setblocking(False)
    bound = 256 * 1024 * 1024  # far past the queue and the socket buffers
    total = n = 0
    pending = b""
    stalled = False
    while total < bound:
        if not pending:
            frames = []
            for _ in range(500):
                m = "<14>1 - h bp - - - bp n%08d padding the message to a hundred bytes or so" % n
                frames.append("%d %s" % (len(m), m))
                n += 1
            pending = "".join(frames).encode()
        try:
            k = c.send(pending)
            total += k
            pending = pending[k:]
        except BlockingIOError:
            # clewd stopped reading: the kernel pushes back on us
            if not select.select([], [c], [], 3)[1]:
                stalled = True
                break
    check(stalled, "syslog+tcp read %d bytes without pushing back" % total)
    check(d.poll() is None, "clewd still runs while held back")
    fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    os.close(w)
    got = open(out, "wb", buffering=0)  # unbuffered: the wait below reads the file as it grows

    def drain():
        while True:
            b = os.read(r, 1 << 20)
            if not b:
                break
            got.write(b)
    t = threading.Thread(target=drain)
    t.start()
    c.setblocking(True)
    c.sendall(pending)
    c.close()
    last = "bp n%08d" % (n - 1)
    wait_for(lambda: last.encode() in open(out, "rb").read()[-1000000:], last)
    d.send_signal(signal.SIGTERM)
    check(d.wait(timeout=120) == 0, "clewd exit status after backpressure")
    t.join()
    got.close()
    os.close(r)
    seen = [0] * n
    for line in open(out, encoding="utf-8"):
        try:
            r = json.loads(line)
        except ValueError:
            # the stuck pipe took part of a chunk's write (the chunk is written again whole): the
            # torn line holds the start of one record then a whole one
            r = json.loads(line[line.rfind('{"timestamp"'):])
        m = r.get("message", "")
        check(m.startswith("bp n"), "stray record %r" % m[:80])
        seen[int(m[4:12])] += 1
    lost = [i for i in range(n) if not seen[i]]
    check(not lost, "%d of %d messages lost under backpressure (first %r)" % (len(lost), n, lost[:5]))
    print("backpressure: %d messages, %d delivered twice" % (n, sum(1 for x in seen if x > 1)), flush=True)


def main():
    tmp = tempfile.mkdtemp(prefix="clewd-syslog-")
    yaml_config(tmp)
    backpressure(tmp)
    sock = os.path.join(tmp, "log.sock")
    out = os.path.join(tmp, "out.json")
    err = os.path.join(tmp, "clewd.log")
    rs = None
    with open(out, "w") as fo, open(err, "w") as fe:
        clewd = subprocess.Popen(
            [CLEWD, "-s", os.path.join(tmp, "state"), "--http", "127.0.0.1:0",
             "-i", "syslog+udp://127.0.0.1:0?max_frame=1k", "-i", "syslog+tcp://127.0.0.1:0?max_frame=1k",
             "-i", "syslog+unix://" + sock, "-o", "stdout:json"],
            stdout=fo, stderr=fe, stdin=subprocess.DEVNULL)
    try:
        def port_of(kind):
            for l in log_lines(err):
                if l.get("message") == "listening" and l.get("input") == kind:
                    return int(l["port"])
            return None
        udp = wait_for(lambda: port_of("syslog+udp"), "the udp input")
        tcp = wait_for(lambda: port_of("syslog+tcp"), "the tcp input")
        wait_for(lambda: port_of("syslog+unix") is not None, "the unix input")
        http = wait_for(lambda: next((int(re.search(r"\(port (\d+)\)", l["message"]).group(1))
                                      for l in log_lines(err)
                                      if re.search(r"^serving .*\(port \d+\)", l.get("message", ""))), None),
                        "the http endpoint")

        # --- logger, every transport and format -------------------------------------
        n = 20
        for i in range(n):
            logger("--rfc5424", "--udp", "-n", "127.0.0.1", "-P", str(udp), "-t", "app-u5", "-p", "local3.err",
                   "--msgid", "M%d" % i, "--sd-id", "ex@32473", "--sd-param", 'seq="%d"' % i,
                   "--sd-param", 'trace_id="tu5-%d"' % i, "udp5424 #%d" % i)
            logger("--rfc3164", "--udp", "-n", "127.0.0.1", "-P", str(udp), "-t", "app-u3", "-p", "user.warning",
                   "udp3164 #%d" % i)
            logger("--rfc5424", "--tcp", "--octet-count", "-n", "127.0.0.1", "-P", str(tcp), "-t", "app-t5o",
                   "-i", "--sd-id", "req@1", "--sd-param", 'x-request-id="rq-%d"' % i, "tcp5424oc #%d" % i)
            logger("--rfc3164", "--tcp", "-n", "127.0.0.1", "-P", str(tcp), "-t", "app-t3", "-p", "daemon.debug",
                   '{"message":"tcp3164json #%d","trace_id":"tj-%d","span_id":"sj","service":"svc-json",'
                   '"level":"error","host":"from-body"}' % (i, i))
            logger("--socket", sock, "-t", "app-x", "-i", "-p", "auth.crit", "unix local #%d" % i)
            logger("--rfc5424", "--socket", sock, "-t", "app-x5", "unix5424 #%d" % i)
        # a burst over one octet-counted connection (logger -f: one connection, many frames)
        burst = os.path.join(tmp, "burst.txt")
        with open(burst, "w") as f:
            for i in range(500):
                f.write("burst line %d\n" % i)
        logger("--rfc5424", "--tcp", "--octet-count", "-n", "127.0.0.1", "-P", str(tcp), "-t", "burst", "-f", burst)

        # --- rsyslogd: imudp -> omfwd, octet-counted TCP, RFC 5424 and traditional -----
        rsdir = os.path.join(tmp, "rsyslog")
        os.mkdir(rsdir)
        rsport = free_port(socket.SOCK_DGRAM)
        conf = os.path.join(rsdir, "rsyslog.conf")
        with open(conf, "w") as f:
            f.write('global(workDirectory="%s")\n' % rsdir)
            f.write('module(load="imudp")\n')
            f.write('input(type="imudp" address="127.0.0.1" port="%d" ruleset="fwd")\n' % rsport)
            f.write('ruleset(name="fwd") {\n')
            f.write('  action(type="omfwd" target="127.0.0.1" port="%d" protocol="tcp" '
                    'TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")\n' % tcp)
            f.write('  action(type="omfwd" target="127.0.0.1" port="%d" protocol="tcp" '
                    'TCP_Framing="octet-counted" template="RSYSLOG_TraditionalForwardFormat")\n' % tcp)
            f.write('}\n')
        rslog = open(os.path.join(rsdir, "rsyslogd.out"), "w")
        rs = subprocess.Popen(["rsyslogd", "-n", "-f", conf, "-i", os.path.join(rsdir, "rsyslogd.pid")],
                              stdout=rslog, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

        def rs_ready():
            # a probe through rsyslogd (UDP: one sent before it listens is gone): ready once one arrives
            logger("--rfc5424", "--udp", "-n", "127.0.0.1", "-P", str(rsport), "-t", "rsyslog-probe", "probe")
            end = time.monotonic() + 1
            while time.monotonic() < end:
                if '"service":"rsyslog-probe"' in open(out, encoding="utf-8").read():
                    return True
                time.sleep(0.05)
            return False
        wait_for(rs_ready, "rsyslogd forwarding")
        for i in range(n):
            logger("--rfc5424", "--udp", "-n", "127.0.0.1", "-P", str(rsport), "-t", "via-rsyslog",
                   "--msgid", "RS", "--sd-id", "rs@1", "--sd-param", 'k="v%d"' % i, "relayed #%d" % i)

        # --- what is not syslog, over one TCP connection ------------------------------
        big = "<14>1 - h big - - - " + "x" * 2500
        c = socket.create_connection(("127.0.0.1", tcp))
        c.sendall(b"12 <999>bad pri")
        c.sendall(("%d %s" % (len(big), big)).encode())
        c.sendall(b"12x garbage line\n<13>Oct 11 22:14:15 after: still read\n")
        c.close()

        # a datagram longer than max_frame keeps its first 1k, flagged; an empty one is counted only
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.sendto(("<14>1 - h longudp - - - " + "y" * 3000).encode(), ("127.0.0.1", udp))
        u.sendto(b"", ("127.0.0.1", udp))
        u.close()
        x = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        x.sendto(b"not syslog from a local process", sock)
        x.close()

        # --- wait for everything ------------------------------------------------------
        want = 6 * n + 500 + 2 * n + 1 + 1 + 3 + 1 + 1 + 1  # big: 3 pieces of 1k
        wait_for(lambda: len(records(out)) >= want, "%d records" % want)
        metrics = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % http, timeout=30).read().decode()
    finally:
        if rs:
            rs.terminate()
            rs.wait(timeout=60)
        clewd.send_signal(signal.SIGTERM)
        rc = clewd.wait(timeout=120)
    check(rc == 0, "clewd exit status %d" % rc)
    recs = records(out)
    by_msg = {}
    for r in recs:
        by_msg.setdefault(r.get("message"), []).append(r)

    def one(msg):
        got = by_msg.get(msg, [])
        check(len(got) == 1, "%r arrived %d times" % (msg, len(got)))
        return got[0] if got else {}

    host = socket.gethostname()
    for i in range(n):
        r = one("udp5424 #%d" % i)
        check(r.get("service") == "app-u5" and r.get("app") == "app-u5", "udp5424 app: %r" % r)
        check(r.get("level") == "ERROR" and r.get("facility") == "local3", "udp5424 level: %r" % r)
        check(r.get("msgid") == "M%d" % i and r.get("ex@32473.seq") == str(i), "udp5424 msgid/sd: %r" % r)
        check(r.get("trace") == "tu5-%d" % i, "udp5424 trace from SD: %r" % r)
        check(r.get("host") == host and "timestamp" in r, "udp5424 host/time: %r" % r)
        r = one("udp3164 #%d" % i)
        check(r.get("service") == "app-u3" and r.get("level") == "WARN" and r.get("host") == host,
              "udp3164: %r" % r)
        r = one("tcp5424oc #%d" % i)
        check(r.get("service") == "app-t5o" and r.get("procid", "").isdigit(), "tcp5424oc procid: %r" % r)
        check(r.get("trace") == "rq-%d" % i and r.get("req@1.x-request-id") == "rq-%d" % i,
              "tcp5424oc request id: %r" % r)
        r = one("tcp3164json #%d" % i)
        check(r.get("service") == "svc-json" and r.get("level") == "ERROR", "json body fields win: %r" % r)
        check(r.get("trace") == "tj-%d" % i and r.get("span") == "sj", "json body trace: %r" % r)
        check(r.get("host") == "from-body" and r.get("app") == "app-t3", "json body host wins: %r" % r)
        r = one("unix local #%d" % i)
        check(r.get("service") == "app-x" and r.get("level") == "FATAL" and r.get("procid", "").isdigit()
              and r.get("facility") == "auth", "unix local: %r" % r)
        r = one("unix5424 #%d" % i)
        check(r.get("service") == "app-x5", "unix5424: %r" % r)
        rel = by_msg.get("relayed #%d" % i, [])
        check(len(rel) == 2, "relayed #%d arrived %d times (want 2: 5424 and traditional)" % (i, len(rel)))
        check(all(x.get("service") == "via-rsyslog" for x in rel), "relayed service: %r" % rel)
        check(sum(1 for x in rel if x.get("msgid") == "RS" and x.get("rs@1.k") == "v%d" % i) == 1,
              "relayed RFC 5424 keeps msgid and SD: %r" % rel)
    for i in range(500):
        r = one("burst line %d" % i)
        check(r.get("service") == "burst", "burst: %r" % r)
    raw = one("<999>bad pri")
    check(raw.get("_unparsed") == "bad_pri", "bad PRI kept raw: %r" % raw)
    raw = one("12x garbage line")
    check(raw.get("_unparsed") == "bad_octet_count", "broken count kept raw: %r" % raw)
    one("still read")
    pieces = [r for r in recs if r.get("_split")]
    check(sorted(int(r["_split"]) for r in pieces) == [1, 2, 3], "overlong frame in 3 pieces: %r" % pieces)
    check("".join(r["message"] for r in sorted(pieces, key=lambda r: int(r["_split"]))) == "x" * 2500,
          "the pieces hold the whole message")
    cut = [r for r in recs if r.get("service") == "longudp"]
    check(all("timestamp" in r for r in recs if r.get("service") in ("longudp", "bp", "big")),
          "a message without a time gets the time it was received")
    check(len(cut) == 1 and cut[0].get("_truncated") is True and cut[0].get("message") == "y" * (1024 - 24),
          "a long datagram is cut at max_frame and flagged: %r" % [(r.get("_truncated"), len(r.get("message", "")))
                                                                   for r in cut])
    check(re.search(r'^clewd_syslog_invalid_total\{[^}]*"syslog#1"[^}]*reason="empty"\} 1$', metrics, re.M),
          "an empty datagram is counted: %s" % [l for l in metrics.splitlines() if "empty" in l])
    check(any(l.get("input") == "syslog+udp" and l.get("reason") == "empty" and
              l.get("peer", "").startswith("127.0.0.1:") for l in log_lines(err)),
          "an invalid datagram is logged with its sender")
    raw = one("not syslog from a local process")
    check(raw.get("_unparsed") == "bad_pri", "a local invalid frame kept raw: %r" % raw)
    check(any(l.get("input") == "syslog+unix" and l.get("peer") == "unix:%s pid=%d" % (sock, os.getpid())
              for l in log_lines(err)), "an invalid local datagram is logged with the sender's pid")
    check(any(l.get("message", "").startswith("datagram longer than max_frame") and
              l.get("peer", "").startswith("127.0.0.1:") for l in log_lines(err)),
          "a cut datagram is logged with its sender")
    check(any(l.get("message", "").startswith("invalid syslog frame") and l.get("peer", "").startswith("127.0.0.1:")
              for l in log_lines(err)), "invalid frames logged with their peer")
    check('reason="bad_pri"} 1' in metrics and 'reason="bad_octet_count"} 1' in metrics,
          "invalid frames counted by reason")
    check(len(recs) == want, "%d records, want %d" % (len(recs), want))
    lint = subprocess.run(["promtool", "check", "metrics"], input=metrics, capture_output=True, text=True)
    check(lint.returncode == 0, "promtool check metrics: %s%s" % (lint.stdout, lint.stderr))
    if failures:
        print("%d failures; kept %s" % (len(failures), tmp))
        return 1
    shutil.rmtree(tmp)
    print("ok: %d records from logger and rsyslogd" % len(recs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
