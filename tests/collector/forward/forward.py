#!/usr/bin/python3
"""forward.py - clewd's forward input and output with real peers on loopback.

Senders: Debian's python3-fluent-logger (FluentSender with integer times
and with EventTime (nanosecond_precision), the event API, the logging
handler, a unix socket) and, because Debian's fluent-logger 0.10 has no
acknowledgements (it ignores require_ack_response), Message and
PackedForward / CompressedPackedForward clients written here with
python3-msgpack that wait for each chunk's ack. Receivers: clewd's forward input (stdout:json read
back with Python's json), and a msgpack Unpacker receiver that answers acks
(the first chunk's ack withheld once, so clewd must send it again).
Also: the shared-key handshake (HELO/PING/PONG, a client written here with
hashlib as the spec says), the UDP heartbeat, invalid frames counted by reason in /metrics with
the connection closed and clewd going on, and clewd's forward output into
clewd's forward input with every record equal.

Usage: forward.py CLEWD
"""
import gzip
import hashlib
import io
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import msgpack
from fluent import event, handler, sender

CLEWD = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="fwdtest.")
FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL: " + what, file=sys.stderr)


class Clewd:
    """clewd with the given arguments; stdout and stderr in files; ports read from its log."""

    def __init__(self, name, args, stdin=None, env=None):
        self.out = os.path.join(TMP, name + ".out")
        self.err = os.path.join(TMP, name + ".err")
        self.p = subprocess.Popen([CLEWD, "-s", os.path.join(TMP, name + ".state")] + args,
                                  stdin=stdin, stdout=open(self.out, "wb"), stderr=open(self.err, "wb"),
                                  env=dict(os.environ, **(env or {})))

    def log(self):
        lines = []
        with open(self.err, "rb") as f:
            for raw in f:
                try:
                    lines.append(json.loads(raw))
                except ValueError:
                    pass
        return lines

    def wait_log(self, pred):
        while True:
            for rec in self.log():
                if pred(rec):
                    return rec
            if self.p.poll() is not None:
                raise RuntimeError("clewd exited: " + open(self.err).read()[-2000:])
            time.sleep(0.05)

    def port(self):
        rec = self.wait_log(lambda r: r.get("message") == "listening" and r.get("input") == "forward")
        return int(rec["port"])

    def http_port(self):
        rec = self.wait_log(lambda r: str(r.get("message", "")).startswith("serving /health"))
        return int(rec["message"].rsplit("(port ", 1)[1].rstrip(")"))

    def records(self):
        with open(self.out, "rb") as f:
            return [json.loads(line) for line in f if line.strip()]

    def wait_records(self, n):
        while len(self.records()) < n:
            if self.p.poll() is not None:
                raise RuntimeError("clewd exited")
            time.sleep(0.05)
        return self.records()

    def stop(self):
        self.p.terminate()
        return self.p.wait()


def metric(port, family, label):
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port).read().decode()
    for line in text.splitlines():
        if line.startswith(family + "{") and label in line:
            return float(line.rsplit(" ", 1)[1])
    return None


def read_answer(s):
    u = msgpack.Unpacker(raw=False)
    while True:
        data = s.recv(4096)
        if not data:
            return None
        u.feed(data)
        for ans in u:
            return ans


