"""clew.Handler: what logging writes through libclew parses under the formats' rules."""
import logging

import pytest

from conftest import configure, parse, rebuild


def logger(name, level=1):
    import clew

    log = logging.getLogger(name)
    log.handlers[:] = [clew.Handler()]
    log.setLevel(level)
    log.propagate = False
    return log


@pytest.mark.parametrize("fmt", ["pipe", "json"])
@pytest.mark.parametrize("async_", [False, True])
def test_records_parse_with_typed_extras_levels_and_context(fmt, async_, logfile, fmtconv, tracegrep):
    clew = configure(logfile, format=fmt, async_=async_)
    log = logger("t.handler.%s.%s" % (fmt, async_))
    log.info("outside %s", "any request", extra={"n": 1})
    with clew.request({"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}, "GET",
                      "/api/v1/orders/42") as rq:
        assert rq.incoming.source == "w3c"
        log.debug("debug")
        log.info("order %s fetched", 42, extra={"items": 3, "ratio": 0.25, "cached": True, "user": "a|b=c\nd",
                                                 "none": None, "big": 2**70, "obj": [1, 2]})
        log.warning("warn")
        log.error("error")
        log.critical("critical")
        log.log(5, "below debug")
    clew.flush()
    recs = [r for r in parse(fmtconv, logfile) if r.get("event") != "metric"]  # async: clew.dropped
    assert [r.get("message") for r in recs] == ["outside any request", "debug", "order 42 fetched", "warn",
                                                 "error", "critical", "below debug"]
    assert [r["level"] for r in recs] == ["INFO", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "TRACE"]
    r = recs[2]
    assert r["trace"] == "0af7651916cd43dd8448eb211c80319c"
    assert r["parent"] == "b7ad6b7169203331"
    assert len(r["span"]) == 16
    assert r["method"] == "GET" and r["path"] == "/api/v1/orders/42"
    assert r["items"] == 3 and r["ratio"] == 0.25 and r["cached"] is True
    assert r["none"] is None if fmt == "json" else r["none"] in (None, "null")  # pipe values are text
    assert r["user"] == "a|b=c\nd"
    assert str(r["big"]) == str(2**70) and r["obj"] == "[1, 2]"
    if fmt == "json":  # pyms's fields
        assert r["name"] == log.name and r["module"] == "test_handler" and r["funcName"].startswith("test_")
        assert isinstance(r["lineno"], int)
    else:
        assert "funcName" not in r
    # tracegrep rebuilds the request: every record inside, verbatim.
    t = rebuild(tracegrep, "0af7651916cd43dd8448eb211c80319c", logfile)
    lines = [x for x in logfile.read_text().splitlines() if "metric" not in x]
    assert [x["text"] for x in t["records"]] == lines[1:7]


def test_exc_info_becomes_continuation_lines_tracegrep_keeps(logfile, fmtconv, tracegrep):
    clew = configure(logfile, format="pipe")
    log = logger("t.handler.exc")
    with clew.request(None, "POST", "/charge"):
        trace = clew.current().trace
        try:
            {}["missing"]
        except KeyError:
            log.exception("charge failed", extra={"order": 7})
        log.info("after", stack_info=True)
    clew.flush()
    text = logfile.read_text()
    assert "\nTraceback (most recent call last):\n" in text
    recs = parse(fmtconv, logfile)
    assert ">     {}[\"missing\"]" in text  # a source line that looks like JSON is quoted
    assert len(recs) == 2  # the traceback joined to its record, not records of its own
    assert recs[0]["message"].startswith("charge failed\nTraceback (most recent call last):")
    assert recs[0]["message"].endswith("KeyError: 'missing'")
    assert "Stack (most recent call last):" in recs[1]["message"]
    t = rebuild(tracegrep, trace, logfile)
    assert len(t["records"]) == 2
    assert "KeyError: 'missing'" in t["records"][0]["text"]
    assert t["records"][0]["text"].count("\n") >= 3


def test_root_logger_makes_every_library_a_clew_record_in_the_ndc(logfile, fmtconv):
    import clew

    configure(logfile)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    root.handlers[:] = [clew.Handler()]
    root.setLevel(logging.INFO)
    try:
        with clew.ndc("job-17"):
            logging.getLogger("some.library").info("from a library")
    finally:
        root.handlers[:], root.level = saved
    clew.flush()
    (r,) = parse(fmtconv, logfile)
    assert r["message"] == "from a library" and r["trace"] == "job-17"


def test_filters_and_levels_still_apply(logfile, fmtconv):
    import clew

    configure(logfile, level="warn")
    log = logger("t.handler.filters")
    log.handlers[0].addFilter(lambda rec: "secret" not in rec.getMessage())
    log.info("below the client's level")
    log.warning("kept")
    log.warning("a secret")
    clew.flush()
    assert [r["message"] for r in parse(fmtconv, logfile)] == ["kept"]


def test_json_records_always_carry_message_and_span_parent_in_a_request(logfile):
    import json

    clew = configure(logfile, format="json")
    with clew.request(None, "GET", "/"):
        with clew.span("work"):
            pass
        clew.log("info", "root")
    c = clew.counter("t.json.count")
    c.add(2)
    clew.flush()
    recs = [json.loads(x) for x in logfile.read_text().splitlines()]
    assert all("message" in r for r in recs)
    span, root = recs[0], recs[1]
    assert span["message"].startswith("span work ") and span["message"].endswith("us ok")
    assert root["parent"] == "" and len(root["span"]) == 16  # the root: parent ""
    assert any(r.get("message") == "metric t.json.count=2" for r in recs)


@pytest.mark.parametrize("fmt", ["pipe", "json"])
def test_clew_logger_fast_path_writes_what_the_standard_path_writes(fmt, tmp_path, fmtconv):
    import clew

    def calls(log):
        with clew.request(None, "GET", "/same"):
            log.info("order %s fetched", 42, extra={"items": 3, "ratio": 0.5, "ok": True, "u": "x|y"})
            log.warning("%(a)s and %(b)d", {"a": "dict", "b": 2})
            log.log(5, "trace level")
            log.error("with %s", "exc", exc_info=ValueError("boom"))  # the standard path
            log.info("stacked", stacklevel=1)

    out = {}
    for name, cls in (("std", logging.Logger), ("fast", clew.Logger)):
        path = tmp_path / (name + ".log")
        configure(path, format=fmt)
        log = cls("t.logger.%s.%s" % (fmt, name))  # same caller frame (calls) for both
        log.addHandler(clew.Handler())
        log.setLevel(1)
        calls(log)
        clew.flush()
        out[name] = parse(fmtconv, path)
    for a, b in zip(out["std"], out["fast"], strict=True):
        for r in (a, b):
            for k in ("timestamp", "trace", "span", "ids", "name"):
                r.pop(k, None)
        assert a == b
    if fmt == "json":
        assert out["fast"][0]["funcName"] == "calls" and out["fast"][0]["module"] == "test_handler"


def test_clew_logger_takes_the_standard_path_when_something_needs_a_record(logfile, fmtconv):
    import clew

    configure(logfile)
    log = clew.Logger("t.logger.fallback")
    log.addHandler(clew.Handler())
    seen = []
    log.addFilter(lambda r: seen.append(r.getMessage()) or True)  # a logger filter needs the LogRecord
    log.warning("filtered %d", 1)
    other = logging.Handler()
    other.emit = lambda r: seen.append("other:" + r.getMessage())
    log.filters.clear()
    log.addHandler(other)  # another kind of handler needs it too
    log.warning("both %d", 2)
    with pytest.raises(KeyError):
        log.warning("bad extra", extra={"message": "x"})  # as logging refuses it
    clew.flush()
    assert seen == ["filtered 1", "other:both 2"]
    assert [r["message"] for r in parse(fmtconv, logfile)] == ["filtered 1", "both 2"]


def test_a_deep_traceback_is_cut_to_fit_one_record(logfile, fmtconv):
    import clew

    configure(logfile, format="pipe")
    log = logger("t.handler.deep")

    def down(n):  # two functions in turn: the traceback module collapses only repeats of one line
        if n == 0:
            raise RecursionError("bottom reached")
        other(n - 1)

    def other(n):
        down(n)

    with clew.request(None, "GET", "/deep"):
        try:
            down(300)
        except RecursionError:
            log.exception("deep failure")
        with pytest.raises(RecursionError):
            with clew.span("deep"):
                down(300)
    clew.flush()
    recs = parse(fmtconv, logfile)
    logged = [r for r in recs if r.get("event") != "span"]
    assert len(logged) == 2 and clew.info()["dropped"] == 0
    for r in logged:
        assert r["message"].split("\n")[1] == "Traceback (most recent call last):"
        assert "bytes cut)" in r["message"] and r["message"].endswith("RecursionError: bottom reached")
