"""`recompute_stats`: exact per-episode and dataset stats, from the data, in one pass.

Every numeric feature's per-episode stats (default columns included) are computed from its rows
as the recorder computes them; stats.json moments are aggregated exactly and its quantiles come
from all values (0.6.1 averages per-episode quantiles). With `skip_image_video=False` camera
stats are sampled from frames as the recorder samples them (PNG bytes for images, decoded video
for videos). The data is re-streamed and video packets copied, so the output is a full dataset:
a new folder, or the source replaced atomically with `in_place=True`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Literal, overload

from robosplice._types import DatasetLike, PathLike, ProgressReporter
from robosplice.dataset import Dataset, open_dataset
from robosplice.engine.backends import Backend
from robosplice.engine.frame_stats import relative_action_mask
from robosplice.errors import SelectionError
from robosplice.format.info import feature_shape, is_depth_feature
from robosplice.ops._run import write_edit
from robosplice.plan.model import Plan, RelativeActionStats, StatsOptions
from robosplice.plan.select import plan_keep, settings_of

logger = logging.getLogger(__name__)

ACTION = "action"
STATE = "observation.state"
DEFAULT_EXCLUDE_JOINTS = ("gripper",)


def _relative_options(
    dataset: Dataset, chunk_size: int, exclude_joints: Sequence[str] | None
) -> RelativeActionStats | None:
    features = dataset.features
    if ACTION not in features or STATE not in features:
        logger.warning(
            "relative_action: %s has no '%s' or no '%s'; action stats stay absolute",
            dataset.root,
            ACTION,
            STATE,
        )
        return None
    if int(chunk_size) < 1:
        raise SelectionError(f"chunk_size must be at least 1, got {chunk_size}")
    lengths = [episode.length for episode in dataset.episodes]
    if not any(length >= chunk_size for length in lengths):
        raise SelectionError(
            f"No valid chunks found (total_frames={sum(lengths)}, chunk_size={chunk_size}):"
            f" the longest episode has {max(lengths, default=0)} frames; use a smaller chunk_size"
        )
    action_dim = feature_shape(features[ACTION])[0]
    state_dim = feature_shape(features[STATE])[0]
    if state_dim < action_dim:
        raise SelectionError(
            f"relative_action: '{STATE}' has {state_dim} dimensions, fewer than the"
            f" {action_dim} of '{ACTION}'"
        )
    exclude = DEFAULT_EXCLUDE_JOINTS if exclude_joints is None else tuple(exclude_joints)
    mask = relative_action_mask(features[ACTION].get("names"), action_dim, exclude)
    return RelativeActionStats(chunk_size=int(chunk_size), mask=mask, action=ACTION, state=STATE)


def plan_recompute_stats(
    dataset: Dataset,
    skip_image_video: bool = True,
    relative_action: bool = False,
    relative_exclude_joints: Sequence[str] | None = None,
    chunk_size: int = 50,
) -> Plan:
    """The plan that copies every episode and recomputes its stats.

    Raises:
        SelectionError: relative actions asked with no episode of `chunk_size` frames.
    """
    visual = frozenset(
        name
        for name in dataset.camera_keys
        if not skip_image_video and not is_depth_feature(dataset.features[name])
    )
    relative = (
        _relative_options(dataset, chunk_size, relative_exclude_joints) if relative_action else None
    )
    plan = plan_keep(
        dataset,
        range(dataset.num_episodes),
        operation="recompute_stats",
        settings=dataclasses.replace(settings_of(dataset), keep_data_files=True),
        arguments={
            "skip_image_video": skip_image_video,
            "relative_action": relative_action,
            "relative_exclude_joints": list(relative_exclude_joints or []),
            "chunk_size": chunk_size,
        },
    )
    options = StatsOptions(recompute=True, visual=visual, relative_action=relative)
    return dataclasses.replace(plan, stats=options)


@overload
def recompute_stats(
    dataset: DatasetLike,
    skip_image_video: bool = True,
    relative_action: bool = False,
    relative_exclude_joints: Sequence[str] | None = None,
    chunk_size: int = 50,
    num_workers: int = 0,
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
def recompute_stats(
    dataset: DatasetLike,
    skip_image_video: bool = True,
    relative_action: bool = False,
    relative_exclude_joints: Sequence[str] | None = None,
    chunk_size: int = 50,
    num_workers: int = 0,
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
def recompute_stats(
    dataset: DatasetLike,
    skip_image_video: bool = True,
    relative_action: bool = False,
    relative_exclude_joints: Sequence[str] | None = None,
    chunk_size: int = 50,
    num_workers: int = 0,
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


def recompute_stats(
    dataset: DatasetLike,
    skip_image_video: bool = True,
    relative_action: bool = False,
    relative_exclude_joints: Sequence[str] | None = None,
    chunk_size: int = 50,
    num_workers: int = 0,
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
    """Recompute every stat from the data: per episode, and stats.json with exact quantiles.

    Args:
        skip_image_video: keep camera stats as they are (default); False samples frames.
        relative_action: stats.json `action` becomes stats of action − state over every
            within-episode chunk of `chunk_size` frames (joints named in
            `relative_exclude_joints`, default `["gripper"]`, stay absolute).
        num_workers: accepted for compatibility (0.6.1's threads); `workers` sets parallelism.
        backend, workers: where work units run ("serial", "process", "ray"), as an
            `execution(...)` block sets it (None: the block's choice, else one by size).

    Raises:
        SelectionError: relative actions with no episode of `chunk_size` frames (0.6.1 raises
            RuntimeError "No valid chunks found").
        OutputExistsError: the output exists and neither overwrite nor in_place was given.

    Example:
        >>> recompute_stats("data/pusht", skip_image_video=False, in_place=True)
    """
    del num_workers  # the official threads only speed up relative actions; results are equal
    source = open_dataset(dataset)
    plan = plan_recompute_stats(
        source, skip_image_video, relative_action, relative_exclude_joints, chunk_size
    )
    if dry_run:
        return plan
    return write_edit(
        source,
        plan,
        output_dir,
        repo_id,
        suffix="_recomputed_stats",
        in_place=in_place,
        overwrite=overwrite,
        progress=progress,
        backend=backend,
        workers=workers,
    )
