"""Plan the packet copy of each camera an edit copies: segments, whole files, work units.

A run of output episodes that keeps a source video file whole, in order, is copied as the file it
is (or hard-linked); every other segment is copied by packets (`engine/units.py`). Reads each
file's packet index and header to decide (a file left on the Hub, `video_files_kept_remote`: its
metadata alone); writes nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import av

from robosplice.dataset import Dataset
from robosplice.engine.units import (
    CameraCopyResult,
    CameraCopyUnit,
    CopySegment,
    RemoteFile,
    split_by_file,
)
from robosplice.errors import VideoError
from robosplice.format import info as info_format
from robosplice.format.episodes import video_columns
from robosplice.format.paths import mebibytes_to_bytes
from robosplice.format.video import read_packet_index
from robosplice.plan.model import OutputEpisode, Plan

_KEPT_REMOTE: contextvars.ContextVar[Mapping[Path, RemoteFile] | None] = contextvars.ContextVar(
    "robosplice_kept_remote", default=None
)


@contextlib.contextmanager
def video_files_kept_remote(files: Mapping[Path, RemoteFile]) -> Iterator[None]:
    """Within the block, these source video files (absent here) stay on the Hub repo the output
    goes back to: a run keeping one whole records it instead of copying it, judged from the
    metadata and the remote size alone (nothing is read); any other use of one is an error.
    The mapping may be filled after the block is entered (ops/_lazy.py does, once it planned).
    """
    token = _KEPT_REMOTE.set(files)
    try:
        yield
    finally:
        _KEPT_REMOTE.reset(token)


def plan_camera_units(
    plan: Plan, datasets: list[Dataset], target: Path, *, link_files: bool
) -> list[CameraCopyUnit]:
    """The copy units of every camera `plan` copies (not encodes), one per output file run."""
    features = plan.info["features"]
    copied_keys = [k for k in info_format.video_keys(features) if k not in plan.videos]
    return [
        part
        for key in (copied_keys if plan.episodes else [])
        for part in split_by_file(_camera_unit(plan, datasets, target, key, link_files=link_files))
    ]


def place_windows(
    rows: list[dict[str, Any]], units: list[CameraCopyUnit], results: list[CameraCopyResult]
) -> tuple[list[str], int]:
    """Write each camera's windows into the episode rows, in order; return the files written
    and the bytes copied."""
    video_files: list[str] = []
    bytes_copied = 0
    filled: dict[str, int] = {}  # per camera: output episodes placed so far
    for unit, result in zip(units, results, strict=True):
        chunk, file, start, end = video_columns(unit.key)
        first = filled.get(unit.key, 0)
        filled[unit.key] = first + len(result.windows)
        for row, written in zip(rows[first : filled[unit.key]], result.windows, strict=True):
            row.update(
                {
                    chunk: written.position[0],
                    file: written.position[1],
                    start: written.from_timestamp,
                    end: written.to_timestamp,
                }
            )
        video_files += result.files
        bytes_copied += result.bytes_copied
    return video_files, bytes_copied


def file_episodes(dataset: Dataset, key: str) -> dict[tuple[int, int], list[int]]:
    """Source episodes of each video file of camera `key`, in the order they sit in the file."""
    files: dict[tuple[int, int], list[tuple[float, int]]] = {}
    for record in dataset.episodes:
        window = record.videos.get(key)
        if window is not None:
            files.setdefault(window.position, []).append(
                (window.from_timestamp, record.episode_index)
            )
    return {position: [e for _, e in sorted(pairs)] for position, pairs in files.items()}


def runs_whole_file(run: Sequence[OutputEpisode], source: int, in_file: Sequence[int]) -> bool:
    """Whether output episodes `run` are every episode `in_file` (a source file's episodes in
    their order) of `source`, each whole and at full rate: the file can be kept as it is."""
    return [e.segment.episode_index for e in run] == list(in_file) and all(
        e.whole and e.segment.step == 1 and e.segment.source == source for e in run
    )


def _camera_unit(
    plan: Plan, datasets: list[Dataset], target: Path, key: str, *, link_files: bool
) -> CameraCopyUnit:
    """The copy unit of camera `key`, marking runs of episodes that keep a source file whole.

    A run qualifies when it is every episode of one source file, whole and in order, and the
    file's packets are under the size limit and fill it enough that packet copy would start a
    new file after them anyway (or files are kept apart): then the file is copied as it is.
    """
    settings = plan.settings
    limit = mebibytes_to_bytes(settings.video_files_size_in_mb)
    segments: list[CopySegment] = []
    remote = _KEPT_REMOTE.get() or {}
    layouts: dict[int, dict[tuple[int, int], list[int]]] = {}
    payload_bytes: dict[Path, int] = {}
    for episode in plan.episodes:
        segment = episode.segment
        source_key = plan.columns.source_name(segment.source, key)
        dataset = datasets[segment.source]
        window = dataset.episodes[segment.episode_index].videos[source_key]
        segments.append(
            CopySegment(
                source=segment.source,
                path=dataset.video_path(source_key, window.position),
                from_timestamp=window.from_timestamp,
                to_timestamp=window.to_timestamp,
                start=segment.start,
                stop=segment.stop,
            )
        )
    number = 0
    while number < len(plan.episodes):
        episode = plan.episodes[number]
        segment = episode.segment
        source_key = plan.columns.source_name(segment.source, key)
        if segment.source not in layouts:
            layouts[segment.source] = file_episodes(datasets[segment.source], source_key)
        position = datasets[segment.source].episodes[segment.episode_index].videos[source_key]
        in_file = layouts[segment.source][position.position]
        if in_file[0] != segment.episode_index:  # a whole file's run starts at its first episode
            number += 1
            continue
        run = plan.episodes[number : number + len(in_file)]
        # Payload bytes, as the writer counts them against the limit (the index is the one
        # pre-flight validation read).
        path = segments[number].path
        kept = remote.get(path)  # stays on the Hub: kept whole if the run is (its size was judged)
        if kept is None and path not in payload_bytes:
            payload_bytes[path] = int(read_packet_index(path).size_bytes.sum())
        size = payload_bytes.get(path, 0)
        full = size * (1 + 1 / len(in_file)) >= limit or not settings.concatenate_videos
        if (
            (kept is not None or (size < limit and full))
            and runs_whole_file(run, segment.source, in_file)
            and (
                kept is not None
                or _frames_in_file(segments[number].path) == sum(e.segment.length for e in run)
            )
        ):
            segments[number : number + len(run)] = [
                replace(s, remote=kept) for s in segments[number : number + len(run)]
            ]
            segments[number] = replace(segments[number], whole_file=True, run_length=len(run))
            number += len(run)
        else:
            number += 1
    in_whole_run = [False] * len(segments)  # segments copied as part of a whole file
    for start, segment in enumerate(segments):
        if segment.whole_file:
            in_whole_run[start : start + segment.run_length] = [True] * segment.run_length
    copied = {s.path for n, s in enumerate(segments) if not in_whole_run[n]}
    if copied & remote.keys():
        raise VideoError(
            f"camera {key}: {min(copied & remote.keys())} stays on the Hub, but the edit reads"
            " it; this is a robosplice bug, please report it"
        )
    # Indexes only demuxing could build travel with the unit (pre-flight validation read them);
    # a unit reads the others from the mp4 tables itself, in milliseconds, so the unit stays
    # small however many files the camera has.
    demuxed = {
        path: index for path in sorted(copied) if (index := read_packet_index(path)).track is None
    }
    return CameraCopyUnit(
        indexes=demuxed,
        key=key,
        target=target,
        fps=float(plan.info["fps"]),
        segments=tuple(segments),
        file_size_mb=settings.video_files_size_in_mb,
        chunks_size=settings.chunks_size,
        concatenate=settings.concatenate_videos,
        link_files=link_files,
    )


def _frames_in_file(path: Path) -> int:
    """Frames the mp4 header declares (reads the header only; -1 if it cannot say)."""
    try:
        with av.open(str(path)) as container:
            return int(container.streams.video[0].frames) or -1
    except (av.error.FFmpegError, IndexError, OSError):
        return -1
