"""The MicroPython board files as a mip package, installed the MicroPython way.

``write_mip_package`` puts a ``package.json`` in mip's format beside the board
files (``urls``: [device path, URL relative to the package.json], ``version``,
``deps``), so ``mpremote mip install --target= DIR/package.json`` copies them to
the board's root, where ``main.py`` must be. mpremote's mip reads a local
package.json and its relative URLs from the same folder; the same folder served
over HTTP, or pushed to GitHub (``github:USER/REPO``), installs the same way.
"""

from __future__ import annotations

import json
from pathlib import Path

from pixelnet import __version__
from pixelnet.files import write_atomically

PACKAGE_JSON = "package.json"
BOARD_SUFFIXES = (".py", ".mpy")


def package_manifest(files: list[Path], version: str = __version__) -> dict:
    """mip's package.json for ``files`` (all in one folder), installed under their names."""
    return {
        "urls": [[f.name, f.name] for f in sorted(files)],
        "deps": [],
        "version": version,
    }


def write_mip_package(files_dir: Path) -> Path:
    """package.json for every .py/.mpy file in ``files_dir``; its path."""
    files_dir = Path(files_dir)
    files = [p for p in files_dir.iterdir() if p.suffix in BOARD_SUFFIXES]
    text = json.dumps(package_manifest(files), indent=1) + "\n"
    return write_atomically(files_dir / PACKAGE_JSON, text, what="mip package manifest")
