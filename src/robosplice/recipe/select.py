"""Which source episodes a selection names: index checks and the filter's criteria. Pure.

Shared by recipe steps and the ops that take episode lists (delete, split, trim, filter, tasks).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from robosplice.dataset import Dataset
from robosplice.errors import SelectionError


def format_indices(indices: Iterable[int]) -> str:
    """`[1, 2, 3, 7]` as `1–3, 7`, for messages about many episodes."""
    values = sorted(set(indices))
    parts: list[str] = []
    start = previous = None
    for value in [*values, None]:
        if value is not None and previous is not None and value == previous + 1:
            previous = value
            continue
        if start is not None:
            parts.append(f"{start}" if start == previous else f"{start}–{previous}")
        start = previous = value
    return ", ".join(parts)


def check_episode_indices(
    dataset: Dataset, episode_indices: Sequence[int], *, what: str = "episodes"
) -> list[int]:
    """Return the indices as ints, or raise naming every unknown or repeated one."""
    try:
        values = [int(i) for i in episode_indices]
    except (TypeError, ValueError):
        raise SelectionError(
            f"Invalid episode indices: {list(episode_indices)!r} are not integers"
        ) from None
    count = dataset.num_episodes
    unknown = sorted({i for i in values if not 0 <= i < count})
    if unknown:
        raise SelectionError(
            f"Invalid episode indices: {set(unknown)} — {what} {format_indices(unknown)} are not in"
            f" {dataset.root} (it has {format_indices(range(count)) or 'none'}); run"
            f" 'robosplice info {dataset.root}' to list them"
        )
    repeated = sorted(i for i, n in Counter(values).items() if n > 1)
    if repeated:
        raise SelectionError(
            f"Invalid episode indices: {format_indices(repeated)} given more than once in {what}"
        )
    return values


TaskMatcher = str | re.Pattern[str]


def task_matchers(tasks: TaskMatcher | Sequence[TaskMatcher] | None) -> list[TaskMatcher]:
    """`tasks` as a list of matchers (one string or pattern is a list of one)."""
    return [tasks] if isinstance(tasks, (str, re.Pattern)) else list(tasks or [])


def _task_matches(task: str, matchers: Sequence[TaskMatcher]) -> bool:
    return any(
        (m.search(task) is not None) if isinstance(m, re.Pattern) else task == m for m in matchers
    )


def episodes_matching(
    dataset: Dataset,
    *,
    episodes: Sequence[int] | None = None,
    tasks: TaskMatcher | Sequence[TaskMatcher] | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
    predicate: Callable[[Mapping[str, Any]], bool] | None = None,
) -> list[int]:
    """Episodes in `episodes`, with a task matching `tasks` (exact string or compiled regex),
    `min_length <= length <= max_length`, and `predicate(row)` true; all criteria AND.

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
    matchers = task_matchers(tasks)
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
    return kept
