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
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from pixelnet.argtypes import MAX_ERROR, float_range, int_range
from pixelnet.command import EXIT_INTERRUPTED
from pixelnet.errors import PixelnetError
from pixelnet.files import check_output_dir, check_writable
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

from .board_kind import BOARD_KINDS, port_of_kind
from .calibration import check_pair, mean_counts
from .client import BoardClient, BoardTimeout
from .compare import Reference, SampleArrays, check_batch
from .connect import FORMAT_NAMES, auto_detect, check_handshake, connect
from .lab import (
    FAST_BAUD,
    LiveBoard,
    VerifyPlan,
    detected_ports,
    format_lab_table,
    format_live_table,
    link_failure_of,
    report_name,
    unchecked_boards,
    verify_port,
    verify_ports,
    watch_port,
)
from .messages import FAST_BAUDS, PROTOCOL_V2, STREAM_MAX_RATE, CalOp
from .metrics import Metrics
from .monitor import HOME_AND_CLEAR, render
from .record import RecordingWriter, check_label
from .registry import is_virtual
from .report import format_summary, load_report, write_html, write_json
from .samplelog import SampleLog
from .vectors import RANDOM_VECTORS, UNKNOWN, load_vectors
from .verify import Verifier

EXIT_FAILED = 1
DEFAULT_LIVE_SAMPLES = 1000
MONITOR_REFRESH = 0.1  # s between screen updates
CALIBRATION_READINGS = 5
MAX_DEMO_BOARDS = 16  # virtual Unos one demo starts; each takes a share of the CPU
MAX_SAMPLES = 10**9  # streamed, never held in memory: a bound against typos only
MAX_VECTORS = 1_000_000  # injected vectors are made up front: about 100 MB at most
MAX_SECONDS = 10**7  # about four months
SAMPLES = int_range(1, MAX_SAMPLES)
SECONDS = float_range(0, MAX_SECONDS, low_open=True)
DEMO_BOARDS = {
    "uno": "the virtual Uno (simavr), or a real Uno with --port",
    "micropython": "the virtual MicroPython board (unix port), or a real one with --port",
    "cortex-m3": "the virtual Cortex-M3 (QEMU lm3s6965evb); virtual only",
}


