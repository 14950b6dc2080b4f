"""The host benchmark runs its real path (no timing asserted: wall-clock speed varies)."""

from __future__ import annotations

from pixelnet.bench.bench_host import measure_offline, recorded_stream
from pixelnet.host.compare import Reference
from pixelnet.host.frames import FrameDecoder
from pixelnet.host.messages import Msg
from pixelnet.trainer.lesson import lesson_model


def test_recorded_stream_is_a_numbered_sample_stream():
    frames = FrameDecoder().feed(recorded_stream(Reference.from_model(lesson_model(), "q7"), 300))
    assert len(frames) == 300 and {f.type for f in frames} == {Msg.SAMPLE}
    assert [f.seq for f in frames] == [i & 0xFF for i in range(300)]


def test_offline_measurement_verifies_every_frame():
    result = measure_offline(3000)
    assert result["frames"] == 3000 and result["frames_per_second"] > 0
    assert set(result) >= {"seconds", "target_frames_per_second", "meets_target"}
