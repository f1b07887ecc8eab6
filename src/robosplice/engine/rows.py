"""Turn source rows into output episodes' rows, several episodes at once (pure table transform).

Index columns are recomputed from position (FORMAT.md §2.3): `index` global, `frame_index` from 0,
`timestamp = float32(frame_index / fps)`, `episode_index` the output number, `task_index`
remapped by name. Other columns pass through, renamed/dropped/added as the plan says, and are
cast to the output schema (so pandas-written `list<float>` becomes the recorder's fixed-size list).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyarrow as pa

from robosplice.errors import SelectionError
from robosplice.format.info import Features, feature_shape
from robosplice.format.schema import column_values, leaf_type
from robosplice.plan.model import ColumnChanges


def episode_columns_numpy(table: pa.Table, features: Features) -> dict[str, np.ndarray]:
    """Numeric columns of an episode table as numpy arrays (for producers and stats)."""
    columns = {}
    for name in table.column_names:
        feature = features.get(name)
        if feature is None or feature["dtype"] in ("image", "video", "string", "language"):
            continue
        columns[name] = column_values(table.column(name), feature_shape(feature))
    return columns


def _as_arrow(values: np.ndarray, field: pa.Field, rows: int, name: str) -> pa.Array:
    values = np.asarray(values)
    if values.shape[0] != rows:
        raise SelectionError(
            f"feature {name!r}: the producer returned {values.shape[0]} rows for an episode of"
            f" {rows} frames"
        )
    field_type = field.type
    if pa.types.is_fixed_size_list(field_type) or pa.types.is_list(field_type):
        flat = pa.array(values.reshape(-1), type=leaf_type(field_type))
        return nest_flat(flat, field_type, values.shape[1:])
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    return pa.array(values, type=field_type)


def nest_flat(flat: pa.Array, data_type: pa.DataType, shape: tuple[int, ...]) -> pa.Array:
    """Rows of `shape` from a flat array, nested as the (fixed-size) list type `data_type`."""
    if not (pa.types.is_list(data_type) or pa.types.is_fixed_size_list(data_type)):
        return flat
    inner = nest_flat(flat, data_type.value_type, shape[1:])
    size = shape[0]
    if pa.types.is_fixed_size_list(data_type):
        return pa.FixedSizeListArray.from_arrays(inner, type=data_type)
    offsets = pa.array(np.arange(0, len(inner) + 1, size, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, inner, type=data_type)


def transform_run_rows(
    table: pa.Table,
    *,
    schema: pa.Schema,
    features: Features,
    source_number: int,
    columns: ColumnChanges,
    first_output_index: int,
    lengths: np.ndarray,
    global_start: int,
    fps: float,
    task_map: np.ndarray,
    task_override: int | None,
) -> pa.Table:
    """Rows of consecutive output episodes of `lengths` frames (numbered from
    `first_output_index`), read as one table: index columns over whole columns, one cast.

    Producers of added features see one episode at a time, so a run with them holds one.
    """
    rows = table.num_rows
    renames: Mapping[str, str] = columns.renames[source_number] if columns.renames else {}
    if renames:
        table = table.rename_columns([renames.get(name, name) for name in table.column_names])
    if columns.added and len(lengths) != 1:
        raise ValueError("added features are produced one episode at a time")
    starts = np.cumsum(lengths) - lengths
    frame_index = np.arange(rows, dtype=np.int64) - np.repeat(starts, lengths)
    if task_override is not None:
        task_index = np.full(rows, task_override, dtype=np.int64)
    else:
        task_index = task_map[table.column("task_index").to_numpy()]
    numbers = np.arange(first_output_index, first_output_index + len(lengths), dtype=np.int64)
    computed: dict[str, np.ndarray] = {
        "index": np.arange(global_start, global_start + rows, dtype=np.int64),
        "episode_index": np.repeat(numbers, lengths),
        "frame_index": frame_index,
        "timestamp": (frame_index / fps).astype(np.float32),
        "task_index": task_index.astype(np.int64),
    }
    if columns.added:
        numeric = episode_columns_numpy(table, features)
        numeric.update(computed)
        for name, producer in columns.added.items():
            computed[name] = producer(numeric, first_output_index)
    arrays = []
    for field in schema:
        name = field.name
        if name in computed:
            arrays.append(_as_arrow(computed[name], field, rows, name))
            continue
        column = table.column(name)
        if column.type != field.type:
            try:
                column = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                shape = feature_shape(features[name])
                column = _as_arrow(column_values(column, shape), field, rows, name)
        arrays.append(column)
    return pa.Table.from_arrays(arrays, schema=schema)
