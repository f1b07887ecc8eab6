"""`trim_episodes`: keep a frame range of chosen episodes (cut idle starts and ends), losslessly.

A range that starts between keyframes is copied from the keyframe before it, and its
`from_timestamp` points at the first kept frame, so the loader never shows the extra frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, overload

from robosplice._types import DatasetLike, PathLike, ProgressReporter
from robosplice.dataset import Dataset, open_dataset
from robosplice.engine.backends import Backend
from robosplice.errors import SelectionError
from robosplice.ops._run import write_edit
from robosplice.ops._select import check_episode_indices
from robosplice.plan.model import Plan
from robosplice.plan.select import plan_keep, settings_of

FrameRange = tuple[int, int]


def seconds_to_frames(seconds: float, fps: float) -> int:
    """A time in an episode as the nearest frame number."""
    return round(seconds * fps)


def plan_trim(dataset: Dataset, ranges: Mapping[int, FrameRange]) -> Plan:
    """Every episode, those in `ranges` cut to frames [start, stop) (stop exclusive).

    Raises:
        SelectionError: no ranges, unknown episodes, or a range outside its episode.
    """
    if not ranges:
        raise SelectionError("No ranges to trim: give {episode_index: (start, stop)}")
    check_episode_indices(dataset, list(ranges), what="trim ranges")
    problems = []
    normalized: dict[int, FrameRange] = {}
    for episode_index, frame_range in ranges.items():
        length = dataset.episodes[episode_index].length
        start, stop = (int(v) for v in frame_range)
        if not 0 <= start < stop <= length:
            problems.append(
                f"episode {episode_index}: range ({start}, {stop}) is outside its frames 0–{length}"
                " (need 0 <= start < stop <= length)"
            )
        normalized[int(episode_index)] = (start, stop)
    if problems:
        raise SelectionError("Invalid trim ranges: " + "; ".join(problems))
    return plan_keep(
        dataset,
        range(dataset.num_episodes),
        operation="trim_episodes",
        settings=settings_of(dataset),
        ranges=normalized,
        arguments={"ranges": {str(k): list(v) for k, v in normalized.items()}},
    )


@overload
def trim_episodes(
    dataset: DatasetLike,
    ranges: Mapping[int, FrameRange],
    output_dir: PathLike | None = None,
    repo_id: str | None = None,
    *,
    in_place: bool = False,
    overwrite: bool = False,
    dry_run: Literal[True],
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Plan: ...


@overload
def trim_episodes(
    dataset: DatasetLike,
    ranges: Mapping[int, FrameRange],
    output_dir: PathLike | None = None,
    repo_id: str | None = None,
    *,
    in_place: bool = False,
    overwrite: bool = False,
    dry_run: Literal[False] = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Dataset: ...


@overload
def trim_episodes(
    dataset: DatasetLike,
    ranges: Mapping[int, FrameRange],
    output_dir: PathLike | None = None,
    repo_id: str | None = None,
    *,
    in_place: bool = False,
    overwrite: bool = False,
    dry_run: bool = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Dataset | Plan: ...


def trim_episodes(
    dataset: DatasetLike,
    ranges: Mapping[int, FrameRange],
    output_dir: PathLike | None = None,
    repo_id: str | None = None,
    *,
    in_place: bool = False,
    overwrite: bool = False,
    dry_run: bool = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Dataset | Plan:
    """Keep frames [start, stop) of the episodes named in `ranges`; others stay whole.

    `backend` ("serial", "process", "ray") and `workers` choose where work units run, as an
    `execution(...)` block does (None: the block's choice, else one by size); outputs are equal.

    Raises:
        SelectionError: unknown episodes or ranges outside an episode.

    Example:
        >>> trim_episodes("data/pusht", {0: (15, 240), 4: (0, 180)}, "data/pusht_trimmed")
    """
    source = open_dataset(dataset)
    plan = plan_trim(source, ranges)
    if dry_run:
        return plan
    return write_edit(
        source,
        plan,
        output_dir,
        repo_id,
        suffix="_trimmed",
        in_place=in_place,
        overwrite=overwrite,
        progress=progress,
        backend=backend,
        workers=workers,
    )
