"""``pixelnet demo``: the whole loop in one command, with no hardware needed.

Train the default network, generate and build the firmware, start a virtual
board (or flash a real one), calibrate it on the black and white scenes,
verify the live stream on all eight clean scenes and on noisy ones, inject
ten thousand test vectors, print the report and clean up. Every sample is
compared bit for bit with the integer emulator; the demo fails if any differs
or if a clean scene is classified wrong.

``run_lab_demo`` is the many-boards demo: N virtual Unos running the same
firmware, verified together from this one process (``pixelnet demo --boards N``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pixelnet.errors import PixelnetError
from pixelnet.files import make_dirs
from pixelnet.progress import Progress, ticking
from pixelnet.trainer.model_file import Model, save_model
from pixelnet.trainer.patterns import CLASSES, SCENES, scene_class

from .client import BoardClient
from .compare import Reference
from .connect import check_handshake, connect
from .lab import BoardOutcome, VerifyPlan, format_lab_table, verify_ports
from .messages import CalOp
from .report import write_html, write_json
from .samplelog import SampleLog
from .vectors import random_vectors
from .verify import Verifier

DEMO_FORMAT = "q7"
LIVE_PER_SCENE = 150  # x 8 clean scenes: 1,200 live samples
NOISE_LEVELS = (0.02, 0.05)  # photodiode noise, fraction of full scale
NOISY_PER_SCENE = 40
INJECTED_VECTORS = 10_000
UNLABELLED_LIVE = 1_000  # live samples on a real board, whose scene we cannot set
LAB_SCENE = "vertical_left"  # what every board of the many-boards demo looks at
LAB_LIVE = 1_000  # live samples per board
LAB_VECTORS = 2_000  # injected vectors per board


@dataclass(frozen=True)
class DemoResult:
    report: dict[str, Any]
    report_path: Path
    html_path: Path
    log_path: Path


def run_demo(
    board: str, port: str | None, build_dir: Path, say: Callable[[str], None] = print
) -> DemoResult:
    """Run the demo (see the module docstring); ``board`` is "uno", "micropython" or "cortex-m3"."""
    build_dir = make_dirs(build_dir, "build directory")
    progress = Progress("      samples verified so far")  # live and injected, the whole run
    say = _clearing(progress, say)
    say("[1/5] training the four-pixel network")
    model = _train()
    model_path = save_model(model, build_dir / "model.json")
    say(f"      model {model.short_hash} -> {model_path}")
    say(f"      {_training_line(model)}")
    say(f"      network drawn as in the lesson -> {_draw(model, build_dir / 'net.png')}")
    say(f"[2/5] generating {DEMO_FORMAT} code and building the {board} firmware")
    with ticking(f"      building the {board} firmware"):
        firmware = _build(board, model, build_dir)
    with contextlib.ExitStack() as stack:
        if port is None:
            say(f"[3/5] starting the virtual {board}")
            virtual = stack.enter_context(_start_virtual(board, firmware, build_dir))
            port = virtual.port
        else:
            say(f"[3/5] flashing the board on {port}")
            _flash(board, firmware, port)
            virtual = None
        client = stack.enter_context(connect(port))
        info = client.last_info
        assert info is not None
        check_handshake(info, model.short_hash, DEMO_FORMAT, where=f"the board on {port}")
        say(f"      connected: {info.board}, firmware {'.'.join(map(str, info.firmware))}")
        log_path = build_dir / "demo-log.csv"
        log = stack.enter_context(contextlib.closing(SampleLog(log_path, model.classes)))
        verifier = Verifier(Reference.from_model(model, DEMO_FORMAT), log, on_batch=lambda v:
                            progress.update(v.metrics.samples,
                                            f"{v.metrics.mismatches} mismatches"))
        say("[4/5] verifying the live stream")
        if virtual is not None:
            _calibrate_on_scenes(client, virtual, say)
            _live_scenes(client, virtual, verifier, say)
        else:
            verifier.verify_stream(client, n=UNLABELLED_LIVE, label="live")
        say(f"[5/5] injecting {INJECTED_VECTORS:,} test vectors")
        x, truth = random_vectors(INJECTED_VECTORS)
        phase = verifier.verify_vectors(client, x, truth, label="random vectors")
        say(f"      {_phase_line(phase)}")
        report = verifier.report(client.info(), client.stats.to_dict())
    progress.close()
    _require_clean_scenes(report)
    report_path = write_json(report, build_dir / "demo-report.json")
    html_path = write_html(report, build_dir / "demo-report.html")
    return DemoResult(report, report_path, html_path, log_path)


def _train() -> Model:
    from pixelnet.trainer.train import train_default

    return train_default()


def _training_line(model: Model) -> str:
    evaluation = model.training.get("evaluation", {})
    return (
        f"accuracy: clean patterns {evaluation.get('clean_accuracy', float('nan')):.0%}, "
        f"noisy held-out {evaluation.get('noisy_accuracy', float('nan')):.1%} "
        f"({evaluation.get('noisy_samples', 0):,} samples)"
    )


def _draw(model: Model, path: Path) -> Path:
    from pixelnet.trainer.show import draw_network, save_png

    return save_png(draw_network(model), path)


def _clearing(progress: Progress, say: Callable[[str], None]) -> Callable[[str], None]:
    """``say`` that first clears the progress line, so the two never share a line."""

    def clear_then_say(line: str) -> None:
        progress.close()
        say(line)

    return clear_then_say


def _build(board: str, model: Model, build_dir: Path) -> Path:
    if board == "cortex-m3":
        from pixelnet.firmware.build_cortex import build_cortex

        return build_cortex(model, DEMO_FORMAT, build_dir / board).elf
    if board == "uno":
        from pixelnet.firmware.build import build_uno

        return build_uno(model, DEMO_FORMAT, build_dir / "uno").elf
    from pixelnet.firmware.virtual_micropython import prepare_micropython_files

    return prepare_micropython_files(model, DEMO_FORMAT, build_dir / "micropython")


def _start_virtual(board: str, firmware: Path, build_dir: Path) -> Any:
    from pixelnet.firmware.virtual import start_virtual_board

    state = build_dir / f"{board}-state"
    make_dirs(state, "state directory")
    return start_virtual_board(board, firmware=firmware, state_dir=state, build_dir=build_dir)


def _flash(board: str, firmware: Path, port: str) -> None:
    if board == "cortex-m3":
        raise PixelnetError("cortex-m3 is a virtual board: run the demo without --port")
    if board == "uno":
        from pixelnet.firmware.flash import flash_uno

        flash_uno(firmware.with_suffix(".hex"), port)
    else:
        from pixelnet.firmware.flash_micropython import flash_micropython

        flash_micropython(firmware, port)


def _calibrate_on_scenes(client: BoardClient, virtual: Any, say: Callable[[str], None]) -> None:
    """What a user does by hand: cover the sensor (dark), then light it (bright)."""
    virtual.set_scene("solid_black", noise=0.0)
    client.calibrate(CalOp.DARK)
    virtual.set_scene("solid_white")
    cal = client.calibrate(CalOp.BRIGHT)
    say(f"      calibrated: dark {list(cal.dark)}, bright {list(cal.bright)}")


def _live_scenes(
    client: BoardClient, virtual: Any, verifier: Verifier, say: Callable[[str], None]
) -> None:
    runs = [(scene, 0.0, LIVE_PER_SCENE) for scene in SCENES]
    runs += [(scene, noise, NOISY_PER_SCENE) for noise in NOISE_LEVELS for scene in SCENES]
    for scene, noise, n in runs:
        virtual.set_scene(scene, noise=noise)
        label = scene if noise == 0 else f"{scene} ~{noise:g}"
        truth = CLASSES.index(scene_class(scene))
        phase = verifier.verify_stream(client, n=n, truth=truth, label=label)
        say(f"      {_phase_line(phase)}")
    virtual.set_scene(noise=0.0)


def _phase_line(phase: Any) -> str:
    right = f", {phase.correct}/{phase.labelled} right" if phase.labelled else ""
    return f"{phase.label:<24} {phase.samples:>6,} samples{right}, {phase.mismatches} mismatches"


def _require_clean_scenes(report: dict[str, Any]) -> None:
    """The demo's promise: every sample of every clean scene is classified right."""
    wrong = [
        p["label"]
        for p in report["phases"]
        if p["label"] in SCENES and (not p["labelled"] or p["correct"] != p["labelled"])
    ]
    if wrong:
        report["failures"].append(f"clean scenes misclassified: {', '.join(wrong)}")
        report["passed"] = False


