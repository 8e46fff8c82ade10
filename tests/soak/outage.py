#!/usr/bin/python3
"""outage.py - an output's peer goes away mid-stream and comes back: nothing is lost.

clewd tails a file that a writer thread appends to at a steady rate (the
file input: what an operator's services do) and ships it to one real peer
started here: InfluxDB (Debian's influxd through tests/helpers/influxd),
a Kafka cluster (tests/helpers/kafka_mock, librdkafka's mock broker in a
process of its own) or a Logstash tcp (json_lines) receiver
(tests/helpers/ls_receiver). After a warm-up the peer goes away for
OUTAGE seconds while the writer goes on:

  influxdb  influxd stopped (SIGTERM), then started again on the same port
  kafka     the only broker set down (rd_kafka_mock_broker_set_down), then up
  logstash  the receiver stopped (its port refuses connections), then a new
            one started on the same port

Then the writer stops and every line written must arrive at the peer.
Checked and printed:
  - lost: lines written that never arrived (must be 0);
  - duplicates: events that arrived more than once (Kafka, Logstash: the
    delivery is at-least-once, resends after an outage are counted, not
    failed); InfluxDB keeps one point per series and time, so a resent
    point overwrites itself: what is checked there is that the count of
    distinct points is the count of lines;
  - RSS: clewd's resident set, sampled during the outage, must stay within
    RSS_GROWTH_MIB of what it was before the outage (what does not fit the
    in-memory queue goes to the spool on disk: its bytes are sampled too,
    and printed);
  - /metrics during the outage: clewd_output_up 0 (still at the outage's
    last sample) and clewd_output_errors_total growing (the outage shows),
    and afterwards the spool drained (clewd_output_spool_chunks 0) and the
    output up again;
  - clewd exits 0 on SIGTERM.
Nothing here asserts on time: waits poll with a generous bound against
hangs; OUTAGE is how long the peer is away, not a check.

Usage: outage.py influxdb|kafka|logstash OUTAGE_S [RATE_LINES_PER_S]
Environment: CLEWD_BIN, KAFKA_MOCK_BIN, LS_RECEIVER_BIN, INFLUXD_HELPER.
Short form in the test suite (8 s), long form from bench/soak_outage.sh.
"""
import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

PEER = sys.argv[1]
OUTAGE = float(sys.argv[2])
RATE = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
# Growth of clewd's RSS allowed during the outage. The in-memory queue holds
# at most CD_QUEUE_CHUNKS_MAX (8) sealed chunks of at most 2 MiB; everything
# else waits in the spool on disk (Kafka: librdkafka also holds up to
# max_inflight bytes, 16M here). 48 MiB leaves room for the sanitizer
# build's shadow memory and quarantine, and is far below what the outage's
# lines would take if they were kept in memory in the long form.
RSS_GROWTH_MIB = 48
BOUND_S = 300  # longest any wait polls: a bound against hangs, not a check of speed
TMP = tempfile.mkdtemp(prefix="soak-%s." % PEER)
LOG = os.path.join(TMP, "in", "app.log")
PARTITIONS = 32


def die(msg):
    sys.exit("FAIL (%s): %s (files in %s)" % (PEER, msg, TMP))


# Every process started, killed when the script ends however it ends (a failure, an exception):
# one left running would hold the test runner's output pipe open, and the run would hang.
PROCS = []


def spawn(args, **kw):
    p = subprocess.Popen(args, **kw)
    PROCS.append(p)
    return p


@atexit.register
def kill_all():
    for p in PROCS:
        if p.poll() is None:
            p.kill()
            p.wait()


def wait(cond, what, bound=BOUND_S):
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > bound:
            die("gave up waiting for " + what)
        time.sleep(0.1)


# --- the peers ------------------------------------------------------------------


class Influx:
    def __init__(self):
        self.dir = os.path.join(TMP, "influxd")
        self.helper = os.environ["INFLUXD_HELPER"]
        out = subprocess.run([self.helper, "start", self.dir], check=True, capture_output=True, text=True)
        self.port = int(out.stdout.strip())
        atexit.register(self.stop)  # however the script ends (see PROCS)
        self.query("CREATE DATABASE soak")
        self.uri = "influxdb://127.0.0.1:%d/soak?interval=1s" % self.port

    def query(self, q):
        url = "http://127.0.0.1:%d/query?db=soak&q=%s" % (self.port, urllib.parse.quote(q))
        with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=30) as r:
            return json.load(r)

    def down(self):
        subprocess.run([self.helper, "stop", self.dir], check=True)

    def up(self):
        subprocess.run([self.helper, "start", self.dir, "--port", str(self.port)], check=True,
                       capture_output=True)

    def counts(self, final=False):
        """{n: times}: InfluxDB keeps one point per series and time, so each n at most once."""
        try:
            j = self.query('SELECT "dur_us" FROM spans')
        except OSError:
            return {}
        series = j["results"][0].get("series") or []
        return {int(v[1]) - 1: 1 for s in series for v in s["values"]}

    def stop(self):
        subprocess.run([self.helper, "stop", self.dir], check=False)


