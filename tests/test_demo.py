"""`pixelnet demo` end to end: train, generate, build, virtual board, verify (slow)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from pixelnet.cli import main
from pixelnet.host.demo import INJECTED_VECTORS, run_demo
from pixelnet.trainer.patterns import SCENES

pytestmark = pytest.mark.slow


def _check_demo_report(report: dict, log_path: Path) -> None:
    assert report["passed"], report["failures"]
    assert report["bit_exact_mismatches"] == 0
    live = [p for p in report["phases"] if p["source"] == "live"]
    injected = [p for p in report["phases"] if p["source"] == "injected"]
    assert sum(p["samples"] for p in live) >= 1000
    assert sum(p["samples"] for p in injected) == INJECTED_VECTORS >= 10_000
    clean = {p["label"]: p for p in live if p["label"] in SCENES}
    assert set(clean) == set(SCENES)
    assert all(p["correct"] == p["labelled"] == p["samples"] > 0 for p in clean.values())
    assert report["link"]["resyncs"] == 0 and report["link"]["seq_gaps"] == 0
    assert report["board"]["calibration"]["source"] == "session"
    rows = list(csv.DictReader(log_path.open()))
    assert len(rows) == report["samples"] and all(r["exact"] == "1" for r in rows)


def test_demo_on_the_virtual_uno(tmp_path):
    progress: list[str] = []
    result = run_demo("uno", None, tmp_path, say=progress.append)
    _check_demo_report(result.report, result.log_path)
    assert result.html_path.read_text().count('<figure class="plot"') >= 4
    assert progress[0].startswith("[1/5]") and any(s.startswith("[5/5]") for s in progress)


def test_demo_command_on_the_virtual_micropython_board(tmp_path, capsys):
    assert main(["demo", "--board", "micropython", "--build-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "[3/5] starting the virtual micropython" in out
    assert "bit-exact mismatches  0" in out and out.rstrip().endswith("demo-log.csv")
    report = json.loads((tmp_path / "demo-report.json").read_text())
    assert report["board"]["name"] == "virtual-micropython"
    _check_demo_report(report, tmp_path / "demo-log.csv")
