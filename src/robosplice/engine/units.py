"""Work units of an execution: one copied camera, one episode's frame stats (DESIGN.md: Scale).

A unit is a frozen, picklable description plus a top-level function, so any backend can run it
(engine/backends.py). Units read sources, write only their own files under the staging folder
(clearing them first, so a retry starts clean) and return small results to the finalize.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from robosplice.engine.frame_stats import video_episode_stats
from robosplice.engine.video_copy import (
    VideoFileSequence,
    WrittenWindow,
    plan_packet_range,
)
from robosplice.format.paths import video_file_path
from robosplice.format.stats import FeatureStats
from robosplice.format.video import PacketIndex, PacketReader, read_packet_index


@dataclass(frozen=True, slots=True, kw_only=True)
class CopySegment:
    """Frames [start, stop) of one source episode's window in the source file `path`.

    `whole_file`: this segment starts a run of output episodes that is exactly every episode of
    `path`, whole and in order (`run_length` segments), so the file is copied as it is.
    """

    source: int
    path: Path
    from_timestamp: float
    to_timestamp: float
    start: int
    stop: int
    whole_file: bool = False
    run_length: int = 1


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


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraCopyResult:
    """Where each output episode landed, and the files written (relative to the target)."""

    windows: tuple[WrittenWindow, ...]
    files: tuple[str, ...]
    bytes_copied: int
    files_copied_whole: int


def copy_camera(unit: CameraCopyUnit) -> CameraCopyResult:
    """Write one camera's output files: whole source files where they survive as they are,
    else packet by packet (engine/video_copy.py)."""
    folder = unit.target / "videos" / unit.key
    shutil.rmtree(folder, ignore_errors=True)  # a retried unit starts clean
    sequence = VideoFileSequence(
        unit.target,
        lambda position: unit.target / video_file_path(unit.key, position),
        file_size_mb=unit.file_size_mb,
        chunks_size=unit.chunks_size,
    )
    last_use = {segment.path: i for i, segment in enumerate(unit.segments)}
    readers: dict[Path, PacketReader] = {}
    windows: list[WrittenWindow] = []
    bytes_copied = 0
    whole = 0
    previous: tuple[int, Path] | None = None
    skip = 0
    try:
        for number, segment in enumerate(unit.segments):
            if skip:
                skip -= 1
                continue
            if segment.whole_file:
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
            index = unit.indexes.get(segment.path) or read_packet_index(segment.path)
            packet_range = plan_packet_range(
                index,
                from_timestamp=segment.from_timestamp,
                fps=unit.fps,
                start=segment.start,
                stop=segment.stop,
                where=f"{segment.path} (camera {unit.key})",
            )
            reader = readers.get(segment.path)
            if reader is None:
                reader = readers[segment.path] = PacketReader(segment.path)
            packets = list(reader.packets(packet_range.first, packet_range.stop))
            source_file = (segment.source, segment.path)
            new_file = not unit.concatenate and previous not in (None, source_file)
            previous = source_file
            windows.append(
                sequence.append(index, packet_range, packets, reader.stream, new_file=new_file)
            )
            bytes_copied += packet_range.size_bytes
            if last_use[segment.path] == number:
                readers.pop(segment.path).close()
    finally:
        sequence.close()
        for reader in readers.values():
            reader.close()
    return CameraCopyResult(
        windows=tuple(windows),
        files=tuple(p.relative_to(unit.target).as_posix() for p in sequence.paths_written),
        bytes_copied=bytes_copied,
        files_copied_whole=whole,
    )


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
