"""`split_dataset`: several outputs, each keeping a subset of episodes (fractions or lists)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal, overload

import numpy as np

from robosplice._types import DatasetLike, PathLike, ProgressReporter
from robosplice.commit import check_output_target, staged_output, target_lock
from robosplice.dataset import Dataset, open_dataset
from robosplice.engine.backends import Backend, check_execution
from robosplice.engine.run import execute
from robosplice.errors import SelectionError
from robosplice.history import write_history
from robosplice.ops._lazy import fetch_planned_files
from robosplice.ops._run import lerobot_home, prepare
from robosplice.ops._select import check_episode_indices, format_indices
from robosplice.plan.model import Plan
from robosplice.plan.select import plan_keep, settings_of

logger = logging.getLogger(__name__)

_FRACTION_SLACK = 1e-9


def _episodes_by_fraction(
    count: int, splits: Mapping[str, float], order: Sequence[int]
) -> dict[str, list[int]]:
    """Official rounding: each split takes int(count × f) in order; the last takes the rest."""
    total = sum(splits.values())
    if total > 1.0 + _FRACTION_SLACK:
        raise SelectionError(
            f"Split fractions must sum to <= 1.0, got {total:g} from {dict(splits)}"
        )
    negative = {name: f for name, f in splits.items() if f <= 0}
    if negative:
        raise SelectionError(f"Split fractions must be > 0, got {negative}")
    names = list(splits)
    assigned: dict[str, list[int]] = {}
    start = 0
    for number, name in enumerate(names):
        stop = count if number == len(names) - 1 else start + int(count * splits[name])
        assigned[name] = sorted(order[start:stop])
        start = stop
    empty = [name for name, episodes in assigned.items() if not episodes]
    if empty:
        raise SelectionError(
            f"split(s) {empty} would get no episodes: {count} episodes cannot be split as"
            f" {dict(splits)}; use larger fractions or explicit episode lists"
        )
    return assigned


def plan_split(
    dataset: Dataset,
    splits: Mapping[str, float | Sequence[int]],
    *,
    shuffle: bool = False,
    seed: int | None = None,
) -> dict[str, Plan]:
    """One plan per split. Fractions (all values floats) or explicit episode lists.

    Raises:
        SelectionError: "No splits provided", fractions summing over 1, an empty split,
            "Episodes cannot appear in multiple splits", unknown episode indices.
    """
    if not splits:
        raise SelectionError("No splits provided: give fractions or episode lists per split name")
    values = list(splits.values())
    if all(isinstance(v, float) for v in values):
        order = list(range(dataset.num_episodes))
        if shuffle:
            order = [int(i) for i in np.random.default_rng(seed).permutation(order)]
        assigned = _episodes_by_fraction(dataset.num_episodes, splits, order)  # type: ignore[arg-type]
    elif all(not isinstance(v, (int, float, str)) for v in values):
        assigned = {}
        for name, episodes in splits.items():
            listed = check_episode_indices(dataset, episodes, what=f"split {name!r}")  # type: ignore[arg-type]
            if not listed:
                raise SelectionError(f"Split {name!r} has no episodes")
            assigned[name] = sorted(listed)
        seen: dict[int, str] = {}
        overlaps = []
        for name, episodes in assigned.items():
            for episode in episodes:
                if episode in seen:
                    overlaps.append(f"episode {episode} in {seen[episode]!r} and {name!r}")
                seen[episode] = name
        if overlaps:
            raise SelectionError(
                "Episodes cannot appear in multiple splits: " + "; ".join(overlaps)
            )
    else:
        raise SelectionError(
            f"splits must be all fractions (floats) or all episode lists, got {dict(splits)}"
        )
    settings = settings_of(dataset)
    return {
        name: plan_keep(
            dataset,
            episodes,
            operation=f"split_dataset[{name}]",
            settings=settings,
            arguments={"split": name, "episodes": format_indices(episodes), "seed": seed},
        )
        for name, episodes in assigned.items()
    }


@overload
def split_dataset(
    dataset: DatasetLike,
    splits: Mapping[str, float | Sequence[int]],
    output_dir: PathLike | None = None,
    *,
    shuffle: bool = False,
    seed: int | None = None,
    overwrite: bool = False,
    dry_run: Literal[True],
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> dict[str, Plan]: ...


@overload
def split_dataset(
    dataset: DatasetLike,
    splits: Mapping[str, float | Sequence[int]],
    output_dir: PathLike | None = None,
    *,
    shuffle: bool = False,
    seed: int | None = None,
    overwrite: bool = False,
    dry_run: Literal[False] = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> dict[str, Dataset]: ...


@overload
def split_dataset(
    dataset: DatasetLike,
    splits: Mapping[str, float | Sequence[int]],
    output_dir: PathLike | None = None,
    *,
    shuffle: bool = False,
    seed: int | None = None,
    overwrite: bool = False,
    dry_run: bool = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> dict[str, Dataset] | dict[str, Plan]: ...


def split_dataset(
    dataset: DatasetLike,
    splits: Mapping[str, float | Sequence[int]],
    output_dir: PathLike | None = None,
    *,
    shuffle: bool = False,
    seed: int | None = None,
    overwrite: bool = False,
    dry_run: bool = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> dict[str, Dataset] | dict[str, Plan]:
    """Split into `output_dir/<name>` per split; every split is published only if all succeed.

    `backend` ("serial", "process", "ray") and `workers` choose where work units run, as an
    `execution(...)` block does (None: the block's choice, else one by size); outputs are equal.

    Raises:
        SelectionError: bad splits (see `plan_split`).
        OutputExistsError: a split folder exists and overwrite was not given.

    Example:
        >>> split_dataset("data/pusht", {"train": 0.8, "val": 0.2}, "data/pusht_splits", seed=0, shuffle=True)
    """
    source = open_dataset(dataset)
    plans = plan_split(source, splits, shuffle=shuffle, seed=seed)
    if dry_run:
        return plans
    bad_names = [name for name in plans if name in ("", ".", "..") or "/" in name or "\\" in name]
    if bad_names:
        raise SelectionError(
            f"split names {bad_names} are not plain folder names; use names like 'train', 'val'"
        )
    check_execution(backend, workers)
    targets = {
        name: (
            Path(output_dir).expanduser().resolve() / name
            if output_dir is not None
            else lerobot_home() / f"{source.repo_id}_{name}"
        )
        for name in plans
    }
    for target in targets.values():
        check_output_target(target, [source.root], overwrite=overwrite)
    remote = fetch_planned_files(list(plans.values()))  # Hub sources: what the splits read
    first, preflight = prepare(next(iter(plans.values())), progress=progress, remote=remote)
    plans = {name: dataclasses.replace(plan, stats=first.stats) for name, plan in plans.items()}
    repairs = [note.to_json() for note in preflight.notes]
    parent = Path(output_dir).expanduser().resolve() if output_dir is not None else None
    if parent is not None and not parent.exists():
        # One staging folder holding every split, renamed once: all splits appear or none.
        check_output_target(parent, [source.root])
        with staged_output(parent, replace=False) as staging:
            for name, plan in plans.items():
                result = execute(
                    plan, staging / name, progress=progress, backend=backend, workers=workers
                )
                write_history(staging / name, plan, repairs=repairs, stats=result.stats_record)
    else:
        with contextlib.ExitStack() as stack:
            if parent is not None:
                # Held so a split creating this parent cannot race us, and so the lock a killed
                # run left after publishing the parent is taken over and removed.
                stack.enter_context(target_lock(parent))
            for name, plan in plans.items():
                staging = stack.enter_context(staged_output(targets[name], replace=overwrite))
                result = execute(plan, staging, progress=progress, backend=backend, workers=workers)
                write_history(staging, plan, repairs=repairs, stats=result.stats_record)
    return {name: Dataset(targets[name], repo_id=f"{source.repo_id}_{name}") for name in plans}
