"""`modify_tasks`: set, override or replace task strings; tasks table, data and episodes agree.

Per episode, as in lerobot 0.6.1: `episode_tasks[episode]` > `task_replacements` > `new_task` >
the original task. Unlike 0.6.1, replacements are applied frame by frame through the task table,
so an episode with several tasks keeps them (each replaced or kept); an episode override or
`new_task` sets every frame of the episode to that one task. The new tasks table is sorted
alphabetically, as 0.6.1 sorts it. The output is a new dataset, or the source replaced
atomically with `in_place=True` (0.6.1 rewrites files in place without a backup).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Mapping
from typing import Literal, TypeAlias, overload

from robosplice._types import DatasetLike, PathLike, ProgressReporter
from robosplice.dataset import Dataset, open_dataset
from robosplice.engine.backends import Backend
from robosplice.errors import SelectionError
from robosplice.ops._run import write_edit
from robosplice.ops._select import check_episode_indices
from robosplice.plan.model import Plan
from robosplice.plan.select import plan_keep, settings_of

logger = logging.getLogger(__name__)

TaskPattern: TypeAlias = "str | re.Pattern[str]"
"""A replacement key: an exact task string, or a compiled regex (`pattern.sub` is applied)."""


def _check_text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise SelectionError(f"{what} must be a non-empty string, got {value!r}")
    return value


def _replacement_table(
    dataset: Dataset, task_replacements: Mapping[TaskPattern, str]
) -> dict[int, str]:
    """Source task_index → new string, for every task a replacement applies to.

    Exact keys win over patterns; among patterns the first that matches (in the given order).
    """
    tasks = dataset.tasks
    exact = {
        k: _check_text(v, f"replacement for {k!r}")
        for k, v in task_replacements.items()
        if isinstance(k, str)
    }
    patterns = [
        (k, _check_text(v, f"replacement for {k.pattern!r}"))
        for k, v in task_replacements.items()
        if isinstance(k, re.Pattern)
    ]
    others = [k for k in task_replacements if not isinstance(k, (str, re.Pattern))]
    if others:
        raise SelectionError(
            f"Task replacements reference unknown tasks: {others!r} are neither task strings nor"
            " compiled regexes"
        )
    unknown = sorted(k for k in exact if k not in tasks)
    unknown += sorted(p.pattern for p, _ in patterns if not any(p.search(t) for t in tasks))
    if unknown:
        raise SelectionError(
            f"Task replacements reference unknown tasks: {unknown}; {dataset.root} has tasks"
            f" {tasks}"
        )
    table: dict[int, str] = {}
    for task_index, task in enumerate(tasks):
        if task in exact:
            table[task_index] = exact[task]
            continue
        for pattern, replacement in patterns:
            if pattern.search(task):
                table[task_index] = pattern.sub(replacement, task)
                break
    return table


def plan_modify_tasks(
    dataset: Dataset,
    new_task: str | None = None,
    episode_tasks: Mapping[int, str] | None = None,
    task_replacements: Mapping[TaskPattern, str] | None = None,
) -> Plan:
    """The plan that rewrites every episode's tasks (see the module docstring for the rules).

    Raises:
        SelectionError: nothing given, unknown episodes, replacements of unknown tasks, an
            episode left without a task, or an empty task string.
    """
    if not new_task and not episode_tasks and not task_replacements:
        raise SelectionError(
            "Must specify at least one of new_task, episode_tasks, or task_replacements"
        )
    overrides = dict(episode_tasks or {})
    check_episode_indices(dataset, list(overrides), what="episode_tasks")
    overrides = {int(e): _check_text(t, f"episode_tasks[{e}]") for e, t in overrides.items()}
    if new_task:
        _check_text(new_task, "new_task")
    tasks = dataset.tasks
    replaced = _replacement_table(dataset, task_replacements or {})
    episode_override: dict[int, str] = {}
    used: set[str] = set()
    for episode_index, record in enumerate(dataset.episodes):
        # From the frames, not the episodes' `tasks` column (it may be missing or stale).
        episode_task_indices = [
            t
            for t in dataset.frame_task_indices.get(record.episode_index, [])
            if 0 <= t < len(tasks)
        ]
        if episode_index in overrides:
            episode_override[episode_index] = overrides[episode_index]
        elif any(i in replaced for i in episode_task_indices):
            used.update(replaced.get(i, tasks[i]) for i in episode_task_indices)
        elif new_task:
            episode_override[episode_index] = new_task
        elif episode_task_indices:
            used.update(tasks[i] for i in episode_task_indices)
        else:
            raise SelectionError(
                f"Episode {episode_index} has no task; provide new_task or episode_tasks"
            )
    used.update(episode_override.values())
    output_tasks = tuple(sorted(used))
    output_position = {task: i for i, task in enumerate(output_tasks)}
    task_map = tuple(output_position.get(replaced.get(i, task), -1) for i, task in enumerate(tasks))
    plan = plan_keep(
        dataset,
        range(dataset.num_episodes),
        operation="modify_tasks",
        settings=dataclasses.replace(settings_of(dataset), keep_data_files=True),
        arguments={
            "new_task": new_task,
            "episode_tasks": {str(k): v for k, v in overrides.items()},
            "task_replacements": {
                (k.pattern if isinstance(k, re.Pattern) else k): v
                for k, v in (task_replacements or {}).items()
            },
        },
    )
    episodes = tuple(
        dataclasses.replace(episode, task_override=episode_override.get(number))
        for number, episode in enumerate(plan.episodes)
    )
    return dataclasses.replace(plan, episodes=episodes, tasks=output_tasks, task_maps=(task_map,))


@overload
def modify_tasks(
    dataset: DatasetLike,
    new_task: str | None = None,
    episode_tasks: Mapping[int, str] | None = None,
    task_replacements: Mapping[TaskPattern, str] | None = None,
    *,
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
def modify_tasks(
    dataset: DatasetLike,
    new_task: str | None = None,
    episode_tasks: Mapping[int, str] | None = None,
    task_replacements: Mapping[TaskPattern, str] | None = None,
    *,
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
def modify_tasks(
    dataset: DatasetLike,
    new_task: str | None = None,
    episode_tasks: Mapping[int, str] | None = None,
    task_replacements: Mapping[TaskPattern, str] | None = None,
    *,
    output_dir: PathLike | None = None,
    repo_id: str | None = None,
    in_place: bool = False,
    overwrite: bool = False,
    dry_run: bool = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Dataset | Plan: ...


def modify_tasks(
    dataset: DatasetLike,
    new_task: str | None = None,
    episode_tasks: Mapping[int, str] | None = None,
    task_replacements: Mapping[TaskPattern, str] | None = None,
    *,
    output_dir: PathLike | None = None,
    repo_id: str | None = None,
    in_place: bool = False,
    overwrite: bool = False,
    dry_run: bool = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Dataset | Plan:
    """Set one task for every episode, per-episode tasks, or replace task strings.

    Precedence per episode: `episode_tasks` > `task_replacements` > `new_task` > original.
    `task_replacements` keys are exact task strings or compiled regexes (`pattern.sub(new,
    task)` is applied). Writes a new dataset, or replaces the source atomically with
    `in_place=True` (the returned handle then has the source's root).

    `backend` ("serial", "process", "ray") and `workers` choose where work units run, as an
    `execution(...)` block does (None: the block's choice, else one by size); outputs are equal.

    Raises:
        SelectionError: "Must specify at least one of new_task, episode_tasks, or
            task_replacements", "Invalid episode indices", "Task replacements reference unknown
            tasks" (subclasses ValueError, like the official errors).
        OutputExistsError: the output exists and neither overwrite nor in_place was given.

    Example:
        >>> modify_tasks("data/pusht", task_replacements={"push T": "push the T block"},
        ...     in_place=True)
    """
    source = open_dataset(dataset)
    plan = plan_modify_tasks(source, new_task, episode_tasks, task_replacements)
    if dry_run:
        return plan
    if not in_place and output_dir is None:
        logger.info("modify_tasks writes a new dataset; the source is unchanged (in_place=False)")
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
