"""The verification report as one self-contained HTML page, rendered from the JSON report.

The JSON report is the source (``pixelnet verify --report``); this page and the
terminal summary are two renderings of it, so any earlier run can be rendered
again with ``pixelnet report --from r.json --html r.html``. The page is meant to be
attached to a bug report or a release: it opens from disk or a CI artifact with
no network, so it has no scripts, no external fonts or stylesheets, and every
plot is inline SVG drawn by matplotlib's SVG backend with text as paths (so the
page looks the same on every machine, whatever fonts it has).

Sections, top to bottom: verdict and the board/model/firmware header; the
bit-exact result; the quantisation-error table; per-output histograms of
board - float in LSB; the confusion matrix as a heat map; error against sample
index with the phases marked; link health over time; the worst samples as 2x2
images beside their outputs; the mismatches with their per-layer traces, the
first diverging layer highlighted; the phases.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable, Sequence
from typing import Any

from pixelnet import __version__

from .evidence import LINK_SERIES
from .report import SUMMARY_COLUMNS, calibration_origin

PLOT_IDS = ("plot-histograms", "plot-confusion", "plot-error-timeline", "plot-link-health")
# The link series in words. A CRC error, a bad frame and a frame too long each cost the
# decoder a resync (it throws the frame away and starts again at the next 0x00).
LINK_LABELS = {
    "bad_crc": "CRC errors", "bad_frame": "bad frames", "too_long": "frames too long",
    "seq_gaps": "sequence gaps", "duplicates": "duplicates", "resets": "board resets",
    "retries": "retries", "board_errors": "board errors", "protocol_errors": "protocol errors",
}
RESYNC_CAUSES = ("bad_crc", "bad_frame", "too_long")
PHASE_COLOURS = ("#e8eef7", "#f7efe3")  # alternate shading of the phases
MISMATCH_COLOUR = "#c62828"
INK = "#1f2933"


def render_html(report: dict[str, Any]) -> str:
    """The whole page for one JSON report."""
    evidence = report.get("evidence")
    sections = [
        _header(report),
        _bit_exact(report),
        _error_table(report),
    ]
    if evidence:
        sections += [
            _figure("plot-histograms", "Error per output, board - float model, in LSB",
                    _histograms_svg(report, evidence),
                    "Each bar counts samples whose error fell in that bin "
                    f"({evidence['histogram_bin_lsb']:g} LSB wide); 1 LSB = {report['lsb']:.6g}."),
        ]
    sections.append(_confusion_section(report))
    if evidence:
        sections += [
            _figure("plot-error-timeline", "Error against sample index",
                    _timeline_svg(report, evidence),
                    "Worst and mean |board - float| per compared batch; shaded bands are the "
                    "phases; red marks are batches with bit-exact mismatches."),
            _figure("plot-link-health", "Link health over time", _link_svg(evidence),
                    "Cumulative link faults as the host counted them: CRC errors, bad "
                    "frames and frames too long (each one a resync at the next frame), "
                    "sequence gaps, duplicates, board resets, board errors, retries (commands "
                    "re-sent), CRC-good frames with an impossible layout (protocol errors)."),
            _worst_samples(report, evidence),
        ]
    else:
        sections.append(
            '<section><p class="note">This report was written by a pixelnet that did not '
            "record per-sample evidence: histograms, timelines and worst samples are not "
            "available for it.</p></section>"
        )
    sections += [_mismatches(report), _phases(report), _footer(report)]
    title = f"pixelnet verification: {_verdict_word(report)} — {report['board']['name']}"
    return _PAGE.format(title=_e(title), css=_CSS, body="\n".join(s for s in sections if s))


# -- text sections ---------------------------------------------------------------


def _verdict_word(report: dict[str, Any]) -> str:
    return "PASS" if report["passed"] else "FAIL"


def _header(report: dict[str, Any]) -> str:
    board = report["board"]
    cal = board["calibration"]
    failures = "".join(f"<li>{_e(f)}</li>" for f in report["failures"])
    rows = [
        ("board", f"{board['name']} (firmware {board['firmware']}, protocol {board['protocol']})"),
        ("model", f"{report['model_hash']}, number format {board['format']}"),
        ("classes", ", ".join(report["classes"])),
        ("calibration", f"{calibration_origin(cal['source'])}: dark {cal['dark']}, "
                        f"bright {cal['bright']}; "
                        f"averaging {board['averaging']}"),
        ("tool", report.get("tool", "")),
    ]
    if report.get("date"):
        rows.append(("date", report["date"]))
    verdict = _verdict_word(report)
    return (
        f'<header><h1>pixelnet verification report</h1>'
        f'<p class="verdict {verdict.lower()}" id="verdict">{verdict}</p>'
        + (f'<ul class="failures">{failures}</ul>' if failures else "")
        + _key_values(rows)
        + "</header>"
    )


def _bit_exact(report: dict[str, Any]) -> str:
    mismatches = report["bit_exact_mismatches"]
    state = "ok" if mismatches == 0 and report["samples"] else "bad"
    rows = [
        ("samples compared", f"{report['samples']:,}"),
        ("bit-exact mismatches", f"{mismatches:,} (board integers vs the integer emulator "
                                 "on the board's own input)"),
        ("argmax agreement", _pct(report["argmax_agreement"]) + " (board class vs float model)"),
    ]
    if report.get("accuracy") is not None:
        rows.append(("accuracy", f"{_pct(report['accuracy'])} "
                                 f"({report['labelled_samples']:,} samples with a known pattern)"))
    throughput = report.get("throughput") or {}
    if throughput.get("samples_per_second"):
        rows.append(("throughput", f"{throughput['samples_per_second']:,.0f} samples/s over "
                                   f"{throughput['seconds']:.1f} s"))
    return (f'<section id="bit-exact" class="{state}"><h2>Bit-exact result</h2>'
            f"{_key_values(rows)}</section>")


def _error_table(report: dict[str, Any]) -> str:
    head = "".join(f"<th>{_e(title)}</th>" for _, title in SUMMARY_COLUMNS)
    rows = [*report["error_per_output"].items(), ("all", report["error"])]
    body = "".join(
        f"<tr><th>{_e(name)}</th>"
        + "".join(f"<td>{_num(stats[key])}</td>" for key, _ in SUMMARY_COLUMNS)
        + "</tr>"
        for name, stats in rows
    )
    return (
        '<section id="error-table"><h2>Quantisation error, board - float model</h2>'
        f"<p>1 LSB = {report['lsb']:.6g}. Figures are over the samples compared in this run.</p>"
        f'<table class="numbers"><tr><th>output</th>{head}</tr>{body}</table></section>'
    )


def _confusion_section(report: dict[str, Any]) -> str:
    if not report.get("labelled_samples"):
        return (
            '<section id="confusion"><h2>Confusion matrix</h2><p class="note">No sample in '
            "this run had a known pattern (live scenes with a label, or "
            "<code>--scene-label</code>), so there is no confusion matrix.</p></section>"
        )
    return _figure("plot-confusion", "Confusion matrix (rows: true class, columns: board class)",
                   _confusion_svg(report), f"{report['labelled_samples']:,} samples with a "
                   f"known pattern; accuracy {_pct(report['accuracy'])}.")


def _worst_samples(report: dict[str, Any], evidence: dict[str, Any]) -> str:
    classes = report["classes"]
    phases = report.get("phases") or []
    rows = []
    for s in evidence["worst_samples"]:
        phase = phases[s["phase"]]["label"] if s["phase"] < len(phases) else ""
        outputs = "".join(
            f"<tr><th>{_e(name)}</th><td>{b:+.4f}</td><td>{f:+.4f}</td><td>{b - f:+.4f}</td></tr>"
            for name, b, f in zip(classes, s["board"], s["float"], strict=True)
        )
        truth = classes[s["truth"]] if s["truth"] >= 0 else "unknown"
        rows.append(
            f'<div class="sample{"" if s["exact"] else " mismatch"}">'
            f"{pixel_image_svg(s['x'])}"
            f"<div><p>sample {s['index']:,} ({_e(phase)}), max |e| {s['max_abs_lsb']:.3g} LSB"
            f"<br>{_origin(phases, s)}; board says <b>{_e(classes[s['board_class']])}</b>, "
            f"float model {_e(classes[s['float_class']])}, truth {_e(truth)}</p>"
            f'<table class="numbers"><tr><th></th><th>board</th><th>float</th><th>error</th></tr>'
            f"{outputs}</table></div></div>"
        )
    return (
        '<section id="worst-samples"><h2>The samples with the largest error</h2>'
        "<p>The 2x2 image the network saw (white = +1, black = -1), beside its outputs.</p>"
        '<div class="samples">' + "".join(rows) + "</div></section>"
    )


def _origin(phases: list[dict[str, Any]], sample: dict[str, Any]) -> str:
    """Where a sample's input came from: the sensor's raw counts, or the host."""
    injected = sample["phase"] < len(phases) and phases[sample["phase"]]["source"] == "injected"
    return "an injected input vector" if injected else f"adc {sample['adc']}"


def pixel_image_svg(x: Sequence[float], size: int = 64) -> str:
    """The input vector as the 2x2 image the lesson draws (top-left, top-right, bottom-left,
    bottom-right), grey levels from black (-1) to white (+1), with a frame."""
    cell = size // 2
    rects = []
    for i, value in enumerate(x[:4]):
        level = round((min(1.0, max(-1.0, value)) + 1) / 2 * 255)
        rects.append(
            f'<rect x="{(i % 2) * cell}" y="{(i // 2) * cell}" width="{cell}" height="{cell}" '
            f'fill="rgb({level},{level},{level})"/>'
        )
    return (
        f'<svg class="pixels" width="{size}" height="{size}" viewBox="0 0 {size} {size}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(rects)}'
        f'<rect x="0.5" y="0.5" width="{size - 1}" height="{size - 1}" fill="none" '
        f'stroke="#888"/></svg>'
    )


def _mismatches(report: dict[str, Any]) -> str:
    examples = report.get("mismatch_examples") or []
    if not examples:
        return ""
    traced = "".join(
        f"<div class=\"mismatch-example\"><p>{_e(m['phase'])}: adc {m['adc']}, "
        f"x {m['x']}</p>{_trace_table(m)}</div>"
        for m in examples
        if "trace" in m
    )
    rows = "".join(
        f"<tr><td>{_e(m['phase'])}</td><td>{_e(m['stage'])}</td><td>{m['adc']}</td>"
        f"<td>{m['x']}</td><td>{m['expected_x']}</td><td>{m['out']}</td>"
        f"<td>{m['expected_out']}</td></tr>"
        for m in examples
    )
    return (
        '<section id="mismatches"><h2>Bit-exact mismatches</h2>'
        f"<p>{report['bit_exact_mismatches']:,} samples differ from the integer emulator; the "
        f"first {len(examples)} are listed. For the first few the board sent its per-layer "
        "trace: the first layer that differs from the emulator is highlighted.</p>"
        f"{traced}"
        '<table class="numbers"><tr><th>phase</th><th>diverged at</th><th>adc</th><th>x</th>'
        "<th>expected x</th><th>outputs</th><th>expected outputs</th></tr>"
        f"{rows}</table></section>"
    )


def _trace_table(example: dict[str, Any]) -> str:
    first = example.get("first_diverging_layer", -1)
    rows = []
    for i, (got, want) in enumerate(
        zip(example["trace"], example["expected_trace"], strict=False)
    ):
        mark = ' class="diverged"' if i == first else ""
        rows.append(f"<tr{mark}><th>layer {i}</th><td>{got}</td><td>{want}</td></tr>")
    verdict = "all layers agree" if first == -1 else f"first diverging layer: {first}"
    return (
        f'<table class="trace"><caption>{verdict}</caption>'
        "<tr><th></th><th>board</th><th>emulator</th></tr>" + "".join(rows) + "</table>"
    )


def _phases(report: dict[str, Any]) -> str:
    phases = report.get("phases") or []
    if not phases:
        return ""
    rows = "".join(
        f"<tr><th>{_e(p['label'])}</th><td>{_e(p['source'])}</td><td>{p['samples']:,}</td>"
        f"<td>{_e(p['truth'] or '')}</td><td>{_right(p)}</td>"
        f"<td>{p['bit_exact_mismatches']:,}</td></tr>"
        for p in phases
    )
    return (
        '<section id="phases"><h2>Phases</h2><table class="numbers"><tr><th>phase</th>'
        "<th>source</th><th>samples</th><th>true class</th><th>right</th><th>mismatches</th></tr>"
        f"{rows}</table></section>"
    )


def _right(phase: dict[str, Any]) -> str:
    if phase["correct"] is None:
        return ""
    return f"{phase['correct']:,}/{phase['labelled']:,}"


def _footer(report: dict[str, Any]) -> str:
    link = report["link"]
    resyncs = link.get("resyncs", sum(link.get(key, 0) for key in RESYNC_CAUSES))
    faults = ", ".join(f"{LINK_LABELS[key]} {link.get(key, 0):,}" for key in LINK_SERIES)
    return (
        f"<footer><p>link: {link['frames']:,} good frames, {resyncs:,} resyncs; "
        f"{_e(faults)}.</p>"
        f"<p>Rendered by pixelnet {__version__} from the JSON report of {_e(report['tool'])}. "
        "Re-render any run with "
        "<code>pixelnet report --from REPORT.json --html OUT.html</code>.</p>"
        "</footer>"
    )


def _key_values(rows: list[tuple[str, str]]) -> str:
    return '<dl class="kv">' + "".join(
        f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows
    ) + "</dl>"


def _figure(plot_id: str, title: str, svg: str, caption: str) -> str:
    return (
        f'<section><h2>{_e(title)}</h2><figure class="plot" id="{plot_id}">{svg}'
        f"<figcaption>{_e(caption)}</figcaption></figure></section>"
    )


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _pct(part: float | None) -> str:
    return "-" if part is None else f"{100 * part:.2f} %"


# -- plots -------------------------------------------------------------------------


def _svg(draw: Callable[[Any], None], size: tuple[float, float], salt: str) -> str:
    """Draw on a fresh matplotlib figure and return it as an inline <svg> element.

    No pyplot (no global state, no GUI backend); text as paths (no fonts needed
    where the page is opened); a fixed hash salt per plot keeps the SVG element
    ids unique within the page and the output the same from run to run.
    """
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": salt,
                                "font.size": 9, "axes.edgecolor": "#888",
                                "text.color": INK, "axes.labelcolor": INK}):
        fig = Figure(figsize=size, layout="constrained")
        draw(fig)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and DOCTYPE


def _histograms_svg(report: dict[str, Any], evidence: dict[str, Any]) -> str:
    width = evidence["histogram_bin_lsb"]
    histograms = evidence["histograms"]

    def draw(fig: Any) -> None:
        axes = fig.subplots(1, len(histograms), sharey=True, squeeze=False)[0]
        for ax, (name, pairs) in zip(axes, histograms.items(), strict=True):
            lefts = [b * width for b, _ in pairs]
            counts = [c for _, c in pairs]
            ax.bar(lefts, counts, width=width, align="edge", color="#4a78b5")
            ax.axvline(0, color="#888", linewidth=0.8)
            stats = report["error_per_output"].get(name, {})
            worst = stats.get("max_abs_lsb")
            ax.set_title(name if worst is None else f"{name}\nmax |e| {worst:.3g} LSB")
            ax.set_xlabel("board - float (LSB)")
        axes[0].set_ylabel("samples")

    return _svg(draw, (2.3 * max(2, len(histograms)), 2.6), "histograms")


def _confusion_svg(report: dict[str, Any]) -> str:
    classes = report["classes"]
    matrix = report["confusion"]

    def draw(fig: Any) -> None:
        ax = fig.subplots()
        ax.imshow(matrix, cmap="Blues")
        peak = max(max(row) for row in matrix) or 1
        for i, row in enumerate(matrix):
            for j, value in enumerate(row):
                colour = "white" if value > peak / 2 else INK
                ax.text(j, i, f"{value:,}", ha="center", va="center", color=colour)
        ax.set_xticks(range(len(classes)), classes, rotation=30, ha="right")
        ax.set_yticks(range(len(classes)), classes)
        ax.set_xlabel("board class")
        ax.set_ylabel("true class")

    return _svg(draw, (4.2, 3.6), "confusion")


def _phase_bands(ax: Any, report: dict[str, Any], label: bool) -> None:
    """Shade each phase's span of sample indices, and name it when there are few."""
    start = 0
    phases = report.get("phases") or []
    for k, phase in enumerate(phases):
        end = start + phase["samples"]
        if end > start:
            ax.axvspan(start, end, color=PHASE_COLOURS[k % 2], zorder=0, linewidth=0)
            if label and len(phases) <= 12:
                ax.text((start + end) / 2, 1.0, phase["label"], transform=ax.get_xaxis_transform(),
                        ha="center", va="bottom", fontsize=7, rotation=30)
        start = end


