"""Numeric signals of a dataset, streamed episode by episode: only the columns asked for, row group
by row group (memory is bounded by one row group plus one episode). Reads only; judges nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from robosplice.dataset import Dataset
from robosplice.format.data import data_files
from robosplice.format.info import DEFAULT_FEATURE_NAMES, feature_shape, flat_dimension_names

FLOAT_DTYPES = ("float16", "float32", "float64")
MOTION_FEATURES = ("observation.state", "action")


@dataclass(frozen=True, slots=True, kw_only=True)
class Column:
    """One scalar dimension of a feature: the feature key, its flat index, and its name."""

    feature: str
    dimension: int
    name: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class EpisodeSignals:
    """One episode's values: `values[feature]` is (frames, flat dimensions) float64."""

    episode_index: int
    values: Mapping[str, np.ndarray]
    timestamp: np.ndarray | None

    @property
    def length(self) -> int:
        """Frames in the episode."""
        first = next(iter(self.values.values()), self.timestamp)
        return 0 if first is None else len(first)


def flat_names(names: Any, width: int) -> list[str | None]:
    """The names of a feature's flat dimensions from info.json `names` (a list, nested lists,
    or a dict of lists such as {"motors": [...]}); None where none is given."""
    flat = flat_dimension_names(names)
    if len(flat) != width:
        return [None] * width if not flat else (flat + [None] * width)[:width]
    return list(flat)


def float_features(dataset: Dataset) -> list[str]:
    """Numeric float features other than the five default columns."""
    return [
        name
        for name, feature in dataset.features.items()
        if feature.get("dtype") in FLOAT_DTYPES and name not in DEFAULT_FEATURE_NAMES
    ]


def motion_features(dataset: Dataset, chosen: Sequence[str] | None = None) -> list[str]:
    """The features whose motion quality checks judge: `chosen`, else state and action, else
    every float feature."""
    available = float_features(dataset)
    if chosen is not None:
        return [name for name in chosen if name in available]
    preferred = [name for name in MOTION_FEATURES if name in available]
    return preferred or available


def columns_of(dataset: Dataset, features: Sequence[str]) -> list[Column]:
    """Every flat dimension of `features`, in order, named from info.json."""
    columns = []
    for feature in features:
        info = dataset.features[feature]
        width = int(np.prod(feature_shape(info))) if feature_shape(info) else 1
        names = flat_names(info.get("names"), width)
        columns += [Column(feature=feature, dimension=d, name=names[d]) for d in range(width)]
    return columns


def column_matrix(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A list / fixed-size-list / scalar column as a (rows, flat width) float64 array."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    rows = len(array)
    if isinstance(array, pa.ExtensionArray):
        array = array.storage
    while (
        pa.types.is_list(array.type)
        or pa.types.is_large_list(array.type)
        or (pa.types.is_fixed_size_list(array.type))
    ):
        array = array.flatten()
        if isinstance(array, pa.ExtensionArray):
            array = array.storage
    values = array.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    if rows == 0:
        return values.reshape(0, 1)
    if values.size % rows:
        raise ValueError(f"ragged list column: {values.size} values in {rows} rows")
    return values.reshape(rows, -1)


def stream_episodes(
    dataset: Dataset,
    features: Sequence[str],
    *,
    timestamps: bool = False,
    episodes: set[int] | None = None,
) -> Iterator[EpisodeSignals]:
    """Yield each episode's `features` (and timestamps) in file order.

    `episodes` limits what is materialized (the others' rows are still read, by row group).
    """
    wanted = list(dict.fromkeys([*features, *(["timestamp"] if timestamps else [])]))
    pending: dict[str, list[np.ndarray]] = {}
    current: int | None = None

    def flush() -> EpisodeSignals | None:
        if current is None or (episodes is not None and current not in episodes):
            return None
        merged = {name: np.concatenate(parts) for name, parts in pending.items()}
        stamp = merged.pop("timestamp", None) if timestamps else None
        return EpisodeSignals(
            episode_index=current,
            values=merged,
            timestamp=None if stamp is None else stamp.reshape(-1),
        )

    for path in data_files(dataset.root):
        parquet = pq.ParquetFile(path)
        present = [name for name in wanted if name in parquet.schema_arrow.names]
        for group in range(parquet.num_row_groups):
            table = parquet.read_row_group(group, columns=[*present, "episode_index"])
            episode = table.column("episode_index").to_numpy()
            if len(episode) == 0:
                continue
            cuts = np.flatnonzero(np.diff(episode)) + 1
            starts = np.concatenate([[0], cuts])
            stops = np.concatenate([cuts, [len(episode)]])
            keep = episodes is None or bool(np.isin(episode[starts], list(episodes)).any())
            matrices = {name: column_matrix(table.column(name)) for name in present} if keep else {}
            for start, stop in zip(starts, stops):
                index = int(episode[start])
                if index != current:
                    done = flush()
                    if done is not None:
                        yield done
                    current = index
                    pending = {name: [] for name in present}
                if matrices:
                    for name in present:
                        pending[name].append(matrices[name][start:stop])
    done = flush()
    if done is not None:
        yield done
