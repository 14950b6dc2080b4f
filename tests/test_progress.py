"""Progress: a line rewritten in place on a terminal, a plain line now and then otherwise."""

from __future__ import annotations

import io
import time

from pixelnet.progress import Progress, ticking


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_a_plain_line_every_period() -> None:
    clock, log = Clock(), io.StringIO()
    progress = Progress("verifying", 10_000, stream=log, period=5.0, clock=clock)
    for second in range(12):
        clock.now = float(second)
        progress.update(second * 1000, "0 mismatches")
    progress.close()
    assert log.getvalue().splitlines() == [
        "verifying 5,000/10,000, 0 mismatches, 5 s",
        "verifying 10,000/10,000, 0 mismatches, 10 s",
    ]


def test_a_terminal_gets_one_line_rewritten_and_cleared() -> None:
    clock, tty = Clock(), Terminal()
    progress = Progress("training", 200, stream=tty, clock=clock)
    clock.now = 1.0
    progress.update(100, "loss 0.5")
    assert tty.getvalue() == "\r\x1b[Ktraining [###############...............] 100/200, " \
        "loss 0.5, 1 s"
    progress.close()
    assert tty.getvalue().endswith("\r\x1b[K") and "\n" not in tty.getvalue()


def test_an_unknown_total_counts_without_a_bar() -> None:
    progress = Progress("verified", stream=io.StringIO(), clock=Clock())
    assert progress.text(1234, "2 mismatches") == "verified 1,234, 2 mismatches, 0 s"


def test_ticking_reports_opaque_work_until_it_ends() -> None:
    log = io.StringIO()
    with ticking("building", stream=log, period=0.01):
        deadline = time.monotonic() + 60
        while log.getvalue().count("\n") < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    lines = log.getvalue().splitlines()
    assert len(lines) >= 2 and all(line.startswith("building, ") for line in lines)
    settled = log.getvalue()
    time.sleep(0.05)
    assert log.getvalue() == settled  # the thread stopped with the block
