"""Packet ranges planned a file at a time are the ones planned window by window.

`plan_packet_ranges` finds the ranges of every window of a file with array operations where
packets are shown in decode order, and hands the rest to `plan_packet_range` (`plan_window`). For random packet
indexes (time bases, keyframe spacing, irregular durations, reordered streams) and windows on,
near and off the frame grid, past the end or before the first keyframe, both give the same range
or the same error. The real fixtures' videos are planned both ways too.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixture_data import fixtures_dir
from robosplice.errors import VideoError
from robosplice.format.packet_ranges import (
    PacketRange,
    Window,
    plan_packet_ranges,
    plan_window,
)
from robosplice.format.video import PacketIndex, StreamFacts, read_packet_index

TIME_BASES = [Fraction(1, 15360), Fraction(1, 30), Fraction(1, 90000), Fraction(1, 1000)]


def _index(rng: np.random.Generator, *, frames: int, reorder: bool) -> PacketIndex:
    time_base = TIME_BASES[int(rng.integers(len(TIME_BASES)))]
    fps = 30
    ticks = max(1, round(1 / (fps * time_base)))
    duration = np.full(frames, ticks, dtype=np.int64)
    if rng.random() < 0.3:  # irregular: some durations unknown (0) or off by a tick
        duration[rng.random(frames) < 0.2] = 0
        duration[rng.random(frames) < 0.1] += 1
    pts = np.arange(frames, dtype=np.int64) * ticks + int(rng.integers(0, 3)) * ticks
    keyframe = rng.random(frames) < rng.choice([0.05, 0.3, 1.0])
    keyframe[0] = rng.random() < 0.9  # sometimes no keyframe at the start
    dts = pts.copy()
    if reorder and frames >= 3:  # B-frame style: swap pairs after each keyframe
        for position in range(1, frames - 1, 3):
            pts[position], pts[position + 1] = pts[position + 1], pts[position]
        dts = np.sort(pts) - ticks
    facts = StreamFacts(
        codec="h264", width=64, height=64, pix_fmt="yuv420p", time_base=time_base, extradata=b""
    )
    return PacketIndex(
        path=Path("synthetic.mp4"),
        facts=facts,
        average_rate=Fraction(fps),
        pts=pts,
        dts=dts,
        duration=duration,
        keyframe=keyframe,
        size_bytes=rng.integers(10, 5000, size=frames).astype(np.int32),
    )


def _windows(rng: np.random.Generator, index: PacketIndex, count: int) -> list[Window]:
    time_base = float(index.facts.time_base)
    sorted_pts = np.sort(index.pts)
    windows = []
    for number in range(count):
        first = int(rng.integers(0, len(sorted_pts)))
        length = int(rng.integers(0, 12))
        start = int(rng.integers(0, 3)) if rng.random() < 0.2 else 0
        timestamp = float(sorted_pts[first]) * time_base
        kind = rng.random()
        if kind < 0.15:  # off the grid within the loader's tolerance
            timestamp += float(rng.uniform(-0.9e-4, 0.9e-4))
        elif kind < 0.25:  # off beyond it, or before the first frame
            timestamp += float(rng.choice([-1, 1]) * rng.uniform(2e-4, 0.01))
        windows.append(Window(timestamp, start, start + length, f"window {number}"))
    return windows


def _one_by_one(index: PacketIndex, window: Window, fps: float) -> PacketRange | str:
    try:
        return plan_window(index, window, fps)
    except (VideoError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"


def _together(index: PacketIndex, windows: list[Window], fps: float) -> list[PacketRange | str]:
    """Batch results; a window that raises is planned again alone to name its error."""
    try:
        return list(plan_packet_ranges(index, windows, fps=fps))
    except (VideoError, ValueError):
        results: list[PacketRange | str] = []
        for window in windows:
            try:
                results.extend(plan_packet_ranges(index, [window], fps=fps))
            except (VideoError, ValueError) as exc:
                results.append(f"{type(exc).__name__}: {exc}")
        return results


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), reorder=st.booleans(), frames=st.integers(1, 200))
def test_ranges_planned_together_equal_those_planned_alone(
    seed: int, reorder: bool, frames: int
) -> None:
    rng = np.random.default_rng(seed)
    index = _index(rng, frames=frames, reorder=reorder)
    windows = _windows(rng, index, count=int(rng.integers(1, 40)))
    expected = [_one_by_one(index, window, 30.0) for window in windows]
    assert _together(index, windows, 30.0) == expected


@pytest.mark.parametrize(
    "video", sorted(p.relative_to(fixtures_dir()) for p in fixtures_dir().glob("*/videos/**/*.mp4"))
)
def test_fixture_videos_plan_the_same_ranges_together(video: Path) -> None:
    index = read_packet_index(fixtures_dir() / video)
    fps = float(index.average_rate or 30)
    sorted_pts = np.sort(index.pts)
    windows = [
        Window(float(sorted_pts[first] * index.facts.time_base), 0, length, f"{video} @{first}")
        for first in range(0, len(sorted_pts), 3)
        for length in (1, 7)
        if first + length <= len(sorted_pts)
    ]
    assert windows
    expected = [_one_by_one(index, window, fps) for window in windows]
    assert plan_packet_ranges(index, windows, fps=fps) == expected
