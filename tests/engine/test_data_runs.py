"""The data path in runs (issue 22): consecutive whole episodes of one source file are read,
renumbered and written together, and give the rows one episode at a time would.

Expected rows come from the source data files read with pyarrow alone: each kept source
episode's rows, in output order, with `index` counted over the output, `episode_index` the
output number, `frame_index` from 0, `timestamp` float32(frame_index / fps) and `task_index`
the output's number of the same task name. Every test checks that runs of several episodes
were taken, so the run path is the one under test.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from robosplice.dataset import Dataset
from robosplice.engine.sources import SourceSet
from robosplice.format.stats import compute_feature_stats, compute_feature_stats_runs
from robosplice.ops.delete import delete_episodes
from robosplice.ops.merge import merge_datasets
from robosplice.ops.split import split_dataset

INDEX = ("index", "episode_index", "frame_index", "timestamp", "task_index")


@pytest.fixture
def run_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Number of episodes of each multi-episode run read (spied on `SourceSet.read_run_rows`)."""
    sizes: list[int] = []
    original = SourceSet.read_run_rows

    def spy(self: SourceSet, source: int, episode_indices: list[int]) -> pa.Table:
        sizes.append(len(episode_indices))
        return original(self, source, episode_indices)

    monkeypatch.setattr(SourceSet, "read_run_rows", spy)
    return sizes


def _data_rows(root: Path) -> pa.Table:
    """Every data row of a dataset, files in path order, read with pyarrow alone."""
    files = sorted((root / "data").glob("*/*.parquet"))
    return pa.concat_tables([pq.read_table(path) for path in files])


def _tasks(root: Path) -> list[str]:
    table = pq.read_table(root / "meta" / "tasks.parquet")
    names = table.column("task" if "task" in table.column_names else "__index_level_0__")
    order = np.argsort(table.column("task_index").to_numpy())
    return [names[int(i)].as_py() for i in order]


def _expected(kept: list[tuple[Path, int]], output_root: Path) -> pa.Table:
    """The source episodes' rows (source root, episode) in order, index columns renumbered."""
    fps = json.loads((output_root / "meta" / "info.json").read_text())["fps"]
    output_tasks = _tasks(output_root)
    parts = []
    for number, (root, episode) in enumerate(kept):
        rows = _data_rows(root)
        rows = rows.filter(pa.compute.equal(rows.column("episode_index"), episode))
        length = rows.num_rows
        frame = np.arange(length, dtype=np.int64)
        source_tasks = _tasks(root)
        tasks = [output_tasks.index(source_tasks[t]) for t in rows.column("task_index").to_pylist()]
        columns = {
            "episode_index": np.full(length, number, dtype=np.int64),
            "frame_index": frame,
            "timestamp": (frame / fps).astype(np.float32),
            "task_index": np.array(tasks, dtype=np.int64),
        }
        for name, values in columns.items():
            rows = rows.set_column(rows.schema.get_field_index(name), name, pa.array(values))
        parts.append(rows)
    table = pa.concat_tables(parts)
    index = np.arange(table.num_rows, dtype=np.int64)
    return table.set_column(table.schema.get_field_index("index"), "index", pa.array(index))


def _assert_rows(output: Path, kept: list[tuple[Path, int]]) -> None:
    got, want = _data_rows(output), _expected(kept, output)
    assert got.num_rows == want.num_rows
    for name in want.column_names:
        assert got.column(name).to_pylist() == want.column(name).to_pylist(), name
    # One row group per episode, as the recorder writes them.
    lengths = [
        pq.ParquetFile(path).metadata.row_group(g).num_rows
        for path in sorted((output / "data").glob("*/*.parquet"))
        for g in range(pq.ParquetFile(path).metadata.num_row_groups)
    ]
    episodes = got.column("episode_index").to_numpy()
    assert lengths == np.bincount(episodes).tolist()


def test_delete_with_gaps_keeps_rows_in_runs(fixture_dataset, tmp_path, run_reads):
    root = fixture_dataset("v3_av1_multifile")
    deleted = [1, 5, 6]
    delete_episodes(Dataset(root), deleted, tmp_path / "out")
    kept = [(root, e) for e in range(10) if e not in deleted]
    _assert_rows(tmp_path / "out", kept)
    assert max(run_reads, default=0) >= 2


def test_split_keeps_rows_in_runs(fixture_dataset, tmp_path, run_reads):
    root = fixture_dataset("v3_av1_single")
    split_dataset(Dataset(root), {"a": [0, 1, 2, 3], "b": [4, 5]}, tmp_path / "out")
    _assert_rows(tmp_path / "out" / "a", [(root, e) for e in (0, 1, 2, 3)])
    _assert_rows(tmp_path / "out" / "b", [(root, e) for e in (4, 5)])
    assert sorted(run_reads) == [2, 4]


def test_merge_of_two_sources_keeps_rows_in_runs(fixture_dataset, tmp_path, run_reads):
    first = fixture_dataset("v3_av1_single")
    second = tmp_path / "second"
    delete_episodes(Dataset(first), [0, 3], second)  # a second source, of other episodes
    run_reads.clear()
    merge_datasets([Dataset(second), Dataset(first)], tmp_path / "out")
    kept = [(second, e) for e in range(4)] + [(first, e) for e in range(6)]
    _assert_rows(tmp_path / "out", kept)
    assert sorted(run_reads) == [4, 6]


def test_stats_of_runs_equal_those_of_each_slice():
    """Stats of index-like columns computed for many episodes at once have the bits of
    `compute_feature_stats` of each episode alone (the recorder's rule, tested against 0.6.1)."""
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 300, 60)
    starts = np.cumsum(lengths) - lengths
    columns = {
        "index": np.arange(int(lengths.sum())) + 10**6,
        "episode_index": np.repeat(np.arange(60) + 2**21, lengths),
        "frame_index": np.arange(int(lengths.sum())) - np.repeat(starts, lengths),
        "task_index": rng.integers(0, 3, int(lengths.sum())),
        "large": rng.integers(0, 2**40, int(lengths.sum())),  # inexact sums: slice by slice
    }
    chosen = np.flatnonzero(rng.random(60) < 0.7)
    for name, values in columns.items():
        got = compute_feature_stats_runs(values, starts[chosen], lengths[chosen])
        for stats, episode in zip(got, chosen, strict=True):
            start, length = int(starts[episode]), int(lengths[episode])
            want = compute_feature_stats(values[start : start + length])
            assert list(stats) == list(want), name
            for key, value in want.items():
                assert stats[key].dtype == value.dtype, (name, key)
                assert stats[key].tobytes() == value.tobytes(), (name, episode, key)


def test_only_the_file_being_read_keeps_rows(fixture_dataset):
    """Readers of files already read keep no rows: a source file can be one row group of tens of
    MiB (+200 MiB at 100,000 episodes)."""
    root = fixture_dataset("v3_av1_multifile")
    dataset = Dataset(root)
    by_file: dict[tuple[int, int], list[int]] = {}
    for record in dataset.episodes:
        by_file.setdefault(record.data_position, []).append(record.episode_index)
    assert len(by_file) >= 3
    sources = SourceSet([dataset])
    for episodes in by_file.values():
        assert sources.read_run_rows(0, episodes).num_rows > 0
        readers = sources._data_readers
        holding = [key for key, reader in readers.items() if reader.cached_bytes]
        assert holding == [(0, dataset.episodes[episodes[0]].data_position)]
    sources.close()
