"""clew.ndc and clew.span: per thread and per asyncio task, never mixed."""
import asyncio
import threading

import pytest

from conftest import configure, parse, rebuild


def test_ndc_nests_and_restores(logfile):
    clew = configure(logfile)
    assert clew.ndc_path() == ""
    with clew.ndc("t1") as got:
        assert got == "t1"
        with clew.ndc("a"):
            assert clew.ndc_path() == "t1:a"
        assert clew.ndc_path() == "t1"
    assert clew.ndc_path() == ""
    with clew.ndc() as new:  # a new transaction ID
        assert len(new) == 32 and clew.ndc_path() == new
    with pytest.raises(ValueError):
        with clew.ndc("bad id"):
            pass


def test_decorator_on_sync_and_async_functions(logfile):
    clew = configure(logfile)

    @clew.ndc("job")
    def work(n):
        return clew.ndc_path() + str(n)

    @clew.ndc("ajob")
    async def awork(n):
        await asyncio.sleep(0)
        return clew.ndc_path() + str(n)

    assert work(1) == "job1" and work.__name__ == "work"
    with clew.ndc("t"):
        assert work(2) == "t:job2"
        assert asyncio.run(awork(3)) == "t:ajob3"  # asyncio.run copies the context
    assert clew.ndc_path() == ""


def test_100_concurrent_asyncio_tasks_never_mix_ids(logfile, fmtconv):
    clew = configure(logfile, format="json", async_=True)

    async def task(i):
        with clew.ndc("task-%d" % i):
            for step in range(5):
                clew.log("info", "step", task=i, step=step)
                await asyncio.sleep(0.001 * ((i * 7 + step) % 3))
                with clew.span("inner", task=i):
                    await asyncio.sleep(0)
                    clew.log("info", "in span", task=i, step=step)

    async def main():
        await asyncio.gather(*(task(i) for i in range(100)))

    asyncio.run(main())
    clew.flush()
    recs = [r for r in parse(fmtconv, logfile) if r.get("event") != "metric"]
    assert len(recs) == 100 * 5 * 3
    for r in recs:
        assert r["trace"] == "task-%d" % r["task"], r
        assert r["ids"][0] == r["trace"] and len(r["ids"]) == (1 if r["message"] == "step" else 2)


def test_threads_never_mix_ids(logfile, fmtconv):
    clew = configure(logfile, format="pipe")
    barrier = threading.Barrier(16)

    def run(i):
        with clew.ndc("thread-%d" % i):
            barrier.wait()
            for step in range(50):
                clew.log("info", "x", thread=i, step=step)

    ts = [threading.Thread(target=run, args=(i,)) for i in range(16)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    recs = parse(fmtconv, logfile)
    assert len(recs) == 16 * 50
    assert all(r["trace"] == "thread-%d" % r["thread"] for r in recs)


def test_span_records_status_and_an_exception_logged_once(logfile, fmtconv, tracegrep):
    clew = configure(logfile, format="pipe")
    with clew.request(None, "GET", "/x"):
        trace = clew.current().trace
        with clew.span("ok", k=1) as sp:
            assert clew.current().span == sp.id
        with pytest.raises(ZeroDivisionError):
            with clew.span("outer"):
                with clew.span("inner"):
                    1 / 0
        with clew.span("forced") as sp:
            sp.set(extra="v")
            sp.set_status("error")
    recs = parse(fmtconv, logfile)
    spans = {r["name"]: r for r in recs if r.get("event") == "span"}
    assert spans["ok"]["status"] == "ok" and spans["ok"]["k"] == 1 and spans["ok"]["dur_us"] >= 0
    assert spans["inner"]["status"] == "error" and spans["outer"]["status"] == "error"
    assert spans["forced"]["status"] == "error" and spans["forced"]["extra"] == "v"
    logged = [r for r in recs if r.get("event") != "span"]
    assert len(logged) == 1  # by the innermost span only
    assert logged[0]["message"].startswith("span inner failed: ZeroDivisionError: division by zero\nTraceback")
    assert logged[0]["span"] == spans["inner"]["span"]
    t = rebuild(tracegrep, trace, logfile)
    byname = {s["name"]: s for s in t["spans"] if s["name"]}
    assert byname["inner"]["parent"] == byname["outer"]["id"]
    assert byname["inner"]["error"] and byname["inner"]["records"]


def test_span_decorator_and_async_span_across_awaits(logfile, fmtconv):
    clew = configure(logfile)

    @clew.span("charge", provider="x")
    async def charge():
        await asyncio.sleep(0.002)
        clew.log("info", "charging")

    async def main():
        await asyncio.gather(charge(), charge())

    with clew.ndc("tr"):
        asyncio.run(main())
    recs = parse(fmtconv, logfile)
    spans = [r for r in recs if r.get("event") == "span"]
    logs = [r for r in recs if r.get("event") != "span"]
    assert len(spans) == 2 and {s["span"] for s in spans} == {l["span"] for l in logs}
    assert all(s["dur_us"] >= 2000 and s["provider"] == "x" and s["trace"] == "tr" for s in spans)


def test_metrics(logfile, fmtconv):
    clew = configure(logfile)
    c = clew.counter("t.requests", route="/x")
    c.add()
    c.add(4)
    g = clew.gauge("t.inflight")
    g.set(3)
    g.add(-1)
    h = clew.histogram("t.latency", buckets=[0.1, 1], unit="s")
    for v in (0.05, 0.5, 5):
        h.observe(v)
    assert c.value == 5 and g.value == 2 and h.value == 3 and h.sum == 5.55
    assert clew.counter("t.requests", route="/x").value == 5  # the same metric
    with pytest.raises(ValueError):
        clew.gauge("t.requests", route="/x")  # another type
    clew.flush()
    recs = {r["metric"]: r for r in parse(fmtconv, logfile) if r.get("event") == "metric"}
    assert recs["t.requests"]["value"] == 5 and recs["t.requests"]["route"] == "/x"
    assert recs["t.latency"]["le_0.1"] == 1 and recs["t.latency"]["le_1"] == 2
