"""The verification firmware on the virtual Cortex-M3 (QEMU lm3s6965evb), against the emulator."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pixelnet.cli import main
from pixelnet.codegen.emulator import quantize_inputs
from pixelnet.codegen.quantize import quantize
from pixelnet.firmware.build_cortex import build_cortex
from pixelnet.firmware.virtual import SimulationError, start_virtual_board
from pixelnet.firmware.virtual_cortex import BENCH_ICOUNT_SHIFT, VirtualCortex
from pixelnet.host.client import BoardClient, BoardTimeout
from pixelnet.host.compare import Reference
from pixelnet.host.connect import check_handshake, connect
from pixelnet.host.messages import CalOp
from pixelnet.host.vectors import random_vectors
from pixelnet.host.verify import Verifier
from pixelnet.trainer.model_file import Layer, Model, save_model
from pixelnet.trainer.patterns import CLASSES, SCENES, scene_class

pytestmark = pytest.mark.slow

FORMATS = ("q7", "q15")
LIVE_PER_SCENE = 25
NOISY_SCENES = ("vertical_left", "diagonal_anti")
INJECTED = 10_000
GONE_TIMEOUT = 10.0
WATCHDOG_TIMEOUT = 30.0  # s: the watchdog bites after 4 s; room for a loaded machine


def mixed_model() -> Model:
    """Every activation the firmware can run, with biases, and weights of mixed scales."""
    rng = np.random.default_rng(16)
    shape = [(4, 6, "tanh"), (6, 5, "logistic"), (5, 8, "relu"), (8, 4, "identity")]
    return Model(tuple(
        Layer(rng.normal(0, 1.5, size=(n_in, n_out)), rng.normal(0, 0.5, size=n_out), act)
        for n_in, n_out, act in shape
    ))


@pytest.fixture(scope="module")
def model() -> Model:
    return mixed_model()


@pytest.fixture(scope="module")
def builds(model, tmp_path_factory):
    out = tmp_path_factory.mktemp("cortex")
    return {fmt: build_cortex(model, fmt, out / fmt) for fmt in FORMATS}


@pytest.fixture(scope="module")
def sim_dir(tmp_path_factory) -> Path:
    """One build directory for the harness, so it is compiled once per session."""
    return tmp_path_factory.mktemp("vcortex")


def _start(firmware: Path, state: Path, sim_dir: Path, **kwargs) -> VirtualCortex:
    return VirtualCortex(firmware, state, build_dir=sim_dir, **kwargs)


def expected_counts(scene: str) -> list[int]:
    """SCENE.md's physics at the defaults (light 0.9, gain 1, offset 0.05, no noise)."""
    return [math.floor((0.05 + 0.9 * (s + 1) / 2) * 1023) for s in SCENES[scene]]


@pytest.mark.parametrize("fmt", FORMATS)
def test_live_scenes_and_ten_thousand_vectors_are_bit_exact(fmt, model, builds, sim_dir,
                                                            tmp_path):
    with _start(builds[fmt].elf, tmp_path, sim_dir) as board, connect(board.port) as client:
        check_handshake(client.last_info, model.short_hash, fmt, where="the virtual Cortex-M3")
        assert client.last_info.board == "lm3s6965"
        board.set_scene("solid_black")
        client.calibrate(CalOp.DARK)
        board.set_scene("solid_white")
        client.calibrate(CalOp.BRIGHT)
        verifier = Verifier(Reference.from_model(model, fmt))
        runs = [(scene, 0.0) for scene in SCENES] + [(s, 0.03) for s in NOISY_SCENES]
        for scene, noise in runs:
            board.set_scene(scene, noise=noise)
            truth = CLASSES.index(scene_class(scene))
            phase = verifier.verify_stream(client, n=LIVE_PER_SCENE, truth=truth, label=scene)
            assert phase.samples == LIVE_PER_SCENE and phase.mismatches == 0
        x, truth = random_vectors(INJECTED)
        phase = verifier.verify_vectors(client, x, truth)
        report = verifier.report(client.info(), client.stats.to_dict())
    assert phase.samples == INJECTED
    assert report["bit_exact_mismatches"] == 0, report["mismatch_examples"]
    assert report["samples"] == INJECTED + LIVE_PER_SCENE * len(runs)
    assert report["link"]["resyncs"] == 0 and report["link"]["seq_gaps"] == 0


