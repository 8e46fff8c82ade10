"""clew.asgi.Middleware: concurrent ASGI requests on one loop, each its own trace."""
import asyncio
import logging

from conftest import configure, parse, rebuild


def test_asgi_middleware_concurrent_requests(logfile, fmtconv, tracegrep):
    import clew
    import clew.asgi

    configure(logfile, format="json", async_=True)
    log = clew.Logger("t.asgi")
    log.addHandler(clew.Handler())
    log.setLevel(logging.INFO)

    async def app(scope, receive, send):
        n = int(scope["path"].rsplit("/", 1)[1])
        log.info("handling %d", n, extra={"n": n})
        await asyncio.sleep(0.001 * (n % 4))
        if n % 10 == 9:
            raise RuntimeError("boom %d" % n)
        await send({"type": "http.response.start", "status": 404 if n % 10 == 5 else 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    mw = clew.asgi.Middleware(app)

    async def one(n):
        sent = []

        async def send(m):
            sent.append(m)

        async def receive():
            return {"type": "http.request", "body": b""}

        trace = "%032x" % (0x5000 + n)
        scope = {"type": "http", "method": "GET", "path": "/items/%d" % n,
                 "headers": [(b"traceparent", ("00-%s-%016x-01" % (trace, n + 1)).encode())]}
        try:
            await mw(scope, receive, send)
        except RuntimeError:
            assert n % 10 == 9
        return n, trace, sent

    async def main():
        return await asyncio.gather(*(one(n) for n in range(100)))

    results = asyncio.run(main())
    clew.flush()
    for n, trace, sent in results:
        if n % 10 == 9:
            continue
        start = sent[0]
        assert (b"x-request-id", trace.encode()) in start["headers"]
    recs = [r for r in parse(fmtconv, logfile) if r.get("event") != "metric"]
    assert len(recs) == 100 * 3 + 10  # handling, access, span; the exception logged once by the span
    for r in recs:
        n = int(r["path"].rsplit("/", 1)[1])
        assert r["trace"] == "%032x" % (0x5000 + n)
    for n in (0, 5, 9):
        t = rebuild(tracegrep, "%032x" % (0x5000 + n), logfile)
        (req,) = [s for s in t["spans"] if s["name"] == "GET /items/%d" % n]
        assert req["parent"] == "%016x" % (n + 1)
        assert req["error"] == (n == 9)
        assert len(t["records"]) == (4 if n == 9 else 3)