def _timeline_svg(report: dict[str, Any], evidence: dict[str, Any]) -> str:
    points = evidence["timeline"]

    def draw(fig: Any) -> None:
        ax = fig.subplots()
        _phase_bands(ax, report, label=True)
        ends = [p["end"] for p in points]
        ax.step(ends, [p["max_abs_lsb"] for p in points], where="pre", label="worst |e|",
                color="#1f4e8c")
        ax.step(ends, [p["mean_abs_lsb"] for p in points], where="pre", label="mean |e|",
                color="#7aa6d6")
        bad = [p for p in points if p["mismatches"]]
        if bad:
            ax.scatter([p["end"] for p in bad], [p["max_abs_lsb"] for p in bad],
                       color=MISMATCH_COLOUR, zorder=3, label="mismatches")
        ax.set_xlim(0, max(ends[-1] if ends else 1, 1))
        ax.set_ylim(bottom=0)
        ax.set_xlabel("sample index")
        ax.set_ylabel("|board - float| (LSB)")
        ax.legend(loc="upper right", fontsize=7)

    return _svg(draw, (9.0, 3.0), "timeline")


def link_series(points: Sequence[dict[str, Any]]) -> list[tuple[str, list[int]]]:
    """The link counters worth a line, in words: every fault that happened at least once,
    led by the resyncs that the damaged frames cost."""
    counts = {key: [p["link"].get(key, 0) for p in points] for key in LINK_SERIES}
    resyncs = [sum(counts[key][i] for key in RESYNC_CAUSES) for i in range(len(points))]
    series = [("resyncs", resyncs), *((LINK_LABELS[key], counts[key]) for key in LINK_SERIES)]
    return [(label, values) for label, values in series if any(values)]


