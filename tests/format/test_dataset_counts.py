"""`Dataset.num_frames` sums the episodes' `length` column where it is whole, and the episode
records (their lengths from the index ranges) where it is missing or has nulls: both counts are
the frames the data files hold."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fixture_data import copy_tree_writable, fixtures_dir
from robosplice.dataset import Dataset

FIXTURES = sorted(p.name for p in fixtures_dir().iterdir() if (p / "meta/info.json").is_file())


def _data_rows(root: Path) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in (root / "data").glob("*/*.parquet"))


@pytest.mark.parametrize("name", FIXTURES)
def test_frames_counted_from_the_length_column_are_the_data_rows(name: str) -> None:
    dataset = Dataset(fixtures_dir() / name)
    assert dataset.num_frames == _data_rows(dataset.root)
    assert dataset.num_frames == sum(episode.length for episode in dataset.episodes)


@pytest.mark.parametrize("change", ["drop", "nulls"])
def test_without_a_whole_length_column_the_records_count(tmp_path: Path, change: str) -> None:
    root = copy_tree_writable(fixtures_dir() / "v3_av1_single", tmp_path / "d")
    for path in (root / "meta/episodes").glob("*/*.parquet"):
        table = pq.read_table(path)
        position = table.column_names.index("length")
        if change == "drop":
            table = table.remove_column(position)
        else:
            nulls = pa.nulls(table.num_rows, table.schema.field("length").type)
            table = table.set_column(position, "length", nulls)
        pq.write_table(table, path)
    assert Dataset(root).num_frames == _data_rows(root)
