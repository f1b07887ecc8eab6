"""Checks and column producers for added features: names, infos, array shapes and callables.

Pure: nothing here reads or writes files; `plan_modify_features` (ops/features.py) uses them.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeAlias

import numpy as np

from robosplice.dataset import Dataset
from robosplice.errors import SelectionError
from robosplice.format.info import DEFAULT_FEATURE_NAMES, Features, copy_info
from robosplice.format.schema import scalar_arrow_type
from robosplice.plan.model import ColumnProducer

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


def conform(
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


def call_style(name: str, function: Callable[..., Any]) -> str:
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


def frame_producer(target: _Target, function: Callable[..., Any]) -> ColumnProducer:
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
        return conform(target, np.asarray(values), len(frame_index), where)

    return produce


def batch_producer(target: _Target, function: Callable[..., Any]) -> ColumnProducer:
    def produce(columns: Mapping[str, np.ndarray], episode_index: int) -> np.ndarray:
        rows = len(columns["index"])
        values = function(dict(columns), episode_index)
        where = f"the callable, for episode {episode_index} ({rows} frames),"
        return conform(target, values, rows, where, scale_hint=" of the episode")

    return produce


def array_producer(values: np.ndarray) -> ColumnProducer:
    def produce(columns: Mapping[str, np.ndarray], episode_index: int) -> np.ndarray:
        # Output `index` is the global row number, and every episode is kept in order.
        return values[columns["index"]]

    return produce


def parse_info(name: str, info: Mapping[str, Any]) -> tuple[_Target, dict[str, Any]]:
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


def check_names(
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


def output_features(
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
