#!/usr/bin/python3
"""forward_tls.py - clewd's forward input over TLS (cert_file, key_file).

A certificate made here by openssl(1) for 127.0.0.1; clients written here with Python's ssl
module and python3-msgpack (Debian's fluent-logger has no TLS): Message mode and PackedForward
with the chunk option, each waiting for its ack, over TLS 1.2+; every event arrives (stdout:json
read back with Python's json). A plain TCP client on the TLS port: its connection is closed,
counted as reason "tls" in /metrics, and clewd goes on. The shared-key handshake over TLS.

Usage: forward_tls.py CLEWD
"""
import hashlib
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

import msgpack

CLEWD = sys.argv[1]
FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL: " + what, file=sys.stderr)


def log_port(path, key):
    for _ in range(400):
        with open(path) as f:
            for line in f:
                m = re.search(key, line)
                if m:
                    return int(m.group(1))
        time.sleep(0.05)
    raise SystemExit("FAIL: no %s in %s" % (key, open(path).read()))


def tls_client(ctx, port):
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


def read_obj(sock, unpacker):
    while True:
        for obj in unpacker:
            return obj
        data = sock.recv(65536)
        if not data:
            return None
        unpacker.feed(data)


def main():
    tmp = tempfile.mkdtemp(prefix="fwdtls.")
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    out, err = os.path.join(tmp, "out.json"), os.path.join(tmp, "clewd.log")
    clewd = subprocess.Popen([CLEWD, "-s", os.path.join(tmp, "state"), "--http", "127.0.0.1:0",
                              "-i", "forward://127.0.0.1:0?cert_file=%s&key_file=%s&shared_key=s3cret" % (cert, key),
                              "-o", "stdout:json"], stdout=open(out, "wb"), stderr=open(err, "wb"))
    try:
        port = log_port(err, r'"input":"forward".*"port":"(\d+)"')
        ops = log_port(err, r'serving /health.*\(port (\d+)\)')
        ctx = ssl.create_default_context(cafile=cert)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        sent = 0
        # the shared-key handshake over TLS, then Message and PackedForward frames with acks
        s = tls_client(ctx, port)
        up = msgpack.Unpacker(raw=False)
        helo = read_obj(s, up)
        check(isinstance(helo, list) and helo[0] == "HELO", "no HELO over TLS: %r" % (helo,))
        nonce = helo[1]["nonce"]
        nonce = nonce if isinstance(nonce, bytes) else nonce.encode()
        salt = b"0123456789abcdef"
        digest = hashlib.sha512(salt + b"tls-client" + nonce + b"s3cret").hexdigest()
        s.sendall(msgpack.packb(["PING", "tls-client", salt, digest, "", ""]))
        pong = read_obj(s, up)
        check(isinstance(pong, list) and pong[0] == "PONG" and pong[1] is True, "PONG: %r" % (pong,))
        for i in range(50):
            chunk = "m%d" % i
            s.sendall(msgpack.packb(["app.tls", int(time.time()), {"message": "tls message %d" % i,
                                                                   "trace": "tls-trace"}, {"chunk": chunk}]))
            ack = read_obj(s, up)
            check(ack == {"ack": chunk}, "ack of %s: %r" % (chunk, ack))
            sent += 1
        entries = b"".join(msgpack.packb([int(time.time()), {"message": "tls packed %d" % i}]) for i in range(200))
        s.sendall(msgpack.packb(["app.tls", entries, {"chunk": "p1", "size": 200}]))
        ack = read_obj(s, up)
        check(ack == {"ack": "p1"}, "ack of the packed frame: %r" % (ack,))
        sent += 200
        s.close()
        # a plain client on the TLS port: closed, counted, nothing stops
        p = socket.create_connection(("127.0.0.1", port), timeout=30)
        p.sendall(msgpack.packb(["app.plain", int(time.time()), {"message": "not over TLS"}]))
        p.settimeout(30)
        try:
            rest = p.recv(4096)
            while rest:
                rest = p.recv(4096)
        except (ConnectionResetError, socket.timeout):
            pass
        p.close()
        metrics = ""
        for _ in range(100):
            metrics = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % ops, timeout=10).read().decode()
            if re.search(r'clewd_forward_invalid_total\{[^}]*reason="tls"[^}]*\} [1-9]', metrics):
                break
            time.sleep(0.1)
        check(re.search(r'clewd_forward_invalid_total\{[^}]*reason="tls"[^}]*\} [1-9]', metrics),
              "the plain client is not counted as reason tls")
    finally:
        clewd.send_signal(signal.SIGTERM)
        rc = clewd.wait(timeout=60)
    check(rc == 0, "clewd exited %d" % rc)
    got = [json.loads(line) for line in open(out)]
    msgs = [g.get("message") for g in got]
    for i in range(50):
        check(msgs.count("tls message %d" % i) == 1, "tls message %d: %d times" % (i, msgs.count("tls message %d" % i)))
    for i in range(200):
        check(msgs.count("tls packed %d" % i) == 1, "tls packed %d" % i)
    check("not over TLS" not in msgs, "a plain client's event was taken")
    check(all(g.get("tag") == "app.tls" for g in got), "tags")
    if FAILS:
        print("%d failures; clewd's log:\n%s" % (len(FAILS), open(err).read()[-3000:]))
        return 1
    print("%d events over TLS (shared key, Message and PackedForward, acked), a plain client refused" % sent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
