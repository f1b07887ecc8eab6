"""`delete_episodes`: keep every other episode, in order; video by packet copy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, overload

from robosplice._types import DatasetLike, PathLike, ProgressReporter
from robosplice.dataset import Dataset, open_dataset
from robosplice.engine.backends import Backend
from robosplice.errors import SelectionError
from robosplice.ops._run import write_edit
from robosplice.ops._select import check_episode_indices
from robosplice.plan.model import Plan
from robosplice.plan.select import plan_keep, settings_of


def plan_delete(dataset: Dataset, episode_indices: Sequence[int]) -> Plan:
    """The plan that drops `episode_indices` and renumbers the rest 0..N-1.

    Raises:
        SelectionError: empty, unknown or repeated indices, or every episode.
    """
    if len(episode_indices) == 0:
        raise SelectionError("No episodes to delete: the list of episode indices is empty")
    deleted = set(check_episode_indices(dataset, episode_indices))
    kept = [i for i in range(dataset.num_episodes) if i not in deleted]
    if not kept:
        raise SelectionError(
            f"Cannot delete all episodes from dataset {dataset.root}: it would be empty"
        )
    return plan_keep(
        dataset,
        kept,
        operation="delete_episodes",
        settings=settings_of(dataset),
        arguments={"episode_indices": sorted(deleted)},
    )


@overload
def delete_episodes(
    dataset: DatasetLike,
    episode_indices: Sequence[int],
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
def delete_episodes(
    dataset: DatasetLike,
    episode_indices: Sequence[int],
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
def delete_episodes(
    dataset: DatasetLike,
    episode_indices: Sequence[int],
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


def delete_episodes(
    dataset: DatasetLike,
    episode_indices: Sequence[int],
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
    """Delete episodes; the others are renumbered in order. Video is copied, never re-encoded.

    Returns a handle on the new dataset (the plan when `dry_run`).

    `backend` ("serial", "process", "ray") and `workers` choose where work units run, as an
    `execution(...)` block does (None: the block's choice, else one by size); outputs are equal.

    Raises:
        SelectionError: "No episodes to delete", "Invalid episode indices",
            "Cannot delete all episodes" (subclasses ValueError, like the official errors).
        OutputExistsError: the output exists and neither overwrite nor in_place was given.

    Example:
        >>> delete_episodes("data/pusht", [3, 7], "data/pusht_clean")
    """
    source = open_dataset(dataset)
    plan = plan_delete(source, episode_indices)
    if dry_run:
        return plan
    return write_edit(
        source,
        plan,
        output_dir,
        repo_id,
        suffix="_modified",
        in_place=in_place,
        overwrite=overwrite,
        progress=progress,
        backend=backend,
        workers=workers,
    )
