"""`filter_episodes`: keep the episodes that match every given criterion."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, overload

from robosplice._types import DatasetLike, PathLike, ProgressReporter
from robosplice.dataset import Dataset, open_dataset
from robosplice.engine.backends import Backend
from robosplice.errors import SelectionError
from robosplice.ops._run import write_edit
from robosplice.ops._select import check_episode_indices, format_indices
from robosplice.plan.model import Plan
from robosplice.plan.select import plan_keep, settings_of

TaskMatcher = str | re.Pattern[str]


def _task_matches(task: str, matchers: Sequence[TaskMatcher]) -> bool:
    return any(
        (m.search(task) is not None) if isinstance(m, re.Pattern) else task == m for m in matchers
    )


def plan_filter(
    dataset: Dataset,
    *,
    episodes: Sequence[int] | None = None,
    tasks: TaskMatcher | Sequence[TaskMatcher] | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
    predicate: Callable[[Mapping[str, Any]], bool] | None = None,
) -> Plan:
    """Keep episodes in `episodes`, with a task matching `tasks` (exact string or compiled
    regex), `min_length <= length <= max_length`, and `predicate(row)` true; all criteria AND.

    Raises:
        SelectionError: no criterion, unknown episodes, or nothing matches.
    """
    if (
        episodes is None
        and tasks is None
        and min_length is None
        and max_length is None
        and predicate is None
    ):
        raise SelectionError(
            "No filter given: pass episodes, tasks, min_length, max_length or predicate"
        )
    matchers: list[TaskMatcher] = (
        [tasks] if isinstance(tasks, (str, re.Pattern)) else list(tasks or [])
    )
    allowed = set(check_episode_indices(dataset, episodes)) if episodes is not None else None
    rows = (
        dataset.episodes_table.select(
            [c for c in dataset.episodes_table.column_names if not c.startswith("stats/")]
        ).to_pylist()
        if predicate is not None
        else None
    )
    kept = []
    for record in dataset.episodes:
        index = record.episode_index
        if allowed is not None and index not in allowed:
            continue
        # The tasks its frames use (the episodes' `tasks` column may be missing or stale).
        if matchers and not any(
            _task_matches(dataset.tasks[t], matchers)
            for t in dataset.frame_task_indices.get(index, [])
            if 0 <= t < len(dataset.tasks)
        ):
            continue
        if min_length is not None and record.length < min_length:
            continue
        if max_length is not None and record.length > max_length:
            continue
        if predicate is not None and rows is not None and not predicate(rows[index]):
            continue
        kept.append(index)
    if not kept:
        raise SelectionError(
            f"No episode of {dataset.root} matches the filter (it has {dataset.num_episodes}"
            " episodes); nothing was written"
        )
    return plan_keep(
        dataset,
        kept,
        operation="filter_episodes",
        settings=settings_of(dataset),
        arguments={
            "kept": format_indices(kept),
            "tasks": [m.pattern if isinstance(m, re.Pattern) else m for m in matchers],
            "min_length": min_length,
            "max_length": max_length,
        },
    )


@overload
def filter_episodes(
    dataset: DatasetLike,
    *,
    episodes: Sequence[int] | None = None,
    tasks: TaskMatcher | Sequence[TaskMatcher] | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
    predicate: Callable[[Mapping[str, Any]], bool] | None = None,
    output_dir: PathLike | None = None,
    repo_id: str | None = None,
    in_place: bool = False,
    overwrite: bool = False,
    dry_run: Literal[True],
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Plan: ...


@overload
def filter_episodes(
    dataset: DatasetLike,
    *,
    episodes: Sequence[int] | None = None,
    tasks: TaskMatcher | Sequence[TaskMatcher] | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
    predicate: Callable[[Mapping[str, Any]], bool] | None = None,
    output_dir: PathLike | None = None,
    repo_id: str | None = None,
    in_place: bool = False,
    overwrite: bool = False,
    dry_run: Literal[False] = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Dataset: ...


@overload
def filter_episodes(
    dataset: DatasetLike,
    *,
    episodes: Sequence[int] | None = None,
    tasks: TaskMatcher | Sequence[TaskMatcher] | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
    predicate: Callable[[Mapping[str, Any]], bool] | None = None,
    output_dir: PathLike | None = None,
    repo_id: str | None = None,
    in_place: bool = False,
    overwrite: bool = False,
    dry_run: bool = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Dataset | Plan: ...


def filter_episodes(
    dataset: DatasetLike,
    *,
    episodes: Sequence[int] | None = None,
    tasks: TaskMatcher | Sequence[TaskMatcher] | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
    predicate: Callable[[Mapping[str, Any]], bool] | None = None,
    output_dir: PathLike | None = None,
    repo_id: str | None = None,
    in_place: bool = False,
    overwrite: bool = False,
    dry_run: bool = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Dataset | Plan:
    """Keep matching episodes, renumbered in order. Video copied by packets.

    `backend` ("serial", "process", "ray") and `workers` choose where work units run, as an
    `execution(...)` block does (None: the block's choice, else one by size); outputs are equal.

    Raises:
        SelectionError: no criterion, or no episode matches.

    Example:
        >>> filter_episodes("data/pusht", tasks=re.compile("push"), min_length=50, output_dir="data/push")
    """
    source = open_dataset(dataset)
    plan = plan_filter(
        source,
        episodes=episodes,
        tasks=tasks,
        min_length=min_length,
        max_length=max_length,
        predicate=predicate,
    )
    if dry_run:
        return plan
    return write_edit(
        source,
        plan,
        output_dir,
        repo_id,
        suffix="_filtered",
        in_place=in_place,
        overwrite=overwrite,
        progress=progress,
        backend=backend,
        workers=workers,
    )
