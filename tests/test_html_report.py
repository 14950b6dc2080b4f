"""The HTML verification report: evidence gathered during a run, the page, and a real browser."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from pixelnet import progress
from pixelnet.cli import main
from pixelnet.codegen.quantize import quantize
from pixelnet.host.browser import load_page
from pixelnet.host.client import BoardClient
from pixelnet.host.compare import Checked, Reference, SampleArrays
from pixelnet.host.evidence import MAX_POINTS, WORST_KEPT, Evidence, TimelinePoint, merge_pairs
from pixelnet.host.fake_board import EmulatorArithmetic, FakeBoard
from pixelnet.host.html_report import PLOT_IDS, link_series, pixel_image_svg, render_html
from pixelnet.host.vectors import random_vectors
from pixelnet.host.verify import Verifier
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.model_file import save_model
from pixelnet.trainer.patterns import CLASSES

# -- the evidence, pure --------------------------------------------------------------


def _checked(rng: np.random.Generator, n: int, n_out: int = 4) -> Checked:
    board = SampleArrays(
        adc=rng.integers(0, 1024, (n, 4)), x=rng.integers(-127, 128, (n, 4)),
        out=rng.integers(-127, 128, (n, n_out)), cls=rng.integers(0, n_out, n),
    )
    board_real = board.out * 0.5
    float_out = board_real + rng.normal(0, 0.4, (n, n_out))
    stage = np.where(rng.random(n) < 0.05, 2, 0)
    return Checked(board, board.x, board.out, board.cls, board_real, float_out,
                   float_out.argmax(axis=1), stage)


def _feed(evidence: Evidence, batches: list[Checked]) -> None:
    for k, checked in enumerate(batches):
        evidence.add(checked, np.full(len(checked.board), -1), phase=k % 3, seconds=float(k),
                     link={"bad_crc": k}, input_scale=1 / 128)


def test_histograms_count_every_error_in_its_bin_however_the_run_is_split():
    rng = np.random.default_rng(1)
    batches = [_checked(rng, int(n)) for n in rng.integers(1, 80, 30)]
    whole = Evidence(tuple(CLASSES), lsb=0.5)
    _feed(whole, batches)
    errors = np.vstack([(c.board_real - c.float_out) / 0.5 for c in batches])
    for j, name in enumerate(CLASSES):
        pairs = dict(whole.to_dict()["histograms"][name])
        assert sum(pairs.values()) == len(errors)
        expected_bins, expected_counts = np.unique(np.floor(errors[:, j] / 0.125),
                                                   return_counts=True)
        assert pairs == dict(zip(expected_bins.astype(int).tolist(),
                                 expected_counts.tolist(), strict=True))


def test_the_worst_samples_are_the_largest_errors_of_the_whole_run():
    rng = np.random.default_rng(2)
    batches = [_checked(rng, 50) for _ in range(20)]
    evidence = Evidence(tuple(CLASSES), lsb=0.5)
    _feed(evidence, batches)
    worst = np.hstack([np.abs((c.board_real - c.float_out) / 0.5).max(axis=1) for c in batches])
    kept = evidence.to_dict()["worst_samples"]
    assert len(kept) == WORST_KEPT
    assert [s["index"] for s in kept] == np.argsort(-worst, kind="stable")[:WORST_KEPT].tolist()
    assert [s["max_abs_lsb"] for s in kept] == sorted(worst, reverse=True)[:WORST_KEPT]
    first = kept[0]
    batch, row = divmod(first["index"], 50)
    assert first["adc"] == batches[batch].board.adc[row].tolist()
    assert first["x"] == pytest.approx(batches[batch].board.x[row] / 128)


def test_the_timeline_stays_bounded_and_keeps_totals_and_extremes():
    rng = np.random.default_rng(3)
    batches = [_checked(rng, 7) for _ in range(3 * MAX_POINTS + 5)]
    evidence = Evidence(tuple(CLASSES), lsb=0.5)
    _feed(evidence, batches)
    points = evidence.to_dict()["timeline"]
    assert len(points) < MAX_POINTS
    assert sum(p["n"] for p in points) == 7 * len(batches) == points[-1]["end"]
    assert sum(p["mismatches"] for p in points) == sum(int((~c.exact).sum()) for c in batches)
    overall = max(float(np.abs((c.board_real - c.float_out) / 0.5).max()) for c in batches)
    assert max(p["max_abs_lsb"] for p in points) == overall
    assert points[-1]["link"]["bad_crc"] == len(batches) - 1  # the counters as they ended
    ends = [p["end"] for p in points]
    assert ends == sorted(ends)


def test_merging_pairs_halves_and_keeps_the_odd_one():
    points = [TimelinePoint(i + 1, float(i), 0, 1, float(i), float(i), i % 2, {}) for i in range(5)]
    merged = merge_pairs(points)
    assert [p.end for p in merged] == [2, 4, 5]
    assert [p.n for p in merged] == [2, 2, 1] and [p.mismatches for p in merged] == [1, 1, 0]


def test_the_pixel_image_is_the_lesson_grey_scale():
    svg = pixel_image_svg([1.0, -1.0, 0.0, 2.0])
    assert svg.count("<rect") == 5  # four pixels and a frame
    assert "rgb(255,255,255)" in svg and "rgb(0,0,0)" in svg and "rgb(128,128,128)" in svg


# -- reports from a board ----------------------------------------------------------------


class OneLsbHighInLayer1:
    """A board with a bug: the first unit of layer 1 is one LSB high for inputs with x0 > 50."""

    def __init__(self, qm):
        self.inner = EmulatorArithmetic(qm)
        self.format_bits, self.model_hash = qm.format_bits, qm.model_hash
        self.layer_sizes = qm.layer_sizes

    def preprocess(self, adc, dark, bright):
        return self.inner.preprocess(adc, dark, bright)

    def infer_trace(self, x):
        layers = self.inner.infer_trace(x)
        if x[0] > 50:
            layers[1][0] += 1
            layers[-1][0] += 1
        return layers


def _report(arithmetic, ref: Reference) -> dict:
    with FakeBoard(arithmetic, adc=(900, 40, 880, 60)) as board, \
            BoardClient.open(board.port) as client:
        info = client.info()
        verifier = Verifier(ref)
        verifier.verify_stream(client, n=150, truth=CLASSES.index("vertical"), label="left")
        verifier.verify_vectors(client, *random_vectors(400))
        return verifier.report(info, client.stats.to_dict(), max_error=0.5)


@pytest.fixture(scope="module")
def ref():
    return Reference.from_model(lesson_model(), "q7")


@pytest.fixture(scope="module")
def reports(ref, tmp_path_factory):
    """A passing and a failing report, as JSON files and rendered pages."""
    folder = tmp_path_factory.mktemp("reports")
    made = {}
    for name, arithmetic in (("pass", EmulatorArithmetic(ref.qm)),
                             ("fail", OneLsbHighInLayer1(ref.qm))):
        report = _report(arithmetic, ref)
        json_path = folder / f"{name}.json"
        json_path.write_text(json.dumps(report))
        made[name] = (report, json_path)
    return made


@pytest.fixture(scope="module")
def pages(reports):
    """The two reports rendered once (matplotlib is the slow part)."""
    return {name: render_html(report) for name, (report, _) in reports.items()}


def test_the_report_carries_its_evidence(reports):
    report, _ = reports["pass"]
    evidence = report["evidence"]
    assert set(evidence["histograms"]) == set(CLASSES)
    assert all(sum(c for _, c in pairs) == report["samples"]
               for pairs in evidence["histograms"].values())
    assert evidence["timeline"][-1]["end"] == report["samples"]
    worst = evidence["worst_samples"][0]
    assert worst["max_abs_lsb"] == pytest.approx(report["error"]["max_abs_lsb"])
    json.dumps(report)


def test_the_page_has_every_section_and_nothing_external(reports, pages):
    page = pages["pass"]
    for plot_id in PLOT_IDS:
        start = page.index(f'id="{plot_id}"')
        assert page.index("<svg", start) < page.index("</figure>", start)
    assert 'id="verdict">PASS<' in page and 'id="worst-samples"' in page
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert 'src="http' not in page and 'href="http' not in page and "url(http" not in page
    assert render_html(reports["pass"][0]) == page  # the same report, the same page


def test_a_failing_page_names_the_first_diverging_layer(pages):
    page = pages["fail"]
    assert 'id="verdict">FAIL<' in page and 'id="mismatches"' in page
    assert '<tr class="diverged"><th>layer 1</th>' in page
    assert "first diverging layer: 1" in page


def test_strings_from_the_report_are_escaped(reports):
    report = json.loads(json.dumps(reports["fail"][0]))
    report["classes"][0] = "<script>alert(1)</script>"
    report["board"]["name"] = "<img src=x>"
    page = render_html(report)
    assert "<script>" not in page and "<img src=x>" not in page
    assert "&lt;script&gt;" in page


def test_the_header_says_the_calibration_is_stored(reports):
    report = json.loads(json.dumps(reports["pass"][0]))
    report["board"]["calibration"]["source"] = "session"
    page = render_html(report)
    assert "stored on the board (set since it started): dark" in page
    assert "session:" not in page


def test_link_health_names_crc_errors_gaps_resyncs_and_retries(reports):
    report = json.loads(json.dumps(reports["pass"][0]))
    faults = {"bad_crc": 3, "too_long": 1, "resyncs": 4, "seq_gaps": 2, "retries": 5}
    report["link"].update(faults)
    for point in report["evidence"]["timeline"][len(report["evidence"]["timeline"]) // 2:]:
        point["link"].update({k: v for k, v in faults.items() if k != "resyncs"})
    page = render_html(report)
    start = page.index('id="plot-link-health"')
    caption = page[start:page.index("</figure>", start)]
    assert "resync" in caption and "CRC" in caption and "gaps" in caption
    assert "re-sent" in caption
    footer = page[page.index("<footer>"):]
    for words in ("4 resyncs", "CRC errors 3", "frames too long 1", "sequence gaps 2",
                  "retries 5"):
        assert words in footer, (words, footer)


def test_the_link_plot_draws_each_fault_that_happened_and_the_resyncs_they_cost():
    points = [{"link": {"bad_crc": c, "too_long": t, "retries": r}}
              for c, t, r in ((0, 0, 0), (1, 0, 1), (2, 1, 1))]
    assert link_series(points) == [("resyncs", [0, 1, 3]), ("CRC errors", [0, 1, 2]),
                                   ("frames too long", [0, 0, 1]), ("retries", [0, 1, 1])]
    assert link_series([{"link": {}}]) == []


def test_an_older_report_without_evidence_still_renders(reports):
    report = dict(reports["pass"][0])
    del report["evidence"]
    page = render_html(report)
    assert "did not record per-sample evidence" in page and 'id="error-table"' in page


# -- the commands ----------------------------------------------------------------------


def test_report_command_renders_any_earlier_run(reports, tmp_path, capsys):
    _, path = reports["pass"]
    assert main(["report", "--from", str(path), "--html", str(tmp_path / "r.html")]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    _, failed = reports["fail"]
    assert main(["report", "--from", str(failed)]) == 1  # a failed run stays failed
    assert "FAIL" in capsys.readouterr().out


def test_drawing_the_page_and_its_screenshot_is_never_silent(reports, tmp_path, capsys,
                                                            monkeypatch):
    """Both take seconds on a loaded machine: a progress line says what is going on."""
    monkeypatch.setattr(progress, "PERIOD", 0.001)  # a line at once, as if it took long
    _, path = reports["pass"]
    assert main(["report", "--from", str(path), "--html", str(tmp_path / "r.html"),
                 "--png", str(tmp_path / "r.png")]) == 0
    err = capsys.readouterr().err
    assert f"drawing the HTML report {tmp_path / 'r.html'}, " in err
    assert f"taking the screenshot {tmp_path / 'r.png'} with headless Chromium, " in err


@pytest.mark.parametrize("content, says", [
    ("{not json", "not a JSON report"),
    ("[1, 2]", "a JSON object was expected"),
    ('{"tool": "x"}', "missing model_hash"),
])
def test_report_command_refuses_what_is_not_a_report(tmp_path, capsys, content, says):
    path = tmp_path / "r.json"
    path.write_text(content)
    assert main(["report", "--from", str(path), "--html", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0]
    assert not (tmp_path / "r.html").exists()


def test_report_command_refuses_a_damaged_report(reports, tmp_path, capsys):
    report = json.loads(json.dumps(reports["pass"][0]))
    report["board"] = "uno"
    path = tmp_path / "r.json"
    path.write_text(json.dumps(report))
    assert main(["report", "--from", str(path)]) == 2
    assert "damaged report" in capsys.readouterr().err


def test_verify_writes_the_page(tmp_path, capsys):
    model = save_model(lesson_model(), tmp_path / "lesson.json")
    arithmetic = EmulatorArithmetic(quantize(lesson_model(), "q7"))
    with FakeBoard(arithmetic, adc=(900, 60, 900, 60)) as board:
        code = main(["verify", "--model", str(model), "--port", board.port, "--samples", "100",
                     "--html", str(tmp_path / "v.html"), "--report", str(tmp_path / "v.json")])
    assert code == 0, capsys.readouterr().out
    page = (tmp_path / "v.html").read_text()
    assert all(f'id="{plot_id}"' in page for plot_id in ("plot-histograms", "plot-link-health"))
    # the page is a rendering of the JSON report alone: rendered again, byte for byte the same
    assert main(["report", "--from", str(tmp_path / "v.json"),
                 "--html", str(tmp_path / "again.html")]) == 0
    assert (tmp_path / "again.html").read_text() == page


# -- in a real browser -------------------------------------------------------------------

PLOTS_IN_DOM = """JSON.stringify({
  verdict: document.getElementById("verdict").textContent,
  plots: [...document.querySelectorAll("figure.plot")].map(f => {
    const svg = f.querySelector("svg"), box = svg ? svg.getBoundingClientRect() : null;
    return [f.id, box ? box.width : 0, box ? box.height : 0, f.querySelectorAll("path").length];
  }),
  pixels: document.querySelectorAll("svg.pixels").length,
  diverged: document.querySelectorAll("tr.diverged").length
})"""


def test_chromium_is_installed():
    assert shutil.which("chromium"), "Chromium is needed for the browser tests (scripts/setup.sh)"


def test_the_browser_check_sees_console_errors_and_every_request(tmp_path):
    """The checks below can fail: a script error, a console error and a second file the
    page asks for are all seen."""
    (tmp_path / "side.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html><body><img src="side.svg">'
                    '<script>console.error("drawn wrong"); no_such_function();</script>'
                    "</body></html>")
    result = load_page(page, evaluate="document.images.length")
    assert any("drawn wrong" in e for e in result.console_errors), result.console_errors
    assert any("no_such_function" in e for e in result.console_errors), result.console_errors
    assert (tmp_path / "side.svg").as_uri() in result.requests
    assert result.value == 1


@pytest.mark.parametrize("name", ["pass", "fail"])
def test_the_page_renders_in_chromium(pages, tmp_path, name):
    page = tmp_path / "report.html"
    page.write_text(pages[name])
    result = load_page(page, evaluate=PLOTS_IN_DOM, screenshot=True)
    assert result.console_errors == []
    assert [u for u in result.requests if not u.startswith("data:")] == [page.as_uri()]
    dom = json.loads(result.value)
    assert dom["verdict"] == name.upper()
    assert sorted(p[0] for p in dom["plots"]) == sorted(PLOT_IDS)
    assert all(width > 100 and height > 50 and paths > 10 for _, width, height, paths in
               dom["plots"])
    assert dom["pixels"] == WORST_KEPT
    assert (dom["diverged"] > 0) == (name == "fail")
    _check_screenshot(result.png, verdict_colour=(46, 125, 50) if name == "pass"
                      else (198, 40, 40))


def _check_screenshot(png: bytes, verdict_colour: tuple[int, int, int]) -> None:
    """Not blank: tall as the page, mostly white paper with a good share of ink and colour,
    and the verdict badge's colour present."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.width >= 1000 and image.height > 3000
    pixels = np.asarray(image).reshape(-1, 3).astype(int)
    white = np.all(pixels > 245, axis=1).mean()
    assert 0.5 < white < 0.97
    assert len(np.unique(pixels[::7], axis=0)) > 200
    assert np.any(np.all(np.abs(pixels - verdict_colour) <= 3, axis=1))
