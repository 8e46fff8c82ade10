#!/usr/bin/python3
"""reload.py - SIGHUP keeps every unchanged input's sockets: nothing a client
writes across a reload is lost (issue 11, item 10).

clewd listens on tcp, unix, udp, forward (durable acks, its write-ahead log), syslog
over tcp (octet counting, frames cut across writes) and a
http input (POSTs on new connections: the listener is kept; a request answered
503 while the old pipeline stops, or accepted by the old server and closed
unread, was not acknowledged and is sent again), and a
second tcp input; real clients (Python sockets, urllib, python3-msgpack for the
forward protocol) stay connected and write before, during and after a SIGHUP
whose new configuration adds an output and changes the second tcp input
(max_connections). Checked: every line and event arrives exactly once in the
first output, every forward chunk is acked on the same connection, a probe
that connects to the tcp port over and over never sees a refusal, the
unchanged inputs say "listening (kept across the reload)", the changed one
listens again (a new connection to it is read), and the added output gets
what comes after the reload.

Usage: reload.py CLEWD
"""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import msgpack

CLEWD = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="reloadtest.")
FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL: " + what, file=sys.stderr)


def free_port():
    """A port free for TCP and UDP (the forward input's heartbeat shares its port)."""
    while True:
        t = socket.socket()
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            pass
        finally:
            t.close()
            u.close()


def log_lines(path):
    out = []
    with open(path, "rb") as f:
        for raw in f:
            try:
                out.append(json.loads(raw))
            except ValueError:
                pass
    return out


def wait_log(proc, path, pred, what):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(pred(r) for r in log_lines(path)):
            return
        if proc.poll() is not None:
            raise RuntimeError("clewd exited: " + open(path).read()[-3000:])
        time.sleep(0.05)
    raise RuntimeError("not in clewd's log: " + what)


PORTS = {k: free_port() for k in ("tcp", "udp", "fwd", "syslog", "http", "changed")}
OUT1 = os.path.join(TMP, "out1.json")
OUT2 = os.path.join(TMP, "out2.json")
CONF = os.path.join(TMP, "clewd.yaml")
ERR = os.path.join(TMP, "clewd.err")
SOCK = os.path.join(TMP, "in.sock")


def write_config(reloaded):
    outputs = "  - type: file\n    path: %s\n" % OUT1
    if reloaded:
        outputs += "  - type: file\n    path: %s\n" % OUT2
    text = (
        "state_dir: %s\n"
        "chunk:\n  max_age: 100ms\n"
        "inputs:\n"
        "  - type: tcp\n    listen: 127.0.0.1:%d\n"
        "  - type: udp\n    listen: 127.0.0.1:%d\n"
        "  - type: forward\n    listen: 127.0.0.1:%d\n"
        "  - type: syslog\n    transport: tcp\n    listen: 127.0.0.1:%d\n"
        "  - type: http\n    listen: 127.0.0.1:%d\n"
        "  - type: unix\n    path: %s\n"
        "  - type: tcp\n    listen: 127.0.0.1:%d\n    max_connections: %d\n"
        "outputs:\n%s"
    ) % (os.path.join(TMP, "state"), PORTS["tcp"], PORTS["udp"], PORTS["fwd"], PORTS["syslog"], PORTS["http"], SOCK,
         PORTS["changed"],
         11 if reloaded else 10, outputs)
    with open(CONF + ".new", "w") as f:
        f.write(text)
    os.rename(CONF + ".new", CONF)


