"""Subcommands of the host: verify, monitor, record, calibrate, demo.

Thin handlers over the library: each opens the board, runs one library
function, prints, and returns the exit code (0 pass, 1 a check failed, 2 a
user error raised as PixelnetError, 130 interrupted).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from pixelnet.errors import PixelnetError
from pixelnet.trainer.model_file import load_model
from pixelnet.trainer.patterns import CLASSES, SCENES, scene_class

from .client import BoardClient, BoardTimeout, PortClosedError
from .compare import Reference, SampleArrays, check_batch
from .connect import BAUDRATE, FORMAT_NAMES, check_handshake, connect
from .messages import STREAM_MAX_RATE, CalOp
from .metrics import Metrics
from .monitor import HOME_AND_CLEAR, render
from .record import RecordingWriter, check_label
from .report import format_summary, load_report, write_html, write_json
from .samplelog import SampleLog
from .vectors import RANDOM_VECTORS, UNKNOWN, load_vectors
from .verify import Verifier

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
DEFAULT_LIVE_SAMPLES = 1000
MONITOR_REFRESH = 0.1  # s between screen updates
CALIBRATION_READINGS = 5


def register(sub: argparse._SubParsersAction) -> None:
    """Add this folder's subcommands to the `pixelnet` parser."""
    p = sub.add_parser("verify", help="check a board against the emulator and the float model")
    _board_options(p)
    p.add_argument("--model", type=Path, required=True, help="the model file the board runs")
    p.add_argument("--format", choices=sorted(FORMAT_NAMES.values()),
                   help="expected number format (default: whatever the board reports)")
    amount = p.add_mutually_exclusive_group()
    amount.add_argument("--samples", type=_positive_int,
                        help=f"live samples to compare (default {DEFAULT_LIVE_SAMPLES:,} "
                        "unless --vectors is given)")
    amount.add_argument("--seconds", type=_positive_float, help="compare the live stream this long")
    p.add_argument("--vectors", metavar="grid|random|FILE",
                   help="inject test vectors: an 11^4 grid, noisy patterns, or a recordings CSV")
    p.add_argument("--vector-count", type=_positive_int, default=RANDOM_VECTORS,
                   help="how many random vectors (default %(default)s)")
    p.add_argument("--scene-label", type=_label,
                   help="the class or scene the sensor is looking at (enables accuracy)")
    p.add_argument("--max-error", type=_nonnegative_float,
                   help="fail when max |board - float model| exceeds this")
    p.add_argument("--report", type=Path, help="write the JSON report here")
    p.add_argument("--html", type=Path,
                   help="write the report as one self-contained HTML page with plots here")
    p.add_argument("--log", type=Path, help="write every sample to this CSV")
    p.set_defaults(handler=run_verify)

    p = sub.add_parser(
        "report", help="render a saved JSON report again: terminal summary, HTML page, PNG",
        description="Render the JSON report of an earlier `pixelnet verify` or `pixelnet demo` "
        "run: the terminal summary, and optionally the self-contained HTML page and a PNG "
        "screenshot of it (needs Chromium).",
        epilog="examples:\n  pixelnet report r.json\n"
        "  pixelnet report r.json --html r.html --png r.png",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("report_file", type=Path, metavar="REPORT", help="a JSON report")
    p.add_argument("--html", type=Path, help="write the HTML page here")
    p.add_argument("--png", type=Path,
                   help="also write a screenshot of the HTML page here (headless Chromium)")
    p.set_defaults(handler=run_report)

    p = sub.add_parser("monitor", help="live view: the 2x2 image, outputs, class, errors")
    _board_options(p)
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--samples", type=_positive_int, help="stop after this many samples")
    p.set_defaults(handler=run_monitor)

    p = sub.add_parser("record", help="record labelled samples for `pixelnet train --data`")
    _board_options(p)
    p.add_argument("--label", type=_label, required=True, help="class or scene being shown")
    p.add_argument("--samples", type=_positive_int, required=True)
    p.add_argument("--out", type=Path, required=True, help="CSV file to write")
    p.set_defaults(handler=run_record)

    p = sub.add_parser("calibrate", help="guided dark/bright calibration, stored on the board")
    _board_options(p)
    p.add_argument("--reset", action="store_true", help="back to the defaults (0 / 1023)")
    p.add_argument("--yes", action="store_true", help="do not wait for Enter between steps")
    p.set_defaults(handler=run_calibrate)

    p = sub.add_parser("demo", help="train, build, run a virtual board and verify it end to end")
    p.add_argument("--board", choices=("uno", "micropython"), default="uno")
    p.add_argument("--port", help="use (and flash) a real board on this port instead")
    p.add_argument("--build-dir", type=Path, default=Path("build/demo"))
    p.set_defaults(handler=run_demo)


def _board_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", help="serial port or pyserial URL (default: auto-detect)")
    p.add_argument("--baud", type=_positive_int, default=BAUDRATE)


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive whole number")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def _nonnegative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a number >= 0")
    return value


