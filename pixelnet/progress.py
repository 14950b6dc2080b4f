"""Progress of long operations, on stderr so that stdout stays the result.

On a terminal: one line rewritten in place (a bar when the total is known). Otherwise
(a log, CI, a pipe): one plain line every ``period`` seconds, so a long run is never
silent and a log never fills with carriage returns.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

PERIOD = 5.0  # s between two lines when stderr is not a terminal
REFRESH = 0.1  # s between two redraws on a terminal
BAR = 30


class Progress:
    """``update(done)`` as work advances; ``close()`` when it ends (ends the terminal line)."""

    def __init__(self, what: str, total: int | None = None, *, stream: TextIO | None = None,
                 period: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.what = what
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.live = self.stream.isatty()
        self.period = REFRESH if self.live else PERIOD if period is None else period
        self.clock = clock
        self.started = clock()
        self.shown_at = self.started
        self.drawn = False

    def text(self, done: int, detail: str = "") -> str:
        """The progress line for ``done`` units of work (and a detail such as a loss)."""
        elapsed = f"{self.clock() - self.started:.0f} s"
        if self.total:
            filled = BAR * min(done, self.total) // self.total
            count = f"{done:,}/{self.total:,}"
            bar = f"[{'#' * filled}{'.' * (BAR - filled)}] " if self.live else ""
            head = f"{self.what} {bar}{count}"
        else:
            head = f"{self.what} {done:,}" if done else self.what
        return ", ".join(part for part in (head, detail, elapsed) if part)

    def update(self, done: int = 0, detail: str = "", *, force: bool = False) -> None:
        now = self.clock()
        if not force and now - self.shown_at < self.period:
            return
        self.shown_at = now
        line = self.text(done, detail)
        if self.live:
            self.stream.write(f"\r\x1b[K{line}")
            self.drawn = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.drawn = False


@contextlib.contextmanager
def ticking(what: str, *, stream: TextIO | None = None,
            period: float | None = None) -> Iterator[Progress]:
    """For work that cannot count its steps (a compiler run): the elapsed time, kept up to
    date by a background thread until the block ends."""
    progress = Progress(what, stream=stream, period=period)
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(progress.period):
            progress.update()

    thread = threading.Thread(target=tick, name=f"progress: {what}", daemon=True)
    thread.start()
    try:
        yield progress
    finally:
        stop.set()
        thread.join()
        progress.close()
