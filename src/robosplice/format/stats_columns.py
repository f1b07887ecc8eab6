"""The `stats/*` columns of meta/episodes as numpy blocks, read and written column by column.

Carrying an untouched episode's stats must cost next to nothing: going through Python objects
(one `to_pylist` row, nested lists, `np.array`) per episode and back costs milliseconds each, so
a dataset of thousands of episodes spends seconds on stats nobody changed. A column whose cells
all have one shape is converted once into an (episodes, *shape) array, and output columns are
built from stacked arrays. Values and types are exactly those of the per-row path
(`unflatten_episode_stats` of a `to_pylist` row; `Table.from_pylist` of `flatten_episode_stats`
rows); any column that is not regular takes that per-row path.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping, Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from robosplice.format.stats import (
    STATS_COLUMN_PREFIX,
    DatasetStats,
    FeatureStats,
    ordered_stat_keys,
    stat_json_value,
)
from robosplice.format.stats_blocks import StatsBlock

__all__ = [
    "EpisodeStatsColumns",
    "block_column_arrays",
    "stats_block",
    "stats_column_arrays",
    "stats_column_type",
]

# Python ints beyond this are not converted to float64 by pyarrow (not exactly representable).
_EXACT_INT_IN_FLOAT64: Final = 2**53


class EpisodeStatsColumns:
    """Each row's stats of an episodes table, as `unflatten_episode_stats` of that row gives them.

    Regular columns are numpy blocks made once; `episode(row)` hands out read-only views of them.
    """

    def __init__(self, table: pa.Table) -> None:
        # (feature, key, block, position of each row in the block or -1 for null; or the column
        # itself when it is not regular)
        self._entries: list[
            tuple[str, str, npt.NDArray[Any] | None, npt.NDArray[np.int64] | None, pa.ChunkedArray]
        ] = []
        for name in table.column_names:
            if not name.startswith(STATS_COLUMN_PREFIX):
                continue
            feature, _, key = name[len(STATS_COLUMN_PREFIX) :].rpartition("/")
            if not feature:
                continue
            column = table.column(name)
            regular = stats_block(column)
            block, positions = regular if regular is not None else (None, None)
            self._entries.append((feature, key, block, positions, column))

    def episode(self, row: int, features: Container[str] | None = None) -> DatasetStats:
        """The stats of row `row` (of `features` only, if given), features and keys in column
        order; null cells left out."""
        stats: DatasetStats = {}
        for feature, key, block, positions, column in self._entries:
            if features is not None and feature not in features:
                continue
            if block is not None and positions is not None:
                position = positions[row]
                if position < 0:
                    continue
                value = block[position]
            else:
                cell = column[row].as_py()
                if cell is None:
                    continue
                value = np.atleast_1d(np.array(cell))
            stats.setdefault(feature, {})[key] = value
        return stats

    def feature_block(self, feature: str, rows: npt.NDArray[np.int64]) -> StatsBlock | None:
        """`feature`'s stats of `rows` as one block, cell for cell `episode(row)[feature]`;
        None when a column of it is not regular or a cell is null (ask `episode` then)."""
        arrays: dict[str, npt.NDArray[Any]] = {}
        taken_by_key: dict[str, npt.NDArray[np.int64]] = {}
        for name, key, block, positions, _ in self._entries:
            if name != feature:
                continue
            if block is None or positions is None:
                return None
            taken = positions[rows]
            if len(taken) and int(taken.min()) < 0:
                return None
            arrays[key], taken_by_key[key] = block, taken
        if not arrays:
            return None
        shared = next(iter(taken_by_key.values()))
        if all(np.array_equal(taken, shared) for taken in taken_by_key.values()):
            return StatsBlock(arrays, shared)  # rows of the source's blocks, not a copy
        return StatsBlock({key: arrays[key][taken] for key, taken in taken_by_key.items()})


def stats_block(
    column: pa.ChunkedArray,
) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64]] | None:
    """(values of the non-null cells as one (cells, *shape) array, row → cell position or -1).

    None when a cell holds nulls, cells differ in shape or have an empty axis, or the leaf type
    does not convert as Python numbers do (float64 for floats, int64 for ints, bool).
    """
    array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    valid = np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    positions = np.where(valid, np.cumsum(valid) - 1, -1).astype(np.int64)
    level: pa.Array = array.filter(pa.array(valid)) if array.null_count else array
    cells = len(level)
    shape: list[int] = []
    while pa.types.is_list(level.type) or pa.types.is_fixed_size_list(level.type):
        if level.null_count:
            return None
        lengths = np.asarray(pc.list_value_length(level).to_numpy(zero_copy_only=False))
        if cells == 0:
            return None
        if lengths[0] == 0 or np.any(lengths != lengths[0]):
            return None
        shape.append(int(lengths[0]))
        level = level.flatten()
    if level.null_count:
        return None
    leaf = level.type
    if pa.types.is_floating(leaf):
        dtype: type = np.float64
    elif pa.types.is_signed_integer(leaf) or (
        pa.types.is_unsigned_integer(leaf) and leaf.bit_width < 64
    ):
        dtype = np.int64
    elif pa.types.is_boolean(leaf):
        dtype = np.bool_
    else:
        return None
    # A view of the table's own buffer where the leaf already has the dtype (float64 stats,
    # int64 counts): the episodes table stays open anyway, a copy would hold its stats twice.
    values = np.asarray(level.to_numpy(zero_copy_only=False)).astype(dtype, copy=False)
    block = values.reshape(cells, *(shape or [1]))
    block.flags.writeable = False  # handed out as views: a change would alter other episodes
    return block, positions


def stats_column_type(column: str, first: Any) -> pa.DataType:
    """The episodes-table type of a stats column, from its first row's nested-list value.

    As many list levels as the value nests; int64 leaves for `count`, float64 otherwise.
    """
    depth = 1
    probe = first[0] if first else None
    while isinstance(probe, list):
        depth += 1
        probe = probe[0] if probe else None
    arrow_type: pa.DataType = pa.int64() if column.endswith("/count") else pa.float64()
    for _ in range(depth):
        arrow_type = pa.list_(arrow_type)
    return arrow_type


def stats_column_arrays(episodes: Sequence[Mapping[str, FeatureStats]]) -> dict[str, pa.Array]:
    """The `stats/*` columns of these episodes' rows, as `Table.from_pylist` of their
    `flatten_episode_stats` rows gives them (columns and types from the first episode; a
    missing cell is null).

    Raises:
        ValueError: a feature name contains "/", which would make the column name ambiguous.
    """
    for stats in episodes:
        for feature in stats:
            if "/" in feature:
                raise ValueError(
                    f"feature {feature!r} contains '/', so its stats cannot be flattened"
                )
    if not episodes:
        return {}
    columns: dict[str, pa.Array] = {}
    for feature, feature_stats in episodes[0].items():
        for key in ordered_stat_keys(feature_stats):
            name = f"{STATS_COLUMN_PREFIX}{feature}/{key}"
            values = [stats.get(feature, {}).get(key) for stats in episodes]
            arrow_type = stats_column_type(name, stat_json_value(key, feature_stats[key]))
            fast = _stacked_column(name, values, arrow_type)
            columns[name] = (
                fast
                if fast is not None
                else pa.array(
                    [None if v is None else stat_json_value(key, v) for v in values],
                    type=arrow_type,
                )
            )
    return columns


def block_column_arrays(feature: str, blocks: Sequence[StatsBlock]) -> dict[str, pa.Array]:
    """`stats_column_arrays` of one feature whose every episode's stats are in `blocks`, in
    order: columns built by concatenating the blocks, not stacking episodes.

    Raises:
        ValueError: the feature name contains "/".
    """
    if "/" in feature:
        raise ValueError(f"feature {feature!r} contains '/', so its stats cannot be flattened")
    blocks = [block for block in blocks if block.episodes]
    if not blocks:
        return {}
    first = blocks[0].cell(0)
    columns: dict[str, pa.Array] = {}
    for key in ordered_stat_keys(first):
        name = f"{STATS_COLUMN_PREFIX}{feature}/{key}"
        arrow_type = stats_column_type(name, stat_json_value(key, first[key]))
        parts = [block.values(key) if key in block.arrays else None for block in blocks]
        fast = None
        if all(part is not None for part in parts):
            arrays = [part for part in parts if part is not None]
            shapes = {array.shape[1:] for array in arrays}
            dtypes = {array.dtype for array in arrays}
            fast = _column_of_parts(name, arrays, shapes, dtypes, arrow_type, np.concatenate)
        if fast is None:
            values = [cell.get(key) for block in blocks for cell in block.cells()]
            fast = _stacked_column(name, values, arrow_type)
            if fast is None:
                fast = pa.array(
                    [None if v is None else stat_json_value(key, v) for v in values],
                    type=arrow_type,
                )
        columns[name] = fast
    return columns


def _stacked_column(name: str, values: list[Any], arrow_type: pa.DataType) -> pa.Array | None:
    """The column built from stacked arrays, or None where only the per-row path is exact.

    Taken when every cell is an array of one shape, of dtypes that convert exactly; a `count`
    cell is flattened, as the per-row path does.
    """
    try:
        kinds = {(type(value), value.shape, value.dtype) for value in values}
    except AttributeError:  # None (a missing cell), lists, …
        return None
    if any(kind is not np.ndarray for kind, _, _ in kinds):
        return None
    shapes = {shape for _, shape, _ in kinds}
    dtypes = {dtype for _, _, dtype in kinds}
    return _column_of_parts(name, values, shapes, dtypes, arrow_type, np.stack)


def _column_of_parts(
    name: str,
    parts: list[npt.NDArray[Any]],
    shapes: set[tuple[int, ...]],
    dtypes: set[np.dtype[Any]],
    arrow_type: pa.DataType,
    join: Callable[[list[npt.NDArray[Any]]], npt.NDArray[Any]],
) -> pa.Array | None:
    """The column of cells of one `shape` joined from `parts` (cells stacked, or blocks
    concatenated), or None where only the per-row path is exact."""
    if len(shapes) != 1:
        return None
    (shape,) = shapes
    count = name.endswith("/count")
    if not shape or 0 in shape:
        return None
    if count:
        shape = (int(np.prod(shape)),)
        if not all(d.kind == "i" or (d.kind == "u" and d.itemsize < 8) for d in dtypes):
            return None
    elif not all(d.kind in "iuf" for d in dtypes):
        return None
    if len(shape) != len(_list_levels(arrow_type)):
        return None
    if not count and any(d.kind in "iu" for d in dtypes):
        ints = join([part for part in parts if part.dtype.kind in "iu"])
        if max(-int(ints.min()), int(ints.max())) > _EXACT_INT_IN_FLOAT64:
            return None
    # float32 → float64 and int → float64 (within 2**53) are exact, as Python numbers are.
    joined = join(parts)
    stacked = joined.reshape(len(joined), *shape)
    flat: pa.Array = pa.array(stacked.reshape(-1).astype(np.int64 if count else np.float64))
    for size, level_type in zip(reversed(shape), reversed(_list_levels(arrow_type)), strict=True):
        offsets = pa.array(np.arange(0, len(flat) + 1, size, dtype=np.int32))
        flat = pa.ListArray.from_arrays(offsets, flat, type=level_type)
    return flat


def _list_levels(arrow_type: pa.DataType) -> list[pa.DataType]:
    """The list types from the outermost in: list<list<x>> gives [list<list<x>>, list<x>]."""
    levels = []
    while pa.types.is_list(arrow_type):
        levels.append(arrow_type)
        arrow_type = arrow_type.value_type
    return levels