def register(sub: argparse._SubParsersAction) -> None:
    """Add this folder's subcommands to the `pixelnet` parser."""
    p = add_command(
        sub, "verify", help="check a board against the emulator and the float model",
        description="Compare every sample the board computes with the integer emulator (must be "
        "bit-exact) and with the float model (the quantisation error): live samples, injected "
        "test vectors, or both. Several --port (or --all) verify several boards at once. "
        "Exit 0 pass, 1 a check failed, 2 a usage or connection error.",
        examples=[
            "pixelnet verify --model model.json --vectors random --report r.json --log s.csv",
            "pixelnet verify --model model.json --port /dev/ttyACM0 --scene-label horizontal",
            "pixelnet verify --model model.json --seconds 30 --max-error 0.75",
            "pixelnet verify --model model.json --port /dev/ttyACM0 --port /dev/ttyACM1 "
            "--report reports/",
        ],
    )
    add_port_options(p, several=True)
    p.add_argument("--board", choices=BOARD_KINDS,
                   help="the kind of board expected: without --port, the one running or "
                   "plugged in that can be one; the board must say it is one")
    add_model_options(p, required=True)
    add_format_option(p, default=None,
                      help="expected number format (default: whatever the board reports)")
    amount = p.add_mutually_exclusive_group()
    amount.add_argument("--samples", type=SAMPLES,
                        help=f"live samples to compare (default: {DEFAULT_LIVE_SAMPLES:,} "
                        "unless --vectors is given)")
    amount.add_argument("--seconds", type=SECONDS, help="compare the live stream this long")
    p.add_argument("--vectors", metavar="grid|random|FILE",
                   help="inject test vectors: an 11^4 grid, noisy patterns, or a recordings CSV")
    p.add_argument("--vector-count", type=int_range(1, MAX_VECTORS), default=RANDOM_VECTORS,
                   help="how many random vectors")
    p.add_argument("--scene-label", type=_label,
                   help="the class or scene the sensor is looking at (enables accuracy)")
    p.add_argument("--max-error", type=float_range(0, MAX_ERROR),
                   help="fail when max |board - float model| exceeds this")
    p.add_argument("--report", type=Path, metavar="FILE", help="write the JSON report here "
                   "(several boards: a folder, one report per board)")
    p.add_argument("--html", type=Path, metavar="FILE",
                   help="write the report as one self-contained HTML page with plots here "
                   "(one board)")
    p.add_argument("--log", type=Path, metavar="FILE",
                   help="write every sample to this CSV (one board)")
    _protocol_options(p)
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
        "With several --port (or --all), a live row per board. "
        "Ctrl-C ends; exit 1 if any sample was not bit-exact.",
        examples=[
            "pixelnet monitor --model model.json",
            "pixelnet monitor --model model.json --port /dev/ttyACM0 --samples 500",
        ],
    )
    add_port_options(p, several=True)
    add_model_options(p, required=True)
    p.add_argument("--samples", type=SAMPLES,
                   help="stop after this many samples (default: until Ctrl-C)")
    _protocol_options(p)
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
    p.add_argument("--samples", type=SAMPLES, required=True, help="how many rows to record")
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
            "pixelnet demo --board cortex-m3",
            "pixelnet demo --port /dev/ttyACM0   # a real Uno: flashed, then verified",
        ],
    )
    add_board_option(p, DEMO_BOARDS, default="uno")
    p.add_argument("--port", help="use (and flash) a real board on this port instead")
    p.add_argument("--build-dir", type=Path, default=Path("build/demo"),
                   help="build directory for the model, firmware, report and log")
    p.add_argument("--boards", type=int_range(1, MAX_DEMO_BOARDS), default=1,
                   help="start this many virtual Unos and verify them all at once")
    p.set_defaults(handler=run_demo)


def _protocol_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--protocol", type=int, choices=(1, 2), default=PROTOCOL_V2,
                   help="2 (default): with a board that speaks it, a faster line, compact "
                   "frames and batched vectors; 1: the 115,200-baud protocol only")
    p.add_argument("--line-baud", type=int, choices=FAST_BAUDS, default=FAST_BAUD,
                   help="the speed protocol 2 negotiates (default %(default)s; back to "
                   "--baud if the line cannot carry it)")


def _ports(args: argparse.Namespace) -> list[str | None]:
    """The ports of a command that takes several: --all, the --port list, or auto-detect."""
    if args.all:
        if args.port:
            raise PixelnetError("give --port or --all, not both")
        return list(detected_ports())
    return list(args.port) if args.port else [None]


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
    for path, what in ((args.report, "report"), (args.html, "HTML report"),
                       (args.log, "sample log")):
        if path is not None:
            check_writable(path, what)
    model = resolve_model(args)
    vectors = load_vectors(args.vectors, args.vector_count) if args.vectors else None
    live = args.samples or (None if args.seconds or vectors is not None else DEFAULT_LIVE_SAMPLES)
    plan = VerifyPlan(model, live, args.seconds, vectors, _truth(args.scene_label), args.fmt,
                      args.max_error, args.baud, args.protocol, args.line_baud, args.board)
    ports = _ports(args)
    if ports == [None]:
        ports = [port_of_kind(args.board) if args.board is not None
                 else auto_detect(choose="--port, or its kind with --board")]
    if len(ports) > 1:
        if args.log or args.html:
            raise PixelnetError("--log and --html take one board; with several, use "
                                "--report FOLDER (pixelnet report renders each as HTML)")
        return _verify_many([p for p in ports if p is not None], plan, args.report)
    open_log = (lambda: SampleLog(args.log, model.classes)) if args.log else None
    total = None if args.seconds else (live or 0) + (0 if vectors is None else len(vectors[0]))
    progress, on_batch = verify_progress(total)
    try:
        with _sigterm_as_interrupt():
            report = verify_port(ports[0], plan, open_log, on_batch=on_batch)
    except BoardTimeout as exc:  # a line too noisy for a handshake still leaves its report
        _report_unreached(args, model, exc)
        raise
    finally:
        progress.close()
    link_failure = report["aborted"] if report["aborted"] not in (None, "interrupted") else None
    if args.report:  # before printing: a closed stdout (`| head`) must not lose them
        write_json(report, args.report)
    if args.html:
        write_html(report, args.html)
    print(format_summary(report))
    if report["aborted"] == "interrupted":
        return EXIT_INTERRUPTED
    if link_failure is not None:  # the check could not finish: exit 2, report and log kept
        raise PixelnetError(link_failure)
    return 0 if report["passed"] else EXIT_FAILED


