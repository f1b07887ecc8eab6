"""repack: the identity plan. Same rows, same decoded frames, byte-identical packets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from fixture_data import FIXTURE_NAMES, VIDEO_FIXTURES
from robosplice.dataset import Dataset
from robosplice.errors import OutputExistsError
from robosplice.format.data import data_files
from robosplice.ops.repack import repack
from robosplice.ops.validate import validate
from robosplice.testing import decode_episode_frames, episode_packets


def _all_rows(root: Path):
    import pyarrow as pa

    return pa.concat_tables([pq.read_table(p) for p in data_files(root)])


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_repack_keeps_every_row_and_packet(name, fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset(name))
    output = repack(source, tmp_path / "out")
    assert validate(output) == []
    assert _all_rows(output.root).to_pylist() == _all_rows(source.root).to_pylist()
    for key in source.video_keys:
        for episode in range(source.num_episodes):
            assert episode_packets(output, key, episode) == episode_packets(source, key, episode)
    assert output.tasks == source.tasks
    source_info = json.loads((source.root / "meta/info.json").read_text())
    output_info = json.loads((output.root / "meta/info.json").read_text())
    assert output_info == source_info


@pytest.mark.parametrize("name", VIDEO_FIXTURES)
def test_repack_decodes_to_identical_frames(name, fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset(name))
    output = repack(source, tmp_path / "out", video_files_size_in_mb=0.02, chunks_size=2)
    assert validate(output) == []
    for key in source.video_keys:
        for episode in range(source.num_episodes):
            expected = decode_episode_frames(source, key, episode)
            assert len(expected) == source.episodes[episode].length
            np.testing.assert_array_equal(decode_episode_frames(output, key, episode), expected)


def test_repack_rechunks_into_many_small_files_and_back(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_single"))
    small = repack(
        source,
        tmp_path / "small",
        data_files_size_in_mb=0.01,
        video_files_size_in_mb=0.03,
        chunks_size=2,
    )
    assert len(data_files(small.root)) > 2
    assert len(list((small.root / "videos").rglob("*.mp4"))) > 4
    assert any(p.parent.name == "chunk-001" for p in data_files(small.root))
    back = repack(
        small,
        tmp_path / "back",
        data_files_size_in_mb=100,
        video_files_size_in_mb=200,
        chunks_size=1000,
    )
    assert len(data_files(back.root)) == 1
    assert validate(back) == []
    assert _all_rows(back.root).to_pylist() == _all_rows(source.root).to_pylist()


def test_repack_writes_one_row_group_per_episode(fixture_dataset, tmp_path):
    output = repack(Dataset(fixture_dataset("v3_image")), tmp_path / "out")
    groups = sum(pq.ParquetFile(p).metadata.num_row_groups for p in data_files(output.root))
    assert groups == output.num_episodes


def test_repack_refuses_existing_output_and_writes_nothing(fixture_dataset, tmp_path):
    source = fixture_dataset("v3_av1_single")
    target = tmp_path / "exists"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="already exists"):
        repack(source, target)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    assert not [p for p in tmp_path.iterdir() if ".robosplice-" in p.name]


def test_repack_dry_run_writes_nothing(fixture_dataset, tmp_path):
    plan = repack(fixture_dataset("v3_av1_multifile"), tmp_path / "out", dry_run=True)
    assert "10 episodes, 492 frames" in plan.describe()
    assert not (tmp_path / "out").exists()
