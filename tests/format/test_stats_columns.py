"""`stats/*` columns read and written as numpy blocks give exactly what the per-row path gives.

The per-row path is written out here independently: a `to_pylist` row turned into arrays with
`np.atleast_1d(np.array(cell))` (how the loader reads a cell), and `Table.from_pylist` of
nested-list rows with the episodes-table types (list levels as deep as the value, int64
`count`, float64 otherwise). Outputs are compared as Parquet bytes, so NaN and -0.0 count too.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fixture_data import fixtures_dir
from robosplice.format.episodes import read_episodes
from robosplice.format.stats_columns import EpisodeStatsColumns, stats_column_arrays

FIXTURES = ["v3_av1_multifile", "v3_av1_single", "v3_h264_bframes", "v3_image"]


def per_row(row: dict[str, Any]) -> dict[str, dict[str, np.ndarray]]:
    stats: dict[str, dict[str, np.ndarray]] = {}
    for column, cell in row.items():
        if column.startswith("stats/") and cell is not None:
            feature, _, key = column[len("stats/") :].rpartition("/")
            stats.setdefault(feature, {})[key] = np.atleast_1d(np.array(cell))
    return stats


def assert_same(got: dict[str, dict[str, np.ndarray]], want: dict[str, dict[str, np.ndarray]]):
    assert list(got) == list(want)
    for feature in want:
        assert list(got[feature]) == list(want[feature]), feature
        for key, value in want[feature].items():
            array = got[feature][key]
            assert (array.dtype, array.shape) == (value.dtype, value.shape), (feature, key)
            np.testing.assert_array_equal(array, value)


def nested_rows(episodes: list[dict[str, dict[str, Any]]]) -> pa.Table:
    """The per-row writer: each stat as nested lists, types from the first row."""
    rows = [
        {
            f"stats/{feature}/{key}": (
                [int(v) for v in np.asarray(value).reshape(-1)]
                if key == "count"
                else np.atleast_1d(np.asarray(value)).tolist()
            )
            for feature, stats in episode.items()
            for key, value in stats.items()
        }
        for episode in episodes
    ]
    fields = []
    for column, value in rows[0].items():
        arrow_type: pa.DataType = pa.int64() if column.endswith("/count") else pa.float64()
        for _ in range(np.ndim(value)):
            arrow_type = pa.list_(arrow_type)
        fields.append(pa.field(column, arrow_type))
    return pa.Table.from_pylist(rows, schema=pa.schema(fields))


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="snappy")
    return sink.getvalue()


@pytest.mark.parametrize("name", FIXTURES)
def test_recorder_episode_stats_read_as_the_per_row_path_reads_them(name: str) -> None:
    table = read_episodes(fixtures_dir() / name)
    columns = EpisodeStatsColumns(table)
    for row, cells in enumerate(table.to_pylist()):
        assert_same(columns.episode(row), per_row(cells))


@pytest.mark.parametrize("name", FIXTURES)
def test_recorder_episode_stats_written_back_are_the_same_bytes(name: str) -> None:
    table = read_episodes(fixtures_dir() / name)
    episodes = [per_row(cells) for cells in table.to_pylist()]
    arrays = stats_column_arrays(episodes)
    built = pa.Table.from_arrays(list(arrays.values()), names=list(arrays))
    stats_only = table.select([n for n in table.column_names if n.startswith("stats/")])
    assert parquet_bytes(built) == parquet_bytes(nested_rows(episodes))
    assert built.schema == stats_only.schema
    assert built.equals(stats_only)


def stats(shape: tuple[int, ...], dtype: Any = np.float64, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    result = {key: rng.normal(size=shape).astype(dtype) for key in ("min", "max", "mean", "std")}
    result["count"] = np.array([7 + seed])
    return result


CASES = {
    "camera (3, 1, 1) and vector": [
        {"a": stats((3,), seed=i), "cam": stats((3, 1, 1), seed=i + 9)} for i in range(4)
    ],
    "float32 and int values": [
        {"a": stats((2,), np.float32, 1), "b": stats((2,), np.int64, 2)},
        {"a": stats((2,), np.float32, 3), "b": stats((2,), np.int64, 4)},
    ],
    "recomputed float32 beside carried float64 and int cells": [
        {"a": stats((2,), np.float32, 1)},
        {"a": stats((2,), np.float64, 2)},
        {"a": stats((2,), np.int32, 3)},
    ],
    "episode without a feature": [
        {"a": stats((3,), seed=1)},
        {},
        {"a": {"min": np.zeros(3)}},
    ],
    "shapes that differ (per-row path)": [{"a": stats((3,))}, {"a": stats((4,), seed=1)}],
    "NaN, Inf and -0.0": [{"a": {"min": np.array([np.nan, np.inf, -0.0])}}] * 2,
    "unknown stat key after the known ones": [{"a": {"zz": np.ones(2), "min": np.ones(2)}}] * 3,
}


@pytest.mark.parametrize("case", list(CASES))
def test_edge_cases_are_written_as_the_per_row_path_writes_them(case: str) -> None:
    episodes = CASES[case]
    arrays = stats_column_arrays(episodes)
    built = pa.Table.from_arrays(list(arrays.values()), names=list(arrays))
    ordered = [
        {f: {k: s[f][k] for k in sorted(s[f], key=_stat_order)} for f in s} for s in episodes
    ]
    assert parquet_bytes(built) == parquet_bytes(nested_rows(ordered))
    read = EpisodeStatsColumns(built)
    for row, cells in enumerate(built.to_pylist()):
        assert_same(read.episode(row), per_row(cells))


def _stat_order(key: str) -> int:
    known = ("min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99")
    return known.index(key) if key in known else len(known)


def test_cells_with_nulls_inside_and_odd_types_are_read_row_by_row() -> None:
    table = pa.table(
        {
            "stats/a/min": pa.array([[1.5, 2.0], None, [3.0, 4.0]], pa.list_(pa.float32())),
            "stats/a/count": pa.chunked_array([[[1]], [None, [3]]], pa.list_(pa.int32())),
            "stats/b/max": pa.array(
                [[[1.0]], [[2.0], [3.0]], [[None]]], pa.list_(pa.list_(pa.float64()))
            ),
            "stats/c/mean": pa.array([[1, 2]] * 3, pa.list_(pa.uint64())),
            "stats/d/std": pa.array([[1.0, 2.0]] * 3, pa.list_(pa.float64(), 2)),
            "stats/e/q01": pa.array([[]] * 3, pa.list_(pa.float64())),
            "episode_index": pa.array([0, 1, 2]),
        }
    )
    columns = EpisodeStatsColumns(table)
    for row, cells in enumerate(table.to_pylist()):
        assert_same(columns.episode(row), per_row(cells))


def test_carried_stats_are_read_only_views() -> None:
    table = read_episodes(fixtures_dir() / "v3_av1_single")
    value = EpisodeStatsColumns(table).episode(0)["action"]["mean"]
    with pytest.raises(ValueError, match="read-only"):
        value[0] = 1.0
