"""The benchmark table without running anything: adapters, ratios, verdicts, text and markdown.

The raw dicts below have the shapes the area modules return (bench_train,
bench_codegen, bench_firmware, bench_host); the numbers are made up so that
every verdict (pass, FAIL, none) and every unit appears.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import time

import numpy as np
import pytest

from pixelnet.bench import rows, suite
from pixelnet.bench.cli import load_results, section_list, to_json, write_atomically
from pixelnet.bench.report import format_markdown, format_table, format_value
from pixelnet.bench.suite import assemble, modules_for
from pixelnet.cli import main
from pixelnet.errors import PixelnetError

HEADER = {
    "command": "pixelnet bench --markdown perf.md", "date": "2026-01-02T03:04:05+00:00",
    "pixelnet": "9.9.9", "git_commit": "0123456789abcdef-dirty", "cpu": "Test CPU 3000",
    "cores": 3, "os": "TestOS 1", "python": "3.11.0", "numpy": "2.0.0", "avr_gcc": "5.4.0",
    "simavr": "1.6", "scikit_learn": "1.5.0", "emlearn": "0.23.0", "micropython": None,
}


def _avr(cycles: int, flash: int, ram: int) -> dict:
    return {"cycles_max": cycles, "cycles_mean": cycles - 10, "flash_bytes": flash,
            "ram_bytes": ram, "stack_peak_bytes": 70, "cycle_inputs": 16_569,
            "cycle_floor": 800}


def _fidelity(agreement: float, peer: float | None = None) -> dict:
    sets = {name: {"agreement": agreement, "max_abs_error": 0.25, "near_ties": 3,
                   "inputs": 100} for name in ("clean", "noisy", "random")}
    if peer is not None:
        for got in sets.values():
            got["peer"] = {"agreement": peer, "max_abs_error": 0.25, "near_ties": 3}
    return sets


RAW = {
    "train": {
        "samples": 4008, "repetitions": 5, "target_speedup": 5.0, "floor_factor": 1.5,
        "contenders": {
            "pixelnet tanh,tanh,tanh": {"median_seconds": 0.4, "median_epochs": 20,
                                        "reached_goal": "4/5"},
            "scikit-learn, pixelnet's hyperparameters": {
                "median_seconds": 1.0, "median_epochs": 18, "reached_goal": "5/5"},
            "pixelnet tanh,tanh,relu (default)": {"median_seconds": 0.1, "median_epochs": 12,
                                                  "reached_goal": "5/5"},
            "scikit-learn, its defaults": {"median_seconds": 2.0, "median_epochs": 250,
                                           "reached_goal": "5/5"},
        },
        "comparisons": {
            "like for like": {"pixelnet": "pixelnet tanh,tanh,tanh",
                              "peer": "scikit-learn, pixelnet's hyperparameters"},
            "default vs default": {"pixelnet": "pixelnet tanh,tanh,relu (default)",
                                   "peer": "scikit-learn, its defaults"},
        },
        "floor": {"epochs": 100, "pixelnet_median_seconds_per_epoch": 0.006,
                  "median_seconds_per_epoch": 0.005, "batch_size": 128},
    },
    "codegen": {
        "avr": {
            "default": {"q7": _avr(1_600, 900, 0), "q7_speed": _avr(900, 1_700, 0),
                        "q15": _avr(4_100, 1_000, 8), "16x8": _avr(3_900, 900, 8),
                        "emlearn": _avr(84_000, 4_800, 600)},
            "lesson": {"q7": _avr(401, 700, 0), "q7_speed": _avr(401, 700, 0),
                       "q15": _avr(1_200, 800, 0), "emlearn": _avr(80_000, 4_800, 600)},
        },
        "fidelity": {"default": {"q7": _fidelity(0.98, peer=0.999), "q15": _fidelity(1.0),
                                 "16x8": _fidelity(0.99)},
                     "lesson": {"q7": _fidelity(1.0), "q15": _fidelity(1.0)}},
        "micropython": {"q7": {"size": 30_000, "speed": 60_000, "viper": 90_000,
                               "viper_median_run_ratio": 1.49},
                        "q15": {"size": 40_000, "speed": 50_000}},
        "avr_no_mul": {"lesson": {"q7": _avr(900, 1_200, 0), "q15": _avr(2_300, 1_900, 0)}},
        "no_mul_mcu": "attiny85",
        "error_bounds": {"default": {"q7": 16.0, "q15": 0.1, "16x8": 5.0},
                         "lesson": {"q7": 0.01, "q15": 0.001}},
    },
    "firmware": {
        "model": "lesson (4-4-4-8-4), q7", "flash_bytes": 6_600, "static_ram_bytes": 450,
        "peak_stack_bytes": 600, "ram_with_stack_bytes": 1_050,
        "stream_samples_per_s_simulated": 340.0, "simavr_line_limit_samples_per_s": 346.8,
        "limits_samples_per_s": {"line": 371.6, "adc": 2403.8},
    },
    "host": {
        "offline_parse_and_verify": {"frames": 20_000, "frames_per_second": 40_000},
        "virtual_uno_live": {"verified_per_second": 300.0, "line_limit_per_second": 371.6,
                             "mismatches": 0},
    },
    "cortex": {
        "board": "LM3S6965", "icount_shift": 7,
        "nets": {net: {fmt: {"flash_bytes": flash, "static_ram_bytes": 800,
                             "instructions_per_inference": {"min": n, "max": n + 5,
                                                            "mean": n + 2.5}}
                       for fmt, flash, n in (("q7", 5_000, 170), ("q15", 5_700, 266))}
                 for net in ("default", "lesson")},
    },
    "protocol": {
        "idle_cpu": {"idle_sleep": 0.03, "flat_out": 0.9},
        **{key: {"samples": 1500, "vectors": 3000, "live_per_s_simulated": live,
                 "live_per_s_wall": 800.0, "vectors_per_s_simulated": vectors,
                 "vectors_per_s_wall": 1800.0, "mismatches": 0, "link_faults": 0,
                 "link": {"bad_crc": 0, "seq_gaps": 0}}
           for key, live, vectors in (("protocol1_115200", 340.0, 270.0),
                                      ("protocol2_core", 2260.0, 2450.0),
                                      ("protocol2_bare", 2280.0, 3000.0))},
        "lab": [{"boards": n, "samples_per_s": 700.0 * n ** 0.5, "host_cpu_per_board": 0.05,
                 "mismatches": 0, "link_faults": 0, "passed": True} for n in (1, 2, 4, 8)],
        "cores": 2,
    },
}


@pytest.fixture(scope="module")
def results() -> dict:
    return assemble(HEADER, rows.SECTIONS, False, RAW, {"train": 1.0}, {})


def _row(results: dict, row_id: str) -> dict:
    (row,) = [r for r in results["rows"] if r["id"] == row_id]
    return row


def test_every_section_gives_rows_in_table_order(results) -> None:
    order = [r["section"] for r in results["rows"]]
    assert sorted(set(order), key=order.index) == list(rows.SECTIONS)
    assert len({r["id"] for r in results["rows"]}) == len(results["rows"])
    assert results["errors"] == {}


@pytest.mark.parametrize(("row_id", "ratio"), [
    ("train.tanh-tanh-relu", 20.0),  # cost: peer / pixelnet
    ("inference.default.q7.cycles", 52.5),
    ("micropython.q7", 2.0),  # rate: pixelnet / peer
    ("micropython.q7.viper", 1.5),  # viper against native
    ("serial.live_verified", 300.0 / 371.6),
    ("inference.default.q7.ram", None),  # nothing to divide by
])
def test_ratio_reads_how_many_times_better_pixelnet_is(results, row_id, ratio) -> None:
    got = _row(results, row_id)["ratio"]
    assert got == (None if ratio is None else pytest.approx(ratio, abs=1e-4))


@pytest.mark.parametrize(("row_id", "passed"), [
    ("inference.default.q7_speed.cycles", True),  # 900 <= 950
    ("inference.default.q7.cycles", False),  # the size build's own bar: 1,600 > 1,250
    ("inference.default.q7.flash", True),  # and the size build the flash bar
    ("inference.default.q7_speed.flash", None),
    ("inference.default.q7_speed.ram", True),  # RAM bars bind every build
    ("inference.default.q15.cycles", False),  # 4,100 > 4,000 and no speed build to help
    ("inference.lesson.q7.cycles", False),  # the lesson's own bar: 401 > 400
    ("inference.lesson.q15.cycles", None),  # the lesson bars are for its ternary q7 form
    ("inference.lesson.q15.ram", True),  # but RAM binds every build
    ("inference.default.q15.flash", True),  # 1,000 <= 1,024
    ("inference.default.q15.ram", True),  # 8 <= 64
    ("firmware.ram_with_stack", False),  # 1,050 > 1,024
    ("firmware.static_ram", None),  # no target
    ("firmware.stream_simulated", True),  # 340 / 371.6 >= 0.9 of the tighter (line) limit
    ("serial.live_verified", False),  # 300 / 371.6 < 0.9
    ("serial.host_offline", False),  # 40,000 < 50,000
    ("train.tanh-tanh-relu", None),  # default vs default: shown, not a target
    ("train.tanh-tanh-tanh", False),  # like for like: 2.5x < 5x, and one fit missed the goal
    ("train.epoch_floor", True),  # 5 / 6 >= 1 / 1.5: the epoch within 1.5x the floor
    ("micropython.q15", None),
    ("fidelity.default.q7.clean", False),  # 98% < 100% of the clean patterns
    ("fidelity.default.q7.random", None),  # q7 has no bar on random inputs
    ("fidelity.default.q15.random", True),
])
def test_verdicts_follow_the_issue_targets(results, row_id, passed) -> None:
    assert _row(results, row_id)["passed"] is passed


def test_a_speed_build_is_listed_only_where_it_differs_from_the_size_build(results) -> None:
    ids = {r["id"] for r in results["rows"]}
    assert "inference.default.q7_speed.cycles" in ids
    assert not [i for i in ids if i.startswith("inference.lesson.q7_speed")]
    measures = {r["id"]: r["measure"] for r in results["rows"]}
    assert measures["inference.default.q7_speed.cycles"] == "default q7 (speed): cycles/inference"
    assert measures["inference.default.q7.flash"] == "default q7 (size): flash"
    assert measures["inference.lesson.q7.flash"] == "lesson q7: flash"


def test_fidelity_shows_emlearn_float_against_scikit_learn_where_measured(results) -> None:
    assert _row(results, "fidelity.default.q7.noisy")["peer"] == [0.999, 0.25]
    assert _row(results, "fidelity.lesson.q7.noisy")["peer"] is None
    assert not [r for r in results["rows"] if "emlearn" in r["id"]]


def test_every_fidelity_row_states_its_near_ties_and_every_build_its_cycle_floor(results
                                                                                 ) -> None:
    fidelity = [r for r in results["rows"] if r["unit"] == "fidelity"]
    assert fidelity and all("(3 of 100 inputs near-ties, left out of both agreements)"
                            in r["explanation"] for r in fidelity)
    row = _row(results, "inference.default.q7_speed.cycles_per_floor")
    assert row["pixelnet"] == pytest.approx(900 / 800, abs=1e-3)
    assert row["measure"] == "default q7 (speed): cycles / floor (800)"


def test_stream_explanation_names_the_simulators_own_ceiling(results) -> None:
    text = _row(results, "firmware.stream_simulated")["explanation"]
    assert "at most 347/s" in text and "98% of what the simulator allows" in text


def test_a_fit_that_misses_the_goal_fails_whatever_its_speed() -> None:
    row = rows.Row(id="x", section="train", measure="m", unit="s", pixelnet=0.01, peer=10.0,
                   explanation="", target=rows.Target(">=", 10, on="ratio"), valid=False)
    assert row.ratio == pytest.approx(1000) and row.passed is False


def test_an_adapter_that_cannot_read_a_result_is_an_error_not_a_crash() -> None:
    raw = dict(RAW, firmware={"flash_bytes": 1})
    doc = assemble(HEADER, ["firmware", "serial"], True, raw, {}, {})
    assert "firmware" in doc["errors"] and "bench_firmware" in doc["errors"]["firmware"]
    assert {r["section"] for r in doc["rows"]} == {"serial"}


def test_only_the_modules_the_sections_need_run_once_each_in_table_order() -> None:
    assert modules_for(["micropython", "train", "fidelity", "inference"]) == ["train", "codegen"]
    assert modules_for(rows.SECTIONS) == ["train", "codegen", "firmware", "host", "cortex",
                                         "protocol"]


@pytest.mark.parametrize(("value", "unit", "text"), [
    (1885, "cycles", "1,885 (118 µs)"),
    (1200, "cycles_8mhz", "1,200 (150 µs at 8 MHz)"),
    (279, "cycles", "279 (17.4 µs)"),
    (6602, "bytes", "6,602 B"),
    (266.0, "instructions", "266 instructions"),
    (0.0821, "s", "0.082 s"),
    (73412.4, "per_s", "73,412/s"),
    ([0.9823, 0.9613], "fidelity", "98.23% agree, max |err| 0.961"),
    ([1.0, 0.00167], "fidelity", "100% agree, max |err| 0.00167"),
    (None, "bytes", "—"),
])
def test_values_are_formatted_by_unit(value, unit, text) -> None:
    assert format_value(value, unit) == text


def test_table_has_one_line_per_row_machine_and_verdict(results) -> None:
    lines = format_table(results).splitlines()
    assert lines[0] == "pixelnet bench --markdown perf.md, 2026-01-02 03:04 UTC"
    assert "Test CPU 3000, 3 cores" in lines[1] and "commit 0123456789ab-dirty" in lines[1]
    for row in results["rows"]:
        (line,) = [ln for ln in lines if f"  {row['measure']}  " in ln]
        assert line.startswith(row["section"])
        assert line.rstrip().endswith({True: "pass", False: "FAIL", None: ""}[row["passed"]])
    judged = [r for r in results["rows"] if r["passed"] is not None]
    met = sum(r["passed"] for r in judged)
    assert f"{met} of {len(judged)} targets met" in lines[-1]


def test_table_reports_failed_sections(results) -> None:
    text = format_table(dict(results, errors={"host": "simavr is not installed"}))
    assert text.splitlines()[-1] == "section host failed: simavr is not installed"


def _cells(line: str) -> list[str]:
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def test_markdown_is_the_readme_section(results) -> None:
    md = format_markdown(results)
    lines = md.splitlines()
    assert lines[0] == "## Performance"
    provenance = lines[2]
    assert "Generated by `pixelnet bench --markdown`" in provenance
    assert "2026-01-02 03:04 UTC" in provenance and "Test CPU 3000" in provenance
    table = [ln for ln in lines if ln.startswith("|")]
    assert len(table) == len(results["rows"]) + 2
    assert all(len(_cells(ln)) == 7 for ln in table), "a pipe in a cell broke the table"
    bullets = [ln for ln in lines if ln.startswith("- **")]
    assert len(bullets) == len(results["rows"])
    for row, bullet in zip(results["rows"], bullets, strict=True):
        assert bullet.endswith(row["explanation"]) and row["explanation"].endswith(".")
    fence = lines.index("```sh")
    assert lines[fence + 1] == HEADER["command"] and lines[fence + 2] == "```"


def test_results_are_json_and_render_the_same_after_a_round_trip(results, tmp_path) -> None:
    path = tmp_path / "r.json"
    write_atomically(path, json.dumps(results, allow_nan=False))
    assert list(tmp_path.iterdir()) == [path]
    assert format_markdown(load_results(path)) == format_markdown(results)


@pytest.mark.parametrize("text", ["{}", "[1, 2]", "not json"])
def test_a_file_that_is_not_a_bench_result_is_refused(tmp_path, text) -> None:
    path = tmp_path / "r.json"
    path.write_text(text)
    with pytest.raises(PixelnetError, match=r"r\.json"):
        load_results(path)


def test_only_accepts_known_sections() -> None:
    assert section_list("serial, train") == ["serial", "train"]
    with pytest.raises(argparse.ArgumentTypeError, match="bogus"):
        section_list("train,bogus")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_prints_start_and_end_lines_when_not_on_a_terminal() -> None:
    out = io.StringIO()
    with suite.Progress(out).step("bench [1/2] train"):
        pass
    start, end = out.getvalue().splitlines()
    assert start == "bench [1/2] train …"
    assert re.fullmatch(r"bench \[1/2\] train: \d+\.\d s", end)


def test_progress_ticks_the_elapsed_time_on_a_terminal(monkeypatch) -> None:
    monkeypatch.setattr(suite, "TICK_SECONDS", 0.01)
    out = _Terminal()
    with suite.Progress(out).step("bench [2/2] serial"):
        time.sleep(0.1)
    text = out.getvalue()
    assert "\r\x1b[Kbench [2/2] serial … 0 s" in text
    assert re.search(r"\r\x1b\[Kbench \[2/2\] serial: \d+\.\d s\n$", text)


def test_a_failing_area_is_recorded_and_the_others_still_run(monkeypatch) -> None:
    def fake_run(name: str, quick: bool) -> dict:
        if name == "firmware":
            raise PixelnetError("simavr is not installed")
        return RAW[name]

    monkeypatch.setattr(suite, "run_module", fake_run)
    monkeypatch.setattr(suite, "machine_header", lambda command: dict(HEADER, command=command))
    updates: list[dict] = []
    doc = suite.run_suite(rows.SECTIONS, True, "pixelnet bench --quick",
                          progress=suite.Progress(io.StringIO()), on_update=updates.append)
    assert doc["errors"] == {"firmware": "simavr is not installed"}
    assert {r["section"] for r in doc["rows"]} == set(rows.SECTIONS) - {"firmware"}
    assert [sorted(u["raw"]) for u in updates] == [
        ["train"], ["codegen", "train"], ["codegen", "train"], ["codegen", "host", "train"],
        ["codegen", "cortex", "host", "train"], ["codegen", "cortex", "host", "protocol", "train"]]
    assert doc["header"]["command"] == "pixelnet bench --quick"


def test_a_missing_peer_package_names_the_bench_extra(monkeypatch, tmp_path) -> None:
    (tmp_path / "fake_area.py").write_text("def run(quick):\n    import emlearn_not_here\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(suite.MODULES, "train", "fake_area")
    with pytest.raises(PixelnetError, match=r"emlearn_not_here is not installed.*\[bench\]"):
        suite.run_module("train", quick=True)


def _all_met(rows: list[dict]) -> list[dict]:
    """The rows, each target met."""
    return [dict(r, passed=None if r["passed"] is None else True) for r in rows]


def test_a_result_with_failed_sections_exits_1(results, tmp_path, capsys) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(dict(results, errors={"host": "boom"})))
    assert main(["bench", "--from", str(path)]) == 1
    assert "section host failed: boom" in capsys.readouterr().out
    met = dict(results, rows=_all_met(results["rows"]))
    path.write_text(json.dumps(met))
    assert main(["bench", "--from", str(path), "--markdown", str(tmp_path / "p.md")]) == 0
    assert (tmp_path / "p.md").read_text() == format_markdown(met)


def test_a_row_that_misses_its_target_exits_1(results, tmp_path, capsys) -> None:
    """As `pixelnet verify` fails a check, the benchmark fails a missed target."""
    rows = _all_met(results["rows"])
    judged = next(i for i, r in enumerate(rows) if r["passed"])
    rows[judged] = dict(rows[judged], passed=False)
    path = tmp_path / "r.json"
    path.write_text(json.dumps(dict(results, rows=rows)))
    assert main(["bench", "--from", str(path)]) == 1
    assert f"missed: {rows[judged]['id']}" in capsys.readouterr().out


def test_an_output_in_a_missing_directory_is_refused_before_running(tmp_path, capsys) -> None:
    assert main(["bench", "--out", str(tmp_path / "no" / "x.json")]) == 2
    assert "no directory" in capsys.readouterr().err


def test_numpy_numbers_in_an_area_result_are_written_as_plain_json() -> None:
    doc = {"raw": {"x": np.float64(0.5), "n": np.int64(3), "v": np.arange(2)}}
    assert json.loads(to_json(doc)) == {"raw": {"x": 0.5, "n": 3, "v": [0, 1]}}


def test_the_core_without_a_multiplier_has_its_own_rows_without_a_peer(results) -> None:
    row = _row(results, "inference.lesson.q7.no_mul.cycles")
    assert row["pixelnet"] == 900 and row["unit"] == "cycles_8mhz" and row["ratio"] is None
    assert "ATtiny85" in row["measure"] and "no hardware multiplier" in row["explanation"]
    assert _row(results, "inference.lesson.q15.no_mul.flash")["pixelnet"] == 1_900


def test_protocol_rows_hold_version_2_to_the_adc_limit_and_keep_the_115200_row(results) -> None:
    idle = _row(results, "protocol.idle_cpu")
    assert (idle["pixelnet"], idle["peer"], idle["ratio"], idle["passed"]) == (3.0, 90.0, 30.0,
                                                                               True)
    core = _row(results, "protocol.protocol2_core.live_simulated")
    assert core["peer_name"] == "ADC limit" and core["ratio"] == pytest.approx(2260 / 2403.8,
                                                                               rel=1e-3)
    assert core["passed"] is True  # the firmware users flash is held to the 90% goal
    assert _row(results, "protocol.protocol2_bare.live_simulated")["passed"] is True
    old = _row(results, "protocol.protocol1_115200.live_simulated")
    assert old["peer_name"] == "line limit" and old["target"] is None
    assert _row(results, "protocol.protocol2_core.vectors_simulated")["passed"] is True
    assert _row(results, "protocol.protocol2_core.vectors_wall")["target"] is None
    assert _row(results, "protocol.lab.4.samples")["ratio"] == pytest.approx(2.0)
    assert [r["id"] for r in results["rows"] if r["id"].endswith("host_cpu")] == [
        f"protocol.lab.{n}.host_cpu" for n in (1, 2, 4, 8)]


def test_16x8_is_weighed_against_q15_per_cycle_and_per_byte(results) -> None:
    """Errors times costs, lower is better: the ratio is q15's product over 16x8's."""
    bound = _row(results, "fidelity.default.16x8_vs_q15.proven_error")
    assert (bound["pixelnet"], bound["peer"]) == (5.0, 0.1)
    assert bound["ratio"] == pytest.approx(0.1 / 5.0)
    per_cycle = _row(results, "fidelity.default.16x8_vs_q15.proven_error_cycles")
    assert (per_cycle["pixelnet"], per_cycle["peer"]) == (5.0 * 3_900, 0.1 * 4_100)
    per_byte = _row(results, "fidelity.default.16x8_vs_q15.sampled_error_flash")
    assert (per_byte["pixelnet"], per_byte["peer"]) == (0.25 * 900, 0.25 * 1_000)
    assert "not a bound" in per_byte["explanation"] or "sampled" in per_byte["explanation"]
    assert not [r for r in results["rows"] if r["id"].startswith("fidelity.lesson.16x8")]
