"""The verification report as a readable table (the JSON report is the source)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pixelnet.errors import PixelnetError
from pixelnet.files import write_atomically
from pixelnet.progress import ticking
from pixelnet.table import aligned

SUMMARY_COLUMNS = (
    ("max_abs", "max|e|"), ("max_abs_lsb", "LSB"), ("mae", "MAE"), ("rmse", "RMSE"),
    ("mean", "mean"), ("std", "std"), ("l2_ratio", "L2 ratio"), ("cosine", "cosine"),
)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _pct(part: float | None) -> str:
    return "-" if part is None else f"{100 * part:.2f} %"


CALIBRATION_ORIGINS = {
    "default": "the defaults (none stored)",
    "stored": "stored on the board",
    # Every calibration a board accepts is stored at once; "session" only says it was set
    # since the board started, and must not read as "not saved".
    "session": "stored on the board (set since it started)",
}


def calibration_origin(source: str) -> str:
    """Where the board's calibration comes from, in words (the JSON keeps the short name)."""
    return CALIBRATION_ORIGINS.get(source, f"source {source}")


def _board_lines(board: dict[str, Any] | None, model_hash: str) -> list[str]:
    """Who answered: the board's header, or that none got through the handshake."""
    if board is None:
        return [f"no board got through the handshake; model {model_hash}"]
    return [
        f"board {board['name']} (firmware {board['firmware']}, protocol {board['protocol']}, "
        f"{board['format']}), model {model_hash}",
        f"calibration: {calibration_origin(board['calibration']['source'])}: "
        f"dark {board['calibration']['dark']} "
        f"bright {board['calibration']['bright']}; averaging {board['averaging']}",
    ]


def format_summary(report: dict[str, Any]) -> str:
    """The report as the table ``pixelnet verify`` prints."""
    lines = [*_board_lines(report["board"], report["model_hash"]),
        "",
        f"samples compared      {report['samples']:,}",
        f"bit-exact mismatches  {report['bit_exact_mismatches']:,}  "
        "(board integers vs the integer emulator on the board's own input)",
        f"argmax agreement      {_pct(report['argmax_agreement'])}  (board class vs float model)",
    ]
    if report["accuracy"] is not None:
        lines.append(
            f"accuracy              {_pct(report['accuracy'])}  "
            f"({report['labelled_samples']:,} samples with a known pattern)"
        )
    lines += ["", f"quantisation error, board - float model (1 LSB = {report['lsb']:.6g}):"]
    rows = [*report["error_per_output"].items(), ("all", report["error"])]
    table = [["output", *(title for _, title in SUMMARY_COLUMNS)]]
    table += [[name, *(_num(stats[key]) for key, _ in SUMMARY_COLUMNS)] for name, stats in rows]
    lines += aligned(table, indent="  ", gap="   ")
    if report["labelled_samples"]:
        lines += ["", "confusion (rows: true class, columns: board class):"]
        classes = report["classes"]
        width = max(9, *(len(c) for c in classes)) + 2
        lines.append("  " + " " * 12 + "".join(c.rjust(width) for c in classes))
        for name, row in zip(classes, report["confusion"], strict=True):
            lines.append(f"  {name:<12}" + "".join(f"{v:>{width},}" for v in row))
    if report["phases"]:
        lines += ["", "phases:"]
        for p in report["phases"]:
            correct = "" if p["correct"] is None else f", {p['correct']}/{p['labelled']} right"
            truth = f" (true class {p['truth']})" if p["truth"] else ""
            lines.append(
                f"  {p['label']:<24} {p['source']:<8} {p['samples']:>7,} samples{truth}"
                f"{correct}, {p['bit_exact_mismatches']} mismatches"
            )
    link = report["link"]
    lines += [
        "",
        f"link: {link['frames']:,} good frames, {link['bad_crc']} CRC errors, "
        f"{link['bad_frame']} bad frames, {link['too_long']} too long ({link['resyncs']} resyncs), "
        f"{link['seq_gaps']} sequence gaps ({link['missed_samples']} samples missed), "
        f"{link['duplicates']} duplicates, {link['resets']} resets, "
        f"{link['board_errors']} board errors, {link['retries']} retries",
        f"throughput: {report['samples']:,} samples in {report['throughput']['seconds']:.1f} s"
        + (
            f" = {report['throughput']['samples_per_second']:,.0f} samples/s"
            if report["throughput"]["samples_per_second"]
            else ""
        ),
    ]
    for example in report["mismatch_examples"][:5]:
        where = example.get("first_diverging_layer")
        layer = "" if where is None else f", first diverging layer {where}"
        sample = f" sample {example['sample']:,}" if "sample" in example else ""
        lines.append(
            f"MISMATCH{sample} ({example['stage']}{layer}): adc {example['adc']} x {example['x']} "
            f"(expected {example['expected_x']}) out {example['out']} "
            f"(expected {example['expected_out']})"
        )
    verdict = "PASS" if report["passed"] else "FAIL: " + "; ".join(report["failures"])
    lines += ["", verdict]
    return "\n".join(lines)


def write_html(report: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Render the report as a self-contained HTML page and write it atomically."""
    from .html_report import render_html  # matplotlib loads only when a page is wanted

    try:
        with ticking(f"drawing the HTML report {path}"):  # seconds of matplotlib
            page = render_html(report)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise PixelnetError(f"a damaged report ({type(exc).__name__}: {exc})") from None
    return write_atomically(path, page, what="the HTML report")


REQUIRED_KEYS = ("tool", "model_hash", "classes", "board", "samples", "bit_exact_mismatches",
                 "argmax_agreement", "lsb", "error", "error_per_output", "link", "failures",
                 "passed")


def load_report(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a JSON report written by ``pixelnet verify`` or ``demo``, or say what is wrong."""
    try:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PixelnetError(f"{path}: cannot read the report ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise PixelnetError(f"{path}: not a JSON report ({exc})") from None
    if not isinstance(report, dict):
        raise PixelnetError(f"{path}: not a pixelnet report (a JSON object was expected)")
    missing = [key for key in REQUIRED_KEYS if key not in report]
    if missing:
        raise PixelnetError(f"{path}: not a pixelnet report (missing {', '.join(missing)})")
    try:
        format_summary(report)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise PixelnetError(f"{path}: a damaged report ({type(exc).__name__}: {exc})") from None
    return report


def write_json(report: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write the report atomically (never half a file)."""
    return write_atomically(path, json.dumps(report, indent=1) + "\n", what="the report")
