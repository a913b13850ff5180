"""Open an HTML file in headless Chromium and report what happened: JavaScript errors, requests
that left the machine, the page's visible text, and optionally a screenshot.

Drives Debian's `chromium` over the DevTools protocol with `websocket-client` (no browser
download, nothing from the network). Used by the report test and `make report-check`.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import websocket

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
]
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:", "chrome:", "devtools:")


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageReport:
    errors: list[str] = field(default_factory=list)  # uncaught exceptions and console errors
    external_requests: list[str] = field(default_factory=list)
    text: str = ""  # document.body.innerText
    charts: int = 0  # rendered Plotly charts
    screenshot: bytes | None = None
    # sections whose table is wider than its box at this width (read only by scrolling sideways)
    too_wide: list[str] = field(default_factory=list)


class _DevTools:
    def __init__(self, url: str):
        self.socket = websocket.create_connection(url, timeout=60, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        self.socket.settimeout(60)
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if any(e.get("method") == method for e in self.events):
            return True
        self.socket.settimeout(1.0)
        while time.monotonic() < deadline:
            try:
                message = json.loads(self.socket.recv())
            except websocket.WebSocketTimeoutException:
                continue
            self.events.append(message)
            if message.get("method") == method:
                return True
        return False

    def drain(self, seconds: float) -> None:
        self.socket.settimeout(0.2)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.events.append(json.loads(self.socket.recv()))
            except websocket.WebSocketTimeoutException:
                continue


def _port(profile: Path, process: subprocess.Popen, timeout: float = 30) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text().strip():
            return int(marker.read_text().split()[0])
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with code {process.returncode}")
        time.sleep(0.1)
    raise RuntimeError("chromium did not open its DevTools port in time")


def open_page(
    path: Path,
    width: int = 1400,
    height: int = 900,
    screenshot: bool = False,
    full_page: bool = False,
    chromium: str | None = None,
) -> PageReport:
    """Load `path` in a fresh headless Chromium profile and collect a PageReport."""
    binary = chromium or find_chromium()
    if not binary:
        raise FileNotFoundError("chromium not found: apt-get install -y chromium")
    # Chromium may still flush its profile as it exits: a leftover file must not fail the check
    with tempfile.TemporaryDirectory(
        prefix="segml-chromium-", ignore_cleanup_errors=True
    ) as profile:
        process = subprocess.Popen(
            [
                binary,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            port = _port(Path(profile), process)
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/json/list", timeout=10
            ) as response:
                targets = json.load(response)
            page = next(t for t in targets if t.get("type") == "page")
            tools = _DevTools(page["webSocketDebuggerUrl"])
            for domain in ("Page", "Runtime", "Network", "Log"):
                tools.call(f"{domain}.enable")
            tools.call(
                "Emulation.setDeviceMetricsOverride",
                width=width,
                height=height,
                deviceScaleFactor=1,
                mobile=False,
            )
            tools.call("Page.navigate", url=Path(path).resolve().as_uri())
            tools.wait_for("Page.loadEventFired", 60)
            tools.drain(1.5)  # charts draw after load
            report = PageReport()
            value = tools.call(
                "Runtime.evaluate", expression="document.body.innerText", returnByValue=True
            )
            report.text = value.get("result", {}).get("value", "")
            charts = tools.call(
                "Runtime.evaluate",
                returnByValue=True,
                expression="document.querySelectorAll('.js-plotly-plot .main-svg').length",
            )
            report.charts = int(charts.get("result", {}).get("value", 0))
            wide = tools.call(
                "Runtime.evaluate",
                returnByValue=True,
                expression="[...document.querySelectorAll('.scroll')]"
                ".filter(e => e.scrollWidth > e.clientWidth + 1)"
                ".map(e => (e.closest('section') || {}).id || '?')",
            )
            report.too_wide = list(wide.get("result", {}).get("value", []) or [])
            if screenshot:
                params = {"format": "png"}
                if full_page:
                    metrics = tools.call("Page.getLayoutMetrics")["cssContentSize"]
                    params.update(
                        captureBeyondViewport=True,
                        clip={
                            "x": 0,
                            "y": 0,
                            "width": width,
                            "height": metrics["height"],
                            "scale": 1,
                        },
                    )
                report.screenshot = base64.b64decode(
                    tools.call("Page.captureScreenshot", **params)["data"]
                )
            tools.drain(0.3)
            for event in tools.events:
                method, params = event.get("method"), event.get("params", {})
                if method == "Runtime.exceptionThrown":
                    details = params.get("exceptionDetails", {})
                    report.errors.append(
                        details.get("exception", {}).get("description") or details.get("text", "")
                    )
                elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                    report.errors.append(params["entry"].get("text", ""))
                elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                    report.errors.append(
                        " ".join(str(a.get("value", "")) for a in params.get("args", []))
                    )
                elif method == "Network.requestWillBeSent":
                    url = params.get("request", {}).get("url", "")
                    if not url.startswith(LOCAL_SCHEMES):
                        report.external_requests.append(url)
            tools.socket.close()
            return report
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
