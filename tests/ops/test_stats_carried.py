"""What an edit does not touch stays bit-exact: stats.json entries and per-episode `stats/*` cells.

An op that keeps every episode and value (repack, rename, remove for the other features, a merge
of one dataset) writes the source's stats exactly; where values change (renumbered episodes,
trimmed frames, added features) stats are recomputed. Expectations are read from the source's
own files, never from robosplice.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fixture_data import FIXTURE_NAMES
from robosplice.format.episodes import episodes_files
from robosplice.ops.delete import delete_episodes
from robosplice.ops.features import add_features, remove_feature, rename_feature
from robosplice.ops.merge import merge_datasets
from robosplice.ops.repack import repack
from robosplice.ops.validate import validate

RENAMED = ("observation.state", "observation.joints")


def stats_json(root: Path) -> dict:
    return json.loads((root / "meta/stats.json").read_text(encoding="utf-8"))


def stats_columns(root: Path) -> dict[str, tuple[pa.DataType, list]]:
    """Every `stats/*` column of meta/episodes (type and cells), read with pyarrow alone."""
    table = pa.concat_tables([pq.read_table(p) for p in episodes_files(root)])
    return {
        name: (table.schema.field(name).type, table.column(name).to_pylist())
        for name in table.column_names
        if name.startswith("stats/")
    }


def renamed(columns: dict, old: str, new: str) -> dict:
    prefix, target = f"stats/{old}/", f"stats/{new}/"
    return {
        (target + name[len(prefix) :] if name.startswith(prefix) else name): value
        for name, value in columns.items()
    }


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_repack_keeps_stats_bit_identical(name, fixture_dataset, tmp_path):
    source = fixture_dataset(name)
    output = repack(source, tmp_path / "out", data_files_size_in_mb=0.01)
    assert (output.root / "meta/stats.json").read_bytes() == (
        source / "meta/stats.json"
    ).read_bytes()
    assert stats_columns(output.root) == stats_columns(source)
    assert validate(output) == []


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_rename_keeps_stats_bit_identical_under_the_new_name(name, fixture_dataset, tmp_path):
    source = fixture_dataset(name)
    output = rename_feature(source, dict([RENAMED]), tmp_path / "out")
    want = stats_json(source)
    got = stats_json(output.root)
    assert list(got) == [RENAMED[1] if k == RENAMED[0] else k for k in want]
    assert got[RENAMED[1]] == want[RENAMED[0]]
    assert {k: v for k, v in got.items() if k != RENAMED[1]} == {
        k: v for k, v in want.items() if k != RENAMED[0]
    }
    assert stats_columns(output.root) == renamed(stats_columns(source), *RENAMED)


def test_remove_feature_keeps_the_other_stats_bit_identical(fixture_dataset, tmp_path):
    source = fixture_dataset("v3_av1_multifile")
    output = remove_feature(source, "observation.effort", output_dir=tmp_path / "out")
    want = {k: v for k, v in stats_json(source).items() if k != "observation.effort"}
    assert stats_json(output.root) == want
    want_columns = {
        k: v
        for k, v in stats_columns(source).items()
        if not k.startswith("stats/observation.effort/")
    }
    assert stats_columns(output.root) == want_columns


def test_merge_of_one_dataset_keeps_stats_bit_identical(fixture_dataset, tmp_path):
    source = fixture_dataset("v3_h264_bframes")
    output = merge_datasets([source], "test/one", tmp_path / "out")
    assert stats_json(output.root) == stats_json(source)
    assert stats_columns(output.root) == stats_columns(source)


def test_add_feature_keeps_the_other_stats_and_computes_the_new_one(fixture_dataset, tmp_path):
    source = fixture_dataset("v3_av1_single")
    info = json.loads((source / "meta/info.json").read_text())
    frames = info["total_frames"]
    reward = np.arange(frames, dtype=np.float32) / 7
    output = add_features(
        source,
        {"bonus": (reward, {"dtype": "float32", "shape": [1], "names": None})},
        tmp_path / "o",
    )
    got = stats_json(output.root)
    assert {k: v for k, v in got.items() if k != "bonus"} == stats_json(source)
    assert got["bonus"]["min"] == [0.0]
    assert got["bonus"]["max"] == [float(reward[-1])]
    assert got["bonus"]["count"] == [frames]


def test_delete_recomputes_the_dataset_quantiles(fixture_dataset, tmp_path):
    source = fixture_dataset("v3_av1_single")
    output = delete_episodes(source, [0], tmp_path / "out")
    got, want = stats_json(output.root), stats_json(source)
    assert got["index"]["count"] != want["index"]["count"]
    # Quantiles over the kept values (the histogram method lands within one bin of numpy's).
    rows = pa.concat_tables(
        [
            pq.read_table(p, columns=["action"])
            for p in sorted((output.root / "data").rglob("*.parquet"))
        ]
    )
    action = np.asarray(rows.column("action").to_pylist(), dtype=np.float64)
    span = action.max(axis=0) - action.min(axis=0)
    np.testing.assert_allclose(
        got["action"]["q50"], np.quantile(action, 0.5, axis=0), atol=float(span.max()) / 100
    )
