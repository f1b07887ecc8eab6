"""`apply`: run a recipe (`robosplice.recipe`) on its source as ONE plan, in one engine pass.

Every step is folded by its spec (`robosplice.recipe.steps`) into one `Folded` value, which
becomes a single Plan before anything is written:
- the kept source episodes and their frame ranges (`Kept`, merged by the recipe's one rule);
- column changes (names follow the steps in order, so a rename may be followed by a removal of
  the new name);
- the merged `modify_tasks` edits, as the plan's task table and per-episode overrides, keeping
  only tasks of kept episodes;
- `recompute_stats`: the engine recomputes every numeric stat (and camera stats when every such
  step says `skip_image_video: false`).
The engine then streams rows and copies video packets once (no decode, no encode), and the
staging folder is published atomically. The edit log records the whole recipe.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any, Literal, overload

from robosplice._types import DatasetLike, PathLike, ProgressReporter
from robosplice.dataset import Dataset, open_dataset
from robosplice.engine.backends import Backend
from robosplice.errors import RecipeError, SelectionError, SourceMismatchError
from robosplice.history import public_name
from robosplice.ops._run import write_plan
from robosplice.ops.features import plan_modify_features
from robosplice.ops.stats import plan_recompute_stats
from robosplice.ops.tasks import plan_modify_tasks
from robosplice.plan.model import Plan
from robosplice.plan.select import plan_keep, settings_of
from robosplice.recipe import Recipe, fingerprint, fold_steps, load_recipe
from robosplice.recipe.select import format_indices


def _with_tasks(dataset: Dataset, plan: Plan, changes: Mapping[str, Any]) -> Plan:
    """`plan` with the task edits applied to its kept episodes; unused tasks are dropped."""
    episode_tasks = {int(k): v for k, v in changes.get("episode_tasks", {}).items()}
    tasks_plan = plan_modify_tasks(
        dataset, changes.get("new_task"), episode_tasks, changes.get("task_replacements")
    )
    overrides = [e.task_override for e in tasks_plan.episodes]
    source_map = tasks_plan.task_maps[0]
    position = {task: i for i, task in enumerate(dataset.tasks)}
    has_tasks_column = "tasks" in dataset.episodes_table.column_names
    used: set[str] = set()
    for episode in plan.episodes:
        index = episode.segment.episode_index
        if overrides[index] is not None:
            used.add(overrides[index])
            continue
        record = dataset.episodes[index]
        sources = (
            [position[t] for t in record.tasks if t in position]
            if has_tasks_column
            else range(len(dataset.tasks))
        )
        used.update(tasks_plan.tasks[source_map[i]] for i in sources if source_map[i] >= 0)
    tasks = tuple(task for task in tasks_plan.tasks if task in used)
    output_position = {task: i for i, task in enumerate(tasks)}
    task_map = tuple(
        output_position.get(tasks_plan.tasks[i], -1) if i >= 0 else -1 for i in source_map
    )
    episodes = tuple(
        dataclasses.replace(e, task_override=overrides[e.segment.episode_index])
        for e in plan.episodes
    )
    return dataclasses.replace(plan, episodes=episodes, tasks=tasks, task_maps=(task_map,))


def _public_recipe(recipe: Recipe) -> dict[str, Any]:
    """The recipe as the edit log records it: its source path as a `public_name` when absolute
    (review writes the folder's absolute path; the log is pushed with the dataset)."""
    document = recipe.to_json()
    if PurePath(recipe.source_path).is_absolute():
        document["source"] = {**document["source"], "path": public_name(recipe.source_path)}
    return document


def plan_apply(dataset: Dataset, recipe: Recipe) -> Plan:
    """The one plan that does every step of `recipe` to `dataset` (no fingerprint check here).

    Raises:
        SelectionError: a step names unknown episodes, features or tasks, a range outside its
            episode, or the recipe would leave no episode.
    """
    folded = fold_steps(recipe.steps, dataset)
    kept = folded.kept.episodes(dataset.num_episodes)
    if not kept:
        raise SelectionError(
            f"the recipe deletes every episode of {dataset.root}; nothing was written"
        )
    ranges = folded.kept.live_ranges()
    plan = plan_keep(
        dataset,
        kept,
        operation="apply",
        settings=settings_of(dataset),
        ranges=ranges,
        arguments={"recipe": _public_recipe(recipe)},
    )
    removed, renames = folded.removed, folded.renames()
    if removed or renames:
        try:
            features = plan_modify_features(
                dataset, remove_features=removed or None, rename=renames or None
            )
        except SelectionError as exc:
            raise SelectionError(f"recipe feature steps: {exc}") from exc
        plan = dataclasses.replace(plan, info=features.info, columns=features.columns)
    if folded.tasks:
        try:
            plan = _with_tasks(dataset, plan, folded.tasks)
        except SelectionError as exc:
            raise SelectionError(f"recipe modify_tasks steps: {exc}") from exc
    if folded.stats_skips:
        skip = all(folded.stats_skips)
        plan = dataclasses.replace(plan, stats=plan_recompute_stats(dataset, skip).stats)
    return plan


def check_fingerprint(dataset: Dataset, recipe: Recipe) -> None:
    """Refuse a dataset whose metadata differs from the one the recipe was made for.

    Raises:
        SourceMismatchError: the fingerprints differ.
    """
    actual = fingerprint(dataset.root)
    if actual != recipe.fingerprint:
        raise SourceMismatchError(
            f"{dataset.root} is not the dataset this recipe was made for (recipe source"
            f" {recipe.source_path}, fingerprint {recipe.fingerprint[:12]}…; this dataset's is"
            f" {actual[:12]}…): its episode indices may point at other data. Make the recipe"
            " again on this dataset, or pass force=True (--force) to apply it anyway"
        )


@overload
def apply(
    recipe: Recipe | Mapping[str, Any] | PathLike,
    src: DatasetLike,
    out: PathLike | None,
    *,
    force: bool = False,
    dry_run: Literal[True],
    overwrite: bool = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Plan: ...


@overload
def apply(
    recipe: Recipe | Mapping[str, Any] | PathLike,
    src: DatasetLike,
    out: PathLike | None,
    *,
    force: bool = False,
    dry_run: Literal[False] = False,
    overwrite: bool = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Dataset: ...


@overload
def apply(
    recipe: Recipe | Mapping[str, Any] | PathLike,
    src: DatasetLike,
    out: PathLike | None,
    *,
    force: bool = False,
    dry_run: bool = False,
    overwrite: bool = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Dataset | Plan: ...


def apply(
    recipe: Recipe | Mapping[str, Any] | PathLike,
    src: DatasetLike,
    out: PathLike | None,
    *,
    force: bool = False,
    dry_run: bool = False,
    overwrite: bool = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Dataset | Plan:
    """Run every step of `recipe` on `src` into the new dataset `out`, in one lossless pass.

    `recipe` is a `Recipe`, its JSON document, or a path to a JSON file. Returns a handle on
    the output (the plan when `dry_run`).

    `backend` ("serial", "process", "ray") and `workers` choose where work units run, as an
    `execution(...)` block does (None: the block's choice, else one by size); outputs are equal.

    Raises:
        RecipeError: the recipe is not valid.
        SourceMismatchError: `src` is not the dataset the recipe was made for (unless `force`).
        SelectionError: a step does not fit the dataset (see `plan_apply`).
        OutputExistsError: `out` exists and `overwrite` was not given.

    Example:
        >>> apply("fix.json", "data/pusht", "data/pusht_clean")
    """
    parsed = load_recipe(recipe)
    source = open_dataset(src)
    if not force:
        check_fingerprint(source, parsed)
    plan = plan_apply(source, parsed)
    if dry_run:
        return plan
    if out is None:
        raise RecipeError("apply needs an output folder")
    target = Path(out).expanduser().resolve()
    return write_plan(
        plan, target, overwrite=overwrite, progress=progress, backend=backend, workers=workers
    )


def describe_changes(plan: Plan, source: Dataset) -> str:
    """A short summary of what `plan` removes from `source` (deleted episodes, trimmed frames)."""
    kept = {e.segment.episode_index for e in plan.episodes}
    deleted = [i for i in range(source.num_episodes) if i not in kept]
    trimmed = [e for e in plan.episodes if not e.whole]
    frames = source.num_frames - plan.num_frames
    return (
        f"deletes episodes {format_indices(deleted) or 'none'}, trims {len(trimmed)} episode(s);"
        f" {frames} of {source.num_frames} frames removed"
    )
