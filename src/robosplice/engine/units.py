"""Work units of an execution: one copied camera, one episode's frame stats (DESIGN.md: Scale).

A unit is a frozen, picklable description plus a top-level function, so any backend can run it
(engine/backends.py). Units read sources, write only their own files under the staging folder
(clearing them first, so a retry starts clean) and return small results to the finalize.
"""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import av

from robosplice.engine.frame_stats import video_episode_stats
from robosplice.engine.video_copy import VideoFileSequence, WrittenWindow, ending, stream_key
from robosplice.errors import VideoError
from robosplice.format.packet_ranges import PacketRange, Window, plan_packet_ranges, plan_window
from robosplice.format.paths import (
    FIRST_POSITION,
    FilePosition,
    mebibytes_to_bytes,
    next_position,
    video_file_path,
)
from robosplice.format.stats import FeatureStats
from robosplice.format.video import PacketIndex, read_packet_index

REMOTE_FILES_DIR: Final = ".robosplice/remote"
"""Where an output records its video files that stay on the Hub: `<output path>.json` each."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteFile:
    """A source video file kept whole that stays on the Hub repo the output goes back to.

    Not copied: the unit records it (`REMOTE_FILES_DIR`), and the push keeps it (same path) or
    copies it server-side (renumbered). `path` is its path in the repo, `sha256` its LFS id.
    """

    path: str
    sha256: str
    size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CopySegment:
    """Frames [start, stop) of one source episode's window in the source file `path`.

    `whole_file`: this segment starts a run of output episodes that is exactly every episode of
    `path`, whole and in order (`run_length` segments), so the file is copied as it is; with
    `remote`, it is absent here and only recorded (`RemoteFile`).
    """

    source: int
    path: Path
    from_timestamp: float
    to_timestamp: float
    start: int
    stop: int
    whole_file: bool = False
    run_length: int = 1
    remote: RemoteFile | None = None
    # Planned by `split_by_file` from the same index; the copy reuses it (it costs ~0.1 ms).
    packet_range: PacketRange | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraCopyUnit:
    """Every output episode of one copied camera, in output order."""

    key: str
    target: Path
    fps: float
    segments: tuple[CopySegment, ...]
    file_size_mb: float
    chunks_size: int
    concatenate: bool
    link_files: bool = False
    # Packet indexes the driver already holds (pre-flight validation read them), so a worker
    # does not demux a file once more just to index it.
    indexes: Mapping[Path, PacketIndex] = field(default_factory=dict)
    # Set by `split_by_file`: this unit writes the one file at `position` (else every file of
    # the camera, from the first position on).
    position: FilePosition | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraCopyResult:
    """Where each output episode landed, and the files written (relative to the target)."""

    windows: tuple[WrittenWindow, ...]
    files: tuple[str, ...]
    bytes_copied: int
    files_copied_whole: int


def copy_camera(unit: CameraCopyUnit) -> CameraCopyResult:
    """Write a camera's output files (or the one file of a `split_by_file` unit): whole source
    files where they survive as they are, else packet by packet (engine/video_copy.py)."""

    def path_of(position: FilePosition) -> Path:
        return unit.target / video_file_path(unit.key, position)

    if unit.segments and unit.segments[0].remote is not None:
        return _record_remote(unit, unit.segments[0].remote)
    if unit.position is None:
        shutil.rmtree(unit.target / "videos" / unit.key, ignore_errors=True)  # retry: start clean
    else:
        path_of(unit.position).unlink(missing_ok=True)
    sequence = VideoFileSequence(
        unit.target, path_of, file_size_mb=unit.file_size_mb, chunks_size=unit.chunks_size
    )
    if unit.position is not None:
        sequence.position = unit.position
    last_use = {segment.path: i for i, segment in enumerate(unit.segments)}
    readers: dict[Path, RangeReader] = {}
    indexes: dict[Path, PacketIndex] = dict(unit.indexes)
    windows: list[WrittenWindow] = []
    bytes_copied = 0
    whole = 0
    previous: tuple[int, Path] | None = None
    skip = 0
    try:
        with ending([sequence]):
            for number, segment in enumerate(unit.segments):
                if skip:
                    skip -= 1
                    continue
                if segment.whole_file:
                    if segment.remote is not None:  # only a unit of its own records one
                        raise _record_remote_error(unit, segment.remote)
                    position = sequence.copy_whole(segment.path, link=unit.link_files)
                    run = unit.segments[number : number + segment.run_length]
                    windows += [
                        WrittenWindow(
                            position=position,
                            from_timestamp=s.from_timestamp,
                            to_timestamp=s.to_timestamp,
                        )
                        for s in run
                    ]
                    bytes_copied += segment.path.stat().st_size
                    whole += 1
                    skip = segment.run_length - 1
                    previous = (segment.source, segment.path)
                    continue
                index = indexes.get(segment.path)
                if index is None:
                    index = indexes[segment.path] = read_packet_index(segment.path)
                packet_range = segment.packet_range or _packet_range(unit, segment, index)

                def demux(
                    path: Path = segment.path,
                    index: PacketIndex = index,
                    span: PacketRange = packet_range,
                ) -> tuple[Any, Any]:
                    reader = readers.get(path)
                    if reader is None:
                        reader = readers[path] = RangeReader(path, index)
                    return list(reader.packets(span.first, span.stop)), reader.stream

                source_file = (segment.source, segment.path)
                new_file = not unit.concatenate and previous not in (None, source_file)
                previous = source_file
                windows.append(sequence.append(index, packet_range, demux, new_file=new_file))
                bytes_copied += packet_range.size_bytes
                if last_use[segment.path] == number:  # memory stays one file's index
                    indexes.pop(segment.path, None)
                    if segment.path in readers:
                        readers.pop(segment.path).close()
    finally:
        for reader in readers.values():
            reader.close()
    if unit.position is not None and sequence.paths_written != [path_of(unit.position)]:
        raise VideoError(
            f"camera {unit.key}: the file layout planned for {path_of(unit.position)} does not"
            " match what was written; this is a robosplice bug, please report it"
        )
    return CameraCopyResult(
        windows=tuple(windows),
        files=tuple(p.relative_to(unit.target).as_posix() for p in sequence.paths_written),
        bytes_copied=bytes_copied,
        files_copied_whole=whole,
    )


def _record_remote(unit: CameraCopyUnit, remote: RemoteFile) -> CameraCopyResult:
    """Record the whole file a `split_by_file` unit keeps on the Hub instead of copying it."""
    if unit.position is None or not unit.segments[0].whole_file:
        raise _record_remote_error(unit, remote)
    relative = video_file_path(unit.key, unit.position)
    record = unit.target / REMOTE_FILES_DIR / f"{relative}.json"
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(
        json.dumps({"path": remote.path, "sha256": remote.sha256, "size": remote.size}) + "\n",
        encoding="utf-8",
    )
    windows = tuple(
        WrittenWindow(
            position=unit.position, from_timestamp=s.from_timestamp, to_timestamp=s.to_timestamp
        )
        for s in unit.segments
    )
    return CameraCopyResult(
        windows=windows, files=(relative,), bytes_copied=0, files_copied_whole=1
    )


def _record_remote_error(unit: CameraCopyUnit, remote: RemoteFile) -> VideoError:
    return VideoError(
        f"camera {unit.key}: {remote.path} stays on the Hub but is not planned as a file of its"
        " own; this is a robosplice bug, please report it"
    )


def _packet_range(unit: CameraCopyUnit, segment: CopySegment, index: PacketIndex) -> PacketRange:
    return plan_window(index, _window(unit, segment), unit.fps)


def _cut_segments_by_path(unit: CameraCopyUnit) -> dict[Path, list[int]]:
    """Numbers of the segments cut from each source file (not copied with a whole file)."""
    by_path: dict[Path, list[int]] = {}
    number = 0
    while number < len(unit.segments):
        segment = unit.segments[number]
        if segment.whole_file:
            number += segment.run_length
            continue
        by_path.setdefault(segment.path, []).append(number)
        number += 1
    return by_path


def _window(unit: CameraCopyUnit, segment: CopySegment) -> Window:
    return Window(
        from_timestamp=segment.from_timestamp,
        start=segment.start,
        stop=segment.stop,
        where=f"{segment.path} (camera {unit.key})",
    )


def split_by_file(unit: CameraCopyUnit) -> list[CameraCopyUnit]:
    """One unit per output file of the camera, so files are written in parallel.

    The layout is planned from the packet indexes with the same rules `VideoFileSequence`
    applies while writing (size limit, stream facts, decode-time order, files kept apart, whole
    files on their own), so the files are those the whole-camera unit would write, byte for byte.
    """
    limit = mebibytes_to_bytes(unit.file_size_mb)
    groups: list[tuple[FilePosition, list[CopySegment]]] = []
    position: FilePosition = FIRST_POSITION
    used = False
    open_file: dict[str, Any] | None = None  # the file being appended to, as the writer sees it
    previous: tuple[int, Path] | None = None
    indexes: dict[Path, PacketIndex] = dict(unit.indexes)  # the ones read so far
    last_use = {segment.path: i for i, segment in enumerate(unit.segments)}
    cut_by_path = _cut_segments_by_path(unit)
    planned: dict[int, PacketRange] = {}  # segment number -> its range, planned a file at a time
    number = 0
    while number < len(unit.segments):
        segment = unit.segments[number]
        if segment.whole_file:
            open_file = None
            if used:
                position = next_position(position, unit.chunks_size)
            groups.append((position, list(unit.segments[number : number + segment.run_length])))
            used = True
            previous = (segment.source, segment.path)
            number += segment.run_length
            continue
        index = indexes.get(segment.path)
        if index is None:
            index = indexes[segment.path] = read_packet_index(segment.path)
        if number not in planned:
            numbers = cut_by_path[segment.path]
            windows = [_window(unit, unit.segments[n]) for n in numbers]
            planned.update(zip(numbers, plan_packet_ranges(index, windows, fps=unit.fps)))
        packet_range = planned.pop(number)
        first, stop = packet_range.first, packet_range.stop
        first_dts = int(index.dts[first]) - packet_range.base_pts
        new_file = not unit.concatenate and previous not in (None, (segment.source, segment.path))
        previous = (segment.source, segment.path)
        if open_file is not None and (
            new_file
            or open_file["key"] != stream_key(index)
            or open_file["bytes"] + packet_range.size_bytes >= limit
            or (
                open_file["last_dts"] is not None
                and first_dts + open_file["end"] <= open_file["last_dts"]
            )
        ):
            open_file = None
            position = next_position(position, unit.chunks_size)
            used = False
        if open_file is None:
            if used:
                position = next_position(position, unit.chunks_size)
            open_file = {"key": stream_key(index), "bytes": 0, "last_dts": None, "end": 0}
            used = True
            groups.append((position, []))
        groups[-1][1].append(replace(segment, packet_range=packet_range))
        delta = open_file["end"] - packet_range.base_pts
        ends = index.pts[first:stop] + index.duration[first:stop] + delta
        end = max(open_file["end"], int(ends.max()))
        open_file["bytes"] += packet_range.size_bytes
        open_file["last_dts"] = int(index.dts[stop - 1]) + delta
        open_file["end"] = max(end, packet_range.wanted_end_pts + delta)
        if last_use[segment.path] == number:
            indexes.pop(segment.path, None)
        number += 1
    return [
        replace(
            unit,
            segments=tuple(segments),
            position=file_position,
            indexes={s.path: unit.indexes[s.path] for s in segments if s.path in unit.indexes},
        )
        for file_position, segments in groups
    ]


class RangeReader:
    """Packets of one file by decode position; seeks to a keyframe instead of demuxing a gap.

    Every packet is checked against the index (its dts), so a seek that lands elsewhere is
    caught; it then falls back to reading from the start of the file.
    """

    SEEK_GAP = 16  # packets: closer than this, reading on is cheaper than seeking

    def __init__(self, path: Path, index: PacketIndex) -> None:
        self.path = path
        self.index = index
        self._container: Any = None
        self._iterator: Iterator[Any] | None = None
        self._next = 0
        self.stream: Any = None

    def _open(self) -> None:
        if self._container is None:
            try:
                self._container = av.open(str(self.path))
            except av.error.FFmpegError as exc:
                raise VideoError(f"{self.path}: cannot read video ({exc})") from exc
            self.stream = self._container.streams.video[0]

    def _demux(self) -> Iterator[Any]:
        return (
            p for p in self._container.demux(self.stream) if p.dts is not None and p.pts is not None
        )

    def _restart(self, start: int) -> None:
        self._open()
        if start > 0 and bool(self.index.keyframe[start]):
            self._container.seek(
                int(self.index.dts[start]), stream=self.stream, backward=True, any_frame=False
            )
            iterator = self._demux()
            for packet in iterator:
                if int(packet.dts) >= int(self.index.dts[start]):
                    if int(packet.dts) == int(self.index.dts[start]):
                        self._iterator = itertools.chain([packet], iterator)
                        self._next = start
                        return
                    break
        self.close()  # read from the start, as a fresh demuxer does
        self._open()
        self._iterator = self._demux()
        self._next = 0

    def packets(self, start: int, stop: int) -> Iterator[Any]:
        """Yield packets at decode positions [start, stop)."""
        if self._iterator is None or start < self._next or start - self._next > self.SEEK_GAP:
            self._restart(start)
        assert self._iterator is not None
        try:
            while self._next < stop:
                packet = next(self._iterator)
                position = self._next
                self._next += 1
                if int(packet.dts) != int(self.index.dts[position]):
                    raise VideoError(
                        f"{self.path}: packet {position} has dts {packet.dts}, the index says"
                        f" {self.index.dts[position]}"
                    )
                if position >= start:
                    yield packet
        except StopIteration:
            raise VideoError(f"{self.path}: fewer packets than indexed") from None
        except av.error.FFmpegError as exc:
            raise VideoError(f"{self.path}: cannot read video ({exc})") from exc

    def close(self) -> None:
        """Close the file."""
        if self._container is not None:
            self._container.close()
        self._container = None
        self._iterator = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameStatsUnit:
    """One output episode of one camera whose stats are sampled from written frames."""

    output_index: int
    key: str
    path: Path
    from_timestamp: float
    length: int
    fps: float


def frame_stats(unit: FrameStatsUnit) -> FeatureStats:
    """Stats of the unit's episode from its sampled, decoded frames (nothing is written)."""
    return video_episode_stats(
        unit.path, from_timestamp=unit.from_timestamp, length=unit.length, fps=unit.fps
    )
