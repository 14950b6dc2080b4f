"""The virtual Uno harness, proved with small avr-libc programs (tests/avr/sim_*.c).

Each program is compiled here with avr-gcc and run in the harness; the expected ADC counts
come from an independent transcription of the scene physics in firmware/sim/SCENE.md.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import random
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from pixelnet.errors import PixelnetError, ToolMissingError
from pixelnet.firmware.scene import VirtualBoardError
from pixelnet.firmware.virtual import (
    SimulationError,
    VirtualUno,
    build_harness,
    parse_batch_report,
    run_elf_batch,
    scene_commands,
    start_virtual_board,
)
from pixelnet.host.registry import running_virtual_boards
from pixelnet.trainer.patterns import SCENES

AVR_DIR = Path(__file__).parent / "avr"
AVR_FLAGS = ["-mmcu=atmega328p", "-DF_CPU=16000000UL", "-Os", "-Wall", "-Wextra", "-Werror"]
SERIAL_TIMEOUT = 5.0
GONE_TIMEOUT = 5.0


def avr_build(source: str, out: Path, *defines: str) -> Path:
    avr_gcc = shutil.which("avr-gcc")
    if avr_gcc is None:
        pytest.fail("avr-gcc is not installed (Debian: gcc-avr avr-libc)")
    subprocess.run(
        [avr_gcc, *AVR_FLAGS, *defines, str(AVR_DIR / source), "-o", str(out)], check=True
    )
    return out


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("build")
    build_harness(path)
    return path


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("avr")
    return {
        "probe": avr_build("sim_probe.c", out / "probe.elf"),
        "echo": avr_build("sim_echo.c", out / "echo.elf"),
        "stack0": avr_build("sim_stack.c", out / "stack0.elf", '-DPUSHES="0"'),
        "stack100": avr_build("sim_stack.c", out / "stack100.elf", '-DPUSHES="100"'),
        "crash": avr_build("sim_crash.c", out / "crash.elf"),
        "frame10": avr_build("sim_frame.c", out / "frame10.elf", "-DFRAME=10"),
        "frame252": avr_build("sim_frame.c", out / "frame252.elf", "-DFRAME=252"),
    }


def expected_counts(pixels, light=0.9, gain=(1.0,) * 4, offset=(0.05,) * 4) -> list[int]:
    """SCENE.md's physics without noise: floor(clamp(o + g * L * (s + 1) / 2, 0, 1) * 1023)."""
    counts = []
    for s, g, o in zip(pixels, gain, offset, strict=True):
        v = min(max(o + g * light * (s + 1) / 2, 0.0), 1.0)
        counts.append(math.floor(v * 1023))
    return counts


def adc_reads(stdout: bytes) -> list[list[int]]:
    """The probe's replies to 'a' after its boot banner: 4 little-endian counts each."""
    body = stdout[2:]
    return [list(struct.unpack_from("<4H", body, i)) for i in range(0, len(body) - 7, 8)]


# ---- batch runs ----


def test_every_named_scene_reads_as_the_physics_says(programs, build_dir):
    for name, pixels in SCENES.items():
        result = run_elf_batch(
            programs["probe"], b"aq", commands=[f"scene {name}"], build_dir=build_dir
        )
        assert result.stdout[:2] == b"B\x01"  # booted from power-on
        assert adc_reads(result.stdout) == [expected_counts(pixels)], name


def test_explicit_pixels_light_gain_and_offset(programs, build_dir):
    pixels, gain, offset = (0.0, 0.5, -0.5, -1.0), (1.0, 0.8, 1.2, 0.5), (0.0, 0.1, -0.05, 0.3)
    commands = scene_commands(pixels, light=0.7, gain=gain, offset=offset)
    result = run_elf_batch(programs["probe"], b"aq", commands=commands, build_dir=build_dir)
    assert adc_reads(result.stdout) == [expected_counts(pixels, 0.7, gain, offset)]


def test_counts_clamp_at_full_scale_and_zero(programs, build_dir):
    commands = ["pixels 1 1 -1 -1", "light 3", "offset 0 0 -0.2 -0.2"]
    result = run_elf_batch(programs["probe"], b"aq", commands=commands, build_dir=build_dir)
    assert adc_reads(result.stdout) == [[1023, 1023, 0, 0]]


def test_noise_is_fresh_per_conversion_and_repeats_with_its_seed(programs, build_dir):
    def noisy(seed: int) -> list[list[int]]:
        commands = ["scene solid_black", "noise 0.05", f"seed {seed}"]
        out = run_elf_batch(programs["probe"], b"a" * 50 + b"q", commands=commands,
                            build_dir=build_dir).stdout  # fmt: skip
        return adc_reads(out)

    first = noisy(7)
    values = [count for read in first for count in read]
    clean = expected_counts(SCENES["solid_black"])[0]
    assert len(set(values)) > 20  # every conversion draws its own noise
    assert abs(sum(values) / len(values) - clean) < 10  # sigma 51 counts, 200 draws
    assert noisy(7) == first
    assert noisy(8) != first


