"""Verify a recorded SAMPLE stream offline: decode it all at once, compare in large batches.

What ``BoardClient`` + ``Verifier.verify_stream`` do frame by frame on a live
port, for bytes already in memory: the same checks (COBS, length, CRC, the
payload layout, the stream counter's gaps and repeats, every sample against the
integer emulator and the float model) and the same counts, at NumPy speed
(host/fastframes.py). Pure: bytes in, counts and metrics out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from .compare import Reference, SampleArrays, check_batch
from .fastframes import FixedLayout, decode_stream, sequence_counts
from .messages import N_ADC, Calibration, Msg, sample_dtype
from .metrics import Metrics

COMPARE_BATCH = 65_536  # samples per check_batch call: large, yet bounded memory


def sample_layout(n_in: int, n_out: int) -> FixedLayout:
    """The protocol's SAMPLE frame for a model of ``n_in`` inputs and ``n_out`` outputs."""
    return FixedLayout(Msg.SAMPLE, sample_dtype(n_in, n_out))


@dataclass
class OfflineResult:
    metrics: Metrics
    link: dict[str, int]  # the counters of LinkStats that a recording can tell


def sample_arrays(payload: np.ndarray) -> SampleArrays:
    """SAMPLE payload records as the comparison's arrays."""
    return SampleArrays(payload["adc"].astype(np.int64).reshape(len(payload), N_ADC),
                        payload["x"].astype(np.int64).reshape(len(payload), -1),
                        payload["out"].astype(np.int64).reshape(len(payload), -1),
                        payload["cls"].astype(np.int64))


def verify_recording(ref: Reference, data: bytes, calibration: Calibration,
                     layout: FixedLayout | None = None) -> OfflineResult:
    """Check every stream sample in ``data`` (SAMPLE frames of ``layout``, by default the
    protocol's for ``ref``'s model) against the references.

    Frames of other types are counted (``other_frames``), not interpreted: where the
    live client hears a board restart (a boot INFO) and starts the counter afresh, a
    recording across a restart shows the counter's jump as a gap, or as a ``seq_jumps``
    when it steps backwards or beyond MAX_SEQ_GAP."""
    layout = layout or sample_layout(ref.qm.layers[0].n_in, ref.qm.n_outputs)
    decoded = decode_stream(data, layout)
    counts = sequence_counts(decoded.seq)
    payload = decoded.payload[counts.kept]
    metrics = Metrics(ref.qm.n_outputs, len(ref.model.classes))
    # The float model's products are [N, 4] @ [4, 8]: BLAS threads only fight over the cores.
    with threadpool_limits(1, user_api="blas"):
        for start in range(0, len(payload), COMPARE_BATCH):
            checked = check_batch(ref, sample_arrays(payload[start : start + COMPARE_BATCH]),
                                  calibration=calibration)
            b = checked.board
            metrics.add(checked.exact, checked.board_real, checked.float_out, b.cls,
                        checked.float_cls, np.full(len(b), -1, dtype=np.int64))
    s = decoded.stats
    return OfflineResult(metrics, {
        "frames": s.frames, "bad_crc": s.bad_crc, "bad_frame": s.bad_frame,
        "too_long": s.too_long, "garbage_bytes": s.garbage_bytes,
        "stream_samples": len(payload), "seq_gaps": counts.seq_gaps,
        "missed_samples": counts.missed_samples, "duplicates": counts.duplicates,
        "seq_jumps": counts.seq_jumps,
        "other_frames": len(decoded.others),
    })