class Kafka:
    def __init__(self):
        self.p = spawn([os.environ["KAFKA_MOCK_BIN"], "-b", "1", "soak:%d" % PARTITIONS],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.bootstrap = self.p.stdout.readline().strip()
        if not self.bootstrap:
            die("kafka_mock did not start")
        # librdkafka holds what is produced and not yet acknowledged, up to max_inflight (64M by
        # default): 16M keeps that part of clewd's memory inside the bound stated above
        self.uri = "kafka://%s/soak?max_inflight=16M" % self.bootstrap

    def cmd(self, c):
        self.p.stdin.write(c + "\n")
        self.p.stdin.flush()
        ans = self.p.stdout.readline().strip()
        if ans != "ok":
            die("kafka_mock %s: %s" % (c, ans))

    def down(self):
        self.cmd("down 1")

    def up(self):
        self.cmd("up 1")

    def counts(self, final=False):
        r = subprocess.run(["kcat", "-C", "-b", self.bootstrap, "-t", "soak", "-o", "beginning", "-e", "-q",
                            "-f", "%s\\n"], capture_output=True, text=True, timeout=120, check=False)
        seen = {}
        for m in re.finditer(r'[{,]"n":"?(\d+)', r.stdout):
            n = int(m.group(1))
            seen[n] = seen.get(n, 0) + 1
        return seen

    def stop(self):
        if self.p.poll() is None:
            self.p.stdin.write("quit\n")
            self.p.stdin.close()
            self.p.wait(timeout=60)


class Logstash:
    def __init__(self):
        self.k = 0
        self.port = 0
        self.procs = []
        self.up()
        self.uri = "logstash+tcp://127.0.0.1:%d" % self.port

    def up(self):
        self.k += 1
        pf = os.path.join(TMP, "ls.port")
        if os.path.exists(pf):
            os.unlink(pf)
        p = spawn([os.environ["LS_RECEIVER_BIN"], "tcp", "--port", str(self.port), "--port-file", pf,
                              "--report", os.path.join(TMP, "ls.report.%d" % self.k),
                              "--events", os.path.join(TMP, "ls.events.%d" % self.k)],
                             stdout=subprocess.DEVNULL, stderr=open(os.path.join(TMP, "ls.log"), "ab"))
        self.procs.append(p)
        wait(lambda: os.path.exists(pf) and open(pf).read().strip(), "the receiver to listen")
        self.port = int(open(pf).read())

    def down(self):
        p = self.procs[-1]
        p.send_signal(signal.SIGTERM)  # it reads each connection to its end, then exits
        if p.wait(timeout=60) != 0:
            die("ls_receiver exited %d" % p.returncode)

    def counts(self, final=False):
        """{n: times} of the receivers' event files. While they run, a line read as it is being
        written may not parse yet (skipped: counted at the next poll); once they stopped
        (@final), every line must."""
        seen = {}
        for k in range(1, self.k + 1):
            path = os.path.join(TMP, "ls.events.%d" % k)
            if not os.path.exists(path):
                continue
            with open(path, errors="replace") as f:
                for line in f:
                    if not line.endswith("\n"):
                        continue
                    try:
                        n = int(json.loads(line)["n"])
                    except (ValueError, KeyError, TypeError):
                        if final:
                            die("ls.events.%d: not an event: %r" % (k, line[:200]))
                        continue
                    seen[n] = seen.get(n, 0) + 1
        return seen

    def stop(self):
        p = self.procs[-1]
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=60)


# --- clewd and the writer ---------------------------------------------------------