def test_a_bad_command_is_refused_with_its_reason(programs, build_dir):
    with pytest.raises(SimulationError, match="unknown scene"):
        run_elf_batch(programs["probe"], b"q", commands=["scene plaid"], build_dir=build_dir)
    with pytest.raises(SimulationError, match="4 intensities"):
        run_elf_batch(programs["probe"], b"q", commands=["pixels 0 0 2 0"], build_dir=build_dir)


def test_gpior0_regions_count_exact_cycles(programs, build_dir):
    first = run_elf_batch(programs["probe"], b"rq", build_dir=build_dir)
    # start `out` (1 cycle) + the nops; the closing `out` is not counted (SCENE.md)
    assert first.regions == [101, 1001]
    assert first.stdout == b"B\x01R"
    assert run_elf_batch(programs["probe"], b"rq", build_dir=build_dir) == first


def test_stack_peak_grows_by_exactly_the_bytes_pushed(programs, build_dir):
    base = run_elf_batch(programs["stack0"], b"", build_dir=build_dir)
    deeper = run_elf_batch(programs["stack100"], b"", build_dir=build_dir)
    assert deeper.stack_peak - base.stack_peak == 100
    assert base.regions == [] and base.stdout == b""


def test_a_prologue_moving_sp_across_a_page_is_measured_exactly(programs, build_dir):
    small = run_elf_batch(programs["frame10"], b"", build_dir=build_dir)
    large = run_elf_batch(programs["frame252"], b"", build_dir=build_dir)
    assert large.stack_peak - small.stack_peak == 242


def test_a_program_that_never_ends_stops_at_max_cycles(programs, build_dir):
    with pytest.raises(SimulationError, match="still running after 100000 cycles"):
        run_elf_batch(programs["echo"], b"hi", max_cycles=100_000, build_dir=build_dir)


def test_a_crash_is_an_error(programs, build_dir):
    with pytest.raises(SimulationError, match="crashed"):
        run_elf_batch(programs["crash"], b"", max_cycles=1_000_000, build_dir=build_dir)


def test_a_missing_firmware_is_a_clear_error(tmp_path, build_dir):
    with pytest.raises(SimulationError, match="no such firmware"):
        run_elf_batch(tmp_path / "nothing.elf", b"", build_dir=build_dir)


def test_eeprom_survives_between_runs(programs, build_dir, tmp_path):
    harness = build_harness(build_dir)
    image = tmp_path / "eeprom.bin"

    def bump() -> bytes:
        ran = subprocess.run(
            [harness, "--stdio", "--eeprom", image, programs["probe"]],
            input=b"eq", capture_output=True, check=True,
        )  # fmt: skip
        return ran.stdout

    assert bump() == b"B\x01\xff"  # blank EEPROM reads 0xff
    assert bump() == b"B\x01\x00"
    assert bump() == b"B\x01\x01"
    assert image.read_bytes() == b"\x02" + b"\xff" * 1023