@dataclass(frozen=True)
class LabResult:
    outcomes: list[BoardOutcome]
    table: str
    report_paths: list[Path]

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes)


def run_lab_demo(boards: int, build_dir: Path, say: Callable[[str], None] = print) -> LabResult:
    """Train, build, start ``boards`` virtual Unos and verify them all at once."""
    import time

    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    say("[1/4] training the four-pixel network")
    model = _train()
    save_model(model, build_dir / "model.json")
    say(f"[2/4] generating {DEMO_FORMAT} code and building the Uno firmware")
    firmware = _build("uno", model, build_dir)
    with contextlib.ExitStack() as stack:
        say(f"[3/4] starting {boards} virtual Unos, each looking at {LAB_SCENE}")
        ports = [stack.enter_context(_start_virtual_uno(firmware, build_dir / f"uno-{i + 1}"))
                 .port for i in range(boards)]
        say(f"[4/4] verifying {LAB_LIVE:,} live samples and {LAB_VECTORS:,} injected vectors "
            "on every board at once")
        plan = VerifyPlan(model, live=LAB_LIVE, vectors=random_vectors(LAB_VECTORS),
                          truth=CLASSES.index(scene_class(LAB_SCENE)), fmt=DEMO_FORMAT)
        started = time.monotonic()
        outcomes = verify_ports(ports, plan)
        table = format_lab_table(outcomes, time.monotonic() - started)
    paths = [write_json(o.report, build_dir / f"board{i + 1}-report.json")
             for i, o in enumerate(outcomes) if o.report is not None]
    return LabResult(outcomes, table, paths)


def _start_virtual_uno(firmware: Path, state: Path) -> Any:
    from pixelnet.firmware.virtual import start_virtual_board

    state.mkdir(parents=True, exist_ok=True)
    return start_virtual_board("uno", firmware=firmware, state_dir=state, scene=LAB_SCENE,
                               build_dir=state.parent)
