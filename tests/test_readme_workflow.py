"""The README's workflow, walked as a new user would: its commands copied from README.md
itself and run as printed, in a fresh folder, on a virtual Uno.

Each command runs in a new shell with the PATH a new login shell has (no virtual
environment active): the set-up links `pixelnet` into it. `pixelnet sim` runs in the
background like a second terminal; what the README (or a command) says to type into the
sim is typed into its terminal. Nothing is shortened: the same commands, the same sizes.
"""

from __future__ import annotations

import os
import re
import select
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from pixelnet.host.registry import ENV_DIR

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
WORKFLOW = "## The workflow, one command per step"
COMMAND_TIMEOUT = 600.0  # s for one command; builds and 10,000 vectors under load
SIM_TYPED = re.compile(r"type (`[^`]+`(?:(?:, then | and |, )`[^`]+`)*) into (?:the|its) "
                       r"(?:pixelnet )?sim")
MONITOR_SCREENS = 5  # screens to see before Ctrl-C
INTERRUPTED = 130  # the exit status of a run ended by Ctrl-C


def _blocks(text: str) -> list[list[str]]:
    return [block.strip("\n").splitlines() for block in re.findall(r"```sh\n(.*?)```", text,
                                                                      flags=re.S)]


def setup_block() -> list[str]:
    """The README's first command block: the two set-up commands."""
    return _blocks(README.read_text(encoding="utf-8"))[0]


