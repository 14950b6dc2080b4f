"""The header of a benchmark result: which machine, which tools, which pixelnet, when.

Wall-clock numbers mean nothing without the machine they were taken on, and
cycle and byte counts change with the compiler and the simulator: so every
result carries them. Nothing here fails: a tool that cannot be asked is
reported as ``None`` (the benchmark sections themselves complain loudly).
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import shutil
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from pixelnet import __version__
from pixelnet.errors import ToolMissingError
from pixelnet.firmware.virtual_micropython import find_micropython

SOURCE_DIR = Path(__file__).resolve().parents[1]
TOOL_TIMEOUT = 10.0  # seconds for a `--version` answer
MICROPYTHON_VERSION = "import sys; print('.'.join(map(str, sys.implementation.version[:3])))"


def _output(argv: list[str], cwd: Path | None = None) -> str | None:
    """stdout of a short command, or None when it is missing or fails."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT,
                              cwd=cwd, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    found = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return found.group(1).strip() if found else platform.machine()


def os_name() -> str:
    try:
        return platform.freedesktop_os_release()["PRETTY_NAME"]
    except (OSError, KeyError, AttributeError):
        return f"{platform.system()} {platform.release()}"


def avr_gcc_version() -> str | None:
    first = (_output(["avr-gcc", "-dumpfullversion"]) or _output(["avr-gcc", "-dumpversion"]))
    return first.splitlines()[0] if first else None


def simavr_version() -> str | None:
    """The libsimavr the virtual Uno links against (simavr itself has no --version)."""
    return _output(["pkg-config", "--modversion", "simavr"])


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def micropython_version() -> str | None:
    """The unix port the MicroPython figures come from (beside our Python, else on PATH)."""
    try:
        exe = find_micropython()
    except ToolMissingError:
        return None
    return _output([exe, "-c", MICROPYTHON_VERSION])


def git_commit() -> str | None:
    """The checkout's commit, with ``-dirty`` when files differ from it (read-only git calls)."""
    if not (SOURCE_DIR / ".git").exists():
        return None
    commit = _output(["git", "rev-parse", "HEAD"], cwd=SOURCE_DIR)
    if commit is None:
        return None
    changes = _output(["git", "--no-optional-locks", "status", "--porcelain",
                       "--untracked-files=no"], cwd=SOURCE_DIR)
    return commit + ("-dirty" if changes else "")


def machine_header(command: str) -> dict[str, Any]:
    """Everything a reader needs to judge (and reproduce) the numbers."""
    return {
        "command": command,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "pixelnet": __version__,
        "git_commit": git_commit(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "os": os_name(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "avr_gcc": avr_gcc_version(),
        "simavr": simavr_version(),
        "scikit_learn": package_version("scikit-learn"),
        "emlearn": package_version("emlearn"),
        "micropython": micropython_version(),
    }
