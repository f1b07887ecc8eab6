"""Which packets of a video file hold a run of an episode's frames: pure packet geometry.

For frames [start, stop) of an episode whose window starts at `from_timestamp`, the packets run
in decode order from the keyframe at or before the first wanted frame (and shown no later than
it: open GOPs) to the point where every wanted frame is in and the copied frames are contiguous
in display order (B-frames can need frames past `stop`). Reads nothing: the `PacketIndex` is
given. Used by every packet copy (edits, conversions, samples, the review page's clips).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from robosplice.errors import VideoError
from robosplice.format.timing import TOLERANCE_S
from robosplice.format.video import PacketIndex


@dataclass(frozen=True, slots=True, kw_only=True)
class PacketRange:
    """Decode positions [first, stop) to copy, and the pts that bound the wanted frames."""

    first: int
    stop: int
    base_pts: int  # lowest pts copied: lands at the output file's current end
    wanted_first_pts: int
    wanted_end_pts: int  # pts just past the last wanted frame
    size_bytes: int


def frame_ticks(index: PacketIndex, fps: float) -> int:
    """Duration of one frame in time-base ticks."""
    positive = index.duration[index.duration > 0]
    if len(positive):
        return int(np.median(positive))
    return round(1 / (fps * index.facts.time_base))


@dataclass(frozen=True, slots=True)
class Window:
    """Frames [start, stop) of the episode whose window starts at `from_timestamp`; `where`
    names it in errors."""

    from_timestamp: float
    start: int
    stop: int
    where: str


def plan_packet_ranges(
    index: PacketIndex, windows: Sequence[Window], *, fps: float
) -> list[PacketRange]:
    """`plan_packet_range` of each window, planned together.

    Where packets are shown in decode order (no reordering: the recorder's AV1 and intra-only
    streams), every range is the keyframe run up to the window, found for all windows by a few
    array operations; a window whose start is off the frame grid, past the file or before the
    first keyframe, and every window of a reordered stream, is planned alone (which also raises).
    """
    keyframes = index.keyframe_positions()
    if not windows or not len(keyframes) or not index.decodes_in_display_order():
        return [plan_window(index, window, fps) for window in windows]
    pts = index.pts.astype(np.int64, copy=False)
    count = len(pts)
    time_base = float(index.facts.time_base)
    from_timestamp = np.array([w.from_timestamp for w in windows], dtype=np.float64)
    start = np.array([w.start for w in windows], dtype=np.int64)
    stop = np.array([w.stop for w in windows], dtype=np.int64)
    target = np.rint(from_timestamp / time_base).astype(np.int64)
    right = np.searchsorted(pts, target)
    left = right - 1
    left_gap = np.where(left >= 0, np.abs(pts[np.clip(left, 0, count - 1)] - target), np.inf)
    right_gap = np.where(right < count, np.abs(pts[np.clip(right, 0, count - 1)] - target), np.inf)
    first_display = np.where(left_gap <= right_gap, left, right)
    shown = np.clip(first_display, 0, count - 1)
    # A clear margin under the tolerance: exact offsets near it are the scalar path's to judge.
    near = np.abs(pts[shown] * time_base - from_timestamp) < TOLERANCE_S / 2
    fits = (first_display >= 0) & (first_display + stop <= count) & (start < stop) & near
    first_wanted = np.clip(first_display + start, 0, count - 1)
    candidate = np.searchsorted(keyframes, first_wanted, side="right") - 1
    fits &= candidate >= 0
    first = np.where(candidate >= 0, keyframes[np.clip(candidate, 0, None)], 0)
    stop_position = np.clip(first_display + stop, 1, count)
    last_wanted = stop_position - 1
    ticks = index.duration[last_wanted].astype(np.int64)
    if not ticks.all():
        ticks[ticks == 0] = frame_ticks(index, fps)
    offsets = np.concatenate(([0], np.cumsum(index.size_bytes, dtype=np.int64)))
    columns = zip(
        first.tolist(),
        stop_position.tolist(),
        pts[first].tolist(),
        pts[first_wanted].tolist(),
        (pts[last_wanted] + ticks).tolist(),
        (offsets[stop_position] - offsets[first]).tolist(),
        fits.tolist(),
    )
    return [
        PacketRange(
            first=f,
            stop=s,
            base_pts=base,
            wanted_first_pts=wanted_first,
            wanted_end_pts=wanted_end,
            size_bytes=size,
        )
        if ok
        else plan_window(index, window, fps)
        for window, (f, s, base, wanted_first, wanted_end, size, ok) in zip(windows, columns)
    ]


def plan_window(index: PacketIndex, window: Window, fps: float) -> PacketRange:
    """`plan_packet_range` of one window."""
    return plan_packet_range(
        index,
        from_timestamp=window.from_timestamp,
        fps=fps,
        start=window.start,
        stop=window.stop,
        where=window.where,
    )


def plan_packet_range(
    index: PacketIndex, *, from_timestamp: float, fps: float, start: int, stop: int, where: str
) -> PacketRange:
    """The packets holding frames [start, stop) of the episode whose window starts at from_timestamp.

    Raises:
        VideoError: the window does not land on frames, or the file has too few frames.
    """
    time_base = index.facts.time_base
    order = index.display_order()
    sorted_pts = index.sorted_pts()
    target = round(from_timestamp / time_base)
    first_display = int(np.searchsorted(sorted_pts, target))
    candidates = [p for p in (first_display - 1, first_display) if 0 <= p < len(sorted_pts)]
    if not candidates:
        raise VideoError(f"{where}: no frames at from_timestamp {from_timestamp:.6f}s")
    first_display = min(candidates, key=lambda p: abs(int(sorted_pts[p]) - target))
    offset_s = abs(float(sorted_pts[first_display] * time_base) - from_timestamp)
    if offset_s > TOLERANCE_S:
        raise VideoError(
            f"{where}: from_timestamp {from_timestamp:.6f}s is {offset_s:.6f}s from the nearest"
            " frame; the official loader could not read this episode either"
        )
    if first_display + stop > len(sorted_pts):
        raise VideoError(
            f"{where}: the episode needs {stop} frames from {from_timestamp:.6f}s but the file"
            f" has only {len(sorted_pts) - first_display} from there"
        )
    wanted = order[first_display + start : first_display + stop]
    rank = index.display_rank()
    first = int(wanted.min())
    # The last keyframe at or before the first wanted packet (decode order) that is also shown
    # no later than the first wanted frame. Open GOP (HEVC CRA, e.g. 0.6.1 depth video): a frame
    # shown before a keyframe but decoded after it needs frames before that keyframe, and a
    # decoder starting there drops it.
    keyframes = index.keyframe_positions()
    first_shown = sorted_pts[first_display + start]
    candidate = int(np.searchsorted(keyframes, first, side="right")) - 1
    while candidate >= 0 and index.pts[keyframes[candidate]] > first_shown:
        candidate -= 1
    if candidate < 0:
        raise VideoError(f"{where}: no keyframe at or before the first frame")
    first = int(keyframes[candidate])
    # Grow in decode order until all wanted frames are in and the display ranks are contiguous.
    stop_position = int(wanted.max()) + 1
    low, high = int(rank[first:stop_position].min()), int(rank[first:stop_position].max())
    while high - low + 1 != stop_position - first:
        if stop_position >= len(order):
            raise VideoError(f"{where}: cannot cut a closed run of frames around the episode")
        added = int(rank[stop_position])
        low, high = min(low, added), max(high, added)
        stop_position += 1
    copied_pts = index.pts[first:stop_position]
    last_wanted = order[first_display + stop - 1]
    ticks = int(index.duration[last_wanted]) or frame_ticks(index, fps)
    return PacketRange(
        first=first,
        stop=stop_position,
        base_pts=int(copied_pts.min()),
        wanted_first_pts=int(sorted_pts[first_display + start]),
        wanted_end_pts=int(index.pts[last_wanted]) + ticks,
        size_bytes=int(index.size_bytes[first:stop_position].sum()),
    )
