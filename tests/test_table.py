"""Tables line up whatever the numbers: a wide number widens its column."""

from __future__ import annotations

from pixelnet.host.report import format_summary
from pixelnet.table import aligned


def test_columns_never_run_together() -> None:
    rows = [["output", "MAE", "mean"], ["solid", "0.1855", "-0.009894"],
            ["vertical", "0.2011", "0.0003759"], ["all", "123456.7", "1"]]
    lines = aligned(rows, indent="  ")
    assert lines[1] == "  solid       0.1855  -0.009894"
    split = [line.split() for line in lines]
    assert split == rows  # every cell stays its own word
    ends = {len(line) for line in lines}
    assert len(ends) == 1  # right-aligned numbers end in the same column


def _report(stats: dict, calibration_source: str = "stored") -> dict:
    return {
        "board": {"name": "uno", "firmware": "0.1.0", "protocol": 1, "format": "q7",
                  "calibration": {"source": calibration_source, "dark": [0] * 4,
                                  "bright": [1023] * 4},
                  "averaging": 1},
        "model_hash": "0" * 16, "samples": 10, "bit_exact_mismatches": 0,
        "argmax_agreement": 1.0, "accuracy": None, "labelled_samples": 0, "lsb": 0.5,
        "error_per_output": {"solid": stats}, "error": stats, "phases": [],
        "link": dict.fromkeys(("frames", "bad_crc", "bad_frame", "too_long", "resyncs",
                               "seq_gaps", "missed_samples", "duplicates", "resets",
                               "board_errors", "retries"), 0),
        "throughput": {"seconds": 1.0, "samples_per_second": 10.0},
        "mismatch_examples": [], "passed": True, "failures": [],
    }


STATS = {"max_abs": 0.20110, "max_abs_lsb": 0.0003759, "mae": 0.1855, "rmse": -0.009894,
         "mean": -123456.789, "std": 1e-12, "l2_ratio": None, "cosine": 0.9996}


def test_verify_error_table_keeps_wide_numbers_apart() -> None:
    lines = format_summary(_report(STATS)).splitlines()
    solid = next(line for line in lines if line.strip().startswith("solid"))
    assert solid.split() == ["solid", "0.2011", "0.0003759", "0.1855", "-0.009894",
                             "-1.235e+05", "1e-12", "-", "0.9996"]


def test_the_calibration_header_says_where_the_calibration_is_kept() -> None:
    """A calibration set since the board started is stored on it: never "(session)"."""
    def header(source: str) -> str:
        return format_summary(_report(STATS, source)).splitlines()[1]

    assert header("session").startswith(
        "calibration: stored on the board (set since it started): dark [0, 0, 0, 0]")
    assert header("stored").startswith("calibration: stored on the board: dark")
    assert header("default").startswith("calibration: the defaults (none stored): dark")
    assert header("7").startswith("calibration: source 7: dark")  # a newer board's source