class Writer(threading.Thread):
    """Appends RATE lines a second to LOG: each an event=span record with its own n and time."""

    def __init__(self):
        super().__init__(daemon=True)
        self.n = 0
        self.halt = threading.Event()
        self.t0 = int(time.time() * 1e6)

    def line(self, n):
        us = self.t0 + n
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(us // 1000000)) + ".%06dZ" % (us % 1000000)
        return ("%s INFO t%07d:s%07d|orders|GET|/api/orders/%d|event=span|name=soak|dur_us=%d|status=ok|n=%d"
                "|msg=soak line %d with some text to make it a realistic size for a log line\n"
                % (ts, n // 4, n, n % 97, n + 1, n, n))

    def run(self):
        with open(LOG, "a") as f:
            start = time.monotonic()
            while not self.halt.is_set():
                due = int((time.monotonic() - start) * RATE)
                if due > self.n:
                    f.write("".join(self.line(n) for n in range(self.n, due)))
                    f.flush()
                    self.n = due
                time.sleep(0.02)


def metrics(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
            return r.read().decode()
    except OSError:
        return ""


def metric(text, family):
    """The sum of family's samples for the one output (there is one), or None."""
    vals = [float(m.group(1)) for m in re.finditer(r"^%s(?:\{[^}]*\})? (\S+)$" % family, text, re.M)]
    return sum(vals) if vals else None


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def start_clewd(uri):
    err = os.path.join(TMP, "clewd.log")
    env = dict(os.environ, CLEWD_CHUNK_AGE="200ms", CLEWD_DRAIN_TIMEOUT="120s")
    p = spawn([os.environ["CLEWD_BIN"], "-s", os.path.join(TMP, "state"), "--http", "127.0.0.1:0",
                          "-i", "tail:" + os.path.join(TMP, "in", "*.log"), "-o", uri],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(err, "wb"), env=env)
    port = [0]

    def ready():
        if p.poll() is not None:
            die("clewd exited %d: %s" % (p.returncode, open(err).read()[-2000:]))
        m = re.search(r"\(port (\d+)", open(err).read())
        port[0] = int(m.group(1)) if m else 0
        return port[0] > 0

    wait(ready, "clewd's /metrics port")
    return p, port[0]


def main():
    os.makedirs(os.path.dirname(LOG))
    open(LOG, "w").close()
    peer = {"influxdb": Influx, "kafka": Kafka, "logstash": Logstash}[PEER]()
    clewd, mport = start_clewd(peer.uri)
    w = Writer()
    w.start()
    # warm-up: records flow to the peer
    wait(lambda: len(peer.counts()) >= RATE, "the first records at the peer")
    base = rss_kib(clewd.pid)
    errors0 = metric(metrics(mport), "clewd_output_errors_total") or 0
    peer.down()
    n0 = w.n
    t0 = time.monotonic()
    peak, up_min, spool_max, errors, up_last = base, 1.0, 0.0, errors0, None
    while time.monotonic() - t0 < OUTAGE:
        if clewd.poll() is not None:
            die("clewd exited %d during the outage" % clewd.returncode)
        peak = max(peak, rss_kib(clewd.pid))
        m = metrics(mport)
        up = metric(m, "clewd_output_up")
        up_min = min(up_min, up if up is not None else 1.0)
        up_last = up
        spool_max = max(spool_max, metric(m, "clewd_output_spool_bytes") or 0)
        errors = max(errors, metric(m, "clewd_output_errors_total") or 0)
        time.sleep(0.2)
    during = w.n - n0
    peer.up()
    time.sleep(2)  # a little more after the peer is back
    w.halt.set()
    w.join()
    total = w.n
    wait(lambda: len(peer.counts()) >= total, "every line at the peer (%d)" % total)

    def drained():
        m = metrics(mport)
        return (metric(m, "clewd_output_spool_chunks") == 0 and metric(m, "clewd_output_pending_chunks") == 0
                and metric(m, "clewd_output_up") == 1)

    wait(drained, "the spool to drain and the output to be up again")
    m = metrics(mport)
    sent = metric(m, "clewd_output_records_total") or 0
    clewd.send_signal(signal.SIGTERM)
    rc = clewd.wait(timeout=BOUND_S)
    seen = peer.counts(final=True)  # clewd is gone: nothing more is written
    peer.stop()
    lost = [n for n in range(total) if n not in seen]
    dups = sum(c - 1 for c in seen.values())
    print("%s: %.0f s outage, %d lines (%d written during the outage), %d arrived, %d lost, %d duplicates, "
          "%d records sent by clewd (%d resent); RSS %d KiB before the outage, peak %d KiB during it "
          "(bound: +%d MiB); spool peak %d bytes; output_up min %g, output errors %g during the outage"
          % (PEER, OUTAGE, total, during, len(seen), len(lost), dups, sent, sent - total, base, peak,
             RSS_GROWTH_MIB, spool_max, up_min, errors - errors0))
    if lost:
        die("%d lines lost, e.g. n=%s" % (len(lost), lost[:10]))
    if rc != 0:
        die("clewd exited %d on SIGTERM" % rc)
    if peak - base > RSS_GROWTH_MIB * 1024:
        die("RSS grew by %d KiB during the outage" % (peak - base))
    if up_min != 0 or up_last != 0 or errors == errors0:
        die("/metrics did not show the outage to its end (output_up min %g, last %s, %g output errors)"
            % (up_min, up_last, errors - errors0))
    shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