def workflow_commands() -> list[str]:
    """The command lines of the workflow section's first block, exactly as printed."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(WORKFLOW):]
    section = section[:section.index("\n## ", 1)]
    return [line for line in _blocks(section)[0] if line.strip()]


def typed_into_sim(text: str) -> list[str]:
    """The sim commands a line of text asks the user to type, in order."""
    return [cmd for match in SIM_TYPED.finditer(text) for cmd in re.findall(r"`([^`]+)`",
                                                                            match.group(1))]


def new_shell_path() -> str:
    """The PATH of a new login shell on Debian/Ubuntu, for root or for a user."""
    local_bin = Path.home() / ".local" / "bin"
    return os.pathsep.join([str(local_bin), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
                            "/usr/bin", "/sbin", "/bin"])


@dataclass
class Step:
    line: str
    returncode: int | None
    stdout: str
    stderr: str


class Walk:
    """New shells in a fresh folder, each running one of the README's commands."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = dict(os.environ, PATH=new_shell_path(), **{ENV_DIR: str(folder / "boards")})
        self.env.pop("VIRTUAL_ENV", None)
        self.sim: subprocess.Popen[str] | None = None
        self.steps: list[Step] = []

    def _argv(self, line: str) -> list[str]:
        script = f"cd {shlex.quote(str(self.folder))} && exec {line}"
        return ["bash", "-c", script]

    def _popen(self, line: str, **kwargs: object) -> subprocess.Popen[str]:
        return subprocess.Popen(self._argv(line), env=self.env, text=True,
                                stdout=subprocess.PIPE, **kwargs)  # type: ignore[call-overload]

    def type_into_sim(self, command: str) -> None:
        assert self.sim is not None and self.sim.stdin and self.sim.stdout
        self.sim.stdin.write(command + "\n")
        self.sim.stdin.flush()
        answer = _readline(self.sim.stdout, COMMAND_TIMEOUT)
        assert answer.strip() == "ok", f"sim answered {answer!r} to {command!r}"

    def run(self, line: str) -> Step:
        for command in typed_into_sim(line):  # "first type `scene …` into the sim"
            self.type_into_sim(command)
        words = shlex.split(line, comments=True)
        if words[:2] == ["pixelnet", "sim"]:
            step = self._start_sim(line)
        elif words[:2] == ["pixelnet", "monitor"]:
            step = self._monitor(line)
        elif words[:2] == ["pixelnet", "calibrate"]:
            step = self._calibrate(line)
        else:
            done = subprocess.run(self._argv(line), env=self.env, capture_output=True,
                                  text=True, timeout=COMMAND_TIMEOUT, check=False)
            step = Step(line, done.returncode, done.stdout, done.stderr)
        self.steps.append(step)
        return step

    def _start_sim(self, line: str) -> Step:
        err = self.folder / "sim.stderr"
        with err.open("w") as sink:
            self.sim = self._popen(line, stdin=subprocess.PIPE, stderr=sink)
        assert self.sim.stdout is not None
        first = _readline(self.sim.stdout, COMMAND_TIMEOUT)
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while "next, in a second terminal" not in err.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)  # the pasteable next steps follow the port line
        return Step(line, None if self.sim.poll() is None else self.sim.returncode, first,
                    err.read_text())

    def _monitor(self, line: str) -> Step:
        proc = self._popen(line, stderr=subprocess.PIPE)
        assert proc.stdout is not None
        seen = ""
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while seen.count("\x1b[H") < MONITOR_SCREENS and time.monotonic() < deadline:
            chunk = _read_some(proc.stdout, deadline - time.monotonic())
            if not chunk:
                break
            seen += chunk
        proc.send_signal(signal.SIGINT)  # "Ctrl-C ends"
        out, err = proc.communicate(timeout=COMMAND_TIMEOUT)
        # ended by Ctrl-C, as the README says: exit 130 is success here, and 0 is not (-1)
        ended = 0 if proc.returncode == INTERRUPTED else (proc.returncode or -1)
        return Step(line, ended, seen + out, err)

    def _calibrate(self, line: str) -> Step:
        """Do what calibrate asks: type into the sim what it says, then press Enter."""
        proc = self._popen(line, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdin is not None and proc.stdout is not None
        seen = []
        while True:
            text = _readline(proc.stdout, COMMAND_TIMEOUT)
            if not text:
                break
            seen.append(text)
            if text.rstrip().endswith("press Enter."):
                for command in typed_into_sim(text):
                    self.type_into_sim(command)
                proc.stdin.write("\n")
                proc.stdin.flush()
        proc.wait(COMMAND_TIMEOUT)
        return Step(line, proc.returncode, "".join(seen), proc.stderr.read() if proc.stderr
                    else "")

    def close(self) -> None:
        if self.sim is not None and self.sim.poll() is None:
            self.sim.send_signal(signal.SIGINT)
            try:
                self.sim.wait(COMMAND_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.sim.kill()
                self.sim.wait()


def _read_some(stream: object, timeout: float) -> str:
    ready, _, _ = select.select([stream], [], [], max(timeout, 0))
    return os.read(stream.fileno(), 65536).decode() if ready else ""  # type: ignore[attr-defined]


_UNREAD: dict[object, bytes] = {}  # what a stream delivered past the last line read


def _readline(stream: object, timeout: float) -> str:
    """One line, or "" at end of output; fails the test after ``timeout`` s of silence.

    Reads the descriptor itself: a buffered readline after select() could swallow the
    next lines into its buffer, where select() no longer sees them.
    """
    fd = stream.fileno()  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout
    data = _UNREAD.pop(stream, b"")
    while b"\n" not in data:
        ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        assert ready, f"no output within {timeout:g} s"
        chunk = os.read(fd, 65536)
        if not chunk:
            return data.decode()
        data += chunk
    line, _UNREAD[stream] = data.split(b"\n", 1)
    return line.decode() + "\n"


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> list[Step]:
    assert _pixelnet_in_a_new_shell() == ROOT / ".venv" / "bin" / "pixelnet", (
        "the README's set-up (make demo / make test) links this checkout's pixelnet onto the "
        "PATH; run scripts/setup.sh here")
    session = Walk(tmp_path_factory.mktemp("readme"))
    try:
        for line in workflow_commands():
            step = session.run(line)
            if step.returncode not in (None, 0):
                break  # the rest would only repeat the failure
        if session.sim is not None:
            session.steps.append(Step("(sim, still running)", session.sim.poll(), "", ""))
    finally:
        session.close()
    return session.steps


def _step(steps: list[Step], start: str) -> Step:
    return next(s for s in steps if s.line.startswith(start))


def _pixelnet_in_a_new_shell() -> Path | None:
    done = subprocess.run(["bash", "-c", "command -v pixelnet"], env=Walk(ROOT).env,
                          capture_output=True, text=True, check=False)
    return Path(os.path.realpath(done.stdout.strip())) if done.returncode == 0 else None


def test_setup_is_the_two_commands() -> None:
    lines = setup_block()
    assert len(lines) == 2
    assert lines[0].startswith("make demo") and lines[1].startswith("make test")


def test_the_walk_is_the_whole_workflow_section(walk: list[Step]) -> None:
    assert [s.line for s in walk[:len(workflow_commands())]] == workflow_commands()


def test_every_command_runs_as_printed(walk: list[Step]) -> None:
    for step in walk:
        assert step.returncode in (None, 0), (
            f"{step.line}\n exit {step.returncode}\n{step.stderr[-3000:]}")
    assert walk[-1].returncode is None  # the sim was still running at the end


def test_a_new_shell_finds_this_checkouts_pixelnet() -> None:
    """What the walk relies on: after set-up, a shell with no environment active runs the
    command of this checkout's .venv."""
    found = _pixelnet_in_a_new_shell()
    assert found == (ROOT / ".venv" / "bin" / "pixelnet").resolve(), found


def test_sim_prints_the_next_commands_with_its_port(walk: list[Step]) -> None:
    sim = _step(walk, "pixelnet sim")
    port = sim.stdout.split()[1]
    assert sim.stdout.startswith("port /dev/")
    assert f"pixelnet verify --model model.json --vectors random --port {port}" in sim.stderr


def test_boards_lists_the_running_sim_and_its_model(walk: list[Step]) -> None:
    sim, boards, train = (_step(walk, s) for s in ("pixelnet sim", "pixelnet boards",
                                                   "pixelnet train --out model.json"))
    port = sim.stdout.split()[1]
    model_hash = re.search(r"model (\w{16}) written", train.stdout).group(1)
    (row,) = [line for line in boards.stdout.splitlines() if line.startswith(port)]
    assert "virtual uno (pixelnet sim" in row and row.split()[-2:] == ["q7", model_hash]


def test_verify_passes_and_calibration_is_stored(walk: list[Step]) -> None:
    assert _step(walk, "pixelnet verify").stdout.rstrip().endswith("PASS")
    calibrate = _step(walk, "pixelnet calibrate")
    assert "calibration stored on the board" in calibrate.stdout
    assert "dark [51, 51, 51, 51], bright [1023, 1023, 1023, 1023]" in calibrate.stdout


def test_recordings_are_what_the_sim_showed(walk: list[Step]) -> None:
    for label in ("horizontal", "vertical"):
        assert f"recorded 500 samples labelled {label!r}" in _step(
            walk, f"pixelnet record --label {label}").stdout

