#!/usr/bin/env python3
"""bench/otlp_sink.py - an OTLP/HTTP sink for bench_otlp.sh: accepts every POST
(keep-alive, HTTP/1.1), reads and discards the body, answers 200 with an empty
body. It decodes nothing, so it costs little CPU next to clewd.

usage: otlp_sink.py PORT_FILE STATS_FILE
Binds 127.0.0.1 on a free port, writes it to PORT_FILE; on SIGTERM writes
"REQUESTS BYTES" to STATS_FILE and exits.
"""
import http.server
import os
import signal
import socketserver
import sys
import threading

stats = {"requests": 0, "bytes": 0}
lock = threading.Lock()


class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        left = n
        while left:
            got = self.rfile.read(min(left, 1 << 20))
            if not got:
                return
            left -= len(got)
        with lock:
            stats["requests"] += 1
            stats["bytes"] += n
        self.send_response(200)
        self.send_header("Content-Type", self.headers.get("Content-Type", "application/x-protobuf"))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    port_file, stats_file = sys.argv[1], sys.argv[2]
    srv = Server(("127.0.0.1", 0), Sink)

    def stop(*_):
        with open(stats_file, "w") as f:
            f.write(f"{stats['requests']} {stats['bytes']}\n")
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
