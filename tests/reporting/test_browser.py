"""report.html in a real headless browser (Debian's chromium), driven over the DevTools protocol on 127.0.0.1.

The page is opened from disk, as a reviewer would; the test takes a full-page
screenshot, reads the key elements back from the live DOM, and asserts the
browser logged no error (a blocked fetch under the page's Content-Security-Policy,
a script error, a failed load would all be one). Skipped, saying why, where no
chromium is installed; .ci/run installs it.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import struct
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from gamedays.reporting.render import render_report
from tests.reporting.journals import HOSTILE

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
START_SECONDS = 30.0
LOAD_SECONDS = 30.0


def browser() -> str | None:
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


class DevTools:
    """One page of the browser over its DevTools WebSocket: commands answered in order, events collected."""

    def __init__(self, url: str) -> None:
        websocket = pytest.importorskip("websocket", reason="websocket-client is not installed (it comes with kubernetes)")
        self._socket = websocket.create_connection(url, timeout=LOAD_SECONDS)
        self._next = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._next += 1
        ident = self._next
        self._socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + LOAD_SECONDS
        while time.monotonic() < deadline:
            message = json.loads(self._socket.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)
        raise AssertionError(f"{method}: no answer within {LOAD_SECONDS}s")

    def wait_for(self, method: str) -> None:
        deadline = time.monotonic() + LOAD_SECONDS
        while not any(e.get("method") == method for e in self.events):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {method} within {LOAD_SECONDS}s")
            self.events.append(json.loads(self._socket.recv()))

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def errors(self) -> list[str]:
        """Everything the browser logged as an error: console errors, uncaught exceptions, blocked or failed loads."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(json.dumps(params.get("exceptionDetails", {}))[:300])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(json.dumps(params.get("args", []))[:300])
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                found.append(params["entry"].get("text", "")[:300])
        return found

    def close(self) -> None:
        self._socket.close()