@pytest.mark.parametrize("blocked_in", ["write", "read"])
def test_a_signal_ends_a_batch_run_blocked_on_a_pipe(programs, build_dir, tmp_path,
                                                     blocked_in):
    """SIGTERM while the harness is blocked writing to a full pipe nobody reads, or reading
    input that never ends (the kernel names the wait in /proc/PID/wchan): the call returns
    (no SA_RESTART), the run ends with 130, and no last flush or read blocks it again."""
    stdin = tmp_path / "in.bin"
    stdin.write_bytes(bytes(range(256)) * 1024)  # four times what a pipe holds
    with stdin.open("rb") as feed:
        proc = subprocess.Popen([build_harness(build_dir), "--stdio", programs["echo"]],
                                stdin=feed if blocked_in == "write" else subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    with ended(proc):
        deadline = time.monotonic() + 60.0  # the echo fills the pipe in seconds
        # pipe_wait, or [anon_]pipe_read / [anon_]pipe_write, by kernel version
        while "pipe_" not in Path(f"/proc/{proc.pid}/wchan").read_text():
            assert time.monotonic() < deadline and proc.poll() is None, _unread(proc.stdout)
            time.sleep(0.05)
        if blocked_in == "write":
            assert _unread(proc.stdout) > fcntl.fcntl(proc.stdout, fcntl.F_GETPIPE_SZ) // 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(GONE_TIMEOUT) == 130


@contextlib.contextmanager
def ended(proc: subprocess.Popen) -> Iterator[subprocess.Popen]:
    """``proc``, killed if a failed check left it running, its pipes closed."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()


def _unread(pipe) -> int:
    """Bytes waiting in ``pipe`` (FIONREAD)."""
    return struct.unpack("i", fcntl.ioctl(pipe, termios.FIONREAD, b"\0" * 4))[0]


def test_missing_libsimavr_is_a_tool_missing_error(tmp_path, monkeypatch):
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "cc").symlink_to(shutil.which("cc"))
    pkg_config = fake_bin / "pkg-config"
    pkg_config.write_text("#!/bin/sh\nexit 1\n")  # knows no package, as without libsimavr-dev
    pkg_config.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake_bin))
    with pytest.raises(ToolMissingError, match="libsimavr-dev"):
        build_harness(tmp_path / "build")


def test_the_batch_report_is_parsed_and_checked():
    text = "vuno: noise\nregion 12\nregion 7\nstack_peak 30\ncycles 999\nend sleep\n"
    assert parse_batch_report(text) == ([12, 7], 30, 999, "sleep")
    with pytest.raises(SimulationError, match="no report"):
        parse_batch_report("region 12\n")


# ---- the board on a pseudo-terminal ----


def gone(pid: int) -> bool:
    """True once process `pid` has ended and been reaped."""
    deadline = time.monotonic() + GONE_TIMEOUT
    while Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture
def board(programs, build_dir, tmp_path):
    with VirtualUno(programs["probe"], tmp_path / "state", build_dir=build_dir) as uno:
        yield uno


@pytest.fixture
def port(board):
    with serial.Serial(board.port, 115200, timeout=SERIAL_TIMEOUT) as ser:
        yield ser


def read_exact(ser: serial.Serial, n: int) -> bytes:
    data = ser.read(n)
    assert len(data) == n, f"expected {n} bytes, got {data!r}"
    return data


def sync(ser: serial.Serial, token: bytes = b"x") -> None:
    """Wait until the probe echoes `token`: pyserial's open() may or may not have flushed
    the boot banner, so a host asks rather than waits for it."""
    ser.write(token)
    seen = ser.read_until(token)
    assert seen.endswith(token), f"no echo of {token!r}, got {seen!r}"


def test_echo_of_large_writes_through_a_real_pty(programs, build_dir, tmp_path):
    payload = random.Random(1).randbytes(8192)
    with (
        VirtualUno(programs["echo"], tmp_path, build_dir=build_dir) as uno,
        serial.Serial(uno.port, 115200, timeout=SERIAL_TIMEOUT) as ser,
    ):
        ser.write(payload)
        assert read_exact(ser, len(payload)) == payload


def test_a_realtime_board_answers_too(programs, build_dir, tmp_path):
    with (
        VirtualUno(programs["probe"], tmp_path, realtime=True, build_dir=build_dir) as uno,
        serial.Serial(uno.port, 115200, timeout=SERIAL_TIMEOUT) as ser,
    ):
        sync(ser)
        ser.write(b"a")
        body = read_exact(ser, 8)
        assert list(struct.unpack("<4H", body)) == expected_counts(SCENES["solid_white"])


def test_kilobytes_written_while_the_firmware_is_silent_all_arrive(board, port):
    payload = random.Random(2).randbytes(3000)
    sync(port)
    port.write(b"s" + struct.pack("<H", len(payload)) + payload)
    assert struct.unpack("<H", read_exact(port, 2))[0] == sum(payload) & 0xFFFF


def test_adc_follows_scene_changes_while_running(board, port):
    sync(port)
    for name in ("vertical_left", "diagonal_anti", "horizontal_bottom"):
        board.set_scene(name)
        port.write(b"a")
        assert list(struct.unpack("<4H", read_exact(port, 8))) == expected_counts(SCENES[name])
    board.set_scene((0.25, -0.25, 0.75, -0.75), light=0.5, offset=(0.1, 0.1, 0.1, 0.1))
    port.write(b"a")
    expected = expected_counts((0.25, -0.25, 0.75, -0.75), 0.5, offset=(0.1,) * 4)
    assert list(struct.unpack("<4H", read_exact(port, 8))) == expected


def test_a_refused_scene_raises_and_changes_nothing(board, port):
    with pytest.raises(VirtualBoardError, match="unknown scene"):
        board.set_scene("plaid")  # refused before it reaches the harness
    assert board.control("light -1").startswith("error: light")
    sync(port)
    port.write(b"a")
    expected = expected_counts(SCENES["solid_white"])
    assert list(struct.unpack("<4H", read_exact(port, 8))) == expected


def test_reset_command_reboots_like_dtr(board, port):
    sync(port)
    board.reset()
    assert read_exact(port, 2) == b"B\x02"  # MCUSR: external reset


def test_watchdog_reset_reboots_the_firmware(board, port):
    sync(port)
    port.write(b"w")
    assert read_exact(port, 2) == b"B\x08"  # MCUSR: watchdog reset
    port.write(b"y")
    assert read_exact(port, 1) == b"y"


def test_cycle_stats_over_the_control_channel(board, port):
    sync(port)
    port.write(b"rr")
    assert read_exact(port, 2) == b"RR"
    stats = board.cycle_stats()
    assert (stats.regions, stats.min, stats.max, stats.last) == (4, 101, 1001, 1001)
    assert stats.stack_peak > 0 and stats.cycles > 2 * 1102


def test_the_cpu_waits_for_a_host_and_the_port_can_be_reopened(board):
    time.sleep(0.2)
    assert board.cycle_stats().cycles == 0  # nobody has opened the port yet
    for round_trip in (b"x", b"y"):
        with serial.Serial(board.port, 115200, timeout=SERIAL_TIMEOUT) as ser:
            sync(ser, round_trip)
    stopped_at = board.cycle_stats().cycles
    time.sleep(0.2)
    assert board.cycle_stats().cycles == stopped_at  # closed again: the CPU waits


def test_eeprom_is_written_as_soon_as_the_firmware_changes_it(board, port, tmp_path):
    image = tmp_path / "state" / "eeprom.bin"
    sync(port)
    port.write(b"e")
    assert read_exact(port, 1) == b"\xff"
    deadline = time.monotonic() + GONE_TIMEOUT
    while not (image.exists() and image.read_bytes()[0] == 0x00):
        assert time.monotonic() < deadline, "the EEPROM file was not updated"
        time.sleep(0.01)


def test_eeprom_survives_a_restart_of_the_board(programs, build_dir, tmp_path):
    values = []
    for _ in range(2):
        with (
            start_virtual_board("uno", firmware=programs["probe"], state_dir=tmp_path,
                                build_dir=build_dir) as uno,
            serial.Serial(uno.port, 115200, timeout=SERIAL_TIMEOUT) as ser,
        ):  # fmt: skip
            sync(ser)
            ser.write(b"e")
            values.append(read_exact(ser, 1)[0])
    assert values == [0xFF, 0x00]


def test_close_leaves_no_process_even_after_an_exception(programs, build_dir, tmp_path):
    with pytest.raises(RuntimeError), VirtualUno(
        programs["probe"], tmp_path, build_dir=build_dir
    ) as uno:
        pid = uno.pid
        raise RuntimeError("a failing test")
    assert gone(pid)
    uno.close()  # idempotent


def test_the_harness_ends_when_its_owner_goes_away(programs, build_dir, tmp_path):
    harness = build_harness(build_dir)
    proc = subprocess.Popen(
        [harness, "--pty", programs["probe"]], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    with ended(proc):
        assert proc.stdout.readline().startswith(b"port /dev/")
        proc.stdin.close()  # the owner died: its end of the control pipe closes
        assert proc.wait(GONE_TIMEOUT) == 0


def test_unknown_board_is_refused(tmp_path):
    with pytest.raises(PixelnetError, match="unknown board"):
        start_virtual_board("due", firmware=tmp_path, state_dir=tmp_path)


# ---- the command line ----


def test_pixelnet_sim_serves_a_board_and_ends_cleanly_on_ctrl_c(programs, tmp_path):
    state = tmp_path / "state"
    cli = subprocess.Popen(
        [sys.executable, "-m", "pixelnet", "sim", "--board", "uno",
         "--firmware", str(programs["probe"]), "--state-dir", str(state),
         "--scene", "horizontal_top", "--build-dir", str(tmp_path / "build")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = cli.stdout.readline()
        assert line.startswith("port /dev/"), line
        assert [v.port for v in running_virtual_boards()] == [line.split()[1]]
        with serial.Serial(line.split()[1], 115200, timeout=SERIAL_TIMEOUT) as ser:
            sync(ser)
            ser.write(b"a")
            body = read_exact(ser, 8)
            assert list(struct.unpack("<4H", body)) == expected_counts(SCENES["horizontal_top"])
            cli.stdin.write("scene diagonal_main\n")
            cli.stdin.flush()
            assert cli.stdout.readline().strip() == "ok"
            ser.write(b"a")
            body = read_exact(ser, 8)
            assert list(struct.unpack("<4H", body)) == expected_counts(SCENES["diagonal_main"])
        cli.send_signal(signal.SIGINT)
        assert cli.wait(GONE_TIMEOUT) == 130
        assert running_virtual_boards() == []  # unregistered on the way out
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
    leftovers = [
        p for p in Path("/proc").iterdir()
        if p.name.isdigit() and str(state).encode() in _cmdline(p)
    ]  # fmt: skip
    assert leftovers == []


def _cmdline(proc_dir: Path) -> bytes:
    try:
        return (proc_dir / "cmdline").read_bytes()
    except OSError:
        return b""