def _verify_many(ports: list[str], plan: VerifyPlan, report_dir: Path | None) -> int:
    """Several boards at once: one table, a report per board, fail if any board fails."""
    if len(set(ports)) != len(ports):
        raise PixelnetError("a port is listed twice")
    started = time.monotonic()
    with _sigterm_as_interrupt():
        outcomes = verify_ports(ports, plan)
    print(format_lab_table(outcomes, time.monotonic() - started))
    if report_dir is not None:
        try:
            Path(report_dir).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PixelnetError(f"cannot create the report folder {report_dir}: {exc}") from exc
        for i, outcome in enumerate(outcomes):
            if outcome.report is not None:
                path = write_json(outcome.report, Path(report_dir) / report_name(i, outcome.port))
                print(f"report for {outcome.port}: {path}")
    if any(o.report is not None and o.report["aborted"] == "interrupted" for o in outcomes):
        return EXIT_INTERRUPTED
    unchecked_boards([(o.port, link_failure_of(o)) for o in outcomes])
    return 0 if all(o.passed for o in outcomes) else EXIT_FAILED



def _report_unreached(args: argparse.Namespace, model: Any, exc: BoardTimeout) -> None:
    """The report and log of a run that never got past the handshake: no samples, why."""
    ref = Reference.from_model(model, args.fmt or "q7")
    if args.log:
        SampleLog(args.log, model.classes).close()
    if args.report:
        report = Verifier(ref).report(None, getattr(exc, "link", {}), args.max_error, str(exc))
        write_json(report, args.report)


def _where(port: str | None) -> str:
    return f"the board on {port or 'the auto-detected port'}"


# -- report ------------------------------------------------------------------


def run_report(args: argparse.Namespace) -> int:
    source = positional_alias(args, "report_file", "--from", args.source)
    if source is None:
        raise PixelnetError("give the JSON report with --from FILE")
    for path, what in ((args.html, "HTML report"), (args.png, "PNG")):
        if path is not None:
            check_writable(path, what)
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
    ports = _ports(args)
    if len(ports) > 1:
        plan = VerifyPlan(model, live=args.samples, baud=args.baud, protocol=args.protocol,
                          line_baud=args.line_baud)
        return _monitor_many([p for p in ports if p is not None], plan)
    with connect(ports[0], args.baud) as client, _sigterm_as_interrupt():
        info = client.last_info
        assert info is not None
        check_handshake(info, model.short_hash, where=_where(ports[0]))
        if args.protocol >= PROTOCOL_V2:
            client.upgrade(args.line_baud)
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
            return EXIT_INTERRUPTED
        finally:
            with contextlib.suppress(PixelnetError):
                client.stream(0)
    return 0 if metrics.mismatches == 0 else EXIT_FAILED


