"""Stale-stats checks on data whose row groups cut across episodes (as pandas/HF writers do).

Moments are summed over runs of row groups, so an episode split over several groups, and
groups holding several episodes, must give the same answers as the recorder's layout.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fixture_data import copy_tree_writable, fixtures_dir
from robosplice.checks import validate_dataset

DATA = "data/chunk-000/file-000.parquet"


def regroup(root: Path, rows: int) -> None:
    path = root / DATA
    table = pq.read_table(path)
    pq.write_table(table, path, row_group_size=rows)
    assert pq.ParquetFile(path).metadata.num_row_groups > table.num_rows // rows


@pytest.mark.parametrize("rows", [7, 50])
def test_clean_data_in_small_row_groups_has_no_findings(tmp_path: Path, rows: int) -> None:
    root = copy_tree_writable(fixtures_dir() / "v3_av1_single", tmp_path / "d")
    regroup(root, rows)
    assert validate_dataset(root) == []


def test_an_edit_inside_an_episode_split_over_row_groups_is_found(tmp_path: Path) -> None:
    root = copy_tree_writable(fixtures_dir() / "v3_av1_single", tmp_path / "d")
    path = root / DATA
    table = pq.read_table(path)
    episode = np.asarray(table.column("episode_index").to_pylist())
    action = np.asarray(table.column("action").to_pylist(), dtype=np.float32)
    row = int(np.flatnonzero(episode == 3)[0]) + 8  # episode 3 spans several groups of 7
    action[row, 2] += 100.0
    column = pa.FixedSizeListArray.from_arrays(pa.array(action.reshape(-1)), action.shape[1])
    table = table.set_column(table.column_names.index("action"), "action", column)
    pq.write_table(table.cast(pq.read_schema(path)), path, row_group_size=7)
    problems = validate_dataset(root)
    per_episode = {p.message.split(":")[0] for p in problems if p.loc == "episode 3"}
    assert per_episode == {f"stats/action/{key} of episode 3" for key in ("max", "mean", "std")}
    assert {p.loc for p in problems} == {"episode 3", "action.max", "action.mean", "action.std"}
    maximum = next(p for p in problems if p.loc == "episode 3" and "/max" in p.message)
    assert f"dimension 2: expected {float(action[episode == 3, 2].max()):.9g}" in maximum.message
