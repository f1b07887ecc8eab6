"""Which packets of a video file hold a run of an episode's frames: pure packet geometry.

For frames [start, stop) of an episode whose window starts at `from_timestamp`, the packets run
in decode order from the keyframe at or before the first wanted frame (and shown no later than
it: open GOPs) to the point where every wanted frame is in and the copied frames are contiguous
in display order (B-frames can need frames past `stop`). Reads nothing: the `PacketIndex` is
given. Used by every packet copy (edits, conversions, samples, the review page's clips).
"""

from __future__ import annotations

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
