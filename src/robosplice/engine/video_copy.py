"""Copy the video of each output episode by packets: no decode, no encode (FORMAT.md §3.5).

Which packets a segment [start, stop) of an episode needs is `format/packet_ranges.py`'s
`plan_packet_range`; this module writes them. Timestamps are rebased so segments sit back to
back in the output file, and the episode's window comes from the pts written (never from summed
floats, lerobot#3177).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from robosplice.errors import VideoError
from robosplice.format.copying import copy_whole_file
from robosplice.format.mp4_writer import Mp4Writer
from robosplice.format.packet_ranges import PacketRange
from robosplice.format.paths import FIRST_POSITION, FilePosition, mebibytes_to_bytes, next_position
from robosplice.format.video import PacketIndex, PacketWriter, StreamFacts

# Reads a segment's packets and the stream they belong to, for files that are not copied as
# byte ranges (called only then: demuxing is what the byte-range copy avoids).
Demux = Callable[[], tuple[Iterable[Any], Any]]


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

    def abandon(self) -> None:
        """Close the current file unfinished: on the way out of a failed or interrupted write
        (whose staging folder goes), finishing it could raise and mask why the write stopped."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.abandon()


@contextlib.contextmanager
def ending(sequences: Collection[VideoFileSequence]) -> Iterator[None]:
    """Close `sequences` when the block succeeds, abandon them when it fails or is interrupted.

    `sequences` is read when the block ends (a dict's values view may gain sequences inside).
    """
    try:
        yield
    except BaseException:
        for sequence in sequences:
            sequence.abandon()
        raise
    for sequence in sequences:
        sequence.close()
