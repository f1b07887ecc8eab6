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
import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeAlias

import numpy as np

from robosplice._types import DatasetLike, PathLike, ProgressReporter
from robosplice.dataset import Dataset, open_dataset
from robosplice.engine.backends import Backend
from robosplice.errors import SelectionError
from robosplice.format.info import DEFAULT_FEATURE_NAMES, Features, copy_info
from robosplice.format.schema import scalar_arrow_type
from robosplice.ops._run import write_edit
from robosplice.plan.model import ColumnChanges, ColumnProducer, Plan
from robosplice.plan.select import plan_keep, settings_of

FeatureValues: TypeAlias = Any
"""An array over all frames (numpy, torch, anything `np.asarray` takes) or a callable."""
FeatureSpec: TypeAlias = tuple[FeatureValues, Mapping[str, Any]]
"""`(values, info)`; info has `dtype` and `shape`, optionally `names` and extra keys."""

REQUIRED_INFO_KEYS: Final = frozenset({"dtype", "shape"})
_REQUIRED_REPR: Final = "{'dtype', 'shape'}"
_REQUIRED_FEATURES_REPR: Final = "{" + ", ".join(f"'{n}'" for n in DEFAULT_FEATURE_NAMES) + "}"
_UNADDABLE_DTYPES: Final = ("image", "video", "language")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Target:
    """What one added feature must hold per row."""

    name: str
    shape: tuple[int, ...]
    dtype: str


def _as_numpy(values: Any) -> np.ndarray:
    """An array from numpy, torch (detached, on CPU) or anything array-like."""
    if hasattr(values, "detach") and hasattr(values, "cpu"):
        values = values.detach().cpu().numpy()
    return np.asarray(values)


def _conform(
    target: _Target, values: Any, rows: int, where: str, *, scale_hint: str = ""
) -> np.ndarray:
    """`values` as (rows, *shape) of the target dtype, or a SelectionError saying what is off.

    Shape (1,) values may come as (rows,) or (rows, 1) (the official tool flattens the latter).
    """
    array = _as_numpy(values)
    name = target.name
    if array.ndim == 0 or array.shape[0] != rows:
        got = "a scalar" if array.ndim == 0 else f"{array.shape[0]} rows"
        raise SelectionError(
            f"Feature '{name}': {where} gave {got}, expected {rows} (one row per frame{scale_hint})"
        )
    row_shape = array.shape[1:]
    if target.shape == (1,) and row_shape in ((), (1,)):
        array = array.reshape(rows)
    elif row_shape != target.shape:
        raise SelectionError(
            f"Feature '{name}': {where} gave rows of shape {list(row_shape)}, its info says shape"
            f" {list(target.shape)}; reshape the values or fix the info"
        )
    return _cast(target, array, where)


def _cast(target: _Target, array: np.ndarray, where: str) -> np.ndarray:
    name = target.name
    if target.dtype == "string":
        if array.dtype.kind in "US" or (
            array.dtype.kind == "O" and all(isinstance(v, str) for v in array.reshape(-1))
        ):
            return array.astype(str)
        raise SelectionError(
            f"Feature '{name}': {where} gave values of dtype {array.dtype}, its info says 'string'"
        )
    wanted = np.dtype(target.dtype)
    if array.dtype.kind == "O":
        try:
            return array.astype(wanted)
        except (TypeError, ValueError) as exc:
            raise SelectionError(
                f"Feature '{name}': {where} gave objects that are not {target.dtype} ({exc})"
            ) from exc
    if not np.can_cast(array.dtype, wanted, casting="same_kind"):
        raise SelectionError(
            f"Feature '{name}': {where} gave values of dtype {array.dtype}, which cannot be stored"
            f" as {target.dtype} without changing their kind; cast them first or change the dtype"
        )
    return array.astype(wanted, copy=False)


