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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from pixelnet.errors import PixelnetError
from pixelnet.options import (
    add_board_option,
    add_command,
    add_format_option,
    add_model_options,
    add_port_options,
    positional_alias,
    resolve_model,
)
from pixelnet.progress import Progress
from pixelnet.trainer.patterns import CLASSES, SCENES, scene_class

from .client import BoardClient, BoardTimeout, PortClosedError
from .compare import Reference, SampleArrays, check_batch
from .connect import FORMAT_NAMES, auto_detect, check_handshake, connect
from .messages import STREAM_MAX_RATE, CalOp
from .metrics import Metrics
from .monitor import HOME_AND_CLEAR, render
from .record import RecordingWriter, check_label
from .registry import is_virtual
from .report import format_summary, load_report, write_html, write_json
from .samplelog import SampleLog
from .vectors import RANDOM_VECTORS, UNKNOWN, load_vectors
from .verify import Verifier

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
DEFAULT_LIVE_SAMPLES = 1000
MONITOR_REFRESH = 0.1  # s between screen updates
CALIBRATION_READINGS = 5
DEMO_BOARDS = {
    "uno": "the virtual Uno (simavr), or a real Uno with --port",
    "micropython": "the virtual MicroPython board (unix port), or a real one with --port",
}


def register(sub: argparse._SubParsersAction) -> None:
    """Add this folder's subcommands to the `pixelnet` parser."""
    p = add_command(
        sub, "verify", help="check a board against the emulator and the float model",
        description="Compare every sample the board computes with the integer emulator (must be "
        "bit-exact) and with the float model (the quantisation error): live samples, injected "
        "test vectors, or both. Exit 0 pass, 1 a check failed, 2 a usage or connection error.",
        examples=[
            "pixelnet verify --model model.json --vectors random --report r.json --log s.csv",
            "pixelnet verify --model model.json --port /dev/ttyACM0 --scene-label horizontal",
            "pixelnet verify --model model.json --seconds 30 --max-error 0.75",
        ],
    )
    add_port_options(p)
    add_model_options(p, required=True)
    add_format_option(p, default=None,
                      help="expected number format (default: whatever the board reports)")
    amount = p.add_mutually_exclusive_group()
    amount.add_argument("--samples", type=_positive_int,
                        help=f"live samples to compare (default: {DEFAULT_LIVE_SAMPLES:,} "
                        "unless --vectors is given)")
    amount.add_argument("--seconds", type=_positive_float, help="compare the live stream this long")
    p.add_argument("--vectors", metavar="grid|random|FILE",
                   help="inject test vectors: an 11^4 grid, noisy patterns, or a recordings CSV")
    p.add_argument("--vector-count", type=_positive_int, default=RANDOM_VECTORS,
                   help="how many random vectors")
    p.add_argument("--scene-label", type=_label,
                   help="the class or scene the sensor is looking at (enables accuracy)")
    p.add_argument("--max-error", type=_nonnegative_float,
                   help="fail when max |board - float model| exceeds this")
    p.add_argument("--report", type=Path, metavar="FILE", help="write the JSON report here")
    p.add_argument("--html", type=Path, metavar="FILE",
                   help="write the report as one self-contained HTML page with plots here")
    p.add_argument("--log", type=Path, metavar="FILE", help="write every sample to this CSV")
    p.set_defaults(handler=run_verify)

    p = add_command(
        sub, "report", help="render a saved JSON report again: terminal summary, HTML page, PNG",
        description="Render the JSON report of an earlier `pixelnet verify` or `pixelnet demo` "
        "run: the terminal summary, and optionally the self-contained HTML page and a PNG "
        "screenshot of it (needs Chromium). Exit 1 when that run failed.",
        examples=[
            "pixelnet report --from r.json",
            "pixelnet report --from r.json --html r.html --png r.png",
        ],
    )
    p.add_argument("--from", dest="source", type=Path, metavar="FILE",
                   help="the JSON report (verify --report FILE, or the demo's)")
    p.add_argument("report_file", nargs="?", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--html", type=Path, metavar="FILE", help="write the HTML page here")
    p.add_argument("--png", type=Path, metavar="FILE",
                   help="also write a screenshot of the HTML page here (headless Chromium)")
    p.set_defaults(handler=run_report)

    p = add_command(
        sub, "monitor", help="live view: the 2x2 image, outputs, class, errors",
        description="Stream from the board and redraw, ten times a second, the 2x2 image it "
        "sees, its outputs and class, and the error against the emulator and the float model. "
        "Ctrl-C ends; exit 1 if any sample was not bit-exact.",
        examples=[
            "pixelnet monitor --model model.json",
            "pixelnet monitor --model model.json --port /dev/ttyACM0 --samples 500",
        ],
    )
    add_port_options(p)
    add_model_options(p, required=True)
    p.add_argument("--samples", type=_positive_int, help="stop after this many samples")
    p.set_defaults(handler=run_monitor)

    p = add_command(
        sub, "record", help="record labelled samples for `pixelnet train --data`",
        description="Stream raw sensor readings from the board into a CSV (label,tl,tr,bl,br) "
        "for `pixelnet train --data`; Ctrl-C keeps what was recorded.",
        examples=[
            "pixelnet record --label horizontal --samples 500 --out horiz.csv",
            "pixelnet record --label vertical --samples 500 --out vert.csv --port /dev/ttyACM0",
        ],
    )
    add_port_options(p)
    p.add_argument("--label", type=_label, required=True,
                   help=f"class ({', '.join(CLASSES)}) or scene being shown")
    p.add_argument("--samples", type=_positive_int, required=True, help="how many rows to record")
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help="CSV file to write")
    p.set_defaults(handler=run_record)

    p = add_command(
        sub, "calibrate", help="guided dark/bright calibration, stored on the board",
        description="Guide through the dark and the bright step (cover the sensor, then light "
        "it), reading the sensor live; the board stores the calibration (EEPROM on the Uno, a "
        "file on MicroPython). On a virtual board, type `light 0` and then `light 1` into its "
        "`pixelnet sim` terminal for the two steps.",
        examples=[
            "pixelnet calibrate",
            "pixelnet calibrate --port /dev/ttyACM0",
            "pixelnet calibrate --reset   # back to 0 / 1023",
        ],
    )
    add_port_options(p)
    p.add_argument("--reset", action="store_true", help="back to the defaults (0 / 1023)")
    p.add_argument("--yes", action="store_true", help="do not wait for Enter between steps")
    p.set_defaults(handler=run_calibrate)

    p = add_command(
        sub, "boards", help="list the boards pixelnet can see, real and virtual, and what they run",
        description="Every board on USB with a known ID and every virtual board `pixelnet sim` "
        "is running, each asked for INFO (a short deadline): port, kind, board name, firmware "
        "and protocol, number format and the hash of the model it runs.",
        examples=["pixelnet boards"],
    )
    p.set_defaults(handler=run_boards)

    p = add_command(
        sub, "demo", help="train, build, run a virtual board and verify it end to end",
        description="Train the default network, generate q7 C, build the firmware, start a "
        "virtual board (or flash a real one with --port), stream the eight clean scenes and "
        "noisy ones, inject 10,000 test vectors, verify and print the report.",
        examples=[
            "pixelnet demo",
            "pixelnet demo --board micropython",
            "pixelnet demo --port /dev/ttyACM0   # a real Uno: flashed, then verified",
        ],
    )
    add_board_option(p, DEMO_BOARDS, default="uno")
    p.add_argument("--port", help="use (and flash) a real board on this port instead")
    p.add_argument("--build-dir", type=Path, default=Path("build/demo"),
                   help="build directory for the model, firmware, report and log")
    p.set_defaults(handler=run_demo)


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


