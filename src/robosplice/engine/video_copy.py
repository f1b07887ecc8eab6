"""Copy the video of each output episode by packets: no decode, no encode (FORMAT.md §3.5).

For a segment [start, stop) of an episode, the packets copied run in decode order from the
keyframe at or before the first wanted frame to the point where every wanted frame is in and
the copied frames are contiguous in display order (B-frames can need frames past `stop`).
Timestamps are rebased so segments sit back to back in the output file, and the episode's
window comes from the pts written (never from summed floats, lerobot#3177).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from robosplice.errors import VideoError
from robosplice.format.copying import copy_whole_file
from robosplice.format.mp4 import Mp4Writer
from robosplice.format.paths import FIRST_POSITION, FilePosition, mebibytes_to_bytes, next_position
from robosplice.format.video import PacketIndex, PacketWriter, StreamFacts

# Reads a segment's packets and the stream they belong to, for files that are not copied as
# byte ranges (called only then: demuxing is what the byte-range copy avoids).
Demux = Callable[[], tuple[Iterable[Any], Any]]

# The loader's default tolerance; a source window further off than this would not load either.
WINDOW_TOLERANCE_S = 1e-4


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
    if offset_s > WINDOW_TOLERANCE_S:
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


def copy_file(source: Path, target: Path, *, link: bool = False) -> None:
    """Copy bytes kernel-side with copy_file_range (which shares extents on filesystems that
    can, such as Btrfs and XFS), or hard-link when `link`."""
    if link:
        try:
            os.link(source, target)
            return
        except OSError:
            pass  # another filesystem, or links not allowed: copy
    try:
        copy_whole_file(source, target)
    except OSError:
        shutil.copyfile(source, target)


@dataclass(frozen=True, slots=True, kw_only=True)
class WrittenWindow:
    """Where an output episode's frames of one camera landed."""

    position: FilePosition
    from_timestamp: float
    to_timestamp: float


def copies_bytes(index: PacketIndex) -> bool:
    """Whether segments of this file are copied as byte ranges (its mp4 tables were read)."""
    return index.track is not None and index.offset is not None


def stream_key(index: PacketIndex) -> tuple[StreamFacts, bytes | None]:
    """What two files must share for their segments to go into one output file: the stream
    facts, and for byte-range copies the codec configuration box copied into the output."""
    track = index.track if copies_bytes(index) else None
    return index.facts, track.stsd if track is not None else None


def _add_samples(
    writer: Mp4Writer, index: PacketIndex, packet_range: PacketRange, shift: int
) -> int:
    """Copy the range's samples into `writer` with timestamps moved by `shift` ticks; return
    one past the last frame shown."""
    first, stop = packet_range.first, packet_range.stop
    assert index.offset is not None  # callers check copies_bytes
    pts = index.pts[first:stop] + shift
    duration = index.duration[first:stop]
    writer.add(
        index.path,
        offset=index.offset[first:stop],
        size_bytes=index.size_bytes[first:stop],
        pts=pts,
        dts=index.dts[first:stop] + shift,
        duration=duration,
        keyframe=index.keyframe[first:stop],
    )
    return int((pts + duration).max())


def write_segment_file(
    index: PacketIndex, packet_range: PacketRange, target: Path, demux: Demux
) -> None:
    """Write one segment as a file of its own, its first copied frame at time 0 (a v2.1
    per-episode video): bytes copied where the source's tables were read, else `demux`ed."""
    base = packet_range.base_pts
    if index.track is not None and copies_bytes(index):
        writer = Mp4Writer(target, index.track)
        try:
            _add_samples(writer, index, packet_range, -base)
        except BaseException:
            writer.abandon()
            raise
        writer.close()
        return
    packets, template_stream = demux()
    packet_writer = PacketWriter(target, template_stream)
    try:
        for packet in packets:
            packet_writer.write(packet, int(packet.pts) - base, int(packet.dts) - base)
    finally:
        packet_writer.close()


