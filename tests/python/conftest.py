"""Fixtures of the Python module's tests (issue 15).

The build's C programs read what the module writes: fmtconv parses every line
with the formats library (the same rules as formats/vectors), tracegrep
rebuilds transactions. meson passes their paths in the environment (see
python/meson.build); run by hand with the same variables set.
"""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

# The tests pin what they configure: a caller's CLEW_* settings must not leak in.
for _v in ("CLEW_SERVICE", "CLEW_FORMAT", "CLEW_OUTPUT", "CLEW_LEVEL", "CLEW_ASYNC", "CLEW_RING_BYTES"):
    os.environ.pop(_v, None)

BUILD = os.environ.get("CLEW_BUILD_ROOT", "")
SRC = os.environ.get("CLEW_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))


def prog(var, rel):
    path = os.environ.get(var) or os.path.join(BUILD, rel)
    if not os.access(path, os.X_OK):
        pytest.fail("%s not found (%s): run through meson test or set %s" % (rel, path, var))
    return path


@pytest.fixture(scope="session")
def tracegrep():
    return prog("CLEW_TRACEGREP", "cli/tracegrep")


@pytest.fixture(scope="session")
def fmtconv():
    return prog("CLEW_FMTCONV", "examples/fmtconv")


@pytest.fixture(scope="session")
def c_services():
    return {n: prog("CLEW_" + n.upper(), "examples/" + n) for n in ("gateway", "orders", "billing")}


@pytest.fixture
def logfile(tmp_path):
    return tmp_path / "out.log"


def configure(logfile, **kw):
    """Point the module's client at @logfile (a fresh client each test)."""
    import clew

    kw.setdefault("service", "pytest")
    kw.setdefault("level", "trace")
    clew.configure(output="file:%s" % logfile, **kw)
    return clew


def parse(fmtconv, path):
    """Every record of @path through the formats library (fmtconv --to json): all must parse."""
    r = subprocess.run([fmtconv, "--to", "json", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, "fmtconv: lines that are no record:\n%s%s" % (r.stdout, r.stderr)
    return [json.loads(line) for line in r.stdout.splitlines()]


def rebuild(tracegrep, trace, *paths):
    """tracegrep --json TRACE PATHS: the transaction as the CLI rebuilds it."""
    r = subprocess.run([tracegrep, "--json", "--color=never", trace] + [str(p) for p in paths],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert proc.poll() is None, "service on port %d exited at start" % port
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("nothing listens on port %d" % port)


def wait_children(proc, n, timeout=60):
    """Wait until @proc has @n child processes (gunicorn's workers all booted: a SIGTERM that
    comes while the master still forks one makes gunicorn wait its 30 s graceful timeout)."""
    path = "/proc/%d/task/%d/children" % (proc.pid, proc.pid)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert proc.poll() is None, "process %d exited while its children started" % proc.pid
        with open(path) as f:
            if len(f.read().split()) >= n:
                time.sleep(1)  # a just-forked worker still has the master's signal handlers
                return
        time.sleep(0.05)
    raise AssertionError("process %d has not started %d children" % (proc.pid, n))


def spawn(argv, log, port, fmt="pipe", env=None, cwd=None):
    """Start a service logging to @log and wait until it listens on @port."""
    e = dict(os.environ, CLEW_OUTPUT="file:%s" % log, CLEW_FORMAT=fmt, CLEW_LEVEL="info")
    e.pop("CLEW_SERVICE", None)
    e.update(env or {})
    p = subprocess.Popen(argv, env=e, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_port(port, p)
    return p


def stop(p):
    p.terminate()
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def post(url, body, headers=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers=dict(headers or {}, **{"Content-Type": "application/json"}))
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


PYTHON = sys.executable
EXAMPLES = os.path.join(SRC, "examples", "python")