def verify_progress(total: int | None) -> tuple[Progress, Callable[[Verifier], None]]:
    """Progress of a verification, and the Verifier callback that advances it."""
    progress = Progress("verifying", total)

    def on_batch(verifier: Verifier) -> None:
        m = verifier.metrics
        progress.update(m.samples, f"{m.mismatches} mismatches")

    return progress, on_batch


# -- verify ------------------------------------------------------------------


def run_verify(args: argparse.Namespace) -> int:
    model = resolve_model(args)
    truth = _truth(args.scene_label)
    vectors = load_vectors(args.vectors, args.vector_count) if args.vectors else None
    live = args.samples or (None if args.seconds or vectors is not None else DEFAULT_LIVE_SAMPLES)
    with connect(args.port, args.baud) as client, _sigterm_as_interrupt():
        info = client.last_info
        assert info is not None
        check_handshake(info, model.short_hash, args.fmt, where=_where(args))
        ref = Reference.from_model(model, FORMAT_NAMES[info.format])
        log = SampleLog(args.log, model.classes) if args.log else None
        total = None if args.seconds else (live or 0) + (0 if vectors is None else len(vectors[0]))
        progress, on_batch = verify_progress(total)
        verifier = Verifier(ref, log, on_batch=on_batch)
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
            progress.close()
            if log is not None:
                log.close()
        report = verifier.report(info, client.stats.to_dict(), args.max_error, aborted)
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
    source = positional_alias(args, "report_file", "--from", args.source)
    if source is None:
        raise PixelnetError("give the JSON report with --from FILE")
    report = load_report(source)
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
    model = resolve_model(args)
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
            progress = Progress("recording", args.samples)
            try:
                for seq, sample in client.samples(args.samples):
                    writer.write(seq, sample)
                    progress.update(writer.rows)
            except KeyboardInterrupt:
                progress.close()
                print(f"\ninterrupted: {writer.rows} samples kept in {args.out}", file=sys.stderr)
                return EXIT_INTERRUPTED
            finally:
                progress.close()
                with contextlib.suppress(PixelnetError):
                    client.stream(0)
    print(f"recorded {writer.rows:,} samples labelled {args.label!r} to {args.out}")
    return 0