def _monitor_many(ports: list[str], plan: VerifyPlan) -> int:
    """A row per board, refreshed, until every board is done (--samples) or Ctrl-C."""
    boards = [LiveBoard(port) for port in ports]
    stop = threading.Event()
    threads = [threading.Thread(target=watch_port, args=(b, plan, stop), daemon=True)
               for b in boards]
    for thread in threads:
        thread.start()
    interrupted = False
    try:
        with _sigterm_as_interrupt():
            while not all(b.done for b in boards):
                print(HOME_AND_CLEAR + format_live_table(boards), flush=True)
                time.sleep(MONITOR_REFRESH)
    except KeyboardInterrupt:
        stop.set()
        interrupted = True
    for thread in threads:
        thread.join()
    print(HOME_AND_CLEAR + format_live_table(boards), flush=True)
    if interrupted:
        return EXIT_INTERRUPTED
    unchecked_boards([(b.port, b.error) for b in boards])
    return 0 if all(b.mismatches == 0 for b in boards) else EXIT_FAILED


# -- record ------------------------------------------------------------------


def run_record(args: argparse.Namespace) -> int:
    check_writable(args.out, "recording")
    with connect(args.port, args.baud) as client, _sigterm_as_interrupt():
        info = client.last_info
        assert info is not None
        with RecordingWriter(args.out, args.label, info.format & 0x7F) as writer:  # value bits
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
        dark = _step(client, "Cover the sensor completely (dark)",
                     _sim_hint(VIRTUAL_DARK) if virtual else "", args.yes)
        bright = _step(client, "Now light all four pixels evenly (bright)",
                       _sim_hint(VIRTUAL_BRIGHT) if virtual else "", args.yes)
        check_pair(dark, bright)  # nothing reaches the board unless the pair is good
        cal = client.calibrate(CalOp.SET, dark, bright)
        print(f"calibration stored on the board (kept across restarts): dark {list(cal.dark)}, "
              f"bright {list(cal.bright)}")
    return 0


def _sim_hint(commands: str) -> str:
    return f" (a virtual board: type {commands} into its pixelnet sim terminal)"


def _step(client: BoardClient, instruction: str, hint: str, no_wait: bool) -> tuple[int, ...]:
    """Say what to do, wait for the user, show what the board reads now, return their mean."""
    print(instruction + hint + ("." if no_wait else ", then press Enter."), flush=True)
    if not no_wait:
        try:
            input()
        except EOFError:
            raise PixelnetError("no terminal to press Enter on: run with --yes") from None
    readings = []
    for _ in range(CALIBRATION_READINGS):
        readings.append(client.sample().adc)
        print("  reading (TL TR BL BR): " + " ".join(f"{v:4d}" for v in readings[-1]))
    return mean_counts(readings)


# -- boards ------------------------------------------------------------------


def run_boards(args: argparse.Namespace) -> int:
    from .boards import format_listing, list_boards

    print(format_listing(list_boards()))
    return 0


# -- demo --------------------------------------------------------------------


def run_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo as demo

    check_output_dir(args.build_dir, "build directory")
    if args.boards > 1:
        return _lab_demo(args)
    with _sigterm_as_interrupt():
        result = demo(args.board, args.port, args.build_dir, say=lambda s: print(s, flush=True))
    print()
    print(format_summary(result.report))
    print(f"\nreport: {result.report_path}\npage with plots: {result.html_path}"
          f"\nevery sample: {result.log_path}")
    return 0 if result.report["passed"] else EXIT_FAILED


def _lab_demo(args: argparse.Namespace) -> int:
    from .demo import run_lab_demo

    if args.port is not None or args.board != "uno":
        raise PixelnetError("--boards starts virtual Unos: leave out --port and --board")
    with _sigterm_as_interrupt():
        result = run_lab_demo(args.boards, args.build_dir, say=lambda s: print(s, flush=True))
    print()
    print(result.table)
    for path in result.report_paths:
        print(f"report: {path}")
    return 0 if result.passed else EXIT_FAILED
