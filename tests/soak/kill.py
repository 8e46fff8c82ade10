#!/usr/bin/python3
"""kill.py - clewd killed with SIGKILL at random moments while it tails growing files.

Three files in one directory, tailed by one clewd (tail:DIR/*.log) into an
archive, written by one writer thread at a steady rate:
  plain.log   only appended to;
  rename.log  rotated by rename (to rename.log.N, kept: not matched by the
              glob, so clewd must find it again by its inode after a restart)
              and recreated;
  copy.log    rotated by copytruncate (copied to copy.log.N, then truncated to
              0), the writer pausing meanwhile, as logrotate's copytruncate does
              with a writer that does not reopen its file; then 600 lines at once.
clewd is killed with SIGKILL KILLS times, each after a random time alive
(0.2 to 2.5 s), and started again at once on the same state directory. At
the end the writer stops, a last clewd reads everything and is stopped with
SIGTERM, and the archive is read back with archive_dump.

Checked and printed, per file:
  - lost: lines written that are not in the archive. plain.log and
    rename.log: must be 0.
  - copy.log: copytruncate's inherent window. Lines that were in copy.log
    when it was truncated and that clewd had not read yet exist only in the
    copy (copy.log.N, not tailed): clewd cannot read them, and a clewd that
    is dead at the moment of the truncation has not read any line written
    since it died. What is checked: every line lost from copy.log was
    truncated away (it is in a copy.log.N), no line of the last generation
    (never truncated) is lost, and within each truncated generation the
    lost lines are its last ones (clewd read a prefix of it: a line lost
    before one that arrived would be clewd skipping what it could read,
    e.g. resuming at an old offset in a file truncated and grown again).
    The count is printed.
  - duplicates: lines in the archive more than once (SIGKILL after a chunk
    reached the archive and before the checkpoint moved past it: the
    delivery is at-least-once; counted, not failed).
Nothing here asserts on time: the waits poll with a bound against hangs.

Usage: kill.py KILLS [steady|fast]
  steady (default): a rotation every 0.8-2.5 s, clewd alive 0.2-2.5 s at a time.
  fast: rename.log rotated every 0.15-0.6 s and clewd alive 0.03-0.7 s: more
        rotated files than clewd keeps rotated names for (CD_TAIL_ROTATED_MAX,
        16) pile up within rotate_wait (2 s), across restarts.
Environment: CLEWD_BIN, ARCHIVE_DUMP_BIN.
Short forms in the test suite (15 kills steady, 60 fast), long form from bench/soak_kill.sh (100).
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

KILLS = int(sys.argv[1])
# seconds: between two rotations of rename.log / copy.log, and a clewd's life before its SIGKILL
PACES = {
    "steady": {"rename": (0.8, 2.5), "copy": (0.8, 2.5), "alive": (0.2, 2.5)},
    "fast": {"rename": (0.15, 0.6), "copy": (0.5, 1.2), "alive": (0.03, 0.7)},
}
PACE = PACES[sys.argv[2] if len(sys.argv) > 2 else "steady"]
RATE = 300  # lines a second, per file
BOUND_S = 300  # longest a wait polls: a bound against hangs, not a check of speed
TMP = tempfile.mkdtemp(prefix="soak-kill.")
DIR = os.path.join(TMP, "logs")
ARCH = os.path.join(TMP, "arch")
STATE = os.path.join(TMP, "state")
FILES = ["plain", "rename", "copy"]


def die(msg):
    sys.exit("FAIL: %s (files in %s)" % (msg, TMP))


class Writer(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.n = {f: 0 for f in FILES}
        self.rot = {f: 0 for f in FILES}
        self.halt = threading.Event()
        self.lock = threading.Lock()

    @staticmethod
    def path(f):
        return os.path.join(DIR, f + ".log")

    def line(self, f, n):
        return ("%s INFO t%s%07d|soak|GET|/k|src=%s|n=%d|msg=kill soak line %d of %s, padded to a usual size\n"
                % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), f[0], n, f, n, n, f))

    def rotate(self, f):
        """rename.log: renamed away; copy.log: copied, then truncated (nothing written in between)."""
        self.rot[f] += 1
        dst = "%s.%d" % (self.path(f), self.rot[f])
        if f == "rename":
            os.rename(self.path(f), dst)
            open(self.path(f), "a").close()
        else:
            shutil.copyfile(self.path(f), dst)
            os.truncate(self.path(f), 0)
            # a burst at once: the new content often outgrows where a dead clewd stopped reading
            # (it must start the file again from 0, not resume at its old offset)
            with open(self.path(f), "a") as fh:
                fh.write("".join(self.line(f, n) for n in range(self.n[f], self.n[f] + 600)))
            self.n[f] += 600

    def run(self):
        start = time.monotonic()
        next_rot = {"rename": 1.0, "copy": 1.7}
        while not self.halt.is_set():
            now = time.monotonic() - start
            with self.lock:
                for f in FILES:
                    due = int(now * RATE)
                    if due > self.n[f]:
                        with open(self.path(f), "a") as fh:
                            fh.write("".join(self.line(f, n) for n in range(self.n[f], due)))
                        self.n[f] = due
                for f in next_rot:
                    if now >= next_rot[f]:
                        self.rotate(f)
                        next_rot[f] = now + random.uniform(*PACE[f])
            time.sleep(0.02)


def start_clewd(k):
    err = open(os.path.join(TMP, "clewd.%d.log" % k), "wb")
    env = dict(os.environ, CLEWD_CHUNK_AGE="200ms")
    return subprocess.Popen([os.environ["CLEWD_BIN"], "-s", STATE, "-i", "tail:" + os.path.join(DIR, "*.log"),
                             "-o", "archive:" + ARCH], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=err, env=env)


def checkpoint_entries(path):
    """The checkpoint file's entries as (name, ino, offset) (collector/chunk/checkpoint.c's format)."""
    import struct
    with open(path, "rb") as fh:
        b = fh.read()
    if b[:4] != b"CLWK":
        return []
    count, pos, out = struct.unpack_from("<I", b, 8)[0], 12, []
    for _ in range(count):
        nl = struct.unpack_from("<H", b, pos)[0]
        name = b[pos + 2:pos + 2 + nl].decode(errors="replace")
        pos += 2 + nl
        _dev, ino, off = struct.unpack_from("<QQQ", b, pos)
        pos += 24 + 10
        out.append((os.path.basename(name), ino, off))
    return out


def archive():
    """{(file, n): times} of the archive's records."""
    out = subprocess.run([os.environ["ARCHIVE_DUMP_BIN"], ARCH], capture_output=True, check=True).stdout
    seen = {}
    for raw in out.splitlines():
        r = json.loads(raw)
        if "src" in r and "n" in r:
            key = (r["src"], int(r["n"]))
            seen[key] = seen.get(key, 0) + 1
    return seen


