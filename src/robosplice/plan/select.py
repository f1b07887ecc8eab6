"""Plans that keep whole episodes (and frame ranges) of one source: repack, delete, split, filter, trim."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from robosplice.dataset import Dataset
from robosplice.format.info import copy_info
from robosplice.plan.model import OutputEpisode, OutputSettings, Plan, Segment


def settings_of(dataset: Dataset, **overrides: Any) -> OutputSettings:
    """The source's own file settings, with any given override (None = keep)."""
    info = dataset.info
    values = {
        "chunks_size": info.get("chunks_size", 1000),
        "data_files_size_in_mb": info.get("data_files_size_in_mb", 100),
        "video_files_size_in_mb": info.get("video_files_size_in_mb", 200),
    }
    values.update({key: value for key, value in overrides.items() if value is not None})
    return OutputSettings(**values)


def kept_tasks(
    dataset: Dataset, episode_indices: Sequence[int]
) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Tasks used by the kept episodes in their original order, and the source→output map.

    The tasks come from the frames' task_index (`Dataset.frame_task_indices`), not from the
    episodes' `tasks` column, which may be missing or stale.
    """
    tasks = dataset.tasks
    by_episode = dataset.frame_task_indices
    used = {
        tasks[t]
        for i in episode_indices
        for t in by_episode.get(dataset.episodes[i].episode_index, [])
        if 0 <= t < len(tasks)
    }
    output = tuple(task for task in tasks if task in used)
    position = {task: i for i, task in enumerate(output)}
    return output, tuple(position.get(task, -1) for task in tasks)


def plan_keep(
    dataset: Dataset,
    episode_indices: Sequence[int],
    *,
    operation: str,
    settings: OutputSettings,
    ranges: Mapping[int, tuple[int, int]] | None = None,
    arguments: Mapping[str, Any] | None = None,
) -> Plan:
    """Keep `episode_indices` in the given order, each whole or cut to `ranges[episode]`."""
    ranges = ranges or {}
    episodes = []
    for episode_index in episode_indices:
        length = dataset.episodes[episode_index].length
        start, stop = ranges.get(episode_index, (0, length))
        episodes.append(
            OutputEpisode(
                segment=Segment(source=0, episode_index=episode_index, start=start, stop=stop),
                whole=(start, stop) == (0, length),
            )
        )
    tasks, task_map = kept_tasks(dataset, episode_indices)
    return Plan(
        operation=operation,
        sources=(dataset.root,),
        episodes=tuple(episodes),
        tasks=tasks,
        task_maps=(task_map,),
        info=copy_info(dataset.info),
        settings=settings,
        arguments=dict(arguments or {}),
    )