@pytest.fixture
def page(tmp_path: Path) -> Iterator[DevTools]:
    """A headless chromium listening on 127.0.0.1 only, with one blank page attached."""
    path = browser()
    if path is None:
        pytest.skip(f"no browser installed ({', '.join(BROWSERS)} not on PATH): `apt-get install chromium`, as .ci/run does")
    profile = tmp_path / "profile"
    command = [
        path, "--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
        "--disable-background-networking", "--disable-sync", "--hide-scrollbars", "--mute-audio",
        "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", f"--user-data-dir={profile}",
        "--window-size=1100,900", "about:blank",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.insert(1, "--no-sandbox")  # chromium's sandbox refuses to run as root
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_SECONDS
        while not (port_file.is_file() and port_file.read_text().strip()):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                stderr = process.communicate(timeout=10)[1].decode(errors="replace")[-2000:]
                pytest.fail(f"{path} did not open its DevTools port within {START_SECONDS}s:\n{stderr}")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            targets = json.load(answer)
        target = next(t for t in targets if t.get("type") == "page")
        tools = DevTools(target["webSocketDebuggerUrl"])
        try:
            for domain in ("Page", "Runtime", "Log"):
                tools.send(f"{domain}.enable")
            yield tools
        finally:
            tools.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


def open_report(page: DevTools, folder: Path) -> None:
    page.events.clear()
    page.send("Page.navigate", url=(folder / "report.html").resolve().as_uri())
    page.wait_for("Page.loadEventFired")


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "not a PNG"
    return struct.unpack(">II", data[16:24])


KEY_ELEMENTS = """JSON.stringify({
  title: document.title,
  h2: [...document.querySelectorAll('h2')].map(e => e.textContent.trim()),
  sliCharts: document.querySelectorAll('svg.sli-chart').length,
  budget: document.querySelectorAll('svg.budget-chart').length,
  burndown: document.querySelectorAll('svg.burndown-chart path.burnline').length,
  drRows: [...document.querySelectorAll('table.dr tbody tr')].map(r => [...r.cells].map(c => c.innerText.trim())),
  drChecks: document.querySelectorAll('section.dr-check').length,
  notVerified: [...document.querySelectorAll('table.dr-steps .badge.not-verified')].map(e => e.textContent),
  uncovered: [...document.querySelectorAll('table.coverage tr.uncovered td')].map(e => e.innerText.trim()),
  impact: document.querySelectorAll('table.impact tbody tr').length,
  score: document.querySelector('#score .score-value').textContent,
  scripts: document.querySelectorAll('script').length,
  drTableWidth: document.querySelector('table.dr').getBoundingClientRect().width,
  chartHeight: document.querySelector('svg.sli-chart').getBoundingClientRect().height,
  height: document.documentElement.scrollHeight,
})"""


def test_the_report_renders_in_a_real_browser_without_errors(page, make, tmp_path):
    folder = make("dr")
    rendered = render_report(folder, ["html"])
    open_report(page, folder)
    key = json.loads(page.evaluate(KEY_ELEMENTS))
    assert key["title"] == "Gameday 2024-05: May 2024: the shop under stress"
    for section in ("Summary", "Service level indicators", "Error budget", "Experiments", "Disaster recovery", "DR coverage",
                    "Resilience score"):
        assert section in key["h2"]
    assert key["sliCharts"] == 2 and key["budget"] == 1 and key["burndown"] == 2
    assert [row[0].split("\n")[0] for row in key["drRows"]] == ["database-cluster", "dns", "kubernetes-cluster", "database-cluster-2"]
    assert [row[2] for row in key["drRows"]] == ["RECOVERED", "MISSED TARGET", "FAILED", "MISSED TARGET"]  # CSS upper-cases badges
    assert key["drRows"][3][4] == "8.0s / 5.0s (12 of 300 writes lost)"
    assert key["drChecks"] == 4 and key["notVerified"] == ["not verified"]
    assert key["uncovered"] == ["orders-queue", "message-queue", "no playbook"]
    assert key["impact"] == 1 and key["score"] == str(rendered.analysis.score) and key["scripts"] == 0
    assert key["drTableWidth"] > 500 and key["chartHeight"] > 100  # laid out, not collapsed
    assert page.errors() == []

    shot = base64.b64decode(page.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"])
    (tmp_path / "report.png").write_bytes(shot)
    width, height = png_size(shot)
    assert width >= 1000 and height >= min(key["height"], 3000)
    assert len(shot) > 50_000  # charts, tables and badges: far from a blank page


def test_hostile_text_stays_text_in_the_browser(page, make):
    folder = make("hostile")
    render_report(folder, ["html"])
    open_report(page, folder)
    found = json.loads(page.evaluate("""JSON.stringify({
      scripts: document.querySelectorAll('script').length,
      images: document.querySelectorAll('img').length,
      bold: document.querySelectorAll('b').length,
      check: document.querySelector('section.dr-check h3').textContent,
      coverage: document.querySelector('table.coverage td').textContent,
    })"""))
    assert (found["scripts"], found["images"], found["bold"]) == (0, 0, 0)
    assert HOSTILE in found["check"] and found["coverage"] == HOSTILE
    assert page.errors() == []


def test_the_error_check_catches_a_page_that_fetches_or_runs_a_script(page, make):
    """The check above can fail: the same report with an inline script and a remote image is caught by both the CSP and the log."""
    folder = make("passing")
    render_report(folder, ["html"])
    html = (folder / "report.html").read_text(encoding="utf-8")
    tampered = html.replace("</body>", '<img src="http://127.0.0.1:9/x.png"><script>console.error("boom")</script></body>')
    (folder / "report.html").write_text(tampered, encoding="utf-8")
    open_report(page, folder)
    errors = page.errors()
    assert errors and any("Content Security Policy" in e or "Content-Security-Policy" in e for e in errors), errors