def message_client(port, tag, rec, chunk):
    """Message mode [tag, time, record, {"chunk": ...}]; returns the server's answer."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(msgpack.packb([tag, int(time.time()), rec, {"chunk": chunk}]))
        return read_answer(s)


def packed_client(port, tag, records, compressed=False, chunk="Y2h1bmsx"):
    """PackedForward (gzip'd when compressed) with a chunk option; returns the server's answer."""
    entries = b"".join(msgpack.packb([msgpack.ExtType(0, struct.pack(">II", 1700000000 + i, 7)), r])
                       for i, r in enumerate(records))
    opt = {"chunk": chunk, "size": len(records)}
    if compressed:
        entries = gzip.compress(entries[: len(entries) // 2]) + gzip.compress(entries[len(entries) // 2:])
        opt["compressed"] = "gzip"
    with socket.create_connection(("127.0.0.1", port)) as s:
        frame = msgpack.packb([tag, entries, opt], use_bin_type=True)
        for i in range(0, len(frame), 7):  # in small pieces: the server resumes at any byte
            s.sendall(frame[i:i + 7])
        return read_answer(s)


def test_senders():
    sock = os.path.join(TMP, "fwd.sock")
    c = Clewd("in", ["-i", "forward://127.0.0.1:0?ack=memory", "-i", "forward+unix://" + sock + "?ack=memory",
                     "-o", "stdout:json", "--http", "127.0.0.1:0", "--no-multiline"])
    port, hport = c.port(), c.http_port()
    sent = []

    s = sender.FluentSender("plain", host="127.0.0.1", port=port)
    for i in range(50):
        rec = {"message": "plain %d" % i, "trace_id": "tp%d" % i, "i": i}
        check(s.emit("ev", rec), "plain emit %d: %s" % (i, s.last_error))
        sent.append(("plain.ev", rec))
    s.close()

    s = sender.FluentSender("acked", host="127.0.0.1", port=port, nanosecond_precision=True)
    for i in range(50):
        rec = {"msg": "acked %d" % i, "span_id": "s%d" % i, "level": "warn", "nested": {"a": [i, None]}}
        check(s.emit("ev", rec), "acked emit %d: %s" % (i, s.last_error))
        sent.append(("acked.ev", rec))
    s.close()

    event.sender.setup("evapi", host="127.0.0.1", port=port)
    for i in range(20):
        event.Event("follow", {"from": "userA", "to": "user%d" % i})
        sent.append(("evapi.follow", {"from": "userA", "to": "user%d" % i}))
    event.sender.close()

    s = sender.FluentSender("unixs", host="unix://" + sock)
    for i in range(20):
        rec = {"log": "docker line %d" % i, "container_name": "/web", "source": "stdout"}
        check(s.emit("docker", rec), "unix emit %d: %s" % (i, s.last_error))
        sent.append(("unixs.docker", rec))
    s.close()

    import logging
    log = logging.getLogger("fwdtest")
    h = handler.FluentHandler("logging", host="127.0.0.1", port=port)
    h.setFormatter(handler.FluentRecordFormatter({"levelname": "%(levelname)s", "message": "%(message)s"}))
    log.addHandler(h)
    log.setLevel(logging.INFO)
    for i in range(10):
        log.error("handler %d", i)
        sent.append(("logging", {"message": "handler %d" % i}))
    h.close()

    for i in range(10):
        rec = {"message": "message mode %d" % i}
        ans = message_client(port, "mm", rec, "bW0t%d" % i)
        check(ans == {"ack": "bW0t%d" % i}, "message mode: answer %r" % (ans,))
        sent.append(("mm", rec))

    packed = [{"message": "packed %d" % i, "trace": "tk%d" % i} for i in range(30)]
    ans = packed_client(port, "pk", packed)
    check(ans == {"ack": "Y2h1bmsx"}, "packed: answer %r" % (ans,))
    sent += [("pk", r) for r in packed]
    comp = [{"message": "gz %d" % i} for i in range(30)]
    ans = packed_client(port, "gz", comp, compressed=True, chunk="Z3o=")
    check(ans == {"ack": "Z3o="}, "compressed: answer %r" % (ans,))
    sent += [("gz", r) for r in comp]

    # the heartbeat: a UDP datagram to the same port is answered
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(10)
    u.sendto(b"\x00", ("127.0.0.1", port))
    check(u.recvfrom(16)[0] == b"\x00", "heartbeat answered")
    u.close()

    # invalid frames: counted by reason, the connection closed, clewd goes on
    for bad in (b"\x93\xc1\x00", msgpack.packb(["t", 1, "not a map"])):
        with socket.create_connection(("127.0.0.1", port)) as b:
            b.sendall(bad)
            b.settimeout(10)
            check(b.recv(16) == b"", "invalid frame: connection closed")

    got = c.wait_records(len(sent))
    check(len(got) == len(sent), "events: %d sent, %d received" % (len(sent), len(got)))
    by_msg = {}
    for g in got:
        by_msg.setdefault((g.get("tag"), g.get("message"), g.get("to")), []).append(g)
    for tag, rec in sent:
        key = (tag, rec.get("message", rec.get("msg", rec.get("log"))), rec.get("to"))
        g = by_msg.get(key)
        check(g is not None and len(g) == 1, "event %r arrived once" % (key,))
        if not g:
            continue
        g = g[0]
        if "trace_id" in rec:
            check(g.get("trace") == rec["trace_id"], "trace_id -> trace")
        if "span_id" in rec:
            check(g.get("span") == rec["span_id"] and g.get("level") == "WARN", "span_id, level")
            check(g.get("nested") == rec["nested"], "nested value kept")
        if "container_name" in rec:
            check(g.get("service") == "web" and g.get("source") == "stdout", "docker fields")
        if tag == "pk":
            check(g.get("trace") == rec["trace"] and g.get("timestamp", "").startswith("2023-11-14T22:13:"),
                  "packed event time and trace")
    check(metric(hport, "clewd_forward_invalid_total", 'reason="msgpack"') == 1, "invalid msgpack counted")
    check(metric(hport, "clewd_forward_invalid_total", 'reason="record"') == 1, "invalid record counted")
    check((metric(hport, "clewd_forward_frames_total", 'mode="compressed"') or 0) == 1, "compressed counted")
    check(c.stop() == 0, "clewd in: exit 0")


def handshake_client(port, key, host="sender.example"):
    """HELO -> PING -> PONG as the spec says, then one acked event. Returns (pong, answer)."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.settimeout(10)
        u = msgpack.Unpacker(raw=False)

        def next_msg():
            while True:
                for m in u:
                    return m
                data = s.recv(4096)
                if not data:
                    return None
                u.feed(data)

        helo = next_msg()
        if not (isinstance(helo, list) and helo[0] == "HELO"):
            return helo, None
        nonce = helo[1]["nonce"]
        nonce = nonce.encode() if isinstance(nonce, str) else nonce
        salt = b"0123456789abcdef"
        digest = hashlib.sha512(salt + host.encode() + nonce + key.encode()).hexdigest()
        s.sendall(msgpack.packb(["PING", host, salt, digest, "", ""], use_bin_type=True))
        pong = next_msg()
        if not pong or pong[1] is not True:
            return pong, next_msg()
        want = hashlib.sha512(salt + pong[3].encode() + nonce + key.encode()).hexdigest()
        check(pong[4] == want, "PONG: the server's digest proves the key")
        s.sendall(msgpack.packb(["hs", int(time.time()), {"message": "after handshake"}, {"chunk": "aHM="}]))
        return pong, next_msg()


def test_handshake():
    c = Clewd("hs", ["-i", "forward://127.0.0.1:0?ack=memory&shared_key=s3cret&self_hostname=clew.test",
                     "-o", "stdout:json", "--http", "127.0.0.1:0"])
    port, hport = c.port(), c.http_port()
    pong, ans = handshake_client(port, "s3cret")
    check(pong and pong[0] == "PONG" and pong[1] is True and pong[3] == "clew.test", "PONG true: %r" % (pong,))
    check(ans == {"ack": "aHM="}, "acked after the handshake: %r" % (ans,))
    pong, ans = handshake_client(port, "wrong")
    check(pong and pong[1] is False and ans is None, "wrong key: PONG false, connection closed: %r" % (pong,))
    got = c.wait_records(1)
    check(len(got) == 1 and got[0]["message"] == "after handshake", "the event after the handshake")
    check(metric(hport, "clewd_forward_invalid_total", 'reason="auth"') == 1, "wrong key counted")
    check(c.stop() == 0, "clewd hs: exit 0")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_backpressure():
    """clewd B's output is down (no spool): its forward input stops taking frames and acking them
    (TCP backpressure); when the peer comes up, every frame is acked and delivered once."""
    port_c = free_port()
    b = Clewd("bp_b", ["-i", "forward://127.0.0.1:0?ack=memory", "-o", "forward://127.0.0.1:%d" % port_c,
                       "--no-multiline"], env={"CLEWD_SPOOL_MAX_BYTES": "0"})  # no spool: B must push back
    port_b = b.port()
    n, per = 4000, 50
    acked = []

    def send():
        with socket.create_connection(("127.0.0.1", port_b)) as s:
            u = msgpack.Unpacker(raw=False)
            for i in range(n):
                ents = b"".join(msgpack.packb([1700000000, {"message": "bp %d %d" % (i, k)}]) for k in range(per))
                s.sendall(msgpack.packb(["bp", ents, {"chunk": "c%d" % i, "size": per}], use_bin_type=True))
                ans = None
                while ans is None:
                    data = s.recv(4096)
                    if not data:
                        return
                    u.feed(data)
                    for ans in u:
                        break
                acked.append(i)

    t = threading.Thread(target=send, daemon=True)
    t.start()
    prev = -1
    while len(acked) != prev:  # until the acks stop: B holds what it took, takes nothing more
        prev = len(acked)
        time.sleep(1.5)
    check(prev < n, "backpressure: acks stop while the output is down (%d of %d)" % (prev, n))
    c = Clewd("bp_c", ["-i", "forward://127.0.0.1:%d?ack=memory" % port_c, "-o", "stdout:json", "--no-multiline"])
    t.join()
    check(len(acked) == n, "backpressure: every frame acked once the output is back (%d)" % len(acked))
    check(b.stop() == 0, "clewd bp_b: exit 0")
    got = c.wait_records(n * per)
    check(c.stop() == 0, "clewd bp_c: exit 0")
    msgs = [g["message"] for g in got]
    check(len(msgs) == n * per and len(set(msgs)) == n * per, "backpressure: every event delivered once")


class Receiver(threading.Thread):
    """A forward server: reads PackedForward messages and answers acks (the first one withheld once)."""

    def __init__(self, silent=False):
        super().__init__(daemon=True)
        self.silent = silent  # withhold the first ack on an open connection (clewd's ack_timeout)
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(8)
        self.port = self.ls.getsockname()[1]
        self.events = []
        self.chunks = []
        self.withheld = False
        self.lock = threading.Lock()

    def run(self):
        while True:
            conn, _ = self.ls.accept()
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        u = msgpack.Unpacker(raw=False)
        while True:
            data = conn.recv(65536)
            if not data:
                conn.close()
                return
            u.feed(data)
            for msg in u:
                tag, entries, opt = msg
                entries = list(msgpack.Unpacker(io.BytesIO(entries), raw=False))
                assert opt.get("size") == len(entries)
                assert all(isinstance(t, msgpack.ExtType) and t.code == 0 for t, _ in entries)
                evs = [rec for _, rec in entries]
                with self.lock:
                    if not self.withheld:
                        self.withheld = True  # no ack: clewd must send it again
                        if not self.silent:
                            conn.close()  # the connection dropped before the ack
                            return
                        continue  # no answer on an open connection: clewd's ack_timeout

                    self.chunks.append(opt["chunk"])
                    self.events += [(tag, e) for e in evs]
                conn.sendall(msgpack.packb({"ack": opt["chunk"]}))


def test_output():
    lines = []
    for i in range(500):
        lines.append(json.dumps({"timestamp": "2026-01-02T03:04:05.%06dZ" % i, "level": "info",
                                 "service": "svc%d" % (i % 7), "trace": "t%d" % i, "span": "s%d" % i,
                                 "message": "m\u00e9 \"%d\"\n" % i, "n": i, "f": i / 4,
                                 "o": {"a": [i, True, None]}}))
    lines.append("not json | a raw line")
    data = ("\n".join(lines) + "\n").encode()

    # into a receiver of ours
    r = Receiver()
    r.start()
    c = Clewd("out", ["-i", "stdin", "-o", "forward://127.0.0.1:%d?tag=app.clew&ack_timeout=2s" % r.port,
                      "--no-multiline"], stdin=subprocess.PIPE)
    c.p.communicate(data)
    check(c.p.returncode == 0, "clewd out: exit 0 (every chunk acked)")
    with r.lock:
        evs = list(r.events)
        chunks = list(r.chunks)
    check(len(chunks) == len(set(chunks)), "chunk IDs unique")
    msgs = sorted(e["message"] for _, e in evs)
    want = sorted(["m\u00e9 \"%d\"\n" % i for i in range(500)] + ["not json | a raw line"])
    check(msgs == want, "receiver: every record once after the withheld ack (%d events)" % len(evs))
    check(all(t == "app.clew" for t, _ in evs), "tag option")
    e0 = [e for _, e in evs if e.get("trace") == "t3"]
    check(len(e0) == 1 and e0[0]["n"] == 3 and e0[0]["f"] == 0.75 and e0[0]["o"] == {"a": [3, True, None]},
          "typed values as msgpack")

    # an ack that never comes on an open connection: clewd gives up after ack_timeout and sends again
    r = Receiver(silent=True)
    r.start()
    c = Clewd("out_silent", ["-i", "stdin", "-o", "forward://127.0.0.1:%d?ack_timeout=1s" % r.port,
                             "--no-multiline"], stdin=subprocess.PIPE)
    c.p.communicate(data)
    check(c.p.returncode == 0, "clewd out_silent: exit 0 (every chunk acked)")
    with r.lock:
        msgs = sorted(e["message"] for _, e in r.events)
    want = sorted(["m\u00e9 \"%d\"\n" % i for i in range(500)] + ["not json | a raw line"])
    check(msgs == want, "silent receiver: every record once after the ack timeout (%d events)" % len(msgs))
    check(any(r.get("message") == "forward output: connection lost" and "ack_timeout" in r.get("error", "")
              for r in c.log()), "the ack timeout logged")

    # clewd into clewd: every record equal
    b = Clewd("rt_in", ["-i", "forward://127.0.0.1:0", "-o", "stdout:json", "--no-multiline"])
    port = b.port()
    ref = os.path.join(TMP, "rt_ref.json")
    a = Clewd("rt_out", ["-i", "stdin", "-o", "forward://127.0.0.1:%d" % port, "-o", "file:%s:json" % ref,
                         "--no-multiline"], stdin=subprocess.PIPE)
    a.p.communicate(data)
    check(a.p.returncode == 0, "clewd rt_out: exit 0")
    got = b.wait_records(len(lines))
    check(b.stop() == 0, "clewd rt_in: exit 0")
    with open(ref) as f:
        want = [json.loads(x) for x in f]
    for g in got:
        check(g.pop("tag", None) == "clew", "default tag")
        # a raw record has no time of its own: each clewd stamps it when it reads it
        if "_unparsed" in g:
            g.pop("timestamp", None)
    for w in want:
        if "_unparsed" in w:
            w.pop("timestamp", None)
    key = lambda r: json.dumps(r, sort_keys=True)
    check(sorted(map(key, got)) == sorted(map(key, want)), "round trip: every record equal")


def main():
    try:
        test_senders()
        test_handshake()
        test_backpressure()
        test_output()
    finally:
        pass
    if FAILS:
        print("%d failures; files kept in %s" % (len(FAILS), TMP), file=sys.stderr)
        sys.exit(1)
    subprocess.run(["rm", "-rf", TMP], check=False)
    print("ok")


if __name__ == "__main__":
    main()
