"""`modify_features`, `add_features`, `remove_feature`, `rename_feature`: column edits, one pass.

Every episode is kept whole. Added columns come from an array (one row per frame, in global
`index` order) or a callable; removed features lose their column, video files, episode columns
and stats; renamed features keep their values, stats and video bytes under the new name (video
packets are copied, never decoded). Every argument and every array is checked before anything is
written; a callable's results are checked per episode while the output is staged, so a bad one
leaves no output behind either.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Literal, overload

from robosplice._types import DatasetLike, PathLike, ProgressReporter
from robosplice.dataset import Dataset, open_dataset
from robosplice.engine.backends import Backend
from robosplice.errors import SelectionError
from robosplice.format.info import copy_info
from robosplice.ops._feature_columns import (
    FeatureSpec,
    array_producer,
    batch_producer,
    call_style,
    check_names,
    conform,
    frame_producer,
    output_features,
    parse_info,
)
from robosplice.ops._run import write_edit
from robosplice.plan.model import ColumnChanges, ColumnProducer, Plan
from robosplice.plan.select import plan_keep, settings_of


def plan_modify_features(
    dataset: Dataset,
    add_features: Mapping[str, FeatureSpec] | None = None,
    remove_features: str | Sequence[str] | None = None,
    *,
    rename: Mapping[str, str] | None = None,
    operation: str = "modify_features",
) -> Plan:
    """The plan that adds, removes and renames features in one pass over every episode.

    Raises:
        SelectionError: nothing to do, a bad name or info, or values that do not fit.
    """
    if add_features is None and remove_features is None and rename is None:
        raise SelectionError(
            "Must specify at least one of add_features or remove_features (or rename)"
        )
    add = dict(add_features or {})
    removed = [remove_features] if isinstance(remove_features, str) else list(remove_features or [])
    renames = dict(rename or {})
    check_names(dataset, add, removed, renames)
    num_frames = dataset.num_frames
    producers: dict[str, ColumnProducer] = {}
    entries: dict[str, dict[str, Any]] = {}
    for name, (values, info) in add.items():
        target, entries[name] = parse_info(name, info)
        if callable(values):
            style = call_style(name, values)
            producer = frame_producer if style == "frame" else batch_producer
            producers[name] = producer(target, values)
        else:
            array = conform(
                target, values, num_frames, "the values", scale_hint=" in global index order"
            )
            producers[name] = array_producer(array)
    plan = plan_keep(
        dataset,
        range(dataset.num_episodes),
        operation=operation,
        settings=dataclasses.replace(settings_of(dataset), keep_data_files=True),
        arguments={
            "add_features": dict(entries),
            "remove_features": removed,
            "rename": renames,
        },
    )
    info = copy_info(dict(plan.info))
    info["features"] = output_features(dataset.features, entries, removed, renames)
    columns = ColumnChanges(renames=(renames,), dropped=frozenset(removed), added=producers)
    return dataclasses.replace(plan, info=info, columns=columns)


@overload
def modify_features(
    dataset: DatasetLike,
    add_features: Mapping[str, FeatureSpec] | None = None,
    remove_features: str | Sequence[str] | None = None,
    output_dir: PathLike | None = None,
    repo_id: str | None = None,
    *,
    rename: Mapping[str, str] | None = None,
    in_place: bool = False,
    overwrite: bool = False,
    dry_run: Literal[True],
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Plan: ...


@overload
def modify_features(
    dataset: DatasetLike,
    add_features: Mapping[str, FeatureSpec] | None = None,
    remove_features: str | Sequence[str] | None = None,
    output_dir: PathLike | None = None,
    repo_id: str | None = None,
    *,
    rename: Mapping[str, str] | None = None,
    in_place: bool = False,
    overwrite: bool = False,
    dry_run: Literal[False] = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Dataset: ...


@overload
def modify_features(
    dataset: DatasetLike,
    add_features: Mapping[str, FeatureSpec] | None = None,
    remove_features: str | Sequence[str] | None = None,
    output_dir: PathLike | None = None,
    repo_id: str | None = None,
    *,
    rename: Mapping[str, str] | None = None,
    in_place: bool = False,
    overwrite: bool = False,
    dry_run: bool = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Dataset | Plan: ...


def modify_features(
    dataset: DatasetLike,
    add_features: Mapping[str, FeatureSpec] | None = None,
    remove_features: str | Sequence[str] | None = None,
    output_dir: PathLike | None = None,
    repo_id: str | None = None,
    *,
    rename: Mapping[str, str] | None = None,
    in_place: bool = False,
    overwrite: bool = False,
    dry_run: bool = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Dataset | Plan:
    """Add, remove and rename features in one pass; returns the new dataset (the plan if dry_run).

    Args:
        add_features: `{name: (values, info)}`. `values` is an array with one row per frame in
            global index order, `fn(row, episode_index, frame_index)` called per frame (the
            official form), or `fn(columns, episode_index)` returning one episode's rows, where
            `columns` holds the episode's numeric columns as numpy arrays.
        remove_features: a name or names; cameras lose their video files too.
        rename: `{old: new}`; cameras keep their video bytes under the new name.
        backend, workers: where work units run ("serial", "process", "ray"), as an
            `execution(...)` block sets it (None: the block's choice, else one by size).

    Raises:
        SelectionError: "Must specify at least one of add_features or remove_features",
            "Feature 'X' already exists", "feature_info for 'X' must contain keys",
            "Feature 'X' not found", "Cannot remove required features", or values of the
            wrong length, shape or dtype (subclasses ValueError, like the official errors).
        OutputExistsError: the output exists and neither overwrite nor in_place was given.

    Example:
        >>> modify_features("data/pusht", {"reward": (rewards, {"dtype": "float32",
        ...     "shape": [1]})}, ["observation.effort"], "data/pusht_reward")
    """
    source = open_dataset(dataset)
    plan = plan_modify_features(source, add_features, remove_features, rename=rename)
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


@overload
def add_features(
    dataset: DatasetLike,
    features: Mapping[str, FeatureSpec],
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
def add_features(
    dataset: DatasetLike,
    features: Mapping[str, FeatureSpec],
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
def add_features(
    dataset: DatasetLike,
    features: Mapping[str, FeatureSpec],
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


def add_features(
    dataset: DatasetLike,
    features: Mapping[str, FeatureSpec],
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
    """Add features `{name: (values, info)}` (see `modify_features`); stats are computed.

    `backend` ("serial", "process", "ray") and `workers` choose where work units run, as an
    `execution(...)` block does (None: the block's choice, else one by size); outputs are equal.

    Raises:
        SelectionError: "No features provided", or any `modify_features` error.

    Example:
        >>> add_features("data/pusht", {"reward": (rewards, {"dtype": "float32", "shape": [1]})},
        ...     "data/pusht_reward")
    """
    if not features:
        raise SelectionError("No features provided: give {name: (values, feature_info)}")
    source = open_dataset(dataset)
    plan = plan_modify_features(source, features, operation="add_features")
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


@overload
def remove_feature(
    dataset: DatasetLike,
    feature_names: str | Sequence[str],
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
def remove_feature(
    dataset: DatasetLike,
    feature_names: str | Sequence[str],
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
def remove_feature(
    dataset: DatasetLike,
    feature_names: str | Sequence[str],
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


def remove_feature(
    dataset: DatasetLike,
    feature_names: str | Sequence[str],
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
    """Remove features (cameras with their video files, episode columns and stats).

    `backend` ("serial", "process", "ray") and `workers` choose where work units run, as an
    `execution(...)` block does (None: the block's choice, else one by size); outputs are equal.

    Raises:
        SelectionError: "Feature 'X' not found", "Cannot remove required features".

    Example:
        >>> remove_feature("data/pusht", ["observation.images.wrist"], "data/pusht_one_cam")
    """
    source = open_dataset(dataset)
    plan = plan_modify_features(source, remove_features=feature_names, operation="remove_feature")
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


@overload
def rename_feature(
    dataset: DatasetLike,
    renames: Mapping[str, str],
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
def rename_feature(
    dataset: DatasetLike,
    renames: Mapping[str, str],
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
def rename_feature(
    dataset: DatasetLike,
    renames: Mapping[str, str],
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


def rename_feature(
    dataset: DatasetLike,
    renames: Mapping[str, str],
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
    """Rename features `{old: new}`; values, stats and video bytes are kept under the new names.

    `backend` ("serial", "process", "ray") and `workers` choose where work units run, as an
    `execution(...)` block does (None: the block's choice, else one by size); outputs are equal.

    Raises:
        SelectionError: no renames, "Feature 'X' not found", a default feature, or a new name
            that exists already.

    Example:
        >>> rename_feature("data/pusht", {"observation.images.top": "observation.images.front"},
        ...     "data/pusht_renamed")
    """
    if not renames:
        raise SelectionError("No features provided: give {old_name: new_name}")
    source = open_dataset(dataset)
    plan = plan_modify_features(source, rename=renames, operation="rename_feature")
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