def copies_of_copy():
    """The n of the lines of each copy.log.N (each generation truncated away), in file order."""
    gens = []
    for name in os.listdir(DIR):
        if name.startswith("copy.log."):
            with open(os.path.join(DIR, name)) as fh:
                gens.append([int(line.split("|n=")[1].split("|")[0]) for line in fh])
    return gens


def not_a_suffix(gens, lost):
    """Generations whose lost lines are not all at their end: clewd skipped lines it could read."""
    bad = []
    for g in gens:
        first = next((i for i, n in enumerate(g) if n in lost), len(g))
        if any(n not in lost for n in g[first:]):
            bad.append(g[first])
    return bad


def main():
    os.makedirs(DIR)
    for f in FILES:
        open(Writer.path(f), "w").close()
    w = Writer()
    p = start_clewd(0)
    w.start()
    for k in range(1, KILLS + 1):
        time.sleep(random.uniform(*PACE["alive"]))
        if p.poll() is not None:
            die("clewd exited by itself (%d) before kill %d" % (p.returncode, k))
        p.send_signal(signal.SIGKILL)
        p.wait()
        # the checkpoint each clewd started from: printed when a line is lost
        ck = os.path.join(STATE, "checkpoint")
        if os.path.exists(ck):
            shutil.copyfile(ck, os.path.join(TMP, "checkpoint.%d" % k))
        p = start_clewd(k)
    time.sleep(1)
    w.halt.set()
    w.join()
    total = dict(w.n)
    # the last clewd reads on; every plain and rename line in the archive, or a bound
    want = sum(total[f] for f in ("plain", "rename"))
    t0 = time.monotonic()
    while sum(1 for key in archive() if key[0] in ("plain", "rename")) < want:
        if p.poll() is not None:
            die("the last clewd exited (%d)" % p.returncode)
        if time.monotonic() - t0 > BOUND_S:
            break
        time.sleep(0.5)
    time.sleep(1)  # copy.log's lines in the same chunks
    p.send_signal(signal.SIGTERM)
    if p.wait(timeout=BOUND_S) != 0:
        die("the last clewd exited %d on SIGTERM" % p.returncode)
    seen = archive()
    gens = copies_of_copy()
    truncated = {n for g in gens for n in g}
    fail = []
    for f in FILES:
        lost = [n for n in range(total[f]) if (f, n) not in seen]
        dups = sum(c - 1 for (g, _), c in seen.items() if g == f)
        extra = ""
        if f == "copy":
            outside = [n for n in lost if n not in truncated]
            extra = (", %d of the lost in copytruncate's window (truncated before clewd read them), %d outside it"
                     % (len(lost) - len(outside), len(outside)))
            if outside:
                fail.append("copy.log: %d lines lost that were never truncated away, e.g. %s"
                            % (len(outside), outside[:10]))
            holes = not_a_suffix(gens, set(lost))
            if holes:
                fail.append("copy.log: %d generations lost lines before lines that arrived (from n=%s): "
                            "not copytruncate's window" % (len(holes), holes[:10]))
        elif lost:
            fail.append("%s.log: %d lines lost, e.g. %s" % (f, len(lost), lost[:10]))
        print("%s.log: %d lines, %d rotations, %d lost, %d duplicates%s"
              % (f, total[f], w.rot[f], len(lost), dups, extra))
    print("%d SIGKILLs" % KILLS)
    if fail:
        for k in range(1, KILLS + 1):
            ck = os.path.join(TMP, "checkpoint.%d" % k)
            if os.path.exists(ck):
                print("checkpoint clewd %d started from: %s" % (k, checkpoint_entries(ck)))
        die("; ".join(fail))
    shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
