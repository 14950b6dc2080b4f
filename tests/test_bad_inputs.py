"""Hundreds of bad inputs to every subcommand: each is one line on stderr and exit 2.

Every case runs ``pixelnet.cli.main`` in-process in a shared workspace and must
give exit status 2, exactly one line on stderr naming what was wrong (the
flag, file or path), no traceback and no warning, and leave every file and
folder of the workspace exactly as it was. The cases that need another user
(a read-only folder means nothing to root), a signal or a closed pipe run as
subprocesses.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pixelnet.cli import main
from pixelnet.codegen.quantize import quantize
from pixelnet.host.fake_board import EmulatorArithmetic, FakeBoard
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.model_file import save_model

NO_PORT = "/nonexistent/ttyPIXELNET"
MODEL = "m.json"

# -- the workspace -------------------------------------------------------------


def _valid_doc() -> dict[str, Any]:
    return lesson_model().to_dict()


def _with(key: str, value: Any) -> str:
    doc = _valid_doc()
    doc[key] = value
    return json.dumps(doc)


def _rehashed(doc: dict[str, Any]) -> str:
    part = {key: doc[key] for key in ("classes", "input", "layers")}
    canonical = json.dumps(part, sort_keys=True, separators=(",", ":"))
    return json.dumps({**doc, "hash": hashlib.sha256(canonical.encode()).hexdigest()})


def _bad_models() -> dict[str, str | bytes]:
    valid = json.dumps(_valid_doc(), indent=1)
    first_weight = repr(_valid_doc()["layers"][0]["weights"][0][0])
    escape = _valid_doc()
    escape["classes"][0] = "solid\x1b[2J\x1b[31m"
    edited = _valid_doc()
    edited["layers"][0]["weights"][0][0] += 1.0
    return {
        "empty.json": "",
        "truncated.json": valid[: len(valid) // 2],
        "not-json.json": "hello, world\n",
        "a-list.json": "[1, 2, 3]",
        "classes-list.json": _with("classes", [["solid"], "vertical", "diagonal", "horizontal"]),
        "classes-number.json": _with("classes", 4),
        "pixels-5.json": _with("input", {"pixels": 5, "encoding": "x"}),
        "pixels-null.json": _with("input", {"pixels": None}),
        "training-5.json": _with("training", 5),
        "training-string.json": _with("training", "trained on Tuesday"),
        "weight-1e400.json": valid.replace(first_weight, "1" + "0" * 400, 1),
        "weight-5000-digits.json": valid.replace(first_weight, "7" * 5000, 1),
        "weight-nan.json": valid.replace(first_weight, "NaN", 1),
        "nested.json": "[" * 100_000 + "]" * 100_000,
        "escape-class.json": _rehashed(escape),
        "edited.json": json.dumps(edited),
        "version-2.json": _with("version", 2),
        "version-true.json": _with("version", True),
        "format-onnx.json": _with("format", "onnx"),
        "layers-object.json": _with("layers", {"0": 1}),
        "hash-number.json": _with("hash", 12345),
        "binary.json": bytes(range(256)) * 4,
    }


BAD_MODELS = [*_bad_models(), "missing.json", "a-folder.json"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bad-inputs")
    save_model(lesson_model(), root / MODEL)
    for name, content in _bad_models().items():
        path = root / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    (root / "a-folder.json").mkdir()
    (root / "f").write_text("a file where a folder is expected\n")
    (root / "d").mkdir()
    (root / "d" / "keep.txt").write_text("keep\n")
    (root / "bad.csv").write_text("label,tl,tr,bl,br\nstripes,1,1,1,1\n")
    (root / "short.csv").write_text("label,tl\nsolid,1\n")
    (root / "bench.json").write_text('{"no": "header"}')
    (root / "keep.csv").write_text("an earlier run's log, not to be lost\n")
    return root


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root``: kind, size, mtime and a hash of the content."""
    entries = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            digest = (hashlib.sha256(path.read_bytes()).hexdigest()
                      if path.is_file() and not path.is_symlink() else "")
            entries[str(path.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns,
                                                    digest)
    return entries


# -- the table -----------------------------------------------------------------

# Bad text for each kind of option; every one must be refused before any work.
BAD_WHOLE = ["-1", "abc", "", "1.5", "nan", "0x10", "1e3", "9" * 40]
BAD_REAL = ["nan", "inf", "-inf", "abc", "", "1e400", "1,5", "--"]


def _option_cases() -> Iterator[tuple[str, list[str], str]]:
    """(id, argv, what the message must name) for bad option values."""

    def each(base: list[str], flag: str, values: list[str]) -> Iterator[tuple]:
        for value in values:
            yield (f"{base[0]} {flag} {value[:12]!r}", [*base, f"{flag}={value}"], flag)

    train = ["train", "--out", "out.json"]
    yield from each(train, "--hidden", ["0", "-1", "17", "100000", "4,,4", "a", "",
                                        "4,4,4,4,4,4,4,4", "1e3", "4;4"])
    yield from each(train, "--activations", ["sine", "", "tanh,,relu", "TANH",
                                             ",".join(["tanh"] * 8)])
    yield from each(train, "--lr", ["0", "-1", "101", *BAD_REAL])
    yield from each(train, "--momentum", ["-0.1", "1", "1.5", *BAD_REAL])
    yield from each(train, "--epochs", ["0", "1000001", *BAD_WHOLE])
    yield from each(train, "--batch-size", ["0", "1000001", *BAD_WHOLE])
    yield from each(train, "--l1", ["-1", "1001", *BAD_REAL])
    yield from each(train, "--l2", ["-0.5", *BAD_REAL])
    yield from each(train, "--dropout", ["1", "-0.1", *BAD_REAL])
    yield from each(train, "--patience", ["1000001", *BAD_WHOLE])
    yield from each(train, "--seed", ["4294967296", *BAD_WHOLE])
    yield from each(train, "--min-accuracy", ["1.5", "-0.1", *BAD_REAL])
    for flag in ("--output-activation", "--loss", "--optimizer"):
        yield from each(train, flag, ["nope", ""])

    sim = ["sim", "--board", "uno", "--lesson", "--build-dir", "b"]
    yield from each(sim, "--noise", ["-0.1", "2", *BAD_REAL])
    yield from each(sim, "--light", ["-1", "1.01", *BAD_REAL])
    yield from each(sim, "--scene", ["nope", ""])
    yield from each(sim, "--format", ["q8", ""])
    yield from each(["sim", "--lesson"], "--board", ["nope", ""])

    verify = ["verify", "--model", MODEL, "--port", NO_PORT]
    yield from each(verify, "--baud", ["0", "49", "12000001", "1000000000000", *BAD_WHOLE])
    yield from each(verify, "--samples", ["0", "1000000001", *BAD_WHOLE])
    yield from each(verify, "--seconds", ["0", "-1", "1e8", *BAD_REAL])
    yield from each(verify, "--vector-count", ["0", "1000000000", *BAD_WHOLE])
    yield from each(verify, "--max-error", ["-1", "1e7", *BAD_REAL])
    yield from each(verify, "--scene-label", ["stripes", "", "Solid"])
    yield from each(verify, "--format", ["q8", "Q7"])

    monitor = ["monitor", "--model", MODEL, "--port", NO_PORT]
    yield from each(monitor, "--samples", ["0", *BAD_WHOLE])
    yield from each(monitor, "--baud", ["0", "99999999999"])
    record = ["record", "--port", NO_PORT, "--label", "solid", "--out", "rec.csv"]
    yield from each(record, "--samples", ["0", "-5", "x"])
    yield from each(["record", "--port", NO_PORT, "--samples", "3", "--out", "rec.csv"],
                    "--label", ["stripes", "", "SOLID", "solid\x1b[2J"])
    yield from each(["calibrate", "--port", NO_PORT], "--baud", ["0", "abc", "1e12"])

    generate = ["generate", "--lesson", "--target", "c", "--out-dir", "gen"]
    for prefix in ["1x", "a-b", "int", "", "x" * 30, "a\x1b[2J", "_x", "while"]:
        # refused by the code generator, before anything is written
        yield (f"generate --prefix {prefix[:12]!r}", [*generate, f"--prefix={prefix}"], "prefix")
    yield from each(["generate", "--lesson", "--out-dir", "gen"], "--target", ["cobol", ""])
    yield from each(generate, "--format", ["q8", ""])
    yield from each(generate, "--optimize", ["fast", ""])
    yield from each(generate, "--min-agreement", ["101", "-1", *BAD_REAL])
    yield from each(generate, "--max-error", ["-1", "1e7", *BAD_REAL])
    build = ["build", "--board", "uno", "--lesson", "--build-dir", "b"]
    yield from each(build, "--prefix", ["PN", "pn", "pn_x", "Pn_model", "1x", "int", ""])
    yield from each(build, "--format", ["q8"])
    yield from each(["build", "--lesson", "--build-dir", "b"], "--board", ["pdp11", ""])
    flash = ["flash", "--board", "uno", "--lesson", "--port", NO_PORT, "--build-dir", "b"]
    yield from each(flash, "--prefix", ["PN", "1x"])
    yield from each(flash, "--baud", ["0", "x"])
    yield from each(["demo", "--build-dir", "b"], "--board", ["pdp11", ""])
    yield from each(["bench", "--quick"], "--only", ["nope", "", "train,nope", ","])


def _model_cases() -> Iterator[tuple[str, list[str], str]]:
    """Every command that loads a model, with every bad model file."""
    commands = {
        "show": ["show"],
        "generate": ["generate", "--target", "c", "--out-dir", "gen"],
        "build-uno": ["build", "--board", "uno", "--build-dir", "b"],
        "build-mp": ["build", "--board", "micropython", "--build-dir", "b"],
        "sim": ["sim", "--board", "uno", "--build-dir", "b"],
        "verify": ["verify", "--port", NO_PORT],
        "monitor": ["monitor", "--port", NO_PORT],
        # a port that exists, so that the model is what is refused (a missing port comes first)
        "flash-mp": ["flash", "--board", "micropython", "--port", os.devnull, "--build-dir", "b"],
    }
    for name, base in commands.items():
        for model in BAD_MODELS:
            yield f"{name} {model}", [*base, "--model", model], model


def _path_cases() -> Iterator[tuple[str, list[str], str]]:
    """Outputs that cannot be written, refused before the work that would fill them."""
    cases = [
        (["train", "--out", "f/m.json"], "f/m.json"),
        (["train", "--out", "f/sub/m.json"], "f/sub/m.json"),
        (["train", "--out", "d"], "d"),
        (["show", "--lesson", "--png", "f/x.png"], "f/x.png"),
        (["show", "--lesson", "--png", "d"], "d"),
        (["generate", "--lesson", "--target", "c", "--out-dir", "f"], "f"),
        (["generate", "--lesson", "--target", "c", "--out-dir", "f/gen"], "f/gen"),
        (["generate", "--lesson", "--target", "arduino", "--out-dir", MODEL], MODEL),
        (["build", "--board", "uno", "--lesson", "--build-dir", "f"], "f"),
        (["build", "--board", "micropython", "--lesson", "--build-dir", "f"], "f"),
        (["sim", "--board", "uno", "--lesson", "--state-dir", "f"], "f"),
        (["sim", "--board", "micropython", "--lesson", "--state-dir", "f/s"], "f/s"),
        (["sim", "--board", "uno", "--lesson", "--build-dir", "f"], "f"),
        (["demo", "--build-dir", "f"], "f"),
        (["demo", "--build-dir", "f/demo"], "f/demo"),
        (["verify", "--model", MODEL, "--port", NO_PORT, "--report", "f/r.json"], "f/r.json"),
        (["verify", "--model", MODEL, "--port", NO_PORT, "--report", "d"], "d"),
        (["verify", "--model", MODEL, "--port", NO_PORT, "--log", "f/l.csv"], "f/l.csv"),
        (["record", "--port", NO_PORT, "--label", "solid", "--samples", "3", "--out",
          "f/r.csv"], "f/r.csv"),
        (["record", "--port", NO_PORT, "--label", "solid", "--samples", "3", "--out", "d"],
         "d"),
        (["bench", "--quick", "--out", "f/x.json"], "f/x.json"),
        (["bench", "--quick", "--out", "d"], "d"),
        (["bench", "--quick", "--markdown", "nowhere/x.md"], "nowhere/x.md"),
        (["bench", "--from", "missing.json"], "missing.json"),
        (["bench", "--from", "bench.json"], "bench.json"),
        (["bench", "--from", "nested.json"], "nested.json"),
        (["bench", "--from", "binary.json"], "binary.json"),
        (["bench", "--from", "d"], "d"),
        (["report", "--from", "missing.json"], "missing.json"),
        (["report", "--from", "bench.json"], "bench.json"),
        (["report", "--from", "nested.json"], "nested.json"),
        (["report", "--from", "binary.json"], "binary.json"),
        (["report", "--from", MODEL], MODEL),
        (["report", "--from", "d"], "d"),
        (["report", "--from", "bench.json", "--html", "f/r.html"], "f/r.html"),
        (["report", "--from", "bench.json", "--png", "d"], "d"),
        (["verify", "--model", MODEL, "--port", NO_PORT, "--html", "f/r.html"], "f/r.html"),
        (["verify", "--model", MODEL, "--port", NO_PORT, "--vectors", "missing.csv"],
         "missing.csv"),
        (["verify", "--model", MODEL, "--port", NO_PORT, "--vectors", "bad.csv"], "bad.csv"),
        (["verify", "--model", MODEL, "--port", NO_PORT, "--vectors", "short.csv"],
         "short.csv"),
        (["train", "--data", "bad.csv", "--out", "out.json"], "bad.csv"),
        (["train", "--data", "missing.csv", "--out", "out.json"], "missing.csv"),
        (["train", "--data", "d", "--out", "out.json"], "d"),
        (["train", "--data", "binary.json", "--out", "out.json"], "binary.json"),
        (["train", "--out", "out.json", "--plot", "f/p.png"], "f/p.png"),
        (["verify", "--model", MODEL, "--port", NO_PORT], NO_PORT),
        (["verify", "--model", MODEL, "--port", NO_PORT, "--log", "keep.csv"], NO_PORT),
        (["verify", "--model", MODEL, "--log", "keep.csv"], "no board found"),
        (["verify", "--model", MODEL, "--port", NO_PORT, "--report", "keep.csv"], NO_PORT),
        (["record", "--port", NO_PORT, "--label", "solid", "--samples", "3", "--out",
          "keep.csv"], NO_PORT),
        # an old spelling with a bad value: still one line, the error
        (["build", "--board", "uno", "--lesson", "--out", "f"], "f"),
        (["generate", "--lesson", "--target", "cobol", "--out", "gen"], "--target"),
        (["report", "missing.json"], "missing.json"),
        # the lesson's network announced, then a port that is not there: refused first
        (["flash", "--board", "micropython", "--port", NO_PORT, "--build-dir", "b"], NO_PORT),
        (["show", "--png", "x.png", "edited.json"], "edited.json"),
        (["monitor", "--model", MODEL, "--port", NO_PORT], NO_PORT),
        # several boards, none of which could be checked: exit 2 and one line, not 1
        (["verify", "--model", MODEL, "--port", NO_PORT, "--port", NO_PORT + "2"], NO_PORT),
        (["monitor", "--model", MODEL, "--port", NO_PORT, "--port", NO_PORT + "2"], NO_PORT),
        (["calibrate", "--port", NO_PORT, "--yes"], NO_PORT),
    ]
    for argv, named in cases:
        yield " ".join(argv), argv, named
    long = "a" * 300  # longer than any file name the system can hold
    for argv in (["train", "--out"], ["train", "--out", "out.json", "--plot"],
                 ["show", "--lesson", "--png"],
                 ["generate", "--lesson", "--target", "c", "--out-dir"],
                 ["build", "--board", "uno", "--lesson", "--build-dir"],
                 ["sim", "--board", "uno", "--lesson", "--state-dir"],
                 ["demo", "--build-dir"],
                 ["verify", "--model", MODEL, "--port", NO_PORT, "--report"],
                 ["verify", "--model", MODEL, "--port", NO_PORT, "--log"],
                 ["verify", "--model", MODEL, "--port", NO_PORT, "--html"],
                 ["record", "--port", NO_PORT, "--label", "solid", "--samples", "3", "--out"],
                 ["report", "--from", "bench.json", "--html"],
                 ["bench", "--quick", "--out"]):
        yield f"{' '.join(argv)} <{len(long)} characters>", [*argv, long], "too long"


def _usage_cases() -> Iterator[tuple[str, list[str], str]]:
    cases = [
        ([], "COMMAND"), (["nope"], "nope"), (["--bogus"], "COMMAND"),
        (["train", "--bogus"], "--bogus"), (["train", "extra"], "extra"),
        (["show"], "--model"), (["show", "--model", MODEL, "--lesson"], "--lesson"),
        (["generate", "--lesson"], "--target"),
        (["generate", "--model", MODEL, "--lesson", "--target", "c"], "--lesson"),
        (["build", "--lesson"], "--board"), (["sim", "--lesson"], "--board"),
        (["verify", "--port", NO_PORT], "--model"),
        (["verify", "--model", MODEL, "--samples", "5", "--seconds", "1"], "--seconds"),
        (["record", "--port", NO_PORT, "--samples", "3"], "--label"),
        (["record", "--port", NO_PORT, "--label", "solid", "--samples", "3"], "--out"),
        (["monitor", "--port", NO_PORT], "--model"),
        (["bench", "--out", "x.json", "--from", "y.json"], "--from"),
        (["train", "--hidden"], "--hidden"), (["train", "--seed"], "--seed"),
        (["sim", "--board"], "--board"),
    ]
    for argv, named in cases:
        yield "usage " + " ".join(argv), argv, named


CASES = [*_option_cases(), *_model_cases(), *_path_cases(), *_usage_cases()]


def test_the_table_is_large_and_covers_every_subcommand() -> None:
    assert len(CASES) >= 300, len(CASES)
    assert len({case[0] for case in CASES}) == len(CASES), "duplicate case ids"
    commands = {argv[0] for _, argv, _ in CASES if argv}
    assert {"train", "show", "generate", "build", "flash", "sim", "verify", "monitor",
            "record", "calibrate", "demo", "bench", "report"} <= commands


@pytest.fixture()
def in_workspace(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The workspace as current directory; signal handlers restored after (sim sets them)."""
    monkeypatch.chdir(workspace)
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield workspace
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def run_main(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's usage errors
        return int(exc.code or 0)


@pytest.mark.parametrize(("argv", "named"), [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_bad_input_is_one_line_exit_2_and_nothing_changes(
    in_workspace: Path, capsys: pytest.CaptureFixture[str], argv: list[str], named: str
) -> None:
    before = snapshot(in_workspace)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = run_main(argv)
    _, err = capsys.readouterr()
    assert code == 2, (code, err)
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err and "\x1b" not in err
    assert named in err, (named, err)
    assert not caught, [str(w.message) for w in caught]
    assert snapshot(in_workspace) == before


# -- interrupts and pipes --------------------------------------------------------


def test_ctrl_c_while_the_subcommands_import_exits_130_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_import = builtins.__import__

    def interrupted_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("pixelnet.host"):
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", interrupted_import)
    assert main(["train", "--epochs", "1"]) == 130
    assert capsys.readouterr().err == "pixelnet: interrupted\n"


PIXELNET = Path(sys.executable).parent / "pixelnet"


def _started_importing(pid: int, library: str) -> bool:
    try:
        return library in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


@pytest.mark.parametrize("library", ["numpy", "sklearn"])
def test_ctrl_c_during_the_first_imports_of_a_real_run(tmp_path: Path, library: str) -> None:
    proc = subprocess.Popen([str(PIXELNET), "train", "--out", "m.json"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not _started_importing(proc.pid, library) and proc.poll() is None:
        assert time.monotonic() < deadline, f"{library} never loaded"
        time.sleep(0.002)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().endswith("interrupted"), err
    assert not (tmp_path / "m.json").exists()


def test_a_reader_that_goes_away_ends_the_run_quietly(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # as `| head` does once it has its lines
    try:
        result = subprocess.run([str(PIXELNET), "generate", "--lesson", "--target", "c",
                                 "--out-dir", "gen"], cwd=tmp_path, stdout=write_end,
                                stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert result.stderr == "" and result.returncode == 141, result.stderr
    assert (tmp_path / "gen" / "pixelnet_model.c").is_file()  # the work itself is kept


def test_monitor_exits_130_on_ctrl_c(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    from pixelnet.host import cli as host_cli

    def interrupted(*args: Any, **kwargs: Any) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(host_cli, "render", interrupted)
    model = save_model(lesson_model(), tmp_path / "m.json")
    arithmetic = EmulatorArithmetic(quantize(lesson_model(), "q7"))
    with FakeBoard(arithmetic, adc=(900, 60, 900, 60)) as board:
        code = main(["monitor", "--model", str(model), "--port", board.port])
    assert code == 130


def test_monitoring_several_boards_exits_130_on_ctrl_c(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pixelnet.host import cli as host_cli

    real_table = host_cli.format_live_table
    presses = iter([KeyboardInterrupt])

    def table_then_ctrl_c(*args: Any, **kwargs: Any) -> str:
        for press in presses:
            raise press
        return real_table(*args, **kwargs)

    monkeypatch.setattr(host_cli, "format_live_table", table_then_ctrl_c)
    model = save_model(lesson_model(), tmp_path / "m.json")
    arithmetic = EmulatorArithmetic(quantize(lesson_model(), "q7"))
    with (FakeBoard(arithmetic, adc=(900, 60, 900, 60)) as one,
          FakeBoard(arithmetic, adc=(60, 900, 60, 900)) as two):
        code = main(["monitor", "--model", str(model), "--port", one.port, "--port", two.port])
    assert code == 130


# -- as an unprivileged user -------------------------------------------------------


def _unprivileged_python() -> list[str]:
    """A Python without the privileges to ignore file permissions, as a command prefix.

    Tests run as root, to whom a read-only folder is writable: the permission cases drop
    to `nobody`, running the venv's Python or, where `nobody` cannot reach it (a pyenv
    under /root), the system Python of the same version with our packages. Where neither
    is reachable (a checkout in a private folder), root itself runs without any
    capability: then the permission bits bind it as they bind any user.
    """
    site = sysconfig.get_paths()["purelib"]
    boot = f"import site; site.addsitedir({site!r}); import sys; from pixelnet.cli import main"
    nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    no_capabilities = ["setpriv", "--inh-caps=-all", "--bounding-set=-all"]
    system_python = f"/usr/bin/python{sys.version_info[0]}.{sys.version_info[1]}"
    for drop, python in ((nobody, sys.executable), (nobody, system_python),
                         (no_capabilities, sys.executable)):
        probe = subprocess.run([*drop, python, "-I", "-c", boot], capture_output=True,
                               cwd="/", timeout=120)
        if probe.returncode == 0:
            return [*drop, python, "-I", "-c", boot + "; sys.exit(main(sys.argv[1:]))"]
    raise AssertionError(
        "no unprivileged way to run pixelnet: needs setpriv, and the user nobody able to run "
        f"{sys.executable} or the system Python, or root without capabilities")


PERMISSION_CASES = [
    (["train", "--out", "ro/m.json", "--epochs", "1"], "ro/m.json"),
    (["show", "--lesson", "--png", "ro/x.png"], "ro/x.png"),
    (["generate", "--lesson", "--target", "c", "--out-dir", "ro/gen"], "ro/gen"),
    (["generate", "--lesson", "--target", "c", "--out-dir", "ro"], "ro"),
    (["build", "--board", "micropython", "--lesson", "--build-dir", "ro"], "ro/micropython"),
    (["sim", "--board", "uno", "--lesson", "--state-dir", "ro/state", "--build-dir", "w"],
     "ro/state"),
    (["demo", "--build-dir", "ro/demo"], "ro/demo"),
    (["verify", "--model", "m.json", "--port", NO_PORT, "--report", "ro/r.json"], "ro/r.json"),
    (["verify", "--model", "m.json", "--port", NO_PORT, "--log", "ro/l.csv"], "ro/l.csv"),
    (["record", "--port", NO_PORT, "--label", "solid", "--samples", "3", "--out", "ro/r.csv"],
     "ro/r.csv"),
    (["show", "--model", "secret.json"], "secret.json"),
]


@pytest.fixture(scope="module")
def shared_workspace() -> Iterator[Path]:
    """A folder `nobody` can enter, holding a read-only folder and an unreadable model."""
    root = Path(tempfile.mkdtemp(prefix="pixelnet-perm-"))
    try:
        root.chmod(0o755)
        save_model(lesson_model(), root / "m.json")
        save_model(lesson_model(), root / "secret.json")
        (root / "secret.json").chmod(0o600)
        os.chown(root / "secret.json", 1, 1)  # neither nobody's nor root's: unreadable to both
        (root / "ro").mkdir()
        (root / "ro" / "keep.txt").write_text("keep\n")
        (root / "ro").chmod(0o555)
        (root / "w").mkdir(mode=0o777)
        (root / "w").chmod(0o777)
        yield root
    finally:
        subprocess.run(["rm", "-rf", str(root)], check=False)


@pytest.fixture(scope="module")
def as_nobody() -> list[str]:
    return _unprivileged_python()


@pytest.mark.parametrize(("argv", "named"), PERMISSION_CASES,
                         ids=[" ".join(argv[:1] + argv[-2:]) for argv, _ in PERMISSION_CASES])
def test_unwritable_outputs_as_an_unprivileged_user(
    shared_workspace: Path, as_nobody: list[str], argv: list[str], named: str
) -> None:
    before = snapshot(shared_workspace)
    result = subprocess.run([*as_nobody, *argv], cwd=shared_workspace, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert named in result.stderr
    assert snapshot(shared_workspace) == before


# -- the same checks in the library ------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hidden": (100_000,), "activations": ("tanh",)}, "hidden layer sizes must be 1..16"),
        ({"hidden": (4,) * 8, "activations": ("tanh",) * 8}, "at most 7 hidden layers"),
        ({"momentum": float("nan")}, "momentum"),
        ({"learning_rate": float("inf")}, "learning rate"),
        ({"seed": -1}, "seed"),
        ({"l2": float("inf")}, "penalties"),
    ],
)
def test_impossible_hyperparameters_are_refused_before_training(change: dict,
                                                                 message: str) -> None:
    from pixelnet.trainer.training import TrainConfig, TrainingError

    with pytest.raises(TrainingError, match=message):
        TrainConfig(**change)


def test_a_diverging_fit_stops_at_once_with_one_clear_error() -> None:
    import numpy as np

    from pixelnet.trainer.patterns import clean_patterns
    from pixelnet.trainer.training import TrainConfig, TrainingError, fit

    x, y = clean_patterns()
    config = TrainConfig(learning_rate=100.0, optimizer="sgd", loss="squared", epochs=50,
                         patience=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings on the way
        with pytest.raises(TrainingError, match="diverged at epoch 1"):
            fit(x, np.eye(4)[y], config)


@pytest.mark.parametrize("prefix", ["PN", "pn", "pn_x", "Pn_Model"])
def test_the_firmware_refuses_a_prefix_that_collides_with_its_own_names(
    tmp_path: Path, prefix: str
) -> None:
    from pixelnet.errors import PixelnetError
    from pixelnet.firmware.build import build_uno

    with pytest.raises(PixelnetError, match="collides with the firmware's own PN_ names"):
        build_uno(None, "q7", tmp_path / "b", prefix=prefix)
    assert not (tmp_path / "b").exists()


# -- a log or report of an earlier run is kept until a board has answered ------------


@pytest.mark.parametrize("extra", [["--format", "q15"], []], ids=["wrong format", "wrong model"])
def test_a_board_refused_at_the_handshake_leaves_an_earlier_log_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    edited = _valid_doc()
    edited["layers"][0]["weights"][0][0] += 0.5
    other = tmp_path / "other.json"
    other.write_text(_rehashed(edited))
    model = str(tmp_path / MODEL) if extra else str(other)
    save_model(lesson_model(), tmp_path / MODEL)
    log, report = tmp_path / "keep.csv", tmp_path / "keep.json"
    log.write_text("an earlier run's log\n")
    report.write_text("an earlier run's report\n")
    arithmetic = EmulatorArithmetic(quantize(lesson_model(), "q7"))
    with FakeBoard(arithmetic, adc=(900, 60, 900, 60)) as board:
        code = main(["verify", "--model", model, "--port", board.port, "--log", str(log),
                     "--report", str(report), *extra])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert log.read_text() == "an earlier run's log\n"
    assert report.read_text() == "an earlier run's report\n"


# -- the installed command ----------------------------------------------------------


def _entry_point() -> tuple[str, str]:
    import tomllib

    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    target = tomllib.loads(pyproject.read_text())["project"]["scripts"]["pixelnet"]
    module, _, function = target.partition(":")
    return module, function


def test_the_installed_command_imports_nothing_before_it_can_hear_ctrl_c() -> None:
    module, _ = _entry_point()
    probe = (f"import sys, {module}; print(sorted(m for m in sys.modules "
             "if m == 'pixelnet' or m.startswith('pixelnet.')))")
    loaded = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True,
                            timeout=120, check=True).stdout.strip()
    assert loaded == repr(sorted({"pixelnet", module})), loaded


def test_ctrl_c_while_the_installed_command_imports_the_cli_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib

    module, function = _entry_point()
    entry = getattr(importlib.import_module(module), function)
    real_import = builtins.__import__

    def interrupted_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pixelnet.cli" or name.startswith("argparse"):
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(sys, "argv", ["pixelnet", "boards"])
    monkeypatch.delitem(sys.modules, "pixelnet.cli", raising=False)
    monkeypatch.setattr(builtins, "__import__", interrupted_import)
    assert entry() == 130
    assert capsys.readouterr().err == "pixelnet: interrupted\n"
