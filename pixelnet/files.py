"""Writing a file so that it is either whole or not there.

Model files, generated code, reports and pictures are written beside their
target, flushed to disk, then renamed over it: a crash, Ctrl-C or a full disk
never leaves half a file where a whole one is expected. The temporary file is
created exclusively under a fresh random name (``mkstemp``), so a file or
symlink someone planted beside the target is never followed or overwritten,
and the rename replaces a symlink at the target itself rather than its target.

``check_writable`` and ``check_output_dir`` answer "could we write there?"
before minutes of training or building, without creating anything.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import IO

from pixelnet.errors import PixelnetError


def _default_mode() -> int:
    """What ``open(path, "w")`` would give a new file: 0o666 minus the umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomically(
    path: str | os.PathLike[str],
    data: str | bytes,
    *,
    what: str = "file",
    error: type[PixelnetError] = PixelnetError,
) -> Path:
    """Write ``data`` to ``path`` whole; an OSError becomes ``error`` naming ``what``.

    A terminal, pipe or ``/dev/null`` at ``path`` (``--out /dev/stdout``) is written
    in place: renaming over it would put a regular file where a device was.
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp: str | None = None
    try:
        if _is_stream(path):
            with open(path, "wb") as fh:
                fh.write(payload)
            return path
        path.parent.mkdir(parents=True, exist_ok=True)  # as check_writable promised
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), _default_mode())
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise error(f"{path}: cannot write {what} ({exc.strerror or exc})") from None
    return path


def _is_stream(path: Path) -> bool:
    """True for a character device or FIFO (through symlinks); refuses block devices."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    if stat.S_ISBLK(mode) or stat.S_ISSOCK(mode):
        raise OSError(errno.EINVAL, "a block device or socket, not a file")
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def open_for_streaming(
    path: str | os.PathLike[str], *, what: str = "file",
    error: type[PixelnetError] = PixelnetError,
) -> IO[str]:
    """A new, empty text file at ``path`` for a log written row by row (and flushed).

    Made like ``write_atomically``'s temporary file (exclusively, under a random name)
    and renamed into place at once, so a symlink planted at ``path`` is replaced, never
    written through, and the file at ``path`` is always the log as written so far.
    """
    path = Path(path)
    try:
        if _is_stream(path):  # as write_atomically: a terminal or pipe is written in place
            return open(path, "w", newline="", encoding="utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise error(f"{path}: cannot write {what} ({exc.strerror or exc})") from None
    try:
        os.fchmod(fd, _default_mode())
        os.replace(tmp, path)
    except OSError as exc:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise error(f"{path}: cannot write {what} ({exc.strerror or exc})") from None
    return os.fdopen(fd, "w", newline="", encoding="utf-8")


def make_dirs(path: str | os.PathLike[str], what: str = "output directory") -> Path:
    """``mkdir -p``; an OSError (a file in the way, no permission) becomes one PixelnetError."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PixelnetError(f"{path}: cannot create {what} ({exc.strerror or exc})") from None
    return path


def _existing_ancestor(path: Path) -> Path:
    """The nearest of ``path`` and its parents that exists (as anything, even a file)."""
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return candidate
    return Path(".")


def _check_dir_writable(directory: Path, what: str, target: Path) -> None:
    """``directory`` (which will hold ``target``) exists or can be made, and is writable."""
    found = _existing_ancestor(directory)
    if not found.is_dir():
        raise PixelnetError(f"{target}: cannot write {what} ({found} is not a directory)")
    if not os.access(found, os.W_OK | os.X_OK):
        raise PixelnetError(f"{target}: cannot write {what} ({found} is not writable)")


def check_writable(path: str | os.PathLike[str], what: str = "file") -> Path:
    """Refuse now an output file that could not be written later; create nothing.

    A name the system cannot even look up (too long, a folder we may not enter) is
    refused the same way.
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise PixelnetError(f"{path}: cannot write {what} (it is a directory)")
        _check_dir_writable(path.parent, what, path)
    except OSError as exc:
        raise PixelnetError(f"{path}: cannot write {what} ({exc.strerror or exc})") from None
    return path


def check_output_dir(path: str | os.PathLike[str], what: str = "output directory") -> Path:
    """Refuse now a directory that could not be created or written to later; create nothing."""
    path = Path(path)
    try:
        if path.exists() and not path.is_dir():
            raise PixelnetError(f"{path}: cannot use as {what} (it is not a directory)")
        _check_dir_writable(path, what, path)
    except OSError as exc:
        raise PixelnetError(f"{path}: cannot use as {what} ({exc.strerror or exc})") from None
    return path
