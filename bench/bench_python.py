#!/usr/bin/python3
"""bench_python.py - the cost of one Python log call through clew (issue 15 item 6).

One `logger.info("order %s fetched", order_id, extra={...})` inside a request,
through clew.Handler (async: queued to libclew's ring, written by its C thread;
sync: formatted and written with one write() before the call returns), next to
the standard library's logging.FileHandler with python-json-logger's
JsonFormatter writing the same record to a file. Each clew case twice: from a
standard logging.Logger (logging builds its LogRecord: the same floor as the
baseline's), and from a clew.Logger (its C _log() skips the LogRecord). A
no-op handler on a standard Logger shows that floor. Each call is timed alone
(perf_counter_ns around it, ~60 ns of which is the clock itself), after a
warm-up; printed: median, p99 and mean ns per call.

    PYTHONPATH=build/release/python /usr/bin/python3 bench/bench_python.py [--calls N]

Needs the built module (or `pip install .`) and python3-pythonjsonlogger.
"""
import argparse
import logging
import os
import statistics
import sys
import tempfile
import time

import clew


def measure(log, calls, warmup):
    extra = {"user": "u17", "items": 3, "amount": 12.5, "cached": False}
    for i in range(warmup):
        log.info("order %s fetched", i, extra=extra)
    ns = [0] * calls
    clock = time.perf_counter_ns
    for i in range(calls):
        t0 = clock()
        log.info("order %s fetched", i, extra=extra)
        ns[i] = clock() - t0
    ns.sort()
    return ns[len(ns) // 2], ns[int(len(ns) * 0.99)], statistics.fmean(ns)


class NopHandler(logging.Handler):
    """Takes every record and does nothing: what logging itself costs."""

    def handle(self, record):
        return True


def logger(name, handler):
    log = logging.getLogger(name)
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False
    return log


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=50000, help="timed calls per variant (default 50000)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds; the best median of each is kept (3)")
    args = ap.parse_args()
    try:
        from pythonjsonlogger import jsonlogger
    except ImportError:
        sys.exit("bench_python: needs python-json-logger (Debian's python3-pythonjsonlogger)")
    tmp = tempfile.mkdtemp(prefix="bench-python-")
    # The ring holds every record of a round: the writer is measured draining it, not dropping.
    os.environ["CLEW_RING_BYTES"] = str(256 << 20)
    results = {}
    names = ("clew.Handler async", "clew.Handler sync", "clew.Logger+Handler async", "clew.Logger+Handler sync",
             "no-op handler (floor)", "FileHandler+JsonFormatter")
    for r in range(args.rounds):
        for name in names:
            path = os.path.join(tmp, "%d.%d.log" % (names.index(name), r))
            if name.startswith("clew"):
                clew.configure(service="bench", format="json", output="file:" + path,
                               async_=name.endswith("async"), level="info")
                if "Logger" in name:
                    log = clew.Logger("bench.fast")
                    log.addHandler(clew.Handler())
                else:
                    log = logger("bench.clew", clew.Handler())
                with clew.request(None, "GET", "/orders/42"):
                    got = measure(log, args.calls, args.calls // 10)
                clew.flush(10000)
                assert clew.info()["dropped"] == 0, "records dropped: make the ring bigger"
            elif name.startswith("no-op"):
                log = logger("bench.nop", NopHandler())
                got = measure(log, args.calls, args.calls // 10)
            else:
                h = logging.FileHandler(path)
                h.setFormatter(jsonlogger.JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
                log = logger("bench.json", h)
                got = measure(log, args.calls, args.calls // 10)
                h.close()
            if name not in results or got[0] < results[name][0]:
                results[name] = got
    base = results["FileHandler+JsonFormatter"]
    print("%-30s %10s %10s %10s %10s" % ("ns per logger.info() call", "median", "p99", "mean", "x cheaper"))
    for name, (med, p99, mean) in results.items():
        print("%-30s %10d %10d %10.0f %10.1f" % (name, med, p99, mean, base[0] / med))
    for f in os.listdir(tmp):
        os.unlink(os.path.join(tmp, f))
    os.rmdir(tmp)


if __name__ == "__main__":
    main()
