"""robosplice outputs load in the official LeRobotDataset, frame for frame, with both backends.

For each op, the expected source item of every output item comes from the op's own plan
(dry run), and the official loader's items of output and source are compared.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from harness import (
    BACKENDS,
    INDEX_KEYS,
    assert_same_items,
    copy_dataset,
    fixtures_dir,
    load_with_lerobot,
)

from robosplice.dataset import Dataset
from robosplice.ops.delete import delete_episodes
from robosplice.ops.filter import filter_episodes
from robosplice.ops.merge import merge_datasets
from robosplice.ops.repack import repack
from robosplice.ops.split import split_dataset
from robosplice.ops.trim import trim_episodes

VIDEO_FIXTURES = ("v3_av1_single", "v3_av1_multifile", "v3_h264_bframes")


def source_rows(plan) -> tuple[np.ndarray, np.ndarray]:
    """(source number, source global row) of every output row of a plan."""
    numbers, rows = [], []
    datasets = [Dataset(root) for root in plan.sources]
    for episode in plan.episodes:
        segment = episode.segment
        first = datasets[segment.source].episodes[segment.episode_index].dataset_from_index
        rows.extend(range(first + segment.start, first + segment.stop))
        numbers.extend([segment.source] * segment.length)
    return np.asarray(numbers), np.asarray(rows)


def assert_loads_like_sources(output: Path, plan, backend: str) -> None:
    numbers, rows = source_rows(plan)
    out_items = load_with_lerobot(output, backend)
    assert int(out_items["meta/len"]) == len(rows)
    source_items = [load_with_lerobot(root, backend) for root in plan.sources]
    # Concatenate the sources' items so one mapping covers a merge.
    offsets = np.cumsum([0] + [int(s["meta/len"]) for s in source_items])
    keys = [k for k in source_items[0] if not k.startswith("meta/")]
    combined = {k: np.concatenate([s[k] for s in source_items]) for k in keys}
    combined["meta/len"] = np.asarray(offsets[-1])
    combined["meta/camera_keys"] = source_items[0]["meta/camera_keys"]
    assert_same_items(out_items, combined, offsets[numbers] + rows, exclude=INDEX_KEYS)
    # Index columns follow from position.
    np.testing.assert_array_equal(out_items["index"].reshape(-1), np.arange(len(rows)))


@pytest.fixture
def fixture(tmp_path: Path):
    def get(name: str) -> Path:
        return copy_dataset(fixtures_dir() / name, tmp_path / "src" / name)

    return get


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", [*VIDEO_FIXTURES, "v3_image"])
def test_repack_loads(lerobot_python, fixture, tmp_path, name, backend):
    source = fixture(name)
    plan = repack(source, dry_run=True)
    repack(source, tmp_path / "out", video_files_size_in_mb=0.03)
    assert_loads_like_sources(tmp_path / "out", plan, backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", VIDEO_FIXTURES)
def test_delete_loads(lerobot_python, fixture, tmp_path, name, backend):
    source = fixture(name)
    plan = delete_episodes(source, [0, 2], dry_run=True)
    delete_episodes(source, [0, 2], tmp_path / "out")
    assert_loads_like_sources(tmp_path / "out", plan, backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", VIDEO_FIXTURES)
def test_trim_between_keyframes_loads(lerobot_python, fixture, tmp_path, name, backend):
    source = fixture(name)
    ranges = {0: (5, 27), 1: (1, 20), 3: (7, 29)}
    plan = trim_episodes(source, ranges, dry_run=True)
    trim_episodes(source, ranges, tmp_path / "out")
    assert_loads_like_sources(tmp_path / "out", plan, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_split_and_filter_load(lerobot_python, fixture, tmp_path, backend):
    source = fixture("v3_av1_multifile")
    plans = split_dataset(source, {"train": 0.7, "val": 0.3}, shuffle=True, seed=1, dry_run=True)
    split_dataset(source, {"train": 0.7, "val": 0.3}, tmp_path / "splits", shuffle=True, seed=1)
    for name, plan in plans.items():
        assert_loads_like_sources(tmp_path / "splits" / name, plan, backend)
    plan = filter_episodes(source, tasks=re.compile("drawer|cube"), min_length=35, dry_run=True)
    filter_episodes(
        source, tasks=re.compile("drawer|cube"), min_length=35, output_dir=tmp_path / "f"
    )
    assert_loads_like_sources(tmp_path / "f", plan, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_merge_of_three_multifile_datasets_crossing_size_limits(
    lerobot_python, fixture, tmp_path, backend
):
    sources = [fixture("v3_av1_multifile"), fixture("v3_av1_single")]
    trimmed = trim_episodes(sources[0], {2: (3, 40)}, tmp_path / "third")
    inputs = [*sources, trimmed.root]
    kwargs = {"data_files_size_in_mb": 0.03, "video_files_size_in_mb": 0.06, "chunk_size": 3}
    plan = merge_datasets(inputs, "test/merged", tmp_path / "merged", dry_run=True, **kwargs)
    merged = merge_datasets(inputs, "test/merged", tmp_path / "merged", **kwargs)
    assert len(list((merged.root / "data").rglob("*.parquet"))) > 1
    assert len(list((merged.root / "videos").rglob("*.mp4"))) > 4
    assert_loads_like_sources(merged.root, plan, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sample_loads_with_every_frame_where_it_belongs(lerobot_python, tmp_path, backend):
    from harness import frame_identities

    from robosplice.ops.sample import write_sample
    from robosplice.testing import read_episode_table

    sample = write_sample(
        tmp_path / "sample", episodes=5, min_length=20, max_length=45, video_files_size_in_mb=0.05
    )
    items = load_with_lerobot(sample.root, backend)
    assert int(items["meta/len"]) == sample.num_frames
    expected = np.stack(
        [items["episode_index"].reshape(-1), items["frame_index"].reshape(-1)], axis=1
    )
    for key in sample.video_keys:
        np.testing.assert_array_equal(frame_identities(items[key]), expected)
    state = np.concatenate(
        [
            np.asarray(
                read_episode_table(sample, e).column("observation.state").to_pylist(), np.float32
            )
            for e in range(sample.num_episodes)
        ]
    )
    np.testing.assert_array_equal(items["observation.state"], state)
    assert list(items["task"]) == [sample.tasks[i] for i in items["task_index"].reshape(-1)]