def _call_style(name: str, function: Callable[..., Any]) -> str:
    """'frame' for `fn(row, episode_index, frame_index)`, 'batch' for `fn(columns, episode_index)`."""
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return "frame"  # builtins without a signature: the official form
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    variadic = any(p.kind == p.VAR_POSITIONAL for p in parameters)
    if len(required) == 2 and not variadic:
        return "batch"
    if len(required) == 3 or (len(required) < 3 and (variadic or len(positional) >= 3)):
        return "frame"
    raise SelectionError(
        f"Feature '{name}': the callable must take (row, episode_index, frame_index), called per"
        f" frame, or (columns, episode_index), called per episode; it takes {len(required)}"
        " required arguments"
    )


def _frame_producer(target: _Target, function: Callable[..., Any]) -> ColumnProducer:
    def produce(columns: Mapping[str, np.ndarray], episode_index: int) -> np.ndarray:
        names = list(columns)
        frame_index = columns["frame_index"]
        values = []
        for row in range(len(frame_index)):
            value = function(
                {n: columns[n][row] for n in names}, episode_index, int(frame_index[row])
            )
            if isinstance(value, np.ndarray) and value.size == 1 and target.shape == (1,):
                value = value.item()
            values.append(_as_numpy(value))
        where = f"the callable, in episode {episode_index},"
        return _conform(target, np.asarray(values), len(frame_index), where)

    return produce


def _batch_producer(target: _Target, function: Callable[..., Any]) -> ColumnProducer:
    def produce(columns: Mapping[str, np.ndarray], episode_index: int) -> np.ndarray:
        rows = len(columns["index"])
        values = function(dict(columns), episode_index)
        where = f"the callable, for episode {episode_index} ({rows} frames),"
        return _conform(target, values, rows, where, scale_hint=" of the episode")

    return produce


def _array_producer(values: np.ndarray) -> ColumnProducer:
    def produce(columns: Mapping[str, np.ndarray], episode_index: int) -> np.ndarray:
        # Output `index` is the global row number, and every episode is kept in order.
        return values[columns["index"]]

    return produce


def _parse_info(name: str, info: Mapping[str, Any]) -> tuple[_Target, dict[str, Any]]:
    """The target and the info.json entry of an added feature."""
    dtype = info["dtype"]
    if dtype in _UNADDABLE_DTYPES:
        raise SelectionError(
            f"Feature '{name}': dtype {dtype!r} cannot be added from values (no encoding here);"
            " add numeric or string features"
        )
    try:
        scalar_arrow_type(str(dtype))
    except ValueError:
        raise SelectionError(
            f"Feature '{name}': unsupported dtype {dtype!r}; use a numpy dtype name such as"
            " 'float32', 'int64', 'bool', or 'string'"
        ) from None
    raw_shape = info["shape"]
    try:
        shape = tuple(int(size) for size in raw_shape)
    except (TypeError, ValueError):
        shape = ()
    if not shape or any(size <= 0 for size in shape) or len(shape) > 5:
        raise SelectionError(
            f"Feature '{name}': shape must be a list of 1 to 5 positive sizes, got {raw_shape!r}"
        )
    if dtype == "string" and shape != (1,):
        raise SelectionError(
            f"Feature '{name}': a 'string' feature has shape [1], got {list(shape)}"
        )
    names = info.get("names")
    if names is not None and not isinstance(names, (list, tuple, dict)):
        raise SelectionError(
            f"Feature '{name}': names must be null, a list or a dict, got {type(names).__name__}"
        )
    entry: dict[str, Any] = {"dtype": str(dtype), "shape": list(shape), "names": names}
    entry.update({k: v for k, v in info.items() if k not in entry})
    try:
        entry = json.loads(json.dumps(entry))
    except (TypeError, ValueError) as exc:
        raise SelectionError(
            f"Feature '{name}': its info is not JSON-serializable ({exc})"
        ) from exc
    return _Target(name=name, shape=shape, dtype=str(dtype)), entry