# -- calibrate ---------------------------------------------------------------


# On a virtual board the sensor is covered and lit from its `pixelnet sim` terminal.
VIRTUAL_DARK = "`light 0`"
VIRTUAL_BRIGHT = "`scene solid_white`, then `light 1`"


def run_calibrate(args: argparse.Namespace) -> int:
    port = args.port or auto_detect()
    virtual = is_virtual(port)
    with connect(port, args.baud) as client:
        if args.reset:
            cal = client.calibrate(CalOp.RESET)
            print(f"calibration reset to the defaults: dark {list(cal.dark)}, "
                  f"bright {list(cal.bright)}; the stored calibration is erased")
            return 0
        _step(client, "Cover the sensor completely (dark)",
              _sim_hint(VIRTUAL_DARK) if virtual else "", args.yes)
        client.calibrate(CalOp.DARK)
        _step(client, "Now light all four pixels evenly (bright)",
              _sim_hint(VIRTUAL_BRIGHT) if virtual else "", args.yes)
        try:
            cal = client.calibrate(CalOp.BRIGHT)
        except PixelnetError as exc:
            raise PixelnetError(
                f"{exc}: bright must exceed dark by at least 16 counts on every pixel; "
                "more light, or check the wiring"
            ) from None
        print(f"calibration stored on the board (kept across restarts): dark {list(cal.dark)}, "
              f"bright {list(cal.bright)}")
    return 0


def _sim_hint(commands: str) -> str:
    return f" (a virtual board: type {commands} into its pixelnet sim terminal)"


def _step(client: BoardClient, instruction: str, hint: str, no_wait: bool) -> None:
    """Say what to do, wait for the user, and show what the board reads now."""
    print(instruction + hint + ("." if no_wait else ", then press Enter."), flush=True)
    if not no_wait:
        try:
            input()
        except EOFError:
            raise PixelnetError("no terminal to press Enter on: run with --yes") from None
    for _ in range(CALIBRATION_READINGS):
        print("  reading (TL TR BL BR): " + " ".join(f"{v:4d}" for v in client.sample().adc))


# -- boards ------------------------------------------------------------------


def run_boards(args: argparse.Namespace) -> int:
    from .boards import format_listing, list_boards

    print(format_listing(list_boards()))
    return 0


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
