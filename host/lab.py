"""Verify one board, or many at once from one process: a class, a production line, a CI rack.

``verify_port`` is everything ``pixelnet verify`` does with one port: connect,
check the handshake, negotiate protocol version 2 and a fast line when the board
speaks it, verify the live stream and injected vectors, and return the JSON
report. ``verify_ports`` runs it on several ports at once, a thread per board
(the work is serial I/O and NumPy, which both release the GIL), and
``format_lab_table`` prints one row per board. Each board's report is exactly
the report ``pixelnet verify`` writes for that board alone, plus its port and
the line it used.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pixelnet.errors import PixelnetError
from pixelnet.trainer.model_file import Model

from .board_kind import check_board_kind
from .client import BoardErrorReply, BoardTimeout, LineTooNoisy, PortClosedError
from .compare import Reference
from .connect import BAUDRATE, FORMAT_NAMES, PortError, all_candidates, check_handshake, connect
from .messages import PROTOCOL_V2
from .samplelog import SampleLog
from .vectors import UNKNOWN
from .verify import Verifier

FAST_BAUD = 1_000_000  # what a version 2 host asks for; exact at 16 MHz with U2X


class Interrupted(Exception):
    """Raised inside a board's verification when the user interrupted the whole run."""


@dataclass(frozen=True)
class VerifyPlan:
    """What to verify on each board; the options of ``pixelnet verify``."""

    model: Model
    live: int | None = None  # live samples, or
    seconds: float | None = None  # live seconds
    vectors: tuple[np.ndarray, np.ndarray] | None = None  # injected inputs and their truth
    truth: int = UNKNOWN  # class of the scene the sensors see
    fmt: str | None = None
    max_error: float | None = None
    baud: int = BAUDRATE  # the speed the port is opened at
    protocol: int = PROTOCOL_V2  # 1: speak version 1 only (the 115,200-baud protocol)
    line_baud: int = FAST_BAUD  # the speed negotiated with a version 2 board
    board: str | None = None  # the kind of board expected (verify --board)


@dataclass
class BoardOutcome:
    """One board of a lab run: its report, or why it could not be verified."""

    port: str
    report: dict[str, Any] | None = None
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.report is not None and bool(self.report["passed"])


def verify_port(
    port: str | None,
    plan: VerifyPlan,
    log: SampleLog | None = None,
    on_batch: Callable[[Verifier], None] | None = None,
) -> dict[str, Any]:
    """Verify the board on ``port``; the JSON report (``passed`` says the verdict).

    A board that stops answering, vanishes or refuses a request mid-run (a request
    the line changed, CRC and all) ends its run with what was compared so far
    (``aborted``); an interrupt (KeyboardInterrupt, or
    ``Interrupted`` raised by ``on_batch``) does too, with ``aborted`` "interrupted".
    """
    with connect(port, plan.baud) as client:
        info = client.last_info
        assert info is not None
        where = f"the board on {port or 'the auto-detected port'}"
        check_handshake(info, plan.model.short_hash, plan.fmt, where=where)
        if plan.board is not None:
            check_board_kind(info.board, plan.board, where)
        ref = Reference.from_model(plan.model, FORMAT_NAMES[info.format])
        verifier = Verifier(ref, log, on_batch=on_batch)
        aborted = None
        try:
            if plan.protocol >= PROTOCOL_V2:
                client.upgrade(plan.line_baud)
            if plan.live or plan.seconds:
                verifier.verify_stream(client, n=plan.live, seconds=plan.seconds,
                                       truth=plan.truth)
            if plan.vectors is not None:
                verifier.verify_vectors(client, *plan.vectors)
        except (BoardTimeout, PortClosedError, BoardErrorReply) as exc:
            aborted = link_failure(exc, verifier.metrics.samples)
        except (KeyboardInterrupt, Interrupted):
            aborted = "interrupted"
        report = verifier.report(client.last_info or info, client.stats.to_dict(),
                                 plan.max_error, aborted)
        report["port"] = port
        report["line"] = {"baud": client.baudrate, "protocol": client.protocol}
    return report


def link_failure(exc: PixelnetError, samples: int) -> str:
    """One line for a run the line cut short, with how far it got."""
    if isinstance(exc, PortClosedError):
        return f"the board went away after {samples:,} samples"
    if isinstance(exc, (LineTooNoisy, BoardErrorReply)):
        return f"{exc}, after {samples:,} samples"
    return f"the board stopped answering after {samples:,} samples ({exc})"


def verify_ports(ports: Sequence[str], plan: VerifyPlan) -> list[BoardOutcome]:
    """Verify every port at once, a thread each; outcomes in the order of ``ports``.

    Ctrl-C stops every board's run: each report then says "interrupted".
    """
    outcomes = [BoardOutcome(port) for port in ports]
    stop = threading.Event()

    def stop_requested(_: Verifier) -> None:
        if stop.is_set():
            raise Interrupted

    def run(outcome: BoardOutcome) -> None:
        try:
            outcome.report = verify_port(outcome.port, plan, on_batch=stop_requested)
        except PixelnetError as exc:
            outcome.error = str(exc)

    threads = [threading.Thread(target=run, args=(o,), name=f"verify {o.port}", daemon=True)
               for o in outcomes]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.1)
    except KeyboardInterrupt:
        stop.set()
        for thread in threads:
            thread.join()
    return outcomes