def _label(text: str) -> str:
    try:
        return check_label(text)
    except PixelnetError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _truth(label: str | None) -> int:
    if label is None:
        return UNKNOWN
    return CLASSES.index(scene_class(label) if label in SCENES else label)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM ends a run like Ctrl-C: logs closed, report written."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _progress(verifier: Verifier) -> None:
    if sys.stderr.isatty():
        m = verifier.metrics
        print(f"\r  {m.samples:,} samples, {m.mismatches} mismatches", end="", file=sys.stderr)


# -- verify ------------------------------------------------------------------


def run_verify(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    truth = _truth(args.scene_label)
    vectors = load_vectors(args.vectors, args.vector_count) if args.vectors else None
    live = args.samples or (None if args.seconds or vectors is not None else DEFAULT_LIVE_SAMPLES)
    with connect(args.port, args.baud) as client, _sigterm_as_interrupt():
        info = client.last_info
        assert info is not None
        check_handshake(info, model.short_hash, args.format, where=_where(args))
        ref = Reference.from_model(model, FORMAT_NAMES[info.format])
        log = SampleLog(args.log, model.classes) if args.log else None
        verifier = Verifier(ref, log, on_batch=_progress)
        aborted = None
        try:
            if live or args.seconds:
                verifier.verify_stream(client, n=live, seconds=args.seconds, truth=truth)
            if vectors is not None:
                verifier.verify_vectors(client, *vectors)
        except (BoardTimeout, PortClosedError) as exc:
            aborted = str(exc)
        except KeyboardInterrupt:
            aborted = "interrupted"
        finally:
            if log is not None:
                log.close()
        report = verifier.report(info, client.stats.to_dict(), args.max_error, aborted)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(format_summary(report))
    if args.report:
        write_json(report, args.report)
    if args.html:
        write_html(report, args.html)
    if aborted == "interrupted":
        return EXIT_INTERRUPTED
    return 0 if report["passed"] else EXIT_FAILED


def _where(args: argparse.Namespace) -> str:
    return f"the board on {args.port or 'the auto-detected port'}"


# -- report ------------------------------------------------------------------


def run_report(args: argparse.Namespace) -> int:
    report = load_report(args.report_file)
    print(format_summary(report))
    if args.html is not None:
        print(f"HTML report: {write_html(report, args.html)}")
    if args.png is not None:
        from .browser import save_screenshot

        with tempfile.TemporaryDirectory(prefix="pixelnet-report-") as folder:
            page = args.html or write_html(report, Path(folder) / "report.html")
            print(f"screenshot: {save_screenshot(page, args.png)}")
    return 0 if report["passed"] else EXIT_FAILED


# -- monitor -----------------------------------------------------------------


def run_monitor(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    with connect(args.port, args.baud) as client, _sigterm_as_interrupt():
        info = client.last_info
        assert info is not None
        check_handshake(info, model.short_hash, where=_where(args))
        ref = Reference.from_model(model, FORMAT_NAMES[info.format])
        metrics = Metrics(ref.qm.n_outputs, len(model.classes))
        output_scale = 1.0
        client.stream(STREAM_MAX_RATE)
        shown_at = 0.0
        try:
            for _, sample in client.samples(args.samples):
                assert client.last_info is not None
                checked = check_batch(
                    ref, SampleArrays.from_samples([sample]), client.last_info.calibration
                )
                metrics.add(checked.exact, checked.board_real, checked.float_out,
                            checked.board.cls, checked.float_cls, np.array([UNKNOWN]))
                output_scale = max(output_scale, float(abs(checked.board_real).max()))
                now = time.monotonic()
                if now - shown_at >= MONITOR_REFRESH or metrics.samples == args.samples:
                    shown_at = now
                    screen = render(checked, 0, model.classes, ref.input_scale, output_scale,
                                    metrics, client.stats, ref.lsb)
                    print(HOME_AND_CLEAR + screen, flush=True)
        except KeyboardInterrupt:
            pass
        finally:
            with contextlib.suppress(PixelnetError):
                client.stream(0)
    return 0 if metrics.mismatches == 0 else EXIT_FAILED


# -- record ------------------------------------------------------------------


def run_record(args: argparse.Namespace) -> int:
    with connect(args.port, args.baud) as client, _sigterm_as_interrupt():
        info = client.last_info
        assert info is not None
        with RecordingWriter(args.out, args.label, info.format) as writer:
            client.stream(STREAM_MAX_RATE)
            try:
                for seq, sample in client.samples(args.samples):
                    writer.write(seq, sample)
                    if sys.stderr.isatty():
                        print(f"\r  {writer.rows:,}/{args.samples:,}", end="", file=sys.stderr)
            except KeyboardInterrupt:
                print(f"\ninterrupted: {writer.rows} samples kept in {args.out}", file=sys.stderr)
                return EXIT_INTERRUPTED
            finally:
                with contextlib.suppress(PixelnetError):
                    client.stream(0)
    print(f"recorded {writer.rows:,} samples labelled {args.label!r} to {args.out}")
    return 0


# -- calibrate ---------------------------------------------------------------


def run_calibrate(args: argparse.Namespace) -> int:
    with connect(args.port, args.baud) as client:
        if args.reset:
            cal = client.calibrate(CalOp.RESET)
        else:
            _step(client, "Cover the sensor completely (dark)", args.yes)
            client.calibrate(CalOp.DARK)
            _step(client, "Now light all four pixels evenly (bright)", args.yes)
            try:
                cal = client.calibrate(CalOp.BRIGHT)
            except PixelnetError as exc:
                raise PixelnetError(
                    f"{exc}: bright must exceed dark by at least 16 counts on every pixel; "
                    "more light, or check the wiring"
                ) from None
        print(f"calibration ({cal.source_name}): dark {list(cal.dark)}, bright {list(cal.bright)}")
    return 0


def _step(client: BoardClient, instruction: str, no_wait: bool) -> None:
    """Say what to do, wait for the user, and show what the board reads now."""
    print(instruction + ("." if no_wait else ", then press Enter."), flush=True)
    if not no_wait:
        try:
            input()
        except EOFError:
            raise PixelnetError("no terminal to press Enter on: run with --yes") from None
    for _ in range(CALIBRATION_READINGS):
        print("  reading (TL TR BL BR): " + " ".join(f"{v:4d}" for v in client.sample().adc))


# -- demo --------------------------------------------------------------------


def run_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo as demo

    with _sigterm_as_interrupt():
        result = demo(args.board, args.port, args.build_dir, say=lambda s: print(s, flush=True))
    print()
    print(format_summary(result.report))
    print(f"\nreport: {result.report_path}\npage with plots: {result.html_path}"
          f"\nevery sample: {result.log_path}")
    return 0 if result.report["passed"] else EXIT_FAILED