def _check_names(
    dataset: Dataset,
    add: Mapping[str, FeatureSpec],
    removed: Sequence[str],
    renames: Mapping[str, str],
) -> None:
    """Raise with the official phrase on the first kind of bad name."""
    features = dataset.features
    where = f"{dataset.root}"
    for name, spec in add.items():
        if not isinstance(spec, (tuple, list)) or len(spec) != 2:
            raise SelectionError(f"Feature '{name}': expected a (values, feature_info) pair")
        if name in features:
            raise SelectionError(
                f"Feature '{name}' already exists in dataset {where}; pick another name, or"
                " remove it in an earlier edit"
            )
        if not isinstance(spec[1], Mapping) or not set(spec[1]) >= REQUIRED_INFO_KEYS:
            raise SelectionError(
                f"feature_info for '{name}' must contain keys: {_REQUIRED_REPR}; got"
                f" {sorted(spec[1]) if isinstance(spec[1], Mapping) else spec[1]!r}"
            )
    for name in [*removed, *renames]:
        if name not in features:
            raise SelectionError(
                f"Feature '{name}' not found in dataset {where}; it has {list(features)}"
            )
    required = [n for n in removed if n in DEFAULT_FEATURE_NAMES]
    if required:
        raise SelectionError(
            f"Cannot remove required features: {_REQUIRED_FEATURES_REPR} (asked to remove"
            f" {required}); every LeRobot dataset has them"
        )
    required = [n for n in renames if n in DEFAULT_FEATURE_NAMES]
    if required:
        raise SelectionError(
            f"Cannot rename required features: {_REQUIRED_FEATURES_REPR} (asked to rename"
            f" {required}); the loader looks them up by name"
        )
    both = sorted(set(removed) & set(renames))
    if both:
        raise SelectionError(f"Features {both} are both removed and renamed; do one or the other")
    targets = list(renames.values())
    kept_names = set(features) - set(renames)
    for new in targets:
        if new in kept_names or targets.count(new) > 1:
            raise SelectionError(
                f"Feature '{new}' already exists in dataset {where} (or is the target of two"
                " renames); pick another new name"
            )
    for name in [*add, *targets]:
        if not isinstance(name, str) or not name or "/" in name:
            raise SelectionError(
                f"Feature name {name!r} is not allowed: names are non-empty and contain no '/'"
                " (stats are stored as stats/<name>/<stat>)"
            )
    clash = sorted(set(add) & set(targets))
    if clash:
        raise SelectionError(f"Feature '{clash[0]}' is both added and the new name of a rename")


def _output_features(
    features: Features,
    added: Mapping[str, dict[str, Any]],
    removed: Sequence[str],
    renames: Mapping[str, str],
) -> Features:
    """Source features minus removed, renamed in place, added ones before the default five."""
    kept = {
        renames.get(name, name): feature
        for name, feature in copy_info(features).items()
        if name not in removed
    }
    user = {n: f for n, f in kept.items() if n not in DEFAULT_FEATURE_NAMES}
    defaults = {n: f for n, f in kept.items() if n in DEFAULT_FEATURE_NAMES}
    return {**user, **copy_info(dict(added)), **defaults}


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
    _check_names(dataset, add, removed, renames)
    num_frames = dataset.num_frames
    producers: dict[str, ColumnProducer] = {}
    entries: dict[str, dict[str, Any]] = {}
    for name, (values, info) in add.items():
        target, entries[name] = _parse_info(name, info)
        if callable(values):
            style = _call_style(name, values)
            producer = _frame_producer if style == "frame" else _batch_producer
            producers[name] = producer(target, values)
        else:
            array = _conform(
                target, values, num_frames, "the values", scale_hint=" in global index order"
            )
            producers[name] = _array_producer(array)
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
    info["features"] = _output_features(dataset.features, entries, removed, renames)
    columns = ColumnChanges(renames=(renames,), dropped=frozenset(removed), added=producers)
    return dataclasses.replace(plan, info=info, columns=columns)


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
