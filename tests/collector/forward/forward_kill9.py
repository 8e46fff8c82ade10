#!/usr/bin/python3
"""forward_kill9.py - durable acks of the forward input survive a kill -9.

A sender sends events in Message mode with a chunk option and waits for
each ack, resending on a lost connection or a timeout (what Fluentd's
out_forward does with require_ack_response; Debian's python3-fluent-logger
0.10 has no acks) into clewd's forward input (ack: durable, the default)
with the archive as output; clewd is killed with SIGKILL mid-stream and
started again on the same state directory while the sender goes on.
Every event whose ack the sender got must be in the archive afterwards
(duplicates are allowed, and counted in the output).

Needs collector/input/intake.c with the write-ahead log (main's, issue 13
item 1): with a memory-only intake the acked events of the last chunk are
lost, and this test says so.

Usage: forward_kill9.py CLEWD ARCHIVE_DUMP
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import msgpack

CLEWD, DUMP = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="fwdkill.")
STATE, ARCH = os.path.join(TMP, "state"), os.path.join(TMP, "arch")


def start(n):
    err = open(os.path.join(TMP, "clewd%d.err" % n), "wb")
    p = subprocess.Popen([CLEWD, "-s", STATE, "-i", "forward://127.0.0.1:0", "-o", "archive:" + ARCH],
                         stdout=subprocess.DEVNULL, stderr=err)
    while True:
        with open(err.name, "rb") as f:
            for raw in f:
                try:
                    r = json.loads(raw)
                except ValueError:
                    continue
                if r.get("message") == "listening" and r.get("input") == "forward":
                    return p, int(r["port"])
        if p.poll() is not None:
            sys.exit("clewd exited: " + open(err.name).read()[-2000:])
        time.sleep(0.05)


acked = []
stop = threading.Event()
# the port clewd listens on now: each start takes a free one; the input's name (and its
# write-ahead log's folder) is its configured listen address, 127.0.0.1:0 both times
PORT = [0]


def send():
    s = None
    i = 0
    while not stop.is_set():
        rec = {"message": "event %d" % i, "trace_id": "k9-%06d" % i}
        chunk = "k9-%d" % i
        try:
            if s is None:
                s = socket.create_connection(("127.0.0.1", PORT[0]), timeout=5)
                u = msgpack.Unpacker(raw=False)
            s.sendall(msgpack.packb(["k9.ev", int(time.time()), rec, {"chunk": chunk}]))
            ans = None
            while ans is None:
                data = s.recv(4096)
                if not data:
                    raise OSError("closed")
                u.feed(data)
                for ans in u:
                    break
            if ans != {"ack": chunk}:
                raise OSError("unexpected answer %r" % (ans,))
            acked.append(rec["trace_id"])
            i += 1
        except OSError:
            # clewd is down or restarting: the same event again on a new connection
            if s is not None:
                s.close()
            s = None
            time.sleep(0.05)
    if s is not None:
        s.close()


def main():
    p, PORT[0] = start(1)
    t = threading.Thread(target=send)
    t.start()
    while len(acked) < 300:
        time.sleep(0.01)
    p.send_signal(signal.SIGKILL)
    p.wait()
    before = len(acked)
    p, PORT[0] = start(2)
    while len(acked) < before + 100:
        time.sleep(0.01)
    stop.set()
    t.join()
    p.terminate()
    if p.wait() != 0:
        sys.exit("clewd did not exit 0 after SIGTERM")
    out = subprocess.run([DUMP, ARCH], check=True, capture_output=True).stdout.decode()
    seen = {}
    for line in out.splitlines():
        r = json.loads(line)
        if r.get("tag") == "k9.ev":
            seen[r["trace"]] = seen.get(r["trace"], 0) + 1
    lost = [a for a in acked if a not in seen]
    dups = sum(n - 1 for n in seen.values())
    print("%d acked (%d before the kill), %d in the archive, %d duplicates, %d lost"
          % (len(acked), before, len(seen), dups, len(lost)))
    if lost:
        sys.exit("FAIL: acked events missing from the archive: %s ... (files in %s)" % (lost[:5], TMP))
    subprocess.run(["rm", "-rf", TMP], check=False)


if __name__ == "__main__":
    main()