class Writers:
    """The clients: one tcp connection, a udp socket, one forward connection, and a probe."""

    def __init__(self):
        self.stop = threading.Event()
        self.sent = {"tcp": [], "udp": [], "fwd": [], "syslog": [], "http": [], "unix": []}
        self.acks_missing = []
        self.refused = 0
        self.http_503 = 0
        self.http_unanswered = 0
        self.probes = 0
        self.errors = []
        self.tcp = socket.create_connection(("127.0.0.1", PORTS["tcp"]))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.fwd = socket.create_connection(("127.0.0.1", PORTS["fwd"]))
        self.fwd.settimeout(60)
        self.syslog = socket.create_connection(("127.0.0.1", PORTS["syslog"]))
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix.connect(SOCK)
        self.unpacker = msgpack.Unpacker(raw=False)
        self.threads = [threading.Thread(target=f) for f in (self.run_tcp, self.run_udp, self.run_fwd,
                                                             self.run_syslog, self.run_http, self.run_unix,
                                                             self.run_probe)]

    def start(self):
        for t in self.threads:
            t.start()

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join()

    def run_tcp(self):
        self.lines(self.tcp, "tcp")

    def run_unix(self):
        self.lines(self.unix, "unix")

    def lines(self, sock, kind):
        i = 0
        try:
            while not self.stop.is_set():
                tok = "%s-%06d" % (PREFIX[kind], i)
                # a line in two writes: a reload between them must not cut it in two records
                sock.sendall(('{"message":"%s' % tok).encode())
                time.sleep(0.001)
                sock.sendall(b'"}\n')
                self.sent[kind].append(tok)
                i += 1
                time.sleep(0.002)
        except OSError as e:
            self.errors.append("%s client: %s" % (kind, e))

    def run_syslog(self):
        i = 0
        try:
            while not self.stop.is_set():
                tok = "syslogmsg-%06d" % i
                # RFC 6587 octet counting, the frame in two writes (a reload may fall between)
                frame = ("<14>1 2026-01-01T00:00:00Z host app - - - %s" % tok).encode()
                head = b"%d " % len(frame)
                self.syslog.sendall(head + frame[:20])
                time.sleep(0.001)
                self.syslog.sendall(frame[20:])
                self.sent["syslog"].append(tok)
                i += 1
                time.sleep(0.002)
        except OSError as e:
            self.errors.append("syslog client: %s" % e)

    def run_http(self):
        """One POST per line, a new connection each; a 503 (the old pipeline stopping) is sent again."""
        i = 0
        url = "http://127.0.0.1:%d/" % PORTS["http"]
        try:
            while not self.stop.is_set():
                tok = "httpline-%06d" % i
                req = urllib.request.Request(url, data=('{"message":"%s"}\n' % tok).encode(), method="POST")
                try:
                    urllib.request.urlopen(req, timeout=60).close()
                except urllib.error.HTTPError as e:
                    if e.code != 503:
                        raise
                    self.http_503 += 1
                    time.sleep(0.01)
                    continue
                except (http.client.RemoteDisconnected, ConnectionResetError):
                    # accepted by the old server, closed unread when it stopped: not acknowledged, so
                    # sent again (a duplicate would show if it had been taken); never a refusal
                    self.http_unanswered += 1
                    continue
                self.sent["http"].append(tok)
                i += 1
                time.sleep(0.002)
        except (OSError, urllib.error.URLError) as e:
            self.errors.append("http client: %s" % e)

    def run_udp(self):
        i = 0
        while not self.stop.is_set():
            tok = "udpline-%06d" % i
            self.udp.sendto(('{"message":"%s"}\n' % tok).encode(), ("127.0.0.1", PORTS["udp"]))
            self.sent["udp"].append(tok)
            i += 1
            time.sleep(0.005)  # slow enough for the kernel's buffer to hold what a reload delays

    def run_fwd(self):
        i = 0
        try:
            while not self.stop.is_set():
                tok = "fwdevent-%06d" % i
                chunk = "c%d" % i
                self.fwd.sendall(msgpack.packb(["reload.test", int(time.time()), {"message": tok},
                                                {"chunk": chunk}]))
                self.sent["fwd"].append(tok)
                ans = self.read_answer()
                if not ans or ans.get("ack") != chunk:
                    self.acks_missing.append((chunk, ans))
                    return
                i += 1
        except OSError as e:
            self.errors.append("forward client: %s" % e)

    def read_answer(self):
        while True:
            for ans in self.unpacker:
                return ans
            data = self.fwd.recv(4096)
            if not data:
                return None
            self.unpacker.feed(data)

    def run_probe(self):
        while not self.stop.is_set():
            try:
                socket.create_connection(("127.0.0.1", PORTS["tcp"]), timeout=10).close()
                self.probes += 1
            except ConnectionRefusedError:
                self.refused += 1
            time.sleep(0.002)


