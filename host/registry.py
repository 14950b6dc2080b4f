"""Running virtual boards, registered so that they are found like boards on USB.

A virtual board has no USB vendor and product ID to be recognised by, and its
pseudo-terminal (``/dev/pts/N``) looks like any other terminal. So each running
``pixelnet sim`` writes one small JSON file — its port, board, firmware and pid —
into a registry folder, and removes it when it ends. Readers prune the files of
boards that died without cleaning up (their pid is gone or their port vanished).

The folder is ``$PIXELNET_BOARDS_DIR`` when set (tests point it at their own
temporary folder, so they never see each other's boards), else
``$XDG_RUNTIME_DIR/pixelnet/boards``, else ``~/.cache/pixelnet/boards``.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from pixelnet.files import write_atomically

ENV_DIR = "PIXELNET_BOARDS_DIR"


@dataclass(frozen=True)
class VirtualPort:
    """One running virtual board, as `pixelnet sim` registered it."""

    port: str
    board: str  # "uno", "micropython"
    firmware: str  # the ELF or folder of board files it runs
    pid: int  # the `pixelnet sim` process that owns it

    @property
    def description(self) -> str:
        return f"virtual {self.board} (pixelnet sim, pid {self.pid})"


def registry_dir() -> Path:
    """Where running virtual boards are registered (see the module docstring)."""
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR])
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) / "pixelnet" if runtime else Path.home() / ".cache" / "pixelnet"
    return base / "boards"


def _entry_file(entry: VirtualPort) -> Path:
    return registry_dir() / f"{entry.pid}-{Path(entry.port).name}.json"


@contextlib.contextmanager
def registered(entry: VirtualPort) -> Iterator[Path]:
    """Keep ``entry`` registered while the block runs (a crash leaves a stale file: pruned)."""
    path = _entry_file(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(asdict(entry)) + "\n")
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def _read(path: Path) -> VirtualPort | None:
    try:
        fields = json.loads(path.read_text(encoding="utf-8"))
        return VirtualPort(str(fields["port"]), str(fields["board"]), str(fields["firmware"]),
                           int(fields["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def running_virtual_boards() -> list[VirtualPort]:
    """The virtual boards running now, oldest registration first; stale entries removed."""
    folder = registry_dir()
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime):
        entry = _read(path)
        if entry is None or not _alive(entry.pid) or not Path(entry.port).exists():
            path.unlink(missing_ok=True)
            continue
        found.append(entry)
    return found


def virtual_board_on(port: str) -> VirtualPort | None:
    """The running virtual board on ``port``, if ``port`` is one."""
    return next((v for v in running_virtual_boards() if v.port == port), None)


def is_virtual(port: str) -> bool:
    """Whether ``port`` is a virtual board: a registered one, or any pseudo-terminal."""
    return port.startswith("/dev/pts/") or virtual_board_on(port) is not None