def detected_ports() -> list[str]:
    """Every board auto-detection finds, real (by USB ID) or virtual (``--all``)."""
    found = all_candidates()
    if not found:
        raise PortError("--all found no board (looked for Arduino, CH340, FTDI, CP210x and "
                        "MicroPython USB IDs and for running `pixelnet sim`s); plug them in, "
                        "start them, or list them with --port")
    return [c.device for c in found]


def link_faults(link: dict[str, int]) -> int:
    """Everything the link lost or repaired: resyncs, gaps, restarts, retries, fallbacks."""
    keys = ("resyncs", "seq_gaps", "resets", "retries", "protocol_errors", "baud_fallbacks")
    return sum(int(link.get(key, 0)) for key in keys)


_HEADER = ("port", "board", "model", "line", "samples", "mismatches", "accuracy", "samples/s",
           "link faults", "verdict")


def _row(outcome: BoardOutcome) -> tuple[str, ...]:
    r = outcome.report
    if r is None:
        return (outcome.port, "-", "-", "-", "-", "-", "-", "-", "-", f"ERROR: {outcome.error}")
    accuracy = "-" if r["accuracy"] is None else f"{100 * r['accuracy']:.2f} %"
    rate = r["throughput"]["samples_per_second"]
    verdict = "PASS" if r["passed"] else "FAIL: " + "; ".join(r["failures"])
    return (outcome.port, r["board"]["name"], r["model_hash"],
            f"v{r['line']['protocol']} {r['line']['baud']:,}", f"{r['samples']:,}",
            f"{r['bit_exact_mismatches']:,}", accuracy, "-" if rate is None else f"{rate:,.0f}",
            str(link_faults(r["link"])), verdict)


def format_lab_table(outcomes: Sequence[BoardOutcome], seconds: float) -> str:
    """One row per board, then the totals: what ``pixelnet verify`` prints for many boards."""
    rows = [_HEADER, *(_row(o) for o in outcomes)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER) - 1)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False))
             + "  " + row[-1] for row in rows]
    total = sum(o.report["samples"] for o in outcomes if o.report is not None)
    passed = sum(o.passed for o in outcomes)
    lines += ["", f"{passed} of {len(outcomes)} boards passed; {total:,} samples verified in "
              f"{seconds:.1f} s = {total / seconds if seconds else 0:,.0f} samples/s together"]
    return "\n".join(lines)


def report_name(index: int, port: str) -> str:
    """A file name for one board's report: its place in the list and its port."""
    tail = "".join(c if c.isalnum() else "-" for c in port).strip("-")[-40:]
    return f"board{index + 1}-{tail}.json"


@dataclass
class LiveBoard:
    """One row of ``pixelnet monitor`` on several boards, updated by its thread."""

    port: str
    board: str = "-"
    line: str = "-"
    samples: int = 0
    mismatches: int = 0
    last_class: str = "-"
    faults: int = 0
    error: str | None = None
    done: bool = False


def watch_port(live: LiveBoard, plan: VerifyPlan, stop: threading.Event) -> None:
    """Stream and check one board until ``plan.live`` samples (None: until ``stop``)."""
    try:
        with connect(live.port, plan.baud) as client:
            info = client.last_info
            assert info is not None
            check_handshake(info, plan.model.short_hash, plan.fmt,
                            where=f"the board on {live.port}")
            if plan.protocol >= PROTOCOL_V2:
                client.upgrade(plan.line_baud)
            live.board, live.line = info.board, f"v{client.protocol} {client.baudrate:,}"
            ref = Reference.from_model(plan.model, FORMAT_NAMES[info.format])

            def update(verifier: Verifier) -> None:
                live.samples = verifier.metrics.samples
                live.mismatches = verifier.metrics.mismatches
                if verifier.last_checked is not None:
                    live.last_class = plan.model.classes[int(verifier.last_checked.board.cls[-1])]
                live.faults = link_faults(client.stats.to_dict())
                if stop.is_set():
                    raise Interrupted

            until_stopped = None if plan.live else plan.seconds or math.inf
            with contextlib.suppress(Interrupted):
                Verifier(ref, on_batch=update).verify_stream(client, n=plan.live,
                                                             seconds=until_stopped)
    except PixelnetError as exc:
        live.error = str(exc)
    finally:
        live.done = True


def format_live_table(boards: Sequence[LiveBoard]) -> str:
    """The screen of ``pixelnet monitor`` on several boards."""
    rows = [("port", "board", "line", "samples", "mismatches", "class", "link faults")]
    for b in boards:
        rows.append((b.port, b.board, b.line, f"{b.samples:,}", f"{b.mismatches:,}",
                     b.last_class, str(b.faults)) if b.error is None else
                    (b.port, "-", "-", "-", "-", "-", f"ERROR: {b.error}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                     for row in rows)
