"""Numeric series of one episode for the plots: one list of values per dimension, named."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from robosplice.dataset import Dataset
from robosplice.format.info import feature_shape, flat_dimension_names

# Bookkeeping columns, not signals.
INDEX_COLUMNS: Final = frozenset(
    {"timestamp", "frame_index", "episode_index", "index", "task_index"}
)
NUMERIC_DTYPES: Final = frozenset(
    {"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
     "uint32", "uint64", "bool"}
)  # fmt: skip


def plotted_features(features: Mapping[str, Any]) -> list[str]:
    """Numeric features worth a plot, in feature order (state, action, ...)."""
    return [
        name
        for name, feature in features.items()
        if feature.get("dtype") in NUMERIC_DTYPES and name not in INDEX_COLUMNS
    ]


def dimension_names(feature: Mapping[str, Any]) -> list[str]:
    """One name per flattened dimension, from info.json `names` (list, nested lists, or a dict of
    lists as some robots write it), else positions like `0` or `1,2`."""
    shape = feature_shape(dict(feature)) or (1,)
    size = math.prod(shape)
    flat = flat_dimension_names(feature.get("names"))
    if len(flat) == size:
        return flat
    return [",".join(str(i) for i in np.unravel_index(n, shape)) for n in range(size)]


def episode_series(dataset: Dataset, episode: int) -> list[dict[str, Any]]:
    """Every plotted feature of `episode`: key, dimension names and values (one list per
    dimension; NaN/inf become null)."""
    record = dataset.episodes[episode]
    names = plotted_features(dataset.features)
    if not names:
        return []
    path = dataset.data_path(record.data_position)
    start, stop = record.dataset_from_index, record.dataset_to_index
    table = pq.read_table(
        path,
        columns=[*names, "index"],
        filters=[("index", ">=", start), ("index", "<", stop)],
    )
    table = table.filter(
        pc.and_(
            pc.greater_equal(table.column("index"), start), pc.less(table.column("index"), stop)
        )
    )
    table = table.sort_by("index")
    series = []
    for name in names:
        values = _as_matrix(table.column(name), table.num_rows)
        columns = [
            [None if not math.isfinite(v) else v for v in values[:, d].tolist()]
            for d in range(values.shape[1])
        ]
        series.append(
            {"key": name, "names": dimension_names(dataset.features[name]), "values": columns}
        )
    return series


def _as_matrix(column: pa.ChunkedArray, rows: int) -> np.ndarray:
    """Rows × flattened dimensions, float64."""
    array = column.combine_chunks()
    while pa.types.is_list(array.type) or pa.types.is_fixed_size_list(array.type):
        array = array.flatten()
    values = array.to_numpy(zero_copy_only=False).astype(np.float64)
    return values.reshape(rows, -1) if rows else values.reshape(0, 1)
