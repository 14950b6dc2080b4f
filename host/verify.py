"""Verify a board sample by sample: live stream and injected vectors, against both references.

``Verifier`` pulls samples through a ``BoardClient`` in batches, hands each
batch to the pure comparison (``compare.check_batch``), accumulates the
metrics, logs every sample, and asks the board for its per-layer trace of the
first few mismatches to name the layer where board and emulator part ways.
``report()`` is the JSON report; ``report.format_summary`` prints it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np

from pixelnet import __version__
from pixelnet.codegen.emulator import infer_trace, quantize_inputs
from pixelnet.errors import PixelnetError

from .client import BoardClient
from .compare import STAGES, Checked, Reference, SampleArrays, check_batch, first_diverging_layer
from .connect import FORMAT_NAMES
from .evidence import Evidence
from .interrupts import interrupts_held
from .messages import STREAM_MAX_RATE, Info, Sample
from .metrics import Metrics
from .samplelog import SampleLog
from .vectors import UNKNOWN

STREAM_BATCH = 64  # live samples compared and logged together
VECTOR_CHUNK = 256  # injected vectors per infer_many call (progress granularity)
MAX_TRACED = 5  # mismatches traced layer by layer on the board
MAX_LISTED = 20  # mismatches listed in the report
# A CRC-16 passes about 1 in 65,536 damaged frames: a run drops at most this many
# mismatches as such frames, plus one per 4,096 damaged frames (16 times the chance).
CRC_ESCAPES_ALWAYS_ALLOWED = 2
DAMAGED_FRAMES_PER_ESCAPE = 4096
MAX_CONFIRMED = 5  # mismatches asked again; past these the board is known to be wrong


@dataclass
class Phase:
    """One stretch of samples with one meaning (a scene, a vector set)."""

    label: str
    source: str  # "live" or "injected"
    truth: int  # class index, or UNKNOWN
    samples: int = 0
    labelled: int = 0
    correct: int = 0
    mismatches: int = 0

    def to_dict(self, classes: tuple[str, ...]) -> dict[str, Any]:
        return {
            "label": self.label,
            "source": self.source,
            "truth": classes[self.truth] if self.truth >= 0 else None,
            "samples": self.samples,
            "labelled": self.labelled,
            "correct": self.correct if self.labelled else None,
            "bit_exact_mismatches": self.mismatches,
        }


class Verifier:
    """Accumulates everything ``pixelnet verify`` reports; see the module docstring."""

    def __init__(
        self,
        ref: Reference,
        log: SampleLog | None = None,
        on_batch: Callable[[Verifier], None] | None = None,
    ) -> None:
        self.ref = ref
        self.log = log
        self.on_batch = on_batch
        self.metrics = Metrics(ref.qm.n_outputs, len(ref.model.classes))
        self.evidence = Evidence(tuple(ref.model.classes), ref.lsb)
        self.mismatch_examples: list[dict[str, Any]] = []
        self.phases: list[Phase] = []
        self.started = time.monotonic()
        self.last_checked: Checked | None = None
        self.confirmed = 0  # mismatches the board repeated when asked again

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    # -- acquisition ---------------------------------------------------------

    def verify_stream(
        self,
        client: BoardClient,
        n: int | None = None,
        seconds: float | None = None,
        truth: int = UNKNOWN,
        label: str = "live",
    ) -> Phase:
        """Compare ``n`` stream samples (or for ``seconds``); the stream is stopped after."""
        if n is None and seconds is None:
            raise ValueError("give a sample count or a duration")
        phase = self._phase(label, "live", truth)
        deadline = None if seconds is None else time.monotonic() + seconds
        client.stream(STREAM_MAX_RATE)
        batch: list[tuple[int, Sample]] = []
        try:
            for item in client.samples():
                batch.append(item)
                done = n is not None and phase.samples + len(batch) >= n
                late = deadline is not None and time.monotonic() >= deadline
                if len(batch) >= STREAM_BATCH or done or late:
                    self._live_batch(client, phase, batch)  # empties it as it counts it
                if done or late:
                    break
        except BaseException:
            if batch:  # compare what arrived before an error, then let the error through
                self._live_batch(client, phase, batch)
            with contextlib.suppress(PixelnetError):  # the error that stopped us says more
                client.stream(0)
            raise
        client.stream(0)
        return phase

    def verify_vectors(
        self, client: BoardClient, x: np.ndarray, truth: np.ndarray, label: str = "vectors"
    ) -> Phase:
        """Inject float inputs [N, 4] (quantised to the board's format) and compare the results."""
        phase = self._phase(label, "injected", UNKNOWN)
        x_int = quantize_inputs(self.ref.qm, np.asarray(x, dtype=np.float64))
        truth = np.asarray(truth, dtype=np.int64)
        for start in range(0, len(x_int), VECTOR_CHUNK):
            sent = x_int[start : start + VECTOR_CHUNK]
            results = client.infer_many(sent.tolist())
            checked = check_batch(self.ref, SampleArrays.from_samples(results), sent_x=sent)
            damaged = self._line_damage(client, results, checked,
                                        lambda i, sent=sent: client.infer(sent[i].tolist()))
            if damaged:  # the board's repeated answers stand in for the damaged frames
                for i, again in damaged.items():
                    results[i] = again
                checked = check_batch(self.ref, SampleArrays.from_samples(results), sent_x=sent)
            self._add(client, phase, checked, [None] * len(sent), truth[start : start + len(sent)])
        return phase

    def _phase(self, label: str, source: str, truth: int) -> Phase:
        phase = Phase(label, source, truth)
        self.phases.append(phase)
        return phase

    def _live_batch(
        self, client: BoardClient, phase: Phase, batch: list[tuple[int, Sample]]
    ) -> None:
        """Compare and count ``batch``, emptying it in the same uninterrupted step as the
        counting (``_add``): the stream's error path hands over what is left, never a batch
        twice. Asking the board again (I/O) stays outside that step: Ctrl-C is not held up."""
        assert client.last_info is not None
        calibration = client.last_info.calibration
        samples = [s for _, s in batch]
        checked = check_batch(self.ref, SampleArrays.from_samples(samples),
                              calibration=calibration)
        damaged = self._line_damage(client, samples, checked,
                                    lambda i: client.infer_raw(samples[i].adc))
        kept = batch
        if damaged:  # a live reading cannot be asked for again: the damaged ones are dropped
            kept = [item for i, item in enumerate(batch) if i not in damaged]
            if kept:
                checked = check_batch(self.ref, SampleArrays.from_samples([s for _, s in kept]),
                                      calibration=calibration)
        if kept:
            truth = np.full(len(kept), phase.truth, dtype=np.int64)
            self._add(client, phase, checked, [seq for seq, _ in kept], truth, emptied=batch)
        batch.clear()

    def _line_damage(
        self, client: BoardClient, samples: list[Sample], checked: Checked,
        ask_again: Callable[[int], Sample],
    ) -> dict[int, Sample]:
        """The mismatching samples that were frames changed by the line, each with the
        board's answer when asked again; empty on a line that has damaged no frame.

        A CRC-16 lets about 1 in 65,536 damaged frames through. On a line that damages
        frames, a mismatch is asked of the board again (``ask_again(i)``: the same vector,
        or the sample's own ADC counts): a board computes the same answer every time, so a
        mismatch it does not repeat was not what it sent. No more are taken for damage
        than that chance allows (``CRC_ESCAPES_ALWAYS_ALLOWED``, ``DAMAGED_FRAMES_PER_
        ESCAPE``), and once the board has repeated ``MAX_CONFIRMED`` wrong answers the
        rest are not asked: every mismatch past either bound stands.
        """
        stats = client.stats
        damaged_frames = stats.resyncs  # frames the host received damaged and dropped
        if damaged_frames == 0:
            return {}
        allowed = CRC_ESCAPES_ALWAYS_ALLOWED + damaged_frames // DAMAGED_FRAMES_PER_ESCAPE
        escapes = stats.crc_escapes
        found: dict[int, Sample] = {}
        for i in np.flatnonzero(~checked.exact).tolist():
            if self.confirmed >= MAX_CONFIRMED or escapes >= allowed:
                break
            again, got = ask_again(i), samples[i]
            if (again.x, again.out, again.cls) == (got.x, got.out, got.cls):
                self.confirmed += 1
            else:
                client.count_crc_escape()
                escapes += 1
                found[i] = again
        return found

    # -- accounting ----------------------------------------------------------

    def _add(
        self,
        client: BoardClient,
        phase: Phase,
        checked: Checked,
        seqs: list[int | None],
        truth: np.ndarray,
        emptied: list | None = None,
    ) -> None:
        """Count, keep and log a compared batch in one uninterrupted step (``emptied`` is
        cleared in the same step), then trace its first mismatches on the board."""
        b = checked.board
        first = self.metrics.samples  # the run's number of this batch's first sample (log "n")
        with interrupts_held():  # counted and logged together, or neither
            self.metrics.add(checked.exact, checked.board_real, checked.float_out, b.cls,
                             checked.float_cls, truth)
            phase.samples += len(b)
            known = truth >= 0
            phase.labelled += int(np.count_nonzero(known))
            phase.correct += int(np.count_nonzero(b.cls[known] == truth[known]))
            phase.mismatches += int(np.count_nonzero(~checked.exact))
            self.evidence.add(checked, truth, self.phases.index(phase), self.elapsed,
                              client.stats.to_dict(), self.ref.input_scale)
            if self.log is not None:
                self.log.write(checked, self.elapsed, phase.source, seqs, truth)
            if emptied is not None:
                emptied.clear()
        for i in np.flatnonzero(~checked.exact):
            if len(self.mismatch_examples) < MAX_LISTED:
                record = self._describe(client, checked, int(i), phase)
                record["sample"], record["seq"] = first + int(i), seqs[int(i)]
                self.mismatch_examples.append(record)
        self.last_checked = checked
        if self.on_batch is not None:
            self.on_batch(self)

    def _describe(
        self, client: BoardClient, checked: Checked, i: int, phase: Phase
    ) -> dict[str, Any]:
        b = checked.board
        record: dict[str, Any] = {
            "phase": phase.label,
            "source": phase.source,
            "adc": b.adc[i].tolist(),
            "x": b.x[i].tolist(),
            "expected_x": checked.expected_x[i].tolist(),
            "out": b.out[i].tolist(),
            "expected_out": checked.expected_out[i].tolist(),
            "cls": int(b.cls[i]),
            "stage": STAGES[checked.stage[i]],
        }
        if len(self.mismatch_examples) < MAX_TRACED and checked.stage[i] != 1:
            layers, _ = client.trace(b.x[i].tolist())
            expected = infer_trace(self.ref.qm, b.x[i : i + 1])
            record["first_diverging_layer"] = first_diverging_layer(
                [e[0] for e in expected], [layer.act for layer in layers]
            )
            record["trace"] = [list(layer.act) for layer in layers]
            record["expected_trace"] = [e[0].tolist() for e in expected]
        return record

    # -- the report ----------------------------------------------------------

    def report(
        self,
        info: Info | None,
        link: dict[str, int],
        max_error: float | None = None,
        aborted: str | None = None,
    ) -> dict[str, Any]:
        """The JSON report; ``passed`` is what the exit code says (``info`` None: no handshake)."""
        classes = tuple(self.ref.model.classes)
        numbers = self.metrics.to_dict(self.ref.lsb, classes)
        failures = []
        if self.metrics.samples == 0:
            failures.append("no samples compared")
        if self.metrics.mismatches:
            failures.append(f"{self.metrics.mismatches} bit-exact mismatches")
        worst = numbers["error"]["max_abs"]
        if max_error is not None and worst is not None and worst > max_error:
            failures.append(f"max |error| {worst:.6g} exceeds --max-error {max_error:g}")
        if aborted:
            failures.append(f"aborted: {aborted}")
        elapsed = self.elapsed
        return {
            "tool": f"pixelnet {__version__}",
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "model_hash": self.ref.qm.model_hash,
            "format": self.ref.qm.fmt,
            "classes": list(classes),
            "board": None if info is None else {
                "name": info.board,
                "firmware": ".".join(map(str, info.firmware)),
                "protocol": info.proto,
                "format": FORMAT_NAMES.get(info.format, str(info.format)),
                "averaging": info.averaging,
                "calibration": {
                    "dark": list(info.calibration.dark),
                    "bright": list(info.calibration.bright),
                    "source": info.calibration.source_name,
                },
            },
            **numbers,
            "phases": [p.to_dict(classes) for p in self.phases],
            "mismatch_examples": self.mismatch_examples,
            "link": link,
            "evidence": self.evidence.to_dict(),
            "throughput": {
                "seconds": round(elapsed, 3),
                "samples_per_second": round(self.metrics.samples / elapsed, 1) if elapsed else None,
            },
            "max_error": max_error,
            "aborted": aborted,
            "failures": failures,
            "passed": not failures,
        }
