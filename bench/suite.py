"""Runs the per-area benchmark modules and gathers their numbers into one results document.

Each area module exposes ``run(quick: bool) -> dict``; one module can feed
several sections of the table (``bench_codegen`` measures inference, fidelity
and MicroPython in one go), so it runs once for all of them. A section that
fails is recorded with its message and the others still run: a few minutes of
measurements are never thrown away because one area broke, and the results so
far are handed to ``on_update`` after every module (the command line writes
them to the JSON file as they come).
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TextIO

from pixelnet.bench import rows
from pixelnet.bench.machine import machine_header
from pixelnet.errors import PixelnetError

MODULES = {
    "train": "pixelnet.bench.bench_train",
    "codegen": "pixelnet.bench.bench_codegen",
    "firmware": "pixelnet.bench.bench_firmware",
    "host": "pixelnet.bench.bench_host",
    "cortex": "pixelnet.bench.bench_cortex",
    "protocol": "pixelnet.bench.bench_protocol",
}
SECTION_MODULE = {
    "train": "train",
    "inference": "codegen",
    "fidelity": "codegen",
    "firmware": "firmware",
    "serial": "host",
    "micropython": "codegen",
    "cortex": "cortex",
    "protocol": "protocol",
}
TICK_SECONDS = 1.0


def _serial_rows(raw: dict[str, Any]) -> list[rows.Row]:
    from pixelnet.bench.bench_firmware import adc_limit

    return rows.serial_rows(raw, adc_limit())


def _protocol_rows(raw: dict[str, Any]) -> list[rows.Row]:
    from pixelnet.bench.bench_firmware import adc_limit, line_limit, sample_frame_bytes

    return rows.protocol_rows(raw, adc_limit(), line_limit(sample_frame_bytes()))


SECTION_ROWS: dict[str, Callable[[dict[str, Any]], list[rows.Row]]] = {
    "train": rows.train_rows,
    "inference": rows.inference_rows,
    "fidelity": rows.fidelity_rows,
    "firmware": rows.firmware_rows,
    "serial": _serial_rows,
    "micropython": rows.micropython_rows,
    "cortex": rows.cortex_rows,
    "protocol": _protocol_rows,
}


class Progress:
    """Which module is running and for how long, on stderr; a ticking clock on a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.live = self.stream.isatty()

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def _tick(self, label: str, start: float, stop: threading.Event) -> None:
        while not stop.wait(TICK_SECONDS):
            self._write(f"\r\x1b[K{label} … {time.monotonic() - start:.0f} s")

    @contextlib.contextmanager
    def step(self, label: str) -> Iterator[None]:
        start = time.monotonic()
        self._write(f"{label} …" + ("" if self.live else "\n"))
        stop = threading.Event()
        ticker = threading.Thread(target=self._tick, args=(label, start, stop), daemon=True)
        if self.live:
            ticker.start()
        try:
            yield
        finally:
            stop.set()
            if self.live:
                ticker.join()
            end = "\r\x1b[K" if self.live else ""
            self._write(f"{end}{label}: {time.monotonic() - start:.1f} s\n")


def modules_for(sections: Sequence[str]) -> list[str]:
    """The area modules the sections need, each once, in table order."""
    return list(dict.fromkeys(SECTION_MODULE[s] for s in rows.SECTIONS if s in sections))


def run_module(name: str, quick: bool) -> dict[str, Any]:
    """One area module's raw results; a missing peer package becomes a PixelnetError."""
    try:
        module = importlib.import_module(MODULES[name])
        return module.run(quick=quick)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("pixelnet"):
            raise
        raise PixelnetError(f"{exc.name} is not installed (pip install 'pixelnet[bench]')") from exc


def table_rows(sections: Sequence[str], raw: dict[str, Any],
               errors: dict[str, str]) -> list[dict[str, Any]]:
    """Rows of every section whose module ran; a result the adapter cannot read is an error."""
    out: list[dict[str, Any]] = []
    for section in (s for s in rows.SECTIONS if s in sections):
        source = SECTION_MODULE[section]
        if source not in raw:
            continue
        try:
            out += [row.to_dict() for row in SECTION_ROWS[section](raw[source])]
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            errors[section] = (f"cannot read {MODULES[source]}'s result ({exc!r}): "
                               "the table's adapter in pixelnet.bench.rows needs updating")
    return out


def run_suite(
    sections: Sequence[str],
    quick: bool,
    command: str,
    progress: Progress | None = None,
    on_update: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run what the sections need and return the results document (see ``assemble``)."""
    progress = progress or Progress()
    header = machine_header(command)
    raw: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    errors: dict[str, str] = {}
    names = modules_for(sections)
    for i, name in enumerate(names, 1):
        covered = ", ".join(s for s in rows.SECTIONS if s in sections and SECTION_MODULE[s] == name)
        start = time.monotonic()
        with progress.step(f"bench [{i}/{len(names)}] {covered}"):
            try:
                raw[name] = run_module(name, quick)
            except PixelnetError as exc:
                errors[name] = str(exc)
            except Exception as exc:  # a bug in one area must not lose the others' numbers
                traceback.print_exc()
                errors[name] = f"{type(exc).__name__}: {exc}"
        seconds[name] = round(time.monotonic() - start, 2)
        if on_update is not None:
            on_update(assemble(header, sections, quick, raw, seconds, errors))
    return assemble(header, sections, quick, raw, seconds, errors)


def assemble(header: dict[str, Any], sections: Sequence[str], quick: bool, raw: dict[str, Any],
             seconds: dict[str, float], errors: dict[str, str]) -> dict[str, Any]:
    """The results document: header, table rows, each module's raw numbers and run time."""
    errors = dict(errors)
    return {
        "header": header,
        "quick": quick,
        "sections": [s for s in rows.SECTIONS if s in sections],
        "rows": table_rows(sections, raw, errors),
        "raw": dict(raw),
        "seconds": dict(seconds),
        "errors": errors,
    }