PREFIX = {"tcp": "tcpline", "udp": "udpline", "fwd": "fwdevent", "syslog": "syslogmsg", "http": "httpline",
          "unix": "unixline"}


def tokens(path, prefix):
    counts = {}
    if not os.path.exists(path):
        return counts
    with open(path) as f:
        for m in re.finditer(prefix + r"-\d{6}", f.read()):
            counts[m.group(0)] = counts.get(m.group(0), 0) + 1
    return counts


def wait_all(sent, path):
    """Until every token sent is in @path (or a minute passed)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if all(all(t in tokens(path, PREFIX[k]) for t in v) for k, v in sent.items()):
            return
        time.sleep(0.2)


def main():
    write_config(False)
    proc = subprocess.Popen([CLEWD, "-c", CONF], stdout=subprocess.DEVNULL, stderr=open(ERR, "wb"))
    try:
        wait_log(proc, ERR, lambda r: r.get("message") == "started", "started")
        w = Writers()
        w.start()
        time.sleep(1.0)  # before the reload
        write_config(True)
        proc.send_signal(signal.SIGHUP)
        wait_log(proc, ERR, lambda r: r.get("message") == "listening" and
                 r.get("listen") == "127.0.0.1:%d" % PORTS["changed"] and
                 sum(1 for x in log_lines(ERR) if x.get("message") == "listening" and
                     x.get("listen") == r.get("listen")) >= 2, "the changed input listening again")
        time.sleep(1.0)  # after the reload
        w.join()
        # the changed input was opened again: a new connection to it is read
        with socket.create_connection(("127.0.0.1", PORTS["changed"])) as c:
            c.sendall(b'{"message":"changed-listener-reopened"}\n')
        w.sent["fwd"] = w.sent["fwd"][: len(w.sent["fwd"]) - (1 if w.acks_missing else 0)]
        wait_all(w.sent, OUT1)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "changed-listener-reopened" not in open(OUT1).read():
            time.sleep(0.1)

        log = log_lines(ERR)
        kept = [r.get("listen") for r in log if r.get("message") == "listening (kept across the reload)"]
        check(not w.errors, "clients saw errors: %s" % w.errors)
        check(not w.acks_missing, "forward chunks not acked on their connection: %s" % w.acks_missing[:3])
        check(w.refused == 0, "the tcp port refused %d of %d probe connections across the reload" %
              (w.refused, w.refused + w.probes))
        for kind, prefix in PREFIX.items():
            got = tokens(OUT1, prefix)
            missing = [t for t in w.sent[kind] if t not in got]
            twice = [t for t, n in got.items() if n != 1]
            check(len(w.sent[kind]) > 100, "%s: only %d written" % (kind, len(w.sent[kind])))
            check(not missing, "%s: %d of %d lost, e.g. %s" % (kind, len(missing), len(w.sent[kind]),
                                                              missing[:3]))
            check(not twice, "%s: %d delivered more than once, e.g. %s" % (kind, len(twice), twice[:3]))
            check(tokens(OUT2, prefix), "%s: nothing in the output the reload added" % kind)
        for k in PREFIX:
            check((("unix:" + SOCK) if k == "unix" else "127.0.0.1:%d" % PORTS[k]) in kept, "%s input not kept across the reload (kept: %s)" %
                  (k, kept))
        check("127.0.0.1:%d" % PORTS["changed"] not in kept, "the changed input was kept")
        check("changed-listener-reopened" in open(OUT1).read(), "the changed input did not listen again")
        check(os.path.exists(SOCK), "the unix input's socket file was removed by the reload")
        print("written: %s; %d probe connections; http requests sent again: %d answered 503, %d closed "
              "unanswered" % ({k: len(v) for k, v in w.sent.items()}, w.probes, w.http_503, w.http_unanswered))
    finally:
        proc.terminate()
        rc = proc.wait()
    check(rc == 0, "clewd exited %d after SIGTERM (a sanitizer's report is in its log)" % rc)
    if FAILS:
        print("clewd's log: " + ERR, file=sys.stderr)
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