class VideoFileSequence:
    """The numbered output mp4s of one camera: appends segments, starts new files as needed."""

    def __init__(
        self,
        root: Path,
        path_of: Callable[[FilePosition], Path],
        *,
        file_size_mb: float,
        chunks_size: int,
    ) -> None:
        self.root = root
        self.path_of = path_of
        self.limit_bytes = mebibytes_to_bytes(file_size_mb)
        self.chunks_size = chunks_size
        self.position: FilePosition = FIRST_POSITION
        self._writer: PacketWriter | Mp4Writer | None = None
        self._key: tuple[StreamFacts, bytes | None] | None = None  # stream_key of the open file
        self._end_pts = 0  # one past the last frame of the open file, in time-base ticks
        self._position_used = False  # a file exists at `position` (written or copied whole)
        self.paths_written: list[Path] = []

    def _must_rotate(
        self, key: tuple[StreamFacts, bytes | None], size_bytes: int, first_dts: int, force: bool
    ) -> bool:
        writer = self._writer
        if writer is None:
            return False
        if force or self._key != key:
            return True
        if writer.bytes_written + size_bytes >= self.limit_bytes:
            return True
        return writer.last_dts is not None and first_dts + self._end_pts <= writer.last_dts

    def append(
        self,
        index: PacketIndex,
        packet_range: PacketRange,
        demux: Demux | None = None,
        *,
        new_file: bool = False,
    ) -> WrittenWindow:
        """Write a segment; return its window in the output.

        Samples of a file whose mp4 tables were read are copied as byte ranges; other files'
        packets come from `demux` (required for them) and are muxed one by one.
        """
        first_dts_rel = int(index.dts[packet_range.first]) - packet_range.base_pts
        key = stream_key(index)
        if self._must_rotate(key, packet_range.size_bytes, first_dts_rel, new_file):
            self.close()
            self._advance()
        packets: Iterable[Any] = ()
        if not copies_bytes(index):
            if demux is None:
                raise VideoError(f"{index.path}: not an mp4 read from its tables; demux needed")
            packets, template_stream = demux()
        if self._writer is None:
            if self._position_used:
                self._advance()
            path = self.path_of(self.position)
            if index.track is not None and copies_bytes(index):
                self._writer = Mp4Writer(path, index.track)
            else:
                self._writer = PacketWriter(path, template_stream)
            self._key = key
            self._end_pts = 0
            self._position_used = True
            self.paths_written.append(path)
        writer = self._writer
        delta = self._end_pts - packet_range.base_pts
        end = self._end_pts
        if isinstance(writer, Mp4Writer):
            end = max(end, _add_samples(writer, index, packet_range, delta))
        else:
            for packet in packets:
                pts_, dts_ = int(packet.pts) + delta, int(packet.dts) + delta
                end = max(end, pts_ + int(packet.duration or 0))
                writer.write(packet, pts_, dts_)
        time_base = index.facts.time_base
        window = WrittenWindow(
            position=self.position,
            from_timestamp=float(Fraction(packet_range.wanted_first_pts + delta) * time_base),
            to_timestamp=float(Fraction(packet_range.wanted_end_pts + delta) * time_base),
        )
        self._end_pts = max(end, packet_range.wanted_end_pts + delta)
        return window

    def _advance(self) -> None:
        self.position = next_position(self.position, self.chunks_size)
        self._position_used = False

    def copy_whole(self, source: Path, *, link: bool = False) -> FilePosition:
        """Put the file `source` at the next position as it is (its windows stay valid).

        `link`: hard-link instead of copying where the filesystem allows (the output then shares
        the source's inode: fine for robosplice, which never writes a file in place).
        """
        self.close()
        if self._position_used:
            self._advance()
        path = self.path_of(self.position)
        path.parent.mkdir(parents=True, exist_ok=True)
        copy_file(source, path, link=link)
        self._position_used = True
        self.paths_written.append(path)
        return self.position

    def close(self) -> None:
        """Finish the current file."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()
