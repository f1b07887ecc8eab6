"""`DataFileWriter`: one row group per episode, numbers written plain, text dictionary encoded."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from fixture_data import copy_tree_writable, fixtures_dir
from robosplice.format.data import MAX_COLUMN_CHUNKS_PER_FILE, DataFileWriter

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


def test_a_file_ends_at_its_column_chunk_bound_unless_files_are_kept(tmp_path: Path) -> None:
    """Short episodes start a new file once row groups × leaf columns reach the bound, so the
    writer's metadata and every reader's footer stay bounded; kept files are never cut."""
    schema = pa.schema(
        [("index", pa.int64()), ("episode_index", pa.int64()), ("action", pa.list_(pa.float32()))]
    )
    per_file = MAX_COLUMN_CHUNKS_PER_FILE // 3
    episodes = per_file + 5

    def write(folder: Path, **options: bool) -> list[str]:
        writer = DataFileWriter(folder, schema, file_size_mb=100, chunks_size=1000, **options)
        for episode in range(episodes):
            row = {"index": [episode], "episode_index": [episode], "action": [[0.5, 1.5]]}
            writer.write_episode(pa.table(row, schema=schema))
        writer.close()
        return writer.paths_written

    paths = write(tmp_path / "bounded")
    assert paths == ["data/chunk-000/file-000.parquet", "data/chunk-000/file-001.parquet"]
    groups = [pq.ParquetFile(tmp_path / "bounded" / p).metadata.num_row_groups for p in paths]
    assert groups == [per_file, 5]
    rows = pa.concat_tables(pq.read_table(tmp_path / "bounded" / p) for p in paths)
    assert rows.column("episode_index").to_pylist() == list(range(episodes))
    assert write(tmp_path / "kept", bound_row_groups=False) == ["data/chunk-000/file-000.parquet"]
