"""`filter_episodes`: keep the episodes that match every given criterion."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, overload

from robosplice._types import DatasetLike, PathLike, ProgressReporter
from robosplice.dataset import Dataset, open_dataset
from robosplice.engine.backends import Backend
from robosplice.ops._run import write_edit
from robosplice.plan.model import Plan
from robosplice.plan.select import plan_keep, settings_of
from robosplice.recipe.select import (
    TaskMatcher,
    episodes_matching,
    format_indices,
    task_matchers,
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
    """The plan keeping the episodes of `recipe.select.episodes_matching` (the same criteria).

    Raises:
        SelectionError: no criterion, unknown episodes, or nothing matches.
    """
    kept = episodes_matching(
        dataset,
        episodes=episodes,
        tasks=tasks,
        min_length=min_length,
        max_length=max_length,
        predicate=predicate,
    )
    return plan_keep(
        dataset,
        kept,
        operation="filter_episodes",
        settings=settings_of(dataset),
        arguments={
            "kept": format_indices(kept),
            "tasks": [m.pattern if isinstance(m, re.Pattern) else m for m in task_matchers(tasks)],
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