def _link_svg(evidence: dict[str, Any]) -> str:
    points = evidence["timeline"]

    def draw(fig: Any) -> None:
        ax = fig.subplots()
        seconds = [p["seconds"] for p in points]
        series = link_series(points)
        for label, values in series:
            ax.step(seconds, values, where="post", label=label)
        if not series:
            ax.text(0.5, 0.5, "no link faults in this run", transform=ax.transAxes,
                    ha="center", va="center", color="#2e7d32", fontsize=11)
        else:
            ax.legend(loc="upper left", fontsize=7)
        ax.set_xlim(0, max(seconds[-1] if seconds else 1, 1e-3))
        ax.set_ylim(bottom=0)
        ax.set_xlabel("seconds since the start of the run")
        ax.set_ylabel("cumulative count")

    return _svg(draw, (9.0, 2.6), "link")


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2933;
       max-width: 1000px; margin: 2em auto; padding: 0 1em; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.15em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 1.6em; }
.verdict { display: inline-block; font-weight: bold; font-size: 1.4em; padding: 0.1em 0.7em;
           border-radius: 0.3em; color: white; }
.verdict.pass { background: #2e7d32; } .verdict.fail { background: #c62828; }
.failures { color: #c62828; }
dl.kv { display: grid; grid-template-columns: max-content auto; gap: 0.1em 1em; }
dl.kv dt { color: #52606d; } dl.kv dd { margin: 0; }
#bit-exact.ok dd:nth-of-type(2) { color: #2e7d32; font-weight: bold; }
#bit-exact.bad dd:nth-of-type(2) { color: #c62828; font-weight: bold; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { padding: 0.15em 0.6em; text-align: right; border-bottom: 1px solid #eee; }
th { text-align: left; font-weight: 600; }
table.numbers td { font-variant-numeric: tabular-nums; }
figure.plot { margin: 0; } figure.plot svg { max-width: 100%; height: auto; }
figcaption, .note { color: #52606d; font-size: 0.9em; }
.samples { display: grid; grid-template-columns: 1fr 1fr; gap: 0.4em 1.5em; }
.sample { display: flex; gap: 1em; align-items: flex-start; padding: 0.3em; }
svg.pixels { flex: none; }
.sample.mismatch { outline: 2px solid #c62828; }
.sample p { margin: 0 0 0.3em 0; font-size: 0.9em; }
.mismatch-example { margin: 0.8em 0; }
table.trace tr.diverged { background: #fde2e2; font-weight: bold; }
footer { margin-top: 2em; color: #52606d; font-size: 0.85em; }
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
{body}
</body>
</html>
"""
