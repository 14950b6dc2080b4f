"""Open a page in headless Chromium: what it logged, what it requested, and a screenshot.

Used to render a report to PNG (``pixelnet report --png``) and by the tests to
prove a report works in a real browser: no console errors, no request beyond
the file itself (the page must be self-contained), every plot in the DOM.

Chromium is driven through the DevTools protocol over ``--remote-debugging-pipe``
(JSON messages separated by NUL bytes on file descriptors 3 and 4), so nothing
listens on a port and nothing beyond the Python standard library is needed.
The browser runs with a throw-away profile and every background service
switched off, so it never tries to reach the network on its own.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pixelnet.errors import PixelnetError
from pixelnet.progress import ticking

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
START_TIMEOUT = 60.0  # s for the browser to start and answer its first command
LOAD_TIMEOUT = 60.0  # s for a page to load
QUIET_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--hide-scrollbars", "--mute-audio",
)


class BrowserError(PixelnetError):
    """Chromium is missing, failed to start, or did not answer in time."""


@dataclass
class PageResult:
    """What loading one page produced."""

    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    value: Any = None  # the result of the expression evaluated after load
    png: bytes = b""


def find_chromium() -> str:
    """The Chromium executable, or a BrowserError saying how to install it."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserError("Chromium is not installed (Debian/Ubuntu: apt-get install chromium)")


def load_page(
    path: str | os.PathLike[str],
    evaluate: str = "null",
    screenshot: bool = False,
    width: int = 1100,
) -> PageResult:
    """Load a local HTML file, evaluate ``evaluate`` (a JS expression) and optionally
    take a full-page screenshot ``width`` CSS pixels wide."""
    url = Path(path).resolve().as_uri()
    with _Chromium() as browser:
        session = browser.open_tab()
        for domain in ("Runtime", "Log", "Network", "Page"):
            browser.call(f"{domain}.enable", session=session)
        browser.call("Emulation.setDeviceMetricsOverride", session=session, width=width,
                     height=800, deviceScaleFactor=1, mobile=False)
        browser.events.clear()  # a load event of the blank tab is not this page's
        browser.call("Page.navigate", session=session, url=url)
        browser.wait_for("Page.loadEventFired", LOAD_TIMEOUT)
        result = PageResult(console_errors=browser.console_errors, requests=browser.requests)
        answer = browser.call("Runtime.evaluate", session=session, expression=evaluate,
                              returnByValue=True)
        result.value = answer.get("result", {}).get("value")
        if screenshot:
            shot = browser.call("Page.captureScreenshot", session=session, format="png",
                                captureBeyondViewport=True)
            result.png = base64.b64decode(shot["data"])
    return result


def save_screenshot(html: str | os.PathLike[str], png: str | os.PathLike[str]) -> Path:
    """Render a local HTML file to a PNG of the whole page."""
    from pixelnet.files import write_atomically

    with ticking(f"taking the screenshot {png} with headless Chromium"):
        shot = load_page(html, screenshot=True).png
    return write_atomically(png, shot, what="the screenshot")


class _Chromium:
    """One headless Chromium process and its DevTools pipe."""

    def __init__(self) -> None:
        self.next_id = 0
        self.buffer = b""
        self.events: list[dict[str, Any]] = []
        self.console_errors: list[str] = []
        self.requests: list[str] = []

    def __enter__(self) -> _Chromium:
        executable = find_chromium()
        self.profile = tempfile.mkdtemp(prefix="pixelnet-chromium-")
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()

        def wire_pipes() -> None:  # in the child: the protocol's fixed descriptors 3 and 4
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_browser_r, from_browser_w)]
            for wanted, fd in zip((3, 4), high, strict=True):
                os.dup2(fd, wanted, inheritable=True)

        try:
            self.process = subprocess.Popen(
                [executable, *QUIET_FLAGS, f"--user-data-dir={self.profile}",
                 "--remote-debugging-pipe", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                close_fds=False, preexec_fn=wire_pipes,
            )
        except OSError as exc:
            raise BrowserError(f"cannot start {executable}: {exc.strerror or exc}") from None
        finally:
            os.close(to_browser_r)
            os.close(from_browser_w)
        self.call("Browser.getVersion", timeout=START_TIMEOUT)
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(BrowserError):
            self.call("Browser.close", timeout=5.0)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self.to_browser)
        os.close(self.from_browser)
        shutil.rmtree(self.profile, ignore_errors=True)

    def open_tab(self) -> str:
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        return self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

    def call(self, method: str, session: str | None = None, timeout: float = LOAD_TIMEOUT,
             **params: Any) -> dict[str, Any]:
        """Send one command and wait for its answer; events that arrive meanwhile are kept."""
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._next_message(deadline, method)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise BrowserError(f"Chromium refused {method}: {reply['error']}")
                return reply.get("result", {})

    def wait_for(self, event: str, timeout: float) -> dict[str, Any]:
        for seen in self.events:
            if seen.get("method") == event:
                return seen
        deadline = time.monotonic() + timeout
        while True:
            message = self._next_message(deadline, event)
            if message.get("method") == event:
                return message

    def _next_message(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.from_browser], [], [], left)[0]:
                raise BrowserError(f"Chromium did not answer {waiting_for} in time")
            chunk = os.read(self.from_browser, 1 << 16)
            if not chunk:
                raise BrowserError(f"Chromium exited while waiting for {waiting_for}")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        message = json.loads(raw)
        if "method" in message:
            self._note_event(message)
        return message

    def _note_event(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            self.console_errors.append(text)
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            thrown = details.get("exception", {}).get("description", "")  # what and where
            self.console_errors.append(" ".join(filter(None, (details.get("text"), thrown)))
                                       or "exception")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            self.console_errors.append(params["entry"].get("text", "error"))
        elif method == "Network.requestWillBeSent":
            self.requests.append(params.get("request", {}).get("url", ""))
