"""Ctrl-C and SIGTERM held back while one batch of samples is accounted for.

A batch goes into the metrics, the evidence and the sample log in several
steps. An interrupt between two of them would leave a report that counts
samples the log never got, or (as the stream's error path hands an unfinished
batch over again) counts them twice. Holding the signal until the batch is
whole keeps report and log in step; the signal is then delivered as usual.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

HELD = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """Run the block whole; a SIGINT/SIGTERM that came meanwhile is raised again after it."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach only the main thread: nothing to hold here
        return
    arrived: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        arrived.append(signum)

    previous = {signum: signal.signal(signum, hold) for signum in HELD}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(arrived):
            signal.raise_signal(signum)
