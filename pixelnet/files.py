"""Writing a file so that it is either whole or not there.

Model files, generated code, reports and pictures are written beside their
target, flushed to disk, then renamed over it: a crash, Ctrl-C or a full disk
never leaves half a file where a whole one is expected.
"""

from __future__ import annotations

import os
from pathlib import Path

from pixelnet.errors import PixelnetError


def write_atomically(
    path: str | os.PathLike[str],
    data: str | bytes,
    *,
    what: str = "file",
    error: type[PixelnetError] = PixelnetError,
) -> Path:
    """Write ``data`` to ``path`` whole; an OSError becomes ``error`` naming ``what``."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with open(tmp, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise error(f"{path}: cannot write {what} ({exc.strerror or exc})") from None
    return path
