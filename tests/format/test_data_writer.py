"""`DataFileWriter`: one row group per episode, numbers written plain, text dictionary encoded."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from fixture_data import copy_tree_writable, fixtures_dir
from robosplice.format.data import DataFileWriter

DATA = "data/chunk-000/file-000.parquet"


def test_episodes_round_trip_with_dictionaries_only_for_text(tmp_path: Path) -> None:
    source = pq.read_table(
        copy_tree_writable(fixtures_dir() / "v3_av1_single", tmp_path / "s") / DATA
    )
    notes = pa.array([f"take {i % 3}" for i in range(source.num_rows)])
    table = source.append_column("note", notes)
    writer = DataFileWriter(tmp_path / "out", table.schema, file_size_mb=100, chunks_size=1000)
    episodes = table.column("episode_index").to_pylist()
    starts = [i for i, e in enumerate(episodes) if i == 0 or episodes[i - 1] != e]
    for start, stop in zip(starts, [*starts[1:], len(episodes)], strict=True):
        writer.write_episode(table.slice(start, stop - start))
    writer.close()
    written = pq.ParquetFile(tmp_path / "out" / DATA)
    assert written.read().equals(table)
    assert written.metadata.num_row_groups == len(starts)
    for group in range(written.metadata.num_row_groups):
        row_group = written.metadata.row_group(group)
        for column in range(row_group.num_columns):
            chunk = row_group.column(column)
            dictionary = any("DICTIONARY" in encoding for encoding in chunk.encodings)
            assert dictionary == (chunk.path_in_schema == "note"), (group, chunk.path_in_schema)
