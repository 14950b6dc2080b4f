"""MicroPython the MicroPython way: the generated model as .mpy bytecode that the unix
port runs bit for bit like the emulator, and the board files as a mip package that
mpremote's own installer (its mip module, on a recording transport) puts on a board."""

from __future__ import annotations

import json
import subprocess

from mpremote import mip

from pixelnet import codegen
from pixelnet.cli import main
from pixelnet.codegen.emulator import infer, quantize_inputs
from pixelnet.firmware import flash_micropython as flash
from pixelnet.firmware.mip_package import PACKAGE_JSON
from pixelnet.firmware.virtual_micropython import find_micropython, prepare_micropython_files
from pixelnet.host.vectors import random_vectors
from pixelnet.trainer.lesson import lesson_model


class RecordingTransport:
    """The part of mpremote's transport that mip uses, on a dict instead of a board."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.dirs: set[str] = set()

    def fs_exists(self, path: str) -> bool:
        return path in self.dirs or path in self.files

    def fs_mkdir(self, path: str) -> None:
        self.dirs.add(path)

    def fs_writefile(self, path: str, data: bytes, progress_callback=None) -> None:
        self.files[path] = data

    def fs_hashfile(self, path: str, algo: str) -> bytes:
        raise FileNotFoundError(path)


def test_mpremote_mip_installs_every_board_file_at_the_root(tmp_path):
    files_dir = prepare_micropython_files(lesson_model(), "q7", tmp_path / "board")
    manifest = json.loads((files_dir / PACKAGE_JSON).read_text())
    board = sorted(p.name for p in files_dir.iterdir() if p.suffix == ".py")
    assert [target for target, _ in manifest["urls"]] == board
    transport = RecordingTransport()
    mip._install_json(transport, (files_dir / PACKAGE_JSON).as_posix(), mip._PACKAGE_INDEX,
                      "", None, False)
    assert transport.files == {f"/{name}": (files_dir / name).read_bytes() for name in board}


def test_flash_installs_with_mip(tmp_path):
    files_dir = prepare_micropython_files(lesson_model(), "q7", tmp_path / "board")
    command = flash.mpremote_command("/dev/ttyUSB0", files_dir / PACKAGE_JSON)
    assert command[3:] == ["connect", "/dev/ttyUSB0", "mip", "install", "--target=",
                           (files_dir / PACKAGE_JSON).as_posix(), "+", "reset"]


def test_generated_mpy_runs_bit_exact_on_the_unix_port(tmp_path, capsys):
    out = tmp_path / "gen"
    assert main(["generate", "--lesson", "--target", "micropython", "--mpy",
                 "--out-dir", str(out)]) == 0
    printed = capsys.readouterr().out
    mpy = out / "pixelnet_model.mpy"
    assert f"wrote {mpy} ({mpy.stat().st_size:,} bytes of bytecode" in printed
    only_mpy = tmp_path / "mpy"
    only_mpy.mkdir()
    (only_mpy / mpy.name).write_bytes(mpy.read_bytes())
    qm = codegen.quantize(lesson_model(), "q7")
    x = quantize_inputs(qm, random_vectors(40)[0])
    script = ("import sys\nsys.path[:0] = ['.']\nimport pixelnet_model as m\n"
              f"xs = {x.tolist()}\n"
              "for x in xs:\n    out = [0] * m.N_OUTPUTS\n    m.infer(x, out)\n    print(out)\n")
    ran = subprocess.run([find_micropython(), "-c", script], cwd=only_mpy, capture_output=True,
                         text=True, check=True)
    got = [json.loads(line) for line in ran.stdout.splitlines()]
    assert got == infer(qm, x).tolist()
    assert not (only_mpy / "pixelnet_model.py").exists()


def test_mpy_only_goes_with_micropython(tmp_path, capsys):
    assert main(["generate", "--lesson", "--target", "c", "--mpy", "--out-dir", str(tmp_path)]) == 2
    assert "--mpy goes with --target micropython" in capsys.readouterr().err
