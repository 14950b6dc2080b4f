"""The benchmark's two renderings: the terminal table and the README's "Performance" section.

Both take the results document that ``pixelnet bench --out`` writes (plain dicts,
so a saved JSON renders the same as a fresh run) and return text; nothing here
runs or writes anything.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from pixelnet.bench.rows import F_CPU_MHZ, GLOSSARY
from pixelnet.table import aligned

COLUMNS = ("section", "measure", "pixelnet", "peer", "ratio", "target", "pass")
UNIT_SUFFIX = {"cycles": " cycles", "bytes": " B", "s": " s", "ms": " ms", "per_s": "/s",
               "times": "×", "instructions": " instructions", "%core": "% of a core"}
WALL_CLOCK_UNITS = {"s", "ms", "per_s", "%core"}
RATIO_NOTE = ("ratio: how many times better pixelnet is than the peer "
              "(peer / pixelnet for costs, pixelnet / peer for rates)")


def format_number(x: float) -> str:
    """Thousands separators for counts, three significant digits below 100."""
    if float(x).is_integer() or abs(x) >= 100:
        return f"{round(x):,}"
    return f"{x:.3g}"


def format_value(value: Any, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "fidelity":
        agreement, error = value
        return f"{agreement * 100:.4g}% agree, max |err| {error:.3g}"
    if unit == "cycles":
        return f"{value:,} ({format_number(value / F_CPU_MHZ)} µs)"
    if unit == "cycles_8mhz":  # the ATtiny85's clock
        return f"{value:,} ({format_number(value / 8)} µs at 8 MHz)"
    if unit == "s":
        return f"{value:.3f} s"
    return format_number(value) + UNIT_SUFFIX.get(unit, "")


def format_ratio(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.3g}×"


def format_target(target: dict[str, Any] | None, unit: str) -> str:
    if target is None:
        return ""
    sign = "≤" if target["op"] == "<=" else "≥"
    if target["on"] == "ratio":
        return f"ratio {sign} {target['bound']:g}×"
    if unit == "fidelity":
        return f"{sign} {target['bound'] * 100:g}% agree"
    return f"{sign} {format_number(target['bound'])}{UNIT_SUFFIX.get(unit, '')}"


def format_verdict(passed: bool | None) -> str:
    return {True: "pass", False: "FAIL", None: ""}[passed]


def row_cells(row: dict[str, Any]) -> list[str]:
    peer = format_value(row["peer"], row["unit"])
    return [
        row["section"],
        row["measure"],
        format_value(row["pixelnet"], row["unit"]),
        f"{row['peer_name']} {peer}" if row["peer"] is not None else "",
        "" if row["peer"] is None or row["unit"] == "fidelity" else format_ratio(row["ratio"]),
        format_target(row["target"], row["unit"]),
        format_verdict(row["passed"]),
    ]


def short_commit(commit: str) -> str:
    """12 hex digits are unambiguous; keep the ``-dirty`` mark."""
    bare = commit.removesuffix("-dirty")
    return bare[:12] + commit[len(bare):]


def machine_line(header: dict[str, Any]) -> str:
    """One line naming the machine and tool versions the numbers were taken with."""
    commit = header.get("git_commit")
    parts = [
        f"pixelnet {header['pixelnet']}" + (f" (commit {short_commit(commit)})" if commit else ""),
        f"{header['cpu']}, {header['cores']} cores",
        header["os"],
        f"Python {header['python']}",
        f"numpy {header['numpy']}",
        f"avr-gcc {header['avr_gcc'] or 'not found'}",
        f"simavr {header['simavr'] or 'not found'}",
    ]
    peers = [f"{name} {header[key]}" for name, key in
             (("scikit-learn", "scikit_learn"), ("emlearn", "emlearn"),
              ("MicroPython", "micropython")) if header.get(key)]
    return ", ".join(parts + peers)


def verdict_line(rows: Sequence[dict[str, Any]]) -> str:
    judged = [r for r in rows if r["passed"] is not None]
    failed = [r["id"] for r in judged if not r["passed"]]
    line = f"{len(judged) - len(failed)} of {len(judged)} targets met"
    return line + (f"; missed: {', '.join(failed)}" if failed else "")


def format_table(results: dict[str, Any]) -> str:
    """The terminal table, headed by the machine line and closed by the verdict and errors."""
    rows = results["rows"]
    header = results["header"]
    lines = [f"{header['command']}, {readable_date(header['date'])}", machine_line(header), ""]
    lines += aligned([list(COLUMNS)] + [row_cells(r) for r in rows], left=len(COLUMNS))
    lines += ["", RATIO_NOTE, verdict_line(rows)]
    lines += [f"section {name} failed: {msg}" for name, msg in results.get("errors", {}).items()]
    return "\n".join(lines)


def _markdown_cell(text: str) -> str:
    return text.replace("|", "\\|")


def _markdown_table(rows: Sequence[dict[str, Any]]) -> list[str]:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        cells = [_markdown_cell(c) for c in row_cells(row)]
        cells[-1] = {"pass": "✅ pass", "FAIL": "❌ FAIL"}.get(cells[-1], cells[-1])
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def readable_date(iso: str) -> str:
    """``2026-01-02T03:04:05+00:00`` -> ``2026-01-02 03:04 UTC``."""
    stamp = datetime.datetime.fromisoformat(iso).astimezone(datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%d %H:%M UTC")


def format_markdown(results: dict[str, Any]) -> str:
    """The README's "Performance" section: provenance, table, one sentence per row, command."""
    header, rows = results["header"], results["rows"]
    wall_clock = sorted({r["section"] for r in rows if r["unit"] in WALL_CLOCK_UNITS})
    lines = [
        "## Performance",
        "",
        f"Generated by `pixelnet bench --markdown` on {readable_date(header['date'])} "
        f"({'quick run' if results.get('quick') else 'full run'}) on: "
        f"{machine_line(header)}.",
        "",
        *_markdown_table(rows),
        "",
        verdict_line(rows) + ".",
        "",
        RATIO_NOTE[0].upper() + RATIO_NOTE[1:] + ".",
        "",
        "Cycle and byte counts are exact (simavr, avr-size) and the same on every machine. "
        f"Wall-clock figures (sections: {', '.join(wall_clock) or 'none here'}) depend on "
        "the machine and its load: read their ratios, not their absolute values "
        "(training times are medians of alternating runs).",
        "",
        "What each row means. " + GLOSSARY,
        "",
    ]
    lines += [f"- **{r['section']} — {_markdown_cell(r['measure'])}**: {r['explanation']}"
              for r in rows]
    errors = results.get("errors", {})
    if errors:
        lines += ["", "Sections that failed in this run:", ""]
        lines += [f"- {name}: {_markdown_cell(msg)}" for name, msg in errors.items()]
    lines += [
        "",
        "To reproduce (emlearn, the peer, comes with the `bench` extra, which the set-up "
        "installs; elsewhere `pip install 'pixelnet[bench]'`):",
        "",
        "```sh",
        header["command"],
        "```",
        "",
    ]
    return "\n".join(lines)
