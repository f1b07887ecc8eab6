"""The engine's own guard on source windows: a cut lands on frames or is refused.

`validate` (and so every op's pre-flight) reports a window off its frames, but the copy must not
rely on that alone: `plan_packet_range` refuses a window further than the loader's tolerance
(1e-4 s) from any frame, as the official loader would fail on it, and accepts one within it.
"""

from __future__ import annotations

import pytest

from fixture_data import fixtures_dir
from robosplice.errors import VideoError
from robosplice.format.packet_ranges import plan_packet_range
from robosplice.format.video import read_packet_index

FPS = 30
VIDEO = "v3_av1_single/videos/observation.images.front/chunk-000/file-000.mp4"


@pytest.mark.parametrize("frame", [0, 7])
def test_windows_within_the_loaders_tolerance_are_cut_on_their_frames(frame: int) -> None:
    index = read_packet_index(fixtures_dir() / VIDEO)
    exact = plan_packet_range(
        index, from_timestamp=frame / FPS, fps=FPS, start=0, stop=5, where="exact"
    )
    near = plan_packet_range(
        index, from_timestamp=frame / FPS + 0.9e-4, fps=FPS, start=0, stop=5, where="near"
    )
    assert near == exact


@pytest.mark.parametrize("offset_s", [2e-4, 5e-4, -8e-4])
def test_a_window_off_its_frames_beyond_the_tolerance_is_refused(offset_s: float) -> None:
    index = read_packet_index(fixtures_dir() / VIDEO)
    with pytest.raises(VideoError, match="from the nearest frame"):
        plan_packet_range(
            index, from_timestamp=7 / FPS + offset_s, fps=FPS, start=0, stop=5, where="off"
        )
