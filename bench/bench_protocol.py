"""Protocol version 2 and many boards at once, measured on virtual Unos.

The numbers behind the "protocol" rows:

* what an idle virtual Uno with a host connected costs in CPU, with the
  harness's idle sleep and without it (``--no-idle-sleep``, the old behaviour),
  side by side, from /proc/PID/stat;
* live verified samples/s and injected vectors/s, in simulated time (simavr
  cycles) and in wall time, for protocol 1 at 115,200 baud (the compatibility
  row) and for protocol 2 at 1,000,000 baud with compact frames and batched
  INFER, on the Arduino-core build and on the build without the core;
* the aggregate verified samples/s of 1, 2, 4 and 8 virtual Unos verified
  together from this one process, and this process's CPU per board.

Wall-clock figures depend on the machine and its load (the header says which);
simulated-time figures do not.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from pixelnet.firmware.build import build_uno
from pixelnet.firmware.virtual import VirtualUno
from pixelnet.host.client import BoardClient
from pixelnet.host.compare import Reference
from pixelnet.host.lab import FAST_BAUD, VerifyPlan, link_faults, verify_ports
from pixelnet.host.vectors import random_vectors
from pixelnet.host.verify import Verifier
from pixelnet.trainer.lesson import lesson_model

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
F_CPU = 16_000_000
LAB_SIZES = (1, 2, 4, 8)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def cpu_share(pid: int, seconds: float) -> float:
    """Fraction of one core a process used over ``seconds`` of wall time."""
    start_cpu, start = process_cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (process_cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)


def measure_idle(elf: Path, work: Path, idle_sleep: bool, seconds: float) -> float:
    """CPU share of a virtual Uno that a host holds open and asks nothing of."""
    with VirtualUno(elf, work / f"idle-{idle_sleep}", build_dir=work,
                    idle_sleep=idle_sleep) as board, BoardClient.open(board.port) as client:
        client.info()
        assert board.pid is not None
        return cpu_share(board.pid, seconds)


def _clocks(board: VirtualUno) -> tuple[float, float]:
    return board.cycle_stats().cycles / F_CPU, time.monotonic()


def measure_line(elf: Path, work: Path, protocol: int, samples: int, vectors: int) -> dict:
    """Live and injected rates of one board, in simulated and in wall time."""
    ref = Reference.from_model(lesson_model(), "q7")
    with VirtualUno(elf, work / f"line-{protocol}-{elf.stem}", scene="vertical_left",
                    build_dir=work) as board, BoardClient.open(board.port) as client:
        client.info()
        if protocol >= 2:
            client.upgrade(FAST_BAUD)
        verifier = Verifier(ref)
        verifier.verify_stream(client, n=50)  # warm-up
        sim0, wall0 = _clocks(board)
        verifier.verify_stream(client, n=samples)
        sim1, wall1 = _clocks(board)
        verifier.verify_vectors(client, *random_vectors(vectors))
        sim2, wall2 = _clocks(board)
        link = client.stats.to_dict()
        line = {"baud": client.baudrate, "protocol": client.protocol}
    return {
        "line": line,
        "samples": samples,
        "vectors": vectors,
        "live_per_s_simulated": round(samples / (sim1 - sim0), 1),
        "live_per_s_wall": round(samples / (wall1 - wall0), 1),
        "vectors_per_s_simulated": round(vectors / (sim2 - sim1), 1),
        "vectors_per_s_wall": round(vectors / (wall2 - wall1), 1),
        "mismatches": verifier.metrics.mismatches,
        "link_faults": link_faults(link),
        "link": link,
    }


def measure_lab(elf: Path, work: Path, boards: int, seconds: float) -> dict:
    """N virtual Unos verified together for ``seconds``: aggregate rate and host CPU."""
    plan = VerifyPlan(lesson_model(), seconds=seconds, fmt="q7")
    with _boards(elf, work / f"lab-{boards}", boards) as ports:
        cpu0, wall0 = time.process_time(), time.monotonic()
        outcomes = verify_ports(ports, plan)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    reports = [o.report for o in outcomes if o.report is not None]
    samples = sum(r["samples"] for r in reports)
    return {
        "boards": boards,
        "verified": len(reports),
        "samples": samples,
        "seconds": round(wall, 2),
        "samples_per_s": round(samples / wall, 1),
        "host_cpu_per_board": round(cpu / wall / boards, 3),
        "mismatches": sum(r["bit_exact_mismatches"] for r in reports),
        "link_faults": sum(link_faults(r["link"]) for r in reports),
        "passed": all(o.passed for o in outcomes),
    }


class _boards:
    """``boards`` virtual Unos for the length of a ``with``; yields their ports."""

    def __init__(self, elf: Path, state: Path, boards: int) -> None:
        self.running = [VirtualUno(elf, state / f"uno-{i}", scene="vertical_left",
                                   build_dir=state.parent) for i in range(boards)]

    def __enter__(self) -> list[str]:
        return [board.port for board in self.running]

    def __exit__(self, *exc: object) -> None:
        for board in self.running:
            board.close()


def run(quick: bool = False) -> dict[str, Any]:
    """Every measurement above; ``quick`` for a smoke run (fewer samples, shorter)."""
    idle_s, samples, vectors, lab_s = (1.0, 600, 300, 1.0) if quick else (5.0, 1500, 3000, 6.0)
    with tempfile.TemporaryDirectory(prefix="pixelnet-bench-protocol-") as tmp:
        work = Path(tmp)
        core = build_uno(lesson_model(), "q7", work / "uno").elf
        bare = build_uno(lesson_model(), "q7", work / "uno", core=False).elf
        return {
            "model": "lesson (4-4-4-8-4), q7",
            "idle_cpu": {"idle_sleep": measure_idle(core, work, True, idle_s),
                         "flat_out": measure_idle(core, work, False, idle_s)},
            "protocol1_115200": measure_line(core, work, 1, samples // 3, vectors // 5),
            "protocol2_core": measure_line(core, work, 2, samples, vectors),
            "protocol2_bare": measure_line(bare, work, 2, samples, vectors),
            "lab": [measure_lab(core, work, n, lab_s) for n in LAB_SIZES],
            "cores": os.cpu_count(),
        }


if __name__ == "__main__":
    print(json.dumps(run(quick=True), indent=1))
