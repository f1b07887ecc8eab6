"""Merge behaves as lerobot 0.6.1's `aggregate_datasets` tests expect, in robosplice's words."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from fixture_data import copy_tree_writable, fixtures_dir
from robosplice.dataset import Dataset
from robosplice.format.data import data_files
from robosplice.ops.merge import aggregate_datasets, merge_datasets
from robosplice.ops.validate import validate


def _with_encoder_info(root: Path, key: str, change: dict) -> Path:
    info_path = root / "meta/info.json"
    info = json.loads(info_path.read_text())
    video_info = info["features"][key]["info"]
    for name, value in change.items():
        if value is KeyError:
            video_info.pop(name, None)
        else:
            video_info[name] = value
    info_path.write_text(json.dumps(info, indent=4))
    return root


@pytest.mark.parametrize(
    "change",
    [{"video.crf": 99}, {"video.extra_options": {"tune": "film"}}, {"video.crf": KeyError}],
    ids=["mismatched_value", "mismatched_extra_options", "missing_key"],
)
def test_unlike_encoder_info_warns_and_is_nulled(change, fixture_dataset, tmp_path, caplog):
    first = fixture_dataset("v3_av1_single")
    second = copy_tree_writable(fixtures_dir() / "v3_av1_single", tmp_path / "second")
    _with_encoder_info(second, "observation.images.front", change)
    with caplog.at_level(logging.WARNING):
        merged = merge_datasets([first, second], "t/m", tmp_path / "m")
    assert "heterogeneous or incomplete video encoder metadata" in caplog.text
    front = merged.features["observation.images.front"]["info"]
    wrist = merged.features["observation.images.wrist"]["info"]
    key = next(iter(change))
    assert front[key] == ({} if key == "video.extra_options" else None)
    source_info = Dataset(first).features["observation.images.front"]["info"]
    for name in ("video.g", "video.preset", "video.fast_decode", "video.codec", "video.pix_fmt"):
        assert front[name] == source_info[name]
    assert wrist == Dataset(first).features["observation.images.wrist"]["info"]
    assert validate(merged) == []


@pytest.mark.parametrize("name", ["v3_av1_multifile", "v3_image"])
def test_merged_data_shards_hold_one_row_group_per_episode(name, fixture_dataset, tmp_path):
    source = fixture_dataset(name)
    merged = merge_datasets([source, source], "t/m", tmp_path / "m", data_files_size_in_mb=0.05)
    groups = 0
    for path in data_files(merged.root):
        metadata = pq.ParquetFile(path).metadata
        episodes = {
            tuple(pq.read_table(path, columns=["episode_index"]).column(0).unique().to_pylist())
        }
        groups += metadata.num_row_groups
        assert metadata.num_row_groups == len(next(iter(episodes)))
    assert groups == merged.num_episodes == 2 * Dataset(source).num_episodes


def test_merging_an_already_merged_dataset(fixture_dataset, tmp_path):
    a, b = fixture_dataset("v3_av1_multifile"), fixture_dataset("v3_av1_single")
    c = merge_datasets([b], "t/c", tmp_path / "c2")  # a third dataset with its own file layout
    ab = merge_datasets([a, b], "t/ab", tmp_path / "ab", data_files_size_in_mb=0.01)
    abc = merge_datasets([ab, c], "t/abc", tmp_path / "abc")
    assert validate(abc) == []
    for episode in abc.episodes:
        assert abc.data_path(episode.data_position).is_file()


def test_per_episode_index_stats_follow_the_new_positions(fixture_dataset, tmp_path):
    a = Dataset(fixture_dataset("v3_av1_single"))
    b = Dataset(fixture_dataset("v3_av1_multifile"))
    merged = merge_datasets([a, b], "t/m", tmp_path / "m")
    rows = merged.episodes_table.to_pylist()
    source_rows = b.episodes_table.to_pylist()
    episode_offset, frame_offset = a.num_episodes, a.num_frames
    for source_row in source_rows:
        row = rows[episode_offset + source_row["episode_index"]]
        for stat in ("min", "max", "mean"):
            assert row[f"stats/episode_index/{stat}"][0] == pytest.approx(
                source_row[f"stats/episode_index/{stat}"][0] + episode_offset
            )
            assert row[f"stats/index/{stat}"][0] == pytest.approx(
                source_row[f"stats/index/{stat}"][0] + frame_offset
            )
        assert row["stats/index/std"] == pytest.approx(source_row["stats/index/std"])
        task = merged.tasks.index(source_row["tasks"][0])
        assert row["stats/task_index/min"] == [task]
        assert row["stats/task_index/max"] == [task]
        assert row["stats/task_index/std"] == [0.0]
        for column, value in source_row.items():  # features that did not move are carried verbatim
            if column.startswith("stats/action/") or column.startswith("stats/observation.images"):
                assert row[column] == value, column
    assert len(merged.tasks) == 3


def test_aggregate_datasets_signature(fixture_dataset, tmp_path):
    a = fixture_dataset("v3_av1_single")
    aggregate_datasets(
        ["x/a", "x/a2"],
        "x/agg",
        roots=[a, a],
        aggr_root=tmp_path / "agg",
        data_files_size_in_mb=1,
        video_files_size_in_mb=1,
        chunk_size=10,
    )
    merged = Dataset(tmp_path / "agg")
    assert merged.num_episodes == 2 * Dataset(a).num_episodes
    assert merged.info["chunks_size"] == 10
    assert validate(merged) == []
