#!/usr/bin/env python3
"""cdp_probe.py - open a page in headless Chromium and run a probe in it over the DevTools protocol.

Usage: cdp_probe.py CHROMIUM PROFILE_DIR URL PROBE_JS ARGS_JSON SCREENSHOT_PNG

Chromium is started with --remote-debugging-pipe (the protocol on fds 3 and 4, no port, no
websocket library). The page is loaded in a 1400x900 window; then PROBE_JS (a file holding one
expression, a function of the object ARGS_JSON) is evaluated in the page and its value awaited
(with "noscript": true in ARGS_JSON the page's own scripts are disabled first);
a screenshot is written. Printed on stdout, one JSON object: {"result": the probe's value,
"exceptions": [uncaught exceptions' texts], "violations": [console/log entries about the
Content-Security-Policy or errors]}. Exit 0 when that was produced, 2 on a protocol failure.
The probe runs in the page's own world: DevTools' evaluation is not subject to the page's CSP,
so the page's policy stays as strict as it ships.
"""
import base64
import json
import os
import subprocess
import sys
import time

TIMEOUT_S = 120  # the whole run: a 2,000-span page loads in well under a second; this only stops a hang


class Pipe:
    def __init__(self, chromium, profile):
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def fds():
            # Copies first: a pipe end may itself be fd 3 or 4, and dup2 onto itself would keep
            # its close-on-exec flag.
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
             "--user-data-dir=" + profile, "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=fds, close_fds=False)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.deadline = time.monotonic() + TIMEOUT_S

    def send(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        return self.next_id

    def read(self):
        while b"\0" not in self.buf:
            if time.monotonic() > self.deadline:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self.from_chrome, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=None):
        want = self.send(method, params, session)
        while True:
            msg = self.read()
            if msg.get("id") == want:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, name):
        for i, e in enumerate(self.events):
            if e.get("method") == name:
                del self.events[i]
                return e
        while True:
            msg = self.read()
            if msg.get("method") == name:
                return msg
            self.events.append(msg)

    def close(self):
        try:
            self.send("Browser.close")
            self.proc.wait(timeout=20)
        except Exception:  # a browser that does not close is killed: it is ours
            self.proc.kill()
            self.proc.wait()


def main():
    if len(sys.argv) != 7:
        print(__doc__, file=sys.stderr)
        return 2
    chromium, profile, url, probe_path, args_json, png = sys.argv[1:]
    probe = open(probe_path, encoding="utf-8").read()
    c = Pipe(chromium, profile)
    try:
        target = c.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = c.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        c.call("Page.enable", session=s)
        c.call("Runtime.enable", session=s)
        c.call("Log.enable", session=s)
        c.call("Emulation.setDeviceMetricsOverride",
               {"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=s)
        if json.loads(args_json).get("noscript"):
            # The page as a browser with scripts off shows it (the probe still runs: DevTools' own).
            c.call("Emulation.setScriptExecutionDisabled", {"value": True}, session=s)
        c.call("Page.navigate", {"url": url}, session=s)
        c.wait_event("Page.loadEventFired")
        r = c.call("Runtime.evaluate", {"expression": "(" + probe + ")(" + args_json + ")",
                                        "awaitPromise": True, "returnByValue": True}, session=s)
        if "exceptionDetails" in r:
            raise RuntimeError("the probe failed: " + json.dumps(r["exceptionDetails"])[:2000])
        shot = c.call("Page.captureScreenshot", {"format": "png"}, session=s)
        with open(png, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        exceptions, violations = [], []
        for e in c.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.exceptionThrown":
                exceptions.append(json.dumps(p.get("exceptionDetails", {}))[:500])
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                violations.append(p["entry"].get("text", ""))
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning"):
                violations.append(json.dumps(p.get("args", []))[:500])
        print(json.dumps({"result": r["result"].get("value"), "exceptions": exceptions,
                          "violations": violations}))
        return 0
    except (RuntimeError, TimeoutError, EOFError, KeyError) as e:
        print(f"cdp_probe: {url}: {e}", file=sys.stderr)
        return 2
    finally:
        c.close()


if __name__ == "__main__":
    sys.exit(main())