def test_the_verify_command_passes_on_the_virtual_cortex(model, builds, sim_dir, tmp_path,
                                                          capsys):
    """Like the Uno's: protocol 2 at the 1,000,000 baud it negotiates, no error reply."""
    path = save_model(model, tmp_path / "model.json")
    report = tmp_path / "report.json"
    with _start(builds["q15"].elf, tmp_path / "state", sim_dir, scene="diagonal_main") as board:
        code = main(["verify", "--board", "cortex-m3", "--model", str(path), "--port", board.port,
                     "--samples", "200", "--vectors", "random", "--vector-count", "1000",
                     "--report", str(report)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "samples compared      1,200" in out and "bit-exact mismatches  0" in out
    summary = json.loads(report.read_text())
    assert summary["line"] == {"baud": 1_000_000, "protocol": 2}
    assert summary["link"]["board_errors"] == 0 and summary["link"]["baud_fallbacks"] == 0


def test_the_sensor_line_reads_the_scene_physics(builds, sim_dir, tmp_path):
    firmware = builds["q7"].elf
    with _start(firmware, tmp_path, sim_dir, scene="horizontal_top") as board, \
            connect(board.port) as client:
        assert list(client.sample().adc) == expected_counts("horizontal_top")
        board.set_scene("vertical_right")
        assert list(client.sample().adc) == expected_counts("vertical_right")
        board.set_scene(light=0.0, offset=[0.0] * 4)
        assert list(client.sample().adc) == [0, 0, 0, 0]


def test_calibration_survives_reset_and_a_new_board(builds, sim_dir, tmp_path):
    dark, bright = [40, 50, 60, 70], [990, 980, 970, 960]
    with _start(builds["q7"].elf, tmp_path, sim_dir) as board:
        with connect(board.port) as client:
            client.calibrate(CalOp.SET, dark=dark, bright=bright)
        board.reset()
        with connect(board.port) as client:
            cal = client.info().calibration
        assert (list(cal.dark), list(cal.bright), cal.source) == (dark, bright, 1)
    with _start(builds["q7"].elf, tmp_path, sim_dir) as board, connect(board.port) as client:
        cal = client.info().calibration
        assert (list(cal.dark), list(cal.bright), cal.source) == (dark, bright, 1)
        client.calibrate(CalOp.RESET)
        assert client.info().calibration.source == 0


def test_the_reset_command_reboots_the_firmware(builds, sim_dir, tmp_path):
    with _start(builds["q7"].elf, tmp_path, sim_dir) as board, connect(board.port) as client:
        client.set_averaging(8)
        boot = client.reset()
        assert boot.boot and boot.averaging == 1


def test_instruction_counts_are_exact_at_any_icount_rate(builds, sim_dir, tmp_path):
    """The count does not depend on how fast QEMU's virtual clock runs, and repeats."""
    qm = quantize(mixed_model(), "q7")
    vectors = quantize_inputs(qm, random_vectors(6, seed=3)[0]).tolist()
    counts = {}
    for shift in (BENCH_ICOUNT_SHIFT, BENCH_ICOUNT_SHIFT + 2):
        with _start(builds["q7"].elf, tmp_path / str(shift), sim_dir,
                    icount_shift=shift) as board, connect(board.port) as client:
            per_vector = []
            for x in vectors:
                client.infer(x)
                first = board.instruction_stats().last
                client.infer(x)
                assert board.instruction_stats().last == first
                per_vector.append(first)
            counts[shift] = per_vector
    assert counts[BENCH_ICOUNT_SHIFT] == counts[BENCH_ICOUNT_SHIFT + 2]
    assert all(100 < c < 20_000 for c in counts[BENCH_ICOUNT_SHIFT])


def test_instruction_counts_need_icount(builds, sim_dir, tmp_path):
    with _start(builds["q7"].elf, tmp_path, sim_dir) as board:
        assert board.control("instructions").startswith("error: instruction counts need")
        assert board.control("cycles").startswith("error: unknown command")
        with pytest.raises(SimulationError, match="refused"):
            board.instruction_stats()


def test_start_virtual_board_knows_the_cortex(builds, sim_dir, tmp_path):
    with start_virtual_board("cortex-m3", firmware=builds["q7"].elf, state_dir=tmp_path,
                             build_dir=sim_dir) as board, connect(board.port) as client:
        assert board.board == "virtual-cortex-m3"
        assert client.info().board == "lm3s6965"


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_clang_build_is_warning_free_and_bit_exact(fmt, model, sim_dir, tmp_path):
    """clang --target=arm-none-eabi, -Wall -Wextra -Werror on every file, the model included."""
    clang = build_cortex(model, fmt, tmp_path / "clang", compiler="clang")
    assert clang.elf.name.endswith("_clang.elf")
    with _start(clang.elf, tmp_path / "state", sim_dir, scene="diagonal_anti") as board, \
            connect(board.port) as client:
        verifier = Verifier(Reference.from_model(model, fmt))
        live = verifier.verify_stream(client, n=50)
        x, truth = random_vectors(2_000)
        injected = verifier.verify_vectors(client, x, truth)
    assert (live.samples, live.mismatches) == (50, 0)
    assert (injected.samples, injected.mismatches) == (2_000, 0)


def test_the_arm_build_is_sized_by_arm_size_and_repeats(model, builds, tmp_path):
    gcc = builds["q7"]
    assert 1_000 < gcc.flash_bytes < 64 * 1024 and 0 < gcc.ram_bytes < 4 * 1024
    assert gcc.bin.stat().st_size == gcc.flash_bytes
    again = build_cortex(model, "q7", tmp_path / "again")
    assert (again.flash_bytes, again.ram_bytes) == (gcc.flash_bytes, gcc.ram_bytes)


def test_pixelnet_sim_runs_the_cortex_board_until_quit(builds, tmp_path):
    state = tmp_path / "state"
    cli = subprocess.Popen(
        [sys.executable, "-m", "pixelnet", "sim", "--board", "cortex-m3",
         "--firmware", str(builds["q7"].elf), "--state-dir", str(state),
         "--scene", "horizontal_top", "--build-dir", str(tmp_path / "build")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = cli.stdout.readline()
        assert line.startswith("port /dev/"), line
        with connect(line.split()[1]) as client:
            assert list(client.sample().adc) == expected_counts("horizontal_top")
            cli.stdin.write("scene diagonal_main\n")
            cli.stdin.flush()
            assert cli.stdout.readline().strip() == "ok"
            assert list(client.sample().adc) == expected_counts("diagonal_main")
            cli.stdin.write("reset\n")
            cli.stdin.flush()
            assert cli.stdout.readline().strip() == "ok"
        cli.send_signal(signal.SIGINT)
        assert cli.wait(GONE_TIMEOUT) == 130
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
    assert _processes_in(state) == []


def _processes_in(directory: Path) -> list[int]:
    """Processes whose working directory is `directory` (QEMU runs in the state directory)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and os.readlink(proc / "cwd") == str(directory):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_pixelnet_build_reports_the_arm_sizes(tmp_path, capsys):
    assert main(["build", "--board", "cortex-m3", "--format", "q15",
                 "--build-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "cortex-m3" / "pixelnet_cortex_m3.bin").is_file()
    assert "of 262144 bytes" in out and "of 65536 bytes" in out


def test_pixelnet_flash_refuses_the_cortex_with_a_reason(tmp_path, capsys):
    code = main(["flash", "--board", "cortex-m3", "--port", "/dev/null",
                 "--build-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "cannot flash cortex-m3" in err and "firmware/README.md" in err
    assert not (tmp_path / "cortex-m3").exists()


def test_the_watchdog_restarts_a_board_whose_sensor_line_is_cut(builds, sim_dir, tmp_path):
    with _start(builds["q7"].elf, tmp_path, sim_dir, scene="vertical_left") as board, \
            BoardClient.open(board.port, retries=0) as client:
        client.info()
        assert board.control("sensor off") == "ok"
        with pytest.raises(BoardTimeout):
            client.sample()
        boot = client.wait_for_boot(WATCHDOG_TIMEOUT)
        assert boot is not None and boot.boot
        assert board.control("sensor on") == "ok"
        assert list(client.sample().adc) == expected_counts("vertical_left")
        assert board.control("sensor sideways") == "error: sensor needs on or off"
