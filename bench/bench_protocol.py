"""Protocol version 2 and many boards at once, measured on virtual Unos.

The numbers behind the "protocol" rows: what an idle connected virtual Uno costs
in CPU, how fast the live stream and injected vectors verify at 115,200 baud
(protocol 1, the compatibility row) and on the negotiated fast line with compact
frames and batched INFER (protocol 2), and the aggregate rate of 1, 2, 4 and 8
virtual Unos verified together from one host process.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def cpu_share(pid: int, seconds: float) -> float:
    """Fraction of one core a process used over ``seconds`` of wall time."""
    start_cpu, start = process_cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (process_cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)
