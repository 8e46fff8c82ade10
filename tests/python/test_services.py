"""A real gunicorn + Flask run (pre-fork workers), fork and interpreter shutdown."""
import os
import subprocess
import sys
import textwrap

from conftest import EXAMPLES, PYTHON, free_port, parse, post, rebuild, spawn, stop, wait_children


def test_gunicorn_flask_every_request_rebuilds(tmp_path, fmtconv, tracegrep):
    """--preload: the client is made in the master and forked into 2 workers (async mode: the
    ring restarts in each child); every request's records rebuild exactly with tracegrep."""
    port = free_port()
    log = tmp_path / "billing.log"
    g = spawn([PYTHON, "-m", "gunicorn", "--preload", "-w", "2", "-b", "127.0.0.1:%d" % port,
               "--chdir", EXAMPLES, "billing:app"], log, port, fmt="json",
              env={"CLEW_ASYNC": "1", "CLEW_SERVICE": "billing"})
    wait_children(g, 2)
    traces = []
    try:
        for i in range(1, 29):
            trace = "%032x" % (0xabc000 + i)
            st, hdrs, body = post("http://127.0.0.1:%d/charge" % port,
                                  {"order": i, "user": "u%d" % i, "amount": 100 + i},
                                  {"traceparent": "00-%s-%016x-01" % (trace, i)})
            assert st == (502 if i % 7 == 0 else 200), body
            assert hdrs["X-Request-ID"] == trace
            traces.append((i, trace))
    finally:
        stop(g)  # SIGTERM: workers exit, records are flushed at interpreter shutdown
    assert g.returncode == 0, g.stderr.read().decode()
    recs = parse(fmtconv, log)  # every line is a record under the formats' rules
    lines = log.read_text().splitlines()
    pids = set()
    for i, trace in traces:
        t = rebuild(tracegrep, trace, log)
        mine = [x for x in lines if trace in x]
        assert sorted(r["text"].split("\n")[0] for r in t["records"]) == sorted(mine)
        names = [r["attrs"].get("name") for r in t["records"] if r["event"] == "span"]
        assert "POST /charge" in names and "processor" in names
        access = [r for r in t["records"] if r["message"].startswith("POST /charge -> ")]
        assert len(access) == 1 and access[0]["attrs"]["status"] == (502 if i % 7 == 0 else 200)
        req = next(s for s in t["spans"] if s["name"] == "POST /charge")
        assert req["parent"] == "%016x" % i and req["error"] == (i % 7 == 0)
    assert len([r for r in recs if r.get("event") != "metric"]) == sum(1 for x in lines if "abc0" in x)


SCRIPT = textwrap.dedent("""
    import os, sys, logging, clew
    clew.configure(service="life", output="file:" + sys.argv[1], async_=True, format="pipe")
    log = logging.getLogger("life")
    log.addHandler(clew.Handler())
    log.setLevel(logging.INFO)
    with clew.ndc("parent"):
        for i in range(1000):
            log.info("before fork %d", i, extra={"i": i})
    pid = os.fork()
    who = "child" if pid == 0 else "parent"
    with clew.ndc(who + "-after"):
        for i in range(1000):
            log.info("%s %d", who, i, extra={"i": i})
    if pid:
        _, st = os.waitpid(pid, 0)
        assert st == 0
    # no flush: interpreter shutdown (and libclew's atexit) must write everything
""")


def test_fork_and_shutdown_flush_every_record(tmp_path, fmtconv):
    log = tmp_path / "life.log"
    script = tmp_path / "life.py"
    script.write_text(SCRIPT)
    r = subprocess.run([PYTHON, str(script), str(log)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    recs = [x for x in parse(fmtconv, log) if x.get("event") != "metric"]
    by = {}
    for x in recs:
        by.setdefault(x["trace"], []).append(x["i"])
    assert sorted(by["parent"]) == list(range(1000))  # written once: the child's ring starts empty
    assert sorted(by["parent-after"]) == list(range(1000))
    assert sorted(by["child-after"]) == list(range(1000))
